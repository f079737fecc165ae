//! What iam-warden changes to undo a caller's doing (an escalation, a containment),
//! each change with its own undo, and the records that make it resumable and reversible.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::principal::EntityKind;

/// Who a policy is attached to or embedded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Holder {
    User,
    Role,
    Group,
}

impl Holder {
    pub fn as_str(self) -> &'static str {
        match self {
            Holder::User => "user",
            Holder::Role => "role",
            Holder::Group => "group",
        }
    }

    /// The principal kind of a user or role (a group is none).
    pub fn kind(self) -> Option<EntityKind> {
        match self {
            Holder::User => Some(EntityKind::User),
            Holder::Role => Some(EntityKind::Role),
            Holder::Group => None,
        }
    }
}

impl From<EntityKind> for Holder {
    fn from(kind: EntityKind) -> Self {
        match kind {
            EntityKind::User => Holder::User,
            EntityKind::Role => Holder::Role,
        }
    }
}

/// A credential of an IAM user that can be made inactive and active again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "kebab-case")]
pub enum Credential {
    AccessKey(String),
    ServiceSpecific(String),
    SshPublicKey(String),
    SigningCertificate(String),
    /// An MFA device, by serial number: deactivating it is undone only by its owner
    /// (EnableMFADevice needs two codes from the device).
    MfaDevice(String),
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::AccessKey(id) => write!(f, "the access key {id}"),
            Credential::ServiceSpecific(id) => write!(f, "the service-specific credential {id}"),
            Credential::SshPublicKey(id) => write!(f, "the SSH public key {id}"),
            Credential::SigningCertificate(id) => write!(f, "the signing certificate {id}"),
            Credential::MfaDevice(serial) => write!(f, "the MFA device {serial}"),
        }
    }
}

/// A change iam-warden makes to undo what a caller did, and its own undo.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    RemoveFromGroup {
        group: String,
        user: String,
    },
    AddToGroup {
        group: String,
        user: String,
    },
    Untag {
        kind: EntityKind,
        name: String,
        key: String,
        value: String,
    },
    Tag {
        kind: EntityKind,
        name: String,
        key: String,
        value: String,
    },
    DetachPolicy {
        holder: Holder,
        name: String,
        policy_arn: String,
    },
    AttachPolicy {
        holder: Holder,
        name: String,
        policy_arn: String,
    },
    /// Deletes an inline policy; its document is kept for the undo.
    DeleteInlinePolicy {
        holder: Holder,
        name: String,
        policy_name: String,
        document: String,
    },
    PutInlinePolicy {
        holder: Holder,
        name: String,
        policy_name: String,
        document: String,
    },
    SetCredential {
        user: String,
        credential: Credential,
        active: bool,
    },
    /// Deletes a login profile (its password was set by the caller).
    DeleteLoginProfile {
        user: String,
    },
    /// A login profile with a new random password that must be changed at the next
    /// sign-in (the old password is not known to anyone but the caller).
    CreateLoginProfile {
        user: String,
    },
    /// Sets (or, with `None`, removes) a principal's permissions boundary, in place of
    /// `replacing`: the quarantine's last resort when both policy quotas are full.
    SetBoundary {
        holder: Holder,
        name: String,
        boundary: Option<String>,
        replacing: Option<String>,
    },
    /// Renames a user or group back (a caller renaming its backdoor away from the names
    /// its other events carry).
    Rename {
        holder: Holder,
        from: String,
        to: String,
    },
    /// Sets a role's trust policy (the tool's own roles: the stack's trust), in place
    /// of `replacing`.
    SetTrustPolicy {
        role: String,
        document: String,
        replacing: String,
    },
    /// Makes `version` the default version of a managed policy again, in place of
    /// `replacing`.
    SetDefaultVersion {
        policy_arn: String,
        version: String,
        replacing: String,
    },
    /// Denies IAM to an Identity Center person by the tool's SCP on `account`
    /// (SESSION_SCP=on, [`crate::session_scp`]).
    DenyPerson {
        account: String,
        person: crate::session_scp::Person,
    },
    /// Takes the person off the tool's SCPs on `account` (the SCP lifted with its last).
    LiftPerson {
        account: String,
        person: crate::session_scp::Person,
    },
}

impl Action {
    /// The action that puts back what this one changed.
    pub fn undo(&self) -> Action {
        match self.clone() {
            Action::RemoveFromGroup { group, user } => Action::AddToGroup { group, user },
            Action::AddToGroup { group, user } => Action::RemoveFromGroup { group, user },
            Action::Untag {
                kind,
                name,
                key,
                value,
            } => Action::Tag {
                kind,
                name,
                key,
                value,
            },
            Action::Tag {
                kind,
                name,
                key,
                value,
            } => Action::Untag {
                kind,
                name,
                key,
                value,
            },
            Action::DetachPolicy {
                holder,
                name,
                policy_arn,
            } => Action::AttachPolicy {
                holder,
                name,
                policy_arn,
            },
            Action::AttachPolicy {
                holder,
                name,
                policy_arn,
            } => Action::DetachPolicy {
                holder,
                name,
                policy_arn,
            },
            Action::DeleteInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            } => Action::PutInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            },
            Action::PutInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            } => Action::DeleteInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            },
            Action::SetCredential {
                user,
                credential,
                active,
            } => Action::SetCredential {
                user,
                credential,
                active: !active,
            },
            Action::DeleteLoginProfile { user } => Action::CreateLoginProfile { user },
            Action::CreateLoginProfile { user } => Action::DeleteLoginProfile { user },
            Action::SetDefaultVersion {
                policy_arn,
                version,
                replacing,
            } => Action::SetDefaultVersion {
                policy_arn,
                version: replacing,
                replacing: version,
            },
            Action::SetBoundary {
                holder,
                name,
                boundary,
                replacing,
            } => Action::SetBoundary {
                holder,
                name,
                boundary: replacing,
                replacing: boundary,
            },
            Action::SetTrustPolicy {
                role,
                document,
                replacing,
            } => Action::SetTrustPolicy {
                role,
                document: replacing,
                replacing: document,
            },
            Action::Rename { holder, from, to } => Action::Rename {
                holder,
                from: to,
                to: from,
            },
            Action::DenyPerson { account, person } => Action::LiftPerson { account, person },
            Action::LiftPerson { account, person } => Action::DenyPerson { account, person },
        }
    }

    /// What it acts on, for people: `user/dev1`, `role/r`, `group/g`, `policy/<arn>`.
    /// The user or role the action acts on by name (group memberships: the user), for
    /// following it to a new name.
    pub fn subject_name_mut(&mut self) -> Option<(EntityKind, &mut String)> {
        match self {
            Action::RemoveFromGroup { user, .. }
            | Action::AddToGroup { user, .. }
            | Action::SetCredential { user, .. }
            | Action::DeleteLoginProfile { user }
            | Action::CreateLoginProfile { user } => Some((EntityKind::User, user)),
            Action::Untag { kind, name, .. } | Action::Tag { kind, name, .. } => {
                Some((*kind, name))
            }
            Action::DetachPolicy { holder, name, .. }
            | Action::AttachPolicy { holder, name, .. }
            | Action::DeleteInlinePolicy { holder, name, .. }
            | Action::PutInlinePolicy { holder, name, .. }
            | Action::SetBoundary { holder, name, .. } => holder.kind().map(|k| (k, name)),
            Action::SetTrustPolicy { role, .. } => Some((EntityKind::Role, role)),
            Action::SetDefaultVersion { .. }
            | Action::Rename { .. }
            | Action::DenyPerson { .. }
            | Action::LiftPerson { .. } => None,
        }
    }

    pub fn subject(&self) -> String {
        match self {
            Action::RemoveFromGroup { user, .. } | Action::AddToGroup { user, .. } => {
                actor_key(EntityKind::User, user)
            }
            Action::Untag { kind, name, .. } | Action::Tag { kind, name, .. } => {
                actor_key(*kind, name)
            }
            Action::DetachPolicy { holder, name, .. }
            | Action::AttachPolicy { holder, name, .. }
            | Action::DeleteInlinePolicy { holder, name, .. }
            | Action::PutInlinePolicy { holder, name, .. }
            | Action::SetBoundary { holder, name, .. } => {
                format!("{}/{name}", holder.as_str())
            }
            Action::SetCredential { user, .. }
            | Action::DeleteLoginProfile { user }
            | Action::CreateLoginProfile { user } => actor_key(EntityKind::User, user),
            Action::SetDefaultVersion { policy_arn, .. } => format!("policy/{policy_arn}"),
            Action::SetTrustPolicy { role, .. } => actor_key(EntityKind::Role, role),
            Action::Rename { holder, to, .. } => format!("{}/{to}", holder.as_str()),
            Action::DenyPerson { account, .. } | Action::LiftPerson { account, .. } => {
                format!("account/{account}")
            }
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = self.subject();
        match self {
            Action::RemoveFromGroup { group, user } => {
                write!(f, "removed user/{user} from the group `{group}`")
            }
            Action::AddToGroup { group, user } => {
                write!(f, "added user/{user} to the group `{group}`")
            }
            Action::Untag { key, .. } => write!(f, "removed the tag `{key}` from {subject}"),
            Action::Tag { key, value, .. } => write!(f, "tagged {subject} `{key}={value}`"),
            Action::DetachPolicy { policy_arn, .. } => {
                write!(f, "detached {policy_arn} from {subject}")
            }
            Action::AttachPolicy { policy_arn, .. } => {
                write!(f, "attached {policy_arn} to {subject}")
            }
            Action::DeleteInlinePolicy { policy_name, .. } => {
                write!(f, "deleted the inline policy `{policy_name}` of {subject}")
            }
            Action::PutInlinePolicy { policy_name, .. } => {
                write!(f, "put the inline policy `{policy_name}` on {subject}")
            }
            Action::SetCredential {
                credential, active, ..
            } => write!(
                f,
                "{} {credential} of {subject}",
                if *active { "activated" } else { "deactivated" }
            ),
            Action::DeleteLoginProfile { .. } => {
                write!(
                    f,
                    "deleted the console password (login profile) of {subject}"
                )
            }
            Action::CreateLoginProfile { .. } => write!(
                f,
                "gave {subject} a new random console password, to be changed at the next sign-in"
            ),
            Action::SetDefaultVersion {
                policy_arn,
                version,
                replacing,
            } => write!(
                f,
                "made {version} the default version of {policy_arn} again (instead of {replacing})"
            ),
            Action::SetTrustPolicy { .. } => write!(f, "set the trust policy of {subject}"),
            Action::DenyPerson { account, person } => write!(
                f,
                "denied IAM to {person} in account {account} by the SCP of iam-warden ({}{account})",
                crate::session_scp::SCP_PREFIX
            ),
            Action::LiftPerson { account, person } => write!(
                f,
                "took {person} off the SCP of iam-warden in account {account}"
            ),
            Action::Rename { holder, from, to } => {
                write!(f, "renamed {}/{from} to {to}", holder.as_str())
            }
            Action::SetBoundary {
                boundary,
                replacing,
                ..
            } => {
                match boundary {
                    Some(b) => write!(f, "set the permissions boundary {b} on {subject}")?,
                    None => write!(f, "removed the permissions boundary of {subject}")?,
                }
                match replacing {
                    Some(r) => write!(f, " (it had {r})"),
                    None => write!(f, " (it had none)"),
                }
            }
        }
    }
}

/// The state of one recorded action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionState {
    /// Recorded, not yet carried out (a retry carries it out).
    Planned,
    Done,
    /// What it acts on no longer exists (`NoSuchEntity`).
    Gone,
    /// Put back by `warden restore`.
    Restored,
    /// IAM refused it for good (why is in the record's `why`): reported, not retried.
    Failed,
    /// Recorded from a self-service call of a caller not stopped: carried out if the
    /// caller is stopped later, never put back (it was never done).
    Held,
}

/// One recorded action of iam-warden against a caller's doing, with its undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The event that caused it.
    pub event_id: String,
    pub action: Action,
    pub state: ActionState,
    pub at: DateTime<Utc>,
    /// Why, for people.
    pub why: String,
    /// IAM's unique id of the principal the action acts on, when the call that made it
    /// said (CreateUser's response): the action is taken on whatever name that id has
    /// then (the caller can rename what it made, and give its name to someone else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    /// IAM's unique id of the caller it was recorded under, when the event said: records
    /// are kept by the caller's name, and a name can pass to another principal (the
    /// caller deleted, another made with its name). Restore puts back only its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// The role session that made the call (its `aws:userid`), when its caller was one:
    /// `warden restore --role R --session S` puts back that session's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// The record scope of an escalation's undo: its keys are `<event id>#<n>`.
pub const ESCALATION: &str = "";

/// The record scope of a containment: its keys are `<event id>#c<n>`, apart from the
/// same event's escalation.
pub const CONTAINMENT: &str = "c";

impl ActionRecord {
    /// The record's key under its caller: `<event id>#<n>` (an escalation's undo),
    /// `<event id>#c<n>` (a containment).
    pub fn key(event_id: &str, n: &str) -> String {
        format!("{event_id}#{n}")
    }

    /// The unique id of the other principal this was recorded for, when it was recorded
    /// under a caller of this name that was not `current` (the principal now holding the
    /// name). `None`: its own, or not known either way.
    pub fn recorded_for_another(&self, current: Option<&str>) -> Option<&str> {
        match (self.caller_id.as_deref(), current) {
            (Some(recorded), Some(current)) if recorded != current => Some(recorded),
            _ => None,
        }
    }

    /// The records of an event's `actions`, keyed `<event id>#<scope><n>`, all in `state`.
    pub fn records(
        event_id: &str,
        scope: &str,
        actions: &[Action],
        state: ActionState,
        at: DateTime<Utc>,
        why: &str,
    ) -> Vec<(String, ActionRecord)> {
        actions
            .iter()
            .enumerate()
            .map(|(n, action)| {
                (
                    ActionRecord::key(event_id, &format!("{scope}{n}")),
                    ActionRecord {
                        event_id: event_id.to_owned(),
                        action: action.clone(),
                        state,
                        at,
                        why: why.to_owned(),
                        subject_id: None,
                        caller_id: None,
                        session: None,
                    },
                )
            })
            .collect()
    }
}

/// Every action recorded against one caller, and the events whose notice went out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerRecord {
    pub caller: String,
    pub actions: BTreeMap<String, ActionRecord>,
    pub notified: BTreeSet<String>,
}

/// The key of a caller's record: `user/mallory`, `role/deployer`; for a caller that is
/// neither (root, a service), its display name.
pub fn actor_key(kind: EntityKind, name: &str) -> String {
    format!("{}/{name}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_another_principals_only_when_both_ids_are_known_and_differ() {
        let mut r = ActionRecord::records(
            "e1",
            "",
            &[Action::DeleteLoginProfile { user: "x".into() }],
            ActionState::Done,
            Utc::now(),
            "why",
        )
        .remove(0)
        .1;
        assert_eq!(r.recorded_for_another(Some("AIDA1")), None);
        r.caller_id = Some("AIDA1".into());
        assert_eq!(r.recorded_for_another(Some("AIDA1")), None);
        assert_eq!(r.recorded_for_another(None), None);
        assert_eq!(r.recorded_for_another(Some("AIDA2")), Some("AIDA1"));
    }

    #[test]
    fn action_records_are_keyed_by_event_and_position() {
        assert_eq!(ActionRecord::key("e1", "0"), "e1#0");
        assert_eq!(ActionRecord::key("e1", "c2"), "e1#c2");
    }

    #[test]
    fn an_action_undone_twice_is_itself() {
        let a = Action::Untag {
            kind: EntityKind::Role,
            name: "r".into(),
            key: "k".into(),
            value: "v".into(),
        };
        assert_ne!(a.undo(), a);
        assert_eq!(a.undo().undo(), a);
        let g = Action::RemoveFromGroup {
            group: "g".into(),
            user: "u".into(),
        };
        assert_eq!(
            g.undo(),
            Action::AddToGroup {
                group: "g".into(),
                user: "u".into()
            }
        );
    }
}
