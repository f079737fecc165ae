//! The SQS ports: the events queue read the way Lambda's SQS event source does (for
//! `warden consume`), the deferral queue, the dead-letter queue and the pruner's work queue.

use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue as SqsAttribute;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use warden_core::ports::{DeadLetters, Deferrals, PortError, WorkQueue, FAILED_DELIVERIES};

use crate::error::{bad, classify};
use crate::AwsAccount;

/// SQS's longest message delay.
const MAX_DELAY: Duration = Duration::from_secs(900);
/// SQS caps a message attribute value with the message; keep the reason readable.
const REASON_MAX: usize = 1024;
/// SendMessageBatch: entries per call, and bytes per call kept under SQS's limit.
const BATCH_ENTRIES: usize = 10;
const BATCH_BYTES: usize = 240 * 1024;

/// A message received from the events queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// The failed deliveries it carries from earlier queues ([`FAILED_DELIVERIES`]).
    pub failed_deliveries: Option<String>,
}

impl AwsAccount {
    /// Up to 10 messages, waiting up to `wait_seconds` for the first.
    pub async fn receive(
        &self,
        queue_url: &str,
        wait_seconds: i32,
    ) -> Result<Vec<QueuedMessage>, PortError> {
        let wait = Duration::from_secs(u64::try_from(wait_seconds).unwrap_or(0));
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .message_attribute_names(FAILED_DELIVERIES)
            .customize()
            .config_override(
                // The long poll holds the request for up to its wait: the attempt's
                // timeout counts from after it.
                aws_sdk_sqs::config::Builder::default().timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .operation_attempt_timeout(crate::ATTEMPT_TIMEOUT + wait)
                        .operation_timeout(crate::OPERATION_TIMEOUT + wait)
                        .build(),
                ),
            )
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
                failed_deliveries: m
                    .message_attributes
                    .and_then(|mut a| a.remove(FAILED_DELIVERIES))
                    .and_then(|a| a.string_value),
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

impl Deferrals for AwsAccount {
    async fn defer(&self, body: &str, delay: Duration, failed: u32) -> Result<(), PortError> {
        let Some(url) = &self.deferral_queue_url else {
            return Err(bad(
                "SendMessage",
                "DEFERRAL_QUEUE_URL is not configured".into(),
            ));
        };
        let seconds = delay.min(MAX_DELAY).as_secs().max(1);
        let mut request = self
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(i32::try_from(seconds).unwrap_or(900));
        if failed > 0 {
            let count = SqsAttribute::builder()
                .data_type("Number")
                .string_value(failed.to_string())
                .build()
                .map_err(|e| bad("SendMessage", e.to_string()))?;
            request = request.message_attributes(FAILED_DELIVERIES, count);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("SendMessage", e))
    }
}

impl DeadLetters for AwsAccount {
    async fn send(&self, body: &str, reason: &str, message_id: &str) -> Result<(), PortError> {
        let Some(url) = &self.dead_letter_queue_url else {
            return Err(bad(
                "SendMessage",
                "DEAD_LETTER_QUEUE_URL is not set".into(),
            ));
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

impl AwsAccount {
    /// The work queue, for the pruner's chunks.
    pub fn with_work_queue(mut self, url: Option<String>) -> Self {
        self.work_queue_url = url;
        self
    }
}

impl WorkQueue for AwsAccount {
    async fn enqueue(&self, bodies: &[String]) -> Result<(), PortError> {
        let Some(url) = &self.work_queue_url else {
            return Err(bad("SendMessageBatch", "WORK_QUEUE_URL is not set".into()));
        };
        let mut batches: Vec<Vec<(usize, &String)>> = vec![Vec::new()];
        let mut bytes = 0;
        for (i, body) in bodies.iter().enumerate() {
            let full = batches.last().is_some_and(|b| {
                b.len() >= BATCH_ENTRIES || (bytes + body.len() > BATCH_BYTES && !b.is_empty())
            });
            if full {
                batches.push(Vec::new());
                bytes = 0;
            }
            bytes += body.len();
            if let Some(b) = batches.last_mut() {
                b.push((i, body));
            }
        }
        for batch in batches.into_iter().filter(|b| !b.is_empty()) {
            let mut pending = batch;
            for _ in 0..3 {
                let entries = pending
                    .iter()
                    .map(|(i, body)| {
                        SendMessageBatchRequestEntry::builder()
                            .id(format!("c{i}"))
                            .message_body(body.as_str())
                            .build()
                            .map_err(|e| bad("SendMessageBatch", e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let out = self
                    .sqs
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| classify("SendMessageBatch", e))?;
                let failed_ids: Vec<String> = out.failed.into_iter().map(|f| f.id).collect();
                pending.retain(|(i, _)| failed_ids.contains(&format!("c{i}")));
                if pending.is_empty() {
                    break;
                }
            }
            if !pending.is_empty() {
                return Err(PortError::Transient {
                    operation: "SendMessageBatch",
                    message: format!("{} chunk(s) not accepted by the work queue", pending.len()),
                });
            }
        }
        Ok(())
    }
}
