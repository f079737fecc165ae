//! IAM Identity Center sessions: the role of a permission set in ADMIN_PERMISSION_SETS
//! recorded in the trust ledger on first sight, by its unique id (only Identity Center
//! makes roles at `/aws-reserved/sso.amazonaws.com/`, so first sight cannot be a
//! caller's forgery; a role re-created since is another id). The plan is
//! [`crate::identity_center`].

use chrono::Utc;
use tracing::info;

use crate::event::Event;
use crate::facts::CallerFacts;
use crate::ports::{PortError, RevokerPorts};
use crate::principal::{EntityKind, Principal};
use crate::trust::{LedgerChange, Provenance, Status, TrustEntry};

use super::state::Invocation;

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Records the event's Identity Center role in the trust ledger when its permission
    /// set is in ADMIN_PERMISSION_SETS and the ledger does not hold it yet.
    pub(super) async fn with_permission_set(
        &mut self,
        event: &Event,
        facts: &mut CallerFacts,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let (Some(record), CallerFacts::Found(f)) = (event.record(), facts) else {
            return Ok(());
        };
        let Principal::IdentityCenterRole { role, .. } = Principal::classify(record) else {
            return Ok(());
        };
        let Some(set) = crate::identity_center::permission_set(&role.name)
            .filter(|s| r.config.admin_permission_sets.contains(*s))
        else {
            return Ok(());
        };
        if f.trusted.contains_key(&Status::Exempt) {
            return Ok(());
        }
        // Its unique id, from IAM, and the event's when it carries one: they must agree.
        let Some(id) = f.unique_id.clone() else {
            return Ok(());
        };
        if role.id.as_ref().is_some_and(|event_id| *event_id != id) {
            return Ok(());
        }
        let entry = TrustEntry {
            status: Status::Exempt,
            kind: EntityKind::Role,
            name: role.name.clone(),
            unique_id: Some(id),
            provenance: Provenance::PermissionSet {
                name: set.to_owned(),
            },
            at: Utc::now(),
        };
        let change = LedgerChange::Put(entry.clone());
        r.port
            .change_trust(&r.env.account_id, std::slice::from_ref(&change))
            .await?;
        if let Some(set) = self.trust.as_mut() {
            set.apply(&change);
        }
        info!(role = %role.name, "an admin permission set's role recorded in the trust ledger");
        f.trusted.insert(Status::Exempt, entry);
        Ok(())
    }
}
