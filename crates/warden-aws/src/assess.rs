//! `warden assess`'s inventory: every user and role with its policies' documents, from one
//! paginated GetAccountAuthorizationDetails (users, roles, and the customer managed
//! policies with their default versions).

use std::collections::BTreeMap;

use aws_sdk_iam::types::EntityType;
use warden_core::assess::{PolicyOf, Principal};
use warden_core::ports::{PolicyInventory, PortError};
use warden_core::principal::EntityKind;

use crate::error::classify;
use crate::prune::chrono_time;
use crate::AwsAccount;

/// IAM returns documents URL-encoded.
fn decoded(document: &str) -> String {
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
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
        // (kind, name, arn, created, attached, inline documents)
        let mut found = Vec::new();
        // Customer managed policies' default documents, by ARN.
        let mut managed: BTreeMap<String, String> = BTreeMap::new();
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
                let inline = u
                    .user_policy_list
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| Some((p.policy_name?, decoded(&p.policy_document?))))
                    .collect::<Vec<_>>();
                let attached = u
                    .attached_managed_policies
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.policy_arn)
                    .collect::<Vec<_>>();
                found.push((EntityKind::User, name, arn, created, attached, inline));
            }
            for r in page.role_detail_list.unwrap_or_default() {
                let path = r.path.as_deref().unwrap_or("/");
                if path.starts_with("/aws-service-role/") || path.starts_with("/aws-reserved/") {
                    continue;
                }
                let (Some(name), Some(arn), Some(created)) = (
                    r.role_name,
                    r.arn,
                    r.create_date.as_ref().and_then(chrono_time),
                ) else {
                    continue;
                };
                let inline = r
                    .role_policy_list
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| Some((p.policy_name?, decoded(&p.policy_document?))))
                    .collect::<Vec<_>>();
                let attached = r
                    .attached_managed_policies
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.policy_arn)
                    .collect::<Vec<_>>();
                found.push((EntityKind::Role, name, arn, created, attached, inline));
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
        Ok(found
            .into_iter()
            .map(|(kind, name, arn, created, attached, inline)| {
                let mut policies: Vec<PolicyOf> = inline
                    .into_iter()
                    .map(|(name, document)| PolicyOf {
                        name,
                        managed: false,
                        document,
                    })
                    .collect();
                policies.extend(attached.iter().filter_map(|a| {
                    managed.get(a).map(|document| PolicyOf {
                        name: a.clone(),
                        managed: true,
                        document: document.clone(),
                    })
                }));
                Principal {
                    kind,
                    name,
                    arn,
                    created,
                    attached,
                    policies,
                }
            })
            .collect())
    }
}
