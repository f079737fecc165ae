//! IAM's credential report and users' access keys, in memory.

use chrono::{TimeZone, Utc};

use crate::action::Credential;
use crate::credential_plan::LiveKey;
use crate::ports::{CredentialReports, PortError, ReportState, UserCredentials};
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

impl UserCredentials for MemoryAccount {
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

    async fn set_key_active(&self, user: &str, key: &str, active: bool) -> Result<bool, PortError> {
        let mut s = self.enter("set_key_active")?;
        match s
            .credentials
            .get_mut(&(user.to_owned(), Credential::AccessKey(key.to_owned())))
        {
            Some(state) => {
                *state = active;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn remove_password(&self, user: &str) -> Result<bool, PortError> {
        let mut s = self.enter("remove_password")?;
        Ok(s.login_profiles.remove(user))
    }

    async fn give_password(&self, user: &str) -> Result<Option<String>, PortError> {
        let mut s = self.enter("give_password")?;
        Ok(s.login_profiles
            .insert(user.to_owned())
            .then(|| "Memory-Password-1!".to_owned()))
    }
}
