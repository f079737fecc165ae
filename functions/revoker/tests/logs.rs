#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The Lambda's logs, written to a pipe as Lambda does: one JSON object a line, no
//! terminal colour codes (CloudWatch Logs would keep them as text and its queries and
//! metric filters would miss the fields).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_revokers_logs_in_a_pipe_are_json_lines_without_colour_codes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_revoker"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "debug")
        .env(
            "DENY_POLICY_ARN",
            "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam",
        )
        .env(
            "QUARANTINE_POLICY_ARN",
            "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-quarantine",
        )
        .env(
            "DEAD_LETTER_QUEUE_URL",
            "http://127.0.0.1:9/123456789012/dlq.fifo",
        )
        .env(
            "DEFERRAL_QUEUE_URL",
            "http://127.0.0.1:9/123456789012/deferrals",
        )
        // Nothing listens there: start-up logs its attempts, then fails.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(30)
        .map(Result::unwrap)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.len() >= 10, "{lines:?}");
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "a colour code: {line:?}");
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
}
