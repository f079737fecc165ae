//! Reading the events queue the way Lambda's SQS event source does, for `warden consume`.

use warden_core::ports::PortError;

use crate::error::classify;
use crate::AwsAccount;

/// A message received from the events queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
}

impl AwsAccount {
    /// Up to 10 messages, waiting up to `wait_seconds` for the first.
    pub async fn receive(
        &self,
        queue_url: &str,
        wait_seconds: i32,
    ) -> Result<Vec<QueuedMessage>, PortError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .send()
            .await
            .map_err(|e| classify("ReceiveMessage", e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| QueuedMessage {
                message_id: m.message_id.unwrap_or_default(),
                receipt_handle: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    /// Deletes a processed message.
    pub async fn delete(&self, queue_url: &str, receipt_handle: &str) -> Result<(), PortError> {
        self.sqs
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("DeleteMessage", e))
    }
}
