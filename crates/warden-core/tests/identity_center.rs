#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! IAM Identity Center sessions (issue 19): an admin permission set's sessions exempt
//! once its role is in the trust ledger; any other session's IAM writes contained, its
//! role never touched, the remedy (a Deny on the user) in the notice.

use warden_core::decision::Decision;
use warden_core::event::Event;
use warden_core::principal::EntityKind;
use warden_core::revoker::Revoker;
use warden_core::testing::{config, environment as env, sample_event as event, MemoryAccount};
use warden_core::trust::{Provenance, Status};

const ROLE: &str = "AWSReservedSSO_PowerUser_0a1b2c3d4e5f6a7b";

fn account() -> MemoryAccount {
    let a = MemoryAccount::new()
        .with_user("alice", &["Administrators"], &[])
        .with_role(ROLE, &[])
        .with_role("app", &[])
        .with_baseline();
    a.lock()
        .principals
        .get_mut(&(EntityKind::Role, ROLE.into()))
        .unwrap()
        .unique_id = Some("AROAEXAMPLEROLEID01".into());
    a
}

/// The sample Identity Center session's PutRolePolicy, with the Identity Store id of its
/// user when `store_id` is given.
fn sso_event(store_id: Option<&str>) -> Event {
    let mut e = event("07-identity-center-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        record.request_parameters = Some(
            serde_json::json!({"roleName": "app", "policyName": "extra",
            "policyDocument": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#}),
        );
    }
    if let (Event::CloudTrail { record, .. }, Some(id)) = (&mut e, store_id) {
        record.user_identity.as_mut().unwrap().on_behalf_of =
            Some(serde_json::from_value(serde_json::json!({"userId": id, "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-9067"})).unwrap());
    }
    e
}

#[tokio::test]
async fn a_session_of_another_permission_set_is_contained_never_its_role_and_the_remedy_given() {
    let r = Revoker::new(account(), config(&[]), env());
    r.port().lock().inline_documents.insert(
        ("role/app".into(), "extra".into()),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            .into(),
    );
    r.port()
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "app".into()))
        .unwrap()
        .inline_policies
        .insert("extra".into());
    let out = r
        .batch()
        .process(&sso_event(Some("9067-aaaa-bbbb")), false)
        .await
        .unwrap();
    assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
    assert!(
        out.reason.contains("identitystore:userId"),
        "{}",
        out.reason
    );
    assert!(out.reason.contains("9067-aaaa-bbbb"), "{}", out.reason);
    // What it made is contained: the inline policy it put on `app` is removed.
    let app = r.port().facts_of(EntityKind::Role, "app").unwrap();
    assert!(!app.inline_policies.contains("extra"), "{:?}", out.actions);
    // Its own role is never written to (Identity Center's).
    let role = r.port().facts_of(EntityKind::Role, ROLE).unwrap();
    assert!(role.attached_policies.is_empty() && role.inline_policies.is_empty());
    assert!(role.boundary.is_none());
    let notices = r.port().notices();
    assert!(
        notices
            .iter()
            .any(|n| n.body.contains("aws organizations attach-policy")),
        "{notices:?}"
    );
    // Without the Identity Store id: the Deny is on aws:userid `*:<user>`.
    let r = Revoker::new(account(), config(&[]), env());
    let out = r.batch().process(&sso_event(None), false).await.unwrap();
    assert!(out.reason.contains("*:carol@example.com"), "{}", out.reason);
}

#[tokio::test]
async fn an_admin_permission_sets_roles_are_recorded_when_first_configured_and_their_sessions_exempt(
) {
    let account = account();
    account.lock().reserved_roles.insert(ROLE.into());
    let cfg = config(&[("ADMIN_PERMISSION_SETS", "PowerUser")]);
    let r = Revoker::new(account, cfg.clone(), env());
    let recorded = warden_core::vouch::ensure_permission_sets(r.port(), &cfg, &env())
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].provenance,
        Provenance::PermissionSet {
            name: "PowerUser".into(),
            by: None
        }
    );
    assert_eq!(
        recorded[0].unique_id.as_deref(),
        Some("AROAEXAMPLEROLEID01")
    );
    // Once per set: the next start records nothing, EXEMPT_PRINCIPALS' check in between
    // (as each start runs it) keeping the set's marker.
    let problems = warden_core::vouch::ensure_listed(r.port(), &env(), &cfg)
        .await
        .unwrap();
    assert!(problems.is_empty());
    assert!(
        warden_core::vouch::ensure_permission_sets(r.port(), &cfg, &env())
            .await
            .unwrap()
            .is_empty()
    );
    let out = r.batch().process(&sso_event(None), false).await.unwrap();
    assert_eq!(out.decision, Decision::Exempt, "{}", out.reason);
    let app = r.port().facts_of(EntityKind::Role, "app").unwrap();
    assert!(app.attached_policies.is_empty());
}

#[tokio::test]
async fn a_role_made_for_an_admin_set_later_is_not_trusted_until_an_operator_vouches() {
    // The set was recorded before its role existed here (or the set was re-created).
    let account = account();
    let cfg = config(&[("ADMIN_PERMISSION_SETS", "PowerUser")]);
    let r = Revoker::new(account, cfg.clone(), env());
    assert!(
        warden_core::vouch::ensure_permission_sets(r.port(), &cfg, &env())
            .await
            .unwrap()
            .is_empty()
    );
    r.port().lock().reserved_roles.insert(ROLE.into());
    // The next start (EXEMPT_PRINCIPALS checked, the sets again) does not trust it either.
    warden_core::vouch::ensure_listed(r.port(), &env(), &cfg)
        .await
        .unwrap();
    assert!(
        warden_core::vouch::ensure_permission_sets(r.port(), &cfg, &env())
            .await
            .unwrap()
            .is_empty()
    );
    let out = r.batch().process(&sso_event(None), false).await.unwrap();
    assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
    assert!(out.reason.contains("warden trust --role"), "{}", out.reason);
    // Not contained (UNVERIFIED_TRUST=alert, the default), its role never touched.
    assert!(r
        .port()
        .facts_of(EntityKind::Role, "app")
        .unwrap()
        .inline_policies
        .is_empty());
    let role = r.port().facts_of(EntityKind::Role, ROLE).unwrap();
    assert!(role.attached_policies.is_empty() && role.inline_policies.is_empty());
    // An operator vouches for it: trusted, its sessions exempt.
    let target = warden_core::principal::Target {
        kind: EntityKind::Role,
        name: ROLE.into(),
        arn: String::new(),
    };
    let entries = warden_core::vouch::vouch(
        r.port(),
        &cfg,
        &env(),
        &target,
        "arn:aws:iam::123456789012:user/op",
    )
    .await
    .unwrap();
    assert!(matches!(
        &entries[0].provenance,
        Provenance::PermissionSet { by: Some(by), .. } if by.ends_with("user/op")
    ));
    let mut again = sso_event(None);
    if let Event::CloudTrail { record, .. } = &mut again {
        record.event_id = Some("again".into());
    }
    assert_eq!(
        r.batch().process(&again, false).await.unwrap().decision,
        Decision::Exempt
    );
    // A role named like it at another path is not Identity Center's: refused.
    let fake = warden_core::principal::Target {
        kind: EntityKind::Role,
        name: "AWSReservedSSO_PowerUser_ffff".into(),
        arn: String::new(),
    };
    let r2 = Revoker::new(account_with_fake(), cfg.clone(), env());
    assert!(
        warden_core::vouch::vouch(r2.port(), &cfg, &env(), &fake, "op")
            .await
            .is_err()
    );
}

fn account_with_fake() -> MemoryAccount {
    account()
        .with_role("AWSReservedSSO_PowerUser_ffff", &[])
        .with_baseline()
}

#[test]
fn bad_permission_set_names_stop_the_start() {
    let err = warden_core::config::Config::from_lookup(|k| match k {
        "DENY_POLICY_ARN" => Some("arn:aws:iam::123456789012:policy/iam-warden/deny".into()),
        "ADMIN_PERMISSION_SETS" => Some("Admin Access".into()),
        _ => None,
    })
    .unwrap_err();
    assert!(err.to_string().contains("ADMIN_PERMISSION_SETS"), "{err}");
}

#[tokio::test]
async fn a_role_merely_named_like_an_admin_permission_sets_is_not_exempt() {
    // A caller may name a role `AWSReservedSSO_PowerUser_…` at any path but Identity
    // Center's: an ordinary role, its session revoked alone.
    let account = account().with_role("AWSReservedSSO_PowerUser_ffff", &[]);
    account
        .lock()
        .principals
        .get_mut(&(EntityKind::Role, "AWSReservedSSO_PowerUser_ffff".into()))
        .unwrap()
        .unique_id = Some("AROAFAKE".into());
    let r = Revoker::new(
        account,
        config(&[("ADMIN_PERMISSION_SETS", "PowerUser")]),
        env(),
    );
    let mut e = sso_event(None);
    if let Event::CloudTrail { record, .. } = &mut e {
        let id = record.user_identity.as_mut().unwrap();
        id.principal_id = Some("AROAFAKE:mallory".into());
        id.arn = Some(
            "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_PowerUser_ffff/mallory".into(),
        );
        let issuer = id
            .session_context
            .as_mut()
            .unwrap()
            .session_issuer
            .as_mut()
            .unwrap();
        issuer.principal_id = Some("AROAFAKE".into());
        issuer.arn = Some("arn:aws:iam::123456789012:role/AWSReservedSSO_PowerUser_ffff".into());
        issuer.user_name = Some("AWSReservedSSO_PowerUser_ffff".into());
    }
    let out = r.batch().process(&e, false).await.unwrap();
    assert_eq!(out.decision, Decision::Revoked, "{}", out.reason);
    let set = r.port().lock().trust.clone().unwrap();
    assert!(set
        .get(
            Status::Exempt,
            EntityKind::Role,
            "AWSReservedSSO_PowerUser_ffff"
        )
        .is_none());
}

#[tokio::test]
async fn with_session_scp_the_user_is_denied_by_the_scp_whatever_contain_says_and_restore_lifts_it()
{
    use warden_core::session_scp::Person;
    let carol = (env().account_id, Person::StoreId("9067-aaaa-bbbb".into()));
    for contain in ["revoked", "off"] {
        let cfg = config(&[
            ("MEMBER_ROLE_NAME", "iam-warden-member"),
            ("SESSION_SCP", "on"),
            ("CONTAIN", contain),
        ]);
        let r = Revoker::new(account(), cfg.clone(), env());
        let out = r
            .batch()
            .process(&sso_event(Some("9067-aaaa-bbbb")), false)
            .await
            .unwrap();
        assert_eq!(out.decision, Decision::Alerted, "{}", out.reason);
        assert!(
            out.reason.contains("SESSION_SCP=on")
                && out.reason.contains("--session carol@example.com")
                && !out.reason.contains("aws organizations attach-policy"),
            "{}",
            out.reason
        );
        assert!(
            r.port().lock().scp_people.contains(&carol),
            "CONTAIN={contain}: {:?}",
            out.actions
        );
        let role = warden_core::principal::Target {
            kind: EntityKind::Role,
            name: ROLE.into(),
            arn: format!("arn:aws:iam::{}:role/{ROLE}", env().account_id),
        };
        let restored = warden_core::revoker::restore_session(
            r.port(),
            &cfg,
            &env(),
            &role,
            "carol@example.com",
        )
        .await
        .unwrap();
        assert!(restored.restored, "{:?}", restored.actions);
        assert!(r.port().lock().scp_people.is_empty());
    }
    // MODE=report: planned, not applied.
    let cfg = config(&[
        ("MEMBER_ROLE_NAME", "iam-warden-member"),
        ("SESSION_SCP", "on"),
        ("MODE", "report"),
    ]);
    let r = Revoker::new(account(), cfg, env());
    r.batch()
        .process(&sso_event(Some("9067-aaaa-bbbb")), false)
        .await
        .unwrap();
    assert!(r.port().lock().scp_people.is_empty());
    // Without it: the remedy is given, nothing applied.
    let r = Revoker::new(account(), config(&[]), env());
    r.batch()
        .process(&sso_event(Some("9067-aaaa-bbbb")), false)
        .await
        .unwrap();
    assert!(r.port().lock().scp_people.is_empty());
}
