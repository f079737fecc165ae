//! The trust ledger and the action records, in memory.

use std::collections::BTreeMap;

use crate::action::{ActionRecord, ActionState, CallerRecord};
use crate::ports::{ActionRecords, Claim, PortError, TrustLedger};
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
    ) -> Result<BTreeMap<String, ActionRecord>, PortError> {
        let mut s = self.enter("record_actions")?;
        let record = s
            .records
            .entry(caller.to_owned())
            .or_insert_with(|| CallerRecord {
                caller: caller.to_owned(),
                ..CallerRecord::default()
            });
        Ok(actions
            .iter()
            .map(|(key, action)| {
                let stored = record
                    .actions
                    .entry(key.clone())
                    .or_insert_with(|| action.clone());
                (key.clone(), stored.clone())
            })
            .collect())
    }

    async fn set_action(
        &self,
        _account: &str,
        caller: &str,
        key: &str,
        action: &ActionRecord,
    ) -> Result<(), PortError> {
        let mut s = self.enter("set_action")?;
        let record = s.records.entry(caller.to_owned()).or_default();
        record.caller = caller.to_owned();
        record.actions.insert(key.to_owned(), action.clone());
        Ok(())
    }

    async fn notified(
        &self,
        _account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<bool, PortError> {
        let s = self.enter("notified")?;
        Ok(s.records
            .get(caller)
            .is_some_and(|r| r.notified.contains(event_id)))
    }

    async fn mark_notified(
        &self,
        _account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<(), PortError> {
        let mut s = self.enter("mark_notified")?;
        s.claims.remove(&(caller.to_owned(), event_id.to_owned()));
        s.records
            .entry(caller.to_owned())
            .or_default()
            .notified
            .insert(event_id.to_owned());
        Ok(())
    }

    async fn claim_notice(
        &self,
        _account: &str,
        caller: &str,
        event_id: &str,
        lease: std::time::Duration,
    ) -> Result<Claim, PortError> {
        let mut s = self.enter("claim_notice")?;
        if s.records
            .get(caller)
            .is_some_and(|r| r.notified.contains(event_id))
        {
            return Ok(Claim::Sent);
        }
        let now = chrono::Utc::now();
        let key = (caller.to_owned(), event_id.to_owned());
        let lease = chrono::TimeDelta::from_std(lease).unwrap_or_default();
        if s.claims.get(&key).is_some_and(|at| now - *at < lease) {
            return Ok(Claim::Held);
        }
        s.claims.insert(key, now);
        Ok(Claim::Mine)
    }

    async fn release_notice(
        &self,
        _account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<(), PortError> {
        let mut s = self.enter("release_notice")?;
        s.claims.remove(&(caller.to_owned(), event_id.to_owned()));
        Ok(())
    }

    async fn caller_actions(
        &self,
        _account: &str,
        caller: &str,
        state: Option<ActionState>,
    ) -> Result<BTreeMap<String, ActionRecord>, PortError> {
        let s = self.enter("caller_actions")?;
        Ok(s.records
            .get(caller)
            .map(|r| {
                r.actions
                    .iter()
                    .filter(|(_, a)| state.is_none_or(|st| a.state == st))
                    .map(|(k, a)| (k.clone(), a.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn caller_records(&self, _account: &str) -> Result<Vec<CallerRecord>, PortError> {
        let s = self.enter("caller_records")?;
        Ok(s.records
            .values()
            .filter(|r| !r.actions.is_empty())
            .cloned()
            .collect())
    }
}
