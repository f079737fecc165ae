//! Revocation records and the tool's own managed policies (the deny, the quarantine
//! and the boundaries), in memory.

use crate::ports::PortError;
use crate::revocation::RevocationRecord;

use super::MemoryAccount;

impl crate::ports::Revocations for MemoryAccount {
    async fn revocation(
        &self,
        _account: &str,
        key: &str,
    ) -> Result<Option<crate::revocation::RevocationRecord>, PortError> {
        let s = self.enter("revocation")?;
        Ok(s.revocations.get(key).cloned())
    }

    async fn record_revocation(
        &self,
        _account: &str,
        key: &str,
        record: &crate::revocation::RevocationRecord,
    ) -> Result<Option<crate::revocation::RevocationRecord>, PortError> {
        let mut s = self.enter("record_revocation")?;
        if let Some(existing) = s.revocations.get(key) {
            return Ok(Some(existing.clone()));
        }
        s.revocations.insert(key.to_owned(), record.clone());
        Ok(None)
    }

    async fn revocation_notified(&self, _account: &str, key: &str) -> Result<(), PortError> {
        let mut s = self.enter("revocation_notified")?;
        if let Some(r) = s.revocations.get_mut(key) {
            r.notified = true;
        }
        Ok(())
    }

    async fn remove_revocation(&self, _account: &str, key: &str) -> Result<(), PortError> {
        let mut s = self.enter("remove_revocation")?;
        s.revocations.remove(key);
        Ok(())
    }

    async fn denied_sessions(
        &self,
        _account: &str,
        role_id: &str,
    ) -> Result<std::collections::BTreeSet<String>, PortError> {
        let s = self.enter("denied_sessions")?;
        Ok(s.denied_sessions.get(role_id).cloned().unwrap_or_default())
    }

    async fn change_denied_sessions(
        &self,
        _account: &str,
        role_id: &str,
        ids: &std::collections::BTreeSet<String>,
        add: bool,
    ) -> Result<(), PortError> {
        let mut s = self.enter("change_denied_sessions")?;
        let set = s.denied_sessions.entry(role_id.to_owned()).or_default();
        for id in ids {
            if add {
                set.insert(id.clone());
            } else {
                set.remove(id);
            }
        }
        Ok(())
    }

    async fn kept_boundary(
        &self,
        _account: &str,
        role_id: &str,
    ) -> Result<Option<Option<String>>, PortError> {
        let s = self.enter("kept_boundary")?;
        Ok(s.kept_boundaries.get(role_id).cloned())
    }

    async fn keep_boundary(
        &self,
        _account: &str,
        role_id: &str,
        previous: Option<Option<&str>>,
    ) -> Result<(), PortError> {
        let mut s = self.enter("keep_boundary")?;
        match previous {
            Some(p) => {
                s.kept_boundaries
                    .entry(role_id.to_owned())
                    .or_insert_with(|| p.map(str::to_owned));
            }
            None => {
                s.kept_boundaries.remove(role_id);
            }
        }
        Ok(())
    }

    async fn set_source(
        &self,
        _account: &str,
        key: &str,
        source: &str,
        user: Option<&str>,
    ) -> Result<(), PortError> {
        let mut s = self.enter("set_source")?;
        if let Some(record) = s.revocations.get_mut(key) {
            record.source = Some(source.to_owned());
            record.source_user = user.map(str::to_owned);
        }
        Ok(())
    }

    async fn revocations(&self, _account: &str) -> Result<Vec<RevocationRecord>, PortError> {
        let s = self.enter("revocations")?;
        Ok(s.revocations.values().cloned().collect())
    }
}

impl crate::ports::ToolPolicies for MemoryAccount {
    async fn verify_policy(
        &self,
        arn: &str,
        document: &str,
    ) -> Result<crate::ports::PolicyCheck, PortError> {
        let mut s = self.enter("verify_policy")?;
        let check = match s.tool_policies.get(arn) {
            None => crate::ports::PolicyCheck::Recreated,
            Some((doc, _)) if doc == document => return Ok(crate::ports::PolicyCheck::Intact),
            Some((doc, _)) => crate::ports::PolicyCheck::Repaired { found: doc.clone() },
        };
        let versions = s.tool_policies.get(arn).map_or(0, |(_, v)| *v);
        s.tool_policies
            .insert(arn.to_owned(), (document.to_owned(), (versions + 1).min(5)));
        Ok(check)
    }

    async fn policy_document(&self, arn: &str) -> Result<Option<String>, PortError> {
        let s = self.enter("policy_document")?;
        Ok(s.boundaries.get(arn).cloned())
    }

    async fn put_boundary_policy(&self, name: &str, document: &str) -> Result<String, PortError> {
        let mut s = self.enter("put_boundary_policy")?;
        let arn = format!("arn:aws:iam::123456789012:policy/iam-warden/{name}");
        s.boundaries.insert(arn.clone(), document.to_owned());
        Ok(arn)
    }

    async fn delete_boundary_policy(&self, arn: &str) -> Result<(), PortError> {
        let mut s = self.enter("delete_boundary_policy")?;
        s.boundaries.remove(arn);
        Ok(())
    }
}
