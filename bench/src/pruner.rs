//! `warden-bench pruner`: pruning passes over a fresh account of many users.

use std::time::Instant;

use chrono::{Duration as Days, Utc};
use serde_json::{json, Value};
use warden_core::ports::Authorizations;
use warden_core::prune::PruneConfig;
use warden_core::pruner::{prune, Writes};
use warden_it::TestAccount;

use crate::counted::{counted, sdk, Calls};

/// A fresh account of `principals` users, each granted EC2, S3 and Lambda; a third
/// used S3 lately.
pub(crate) async fn fleet(principals: usize) -> TestAccount {
    let t = TestAccount::new().await;
    // One deny policy per user: a fleet over the default quota of 1,500 customer managed
    // policies (the test support enforces it) is an account that raised it.
    warden_it::post_json(
        "/_warden/quota",
        &json!({"account": t.id, "policies": principals.max(1500) + 100}),
    );
    let started = Instant::now();
    for batch in (0..principals).collect::<Vec<_>>().chunks(50) {
        futures_util::future::join_all(batch.iter().map(|i| {
            let t = &t;
            async move {
                let arn = t
                    .user_with_access(
                        &format!("u{i:05}"),
                        &[],
                        &["ec2:*", "s3:GetObject", "lambda:*"],
                    )
                    .await;
                if i.is_multiple_of(3) {
                    t.seed_access(
                        &arn,
                        &[("s3", (Utc::now() + Days::days(130)).to_rfc3339())],
                        None,
                    );
                }
            }
        }))
        .await;
    }
    eprintln!(
        "warden-bench: {principals} users created in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    t
}

pub async fn pruner(principals: usize, concurrency: &[usize], via: Option<String>) -> Value {
    let mut passes = Vec::new();
    for &c in concurrency {
        // Each concurrency its own account: the same work from the same start.
        let t = fleet(principals).await;
        let (key, secret) = t.access_key("operator").await;
        let endpoint = via.clone().unwrap_or_else(warden_it::endpoint);
        let sdk = sdk(&endpoint, &key, &secret).await;
        let calls = Calls::default();
        let cfg = PruneConfig::from_lookup(|k| match k {
            "CONCURRENCY" => Some(c.to_string()),
            _ => None,
        })
        .unwrap();
        let account = counted(&sdk, &calls, None, None).with_ledger(
            aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            &cfg.ledger_table,
        );
        account.ensure_ledger_table().await.unwrap();
        let first = Utc::now() + Days::days(120);
        for (label, now) in [
            ("first (records grants)", first),
            ("second (writes the denies)", first + Days::days(15)),
            ("steady (nothing changed)", first + Days::days(16)),
        ] {
            calls.reset();
            let t0 = Instant::now();
            let subjects = account.subjects(false).await.unwrap();
            let quotas = account.quotas().await.unwrap();
            let outcomes = prune(&account, &cfg, &subjects, quotas, now, "bench", Writes::All)
                .await
                .unwrap();
            let wall = t0.elapsed().as_secs_f64();
            let snapshot = calls.snapshot();
            let iam: u64 = snapshot
                .iter()
                .filter(|(k, _)| k.starts_with("IAM:"))
                .map(|(_, v)| v)
                .sum();
            passes.push(json!({
                "concurrency": c, "pass": label, "principals": outcomes.len(), "wall_s": wall,
                "calls": calls.total(), "iam_calls": iam,
                "calls_per_principal": calls.total() as f64 / outcomes.len().max(1) as f64,
                "summary": warden_core::prune::summary(&outcomes),
                "calls_by_operation": snapshot,
            }));
            eprintln!(
                "warden-bench: {principals} principals, concurrency {c}, {label}: {wall:.1}s, {} calls",
                calls.total()
            );
        }
    }
    json!({"principals": principals, "via": via, "passes": passes})
}
