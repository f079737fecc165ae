#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Revocation the caller cannot stop (issue 10), on the service with in-memory ports: a
//! full tag set, every quota full, a tampered or deleted deny, a rename, a record that
//! fails after the deny, and changes of the tool's own roles.

use warden_core::decision::Decision;
use warden_core::ports::PortError;
use warden_core::principal::{EntityKind, Target};
use warden_core::revocation::Method;
use warden_core::revoker::{restore, Revoker};
use warden_core::testing::{
    config, environment as env, sample_event as event, MemoryAccount, DENY_POLICY_ARN as DENY,
    QUARANTINE_POLICY_ARN as QUARANTINE,
};

fn account() -> MemoryAccount {
    MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("dev1", &[], &[])
        .with_user("dev2", &[], &[])
        .with_baseline()
}

fn revoker(port: MemoryAccount) -> Revoker<MemoryAccount> {
    Revoker::new(port, config(&[]), env())
}

fn limit(what: &str) -> PortError {
    PortError::LimitExceeded {
        operation: "test",
        message: what.into(),
    }
}

fn dev1() -> Target {
    Target {
        kind: EntityKind::User,
        name: "dev1".into(),
        arn: "arn:aws:iam::123456789012:user/dev1".into(),
    }
}

#[tokio::test]
async fn a_caller_at_fifty_tags_is_revoked_and_notified_once() {
    let r = revoker(account());
    // Every tag write refused, as IAM does at 50.
    r.port().fail(
        "tag",
        limit("The number of tags has reached the maximum limit of 50."),
        10,
    );
    let e = event("01-iam-user-create-user.json");
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert!(f.attached_policies.contains(DENY));
    assert!(f.tags.is_empty(), "no room for the tags, and none needed");
    let record = r.port().lock().revocations["user/dev1"].clone();
    assert!(record.notified);
    assert_eq!(record.event_id, "7c1e4a3b-0000-4000-8000-000000000001");
    assert_eq!(r.port().notices().len(), 1);
    // Redelivered: the ledger's record says it was notified.
    let again = revoker(account());
    again.port().lock().revocations = r.port().lock().revocations.clone();
    again.port().lock().principals = r.port().lock().principals.clone();
    again.port().lock().records = r.port().lock().records.clone();
    let out = again.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::AlreadyRevoked);
    assert!(again.port().notices().is_empty());
}

#[tokio::test]
async fn the_deny_is_in_place_before_the_record_and_a_failed_record_is_finished_by_the_retry() {
    let r = revoker(account());
    r.port().fail(
        "record_revocation",
        PortError::Transient {
            operation: "PutItem",
            message: "503".into(),
        },
        1,
    );
    let e = event("01-iam-user-create-user.json");
    assert!(r.batch().process(&e, false).await.is_err());
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert!(
        f.attached_policies.contains(DENY),
        "the deny did not wait on the record"
    );
    assert!(r.port().notices().is_empty());
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(r.port().notices().len(), 1);
    let calls = r.port().lock().calls.clone();
    let first_attach = calls.iter().position(|c| *c == "attach_policy").unwrap();
    let first_record = calls
        .iter()
        .position(|c| *c == "record_revocation")
        .unwrap();
    assert!(first_attach < first_record, "{calls:?}");
}

#[tokio::test]
async fn at_every_quota_a_boundary_denies_iam_and_keeps_the_old_boundarys_limits() {
    let r = revoker(account());
    let theirs = "arn:aws:iam::123456789012:policy/team-boundary";
    let their_doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    {
        let mut s = r.port().lock();
        s.boundaries.insert(theirs.into(), their_doc.into());
        s.principals
            .get_mut(&(EntityKind::User, "dev1".into()))
            .unwrap()
            .boundary = Some(theirs.into());
    }
    r.port().fail(
        "attach_policy",
        limit("Cannot exceed quota for PoliciesPerUser: 10"),
        1,
    );
    r.port().fail(
        "put_inline_policy",
        limit("Maximum policy size of 2048 bytes exceeded for user dev1"),
        1,
    );
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        out.reason.contains("permissions boundary"),
        "{}",
        out.reason
    );
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    let tool = f.boundary.clone().unwrap();
    assert!(
        tool.ends_with(":policy/iam-warden/iam-warden-boundary-user-dev1"),
        "{tool}"
    );
    let doc: serde_json::Value = serde_json::from_str(&r.port().lock().boundaries[&tool]).unwrap();
    let st = doc["Statement"].as_array().unwrap();
    assert_eq!(
        st[0]["Action"], "s3:*",
        "the old limit is kept: only s3 was allowed, still only s3"
    );
    assert_eq!(
        (st[1]["Effect"].as_str(), st[1]["Action"].as_str()),
        (Some("Deny"), Some("iam:*"))
    );
    let record = r.port().lock().revocations["user/dev1"].clone();
    assert_eq!(record.method, Method::Boundary);
    assert_eq!(record.previous_boundary.as_deref(), Some(theirs));

    // Restore puts the exact previous boundary back and removes the tool's.
    let report = restore(r.port(), r.config(), r.env(), &dev1(), false)
        .await
        .unwrap();
    assert!(
        report.actions.iter().any(|a| a.contains(theirs)),
        "{:?}",
        report.actions
    );
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert_eq!(f.boundary.as_deref(), Some(theirs));
    assert!(!r.port().lock().boundaries.contains_key(&tool));
    assert!(!r.port().lock().revocations.contains_key("user/dev1"));
}

#[tokio::test]
async fn without_a_boundary_before_restore_leaves_none() {
    let r = revoker(account());
    r.port().fail("attach_policy", limit("quota"), 1);
    r.port().fail("put_inline_policy", limit("size"), 1);
    r.batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert!(r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .boundary
        .is_some());
    restore(r.port(), r.config(), r.env(), &dev1(), true)
        .await
        .unwrap();
    assert_eq!(
        r.port()
            .facts_of(EntityKind::User, "dev1")
            .unwrap()
            .boundary,
        None
    );
}

#[tokio::test]
async fn at_every_quota_of_the_account_too_the_quarantine_is_the_boundary_and_restore_lifts_it() {
    // Attack 15 (issue 18): ten managed policies, the inline room, and the account's
    // customer managed policies (1,500 by default) all full: no new boundary policy can
    // be made. The stack's quarantine, which exists, becomes the boundary: never wider
    // than the old one (it denies everything), and reversible.
    let r = revoker(account());
    let theirs = "arn:aws:iam::123456789012:policy/team-boundary";
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .boundary = Some(theirs.into());
    r.port().fail("attach_policy", limit("quota"), 1);
    r.port().fail("put_inline_policy", limit("size"), 1);
    r.port()
        .fail("put_boundary_policy", limit("policies per account"), 1);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .expect("revoked, not a failure");
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(out.reason.contains("quarantine"), "{}", out.reason);
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert_eq!(f.boundary.as_deref(), Some(QUARANTINE));
    let record = r.port().lock().revocations["user/dev1"].clone();
    assert_eq!(record.method, Method::Boundary);
    assert_eq!(record.previous_boundary.as_deref(), Some(theirs));
    let notice = &r.port().notices()[0];
    assert!(notice.body.contains("quarantine"), "{}", notice.body);
    // Its next call: already revoked (the quarantine as boundary is the tool's deny).
    let again = r
        .batch()
        .process(&event("02-iam-user-duplicate-attach-policy.json"), false)
        .await
        .unwrap();
    assert_eq!(again.decision, Decision::AlreadyRevoked, "{}", again.reason);
    // Restore puts the old boundary back and never deletes the stack's quarantine.
    restore(r.port(), r.config(), r.env(), &dev1(), false)
        .await
        .unwrap();
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert_eq!(f.boundary.as_deref(), Some(theirs));
    assert!(!r.port().lock().calls.contains(&"delete_boundary_policy"));
}

#[tokio::test]
async fn when_every_method_is_refused_the_failure_is_permanent_not_a_retry_loop() {
    // Without a quarantine policy (CONTAIN=off) there is nothing left to use.
    let r = Revoker::new(
        account(),
        warden_core::testing::config_from(&[("DENY_POLICY_ARN", DENY), ("CONTAIN", "off")]),
        env(),
    );
    r.port().fail("attach_policy", limit("quota"), 1);
    r.port().fail("put_inline_policy", limit("size"), 1);
    r.port()
        .fail("put_boundary_policy", limit("policies per account"), 1);
    let err = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(err.to_string().contains("every method"), "{err}");
}

#[tokio::test]
async fn a_tampered_or_deleted_deny_is_repaired_notified_and_the_caller_still_revoked() {
    let r = revoker(account());
    r.port().lock().tool_policies.insert(
        DENY.into(),
        (r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into(), 2),
    );
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(
        r.port().lock().tool_policies[DENY].0,
        warden_core::DENY_ALL_IAM_POLICY
    );
    let notices = r.port().notices();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices[0].subject.contains("tampering"),
        "{}",
        notices[0].subject
    );
    assert!(
        notices[0].body.contains("another default version"),
        "{}",
        notices[0].body
    );

    let r = revoker(account());
    r.port().lock().tool_policies.clear();
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(r.port().lock().tool_policies.contains_key(DENY));
    assert!(r.port().notices()[0].body.contains("re-created"));
    // Verified once per invocation, not per revocation.
    let mut b = r.batch();
    b.process(&event("03-failed-call-access-denied.json"), false)
        .await
        .unwrap();
    b.process(&event("08-federated-user.json"), false)
        .await
        .unwrap();
    let verifies = r
        .port()
        .lock()
        .calls
        .iter()
        .filter(|c| **c == "verify_policy")
        .count();
    // The deny once for each invocation; the quarantine once, before the first
    // quarantine (the CreateUser's user), not for the CreatePolicy.
    assert_eq!(verifies, 3, "one for each invocation and policy used");
}

#[tokio::test]
async fn an_event_that_touched_the_deny_or_the_tools_roles_is_tampering_whoever_made_it() {
    let base = event("12-admin-create-user.json");
    let mut touched = base.clone();
    if let warden_core::event::Event::CloudTrail { record, .. } = &mut touched {
        record.event_name = Some("CreatePolicyVersion".into());
        record.event_id = Some("tamper-1".into());
        record.request_parameters =
            Some(serde_json::json!({"policyArn": DENY, "setAsDefault": true}));
    }
    let r = revoker(account());
    r.port()
        .lock()
        .tool_policies
        .insert(DENY.into(), ("{}".into(), 2));
    let out = r.batch().process(&touched, false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "alice is a trusted admin");
    assert_eq!(
        r.port().lock().tool_policies[DENY].0,
        warden_core::DENY_ALL_IAM_POLICY
    );
    let notices = r.port().notices();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].body.contains("user/alice"),
        "who did it: {}",
        notices[0].body
    );

    let mut role = base;
    if let warden_core::event::Event::CloudTrail { record, .. } = &mut role {
        record.event_name = Some("UpdateAssumeRolePolicy".into());
        record.event_id = Some("tamper-2".into());
        record.request_parameters =
            Some(serde_json::json!({"roleName": "iam-warden-revoker", "policyDocument": "{}"}));
    }
    let r = revoker(account());
    r.batch().process(&role, false).await.unwrap();
    r.batch().process(&role, false).await.unwrap();
    let notices = r.port().notices();
    assert_eq!(notices.len(), 1, "once per event: {notices:?}");
    assert!(
        notices[0].body.contains("iam-warden-revoker"),
        "{}",
        notices[0].body
    );
}

/// Tampering and failure notices share one notify-once: the event's mark is written
/// whether or not notices go anywhere (as a revocation's is), so that turning TOPIC_ARN
/// on later never sends the notices of events already handled.
#[tokio::test]
async fn with_notices_off_a_tampering_event_is_still_marked_as_handled() {
    let mut role = event("12-admin-create-user.json");
    let mut day = String::new();
    if let warden_core::event::Event::CloudTrail { record, .. } = &mut role {
        record.event_name = Some("UpdateAssumeRolePolicy".into());
        record.event_id = Some("tamper-2".into());
        record.request_parameters =
            Some(serde_json::json!({"roleName": "iam-warden-revoker", "policyDocument": "{}"}));
        day = record.event_time.clone().unwrap()[..10].to_owned();
    }
    let mut port = account();
    port.topic = false;
    let r = revoker(port);
    r.batch().process(&role, false).await.unwrap();
    assert!(r.port().notices().is_empty(), "notices are off");
    let marked = r
        .port()
        .lock()
        .records
        .get(&format!("tampering#{day}"))
        .is_some_and(|rec| rec.notified.contains("tamper-2"));
    assert!(marked, "the event is marked as handled");
}

#[tokio::test]
async fn a_renamed_caller_is_revoked_under_its_new_name_and_the_old_names_new_holder_is_untouched()
{
    let port = account().with_ids();
    // dev1 (id AIDADEV1XXXXXXXXXXXXX, as the event records it) renamed itself d3v1, and
    // someone else was given the name dev1.
    {
        let mut s = port.lock();
        let mut old = s
            .principals
            .remove(&(EntityKind::User, "dev1".into()))
            .unwrap();
        old.unique_id = Some("AIDADEV1XXXXXXXXXXXXX".into());
        s.principals.insert((EntityKind::User, "d3v1".into()), old);
        let newcomer = warden_core::facts::Facts {
            unique_id: Some("AIDANEWCOMER".into()),
            ..Default::default()
        };
        s.principals
            .insert((EntityKind::User, "dev1".into()), newcomer);
    }
    let r = revoker(port);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert_eq!(out.principal, "arn:aws:iam::123456789012:user/d3v1");
    assert!(r
        .port()
        .facts_of(EntityKind::User, "d3v1")
        .unwrap()
        .attached_policies
        .contains(DENY));
    assert!(r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .is_empty());
    assert!(r
        .port()
        .lock()
        .revocations
        .contains_key("AIDADEV1XXXXXXXXXXXXX"));

    // The caller deleted, its name re-created for someone else: never acted on.
    let port = account().with_ids();
    port.lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .unique_id = Some("AIDANEWCOMER".into());
    let r = revoker(port);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
    assert!(r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .is_empty());
}

#[tokio::test]
async fn the_callers_imitation_of_a_revocation_is_replaced_by_the_real_one() {
    let r = revoker(account());
    // mallory-style preparation: an inline policy named like the deny, the record tags.
    {
        let mut s = r.port().lock();
        let f = s
            .principals
            .get_mut(&(EntityKind::User, "dev1".into()))
            .unwrap();
        f.inline_policies.insert("iam-warden-deny-iam".into());
        f.tags.insert(
            "iam-warden:revoked-at".into(),
            "2026-01-01T00:00:00Z".into(),
        );
        f.tags.insert("iam-warden:event-id".into(), "x".into());
        f.tags.insert("iam-warden:notified".into(), "x".into());
    }
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        r.port().lock().calls.contains(&"put_inline_policy"),
        "the tool's own deny put over it"
    );
    assert!(r.port().lock().revocations["user/dev1"].notified);
    assert_eq!(r.port().notices().len(), 1);
}

#[tokio::test]
async fn an_old_boundary_that_cannot_be_read_or_kept_gives_a_boundary_that_denies_everything() {
    let r = revoker(account());
    // dev1's boundary cannot be read (another account's, or refused).
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .boundary = Some("arn:aws:iam::aws:policy/SomeManagedBoundary".into());
    r.port().fail("attach_policy", limit("quota"), 1);
    r.port().fail("put_inline_policy", limit("size"), 1);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let tool = r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .boundary
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&r.port().lock().boundaries[&tool]).unwrap();
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(doc["Statement"][0]["Action"], "*");
    assert_eq!(
        doc["Statement"].as_array().unwrap().len(),
        1,
        "nothing allowed: never wider than the old one"
    );
    assert_eq!(
        r.port().lock().revocations["user/dev1"]
            .previous_boundary
            .as_deref(),
        Some("arn:aws:iam::aws:policy/SomeManagedBoundary")
    );
}

#[tokio::test]
async fn a_failure_between_the_boundary_and_its_record_never_loses_the_principals_own() {
    let r = revoker(account());
    let theirs = "arn:aws:iam::123456789012:policy/team-boundary";
    {
        let mut s = r.port().lock();
        s.boundaries.insert(
            theirs.into(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
        );
        s.principals
            .get_mut(&(EntityKind::User, "dev1".into()))
            .unwrap()
            .boundary = Some(theirs.into());
    }
    let quotas = |r: &Revoker<MemoryAccount>| {
        r.port()
            .fail("attach_policy", limit("PoliciesPerUser: 10"), 1);
        r.port().fail("put_inline_policy", limit("2048 bytes"), 1);
    };
    quotas(&r);
    r.port().fail(
        "record_revocation",
        PortError::Transient {
            operation: "PutItem",
            message: "ProvisionedThroughputExceededException".into(),
        },
        1,
    );
    assert!(r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .is_err());
    // The retry finds the tool's boundary in place; the user's own is in the ledger.
    quotas(&r);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let record = r.port().lock().revocations["user/dev1"].clone();
    assert_eq!(record.previous_boundary.as_deref(), Some(theirs));
    restore(r.port(), r.config(), r.env(), &dev1(), false)
        .await
        .unwrap();
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert_eq!(f.boundary.as_deref(), Some(theirs));
    assert!(
        r.port().lock().kept_boundaries.is_empty(),
        "forgotten once put back"
    );
}
