//! IAM's credential report (issue 21): one CSV of every user's passwords and keys.

use std::future::Future;

use super::PortError;
use crate::credentials::Report;

/// The credential report, as far as IAM has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportState {
    Ready(Report),
    /// IAM is generating it (GenerateCredentialReport: STARTED or INPROGRESS): ask again
    /// in a few seconds; nothing is decided meanwhile.
    Generating,
}

/// The account's credential report.
pub trait CredentialReports: Send + Sync {
    /// Asks IAM for a report (a new one at most every 4 hours: IAM answers COMPLETE
    /// with the last one until then) and reads it when it is complete, asking again
    /// for up to `wait` while IAM generates it (`Generating` after that). A report that
    /// cannot be read is a permanent error naming what is wrong, never an empty report.
    fn credential_report(
        &self,
        wait: std::time::Duration,
    ) -> impl Future<Output = Result<ReportState, PortError>> + Send;
}

/// A user's access keys and console password, as the pruner keeps them at least
/// privilege: read, deactivated or removed; put back by the operator's restore.
pub trait UserCredentials: Send + Sync {
    /// The user's access keys (ListAccessKeys), each with its last use
    /// (GetAccessKeyLastUsed); `None` when the user no longer exists.
    fn access_keys(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<Vec<crate::credential_plan::LiveKey>>, PortError>> + Send;
    /// Sets one key Active or Inactive (never deletes it); `Ok(false)` when the user or
    /// the key no longer exists.
    fn set_key_active(
        &self,
        user: &str,
        key: &str,
        active: bool,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Deletes the user's login profile (its console password); `Ok(false)` when there
    /// was none.
    fn remove_password(&self, user: &str) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// The operator's restore only: a login profile with a new random password that
    /// must be changed at the next sign-in, returned for the operator's terminal (never
    /// logged); `Ok(None)` when the user has one already.
    fn give_password(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
}
