//! A role session stopped alone (ROLE_MODE=session): which session a record names, the
//! deny of IAM conditioned on exactly the revoked sessions' `aws:userid`, and where the
//! tool keeps it on the role.
//!
//! A role session's `aws:userid` is `ROLE-UNIQUE-ID:SESSION-NAME`, exactly CloudTrail's
//! `principalId` for it. A Deny of `iam:*` (and of `sts:AssumeRole`: a chain of roles
//! would give IAM back) on the role with `StringEquals aws:userid` and the ids of the
//! revoked sessions stops those sessions and no other: every other
//! session of the role is untouched, and a policy change applies to sessions already
//! issued. The ids come from the events, never a wildcard (`StringEquals` reads `*` as a
//! character, and ids of another role are never written).
//!
//! The deny is kept in one home per role, by the first IAM accepts: the tool's inline
//! policy [`SESSIONS_POLICY`]; at the role's inline quota (10,240 characters) a managed
//! policy of the tool ([`managed_name`]); at the managed quota too, the permissions
//! boundary, keeping every limit of the old one (invariant 13).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::event::CloudTrailRecord;
use crate::principal::{Principal, Target};
use crate::revocation::{BoundaryError, Method, RevocationRecord, MANAGED_POLICY_MAX};

/// The tool's inline policy on a role that denies IAM to its revoked sessions.
pub const SESSIONS_POLICY: &str = "iam-warden-sessions";

/// The statement id of the sessions' deny, in each of its homes.
pub const SESSIONS_SID: &str = "IamWardenDenySessions";

/// The name prefix of the managed policy that takes over at the role's inline quota,
/// under `/iam-warden/`.
pub const MANAGED_PREFIX: &str = "iam-warden-sessions-";

/// One session of a role, as its record names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub role: Target,
    /// The role's unique id (`AROA…`).
    pub role_id: String,
    /// The session name the caller chose (`RoleSessionName`).
    pub name: String,
}

impl Session {
    /// The session's `aws:userid`: `ROLE-UNIQUE-ID:SESSION-NAME`.
    pub fn userid(&self) -> String {
        format!("{}:{}", self.role_id, self.name)
    }

    /// The session of a role-session record (`AssumedRole`), or why it cannot be named
    /// exactly: the id is read from the record, never guessed.
    pub fn of(record: &CloudTrailRecord) -> Result<Session, String> {
        let Principal::AssumedRole { role, .. } = Principal::classify(record) else {
            return Err("the caller is not a role session".into());
        };
        let identity = record.user_identity.as_ref();
        let principal_id = identity
            .and_then(|u| u.principal_id.as_deref())
            .unwrap_or_default();
        let Some(role_id) = role.id.clone() else {
            return Err(format!(
                "the record of a session of role `{}` has no `sessionContext.sessionIssuer.principalId`: its aws:userid cannot be known",
                role.name
            ));
        };
        let Some((id, name)) = principal_id.split_once(':') else {
            return Err(format!(
                "the record's principalId `{principal_id}` is not `ROLE-ID:SESSION-NAME`"
            ));
        };
        if id != role_id || !is_role_id(id) {
            return Err(format!(
                "the record's principalId `{principal_id}` does not begin with its role's unique id `{role_id}`"
            ));
        }
        if !is_session_name(name) {
            return Err(format!(
                "the session name `{name}` is not one IAM issues (2 to 64 of letters, digits and `+=,.@_-`)"
            ));
        }
        Ok(Session {
            role: Target::role(&role),
            role_id: role_id.clone(),
            name: name.to_owned(),
        })
    }
}

/// A role's unique id as IAM writes it: `AROA` and upper-case letters and digits.
pub fn is_role_id(id: &str) -> bool {
    id.len() > 4
        && id.len() <= 128
        && id.starts_with("AROA")
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A session name IAM accepts: 2 to 64 of `[\w+=,.@-]`.
pub fn is_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// The name of the managed policy that holds a role's sessions' deny at its inline
/// quota (at most 128 characters).
pub fn managed_name(role: &Target) -> String {
    format!("{MANAGED_PREFIX}{}", role.name)
        .chars()
        .take(128)
        .collect()
}

/// What a revoked session is denied: IAM, and assuming another role (a chain of roles
/// would give it IAM again through a role it may assume).
pub const DENIED_ACTIONS: [&str; 2] = ["iam:*", "sts:AssumeRole"];

/// The deny of IAM (and of assuming another role) to exactly these sessions.
pub fn statement(ids: &BTreeSet<String>) -> Value {
    json!({
        "Sid": SESSIONS_SID,
        "Effect": "Deny",
        "Action": DENIED_ACTIONS,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:userid": ids.iter().collect::<Vec<_>>()}}
    })
}

/// The inline or managed policy that denies IAM to these sessions.
pub fn document(ids: &BTreeSet<String>) -> String {
    json!({"Version": "2012-10-17", "Statement": [statement(ids)]}).to_string()
}

fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// The sessions of the role `role_id` that a document of the tool denies: the exact ids
/// of its statement [`SESSIONS_SID`] that are this role's (anything else in it, a
/// caller's edit perhaps, is not carried over).
pub fn ids_in(document: &str, role_id: &str) -> BTreeSet<String> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return BTreeSet::new();
    };
    let prefix = format!("{role_id}:");
    statements(&doc)
        .iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) == Some(SESSIONS_SID))
        .filter_map(|s| s.pointer("/Condition/StringEquals/aws:userid"))
        .flat_map(|ids| match ids {
            Value::Array(list) => list.clone(),
            one => vec![one.clone()],
        })
        .filter_map(|id| id.as_str().map(str::to_owned))
        .filter(|id| id.strip_prefix(&prefix).is_some_and(is_session_name))
        .collect()
}

/// The boundary that denies IAM to these sessions and keeps every limit of `previous`
/// (the role's boundary now: its statements, the tool's old sessions statement
/// replaced). Without a previous boundary everything else stays allowed; with no
/// sessions left, `None`: the boundary the tool found goes back.
pub fn boundary_document(
    previous: Option<&str>,
    ids: &BTreeSet<String>,
) -> Result<String, BoundaryError> {
    let mut kept = match previous {
        None => vec![
            json!({"Sid": "IamWardenKeepTheRest", "Effect": "Allow", "Action": "*", "Resource": "*"}),
        ],
        Some(text) => {
            let doc: Value =
                serde_json::from_str(text).map_err(|e| BoundaryError::Unreadable(e.to_string()))?;
            if !matches!(
                doc.get("Statement"),
                Some(Value::Array(_) | Value::Object(_))
            ) {
                return Err(BoundaryError::Unreadable("no `Statement`".into()));
            }
            statements(&doc)
                .into_iter()
                .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(SESSIONS_SID))
                .collect()
        }
    };
    kept.push(statement(ids));
    let document = json!({"Version": "2012-10-17", "Statement": kept}).to_string();
    let size = document.chars().filter(|c| !c.is_whitespace()).count();
    if size > MANAGED_POLICY_MAX {
        return Err(BoundaryError::TooLarge(size));
    }
    Ok(document)
}

/// The order in which a session's deny finds its home: inline, managed, boundary.
pub fn fallback(method: Method) -> Option<Method> {
    match method {
        Method::Inline => Some(Method::Managed),
        Method::Managed => Some(Method::Boundary),
        Method::Boundary => None,
    }
}

/// What the ledger and the role say of one session: the tool's record of its
/// revocation, and whether its id is in the role's deny (the record's home).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFacts {
    pub record: Option<RevocationRecord>,
    pub denied: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn session_names_and_role_ids_as_iam_has_them() {
        for ok in ["ab", "aws-go-sdk-1722375070115152000", "a=b,c.d@e_f+g-h"] {
            assert!(is_session_name(ok), "{ok}");
        }
        for bad in ["a", "has space", "star*", "colon:x", &"x".repeat(65), ""] {
            assert!(!is_session_name(bad), "{bad}");
        }
        assert!(is_session_name(&"x".repeat(64)));
        assert!(is_role_id("AROAMLQ9F6KHQ07JKA0WY"));
        for bad in ["AROA", "AIDAX", "aroax", "AROA*", "AROA:X"] {
            assert!(!is_role_id(bad), "{bad}");
        }
    }

    #[test]
    fn the_deny_names_exactly_the_ids_and_reads_back_only_this_roles() {
        let doc = document(&ids(&["AROA1:alice", "AROA1:ci-42"]));
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            v["Statement"][0]["Action"],
            json!(["iam:*", "sts:AssumeRole"])
        );
        assert_eq!(
            v["Statement"][0]["Condition"]["StringEquals"]["aws:userid"],
            json!(["AROA1:alice", "AROA1:ci-42"])
        );
        assert_eq!(ids_in(&doc, "AROA1"), ids(&["AROA1:alice", "AROA1:ci-42"]));
        // Another role's ids, a wildcard, a bare role id, another statement: not carried.
        let edited = r#"{"Statement":[{"Sid":"IamWardenDenySessions","Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"StringEquals":{"aws:userid":["AROA1:alice","AROA2:bob","AROA1:*","AROA1","AROA1:x y"]}}},{"Sid":"Other","Condition":{"StringEquals":{"aws:userid":"AROA1:carol"}}}]}"#;
        assert_eq!(ids_in(edited, "AROA1"), ids(&["AROA1:alice"]));
        let single = r#"{"Statement":{"Sid":"IamWardenDenySessions","Condition":{"StringEquals":{"aws:userid":"AROA1:dave"}}}}"#;
        assert_eq!(ids_in(single, "AROA1"), ids(&["AROA1:dave"]));
        assert!(ids_in("not json", "AROA1").is_empty());
    }

    #[test]
    fn the_boundary_keeps_the_old_limits_and_replaces_only_its_own_statement() {
        let none = boundary_document(None, &ids(&["AROA1:a1"])).unwrap();
        let v: Value = serde_json::from_str(&none).unwrap();
        assert_eq!(v["Statement"][0]["Action"], "*");
        assert_eq!(v["Statement"][1]["Sid"], SESSIONS_SID);
        let old = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let once = boundary_document(Some(old), &ids(&["AROA1:a1"])).unwrap();
        let twice = boundary_document(Some(&once), &ids(&["AROA1:a1", "AROA1:b2"])).unwrap();
        let v: Value = serde_json::from_str(&twice).unwrap();
        let st = v["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2, "{twice}");
        assert_eq!(st[0]["Action"], "s3:*");
        assert_eq!(ids_in(&twice, "AROA1"), ids(&["AROA1:a1", "AROA1:b2"]));
        assert!(matches!(
            boundary_document(Some("{}"), &ids(&["AROA1:a1"])),
            Err(BoundaryError::Unreadable(_))
        ));
        let big = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"{}"}}]}}"#,
            "x".repeat(6100)
        );
        assert!(matches!(
            boundary_document(Some(&big), &ids(&["AROA1:a1"])),
            Err(BoundaryError::TooLarge(_))
        ));
    }

    #[test]
    fn a_boundary_exactly_at_the_limit_fits_one_more_character_does_not() {
        let ids = ids(&["AROA1:a1"]);
        let doc = |n: usize| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"x{}"}}]}}"#,
                "y".repeat(n)
            )
        };
        let base = boundary_document(Some(&doc(0)), &ids).unwrap().len();
        let room = MANAGED_POLICY_MAX - base;
        assert_eq!(
            boundary_document(Some(&doc(room)), &ids).unwrap().len(),
            MANAGED_POLICY_MAX
        );
        assert_eq!(
            boundary_document(Some(&doc(room + 1)), &ids),
            Err(BoundaryError::TooLarge(MANAGED_POLICY_MAX + 1))
        );
    }

    #[test]
    fn a_sessions_deny_falls_back_inline_managed_boundary_then_nothing() {
        assert_eq!(fallback(Method::Inline), Some(Method::Managed));
        assert_eq!(fallback(Method::Managed), Some(Method::Boundary));
        assert_eq!(fallback(Method::Boundary), None);
        let role = Target {
            kind: crate::principal::EntityKind::Role,
            name: "r".repeat(200),
            arn: String::new(),
        };
        assert_eq!(managed_name(&role).len(), 128);
        assert!(managed_name(&role).starts_with(MANAGED_PREFIX));
    }
}
