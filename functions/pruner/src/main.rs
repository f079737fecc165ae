//! Wiring only: tracing, typed configuration, SDK config and clients built once, run.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use warden_aws::AwsAccount;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // One JSON object a line, for CloudWatch Logs: never a terminal's colour codes
    // (functions/revoker/tests/logs.rs).
    tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();

    let config = pruner::config::load()?;
    let sdk = warden_aws::load_sdk_config().await;
    let account = AwsAccount::for_pruner(&sdk, &config)
        .with_work_queue(config.work_queue_url.clone())
        .with_slack(
            aws_sdk_secretsmanager::Client::new(&sdk),
            config.slack_webhook_secret.clone(),
        );
    let account_id = account.check_pruner(&config).await?;
    tracing::info!(account = %account_id, ledger = %config.ledger_table, "iam-warden pruner ready");

    if let Some(role) = config.member_role.clone() {
        // Central mode: one run over the organization's accounts, each through its
        // member role (this account through its own role).
        tracing::info!(member_role = %role, accounts = ?config.accounts, "central mode");
        let members =
            warden_aws::AwsMembers::new(&sdk, account, &role).with_home_account(&account_id);
        return lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
            let (members, config) = (&members, &config);
            async move {
                pruner::handler::handle_central(members, config, event.payload, chrono::Utc::now())
                    .await
            }
        }))
        .await;
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (account, config, account_id) = (&account, &config, &account_id);
        async move {
            pruner::handler::handle(
                account,
                config,
                account_id,
                event.payload,
                chrono::Utc::now(),
            )
            .await
        }
    }))
    .await
}
