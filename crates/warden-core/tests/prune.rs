//! The pruning plan's guards, and a pass through the in-memory ports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use warden_core::config::Mode;
use warden_core::ports::PortError;
use warden_core::principal::EntityKind;
use warden_core::prune::{
    plan, LedgerEntry, Outcome, PruneConfig, PruneDecision, Quotas, Report, ServiceUse, Subject,
};
use warden_core::pruner::{digest, lift, prune, Writes};
use warden_core::testing::MemoryAccount;
use warden_core::trust::Status;

const ARN: &str = "arn:aws:iam::123456789012:user/bob";
const QUOTAS: Quotas = Quotas { user: 10, role: 10 };

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
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

fn bob() -> Subject {
    Subject {
        kind: EntityKind::User,
        name: "bob".into(),
        arn: ARN.into(),
        created: days_ago(400),
        tags: BTreeMap::new(),
        groups: BTreeSet::new(),
        attached: BTreeSet::new(),
        trusted: BTreeSet::new(),
        unique_id: None,
        credentials: None,
    }
}

/// Services with the days since their last use (`None`: never used).
fn report(uses: &[(&str, Option<i64>)]) -> Report {
    Report::Complete(
        uses.iter()
            .map(|(s, d)| ServiceUse {
                namespace: s.to_string(),
                last_authenticated: d.map(days_ago),
            })
            .collect(),
    )
}

/// A ledger that first saw every service of `uses` `seen` days ago.
fn seen(uses: &[&str], days: i64) -> LedgerEntry {
    let mut e = LedgerEntry::new(ARN);
    for s in uses {
        e.first_seen.insert(s.to_string(), days_ago(days));
    }
    e
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn unused_and_never_used_services_are_denied_used_ones_are_not() {
    let r = report(&[("s3", Some(10)), ("ec2", Some(200)), ("lambda", None)]);
    let l = seen(&["s3", "ec2", "lambda"], 365);
    let p = plan(&bob(), &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Denied);
    assert_eq!(p.deny, set(&["ec2", "lambda"]));
    assert_eq!(p.newly_denied, set(&["ec2", "lambda"]));
    assert_eq!(p.policies.len(), 1);
    assert_eq!(
        p.policies[0].arn,
        "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-prune-bob"
    );
    assert!(p.policies[0].document.contains("\"ec2:*\""));
    assert!(!p.policies[0].document.contains("s3:*"));
}

#[test]
fn the_boundary_of_unused_days_is_exclusive() {
    let r = report(&[("s3", Some(90)), ("ec2", Some(91))]);
    let l = seen(&["s3", "ec2"], 365);
    let p = plan(&bob(), &r, Some(&l), &cfg(&[]), 10, now(), "run");
    // Used exactly 90 days ago is not "older than 90 days".
    assert_eq!(p.deny, set(&["ec2"]));
    let p = plan(
        &bob(),
        &r,
        Some(&l),
        &cfg(&[("UNUSED_DAYS", "30")]),
        10,
        now(),
        "run",
    );
    assert_eq!(p.deny, set(&["ec2", "s3"]));
}

#[test]
fn a_principal_younger_than_unused_days_is_in_grace() {
    let mut young = bob();
    young.created = days_ago(30);
    let r = report(&[("ec2", None)]);
    let p = plan(
        &young,
        &r,
        Some(&seen(&["ec2"], 365)),
        &cfg(&[]),
        10,
        now(),
        "run",
    );
    assert_eq!(p.decision, PruneDecision::Grace);
    assert!(p.deny.is_empty() && p.policies.is_empty() && p.ledger.is_none());
}

#[test]
fn a_service_granted_recently_is_not_denied() {
    let r = report(&[("ec2", None), ("s3", None)]);
    // First run: everything is first seen now, nothing is denied.
    let first = plan(&bob(), &r, None, &cfg(&[]), 10, now(), "run");
    assert_eq!(first.decision, PruneDecision::Unchanged);
    assert!(first.deny.is_empty());
    let ledger = first.ledger.expect("first-seen dates recorded");
    assert_eq!(ledger.first_seen.get("ec2"), Some(&now()));

    // s3 granted 13 days ago, ec2 15 days ago: the 14-day grace protects s3 only.
    let mut l = seen(&["ec2"], 15);
    l.first_seen.insert("s3".into(), days_ago(13));
    let p = plan(&bob(), &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.deny, set(&["ec2"]));
    // Dates recorded earlier are kept, not moved forward.
    assert_eq!(p.ledger.unwrap().first_seen.get("s3"), Some(&days_ago(13)));
}

#[test]
fn never_deny_services_are_never_denied_even_if_denied_before() {
    let r = report(&[("iam", None), ("sts", None), ("ec2", None)]);
    let mut l = seen(&["iam", "sts", "ec2"], 365);
    l.denied = set(&["sts"]);
    let p = plan(&bob(), &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.deny, set(&["ec2"]));
    let history = p.ledger.unwrap().history;
    assert!(history
        .iter()
        .any(|c| c.action == "lifted" && c.services == vec!["sts".to_string()]));

    let p = plan(
        &bob(),
        &r,
        Some(&seen(&["iam", "sts", "ec2"], 365)),
        &cfg(&[("NEVER_DENY_SERVICES", "ec2")]),
        10,
        now(),
        "run",
    );
    assert_eq!(p.deny, set(&["iam", "sts"]));
}

#[test]
fn exempt_tag_and_admins_are_skipped_unless_prune_admins() {
    let r = report(&[("ec2", None)]);
    let l = seen(&["ec2"], 365);
    let mut tagged = bob();
    tagged
        .tags
        .insert("iam-warden:exempt".into(), "true".into());
    // The tag alone is not trust (a caller can tag itself): pruned like anyone.
    let p = plan(&tagged, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Denied);
    tagged.trusted.insert(Status::Exempt);
    let p = plan(&tagged, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Exempt);
    assert!(p.policies.is_empty());
    // Trust without the tag (taken off since) exempts nothing either.
    tagged.tags.clear();
    let p = plan(&tagged, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Denied);

    let mut admin = bob();
    admin.groups.insert("Administrators".into());
    let p = plan(&admin, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(
        p.decision,
        PruneDecision::Denied,
        "membership alone is not trust"
    );
    admin.trusted.insert(Status::Admin);
    let p = plan(&admin, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Exempt);
    let mut trusted_elsewhere = admin.clone();
    trusted_elsewhere.groups.clear();
    let p = plan(
        &trusted_elsewhere,
        &r,
        Some(&l),
        &cfg(&[]),
        10,
        now(),
        "run",
    );
    assert_eq!(p.decision, PruneDecision::Denied);
    let p = plan(
        &admin,
        &r,
        Some(&l),
        &cfg(&[("PRUNE_ADMINS", "true")]),
        10,
        now(),
        "run",
    );
    assert_eq!(p.decision, PruneDecision::Denied);
}

#[test]
fn a_denied_service_stays_denied_when_access_advisor_sees_an_attempt() {
    // A denied attempt yesterday counts as access in Access Advisor.
    let r = report(&[("ec2", Some(1))]);
    let mut l = seen(&["ec2"], 365);
    l.denied = set(&["ec2"]);
    l.policy_arns = vec!["arn:aws:iam::123456789012:policy/iam-warden/iam-warden-prune-bob".into()];
    let mut subject = bob();
    subject.attached = l.policy_arns.iter().cloned().collect();
    let p = plan(&subject, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Unchanged);
    assert_eq!(p.deny, set(&["ec2"]));
    assert!(p.policies.is_empty() && p.remove.is_empty() && p.ledger.is_none());
}

#[test]
fn a_lifted_service_counts_as_used_on_the_day_it_was_lifted() {
    let r = report(&[("ec2", None)]);
    let mut l = seen(&["ec2"], 365);
    l.denied = set(&["ec2"]);
    l.lift(None, days_ago(10), "warden restore");
    let p = plan(&bob(), &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert!(p.deny.is_empty(), "{:?}", p.deny);
    let p = plan(
        &bob(),
        &r,
        Some(&l),
        &cfg(&[]),
        10,
        days_ago(10) + Duration::days(91),
        "run",
    );
    assert_eq!(p.deny, set(&["ec2"]));
}

#[test]
fn a_failed_report_denies_nothing_new_and_keeps_the_deny() {
    let mut l = seen(&["ec2", "s3"], 365);
    l.denied = set(&["ec2"]);
    let p = plan(
        &bob(),
        &Report::Unavailable("job FAILED".into()),
        Some(&l),
        &cfg(&[]),
        10,
        now(),
        "run",
    );
    assert_eq!(p.decision, PruneDecision::Failed);
    assert_eq!(p.deny, set(&["ec2"]));
    assert!(p.policies.is_empty() && p.remove.is_empty() && p.ledger.is_none());
    assert!(p.reason.unwrap().contains("job FAILED"));
}

#[test]
fn a_principal_at_quota_is_skipped_with_a_reason() {
    let mut full = bob();
    full.attached = (0..10)
        .map(|i| format!("arn:aws:iam::aws:policy/P{i}"))
        .collect();
    let r = report(&[("ec2", None)]);
    let l = seen(&["ec2"], 365);
    let p = plan(&full, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Skipped);
    assert!(p.reason.unwrap().contains("quota 10"));
    assert!(p.policies.is_empty());
    // The quota is the account's, not a constant.
    let p = plan(&full, &r, Some(&l), &cfg(&[]), 20, now(), "run");
    assert_eq!(p.decision, PruneDecision::Denied);
}

fn account_with_bob(r: Report, ledger: LedgerEntry) -> MemoryAccount {
    let account = MemoryAccount::new()
        .with_user("bob", &[], &[])
        .with_baseline();
    {
        let mut s = account.lock();
        s.reports.insert(ARN.into(), r);
        s.ledger.insert(ARN.into(), ledger);
    }
    account
}

fn subject_from(account: &MemoryAccount) -> Subject {
    let mut s = bob();
    s.attached = account
        .facts_of(EntityKind::User, "bob")
        .unwrap()
        .attached_policies;
    s
}

async fn pass(account: &MemoryAccount, c: &PruneConfig, writes: Writes) -> Vec<Outcome> {
    prune(
        account,
        c,
        &[subject_from(account)],
        QUOTAS,
        now(),
        "run-1",
        writes,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_second_pass_with_nothing_changed_writes_nothing() {
    let account = account_with_bob(
        report(&[("ec2", None), ("s3", Some(3))]),
        seen(&["ec2", "s3"], 365),
    );
    let c = cfg(&[]);
    let first = pass(&account, &c, Writes::All).await;
    assert_eq!(first[0].decision, PruneDecision::Denied);
    assert_eq!(first[0].newly_denied, vec!["ec2".to_string()]);
    let facts = account.facts_of(EntityKind::User, "bob").unwrap();
    assert_eq!(facts.attached_policies.len(), 1);
    // Recorded on the principal: when and by which run.
    assert_eq!(
        facts.tags.get("iam-warden:pruned-run").map(String::as_str),
        Some("run-1")
    );
    assert!(facts.tags.contains_key("iam-warden:pruned-at"));

    account.lock().calls.clear();
    let second = pass(&account, &c, Writes::All).await;
    assert_eq!(second[0].decision, PruneDecision::Unchanged);
    let calls = account.lock().calls.clone();
    // One read of the trust ledger per pass, none per principal.
    assert_eq!(
        calls,
        vec!["ledger_load", "trust_set", "report"],
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_new_unused_service_updates_the_policy_in_place() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2", "s3"], 365));
    let c = cfg(&[]);
    pass(&account, &c, Writes::All).await;
    account
        .lock()
        .reports
        .insert(ARN.into(), report(&[("ec2", None), ("s3", Some(120))]));
    let out = pass(&account, &c, Writes::All).await;
    assert_eq!(out[0].decision, PruneDecision::Updated);
    assert_eq!(out[0].newly_denied, vec!["s3".to_string()]);
    let s = account.lock();
    assert!(!s.calls.contains(&"delete_policy"), "{:?}", s.calls);
    let (_, versions) = s.policies.values().next().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[1].contains("s3:*") && versions[1].contains("ec2:*"));
}

#[tokio::test]
async fn dry_run_writes_nothing_and_report_mode_only_observes() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2"], 365));
    let c = cfg(&[]);
    let out = pass(&account, &c, Writes::Nothing).await;
    assert_eq!(out[0].decision, PruneDecision::Denied);
    assert!(account.lock().policies.is_empty());

    let account = account_with_bob(report(&[("ec2", None), ("s3", None)]), seen(&["ec2"], 365));
    let c = cfg(&[("MODE", "report")]);
    assert_eq!(c.mode, Mode::Report);
    let out = pass(&account, &c, Writes::for_mode(c.mode, false)).await;
    assert_eq!(out[0].decision, PruneDecision::Denied);
    let s = account.lock();
    assert!(s.policies.is_empty());
    let entry = s.ledger.get(ARN).unwrap();
    assert!(entry.denied.is_empty());
    assert!(
        entry.first_seen.contains_key("s3"),
        "first-seen dates still recorded"
    );
}

#[tokio::test]
async fn a_failed_write_is_reported_and_the_ledger_is_not_advanced() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2"], 365));
    account.fail(
        "attach_policy",
        PortError::Transient {
            operation: "AttachUserPolicy",
            message: "Throttling".into(),
        },
        1,
    );
    let out = pass(&account, &cfg(&[]), Writes::All).await;
    assert_eq!(out[0].decision, PruneDecision::Failed);
    assert!(account.lock().ledger.get(ARN).unwrap().denied.is_empty());
    // The next run completes it.
    let out = pass(&account, &cfg(&[]), Writes::All).await;
    assert_eq!(out[0].decision, PruneDecision::Denied);
}

#[tokio::test]
async fn a_policy_name_held_by_another_principal_is_not_taken_over() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2"], 365));
    account.lock().policies.insert(
        "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-prune-bob".into(),
        (
            "arn:aws:iam::123456789012:role/bob".into(),
            vec!["{}".into()],
        ),
    );
    let out = pass(&account, &cfg(&[]), Writes::All).await;
    assert_eq!(out[0].decision, PruneDecision::Failed);
    assert!(account
        .facts_of(EntityKind::User, "bob")
        .unwrap()
        .attached_policies
        .is_empty());
}

#[tokio::test]
async fn restore_lifts_one_service_or_all_of_them() {
    let account = account_with_bob(
        report(&[("ec2", None), ("s3", None)]),
        seen(&["ec2", "s3"], 365),
    );
    let c = cfg(&[]);
    pass(&account, &c, Writes::All).await;
    let target = bob().target();
    let lifted = lift(&account, &c, &target, Some(&set(&["s3"])), now())
        .await
        .unwrap();
    assert_eq!(lifted, set(&["s3"]));
    {
        let s = account.lock();
        let (_, versions) = s.policies.values().next().unwrap();
        let last = versions.last().unwrap();
        assert!(last.contains("ec2:*") && !last.contains("s3:*"));
    }
    // The next run does not deny s3 again: it counts as used today.
    let out = pass(&account, &c, Writes::All).await;
    assert_eq!(out[0].denied_services, vec!["ec2".to_string()]);

    assert!(account
        .facts_of(EntityKind::User, "bob")
        .unwrap()
        .tags
        .contains_key("iam-warden:pruned-at"));
    let lifted = lift(&account, &c, &target, None, now()).await.unwrap();
    assert_eq!(lifted, set(&["ec2"]));
    assert!(account.lock().policies.is_empty());
    assert!(account
        .facts_of(EntityKind::User, "bob")
        .unwrap()
        .tags
        .is_empty());
    assert!(account
        .facts_of(EntityKind::User, "bob")
        .unwrap()
        .attached_policies
        .is_empty());
}

#[tokio::test]
async fn the_digest_names_changes_restore_commands_and_problems() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2"], 365));
    let mut outcomes = pass(&account, &cfg(&[]), Writes::All).await;
    let mut failed = Outcome::new(&bob(), PruneDecision::Failed, Some("job FAILED".into()));
    failed.name = "carol".into();
    outcomes.push(failed);
    let n = digest("123456789012", "run-1", &outcomes, false);
    assert!(
        n.subject.contains("1 changed") && n.subject.contains("1 failed"),
        "{}",
        n.subject
    );
    assert!(n.body.contains("warden restore --user bob"), "{}", n.body);
    assert!(n.body.contains("--service ec2"), "{}", n.body);
    assert!(
        n.body.contains("carol") && n.body.contains("job FAILED"),
        "{}",
        n.body
    );
}

#[tokio::test]
async fn a_digest_of_several_accounts_is_grouped_by_account() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2"], 365));
    let mut outcomes = pass(&account, &cfg(&[]), Writes::All).await;
    let mut other = Outcome::new(&bob(), PruneDecision::Unchanged, None);
    other.principal = "arn:aws:iam::222222222222:user/dave".into();
    other.name = "dave".into();
    outcomes.push(other);
    outcomes.push(warden_core::pruner::account_failed(
        "333333333333",
        "not onboarded (AccessDenied)",
    ));
    let n = digest("the organization", "run-1", &outcomes, false);
    assert!(n.subject.contains("3 accounts"), "{}", n.subject);
    assert!(n.subject.contains("1 changed") && n.subject.contains("1 failed"));
    let at = |text: &str| n.body.find(text).expect(text);
    // Each account's section holds its own principals, in account order.
    let (a, b, c) = (
        at("== account 123456789012 =="),
        at("== account 222222222222 =="),
        at("== account 333333333333 =="),
    );
    assert!(a < b && b < c);
    let bob_at = at("warden restore --user bob");
    assert!(a < bob_at && bob_at < b, "{}", n.body);
    let failed_at = at("not onboarded");
    assert!(c < failed_at, "{}", n.body);
    assert_eq!(
        n.attributes.get("account").map(String::as_str),
        Some("organization")
    );
    // One account: no sections, the account named as before.
    let one = digest("123456789012", "run-1", &outcomes[..1], false);
    assert!(!one.body.contains("== account"), "{}", one.body);
    assert!(one.subject.contains("in 123456789012"), "{}", one.subject);
}

/// An account of `n` users, each granted ec2 (never used) for a year.
fn fleet(n: usize) -> MemoryAccount {
    let mut account = MemoryAccount::new();
    for i in 0..n {
        account = account.with_user(&format!("u{i}"), &[], &[]);
    }
    let account = account.with_baseline();
    {
        let mut s = account.lock();
        for i in 0..n {
            let arn = format!("arn:aws:iam::123456789012:user/u{i}");
            s.subjects.push(Subject {
                name: format!("u{i}"),
                arn: arn.clone(),
                ..bob()
            });
            s.reports.insert(arn.clone(), report(&[("ec2", None)]));
            let mut l = seen(&["ec2"], 365);
            l.principal = arn.clone();
            s.ledger.insert(arn, l);
        }
    }
    account
}

#[tokio::test]
async fn a_large_run_fans_out_in_chunks_and_sends_one_digest() {
    use warden_core::pruner::{run_chunk, start, Chunk, Started};
    let account = fleet(5);
    let c = cfg(&[("CHUNK_SIZE", "2")]);
    let started = start(&account, &c, "123456789012", "run-1", now(), true)
        .await
        .unwrap();
    assert_eq!(started, Started::Queued(3));
    // A retried start does not queue the chunks twice.
    let again = start(&account, &c, "123456789012", "run-1", now(), true)
        .await
        .unwrap();
    assert_eq!(again, Started::AlreadyQueued);
    let bodies = account.lock().work_queue.clone();
    assert_eq!(bodies.len(), 3);
    assert!(account.notices().is_empty());

    let chunks: Vec<Chunk> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    // The last chunk's digest fails once: the chunk is retried and the digest sent then.
    run_chunk(&account, &c, "123456789012", &chunks[0])
        .await
        .unwrap();
    run_chunk(&account, &c, "123456789012", &chunks[2])
        .await
        .unwrap();
    assert!(
        account.notices().is_empty(),
        "no digest before the run completes"
    );
    // A redelivered chunk is idempotent.
    run_chunk(&account, &c, "123456789012", &chunks[0])
        .await
        .unwrap();
    account.fail(
        "publish",
        PortError::Transient {
            operation: "Publish",
            message: "Throttling".into(),
        },
        1,
    );
    assert!(run_chunk(&account, &c, "123456789012", &chunks[1])
        .await
        .is_err());
    assert!(account.notices().is_empty());
    run_chunk(&account, &c, "123456789012", &chunks[1])
        .await
        .unwrap();
    let notices = account.notices();
    assert_eq!(notices.len(), 1, "one digest per run");
    assert!(
        notices[0].body.contains("Principals checked: 5"),
        "{}",
        notices[0].body
    );
    // A late redelivery after the digest sends no second one.
    run_chunk(&account, &c, "123456789012", &chunks[2])
        .await
        .unwrap();
    assert_eq!(account.notices().len(), 1);
    for i in 0..5 {
        assert_eq!(
            account
                .facts_of(EntityKind::User, &format!("u{i}"))
                .unwrap()
                .attached_policies
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn a_small_run_is_pruned_inline_with_one_digest() {
    use warden_core::pruner::{start, Started};
    let account = fleet(3);
    let started = start(&account, &cfg(&[]), "123456789012", "run-1", now(), true)
        .await
        .unwrap();
    match started {
        Started::Inline(outcomes) => assert_eq!(outcomes.len(), 3),
        other => panic!("{other:?}"),
    }
    assert!(account.lock().work_queue.is_empty());
    assert_eq!(account.notices().len(), 1);
}

#[tokio::test]
async fn another_principals_deny_attached_here_is_detached_never_deleted() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2"], 365));
    let carols = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-prune-carol";
    account.lock().policies.insert(
        carols.into(),
        (
            "arn:aws:iam::123456789012:user/carol".into(),
            vec!["{}".into()],
        ),
    );
    account
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "bob".to_string()))
        .unwrap()
        .attached_policies
        .insert(carols.into());
    let out = pass(&account, &cfg(&[]), Writes::All).await;
    assert_eq!(out[0].decision, PruneDecision::Denied);
    let attached = account
        .facts_of(EntityKind::User, "bob")
        .unwrap()
        .attached_policies;
    assert!(!attached.contains(carols), "detached from bob");
    assert!(
        account.lock().policies.contains_key(carols),
        "carol's deny kept"
    );
}

#[tokio::test]
async fn a_deny_the_ledger_lost_is_adopted_not_dropped() {
    let account = account_with_bob(
        report(&[("ec2", None), ("s3", Some(1))]),
        seen(&["ec2", "s3"], 365),
    );
    let c = cfg(&[]);
    pass(&account, &c, Writes::All).await;
    // The ledger is lost (a new table, a bad restore): only first-seen dates come back.
    account
        .lock()
        .ledger
        .insert(ARN.into(), seen(&["ec2", "s3"], 1));
    // s3 was denied long ago and has been used since only as denied attempts.
    {
        let mut s = account.lock();
        let (_, versions) = s.policies.values_mut().next().unwrap();
        versions.push(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["ec2:*","s3:*"],"Resource":"*"}]}"#
                .into(),
        );
    }
    let out = pass(&account, &c, Writes::All).await;
    assert_eq!(out[0].denied_services, vec!["ec2", "s3"], "{:?}", out[0]);
    let s = account.lock();
    let (_, versions) = s.policies.values().next().unwrap();
    assert!(versions.last().unwrap().contains("s3:*"));
    assert_eq!(s.ledger.get(ARN).unwrap().denied, set(&["ec2", "s3"]));
}

#[tokio::test]
async fn a_full_tag_set_never_blocks_pruning() {
    let account = account_with_bob(report(&[("ec2", None)]), seen(&["ec2"], 365));
    account.fail(
        "tag",
        PortError::LimitExceeded {
            operation: "TagUser",
            message: "The number of tags has reached the maximum limit of 50.".into(),
        },
        5,
    );
    let out = pass(&account, &cfg(&[]), Writes::All).await;
    assert_eq!(
        out[0].decision,
        PruneDecision::Denied,
        "{:?}",
        out[0].reason
    );
    let facts = account.facts_of(EntityKind::User, "bob").unwrap();
    assert_eq!(facts.attached_policies.len(), 1);
    assert!(
        account.lock().ledger[ARN].denied.contains("ec2"),
        "the ledger holds the record"
    );
}

#[test]
fn configuration_bounds_the_prefix_and_the_canary_role() {
    let parse = |pairs: &[(&str, &str)]| {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        PruneConfig::from_lookup(|k| map.get(k).cloned())
    };
    assert!(parse(&[("PRUNE_POLICY_PREFIX", &"p".repeat(56))]).is_ok());
    assert!(parse(&[("PRUNE_POLICY_PREFIX", &"p".repeat(57))]).is_err());
    assert!(parse(&[("WORK_QUEUE_URL", "http://localhost:4566/q")]).is_ok());
    assert_eq!(
        parse(&[("CANARY_ROLE_NAME", "iam-warden-canary")])
            .unwrap()
            .canary_role
            .as_deref(),
        Some("iam-warden-canary")
    );
    let err = parse(&[("CANARY_ROLE_NAME", "bad role")]).unwrap_err();
    assert!(
        err.to_string().starts_with("CANARY_ROLE_NAME=`bad role`"),
        "{err}"
    );
    assert_eq!(parse(&[]).unwrap().canary_role, None);
}

#[test]
fn quotas_are_per_kind() {
    let q = Quotas { user: 10, role: 20 };
    assert_eq!((q.of(EntityKind::User), q.of(EntityKind::Role)), (10, 20));
}

#[test]
fn grace_ends_exactly_unused_days_after_creation() {
    let r = report(&[("ec2", None)]);
    let l = seen(&["ec2"], 365);
    let mut young = bob();
    young.created = now() - Duration::days(90) + Duration::seconds(1);
    let p = plan(&young, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Grace);
    young.created = now() - Duration::days(90);
    let p = plan(&young, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_ne!(
        p.decision,
        PruneDecision::Grace,
        "exactly 90 days old: grace is over"
    );
}

#[test]
fn own_policies_are_the_principals_name_and_its_numbered_splits_only() {
    use warden_core::prune_policy::is_own_policy;
    let arn = |name: &str| format!("arn:aws:iam::123456789012:policy/iam-warden/{name}");
    let own = |name: &str| is_own_policy(&arn(name), "iam-warden-prune-", EntityKind::User, "bob");
    assert!(own("iam-warden-prune-bob"));
    assert!(own("iam-warden-prune-bob.2"));
    assert!(!own("iam-warden-prune-bob."), "no number");
    assert!(!own("iam-warden-prune-bob.x"));
    assert!(!own("iam-warden-prune-bobby"));
    assert!(!is_own_policy(
        "arn:aws:iam::123456789012:policy/iam-warden-prune-bob",
        "iam-warden-prune-",
        EntityKind::User,
        "bob"
    ));
}

#[test]
fn a_deny_with_a_single_action_is_read_back() {
    use warden_core::prune_policy::services_of;
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    assert_eq!(services_of(doc), Some(set(&["ec2"])));
}

const BOBS_POLICY: &str = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-prune-bob";

#[test]
fn deny_policies_not_in_place_are_put_back_and_a_stale_one_removed() {
    let r = report(&[("ec2", None)]);
    let mut l = seen(&["ec2"], 365);
    l.denied = set(&["ec2"]);
    l.policy_arns = vec![BOBS_POLICY.into()];
    // Detached by someone since, the deny set unchanged: attached again.
    let p = plan(&bob(), &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Updated);
    assert_eq!(
        p.reason.as_deref(),
        Some("the deny policies were not in place: restored them")
    );
    assert_eq!(p.policies.len(), 1);
    assert_eq!(p.policies[0].arn, BOBS_POLICY);
    assert!(p.remove.is_empty());

    // In place, with a split the deny set no longer needs: that one is taken off.
    let stale = format!("{BOBS_POLICY}.2");
    l.policy_arns.push(stale.clone());
    let mut subject = bob();
    subject.attached = l.policy_arns.iter().cloned().collect();
    let p = plan(&subject, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Updated);
    assert_eq!(p.remove, vec![stale]);
    assert_eq!(p.policies.len(), 1);
}

#[test]
fn a_principal_with_a_deny_before_is_updated_not_denied_for_the_first_time() {
    let r = report(&[("ec2", None)]);
    // The ledger knows the deny but none of its policies.
    let mut l = seen(&["ec2"], 365);
    l.denied = set(&["ec2"]);
    let p = plan(&bob(), &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Updated);
    assert_eq!(p.policies.len(), 1);

    // It knows a policy of the principal (adopted, denying nothing) and no service.
    let mut l = seen(&["ec2"], 365);
    l.policy_arns = vec![BOBS_POLICY.into()];
    let mut subject = bob();
    subject.attached = set(&[BOBS_POLICY]);
    let p = plan(&subject, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Updated);
    assert_eq!(p.newly_denied, set(&["ec2"]));
}

#[test]
fn the_quota_is_reached_not_passed_and_the_principals_own_policies_are_replaced() {
    let r = report(&[("ec2", None), ("s3", None)]);
    let others: BTreeSet<String> = (0..9)
        .map(|i| format!("arn:aws:iam::aws:policy/P{i}"))
        .collect();
    // Nine attached and one needed: exactly the quota of ten.
    let mut subject = bob();
    subject.attached = others.clone();
    let p = plan(
        &subject,
        &r,
        Some(&seen(&["ec2", "s3"], 365)),
        &cfg(&[]),
        10,
        now(),
        "run",
    );
    assert_eq!(p.decision, PruneDecision::Denied, "{:?}", p.reason);

    // Its own deny policy is rewritten in its place: it takes no second slot.
    let mut l = seen(&["ec2", "s3"], 365);
    l.denied = set(&["ec2"]);
    l.policy_arns = vec![BOBS_POLICY.into()];
    subject.attached.insert(BOBS_POLICY.into());
    let p = plan(&subject, &r, Some(&l), &cfg(&[]), 10, now(), "run");
    assert_eq!(p.decision, PruneDecision::Updated, "{:?}", p.reason);
    assert_eq!(p.deny, set(&["ec2", "s3"]));
}

#[test]
fn a_ledger_entry_of_another_principal_with_the_same_arn_is_not_inherited() {
    // The pruner's ledger is kept by ARN. The old bob (AIDAOLD) had ec2 denied; he was
    // deleted and a new bob (AIDANEW), 200 days old, uses ec2 daily: his ec2 must not
    // stay denied, and the old first-seen dates do not count for him.
    let r = report(&[("ec2", Some(1)), ("lambda", None)]);
    let mut old = seen(&["ec2", "lambda"], 365);
    old.denied = set(&["ec2", "lambda"]);
    old.unique_id = Some("AIDAOLD".into());
    old.policy_arns =
        vec!["arn:aws:iam::123456789012:policy/iam-warden/iam-warden-prune-bob".into()];
    let mut new_bob = bob();
    new_bob.created = days_ago(200);
    new_bob.unique_id = Some("AIDANEW".into());
    let p = plan(&new_bob, &r, Some(&old), &cfg(&[]), 10, now(), "run");
    assert!(p.deny.is_empty(), "{:?}", p.deny);
    // The old bob's policy (the tool's, named for bob) is taken off, not left behind.
    assert_eq!(p.remove, old.policy_arns);
    let entry = p.ledger.expect("a new entry");
    assert_eq!(entry.unique_id.as_deref(), Some("AIDANEW"));
    assert_eq!(entry.first_seen.get("lambda"), Some(&now()));
    assert!(entry
        .history
        .iter()
        .any(|c| c.action == "reset" && c.by.contains("AIDAOLD")));

    // The same bob (same id, or an entry from before ids were recorded): as before.
    for id in [Some("AIDANEW"), None] {
        let mut same = old.clone();
        same.unique_id = id.map(str::to_owned);
        let p = plan(&new_bob, &r, Some(&same), &cfg(&[]), 10, now(), "run");
        assert_eq!(p.deny, set(&["ec2", "lambda"]), "{id:?}");
        assert_eq!(
            p.ledger.as_ref().unwrap_or(&same).unique_id.as_deref(),
            Some("AIDANEW"),
            "the id is recorded"
        );
    }
}
