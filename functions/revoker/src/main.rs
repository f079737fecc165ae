//! Wiring only: tracing, typed configuration, SDK config and clients built once, run.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use warden_aws::{AwsAccount, AwsMembers};
use warden_core::ports::Members;
use warden_core::revoker::{start_up, Fleet, Revoker};

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

    let config = revoker::config::load()?;
    let sdk = warden_aws::load_revoker_sdk_config().await;
    let mut account = AwsAccount::for_revoker(&sdk, &config).with_metrics_on_stdout();
    if config.member_role.is_some() {
        // Central mode: each account's canary is also its own metric, which its alarm
        // (kept by the pruner) watches.
        account = account.with_metrics_per_account();
    }
    let env = account.discover(&config).await?;
    if config.session_scp {
        // SESSION_SCP=on: the organization's SCPs, checked before the first event.
        let management = account.check_session_scp().await?;
        tracing::info!(%management, "SESSION_SCP=on: Identity Center users who may not manage IAM are denied it by the tool's SCP");
    }
    // Trust comes from the ledger: the first start of a new deployment takes the
    // baseline (and notifies whom it trusts), then the sessions baseline, the admin
    // permission sets, EXEMPT_PRINCIPALS and the admin group by unique id.
    start_up(&account, &config, &env).await?;
    tracing::info!(account = %env.account_id, caller = %env.caller_arn, "iam-warden revoker ready");
    if let Some(role) = config.member_role.clone() {
        // Central mode: each event is decided in its own account, through that account's
        // member role, opened (start-up checks and trust baseline there) on its first
        // event; this account's own events by its own revoker, as an account's own stack.
        tracing::info!(member_role = %role, "central mode: member accounts through their member role");
        let own = Revoker::new(account.clone(), config.clone(), env);
        let fleet = Fleet::new(AwsMembers::new(&sdk, account, &role), config).with_own(own);
        return lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
            let fleet = &fleet;
            async move {
                Ok::<_, std::convert::Infallible>(measured(
                    revoker::handler::handle_until(
                        fleet,
                        fleet.members().home(),
                        event.payload,
                        Some(deadline(&event.context)),
                    )
                    .await,
                ))
            }
        }))
        .await;
    }
    let revoker = Revoker::new(account, config, env);

    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let revoker = &revoker;
        async move {
            Ok::<_, std::convert::Infallible>(measured(
                revoker::handler::handle_until(
                    revoker,
                    revoker.port(),
                    event.payload,
                    Some(deadline(&event.context)),
                )
                .await,
            ))
        }
    }))
    .await
}

/// The invocation's deadline, as Lambda gives it (milliseconds since the epoch).
fn deadline(context: &lambda_runtime::Context) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(context.deadline)
}

/// The batch's metrics, as one embedded-metric line on stdout; its response for Lambda.
fn measured(
    report: revoker::handler::BatchReport,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    if let Some(line) = report.metrics.emf(chrono::Utc::now()) {
        println!("{line}");
    }
    report.response
}
