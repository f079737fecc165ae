//! `warden-bench contain`: containment's cost over attackers' chains.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use serde_json::{json, Value};
use warden_core::event::parse_eventbridge;
use warden_it::TestAccount;

use crate::counted::{counted_revoker, sdk, Calls};
use crate::measure::percentile;

/// One CloudTrail record of `attacker`'s attack chain, as an EventBridge event body.
fn attack_event(
    account: &str,
    attacker: &str,
    id: &str,
    n: usize,
    name: &str,
    request: Value,
    response: Value,
) -> String {
    json!({
        "version": "0", "id": format!("eb-{attacker}-{n}"), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam", "account": account, "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": id,
                "arn": format!("arn:aws:iam::{account}:user/{attacker}"), "accountId": account,
                "accessKeyId": "AKIASTOLEN", "userName": attacker},
            "eventTime": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.66", "userAgent": "aws-cli/2.17.0",
            "requestParameters": request, "responseElements": response,
            "eventID": format!("{attacker}-{n}"), "readOnly": false, "eventType": "AwsApiCall",
            "managementEvent": true, "recipientAccountId": account,
        }
    })
    .to_string()
}

/// Containment's cost: API calls per event and per contained artifact, by operation, and
/// the wall time of each attack chain (7 events, one batch) from the first decision to
/// the last containment.
pub async fn contain(attackers: usize) -> Value {
    const ALLOW: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const OUTSIDE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    let t = TestAccount::new().await;
    t.group("Administrators").await;
    t.group("devs").await;
    t.user("alice", &["Administrators"], &[]).await;
    let deny = t.deny_policy().await;
    let quarantine = t
        .policy(
            "iam-warden-quarantine",
            "/iam-warden/",
            warden_core::containment::QUARANTINE_POLICY,
        )
        .await;
    let admin_like = t.policy("AdminLike", "/", ALLOW).await;
    let (topic, dlq, key, secret) = crate::setup::tool_resources(&t).await;
    // Each attacker's chain, as IAM applied it, and its records.
    let mut chains = Vec::new();
    for i in 0..attackers {
        let (attacker, backdoor, role) = (
            format!("eve{i:02}"),
            format!("backdoor{i:02}"),
            format!("app{i:02}"),
        );
        t.user(&attacker, &[], &[]).await;
        let id = t
            .iam
            .get_user()
            .user_name(&attacker)
            .send()
            .await
            .unwrap()
            .user
            .unwrap()
            .user_id;
        t.iam
            .create_role()
            .role_name(&role)
            .assume_role_policy_document(EC2)
            .send()
            .await
            .unwrap();
        t.user(&backdoor, &["devs"], &[]).await;
        t.iam
            .attach_user_policy()
            .user_name(&backdoor)
            .policy_arn(&admin_like)
            .send()
            .await
            .unwrap();
        let key_id = t
            .iam
            .create_access_key()
            .user_name(&backdoor)
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap()
            .access_key_id;
        t.iam
            .create_login_profile()
            .user_name(&backdoor)
            .password("Attacker-Pass-1!")
            .send()
            .await
            .unwrap();
        t.iam
            .put_role_policy()
            .role_name(&role)
            .policy_name("all")
            .policy_document(ALLOW)
            .send()
            .await
            .unwrap();
        t.iam
            .update_assume_role_policy()
            .role_name(&role)
            .policy_document(OUTSIDE)
            .send()
            .await
            .unwrap();
        let e = |n, name, req, resp| attack_event(&t.id, &attacker, &id, n, name, req, resp);
        chains.push(vec![
            e(
                1,
                "CreateUser",
                json!({"userName": backdoor}),
                json!({"user": {"userName": backdoor}}),
            ),
            e(
                2,
                "AttachUserPolicy",
                json!({"userName": backdoor, "policyArn": admin_like}),
                Value::Null,
            ),
            e(
                3,
                "CreateAccessKey",
                json!({"userName": backdoor}),
                json!({"accessKey": {"accessKeyId": key_id, "userName": backdoor}}),
            ),
            e(
                4,
                "CreateLoginProfile",
                json!({"userName": backdoor}),
                json!({"loginProfile": {"userName": backdoor}}),
            ),
            e(
                5,
                "AddUserToGroup",
                json!({"groupName": "devs", "userName": backdoor}),
                Value::Null,
            ),
            e(
                6,
                "PutRolePolicy",
                json!({"roleName": role, "policyName": "all", "policyDocument": ALLOW}),
                Value::Null,
            ),
            e(
                7,
                "UpdateAssumeRolePolicy",
                json!({"roleName": role, "policyDocument": OUTSIDE}),
                Value::Null,
            ),
        ]);
    }
    let sdk = sdk(&warden_it::endpoint(), &key, &secret).await;
    let calls = Calls::default();
    let config = warden_core::testing::config_from(&[
        ("DENY_POLICY_ARN", deny.as_str()),
        ("QUARANTINE_POLICY_ARN", quarantine.as_str()),
        ("TOPIC_ARN", topic.as_str()),
        ("DEAD_LETTER_QUEUE_URL", dlq.as_str()),
    ]);
    let revoker = counted_revoker(&sdk, &calls, config).await;
    // Per event name: events, contained artifacts, calls, calls by operation.
    let mut by_event: BTreeMap<String, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut walls = Vec::new();
    for chain in &chains {
        let t0 = Instant::now();
        let mut b = revoker.batch();
        for body in chain {
            let before = calls.snapshot();
            let event = parse_eventbridge(body).unwrap();
            let outcome = b.process(&event, false).await.unwrap();
            let entry = by_event
                .entry(format!(
                    "{} ({})",
                    outcome.event_name.unwrap_or_default(),
                    outcome.decision
                ))
                .or_default();
            entry.0 += 1;
            entry.1 += outcome.actions.len() as u64;
            for (op, n) in calls.snapshot() {
                let d = n - before.get(&op).copied().unwrap_or(0);
                if d > 0 {
                    *entry.2.entry(op).or_default() += d;
                }
            }
        }
        walls.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    walls.sort_by(f64::total_cmp);
    json!({
        "attackers": attackers,
        "chain_ms_p50": percentile(&walls, 50.0),
        "chain_ms_max": walls.last().copied().unwrap_or_default(),
        "calls_total": calls.total(),
        "by_event": by_event.iter().map(|(name, (events, artifacts, ops))| (name.clone(), json!({
            "events": events, "artifacts": artifacts,
            "calls_per_event": ops.values().sum::<u64>() as f64 / *events as f64,
            "calls_by_operation": ops,
        }))).collect::<BTreeMap<_, _>>(),
    })
}
