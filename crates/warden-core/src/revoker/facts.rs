//! The facts a decision reads: IAM's, read at most once per invocation, with the
//! revocation record and what the trust ledger holds; kept in step with what the tool
//! itself changes.

use crate::action::Action;
use crate::config::tags;
use crate::facts::{CallerFacts, Facts};
use crate::ports::{PortError, RevokerPorts};
use crate::principal::{EntityKind, Target};
use crate::revocation::record_key;
use crate::trust::TrustSet;

use super::state::Invocation;

impl<P: RevokerPorts> Invocation<'_, P> {
    /// The trust ledger, read once per invocation (empty when no baseline exists).
    pub(super) async fn trust_set(&mut self) -> Result<&TrustSet, PortError> {
        let r = self.revoker;
        if self.trust.is_none() {
            let set = r
                .port
                .trust_set(&r.env.account_id)
                .await?
                .unwrap_or_else(|| TrustSet {
                    account: r.env.account_id.clone(),
                    ..TrustSet::default()
                });
            self.trust = Some(set);
        }
        Ok(self.trust.get_or_insert_with(TrustSet::default))
    }

    /// A principal's facts, IAM's read at most once per invocation, with its revocation
    /// record (the ledger) and what the trust ledger holds for it now.
    pub(super) async fn facts_of(&mut self, target: &Target) -> Result<CallerFacts, PortError> {
        let r = self.revoker;
        let iam = match self.facts.get(target) {
            Some(f) => f.clone(),
            None => {
                let mut f = r.port.facts(target).await?;
                if let CallerFacts::Found(facts) = &mut f {
                    let key = record_key(target, facts.unique_id.as_deref());
                    facts.revocation = r.port.revocation(&r.env.account_id, &key).await?;
                    // The policies are read when there is something to resume: a record
                    // in the ledger, or the convenience tags (the adapter read them then).
                    if facts.revocation.is_some() && !facts.tags.contains_key(tags::REVOKED_AT) {
                        let (attached, inline) = r.port.policies(target).await?;
                        facts.attached_policies = attached;
                        facts.inline_policies = inline;
                    }
                }
                self.facts.insert(target.clone(), f.clone());
                f
            }
        };
        Ok(match iam {
            CallerFacts::Found(mut f) => {
                let set = self.trust_set().await?;
                f.trusted = set.of(target.kind, &target.name);
                f.listed = set.listed_as(f.unique_id.as_deref());
                CallerFacts::Found(f)
            }
            other => other,
        })
    }

    /// IAM's facts about a grantee, with the ledger's trust, when the trust ledger holds
    /// it at all or EXEMPT_PRINCIPALS names it (otherwise it cannot be a trusted admin or
    /// exempt principal, and IAM is not asked): the batch's facts when it has them, else IAM's alone (the revocation
    /// record is not needed to guard, and such facts are not kept for decisions).
    pub(super) async fn guard_facts(
        &mut self,
        kind: EntityKind,
        name: &str,
    ) -> Result<Option<Facts>, PortError> {
        let trusted = self.trust_set().await?.of(kind, name);
        if trusted.is_empty()
            && !crate::containment::named_in_list(kind, name, &self.revoker.config)
        {
            return Ok(None);
        }
        let target = Target {
            kind,
            name: name.to_owned(),
            arn: String::new(),
        };
        let iam = match self.facts.get(&target) {
            Some(f) => f.clone(),
            None => self.revoker.port.facts(&target).await?,
        };
        let set = self.trust_set().await?;
        Ok(match iam {
            CallerFacts::Found(mut f) => {
                f.trusted = trusted;
                f.listed = set.listed_as(f.unique_id.as_deref());
                Some(f)
            }
            _ => None,
        })
    }

    pub(super) fn update_facts(&mut self, target: &Target, change: impl FnOnce(&mut Facts)) {
        if let Some(CallerFacts::Found(f)) = self.facts.get_mut(target) {
            change(f);
        }
    }

    /// Facts read before an action of the tool changed them are read again.
    pub(super) fn forget_facts(&mut self, action: &Action) {
        let subject = action.subject();
        self.facts
            .retain(|t, _| crate::action::actor_key(t.kind, &t.name) != subject);
    }
}
