//! The pruner's configuration: warden-core's, plus what only the Lambda requires.

use warden_core::config::ConfigError;
use warden_core::prune::PruneConfig;

/// Reads and checks the environment once, at cold start.
pub fn load() -> Result<PruneConfig, ConfigError> {
    let config = PruneConfig::from_env()?;
    // The digest is how skipped and failed principals reach people: never run silent.
    if config.topic_arn.is_none() {
        return Err(ConfigError::Missing { var: "TOPIC_ARN" });
    }
    Ok(config)
}
