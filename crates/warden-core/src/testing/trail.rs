//! CloudTrail's event history, in memory: the records put there with `in_trail`.

use crate::event::CloudTrailRecord;
use crate::ports::{PortError, Trail};

use super::MemoryAccount;

impl Trail for MemoryAccount {
    async fn lookup(
        &self,
        event_name: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let s = self.enter("lookup")?;
        Ok(s.trail
            .iter()
            .filter(|r| r.event_name.as_deref() == Some(event_name))
            .filter(|r| {
                r.event_time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= since)
            })
            .cloned()
            .collect())
    }

    async fn lookup_between(
        &self,
        event_name: &str,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let s = self.enter("lookup_between")?;
        Ok(s.trail
            .iter()
            .filter(|r| r.event_name.as_deref() == Some(event_name))
            .filter(|r| {
                r.event_time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= from && t <= to)
            })
            .cloned()
            .collect())
    }

    async fn event(&self, event_id: &str) -> Result<Option<CloudTrailRecord>, PortError> {
        let s = self.enter("event")?;
        Ok(s.trail
            .iter()
            .find(|r| r.event_id.as_deref() == Some(event_id))
            .cloned())
    }
}
