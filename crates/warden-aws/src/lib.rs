//! warden-core's ports over the AWS SDK: every AWS call of iam-warden is in this crate.

mod actions;
mod assess;
mod canary;
mod chat;
mod credentials;
mod enforcer;
mod error;
mod iam;
mod ledger;
mod members;
mod notify;
mod prune;
mod queue;
mod records;
mod revocation;
mod runs;
mod scp;
mod security_hub;
mod startup;
mod trail;
mod trust;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

pub use aws_config::SdkConfig;
pub use error::classify;
pub use members::AwsMembers;
pub use queue::QueuedMessage;
use startup::discover;
pub use startup::StartupError;

/// The SDK configuration of the pruner and the CLI: the standard AWS environment
/// (credentials, profiles, `AWS_ENDPOINT_URL`), us-east-1 unless told otherwise (IAM
/// is global and its events reach EventBridge there), adaptive retries for IAM's
/// throttling (a batch job that should leave the account's IAM rate to others), and
/// timeouts so that a stuck call becomes a retry, not a hang.
pub async fn load_sdk_config() -> SdkConfig {
    sdk_config(retry_config(), timeout_config()).await
}

/// The revoker's SDK configuration: as [`load_sdk_config`], but standard retries with a
/// bounded backoff ([`revoker_retry_config`]) and a shorter attempt.
pub async fn load_revoker_sdk_config() -> SdkConfig {
    sdk_config(revoker_retry_config(), revoker_timeout_config()).await
}

async fn sdk_config(retry: RetryConfig, timeout: TimeoutConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(
            aws_config::meta::region::RegionProviderChain::default_provider()
                .or_else(Region::new("us-east-1")),
        )
        .retry_config(retry)
        .timeout_config(timeout)
        .load()
        .await
}

/// How long one attempt and one operation may take: a stuck call becomes a retry, not a
/// hang (a long poll adds its wait to both: `receive`).
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// See [`timeout_config`].
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`timeout_config`].
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(45);

/// Adaptive retries (client-side rate limiting once IAM throttles), six attempts: a
/// call still failing after that is reported as transient and the message retried.
pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS)
}

/// The revoker's retries: standard (exponential backoff with full jitter), six attempts,
/// no wait longer than [`REVOKER_MAX_BACKOFF`]. Not adaptive: its client-side rate
/// limiter, once IAM throttles, holds every later call of the process, and IAM's rate is
/// the account's, which the caller being revoked can use up on purpose. Measured through
/// the fault proxy at 10 % faults (`tests/it/faults.rs`): 65 events drained in 200 s
/// adaptive (5 messages failed for a retry), 36 s standard (none).
pub fn revoker_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_max_backoff(REVOKER_MAX_BACKOFF)
}

/// The longest wait between two attempts of a revoker's call: six attempts wait at most
/// 1 + 2 + 2 + 2 + 2 s, so that a failing call fails within the batch's minute.
pub const REVOKER_MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The revoker's timeouts: an attempt of 5 s (IAM, DynamoDB, SNS and SQS answer within
/// a second; a slower answer is retried), an operation of 20 s.
pub fn revoker_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(20))
        .build()
}

/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 6;

/// The AWS clients behind the ports, built once per process.
#[derive(Clone, Debug)]
pub struct AwsAccount {
    iam: aws_sdk_iam::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    sts: aws_sdk_sts::Client,
    topic_arn: Option<String>,
    dead_letter_queue_url: Option<String>,
    dynamodb: Option<aws_sdk_dynamodb::Client>,
    ledger_table: Option<String>,
    work_queue_url: Option<String>,
    slack: Option<Slack>,
    cloudtrail: Option<aws_sdk_cloudtrail::Client>,
    deferral_queue_url: Option<String>,
    /// Metrics as CloudWatch embedded-metric lines on stdout (in Lambda, whose log group
    /// turns them into metrics); elsewhere they are logged.
    metrics_on_stdout: bool,
    /// Central mode: the canary's metric is also put per account (`Account` dimension).
    metrics_per_account: bool,
    /// CloudWatch, where central mode's per-account canary alarms are kept.
    cloudwatch: Option<aws_sdk_cloudwatch::Client>,
    /// AWS Security Hub, where the assessment's findings go (`warden assess
    /// --security-hub`, SECURITY_HUB=true).
    securityhub: Option<aws_sdk_securityhub::Client>,
    /// AWS Organizations, with the central account's credentials (SESSION_SCP=on): kept
    /// as it is in a member's ports.
    organizations: Option<aws_sdk_organizations::Client>,
    /// The organization's management account, read once (DescribeOrganization) and
    /// shared with every member's ports.
    management_account: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

/// The Slack webhook's secret, and its URL once read.
#[derive(Clone, Debug)]
struct Slack {
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    url: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

impl AwsAccount {
    pub fn new(
        sdk: &SdkConfig,
        topic_arn: Option<String>,
        dead_letter_queue_url: Option<String>,
    ) -> Self {
        Self::from_clients(
            aws_sdk_iam::Client::new(sdk),
            aws_sdk_sns::Client::new(sdk),
            aws_sdk_sqs::Client::new(sdk),
            aws_sdk_sts::Client::new(sdk),
            topic_arn,
            dead_letter_queue_url,
        )
        .with_trail(aws_sdk_cloudtrail::Client::new(sdk))
    }

    /// The revoker's ports: [`Self::new`] with the ledger table (trust and action
    /// records) and the deferral queue.
    pub fn for_revoker(sdk: &SdkConfig, config: &warden_core::config::Config) -> Self {
        Self::new(
            sdk,
            config.topic_arn.clone(),
            config.dead_letter_queue_url.clone(),
        )
        .with_ledger(aws_sdk_dynamodb::Client::new(sdk), &config.ledger_table)
        .with_deferrals(config.deferral_queue_url.clone())
        .with_session_scp(
            config
                .session_scp
                .then(|| aws_sdk_organizations::Client::new(sdk)),
        )
    }

    /// AWS Organizations for the SCP of Identity Center users (SESSION_SCP=on), with
    /// the central account's credentials.
    pub fn with_session_scp(
        mut self,
        organizations: Option<aws_sdk_organizations::Client>,
    ) -> Self {
        self.organizations = organizations;
        self
    }

    /// The pruner's ports (`warden prune`, `warden init`, the pruner's part of `warden
    /// restore`): [`Self::new`] with the ledger table. The Lambda adds its work queue and
    /// Slack.
    pub fn for_pruner(sdk: &SdkConfig, config: &warden_core::prune::PruneConfig) -> Self {
        let account = Self::new(sdk, config.topic_arn.clone(), None)
            .with_ledger(aws_sdk_dynamodb::Client::new(sdk), &config.ledger_table)
            .with_security_hub(aws_sdk_securityhub::Client::new(sdk));
        match config.member_role {
            // Central mode keeps one canary alarm per account.
            Some(_) => account.with_alarms(aws_sdk_cloudwatch::Client::new(sdk)),
            None => account,
        }
    }

    /// AWS Security Hub, for the assessment's findings.
    pub fn with_security_hub(mut self, securityhub: aws_sdk_securityhub::Client) -> Self {
        self.securityhub = Some(securityhub);
        self
    }

    /// CloudWatch, for central mode's per-account canary alarms.
    pub fn with_alarms(mut self, cloudwatch: aws_sdk_cloudwatch::Client) -> Self {
        self.cloudwatch = Some(cloudwatch);
        self
    }

    /// Central mode: the canary's metric is also put with the `Account` dimension, which
    /// the per-account alarms watch.
    pub fn with_metrics_per_account(mut self) -> Self {
        self.metrics_per_account = true;
        self
    }

    /// CloudTrail's event history, where unverified principals' grants are looked for.
    pub fn with_trail(mut self, cloudtrail: aws_sdk_cloudtrail::Client) -> Self {
        self.cloudtrail = Some(cloudtrail);
        self
    }

    /// Metrics as embedded-metric lines on stdout: the Lambda's wiring.
    pub fn with_metrics_on_stdout(mut self) -> Self {
        self.metrics_on_stdout = true;
        self
    }

    /// The queue where deferred events wait.
    pub fn with_deferrals(mut self, url: Option<String>) -> Self {
        self.deferral_queue_url = url;
        self
    }

    pub fn from_clients(
        iam: aws_sdk_iam::Client,
        sns: aws_sdk_sns::Client,
        sqs: aws_sdk_sqs::Client,
        sts: aws_sdk_sts::Client,
        topic_arn: Option<String>,
        dead_letter_queue_url: Option<String>,
    ) -> Self {
        Self {
            iam,
            sns,
            sqs,
            sts,
            topic_arn,
            dead_letter_queue_url,
            dynamodb: None,
            ledger_table: None,
            work_queue_url: None,
            slack: None,
            cloudtrail: None,
            deferral_queue_url: None,
            metrics_on_stdout: false,
            metrics_per_account: false,
            cloudwatch: None,
            securityhub: None,
            organizations: None,
            management_account: Default::default(),
        }
    }

    /// The pruner's ledger: a DynamoDB table.
    pub fn with_ledger(mut self, dynamodb: aws_sdk_dynamodb::Client, table: &str) -> Self {
        self.dynamodb = Some(dynamodb);
        self.ledger_table = Some(table.to_owned());
        self
    }

    /// The same ports in a member account (central mode): IAM, STS and CloudTrail with
    /// `member`'s credentials, the topic, queues and ledger unchanged.
    pub fn in_member(&self, member: &SdkConfig) -> Self {
        Self {
            iam: aws_sdk_iam::Client::new(member),
            sts: aws_sdk_sts::Client::new(member),
            cloudtrail: self
                .cloudtrail
                .as_ref()
                .map(|_| aws_sdk_cloudtrail::Client::new(member)),
            ..self.clone()
        }
    }

    /// Start-up: see [`discover`].
    pub async fn discover(
        &self,
        config: &warden_core::config::Config,
    ) -> Result<warden_core::config::Environment, StartupError> {
        discover(self, config).await
    }
}
