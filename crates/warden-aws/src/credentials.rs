//! IAM's credential report (issue 21): GenerateCredentialReport, then GetCredentialReport
//! once it is complete, read by [`warden_core::credentials::parse`].

use aws_sdk_iam::types::ReportStateType;
use warden_core::ports::{CredentialReports, PortError, ReportState};

use crate::error::{bad, classify};
use crate::AwsAccount;

impl CredentialReports for AwsAccount {
    async fn credential_report(&self) -> Result<ReportState, PortError> {
        let iam = &self.iam;
        let state = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| classify("GenerateCredentialReport", e))?
            .state;
        if state != Some(ReportStateType::Complete) {
            return Ok(ReportState::Generating);
        }
        let got = iam.get_credential_report().send().await;
        let content = match got {
            Ok(out) => out.content.map(|b| b.into_inner()).unwrap_or_default(),
            // Complete a moment ago, and then not ready or expired: ask again later.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_credential_report_not_ready_exception()
                        || s.is_credential_report_expired_exception()
                        || s.is_credential_report_not_present_exception()
                }) =>
            {
                return Ok(ReportState::Generating)
            }
            Err(e) => return Err(classify("GetCredentialReport", e)),
        };
        warden_core::credentials::parse(&content)
            .map(ReportState::Ready)
            .map_err(|e| bad("GetCredentialReport", e.to_string()))
    }
}
