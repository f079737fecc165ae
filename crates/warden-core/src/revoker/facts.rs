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

use super::keys;
use super::minted::Attribution;
use super::state::{Invocation, Revoker};
use crate::decision::{decide, Step};
use crate::event::Event;

impl<P: RevokerPorts> Revoker<P> {
    /// The account's trust ledger as read, or an empty one when no baseline exists.
    pub(super) fn trust_or_empty(&self, set: Option<TrustSet>) -> TrustSet {
        set.unwrap_or_else(|| TrustSet {
            account: self.env.account_id.clone(),
            ..TrustSet::default()
        })
    }

    /// IAM's facts about `target`, with its revocation record. The record is keyed by the
    /// principal's unique id: when the event gives it (`id`), the record is read alongside
    /// IAM's facts, one round trip instead of two, and kept only if IAM answers the same
    /// id (a principal that took the name since is read again, by its own).
    pub(super) async fn read_facts(
        &self,
        target: &Target,
        id: Option<&str>,
    ) -> Result<CallerFacts, PortError> {
        let account = &self.env.account_id;
        let (mut found, guessed) = match id {
            Some(id) => {
                let key = record_key(target, Some(id));
                // Boxed: the two SDK calls' futures are large, and a batch's futures
                // nest deep (Lambda polls them on one thread's stack).
                let (found, record) = futures_util::future::join(
                    Box::pin(self.port.facts(target)),
                    Box::pin(self.port.revocation(account, &key)),
                )
                .await;
                (found?, Some((id, record)))
            }
            None => (self.port.facts(target).await?, None),
        };
        if let CallerFacts::Found(facts) = &mut found {
            facts.revocation = match guessed {
                Some((id, record)) if facts.unique_id.as_deref() == Some(id) => record?,
                _ => {
                    let key = record_key(target, facts.unique_id.as_deref());
                    self.port.revocation(account, &key).await?
                }
            };
            // The policies are read when there is something to resume: a record in the
            // ledger, or the convenience tags (the adapter read them then).
            if facts.revocation.is_some() && !facts.tags.contains_key(tags::REVOKED_AT) {
                let (attached, inline) = self.port.policies(target).await?;
                facts.attached_policies = attached;
                facts.inline_policies = inline;
            }
        }
        Ok(found)
    }
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// The trust ledger, read once per invocation (empty when no baseline exists).
    pub(super) async fn trust_set(&mut self) -> Result<&TrustSet, PortError> {
        let r = self.revoker;
        if self.trust.is_none() {
            let set = r.port.trust_set(&r.env.account_id).await?;
            self.trust = Some(r.trust_or_empty(set));
        }
        Ok(self.trust.get_or_insert_with(TrustSet::default))
    }

    /// A principal's facts, IAM's read at most once per invocation, with its revocation
    /// record (the ledger) and what the trust ledger holds for it now.
    pub(super) async fn facts_of(&mut self, target: &Target) -> Result<CallerFacts, PortError> {
        self.facts_for(target, None).await
    }

    /// [`Self::facts_of`], the revocation record read alongside IAM's facts when the
    /// event gives the principal's unique id (`id`): see [`Revoker::read_facts`].
    pub(super) async fn facts_for(
        &mut self,
        target: &Target,
        id: Option<&str>,
    ) -> Result<CallerFacts, PortError> {
        let r = self.revoker;
        let iam = match self.facts.get(target) {
            Some(f) => f.clone(),
            None => {
                let f = r.read_facts(target, id).await?;
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

    /// The principal whose facts `event`'s decision will ask for, with the unique id the
    /// event gives it: none when this invocation has them or this process confirmed its
    /// revocation (one call then, not the facts).
    pub(super) fn facts_wanted(&self, event: &Event) -> Option<(Target, Option<String>)> {
        let r = self.revoker;
        let caller_id = event.record().and_then(keys::caller_id);
        match decide(event, None, &r.config, &r.env) {
            Step::LookUp(t) | Step::Verify(t, _) | Step::Resolve(t, _)
                if !self.facts.contains_key(&t)
                    && r.confirmed(&t, caller_id.as_deref()).is_none() =>
            {
                Some((t, caller_id))
            }
            _ => None,
        }
    }

    /// The facts the event's decision will ask for, read while its credential's maker is
    /// looked up (the two are independent): the caller's, unless this invocation has them
    /// or this process confirmed its revocation (one call then, not the facts). What it
    /// reads is kept for the decision; a failure fails the event, as the decision's own
    /// read would.
    pub(super) async fn attribution_with_facts(
        &mut self,
        event: &Event,
    ) -> Result<Attribution, PortError> {
        let r = self.revoker;
        let (wanted, caller_id) = match self.facts_wanted(event) {
            Some((t, id)) => (Some(t), id),
            None => (None, None),
        };
        let read = Box::pin(async {
            match &wanted {
                Some(t) => Some(r.read_facts(t, caller_id.as_deref()).await),
                None => None,
            }
        });
        let (attribution, read) =
            futures_util::future::join(Box::pin(self.attribution(event)), read).await;
        let attribution = attribution?;
        if let (Some(target), Some(facts)) = (wanted, read) {
            self.facts.insert(target, facts?);
        }
        Ok(attribution)
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
