#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Containment carried out by the revoker (in memory): the attack chain in and out of
//! order, twice, restored; the guards; MODE=report, CONTAIN=off and CONTAIN=all; the
//! self-service calls of a revoked caller; a role's sessions; faults.

use serde_json::{json, Value};
use warden_core::action::{Action, ActionState, Credential};
use warden_core::containment::{QUARANTINE_INLINE_NAME, QUARANTINE_POLICY, SESSIONS_POLICY_NAME};
use warden_core::decision::Decision;
use warden_core::event::{parse_eventbridge, Event};
use warden_core::ports::PortError;
use warden_core::principal::{EntityKind, Target};
use warden_core::revoker::{restore, Revoker};
use warden_core::testing::{
    config, environment as env, MemoryAccount, DENY_POLICY_ARN as DENY, QUARANTINE_POLICY_ARN as Q,
};

const ACCOUNT: &str = "123456789012";
const ADMIN_POLICY: &str = "arn:aws:iam::123456789012:policy/AdminLike";
const INLINE: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;

/// mallory's account: she is no admin. `backdoor` and its key exist (IAM applied her
/// calls before their events arrived); `app` is an existing role.
fn account() -> MemoryAccount {
    let port = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("mallory", &[], &[])
        .with_user("backdoor", &[], &[])
        .with_role("app", &[])
        .with_baseline()
        .with_credential("backdoor", Credential::AccessKey("AKIABACKDOOR".into()))
        .with_credential("mallory", Credential::AccessKey("AKIAMALLORY2".into()))
        .with_login_profile("backdoor");
    // The backdoor's unique id, as its CreateUser response (`chain`) and its own calls
    // (`caller`) carry it.
    port.lock()
        .principals
        .get_mut(&(EntityKind::User, "backdoor".into()))
        .unwrap()
        .unique_id = Some("AIDABACKDOOR".into());
    port
}

fn revoker(port: MemoryAccount, extra: &[(&str, &str)]) -> Revoker<MemoryAccount> {
    Revoker::new(port, config(extra), env())
}

fn caller(kind: &str, name: &str) -> Value {
    match kind {
        "role" => {
            json!({"type": "AssumedRole", "principalId": format!("AROA{}:s", name.to_uppercase()),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/s"), "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": format!("AROA{}", name.to_uppercase()),
                "arn": format!("arn:aws:iam::{ACCOUNT}:role/{name}"), "accountId": ACCOUNT, "userName": name}}})
        }
        _ => json!({"type": "IAMUser", "principalId": format!("AIDA{}", name.to_uppercase()),
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "accountId": ACCOUNT, "userName": name}),
    }
}

fn event_by(who: Value, id: &str, name: &str, request: Value, response: Value) -> Event {
    let time = (chrono::Utc::now() - chrono::TimeDelta::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let rec = json!({
        "eventVersion": "1.09", "userIdentity": who, "eventTime": time,
        "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
        "requestParameters": request, "responseElements": response, "eventID": id,
        "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": ACCOUNT,
    });
    envelope(rec)
}

/// The EventBridge event of a CloudTrail record, in the record's account (with an
/// envelope id only when the record has an event id).
fn envelope(rec: Value) -> Event {
    let mut event = json!({"version": "0", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam", "account": rec["recipientAccountId"], "region": "us-east-1"});
    if let Some(id) = rec["eventID"].as_str() {
        event["id"] = json!(format!("eb-{id}"));
    }
    event["detail"] = rec;
    parse_eventbridge(&event.to_string()).unwrap()
}

/// `event`, its record changed by `change`.
fn changed(event: Event, change: impl FnOnce(&mut Value)) -> Event {
    let mut rec = serde_json::to_value(event.record().unwrap()).unwrap();
    change(&mut rec);
    envelope(rec)
}

/// `who`'s CreateAccessKey of its own (no `userName`): a self-service call.
fn own_key(id: &str, who: &str, key: &str) -> Event {
    event_by(
        caller("user", who),
        id,
        "CreateAccessKey",
        Value::Null,
        json!({"accessKey": {"accessKeyId": key, "userName": who}}),
    )
}

fn by_mallory(id: &str, name: &str, request: Value, response: Value) -> Event {
    event_by(caller("user", "mallory"), id, name, request, response)
}

/// The attack chain: each call as CloudTrail records it.
fn chain() -> Vec<Event> {
    vec![
        by_mallory(
            "e1",
            "CreateUser",
            json!({"userName": "backdoor"}),
            json!({"user": {"userName": "backdoor", "userId": "AIDABACKDOOR", "arn": "arn:aws:iam::123456789012:user/backdoor"}}),
        ),
        by_mallory(
            "e2",
            "AttachUserPolicy",
            json!({"userName": "backdoor", "policyArn": ADMIN_POLICY}),
            Value::Null,
        ),
        by_mallory(
            "e3",
            "CreateAccessKey",
            json!({"userName": "backdoor"}),
            json!({"accessKey": {"accessKeyId": "AKIABACKDOOR", "userName": "backdoor", "status": "Active"}}),
        ),
        by_mallory(
            "e4",
            "CreateLoginProfile",
            json!({"userName": "backdoor", "passwordResetRequired": false}),
            json!({"loginProfile": {"userName": "backdoor", "passwordResetRequired": false}}),
        ),
        by_mallory(
            "e5",
            "AddUserToGroup",
            json!({"groupName": "devs", "userName": "backdoor"}),
            Value::Null,
        ),
        by_mallory(
            "e6",
            "PutRolePolicy",
            json!({"roleName": "app", "policyName": "all", "policyDocument": INLINE}),
            Value::Null,
        ),
        by_mallory(
            "e7",
            "UpdateAssumeRolePolicy",
            json!({"roleName": "app", "policyDocument": TRUST}),
            Value::Null,
        ),
    ]
}

/// IAM as mallory left it, before any event arrives.
fn attacked(port: MemoryAccount) -> MemoryAccount {
    {
        let mut s = port.lock();
        let b = s
            .principals
            .get_mut(&(EntityKind::User, "backdoor".into()))
            .unwrap();
        b.attached_policies.insert(ADMIN_POLICY.into());
        b.groups.insert("devs".into());
        let app = s
            .principals
            .get_mut(&(EntityKind::Role, "app".into()))
            .unwrap();
        app.inline_policies.insert("all".into());
        s.inline_documents
            .insert(("role/app".into(), "all".into()), INLINE.into());
    }
    port
}

/// What containment and restore change, as one comparable value.
fn snapshot(r: &Revoker<MemoryAccount>) -> String {
    let s = r.port().lock();
    let principal = |kind, name: &str| {
        let f = &s.principals[&(kind, name.to_owned())];
        format!(
            "{:?} {:?} {:?}",
            f.attached_policies, f.inline_policies, f.groups
        )
    };
    format!(
        "backdoor: {} | app: {} | creds: {:?} | logins: {:?} | docs: {:?}",
        principal(EntityKind::User, "backdoor"),
        principal(EntityKind::Role, "app"),
        s.credentials,
        s.login_profiles,
        s.inline_documents
            .iter()
            .map(|((who, name), doc)| format!("{who}:{name}:{}", doc.len()))
            .collect::<Vec<_>>()
    )
}

fn facts(r: &Revoker<MemoryAccount>, kind: EntityKind, name: &str) -> warden_core::facts::Facts {
    r.port().facts_of(kind, name).unwrap()
}

fn assert_contained(r: &Revoker<MemoryAccount>) {
    let backdoor = facts(r, EntityKind::User, "backdoor");
    assert!(backdoor.attached_policies.contains(Q), "quarantined");
    assert!(
        !backdoor.attached_policies.contains(ADMIN_POLICY),
        "detached"
    );
    assert!(!backdoor.groups.contains("devs"), "membership removed");
    let s = r.port().lock();
    assert!(
        !s.credentials[&(
            "backdoor".into(),
            Credential::AccessKey("AKIABACKDOOR".into())
        )],
        "key inactive"
    );
    assert!(
        !s.login_profiles.contains("backdoor"),
        "login profile deleted"
    );
    drop(s);
    let app = facts(r, EntityKind::Role, "app");
    assert!(
        !app.inline_policies.contains("all"),
        "inline policy deleted"
    );
    assert!(
        app.attached_policies.contains(Q),
        "trust opened: quarantined"
    );
    assert!(app.inline_policies.contains(SESSIONS_POLICY_NAME));
    assert!(facts(r, EntityKind::User, "mallory")
        .attached_policies
        .contains(DENY));
}

fn mallory() -> Target {
    Target {
        kind: EntityKind::User,
        name: "mallory".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/mallory"),
    }
}

#[tokio::test]
async fn the_attack_chain_is_contained_once_notified_once_and_restored_exactly() {
    let r = revoker(attacked(account()), &[]);
    let before = snapshot(&r);
    for e in chain() {
        r.batch().process(&e, false).await.unwrap();
    }
    assert_contained(&r);
    let notices = r.port().notices();
    assert_eq!(notices.len(), 7, "the revocation, then one per later event");
    assert!(notices[0]
        .subject
        .contains("IAM access revoked: user/mallory"));
    assert!(
        notices[0].body.contains("Contained:"),
        "{}",
        notices[0].body
    );
    assert!(notices[0]
        .body
        .contains(&format!("attached {Q} to user/backdoor")));
    assert!(notices[0].body.contains("warden restore --user mallory"));
    assert!(notices[1]
        .body
        .contains("detached arn:aws:iam::123456789012:policy/AdminLike from user/backdoor"));
    assert!(notices[2]
        .body
        .contains("deactivated the access key AKIABACKDOOR of user/backdoor"));
    assert!(notices[6].body.contains("\"containment\""));

    // Delivered again (a retry, a duplicate): nothing done twice, nothing notified twice.
    let calls = r.port().lock().calls.len();
    for e in chain() {
        let out = r.batch().process(&e, false).await.unwrap();
        assert_eq!(out.decision, Decision::AlreadyRevoked);
    }
    assert_eq!(r.port().notices().len(), 7);
    let again: Vec<&str> = r.port().lock().calls[calls..].to_vec();
    assert!(!again.contains(&"apply"), "{again:?}");
    assert!(!again.contains(&"attach_policy"), "{again:?}");
    let record = r.port().lock().records["user/mallory"].clone();
    assert_eq!(
        record.actions.len(),
        8,
        "one per artifact, two for the opened role"
    );
    assert!(record
        .actions
        .values()
        .all(|a| a.state == ActionState::Done));

    // The work was legitimate: everything comes back as it was.
    let report = restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(report.restored);
    assert!(
        !report.status_put_back,
        "a containment put back gives no status"
    );
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("activated the access key AKIABACKDOOR")),
        "{:?}",
        report.actions
    );
    assert_eq!(
        report.secrets.len(),
        1,
        "the new password, for the terminal only"
    );
    assert!(!report.actions.join("\n").contains(&report.secrets[0].1));
    assert!(!serde_json::to_string(&report)
        .unwrap()
        .contains(&report.secrets[0].1));
    assert_eq!(snapshot(&r), before);
    assert!(!facts(&r, EntityKind::User, "mallory")
        .attached_policies
        .contains(DENY));
    let restored_notice = r.port().notices().last().unwrap().body.clone();
    assert!(!restored_notice.contains(&report.secrets[0].1));
    // Restored twice: nothing left to put back.
    let again = restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(!again.restored, "{:?}", again.actions);
}

#[tokio::test]
async fn out_of_order_the_chain_is_contained_the_same() {
    let r = revoker(attacked(account()), &[]);
    let before = snapshot(&r);
    let mut events = chain();
    events.reverse();
    events.swap(0, 3);
    for e in &events {
        r.batch().process(e, false).await.unwrap();
    }
    assert_contained(&r);
    assert_eq!(r.port().notices().len(), 7);
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert_eq!(snapshot(&r), before);
}

#[tokio::test]
async fn caller_only_restore_lifts_the_deny_and_leaves_the_containment() {
    let r = revoker(attacked(account()), &[]);
    for e in chain() {
        r.batch().process(&e, false).await.unwrap();
    }
    restore(r.port(), r.config(), r.env(), &mallory(), true)
        .await
        .unwrap();
    assert!(!facts(&r, EntityKind::User, "mallory")
        .attached_policies
        .contains(DENY));
    assert!(facts(&r, EntityKind::User, "backdoor")
        .attached_policies
        .contains(Q));
}

#[tokio::test]
async fn a_grant_to_a_trusted_admin_is_reported_with_the_command_and_never_undone() {
    let r = revoker(account(), &[]);
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "alice".into()))
        .unwrap()
        .attached_policies
        .insert(ADMIN_POLICY.into());
    let e = by_mallory(
        "g1",
        "AttachUserPolicy",
        json!({"userName": "alice", "policyArn": ADMIN_POLICY}),
        Value::Null,
    );
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(facts(&r, EntityKind::User, "alice")
        .attached_policies
        .contains(ADMIN_POLICY));
    let body = &r.port().notices()[0].body;
    assert!(body.contains("user/alice is a trusted admin"), "{body}");
    assert!(body.contains(&format!(
        "aws iam detach-user-policy --user-name alice --policy-arn {ADMIN_POLICY}"
    )));
    assert!(!body.contains("warden restore --user mallory\n    warden"));
}

#[tokio::test]
async fn report_mode_contains_nothing_and_says_what_it_would_contain() {
    let r = revoker(attacked(account()), &[("MODE", "report")]);
    let before = snapshot(&r);
    let out = r.batch().process(&chain()[2], false).await.unwrap();
    assert_eq!(out.decision, Decision::WouldRevoke);
    assert_eq!(snapshot(&r), before);
    assert!(
        out.actions[0].starts_with("would have deactivated the access key AKIABACKDOOR"),
        "{:?}",
        out.actions
    );
    assert!(r.port().lock().records.is_empty(), "nothing recorded");
    assert!(r.port().notices()[0].body.contains("(MODE=report)"));
}

#[tokio::test]
async fn contain_off_contains_nothing_and_still_revokes() {
    let r = revoker(attacked(account()), &[("CONTAIN", "off")]);
    let before = snapshot(&r);
    for e in chain() {
        r.batch().process(&e, false).await.unwrap();
    }
    assert_eq!(snapshot(&r), before);
    assert!(facts(&r, EntityKind::User, "mallory")
        .attached_policies
        .contains(DENY));
    assert_eq!(r.port().notices().len(), 1);
}

#[tokio::test]
async fn a_revoked_callers_self_service_calls_are_contained_an_ordinary_users_are_not() {
    let r = revoker(account(), &[]);
    // Before mallory is revoked, her own key is hers to make.
    let out = r
        .batch()
        .process(&own_key("s0", "mallory", "AKIAMALLORY2"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Ignored);
    // Revoked by another call; the key she made herself before the deny is contained.
    r.batch().process(&chain()[4], false).await.unwrap();
    let out = r
        .batch()
        .process(&own_key("s1", "mallory", "AKIAMALLORY2"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Ignored);
    assert!(
        !r.port().lock().credentials[&(
            "mallory".into(),
            Credential::AccessKey("AKIAMALLORY2".into())
        )]
    );
    assert!(out.actions[0].contains("deactivated the access key AKIAMALLORY2"));
    // A quarantined user (the backdoor) counts too.
    r.batch().process(&chain()[0], false).await.unwrap();
    r.port().lock().credentials.insert(
        ("backdoor".into(), Credential::AccessKey("AKIAB2".into())),
        true,
    );
    r.batch()
        .process(&own_key("s2", "backdoor", "AKIAB2"), false)
        .await
        .unwrap();
    assert!(
        !r.port().lock().credentials[&("backdoor".into(), Credential::AccessKey("AKIAB2".into()))]
    );
}

#[tokio::test]
async fn a_revoked_role_gets_the_deny_and_its_sessions_revoked_and_restore_removes_both() {
    let r = revoker(account(), &[("ROLE_MODE", "revoke")]);
    let e = event_by(
        caller("role", "app"),
        "r1",
        "CreateUser",
        json!({"userName": "backdoor"}),
        Value::Null,
    );
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    let app = facts(&r, EntityKind::Role, "app");
    assert!(app.attached_policies.contains(DENY));
    assert!(app.inline_policies.contains(SESSIONS_POLICY_NAME));
    let role = Target {
        kind: EntityKind::Role,
        name: "app".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/app"),
    };
    let report = restore(r.port(), r.config(), r.env(), &role, true)
        .await
        .unwrap();
    let app = facts(&r, EntityKind::Role, "app");
    assert!(
        !app.attached_policies.contains(DENY),
        "{:?}",
        report.actions
    );
    assert!(
        !app.inline_policies.contains(SESSIONS_POLICY_NAME),
        "{:?}",
        report.actions
    );
    // --caller-only: the backdoor the role made stays quarantined.
    assert!(facts(&r, EntityKind::User, "backdoor")
        .attached_policies
        .contains(Q));
}

#[tokio::test]
async fn contain_all_contains_an_alerted_role_sessions_artifacts_and_leaves_the_role() {
    let e = event_by(
        caller("role", "app"),
        "a1",
        "CreateAccessKey",
        json!({"userName": "backdoor"}),
        json!({"accessKey": {"accessKeyId": "AKIABACKDOOR", "userName": "backdoor"}}),
    );
    let r = revoker(account(), &[]);
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Alerted);
    assert!(
        r.port().lock().credentials[&(
            "backdoor".into(),
            Credential::AccessKey("AKIABACKDOOR".into())
        )],
        "CONTAIN=revoked leaves an alerted session's key"
    );
    let r = revoker(account(), &[("CONTAIN", "all")]);
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Alerted);
    assert!(
        !r.port().lock().credentials[&(
            "backdoor".into(),
            Credential::AccessKey("AKIABACKDOOR".into())
        )]
    );
    let app = facts(&r, EntityKind::Role, "app");
    assert!(app.attached_policies.is_empty() && app.inline_policies.is_empty());
    assert!(r.port().lock().records.contains_key("role/app"));
}

#[tokio::test]
async fn at_the_managed_policy_quota_the_quarantine_is_inline_and_recorded_so() {
    let r = revoker(account(), &[]);
    r.port().lock().attach_limit = Some(0);
    r.batch().process(&chain()[0], false).await.unwrap();
    let backdoor = facts(&r, EntityKind::User, "backdoor");
    assert!(backdoor.inline_policies.contains(QUARANTINE_INLINE_NAME));
    let record = r.port().lock().records["user/mallory"].clone();
    let entry = record
        .actions
        .values()
        .find(|a| a.event_id == "e1")
        .unwrap();
    assert!(entry.action.to_string().contains(QUARANTINE_INLINE_NAME));
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(!facts(&r, EntityKind::User, "backdoor")
        .inline_policies
        .contains(QUARANTINE_INLINE_NAME));
}

#[tokio::test]
async fn at_both_policy_quotas_the_quarantine_is_a_boundary_and_restore_puts_the_old_one_back() {
    let r = revoker(account(), &[]);
    let old = "arn:aws:iam::123456789012:policy/team-boundary";
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "backdoor".into()))
        .unwrap()
        .boundary = Some(old.into());
    // The caller filled both quotas of its backdoor before the events arrived.
    r.port().lock().attach_limit = Some(0);
    r.port().fail(
        "apply",
        PortError::LimitExceeded {
            operation: "PutUserPolicy",
            message: "Maximum policy size of 2048 bytes exceeded for user backdoor".into(),
        },
        1,
    );
    r.batch().process(&chain()[0], false).await.unwrap();
    assert_eq!(
        facts(&r, EntityKind::User, "backdoor").boundary.as_deref(),
        Some(Q)
    );
    let record = r.port().lock().records["user/mallory"].clone();
    let entry = record
        .actions
        .values()
        .find(|a| a.event_id == "e1")
        .unwrap();
    assert_eq!(entry.state, ActionState::Done);
    assert!(
        matches!(&entry.action, warden_core::action::Action::SetBoundary { replacing: Some(r), .. } if r == old),
        "{:?}",
        entry.action
    );
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert_eq!(
        facts(&r, EntityKind::User, "backdoor").boundary.as_deref(),
        Some(old)
    );
}

#[tokio::test]
async fn a_user_made_with_an_exempt_principals_name_is_quarantined() {
    let r = revoker(
        account().with_user("break-glass", &[], &[]),
        &[(
            "EXEMPT_PRINCIPALS",
            "arn:aws:iam::123456789012:user/break-glass",
        )],
    );
    r.batch()
        .process(
            &by_mallory(
                "bg",
                "CreateUser",
                json!({"userName": "break-glass"}),
                Value::Null,
            ),
            false,
        )
        .await
        .unwrap();
    assert!(facts(&r, EntityKind::User, "break-glass")
        .attached_policies
        .contains(Q));
}

#[tokio::test]
async fn restoring_a_deactivated_mfa_device_is_left_to_its_owner_and_said() {
    let serial = "arn:aws:iam::123456789012:mfa/backdoor";
    let r = revoker(
        account().with_credential("backdoor", Credential::MfaDevice(serial.into())),
        &[],
    );
    r.batch()
        .process(
            &by_mallory(
                "m1",
                "EnableMFADevice",
                json!({"userName": "backdoor", "serialNumber": serial}),
                Value::Null,
            ),
            false,
        )
        .await
        .unwrap();
    let key = ("backdoor".to_owned(), Credential::MfaDevice(serial.into()));
    assert!(!r.port().lock().credentials[&key]);
    let report = restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(
        !r.port().lock().credentials[&key],
        "not re-enabled by the tool"
    );
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("only its owner can enable it again")
                && a.contains(&format!(
                    "aws iam enable-mfa-device --user-name backdoor --serial-number {serial}"
                ))),
        "{:?}",
        report.actions
    );
}

#[tokio::test]
async fn caller_only_never_puts_back_what_the_caller_gave_itself() {
    let r = revoker(account(), &[]);
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "mallory".into()))
        .unwrap()
        .attached_policies
        .insert(ADMIN_POLICY.into());
    let e = by_mallory(
        "self",
        "AttachUserPolicy",
        json!({"userName": "mallory", "policyArn": ADMIN_POLICY}),
        Value::Null,
    );
    r.batch().process(&e, false).await.unwrap();
    let held = |r: &Revoker<MemoryAccount>| {
        facts(r, EntityKind::User, "mallory")
            .attached_policies
            .contains(ADMIN_POLICY)
    };
    assert!(!held(&r), "contained");
    restore(r.port(), r.config(), r.env(), &mallory(), true)
        .await
        .unwrap();
    assert!(!held(&r), "--caller-only lifts the deny, not her own grant");
    assert!(!facts(&r, EntityKind::User, "mallory")
        .attached_policies
        .contains(DENY));
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(held(&r), "a full restore puts it back");
}

#[tokio::test]
async fn restore_goes_on_past_what_iam_refuses_and_says_so() {
    let r = revoker(attacked(account()), &[]);
    for e in chain() {
        r.batch().process(&e, false).await.unwrap();
    }
    r.port().fail(
        "apply",
        PortError::Failed {
            operation: "AddUserToGroup",
            message: "AccessDenied".into(),
        },
        1,
    );
    let report = restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.starts_with("could not ") && a.contains("AccessDenied")),
        "{:?}",
        report.actions
    );
    assert!(
        !facts(&r, EntityKind::Role, "app")
            .attached_policies
            .contains(Q),
        "the rest was put back"
    );
    // What could not be put back is still recorded as done: a later restore finishes it.
    let again = restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert_eq!(
        again.actions.len(),
        2,
        "the membership, and the notice: {:?}",
        again.actions
    );
}

#[tokio::test]
async fn contain_all_leaves_trusted_exempt_and_tool_roles_and_other_accounts() {
    let key_of = |r: &Revoker<MemoryAccount>| {
        r.port().lock().credentials[&(
            "backdoor".to_owned(),
            Credential::AccessKey("AKIABACKDOOR".into()),
        )]
    };
    let call = |role: &str, account: &str| {
        let e = event_by(
            caller("role", role),
            &format!("x-{role}-{account}"),
            "CreateAccessKey",
            json!({"userName": "backdoor"}),
            json!({"accessKey": {"accessKeyId": "AKIABACKDOOR", "userName": "backdoor"}}),
        );
        changed(e, |rec| rec["recipientAccountId"] = json!(account))
    };
    // An exempt role (the baseline trusts its tag), a role in EXEMPT_PRINCIPALS, the tool.
    let port = MemoryAccount::new()
        .with_role("ci", &[("iam-warden:exempt", "true")])
        .with_role("listed", &[])
        .with_role("app", &[])
        .with_user("backdoor", &[], &[])
        .with_baseline()
        .with_credential("backdoor", Credential::AccessKey("AKIABACKDOOR".into()));
    let r = revoker(
        port,
        &[
            ("CONTAIN", "all"),
            ("EXEMPT_PRINCIPALS", "arn:aws:iam::123456789012:role/listed"),
        ],
    );
    // The listing resolved to the role's unique id, as the revoker's start records it.
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "listed".into()))
        .unwrap()
        .unique_id = Some("AROALISTED".into());
    let problems = warden_core::vouch::ensure_listed(r.port(), r.env(), r.config())
        .await
        .unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    for role in ["ci", "listed", "iam-warden-revoker"] {
        r.batch()
            .process(&call(role, ACCOUNT), false)
            .await
            .unwrap();
        assert!(key_of(&r), "{role}'s call is not contained");
    }
    // Another account's event names another account's user: never acted on here.
    r.batch()
        .process(&call("app", "999999999999"), false)
        .await
        .unwrap();
    assert!(key_of(&r));
    r.batch()
        .process(&call("app", ACCOUNT), false)
        .await
        .unwrap();
    assert!(!key_of(&r), "an untrusted role's session is");
}

#[tokio::test]
async fn events_without_an_id_never_share_their_records() {
    let r = revoker(account().with_user("b2", &[], &[]), &[]);
    let without_id = |user: &str| {
        let e = by_mallory(
            "x",
            "CreateUser",
            json!({"userName": user}),
            json!({"user": {"userName": user}}),
        );
        changed(e, |rec| {
            rec.as_object_mut().unwrap().remove("eventID");
        })
    };
    r.batch()
        .process(&without_id("backdoor"), false)
        .await
        .unwrap();
    r.batch().process(&without_id("b2"), false).await.unwrap();
    for user in ["backdoor", "b2"] {
        assert!(
            facts(&r, EntityKind::User, user)
                .attached_policies
                .contains(Q),
            "{user}"
        );
    }
    let record = r.port().lock().records["user/mallory"].clone();
    assert_eq!(record.actions.len(), 2);
    assert!(record.actions.keys().all(|k| k.starts_with("noid-")));
}

/// mallory's CreateAccessKey of her own (no `userName`): a self-service call.
fn own_key_of_mallory(id: &str) -> Event {
    by_mallory(
        id,
        "CreateAccessKey",
        Value::Null,
        json!({"accessKey": {"accessKeyId": "AKIAMALLORY2", "userName": "mallory"}}),
    )
}

#[tokio::test]
async fn a_key_made_for_oneself_before_the_revoking_event_is_contained_once_revoked() {
    let r = revoker(account(), &[]);
    let key = (
        "mallory".to_owned(),
        Credential::AccessKey("AKIAMALLORY2".into()),
    );
    let own_key = |minutes_ago: i64| {
        let e = own_key_of_mallory(&format!("own-{minutes_ago}"));
        changed(e, |rec| {
            rec["eventTime"] = json!(
                (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago))
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            )
        })
    };
    // Her own key, decided before her revoking call: ignored, its containment held.
    let out = r.batch().process(&own_key(3), false).await.unwrap();
    assert_eq!(out.decision, Decision::Ignored);
    assert!(
        r.port().lock().credentials[&key],
        "hers to make, until she is stopped"
    );
    assert!(r.port().notices().is_empty());
    // Revoked by her next call: the held containment is carried out and said.
    r.batch().process(&chain()[4], false).await.unwrap();
    assert!(!r.port().lock().credentials[&key]);
    let body = r.port().notices()[0].body.clone();
    assert!(
        body.contains("deactivated the access key AKIAMALLORY2 of user/mallory"),
        "{body}"
    );
    // Put back by a full restore, like any containment.
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(r.port().lock().credentials[&key]);
}

#[tokio::test]
async fn an_old_key_of_ones_own_is_not_what_a_caller_made_before_its_deny() {
    let r = revoker(account(), &[]);
    let old = changed(own_key_of_mallory("old-key"), |rec| {
        rec["eventTime"] = json!("2026-10-01T09:00:00Z")
    });
    r.batch().process(&old, false).await.unwrap();
    r.batch().process(&chain()[4], false).await.unwrap();
    let key = (
        "mallory".to_owned(),
        Credential::AccessKey("AKIAMALLORY2".into()),
    );
    assert!(r.port().lock().credentials[&key]);
}

#[tokio::test]
async fn an_opened_trust_on_the_revokers_role_is_put_back_and_restorable() {
    let r = revoker(account().with_role("iam-warden-revoker", &[]), &[]);
    r.batch()
        .process(
            &by_mallory(
                "t1",
                "UpdateAssumeRolePolicy",
                json!({"roleName": "iam-warden-revoker", "policyDocument": TRUST}),
                Value::Null,
            ),
            false,
        )
        .await
        .unwrap();
    let trust = |r: &Revoker<MemoryAccount>| {
        r.port()
            .lock()
            .trust_policies
            .get("iam-warden-revoker")
            .cloned()
    };
    assert_eq!(
        trust(&r),
        Some(warden_core::containment::tool_trust_policy(ACCOUNT))
    );
    let revoker_role = facts(&r, EntityKind::Role, "iam-warden-revoker");
    assert!(
        revoker_role.attached_policies.is_empty(),
        "the tool's role is never quarantined"
    );
    assert!(
        revoker_role.inline_policies.is_empty(),
        "nor its sessions revoked"
    );
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert_eq!(trust(&r).as_deref(), Some(TRUST));
}

#[tokio::test]
async fn a_backdoor_renamed_away_from_its_events_is_renamed_back_and_contained() {
    let r = revoker(attacked(account()), &[]);
    // mallory renamed it before any of her events arrived.
    {
        let mut s = r.port().lock();
        let f = s
            .principals
            .remove(&(EntityKind::User, "backdoor".into()))
            .unwrap();
        s.principals
            .insert((EntityKind::User, "svc-backup".into()), f);
        s.rename_user("backdoor", "svc-backup");
    }
    for e in &chain()[..3] {
        r.batch().process(e, false).await.unwrap();
    }
    // The quarantine follows the backdoor's unique id to its new name; what the later
    // events name by the old name is gone until the rename is put back.
    let record = r.port().lock().records["user/mallory"].clone();
    assert!(
        record.actions.values().all(|a| {
            let quarantine =
                matches!(&a.action, Action::AttachPolicy { policy_arn, .. } if policy_arn == Q);
            a.state
                == if quarantine {
                    ActionState::Done
                } else {
                    ActionState::Gone
                }
        }),
        "{record:?}"
    );
    assert!(facts(&r, EntityKind::User, "svc-backup")
        .attached_policies
        .contains(Q));
    let rename = by_mallory(
        "e8",
        "UpdateUser",
        json!({"userName": "backdoor", "newUserName": "svc-backup"}),
        Value::Null,
    );
    r.batch().process(&rename, false).await.unwrap();
    let backdoor = facts(&r, EntityKind::User, "backdoor");
    assert!(
        backdoor.attached_policies.contains(Q),
        "quarantined after all"
    );
    assert!(!backdoor.attached_policies.contains(ADMIN_POLICY));
    assert!(
        !r.port().lock().credentials[&(
            "backdoor".into(),
            Credential::AccessKey("AKIABACKDOOR".into())
        )]
    );
    let body = r.port().notices().last().unwrap().body.clone();
    assert!(
        body.contains("renamed user/svc-backup to backdoor"),
        "{body}"
    );
    assert!(
        body.contains("deactivated the access key AKIABACKDOOR"),
        "{body}"
    );
}

#[tokio::test]
async fn a_permanent_containment_failure_never_holds_up_the_revocation_notice() {
    let r = revoker(attacked(account()), &[]);
    r.port().fail(
        "record_actions",
        PortError::Failed {
            operation: "UpdateItem",
            message: "ValidationException: Item size has exceeded the maximum allowed size".into(),
        },
        1,
    );
    let out = r.batch().process(&chain()[0], false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(facts(&r, EntityKind::User, "mallory")
        .attached_policies
        .contains(DENY));
    let notices = r.port().notices();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].body.contains("containment failed for good"),
        "{}",
        notices[0].body
    );
}

#[tokio::test]
async fn a_trusted_member_the_caller_put_in_a_group_does_not_shield_its_grant() {
    // mallory, a member of `devs`, adds alice (a trusted admin) to it, then gives
    // `devs` an admin-like policy: a group's members are hers to change, so they
    // are no reason to leave the grant.
    let port = account();
    for user in ["mallory", "alice"] {
        port.lock()
            .principals
            .get_mut(&(EntityKind::User, user.into()))
            .unwrap()
            .groups
            .insert("devs".into());
    }
    port.lock()
        .group_policies
        .insert(("devs".into(), ADMIN_POLICY.into()));
    let r = revoker(port, &[]);
    for e in [
        by_mallory(
            "gm1",
            "AddUserToGroup",
            json!({"groupName": "devs", "userName": "alice"}),
            Value::Null,
        ),
        by_mallory(
            "gm2",
            "AttachGroupPolicy",
            json!({"groupName": "devs", "policyArn": ADMIN_POLICY}),
            Value::Null,
        ),
    ] {
        r.batch().process(&e, false).await.unwrap();
    }
    let groups = r.port().lock().group_policies.clone();
    assert!(!groups.contains(&("devs".into(), ADMIN_POLICY.into())));
    // alice's membership is a grant to a trusted admin: reported, not undone.
    assert!(facts(&r, EntityKind::User, "alice").groups.contains("devs"));
}

#[tokio::test]
async fn a_transient_fault_resumes_where_it_stopped_a_permanent_one_is_reported_once() {
    let r = revoker(attacked(account()), &[]);
    let e = chain()[6].clone();
    // The quarantine is attached, then IAM throttles the session revocation.
    r.port().fail(
        "apply",
        PortError::Transient {
            operation: "PutRolePolicy",
            message: "Throttling".into(),
        },
        1,
    );
    assert!(r
        .batch()
        .process(&e, false)
        .await
        .unwrap_err()
        .is_transient());
    assert!(facts(&r, EntityKind::Role, "app")
        .attached_policies
        .contains(Q));
    r.batch().process(&e, false).await.unwrap();
    let attaches = r
        .port()
        .lock()
        .calls
        .iter()
        .filter(|c| **c == "attach_policy")
        .count();
    assert_eq!(attaches, 2, "mallory's deny once, the quarantine once");
    assert!(facts(&r, EntityKind::Role, "app")
        .inline_policies
        .contains(SESSIONS_POLICY_NAME));
    assert_eq!(r.port().notices().len(), 1);

    // Refused for good (an SCP, say): recorded as failed, said in the notice, not retried.
    r.port().fail(
        "apply",
        PortError::Failed {
            operation: "UpdateAccessKey",
            message: "AccessDenied: explicit deny in a service control policy".into(),
        },
        1,
    );
    let out = r.batch().process(&chain()[2], false).await.unwrap();
    assert_eq!(out.decision, Decision::AlreadyRevoked);
    let record = r.port().lock().records["user/mallory"].clone();
    let failed = record
        .actions
        .values()
        .find(|a| a.event_id == "e3")
        .unwrap();
    assert_eq!(failed.state, ActionState::Failed);
    assert!(failed.why.contains("AccessDenied"));
    let body = r.port().notices().last().unwrap().body.clone();
    assert!(body.contains("\"failed\""), "{body}");
    let calls = r.port().lock().calls.len();
    r.batch().process(&chain()[2], false).await.unwrap();
    assert!(!r.port().lock().calls[calls..].contains(&"apply"));
}

#[tokio::test]
async fn restoring_what_is_gone_says_so_and_goes_on() {
    let r = revoker(attacked(account()), &[]);
    for e in chain() {
        r.batch().process(&e, false).await.unwrap();
    }
    // backdoor deleted since.
    r.port()
        .lock()
        .principals
        .remove(&(EntityKind::User, "backdoor".into()));
    let report = restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("user/backdoor no longer exists")),
        "{:?}",
        report.actions
    );
    assert!(!facts(&r, EntityKind::Role, "app")
        .attached_policies
        .contains(Q));
}

#[tokio::test]
async fn an_artifact_already_gone_is_recorded_as_gone() {
    let r = revoker(account(), &[]);
    r.port().lock().login_profiles.clear();
    r.batch().process(&chain()[3], false).await.unwrap();
    let record = r.port().lock().records["user/mallory"].clone();
    let entry = record
        .actions
        .values()
        .find(|a| a.event_id == "e4")
        .unwrap();
    assert_eq!(entry.state, ActionState::Gone);
    assert!(r.port().notices()[0].body.contains("already gone"));
}

/// Issue 18, attack 11: only the tool's own documents make a principal stopped. An
/// inline policy named like the tool's quarantine, with any other document, on the
/// trusted admin alice does not make her own new key the containment of a stopped
/// caller; the tool's quarantine document under that name does.
#[tokio::test]
async fn an_imitation_of_the_quarantine_does_not_make_a_principal_stopped() {
    let imitation = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    let put = |port: &MemoryAccount, user: &str, document: &str| {
        let mut s = port.lock();
        s.principals
            .get_mut(&(EntityKind::User, user.to_owned()))
            .unwrap()
            .inline_policies
            .insert(QUARANTINE_INLINE_NAME.into());
        s.inline_documents.insert(
            (format!("user/{user}"), QUARANTINE_INLINE_NAME.into()),
            document.into(),
        );
    };
    let port = account()
        .with_credential("alice", Credential::AccessKey("AKIAALICE2".into()))
        .with_credential("backdoor", Credential::AccessKey("AKIAB2".into()));
    put(&port, "alice", imitation);
    put(&port, "backdoor", QUARANTINE_POLICY);
    let r = revoker(port, &[]);
    let active = |who: &str, key: &str| {
        r.port().lock().credentials[&(who.to_owned(), Credential::AccessKey(key.into()))]
    };
    let out = r
        .batch()
        .process(&own_key("a1", "alice", "AKIAALICE2"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Ignored);
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    assert!(
        active("alice", "AKIAALICE2"),
        "alice's own key stays active"
    );
    // The tool's own quarantine document, inline: stopped, its key contained.
    r.batch()
        .process(&own_key("b1", "backdoor", "AKIAB2"), false)
        .await
        .unwrap();
    assert!(!active("backdoor", "AKIAB2"));
}

/// Issue 18, attack 9: restore never re-arms a lock-out. mallory put the tool's own deny
/// and quarantine, and an imitation of its inline quarantine, on the trusted admin
/// alice; the tool removed them (a lock-out). Restoring mallory puts back what the tool
/// undid of hers, but never those: it says it left them removed.
#[tokio::test]
async fn restore_never_puts_the_tools_denies_back_on_an_admin() {
    let imitation =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    let r = revoker(account(), &[]);
    {
        let mut s = r.port().lock();
        let alice = s
            .principals
            .get_mut(&(EntityKind::User, "alice".into()))
            .unwrap();
        alice.attached_policies.insert(DENY.into());
        alice.attached_policies.insert(Q.into());
        alice.inline_policies.insert(QUARANTINE_INLINE_NAME.into());
        s.inline_documents.insert(
            ("user/alice".into(), QUARANTINE_INLINE_NAME.into()),
            imitation.into(),
        );
    }
    for (n, (name, request)) in [
        ("AttachUserPolicy", json!({"userName": "alice", "policyArn": DENY})),
        ("AttachUserPolicy", json!({"userName": "alice", "policyArn": Q})),
        (
            "PutUserPolicy",
            json!({"userName": "alice", "policyName": QUARANTINE_INLINE_NAME, "policyDocument": imitation}),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let out = r
            .batch()
            .process(&by_mallory(&format!("l{n}"), name, request, Value::Null), false)
            .await
            .unwrap();
        assert!(matches!(
            out.decision,
            Decision::Revoked | Decision::AlreadyRevoked
        ));
    }
    let alice = facts(&r, EntityKind::User, "alice");
    assert!(!alice.attached_policies.contains(DENY));
    assert!(!alice.attached_policies.contains(Q));
    assert!(!alice.inline_policies.contains(QUARANTINE_INLINE_NAME));

    let report = restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    let alice = facts(&r, EntityKind::User, "alice");
    assert!(!alice.attached_policies.contains(DENY), "{report:?}");
    assert!(!alice.attached_policies.contains(Q));
    assert!(!alice.inline_policies.contains(QUARANTINE_INLINE_NAME));
    assert_eq!(
        report
            .actions
            .iter()
            .filter(|a| a.contains("left removed") && a.contains("user/alice"))
            .count(),
        3,
        "{:#?}",
        report.actions
    );
    // mallory's own deny is lifted.
    assert!(!facts(&r, EntityKind::User, "mallory")
        .attached_policies
        .contains(DENY));
}

#[tokio::test]
async fn a_created_users_name_given_to_an_admin_quarantines_the_created_user_not_the_admin() {
    // Attack 5 (issue 18): mallory creates x12, renames it y12, and renames the admin
    // alice to x12, all before the CreateUser event arrives. The quarantine meant for
    // what mallory created must follow its unique id (CreateUser's responseElements
    // carry it), never its first name.
    let port = account();
    {
        let mut s = port.lock();
        let mut created = s
            .principals
            .remove(&(EntityKind::User, "backdoor".into()))
            .unwrap();
        created.unique_id = Some("AIDAX12".into());
        s.principals
            .insert((EntityKind::User, "y12".into()), created);
        let mut alice = s
            .principals
            .remove(&(EntityKind::User, "alice".into()))
            .unwrap();
        alice.unique_id = Some("AIDAALICE".into());
        s.principals.insert((EntityKind::User, "x12".into()), alice);
    }
    let r = revoker(port, &[]);
    let create = event_by(
        caller("user", "mallory"),
        "c12",
        "CreateUser",
        json!({"userName": "x12"}),
        json!({"user": {"userName": "x12", "userId": "AIDAX12", "path": "/",
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/x12")}}),
    );
    let out = r.batch().process(&create, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let quarantined = |name: &str| {
        let f = r.port().facts_of(EntityKind::User, name).unwrap();
        f.attached_policies
            .contains(warden_core::testing::QUARANTINE_POLICY_ARN)
            || f.inline_policies.contains(QUARANTINE_INLINE_NAME)
    };
    assert!(
        !quarantined("x12"),
        "the admin alice, now x12, was quarantined"
    );
    assert!(quarantined("y12"), "what mallory created, now y12, was not");
    // The record says where it went: restore lifts it from y12.
    let notice = &r.port().notices()[0];
    assert!(notice.body.contains("y12"), "{}", notice.body);
}

#[tokio::test]
async fn a_lost_state_write_after_an_action_leaves_it_done_for_restore() {
    // Left open (issue 18): the detach happened, the write of its state was lost; the
    // retry finds the policy detached (NoSuchEntity). It is the tool's own doing, still
    // `done`, so that restore re-attaches it; `gone` would skip it.
    let r = revoker(attacked(account()), &[]);
    r.port().fail(
        "set_action",
        PortError::Transient {
            operation: "UpdateItem",
            message: "lost".into(),
        },
        1,
    );
    assert!(r.batch().process(&chain()[1], false).await.is_err());
    assert!(!facts(&r, EntityKind::User, "backdoor")
        .attached_policies
        .contains(ADMIN_POLICY));
    r.batch().process(&chain()[1], false).await.unwrap();
    let record = r.port().lock().records["user/mallory"].clone();
    let detach = record
        .actions
        .values()
        .find(|a| matches!(&a.action, Action::DetachPolicy { policy_arn, .. } if policy_arn == ADMIN_POLICY))
        .unwrap()
        .clone();
    assert_eq!(detach.state, ActionState::Done, "{detach:?}");
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert!(facts(&r, EntityKind::User, "backdoor")
        .attached_policies
        .contains(ADMIN_POLICY));
}

#[tokio::test]
async fn at_a_full_inline_room_a_revoked_roles_sessions_are_stopped_by_the_quarantine_boundary() {
    // Left open (issue 18): the sessions' revocation is an inline policy; a caller can
    // fill the role's inline room (10,240 characters) first. Its fallback needs no room:
    // the quarantine as the role's boundary stops every session, reversibly.
    let r = revoker(account(), &[("ROLE_MODE", "revoke")]);
    let e = event_by(
        caller("role", "app"),
        "r9",
        "CreatePolicy",
        json!({"policyName": "p", "policyDocument": "{}"}),
        Value::Null,
    );
    r.port().fail(
        "apply",
        PortError::LimitExceeded {
            operation: "PutRolePolicy",
            message: "Maximum policy size of 10240 bytes exceeded for role app".into(),
        },
        1,
    );
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let app = facts(&r, EntityKind::Role, "app");
    assert!(app.attached_policies.contains(DENY));
    assert!(!app.inline_policies.contains(SESSIONS_POLICY_NAME));
    assert_eq!(app.boundary.as_deref(), Some(Q), "{:?}", out.actions);
    let role = Target {
        kind: EntityKind::Role,
        name: "app".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/app"),
    };
    let report = restore(r.port(), r.config(), r.env(), &role, true)
        .await
        .unwrap();
    assert_eq!(
        facts(&r, EntityKind::Role, "app").boundary,
        None,
        "{:?}",
        report.actions
    );
}

#[tokio::test]
async fn a_containment_two_callers_hold_is_lifted_only_when_neither_does() {
    // Attack 10 (issue 18): eve (a false positive) and mallory (who opened the role's
    // trust to another account) both had the role `app` quarantined and its sessions
    // revoked. Restoring eve must not lift what mallory's call still needs.
    let port = account().with_user("eve", &[], &[]);
    let r = revoker(port, &[]);
    let opened = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    for (id, who) in [("t1", "eve"), ("t2", "mallory")] {
        let e = event_by(
            caller("user", who),
            id,
            "UpdateAssumeRolePolicy",
            json!({"roleName": "app", "policyDocument": opened}),
            Value::Null,
        );
        let out = r.batch().process(&e, false).await.unwrap();
        assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    }
    let contained = |r: &Revoker<MemoryAccount>| {
        let app = facts(r, EntityKind::Role, "app");
        (
            app.attached_policies.contains(Q),
            app.inline_policies.contains(SESSIONS_POLICY_NAME),
        )
    };
    assert_eq!(contained(&r), (true, true));
    let eve = Target {
        kind: EntityKind::User,
        name: "eve".into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/eve"),
    };
    let report = restore(r.port(), r.config(), r.env(), &eve, false)
        .await
        .unwrap();
    assert_eq!(
        contained(&r),
        (true, true),
        "eve's restore lifted mallory's containment: {:?}",
        report.actions
    );
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("kept") && a.contains("user/mallory")),
        "{:?}",
        report.actions
    );
    assert!(!facts(&r, EntityKind::User, "eve")
        .attached_policies
        .contains(DENY));
    // mallory restored too: nobody holds it any more, it is lifted.
    restore(r.port(), r.config(), r.env(), &mallory(), false)
        .await
        .unwrap();
    assert_eq!(contained(&r), (false, false));
}

#[tokio::test]
async fn a_no_op_grant_of_what_a_role_already_had_is_left_and_said() {
    // Attack 12 (issue 18): mallory re-attaches a policy the production role `app` was
    // given two days ago by the deployer. Detaching it would be an outage, and its only
    // undo restores mallory too: CloudTrail shows it was there, so it is left.
    const PROD: &str = "arn:aws:iam::123456789012:policy/app-prod";
    let r = revoker(account(), &[]);
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "app".into()))
        .unwrap()
        .attached_policies
        .insert(PROD.into());
    let at = |minutes: i64| {
        (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let earlier = |id: &str, who: &str, name: &str, minutes: i64| {
        let e = event_by(
            caller("user", who),
            id,
            name,
            json!({"roleName": "app", "policyArn": PROD}),
            Value::Null,
        );
        let mut rec = changed(e, |rec| rec["eventTime"] = json!(at(minutes)))
            .record()
            .unwrap()
            .clone();
        rec.event_id = Some(id.into());
        rec
    };
    r.port()
        .in_trail(earlier("d1", "deployer", "AttachRolePolicy", 2 * 24 * 60));
    let again = event_by(
        caller("user", "mallory"),
        "n1",
        "AttachRolePolicy",
        json!({"roleName": "app", "policyArn": PROD}),
        Value::Null,
    );
    let out = r.batch().process(&again, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        facts(&r, EntityKind::Role, "app")
            .attached_policies
            .contains(PROD),
        "a no-op grant was undone: {:?}",
        out.actions
    );
    let body = r.port().notices()[0].body.clone();
    assert!(
        body.contains("already attached") && body.contains("d1"),
        "{body}"
    );

    // Detached since (by anyone), the grant is mallory's: undone.
    let r = revoker(account(), &[]);
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "app".into()))
        .unwrap()
        .attached_policies
        .insert(PROD.into());
    r.port()
        .in_trail(earlier("d1", "deployer", "AttachRolePolicy", 3 * 24 * 60));
    r.port()
        .in_trail(earlier("d2", "deployer", "DetachRolePolicy", 2 * 24 * 60));
    r.batch().process(&again, false).await.unwrap();
    assert!(!facts(&r, EntityKind::Role, "app")
        .attached_policies
        .contains(PROD));

    // Attached earlier by mallory herself: still hers, undone.
    let r = revoker(account(), &[]);
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "app".into()))
        .unwrap()
        .attached_policies
        .insert(PROD.into());
    r.port()
        .in_trail(earlier("m0", "mallory", "AttachRolePolicy", 30));
    r.batch().process(&again, false).await.unwrap();
    assert!(!facts(&r, EntityKind::Role, "app")
        .attached_policies
        .contains(PROD));
}
