//! Trust carried out: an unverified status's grant looked up (the event, then CloudTrail),
//! the ledger changed by those who may grant (once CloudTrail confirms the queued event),
//! and an escalation undone.

use std::time::{Duration, Instant};

use chrono::Utc;

use tracing::warn;

use crate::action::ESCALATION;
use crate::config::Mode;
use crate::confirm::{self, Confirmation};
use crate::decision::{Decision, Verdict};
use crate::event::{CloudTrailRecord, Event};
use crate::facts::{CallerFacts, Facts};
use crate::grant::{self, Escalation, Grant, TrustOutcome, TrustStep};
use crate::notice;
use crate::ports::{PortError, RevokerPorts};
use crate::principal::{Principal, Target};
use crate::trust::{self, LedgerChange, Provenance, Status, TrustSet, Verification};

use super::state::{Invocation, Patience};
use super::tamper::TAMPERING;

/// How long a CloudTrail look-up is reused (LookupEvents allows two requests a second).
const TRAIL_CACHE: Duration = Duration::from_secs(60);

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Looks for the grant of `status` to `target`: the event itself, then CloudTrail.
    pub(super) async fn find_grant(
        &mut self,
        event: &Event,
        target: &Target,
        status: Status,
    ) -> Result<Verification, PortError> {
        let r = self.revoker;
        let wanted = Grant::Give {
            status,
            kind: target.kind,
            name: target.name.clone(),
        };
        // The event itself: a grant to its caller, or (for admin) a group of the
        // caller's made the admin group.
        let mut found: Option<CloudTrailRecord> = event
            .record()
            .filter(|rec| match grant::grant_of(rec, &r.config) {
                Some(Grant::GroupBecomesAdmin { .. }) => status == Status::Admin,
                other => other.as_ref() == Some(&wanted),
            })
            .cloned();
        if found.is_none() {
            let mut records = Vec::new();
            for call in status.grant_calls(target.kind) {
                match self.lookup(call, grant::GRANT_LOOKBACK).await {
                    Ok(found) => records.extend(found),
                    // Only this event waits for CloudTrail (attack 16): never the batch.
                    Err(e) if e.is_transient() => {
                        return Ok(Verification::Unanswered {
                            wait: self.wait_left(event).map(|w| w.min(trust::LOOKUP_RETRY)),
                            why: e.to_string(),
                        })
                    }
                    Err(e) => return Err(e),
                }
            }
            found = grant::latest_grant(&records, status, target, &r.config).cloned();
        }
        let Some(grant) = found else {
            return Ok(Verification::NotFound {
                wait: self.wait_left(event),
            });
        };
        let authorized = self.may_grant(&grant).await?;
        Ok(Verification::Granted {
            by: grant::actor(&grant),
            event_id: grant.event_id.clone().unwrap_or_default(),
            authorized,
        })
    }

    /// How long `event` may still wait for CloudTrail (its grant, or its own record): up
    /// to TRUST_WAIT_SECONDS from its time, to the end of a replay's run, or no longer.
    pub(super) fn wait_left(&self, event: &Event) -> Option<Duration> {
        match self.patience {
            Patience::Clock => trust::wait_left(
                event.record().and_then(|rec| rec.event_time.as_deref()),
                Utc::now(),
                self.revoker.config.trust_wait,
            ),
            Patience::EndOfRun => Some(Duration::ZERO),
            Patience::Done => None,
        }
    }

    /// Whether the event's own change of trust may be applied: CloudTrail has the same
    /// call under its id (a queued message alone is a claim anyone with
    /// `sqs:SendMessage` could make). Not yet there: the event waits for it (deferred;
    /// nothing else was done) unless its caller is being revoked, whose revocation never
    /// waits (the change is then left unapplied: IAM already has it, and trust also needs
    /// IAM's membership or tag). Refused: never applied, and said once.
    async fn confirmed_in_trail(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
    ) -> Result<bool, PortError> {
        let r = self.revoker;
        let (Some(record), Some(id)) = (event.record(), event.event_id()) else {
            return Ok(false);
        };
        let found = match r.port.event(id).await {
            Ok(found) => found,
            // CloudTrail did not answer (attack 16): this event alone waits, asked again
            // sooner; after the wait the change is not applied, and nothing says forged.
            Err(e) if e.is_transient() => {
                return match self.wait_left(event) {
                    Some(wait) if verdict.decision != Decision::Revoked => {
                        wait_for_trail(
                            verdict,
                            &format!("CloudTrail did not answer the look-up of its change of trust ({e}): asking again"),
                            wait,
                        );
                        Ok(false)
                    }
                    _ => {
                        warn!(event_id = id, error = %e, "CloudTrail did not answer: a change of trust not applied");
                        Ok(false)
                    }
                };
            }
            Err(e) => return Err(e),
        };
        match confirm::confirmation(record, found.as_ref(), self.wait_left(event)) {
            Confirmation::Confirmed => Ok(true),
            Confirmation::Pending(wait) if verdict.decision != Decision::Revoked => {
                // CloudTrail's history usually lags its delivery by seconds.
                wait_for_trail(
                    verdict,
                    "its change of trust is not in CloudTrail yet: waiting for it",
                    wait,
                );
                Ok(false)
            }
            Confirmation::Pending(_) => {
                warn!(
                    event_id = id,
                    "a revoked caller's change of trust is not in CloudTrail yet: not applied"
                );
                Ok(false)
            }
            Confirmation::Refused(why) => {
                let what = format!(
                    "a change of trust in iam-warden's queue ({} by {}) that CloudTrail does not have as queued ({why}): not applied. A forged event? Only EventBridge's rules may write the queue.",
                    record.event_name.as_deref().unwrap_or("?"),
                    grant::actor(record),
                );
                r.notify_once(TAMPERING, event, &format!("{id}/unconfirmed"), || {
                    notice::for_tampering(Some(event), &what, &r.env)
                })
                .await?;
                Ok(false)
            }
        }
    }

    /// CloudTrail's records of one call over the last `lookback`, reused for
    /// [`TRAIL_CACHE`] (per call and lookback).
    pub(super) async fn lookup(
        &self,
        call: &str,
        lookback: chrono::TimeDelta,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let r = self.revoker;
        let key = format!("{call}/{}", lookback.num_seconds());
        {
            let cache = r.trail.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, records)) = cache.get(&key) {
                if at.elapsed() < TRAIL_CACHE {
                    return Ok(records.clone());
                }
            }
        }
        let records = r.port.lookup(call, Utc::now() - lookback).await?;
        let mut cache = r.trail.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(key, (Instant::now(), records.clone()));
        Ok(records)
    }

    /// Whether the caller of `record` may grant trust (a trusted admin, or listed).
    async fn may_grant(&mut self, record: &CloudTrailRecord) -> Result<bool, PortError> {
        let r = self.revoker;
        let caller = Principal::classify(record);
        let target = match &caller {
            Principal::IamUser(u) | Principal::FederatedUser { user: u, .. }
                if u.account_id == r.env.account_id =>
            {
                Some(Target::user(u))
            }
            Principal::AssumedRole { role, .. } | Principal::IdentityCenterRole { role, .. }
                if role.account_id == r.env.account_id =>
            {
                Some(Target::role(role))
            }
            _ => None,
        };
        let facts = match target {
            Some(target) => match self.facts_of(&target).await? {
                CallerFacts::Found(f) => Some(f),
                _ => None,
            },
            None => None,
        };
        Ok(grant::may_grant(&caller, facts.as_ref(), record, &r.config))
    }

    /// The trust work of a decided event: a grant found for an unverified status (into
    /// the ledger, or undone), and the event's own change of trust (into the ledger
    /// when its caller may grant or when it takes trust away; an escalation otherwise).
    pub(super) async fn apply_trust(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
    ) -> Result<Option<Escalation>, PortError> {
        let r = self.revoker;
        let Some(record) = event.record() else {
            return Ok(None);
        };
        let now = Utc::now();
        let planned_only = r.config.mode == Mode::Report;
        let mut seen_from_grantee = None;
        if let (Some(found), Some(target)) = (verdict.found_grant.clone(), verdict.target.clone()) {
            let grant = Grant::Give {
                status: found.status,
                kind: target.kind,
                name: target.name.clone(),
            };
            let same_event = found.event_id == event.event_id().unwrap_or_default();
            match grant::found_grant_outcome(found.authorized, same_event) {
                // The grant read from the message itself, not from CloudTrail: confirmed.
                TrustOutcome::Ledger
                    if same_event && !self.confirmed_in_trail(event, verdict).await? => {}
                TrustOutcome::Ledger => {
                    let provenance = Provenance::Grant {
                        by: found.by.clone(),
                        event_id: found.event_id.clone(),
                    };
                    let grantee_id = match self.facts.get(&target) {
                        Some(CallerFacts::Found(f)) => f.unique_id.clone(),
                        _ => None,
                    };
                    let changes = grant::ledger_changes(
                        &grant,
                        &provenance,
                        grantee_id.as_deref(),
                        &[],
                        &TrustSet::default(),
                        now,
                    );
                    self.change_trust(&changes).await?;
                }
                // An escalation seen from its grantee before its own event: undone now,
                // recorded under the granter; this event's notice tells it.
                TrustOutcome::Escalation => {
                    seen_from_grantee = Some(
                        self.undo_escalation(
                            &grant,
                            &found.by,
                            &found.event_id,
                            planned_only,
                            None,
                        )
                        .await?,
                    );
                }
                TrustOutcome::Nothing => {}
            }
        }
        let Some(grant) = grant::grant_of(record, &r.config) else {
            return Ok(seen_from_grantee);
        };
        let by_tool = r.env.is_tool(&Principal::classify(record));
        // The table asks for the grantee (as IAM has it now: its unique id binds the
        // trust) and for the caller's right to grant only when its row needs them.
        let mut grantee: Option<Option<Facts>> = None;
        let mut may_grant = None;
        let outcome = loop {
            match grant::trust_outcome(
                &grant,
                by_tool,
                grantee.as_ref().map(Option::as_ref),
                may_grant,
                &r.config,
            ) {
                TrustStep::Done(outcome) => break outcome,
                TrustStep::Grantee => grantee = Some(self.grantee_facts(&grant).await?),
                TrustStep::MayGrant => may_grant = Some(self.may_grant(record).await?),
            }
        };
        let by = grant::actor(record);
        let event_id = event.event_id().unwrap_or("unknown").to_owned();
        match outcome {
            TrustOutcome::Nothing => Ok(seen_from_grantee),
            TrustOutcome::Ledger if !self.confirmed_in_trail(event, verdict).await? => {
                Ok(seen_from_grantee)
            }
            TrustOutcome::Ledger => {
                let members = match &grant {
                    Grant::GroupBecomesAdmin { .. } => {
                        r.port.group_members(&r.config.admin_group).await?
                    }
                    _ => Vec::new(),
                };
                let current = self.trust_set().await?.clone();
                let grantee_id = grantee.flatten().and_then(|f| f.unique_id);
                let provenance = Provenance::Grant { by, event_id };
                let changes = grant::ledger_changes(
                    &grant,
                    &provenance,
                    grantee_id.as_deref(),
                    &members,
                    &current,
                    now,
                );
                self.change_trust(&changes).await?;
                Ok(seen_from_grantee)
            }
            TrustOutcome::Escalation => Ok(Some(
                self.undo_escalation(&grant, &by, &event_id, planned_only, Some(record))
                    .await?,
            )),
        }
    }

    /// The facts of a Give's grantee, as IAM has them now (`None`: no such principal, or
    /// not a Give).
    async fn grantee_facts(&mut self, grant: &Grant) -> Result<Option<Facts>, PortError> {
        let Grant::Give { kind, name, .. } = grant else {
            return Ok(None);
        };
        let target = Target {
            kind: *kind,
            name: name.clone(),
            arn: String::new(),
        };
        Ok(match self.facts_of(&target).await? {
            CallerFacts::Found(f) => Some(f),
            _ => None,
        })
    }

    /// Undoes an escalation `by` a caller (recorded under it before it is done), or, in
    /// MODE=report, only says what would be undone. `own_event`: the escalation is this
    /// event's (its caller's record says whether it was notified, also in MODE=report).
    async fn undo_escalation(
        &mut self,
        grant: &Grant,
        by: &str,
        event_id: &str,
        planned_only: bool,
        own_event: Option<&CloudTrailRecord>,
    ) -> Result<Escalation, PortError> {
        let r = self.revoker;
        let what = grant.describe(&r.config);
        let actions = grant::undo_escalation(grant, &r.config);
        if !planned_only {
            // The caller's unique id when this event is its own (restore puts back only
            // the records of the principal it restores).
            let caller_id = own_event.and_then(super::keys::caller_id);
            let session = own_event.and_then(super::keys::session_id);
            let whose = super::contain::Whose {
                caller: by,
                id: caller_id.as_deref(),
                session: session.as_deref(),
            };
            self.take_actions(whose, event_id, ESCALATION, &actions, &what, None)
                .await?;
        }
        let notified = match (planned_only, own_event.is_some()) {
            (true, false) => false,
            _ => r.port.notified(&r.env.account_id, by, event_id).await?,
        };
        Ok(Escalation {
            by: by.to_owned(),
            event_id: event_id.to_owned(),
            what,
            actions,
            planned_only,
            notified,
        })
    }

    async fn change_trust(&mut self, changes: &[LedgerChange]) -> Result<(), PortError> {
        if changes.is_empty() {
            return Ok(());
        }
        let r = self.revoker;
        r.port.change_trust(&r.env.account_id, changes).await?;
        let set = self.trust.get_or_insert_with(TrustSet::default);
        for change in changes {
            set.apply(change);
        }
        Ok(())
    }
}

/// The event waits for CloudTrail (deferred, nothing else done), asked again within
/// [`trust::LOOKUP_RETRY`] and at most `wait`.
fn wait_for_trail(verdict: &mut Verdict, why: &str, wait: Duration) {
    verdict.reason = format!("{why} ({})", verdict.reason);
    verdict.decision = Decision::Deferred;
    verdict.defer = Some(wait.min(trust::LOOKUP_RETRY));
}
