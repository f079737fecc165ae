//! `warden assess`'s inventory: every user and role with its policies' documents, from one
//! paginated GetAccountAuthorizationDetails (users, roles, and the customer managed
//! policies with their default versions).

use std::collections::BTreeMap;

use aws_sdk_iam::types::{AttachedPolicy, EntityType, PolicyDetail};
use warden_core::assess::{PolicyOf, Principal};
use warden_core::ports::{PolicyInventory, PortError};
use warden_core::principal::EntityKind;

use crate::error::classify;
use crate::prune::{attached_arns, chrono_time, is_aws_managed_role};
use crate::AwsAccount;

/// IAM returns documents URL-encoded.
fn decoded(document: &str) -> String {
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

/// A user's or role's name, ARN and creation, as the inventory gives them.
type Named = (
    Option<String>,
    Option<String>,
    Option<aws_smithy_types::DateTime>,
);

/// A user or role of the inventory with its inline policies; `None` when its name, ARN
/// or creation is missing.
fn principal(
    kind: EntityKind,
    (name, arn, created): Named,
    attached: Option<Vec<AttachedPolicy>>,
    inline: Option<Vec<PolicyDetail>>,
) -> Option<Principal> {
    Some(Principal {
        kind,
        name: name?,
        arn: arn?,
        created: created.as_ref().and_then(chrono_time)?,
        attached: attached_arns(attached),
        policies: inline
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                Some(PolicyOf {
                    name: p.policy_name?,
                    managed: false,
                    document: decoded(&p.policy_document?),
                })
            })
            .collect(),
    })
}

impl PolicyInventory for AwsAccount {
    async fn principals_with_policies(&self) -> Result<Vec<Principal>, PortError> {
        let mut pages = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .into_paginator()
            .send();
        let mut found: Vec<Principal> = Vec::new();
        // Customer managed policies' default documents, by ARN.
        let mut managed: BTreeMap<String, String> = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("GetAccountAuthorizationDetails", e))?;
            for u in page.user_detail_list.unwrap_or_default() {
                found.extend(principal(
                    EntityKind::User,
                    (u.user_name, u.arn, u.create_date),
                    u.attached_managed_policies,
                    u.user_policy_list,
                ));
            }
            for r in page.role_detail_list.unwrap_or_default() {
                if is_aws_managed_role(r.path.as_deref().unwrap_or("/")) {
                    continue;
                }
                found.extend(principal(
                    EntityKind::Role,
                    (r.role_name, r.arn, r.create_date),
                    r.attached_managed_policies,
                    r.role_policy_list,
                ));
            }
            for p in page.policies.unwrap_or_default() {
                let Some(arn) = p.arn else { continue };
                let default = p
                    .policy_version_list
                    .unwrap_or_default()
                    .into_iter()
                    .find(|v| v.is_default_version)
                    .and_then(|v| v.document);
                if let Some(document) = default {
                    managed.insert(arn, decoded(&document));
                }
            }
        }
        // The customer managed policies' documents, with each principal that holds one.
        for p in &mut found {
            let held: Vec<PolicyOf> = p
                .attached
                .iter()
                .filter_map(|a| {
                    managed.get(a).map(|document| PolicyOf {
                        name: a.clone(),
                        managed: true,
                        document: document.clone(),
                    })
                })
                .collect();
            p.policies.extend(held);
        }
        Ok(found)
    }
}
