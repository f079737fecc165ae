//! The daily canary's metric and, in central mode, its alarms: one per account.
//!
//! The canary is an IAM call the tool makes every day (the pruner, as the canary role);
//! its arrival at the revoker proves the path CloudTrail -> EventBridge -> queue ->
//! revoker works. Each arrival is one embedded-metric line, `iam-warden/CanaryArrived`.
//! The stack's alarm (`iam-warden-canary-missing`) watches the metric without dimension.
//! In central mode every member's canary arrives at the one revoker, so the metric also
//! carries the `Account` dimension and the pruner keeps one alarm per account
//! (`iam-warden-canary-missing-<account>`): the accounts are known only at run time.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::central::is_account_id;

/// The metric namespace and name the alarms watch.
pub const NAMESPACE: &str = "iam-warden";
pub const METRIC: &str = "CanaryArrived";
/// The dimension that names the account (central mode).
pub const ACCOUNT_DIMENSION: &str = "Account";
/// The per-account alarms' name prefix; the account id follows it.
pub const ALARM_PREFIX: &str = "iam-warden-canary-missing-";
/// Hours without a canary before an account's alarm fires (one a day, and CloudTrail's
/// delivery delay): the stack's own alarm's.
pub const ALARM_HOURS: i32 = 26;

/// The metric of a canary's arrival, in CloudWatch's embedded metric format: one log line
/// that becomes `iam-warden/CanaryArrived` (the alarms' metric, one a day) and
/// `iam-warden/CanaryDelaySeconds` (CloudTrail's delivery delay: a caller's window). With
/// `account` (central mode), each metric is also put with the `Account` dimension.
pub fn canary_metric(
    made_at: DateTime<Utc>,
    seen_at: DateTime<Utc>,
    account: Option<&str>,
) -> Value {
    let dimensions = match account {
        Some(_) => json!([[], [ACCOUNT_DIMENSION]]),
        None => json!([[]]),
    };
    let mut metric = json!({
        "_aws": {
            "Timestamp": seen_at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [
                    {"Name": METRIC, "Unit": "Count"},
                    {"Name": "CanaryDelaySeconds", "Unit": "Seconds"}
                ],
            }],
        },
        METRIC: 1,
        "CanaryDelaySeconds": (seen_at - made_at).num_seconds().max(0),
    });
    if let (Some(account), Some(fields)) = (account, metric.as_object_mut()) {
        fields.insert(ACCOUNT_DIMENSION.to_owned(), json!(account));
    }
    metric
}

/// The name of `account`'s alarm.
pub fn alarm_name(account: &str) -> String {
    format!("{ALARM_PREFIX}{account}")
}

/// The account a per-account alarm watches, from its name (`None`: not one of them).
pub fn alarm_account(name: &str) -> Option<&str> {
    name.strip_prefix(ALARM_PREFIX).filter(|a| is_account_id(a))
}

/// An alarm found under the prefix, and whether it is as the tool keeps it (its metric,
/// dimension, threshold, periods, missing data, and its action on the topic, enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSeen {
    pub name: String,
    pub as_kept: bool,
}

/// What to change so that there is exactly one alarm, as kept, per account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmPlan {
    /// Accounts whose alarm is missing or was changed: put (again).
    pub put: Vec<String>,
    /// The alarms of accounts no longer in the run's accounts: deleted.
    pub delete: Vec<String>,
}

impl AlarmPlan {
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

/// The plan for `accounts` given the alarms found. Alarms under the prefix whose suffix
/// is not an account id are not the tool's: left alone.
pub fn plan_alarms(seen: &[AlarmSeen], accounts: &[String]) -> AlarmPlan {
    let wanted: BTreeSet<&str> = accounts.iter().map(String::as_str).collect();
    let kept: BTreeSet<&str> = seen
        .iter()
        .filter(|a| a.as_kept)
        .filter_map(|a| alarm_account(&a.name))
        .collect();
    AlarmPlan {
        put: wanted
            .iter()
            .filter(|a| !kept.contains(*a))
            .map(|a| (*a).to_owned())
            .collect(),
        delete: seen
            .iter()
            .filter(|a| alarm_account(&a.name).is_some_and(|acct| !wanted.contains(acct)))
            .map(|a| a.name.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_canary_metric_is_an_embedded_metric_with_the_delay() {
        let made = at("2026-11-25T03:00:00Z");
        let seen = made + chrono::TimeDelta::seconds(312);
        let m = canary_metric(made, seen, None);
        assert_eq!(m["CanaryArrived"], 1);
        assert_eq!(m["CanaryDelaySeconds"], 312);
        assert_eq!(m["_aws"]["CloudWatchMetrics"][0]["Namespace"], "iam-warden");
        assert_eq!(
            m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "CanaryArrived"
        );
        assert_eq!(m["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert!(m.get("Account").is_none());
        assert_eq!(m["_aws"]["Timestamp"], seen.timestamp_millis());
        assert_eq!(
            canary_metric(seen, made, None)["CanaryDelaySeconds"],
            0,
            "a clock skew is no negative delay"
        );
    }

    #[test]
    fn in_central_mode_the_metric_is_also_put_per_account() {
        let made = at("2026-11-25T03:00:00Z");
        let m = canary_metric(made, made, Some("111111111111"));
        assert_eq!(
            m["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[], ["Account"]]),
            "the stack's alarm (no dimension) still sees every arrival"
        );
        assert_eq!(m["Account"], "111111111111");
    }

    fn seen(name: &str, as_kept: bool) -> AlarmSeen {
        AlarmSeen {
            name: name.into(),
            as_kept,
        }
    }

    #[test]
    fn one_alarm_as_kept_per_account_the_rest_put_or_deleted() {
        let accounts = vec!["111111111111".to_owned(), "222222222222".to_owned()];
        let first = plan_alarms(&[], &accounts);
        assert_eq!(first.put, accounts, "none yet: one per account");
        assert!(!first.is_empty(), "only puts is something to do");
        let only_delete = plan_alarms(&[seen("iam-warden-canary-missing-333333333333", true)], &[]);
        assert!(!only_delete.is_empty(), "only deletes is something to do");
        let plan = plan_alarms(
            &[
                seen("iam-warden-canary-missing-111111111111", true),
                seen("iam-warden-canary-missing-222222222222", false),
                seen("iam-warden-canary-missing-333333333333", true),
                seen("iam-warden-canary-missing-someone-elses", true),
                seen("iam-warden-canary-missing-44444444444", true),
            ],
            &accounts,
        );
        assert_eq!(
            plan,
            AlarmPlan {
                put: vec!["222222222222".into()],
                delete: vec!["iam-warden-canary-missing-333333333333".into()],
            },
            "a changed alarm is put again; a gone account's deleted; not the tool's: left"
        );
        assert!(!plan.is_empty());
        let all_kept = plan_alarms(
            &[
                seen("iam-warden-canary-missing-111111111111", true),
                seen("iam-warden-canary-missing-222222222222", true),
            ],
            &accounts,
        );
        assert!(all_kept.is_empty(), "{all_kept:?}");
        assert_eq!(
            alarm_name("111111111111"),
            "iam-warden-canary-missing-111111111111"
        );
        assert_eq!(
            alarm_account("iam-warden-canary-missing-111111111111"),
            Some("111111111111")
        );
        assert_eq!(alarm_account("iam-warden-canary-missing"), None);
    }
}
