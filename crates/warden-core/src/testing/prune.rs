//! The pruner's IAM side, in memory: the inventory, Access Advisor's answers and the
//! pruner's own policies.

use crate::ports::{AccessAdvisor, Authorizations, PortError, PrunePolicies};
use crate::principal::EntityKind;
use crate::prune::{PolicyDoc, Report};

use super::MemoryAccount;

impl Authorizations for MemoryAccount {
    async fn subjects(&self, roles: bool) -> Result<Vec<crate::prune::Subject>, PortError> {
        let s = self.enter("subjects")?;
        Ok(s.subjects
            .iter()
            .filter(|x| roles || x.kind == EntityKind::User)
            .map(|x| {
                let mut x = x.clone();
                if let Some(f) = s.principals.get(&(x.kind, x.name.clone())) {
                    x.attached = f.attached_policies.clone();
                }
                x
            })
            .collect())
    }

    async fn quotas(&self) -> Result<crate::prune::Quotas, PortError> {
        let _s = self.enter("quotas")?;
        Ok(crate::prune::Quotas { user: 10, role: 10 })
    }
}

impl AccessAdvisor for MemoryAccount {
    async fn report(&self, principal_arn: &str, _timeout: std::time::Duration) -> Report {
        match self.enter("report") {
            Ok(s) => s
                .reports
                .get(principal_arn)
                .cloned()
                .unwrap_or_else(|| Report::Unavailable("job FAILED".into())),
            Err(e) => Report::Unavailable(e.to_string()),
        }
    }
}

impl PrunePolicies for MemoryAccount {
    async fn put_policy(&self, policy: &PolicyDoc, principal_arn: &str) -> Result<(), PortError> {
        let mut s = self.enter("put_policy")?;
        let (owner, versions) = s
            .policies
            .entry(policy.arn.clone())
            .or_insert_with(|| (principal_arn.to_owned(), Vec::new()));
        if owner != principal_arn {
            return Err(PortError::Failed {
                operation: "put_policy",
                message: format!("{} belongs to {owner}", policy.arn),
            });
        }
        versions.push(policy.document.clone());
        if versions.len() > 5 {
            versions.remove(0);
        }
        Ok(())
    }

    async fn denied_services(
        &self,
        policy_arn: &str,
    ) -> Result<Option<std::collections::BTreeSet<String>>, PortError> {
        let s = self.enter("denied_services")?;
        Ok(s.policies
            .get(policy_arn)
            .and_then(|(_, versions)| versions.last())
            .map(|doc| crate::prune_policy::services_of(doc).unwrap_or_default()))
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<bool, PortError> {
        let mut s = self.enter("delete_policy")?;
        Ok(s.policies.remove(policy_arn).is_some())
    }
}
