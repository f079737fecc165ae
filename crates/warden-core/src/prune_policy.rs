//! The pruner's deny policies: their names and ARNs, a principal's deny set written as
//! documents within IAM's size limit, and the services a document denies.

use std::collections::BTreeSet;

use crate::principal::EntityKind;

/// IAM's limit on a managed policy document, whitespace excluded.
pub const POLICY_SIZE_MAX: usize = 6144;
/// The path of every policy iam-warden writes.
pub const POLICY_PATH: &str = "/iam-warden/";
/// The tag that ties a pruner policy to its principal (checked before adopting one).
pub const PRINCIPAL_TAG: &str = "iam-warden:principal";

/// The name of a principal's `index`-th pruner policy. Roles get their own infix, and
/// a name another principal's policy already holds is refused when writing (the
/// principal tag).
pub fn policy_name(prefix: &str, kind: EntityKind, name: &str, index: usize) -> String {
    let mut out = match kind {
        EntityKind::User => format!("{prefix}{name}"),
        EntityKind::Role => format!("{prefix}role-{name}"),
    };
    if index > 0 {
        out.push_str(&format!(".{}", index + 1));
    }
    out
}

/// `arn:<partition>:iam::<account>:policy/iam-warden/<name>` in the principal's account.
pub fn policy_arn(principal_arn: &str, name: &str) -> String {
    let base = principal_arn
        .splitn(6, ':')
        .take(5)
        .collect::<Vec<_>>()
        .join(":");
    format!("{base}:policy{POLICY_PATH}{name}")
}

/// Whether `arn` is one of the pruner's policies for this principal (by name): only
/// those are ever deleted; another principal's, attached here by hand, is only detached.
pub fn is_own_policy(arn: &str, prefix: &str, kind: EntityKind, name: &str) -> bool {
    let base = policy_name(prefix, kind, name, 0);
    arn.rsplit_once("/iam-warden/").is_some_and(|(_, n)| {
        n == base
            || n.strip_prefix(&base)
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Whether `arn` names a policy the pruner writes.
pub fn is_prune_policy(arn: &str, prefix: &str) -> bool {
    arn.split_once(":policy/").is_some_and(|(_, rest)| {
        rest.strip_prefix("iam-warden/")
            .is_some_and(|n| n.starts_with(prefix))
    })
}

/// The deny set's mark of an unused principal (UNUSED_PRINCIPALS=deny): everything is
/// denied but NEVER_DENY_SERVICES.
pub const EVERYTHING: &str = "*";

/// The deny documents for a deny set: everything but `never_deny` (one statement,
/// `NotAction`) when the set holds [`EVERYTHING`], else [`documents`].
pub fn deny_documents(deny: &BTreeSet<String>, never_deny: &BTreeSet<String>) -> Vec<String> {
    if !deny.contains(EVERYTHING) {
        return documents(deny);
    }
    let statement = if never_deny.is_empty() {
        serde_json::json!({
            "Sid": "IamWardenUnusedPrincipal",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
        })
    } else {
        let kept: Vec<String> = never_deny.iter().map(|s| format!("{s}:*")).collect();
        serde_json::json!({
            "Sid": "IamWardenUnusedPrincipal",
            "Effect": "Deny",
            "NotAction": kept,
            "Resource": "*",
        })
    };
    vec![serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()]
}

/// The deny documents for `services`, split so that each stays within
/// [`POLICY_SIZE_MAX`]. No whitespace is written, so the length is the size IAM counts.
pub fn documents(services: &BTreeSet<String>) -> Vec<String> {
    let render = |actions: &[String]| {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "IamWardenUnusedServices",
                "Effect": "Deny",
                "Action": actions,
                "Resource": "*",
            }]
        })
        .to_string()
    };
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for s in services {
        let action = format!("{s}:*");
        current.push(action);
        if render(&current).len() > POLICY_SIZE_MAX {
            let last = current.pop().unwrap_or_default();
            out.push(render(&current));
            current = vec![last];
        }
    }
    if !current.is_empty() {
        out.push(render(&current));
    }
    out
}

/// The services a pruner policy document denies (`<service>:*` of its Deny statements;
/// [`EVERYTHING`] for a Deny of `*` or of everything but a few).
pub fn services_of(document: &str) -> Option<BTreeSet<String>> {
    let doc: serde_json::Value = serde_json::from_str(document).ok()?;
    let statements = match doc.get("Statement")? {
        serde_json::Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let mut out = BTreeSet::new();
    for st in statements
        .iter()
        .filter(|s| s.get("Effect").and_then(|e| e.as_str()) == Some("Deny"))
    {
        // Everything but a few (an unused principal's deny), or everything.
        if st.get("NotAction").is_some() || st.get("Action").and_then(|a| a.as_str()) == Some("*") {
            out.insert(EVERYTHING.to_owned());
            continue;
        }
        let actions = match st.get("Action").unwrap_or(&serde_json::Value::Null) {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        out.extend(
            actions
                .iter()
                .filter_map(|a| a.strip_suffix(":*").map(str::to_owned)),
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_stay_within_the_size_limit_and_keep_every_service() {
        let services: BTreeSet<String> = (0..900).map(|i| format!("service{i:04}")).collect();
        let docs = documents(&services);
        assert!(docs.len() >= 3, "{}", docs.len());
        let mut seen = BTreeSet::new();
        for d in &docs {
            assert!(d.len() <= POLICY_SIZE_MAX, "{}", d.len());
            assert!(!d.contains(char::is_whitespace));
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            for a in v["Statement"][0]["Action"].as_array().unwrap() {
                seen.insert(a.as_str().unwrap().trim_end_matches(":*").to_owned());
            }
        }
        assert_eq!(seen, services);
    }

    #[test]
    fn a_document_of_exactly_the_size_limit_is_not_split() {
        // What a service adds to a document besides its name: `"`, `:*"` and a comma.
        let per_service = "\":*\",".len();
        let names = |n: usize| -> BTreeSet<String> { (0..n).map(|i| format!("a{i:04}")).collect() };
        // Services enough to come within a name of the limit, then one whose name fills it.
        let one = documents(&names(1))[0].len();
        let n = (POLICY_SIZE_MAX - one - per_service - 1) / ("a0000".len() + per_service) + 1;
        let services = names(n);
        let room = POLICY_SIZE_MAX - documents(&services)[0].len() - per_service;
        let mut full = services.clone();
        full.insert("z".repeat(room));
        let docs = documents(&full);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].len(), POLICY_SIZE_MAX);
        // One character more is a second document.
        let mut over = services;
        over.insert("z".repeat(room + 1));
        assert_eq!(documents(&over).len(), 2);
    }

    #[test]
    fn policy_names_and_arns() {
        let arn = policy_arn("arn:aws:iam::123456789012:user/team/bob", "p-bob");
        assert_eq!(arn, "arn:aws:iam::123456789012:policy/iam-warden/p-bob");
        assert_eq!(policy_name("p-", EntityKind::Role, "ci", 0), "p-role-ci");
        assert_eq!(policy_name("p-", EntityKind::User, "bob", 1), "p-bob.2");
        assert!(is_prune_policy(&arn, "p-"));
        assert!(!is_prune_policy(
            "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam",
            "p-"
        ));
        assert!(!is_prune_policy(
            "arn:aws:iam::123456789012:policy/p-bob",
            "p-"
        ));
    }

    #[test]
    fn everything_is_one_statement_that_reads_back_as_everything() {
        let never: BTreeSet<String> = ["iam".to_owned(), "sts".to_owned()].into();
        let deny: BTreeSet<String> = [EVERYTHING.to_owned(), "ec2".to_owned()].into();
        let docs = deny_documents(&deny, &never);
        assert_eq!(docs.len(), 1);
        assert!(
            docs[0].contains(r#""NotAction":["iam:*","sts:*"]"#),
            "{}",
            docs[0]
        );
        assert_eq!(services_of(&docs[0]), Some([EVERYTHING.to_owned()].into()));
        let all = deny_documents(&deny, &BTreeSet::new());
        assert!(all[0].contains(r#""Action":"*""#), "{}", all[0]);
        assert_eq!(services_of(&all[0]), Some([EVERYTHING.to_owned()].into()));
        // Without it, the services' documents.
        let some: BTreeSet<String> = ["ec2".to_owned()].into();
        assert_eq!(deny_documents(&some, &never), documents(&some));
    }
}
