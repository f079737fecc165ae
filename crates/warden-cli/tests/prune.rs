#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! `warden init`, `warden prune` and `warden restore` as an operator runs them, against
//! moto server with Access Advisor: the JSON lines, the IAM state, the undo.

use std::process::{Command, Output};

use chrono::{Duration, Utc};
use warden_it::TestAccount;

#[path = "prune/assess.rs"]
mod assess;

struct Operator {
    account: TestAccount,
    env: Vec<(&'static str, String)>,
}

impl Operator {
    async fn new() -> Self {
        let account = TestAccount::new().await;
        account.group("Administrators").await;
        let (key, secret) = account.access_key("operator").await;
        let env = vec![
            ("AWS_ENDPOINT_URL", warden_it::endpoint()),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("LEDGER_TABLE", "warden-ledger".to_owned()),
        ];
        Self { account, env }
    }

    fn warden(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The per-principal lines by principal name, and the summary line.
fn lines(o: &Output) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut all: Vec<serde_json::Value> = stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let summary = all.pop().expect("a summary line");
    assert!(summary.get("summary").is_some(), "{summary}");
    (all, summary)
}

fn line_for<'a>(lines: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| {
            l["principal"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{name}"))
        })
        .unwrap_or_else(|| panic!("no line for {name}: {lines:?}"))
}

#[tokio::test]
async fn init_prune_and_restore_as_an_operator() {
    let op = Operator::new().await;
    let t = &op.account;
    t.user_with_access("bob", &[], &["ec2:*", "lambda:*", "s3:GetObject"])
        .await;
    t.user_with_access("alice", &["Administrators"], &["ec2:*"])
        .await;

    let init = op.warden(&["init"], &[]);
    assert!(init.status.success(), "{}", stderr(&init));
    assert!(stdout(&init).contains("Created"), "{}", stdout(&init));
    let again = op.warden(&["init"], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("exists"), "{}", stdout(&again));

    let first = (Utc::now() + Duration::days(120)).to_rfc3339();
    let later = (Utc::now() + Duration::days(135)).to_rfc3339();
    let out = op.warden(&["prune", "--now", &first], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (per, summary) = lines(&out);
    assert_eq!(summary["principals"], 3, "operator, bob, alice: {summary}");
    assert_eq!(line_for(&per, "bob")["decision"], "unchanged");
    assert_eq!(line_for(&per, "alice")["decision"], "exempt");
    // As of 120 days from now, the operator's access key (made and last used today) is
    // unused: deactivated (moto does not refuse an inactive key, so the test goes on as
    // the operator).
    let key = op
        .env
        .iter()
        .find(|(k, _)| *k == "AWS_ACCESS_KEY_ID")
        .unwrap()
        .1
        .clone();
    let operator = line_for(&per, "operator");
    let taken = &operator["credentials"][0];
    assert_eq!(
        (&taken["credential"], &taken["status"]),
        (&serde_json::json!(key), &serde_json::json!("deactivated")),
        "{operator}"
    );
    // Used a moment after `--now` was taken: 119 whole days.
    assert!(
        (119..=120).contains(&taken["days"].as_i64().unwrap()),
        "{operator}"
    );
    assert!(!t.key_active("operator", &key).await);
    let wrong = op.warden(
        &["restore", "--user", "operator", "--key", "AKIANOTTHATONE"],
        &[],
    );
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("the pruner did not take AKIANOTTHATONE"),
        "{}",
        stderr(&wrong)
    );
    let back = op.warden(&["restore", "--user", "operator", "--key", &key], &[]);
    assert!(back.status.success(), "{}", stderr(&back));
    assert!(
        stdout(&back).contains(&format!("Reactivated the access key {key}")),
        "{}",
        stdout(&back)
    );
    assert!(t.key_active("operator", &key).await);

    let dry = op.warden(&["prune", "--dry-run", "--now", &later], &[]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let (per, _) = lines(&dry);
    assert_eq!(line_for(&per, "bob")["decision"], "denied");
    assert!(t.attached("bob").await.is_empty(), "dry run wrote");

    let out = op.warden(&["prune", "--now", &later], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (per, summary) = lines(&out);
    let bob = line_for(&per, "bob");
    assert_eq!(bob["decision"], "denied", "{bob}");
    assert_eq!(
        bob["denied_services"],
        serde_json::json!(["ec2", "lambda", "s3"])
    );
    let policy = format!(
        "arn:aws:iam::{}:policy/iam-warden/iam-warden-prune-bob",
        t.id
    );
    assert_eq!(bob["policy_arns"], serde_json::json!([policy]));
    assert_eq!(t.attached("bob").await, vec![policy.clone()]);
    assert_eq!(summary["summary"]["denied"], 1, "{summary}");

    let only = op.warden(&["prune", "--principal", "bob", "--now", &later], &[]);
    let (per, _) = lines(&only);
    assert_eq!(per.len(), 1);
    assert_eq!(per[0]["decision"], "unchanged");

    let lift = op.warden(&["restore", "--user", "bob", "--service", "ec2"], &[]);
    assert!(lift.status.success(), "{}", stderr(&lift));
    assert!(stdout(&lift).contains("ec2"), "{}", stdout(&lift));
    let (document, _) = t.policy_document(&policy).await.unwrap();
    assert!(
        !document.contains("ec2:*") && document.contains("lambda:*"),
        "{document}"
    );

    let all = op.warden(&["restore", "--user", "bob"], &[]);
    assert!(all.status.success(), "{}", stderr(&all));
    assert!(t.attached("bob").await.is_empty());
    assert!(t.policy_document(&policy).await.is_none());
    assert_eq!(t.inline("bob").await, vec!["work".to_string()]);
}

#[tokio::test]
async fn bad_input_and_configuration_are_named() {
    let op = Operator::new().await;
    let out = op.warden(&["prune", "--now", "yesterday"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--now `yesterday`"),
        "{}",
        stderr(&out)
    );

    let out = op.warden(&["prune"], &[("UNUSED_DAYS", "ninety")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("UNUSED_DAYS=`ninety`"),
        "{}",
        stderr(&out)
    );

    assert!(op.warden(&["init"], &[]).status.success());
    let out = op.warden(&["prune", "--principal", "nobody"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`nobody`"), "{}", stderr(&out));

    // No ledger table: the pass refuses to run rather than forget sticky denies.
    op.account.user_with_access("bob", &[], &["ec2:*"]).await;
    let out = op.warden(&["prune"], &[("LEDGER_TABLE", "missing-table")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("LEDGER_TABLE=`missing-table`")
            && stderr(&out).contains("warden init"),
        "{}",
        stderr(&out)
    );
}
