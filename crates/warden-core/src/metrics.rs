//! The revoker's metrics of a batch, in CloudWatch's embedded metric format: one JSON
//! log line that the function's log group turns into metrics (no API call, no
//! permission). Namespace `iam-warden`, no dimension:
//! - one count per decision (`Revoked`, `AlreadyRevoked`, `Exempt`, `Ignored`, `Alerted`,
//!   `WouldRevoke`, `Deferred`) and `Decided`, their sum;
//! - `ContainmentActions`: what was undone or contained because of the batch's events
//!   (each action and each step left for a person);
//! - `LagSeconds`: from each event's CloudTrail `eventTime` to its decision, the delay an
//!   attacker has (CloudTrail's delivery, EventBridge, the queue, and ours);
//! - `HandlingSeconds`: from each message's arrival in the queue (SQS's `SentTimestamp`)
//!   to its decision, our share of that delay.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::canary::NAMESPACE;
use crate::decision::Decision;
use crate::revoker::Outcome;

/// The values a metric may carry in one EMF line.
pub const MAX_VALUES: usize = 100;

/// A batch's decisions, as they are made.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchMetrics {
    decisions: BTreeMap<&'static str, u64>,
    actions: u64,
    lag: Vec<f64>,
    handling: Vec<f64>,
}

/// The metric's name of a decision.
pub fn metric_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Ignored => "Ignored",
        Decision::Alerted => "Alerted",
        Decision::Exempt => "Exempt",
        Decision::AlreadyRevoked => "AlreadyRevoked",
        Decision::WouldRevoke => "WouldRevoke",
        Decision::Revoked => "Revoked",
        Decision::Deferred => "Deferred",
    }
}

impl BatchMetrics {
    /// One decided event: its outcome, its record's `eventTime`, when its message was
    /// sent to the queue, and when it was decided.
    pub fn decided(
        &mut self,
        outcome: &Outcome,
        event_time: Option<&str>,
        sent: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        *self
            .decisions
            .entry(metric_name(outcome.decision))
            .or_default() += 1;
        self.actions += outcome.actions.len() as u64;
        let seconds = |from: DateTime<Utc>| (now - from).num_milliseconds().max(0) as f64 / 1000.0;
        if let Some(at) = event_time.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
            self.lag.push(seconds(at.with_timezone(&Utc)));
        }
        if let Some(sent) = sent {
            self.handling.push(seconds(sent));
        }
    }

    /// Another lane's metrics of the same batch.
    pub fn merge(&mut self, other: BatchMetrics) {
        for (k, n) in other.decisions {
            *self.decisions.entry(k).or_default() += n;
        }
        self.actions += other.actions;
        self.lag.extend(other.lag);
        self.handling.extend(other.handling);
    }

    /// The EMF line, or `None` when nothing was decided. Lags beyond [`MAX_VALUES`] are
    /// kept to the largest ones (an alarm on the lag wants the worst).
    pub fn emf(&self, now: DateTime<Utc>) -> Option<Value> {
        let decided: u64 = self.decisions.values().sum();
        if decided == 0 {
            return None;
        }
        let mut metrics = vec![
            json!({"Name": "Decided", "Unit": "Count"}),
            json!({"Name": "ContainmentActions", "Unit": "Count"}),
        ];
        let mut fields = Map::new();
        fields.insert("Decided".into(), json!(decided));
        fields.insert("ContainmentActions".into(), json!(self.actions));
        for (name, n) in &self.decisions {
            metrics.push(json!({"Name": name, "Unit": "Count"}));
            fields.insert((*name).to_owned(), json!(n));
        }
        for (name, values) in [
            ("LagSeconds", &self.lag),
            ("HandlingSeconds", &self.handling),
        ] {
            if values.is_empty() {
                continue;
            }
            let mut worst = values.clone();
            worst.sort_by(|a, b| b.total_cmp(a));
            worst.truncate(MAX_VALUES);
            metrics.push(json!({"Name": name, "Unit": "Seconds"}));
            fields.insert(name.to_owned(), json!(worst));
        }
        fields.insert(
            "_aws".into(),
            json!({
                "Timestamp": now.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [[]],
                    "Metrics": metrics,
                }],
            }),
        );
        Some(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn outcome(decision: Decision, actions: usize) -> Outcome {
        Outcome {
            event_id: Some("e".into()),
            event_name: Some("CreateUser".into()),
            principal: "user/dev1".into(),
            decision,
            reason: "r".into(),
            actions: vec!["a".into(); actions],
            defer_seconds: None,
        }
    }

    #[test]
    fn a_batch_is_one_emf_line_of_counts_and_lags() {
        let now: DateTime<Utc> = "2026-12-05T10:05:00Z".parse().unwrap();
        let sent: DateTime<Utc> = "2026-12-05T10:04:58.500Z".parse().unwrap();
        let mut m = BatchMetrics::default();
        assert_eq!(m.emf(now), None, "nothing decided, no line");
        m.decided(
            &outcome(Decision::Revoked, 3),
            Some("2026-12-05T10:00:00Z"),
            Some(sent),
            now,
        );
        let mut other = BatchMetrics::default();
        other.decided(
            &outcome(Decision::Exempt, 0),
            Some("2026-12-05T10:04:00Z"),
            None,
            now,
        );
        other.decided(
            &outcome(Decision::Revoked, 0),
            Some("not a time"),
            None,
            now,
        );
        m.merge(other);
        let line = m.emf(now).unwrap();
        assert_eq!(line["Decided"], 3);
        assert_eq!(line["Revoked"], 2);
        assert_eq!(line["Exempt"], 1);
        assert_eq!(line["ContainmentActions"], 3);
        assert_eq!(line["LagSeconds"], json!([300.0, 60.0]));
        assert_eq!(line["HandlingSeconds"], json!([1.5]));
        let spec = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "iam-warden");
        let names: Vec<&str> = spec["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        // Every metric named is a field of the line, and every count field is named.
        for name in &names {
            assert!(line.get(*name).is_some(), "{name}");
        }
        assert_eq!(names.len(), 6, "{names:?}");
        assert_eq!(line["_aws"]["Timestamp"], now.timestamp_millis());
    }

    #[test]
    fn the_worst_lags_are_kept_within_emfs_hundred_values() {
        let now: DateTime<Utc> = "2026-12-05T10:05:00Z".parse().unwrap();
        let mut m = BatchMetrics::default();
        for s in 0..150i64 {
            let at = (now - chrono::Duration::seconds(s)).to_rfc3339();
            m.decided(&outcome(Decision::Ignored, 0), Some(&at), None, now);
        }
        let line = m.emf(now).unwrap();
        let lags = line["LagSeconds"].as_array().unwrap();
        assert_eq!(lags.len(), MAX_VALUES);
        assert_eq!(lags[0], 149.0);
        assert_eq!(lags[99], 50.0);
    }
}
