#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The revoker's code path against the in-memory ports: effects, ordering, invariants.

use warden_core::config::tags;
use warden_core::decision::Decision;
use warden_core::event::Event;
use warden_core::ports::PortError;
use warden_core::principal::{EntityKind, Target};
use warden_core::revoker::{restore, Revoker};
use warden_core::testing::{
    config, environment as env, sample_event as event, MemoryAccount, DENY_POLICY_ARN as DENY,
};

fn account() -> MemoryAccount {
    MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("dev1", &["Developers"], &[])
        .with_user("dev2", &[], &[])
        .with_user("dev3", &[], &[])
        .with_user("ci-bot", &[], &[("iam-warden:exempt", "true")])
        .with_role("deployer", &[])
        .with_baseline()
}

fn transient() -> PortError {
    PortError::Transient {
        operation: "test",
        message: "Throttling: Rate exceeded".into(),
    }
}

fn revoker(extra: &[(&str, &str)]) -> Revoker<MemoryAccount> {
    Revoker::new(account(), config(extra), env())
}

#[tokio::test]
async fn a_non_admin_is_revoked_recorded_and_notified_once() {
    let r = revoker(&[]);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(out.principal, "arn:aws:iam::123456789012:user/dev1");
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert!(f.attached_policies.contains(DENY));
    assert_eq!(
        f.tags[tags::EVENT_ID],
        "7c1e4a3b-0000-4000-8000-000000000001"
    );
    assert_eq!(f.tags[tags::EVENT_NAME], "CreateUser");
    assert!(f.tags.contains_key(tags::REVOKED_AT));
    assert_eq!(f.tags[tags::NOTIFIED], f.tags[tags::EVENT_ID]);
    let notices = r.port().notices();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].subject.contains("revoked: user/dev1"));

    // A later event of the same caller, in another invocation: no second revocation
    // notice; its containment found `backdoor` gone (it does not exist here): nothing
    // to say either, however often it is delivered.
    for _ in 0..2 {
        let again = r
            .batch()
            .process(&event("02-iam-user-duplicate-attach-policy.json"), false)
            .await
            .unwrap();
        assert_eq!(again.decision, Decision::AlreadyRevoked);
    }
    assert_eq!(r.port().notices().len(), 1);
}

#[tokio::test]
async fn invariant_1_admins_exempt_root_service_linked_and_the_tool_are_never_revoked() {
    let r = revoker(&[("ROLE_MODE", "revoke")]);
    let mut batch = r.batch();
    for name in [
        "12-admin-create-user.json",
        "13-exempt-tag.json",
        "09-root.json",
        "15-service-linked-role.json",
        "10-aws-service.json",
    ] {
        let out = batch.process(&event(name), false).await.unwrap();
        assert_ne!(out.decision, Decision::Revoked, "{name}");
    }
    let mut tool = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut tool {
        let issuer = record
            .user_identity
            .as_mut()
            .unwrap()
            .session_context
            .as_mut()
            .unwrap()
            .session_issuer
            .as_mut()
            .unwrap();
        issuer.arn = Some("arn:aws:iam::123456789012:role/iam-warden-revoker".into());
    }
    assert_eq!(
        batch.process(&tool, false).await.unwrap().decision,
        Decision::Ignored
    );
    let calls = r.port().lock().calls.clone();
    assert!(
        !calls
            .iter()
            .any(|c| matches!(*c, "attach_policy" | "put_inline_policy" | "tag")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn invariant_2_a_transient_failure_is_never_a_decision() {
    let r = revoker(&[]);
    r.port().fail("facts", transient(), 1);
    let err = r
        .batch()
        .process(&event("12-admin-create-user.json"), false)
        .await
        .unwrap_err();
    assert!(err.is_transient());
    // Nothing was done on the unknown membership.
    assert!(!r.port().lock().calls.contains(&"attach_policy"));
    // The retry decides on the real membership.
    let out = r
        .batch()
        .process(&event("12-admin-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt);
}

#[tokio::test]
async fn invariant_3_a_notice_that_fails_after_the_attach_is_sent_exactly_once_on_retry() {
    let r = revoker(&[]);
    r.port().fail("publish", transient(), 1);
    let e = event("01-iam-user-create-user.json");
    assert!(r
        .batch()
        .process(&e, false)
        .await
        .unwrap_err()
        .is_transient());
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert!(f.attached_policies.contains(DENY), "the deny stays on");
    assert!(!f.tags.contains_key(tags::NOTIFIED));
    assert!(r.port().notices().is_empty());

    // The message is delivered again.
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(r.port().notices().len(), 1);
    // And a third time (or a duplicate): nothing more.
    assert_eq!(
        r.batch().process(&e, false).await.unwrap().decision,
        Decision::AlreadyRevoked
    );
    assert_eq!(r.port().notices().len(), 1);
}

#[tokio::test]
async fn a_failure_between_record_and_attach_is_finished_by_the_retry() {
    let r = revoker(&[]);
    r.port().fail("attach_policy", transient(), 1);
    let e = event("01-iam-user-create-user.json");
    assert!(r.batch().process(&e, false).await.is_err());
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .contains(DENY));
    assert_eq!(r.port().notices().len(), 1);
}

#[tokio::test]
async fn invariant_4_restore_undoes_a_revocation_and_says_when_there_is_nothing_to_undo() {
    let r = revoker(&[]);
    r.batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    let dev1 = Target {
        kind: EntityKind::User,
        name: "dev1".into(),
        arn: "arn:aws:iam::123456789012:user/dev1".into(),
    };
    let report = restore(r.port(), r.config(), r.env(), &dev1, false)
        .await
        .unwrap();
    assert!(report.restored);
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert!(f.attached_policies.is_empty());
    assert!(
        !f.tags.keys().any(|k| k.starts_with("iam-warden:")),
        "{:?}",
        f.tags
    );
    assert_eq!(
        r.port().notices().last().unwrap().attributes["decision"],
        "restored"
    );

    let again = restore(r.port(), r.config(), r.env(), &dev1, false)
        .await
        .unwrap();
    assert!(!again.restored);
    // A restored user who manages IAM again is revoked again.
    let out = r
        .batch()
        .process(&event("02-iam-user-duplicate-attach-policy.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
}

#[tokio::test]
async fn a_duplicate_in_a_later_invocation_costs_one_call_and_a_removed_deny_is_seen() {
    let r = revoker(&[]);
    // dev1 as IAM has it: the unique id its events carry (the confirmed revocation is
    // the caller's, by id, not the name's).
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .unique_id = Some("AIDADEV1XXXXXXXXXXXXX".into());
    r.batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    r.port().lock().calls.clear();
    let again = r
        .batch()
        .process(&event("02-iam-user-duplicate-attach-policy.json"), false)
        .await
        .unwrap();
    assert_eq!(again.decision, Decision::AlreadyRevoked);
    // One call for the caller (is the deny still there?); then the containment of the
    // call it made before the deny: the trust ledger (is the grantee a trusted admin or
    // exempt? once per invocation; IAM only if the ledger names it), CloudTrail's
    // attaches and detaches of the kind (was it there already? cached a minute), the
    // record, the detach and its state, the caller's held records (none), and whether
    // the event's notice went out (`backdoor` is gone here: nothing to notify). Each
    // read is one small item or index query, whatever the caller did before.
    assert_eq!(
        r.port().lock().calls,
        vec![
            "deny_present",
            "trust_set",
            "lookup",
            "lookup",
            "record_actions",
            "apply",
            "set_action",
            "caller_actions",
            "notified"
        ]
    );

    // Someone detached the deny (not through this process): the check sees it and the
    // caller is decided in full, so revoked again.
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".to_string()))
        .unwrap()
        .attached_policies
        .clear();
    let third = r
        .batch()
        .process(&event("02-iam-user-duplicate-attach-policy.json"), false)
        .await
        .unwrap();
    assert_eq!(third.decision, Decision::Revoked);
    assert!(r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .contains(DENY));
}

#[tokio::test]
async fn facts_are_looked_up_once_per_principal_per_invocation() {
    let r = revoker(&[]);
    let mut batch = r.batch();
    for name in [
        "12-admin-create-user.json",
        "12-admin-create-user.json",
        "01-iam-user-create-user.json",
        "02-iam-user-duplicate-attach-policy.json",
    ] {
        batch.process(&event(name), false).await.unwrap();
    }
    let facts_calls = r
        .port()
        .lock()
        .calls
        .iter()
        .filter(|c| **c == "facts")
        .count();
    // alice and dev1: `backdoor`, whose guard the containment of dev1's calls checks,
    // is not in the trust ledger, so IAM is not asked about it.
    assert_eq!(facts_calls, 2);
}

#[tokio::test]
async fn iam_refusing_the_attach_at_its_quota_falls_back_to_the_inline_deny() {
    let r = revoker(&[]);
    r.port().lock().attach_limit = Some(0);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(out.reason.contains("inline"), "{}", out.reason);
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert!(f.inline_policies.contains("iam-warden-deny-iam"));
    assert!(r.port().notices()[0].body.contains("inline deny"));
}

#[tokio::test]
async fn dry_run_decides_without_effects() {
    let r = revoker(&[]);
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), true)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .is_empty());
    assert!(r.port().notices().is_empty());
}

#[tokio::test]
async fn alerts_and_would_revoke_are_notified_once_per_principal_and_action_within_the_window() {
    let r = revoker(&[("MODE", "report")]);
    for _ in 0..3 {
        let out = r
            .batch()
            .process(&event("01-iam-user-create-user.json"), false)
            .await
            .unwrap();
        assert_eq!(out.decision, Decision::WouldRevoke);
    }
    r.batch()
        .process(&event("02-iam-user-duplicate-attach-policy.json"), false)
        .await
        .unwrap();
    r.batch()
        .process(&event("09-root.json"), false)
        .await
        .unwrap();
    r.batch()
        .process(&event("09-root.json"), false)
        .await
        .unwrap();
    let subjects: Vec<String> = r.port().notices().into_iter().map(|n| n.subject).collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(r
        .port()
        .facts_of(EntityKind::User, "dev1")
        .unwrap()
        .attached_policies
        .is_empty());

    let no_window = revoker(&[("MODE", "report"), ("ALERT_WINDOW_SECONDS", "0")]);
    for _ in 0..2 {
        no_window
            .batch()
            .process(&event("01-iam-user-create-user.json"), false)
            .await
            .unwrap();
    }
    assert_eq!(no_window.port().notices().len(), 2);
}

#[tokio::test]
async fn invariant_9_a_deleted_caller_is_a_decision_not_a_retry() {
    let r = Revoker::new(MemoryAccount::new(), config(&[]), env());
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Alerted);
    assert_eq!(r.port().notices().len(), 1);
}

/// An operator's request the tool refuses is the domain's error, not an AWS failure:
/// it names what to do, and is never retried.
#[tokio::test]
async fn an_operators_request_about_no_principal_or_nothing_to_trust_is_refused_not_retried() {
    use warden_core::error::DomainError;
    let r = revoker(&[]);
    let ghost = Target {
        kind: EntityKind::User,
        name: "ghost".into(),
        arn: "arn:aws:iam::123456789012:user/ghost".into(),
    };
    let err = restore(r.port(), r.config(), r.env(), &ghost, false)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DomainError::NoSuchPrincipal { command: "restore", target } if target == "user/ghost"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "restore: no such entity: user/ghost does not exist"
    );
    assert!(err.is_permanent());

    let err = warden_core::vouch::vouch(r.port(), r.config(), r.env(), &ghost, "op")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::NoSuchPrincipal {
            command: "trust",
            ..
        }
    ));

    let dev2 = Target {
        kind: EntityKind::User,
        name: "dev2".into(),
        arn: "arn:aws:iam::123456789012:user/dev2".into(),
    };
    let err = warden_core::vouch::vouch(r.port(), r.config(), r.env(), &dev2, "op")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DomainError::Refused {
                command: "trust",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());

    // A port's failure stays the port's, transient or not.
    r.port().fail("facts", transient(), 1);
    let err = restore(r.port(), r.config(), r.env(), &dev2, false)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DomainError::Port(PortError::Transient { .. })
    ));
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_revocation_notice_another_invocation_is_sending_is_sent_once() {
    // The events queue's and the deferral queue's invocations revoke dev1 at once: both
    // find the same revocation record, and only the one that claims its notice sends it.
    let r = revoker(&[]);
    let transient = || PortError::Transient {
        operation: "Publish",
        message: "SNS is down".into(),
    };
    // A first attempt whose notice could not be published gives its claim up.
    r.port().fail("publish", transient(), 1);
    let first = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await;
    assert!(first.is_err(), "{first:?}");
    assert!(r.port().lock().claims.is_empty(), "the claim was given up");
    let (key, event_id) = {
        let s = r.port().lock();
        let (key, record) = s.revocations.iter().next().unwrap();
        (format!("revocation/{key}"), record.event_id.clone())
    };
    // The other invocation claims it now: this one sends nothing and asks again later.
    r.port()
        .lock()
        .claims
        .insert((key.clone(), event_id.clone()), chrono::Utc::now());
    let held = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await;
    assert!(
        matches!(&held, Err(e) if e.to_string().contains("another invocation is sending")),
        "{held:?}"
    );
    assert!(r.port().notices().is_empty());
    // It sent it, and marked what it told of: this one marks the record, sends nothing.
    {
        let mut s = r.port().lock();
        s.claims.clear();
        let caller = "user/dev1".to_owned();
        for (scope, id) in [(key.clone(), event_id.clone()), (caller, event_id.clone())] {
            s.records.entry(scope).or_default().notified.insert(id);
        }
    }
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(r.port().notices().is_empty());
    assert!(r.port().lock().revocations.values().all(|rec| rec.notified));

    // A claim older than its lease (its invocation died): taken over, sent once.
    let r = revoker(&[]);
    r.port().fail("publish", transient(), 1);
    let _ = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await;
    let stale = chrono::Utc::now() - chrono::TimeDelta::minutes(10);
    let claim = {
        let s = r.port().lock();
        let (key, record) = s.revocations.iter().next().unwrap();
        (format!("revocation/{key}"), record.event_id.clone())
    };
    r.port().lock().claims.insert(claim, stale);
    for _ in 0..2 {
        r.batch()
            .process(&event("01-iam-user-create-user.json"), false)
            .await
            .unwrap();
    }
    assert_eq!(r.port().notices().len(), 1);
}

#[tokio::test]
async fn restore_never_puts_back_what_was_recorded_for_another_principal_of_that_name() {
    // An earlier user/dev1 (another unique id) made itself an admin; the tool undid it
    // and recorded the undo under user/dev1. That user was deleted and a new dev1 made.
    // Restoring the new dev1 must not put the old one's admin membership back on it.
    let r = revoker(&[]);
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .unique_id = Some("AIDADEV1XXXXXXXXXXXXX".into());
    r.batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    let mut old = warden_core::action::ActionRecord::records(
        "old-escalation",
        "",
        &[warden_core::action::Action::RemoveFromGroup {
            group: "Administrators".into(),
            user: "dev1".into(),
        }],
        warden_core::action::ActionState::Done,
        chrono::Utc::now() - chrono::TimeDelta::days(30),
        "user/dev1 added user/dev1 to `Administrators`",
    );
    old[0].1.caller_id = Some("AIDAOLDDEV1XXXXXXXXXX".into());
    {
        let mut s = r.port().lock();
        let record = s.records.entry("user/dev1".into()).or_default();
        record.caller = "user/dev1".into();
        record.actions.extend(old);
    }
    let dev1 = Target {
        kind: EntityKind::User,
        name: "dev1".into(),
        arn: "arn:aws:iam::123456789012:user/dev1".into(),
    };
    let report = restore(r.port(), r.config(), r.env(), &dev1, false)
        .await
        .unwrap();
    assert!(report.restored);
    let f = r.port().facts_of(EntityKind::User, "dev1").unwrap();
    assert!(!f.groups.contains("Administrators"), "{:?}", f.groups);
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.contains("AIDAOLDDEV1XXXXXXXXXX") && a.contains("another principal")),
        "{:?}",
        report.actions
    );
    // Its own records carry its id.
    let own: Vec<_> = r.port().lock().records["user/dev1"]
        .actions
        .values()
        .filter(|a| a.event_id != "old-escalation")
        .map(|a| a.caller_id.clone())
        .collect();
    assert!(!own.is_empty());
    assert!(
        own.iter()
            .all(|id| id.as_deref() == Some("AIDADEV1XXXXXXXXXXXXX")),
        "{own:?}"
    );
}

#[tokio::test]
async fn restore_finds_a_callers_records_by_its_unique_id_after_it_was_renamed() {
    // dev1 was revoked, and what it did to dev2's key was undone and recorded under
    // user/dev1; then dev1 was renamed dev1b. Restoring dev1b puts back its records
    // (found by its unique id), not only those under its new name.
    let r = revoker(&[]);
    let id = "AIDADEV1XXXXXXXXXXXXX";
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".into()))
        .unwrap()
        .unique_id = Some(id.into());
    r.batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    let key = warden_core::action::Credential::AccessKey("AKIADEV2".into());
    let mut undone = warden_core::action::ActionRecord::records(
        "dev1-call",
        "c",
        &[warden_core::action::Action::SetCredential {
            user: "dev2".into(),
            credential: key.clone(),
            active: false,
        }],
        warden_core::action::ActionState::Done,
        chrono::Utc::now(),
        "iam:UpdateAccessKey userName=dev2",
    );
    undone[0].1.caller_id = Some(id.into());
    {
        let mut s = r.port().lock();
        s.credentials.insert(("dev2".into(), key.clone()), false);
        let record = s.records.entry("user/dev1".into()).or_default();
        record.caller = "user/dev1".into();
        record.actions.extend(undone);
        let f = s
            .principals
            .remove(&(EntityKind::User, "dev1".into()))
            .unwrap();
        s.principals.insert((EntityKind::User, "dev1b".into()), f);
        s.rename_user("dev1", "dev1b");
    }
    let dev1b = Target {
        kind: EntityKind::User,
        name: "dev1b".into(),
        arn: "arn:aws:iam::123456789012:user/dev1b".into(),
    };
    let report = restore(r.port(), r.config(), r.env(), &dev1b, false)
        .await
        .unwrap();
    assert_eq!(
        r.port().lock().credentials.get(&("dev2".into(), key)),
        Some(&true),
        "{:?}",
        report.actions
    );
    let state = r.port().lock().records["user/dev1"].actions["dev1-call#c0"].state;
    assert_eq!(state, warden_core::action::ActionState::Restored);
}
