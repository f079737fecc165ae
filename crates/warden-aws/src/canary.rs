//! The daily canary's arrivals: its item in the ledger table, and the metric the alarm
//! watches; in central mode, the alarms of each account (kept by the pruner).

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic};
use aws_sdk_dynamodb::types::AttributeValue;
use warden_core::canary::{self as plan, AlarmPlan, AlarmSeen};
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
        let metric = plan::canary_metric(
            made_at,
            seen_at,
            self.metrics_per_account.then_some(account),
        );
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

/// How long the alarm waits for a canary, in periods of an hour.
const PERIOD_SECONDS: i32 = 3600;

/// Whether `alarm` is as the tool keeps `account`'s: its metric and dimension, its
/// periods and threshold, missing data breaching, its action the topic, enabled.
fn as_kept(alarm: &MetricAlarm, account: &str, topic: &str) -> bool {
    let on_account = match alarm.dimensions() {
        [only] => only.name() == Some(plan::ACCOUNT_DIMENSION) && only.value() == Some(account),
        _ => false,
    };
    alarm.namespace() == Some(plan::NAMESPACE)
        && alarm.metric_name() == Some(plan::METRIC)
        && on_account
        && alarm.statistic() == Some(&Statistic::Sum)
        && alarm.period() == Some(PERIOD_SECONDS)
        && alarm.evaluation_periods() == Some(plan::ALARM_HOURS)
        && alarm.datapoints_to_alarm() == Some(plan::ALARM_HOURS)
        && alarm.threshold() == Some(1.0)
        && alarm.comparison_operator() == Some(&ComparisonOperator::LessThanThreshold)
        && alarm.treat_missing_data() == Some("breaching")
        && alarm.actions_enabled() == Some(true)
        && alarm.alarm_actions() == [topic.to_owned()]
}

impl AwsAccount {
    /// Central mode: exactly one alarm per account of `accounts`, as kept
    /// (`iam-warden-canary-missing-<account>`, on the metric's `Account` dimension, its
    /// action the topic): missing or changed ones put, those of accounts no longer in the
    /// run deleted. Returns what was changed.
    pub async fn keep_canary_alarms(&self, accounts: &[String]) -> Result<AlarmPlan, PortError> {
        let (Some(cw), Some(topic)) = (&self.cloudwatch, &self.topic_arn) else {
            return Err(PortError::Failed {
                operation: "PutMetricAlarm",
                message: "no CloudWatch client or no topic for the canary alarms".into(),
            });
        };
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = cw
                .describe_alarms()
                .alarm_name_prefix(plan::ALARM_PREFIX)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("DescribeAlarms", e))?;
            for alarm in page.metric_alarms() {
                let Some(name) = alarm.alarm_name() else {
                    continue;
                };
                let as_kept =
                    plan::alarm_account(name).is_some_and(|account| as_kept(alarm, account, topic));
                seen.push(AlarmSeen {
                    name: name.to_owned(),
                    as_kept,
                });
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let todo = plan::plan_alarms(&seen, accounts);
        for account in &todo.put {
            cw.put_metric_alarm()
                .alarm_name(plan::alarm_name(account))
                .alarm_description(format!(
                    "No iam-warden canary of account {account} reached the central revoker for {} hours: its forwarding rule, its member role or the path to the central account is broken or was switched off; see warden status --all-accounts.",
                    plan::ALARM_HOURS
                ))
                .namespace(plan::NAMESPACE)
                .metric_name(plan::METRIC)
                .dimensions(
                    Dimension::builder()
                        .name(plan::ACCOUNT_DIMENSION)
                        .value(account)
                        .build(),
                )
                .statistic(Statistic::Sum)
                .period(PERIOD_SECONDS)
                .evaluation_periods(plan::ALARM_HOURS)
                .datapoints_to_alarm(plan::ALARM_HOURS)
                .threshold(1.0)
                .comparison_operator(ComparisonOperator::LessThanThreshold)
                .treat_missing_data("breaching")
                .actions_enabled(true)
                .alarm_actions(topic)
                .send()
                .await
                .map_err(|e| classify("PutMetricAlarm", e))?;
        }
        for names in todo.delete.chunks(100) {
            cw.delete_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .send()
                .await
                .map_err(|e| classify("DeleteAlarms", e))?;
        }
        Ok(todo)
    }
}
