//! `warden-bench revoker` and `cold`: the revoker's code path over a set-up account's
//! workload, warm and from a cold start.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use warden_aws::AwsAccount;
use warden_core::event::parse_eventbridge;
use warden_core::revoker::Revoker;

use crate::counted::{counted_revoker, sdk, Calls};
use crate::measure::{cpu_seconds, memory_by_mapping, memory_now, peak_rss_kib, percentile};
use crate::setup::revoker_config;

pub async fn revoker(s: &Value) -> Value {
    let sdk = sdk(
        s["endpoint"].as_str().unwrap(),
        s["key"].as_str().unwrap(),
        s["secret"].as_str().unwrap(),
    )
    .await;
    let calls = Calls::default();
    let config = revoker_config(s);
    let revoker = counted_revoker(&sdk, &calls, config).await;

    let events: Vec<String> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect();
    let mut by_decision: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut latencies = Vec::new();
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    for batch in events.chunks(10) {
        // One SQS batch: the Lambda parses each body, then decides and acts.
        let t0 = Instant::now();
        let mut b = revoker.batch();
        for body in batch {
            let before = calls.total();
            let event = parse_eventbridge(body).unwrap();
            let outcome = b.process(&event, false).await.unwrap();
            let e = by_decision.entry(outcome.decision.to_string()).or_default();
            e.0 += 1;
            e.1 += calls.total() - before;
        }
        latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    latencies.sort_by(f64::total_cmp);
    json!({
        "impl": "rust",
        "events": events.len(),
        "wall_s": wall,
        "events_per_s": events.len() as f64 / wall,
        "batch_p50_ms": percentile(&latencies, 50.0),
        "batch_p99_ms": percentile(&latencies, 99.0),
        "cpu_s": cpu,
        "cpu_per_event_ms": cpu * 1000.0 / events.len() as f64,
        "calls_total": calls.total(),
        "calls_by_operation": calls.snapshot(),
        "by_decision": by_decision.iter().map(|(d, (n, c))| (d.clone(), json!({"events": n, "calls": c, "calls_per_event": *c as f64 / *n as f64}))).collect::<BTreeMap<_, _>>(),
    })
}

/// The Lambda's cold path: SDK config and clients, start-up checks, one decision.
pub async fn cold(s: &Value) -> Value {
    // What holds the memory: the resident set after each step of the cold path.
    let mut stages = vec![memory_now("process and runtime started")];
    let sdk = sdk(
        s["endpoint"].as_str().unwrap(),
        s["key"].as_str().unwrap(),
        s["secret"].as_str().unwrap(),
    )
    .await;
    stages.push(memory_now("SDK configuration loaded"));
    let config = revoker_config(s);
    let account = AwsAccount::for_revoker(&sdk, &config);
    stages.push(memory_now("clients built"));
    account.ensure_ledger_table().await.unwrap();
    let env = account.discover(&config).await.unwrap();
    stages.push(memory_now(
        "start-up checks answered (the first connections)",
    ));
    let revoker = Revoker::new(account, config, env);
    let body = s["events"][0].to_string();
    let outcome = revoker
        .batch()
        .process(&parse_eventbridge(&body).unwrap(), false)
        .await
        .unwrap();
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    stages.push(memory_now("first decision"));
    let mappings: Vec<Value> = memory_by_mapping()
        .into_iter()
        .take(6)
        .map(|(name, kib)| json!({"mapping": name, "rss_kib": kib}))
        .collect();
    json!({
        "impl": "rust",
        "first_decision_unix_ns": at.to_string(),
        "decision": outcome.decision.to_string(),
        "peak_rss_kib": peak_rss_kib(),
        "memory": {"stages": stages, "mappings": mappings},
    })
}
