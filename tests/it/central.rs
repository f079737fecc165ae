#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Central mode against moto server: a central account and member accounts, each its own
//! moto account; the central revoker acts in each member only through its member role
//! (STS AssumeRole, which the test support refuses as AWS does: no such role, or a trust
//! that does not admit the caller).

use aws_lambda_events::event::sqs::SqsEvent;
use warden_aws::AwsMembers;
use warden_core::config::Config;
use warden_core::ports::Members;
use warden_core::revoker::Fleet;
use warden_it::{assume, config, eventbridge, iam_call, member_trust, TestAccount};

use revoker::handler::handle;

/// SESSION_SCP: Identity Center users stopped by the tool's SCP.
mod central_scp;

const MEMBER_ROLE: &str = "iam-warden-member";
const REVOKER_ROLE: &str = "iam-warden-revoker";
const PRUNER_ROLE: &str = "iam-warden-pruner";

/// The central account (its function roles, topic with an inbox, dead-letter queue,
/// ledger) and the configuration its revoker runs with.
struct Central {
    account: TestAccount,
    config: Config,
    inbox: String,
    dlq: String,
}

impl Central {
    async fn new() -> Self {
        let account = TestAccount::new().await;
        // The functions' roles, which the tests' own identity may assume (as Lambda does).
        let anyone = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
        for role in [REVOKER_ROLE, PRUNER_ROLE, "someone-else"] {
            account.role_with_trust(role, &anyone).await;
        }
        let (topic, inbox) = account.topic_with_inbox().await;
        let dlq = account.queue("iam-warden-dead-letters", true).await;
        let id = account.id.clone();
        let deny = format!("arn:aws:iam::{id}:policy/iam-warden/iam-warden-deny-iam");
        let quarantine = format!("arn:aws:iam::{id}:policy/iam-warden/iam-warden-quarantine");
        let config = config(&[
            ("DENY_POLICY_ARN", deny.as_str()),
            ("QUARANTINE_POLICY_ARN", quarantine.as_str()),
            ("TOPIC_ARN", topic.as_str()),
            ("DEAD_LETTER_QUEUE_URL", dlq.as_str()),
            ("MEMBER_ROLE_NAME", MEMBER_ROLE),
        ]);
        account
            .aws(&config)
            .ensure_ledger_table()
            .await
            .expect("ledger table");
        Self {
            account,
            config,
            inbox,
            dlq,
        }
    }

    /// The central revoker as the Lambda starts it: running as its role, acting in each
    /// member through the member role.
    async fn fleet(&self) -> Fleet<AwsMembers> {
        let sdk = self.account.as_role(REVOKER_ROLE).await;
        let members = AwsMembers::new(&sdk, self.account.aws(&self.config), MEMBER_ROLE);
        Fleet::new(members, self.config.clone())
    }

    /// A member account as the member stack leaves it: the member role trusting the
    /// central roles, the deny and quarantine policies; and its people: the admin group
    /// with alice, developer dev1.
    async fn member(&self) -> TestAccount {
        self.member_in(TestAccount::new().await).await
    }

    /// [`Self::member`] in the account `m`.
    async fn member_in(&self, m: TestAccount) -> TestAccount {
        m.role_with_trust(
            MEMBER_ROLE,
            &member_trust(&self.account.id, &[REVOKER_ROLE, PRUNER_ROLE]),
        )
        .await;
        m.deny_policy().await;
        m.policy(
            "iam-warden-quarantine",
            "/iam-warden/",
            warden_core::containment::QUARANTINE_POLICY,
        )
        .await;
        m.group("Administrators").await;
        m.user("alice", &["Administrators"], &[]).await;
        m.user("dev1", &[], &[]).await;
        m
    }
}

/// An IAM call in `account` as its forwarding rule delivers it: the envelope's account
/// is the member's, the record's ids IAM's.
async fn call(account: &TestAccount, id: &str, caller: &str, name: &str, user: &str) -> String {
    let mut record = iam_call(
        &account.id,
        id,
        caller,
        name,
        serde_json::json!({ "userName": user }),
        1,
    );
    account.real_ids(&mut record).await;
    eventbridge(&record)
}

fn batch(bodies: &[String]) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            serde_json::json!({"messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:iam-warden-events.fifo"})
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// One batch of `bodies` through the central revoker's handler, as the Lambda runs it.
async fn decide(fleet: &Fleet<AwsMembers>, bodies: &[String]) -> revoker::handler::BatchReport {
    handle(fleet, fleet.members().home(), batch(bodies)).await
}

fn deny_in(account: &TestAccount) -> String {
    format!(
        "arn:aws:iam::{}:policy/iam-warden/iam-warden-deny-iam",
        account.id
    )
}

#[tokio::test]
async fn each_member_event_is_decided_in_its_own_account_and_a_stranger_is_reported_once() {
    let central = Central::new().await;
    let (m1, m2) = (central.member().await, central.member().await);
    // A third account: its forwarding rule reaches the bus, but it has no member role.
    let stranger = TestAccount::new().await;
    stranger.user("dev1", &[], &[]).await;
    let fleet = central.fleet().await;

    let bodies = [
        call(&m1, "m1-1", "dev1", "CreateUser", "backdoor").await,
        call(&m2, "m2-1", "dev1", "CreateUser", "backdoor").await,
        call(&stranger, "s-1", "dev1", "CreateUser", "backdoor").await,
        call(&m1, "m1-2", "alice", "CreateUser", "newhire").await,
    ];
    let report = decide(&fleet, &bodies).await;
    assert!(
        report.response.batch_item_failures.is_empty(),
        "{:?}",
        report.outcomes
    );
    let decided: Vec<(String, String)> = report
        .outcomes
        .iter()
        .map(|o| (o.event_id.clone().unwrap(), o.decision.to_string()))
        .collect();
    for expected in [
        ("m1-1", "revoked"),
        ("m2-1", "revoked"),
        ("s-1", "alerted"),
        ("m1-2", "exempt"),
    ] {
        assert!(
            decided.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} not in {decided:?}"
        );
    }

    // The deny of each member's own account, on its own dev1; nothing on the others.
    assert_eq!(m1.attached("dev1").await, vec![deny_in(&m1)]);
    assert_eq!(m2.attached("dev1").await, vec![deny_in(&m2)]);
    assert!(m1.attached("alice").await.is_empty());
    assert!(stranger.attached("dev1").await.is_empty());
    // The stranger's event: one notice, "not onboarded", nothing changed there.
    let notices = central.account.notices(&central.inbox).await;
    let kinds: Vec<(String, String)> = notices
        .iter()
        .map(|n| {
            let attrs = &n["MessageAttributes"];
            (
                attrs["decision"]["Value"].as_str().unwrap_or("").to_owned(),
                attrs["account"]["Value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("not-onboarded".into(), stranger.id.clone())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("revoked".into(), m1.id.clone())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("revoked".into(), m2.id.clone())),
        "{kinds:?}"
    );
    // The stranger's events are never dead-lettered (nothing to redrive).
    assert!(central.account.drain(&central.dlq).await.is_empty());

    // A second batch: the stranger is not reported again within the window, and no
    // member's credentials are asked for again (cached: one AssumeRole per account).
    let before = fleet.members().assume_role_calls();
    let again = [
        call(&stranger, "s-2", "dev1", "CreateUser", "backdoor2").await,
        call(&m2, "m2-2", "alice", "CreateUser", "newhire2").await,
    ];
    let report = decide(&fleet, &again).await;
    assert!(report.response.batch_item_failures.is_empty());
    assert!(central.account.notices(&central.inbox).await.is_empty());
    // The stranger is tried again (it may have been onboarded since), the members not.
    assert_eq!(fleet.members().assume_role_calls(), before + 1);
    assert_eq!(fleet.opened(), {
        let mut v = vec![m1.id.clone(), m2.id.clone()];
        v.sort();
        v
    });
}

#[tokio::test]
async fn an_event_whose_envelope_and_record_name_different_accounts_changes_nothing() {
    let central = Central::new().await;
    let (m1, m2) = (central.member().await, central.member().await);
    let fleet = central.fleet().await;
    // A record of m2 on an envelope of m1: forged or misrouted, decided in neither.
    let mut record = iam_call(
        &m2.id,
        "x-1",
        "dev1",
        "CreateUser",
        serde_json::json!({"userName": "backdoor"}),
        1,
    );
    m2.real_ids(&mut record).await;
    let mut body: serde_json::Value = serde_json::from_str(&eventbridge(&record)).unwrap();
    body["account"] = serde_json::json!(m1.id);
    let report = decide(&fleet, &[body.to_string()]).await;
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(report.outcomes.len(), 1);
    assert_eq!(report.outcomes[0].decision.to_string(), "alerted");
    assert!(
        report.outcomes[0].reason.contains("recipientAccountId"),
        "{}",
        report.outcomes[0].reason
    );
    assert!(m1.attached("dev1").await.is_empty());
    assert!(m2.attached("dev1").await.is_empty());
    assert!(fleet.opened().is_empty(), "no member role was used");
}

#[tokio::test]
async fn the_member_role_admits_only_the_central_function_roles() {
    let central = Central::new().await;
    let m1 = central.member().await;
    let role = format!("arn:aws:iam::{}:role/{MEMBER_ROLE}", m1.id);
    // The central revoker and pruner roles may assume it.
    for admitted in [REVOKER_ROLE, PRUNER_ROLE] {
        let sdk = central.account.as_role(admitted).await;
        assert!(
            assume(&sdk, &role, "iam-warden").await.is_ok(),
            "{admitted}"
        );
    }
    // Anyone else may not: another role of the central account, the member's own
    // users' identity, a role of another member.
    let other = central.account.as_role("someone-else").await;
    assert_eq!(
        assume(&other, &role, "iam-warden").await.err().as_deref(),
        Some("AccessDenied")
    );
    assert_eq!(
        assume(&m1.sdk, &role, "iam-warden").await.err().as_deref(),
        Some("AccessDenied")
    );
    // A role that does not exist cannot be assumed either (moto would hand out keys).
    let missing = format!("arn:aws:iam::{}:role/no-such-role", m1.id);
    let sdk = central.account.as_role(REVOKER_ROLE).await;
    assert_eq!(
        assume(&sdk, &missing, "iam-warden").await.err().as_deref(),
        Some("AccessDenied")
    );
}

#[tokio::test]
async fn one_member_failing_for_good_does_not_hold_up_another() {
    let central = Central::new().await;
    let m1 = central.member().await;
    // m2 has the member role but no admin group: its start-up check refuses it.
    let m2 = TestAccount::new().await;
    m2.role_with_trust(
        MEMBER_ROLE,
        &member_trust(&central.account.id, &[REVOKER_ROLE]),
    )
    .await;
    m2.user("dev1", &[], &[]).await;
    let fleet = central.fleet().await;
    let bodies = [
        call(&m2, "m2-1", "dev1", "CreateUser", "backdoor").await,
        call(&m1, "m1-1", "dev1", "CreateUser", "backdoor").await,
    ];
    let report = decide(&fleet, &bodies).await;
    // m2's event is dead-lettered with the reason (to redrive once fixed); m1's decided.
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(m1.attached("dev1").await, vec![deny_in(&m1)]);
    assert!(m2.attached("dev1").await.is_empty());
    let dead = central.account.drain(&central.dlq).await;
    assert_eq!(dead.len(), 1);
    let attrs = format!("{:?}", dead[0].message_attributes);
    assert!(attrs.contains("ADMIN_GROUP_NAME"), "{attrs}");
}

#[tokio::test]
async fn the_central_accounts_own_events_are_decided_by_its_own_stack_without_a_member_role() {
    let central = Central::new().await;
    let own = &central.account;
    own.group("Administrators").await;
    own.user("dev1", &[], &[]).await;
    let deny = own.deny_policy().await;
    own.policy(
        "iam-warden-quarantine",
        "/iam-warden/",
        warden_core::containment::QUARANTINE_POLICY,
    )
    .await;
    // The central account's own revoker, as the Lambda starts it (its own roles).
    let aws = own.aws(&central.config);
    let env = aws.discover(&central.config).await.expect("start-up");
    warden_core::revoker::start_up(&aws, &central.config, &env)
        .await
        .expect("start-up");
    let fleet = central
        .fleet()
        .await
        .with_own(warden_core::revoker::Revoker::new(
            aws,
            central.config.clone(),
            env,
        ));
    let m1 = central.member().await;
    let bodies = [
        call(own, "c-1", "dev1", "CreateUser", "backdoor").await,
        call(&m1, "m1-1", "dev1", "CreateUser", "backdoor").await,
    ];
    let report = decide(&fleet, &bodies).await;
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(own.attached("dev1").await, vec![deny]);
    assert_eq!(m1.attached("dev1").await, vec![deny_in(&m1)]);
    // Only the member's role was assumed: the central account has none.
    assert_eq!(fleet.members().assume_role_calls(), 1);
}

// ---------------------------------------------------------------------------------------
// The pruner across accounts.

use warden_core::prune::{PruneConfig, PruneDecision};

use warden_core::pruner::{run_member_chunk, start_central, Chunk, Started};

fn prune_cfg(pairs: &[(&str, &str)]) -> PruneConfig {
    let map: std::collections::BTreeMap<&str, &str> = pairs.iter().copied().collect();
    PruneConfig::from_lookup(|k| map.get(k).map(|v| v.to_string())).unwrap()
}

/// Principals created now are 120 days old then: past the 90-day grace.
fn run_time() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(120)
}

/// A member whose users use S3 and never EC2, for the pruner.
async fn member_with_users(central: &Central, users: &[&str]) -> TestAccount {
    let m = central.member().await;
    for user in users {
        let arn = m
            .user_with_access(user, &[], &["s3:GetObject", "ec2:*"])
            .await;
        m.seed_access(
            &arn,
            &[("s3", (run_time() - chrono::Duration::days(3)).to_rfc3339())],
            None,
        );
    }
    m
}

fn prune_policy_in(m: &TestAccount, user: &str) -> String {
    format!(
        "arn:aws:iam::{}:policy/iam-warden/iam-warden-prune-{user}",
        m.id
    )
}

#[tokio::test]
async fn a_central_pruning_run_prunes_each_member_in_its_own_account_and_sends_one_digest() {
    let central = Central::new().await;
    let (m1, m2) = (
        member_with_users(&central, &["bob"]).await,
        member_with_users(&central, &["bob"]).await,
    );
    let stranger = TestAccount::new().await;
    let accounts = format!("{},{},{}", m1.id, m2.id, stranger.id);
    let topic = central.config.topic_arn.clone().unwrap();
    let cfg = prune_cfg(&[
        ("MEMBER_ROLE_NAME", MEMBER_ROLE),
        ("ACCOUNTS", &accounts),
        ("GRANT_GRACE_DAYS", "0"),
        ("TOPIC_ARN", &topic),
    ]);
    let home = central.account.pruner(&cfg).await;
    let sdk = central.account.as_role(PRUNER_ROLE).await;
    let members = AwsMembers::new(&sdk, home, MEMBER_ROLE);

    let started = start_central(&members, &cfg, "run-1", run_time(), false)
        .await
        .unwrap();
    let Started::Inline(outcomes) = started else {
        panic!("{started:?}")
    };
    // bob denied EC2 in each member, by a policy of that member's own account.
    for m in [&m1, &m2] {
        assert_eq!(m.attached("bob").await, vec![prune_policy_in(m, "bob")]);
        let bob = outcomes
            .iter()
            .find(|o| o.principal.contains(&m.id) && o.name == "bob")
            .unwrap();
        assert_eq!(bob.decision, PruneDecision::Denied, "{bob:?}");
        assert_eq!(bob.newly_denied, ["ec2"]);
    }
    // The stranger is reported, not pruned; the others went on.
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| o.decision == PruneDecision::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{outcomes:?}");
    assert!(failed[0].principal.contains(&stranger.id));
    // One digest for the run, grouped by account.
    let notices = central.account.notices(&central.inbox).await;
    let digests: Vec<_> = notices
        .iter()
        .filter(|n| n["MessageAttributes"]["decision"]["Value"] == "pruned")
        .collect();
    assert_eq!(digests.len(), 1, "{notices:?}");
    let text = digests[0]["Message"].as_str().unwrap();
    for id in [&m1.id, &m2.id, &stranger.id] {
        assert!(text.contains(&format!("== account {id} ==")), "{text}");
    }
    assert!(text.contains("not onboarded"), "{text}");
    assert!(digests[0]["Subject"]
        .as_str()
        .unwrap()
        .contains("3 accounts"));
    // One AssumeRole per account for the whole run.
    assert_eq!(members.assume_role_calls(), 3);
}

#[tokio::test]
async fn a_fanned_out_central_run_interleaves_the_accounts_chunks_and_completes_once() {
    let central = Central::new().await;
    let (m1, m2) = (
        member_with_users(&central, &["bob", "carol"]).await,
        member_with_users(&central, &["dave"]).await,
    );
    let work = central.account.queue("iam-warden-work", false).await;
    let accounts = format!("{},{}", m1.id, m2.id);
    let topic = central.config.topic_arn.clone().unwrap();
    let cfg = prune_cfg(&[
        ("MEMBER_ROLE_NAME", MEMBER_ROLE),
        ("ACCOUNTS", &accounts),
        ("GRANT_GRACE_DAYS", "0"),
        ("TOPIC_ARN", &topic),
        ("WORK_QUEUE_URL", &work),
        ("CHUNK_SIZE", "1"),
    ]);
    let home = central
        .account
        .pruner(&cfg)
        .await
        .with_work_queue(Some(work.clone()));
    let sdk = central.account.as_role(PRUNER_ROLE).await;
    let members = AwsMembers::new(&sdk, home, MEMBER_ROLE);
    let started = start_central(&members, &cfg, "run-2", run_time(), true)
        .await
        .unwrap();
    // One user a chunk: alice, dev1, bob and carol in m1; alice, dev1 and dave in m2.
    assert_eq!(started, Started::Queued(7));
    let chunks: Vec<Chunk> = central
        .account
        .drain(&work)
        .await
        .iter()
        .map(|m| serde_json::from_str(m.body.as_deref().unwrap()).unwrap())
        .collect();
    // The accounts take turns: the second chunk is not the first account's again.
    let order: Vec<String> = chunks.iter().map(|c| c.account.clone().unwrap()).collect();
    assert_eq!(order.len(), 7);
    for pair in order.windows(2).take(5) {
        assert_ne!(pair[0], pair[1], "{order:?}");
    }
    for chunk in &chunks {
        run_member_chunk(&members, &cfg, chunk).await.unwrap();
    }
    for (m, user) in [(&m1, "bob"), (&m1, "carol"), (&m2, "dave")] {
        assert_eq!(m.attached(user).await, vec![prune_policy_in(m, user)]);
    }
    let digests = central.account.notices(&central.inbox).await;
    let digests: Vec<_> = digests
        .iter()
        .filter(|n| n["MessageAttributes"]["decision"]["Value"] == "pruned")
        .collect();
    assert_eq!(digests.len(), 1);
    assert!(digests[0]["Subject"]
        .as_str()
        .unwrap()
        .contains("2 accounts"));
    // Each member's credentials taken once for the whole run (cached across chunks).
    assert_eq!(members.assume_role_calls(), 2);
}

/// The alarms under the tool's prefix in `account`, by name.
async fn canary_alarms(
    account: &TestAccount,
) -> std::collections::BTreeMap<String, aws_sdk_cloudwatch::types::MetricAlarm> {
    account
        .cloudwatch()
        .describe_alarms()
        .alarm_name_prefix("iam-warden-canary-missing-")
        .send()
        .await
        .unwrap()
        .metric_alarms()
        .iter()
        .map(|a| (a.alarm_name().unwrap().to_owned(), a.clone()))
        .collect()
}

#[tokio::test]
async fn a_central_run_keeps_one_canary_alarm_per_account_and_puts_back_a_changed_one() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
    let central = Central::new().await;
    let (m1, m2) = (
        member_with_users(&central, &[]).await,
        member_with_users(&central, &[]).await,
    );
    let topic = central.config.topic_arn.clone().unwrap();
    let cw = central.account.cloudwatch();
    let put = |name: String, threshold: f64, enabled: bool, account: &str| {
        cw.put_metric_alarm()
            .alarm_name(name)
            .namespace("iam-warden")
            .metric_name("CanaryArrived")
            .dimensions(Dimension::builder().name("Account").value(account).build())
            .statistic(Statistic::Sum)
            .period(3600)
            .evaluation_periods(26)
            .datapoints_to_alarm(26)
            .threshold(threshold)
            .comparison_operator(ComparisonOperator::LessThanThreshold)
            .treat_missing_data("breaching")
            .actions_enabled(enabled)
            .alarm_actions(&topic)
            .send()
    };
    // m1's alarm switched off by someone (actions disabled, threshold 0: never fires),
    // an alarm of an account that left, and an alarm not the tool's.
    put(
        format!("iam-warden-canary-missing-{}", m1.id),
        0.0,
        false,
        &m1.id,
    )
    .await
    .unwrap();
    put(
        "iam-warden-canary-missing-999999999999".into(),
        1.0,
        true,
        "999999999999",
    )
    .await
    .unwrap();
    put("iam-warden-canary-missing-notes".into(), 1.0, true, "x")
        .await
        .unwrap();

    let accounts = format!("{},{}", m1.id, m2.id);
    let cfg = prune_cfg(&[
        ("MEMBER_ROLE_NAME", MEMBER_ROLE),
        ("ACCOUNTS", &accounts),
        ("TOPIC_ARN", &topic),
    ]);
    let home = central.account.pruner(&cfg).await;
    let sdk = central.account.as_role(PRUNER_ROLE).await;
    let members = AwsMembers::new(&sdk, home, MEMBER_ROLE);
    let started = start_central(&members, &cfg, "run-alarms", run_time(), false)
        .await
        .unwrap();
    let Started::Inline(outcomes) = started else {
        panic!("{started:?}")
    };
    assert!(
        outcomes.iter().all(|o| o.decision != PruneDecision::Failed),
        "{outcomes:?}"
    );

    let alarms = canary_alarms(&central.account).await;
    let names: Vec<&String> = alarms.keys().collect();
    assert_eq!(
        names,
        [
            &format!("iam-warden-canary-missing-{}", m1.id),
            &format!("iam-warden-canary-missing-{}", m2.id),
            &"iam-warden-canary-missing-notes".to_owned(),
        ],
        "one per account; the gone account's deleted; not the tool's left alone"
    );
    for m in [&m1, &m2] {
        let a = &alarms[&format!("iam-warden-canary-missing-{}", m.id)];
        assert_eq!(a.threshold(), Some(1.0), "{a:?}");
        assert_eq!(a.actions_enabled(), Some(true), "{a:?}");
        assert_eq!(a.alarm_actions(), std::slice::from_ref(&topic));
        assert_eq!(a.evaluation_periods(), Some(26));
        assert_eq!(a.treat_missing_data(), Some("breaching"));
        assert_eq!(a.dimensions()[0].value(), Some(m.id.as_str()));
    }
    // As kept: the next run changes nothing.
    let again = warden_core::ports::PrunerMembers::keep_canary_alarms(
        &members,
        &[m1.id.clone(), m2.id.clone()],
    )
    .await
    .unwrap();
    assert!(again.is_empty(), "{again:?}");

    // Alarms that cannot be kept (here: no CloudWatch client) are a failed line of the
    // digest; the accounts are pruned all the same.
    let t = &central.account;
    let without = warden_aws::AwsAccount::from_clients(
        t.iam.clone(),
        t.sns.clone(),
        t.sqs.clone(),
        t.sts.clone(),
        Some(topic.clone()),
        None,
    )
    .with_ledger(t.dynamodb.clone(), &cfg.ledger_table);
    let members = AwsMembers::new(&sdk, without, MEMBER_ROLE);
    let Started::Inline(outcomes) =
        start_central(&members, &cfg, "run-alarms-2", run_time(), false)
            .await
            .unwrap()
    else {
        panic!("inline")
    };
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.decision == PruneDecision::Failed)
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(failed, ["(canary alarms)"], "{outcomes:?}");
    assert!(
        outcomes.iter().any(|o| o.principal.contains(&m1.id)),
        "the accounts pruned all the same: {outcomes:?}"
    );
}

/// A new account of the organization (Organizations CreateAccount), by id.
async fn org_account(org: &aws_sdk_organizations::Client) -> String {
    org.create_account()
        .email("member@example.com")
        .account_name("member")
        .send()
        .await
        .unwrap()
        .create_account_status
        .and_then(|s| s.account_id)
        .unwrap()
}

#[tokio::test]
async fn without_accounts_the_pruner_takes_the_organizations_active_accounts() {
    let central = Central::new().await;
    let sdk = central.account.as_role(PRUNER_ROLE).await;
    let org = aws_sdk_organizations::Client::new(&sdk);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let created = org_account(&org).await;
    let members = AwsMembers::new(&sdk, central.account.aws(&central.config), MEMBER_ROLE);
    let accounts = members.active_accounts().await.unwrap();
    assert!(accounts.contains(&created), "{accounts:?}");
    assert!(accounts.contains(&central.account.id), "{accounts:?}");
    assert!(
        accounts.windows(2).all(|w| w[0] < w[1]),
        "sorted: {accounts:?}"
    );
}

#[tokio::test]
async fn tampering_with_a_members_role_is_notified_as_that_accounts_and_its_caller_revoked() {
    let central = Central::new().await;
    let m1 = central.member().await;
    let fleet = central.fleet().await;
    let opened = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    let mut record = iam_call(
        &m1.id,
        "t-1",
        "dev1",
        "UpdateAssumeRolePolicy",
        serde_json::json!({"roleName": MEMBER_ROLE, "policyDocument": opened}),
        1,
    );
    m1.real_ids(&mut record).await;
    let report = decide(&fleet, &[eventbridge(&record)]).await;
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(report.outcomes[0].decision.to_string(), "revoked");
    assert_eq!(m1.attached("dev1").await, vec![deny_in(&m1)]);
    let notices = central.account.notices(&central.inbox).await;
    let tampering: Vec<_> = notices
        .iter()
        .filter(|n| n["MessageAttributes"]["decision"]["Value"] == "tampering")
        .collect();
    assert_eq!(tampering.len(), 1, "{notices:?}");
    assert_eq!(
        tampering[0]["MessageAttributes"]["account"]["Value"],
        m1.id.as_str()
    );
    assert!(tampering[0]["Message"]
        .as_str()
        .unwrap()
        .contains(MEMBER_ROLE));
}

#[tokio::test]
async fn a_caller_who_made_herself_admin_before_her_accounts_first_event_is_not_baselined() {
    let central = Central::new().await;
    let m1 = central.member().await;
    // dev1 adds herself to the admin group; IAM applies it at once, the event (the first
    // of this member) arrives minutes later, and CloudTrail's history already has it.
    m1.iam
        .add_user_to_group()
        .group_name("Administrators")
        .user_name("dev1")
        .send()
        .await
        .unwrap();
    let grant = iam_call(
        &m1.id,
        "g-1",
        "dev1",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "dev1"}),
        3,
    );
    m1.recorded(std::slice::from_ref(&grant)).await;
    let mut event = grant.clone();
    m1.real_ids(&mut event).await;
    let fleet = central.fleet().await;
    let report = decide(&fleet, &[eventbridge(&event)]).await;
    assert!(report.response.batch_item_failures.is_empty());
    // The member's baseline trusts alice only: dev1's grant is hers, an escalation.
    assert_eq!(
        report.outcomes[0].decision.to_string(),
        "revoked",
        "{:?}",
        report.outcomes
    );
    assert_eq!(m1.attached("dev1").await, vec![deny_in(&m1)]);
    let groups = m1
        .iam
        .list_groups_for_user()
        .user_name("dev1")
        .send()
        .await
        .unwrap()
        .groups;
    assert!(groups.is_empty(), "the escalation is undone: {groups:?}");
}

#[tokio::test]
async fn a_caller_who_renamed_the_admin_group_away_before_her_accounts_first_event_does_not_become_it(
) {
    let central = Central::new().await;
    let m1 = central.member().await;
    let real_id = m1
        .iam
        .get_group()
        .group_name("Administrators")
        .send()
        .await
        .unwrap()
        .group
        .unwrap()
        .group_id;
    // Minutes after the member stack, before its first event is decided: dev1 renames the
    // real admin group away and makes her own under its name, with herself in it.
    m1.iam
        .update_group()
        .group_name("Administrators")
        .new_group_name("Old")
        .send()
        .await
        .unwrap();
    m1.iam
        .create_group()
        .group_name("Administrators")
        .send()
        .await
        .unwrap();
    m1.iam
        .add_user_to_group()
        .group_name("Administrators")
        .user_name("dev1")
        .send()
        .await
        .unwrap();
    let calls = [
        iam_call(
            &m1.id,
            "r-1",
            "dev1",
            "UpdateGroup",
            serde_json::json!({"groupName": "Administrators", "newGroupName": "Old"}),
            5,
        ),
        iam_call(
            &m1.id,
            "r-2",
            "dev1",
            "CreateGroup",
            serde_json::json!({"groupName": "Administrators"}),
            4,
        ),
        iam_call(
            &m1.id,
            "r-3",
            "dev1",
            "AddUserToGroup",
            serde_json::json!({"groupName": "Administrators", "userName": "dev1"}),
            3,
        ),
    ];
    m1.recorded(&calls).await;
    let mut first = calls[0].clone();
    m1.real_ids(&mut first).await;
    let fleet = central.fleet().await;
    let report = decide(&fleet, &[eventbridge(&first)]).await;
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(
        report.outcomes[0].decision.to_string(),
        "revoked",
        "{:?}",
        report.outcomes
    );
    // The real group has its name back, alice in it; dev1's group was moved aside.
    let holder = m1
        .iam
        .get_group()
        .group_name("Administrators")
        .send()
        .await
        .unwrap();
    assert_eq!(holder.group.unwrap().group_id, real_id);
    let members: Vec<String> = holder.users.into_iter().map(|u| u.user_name).collect();
    assert_eq!(members, ["alice"]);
    // alice is a trusted admin: her next write stands; dev1's does not.
    let report = decide(
        &fleet,
        &[call(&m1, "a-1", "alice", "CreateUser", "newhire").await],
    )
    .await;
    assert_eq!(
        report.outcomes[0].decision.to_string(),
        "exempt",
        "{:?}",
        report.outcomes
    );
    assert!(m1.attached("alice").await.is_empty());
    assert_eq!(m1.attached("dev1").await, vec![deny_in(&m1)]);
}
