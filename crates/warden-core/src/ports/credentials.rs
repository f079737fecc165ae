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
    /// with the last one until then) and reads it when it is complete. A report that
    /// cannot be read is a permanent error naming what is wrong, never an empty report.
    fn credential_report(&self) -> impl Future<Output = Result<ReportState, PortError>> + Send;
}
