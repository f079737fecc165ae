#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    clippy::indexing_slicing
)] // test support: a failed set-up step should stop the test loudly

//! Test support: a fresh account in moto server per test, reached over HTTP through the
//! real AWS SDK clients. moto keeps one state per account id and reads the account from
//! the `x-moto-account-id` header, so every test gets its own empty account on one server.

mod credentials;
pub mod event_source;
pub mod fault_proxy;
mod iam;
mod messaging;
mod records;
pub mod reliability;

pub use records::{eventbridge, iam_call, member_trust};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use warden_aws::AwsAccount;
use warden_core::config::Config;
use warden_core::prune::PruneConfig;

/// POSTs JSON to a route of the test moto server (its seeding routes).
pub fn post_json(path: &str, body: &serde_json::Value) {
    use std::io::{Read, Write};
    let endpoint = endpoint();
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(&host).expect("connect to moto");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
}

/// The moto server the test scripts started.
pub fn endpoint() -> String {
    std::env::var("WARDEN_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!("WARDEN_TEST_ENDPOINT is not set: run the integration tests with ./scripts/test.sh, which starts moto server")
    })
}

/// Sends every request to one moto account.
#[derive(Debug)]
struct MotoAccount(String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

fn unique_account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // 12 digits, never starting with 0, distinct across tests and runs.
    let base = (nanos / 1000 % 10_000_000) as u64 * 1000 + n % 1000;
    format!("{}", 200_000_000_000 + base % 700_000_000_000)
}

/// A fresh, empty account and its clients.
pub struct TestAccount {
    pub id: String,
    pub sdk: SdkConfig,
    pub iam: aws_sdk_iam::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sts: aws_sdk_sts::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
}

impl TestAccount {
    pub async fn new() -> Self {
        Self::with_id(unique_account_id()).await
    }

    /// The account `id` (e.g. one that Organizations' CreateAccount made in moto).
    pub async fn with_id(id: String) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .load()
            .await;
        Self::with_sdk(id, sdk)
    }

    /// This account's clients through another endpoint (a proxy in front of moto), with
    /// the given retries and timeouts.
    pub async fn via(
        &self,
        url: &str,
        retry: aws_config::retry::RetryConfig,
        timeout: aws_config::timeout::TimeoutConfig,
    ) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .retry_config(retry)
            .timeout_config(timeout)
            .load()
            .await;
        Self::with_sdk(self.id.clone(), sdk)
    }

    fn with_sdk(id: String, sdk: SdkConfig) -> Self {
        let header = || MotoAccount(id.clone());
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&sdk)
                .interceptor(header())
                .build(),
        );
        let sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(&sdk)
                .interceptor(header())
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&sdk)
                .interceptor(header())
                .build(),
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&sdk)
                .interceptor(header())
                .build(),
        );
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(header())
                .build(),
        );
        let secrets = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(&sdk)
                .interceptor(header())
                .build(),
        );
        let cloudtrail = aws_sdk_cloudtrail::Client::from_conf(
            aws_sdk_cloudtrail::config::Builder::from(&sdk)
                .interceptor(header())
                .build(),
        );
        Self {
            id,
            sdk,
            iam,
            sns,
            sqs,
            sts,
            dynamodb,
            secrets,
            cloudtrail,
        }
    }

    /// An IAM Identity Center role, as Identity Center makes it (at its reserved path; the
    /// test support refuses IAM writes to it afterwards, as AWS does).
    pub async fn identity_center_role(&self, name: &str) {
        self.iam
            .create_role()
            .role_name(name)
            .path("/aws-reserved/sso.amazonaws.com/")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .expect("CreateRole at Identity Center's path");
    }

    /// A CloudWatch client of this account (moto answers it through
    /// tests/support/cbor_rpc.py).
    /// Security Hub in this account.
    pub fn security_hub(&self) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::from_conf(
            aws_sdk_securityhub::config::Builder::from(&self.sdk)
                .interceptor(MotoAccount(self.id.clone()))
                .build(),
        )
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&self.sdk)
                .interceptor(MotoAccount(self.id.clone()))
                .build(),
        )
    }

    /// The revoker's ports over this account's clients: IAM, SNS, SQS, STS, the ledger
    /// table of `config` (trust and action records), CloudTrail and the deferral queue.
    pub fn aws(&self, config: &Config) -> AwsAccount {
        AwsAccount::from_clients(
            self.iam.clone(),
            self.sns.clone(),
            self.sqs.clone(),
            self.sts.clone(),
            config.topic_arn.clone(),
            config.dead_letter_queue_url.clone(),
        )
        .with_ledger(self.dynamodb.clone(), &config.ledger_table)
        .with_trail(self.cloudtrail.clone())
        .with_deferrals(config.deferral_queue_url.clone())
    }

    /// Puts CloudTrail records into this account's event history (LookupEvents), as
    /// CloudTrail would have them.
    pub fn in_trail(&self, records: &[serde_json::Value]) {
        post_json(
            "/_warden/cloudtrail",
            &serde_json::json!({ "account": self.id, "records": records }),
        );
    }

    /// Calls that happened: their records put into the event history with the unique ids
    /// IAM has for their callers, as CloudTrail records them (and as `real_ids` gives the
    /// delivered events).
    pub async fn recorded(&self, records: &[serde_json::Value]) {
        let mut real = Vec::new();
        for record in records {
            let mut record = record.clone();
            self.real_ids(&mut record).await;
            real.push(record);
        }
        self.in_trail(&real);
    }

    /// The pruner's ports over this account's clients, its ledger table created.
    pub async fn pruner(&self, config: &PruneConfig) -> AwsAccount {
        let account = AwsAccount::from_clients(
            self.iam.clone(),
            self.sns.clone(),
            self.sqs.clone(),
            self.sts.clone(),
            config.topic_arn.clone(),
            None,
        )
        .with_ledger(self.dynamodb.clone(), &config.ledger_table)
        .with_security_hub(self.security_hub());
        // Central mode keeps the canary alarms, as `AwsAccount::for_pruner`.
        let account = match config.member_role {
            Some(_) => account.with_alarms(self.cloudwatch()),
            None => account,
        };
        account.ensure_ledger_table().await.expect("ledger table");
        account
    }
}

/// STS AssumeRole of `role_arn` with the credentials of `sdk`: the credentials, or the
/// error code (`AccessDenied`).
pub async fn assume(sdk: &SdkConfig, role_arn: &str, session: &str) -> Result<Credentials, String> {
    let out = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session)
        .send()
        .await
        .map_err(|e| {
            aws_sdk_sts::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("no code")
                .to_owned()
        })?;
    let c = out.credentials.expect("credentials");
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        None,
        "assumed",
    ))
}

/// Builds a configuration the way the functions do, from variables.
pub use warden_core::testing::config_from as config;

/// A local HTTP server that accepts `count` POSTs, answers `status`, and returns their
/// bodies: the stand-in for Slack's incoming webhook.
pub async fn webhook(count: usize, status: u16) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/services/T000/B000/XXXX",
        listener.local_addr().expect("addr")
    );
    let handle = tokio::spawn(async move {
        let mut bodies = Vec::new();
        for _ in 0..count {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = socket.read(&mut chunk).await.expect("read");
                if n == 0 {
                    break String::new();
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break body.to_owned();
                    }
                }
            };
            let response =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            socket.write_all(response.as_bytes()).await.expect("write");
            bodies.push(body);
        }
        bodies
    });
    (url, handle)
}
