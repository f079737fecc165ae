//! The revoke decision: the table of `shared/DESIGN.md`, as one pure function.
//!
//! [`decide`] is called first without facts about the caller; when the table needs
//! them (group membership, tags, attached policies) it answers [`Step::LookUp`] and is
//! called again with them. Rows are evaluated in the table's order; the first that
//! matches decides.
//!
//! This file holds what a decision is (its outcomes, the verdict, the steps) and
//! [`decide`]; `table` holds the rows, `session` the rows of a role session revoked alone
//! (ROLE_MODE=session).

mod session;
mod table;

pub(crate) use table::is_self_service;

use std::fmt;

use serde::Serialize;

use crate::config::{Config, Environment};
use crate::event::{CloudTrailRecord, Event};
use crate::facts::CallerFacts;
use crate::principal::Target;
use crate::revocation::Method;
use crate::tamper::Tampering;
use crate::trust::Status;

/// The six outcomes of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Ignored,
    Alerted,
    Exempt,
    AlreadyRevoked,
    WouldRevoke,
    Revoked,
    /// Not decided yet: an unverified admin or exempt principal whose grant may still
    /// be on its way (CloudTrail's delivery delay). The event is decided again later.
    Deferred,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Ignored => "ignored",
            Decision::Alerted => "alerted",
            Decision::Exempt => "exempt",
            Decision::AlreadyRevoked => "already-revoked",
            Decision::WouldRevoke => "would-revoke",
            Decision::Revoked => "revoked",
            Decision::Deferred => "deferred",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revocation to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub target: Target,
    pub method: Method,
    /// The deny is already on and recorded, but its notice was never sent (an earlier
    /// attempt failed after the attach): send it, do not record again.
    pub resume: bool,
    /// A role session revoked alone (ROLE_MODE=session): its `aws:userid`; the deny is
    /// the role's sessions deny ([`crate::session`]), never the role's.
    pub session: Option<String>,
}

/// What the revoker must know of an event besides its caller's decision, read once off
/// the record by [`decide`] and carried on the verdict: the orchestration acts on these
/// and never reads them off the record again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// The tool's own daily canary: its arrival is recorded.
    pub canary: bool,
    /// What the call did to the tool: verified and repaired, or notified once.
    pub tampering: Option<Tampering>,
    /// Made in another account than the one the tool runs in: never acted on
    /// (invariant 9).
    pub foreign: bool,
}

impl Marks {
    fn of(record: &CloudTrailRecord, config: &Config, env: &Environment) -> Self {
        Self {
            canary: crate::tamper::is_canary(record, config, env),
            tampering: crate::tamper::tampering(record, config, env),
            foreign: record.recipient_account_id.as_deref() != Some(env.account_id.as_str()),
        }
    }
}

/// A decision with its reason and, for `revoked`, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub reason: String,
    pub revocation: Option<Revocation>,
    /// The principal the decision is about (user or role when known).
    pub target: Option<Target>,
    /// A grant found for an unverified status: trusted (write it to the ledger) or an
    /// escalation (undo it).
    pub found_grant: Option<FoundGrant>,
    /// How long to wait before deciding again (`deferred`).
    pub defer: Option<std::time::Duration>,
    /// The canary, tampering, another account: see [`Marks`].
    pub marks: Marks,
}

/// The grant of a status that an unverified principal holds, found by the look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundGrant {
    pub status: Status,
    /// The caller who made it, and its event.
    pub by: String,
    pub event_id: String,
    pub authorized: bool,
}

impl Verdict {
    pub fn new(decision: Decision, reason: impl Into<String>) -> Self {
        Self {
            decision,
            reason: reason.into(),
            revocation: None,
            target: None,
            found_grant: None,
            defer: None,
            marks: Marks::default(),
        }
    }

    pub fn about(mut self, target: &Target) -> Self {
        self.target = Some(target.clone());
        self
    }
}

/// One step of the decision.
// Mostly `Done`, one per event: boxing the verdict would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Done(Verdict),
    /// The table needs facts about this principal: look them up and call again.
    LookUp(Target),
    /// The principal holds these statuses without the trust ledger: look for their
    /// grants (`Facts::verified`) and call again.
    Verify(Target, Vec<Status>),
    /// The principal under the event's name is not the caller (another unique id), or
    /// there is none: find the caller by its unique id (`Facts::renamed`, or
    /// `CallerFacts::NameReused`) and call again.
    Resolve(Target, String),
}

/// Decides on one event. Pure: same inputs, same answer; no I/O. The verdict carries the
/// event's [`Marks`], read once here.
pub fn decide(
    event: &Event,
    facts: Option<&CallerFacts>,
    config: &Config,
    env: &Environment,
) -> Step {
    let record = match event {
        Event::Other { detail_type, .. } => {
            return Step::Done(Verdict::new(
                Decision::Ignored,
                format!("not a CloudTrail API call (`{detail_type}`)"),
            ))
        }
        Event::CloudTrail { record, .. } => record.as_ref(),
    };
    let marks = Marks::of(record, config, env);
    match table::table(record, facts, config, env, &marks) {
        Step::Done(mut verdict) => {
            verdict.marks = marks;
            Step::Done(verdict)
        }
        other => other,
    }
}

/// The already-revoked verdict of a principal this process revoked and confirmed (its
/// deny is still there): later events of its cost one call instead of the facts.
pub fn confirmed(
    event: &Event,
    target: &Target,
    method: Method,
    config: &Config,
    env: &Environment,
) -> Verdict {
    let mut verdict = Verdict::new(
        Decision::AlreadyRevoked,
        format!(
            "{target} already has the {} deny (revoked by iam-warden, confirmed)",
            method.as_str()
        ),
    )
    .about(target);
    if let Some(record) = event.record() {
        verdict.marks = Marks::of(record, config, env);
    }
    verdict
}
