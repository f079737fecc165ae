//! The pruner's ledger entry of one principal: when each service was first seen granted,
//! what the pruner denies and what an operator lifted, the credentials it took, and the
//! history of those changes. Plain data, shared by the pruning plan and the credential
//! plan.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// History entries kept per principal in the ledger (the oldest are dropped).
pub const HISTORY_MAX: usize = 100;

/// What the ledger remembers of one principal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub principal: String,
    /// When the pruner first saw each service granted.
    #[serde(default)]
    pub first_seen: BTreeMap<String, DateTime<Utc>>,
    /// The services the pruner's policies deny.
    #[serde(default)]
    pub denied: BTreeSet<String>,
    /// Services an operator lifted, and when: they count as used that day.
    #[serde(default)]
    pub lifted: BTreeMap<String, DateTime<Utc>>,
    /// The pruner's policies for this principal.
    #[serde(default)]
    pub policy_arns: Vec<String>,
    #[serde(default)]
    pub history: Vec<Change>,
    /// IAM's unique id of the principal the entry is about: an entry of another
    /// principal that had this ARN (deleted, its name given to a new one) is not its.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    /// Credentials the pruner took away and not yet put back (a key's id, or
    /// [`crate::credential_plan::PASSWORD`]), and when.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials_taken: BTreeMap<String, DateTime<Utc>>,
    /// Credentials an operator put back, and when: they count as used that day.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials_lifted: BTreeMap<String, DateTime<Utc>>,
}

/// One change of a principal's deny set or credentials, for audit and restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub at: DateTime<Utc>,
    /// `denied`, `lifted`, `reset`; `key deactivated`, `key reactivated`, `password
    /// removed`, `password restored`
    pub action: String,
    /// The services, or the credential (a key's id, `console-password`).
    pub services: Vec<String>,
    /// The run (or `restore`) that made it.
    pub by: String,
}

impl LedgerEntry {
    pub fn new(principal: &str) -> Self {
        Self {
            principal: principal.to_owned(),
            ..Self::default()
        }
    }

    pub(crate) fn record(
        &mut self,
        at: DateTime<Utc>,
        action: &str,
        services: &BTreeSet<String>,
        by: &str,
    ) {
        if services.is_empty() {
            return;
        }
        self.history.push(Change {
            at,
            action: action.to_owned(),
            services: services.iter().cloned().collect(),
            by: by.to_owned(),
        });
        let excess = self.history.len().saturating_sub(HISTORY_MAX);
        self.history.drain(..excess);
    }

    /// This entry with only the first-seen dates of `after` (what was observed, not a
    /// deny that is not in place); `None` when that changes nothing.
    pub fn observations_of(&self, after: Option<&LedgerEntry>) -> Option<LedgerEntry> {
        let after = after?;
        let mut kept = self.clone();
        kept.first_seen = after.first_seen.clone();
        (kept != *self).then_some(kept)
    }

    /// Lifts `services` (all of them when `None`): the operator's restore. Returns the
    /// services lifted.
    pub fn lift(
        &mut self,
        services: Option<&BTreeSet<String>>,
        at: DateTime<Utc>,
        by: &str,
    ) -> BTreeSet<String> {
        let lifted: BTreeSet<String> = match services {
            None => std::mem::take(&mut self.denied),
            Some(wanted) => {
                let hit: BTreeSet<String> = self.denied.intersection(wanted).cloned().collect();
                self.denied.retain(|s| !hit.contains(s));
                hit
            }
        };
        for s in &lifted {
            self.lifted.insert(s.clone(), at);
        }
        self.record(at, "lifted", &lifted, by);
        lifted
    }
}
