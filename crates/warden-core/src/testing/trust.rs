//! The trust ledger and the action records, in memory.

use crate::action::{ActionRecord, CallerRecord};
use crate::ports::{ActionRecords, PortError, TrustLedger};
use crate::trust::{LedgerChange, TrustSet};

use super::MemoryAccount;

impl TrustLedger for MemoryAccount {
    async fn trust_set(&self, account: &str) -> Result<Option<TrustSet>, PortError> {
        let s = self.enter("trust_set")?;
        Ok(s.trust.clone().map(|mut t| {
            t.account = account.to_owned();
            t
        }))
    }

    async fn put_baseline(&self, set: &TrustSet) -> Result<bool, PortError> {
        let mut s = self.enter("put_baseline")?;
        if s.trust.is_some() {
            return Ok(false);
        }
        s.trust = Some(set.clone());
        Ok(true)
    }

    async fn change_trust(
        &self,
        _account: &str,
        changes: &[LedgerChange],
    ) -> Result<(), PortError> {
        let mut s = self.enter("change_trust")?;
        let Some(set) = s.trust.as_mut() else {
            return Err(PortError::Failed {
                operation: "change_trust",
                message: "no baseline".into(),
            });
        };
        for change in changes {
            set.apply(change);
        }
        Ok(())
    }
}

impl ActionRecords for MemoryAccount {
    async fn record_actions(
        &self,
        _account: &str,
        caller: &str,
        actions: &[(String, ActionRecord)],
    ) -> Result<CallerRecord, PortError> {
        let mut s = self.enter("record_actions")?;
        let record = s
            .records
            .entry(caller.to_owned())
            .or_insert_with(|| CallerRecord {
                caller: caller.to_owned(),
                ..CallerRecord::default()
            });
        for (key, action) in actions {
            record
                .actions
                .entry(key.clone())
                .or_insert_with(|| action.clone());
        }
        Ok(record.clone())
    }

    async fn set_action(
        &self,
        _account: &str,
        caller: &str,
        key: &str,
        action: &ActionRecord,
    ) -> Result<(), PortError> {
        let mut s = self.enter("set_action")?;
        s.records
            .entry(caller.to_owned())
            .or_default()
            .actions
            .insert(key.to_owned(), action.clone());
        Ok(())
    }

    async fn mark_notified(
        &self,
        _account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<(), PortError> {
        let mut s = self.enter("mark_notified")?;
        s.records
            .entry(caller.to_owned())
            .or_default()
            .notified
            .insert(event_id.to_owned());
        Ok(())
    }

    async fn caller_record(
        &self,
        _account: &str,
        caller: &str,
    ) -> Result<Option<CallerRecord>, PortError> {
        let s = self.enter("caller_record")?;
        Ok(s.records.get(caller).cloned())
    }

    async fn caller_records(&self, _account: &str) -> Result<Vec<CallerRecord>, PortError> {
        let s = self.enter("caller_records")?;
        Ok(s.records.values().cloned().collect())
    }
}
