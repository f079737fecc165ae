//! API calls counted by operation: an interceptor on every SDK client, and the revoker
//! and the pruner's clients built with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use warden_aws::AwsAccount;
use warden_core::revoker::Revoker;

/// Counts the HTTP requests of every client it is installed on, by operation.
#[derive(Clone, Debug, Default)]
pub struct Calls(Arc<Mutex<BTreeMap<String, u64>>>);

impl Calls {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }

    pub fn total(&self) -> u64 {
        self.0.lock().unwrap().values().sum()
    }

    pub fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg.load::<Metadata>().map_or_else(
            || "?".to_owned(),
            |m| format!("{}:{}", m.service(), m.name()),
        );
        *self.0.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

/// The production SDK configuration, with an account's key and an endpoint.
pub async fn sdk(endpoint: &str, key: &str, secret: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "bench"))
        .retry_config(warden_aws::retry_config())
        .load()
        .await
}

pub fn counted(
    sdk: &SdkConfig,
    calls: &Calls,
    topic: Option<String>,
    dlq: Option<String>,
) -> AwsAccount {
    AwsAccount::from_clients(
        aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        topic,
        dlq,
    )
}

/// The revoker as the Lambda starts it, over counted clients and the ledger: the table
/// and the trust baseline as `warden init` makes them, start-up, then the count reset.
pub async fn counted_revoker(
    sdk: &SdkConfig,
    calls: &Calls,
    config: warden_core::config::Config,
) -> Revoker<AwsAccount> {
    let account = counted(
        sdk,
        calls,
        config.topic_arn.clone(),
        config.dead_letter_queue_url.clone(),
    )
    .with_ledger(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        &config.ledger_table,
    )
    // Who made a caller's access key is read from CloudTrail (minted keys).
    .with_trail(aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(sdk)
            .interceptor(calls.clone())
            .build(),
    ));
    account.ensure_ledger_table().await.unwrap();
    let env = account.discover(&config).await.unwrap();
    warden_core::vouch::ensure_baseline(
        &account,
        &env.account_id,
        &config.admin_group,
        &config.exempt_tag,
    )
    .await
    .unwrap();
    calls.reset();
    Revoker::new(account, config, env)
}
