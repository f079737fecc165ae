//! Unused credentials and unused principals through the pruner's run, on the in-memory
//! ports: the guards, the record before the action, MODE=report, a report not to be had,
//! the faults, the digest and the restore; and the Security Hub import of a run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use warden_core::action::Credential;
use warden_core::credential_plan::{CredentialStatus, PASSWORD};
use warden_core::credentials::{KeySlot, Report, Used, UserRow};
use warden_core::ports::PortError;
use warden_core::principal::{EntityKind, Target};
use warden_core::prune::{Outcome, PruneConfig, Report as Advisor, Subject};
use warden_core::pruner::{digest, lift_credentials, start, Started};
use warden_core::testing::MemoryAccount;

fn now() -> DateTime<Utc> {
    "2026-12-05T12:00:00Z".parse().unwrap()
}

fn days_ago(n: i64) -> DateTime<Utc> {
    now() - Duration::days(n)
}

fn cfg(pairs: &[(&str, &str)]) -> PruneConfig {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PruneConfig::from_lookup(|k| map.get(k).cloned()).unwrap()
}

fn arn(user: &str) -> String {
    format!("arn:aws:iam::123456789012:user/{user}")
}

/// The key id of `user`'s key `n`.
fn key_id(user: &str, n: u8) -> String {
    format!("AKIA{}{n}", user.to_uppercase())
}

/// An account whose users each have one key last used `key_used` days ago (or never,
/// made 400 days ago) and, when `password_used` is set, a console password last used
/// that many days ago; the report says the same. `admins` are members of the admin
/// group and `exempt` tagged exempt, both trusted by the baseline.
fn account(
    users: &[(&str, Option<i64>, Option<i64>)],
    admins: &[&str],
    exempt: &[&str],
) -> MemoryAccount {
    let mut a = MemoryAccount::new();
    for (name, _, _) in users {
        let groups: &[&str] = if admins.contains(name) {
            &["Administrators"]
        } else {
            &[]
        };
        let tags: &[(&str, &str)] = if exempt.contains(name) {
            &[("iam-warden:exempt", "true")]
        } else {
            &[]
        };
        a = a
            .with_user(name, groups, tags)
            .with_credential(name, Credential::AccessKey(key_id(name, 1)));
    }
    let a = a.with_baseline();
    let mut rows = Vec::new();
    {
        let mut s = a.lock();
        for (name, key_used, password_used) in users {
            let facts = s
                .principals
                .get(&(EntityKind::User, (*name).to_owned()))
                .cloned()
                .unwrap();
            s.subjects.push(Subject {
                kind: EntityKind::User,
                name: (*name).to_owned(),
                arn: arn(name),
                created: days_ago(400),
                tags: facts.tags.clone(),
                groups: facts.groups.clone(),
                attached: BTreeSet::new(),
                trusted: BTreeSet::new(),
                unique_id: None,
                credentials: None,
            });
            s.reports.insert(arn(name), Advisor::Complete(Vec::new()));
            let used = key_used.map(days_ago);
            s.key_dates.insert(key_id(name, 1), (days_ago(400), used));
            if password_used.is_some() {
                s.login_profiles.insert((*name).to_owned());
            }
            rows.push(UserRow {
                name: (*name).to_owned(),
                arn: arn(name),
                created: Some(days_ago(400)),
                password_enabled: Some(password_used.is_some()),
                password_last_used: password_used.map_or(Used::Never, |d| Used::At(days_ago(d))),
                mfa_active: false,
                keys: vec![KeySlot {
                    slot: 1,
                    active: true,
                    created: days_ago(400),
                    last_used: used.map_or(Used::Never, Used::At),
                }],
            });
        }
        s.credential_report = Some(Report {
            root: None,
            users: rows,
        });
    }
    a
}

async fn run(a: &MemoryAccount, c: &PruneConfig) -> Vec<Outcome> {
    match start(a, c, "123456789012", "run-1", now(), false)
        .await
        .unwrap()
    {
        Started::Inline(outcomes) => outcomes,
        other => panic!("{other:?}"),
    }
}

fn active(a: &MemoryAccount, user: &str) -> bool {
    a.lock().credentials[&(user.to_owned(), Credential::AccessKey(key_id(user, 1)))]
}

fn statuses(out: &[Outcome], user: &str) -> Vec<(String, CredentialStatus)> {
    out.iter()
        .find(|o| o.name == user)
        .unwrap()
        .credentials
        .iter()
        .map(|c| (c.credential.clone(), c.status))
        .collect()
}

#[tokio::test]
async fn an_unused_key_is_deactivated_after_its_record_and_a_used_one_is_not() {
    let a = account(
        &[
            ("old", Some(120), None),
            ("recent", Some(3), None),
            ("never", None, None),
        ],
        &[],
        &[],
    );
    let out = run(&a, &cfg(&[])).await;
    assert_eq!(
        statuses(&out, "old"),
        [(key_id("old", 1), CredentialStatus::Deactivated)]
    );
    assert_eq!(
        statuses(&out, "never"),
        [(key_id("never", 1), CredentialStatus::Deactivated)]
    );
    assert!(statuses(&out, "recent").is_empty());
    assert!(!active(&a, "old") && !active(&a, "never"));
    assert!(active(&a, "recent"));
    // The ledger knows what was taken, when and why.
    let ledger = a.lock().ledger.clone();
    let entry = &ledger[&arn("old")];
    assert_eq!(
        entry.credentials_taken.keys().collect::<Vec<_>>(),
        [&key_id("old", 1)]
    );
    let last = entry.history.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.services.clone()),
        ("key deactivated", vec![key_id("old", 1)])
    );
    assert!(
        last.by.contains("run-1") && last.by.contains("unused 120 days"),
        "{}",
        last.by
    );
    assert!(
        !ledger.contains_key(&arn("recent")) || ledger[&arn("recent")].credentials_taken.is_empty()
    );
    // The user carries the tag, and the digest the restore command.
    let tags = a.facts_of(EntityKind::User, "old").unwrap().tags;
    assert_eq!(
        tags.get("iam-warden:credentials-taken"),
        Some(&key_id("old", 1))
    );
    let notice = &a.notices()[0];
    assert!(
        notice
            .body
            .contains("Access keys deactivated (never deleted): 2"),
        "{}",
        notice.body
    );
    assert!(
        notice.body.contains(&format!(
            "warden restore --user old --key {}",
            key_id("old", 1)
        )),
        "{}",
        notice.body
    );
    // A second run: the key is inactive, nothing more is done.
    let again = run(&a, &cfg(&[])).await;
    assert!(statuses(&again, "old").is_empty());
}

#[tokio::test]
async fn the_record_is_written_before_the_key_is_touched_and_a_failure_is_said() {
    let a = account(&[("old", Some(120), None)], &[], &[]);
    a.fail(
        "ledger_save",
        PortError::Transient {
            operation: "PutItem",
            message: "throttled".into(),
        },
        1,
    );
    let out = run(&a, &cfg(&[])).await;
    assert_eq!(
        statuses(&out, "old"),
        [(key_id("old", 1), CredentialStatus::Failed)]
    );
    assert!(active(&a, "old"), "not recorded: not touched");
    // The action fails after the record: said, and the next run does it.
    a.fail(
        "set_key_active",
        PortError::Transient {
            operation: "UpdateAccessKey",
            message: "throttled".into(),
        },
        1,
    );
    let out = run(&a, &cfg(&[])).await;
    assert_eq!(
        statuses(&out, "old"),
        [(key_id("old", 1), CredentialStatus::Failed)]
    );
    assert!(active(&a, "old"));
    assert!(a.lock().ledger[&arn("old")]
        .credentials_taken
        .contains_key(&key_id("old", 1)));
    let out = run(&a, &cfg(&[])).await;
    assert_eq!(
        statuses(&out, "old"),
        [(key_id("old", 1), CredentialStatus::Deactivated)]
    );
    assert!(!active(&a, "old"));
}

#[tokio::test]
async fn admins_exempt_principals_and_report_mode_keep_their_keys() {
    let users = [
        ("admin", Some(300), None),
        ("svc", Some(300), None),
        ("dev", Some(300), None),
    ];
    let a = account(&users, &["admin"], &["svc"]);
    let out = run(&a, &cfg(&[("MODE", "report")])).await;
    assert!(statuses(&out, "admin").is_empty() && statuses(&out, "svc").is_empty());
    assert_eq!(
        statuses(&out, "dev"),
        [(key_id("dev", 1), CredentialStatus::NotApplied)]
    );
    assert!(active(&a, "admin") && active(&a, "svc") && active(&a, "dev"));
    assert!(a
        .lock()
        .ledger
        .values()
        .all(|e| e.credentials_taken.is_empty()));
    // UNUSED_KEYS=report: said, not done.
    let out = run(&a, &cfg(&[("UNUSED_KEYS", "report")])).await;
    assert_eq!(
        statuses(&out, "dev"),
        [(key_id("dev", 1), CredentialStatus::Reported)]
    );
    assert!(active(&a, "dev"));
    // PRUNE_ADMINS=true: the admin's key too; the exempt principal never.
    let out = run(&a, &cfg(&[("PRUNE_ADMINS", "true")])).await;
    assert_eq!(
        statuses(&out, "admin"),
        [(key_id("admin", 1), CredentialStatus::Deactivated)]
    );
    assert!(statuses(&out, "svc").is_empty());
    assert!(active(&a, "svc"));
}

#[tokio::test]
async fn a_key_used_since_the_report_is_kept_and_a_user_deleted_since_is_said() {
    let a = account(
        &[("stale", Some(120), None), ("deleted", Some(120), None)],
        &[],
        &[],
    );
    {
        let mut s = a.lock();
        // The report is up to 4 hours old: the key signed a request since.
        s.key_dates.insert(
            key_id("stale", 1),
            (days_ago(400), Some(now() - Duration::hours(1))),
        );
        s.principals
            .remove(&(EntityKind::User, "deleted".to_owned()));
    }
    let out = run(&a, &cfg(&[])).await;
    assert!(statuses(&out, "stale").is_empty(), "{out:?}");
    assert!(active(&a, "stale"));
    assert_eq!(
        statuses(&out, "deleted"),
        [(String::new(), CredentialStatus::Gone)]
    );
}

#[tokio::test]
async fn a_report_not_to_be_had_checks_no_credential_and_says_so_once() {
    let users: Vec<(String, Option<i64>, Option<i64>)> = (0..25)
        .map(|i| (format!("u{i}"), Some(200), None))
        .collect();
    let refs: Vec<(&str, Option<i64>, Option<i64>)> =
        users.iter().map(|(n, k, p)| (n.as_str(), *k, *p)).collect();
    let a = account(&refs, &[], &[]);
    a.lock().credential_report = None; // still being generated
    let out = run(&a, &cfg(&[])).await;
    assert!(users.iter().all(|(n, _, _)| active(&a, n)));
    assert!(out
        .iter()
        .all(|o| o.credentials.len() == 1 && o.credentials[0].status == CredentialStatus::Failed));
    let body = &a.notices()[0].body;
    assert!(
        body.contains("- 25 user(s): not checked: IAM was still generating the credential report"),
        "{body}"
    );
    // A failing API is said the same way.
    let a = account(&refs[..1], &[], &[]);
    a.fail(
        "credential_report",
        PortError::Failed {
            operation: "GetCredentialReport",
            message: "the credential report's row 2, column `mfa_active`: `maybe`".into(),
        },
        1,
    );
    let out = run(&a, &cfg(&[])).await;
    assert!(out[0].credentials[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("`maybe`"));
    assert!(active(&a, "u0"));
}

#[tokio::test]
async fn passwords_are_reported_and_removed_only_when_asked_and_restore_puts_everything_back() {
    let a = account(&[("carol", Some(120), Some(200))], &[], &[]);
    let out = run(&a, &cfg(&[])).await;
    assert_eq!(
        statuses(&out, "carol"),
        [
            (key_id("carol", 1), CredentialStatus::Deactivated),
            (PASSWORD.to_owned(), CredentialStatus::Reported)
        ]
    );
    assert!(a.lock().login_profiles.contains("carol"));
    assert!(a.notices()[0]
        .body
        .contains("console password unused 200 days"));
    let out = run(&a, &cfg(&[("UNUSED_PASSWORDS", "remove")])).await;
    assert_eq!(
        statuses(&out, "carol"),
        [(PASSWORD.to_owned(), CredentialStatus::Removed)]
    );
    assert!(!a.lock().login_profiles.contains("carol"));
    assert!(a.notices()[1]
        .body
        .contains("warden restore --user carol --password"));

    // Restore of the key alone, then of everything else.
    let target = Target {
        kind: EntityKind::User,
        name: "carol".into(),
        arn: arn("carol"),
    };
    let only: BTreeSet<String> = [key_id("carol", 1)].into();
    let lifted = lift_credentials(&a, &target, Some(&only), now())
        .await
        .unwrap();
    assert_eq!(lifted.lifted, [key_id("carol", 1)]);
    assert!(lifted.password.is_none());
    assert!(active(&a, "carol"));
    assert!(!a.lock().login_profiles.contains("carol"));
    let lifted = lift_credentials(&a, &target, None, now()).await.unwrap();
    assert_eq!(lifted.lifted, [PASSWORD]);
    assert!(lifted.password.is_some(), "a new password for the operator");
    assert!(a.lock().login_profiles.contains("carol"));
    let entry = a.lock().ledger[&arn("carol")].clone();
    assert!(entry.credentials_taken.is_empty());
    assert_eq!(entry.credentials_lifted.len(), 2);
    assert!(!a
        .facts_of(EntityKind::User, "carol")
        .unwrap()
        .tags
        .contains_key("iam-warden:credentials-taken"));
    // Put back today: used today, so the next run leaves them alone.
    let out = run(&a, &cfg(&[("UNUSED_PASSWORDS", "remove")])).await;
    assert!(statuses(&out, "carol").is_empty(), "{out:?}");
    // Nothing taken: nothing to put back.
    assert!(lift_credentials(&a, &target, None, now())
        .await
        .unwrap()
        .lifted
        .is_empty());
}

fn changed(services: usize) -> Vec<Outcome> {
    (0..30)
        .map(|i| {
            let subject = Subject {
                kind: EntityKind::User,
                name: format!("u{i:02}"),
                arn: arn(&format!("u{i:02}")),
                created: days_ago(400),
                tags: BTreeMap::new(),
                groups: BTreeSet::new(),
                attached: BTreeSet::new(),
                trusted: BTreeSet::new(),
                unique_id: None,
                credentials: None,
            };
            let mut o = Outcome::new(&subject, warden_core::prune::PruneDecision::Denied, None);
            o.newly_denied = (0..services).map(|n| format!("svc{n:03}")).collect();
            o.denied_services = o.newly_denied.clone();
            o.credentials = vec![warden_core::credential_plan::CredentialOutcome {
                credential: key_id(&format!("u{i:02}"), 1),
                days: 100,
                status: CredentialStatus::Deactivated,
                reason: None,
            }];
            o
        })
        .collect()
}

#[test]
fn a_long_digest_is_summarised_and_every_line_is_in_its_json_block() {
    let n = digest("123456789012", "run-1", &changed(400), false);
    let (text, json) = n.body.split_once("-- every change, as JSON --").unwrap();
    assert!(text.contains("Changed: 30"));
    assert!(text.contains("svc009, and 390 more"), "{text}");
    assert!(!text.contains("svc010"));
    assert!(
        text.contains("- user/u09 ") && !text.contains("- user/u10 "),
        "{text}"
    );
    assert_eq!(text.matches("- and 20 more").count(), 2, "{text}");
    assert!(text.contains("Access keys deactivated (never deleted): 30"));
    // 30 principals of 400 services each are more than a notice holds: as many as fit,
    // and the rest said.
    let mut lines = json.trim().lines();
    let first = lines.next().unwrap();
    assert!(first.len() <= 160 * 1024);
    let items: Vec<serde_json::Value> = serde_json::from_str(first).unwrap();
    assert!(items.len() < 30 && !items.is_empty(), "{}", items.len());
    assert_eq!(items[0]["newly_denied"].as_array().unwrap().len(), 400);
    assert_eq!(items[0]["credentials"][0]["status"], "deactivated");
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "({} more not listed here, for the size of a notice: the pruner's log has every one)",
            30 - items.len()
        )
    );
    // Fewer services: every principal is in the block.
    let n = digest("123456789012", "run-1", &changed(20), false);
    let (_, json) = n.body.split_once("-- every change, as JSON --").unwrap();
    let items: Vec<serde_json::Value> = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(items.len(), 30);
    assert_eq!(items[29]["principal"], arn("u29"));
}

#[tokio::test]
async fn with_security_hub_a_run_imports_the_assessment_and_archives_what_was_fixed() {
    use warden_core::security_hub::RecordState;
    let a = account(
        &[("old", Some(120), None), ("recent", Some(3), None)],
        &[],
        &[],
    );
    let c = cfg(&[("SECURITY_HUB", "true")]);
    run(&a, &c).await;
    let id = format!("iam-warden/123456789012/unused-credentials/{}", arn("old"));
    let hub = a.lock().hub.clone();
    assert_eq!(hub[&id].record_state, RecordState::Active, "{hub:?}");
    assert!(
        !hub.contains_key(&format!(
            "iam-warden/123456789012/unused-credentials/{}",
            arn("recent")
        )),
        "a key used 3 days ago"
    );
    // Made 400 days ago: not rotated, a finding of its own.
    assert!(hub.contains_key(&format!(
        "iam-warden/123456789012/key-rotation/{}",
        arn("recent")
    )));
    // The next report says the key is inactive: the finding is archived.
    a.lock().credential_report.as_mut().unwrap().users[0].keys[0].active = false;
    run(&a, &c).await;
    assert_eq!(a.lock().hub[&id].record_state, RecordState::Archived);
    // Without SECURITY_HUB, nothing is imported; and central mode refuses it.
    let quiet = account(&[("old", Some(120), None)], &[], &[]);
    run(&quiet, &cfg(&[])).await;
    assert!(quiet.lock().hub.is_empty());
    let err = PruneConfig::from_lookup(|k| match k {
        "SECURITY_HUB" => Some("true".into()),
        "MEMBER_ROLE_NAME" => Some("iam-warden-member".into()),
        _ => None,
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("SECURITY_HUB"), "{err}");
}

// ---- Unused principals (UNUSED_PRINCIPALS) ------------------------------------------

/// Gives `user` Access Advisor's report: each service last used `days` ago (or never),
/// first seen granted 365 days ago.
fn advisor(a: &MemoryAccount, user: &str, uses: &[(&str, Option<i64>)]) {
    use warden_core::prune::{LedgerEntry, ServiceUse};
    let mut s = a.lock();
    s.reports.insert(
        arn(user),
        Advisor::Complete(
            uses.iter()
                .map(|(n, d)| ServiceUse {
                    namespace: (*n).to_owned(),
                    last_authenticated: d.map(days_ago),
                })
                .collect(),
        ),
    );
    let mut entry = s
        .ledger
        .remove(&arn(user))
        .unwrap_or_else(|| LedgerEntry::new(&arn(user)));
    for (n, _) in uses {
        entry.first_seen.insert((*n).to_owned(), days_ago(365));
    }
    s.ledger.insert(arn(user), entry);
}

#[tokio::test]
async fn a_principal_that_used_nothing_is_one_finding_reported_or_denied_everything() {
    // idle: keys unused 200 days, services never or 150 days ago; busy: one service
    // used 10 days ago; keyed: services unused, but its key signed 5 days ago.
    let a = account(
        &[
            ("idle", Some(200), None),
            ("busy", Some(200), None),
            ("keyed", Some(5), None),
        ],
        &[],
        &[],
    );
    advisor(&a, "idle", &[("ec2", None), ("s3", Some(150))]);
    advisor(&a, "busy", &[("ec2", None), ("s3", Some(10))]);
    advisor(&a, "keyed", &[("ec2", None), ("s3", Some(150))]);
    let report = run(&a, &cfg(&[("UNUSED_KEYS", "report")])).await;
    let by = |out: &[Outcome], n: &str| out.iter().find(|o| o.name == n).unwrap().clone();
    assert_eq!(by(&report, "idle").unused_for, Some(150));
    assert_eq!(by(&report, "busy").unused_for, None);
    assert_eq!(by(&report, "keyed").unused_for, None, "its key was used");
    // Reported: its services pruned one by one, said once.
    assert_eq!(by(&report, "idle").denied_services, ["ec2", "s3"]);
    let body = &a.notices()[0].body;
    assert!(
        body.contains("- user/idle: unused for 150 days; reported (UNUSED_PRINCIPALS=deny"),
        "{body}"
    );

    // UNUSED_PRINCIPALS=deny: one policy, everything but NEVER_DENY_SERVICES.
    let deny = cfg(&[("UNUSED_KEYS", "report"), ("UNUSED_PRINCIPALS", "deny")]);
    let out = run(&a, &deny).await;
    let idle = by(&out, "idle");
    assert_eq!(idle.denied_services, ["*", "ec2", "s3"]);
    let document = {
        let s = a.lock();
        let arn = &idle.policy_arns[0];
        s.policies[arn].1.last().unwrap().clone()
    };
    let doc: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        doc["Statement"][0]["NotAction"],
        serde_json::json!(["iam:*", "sts:*"])
    );
    assert_eq!(doc["Statement"][0]["Resource"], "*");
    let body = &a.notices()[1].body;
    assert!(
        body.contains("newly denied everything but NEVER_DENY_SERVICES"),
        "{body}"
    );
    assert!(
        body.contains("unused for 150 days; denied everything"),
        "{body}"
    );
    assert!(!by(&out, "busy").denied_services.contains(&"*".to_owned()));

    // Restore lifts it, and the principal counts as used today.
    let target = Target {
        kind: EntityKind::User,
        name: "idle".into(),
        arn: arn("idle"),
    };
    let lifted = warden_core::pruner::lift(&a, &deny, &target, None, now())
        .await
        .unwrap();
    assert!(lifted.contains("*"));
    let out = run(&a, &deny).await;
    assert_eq!(by(&out, "idle").unused_for, None);
    assert!(!by(&out, "idle").denied_services.contains(&"*".to_owned()));
}

#[test]
fn a_principal_granted_something_lately_or_granted_nothing_is_not_unused() {
    use warden_core::prune::{plan, LedgerEntry, ServiceUse};
    let c = cfg(&[("UNUSED_PRINCIPALS", "deny")]);
    let subject = Subject {
        kind: EntityKind::User,
        name: "u".into(),
        arn: arn("u"),
        created: days_ago(400),
        tags: BTreeMap::new(),
        groups: BTreeSet::new(),
        attached: BTreeSet::new(),
        trusted: BTreeSet::new(),
        unique_id: None,
        credentials: None,
    };
    let never = |n: &str| ServiceUse {
        namespace: n.into(),
        last_authenticated: None,
    };
    let mut entry = LedgerEntry::new(&arn("u"));
    entry.first_seen.insert("ec2".into(), days_ago(365));
    entry.first_seen.insert("s3".into(), days_ago(13));
    let report = Advisor::Complete(vec![never("ec2"), never("s3")]);
    // s3 granted 13 days ago (GRANT_GRACE_DAYS 14): it may be about to start.
    assert_eq!(
        plan(&subject, &report, Some(&entry), &c, 10, now(), "r").unused_for,
        None
    );
    entry.first_seen.insert("s3".into(), days_ago(14));
    let p = plan(&subject, &report, Some(&entry), &c, 10, now(), "r");
    assert_eq!(p.unused_for, Some(400), "never used: since it was made");
    assert!(p.deny.contains("*"));
    // Granted nothing: nothing to deny.
    let none = Advisor::Complete(vec![]);
    assert_eq!(
        plan(&subject, &none, Some(&entry), &c, 10, now(), "r").unused_for,
        None
    );
    // Used 90 days ago: not older than UNUSED_DAYS (as for a service), not unused.
    let used = Advisor::Complete(vec![ServiceUse {
        namespace: "ec2".into(),
        last_authenticated: Some(days_ago(90)),
    }]);
    assert_eq!(
        plan(&subject, &used, Some(&entry), &c, 10, now(), "r").unused_for,
        None
    );
    let used = Advisor::Complete(vec![ServiceUse {
        namespace: "ec2".into(),
        last_authenticated: Some(days_ago(91)),
    }]);
    assert_eq!(
        plan(&subject, &used, Some(&entry), &c, 10, now(), "r").unused_for,
        Some(91)
    );
}
