//! Containment against moto, through the Lambda handler and the real SDK: mallory's
//! attack chain (IAM applied her calls minutes before CloudTrail delivered them),
//! contained in and out of order, delivered twice, then restored to the exact state.

use serde_json::{json, Value};
use warden_core::principal::{EntityKind, Target};
use warden_core::revoker::{restore, Revoker};

use super::Fixture;

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const TRUST_OUTSIDE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;

struct Attack {
    f: Fixture,
    admin_like: String,
    key: String,
    events: Vec<Value>,
}

/// An account with the quarantine policy, mallory (no admin) and the role `app`; then
/// mallory's calls as IAM applied them, and their CloudTrail records.
async fn attacked() -> Attack {
    let f = Fixture::new(&[]).await;
    let iam = &f.account.iam;
    f.account.user("mallory", &[], &[]).await;
    f.account.group("devs").await;
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(TRUST_EC2)
        .send()
        .await
        .unwrap();
    let admin_like = f.account.policy("AdminLike", "/", ALLOW_ALL).await;

    // What mallory did, minutes before the events arrive.
    f.account.user("backdoor", &[], &[]).await;
    iam.attach_user_policy()
        .user_name("backdoor")
        .policy_arn(&admin_like)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("backdoor")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    iam.create_login_profile()
        .user_name("backdoor")
        .password("Mallory-Was-Here-1!")
        .send()
        .await
        .unwrap();
    f.add("backdoor", "devs").await;
    iam.put_role_policy()
        .role_name("app")
        .policy_name("all")
        .policy_document(ALLOW_ALL)
        .send()
        .await
        .unwrap();
    iam.update_assume_role_policy()
        .role_name("app")
        .policy_document(TRUST_OUTSIDE)
        .send()
        .await
        .unwrap();

    let with_response = |mut record: Value, response: Value| {
        record["responseElements"] = response;
        record
    };
    let events = vec![
        with_response(
            f.call(
                "c1",
                "mallory",
                "CreateUser",
                json!({"userName": "backdoor"}),
            ),
            json!({"user": {"userName": "backdoor", "path": "/"}}),
        ),
        f.call(
            "c2",
            "mallory",
            "AttachUserPolicy",
            json!({"userName": "backdoor", "policyArn": admin_like}),
        ),
        with_response(
            f.call(
                "c3",
                "mallory",
                "CreateAccessKey",
                json!({"userName": "backdoor"}),
            ),
            json!({"accessKey": {"accessKeyId": key, "userName": "backdoor", "status": "Active"}}),
        ),
        with_response(
            f.call(
                "c4",
                "mallory",
                "CreateLoginProfile",
                json!({"userName": "backdoor", "passwordResetRequired": false}),
            ),
            json!({"loginProfile": {"userName": "backdoor", "passwordResetRequired": false}}),
        ),
        f.call(
            "c5",
            "mallory",
            "AddUserToGroup",
            json!({"groupName": "devs", "userName": "backdoor"}),
        ),
        f.call(
            "c6",
            "mallory",
            "PutRolePolicy",
            json!({"roleName": "app", "policyName": "all", "policyDocument": ALLOW_ALL}),
        ),
        f.call(
            "c7",
            "mallory",
            "UpdateAssumeRolePolicy",
            json!({"roleName": "app", "policyDocument": TRUST_OUTSIDE}),
        ),
    ];
    Attack {
        f,
        admin_like,
        key,
        events,
    }
}

/// The IAM state containment and restore change, as IAM reports it.
async fn state(f: &Fixture) -> Value {
    let iam = &f.account.iam;
    let attached_user = iam
        .list_attached_user_policies()
        .user_name("backdoor")
        .send()
        .await
        .unwrap();
    let keys = iam
        .list_access_keys()
        .user_name("backdoor")
        .send()
        .await
        .unwrap();
    let login = iam
        .get_login_profile()
        .user_name("backdoor")
        .send()
        .await
        .ok()
        .and_then(|o| o.login_profile)
        .map(|p| p.password_reset_required);
    let inline_role = iam
        .list_role_policies()
        .role_name("app")
        .send()
        .await
        .unwrap();
    let mut documents = Vec::new();
    for name in &inline_role.policy_names {
        let doc = iam
            .get_role_policy()
            .role_name("app")
            .policy_name(name)
            .send()
            .await
            .unwrap()
            .policy_document;
        let doc = percent_encoding::percent_decode_str(&doc)
            .decode_utf8()
            .unwrap()
            .into_owned();
        documents.push(serde_json::from_str::<Value>(&doc).unwrap());
    }
    let attached_role = iam
        .list_attached_role_policies()
        .role_name("app")
        .send()
        .await
        .unwrap();
    json!({
        "backdoor_policies": attached_user.attached_policies().iter().map(|p| p.policy_arn().unwrap_or_default()).collect::<Vec<_>>(),
        "backdoor_keys": keys.access_key_metadata().iter().map(|k| format!("{}={}", k.access_key_id().unwrap_or_default(), k.status().map(|s| s.as_str()).unwrap_or_default())).collect::<Vec<_>>(),
        "backdoor_login": login,
        "backdoor_groups": f.groups_of("backdoor").await,
        "app_inline": inline_role.policy_names,
        "app_documents": documents,
        "app_policies": attached_role.attached_policies().iter().map(|p| p.policy_arn().unwrap_or_default()).collect::<Vec<_>>(),
    })
}

fn quarantine(f: &Fixture) -> String {
    f.config.quarantine_policy_arn.clone().unwrap()
}

async fn assert_contained(a: &Attack) {
    let s = state(&a.f).await;
    let q = quarantine(&a.f);
    assert_eq!(s["backdoor_policies"], json!([q]), "{s:#}");
    assert_eq!(s["backdoor_keys"], json!([format!("{}=Inactive", a.key)]));
    assert_eq!(s["backdoor_login"], Value::Null, "login profile deleted");
    assert_eq!(s["backdoor_groups"], json!([]));
    assert_eq!(
        s["app_inline"],
        json!([warden_core::containment::SESSIONS_POLICY_NAME])
    );
    assert_eq!(s["app_policies"], json!([q]));
    assert_eq!(a.f.account.attached("mallory").await, [a.f.deny()]);
}

fn mallory(f: &Fixture) -> Target {
    Target {
        kind: EntityKind::User,
        name: "mallory".into(),
        arn: format!("arn:aws:iam::{}:user/mallory", f.account.id),
    }
}

async fn deliver_each(a: &Attack, r: &Revoker<warden_aws::AwsAccount>, order: &[usize]) {
    for i in order {
        let response = a.f.deliver(r, &[&a.events[*i]]).await;
        assert!(response.batch_item_failures.is_empty(), "event {i}");
    }
}

#[tokio::test]
async fn the_attack_chain_is_contained_notified_once_and_restored_exactly() {
    let a = attacked().await;
    let r = a.f.revoker().await;
    let before = state(&a.f).await;
    assert_eq!(before["backdoor_policies"], json!([a.admin_like]));

    deliver_each(&a, &r, &[0, 1, 2, 3, 4, 5, 6]).await;
    assert_contained(&a).await;
    let notices = a.f.account.notices(&a.f.inbox).await;
    assert_eq!(notices.len(), 7, "the revocation, then one per later event");

    // Delivered again: nothing done twice, nothing notified twice.
    let again = Revoker::new(r.port().clone(), r.config().clone(), r.env().clone());
    deliver_each(&a, &again, &[0, 1, 2, 3, 4, 5, 6]).await;
    assert_contained(&a).await;
    assert!(a.f.account.notices(&a.f.inbox).await.is_empty());

    // The work was legitimate: everything comes back as it was before containment.
    let report = restore(r.port(), r.config(), r.env(), &mallory(&a.f), false)
        .await
        .unwrap();
    let after = state(&a.f).await;
    let mut expected = before.clone();
    // The console password is a new one, to be changed at the next sign-in.
    expected["backdoor_login"] = json!(true);
    assert_eq!(after, expected, "{:#?}", report.actions);
    assert_eq!(report.secrets.len(), 1);
    assert!(a.f.account.attached("mallory").await.is_empty());
}

#[tokio::test]
async fn out_of_order_the_attack_chain_is_contained_the_same() {
    let a = attacked().await;
    let r = a.f.revoker().await;
    // The trust opened first, the user last: the first event still revokes mallory,
    // and each contains exactly what its call made.
    deliver_each(&a, &r, &[6, 2, 4, 1, 5, 3, 0]).await;
    assert_contained(&a).await;
    assert_eq!(a.f.account.notices(&a.f.inbox).await.len(), 7);
}

#[tokio::test]
async fn a_grant_to_an_admin_is_left_and_reported_with_the_command() {
    let a = attacked().await;
    let r = a.f.revoker().await;
    let iam = &a.f.account.iam;
    iam.attach_user_policy()
        .user_name("alice")
        .policy_arn(&a.admin_like)
        .send()
        .await
        .unwrap();
    let grant = a.f.call(
        "g1",
        "mallory",
        "AttachUserPolicy",
        json!({"userName": "alice", "policyArn": a.admin_like}),
    );
    a.f.deliver(&r, &[&grant]).await;
    assert_eq!(
        a.f.account.attached("alice").await,
        std::slice::from_ref(&a.admin_like)
    );
    assert_eq!(a.f.account.attached("mallory").await, [a.f.deny()]);
    let notices = a.f.account.notices(&a.f.inbox).await;
    let body = notices[0]["Message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(body.contains("user/alice is a trusted admin"), "{body}");
    assert!(
        body.contains(&format!(
            "aws iam detach-user-policy --user-name alice --policy-arn {}",
            a.admin_like
        )),
        "{body}"
    );
}

#[tokio::test]
async fn at_both_quotas_the_backdoor_is_quarantined_by_a_boundary_and_restored() {
    let a = attacked().await;
    let r = a.f.revoker().await;
    // mallory filled the backdoor's managed-policy quota (10, with AdminLike) and its
    // inline size (2,048 characters) before the events arrived.
    a.f.account.fill_managed_policies("backdoor", 9).await;
    let filler = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
        "x".repeat(1900)
    );
    a.f.account
        .iam
        .put_user_policy()
        .user_name("backdoor")
        .policy_name("filler")
        .policy_document(&filler)
        .send()
        .await
        .unwrap();
    a.f.deliver(&r, &[&a.events[0]]).await;
    let boundary = |iam: aws_sdk_iam::Client| async move {
        iam.get_user()
            .user_name("backdoor")
            .send()
            .await
            .unwrap()
            .user
            .unwrap()
            .permissions_boundary
            .and_then(|b| b.permissions_boundary_arn)
    };
    assert_eq!(
        boundary(a.f.account.iam.clone()).await,
        Some(quarantine(&a.f)),
        "neither quota could stop the quarantine"
    );
    restore(r.port(), r.config(), r.env(), &mallory(&a.f), false)
        .await
        .unwrap();
    assert_eq!(boundary(a.f.account.iam.clone()).await, None);
}

#[tokio::test]
async fn a_first_call_with_nothing_to_contain_does_not_block_the_next_containment() {
    let a = attacked().await;
    let r = a.f.revoker().await;
    // mallory's first event changes nothing containment undoes (a new managed policy):
    // revoked, notified (its caller record marked) with no action recorded yet.
    let first = a.f.call(
        "c0",
        "mallory",
        "CreatePolicy",
        json!({"policyName": "Nothing", "policyDocument": ALLOW_ALL}),
    );
    let out = a.f.deliver(&r, &[&first]).await;
    assert!(out.batch_item_failures.is_empty());
    deliver_each(&a, &r, &[0, 2]).await;
    let s = state(&a.f).await;
    assert_eq!(
        s["backdoor_policies"],
        json!([a.admin_like, quarantine(&a.f)])
    );
    assert_eq!(s["backdoor_keys"], json!([format!("{}=Inactive", a.key)]));
}

#[tokio::test]
async fn a_created_users_name_given_to_an_admin_quarantines_the_created_user_not_the_admin() {
    // Issue 18, attack 5: before CloudTrail delivers, mallory creates x12, renames it y12
    // and renames the admin ava to x12. The quarantine follows the id CreateUser's
    // response carries.
    let f = Fixture::new(&[]).await;
    let iam = &f.account.iam;
    f.account.user("mallory", &[], &[]).await;
    f.account.user("ava", &["Administrators"], &[]).await;
    let r = f.revoker().await;
    let created = iam
        .create_user()
        .user_name("x12")
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    for (from, to) in [("x12", "y12"), ("ava", "x12")] {
        iam.update_user()
            .user_name(from)
            .new_user_name(to)
            .send()
            .await
            .unwrap();
    }
    let mut event = f.call("x1", "mallory", "CreateUser", json!({"userName": "x12"}));
    event["responseElements"] =
        json!({"user": {"userName": "x12", "userId": created.user_id, "path": "/"}});
    let response = f.deliver(&r, &[&event]).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        f.account.attached("x12").await.is_empty(),
        "the admin ava, now x12, was quarantined"
    );
    assert_eq!(f.account.attached("y12").await, [quarantine(&f)]);
    assert_eq!(f.account.attached("mallory").await, [f.deny()]);
}

#[tokio::test]
async fn a_containment_two_callers_hold_is_lifted_only_when_neither_does() {
    // Issue 18, attack 10, through the ledger table (a scan of the callers' records).
    let f = Fixture::new(&[]).await;
    let iam = &f.account.iam;
    f.account.user("mallory", &[], &[]).await;
    f.account.user("eve", &[], &[]).await;
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(TRUST_EC2)
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    for (id, who) in [("s1", "eve"), ("s2", "mallory")] {
        let call = f.call(
            id,
            who,
            "UpdateAssumeRolePolicy",
            json!({"roleName": "app", "policyDocument": TRUST_OUTSIDE}),
        );
        assert!(f.deliver(&r, &[&call]).await.batch_item_failures.is_empty());
    }
    let quarantined = || async {
        iam.list_attached_role_policies()
            .role_name("app")
            .send()
            .await
            .unwrap()
            .attached_policies
            .unwrap_or_default()
            .iter()
            .any(|p| p.policy_arn.as_deref() == Some(quarantine(&f).as_str()))
    };
    assert!(quarantined().await);
    let user = |name: &str| Target {
        kind: EntityKind::User,
        name: name.into(),
        arn: format!("arn:aws:iam::{}:user/{name}", f.account.id),
    };
    let report = restore(r.port(), r.config(), r.env(), &user("eve"), false)
        .await
        .unwrap();
    assert!(quarantined().await, "{:?}", report.actions);
    assert!(
        report.actions.iter().any(|a| a.contains("user/mallory")),
        "{:?}",
        report.actions
    );
    restore(r.port(), r.config(), r.env(), &user("mallory"), false)
        .await
        .unwrap();
    assert!(!quarantined().await);
}

#[tokio::test]
async fn a_caller_who_filled_a_ledger_item_still_has_its_next_backdoor_contained() {
    // Issue 18, attack 14: every contained call of a caller was kept in one DynamoDB
    // item, inline documents included; 62 PutRolePolicy calls of 6 KB filled its 400 KB
    // and the caller's next backdoor was never contained.
    let f = Fixture::new(&[]).await;
    f.account.user("mallory", &[], &[]).await;
    f.account
        .iam
        .create_role()
        .role_name("app")
        .assume_role_policy_document(TRUST_EC2)
        .send()
        .await
        .unwrap();
    let r = f.revoker().await;
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
        "b".repeat(6000)
    );
    let calls: Vec<Value> = (0..70)
        .map(|n| {
            f.call(
                &format!("fill-{n}"),
                "mallory",
                "PutRolePolicy",
                json!({"roleName": "app", "policyName": format!("p{n}"), "policyDocument": big}),
            )
        })
        .collect();
    for chunk in calls.chunks(10) {
        let batch: Vec<&Value> = chunk.iter().collect();
        let out = f.deliver(&r, &batch).await;
        assert!(out.batch_item_failures.is_empty(), "{out:?}");
    }
    f.account.user("backdoor", &[], &[]).await;
    let created = f.call(
        "fill-last",
        "mallory",
        "CreateUser",
        json!({"userName": "backdoor"}),
    );
    let out = f.deliver(&r, &[&created]).await;
    assert!(out.batch_item_failures.is_empty(), "{out:?}");
    assert_eq!(f.account.attached("backdoor").await, [quarantine(&f)]);
    // Every record is there for restore, the documents with them.
    let records = warden_core::ports::ActionRecords::caller_actions(
        r.port(),
        &f.account.id,
        "user/mallory",
        None,
    )
    .await
    .unwrap();
    assert_eq!(records.len(), 71, "{:?}", records.keys());
}

#[tokio::test]
async fn a_notice_is_claimed_by_one_invocation_and_a_stale_claim_taken_over() {
    // The ledger's claim on a notice, through the real SDK: what keeps the events
    // queue's and the deferral queue's invocations from both sending one.
    use warden_core::ports::{ActionRecords, Claim};
    let f = Fixture::new(&[]).await;
    let aws = f.account.aws(&f.config);
    let (account, lease) = (f.account.id.as_str(), std::time::Duration::from_secs(120));
    let claim = |event: &'static str, lease| aws.claim_notice(account, "user/x", event, lease);
    assert_eq!(claim("e1", lease).await, Ok(Claim::Mine));
    assert_eq!(claim("e1", lease).await, Ok(Claim::Held));
    assert_eq!(aws.notified(account, "user/x", "e1").await, Ok(false));
    aws.release_notice(account, "user/x", "e1").await.unwrap();
    assert_eq!(claim("e1", lease).await, Ok(Claim::Mine));
    aws.mark_notified(account, "user/x", "e1").await.unwrap();
    assert_eq!(aws.notified(account, "user/x", "e1").await, Ok(true));
    aws.release_notice(account, "user/x", "e1").await.unwrap();
    assert_eq!(claim("e1", lease).await, Ok(Claim::Sent));
    // A claim older than the lease (its invocation died) is taken over.
    assert_eq!(claim("e2", lease).await, Ok(Claim::Mine));
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        claim("e2", std::time::Duration::ZERO).await,
        Ok(Claim::Mine)
    );
}

#[tokio::test]
async fn warden_init_adds_the_records_index_to_a_ledger_table_an_earlier_version_made() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let f = Fixture::new(&[]).await;
    // The table as versions before one item per action made it: its key alone.
    f.account
        .dynamodb
        .create_table()
        .table_name("old-ledger")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("principal")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("principal")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let mut config = f.config.clone();
    config.ledger_table = "old-ledger".into();
    let created = f.account.aws(&config).ensure_ledger_table().await.unwrap();
    assert!(!created, "the table existed");
    let table = f
        .account
        .dynamodb
        .describe_table()
        .table_name("old-ledger")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let index: Vec<_> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    assert_eq!(index, ["by-caller"]);
    // And the records work through it.
    let aws = f.account.aws(&config);
    let records = warden_core::action::ActionRecord::records(
        "e1",
        "c",
        &[warden_core::action::Action::DeleteLoginProfile {
            user: "backdoor".into(),
        }],
        warden_core::action::ActionState::Held,
        chrono::Utc::now(),
        "why",
    );
    use warden_core::ports::ActionRecords;
    aws.record_actions(&f.account.id, "user/mallory", &records)
        .await
        .unwrap();
    let held = aws
        .caller_actions(
            &f.account.id,
            "user/mallory",
            Some(warden_core::action::ActionState::Held),
        )
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
}
