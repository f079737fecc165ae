//! The fixtures the tests of several crates share: the sample account's configuration,
//! its environment and the events of `events/`.
#![allow(clippy::expect_used)] // test support: a broken fixture should stop the test loudly

use crate::config::Config;
use crate::config::Environment;
use crate::event::{parse_eventbridge, Event};

/// The deny policy of the sample account (`123456789012`).
pub const DENY_POLICY_ARN: &str = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam";
/// The quarantine policy of the sample account.
pub const QUARANTINE_POLICY_ARN: &str =
    "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-quarantine";

/// A configuration from variables, as the functions read them (later pairs win).
pub fn config_from(pairs: &[(&str, &str)]) -> Config {
    Config::from_lookup(|k| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("test configuration")
}

/// A configuration with DENY_POLICY_ARN and QUARANTINE_POLICY_ARN set, then `extra` (later pairs win).
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("DENY_POLICY_ARN", DENY_POLICY_ARN),
        ("QUARANTINE_POLICY_ARN", QUARANTINE_POLICY_ARN),
    ];
    pairs.extend_from_slice(extra);
    config_from(&pairs)
}

/// The sample account, as the revoker's role sees it at start-up.
pub fn environment() -> Environment {
    Environment {
        account_id: "123456789012".into(),
        caller_arn: "arn:aws:sts::123456789012:assumed-role/iam-warden-revoker/iam-warden-revoker"
            .into(),
        user_policy_quota: 10,
        role_policy_quota: 10,
    }
}

/// The text of a file of `events/`.
pub fn sample_text(name: &str) -> String {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("a file of events/")
}

/// An event of `events/`.
pub fn sample_event(name: &str) -> Event {
    parse_eventbridge(&sample_text(name)).expect("a sample EventBridge event")
}

/// Every sample event of `events/` (one per row of the decision table's kinds of caller).
pub const SAMPLE_EVENTS: &[&str] = &[
    "01-iam-user-create-user.json",
    "02-iam-user-duplicate-attach-policy.json",
    "03-failed-call-access-denied.json",
    "04-read-only-list-users.json",
    "05-self-service-change-password.json",
    "06-assumed-role.json",
    "07-identity-center-role.json",
    "08-federated-user.json",
    "09-root.json",
    "10-aws-service.json",
    "11-cross-account.json",
    "12-admin-create-user.json",
    "13-exempt-tag.json",
    "14-quota-reached-inline.json",
    "15-service-linked-role.json",
    "16-escalation-join-admin-group.json",
    "17-escalation-tag-self-exempt.json",
    "18-tampering-disable-rule.json",
];
