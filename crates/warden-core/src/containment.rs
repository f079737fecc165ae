//! Containment: what a caller iam-warden does not allow made before its deny took
//! effect (CloudTrail delivers minutes late) is undone, exactly and reversibly.
//!
//! This file holds what the per-call plan ([`crate::containment_plan`]) and the revoker
//! share: the plan's shape ([`Plan`], [`Need`], [`Known`]), whose grants are reported
//! rather than undone ([`guard_of`]), the quarantine and its fallbacks at the quotas, a
//! role's older sessions revoked, the self-service credential calls, and what was
//! contained, for the notice.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::action::{Action, ActionState, Holder};
use crate::config::{Config, Contain, Mode};
use crate::decision::Decision;
use crate::event::CloudTrailRecord;
use crate::facts::Facts;
use crate::grant::{standing, Standing};
use crate::principal::{has_name, same_name, EntityKind, Principal, Target};
use crate::trust::Status;

/// The inline policy that revokes a role's sessions issued before a time (as IAM's
/// "Revoke active sessions" does with `AWSRevokeOlderSessions`).
pub const SESSIONS_POLICY_NAME: &str = "iam-warden-revoke-older-sessions";
/// The inline quarantine, when there is no managed one or the managed-policy quota is full.
pub const QUARANTINE_INLINE_NAME: &str = "iam-warden-quarantine";
/// The quarantine's document: deny everything.
pub const QUARANTINE_POLICY: &str = include_str!("../../../policies/quarantine.json");

/// The calls that make a credential for a user: contained also when a revoked or
/// quarantined caller made them for itself (a self-service call, otherwise ignored).
pub const CREDENTIAL_CALLS: [&str; 11] = [
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "CreateServiceSpecificCredential",
    "UploadSSHPublicKey",
    "UploadSigningCertificate",
    "UpdateAccessKey",
    "UpdateSSHPublicKey",
    "UpdateSigningCertificate",
    "UpdateServiceSpecificCredential",
    "ResetServiceSpecificCredential",
];

/// The caller's own user, when the call is a self-service credential call (its own
/// access key, password, other credential), which the decision ignores.
pub fn self_service_credential(
    record: &CloudTrailRecord,
    caller: &Principal,
    config: &Config,
) -> Option<Target> {
    let Principal::IamUser(user) = caller else {
        return None;
    };
    let name = record.event_name.as_deref().unwrap_or_default();
    (CREDENTIAL_CALLS.contains(&name) && crate::decision::is_self_service(record, user, config))
        .then(|| Target::user(user))
}

/// Whom the containment of a call applies to, or what it needs to know first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Contain what the call made.
    Contain,
    /// Nothing to contain.
    Leave,
    /// A self-service credential call of a caller not stopped (yet): its containment is
    /// recorded, held, and carried out if the caller is stopped later (the events of its
    /// other calls may be decided after this one).
    Hold(Target),
    /// Whether the alerted session's role (named) is untrusted: neither trusted, exempt
    /// nor one of the tool's.
    AskUntrusted(String),
    /// Whether this self-service caller is stopped: revoked, or quarantined by the tool.
    AskStopped(Target),
}

/// Whom containment applies to, by CONTAIN, the decision and a self-service credential
/// call; the first row that matches decides, and a row asks only for what it needs:
///
/// | CONTAIN | decision | contained |
/// |---|---|---|
/// | off | any | nothing |
/// | revoked, all | revoked, already-revoked, would-revoke | what the call made |
/// | all | alerted: a role session whose role is untrusted | what the call made |
/// | revoked, all | ignored: a self-service credential call of a stopped caller | what the call made |
/// | revoked, all | ignored: the same, its caller not stopped | held (MODE=enforce), until it is |
/// | otherwise | | nothing |
pub fn scope(
    record: &CloudTrailRecord,
    caller: &Principal,
    decision: Decision,
    config: &Config,
    untrusted: Option<bool>,
    stopped: Option<bool>,
) -> Scope {
    match (config.contain, decision) {
        (Contain::Off, _) => Scope::Leave,
        (_, Decision::Revoked | Decision::AlreadyRevoked | Decision::WouldRevoke) => Scope::Contain,
        // An Identity Center session whose permission set may not manage IAM: its roles
        // cannot be changed through IAM, what it made is contained as a revoked caller's.
        // A role of an admin permission set that the trust ledger does not hold (a new
        // one since the set was configured) is contained only with UNVERIFIED_TRUST=revoke.
        (_, Decision::Alerted)
            if matches!(caller, Principal::IdentityCenterRole { role, .. }
                if crate::identity_center::permission_set(&role.name)
                    .is_none_or(|set| !config.admin_permission_sets.contains(set))
                    || config.unverified == crate::config::Unverified::Revoke) =>
        {
            Scope::Contain
        }
        (Contain::All, Decision::Alerted) => match (caller, untrusted) {
            (Principal::AssumedRole { role, .. }, None) => Scope::AskUntrusted(role.name.clone()),
            (Principal::AssumedRole { .. }, Some(true)) => Scope::Contain,
            _ => Scope::Leave,
        },
        (_, Decision::Ignored) => {
            match (self_service_credential(record, caller, config), stopped) {
                (None, _) => Scope::Leave,
                (Some(user), None) => Scope::AskStopped(user),
                (Some(_), Some(true)) => Scope::Contain,
                (Some(user), Some(false)) if config.mode == Mode::Enforce => Scope::Hold(user),
                (Some(_), Some(false)) => Scope::Leave,
            }
        }
        _ => Scope::Leave,
    }
}

/// The Identity Center user to deny IAM by the tool's SCP for this decided event
/// (SESSION_SCP=on, [`crate::session_scp`]): an Identity Center session, alerted, whose
/// permission set may not manage IAM. Stopping the caller: whatever CONTAIN says.
pub fn person_to_stop(
    record: &CloudTrailRecord,
    caller: &Principal,
    decision: Decision,
    config: &Config,
) -> Option<crate::session_scp::Person> {
    let Principal::IdentityCenterRole { role, .. } = caller else {
        return None;
    };
    let admin_set = crate::identity_center::permission_set(&role.name)
        .is_some_and(|set| config.admin_permission_sets.contains(set));
    (config.session_scp && decision == Decision::Alerted && !admin_set)
        .then(|| crate::session_scp::Person::of(record))
        .flatten()
}

/// Why a grant to an existing principal is reported, not undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// A trusted admin (the trust ledger).
    TrustedAdmin,
    /// A trusted exempt principal, or one listed in EXEMPT_PRINCIPALS.
    Exempt,
    /// One of iam-warden's own roles.
    Tool,
    /// The admin group: its grants are its trusted members'. (Another group's members
    /// are the caller's to change: a trusted one in it shields nothing.)
    AdminGroup,
}

impl Guard {
    pub fn as_str(&self) -> &'static str {
        match self {
            Guard::TrustedAdmin => "a trusted admin",
            Guard::Exempt => "an exempt principal",
            Guard::Tool => "one of iam-warden's own roles",
            Guard::AdminGroup => "the admin group",
        }
    }
}

/// A version of a managed policy, as IAM lists it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub id: String,
    pub is_default: bool,
    /// When it was made (IAM's CreateDate).
    pub created: Option<DateTime<Utc>>,
}

/// What the plan needs beyond the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Whether this principal (or group) is guarded.
    Guard(Holder, String),
    /// The versions of this managed policy (which one was the default before the call).
    Versions(String),
}

/// What the service found out for [`Need`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub guard: Option<Guard>,
    /// `None`: not asked, or the policy no longer exists.
    pub versions: Option<Vec<PolicyVersion>>,
    /// The same grant made earlier by someone else and not taken away since (CloudTrail):
    /// the call changed nothing, `(by, event id)`.
    pub earlier: Option<(String, String)>,
    /// A role's trust document before the call (CloudTrail), `(document, event id)`.
    pub previous_trust: Option<(String, String)>,
}

/// Something left for a person: what, and the exact command that undoes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Manual {
    pub what: String,
    pub command: String,
}

/// The containment of one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// What the call did, for people: `iam:CreateUser userName=backdoor`.
    pub what: String,
    /// In order; each recorded before it is taken.
    pub actions: Vec<Action>,
    /// Reported with a command, not undone.
    pub manual: Vec<Manual>,
    /// Why nothing (more) is done, when that is the case.
    pub note: Option<String>,
    /// A person should look at the call (it changed something the event does not let
    /// iam-warden undo: destructive, not listed, or without the identifiers needed).
    pub review: bool,
    /// The principal the call created, by the unique id its response carries: the
    /// actions on it follow that id, whatever its name is when they are taken.
    pub created: Option<Created>,
}

/// A principal a call created: its name then, and the unique id IAM gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub kind: EntityKind,
    pub name: String,
    pub id: String,
}

/// A contained event, for the notice: the plan, the state of each action, and whether
/// its notice already went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contained {
    /// The caller ([`crate::grant::actor`]) and its event.
    pub by: String,
    pub event_id: String,
    pub plan: Plan,
    /// One per action of the plan (`Planned` in MODE=report: nothing was done).
    pub states: Vec<ActionState>,
    pub planned_only: bool,
    pub notified: bool,
}

impl Contained {
    /// Worth a notice of its own (an event after the revoking one): something was
    /// contained or refused, a person has a step to take, or a call to review. Not an
    /// event whose artifacts were all gone, nor one that changed nothing.
    pub fn worth_a_notice(&self) -> bool {
        self.did_something()
            || self.states.contains(&ActionState::Failed)
            || !self.plan.manual.is_empty()
            || self.plan.review
    }

    /// Something was (or, in MODE=report, would be) changed.
    pub fn did_something(&self) -> bool {
        !self.plan.actions.is_empty()
            && (self.planned_only || self.states.contains(&ActionState::Done))
    }

    /// One line per action and per manual step, for people (the plan's note is not
    /// one: nothing was done).
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .plan
            .actions
            .iter()
            .zip(
                self.states
                    .iter()
                    .chain(std::iter::repeat(&ActionState::Planned)),
            )
            .map(|(action, state)| match (self.planned_only, state) {
                (true, _) => format!("would have {action} (MODE=report)"),
                (false, ActionState::Gone) => {
                    format!("{} was already gone (nothing to contain)", action.subject())
                }
                (false, ActionState::Failed) => format!(
                    "FAILED, IAM refused it for good (the reason is in `warden status`): {action}"
                ),
                (false, ActionState::Planned) => format!("not done yet: {action}"),
                (false, _) => action.to_string(),
            })
            .collect();
        out.extend(
            self.plan
                .manual
                .iter()
                .map(|m| format!("left for you: {}; to undo it: {}", m.what, m.command)),
        );
        out
    }
}

/// Whether `warden restore` must leave an undo unapplied: it would put one of the tool's
/// own denies on a principal (its deny or quarantine policy, a policy under one of its
/// inline names, its quarantine as a boundary). The tool removed such a thing only as a
/// lock-out (on a principal it never stops) or an imitation: putting it back would
/// re-arm it, so the caller's restore never does.
pub fn never_restored(undo: &Action, config: &Config) -> bool {
    match undo {
        Action::AttachPolicy { policy_arn, .. } => is_tool_policy(policy_arn, config),
        Action::PutInlinePolicy { policy_name, .. } => is_tool_inline(policy_name, config),
        Action::SetBoundary {
            boundary: Some(boundary),
            ..
        } => is_tool_policy(boundary, config) || crate::revocation::is_tool_boundary(boundary),
        _ => false,
    }
}

/// Whether two recorded actions hold the same containment in place: the same action, or
/// the same kind of measure on the same principal (a role's sessions revoked at another
/// time is the same revocation).
pub fn same_containment(a: &Action, b: &Action) -> bool {
    let sessions = |x: &Action| matches!(x, Action::PutInlinePolicy { policy_name, .. } if policy_name == SESSIONS_POLICY_NAME);
    a == b || (sessions(a) && sessions(b) && a.subject() == b.subject())
}

/// One of the tool's own managed policies: the deny or the quarantine.
pub fn is_tool_policy(arn: &str, config: &Config) -> bool {
    arn == config.deny_policy_arn || config.quarantine_policy_arn.as_deref() == Some(arn)
}

/// One of the tool's own inline policy names: the inline deny, the inline quarantine,
/// a role's session revocation.
pub fn is_tool_inline(name: &str, config: &Config) -> bool {
    name == config.inline_policy_name
        || name == QUARANTINE_INLINE_NAME
        || name == SESSIONS_POLICY_NAME
}

/// Whether an inline policy's document is the tool's quarantine (compared as JSON:
/// whitespace and key order do not matter). Under the quarantine's name, any other
/// document is an imitation: it makes nobody stopped.
pub fn is_quarantine_document(document: &str) -> bool {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    parse(document).is_some_and(|doc| parse(QUARANTINE_POLICY) == Some(doc))
}

/// The quarantine of a principal: the managed quarantine policy, or the inline one
/// when QUARANTINE_POLICY_ARN is not set.
pub fn quarantine(holder: Holder, name: &str, config: &Config) -> Action {
    match &config.quarantine_policy_arn {
        Some(arn) => Action::AttachPolicy {
            holder,
            name: name.to_owned(),
            policy_arn: arn.clone(),
        },
        None => quarantine_inline(holder, name),
    }
}

/// The inline quarantine: at the managed-policy quota, or without a managed one.
pub fn quarantine_inline(holder: Holder, name: &str) -> Action {
    Action::PutInlinePolicy {
        holder,
        name: name.to_owned(),
        policy_name: QUARANTINE_INLINE_NAME.to_owned(),
        document: QUARANTINE_POLICY.to_owned(),
    }
}

/// What to do instead of `action` when IAM refuses it at a quota (the caller can fill
/// its creation's quotas before the events arrive): the managed quarantine becomes the
/// inline one, the inline one (or a role's sessions' revocation) a permissions boundary
/// that is the quarantine policy (every principal has room for one; `replacing` is read
/// before it is set). `None`: no fallback.
pub fn fallback(action: &Action, config: &Config) -> Option<Action> {
    let quarantine = config.quarantine_policy_arn.as_deref();
    match action {
        Action::AttachPolicy {
            holder,
            name,
            policy_arn,
        } if quarantine == Some(policy_arn.as_str()) => Some(quarantine_inline(*holder, name)),
        Action::PutInlinePolicy {
            holder,
            name,
            policy_name,
            ..
        } if policy_name == QUARANTINE_INLINE_NAME && *holder != Holder::Group => {
            quarantine.map(|arn| Action::SetBoundary {
                holder: *holder,
                name: name.clone(),
                boundary: Some(arn.to_owned()),
                replacing: None,
            })
        }
        // A role's sessions, at its full inline room (the caller can fill it): the
        // quarantine as its boundary stops every session, old and new, reversibly (a
        // stolen session would otherwise keep working until it expires).
        Action::PutInlinePolicy {
            holder: Holder::Role,
            name,
            policy_name,
            ..
        } if policy_name == SESSIONS_POLICY_NAME => quarantine.map(|arn| Action::SetBoundary {
            holder: Holder::Role,
            name: name.clone(),
            boundary: Some(arn.to_owned()),
            replacing: None,
        }),
        _ => None,
    }
}

/// The trust policy of the tool's own roles, as the stack gives it: Lambda, for this
/// account's functions only.
pub fn tool_trust_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    })
    .to_string()
}

/// The canary role's trust, as the stack makes it: nobody may assume it.
pub fn canary_trust_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// The revocation of the sessions of one of the tool's function roles issued before
/// `before`, but the functions' own: their credentials carry `lambda:SourceFunctionArn`
/// (one of `functions`), which no other session has (a negated condition holds when its
/// key is absent).
pub fn revoke_sessions_but(role: &str, before: DateTime<Utc>, functions: &[String]) -> Action {
    let time = before.to_rfc3339_opts(SecondsFormat::Secs, true);
    let document = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "IamWardenRevokeOlderSessionsButTheFunctions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": time},
                "ArnNotEquals": {"lambda:SourceFunctionArn": functions}
            }
        }]
    });
    Action::PutInlinePolicy {
        holder: Holder::Role,
        name: role.to_owned(),
        policy_name: SESSIONS_POLICY_NAME.to_owned(),
        document: document.to_string(),
    }
}

/// The revocation of a role's sessions issued before `before`: a deny of everything
/// conditioned on `aws:TokenIssueTime`, so that sessions issued later are untouched.
pub fn revoke_sessions(role: &str, before: DateTime<Utc>) -> Action {
    let time = before.to_rfc3339_opts(SecondsFormat::Secs, true);
    let document = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "IamWardenRevokeOlderSessions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": time}}
        }]
    });
    Action::PutInlinePolicy {
        holder: Holder::Role,
        name: role.to_owned(),
        policy_name: SESSIONS_POLICY_NAME.to_owned(),
        document: document.to_string(),
    }
}

/// Whether EXEMPT_PRINCIPALS lists an ARN of the principal `kind`/`name` (any path).
pub fn named_in_list(kind: EntityKind, name: &str, config: &Config) -> bool {
    config
        .exempt_principals
        .iter()
        .any(|arn| names(arn, kind, name))
}

/// Whether `arn` is the ARN of the principal `kind`/`name` (any path).
fn names(arn: &str, kind: EntityKind, name: &str) -> bool {
    arn.split_once(&format!(":{}/", kind.as_str()))
        .is_some_and(|(_, path)| path.rsplit('/').next().is_some_and(|n| same_name(n, name)))
}

/// Whether grants to `name` are reported rather than undone: the admin group, the
/// tool's own roles (`tool_roles`), a principal listed in EXEMPT_PRINCIPALS (by the unique
/// id recorded for it), or one the trust ledger trusts as admin or exempt (`facts`:
/// IAM's, with the ledger's entries).
pub fn guard_of(
    holder: Holder,
    name: &str,
    facts: Option<&Facts>,
    config: &Config,
    tool_roles: &[String],
) -> Option<Guard> {
    let Some(kind) = holder.kind() else {
        return same_name(name, &config.admin_group).then_some(Guard::AdminGroup);
    };
    if kind == EntityKind::Role && has_name(tool_roles.iter(), name) {
        return Some(Guard::Tool);
    }
    // Listed, and the principal holding the name now is the one listed (its unique id is
    // the one recorded for the listing): a name taken over guards nothing.
    let facts = facts?;
    if named_in_list(kind, name, config) && facts.listed.iter().any(|arn| names(arn, kind, name)) {
        return Some(Guard::Exempt);
    }
    let target = Target {
        kind,
        name: name.to_owned(),
        arn: String::new(),
    };
    let trusted = |status| {
        matches!(
            standing(status, &target, facts, config),
            Standing::Trusted(_)
        )
    };
    if trusted(Status::Admin) {
        Some(Guard::TrustedAdmin)
    } else if trusted(Status::Exempt) {
        Some(Guard::Exempt)
    } else {
        None
    }
}
