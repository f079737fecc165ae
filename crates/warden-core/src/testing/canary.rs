//! The canary's arrivals, in memory.

use crate::ports::PortError;

use super::MemoryAccount;

impl crate::ports::Canaries for MemoryAccount {
    async fn canary_arrived(
        &self,
        _account: &str,
        made_at: chrono::DateTime<chrono::Utc>,
        seen_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PortError> {
        let mut s = self.enter("canary_arrived")?;
        s.canaries.push((made_at, seen_at));
        Ok(())
    }

    async fn last_canary(
        &self,
        _account: &str,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>, PortError>
    {
        let s = self.enter("last_canary")?;
        Ok(s.canaries.last().copied())
    }
}
