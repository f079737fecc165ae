//! Containment carried out: whom the plan applies to (CONTAIN), each action recorded
//! before it is taken and resumed by a retry, quota fallbacks, self-service credentials
//! held until their caller is stopped, renames put back.

use chrono::Utc;
use tracing::{info, warn};

use std::collections::BTreeMap;

use crate::action::{Action, ActionRecord, ActionState, Holder, CONTAINMENT};
use crate::config::Mode;
use crate::containment::{self, Contained, Created, Known, Need, Plan, Scope};
use crate::containment_plan;
use crate::decision::{Decision, Verdict};
use crate::event::{CloudTrailRecord, Event};
use crate::facts::CallerFacts;
use crate::grant;
use crate::ports::{PortError, RevokerPorts};
use crate::principal::{same_name, EntityKind, Principal, Target};
use crate::prior;

use super::keys::event_key;
use super::state::Invocation;

/// How far back CloudTrail is asked whether a grant was already there: its whole event
/// history.
const PRIOR_LOOKBACK: chrono::TimeDelta = chrono::TimeDelta::days(90);

/// How far back a stopped caller's held self-service containments are released.
const HELD_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The caller actions are recorded under: its record's key (`user/mallory`) and, when
/// the event says, its unique id (restore puts back only the records of the principal
/// it restores).
#[derive(Debug, Clone, Copy)]
pub(super) struct Whose<'a> {
    pub(super) caller: &'a str,
    pub(super) id: Option<&'a str>,
    /// A role session's `aws:userid`: restore of that session alone puts back its own.
    pub(super) session: Option<&'a str>,
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Contains what the event's call made, when its caller is one iam-warden stops
    /// (CONTAIN): records each action before taking it. A revoked role's own sessions
    /// are revoked too (whatever CONTAIN says: that is stopping the caller). `None`:
    /// nothing to contain or report.
    pub(super) async fn contain_call(
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
            || verdict.marks.foreign
        {
            return Ok(None);
        }
        let caller = Principal::classify(record);
        let own_role = match (&verdict.revocation, verdict.decision) {
            // A session revoked alone leaves the role's other sessions be.
            (Some(rev), Decision::Revoked)
                if rev.target.kind == EntityKind::Role && rev.session.is_none() =>
            {
                Some(rev.target.name.clone())
            }
            _ => None,
        };
        let now = Utc::now();
        // Whom to contain is the plan's: it asks, the revoker answers.
        let (mut untrusted, mut stopped) = (None, None);
        let contained = loop {
            match containment::scope(
                record,
                &caller,
                verdict.decision,
                &r.config,
                untrusted,
                stopped,
            ) {
                Scope::Contain => break true,
                Scope::Leave => break false,
                Scope::Hold(user) => {
                    self.hold(record, &user, event, now).await?;
                    break false;
                }
                Scope::AskUntrusted(role) => untrusted = Some(self.untrusted_role(&role).await?),
                Scope::AskStopped(user) => stopped = Some(self.stopped(&user).await?),
            }
        };
        // SESSION_SCP=on: an Identity Center user who may not manage IAM is denied IAM by
        // the tool's SCP on this account (stopping the caller: whatever CONTAIN says).
        let stop_person = containment::person_to_stop(record, &caller, verdict.decision, &r.config)
            .map(|person| Action::DenyPerson {
                account: r.env.account_id.clone(),
                person,
            });
        if !contained && own_role.is_none() && stop_person.is_none() {
            return Ok(None);
        }
        let mut plan = if contained {
            let known = self.known(record).await?;
            containment_plan::plan(record, &known, &r.config, now)
        } else {
            Plan {
                what: containment_plan::describe(record),
                ..Plan::default()
            }
        };
        if let Some(role) = own_role {
            plan.actions.push(containment::revoke_sessions(&role, now));
        }
        plan.actions.extend(stop_person);
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
        let mut states = if planned_only || plan.actions.is_empty() {
            vec![ActionState::Planned; plan.actions.len()]
        } else {
            let done = self
                .take_actions(
                    Whose {
                        caller: &by,
                        id: super::keys::caller_id(record).as_deref(),
                        session: super::keys::session_id(record).as_deref(),
                    },
                    &event_id,
                    CONTAINMENT,
                    &plan.actions,
                    &plan.what,
                    plan.created.as_ref(),
                )
                .await?;
            // As recorded: a retry's plan may differ, a quota fallback changed it.
            plan.actions = done.iter().map(|(a, _)| a.clone()).collect();
            done.into_iter().map(|(_, s)| s).collect()
        };
        // A rename put back: what was gone under the old name is contained again.
        if !planned_only {
            for (action, state) in self.after_renames(&by, &plan.actions, &states).await? {
                plan.actions.push(action);
                states.push(state);
            }
        }
        // What the caller made for itself before it was stopped, held until now.
        if contained && !planned_only {
            for (action, state) in self.release_held(&by).await? {
                plan.actions.push(action);
                states.push(state);
            }
        }
        // An escalation's own notice says what it granted and what was undone.
        if escalated && plan.actions.is_empty() && plan.manual.is_empty() {
            return Ok(None);
        }
        let notified = r.port.notified(account, &by, &event_id).await?;
        Ok(Some(Contained {
            by,
            notified,
            event_id,
            plan,
            states,
            planned_only,
        }))
    }

    /// Records `actions` under `caller` (once), then carries out those not yet done: a
    /// retried message resumes where it stopped and never acts twice. `scope` keeps the
    /// keys of an event's escalation ([`crate::action::ESCALATION`]) and containment ([`CONTAINMENT`])
    /// apart. Returns each action as recorded, with its state.
    pub(super) async fn take_actions(
        &mut self,
        whose: Whose<'_>,
        event_id: &str,
        scope: &str,
        actions: &[Action],
        why: &str,
        created: Option<&Created>,
    ) -> Result<Vec<(Action, ActionState)>, PortError> {
        let Whose {
            caller,
            id: caller_id,
            session,
        } = whose;
        let r = self.revoker;
        let account = &r.env.account_id;
        let attempt = Utc::now();
        let mut planned =
            ActionRecord::records(event_id, scope, actions, ActionState::Planned, attempt, why);
        for (_, entry) in &mut planned {
            entry.caller_id = caller_id.map(str::to_owned);
            entry.session = session.map(str::to_owned);
        }
        // What the call created is acted on by its unique id (attack 5).
        if let Some(created) = created {
            for (_, entry) in &mut planned {
                if entry.action.subject_name_mut().is_some_and(|(kind, name)| {
                    kind == created.kind && same_name(name, &created.name)
                }) {
                    entry.subject_id = Some(created.id.clone());
                }
            }
        }
        let stored = r.port.record_actions(account, caller, &planned).await?;
        let mut states = Vec::new();
        for (key, _) in &planned {
            let Some(mut entry) = stored.get(key).cloned() else {
                continue;
            };
            self.written
                .insert((caller.to_owned(), key.clone()), entry.clone());
            if matches!(entry.state, ActionState::Planned | ActionState::Held) {
                // Recorded by an earlier attempt: it may have been carried out then.
                let retried = entry.at < attempt;
                entry = self.take_action(caller, key, entry, retried).await?;
            }
            states.push((entry.action, entry.state));
        }
        Ok(states)
    }

    /// Writes an action's record, and remembers it for the rest of the invocation.
    pub(super) async fn set_record(
        &mut self,
        caller: &str,
        key: &str,
        entry: &ActionRecord,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        r.port
            .set_action(&r.env.account_id, caller, key, entry)
            .await?;
        self.written
            .insert((caller.to_owned(), key.to_owned()), entry.clone());
        Ok(())
    }

    /// The caller's actions in `state`: the ledger's (through its index), with what this
    /// invocation wrote, which the index may not show yet.
    async fn caller_actions(
        &self,
        caller: &str,
        state: ActionState,
    ) -> Result<BTreeMap<String, ActionRecord>, PortError> {
        let r = self.revoker;
        let mut found = r
            .port
            .caller_actions(&r.env.account_id, caller, Some(state))
            .await?;
        for ((of, key), entry) in &self.written {
            if of == caller {
                if entry.state == state {
                    found.insert(key.clone(), entry.clone());
                } else {
                    found.remove(key);
                }
            }
        }
        Ok(found)
    }

    /// Whether the user or role an action acts on exists (an action on a group or a
    /// policy: `false`, as before).
    async fn subject_exists(&self, action: &mut Action) -> Result<bool, PortError> {
        let Some((kind, name)) = action.subject_name_mut() else {
            return Ok(false);
        };
        let target = Target {
            kind,
            name: name.clone(),
            arn: String::new(),
        };
        Ok(matches!(
            self.revoker.port.facts(&target).await?,
            CallerFacts::Found(_)
        ))
    }

    /// Carries out one recorded action: at the managed-policy quota the quarantine
    /// becomes inline (recorded before it is done); a permanent refusal is recorded as
    /// failed and reported, never retried; a transient one is the caller's to retry.
    async fn take_action(
        &mut self,
        caller: &str,
        key: &str,
        mut entry: ActionRecord,
        retried: bool,
    ) -> Result<ActionRecord, PortError> {
        let r = self.revoker;
        // Followed by its unique id: taken on the name it has now (recorded first), or
        // gone with it.
        if let Some(id) = entry.subject_id.clone() {
            let kind = entry.action.subject_name_mut().map(|(kind, _)| kind);
            if let Some(kind) = kind {
                match r.port.find_by_id(kind, &id).await? {
                    None => {
                        entry.state = ActionState::Gone;
                        self.set_record(caller, key, &entry).await?;
                        return Ok(entry);
                    }
                    Some(now) => {
                        let moved = entry.action.subject_name_mut().and_then(|(_, name)| {
                            (!same_name(name, &now.name))
                                .then(|| std::mem::replace(name, now.name.clone()))
                        });
                        if let Some(was) = moved {
                            info!(caller = %caller, id = %id, from = %was, to = %now.name, "what the caller made was renamed: acting on it under its new name");
                            entry.why = format!(
                                "{}; `{was}` was renamed `{}` (unique id {id}): acted on under its new name",
                                entry.why, now.name
                            );
                            self.set_record(caller, key, &entry).await?;
                        }
                    }
                }
            }
        }
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
                            self.set_record(caller, key, &entry).await?;
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
            // A retried action whose principal still exists found its work done: by the
            // earlier attempt, whose state write was lost. Still the tool's doing, so
            // restore puts it back; `gone` would skip it.
            Ok(_) if retried && self.subject_exists(&mut entry.action).await? => ActionState::Done,
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
        self.set_record(caller, key, &entry).await?;
        info!(caller = %caller, action = %entry.action, state = ?entry.state, "action carried out");
        Ok(entry)
    }

    /// Whether an alerted session's role (ROLE_MODE=alert) is neither trusted, exempt nor
    /// one of the tool's: CONTAIN=all contains its writes.
    async fn untrusted_role(&mut self, role: &str) -> Result<bool, PortError> {
        let facts = self.guard_facts(EntityKind::Role, role).await?;
        let r = self.revoker;
        Ok(containment::guard_of(
            Holder::Role,
            role,
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
        if quarantine.is_some_and(|q| attached.contains(q)) {
            return Ok(true);
        }
        // The inline quarantine by its name and the tool's document: an imitation (the
        // name, another document) makes nobody stopped.
        if !inline.contains(containment::QUARANTINE_INLINE_NAME) {
            return Ok(false);
        }
        let document = r
            .port
            .inline_document(user, containment::QUARANTINE_INLINE_NAME)
            .await?;
        Ok(document.is_some_and(|d| containment::is_quarantine_document(&d)))
    }

    /// Records the containment of a self-service credential call of a caller not
    /// stopped, held: carried out only if the caller is stopped later.
    async fn hold(
        &mut self,
        record: &CloudTrailRecord,
        user: &Target,
        event: &Event,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let plan = containment_plan::plan(record, &Known::default(), &r.config, now);
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
        let mut held = ActionRecord::records(
            &event_id,
            CONTAINMENT,
            &plan.actions,
            ActionState::Held,
            at,
            &plan.what,
        );
        for (_, entry) in &mut held {
            entry.caller_id = super::keys::caller_id(record);
        }
        let caller = crate::action::actor_key(EntityKind::User, &user.name);
        let stored = r
            .port
            .record_actions(&r.env.account_id, &caller, &held)
            .await?;
        for (key, entry) in stored {
            self.written.insert((caller.clone(), key), entry);
        }
        Ok(())
    }

    /// After a user or group renamed back, the caller's actions found gone under its
    /// name are carried out again.
    async fn after_renames(
        &mut self,
        caller: &str,
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
        if renamed.is_empty() {
            return Ok(again);
        }
        for (key, entry) in &self.caller_actions(caller, ActionState::Gone).await? {
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
                let done = self.take_action(caller, key, retry, false).await?;
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
    ) -> Result<Vec<(Action, ActionState)>, PortError> {
        let mut released = Vec::new();
        let since = Utc::now() - HELD_WINDOW;
        for (key, entry) in &self.caller_actions(caller, ActionState::Held).await? {
            if entry.at >= since {
                let done = self.take_action(caller, key, entry.clone(), false).await?;
                released.push((done.action, done.state));
            }
        }
        Ok(released)
    }

    /// CloudTrail's records of `calls` over its whole history ([`PRIOR_LOOKBACK`]), for
    /// what the event cannot say of the state before it. `None`: CloudTrail did not
    /// answer; the caller then acts as without the look-up, and the event never waits.
    async fn prior_history(
        &self,
        calls: [&str; 2],
    ) -> Result<Option<Vec<CloudTrailRecord>>, PortError> {
        let mut history = Vec::new();
        for call in calls {
            match self.lookup(call, PRIOR_LOOKBACK).await {
                Ok(found) => history.extend(found),
                Err(e) if e.is_transient() => {
                    warn!(error = %e, "CloudTrail did not answer: the state before the call is unknown");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Some(history))
    }

    /// What the containment plan asks to know: whether the grantee is guarded, or a
    /// policy's versions; for a grant that would be undone, whether it was there before;
    /// for a guarded role's trust change, the document it replaced.
    async fn known(&mut self, record: &CloudTrailRecord) -> Result<Known, PortError> {
        let r = self.revoker;
        Ok(match containment_plan::need(record, &r.config) {
            None => Known::default(),
            Some(Need::Guard(holder, name)) => {
                let facts = match holder.kind() {
                    Some(kind) => self.guard_facts(kind, &name).await?,
                    None => None,
                };
                let guard = containment::guard_of(
                    holder,
                    &name,
                    facts.as_ref(),
                    &r.config,
                    &self.tool_roles(),
                );
                // A grant that would be undone: did it change anything (attack 12)?
                let earlier = match (&guard, prior::grant_history_calls(record)) {
                    (None, Some(calls)) => self.prior_history(calls).await?.and_then(|h| {
                        prior::earlier_grant(record, &h)
                            .map(|r| (grant::actor(r), r.event_id.clone().unwrap_or_default()))
                    }),
                    _ => None,
                };
                // A guarded role's trust change, only reported: the document before, for
                // the command that puts it back.
                let previous_trust = match (
                    guard.as_ref().filter(|g| **g != containment::Guard::Tool),
                    prior::trust_history_calls(record),
                ) {
                    (Some(_), Some(calls)) => self
                        .prior_history(calls)
                        .await?
                        .and_then(|h| prior::previous_trust(record, &h)),
                    _ => None,
                };
                Known {
                    guard,
                    versions: None,
                    earlier,
                    previous_trust,
                }
            }
            Some(Need::Versions(arn)) => Known {
                guard: None,
                versions: r.port.policy_versions(&arn).await?,
                earlier: None,
                previous_trust: None,
            },
        })
    }
}
