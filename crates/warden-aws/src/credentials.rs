//! IAM's credential report (issue 21): GenerateCredentialReport, then GetCredentialReport
//! once it is complete, read by [`warden_core::credentials::parse`]; a user's access keys
//! as IAM says they are now (ListAccessKeys, GetAccessKeyLastUsed).

use std::time::Duration;

use aws_sdk_iam::types::{ReportStateType, StatusType};
use chrono::{DateTime, Utc};
use warden_core::credential_plan::LiveKey;
use warden_core::ports::{CredentialReports, PortError, ReportState, UserCredentials};

use crate::error::{bad, classify};
use crate::AwsAccount;

/// How often to ask again while IAM generates the report (it takes seconds).
const POLL: Duration = Duration::from_secs(2);

impl CredentialReports for AwsAccount {
    async fn credential_report(&self, wait: Duration) -> Result<ReportState, PortError> {
        let started = tokio::time::Instant::now();
        loop {
            match self.credential_report_once().await? {
                ReportState::Generating if started.elapsed() + POLL <= wait => {
                    tokio::time::sleep(POLL).await;
                }
                state => return Ok(state),
            }
        }
    }
}

impl AwsAccount {
    async fn credential_report_once(&self) -> Result<ReportState, PortError> {
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

impl UserCredentials for AwsAccount {
    async fn access_keys(&self, user: &str) -> Result<Option<Vec<LiveKey>>, PortError> {
        let iam = &self.iam;
        let mut pages = iam
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(classify("ListAccessKeys", e)),
            };
            keys.extend(page.access_key_metadata);
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let (Some(id), Some(created)) = (key.access_key_id, key.create_date) else {
                continue;
            };
            let used = iam
                .get_access_key_last_used()
                .access_key_id(&id)
                .send()
                .await
                .map_err(|e| classify("GetAccessKeyLastUsed", e))?;
            out.push(LiveKey {
                active: key.status == Some(StatusType::Active),
                created: time(&created),
                last_used: used
                    .access_key_last_used
                    .and_then(|u| u.last_used_date)
                    .map(|d| time(&d)),
                id,
            });
        }
        Ok(Some(out))
    }

    async fn set_key_active(&self, user: &str, key: &str, active: bool) -> Result<bool, PortError> {
        let status = if active {
            StatusType::Active
        } else {
            StatusType::Inactive
        };
        gone_is_false(
            "UpdateAccessKey",
            self.iam
                .update_access_key()
                .user_name(user)
                .access_key_id(key)
                .status(status)
                .send()
                .await,
        )
    }

    async fn remove_password(&self, user: &str) -> Result<bool, PortError> {
        gone_is_false(
            "DeleteLoginProfile",
            self.iam.delete_login_profile().user_name(user).send().await,
        )
    }

    async fn give_password(&self, user: &str) -> Result<Option<String>, PortError> {
        let password = crate::actions::new_password()?;
        match self
            .iam
            .create_login_profile()
            .user_name(user)
            .password(&password)
            .password_reset_required(true)
            .send()
            .await
        {
            Ok(_) => Ok(Some(password)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_already_exists_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify("CreateLoginProfile", e)),
        }
    }
}

/// `Ok(false)` for what no longer exists (NoSuchEntity).
fn gone_is_false<T, E>(
    operation: &'static str,
    result: Result<T, aws_sdk_iam::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Result<bool, PortError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) => match classify(operation, e) {
            PortError::NoSuchEntity { .. } => Ok(false),
            other => Err(other),
        },
    }
}

fn time(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}
