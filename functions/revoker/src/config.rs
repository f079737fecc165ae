//! The revoker's configuration: warden-core's, plus what only the Lambda requires.

use warden_core::config::{Config, ConfigError};

/// Reads and checks the environment once, at cold start.
pub fn load() -> Result<Config, ConfigError> {
    let config = Config::from_env()?;
    // Without a dead-letter queue a malformed message would be lost or block the group.
    config.require_dead_letter_queue()?;
    // Without a deferral queue an unverified principal's event could only wait by
    // holding up every later IAM event of the account.
    config.require_deferral_queue()?;
    // Without the managed quarantine, a caller could block the inline one by filling
    // its backdoor's inline-policy quota.
    config.require_quarantine_policy()?;
    Ok(config)
}
