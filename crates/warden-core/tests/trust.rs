#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The trust rules (issue 9), on the revoker's service with in-memory ports: the
//! baseline, grants by a trusted admin, self-grants and grants by other non-admins
//! (escalations, undone and reversible), revocations of trust, the admin group renamed,
//! and unverified principals resolved through CloudTrail, waited for, or decided by
//! UNVERIFIED_TRUST.

use serde_json::json;
use warden_core::action::ActionState;
use warden_core::decision::Decision;
use warden_core::event::{parse_eventbridge, CloudTrailRecord, Event};
use warden_core::principal::{EntityKind, Target};
use warden_core::revoker::{restore, Patience, Revoker};
use warden_core::testing::{config, environment as env, MemoryAccount};
use warden_core::trust::Status;
use warden_core::vouch::{ensure_baseline, ensure_listed, vouch};

const ACCOUNT: &str = "123456789012";

fn account() -> MemoryAccount {
    MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("mallory", &[], &[])
        .with_user("eve", &[], &[])
        .with_user("dev1", &[], &[])
        .with_user("ci-bot", &[], &[("iam-warden:exempt", "true")])
        .with_role("deployer", &[])
        .with_baseline()
}

fn revoker(port: MemoryAccount, extra: &[(&str, &str)]) -> Revoker<MemoryAccount> {
    Revoker::new(port, config(extra), env())
}

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// A CloudTrail record of an IAM call by an IAM user, `minutes_ago` before now.
fn record(
    id: &str,
    caller: &str,
    name: &str,
    params: serde_json::Value,
    minutes_ago: i64,
) -> serde_json::Value {
    let time = (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{}", caller.to_uppercase()),
            "arn": user_arn(caller), "accountId": ACCOUNT, "userName": caller},
        "eventTime": time, "eventSource": "iam.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
        "requestParameters": params, "responseElements": null, "requestID": format!("req-{id}"),
        "eventID": id, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": ACCOUNT,
    })
}

fn event(rec: &serde_json::Value) -> Event {
    parse_eventbridge(
        &json!({"version": "0", "id": "eb", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam", "account": ACCOUNT, "region": "us-east-1", "detail": rec})
        .to_string(),
    )
    .unwrap()
}

fn trail(rec: &serde_json::Value) -> CloudTrailRecord {
    serde_json::from_value(rec.clone()).unwrap()
}

/// The event of a call that happened: CloudTrail has it too (a change of trust is
/// applied only once CloudTrail confirms it).
fn real(r: &Revoker<MemoryAccount>, rec: &serde_json::Value) -> Event {
    r.port().in_trail(trail(rec));
    event(rec)
}

fn add_to_admins(id: &str, caller: &str, user: &str, minutes_ago: i64) -> serde_json::Value {
    record(
        id,
        caller,
        "AddUserToGroup",
        json!({"groupName": "Administrators", "userName": user}),
        minutes_ago,
    )
}

fn tag_exempt(id: &str, caller: &str, user: &str) -> serde_json::Value {
    record(
        id,
        caller,
        "TagUser",
        json!({"userName": user, "tags": [{"key": "iam-warden:exempt", "value": "true"}]}),
        30,
    )
}

fn create_user(id: &str, caller: &str, minutes_ago: i64) -> serde_json::Value {
    record(
        id,
        caller,
        "CreateUser",
        json!({"userName": format!("new-{id}")}),
        minutes_ago,
    )
}

fn groups(r: &Revoker<MemoryAccount>, user: &str) -> Vec<String> {
    r.port()
        .facts_of(EntityKind::User, user)
        .unwrap()
        .groups
        .into_iter()
        .collect()
}

/// IAM applied a membership (the call whose event is on its way).
fn join(r: &Revoker<MemoryAccount>, user: &str, group: &str) {
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, user.into()))
        .unwrap()
        .groups
        .insert(group.into());
}

fn has_deny(r: &Revoker<MemoryAccount>, user: &str) -> bool {
    !r.port()
        .facts_of(EntityKind::User, user)
        .unwrap()
        .attached_policies
        .is_empty()
}

fn escalation_notices(r: &Revoker<MemoryAccount>) -> usize {
    r.port()
        .notices()
        .iter()
        .filter(|n| n.subject.contains("escalation attempt"))
        .count()
}

/// A user as IAM's inventory lists it: name, groups, tags.
type Listed<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

/// The users IAM's inventory lists (what a baseline reads).
fn with_subjects(port: &MemoryAccount, users: &[Listed<'_>]) {
    let mut s = port.lock();
    for (name, groups, tags) in users {
        s.subjects.push(warden_core::prune::Subject {
            kind: EntityKind::User,
            name: (*name).into(),
            arn: user_arn(name),
            created: chrono::Utc::now(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            attached: Default::default(),
            trusted: Default::default(),
            unique_id: Some(format!("ID-{name}")),
            credentials: None,
        });
    }
}

#[tokio::test]
async fn the_baseline_trusts_members_and_tag_holders_once_and_says_so() {
    let port = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("dev1", &["Developers"], &[]);
    with_subjects(
        &port,
        &[
            ("alice", &["Administrators"], &[]),
            ("dev1", &["Developers"], &[]),
            ("ci-bot", &[], &[("iam-warden:exempt", "true")]),
            ("tagged-wrong", &[], &[("iam-warden:exempt", "yes")]),
        ],
    );
    let tag = ("iam-warden:exempt".to_owned(), "true".to_owned());
    let (set, taken) = ensure_baseline(&port, ACCOUNT, "Administrators", &tag)
        .await
        .unwrap();
    assert!(taken);
    assert_eq!(set.account, ACCOUNT);
    let keys: Vec<&String> = set.entries.keys().collect();
    assert_eq!(keys, ["admin:user/alice", "exempt:user/ci-bot"]);
    let notices = port.notices();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0]
            .subject
            .contains("trust baseline taken: 2 principal(s)"),
        "{}",
        notices[0].subject
    );
    assert!(
        notices[0].body.contains("admin user/alice"),
        "{}",
        notices[0].body
    );

    // Taken once: later members are not trusted by a second start.
    port.lock().subjects[1]
        .groups
        .insert("Administrators".into());
    let (again, taken) = ensure_baseline(&port, ACCOUNT, "Administrators", &tag)
        .await
        .unwrap();
    assert!(!taken);
    assert_eq!(again.entries.len(), 2);
    assert_eq!(port.notices().len(), 1);
}

/// A baseline taken while the account's events may be on their way (a member account
/// opened on its first event) leaves out whoever a call of the last hour made an admin or
/// exempt: that grant, still to be decided, says whether a trusted admin made it.
#[tokio::test]
async fn a_baseline_taken_with_events_in_flight_leaves_out_the_grantees_of_the_last_hour() {
    let port = MemoryAccount::new();
    with_subjects(
        &port,
        &[
            ("alice", &["Administrators"], &[]),
            ("mallory", &["Administrators"], &[]),
            ("ci-bot", &[], &[("iam-warden:exempt", "true")]),
            ("old-admin", &["Administrators"], &[]),
        ],
    );
    // mallory made herself an admin 5 minutes ago (in flight); ci-bot was tagged 30
    // minutes ago; old-admin was added 2 hours ago (delivered long since).
    port.in_trail(trail(&add_to_admins("g-1", "mallory", "MALLORY", 5)));
    port.in_trail(trail(&tag_exempt("g-2", "alice", "ci-bot")));
    port.in_trail(trail(&add_to_admins("g-3", "alice", "old-admin", 120)));
    let (set, taken) = warden_core::vouch::ensure_baseline_in_flight(&port, ACCOUNT, &config(&[]))
        .await
        .unwrap();
    assert!(taken);
    let keys: Vec<&String> = set.entries.keys().collect();
    assert_eq!(keys, ["admin:user/alice", "admin:user/old-admin"]);
    // Taken once: a second call reads it.
    port.in_trail(trail(&add_to_admins("g-4", "mallory", "alice", 1)));
    let (again, taken) =
        warden_core::vouch::ensure_baseline_in_flight(&port, ACCOUNT, &config(&[]))
            .await
            .unwrap();
    assert!(!taken);
    assert_eq!(again.entries.len(), 2);
}

#[tokio::test]
async fn a_trusted_admin_grants_admin_and_the_new_admins_calls_are_exempt() {
    let r = revoker(account(), &[]);
    // IAM applied the grant; the event arrives.
    join(&r, "dev1", "Administrators");
    let mut b = r.batch();
    let out = b
        .process(&real(&r, &add_to_admins("g1", "alice", "dev1", 10)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
    let out = b
        .process(&event(&create_user("c1", "dev1", 9)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(
        out.reason.contains("granted by user/alice (event g1)"),
        "{}",
        out.reason
    );
    assert!(!has_deny(&r, "dev1"));
    assert!(r.port().notices().is_empty());
}

#[tokio::test]
async fn adding_oneself_to_the_admin_group_is_an_escalation_revoked_undone_notified_once() {
    let r = revoker(account(), &[]);
    join(&r, "mallory", "Administrators");
    let grant = event(&add_to_admins("e1", "mallory", "mallory", 10));
    let out = r.batch().process(&grant, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(has_deny(&r, "mallory"));
    assert!(groups(&r, "mallory").is_empty(), "the membership is undone");
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "mallory"));
    assert_eq!(
        out.actions,
        ["removed user/mallory from the group `Administrators`"]
    );
    let notices = r.port().notices();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].subject.contains("escalation attempt"),
        "{}",
        notices[0].subject
    );
    assert!(
        notices[0]
            .body
            .contains("user/mallory added user/mallory to `Administrators`"),
        "{}",
        notices[0].body
    );
    assert!(
        notices[0].body.contains("warden restore --user mallory"),
        "{}",
        notices[0].body
    );

    // The next call, and the grant redelivered: nothing twice.
    let out = r
        .batch()
        .process(&event(&create_user("c2", "mallory", 9)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::AlreadyRevoked);
    let again = r.batch().process(&grant, false).await.unwrap();
    assert_eq!(again.decision, Decision::AlreadyRevoked);
    // Nothing notified twice (the user of mallory's CreateUser is gone here: its
    // containment has nothing to say).
    assert_eq!(r.port().notices().len(), 1);
    let record = r.port().lock().records["user/mallory"].clone();
    let escalation_undone: Vec<_> = record
        .actions
        .iter()
        .filter(|(k, _)| !k.contains("#c"))
        .collect();
    assert_eq!(escalation_undone.len(), 1);
    assert_eq!(escalation_undone[0].1.state, ActionState::Done);
    let applies = r
        .port()
        .lock()
        .calls
        .iter()
        .filter(|c| **c == "apply")
        .count();
    assert_eq!(applies, 1, "the undo ran once");
}

#[tokio::test]
async fn tagging_oneself_exempt_is_an_escalation_and_later_calls_are_still_revoked() {
    let r = revoker(account(), &[]);
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "mallory".into()))
        .unwrap()
        .tags
        .insert("iam-warden:exempt".into(), "true".into());
    let mut b = r.batch();
    let out = b
        .process(&event(&tag_exempt("t1", "mallory", "mallory")), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let facts = r.port().facts_of(EntityKind::User, "mallory").unwrap();
    assert!(
        !facts.tags.contains_key("iam-warden:exempt"),
        "the tag is taken off"
    );
    let key = record(
        "k1",
        "mallory",
        "CreateAccessKey",
        json!({"userName": "dev1"}),
        5,
    );
    let out = b.process(&event(&key), false).await.unwrap();
    assert_eq!(out.decision, Decision::AlreadyRevoked);
    assert_eq!(escalation_notices(&r), 1);
}

#[tokio::test]
async fn a_grant_by_another_non_admin_is_undone_and_its_grantee_not_trusted() {
    let r = revoker(account(), &[]);
    join(&r, "eve", "Administrators");
    let mut b = r.batch();
    let out = b
        .process(&event(&add_to_admins("e2", "mallory", "eve", 10)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(out.principal, user_arn("mallory"));
    assert!(groups(&r, "eve").is_empty());
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "eve"));
    // A trusted exempt principal may manage IAM, not hand out trust: undone, not revoked.
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "eve".into()))
        .unwrap()
        .tags
        .insert("iam-warden:exempt".into(), "true".into());
    let out = b
        .process(&event(&tag_exempt("t2", "ci-bot", "eve")), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt);
    assert!(!has_deny(&r, "ci-bot"));
    assert!(!r
        .port()
        .facts_of(EntityKind::User, "eve")
        .unwrap()
        .tags
        .contains_key("iam-warden:exempt"));
    assert_eq!(escalation_notices(&r), 2);
}

/// Gives users the unique ids their events carry (`AIDA<NAME>`, as `record` writes).
fn with_event_ids(r: &Revoker<MemoryAccount>, users: &[&str]) {
    let mut s = r.port().lock();
    for user in users {
        s.principals
            .get_mut(&(EntityKind::User, (*user).into()))
            .unwrap()
            .unique_id = Some(format!("AIDA{}", user.to_uppercase()));
    }
}

/// The revoker's start: EXEMPT_PRINCIPALS recorded by unique id; what it had to say.
async fn start(r: &Revoker<MemoryAccount>) -> Vec<String> {
    ensure_listed(r.port(), r.env(), r.config()).await.unwrap()
}

#[tokio::test]
async fn a_principal_listed_in_exempt_principals_may_grant() {
    let r = revoker(account(), &[("EXEMPT_PRINCIPALS", &user_arn("eve"))]);
    with_event_ids(&r, &["eve", "dev1"]);
    assert!(start(&r).await.is_empty());
    join(&r, "dev1", "Administrators");
    let out = r
        .batch()
        .process(&real(&r, &add_to_admins("g2", "eve", "dev1", 10)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt);
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
    assert_eq!(groups(&r, "dev1"), ["Administrators"]);
}

#[tokio::test]
async fn taking_trust_away_always_applies_whoever_does_it() {
    let r = revoker(account(), &[]);
    let removal = record(
        "r1",
        "mallory",
        "RemoveUserFromGroup",
        json!({"groupName": "Administrators", "userName": "alice"}),
        10,
    );
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::User, "alice".into()))
        .unwrap()
        .groups
        .clear();
    let mut b = r.batch();
    let out = b.process(&real(&r, &removal), false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "mallory is no admin");
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "alice"));
    let untag = record(
        "u1",
        "alice",
        "UntagUser",
        json!({"userName": "ci-bot", "tagKeys": ["iam-warden:exempt"]}),
        9,
    );
    b.process(&real(&r, &untag), false).await.unwrap();
    assert!(!r.port().trusts(Status::Exempt, EntityKind::User, "ci-bot"));
    // A tag given another value takes the status away too.
    let r = revoker(account(), &[]);
    let retag = record(
        "u2",
        "alice",
        "TagUser",
        json!({"userName": "ci-bot", "tags": [{"key": "iam-warden:exempt", "value": "false"}]}),
        9,
    );
    r.batch().process(&real(&r, &retag), false).await.unwrap();
    assert!(!r.port().trusts(Status::Exempt, EntityKind::User, "ci-bot"));
    // A failed call changed nothing.
    let r = revoker(account(), &[]);
    let mut failed = record(
        "f1",
        "alice",
        "RemoveUserFromGroup",
        json!({"groupName": "Administrators", "userName": "alice"}),
        9,
    );
    failed["errorCode"] = json!("AccessDenied");
    r.batch().process(&event(&failed), false).await.unwrap();
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "alice"));
}

/// The account after a rename of its groups: the admin group's unique id recorded in
/// the trust ledger (`AGPAADMINS`), and each group by the name it has now.
fn groups_now(r: &Revoker<MemoryAccount>, groups: &[(&str, &str)]) {
    let mut s = r.port().lock();
    s.group_ids = groups
        .iter()
        .map(|(name, id)| ((*name).to_owned(), (*id).to_owned()))
        .collect();
    if let Some(set) = s.trust.as_mut() {
        set.admin_group_id = Some("AGPAADMINS".into());
    }
}

#[tokio::test]
async fn renaming_the_admin_group_is_put_back_by_its_id_and_changes_no_trust() {
    // Issue 18, attack 6. alice, a trusted admin, renames it: put back before her call is
    // decided (she is still an admin), trust untouched, said as tampering.
    let r = revoker(account(), &[]);
    groups_now(&r, &[("Old", "AGPAADMINS")]);
    for f in r.port().lock().principals.values_mut() {
        if f.groups.remove("Administrators") {
            f.groups.insert("Old".into());
        }
    }
    let away = record(
        "n1",
        "alice",
        "UpdateGroup",
        json!({"groupName": "Administrators", "newGroupName": "Old"}),
        10,
    );
    let out = r.batch().process(&real(&r, &away), false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert_eq!(groups(&r, "alice"), ["Administrators"]);
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "alice"));
    assert!(r.port().trusts(Status::Exempt, EntityKind::User, "ci-bot"));
    let notices = r.port().notices();
    assert!(
        notices.iter().any(|n| n
            .body
            .contains("named `Old`: renamed back to `Administrators`")),
        "{notices:?}"
    );

    // Another group renamed to the admin group's name, by a trusted admin or anyone
    // else: moved aside, the admin group keeps its name, nobody becomes trusted.
    for caller in ["alice", "mallory"] {
        let r = revoker(account(), &[]);
        groups_now(
            &r,
            &[("Administrators", "AGPAOPS0000"), ("Ops2", "AGPAADMINS")],
        );
        // The admin group is `Ops2` now (alice its member); dev1 is in the other one.
        r.port()
            .lock()
            .principals
            .get_mut(&(EntityKind::User, "alice".into()))
            .unwrap()
            .groups = ["Ops2".to_owned()].into();
        join(&r, "dev1", "Administrators");
        let to = record(
            "n2",
            caller,
            "UpdateGroup",
            json!({"groupName": "Ops", "newGroupName": "Administrators"}),
            10,
        );
        let out = r.batch().process(&real(&r, &to), false).await.unwrap();
        assert!(!r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
        assert!(!r.port().trusts(Status::Admin, EntityKind::User, "mallory"));
        assert_eq!(groups(&r, "alice"), ["Administrators"]);
        assert_eq!(groups(&r, "dev1"), ["Administrators-displaced-AGPAOPS0"]);
        let ids = r.port().lock().group_ids.clone();
        assert_eq!(
            ids.get("Administrators").map(String::as_str),
            Some("AGPAADMINS")
        );
        assert_eq!(
            ids.get("Administrators-displaced-AGPAOPS0")
                .map(String::as_str),
            Some("AGPAOPS0000")
        );
        assert_eq!(
            out.decision,
            if caller == "alice" {
                Decision::Exempt
            } else {
                Decision::Revoked
            },
            "{}",
            out.reason
        );
    }
}

#[tokio::test]
async fn a_grantee_seen_before_its_grant_is_resolved_through_cloudtrail() {
    // alice's grant to dev1 is in CloudTrail but not yet delivered.
    let r = revoker(account(), &[]);
    join(&r, "dev1", "Administrators");
    r.port()
        .in_trail(trail(&add_to_admins("g3", "alice", "dev1", 12)));
    let mut b = r.batch();
    let out = b
        .process(&event(&create_user("c3", "dev1", 10)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
    // Then the grant itself arrives: still exempt, nothing undone.
    let out = b
        .process(&event(&add_to_admins("g3", "alice", "dev1", 12)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt);
    assert_eq!(groups(&r, "dev1"), ["Administrators"]);

    // mallory's grant to eve, seen from eve first.
    let r = revoker(account(), &[]);
    join(&r, "eve", "Administrators");
    r.port()
        .in_trail(trail(&add_to_admins("e3", "mallory", "eve", 12)));
    let mut b = r.batch();
    let out = b
        .process(&event(&create_user("c4", "eve", 10)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        out.reason.contains("granted by user/mallory"),
        "{}",
        out.reason
    );
    assert!(groups(&r, "eve").is_empty());
    let out = b
        .process(&event(&add_to_admins("e3", "mallory", "eve", 12)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(out.principal, user_arn("mallory"));
    // Two principals revoked, two notices, each naming the escalation.
    assert_eq!(r.port().notices().len(), 2);
    assert_eq!(escalation_notices(&r), 2);
    let applies = r
        .port()
        .lock()
        .calls
        .iter()
        .filter(|c| **c == "apply")
        .count();
    assert_eq!(applies, 1, "undone once, from whichever side came first");

    // mallory's own grant to itself, its next call delivered first: one notice in all.
    let r = revoker(account(), &[]);
    join(&r, "mallory", "Administrators");
    r.port()
        .in_trail(trail(&add_to_admins("e8", "mallory", "mallory", 12)));
    let out = r
        .batch()
        .process(&event(&create_user("c11", "mallory", 10)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(groups(&r, "mallory").is_empty());
    let out = r
        .batch()
        .process(
            &event(&add_to_admins("e8", "mallory", "mallory", 12)),
            false,
        )
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::AlreadyRevoked);
    assert_eq!(r.port().notices().len(), 1);
    assert_eq!(escalation_notices(&r), 1);
}

#[tokio::test]
async fn an_unverified_principal_waits_for_its_grant_then_unverified_trust_decides() {
    let r = revoker(account(), &[]);
    join(&r, "dev1", "Administrators");
    // Two minutes old: the grant may still be on its way.
    let out = r
        .batch()
        .process(&event(&create_user("c5", "dev1", 2)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Deferred, "{}", out.reason);
    let left = out.defer_seconds.unwrap();
    assert!((770..=780).contains(&left), "{left}");
    assert!(!has_deny(&r, "dev1"));
    assert!(r.port().notices().is_empty());
    // Older than TRUST_WAIT_SECONDS and nothing found: revoked (the default).
    let out = r
        .batch()
        .process(&event(&create_user("c6", "dev1", 16)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        out.reason
            .contains("in `Administrators` but not a trusted admin"),
        "{}",
        out.reason
    );

    let r = revoker(account(), &[("UNVERIFIED_TRUST", "alert")]);
    join(&r, "dev1", "Administrators");
    let out = r
        .batch()
        .process(&event(&create_user("c7", "dev1", 16)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
    assert!(!has_deny(&r, "dev1"));

    // The end of a replay: no more waiting.
    let r = revoker(account(), &[]);
    join(&r, "dev1", "Administrators");
    let out = r
        .batch_with(Patience::EndOfRun)
        .process(&event(&create_user("c8", "dev1", 1)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Deferred);
    let out = r
        .batch_with(Patience::Done)
        .process(&event(&create_user("c8", "dev1", 1)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
}

#[tokio::test]
async fn restore_puts_an_undone_grant_back_and_trust_makes_it_count() {
    let r = revoker(account(), &[]);
    join(&r, "mallory", "Administrators");
    r.batch()
        .process(
            &event(&add_to_admins("e4", "mallory", "mallory", 10)),
            false,
        )
        .await
        .unwrap();
    assert!(groups(&r, "mallory").is_empty());

    let mallory = Target {
        kind: EntityKind::User,
        name: "mallory".into(),
        arn: user_arn("mallory"),
    };
    let report = restore(r.port(), r.config(), r.env(), &mallory, false)
        .await
        .unwrap();
    assert!(report.restored);
    assert!(
        report.status_put_back,
        "an escalation put back is untrusted: the CLI says so"
    );
    assert!(
        report
            .actions
            .iter()
            .any(|a| a.starts_with("added user/mallory to the group `Administrators`")),
        "{:?}",
        report.actions
    );
    assert_eq!(groups(&r, "mallory"), ["Administrators"]);
    assert!(!has_deny(&r, "mallory"));
    assert_eq!(
        r.port().lock().records["user/mallory"]
            .actions
            .values()
            .next()
            .unwrap()
            .state,
        ActionState::Restored
    );
    // Back in the group, not trusted: its next call is still a non-admin's.
    let out = r
        .batch()
        .process(&event(&create_user("c9", "mallory", 20)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    restore(r.port(), r.config(), r.env(), &mallory, true)
        .await
        .unwrap();
    let entries = vouch(
        r.port(),
        r.config(),
        r.env(),
        &mallory,
        "arn:aws:iam::123456789012:user/alice",
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
    let out = r
        .batch()
        .process(&event(&create_user("c10", "mallory", 20)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(
        out.reason
            .contains("vouched for by arn:aws:iam::123456789012:user/alice"),
        "{}",
        out.reason
    );

    // Vouching for a principal that holds neither status is refused.
    let dev1 = Target {
        kind: EntityKind::User,
        name: "dev1".into(),
        arn: user_arn("dev1"),
    };
    let err = vouch(r.port(), r.config(), r.env(), &dev1, "op")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("neither in `Administrators`"),
        "{err}"
    );
}

#[tokio::test]
async fn report_mode_undoes_nothing_and_says_what_it_would_undo() {
    let r = revoker(account(), &[("MODE", "report")]);
    join(&r, "mallory", "Administrators");
    let out = r
        .batch()
        .process(
            &event(&add_to_admins("e5", "mallory", "mallory", 10)),
            false,
        )
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::WouldRevoke);
    assert_eq!(groups(&r, "mallory"), ["Administrators"]);
    assert_eq!(
        out.actions,
        ["would have removed user/mallory from the group `Administrators`"]
    );
    let notices = r.port().notices();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].body.contains("(MODE=report)"),
        "{}",
        notices[0].body
    );
    // Dry runs decide and change nothing at all.
    let r = revoker(account(), &[]);
    join(&r, "mallory", "Administrators");
    let out = r
        .batch()
        .process(&event(&add_to_admins("e6", "mallory", "mallory", 10)), true)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert_eq!(groups(&r, "mallory"), ["Administrators"]);
    assert!(r.port().notices().is_empty());
}

#[tokio::test]
async fn a_transient_failure_while_undoing_resumes_without_acting_twice() {
    use warden_core::ports::PortError;
    let r = revoker(account(), &[]);
    join(&r, "mallory", "Administrators");
    r.port().fail(
        "apply",
        PortError::Transient {
            operation: "RemoveUserFromGroup",
            message: "Throttling".into(),
        },
        1,
    );
    let grant = event(&add_to_admins("e7", "mallory", "mallory", 10));
    assert!(r.batch().process(&grant, false).await.is_err());
    assert_eq!(
        r.port().lock().records["user/mallory"]
            .actions
            .values()
            .next()
            .unwrap()
            .state,
        ActionState::Planned
    );
    let out = r.batch().process(&grant, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    assert!(groups(&r, "mallory").is_empty());
    assert_eq!(escalation_notices(&r), 1);
    let record = r.port().lock().records["user/mallory"].clone();
    assert_eq!(
        record.actions.values().next().unwrap().state,
        ActionState::Done
    );
    assert!(record.notified.contains("e7"));
}

#[tokio::test]
async fn trust_is_bound_to_the_unique_id_so_taking_an_admins_name_takes_nothing() {
    // Baseline with ids: alice (ID-alice) is the trusted admin.
    let port = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_user("mallory", &[], &[])
        .with_ids()
        .with_baseline();
    // mallory renames alice away, takes the name, and joins the group.
    {
        let mut s = port.lock();
        let alice = s
            .principals
            .remove(&(EntityKind::User, "alice".into()))
            .unwrap();
        let mut mallory = s
            .principals
            .remove(&(EntityKind::User, "mallory".into()))
            .unwrap();
        mallory.groups.insert("Administrators".into());
        s.principals
            .insert((EntityKind::User, "alice2".into()), alice);
        s.principals
            .insert((EntityKind::User, "alice".into()), mallory);
    }
    let r = revoker(port, &[]);
    let mut call = create_user("t1", "alice", 20);
    call["userIdentity"]["principalId"] = json!("ID-mallory");
    let out = r.batch().process(&event(&call), false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        has_deny(&r, "alice"),
        "the name's new holder, mallory, is revoked"
    );
}

#[tokio::test]
async fn a_role_created_with_the_exempt_tag_is_an_escalation_too() {
    let r = revoker(account(), &[]);
    r.port().lock().principals.insert(
        (EntityKind::Role, "backdoor".into()),
        warden_core::facts::Facts {
            tags: [("iam-warden:exempt".to_owned(), "true".to_owned())].into(),
            ..Default::default()
        },
    );
    let create = record(
        "cr-1",
        "mallory",
        "CreateRole",
        json!({"roleName": "backdoor", "assumeRolePolicyDocument": "{}", "tags": [{"key": "iam-warden:exempt", "value": "true"}]}),
        10,
    );
    let out = r.batch().process(&event(&create), false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked);
    let role = r.port().facts_of(EntityKind::Role, "backdoor").unwrap();
    assert!(
        !role.tags.contains_key("iam-warden:exempt"),
        "the tag is taken off"
    );
    assert_eq!(escalation_notices(&r), 1);
}

#[tokio::test]
async fn giving_a_status_to_a_principal_already_trusted_for_it_is_never_undone() {
    let r = revoker(account(), &[]);
    // mallory re-applies ci-bot's exempt tag: nothing changes, nothing is undone.
    let out = r
        .batch()
        .process(&event(&tag_exempt("nt-1", "mallory", "ci-bot")), false)
        .await
        .unwrap();
    assert_eq!(
        out.decision,
        Decision::Revoked,
        "mallory still made an IAM write"
    );
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    let ci = r.port().facts_of(EntityKind::User, "ci-bot").unwrap();
    assert_eq!(
        ci.tags.get("iam-warden:exempt").map(String::as_str),
        Some("true")
    );
    assert_eq!(escalation_notices(&r), 0);
    assert!(r.port().trusts(Status::Exempt, EntityKind::User, "ci-bot"));
}

#[tokio::test]
async fn an_escalations_revocation_is_recorded_under_the_callers_unique_id() {
    let port = account().with_ids();
    let r = revoker(port, &[]);
    join(&r, "mallory", "Administrators");
    let mut grant = add_to_admins("id-1", "mallory", "mallory", 10);
    grant["userIdentity"]["principalId"] = json!("ID-mallory");
    let out = r.batch().process(&event(&grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let keys: Vec<String> = r.port().lock().revocations.keys().cloned().collect();
    assert_eq!(
        keys,
        ["ID-mallory"],
        "found again by a later process, whatever its name"
    );
}

/// Notices that say a change of trust was not applied because CloudTrail lacks it.
fn unconfirmed_notices(r: &Revoker<MemoryAccount>) -> Vec<String> {
    r.port()
        .notices()
        .iter()
        .filter(|n| n.body.contains("CloudTrail does not have"))
        .map(|n| n.body.clone())
        .collect()
}

#[tokio::test]
async fn a_change_of_trust_cloudtrail_does_not_have_is_never_applied() {
    // Attack 2 (issue 18): a CloudTrail-shaped message written into the queue by anyone
    // with sqs:SendMessage. mallory made herself a member (IAM has it; her own event is
    // on its way) and forges alice's grant of it.
    let r = revoker(account(), &[]);
    join(&r, "mallory", "Administrators");
    let forged = add_to_admins("forged-1", "alice", "mallory", 20);
    let out = r.batch().process(&event(&forged), false).await.unwrap();
    assert!(
        !r.port().trusts(Status::Admin, EntityKind::User, "mallory"),
        "a forged grant made mallory a trusted admin: {}",
        out.reason
    );
    assert_eq!(unconfirmed_notices(&r).len(), 1, "{:?}", r.port().notices());
    assert!(unconfirmed_notices(&r)[0].contains("forged-1"));
    // Her next call is revoked, and her membership undone as the escalation it is.
    let out = r
        .batch()
        .process(&event(&create_user("c20", "mallory", 19)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);

    // A forged removal would wipe alice's trust: not applied either.
    let r = revoker(account(), &[]);
    let wipe = record(
        "forged-2",
        "alice",
        "RemoveUserFromGroup",
        json!({"groupName": "Administrators", "userName": "alice"}),
        20,
    );
    r.batch().process(&event(&wipe), false).await.unwrap();
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "alice"));

    // A real event's id with other content (a copy of alice's grant to dev1, turned to
    // mallory): CloudTrail's record is what counts, and it does not say so.
    let r = revoker(account(), &[]);
    join(&r, "mallory", "Administrators");
    r.port()
        .in_trail(trail(&add_to_admins("g20", "alice", "dev1", 20)));
    let copy = add_to_admins("g20", "alice", "mallory", 20);
    r.batch().process(&event(&copy), false).await.unwrap();
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "mallory"));
    assert_eq!(unconfirmed_notices(&r).len(), 1, "{:?}", r.port().notices());

    // A real grant CloudTrail does not show yet waits for it (deferred, nothing applied),
    // and is applied once CloudTrail has it.
    let r = revoker(account(), &[]);
    join(&r, "dev1", "Administrators");
    let grant = add_to_admins("g21", "alice", "dev1", 2);
    let out = r.batch().process(&event(&grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Deferred, "{}", out.reason);
    assert!(
        out.defer_seconds.is_some_and(|s| (1..=60).contains(&s)),
        "asked again within a minute: {out:?}"
    );
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
    assert!(r.port().notices().is_empty());
    r.port().in_trail(trail(&grant));
    let out = r.batch().process(&event(&grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
}

#[tokio::test]
async fn a_listed_principal_is_known_by_its_unique_id_so_taking_its_name_takes_nothing() {
    // Attack 4 (issue 18): EXEMPT_PRINCIPALS lists user/eve (say, the deploy bot).
    let r = revoker(account(), &[("EXEMPT_PRINCIPALS", &user_arn("eve"))]);
    with_event_ids(&r, &["eve", "mallory", "dev1"]);
    assert!(start(&r).await.is_empty());
    let out = r
        .batch()
        .process(&event(&create_user("l1", "eve", 5)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    // mallory renames eve away and takes her name: her calls, as `eve`, carry her own id.
    {
        let mut s = r.port().lock();
        for (from, to) in [("eve", "eve-old"), ("mallory", "eve")] {
            let p = s
                .principals
                .remove(&(EntityKind::User, from.into()))
                .unwrap();
            s.principals.insert((EntityKind::User, to.into()), p);
            s.rename_user(from, to);
        }
    }
    let mut as_eve = create_user("l2", "eve", 4);
    as_eve["userIdentity"]["principalId"] = json!("AIDAMALLORY");
    let out = r.batch().process(&event(&as_eve), false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(
        has_deny(&r, "eve"),
        "the name's new holder, mallory, is revoked"
    );
    // Nor may she grant as the listed principal: her grant to dev1 is an escalation.
    join(&r, "dev1", "Administrators");
    let mut grant = add_to_admins("l3", "eve", "dev1", 3);
    grant["userIdentity"]["principalId"] = json!("AIDAMALLORY");
    r.batch().process(&real(&r, &grant), false).await.unwrap();
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
    assert!(groups(&r, "dev1").is_empty(), "undone");
    // The next start says the name was taken over, and keeps the first id.
    let problems = start(&r).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("AIDAEVE") && problems[0].contains("AIDAMALLORY"),
        "{}",
        problems[0]
    );
    // The real eve, under her new name, is still the one listed.
    let mut real_eve = create_user("l4", "eve-old", 2);
    real_eve["userIdentity"]["arn"] = json!(user_arn("eve"));
    real_eve["userIdentity"]["userName"] = json!("eve");
    real_eve["userIdentity"]["principalId"] = json!("AIDAEVE");
    let out = r.batch().process(&event(&real_eve), false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
}

#[tokio::test]
async fn a_look_up_cloudtrail_does_not_answer_holds_only_its_own_event_then_the_safe_default() {
    // Attack 16 (issue 18): LookupEvents allows two requests a second per account, and any
    // read-only principal can use them up.
    let r = revoker(account(), &[]);
    join(&r, "dev1", "Administrators");
    let throttled = || warden_core::ports::PortError::Transient {
        operation: "LookupEvents",
        message: "Rate exceeded".into(),
    };
    r.port().fail("lookup", throttled(), 100);
    r.port().fail("event", throttled(), 100);
    let mut b = r.batch();
    // dev1's grant cannot be looked for: its event alone waits, asked again within a
    // minute (the trust wait left is longer).
    let out = b
        .process(&event(&create_user("t1", "dev1", 2)), false)
        .await
        .expect("a look-up that fails is not a failed batch");
    assert_eq!(out.decision, Decision::Deferred, "{}", out.reason);
    assert!(
        out.defer_seconds.is_some_and(|s| (1..=60).contains(&s)),
        "{out:?}"
    );
    assert!(
        out.reason.contains("CloudTrail did not answer"),
        "{}",
        out.reason
    );
    assert!(!has_deny(&r, "dev1"));
    // Another caller's event in the same batch is decided meanwhile.
    let out = b
        .process(&event(&create_user("t2", "mallory", 2)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    // The trust wait over, CloudTrail still silent: UNVERIFIED_TRUST decides (revoke).
    let out = r
        .batch()
        .process(&event(&create_user("t3", "dev1", 16)), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    // A change of trust whose confirmation CloudTrail does not answer waits as well, and
    // after the wait is not applied, without a notice of forgery.
    let r = revoker(account(), &[]);
    join(&r, "eve", "Administrators");
    r.port().fail("event", throttled(), 100);
    let grant = add_to_admins("t4", "alice", "eve", 2);
    let out = r.batch().process(&event(&grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Deferred, "{}", out.reason);
    assert!(
        out.defer_seconds.is_some_and(|s| (1..=60).contains(&s)),
        "{out:?}"
    );
    let late = add_to_admins("t5", "alice", "eve", 20);
    let out = r.batch().process(&event(&late), false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "eve"));
    assert!(
        unconfirmed_notices(&r).is_empty(),
        "{:?}",
        r.port().notices()
    );
}

// ---- Issue 18, attack 1: credentials another principal made ------------------------

/// `rec` as made with `key`; a session (`ASIA…`) begun `signed_in` minutes ago.
fn with_credential(
    mut rec: serde_json::Value,
    key: &str,
    signed_in: Option<i64>,
) -> serde_json::Value {
    rec["userIdentity"]["accessKeyId"] = json!(key);
    if let Some(minutes) = signed_in {
        let since = (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        rec["userIdentity"]["sessionContext"] = json!({"attributes": {"creationDate": since}});
    }
    rec
}

#[tokio::test]
async fn a_password_reset_for_an_admin_makes_her_sessions_calls_the_resetters() {
    let r = revoker(account(), &[]);
    // mallory resets alice's console password, signs in as alice, makes eve an admin.
    let reset = record(
        "pw-1",
        "mallory",
        "UpdateLoginProfile",
        json!({"userName": "alice"}),
        10,
    );
    r.port().in_trail(trail(&reset));
    join(&r, "eve", "Administrators");
    let grant = with_credential(add_to_admins("pw-2", "alice", "eve", 5), "ASIAMAL", Some(8));
    let out = r.batch().process(&real(&r, &grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(out.principal.ends_with("user/mallory"), "{out:?}");
    assert!(
        out.reason.contains("console session of user/alice")
            && out.reason.contains("user/mallory made"),
        "{}",
        out.reason
    );
    assert!(has_deny(&r, "mallory"));
    assert!(!has_deny(&r, "alice"));
    assert!(groups(&r, "eve").is_empty(), "the grant is undone");
    assert!(!r.port().trusts(Status::Admin, EntityKind::User, "eve"));
    // A session begun before the reset is alice's own: her grant stands.
    join(&r, "dev1", "Administrators");
    let before = with_credential(
        add_to_admins("pw-3", "alice", "dev1", 5),
        "ASIAALICE",
        Some(30),
    );
    let out = r.batch().process(&real(&r, &before), false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    assert!(r.port().trusts(Status::Admin, EntityKind::User, "dev1"));
}

#[tokio::test]
async fn who_made_a_new_key_is_waited_for_and_an_unanswered_look_up_is_not_remembered() {
    use warden_core::minted::Credential;
    use warden_core::ports::PortError;
    let r = revoker(account(), &[]);
    let key = Credential::AccessKey {
        user: "alice".into(),
        key: "AKIANEW".into(),
    };
    let made = chrono::Utc::now() - chrono::TimeDelta::minutes(1);
    r.port().lock().made.insert(key.clone(), made);
    join(&r, "eve", "Administrators");
    let grant = with_credential(add_to_admins("k-1", "alice", "eve", 1), "AKIANEW", None);
    // CloudTrail does not answer: the event waits, within a minute.
    r.port().fail(
        "lookup_between",
        PortError::Transient {
            operation: "LookupEvents",
            message: "throttled".into(),
        },
        1,
    );
    let out = r.batch().process(&real(&r, &grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Deferred, "{}", out.reason);
    assert!(out.defer_seconds.is_some_and(|s| s <= 60), "{out:?}");
    assert_eq!(groups(&r, "eve"), ["Administrators"], "nothing done yet");
    // Answered, but the making is not in CloudTrail's history yet: it still waits.
    let out = r.batch().process(&real(&r, &grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Deferred, "{}", out.reason);
    // Once it may wait no longer, unanswered: alice's own call, this once only.
    r.port().fail(
        "lookup_between",
        PortError::Transient {
            operation: "LookupEvents",
            message: "throttled".into(),
        },
        1,
    );
    let out = r
        .batch_with(Patience::Done)
        .process(&event(&grant), true)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    // The making arrives: mallory's. The next look-up finds it; nothing was remembered.
    let making = record(
        "k-0",
        "mallory",
        "CreateAccessKey",
        json!({"userName": "alice"}),
        1,
    );
    let mut making = making;
    making["responseElements"] = json!({"accessKey": {"accessKeyId": "AKIANEW"}});
    r.port().in_trail(trail(&making));
    let out = r.batch().process(&real(&r, &grant), false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    assert!(out.principal.ends_with("user/mallory"), "{out:?}");
    assert!(groups(&r, "eve").is_empty());
    // Settled: the next call with that key costs no look-up.
    let calls = r.port().lock().calls.len();
    let next = with_credential(create_user("k-2", "alice", 1), "AKIANEW", None);
    r.batch().process(&event(&next), true).await.unwrap();
    let later: Vec<_> = r.port().lock().calls[calls..].to_vec();
    assert!(
        !later.contains(&"lookup_between") && !later.contains(&"credential_created"),
        "{later:?}"
    );
}
