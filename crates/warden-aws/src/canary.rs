//! The daily canary's arrivals: its item in the ledger table, and the metric the alarm watches.

use aws_sdk_dynamodb::types::AttributeValue;
use warden_core::ports::PortError;

use crate::error::classify;
use crate::ledger::{s, KEY};
use crate::AwsAccount;

/// The canary's item: `canary#<account>`, its CloudTrail time and when it was seen.
fn canary_key(account: &str) -> String {
    format!("canary#{account}")
}

impl warden_core::ports::Canaries for AwsAccount {
    /// Records the arrival and emits the metric the alarm watches, in CloudWatch's
    /// embedded metric format: one JSON line on stdout, which Lambda's log group turns
    /// into the metric `iam-warden/CanaryArrived` (no API call, no permission).
    async fn canary_arrived(
        &self,
        account: &str,
        made_at: chrono::DateTime<chrono::Utc>,
        seen_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.put_item()
            .table_name(table)
            .item(KEY, s(canary_key(account)))
            .item("made_at", s(made_at.to_rfc3339()))
            .item("seen_at", s(seen_at.to_rfc3339()))
            .send()
            .await
            .map_err(|e| classify("PutItem", e))?;
        let metric = warden_core::tamper::canary_metric(made_at, seen_at);
        if self.metrics_on_stdout {
            println!("{metric}");
        } else {
            tracing::info!(%metric, "canary arrived");
        }
        Ok(())
    }

    async fn last_canary(
        &self,
        account: &str,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>, PortError>
    {
        let (ddb, table) = self.ledger()?;
        let item = ddb
            .get_item()
            .table_name(table)
            .key(KEY, s(canary_key(account)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?
            .item;
        let date =
            |item: &std::collections::HashMap<String, AttributeValue>, k: &str| match item.get(k) {
                Some(AttributeValue::S(v)) => chrono::DateTime::parse_from_rfc3339(v)
                    .ok()
                    .map(|d| d.with_timezone(&chrono::Utc)),
                _ => None,
            };
        Ok(item.and_then(|i| Some((date(&i, "made_at")?, date(&i, "seen_at")?))))
    }
}
