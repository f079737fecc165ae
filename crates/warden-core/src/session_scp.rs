//! Central mode's remedy for IAM Identity Center users (SESSION_SCP=on): Identity
//! Center's roles cannot be changed through IAM, so a user whose permission set may not
//! manage IAM is denied IAM by an SCP of the tool on the event's account, as AWS
//! documents ("Revoke active IAM role sessions created by permission sets").
//!
//! The SCPs are the tool's own, `iam-warden-sessions-<account>` (then `-2`, `-3`...: SCP
//! names are unique in the organization), attached to that account. Each denies `iam:*`
//! to the people it lists: by Identity Store user id (`identitystore:userId`, which names
//! a person for good) where the record carries it, else by `aws:userid` `*:<user name>`.
//! Every SCP stays within [`SCP_MAX`] characters and the account within
//! [`SCPS_PER_TARGET`] SCPs: a person is added to the first of the tool's SCPs with room,
//! else to a new one while the account has a free slot; when none is left the plan says
//! so (the action fails, is recorded and notified: never dropped). A person is lifted by
//! `warden restore --role <role> --session <user name>`; the SCP is detached and deleted
//! with its last person.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::event::CloudTrailRecord;

/// The SCPs' name prefix; the account id follows.
pub const SCP_PREFIX: &str = "iam-warden-sessions-";
/// Organizations' limit on an SCP document, whitespace included.
pub const SCP_MAX: usize = 5120;
/// Organizations' limit of SCPs attached to one account (the FullAWSAccess one included).
pub const SCPS_PER_TARGET: usize = 5;
/// The statements' ids: by Identity Store user id, and by `aws:userid`.
pub const SID_STORE: &str = "IamWardenDenyIdentityCenterUsers";
pub const SID_USERID: &str = "IamWardenDenyIdentityCenterSessions";

/// A person of IAM Identity Center, as the deny names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "kebab-case")]
pub enum Person {
    /// The Identity Store user id (`identitystore:userId`).
    StoreId(String),
    /// The user name, the session name of every session of theirs (`aws:userid`
    /// `*:<name>`).
    UserName(String),
}

impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Person::StoreId(id) => {
                write!(f, "the Identity Center user with Identity Store id {id}")
            }
            Person::UserName(name) => write!(f, "the Identity Center user `{name}`"),
        }
    }
}

impl Person {
    /// The person of a record of an Identity Center session: its Identity Store id when
    /// the record carries it, else its session name.
    pub fn of(record: &CloudTrailRecord) -> Option<Person> {
        match crate::identity_center::user_of(record) {
            (_, Some(id)) if !id.is_empty() => Some(Person::StoreId(id)),
            (Some(name), _) if crate::session::is_session_name(&name) => {
                Some(Person::UserName(name))
            }
            _ => None,
        }
    }
}

/// The name of the tool's `n`th SCP on `account` (from 1).
pub fn scp_name(account: &str, n: usize) -> String {
    match n {
        1 => format!("{SCP_PREFIX}{account}"),
        n => format!("{SCP_PREFIX}{account}-{n}"),
    }
}

/// Whether `name` is one of the tool's SCPs on `account`.
pub fn is_tool_scp(name: &str, account: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(SCP_PREFIX)
        .and_then(|r| r.strip_prefix(account))
    else {
        return false;
    };
    rest.is_empty()
        || rest
            .strip_prefix('-')
            .is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n >= 2))
}

/// The SCP document that denies IAM to `people` (compact: Organizations counts spaces).
pub fn document(people: &BTreeSet<Person>) -> String {
    let ids: Vec<&str> = people
        .iter()
        .filter_map(|p| match p {
            Person::StoreId(id) => Some(id.as_str()),
            Person::UserName(_) => None,
        })
        .collect();
    let names: Vec<String> = people
        .iter()
        .filter_map(|p| match p {
            Person::UserName(n) => Some(format!("*:{n}")),
            Person::StoreId(_) => None,
        })
        .collect();
    let mut statements = Vec::new();
    if !ids.is_empty() {
        statements.push(
            json!({"Sid": SID_STORE, "Effect": "Deny", "Action": "iam:*", "Resource": "*",
            "Condition": {"StringEquals": {"identitystore:userId": ids}}}),
        );
    }
    if !names.is_empty() {
        statements.push(
            json!({"Sid": SID_USERID, "Effect": "Deny", "Action": "iam:*", "Resource": "*",
            "Condition": {"StringLike": {"aws:userid": names}}}),
        );
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The people an SCP of the tool lists (its own statements only; anything else in it is
/// not the tool's and not read).
pub fn people_in(document: &str) -> BTreeSet<Person> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return BTreeSet::new();
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut out = BTreeSet::new();
    for st in &statements {
        let condition = st.get("Condition");
        match st.get("Sid").and_then(Value::as_str) {
            Some(SID_STORE) => out.extend(
                strings(condition.and_then(|c| c.pointer("/StringEquals/identitystore:userId")))
                    .into_iter()
                    .map(Person::StoreId),
            ),
            Some(SID_USERID) => out.extend(
                strings(condition.and_then(|c| c.pointer("/StringLike/aws:userid")))
                    .into_iter()
                    .filter_map(|p| p.strip_prefix("*:").map(str::to_owned))
                    .map(Person::UserName),
            ),
            _ => {}
        }
    }
    out
}

/// One of the tool's SCPs on an account, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolScp {
    pub id: String,
    pub name: String,
    pub people: BTreeSet<Person>,
}

/// What adding a person takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddPlan {
    /// Already denied by the SCP `id`.
    Already(String),
    /// The SCP `id` gets this document.
    Update { id: String, document: String },
    /// A new SCP, attached to the account.
    Create { name: String, document: String },
    /// No SCP of the tool has room and the account has no free slot.
    Full,
}

/// Adds `person` to the tool's SCPs on `account` (`tool`), the account having `others`
/// SCPs attached that are not the tool's.
pub fn plan_add(tool: &[ToolScp], others: usize, account: &str, person: &Person) -> AddPlan {
    if let Some(scp) = tool.iter().find(|s| s.people.contains(person)) {
        return AddPlan::Already(scp.id.clone());
    }
    for scp in tool {
        let mut people = scp.people.clone();
        people.insert(person.clone());
        let doc = document(&people);
        if doc.chars().count() <= SCP_MAX {
            return AddPlan::Update {
                id: scp.id.clone(),
                document: doc,
            };
        }
    }
    if others + tool.len() >= SCPS_PER_TARGET {
        return AddPlan::Full;
    }
    // Fewer than SCPS_PER_TARGET SCPs of the tool here: one of as many numbers is free.
    let Some(n) =
        (1..=SCPS_PER_TARGET).find(|n| !tool.iter().any(|s| s.name == scp_name(account, *n)))
    else {
        return AddPlan::Full;
    };
    AddPlan::Create {
        name: scp_name(account, n),
        document: document(&BTreeSet::from([person.clone()])),
    }
}

/// What removing a person takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovePlan {
    /// No SCP of the tool lists them.
    NotThere,
    /// The SCP `id` gets this document.
    Update { id: String, document: String },
    /// The SCP `id` listed only them: detached and deleted.
    Lift(String),
}

/// Removes `person` from the tool's SCPs.
pub fn plan_remove(tool: &[ToolScp], person: &Person) -> RemovePlan {
    let Some(scp) = tool.iter().find(|s| s.people.contains(person)) else {
        return RemovePlan::NotThere;
    };
    let mut people = scp.people.clone();
    people.remove(person);
    if people.is_empty() {
        RemovePlan::Lift(scp.id.clone())
    } else {
        RemovePlan::Update {
            id: scp.id.clone(),
            document: document(&people),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::containment::person_to_stop;
    use crate::decision::Decision;
    use crate::principal::Principal;

    fn store(id: &str) -> Person {
        Person::StoreId(id.into())
    }
    fn user(n: &str) -> Person {
        Person::UserName(n.into())
    }

    #[test]
    fn the_document_lists_each_person_as_the_deny_names_them_and_reads_back() {
        let people = BTreeSet::from([store("9067-a"), user("jane@example.com")]);
        let doc = document(&people);
        assert!(!doc.contains(' '), "compact: {doc}");
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["Statement"][0]["Action"], "iam:*");
        assert_eq!(v["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            v["Statement"][0]["Condition"]["StringEquals"]["identitystore:userId"],
            json!(["9067-a"])
        );
        assert_eq!(
            v["Statement"][1]["Condition"]["StringLike"]["aws:userid"],
            json!(["*:jane@example.com"])
        );
        assert_eq!(people_in(&doc), people);
        assert_eq!(
            people_in(&document(&BTreeSet::from([user("x")]))),
            BTreeSet::from([user("x")]),
            "one kind alone"
        );
        // Someone else's statements in it are not the tool's people.
        let edited = r#"{"Statement":[{"Sid":"Other","Condition":{"StringEquals":{"identitystore:userId":"z"}}},{"Sid":"IamWardenDenyIdentityCenterSessions","Condition":{"StringLike":{"aws:userid":["*:a","b"]}}}]}"#;
        assert_eq!(people_in(edited), BTreeSet::from([user("a")]));
        let single = r#"{"Statement":{"Sid":"IamWardenDenyIdentityCenterUsers","Condition":{"StringEquals":{"identitystore:userId":"q"}}}}"#;
        assert_eq!(people_in(single), BTreeSet::from([store("q")]));
        assert!(people_in("not json").is_empty());
    }

    #[test]
    fn the_tools_scps_are_named_per_account_and_numbered() {
        assert_eq!(
            scp_name("111111111111", 1),
            "iam-warden-sessions-111111111111"
        );
        assert_eq!(
            scp_name("111111111111", 3),
            "iam-warden-sessions-111111111111-3"
        );
        assert!(is_tool_scp(
            "iam-warden-sessions-111111111111",
            "111111111111"
        ));
        assert!(is_tool_scp(
            "iam-warden-sessions-111111111111-2",
            "111111111111"
        ));
        for not in [
            "iam-warden-sessions-111111111111-1",
            "iam-warden-sessions-111111111111-x",
            "iam-warden-sessions-111111111111x",
            "iam-warden-sessions-222222222222",
            "FullAWSAccess",
        ] {
            assert!(!is_tool_scp(not, "111111111111"), "{not}");
        }
    }

    fn scp(id: &str, n: usize, people: &[Person]) -> ToolScp {
        ToolScp {
            id: id.into(),
            name: scp_name("111111111111", n),
            people: people.iter().cloned().collect(),
        }
    }

    /// A person whose id makes the document grow by `len` characters or so.
    fn long(i: usize, len: usize) -> Person {
        store(&format!("{i:04}-{}", "x".repeat(len)))
    }

    #[test]
    fn a_person_goes_where_there_is_room_else_a_new_scp_while_the_account_has_a_slot() {
        let acct = "111111111111";
        assert_eq!(
            plan_add(&[], 1, acct, &store("a")),
            AddPlan::Create {
                name: scp_name(acct, 1),
                document: document(&BTreeSet::from([store("a")]))
            }
        );
        let one = [scp("p-1", 1, &[store("a")])];
        assert_eq!(
            plan_add(&one, 1, acct, &store("a")),
            AddPlan::Already("p-1".into())
        );
        assert_eq!(
            plan_add(&one, 1, acct, &user("b")),
            AddPlan::Update {
                id: "p-1".into(),
                document: document(&BTreeSet::from([store("a"), user("b")]))
            }
        );
        // Filled to the byte: exactly SCP_MAX fits, one more character does not.
        let mut people: BTreeSet<Person> = (0..40).map(|i| long(i, 100)).collect();
        let base = document(&people).chars().count();
        let room = SCP_MAX - base;
        // `,"<id>"` adds the id's length plus 3.
        let fits = store(&"y".repeat(room - 3));
        let full = [ToolScp {
            id: "p-1".into(),
            name: scp_name(acct, 1),
            people: people.clone(),
        }];
        match plan_add(&full, 1, acct, &fits) {
            AddPlan::Update { document, .. } => assert_eq!(document.chars().count(), SCP_MAX),
            other => panic!("{other:?}"),
        }
        let over = store(&"y".repeat(room - 2));
        assert_eq!(
            plan_add(&full, 1, acct, &over),
            AddPlan::Create {
                name: scp_name(acct, 2),
                document: document(&BTreeSet::from([over.clone()]))
            },
            "a second SCP, the next free number"
        );
        // One full SCP of the tool and four others: no slot left; three others: one.
        assert_eq!(plan_add(&full, 4, acct, &over), AddPlan::Full);
        assert!(matches!(
            plan_add(&full, 3, acct, &over),
            AddPlan::Create { .. }
        ));
        // Slots: FullAWSAccess and two others, the tool's two full: the fifth is the last.
        people.insert(fits.clone());
        let two_full = [
            full[0].clone(),
            ToolScp {
                id: "p-2".into(),
                name: scp_name(acct, 3),
                people: people.clone(),
            },
        ];
        assert_eq!(
            plan_add(&two_full, 2, acct, &over),
            AddPlan::Create {
                name: scp_name(acct, 2),
                document: document(&BTreeSet::from([over.clone()]))
            }
        );
        assert_eq!(plan_add(&two_full, 3, acct, &over), AddPlan::Full);
        assert_eq!(plan_add(&two_full, 4, acct, &over), AddPlan::Full);
    }

    #[test]
    fn a_person_is_lifted_and_the_scp_with_them_when_they_were_its_last() {
        let tool = [
            scp("p-1", 1, &[store("a"), user("b")]),
            scp("p-2", 2, &[store("c")]),
        ];
        assert_eq!(
            plan_remove(&tool, &user("b")),
            RemovePlan::Update {
                id: "p-1".into(),
                document: document(&BTreeSet::from([store("a")]))
            }
        );
        assert_eq!(
            plan_remove(&tool, &store("c")),
            RemovePlan::Lift("p-2".into())
        );
        assert_eq!(plan_remove(&tool, &store("z")), RemovePlan::NotThere);
    }

    fn record(role: &str, on_behalf: Option<&str>) -> CloudTrailRecord {
        serde_json::from_value(json!({
            "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
            "recipientAccountId": "111111111111",
            "userIdentity": {"type": "AssumedRole",
                "arn": format!("arn:aws:sts::111111111111:assumed-role/{role}/jane@example.com"),
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role,
                    "arn": format!("arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/{role}")}},
                "onBehalfOf": on_behalf.map(|id| json!({"userId": id}))}
        }))
        .unwrap()
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut all = vec![
            (
                "DENY_POLICY_ARN",
                "arn:aws:iam::111111111111:policy/iam-warden/deny",
            ),
            ("MEMBER_ROLE_NAME", "iam-warden-member"),
            ("ADMIN_PERMISSION_SETS", "AdminAccess"),
        ];
        all.extend_from_slice(pairs);
        Config::from_lookup(|k| {
            all.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap()
    }

    #[test]
    fn only_an_alerted_session_of_a_non_admin_permission_set_is_stopped_and_only_when_on() {
        let on = config(&[("SESSION_SCP", "on")]);
        let dev = record("AWSReservedSSO_Dev_ab12", Some("9067-a"));
        let caller = Principal::classify(&dev);
        assert!(
            matches!(caller, Principal::IdentityCenterRole { .. }),
            "{caller:?}"
        );
        assert_eq!(
            person_to_stop(&dev, &caller, Decision::Alerted, &on),
            Some(store("9067-a"))
        );
        let no_id = record("AWSReservedSSO_Dev_ab12", None);
        assert_eq!(
            person_to_stop(&no_id, &Principal::classify(&no_id), Decision::Alerted, &on),
            Some(user("jane@example.com")),
            "no Identity Store id: by user name"
        );
        assert_eq!(person_to_stop(&dev, &caller, Decision::Ignored, &on), None);
        let empty_id = record("AWSReservedSSO_Dev_ab12", Some(""));
        assert_eq!(
            Person::of(&empty_id),
            Some(user("jane@example.com")),
            "an empty id names no one: by user name"
        );
        assert_eq!(
            store("9067-a").to_string(),
            "the Identity Center user with Identity Store id 9067-a"
        );
        assert_eq!(user("jane").to_string(), "the Identity Center user `jane`");
        let mut odd: serde_json::Value = serde_json::to_value(&no_id).unwrap();
        odd["userIdentity"]["arn"] =
            "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Dev_ab12/x".into();
        let odd: CloudTrailRecord = serde_json::from_value(odd).unwrap();
        assert_eq!(
            person_to_stop(&odd, &Principal::classify(&odd), Decision::Alerted, &on),
            None,
            "a name no session has (one character) names no one"
        );
        assert_eq!(
            person_to_stop(&dev, &caller, Decision::Alerted, &config(&[])),
            None,
            "off by default"
        );
        let admin = record("AWSReservedSSO_AdminAccess_ab12", Some("9067-a"));
        assert_eq!(
            person_to_stop(&admin, &Principal::classify(&admin), Decision::Alerted, &on),
            None,
            "an admin permission set's session is never stopped by the SCP"
        );
        let plain: CloudTrailRecord = serde_json::from_value(json!({
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/dev1", "userName": "dev1"}
        }))
        .unwrap();
        assert_eq!(
            person_to_stop(&plain, &Principal::classify(&plain), Decision::Alerted, &on),
            None
        );
    }

    #[test]
    fn session_scp_needs_central_mode() {
        let err = Config::from_lookup(|k| match k {
            "DENY_POLICY_ARN" => Some("arn:aws:iam::111111111111:policy/iam-warden/deny".into()),
            "SESSION_SCP" => Some("on".into()),
            _ => None,
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("SESSION_SCP") && err.contains("MEMBER_ROLE_NAME"),
            "{err}"
        );
        let bad = Config::from_lookup(|k| match k {
            "DENY_POLICY_ARN" => Some("arn:aws:iam::111111111111:policy/iam-warden/deny".into()),
            "SESSION_SCP" => Some("yes".into()),
            _ => None,
        });
        assert!(bad.is_err());
    }
}
