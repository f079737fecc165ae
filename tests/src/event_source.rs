//! Lambda's SQS event source, as AWS runs it for the revoker: batches of up to ten
//! messages, the function's partial batch response (the failed ones stay in the queue
//! and come back after the visibility timeout; the others are deleted), the queue's
//! redrive policy dead-lettering a message received `maxReceiveCount` times, and the
//! messages' attributes as Lambda gives them. A FIFO
//! queue holds a message group while one of its messages is in flight (moto does too).
//! The poller reads the queues directly, never through the proxy under test.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

/// One queue the function consumes.
pub struct EventSource {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
    pub arn: String,
}

/// A batch handed to the function, with what settling it needs.
pub struct Batch {
    pub event: SqsEvent,
    receipts: Vec<(String, String)>,
}

impl EventSource {
    pub async fn new(sqs: &aws_sdk_sqs::Client, url: &str) -> Self {
        let arn = attribute(sqs, url, QueueAttributeName::QueueArn).await;
        Self {
            sqs: sqs.clone(),
            url: url.to_owned(),
            arn,
        }
    }

    /// The next batch, or `None` when no message is visible now.
    pub async fn receive(&self) -> Option<Batch> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("ReceiveMessage")
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return None;
        }
        let mut receipts = Vec::new();
        let records: Vec<serde_json::Value> = got
            .iter()
            .map(|m| {
                let id = m.message_id.clone().unwrap_or_default();
                receipts.push((id.clone(), m.receipt_handle.clone().unwrap_or_default()));
                let attributes: serde_json::Map<String, serde_json::Value> = m
                    .attributes
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_owned(), serde_json::json!(v)))
                    .collect();
                // As Lambda gives them: {"stringValue", "dataType"} by name.
                let message_attributes: serde_json::Map<String, serde_json::Value> = m
                    .message_attributes
                    .iter()
                    .flatten()
                    .map(|(k, v)| {
                        let value = serde_json::json!({
                            "stringValue": v.string_value,
                            "dataType": v.data_type,
                        });
                        (k.clone(), value)
                    })
                    .collect();
                serde_json::json!({
                    "messageId": id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "attributes": attributes,
                    "messageAttributes": message_attributes,
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        let event = serde_json::from_value(serde_json::json!({ "Records": records }))
            .expect("an SQS event");
        Some(Batch { event, receipts })
    }

    /// Settles a batch as Lambda does with the function's response: every message not
    /// reported failed is deleted. Returns how many failed.
    pub async fn settle(&self, batch: Batch, response: &SqsBatchResponse) -> usize {
        let failed: std::collections::HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for (id, receipt) in &batch.receipts {
            if !failed.contains(id.as_str()) {
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
        failed.len()
    }

    /// Messages in the queue, visible or in flight (delayed ones included).
    pub async fn remaining(&self) -> u64 {
        let mut n = 0;
        for name in [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ] {
            n += attribute(&self.sqs, &self.url, name)
                .await
                .parse::<u64>()
                .unwrap_or(0);
        }
        n
    }
}

async fn attribute(sqs: &aws_sdk_sqs::Client, url: &str, name: QueueAttributeName) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .and_then(|a| a.get(&name).cloned())
        .unwrap_or_default()
}
