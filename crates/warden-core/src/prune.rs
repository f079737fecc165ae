//! The pruning plan: for one principal, from what IAM Access Advisor reports and what
//! the ledger remembers, which services to deny. Pure: no I/O, time is a parameter.
//!
//! Guards, in order: exempt principals and (unless PRUNE_ADMINS) admins are skipped;
//! principals younger than UNUSED_DAYS are in grace; a missing or incomplete report
//! denies nothing new; a service granted for less than GRANT_GRACE_DAYS (as first
//! seen by the ledger) is not denied; NEVER_DENY_SERVICES are never denied; a denied
//! service stays denied (Access Advisor counts a denied attempt as access) until an
//! operator lifts it, and a lifted service counts as used on the day it was lifted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::principal::{has_name, EntityKind, Target};
pub use crate::prune_config::PruneConfig;
pub use crate::prune_ledger::{Change, LedgerEntry, HISTORY_MAX};
use crate::prune_policy::{deny_documents, is_prune_policy, policy_arn, policy_name, EVERYTHING};

/// A principal as the inventory (GetAccountAuthorizationDetails) describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub kind: EntityKind,
    pub name: String,
    pub arn: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub groups: BTreeSet<String>,
    /// ARNs of the managed policies attached to the principal itself.
    #[serde(default)]
    pub attached: BTreeSet<String>,
    /// The statuses the trust ledger holds for it: a tag or a membership exempts only
    /// with them.
    #[serde(default)]
    pub trusted: BTreeSet<crate::trust::Status>,
    /// IAM's unique id (binds the trust baseline to this very principal).
    #[serde(default)]
    pub unique_id: Option<String>,
    /// A user's row of the credential report, as the run's start read it (users only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<crate::credential_plan::ReportFacts>,
}

impl Subject {
    pub fn target(&self) -> Target {
        Target {
            kind: self.kind,
            name: self.name.clone(),
            arn: self.arn.clone(),
        }
    }
}

/// The managed-policy quotas of the account (GetAccountSummary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    pub user: usize,
    pub role: usize,
}

impl Quotas {
    pub fn of(&self, kind: EntityKind) -> usize {
        match kind {
            EntityKind::User => self.user,
            EntityKind::Role => self.role,
        }
    }
}

/// One granted service and when the principal last authenticated to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUse {
    pub namespace: String,
    pub last_authenticated: Option<DateTime<Utc>>,
}

/// What Access Advisor said about a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Every page of a completed job.
    Complete(Vec<ServiceUse>),
    /// A failed job, an incomplete result, a timeout, a failing API: deny nothing new.
    Unavailable(String),
}

/// The outcome for one principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PruneDecision {
    /// A first deny policy.
    Denied,
    /// The deny set or its policies changed.
    Updated,
    Unchanged,
    Exempt,
    Grace,
    /// Cannot be applied (quota, a name taken by someone else's policy): alerted.
    Skipped,
    /// No usable report or a failed write: nothing new denied, retried next run.
    Failed,
}

impl PruneDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            PruneDecision::Denied => "denied",
            PruneDecision::Updated => "updated",
            PruneDecision::Unchanged => "unchanged",
            PruneDecision::Exempt => "exempt",
            PruneDecision::Grace => "grace",
            PruneDecision::Skipped => "skipped",
            PruneDecision::Failed => "failed",
        }
    }

    /// Decisions that change IAM.
    pub fn writes(self) -> bool {
        matches!(self, PruneDecision::Denied | PruneDecision::Updated)
    }
}

/// A decision taken before asking Access Advisor (it costs two or more calls).
pub fn triage(
    subject: &Subject,
    cfg: &PruneConfig,
    now: DateTime<Utc>,
) -> Option<(PruneDecision, String)> {
    use crate::trust::Status;
    let (key, value) = &cfg.exempt_tag;
    if subject.tags.get(key) == Some(value) && subject.trusted.contains(&Status::Exempt) {
        return Some((
            PruneDecision::Exempt,
            format!("tagged {key}={value}, trusted"),
        ));
    }
    if !cfg.prune_admins
        && has_name(subject.groups.iter(), &cfg.admin_group)
        && subject.trusted.contains(&Status::Admin)
    {
        return Some((
            PruneDecision::Exempt,
            format!("trusted member of {} (PRUNE_ADMINS=false)", cfg.admin_group),
        ));
    }
    if now < subject.created + days(cfg.unused_days) {
        return Some((
            PruneDecision::Grace,
            format!(
                "created {}, less than {} days ago",
                subject.created.format("%Y-%m-%d"),
                cfg.unused_days
            ),
        ));
    }
    None
}

fn days(n: u32) -> chrono::Duration {
    chrono::Duration::days(i64::from(n))
}

/// The plan for one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub decision: PruneDecision,
    pub reason: Option<String>,
    /// The services to deny after this run.
    pub deny: BTreeSet<String>,
    pub newly_denied: BTreeSet<String>,
    /// Policies to write: (name, ARN, document); empty when the deny set is empty.
    pub policies: Vec<PolicyDoc>,
    /// Pruner policies to detach and delete.
    pub remove: Vec<String>,
    /// The ledger entry after this run; `None` when it does not change.
    pub ledger: Option<LedgerEntry>,
    /// The principal used nothing (no service, no credential) for this many days.
    pub unused_for: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDoc {
    pub name: String,
    pub arn: String,
    pub document: String,
}

/// The plan for one principal. `quota` is the account's managed-policy quota for its
/// kind; `by` names the run in the ledger's history.
pub fn plan(
    subject: &Subject,
    report: &Report,
    previous: Option<&LedgerEntry>,
    cfg: &PruneConfig,
    quota: usize,
    now: DateTime<Utc>,
    by: &str,
) -> Plan {
    // An entry of another principal that had this ARN (deleted, its name given to this
    // one) is not this one's: it starts afresh, keeping only the tool's policies named
    // for the ARN (taken off unless wanted).
    let mut reset = None;
    let fresh;
    let previous = match previous {
        Some(p)
            if p.unique_id.is_some()
                && subject.unique_id.is_some()
                && p.unique_id != subject.unique_id =>
        {
            reset = p.unique_id.clone();
            fresh = LedgerEntry {
                policy_arns: p.policy_arns.clone(),
                ..LedgerEntry::new(&subject.arn)
            };
            Some(&fresh)
        }
        other => other,
    };
    let unchanged = |decision, reason: Option<String>| Plan {
        decision,
        reason,
        deny: previous.map(|p| p.denied.clone()).unwrap_or_default(),
        newly_denied: BTreeSet::new(),
        policies: Vec::new(),
        remove: Vec::new(),
        ledger: None,
        unused_for: None,
    };
    if let Some((decision, reason)) = triage(subject, cfg, now) {
        return unchanged(decision, Some(reason));
    }
    let services = match report {
        Report::Complete(services) => services,
        Report::Unavailable(why) => {
            return unchanged(
                PruneDecision::Failed,
                Some(format!("no usable Access Advisor report: {why}")),
            )
        }
    };

    let before = previous
        .cloned()
        .unwrap_or_else(|| LedgerEntry::new(&subject.arn));
    let mut entry = before.clone();
    if subject.unique_id.is_some() {
        entry.unique_id.clone_from(&subject.unique_id);
    }
    if let Some(old) = reset {
        entry.history.push(Change {
            at: now,
            action: "reset".to_owned(),
            services: Vec::new(),
            by: format!(
                "{by} (the entry was another principal's, unique id {old}, that had this ARN)"
            ),
        });
    }
    for s in services {
        entry.first_seen.entry(s.namespace.clone()).or_insert(now);
    }
    let unused_since = now - days(cfg.unused_days);
    let granted_before = now - days(cfg.grant_grace_days);
    let unused: BTreeSet<String> = services
        .iter()
        .filter(|s| !cfg.never_deny.contains(&s.namespace))
        .filter(|s| {
            entry
                .first_seen
                .get(&s.namespace)
                .is_some_and(|first| *first <= granted_before)
        })
        .filter(|s| {
            let lifted = entry.lifted.get(&s.namespace).copied();
            let last = s.last_authenticated.max(lifted);
            last.is_none_or(|t| t < unused_since)
        })
        .map(|s| s.namespace.clone())
        .collect();

    // Sticky: what was denied stays denied, except what NEVER_DENY_SERVICES now names.
    let mut deny: BTreeSet<String> = before
        .denied
        .iter()
        .filter(|s| !cfg.never_deny.contains(*s))
        .cloned()
        .collect();
    deny.extend(unused);
    let unused_for = unused_principal(subject, services, &entry, cfg, now);
    if unused_for.is_some() && cfg.unused_principals == crate::prune_config::PrincipalsMode::Deny {
        deny.insert(EVERYTHING.to_owned());
    }
    let newly_denied: BTreeSet<String> = deny.difference(&before.denied).cloned().collect();
    let dropped: BTreeSet<String> = before.denied.difference(&deny).cloned().collect();

    let policies = deny_documents(&deny, &cfg.never_deny)
        .into_iter()
        .enumerate()
        .map(|(i, document)| {
            let name = policy_name(&cfg.policy_prefix, subject.kind, &subject.name, i);
            PolicyDoc {
                arn: policy_arn(&subject.arn, &name),
                name,
                document,
            }
        })
        .collect::<Vec<_>>();
    let wanted: BTreeSet<&str> = policies.iter().map(|p| p.arn.as_str()).collect();
    let own_attached: BTreeSet<&str> = subject
        .attached
        .iter()
        .map(String::as_str)
        .filter(|a| is_prune_policy(a, &cfg.policy_prefix))
        .collect();
    let remove: Vec<String> = own_attached
        .iter()
        .copied()
        .chain(before.policy_arns.iter().map(String::as_str))
        .filter(|a| !wanted.contains(a))
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let in_place = wanted.iter().all(|a| own_attached.contains(a)) && remove.is_empty();

    entry.denied = deny.clone();
    entry.policy_arns = wanted.iter().map(|a| (*a).to_owned()).collect();
    entry.record(now, "denied", &newly_denied, by);
    if !dropped.is_empty() {
        entry.record(
            now,
            "lifted",
            &dropped,
            &format!("{by} (NEVER_DENY_SERVICES)"),
        );
    }
    let ledger = (entry != before).then_some(entry);

    if deny == before.denied && in_place {
        return Plan {
            decision: PruneDecision::Unchanged,
            reason: None,
            deny,
            newly_denied,
            policies: Vec::new(),
            remove: Vec::new(),
            ledger,
            unused_for,
        };
    }

    let others = subject.attached.len() - own_attached.len();
    if others + policies.len() > quota {
        return Plan {
            decision: PruneDecision::Skipped,
            reason: Some(format!(
                "managed-policy quota: {others} policies attached, {} needed, quota {quota}",
                policies.len()
            )),
            deny: before.denied.clone(),
            newly_denied: BTreeSet::new(),
            policies: Vec::new(),
            remove: Vec::new(),
            // Keep what was observed (first-seen dates), not a deny that is not in place.
            ledger: before.observations_of(ledger.as_ref()),
            unused_for,
        };
    }

    let decision = if before.denied.is_empty() && before.policy_arns.is_empty() {
        PruneDecision::Denied
    } else {
        PruneDecision::Updated
    };
    let reason = if deny == before.denied {
        Some("the deny policies were not in place: restored them".to_owned())
    } else {
        None
    };
    Plan {
        decision,
        reason,
        deny,
        newly_denied,
        policies,
        remove,
        ledger,
        unused_for,
    }
}

/// How long the principal has used nothing, when it has used nothing in UNUSED_DAYS: no
/// service (Access Advisor; a service an operator lifted counts as used that day), no
/// credential (the credential report, for a user), older than UNUSED_DAYS, granted
/// something, and nothing granted within GRANT_GRACE_DAYS (it may be about to start).
fn unused_principal(
    subject: &Subject,
    services: &[ServiceUse],
    entry: &LedgerEntry,
    cfg: &PruneConfig,
    now: DateTime<Utc>,
) -> Option<i64> {
    let window = now - days(cfg.unused_days);
    let granted_before = now - days(cfg.grant_grace_days);
    // Older than UNUSED_DAYS: the plan's triage put a younger principal in grace.
    if services.is_empty()
        || services.iter().any(|s| {
            entry
                .first_seen
                .get(&s.namespace)
                .is_none_or(|first| *first > granted_before)
        })
    {
        return None;
    }
    let credential = match &subject.credentials {
        Some(crate::credential_plan::ReportFacts::Row(row)) => {
            std::iter::once(row.password_last_used)
                .chain(row.keys.iter().map(|k| k.last_used))
                .filter_map(|u| match u {
                    crate::credentials::Used::At(t) => Some(t),
                    _ => None,
                })
                .max()
        }
        _ => None,
    };
    let last = services
        .iter()
        .filter_map(|s| s.last_authenticated)
        .chain(entry.lifted.values().copied())
        .chain(credential)
        .max();
    match last {
        Some(t) if t >= window => None,
        other => Some((now - other.unwrap_or(subject.created)).num_days()),
    }
}

/// The result for one principal, as printed by `warden prune` and put in the digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub principal: String,
    pub kind: EntityKind,
    pub name: String,
    pub decision: PruneDecision,
    pub denied_services: Vec<String>,
    #[serde(default)]
    pub newly_denied: Vec<String>,
    pub policy_arns: Vec<String>,
    pub reason: Option<String>,
    /// The user's credentials gone unused, and what became of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<crate::credential_plan::CredentialOutcome>,
    /// The principal used nothing for this many days (UNUSED_PRINCIPALS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused_for: Option<i64>,
}

impl Outcome {
    pub fn new(subject: &Subject, decision: PruneDecision, reason: Option<String>) -> Self {
        Self {
            principal: subject.arn.clone(),
            kind: subject.kind,
            name: subject.name.clone(),
            decision,
            denied_services: Vec::new(),
            newly_denied: Vec::new(),
            policy_arns: Vec::new(),
            reason,
            credentials: Vec::new(),
            unused_for: None,
        }
    }

    pub fn target(&self) -> Target {
        Target {
            kind: self.kind,
            name: self.name.clone(),
            arn: self.principal.clone(),
        }
    }
}

/// Counts per decision.
pub fn summary(outcomes: &[Outcome]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.decision.as_str()).or_insert(0) += 1;
    }
    counts
}
