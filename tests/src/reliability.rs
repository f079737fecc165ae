//! The revoker's reliability scenario, shared by `tests/it/faults.rs` (one fault rate,
//! a fixed seed, in CI) and `warden-bench faults` (the grid, and AWS's latency): a
//! workload of IAM events (non-admins with duplicates, admins, an exempt principal,
//! read-only calls, root, a service-linked role, and an attack chain whose artifacts are
//! contained) through the Lambda handler, with SQS's real semantics (`event_source`),
//! every AWS call of the revoker through the fault-injecting proxy (`fault_proxy`).
//! [`check`] then reads moto's state, not the tool's logs: every caller to revoke is
//! revoked, notified once (a second notice only where the proxy lost the answer of a
//! Publish that had gone through: SNS cannot tell a retry from a new message), nobody
//! else touched, every message decided or dead-lettered with its reason, every artifact
//! contained.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};
use warden_core::config::Config;
use warden_core::revoker::{start_up, Revoker};

use crate::event_source::EventSource;
use crate::fault_proxy::FaultProxy;
use crate::{config, eventbridge, iam_call, TestAccount};

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A deterministic generator: the same workload for the same seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// The account, the tool's resources and the workload's events.
pub struct Scenario {
    pub t: TestAccount,
    pub config: Config,
    inbox: String,
    events: EventSource,
    deferrals: EventSource,
    dead_letters: String,
    pub bodies: Vec<String>,
    /// Who must end revoked; who must end untouched.
    pub revoked: BTreeSet<String>,
    untouched: Vec<String>,
    /// The attack chain's artifacts: the backdoor user, its key, the policy it was given.
    backdoor_key: String,
    admin_like: String,
}

async fn queue_with_redrive(
    t: &TestAccount,
    name: &str,
    fifo: bool,
    dlq: &str,
    visibility: u32,
) -> String {
    let dlq_arn = t
        .sqs
        .get_queue_attributes()
        .queue_url(dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let url = t.queue(name, fifo).await;
    t.sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.to_string(),
        )
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}).to_string(),
        )
        .send()
        .await
        .unwrap();
    url
}

/// `events` events of `devs` developers (70 % of the events: writes, so most are
/// duplicates, and read-only calls), three admins and an exempt bot (writes), root and a
/// service-linked role, and mallory's attack chain (IAM applied it before the events).
pub async fn scenario(events: usize, devs: usize, seed: u64) -> Scenario {
    let t = TestAccount::new().await;
    let a = t.id.clone();
    t.group("Administrators").await;
    let admins: Vec<String> = (0..3).map(|i| format!("admin{i}")).collect();
    for admin in &admins {
        t.user(admin, &["Administrators"], &[]).await;
    }
    t.user("ci-bot", &[], &[("iam-warden:exempt", "true")])
        .await;
    let devs: Vec<String> = (0..devs).map(|i| format!("dev{i:02}")).collect();
    for d in &devs {
        t.user(d, &[], &[]).await;
    }
    t.user("mallory", &[], &[]).await;
    let deny = t.deny_policy().await;
    let quarantine = t
        .policy(
            "iam-warden-quarantine",
            "/iam-warden/",
            warden_core::containment::QUARANTINE_POLICY,
        )
        .await;
    let (topic, inbox) = t.topic_with_inbox().await;
    let dead_letters = t.queue("iam-warden-dead-letters", true).await;
    let deferral_dead_letters = t.queue("iam-warden-deferral-dead-letters", false).await;
    let events_url = queue_with_redrive(&t, "iam-warden-events", true, &dead_letters, 2).await;
    let deferral_url =
        queue_with_redrive(&t, "iam-warden-deferrals", false, &deferral_dead_letters, 2).await;
    let config = config(&[
        ("DENY_POLICY_ARN", deny.as_str()),
        ("QUARANTINE_POLICY_ARN", quarantine.as_str()),
        ("TOPIC_ARN", topic.as_str()),
        ("DEAD_LETTER_QUEUE_URL", dead_letters.as_str()),
        ("DEFERRAL_QUEUE_URL", deferral_url.as_str()),
    ]);
    t.aws(&config).ensure_ledger_table().await.unwrap();

    // mallory's attack, as IAM applied it minutes before its events arrive.
    let iam = &t.iam;
    let admin_like = t.policy("AdminLike", "/", ALLOW_ALL).await;
    t.user("backdoor", &[], &[]).await;
    iam.attach_user_policy()
        .user_name("backdoor")
        .policy_arn(&admin_like)
        .send()
        .await
        .unwrap();
    let backdoor_key = iam
        .create_access_key()
        .user_name("backdoor")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    let backdoor_id = iam
        .get_user()
        .user_name("backdoor")
        .send()
        .await
        .unwrap()
        .user
        .unwrap()
        .user_id;

    let mut rng = Lcg(seed);
    let mut records: Vec<Value> = Vec::new();
    let mut revoked = BTreeSet::new();
    for n in 0..events {
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let r = rng.next(100);
        let (caller, name, read_only) = if r < 60 {
            let d = &devs[rng.next(devs.len() as u64) as usize];
            revoked.insert(d.clone());
            let name = [
                "CreateUser",
                "AttachUserPolicy",
                "PutUserPolicy",
                "CreateRole",
            ][rng.next(4) as usize];
            (d.clone(), name, false)
        } else if r < 70 {
            let d = &devs[rng.next(devs.len() as u64) as usize];
            (d.clone(), "ListUsers", true)
        } else if r < 85 {
            (admins[rng.next(3) as usize].clone(), "CreateUser", false)
        } else {
            ("ci-bot".to_owned(), "AttachRolePolicy", false)
        };
        let mut record = iam_call(
            &a,
            &id,
            &caller,
            name,
            json!({"userName": format!("made-{n}"), "roleName": format!("made-{n}"), "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            5,
        );
        record["readOnly"] = json!(read_only);
        records.push(record);
    }
    // Root and a service-linked role: never acted on.
    let mut root = iam_call(
        &a,
        "00000000-0000-4000-9000-000000000001",
        "x",
        "CreateUser",
        json!({"userName": "made-by-root"}),
        5,
    );
    root["userIdentity"] = json!({"type": "Root", "principalId": a, "arn": format!("arn:aws:iam::{a}:root"), "accountId": a});
    records.push(root);
    let mut slr = iam_call(
        &a,
        "00000000-0000-4000-9000-000000000002",
        "x",
        "DeleteRole",
        json!({"roleName": "old"}),
        5,
    );
    slr["userIdentity"] = json!({
        "type": "AssumedRole", "principalId": "AROASUPPORT:session", "accountId": a,
        "arn": format!("arn:aws:sts::{a}:assumed-role/AWSServiceRoleForSupport/session"),
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROASUPPORT", "accountId": a,
            "arn": format!("arn:aws:iam::{a}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport"),
            "userName": "AWSServiceRoleForSupport"}},
    });
    records.push(slr);
    // The attack chain, in the middle of the stream.
    let mut chain = vec![
        iam_call(
            &a,
            "00000000-0000-4000-a000-000000000001",
            "mallory",
            "CreateUser",
            json!({"userName": "backdoor"}),
            5,
        ),
        iam_call(
            &a,
            "00000000-0000-4000-a000-000000000002",
            "mallory",
            "AttachUserPolicy",
            json!({"userName": "backdoor", "policyArn": admin_like}),
            5,
        ),
        iam_call(
            &a,
            "00000000-0000-4000-a000-000000000003",
            "mallory",
            "CreateAccessKey",
            json!({"userName": "backdoor"}),
            5,
        ),
    ];
    chain[0]["responseElements"] =
        json!({"user": {"userName": "backdoor", "userId": backdoor_id, "path": "/"}});
    chain[2]["responseElements"] = json!({"accessKey": {"accessKeyId": backdoor_key, "userName": "backdoor", "status": "Active"}});
    revoked.insert("mallory".to_owned());
    let middle = records.len() / 2;
    records.splice(middle..middle, chain);

    let mut bodies = Vec::new();
    for mut record in records {
        t.real_ids(&mut record).await;
        bodies.push(eventbridge(&record));
    }
    let events = EventSource::new(&t.sqs, &events_url).await;
    let deferrals = EventSource::new(&t.sqs, &deferral_url).await;
    let mut untouched = admins;
    untouched.push("ci-bot".to_owned());
    Scenario {
        t,
        config,
        inbox,
        events,
        deferrals,
        dead_letters,
        bodies,
        revoked,
        untouched,
        backdoor_key,
        admin_like,
    }
}

/// What a run through the proxy came to.
#[derive(Debug, Default)]
pub struct Run {
    pub invocations: usize,
    pub failed_messages: usize,
    /// Each event's decisions, over every delivery.
    pub decided: BTreeMap<String, Vec<(String, String)>>,
    /// The slowest invocation.
    pub slowest: Duration,
    pub drained_in: Option<Duration>,
    pub faults: Value,
    /// Invocations that took longer than Lambda's timeout (which would have killed them).
    pub timed_out: usize,
    /// Each invocation's duration (what Lambda bills), in milliseconds.
    pub invocation_ms: Vec<f64>,
    /// Each revocation's share of the attacker's window: from the batch's arrival at the
    /// handler to the deny in place (its attach answered), in milliseconds.
    pub window_ms: Vec<f64>,
}

/// The revoker's timeout (template.yaml).
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(60);

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The revoker as the Lambda starts it (start-up through moto directly: a cold start that
/// succeeded), then the queue consumed through the handler with every AWS call of the
/// revoker through the proxy, until both queues are empty or `limit` is over.
pub async fn consume(
    s: &Scenario,
    proxy: &FaultProxy,
    retry: RetryConfig,
    timeout: TimeoutConfig,
    limit: Duration,
) -> Run {
    let direct = s.t.aws(&s.config);
    let env = direct.discover(&s.config).await.expect("start-up");
    start_up(&direct, &s.config, &env).await.expect("start-up");
    s.t.notices(&s.inbox).await; // the baseline's notice
    let via = s.t.via(&proxy.url, retry, timeout).await.aws(&s.config);
    let revoker = Revoker::new(via.clone(), s.config.clone(), env);

    for (i, body) in s.bodies.iter().enumerate() {
        s.t.sqs
            .send_message()
            .queue_url(&s.events.url)
            .message_body(body)
            .message_group_id("iam-events")
            .message_deduplication_id(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut run = Run::default();
    let mut arrivals: BTreeMap<String, f64> = BTreeMap::new();
    let mut first_seen: BTreeMap<String, f64> = BTreeMap::new();
    let started = Instant::now();
    while started.elapsed() < limit {
        let mut idle = true;
        for source in [&s.events, &s.deferrals] {
            let Some(batch) = source.receive().await else {
                continue;
            };
            idle = false;
            let event = batch.event.clone();
            let t0 = Instant::now();
            let arrived = unix_now();
            for record in &event.records {
                let body: Value = serde_json::from_str(record.body.as_deref().unwrap_or("{}"))
                    .unwrap_or_default();
                if let Some(id) = body["detail"]["eventID"].as_str() {
                    first_seen.entry(id.to_owned()).or_insert(arrived);
                }
            }
            // Lambda's deadline: the template's 60 s timeout.
            let deadline = SystemTime::now() + LAMBDA_TIMEOUT;
            let report =
                revoker::handler::handle_until(&revoker, &via, event, Some(deadline)).await;
            if t0.elapsed() > LAMBDA_TIMEOUT {
                run.timed_out += 1;
            }
            run.slowest = run.slowest.max(t0.elapsed());
            run.invocation_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            for outcome in &report.outcomes {
                if outcome.decision == warden_core::decision::Decision::Revoked {
                    let user = outcome
                        .principal
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let at = outcome
                        .event_id
                        .as_deref()
                        .and_then(|id| first_seen.get(id))
                        .copied();
                    arrivals.entry(user).or_insert(at.unwrap_or(arrived));
                }
            }
            run.invocations += 1;
            for outcome in &report.outcomes {
                run.decided
                    .entry(outcome.event_id.clone().unwrap_or_default())
                    .or_default()
                    .push((outcome.decision.to_string(), outcome.principal.clone()));
            }
            run.failed_messages += source.settle(batch, &report.response).await;
        }
        if idle {
            if s.events.remaining().await + s.deferrals.remaining().await == 0 {
                run.drained_in = Some(started.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    run.faults = proxy.stats().await;
    // When each revoked caller's deny was in place: its first attach of the deny.
    let deny = &s.config.deny_policy_arn;
    let mut in_place: BTreeMap<String, f64> = BTreeMap::new();
    for entry in run.faults["log"].as_array().into_iter().flatten() {
        if entry["op"] == "iam.AttachUserPolicy"
            && entry["PolicyArn"].as_str() == Some(deny.as_str())
        {
            if let (Some(user), Some(at)) = (entry["UserName"].as_str(), entry["at"].as_f64()) {
                in_place.entry(user.to_owned()).or_insert(at);
            }
        }
    }
    for (user, arrived) in &arrivals {
        if let Some(at) = in_place.get(user) {
            run.window_ms.push((at - arrived) * 1000.0);
        }
    }
    run
}

/// What the checks of [`check`] found, from moto's state.
#[derive(Debug, Default)]
pub struct Findings {
    /// Events neither decided nor dead-lettered.
    pub lost: usize,
    /// Dead-lettered without a reason.
    pub unexplained: usize,
    pub dead_lettered: usize,
    /// Callers to revoke that are not.
    pub not_revoked: Vec<String>,
    /// Admins and exempt principals touched (a deny, an inline policy, a tool's tag).
    pub wrongful: Vec<String>,
    /// The attack chain's artifacts left as the caller made them.
    pub uncontained: Vec<String>,
    /// Revocations notified more than once, and how many Publish answers the proxy lost.
    pub duplicate_notices: usize,
    pub lost_publishes: u64,
    /// Revocations never notified.
    pub unnotified: Vec<String>,
}

impl Findings {
    /// What breaks the tool's promises (a duplicate notice does only beyond the Publish
    /// answers lost: SNS cannot tell a retry from a new message).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.lost > 0 {
            out.push(format!("{} events lost", self.lost));
        }
        if self.unexplained > 0 {
            out.push(format!(
                "{} dead-lettered without a reason",
                self.unexplained
            ));
        }
        for (what, list) in [
            ("not revoked", &self.not_revoked),
            ("touched", &self.wrongful),
            ("not contained", &self.uncontained),
            ("never notified", &self.unnotified),
        ] {
            if !list.is_empty() {
                out.push(format!("{what}: {list:?}"));
            }
        }
        if self.duplicate_notices as u64 > self.lost_publishes {
            out.push(format!(
                "{} duplicate notices, {} Publish answers lost",
                self.duplicate_notices, self.lost_publishes
            ));
        }
        out
    }
}

/// The checks, from moto's state.
pub async fn check(s: &Scenario, run: &Run) -> Findings {
    let t = &s.t;
    let deny = &s.config.deny_policy_arn;
    let mut f = Findings::default();
    // Every message decided, or dead-lettered with its reason.
    let dead = t.drain(&s.dead_letters).await;
    f.dead_lettered = dead.len();
    f.unexplained = dead
        .iter()
        .filter(|m| {
            m.message_attributes
                .as_ref()
                .and_then(|a| a.get("reason"))
                .and_then(|r| r.string_value.as_deref())
                .is_none_or(str::is_empty)
        })
        .count();
    f.lost = s
        .bodies
        .len()
        .saturating_sub(run.decided.len() + dead.len());
    // Every caller to revoke is revoked.
    for user in &s.revoked {
        if !t.attached(user).await.contains(deny) {
            f.not_revoked.push(user.clone());
        }
    }
    // Nobody else touched: no deny, no tag of the tool, no inline policy given.
    for user in &s.untouched {
        let tags = t.tags(user).await;
        if t.attached(user).await.contains(deny)
            || !t.inline(user).await.is_empty()
            || tags
                .keys()
                .any(|k| k.starts_with("iam-warden:") && k != "iam-warden:exempt")
        {
            f.wrongful.push(user.clone());
        }
    }
    // Containment: the backdoor quarantined, its grant undone, its key made inactive.
    let backdoor = t.attached("backdoor").await;
    let quarantine = s.config.quarantine_policy_arn.clone().unwrap_or_default();
    if !backdoor.contains(&quarantine) {
        f.uncontained.push("backdoor not quarantined".into());
    }
    if backdoor.contains(&s.admin_like) {
        f.uncontained
            .push("backdoor's AdminLike still attached".into());
    }
    let keys = t
        .iam
        .list_access_keys()
        .user_name("backdoor")
        .send()
        .await
        .unwrap()
        .access_key_metadata;
    let inactive = keys.iter().any(|k| {
        k.access_key_id.as_deref() == Some(s.backdoor_key.as_str())
            && k.status.as_ref().map(|s| s.as_str()) == Some("Inactive")
    });
    if !inactive {
        f.uncontained.push("backdoor's key still active".into());
    }

    // Each revocation notified once; a second notice only where a Publish's answer was
    // lost after SNS took it (the SDK retried it).
    let notices = t.notices(&s.inbox).await;
    let mut revocations: BTreeMap<String, usize> = BTreeMap::new();
    for n in &notices {
        if n["MessageAttributes"]["decision"]["Value"] != "revoked" {
            continue;
        }
        let message = n["Message"].as_str().unwrap_or_default();
        let machine: Value = message
            .split("--- machine-readable ---")
            .nth(1)
            .and_then(|m| serde_json::from_str(m.trim()).ok())
            .unwrap_or_default();
        let arn = machine["principal_arn"].as_str().unwrap_or_default();
        *revocations
            .entry(arn.rsplit('/').next().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    f.unnotified = s
        .revoked
        .iter()
        .filter(|u| !revocations.contains_key(*u))
        .cloned()
        .collect();
    f.duplicate_notices = revocations.values().map(|n| n - 1).sum();
    f.lost_publishes = FaultProxy::count(&run.faults, "sns.Publish", "reset-after")
        + FaultProxy::count(&run.faults, "sns.Publish", "slow");
    f
}

pub fn report(rate: f64, s: &Scenario, run: &Run) {
    eprintln!(
        "faults at {:.0}%: {} events, {} faults injected ({}), {} invocations, {} messages failed for a retry, drained in {:?}, slowest invocation {:?}",
        rate * 100.0,
        s.bodies.len(),
        FaultProxy::total(&run.faults),
        run.faults["faults"],
        run.invocations,
        run.failed_messages,
        run.drained_in,
        run.slowest
    );
}
