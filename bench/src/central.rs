//! `warden-bench central`: central mode over several member accounts (moto accounts),
//! each behind its own IAM rate limit (the proxy's per-key mode: each member is reached
//! with its member role's own key). The pruning run's wall time against its floor (the
//! slowest account's IAM requests at the rate), the STS calls per account and run; and
//! the revoker's STS calls per event once an account's credentials are cached.

use std::time::Instant;

use chrono::{Duration as Days, Utc};
use serde_json::{json, Value};
use warden_aws::AwsMembers;
use warden_core::revoker::{Fleet, Lanes};
use warden_it::{assume, config, iam_call, member_trust, TestAccount};

use crate::pruner::fleet;

const MEMBER_ROLE: &str = "iam-warden-member";

/// The requests the proxy saw, per access key and service.
fn counts(via: &str) -> Value {
    let url = format!("{via}/_counts");
    let (host, path) = url
        .trim_start_matches("http://")
        .split_once('/')
        .map(|(h, p)| (h.to_owned(), format!("/{p}")))
        .unwrap();
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("{}");
    serde_json::from_str(body).unwrap()
}

/// The most IAM requests one access key made (one member account's).
fn max_iam(counts: &Value) -> u64 {
    counts
        .as_object()
        .unwrap()
        .values()
        .filter_map(|per| per.get("iam").and_then(Value::as_u64))
        .max()
        .unwrap_or(0)
}

async fn sdk_as(central: &TestAccount, role: &str, via: &str) -> aws_config::SdkConfig {
    let arn = format!("arn:aws:iam::{}:role/{role}", central.id);
    let creds = assume(&central.sdk, &arn, "bench").await.unwrap();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(via)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .retry_config(warden_aws::retry_config())
        .timeout_config(warden_aws::timeout_config())
        .load()
        .await
}

pub async fn central(accounts: usize, principals: usize, via: String, rate: f64) -> Value {
    let central = TestAccount::new().await;
    let anyone = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
    for role in ["iam-warden-pruner", "iam-warden-revoker"] {
        central.role_with_trust(role, &anyone).await;
    }
    let (topic, _inbox) = central.topic_with_inbox().await;
    let dlq = central.queue("iam-warden-dead-letters", true).await;
    let mut members = Vec::new();
    for _ in 0..accounts {
        let m = fleet(principals).await;
        m.role_with_trust(
            MEMBER_ROLE,
            &member_trust(&central.id, &["iam-warden-pruner", "iam-warden-revoker"]),
        )
        .await;
        m.group("Administrators").await;
        m.user("dev1", &[], &[]).await;
        m.deny_policy().await;
        members.push(m);
    }
    let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();

    // The pruning run: every account at once, each at `rate` IAM requests a second.
    let cfg = warden_core::prune::PruneConfig::from_lookup(|k| match k {
        "MEMBER_ROLE_NAME" => Some(MEMBER_ROLE.to_owned()),
        "ACCOUNTS" => Some(ids.join(",")),
        "ACCOUNT_CONCURRENCY" => Some(accounts.to_string()),
        "GRANT_GRACE_DAYS" => Some("0".to_owned()),
        "TOPIC_ARN" => Some(topic.clone()),
        _ => None,
    })
    .unwrap();
    let home = central.pruner(&cfg).await;
    let sdk = sdk_as(&central, "iam-warden-pruner", &via).await;
    let pruner = AwsMembers::new(&sdk, home, MEMBER_ROLE);
    let before = counts(&via);
    let t0 = Instant::now();
    let started = warden_core::pruner::start_central(
        &pruner,
        &cfg,
        "bench",
        Utc::now() + Days::days(120),
        false,
    )
    .await
    .unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let after = counts(&via);
    let slowest = max_iam(&after).saturating_sub(max_iam(&before));
    let floor = slowest as f64 / rate;
    let outcomes = match &started {
        warden_core::pruner::Started::Inline(o) => o.len(),
        _ => 0,
    };
    eprintln!(
        "warden-bench: central run over {accounts} accounts x {principals} principals: {wall:.1}s (floor {floor:.1}s)"
    );

    // The revoker: events of each member, in batches; STS calls per event.
    let rconfig = config(&[
        (
            "DENY_POLICY_ARN",
            &format!(
                "arn:aws:iam::{}:policy/iam-warden/iam-warden-deny-iam",
                central.id
            ),
        ),
        ("TOPIC_ARN", &topic),
        ("DEAD_LETTER_QUEUE_URL", &dlq),
        ("MEMBER_ROLE_NAME", MEMBER_ROLE),
    ]);
    central.aws(&rconfig).ensure_ledger_table().await.unwrap();
    let rsdk = sdk_as(&central, "iam-warden-revoker", &via).await;
    let fleet = Fleet::new(
        AwsMembers::new(&rsdk, central.aws(&rconfig), MEMBER_ROLE),
        rconfig,
    );
    let per_member = 20;
    let mut events = 0usize;
    let t1 = Instant::now();
    for m in &members {
        let revoker = Lanes::revoker(&fleet, &m.id).await.ok().unwrap();
        let mut batch = revoker.batch();
        for i in 0..per_member {
            let mut record = iam_call(
                &m.id,
                &format!("ev-{}-{i}", m.id),
                "dev1",
                "CreateUser",
                json!({"userName": format!("x{i}")}),
                1,
            );
            m.real_ids(&mut record).await;
            let body = warden_it::eventbridge(&record);
            let event = warden_core::event::parse_eventbridge(&body).unwrap();
            batch.process(&event, false).await.unwrap();
            events += 1;
        }
    }
    let revoker_wall = t1.elapsed().as_secs_f64();
    let sts = fleet.members().assume_role_calls();
    json!({
        "accounts": accounts, "principals_per_account": principals, "rate_per_account": rate,
        "pruner": {
            "outcomes": outcomes, "wall_s": wall, "slowest_account_iam_requests": slowest,
            "floor_s": floor, "wall_over_floor": wall / floor.max(f64::EPSILON),
            "sts_assume_role_per_account": pruner.assume_role_calls() as f64 / accounts as f64,
        },
        "revoker": {
            "events": events, "wall_s": revoker_wall,
            "sts_assume_role": sts,
            "sts_per_event_after_the_first_of_each_account":
                (sts as f64 - accounts as f64) / (events - accounts).max(1) as f64,
        },
    })
}
