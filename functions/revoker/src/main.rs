//! Wiring only: tracing, typed configuration, SDK config and clients built once, run.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use warden_aws::AwsAccount;
use warden_core::ports::Notifier;
use warden_core::revoker::Revoker;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();

    let config = revoker::config::load()?;
    let sdk = warden_aws::load_sdk_config().await;
    let account = AwsAccount::for_revoker(&sdk, &config).with_metrics_on_stdout();
    let env = account.discover(&config).await?;
    // Trust comes from the ledger: the first start of a new deployment takes the
    // baseline (and notifies whom it trusts).
    let (trusted, taken) = warden_core::vouch::ensure_baseline(
        &account,
        &env.account_id,
        &config.admin_group,
        &config.exempt_tag,
    )
    .await?;
    tracing::info!(
        trusted = trusted.entries.len(),
        baseline_taken = taken,
        "trust ledger read"
    );
    // ROLE_MODE=session: the first start that stops role sessions trusts the roles whose
    // sessions wrote IAM in the week before (a pipeline is not locked out), and says so.
    // Never a reason not to start: CloudTrail's LookupEvents (two requests a second per
    // account, which anyone may use up) failing leaves it for the next start, and says so.
    match warden_core::vouch::ensure_sessions_baseline(
        &account,
        &config,
        &env,
        warden_core::vouch::PIPELINE_EVENTS_AT_START,
    )
    .await
    {
        Ok(Some(pipelines)) => {
            tracing::info!(pipelines = pipelines.len(), "sessions baseline taken")
        }
        Ok(None) => {}
        Err(e) => tracing::error!(
            error = %e,
            "the sessions baseline could not be taken: taken at the next start (or run `warden init`)"
        ),
    }
    // ADMIN_PERMISSION_SETS: a set named for the first time has its Identity Center roles
    // recorded by unique id (a role made for it later needs `warden trust`).
    for entry in warden_core::vouch::ensure_permission_sets(&account, &config, &env).await? {
        tracing::info!(role = %entry.name, provenance = %entry.provenance, "trusted");
    }
    // EXEMPT_PRINCIPALS known by unique id: recorded on first sight, then checked.
    for problem in warden_core::vouch::ensure_listed(&account, &env, &config).await? {
        tracing::warn!(%problem, "EXEMPT_PRINCIPALS");
        if account.enabled() {
            account
                .publish(&warden_core::notice::for_tampering(None, &problem, &env))
                .await?;
        }
    }
    // The admin group known by its unique id: recorded on first sight; a rename of it
    // (made while no revoker ran) put back now, and said.
    if let Some(what) =
        warden_core::vouch::ensure_admin_group(&account, &env.account_id, &config.admin_group)
            .await?
    {
        tracing::warn!(%what, "the admin group");
        if account.enabled() {
            account
                .publish(&warden_core::notice::for_tampering(None, &what, &env))
                .await?;
        }
    }
    tracing::info!(account = %env.account_id, caller = %env.caller_arn, "iam-warden revoker ready");
    let revoker = Revoker::new(account, config, env);

    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let revoker = &revoker;
        async move {
            Ok::<_, std::convert::Infallible>(
                revoker::handler::handle_batch(revoker, revoker.port(), event.payload).await,
            )
        }
    }))
    .await
}
