#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The handler against the in-memory ports: exact failed message ids of the batch response.

use aws_lambda_events::event::sqs::SqsEvent;
use warden_core::ports::{Members as _, PortError};
use warden_core::principal::EntityKind;
use warden_core::revoker::Revoker;
use warden_core::testing::{
    config, environment, sample_text as fixture, MemoryAccount, DENY_POLICY_ARN as DENY,
};

use revoker::handler::handle_batch;

fn revoker() -> Revoker<MemoryAccount> {
    let config = config(&[(
        "DEAD_LETTER_QUEUE_URL",
        "http://localhost/123456789012/dlq.fifo",
    )]);
    let account = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("dev1", &[], &[])
        .with_user("dev2", &[], &[])
        .with_baseline();
    Revoker::new(account, config, environment())
}

/// The user has the deny attached.
fn is_denied(r: &Revoker<MemoryAccount>, user: &str) -> bool {
    r.port()
        .facts_of(EntityKind::User, user)
        .unwrap()
        .attached_policies
        .contains(DENY)
}

/// How many failure notices (`decision` = `failed`) the account was sent.
fn failure_notices(r: &Revoker<MemoryAccount>) -> usize {
    r.port()
        .notices()
        .iter()
        .filter(|n| n.attributes["decision"] == "failed")
        .count()
}

/// The user has no managed policy attached.
fn is_untouched(r: &Revoker<MemoryAccount>, user: &str) -> bool {
    r.port()
        .facts_of(EntityKind::User, user)
        .unwrap()
        .attached_policies
        .is_empty()
}

fn batch_of(bodies: &[String]) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| serde_json::json!({"messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn invariant_5_malformed_bodies_go_to_the_dead_letter_queue_and_do_not_block_the_batch() {
    let r = revoker();
    let event: SqsEvent = serde_json::from_str(&fixture("sqs-batch-mixed.json")).unwrap();
    let response = handle_batch(&r, r.port(), event).await;
    assert!(
        failed_ids(&response).is_empty(),
        "{:?}",
        failed_ids(&response)
    );
    let dead = r.port().lock().dead_letters.clone();
    let ids: Vec<&str> = dead.iter().map(|(_, _, id)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "11111111-0000-4000-8000-000000000002",
            "11111111-0000-4000-8000-000000000004"
        ]
    );
    assert!(dead[0].1.contains("not valid JSON"), "{}", dead[0].1);
    assert!(dead[1].1.contains("detail-type"), "{}", dead[1].1);
    assert!(
        dead[1].0.contains("not an EventBridge event"),
        "the body is kept as it was"
    );
    // The good messages around them were decided: dev2 created a key for dev1.
    assert!(is_denied(&r, "dev2"));
}

fn throttled() -> PortError {
    PortError::Transient {
        operation: "ListGroupsForUser",
        message: "Throttling".into(),
    }
}

#[tokio::test]
async fn a_message_still_failing_after_the_sdks_retries_is_deferred_and_the_fifo_group_goes_on() {
    let r = revoker();
    r.port().fail("facts", throttled(), 1);
    let bodies = [
        fixture("09-root.json"),
        fixture("01-iam-user-create-user.json"),
        fixture("12-admin-create-user.json"),
        "garbage".to_owned(),
    ];
    let response = handle_batch(&r, r.port(), batch_of(&bodies)).await;
    // Nothing holds the group for the visibility timeout: m1 is on the deferral queue,
    // back in RETRY_DELAY; the later messages were decided (the garbage dead-lettered).
    assert!(failed_ids(&response).is_empty());
    let deferred = r.port().lock().deferred.clone();
    assert_eq!(
        deferred,
        [(bodies[1].clone(), revoker::handler::RETRY_DELAY, 1)],
        "back in 30 s, its one failed delivery carried"
    );
    assert_eq!(r.port().lock().dead_letters.len(), 1);
    assert!(is_untouched(&r, "dev1"));

    // From the deferral queue (a standard queue): decided.
    let mut again = batch_of(&deferred_bodies(&deferred));
    again.records[0].event_source_arn =
        Some("arn:aws:sqs:us-east-1:123456789012:iam-warden-deferrals".into());
    let response = handle_batch(&r, r.port(), again).await;
    assert!(failed_ids(&response).is_empty());
    assert!(is_denied(&r, "dev1"));
}

fn deferred_bodies(deferred: &[(String, std::time::Duration, u32)]) -> Vec<String> {
    deferred.iter().map(|(b, _, _)| b.clone()).collect()
}

/// A batch of the deferral queue (a standard queue), each message carrying its failed
/// deliveries as the handler that deferred it sent them.
fn from_deferral_queue(deferred: &[(String, std::time::Duration, u32)]) -> SqsEvent {
    let records: Vec<serde_json::Value> = deferred
        .iter()
        .enumerate()
        .map(|(i, (body, _, failed))| {
            let mut record = serde_json::json!({"messageId": format!("d{i}"), "body": body,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:iam-warden-deferred",
                "attributes": {"ApproximateReceiveCount": "1"}});
            if *failed > 0 {
                record["messageAttributes"] = serde_json::json!({
                    "failed-deliveries": {"stringValue": failed.to_string(), "dataType": "Number"}
                });
            }
            record
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn a_failing_event_is_deferred_with_backoff_never_failed_back_to_wait_out_the_visibility_timeout_and_dead_lettered_on_its_last_delivery(
) {
    use revoker::handler::{retry_delay, MAX_DELIVERIES};
    let r = revoker();
    let body = fixture("01-iam-user-create-user.json");
    let mut batch = batch_of(std::slice::from_ref(&body));
    let mut delays = Vec::new();
    for delivery in 1..=MAX_DELIVERIES {
        r.port().fail("facts", throttled(), 1);
        let response = handle_batch(&r, r.port(), batch).await;
        // Never failed back to SQS: nothing waits out the six-minute visibility timeout.
        assert!(failed_ids(&response).is_empty(), "delivery {delivery}");
        let deferred = std::mem::take(&mut r.port().lock().deferred);
        if delivery == MAX_DELIVERIES {
            assert!(deferred.is_empty());
            break;
        }
        assert_eq!(deferred.len(), 1, "delivery {delivery}");
        assert_eq!(deferred[0].2, delivery, "its failed deliveries, carried");
        delays.push(deferred[0].1.as_secs());
        assert!(r.port().lock().dead_letters.is_empty());
        batch = from_deferral_queue(&deferred);
    }
    // 30 s, doubled at each failure, at most SQS's 900 s: about half an hour in all.
    assert_eq!(delays, [30, 60, 120, 240, 480, 900]);
    assert_eq!(retry_delay(40), std::time::Duration::from_secs(900));
    let dead = r.port().lock().dead_letters.clone();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].1.contains("still failing after 7 deliveries") && dead[0].1.contains("Throttling"),
        "{}",
        dead[0].1
    );
    assert!(is_untouched(&r, "dev1"));
    let failures = failure_notices(&r);
    assert_eq!(failures, 1, "notified once");

    // A count that is not a number counts for nothing; one beyond the bound, as the bound.
    for (carried, dead_lettered) in [
        ("x", false),
        ("-1", false),
        ("6", true),
        ("99999999999", true),
    ] {
        r.port().fail("facts", throttled(), 1);
        let mut batch = from_deferral_queue(&[(body.clone(), std::time::Duration::ZERO, 1)]);
        batch.records[0]
            .message_attributes
            .get_mut("failed-deliveries")
            .unwrap()
            .string_value = Some(carried.into());
        let before = r.port().lock().dead_letters.len();
        let response = handle_batch(&r, r.port(), batch).await;
        assert!(failed_ids(&response).is_empty());
        let deferred = std::mem::take(&mut r.port().lock().deferred);
        assert_eq!(
            r.port().lock().dead_letters.len() - before,
            usize::from(dead_lettered),
            "{carried}"
        );
        assert_eq!(deferred.len(), usize::from(!dead_lettered), "{carried}");
        if !dead_lettered {
            assert_eq!(deferred[0].2, 1, "{carried}");
        }
    }
    // Once it goes through, it is decided.
    let response = handle_batch(&r, r.port(), batch_of(&[body])).await;
    assert!(failed_ids(&response).is_empty());
    assert!(is_denied(&r, "dev1"));
}

#[tokio::test]
async fn when_it_cannot_be_deferred_a_failed_message_fails_with_every_later_one() {
    let r = revoker();
    r.port().fail("facts", throttled(), 1);
    r.port().fail("defer", throttled(), 1);
    let bodies = [
        fixture("09-root.json"),
        fixture("01-iam-user-create-user.json"),
        fixture("12-admin-create-user.json"),
        "garbage".to_owned(),
    ];
    let response = handle_batch(&r, r.port(), batch_of(&bodies)).await;
    assert_eq!(failed_ids(&response), ["m1", "m2", "m3"]);
    // Nothing after the failure was processed, not even the malformed body.
    assert!(r.port().lock().dead_letters.is_empty());
    assert!(is_untouched(&r, "dev1"));

    // SQS redelivers m1..m3: now they go through.
    let response = handle_batch(&r, r.port(), batch_of(&bodies[1..])).await;
    assert!(failed_ids(&response).is_empty());
    assert!(is_denied(&r, "dev1"));
}

#[tokio::test]
async fn on_its_last_delivery_a_failing_message_is_dead_lettered_with_its_reason_not_redriven_without_one(
) {
    let r = revoker();
    let bodies = [fixture("01-iam-user-create-user.json")];
    for (receives, standard) in [(4, true), (5, true), (5, false)] {
        r.port().fail("facts", throttled(), 1);
        let mut batch = batch_of(&bodies);
        batch.records[0]
            .attributes
            .insert("ApproximateReceiveCount".into(), receives.to_string());
        if standard {
            batch.records[0].event_source_arn =
                Some("arn:aws:sqs:us-east-1:123456789012:iam-warden-deferrals".into());
        }
        let response = handle_batch(&r, r.port(), batch).await;
        if receives < revoker::handler::MAX_RECEIVES {
            // Deferred, its failed deliveries carried (4: back in 30 s × 2³).
            assert!(failed_ids(&response).is_empty());
            let deferred = std::mem::take(&mut r.port().lock().deferred);
            assert_eq!(deferred.len(), 1);
            assert_eq!((deferred[0].1.as_secs(), deferred[0].2), (240, 4));
            assert!(r.port().lock().dead_letters.is_empty());
            continue;
        }
        assert!(failed_ids(&response).is_empty());
        let dead = r.port().lock().dead_letters.clone();
        let last = dead.last().unwrap();
        assert!(
            last.1.contains("still failing after 5 deliveries"),
            "{}",
            last.1
        );
        assert!(last.1.contains("Throttling"), "{}", last.1);
    }
    // Dead-lettered twice (two messages), notified once: the failure's record remembers it.
    assert_eq!(r.port().lock().dead_letters.len(), 2);
    let failures = failure_notices(&r);
    assert_eq!(failures, 1);
    assert!(r.port().lock().deferred.is_empty());
}

#[tokio::test]
async fn a_dead_letter_queue_failure_keeps_the_message_for_a_retry() {
    let r = revoker();
    r.port().fail(
        "dead_letter",
        PortError::Transient {
            operation: "SendMessage",
            message: "503".into(),
        },
        1,
    );
    let response = handle_batch(
        &r,
        r.port(),
        batch_of(&["{".to_owned(), fixture("09-root.json")]),
    )
    .await;
    assert_eq!(failed_ids(&response), ["m0", "m1"]);
}

#[tokio::test]
async fn group_membership_is_looked_up_once_per_principal_per_invocation() {
    let r = revoker();
    let bodies = [
        fixture("12-admin-create-user.json"),
        fixture("12-admin-create-user.json"),
        fixture("01-iam-user-create-user.json"),
        fixture("02-iam-user-duplicate-attach-policy.json"),
    ];
    let response = handle_batch(&r, r.port(), batch_of(&bodies)).await;
    assert!(failed_ids(&response).is_empty());
    let lookups = r
        .port()
        .lock()
        .calls
        .iter()
        .filter(|c| **c == "facts")
        .count();
    assert_eq!(lookups, 2);
    // dev1's revocation; its AttachUserPolicy's containment found `backdoor` gone: no
    // notice of its own.
    assert_eq!(r.port().notices().len(), 1);
    let trust_reads = r
        .port()
        .lock()
        .calls
        .iter()
        .filter(|c| **c == "trust_set")
        .count();
    assert_eq!(
        trust_reads, 1,
        "the trust ledger is read once per invocation"
    );
}

#[tokio::test]
async fn a_deferred_event_goes_to_the_deferral_queue_and_the_batch_goes_on() {
    let r = revoker();
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .groups
        .insert("Administrators".into());
    // dev1's call of a minute ago: unverified, its grant may still arrive.
    let time = (chrono::Utc::now() - chrono::TimeDelta::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let fresh = fixture("01-iam-user-create-user.json").replace("2026-11-20T09:15:01Z", &time);
    assert_ne!(fresh, fixture("01-iam-user-create-user.json"));
    let bodies = [
        fresh.clone(),
        fixture("02-iam-user-duplicate-attach-policy.json"),
    ];
    let response = handle_batch(&r, r.port(), batch_of(&bodies)).await;
    assert!(failed_ids(&response).is_empty());
    let deferred = r.port().lock().deferred.clone();
    assert_eq!(deferred.len(), 1);
    assert_eq!(deferred[0].0, fresh);
    assert!(deferred[0].1.as_secs() > 800, "{:?}", deferred[0].1);
    assert_eq!(deferred[0].2, 0, "decided: no delivery failed");
    // Decided (deferred) on its third receive from the deferral queue, after two failed
    // back to it, and carrying two more: four failed deliveries carried on.
    r.port().lock().deferred.clear();
    let mut again = from_deferral_queue(&[(fresh.clone(), std::time::Duration::ZERO, 2)]);
    again.records[0]
        .attributes
        .insert("ApproximateReceiveCount".into(), "3".into());
    let response = handle_batch(&r, r.port(), again).await;
    assert!(failed_ids(&response).is_empty());
    let deferred = r.port().lock().deferred.clone();
    assert_eq!((deferred.len(), deferred[0].2), (1, 4), "{deferred:?}");

    // A deferral queue that fails: the message is retried, and the later ones wait.
    let r = revoker();
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .groups
        .insert("Administrators".into());
    r.port().fail(
        "defer",
        PortError::Transient {
            operation: "SendMessage",
            message: "503".into(),
        },
        1,
    );
    let response = handle_batch(&r, r.port(), batch_of(&bodies)).await;
    assert_eq!(failed_ids(&response), ["m0", "m1"]);
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_at_once_notified_once_and_the_batch_goes_on() {
    let r = revoker();
    // An SCP or a boundary on the tool's role: AccessDenied on dev1's attach, for good.
    let denied = PortError::Failed {
        operation: "AttachUserPolicy",
        message: "AccessDenied: User is not authorized to perform iam:AttachUserPolicy with an explicit deny in a service control policy".into(),
    };
    r.port().fail("attach_policy", denied.clone(), 1);
    let bodies = [
        fixture("01-iam-user-create-user.json"),
        fixture("03-failed-call-access-denied.json"),
    ];
    let response = handle_batch(&r, r.port(), batch_of(&bodies)).await;
    assert!(
        failed_ids(&response).is_empty(),
        "nothing left to hold up the group"
    );
    let dead = r.port().lock().dead_letters.clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].2, "m0");
    assert!(dead[0].1.contains("AccessDenied"), "{}", dead[0].1);
    // The next event of the batch was decided in the same invocation.
    assert!(is_denied(&r, "dev2"));
    let notices = r.port().notices();
    let failures: Vec<_> = notices
        .iter()
        .filter(|n| n.attributes["decision"] == "failed")
        .collect();
    assert_eq!(failures.len(), 1, "{notices:?}");
    assert!(
        failures[0].subject.contains("could not revoke"),
        "{}",
        failures[0].subject
    );

    // The same message again (the dead-letter send had failed): no second notice.
    r.port().fail("attach_policy", denied, 1);
    let response = handle_batch(&r, r.port(), batch_of(&bodies[..1])).await;
    assert!(failed_ids(&response).is_empty());
    let failures = failure_notices(&r);
    assert_eq!(failures, 1);
}

#[tokio::test]
async fn on_the_deferral_queue_a_failed_message_does_not_hold_up_the_others() {
    let r = revoker();
    r.port().fail(
        "facts",
        PortError::Transient {
            operation: "GetUser",
            message: "Throttling".into(),
        },
        1,
    );
    let bodies = [
        fixture("01-iam-user-create-user.json"),
        fixture("03-failed-call-access-denied.json"),
    ];
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            serde_json::json!({"messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:iam-warden-deferred"})
        })
        .collect();
    let event: SqsEvent =
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
    let response = handle_batch(&r, r.port(), event).await;
    assert!(failed_ids(&response).is_empty());
    // Deferred again (not failed back to wait out the visibility timeout), and the next
    // message decided.
    let deferred = r.port().lock().deferred.clone();
    assert_eq!(
        deferred,
        [(bodies[0].clone(), revoker::handler::RETRY_DELAY, 1)]
    );
    assert!(is_denied(&r, "dev2"));
}

/// Central mode over the in-memory ports: each member account its own MemoryAccount,
/// `faulty` failing its look-ups transiently once.
struct MemoryMembers {
    home: MemoryAccount,
    faulty: &'static str,
}

impl warden_core::ports::Members for MemoryMembers {
    type Port = MemoryAccount;
    type Home = MemoryAccount;

    fn home(&self) -> &MemoryAccount {
        &self.home
    }

    async fn open(
        &self,
        account: &str,
        _config: &warden_core::config::Config,
    ) -> Result<(MemoryAccount, warden_core::config::Environment), warden_core::ports::Unreachable>
    {
        let port = MemoryAccount::new()
            .with_user("alice", &["Administrators"], &[])
            .with_user("dev1", &[], &[]);
        if account == self.faulty {
            port.fail(
                "facts",
                PortError::Transient {
                    operation: "ListGroupsForUser",
                    message: "Throttling".into(),
                },
                1,
            );
        }
        let env = warden_core::config::Environment {
            account_id: account.to_owned(),
            caller_arn: format!("arn:aws:sts::{account}:assumed-role/iam-warden-member/iam-warden"),
            ..environment()
        };
        Ok((port, env))
    }
}

/// The sample CreateUser by dev1, made in `account`.
fn create_user_in(account: &str) -> String {
    fixture("01-iam-user-create-user.json").replace("123456789012", account)
}

#[tokio::test]
async fn central_mode_a_failure_in_one_account_holds_only_that_accounts_later_events() {
    let (a, b) = ("111111111111", "222222222222");
    let config = config(&[
        (
            "DEAD_LETTER_QUEUE_URL",
            "http://localhost/123456789012/dlq.fifo",
        ),
        ("MEMBER_ROLE_NAME", "iam-warden-member"),
    ]);
    let fleet = warden_core::revoker::Fleet::new(
        MemoryMembers {
            home: MemoryAccount::new(),
            faulty: a,
        },
        config,
    );
    let bodies = [
        create_user_in(a),
        create_user_in(b),
        create_user_in(a).replace("\"eventID\": \"", "\"eventID\": \"again-"),
        fixture("12-admin-create-user.json").replace("123456789012", b),
    ];
    // The deferral queue unreachable too: a's lane holds.
    fleet.members().home().fail("defer", throttled(), 1);
    let response = handle_batch(&fleet, fleet.members().home(), batch_of(&bodies)).await;
    // a's first event failed (throttled) and holds a's later one; b's two went through.
    assert_eq!(failed_ids(&response), ["m0", "m2"]);
    let in_b = warden_core::revoker::Lanes::revoker(&fleet, b)
        .await
        .ok()
        .unwrap();
    assert!(in_b
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .contains(&DENY.replace("123456789012", b)));
    let in_a = warden_core::revoker::Lanes::revoker(&fleet, a)
        .await
        .ok()
        .unwrap();
    assert!(in_a
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .is_empty());
    // Redelivered, a's events go through, in a's account.
    let response = handle_batch(
        &fleet,
        fleet.members().home(),
        batch_of(&[bodies[0].clone(), bodies[2].clone()]),
    )
    .await;
    assert!(failed_ids(&response).is_empty());
    assert!(in_a
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .contains(&DENY.replace("123456789012", a)));
}

#[tokio::test]
async fn messages_not_started_before_the_deadline_are_deferred_not_timed_out() {
    let r = revoker();
    let bodies = [
        fixture("01-iam-user-create-user.json"),
        fixture("12-admin-create-user.json"),
    ];
    // Less than BUDGET_MARGIN left: nothing is started; the FIFO queue's are deferred.
    let soon = std::time::SystemTime::now() + revoker::handler::BUDGET_MARGIN / 2;
    let response =
        revoker::handler::handle_batch_until(&r, r.port(), batch_of(&bodies), Some(soon)).await;
    assert!(failed_ids(&response).is_empty());
    let deferred = r.port().lock().deferred.clone();
    assert_eq!(deferred_bodies(&deferred), bodies);
    assert!(
        deferred
            .iter()
            .all(|(_, delay, n)| delay.is_zero() && *n == 1),
        "back at once, the delivery counted: {deferred:?}"
    );
    assert!(is_untouched(&r, "dev1"));
    // On the deferral queue, too late to start: deferred again (not failed back to wait
    // out the visibility timeout), each delivery not carried out counted, and backed off
    // after the first; on the seventh, dead-lettered with its reason and notified.
    let carried: Vec<_> = bodies
        .iter()
        .chain(&bodies[..1])
        .zip([0, 3, 6])
        .map(|(b, n)| (b.clone(), std::time::Duration::ZERO, n))
        .collect();
    r.port().lock().deferred.clear();
    let again = from_deferral_queue(&carried);
    let response = revoker::handler::handle_batch_until(&r, r.port(), again, Some(soon)).await;
    assert!(failed_ids(&response).is_empty());
    let secs = std::time::Duration::from_secs;
    assert_eq!(
        r.port().lock().deferred,
        [
            (bodies[0].clone(), secs(0), 1),
            (bodies[1].clone(), secs(120), 4)
        ]
    );
    let dead = r.port().lock().dead_letters.clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].0.as_str(), dead[0].2.as_str()),
        (bodies[0].as_str(), "d2")
    );
    assert!(
        dead[0].1.contains("not carried out after 7 deliveries"),
        "{}",
        dead[0].1
    );
    assert_eq!(failure_notices(&r), 1);
    let carried = &carried[..2];
    // The deferral queue failing too: failed for SQS's retry.
    r.port().fail("defer", throttled(), 2);
    let again = from_deferral_queue(carried);
    let response = revoker::handler::handle_batch_until(&r, r.port(), again, Some(soon)).await;
    assert_eq!(failed_ids(&response), ["d0", "d1"]);
    // With time left: decided.
    let later = std::time::SystemTime::now() + revoker::handler::BUDGET_MARGIN * 2;
    let response =
        revoker::handler::handle_batch_until(&r, r.port(), batch_of(&bodies), Some(later)).await;
    assert!(failed_ids(&response).is_empty());
    assert!(is_denied(&r, "dev1"));
}

#[tokio::test]
async fn a_batch_reports_its_decisions_and_their_lags_for_one_emf_line() {
    let r = revoker();
    let bodies = [
        fixture("01-iam-user-create-user.json"),
        fixture("12-admin-create-user.json"),
        fixture("04-read-only-list-users.json"),
    ];
    let mut batch = batch_of(&bodies);
    let sent = chrono::Utc::now() - chrono::Duration::seconds(2);
    batch.records[0]
        .attributes
        .insert("SentTimestamp".into(), sent.timestamp_millis().to_string());
    let report = revoker::handler::handle(&r, r.port(), batch).await;
    let line = report.metrics.emf(chrono::Utc::now()).unwrap();
    assert_eq!(line["Decided"], 3, "{line}");
    assert_eq!(line["Revoked"], 1, "{line}");
    assert_eq!(line["Exempt"], 1, "{line}");
    assert_eq!(line["Ignored"], 1, "{line}");
    // From the sample's eventTime (2026-11) and from the message's arrival (2 s ago).
    let lags = line["LagSeconds"].as_array().unwrap();
    assert_eq!(lags.len(), 3);
    assert!(lags.iter().all(|l| l.as_f64().unwrap() > 3600.0), "{line}");
    let handling = line["HandlingSeconds"].as_array().unwrap();
    assert_eq!(handling.len(), 1, "{line}");
    assert!(
        (2.0..60.0).contains(&handling[0].as_f64().unwrap()),
        "{line}"
    );
}

/// dev1's CreateUser (events/01) as `user`'s, with its own event id.
fn create_user_by(user: &str, n: u32) -> String {
    fixture("01-iam-user-create-user.json")
        .replace("dev1", user)
        .replace("DEV1", &user.to_uppercase())
        .replace(
            "7c1e4a3b-0000-4000-8000-000000000001",
            &format!("7c1e4a3b-0000-4000-8000-{n:012}"),
        )
}

#[tokio::test]
async fn a_batchs_denies_are_all_in_place_before_its_first_notice() {
    let r = revoker();
    let bodies = [
        fixture("01-iam-user-create-user.json"),
        fixture("12-admin-create-user.json"),
        create_user_by("dev2", 901),
    ];
    let response = handle_batch(&r, r.port(), batch_of(&bodies)).await;
    assert!(failed_ids(&response).is_empty());
    assert!(is_denied(&r, "dev1") && is_denied(&r, "dev2"));
    let calls = r.port().lock().calls.clone();
    let first_notice = calls.iter().position(|c| *c == "publish").unwrap();
    let denies: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == "record_revocation")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(denies.len(), 2, "{calls:?}");
    assert!(denies.iter().all(|i| *i < first_notice), "{calls:?}");
    assert_eq!(r.port().notices().len(), 2);
}

/// Central mode with every member account out of reach for now (STS throttling).
struct OutOfReach(MemoryAccount);

impl warden_core::ports::Members for OutOfReach {
    type Port = MemoryAccount;
    type Home = MemoryAccount;

    fn home(&self) -> &MemoryAccount {
        &self.0
    }

    async fn open(
        &self,
        _account: &str,
        _config: &warden_core::config::Config,
    ) -> Result<(MemoryAccount, warden_core::config::Environment), warden_core::ports::Unreachable>
    {
        Err(warden_core::ports::Unreachable::Transient(throttled()))
    }
}

#[tokio::test]
async fn central_mode_an_account_out_of_reach_for_now_is_deferred_with_backoff_and_on_its_last_delivery_dead_lettered_and_reported(
) {
    let config = config(&[
        (
            "DEAD_LETTER_QUEUE_URL",
            "http://localhost/123456789012/dlq.fifo",
        ),
        ("MEMBER_ROLE_NAME", "iam-warden-member"),
    ]);
    let fleet = warden_core::revoker::Fleet::new(OutOfReach(MemoryAccount::new()), config);
    let home = fleet.members().home();
    let body = create_user_in("111111111111");
    // Not failed back: the FIFO group goes on, the event comes back in 30 s.
    let response = handle_batch(&fleet, home, batch_of(std::slice::from_ref(&body))).await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(
        std::mem::take(&mut home.lock().deferred),
        [(body.clone(), revoker::handler::RETRY_DELAY, 1)]
    );
    assert!(home.lock().dead_letters.is_empty());
    // Its seventh delivery: dead-lettered with the reason, and reported.
    let last = from_deferral_queue(&[(body.clone(), std::time::Duration::ZERO, 6)]);
    let response = handle_batch(&fleet, home, last).await;
    assert!(failed_ids(&response).is_empty());
    assert!(home.lock().deferred.is_empty());
    let dead = home.lock().dead_letters.clone();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .1
            .contains("111111111111 still unreachable after 7 deliveries")
            && dead[0].1.contains("Throttling"),
        "{}",
        dead[0].1
    );
    let notices = home.notices();
    assert!(
        notices
            .iter()
            .any(|n| n.body.contains("still unreachable after 7 deliveries")),
        "{notices:?}"
    );
}
