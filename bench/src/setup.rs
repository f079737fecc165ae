//! `warden-bench setup`: a fresh moto account for the revoker benchmarks and its
//! workload, written to the file that `revoker` and `cold` read back.

use std::path::PathBuf;

use serde_json::{json, Value};
use warden_it::TestAccount;

/// A deterministic generator (the workload is the same in every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn event(account: &str, user: &str, name: &str, read_only: bool, n: usize) -> Value {
    json!({
        "version": "0",
        "id": format!("eb-{n:08}"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": account,
        "time": "2026-11-20T09:15:01Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": format!("AIDA{}", user.to_uppercase()),
                "arn": format!("arn:aws:iam::{account}:user/{user}"),
                "accountId": account,
                "accessKeyId": "AKIAEXAMPLE",
                "userName": user,
            },
            "eventTime": "2026-11-20T09:15:01Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.23",
            "userAgent": "aws-cli/2.17.0",
            "requestParameters": {"userName": format!("new-{n}")},
            "responseElements": null,
            "eventID": format!("00000000-0000-4000-8000-{n:012}"),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
        }
    })
}

/// 50 developers (70% of the events, so most are duplicates), 5 admins and read-only
/// calls (30%, decided without a call).
pub async fn setup(events: usize) -> Value {
    let t = TestAccount::new().await;
    t.group("Administrators").await;
    let admins: Vec<String> = (0..5).map(|i| format!("admin{i:02}")).collect();
    let devs: Vec<String> = (0..50).map(|i| format!("dev{i:02}")).collect();
    for a in &admins {
        t.user(a, &["Administrators"], &[]).await;
    }
    for d in &devs {
        t.user(d, &[], &[]).await;
    }
    let deny = t.deny_policy().await;
    let (topic, dlq, key, secret) = crate::setup::tool_resources(&t).await;
    let mut rng = Lcg(42);
    let workload: Vec<Value> = (0..events)
        .map(|n| {
            let r = rng.next() % 100;
            if r < 70 {
                let user = &devs[(rng.next() % 50) as usize];
                let name = if rng.next().is_multiple_of(2) {
                    "CreateUser"
                } else {
                    "AttachUserPolicy"
                };
                event(&t.id, user, name, false, n)
            } else if r < 85 {
                let user = &admins[(rng.next() % 5) as usize];
                event(&t.id, user, "CreateUser", false, n)
            } else {
                let user = &devs[(rng.next() % 50) as usize];
                event(&t.id, user, "ListUsers", true, n)
            }
        })
        .collect();
    // The ids IAM has for the callers, as CloudTrail records them.
    let mut workload = workload;
    let mut ids = std::collections::HashMap::new();
    for user in admins.iter().chain(&devs) {
        let id = t
            .iam
            .get_user()
            .user_name(user)
            .send()
            .await
            .unwrap()
            .user
            .unwrap()
            .user_id;
        ids.insert(user.clone(), id);
    }
    for e in &mut workload {
        let name = e["detail"]["userIdentity"]["userName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(id) = ids.get(&name) {
            e["detail"]["userIdentity"]["principalId"] = json!(id);
        }
    }
    json!({
        "account": t.id, "endpoint": warden_it::endpoint(), "key": key, "secret": secret,
        "deny_policy_arn": deny, "topic_arn": topic, "dlq_url": dlq,
        "admin_group": "Administrators", "events": workload,
    })
}

pub fn load(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn revoker_config(s: &Value) -> warden_core::config::Config {
    warden_core::testing::config_from(&[
        ("DENY_POLICY_ARN", s["deny_policy_arn"].as_str().unwrap()),
        ("TOPIC_ARN", s["topic_arn"].as_str().unwrap()),
        ("DEAD_LETTER_QUEUE_URL", s["dlq_url"].as_str().unwrap()),
        ("ADMIN_GROUP_NAME", s["admin_group"].as_str().unwrap()),
        // The Python revoker contains nothing: the comparison is of the same job
        // (containment is measured on its own, `warden-bench contain`).
        ("CONTAIN", "off"),
    ])
}

/// The tool's topic and dead-letter queue in a fresh account, and the operator's key.
pub async fn tool_resources(t: &TestAccount) -> (String, String, String, String) {
    let topic = t
        .sns
        .create_topic()
        .name("iam-warden-notices")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let dlq = t.queue("iam-warden-dead-letters", true).await;
    let (key, secret) = t.access_key("operator").await;
    (topic, dlq, key, secret)
}
