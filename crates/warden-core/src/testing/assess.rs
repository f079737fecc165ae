//! `warden assess`'s ports in memory: the principals' policies (the inventory's
//! subjects, without documents) and Security Hub's findings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::assess::Principal;
use crate::ports::{PolicyInventory, PortError, SecurityHub};
use crate::security_hub::{HubFinding, RecordState};

use super::MemoryAccount;

impl PolicyInventory for MemoryAccount {
    async fn principals_with_policies(&self) -> Result<Vec<Principal>, PortError> {
        let s = self.enter("principals_with_policies")?;
        Ok(s.subjects
            .iter()
            .map(|x| Principal {
                kind: x.kind,
                name: x.name.clone(),
                arn: x.arn.clone(),
                created: x.created,
                attached: x.attached.iter().cloned().collect(),
                policies: Vec::new(),
            })
            .collect())
    }
}

impl SecurityHub for MemoryAccount {
    fn hub_region(&self) -> String {
        "us-east-1".into()
    }

    async fn active_findings(
        &self,
        account: &str,
    ) -> Result<BTreeMap<String, DateTime<Utc>>, PortError> {
        let s = self.enter("active_findings")?;
        Ok(s.hub
            .values()
            .filter(|f| f.account == account && f.record_state == RecordState::Active)
            .map(|f| (f.id.clone(), f.created_at))
            .collect())
    }

    async fn import_findings(&self, findings: &[HubFinding]) -> Result<(), PortError> {
        let mut s = self.enter("import_findings")?;
        for f in findings {
            s.hub.insert(f.id.clone(), f.clone());
        }
        Ok(())
    }

    async fn archive_findings(
        &self,
        _account: &str,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut s = self.enter("archive_findings")?;
        for id in ids {
            if let Some(f) = s.hub.get_mut(id) {
                f.record_state = RecordState::Archived;
                f.updated_at = now;
            }
        }
        Ok(())
    }
}
