#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Every row of the decision table in shared/DESIGN.md, on the sample events of events/.

use warden_core::config::{tags, Config};
use warden_core::decision::{decide, Decision, Step, Verdict};
use warden_core::event::{parse_eventbridge, parse_file, Event};
use warden_core::facts::{CallerFacts, Facts};
use warden_core::grant::{standing, Standing};
use warden_core::principal::EntityKind;
use warden_core::revocation::Method;
use warden_core::revocation::RevocationRecord;
use warden_core::testing::{
    config, environment as env, sample_event as event, sample_text, DENY_POLICY_ARN as DENY,
};
use warden_core::trust::{Provenance, Status, TrustEntry};

fn facts(groups: &[&str], tags: &[(&str, &str)]) -> CallerFacts {
    CallerFacts::Found(Facts {
        groups: groups.iter().map(|s| (*s).to_owned()).collect(),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Facts::default()
    })
}

/// Facts of a principal whose statuses the trust ledger holds (its baseline).
fn trusted(groups: &[&str], tags: &[(&str, &str)]) -> CallerFacts {
    let CallerFacts::Found(mut f) = facts(groups, tags) else {
        unreachable!()
    };
    let target = warden_core::principal::Target {
        kind: EntityKind::User,
        name: "x".into(),
        arn: String::new(),
    };
    for status in [Status::Admin, Status::Exempt] {
        if standing(
            status,
            &target,
            &f,
            &config(&[(
                "ADMIN_GROUP_NAME",
                groups.first().copied().unwrap_or("Administrators"),
            )]),
        ) != Standing::Absent
        {
            f.trusted.insert(
                status,
                TrustEntry {
                    status,
                    kind: EntityKind::User,
                    name: "x".into(),
                    unique_id: None,
                    provenance: Provenance::Baseline,
                    at: chrono::Utc::now(),
                },
            );
        }
    }
    CallerFacts::Found(f)
}

/// Decides like the service does: first without facts, then with them if asked.
fn run(event: &Event, f: &CallerFacts, config: &Config) -> Verdict {
    match decide(event, None, config, &env()) {
        Step::Done(v) => v,
        Step::LookUp(_) => match decide(event, Some(f), config, &env()) {
            Step::Done(v) => v,
            Step::LookUp(t) | Step::Verify(t, _) | Step::Resolve(t, _) => {
                panic!("asked twice for {t}")
            }
        },
        Step::Verify(t, _) | Step::Resolve(t, _) => panic!("asked to verify {t} before its facts"),
    }
}

fn decision(name: &str, f: &CallerFacts, extra: &[(&str, &str)]) -> Verdict {
    run(&event(name), f, &config(extra))
}

fn plain() -> CallerFacts {
    facts(&["Developers"], &[])
}

#[test]
fn non_iam_and_non_cloudtrail_events_are_ignored() {
    let other =
        parse_eventbridge(r#"{"id":"1","detail-type":"Scheduled Event","detail":{}}"#).unwrap();
    assert_eq!(
        run(&other, &plain(), &config(&[])).decision,
        Decision::Ignored
    );
    let ec2 = parse_file(br#"{"Records":[{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","accountId":"123456789012","arn":"arn:aws:iam::123456789012:user/dev1"}}]}"#).unwrap();
    let v = run(ec2[0].as_ref().unwrap(), &plain(), &config(&[]));
    assert_eq!(v.decision, Decision::Ignored);
    assert!(v.reason.contains("ec2.amazonaws.com"), "{}", v.reason);
}

#[test]
fn read_only_calls_follow_read_only_calls() {
    assert_eq!(
        decision("04-read-only-list-users.json", &plain(), &[]).decision,
        Decision::Ignored
    );
    assert_eq!(
        decision(
            "04-read-only-list-users.json",
            &plain(),
            &[("READ_ONLY_CALLS", "alert")]
        )
        .decision,
        Decision::Alerted
    );
    assert_eq!(
        decision(
            "04-read-only-list-users.json",
            &plain(),
            &[("READ_ONLY_CALLS", "revoke")]
        )
        .decision,
        Decision::Revoked
    );
}

#[test]
fn self_service_on_own_user_is_ignored_but_not_on_another_user() {
    assert_eq!(
        decision("05-self-service-change-password.json", &plain(), &[]).decision,
        Decision::Ignored
    );
    // CreateAccessKey for another user is not self-service.
    let v = decision("13-exempt-tag.json", &plain(), &[]);
    assert_eq!(v.decision, Decision::Revoked);
    // ... and it is when the request names the caller.
    let mut e = event("13-exempt-tag.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        record.request_parameters = Some(serde_json::json!({"userName": "ci-bot"}));
    }
    assert_eq!(run(&e, &plain(), &config(&[])).decision, Decision::Ignored);
    // An operator can narrow the list.
    let v = decision(
        "05-self-service-change-password.json",
        &plain(),
        &[("SELF_SERVICE_ACTIONS", "GetAccountPasswordPolicy")],
    );
    assert_eq!(v.decision, Decision::Revoked);
}

#[test]
fn the_tool_service_linked_roles_and_aws_services_are_ignored() {
    assert_eq!(
        decision("10-aws-service.json", &plain(), &[]).decision,
        Decision::Ignored
    );
    assert_eq!(
        decision(
            "15-service-linked-role.json",
            &plain(),
            &[("ROLE_MODE", "revoke")]
        )
        .decision,
        Decision::Ignored
    );
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
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
        issuer.arn = Some("arn:aws:iam::123456789012:role/iam-warden/iam-warden-revoker".into());
    }
    let v = run(&e, &plain(), &config(&[("ROLE_MODE", "revoke")]));
    assert_eq!(v.decision, Decision::Ignored);
    assert!(v.reason.contains("iam-warden itself"), "{}", v.reason);

    // The pruner's role, when named by PRUNER_ROLE_ARN, and only that exact role.
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
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
        issuer.arn = Some("arn:aws:iam::123456789012:role/iam-warden/iam-warden-pruner".into());
        issuer.user_name = Some("iam-warden-pruner".into());
        if let Some(arn) = record.user_identity.as_mut().unwrap().arn.as_mut() {
            *arn = "arn:aws:sts::123456789012:assumed-role/iam-warden-pruner/run".into();
        }
    }
    let pruner = "arn:aws:iam::123456789012:role/iam-warden/iam-warden-pruner";
    let v = run(
        &e,
        &plain(),
        &config(&[("ROLE_MODE", "revoke"), ("PRUNER_ROLE_ARN", pruner)]),
    );
    assert_eq!(v.decision, Decision::Ignored, "{}", v.reason);
    let v = run(&e, &plain(), &config(&[("ROLE_MODE", "revoke")]));
    assert_eq!(
        v.decision,
        Decision::Revoked,
        "not named: decided like any role"
    );
    let v = run(
        &e,
        &plain(),
        &config(&[
            ("ROLE_MODE", "revoke"),
            (
                "PRUNER_ROLE_ARN",
                "arn:aws:iam::123456789012:role/other-path/iam-warden-pruner",
            ),
        ]),
    );
    assert_eq!(v.decision, Decision::Revoked, "same name, another role");

    // An operator running `warden` as an IAM user is not the tool.
    let mut operator = env();
    operator.caller_arn = "arn:aws:iam::123456789012:user/dev1".into();
    let Step::LookUp(_) = decide(
        &event("01-iam-user-create-user.json"),
        None,
        &config(&[]),
        &operator,
    ) else {
        panic!("an operator's own IAM call must be decided like anyone's");
    };
}

#[test]
fn root_is_alerted() {
    assert_eq!(
        decision("09-root.json", &plain(), &[]).decision,
        Decision::Alerted
    );
}

#[test]
fn identity_center_cross_account_and_unknown_callers_are_alerted() {
    for name in ["07-identity-center-role.json", "11-cross-account.json"] {
        let v = decision(name, &plain(), &[("ROLE_MODE", "revoke")]);
        assert_eq!(v.decision, Decision::Alerted, "{name}: {}", v.reason);
        assert!(v.revocation.is_none());
    }
    let mut e = event("01-iam-user-create-user.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        record.user_identity.as_mut().unwrap().kind = Some("SAMLUser".into());
    }
    let v = run(&e, &plain(), &config(&[]));
    assert_eq!(v.decision, Decision::Alerted);
    assert!(v.reason.contains("unknown type `SAMLUser`"), "{}", v.reason);
    // Each says why, for the people who read the notice.
    for (name, why) in [
        ("07-identity-center-role.json", "IAM Identity Center role"),
        ("11-cross-account.json", "from another account"),
    ] {
        let v = decision(name, &plain(), &[("ROLE_MODE", "revoke")]);
        assert!(v.reason.contains(why), "{name}: {}", v.reason);
    }
    let mut e = event("01-iam-user-create-user.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        let id = record.user_identity.as_mut().unwrap();
        id.kind = Some("IdentityCenterUser".into());
        id.on_behalf_of = Some(warden_core::event::OnBehalfOf {
            user_id: Some("u-123".into()),
            identity_store_arn: None,
        });
    }
    let v = run(&e, &plain(), &config(&[]));
    assert!(
        v.reason.contains("IAM Identity Center user `u-123`"),
        "{}",
        v.reason
    );
}

#[test]
fn decisions_read_as_the_table_names_them() {
    let names: Vec<String> = [
        Decision::Ignored,
        Decision::Alerted,
        Decision::Exempt,
        Decision::AlreadyRevoked,
        Decision::WouldRevoke,
        Decision::Revoked,
        Decision::Deferred,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        names,
        [
            "ignored",
            "alerted",
            "exempt",
            "already-revoked",
            "would-revoke",
            "revoked",
            "deferred"
        ]
    );
}

#[test]
fn a_role_session_is_known_by_its_roles_unique_id_and_a_plain_user_reads_as_not_in_the_group() {
    let mut e = event("06-assumed-role.json");
    if let Event::CloudTrail { record, .. } = &mut e {
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
        issuer.principal_id = Some("AROADEPLOYER".into());
    }
    let other = CallerFacts::Found(Facts {
        unique_id: Some("AROASOMEONEELSE".into()),
        ..Facts::default()
    });
    let c = config(&[("ROLE_MODE", "revoke")]);
    assert!(matches!(
        decide(&e, Some(&other), &c, &env()),
        Step::Resolve(_, ref id) if id == "AROADEPLOYER"
    ));
    let v = decision("01-iam-user-create-user.json", &plain(), &[]);
    assert!(
        v.reason.starts_with("user/dev1 is not in `Administrators`"),
        "{}",
        v.reason
    );
}

#[test]
fn assumed_roles_are_alerted_with_role_mode_alert_and_revoked_with_role_mode_revoke() {
    assert_eq!(
        decision("06-assumed-role.json", &plain(), &[("ROLE_MODE", "alert")]).decision,
        Decision::Alerted
    );
    let v = decision(
        "06-assumed-role.json",
        &facts(&[], &[]),
        &[("ROLE_MODE", "revoke")],
    );
    assert_eq!(v.decision, Decision::Revoked);
    let r = v.revocation.unwrap();
    assert_eq!(
        (r.target.kind, r.target.name.as_str()),
        (EntityKind::Role, "deployer")
    );
}

#[test]
fn admins_exempt_tag_and_exempt_principals_are_exempt() {
    let admin = decision(
        "12-admin-create-user.json",
        &trusted(&["Administrators"], &[]),
        &[],
    );
    assert_eq!(admin.decision, Decision::Exempt);
    let other_group = decision(
        "12-admin-create-user.json",
        &trusted(&["Admins"], &[]),
        &[("ADMIN_GROUP_NAME", "Admins")],
    );
    assert_eq!(other_group.decision, Decision::Exempt);
    let tagged = decision(
        "13-exempt-tag.json",
        &trusted(&[], &[("iam-warden:exempt", "true")]),
        &[],
    );
    assert_eq!(tagged.decision, Decision::Exempt);
    let wrong_value = decision(
        "13-exempt-tag.json",
        &facts(&[], &[("iam-warden:exempt", "false")]),
        &[],
    );
    assert_eq!(wrong_value.decision, Decision::Revoked);
    // Listed: exempt when the caller is the principal the listing was first resolved to
    // (the ledger's record for its unique id); the name alone exempts nobody.
    let dev1 = "arn:aws:iam::123456789012:user/dev1";
    let resolved = CallerFacts::Found(Facts {
        listed: vec![dev1.to_owned()],
        ..Facts::default()
    });
    let listed = decision(
        "01-iam-user-create-user.json",
        &resolved,
        &[("EXEMPT_PRINCIPALS", dev1)],
    );
    assert_eq!(listed.decision, Decision::Exempt, "{}", listed.reason);
    let by_name_only = decision(
        "01-iam-user-create-user.json",
        &plain(),
        &[("EXEMPT_PRINCIPALS", dev1)],
    );
    assert_eq!(
        by_name_only.decision,
        Decision::Revoked,
        "{}",
        by_name_only.reason
    );
    let another_listing = decision(
        "01-iam-user-create-user.json",
        &resolved,
        &[("EXEMPT_PRINCIPALS", "arn:aws:iam::123456789012:user/dev2")],
    );
    assert_eq!(another_listing.decision, Decision::Revoked);
}

#[test]
fn a_deny_already_attached_is_already_revoked() {
    let managed = CallerFacts::Found(Facts {
        attached_policies: [DENY.to_owned()].into(),
        revocation: Some(record(Method::Managed, true)),
        ..Facts::default()
    });
    assert_eq!(
        decision("02-iam-user-duplicate-attach-policy.json", &managed, &[]).decision,
        Decision::AlreadyRevoked
    );
    // The caller's own imitations never make it "already revoked": an inline policy
    // named like the deny, a boundary named like the tool's, the record tags.
    for fake in [
        Facts {
            inline_policies: ["iam-warden-deny-iam".to_owned()].into(),
            tags: [
                (tags::EVENT_ID.to_owned(), "e1".to_owned()),
                (tags::NOTIFIED.to_owned(), "e1".to_owned()),
            ]
            .into(),
            ..Facts::default()
        },
        Facts {
            boundary: Some(
                "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-boundary-x".into(),
            ),
            tags: [(tags::NOTIFIED.to_owned(), "e1".to_owned())].into(),
            ..Facts::default()
        },
    ] {
        let v = decision(
            "02-iam-user-duplicate-attach-policy.json",
            &CallerFacts::Found(fake),
            &[],
        );
        assert_eq!(v.decision, Decision::Revoked, "{}", v.reason);
        assert!(v.revocation.unwrap().resume);
    }
    let inline = CallerFacts::Found(Facts {
        inline_policies: ["iam-warden-deny-iam".to_owned()].into(),
        revocation: Some(record(Method::Inline, true)),
        ..Facts::default()
    });
    assert_eq!(
        decision("02-iam-user-duplicate-attach-policy.json", &inline, &[]).decision,
        Decision::AlreadyRevoked
    );
    // The deny without any record (its record failed after the deny): finished now.
    let unrecorded = CallerFacts::Found(Facts {
        inline_policies: ["iam-warden-deny-iam".to_owned()].into(),
        ..Facts::default()
    });
    let v = decision("02-iam-user-duplicate-attach-policy.json", &unrecorded, &[]);
    assert_eq!(v.decision, Decision::Revoked, "{}", v.reason);
    assert_eq!(
        v.revocation.map(|r| (r.resume, r.method)),
        Some((true, Method::Inline))
    );
    // MODE=report finishes nothing.
    assert_eq!(
        decision(
            "02-iam-user-duplicate-attach-policy.json",
            &unrecorded,
            &[("MODE", "report")]
        )
        .decision,
        Decision::AlreadyRevoked
    );
}

fn record(method: Method, notified: bool) -> RevocationRecord {
    RevocationRecord {
        kind: EntityKind::User,
        name: "dev1".into(),
        unique_id: None,
        event_id: "e1".into(),
        event_name: "CreateUser".into(),
        at: chrono::Utc::now(),
        method,
        previous_boundary: None,
        notified,
        session: None,
        source: None,
        source_user: None,
    }
}

#[test]
fn a_revocation_whose_notice_was_not_sent_is_resumed() {
    // The ledger's record, not the tags (which the caller can keep full at 50).
    let pending = CallerFacts::Found(Facts {
        attached_policies: [DENY.to_owned()].into(),
        revocation: Some(record(Method::Managed, false)),
        ..Facts::default()
    });
    let v = decision("01-iam-user-create-user.json", &pending, &[]);
    assert_eq!(v.decision, Decision::Revoked);
    let rev = v.revocation.unwrap();
    assert!(rev.resume);
    assert_eq!(rev.method, Method::Managed);
    let sent = CallerFacts::Found(Facts {
        attached_policies: [DENY.to_owned()].into(),
        revocation: Some(record(Method::Managed, true)),
        tags: [(tags::EVENT_ID.to_owned(), "e1".to_owned())].into(),
        ..Facts::default()
    });
    assert_eq!(
        decision("01-iam-user-create-user.json", &sent, &[]).decision,
        Decision::AlreadyRevoked
    );
    // A boundary of the tool's is a deny in place too.
    let boundary = CallerFacts::Found(Facts {
        boundary: Some(
            "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-boundary-user-dev1".into(),
        ),
        revocation: Some(record(Method::Boundary, false)),
        ..Facts::default()
    });
    let v = decision("01-iam-user-create-user.json", &boundary, &[]);
    assert_eq!(
        v.revocation.map(|r| (r.resume, r.method)),
        Some((true, Method::Boundary))
    );
    let others = CallerFacts::Found(Facts {
        boundary: Some("arn:aws:iam::123456789012:policy/their-boundary".into()),
        ..Facts::default()
    });
    let v = decision("01-iam-user-create-user.json", &others, &[]);
    assert_eq!(v.decision, Decision::Revoked);
    assert!(
        !v.revocation.unwrap().resume,
        "someone else's boundary is no deny"
    );
}

#[test]
fn the_caller_is_known_by_its_unique_id_not_its_name() {
    let e = event("01-iam-user-create-user.json");
    let c = config(&[]);
    let id = "AIDADEV1XXXXXXXXXXXXX";
    // Another principal holds the name now: find the caller by its id.
    let other = CallerFacts::Found(Facts {
        unique_id: Some("AIDASOMEONEELSE".into()),
        ..Facts::default()
    });
    let Step::Resolve(named, wanted) = decide(&e, Some(&other), &c, &env()) else {
        panic!("acted on the name's new holder")
    };
    assert_eq!((named.name.as_str(), wanted.as_str()), ("dev1", id));
    // Found under its new name: decided (and revoked) as that principal.
    let renamed = CallerFacts::Found(Facts {
        unique_id: Some(id.into()),
        renamed: Some(warden_core::principal::Target {
            kind: EntityKind::User,
            name: "d3v1".into(),
            arn: "arn:aws:iam::123456789012:user/d3v1".into(),
        }),
        ..Facts::default()
    });
    let Step::Done(v) = decide(&e, Some(&renamed), &c, &env()) else {
        panic!()
    };
    assert_eq!(v.decision, Decision::Revoked);
    assert_eq!(v.revocation.unwrap().target.name, "d3v1");
    // Nowhere: the name's new holder is never acted on for the old one's calls.
    let Step::Done(v) = decide(&e, Some(&CallerFacts::NameReused), &c, &env()) else {
        panic!()
    };
    assert_eq!(v.decision, Decision::Alerted);
    assert!(v.reason.contains("never acted on"), "{}", v.reason);
    // The same id: decided as usual.
    let same = CallerFacts::Found(Facts {
        unique_id: Some(id.into()),
        ..Facts::default()
    });
    assert_eq!(run(&e, &same, &c).decision, Decision::Revoked);
}

#[test]
fn report_mode_would_revoke() {
    let v = decision(
        "01-iam-user-create-user.json",
        &plain(),
        &[("MODE", "report")],
    );
    assert_eq!(v.decision, Decision::WouldRevoke);
    assert!(v.revocation.is_none());
}

#[test]
fn iam_users_and_federated_users_are_revoked() {
    let v = decision("01-iam-user-create-user.json", &plain(), &[]);
    assert_eq!(v.decision, Decision::Revoked);
    assert_eq!(v.revocation.as_ref().unwrap().method, Method::Managed);
    let fed = decision("08-federated-user.json", &plain(), &[]);
    assert_eq!(fed.decision, Decision::Revoked);
    let t = fed.revocation.unwrap().target;
    assert_eq!((t.kind, t.name.as_str()), (EntityKind::User, "dev3"));
}

#[test]
fn failed_calls_follow_failed_calls() {
    let name = "03-failed-call-access-denied.json";
    assert_eq!(decision(name, &plain(), &[]).decision, Decision::Revoked);
    assert_eq!(
        decision(name, &plain(), &[("FAILED_CALLS", "alert")]).decision,
        Decision::Alerted
    );
    assert_eq!(
        decision(name, &plain(), &[("FAILED_CALLS", "ignore")]).decision,
        Decision::Ignored
    );
    // An admin's failed call stays exempt whatever FAILED_CALLS says.
    assert_eq!(
        decision(
            name,
            &trusted(&["Administrators"], &[]),
            &[("FAILED_CALLS", "alert")]
        )
        .decision,
        Decision::Exempt
    );
}

#[test]
fn at_the_quota_the_inline_deny_is_used_and_the_quota_is_read_not_assumed() {
    let full = |n: usize| {
        CallerFacts::Found(Facts {
            attached_policies: (0..n)
                .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
                .collect(),
            ..Facts::default()
        })
    };
    let e = event("14-quota-reached-inline.json");
    assert_eq!(
        run(&e, &full(10), &config(&[])).revocation.unwrap().method,
        Method::Inline
    );
    assert_eq!(
        run(&e, &full(9), &config(&[])).revocation.unwrap().method,
        Method::Managed
    );
    let mut big = env();
    big.user_policy_quota = 20;
    let Step::Done(v) = decide(&e, Some(&full(10)), &config(&[]), &big) else {
        panic!()
    };
    assert_eq!(v.revocation.unwrap().method, Method::Managed);
}

#[test]
fn a_caller_that_no_longer_exists_is_alerted_not_retried() {
    let e = event("01-iam-user-create-user.json");
    // Not under its name: looked for by its unique id (it may have been renamed).
    assert!(matches!(
        decide(&e, Some(&CallerFacts::Gone), &config(&[]), &env()),
        Step::Resolve(_, _)
    ));
    let v = decision("01-iam-user-create-user.json", &CallerFacts::Vanished, &[]);
    assert_eq!(v.decision, Decision::Alerted);
    assert!(v.reason.contains("no longer exists"), "{}", v.reason);
    // Without an id in the record, nothing to look for.
    let mut e = e;
    if let Event::CloudTrail { record, .. } = &mut e {
        record.user_identity.as_mut().unwrap().principal_id = None;
    }
    assert_eq!(
        run(&e, &CallerFacts::Gone, &config(&[])).decision,
        Decision::Alerted
    );
}

#[test]
fn events_of_another_account_are_never_acted_on() {
    let mut e = event("01-iam-user-create-user.json");
    if let Event::CloudTrail { record, .. } = &mut e {
        record.recipient_account_id = Some("999999999999".into());
        record.user_identity.as_mut().unwrap().account_id = Some("999999999999".into());
    }
    assert_eq!(
        decide(&e, None, &config(&[]), &env()),
        Step::Done(run(&e, &plain(), &config(&[])))
    );
    assert_eq!(run(&e, &plain(), &config(&[])).decision, Decision::Alerted);
}

#[test]
fn every_sample_event_gets_its_documented_decision() {
    // facts as the demo account has them
    let table = [
        ("01-iam-user-create-user.json", Decision::Revoked),
        ("03-failed-call-access-denied.json", Decision::Revoked),
        ("04-read-only-list-users.json", Decision::Ignored),
        ("05-self-service-change-password.json", Decision::Ignored),
        // ROLE_MODE=session, the default: that session alone (tests/sessions.rs)
        ("06-assumed-role.json", Decision::Revoked),
        ("07-identity-center-role.json", Decision::Alerted),
        ("08-federated-user.json", Decision::Revoked),
        ("09-root.json", Decision::Alerted),
        ("10-aws-service.json", Decision::Ignored),
        ("11-cross-account.json", Decision::Alerted),
        ("15-service-linked-role.json", Decision::Ignored),
    ];
    for (name, expected) in table {
        let v = decision(name, &plain(), &[]);
        assert_eq!(v.decision, expected, "{name}: {}", v.reason);
        assert!(!v.reason.is_empty());
    }
}

#[test]
fn membership_or_the_tag_without_the_trust_ledger_asks_for_verification() {
    let e = event("16-escalation-join-admin-group.json");
    let c = config(&[]);
    let f = facts(&["Administrators"], &[("iam-warden:exempt", "true")]);
    let Step::Verify(target, statuses) = decide(&e, Some(&f), &c, &env()) else {
        panic!("membership alone decided without verification")
    };
    assert_eq!(target.name, "mallory");
    assert_eq!(statuses, [Status::Admin, Status::Exempt]);
    // A trusted entry for a status no longer held is no trust either.
    let CallerFacts::Found(mut gone) = trusted(&["Administrators"], &[]) else {
        unreachable!()
    };
    gone.groups.clear();
    assert_eq!(
        run(&e, &CallerFacts::Found(gone), &c).decision,
        Decision::Revoked
    );
}

/// Decided once: what the revoker must know besides the decision (the tool's canary,
/// tampering with the tool, a call made in another account) is read off the record by
/// `decide` and carried on the verdict, whatever the decision.
#[test]
fn the_verdict_carries_the_canary_tampering_and_another_accounts_call() {
    use warden_core::tamper::Tampering;
    let plain = run(
        &event("01-iam-user-create-user.json"),
        &facts(&[], &[]),
        &config(&[]),
    );
    assert_eq!(
        plain.marks,
        Default::default(),
        "an ordinary call carries nothing"
    );

    // A change to the tool's pipeline: a write of its caller, and tampering.
    let c = config(&[("TOOL_RULE_NAMES", "iam-warden-iam-calls")]);
    let v = run(
        &event("18-tampering-disable-rule.json"),
        &facts(&[], &[]),
        &c,
    );
    assert_eq!(v.decision, Decision::Revoked);
    assert_eq!(
        v.marks.tampering,
        Some(Tampering::Pipeline(
            "DisableRule on the rule `iam-warden-iam-calls`".into()
        ))
    );
    assert!(!v.marks.canary && !v.marks.foreign);

    // The deny policy changed by a non-admin: revoked, and the deny to be repaired.
    let deny_changed: Event = parse_eventbridge(
        &sample_text("01-iam-user-create-user.json")
            .replace("\"CreateUser\"", "\"CreatePolicyVersion\"")
            .replace(
                "\"requestParameters\": {",
                &format!("\"requestParameters\": {{\"policyArn\": \"{DENY}\","),
            ),
    )
    .unwrap();
    let v = run(&deny_changed, &facts(&[], &[]), &config(&[]));
    assert_eq!(v.marks.tampering, Some(Tampering::DenyPolicy));

    // The canary: ignored, and marked so that its arrival is recorded.
    let c = config(&[("CANARY_ROLE_NAME", "iam-warden-canary")]);
    let canary: Event = parse_eventbridge(
        &serde_json::json!({
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
        "account": "123456789012",
        "detail": {
            "eventName": "TagRole", "eventSource": "iam.amazonaws.com",
            "recipientAccountId": "123456789012", "eventID": "canary-1",
            "requestParameters": {"roleName": "iam-warden-canary",
                "tags": [{"key": "iam-warden:canary", "value": "2026-11-25T03:00:00Z"}]},
            "userIdentity": {"type": "AssumedRole", "accountId": "123456789012",
                "arn": "arn:aws:sts::123456789012:assumed-role/iam-warden-revoker/canary",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": "arn:aws:iam::123456789012:role/iam-warden-revoker",
                    "userName": "iam-warden-revoker", "accountId": "123456789012"}}},
        }
        })
        .to_string(),
    )
    .unwrap();
    let v = run(&canary, &facts(&[], &[]), &c);
    assert_eq!(v.decision, Decision::Ignored);
    assert!(v.marks.canary);
    assert!(
        !run(&canary, &facts(&[], &[]), &config(&[])).marks.canary,
        "no canary configured"
    );

    // Another account's call: alerted, and marked never to be acted on (invariant 9).
    let foreign: Event = parse_eventbridge(&sample_text("01-iam-user-create-user.json").replace(
        "\"recipientAccountId\": \"123456789012\"",
        "\"recipientAccountId\": \"210987654321\"",
    ))
    .unwrap();
    let v = run(&foreign, &facts(&[], &[]), &config(&[]));
    assert_eq!(v.decision, Decision::Alerted);
    assert!(v.marks.foreign);
}

/// Issue 18, attack 8: a role the caller creates with Identity Center's name prefix is
/// not an Identity Center role: those are at the path only Identity Center can use
/// (`/aws-reserved/sso.amazonaws.com/`), and are known by path and name together.
#[test]
fn a_role_named_like_identity_centers_outside_its_path_is_an_ordinary_role() {
    let c = config(&[("ROLE_MODE", "revoke")]);
    let real = event("07-identity-center-role.json");
    assert_eq!(run(&real, &facts(&[], &[]), &c).decision, Decision::Alerted);

    let fake: Event = parse_eventbridge(&sample_text("07-identity-center-role.json").replace(
        "role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_",
        "role/AWSReservedSSO_",
    ))
    .unwrap();
    let v = run(&fake, &facts(&[], &[]), &c);
    assert_eq!(v.decision, Decision::Revoked, "{}", v.reason);
    assert_eq!(
        v.target.map(|t| t.name),
        Some("AWSReservedSSO_PowerUser_0a1b2c3d4e5f6a7b".to_owned())
    );
    // Under another path, too (only the reserved path is Identity Center's).
    let elsewhere: Event = parse_eventbridge(&sample_text("07-identity-center-role.json").replace(
        "role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_",
        "role/sso.amazonaws.com/AWSReservedSSO_",
    ))
    .unwrap();
    assert_eq!(
        run(&elsewhere, &facts(&[], &[]), &c).decision,
        Decision::Revoked
    );
}
