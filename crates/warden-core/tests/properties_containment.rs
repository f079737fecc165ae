#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Generated IAM calls for the containment plan, with whatever IAM says of the principal
//! they grant to: nothing is taken from a trusted admin, an exempt principal or the admin
//! group but the tool's own policies put on them (a lock-out); every action has an undo
//! that puts back exactly what it changed; a failed call is never contained; every action
//! names only what the event names.

use proptest::prelude::*;
use serde_json::{json, Value};
use warden_core::action::Action;
use warden_core::config::Config;
use warden_core::containment::{is_tool_inline, is_tool_policy, Guard, Known, Need, PolicyVersion};
use warden_core::containment_plan::{need, plan};
use warden_core::event::CloudTrailRecord;
use warden_core::testing::{config, DENY_POLICY_ARN, QUARANTINE_POLICY_ARN};

const EVENTS: &[&str] = &[
    "CreateUser",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "PutRolePermissionsBoundary",
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "AddUserToGroup",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "CreateServiceSpecificCredential",
    "UploadSSHPublicKey",
    "UpdateAccessKey",
    "UpdateUser",
    "UpdateGroup",
    "EnableMFADevice",
    "DeleteUserPolicy",
    "TagRole",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("dev1".to_owned()),
        Just("admin1".to_owned()),
        Just("Administrators".to_owned()),
        Just("iam-warden-revoker".to_owned()),
        "[a-zA-Z0-9_-]{1,10}",
    ]
}

fn maybe<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![4 => s.prop_map(Some), 1 => Just(None)]
}

/// An IAM call with some of the parameters its kind carries (or not).
fn record() -> impl Strategy<Value = CloudTrailRecord> {
    (
        prop::sample::select(EVENTS),
        (maybe(name()), maybe(name()), maybe(name()), maybe(name())),
        maybe(prop_oneof![
            Just(DENY_POLICY_ARN.to_owned()),
            Just(QUARANTINE_POLICY_ARN.to_owned()),
            Just("arn:aws:iam::aws:policy/AdministratorAccess".to_owned()),
            Just("arn:aws:iam::123456789012:policy/custom".to_owned()),
        ]),
        maybe(prop_oneof![
            Just("iam-warden-deny-iam".to_owned()),
            Just("backdoor".to_owned()),
            name(),
        ]),
        maybe(Just(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.to_owned(),
        )),
        (maybe(Just("Active")), any::<bool>(), maybe(Just("AccessDenied"))),
        (maybe("[A-Z0-9]{4}"), maybe(prop_oneof![Just("v1"), Just("v2"), Just("v3")])),
    )
        .prop_map(
            |(event, (user, role, group, new_name), policy_arn, policy_name, document, (status, default, error), (id, version))| {
                let mut params = serde_json::Map::new();
                let mut put = |k: &str, v: &Option<String>| {
                    if let Some(v) = v {
                        params.insert(k.to_owned(), json!(v));
                    }
                };
                put("userName", &user);
                put("roleName", &role);
                put("groupName", &group);
                put("newUserName", &new_name);
                put("newGroupName", &new_name);
                put("policyArn", &policy_arn);
                put("policyName", &policy_name);
                put("policyDocument", &document);
                put("permissionsBoundary", &policy_arn);
                put("status", &status.map(str::to_owned));
                put("accessKeyId", &id.as_ref().map(|i| format!("AKIA{i}")));
                put("serialNumber", &id.as_ref().map(|i| format!("arn:aws:iam::123456789012:mfa/{i}")));
                put("versionId", &version.map(str::to_owned));
                if default {
                    params.insert("setAsDefault".into(), json!(true));
                }
                let response = json!({
                    "user": {"userName": user, "userId": id.as_ref().map(|i| format!("AIDA{i}"))},
                    "role": {"roleName": role},
                    "accessKey": {"accessKeyId": id.as_ref().map(|i| format!("AKIA{i}")), "userName": user},
                    "policyVersion": {"versionId": version},
                    "sSHPublicKey": {"sSHPublicKeyId": id, "userName": user},
                    "serviceSpecificCredential": {"serviceSpecificCredentialId": id, "userName": user},
                });
                let value = json!({
                    "eventVersion": "1.09",
                    "eventSource": "iam.amazonaws.com",
                    "eventName": event,
                    "eventType": "AwsApiCall",
                    "eventTime": "2026-11-20T09:15:01Z",
                    "eventID": "00000000-0000-4000-8000-000000000001",
                    "recipientAccountId": "123456789012",
                    "errorCode": error,
                    "userIdentity": {
                        "type": "IAMUser", "principalId": "AIDACALLER",
                        "arn": "arn:aws:iam::123456789012:user/caller",
                        "accountId": "123456789012", "userName": "caller",
                    },
                    "requestParameters": Value::Object(params),
                    "responseElements": response,
                });
                serde_json::from_value(value).unwrap()
            },
        )
}

fn known() -> impl Strategy<Value = Known> {
    (
        prop_oneof![
            Just(None),
            Just(Some(Guard::TrustedAdmin)),
            Just(Some(Guard::Exempt)),
            Just(Some(Guard::Tool)),
            Just(Some(Guard::AdminGroup)),
        ],
        maybe(prop::collection::vec(
            (
                prop_oneof![Just("v1"), Just("v2"), Just("v3")],
                any::<bool>(),
                0i64..100,
            ),
            0..4,
        )),
        maybe(Just((
            "arn:aws:iam::123456789012:user/earlier".to_owned(),
            "e0".to_owned(),
        ))),
        maybe(Just((
            r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
            "e1".to_owned(),
        ))),
    )
        .prop_map(|(guard, versions, earlier, previous_trust)| Known {
            guard,
            versions: versions.map(|vs| {
                vs.into_iter()
                    .map(|(id, is_default, hours)| PolicyVersion {
                        id: id.to_owned(),
                        is_default,
                        created: Some(
                            "2026-11-20T09:15:01Z"
                                .parse::<chrono::DateTime<chrono::Utc>>()
                                .unwrap()
                                - chrono::Duration::hours(hours),
                        ),
                    })
                    .collect()
            }),
            earlier,
            previous_trust,
        })
}

fn configs() -> impl Strategy<Value = Config> {
    prop_oneof![Just("revoked"), Just("all")].prop_map(|contain| {
        config(&[
            ("CONTAIN", contain),
            ("CANARY_ROLE_NAME", "iam-warden-canary"),
            (
                "TOOL_FUNCTION_NAMES",
                "iam-warden-revoker,iam-warden-pruner",
            ),
        ])
    })
}

/// Whether an action only takes one of the tool's own policies off (a lock-out).
fn removes_the_tools_own(action: &Action, config: &Config) -> bool {
    match action {
        Action::DetachPolicy { policy_arn, .. } => is_tool_policy(policy_arn, config),
        Action::DeleteInlinePolicy { policy_name, .. } => is_tool_inline(policy_name, config),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn guarded_principals_lose_only_the_tools_own_and_every_action_is_undone_exactly(
        record in record(),
        known in known(),
        config in configs(),
    ) {
        let now: chrono::DateTime<chrono::Utc> = "2026-11-20T09:20:00Z".parse().unwrap();
        let p = plan(&record, &known, &config, now);
        prop_assert!(!p.what.is_empty());

        // A failed call changed nothing: nothing is contained.
        if record.error_code.is_some() {
            prop_assert!(p.actions.is_empty(), "{:?}", p.actions);
        }
        // A grant to a guarded principal: reported, never undone; only the tool's own
        // policies put on it are taken off (they would lock it out).
        if let (Some(Need::Guard(_, _)), Some(Guard::TrustedAdmin | Guard::Exempt | Guard::AdminGroup)) =
            (need(&record, &config), &known.guard)
        {
            for action in &p.actions {
                prop_assert!(removes_the_tools_own(action, &config), "{action} on a guarded principal");
            }
        }
        let text = serde_json::to_string(&record).unwrap();
        for action in &p.actions {
            // Every action has an undo that puts back exactly what it changed.
            let undo = action.undo();
            prop_assert_ne!(&undo, action, "an undo that changes nothing");
            prop_assert_eq!(&undo.undo(), action);
            // Exact: it acts on what the event names, never on something else.
            let mut named = action.clone();
            if let Some((_, name)) = named.subject_name_mut() {
                prop_assert!(text.contains(&format!("\"{name}\"")), "{action} names `{name}`, not in the event");
            }
        }
    }
}
