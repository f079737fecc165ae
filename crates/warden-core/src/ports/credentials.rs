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

/// A user's access keys as IAM says they are now.
pub trait AccessKeys: Send + Sync {
    /// The user's access keys (ListAccessKeys), each with its last use
    /// (GetAccessKeyLastUsed); `None` when the user no longer exists.
    fn access_keys(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Option<Vec<crate::credential_plan::LiveKey>>, PortError>> + Send;
}
