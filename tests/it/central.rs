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
        let m = TestAccount::new().await;
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
    let report = handle(&fleet, fleet.members().home(), batch(&bodies)).await;
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
    let report = handle(&fleet, fleet.members().home(), batch(&again)).await;
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
    let report = handle(&fleet, fleet.members().home(), batch(&[body.to_string()])).await;
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
    let report = handle(&fleet, fleet.members().home(), batch(&bodies)).await;
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
    let report = handle(&fleet, fleet.members().home(), batch(&bodies)).await;
    assert!(report.response.batch_item_failures.is_empty());
    assert_eq!(own.attached("dev1").await, vec![deny]);
    assert_eq!(m1.attached("dev1").await, vec![deny_in(&m1)]);
    // Only the member's role was assumed: the central account has none.
    assert_eq!(fleet.members().assume_role_calls(), 1);
}
