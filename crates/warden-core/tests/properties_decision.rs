#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Generated events, facts and configurations for the decision table: whatever the
//! event and whatever IAM and CloudTrail answer, a trusted admin, a trusted exempt
//! principal, root, a service-linked role, an AWS service or the tool itself is never
//! revoked, and a call made in another account, or by another account's principal, is
//! never acted on.

use proptest::prelude::*;
use serde_json::{json, Value};
use warden_core::config::{Config, Environment};
use warden_core::decision::{decide, Decision, Step, Verdict};
use warden_core::event::parse_eventbridge;
use warden_core::facts::{CallerFacts, Facts};
use warden_core::grant::{standing, Standing};
use warden_core::principal::{EntityKind, Principal, Target};
use warden_core::trust::{Provenance, Status, TrustEntry, Verification};

const OWN: &str = "123456789012";
const OTHER: &str = "210987654321";
const DENY: &str = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam";

/// Who called, as CloudTrail's `userIdentity` says it.
#[derive(Debug, Clone)]
enum Caller {
    User {
        name: String,
        account: String,
    },
    Role {
        name: String,
        path: String,
        account: String,
    },
    Root {
        account: String,
    },
    Service,
    Federated {
        name: String,
    },
    Odd {
        kind: String,
    },
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("dev1".to_owned()),
        Just("Dev1".to_owned()),
        Just("admin1".to_owned()),
        Just("ci".to_owned()),
        "[a-zA-Z0-9+=,.@_-]{1,12}",
    ]
}

fn account() -> impl Strategy<Value = String> {
    prop_oneof![4 => Just(OWN.to_owned()), 1 => Just(OTHER.to_owned())]
}

fn caller() -> impl Strategy<Value = Caller> {
    prop_oneof![
        4 => (name(), account()).prop_map(|(name, account)| Caller::User { name, account }),
        4 => (
            prop_oneof![
                name(),
                Just("iam-warden-revoker".to_owned()),
                Just("iam-warden-pruner".to_owned()),
                Just("AWSServiceRoleForSupport".to_owned()),
                Just("AWSReservedSSO_AdministratorAccess_0123456789abcdef".to_owned()),
                Just("AWSReservedSSO_ReadOnly_0123456789abcdef".to_owned()),
            ],
            prop_oneof![
                Just("/".to_owned()),
                Just("/aws-service-role/support.amazonaws.com/".to_owned()),
                Just("/aws-reserved/sso.amazonaws.com/".to_owned()),
                Just("/team/".to_owned()),
            ],
            account(),
        )
            .prop_map(|(name, path, account)| Caller::Role { name, path, account }),
        1 => account().prop_map(|account| Caller::Root { account }),
        1 => Just(Caller::Service),
        1 => name().prop_map(|name| Caller::Federated { name }),
        1 => prop_oneof![Just("SAMLUser".to_owned()), Just("WebIdentityUser".to_owned()), Just("IdentityCenterUser".to_owned()), "[A-Za-z]{0,10}"]
            .prop_map(|kind| Caller::Odd { kind }),
    ]
}

fn identity(caller: &Caller) -> Value {
    match caller {
        Caller::User { name, account } => json!({
            "type": "IAMUser", "principalId": format!("AIDA{}", name.len()),
            "arn": format!("arn:aws:iam::{account}:user/{name}"),
            "accountId": account, "userName": name, "accessKeyId": "AKIAEXAMPLE",
        }),
        Caller::Role {
            name,
            path,
            account,
        } => json!({
            "type": "AssumedRole", "principalId": format!("AROA{}:session", name.len()),
            "arn": format!("arn:aws:sts::{account}:assumed-role/{name}/session"),
            "accountId": account, "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role", "principalId": format!("AROA{}", name.len()),
                    "arn": format!("arn:aws:iam::{account}:role{path}{name}"),
                    "accountId": account, "userName": name,
                },
                "attributes": {"creationDate": "2026-11-20T09:00:00Z", "mfaAuthenticated": "false"},
            },
        }),
        Caller::Root { account } => json!({
            "type": "Root", "principalId": account,
            "arn": format!("arn:aws:iam::{account}:root"), "accountId": account,
        }),
        Caller::Service => {
            json!({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"})
        }
        Caller::Federated { name } => json!({
            "type": "FederatedUser", "principalId": format!("{OWN}:{name}"),
            "arn": format!("arn:aws:sts::{OWN}:federated-user/{name}"), "accountId": OWN,
            "sessionContext": {"sessionIssuer": {
                "type": "IAMUser", "principalId": "AIDAISSUER",
                "arn": format!("arn:aws:iam::{OWN}:user/issuer"), "accountId": OWN, "userName": "issuer",
            }},
        }),
        Caller::Odd { kind } => json!({"type": kind, "principalId": "x", "accountId": OWN}),
    }
}

/// One IAM (or other) call as the queue carries it.
fn event() -> impl Strategy<Value = (Caller, Value)> {
    let event_name = prop_oneof![
        Just("CreateUser"),
        Just("AttachUserPolicy"),
        Just("PutRolePolicy"),
        Just("AddUserToGroup"),
        Just("TagUser"),
        Just("CreateAccessKey"),
        Just("ChangePassword"),
        Just("ListUsers"),
        Just("DeleteTrail"),
        Just("UpdateAssumeRolePolicy"),
    ];
    let source = prop_oneof![
        8 => Just("iam.amazonaws.com"),
        1 => Just("cloudtrail.amazonaws.com"),
        1 => Just("s3.amazonaws.com"),
    ];
    (
        caller(),
        event_name,
        source,
        prop::option::of(any::<bool>()),
        prop::option::of(Just("AccessDenied")),
        prop_oneof![4 => Just(Some(OWN)), 1 => Just(Some(OTHER)), 1 => Just(None)],
        name(),
        prop_oneof![Just("Administrators"), Just("Developers")],
    )
        .prop_map(
            |(caller, event_name, source, read_only, error, recipient, target, group)| {
                let mut detail = json!({
                    "eventVersion": "1.09",
                    "userIdentity": identity(&caller),
                    "eventTime": "2026-11-20T09:15:01Z",
                    "eventSource": source,
                    "eventName": event_name,
                    "awsRegion": "us-east-1",
                    "eventType": "AwsApiCall",
                    "eventID": "00000000-0000-4000-8000-000000000001",
                    "requestParameters": {
                        "userName": target, "roleName": target, "groupName": group,
                        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                        "tags": [{"key": "iam-warden:exempt", "value": "true"}],
                    },
                });
                if let Some(r) = read_only {
                    detail["readOnly"] = json!(r);
                }
                if let Some(code) = error {
                    detail["errorCode"] = json!(code);
                }
                if let Some(account) = recipient {
                    detail["recipientAccountId"] = json!(account);
                }
                let body = json!({
                    "version": "0", "id": "eb-1", "detail-type": "AWS API Call via CloudTrail",
                    "source": "aws.iam", "account": OWN, "time": "2026-11-20T09:15:01Z",
                    "region": "us-east-1", "resources": [], "detail": detail,
                });
                (caller, body)
            },
        )
}

fn entry(status: Status, kind: EntityKind, unique_id: Option<String>) -> TrustEntry {
    TrustEntry {
        status,
        kind,
        name: "x".into(),
        unique_id,
        provenance: Provenance::Baseline,
        at: chrono::Utc::now(),
    }
}

/// What IAM, the ledger and CloudTrail answer about the caller.
#[derive(Debug, Clone)]
struct Answers {
    groups: Vec<&'static str>,
    exempt_tag: bool,
    trusted_admin: bool,
    trusted_exempt: bool,
    deny_attached: bool,
    same_unique_id: bool,
    verification: Verification,
    /// What the look-up by unique id finds: nobody, or the caller under a new name.
    resolution: Option<String>,
}

fn answers() -> impl Strategy<Value = Answers> {
    (
        prop::sample::subsequence(
            vec!["Administrators", "administrators", "Developers"],
            0..=3,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(true), 1 => Just(false)],
        prop_oneof![
            any::<bool>().prop_map(|authorized| Verification::Granted {
                by: "arn:aws:iam::123456789012:user/someone".into(),
                event_id: "e".into(),
                authorized,
            }),
            Just(Verification::NotFound { wait: None }),
            Just(Verification::NotFound {
                wait: Some(std::time::Duration::from_secs(60))
            }),
            Just(Verification::Unanswered {
                wait: None,
                why: "throttled".into()
            }),
        ],
        prop::option::of(name()),
    )
        .prop_map(
            |(
                groups,
                exempt_tag,
                trusted_admin,
                trusted_exempt,
                deny_attached,
                same_unique_id,
                verification,
                resolution,
            )| Answers {
                groups,
                exempt_tag,
                trusted_admin,
                trusted_exempt,
                deny_attached,
                same_unique_id,
                verification,
                resolution,
            },
        )
}

fn facts_of(a: &Answers, target: &Target, unique_id: Option<String>) -> Facts {
    let mut f = Facts {
        groups: a.groups.iter().map(|g| (*g).to_owned()).collect(),
        unique_id: unique_id.clone(),
        ..Facts::default()
    };
    if a.exempt_tag {
        f.tags.insert("iam-warden:exempt".into(), "true".into());
    }
    if a.trusted_admin {
        f.trusted.insert(
            Status::Admin,
            entry(Status::Admin, target.kind, unique_id.clone()),
        );
    }
    if a.trusted_exempt {
        f.trusted.insert(
            Status::Exempt,
            entry(Status::Exempt, target.kind, unique_id),
        );
    }
    if a.deny_attached {
        f.attached_policies.insert(DENY.into());
    }
    f
}

/// Decides as the revoker does, answering each step from `answers`; returns the verdict
/// and the facts the last step saw.
fn run(
    event: &warden_core::event::Event,
    a: &Answers,
    config: &Config,
    env: &Environment,
) -> (Verdict, Option<Facts>) {
    let mut facts: Option<CallerFacts> = None;
    for _ in 0..5 {
        match decide(event, facts.as_ref(), config, env) {
            Step::Done(verdict) => {
                let last = match facts {
                    Some(CallerFacts::Found(f)) => Some(f),
                    _ => None,
                };
                return (verdict, last);
            }
            Step::LookUp(target) => {
                // The principal under the event's name: the caller (its unique id), or
                // another that took the name.
                let caller_id = event.record().and_then(|r| {
                    r.user_identity
                        .as_ref()
                        .and_then(|u| u.principal_id.clone())
                });
                let id = if a.same_unique_id {
                    caller_id.map(|id| id.split(':').next().unwrap_or_default().to_owned())
                } else {
                    Some("AIDASOMEONEELSE".to_owned())
                };
                facts = Some(CallerFacts::Found(facts_of(a, &target, id)));
            }
            Step::Verify(_, statuses) => {
                let Some(CallerFacts::Found(f)) = &mut facts else {
                    panic!("verify without facts")
                };
                for status in statuses {
                    f.verified.insert(status, a.verification.clone());
                }
            }
            Step::Resolve(named, id) => {
                facts = Some(match &a.resolution {
                    Some(new) if new != &named.name => {
                        let kind = if named.kind == EntityKind::User {
                            "user"
                        } else {
                            "role"
                        };
                        let renamed = Target {
                            name: new.clone(),
                            arn: format!("arn:aws:iam::{OWN}:{kind}/{new}"),
                            ..named.clone()
                        };
                        let mut f = facts_of(a, &renamed, Some(id));
                        f.renamed = Some(renamed);
                        CallerFacts::Found(f)
                    }
                    _ => CallerFacts::Vanished,
                });
            }
        }
    }
    panic!("no decision after five steps")
}

fn configs() -> impl Strategy<Value = Config> {
    (
        prop_oneof![Just("enforce"), Just("report")],
        prop_oneof![Just("alert"), Just("revoke"), Just("session")],
        prop_oneof![Just("ignore"), Just("alert"), Just("revoke")],
        prop_oneof![Just("ignore"), Just("alert"), Just("revoke")],
        prop_oneof![Just("alert"), Just("revoke")],
    )
        .prop_map(|(mode, role_mode, read_only, failed, unverified)| {
            warden_core::testing::config(&[
                ("MODE", mode),
                ("ROLE_MODE", role_mode),
                ("READ_ONLY_CALLS", read_only),
                ("FAILED_CALLS", failed),
                ("UNVERIFIED_TRUST", unverified),
                ("ADMIN_PERMISSION_SETS", "AdministratorAccess"),
                (
                    "PRUNER_ROLE_ARN",
                    "arn:aws:iam::123456789012:role/iam-warden-pruner",
                ),
            ])
        })
}

/// The status the trust ledger holds for the principal the verdict is about.
fn trusted(status: Status, verdict: &Verdict, facts: &Facts, config: &Config) -> bool {
    let Some(target) = &verdict.target else {
        return false;
    };
    matches!(
        standing(status, target, facts, config),
        Standing::Trusted(_)
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_guarded_are_never_revoked_and_other_accounts_never_acted_on(
        (caller, body) in event(),
        a in answers(),
        config in configs(),
    ) {
        let env = warden_core::testing::environment();
        let event = parse_eventbridge(&body.to_string()).unwrap();
        let record = event.record().unwrap();
        let (verdict, facts) = run(&event, &a, &config, &env);
        let acts = verdict.revocation.is_some()
            || matches!(verdict.decision, Decision::Revoked | Decision::WouldRevoke);
        if !acts {
            return Ok(());
        }
        let principal = Principal::classify(record);
        // Root, AWS services, service-linked roles, the tool: never.
        prop_assert!(
            !matches!(principal, Principal::Root { .. } | Principal::AwsService { .. } | Principal::ServiceLinkedRole { .. } | Principal::CrossAccount { .. } | Principal::Unknown { .. } | Principal::IdentityCenterUser { .. }),
            "{principal:?} acted on: {verdict:?}"
        );
        prop_assert!(!env.is_tool(&principal), "the tool acted on: {verdict:?}");
        // The revoker's role (the caller the tool runs as, by name) and the pruner's
        // (PRUNER_ROLE_ARN, by ARN); a role that only takes a tool's name elsewhere is not
        // the tool.
        if let Caller::Role { name, path, .. } = &caller {
            prop_assert!(name != "iam-warden-revoker", "the revoker acted on: {verdict:?}");
            prop_assert!(!(name == "iam-warden-pruner" && path == "/"), "the pruner acted on: {verdict:?}");
        }
        // Another account's call, or another account's principal: never acted on.
        prop_assert_eq!(record.recipient_account_id.as_deref(), Some(OWN), "{:?}", verdict);
        match &caller {
            Caller::User { account, .. } | Caller::Role { account, .. } | Caller::Root { account } => {
                prop_assert_eq!(account.as_str(), OWN, "{:?}", verdict);
            }
            _ => {}
        }
        // A trusted admin or exempt principal: never.
        let facts = facts.expect("a principal acted on was looked up");
        for status in [Status::Admin, Status::Exempt] {
            prop_assert!(!trusted(status, &verdict, &facts, &config), "trusted {status:?} acted on: {verdict:?}");
        }
        // What is acted on is the caller: the event's principal, or it under a new name.
        let target = verdict.target.clone().expect("an action names its target");
        let named = record.user_identity.as_ref().and_then(|u| u.session_context.as_ref()).and_then(|s| s.session_issuer.as_ref()).and_then(|i| i.user_name.clone())
            .or_else(|| record.user_identity.as_ref().and_then(|u| u.user_name.clone()));
        prop_assert!(
            facts.renamed.as_ref() == Some(&target) || named.as_deref() == Some(target.name.as_str()),
            "{target} is not the caller {named:?}: {verdict:?}"
        );
        prop_assert!(target.arn.contains(OWN), "{target} outside the account");
    }
}
