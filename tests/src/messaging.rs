//! The stand-ins for e-mail and the queues: an SNS topic with an SQS inbox, queues, and
//! what they hold read back.

use crate::TestAccount;

impl TestAccount {
    /// An SNS topic with an SQS queue subscribed to it, standing in for e-mail.
    pub async fn topic_with_inbox(&self) -> (String, String) {
        let topic = self
            .sns
            .create_topic()
            .name("iam-warden-notices")
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn
            .expect("topic arn");
        let inbox = self.queue("inbox", false).await;
        let inbox_arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&inbox)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("queue arn");
        self.sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(inbox_arn)
            .send()
            .await
            .expect("Subscribe");
        (topic, inbox)
    }

    pub async fn queue(&self, name: &str, fifo: bool) -> String {
        let mut req = self.sqs.create_queue();
        if fifo {
            req = req
                .queue_name(format!("{name}.fifo"))
                .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::ContentBasedDeduplication,
                    "true",
                );
        } else {
            req = req.queue_name(name);
        }
        req.send()
            .await
            .expect("CreateQueue")
            .queue_url
            .expect("queue url")
    }

    /// Every message in a queue (bodies and attributes), deleting them.
    pub async fn drain(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("ReceiveMessage")
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                return out;
            }
            for m in got {
                if let Some(handle) = &m.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("DeleteMessage");
                }
                out.push(m);
            }
        }
    }

    /// The SNS notifications that reached the inbox, as JSON envelopes.
    pub async fn notices(&self, inbox: &str) -> Vec<serde_json::Value> {
        self.drain(inbox)
            .await
            .into_iter()
            .map(|m| {
                serde_json::from_str(m.body.as_deref().unwrap_or_default()).expect("SNS envelope")
            })
            .collect()
    }
}
