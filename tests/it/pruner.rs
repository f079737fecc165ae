//! The pruner against moto server (with Access Advisor added by tests/support), through
//! the real AWS SDK clients: the plan's decisions and the IAM state that goes with them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use warden_aws::AwsAccount;
use warden_core::ports::Authorizations;
use warden_core::prune::{Outcome, PruneConfig, PruneDecision, Quotas};
use warden_core::pruner::{lift, prune, Writes};
use warden_it::TestAccount;

mod pruner_credentials;
mod pruner_faults;

fn cfg(pairs: &[(&str, &str)]) -> PruneConfig {
    let map: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    PruneConfig::from_lookup(|k| map.get(k).map(|v| v.to_string())).unwrap()
}

/// Principals created now are 120 days old then: past the 90-day grace.
fn first_run() -> DateTime<Utc> {
    Utc::now() + Duration::days(120)
}

/// Past the 14-day grant grace of what the first run saw.
fn later_run() -> DateTime<Utc> {
    first_run() + Duration::days(15)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

async fn pass(
    account: &AwsAccount,
    c: &PruneConfig,
    now: DateTime<Utc>,
    writes: Writes,
) -> BTreeMap<String, Outcome> {
    let subjects = account.subjects(c.prune_roles).await.unwrap();
    let quotas = account.quotas().await.unwrap();
    prune(account, c, &subjects, quotas, now, "it", writes)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.name.clone(), o))
        .collect()
}

/// The digests and the trust-baseline notices that reached the inbox.
async fn digests(t: &TestAccount, inbox: &str) -> (usize, usize) {
    let notices = t.notices(inbox).await;
    let baseline = notices
        .iter()
        .filter(|n| n["MessageAttributes"]["decision"]["Value"] == "baseline")
        .count();
    (notices.len() - baseline, baseline)
}

fn prune_policy(t: &TestAccount, name: &str) -> String {
    format!(
        "arn:aws:iam::{}:policy/iam-warden/iam-warden-prune-{name}",
        t.id
    )
}

#[tokio::test]
async fn unused_services_are_denied_in_a_policy_of_their_own_and_a_second_run_writes_nothing() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    let bob = t
        .user_with_access(
            "bob",
            &[],
            &[
                "s3:GetObject",
                "ec2:*",
                "lambda:InvokeFunction",
                "iam:ChangePassword",
            ],
        )
        .await;
    t.seed_access(&bob, &[("s3", iso(later_run() - Duration::days(10)))], None);

    // The first run only records what is granted: nothing was seen granted long enough.
    let first = pass(&account, &c, first_run(), Writes::All).await;
    assert_eq!(first["bob"].decision, PruneDecision::Unchanged, "{first:?}");
    assert!(t.attached("bob").await.is_empty());

    let second = pass(&account, &c, later_run(), Writes::All).await;
    let out = &second["bob"];
    assert_eq!(out.decision, PruneDecision::Denied, "{out:?}");
    assert_eq!(out.denied_services, vec!["ec2", "lambda"]);
    let policy = prune_policy(&t, "bob");
    assert_eq!(out.policy_arns, vec![policy.clone()]);
    assert_eq!(t.attached("bob").await, vec![policy.clone()]);
    let (document, versions) = t.policy_document(&policy).await.unwrap();
    assert!(
        document.contains("ec2:*") && document.contains("lambda:*"),
        "{document}"
    );
    assert!(
        !document.contains("s3:*") && !document.contains("iam:*"),
        "{document}"
    );
    assert_eq!(versions, 1);
    // bob's own policy is untouched.
    assert_eq!(t.inline("bob").await, vec!["work".to_string()]);

    let third = pass(&account, &c, later_run() + Duration::days(1), Writes::All).await;
    assert_eq!(third["bob"].decision, PruneDecision::Unchanged);
    let (_, versions) = t.policy_document(&policy).await.unwrap();
    assert_eq!(versions, 1, "an unchanged deny set writes no new version");
}

#[tokio::test]
async fn a_newly_unused_service_is_added_as_a_new_default_version() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    let bob = t
        .user_with_access("bob", &[], &["s3:GetObject", "ec2:*"])
        .await;
    t.seed_access(&bob, &[("s3", iso(later_run() - Duration::days(1)))], None);
    pass(&account, &c, first_run(), Writes::All).await;
    pass(&account, &c, later_run(), Writes::All).await;

    // 100 days on, s3 has not been used again either.
    let out = pass(&account, &c, later_run() + Duration::days(100), Writes::All).await;
    assert_eq!(out["bob"].decision, PruneDecision::Updated);
    assert_eq!(out["bob"].newly_denied, vec!["s3"]);
    let (document, versions) = t.policy_document(&prune_policy(&t, "bob")).await.unwrap();
    assert!(document.contains("s3:*") && document.contains("ec2:*"));
    assert_eq!(versions, 2);
}

#[tokio::test]
async fn more_than_five_changes_keep_at_most_five_versions() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    let services = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"];
    let actions: Vec<String> = services.iter().map(|s| format!("{s}:Get")).collect();
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    let bob = t.user_with_access("bob", &[], &actions).await;
    // Each service was last used one day later than the one before.
    let base = later_run() - Duration::days(90);
    let seeds: Vec<(&str, String)> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, iso(base + Duration::days(i as i64))))
        .collect();
    t.seed_access(&bob, &seeds, None);
    pass(&account, &c, first_run(), Writes::All).await;
    for day in 0..services.len() as i64 {
        let out = pass(&account, &c, later_run() + Duration::days(day), Writes::All).await;
        assert!(out["bob"].decision.writes(), "day {day}: {:?}", out["bob"]);
    }
    let (document, versions) = t.policy_document(&prune_policy(&t, "bob")).await.unwrap();
    assert_eq!(versions, 5);
    for s in services {
        assert!(document.contains(&format!("{s}:*")), "{s} in {document}");
    }
}

#[tokio::test]
async fn every_page_of_access_advisor_is_read() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    // "*" grants every service: several pages of 100.
    let admin_like = t.user_with_access("wide", &[], &["*"]).await;
    t.seed_access(&admin_like, &[], None);
    pass(&account, &c, first_run(), Writes::All).await;
    let out = pass(&account, &c, later_run(), Writes::All).await;
    let denied = &out["wide"].denied_services;
    assert!(denied.len() > 200, "{} services", denied.len());
    assert!(!denied.contains(&"sts".to_string()) && !denied.contains(&"iam".to_string()));
    assert!(denied.contains(&"s3".to_string()) && denied.contains(&"ec2".to_string()));
    for arn in &out["wide"].policy_arns {
        let (document, _) = t.policy_document(arn).await.unwrap();
        let size = document.chars().filter(|c| !c.is_whitespace()).count();
        assert!(size <= 6144, "{size}");
    }
}

#[tokio::test]
async fn a_failed_or_stuck_job_denies_nothing_new() {
    let t = TestAccount::new().await;
    let c = cfg(&[("REPORT_TIMEOUT_SECONDS", "1")]);
    let account = t.pruner(&c).await;
    let failed = t.user_with_access("failed", &[], &["ec2:*"]).await;
    let stuck = t.user_with_access("stuck", &[], &["ec2:*"]).await;
    pass(&account, &c, first_run(), Writes::All).await;
    t.seed_access(&failed, &[], Some("FAILED"));
    t.seed_access(&stuck, &[], Some("STUCK"));
    let out = pass(&account, &c, later_run(), Writes::All).await;
    assert_eq!(out["failed"].decision, PruneDecision::Failed);
    assert!(out["failed"].reason.as_deref().unwrap().contains("FAILED"));
    assert_eq!(out["stuck"].decision, PruneDecision::Failed);
    assert!(out["stuck"]
        .reason
        .as_deref()
        .unwrap()
        .contains("IN_PROGRESS"));
    assert!(t.attached("failed").await.is_empty());
    assert!(t.attached("stuck").await.is_empty());
}

#[tokio::test]
async fn admins_exempt_and_young_principals_are_left_alone() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    t.group("Administrators").await;
    t.user_with_access("admin", &["Administrators"], &["ec2:*"])
        .await;
    t.user_with_access("tagged", &[], &["ec2:*"]).await;
    t.iam
        .tag_user()
        .user_name("tagged")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("iam-warden:exempt")
                .value("true")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    t.user_with_access("plain", &[], &["ec2:*"]).await;
    t.user_with_access("climber", &[], &["ec2:*"]).await;
    // The first pass takes the trust baseline: admin and tagged.
    pass(&account, &c, first_run(), Writes::All).await;
    // Then climber joins the admin group and tags itself exempt: neither is trust.
    t.iam
        .add_user_to_group()
        .group_name("Administrators")
        .user_name("climber")
        .send()
        .await
        .unwrap();
    t.iam
        .tag_user()
        .user_name("climber")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("iam-warden:exempt")
                .value("true")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let out = pass(&account, &c, later_run(), Writes::All).await;
    assert_eq!(out["admin"].decision, PruneDecision::Exempt);
    assert_eq!(out["tagged"].decision, PruneDecision::Exempt);
    assert_eq!(out["plain"].decision, PruneDecision::Denied);
    assert_eq!(
        out["climber"].decision,
        PruneDecision::Denied,
        "{:?}",
        out["climber"]
    );
    assert!(t.attached("admin").await.is_empty());
    assert!(t.attached("tagged").await.is_empty());

    // Evaluated today, every user is younger than 90 days.
    let today = pass(&account, &c, Utc::now(), Writes::All).await;
    assert_eq!(today["plain"].decision, PruneDecision::Grace);
}

#[tokio::test]
async fn a_principal_at_the_accounts_quota_is_skipped_and_reported() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    let quota = account.quotas().await.unwrap();
    assert_eq!(
        quota,
        Quotas { user: 10, role: 10 },
        "moto's account summary"
    );
    t.user_with_access("full", &[], &["ec2:*"]).await;
    t.fill_managed_policies("full", quota.user).await;
    pass(&account, &c, first_run(), Writes::All).await;
    let out = pass(&account, &c, later_run(), Writes::All).await;
    assert_eq!(out["full"].decision, PruneDecision::Skipped);
    assert!(out["full"].reason.as_deref().unwrap().contains("quota 10"));
    assert_eq!(t.attached("full").await.len(), quota.user);
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    t.user_with_access("bob", &[], &["ec2:*"]).await;
    pass(&account, &c, first_run(), Writes::All).await;
    let out = pass(&account, &c, later_run(), Writes::Nothing).await;
    assert_eq!(out["bob"].decision, PruneDecision::Denied);
    assert!(t.attached("bob").await.is_empty());
    assert!(t.policy_document(&prune_policy(&t, "bob")).await.is_none());
}

#[tokio::test]
async fn restore_lifts_one_service_then_everything() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    let bob = t.user_with_access("bob", &[], &["ec2:*", "lambda:*"]).await;
    pass(&account, &c, first_run(), Writes::All).await;
    pass(&account, &c, later_run(), Writes::All).await;
    let policy = prune_policy(&t, "bob");
    let target = warden_core::principal::Target {
        kind: warden_core::principal::EntityKind::User,
        name: "bob".into(),
        arn: bob.clone(),
    };
    let one = ["ec2".to_string()].into_iter().collect();
    lift(&account, &c, &target, Some(&one), later_run())
        .await
        .unwrap();
    let (document, _) = t.policy_document(&policy).await.unwrap();
    assert!(!document.contains("ec2:*") && document.contains("lambda:*"));
    // The lifted service is not denied again by the next run.
    let out = pass(&account, &c, later_run() + Duration::days(1), Writes::All).await;
    assert_eq!(out["bob"].denied_services, vec!["lambda"]);

    lift(&account, &c, &target, None, later_run())
        .await
        .unwrap();
    assert!(t.attached("bob").await.is_empty());
    assert!(t.policy_document(&policy).await.is_none());
    assert_eq!(t.inline("bob").await, vec!["work".to_string()]);
}

#[tokio::test]
async fn two_thousand_principals() {
    let t = TestAccount::new().await;
    let c = cfg(&[("CONCURRENCY", "32")]);
    let account = t.pruner(&c).await;
    const N: usize = 2000;
    // One deny policy per principal: 2,000 of them are over the account's default quota
    // of 1,500 customer managed policies (the test support enforces it), which an
    // organization at this scale raises (up to 5,000); beyond it, a principal is
    // `skipped` with the quota as the reason.
    warden_it::post_json(
        "/_warden/quota",
        &serde_json::json!({"account": t.id, "policies": 5000}),
    );
    // Users in parallel batches; every tenth used ec2 recently.
    for batch in (0..N).collect::<Vec<_>>().chunks(50) {
        let made = batch.iter().map(|i| {
            let t = &t;
            async move {
                let name = format!("u{i:04}");
                let arn = t
                    .user_with_access(&name, &[], &["ec2:*", "s3:GetObject"])
                    .await;
                if i % 10 == 0 {
                    t.seed_access(&arn, &[("ec2", iso(later_run() - Duration::days(1)))], None);
                }
            }
        });
        futures_util::future::join_all(made).await;
    }
    let first = pass(&account, &c, first_run(), Writes::All).await;
    assert_eq!(first.len(), N);
    assert!(first
        .values()
        .all(|o| o.decision == PruneDecision::Unchanged));
    let second = pass(&account, &c, later_run(), Writes::All).await;
    let denied = second
        .values()
        .filter(|o| o.decision == PruneDecision::Denied)
        .count();
    assert_eq!(denied, N, "every principal has at least s3 unused");
    let used_ec2 = second
        .values()
        .filter(|o| o.denied_services == vec!["s3".to_string()])
        .count();
    assert_eq!(used_ec2, N / 10);
    assert_eq!(t.attached("u0001").await, vec![prune_policy(&t, "u0001")]);
    let third = pass(&account, &c, later_run() + Duration::days(1), Writes::All).await;
    assert!(third
        .values()
        .all(|o| o.decision == PruneDecision::Unchanged));
}

#[tokio::test]
async fn the_lambda_fans_a_run_out_through_the_work_queue_and_sends_one_digest() {
    let t = TestAccount::new().await;
    let (topic, inbox) = t.topic_with_inbox().await;
    let work = t.queue("iam-warden-prune-work", false).await;
    let c = cfg(&[
        ("TOPIC_ARN", topic.as_str()),
        ("WORK_QUEUE_URL", work.as_str()),
        ("CHUNK_SIZE", "3"),
    ]);
    let account = t.pruner(&c).await.with_work_queue(Some(work.clone()));
    for i in 0..7 {
        t.user_with_access(&format!("u{i}"), &[], &["ec2:*"]).await;
    }
    // The first run sees the grants (inline: no work queue); the second fans out.
    let inline_cfg = cfg(&[("TOPIC_ARN", topic.as_str())]);
    let first = pruner::handler::handle(
        &account,
        &inline_cfg,
        &t.id,
        serde_json::json!({"time": "first"}),
        first_run(),
    )
    .await
    .unwrap();
    assert_eq!(first["mode"], "inline", "{first}");
    let (digests, baselines) = digests(&t, &inbox).await;
    assert_eq!(digests, 1, "the first run's digest");
    assert_eq!(baselines, 1, "the trust baseline, taken by the first run");

    let scheduled = serde_json::json!({
        "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
        "time": "2026-11-24T03:00:00Z", "detail": {},
    });
    let started = pruner::handler::handle(&account, &c, &t.id, scheduled.clone(), later_run())
        .await
        .unwrap();
    assert_eq!(started["chunks"], 3, "{started}");
    // The schedule retried: nothing queued twice.
    let again = pruner::handler::handle(&account, &c, &t.id, scheduled, later_run())
        .await
        .unwrap();
    assert_eq!(again["mode"], "already-queued", "{again}");

    let messages = t.drain(&work).await;
    assert_eq!(messages.len(), 3);
    let mut records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::json!({"messageId": m.message_id, "body": m.body, "eventSource": "aws:sqs"}))
        .collect();
    records.push(
        serde_json::json!({"messageId": "bad", "body": "not a chunk", "eventSource": "aws:sqs"}),
    );
    let response = pruner::handler::handle(
        &account,
        &c,
        &t.id,
        serde_json::json!({ "Records": records }),
        later_run(),
    )
    .await
    .unwrap();
    assert_eq!(
        response["batchItemFailures"],
        serde_json::json!([{"itemIdentifier": "bad"}])
    );
    for i in 0..7 {
        assert_eq!(
            t.attached(&format!("u{i}")).await,
            vec![prune_policy(&t, &format!("u{i}"))]
        );
    }
    let notices = t.notices(&inbox).await;
    assert_eq!(
        notices.len(),
        1,
        "one digest when the run completes: {notices:?}"
    );
    let body = notices[0].to_string();
    assert!(body.contains("7 changed"), "{body}");
    assert!(body.contains("warden restore --user u3"), "{body}");

    // A redelivered chunk changes nothing and sends no second digest.
    let replay = serde_json::json!({"Records": [{"messageId": "again", "body": messages[0].body, "eventSource": "aws:sqs"}]});
    pruner::handler::handle(&account, &c, &t.id, replay, later_run())
        .await
        .unwrap();
    assert!(t.notices(&inbox).await.is_empty());
}

#[tokio::test]
async fn the_digest_also_goes_to_slack_when_a_webhook_secret_is_configured() {
    let t = TestAccount::new().await;
    let (topic, inbox) = t.topic_with_inbox().await;
    let (url, server) = warden_it::webhook(1, 200).await;
    t.secrets
        .create_secret()
        .name("iam-warden/slack")
        .secret_string(&url)
        .send()
        .await
        .unwrap();
    let c = cfg(&[
        ("TOPIC_ARN", topic.as_str()),
        ("SLACK_WEBHOOK_SECRET", "iam-warden/slack"),
    ]);
    let account = t
        .pruner(&c)
        .await
        .with_slack(t.secrets.clone(), c.slack_webhook_secret.clone());
    t.user_with_access("bob", &[], &["ec2:*"]).await;
    pruner::handler::handle(
        &account,
        &c,
        &t.id,
        serde_json::json!({"time": "r1"}),
        first_run(),
    )
    .await
    .unwrap();
    let bodies = server.await.unwrap();
    assert_eq!(bodies.len(), 1);
    let posted: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    let text = posted["text"].as_str().unwrap();
    assert!(
        text.contains("iam-warden pruning in") && text.contains("Principals checked: 1"),
        "{text}"
    );
    assert_eq!(digests(&t, &inbox).await.0, 1, "and to the topic");
}

#[tokio::test]
async fn a_failing_webhook_does_not_fail_the_run() {
    let t = TestAccount::new().await;
    let (topic, inbox) = t.topic_with_inbox().await;
    let (url, server) = warden_it::webhook(1, 500).await;
    t.secrets
        .create_secret()
        .name("slack")
        .secret_string(serde_json::json!({ "url": url }).to_string())
        .send()
        .await
        .unwrap();
    let c = cfg(&[
        ("TOPIC_ARN", topic.as_str()),
        ("SLACK_WEBHOOK_SECRET", "slack"),
    ]);
    let account = t
        .pruner(&c)
        .await
        .with_slack(t.secrets.clone(), c.slack_webhook_secret.clone());
    let out = pruner::handler::handle(
        &account,
        &c,
        &t.id,
        serde_json::json!({"time": "r1"}),
        first_run(),
    )
    .await;
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(server.await.unwrap().len(), 1, "the webhook was called");
    assert_eq!(t.notices(&inbox).await.len(), 1);
}

#[tokio::test]
async fn with_a_lost_ledger_the_deny_in_iam_is_adopted() {
    let t = TestAccount::new().await;
    let c = cfg(&[]);
    let account = t.pruner(&c).await;
    let bob = t
        .user_with_access("bob", &[], &["ec2:*", "s3:GetObject"])
        .await;
    pass(&account, &c, first_run(), Writes::All).await;
    pass(&account, &c, later_run(), Writes::All).await;
    // Since then bob "used" both, as denied attempts: Access Advisor counts them.
    let recent = iso(later_run() + Duration::days(1));
    t.seed_access(&bob, &[("ec2", recent.clone()), ("s3", recent)], None);

    let fresh = cfg(&[("LEDGER_TABLE", "a-new-empty-ledger")]);
    let account = t.pruner(&fresh).await;
    let out = pass(
        &account,
        &fresh,
        later_run() + Duration::days(2),
        Writes::All,
    )
    .await;
    assert_eq!(
        out["bob"].denied_services,
        vec!["ec2", "s3"],
        "{:?}",
        out["bob"]
    );
    let (document, _) = t.policy_document(&prune_policy(&t, "bob")).await.unwrap();
    assert!(
        document.contains("ec2:*") && document.contains("s3:*"),
        "{document}"
    );
}

// ---- Issue 21: the credential report --------------------------------------------------

#[tokio::test]
async fn the_credential_report_is_generated_then_read_with_each_users_keys_and_password() {
    use warden_core::credentials::Used;
    use warden_core::ports::{CredentialReports, ReportState};
    let t = TestAccount::new().await;
    t.user("dev1", &[], &[]).await;
    t.iam
        .create_access_key()
        .user_name("dev1")
        .send()
        .await
        .unwrap();
    t.user("carol", &[], &[]).await;
    t.iam
        .create_login_profile()
        .user_name("carol")
        .password("A-long-password-1!")
        .send()
        .await
        .unwrap();
    let account = t.pruner(&cfg(&[])).await;
    // The first request starts the report: nothing to read yet, nothing decided (no
    // wait asked for).
    assert_eq!(
        account
            .credential_report(std::time::Duration::ZERO)
            .await
            .unwrap(),
        ReportState::Generating
    );
    let ReportState::Ready(report) = account
        .credential_report(std::time::Duration::ZERO)
        .await
        .unwrap()
    else {
        panic!("the second request finds it complete");
    };
    let dev1 = report.users.iter().find(|u| u.name == "dev1").unwrap();
    assert_eq!(dev1.keys.len(), 1);
    assert!(dev1.keys[0].active);
    assert_eq!(dev1.keys[0].last_used, Used::Never);
    assert_eq!(dev1.password_enabled, Some(false));
    let carol = report.users.iter().find(|u| u.name == "carol").unwrap();
    assert_eq!(carol.password_enabled, Some(true));
    assert_eq!(carol.password_last_used, Used::Never, "no_information");
    assert!(carol.keys.is_empty());
    // As if 100 days from now: dev1's key, never used, and carol's password are unused.
    let later = Utc::now() + Duration::days(100);
    let found = warden_core::credentials::unused(&report, later, 90, 90);
    let mut who: Vec<(String, Option<u8>)> = found.into_iter().map(|u| (u.user, u.slot)).collect();
    who.sort();
    assert_eq!(
        who,
        [("carol".to_owned(), None), ("dev1".to_owned(), Some(1))]
    );
}

#[tokio::test]
async fn an_unused_principal_is_denied_everything_in_one_policy_iam_takes() {
    let t = TestAccount::new().await;
    let c = cfg(&[("UNUSED_PRINCIPALS", "deny")]);
    let account = t.pruner(&c).await;
    let idle = t
        .user_with_access("idle", &[], &["ec2:*", "s3:GetObject", "lambda:*"])
        .await;
    let busy = t
        .user_with_access("busy", &[], &["ec2:*", "s3:GetObject"])
        .await;
    t.seed_access(&busy, &[("s3", iso(later_run() - Duration::days(3)))], None);
    pass(&account, &c, first_run(), Writes::All).await;
    let out = pass(&account, &c, later_run(), Writes::All).await;
    assert_eq!(out["idle"].unused_for, Some(135), "{:?}", out["idle"]);
    assert_eq!(out["busy"].unused_for, None);
    let policy = prune_policy(&t, "idle");
    assert_eq!(t.attached("idle").await, vec![policy.clone()]);
    let (document, _) = t.policy_document(&policy).await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(
        doc["Statement"][0]["NotAction"],
        serde_json::json!(["iam:*", "sts:*"]),
        "{doc}"
    );
    let target = warden_core::principal::Target {
        kind: warden_core::principal::EntityKind::User,
        name: "idle".into(),
        arn: idle,
    };
    lift(&account, &c, &target, None, later_run())
        .await
        .unwrap();
    assert!(t.attached("idle").await.is_empty());
}
