//! SDK errors, classified into the domain's [`PortError`].

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// AWS's error code and message, on one line a person can act on (the SDK's own display
/// is a debug dump of the whole response, headers and all).
fn one_line<E>(err: &SdkError<E, Response>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => format!("HTTP {}", service.raw().status().as_u16()),
            }
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(d) if d.is_io() => "connection failed".to_owned(),
        other => {
            let full = DisplayErrorContext(other).to_string();
            full.lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect()
        }
    }
}
use aws_smithy_runtime_api::http::Response;
use warden_core::ports::PortError;

/// Error codes AWS services use for throttling and server-side failures.
const TRANSIENT_CODES: &[&str] = &[
    // IAM: another change to the same entity is in progress; it passes.
    "ConcurrentModification",
    // Organizations: another change to the organization's policies is in progress.
    "ConcurrentModificationException",
    "EntityTemporarilyUnmodifiable",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceFailure",
    "InternalFailure",
    "InternalError",
    "KMSThrottlingException",
    "ProvisionedThroughputExceededException",
];

/// Classifies an SDK error after the SDK's own retries: what is still transient is
/// reported as such (the message is retried later, nothing is decided); `NoSuchEntity`
/// and `LimitExceeded` are inputs to decisions; the rest is a failure.
pub fn classify<E>(operation: &'static str, err: SdkError<E, Response>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = one_line(&err);
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Transient { operation, message }
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            match service.err().code() {
                Some("NoSuchEntity")
                | Some("NotFound")
                | Some("AWS.SimpleQueueService.NonExistentQueue")
                | Some("QueueDoesNotExist")
                | Some("ResourceNotFoundException") => {
                    PortError::NoSuchEntity { operation, message }
                }
                Some("LimitExceeded") => PortError::LimitExceeded { operation, message },
                Some(code) if TRANSIENT_CODES.contains(&code) => {
                    PortError::Transient { operation, message }
                }
                _ if status >= 500 || status == 429 => PortError::Transient { operation, message },
                _ => PortError::Failed { operation, message },
            }
        }
        _ => PortError::Failed { operation, message },
    }
}

/// A permanent failure of `operation`, for what is wrong before or after a call.
pub(crate) fn bad(operation: &'static str, message: String) -> PortError {
    PortError::Failed { operation, message }
}

/// Whether a conditional write was refused because its condition did not hold
/// (DynamoDB's `ConditionalCheckFailedException`).
pub(crate) fn is_conditional_failure<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}
