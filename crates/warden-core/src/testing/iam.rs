//! The IAM side of the ports, in memory: facts about a principal and the inventory of
//! revoked principals (the reads; the writes are in `enforcer.rs`).

use crate::config::Config;
use crate::facts::CallerFacts;
use crate::ports::{Directory, Inventory, PortError, RevokedPrincipal};
use crate::principal::{EntityKind, Target};
use crate::revocation::Method;

use super::MemoryAccount;

impl Directory for MemoryAccount {
    async fn inline_document(
        &self,
        target: &Target,
        name: &str,
    ) -> Result<Option<String>, PortError> {
        let s = self.enter("inline_document")?;
        let key = (
            format!("{}/{}", target.kind.as_str(), target.name),
            name.to_owned(),
        );
        Ok(s.inline_documents.get(&key).cloned())
    }

    async fn facts(&self, target: &Target) -> Result<CallerFacts, PortError> {
        match self.with_principal("facts", target, |f, _| Ok(f.clone())) {
            Ok(f) => Ok(CallerFacts::Found(f)),
            Err(PortError::NoSuchEntity { .. }) => Ok(CallerFacts::Gone),
            Err(e) => Err(e),
        }
    }

    async fn deny_present(
        &self,
        target: &Target,
        method: Method,
        config: &Config,
    ) -> Result<bool, PortError> {
        match self.with_principal("deny_present", target, |f, _| {
            Ok(match method {
                Method::Managed => f.attached_policies.contains(&config.deny_policy_arn),
                Method::Inline => f.inline_policies.contains(&config.inline_policy_name),
                Method::Boundary => f.boundary.as_deref().is_some_and(|b| {
                    crate::revocation::is_revocation_boundary(
                        b,
                        config.quarantine_policy_arn.as_deref(),
                    )
                }),
            })
        }) {
            Err(PortError::NoSuchEntity { .. }) => Ok(false),
            other => other,
        }
    }

    async fn policies(
        &self,
        target: &Target,
    ) -> Result<
        (
            std::collections::BTreeSet<String>,
            std::collections::BTreeSet<String>,
        ),
        PortError,
    > {
        self.with_principal("policies", target, |f, _| {
            Ok((f.attached_policies.clone(), f.inline_policies.clone()))
        })
    }

    async fn group_id(&self, name: &str) -> Result<Option<String>, PortError> {
        let s = self.enter("group_id")?;
        Ok(s.group_ids
            .iter()
            .find(|(n, _)| crate::principal::same_name(n, name))
            .map(|(_, id)| id.clone()))
    }

    async fn group_named(&self, id: &str) -> Result<Option<String>, PortError> {
        let s = self.enter("group_named")?;
        Ok(s.group_ids
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(n, _)| n.clone()))
    }

    async fn credential_created(
        &self,
        credential: &crate::minted::Credential,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, PortError> {
        let s = self.enter("credential_created")?;
        Ok(s.made
            .iter()
            .find(|(c, _)| match (c, credential) {
                (
                    crate::minted::Credential::Session { user: a, .. },
                    crate::minted::Credential::Session { user: b, .. },
                ) => a == b,
                (a, b) => *a == b,
            })
            .map(|(_, at)| *at)
            // Not set by the test: IAM has it, made long ago (the samples' keys).
            .or_else(|| chrono::DateTime::from_timestamp(1_577_836_800, 0)))
    }

    async fn identity_center_roles(&self) -> Result<Vec<(String, String)>, PortError> {
        let s = self.enter("identity_center_roles")?;
        Ok(s.principals
            .iter()
            .filter(|((k, name), _)| *k == EntityKind::Role && s.reserved_roles.contains(name))
            .map(|((_, name), f)| (name.clone(), f.unique_id.clone().unwrap_or_default()))
            .collect())
    }

    async fn find_by_id(&self, kind: EntityKind, id: &str) -> Result<Option<Target>, PortError> {
        let s = self.enter("find_by_id")?;
        Ok(s.principals
            .iter()
            .find(|((k, _), f)| *k == kind && f.unique_id.as_deref() == Some(id))
            .map(|((k, name), _)| Target {
                kind: *k,
                name: name.clone(),
                arn: format!("arn:aws:iam::123456789012:{}/{name}", k.as_str()),
            }))
    }
}

impl Inventory for MemoryAccount {
    async fn revoked(
        &self,
        policy_arn: &str,
        inline_name: &str,
    ) -> Result<Vec<RevokedPrincipal>, PortError> {
        let s = self.enter("revoked")?;
        Ok(s.principals
            .iter()
            .filter_map(|((kind, name), f)| {
                let mut methods = Vec::new();
                if f.attached_policies.contains(policy_arn) {
                    methods.push(Method::Managed);
                }
                if f.inline_policies.contains(inline_name) {
                    methods.push(Method::Inline);
                }
                (!methods.is_empty()).then(|| RevokedPrincipal {
                    target: Target {
                        kind: *kind,
                        name: name.clone(),
                        arn: format!("arn:aws:iam::123456789012:{}/{name}", kind.as_str()),
                    },
                    methods,
                    record: f
                        .tags
                        .iter()
                        .filter(|(k, _)| k.starts_with("iam-warden:"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                })
            })
            .collect())
    }
}
