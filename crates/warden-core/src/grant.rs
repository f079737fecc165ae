//! Grants and escalations: the standing of a principal for a status (what it holds in
//! IAM against what the trust ledger holds), the IAM calls that give or take trust, who
//! may make them, and how an escalation is undone (see [`crate::trust`]).
//!
//! Everything here is pure: the revoker reads IAM, the ledger and CloudTrail through
//! the ports and asks these functions what they mean.

use chrono::{DateTime, Utc};

use crate::action::{actor_key, Action};
use crate::config::Config;
use crate::event::CloudTrailRecord;
use crate::facts::Facts;
use crate::principal::{has_name, same_name, EntityKind, Principal, Target};
use crate::trust::{key, LedgerChange, Provenance, Status, TrustEntry, TrustSet};

/// How far back CloudTrail is searched for the grant of an unverified principal.
pub const GRANT_LOOKBACK: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Whether a principal holds a status, and whether the ledger vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Holds the status (membership, tag) and the ledger has it.
    Trusted(TrustEntry),
    /// Holds it, the ledger does not: membership or a tag alone is not trust.
    Unverified,
    /// Does not hold it (whatever the ledger says: a status taken away ends trust).
    Absent,
}

/// The standing of `target` for `status`, from its current IAM facts and the ledger's
/// entries for it (in `facts.trusted`).
pub fn standing(status: Status, target: &Target, facts: &Facts, config: &Config) -> Standing {
    let holds = match status {
        Status::Admin => {
            target.kind == EntityKind::User && has_name(facts.groups.iter(), &config.admin_group)
        }
        Status::Exempt => {
            let (k, v) = &config.exempt_tag;
            // A pipeline role of the sessions baseline holds it by its entry alone.
            facts.tags.get(k) == Some(v)
                || (target.kind == EntityKind::Role
                    && facts
                        .trusted
                        .get(&status)
                        .is_some_and(|e| e.provenance.holds_alone()))
        }
    };
    if !holds {
        return Standing::Absent;
    }
    match facts.trusted.get(&status) {
        // The entry is for this very principal: same unique id when both are known.
        Some(entry)
            if entry.unique_id.is_none()
                || facts.unique_id.is_none()
                || entry.unique_id == facts.unique_id =>
        {
            Standing::Trusted(entry.clone())
        }
        _ => Standing::Unverified,
    }
}

/// A change of trust that an IAM call makes. Two are equal when IAM would take them for
/// the same change: their names compared without regard to case.
#[derive(Debug, Clone, Eq)]
pub enum Grant {
    /// Gives `status` to a principal: AddUserToGroup to the admin group, or the exempt
    /// tag (TagUser / TagRole with the tag's key and value).
    Give {
        status: Status,
        kind: EntityKind,
        name: String,
    },
    /// Takes `status` away: RemoveUserFromGroup, the tag removed or given another value.
    Take {
        status: Status,
        kind: EntityKind,
        name: String,
    },
    /// The admin group deleted or renamed away: nobody is a trusted admin any more.
    TakeAllAdmins,
    /// A group created as, or renamed to, the admin group's name: its members are
    /// admins if its caller may grant (read them from IAM), an escalation otherwise.
    GroupBecomesAdmin { group: String },
}

impl PartialEq for Grant {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Grant::Give { status, kind, name },
                Grant::Give {
                    status: s,
                    kind: k,
                    name: n,
                },
            )
            | (
                Grant::Take { status, kind, name },
                Grant::Take {
                    status: s,
                    kind: k,
                    name: n,
                },
            ) => status == s && kind == k && same_name(name, n),
            (Grant::TakeAllAdmins, Grant::TakeAllAdmins) => true,
            (Grant::GroupBecomesAdmin { group }, Grant::GroupBecomesAdmin { group: g }) => {
                same_name(group, g)
            }
            _ => false,
        }
    }
}

impl Grant {
    pub fn gives(&self) -> bool {
        matches!(self, Grant::Give { .. } | Grant::GroupBecomesAdmin { .. })
    }

    /// What it does, for notices.
    pub fn describe(&self, config: &Config) -> String {
        let (k, v) = &config.exempt_tag;
        match self {
            Grant::Give {
                status: Status::Admin,
                name,
                ..
            } => format!("added user/{name} to `{}`", config.admin_group),
            Grant::Give { kind, name, .. } => {
                format!("tagged {}/{name} `{k}={v}`", kind.as_str())
            }
            Grant::Take {
                status: Status::Admin,
                name,
                ..
            } => format!("removed user/{name} from `{}`", config.admin_group),
            Grant::Take { kind, name, .. } => {
                format!("took the tag `{k}` off {}/{name}", kind.as_str())
            }
            Grant::TakeAllAdmins => {
                format!("deleted or renamed the group `{}`", config.admin_group)
            }
            Grant::GroupBecomesAdmin { group } => {
                format!(
                    "made the group `{group}` the admin group `{}`",
                    config.admin_group
                )
            }
        }
    }
}

/// The change of trust a successful IAM call makes, if any. Failed calls changed nothing.
pub fn grant_of(record: &CloudTrailRecord, config: &Config) -> Option<Grant> {
    if record.is_failed() || !record.is_iam_api_call() {
        return None;
    }
    let admin = config.admin_group.as_str();
    let (tag_key, tag_value) = &config.exempt_tag;
    let p = |key: &str| record.request_param(key);
    // IAM names compare without regard to case: `administrators` is the admin group.
    let is_admin = |key: &str| p(key).is_some_and(|g| same_name(g, admin));
    let name = record.event_name.as_deref()?;
    let tagged = |kind: EntityKind, who: &str| -> Option<Grant> {
        let tags = record
            .request_parameters
            .as_ref()?
            .get("tags")?
            .as_array()?;
        let value = tags
            .iter()
            .find_map(|t| (t.get("key")?.as_str()? == tag_key).then(|| t.get("value")?.as_str()))?;
        Some(if value == Some(tag_value.as_str()) {
            Grant::Give {
                status: Status::Exempt,
                kind,
                name: who.to_owned(),
            }
        } else {
            Grant::Take {
                status: Status::Exempt,
                kind,
                name: who.to_owned(),
            }
        })
    };
    let untagged = |kind: EntityKind, who: &str| -> Option<Grant> {
        let keys = record
            .request_parameters
            .as_ref()?
            .get("tagKeys")?
            .as_array()?;
        keys.iter()
            .any(|k| k.as_str() == Some(tag_key.as_str()))
            .then(|| Grant::Take {
                status: Status::Exempt,
                kind,
                name: who.to_owned(),
            })
    };
    match name {
        "AddUserToGroup" if is_admin("groupName") => Some(Grant::Give {
            status: Status::Admin,
            kind: EntityKind::User,
            name: p("userName")?.to_owned(),
        }),
        "RemoveUserFromGroup" if is_admin("groupName") => Some(Grant::Take {
            status: Status::Admin,
            kind: EntityKind::User,
            name: p("userName")?.to_owned(),
        }),
        "TagUser" | "CreateUser" => tagged(EntityKind::User, p("userName")?),
        "TagRole" | "CreateRole" => tagged(EntityKind::Role, p("roleName")?),
        "UntagUser" => untagged(EntityKind::User, p("userName")?),
        "UntagRole" => untagged(EntityKind::Role, p("roleName")?),
        "DeleteGroup" if is_admin("groupName") => Some(Grant::TakeAllAdmins),
        "CreateGroup" if is_admin("groupName") => Some(Grant::GroupBecomesAdmin {
            group: admin.to_owned(),
        }),
        // A rename to or from the admin group's name changes no trust: the admin group
        // is the group with the recorded unique id, and the rename is put back
        // ([`crate::admin_group`]).
        _ => None,
    }
}

/// Whether a caller may grant admin or exempt status: a trusted admin (an IAM user, or
/// a federated session of one), or a principal listed in EXEMPT_PRINCIPALS (trusted by
/// configuration: the pipeline that manages IAM, say), known by the unique id recorded
/// for its listing (`caller_facts.listed`). A trusted *exempt* principal
/// may manage IAM but not hand out trust.
pub fn may_grant(
    caller: &Principal,
    caller_facts: Option<&Facts>,
    record: &CloudTrailRecord,
    config: &Config,
) -> bool {
    let session_arn = record.user_identity.as_ref().and_then(|u| u.arn.as_deref());
    // Listed, and the caller is the principal the listing was resolved to (its facts
    // carry the listings recorded for its unique id).
    let listed = |arn: &str| {
        config.exempt_principals.contains(arn)
            && caller_facts.is_some_and(|f| f.listed.iter().any(|l| l == arn))
    };
    let (entity_arn, user) = match caller {
        Principal::IamUser(u) | Principal::FederatedUser { user: u, .. } => {
            (Some(u.arn.as_str()), Some(Target::user(u)))
        }
        Principal::AssumedRole { role, .. } | Principal::IdentityCenterRole { role, .. } => {
            (Some(role.arn.as_str()), None)
        }
        _ => (None, None),
    };
    if entity_arn.is_some_and(listed) || session_arn.is_some_and(listed) {
        return true;
    }
    match (user, caller_facts) {
        (Some(target), Some(facts)) => matches!(
            standing(Status::Admin, &target, facts, config),
            Standing::Trusted(_)
        ),
        _ => false,
    }
}

/// What a change of trust does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustOutcome {
    /// Nothing changes.
    Nothing,
    /// Into the trust ledger.
    Ledger,
    /// An escalation: undone (recorded under its caller), and notified.
    Escalation,
}

/// One step of the trust table: its outcome, or what it needs to know first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustStep {
    Done(TrustOutcome),
    /// The grantee's facts, as IAM has them now (`None` when it does not exist).
    Grantee,
    /// Whether the call's caller may grant ([`may_grant`]).
    MayGrant,
}

/// The trust table for an event's own change of trust; the first row that matches
/// decides, and it asks only for what its row needs:
///
/// | the call | outcome |
/// |---|---|
/// | the tool's own | nothing |
/// | takes trust away | into the ledger, whoever makes it |
/// | gives a status to a principal already trusted for it | nothing (undoing it would take trust from an admin or exempt principal) |
/// | gives trust, by a caller who may grant | into the ledger |
/// | gives trust, by anyone else | an escalation |
pub fn trust_outcome(
    grant: &Grant,
    by_tool: bool,
    grantee: Option<Option<&Facts>>,
    may_grant: Option<bool>,
    config: &Config,
) -> TrustStep {
    use TrustOutcome::*;
    if by_tool {
        return TrustStep::Done(Nothing);
    }
    if !grant.gives() {
        return TrustStep::Done(Ledger);
    }
    if let Grant::Give { status, kind, name } = grant {
        let Some(grantee) = grantee else {
            return TrustStep::Grantee;
        };
        let target = Target {
            kind: *kind,
            name: name.clone(),
            arn: String::new(),
        };
        if grantee
            .is_some_and(|f| matches!(standing(*status, &target, f, config), Standing::Trusted(_)))
        {
            return TrustStep::Done(Nothing);
        }
    }
    match may_grant {
        None => TrustStep::MayGrant,
        Some(true) => TrustStep::Done(Ledger),
        Some(false) => TrustStep::Done(Escalation),
    }
}

/// What a grant found for an unverified status (by the decision's look-up) does: by a
/// caller who may grant, into the ledger; by anyone else, an escalation undone here when
/// it is another event's (seen from its grantee before its own event), and nothing when
/// it is this event's (its own change of trust undoes it).
pub fn found_grant_outcome(authorized: bool, same_event: bool) -> TrustOutcome {
    match (authorized, same_event) {
        (true, _) => TrustOutcome::Ledger,
        (false, false) => TrustOutcome::Escalation,
        (false, true) => TrustOutcome::Nothing,
    }
}

/// What applying an authorized change does to the ledger. `members` are the users of
/// the group for [`Grant::GroupBecomesAdmin`]; `current` is the set before.
pub fn ledger_changes(
    grant: &Grant,
    provenance: &Provenance,
    grantee_id: Option<&str>,
    members: &[(String, Option<String>)],
    current: &TrustSet,
    now: DateTime<Utc>,
) -> Vec<LedgerChange> {
    let put = |status, kind, name: &str, unique_id: Option<&str>| {
        LedgerChange::Put(TrustEntry {
            status,
            kind,
            name: name.to_owned(),
            unique_id: unique_id.map(str::to_owned),
            provenance: provenance.clone(),
            at: now,
        })
    };
    match grant {
        // Under the name the ledger already has it by, whatever case the event used.
        Grant::Give { status, kind, name } => {
            let name = current
                .get(*status, *kind, name)
                .map_or(name.as_str(), |e| e.name.as_str());
            vec![put(*status, *kind, name, grantee_id)]
        }
        Grant::Take { status, kind, name } => {
            vec![LedgerChange::Remove(
                current
                    .get(*status, *kind, name)
                    .map_or_else(|| key(*status, *kind, name), TrustEntry::key),
            )]
        }
        Grant::TakeAllAdmins => current
            .entries
            .values()
            .filter(|e| e.status == Status::Admin)
            .map(|e| LedgerChange::Remove(e.key()))
            .collect(),
        Grant::GroupBecomesAdmin { .. } => members
            .iter()
            .map(|(m, id)| put(Status::Admin, EntityKind::User, m, id.as_deref()))
            .collect(),
    }
}

/// How to undo an escalation: the membership removed, the tag taken off. A group made
/// the admin group is left as it is (its members are not trusted for it, and renaming
/// groups back could break what depends on them): the notice says so.
pub fn undo_escalation(grant: &Grant, config: &Config) -> Vec<Action> {
    match grant {
        Grant::Give {
            status: Status::Admin,
            name,
            ..
        } => vec![Action::RemoveFromGroup {
            group: config.admin_group.clone(),
            user: name.clone(),
        }],
        Grant::Give {
            status: Status::Exempt,
            kind,
            name,
        } => vec![Action::Untag {
            kind: *kind,
            name: name.clone(),
            key: config.exempt_tag.0.clone(),
            value: config.exempt_tag.1.clone(),
        }],
        _ => Vec::new(),
    }
}

/// Who made a call, as the key of its record and the `by` of what it granted: the IAM
/// user (of a federated session too) or the role (of a session).
pub fn actor(record: &CloudTrailRecord) -> String {
    match Principal::classify(record) {
        Principal::IamUser(u) | Principal::FederatedUser { user: u, .. } => {
            actor_key(EntityKind::User, &u.name)
        }
        Principal::AssumedRole { role, .. }
        | Principal::IdentityCenterRole { role, .. }
        | Principal::ServiceLinkedRole { role } => actor_key(EntityKind::Role, &role.name),
        other => other.display(),
    }
}

/// An escalation attempt: a grant by a caller who may not grant, and its undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The caller ([`actor`]) and its event.
    pub by: String,
    pub event_id: String,
    /// What the grant did, for people.
    pub what: String,
    pub actions: Vec<Action>,
    /// MODE=report: nothing was undone.
    pub planned_only: bool,
    /// Its notice was already sent (a retried message).
    pub notified: bool,
}

/// The newest change of `status` for `target` among `records` (CloudTrail's): the grant
/// that gave it, unless a later call took it away, in which case the status held now
/// came from a grant not visible yet (`None`: wait for it, never trust an old grant).
pub fn latest_grant<'a>(
    records: &'a [CloudTrailRecord],
    status: Status,
    target: &Target,
    config: &Config,
) -> Option<&'a CloudTrailRecord> {
    let concerns = |g: &Grant| match g {
        Grant::Give {
            status: s,
            kind,
            name,
        }
        | Grant::Take {
            status: s,
            kind,
            name,
        } => *s == status && *kind == target.kind && same_name(name, &target.name),
        Grant::TakeAllAdmins => status == Status::Admin,
        Grant::GroupBecomesAdmin { .. } => false,
    };
    records
        .iter()
        .filter_map(|r| grant_of(r, config).filter(concerns).map(|g| (r, g)))
        .max_by(|(a, _), (b, _)| a.event_time.cmp(&b.event_time))
        .and_then(|(r, g)| g.gives().then_some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_names_are_compared_without_regard_to_case() {
        // Issue 18, attack 7: `administrators` is the admin group, `DEV1` is dev1.
        let config = crate::testing::config(&[]);
        let call = |name: &str, params: serde_json::Value| -> CloudTrailRecord {
            serde_json::from_value(serde_json::json!({
                "eventName": name, "eventSource": "iam.amazonaws.com", "eventID": "e1",
                "eventTime": "2026-12-05T10:00:00Z", "requestParameters": params,
            }))
            .unwrap()
        };
        let give = Grant::Give {
            status: Status::Admin,
            kind: EntityKind::User,
            name: "dev1".into(),
        };
        let add = call(
            "AddUserToGroup",
            serde_json::json!({"groupName": "administrators", "userName": "DEV1"}),
        );
        assert_eq!(grant_of(&add, &config), Some(give.clone()));
        let remove = call(
            "RemoveUserFromGroup",
            serde_json::json!({"groupName": "ADMINISTRATORS", "userName": "alice"}),
        );
        assert!(matches!(
            grant_of(&remove, &config),
            Some(Grant::Take { .. })
        ));
        assert_eq!(
            grant_of(
                &call(
                    "DeleteGroup",
                    serde_json::json!({"groupName": "administrators"})
                ),
                &config
            ),
            Some(Grant::TakeAllAdmins)
        );
        assert!(matches!(
            grant_of(
                &call(
                    "CreateGroup",
                    serde_json::json!({"groupName": "ADMINISTRATORS"})
                ),
                &config
            ),
            Some(Grant::GroupBecomesAdmin { .. })
        ));
        // A rename to or from the admin group's name, or of its case only, changes no
        // trust: the admin group is known by its unique id (attack 6).
        for (old, new) in [
            ("Ops", "administrators"),
            ("administrators", "Old"),
            ("Administrators", "administrators"),
        ] {
            assert_eq!(
                grant_of(
                    &call(
                        "UpdateGroup",
                        serde_json::json!({"groupName": old, "newGroupName": new})
                    ),
                    &config
                ),
                None,
                "{old} -> {new}"
            );
        }
        // Held, whatever case IAM's answer and the configuration use.
        let target = Target {
            kind: EntityKind::User,
            name: "dev1".into(),
            arn: String::new(),
        };
        let member = Facts {
            groups: ["administrators".to_owned()].into(),
            ..Facts::default()
        };
        assert_eq!(
            standing(Status::Admin, &target, &member, &config),
            Standing::Unverified
        );
        // The ledger's entry is found, changed and removed under the name it has.
        let mut set = TrustSet::default();
        let at = chrono::Utc::now();
        let provenance = Provenance::Baseline;
        for change in ledger_changes(&give, &provenance, Some("AIDADEV1"), &[], &set, at) {
            set.apply(&change);
        }
        assert!(set.get(Status::Admin, EntityKind::User, "DEV1").is_some());
        let again = Grant::Give {
            status: Status::Admin,
            kind: EntityKind::User,
            name: "Dev1".into(),
        };
        let changes = ledger_changes(&again, &provenance, Some("AIDADEV1"), &[], &set, at);
        assert!(
            matches!(&changes[..], [LedgerChange::Put(e)] if e.name == "dev1"),
            "{changes:?}"
        );
        let take = Grant::Take {
            status: Status::Admin,
            kind: EntityKind::User,
            name: "DEV1".into(),
        };
        assert_eq!(
            ledger_changes(&take, &provenance, None, &[], &set, at),
            vec![LedgerChange::Remove("admin:user/dev1".into())]
        );
        assert_ne!(
            give,
            Grant::Give {
                status: Status::Exempt,
                kind: EntityKind::User,
                name: "DEV1".into(),
            }
        );
    }

    #[test]
    fn a_grant_taken_away_later_is_not_the_grant_of_the_status_held_now() {
        let config = crate::testing::config(&[]);
        let record = |id: &str, name: &str, user: &str, time: &str| -> CloudTrailRecord {
            serde_json::from_value(serde_json::json!({
                "eventName": name, "eventSource": "iam.amazonaws.com", "eventID": id, "eventTime": time,
                "requestParameters": {"groupName": "Administrators", "userName": user},
            }))
            .unwrap()
        };
        let bob = Target {
            kind: EntityKind::User,
            name: "bob".into(),
            arn: String::new(),
        };
        let added = record("g1", "AddUserToGroup", "bob", "2026-11-25T09:00:00Z");
        let removed = record("r1", "RemoveUserFromGroup", "bob", "2026-11-25T10:00:00Z");
        let other = record("g2", "AddUserToGroup", "carol", "2026-11-25T11:00:00Z");
        let found = latest_grant(std::slice::from_ref(&added), Status::Admin, &bob, &config);
        assert_eq!(found.and_then(|r| r.event_id.as_deref()), Some("g1"));
        let records = [added.clone(), removed.clone(), other];
        assert_eq!(
            latest_grant(&records, Status::Admin, &bob, &config),
            None,
            "taken away after"
        );
        let readded = record("g3", "AddUserToGroup", "bob", "2026-11-25T10:30:00Z");
        let records = [added, removed, readded];
        let found = latest_grant(&records, Status::Admin, &bob, &config);
        assert_eq!(found.and_then(|r| r.event_id.as_deref()), Some("g3"));
    }

    fn rec(name: &str, params: serde_json::Value) -> CloudTrailRecord {
        serde_json::from_value(serde_json::json!({
            "eventName": name, "eventSource": "iam.amazonaws.com", "requestParameters": params,
        }))
        .unwrap()
    }

    fn give(status: Status, kind: EntityKind, name: &str) -> Option<Grant> {
        Some(Grant::Give {
            status,
            kind,
            name: name.into(),
        })
    }

    fn take(status: Status, kind: EntityKind, name: &str) -> Option<Grant> {
        Some(Grant::Take {
            status,
            kind,
            name: name.into(),
        })
    }

    #[test]
    fn every_call_that_changes_trust_is_read_and_no_other() {
        use serde_json::json;
        use EntityKind::{Role, User};
        use Status::{Admin, Exempt};
        let c = crate::testing::config(&[]);
        let tag = json!([{"key": "iam-warden:exempt", "value": "true"}]);
        let other_value = json!([{"key": "iam-warden:exempt", "value": "no"}]);
        let other_key = json!([{"key": "team", "value": "x"}]);
        let admins = "Administrators";
        let cases: Vec<(CloudTrailRecord, Option<Grant>)> = vec![
            (
                rec(
                    "AddUserToGroup",
                    json!({"groupName": admins, "userName": "u"}),
                ),
                give(Admin, User, "u"),
            ),
            (
                rec(
                    "AddUserToGroup",
                    json!({"groupName": "Developers", "userName": "u"}),
                ),
                None,
            ),
            (
                rec(
                    "RemoveUserFromGroup",
                    json!({"groupName": admins, "userName": "u"}),
                ),
                take(Admin, User, "u"),
            ),
            (
                rec(
                    "RemoveUserFromGroup",
                    json!({"groupName": "Developers", "userName": "u"}),
                ),
                None,
            ),
            (
                rec("TagUser", json!({"userName": "u", "tags": tag})),
                give(Exempt, User, "u"),
            ),
            (
                rec("TagUser", json!({"userName": "u", "tags": other_value})),
                take(Exempt, User, "u"),
            ),
            (
                rec("TagUser", json!({"userName": "u", "tags": other_key})),
                None,
            ),
            (
                rec("CreateUser", json!({"userName": "u", "tags": tag})),
                give(Exempt, User, "u"),
            ),
            (rec("CreateUser", json!({"userName": "u"})), None),
            (
                rec("TagRole", json!({"roleName": "r", "tags": tag})),
                give(Exempt, Role, "r"),
            ),
            (
                rec("CreateRole", json!({"roleName": "r", "tags": tag})),
                give(Exempt, Role, "r"),
            ),
            (
                rec(
                    "UntagUser",
                    json!({"userName": "u", "tagKeys": ["iam-warden:exempt"]}),
                ),
                take(Exempt, User, "u"),
            ),
            (
                rec("UntagUser", json!({"userName": "u", "tagKeys": ["team"]})),
                None,
            ),
            (
                rec(
                    "UntagRole",
                    json!({"roleName": "r", "tagKeys": ["iam-warden:exempt"]}),
                ),
                take(Exempt, Role, "r"),
            ),
            (
                rec("UntagRole", json!({"roleName": "r", "tagKeys": ["team"]})),
                None,
            ),
            (
                rec("DeleteGroup", json!({"groupName": admins})),
                Some(Grant::TakeAllAdmins),
            ),
            (rec("DeleteGroup", json!({"groupName": "Developers"})), None),
            (
                rec("CreateGroup", json!({"groupName": admins})),
                Some(Grant::GroupBecomesAdmin {
                    group: admins.into(),
                }),
            ),
            (rec("CreateGroup", json!({"groupName": "Developers"})), None),
            // Renames of the admin group are put back by its id (attack 6): no trust.
            (
                rec(
                    "UpdateGroup",
                    json!({"groupName": admins, "newGroupName": "Old"}),
                ),
                None,
            ),
            (
                rec(
                    "UpdateGroup",
                    json!({"groupName": "Ops", "newGroupName": admins}),
                ),
                None,
            ),
            (
                rec(
                    "UpdateGroup",
                    json!({"groupName": admins, "newGroupName": admins}),
                ),
                None,
            ),
            (
                rec(
                    "UpdateGroup",
                    json!({"groupName": "Ops", "newGroupName": "Dev"}),
                ),
                None,
            ),
            (
                rec(
                    "UpdateGroup",
                    json!({"groupName": admins, "newPath": "/x/"}),
                ),
                None,
            ),
            (
                rec(
                    "AttachUserPolicy",
                    json!({"userName": "u", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                ),
                None,
            ),
        ];
        for (record, expected) in cases {
            assert_eq!(
                grant_of(&record, &c),
                expected,
                "{:?} {:?}",
                record.event_name,
                record.request_parameters
            );
        }
    }

    #[test]
    fn trust_holds_for_the_same_unique_id_or_when_either_is_unknown() {
        let c = crate::testing::config(&[]);
        let target = Target {
            kind: EntityKind::User,
            name: "alice".into(),
            arn: String::new(),
        };
        let entry = |id: Option<&str>| TrustEntry {
            status: Status::Admin,
            kind: EntityKind::User,
            name: "alice".into(),
            unique_id: id.map(str::to_owned),
            provenance: Provenance::Baseline,
            at: Utc::now(),
        };
        let facts = |entry_id: Option<&str>, fact_id: Option<&str>| Facts {
            groups: ["Administrators".to_owned()].into(),
            unique_id: fact_id.map(str::to_owned),
            trusted: [(Status::Admin, entry(entry_id))].into(),
            ..Facts::default()
        };
        let trusted = |e, f| {
            matches!(
                standing(Status::Admin, &target, &facts(e, f), &c),
                Standing::Trusted(_)
            )
        };
        assert!(trusted(Some("A"), Some("A")));
        assert!(
            !trusted(Some("A"), Some("B")),
            "another principal under the name"
        );
        assert!(trusted(None, Some("B")), "an entry from before ids");
        assert!(trusted(Some("A"), None), "facts without an id");
    }

    #[test]
    fn a_listed_role_or_session_may_grant_and_an_unlisted_one_may_not() {
        let record = |arn: &str, issuer: &str| -> CloudTrailRecord {
            serde_json::from_value(serde_json::json!({
                "eventName": "AddUserToGroup", "eventSource": "iam.amazonaws.com",
                "recipientAccountId": "123456789012",
                "userIdentity": {"type": "AssumedRole", "accountId": "123456789012", "arn": arn,
                    "sessionContext": {"sessionIssuer": {"type": "Role", "arn": issuer}}},
            }))
            .unwrap()
        };
        let role = "arn:aws:iam::123456789012:role/pipeline";
        let session = "arn:aws:sts::123456789012:assumed-role/pipeline/deploy";
        let r = record(session, role);
        let caller = Principal::classify(&r);
        // The role holding the name is the one the listing was resolved to (its facts
        // carry the listings recorded for its unique id).
        let resolved = |arns: &[&str]| Facts {
            unique_id: Some("AROAPIPELINE".into()),
            listed: arns.iter().map(|a| (*a).to_owned()).collect(),
            ..Facts::default()
        };
        let listing = |arn: &str| crate::testing::config(&[("EXEMPT_PRINCIPALS", arn)]);
        assert!(may_grant(
            &caller,
            Some(&resolved(&[role])),
            &r,
            &listing(role)
        ));
        assert!(may_grant(
            &caller,
            Some(&resolved(&[session])),
            &r,
            &listing(session)
        ));
        assert!(
            !may_grant(&caller, Some(&resolved(&[])), &r, &listing(role)),
            "listed by name, but another principal holds the name now"
        );
        assert!(
            !may_grant(&caller, None, &r, &listing(role)),
            "no facts: not known to be it"
        );
        assert!(!may_grant(
            &caller,
            Some(&resolved(&["arn:aws:iam::123456789012:role/other"])),
            &r,
            &listing("arn:aws:iam::123456789012:role/other")
        ));
    }

    #[test]
    fn the_newest_change_is_of_this_status_and_this_principal_only() {
        let config = crate::testing::config(&[]);
        let at = |mut r: CloudTrailRecord, t: &str| {
            r.event_time = Some(t.into());
            r
        };
        let bob = Target {
            kind: EntityKind::User,
            name: "bob".into(),
            arn: String::new(),
        };
        let tagged = at(
            rec(
                "TagUser",
                serde_json::json!({"userName": "bob", "tags": [{"key": "iam-warden:exempt", "value": "true"}]}),
            ),
            "2026-11-25T09:00:00Z",
        );
        // A later change of another status, or of another principal, does not hide it.
        let admin_removed = at(
            rec(
                "RemoveUserFromGroup",
                serde_json::json!({"groupName": "Administrators", "userName": "bob"}),
            ),
            "2026-11-25T10:00:00Z",
        );
        let carol_untagged = at(
            rec(
                "UntagUser",
                serde_json::json!({"userName": "carol", "tagKeys": ["iam-warden:exempt"]}),
            ),
            "2026-11-25T11:00:00Z",
        );
        let records = [tagged.clone(), admin_removed, carol_untagged];
        assert!(latest_grant(&records, Status::Exempt, &bob, &config).is_some());
        assert!(latest_grant(&records, Status::Admin, &bob, &config).is_none());
        // The admin group deleted after a grant takes every admin status, and no other.
        let added = at(
            rec(
                "AddUserToGroup",
                serde_json::json!({"groupName": "Administrators", "userName": "bob"}),
            ),
            "2026-11-25T09:00:00Z",
        );
        let deleted = at(
            rec(
                "DeleteGroup",
                serde_json::json!({"groupName": "Administrators"}),
            ),
            "2026-11-25T12:00:00Z",
        );
        let records = [added, tagged, deleted];
        assert!(latest_grant(&records, Status::Admin, &bob, &config).is_none());
        assert!(latest_grant(&records, Status::Exempt, &bob, &config).is_some());
    }

    /// The trust table, row by row: what a call that changes trust does, asking for the
    /// grantee's facts and the caller's right to grant only when a row needs them.
    #[test]
    fn the_trust_table_asks_in_its_order_and_decides_each_row() {
        use TrustOutcome::*;
        let c = crate::testing::config(&[]);
        let give = Grant::Give {
            status: Status::Admin,
            kind: EntityKind::User,
            name: "bob".into(),
        };
        let take = Grant::Take {
            status: Status::Exempt,
            kind: EntityKind::Role,
            name: "ci".into(),
        };
        let group = Grant::GroupBecomesAdmin {
            group: "Administrators".into(),
        };
        let member = Facts {
            groups: ["Administrators".to_owned()].into(),
            ..Facts::default()
        };
        let trusted = Facts {
            trusted: [(
                Status::Admin,
                TrustEntry {
                    status: Status::Admin,
                    kind: EntityKind::User,
                    name: "bob".into(),
                    unique_id: None,
                    provenance: Provenance::Baseline,
                    at: Utc::now(),
                },
            )]
            .into(),
            ..member.clone()
        };
        let outcome = |g: &Grant, tool, grantee: Option<Option<&Facts>>, may| {
            trust_outcome(g, tool, grantee, may, &c)
        };
        // The tool's own calls change nothing, whatever they do.
        for g in [&give, &take, &group] {
            assert_eq!(outcome(g, true, None, None), TrustStep::Done(Nothing));
        }
        // Taking trust away goes to the ledger, whoever does it: nothing asked.
        assert_eq!(outcome(&take, false, None, None), TrustStep::Done(Ledger));
        assert_eq!(
            outcome(&Grant::TakeAllAdmins, false, None, None),
            TrustStep::Done(Ledger)
        );
        // Giving: the grantee first; already trusted for it, nothing (never an escalation).
        assert_eq!(outcome(&give, false, None, None), TrustStep::Grantee);
        assert_eq!(
            outcome(&give, false, Some(Some(&trusted)), None),
            TrustStep::Done(Nothing)
        );
        // Not trusted (a member without the ledger, or no such principal): may the caller grant?
        for grantee in [Some(&member), None] {
            assert_eq!(
                outcome(&give, false, Some(grantee), None),
                TrustStep::MayGrant
            );
            assert_eq!(
                outcome(&give, false, Some(grantee), Some(true)),
                TrustStep::Done(Ledger)
            );
            assert_eq!(
                outcome(&give, false, Some(grantee), Some(false)),
                TrustStep::Done(Escalation)
            );
        }
        // A group made the admin group has no one grantee: only the caller is asked about.
        assert_eq!(outcome(&group, false, None, None), TrustStep::MayGrant);
        assert_eq!(
            outcome(&group, false, None, Some(true)),
            TrustStep::Done(Ledger)
        );
        assert_eq!(
            outcome(&group, false, None, Some(false)),
            TrustStep::Done(Escalation)
        );
    }

    /// A grant found for an unverified status: by one who may grant, into the ledger; by
    /// anyone else, undone here when it was another event's (seen from its grantee first),
    /// and left to its own event's handling when it is this one.
    #[test]
    fn a_grant_found_for_an_unverified_status_is_trusted_or_undone_once() {
        use TrustOutcome::*;
        assert_eq!(found_grant_outcome(true, false), Ledger);
        assert_eq!(found_grant_outcome(true, true), Ledger);
        assert_eq!(found_grant_outcome(false, false), Escalation);
        assert_eq!(found_grant_outcome(false, true), Nothing);
    }
}
