//! SDK errors, classified into the domain's [`PortError`].

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;
use warden_core::ports::PortError;

/// Error codes AWS services use for throttling and server-side failures.
const TRANSIENT_CODES: &[&str] = &[
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
    let message = DisplayErrorContext(&err).to_string();
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
