//! SNS notices and the SQS dead-letter queue.

use aws_sdk_sns::types::MessageAttributeValue as SnsAttribute;
use aws_sdk_sqs::types::MessageAttributeValue as SqsAttribute;
use warden_core::notice::Notice;
use warden_core::ports::{DeadLetters, Notifier, PortError};

use crate::error::{bad, classify};
use crate::AwsAccount;

/// SQS caps a message attribute value with the message; keep the reason readable.
const REASON_MAX: usize = 1024;

impl Notifier for AwsAccount {
    fn enabled(&self) -> bool {
        self.topic_arn.is_some()
    }

    async fn publish(&self, notice: &Notice) -> Result<(), PortError> {
        let Some(topic) = &self.topic_arn else {
            return Ok(());
        };
        let mut request = self
            .sns
            .publish()
            .topic_arn(topic)
            .subject(&notice.subject)
            .message(&notice.body);
        for (name, value) in &notice.attributes {
            let attribute = SnsAttribute::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| bad("Publish", e.to_string()))?;
            request = request.message_attributes(name, attribute);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("Publish", e))
    }
}

impl DeadLetters for AwsAccount {
    async fn send(&self, body: &str, reason: &str, message_id: &str) -> Result<(), PortError> {
        let Some(url) = &self.dead_letter_queue_url else {
            return Err(PortError::Failed {
                operation: "SendMessage",
                message: "DEAD_LETTER_QUEUE_URL is not set".into(),
            });
        };
        let reason: String = reason.chars().take(REASON_MAX).collect();
        let attribute = |v: &str| {
            SqsAttribute::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| bad("SendMessage", e.to_string()))
        };
        // SQS refuses empty bodies; keep the fact that it was empty.
        let body = if body.is_empty() {
            "<empty body>"
        } else {
            body
        };
        let mut request = self
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes("reason", attribute(&reason)?)
            .message_attributes("source-message-id", attribute(message_id)?);
        if url.ends_with(".fifo") {
            let dedup: String = message_id.chars().take(128).collect();
            request = request
                .message_group_id("iam-warden-malformed")
                .message_deduplication_id(if dedup.is_empty() {
                    "unknown".into()
                } else {
                    dedup
                });
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("SendMessage", e))
    }
}
