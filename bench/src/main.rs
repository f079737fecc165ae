//! `warden-bench`: the measurements of `bench/run.sh`, against the moto server of
//! `WARDEN_TEST_ENDPOINT`. Each subcommand prints one JSON object.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a benchmark: a broken set-up should stop it loudly

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{Duration as Days, Utc};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use warden_aws::AwsAccount;
use warden_core::event::parse_eventbridge;
use warden_core::ports::Authorizations;
use warden_core::prune::PruneConfig;
use warden_core::pruner::{prune, Writes};
use warden_core::revoker::Revoker;
use warden_it::TestAccount;

#[derive(Parser)]
#[command(
    name = "warden-bench",
    about = "iam-warden benchmarks (run by bench/run.sh)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A fresh moto account for the revoker benchmarks, and its workload, as JSON.
    Setup {
        #[arg(long, default_value_t = 1000)]
        events: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// The revoker's code path over the workload of a set-up account.
    Revoker {
        #[arg(long)]
        setup: PathBuf,
    },
    /// Cold start: SDK, clients, start-up checks, then the first decision.
    Cold {
        #[arg(long)]
        setup: PathBuf,
    },
    /// Containment: N attackers each make the attack chain (CreateUser, AttachUserPolicy,
    /// CreateAccessKey, CreateLoginProfile, AddUserToGroup, PutRolePolicy,
    /// UpdateAssumeRolePolicy), then the revoker processes each chain as one batch.
    Contain {
        #[arg(long, default_value_t = 20)]
        attackers: usize,
    },
    /// Pruning passes over a fresh account of N users.
    Pruner {
        #[arg(long)]
        principals: usize,
        #[arg(long, num_args = 1.., default_values_t = [8])]
        concurrency: Vec<usize>,
        /// Send the pruner's calls here (a rate-limiting proxy) instead of moto
        #[arg(long)]
        via: Option<String>,
    },
}

/// Counts the HTTP requests of every client it is installed on, by operation.
#[derive(Clone, Debug, Default)]
struct Calls(Arc<Mutex<BTreeMap<String, u64>>>);

impl Calls {
    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }

    fn total(&self) -> u64 {
        self.0.lock().unwrap().values().sum()
    }

    fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg.load::<Metadata>().map_or_else(
            || "?".to_owned(),
            |m| format!("{}:{}", m.service(), m.name()),
        );
        *self.0.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

/// The production SDK configuration, with an account's key and an endpoint.
async fn sdk(endpoint: &str, key: &str, secret: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "bench"))
        .retry_config(warden_aws::retry_config())
        .load()
        .await
}

fn counted(
    sdk: &SdkConfig,
    calls: &Calls,
    topic: Option<String>,
    dlq: Option<String>,
) -> AwsAccount {
    AwsAccount::from_clients(
        aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        topic,
        dlq,
    )
}

/// The revoker as the Lambda starts it, over counted clients and the ledger: the table
/// and the trust baseline as `warden init` makes them, start-up, then the count reset.
async fn counted_revoker(
    sdk: &SdkConfig,
    calls: &Calls,
    config: warden_core::config::Config,
) -> Revoker<AwsAccount> {
    let account = counted(
        sdk,
        calls,
        config.topic_arn.clone(),
        config.dead_letter_queue_url.clone(),
    )
    .with_ledger(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        &config.ledger_table,
    );
    account.ensure_ledger_table().await.unwrap();
    let env = account.discover(&config).await.unwrap();
    warden_core::vouch::ensure_baseline(
        &account,
        &env.account_id,
        &config.admin_group,
        &config.exempt_tag,
    )
    .await
    .unwrap();
    calls.reset();
    Revoker::new(account, config, env)
}

/// User + system CPU time of this process (/proc/self/stat, in clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A deterministic generator (the workload is the same in every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn event(account: &str, user: &str, name: &str, read_only: bool, n: usize) -> Value {
    json!({
        "version": "0",
        "id": format!("eb-{n:08}"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": account,
        "time": "2026-11-20T09:15:01Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": format!("AIDA{}", user.to_uppercase()),
                "arn": format!("arn:aws:iam::{account}:user/{user}"),
                "accountId": account,
                "accessKeyId": "AKIAEXAMPLE",
                "userName": user,
            },
            "eventTime": "2026-11-20T09:15:01Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.23",
            "userAgent": "aws-cli/2.17.0",
            "requestParameters": {"userName": format!("new-{n}")},
            "responseElements": null,
            "eventID": format!("00000000-0000-4000-8000-{n:012}"),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
        }
    })
}

/// 50 developers (70% of the events, so most are duplicates), 5 admins and read-only
/// calls (30%, decided without a call).
async fn setup(events: usize) -> Value {
    let t = TestAccount::new().await;
    t.group("Administrators").await;
    let admins: Vec<String> = (0..5).map(|i| format!("admin{i:02}")).collect();
    let devs: Vec<String> = (0..50).map(|i| format!("dev{i:02}")).collect();
    for a in &admins {
        t.user(a, &["Administrators"], &[]).await;
    }
    for d in &devs {
        t.user(d, &[], &[]).await;
    }
    let deny = t.deny_policy().await;
    let topic = t
        .sns
        .create_topic()
        .name("iam-warden-notices")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let dlq = t.queue("iam-warden-dead-letters", true).await;
    let (key, secret) = t.access_key("operator").await;
    let mut rng = Lcg(42);
    let workload: Vec<Value> = (0..events)
        .map(|n| {
            let r = rng.next() % 100;
            if r < 70 {
                let user = &devs[(rng.next() % 50) as usize];
                let name = if rng.next().is_multiple_of(2) {
                    "CreateUser"
                } else {
                    "AttachUserPolicy"
                };
                event(&t.id, user, name, false, n)
            } else if r < 85 {
                let user = &admins[(rng.next() % 5) as usize];
                event(&t.id, user, "CreateUser", false, n)
            } else {
                let user = &devs[(rng.next() % 50) as usize];
                event(&t.id, user, "ListUsers", true, n)
            }
        })
        .collect();
    // The ids IAM has for the callers, as CloudTrail records them.
    let mut workload = workload;
    let mut ids = std::collections::HashMap::new();
    for user in admins.iter().chain(&devs) {
        let id = t
            .iam
            .get_user()
            .user_name(user)
            .send()
            .await
            .unwrap()
            .user
            .unwrap()
            .user_id;
        ids.insert(user.clone(), id);
    }
    for e in &mut workload {
        let name = e["detail"]["userIdentity"]["userName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(id) = ids.get(&name) {
            e["detail"]["userIdentity"]["principalId"] = json!(id);
        }
    }
    json!({
        "account": t.id, "endpoint": warden_it::endpoint(), "key": key, "secret": secret,
        "deny_policy_arn": deny, "topic_arn": topic, "dlq_url": dlq,
        "admin_group": "Administrators", "events": workload,
    })
}

fn load(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn revoker_config(s: &Value) -> warden_core::config::Config {
    warden_core::testing::config_from(&[
        ("DENY_POLICY_ARN", s["deny_policy_arn"].as_str().unwrap()),
        ("TOPIC_ARN", s["topic_arn"].as_str().unwrap()),
        ("DEAD_LETTER_QUEUE_URL", s["dlq_url"].as_str().unwrap()),
        ("ADMIN_GROUP_NAME", s["admin_group"].as_str().unwrap()),
    ])
}

async fn revoker(s: &Value) -> Value {
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

/// One CloudTrail record of `attacker`'s attack chain, as an EventBridge event body.
fn attack_event(
    account: &str,
    attacker: &str,
    id: &str,
    n: usize,
    name: &str,
    request: Value,
    response: Value,
) -> String {
    json!({
        "version": "0", "id": format!("eb-{attacker}-{n}"), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam", "account": account, "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": id,
                "arn": format!("arn:aws:iam::{account}:user/{attacker}"), "accountId": account,
                "accessKeyId": "AKIASTOLEN", "userName": attacker},
            "eventTime": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.66", "userAgent": "aws-cli/2.17.0",
            "requestParameters": request, "responseElements": response,
            "eventID": format!("{attacker}-{n}"), "readOnly": false, "eventType": "AwsApiCall",
            "managementEvent": true, "recipientAccountId": account,
        }
    })
    .to_string()
}

/// Containment's cost: API calls per event and per contained artifact, by operation, and
/// the wall time of each attack chain (7 events, one batch) from the first decision to
/// the last containment.
async fn contain(attackers: usize) -> Value {
    const ALLOW: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const OUTSIDE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    let t = TestAccount::new().await;
    t.group("Administrators").await;
    t.group("devs").await;
    t.user("alice", &["Administrators"], &[]).await;
    let deny = t.deny_policy().await;
    let quarantine = t
        .policy(
            "iam-warden-quarantine",
            "/iam-warden/",
            warden_core::containment::QUARANTINE_POLICY,
        )
        .await;
    let admin_like = t.policy("AdminLike", "/", ALLOW).await;
    let topic = t
        .sns
        .create_topic()
        .name("iam-warden-notices")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let dlq = t.queue("iam-warden-dead-letters", true).await;
    let (key, secret) = t.access_key("operator").await;
    // Each attacker's chain, as IAM applied it, and its records.
    let mut chains = Vec::new();
    for i in 0..attackers {
        let (attacker, backdoor, role) = (
            format!("eve{i:02}"),
            format!("backdoor{i:02}"),
            format!("app{i:02}"),
        );
        t.user(&attacker, &[], &[]).await;
        let id = t
            .iam
            .get_user()
            .user_name(&attacker)
            .send()
            .await
            .unwrap()
            .user
            .unwrap()
            .user_id;
        t.iam
            .create_role()
            .role_name(&role)
            .assume_role_policy_document(EC2)
            .send()
            .await
            .unwrap();
        t.user(&backdoor, &["devs"], &[]).await;
        t.iam
            .attach_user_policy()
            .user_name(&backdoor)
            .policy_arn(&admin_like)
            .send()
            .await
            .unwrap();
        let key_id = t
            .iam
            .create_access_key()
            .user_name(&backdoor)
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap()
            .access_key_id;
        t.iam
            .create_login_profile()
            .user_name(&backdoor)
            .password("Attacker-Pass-1!")
            .send()
            .await
            .unwrap();
        t.iam
            .put_role_policy()
            .role_name(&role)
            .policy_name("all")
            .policy_document(ALLOW)
            .send()
            .await
            .unwrap();
        t.iam
            .update_assume_role_policy()
            .role_name(&role)
            .policy_document(OUTSIDE)
            .send()
            .await
            .unwrap();
        let e = |n, name, req, resp| attack_event(&t.id, &attacker, &id, n, name, req, resp);
        chains.push(vec![
            e(
                1,
                "CreateUser",
                json!({"userName": backdoor}),
                json!({"user": {"userName": backdoor}}),
            ),
            e(
                2,
                "AttachUserPolicy",
                json!({"userName": backdoor, "policyArn": admin_like}),
                Value::Null,
            ),
            e(
                3,
                "CreateAccessKey",
                json!({"userName": backdoor}),
                json!({"accessKey": {"accessKeyId": key_id, "userName": backdoor}}),
            ),
            e(
                4,
                "CreateLoginProfile",
                json!({"userName": backdoor}),
                json!({"loginProfile": {"userName": backdoor}}),
            ),
            e(
                5,
                "AddUserToGroup",
                json!({"groupName": "devs", "userName": backdoor}),
                Value::Null,
            ),
            e(
                6,
                "PutRolePolicy",
                json!({"roleName": role, "policyName": "all", "policyDocument": ALLOW}),
                Value::Null,
            ),
            e(
                7,
                "UpdateAssumeRolePolicy",
                json!({"roleName": role, "policyDocument": OUTSIDE}),
                Value::Null,
            ),
        ]);
    }
    let sdk = sdk(&warden_it::endpoint(), &key, &secret).await;
    let calls = Calls::default();
    let config = warden_core::testing::config_from(&[
        ("DENY_POLICY_ARN", deny.as_str()),
        ("QUARANTINE_POLICY_ARN", quarantine.as_str()),
        ("TOPIC_ARN", topic.as_str()),
        ("DEAD_LETTER_QUEUE_URL", dlq.as_str()),
    ]);
    let revoker = counted_revoker(&sdk, &calls, config).await;
    // Per event name: events, contained artifacts, calls, calls by operation.
    let mut by_event: BTreeMap<String, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut walls = Vec::new();
    for chain in &chains {
        let t0 = Instant::now();
        let mut b = revoker.batch();
        for body in chain {
            let before = calls.snapshot();
            let event = parse_eventbridge(body).unwrap();
            let outcome = b.process(&event, false).await.unwrap();
            let entry = by_event
                .entry(format!(
                    "{} ({})",
                    outcome.event_name.unwrap_or_default(),
                    outcome.decision
                ))
                .or_default();
            entry.0 += 1;
            entry.1 += outcome.actions.len() as u64;
            for (op, n) in calls.snapshot() {
                let d = n - before.get(&op).copied().unwrap_or(0);
                if d > 0 {
                    *entry.2.entry(op).or_default() += d;
                }
            }
        }
        walls.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    walls.sort_by(f64::total_cmp);
    json!({
        "attackers": attackers,
        "chain_ms_p50": percentile(&walls, 50.0),
        "chain_ms_max": walls.last().copied().unwrap_or_default(),
        "calls_total": calls.total(),
        "by_event": by_event.iter().map(|(name, (events, artifacts, ops))| (name.clone(), json!({
            "events": events, "artifacts": artifacts,
            "calls_per_event": ops.values().sum::<u64>() as f64 / *events as f64,
            "calls_by_operation": ops,
        }))).collect::<BTreeMap<_, _>>(),
    })
}

/// The Lambda's cold path: SDK config and clients, start-up checks, one decision.
async fn cold(s: &Value) -> Value {
    let sdk = sdk(
        s["endpoint"].as_str().unwrap(),
        s["key"].as_str().unwrap(),
        s["secret"].as_str().unwrap(),
    )
    .await;
    let config = revoker_config(s);
    let account = AwsAccount::for_revoker(&sdk, &config);
    account.ensure_ledger_table().await.unwrap();
    let env = account.discover(&config).await.unwrap();
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
    json!({"impl": "rust", "first_decision_unix_ns": at.to_string(), "decision": outcome.decision.to_string(), "peak_rss_kib": peak_rss_kib()})
}

/// A fresh account of `principals` users, each granted EC2, S3 and Lambda; a third
/// used S3 lately.
async fn fleet(principals: usize) -> TestAccount {
    let t = TestAccount::new().await;
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

async fn pruner(principals: usize, concurrency: &[usize], via: Option<String>) -> Value {
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

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let out = match cli.command {
        Command::Setup { events, out } => {
            let s = setup(events).await;
            std::fs::write(&out, s.to_string()).unwrap();
            json!({"account": s["account"], "events": events, "file": out})
        }
        Command::Revoker { setup } => revoker(&load(&setup)).await,
        Command::Contain { attackers } => contain(attackers).await,
        Command::Cold { setup } => cold(&load(&setup)).await,
        Command::Pruner {
            principals,
            concurrency,
            via,
        } => pruner(principals, &concurrency, via).await,
    };
    println!("{out}");
}
