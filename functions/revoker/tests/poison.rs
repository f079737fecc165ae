#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Poison messages cannot bring a container down. The release profile aborts on a panic
//! (`panic = "abort"`, README: "A panic is a bug"): one panic would fail the whole batch
//! and, redelivered, every batch the message joins. So no body may panic the handler:
//! generated batches of real events with fields removed, nulled or retyped, any JSON and
//! any text, through the handler with the in-memory ports, batch after batch in one warm
//! revoker. Every message is decided, deferred or dead-lettered with its reason; none is
//! failed for a retry (a retry cannot make a malformed body better).

use aws_lambda_events::event::sqs::SqsEvent;
use proptest::prelude::*;
use serde_json::{json, Value};
use warden_core::revoker::Revoker;
use warden_core::testing::{config, environment, sample_text, MemoryAccount, SAMPLE_EVENTS};

use revoker::handler::handle;

fn revoker() -> Revoker<MemoryAccount> {
    let config = config(&[
        (
            "DEAD_LETTER_QUEUE_URL",
            "http://localhost/123456789012/dlq.fifo",
        ),
        (
            "DEFERRAL_QUEUE_URL",
            "http://localhost/123456789012/deferrals",
        ),
        ("CONTAIN", "all"),
        ("ROLE_MODE", "session"),
    ]);
    let account = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("dev1", &[], &[])
        .with_user("dev2", &[], &[])
        .with_baseline();
    Revoker::new(account, config, environment())
}

/// A sample event with up to three of its nodes removed, nulled or retyped.
fn mutated_sample() -> impl Strategy<Value = String> {
    (
        prop::sample::select(SAMPLE_EVENTS),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..5), 0..4),
    )
        .prop_map(|(name, mutations)| {
            let mut value: Value = serde_json::from_str(&sample_text(name)).unwrap();
            for (at, kind) in mutations {
                let mut paths = Vec::new();
                collect_paths(&value, &mut Vec::new(), &mut paths);
                if paths.is_empty() {
                    break;
                }
                let path: &Vec<String> = at.get(&paths);
                let replacement = match kind {
                    0 => None,
                    1 => Some(Value::Null),
                    2 => Some(json!(7)),
                    3 => Some(json!(["x"])),
                    _ => Some(json!({"x": true})),
                };
                set(&mut value, path, replacement);
            }
            value.to_string()
        })
}

fn collect_paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            prefix.push(k.clone());
            out.push(prefix.clone());
            collect_paths(v, prefix, out);
            prefix.pop();
        }
    }
}

/// Sets (or, with `None`, removes) the node at an object path.
fn set(value: &mut Value, path: &[String], replacement: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = value;
    for k in parents {
        node = &mut node[k.as_str()];
    }
    if let Value::Object(map) = node {
        match replacement {
            None => {
                map.remove(last);
            }
            Some(v) => {
                map.insert(last.clone(), v);
            }
        }
    }
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => mutated_sample(),
        1 => ".{0,40}",
        1 => prop::collection::btree_map("[a-z-]{1,12}", prop_oneof![Just(json!("AWS API Call via CloudTrail")), Just(json!(null)), Just(json!({})), Just(json!([1]))], 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect()).to_string()),
    ]
}

fn batch_of(bodies: &[String], from: usize) -> SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m{}", from + i), "body": b, "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events.fifo"}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_batch_of_poison_messages_panics_and_each_message_is_accounted_for(
        batches in prop::collection::vec(prop::collection::vec(body(), 1..=10), 1..4),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let r = revoker();
        let mut sent = 0usize;
        let mut decided = 0usize;
        for bodies in &batches {
            let report = runtime.block_on(handle(&r, r.port(), batch_of(bodies, sent)));
            sent += bodies.len();
            prop_assert!(
                report.response.batch_item_failures.is_empty(),
                "a body failed for a retry: {:?}",
                report.response.batch_item_failures
            );
            decided += report.outcomes.len();
            for outcome in &report.outcomes {
                prop_assert!(!outcome.reason.is_empty(), "{outcome:?}");
            }
        }
        let (dead, deferred) = {
            let state = r.port().lock();
            (state.dead_letters.clone(), state.deferred.len())
        };
        for (_, reason, _) in &dead {
            prop_assert!(!reason.trim().is_empty(), "dead-lettered without a reason");
        }
        // Each message once: decided (a deferred one is also an outcome), or dead-lettered.
        prop_assert!(deferred <= decided);
        prop_assert_eq!(decided + dead.len(), sent, "decided {} + dead-lettered {} of {}", decided, dead.len(), sent);
    }
}
