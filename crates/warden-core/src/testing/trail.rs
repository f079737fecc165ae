//! CloudTrail's event history, in memory: the records put there with `in_trail`.

use chrono::{DateTime, Utc};

use crate::event::CloudTrailRecord;
use crate::ports::{PortError, Trail};

use super::MemoryAccount;

impl MemoryAccount {
    /// The records named `event_name` made from `from` to `to` (or now).
    fn made_between(
        &self,
        operation: &'static str,
        event_name: &str,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let s = self.enter(operation)?;
        Ok(s.trail
            .iter()
            .filter(|r| r.event_name.as_deref() == Some(event_name))
            .filter(|r| {
                r.event_time
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= from && to.is_none_or(|to| t <= to))
            })
            .cloned()
            .collect())
    }
}

impl Trail for MemoryAccount {
    async fn iam_events_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: usize,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let s = self.enter("iam_events_between")?;
        let mut found: Vec<CloudTrailRecord> = s
            .trail
            .iter()
            .filter(|r| r.event_source.as_deref() == Some("iam.amazonaws.com"))
            .filter(|r| {
                r.event_time
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= since && t <= until)
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| b.event_time.cmp(&a.event_time));
        found.truncate(cap);
        Ok(found)
    }

    async fn lookup(
        &self,
        event_name: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        self.made_between("lookup", event_name, since, None)
    }

    async fn lookup_between(
        &self,
        event_name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        self.made_between("lookup_between", event_name, from, Some(to))
    }

    async fn event(&self, event_id: &str) -> Result<Option<CloudTrailRecord>, PortError> {
        let s = self.enter("event")?;
        Ok(s.trail
            .iter()
            .find(|r| r.event_id.as_deref() == Some(event_id))
            .cloned())
    }
}
