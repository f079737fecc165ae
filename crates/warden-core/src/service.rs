//! The revoker's code path, shared by the Lambda and `warden replay`: decide, then
//! carry out the decision through the ports.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::{info, warn};

use chrono::Utc;

use crate::action::{Action, ActionRecord, ActionState, CallerRecord};
use crate::action::{Credential, Holder};
use crate::config::Environment;
use crate::config::{tags, Config, Contain, Mode};
use crate::containment::{self, Contained, Known, Need, Plan};
use crate::decision::{decide, Decision, Step, Verdict};
use crate::event::{CloudTrailRecord, Event};
use crate::facts::{CallerFacts, Facts};
use crate::grant::{self, Escalation, Grant};
use crate::notice;
use crate::ports::Applied;
use crate::ports::PolicyCheck;
use crate::ports::{Authorizations, Notifier, PortError, RevokerPorts, TrustLedger};
use crate::principal::{EntityKind, Principal, Target};
use crate::revocation::Method;
use crate::revocation::{
    boundary_document, boundary_name, deny_everything_boundary, is_tool_boundary, record_key,
    RevocationRecord,
};
use crate::trust::{self, LedgerChange, Provenance, Status, TrustSet, Verification};
use crate::DENY_ALL_IAM_POLICY;

/// How far back a stopped caller's held self-service containments are released.
const HELD_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// How long a CloudTrail look-up is reused (LookupEvents allows two requests a second).
const TRAIL_CACHE: Duration = Duration::from_secs(60);

/// One line of `warden replay`, one log record of the Lambda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub principal: String,
    pub decision: Decision,
    pub reason: String,
    /// What iam-warden changed besides the deny (an escalation undone), for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// `deferred`: decide again after this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defer_seconds: Option<u64>,
}

/// Everything the revoker needs; built once per process (cold start).
pub struct Revoker<P> {
    port: P,
    config: Config,
    env: Environment,
    /// Last notice per (principal, event name), to send `alerted` / `would-revoke` at
    /// most once per ALERT_WINDOW_SECONDS. Kept per process: a warm Lambda container
    /// (the FIFO queue feeds one at a time) or one `warden replay` run.
    alerts: Mutex<HashMap<(String, String), Instant>>,
    /// Principals this process revoked and notified, or found fully revoked, with how:
    /// a later event of theirs costs one call (is the deny still there?) instead of
    /// the facts. Never trusted without that call: a restore elsewhere is seen.
    confirmed: Mutex<HashMap<Target, Method>>,
    /// CloudTrail look-ups by event name: when, since when, what.
    trail: Mutex<HashMap<String, (Instant, Vec<CloudTrailRecord>)>>,
}

/// How an unverified principal's event waits for its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Until `eventTime + TRUST_WAIT_SECONDS` (the Lambda: the event is deferred).
    Clock,
    /// Until the end of the run (`warden replay`'s first pass over a file).
    EndOfRun,
    /// Not at all (`warden replay`'s last pass: every grant has been seen).
    Done,
}

/// Per-invocation state: facts are looked up at most once per principal, the trust
/// ledger read at most once.
pub struct Batch<'a, P> {
    revoker: &'a Revoker<P>,
    /// IAM facts (without trust: that is filled in from `trust` at each decision).
    facts: HashMap<Target, CallerFacts>,
    trust: Option<TrustSet>,
    patience: Patience,
    /// The deny policy was verified in this invocation.
    deny_verified: bool,
    /// The quarantine policy was verified in this invocation.
    quarantine_verified: bool,
}

impl<P: RevokerPorts> Revoker<P> {
    pub fn new(port: P, config: Config, env: Environment) -> Self {
        Self {
            port,
            config,
            env,
            alerts: Mutex::new(HashMap::new()),
            confirmed: Mutex::new(HashMap::new()),
            trail: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn env(&self) -> &Environment {
        &self.env
    }

    pub fn port(&self) -> &P {
        &self.port
    }

    /// Starts an invocation (one SQS batch): unverified principals wait by the clock.
    pub fn batch(&self) -> Batch<'_, P> {
        self.batch_with(Patience::Clock)
    }

    pub fn batch_with(&self, patience: Patience) -> Batch<'_, P> {
        Batch {
            revoker: self,
            facts: HashMap::new(),
            trust: None,
            patience,
            deny_verified: false,
            quarantine_verified: false,
        }
    }

    fn confirmed(&self, target: &Target) -> Option<Method> {
        let c = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        c.get(target).copied()
    }

    fn set_confirmed(&self, target: &Target, method: Option<Method>) {
        let mut c = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        match method {
            Some(m) => c.insert(target.clone(), m),
            None => c.remove(target),
        };
    }

    fn alert_due(&self, key: &(String, String), window: Duration) -> bool {
        let alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        alerts.get(key).is_none_or(|at| at.elapsed() >= window)
    }

    fn alert_sent(&self, key: (String, String), window: Duration) {
        let mut alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        alerts.retain(|_, at| at.elapsed() < window);
        alerts.insert(key, Instant::now());
    }
}

impl<P: RevokerPorts> Batch<'_, P> {
    /// Decides on one event and, unless `dry_run`, carries the decision out.
    ///
    /// An error is never a decision: the caller retries the event later.
    pub async fn process(&mut self, event: &Event, dry_run: bool) -> Result<Outcome, PortError> {
        let r = self.revoker;
        let outcome = |verdict: &Verdict, actions: Vec<String>| Outcome {
            event_id: event.event_id().map(str::to_owned),
            event_name: event.event_name().map(str::to_owned),
            principal: principal_of(event, verdict),
            decision: verdict.decision,
            reason: verdict.reason.clone(),
            actions,
            defer_seconds: verdict.defer.map(|d| d.as_secs()),
        };
        let mut verdict = match decide(event, None, &r.config, &r.env) {
            Step::Done(v) => v,
            Step::LookUp(target) | Step::Verify(target, _) | Step::Resolve(target, _) => {
                // Revoked by this process before: one call to confirm the deny is
                // still there, instead of reading the facts.
                if !self.facts.contains_key(&target) {
                    if let Some(method) = r.confirmed(&target) {
                        if r.port.deny_present(&target, method, &r.config).await? {
                            let v = Verdict::new(
                                Decision::AlreadyRevoked,
                                format!(
                                    "{target} already has the {} deny (revoked by iam-warden, confirmed)",
                                    method.as_str()
                                ),
                            )
                            .about(&target);
                            let mut v = v;
                            let actions = self.finish(event, &mut v, dry_run).await?;
                            return Ok(outcome(&v, actions));
                        }
                        r.set_confirmed(&target, None);
                    }
                }
                self.decide_with_facts(event, &target).await?
            }
        };
        if verdict.decision == Decision::Deferred {
            return Ok(outcome(&verdict, Vec::new()));
        }
        if let Some(record) = event
            .record()
            .filter(|rec| crate::tamper::is_canary(rec, &r.config, &r.env))
        {
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
            return Ok(outcome(&verdict, Vec::new()));
        }
        let actions = self.finish(event, &mut verdict, dry_run).await?;
        Ok(outcome(&verdict, actions))
    }

    /// Carries out a decision: tampering noticed, trust applied (an escalation undone),
    /// the deny, the containment of what the call made, then one notice. Returns what
    /// was done besides the deny, for people.
    async fn finish(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
        dry_run: bool,
    ) -> Result<Vec<String>, PortError> {
        if dry_run {
            return Ok(Vec::new());
        }
        self.tampering(event).await?;
        let escalation = self.apply_trust(event, verdict).await?;
        let revoked = match verdict.decision {
            Decision::Revoked => self.revoke(event, verdict).await?,
            _ => None,
        };
        // A permanent failure of the containment (the ledger refusing its record, say)
        // never holds up the revocation's notice: it is said in it.
        let containment = match self.containment(event, verdict, escalation.is_some()).await {
            Ok(c) => c,
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => {
                warn!(error = %e, "containment failed for good");
                event.record().map(|record| Contained {
                    by: grant::actor(record),
                    event_id: event_key(event),
                    plan: Plan {
                        what: containment::describe(record),
                        note: Some(format!(
                            "containment failed for good ({e}): review the call by hand"
                        )),
                        review: true,
                        ..Plan::default()
                    },
                    states: Vec::new(),
                    planned_only: false,
                    notified: false,
                })
            }
        };
        match (revoked, verdict.decision) {
            (Some(revoked), _) => {
                self.notify_revocation(
                    event,
                    verdict,
                    revoked,
                    escalation.as_ref(),
                    containment.as_ref(),
                )
                .await?
            }
            (None, Decision::Alerted | Decision::WouldRevoke)
                if escalation.is_none() && containment.as_ref().is_none_or(|c| c.planned_only) =>
            {
                self.alert(event, verdict, containment.as_ref()).await?
            }
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

    /// An event that touched the tool's deny policy (it is verified and repaired now) or
    /// its roles (notified once, whoever made it).
    async fn tampering(&mut self, event: &Event) -> Result<(), PortError> {
        let r = self.revoker;
        let Some(record) = event.record() else {
            return Ok(());
        };
        let what = match crate::tamper::tampering_of(record, &r.config, &r.env) {
            Some(crate::tamper::Tampering::DenyPolicy) => {
                return self.verify_deny_policy(Some(event)).await
            }
            Some(crate::tamper::Tampering::QuarantinePolicy) => {
                return self.verify_quarantine_policy(Some(event)).await
            }
            Some(crate::tamper::Tampering::ToolRole(role)) => format!(
                "iam:{} on iam-warden's own role `{role}` (its trust or permissions)",
                record.event_name.as_deref().unwrap_or("?")
            ),
            None => match crate::tamper::pipeline_tampering(record, &r.config.tool) {
                Some(what) => format!(
                    "{}: {what} (iam-warden's own pipeline)",
                    record.event_source.as_deref().unwrap_or("?")
                ),
                None => return Ok(()),
            },
        };
        let event_id = event.event_id().unwrap_or("unknown");
        let scope = notice_scope("tampering", event);
        let seen = r.port.caller_record(&r.env.account_id, &scope).await?;
        if seen.is_some_and(|s| s.notified.contains(event_id)) || !r.port.enabled() {
            return Ok(());
        }
        r.port
            .publish(&notice::for_tampering(Some(event), &what, &r.env))
            .await?;
        r.port
            .mark_notified(&r.env.account_id, &scope, event_id)
            .await
    }

    /// The trust ledger, read once per invocation (empty when no baseline exists).
    async fn trust(&mut self) -> Result<&TrustSet, PortError> {
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
    async fn facts_of(&mut self, target: &Target) -> Result<CallerFacts, PortError> {
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
                f.trusted = self.trust().await?.of(target.kind, &target.name);
                CallerFacts::Found(f)
            }
            other => other,
        })
    }

    /// The table with facts, and with the look-up of unverified statuses' grants when
    /// it asks for them.
    async fn decide_with_facts(
        &mut self,
        event: &Event,
        target: &Target,
    ) -> Result<Verdict, PortError> {
        let r = self.revoker;
        let mut facts = self.facts_of(target).await?;
        loop {
            match decide(event, Some(&facts), &r.config, &r.env) {
                Step::Done(verdict) => {
                    self.note_confirmed(target, &verdict, &facts);
                    return Ok(verdict);
                }
                Step::Verify(target, statuses) => {
                    let CallerFacts::Found(f) = &mut facts else {
                        return Err(asked_twice());
                    };
                    if statuses.iter().any(|s| f.verified.contains_key(s)) {
                        return Err(asked_twice());
                    }
                    for status in statuses {
                        let found = self.verify(event, &target, status).await?;
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
                Step::LookUp(_) => return Err(asked_twice()),
            }
        }
    }

    /// A complete revocation found in IAM (deny attached, notice sent): later events of
    /// the principal cost one call.
    fn note_confirmed(&self, target: &Target, verdict: &Verdict, facts: &CallerFacts) {
        let r = self.revoker;
        if let (Decision::AlreadyRevoked, CallerFacts::Found(f)) = (verdict.decision, facts) {
            let notified = f.tags.contains_key(tags::EVENT_ID)
                && f.tags.get(tags::NOTIFIED) == f.tags.get(tags::EVENT_ID);
            if notified && f.attached_policies.contains(&r.config.deny_policy_arn) {
                r.set_confirmed(target, Some(Method::Managed));
            } else if notified && f.inline_policies.contains(&r.config.inline_policy_name) {
                r.set_confirmed(target, Some(Method::Inline));
            }
        }
    }

    /// Looks for the grant of `status` to `target`: the event itself, then CloudTrail.
    async fn verify(
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
            let since = Utc::now() - grant::GRANT_LOOKBACK;
            let mut records = Vec::new();
            for call in status.grant_calls(target.kind) {
                records.extend(self.lookup(call, since).await?);
            }
            found = grant::latest_grant(&records, status, target, &r.config).cloned();
        }
        let Some(grant) = found else {
            let wait = match self.patience {
                Patience::Clock => trust::wait_left(
                    event.record().and_then(|rec| rec.event_time.as_deref()),
                    Utc::now(),
                    r.config.trust_wait,
                ),
                Patience::EndOfRun => Some(Duration::ZERO),
                Patience::Done => None,
            };
            return Ok(Verification::NotFound { wait });
        };
        let authorized = self.may_grant(&grant).await?;
        Ok(Verification::Granted {
            by: grant::actor(&grant),
            event_id: grant.event_id.clone().unwrap_or_default(),
            authorized,
        })
    }

    /// CloudTrail's records of one call, reused for [`TRAIL_CACHE`].
    async fn lookup(
        &self,
        call: &str,
        since: chrono::DateTime<Utc>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let r = self.revoker;
        {
            let cache = r.trail.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, records)) = cache.get(call) {
                if at.elapsed() < TRAIL_CACHE {
                    return Ok(records.clone());
                }
            }
        }
        let records = r.port.lookup(call, since).await?;
        let mut cache = r.trail.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(call.to_owned(), (Instant::now(), records.clone()));
        Ok(records)
    }

    /// Whether the caller of `record` may grant trust (a trusted admin, or listed).
    async fn may_grant(&mut self, record: &CloudTrailRecord) -> Result<bool, PortError> {
        let r = self.revoker;
        let caller = Principal::classify(record);
        let facts = match &caller {
            Principal::IamUser(u) | Principal::FederatedUser { user: u, .. }
                if u.account_id == r.env.account_id =>
            {
                match self.facts_of(&Target::user(u)).await? {
                    CallerFacts::Found(f) => Some(f),
                    _ => None,
                }
            }
            _ => None,
        };
        Ok(grant::may_grant(&caller, facts.as_ref(), record, &r.config))
    }

    /// The trust work of a decided event: a grant found for an unverified status (into
    /// the ledger, or undone), and the event's own change of trust (into the ledger
    /// when its caller may grant or when it takes trust away; an escalation otherwise).
    async fn apply_trust(
        &mut self,
        event: &Event,
        verdict: &Verdict,
    ) -> Result<Option<Escalation>, PortError> {
        let r = self.revoker;
        let Some(record) = event.record() else {
            return Ok(None);
        };
        let now = Utc::now();
        let planned_only = r.config.mode == Mode::Report;
        let mut seen_from_grantee = None;
        if let (Some(found), Some(target)) = (&verdict.found_grant, &verdict.target) {
            let grant = Grant::Give {
                status: found.status,
                kind: target.kind,
                name: target.name.clone(),
            };
            if found.authorized {
                let provenance = Provenance::Grant {
                    by: found.by.clone(),
                    event_id: found.event_id.clone(),
                };
                let grantee_id = match self.facts.get(target) {
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
            } else if found.event_id != event.event_id().unwrap_or_default() {
                // An escalation seen from its grantee before its own event: undone now,
                // recorded under the granter; this event's notice tells it.
                let what = grant.describe(&r.config);
                let actions = grant::undo_escalation(&grant, &r.config);
                let record = if planned_only {
                    CallerRecord::default()
                } else {
                    self.contain(&found.by, &found.event_id, "", &actions, &what)
                        .await?
                        .0
                };
                seen_from_grantee = Some(Escalation {
                    by: found.by.clone(),
                    event_id: found.event_id.clone(),
                    what,
                    actions,
                    planned_only,
                    notified: record.notified.contains(&found.event_id),
                });
            }
        }
        let Some(grant) = grant::grant_of(record, &r.config) else {
            return Ok(seen_from_grantee);
        };
        let caller = Principal::classify(record);
        if r.env.is_tool(&caller) {
            return Ok(seen_from_grantee);
        }
        let by = grant::actor(record);
        let event_id = event.event_id().unwrap_or("unknown").to_owned();
        let provenance = Provenance::Grant {
            by: by.clone(),
            event_id: event_id.clone(),
        };
        if !grant.gives() {
            // Taking trust away always applies, whoever does it.
            let current = self.trust().await?.clone();
            let changes = grant::ledger_changes(&grant, &provenance, None, &[], &current, now);
            self.change_trust(&changes).await?;
            return Ok(seen_from_grantee);
        }
        // The grantee of a Give, as IAM has it now (its unique id binds the trust).
        let grantee = match &grant {
            Grant::Give { kind, name, .. } => {
                let target = Target {
                    kind: *kind,
                    name: name.clone(),
                    arn: String::new(),
                };
                match self.facts_of(&target).await? {
                    CallerFacts::Found(f) => Some(f),
                    _ => None,
                }
            }
            _ => None,
        };
        // Giving a status to a principal already trusted for it changes nothing: never
        // an escalation to undo (it would take trust from an admin or exempt principal).
        if let (Grant::Give { status, kind, name }, Some(f)) = (&grant, &grantee) {
            let target = Target {
                kind: *kind,
                name: name.clone(),
                arn: String::new(),
            };
            if matches!(
                grant::standing(*status, &target, f, &r.config),
                grant::Standing::Trusted(_)
            ) {
                return Ok(seen_from_grantee);
            }
        }
        if self.may_grant(record).await? {
            let members = match &grant {
                Grant::GroupBecomesAdmin { .. } => {
                    r.port.group_members(&r.config.admin_group).await?
                }
                _ => Vec::new(),
            };
            let current = self.trust().await?.clone();
            let grantee_id = grantee.as_ref().and_then(|f| f.unique_id.clone());
            let changes = grant::ledger_changes(
                &grant,
                &provenance,
                grantee_id.as_deref(),
                &members,
                &current,
                now,
            );
            self.change_trust(&changes).await?;
            return Ok(seen_from_grantee);
        }
        let what = grant.describe(&r.config);
        let actions = grant::undo_escalation(&grant, &r.config);
        let record = if planned_only {
            r.port
                .caller_record(&r.env.account_id, &by)
                .await?
                .unwrap_or_default()
        } else {
            self.contain(&by, &event_id, "", &actions, &what).await?.0
        };
        Ok(Some(Escalation {
            by,
            event_id: event_id.clone(),
            what,
            actions,
            planned_only,
            notified: record.notified.contains(&event_id),
        }))
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

    /// Records `actions` under `caller` (once), then carries out those not yet done: a
    /// retried message resumes where it stopped and never acts twice. `scope` keeps the
    /// keys of an event's escalation (`""`) and containment (`"c"`) apart. Returns the
    /// caller's record and the state of each action.
    async fn contain(
        &mut self,
        caller: &str,
        event_id: &str,
        scope: &str,
        actions: &[Action],
        why: &str,
    ) -> Result<(CallerRecord, Vec<(Action, ActionState)>), PortError> {
        let r = self.revoker;
        let account = &r.env.account_id;
        let planned = ActionRecord::records(
            event_id,
            scope,
            actions,
            ActionState::Planned,
            Utc::now(),
            why,
        );
        let mut record = r.port.record_actions(account, caller, &planned).await?;
        let mut states = Vec::new();
        for (key, _) in &planned {
            let Some(mut entry) = record.actions.get(key).cloned() else {
                continue;
            };
            if matches!(entry.state, ActionState::Planned | ActionState::Held) {
                entry = self.carry_out(caller, key, entry).await?;
                record.actions.insert(key.clone(), entry.clone());
            }
            states.push((entry.action, entry.state));
        }
        Ok((record, states))
    }

    /// Carries out one recorded action: at the managed-policy quota the quarantine
    /// becomes inline (recorded before it is done); a permanent refusal is recorded as
    /// failed and reported, never retried; a transient one is the caller's to retry.
    async fn carry_out(
        &mut self,
        caller: &str,
        key: &str,
        mut entry: ActionRecord,
    ) -> Result<ActionRecord, PortError> {
        let r = self.revoker;
        let account = &r.env.account_id;
        let applied = loop {
            match r.port.apply(&entry.action).await {
                Err(PortError::LimitExceeded { message, .. }) => {
                    match crate::containment::fallback(&entry.action, &r.config) {
                        Some(mut next) => {
                            // A boundary's undo is the boundary it replaces: read first.
                            if let Action::SetBoundary {
                                holder,
                                name,
                                boundary,
                                replacing,
                            } = &mut next
                            {
                                if let Some(kind) = holder.kind() {
                                    let target = Target {
                                        kind,
                                        name: name.clone(),
                                        arn: String::new(),
                                    };
                                    if let CallerFacts::Found(f) = r.port.facts(&target).await? {
                                        *replacing =
                                            f.boundary.filter(|b| Some(b) != boundary.as_ref());
                                    }
                                }
                            }
                            warn!(caller = %caller, action = %entry.action, instead = %next, %message, "quota reached: falling back");
                            entry.action = next;
                            r.port.set_action(account, caller, key, &entry).await?;
                        }
                        None => {
                            break Err(format!("IAM refused it at a quota: {message}"));
                        }
                    }
                }
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => break Err(e.to_string()),
                Ok(applied) => break Ok(applied),
            }
        };
        entry.state = match &applied {
            Ok(a) if a.done() => ActionState::Done,
            Ok(_) => ActionState::Gone,
            Err(why) => {
                warn!(caller = %caller, action = %entry.action, error = %why, "action refused");
                entry.why = format!("{}; refused: {why}", entry.why);
                ActionState::Failed
            }
        };
        if entry.state == ActionState::Done {
            self.forget_facts(&entry.action);
        }
        r.port.set_action(account, caller, key, &entry).await?;
        info!(caller = %caller, action = %entry.action, state = ?entry.state, "action carried out");
        Ok(entry)
    }

    /// Contains what the event's call made, when its caller is one iam-warden stops
    /// (CONTAIN): records each action before taking it. A revoked role's own sessions
    /// are revoked too (whatever CONTAIN says: that is stopping the caller). `None`:
    /// nothing to contain or report.
    async fn containment(
        &mut self,
        event: &Event,
        verdict: &Verdict,
        escalated: bool,
    ) -> Result<Option<Contained>, PortError> {
        let r = self.revoker;
        let Some(record) = event.record() else {
            return Ok(None);
        };
        // Never in another account than the one the tool runs in (invariant 9).
        if record.is_failed()
            || !record.is_iam_api_call()
            || record.is_read_only()
            || record.recipient_account_id.as_deref() != Some(r.env.account_id.as_str())
        {
            return Ok(None);
        }
        let caller = Principal::classify(record);
        let own_role = match (&verdict.revocation, verdict.decision) {
            (Some(rev), Decision::Revoked) if rev.target.kind == EntityKind::Role => {
                Some(rev.target.name.clone())
            }
            _ => None,
        };
        let now = Utc::now();
        let contained = match (r.config.contain, verdict.decision) {
            (Contain::Off, _) => false,
            (_, Decision::Revoked | Decision::AlreadyRevoked | Decision::WouldRevoke) => true,
            (Contain::All, Decision::Alerted) => self.untrusted_session(&caller).await?,
            (_, Decision::Ignored) => {
                match containment::self_service_credential(record, &caller, &r.config) {
                    Some(user) if self.stopped(&user).await? => true,
                    // Not stopped (yet): its containment is recorded, held, and carried out
                    // if the caller is revoked later (the events of its other calls may be
                    // decided after this one).
                    Some(user) => {
                        if r.config.mode == Mode::Enforce {
                            self.hold(record, &user, event, now).await?;
                        }
                        false
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if !contained && own_role.is_none() {
            return Ok(None);
        }
        let mut plan = if contained {
            let known = self.known(record).await?;
            containment::plan(record, &known, &r.config, now)
        } else {
            Plan {
                what: containment::describe(record),
                ..Plan::default()
            }
        };
        if let Some(role) = own_role {
            plan.actions.push(containment::revoke_sessions(&role, now));
        }
        let quarantines = plan.actions.iter().any(|a| {
            matches!(a, Action::AttachPolicy { policy_arn, .. }
                if r.config.quarantine_policy_arn.as_deref() == Some(policy_arn.as_str()))
        });
        if quarantines && r.config.mode == Mode::Enforce {
            self.verify_quarantine_policy(None).await?;
        }
        let by = grant::actor(record);
        let event_id = event_key(event);
        let planned_only =
            r.config.mode == Mode::Report || verdict.decision == Decision::WouldRevoke;
        let account = &r.env.account_id;
        let (caller_record, mut states) = if planned_only || plan.actions.is_empty() {
            let record = r
                .port
                .caller_record(account, &by)
                .await?
                .unwrap_or_default();
            (record, vec![ActionState::Planned; plan.actions.len()])
        } else {
            let (record, done) = self
                .contain(&by, &event_id, "c", &plan.actions, &plan.what)
                .await?;
            // As recorded: a retry's plan may differ, a quota fallback changed it.
            plan.actions = done.iter().map(|(a, _)| a.clone()).collect();
            (record, done.into_iter().map(|(_, s)| s).collect())
        };
        // A rename put back: what was gone under the old name is contained again.
        if !planned_only {
            for (action, state) in self
                .after_renames(&by, &caller_record, &plan.actions, &states)
                .await?
            {
                plan.actions.push(action);
                states.push(state);
            }
        }
        // What the caller made for itself before it was stopped, held until now.
        if contained && !planned_only {
            for (action, state) in self.release_held(&by, &caller_record).await? {
                plan.actions.push(action);
                states.push(state);
            }
        }
        // An escalation's own notice says what it granted and what was undone.
        if escalated && plan.actions.is_empty() && plan.manual.is_empty() {
            return Ok(None);
        }
        Ok(Some(Contained {
            by,
            notified: caller_record.notified.contains(&event_id),
            event_id,
            plan,
            states,
            planned_only,
        }))
    }

    /// A role session alerted (ROLE_MODE=alert) whose role is neither trusted, exempt nor
    /// one of the tool's: CONTAIN=all contains its writes.
    async fn untrusted_session(&mut self, caller: &Principal) -> Result<bool, PortError> {
        let Principal::AssumedRole { role, .. } = caller else {
            return Ok(false);
        };
        let facts = self.guard_facts(EntityKind::Role, &role.name).await?;
        let r = self.revoker;
        Ok(containment::guard_of(
            Holder::Role,
            &role.name,
            facts.as_ref(),
            &r.config,
            &self.tool_roles(),
        )
        .is_none())
    }

    /// The tool's own roles: the functions' and the canary's.
    fn tool_roles(&self) -> Vec<String> {
        let r = self.revoker;
        let mut roles = crate::tamper::tool_roles(&r.config, &r.env);
        roles.extend(r.config.canary_role.clone());
        roles
    }

    /// Whether a user is stopped: revoked (the ledger's record) or quarantined by the
    /// tool (its managed or inline quarantine, or the quarantine as its boundary).
    async fn stopped(&mut self, user: &Target) -> Result<bool, PortError> {
        let r = self.revoker;
        let CallerFacts::Found(facts) = self.facts_of(user).await? else {
            return Ok(false);
        };
        if facts.revocation.is_some() {
            return Ok(true);
        }
        let quarantine = r.config.quarantine_policy_arn.as_ref();
        if quarantine.is_some() && facts.boundary.as_ref() == quarantine {
            return Ok(true);
        }
        let (attached, inline) = r.port.policies(user).await?;
        Ok(quarantine.is_some_and(|q| attached.contains(q))
            || inline.contains(containment::QUARANTINE_INLINE_NAME))
    }

    /// Records the containment of a self-service credential call of a caller not
    /// stopped, held: carried out only if the caller is stopped later.
    async fn hold(
        &self,
        record: &CloudTrailRecord,
        user: &Target,
        event: &Event,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let plan = containment::plan(record, &Known::default(), &r.config, now);
        if plan.actions.is_empty() {
            return Ok(());
        }
        let event_id = event_key(event);
        // When the call was made: what is released is what the caller made shortly
        // before it was stopped.
        let at = record
            .event_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(now, |t| t.with_timezone(&Utc));
        let held = ActionRecord::records(
            &event_id,
            "c",
            &plan.actions,
            ActionState::Held,
            at,
            &plan.what,
        );
        let caller = crate::action::actor_key(EntityKind::User, &user.name);
        r.port
            .record_actions(&r.env.account_id, &caller, &held)
            .await?;
        Ok(())
    }

    /// After a user or group renamed back, the caller's actions found gone under its
    /// name are carried out again.
    async fn after_renames(
        &mut self,
        caller: &str,
        record: &CallerRecord,
        actions: &[Action],
        states: &[ActionState],
    ) -> Result<Vec<(Action, ActionState)>, PortError> {
        let renamed: Vec<String> = actions
            .iter()
            .zip(states)
            .filter(|(_, s)| **s == ActionState::Done)
            .filter(|(a, _)| matches!(a, Action::Rename { .. }))
            .map(|(a, _)| a.subject())
            .collect();
        let mut again = Vec::new();
        for (key, entry) in &record.actions {
            let concerned = match &entry.action {
                Action::RemoveFromGroup { group, .. } => {
                    renamed.contains(&format!("group/{group}"))
                        || renamed.contains(&entry.action.subject())
                }
                other => renamed.contains(&other.subject()),
            };
            if entry.state == ActionState::Gone && concerned {
                let mut retry = entry.clone();
                retry.state = ActionState::Planned;
                let done = self.carry_out(caller, key, retry).await?;
                again.push((done.action, done.state));
            }
        }
        Ok(again)
    }

    /// Carries out the held containments of a caller now stopped: those of calls made
    /// within [`HELD_WINDOW`] (CloudTrail's delivery delay, with margin); an older
    /// credential of the caller's own was not made in the minutes before its deny.
    async fn release_held(
        &mut self,
        caller: &str,
        record: &CallerRecord,
    ) -> Result<Vec<(Action, ActionState)>, PortError> {
        let mut released = Vec::new();
        let since = Utc::now() - HELD_WINDOW;
        for (key, entry) in &record.actions {
            if entry.state == ActionState::Held && entry.at >= since {
                let done = self.carry_out(caller, key, entry.clone()).await?;
                released.push((done.action, done.state));
            }
        }
        Ok(released)
    }

    /// IAM's facts about a grantee, with the ledger's trust, when the trust ledger holds
    /// it at all (otherwise it cannot be a trusted admin or exempt principal, and IAM is
    /// not asked): the batch's facts when it has them, else IAM's alone (the revocation
    /// record is not needed to guard, and such facts are not kept for decisions).
    async fn guard_facts(
        &mut self,
        kind: EntityKind,
        name: &str,
    ) -> Result<Option<Facts>, PortError> {
        let trusted = self.trust().await?.of(kind, name);
        if trusted.is_empty() {
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
        Ok(match iam {
            CallerFacts::Found(mut f) => {
                f.trusted = trusted;
                Some(f)
            }
            _ => None,
        })
    }

    /// What the containment plan asks to know: whether the grantee is guarded, or a
    /// policy's versions.
    async fn known(&mut self, record: &CloudTrailRecord) -> Result<Known, PortError> {
        let r = self.revoker;
        Ok(match containment::need(record, &r.config) {
            None => Known::default(),
            Some(Need::Guard(holder, name)) => {
                let facts = match holder.kind() {
                    Some(kind) => self.guard_facts(kind, &name).await?,
                    None => None,
                };
                Known {
                    guard: containment::guard_of(
                        holder,
                        &name,
                        facts.as_ref(),
                        &r.config,
                        &self.tool_roles(),
                    ),
                    versions: None,
                }
            }
            Some(Need::Versions(arn)) => Known {
                guard: None,
                versions: r.port.policy_versions(&arn).await?,
            },
        })
    }

    /// Facts read before an action of the tool changed them are read again.
    fn forget_facts(&mut self, action: &Action) {
        let subject = action.subject();
        self.facts
            .retain(|t, _| crate::action::actor_key(t.kind, &t.name) != subject);
    }

    /// The notice of what was undone or contained because of an event, once per event
    /// (the caller's record says it was sent; in MODE=report, each time).
    async fn notify_undone(
        &self,
        event: &Event,
        verdict: &Verdict,
        escalation: Option<&Escalation>,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let containment = containment.filter(|c| c.worth_a_notice());
        let sent = escalation.is_none_or(|e| e.notified) && containment.is_none_or(|c| c.notified);
        if sent || !r.port.enabled() {
            return Ok(());
        }
        let notice = notice::for_verdict_with(
            event,
            verdict,
            &r.env,
            &r.config.deny_policy_arn,
            &r.config.inline_policy_name,
            escalation,
            containment,
        );
        r.port.publish(&notice).await?;
        self.mark_undone_notified(escalation, containment).await
    }

    /// Marks the escalation and the containment a notice told of as notified, each in
    /// its own caller's record (an escalation seen from its grantee has another event),
    /// right after the notice: nothing else runs between them.
    async fn mark_undone_notified(
        &self,
        escalation: Option<&Escalation>,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let mut marks: Vec<(&String, &String)> = Vec::new();
        if let Some(e) = escalation.filter(|e| !e.planned_only && !e.notified) {
            marks.push((&e.by, &e.event_id));
        }
        if let Some(c) = containment.filter(|c| !c.planned_only && !c.notified) {
            if !marks.contains(&(&c.by, &c.event_id)) {
                marks.push((&c.by, &c.event_id));
            }
        }
        for (by, event_id) in marks {
            r.port
                .mark_notified(&r.env.account_id, by, event_id)
                .await?;
        }
        Ok(())
    }

    /// Deny first, then record, notify, mark notified: the deny never waits on anything
    /// the caller can block (its 50 tags, its quotas). A failure at any step leaves a
    /// state from which a retry of the message finishes the job and notifies exactly
    /// once (the ledger's record says whether the notice went out).
    async fn revoke(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
    ) -> Result<Option<(RevocationRecord, String)>, PortError> {
        let r = self.revoker;
        let Some(revocation) = verdict.revocation.clone() else {
            return Ok(None);
        };
        let target = revocation.target.clone();
        let account = r.env.account_id.clone();
        // Read again if an action of the tool (an escalation undone) made them stale:
        // the record's key is the unique id.
        let facts = match self.facts_of(&target).await? {
            CallerFacts::Found(f) => f,
            _ => Facts::default(),
        };
        let key = record_key(&target, facts.unique_id.as_deref());
        let event_id = event.event_id().unwrap_or("unknown").to_owned();

        let record = match (revocation.resume, facts.revocation.clone()) {
            (true, Some(record)) if facts_show_deny(&facts, &r.config, record.method) => record,
            _ => {
                let (method, previous_boundary) = self
                    .deny(&target, &facts, revocation.method, verdict)
                    .await?;
                let record = RevocationRecord {
                    kind: target.kind,
                    name: target.name.clone(),
                    unique_id: facts.unique_id.clone(),
                    event_id: event_id.clone(),
                    event_name: event.event_name().unwrap_or("unknown").to_owned(),
                    at: Utc::now(),
                    method,
                    previous_boundary,
                    notified: false,
                };
                let record = r
                    .port
                    .record_revocation(&account, &key, &record)
                    .await?
                    .unwrap_or(record);
                self.update_facts(&target, |f| f.revocation = Some(record.clone()));
                // The tags on the principal: a convenience, written when there is room.
                let tags = [
                    (
                        tags::REVOKED_AT,
                        record.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    ),
                    (tags::EVENT_ID, record.event_id.clone()),
                    (tags::EVENT_NAME, record.event_name.clone()),
                ];
                self.convenience_tags(&target, &tags).await?;
                record
            }
        };
        if let Some(rev) = verdict.revocation.as_mut() {
            rev.method = record.method;
        }
        Ok(Some((record, key)))
    }

    /// The revocation's notice, once (the ledger's record says whether it went out),
    /// with what was undone and contained because of the event.
    async fn notify_revocation(
        &mut self,
        event: &Event,
        verdict: &Verdict,
        (record, key): (RevocationRecord, String),
        escalation: Option<&Escalation>,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let account = r.env.account_id.clone();
        let Some(target) = verdict.revocation.as_ref().map(|rev| rev.target.clone()) else {
            return Ok(());
        };
        if !record.notified {
            if r.port.enabled() {
                let notice = notice::for_verdict_with(
                    event,
                    verdict,
                    &r.env,
                    &r.config.deny_policy_arn,
                    &r.config.inline_policy_name,
                    escalation,
                    containment,
                );
                r.port.publish(&notice).await?;
            }
            r.port.revocation_notified(&account, &key).await?;
            self.mark_undone_notified(escalation, containment).await?;
            self.update_facts(&target, |f| {
                if let Some(rec) = f.revocation.as_mut() {
                    rec.notified = true;
                }
            });
            self.convenience_tags(&target, &[(tags::NOTIFIED, record.event_id.clone())])
                .await?;
        }
        // Only now: a retry after a failed notice must decide in full to send it.
        r.set_confirmed(&target, Some(record.method));
        Ok(())
    }

    /// Puts the deny in place by the first method IAM accepts: managed, inline, then a
    /// permissions boundary (every principal has room for exactly one). Returns the
    /// method and, for a boundary, the one it replaced.
    async fn deny(
        &mut self,
        target: &Target,
        facts: &Facts,
        first: Method,
        verdict: &mut Verdict,
    ) -> Result<(Method, Option<String>), PortError> {
        let r = self.revoker;
        let mut method = first;
        loop {
            let result = match method {
                Method::Managed => {
                    self.verify_deny_policy(None).await?;
                    r.port
                        .attach_policy(target, &r.config.deny_policy_arn)
                        .await
                }
                Method::Inline => {
                    r.port
                        .put_inline_policy(
                            target,
                            &r.config.inline_policy_name,
                            DENY_ALL_IAM_POLICY,
                        )
                        .await
                }
                Method::Boundary => self.deny_by_boundary(target, facts).await.map(|_| ()),
            };
            match result {
                Ok(()) => break,
                Err(PortError::LimitExceeded { message, .. }) => {
                    let Some(next) = method.fallback() else {
                        return Err(PortError::Failed {
                            operation: "revoke",
                            message: format!(
                                "every method of denying IAM to {target} was refused: {message}"
                            ),
                        });
                    };
                    warn!(principal = %target.arn, from = method.as_str(), to = next.as_str(), %message, "quota reached: falling back");
                    verdict.reason = format!(
                        "{}; IAM refused the {} deny at a quota ({message}): {} instead",
                        verdict.reason,
                        method.as_str(),
                        match next {
                            Method::Inline =>
                                format!("the inline deny `{}`", r.config.inline_policy_name),
                            _ => "a permissions boundary that denies IAM".to_owned(),
                        }
                    );
                    method = next;
                }
                Err(e) => return Err(e),
            }
        }
        let previous = match method {
            Method::Boundary => facts.boundary.clone().filter(|b| !is_tool_boundary(b)),
            _ => None,
        };
        let (policy, inline) = (
            r.config.deny_policy_arn.clone(),
            r.config.inline_policy_name.clone(),
        );
        let boundary = boundary_name(target);
        self.update_facts(target, |f| match method {
            Method::Managed => {
                f.attached_policies.insert(policy);
            }
            Method::Inline => {
                f.inline_policies.insert(inline);
            }
            Method::Boundary => {
                f.boundary = Some(format!(
                    "arn:aws:iam::{}:policy/iam-warden/{boundary}",
                    r.env.account_id
                ));
            }
        });
        info!(principal = %target.arn, method = method.as_str(), "deny applied");
        Ok((method, previous))
    }

    /// The boundary that denies IAM and keeps every limit of the principal's old one; when
    /// the old one cannot be read or merged (the caller's doing, perhaps), a boundary that
    /// denies everything: a revocation never fails for want of a boundary.
    async fn deny_by_boundary(&self, target: &Target, facts: &Facts) -> Result<String, PortError> {
        let r = self.revoker;
        let previous = facts.boundary.as_deref().filter(|b| !is_tool_boundary(b));
        let previous_doc = match previous {
            Some(arn) => match r.port.policy_document(arn).await {
                Ok(doc) => doc,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    warn!(principal = %target.arn, boundary = %arn, error = %e, "the old boundary cannot be read");
                    None
                }
            },
            None => None,
        };
        let document = match (previous, previous_doc.as_deref()) {
            (Some(_), None) => deny_everything_boundary(),
            (_, doc) => boundary_document(doc).unwrap_or_else(|e| {
                warn!(principal = %target.arn, error = %e, "the old boundary cannot be kept with the deny: denying everything");
                deny_everything_boundary()
            }),
        };
        let arn = r
            .port
            .put_boundary_policy(&boundary_name(target), &document)
            .await?;
        r.port.set_boundary(target, Some(&arn)).await?;
        Ok(arn)
    }

    /// The record tags, when there is room: a full tag set (50, the caller's doing) or
    /// any refusal never blocks a revocation.
    async fn convenience_tags(
        &mut self,
        target: &Target,
        tags: &[(&str, String)],
    ) -> Result<(), PortError> {
        let r = self.revoker;
        match r.port.tag(target, tags).await {
            Ok(()) => {
                self.update_facts(target, |f| {
                    for (k, v) in tags {
                        f.tags.insert((*k).to_owned(), v.clone());
                    }
                });
                Ok(())
            }
            Err(e) if e.is_transient() => Err(e),
            Err(e) => {
                warn!(principal = %target.arn, error = %e, "record tags not written (the ledger holds the record)");
                Ok(())
            }
        }
    }

    /// Verifies the deny policy before its first use in an invocation (or when `by` an
    /// event touched it): another default version is replaced by the tool's document, a
    /// deleted policy re-created; either is notified as tampering, never a reason to stop.
    async fn verify_deny_policy(&mut self, by: Option<&Event>) -> Result<(), PortError> {
        if self.deny_verified && by.is_none() {
            return Ok(());
        }
        let arn = self.revoker.config.deny_policy_arn.clone();
        self.verify_tool_policy(&arn, DENY_ALL_IAM_POLICY, "deny", by)
            .await?;
        self.deny_verified = true;
        Ok(())
    }

    /// [`Self::verify_deny_policy`] for the quarantine policy, before its first use.
    async fn verify_quarantine_policy(&mut self, by: Option<&Event>) -> Result<(), PortError> {
        let Some(arn) = self.revoker.config.quarantine_policy_arn.clone() else {
            return Ok(());
        };
        if self.quarantine_verified && by.is_none() {
            return Ok(());
        }
        self.verify_tool_policy(&arn, containment::QUARANTINE_POLICY, "quarantine", by)
            .await?;
        self.quarantine_verified = true;
        Ok(())
    }

    async fn verify_tool_policy(
        &self,
        arn: &str,
        document: &str,
        which: &str,
        by: Option<&Event>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let check = r.port.verify_policy(arn, document).await?;
        let what = match check {
            PolicyCheck::Intact => return Ok(()),
            PolicyCheck::Repaired { found } => format!(
                "the {which} policy {arn} had another default version ({found}): the tool's document is the default again"
            ),
            PolicyCheck::Recreated => format!(
                "the {which} policy {arn} was deleted: re-created at the same path and name"
            ),
        };
        warn!(%what, "tampering repaired");
        if r.port.enabled() {
            r.port
                .publish(&notice::for_tampering(by, &what, &r.env))
                .await?;
        }
        Ok(())
    }

    async fn alert(
        &self,
        event: &Event,
        verdict: &Verdict,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        if !r.port.enabled() {
            return Ok(());
        }
        let key = (
            principal_of(event, verdict),
            event.event_name().unwrap_or_default().to_owned(),
        );
        let window = r.config.alert_window;
        if !r.alert_due(&key, window) {
            info!(principal = %key.0, event_name = %key.1, "notice already sent within ALERT_WINDOW_SECONDS");
            return Ok(());
        }
        let notice = notice::for_verdict_with(
            event,
            verdict,
            &r.env,
            &r.config.deny_policy_arn,
            &r.config.inline_policy_name,
            None,
            containment,
        );
        r.port.publish(&notice).await?;
        r.alert_sent(key, window);
        Ok(())
    }

    fn update_facts(&mut self, target: &Target, change: impl FnOnce(&mut Facts)) {
        if let Some(CallerFacts::Found(f)) = self.facts.get_mut(target) {
            change(f);
        }
    }
}

/// The key of an event in the records: its CloudTrail event id, or, for a record without
/// one, a digest of the record (two such events never share their records).
pub fn event_key(event: &Event) -> String {
    if let Some(id) = event.event_id() {
        return id.to_owned();
    }
    let text = event
        .record()
        .and_then(|r| serde_json::to_string(r).ok())
        .unwrap_or_default();
    // FNV-1a: stable across processes and versions (a record's key must not change).
    let digest = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("noid-{digest:016x}")
}

/// The principal a decision is about: the user or role when there is one, else the caller.
fn principal_of(event: &Event, verdict: &Verdict) -> String {
    match (&verdict.target, event.record()) {
        (Some(t), _) => t.arn.clone(),
        (None, Some(record)) => Principal::classify(record).display(),
        (None, None) => String::new(),
    }
}

/// The record that remembers which events of a kind were notified, one per day of the
/// events (their CloudTrail date, so that a retry finds the same record): no record
/// grows without bound.
pub fn notice_scope(kind: &str, event: &Event) -> String {
    let day = event
        .record()
        .and_then(|r| r.event_time.as_deref())
        .and_then(|t| t.get(..10))
        .unwrap_or("undated");
    format!("{kind}#{day}")
}

/// Whether the facts show the tool's deny by `method`: the managed deny attached, the
/// inline deny by name, or a boundary of the tool's.
fn facts_show_deny(facts: &Facts, config: &Config, method: Method) -> bool {
    match method {
        Method::Managed => facts.attached_policies.contains(&config.deny_policy_arn),
        Method::Inline => facts.inline_policies.contains(&config.inline_policy_name),
        Method::Boundary => facts.boundary.as_deref().is_some_and(is_tool_boundary),
    }
}

fn asked_twice() -> PortError {
    PortError::Failed {
        operation: "decide",
        message: "the decision asked again for what it was given".into(),
    }
}

/// What `warden restore` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub principal: String,
    pub restored: bool,
    pub actions: Vec<String>,
    /// New console passwords (user, password): for the operator's terminal only, never
    /// serialized, logged nor notified.
    #[serde(skip)]
    pub secrets: Vec<(String, String)>,
    /// An escalation's admin membership or exempt tag was put back: untrusted until
    /// `warden trust`.
    #[serde(skip)]
    pub status_put_back: bool,
}

/// Undoes a revocation: detach the managed deny, delete the inline deny, remove the
/// record tags; unless `caller_only`, put back what iam-warden undid of the caller's
/// doing (an escalation's membership or tag: it is not trusted for it until `warden
/// trust`); notify. Safe to run on a principal that is not revoked; a principal that
/// no longer exists still has its recorded actions put back.
pub async fn restore<P: RevokerPorts>(
    port: &P,
    config: &Config,
    env: &Environment,
    target: &Target,
    caller_only: bool,
) -> Result<RestoreReport, PortError> {
    let mut actions = Vec::new();
    let facts = port.facts(target).await?;
    if let CallerFacts::Found(facts) = &facts {
        let key = record_key(target, facts.unique_id.as_deref());
        let record = port.revocation(&env.account_id, &key).await?;
        if port.detach_policy(target, &config.deny_policy_arn).await? {
            actions.push(format!("detached {} from {target}", config.deny_policy_arn));
        }
        if port
            .delete_inline_policy(target, &config.inline_policy_name)
            .await?
        {
            actions.push(format!(
                "deleted the inline deny `{}` from {target}",
                config.inline_policy_name
            ));
        }
        // The tool's boundary: the exact previous boundary put back (or none).
        if let Some(tool) = facts.boundary.as_deref().filter(|b| is_tool_boundary(b)) {
            let previous = record.as_ref().and_then(|r| r.previous_boundary.clone());
            port.set_boundary(target, previous.as_deref()).await?;
            port.delete_boundary_policy(tool).await?;
            actions.push(match &previous {
                Some(p) => {
                    format!("put back the permissions boundary {p} in place of iam-warden's")
                }
                None => {
                    "removed iam-warden's permissions boundary (there was none before)".to_owned()
                }
            });
        }
        let recorded: Vec<&str> = tags::ALL
            .iter()
            .copied()
            .filter(|k| facts.tags.contains_key(*k))
            .collect();
        if !recorded.is_empty() {
            port.untag(target, &recorded).await?;
            actions.push(format!("removed the tags {}", recorded.join(", ")));
        }
        if record.is_some() {
            port.remove_revocation(&env.account_id, &key).await?;
            if actions.is_empty() {
                actions.push("removed the revocation record (its deny was already gone)".into());
            }
        }
    }
    // What was undone and contained because of the caller's calls; with `caller_only`,
    // only what concerns the caller itself (its role's sessions revoked).
    let caller = crate::action::actor_key(target.kind, &target.name);
    let mut secrets = Vec::new();
    let mut status_put_back = false;
    if let Some(record) = port.caller_record(&env.account_id, &caller).await? {
        for (key, entry) in &record.actions {
            // With `caller_only`, only the tool's own measure on the caller (its role's
            // sessions revoked), never what the caller gave itself (a policy, a key).
            let own_measure = entry.action.subject() == caller
                && matches!(&entry.action, Action::PutInlinePolicy { policy_name, .. } if policy_name == containment::SESSIONS_POLICY_NAME);
            if entry.state != ActionState::Done || (caller_only && !own_measure) {
                continue;
            }
            let undo = entry.action.undo();
            if let Action::SetCredential {
                user,
                credential: Credential::MfaDevice(serial),
                active: true,
            } = &undo
            {
                actions.push(format!(
                    "left for its owner: the MFA device {serial} of user/{user} was deactivated after event `{}`; only its owner can enable it again (two codes): aws iam enable-mfa-device --user-name {user} --serial-number {serial} --authentication-code1 <code> --authentication-code2 <next code>",
                    entry.event_id
                ));
                continue;
            }
            let applied = match port.apply(&undo).await {
                Ok(applied) => applied,
                Err(e) if e.is_transient() => return Err(e),
                // Refused for good (a quota, a login profile made since): said, and the
                // rest is put back; the record stays `done` for a later restore.
                Err(e) => {
                    actions.push(format!(
                        "could not {undo} (undone by iam-warden after event `{}`): {e}",
                        entry.event_id
                    ));
                    continue;
                }
            };
            let mut done = entry.clone();
            done.state = ActionState::Restored;
            port.set_action(&env.account_id, &caller, key, &done)
                .await?;
            actions.push(match applied {
                Applied::Gone => format!(
                    "could not put back what was undone after event `{}`: {} no longer exists",
                    entry.event_id,
                    undo.subject()
                ),
                Applied::Password(password) => {
                    if let Action::CreateLoginProfile { user } = &undo {
                        secrets.push((user.clone(), password));
                    }
                    format!(
                        "{undo} (its login profile was deleted after event `{}`; the password is shown once, to you only)",
                        entry.event_id
                    )
                }
                Applied::Done => {
                    status_put_back |= match &undo {
                        Action::AddToGroup { group, .. } => *group == config.admin_group,
                        Action::Tag { key, .. } => *key == config.exempt_tag.0,
                        _ => false,
                    };
                    format!(
                        "{undo} (undone by iam-warden after event `{}`)",
                        entry.event_id
                    )
                }
            });
        }
    }
    if !matches!(facts, CallerFacts::Found(_)) && actions.is_empty() {
        return Err(PortError::NoSuchEntity {
            operation: "restore",
            message: format!("{target} does not exist"),
        });
    }
    let restored = !actions.is_empty();
    if restored && port.enabled() {
        port.publish(&notice::for_restore(target, &actions, env))
            .await?;
        actions.push("notified the topic".into());
    }
    Ok(RestoreReport {
        principal: target.arn.clone(),
        restored,
        actions,
        secrets,
        status_put_back,
    })
}

/// Takes the trust baseline if the account has none: every member of the admin group
/// and every holder of the exempt tag, trusted as they are now, with a notice so that
/// the security team sees whom iam-warden trusts. Returns the account's trusted set and
/// whether this call took it.
pub async fn ensure_baseline<P: TrustLedger + Authorizations + Notifier>(
    port: &P,
    account: &str,
    admin_group: &str,
    exempt_tag: &(String, String),
) -> Result<(TrustSet, bool), PortError> {
    if let Some(set) = port.trust_set(account).await? {
        return Ok((set, false));
    }
    let subjects = port.subjects(true).await?;
    let set = trust::baseline(
        account,
        subjects.iter().map(|s| {
            (
                s.kind,
                s.name.as_str(),
                s.unique_id.as_deref(),
                &s.groups,
                &s.tags,
            )
        }),
        admin_group,
        exempt_tag,
        Utc::now(),
    );
    if !port.put_baseline(&set).await? {
        // Another process took it first: its baseline stands.
        let theirs = port.trust_set(account).await?.unwrap_or(set);
        return Ok((theirs, false));
    }
    if port.enabled() {
        port.publish(&notice::for_baseline(&set, admin_group, exempt_tag))
            .await?;
    }
    Ok((set, true))
}

/// `warden trust`: an operator vouches for a principal's current admin membership and
/// exempt tag. Returns the entries written; a principal that holds neither is an error
/// (vouching for nothing would be a silent no-op).
pub async fn vouch<P: RevokerPorts>(
    port: &P,
    config: &Config,
    env: &Environment,
    target: &Target,
    operator: &str,
) -> Result<Vec<trust::TrustEntry>, PortError> {
    let facts = match port.facts(target).await? {
        CallerFacts::Found(f) => f,
        _ => {
            return Err(PortError::NoSuchEntity {
                operation: "trust",
                message: format!("{target} does not exist"),
            })
        }
    };
    let entries: Vec<trust::TrustEntry> = [Status::Admin, Status::Exempt]
        .into_iter()
        .filter(|s| {
            grant::standing(
                *s,
                target,
                &Facts {
                    trusted: Default::default(),
                    ..facts.clone()
                },
                config,
            ) != grant::Standing::Absent
        })
        .map(|status| trust::TrustEntry {
            status,
            kind: target.kind,
            name: target.name.clone(),
            unique_id: facts.unique_id.clone(),
            provenance: Provenance::Operator {
                by: operator.to_owned(),
            },
            at: Utc::now(),
        })
        .collect();
    if entries.is_empty() {
        return Err(PortError::Failed {
            operation: "trust",
            message: format!(
                "{target} is neither in `{}` nor tagged `{}={}`: add the membership or the tag first (or list it in EXEMPT_PRINCIPALS)",
                config.admin_group, config.exempt_tag.0, config.exempt_tag.1
            ),
        });
    }
    if port.trust_set(&env.account_id).await?.is_none() {
        return Err(PortError::Failed {
            operation: "trust",
            message: "no trust baseline in the ledger yet: run `warden init` first".into(),
        });
    }
    let changes: Vec<LedgerChange> = entries.iter().cloned().map(LedgerChange::Put).collect();
    port.change_trust(&env.account_id, &changes).await?;
    Ok(entries)
}
