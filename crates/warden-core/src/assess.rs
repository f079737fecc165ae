//! The account's IAM assessment (issue 21, `warden assess`): each check of the CIS AWS
//! Foundations Benchmark v3.0.0's IAM section that the credential report and the account's
//! policies can answer, and iam-warden's own, evaluated per resource. Pure: the facts are
//! gathered by the adapters; time is a parameter.
//!
//! The CIS ids are v3.0.0's, the version Security Hub's CIS standard uses (later versions
//! renumber the IAM section); the Security Hub ids are its controls' (Security Hub's
//! IAM.1 checks what CIS 1.16 asks, though Security Hub's CIS v3.0.0 standard lists it not;
//! CIS 1.7 and 1.13 have no Security Hub control).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::credentials::{self, Report, Used, UserRow};
use crate::principal::EntityKind;

/// The benchmark the `cis` ids are of.
pub const CIS_VERSION: &str = "CIS AWS Foundations Benchmark v3.0.0";

/// How bad a failed check is (Security Hub's labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Informational,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Informational => "INFORMATIONAL",
        }
    }
}

/// One check of the assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable: part of the Security Hub finding id.
    pub id: &'static str,
    pub title: &'static str,
    /// The CIS AWS Foundations Benchmark v3.0.0 recommendation, when there is one.
    pub cis: Option<&'static str>,
    /// The Security Hub control, when there is one.
    pub security_hub: Option<&'static str>,
    pub severity: Severity,
    pub remediation: &'static str,
}

pub const ROOT_ACCESS_KEY: Check = Check {
    id: "root-access-key",
    title: "The root user has no access key",
    cis: Some("1.4"),
    security_hub: Some("IAM.4"),
    severity: Severity::Critical,
    remediation: "Sign in as the root user, delete its access keys (Security credentials), and use IAM roles instead.",
};
pub const ROOT_MFA: Check = Check {
    id: "root-mfa",
    title: "The root user has MFA",
    cis: Some("1.5"),
    security_hub: Some("IAM.9"),
    severity: Severity::Critical,
    remediation: "Sign in as the root user and assign an MFA device (Security credentials > Multi-factor authentication).",
};
pub const ROOT_USED: Check = Check {
    id: "root-used",
    title: "The root user was not used in the last 90 days",
    cis: Some("1.7"),
    security_hub: None,
    severity: Severity::High,
    remediation: "Use IAM roles (IAM Identity Center) for daily work; keep the root user for the few tasks only it can do, and find out who used it (CloudTrail).",
};
pub const CONSOLE_MFA: Check = Check {
    id: "console-mfa",
    title: "Every user with a console password has MFA",
    cis: Some("1.10"),
    security_hub: Some("IAM.5"),
    severity: Severity::Medium,
    remediation:
        "Assign an MFA device to the user, or remove its console password if it does not sign in.",
};
pub const UNUSED_CREDENTIALS: Check = Check {
    id: "unused-credentials",
    title: "No credential unused for 45 days or more",
    cis: Some("1.12"),
    security_hub: Some("IAM.22"),
    severity: Severity::Medium,
    remediation: "Deactivate the unused access key and remove the unused console password (the pruner does this reversibly with UNUSED_KEY_DAYS=45, UNUSED_PASSWORDS=remove).",
};
pub const ONE_ACTIVE_KEY: Check = Check {
    id: "one-active-key",
    title: "No user has two active access keys",
    cis: Some("1.13"),
    security_hub: None,
    severity: Severity::Medium,
    remediation: "Deactivate the key no longer in use (keep two only while rotating).",
};
pub const KEY_ROTATION: Check = Check {
    id: "key-rotation",
    title: "Access keys are rotated every 90 days or less",
    cis: Some("1.14"),
    security_hub: Some("IAM.3"),
    severity: Severity::Medium,
    remediation:
        "Create a new access key, move its users to it, then deactivate and delete the old one.",
};
pub const ADMIN_ATTACHED: Check = Check {
    id: "administrator-access-attached",
    title: "No user or role has AdministratorAccess attached directly",
    cis: None,
    security_hub: None,
    severity: Severity::High,
    remediation: "Grant administration through a group or a permission set that is reviewed, or grant only the services the principal uses.",
};
pub const FULL_ADMIN_POLICY: Check = Check {
    id: "full-admin-policy",
    title: "No customer managed or inline policy allows \"*\" on \"*\"",
    cis: Some("1.16"),
    security_hub: Some("IAM.1"),
    severity: Severity::High,
    remediation: "Replace the statement with the actions and resources the principal needs.",
};
pub const IAM_ADMIN_POLICY: Check = Check {
    id: "iam-admin-policy",
    title: "No customer managed or inline policy allows \"iam:*\" on \"*\"",
    cis: None,
    security_hub: None,
    severity: Severity::High,
    remediation: "Whoever may do iam:* may grant itself anything: keep it to the admin group, and scope other grants to the IAM actions and resources needed.",
};
pub const INACTIVE_PRINCIPAL: Check = Check {
    id: "inactive-principal",
    title: "Every user and role was active in the last 90 days",
    cis: None,
    security_hub: None,
    severity: Severity::Low,
    remediation:
        "Delete the principal if nobody needs it (or let the pruner deny it what it does not use).",
};
pub const WARDEN_STATE: Check = Check {
    id: "iam-warden",
    title: "What iam-warden did in the account",
    cis: None,
    security_hub: None,
    severity: Severity::Informational,
    remediation: "Review each principal and `warden restore` what should be put back.",
};

/// Every check, in the order of the report.
pub const CHECKS: [&Check; 11] = [
    &ROOT_ACCESS_KEY,
    &ROOT_MFA,
    &ROOT_USED,
    &CONSOLE_MFA,
    &UNUSED_CREDENTIALS,
    &ONE_ACTIVE_KEY,
    &KEY_ROTATION,
    &ADMIN_ATTACHED,
    &FULL_ADMIN_POLICY,
    &IAM_ADMIN_POLICY,
    &INACTIVE_PRINCIPAL,
];

/// The AWS managed policy that grants everything.
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// A policy document of a principal: inline (named), or customer managed (by ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOf {
    /// The managed policy's ARN, or the inline policy's name.
    pub name: String,
    pub managed: bool,
    /// The document (already URL-decoded).
    pub document: String,
}

/// A user or role as the assessment sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: EntityKind,
    pub name: String,
    pub arn: String,
    pub created: DateTime<Utc>,
    /// The managed policies attached to it (ARNs).
    pub attached: Vec<String>,
    /// Its inline policies and the customer managed policies attached to it.
    pub policies: Vec<PolicyOf>,
}

/// What iam-warden did, from its ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WardenState {
    /// Principals carrying the revoker's deny.
    pub revoked: Vec<String>,
    /// Containment actions taken, by the caller that caused them.
    pub contained: BTreeMap<String, usize>,
    /// Principals the pruner denies services to, with how many.
    pub pruned: BTreeMap<String, usize>,
    /// Credentials the pruner took away, by principal.
    pub credentials_taken: BTreeMap<String, Vec<String>>,
}

/// Everything the checks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub account: String,
    pub report: Report,
    pub principals: Vec<Principal>,
    /// Access Advisor's latest use of any service per principal ARN (`None`: never
    /// used); a principal absent here is not judged inactive.
    pub last_activity: BTreeMap<String, Option<DateTime<Utc>>>,
    pub warden: WardenState,
}

/// One check on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static Check,
    /// The resource's ARN (a policy's for a managed policy's statement).
    pub resource: String,
    pub passed: bool,
    /// What was seen.
    pub evidence: String,
}

/// The assessment of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub account: String,
    pub generated_at: DateTime<Utc>,
    pub benchmark: &'static str,
    pub findings: Vec<Finding>,
}

fn finding(check: &'static Check, resource: &str, passed: bool, evidence: String) -> Finding {
    Finding {
        check,
        resource: resource.to_owned(),
        passed,
        evidence,
    }
}

fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn used(u: Used) -> Option<DateTime<Utc>> {
    match u {
        Used::At(t) => Some(t),
        Used::Never | Used::Unknown => None,
    }
}

/// The root user's checks.
fn root(facts: &Facts, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let arn = format!("arn:aws:iam::{}:root", facts.account);
    let Some(root) = &facts.report.root else {
        return;
    };
    let active: Vec<u8> = root
        .keys
        .iter()
        .filter(|k| k.active)
        .map(|k| k.slot)
        .collect();
    out.push(finding(
        &ROOT_ACCESS_KEY,
        &arn,
        active.is_empty(),
        if active.is_empty() {
            "no active access key".into()
        } else {
            format!("{} active access key(s)", active.len())
        },
    ));
    out.push(finding(
        &ROOT_MFA,
        &arn,
        root.mfa_active,
        format!("mfa_active {}", root.mfa_active),
    ));
    let last = std::iter::once(used(root.password_last_used))
        .chain(root.keys.iter().map(|k| used(k.last_used)))
        .flatten()
        .max();
    let recent = last.filter(|t| *t > now - Duration::days(90));
    out.push(finding(
        &ROOT_USED,
        &arn,
        recent.is_none(),
        match last {
            Some(t) => format!("last used {}", date(t)),
            None => "never used (or not since tracking began)".into(),
        },
    ));
}

/// One user's credential checks.
fn user(row: &UserRow, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    if row.password_enabled == Some(true) {
        out.push(finding(
            &CONSOLE_MFA,
            &row.arn,
            row.mfa_active,
            format!("console password, mfa_active {}", row.mfa_active),
        ));
    }
    let unused = credentials::unused_of(row, now, 45, 45);
    let has_credentials = row.password_enabled == Some(true) || row.keys.iter().any(|k| k.active);
    if has_credentials {
        out.push(finding(
            &UNUSED_CREDENTIALS,
            &row.arn,
            unused.is_empty(),
            if unused.is_empty() {
                "every credential used in the last 45 days".into()
            } else {
                unused
                    .iter()
                    .map(|u| match u.slot {
                        Some(n) => format!("access key {n} unused {} days", u.days),
                        None => format!("console password unused {} days", u.days),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ));
    }
    let active: Vec<&credentials::KeySlot> = row.keys.iter().filter(|k| k.active).collect();
    if !active.is_empty() {
        out.push(finding(
            &ONE_ACTIVE_KEY,
            &row.arn,
            active.len() < 2,
            format!("{} active access key(s)", active.len()),
        ));
        let old: Vec<String> = active
            .iter()
            .filter(|k| now - k.created > Duration::days(90))
            .map(|k| format!("access key {} made {}", k.slot, date(k.created)))
            .collect();
        out.push(finding(
            &KEY_ROTATION,
            &row.arn,
            old.is_empty(),
            if old.is_empty() {
                "every active key made in the last 90 days".into()
            } else {
                old.join("; ")
            },
        ));
    }
}

/// Whether a policy document has an Allow statement of `action` (or a wildcard that
/// covers it, when `action` is `*`) on Resource `*`.
pub fn allows_on_everything(document: &str, action: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(document) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(list)) => list.clone(),
        Some(one) => vec![one.clone()],
        None => return false,
    };
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(l)) => l
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    statements.iter().any(|st| {
        st.get("Effect").and_then(|e| e.as_str()) == Some("Allow")
            && strings(st.get("Action"))
                .iter()
                .any(|a| a == "*" || a == "*:*" || a.eq_ignore_ascii_case(action))
            && strings(st.get("Resource")).iter().any(|r| r == "*")
    })
}

/// One principal's own checks: AdministratorAccess, and its inline policies.
fn principal(p: &Principal, out: &mut Vec<Finding>) {
    let admin = p.attached.iter().any(|a| a == ADMINISTRATOR_ACCESS);
    out.push(finding(
        &ADMIN_ATTACHED,
        &p.arn,
        !admin,
        if admin {
            "AdministratorAccess attached".into()
        } else {
            "not attached".into()
        },
    ));
    for policy in p.policies.iter().filter(|x| !x.managed) {
        policy_checks(
            &p.arn,
            &format!("inline policy `{}`", policy.name),
            &policy.document,
            out,
        );
    }
}

/// The customer managed policies attached to the principals, each checked once (its
/// own resource), naming whom it is attached to.
fn managed(principals: &[Principal], out: &mut Vec<Finding>) {
    let mut by_arn: BTreeMap<&str, (&str, Vec<&str>)> = BTreeMap::new();
    for p in principals {
        for policy in p.policies.iter().filter(|x| x.managed) {
            by_arn
                .entry(&policy.name)
                .or_insert((&policy.document, Vec::new()))
                .1
                .push(&p.arn);
        }
    }
    for (arn, (document, holders)) in by_arn {
        let what = format!("managed policy {arn} attached to {}", holders.join(", "));
        policy_checks(arn, &what, document, out);
    }
}

fn policy_checks(resource: &str, what: &str, document: &str, out: &mut Vec<Finding>) {
    for (check, action) in [(&FULL_ADMIN_POLICY, "*"), (&IAM_ADMIN_POLICY, "iam:*")] {
        let allows = allows_on_everything(document, action);
        out.push(finding(
            check,
            resource,
            !allows,
            format!(
                "{what} {} \"{action}\" on \"*\"",
                if allows { "allows" } else { "does not allow" }
            ),
        ));
    }
}

/// A principal's inactivity: its latest use of a service or a credential.
fn activity(p: &Principal, facts: &Facts, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let Some(advisor) = facts.last_activity.get(&p.arn) else {
        return;
    };
    if now - p.created < Duration::days(90) {
        return;
    }
    let credential = facts
        .report
        .users
        .iter()
        .find(|u| u.arn == p.arn)
        .and_then(|u| {
            std::iter::once(used(u.password_last_used))
                .chain(u.keys.iter().map(|k| used(k.last_used)))
                .flatten()
                .max()
        });
    let last = (*advisor).max(credential);
    let active = last.is_some_and(|t| now - t < Duration::days(90));
    out.push(finding(
        &INACTIVE_PRINCIPAL,
        &p.arn,
        active,
        match last {
            Some(t) => format!("last active {}", date(t)),
            None => format!("never active since it was made on {}", date(p.created)),
        },
    ));
}

/// iam-warden's own state, one informational finding per principal it acted on.
fn warden(w: &WardenState, out: &mut Vec<Finding>) {
    let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for arn in &w.revoked {
        by.entry(arn)
            .or_default()
            .push("revoked (carries the deny of IAM)".into());
    }
    for (arn, n) in &w.contained {
        by.entry(arn)
            .or_default()
            .push(format!("{n} containment action(s) of its calls"));
    }
    for (arn, n) in &w.pruned {
        by.entry(arn)
            .or_default()
            .push(format!("{n} unused service(s) denied"));
    }
    for (arn, taken) in &w.credentials_taken {
        by.entry(arn)
            .or_default()
            .push(format!("unused credential(s) taken: {}", taken.join(", ")));
    }
    for (arn, what) in by {
        out.push(finding(&WARDEN_STATE, arn, true, what.join("; ")));
    }
}

/// Every check on every resource it applies to.
pub fn assess(facts: &Facts, now: DateTime<Utc>) -> Assessment {
    let mut findings = Vec::new();
    root(facts, now, &mut findings);
    for row in &facts.report.users {
        user(row, now, &mut findings);
    }
    for p in &facts.principals {
        principal(p, &mut findings);
        activity(p, facts, now, &mut findings);
    }
    managed(&facts.principals, &mut findings);
    warden(&facts.warden, &mut findings);
    Assessment {
        account: facts.account.clone(),
        generated_at: now,
        benchmark: CIS_VERSION,
        findings,
    }
}

/// The counts of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Failed findings per severity.
    pub failed: BTreeMap<Severity, usize>,
    /// Checks (of [`CHECKS`]) evaluated, and those with no failed resource.
    pub checks_evaluated: usize,
    pub checks_passed: usize,
    /// Resource evaluations, and those that passed.
    pub evaluations: usize,
    pub passed: usize,
}

impl Assessment {
    pub fn summary(&self) -> Summary {
        let graded: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.check.severity != Severity::Informational)
            .collect();
        let mut failed = BTreeMap::new();
        for f in graded.iter().filter(|f| !f.passed) {
            *failed.entry(f.check.severity).or_insert(0) += 1;
        }
        let evaluated: Vec<&&Check> = CHECKS
            .iter()
            .filter(|c| graded.iter().any(|f| f.check.id == c.id))
            .collect();
        let checks_passed = evaluated
            .iter()
            .filter(|c| !graded.iter().any(|f| f.check.id == c.id && !f.passed))
            .count();
        Summary {
            failed,
            checks_evaluated: evaluated.len(),
            checks_passed,
            evaluations: graded.len(),
            passed: graded.iter().filter(|f| f.passed).count(),
        }
    }
}
