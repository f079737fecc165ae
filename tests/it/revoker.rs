#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The revoker end to end against moto server: the Lambda handler, the real SDK clients
//! over HTTP, a fresh account per test.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use warden_core::config::{tags, Config, ConfigError};
use warden_core::principal::{EntityKind, Target};
use warden_core::revoker::{restore, Revoker};
use warden_it::{config, eventbridge, iam_call, TestAccount};

use revoker::handler::handle_batch;

/// A sample account: admin group with alice, developers dev1 and dev2, exempt ci-bot,
/// the deny policy, a topic with an inbox, a FIFO dead-letter queue.
struct Fixture {
    account: TestAccount,
    config: Config,
    inbox: String,
    dlq: String,
}

impl Fixture {
    async fn new(extra: &[(&str, &str)]) -> Self {
        let account = TestAccount::new().await;
        account.group("Administrators").await;
        account.user("alice", &["Administrators"], &[]).await;
        account.user("dev1", &[], &[]).await;
        account.user("dev2", &[], &[]).await;
        account
            .user("ci-bot", &[], &[("iam-warden:exempt", "true")])
            .await;
        let deny = account.deny_policy().await;
        // The quarantine policy, as the stack makes it.
        let quarantine = account
            .policy(
                "iam-warden-quarantine",
                "/iam-warden/",
                warden_core::containment::QUARANTINE_POLICY,
            )
            .await;
        let (topic, inbox) = account.topic_with_inbox().await;
        let dlq = account.queue("iam-warden-dead-letters", true).await;
        let mut pairs = vec![
            ("DENY_POLICY_ARN", deny.as_str()),
            ("QUARANTINE_POLICY_ARN", quarantine.as_str()),
            ("TOPIC_ARN", topic.as_str()),
            ("DEAD_LETTER_QUEUE_URL", dlq.as_str()),
        ];
        pairs.extend_from_slice(extra);
        let config = config(&pairs);
        // The ledger table, as `warden init` (or the stack) makes it.
        account
            .aws(&config)
            .ensure_ledger_table()
            .await
            .expect("ledger table");
        Self {
            account,
            config,
            inbox,
            dlq,
        }
    }

    /// The revoker as the Lambda starts it: start-up checks, then the trust baseline
    /// (taken on the first start, the ledger table created as `warden init` does).
    async fn revoker(&self) -> Revoker<warden_aws::AwsAccount> {
        let aws = self.account.aws(&self.config);
        let env = aws.discover(&self.config).await.expect("start-up");
        let (_, taken) = warden_core::vouch::ensure_baseline(
            &aws,
            &env.account_id,
            &self.config.admin_group,
            &self.config.exempt_tag,
        )
        .await
        .expect("baseline");
        if taken {
            // The baseline's notice: the tests count the notices of the events.
            let notices = self.account.notices(&self.inbox).await;
            assert_eq!(notices.len(), 1, "{notices:?}");
        }
        // ADMIN_PERMISSION_SETS recorded, as the Lambda's start does.
        warden_core::vouch::ensure_permission_sets(&aws, &self.config, &env)
            .await
            .expect("permission sets");
        // The sessions baseline (ROLE_MODE=session), as the Lambda's start takes it.
        if warden_core::vouch::ensure_sessions_baseline(
            &aws,
            &self.config,
            &env,
            warden_core::vouch::PIPELINE_EVENTS_AT_START,
        )
        .await
        .expect("sessions baseline")
        .is_some()
        {
            let notices = self.account.notices(&self.inbox).await;
            assert_eq!(notices.len(), 1, "{notices:?}");
        }
        // EXEMPT_PRINCIPALS recorded by unique id, as the Lambda's start does.
        let problems = warden_core::vouch::ensure_listed(&aws, &env, &self.config)
            .await
            .expect("listing");
        assert!(problems.is_empty(), "{problems:?}");
        // The admin group by unique id, as the Lambda's start records (or repairs) it.
        if let Some(what) =
            warden_core::vouch::ensure_admin_group(&aws, &env.account_id, &self.config.admin_group)
                .await
                .expect("admin group")
        {
            warden_core::ports::Notifier::publish(
                &aws,
                &warden_core::notice::for_tampering(None, &what, &env),
            )
            .await
            .expect("notice");
        }
        Revoker::new(aws, self.config.clone(), env)
    }

    fn batch(&self, bodies: &[String]) -> SqsEvent {
        let records: Vec<serde_json::Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| serde_json::json!({"messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs"}))
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    async fn handle(
        &self,
        revoker: &Revoker<warden_aws::AwsAccount>,
        fixtures: &[&str],
    ) -> SqsBatchResponse {
        let mut bodies = Vec::new();
        for f in fixtures {
            bodies.push(self.account.real_event(f).await);
        }
        handle_batch(revoker, revoker.port(), self.batch(&bodies)).await
    }

    fn deny(&self) -> &str {
        &self.config.deny_policy_arn
    }
}

#[tokio::test]
async fn start_up_learns_the_account_the_tool_and_the_quota() {
    let f = Fixture::new(&[]).await;
    let env = f.account.aws(&f.config).discover(&f.config).await.unwrap();
    assert_eq!(env.account_id, f.account.id);
    assert!(!env.caller_arn.is_empty());
    assert_eq!(
        env.user_policy_quota, 10,
        "moto's AttachedPoliciesPerUserQuota"
    );
}

#[tokio::test]
async fn invariant_6_a_missing_admin_group_or_deny_policy_stops_start_up_naming_the_setting() {
    let f = Fixture::new(&[("ADMIN_GROUP_NAME", "SecurityAdmins")]).await;
    let err = f
        .account
        .aws(&f.config)
        .discover(&f.config)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            warden_aws::StartupError::Config(ConfigError::Unusable {
                var: "ADMIN_GROUP_NAME",
                ..
            })
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("ADMIN_GROUP_NAME=`SecurityAdmins`"),
        "{err}"
    );

    let missing = format!("arn:aws:iam::{}:policy/iam-warden/nope", f.account.id);
    let f2 = Fixture::new(&[("DENY_POLICY_ARN", missing.as_str())]).await;
    let err = f2
        .account
        .aws(&f2.config)
        .discover(&f2.config)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("DENY_POLICY_ARN="), "{err}");

    let f3 = Fixture::new(&[]).await;
    let mut bad_topic = f3.config.clone();
    bad_topic.topic_arn = Some(format!("arn:aws:sns:us-east-1:{}:missing", f3.account.id));
    let err = f3
        .account
        .aws(&bad_topic)
        .discover(&bad_topic)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("TOPIC_ARN="), "{err}");

    // The trust ledger's table: without it nobody could be trusted.
    let f4 = Fixture::new(&[("LEDGER_TABLE", "no-such-table")]).await;
    let mut missing = f4.config.clone();
    missing.ledger_table = "also-missing".into();
    let err = f4
        .account
        .aws(&missing)
        .discover(&missing)
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("LEDGER_TABLE=`also-missing`")
            && err.to_string().contains("warden init"),
        "{err}"
    );
}

#[tokio::test]
async fn an_admin_is_left_untouched() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    let response = f.handle(&r, &["12-admin-create-user.json"]).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(f.account.attached("alice").await.is_empty());
    assert!(f.account.tags("alice").await.is_empty());
    assert!(f.account.notices(&f.inbox).await.is_empty());
}

#[tokio::test]
async fn a_non_admin_is_revoked_recorded_and_notified_exactly_once() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    let response = f.handle(&r, &["01-iam-user-create-user.json"]).await;
    assert!(response.batch_item_failures.is_empty());

    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
    let tags = f.account.tags("dev1").await;
    assert_eq!(tags[tags::EVENT_ID], "7c1e4a3b-0000-4000-8000-000000000001");
    assert_eq!(tags[tags::EVENT_NAME], "CreateUser");
    assert!(tags[tags::REVOKED_AT].ends_with('Z'));

    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let n = &notices[0];
    assert_eq!(
        n["Subject"],
        format!(
            "[iam-warden] IAM access revoked: user/dev1 in {}",
            f.account.id
        )
    );
    assert_eq!(n["MessageAttributes"]["decision"]["Value"], "revoked");
    assert_eq!(n["MessageAttributes"]["account"]["Value"], f.account.id);
    let body = n["Message"].as_str().unwrap();
    assert!(body.contains("warden restore --user dev1"), "{body}");
    assert!(body.contains("198.51.100.23"), "{body}");
}

#[tokio::test]
async fn duplicate_events_give_one_notification() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    let dup = [
        "01-iam-user-create-user.json",
        "01-iam-user-create-user.json",
        "02-iam-user-duplicate-attach-policy.json",
    ];
    assert!(f.handle(&r, &dup).await.batch_item_failures.is_empty());
    // Redelivered in a later invocation, by a fresh container.
    let r2 = f.revoker().await;
    assert!(f.handle(&r2, &dup).await.batch_item_failures.is_empty());
    assert_eq!(f.account.notices(&f.inbox).await.len(), 1);
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
}

#[tokio::test]
async fn the_exempt_tag_is_respected() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    assert!(f
        .handle(&r, &["13-exempt-tag.json"])
        .await
        .batch_item_failures
        .is_empty());
    assert!(f.account.attached("ci-bot").await.is_empty());
    assert!(f.account.notices(&f.inbox).await.is_empty());
}

#[tokio::test]
async fn at_the_quota_the_inline_deny_is_put_instead() {
    let f = Fixture::new(&[]).await;
    f.account.user("legacy-app", &[], &[]).await;
    f.account.fill_managed_policies("legacy-app", 10).await;
    let r = f.revoker().await;
    assert!(f
        .handle(&r, &["14-quota-reached-inline.json"])
        .await
        .batch_item_failures
        .is_empty());
    assert!(!f
        .account
        .attached("legacy-app")
        .await
        .contains(&f.deny().to_owned()));
    assert_eq!(
        f.account.inline("legacy-app").await,
        ["iam-warden-deny-iam"]
    );
    let doc = f
        .account
        .iam
        .get_user_policy()
        .user_name("legacy-app")
        .policy_name("iam-warden-deny-iam")
        .send()
        .await
        .unwrap()
        .policy_document;
    let doc = urlencoding_decode(&doc);
    assert!(doc.contains("\"Deny\"") && doc.contains("iam:*"), "{doc}");
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1);
    assert!(notices[0]["Message"]
        .as_str()
        .unwrap()
        .contains("inline deny"));
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let v = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16);
                if let Ok(v) = v {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn restore_round_trip() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    f.handle(&r, &["01-iam-user-create-user.json"]).await;
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);

    let dev1 = Target {
        kind: EntityKind::User,
        name: "dev1".into(),
        arn: format!("arn:aws:iam::{}:user/dev1", f.account.id),
    };
    let report = restore(r.port(), r.config(), r.env(), &dev1, false)
        .await
        .unwrap();
    assert!(report.restored, "{report:?}");
    assert!(f.account.attached("dev1").await.is_empty());
    assert!(f.account.tags("dev1").await.is_empty());
    let notices = f.account.notices(&f.inbox).await;
    let decisions: Vec<&str> = notices
        .iter()
        .map(|n| {
            n["MessageAttributes"]["decision"]["Value"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(decisions, ["revoked", "restored"]);

    let again = restore(r.port(), r.config(), r.env(), &dev1, false)
        .await
        .unwrap();
    assert!(!again.restored);
    assert!(
        f.account.notices(&f.inbox).await.is_empty(),
        "nothing to restore, nothing notified"
    );

    // Caught again after the restore: revoked and notified again.
    f.handle(&r, &["02-iam-user-duplicate-attach-policy.json"])
        .await;
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
    assert_eq!(f.account.notices(&f.inbox).await.len(), 1);
}

#[tokio::test]
async fn malformed_bodies_go_to_the_dead_letter_queue_with_their_reason() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    let mut raw: serde_json::Value =
        serde_json::from_str(&f.account.event("sqs-batch-mixed.json")).unwrap();
    // The well-formed bodies, with the ids IAM has for their callers.
    for record in raw["Records"].as_array_mut().unwrap() {
        if let Ok(mut body) =
            serde_json::from_str::<serde_json::Value>(record["body"].as_str().unwrap())
        {
            if body.get("detail").is_some() {
                f.account.real_ids(&mut body).await;
                record["body"] = serde_json::Value::String(body.to_string());
            }
        }
    }
    let mixed: SqsEvent = serde_json::from_value(raw).unwrap();
    let response = handle_batch(&r, r.port(), mixed).await;
    assert!(response.batch_item_failures.is_empty());

    let dead = f.account.drain(&f.dlq).await;
    assert_eq!(dead.len(), 2);
    for m in &dead {
        let attrs = m.message_attributes.as_ref().unwrap();
        assert!(!attrs["reason"].string_value.as_deref().unwrap().is_empty());
        assert!(attrs["source-message-id"]
            .string_value
            .as_deref()
            .unwrap()
            .starts_with("11111111-"));
    }
    assert!(dead.iter().any(|m| m
        .body
        .as_deref()
        .unwrap()
        .contains("not an EventBridge event")));
    // The good messages of the batch were decided: dev2 created a key for dev1.
    assert_eq!(f.account.attached("dev2").await, [f.deny()]);
}

#[tokio::test]
async fn a_deleted_caller_is_alerted_not_retried() {
    let f = Fixture::new(&[]).await;
    f.account
        .iam
        .delete_user()
        .user_name("dev1")
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    let response = f.handle(&r, &["01-iam-user-create-user.json"]).await;
    assert!(response.batch_item_failures.is_empty());
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(
        notices[0]["MessageAttributes"]["decision"]["Value"],
        "alerted"
    );
}

#[tokio::test]
async fn role_mode_revoke_denies_the_role_and_report_mode_changes_nothing() {
    let f = Fixture::new(&[("ROLE_MODE", "revoke")]).await;
    f.account
        .iam
        .create_role()
        .role_name("deployer")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    f.handle(&r, &["06-assumed-role.json"]).await;
    let attached = f
        .account
        .iam
        .list_attached_role_policies()
        .role_name("deployer")
        .send()
        .await
        .unwrap();
    let arns: Vec<String> = attached
        .attached_policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect();
    assert_eq!(arns, [f.deny()]);

    let report = Fixture::new(&[("MODE", "report")]).await;
    let r = report.revoker().await;
    report.handle(&r, &["01-iam-user-create-user.json"]).await;
    assert!(report.account.attached("dev1").await.is_empty());
    let notices = report.account.notices(&report.inbox).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(
        notices[0]["MessageAttributes"]["decision"]["Value"],
        "would-revoke"
    );
}

// ---- Trust (issue 9): the attacks on exemption, against moto ----------------------

impl Fixture {
    /// Runs CloudTrail records through the Lambda handler, one batch, in this order.
    async fn deliver(
        &self,
        revoker: &Revoker<warden_aws::AwsAccount>,
        records: &[&serde_json::Value],
    ) -> SqsBatchResponse {
        let mut bodies = Vec::new();
        for r in records {
            let mut r = (*r).clone();
            self.account.real_ids(&mut r).await;
            bodies.push(eventbridge(&r));
        }
        handle_batch(revoker, revoker.port(), self.batch(&bodies)).await
    }

    fn call(
        &self,
        id: &str,
        caller: &str,
        name: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        iam_call(&self.account.id, id, caller, name, params, 20)
    }

    async fn groups_of(&self, user: &str) -> Vec<String> {
        self.account
            .iam
            .list_groups_for_user()
            .user_name(user)
            .send()
            .await
            .unwrap()
            .groups
            .into_iter()
            .map(|g| g.group_name)
            .collect()
    }

    async fn add(&self, user: &str, group: &str) {
        self.account
            .iam
            .add_user_to_group()
            .group_name(group)
            .user_name(user)
            .send()
            .await
            .unwrap();
    }

    async fn tag_exempt(&self, user: &str) {
        self.account
            .iam
            .tag_user()
            .user_name(user)
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
    }
}

fn escalations(notices: &[serde_json::Value]) -> usize {
    notices
        .iter()
        .filter(|n| {
            n["Subject"]
                .as_str()
                .is_some_and(|s| s.contains("escalation attempt"))
        })
        .count()
}

#[tokio::test]
async fn joining_the_admin_group_oneself_is_revoked_and_undone_in_order_and_out_of_order() {
    let f = Fixture::new(&[]).await;
    f.account.user("mallory", &[], &[]).await;
    f.account.user("trudy", &[], &[]).await;
    let r = f.revoker().await;
    // In order: the grant, then a call that only an admin may make.
    f.add("mallory", "Administrators").await;
    let grant = f.call(
        "esc-1",
        "mallory",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "mallory"}),
    );
    let next = f.call(
        "esc-2",
        "mallory",
        "CreateUser",
        serde_json::json!({"userName": "backdoor"}),
    );
    assert!(f
        .deliver(&r, &[&grant, &next])
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(f.account.attached("mallory").await, [f.deny()]);
    assert!(
        f.groups_of("mallory").await.is_empty(),
        "the membership is undone"
    );
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(escalations(&notices), 1);
    let body = notices[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("user/mallory added user/mallory to `Administrators`"),
        "{body}"
    );

    // Out of order: trudy's next call is delivered before its grant, which CloudTrail has.
    f.add("trudy", "Administrators").await;
    let grant = f.call(
        "esc-3",
        "trudy",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "trudy"}),
    );
    let next = f.call(
        "esc-4",
        "trudy",
        "CreateUser",
        serde_json::json!({"userName": "backdoor2"}),
    );
    f.account.in_trail(&[grant.clone(), next.clone()]);
    assert!(f.deliver(&r, &[&next]).await.batch_item_failures.is_empty());
    assert_eq!(f.account.attached("trudy").await, [f.deny()]);
    assert!(f.groups_of("trudy").await.is_empty());
    // The grant arrives later, redelivered twice: nothing more, no second notice.
    let r2 = f.revoker().await;
    assert!(f
        .deliver(&r2, &[&grant, &grant])
        .await
        .batch_item_failures
        .is_empty());
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(escalations(&notices), 1);
    // Never trusted.
    let trusted = warden_core::ports::TrustLedger::trust_set(r.port(), &f.account.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !trusted
            .entries
            .keys()
            .any(|k| k.contains("mallory") || k.contains("trudy")),
        "{trusted:?}"
    );
}

#[tokio::test]
async fn tagging_oneself_exempt_is_revoked_and_the_tag_taken_off_in_order_and_out_of_order() {
    let f = Fixture::new(&[]).await;
    f.account.user("mallory", &[], &[]).await;
    f.account.user("trudy", &[], &[]).await;
    let r = f.revoker().await;
    let tag = |id: &str, who: &str| {
        f.call(id, who, "TagUser", serde_json::json!({"userName": who, "tags": [{"key": "iam-warden:exempt", "value": "true"}]}))
    };
    // A key for dev1, as IAM made it and CloudTrail records it (with its id).
    let key_for_dev1 = |id: &str, who: &str, key: &str| {
        let mut record = f.call(
            id,
            who,
            "CreateAccessKey",
            serde_json::json!({"userName": "dev1"}),
        );
        record["responseElements"] =
            serde_json::json!({"accessKey": {"accessKeyId": key, "userName": "dev1"}});
        record
    };
    let new_key = || async {
        f.account
            .iam
            .create_access_key()
            .user_name("dev1")
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap()
            .access_key_id
    };

    f.tag_exempt("mallory").await;
    let key = new_key().await;
    let (grant, next) = (
        tag("tag-1", "mallory"),
        key_for_dev1("tag-2", "mallory", &key),
    );
    assert!(f
        .deliver(&r, &[&grant, &next])
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(f.account.attached("mallory").await, [f.deny()]);
    assert!(!f
        .account
        .tags("mallory")
        .await
        .contains_key("iam-warden:exempt"));
    // The escalation's notice, and the containment of the key she made for dev1.
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(
        (notices.len(), escalations(&notices)),
        (2, 1),
        "{notices:?}"
    );

    f.tag_exempt("trudy").await;
    let key = new_key().await;
    let (grant, next) = (tag("tag-3", "trudy"), key_for_dev1("tag-4", "trudy", &key));
    f.account.in_trail(&[grant.clone(), next.clone()]);
    assert!(f
        .deliver(&r, &[&next, &grant])
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(f.account.attached("trudy").await, [f.deny()]);
    assert!(!f
        .account
        .tags("trudy")
        .await
        .contains_key("iam-warden:exempt"));
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(
        (notices.len(), escalations(&notices)),
        (1, 1),
        "{notices:?}"
    );
}

#[tokio::test]
async fn a_trusted_admin_makes_an_admin_whose_calls_are_exempt_even_before_the_grant_arrives() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    f.add("dev1", "Administrators").await;
    let grant = f.call(
        "adm-1",
        "alice",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "dev1"}),
    );
    let first = f.call(
        "adm-2",
        "dev1",
        "CreateUser",
        serde_json::json!({"userName": "intern"}),
    );
    f.account.in_trail(&[grant.clone(), first.clone()]);
    assert!(f
        .deliver(&r, &[&first, &grant])
        .await
        .batch_item_failures
        .is_empty());
    assert!(f.account.attached("dev1").await.is_empty());
    assert_eq!(f.groups_of("dev1").await, ["Administrators"]);
    assert!(f.account.notices(&f.inbox).await.is_empty());
    let trusted = warden_core::ports::TrustLedger::trust_set(r.port(), &f.account.id)
        .await
        .unwrap()
        .unwrap();
    let entry = &trusted.entries["admin:user/dev1"];
    assert_eq!(
        entry.provenance,
        warden_core::trust::Provenance::Grant {
            by: "user/alice".into(),
            event_id: "adm-1".into()
        }
    );
    // dev2 joins with nobody's grant in CloudTrail: after the wait, revoked (the default).
    f.add("dev2", "Administrators").await;
    let lone = f.call(
        "adm-3",
        "dev2",
        "CreateUser",
        serde_json::json!({"userName": "x"}),
    );
    assert!(f.deliver(&r, &[&lone]).await.batch_item_failures.is_empty());
    assert_eq!(f.account.attached("dev2").await, [f.deny()]);
}

#[tokio::test]
async fn an_unverified_admins_fresh_event_waits_in_the_deferral_queue_without_holding_up_the_batch()
{
    let mut f = Fixture::new(&[]).await;
    let queue = f.account.queue("iam-warden-deferred", false).await;
    f.config.deferral_queue_url = Some(queue.clone());
    let r = f.revoker().await;
    f.add("dev1", "Administrators").await;
    let fresh = iam_call(
        &f.account.id,
        "w-1",
        "dev1",
        "CreateUser",
        serde_json::json!({"userName": "y"}),
        1,
    );
    let other = f.call(
        "w-2",
        "dev2",
        "CreateUser",
        serde_json::json!({"userName": "z"}),
    );
    let response = f.deliver(&r, &[&fresh, &other]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert!(
        f.account.attached("dev1").await.is_empty(),
        "not decided yet"
    );
    assert_eq!(
        f.account.attached("dev2").await,
        [f.deny()],
        "the next event was not held up"
    );
    // In the deferral queue, delayed until TRUST_WAIT_SECONDS after the call.
    let attributes = f
        .account
        .sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let delayed =
        &attributes[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed];
    assert_eq!(delayed, "1", "{attributes:?}");
    assert!(
        f.account.drain(&queue).await.is_empty(),
        "not visible before its delay"
    );
}

#[tokio::test]
async fn a_deferred_events_failed_deliveries_come_back_with_it_through_sqs_and_bound_its_retries() {
    use warden_core::ports::Deferrals as _;
    let mut f = Fixture::new(&[]).await;
    let queue = f.account.queue("iam-warden-deferred", false).await;
    f.config.deferral_queue_url = Some(queue.clone());
    let r = f.revoker().await;
    let mut bodies = Vec::new();
    for (id, failed) in [("fd-1", 6), ("fd-2", 0)] {
        let mut call = f.call(
            id,
            "dev2",
            "CreateUser",
            serde_json::json!({"userName": id}),
        );
        f.account.real_ids(&mut call).await;
        let body = eventbridge(&call);
        r.port()
            .defer(&body, std::time::Duration::ZERO, failed)
            .await
            .unwrap();
        bodies.push(body);
    }
    // Through SQS (its shortest delay is one second) and the event source, as Lambda
    // gives message attributes.
    let source = warden_it::event_source::EventSource::new(&f.account.sqs, &queue).await;
    let mut records = Vec::new();
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if let Some(batch) = source.receive().await {
            records.extend(batch.event.records);
        }
        if records.len() == 2 {
            break;
        }
    }
    assert_eq!(records.len(), 2);
    let carried = |body: &str| {
        let record = records
            .iter()
            .find(|m| m.body.as_deref() == Some(body))
            .unwrap();
        record
            .message_attributes
            .get("failed-deliveries")
            .map(|a| (a.string_value.clone(), a.data_type.clone()))
    };
    assert_eq!(
        carried(&bodies[0]),
        Some((Some("6".into()), Some("Number".into())))
    );
    assert_eq!(carried(&bodies[1]), None, "nothing failed: nothing carried");

    // An invocation past its time to start messages: the one that carried six is on
    // its seventh delivery, dead-lettered with its reason; the other deferred again,
    // its delivery counted.
    let mut event = SqsEvent::default();
    event.records = records;
    let now = std::time::SystemTime::now();
    let response = revoker::handler::handle_batch_until(&r, r.port(), event, Some(now)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let dead = f.account.drain(&f.dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body.as_deref(), Some(bodies[0].as_str()));
    let reason = dead[0].message_attributes.as_ref().unwrap()["reason"]
        .string_value
        .clone()
        .unwrap();
    assert!(reason.contains("after 7 deliveries"), "{reason}");

    // Read back as `warden consume` reads a queue: the count it carries now.
    let mut again = Vec::new();
    for _ in 0..5 {
        again = r.port().receive(&queue, 1).await.unwrap();
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, bodies[1]);
    assert_eq!(again[0].failed_deliveries.as_deref(), Some("1"));
    // And decided from there as from the events queue.
    let response = handle_batch(&r, r.port(), f.batch(&[again[0].body.clone()])).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(f.account.attached("dev2").await, [f.deny()]);
}

#[tokio::test]
async fn restore_puts_an_escalation_back_and_warden_trust_makes_it_count() {
    let f = Fixture::new(&[]).await;
    f.account.user("mallory", &[], &[]).await;
    let r = f.revoker().await;
    f.add("mallory", "Administrators").await;
    let grant = f.call(
        "rs-1",
        "mallory",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "mallory"}),
    );
    f.deliver(&r, &[&grant]).await;
    assert!(f.groups_of("mallory").await.is_empty());
    let mallory = Target {
        kind: EntityKind::User,
        name: "mallory".into(),
        arn: format!("arn:aws:iam::{}:user/mallory", f.account.id),
    };
    let report = restore(r.port(), r.config(), r.env(), &mallory, false)
        .await
        .unwrap();
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.starts_with("added user/mallory to the group `Administrators`")),
        "{report:?}"
    );
    assert_eq!(f.groups_of("mallory").await, ["Administrators"]);
    assert!(f.account.attached("mallory").await.is_empty());
    // Put back, not trusted: still a non-admin for iam-warden.
    let next = f.call(
        "rs-2",
        "mallory",
        "CreateUser",
        serde_json::json!({"userName": "q"}),
    );
    f.deliver(&r, &[&next]).await;
    assert_eq!(f.account.attached("mallory").await, [f.deny()]);
    restore(r.port(), r.config(), r.env(), &mallory, true)
        .await
        .unwrap();
    warden_core::vouch::vouch(
        r.port(),
        r.config(),
        r.env(),
        &mallory,
        "arn:aws:iam::1:user/operator",
    )
    .await
    .unwrap();
    let after = f.call(
        "rs-3",
        "mallory",
        "CreateUser",
        serde_json::json!({"userName": "q2"}),
    );
    f.deliver(&r, &[&after]).await;
    assert!(f.account.attached("mallory").await.is_empty());
    assert_eq!(f.groups_of("mallory").await, ["Administrators"]);
}

// ---- Revocation the caller cannot stop (issue 10), against moto -------------------

impl Fixture {
    async fn boundary_of(&self, user: &str) -> Option<String> {
        self.account
            .iam
            .get_user()
            .user_name(user)
            .send()
            .await
            .unwrap()
            .user
            .and_then(|u| u.permissions_boundary)
            .and_then(|b| b.permissions_boundary_arn)
    }
}

#[tokio::test]
async fn a_renamed_caller_is_revoked_under_its_new_name_and_the_old_names_holder_untouched() {
    let f = Fixture::new(&[]).await;
    f.account.user("mallory", &[], &[]).await;
    let r = f.revoker().await;
    // mallory's calls, her rename last; CloudTrail records them with her unique id.
    let mut create = f.call(
        "rn-1",
        "mallory",
        "CreateUser",
        serde_json::json!({"userName": "backdoor"}),
    );
    f.account.real_ids(&mut create).await;
    let mut rename = f.call(
        "rn-2",
        "mallory",
        "UpdateUser",
        serde_json::json!({"userName": "mallory", "newUserName": "m4llory"}),
    );
    f.account.real_ids(&mut rename).await;
    f.account
        .iam
        .update_user()
        .user_name("mallory")
        .new_user_name("m4llory")
        .send()
        .await
        .unwrap();
    // Someone else is given the old name.
    f.account.user("mallory", &[], &[]).await;
    let bodies = [eventbridge(&create), eventbridge(&rename)];
    let response = handle_batch(&r, r.port(), f.batch(&bodies)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(f.account.attached("m4llory").await, [f.deny()]);
    assert!(
        f.account.attached("mallory").await.is_empty(),
        "the name's new holder is untouched"
    );
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0]["Subject"]
        .as_str()
        .unwrap()
        .contains("user/m4llory"));
}

#[tokio::test]
async fn a_caller_at_fifty_tags_is_revoked_and_notified_once() {
    let f = Fixture::new(&[]).await;
    let tags: Vec<aws_sdk_iam::types::Tag> = (0..50)
        .map(|i| {
            aws_sdk_iam::types::Tag::builder()
                .key(format!("k{i}"))
                .value("v")
                .build()
                .unwrap()
        })
        .collect();
    f.account
        .iam
        .tag_user()
        .user_name("dev1")
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    let response = f
        .handle(
            &r,
            &[
                "01-iam-user-create-user.json",
                "02-iam-user-duplicate-attach-policy.json",
            ],
        )
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
    assert!(
        !f.account.tags("dev1").await.contains_key(tags::EVENT_ID),
        "no room for the tags"
    );
    assert_eq!(f.account.notices(&f.inbox).await.len(), 1);
    // Redelivered to a fresh container: the ledger says it was notified.
    let r2 = f.revoker().await;
    assert!(f
        .handle(&r2, &["01-iam-user-create-user.json"])
        .await
        .batch_item_failures
        .is_empty());
    assert!(f.account.notices(&f.inbox).await.is_empty());
}

#[tokio::test]
async fn at_every_quota_a_boundary_denies_iam_keeps_the_old_limits_and_restore_puts_it_back() {
    let f = Fixture::new(&[]).await;
    // dev1 and dev2 at the managed-policy quota, their inline room full.
    let big = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{}", "x".repeat(1900))}]}).to_string();
    for user in ["dev1", "dev2"] {
        f.account.fill_managed_policies(user, 10).await;
        f.account
            .iam
            .put_user_policy()
            .user_name(user)
            .policy_name("big")
            .policy_document(&big)
            .send()
            .await
            .unwrap();
    }
    // dev2 already has a boundary that allows only S3.
    let theirs = f
        .account
        .policy("team-boundary", "/", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .await;
    f.account
        .iam
        .put_user_permissions_boundary()
        .user_name("dev2")
        .permissions_boundary(&theirs)
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    let response = f
        .handle(
            &r,
            &[
                "01-iam-user-create-user.json",
                "03-failed-call-access-denied.json",
            ],
        )
        .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    for user in ["dev1", "dev2"] {
        let boundary = f.boundary_of(user).await.unwrap_or_default();
        assert!(
            boundary.ends_with(&format!(
                ":policy/iam-warden/iam-warden-boundary-user-{user}"
            )),
            "{user}: {boundary}"
        );
    }
    // dev2's new boundary keeps its old limit (S3 only) and adds the deny of IAM.
    let (doc, _) = f
        .account
        .policy_document(&f.boundary_of("dev2").await.unwrap())
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let statements = doc["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{doc}");
    assert_eq!(statements[0]["Action"], "s3:*");
    assert_eq!(
        (
            statements[1]["Effect"].as_str(),
            statements[1]["Action"].as_str()
        ),
        (Some("Deny"), Some("iam:*"))
    );
    assert_eq!(f.account.notices(&f.inbox).await.len(), 2);

    // Restore: dev2 gets its exact boundary back, dev1 none.
    for (user, expected) in [("dev2", Some(theirs.clone())), ("dev1", None)] {
        let target = Target {
            kind: EntityKind::User,
            name: user.into(),
            arn: format!("arn:aws:iam::{}:user/{user}", f.account.id),
        };
        restore(r.port(), r.config(), r.env(), &target, false)
            .await
            .unwrap();
        assert_eq!(f.boundary_of(user).await, expected, "{user}");
    }
    assert!(f
        .account
        .policy_document(&format!(
            "arn:aws:iam::{}:policy/iam-warden/iam-warden-boundary-user-dev2",
            f.account.id
        ))
        .await
        .is_none());
}

#[tokio::test]
async fn at_every_quota_of_the_account_too_the_quarantine_is_the_boundary_and_restore_lifts_it() {
    // Issue 18, attack 15: dev1's ten managed policies and inline room full, and the
    // account's customer managed policies too (1,500 by default; the test support
    // enforces the quota, seeded at what the account has now): no boundary policy can
    // be made.
    let f = Fixture::new(&[]).await;
    let big = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{}", "x".repeat(1900))}]}).to_string();
    f.account.fill_managed_policies("dev1", 10).await;
    f.account
        .iam
        .put_user_policy()
        .user_name("dev1")
        .policy_name("big")
        .policy_document(&big)
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    let own = f
        .account
        .iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap()
        .policies
        .unwrap_or_default()
        .len();
    warden_it::post_json(
        "/_warden/quota",
        &serde_json::json!({"account": f.account.id, "policies": own}),
    );
    let response = f.handle(&r, &["01-iam-user-create-user.json"]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let quarantine = f.config.quarantine_policy_arn.clone().unwrap();
    assert_eq!(f.boundary_of("dev1").await, Some(quarantine.clone()));
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let body = notices[0]["Message"].as_str().unwrap();
    assert!(body.contains("quarantine"), "{body}");
    // Restore lifts it (dev1 had no boundary) and keeps the stack's quarantine.
    let dev1 = Target {
        kind: EntityKind::User,
        name: "dev1".into(),
        arn: format!("arn:aws:iam::{}:user/dev1", f.account.id),
    };
    restore(r.port(), r.config(), r.env(), &dev1, false)
        .await
        .unwrap();
    assert_eq!(f.boundary_of("dev1").await, None);
    assert!(f.account.policy_document(&quarantine).await.is_some());
}

#[tokio::test]
async fn a_tampered_or_deleted_deny_is_repaired_and_the_caller_revoked() {
    let f = Fixture::new(&[]).await;
    // In CloudTrail's delay, someone made the deny allow everything.
    f.account
        .iam
        .create_policy_version()
        .policy_arn(f.deny())
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    assert!(f
        .handle(&r, &["01-iam-user-create-user.json"])
        .await
        .batch_item_failures
        .is_empty());
    let (doc, _) = f.account.policy_document(f.deny()).await.unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc).unwrap(),
        serde_json::from_str::<serde_json::Value>(warden_core::DENY_ALL_IAM_POLICY).unwrap()
    );
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
    let notices = f.account.notices(&f.inbox).await;
    let decisions: Vec<&str> = notices
        .iter()
        .map(|n| {
            n["MessageAttributes"]["decision"]["Value"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(decisions, ["tampering", "revoked"]);

    // Deleted while attached to nobody: re-created, and start-up does not refuse.
    let f = Fixture::new(&[]).await;
    f.account
        .iam
        .delete_policy()
        .policy_arn(f.deny())
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    assert!(f
        .handle(&r, &["01-iam-user-create-user.json"])
        .await
        .batch_item_failures
        .is_empty());
    assert!(f.account.policy_document(f.deny()).await.is_some());
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
}

// ---- Self-protection (issue 11), against moto --------------------------------------

/// A management call of another service, by an IAM user of this account.
fn service_call(
    f: &Fixture,
    id: &str,
    caller: &str,
    source: &str,
    name: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let mut record = f.call(id, caller, name, params);
    record["eventSource"] = serde_json::json!(source);
    record
}

#[tokio::test]
async fn switching_the_pipeline_off_is_notified_once_and_its_untrusted_caller_revoked() {
    let f = Fixture::new(&[
        (
            "TOOL_RULE_NAMES",
            "iam-warden-iam-calls,iam-warden-tampering",
        ),
        ("TOOL_QUEUE_NAMES", "iam-warden-events.fifo"),
    ])
    .await;
    let r = f.revoker().await;
    let queue = format!(
        "https://sqs.us-east-1.amazonaws.com/{}/iam-warden-events.fifo",
        f.account.id
    );
    let attacks = [
        service_call(
            &f,
            "tp-1",
            "dev1",
            "events.amazonaws.com",
            "DisableRule",
            serde_json::json!({"name": "iam-warden-iam-calls"}),
        ),
        service_call(
            &f,
            "tp-2",
            "dev1",
            "sqs.amazonaws.com",
            "PurgeQueue",
            serde_json::json!({"queueUrl": queue}),
        ),
        service_call(
            &f,
            "tp-3",
            "dev1",
            "cloudtrail.amazonaws.com",
            "StopLogging",
            serde_json::json!({"name": "org-trail"}),
        ),
    ];
    let refs: Vec<&serde_json::Value> = attacks.iter().collect();
    assert!(f.deliver(&r, &refs).await.batch_item_failures.is_empty());
    assert!(
        f.deliver(&r, &refs).await.batch_item_failures.is_empty(),
        "redelivered"
    );
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
    let notices = f.account.notices(&f.inbox).await;
    let kinds: Vec<&str> = notices
        .iter()
        .map(|n| {
            n["MessageAttributes"]["decision"]["Value"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "tampering").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "revoked").count(),
        1,
        "{kinds:?}"
    );
    let bodies: String = notices
        .iter()
        .map(|n| n["Message"].as_str().unwrap())
        .collect();
    for needle in [
        "DisableRule on the rule `iam-warden-iam-calls`",
        "PurgeQueue on the queue",
        "StopLogging",
    ] {
        assert!(bodies.contains(needle), "{needle} in {bodies}");
    }

    // A trusted admin doing it is notified, not revoked.
    let admin = service_call(
        &f,
        "tp-4",
        "alice",
        "events.amazonaws.com",
        "PutRule",
        serde_json::json!({"name": "iam-warden-tampering"}),
    );
    assert!(f
        .deliver(&r, &[&admin])
        .await
        .batch_item_failures
        .is_empty());
    assert!(f.account.attached("alice").await.is_empty());
    assert_eq!(f.account.notices(&f.inbox).await.len(), 1);

    // The same calls on resources that are not the tool's: nothing.
    let others = [
        service_call(
            &f,
            "tp-5",
            "dev2",
            "events.amazonaws.com",
            "DisableRule",
            serde_json::json!({"name": "their-rule"}),
        ),
        service_call(
            &f,
            "tp-6",
            "dev2",
            "sqs.amazonaws.com",
            "PurgeQueue",
            serde_json::json!({"queueUrl": format!("https://sqs.us-east-1.amazonaws.com/{}/theirs", f.account.id)}),
        ),
    ];
    let refs: Vec<&serde_json::Value> = others.iter().collect();
    assert!(f.deliver(&r, &refs).await.batch_item_failures.is_empty());
    assert!(f.account.attached("dev2").await.is_empty());
    assert!(f.account.notices(&f.inbox).await.is_empty());
}

#[tokio::test]
async fn the_pruners_canary_is_recorded_with_its_delay_and_notifies_nobody() {
    let pruner_role = "arn:aws:iam::{}:role/iam-warden/iam-warden-pruner";
    let f = Fixture::new(&[("CANARY_ROLE_NAME", "iam-warden-canary")]).await;
    let pruner_arn = pruner_role.replace("{}", &f.account.id);
    let mut config = f.config.clone();
    config.pruner_role_arn = Some(pruner_arn.clone());
    let f = Fixture { config, ..f };
    let r = f.revoker().await;
    let mut canary = iam_call(
        &f.account.id,
        "cn-1",
        "x",
        "TagRole",
        serde_json::json!({"roleName": "iam-warden-canary", "tags": [{"key": "iam-warden:canary", "value": "now"}]}),
        4,
    );
    canary["userIdentity"] = serde_json::json!({"type": "AssumedRole", "accountId": f.account.id,
        "arn": format!("arn:aws:sts::{}:assumed-role/iam-warden-pruner/pruner", f.account.id),
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": pruner_arn, "accountId": f.account.id, "userName": "iam-warden-pruner"}}});
    let response = handle_batch(&r, r.port(), f.batch(&[eventbridge(&canary)])).await;
    assert!(response.batch_item_failures.is_empty());
    let (made, seen) = warden_core::ports::Canaries::last_canary(r.port(), &f.account.id)
        .await
        .unwrap()
        .expect("recorded");
    let delay = (seen - made).num_seconds();
    assert!((230..=300).contains(&delay), "{delay}");
    assert!(
        f.account.notices(&f.inbox).await.is_empty(),
        "the canary is nobody's call"
    );
}

/// Containment: what a revoked caller made before the deny.
mod containment;

/// `warden consume --wait`: a long poll longer than the SDK's attempt timeout (10 s)
/// waits it out on an empty queue, instead of failing as a timeout.
#[tokio::test]
async fn a_long_poll_longer_than_the_attempt_timeout_waits_it_out() {
    let t = TestAccount::new().await;
    let url = t.queue("iam-warden-events", true).await;
    // The production timeouts on the queue's client.
    let sqs = aws_sdk_sqs::Client::from_conf(
        t.sqs
            .config()
            .to_builder()
            .timeout_config(warden_aws::timeout_config())
            .build(),
    );
    let account = warden_aws::AwsAccount::from_clients(
        t.iam.clone(),
        t.sns.clone(),
        sqs,
        t.sts.clone(),
        None,
        None,
    );
    let started = std::time::Instant::now();
    let messages = account.receive(&url, 12).await.unwrap();
    assert!(messages.is_empty());
    assert!(started.elapsed() >= std::time::Duration::from_secs(11));
}

#[tokio::test]
async fn a_forged_change_of_trust_is_never_applied_and_a_real_one_is() {
    // Issue 18, attack 2, through the real CloudTrail client (LookupEvents by EventId): a
    // grant "by alice" that only the queue has, written there by mallory, who made herself
    // a member first.
    let f = Fixture::new(&[]).await;
    f.account.user("mallory", &[], &[]).await;
    let r = f.revoker().await;
    f.add("mallory", "Administrators").await;
    let forged = f.call(
        "forged-9",
        "alice",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "mallory"}),
    );
    assert!(f
        .deliver(&r, &[&forged])
        .await
        .batch_item_failures
        .is_empty());
    let trust = || async {
        warden_core::ports::TrustLedger::trust_set(r.port(), &f.account.id)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(
        !trust().await.entries.contains_key("admin:user/mallory"),
        "a forged grant made mallory a trusted admin"
    );
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let body = notices[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("CloudTrail does not have") && body.contains("forged-9"),
        "{body}"
    );

    // alice's real grant to dev1, which CloudTrail has: applied, nothing notified.
    f.add("dev1", "Administrators").await;
    let grant = f.call(
        "real-9",
        "alice",
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "dev1"}),
    );
    f.account.recorded(std::slice::from_ref(&grant)).await;
    assert!(f
        .deliver(&r, &[&grant])
        .await
        .batch_item_failures
        .is_empty());
    assert!(trust().await.entries.contains_key("admin:user/dev1"));
    assert!(
        f.account.notices(&f.inbox).await.is_empty(),
        "no new notice"
    );
}

#[tokio::test]
async fn iam_names_are_compared_as_iam_compares_them_whatever_their_case() {
    // Issue 18, attack 7: IAM resolves `administrators` to `Administrators` and `DEV1` to
    // dev1 (the test support does as IAM does).
    let f = Fixture::new(&[]).await;
    f.account.user("mallory", &[], &[]).await;
    let r = f.revoker().await;
    // alice, trusted, makes dev1 an admin, naming the group and the user in other cases.
    f.add("DEV1", "administrators").await;
    assert_eq!(f.groups_of("dev1").await, ["Administrators"]);
    let grant = f.call(
        "case-1",
        "alice",
        "AddUserToGroup",
        serde_json::json!({"groupName": "administrators", "userName": "DEV1"}),
    );
    f.account.recorded(std::slice::from_ref(&grant)).await;
    assert!(f
        .deliver(&r, &[&grant])
        .await
        .batch_item_failures
        .is_empty());
    let next = f.call(
        "case-2",
        "dev1",
        "CreateUser",
        serde_json::json!({"userName": "intern2"}),
    );
    assert!(f.deliver(&r, &[&next]).await.batch_item_failures.is_empty());
    assert!(
        f.account.attached("dev1").await.is_empty(),
        "a trusted admin's grant, in another case, made dev1 an admin"
    );
    // mallory adds herself the same way: an escalation, undone.
    f.add("MALLORY", "ADMINISTRATORS").await;
    let escalation = f.call(
        "case-3",
        "mallory",
        "AddUserToGroup",
        serde_json::json!({"groupName": "ADMINISTRATORS", "userName": "MALLORY"}),
    );
    assert!(f
        .deliver(&r, &[&escalation])
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(f.account.attached("mallory").await, [f.deny()]);
    assert!(
        f.groups_of("mallory").await.is_empty(),
        "the membership is undone"
    );
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(escalations(&notices), 1, "{notices:?}");
}

// ---- Issue 18, attack 1: credentials made for a trusted principal -----------------

impl Fixture {
    /// An access key IAM makes for `user` now, and the CloudTrail record of `maker`
    /// making it.
    async fn minted_key(&self, id: &str, maker: &str, user: &str) -> (String, serde_json::Value) {
        let key = self
            .account
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap()
            .access_key_id;
        let mut record = iam_call(
            &self.account.id,
            id,
            maker,
            "CreateAccessKey",
            serde_json::json!({"userName": user}),
            0,
        );
        record["responseElements"] = serde_json::json!({"accessKey": {
            "accessKeyId": key, "userName": user, "status": "Active"}});
        self.account.real_ids(&mut record).await;
        (key, record)
    }

    /// A call by `user` made with its access key `key`, just now.
    fn with_key(
        &self,
        id: &str,
        user: &str,
        key: &str,
        name: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        let mut record = iam_call(&self.account.id, id, user, name, params, 0);
        record["userIdentity"]["accessKeyId"] = serde_json::Value::String(key.to_owned());
        record
    }
}

#[tokio::test]
async fn a_key_minted_for_an_admin_makes_its_calls_the_minters_never_a_trusted_grant() {
    let mut f = Fixture::new(&[]).await;
    let queue = f.account.queue("iam-warden-deferred", false).await;
    f.config.deferral_queue_url = Some(queue.clone());
    f.account.user("mal", &[], &[]).await;
    f.account.user("mal2", &[], &[]).await;
    let r = f.revoker().await;
    // mal mints a key for alice (an admin), and with it makes mal2 an admin "by alice".
    let (key, mint) = f.minted_key("mint-1", "mal", "alice").await;
    f.add("mal2", "Administrators").await;
    let grant = f.with_key(
        "mint-2",
        "alice",
        &key,
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "mal2"}),
    );
    // The grant arrives first, and CloudTrail's history does not show the key's making
    // yet: the key is new, so the grant waits; nothing is decided.
    let response = f.deliver(&r, &[&grant]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(f.groups_of("mal2").await, ["Administrators"]);
    assert!(f.account.attached("mal").await.is_empty());
    assert_eq!(
        f.account.drain(&queue).await.len(),
        0,
        "delayed, not visible"
    );
    let trusted = warden_core::ports::TrustLedger::trust_set(r.port(), &f.account.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !trusted.entries.contains_key("admin:user/mal2"),
        "{trusted:?}"
    );

    // Asked again once CloudTrail has the making: the grant is mal's, undone, and mal is
    // revoked; alice, whose key it is, keeps everything.
    f.account.in_trail(std::slice::from_ref(&mint));
    let response = f.deliver(&r, &[&grant]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(f.account.attached("mal").await, [f.deny()]);
    assert!(f.groups_of("mal2").await.is_empty(), "the grant is undone");
    assert!(f.account.attached("alice").await.is_empty());
    assert_eq!(f.groups_of("alice").await, ["Administrators"]);
    let trusted = warden_core::ports::TrustLedger::trust_set(r.port(), &f.account.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !trusted.entries.contains_key("admin:user/mal2"),
        "{trusted:?}"
    );
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let body = notices[0]["Message"].as_str().unwrap();
    assert!(body.contains("user/mal"), "{body}");
    assert!(
        body.contains(&format!("access key {key} of user/alice")),
        "the notice says whose key made the call: {body}"
    );

    // The making itself, delivered last: the key is deactivated, alice untouched.
    let response = f.deliver(&r, &[&mint]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let keys = f
        .account
        .iam
        .list_access_keys()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .access_key_metadata;
    let status = keys
        .iter()
        .find(|k| k.access_key_id.as_deref() == Some(key.as_str()))
        .and_then(|k| k.status.clone());
    assert_eq!(status, Some(aws_sdk_iam::types::StatusType::Inactive));
    assert!(f.account.attached("alice").await.is_empty());

    // alice's own new key: her grant with it is hers, trusted.
    let (own, made) = f.minted_key("mint-3", "alice", "alice").await;
    f.account.in_trail(std::slice::from_ref(&made));
    f.add("dev1", "Administrators").await;
    let hers = f.with_key(
        "mint-4",
        "alice",
        &own,
        "AddUserToGroup",
        serde_json::json!({"groupName": "Administrators", "userName": "dev1"}),
    );
    let mut hers = hers;
    f.account.real_ids(&mut hers).await;
    f.account.in_trail(std::slice::from_ref(&hers));
    let response = f.deliver(&r, &[&made, &hers]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(f.groups_of("dev1").await, ["Administrators"]);
    let trusted = warden_core::ports::TrustLedger::trust_set(r.port(), &f.account.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        trusted.entries.contains_key("admin:user/dev1"),
        "{trusted:?}"
    );
}

// ---- Issue 18, attack 6: the admin group renamed, or two groups' names swapped -----

impl Fixture {
    async fn rename_group(&self, from: &str, to: &str) {
        self.account
            .iam
            .update_group()
            .group_name(from)
            .new_group_name(to)
            .send()
            .await
            .unwrap();
    }

    async fn group_id(&self, name: &str) -> Option<String> {
        self.account
            .iam
            .get_group()
            .group_name(name)
            .send()
            .await
            .ok()
            .and_then(|g| g.group)
            .map(|g| g.group_id)
    }

    async fn trusts_admin(&self, r: &Revoker<warden_aws::AwsAccount>, user: &str) -> bool {
        warden_core::ports::TrustLedger::trust_set(r.port(), &self.account.id)
            .await
            .unwrap()
            .unwrap()
            .entries
            .contains_key(&format!("admin:user/{user}"))
    }

    fn tampering(notices: &[serde_json::Value]) -> Vec<String> {
        notices
            .iter()
            .filter(|n| n["MessageAttributes"]["decision"]["Value"] == "tampering")
            .map(|n| n["Message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn the_admin_group_renamed_away_is_renamed_back_and_trust_is_untouched() {
    let f = Fixture::new(&[]).await;
    let r = f.revoker().await;
    let id = f.group_id("Administrators").await.unwrap();
    // dev1 renames the admin group away; CloudTrail delivers it minutes later.
    f.rename_group("Administrators", "Old").await;
    let renamed = f.call(
        "grp-1",
        "dev1",
        "UpdateGroup",
        serde_json::json!({"groupName": "Administrators", "newGroupName": "Old"}),
    );
    let response = f.deliver(&r, &[&renamed]).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(f.group_id("Administrators").await, Some(id), "renamed back");
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
    assert!(f.trusts_admin(&r, "alice").await, "trust is untouched");
    let notices = f.account.notices(&f.inbox).await;
    let tampering = Fixture::tampering(&notices);
    assert!(
        tampering.iter().any(|t| t.contains("renamed back")),
        "{notices:?}"
    );
    // alice's next call is an admin's.
    let next = f.call(
        "grp-2",
        "alice",
        "CreateUser",
        serde_json::json!({"userName": "intern"}),
    );
    assert!(f.deliver(&r, &[&next]).await.batch_item_failures.is_empty());
    assert!(f.account.attached("alice").await.is_empty());
}

#[tokio::test]
async fn a_cold_start_finds_the_renamed_admin_group_by_id_renames_it_back_and_says_so() {
    let f = Fixture::new(&[]).await;
    // The first start records the group's id; the group is renamed before the next one.
    let first = f.revoker().await;
    let id = f.group_id("Administrators").await.unwrap();
    drop(first);
    f.rename_group("Administrators", "Old").await;
    let r = f.revoker().await;
    assert_eq!(f.group_id("Administrators").await, Some(id));
    let notices = f.account.notices(&f.inbox).await;
    assert!(
        Fixture::tampering(&notices)
            .iter()
            .any(|t| t.contains("`Old`") && t.contains("renamed back")),
        "{notices:?}"
    );
    assert!(f.trusts_admin(&r, "alice").await);
}

#[tokio::test]
async fn two_group_names_swapped_leave_the_admin_group_by_id_and_no_new_admin() {
    let f = Fixture::new(&[]).await;
    f.account.group("Ops").await;
    f.add("dev2", "Ops").await;
    let r = f.revoker().await;
    let admins = f.group_id("Administrators").await.unwrap();
    let ops = f.group_id("Ops").await.unwrap();
    // dev1 swaps the names through a third: Ops's members (dev2) would be the admins.
    let mut events = Vec::new();
    for (n, (from, to)) in [
        ("Administrators", "tmp"),
        ("Ops", "Administrators"),
        ("tmp", "Ops"),
    ]
    .into_iter()
    .enumerate()
    {
        f.rename_group(from, to).await;
        events.push(f.call(
            &format!("swap-{n}"),
            "dev1",
            "UpdateGroup",
            serde_json::json!({"groupName": from, "newGroupName": to}),
        ));
    }
    let batch: Vec<&serde_json::Value> = events.iter().collect();
    let response = f.deliver(&r, &batch).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(f.group_id("Administrators").await, Some(admins.clone()));
    assert_ne!(f.group_id("Ops").await, Some(admins.clone()));
    assert!(f.group_id("Ops").await.is_none() || f.group_id("Ops").await == Some(ops));
    assert_eq!(f.groups_of("alice").await, ["Administrators"]);
    assert!(f.trusts_admin(&r, "alice").await);
    assert!(!f.trusts_admin(&r, "dev2").await);
    assert_eq!(f.account.attached("dev1").await, [f.deny()]);
    let next = f.call(
        "swap-9",
        "alice",
        "CreateUser",
        serde_json::json!({"userName": "intern"}),
    );
    assert!(f.deliver(&r, &[&next]).await.batch_item_failures.is_empty());
    assert!(f.account.attached("alice").await.is_empty());
}

// ---- Sessions (issue 19): a role session stopped alone, by its aws:userid ----------

impl Fixture {
    async fn role_with_id(&self, name: &str) -> String {
        self.account
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .unwrap()
            .role
            .unwrap()
            .role_id
    }

    /// The sample role session's event as session `name` of the role, with event id `id`.
    async fn session_event(&self, name: &str, id: &str) -> String {
        let mut value: serde_json::Value =
            serde_json::from_str(&self.account.real_event("06-assumed-role.json").await).unwrap();
        let identity = &mut value["detail"]["userIdentity"];
        let role_id = identity["sessionContext"]["sessionIssuer"]["principalId"]
            .as_str()
            .unwrap()
            .to_owned();
        identity["principalId"] = format!("{role_id}:{name}").into();
        identity["arn"] = format!(
            "arn:aws:sts::{}:assumed-role/deployer/{name}",
            self.account.id
        )
        .into();
        value["detail"]["eventID"] = id.into();
        value["id"] = format!("eb-{id}").into();
        value.to_string()
    }

    async fn sessions_denied(&self, role: &str) -> Option<serde_json::Value> {
        let doc = self
            .account
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(warden_core::session::SESSIONS_POLICY)
            .send()
            .await
            .ok()?
            .policy_document;
        serde_json::from_str(&urlencoding_decode(&doc)).ok()
    }
}

/// The notices of one kind (`decision` attribute): a session's source has its own.
fn of_kind(notices: Vec<serde_json::Value>, kind: &str) -> Vec<serde_json::Value> {
    notices
        .into_iter()
        .filter(|n| n["MessageAttributes"]["decision"]["Value"] == kind)
        .collect()
}

#[tokio::test]
async fn a_session_is_denied_alone_by_its_aws_userid_and_restored_alone() {
    let f = Fixture::new(&[]).await;
    let role_id = f.role_with_id("deployer").await;
    let r = f.revoker().await;
    let bodies = vec![
        f.session_event("gh-actions-1234", "s-1").await,
        f.session_event("alice@example.com", "s-2").await,
    ];
    let out = handle_batch(&r, r.port(), f.batch(&bodies)).await;
    assert!(out.batch_item_failures.is_empty());

    // One Deny of iam:* on exactly the two sessions' ids: any other session of the
    // role (another aws:userid) is outside StringEquals, and so untouched.
    let doc = f
        .sessions_denied("deployer")
        .await
        .expect("the sessions deny");
    let st = &doc["Statement"][0];
    assert_eq!(
        (&st["Effect"], &st["Action"]),
        (
            &"Deny".into(),
            &serde_json::json!(["iam:*", "sts:AssumeRole"])
        )
    );
    assert_eq!(
        st["Condition"]["StringEquals"]["aws:userid"],
        serde_json::json!([
            format!("{role_id}:alice@example.com"),
            format!("{role_id}:gh-actions-1234")
        ])
    );
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    let attached = f
        .account
        .iam
        .list_attached_role_policies()
        .role_name("deployer")
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap_or_default();
    assert!(attached.is_empty(), "the role is not revoked: {attached:?}");
    let notices = of_kind(f.account.notices(&f.inbox).await, "revoked");
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices.iter().all(|n| n["Message"]
        .as_str()
        .unwrap()
        .contains("warden restore --role deployer --session ")));

    // The ledger holds the same two ids (IAM's copy is anyone's to edit who may write
    // the role's policies).
    let held = warden_core::ports::Revocations::denied_sessions(r.port(), &f.account.id, &role_id)
        .await
        .unwrap();
    assert_eq!(held.len(), 2, "{held:?}");

    // Delivered again: already revoked, no notice.
    let out = handle_batch(&r, r.port(), f.batch(&bodies)).await;
    assert!(out.batch_item_failures.is_empty());
    assert!(f.account.notices(&f.inbox).await.is_empty());

    // One session restored: the other stays denied.
    let role = Target {
        kind: EntityKind::Role,
        name: "deployer".into(),
        arn: format!("arn:aws:iam::{}:role/deployer", f.account.id),
    };
    let report = warden_core::revoker::restore_session(
        r.port(),
        r.config(),
        r.env(),
        &role,
        "gh-actions-1234",
    )
    .await
    .unwrap();
    assert!(report.restored, "{report:?}");
    let doc = f.sessions_denied("deployer").await.expect("still there");
    assert_eq!(
        doc["Statement"][0]["Condition"]["StringEquals"]["aws:userid"],
        serde_json::json!([format!("{role_id}:alice@example.com")])
    );
    let notices = f.account.notices(&f.inbox).await;
    assert_eq!(
        notices[0]["MessageAttributes"]["decision"]["Value"],
        "restored"
    );

    // The role's inline policies full (10,240 characters, whitespace not counted), five
    // characters to spare: a managed policy of the tool holds the next session's deny.
    let filler = |n: usize| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
            "b".repeat(n)
        )
    };
    let held = doc.to_string().len();
    let filler = filler(10_240 - 5 - held - filler(0).len());
    f.account
        .iam
        .put_role_policy()
        .role_name("deployer")
        .policy_name("big")
        .policy_document(filler)
        .send()
        .await
        .unwrap();
    let third = vec![f.session_event("third", "s-3").await];
    let out = handle_batch(&r, r.port(), f.batch(&third)).await;
    assert!(out.batch_item_failures.is_empty());
    let managed = format!(
        "arn:aws:iam::{}:policy/iam-warden/iam-warden-sessions-deployer",
        f.account.id
    );
    let attached: Vec<String> = f
        .account
        .iam
        .list_attached_role_policies()
        .role_name("deployer")
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect();
    assert_eq!(attached, [managed]);
    let held = warden_core::ports::Revocations::denied_sessions(r.port(), &f.account.id, &role_id)
        .await
        .unwrap();
    assert_eq!(
        held,
        [
            format!("{role_id}:alice@example.com"),
            format!("{role_id}:third")
        ]
        .into_iter()
        .collect()
    );
    let notices = of_kind(f.account.notices(&f.inbox).await, "revoked");
    assert_eq!(notices.len(), 1);
    assert!(notices[0]["Message"]
        .as_str()
        .unwrap()
        .contains("iam-warden-sessions-deployer"));

    // The whole role restored: every session deny lifted, in both homes.
    let report = restore(r.port(), r.config(), r.env(), &role, false)
        .await
        .unwrap();
    assert!(report.restored, "{report:?}");
    assert!(f.sessions_denied("deployer").await.is_none());
    let attached = f
        .account
        .iam
        .list_attached_role_policies()
        .role_name("deployer")
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap_or_default();
    assert!(attached.is_empty(), "{attached:?}");
}

#[tokio::test]
async fn a_sessions_source_is_found_in_cloudtrail_revoked_and_kept_from_assuming_again() {
    let f = Fixture::new(&[]).await;
    let role_id = f.role_with_id("deployer").await;
    f.account.user("eve", &[], &[]).await;
    let eve_id = f
        .account
        .iam
        .get_user()
        .user_name("eve")
        .send()
        .await
        .unwrap()
        .user
        .unwrap()
        .user_id;
    let r = f.revoker().await;
    // eve assumed deployer as `stolen-ci` two minutes ago; the session then wrote IAM.
    let began = (chrono::Utc::now() - chrono::TimeDelta::minutes(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut assume = iam_call(
        &f.account.id,
        "assume-1",
        "eve",
        "AssumeRole",
        serde_json::json!({"roleArn": format!("arn:aws:iam::{}:role/deployer", f.account.id),
            "roleSessionName": "stolen-ci"}),
        2,
    );
    assume["eventSource"] = "sts.amazonaws.com".into();
    assume["userIdentity"]["principalId"] = eve_id.into();
    assume["responseElements"] = serde_json::json!({"assumedRoleUser": {
        "assumedRoleId": format!("{role_id}:stolen-ci"),
        "arn": format!("arn:aws:sts::{}:assumed-role/deployer/stolen-ci", f.account.id)}});
    f.account.in_trail(&[assume]);
    let mut body: serde_json::Value =
        serde_json::from_str(&f.session_event("stolen-ci", "s-src").await).unwrap();
    body["detail"]["userIdentity"]["sessionContext"]["attributes"]["creationDate"] =
        began.clone().into();
    body["detail"]["eventTime"] = began.into();
    let out = handle_batch(&r, r.port(), f.batch(&[body.to_string()])).await;
    assert!(out.batch_item_failures.is_empty());

    // The session denied alone; eve, its source, revoked and denied assuming deployer again.
    let doc = f
        .sessions_denied("deployer")
        .await
        .expect("the sessions deny");
    assert_eq!(
        doc["Statement"][0]["Condition"]["StringEquals"]["aws:userid"],
        serde_json::json!([format!("{role_id}:stolen-ci")])
    );
    assert_eq!(f.account.attached("eve").await, [f.deny()]);
    let no_assume = f
        .account
        .iam
        .get_user_policy()
        .user_name("eve")
        .policy_name(warden_core::source::NO_ASSUME_POLICY)
        .send()
        .await
        .unwrap()
        .policy_document;
    let no_assume: serde_json::Value =
        serde_json::from_str(&urlencoding_decode(&no_assume)).unwrap();
    assert_eq!(
        no_assume["Statement"][0]["Resource"],
        serde_json::json!([format!("arn:aws:iam::{}:role/deployer", f.account.id)])
    );
    let notices = f.account.notices(&f.inbox).await;
    let kinds: Vec<&str> = notices
        .iter()
        .map(|n| {
            n["MessageAttributes"]["decision"]["Value"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "source").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "revoked").count(),
        2,
        "{kinds:?}"
    );

    // Restore of the session: its deny and eve's deny of assuming again lifted (eve's own
    // revocation is hers: `warden restore --user eve`).
    let role = Target {
        kind: EntityKind::Role,
        name: "deployer".into(),
        arn: format!("arn:aws:iam::{}:role/deployer", f.account.id),
    };
    let report =
        warden_core::revoker::restore_session(r.port(), r.config(), r.env(), &role, "stolen-ci")
            .await
            .unwrap();
    assert!(report.restored, "{report:?}");
    assert!(f.sessions_denied("deployer").await.is_none());
    assert!(f.account.inline("eve").await.is_empty());
    assert_eq!(f.account.attached("eve").await, [f.deny()]);
}

// ---- Identity Center (issue 19) ---------------------------------------------------

#[tokio::test]
async fn an_identity_center_users_write_is_contained_its_role_never_touched_and_an_admin_set_exempt(
) {
    const SSO_ROLE: &str = "AWSReservedSSO_PowerUser_0a1b2c3d4e5f6a7b";
    for admin_sets in ["", "PowerUser"] {
        let f = Fixture::new(&[("ADMIN_PERMISSION_SETS", admin_sets)]).await;
        // Identity Center's role (the test support refuses IAM writes to it, as AWS does).
        f.account.identity_center_role(SSO_ROLE).await;
        f.role_with_id("app").await;
        let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        f.account
            .iam
            .put_role_policy()
            .role_name("app")
            .policy_name("extra")
            .policy_document(document)
            .send()
            .await
            .unwrap();
        let r = f.revoker().await;
        let mut body: serde_json::Value =
            serde_json::from_str(&f.account.real_event("07-identity-center-role.json").await)
                .unwrap();
        body["detail"]["requestParameters"]["policyDocument"] = document.into();
        body["detail"]["userIdentity"]["onBehalfOf"] = serde_json::json!({"userId": "9067-aaaa", "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"});
        let out = handle_batch(&r, r.port(), f.batch(&[body.to_string()])).await;
        assert!(out.batch_item_failures.is_empty(), "{admin_sets}");
        let inline = f
            .account
            .iam
            .list_role_policies()
            .role_name("app")
            .send()
            .await
            .unwrap()
            .policy_names;
        let sso = f
            .account
            .iam
            .list_role_policies()
            .role_name(SSO_ROLE)
            .send()
            .await
            .unwrap()
            .policy_names;
        assert!(sso.is_empty(), "Identity Center's role is never written to");
        let notices = f.account.notices(&f.inbox).await;
        if admin_sets.is_empty() {
            assert!(inline.is_empty(), "the inline policy it put is contained");
            assert!(
                notices.iter().any(|n| n["Message"]
                    .as_str()
                    .unwrap()
                    .contains("identitystore:userId")),
                "{notices:?}"
            );
        } else {
            assert_eq!(inline, ["extra"], "an admin permission set's write stands");
            let set = warden_core::ports::TrustLedger::trust_set(r.port(), &f.account.id)
                .await
                .unwrap()
                .unwrap();
            assert!(set
                .get(
                    warden_core::trust::Status::Exempt,
                    EntityKind::Role,
                    SSO_ROLE
                )
                .is_some());
        }
    }
}

#[tokio::test]
async fn the_ledger_keeps_a_roles_own_boundary_once_and_its_revoked_sessions_as_a_set() {
    use warden_core::ports::Revocations;
    let f = Fixture::new(&[]).await;
    let aws = f.account.aws(&f.config);
    let account = f.account.id.clone();
    assert_eq!(aws.kept_boundary(&account, "AROA1").await.unwrap(), None);
    // None kept ("it had none"), then another: the first stands.
    aws.keep_boundary(&account, "AROA1", Some(None))
        .await
        .unwrap();
    aws.keep_boundary(&account, "AROA1", Some(Some("arn:aws:iam::1:policy/x")))
        .await
        .unwrap();
    assert_eq!(
        aws.kept_boundary(&account, "AROA1").await.unwrap(),
        Some(None)
    );
    aws.keep_boundary(&account, "AROA1", None).await.unwrap();
    assert_eq!(aws.kept_boundary(&account, "AROA1").await.unwrap(), None);
    aws.keep_boundary(&account, "AROA1", Some(Some("arn:aws:iam::1:policy/x")))
        .await
        .unwrap();
    assert_eq!(
        aws.kept_boundary(&account, "AROA1").await.unwrap(),
        Some(Some("arn:aws:iam::1:policy/x".into()))
    );
    // The set of revoked sessions, added to and taken from atomically.
    let ids = |list: &[&str]| -> std::collections::BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    };
    aws.change_denied_sessions(&account, "AROA1", &ids(&["AROA1:a", "AROA1:b"]), true)
        .await
        .unwrap();
    aws.change_denied_sessions(&account, "AROA1", &ids(&["AROA1:a"]), false)
        .await
        .unwrap();
    assert_eq!(
        aws.denied_sessions(&account, "AROA1").await.unwrap(),
        ids(&["AROA1:b"])
    );
    // The boundary kept is still there beside the set.
    assert!(aws
        .kept_boundary(&account, "AROA1")
        .await
        .unwrap()
        .is_some());
}
