//! Central mode's SCPs of Identity Center people (SESSION_SCP=on): AWS Organizations,
//! called with the central account's credentials (the management account or a
//! delegated administrator for policy management). The plan is
//! [`warden_core::session_scp`].

use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType, PolicyTypeStatus, Tag};
use warden_core::ports::{Applied, PortError};
use warden_core::session_scp::{self as plan, AddPlan, Person, RemovePlan, ToolScp};

use crate::error::{bad, classify};
use crate::AwsAccount;

/// The tag every SCP of the tool carries: the central roles may change only those.
pub const SCP_TAG: (&str, &str) = ("iam-warden", "sessions");

impl AwsAccount {
    fn organizations(&self) -> Result<&aws_sdk_organizations::Client, PortError> {
        match &self.organizations {
            Some(client) => Ok(client),
            None => Err(bad(
                "DescribeOrganization",
                "SESSION_SCP=on but no Organizations client was configured".into(),
            )),
        }
    }

    /// The organization's management account (DescribeOrganization, once per process),
    /// and the organization as it was described then.
    async fn management_account(&self) -> Result<String, PortError> {
        let organizations = self.organizations()?;
        self.management_account
            .get_or_try_init(|| async {
                organizations
                    .describe_organization()
                    .send()
                    .await
                    .map_err(|e| classify("DescribeOrganization", e))?
                    .organization
                    .and_then(|o| {
                        (o.feature_set == Some(OrganizationFeatureSet::All))
                            .then_some(o.master_account_id)
                            .flatten()
                    })
                    .ok_or_else(|| {
                        bad(
                            "DescribeOrganization",
                            "SESSION_SCP=on: this account is in no organization with all features enabled, so it has no SCPs".into(),
                        )
                    })
            })
            .await
            .cloned()
    }

    /// The start-up check of SESSION_SCP=on: the organization has all features and
    /// SCPs enabled, and this account may read its policies (the management account or
    /// a delegated administrator). Returns the management account's id.
    pub async fn check_session_scp(&self) -> Result<String, PortError> {
        let organizations = self.organizations()?;
        let management = self.management_account().await?;
        let roots = organizations
            .list_roots()
            .send()
            .await
            .map_err(|e| classify("ListRoots", e))?;
        let enabled = roots.roots().iter().any(|r| {
            r.policy_types().iter().any(|p| {
                p.r#type() == Some(&PolicyType::ServiceControlPolicy)
                    && p.status() == Some(&PolicyTypeStatus::Enabled)
            })
        });
        if !enabled {
            return Err(bad(
                "ListRoots",
                "SESSION_SCP=on: service control policies are not enabled on the organization's root (aws organizations enable-policy-type)".into(),
            ));
        }
        organizations
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .send()
            .await
            .map_err(|e| classify("ListPolicies", e))?;
        Ok(management)
    }

    /// The tool's SCPs attached to `account`, with the people each lists, and how many
    /// other SCPs are attached there.
    async fn tool_scps(&self, account: &str) -> Result<(Vec<ToolScp>, usize), PortError> {
        let organizations = self.organizations()?;
        let mut pages = organizations
            .list_policies_for_target()
            .target_id(account)
            .filter(PolicyType::ServiceControlPolicy)
            .into_paginator()
            .send();
        let (mut tool, mut others) = (Vec::new(), 0usize);
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListPoliciesForTarget", e))?;
            for summary in page.policies() {
                let (Some(id), Some(name)) = (summary.id(), summary.name()) else {
                    continue;
                };
                if !plan::is_tool_scp(name, account) {
                    others += 1;
                    continue;
                }
                let content = organizations
                    .describe_policy()
                    .policy_id(id)
                    .send()
                    .await
                    .map_err(|e| classify("DescribePolicy", e))?
                    .policy
                    .and_then(|p| p.content)
                    .unwrap_or_default();
                tool.push(ToolScp {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    people: plan::people_in(&content),
                });
            }
        }
        tool.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((tool, others))
    }

    async fn update_scp(&self, id: &str, document: &str) -> Result<(), PortError> {
        let organizations = self.organizations()?;
        organizations
            .update_policy()
            .policy_id(id)
            .content(document)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdatePolicy", e))
    }

    /// The SCP named `name` that a failed attempt created but did not attach.
    async fn unattached_scp(&self, name: &str) -> Result<Option<String>, PortError> {
        let organizations = self.organizations()?;
        let mut pages = organizations
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListPolicies", e))?;
            if let Some(id) = page
                .policies()
                .iter()
                .find(|p| p.name() == Some(name))
                .and_then(|p| p.id())
            {
                return Ok(Some(id.to_owned()));
            }
        }
        Ok(None)
    }

    /// Denies IAM to `person` in `account` by the tool's SCPs there.
    pub(crate) async fn deny_person(
        &self,
        account: &str,
        person: &Person,
    ) -> Result<(), PortError> {
        let organizations = self.organizations()?;
        let management = self.management_account().await?;
        if management == account {
            return Err(bad(
                "AttachPolicy",
                format!("account {account} is the organization's management account, which SCPs do not restrict: stop {person} in the permission set's inline policy instead"),
            ));
        }
        let (tool, others) = self.tool_scps(account).await?;
        match plan::plan_add(&tool, others, account, person) {
            AddPlan::Already(_) => Ok(()),
            AddPlan::Update { id, document } => self.update_scp(&id, &document).await,
            AddPlan::Full => Err(PortError::LimitExceeded {
                operation: "AttachPolicy",
                message: format!(
                    "account {account} has {} SCPs attached and the tool's are full ({} characters each): {person} is not denied by an SCP; detach an SCP there or put the deny in the permission set",
                    plan::SCPS_PER_TARGET,
                    plan::SCP_MAX
                ),
            }),
            AddPlan::Create { name, document } => {
                let created = organizations
                    .create_policy()
                    .name(&name)
                    .description(format!(
                        "iam-warden: denies IAM to the Identity Center users it revoked in account {account}"
                    ))
                    .r#type(PolicyType::ServiceControlPolicy)
                    .content(&document)
                    .tags(
                        Tag::builder()
                            .key(SCP_TAG.0)
                            .value(SCP_TAG.1)
                            .build()
                            .map_err(|e| bad("CreatePolicy", e.to_string()))?,
                    )
                    .send()
                    .await;
                let id = match created {
                    Ok(out) => out
                        .policy
                        .and_then(|p| p.policy_summary)
                        .and_then(|s| s.id)
                        .ok_or_else(|| bad("CreatePolicy", "no policy id in the answer".into()))?,
                    // Made by an attempt that stopped before attaching it: its document
                    // is set again, then it is attached.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_duplicate_policy_exception()) =>
                    {
                        let id = self.unattached_scp(&name).await?.ok_or_else(|| {
                            bad("CreatePolicy", format!("{name} exists but cannot be found"))
                        })?;
                        self.update_scp(&id, &document).await?;
                        id
                    }
                    Err(e) => return Err(classify("CreatePolicy", e)),
                };
                organizations.attach_policy()
                    .policy_id(id)
                    .target_id(account)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify("AttachPolicy", e))
            }
        }
    }

    /// Takes `person` off the tool's SCPs in `account`; the SCP is detached and deleted
    /// with its last person. `Gone` when no SCP of the tool lists them.
    pub(crate) async fn lift_person(
        &self,
        account: &str,
        person: &Person,
    ) -> Result<Applied, PortError> {
        let organizations = self.organizations()?;
        let (tool, _) = self.tool_scps(account).await?;
        match plan::plan_remove(&tool, person) {
            RemovePlan::NotThere => Ok(Applied::Gone),
            RemovePlan::Update { id, document } => {
                self.update_scp(&id, &document).await?;
                Ok(Applied::Done)
            }
            RemovePlan::Lift(id) => {
                organizations
                    .detach_policy()
                    .policy_id(&id)
                    .target_id(account)
                    .send()
                    .await
                    .map_err(|e| classify("DetachPolicy", e))?;
                organizations
                    .delete_policy()
                    .policy_id(&id)
                    .send()
                    .await
                    .map_err(|e| classify("DeletePolicy", e))?;
                Ok(Applied::Done)
            }
        }
    }
}
