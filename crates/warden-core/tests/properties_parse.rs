#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Generated inputs for the event parser: any JSON value, any text, and every real
//! record (shared/corpus and events/) with fields removed, nulled or retyped. The parser
//! never panics: it answers an event or a clear error; and every event it answers is
//! decided (the table, the containment plan and the trust reading never panic on it).

use proptest::prelude::*;
use serde_json::{json, Value};
use warden_core::config::{Config, Environment};
use warden_core::containment::Known;
use warden_core::decision::{decide, Step, Verdict};
use warden_core::event::{parse_eventbridge, parse_file, Event, ParseError};
use warden_core::facts::{CallerFacts, Facts};
use warden_core::testing::{config, environment};

/// Any JSON value, nested a few levels, with the keys the parser looks for among others.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("detail-type".to_owned()),
        Just("detail".to_owned()),
        Just("Records".to_owned()),
        Just("body".to_owned()),
        Just("eventName".to_owned()),
        Just("eventSource".to_owned()),
        Just("userIdentity".to_owned()),
        "[a-zA-Z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!("AWS API Call via CloudTrail")),
        Just(json!("iam.amazonaws.com")),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Decides like the revoker does, with facts that hold nothing: never panics, always
/// ends (at most a look-up, a verification and a resolution).
fn decided(event: &Event, config: &Config, env: &Environment) -> Verdict {
    let mut facts: Option<CallerFacts> = None;
    for _ in 0..4 {
        match decide(event, facts.as_ref(), config, env) {
            Step::Done(verdict) => return verdict,
            Step::LookUp(_) => facts = Some(CallerFacts::Found(Facts::default())),
            Step::Verify(_, _) | Step::Resolve(_, _) => facts = Some(CallerFacts::Vanished),
        }
    }
    panic!("no decision after four steps: {event:?}")
}

/// Everything the revoker reads off an event, on one event: the decision, the
/// containment plan, a change of trust.
fn read_all(event: &Event) {
    let config = config(&[("ROLE_MODE", "session"), ("CONTAIN", "all")]);
    let env = environment();
    let verdict = decided(event, &config, &env);
    assert!(
        !verdict.reason.is_empty(),
        "a verdict says why: {verdict:?}"
    );
    if let Some(record) = event.record() {
        let _ = warden_core::containment_plan::need(record, &config);
        let plan = warden_core::containment_plan::plan(
            record,
            &Known::default(),
            &config,
            chrono::Utc::now(),
        );
        assert!(!plan.what.is_empty());
        let _ = warden_core::grant::grant_of(record, &config);
        let _ = warden_core::principal::Principal::classify(record).display();
    }
}

fn clear(error: &ParseError) {
    assert!(!error.to_string().trim().is_empty(), "{error:?}");
}

/// The real records: the corpus (a CloudTrail log file) and the sample events, each as
/// the EventBridge event the queue carries.
fn real_records() -> Vec<Value> {
    let corpus = format!(
        "{}/../../../shared/corpus/stratus-red-team-cloudtrail.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&corpus).unwrap_or_else(|e| panic!("{corpus}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap();
    let mut out: Vec<Value> = file["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            json!({
                "version": "0",
                "id": "c0ffee00-0000-4000-8000-000000000000",
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.iam",
                "account": record["recipientAccountId"].clone(),
                "time": record["eventTime"].clone(),
                "region": "us-east-1",
                "resources": [],
                "detail": record,
            })
        })
        .collect();
    let events = format!("{}/../../events", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&events)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    for path in names {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        match value.get("Records").and_then(Value::as_array) {
            // The SQS batch sample: its bodies that are JSON (one is malformed on purpose).
            Some(records) => out.extend(
                records
                    .iter()
                    .filter_map(|r| r["body"].as_str())
                    .filter_map(|b| serde_json::from_str::<Value>(b).ok()),
            ),
            None => out.push(value),
        }
    }
    assert!(out.len() > 316, "the corpus and the samples: {}", out.len());
    out
}

/// Every node of a value, by its path of keys and indexes.
#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn paths(value: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(PathStep::Key(k.clone()));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// What a mutation does to the node at a path.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    Remove,
    Null,
    /// Another type: a number, a boolean, a string, an array, an object (by `n % 5`).
    Retype(u8),
}

fn retyped(old: &Value, n: u8) -> Value {
    let candidates = [
        json!(7),
        json!(true),
        json!("7"),
        json!([old.clone()]),
        json!({ "value": old.clone() }),
    ];
    candidates[usize::from(n) % candidates.len()].clone()
}

fn mutate(value: &mut Value, path: &[PathStep], mutation: Mutation) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut parent = value;
    for step in parent_path {
        parent = match (step, parent) {
            (PathStep::Key(k), Value::Object(m)) => m.get_mut(k).unwrap(),
            (PathStep::Index(i), Value::Array(a)) => &mut a[*i],
            _ => return,
        };
    }
    match (last, parent, mutation) {
        (PathStep::Key(k), Value::Object(m), Mutation::Remove) => {
            m.remove(k);
        }
        (PathStep::Index(i), Value::Array(a), Mutation::Remove) => {
            a.remove(*i);
        }
        (PathStep::Key(k), Value::Object(m), Mutation::Null) => {
            m.insert(k.clone(), Value::Null);
        }
        (PathStep::Index(i), Value::Array(a), Mutation::Null) => a[*i] = Value::Null,
        (PathStep::Key(k), Value::Object(m), Mutation::Retype(n)) => {
            let new = retyped(&m[k], n);
            m.insert(k.clone(), new);
        }
        (PathStep::Index(i), Value::Array(a), Mutation::Retype(n)) => a[*i] = retyped(&a[*i], n),
        _ => {}
    }
}

/// Parses a body; an event is decided, an error is clear. Returns whether it parsed.
fn parse_and_decide(body: &str) -> bool {
    match parse_eventbridge(body) {
        Ok(event) => {
            read_all(&event);
            true
        }
        Err(e) => {
            clear(&e);
            false
        }
    }
}

/// Every real record, each of its fields removed, nulled and retyped in turn: every
/// mutation parses to an event that is decided, or is a clear error.
#[test]
fn every_real_record_with_any_one_field_removed_nulled_or_retyped_is_decided_or_refused() {
    let (mut parsed, mut refused) = (0usize, 0usize);
    for (n, record) in real_records().iter().enumerate() {
        let mut all = Vec::new();
        paths(record, &mut Vec::new(), &mut all);
        for (i, path) in all.iter().enumerate() {
            // Every path removed and nulled; retyped to each type in turn across paths.
            let retype = Mutation::Retype(u8::try_from((n + i) % 5).unwrap());
            for mutation in [Mutation::Remove, Mutation::Null, retype] {
                let mut mutated = record.clone();
                mutate(&mut mutated, path, mutation);
                if parse_and_decide(&mutated.to_string()) {
                    parsed += 1;
                } else {
                    refused += 1;
                }
            }
        }
    }
    // Both happen: a removed optional field still parses; a retyped `eventName` is refused.
    assert!(
        parsed > 10_000 && refused > 1_000,
        "{parsed} parsed, {refused} refused"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // The seed is PROPTEST_RNG_SEED (scripts/test.sh fixes it); a failure prints its
        // minimal input, which a test of its own then keeps.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any JSON value as an SQS body: an event (then decided) or a clear error.
    #[test]
    fn any_json_value_is_an_event_or_a_clear_error(value in any_json()) {
        parse_and_decide(&value.to_string());
        // As a file for `warden replay`, each item on its own.
        if let Ok(items) = parse_file(value.to_string().as_bytes()) {
            for item in items {
                match item {
                    Ok(event) => read_all(&event),
                    Err(e) => clear(&e),
                }
            }
        }
    }

    /// Any text, JSON or not.
    #[test]
    fn any_text_is_an_event_or_a_clear_error(text in ".{0,64}") {
        parse_and_decide(&text);
    }

    /// A CloudTrail event whose `detail` is any value.
    #[test]
    fn any_detail_is_an_event_or_a_clear_error(detail in any_json()) {
        let body = json!({"detail-type": "AWS API Call via CloudTrail", "detail": detail});
        parse_and_decide(&body.to_string());
    }

    /// Real records with up to four fields removed, nulled or retyped at once.
    #[test]
    fn real_records_with_several_fields_mutated_are_decided_or_refused(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), 0u8..7), 1..5),
    ) {
        let records = REAL.with(Clone::clone);
        let mut record = pick.get(records.as_slice()).clone();
        for (at, kind) in mutations {
            let mut all = Vec::new();
            paths(&record, &mut Vec::new(), &mut all);
            if all.is_empty() {
                break;
            }
            let mutation = match kind {
                0 => Mutation::Remove,
                1 => Mutation::Null,
                n => Mutation::Retype(n - 2),
            };
            let path: &Vec<PathStep> = at.get(&all);
            mutate(&mut record, path, mutation);
        }
        parse_and_decide(&record.to_string());
    }
}

thread_local! {
    static REAL: std::rc::Rc<Vec<Value>> = std::rc::Rc::new(real_records());
}
