#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The pruner's adapters against SDK-level faults, with aws-smithy-mocks on the real
//! IAM client: FAILED jobs, truncated pages, throttling, the five-version limit; the
//! credential report and users' keys (throttled, 5xx, unreadable, gone).

use std::time::Duration;

use aws_sdk_iam::operation::create_policy_version::CreatePolicyVersionOutput;
use aws_sdk_iam::operation::delete_policy_version::DeletePolicyVersionOutput;
use aws_sdk_iam::operation::generate_service_last_accessed_details::GenerateServiceLastAccessedDetailsOutput;
use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
use aws_sdk_iam::operation::get_service_last_accessed_details::GetServiceLastAccessedDetailsOutput;
use aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput;
use aws_sdk_iam::types::{
    ErrorDetails, JobStatusType, Policy, PolicyVersion, ServiceLastAccessed, Tag,
};
use aws_sdk_iam::Client as Iam;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime;
use warden_aws::AwsAccount;
use warden_core::ports::{AccessAdvisor, PortError, PrunePolicies};
use warden_core::prune::{PolicyDoc, Report};
use warden_core::prune_policy::PRINCIPAL_TAG;

const BOB: &str = "arn:aws:iam::123456789012:user/bob";
const POLICY: &str = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-prune-bob";
const THROTTLING: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>";
const SERVICE_FAILURE: &str = "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>Internal error</Message></Error><RequestId>r</RequestId></ErrorResponse>";
const LIMIT_EXCEEDED: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>A managed policy can have up to 5 versions</Message></Error><RequestId>r</RequestId></ErrorResponse>";

fn partition() -> aws_smithy_runtime::client::retries::RetryPartition {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    aws_smithy_runtime::client::retries::RetryPartition::new(format!("advisor-{n}"))
}

fn retry() -> aws_config::retry::RetryConfig {
    warden_aws::retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn account(rules: &[&Rule]) -> AwsAccount {
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules, |c| c
        .retry_config(retry())
        .time_source(SystemTimeSource::new())
        .retry_partition(partition()));
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::Config::builder()
            .with_test_defaults_v2()
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .with_test_defaults_v2()
            .build(),
    );
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .with_test_defaults_v2()
            .build(),
    );
    AwsAccount::from_clients(iam, sns, sqs, sts, None, None)
}

fn generate() -> Rule {
    mock!(Iam::generate_service_last_accessed_details).then_output(|| {
        GenerateServiceLastAccessedDetailsOutput::builder()
            .job_id("job-1")
            .build()
    })
}

fn services(range: std::ops::Range<usize>) -> Vec<ServiceLastAccessed> {
    range
        .map(|i| {
            ServiceLastAccessed::builder()
                .service_name(format!("S{i}"))
                .service_namespace(format!("s{i}"))
                .build()
                .unwrap()
        })
        .collect()
}

fn page(
    status: JobStatusType,
    items: Vec<ServiceLastAccessed>,
    marker: Option<&str>,
) -> GetServiceLastAccessedDetailsOutput {
    GetServiceLastAccessedDetailsOutput::builder()
        .job_status(status)
        .job_creation_date(DateTime::from_secs(0))
        .job_completion_date(DateTime::from_secs(0))
        .set_services_last_accessed(Some(items))
        .is_truncated(marker.is_some())
        .set_marker(marker.map(str::to_owned))
        .build()
        .unwrap()
}

async fn report(rules: &[&Rule]) -> Report {
    account(rules).report(BOB, Duration::from_secs(5)).await
}

#[tokio::test]
async fn a_failed_job_is_unavailable_not_empty() {
    let get = mock!(Iam::get_service_last_accessed_details).then_output(|| {
        let mut out = page(JobStatusType::Failed, Vec::new(), None);
        out.error = Some(
            ErrorDetails::builder()
                .code("InternalError")
                .message("could not compute")
                .build()
                .unwrap(),
        );
        out
    });
    match report(&[&generate(), &get]).await {
        Report::Unavailable(why) => assert!(
            why.contains("FAILED") && why.contains("could not compute"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_page_is_read_until_is_truncated_is_false() {
    let first = mock!(Iam::get_service_last_accessed_details)
        .match_requests(|r| r.marker().is_none())
        .then_output(|| page(JobStatusType::Completed, services(0..100), Some("m1")));
    let second = mock!(Iam::get_service_last_accessed_details)
        .match_requests(|r| r.marker() == Some("m1"))
        .then_output(|| page(JobStatusType::Completed, services(100..150), None));
    match report(&[&generate(), &first, &second]).await {
        Report::Complete(s) => {
            assert_eq!(s.len(), 150);
            assert_eq!(s[149].namespace, "s149");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_truncated_page_without_a_marker_is_incomplete() {
    let get = mock!(Iam::get_service_last_accessed_details).then_output(|| {
        let mut out = page(JobStatusType::Completed, services(0..100), None);
        out.is_truncated = true;
        out
    });
    match report(&[&generate(), &get]).await {
        Report::Unavailable(why) => assert!(why.contains("truncated"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_job_in_progress_is_polled_until_it_completes() {
    let get = mock!(Iam::get_service_last_accessed_details)
        .sequence()
        .output(|| page(JobStatusType::InProgress, Vec::new(), None))
        .times(2)
        .output(|| page(JobStatusType::Completed, services(0..3), None))
        .build();
    match report(&[&generate(), &get]).await {
        Report::Complete(s) => assert_eq!(s.len(), 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(get.num_calls(), 3);
}

#[tokio::test]
async fn a_job_that_never_completes_times_out() {
    let get = mock!(Iam::get_service_last_accessed_details)
        .then_output(|| page(JobStatusType::InProgress, Vec::new(), None));
    let report = account(&[&generate(), &get])
        .report(BOB, Duration::from_millis(500))
        .await;
    match report {
        Report::Unavailable(why) => assert!(why.contains("IN_PROGRESS"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(
        get.num_calls() >= 2,
        "polled with backoff: {}",
        get.num_calls()
    );
}

#[tokio::test]
async fn throttling_is_retried_and_a_lasting_5xx_is_unavailable() {
    let throttled = mock!(Iam::generate_service_last_accessed_details)
        .sequence()
        .http_status(400, Some(THROTTLING.into()))
        .times(2)
        .output(|| {
            GenerateServiceLastAccessedDetailsOutput::builder()
                .job_id("j")
                .build()
        })
        .build();
    let get = mock!(Iam::get_service_last_accessed_details)
        .then_output(|| page(JobStatusType::Completed, services(0..1), None));
    assert!(matches!(
        report(&[&throttled, &get]).await,
        Report::Complete(_)
    ));
    assert_eq!(throttled.num_calls(), 3);

    let failing = mock!(Iam::get_service_last_accessed_details)
        .sequence()
        .http_status(500, Some(SERVICE_FAILURE.into()))
        .repeatedly()
        .build();
    match report(&[&generate(), &failing]).await {
        Report::Unavailable(why) => assert!(why.contains("transient"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(failing.num_calls(), warden_aws::MAX_ATTEMPTS as usize);
}

fn owned_policy(owner: &str) -> Rule {
    let owner = owner.to_owned();
    mock!(Iam::get_policy).then_output(move || {
        GetPolicyOutput::builder()
            .policy(
                Policy::builder()
                    .arn(POLICY)
                    .tags(
                        Tag::builder()
                            .key(PRINCIPAL_TAG)
                            .value(&owner)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
    })
}

fn doc() -> PolicyDoc {
    PolicyDoc {
        name: "iam-warden-prune-bob".into(),
        arn: POLICY.into(),
        document: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
    }
}

#[tokio::test]
async fn at_five_versions_the_oldest_non_default_is_deleted_never_the_policy() {
    let get = owned_policy(BOB);
    let create = mock!(Iam::create_policy_version)
        .sequence()
        .http_status(409, Some(LIMIT_EXCEEDED.into()))
        .output(|| CreatePolicyVersionOutput::builder().build())
        .build();
    let list = mock!(Iam::list_policy_versions).then_output(|| {
        let v = |id: &str, secs: i64, default: bool| {
            PolicyVersion::builder()
                .version_id(id)
                .create_date(DateTime::from_secs(secs))
                .is_default_version(default)
                .build()
        };
        ListPolicyVersionsOutput::builder()
            .versions(v("v5", 50, true))
            .versions(v("v3", 30, false))
            .versions(v("v1", 10, false))
            .versions(v("v4", 40, false))
            .versions(v("v2", 20, false))
            .build()
    });
    let delete = mock!(Iam::delete_policy_version)
        .match_requests(|r| r.version_id() == Some("v1"))
        .then_output(|| DeletePolicyVersionOutput::builder().build());
    let delete_policy = mock!(Iam::delete_policy).then_output(|| {
        aws_sdk_iam::operation::delete_policy::DeletePolicyOutput::builder().build()
    });
    let a = account(&[&get, &create, &list, &delete, &delete_policy]);
    a.put_policy(&doc(), BOB).await.unwrap();
    assert_eq!(create.num_calls(), 2);
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(delete_policy.num_calls(), 0);
}

#[tokio::test]
async fn a_policy_tagged_for_another_principal_is_not_taken_over() {
    let get = owned_policy("arn:aws:iam::123456789012:role/bob");
    let create = mock!(Iam::create_policy_version)
        .then_output(|| CreatePolicyVersionOutput::builder().build());
    let err = account(&[&get, &create])
        .put_policy(&doc(), BOB)
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("not taken over"), "{err}");
    assert_eq!(create.num_calls(), 0);
}

// ---- The credential report and users' keys (issue 21) ----------------------------------

mod credentials {
    use super::*;
    use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput;
    use aws_sdk_iam::operation::get_access_key_last_used::GetAccessKeyLastUsedOutput;
    use aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput;
    use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
    use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput;
    use aws_sdk_iam::types::{AccessKeyLastUsed, AccessKeyMetadata, ReportStateType, StatusType};
    use warden_core::ports::{CredentialReports, ReportState, UserCredentials};

    const CSV: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\nbob,arn:aws:iam::123456789012:user/bob,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2025-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
    const NO_SUCH_ENTITY: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name bob cannot be found.</Message></Error><RequestId>r</RequestId></ErrorResponse>";

    fn complete() -> Rule {
        mock!(Iam::generate_credential_report).then_output(|| {
            GenerateCredentialReportOutput::builder()
                .state(ReportStateType::Complete)
                .build()
        })
    }

    fn content(csv: &'static str) -> Rule {
        mock!(Iam::get_credential_report).then_output(move || {
            GetCredentialReportOutput::builder()
                .content(aws_smithy_types::Blob::new(csv))
                .build()
        })
    }

    #[tokio::test]
    async fn a_throttled_report_is_retried_and_a_lasting_5xx_is_an_error_never_an_empty_report() {
        let generate = mock!(Iam::generate_credential_report)
            .sequence()
            .http_status(400, Some(THROTTLING.into()))
            .times(2)
            .output(|| {
                GenerateCredentialReportOutput::builder()
                    .state(ReportStateType::Complete)
                    .build()
            })
            .build();
        let get = content(CSV);
        let a = account(&[&generate, &get]);
        let ReportState::Ready(report) = a.credential_report(Duration::ZERO).await.unwrap() else {
            panic!("complete");
        };
        assert_eq!(generate.num_calls(), 3);
        assert_eq!(report.users[0].name, "bob");

        let failing = mock!(Iam::get_credential_report)
            .sequence()
            .http_status(500, Some(SERVICE_FAILURE.into()))
            .repeatedly()
            .build();
        let a = account(&[&complete(), &failing]);
        let err = a.credential_report(Duration::ZERO).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
    }

    #[tokio::test]
    async fn a_report_that_cannot_be_read_is_a_permanent_error_naming_what() {
        let odd = content("user,arn\nbob,arn:aws:iam::123456789012:user/bob\n");
        let a = account(&[&complete(), &odd]);
        let err = a.credential_report(Duration::ZERO).await.unwrap_err();
        assert!(!err.is_transient(), "{err}");
        assert!(err.to_string().contains("user_creation_time"), "{err}");
    }

    #[tokio::test]
    async fn keys_are_read_with_their_last_use_through_throttling() {
        let list = mock!(Iam::list_access_keys).then_output(|| {
            ListAccessKeysOutput::builder()
                .access_key_metadata(
                    AccessKeyMetadata::builder()
                        .access_key_id("AKIABOB1")
                        .status(StatusType::Active)
                        .create_date(DateTime::from_secs(1_700_000_000))
                        .build(),
                )
                .set_is_truncated(Some(false))
                .build()
                .unwrap()
        });
        let used = mock!(Iam::get_access_key_last_used)
            .sequence()
            .http_status(400, Some(THROTTLING.into()))
            .times(1)
            .output(|| {
                GetAccessKeyLastUsedOutput::builder()
                    .access_key_last_used(
                        AccessKeyLastUsed::builder()
                            .last_used_date(DateTime::from_secs(1_710_000_000))
                            .service_name("s3")
                            .region("us-east-1")
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .build();
        let a = account(&[&list, &used]);
        let keys = a.access_keys("bob").await.unwrap().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].id, "AKIABOB1");
        assert!(keys[0].active);
        assert_eq!(
            keys[0].last_used.map(|t| t.timestamp()),
            Some(1_710_000_000)
        );
        assert_eq!(used.num_calls(), 2);

        let gone = mock!(Iam::list_access_keys)
            .sequence()
            .http_status(404, Some(NO_SUCH_ENTITY.into()))
            .build();
        let a = account(&[&gone]);
        assert_eq!(
            a.access_keys("bob").await.unwrap(),
            None,
            "a user deleted since the report"
        );
    }

    #[tokio::test]
    async fn deactivating_is_retried_a_gone_key_is_said_and_a_lasting_5xx_is_an_error() {
        let update = mock!(Iam::update_access_key)
            .sequence()
            .http_status(500, Some(SERVICE_FAILURE.into()))
            .times(1)
            .output(|| UpdateAccessKeyOutput::builder().build())
            .build();
        let a = account(&[&update]);
        assert!(a.set_key_active("bob", "AKIABOB1", false).await.unwrap());
        assert_eq!(update.num_calls(), 2);

        let gone = mock!(Iam::update_access_key)
            .sequence()
            .http_status(404, Some(NO_SUCH_ENTITY.into()))
            .build();
        let a = account(&[&gone]);
        assert!(!a.set_key_active("bob", "AKIABOB1", false).await.unwrap());

        let failing = mock!(Iam::update_access_key)
            .sequence()
            .http_status(500, Some(SERVICE_FAILURE.into()))
            .repeatedly()
            .build();
        let a = account(&[&failing]);
        let err = a
            .set_key_active("bob", "AKIABOB1", false)
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
    }
}
