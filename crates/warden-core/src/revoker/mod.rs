//! The revoker's work, shared by the Lambda and `warden replay`/`consume`: decide, then
//! carry out the decision through the ports. Read this file first: [`Invocation::process`]
//! decides one event (the look-up loop around the pure [`decide`]), and `carry_out` carries
//! the verdict out in its order: tampering, trust, the deny, containment, one notice.
//!
//! One file per idea, each with its own `impl` block of [`Invocation`]:
//! - `ahead`: a batch's denies put in place first, before any event is carried out;
//! - `fleet`: where each event is decided (this account, or its member account);
//! - `state`: what the process and one invocation remember;
//! - `keys`: how events and notices are keyed in the records;
//! - `facts`: IAM's facts and the trust ledger, read at most once per invocation;
//! - `tamper`: the tool's own policies verified and repaired, tampering notified;
//! - `deny`: the deny put in place (managed, inline, boundary) and recorded;
//! - `contain`: what the caller made, contained; each action recorded before it is taken;
//! - `grants`: grants looked up in CloudTrail, trust changed, escalations undone;
//! - `minted`: whose call it is, when another principal made the caller's credential;
//! - `session`: a role session revoked alone (ROLE_MODE=session);
//! - `source`: a revoked session traced to the call that issued it, its source stopped;
//! - `notify`: the notices, each sent once;
//! - `restore`: `warden restore`.

mod ahead;
mod contain;
mod deny;
mod facts;
mod fleet;
mod grants;
mod keys;
mod minted;
mod notify;
mod restore;
mod session;
mod source;
mod state;
mod tamper;

pub use ahead::{Ahead, AheadStop};
pub use fleet::{start_up, Blocked, Fleet, Held, Lanes};
pub use restore::{restore, restore_session, RestoreReport};
pub use state::{Invocation, Outcome, Patience, Revoker};

use chrono::Utc;
use tracing::warn;

use crate::containment::Contained;
use crate::containment_plan;
use crate::decision::{confirmed, decide, Decision, Step, Verdict};
use crate::error::DomainError;
use crate::event::Event;
use crate::facts::CallerFacts;
use crate::notice::{self, NoticeKind};
use crate::ports::{PortError, RevokerPorts};
use crate::principal::Target;
use crate::revocation::Method;

use self::keys::{event_key, principal_of};
use self::minted::Attribution;

/// One event's line: what was decided, why, and what was done besides the deny.
fn outcome(event: &Event, verdict: &Verdict, actions: Vec<String>) -> Outcome {
    Outcome {
        event_id: event.event_id().map(str::to_owned),
        event_name: event.event_name().map(str::to_owned),
        principal: principal_of(event, verdict),
        decision: verdict.decision,
        reason: verdict.reason.clone(),
        actions,
        defer_seconds: verdict.defer.map(|d| d.as_secs()),
    }
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Decides on one event and, unless `dry_run`, carries the decision out. A call
    /// made with a credential another principal made for its user is decided as that
    /// maker's when the maker may not make it ([`crate::minted`]).
    ///
    /// An error is never a decision: the caller retries the event later.
    pub async fn process(&mut self, event: &Event, dry_run: bool) -> Result<Outcome, DomainError> {
        if !dry_run {
            self.put_back_admin_group(event).await?;
            // Its caller denied ahead of its turn: carried out on that decision (or
            // failed as it failed ahead).
            if let Some(ahead) = self.take_ahead(event) {
                return self.finish_own(event, ahead?).await;
            }
        }
        match self.attribution_with_facts(event).await? {
            Attribution::Own => {}
            Attribution::Wait(wait, why) => {
                // Only a trusted or self-service call waits for its maker: stopping its
                // caller never waits (its maker is decided by its own making call).
                let verdict = self.verdict(event).await?;
                if matches!(verdict.decision, Decision::Exempt | Decision::Ignored) {
                    let mut waiting = crate::decision::Verdict::new(
                        Decision::Deferred,
                        format!("{why} ({})", verdict.reason),
                    );
                    waiting.defer = Some(wait);
                    return Ok(outcome(event, &waiting, Vec::new()));
                }
                return self.finish(event, verdict, dry_run).await;
            }
            Attribution::Maker(made, why) => {
                let mut verdict = self.verdict(&made).await?;
                // A maker who may make the call: the call is its user's own after all.
                if matches!(
                    verdict.decision,
                    Decision::Revoked
                        | Decision::WouldRevoke
                        | Decision::AlreadyRevoked
                        | Decision::Deferred
                ) {
                    verdict.reason = format!("{why}; {}", verdict.reason);
                    return self.finish(&made, verdict, dry_run).await;
                }
            }
        }
        let verdict = self.verdict(event).await?;
        if dry_run {
            return self.finish(event, verdict, dry_run).await;
        }
        self.finish_own(event, verdict).await
    }

    /// Carries out the decision on the caller's own call, then follows a revoked or
    /// trusted session to its source.
    async fn finish_own(
        &mut self,
        event: &Event,
        verdict: Verdict,
    ) -> Result<Outcome, DomainError> {
        let mut out = self.finish(event, verdict, false).await?;
        self.stop_source(event, &mut out).await?;
        self.trusted_session_source(event, &mut out).await?;
        Ok(out)
    }

    /// The decision on `event`: the look-ups it asks for, or one call when this process
    /// revoked its caller before.
    async fn verdict(&mut self, event: &Event) -> Result<Verdict, DomainError> {
        let r = self.revoker;
        Ok(match decide(event, None, &r.config, &r.env) {
            Step::Done(v) => v,
            Step::LookUp(target) | Step::Verify(target, _) | Step::Resolve(target, _) => {
                // Revoked by this process before: one call per batch to confirm the
                // deny is still there, instead of reading the facts (a restore is seen
                // by the next batch).
                if !self.facts.contains_key(&target) {
                    let caller_id = event.record().and_then(keys::caller_id);
                    if let Some(method) = r.confirmed(&target, caller_id.as_deref()) {
                        if self.present.contains(&target)
                            || r.port.deny_present(&target, method, &r.config).await?
                        {
                            self.present.insert(target.clone());
                            return Ok(confirmed(event, &target, method, &r.config, &r.env));
                        }
                        r.set_confirmed(&target, None, None);
                    }
                }
                self.decide_with_facts(event, &target).await?
            }
        })
    }

    /// Records the canary's arrival, or carries the decision out (unless `dry_run`).
    async fn finish(
        &mut self,
        event: &Event,
        mut verdict: Verdict,
        dry_run: bool,
    ) -> Result<Outcome, DomainError> {
        let r = self.revoker;
        if verdict.decision == Decision::Deferred {
            return Ok(outcome(event, &verdict, Vec::new()));
        }
        if let Some(record) = event.record().filter(|_| verdict.marks.canary) {
            if !dry_run {
                let made_at = record
                    .event_time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
                r.port
                    .canary_arrived(&r.env.account_id, made_at, Utc::now())
                    .await?;
            }
            return Ok(outcome(event, &verdict, Vec::new()));
        }
        let actions = self.carry_out(event, &mut verdict, dry_run).await?;
        Ok(outcome(event, &verdict, actions))
    }

    /// Carries out a decision: tampering noticed, trust applied (an escalation undone),
    /// the deny, the containment of what the call made, then one notice. Returns what
    /// was done besides the deny, for people.
    async fn carry_out(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
        dry_run: bool,
    ) -> Result<Vec<String>, PortError> {
        if dry_run {
            return Ok(Vec::new());
        }
        self.tampering(event, verdict).await?;
        let escalation = self.apply_trust(event, verdict).await?;
        // Its change of trust is not in CloudTrail yet: the event waits for it, nothing
        // else done (the tampering notice, if any, is sent once).
        if verdict.decision == Decision::Deferred {
            return Ok(Vec::new());
        }
        let revoked = match verdict.decision {
            Decision::Revoked => self.revoke(event, verdict).await?,
            _ => None,
        };
        // A permanent failure of the containment (the ledger refusing its record, say)
        // never holds up the revocation's notice: it is said in it.
        let containment = match self
            .contain_call(event, verdict, escalation.is_some())
            .await
        {
            Ok(c) => c,
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => {
                warn!(error = %e, "containment failed for good");
                event.record().map(|record| {
                    containment_plan::failed(record, event_key(event), &e.to_string())
                })
            }
        };
        let contained = containment.as_ref().is_some_and(|c| !c.planned_only);
        match (
            notice::kind(
                revoked.is_some(),
                verdict.decision,
                escalation.is_some(),
                contained,
            ),
            revoked,
        ) {
            (NoticeKind::Revocation, Some(revoked)) => {
                self.notify_revocation(
                    event,
                    verdict,
                    revoked,
                    escalation.as_ref(),
                    containment.as_ref(),
                )
                .await?
            }
            (NoticeKind::Alert, _) => self.alert(event, verdict, containment.as_ref()).await?,
            _ => {
                self.notify_undone(event, verdict, escalation.as_ref(), containment.as_ref())
                    .await?
            }
        }
        let mut actions: Vec<String> = escalation
            .iter()
            .flat_map(|e| {
                e.actions.iter().map(|a| {
                    if e.planned_only {
                        format!("would have {a}")
                    } else {
                        a.to_string()
                    }
                })
            })
            .collect();
        actions.extend(containment.iter().flat_map(Contained::lines));
        Ok(actions)
    }

    /// The table with facts, and with the look-up of unverified statuses' grants when
    /// it asks for them.
    async fn decide_with_facts(
        &mut self,
        event: &Event,
        target: &Target,
    ) -> Result<Verdict, DomainError> {
        let r = self.revoker;
        let caller_id = event.record().and_then(keys::caller_id);
        let mut facts = self.facts_for(target, caller_id.as_deref()).await?;
        loop {
            self.with_session(event, &mut facts).await?;
            match decide(event, Some(&facts), &r.config, &r.env) {
                Step::Done(verdict) => {
                    self.note_confirmed(target, &verdict, &facts);
                    return Ok(verdict);
                }
                Step::Verify(target, statuses) => {
                    let CallerFacts::Found(f) = &mut facts else {
                        return Err(DomainError::AskedTwice);
                    };
                    if statuses.iter().any(|s| f.verified.contains_key(s)) {
                        return Err(DomainError::AskedTwice);
                    }
                    for status in statuses {
                        let found = self.find_grant(event, &target, status).await?;
                        if let CallerFacts::Found(f) = &mut facts {
                            f.verified.insert(status, found);
                        }
                    }
                }
                Step::Resolve(named, id) => {
                    let found = r.port.find_by_id(named.kind, &id).await?;
                    facts = match (found, &facts) {
                        // Renamed: the caller under its new name.
                        (Some(current), _) if current.name != named.name => {
                            match self.facts_of(&current).await? {
                                CallerFacts::Found(mut f) => {
                                    f.renamed = Some(current);
                                    CallerFacts::Found(f)
                                }
                                _ => CallerFacts::Vanished,
                            }
                        }
                        (Some(_), CallerFacts::Found(f)) => {
                            // Its name and id agree after all (read in between): as found.
                            let mut f = f.clone();
                            f.renamed = Some(named);
                            CallerFacts::Found(f)
                        }
                        (_, CallerFacts::Found(_)) => CallerFacts::NameReused,
                        _ => CallerFacts::Vanished,
                    };
                }
                Step::LookUp(_) => return Err(DomainError::AskedTwice),
            }
        }
    }

    /// A complete revocation found in IAM (deny attached, notice sent): later events of
    /// the principal cost one call.
    fn note_confirmed(&self, target: &Target, verdict: &Verdict, facts: &CallerFacts) {
        let r = self.revoker;
        if let (Decision::AlreadyRevoked, CallerFacts::Found(f)) = (verdict.decision, facts) {
            // The ledger's record, never the tags (the caller's to write).
            let notified = f.revocation.as_ref().is_some_and(|r| r.notified);
            if notified && f.attached_policies.contains(&r.config.deny_policy_arn) {
                r.set_confirmed(target, Some(Method::Managed), f.unique_id.as_deref());
            } else if notified && f.inline_policies.contains(&r.config.inline_policy_name) {
                r.set_confirmed(target, Some(Method::Inline), f.unique_id.as_deref());
            }
        }
    }
}
