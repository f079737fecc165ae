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
pub mod reliability;

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

    /// Seeds moto's Access Advisor for `principal`: last use per service (RFC 3339),
    /// and optionally a job failure (`FAILED`, `STUCK`).
    pub fn seed_access(&self, principal: &str, services: &[(&str, String)], fail: Option<&str>) {
        let services: serde_json::Map<String, serde_json::Value> = services
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
            .collect();
        post_json(
            "/_warden/access-advisor",
            &serde_json::json!({
                "account": self.id, "principal": principal, "services": services, "fail": fail,
            }),
        );
    }

    /// A user with an inline policy allowing `actions`; returns its ARN.
    pub async fn user_with_access(&self, name: &str, groups: &[&str], actions: &[&str]) -> String {
        self.user(name, groups, &[]).await;
        let document = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        });
        self.iam
            .put_user_policy()
            .user_name(name)
            .policy_name("work")
            .policy_document(document.to_string())
            .send()
            .await
            .expect("PutUserPolicy");
        self.iam
            .get_user()
            .user_name(name)
            .send()
            .await
            .expect("GetUser")
            .user
            .expect("user")
            .arn
    }

    /// The default version's document of a managed policy, or `None` when it does not exist.
    pub async fn policy_document(&self, arn: &str) -> Option<(String, usize)> {
        let policy = self
            .iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .ok()?
            .policy?;
        let version = policy.default_version_id?;
        let doc = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .expect("GetPolicyVersion")
            .policy_version?
            .document?;
        let versions = self
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .expect("ListPolicyVersions")
            .versions
            .unwrap_or_default()
            .len();
        // IAM returns policy documents URL-encoded.
        let decoded = percent_encoding::percent_decode_str(&doc)
            .decode_utf8_lossy()
            .into_owned();
        Some((decoded, versions))
    }

    pub async fn group(&self, name: &str) {
        self.iam
            .create_group()
            .group_name(name)
            .send()
            .await
            .expect("CreateGroup");
    }

    pub async fn user(&self, name: &str, groups: &[&str], tags: &[(&str, &str)]) {
        let mut req = self.iam.create_user().user_name(name);
        for (k, v) in tags {
            req = req.tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .expect("tag"),
            );
        }
        req.send().await.expect("CreateUser");
        for g in groups {
            self.iam
                .add_user_to_group()
                .group_name(*g)
                .user_name(name)
                .send()
                .await
                .expect("AddUserToGroup");
        }
    }

    pub async fn policy(&self, name: &str, path: &str, document: &str) -> String {
        self.iam
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document)
            .send()
            .await
            .expect("CreatePolicy")
            .policy
            .and_then(|p| p.arn)
            .expect("policy arn")
    }

    /// Attaches `count` managed policies of its own to `user` (to reach the quota).
    pub async fn fill_managed_policies(&self, user: &str, count: usize) {
        for i in 0..count {
            let arn = self
                .policy(
                    &format!("{user}-{i}"),
                    "/",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
                )
                .await;
            self.iam
                .attach_user_policy()
                .user_name(user)
                .policy_arn(arn)
                .send()
                .await
                .expect("AttachUserPolicy");
        }
    }

    /// A role of this account with the trust policy `trust`; its ARN.
    pub async fn role_with_trust(&self, name: &str, trust: &serde_json::Value) -> String {
        self.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("CreateRole")
            .role
            .expect("role")
            .arn
    }

    /// The SDK configuration of one of this account's roles, as a function running as it
    /// has: credentials from STS AssumeRole (its trust must admit the tests' own identity),
    /// no account header (moto knows the account from the credentials).
    pub async fn as_role(&self, role: &str) -> SdkConfig {
        let arn = format!("arn:aws:iam::{}:role/{role}", self.id);
        let creds = assume(&self.sdk, &arn, "tests")
            .await
            .unwrap_or_else(|e| panic!("AssumeRole {arn}: {e}"));
        self.sdk
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(creds),
            )
            .build()
    }

    pub async fn deny_policy(&self) -> String {
        self.policy(
            "iam-warden-deny-iam",
            "/iam-warden/",
            warden_core::DENY_ALL_IAM_POLICY,
        )
        .await
    }

    /// An SNS topic with an SQS queue subscribed to it, standing in for e-mail.
    pub async fn topic_with_inbox(&self) -> (String, String) {
        let topic = self
            .sns
            .create_topic()
            .name("iam-warden-notices")
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn
            .expect("topic arn");
        let inbox = self.queue("inbox", false).await;
        let inbox_arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&inbox)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("queue arn");
        self.sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(inbox_arn)
            .send()
            .await
            .expect("Subscribe");
        (topic, inbox)
    }

    pub async fn queue(&self, name: &str, fifo: bool) -> String {
        let mut req = self.sqs.create_queue();
        if fifo {
            req = req
                .queue_name(format!("{name}.fifo"))
                .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::ContentBasedDeduplication,
                    "true",
                );
        } else {
            req = req.queue_name(name);
        }
        req.send()
            .await
            .expect("CreateQueue")
            .queue_url
            .expect("queue url")
    }

    /// Every message in a queue (bodies and attributes), deleting them.
    pub async fn drain(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("ReceiveMessage")
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                return out;
            }
            for m in got {
                if let Some(handle) = &m.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("DeleteMessage");
                }
                out.push(m);
            }
        }
    }

    /// The SNS notifications that reached the inbox, as JSON envelopes.
    pub async fn notices(&self, inbox: &str) -> Vec<serde_json::Value> {
        self.drain(inbox)
            .await
            .into_iter()
            .map(|m| {
                serde_json::from_str(m.body.as_deref().unwrap_or_default()).expect("SNS envelope")
            })
            .collect()
    }

    /// Gives a CloudTrail record (or an EventBridge event's `detail`) the unique ids IAM
    /// has for its caller in this account, as CloudTrail would record them: the user's id
    /// (`principalId`), or the role's in the session issuer. A caller that does not exist
    /// keeps what the record had.
    pub async fn real_ids(&self, record: &mut serde_json::Value) {
        let record = match record.get_mut("detail") {
            Some(detail) => detail,
            None => record,
        };
        let Some(identity) = record.get_mut("userIdentity") else {
            return;
        };
        let kind = identity["type"].as_str().unwrap_or_default().to_owned();
        let user_id = |name: String| async move {
            self.iam
                .get_user()
                .user_name(name)
                .send()
                .await
                .ok()
                .and_then(|o| o.user)
                .map(|u| u.user_id)
        };
        match kind.as_str() {
            "IAMUser" => {
                let name = identity["userName"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        identity["arn"]
                            .as_str()
                            .and_then(|a| a.rsplit('/').next())
                            .map(str::to_owned)
                    });
                if let Some(id) = match name {
                    Some(n) => user_id(n).await,
                    None => None,
                } {
                    identity["principalId"] = serde_json::Value::String(id);
                }
            }
            "AssumedRole" | "FederatedUser" => {
                let issuer = &identity["sessionContext"]["sessionIssuer"];
                let name = issuer["userName"].as_str().map(str::to_owned).or_else(|| {
                    issuer["arn"]
                        .as_str()
                        .and_then(|a| a.rsplit('/').next())
                        .map(str::to_owned)
                });
                let id = match (kind.as_str(), name) {
                    ("AssumedRole", Some(n)) => self
                        .iam
                        .get_role()
                        .role_name(n)
                        .send()
                        .await
                        .ok()
                        .and_then(|o| o.role)
                        .map(|r| r.role_id),
                    (_, Some(n)) => user_id(n).await,
                    _ => None,
                };
                if let Some(id) = id {
                    // A role session's principalId is `ROLE-ID:SESSION-NAME`, as AWS
                    // writes it: the session's aws:userid.
                    if kind == "AssumedRole" {
                        if let Some((_, session)) = identity["principalId"]
                            .as_str()
                            .and_then(|p| p.split_once(':'))
                        {
                            identity["principalId"] =
                                serde_json::Value::String(format!("{id}:{session}"));
                        }
                    }
                    identity["sessionContext"]["sessionIssuer"]["principalId"] =
                        serde_json::Value::String(id);
                }
            }
            _ => {}
        }
    }

    /// A sample event of events/, moved into this account, with the ids IAM has for its
    /// caller.
    pub async fn real_event(&self, fixture: &str) -> String {
        let mut value: serde_json::Value =
            serde_json::from_str(&self.event(fixture)).expect("a JSON event");
        self.real_ids(&mut value).await;
        value.to_string()
    }

    /// A sample event of events/, moved into this account.
    pub fn event(&self, fixture: &str) -> String {
        let path = format!("{}/../events/{fixture}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .replace("123456789012", &self.id)
    }

    pub async fn attached(&self, user: &str) -> Vec<String> {
        self.iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("ListAttachedUserPolicies")
            .attached_policies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_arn)
            .collect()
    }

    pub async fn inline(&self, user: &str) -> Vec<String> {
        self.iam
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("ListUserPolicies")
            .policy_names
    }

    pub async fn tags(&self, user: &str) -> std::collections::BTreeMap<String, String> {
        self.iam
            .list_user_tags()
            .user_name(user)
            .send()
            .await
            .expect("ListUserTags")
            .tags
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect()
    }

    /// An access key of a new user of this account: moto maps it back to the account,
    /// so a process given this key (the `warden` binary) works in this account.
    pub async fn access_key(&self, user: &str) -> (String, String) {
        self.iam
            .create_user()
            .user_name(user)
            .send()
            .await
            .expect("CreateUser");
        let key = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .expect("CreateAccessKey")
            .access_key
            .expect("key");
        (key.access_key_id, key.secret_access_key)
    }
}

/// A CloudTrail record of an IAM call by the IAM user `caller` of `account`, made
/// `minutes_ago` minutes ago.
pub fn iam_call(
    account: &str,
    id: &str,
    caller: &str,
    name: &str,
    params: serde_json::Value,
    minutes_ago: i64,
) -> serde_json::Value {
    let time = (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": account,
            "arn": format!("arn:aws:iam::{account}:user/{caller}"), "userName": caller},
        "eventTime": time, "eventSource": "iam.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.17.0",
        "requestParameters": params, "responseElements": null, "requestID": format!("req-{id}"),
        "eventID": id, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": account,
    })
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

/// The member role's trust policy (central mode): only the central account's function
/// roles may assume it.
pub fn member_trust(central: &str, roles: &[&str]) -> serde_json::Value {
    let arns: Vec<String> = roles
        .iter()
        .map(|r| format!("arn:aws:iam::{central}:role/{r}"))
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{central}:root")},
        "Action": "sts:AssumeRole",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": arns}}
    }]})
}

/// The EventBridge event that carries a CloudTrail record (the body of an SQS message).
pub fn eventbridge(record: &serde_json::Value) -> String {
    serde_json::json!({
        "version": "0", "id": format!("eb-{}", record["eventID"].as_str().unwrap_or("x")),
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
        "account": record["recipientAccountId"], "time": record["eventTime"],
        "region": "us-east-1", "resources": [], "detail": record,
    })
    .to_string()
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
