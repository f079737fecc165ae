#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! `warden` as an operator runs it, against moto server: replay of events/ gives the
//! decision table's decisions, the IAM state and the notifications that go with them;
//! status lists; restore undoes.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use warden_it::TestAccount;

struct Demo {
    account: TestAccount,
    env: Vec<(&'static str, String)>,
    inbox: String,
    dir: std::path::PathBuf,
}

impl Demo {
    /// The demo's sample account, in a fresh moto account.
    async fn new() -> Self {
        let account = TestAccount::new().await;
        account.group("Administrators").await;
        account.user("alice", &["Administrators"], &[]).await;
        for dev in ["dev1", "dev2", "dev3"] {
            account.user(dev, &[], &[]).await;
        }
        account
            .user("ci-bot", &[], &[("iam-warden:exempt", "true")])
            .await;
        account.user("legacy-app", &[], &[]).await;
        account.fill_managed_policies("legacy-app", 10).await;
        let deny = account.deny_policy().await;
        let (topic, inbox) = account.topic_with_inbox().await;
        account.user("mallory", &[], &[]).await;
        // The role of event 6's session (ROLE_MODE=session: that session is revoked alone).
        account
            .iam
            .create_role()
            .role_name("deployer")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .unwrap();
        let (key, secret) = account.access_key("operator").await;
        let dir = std::env::temp_dir().join(format!("warden-replay-{}", account.id));
        std::fs::create_dir_all(&dir).unwrap();
        let env = vec![
            ("AWS_ENDPOINT_URL", warden_it::endpoint()),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("DENY_POLICY_ARN", deny),
            ("TOPIC_ARN", topic),
            (
                "TOOL_RULE_NAMES",
                "iam-warden-iam-calls,iam-warden-tampering".to_owned(),
            ),
            ("CANARY_ROLE_NAME", "iam-warden-canary".to_owned()),
        ];
        let demo = Self {
            account,
            env,
            inbox,
            dir,
        };
        // `warden init`: the ledger table and the trust baseline (alice, ci-bot).
        let init = demo.warden(&["init"]);
        let out = String::from_utf8_lossy(&init.stdout);
        assert!(
            init.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&init.stderr)
        );
        assert!(
            out.contains("Took the trust baseline")
                && out.contains("admin user/alice")
                && out.contains("exempt user/ci-bot"),
            "{out}"
        );
        assert!(out.contains("Took the sessions baseline"), "{out}");
        let notices = demo.account.notices(&demo.inbox).await;
        assert_eq!(
            notices.len(),
            2,
            "the baseline's notice, and the sessions baseline's: {notices:?}"
        );
        // Then mallory's two calls (events 16 and 17), as IAM applied them.
        demo.account
            .iam
            .add_user_to_group()
            .group_name("Administrators")
            .user_name("mallory")
            .send()
            .await
            .unwrap();
        demo.account
            .iam
            .tag_user()
            .user_name("mallory")
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("iam-warden:exempt")
                    .value("true")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        demo
    }

    fn warden(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// The sample events, moved into this account, as files.
    /// The sample events, moved into this account with the ids IAM has for their
    /// callers, as files.
    async fn events(&self) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(format!("{}/../../events", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
                .collect();
        names.sort();
        let mut paths = Vec::new();
        for name in names {
            let path = self.dir.join(&name);
            std::fs::write(&path, self.account.real_event(&name).await).unwrap();
            paths.push(path.to_string_lossy().into_owned());
        }
        paths
    }
}

#[tokio::test]
async fn replay_of_the_sample_events_gives_the_table_and_the_state_that_goes_with_it() {
    let demo = Demo::new().await;
    let files = demo.events().await;
    let mut args = vec!["replay"];
    args.extend(files.iter().map(String::as_str));
    let out = demo.warden(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: BTreeMap<String, String> = lines
        .iter()
        .map(|l| {
            (
                l["event_id"].as_str().unwrap().to_owned(),
                l["decision"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let id = |n: u32| format!("7c1e4a3b-0000-4000-8000-{n:012}");
    let expected = [
        (1, "revoked"),
        (2, "already-revoked"),
        (3, "revoked"),
        (4, "ignored"),
        (5, "ignored"),
        // A session of deployer: revoked alone (ROLE_MODE=session, the default).
        (6, "revoked"),
        (7, "alerted"),
        (8, "revoked"),
        (9, "alerted"),
        (10, "ignored"),
        (11, "alerted"),
        (12, "exempt"),
        (13, "exempt"),
        (14, "revoked"),
        (15, "ignored"),
        // mallory joins the admin group: an escalation, revoked and undone; then tags
        // itself exempt: already revoked, undone too.
        (16, "revoked"),
        (17, "already-revoked"),
        // dev3 disables the IAM rule: tampering, notified; dev3 was revoked already.
        (18, "already-revoked"),
    ];
    for (n, decision) in expected {
        assert_eq!(
            got.get(&id(n)).map(String::as_str),
            Some(decision),
            "event {n}: {lines:?}"
        );
    }
    for l in &lines {
        for key in ["event_id", "event_name", "principal", "decision", "reason"] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
    assert!(stderr.contains("18 event(s) decided"), "{stderr}");
    let groups = demo
        .account
        .iam
        .list_groups_for_user()
        .user_name("mallory")
        .send()
        .await
        .unwrap()
        .groups;
    assert!(groups.is_empty(), "{groups:?}");
    assert!(!demo
        .account
        .tags("mallory")
        .await
        .contains_key("iam-warden:exempt"));

    let deny = demo
        .env
        .iter()
        .find(|(k, _)| *k == "DENY_POLICY_ARN")
        .unwrap()
        .1
        .clone();
    for user in ["dev1", "dev2", "dev3", "mallory"] {
        assert_eq!(
            demo.account.attached(user).await,
            std::slice::from_ref(&deny),
            "{user}"
        );
    }
    for user in ["alice", "ci-bot"] {
        assert!(demo.account.attached(user).await.is_empty(), "{user}");
    }
    assert_eq!(
        demo.account.inline("legacy-app").await,
        ["iam-warden-deny-iam"]
    );

    let notices = demo.account.notices(&demo.inbox).await;
    let mut decisions: Vec<&str> = notices
        .iter()
        .map(|n| {
            n["MessageAttributes"]["decision"]["Value"]
                .as_str()
                .unwrap()
        })
        .collect();
    decisions.sort();
    // The `already-revoked` one is an escalation undone (dev1's AttachUserPolicy on
    // `backdoor`, a user the demo account does not have, contains nothing: no notice).
    // Event 6's session of deployer: revoked alone, and its source said (not found).
    assert_eq!(
        decisions,
        [
            "alerted",
            "alerted",
            "alerted",
            "already-revoked",
            "revoked",
            "revoked",
            "revoked",
            "revoked",
            "revoked",
            "revoked",
            "source",
            "tampering"
        ]
    );
    let escalations = notices
        .iter()
        .filter(|n| n["MessageAttributes"]["escalation"]["Value"] == "true")
        .count();
    assert_eq!(escalations, 2, "{notices:?}");

    // Replayed again: nothing new happens and no one is notified twice.
    let again = demo.warden(&args);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .matches("\"already-revoked\"")
            .count()
            >= 4
    );
    let renotified: Vec<serde_json::Value> = demo.account.notices(&demo.inbox).await;
    assert!(
        renotified
            .iter()
            .all(|n| n["MessageAttributes"]["decision"]["Value"] == "alerted"),
        "{renotified:?}"
    );

    let status = demo.warden(&["status", "--json"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let rows = doc["revoked"].as_array().unwrap();
    let mut names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["dev1", "dev2", "dev3", "legacy-app", "mallory"]);
    let trusted: Vec<(&str, &str, &str)> = doc["trusted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["principal"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
                t["provenance"]["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trusted,
        [
            ("user/alice", "admin", "baseline"),
            ("user/ci-bot", "exempt", "baseline")
        ]
    );
    // The session of deployer, revoked alone, with its source (not in this CloudTrail).
    let sessions = doc["revoked_sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{doc}");
    assert_eq!(
        (
            sessions[0]["role"].as_str(),
            sessions[0]["session"].as_str()
        ),
        (Some("deployer"), Some("gh-actions-1234"))
    );
    assert!(
        sessions[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("not found"),
        "{doc}"
    );
    let lifted = demo.warden(&[
        "restore",
        "--role",
        "deployer",
        "--session",
        "gh-actions-1234",
    ]);
    let text = String::from_utf8_lossy(&lifted.stdout);
    assert!(
        lifted.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&lifted.stderr)
    );
    assert!(
        text.contains("lifted the inline deny of IAM from the session"),
        "{text}"
    );
    let bad = demo.warden(&["restore", "--role", "deployer", "--session", "x*"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--session"));
    let dev1 = rows.iter().find(|r| r["name"] == "dev1").unwrap();
    assert_eq!(dev1["event_id"], id(1));
    assert_eq!(dev1["event_name"], "CreateUser");
    assert_eq!(dev1["restore_command"], "warden restore --user dev1");

    let restored = demo.warden(&["restore", "--user", "legacy-app"]);
    assert!(restored.status.success());
    assert!(String::from_utf8_lossy(&restored.stdout).contains("deleted the inline deny"));
    assert!(demo.account.inline("legacy-app").await.is_empty());
    // mallory's escalations put back, not trusted; `warden trust` makes them count.
    let restored = demo.warden(&["restore", "--user", "mallory"]);
    let text = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "{text}");
    assert!(
        text.contains("added user/mallory to the group `Administrators`"),
        "{text}"
    );
    assert!(
        text.contains("tagged user/mallory `iam-warden:exempt=true`"),
        "{text}"
    );
    assert!(text.contains("warden trust --user mallory"), "{text}");
    let trusted = demo.warden(&["trust", "--user", "mallory"]);
    let text = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        trusted.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(text.contains("Trusted user/mallory as admin"), "{text}");
    assert!(text.contains("Trusted user/mallory as exempt"), "{text}");
    let status = demo.warden(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("user/mallory") && text.contains("vouched for by"),
        "{text}"
    );
    // No canary yet: status says the path is not proven; one 30 hours old is late.
    let text = String::from_utf8_lossy(&demo.warden(&["status"]).stdout).into_owned();
    assert!(text.contains("Canary: NEVER SEEN"), "{text}");
    let old = (chrono::Utc::now() - chrono::TimeDelta::hours(30)).to_rfc3339();
    demo.account
        .dynamodb
        .put_item()
        .table_name("iam-warden-ledger")
        .item(
            "principal",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("canary#{}", demo.account.id)),
        )
        .item(
            "made_at",
            aws_sdk_dynamodb::types::AttributeValue::S(old.clone()),
        )
        .item("seen_at", aws_sdk_dynamodb::types::AttributeValue::S(old))
        .send()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&demo.warden(&["status"]).stdout).into_owned();
    assert!(
        text.contains("Canary: LATE, none for over 26 hours"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&demo.warden(&["status", "--json"]).stdout).unwrap();
    assert_eq!(json["canary"]["late"], true);
    let nothing = demo.warden(&["restore", "--user", "alice"]);
    assert!(nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stdout).contains("carries no iam-warden deny"));

    // A caller restored with --caller-only carries no deny, and what its calls made stays
    // contained: status still shows it, under the caller. dev3 makes itself an admin.
    demo.account
        .iam
        .add_user_to_group()
        .group_name("Administrators")
        .user_name("dev3")
        .send()
        .await
        .unwrap();
    let escalation = warden_it::iam_call(
        &demo.account.id,
        "esc-dev3",
        "dev3",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "dev3"}),
        5,
    );
    let file = demo.dir.join("escalation.json");
    std::fs::write(&file, warden_it::eventbridge(&escalation)).unwrap();
    let out = demo.warden(&["replay", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&demo.warden(&["status", "--json"]).stdout).unwrap();
    let row = json["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "dev3")
        .cloned()
        .unwrap_or_else(|| panic!("{json}"));
    let name = row["name"].as_str().unwrap();
    let out = demo.warden(&["restore", "--caller-only", "--user", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&demo.warden(&["status", "--json"]).stdout).unwrap();
    assert!(
        !json["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == name),
        "{json}"
    );
    let still = json["contained_not_revoked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["caller"] == format!("user/{name}"))
        .unwrap_or_else(|| panic!("{json}"));
    let done = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["state"] == "done")
            .map(|a| a["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!done(&row["contained"]).is_empty(), "{row}");
    assert_eq!(done(&still["contained"]), done(&row["contained"]));
    let text = String::from_utf8_lossy(&demo.warden(&["status"]).stdout).into_owned();
    assert!(
        text.contains(&format!("Still contained because of user/{name}'s calls")),
        "{text}"
    );
}

#[tokio::test]
async fn dry_run_decides_without_changing_anything() {
    let demo = Demo::new().await;
    let files = demo.events().await;
    let out = demo.warden(&["replay", "--dry-run", &files[0]]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"revoked\""));
    assert!(demo.account.attached("dev1").await.is_empty());
    assert!(demo.account.notices(&demo.inbox).await.is_empty());
}

#[tokio::test]
async fn bad_input_and_bad_configuration_are_clear_errors() {
    let demo = Demo::new().await;
    let bad = demo.dir.join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = demo.warden(&["replay", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    let out = cmd
        .args(["status"])
        .env_clear()
        .env("MODE", "enforcing")
        .env("DENY_POLICY_ARN", "arn:aws:iam::1:policy/iam-warden/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MODE=`enforcing` is invalid"), "{stderr}");

    let usage = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["restore"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

/// `-vv` logs to standard error; in a pipe (a file, CI's log) without a terminal's
/// colour codes.
#[test]
fn the_clis_logs_in_a_pipe_carry_no_colour_codes() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["-vv", "status"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("WARDEN_LOG", "debug")
        .env(
            "DENY_POLICY_ARN",
            "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam",
        )
        // Nothing listens there: the SDK logs as it sets up and tries.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .take(5)
        .map(Result::unwrap)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("DEBUG")), "{lines:?}");
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "a colour code: {line:?}");
    }
}
