#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Invariant 10: every real CloudTrail record of shared/corpus parses and is decided.

use warden_core::config::Config;
use warden_core::config::Environment;
use warden_core::decision::{decide, Decision, Step};
use warden_core::event::parse_file;
use warden_core::facts::{CallerFacts, Facts};

#[test]
fn every_corpus_record_parses_and_gets_a_decision() {
    let path = format!(
        "{}/../../../shared/corpus/stratus-red-team-cloudtrail.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let events = parse_file(&bytes).unwrap();
    assert_eq!(events.len(), 316);
    let config = Config::from_lookup(|k| {
        (k == "DENY_POLICY_ARN").then(|| "arn:aws:iam::1:policy/iam-warden/d".to_owned())
    })
    .unwrap();

    let mut iam_decisions = Vec::new();
    let mut tampering: Vec<String> = Vec::new();
    for event in &events {
        let event = event.as_ref().expect("every record parses");
        let record = event.record().unwrap();
        // Once as the account the record was made in, so that IAM calls reach the facts.
        let env = Environment {
            account_id: record.recipient_account_id.clone().unwrap_or_default(),
            caller_arn: "arn:aws:sts::000000000000:assumed-role/iam-warden/x".into(),
            user_policy_quota: 10,
            role_policy_quota: 10,
        };
        let verdict = match decide(event, None, &config, &env) {
            Step::Done(v) => v,
            Step::LookUp(_) => match decide(
                event,
                Some(&CallerFacts::Found(Facts::default())),
                &config,
                &env,
            ) {
                Step::Done(v) => v,
                Step::LookUp(t) | Step::Verify(t, _) | Step::Resolve(t, _) => {
                    panic!("asked twice for {t}")
                }
            },
            Step::Verify(t, _) | Step::Resolve(t, _) => {
                panic!("asked to verify {t} before its facts")
            }
        };
        // Whatever the record, reading it for a change of trust never panics.
        let _ = warden_core::grant::grant_of(record, &config);
        if record.event_source.as_deref() == Some("iam.amazonaws.com") {
            iam_decisions.push((
                record.event_name.clone().unwrap_or_default(),
                verdict.decision,
            ));
        } else if warden_core::tamper::pipeline_tampering(record, &config.tool).is_some() {
            // Switching CloudTrail's logging off is an attack on the tool: decided as an
            // IAM write (the detonations' callers are non-admins).
            assert_ne!(
                verdict.decision,
                Decision::Ignored,
                "{:?}",
                record.event_name
            );
            tampering.push(record.event_name.clone().unwrap_or_default());
        } else {
            assert_eq!(
                verdict.decision,
                Decision::Ignored,
                "{:?}",
                record.event_name
            );
        }
    }
    tampering.sort();
    tampering.dedup();
    assert!(
        tampering
            .iter()
            .any(|n| n == "DeleteTrail" || n == "StopLogging"),
        "the corpus's CloudTrail detonations are caught: {tampering:?}"
    );
    assert_eq!(iam_decisions.len(), 10);
    // The IAM writes of the corpus are by non-admin IAM users: each is revoked.
    let revoked = iam_decisions
        .iter()
        .filter(|(_, d)| *d == Decision::Revoked)
        .count();
    assert_eq!(revoked, 10, "{iam_decisions:?}");
}
