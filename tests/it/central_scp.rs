//! SESSION_SCP=on against moto: the central account manages the organization's SCPs
//! (moto makes the account that creates the organization its management account; the
//! members are accounts it creates). The test support enforces Organizations' SCP quotas
//! (5,120 characters a document, five SCPs a target) as AWS does.

use std::collections::BTreeSet;

use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use warden_core::action::Action;
use warden_core::ports::{Actions, PortError};
use warden_core::principal::{EntityKind, Target};
use warden_core::session_scp::{people_in, Person, SCP_MAX};

use super::*;

const SSO_ROLE: &str = "AWSReservedSSO_PowerUser_0a1b2c3d4e5f6a7b";

/// The organization, created by the central account (its management account in moto),
/// and its root's id.
async fn organization(central: &Central) -> (aws_sdk_organizations::Client, String) {
    let sdk = central.account.as_role(REVOKER_ROLE).await;
    let org = aws_sdk_organizations::Client::new(&sdk);
    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    (org, root)
}

async fn enable_scps(org: &aws_sdk_organizations::Client, root: &str) {
    org.enable_policy_type()
        .root_id(root)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
}

/// A member account of the organization, onboarded, with Identity Center's role.
async fn org_member(central: &Central, org: &aws_sdk_organizations::Client) -> TestAccount {
    let m = central
        .member_in(TestAccount::with_id(org_account(org).await).await)
        .await;
    m.identity_center_role(SSO_ROLE).await;
    m
}

/// The central revoker with SESSION_SCP=on: Organizations with its own credentials.
async fn scp_fleet(central: &Central) -> (Config, Fleet<AwsMembers>) {
    let mut cfg = central.config.clone();
    cfg.session_scp = true;
    let sdk = central.account.as_role(REVOKER_ROLE).await;
    let home = central
        .account
        .aws(&cfg)
        .with_session_scp(Some(aws_sdk_organizations::Client::new(&sdk)));
    let fleet = Fleet::new(AwsMembers::new(&sdk, home, MEMBER_ROLE), cfg.clone());
    (cfg, fleet)
}

/// An Identity Center user's IAM write in `m` (events/07: PutRolePolicy), as `user`,
/// with the Identity Store id when the record carries one.
async fn sso_event(m: &TestAccount, id: &str, user: &str, store_id: Option<&str>) -> String {
    let mut body: serde_json::Value =
        serde_json::from_str(&m.real_event("07-identity-center-role.json").await).unwrap();
    let who = &mut body["detail"]["userIdentity"];
    for key in ["arn", "principalId"] {
        let value = who[key]
            .as_str()
            .unwrap()
            .replace("carol@example.com", user);
        who[key] = value.into();
    }
    if let Some(store_id) = store_id {
        who["onBehalfOf"] = serde_json::json!({"userId": store_id,
            "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"});
    }
    body["detail"]["eventID"] = id.into();
    body.to_string()
}

/// The tool's SCPs attached to `account`: name and document.
async fn tool_scps(org: &aws_sdk_organizations::Client, account: &str) -> Vec<(String, String)> {
    let attached = org
        .list_policies_for_target()
        .target_id(account)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for p in attached.policies() {
        let name = p.name().unwrap().to_owned();
        if !name.starts_with("iam-warden-sessions-") {
            continue;
        }
        let content = org
            .describe_policy()
            .policy_id(p.id().unwrap())
            .send()
            .await
            .unwrap()
            .policy
            .and_then(|p| p.content)
            .unwrap();
        out.push((name, content));
    }
    out.sort();
    out
}

fn sso_role(m: &TestAccount) -> Target {
    Target {
        kind: EntityKind::Role,
        name: SSO_ROLE.into(),
        arn: format!(
            "arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/{SSO_ROLE}",
            m.id
        ),
    }
}

#[tokio::test]
async fn an_identity_center_user_is_denied_iam_by_the_tools_scp_and_restore_lifts_it() {
    let central = Central::new().await;
    let (org, root) = organization(&central).await;
    let m = org_member(&central, &org).await;
    let (cfg, fleet) = scp_fleet(&central).await;
    let home = fleet.members().home();
    // Start-up refuses an organization whose root has no SCPs, naming the setting.
    let err = home.check_session_scp().await.unwrap_err().to_string();
    assert!(
        err.contains("SESSION_SCP") && err.contains("not enabled"),
        "{err}"
    );
    enable_scps(&org, &root).await;
    assert_eq!(home.check_session_scp().await.unwrap(), central.account.id);

    let bodies = [
        sso_event(&m, "sso-1", "carol@example.com", Some("9067-aaaa")).await,
        sso_event(&m, "sso-2", "dave@example.com", None).await,
    ];
    let report = decide(&fleet, &bodies).await;
    assert!(
        report.response.batch_item_failures.is_empty(),
        "{:?}",
        report.outcomes
    );
    // One SCP of the tool on the member, denying IAM to both: carol by her Identity
    // Store id, dave (whose record carries none) by his user name.
    let scps = tool_scps(&org, &m.id).await;
    assert_eq!(scps.len(), 1, "{scps:?}");
    assert_eq!(scps[0].0, format!("iam-warden-sessions-{}", m.id));
    assert_eq!(
        people_in(&scps[0].1),
        BTreeSet::from([
            Person::StoreId("9067-aaaa".into()),
            Person::UserName("dave@example.com".into())
        ])
    );
    assert!(scps[0].1.contains("\"iam:*\""), "{}", scps[0].1);
    // Identity Center's role is never written to; the notice says what was done.
    let sso_inline = m
        .iam
        .list_role_policies()
        .role_name(SSO_ROLE)
        .send()
        .await
        .unwrap()
        .policy_names;
    assert!(sso_inline.is_empty());
    let notices = central.account.notices(&central.inbox).await;
    assert!(
        notices.iter().any(|n| n["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("by the SCP of iam-warden")),
        "{notices:?}"
    );
    // Nothing in the other accounts: the central (management) account has no SCP of the tool.
    assert!(tool_scps(&org, &central.account.id).await.is_empty());

    // `warden restore --role <set's role> --session carol@example.com`: carol alone lifted.
    let in_member = warden_core::central::in_account(&cfg, &m.id);
    let (port, env) = fleet.members().open(&m.id, &in_member).await.unwrap();
    let restored = warden_core::revoker::restore_session(
        &port,
        &in_member,
        &env,
        &sso_role(&m),
        "carol@example.com",
    )
    .await
    .unwrap();
    assert!(
        restored
            .actions
            .iter()
            .any(|a| a
                .contains("took the Identity Center user with Identity Store id 9067-aaaa off")),
        "{:?}",
        restored.actions
    );
    let scps = tool_scps(&org, &m.id).await;
    assert_eq!(
        people_in(&scps[0].1),
        BTreeSet::from([Person::UserName("dave@example.com".into())])
    );
    // The last person restored: the SCP is detached and deleted.
    warden_core::revoker::restore_session(
        &port,
        &in_member,
        &env,
        &sso_role(&m),
        "dave@example.com",
    )
    .await
    .unwrap();
    assert!(tool_scps(&org, &m.id).await.is_empty());
    let all = org
        .list_policies()
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    assert!(
        all.policies().iter().all(|p| !p
            .name()
            .unwrap_or_default()
            .starts_with("iam-warden-sessions-")),
        "deleted"
    );
}

#[tokio::test]
async fn the_tools_scps_keep_within_organizations_quotas_and_a_full_account_is_said() {
    let central = Central::new().await;
    let (org, root) = organization(&central).await;
    enable_scps(&org, &root).await;
    let m = org_member(&central, &org).await;
    let (cfg, fleet) = scp_fleet(&central).await;
    let in_member = warden_core::central::in_account(&cfg, &m.id);
    let (port, _) = fleet.members().open(&m.id, &in_member).await.unwrap();
    // The management account, which SCPs do not restrict: refused with that reason.
    let refused = port
        .apply(&Action::DenyPerson {
            account: central.account.id.clone(),
            person: Person::StoreId("9067-mgmt".into()),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("management account"), "{refused}");
    assert!(tool_scps(&org, &central.account.id).await.is_empty());
    // Sixty people with long ids: more than one SCP holds (moto refuses a document over
    // 5,120 characters, as AWS does).
    let people: Vec<Person> = (0..60)
        .map(|i| Person::StoreId(format!("{i:04}-{}", "x".repeat(90))))
        .collect();
    for person in &people {
        port.apply(&Action::DenyPerson {
            account: m.id.clone(),
            person: person.clone(),
        })
        .await
        .unwrap();
    }
    let scps = tool_scps(&org, &m.id).await;
    assert!(scps.len() >= 2, "{}", scps.len());
    assert!(scps.iter().all(|(_, doc)| doc.chars().count() <= SCP_MAX));
    let held: BTreeSet<Person> = scps.iter().flat_map(|(_, d)| people_in(d)).collect();
    assert_eq!(held, people.iter().cloned().collect::<BTreeSet<_>>());
    // Other SCPs take the account's last slots (FullAWSAccess is one): five in all.
    let attached = |n: usize| n + 1 + scps.len();
    let mut others = 0;
    while attached(others) < 5 {
        let id = org
            .create_policy()
            .name(format!("guard-{others}"))
            .description("another team's SCP")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap()
            .policy
            .and_then(|p| p.policy_summary)
            .and_then(|s| s.id)
            .unwrap();
        org.attach_policy()
            .policy_id(id)
            .target_id(&m.id)
            .send()
            .await
            .unwrap();
        others += 1;
    }
    // More people until the tool's SCPs are full: then it is said, never a silent drop.
    let mut refused = None;
    for i in 0..200 {
        let person = Person::StoreId(format!("z{i:04}-{}", "y".repeat(90)));
        match port
            .apply(&Action::DenyPerson {
                account: m.id.clone(),
                person,
            })
            .await
        {
            Ok(_) => {}
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.expect("the account's SCPs fill up");
    assert!(
        matches!(refused, PortError::LimitExceeded { .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("is not denied by an SCP"),
        "{refused}"
    );
    // Through the revoker: the user's action is recorded as failed and notified.
    let body = sso_event(&m, "sso-full", "erin@example.com", Some("9067-ffff")).await;
    let report = decide(&fleet, &[body]).await;
    assert!(
        report.response.batch_item_failures.is_empty(),
        "{:?}",
        report.outcomes
    );
    let notices = central.account.notices(&central.inbox).await;
    assert!(
        notices.iter().any(|n| n["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("9067-ffff")),
        "{notices:?}"
    );
    assert_eq!(
        org.list_policies_for_target()
            .target_id(&m.id)
            .filter(PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap()
            .policies()
            .len(),
        5,
        "never more than Organizations allows"
    );
}
