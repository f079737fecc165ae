//! `warden assess`'s checks on built facts: each failing once and passing once, at their
//! boundaries; the summary; the text, JSON and HTML reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use warden_core::assess::{
    allows_on_everything, assess, Facts, PolicyOf, Principal, Severity, WardenState,
    ADMINISTRATOR_ACCESS,
};
use warden_core::assess_report::{html, json, text};
use warden_core::credentials::{parse, Report};
use warden_core::principal::EntityKind;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

fn now() -> DateTime<Utc> {
    "2026-12-05T12:00:00Z".parse().unwrap()
}

fn ago(days: i64) -> String {
    (now() - Duration::days(days)).to_rfc3339()
}

/// A report row: `password` (last used days ago; `None`: no password; `Some(None)`:
/// never used), MFA, and keys (active, made days ago, used days ago).
fn row(
    name: &str,
    password: Option<Option<i64>>,
    mfa: bool,
    keys: &[(bool, i64, Option<i64>)],
) -> String {
    let (enabled, used) = match password {
        None => ("false".to_owned(), "N/A".to_owned()),
        Some(None) => ("true".to_owned(), "no_information".to_owned()),
        Some(Some(d)) => ("true".to_owned(), ago(d)),
    };
    let key = |i: usize| match keys.get(i) {
        None => "false,N/A,N/A,N/A,N/A".to_owned(),
        Some((active, made, used)) => format!(
            "{active},{},{},us-east-1,s3",
            ago(*made),
            used.map_or("N/A".to_owned(), ago)
        ),
    };
    let created = if name == "<root_account>" {
        ago(3000)
    } else {
        ago(400)
    };
    let arn = if name == "<root_account>" {
        "arn:aws:iam::123456789012:root".to_owned()
    } else {
        format!("arn:aws:iam::123456789012:user/{name}")
    };
    let password_enabled = if name == "<root_account>" {
        "not_supported".to_owned()
    } else {
        enabled
    };
    format!(
        "{name},{arn},{created},{password_enabled},{used},N/A,N/A,{mfa},{},{},false,N/A,false,N/A",
        key(0),
        key(1)
    )
}

fn report(rows: &[String]) -> Report {
    parse(format!("{HEADER}\n{}", rows.join("\n")).as_bytes()).unwrap()
}

fn principal(
    name: &str,
    kind: EntityKind,
    attached: &[&str],
    policies: Vec<PolicyOf>,
) -> Principal {
    Principal {
        kind,
        name: name.into(),
        arn: format!("arn:aws:iam::123456789012:{}/{name}", kind.as_str()),
        created: now() - Duration::days(400),
        attached: attached.iter().map(|s| s.to_string()).collect(),
        policies,
    }
}

fn inline(name: &str, action: &str, resource: &str) -> PolicyOf {
    PolicyOf {
        name: name.into(),
        managed: false,
        document: format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
        ),
    }
}

/// The results of `check` by resource name (the part after the last `/` or `:`).
fn results(facts: &Facts, check: &str) -> BTreeMap<String, bool> {
    assess(facts, now())
        .findings
        .iter()
        .filter(|f| f.check.id == check)
        .map(|f| {
            (
                f.resource.rsplit(['/', ':']).next().unwrap().to_owned(),
                f.passed,
            )
        })
        .collect()
}

fn facts(rows: &[String], principals: Vec<Principal>) -> Facts {
    Facts {
        account: "123456789012".into(),
        report: report(rows),
        principals,
        last_activity: BTreeMap::new(),
        warden: WardenState::default(),
    }
}

#[test]
fn the_root_users_checks_fail_and_pass() {
    let bad = facts(
        &[row(
            "<root_account>",
            Some(Some(89)),
            false,
            &[(true, 500, Some(200))],
        )],
        vec![],
    );
    let good = facts(
        &[row(
            "<root_account>",
            Some(Some(90)),
            true,
            &[(false, 500, Some(300))],
        )],
        vec![],
    );
    let evidence = |f: &Facts| {
        assess(f, now())
            .findings
            .into_iter()
            .find(|x| x.check.id == "root-used")
            .unwrap()
            .evidence
    };
    assert_eq!(evidence(&bad), "last used 2026-09-07");
    for (check, b, g) in [
        ("root-access-key", false, true),
        ("root-mfa", false, true),
        // used 89 days ago fails; 90 days ago passes
        ("root-used", false, true),
    ] {
        assert_eq!(results(&bad, check)["root"], b, "{check}");
        assert_eq!(results(&good, check)["root"], g, "{check}");
    }
}

#[test]
fn the_users_credential_checks_fail_and_pass_at_their_boundaries() {
    let f = facts(
        &[
            row("<root_account>", None, true, &[]),
            // a console password without MFA, unused 45 days
            row("nomfa", Some(Some(45)), false, &[]),
            // a console password with MFA, used 44 days ago
            row("mfa", Some(Some(44)), true, &[]),
            // two active keys, one made 91 days ago and unused 45 days
            row(
                "twokeys",
                None,
                false,
                &[(true, 91, Some(45)), (true, 10, Some(1))],
            ),
            // one active key made 90 days ago, used 44 days ago; an inactive old one
            row(
                "onekey",
                None,
                false,
                &[(true, 90, Some(44)), (false, 900, None)],
            ),
            // nothing to judge
            row("nothing", None, false, &[]),
        ],
        vec![],
    );
    assert_eq!(
        results(&f, "console-mfa"),
        BTreeMap::from([("mfa".into(), true), ("nomfa".into(), false)])
    );
    assert_eq!(
        results(&f, "unused-credentials"),
        BTreeMap::from([
            ("mfa".into(), true),
            ("nomfa".into(), false),
            ("onekey".into(), true),
            ("twokeys".into(), false),
        ])
    );
    assert_eq!(
        results(&f, "one-active-key"),
        BTreeMap::from([("onekey".into(), true), ("twokeys".into(), false)])
    );
    assert_eq!(
        results(&f, "key-rotation"),
        BTreeMap::from([("onekey".into(), true), ("twokeys".into(), false)])
    );
    let a = assess(&f, now());
    let unused = a
        .findings
        .iter()
        .find(|x| x.check.id == "unused-credentials" && x.resource.ends_with("/twokeys"))
        .unwrap();
    assert_eq!(unused.evidence, "access key 1 unused 45 days");
}

#[test]
fn policies_granting_everything_or_all_of_iam_are_found() {
    let managed = PolicyOf {
        name: "arn:aws:iam::123456789012:policy/ops-all".into(),
        managed: true,
        document:
            r#"{"Statement":{"Effect":"Allow","Action":["s3:GetObject","*:*"],"Resource":["*"]}}"#
                .into(),
    };
    let f = facts(
        &[],
        vec![
            principal(
                "admin",
                EntityKind::User,
                &[
                    ADMINISTRATOR_ACCESS,
                    "arn:aws:iam::123456789012:policy/ops-all",
                ],
                vec![managed.clone()],
            ),
            principal(
                "deployer",
                EntityKind::Role,
                &["arn:aws:iam::123456789012:policy/ops-all"],
                vec![managed, inline("iam", "iam:*", "*")],
            ),
            principal(
                "scoped",
                EntityKind::User,
                &[],
                vec![
                    inline("all-on-one", "*", "arn:aws:s3:::bucket"),
                    inline("iam-read", "iam:Get*", "*"),
                ],
            ),
        ],
    );
    assert_eq!(
        results(&f, "administrator-access-attached"),
        BTreeMap::from([
            ("admin".into(), false),
            ("deployer".into(), true),
            ("scoped".into(), true),
        ])
    );
    let a = assess(&f, now());
    let by = |check: &str| -> Vec<(String, bool)> {
        a.findings
            .iter()
            .filter(|x| x.check.id == check)
            .map(|x| (x.resource.clone(), x.passed))
            .collect()
    };
    assert_eq!(
        by("full-admin-policy"),
        [
            ("arn:aws:iam::123456789012:role/deployer".to_owned(), true),
            ("arn:aws:iam::123456789012:user/scoped".to_owned(), true),
            ("arn:aws:iam::123456789012:user/scoped".to_owned(), true),
            // once, however many hold it
            ("arn:aws:iam::123456789012:policy/ops-all".to_owned(), false),
        ]
    );
    assert_eq!(
        by("iam-admin-policy").iter().filter(|(_, p)| !p).count(),
        2,
        "the managed `*:*` and the inline iam:*"
    );
    let ops = a
        .findings
        .iter()
        .find(|x| x.check.id == "full-admin-policy" && x.resource.ends_with("/ops-all"))
        .unwrap();
    assert_eq!(
        ops.evidence,
        "managed policy arn:aws:iam::123456789012:policy/ops-all attached to arn:aws:iam::123456789012:user/admin, arn:aws:iam::123456789012:role/deployer allows \"*\" on \"*\""
    );
    // Deny, conditions of no import, other shapes.
    assert!(!allows_on_everything(
        r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        "*"
    ));
    assert!(allows_on_everything(
        r#"{"Statement":[{"Effect":"Allow","Action":"IAM:*","Resource":"*"}]}"#,
        "iam:*"
    ));
    assert!(!allows_on_everything("not json", "*"));
    assert!(!allows_on_everything(r#"{"Version":"2012-10-17"}"#, "*"));
}

#[test]
fn a_principal_inactive_for_90_days_is_found_and_a_young_or_unknown_one_is_not() {
    let mut f = facts(
        &[row("keyuser", None, false, &[(true, 300, Some(10))])],
        vec![
            principal("idle", EntityKind::Role, &[], vec![]),
            principal("busy", EntityKind::Role, &[], vec![]),
            principal("keyuser", EntityKind::User, &[], vec![]),
            principal("unknown", EntityKind::Role, &[], vec![]),
            principal("young", EntityKind::Role, &[], vec![]),
            principal("ninety", EntityKind::Role, &[], vec![]),
        ],
    );
    f.principals[4].created = now() - Duration::days(89);
    f.principals[5].created = now() - Duration::days(90);
    let arn = |k: &str, n: &str| format!("arn:aws:iam::123456789012:{k}/{n}");
    f.last_activity = BTreeMap::from([
        (arn("role", "idle"), Some(now() - Duration::days(90))),
        (arn("role", "busy"), Some(now() - Duration::days(89))),
        (arn("user", "keyuser"), None),
        (arn("role", "young"), None),
        (arn("role", "ninety"), None),
    ]);
    assert_eq!(
        results(&f, "inactive-principal"),
        BTreeMap::from([
            ("busy".into(), true),
            ("idle".into(), false),
            // Access Advisor: never; its key was used 10 days ago
            ("keyuser".into(), true),
            // made 90 days ago and never active: judged
            ("ninety".into(), false),
        ])
    );
}

#[test]
fn the_summary_counts_failed_by_severity_and_the_share_of_checks_passed() {
    let mut f = facts(
        &[
            row("<root_account>", None, false, &[]),
            row("nomfa", Some(Some(1)), false, &[]),
            row("nomfa2", Some(Some(2)), false, &[]),
            row("keyed", None, false, &[(true, 10, Some(1))]),
        ],
        vec![principal(
            "admin",
            EntityKind::User,
            &[ADMINISTRATOR_ACCESS],
            vec![],
        )],
    );
    f.warden = WardenState {
        revoked: vec!["arn:aws:iam::123456789012:user/mallory".into()],
        pruned: BTreeMap::from([("arn:aws:iam::123456789012:user/dev3".into(), 3)]),
        ..WardenState::default()
    };
    let a = assess(&f, now());
    let s = a.summary();
    assert_eq!(
        s.failed,
        BTreeMap::from([
            (Severity::Critical, 1),
            (Severity::High, 1),
            (Severity::Medium, 2)
        ])
    );
    // root-access-key, root-mfa, root-used, console-mfa, unused-credentials,
    // one-active-key, key-rotation, administrator-access-attached: five passed
    // (root-mfa, console-mfa and administrator-access-attached fail).
    assert_eq!((s.checks_passed, s.checks_evaluated), (5, 8));
    assert_eq!((s.passed, s.evaluations), (7, 11));

    let t = text(&a);
    assert!(t.contains("Checks passed: 5/8 (62%)"), "{t}");
    assert!(
        t.contains("Failed by severity: CRITICAL 1, HIGH 1, MEDIUM 2, LOW 0"),
        "{t}"
    );
    let failed = t.find("== FAILED ==").unwrap();
    let passed = t.find("== Passed ==").unwrap();
    let info = t.find("== iam-warden ==").unwrap();
    assert!(failed < passed && passed < info, "{t}");
    assert!(
        t.contains("[CRITICAL] The root user has MFA (CIS 1.5, Security Hub IAM.9)"),
        "{t}"
    );
    assert!(t.contains("revoked (carries the deny of IAM)"), "{t}");

    let j = json(&a);
    assert_eq!(j["summary"]["checks_passed"], 5);
    assert_eq!(j["benchmark"], "CIS AWS Foundations Benchmark v3.0.0");
    let mfa = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["check"] == "console-mfa")
        .unwrap();
    assert_eq!(
        (mfa["cis"].as_str(), mfa["security_hub"].as_str()),
        (Some("1.10"), Some("IAM.5"))
    );
    assert_eq!(mfa["severity"], "MEDIUM");

    let h = html(&a);
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(!h.contains("<script"), "self-contained, no script");
    assert!(h.contains("<td>5/8 (62%)</td>"));
    assert_eq!(h.matches("<td>FAILED</td>").count(), 4);
}

#[test]
fn html_escapes_what_the_account_holds() {
    let f = facts(
        &[],
        vec![principal(
            "x",
            EntityKind::User,
            &[],
            vec![inline("<script>alert(1)</script>", "*", "*")],
        )],
    );
    let h = html(&assess(&f, now()));
    assert!(!h.contains("<script>"), "{h}");
    assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}
