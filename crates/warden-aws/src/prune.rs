//! The pruner's IAM side: the inventory (GetAccountAuthorizationDetails), IAM Access
//! Advisor, and the pruner's own policies.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_iam::types::{
    AccessAdvisorUsageGranularityType, EntityType, JobStatusType, SummaryKeyType, Tag,
};
use chrono::{DateTime, Utc};
use warden_core::ports::{AccessAdvisor, Authorizations, PortError, PrunePolicies};
use warden_core::principal::EntityKind;
use warden_core::prune::{PolicyDoc, Quotas, Report, ServiceUse, Subject};
use warden_core::prune_policy::{POLICY_PATH, PRINCIPAL_TAG};

use crate::error::{bad, classify};
use crate::AwsAccount;

/// IAM keeps at most five versions of a managed policy.
const POLICY_VERSIONS_MAX: usize = 5;
/// The first wait for an Access Advisor job, doubled up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(200);
const POLL_MAX: Duration = Duration::from_secs(5);

pub(crate) fn chrono_time(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn tag_map(tags: Option<Vec<Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

/// The ARNs of a principal's attached managed policies.
pub(crate) fn attached_arns(
    attached: Option<Vec<aws_sdk_iam::types::AttachedPolicy>>,
) -> Vec<String> {
    attached
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect()
}

/// Roles that are not the account's own to prune: service-linked and IAM Identity
/// Center roles are managed by AWS.
pub(crate) fn is_aws_managed_role(path: &str) -> bool {
    path.starts_with("/aws-service-role/") || path.starts_with("/aws-reserved/")
}

impl Authorizations for AwsAccount {
    async fn subjects(&self, roles: bool) -> Result<Vec<Subject>, PortError> {
        let mut request = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::User);
        if roles {
            request = request.filter(EntityType::Role);
        }
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("GetAccountAuthorizationDetails", e))?;
            for u in page.user_detail_list.unwrap_or_default() {
                let (Some(name), Some(arn), Some(created)) = (
                    u.user_name,
                    u.arn,
                    u.create_date.as_ref().and_then(chrono_time),
                ) else {
                    continue;
                };
                out.push(Subject {
                    kind: EntityKind::User,
                    unique_id: u.user_id.clone(),
                    credentials: None,
                    name,
                    arn,
                    created,
                    tags: tag_map(u.tags),
                    groups: u.group_list.unwrap_or_default().into_iter().collect(),
                    attached: attached_arns(u.attached_managed_policies)
                        .into_iter()
                        .collect(),
                    trusted: Default::default(),
                });
            }
            if !roles {
                continue;
            }
            for r in page.role_detail_list.unwrap_or_default() {
                if is_aws_managed_role(r.path.as_deref().unwrap_or("/")) {
                    continue;
                }
                let (Some(name), Some(arn), Some(created)) = (
                    r.role_name,
                    r.arn,
                    r.create_date.as_ref().and_then(chrono_time),
                ) else {
                    continue;
                };
                out.push(Subject {
                    kind: EntityKind::Role,
                    unique_id: r.role_id.clone(),
                    credentials: None,
                    name,
                    arn,
                    created,
                    tags: tag_map(r.tags),
                    groups: Default::default(),
                    attached: attached_arns(r.attached_managed_policies)
                        .into_iter()
                        .collect(),
                    trusted: Default::default(),
                });
            }
        }
        Ok(out)
    }

    async fn quotas(&self) -> Result<Quotas, PortError> {
        let summary = self
            .iam
            .get_account_summary()
            .send()
            .await
            .map_err(|e| classify("GetAccountSummary", e))?
            .summary_map
            .unwrap_or_default();
        let quota = |key: SummaryKeyType| -> Result<usize, PortError> {
            summary
                .get(&key)
                .and_then(|v| usize::try_from(*v).ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| {
                    bad(
                        "GetAccountSummary",
                        format!("no `{}` in the account summary", key.as_str()),
                    )
                })
        };
        Ok(Quotas {
            user: quota(SummaryKeyType::AttachedPoliciesPerUserQuota)?,
            role: quota(SummaryKeyType::AttachedPoliciesPerRoleQuota)?,
        })
    }
}

impl AwsAccount {
    /// Generates the job, waits for it with backoff, reads every page.
    async fn access_report(&self, arn: &str, timeout: Duration) -> Result<Report, PortError> {
        let started = Instant::now();
        let job_id = self
            .iam
            .generate_service_last_accessed_details()
            .arn(arn)
            .granularity(AccessAdvisorUsageGranularityType::ServiceLevel)
            .send()
            .await
            .map_err(|e| classify("GenerateServiceLastAccessedDetails", e))?
            .job_id
            .ok_or_else(|| {
                bad(
                    "GenerateServiceLastAccessedDetails",
                    "no JobId in the response".into(),
                )
            })?;

        let mut wait = POLL_FIRST;
        let mut marker: Option<String> = None;
        let mut services = Vec::new();
        loop {
            let page = self
                .iam
                .get_service_last_accessed_details()
                .job_id(&job_id)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| classify("GetServiceLastAccessedDetails", e))?;
            match page.job_status {
                JobStatusType::Completed => {}
                JobStatusType::InProgress => {
                    if marker.is_some() {
                        return Ok(Report::Unavailable(format!(
                            "job {job_id} went back to IN_PROGRESS between pages"
                        )));
                    }
                    if started.elapsed() + wait > timeout {
                        return Ok(Report::Unavailable(format!(
                            "job {job_id} still IN_PROGRESS after {}s",
                            timeout.as_secs()
                        )));
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(POLL_MAX);
                    continue;
                }
                other => {
                    let detail = page
                        .error
                        .map(|e| format!(": {} {}", e.code, e.message))
                        .unwrap_or_default();
                    return Ok(Report::Unavailable(format!(
                        "job {job_id} {}{detail}",
                        other.as_str()
                    )));
                }
            }
            for s in page.services_last_accessed {
                services.push(ServiceUse {
                    namespace: s.service_namespace,
                    last_authenticated: s.last_authenticated.as_ref().and_then(chrono_time),
                });
            }
            if !page.is_truncated {
                return Ok(Report::Complete(services));
            }
            match page.marker {
                Some(m) if marker.as_deref() != Some(m.as_str()) => marker = Some(m),
                _ => {
                    return Ok(Report::Unavailable(format!(
                        "job {job_id}: a truncated page without a new Marker"
                    )))
                }
            }
        }
    }

    async fn policy_owner(&self, arn: &str) -> Result<Option<Option<String>>, PortError> {
        match self.iam.get_policy().policy_arn(arn).send().await {
            Ok(out) => Ok(Some(
                out.policy
                    .and_then(|p| p.tags)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|t| t.key == PRINCIPAL_TAG)
                    .map(|t| t.value),
            )),
            Err(e) => match classify("GetPolicy", e) {
                PortError::NoSuchEntity { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn delete_oldest_version(&self, arn: &str) -> Result<(), PortError> {
        let mut versions: Vec<_> = self
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListPolicyVersions", e))?;
        versions.retain(|v| !v.is_default_version);
        versions.sort_by_key(|v| v.create_date.map(|d| (d.secs(), d.subsec_nanos())));
        if versions.len() + 1 < POLICY_VERSIONS_MAX {
            return Ok(());
        }
        if let Some(oldest) = versions.first().and_then(|v| v.version_id.clone()) {
            self.iam
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(oldest)
                .send()
                .await
                .map_err(|e| classify("DeletePolicyVersion", e))?;
        }
        Ok(())
    }

    /// A managed policy's default version id and document (decoded); `None` when the
    /// policy does not exist.
    pub(crate) async fn default_document(
        &self,
        arn: &str,
    ) -> Result<Option<(String, String)>, PortError> {
        let policy = match self.iam.get_policy().policy_arn(arn).send().await {
            Ok(out) => out.policy,
            Err(e) => match classify("GetPolicy", e) {
                PortError::NoSuchEntity { .. } => return Ok(None),
                other => return Err(other),
            },
        };
        let Some(version) = policy.and_then(|p| p.default_version_id) else {
            return Ok(None);
        };
        let document = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
            .await
            .map_err(|e| classify("GetPolicyVersion", e))?
            .policy_version
            .and_then(|v| v.document)
            .unwrap_or_default();
        // IAM returns documents URL-encoded.
        let decoded = percent_encoding::percent_decode_str(&document)
            .decode_utf8_lossy()
            .into_owned();
        Ok(Some((version, decoded)))
    }

    pub(crate) async fn new_default_version(
        &self,
        arn: &str,
        document: &str,
    ) -> Result<(), PortError> {
        let create = || {
            self.iam
                .create_policy_version()
                .policy_arn(arn)
                .policy_document(document)
                .set_as_default(true)
                .send()
        };
        match create()
            .await
            .map_err(|e| classify("CreatePolicyVersion", e))
        {
            Err(PortError::LimitExceeded { .. }) => {
                self.delete_oldest_version(arn).await?;
                create()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify("CreatePolicyVersion", e))
            }
            other => other.map(|_| ()),
        }
    }
}

impl AccessAdvisor for AwsAccount {
    async fn report(&self, principal_arn: &str, timeout: Duration) -> Report {
        match self.access_report(principal_arn, timeout).await {
            Ok(report) => report,
            Err(e) => Report::Unavailable(e.to_string()),
        }
    }
}

impl PrunePolicies for AwsAccount {
    async fn put_policy(&self, policy: &PolicyDoc, principal_arn: &str) -> Result<(), PortError> {
        match self.policy_owner(&policy.arn).await? {
            None => {
                let tag = Tag::builder()
                    .key(PRINCIPAL_TAG)
                    .value(principal_arn)
                    .build()
                    .map_err(|e| bad("CreatePolicy", e.to_string()))?;
                self.iam
                    .create_policy()
                    .policy_name(&policy.name)
                    .path(POLICY_PATH)
                    .policy_document(&policy.document)
                    .description(format!(
                        "iam-warden: services {principal_arn} has not used (pruner)"
                    ))
                    .tags(tag)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify("CreatePolicy", e))
            }
            Some(Some(owner)) if owner == principal_arn => {
                self.new_default_version(&policy.arn, &policy.document).await
            }
            Some(owner) => Err(bad("CreatePolicyVersion", format!(
                    "{} exists and is not this principal's (its {PRINCIPAL_TAG} tag is `{}`): not taken over",
                    policy.arn,
                    owner.unwrap_or_default()
                ))),
        }
    }

    async fn denied_services(
        &self,
        policy_arn: &str,
    ) -> Result<Option<std::collections::BTreeSet<String>>, PortError> {
        let Some((_, decoded)) = self.default_document(policy_arn).await? else {
            return Ok(None);
        };
        warden_core::prune_policy::services_of(&decoded)
            .map(Some)
            .ok_or_else(|| {
                bad(
                    "GetPolicyVersion",
                    format!("{policy_arn}: the document is not a policy"),
                )
            })
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<bool, PortError> {
        let versions = match self
            .iam
            .list_policy_versions()
            .policy_arn(policy_arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListPolicyVersions", e))
        {
            Ok(v) => v,
            Err(PortError::NoSuchEntity { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        for v in versions.into_iter().filter(|v| !v.is_default_version) {
            if let Some(id) = v.version_id {
                self.iam
                    .delete_policy_version()
                    .policy_arn(policy_arn)
                    .version_id(id)
                    .send()
                    .await
                    .map_err(|e| classify("DeletePolicyVersion", e))?;
            }
        }
        match self
            .iam
            .delete_policy()
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| classify("DeletePolicy", e))
        {
            Ok(_) => Ok(true),
            Err(PortError::NoSuchEntity { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl AwsAccount {
    /// The full ARN (with its path) of a user or role, as the ledger keys it.
    pub async fn principal_arn(&self, kind: EntityKind, name: &str) -> Result<String, PortError> {
        let arn = match kind {
            EntityKind::User => self
                .iam
                .get_user()
                .user_name(name)
                .send()
                .await
                .map_err(|e| classify("GetUser", e))?
                .user
                .map(|u| u.arn),
            EntityKind::Role => self
                .iam
                .get_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| classify("GetRole", e))?
                .role
                .map(|r| r.arn),
        };
        arn.ok_or_else(|| PortError::NoSuchEntity {
            operation: "GetUser",
            message: format!("{} `{name}` not found", kind.as_str()),
        })
    }
}
