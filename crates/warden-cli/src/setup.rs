//! Where the commands get their configuration and their AWS clients (the revoker's, as
//! its Lambda starts, or the pruner's), and the log its person reads. The CLI reads its
//! settings only here.

use warden_aws::AwsAccount;
use warden_core::config::Environment;
use warden_core::config::{Config, ConfigError};
use warden_core::prune::PruneConfig;

use crate::CliError;

/// The revoker's configuration, its clients and what its start-up learns and checks, as
/// the Lambda starts.
pub async fn setup() -> Result<(Config, Environment, AwsAccount), CliError> {
    connect(Config::from_env()?).await
}

/// [`setup`], or `None` where the revoker is not configured (only the pruner is
/// deployed): the configuration misses DENY_POLICY_ARN.
pub async fn setup_if_configured() -> Result<Option<(Config, Environment, AwsAccount)>, CliError> {
    match Config::from_env() {
        Err(ConfigError::Missing {
            var: "DENY_POLICY_ARN",
        }) => Ok(None),
        config => Ok(Some(connect(config?).await?)),
    }
}

async fn connect(config: Config) -> Result<(Config, Environment, AwsAccount), CliError> {
    let sdk = warden_aws::load_sdk_config().await;
    let account = AwsAccount::for_revoker(&sdk, &config);
    let env = account.discover(&config).await?;
    // EXEMPT_PRINCIPALS known by unique id, as the Lambda's start records them (a
    // listing not recorded yet is recorded here; one whose name was taken is said).
    match warden_core::vouch::ensure_listed(&account, &env, &config).await {
        Ok(problems) => {
            for problem in problems {
                eprintln!("warden: warning: {problem}");
            }
        }
        Err(e) => {
            eprintln!("warden: warning: EXEMPT_PRINCIPALS could not be recorded by unique id: {e}")
        }
    }
    match warden_core::vouch::ensure_admin_group(&account, &env.account_id, &config.admin_group)
        .await
    {
        Ok(Some(what)) => eprintln!("warden: warning: {what}"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("warden: warning: the admin group could not be checked by unique id: {e}")
        }
    }
    Ok((config, env, account))
}

/// The pruner's clients.
pub async fn pruner_account(cfg: &PruneConfig) -> AwsAccount {
    let sdk = warden_aws::load_sdk_config().await;
    AwsAccount::for_pruner(&sdk, cfg)
}

/// Plain-text logs on standard error, for a person: `-v` info, `-vv` debug (or
/// WARDEN_LOG's filter); colour only at a terminal, and never with NO_COLOR.
pub fn logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!(
                    "warn,warden_core={level},warden_aws={level}"
                ))
            }),
        )
        .init();
}
