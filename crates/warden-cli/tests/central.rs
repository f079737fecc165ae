#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! `warden --account` and `--all-accounts` (central mode) against moto server: the CLI
//! runs as the central account's revoker role and acts in each member through its member
//! role; what it does in one member leaves the others as they are.

use std::process::{Command, Output};

use warden_it::{assume, eventbridge, iam_call, member_trust, TestAccount};

const MEMBER_ROLE: &str = "iam-warden-member";

struct Org {
    central: TestAccount,
    env: Vec<(&'static str, String)>,
    dir: std::path::PathBuf,
}

impl Org {
    async fn new() -> Self {
        let central = TestAccount::new().await;
        // The central account is protected by its own stack, as any account.
        central.group("Administrators").await;
        let anyone = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]});
        let role = central.role_with_trust("iam-warden-revoker", &anyone).await;
        let creds = assume(&central.sdk, &role, "operator").await.unwrap();
        let deny = format!(
            "arn:aws:iam::{}:policy/iam-warden/iam-warden-deny-iam",
            central.id
        );
        let dir = std::env::temp_dir().join(format!("warden-central-{}", central.id));
        std::fs::create_dir_all(&dir).unwrap();
        let env = vec![
            ("AWS_ENDPOINT_URL", warden_it::endpoint()),
            ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY",
                creds.secret_access_key().to_owned(),
            ),
            (
                "AWS_SESSION_TOKEN",
                creds.session_token().unwrap_or_default().to_owned(),
            ),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("DENY_POLICY_ARN", deny),
            ("MEMBER_ROLE_NAME", MEMBER_ROLE.to_owned()),
        ];
        let org = Self { central, env, dir };
        // The central ledger table, as `warden init` makes it in the central account.
        let out = org.warden(&["init"]);
        assert!(out.status.success(), "{}", text(&out));
        org
    }

    async fn member(&self) -> TestAccount {
        let m = TestAccount::new().await;
        m.role_with_trust(
            MEMBER_ROLE,
            &member_trust(&self.central.id, &["iam-warden-revoker"]),
        )
        .await;
        m.deny_policy().await;
        m.group("Administrators").await;
        m.user("alice", &["Administrators"], &[]).await;
        m.user("dev1", &[], &[]).await;
        // The member's trust baseline, taken through its member role.
        let out = self.warden(&["--account", &m.id, "init"]);
        assert!(out.status.success(), "{}", text(&out));
        m
    }

    fn warden(&self, args: &[&str]) -> Output {
        self.warden_with(args, &[])
    }

    fn warden_with(&self, args: &[&str], extra: &[(&str, String)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in self.env.iter().chain(extra.iter()) {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// dev1's CreateUser in `m`, as a file for `warden replay`.
    async fn event_of(&self, m: &TestAccount) -> String {
        let mut record = iam_call(
            &m.id,
            &format!("ev-{}", m.id),
            "dev1",
            "CreateUser",
            serde_json::json!({"userName": "backdoor"}),
            1,
        );
        m.real_ids(&mut record).await;
        let path = self.dir.join(format!("{}.json", m.id));
        std::fs::write(&path, eventbridge(&record)).unwrap();
        path.to_string_lossy().into_owned()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn deny_in(m: &TestAccount) -> String {
    format!(
        "arn:aws:iam::{}:policy/iam-warden/iam-warden-deny-iam",
        m.id
    )
}

#[tokio::test]
async fn the_cli_acts_in_one_member_through_its_role_and_lists_the_organization() {
    let org = Org::new().await;
    let (m1, m2) = (org.member().await, org.member().await);
    let stranger = TestAccount::new().await;
    // dev1 revoked in each member, by `warden --account ID replay`.
    for m in [&m1, &m2] {
        let file = org.event_of(m).await;
        let out = org.warden(&["--account", &m.id, "replay", &file]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("\"revoked\""), "{}", text(&out));
        assert_eq!(m.attached("dev1").await, vec![deny_in(m)]);
    }
    // One table for the organization; the stranger is a row that says why.
    let accounts = format!("{},{},{}", m1.id, m2.id, stranger.id);
    let out = org.warden_with(&["--all-accounts", "status"], &[("ACCOUNTS", accounts)]);
    let table = text(&out);
    assert!(
        !out.status.success(),
        "the stranger could not be read: {table}"
    );
    for m in [&m1, &m2] {
        let line = table.lines().find(|l| l.starts_with(&m.id)).unwrap();
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[1], "1", "{line}");
    }
    let line = table.lines().find(|l| l.starts_with(&stranger.id)).unwrap();
    assert!(line.contains("not onboarded"), "{line}");

    // Restore in m1 leaves m2 untouched.
    let out = org.warden(&["--account", &m1.id, "restore", "--user", "dev1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(m1.attached("dev1").await.is_empty());
    assert_eq!(m2.attached("dev1").await, vec![deny_in(&m2)]);
    let out = org.warden(&["--account", &m1.id, "status"]);
    assert!(
        text(&out).contains("No principal carries the iam-warden deny"),
        "{}",
        text(&out)
    );

    // A bad account id, or an account without the member role, is said plainly.
    let out = org.warden(&["--account", "12345", "status"]);
    assert!(
        text(&out).contains("not a twelve-digit AWS account id"),
        "{}",
        text(&out)
    );
    let out = org.warden(&["--account", &stranger.id, "status"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not onboarded"), "{}", text(&out));
}

#[tokio::test]
async fn all_accounts_replay_decides_each_event_in_its_account_and_restore_undoes_each() {
    let org = Org::new().await;
    let (m1, m2) = (org.member().await, org.member().await);
    let stranger = TestAccount::new().await;
    // One file with events of both members and of an account that is not onboarded.
    let mut events = Vec::new();
    for m in [&m1, &m2, &stranger] {
        let file = org.event_of(m).await;
        let one: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        events.push(one);
    }
    let file = org.dir.join("organization.json");
    std::fs::write(&file, serde_json::to_string(&events).unwrap()).unwrap();
    let out = org.warden(&["--all-accounts", "replay", file.to_str().unwrap()]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert_eq!(said.matches("\"revoked\"").count(), 2, "{said}");
    for m in [&m1, &m2] {
        assert_eq!(m.attached("dev1").await, vec![deny_in(m)], "{said}");
    }
    assert!(
        said.contains(&format!("of account {}", stranger.id)) && said.contains("cannot be assumed"),
        "{said}"
    );
    assert!(said.contains("2 event(s) decided"), "{said}");
    assert!(said.contains("1 reported"), "{said}");

    // Restored in every account where the tool acted on dev1; the central account has no
    // dev1 and says so in one line.
    let accounts = format!("{},{},{}", m1.id, m2.id, org.central.id);
    let out = org.warden_with(
        &["--all-accounts", "restore", "--user", "dev1"],
        &[("ACCOUNTS", accounts)],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert_eq!(said.matches("== account ").count(), 3, "{said}");
    for m in [&m1, &m2] {
        assert!(m.attached("dev1").await.is_empty(), "{said}");
    }
    assert!(said.contains("does not exist here"), "{said}");

    // An account that cannot be reached is said, the exit code non-zero, the others done.
    let accounts = format!("{},{}", stranger.id, m1.id);
    let out = org.warden_with(
        &["--all-accounts", "restore", "--user", "dev1"],
        &[("ACCOUNTS", accounts)],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!("Not restored in account {}", stranger.id)),
        "{said}"
    );
    assert!(said.contains(&format!("== account {}", m1.id)), "{said}");
}
