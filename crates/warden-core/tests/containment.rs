#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The containment plan: one test per row of the table and per guard, on the real
//! records of shared/corpus and on records of the same shape.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use warden_core::action::{Action, Credential, Holder};
use warden_core::config::Config;
use warden_core::containment::{
    guard_of, Guard, Known, Need, Plan, PolicyVersion, QUARANTINE_INLINE_NAME, QUARANTINE_POLICY,
    SESSIONS_POLICY_NAME,
};
use warden_core::containment_plan::{need, plan};
use warden_core::event::{parse_file, CloudTrailRecord};
use warden_core::facts::Facts;
use warden_core::testing::{
    config, config_from, DENY_POLICY_ARN as DENY, QUARANTINE_POLICY_ARN as Q,
};
use warden_core::trust::{Provenance, Status, TrustEntry};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Long before the calls of these tests.
fn long_ago() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn corpus() -> Vec<CloudTrailRecord> {
    let path = format!(
        "{}/../../../shared/corpus/stratus-red-team-cloudtrail.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_file(&bytes)
        .unwrap()
        .into_iter()
        .map(|e| e.unwrap().record().unwrap().clone())
        .collect()
}

/// The corpus's first successful record of `name`.
fn real(name: &str) -> CloudTrailRecord {
    corpus()
        .into_iter()
        .find(|r| r.event_name.as_deref() == Some(name) && !r.is_failed())
        .unwrap_or_else(|| panic!("no {name} in the corpus"))
}

/// A record of mallory's, of the shape CloudTrail gives `name`.
fn call(name: &str, request: Value, response: Value) -> CloudTrailRecord {
    serde_json::from_value(json!({
        "eventVersion": "1.09",
        "eventID": format!("ev-{name}"),
        "eventTime": "2026-11-25T09:58:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "eventType": "AwsApiCall",
        "readOnly": false,
        "recipientAccountId": "123456789012",
        "userIdentity": {
            "type": "IAMUser", "userName": "mallory", "accountId": "123456789012",
            "arn": "arn:aws:iam::123456789012:user/mallory", "principalId": "AIDAMALLORY"
        },
        "requestParameters": request,
        "responseElements": response,
    }))
    .unwrap()
}

fn contain(record: &CloudTrailRecord) -> Plan {
    plan(record, &Known::default(), &config(&[]), now())
}

fn quarantine(holder: Holder, name: &str) -> Action {
    Action::AttachPolicy {
        holder,
        name: name.into(),
        policy_arn: Q.into(),
    }
}

fn guarded(guard: Guard) -> Known {
    Known {
        guard: Some(guard),
        earlier: None,
        previous_trust: None,
        versions: None,
    }
}

// --- The real records -------------------------------------------------------------

#[test]
fn every_corpus_record_gets_a_containment_plan_and_failed_calls_change_nothing() {
    let config = config(&[]);
    let mut planned = 0;
    for record in corpus() {
        let p = plan(&record, &Known::default(), &config, now());
        let _ = need(&record, &config);
        if record.is_failed() {
            assert!(p.actions.is_empty(), "{p:?}");
            if record.is_iam_api_call() {
                assert!(p.note.as_deref().unwrap().contains("failed"), "{p:?}");
            }
        }
        planned += usize::from(!p.actions.is_empty());
    }
    // CreateUser, CreateRole, 2 CreateAccessKey, CreateLoginProfile, UpdateLoginProfile,
    // AttachUserPolicy, AttachRolePolicy, UpdateAssumeRolePolicy.
    assert_eq!(planned, 9);
}

#[test]
fn create_user_quarantines_the_new_user_named_in_the_response() {
    let r = real("CreateUser");
    assert_eq!(need(&r, &config(&[])), None, "never guarded: see below");
    let p = contain(&r);
    assert_eq!(
        p.actions,
        vec![quarantine(Holder::User, "malicious-iam-user")]
    );
    assert_eq!(p.what, "iam:CreateUser userName=malicious-iam-user");
    // Followed by the unique id IAM gave it (issue 18, attack 5).
    assert_eq!(
        p.created,
        Some(warden_core::containment::Created {
            kind: warden_core::principal::EntityKind::User,
            name: "malicious-iam-user".into(),
            id: "AIDAL1XMLVWIUOK8KAF0".into(),
        })
    );
}

#[test]
fn create_user_without_a_response_uses_the_request_and_without_either_says_why() {
    let p = contain(&call(
        "CreateUser",
        json!({"userName": "b+=,.@-_"}),
        Value::Null,
    ));
    assert_eq!(p.actions, vec![quarantine(Holder::User, "b+=,.@-_")]);
    assert_eq!(p.created, None, "no response, no id: by name");
    let p = contain(&call("CreateUser", Value::Null, Value::Null));
    assert!(p.actions.is_empty());
    assert!(p.review);
    assert!(p.note.unwrap().contains("does not carry"));
}

#[test]
fn without_a_managed_quarantine_the_quarantine_is_inline() {
    let c = config_from(&[("DENY_POLICY_ARN", DENY)]);
    let p = plan(&real("CreateUser"), &Known::default(), &c, now());
    assert_eq!(
        p.actions,
        vec![Action::PutInlinePolicy {
            holder: Holder::User,
            name: "malicious-iam-user".into(),
            policy_name: QUARANTINE_INLINE_NAME.into(),
            document: QUARANTINE_POLICY.into(),
        }]
    );
    // At the managed-policy quota, the managed quarantine falls back to the inline one;
    // nothing else does.
    let c = config(&[]);
    assert_eq!(
        warden_core::containment::fallback(&quarantine(Holder::Role, "r"), &c),
        Some(warden_core::containment::quarantine_inline(
            Holder::Role,
            "r"
        ))
    );
    let other = Action::AttachPolicy {
        holder: Holder::Role,
        name: "r".into(),
        policy_arn: DENY.into(),
    };
    assert_eq!(warden_core::containment::fallback(&other, &c), None);
    // At the inline quota too: the quarantine policy as the permissions boundary (the
    // boundary it replaces is read by the service).
    assert_eq!(
        warden_core::containment::fallback(
            &warden_core::containment::quarantine_inline(Holder::User, "u"),
            &c
        ),
        Some(Action::SetBoundary {
            holder: Holder::User,
            name: "u".into(),
            boundary: Some(Q.into()),
            replacing: None
        })
    );
    // Without a managed quarantine there is no such boundary; a group has none; and
    // another inline policy falls back on nothing.
    let no_managed = config_from(&[("DENY_POLICY_ARN", DENY)]);
    assert_eq!(
        warden_core::containment::fallback(
            &warden_core::containment::quarantine_inline(Holder::User, "u"),
            &no_managed
        ),
        None
    );
    assert_eq!(
        warden_core::containment::fallback(
            &warden_core::containment::quarantine_inline(Holder::Group, "g"),
            &c
        ),
        None
    );
    // A role's sessions at its full inline room: the quarantine as its boundary (none
    // without a managed quarantine); another inline policy falls back on nothing.
    let sessions = warden_core::containment::revoke_sessions("r", now());
    assert_eq!(
        warden_core::containment::fallback(&sessions, &c),
        Some(Action::SetBoundary {
            holder: Holder::Role,
            name: "r".into(),
            boundary: c.quarantine_policy_arn.clone(),
            replacing: None,
        })
    );
    assert_eq!(
        warden_core::containment::fallback(&sessions, &no_managed),
        None
    );
    let other = Action::PutInlinePolicy {
        holder: Holder::Role,
        name: "r".into(),
        policy_name: "other".into(),
        document: "{}".into(),
    };
    assert_eq!(warden_core::containment::fallback(&other, &c), None);
}

#[test]
fn create_role_quarantines_the_role_and_revokes_its_sessions_so_far() {
    let r = real("CreateRole");
    let role = r.response_elements.as_ref().unwrap()["role"]["roleName"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = contain(&r);
    assert_eq!(p.actions.len(), 2);
    assert_eq!(p.actions[0], quarantine(Holder::Role, &role));
    let Action::PutInlinePolicy {
        holder,
        name,
        policy_name,
        document,
    } = &p.actions[1]
    else {
        panic!("{:?}", p.actions[1])
    };
    assert_eq!((*holder, name.as_str()), (Holder::Role, role.as_str()));
    assert_eq!(policy_name, SESSIONS_POLICY_NAME);
    let doc: Value = serde_json::from_str(document).unwrap();
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(doc["Statement"][0]["Action"], "*");
    assert_eq!(
        doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        "2026-11-25T10:00:00Z"
    );
}

#[test]
fn create_access_key_deactivates_exactly_that_key() {
    let r = real("CreateAccessKey");
    let key = r.response_elements.as_ref().unwrap()["accessKey"]["accessKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = contain(&r);
    assert_eq!(
        p.actions,
        vec![Action::SetCredential {
            user: "stratus-red-team-backdoor-u-user".into(),
            credential: Credential::AccessKey(key),
            active: false,
        }]
    );
}

#[test]
fn create_access_key_on_oneself_names_no_user_in_the_request() {
    let p = contain(&call(
        "CreateAccessKey",
        Value::Null,
        json!({"accessKey": {"accessKeyId": "AKIAOWN", "status": "Active", "userName": "mallory"}}),
    ));
    assert_eq!(
        p.actions,
        vec![Action::SetCredential {
            user: "mallory".into(),
            credential: Credential::AccessKey("AKIAOWN".into()),
            active: false,
        }]
    );
    // Nor the response: the caller is the key's user.
    let p = contain(&call(
        "CreateAccessKey",
        json!({}),
        json!({"accessKey": {"accessKeyId": "AKIAOWN"}}),
    ));
    assert_eq!(
        p.actions,
        vec![Action::SetCredential {
            user: "mallory".into(),
            credential: Credential::AccessKey("AKIAOWN".into()),
            active: false,
        }]
    );
    // Never "every key of the user": without the key's id, nothing.
    let p = contain(&call(
        "CreateAccessKey",
        json!({"userName": "x"}),
        Value::Null,
    ));
    assert!(p.actions.is_empty());
    assert!(p.note.unwrap().contains("access key id"));
}

#[test]
fn create_and_update_login_profile_delete_that_login_profile() {
    for name in ["CreateLoginProfile", "UpdateLoginProfile"] {
        let p = contain(&real(name));
        assert_eq!(p.actions.len(), 1, "{name}");
        assert!(
            matches!(&p.actions[0], Action::DeleteLoginProfile { user } if user.starts_with("stratus")),
            "{name}: {:?}",
            p.actions
        );
    }
    // On oneself (no userName): the caller's.
    let p = contain(&call("UpdateLoginProfile", json!({}), Value::Null));
    assert_eq!(
        p.actions,
        vec![Action::DeleteLoginProfile {
            user: "mallory".into()
        }]
    );
}

#[test]
fn attach_policy_is_detached_from_that_principal() {
    let p = contain(&real("AttachUserPolicy"));
    assert_eq!(
        p.actions,
        vec![Action::DetachPolicy {
            holder: Holder::User,
            name: "malicious-iam-user".into(),
            policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        }]
    );
    let r = real("AttachRolePolicy");
    assert!(matches!(
        &contain(&r).actions[..],
        [Action::DetachPolicy { holder: Holder::Role, policy_arn, .. }] if policy_arn.ends_with("/AdministratorAccess")
    ));
    let p = contain(&call(
        "AttachGroupPolicy",
        json!({"groupName": "devs", "policyArn": "arn:aws:iam::123456789012:policy/p"}),
        Value::Null,
    ));
    assert_eq!(
        p.actions,
        vec![Action::DetachPolicy {
            holder: Holder::Group,
            name: "devs".into(),
            policy_arn: "arn:aws:iam::123456789012:policy/p".into(),
        }]
    );
}

#[test]
fn attaching_the_tools_own_policies_is_left_alone() {
    for arn in [DENY, Q] {
        let p = contain(&call(
            "AttachUserPolicy",
            json!({"userName": "x", "policyArn": arn}),
            Value::Null,
        ));
        assert!(p.actions.is_empty());
        assert!(p.note.unwrap().contains("own policy"));
    }
}

#[test]
fn put_policy_deletes_that_inline_policy_and_keeps_its_document() {
    let doc =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    for (name, holder, key) in [
        ("PutUserPolicy", Holder::User, "userName"),
        ("PutRolePolicy", Holder::Role, "roleName"),
        ("PutGroupPolicy", Holder::Group, "groupName"),
    ] {
        let p = contain(&call(
            name,
            json!({key: "target", "policyName": "all", "policyDocument": doc}),
            Value::Null,
        ));
        assert_eq!(
            p.actions,
            vec![Action::DeleteInlinePolicy {
                holder,
                name: "target".into(),
                policy_name: "all".into(),
                document: doc.into(),
            }],
            "{name}"
        );
        // Its undo puts exactly that document back.
        assert!(
            matches!(&p.actions[0].undo(), Action::PutInlinePolicy { document, .. } if document == doc)
        );
    }
}

#[test]
fn a_url_encoded_document_is_kept_decoded_and_a_missing_one_is_never_deleted() {
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%7D";
    let p = contain(&call(
        "PutRolePolicy",
        json!({"roleName": "r", "policyName": "p", "policyDocument": encoded}),
        Value::Null,
    ));
    assert!(
        matches!(&p.actions[..], [Action::DeleteInlinePolicy { document, .. }] if document == r#"{"Version":"2012-10-17"}"#)
    );
    let p = contain(&call(
        "PutUserPolicy",
        json!({"userName": "u", "policyName": "p"}),
        Value::Null,
    ));
    assert!(p.actions.is_empty());
    assert_eq!(
        p.manual[0].command,
        "aws iam delete-user-policy --user-name u --policy-name p"
    );
}

#[test]
fn add_user_to_group_removes_that_membership_but_leaves_the_admin_group_to_the_trust_ledger() {
    let p = contain(&call(
        "AddUserToGroup",
        json!({"groupName": "deployers", "userName": "backdoor"}),
        Value::Null,
    ));
    assert_eq!(
        p.actions,
        vec![Action::RemoveFromGroup {
            group: "deployers".into(),
            user: "backdoor".into()
        }]
    );
    let admin = call(
        "AddUserToGroup",
        json!({"groupName": "Administrators", "userName": "backdoor"}),
        Value::Null,
    );
    assert_eq!(need(&admin, &config(&[])), None);
    let p = contain(&admin);
    assert!(p.actions.is_empty());
    assert!(p.note.unwrap().contains("trust ledger"));
}

#[test]
fn a_new_default_version_is_undone_only_when_iam_shows_which_was_the_default() {
    let policy = "arn:aws:iam::123456789012:policy/app";
    let r = call(
        "CreatePolicyVersion",
        json!({"policyArn": policy, "policyDocument": "{}", "setAsDefault": true}),
        json!({"policyVersion": {"versionId": "v2", "isDefaultVersion": true}}),
    );
    assert_eq!(need(&r, &config(&[])), Some(Need::Versions(policy.into())));
    let versions = |list: &[(&str, bool)]| Known {
        guard: None,
        earlier: None,
        previous_trust: None,
        versions: Some(
            list.iter()
                .map(|(id, d)| PolicyVersion {
                    id: (*id).into(),
                    is_default: *d,
                    created: Some(long_ago()),
                })
                .collect(),
        ),
    };
    let c = config(&[]);
    // Two versions, the event's the default: the other was the default before.
    let p = plan(&r, &versions(&[("v1", false), ("v2", true)]), &c, now());
    assert_eq!(
        p.actions,
        vec![Action::SetDefaultVersion {
            policy_arn: policy.into(),
            version: "v1".into(),
            replacing: "v2".into()
        }]
    );
    // Three: which of v1 and v2 it was, IAM does not say. Never a guess.
    for known in [
        versions(&[("v1", false), ("v2", false), ("v3", false), ("v2", true)]),
        versions(&[("v1", false), ("v3", false), ("v2", true)]),
        versions(&[("v1", true), ("v2", false)]),
        versions(&[("v2", true)]),
        versions(&[]),
        Known::default(),
    ] {
        let p = plan(&r, &known, &c, now());
        assert!(p.actions.is_empty(), "{known:?}");
        assert!(
            p.manual[0].command.starts_with(&format!(
                "aws iam set-default-policy-version --policy-arn {policy}"
            )),
            "{known:?}"
        );
    }
    // A version not made the default changes nothing; "true" as a string counts.
    let staged = call(
        "CreatePolicyVersion",
        json!({"policyArn": policy, "setAsDefault": false}),
        json!({"policyVersion": {"versionId": "v2"}}),
    );
    assert_eq!(need(&staged, &c), None);
    assert!(plan(&staged, &Known::default(), &c, now())
        .actions
        .is_empty());
    let string_true = call(
        "CreatePolicyVersion",
        json!({"policyArn": policy, "setAsDefault": "true"}),
        json!({"policyVersion": {"versionId": "v2"}}),
    );
    assert_eq!(need(&string_true, &c), Some(Need::Versions(policy.into())));
}

#[test]
fn set_default_policy_version_is_reported_with_the_command_never_guessed() {
    let policy = "arn:aws:iam::123456789012:policy/app";
    let r = call(
        "SetDefaultPolicyVersion",
        json!({"policyArn": policy, "versionId": "v1"}),
        Value::Null,
    );
    let known = Known {
        guard: None,
        earlier: None,
        previous_trust: None,
        versions: Some(vec![
            PolicyVersion {
                id: "v1".into(),
                is_default: true,
                created: Some(long_ago()),
            },
            PolicyVersion {
                id: "v2".into(),
                is_default: false,
                created: Some(long_ago()),
            },
        ]),
    };
    let p = plan(&r, &known, &config(&[]), now());
    assert!(p.actions.is_empty());
    assert!(p.manual[0].what.contains("does not say which version"));
}

#[test]
fn the_tools_own_policy_versions_are_tampering_not_containment() {
    let r = call(
        "CreatePolicyVersion",
        json!({"policyArn": Q, "setAsDefault": true}),
        json!({"policyVersion": {"versionId": "v2"}}),
    );
    let p = contain(&r);
    assert!(p.actions.is_empty());
    assert!(p.note.unwrap().contains("tampering"));
}

#[test]
fn update_assume_role_policy_quarantines_the_role_and_revokes_its_sessions() {
    let r = real("UpdateAssumeRolePolicy");
    let role = r.request_param("roleName").unwrap().to_owned();
    assert_eq!(
        need(&r, &config(&[])),
        Some(Need::Guard(Holder::Role, role.clone()))
    );
    let p = contain(&r);
    assert_eq!(p.actions[0], quarantine(Holder::Role, &role));
    assert!(
        matches!(&p.actions[1], Action::PutInlinePolicy { policy_name, .. } if policy_name == SESSIONS_POLICY_NAME)
    );
    assert!(p.note.unwrap().contains("trust policy"));
}

#[test]
fn other_credentials_made_for_a_user_are_deactivated_by_their_ids() {
    for (name, response, credential) in [
        (
            "CreateServiceSpecificCredential",
            json!({"serviceSpecificCredential": {"serviceSpecificCredentialId": "ACCAX", "userName": "bob"}}),
            Credential::ServiceSpecific("ACCAX".into()),
        ),
        (
            "UploadSSHPublicKey",
            json!({"sSHPublicKey": {"sSHPublicKeyId": "APKAX", "userName": "bob"}}),
            Credential::SshPublicKey("APKAX".into()),
        ),
        (
            "UploadSigningCertificate",
            json!({"certificate": {"certificateId": "CERTX", "userName": "bob"}}),
            Credential::SigningCertificate("CERTX".into()),
        ),
    ] {
        let p = contain(&call(name, json!({"userName": "bob"}), response));
        assert_eq!(
            p.actions,
            vec![Action::SetCredential {
                user: "bob".into(),
                credential,
                active: false
            }],
            "{name}"
        );
        let p = contain(&call(name, json!({"userName": "bob"}), Value::Null));
        assert!(p.actions.is_empty(), "{name}: no id, nothing");
    }
}

#[test]
fn an_mfa_device_enabled_on_another_user_is_deactivated_on_oneself_left() {
    let serial = "arn:aws:iam::123456789012:mfa/bob";
    let p = contain(&call(
        "EnableMFADevice",
        json!({"userName": "bob", "serialNumber": serial}),
        Value::Null,
    ));
    assert_eq!(
        p.actions,
        vec![Action::SetCredential {
            user: "bob".into(),
            credential: Credential::MfaDevice(serial.into()),
            active: false
        }]
    );
    let p = contain(&call(
        "EnableMFADevice",
        json!({"userName": "mallory", "serialNumber": serial}),
        Value::Null,
    ));
    assert!(p.actions.is_empty());
}

#[test]
fn destructive_and_unlisted_calls_are_reported_with_what_they_changed() {
    let p = contain(&call(
        "DeleteRolePolicy",
        json!({"roleName": "audit", "policyName": "guard"}),
        Value::Null,
    ));
    assert!(p.actions.is_empty());
    assert!(p.note.unwrap().contains("destructive"));
    assert_eq!(
        p.what,
        "iam:DeleteRolePolicy roleName=audit policyName=guard"
    );
    for name in [
        "RemoveUserFromGroup",
        "DetachUserPolicy",
        "DeactivateMFADevice",
    ] {
        let p = contain(&call(name, json!({"userName": "x"}), Value::Null));
        assert!(p.note.unwrap().contains("destructive"), "{name}");
    }
    let p = contain(&call(
        "CreatePolicy",
        json!({"policyName": "p"}),
        Value::Null,
    ));
    assert!(p.actions.is_empty());
    assert!(p.note.unwrap().contains("not a call iam-warden contains"));
}

#[test]
fn a_failed_call_or_another_service_changes_nothing() {
    let mut r = real("CreateUser");
    r.error_code = Some("AccessDenied".into());
    let p = contain(&r);
    assert!(p.actions.is_empty());
    assert!(!p.review, "nothing to look at");
    assert!(p.note.unwrap().contains("AccessDenied"));
    let mut r = real("CreateUser");
    r.event_source = Some("sts.amazonaws.com".into());
    assert!(contain(&r).actions.is_empty());
    assert_eq!(need(&r, &config(&[])), None);
}

// --- Guards -------------------------------------------------------------------------

#[test]
fn a_grant_to_a_guarded_principal_is_reported_with_the_command_never_undone() {
    let c = config(&[]);
    let cases = [
        (
            call("AttachUserPolicy", json!({"userName": "alice", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), Value::Null),
            "aws iam detach-user-policy --user-name alice --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        ),
        (
            call("PutRolePolicy", json!({"roleName": "ci", "policyName": "p", "policyDocument": "{}"}), Value::Null),
            "aws iam delete-role-policy --role-name ci --policy-name p",
        ),
        (
            call("AddUserToGroup", json!({"groupName": "devs", "userName": "alice"}), Value::Null),
            "aws iam remove-user-from-group --group-name devs --user-name alice",
        ),
        (
            call("AttachGroupPolicy", json!({"groupName": "Administrators", "policyArn": "arn:aws:iam::1:policy/p"}), Value::Null),
            "aws iam detach-group-policy --group-name Administrators --policy-arn arn:aws:iam::1:policy/p",
        ),
    ];
    // (The tool's own roles are put back, not reported: see the test of attack 13.)
    for guard in [Guard::TrustedAdmin, Guard::Exempt, Guard::AdminGroup] {
        for (record, command) in &cases {
            let p = plan(record, &guarded(guard.clone()), &c, now());
            assert!(p.actions.is_empty(), "{guard:?} {record:?}");
            assert_eq!(p.manual.len(), 1);
            assert_eq!(&p.manual[0].command, command);
            assert!(
                p.manual[0].what.contains(guard.as_str()),
                "{}",
                p.manual[0].what
            );
        }
    }
    // Never quarantine a trusted admin or exempt principal: a change to its trust
    // policy is reported.
    let p = plan(
        &real("UpdateAssumeRolePolicy"),
        &guarded(Guard::Exempt),
        &c,
        now(),
    );
    assert!(p.actions.is_empty());
    assert_eq!(p.manual.len(), 1);
}

#[test]
fn a_principal_the_caller_created_is_quarantined_whatever_its_name() {
    // It did not exist before the call (IAM refuses a name in use), so it is not the
    // exempt or trusted principal its name may recall: no guard is even asked for.
    let c = config(&[(
        "EXEMPT_PRINCIPALS",
        "arn:aws:iam::123456789012:user/break-glass",
    )]);
    let r = call(
        "CreateUser",
        json!({"userName": "break-glass"}),
        Value::Null,
    );
    assert_eq!(need(&r, &c), None);
    for known in [
        Known::default(),
        guarded(Guard::Exempt),
        guarded(Guard::TrustedAdmin),
    ] {
        let p = plan(&r, &known, &c, now());
        assert_eq!(p.actions, vec![quarantine(Holder::User, "break-glass")]);
        assert!(p.manual.is_empty());
    }
    assert_eq!(need(&real("CreateRole"), &c), None);
    assert_eq!(
        plan(&real("CreateRole"), &guarded(Guard::Tool), &c, now())
            .actions
            .len(),
        2
    );
}

#[test]
fn credentials_are_contained_whoever_they_were_made_for() {
    // A key for a trusted admin is still the caller's key.
    let r = call(
        "CreateAccessKey",
        json!({"userName": "alice"}),
        json!({"accessKey": {"accessKeyId": "AKIAFORALICE", "userName": "alice"}}),
    );
    assert_eq!(need(&r, &config(&[])), None, "no guard is even looked up");
    let p = plan(&r, &guarded(Guard::TrustedAdmin), &config(&[]), now());
    assert_eq!(p.actions.len(), 1);
    let r = call(
        "UpdateLoginProfile",
        json!({"userName": "alice"}),
        Value::Null,
    );
    let p = plan(&r, &guarded(Guard::TrustedAdmin), &config(&[]), now());
    assert_eq!(
        p.actions,
        vec![Action::DeleteLoginProfile {
            user: "alice".into()
        }]
    );
}

fn trusted(status: Status, kind: warden_core::principal::EntityKind, name: &str) -> Facts {
    let entry = TrustEntry {
        status,
        kind,
        name: name.into(),
        unique_id: Some("AIDA1".into()),
        provenance: Provenance::Baseline,
        at: now(),
    };
    let mut f = Facts {
        unique_id: Some("AIDA1".into()),
        ..Facts::default()
    };
    match status {
        Status::Admin => {
            f.groups.insert("Administrators".into());
        }
        Status::Exempt => {
            f.tags.insert("iam-warden:exempt".into(), "true".into());
        }
    }
    f.trusted.insert(status, entry);
    f
}

#[test]
fn the_guard_comes_from_the_trust_ledger_the_config_and_the_tool_never_from_membership_alone() {
    use warden_core::principal::EntityKind::{Role, User};
    let c: Config = config(&[(
        "EXEMPT_PRINCIPALS",
        "arn:aws:iam::123456789012:role/path/break-glass",
    )]);
    let tool = vec!["iam-warden-revoker".to_owned()];
    assert_eq!(
        guard_of(
            Holder::User,
            "alice",
            Some(&trusted(Status::Admin, User, "alice")),
            &c,
            &tool
        ),
        Some(Guard::TrustedAdmin)
    );
    assert_eq!(
        guard_of(
            Holder::Role,
            "ci",
            Some(&trusted(Status::Exempt, Role, "ci")),
            &c,
            &tool
        ),
        Some(Guard::Exempt)
    );
    // Listed: the principal holding the name is the one the listing was resolved to
    // (its unique id, recorded in the ledger); a name taken over guards nothing.
    let break_glass = Facts {
        unique_id: Some("AROABREAKGLASS".into()),
        listed: vec!["arn:aws:iam::123456789012:role/path/break-glass".into()],
        ..Facts::default()
    };
    assert_eq!(
        guard_of(Holder::Role, "break-glass", Some(&break_glass), &c, &tool),
        Some(Guard::Exempt)
    );
    let taken_over = Facts {
        unique_id: Some("AROAMALLORY".into()),
        ..Facts::default()
    };
    assert_eq!(
        guard_of(Holder::Role, "break-glass", Some(&taken_over), &c, &tool),
        None,
        "another role under the listed name"
    );
    assert_eq!(
        guard_of(Holder::Role, "break-glass", None, &c, &tool),
        None,
        "not known to be the one listed"
    );
    assert_eq!(
        guard_of(Holder::User, "break-glass", Some(&break_glass), &c, &tool),
        None,
        "a role, not a user"
    );
    assert_eq!(
        guard_of(Holder::Role, "iam-warden-revoker", None, &c, &tool),
        Some(Guard::Tool)
    );
    assert_eq!(
        guard_of(Holder::User, "iam-warden-revoker", None, &c, &tool),
        None
    );
    assert_eq!(
        guard_of(Holder::Group, "Administrators", None, &c, &tool),
        Some(Guard::AdminGroup)
    );
    assert_eq!(guard_of(Holder::Group, "devs", None, &c, &tool), None);
    // In the group, or tagged, without the ledger: not guarded (mallory's backdoor).
    let mut joined = trusted(Status::Admin, User, "backdoor");
    joined.trusted.clear();
    assert_eq!(
        guard_of(Holder::User, "backdoor", Some(&joined), &c, &tool),
        None
    );
    let mut tagged = trusted(Status::Exempt, Role, "r");
    tagged.trusted.clear();
    assert_eq!(guard_of(Holder::Role, "r", Some(&tagged), &c, &tool), None);
    // The ledger's entry is for another principal of that name: not guarded.
    let mut reborn = trusted(Status::Admin, User, "alice");
    reborn.unique_id = Some("AIDA2".into());
    assert_eq!(
        guard_of(Holder::User, "alice", Some(&reborn), &c, &tool),
        None
    );
    assert_eq!(guard_of(Holder::User, "nobody", None, &c, &tool), None);
}

#[test]
fn a_policy_under_one_of_the_tools_inline_names_is_deleted_unless_it_is_the_tools_document() {
    let allow =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    for name in [
        "iam-warden-deny-iam",
        QUARANTINE_INLINE_NAME,
        SESSIONS_POLICY_NAME,
    ] {
        let p = contain(&call(
            "PutRolePolicy",
            json!({"roleName": "r", "policyName": name, "policyDocument": allow}),
            Value::Null,
        ));
        assert!(
            matches!(&p.actions[..], [Action::DeleteInlinePolicy { policy_name, .. }] if policy_name == name),
            "{name}: {p:?}"
        );
    }
    let sessions = match warden_core::containment::revoke_sessions("r", now()) {
        Action::PutInlinePolicy { document, .. } => document,
        other => panic!("{other:?}"),
    };
    let spaced = serde_json::to_string_pretty(
        &serde_json::from_str::<Value>(warden_core::DENY_ALL_IAM_POLICY).unwrap(),
    )
    .unwrap();
    for (name, doc) in [
        (QUARANTINE_INLINE_NAME, QUARANTINE_POLICY.to_owned()),
        ("iam-warden-deny-iam", spaced),
        (SESSIONS_POLICY_NAME, sessions),
    ] {
        let p = contain(&call(
            "PutRolePolicy",
            json!({"roleName": "r", "policyName": name, "policyDocument": doc}),
            Value::Null,
        ));
        assert!(p.actions.is_empty(), "{name}: {p:?}");
        assert!(p.note.unwrap().contains("own inline policies"));
    }
    // The tool's document under a name that is not the tool's is the caller's.
    let p = contain(&call(
        "PutUserPolicy",
        json!({"userName": "u", "policyName": "other", "policyDocument": QUARANTINE_POLICY}),
        Value::Null,
    ));
    assert_eq!(p.actions.len(), 1);
}

#[test]
fn the_tools_policy_on_a_guarded_principal_is_detached_a_lock_out_undone() {
    for guard in [
        Guard::TrustedAdmin,
        Guard::Exempt,
        Guard::AdminGroup,
        Guard::Tool,
    ] {
        let p = plan(
            &call(
                "AttachUserPolicy",
                json!({"userName": "alice", "policyArn": DENY}),
                Value::Null,
            ),
            &guarded(guard.clone()),
            &config(&[]),
            now(),
        );
        assert_eq!(
            p.actions,
            vec![Action::DetachPolicy {
                holder: Holder::User,
                name: "alice".into(),
                policy_arn: DENY.into()
            }],
            "{guard:?}"
        );
    }
}

#[test]
fn a_credential_made_active_again_or_reset_is_made_inactive() {
    for (name, id_key, credential) in [
        (
            "UpdateAccessKey",
            "accessKeyId",
            Credential::AccessKey("K".into()),
        ),
        (
            "UpdateSSHPublicKey",
            "sSHPublicKeyId",
            Credential::SshPublicKey("K".into()),
        ),
        (
            "UpdateSigningCertificate",
            "certificateId",
            Credential::SigningCertificate("K".into()),
        ),
        (
            "UpdateServiceSpecificCredential",
            "serviceSpecificCredentialId",
            Credential::ServiceSpecific("K".into()),
        ),
    ] {
        let active = contain(&call(
            name,
            json!({"userName": "bob", id_key: "K", "status": "Active"}),
            Value::Null,
        ));
        assert_eq!(
            active.actions,
            vec![Action::SetCredential {
                user: "bob".into(),
                credential: credential.clone(),
                active: false
            }],
            "{name}"
        );
        let inactive = contain(&call(
            name,
            json!({"userName": "bob", id_key: "K", "status": "Inactive"}),
            Value::Null,
        ));
        assert!(inactive.actions.is_empty(), "{name}");
        // On one's own key, no userName: the caller's.
        let own = contain(&call(
            name,
            json!({id_key: "K", "status": "Active"}),
            Value::Null,
        ));
        assert!(
            matches!(&own.actions[..], [Action::SetCredential { user, .. }] if user == "mallory"),
            "{name}"
        );
        let missing = contain(&call(
            name,
            json!({"userName": "bob", "status": "Active"}),
            Value::Null,
        ));
        assert!(missing.actions.is_empty(), "{name}");
    }
    let reset = contain(&call(
        "ResetServiceSpecificCredential",
        json!({"serviceSpecificCredentialId": "ACCA1"}),
        json!({"serviceSpecificCredential": {"serviceSpecificCredentialId": "ACCA1", "userName": "bob"}}),
    ));
    assert_eq!(
        reset.actions,
        vec![Action::SetCredential {
            user: "bob".into(),
            credential: Credential::ServiceSpecific("ACCA1".into()),
            active: false
        }]
    );
}

#[test]
fn need_asks_only_what_the_plan_uses() {
    let c = config(&[]);
    let mut failed = call(
        "AttachGroupPolicy",
        json!({"groupName": "devs", "policyArn": "p"}),
        Value::Null,
    );
    assert_eq!(
        need(&failed, &c),
        Some(Need::Guard(Holder::Group, "devs".into()))
    );
    failed.error_code = Some("AccessDenied".into());
    assert_eq!(need(&failed, &c), None);
    let mut other = call(
        "AttachUserPolicy",
        json!({"userName": "u", "policyArn": "p"}),
        Value::Null,
    );
    other.event_source = Some("s3.amazonaws.com".into());
    assert_eq!(need(&other, &c), None);
    assert_eq!(
        need(
            &call("PutGroupPolicy", json!({"groupName": "g"}), Value::Null),
            &c
        ),
        Some(Need::Guard(Holder::Group, "g".into()))
    );
    assert_eq!(
        need(
            &call(
                "AddUserToGroup",
                json!({"groupName": "devs", "userName": "u"}),
                Value::Null
            ),
            &c
        ),
        Some(Need::Guard(Holder::User, "u".into()))
    );
    assert_eq!(
        need(
            &call("PutRolePolicy", json!({"roleName": "r"}), Value::Null),
            &c
        ),
        Some(Need::Guard(Holder::Role, "r".into()))
    );
    assert_eq!(
        need(
            &call("CreateAccessKey", json!({"userName": "u"}), Value::Null),
            &c
        ),
        None
    );
}

#[test]
fn an_undecided_default_version_names_the_candidates_in_its_command() {
    let policy = "arn:aws:iam::123456789012:policy/app";
    let r = call(
        "CreatePolicyVersion",
        json!({"policyArn": policy, "setAsDefault": true}),
        json!({"policyVersion": {"versionId": "v3"}}),
    );
    let known = Known {
        guard: None,
        earlier: None,
        previous_trust: None,
        versions: Some(
            [("v1", false), ("v2", false), ("v3", true)]
                .iter()
                .map(|(id, d)| PolicyVersion {
                    id: (*id).into(),
                    is_default: *d,
                    created: Some(long_ago()),
                })
                .collect(),
        ),
    };
    let p = plan(&r, &known, &config(&[]), now());
    assert_eq!(
        p.manual[0].command,
        format!("aws iam set-default-policy-version --policy-arn {policy} --version-id v1|v2")
    );
}

#[test]
fn what_was_contained_is_said_by_its_state() {
    use warden_core::action::ActionState;
    use warden_core::containment::Contained;
    let action = quarantine(Holder::User, "b");
    let contained = |states: Vec<ActionState>, planned_only: bool| Contained {
        by: "user/mallory".into(),
        event_id: "e".into(),
        plan: Plan {
            what: "iam:CreateUser userName=b".into(),
            actions: vec![action.clone()],
            manual: Vec::new(),
            note: None,
            review: false,
            created: None,
        },
        states,
        planned_only,
        notified: false,
    };
    assert!(contained(vec![ActionState::Done], false).did_something());
    assert!(!contained(vec![ActionState::Gone], false).did_something());
    assert!(!contained(vec![ActionState::Failed], false).did_something());
    assert!(contained(vec![ActionState::Planned], true).did_something());
    let mut nothing = contained(Vec::new(), false);
    nothing.plan.actions.clear();
    assert!(!nothing.did_something());
    nothing.planned_only = true;
    assert!(!nothing.did_something());
    assert!(contained(vec![ActionState::Failed], false).lines()[0].starts_with("FAILED"));
    assert!(contained(vec![ActionState::Gone], false).lines()[0].contains("already gone"));
    assert!(contained(vec![ActionState::Planned], true).lines()[0].starts_with("would have"));
    // A notice of its own: only when there is something to say.
    assert!(contained(vec![ActionState::Done], false).worth_a_notice());
    assert!(contained(vec![ActionState::Failed], false).worth_a_notice());
    assert!(!contained(vec![ActionState::Gone], false).worth_a_notice());
    let mut review = contained(vec![ActionState::Gone], false);
    review.plan.review = true;
    assert!(review.worth_a_notice());
    let mut manual = contained(vec![ActionState::Gone], false);
    manual.plan.manual.push(warden_core::containment::Manual {
        what: "w".into(),
        command: "c".into(),
    });
    assert!(manual.worth_a_notice());
}

#[test]
fn an_opened_trust_on_one_of_the_tools_roles_is_put_back_reversibly() {
    let opened = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    let r = call(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "iam-warden-revoker", "policyDocument": opened}),
        Value::Null,
    );
    let c = config(&[("CANARY_ROLE_NAME", "iam-warden-canary")]);
    let p = plan(&r, &guarded(Guard::Tool), &c, now());
    let tool = warden_core::containment::tool_trust_policy("123456789012");
    assert_eq!(
        p.actions,
        vec![Action::SetTrustPolicy {
            role: "iam-warden-revoker".into(),
            document: tool.clone(),
            replacing: opened.into()
        }]
    );
    let doc: Value = serde_json::from_str(&tool).unwrap();
    assert_eq!(
        doc["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    assert_eq!(
        doc["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        "123456789012"
    );
    // Its undo is exactly the caller's document.
    assert!(
        matches!(&p.actions[0].undo(), Action::SetTrustPolicy { document, .. } if document == opened)
    );
    // Without TOOL_FUNCTION_NAMES the functions' own sessions cannot be told apart:
    // none is revoked (the functions would lose theirs).
    assert_eq!(p.actions.len(), 1, "{p:?}");
    // Without the document, nothing to put in its place later: said.
    let bare = call(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "iam-warden-revoker"}),
        Value::Null,
    );
    assert!(plan(&bare, &guarded(Guard::Tool), &c, now())
        .actions
        .is_empty());
}

#[test]
fn a_rename_is_undone_by_renaming_back() {
    let p = contain(&call(
        "UpdateUser",
        json!({"userName": "backdoor", "newUserName": "svc-backup"}),
        Value::Null,
    ));
    assert_eq!(
        p.actions,
        vec![Action::Rename {
            holder: Holder::User,
            from: "svc-backup".into(),
            to: "backdoor".into()
        }]
    );
    let p = contain(&call(
        "UpdateGroup",
        json!({"groupName": "devs", "newGroupName": "ops"}),
        Value::Null,
    ));
    assert_eq!(
        p.actions,
        vec![Action::Rename {
            holder: Holder::Group,
            from: "ops".into(),
            to: "devs".into()
        }]
    );
    for request in [
        json!({"userName": "u", "newPath": "/x/"}),
        json!({"userName": "u", "newUserName": "u"}),
    ] {
        assert!(contain(&call("UpdateUser", request, Value::Null))
            .actions
            .is_empty());
    }
    assert!(contain(&call("UpdateUser", Value::Null, Value::Null))
        .note
        .unwrap()
        .contains("does not carry"));
}

#[test]
fn a_version_made_just_before_the_call_is_never_taken_for_the_previous_default() {
    let policy = "arn:aws:iam::123456789012:policy/app";
    // The caller staged v2, made v3 the default and deleted v1 (the real previous one).
    let r = call(
        "CreatePolicyVersion",
        json!({"policyArn": policy, "setAsDefault": true}),
        json!({"policyVersion": {"versionId": "v3"}}),
    );
    let at = |minutes_before: i64| {
        DateTime::parse_from_rfc3339("2026-11-25T09:58:00Z")
            .unwrap()
            .with_timezone(&Utc)
            - chrono::TimeDelta::minutes(minutes_before)
    };
    let known = |created: Option<DateTime<Utc>>| Known {
        guard: None,
        earlier: None,
        previous_trust: None,
        versions: Some(vec![
            PolicyVersion {
                id: "v2".into(),
                is_default: false,
                created,
            },
            PolicyVersion {
                id: "v3".into(),
                is_default: true,
                created: Some(at(0)),
            },
        ]),
    };
    for created in [Some(at(2)), Some(at(59)), None] {
        let p = plan(&r, &known(created), &config(&[]), now());
        assert!(p.actions.is_empty(), "{created:?}");
        assert!(
            p.manual[0].what.contains("may be the caller's"),
            "{:?}",
            p.manual
        );
    }
    let p = plan(&r, &known(Some(at(60))), &config(&[]), now());
    assert_eq!(
        p.actions.len(),
        1,
        "made an hour before: not staged by the caller"
    );
}

#[test]
fn a_rename_without_a_new_name_or_of_the_caller_itself_is_left() {
    let p = contain(&call(
        "UpdateUser",
        json!({"userName": "u", "newPath": "/x/"}),
        Value::Null,
    ));
    assert!(p.actions.is_empty());
    assert!(p.note.unwrap().contains("no new name"));
    // The caller renaming itself: its revocation follows its unique id.
    let p = contain(&call(
        "UpdateUser",
        json!({"userName": "mallory", "newUserName": "m4llory"}),
        Value::Null,
    ));
    assert!(p.actions.is_empty());
    assert!(p.note.unwrap().contains("renamed itself"));
    // Another user of the caller's name in a group: a group is renamed back.
    let p = contain(&call(
        "UpdateGroup",
        json!({"groupName": "mallory", "newGroupName": "g2"}),
        Value::Null,
    ));
    assert_eq!(p.actions.len(), 1);
}

#[test]
fn a_new_default_with_no_other_version_says_so() {
    let r = call(
        "CreatePolicyVersion",
        json!({"policyArn": "arn:aws:iam::123456789012:policy/app", "setAsDefault": true}),
        json!({"policyVersion": {"versionId": "v2"}}),
    );
    let known = Known {
        guard: None,
        earlier: None,
        previous_trust: None,
        versions: Some(vec![PolicyVersion {
            id: "v2".into(),
            is_default: true,
            created: Some(long_ago()),
        }]),
    };
    let p = plan(&r, &known, &config(&[]), now());
    assert!(p.actions.is_empty());
    assert!(
        p.manual[0].what.contains("no other version"),
        "{:?}",
        p.manual
    );
    assert!(p.manual[0].command.ends_with("--version-id <a version>"));
}

#[test]
fn a_self_service_credential_is_a_credential_call_on_the_callers_own_user_only() {
    use warden_core::containment::self_service_credential;
    use warden_core::principal::Principal;
    let c = config(&[]);
    let of = |r: &CloudTrailRecord| {
        self_service_credential(r, &Principal::classify(r), &c).map(|t| t.name)
    };
    let key = json!({"accessKey": {"accessKeyId": "AKIANEW", "userName": "mallory"}});
    // Its own access key: held for the caller.
    assert_eq!(
        of(&call("CreateAccessKey", json!({}), key.clone())),
        Some("mallory".to_owned())
    );
    // A key for another user is not self-service (the decision revokes it).
    assert_eq!(
        of(&call("CreateAccessKey", json!({"userName": "bob"}), key)),
        None
    );
    // Self-service that makes no credential: its own password changed.
    assert_eq!(of(&call("ChangePassword", json!({}), Value::Null)), None);
}

/// Whom containment applies to (CONTAIN × the decision × a self-service credential
/// call), asking whether an alerted session's role is untrusted and whether a
/// self-service caller is stopped only when its row needs it.
#[test]
fn whom_to_contain_by_contain_decision_and_self_service() {
    use warden_core::containment::{scope, Scope};
    use warden_core::decision::Decision::{self, *};
    use warden_core::principal::{Principal, Target};
    let create_user = call("CreateUser", json!({"userName": "backdoor"}), Value::Null);
    let own_key = call("CreateAccessKey", json!({}), Value::Null);
    let mut by_role = create_user.clone();
    by_role.user_identity = serde_json::from_value(json!({
        "type": "AssumedRole", "accountId": "123456789012", "principalId": "AROACI:build",
        "arn": "arn:aws:sts::123456789012:assumed-role/ci/build",
        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ci",
            "arn": "arn:aws:iam::123456789012:role/ci", "accountId": "123456789012"}}
    }))
    .unwrap();
    let Principal::IamUser(m) = Principal::classify(&own_key) else {
        panic!("mallory is an IAM user")
    };
    let mallory = Target::user(&m);
    let of = |c: &Config, r: &CloudTrailRecord, d: Decision, untrusted, stopped| {
        scope(r, &Principal::classify(r), d, c, untrusted, stopped)
    };
    let revoked = config(&[]);
    let all = config(&[("CONTAIN", "all")]);
    let off = config(&[("CONTAIN", "off")]);
    let report = config(&[("MODE", "report")]);
    // CONTAIN=off: nothing, whatever was decided.
    for d in [Revoked, AlreadyRevoked, WouldRevoke, Alerted, Ignored] {
        assert_eq!(of(&off, &create_user, d, None, None), Scope::Leave, "{d}");
    }
    // A stopped caller: what the call made.
    for c in [&revoked, &all] {
        for d in [Revoked, AlreadyRevoked, WouldRevoke] {
            assert_eq!(of(c, &create_user, d, None, None), Scope::Contain, "{d}");
        }
        for d in [Exempt, Deferred] {
            assert_eq!(of(c, &create_user, d, None, None), Scope::Leave, "{d}");
        }
    }
    // An alerted role session: only with CONTAIN=all, and only when its role is untrusted.
    assert_eq!(of(&revoked, &by_role, Alerted, None, None), Scope::Leave);
    assert_eq!(
        of(&all, &by_role, Alerted, None, None),
        Scope::AskUntrusted("ci".into())
    );
    assert_eq!(
        of(&all, &by_role, Alerted, Some(true), None),
        Scope::Contain
    );
    assert_eq!(of(&all, &by_role, Alerted, Some(false), None), Scope::Leave);
    assert_eq!(
        of(&all, &create_user, Alerted, None, None),
        Scope::Leave,
        "not a role session"
    );
    // A self-service credential call (ignored): contained when its caller is stopped,
    // held until then (in MODE=enforce).
    for c in [&revoked, &all] {
        assert_eq!(
            of(c, &own_key, Ignored, None, None),
            Scope::AskStopped(mallory.clone())
        );
        assert_eq!(of(c, &own_key, Ignored, None, Some(true)), Scope::Contain);
        assert_eq!(
            of(c, &own_key, Ignored, None, Some(false)),
            Scope::Hold(mallory.clone())
        );
        assert_eq!(
            of(c, &create_user, Ignored, None, None),
            Scope::Leave,
            "not a credential call"
        );
    }
    assert_eq!(
        of(&report, &own_key, Ignored, None, Some(false)),
        Scope::Leave
    );
    assert_eq!(
        of(&report, &own_key, Ignored, None, Some(true)),
        Scope::Contain
    );
}

/// Issue 18, attack 11: an imitation of one of the tool's inline policies (its name,
/// another document) on a principal the tool never stops would make the tool take that
/// principal for stopped (its own keys deactivated, its password deleted): it is the
/// caller's doing, deleted whatever the guard, as the tool's own policy attached there is
/// detached (a lock-out).
#[test]
fn an_imitation_of_the_tools_inline_policy_on_a_guarded_principal_is_deleted() {
    let imitation = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    for guard in [
        Guard::TrustedAdmin,
        Guard::Exempt,
        Guard::AdminGroup,
        Guard::Tool,
    ] {
        for name in [
            QUARANTINE_INLINE_NAME,
            "iam-warden-deny-iam",
            SESSIONS_POLICY_NAME,
        ] {
            let p = plan(
                &call(
                    "PutUserPolicy",
                    json!({"userName": "adam", "policyName": name, "policyDocument": imitation}),
                    Value::Null,
                ),
                &guarded(guard.clone()),
                &config(&[]),
                now(),
            );
            assert!(
                matches!(&p.actions[..], [Action::DeleteInlinePolicy { policy_name, document, .. }]
                    if policy_name == name && document == imitation),
                "{guard:?} {name}: {p:?}"
            );
        }
        // Any other inline policy on a guarded principal is only reported (on one of the
        // tool's own roles it is deleted: see the test of attack 13).
        if guard == Guard::Tool {
            continue;
        }
        let p = plan(
            &call(
                "PutUserPolicy",
                json!({"userName": "adam", "policyName": "other", "policyDocument": imitation}),
                Value::Null,
            ),
            &guarded(guard.clone()),
            &config(&[]),
            now(),
        );
        assert!(p.actions.is_empty(), "{guard:?}: {p:?}");
    }
}

/// What `warden restore` never puts back: the tool's own denies (its policies, a policy
/// under one of its inline names, its quarantine or a boundary of its as a boundary),
/// whatever they were removed from; everything else the tool undid is put back.
#[test]
fn restore_never_puts_back_the_tools_own_denies() {
    use warden_core::containment::never_restored;
    let c = config(&[]);
    let attach = |arn: &str| Action::AttachPolicy {
        holder: Holder::User,
        name: "alice".into(),
        policy_arn: arn.into(),
    };
    let put = |name: &str| Action::PutInlinePolicy {
        holder: Holder::Role,
        name: "r".into(),
        policy_name: name.into(),
        document: "{}".into(),
    };
    let boundary = |b: Option<&str>| Action::SetBoundary {
        holder: Holder::User,
        name: "alice".into(),
        boundary: b.map(str::to_owned),
        replacing: None,
    };
    assert!(never_restored(&attach(DENY), &c));
    assert!(never_restored(&attach(Q), &c));
    assert!(!never_restored(
        &attach("arn:aws:iam::123456789012:policy/AdminLike"),
        &c
    ));
    for name in [
        QUARANTINE_INLINE_NAME,
        SESSIONS_POLICY_NAME,
        "iam-warden-deny-iam",
    ] {
        assert!(never_restored(&put(name), &c), "{name}");
    }
    assert!(!never_restored(&put("app-policy"), &c));
    assert!(never_restored(&boundary(Some(Q)), &c));
    assert!(never_restored(
        &boundary(Some(
            "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-boundary-user-alice"
        )),
        &c
    ));
    assert!(!never_restored(
        &boundary(Some("arn:aws:iam::123456789012:policy/team-boundary")),
        &c
    ));
    assert!(!never_restored(&boundary(None), &c));
    assert!(!never_restored(
        &Action::AddToGroup {
            group: "devs".into(),
            user: "u".into()
        },
        &c
    ));
}

#[test]
fn a_change_to_one_of_the_tools_roles_is_put_back_and_outsiders_sessions_revoked() {
    // Attack 13 (issue 18): the tool's roles change only with the stack. A stopped
    // caller's grant to one of them (the canary role: an admin policy plus a trust
    // opened to another account), or a boundary that stops a function, is put back.
    let c = config(&[
        ("CANARY_ROLE_NAME", "iam-warden-canary"),
        (
            "TOOL_FUNCTION_NAMES",
            "iam-warden-revoker,iam-warden-pruner",
        ),
    ]);
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    let attach = call(
        "AttachRolePolicy",
        json!({"roleName": "iam-warden-canary", "policyArn": admin}),
        Value::Null,
    );
    let p = plan(&attach, &guarded(Guard::Tool), &c, now());
    assert_eq!(
        p.actions,
        vec![Action::DetachPolicy {
            holder: Holder::Role,
            name: "iam-warden-canary".into(),
            policy_arn: admin.into()
        }],
        "{p:?}"
    );
    assert!(p.manual.is_empty(), "{p:?}");
    let boundary = call(
        "PutRolePermissionsBoundary",
        json!({"roleName": "iam-warden-revoker", "permissionsBoundary": "arn:aws:iam::123456789012:policy/deny-all"}),
        Value::Null,
    );
    assert_eq!(
        warden_core::containment_plan::need(&boundary, &c),
        Some(warden_core::containment::Need::Guard(
            Holder::Role,
            "iam-warden-revoker".into()
        ))
    );
    let p = plan(&boundary, &guarded(Guard::Tool), &c, now());
    assert_eq!(
        p.actions,
        vec![Action::SetBoundary {
            holder: Holder::Role,
            name: "iam-warden-revoker".into(),
            boundary: None,
            replacing: Some("arn:aws:iam::123456789012:policy/deny-all".into()),
        }],
        "{p:?}"
    );
    // On anyone else's role a boundary only limits it: reviewed, not undone.
    let other = call(
        "PutRolePermissionsBoundary",
        json!({"roleName": "app", "permissionsBoundary": "arn:aws:iam::123456789012:policy/deny-all"}),
        Value::Null,
    );
    let p = plan(&other, &Known::default(), &c, now());
    assert!(p.actions.is_empty() && p.review, "{p:?}");
    // The canary's trust goes back to the stack's (nobody may assume it), and every
    // session of it is revoked.
    let opened = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    let trust = call(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "iam-warden-canary", "policyDocument": opened}),
        Value::Null,
    );
    let p = plan(&trust, &guarded(Guard::Tool), &c, now());
    let Some(Action::SetTrustPolicy { document, .. }) = p.actions.first() else {
        panic!("{p:?}");
    };
    let doc: Value = serde_json::from_str(document).unwrap();
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        doc["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::123456789012:root"
    );
    assert!(
        matches!(p.actions.get(1), Some(Action::PutInlinePolicy { policy_name, .. }) if policy_name == warden_core::containment::SESSIONS_POLICY_NAME),
        "{p:?}"
    );
    // A function's role: its trust put back, and the sessions that are not the
    // functions' own revoked (a function's credentials carry lambda:SourceFunctionArn,
    // which no one else's session has).
    let trust = call(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "iam-warden-revoker", "policyDocument": opened}),
        Value::Null,
    );
    let p = plan(&trust, &guarded(Guard::Tool), &c, now());
    let Some(Action::PutInlinePolicy { document, .. }) = p.actions.get(1) else {
        panic!("{p:?}");
    };
    let doc: Value = serde_json::from_str(document).unwrap();
    let condition = &doc["Statement"][0]["Condition"];
    assert!(condition["DateLessThan"]["aws:TokenIssueTime"].is_string());
    assert_eq!(
        condition["ArnNotEquals"]["lambda:SourceFunctionArn"],
        json!([
            "arn:aws:lambda:us-east-1:123456789012:function:iam-warden-revoker",
            "arn:aws:lambda:us-east-1:123456789012:function:iam-warden-pruner"
        ])
    );
}

#[test]
fn the_same_containment_is_the_same_action_or_the_same_roles_sessions_revoked() {
    use warden_core::containment::{quarantine, revoke_sessions, same_containment};
    let c = config(&[]);
    let q_app = quarantine(Holder::Role, "app", &c);
    assert!(same_containment(&q_app, &q_app.clone()));
    assert!(!same_containment(
        &q_app,
        &quarantine(Holder::Role, "other", &c)
    ));
    assert!(!same_containment(
        &q_app,
        &quarantine(Holder::User, "app", &c)
    ));
    let earlier = now() - chrono::TimeDelta::minutes(5);
    assert!(
        same_containment(
            &revoke_sessions("app", now()),
            &revoke_sessions("app", earlier)
        ),
        "a role's sessions revoked at another time is the same revocation"
    );
    assert!(!same_containment(
        &revoke_sessions("app", now()),
        &revoke_sessions("other", now())
    ));
    assert!(!same_containment(&revoke_sessions("app", now()), &q_app));
    assert!(!same_containment(&q_app, &revoke_sessions("app", now())));
    // Another inline policy on the same role is not a sessions revocation.
    let other_inline = Action::PutInlinePolicy {
        holder: Holder::Role,
        name: "app".into(),
        policy_name: "x".into(),
        document: "{}".into(),
    };
    assert!(!same_containment(
        &other_inline,
        &revoke_sessions("app", now())
    ));
    assert!(!same_containment(
        &revoke_sessions("app", now()),
        &other_inline
    ));
}

#[test]
fn a_grant_cloudtrail_shows_was_already_there_is_left_and_said() {
    // Attack 12 (issue 18): the plan leaves a no-op grant; the history decides what is one.
    use warden_core::prior::{earlier_grant, grant_history_calls};
    let p_arn = "arn:aws:iam::123456789012:policy/app-prod";
    let attach = |who: &str, id: &str, time: &str, name: &str| -> CloudTrailRecord {
        let mut r = call(
            name,
            json!({"roleName": "app", "policyArn": p_arn}),
            Value::Null,
        );
        r.event_id = Some(id.into());
        r.event_time = Some(time.into());
        if let Some(u) = r.user_identity.as_mut() {
            u.arn = Some(format!("arn:aws:iam::123456789012:user/{who}"));
            u.user_name = Some(who.into());
        }
        r
    };
    let now_call = attach("mallory", "n", "2026-12-05T10:00:00Z", "AttachRolePolicy");
    assert_eq!(
        grant_history_calls(&now_call),
        Some(["AttachRolePolicy", "DetachRolePolicy"])
    );
    assert_eq!(
        grant_history_calls(&call("PutRolePolicy", json!({}), Value::Null)),
        None
    );
    let by_deployer = attach("deployer", "d", "2026-12-01T10:00:00Z", "AttachRolePolicy");
    let detached = attach("deployer", "x", "2026-12-02T10:00:00Z", "DetachRolePolicy");
    let later = attach("deployer", "l", "2026-12-05T10:00:01Z", "AttachRolePolicy");
    let other_role = {
        let mut r = by_deployer.clone();
        r.request_parameters = Some(json!({"roleName": "db", "policyArn": p_arn}));
        r
    };
    let other_policy = {
        let mut r = by_deployer.clone();
        r.request_parameters =
            Some(json!({"roleName": "app", "policyArn": "arn:aws:iam::1:policy/x"}));
        r
    };
    let failed = {
        let mut r = by_deployer.clone();
        r.error_code = Some("AccessDenied".into());
        r
    };
    let found = |history: &[CloudTrailRecord]| {
        earlier_grant(&now_call, history).and_then(|r| r.event_id.clone())
    };
    assert_eq!(found(std::slice::from_ref(&by_deployer)), Some("d".into()));
    assert_eq!(
        found(&[by_deployer.clone(), detached.clone()]),
        None,
        "detached since"
    );
    assert_eq!(found(&[detached.clone(), by_deployer.clone()]), None);
    assert_eq!(found(std::slice::from_ref(&later)), None, "after this call");
    assert_eq!(found(&[other_role, other_policy, failed]), None);
    let own = attach("mallory", "m", "2026-12-01T10:00:00Z", "AttachRolePolicy");
    assert_eq!(
        found(&[own]),
        None,
        "the caller's own earlier grant is still hers"
    );
    assert_eq!(
        found(std::slice::from_ref(&now_call)),
        None,
        "the call itself"
    );
    // Names as IAM compares them.
    let mut upper = by_deployer.clone();
    upper.request_parameters = Some(json!({"roleName": "APP", "policyArn": p_arn}));
    assert_eq!(found(&[upper]), Some("d".into()));

    // The plan leaves it, and says so; a guard still decides first.
    let c = config(&[]);
    let known = Known {
        guard: None,
        versions: None,
        earlier: Some(("user/deployer".into(), "d".into())),
        previous_trust: None,
    };
    let p = plan(&now_call, &known, &c, now());
    assert!(p.actions.is_empty(), "{p:?}");
    assert!(p.note.unwrap().contains("already attached"));
    let p = plan(&now_call, &Known::default(), &c, now());
    assert_eq!(p.actions.len(), 1);
}

#[test]
fn the_history_a_grant_needs_and_a_failed_containment_are_exactly_these() {
    use warden_core::containment_plan::{describe, failed};
    use warden_core::prior::{earlier_grant, grant_history_calls};
    for (name, detach) in [
        ("AttachUserPolicy", "DetachUserPolicy"),
        ("AttachRolePolicy", "DetachRolePolicy"),
        ("AttachGroupPolicy", "DetachGroupPolicy"),
    ] {
        let r = call(name, json!({}), Value::Null);
        assert_eq!(grant_history_calls(&r), Some([name, detach]));
        let mut refused = r.clone();
        refused.error_code = Some("AccessDenied".into());
        assert_eq!(grant_history_calls(&refused), None, "a failed call");
        let mut elsewhere = r.clone();
        elsewhere.event_source = Some("s3.amazonaws.com".into());
        assert_eq!(grant_history_calls(&elsewhere), None, "not IAM");
    }
    // A grant in the same second as the call is not before it.
    let p_arn = "arn:aws:iam::123456789012:policy/app-prod";
    let mut now_call = call(
        "AttachRolePolicy",
        json!({"roleName": "app", "policyArn": p_arn}),
        Value::Null,
    );
    now_call.event_time = Some("2026-12-05T10:00:00Z".into());
    let mut same_second = now_call.clone();
    same_second.event_id = Some("other".into());
    if let Some(u) = same_second.user_identity.as_mut() {
        u.arn = Some("arn:aws:iam::123456789012:user/deployer".into());
    }
    assert!(earlier_grant(&now_call, std::slice::from_ref(&same_second)).is_none());
    // A containment that failed for good: what the call did, why, for review.
    let c = failed(&now_call, "e1".into(), "boom");
    assert_eq!(c.event_id, "e1");
    assert_eq!(c.plan.what, describe(&now_call));
    assert!(c.plan.review);
    assert!(c.plan.note.unwrap().contains("boom"));
}

#[test]
fn a_guarded_roles_trust_change_is_reported_with_the_document_it_replaced() {
    // Left open (issue 18): an exempt role's trust opened by a stopped caller is only
    // reported; the command to put it back needs the document before, which CloudTrail
    // has (the role's newest earlier UpdateAssumeRolePolicy, or its CreateRole).
    use warden_core::prior::{previous_trust, trust_history_calls};
    const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let opened = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    let mut change = call(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "ci", "policyDocument": opened}),
        Value::Null,
    );
    change.event_time = Some("2026-12-05T10:00:00Z".into());
    assert_eq!(
        trust_history_calls(&change),
        Some(["UpdateAssumeRolePolicy", "CreateRole"])
    );
    assert_eq!(
        trust_history_calls(&call("CreateRole", json!({}), Value::Null)),
        None
    );
    // Earlier changes by alice, an admin; the call is mallory's.
    let at = |name: &str, id: &str, time: &str, params: Value| {
        let mut r = call(name, params, Value::Null);
        r.event_id = Some(id.into());
        r.event_time = Some(time.into());
        r.user_identity = Some(warden_core::event::UserIdentity {
            kind: Some("IAMUser".into()),
            user_name: Some("alice".into()),
            arn: Some("arn:aws:iam::123456789012:user/alice".into()),
            ..Default::default()
        });
        r
    };
    let created = at(
        "CreateRole",
        "c",
        "2026-11-01T10:00:00Z",
        json!({"roleName": "ci", "assumeRolePolicyDocument": TRUST_EC2}),
    );
    let updated = at(
        "UpdateAssumeRolePolicy",
        "u",
        "2026-11-02T10:00:00Z",
        json!({"roleName": "CI", "policyDocument": "%7B%22Version%22%3A%222012-10-17%22%7D"}),
    );
    let other_role = at(
        "UpdateAssumeRolePolicy",
        "o",
        "2026-11-03T10:00:00Z",
        json!({"roleName": "db", "policyDocument": "{}"}),
    );
    let after = at(
        "UpdateAssumeRolePolicy",
        "a",
        "2026-12-05T10:00:01Z",
        json!({"roleName": "ci", "policyDocument": "{}"}),
    );
    assert_eq!(
        previous_trust(&change, std::slice::from_ref(&created)),
        Some((TRUST_EC2.to_owned(), "c".to_owned()))
    );
    assert_eq!(
        previous_trust(
            &change,
            &[created.clone(), updated, other_role.clone(), after]
        ),
        Some((r#"{"Version":"2012-10-17"}"#.to_owned(), "u".to_owned())),
        "the newest before the call, decoded"
    );
    assert_eq!(previous_trust(&change, &[other_role]), None);
    // The caller's own earlier change is not the state before it: the one before that
    // (someone else's) is, or none.
    let mut own = call(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "ci", "policyDocument": opened}),
        Value::Null,
    );
    own.event_id = Some("own".into());
    own.event_time = Some("2026-11-20T10:00:00Z".into());
    assert_eq!(
        previous_trust(&change, &[created.clone(), own.clone()]),
        Some((TRUST_EC2.to_owned(), "c".to_owned()))
    );
    assert_eq!(previous_trust(&change, std::slice::from_ref(&own)), None);
    // A change in the same second as the call is not before it.
    let mut same_second = created.clone();
    same_second.event_time = change.event_time.clone();
    assert_eq!(previous_trust(&change, &[same_second]), None);

    // The plan reports it with the command that puts the old document back.
    let c = config(&[]);
    let known = Known {
        guard: Some(Guard::Exempt),
        versions: None,
        earlier: None,
        previous_trust: Some((TRUST_EC2.to_owned(), "c".to_owned())),
    };
    let p = plan(&change, &known, &c, now());
    assert!(p.actions.is_empty(), "{p:?}");
    assert_eq!(p.manual.len(), 1, "{p:?}");
    assert!(
        p.manual[0]
            .command
            .starts_with("aws iam update-assume-role-policy --role-name ci --policy-document '")
            && p.manual[0].command.contains("ec2.amazonaws.com"),
        "{}",
        p.manual[0].command
    );
    // Without it, the review command as before.
    let p = plan(&change, &guarded(Guard::Exempt), &c, now());
    assert!(
        p.manual[0]
            .command
            .contains("aws iam get-role --role-name ci"),
        "{p:?}"
    );
}
