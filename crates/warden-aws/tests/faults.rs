#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! SDK-level faults on every IAM, SNS and SQS call of the adapters, with aws-smithy-mocks
//! on the real clients: throttling and 5xx are retried, and what still fails is a
//! transient error, never a decision.

use std::time::Duration;

use aws_sdk_iam::Client as Iam;
// The adaptive retry's rate limiter refills with the clock: the mocks' frozen test clock
// would make it wait forever.
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use warden_aws::AwsAccount;
use warden_core::facts::CallerFacts;
use warden_core::notice::Notice;
use warden_core::ports::{DeadLetters, Directory, Enforcer, Notifier, PortError};
use warden_core::principal::{EntityKind, Target};

const THROTTLING: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>";
const SERVICE_FAILURE: &str = "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>Internal error</Message></Error><RequestId>r</RequestId></ErrorResponse>";
const NO_SUCH_ENTITY: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name dev1 cannot be found.</Message></Error><RequestId>r</RequestId></ErrorResponse>";
const LIMIT_EXCEEDED: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>Cannot exceed quota for PoliciesPerUser: 10</Message></Error><RequestId>r</RequestId></ErrorResponse>";
const DENY: &str = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam";
const MAX: usize = warden_aws::MAX_ATTEMPTS as usize;

/// Each client its own retry partition: the default one is shared by every client of a
/// service in the process, and parallel tests would drain its retry token bucket.
fn partition() -> aws_smithy_runtime::client::retries::RetryPartition {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    aws_smithy_runtime::client::retries::RetryPartition::new(format!("faults-{n}"))
}

/// The production retry policy, with a short backoff so the tests stay fast.
fn retry() -> aws_config::retry::RetryConfig {
    warden_aws::retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn account(
    iam: aws_sdk_iam::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
) -> AwsAccount {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .with_test_defaults_v2()
            .build(),
    );
    AwsAccount::from_clients(
        iam,
        sns,
        sqs,
        sts,
        Some("arn:aws:sns:us-east-1:123456789012:iam-warden-notices".into()),
        Some(
            "https://sqs.us-east-1.amazonaws.com/123456789012/iam-warden-dead-letters.fifo".into(),
        ),
    )
}

fn unused_iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .with_test_defaults_v2()
            .build(),
    )
}

fn unused_sns() -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::Config::builder()
            .with_test_defaults_v2()
            .build(),
    )
}

fn unused_sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .with_test_defaults_v2()
            .build(),
    )
}

fn with_iam(iam: aws_sdk_iam::Client) -> AwsAccount {
    account(iam, unused_sns(), unused_sqs())
}

fn config() -> warden_core::config::Config {
    warden_core::testing::config(&[])
}

fn user() -> Target {
    Target {
        kind: EntityKind::User,
        name: "dev1".into(),
        arn: "arn:aws:iam::123456789012:user/dev1".into(),
    }
}

fn role() -> Target {
    Target {
        kind: EntityKind::Role,
        name: "deployer".into(),
        arn: "arn:aws:iam::123456789012:role/deployer".into(),
    }
}

/// For one IAM operation: throttled twice then served is a success after three
/// attempts; a 5xx that never ends is a transient error after every attempt.
macro_rules! iam_faults {
    ($name:ident, $op:path, $output:expr, |$acc:ident| $call:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn throttling_is_retried_until_it_succeeds() {
                let rule = mock!($op)
                    .sequence()
                    .http_status(400, Some(THROTTLING.into()))
                    .times(2)
                    .output($output)
                    .build();
                let $acc = with_iam(mock_client!(
                    aws_sdk_iam,
                    RuleMode::MatchAny,
                    [&rule],
                    |c| c
                        .retry_config(retry())
                        .time_source(SystemTimeSource::new())
                        .retry_partition(partition())
                ));
                let result = $call.await;
                assert!(result.is_ok(), "{result:?}");
                assert_eq!(rule.num_calls(), 3);
            }

            #[tokio::test]
            async fn a_lasting_server_error_is_transient_not_a_decision() {
                let rule = mock!($op)
                    .sequence()
                    .http_status(500, Some(SERVICE_FAILURE.into()))
                    .repeatedly()
                    .build();
                let $acc = with_iam(mock_client!(
                    aws_sdk_iam,
                    RuleMode::MatchAny,
                    [&rule],
                    |c| c
                        .retry_config(retry())
                        .time_source(SystemTimeSource::new())
                        .retry_partition(partition())
                ));
                let err = $call.await.expect_err("a 500 on every attempt");
                assert!(err.is_transient(), "{err}");
                assert_eq!(rule.num_calls(), MAX);
            }
        }
    };
}

iam_faults!(
    remove_user_from_group,
    Iam::remove_user_from_group,
    || aws_sdk_iam::operation::remove_user_from_group::RemoveUserFromGroupOutput::builder().build(),
    |a| warden_core::ports::Actions::apply(
        &a,
        &warden_core::action::Action::RemoveFromGroup {
            group: "Administrators".into(),
            user: "mallory".into()
        }
    )
);
iam_faults!(
    untag_exempt_role,
    Iam::untag_role,
    || aws_sdk_iam::operation::untag_role::UntagRoleOutput::builder().build(),
    |a| warden_core::ports::Actions::apply(
        &a,
        &warden_core::action::Action::Untag {
            kind: EntityKind::Role,
            name: "deployer".into(),
            key: "iam-warden:exempt".into(),
            value: "true".into()
        }
    )
);
iam_faults!(
    get_group,
    Iam::get_group,
    || aws_sdk_iam::operation::get_group::GetGroupOutput::builder()
        .group(
            aws_sdk_iam::types::Group::builder()
                .path("/")
                .group_name("Administrators")
                .group_id("AGPA")
                .arn("arn:aws:iam::123456789012:group/Administrators")
                .create_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        )
        .set_users(Some(vec![]))
        .build()
        .unwrap(),
    |a| warden_core::ports::Actions::group_members(&a, "Administrators")
);

#[tokio::test]
async fn an_undo_of_what_no_longer_exists_is_gone_not_an_error() {
    let rule = mock!(Iam::remove_user_from_group)
        .sequence()
        .http_status(404, Some(NO_SUCH_ENTITY.into()))
        .build();
    let a = with_iam(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&rule],
        |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())
    ));
    let done = warden_core::ports::Actions::apply(
        &a,
        &warden_core::action::Action::RemoveFromGroup {
            group: "Administrators".into(),
            user: "gone".into(),
        },
    )
    .await;
    assert_eq!(done, Ok(warden_core::ports::Applied::Gone));
    assert_eq!(rule.num_calls(), 1);
}

iam_faults!(
    list_users,
    Iam::list_users,
    || aws_sdk_iam::operation::list_users::ListUsersOutput::builder()
        .users(sample_user(vec![]))
        .build()
        .unwrap(),
    |a| warden_core::ports::Directory::find_by_id(&a, EntityKind::User, "AIDADEV1")
);
iam_faults!(
    get_user_policy_for_the_quarantine,
    Iam::get_user_policy,
    || aws_sdk_iam::operation::get_user_policy::GetUserPolicyOutput::builder()
        .user_name("dev1")
        .policy_name("iam-warden-quarantine")
        .policy_document("%7B%22Version%22%3A%222012-10-17%22%7D")
        .build()
        .unwrap(),
    |a| a.inline_document(&user(), "iam-warden-quarantine")
);
iam_faults!(
    get_role_policy_for_the_quarantine,
    Iam::get_role_policy,
    || aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput::builder()
        .role_name("deployer")
        .policy_name("iam-warden-quarantine")
        .policy_document("%7B%22Version%22%3A%222012-10-17%22%7D")
        .build()
        .unwrap(),
    |a| a.inline_document(&role(), "iam-warden-quarantine")
);
iam_faults!(
    get_role_for_boundary,
    Iam::get_role,
    || aws_sdk_iam::operation::get_role::GetRoleOutput::builder().build(),
    |a| a.deny_present(
        &role(),
        warden_core::revocation::Method::Boundary,
        &config()
    )
);
iam_faults!(
    put_user_permissions_boundary,
    Iam::put_user_permissions_boundary,
    || {
        aws_sdk_iam::operation::put_user_permissions_boundary::PutUserPermissionsBoundaryOutput::builder().build()
    },
    |a| a.set_boundary(
        &user(),
        Some("arn:aws:iam::123456789012:policy/iam-warden/iam-warden-boundary-user-dev1")
    )
);
iam_faults!(
    put_role_permissions_boundary,
    Iam::put_role_permissions_boundary,
    || {
        aws_sdk_iam::operation::put_role_permissions_boundary::PutRolePermissionsBoundaryOutput::builder().build()
    },
    |a| a.set_boundary(
        &role(),
        Some("arn:aws:iam::123456789012:policy/iam-warden/iam-warden-boundary-role-deployer")
    )
);
iam_faults!(
    create_boundary_policy,
    Iam::create_policy,
    || aws_sdk_iam::operation::create_policy::CreatePolicyOutput::builder()
        .policy(
            aws_sdk_iam::types::Policy::builder()
                .arn("arn:aws:iam::123456789012:policy/iam-warden/iam-warden-boundary-user-dev1")
                .build()
        )
        .build(),
    |a| warden_core::ports::ToolPolicies::put_boundary_policy(
        &a,
        "iam-warden-boundary-user-dev1",
        "{}"
    )
);
iam_faults!(
    get_policy_for_verification,
    Iam::get_policy,
    || aws_sdk_iam::operation::get_policy::GetPolicyOutput::builder()
        .policy(aws_sdk_iam::types::Policy::builder().arn(DENY).build())
        .build(),
    |a| warden_core::ports::ToolPolicies::policy_document(&a, DENY)
);

iam_faults!(
    tag_user,
    Iam::tag_user,
    || aws_sdk_iam::operation::tag_user::TagUserOutput::builder().build(),
    |a| a.tag(&user(), &[("iam-warden:event-id", "e1".to_owned())])
);
iam_faults!(
    tag_role,
    Iam::tag_role,
    || aws_sdk_iam::operation::tag_role::TagRoleOutput::builder().build(),
    |a| a.tag(&role(), &[("iam-warden:event-id", "e1".to_owned())])
);
iam_faults!(
    untag_user,
    Iam::untag_user,
    || aws_sdk_iam::operation::untag_user::UntagUserOutput::builder().build(),
    |a| a.untag(&user(), &["iam-warden:event-id"])
);
iam_faults!(
    untag_role,
    Iam::untag_role,
    || aws_sdk_iam::operation::untag_role::UntagRoleOutput::builder().build(),
    |a| a.untag(&role(), &["iam-warden:event-id"])
);
iam_faults!(
    attach_user_policy,
    Iam::attach_user_policy,
    || aws_sdk_iam::operation::attach_user_policy::AttachUserPolicyOutput::builder().build(),
    |a| a.attach_policy(&user(), DENY)
);
iam_faults!(
    attach_role_policy,
    Iam::attach_role_policy,
    || aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput::builder().build(),
    |a| a.attach_policy(&role(), DENY)
);
iam_faults!(
    detach_user_policy,
    Iam::detach_user_policy,
    || aws_sdk_iam::operation::detach_user_policy::DetachUserPolicyOutput::builder().build(),
    |a| a.detach_policy(&user(), DENY)
);
iam_faults!(
    detach_role_policy,
    Iam::detach_role_policy,
    || aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput::builder().build(),
    |a| a.detach_policy(&role(), DENY)
);
iam_faults!(
    put_user_policy,
    Iam::put_user_policy,
    || aws_sdk_iam::operation::put_user_policy::PutUserPolicyOutput::builder().build(),
    |a| a.put_inline_policy(&user(), "iam-warden-deny-iam", "{}")
);
iam_faults!(
    put_role_policy,
    Iam::put_role_policy,
    || aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput::builder().build(),
    |a| a.put_inline_policy(&role(), "iam-warden-deny-iam", "{}")
);
iam_faults!(
    delete_user_policy,
    Iam::delete_user_policy,
    || aws_sdk_iam::operation::delete_user_policy::DeleteUserPolicyOutput::builder().build(),
    |a| a.delete_inline_policy(&user(), "iam-warden-deny-iam")
);
iam_faults!(
    delete_role_policy,
    Iam::delete_role_policy,
    || aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput::builder().build(),
    |a| a.delete_inline_policy(&role(), "iam-warden-deny-iam")
);

/// A rule for one read: served (`None`), failing twice then served (`then_ok`), or
/// failing on every attempt.
macro_rules! read_rule {
    ($failure:expr, $op:path, $out:expr) => {{
        match $failure {
            None => mock!($op).then_output($out),
            Some((status, body, true)) => mock!($op)
                .sequence()
                .http_status(status, Some(body.to_owned()))
                .times(2)
                .output($out)
                .build(),
            Some((status, body, false)) => mock!($op)
                .sequence()
                .http_status(status, Some(body.to_owned()))
                .repeatedly()
                .build(),
        }
    }};
}

/// The tag of a revocation recorded on the principal.
fn revoked_at() -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key("iam-warden:revoked-at")
        .value("2026-11-20T09:15:01Z")
        .build()
        .unwrap()
}

/// GetUser's answer for dev1.
fn sample_user(tags: Vec<aws_sdk_iam::types::Tag>) -> aws_sdk_iam::types::User {
    aws_sdk_iam::types::User::builder()
        .path("/")
        .user_name("dev1")
        .user_id("AIDADEV1")
        .arn("arn:aws:iam::123456789012:user/dev1")
        .create_date(aws_smithy_types::DateTime::from_secs(0))
        .set_tags(Some(tags))
        .build()
        .unwrap()
}

/// A rule for read `index` of a user's facts: `status` twice then served (`then_ok`),
/// or `status` on every attempt.
fn user_read(index: usize, failure: Option<(u16, &str, bool)>) -> Rule {
    use aws_sdk_iam::operation::*;
    match index {
        0 => read_rule!(failure, Iam::list_groups_for_user, || {
            list_groups_for_user::ListGroupsForUserOutput::builder()
                .set_groups(Some(vec![]))
                .build()
                .unwrap()
        }),
        // A revocation record: the attached and inline policies are read too.
        1 => read_rule!(failure, Iam::get_user, || {
            get_user::GetUserOutput::builder()
                .user(sample_user(vec![revoked_at()]))
                .build()
        }),
        2 => read_rule!(failure, Iam::list_attached_user_policies, || {
            list_attached_user_policies::ListAttachedUserPoliciesOutput::builder().build()
        }),
        _ => read_rule!(failure, Iam::list_user_policies, || {
            list_user_policies::ListUserPoliciesOutput::builder()
                .set_policy_names(Some(vec![]))
                .build()
                .unwrap()
        }),
    }
}

/// The four reads of a user's facts, read `index` failing as told.
fn facts_rules(index: usize, failure: (u16, &str, bool)) -> Vec<Rule> {
    (0..4)
        .map(|i| user_read(i, (i == index).then_some(failure)))
        .collect()
}

#[tokio::test]
async fn invariant_2_each_read_behind_the_facts_is_retried_on_throttling() {
    for index in 0..4 {
        let rules = facts_rules(index, (400, THROTTLING, true));
        let a = with_iam(mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules, |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())));
        let facts = a.facts(&user()).await;
        assert!(
            matches!(facts, Ok(CallerFacts::Found(_))),
            "read {index}: {facts:?}"
        );
        assert_eq!(rules[index].num_calls(), 3, "read {index}");
    }
}

#[tokio::test]
async fn invariant_2_unknown_membership_is_an_error_never_not_an_admin() {
    for index in 0..4 {
        let rules = facts_rules(index, (503, SERVICE_FAILURE, false));
        let a = with_iam(mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules, |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())));
        match a.facts(&user()).await {
            Err(e) => assert!(e.is_transient(), "read {index}: {e}"),
            Ok(f) => panic!("read {index}: a failed read became facts: {f:?}"),
        }
        assert_eq!(rules[index].num_calls(), MAX, "read {index}");
    }
}

#[tokio::test]
async fn without_a_revocation_record_only_groups_and_tags_are_read() {
    use aws_sdk_iam::operation::*;
    let groups = user_read(0, None);
    let tags = mock!(Iam::get_user).then_output(|| {
        get_user::GetUserOutput::builder()
            .user(sample_user(vec![]))
            .build()
    });
    let (attached, inline) = (user_read(2, None), user_read(3, None));
    let a = with_iam(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&groups, &tags, &attached, &inline],
        |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())
    ));
    assert!(matches!(a.facts(&user()).await, Ok(CallerFacts::Found(_))));
    assert_eq!((groups.num_calls(), tags.num_calls()), (1, 1));
    assert_eq!((attached.num_calls(), inline.num_calls()), (0, 0));
}

#[tokio::test]
async fn a_deleted_principal_is_gone_at_once_not_retried() {
    let rules = facts_rules(0, (404, NO_SUCH_ENTITY, false));
    let a = with_iam(mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules, |c| c
        .retry_config(retry())
        .time_source(SystemTimeSource::new())
        .retry_partition(partition())));
    assert_eq!(a.facts(&user()).await.unwrap(), CallerFacts::Gone);
    assert_eq!(rules[0].num_calls(), 1);
}

fn http_response(status: u16, body: &'static str) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
        aws_smithy_types::body::SdkBody::from(body),
    )
}

#[tokio::test]
async fn the_attach_quota_is_limit_exceeded_and_detaching_nothing_is_not_an_error() {
    let attach =
        mock!(Iam::attach_user_policy).then_http_response(|| http_response(409, LIMIT_EXCEEDED));
    let a = with_iam(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&attach],
        |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())
    ));
    assert!(matches!(
        a.attach_policy(&user(), DENY).await,
        Err(PortError::LimitExceeded { .. })
    ));
    assert_eq!(attach.num_calls(), 1);

    let detach =
        mock!(Iam::detach_user_policy).then_http_response(|| http_response(404, NO_SUCH_ENTITY));
    let a = with_iam(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&detach],
        |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())
    ));
    assert_eq!(a.detach_policy(&user(), DENY).await, Ok(false));
}

fn notice() -> Notice {
    Notice {
        subject: "[iam-warden] test".into(),
        body: "body".into(),
        attributes: [("decision".to_owned(), "revoked".to_owned())].into(),
    }
}

#[tokio::test]
async fn sns_publish_is_retried_on_throttling_and_transient_on_lasting_5xx() {
    let ok = || {
        aws_sdk_sns::operation::publish::PublishOutput::builder()
            .message_id("m")
            .build()
    };
    let rule = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            r.subject() == Some("[iam-warden] test")
                && r.message_attributes()
                    .is_some_and(|a| a.contains_key("decision"))
        })
        .sequence()
        .http_status(400, Some(THROTTLING.into()))
        .times(2)
        .output(ok)
        .build();
    let a = account(
        unused_iam(),
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())),
        unused_sqs(),
    );
    assert!(a.publish(&notice()).await.is_ok());
    assert_eq!(rule.num_calls(), 3);

    let rule = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .http_status(500, Some(SERVICE_FAILURE.into()))
        .repeatedly()
        .build();
    let a = account(
        unused_iam(),
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())),
        unused_sqs(),
    );
    assert!(a.publish(&notice()).await.unwrap_err().is_transient());
    assert_eq!(rule.num_calls(), MAX);
}

#[tokio::test]
async fn sqs_dead_letter_send_is_retried_and_transient_on_lasting_5xx() {
    let ok = || {
        aws_sdk_sqs::operation::send_message::SendMessageOutput::builder()
            .message_id("m")
            .build()
    };
    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .match_requests(|r| {
            r.message_group_id().is_some()
                && r.message_attributes()
                    .is_some_and(|a| a.contains_key("reason"))
        })
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(ok)
        .build();
    let a = account(
        unused_iam(),
        unused_sns(),
        mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())),
    );
    assert!(a.send("garbage", "not valid JSON", "m1").await.is_ok());
    assert_eq!(rule.num_calls(), 3);

    let rule = mock!(aws_sdk_sqs::Client::send_message)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let a = account(
        unused_iam(),
        unused_sns(),
        mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())),
    );
    assert!(a
        .send("garbage", "not valid JSON", "m1")
        .await
        .unwrap_err()
        .is_transient());
}

/// A rule for read `index` of a role's facts, failing as [`user_read`] does.
fn role_read(index: usize, failure: Option<(u16, &str, bool)>) -> Rule {
    use aws_sdk_iam::operation::*;
    match index {
        // A revocation record: the attached and inline policies are read too.
        0 => read_rule!(failure, Iam::get_role, || {
            get_role::GetRoleOutput::builder()
                .role(
                    aws_sdk_iam::types::Role::builder()
                        .path("/")
                        .role_name("deployer")
                        .role_id("AROADEPLOYER")
                        .arn("arn:aws:iam::123456789012:role/deployer")
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .tags(revoked_at())
                        .build()
                        .unwrap(),
                )
                .build()
        }),
        1 => read_rule!(failure, Iam::list_attached_role_policies, || {
            list_attached_role_policies::ListAttachedRolePoliciesOutput::builder().build()
        }),
        _ => read_rule!(failure, Iam::list_role_policies, || {
            list_role_policies::ListRolePoliciesOutput::builder()
                .set_policy_names(Some(vec![]))
                .build()
                .unwrap()
        }),
    }
}

#[tokio::test]
async fn each_read_behind_a_roles_facts_is_retried_and_a_lasting_failure_is_transient() {
    for index in 0..3 {
        let rules: Vec<Rule> = (0..3)
            .map(|i| role_read(i, (i == index).then_some((400, THROTTLING, true))))
            .collect();
        let a = with_iam(mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules, |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())));
        assert!(
            matches!(a.facts(&role()).await, Ok(CallerFacts::Found(_))),
            "read {index}"
        );
        assert_eq!(rules[index].num_calls(), 3, "read {index}");

        let rules: Vec<Rule> = (0..3)
            .map(|i| role_read(i, (i == index).then_some((500, SERVICE_FAILURE, false))))
            .collect();
        let a = with_iam(mock_client!(aws_sdk_iam, RuleMode::MatchAny, &rules, |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())));
        assert!(
            a.facts(&role()).await.unwrap_err().is_transient(),
            "read {index}"
        );
    }
}

/// Invariant 6 and 2 at start-up: a group that does not exist stops the function naming
/// ADMIN_GROUP_NAME; a group that cannot be read right now is a transient failure, never
/// taken for a missing group (nor for an empty one).
#[tokio::test]
async fn start_up_tells_a_missing_admin_group_from_a_failing_read() {
    let config = warden_core::testing::config(&[]);
    let sts = || {
        let identity = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account("123456789012")
                .arn("arn:aws:sts::123456789012:assumed-role/iam-warden-revoker/fn")
                .build()
        });
        let client = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&identity]);
        (identity, client)
    };
    // The other start-up reads, which run at the same time, succeed.
    let policy = mock!(Iam::get_policy)
        .then_output(|| aws_sdk_iam::operation::get_policy::GetPolicyOutput::builder().build());
    let summary = mock!(Iam::get_account_summary).then_output(|| {
        aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput::builder()
            .summary_map(
                aws_sdk_iam::types::SummaryKeyType::AttachedPoliciesPerUserQuota,
                10,
            )
            .summary_map(
                aws_sdk_iam::types::SummaryKeyType::AttachedPoliciesPerRoleQuota,
                10,
            )
            .build()
    });
    let build = |group: &Rule| {
        let (_identity, sts) = sts();
        AwsAccount::from_clients(
            mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                [group, &policy, &summary],
                |c| c
                    .retry_config(retry())
                    .time_source(SystemTimeSource::new())
                    .retry_partition(partition())
            ),
            unused_sns(),
            unused_sqs(),
            sts,
            None,
            None,
        )
    };

    let missing = mock!(Iam::get_group).then_http_response(|| http_response(404, NO_SUCH_ENTITY));
    let err = build(&missing).discover(&config).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ADMIN_GROUP_NAME=`Administrators`"),
        "{err}"
    );

    let failing = mock!(Iam::get_group)
        .sequence()
        .http_status(500, Some(SERVICE_FAILURE.into()))
        .repeatedly()
        .build();
    let err = build(&failing).discover(&config).await.unwrap_err();
    assert!(
        matches!(&err, warden_aws::StartupError::Aws(e) if e.is_transient()),
        "{err}"
    );
    assert_eq!(failing.num_calls(), MAX);
}

// --- Containment: every call that contains or puts back ------------------------------

/// A containment action of the revoker, applied through the port.
async fn apply(
    a: &AwsAccount,
    action: warden_core::action::Action,
) -> Result<warden_core::ports::Applied, PortError> {
    warden_core::ports::Actions::apply(a, &action).await
}

use warden_core::action::{Action, Credential, Holder};

const Q: &str = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-quarantine";
const ADMIN: &str = "arn:aws:iam::123456789012:policy/AdminLike";

fn detach(holder: Holder) -> Action {
    Action::DetachPolicy {
        holder,
        name: "backdoor".into(),
        policy_arn: ADMIN.into(),
    }
}

fn delete_inline(holder: Holder) -> Action {
    Action::DeleteInlinePolicy {
        holder,
        name: "app".into(),
        policy_name: "all".into(),
        document: "{}".into(),
    }
}

fn deactivate(credential: Credential) -> Action {
    Action::SetCredential {
        user: "backdoor".into(),
        credential,
        active: false,
    }
}

iam_faults!(
    contain_quarantine_user,
    Iam::attach_user_policy,
    || aws_sdk_iam::operation::attach_user_policy::AttachUserPolicyOutput::builder().build(),
    |a| apply(
        &a,
        Action::AttachPolicy {
            holder: Holder::User,
            name: "backdoor".into(),
            policy_arn: Q.into()
        }
    )
);
iam_faults!(
    contain_quarantine_role,
    Iam::attach_role_policy,
    || aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput::builder().build(),
    |a| apply(
        &a,
        Action::AttachPolicy {
            holder: Holder::Role,
            name: "app".into(),
            policy_arn: Q.into()
        }
    )
);
iam_faults!(
    contain_detach_user_policy,
    Iam::detach_user_policy,
    || aws_sdk_iam::operation::detach_user_policy::DetachUserPolicyOutput::builder().build(),
    |a| apply(&a, detach(Holder::User))
);
iam_faults!(
    contain_detach_role_policy,
    Iam::detach_role_policy,
    || aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput::builder().build(),
    |a| apply(&a, detach(Holder::Role))
);
iam_faults!(
    contain_detach_group_policy,
    Iam::detach_group_policy,
    || aws_sdk_iam::operation::detach_group_policy::DetachGroupPolicyOutput::builder().build(),
    |a| apply(&a, detach(Holder::Group))
);
iam_faults!(
    contain_delete_user_policy,
    Iam::delete_user_policy,
    || aws_sdk_iam::operation::delete_user_policy::DeleteUserPolicyOutput::builder().build(),
    |a| apply(&a, delete_inline(Holder::User))
);
iam_faults!(
    contain_delete_role_policy,
    Iam::delete_role_policy,
    || aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput::builder().build(),
    |a| apply(&a, delete_inline(Holder::Role))
);
iam_faults!(
    contain_delete_group_policy,
    Iam::delete_group_policy,
    || aws_sdk_iam::operation::delete_group_policy::DeleteGroupPolicyOutput::builder().build(),
    |a| apply(&a, delete_inline(Holder::Group))
);
iam_faults!(
    contain_revoke_sessions,
    Iam::put_role_policy,
    || aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput::builder().build(),
    |a| apply(
        &a,
        warden_core::containment::revoke_sessions("app", chrono::Utc::now())
    )
);
iam_faults!(
    contain_inline_quarantine,
    Iam::put_user_policy,
    || aws_sdk_iam::operation::put_user_policy::PutUserPolicyOutput::builder().build(),
    |a| apply(
        &a,
        warden_core::containment::quarantine_inline(Holder::User, "backdoor")
    )
);
iam_faults!(
    contain_update_access_key,
    Iam::update_access_key,
    || aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput::builder().build(),
    |a| apply(&a, deactivate(Credential::AccessKey("AKIAX".into())))
);
iam_faults!(
    contain_update_service_specific_credential,
    Iam::update_service_specific_credential,
    || {
        aws_sdk_iam::operation::update_service_specific_credential::UpdateServiceSpecificCredentialOutput::builder().build()
    },
    |a| apply(&a, deactivate(Credential::ServiceSpecific("ACCAX".into())))
);
iam_faults!(
    contain_update_ssh_public_key,
    Iam::update_ssh_public_key,
    || aws_sdk_iam::operation::update_ssh_public_key::UpdateSshPublicKeyOutput::builder().build(),
    |a| apply(&a, deactivate(Credential::SshPublicKey("APKAX".into())))
);
iam_faults!(
    contain_update_signing_certificate,
    Iam::update_signing_certificate,
    || aws_sdk_iam::operation::update_signing_certificate::UpdateSigningCertificateOutput::builder(
    )
    .build(),
    |a| apply(
        &a,
        deactivate(Credential::SigningCertificate("CERTX".into()))
    )
);
iam_faults!(
    contain_deactivate_mfa_device,
    Iam::deactivate_mfa_device,
    || aws_sdk_iam::operation::deactivate_mfa_device::DeactivateMfaDeviceOutput::builder().build(),
    |a| apply(
        &a,
        deactivate(Credential::MfaDevice(
            "arn:aws:iam::123456789012:mfa/x".into()
        ))
    )
);
iam_faults!(
    contain_delete_login_profile,
    Iam::delete_login_profile,
    || aws_sdk_iam::operation::delete_login_profile::DeleteLoginProfileOutput::builder().build(),
    |a| apply(
        &a,
        Action::DeleteLoginProfile {
            user: "backdoor".into()
        }
    )
);
iam_faults!(
    contain_set_default_policy_version,
    Iam::set_default_policy_version,
    || aws_sdk_iam::operation::set_default_policy_version::SetDefaultPolicyVersionOutput::builder()
        .build(),
    |a| apply(
        &a,
        Action::SetDefaultVersion {
            policy_arn: ADMIN.into(),
            version: "v1".into(),
            replacing: "v2".into()
        }
    )
);
iam_faults!(
    contain_list_policy_versions,
    Iam::list_policy_versions,
    || aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput::builder()
        .versions(
            aws_sdk_iam::types::PolicyVersion::builder()
                .version_id("v1")
                .is_default_version(true)
                .build()
        )
        .build(),
    |a| warden_core::ports::Actions::policy_versions(&a, ADMIN)
);
iam_faults!(
    contain_restore_login_profile,
    Iam::create_login_profile,
    || aws_sdk_iam::operation::create_login_profile::CreateLoginProfileOutput::builder()
        .login_profile(
            aws_sdk_iam::types::LoginProfile::builder()
                .user_name("backdoor")
                .create_date(aws_smithy_types::DateTime::from_secs(0))
                .password_reset_required(true)
                .build()
                .unwrap()
        )
        .build(),
    |a| apply(
        &a,
        Action::CreateLoginProfile {
            user: "backdoor".into()
        }
    )
);
iam_faults!(
    contain_restore_group_policy,
    Iam::attach_group_policy,
    || aws_sdk_iam::operation::attach_group_policy::AttachGroupPolicyOutput::builder().build(),
    |a| apply(&a, detach(Holder::Group).undo())
);

#[tokio::test]
async fn a_containment_at_the_quota_is_a_limit_the_service_falls_back_on() {
    let rule = mock!(Iam::attach_user_policy)
        .sequence()
        .http_status(409, Some(LIMIT_EXCEEDED.into()))
        .build();
    let a = with_iam(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&rule],
        |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())
    ));
    let err = apply(
        &a,
        Action::AttachPolicy {
            holder: Holder::User,
            name: "backdoor".into(),
            policy_arn: Q.into(),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PortError::LimitExceeded { .. }), "{err}");
    assert_eq!(rule.num_calls(), 1, "a quota is not retried");
}

#[tokio::test]
async fn a_policy_that_no_longer_exists_has_no_versions() {
    let rule = mock!(Iam::list_policy_versions)
        .sequence()
        .http_status(404, Some(NO_SUCH_ENTITY.into()))
        .build();
    let a = with_iam(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&rule],
        |c| c
            .retry_config(retry())
            .time_source(SystemTimeSource::new())
            .retry_partition(partition())
    ));
    let versions = warden_core::ports::Actions::policy_versions(&a, ADMIN).await;
    assert_eq!(versions, Ok(None));
}

fn boundary(boundary: Option<&str>) -> Action {
    Action::SetBoundary {
        holder: Holder::User,
        name: "backdoor".into(),
        boundary: boundary.map(str::to_owned),
        replacing: None,
    }
}

iam_faults!(
    contain_quarantine_as_boundary,
    Iam::put_user_permissions_boundary,
    || {
        aws_sdk_iam::operation::put_user_permissions_boundary::PutUserPermissionsBoundaryOutput::builder().build()
    },
    |a| apply(&a, boundary(Some(Q)))
);
iam_faults!(
    contain_restore_no_boundary,
    Iam::delete_user_permissions_boundary,
    || {
        aws_sdk_iam::operation::delete_user_permissions_boundary::DeleteUserPermissionsBoundaryOutput::builder().build()
    },
    |a| apply(&a, boundary(None))
);
iam_faults!(
    contain_tool_trust,
    Iam::update_assume_role_policy,
    || aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyOutput::builder()
        .build(),
    |a| apply(
        &a,
        Action::SetTrustPolicy {
            role: "iam-warden-revoker".into(),
            document: warden_core::containment::tool_trust_policy("123456789012"),
            replacing: "{}".into()
        }
    )
);
iam_faults!(
    contain_rename_back,
    Iam::update_user,
    || aws_sdk_iam::operation::update_user::UpdateUserOutput::builder().build(),
    |a| apply(
        &a,
        Action::Rename {
            holder: Holder::User,
            from: "svc-backup".into(),
            to: "backdoor".into()
        }
    )
);
iam_faults!(
    contain_rename_group_back,
    Iam::update_group,
    || aws_sdk_iam::operation::update_group::UpdateGroupOutput::builder().build(),
    |a| apply(
        &a,
        Action::Rename {
            holder: Holder::Group,
            from: "ops".into(),
            to: "devs".into()
        }
    )
);

/// An inline policy's document comes back decoded (IAM sends it URL-encoded); a policy
/// or principal that does not exist is `None`, never an error.
#[tokio::test]
async fn an_inline_document_is_decoded_and_a_missing_one_is_none() {
    let found = mock!(Iam::get_user_policy)
        .match_requests(|r| r.policy_name() == Some("iam-warden-quarantine"))
        .then_output(|| {
            aws_sdk_iam::operation::get_user_policy::GetUserPolicyOutput::builder()
                .user_name("dev1")
                .policy_name("iam-warden-quarantine")
                .policy_document("%7B%22Version%22%3A%20%222012-10-17%22%7D")
                .build()
                .unwrap()
        });
    let missing = mock!(Iam::get_user_policy)
        .match_requests(|r| r.policy_name() == Some("other"))
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
                aws_smithy_types::body::SdkBody::from(NO_SUCH_ENTITY),
            )
        });
    let a = with_iam(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&found, &missing]
    ));
    assert_eq!(
        a.inline_document(&user(), "iam-warden-quarantine").await,
        Ok(Some(r#"{"Version": "2012-10-17"}"#.to_owned()))
    );
    assert_eq!(a.inline_document(&user(), "other").await, Ok(None));
}
