//! The IAM side of the ports, in memory: facts about a principal, the deny and the
//! record tags, and the inventory of revoked principals.

use crate::config::Config;
use crate::facts::CallerFacts;
use crate::ports::{Directory, Enforcer, Inventory, PortError, RevokedPrincipal};
use crate::principal::{EntityKind, Target};
use crate::revocation::Method;

use super::MemoryAccount;

impl Directory for MemoryAccount {
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
                Method::Boundary => f
                    .boundary
                    .as_deref()
                    .is_some_and(crate::revocation::is_tool_boundary),
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

impl Enforcer for MemoryAccount {
    async fn tag(&self, target: &Target, tags: &[(&str, String)]) -> Result<(), PortError> {
        self.with_principal("tag", target, |f, _| {
            for (k, v) in tags {
                f.tags.insert((*k).to_owned(), v.clone());
            }
            Ok(())
        })
    }

    async fn untag(&self, target: &Target, keys: &[&str]) -> Result<(), PortError> {
        self.with_principal("untag", target, |f, _| {
            for k in keys {
                f.tags.remove(*k);
            }
            Ok(())
        })
    }

    async fn attach_policy(&self, target: &Target, policy_arn: &str) -> Result<(), PortError> {
        self.with_principal("attach_policy", target, |f, limit| {
            if limit.is_some_and(|l| f.attached_policies.len() >= l)
                && !f.attached_policies.contains(policy_arn)
            {
                return Err(PortError::LimitExceeded {
                    operation: "attach_policy",
                    message: "Cannot exceed quota for PoliciesPerUser".into(),
                });
            }
            f.attached_policies.insert(policy_arn.to_owned());
            Ok(())
        })
    }

    async fn detach_policy(&self, target: &Target, policy_arn: &str) -> Result<bool, PortError> {
        self.with_principal("detach_policy", target, |f, _| {
            Ok(f.attached_policies.remove(policy_arn))
        })
    }

    async fn put_inline_policy(
        &self,
        target: &Target,
        name: &str,
        _document: &str,
    ) -> Result<(), PortError> {
        self.with_principal("put_inline_policy", target, |f, _| {
            f.inline_policies.insert(name.to_owned());
            Ok(())
        })
    }

    async fn delete_inline_policy(&self, target: &Target, name: &str) -> Result<bool, PortError> {
        self.with_principal("delete_inline_policy", target, |f, _| {
            Ok(f.inline_policies.remove(name))
        })
    }

    async fn set_boundary(&self, target: &Target, boundary: Option<&str>) -> Result<(), PortError> {
        self.with_principal("set_boundary", target, |f, _| {
            f.boundary = boundary.map(str::to_owned);
            Ok(())
        })
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
