#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! A batch's denies first (`Invocation::deny_ahead`), and the decision's reads together:
//! every deny of a batch in place before its first notice, the same decisions, state
//! and notices as carrying each event out in turn, and the revocation record read with
//! IAM's facts only when the ids agree.

use proptest::prelude::*;

use warden_core::config::tags;
use warden_core::decision::Decision;
use warden_core::event::{parse_eventbridge, Event};
use warden_core::principal::EntityKind;
use warden_core::revocation::{Method, RevocationRecord};
use warden_core::revoker::{AheadStop, Outcome, Revoker};
use warden_core::testing::{
    config, environment as env, sample_event as event, sample_text, MemoryAccount,
    DENY_POLICY_ARN as DENY, SAMPLE_EVENTS,
};

fn account() -> MemoryAccount {
    MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("dev1", &["Developers"], &[])
        .with_user("dev2", &[], &[])
        .with_user("dev3", &[], &[])
        .with_user("mallory", &[], &[])
        .with_user("ci-bot", &[], &[("iam-warden:exempt", "true")])
        .with_role("deployer", &[])
        .with_baseline()
}

/// Gives `user` the unique id IAM would answer.
fn give_id(r: &Revoker<MemoryAccount>, user: &str, id: &str) {
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, user.to_owned()))
        .unwrap()
        .unique_id = Some(id.into());
}

/// dev1's CreateUser (events/01) as `user`'s, with its own event id.
fn create_user_by(user: &str, n: u32) -> Event {
    let text = sample_text("01-iam-user-create-user.json")
        .replace("dev1", user)
        .replace("DEV1", &user.to_uppercase())
        .replace(
            "7c1e4a3b-0000-4000-8000-000000000001",
            &format!("7c1e4a3b-0000-4000-8000-{n:012}"),
        );
    parse_eventbridge(&text).unwrap()
}

/// alice (a trusted admin) adds dev3 to `Administrators`: trust given to dev3.
fn alice_adds_dev3() -> Event {
    let mut v: serde_json::Value =
        serde_json::from_str(&sample_text("16-escalation-join-admin-group.json")).unwrap();
    let alice = serde_json::json!({
        "type": "IAMUser",
        "principalId": "AIDAALICEXXXXXXXXXXXX",
        "arn": "arn:aws:iam::123456789012:user/alice",
        "accountId": "123456789012",
        "accessKeyId": "AKIAALICEXXXXXXXXXXX",
        "userName": "alice"
    });
    v["detail"]["userIdentity"] = alice;
    v["detail"]["requestParameters"]["userName"] = "dev3".into();
    v["detail"]["eventID"] = "7c1e4a3b-0000-4000-8000-000000000999".into();
    parse_eventbridge(&v.to_string()).unwrap()
}

/// The events a generated batch picks from: the samples, CreateUser by each user, and
/// alice's grant to dev3.
fn pool() -> Vec<Event> {
    let mut events: Vec<Event> = SAMPLE_EVENTS.iter().map(|name| event(name)).collect();
    events.push(alice_adds_dev3());
    for (n, user) in ["dev2", "dev3", "mallory", "alice", "ci-bot"]
        .iter()
        .enumerate()
    {
        events.push(create_user_by(user, 900 + u32::try_from(n).unwrap()));
    }
    events
}

/// What people and the next decision see of a run: the outcomes, the notices, and each
/// principal's policies and tags (the revocation time aside).
type Seen = (Vec<Outcome>, Vec<(String, String)>, Vec<String>);

fn seen(r: &Revoker<MemoryAccount>, outcomes: Vec<Outcome>) -> Seen {
    let notices = r
        .port()
        .notices()
        .into_iter()
        .map(|n| (n.subject, n.body))
        .collect();
    let s = r.port().lock();
    let principals = s
        .principals
        .iter()
        .map(|((kind, name), f)| {
            let mut tags = f.tags.clone();
            tags.remove(tags::REVOKED_AT);
            format!(
                "{} {name}: {:?} {:?} {:?} {:?}",
                kind.as_str(),
                f.attached_policies,
                f.inline_policies,
                f.boundary,
                tags
            )
        })
        .collect();
    (outcomes, notices, principals)
}

async fn run(events: &[Event], ahead: bool) -> Seen {
    // dev3 in `Administrators` by alice's call, whose event is in the pool: not trusted
    // until it is decided.
    let account = account();
    account
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev3".to_owned()))
        .unwrap()
        .groups
        .insert("Administrators".to_owned());
    let r = Revoker::new(account, config(&[]), env());
    let mut batch = r.batch();
    if ahead {
        batch.deny_ahead(events, None).await;
    }
    let mut outcomes = Vec::new();
    for e in events {
        outcomes.push(batch.process(e, false).await.unwrap());
    }
    drop(batch);
    seen(&r, outcomes)
}

#[tokio::test]
async fn every_deny_of_a_batch_is_in_place_before_its_first_notice() {
    let r = Revoker::new(account(), config(&[]), env());
    let events = [
        event("01-iam-user-create-user.json"),
        event("12-admin-create-user.json"),
        create_user_by("dev2", 901),
        event("04-read-only-list-users.json"),
        create_user_by("dev3", 902),
    ];
    let mut batch = r.batch();
    let ahead = batch.deny_ahead(&events, None).await;
    assert_eq!(ahead.denied, 3, "{ahead:?}");
    assert_eq!(ahead.looked_at, 5);
    assert_eq!(ahead.stopped, AheadStop::End);
    {
        let calls = r.port().lock().calls.clone();
        let attached = calls.iter().filter(|c| **c == "attach_policy").count();
        assert_eq!(attached, 3, "{calls:?}");
        assert!(!calls.contains(&"publish"), "{calls:?}");
        assert!(!calls.contains(&"tag"), "{calls:?}");
    }
    for user in ["dev1", "dev2", "dev3"] {
        let f = r.port().facts_of(EntityKind::User, user).unwrap();
        assert!(f.attached_policies.contains(DENY), "{user}");
    }
    let before = r.port().lock().calls.len();
    let mut decisions = Vec::new();
    for e in &events {
        let out = batch.process(e, false).await.unwrap();
        decisions.push(out.decision);
        if out.decision == Decision::Revoked {
            // Notified with the reason the deny was put in place on.
            assert!(
                out.reason.contains("is not in `Administrators`"),
                "{}",
                out.reason
            );
            assert!(!out.reason.contains("not yet notified"), "{}", out.reason);
        }
    }
    assert_eq!(
        decisions,
        [
            Decision::Revoked,
            Decision::Exempt,
            Decision::Revoked,
            Decision::Ignored,
            Decision::Revoked
        ]
    );
    let calls = r.port().lock().calls[before..].to_vec();
    // No deny again: the only attaches are containment's (of the users they made), each
    // recorded before it is taken.
    assert_eq!(
        calls.iter().filter(|c| **c == "attach_policy").count(),
        calls.iter().filter(|c| **c == "record_actions").count(),
        "{calls:?}"
    );
    assert!(!calls.contains(&"facts"), "read once, ahead: {calls:?}");
    assert_eq!(r.port().notices().len(), 3);
    // The record's tags, once, after the notice.
    assert_eq!(
        calls.iter().filter(|c| **c == "tag").count(),
        3,
        "{calls:?}"
    );
    let f = r.port().facts_of(EntityKind::User, "dev2").unwrap();
    assert_eq!(f.tags[tags::NOTIFIED], f.tags[tags::EVENT_ID]);
    assert_eq!(f.tags[tags::EVENT_NAME], "CreateUser");
}

/// The reads that decide a batch are made together, before its first deny: each caller's
/// facts once, whatever the number of its events.
#[tokio::test]
async fn a_batchs_reads_are_made_together_before_its_first_deny() {
    let r = Revoker::new(account(), config(&[]), env());
    let events = [
        create_user_by("dev2", 901),
        event("12-admin-create-user.json"),
        create_user_by("dev3", 902),
        create_user_by("dev2", 903),
    ];
    let ahead = r.batch().deny_ahead(&events, None).await;
    // dev2 and dev3 (dev2's second event finds its deny in place).
    assert_eq!(ahead.denied, 2, "{ahead:?}");
    let calls = r.port().lock().calls.clone();
    let reads: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == "facts")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(reads.len(), 3, "dev2, alice, dev3 once each: {calls:?}");
    let first_deny = calls.iter().position(|c| *c == "attach_policy").unwrap();
    assert!(reads.iter().all(|i| *i < first_deny), "{calls:?}");
}

#[tokio::test]
async fn a_grant_stops_the_denies_ahead_and_what_follows_waits_for_its_turn() {
    let r = Revoker::new(account(), config(&[]), env());
    let events = [
        create_user_by("dev2", 901),
        event("16-escalation-join-admin-group.json"),
        create_user_by("dev3", 902),
    ];
    let mut batch = r.batch();
    let ahead = batch.deny_ahead(&events, None).await;
    assert_eq!(ahead.denied, 1, "{ahead:?}");
    assert_eq!(ahead.looked_at, 2);
    assert_eq!(ahead.stopped, AheadStop::Changes);
    let dev3 = r.port().facts_of(EntityKind::User, "dev3").unwrap();
    assert!(!dev3.attached_policies.contains(DENY));
    for e in &events {
        batch.process(e, false).await.unwrap();
    }
    let dev3 = r.port().facts_of(EntityKind::User, "dev3").unwrap();
    assert!(dev3.attached_policies.contains(DENY));
}

#[tokio::test]
async fn a_failure_stops_the_denies_ahead_and_its_event_fails_with_it_in_its_turn() {
    let r = Revoker::new(account(), config(&[]), env());
    r.port().fail(
        "attach_policy",
        warden_core::ports::PortError::Transient {
            operation: "AttachUserPolicy",
            message: "Throttling".into(),
        },
        1,
    );
    let events = [create_user_by("dev2", 901), create_user_by("dev3", 902)];
    let mut batch = r.batch();
    let ahead = batch.deny_ahead(&events, None).await;
    assert_eq!((ahead.denied, ahead.stopped), (0, AheadStop::Failed));
    // Its turn fails with it, at once (the SDK's retries are not spent twice); the
    // next event is decided in its turn; the retry revokes.
    let calls = r.port().lock().calls.len();
    let err = batch.process(&events[0], false).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(r.port().lock().calls.len(), calls, "no call made again");
    assert_eq!(
        batch.process(&events[1], false).await.unwrap().decision,
        Decision::Revoked
    );
    drop(batch);
    assert_eq!(
        r.batch().process(&events[0], false).await.unwrap().decision,
        Decision::Revoked
    );
    assert_eq!(r.port().notices().len(), 2);
}

#[tokio::test]
async fn past_the_time_to_start_messages_nothing_is_denied_ahead() {
    let r = Revoker::new(account(), config(&[]), env());
    let events = [create_user_by("dev2", 901)];
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    let ahead = r.batch().deny_ahead(&events, Some(past)).await;
    assert_eq!(
        (ahead.denied, ahead.looked_at, ahead.stopped),
        (0, 0, AheadStop::Deadline)
    );
    assert!(r.port().lock().calls.is_empty());
}

/// The deny of a caller another invocation revoked but did not notify: finished in its
/// event's turn (one notice), not counted as put ahead.
#[tokio::test]
async fn another_invocations_unfinished_revocation_is_left_to_its_events_turn() {
    let r = Revoker::new(account(), config(&[]), env());
    r.port().fail(
        "publish",
        warden_core::ports::PortError::Transient {
            operation: "Publish",
            message: "503".into(),
        },
        1,
    );
    let first = create_user_by("dev2", 901);
    assert!(r.batch().process(&first, false).await.is_err());
    let mut batch = r.batch();
    let ahead = batch.deny_ahead([&first], None).await;
    assert_eq!((ahead.denied, ahead.stopped), (0, AheadStop::End));
    let out = batch.process(&first, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(r.port().notices().len(), 1);
}

/// The record is read alongside IAM's facts, by the id the event gives: once when IAM
/// answers the same id.
#[tokio::test]
async fn the_record_is_read_with_the_facts_by_the_events_id_once_when_the_ids_agree() {
    let r = Revoker::new(account(), config(&[]), env());
    give_id(&r, "dev1", "AIDADEV1XXXXXXXXXXXXX");
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    let calls = r.port().lock().calls.clone();
    assert_eq!(
        calls.iter().filter(|c| **c == "revocation").count(),
        1,
        "{calls:?}"
    );
    assert!(r
        .port()
        .lock()
        .revocations
        .contains_key("AIDADEV1XXXXXXXXXXXXX"));
}

/// A principal that took the name since the event: the record read by the event's id is
/// its predecessor's, never used; its own is read by the id IAM answers (and the call,
/// not the new principal's, is never acted on).
#[tokio::test]
async fn a_record_read_by_another_principals_id_is_read_again_by_iams() {
    let r = Revoker::new(account(), config(&[]), env());
    let old = RevocationRecord {
        kind: EntityKind::User,
        name: "dev1".into(),
        unique_id: Some("AIDADEV1XXXXXXXXXXXXX".into()),
        event_id: "an-old-event".into(),
        event_name: "CreateUser".into(),
        at: chrono::Utc::now(),
        method: Method::Managed,
        previous_boundary: None,
        notified: true,
        session: None,
        source: None,
        source_user: None,
    };
    {
        let mut s = r.port().lock();
        let dev1 = s
            .principals
            .get_mut(&(EntityKind::User, "dev1".to_owned()))
            .unwrap();
        dev1.unique_id = Some("AIDANEWDEV1XXXXXXXXX".into());
        s.revocations
            .insert("AIDADEV1XXXXXXXXXXXXX".into(), old.clone());
    }
    let out = r
        .batch()
        .process(&event("01-iam-user-create-user.json"), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
    let s = r.port().lock();
    assert_eq!(
        s.calls.iter().filter(|c| **c == "revocation").count(),
        2,
        "{:?}",
        s.calls
    );
    assert!(!s.calls.contains(&"attach_policy"), "{:?}", s.calls);
    assert_eq!(s.revocations.get("AIDADEV1XXXXXXXXXXXXX"), Some(&old));
}

/// A caller this process revoked: one call per batch confirms its deny is still there,
/// however many of its events the batch holds, with the denies put ahead or not; the
/// next batch asks again (an operator's restore in between is seen).
#[tokio::test]
async fn a_confirmed_deny_is_checked_once_a_batch() {
    let r = Revoker::new(account(), config(&[]), env());
    give_id(&r, "dev1", "AIDADEV1XXXXXXXXXXXXX");
    let first = event("01-iam-user-create-user.json");
    r.batch().process(&first, false).await.unwrap();
    let duplicates: Vec<Event> = (0..3)
        .map(|n| {
            let text = sample_text("02-iam-user-duplicate-attach-policy.json").replace(
                "7c1e4a3b-0000-4000-8000-000000000002",
                &format!("7c1e4a3b-0000-4000-8000-{:012}", 800 + n),
            );
            parse_eventbridge(&text).unwrap()
        })
        .collect();
    let count = |r: &Revoker<MemoryAccount>| {
        r.port()
            .lock()
            .calls
            .iter()
            .filter(|c| **c == "deny_present")
            .count()
    };
    for ahead in [false, true] {
        let before = count(&r);
        let mut batch = r.batch();
        if ahead {
            batch.deny_ahead(&duplicates, None).await;
        }
        for e in &duplicates {
            assert_eq!(
                batch.process(e, false).await.unwrap().decision,
                Decision::AlreadyRevoked
            );
        }
        assert_eq!(count(&r) - before, 1, "ahead: {ahead}");
    }
    // Restored between two batches: the next one sees it and revokes again.
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "dev1".to_owned()))
        .unwrap()
        .attached_policies
        .remove(DENY);
    let out = r.batch().process(&duplicates[0], false).await.unwrap();
    assert_ne!(out.decision, Decision::AlreadyRevoked, "{}", out.reason);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any batch of the samples (with repeats): the same outcomes, notices and state with
    /// the denies put ahead as without.
    #[test]
    fn denies_ahead_change_no_decision_notice_or_state(
        picks in proptest::collection::vec(0usize..24, 1..12)
    ) {
        let pool = pool();
        let events: Vec<Event> = picks.iter().map(|i| pool[*i].clone()).collect();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (without, with) = rt.block_on(async {
            (run(&events, false).await, run(&events, true).await)
        });
        prop_assert_eq!(without, with);
    }
}
