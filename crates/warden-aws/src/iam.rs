//! IAM reads: facts about a principal and whether the deny is on it, and the principals
//! that carry the deny (for `warden status`). The writes are in enforcer.rs (the deny and
//! the record tags) and actions.rs (containment).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::{EntityType, Tag};
use warden_core::config::tags;
use warden_core::facts::{CallerFacts, Facts};
use warden_core::minted::Credential;
use warden_core::ports::{Directory, Inventory, PortError, RevokedPrincipal};
use warden_core::principal::{EntityKind, Target};
use warden_core::revocation::Method;

use crate::error::classify;
use crate::AwsAccount;

impl AwsAccount {
    /// GetUser (unique id, tags, boundary) and the groups always; the attached and
    /// inline policies only when the principal carries the revocation tags (the service
    /// reads them too when the ledger holds a revocation record): without either there is
    /// nothing to resume, the attach is idempotent, and IAM itself answers
    /// `LimitExceeded` at the quota (the fallbacks). Two reads for a first revocation.
    async fn user_facts(&self, name: &str) -> Result<Facts, PortError> {
        let iam = &self.iam;
        let user = async {
            iam.get_user()
                .user_name(name)
                .send()
                .await
                .map_err(|e| classify("GetUser", e))
        };
        let groups = async {
            iam.list_groups_for_user()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("ListGroupsForUser", e))
        };
        let (user, groups) = tokio::try_join!(user, groups)?;
        let user = user.user;
        let tags = tag_map(
            user.as_ref()
                .and_then(|u| u.tags.clone())
                .unwrap_or_default(),
        );
        let (attached, inline) = if tags.contains_key(tags::REVOKED_AT) {
            self.user_policies(name).await?
        } else {
            Default::default()
        };
        Ok(Facts {
            groups: groups.into_iter().map(|g| g.group_name).collect(),
            tags,
            attached_policies: attached,
            inline_policies: inline,
            unique_id: user.as_ref().map(|u| u.user_id.clone()),
            boundary: user
                .and_then(|u| u.permissions_boundary)
                .and_then(|b| b.permissions_boundary_arn),
            ..Facts::default()
        })
    }

    async fn user_policies(
        &self,
        name: &str,
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), PortError> {
        let iam = &self.iam;
        let attached = async {
            iam.list_attached_user_policies()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("ListAttachedUserPolicies", e))
        };
        let inline = async {
            iam.list_user_policies()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("ListUserPolicies", e))
        };
        let (attached, inline) = tokio::try_join!(attached, inline)?;
        Ok((
            attached.into_iter().filter_map(|p| p.policy_arn).collect(),
            inline.into_iter().collect(),
        ))
    }

    async fn role_policies(
        &self,
        name: &str,
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), PortError> {
        let iam = &self.iam;
        let attached = async {
            iam.list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("ListAttachedRolePolicies", e))
        };
        let inline = async {
            iam.list_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("ListRolePolicies", e))
        };
        let (attached, inline) = tokio::try_join!(attached, inline)?;
        Ok((
            attached.into_iter().filter_map(|p| p.policy_arn).collect(),
            inline.into_iter().collect(),
        ))
    }

    /// As [`Self::user_facts`]: GetRole, then the policies only with the revocation tags.
    async fn role_facts(&self, name: &str) -> Result<Facts, PortError> {
        let role = self
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| classify("GetRole", e))?
            .role;
        let tags = tag_map(
            role.as_ref()
                .and_then(|r| r.tags.clone())
                .unwrap_or_default(),
        );
        let (attached, inline) = if tags.contains_key(tags::REVOKED_AT) {
            self.role_policies(name).await?
        } else {
            Default::default()
        };
        Ok(Facts {
            groups: BTreeSet::new(),
            tags,
            attached_policies: attached,
            inline_policies: inline,
            unique_id: role.as_ref().map(|r| r.role_id.clone()),
            boundary: role
                .and_then(|r| r.permissions_boundary)
                .and_then(|b| b.permissions_boundary_arn),
            ..Facts::default()
        })
    }

    /// The boundary of a principal (GetUser / GetRole); `None` when it has none or is gone.
    async fn boundary_of(&self, target: &Target) -> Result<Option<String>, PortError> {
        let result = match target.kind {
            EntityKind::User => self
                .iam
                .get_user()
                .user_name(&target.name)
                .send()
                .await
                .map(|o| o.user.and_then(|u| u.permissions_boundary))
                .map_err(|e| classify("GetUser", e)),
            EntityKind::Role => self
                .iam
                .get_role()
                .role_name(&target.name)
                .send()
                .await
                .map(|o| o.role.and_then(|r| r.permissions_boundary))
                .map_err(|e| classify("GetRole", e)),
        };
        match result {
            Ok(b) => Ok(b.and_then(|b| b.permissions_boundary_arn)),
            Err(PortError::NoSuchEntity { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn tags_of(&self, target: &Target) -> Result<BTreeMap<String, String>, PortError> {
        let tags = match target.kind {
            EntityKind::User => self
                .iam
                .list_user_tags()
                .user_name(&target.name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("ListUserTags", e))?,
            EntityKind::Role => self
                .iam
                .list_role_tags()
                .role_name(&target.name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("ListRoleTags", e))?,
        };
        Ok(tag_map(tags))
    }
}

fn tag_map(tags: Vec<Tag>) -> BTreeMap<String, String> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

impl Directory for AwsAccount {
    async fn inline_document(
        &self,
        target: &Target,
        name: &str,
    ) -> Result<Option<String>, PortError> {
        // IAM returns the document URL-encoded.
        let result = match target.kind {
            EntityKind::User => self
                .iam
                .get_user_policy()
                .user_name(&target.name)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document)
                .map_err(|e| classify("GetUserPolicy", e)),
            EntityKind::Role => self
                .iam
                .get_role_policy()
                .role_name(&target.name)
                .policy_name(name)
                .send()
                .await
                .map(|o| o.policy_document)
                .map_err(|e| classify("GetRolePolicy", e)),
        };
        match result {
            Ok(document) => Ok(Some(
                percent_encoding::percent_decode_str(&document)
                    .decode_utf8_lossy()
                    .into_owned(),
            )),
            Err(PortError::NoSuchEntity { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn policies(
        &self,
        target: &Target,
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), PortError> {
        match target.kind {
            EntityKind::User => self.user_policies(&target.name).await,
            EntityKind::Role => self.role_policies(&target.name).await,
        }
    }

    /// ListUsers / ListRoles: IAM has no look-up by unique id. Only for a caller whose
    /// name is gone or held by another principal.
    async fn find_by_id(&self, kind: EntityKind, id: &str) -> Result<Option<Target>, PortError> {
        match kind {
            EntityKind::User => {
                let users: Vec<_> = self
                    .iam
                    .list_users()
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| classify("ListUsers", e))?;
                Ok(users.into_iter().find(|u| u.user_id == id).map(|u| Target {
                    kind,
                    name: u.user_name,
                    arn: u.arn,
                }))
            }
            EntityKind::Role => {
                let roles = self.roles_under(None).await?;
                Ok(roles.into_iter().find(|r| r.role_id == id).map(|r| Target {
                    kind,
                    name: r.role_name,
                    arn: r.arn,
                }))
            }
        }
    }

    async fn identity_center_roles(&self) -> Result<Vec<(String, String)>, PortError> {
        let roles = self
            .roles_under(Some("/aws-reserved/sso.amazonaws.com/"))
            .await?;
        Ok(roles
            .into_iter()
            .map(|r| (r.role_name, r.role_id))
            .collect())
    }

    async fn group_id(&self, name: &str) -> Result<Option<String>, PortError> {
        match self
            .iam
            .get_group()
            .group_name(name)
            .max_items(1)
            .send()
            .await
            .map_err(|e| classify("GetGroup", e))
        {
            Ok(out) => Ok(out.group.map(|g| g.group_id)),
            Err(PortError::NoSuchEntity { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn group_named(&self, id: &str) -> Result<Option<String>, PortError> {
        let groups: Vec<_> = self
            .iam
            .list_groups()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListGroups", e))?;
        Ok(groups
            .into_iter()
            .find(|g| g.group_id == id)
            .map(|g| g.group_name))
    }

    async fn credential_created(
        &self,
        credential: &Credential,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, PortError> {
        let at = |d: Option<&aws_smithy_types::DateTime>| {
            d.and_then(|d| chrono::DateTime::from_timestamp(d.secs(), 0))
        };
        let result = match credential {
            Credential::AccessKey { user, key } => self
                .iam
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .map(|out| {
                    out.access_key_metadata
                        .iter()
                        .find(|k| k.access_key_id.as_deref() == Some(key.as_str()))
                        .and_then(|k| at(k.create_date.as_ref()))
                })
                .map_err(|e| classify("ListAccessKeys", e)),
            Credential::Session { user, .. } => self
                .iam
                .get_login_profile()
                .user_name(user)
                .send()
                .await
                .map(|out| out.login_profile.and_then(|p| at(Some(&p.create_date))))
                .map_err(|e| classify("GetLoginProfile", e)),
        };
        match result {
            Err(PortError::NoSuchEntity { .. }) => Ok(None),
            other => other,
        }
    }

    async fn facts(&self, target: &Target) -> Result<CallerFacts, PortError> {
        let facts = match target.kind {
            EntityKind::User => self.user_facts(&target.name).await,
            EntityKind::Role => self.role_facts(&target.name).await,
        };
        match facts {
            Ok(f) => Ok(CallerFacts::Found(f)),
            Err(PortError::NoSuchEntity { .. }) => Ok(CallerFacts::Gone),
            Err(e) => Err(e),
        }
    }

    async fn deny_present(
        &self,
        target: &Target,
        method: Method,
        config: &warden_core::config::Config,
    ) -> Result<bool, PortError> {
        let name = target.name.as_str();
        if method == Method::Boundary {
            return Ok(self.boundary_of(target).await?.as_deref().is_some_and(|b| {
                warden_core::revocation::is_revocation_boundary(
                    b,
                    config.quarantine_policy_arn.as_deref(),
                )
            }));
        }
        let result = match (target.kind, method) {
            (EntityKind::User, Method::Managed) => self
                .iam
                .list_attached_user_policies()
                .user_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map(|p| {
                    p.iter()
                        .any(|p| p.policy_arn.as_deref() == Some(config.deny_policy_arn.as_str()))
                })
                .map_err(|e| classify("ListAttachedUserPolicies", e)),
            (EntityKind::Role, Method::Managed) => self
                .iam
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map(|p| {
                    p.iter()
                        .any(|p| p.policy_arn.as_deref() == Some(config.deny_policy_arn.as_str()))
                })
                .map_err(|e| classify("ListAttachedRolePolicies", e)),
            (EntityKind::User, Method::Inline) => self
                .iam
                .get_user_policy()
                .user_name(name)
                .policy_name(&config.inline_policy_name)
                .send()
                .await
                .map(|_| true)
                .map_err(|e| classify("GetUserPolicy", e)),
            (EntityKind::Role, Method::Inline) => self
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&config.inline_policy_name)
                .send()
                .await
                .map(|_| true)
                .map_err(|e| classify("GetRolePolicy", e)),
            (_, Method::Boundary) => Ok(false),
        };
        match result {
            Err(PortError::NoSuchEntity { .. }) => Ok(false),
            other => other,
        }
    }
}

impl Inventory for AwsAccount {
    /// The managed deny from ListEntitiesForPolicy; the inline fallbacks from one scan of
    /// GetAccountAuthorizationDetails; then each revoked principal's record tags.
    async fn revoked(
        &self,
        policy_arn: &str,
        inline_name: &str,
    ) -> Result<Vec<RevokedPrincipal>, PortError> {
        let mut found: BTreeMap<(EntityKind, String), (String, Vec<Method>)> = BTreeMap::new();
        let account = policy_arn.split(':').nth(4).unwrap_or_default().to_owned();
        let arn_of = |kind: EntityKind, path: Option<&str>, name: &str| {
            format!(
                "arn:aws:iam::{account}:{}{}{name}",
                kind.as_str(),
                path.unwrap_or("/")
            )
        };

        let mut pages = self
            .iam
            .list_entities_for_policy()
            .policy_arn(policy_arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListEntitiesForPolicy", e))?;
            for u in page.policy_users.unwrap_or_default() {
                if let Some(name) = u.user_name {
                    let arn = arn_of(EntityKind::User, None, &name);
                    found
                        .entry((EntityKind::User, name))
                        .or_insert((arn, vec![]))
                        .1
                        .push(Method::Managed);
                }
            }
            for r in page.policy_roles.unwrap_or_default() {
                if let Some(name) = r.role_name {
                    let arn = arn_of(EntityKind::Role, None, &name);
                    found
                        .entry((EntityKind::Role, name))
                        .or_insert((arn, vec![]))
                        .1
                        .push(Method::Managed);
                }
            }
        }

        let mut pages = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("GetAccountAuthorizationDetails", e))?;
            for u in page.user_detail_list.unwrap_or_default() {
                let (Some(name), Some(arn)) = (u.user_name, u.arn) else {
                    continue;
                };
                let entry = found
                    .entry((EntityKind::User, name))
                    .or_insert((arn.clone(), vec![]));
                entry.0 = arn;
                if u.user_policy_list
                    .unwrap_or_default()
                    .iter()
                    .any(|p| p.policy_name.as_deref() == Some(inline_name))
                {
                    entry.1.push(Method::Inline);
                }
                if u.permissions_boundary
                    .and_then(|b| b.permissions_boundary_arn)
                    .is_some_and(|b| warden_core::revocation::is_tool_boundary(&b))
                {
                    entry.1.push(Method::Boundary);
                }
            }
            for r in page.role_detail_list.unwrap_or_default() {
                let (Some(name), Some(arn)) = (r.role_name, r.arn) else {
                    continue;
                };
                let entry = found
                    .entry((EntityKind::Role, name))
                    .or_insert((arn.clone(), vec![]));
                entry.0 = arn;
                if r.role_policy_list
                    .unwrap_or_default()
                    .iter()
                    .any(|p| p.policy_name.as_deref() == Some(inline_name))
                {
                    entry.1.push(Method::Inline);
                }
                if r.permissions_boundary
                    .and_then(|b| b.permissions_boundary_arn)
                    .is_some_and(|b| warden_core::revocation::is_tool_boundary(&b))
                {
                    entry.1.push(Method::Boundary);
                }
            }
        }

        let mut out = Vec::new();
        for ((kind, name), (arn, methods)) in found {
            if methods.is_empty() {
                continue;
            }
            let target = Target { kind, name, arn };
            let record = self
                .tags_of(&target)
                .await?
                .into_iter()
                .filter(|(k, _)| k.starts_with("iam-warden:"))
                .collect();
            out.push(RevokedPrincipal {
                target,
                methods,
                record,
            });
        }
        Ok(out)
    }
}

/// Parses the caller's ARN for its account (used at start-up).
pub(crate) fn account_of(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

impl AwsAccount {
    /// Every role (ListRoles, every page), or those under `path`.
    async fn roles_under(
        &self,
        path: Option<&str>,
    ) -> Result<Vec<aws_sdk_iam::types::Role>, PortError> {
        self.iam
            .list_roles()
            .set_path_prefix(path.map(str::to_owned))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify("ListRoles", e))
    }
}
