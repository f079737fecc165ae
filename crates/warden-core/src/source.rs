//! Where a revoked role session came from (issue 19): the `AssumeRole*` call in
//! CloudTrail that issued it, matched by its id exactly, never guessed, and what stops
//! that source from coming back under a new session name.
//!
//! A session's `principalId` (`ROLE-ID:SESSION-NAME`) is the `assumedRoleId` in the
//! `responseElements.assumedRoleUser` of the call that issued it. The source is that
//! call's caller: an IAM user or a role session of this account (stopped: its own IAM
//! access revoked, and for a user a Deny of `sts:AssumeRole` on the role), a web
//! identity or SAML federation (named, with the trust-policy condition that would
//! exclude it: only the role's owner can change its trust), or something else (said).

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::event::CloudTrailRecord;
use crate::principal::{Entity, Principal};
use crate::session::Session;

/// The calls that issue role sessions.
pub const ASSUME_CALLS: [&str; 3] = [
    "AssumeRole",
    "AssumeRoleWithWebIdentity",
    "AssumeRoleWithSAML",
];

/// How many sessions back a chain of roles is followed.
pub const MAX_HOPS: u8 = 3;

/// The tool's inline policy on a user that issued a revoked session: a Deny of assuming
/// those roles again.
pub const NO_ASSUME_POLICY: &str = "iam-warden-no-assume";

/// The statement id of that deny.
pub const NO_ASSUME_SID: &str = "IamWardenDenyAssumingAgain";

/// How far around the session's start its issuing call is looked for.
const SLACK_MINUTES: i64 = 5;

/// Who issued a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An IAM user of this account.
    User(Entity),
    /// A session of a role of this account (a chain of roles).
    Session(Session),
    /// A web identity (OIDC) or SAML federation.
    Federated {
        /// `web identity` or `SAML`.
        kind: &'static str,
        provider: String,
        subject: String,
    },
    /// Another account, root, an AWS service, or a caller the record does not name
    /// exactly: said, never acted on.
    Other(String),
}

impl Source {
    /// For people.
    pub fn describe(&self) -> String {
        match self {
            Source::User(u) => format!("user/{}", u.name),
            Source::Session(s) => format!("session `{}` of {}", s.name, s.role),
            Source::Federated {
                kind,
                provider,
                subject,
            } => format!("{kind} `{subject}` of the provider {provider}"),
            Source::Other(who) => who.clone(),
        }
    }
}

/// Between when its issuing call may have been made: around the session's start
/// (`sessionContext.attributes.creationDate`); `None` when the record has no start.
pub fn window(record: &CloudTrailRecord) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = record
        .user_identity
        .as_ref()?
        .session_context
        .as_ref()?
        .attributes
        .as_ref()?
        .creation_date
        .as_deref()?;
    let at = DateTime::parse_from_rfc3339(start)
        .ok()?
        .with_timezone(&Utc);
    let slack = TimeDelta::minutes(SLACK_MINUTES);
    Some((at - slack, at + slack))
}

/// What the look-up found of the call that issued a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Issued<'a> {
    One(&'a CloudTrailRecord),
    None,
    /// Several calls issued a session of that id (a session name is the caller's to
    /// choose, and can be chosen twice) and its access key does not tell them apart:
    /// none is acted on.
    Ambiguous(usize),
}

/// The call that issued `session`: an `AssumeRole*` call that succeeded, whose
/// `assumedRoleUser.assumedRoleId` is the session's id, and, when the session's record
/// names its access key and the calls name theirs, whose `credentials.accessKeyId` is
/// that key. A session name is anyone's to reuse: the key is what only that call gave.
pub fn issuing<'a>(
    session: &Session,
    access_key: Option<&str>,
    history: &'a [CloudTrailRecord],
) -> Issued<'a> {
    let id = session.userid();
    let element = |r: &CloudTrailRecord, path: &str| {
        r.response_elements
            .as_ref()
            .and_then(|v| v.pointer(path))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let named: Vec<&CloudTrailRecord> = history
        .iter()
        .filter(|r| {
            r.event_source.as_deref() == Some("sts.amazonaws.com")
                && r.event_name
                    .as_deref()
                    .is_some_and(|n| ASSUME_CALLS.contains(&n))
                && r.error_code.is_none()
                && element(r, "/assumedRoleUser/assumedRoleId").as_deref() == Some(id.as_str())
        })
        .collect();
    let keyed = named
        .iter()
        .any(|r| element(r, "/credentials/accessKeyId").is_some());
    let found: Vec<&CloudTrailRecord> = match access_key {
        Some(key) if keyed => named
            .into_iter()
            .filter(|r| element(r, "/credentials/accessKeyId").as_deref() == Some(key))
            .collect(),
        _ => named,
    };
    match found.as_slice() {
        [] => Issued::None,
        [one] => Issued::One(one),
        many => Issued::Ambiguous(many.len()),
    }
}

/// Who made the issuing call.
pub fn source_of(issuing: &CloudTrailRecord) -> Source {
    let identity = issuing.user_identity.as_ref();
    let kind = identity.and_then(|u| u.kind.as_deref()).unwrap_or("none");
    let federated = |kind: &'static str| {
        let provider = identity
            .and_then(|u| u.identity_provider.clone())
            .unwrap_or_else(|| "?".into());
        let subject = identity
            .and_then(|u| u.user_name.clone())
            .unwrap_or_else(|| "?".into());
        Source::Federated {
            kind,
            provider,
            subject,
        }
    };
    match kind {
        "WebIdentityUser" => return federated("web identity"),
        "SAMLUser" => return federated("SAML"),
        _ => {}
    }
    match Principal::classify(issuing) {
        Principal::IamUser(user) => Source::User(user),
        Principal::AssumedRole { .. } => match Session::of(issuing) {
            Ok(session) => Source::Session(session),
            Err(why) => Source::Other(format!("a role session not named exactly ({why})")),
        },
        // An Identity Center user: named, with the Deny that stops it.
        Principal::IdentityCenterRole { role, .. } => Source::Other(format!(
            "an Identity Center session of `{}`; {}",
            role.name,
            crate::identity_center::remedy(issuing, &role.name)
        )),
        other => Source::Other(other.display()),
    }
}

/// The condition to add to the role's trust policy that would exclude a federated
/// source, for the notice: only the role's owner can change its trust.
pub fn exclusion(source: &Source) -> Option<String> {
    let Source::Federated {
        kind,
        provider,
        subject,
    } = source
    else {
        return None;
    };
    let host = provider
        .rsplit_once("oidc-provider/")
        .map_or(provider.as_str(), |(_, host)| host);
    Some(match *kind {
        "SAML" => format!(
            "in the role's trust policy, a Deny of sts:AssumeRoleWithSAML with `StringEquals` on `saml:sub` = `{subject}`"
        ),
        _ => format!(
            "in the role's trust policy, narrow `{host}:sub` (`StringEquals` or `StringLike`) so that it no longer matches `{subject}`, or deny it with `StringEquals {host}:sub = {subject}`"
        ),
    })
}

/// The Deny of assuming these roles again, put on a user that issued a revoked session.
pub fn no_assume_document(roles: &BTreeSet<String>) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": NO_ASSUME_SID,
        "Effect": "Deny",
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        "Resource": roles.iter().collect::<Vec<_>>(),
    }]})
    .to_string()
}

/// The roles a no-assume document of the tool denies (role ARNs only).
pub fn roles_in(document: &str) -> BTreeSet<String> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return BTreeSet::new();
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    statements
        .iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) == Some(NO_ASSUME_SID))
        .filter_map(|s| s.get("Resource"))
        .flat_map(|r| match r {
            Value::Array(list) => list.clone(),
            one => vec![one.clone()],
        })
        .filter_map(|r| r.as_str().map(str::to_owned))
        .filter(|r| r.starts_with("arn:") && r.contains(":role/") && !r.contains('*'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{EntityKind, Target};

    fn session() -> Session {
        Session {
            role: Target {
                kind: EntityKind::Role,
                name: "deployer".into(),
                arn: "arn:aws:iam::123456789012:role/deployer".into(),
            },
            role_id: "AROA1".into(),
            name: "ci".into(),
        }
    }

    fn assume(caller: Value, assumed: &str, error: Option<&str>) -> CloudTrailRecord {
        serde_json::from_value(json!({
            "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
            "userIdentity": caller, "recipientAccountId": "123456789012",
            "errorCode": error,
            "responseElements": {"assumedRoleUser": {"assumedRoleId": assumed,
                "arn": "arn:aws:sts::123456789012:assumed-role/deployer/ci"}},
        }))
        .unwrap()
    }

    fn user(name: &str) -> Value {
        json!({"type": "IAMUser", "principalId": "AIDA1", "accountId": "123456789012",
            "arn": format!("arn:aws:iam::123456789012:user/{name}"), "userName": name})
    }

    #[test]
    fn the_issuing_call_is_matched_by_the_sessions_id_exactly() {
        let history = vec![
            assume(user("other"), "AROA1:ci-2", None),
            assume(user("failed"), "AROA1:ci", Some("AccessDenied")),
            assume(user("eve"), "AROA1:ci", None),
        ];
        let Issued::One(found) = issuing(&session(), None, &history) else {
            panic!("not found")
        };
        assert_eq!(
            source_of(found),
            Source::User(Entity {
                account_id: "123456789012".into(),
                name: "eve".into(),
                path: "/".into(),
                arn: "arn:aws:iam::123456789012:user/eve".into(),
                id: Some("AIDA1".into()),
            })
        );
        assert_eq!(issuing(&session(), None, &history[..2]), Issued::None);
        // A record CloudTrail left fields out of (no responseElements, no source): never
        // taken for the issuing call.
        let mut bare = assume(user("eve"), "AROA1:ci", None);
        bare.response_elements = None;
        assert_eq!(issuing(&session(), None, &[bare.clone()]), Issued::None);
        bare.response_elements = Some(json!({"assumedRoleUser": {"assumedRoleId": "AROA1:ci"}}));
        bare.event_source = None;
        assert_eq!(issuing(&session(), None, &[bare]), Issued::None);
        // A prefix or another role's session of the same name is not it.
        let near = vec![
            assume(user("x"), "AROA1:c", None),
            assume(user("y"), "AROA2:ci", None),
        ];
        assert_eq!(issuing(&session(), None, &near), Issued::None);
    }

    #[test]
    fn a_session_name_chosen_twice_is_told_apart_by_its_access_key_or_never_guessed() {
        let keyed = |caller: &str, key: &str| {
            let mut r = assume(user(caller), "AROA1:ci", None);
            r.response_elements = Some(json!({"assumedRoleUser": {"assumedRoleId": "AROA1:ci"},
                "credentials": {"accessKeyId": key}}));
            r
        };
        let history = vec![keyed("victim", "ASIAVICTIM"), keyed("eve", "ASIAEVE")];
        let Issued::One(found) = issuing(&session(), Some("ASIAEVE"), &history) else {
            panic!("not told apart")
        };
        assert!(matches!(source_of(found), Source::User(u) if u.name == "eve"));
        // Neither key: not found; without a key to tell them: ambiguous, none acted on.
        assert_eq!(
            issuing(&session(), Some("ASIAOTHER"), &history),
            Issued::None
        );
        assert_eq!(issuing(&session(), None, &history), Issued::Ambiguous(2));
        let unkeyed = vec![
            assume(user("victim"), "AROA1:ci", None),
            assume(user("eve"), "AROA1:ci", None),
        ];
        assert_eq!(
            issuing(&session(), Some("ASIAEVE"), &unkeyed),
            Issued::Ambiguous(2)
        );
    }

    #[test]
    fn federated_and_foreign_sources_are_named_not_acted_on() {
        let web = json!({"type": "WebIdentityUser",
            "principalId": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:org/app:ref:refs/heads/main",
            "userName": "repo:org/app:ref:refs/heads/main",
            "identityProvider": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"});
        let source = source_of(&assume(web, "AROA1:ci", None));
        assert!(
            matches!(&source, Source::Federated { kind: "web identity", subject, .. } if subject == "repo:org/app:ref:refs/heads/main")
        );
        let hint = exclusion(&source).unwrap();
        assert!(
            hint.contains("token.actions.githubusercontent.com:sub"),
            "{hint}"
        );
        let saml = json!({"type": "SAMLUser", "principalId": "x:alice", "userName": "alice",
            "identityProvider": "arn:aws:iam::123456789012:saml-provider/Okta"});
        let source = source_of(&assume(saml, "AROA1:ci", None));
        assert!(exclusion(&source).unwrap().contains("saml:sub"));
        let foreign = json!({"type": "IAMUser", "accountId": "999999999999",
            "arn": "arn:aws:iam::999999999999:user/x", "userName": "x"});
        assert!(matches!(
            source_of(&assume(foreign, "AROA1:ci", None)),
            Source::Other(_)
        ));
        assert_eq!(exclusion(&Source::Other("x".into())), None);
        // An Identity Center user who chained into the role: named, with its remedy.
        let sso = json!({"type": "AssumedRole", "principalId": "AROASSO:jane@example.com",
            "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_ab12/jane@example.com",
            "accountId": "123456789012",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROASSO", "accountId": "123456789012",
                "arn": "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_ab12"}}});
        let Source::Other(said) = source_of(&assume(sso, "AROA1:ci", None)) else {
            panic!("not named")
        };
        assert!(said.contains("*:jane@example.com"), "{said}");
    }

    #[test]
    fn the_no_assume_deny_names_roles_and_reads_back_only_role_arns() {
        let roles: BTreeSet<String> = ["arn:aws:iam::1:role/a".to_owned()].into();
        let doc = no_assume_document(&roles);
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["Statement"][0]["Effect"], "Deny");
        assert_eq!(v["Statement"][0]["Action"][0], "sts:AssumeRole");
        assert_eq!(roles_in(&doc), roles);
        let edited = r#"{"Statement":[{"Sid":"IamWardenDenyAssumingAgain","Resource":["arn:aws:iam::1:role/a","*","arn:aws:iam::1:role/*","arn:aws:s3:::b"]}]}"#;
        assert_eq!(roles_in(edited), roles);
    }

    #[test]
    fn sources_are_described_for_people() {
        let user = Entity::from_arn("arn:aws:iam::1:user/eve", EntityKind::User).unwrap();
        assert_eq!(Source::User(user).describe(), "user/eve");
        assert_eq!(
            Source::Session(session()).describe(),
            "session `ci` of role/deployer"
        );
        assert_eq!(
            Source::Federated {
                kind: "SAML",
                provider: "arn:aws:iam::1:saml-provider/Okta".into(),
                subject: "alice".into()
            }
            .describe(),
            "SAML `alice` of the provider arn:aws:iam::1:saml-provider/Okta"
        );
        assert_eq!(Source::Other("root".into()).describe(), "root");
    }

    #[test]
    fn the_window_is_around_the_sessions_start() {
        let record: CloudTrailRecord = serde_json::from_value(json!({
            "userIdentity": {"type": "AssumedRole", "sessionContext": {"attributes": {"creationDate": "2026-11-20T09:00:00Z"}}}
        }))
        .unwrap();
        let (from, to) = window(&record).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-20T08:55:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-20T09:05:00+00:00");
        let none: CloudTrailRecord =
            serde_json::from_value(json!({"userIdentity": {"type": "AssumedRole"}})).unwrap();
        assert!(window(&none).is_none());
    }
}
