//! The pruner's ledger, in memory: one entry per principal, keyed by its ARN.

use std::collections::BTreeMap;

use crate::ports::{Ledger, PortError};
use crate::prune::LedgerEntry;

use super::MemoryAccount;

impl Ledger for MemoryAccount {
    async fn load(
        &self,
        principals: &[String],
    ) -> Result<BTreeMap<String, LedgerEntry>, PortError> {
        let s = self.enter("ledger_load")?;
        Ok(principals
            .iter()
            .filter_map(|p| s.ledger.get(p).map(|e| (p.clone(), e.clone())))
            .collect())
    }

    async fn save(&self, entry: &LedgerEntry) -> Result<(), PortError> {
        let mut s = self.enter("ledger_save")?;
        s.ledger.insert(entry.principal.clone(), entry.clone());
        Ok(())
    }
}
