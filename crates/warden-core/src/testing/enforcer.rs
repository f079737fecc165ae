//! The deny and the record tags on a principal, in memory: the in-memory `Enforcer`.

use crate::ports::{Enforcer, PortError};
use crate::principal::Target;

use super::MemoryAccount;

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
        document: &str,
    ) -> Result<(), PortError> {
        self.with_principal("put_inline_policy", target, |f, _| {
            f.inline_policies.insert(name.to_owned());
            Ok(())
        })?;
        self.lock().inline_documents.insert(
            (
                format!("{}/{}", target.kind.as_str(), target.name),
                name.to_owned(),
            ),
            document.to_owned(),
        );
        Ok(())
    }

    async fn delete_inline_policy(&self, target: &Target, name: &str) -> Result<bool, PortError> {
        let removed = self.with_principal("delete_inline_policy", target, |f, _| {
            Ok(f.inline_policies.remove(name))
        })?;
        self.lock().inline_documents.remove(&(
            format!("{}/{}", target.kind.as_str(), target.name),
            name.to_owned(),
        ));
        Ok(removed)
    }

    async fn set_boundary(&self, target: &Target, boundary: Option<&str>) -> Result<(), PortError> {
        self.with_principal("set_boundary", target, |f, _| {
            f.boundary = boundary.map(str::to_owned);
            Ok(())
        })
    }
}
