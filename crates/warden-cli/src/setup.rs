//! Where the commands get their configuration and their AWS clients: the revoker's, as
//! its Lambda starts, or the pruner's. The CLI reads its settings only here.

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
    Ok((config, env, account))
}

/// The pruner's clients.
pub async fn pruner_account(cfg: &PruneConfig) -> AwsAccount {
    let sdk = warden_aws::load_sdk_config().await;
    AwsAccount::for_pruner(&sdk, cfg)
}
