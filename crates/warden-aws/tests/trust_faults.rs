#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! SDK-level faults on the trust ledger and action records (DynamoDB), CloudTrail's
//! LookupEvents and the deferral queue, with aws-smithy-mocks on the real clients:
//! throttling and 5xx are retried, and what still fails is transient, never a decision
//! (an unreadable trust ledger never reads as "nobody is trusted", nor a failed look-up
//! as "no grant").

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use warden_aws::AwsAccount;
use warden_core::ports::{ActionRecords, Deferrals, PortError, Trail, TrustLedger};
use warden_core::trust::{LedgerChange, TrustSet};

const DDB_THROTTLING: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
const CT_THROTTLING: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
const CONDITIONAL: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#;
const MAX: usize = warden_aws::MAX_ATTEMPTS as usize;

fn partition() -> aws_smithy_runtime::client::retries::RetryPartition {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    aws_smithy_runtime::client::retries::RetryPartition::new(format!("trust-faults-{n}"))
}

fn retry() -> aws_config::retry::RetryConfig {
    warden_aws::retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

macro_rules! unused {
    ($krate:ident) => {
        $krate::Client::from_conf($krate::Config::builder().with_test_defaults_v2().build())
    };
}

fn with(
    ddb: Option<aws_sdk_dynamodb::Client>,
    trail: Option<aws_sdk_cloudtrail::Client>,
    sqs: Option<aws_sdk_sqs::Client>,
) -> AwsAccount {
    AwsAccount::from_clients(
        unused!(aws_sdk_iam),
        unused!(aws_sdk_sns),
        sqs.unwrap_or_else(|| unused!(aws_sdk_sqs)),
        unused!(aws_sdk_sts),
        None,
        None,
    )
    .with_ledger(
        ddb.unwrap_or_else(|| unused!(aws_sdk_dynamodb)),
        "iam-warden-ledger",
    )
    .with_trail(trail.unwrap_or_else(|| unused!(aws_sdk_cloudtrail)))
    .with_deferrals(Some(
        "https://sqs.us-east-1.amazonaws.com/123456789012/iam-warden-deferred".into(),
    ))
}

fn ddb(rules: &[&Rule]) -> AwsAccount {
    with(
        Some(mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            rules,
            |c| c
                .retry_config(retry())
                .time_source(SystemTimeSource::new())
                .retry_partition(partition())
        )),
        None,
        None,
    )
}

#[tokio::test]
async fn the_trust_ledger_read_is_retried_and_a_lasting_failure_is_transient_never_empty() {
    let item = || {
        aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
            .item("principal", AttributeValue::S("trust#123456789012".into()))
            .item("entries", AttributeValue::M(Default::default()))
            .build()
    };
    let rule = mock!(aws_sdk_dynamodb::Client::get_item)
        .sequence()
        .http_status(400, Some(DDB_THROTTLING.into()))
        .times(2)
        .output(item)
        .build();
    let a = ddb(&[&rule]);
    let set = a.trust_set("123456789012").await.unwrap();
    assert_eq!(set.map(|s| s.entries.len()), Some(0));
    assert_eq!(rule.num_calls(), 3);

    let rule = mock!(aws_sdk_dynamodb::Client::get_item)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let a = ddb(&[&rule]);
    let err = a.trust_set("123456789012").await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(rule.num_calls(), MAX);
}

#[tokio::test]
async fn trust_changes_and_action_records_are_retried_and_transient_on_lasting_5xx() {
    let ok = || aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build();
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(ok)
        .build();
    let a = ddb(&[&rule]);
    let change = [LedgerChange::Remove("admin:user/alice".into())];
    assert!(a.change_trust("123456789012", &change).await.is_ok());
    assert_eq!(rule.num_calls(), 3);

    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let a = ddb(&[&rule]);
    assert!(a
        .change_trust("123456789012", &change)
        .await
        .unwrap_err()
        .is_transient());
    // The action records: one item per action, one per notice.
    let rule = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let a = ddb(&[&rule]);
    assert!(a
        .mark_notified("123456789012", "user/mallory", "e1")
        .await
        .unwrap_err()
        .is_transient());
    let records = warden_core::action::ActionRecord::records(
        "e1",
        "c",
        &[warden_core::action::Action::DeleteLoginProfile {
            user: "backdoor".into(),
        }],
        warden_core::action::ActionState::Planned,
        chrono::Utc::now(),
        "why",
    );
    assert!(a
        .record_actions("123456789012", "user/mallory", &records)
        .await
        .unwrap_err()
        .is_transient());
}

#[tokio::test]
async fn a_baseline_that_exists_is_not_overwritten() {
    let rule = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .http_status(400, Some(CONDITIONAL.into()))
        .build();
    let a = ddb(&[&rule]);
    let set = TrustSet {
        account: "123456789012".into(),
        ..TrustSet::default()
    };
    assert_eq!(a.put_baseline(&set).await, Ok(false));
    assert_eq!(
        rule.num_calls(),
        1,
        "a conditional failure is an answer, not retried"
    );

    // A change to a ledger without a baseline says what to do.
    let rule = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .http_status(400, Some(CONDITIONAL.into()))
        .build();
    let a = ddb(&[&rule]);
    let err = a
        .change_trust("123456789012", &[LedgerChange::Remove("k".into())])
        .await
        .unwrap_err();
    assert!(
        matches!(err, PortError::Failed { .. }) && err.to_string().contains("warden init"),
        "{err}"
    );
}

#[tokio::test]
async fn cloudtrail_lookup_is_retried_on_throttling_and_transient_on_lasting_5xx() {
    let event = || {
        aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput::builder()
            .events(
                aws_sdk_cloudtrail::types::Event::builder()
                    .event_id("g1")
                    .cloud_trail_event(r#"{"eventName":"AddUserToGroup","eventSource":"iam.amazonaws.com","eventID":"g1","requestParameters":{"groupName":"Administrators","userName":"bob"}}"#)
                    .build(),
            )
            .events(
                // A record this version cannot read is skipped, not an error.
                aws_sdk_cloudtrail::types::Event::builder()
                    .event_id("g2")
                    .cloud_trail_event("not json")
                    .build(),
            )
            .build()
    };
    let trail = |rules: &[&Rule]| {
        with(
            None,
            Some(mock_client!(
                aws_sdk_cloudtrail,
                RuleMode::MatchAny,
                rules,
                |c| c
                    .retry_config(retry())
                    .time_source(SystemTimeSource::new())
                    .retry_partition(partition())
            )),
            None,
        )
    };
    let rule = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .sequence()
        .http_status(400, Some(CT_THROTTLING.into()))
        .times(2)
        .output(event)
        .build();
    let a = trail(&[&rule]);
    let records = a
        .lookup("AddUserToGroup", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].event_id.as_deref(), Some("g1"));
    assert_eq!(rule.num_calls(), 3);

    let rule = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let a = trail(&[&rule]);
    let err = a
        .lookup("AddUserToGroup", chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(
        err.is_transient(),
        "a failed look-up is never 'no grant': {err}"
    );
    assert_eq!(rule.num_calls(), MAX);
}

#[tokio::test]
async fn deferral_is_retried_with_its_delay_and_transient_on_lasting_5xx() {
    let ok = || {
        aws_sdk_sqs::operation::send_message::SendMessageOutput::builder()
            .message_id("m")
            .build()
    };
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|r| {
            r.delay_seconds() == Some(900)
                && r.message_group_id().is_none()
                && r.message_attributes()
                    .and_then(|a| a.get("failed-deliveries"))
                    .is_some_and(|a| a.data_type() == "Number" && a.string_value() == Some("2"))
        })
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(ok)
        .build();
    let queue = |rules: &[&Rule]| {
        with(
            None,
            None,
            Some(mock_client!(aws_sdk_sqs, RuleMode::MatchAny, rules, |c| c
                .retry_config(retry())
                .time_source(SystemTimeSource::new())
                .retry_partition(partition()))),
        )
    };
    let a = queue(&[&rule]);
    // Longer than SQS allows: capped at its 900 seconds (the event comes back and waits
    // again); its two failed deliveries carried with it.
    assert!(a.defer("{}", Duration::from_secs(3000), 2).await.is_ok());
    assert_eq!(rule.num_calls(), 3);

    // Nothing failed: nothing carried.
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|r| r.delay_seconds() == Some(10) && r.message_attributes().is_none())
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let a = queue(&[&rule]);
    assert!(a
        .defer("{}", Duration::from_secs(10), 0)
        .await
        .unwrap_err()
        .is_transient());
}

#[tokio::test]
async fn revocation_records_are_retried_and_a_lasting_failure_is_transient() {
    use warden_core::ports::Revocations;
    let ok = || aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build();
    let rule = mock!(aws_sdk_dynamodb::Client::get_item)
        .sequence()
        .http_status(400, Some(DDB_THROTTLING.into()))
        .times(2)
        .output(ok)
        .build();
    let a = ddb(&[&rule]);
    assert_eq!(a.revocation("123456789012", "AIDA1").await, Ok(None));
    assert_eq!(rule.num_calls(), 3);

    let rule = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let a = ddb(&[&rule]);
    let record = warden_core::revocation::RevocationRecord {
        kind: warden_core::principal::EntityKind::User,
        name: "dev1".into(),
        unique_id: Some("AIDA1".into()),
        event_id: "e1".into(),
        event_name: "CreateUser".into(),
        at: chrono::Utc::now(),
        method: warden_core::revocation::Method::Managed,
        previous_boundary: None,
        notified: false,
        session: None,
        source: None,
        source_user: None,
    };
    let err = a
        .record_revocation("123456789012", "AIDA1", &record)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(rule.num_calls(), MAX);
}

/// A revocation recorded before (a retry, or one not yet restored): the conditional
/// put fails, is not retried, and the first record stands, read back.
#[tokio::test]
async fn a_revocation_recorded_before_keeps_its_first_record() {
    use warden_core::ports::Revocations;
    let first = warden_core::revocation::RevocationRecord {
        kind: warden_core::principal::EntityKind::User,
        name: "dev1".into(),
        unique_id: Some("AIDA1".into()),
        event_id: "e1".into(),
        event_name: "CreateUser".into(),
        at: chrono::Utc::now(),
        method: warden_core::revocation::Method::Inline,
        previous_boundary: None,
        notified: true,
        session: None,
        source: None,
        source_user: None,
    };
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .http_status(400, Some(CONDITIONAL.into()))
        .build();
    let text = serde_json::to_string(&first).unwrap();
    let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
        aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
            .item(
                "record",
                aws_sdk_dynamodb::types::AttributeValue::S(text.clone()),
            )
            .item(
                "notified",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            )
            .build()
    });
    let a = ddb(&[&put, &get]);
    let again = warden_core::revocation::RevocationRecord {
        event_id: "e2".into(),
        method: warden_core::revocation::Method::Managed,
        notified: false,
        session: None,
        source: None,
        source_user: None,
        ..first.clone()
    };
    assert_eq!(
        a.record_revocation("123456789012", "AIDA1", &again).await,
        Ok(Some(first))
    );
    assert_eq!(
        put.num_calls(),
        1,
        "a conditional failure is an answer, not retried"
    );
    assert_eq!(get.num_calls(), 1);
}

/// The claim on a notice went through and its answer was lost (a reset, a timed-out
/// attempt): the SDK's retry meets the claim already there. It is this invocation's own
/// (its token), so the notice goes out now, not after the claim's lease of 2 minutes
/// (found through the fault proxy: `tests/it/faults.rs`). Another invocation's claim
/// still holds.
#[tokio::test]
async fn a_notice_claim_whose_answer_was_lost_is_recognised_as_its_own() {
    use std::sync::{Arc, Mutex};
    use warden_core::ports::Claim;
    for (ours, expected) in [(true, Claim::Mine), (false, Claim::Held)] {
        let token: Arc<Mutex<String>> = Arc::default();
        let seen = token.clone();
        let put = mock!(aws_sdk_dynamodb::Client::put_item)
            .match_requests(move |r| {
                let claim = r
                    .item()
                    .and_then(|i| i.get("claim"))
                    .and_then(|v| v.as_s().ok());
                *seen.lock().unwrap() = claim.cloned().unwrap_or_default();
                true
            })
            .sequence()
            .http_status(400, Some(CONDITIONAL.into()))
            .build();
        let held = token.clone();
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
            let claim = if ours {
                held.lock().unwrap().clone()
            } else {
                "another".into()
            };
            aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                .item("state", AttributeValue::S("sending".into()))
                .item("claim", AttributeValue::S(claim))
                .build()
        });
        let a = ddb(&[&put, &get]);
        let claim = a
            .claim_notice(
                "123456789012",
                "user/mallory",
                "e1",
                Duration::from_secs(120),
            )
            .await
            .unwrap();
        assert_eq!(claim, expected);
        assert_eq!(token.lock().unwrap().len(), 32, "a 128-bit token");
    }
}
