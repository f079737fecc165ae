//! The batch's denies first: before any event of a batch is carried out in full (its
//! record, notice, tags, containment), the deny of each caller its leading events
//! revoke is put in place, in their order. A batch's last revocation no longer waits
//! for everything done because of the ones before it: the attacker's window is the
//! reads that decide and the attach, not the whole batch.
//!
//! Only what `process` would do first is done ahead, on the same decision: an event
//! whose carrying out could change a later decision (trust given or taken, the admin
//! group renamed, the tool tampered with, a credential another principal made, a
//! deferral) stops it, and so does any failure. `process` then carries each event out
//! in order, finding each deny put ahead in place and its record written, and notifies
//! it with the decision it was put in place on.

use std::time::SystemTime;

use tracing::{info, warn};

use crate::decision::{Decision, Verdict};
use crate::error::DomainError;
use crate::event::Event;
use crate::ports::RevokerPorts;
use crate::principal::Target;

use super::keys::event_key;
use super::minted::Attribution;
use super::state::Invocation;

/// Why the denies put ahead stopped before the batch's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AheadStop {
    /// Every event was looked at.
    End,
    /// An event whose carrying out could change a later decision.
    Changes,
    /// A credential another principal made, or one whose maker is not known yet.
    Credential,
    /// A decision the batch must wait for (deferred).
    Waits,
    /// A read or the deny failed: the event fails with it in its turn.
    Failed,
    /// The invocation's time to start messages is over.
    Deadline,
}

/// What [`Invocation::deny_ahead`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ahead {
    /// Denies put in place (and recorded) ahead of their events' turn.
    pub denied: usize,
    /// Events looked at.
    pub looked_at: usize,
    pub stopped: AheadStop,
}

/// Whether carrying `verdict` out could change how a later event is decided: only
/// trust given or taken, the tool's own resources and the canary (each carried out by
/// `process` in order) do, besides a revocation itself.
fn changes_later_decisions(
    event: &Event,
    verdict: &Verdict,
    config: &crate::config::Config,
) -> bool {
    let record = event.record();
    verdict.marks.canary
        || verdict.marks.tampering.is_some()
        || verdict.found_grant.is_some()
        || record.is_some_and(|r| {
            crate::grant::grant_of(r, config).is_some()
                || crate::admin_group::renames_admin_group(r, &config.admin_group)
        })
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Puts in place, in order, the deny of every caller the batch's leading `events`
    /// revoke, until one of them could change a later decision, a failure, or
    /// `start_by` (the invocation's time to start messages). Each deny put ahead is
    /// recorded as [`Self::process`] records it, and its decision kept for `process`,
    /// which then carries the event out from there. Never an error: a failure is kept
    /// for its event's turn, and whatever else stops it is met again by `process`, in
    /// the batch's order.
    pub async fn deny_ahead<'e>(
        &mut self,
        events: impl IntoIterator<Item = &'e Event>,
        start_by: Option<SystemTime>,
    ) -> Ahead {
        let mut ahead = Ahead {
            denied: 0,
            looked_at: 0,
            stopped: AheadStop::End,
        };
        let events: Vec<&Event> = events.into_iter().collect();
        if start_by.is_none_or(|t| SystemTime::now() < t) {
            self.read_together(&events).await;
        }
        for event in events {
            if start_by.is_some_and(|t| SystemTime::now() >= t) {
                ahead.stopped = AheadStop::Deadline;
                break;
            }
            ahead.looked_at += 1;
            match self.deny_one_ahead(event).await {
                Ok(Some(true)) => ahead.denied += 1,
                Ok(Some(false)) => {}
                Ok(None) => {
                    ahead.stopped = AheadStop::Changes;
                    break;
                }
                Err(stop) => {
                    ahead.stopped = stop;
                    break;
                }
            }
        }
        if ahead.denied > 0 {
            info!(
                denied = ahead.denied,
                looked_at = ahead.looked_at,
                stopped = ?ahead.stopped,
                "denies put in place ahead of the batch's notices and containment"
            );
        }
        ahead
    }

    /// The reads that decide the batch's events, made together in one round instead of
    /// one event after the other: the trust ledger, each caller's facts and revocation
    /// record, and who made each access key they called with. What is read is kept for
    /// the decisions (each read once per batch, as before); a failed read is the failure
    /// of the first event that asked for it, met in its turn (the SDK's retries are not
    /// spent twice).
    async fn read_together(&mut self, events: &[&Event]) {
        let r = self.revoker;
        // Each caller once, with the first event that asks for it.
        let mut wanted: Vec<(Target, Option<String>, &Event)> = Vec::new();
        for event in events {
            if let Some((t, caller_id)) = self.facts_wanted(event) {
                if !wanted.iter().any(|(w, _, _)| *w == t) {
                    wanted.push((t, caller_id, event));
                }
            }
        }
        let trust = Box::pin(async {
            match self.trust {
                Some(_) => None,
                None => Some(r.port.trust_set(&r.env.account_id).await),
            }
        });
        let facts = futures_util::future::join_all(
            wanted
                .iter()
                .map(|(t, id, _)| Box::pin(r.read_facts(t, id.as_deref()))),
        );
        // Who made each credential, once per credential (settled makers are kept by the
        // process: the loop below finds them).
        let mut credentials = std::collections::HashSet::new();
        let making: Vec<&Event> = events
            .iter()
            .copied()
            .filter(|e| {
                e.record()
                    .and_then(crate::minted::credential_of)
                    .is_some_and(|c| credentials.insert(c))
            })
            .collect();
        let makers =
            futures_util::future::join_all(making.iter().map(|e| Box::pin(self.attribution(e))));
        let (trust, facts, makers) = futures_util::future::join3(trust, facts, makers).await;
        if let Some(Ok(set)) = trust {
            self.trust = Some(r.trust_or_empty(set));
        }
        for ((target, _, event), read) in wanted.into_iter().zip(facts) {
            match read {
                Ok(f) => {
                    self.facts.insert(target, f);
                }
                Err(e) => self.failed_together(event, e),
            }
        }
        for (event, made) in making.iter().zip(makers) {
            if let Err(e) = made {
                self.failed_together(event, e);
            }
        }
    }

    /// A read failed for `event` (the first that asked for it): the event's own failure,
    /// met in its turn without being made again.
    fn failed_together(&mut self, event: &Event, error: crate::ports::PortError) {
        warn!(%error, "a read that decides failed: the event fails with it in its turn");
        self.ahead
            .entry(event_key(event))
            .or_insert(Err(DomainError::Port(error)));
    }

    /// One event: `Some(true)` its caller denied ahead, `Some(false)` nothing to do
    /// ahead (the next event may go on), `None` an event that stops the denies ahead.
    async fn deny_one_ahead(&mut self, event: &Event) -> Result<Option<bool>, AheadStop> {
        let r = self.revoker;
        if matches!(self.ahead.get(&event_key(event)), Some(Err(_))) {
            return Err(AheadStop::Failed);
        }
        if event
            .record()
            .is_some_and(|rec| crate::admin_group::renames_admin_group(rec, &r.config.admin_group))
        {
            return Ok(None);
        }
        match self.attribution_with_facts(event).await {
            Ok(Attribution::Own) => {}
            Ok(Attribution::Maker(..)) => return Err(AheadStop::Credential),
            Ok(Attribution::Wait(..)) => return Err(AheadStop::Credential),
            Err(e) => return Err(self.failed_ahead(event, e.into())),
        }
        let mut verdict = match self.verdict(event).await {
            Ok(v) => v,
            Err(e) => return Err(self.failed_ahead(event, e)),
        };
        if changes_later_decisions(event, &verdict, &r.config) {
            return Ok(None);
        }
        match verdict.decision {
            Decision::Deferred => Err(AheadStop::Waits),
            Decision::Revoked => {
                let fresh = verdict.revocation.as_ref().is_some_and(|rev| !rev.resume);
                match self.revoke(event, &mut verdict).await {
                    Ok(Some(_)) if fresh => {
                        if let Some(rev) = verdict.revocation.as_mut() {
                            rev.resume = true;
                        }
                        self.ahead.insert(event_key(event), Ok(verdict));
                        Ok(Some(true))
                    }
                    // Another's revocation not finished: `process` finishes it.
                    Ok(Some(_)) => Ok(Some(false)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(self.failed_ahead(event, e.into())),
                }
            }
            Decision::Ignored
            | Decision::Alerted
            | Decision::Exempt
            | Decision::AlreadyRevoked
            | Decision::WouldRevoke => Ok(Some(false)),
        }
    }

    /// A failure met ahead is the event's own: its turn fails with it at once (the
    /// SDK's retries were spent on it already; the handler defers or retries the event
    /// as it would have).
    fn failed_ahead(&mut self, event: &Event, error: DomainError) -> AheadStop {
        warn!(%error, "stopped putting denies ahead: the event fails in its turn");
        self.ahead.insert(event_key(event), Err(error));
        AheadStop::Failed
    }

    /// What was met ahead of `event`'s turn, taken: the decision its caller's deny was
    /// put in place on (the event is carried out on it, and its notice tells why), or
    /// the failure the event fails with.
    pub(super) fn take_ahead(&mut self, event: &Event) -> Option<Result<Verdict, DomainError>> {
        if self.ahead.is_empty() {
            return None;
        }
        self.ahead.remove(&event_key(event))
    }
}
