//! The pruner under faults on the wire (tests/support/fault_proxy.py): two accounts set
//! up alike, one pruned through moto directly, the other with every AWS call of the
//! pruner through the proxy. Each scheduled run is the Lambda's (retried by EventBridge's
//! asynchronous invocation up to twice when it fails). After the faulty runs the IAM state
//! and the ledger differ from the clean account's only for principals the run said it
//! could not finish, and the next run (clean) completes them: the same policies, the same
//! documents, the same ledger, never past IAM's five versions, one digest per run.

use std::collections::BTreeMap;

use aws_config::timeout::TimeoutConfig;
use chrono::{DateTime, Utc};
use warden_aws::AwsAccount;
use warden_core::ports::Ledger;
use warden_core::prune::PruneConfig;
use warden_it::fault_proxy::FaultProxy;
use warden_it::TestAccount;

use super::{cfg, first_run, iso, later_run};

const USERS: usize = 16;

/// An account of USERS users granted EC2, S3, Lambda and SQS; every third used S3.
async fn account(topic_inbox: bool) -> (TestAccount, PruneConfig, Option<String>) {
    let t = TestAccount::new().await;
    let (topic, inbox) = if topic_inbox {
        let (topic, inbox) = t.topic_with_inbox().await;
        (Some(topic), Some(inbox))
    } else {
        (None, None)
    };
    let mut pairs = vec![];
    if let Some(topic) = &topic {
        pairs.push(("TOPIC_ARN", topic.as_str()));
    }
    let c = cfg(&pairs);
    for i in 0..USERS {
        let arn = t
            .user_with_access(
                &format!("u{i:02}"),
                &[],
                &[
                    "ec2:*",
                    "s3:GetObject",
                    "lambda:InvokeFunction",
                    "sqs:SendMessage",
                ],
            )
            .await;
        if i % 3 == 0 {
            t.seed_access(
                &arn,
                &[("s3", iso(later_run() - chrono::Duration::days(5)))],
                None,
            );
        }
    }
    (t, c, inbox)
}

/// One scheduled run through the Lambda's handler, retried twice as EventBridge does
/// when the invocation fails; returns the principals the run could not finish, and
/// whether an invocation succeeded.
async fn scheduled(
    a: &AwsAccount,
    c: &PruneConfig,
    id: &str,
    now: DateTime<Utc>,
) -> (Vec<String>, bool) {
    let event = serde_json::json!({
        "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
        "time": now.to_rfc3339(), "detail": {},
    });
    for _ in 0..3 {
        if let Ok(out) = pruner::handler::handle(a, c, id, event.clone(), now).await {
            let failed = out["failed"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o.as_str().map(str::to_owned))
                .collect();
            return (failed, true);
        }
    }
    (Vec::new(), false)
}

/// The IAM state and the ledger of each user, with the account's id taken out.
async fn state(t: &TestAccount, a: &AwsAccount) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let arns: Vec<String> = (0..USERS)
        .map(|i| format!("arn:aws:iam::{}:user/u{i:02}", t.id))
        .collect();
    let ledger = a.load(&arns).await.unwrap();
    for (i, arn) in arns.iter().enumerate() {
        let user = format!("u{i:02}");
        let mut policies = Vec::new();
        for arn in t.attached(&user).await {
            let (document, versions) = t.policy_document(&arn).await.unwrap();
            assert!(versions <= 5, "{arn}: {versions} versions");
            policies.push(format!("{}={document}", arn.replace(&t.id, "ACCOUNT")));
        }
        let entry = ledger.get(arn);
        let denied = entry.map(|e| e.denied.clone()).unwrap_or_default();
        let policy_arns: Vec<String> = entry
            .map(|e| {
                e.policy_arns
                    .iter()
                    .map(|p| p.replace(&t.id, "ACCOUNT"))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            user,
            format!("{policies:?} denied {denied:?} ledger policies {policy_arns:?}"),
        );
    }
    out
}

async fn under_faults(rate: f64, seed: u64) {
    let (clean, c, _) = account(false).await;
    let (faulty, fc, inbox) = account(true).await;
    let direct = clean.pruner(&c).await;
    let proxy = FaultProxy::start(rate, seed, &["--slow", "4"]);
    // The pruner's retries (adaptive, six attempts), scaled in time.
    let retry =
        warden_aws::retry_config().with_initial_backoff(std::time::Duration::from_millis(20));
    let timeout = TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(30))
        .build();
    let through = faulty
        .via(&proxy.url, retry, timeout)
        .await
        .pruner(&fc)
        .await;

    let mut runs = 0;
    let mut unfinished = Vec::new();
    for now in [first_run(), later_run()] {
        scheduled(&direct, &c, &clean.id, now).await;
        let (failed, ran) = scheduled(&through, &fc, &faulty.id, now).await;
        runs += usize::from(ran);
        unfinished.extend(failed);
        if !ran {
            unfinished.push("the whole run".into());
        }
    }
    let stats = proxy.stats().await;
    eprintln!(
        "pruner at {:.0}%: {} faults ({}), unfinished {unfinished:?}",
        rate * 100.0,
        FaultProxy::total(&stats),
        stats["faults"]
    );
    assert!(
        FaultProxy::total(&stats) >= 5,
        "faults were injected: {stats}"
    );
    let want = state(&clean, &direct).await;
    let got = state(&faulty, &faulty.pruner(&fc).await).await;
    for (user, s) in &got {
        if want[user] != *s {
            assert!(
                unfinished.contains(user) || unfinished.iter().any(|u| u == "the whole run"),
                "{user} differs though its run said nothing: {s} against {}",
                want[user]
            );
        }
    }
    // One digest per run that ran: a second only where the proxy lost a Publish's answer.
    let notices = faulty.notices(&inbox.clone().unwrap()).await;
    let digests = notices
        .iter()
        .filter(|n| n["MessageAttributes"]["decision"]["Value"] == "pruned")
        .count();
    let lost = FaultProxy::count(&stats, "sns.Publish", "reset-after")
        + FaultProxy::count(&stats, "sns.Publish", "slow");
    assert!(
        digests >= runs && digests as u64 <= runs as u64 + lost,
        "{digests} digests for {runs} runs ({lost} Publish answers lost)"
    );
    // The next run, without faults, completes what was left.
    drop(proxy);
    let completing = faulty.pruner(&fc).await;
    let (failed, ran) = scheduled(&completing, &fc, &faulty.id, later_run()).await;
    assert!(ran && failed.is_empty(), "{failed:?}");
    assert_eq!(state(&faulty, &completing).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_under_ten_percent_faults_ends_as_a_clean_run_or_the_next_run_completes_it() {
    under_faults(0.10, 5).await;
}
