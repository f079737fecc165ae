//! IAM's credential report and users' access keys, in memory.

use chrono::{TimeZone, Utc};

use crate::action::Credential;
use crate::credential_plan::LiveKey;
use crate::ports::{AccessKeys, CredentialReports, PortError, ReportState};
use crate::principal::EntityKind;

use super::MemoryAccount;

impl CredentialReports for MemoryAccount {
    async fn credential_report(
        &self,
        _wait: std::time::Duration,
    ) -> Result<ReportState, PortError> {
        let s = self.enter("credential_report")?;
        Ok(s.credential_report
            .clone()
            .map_or(ReportState::Generating, ReportState::Ready))
    }
}

impl AccessKeys for MemoryAccount {
    async fn access_keys(&self, user: &str) -> Result<Option<Vec<LiveKey>>, PortError> {
        let s = self.enter("access_keys")?;
        if !s
            .principals
            .contains_key(&(EntityKind::User, user.to_owned()))
        {
            return Ok(None);
        }
        let made_in_2020 = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        Ok(Some(
            s.credentials
                .iter()
                .filter_map(|((u, c), active)| match c {
                    Credential::AccessKey(id) if u == user => {
                        let (created, last_used) =
                            s.key_dates.get(id).copied().unwrap_or((made_in_2020, None));
                        Some(LiveKey {
                            id: id.clone(),
                            active: *active,
                            created,
                            last_used,
                        })
                    }
                    _ => None,
                })
                .collect(),
        ))
    }
}
