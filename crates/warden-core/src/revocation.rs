//! How a revocation is put in place so that nothing the caller controls can block it:
//! the methods in their order of fallback, the permissions boundary that keeps every
//! limit of an existing one, and the ledger record (the deny never waits on it).
//!
//! A caller can fill its managed-policy quota (10), its inline-policy size (2,048
//! characters for a user, 10,240 for a role) and its 50 tags in the minutes before its
//! events arrive. Every principal has room for exactly one permissions boundary, so the
//! last fallback always fits: a boundary that denies IAM, merged with the old one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::principal::{EntityKind, Target};

/// IAM's limit on a managed policy document (whitespace not counted).
pub const MANAGED_POLICY_MAX: usize = 6144;

/// The name prefix of the tool's boundary policies, under `/iam-warden/`.
pub const BOUNDARY_PREFIX: &str = "iam-warden-boundary-";

/// How the deny is put on a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Attach the managed deny policy.
    Managed,
    /// Put the inline deny: the principal has as many managed policies as the account allows.
    Inline,
    /// A permissions boundary that denies IAM (and keeps the old boundary's limits): the
    /// managed and inline quotas are full.
    Boundary,
}

impl Method {
    /// The method to try when IAM refuses this one at a quota (`LimitExceeded`).
    pub fn fallback(self) -> Option<Method> {
        match self {
            Method::Managed => Some(Method::Inline),
            Method::Inline => Some(Method::Boundary),
            Method::Boundary => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Managed => "managed",
            Method::Inline => "inline",
            Method::Boundary => "boundary",
        }
    }
}

/// The tool's record of a revocation, in the ledger (`revocation#<account>#<unique id>`):
/// the caller cannot block it (50 tags) nor remove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    pub kind: EntityKind,
    pub name: String,
    pub unique_id: Option<String>,
    pub event_id: String,
    pub event_name: String,
    pub at: DateTime<Utc>,
    pub method: Method,
    /// The boundary the principal had before the tool's (`None`: none), put back by
    /// `warden restore`.
    #[serde(default)]
    pub previous_boundary: Option<String>,
    /// The revocation notice went out.
    pub notified: bool,
    /// A role session revoked alone: its `aws:userid` (the record's key too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// A session's source, once settled ([`crate::source`]): for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The user that issued the session and was denied assuming its role again
    /// (`iam-warden-no-assume`): `warden restore` of the session lifts that too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_user: Option<String>,
}

/// The key of a principal's revocation record: its unique id when known (a rename keeps
/// it, a re-created name does not), else `kind/name`.
pub fn record_key(target: &Target, unique_id: Option<&str>) -> String {
    match unique_id {
        Some(id) => id.to_owned(),
        None => format!("{}/{}", target.kind.as_str(), target.name),
    }
}

/// The name of the tool's boundary policy for a principal (at most 128 characters).
pub fn boundary_name(target: &Target) -> String {
    let name = format!("{BOUNDARY_PREFIX}{}-{}", target.kind.as_str(), target.name);
    name.chars().take(128).collect()
}

/// Whether a boundary ARN is one of the tool's.
pub fn is_tool_boundary(arn: &str) -> bool {
    arn.contains(&format!(":policy/iam-warden/{BOUNDARY_PREFIX}"))
}

/// Whether a boundary ARN is a revocation's: one of the tool's boundaries, or the stack's
/// quarantine (`quarantine`), the last resort when the account's policy quota leaves no
/// room for a new boundary policy.
pub fn is_revocation_boundary(arn: &str, quarantine: Option<&str>) -> bool {
    is_tool_boundary(arn) || quarantine == Some(arn)
}

/// Why no boundary could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundaryError {
    #[error("the existing boundary's document is not a policy: {0}")]
    Unreadable(String),
    #[error("the existing boundary with the deny of IAM added is {0} characters, over IAM's {MANAGED_POLICY_MAX}")]
    TooLarge(usize),
}

fn deny_iam() -> Value {
    json!({"Sid": "IamWardenDenyAllIam", "Effect": "Deny", "Action": "iam:*", "Resource": "*"})
}

/// The boundary that denies IAM and keeps every limit of `previous` (its document): its
/// statements plus the deny. Adding a statement to a boundary can only restrict, so it
/// never widens what the principal may do. Without a previous boundary, everything but
/// IAM is allowed: the principal's own policies still decide the rest.
pub fn boundary_document(previous: Option<&str>) -> Result<String, BoundaryError> {
    let statements = match previous {
        None => vec![
            json!({"Sid": "IamWardenKeepTheRest", "Effect": "Allow", "Action": "*", "Resource": "*"}),
            deny_iam(),
        ],
        Some(text) => {
            let doc: Value =
                serde_json::from_str(text).map_err(|e| BoundaryError::Unreadable(e.to_string()))?;
            let mut statements = match doc.get("Statement") {
                Some(Value::Array(list)) => list.clone(),
                Some(one @ Value::Object(_)) => vec![one.clone()],
                _ => return Err(BoundaryError::Unreadable("no `Statement`".into())),
            };
            statements.push(deny_iam());
            statements
        }
    };
    let document = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    let size = document.chars().filter(|c| !c.is_whitespace()).count();
    if size > MANAGED_POLICY_MAX {
        return Err(BoundaryError::TooLarge(size));
    }
    Ok(document)
}

/// The boundary when the old one cannot be kept (unreadable, or too large with the deny
/// added): it denies everything. The last resort against a caller that arranged for
/// every other method to fail: it keeps every limit of any old boundary (there is
/// nothing left to allow), and `warden restore` puts the old one back.
pub fn deny_everything_boundary() -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "IamWardenDenyEverything", "Effect": "Deny", "Action": "*", "Resource": "*"}
    ]})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            kind: EntityKind::User,
            name: "mallory".into(),
            arn: "arn:aws:iam::123456789012:user/mallory".into(),
        }
    }

    #[test]
    fn methods_have_the_names_status_and_notices_show() {
        let names: Vec<&str> = [Method::Managed, Method::Inline, Method::Boundary]
            .into_iter()
            .map(Method::as_str)
            .collect();
        assert_eq!(names, ["managed", "inline", "boundary"]);
    }

    #[test]
    fn methods_fall_back_managed_inline_boundary_then_nothing() {
        assert_eq!(Method::Managed.fallback(), Some(Method::Inline));
        assert_eq!(Method::Inline.fallback(), Some(Method::Boundary));
        assert_eq!(Method::Boundary.fallback(), None);
    }

    #[test]
    fn without_a_boundary_everything_but_iam_stays_allowed() {
        let doc: Value = serde_json::from_str(&boundary_document(None).unwrap()).unwrap();
        let st = doc["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(
            (st[0]["Effect"].as_str(), st[0]["Action"].as_str()),
            (Some("Allow"), Some("*"))
        );
        assert_eq!(
            (st[1]["Effect"].as_str(), st[1]["Action"].as_str()),
            (Some("Deny"), Some("iam:*"))
        );
    }

    #[test]
    fn an_existing_boundary_keeps_every_statement_and_gains_the_deny() {
        let old = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","ec2:Describe*"],"Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;
        let doc: Value = serde_json::from_str(&boundary_document(Some(old)).unwrap()).unwrap();
        let st = doc["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 3);
        let old: Value = serde_json::from_str(old).unwrap();
        assert_eq!(st[0], old["Statement"][0]);
        assert_eq!(st[1], old["Statement"][1]);
        assert_eq!(st[2]["Action"], "iam:*");
        assert!(
            !st.iter()
                .any(|s| s["Effect"] == "Allow" && s["Action"] == "*"),
            "never widened"
        );
        // A single statement object is kept too.
        let single = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let doc: Value = serde_json::from_str(&boundary_document(Some(single)).unwrap()).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_boundary_that_would_not_fit_or_cannot_be_read_is_an_error_not_a_wider_one() {
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
            "x".repeat(6100)
        );
        assert!(matches!(
            boundary_document(Some(&big)),
            Err(BoundaryError::TooLarge(_))
        ));
        assert!(matches!(
            boundary_document(Some("nope")),
            Err(BoundaryError::Unreadable(_))
        ));
        assert!(matches!(
            boundary_document(Some("{}")),
            Err(BoundaryError::Unreadable(_))
        ));
        // Exactly at the limit still fits.
        let base = boundary_document(Some(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"x"}]}"#,
        ))
        .unwrap();
        let room = MANAGED_POLICY_MAX - base.len();
        let fits = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"x{}"}}]}}"#,
            "y".repeat(room)
        );
        assert_eq!(
            boundary_document(Some(&fits)).unwrap().len(),
            MANAGED_POLICY_MAX
        );
        let over = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"x{}"}}]}}"#,
            "y".repeat(room + 1)
        );
        assert_eq!(
            boundary_document(Some(&over)),
            Err(BoundaryError::TooLarge(MANAGED_POLICY_MAX + 1))
        );
    }

    #[test]
    fn names_and_keys() {
        assert_eq!(boundary_name(&target()), "iam-warden-boundary-user-mallory");
        let long = Target {
            name: "n".repeat(200),
            ..target()
        };
        assert_eq!(boundary_name(&long).len(), 128);
        assert!(is_tool_boundary(
            "arn:aws:iam::1:policy/iam-warden/iam-warden-boundary-user-x"
        ));
        assert!(!is_tool_boundary(
            "arn:aws:iam::1:policy/iam-warden-boundary-user-x"
        ));
        assert!(!is_tool_boundary("arn:aws:iam::1:policy/iam-warden/other"));
        assert_eq!(record_key(&target(), Some("AIDA1")), "AIDA1");
        assert_eq!(record_key(&target(), None), "user/mallory");
    }
}
