#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! ROLE_MODE=session (issue 19): a role session that may not manage IAM is denied IAM
//! alone, by its `aws:userid`; every other session of the role keeps working. The
//! decision (pure), then the revoker against the in-memory ports, then restore.

use std::collections::BTreeSet;

use warden_core::decision::{decide, Decision, Step, Verdict};
use warden_core::event::Event;
use warden_core::facts::{CallerFacts, Facts};
use warden_core::ports::PortError;
use warden_core::principal::EntityKind;
use warden_core::revocation::{Method, RevocationRecord};
use warden_core::revoker::{restore, restore_session, Revoker};
use warden_core::session::{ids_in, SessionFacts, SESSIONS_POLICY};
use warden_core::testing::{
    config, environment as env, sample_event as event, MemoryAccount, DENY_POLICY_ARN as DENY,
};

const ROLE_ID: &str = "AROAEXAMPLEROLEID01";
const FIRST: &str = "AROAEXAMPLEROLEID01:gh-actions-1234";

/// The sample role session's event, as another session of the same role (or with its
/// identity changed by `edit`).
fn session_event(name: &str, event_id: &str) -> Event {
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        let id = record.user_identity.as_mut().unwrap();
        id.principal_id = Some(format!("{ROLE_ID}:{name}"));
        id.arn = Some(format!(
            "arn:aws:sts::123456789012:assumed-role/deployer/{name}"
        ));
        record.event_id = Some(event_id.into());
    }
    e
}

fn run(event: &Event, f: &CallerFacts, extra: &[(&str, &str)]) -> Verdict {
    let c = config(extra);
    match decide(event, None, &c, &env()) {
        Step::Done(v) => v,
        _ => match decide(event, Some(f), &c, &env()) {
            Step::Done(v) => v,
            other => panic!("asked again: {other:?}"),
        },
    }
}

fn role_facts(session: Option<SessionFacts>) -> CallerFacts {
    CallerFacts::Found(Facts {
        unique_id: Some(ROLE_ID.into()),
        session,
        ..Facts::default()
    })
}

fn record(method: Method, notified: bool) -> RevocationRecord {
    RevocationRecord {
        kind: EntityKind::Role,
        name: "deployer".into(),
        unique_id: Some(ROLE_ID.into()),
        event_id: "e0".into(),
        event_name: "CreateRole".into(),
        at: chrono::Utc::now(),
        method,
        previous_boundary: None,
        notified,
        session: Some(FIRST.into()),
        source: None,
        source_user: None,
    }
}

#[test]
fn by_default_a_session_is_revoked_alone_by_its_aws_userid() {
    let v = run(&event("06-assumed-role.json"), &role_facts(None), &[]);
    assert_eq!(v.decision, Decision::Revoked, "{}", v.reason);
    let r = v.revocation.unwrap();
    assert_eq!(
        (r.target.kind, r.target.name.as_str(), r.session.as_deref()),
        (EntityKind::Role, "deployer", Some(FIRST))
    );
    assert_eq!(r.method, Method::Inline);
    assert!(v.reason.contains("gh-actions-1234"), "{}", v.reason);

    // The two other modes stay as they were.
    let alert = run(
        &event("06-assumed-role.json"),
        &role_facts(None),
        &[("ROLE_MODE", "alert")],
    );
    assert_eq!(alert.decision, Decision::Alerted);
    let whole = run(
        &event("06-assumed-role.json"),
        &role_facts(None),
        &[("ROLE_MODE", "revoke")],
    );
    assert_eq!(whole.decision, Decision::Revoked);
    assert_eq!(whole.revocation.unwrap().session, None);
    let report = run(
        &event("06-assumed-role.json"),
        &role_facts(None),
        &[("MODE", "report")],
    );
    assert_eq!(report.decision, Decision::WouldRevoke);
    assert!(report.revocation.is_none());
}

#[test]
fn a_session_is_already_revoked_only_when_its_record_and_its_deny_both_hold() {
    let e = event("06-assumed-role.json");
    let done = SessionFacts {
        record: Some(record(Method::Inline, true)),
        denied: true,
    };
    assert_eq!(
        run(&e, &role_facts(Some(done)), &[]).decision,
        Decision::AlreadyRevoked
    );
    // The deny removed since (the caller's doing): applied again.
    let removed = SessionFacts {
        record: Some(record(Method::Inline, true)),
        denied: false,
    };
    let v = run(&e, &role_facts(Some(removed)), &[]);
    assert_eq!(v.decision, Decision::Revoked);
    assert!(!v.revocation.unwrap().resume);
    // Denied, not yet notified: the notice resumed, nothing applied again.
    let pending = SessionFacts {
        record: Some(record(Method::Managed, false)),
        denied: true,
    };
    let v = run(&e, &role_facts(Some(pending)), &[]);
    let r = v.revocation.unwrap();
    assert!(r.resume);
    assert_eq!(r.method, Method::Managed);
    // A record of no deny at all: never already revoked.
    let none = SessionFacts {
        record: None,
        denied: true,
    };
    assert_eq!(
        run(&e, &role_facts(Some(none)), &[]).decision,
        Decision::Revoked
    );
}

#[test]
fn a_session_the_record_does_not_name_exactly_is_alerted_never_guessed() {
    // No issuer id: its aws:userid cannot be known.
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        let id = record.user_identity.as_mut().unwrap();
        id.session_context
            .as_mut()
            .unwrap()
            .session_issuer
            .as_mut()
            .unwrap()
            .principal_id = None;
    }
    let v = run(&e, &role_facts(None), &[]);
    assert_eq!(v.decision, Decision::Alerted);
    assert!(v.reason.contains("cannot be stopped alone"), "{}", v.reason);
    // An id that is not its role's.
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        record.user_identity.as_mut().unwrap().principal_id =
            Some("AROAOTHERROLE:gh-actions-1234".into());
    }
    assert_eq!(run(&e, &role_facts(None), &[]).decision, Decision::Alerted);
    // A session name IAM never issues (a wildcard a caller would like widened).
    let e = session_event("x*", "e-star");
    assert_eq!(run(&e, &role_facts(None), &[]).decision, Decision::Alerted);
    // With the characters IAM allows, it is revoked.
    let e = session_event("a=b,c.d@e_f+g-h", "e-chars");
    let v = run(&e, &role_facts(None), &[]);
    assert_eq!(
        v.revocation.unwrap().session.as_deref(),
        Some("AROAEXAMPLEROLEID01:a=b,c.d@e_f+g-h")
    );
}

#[test]
fn a_role_revoked_whole_before_stays_already_revoked() {
    let f = CallerFacts::Found(Facts {
        unique_id: Some(ROLE_ID.into()),
        attached_policies: BTreeSet::from([DENY.to_owned()]),
        revocation: Some(RevocationRecord {
            session: None,
            ..record(Method::Managed, true)
        }),
        ..Facts::default()
    });
    assert_eq!(
        run(&event("06-assumed-role.json"), &f, &[]).decision,
        Decision::AlreadyRevoked
    );
}

fn account() -> MemoryAccount {
    let a = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_role("deployer", &[])
        .with_baseline();
    a.lock()
        .principals
        .get_mut(&(EntityKind::Role, "deployer".into()))
        .unwrap()
        .unique_id = Some(ROLE_ID.into());
    a
}

/// The revocation notices (a session's source has its own notice).
fn revocations(r: &Revoker<MemoryAccount>) -> Vec<warden_core::notice::Notice> {
    r.port()
        .notices()
        .into_iter()
        .filter(|n| n.attributes.get("decision").map(String::as_str) == Some("revoked"))
        .collect()
}

fn sessions_denied(r: &Revoker<MemoryAccount>) -> BTreeSet<String> {
    let doc = r
        .port()
        .lock()
        .inline_documents
        .get(&("role/deployer".into(), SESSIONS_POLICY.into()))
        .cloned();
    doc.map(|d| ids_in(&d, ROLE_ID)).unwrap_or_default()
}

#[tokio::test]
async fn two_sessions_of_one_role_each_stopped_alone_and_notified_once() {
    let r = Revoker::new(account(), config(&[]), env());
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert_eq!(sessions_denied(&r), BTreeSet::from([FIRST.to_owned()]));
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    assert!(
        !role.attached_policies.contains(DENY),
        "the role itself is not revoked"
    );
    let notices = revocations(&r);
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0]
            .body
            .contains("warden restore --role deployer --session gh-actions-1234"),
        "{}",
        notices[0].body
    );
    assert!(notices[0].body.contains(FIRST), "{}", notices[0].body);

    // The other session of the role: not already revoked by the first's deny, decided
    // on its own and denied alone, in the same policy.
    let other = session_event("alice-laptop", "e-other");
    let out = r.batch().process(&other, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert_eq!(
        sessions_denied(&r),
        BTreeSet::from([
            FIRST.to_owned(),
            "AROAEXAMPLEROLEID01:alice-laptop".to_owned()
        ])
    );
    // The first session again, in the same and in a new invocation: already revoked,
    // no second notice.
    for _ in 0..2 {
        let again = r
            .batch()
            .process(&event("06-assumed-role.json"), false)
            .await
            .unwrap();
        assert_eq!(again.decision, Decision::AlreadyRevoked, "{}", again.reason);
    }
    assert_eq!(revocations(&r).len(), 2);
    assert!(r.port().lock().revocations.contains_key(FIRST));
}

fn limit(operation: &'static str) -> PortError {
    PortError::LimitExceeded {
        operation,
        message: "quota".into(),
    }
}

#[tokio::test]
async fn at_the_roles_inline_quota_a_managed_policy_takes_over_then_the_boundary() {
    let r = Revoker::new(account(), config(&[]), env());
    r.port()
        .fail("put_inline_policy", limit("PutRolePolicy"), 1);
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let managed = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-sessions-deployer";
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    assert!(role.attached_policies.contains(managed), "{role:?}");
    let doc = r.port().lock().boundaries.get(managed).cloned().unwrap();
    assert_eq!(ids_in(&doc, ROLE_ID), BTreeSet::from([FIRST.to_owned()]));
    assert_eq!(r.port().lock().revocations[FIRST].method, Method::Managed);

    // Every quota full for the next session: the boundary, keeping the old one's limits.
    let old = "arn:aws:iam::123456789012:policy/team-boundary";
    r.port().lock().boundaries.insert(
        old.into(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
    );
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "deployer".into()))
        .unwrap()
        .boundary = Some(old.into());
    r.port()
        .fail("put_inline_policy", limit("PutRolePolicy"), 1);
    r.port().fail("attach_policy", limit("AttachRolePolicy"), 1);
    let second = session_event("second", "e-second");
    let out = r.batch().process(&second, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    let boundary = role.boundary.clone().unwrap();
    assert!(
        boundary.contains("iam-warden-boundary-role-deployer"),
        "{boundary}"
    );
    let doc = r.port().lock().boundaries.get(&boundary).cloned().unwrap();
    assert!(doc.contains("s3:*"), "the old limits kept: {doc}");
    assert_eq!(
        ids_in(&doc, ROLE_ID),
        BTreeSet::from(["AROAEXAMPLEROLEID01:second".to_owned()])
    );
    let rec = r.port().lock().revocations["AROAEXAMPLEROLEID01:second"].clone();
    assert_eq!(
        (rec.method, rec.previous_boundary.as_deref()),
        (Method::Boundary, Some(old))
    );

    // Restore of that session alone puts the role's own boundary back, and leaves the
    // first session denied.
    let report = restore_session(r.port(), &config(&[]), &env(), &role_target(), "second")
        .await
        .unwrap();
    assert!(report.restored, "{report:?}");
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    assert_eq!(role.boundary.as_deref(), Some(old));
    assert!(role.attached_policies.contains(managed));
    assert!(!r
        .port()
        .lock()
        .revocations
        .contains_key("AROAEXAMPLEROLEID01:second"));
}

fn role_target() -> warden_core::principal::Target {
    warden_core::principal::Target {
        kind: EntityKind::Role,
        name: "deployer".into(),
        arn: "arn:aws:iam::123456789012:role/deployer".into(),
    }
}

#[tokio::test]
async fn restore_of_one_session_lifts_it_alone_and_of_the_role_lifts_them_all() {
    let r = Revoker::new(account(), config(&[]), env());
    for (name, id) in [("gh-actions-1234", "e1"), ("b2", "e2"), ("c3", "e3")] {
        let out = r
            .batch()
            .process(&session_event(name, id), false)
            .await
            .unwrap();
        assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    }
    assert_eq!(sessions_denied(&r).len(), 3);
    let report = restore_session(r.port(), &config(&[]), &env(), &role_target(), "b2")
        .await
        .unwrap();
    assert!(report.restored);
    assert_eq!(
        sessions_denied(&r),
        BTreeSet::from([FIRST.to_owned(), "AROAEXAMPLEROLEID01:c3".to_owned()])
    );
    assert!(!r
        .port()
        .lock()
        .revocations
        .contains_key("AROAEXAMPLEROLEID01:b2"));
    // b2 may be revoked again later (its record is gone): decided afresh.
    let out = r
        .batch()
        .process(&session_event("b2", "e4"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);

    let report = restore(r.port(), &config(&[]), &env(), &role_target(), false)
        .await
        .unwrap();
    assert!(report.restored, "{report:?}");
    assert!(sessions_denied(&r).is_empty());
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    assert!(!role.inline_policies.contains(SESSIONS_POLICY));
    assert!(r.port().lock().revocations.is_empty());
}

// ---- Sources: the call that issued a revoked session --------------------------------

/// The AssumeRole call by `caller` (a userIdentity) that issued session `name` of
/// deployer, a minute before the session began.
fn assume(
    caller: serde_json::Value,
    name: &str,
    call: &str,
) -> warden_core::event::CloudTrailRecord {
    serde_json::from_value(serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T08:59:30Z",
        "eventSource": "sts.amazonaws.com", "eventName": call,
        "userIdentity": caller, "recipientAccountId": "123456789012",
        "eventID": format!("assume-{name}"), "readOnly": false,
        "requestParameters": {"roleArn": "arn:aws:iam::123456789012:role/deployer", "roleSessionName": name},
        "responseElements": {"assumedRoleUser": {
            "assumedRoleId": format!("{ROLE_ID}:{name}"),
            "arn": format!("arn:aws:sts::123456789012:assumed-role/deployer/{name}")}},
    }))
    .unwrap()
}

fn iam_user(name: &str) -> serde_json::Value {
    serde_json::json!({"type": "IAMUser", "principalId": format!("AIDA{}", name.to_uppercase()),
        "accountId": "123456789012", "arn": format!("arn:aws:iam::123456789012:user/{name}"),
        "userName": name})
}

fn traced_account() -> MemoryAccount {
    let a = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("eve", &[], &[])
        .with_role("deployer", &[])
        .with_role("jump", &[])
        .with_baseline();
    {
        let mut s = a.lock();
        for ((kind, name), f) in s.principals.iter_mut() {
            f.unique_id = Some(match (kind, name.as_str()) {
                (EntityKind::Role, "deployer") => ROLE_ID.to_owned(),
                (EntityKind::Role, "jump") => "AROAJUMP".to_owned(),
                (_, n) => format!("AIDA{}", n.to_uppercase()),
            });
        }
    }
    a
}

fn source_notices(r: &Revoker<MemoryAccount>) -> Vec<warden_core::notice::Notice> {
    r.port()
        .notices()
        .into_iter()
        .filter(|n| n.attributes.get("decision").map(String::as_str) == Some("source"))
        .collect()
}

#[tokio::test]
async fn a_sessions_source_user_is_revoked_and_denied_assuming_the_role_again() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.port()
        .in_trail(assume(iam_user("eve"), "gh-actions-1234", "AssumeRole"));
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        out.actions
            .iter()
            .any(|a| a.contains("source of session") && a.contains("user/eve")),
        "{:?}",
        out.actions
    );
    // eve: her own IAM access revoked, and denied assuming deployer again.
    let eve = r.port().facts_of(EntityKind::User, "eve").unwrap();
    assert!(eve.attached_policies.contains(DENY), "{eve:?}");
    let doc = r
        .port()
        .lock()
        .inline_documents
        .get(&(
            "user/eve".into(),
            warden_core::source::NO_ASSUME_POLICY.into(),
        ))
        .cloned()
        .unwrap();
    assert_eq!(
        warden_core::source::roles_in(&doc),
        BTreeSet::from(["arn:aws:iam::123456789012:role/deployer".to_owned()])
    );
    let said = source_notices(&r);
    assert_eq!(said.len(), 1);
    assert!(said[0].body.contains("user/eve"), "{}", said[0].body);
    assert_eq!(
        r.port().lock().revocations[FIRST].source_user.as_deref(),
        Some("eve")
    );

    // Delivered again: the source is settled, nothing said twice.
    let again = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(again.decision, Decision::AlreadyRevoked);
    assert_eq!(source_notices(&r).len(), 1);

    // Restore of the session lifts the session's deny and eve's deny of assuming again.
    let report = restore_session(
        r.port(),
        &config(&[]),
        &env(),
        &role_target(),
        "gh-actions-1234",
    )
    .await
    .unwrap();
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("assuming role/deployer again")),
        "{report:?}"
    );
    assert!(!r.port().lock().inline_documents.contains_key(&(
        "user/eve".into(),
        warden_core::source::NO_ASSUME_POLICY.into()
    )));
}

#[tokio::test]
async fn a_trusted_source_is_not_stopped_and_the_notice_says_what_to_check() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.port()
        .in_trail(assume(iam_user("alice"), "gh-actions-1234", "AssumeRole"));
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    let alice = r.port().facts_of(EntityKind::User, "alice").unwrap();
    assert!(!alice.attached_policies.contains(DENY));
    let said = source_notices(&r);
    assert_eq!(said.len(), 1);
    assert!(said[0].body.contains("not stopped"), "{}", said[0].body);
}

#[tokio::test]
async fn a_chain_of_roles_is_followed_back_to_the_user() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    // eve -> session `hop` of jump -> session gh-actions-1234 of deployer.
    let hop = serde_json::json!({"type": "AssumedRole", "principalId": "AROAJUMP:hop",
        "arn": "arn:aws:sts::123456789012:assumed-role/jump/hop", "accountId": "123456789012",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAJUMP",
            "arn": "arn:aws:iam::123456789012:role/jump", "accountId": "123456789012", "userName": "jump"},
            "attributes": {"creationDate": "2026-11-20T08:58:00Z"}}});
    r.port()
        .in_trail(assume(hop, "gh-actions-1234", "AssumeRole"));
    let mut first = assume(iam_user("eve"), "hop", "AssumeRole");
    first.event_time = Some("2026-11-20T08:57:50Z".into());
    first.response_elements =
        Some(serde_json::json!({"assumedRoleUser": {"assumedRoleId": "AROAJUMP:hop"}}));
    r.port().in_trail(first);
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(
        r.port().lock().revocations.contains_key("AROAJUMP:hop"),
        "{:?}",
        out.actions
    );
    let eve = r.port().facts_of(EntityKind::User, "eve").unwrap();
    assert!(eve.attached_policies.contains(DENY), "{:?}", out.actions);
    assert_eq!(source_notices(&r).len(), 2);
}

#[tokio::test]
async fn a_federated_source_is_named_with_the_condition_that_excludes_it() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    let github = serde_json::json!({"type": "WebIdentityUser",
        "principalId": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:org/app:ref:refs/heads/main",
        "userName": "repo:org/app:ref:refs/heads/main",
        "identityProvider": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"});
    r.port().in_trail(assume(
        github,
        "gh-actions-1234",
        "AssumeRoleWithWebIdentity",
    ));
    r.batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    let said = source_notices(&r);
    assert_eq!(said.len(), 1);
    assert!(
        said[0].body.contains("repo:org/app:ref:refs/heads/main"),
        "{}",
        said[0].body
    );
    assert!(
        said[0]
            .body
            .contains("token.actions.githubusercontent.com:sub"),
        "{}",
        said[0].body
    );
}

#[tokio::test]
async fn a_source_not_in_cloudtrail_yet_is_waited_for_and_then_said_not_found() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    // A session that began a minute ago: its issuing call may not be in CloudTrail yet.
    let now = chrono::Utc::now();
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        record.event_time = Some(now.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        let id = record.user_identity.as_mut().unwrap();
        id.session_context
            .as_mut()
            .unwrap()
            .attributes
            .as_mut()
            .unwrap()
            .creation_date = Some(
            (now - chrono::TimeDelta::minutes(1))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        );
    }
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "the session never waits");
    assert!(out.defer_seconds.is_some(), "{out:?}");
    assert!(source_notices(&r).is_empty());
    // The last pass of a replay: settled as not found, said once.
    let out = r
        .batch_with(warden_core::revoker::Patience::Done)
        .process(&e, false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::AlreadyRevoked);
    assert_eq!(out.defer_seconds, None);
    let said = source_notices(&r);
    assert_eq!(said.len(), 1);
    assert!(said[0].body.contains("not found"), "{}", said[0].body);
}

// ---- The sessions baseline: no pipeline locked out by a first run --------------------

/// A CloudTrail record of a session `name` of role `role` (unique id `role_id`) calling
/// `call`, `days` days ago.
fn role_call(
    role: &str,
    role_id: &str,
    call: &str,
    days: i64,
    extra: serde_json::Value,
) -> warden_core::event::CloudTrailRecord {
    let at = (chrono::Utc::now() - chrono::TimeDelta::days(days))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut record = serde_json::json!({
        "eventVersion": "1.08", "eventTime": at, "eventSource": "iam.amazonaws.com",
        "eventName": call, "awsRegion": "us-east-1", "readOnly": false,
        "eventType": "AwsApiCall", "recipientAccountId": "123456789012",
        "eventID": format!("{role}-{call}-{days}"),
        "userIdentity": {"type": "AssumedRole", "principalId": format!("{role_id}:run-1"),
            "arn": format!("arn:aws:sts::123456789012:assumed-role/{role}/run-1"),
            "accountId": "123456789012",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": role_id,
                "arn": format!("arn:aws:iam::123456789012:role/{role}"),
                "accountId": "123456789012", "userName": role},
                "attributes": {"creationDate": at}}},
        "requestParameters": {"userName": "made"},
    });
    if let (Some(r), Some(e)) = (record.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    serde_json::from_value(record).unwrap()
}

#[tokio::test]
async fn the_roles_whose_sessions_wrote_iam_last_week_are_trusted_once_and_can_be_withdrawn() {
    let account = traced_account();
    {
        let mut s = account.lock();
        for (name, id) in [
            ("pipeline", "AROAPIPE"),
            ("flaky", "AROAFLAKY"),
            ("reader", "AROAREADER"),
        ] {
            let f = warden_core::facts::Facts {
                unique_id: Some(id.into()),
                ..Default::default()
            };
            s.principals.insert((EntityKind::Role, name.into()), f);
        }
    }
    for record in [
        role_call(
            "pipeline",
            "AROAPIPE",
            "CreateUser",
            2,
            serde_json::json!({}),
        ),
        role_call(
            "pipeline",
            "AROAPIPE",
            "AttachRolePolicy",
            3,
            serde_json::json!({}),
        ),
        role_call(
            "flaky",
            "AROAFLAKY",
            "CreateUser",
            1,
            serde_json::json!({"errorCode": "AccessDenied"}),
        ),
        role_call(
            "reader",
            "AROAREADER",
            "ListUsers",
            1,
            serde_json::json!({"readOnly": true}),
        ),
        role_call("oldie", "AROAOLD", "CreateUser", 9, serde_json::json!({})),
        role_call(
            "iam-warden-revoker",
            "AROATOOL",
            "AttachUserPolicy",
            1,
            serde_json::json!({}),
        ),
    ] {
        account.in_trail(record);
    }
    let r = Revoker::new(account, config(&[]), env());
    let taken = warden_core::vouch::ensure_sessions_baseline(r.port(), &config(&[]), &env(), 100)
        .await
        .unwrap()
        .unwrap();
    let names: Vec<&str> = taken.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["pipeline"]);
    assert!(matches!(
        taken[0].provenance,
        warden_core::trust::Provenance::Pipeline { writes: 2, days: 7 }
    ));
    let notices = r.port().notices();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0]
            .body
            .contains("warden trust --role pipeline --withdraw"),
        "{}",
        notices[0].body
    );
    // Once: a second start takes nothing, says nothing.
    assert!(
        warden_core::vouch::ensure_sessions_baseline(r.port(), &config(&[]), &env(), 100)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(r.port().notices().len(), 1);
    // Not with ROLE_MODE=alert (sessions are not stopped: nothing to trust for).
    assert!(warden_core::vouch::ensure_sessions_baseline(
        r.port(),
        &config(&[("ROLE_MODE", "alert")]),
        &env(),
        100
    )
    .await
    .unwrap()
    .is_none());

    // The pipeline's next session writing IAM is exempt, without any tag.
    let next = Event::CloudTrail {
        envelope_id: None,
        envelope_account: None,
        record: Box::new(role_call(
            "pipeline",
            "AROAPIPE",
            "CreateRole",
            0,
            serde_json::json!({"eventID": "next-1"}),
        )),
    };
    let out = r.batch().process(&next, false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(out.reason.contains("pipeline role"), "{}", out.reason);
    // A role that did not write IAM successfully is not trusted.
    let flaky = Event::CloudTrail {
        envelope_id: None,
        envelope_account: None,
        record: Box::new(role_call(
            "flaky",
            "AROAFLAKY",
            "CreateRole",
            0,
            serde_json::json!({"eventID": "next-2"}),
        )),
    };
    assert_eq!(
        r.batch().process(&flaky, false).await.unwrap().decision,
        Decision::Revoked
    );

    // Withdrawn: the pipeline's sessions are stopped like anyone's.
    let pipeline = warden_core::principal::Target {
        kind: EntityKind::Role,
        name: "pipeline".into(),
        arn: String::new(),
    };
    let gone = warden_core::vouch::withdraw(r.port(), &env(), &pipeline)
        .await
        .unwrap();
    assert_eq!(gone.len(), 1);
    let again = Event::CloudTrail {
        envelope_id: None,
        envelope_account: None,
        record: Box::new(role_call(
            "pipeline",
            "AROAPIPE",
            "CreateRole",
            0,
            serde_json::json!({"eventID": "next-3"}),
        )),
    };
    assert_eq!(
        r.batch().process(&again, false).await.unwrap().decision,
        Decision::Revoked
    );
}

#[tokio::test]
async fn a_trusted_roles_session_given_to_an_untrusted_user_stops_the_user_not_the_role() {
    let account = traced_account();
    {
        // deployer is trusted: tagged exempt at the baseline.
        let mut s = account.lock();
        s.principals
            .get_mut(&(EntityKind::Role, "deployer".into()))
            .unwrap()
            .tags
            .insert("iam-warden:exempt".into(), "true".into());
    }
    let account = account.with_baseline();
    account.in_trail(assume(iam_user("eve"), "gh-actions-1234", "AssumeRole"));
    let r = Revoker::new(account, config(&[]), env());
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    // The session is not denied; eve, who was given it, is stopped.
    assert!(sessions_denied(&r).is_empty());
    let eve = r.port().facts_of(EntityKind::User, "eve").unwrap();
    assert!(eve.attached_policies.contains(DENY), "{:?}", out.actions);
    let said = source_notices(&r);
    assert_eq!(said.len(), 1);
    assert!(
        said[0].body.contains("trust is not lifted"),
        "{}",
        said[0].body
    );
    // Once per session: the next call of the same session looks nothing up.
    let calls = r.port().lock().calls.len();
    let mut again = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut again {
        record.event_id = Some("again".into());
    }
    r.batch().process(&again, false).await.unwrap();
    let looked = r.port().lock().calls[calls..]
        .iter()
        .filter(|c| **c == "lookup_between")
        .count();
    assert_eq!(looked, 0);
    assert_eq!(source_notices(&r).len(), 1);
}

#[tokio::test]
async fn a_role_deleted_or_recreated_since_the_call_is_alerted_never_acted_on() {
    // Deleted: neither its name nor its unique id exists.
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.port()
        .lock()
        .principals
        .remove(&(EntityKind::Role, "deployer".into()));
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
    // Re-created: the name has another unique id now.
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "deployer".into()))
        .unwrap()
        .unique_id = Some("AROANEWONE".into());
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
    assert!(
        r.port().lock().inline_documents.is_empty(),
        "nothing written"
    );
}

#[tokio::test]
async fn a_throttled_look_up_for_the_source_waits_and_never_holds_the_sessions_deny() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.port().fail(
        "lookup_between",
        PortError::Transient {
            operation: "LookupEvents",
            message: "ThrottlingException".into(),
        },
        1,
    );
    let now = chrono::Utc::now();
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        record.event_time = Some(now.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(sessions_denied(&r), BTreeSet::from([FIRST.to_owned()]));
    assert!(out.defer_seconds.is_some(), "{out:?}");
    assert!(source_notices(&r).is_empty());
    assert_eq!(r.port().lock().revocations[FIRST].source, None);
}

#[tokio::test]
async fn restore_of_the_whole_role_lifts_its_sessions_sources_deny_of_assuming_it_again() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.port()
        .in_trail(assume(iam_user("eve"), "gh-actions-1234", "AssumeRole"));
    r.batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    let key = (
        "user/eve".to_owned(),
        warden_core::source::NO_ASSUME_POLICY.to_owned(),
    );
    assert!(r.port().lock().inline_documents.contains_key(&key));
    let report = restore(r.port(), &config(&[]), &env(), &role_target(), false)
        .await
        .unwrap();
    assert!(report.restored, "{report:?}");
    assert!(
        !r.port().lock().inline_documents.contains_key(&key),
        "{report:?}"
    );
    assert!(sessions_denied(&r).is_empty());
}

#[tokio::test]
async fn a_renamed_session_is_stopped_again_and_its_source_named_once_per_session() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    // eve's first session, then a second one under a new name (a new AssumeRole).
    r.port()
        .in_trail(assume(iam_user("eve"), "gh-actions-1234", "AssumeRole"));
    r.port()
        .in_trail(assume(iam_user("eve"), "renamed", "AssumeRole"));
    r.batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    let mut second = session_event("renamed", "e-renamed");
    if let Event::CloudTrail { record, .. } = &mut second {
        record
            .user_identity
            .as_mut()
            .unwrap()
            .session_context
            .as_mut()
            .unwrap()
            .source_identity = Some("eve@example.com".into());
    }
    let out = r.batch().process(&second, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert_eq!(
        sessions_denied(&r),
        BTreeSet::from([FIRST.to_owned(), "AROAEXAMPLEROLEID01:renamed".to_owned()])
    );
    // eve was stopped by the first: already revoked; the deny of assuming again holds
    // deployer once.
    let doc = r
        .port()
        .lock()
        .inline_documents
        .get(&(
            "user/eve".into(),
            warden_core::source::NO_ASSUME_POLICY.into(),
        ))
        .cloned()
        .unwrap();
    assert_eq!(warden_core::source::roles_in(&doc).len(), 1);
    let said = source_notices(&r);
    assert_eq!(said.len(), 2);
    assert!(said[1].body.contains("already-revoked"), "{}", said[1].body);
    assert!(said[1].body.contains("eve@example.com"), "{}", said[1].body);
    // One revocation notice for eve herself, one per session.
    assert_eq!(revocations(&r).len(), 3);
}

#[tokio::test]
async fn a_session_of_a_role_its_revoked_maker_created_is_stopped_and_traced_to_the_maker() {
    let account = traced_account().with_role("made-by-eve", &[]);
    account
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "made-by-eve".into()))
        .unwrap()
        .unique_id = Some("AROAMADE".into());
    let r = Revoker::new(account, config(&[]), env());
    // eve (not an admin) creates a role: she is revoked, the role quarantined and its
    // sessions revoked.
    let create: warden_core::event::CloudTrailRecord = serde_json::from_value(serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T08:50:00Z", "eventSource": "iam.amazonaws.com",
        "eventName": "CreateRole", "awsRegion": "us-east-1", "readOnly": false, "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012", "eventID": "eve-create-role",
        "userIdentity": iam_user("eve"),
        "requestParameters": {"roleName": "made-by-eve", "assumeRolePolicyDocument": "{}"},
        "responseElements": {"role": {"roleName": "made-by-eve", "roleId": "AROAMADE",
            "arn": "arn:aws:iam::123456789012:role/made-by-eve"}},
    }))
    .unwrap();
    let out = r
        .batch()
        .process(
            &Event::CloudTrail {
                envelope_id: None,
                envelope_account: None,
                record: Box::new(create),
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let role = r.port().facts_of(EntityKind::Role, "made-by-eve").unwrap();
    assert!(
        role.attached_policies
            .iter()
            .any(|p| p.ends_with("iam-warden-quarantine")),
        "{:?}",
        out.actions
    );
    // A session of that role (eve's) writes IAM: stopped alone, traced to eve.
    let mut hop = assume(iam_user("eve"), "backdoor", "AssumeRole");
    hop.response_elements =
        Some(serde_json::json!({"assumedRoleUser": {"assumedRoleId": "AROAMADE:backdoor"}}));
    r.port().in_trail(hop);
    let call = role_call(
        "made-by-eve",
        "AROAMADE",
        "CreateUser",
        0,
        serde_json::json!({
        "eventID": "made-session-call", "eventTime": "2026-11-20T09:01:00Z",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAMADE:backdoor",
            "arn": "arn:aws:sts::123456789012:assumed-role/made-by-eve/backdoor", "accountId": "123456789012",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAMADE",
                "arn": "arn:aws:iam::123456789012:role/made-by-eve", "accountId": "123456789012",
                "userName": "made-by-eve"}, "attributes": {"creationDate": "2026-11-20T08:59:00Z"}}}}),
    );
    let out = r
        .batch()
        .process(
            &Event::CloudTrail {
                envelope_id: None,
                envelope_account: None,
                record: Box::new(call),
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(r
        .port()
        .lock()
        .revocations
        .contains_key("AROAMADE:backdoor"));
    assert!(
        out.actions.iter().any(|a| a.contains("user/eve")),
        "{:?}",
        out.actions
    );
}

#[tokio::test]
async fn restore_of_one_session_puts_back_what_its_calls_made_and_not_another_sessions() {
    let account = traced_account()
        .with_user("backdoor-a", &[], &[])
        .with_user("backdoor-b", &[], &[]);
    for user in ["backdoor-a", "backdoor-b"] {
        account
            .lock()
            .principals
            .get_mut(&(EntityKind::User, user.into()))
            .unwrap()
            .unique_id = Some(format!("AIDA{}", user.to_uppercase().replace('-', "")));
    }
    let r = Revoker::new(account, config(&[]), env());
    for (session, user, id) in [("s-a", "backdoor-a", "ev-a"), ("s-b", "backdoor-b", "ev-b")] {
        let mut e = session_event(session, id);
        if let Event::CloudTrail { record, .. } = &mut e {
            record.event_name = Some("CreateUser".into());
            record.request_parameters = Some(serde_json::json!({"userName": user}));
            record.response_elements = Some(serde_json::json!({"user": {"userName": user,
                "userId": format!("AIDA{}", user.to_uppercase().replace('-', "")),
                "arn": format!("arn:aws:iam::123456789012:user/{user}")}}));
        }
        let out = r.batch().process(&e, false).await.unwrap();
        assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
        assert!(!out.actions.is_empty(), "{out:?}");
    }
    let quarantined = |user: &str| {
        r.port()
            .facts_of(EntityKind::User, user)
            .unwrap()
            .attached_policies
            .iter()
            .any(|p| p.ends_with("iam-warden-quarantine"))
    };
    assert!(quarantined("backdoor-a") && quarantined("backdoor-b"));
    let report = restore_session(r.port(), &config(&[]), &env(), &role_target(), "s-a")
        .await
        .unwrap();
    assert!(report.restored, "{report:?}");
    assert!(!quarantined("backdoor-a"), "{report:?}");
    assert!(
        quarantined("backdoor-b"),
        "another session's containment stays"
    );
    assert_eq!(
        sessions_denied(&r),
        BTreeSet::from(["AROAEXAMPLEROLEID01:s-b".to_owned()])
    );
}

#[tokio::test]
async fn a_sessions_baseline_that_read_only_the_newest_events_says_so() {
    let account = traced_account();
    for days in [1, 2, 3] {
        account.in_trail(role_call(
            "pipeline",
            "AROAPIPE",
            "CreateUser",
            days,
            serde_json::json!({}),
        ));
    }
    let r = Revoker::new(account, config(&[]), env());
    let taken = warden_core::vouch::ensure_sessions_baseline(r.port(), &config(&[]), &env(), 2)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        taken[0].provenance,
        warden_core::trust::Provenance::Pipeline { writes: 2, .. }
    ));
    let notices = r.port().notices();
    assert!(
        notices[0].body.contains("the newest only"),
        "{}",
        notices[0].body
    );
}

#[tokio::test]
async fn with_every_home_of_the_sessions_deny_full_the_whole_role_is_denied_not_none_of_it() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    // The inline room, then the account's policies (no managed policy, no boundary).
    r.port()
        .fail("put_inline_policy", limit("PutRolePolicy"), 1);
    r.port()
        .fail("put_boundary_policy", limit("CreatePolicy"), 2);
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        out.reason.contains("whole of role/deployer"),
        "{}",
        out.reason
    );
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    assert!(role.attached_policies.contains(DENY), "{role:?}");
    assert_eq!(revocations(&r).len(), 1);
}

#[tokio::test]
async fn a_write_made_after_a_failed_baseline_never_makes_its_role_a_pipeline() {
    let account = traced_account();
    account.in_trail(role_call(
        "pipeline",
        "AROAPIPE",
        "CreateUser",
        2,
        serde_json::json!({}),
    ));
    let r = Revoker::new(account, config(&[]), env());
    // The first start's look-up is not answered (LookupEvents is anyone's to use up).
    r.port().fail(
        "iam_events_between",
        PortError::Transient {
            operation: "LookupEvents",
            message: "ThrottlingException".into(),
        },
        1,
    );
    assert!(
        warden_core::vouch::ensure_sessions_baseline(r.port(), &config(&[]), &env(), 100)
            .await
            .is_err()
    );
    // Meanwhile an attacker's session of `mallets` writes IAM (revoked, but successful).
    let later = chrono::Utc::now() + chrono::TimeDelta::seconds(5);
    let mut write = role_call(
        "mallets",
        "AROAMALLETS",
        "CreateUser",
        0,
        serde_json::json!({}),
    );
    write.event_time = Some(later.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    r.port().in_trail(write);
    // The next start takes the baseline: the pipeline, never the attacker's role.
    let taken = warden_core::vouch::ensure_sessions_baseline(r.port(), &config(&[]), &env(), 100)
        .await
        .unwrap()
        .unwrap();
    let names: Vec<&str> = taken.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["pipeline"]);
}

#[tokio::test]
async fn restore_of_one_of_two_sessions_from_one_source_keeps_it_from_assuming_the_role() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.port()
        .in_trail(assume(iam_user("eve"), "gh-actions-1234", "AssumeRole"));
    r.port()
        .in_trail(assume(iam_user("eve"), "second", "AssumeRole"));
    r.batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    r.batch()
        .process(&session_event("second", "e-second"), false)
        .await
        .unwrap();
    let key = (
        "user/eve".to_owned(),
        warden_core::source::NO_ASSUME_POLICY.to_owned(),
    );
    restore_session(r.port(), &config(&[]), &env(), &role_target(), "second")
        .await
        .unwrap();
    assert!(
        r.port().lock().inline_documents.contains_key(&key),
        "eve's other session is still denied: she stays kept from deployer"
    );
    restore_session(
        r.port(),
        &config(&[]),
        &env(),
        &role_target(),
        "gh-actions-1234",
    )
    .await
    .unwrap();
    assert!(!r.port().lock().inline_documents.contains_key(&key));
}

#[tokio::test]
async fn a_trusted_roles_session_chained_from_another_roles_session_is_said_not_stopped() {
    let account = traced_account();
    account
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "deployer".into()))
        .unwrap()
        .tags
        .insert("iam-warden:exempt".into(), "true".into());
    let account = account.with_baseline();
    let gha = serde_json::json!({"type": "AssumedRole", "principalId": "AROAJUMP:GitHubActions",
        "arn": "arn:aws:sts::123456789012:assumed-role/jump/GitHubActions", "accountId": "123456789012",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAJUMP",
            "arn": "arn:aws:iam::123456789012:role/jump", "accountId": "123456789012", "userName": "jump"},
            "attributes": {"creationDate": "2026-11-20T08:58:00Z"}}});
    account.in_trail(assume(gha, "gh-actions-1234", "AssumeRole"));
    let r = Revoker::new(account, config(&[]), env());
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt);
    assert!(r.port().lock().revocations.is_empty(), "nobody stopped");
    let said = source_notices(&r);
    assert_eq!(said.len(), 1);
    assert!(said[0].body.contains("not stopped"), "{}", said[0].body);
}

#[tokio::test]
async fn a_sessions_deny_removed_by_someone_is_put_back_whole_from_the_ledger_and_said() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    r.batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    r.batch()
        .process(&session_event("second", "e-second"), false)
        .await
        .unwrap();
    // Another session of the role deletes the tool's policy (its own call is revoked in
    // turn): every session the policy held has IAM back, for now.
    {
        let mut s = r.port().lock();
        s.inline_documents
            .remove(&("role/deployer".into(), SESSIONS_POLICY.into()));
        s.principals
            .get_mut(&(EntityKind::Role, "deployer".into()))
            .unwrap()
            .inline_policies
            .remove(SESSIONS_POLICY);
    }
    let tampering_before = r
        .port()
        .notices()
        .iter()
        .filter(|n| n.attributes.get("decision").map(String::as_str) == Some("tampering"))
        .count();
    let mut again = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut again {
        record.event_id = Some("after-the-delete".into());
    }
    let out = r.batch().process(&again, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    // Both sessions denied again: the ledger, not IAM's copy, said which.
    assert_eq!(
        sessions_denied(&r),
        BTreeSet::from([FIRST.to_owned(), "AROAEXAMPLEROLEID01:second".to_owned()])
    );
    let tampering = r
        .port()
        .notices()
        .iter()
        .filter(|n| n.attributes.get("decision").map(String::as_str) == Some("tampering"))
        .count();
    assert_eq!(tampering, tampering_before + 1);
}

#[tokio::test]
async fn a_failure_after_the_boundary_never_loses_the_roles_own_boundary() {
    let r = Revoker::new(traced_account(), config(&[]), env());
    let old = "arn:aws:iam::123456789012:policy/team-boundary";
    r.port().lock().boundaries.insert(
        old.into(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
    );
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "deployer".into()))
        .unwrap()
        .boundary = Some(old.into());
    // Every policy home full: the boundary; then the record is not written (throttled).
    r.port()
        .fail("put_inline_policy", limit("PutRolePolicy"), 1);
    r.port().fail("attach_policy", limit("AttachRolePolicy"), 1);
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
        .process(&event("06-assumed-role.json"), false)
        .await
        .is_err());
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    assert!(role
        .boundary
        .as_deref()
        .unwrap()
        .contains("iam-warden-boundary"));
    // The retry (the message again) finds the tool's boundary in place: the role's own is
    // still known, from the ledger.
    r.port()
        .fail("put_inline_policy", limit("PutRolePolicy"), 1);
    r.port().fail("attach_policy", limit("AttachRolePolicy"), 1);
    let out = r
        .batch()
        .process(&event("06-assumed-role.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert_eq!(
        r.port().lock().revocations[FIRST]
            .previous_boundary
            .as_deref(),
        Some(old)
    );
    restore(r.port(), &config(&[]), &env(), &role_target(), false)
        .await
        .unwrap();
    let role = r.port().facts_of(EntityKind::Role, "deployer").unwrap();
    assert_eq!(role.boundary.as_deref(), Some(old));
}
