//! Who made a call: the classification of CloudTrail's `userIdentity`.

use std::fmt;

use crate::event::CloudTrailRecord;

/// The caller of an API call, as far as iam-warden needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    IamUser(Entity),
    /// A role session; the entity is the role that issued it.
    AssumedRole {
        role: Entity,
        session_arn: String,
    },
    /// A federation-token session; the entity is the IAM user that issued the token.
    FederatedUser {
        user: Entity,
        session_arn: String,
    },
    Root {
        account_id: String,
    },
    AwsService {
        service: String,
    },
    /// A session of an IAM Identity Center permission-set role (`AWSReservedSSO_*`, at
    /// the path only Identity Center can use).
    IdentityCenterRole {
        role: Entity,
        session_arn: String,
    },
    IdentityCenterUser {
        user_id: String,
    },
    /// A role under `/aws-service-role/`, owned by an AWS service.
    ServiceLinkedRole {
        role: Entity,
    },
    /// A caller from an account other than the one the call was made in.
    CrossAccount {
        caller_account: String,
        arn: String,
    },
    /// Anything else (including records without a `userIdentity`): kept, alerted.
    Unknown {
        kind: String,
        arn: Option<String>,
    },
}

/// An IAM user or role, with what its ARN says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub account_id: String,
    pub name: String,
    /// `/` or `/division/team/`.
    pub path: String,
    pub arn: String,
    /// IAM's unique id (`AIDA…`, `AROA…`) when the record carries it: what a rename or a
    /// re-created name cannot forge.
    pub id: Option<String>,
}

/// What a revocation acts on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    User,
    Role,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Role => "role",
        }
    }
}

/// An IAM user or role iam-warden may act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub kind: EntityKind,
    pub name: String,
    pub arn: String,
}

impl Target {
    pub fn user(entity: &Entity) -> Self {
        Self {
            kind: EntityKind::User,
            name: entity.name.clone(),
            arn: entity.arn.clone(),
        }
    }

    pub fn role(entity: &Entity) -> Self {
        Self {
            kind: EntityKind::Role,
            name: entity.name.clone(),
            arn: entity.arn.clone(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.name)
    }
}

impl Entity {
    /// Parses `arn:aws:iam::123456789012:user/path/name` (or `role/...`) of the given kind.
    pub fn from_arn(arn: &str, kind: EntityKind) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some("iam"), Some(_region), Some(account), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let rest = res.strip_prefix(kind.as_str())?.strip_prefix('/')?;
        let (path, name) = match rest.rfind('/') {
            Some(i) => (format!("/{}/", rest.get(..i)?), rest.get(i + 1..)?),
            None => ("/".to_owned(), rest),
        };
        if name.is_empty() || account.is_empty() {
            return None;
        }
        Some(Self {
            account_id: account.to_owned(),
            name: name.to_owned(),
            path,
            arn: arn.to_owned(),
            id: None,
        })
    }
}

impl Principal {
    /// Classifies the caller of a record. Never fails: what cannot be read is `Unknown`.
    pub fn classify(record: &CloudTrailRecord) -> Self {
        let Some(id) = record.user_identity.as_ref() else {
            return Principal::Unknown {
                kind: "none".into(),
                arn: None,
            };
        };
        let kind = id.kind.as_deref().unwrap_or("none");
        let arn = id.arn.clone();
        let unknown = || Principal::Unknown {
            kind: kind.to_owned(),
            arn: arn.clone(),
        };

        if kind == "AWSService" {
            return Principal::AwsService {
                service: id.invoked_by.clone().unwrap_or_else(|| "unknown".into()),
            };
        }
        if let (Some(caller), Some(recipient)) = (
            id.account_id.as_deref(),
            record.recipient_account_id.as_deref(),
        ) {
            if caller != recipient {
                return Principal::CrossAccount {
                    caller_account: caller.to_owned(),
                    arn: arn.unwrap_or_default(),
                };
            }
        }
        let issuer = id
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref());
        let issuer_arn = issuer.and_then(|i| i.arn.as_deref());
        let issuer_id = issuer.and_then(|i| i.principal_id.clone());
        let with_id = |mut e: Entity, unique: Option<String>| {
            e.id = unique.filter(|u| !u.is_empty());
            e
        };

        match kind {
            "IAMUser" => arn
                .as_deref()
                .and_then(|a| Entity::from_arn(a, EntityKind::User))
                .map(|e| with_id(e, id.principal_id.clone()))
                .map_or_else(unknown, Principal::IamUser),
            "Root" => Principal::Root {
                account_id: id
                    .account_id
                    .clone()
                    .or_else(|| record.recipient_account_id.clone())
                    .unwrap_or_default(),
            },
            "AssumedRole" => {
                let Some(role) = issuer_arn
                    .and_then(|a| Entity::from_arn(a, EntityKind::Role))
                    .map(|e| with_id(e, issuer_id.clone()))
                else {
                    return unknown();
                };
                let session_arn = arn.clone().unwrap_or_default();
                if role.path.starts_with("/aws-service-role/") {
                    Principal::ServiceLinkedRole { role }
                } else if is_identity_center_role(&role) {
                    Principal::IdentityCenterRole { role, session_arn }
                } else {
                    Principal::AssumedRole { role, session_arn }
                }
            }
            "FederatedUser" => issuer_arn
                .and_then(|a| Entity::from_arn(a, EntityKind::User))
                .map(|e| with_id(e, issuer_id.clone()))
                .map_or_else(unknown, |user| Principal::FederatedUser {
                    user,
                    session_arn: arn.clone().unwrap_or_default(),
                }),
            "IdentityCenterUser" => Principal::IdentityCenterUser {
                user_id: id
                    .on_behalf_of
                    .as_ref()
                    .and_then(|o| o.user_id.clone())
                    .or_else(|| id.principal_id.clone())
                    .unwrap_or_default(),
            },
            _ => unknown(),
        }
    }

    /// A short, stable name for logs and output: an ARN where there is one.
    pub fn display(&self) -> String {
        match self {
            Principal::IamUser(e) | Principal::ServiceLinkedRole { role: e } => e.arn.clone(),
            Principal::AssumedRole { role, .. } | Principal::IdentityCenterRole { role, .. } => {
                role.arn.clone()
            }
            Principal::FederatedUser { session_arn, .. } => session_arn.clone(),
            Principal::Root { account_id } => format!("arn:aws:iam::{account_id}:root"),
            Principal::AwsService { service } => service.clone(),
            Principal::IdentityCenterUser { user_id } => format!("identity-center-user/{user_id}"),
            Principal::CrossAccount { arn, .. } => arn.clone(),
            Principal::Unknown { kind, arn } => {
                arn.clone().unwrap_or_else(|| format!("unknown/{kind}"))
            }
        }
    }
}

/// Whether a role is one of IAM Identity Center's: named `AWSReservedSSO_*` at the path
/// `/aws-reserved/sso.amazonaws.com/` (with or without a region after it), which only
/// Identity Center creates roles under. The name alone is anyone's to take.
fn is_identity_center_role(role: &Entity) -> bool {
    role.path.starts_with("/aws-reserved/sso.amazonaws.com/")
        && role.name.starts_with("AWSReservedSSO_")
}

/// Whether two IAM names (of users, groups, roles) name the same thing, as IAM compares
/// them: without regard to case (`administrators` is `Administrators`). IAM names are
/// ASCII (`[\w+=,.@-]`).
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether `names` holds `name`, as IAM compares names.
pub fn has_name<'a>(mut names: impl Iterator<Item = &'a String>, name: &str) -> bool {
    names.any(|n| same_name(n, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::CloudTrailRecord;
    use serde_json::json;

    fn classify(identity: serde_json::Value) -> Principal {
        let record: CloudTrailRecord = serde_json::from_value(json!({
            "eventName": "CreateUser", "eventSource": "iam.amazonaws.com",
            "recipientAccountId": "123456789012", "userIdentity": identity
        }))
        .unwrap();
        Principal::classify(&record)
    }

    fn issuer(arn: &str) -> serde_json::Value {
        json!({"sessionIssuer": {"type": "Role", "arn": arn, "accountId": "123456789012"}})
    }

    #[test]
    fn iam_user_name_and_path_come_from_the_arn() {
        let p = classify(
            json!({"type":"IAMUser","accountId":"123456789012","arn":"arn:aws:iam::123456789012:user/eng/dev/alice"}),
        );
        let Principal::IamUser(e) = p else {
            panic!("{p:?}")
        };
        assert_eq!((e.name.as_str(), e.path.as_str()), ("alice", "/eng/dev/"));
    }

    #[test]
    fn assumed_role_resolves_to_its_issuing_role() {
        let p = classify(json!({"type":"AssumedRole","accountId":"123456789012",
            "arn":"arn:aws:sts::123456789012:assumed-role/deployer/s1",
            "sessionContext": issuer("arn:aws:iam::123456789012:role/ci/deployer")}));
        let Principal::AssumedRole { role, .. } = p else {
            panic!("{p:?}")
        };
        assert_eq!(
            (role.name.as_str(), role.path.as_str()),
            ("deployer", "/ci/")
        );
    }

    #[test]
    fn identity_center_and_service_linked_roles_are_told_apart() {
        let sso = classify(json!({"type":"AssumedRole","accountId":"123456789012",
            "sessionContext": issuer("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123")}));
        assert!(
            matches!(sso, Principal::IdentityCenterRole { .. }),
            "{sso:?}"
        );
        let slr = classify(json!({"type":"AssumedRole","accountId":"123456789012",
            "sessionContext": issuer("arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS")}));
        assert!(
            matches!(slr, Principal::ServiceLinkedRole { .. }),
            "{slr:?}"
        );
    }

    #[test]
    fn federated_user_resolves_to_the_issuing_iam_user() {
        let p = classify(json!({"type":"FederatedUser","accountId":"123456789012",
            "arn":"arn:aws:sts::123456789012:federated-user/bob-session",
            "sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/bob","userName":"bob"}}}));
        let Principal::FederatedUser { user, .. } = p else {
            panic!("{p:?}")
        };
        assert_eq!(user.name, "bob");
    }

    #[test]
    fn other_kinds() {
        assert!(matches!(
            classify(json!({"type":"Root","accountId":"123456789012"})),
            Principal::Root { .. }
        ));
        assert!(matches!(
            classify(json!({"type":"AWSService","invokedBy":"cloudformation.amazonaws.com"})),
            Principal::AwsService { .. }
        ));
        assert!(matches!(
            classify(
                json!({"type":"IAMUser","accountId":"999999999999","arn":"arn:aws:iam::999999999999:user/x"})
            ),
            Principal::CrossAccount { .. }
        ));
        assert!(matches!(
            classify(json!({"type":"IdentityCenterUser","onBehalfOf":{"userId":"u-1"}})),
            Principal::IdentityCenterUser { .. }
        ));
        assert!(matches!(
            classify(json!({"type":"SAMLUser"})),
            Principal::Unknown { .. }
        ));
        assert!(matches!(
            classify(json!({"type":"IAMUser","arn":"garbage"})),
            Principal::Unknown { .. }
        ));
        assert!(matches!(classify(json!({})), Principal::Unknown { .. }));
    }

    #[test]
    fn entity_arns() {
        assert!(Entity::from_arn("arn:aws:iam::1:user/", EntityKind::User).is_none());
        assert!(Entity::from_arn("arn:aws:iam::1:role/x", EntityKind::User).is_none());
        assert_eq!(
            Entity::from_arn("arn:aws:iam::1:user/x", EntityKind::User)
                .unwrap()
                .path,
            "/"
        );
    }
}
