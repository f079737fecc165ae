//! SNS notices.

use aws_sdk_sns::types::MessageAttributeValue as SnsAttribute;
use warden_core::notice::Notice;
use warden_core::ports::{Notifier, PortError};

use crate::error::{bad, classify};
use crate::AwsAccount;

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
