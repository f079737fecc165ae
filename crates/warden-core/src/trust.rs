//! Trust: who may manage IAM, recorded by the tool and never read off the principal.
//!
//! Membership of ADMIN_GROUP_NAME and the EXEMPT_TAG are things a caller who may write IAM
//! can give itself in one call, minutes before its events arrive. So they count only
//! when the **trust ledger** also holds them: the baseline taken when the tool was set
//! up, a grant the tool saw a trusted admin make, or an operator's `warden trust`. A
//! principal that holds the status without the ledger is *unverified*: its grant is
//! looked for in CloudTrail, waited for a bounded time, and otherwise decided by
//! UNVERIFIED_TRUST. A grant made by anyone who may not grant is an *escalation*: it is
//! undone (a recorded, reversible [`crate::action::Action`]) and its caller decided as the non-admin
//! it was.
//!
//! This module holds the ledger's words (statuses, entries, the trusted set, its changes,
//! the baseline) and what a look-up for a grant found; [`crate::grant`] reads the calls
//! that change trust and who may make them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::principal::{has_name, same_name, EntityKind};

/// The two statuses that exempt a principal from revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A member of ADMIN_GROUP_NAME (users only).
    Admin,
    /// A holder of EXEMPT_TAG (users and roles).
    Exempt,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Admin => "admin",
            Status::Exempt => "exempt",
        }
    }

    /// The IAM calls that grant this status or take it away, for the CloudTrail look-up.
    pub fn grant_calls(self, kind: EntityKind) -> &'static [&'static str] {
        match (self, kind) {
            (Status::Admin, EntityKind::User) => {
                &["AddUserToGroup", "RemoveUserFromGroup", "DeleteGroup"]
            }
            (Status::Admin, EntityKind::Role) => &[],
            (Status::Exempt, EntityKind::User) => &["TagUser", "CreateUser", "UntagUser"],
            (Status::Exempt, EntityKind::Role) => &["TagRole", "CreateRole", "UntagRole"],
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a trust entry comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum Provenance {
    /// Held the status when the tool was set up (`warden init`, or the first start).
    Baseline,
    /// Granted by a trusted admin in the event `event_id` (seen by the revoker, or found
    /// in CloudTrail).
    Grant { by: String, event_id: String },
    /// Vouched for by an operator with `warden trust`.
    Operator { by: String },
    /// A role whose sessions wrote IAM (successfully) in the days before the tool first
    /// stopped role sessions (ROLE_MODE=session): a deployment pipeline is not locked
    /// out by a first run. Trusted by this entry alone (no tag needed).
    Pipeline { writes: usize, days: u32 },
    /// An IAM Identity Center role of a permission set in ADMIN_PERMISSION_SETS, recorded
    /// by its unique id when the set was first configured (only Identity Center makes
    /// roles at its path), or vouched for by an operator (`by`) with `warden trust`.
    PermissionSet {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
}

impl Provenance {
    /// Whether the entry alone makes its role hold the exempt status (no tag needed).
    pub fn holds_alone(&self) -> bool {
        matches!(
            self,
            Provenance::Pipeline { .. } | Provenance::PermissionSet { .. }
        )
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::Baseline => f.write_str("baseline"),
            Provenance::Grant { by, event_id } => write!(f, "granted by {by} (event {event_id})"),
            Provenance::Operator { by } => write!(f, "vouched for by {by} (warden trust)"),
            Provenance::Pipeline { writes, days } => write!(
                f,
                "its sessions wrote IAM {writes} time(s) in the {days} days before iam-warden stopped role sessions"
            ),
            Provenance::PermissionSet { name, by: None } => write!(
                f,
                "the Identity Center permission set `{name}` (ADMIN_PERMISSION_SETS)"
            ),
            Provenance::PermissionSet { name, by: Some(by) } => write!(
                f,
                "the Identity Center permission set `{name}` (ADMIN_PERMISSION_SETS), vouched for by {by} (warden trust)"
            ),
        }
    }
}

/// One trusted status of one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustEntry {
    pub status: Status,
    pub kind: EntityKind,
    /// IAM names are unique per kind in an account, whatever the path: events name
    /// grantees by name only.
    pub name: String,
    /// IAM's unique id of the principal trusted: a principal that takes the name later
    /// (a rename, a re-created user or role) is not it.
    #[serde(default)]
    pub unique_id: Option<String>,
    pub provenance: Provenance,
    pub at: DateTime<Utc>,
}

impl TrustEntry {
    /// The entry's key in the ledger: `admin:user/alice`.
    pub fn key(&self) -> String {
        key(self.status, self.kind, &self.name)
    }
}

pub fn key(status: Status, kind: EntityKind, name: &str) -> String {
    format!("{}:{}/{name}", status.as_str(), kind.as_str())
}

/// The trusted set of one account: what the ledger holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSet {
    pub account: String,
    pub entries: BTreeMap<String, TrustEntry>,
    /// EXEMPT_PRINCIPALS as first resolved: each listed ARN to the unique id IAM had for
    /// it then. A listed principal is known by that id, never by its name (which another
    /// principal can take).
    pub listed: BTreeMap<String, String>,
    /// The admin group's unique id, as first recorded: the admin group is the group with
    /// this id, whatever it is named now (a rename of it is tampering, put back).
    pub admin_group_id: Option<String>,
    /// When the sessions baseline was taken (the roles whose sessions wrote IAM before):
    /// once per account, on the first start that stops role sessions.
    pub sessions_baseline: Option<String>,
    /// When the tool first set out to stop role sessions (the first attempt at the
    /// sessions baseline): only IAM writes made before it count for the baseline, so a
    /// write made since (an attacker's, revoked) never makes its role trusted.
    pub sessions_started: Option<String>,
}

impl TrustSet {
    /// The entry of a principal for a status, its name compared as IAM compares names
    /// (an event may name `ALICE`, the ledger `alice`).
    pub fn get(&self, status: Status, kind: EntityKind, name: &str) -> Option<&TrustEntry> {
        self.entries.get(&key(status, kind, name)).or_else(|| {
            self.entries
                .values()
                .find(|e| e.status == status && e.kind == kind && same_name(&e.name, name))
        })
    }

    /// The entries of one principal, by status (for its facts).
    pub fn of(&self, kind: EntityKind, name: &str) -> BTreeMap<Status, TrustEntry> {
        [Status::Admin, Status::Exempt]
            .into_iter()
            .filter_map(|s| self.get(s, kind, name).map(|e| (s, e.clone())))
            .collect()
    }

    /// The listed ARNs whose recorded unique id is `unique_id`.
    pub fn listed_as(&self, unique_id: Option<&str>) -> Vec<String> {
        let Some(id) = unique_id else {
            return Vec::new();
        };
        self.listed
            .iter()
            .filter(|(_, recorded)| *recorded == id)
            .map(|(arn, _)| arn.clone())
            .collect()
    }

    /// Applies a change to the set (the ledger's adapter does the same to the item).
    pub fn apply(&mut self, change: &LedgerChange) {
        match change {
            LedgerChange::Put(e) => {
                self.entries.insert(e.key(), e.clone());
            }
            LedgerChange::Remove(k) => {
                self.entries.remove(k);
            }
            LedgerChange::List { arn, unique_id } => {
                self.listed
                    .entry(arn.clone())
                    .or_insert_with(|| unique_id.clone());
            }
            LedgerChange::Unlist(arn) => {
                self.listed.remove(arn);
            }
            LedgerChange::AdminGroup(id) => {
                self.admin_group_id.get_or_insert_with(|| id.clone());
            }
            LedgerChange::SessionsBaseline(at) => {
                self.sessions_baseline.get_or_insert_with(|| at.clone());
            }
            LedgerChange::SessionsStarted(at) => {
                self.sessions_started.get_or_insert_with(|| at.clone());
            }
        }
    }
}

/// A write to the trust ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerChange {
    Put(TrustEntry),
    /// Removes the entry of this key (no error when absent).
    Remove(String),
    /// Records the unique id of a listed ARN, unless one is recorded (the first stands).
    List {
        arn: String,
        unique_id: String,
    },
    /// Forgets a listed ARN's id (it is no longer listed).
    Unlist(String),
    /// Records the admin group's unique id, unless one is recorded (the first stands).
    AdminGroup(String),
    /// Records when the sessions baseline was taken, unless it was (the first stands).
    SessionsBaseline(String),
    /// Records when the tool first set out to stop role sessions (the first stands).
    SessionsStarted(String),
}

/// How far back the sessions baseline looks for roles whose sessions wrote IAM.
pub const PIPELINE_DAYS: u32 = 7;

/// The sessions baseline (issue 19): the roles whose sessions wrote IAM successfully in
/// `records` (CloudTrail's IAM events of the last [`PIPELINE_DAYS`] days), with how
/// often, by role unique id. Never the tool's own roles, service-linked roles, Identity
/// Center roles, another account's, failed or read-only calls.
pub fn pipelines(
    records: &[crate::event::CloudTrailRecord],
    env: &crate::config::Environment,
) -> BTreeMap<String, (String, usize)> {
    let mut found: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for record in records {
        if record.is_failed() || record.is_read_only() || !record.is_iam_api_call() {
            continue;
        }
        if record.recipient_account_id.as_deref() != Some(env.account_id.as_str()) {
            continue;
        }
        let principal = crate::principal::Principal::classify(record);
        if env.is_tool(&principal) {
            continue;
        }
        if let crate::principal::Principal::AssumedRole { role, .. } = principal {
            if let Some(id) = role.id {
                found.entry(id).or_insert((role.name, 0)).1 += 1;
            }
        }
    }
    found
}

/// The baseline: every member of the admin group and every holder of the exempt tag,
/// as found when the tool is set up. `principals` are (kind, name, groups, tags).
pub fn baseline<'a>(
    account: &str,
    principals: impl IntoIterator<
        Item = (
            EntityKind,
            &'a str,
            Option<&'a str>,
            &'a std::collections::BTreeSet<String>,
            &'a BTreeMap<String, String>,
        ),
    >,
    admin_group: &str,
    exempt_tag: &(String, String),
    now: DateTime<Utc>,
) -> TrustSet {
    let mut set = TrustSet {
        account: account.to_owned(),
        ..TrustSet::default()
    };
    for (kind, name, unique_id, groups, tags) in principals {
        let mut statuses = Vec::new();
        if kind == EntityKind::User && has_name(groups.iter(), admin_group) {
            statuses.push(Status::Admin);
        }
        if tags.get(&exempt_tag.0) == Some(&exempt_tag.1) {
            statuses.push(Status::Exempt);
        }
        for status in statuses {
            set.apply(&LedgerChange::Put(TrustEntry {
                status,
                kind,
                name: name.to_owned(),
                unique_id: unique_id.map(str::to_owned),
                provenance: Provenance::Baseline,
                at: now,
            }));
        }
    }
    set
}

/// What CloudTrail (or the batch itself) says about an unverified status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The call that granted it, and whether its caller could grant.
    Granted {
        by: String,
        event_id: String,
        authorized: bool,
    },
    /// No grant found. `wait`: how much longer to wait for it to arrive (CloudTrail's
    /// delivery delay), `None` when the wait is over and UNVERIFIED_TRUST decides.
    NotFound { wait: Option<Duration> },
    /// CloudTrail did not answer the look-up (throttled: LookupEvents allows two requests
    /// a second per account, which anyone may use up; or unavailable), `why`. Waited for
    /// like `NotFound`, asked again sooner; then UNVERIFIED_TRUST decides.
    Unanswered { wait: Option<Duration>, why: String },
}

/// How soon a look-up CloudTrail did not answer is asked again (within the trust wait).
pub const LOOKUP_RETRY: Duration = Duration::from_secs(60);

/// How long an unverified principal's event may still wait for its grant:
/// `Some(left)` while `now < eventTime + bound`, `None` after (or without a time).
pub fn wait_left(
    event_time: Option<&str>,
    now: DateTime<Utc>,
    bound: Duration,
) -> Option<Duration> {
    let at = DateTime::parse_from_rfc3339(event_time?).ok()?;
    let until = at.with_timezone(&Utc) + chrono::TimeDelta::from_std(bound).ok()?;
    (until - now).to_std().ok().filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_left_counts_from_the_event_time() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let bound = Duration::from_secs(900);
        assert_eq!(
            wait_left(Some("2026-11-25T10:00:00Z"), now, bound),
            Some(Duration::from_secs(300))
        );
        assert_eq!(wait_left(Some("2026-11-25T09:55:00Z"), now, bound), None);
        assert_eq!(wait_left(Some("2026-11-25T09:54:59Z"), now, bound), None);
        assert_eq!(
            wait_left(Some("2026-11-25T09:55:01Z"), now, bound),
            Some(Duration::from_secs(1))
        );
        assert_eq!(wait_left(None, now, bound), None);
        assert_eq!(wait_left(Some("yesterday"), now, bound), None);
        assert_eq!(
            wait_left(Some("2026-11-25T10:00:00Z"), now, Duration::ZERO),
            None
        );
    }
}
