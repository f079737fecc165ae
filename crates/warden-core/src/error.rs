//! The domain's own errors, beside the ports' ([`PortError`]: an AWS failure): a bug of
//! the tool, and an operator's request it refuses. Neither is an AWS failure, and neither
//! is ever a decision.

use crate::ports::PortError;

/// What the revoker's work, `warden restore` and `warden trust` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A port failed (AWS, the ledger): transient or permanent, as it says.
    #[error(transparent)]
    Port(#[from] PortError),
    /// A bug of the tool: the decision asked again for what it was given. Permanent: the
    /// event goes to the dead-letter queue, notified.
    #[error("decide failed: the decision asked again for what it was given")]
    AskedTwice,
    /// An operator named a principal that does not exist.
    #[error("{command}: no such entity: {target} does not exist")]
    NoSuchPrincipal {
        command: &'static str,
        target: String,
    },
    /// An operator's request that the tool refuses, and what to do instead.
    #[error("{command} failed: {why}")]
    Refused { command: &'static str, why: String },
}

impl DomainError {
    /// Only a port's transient failure is worth a retry.
    pub fn is_transient(&self) -> bool {
        matches!(self, DomainError::Port(e) if e.is_transient())
    }

    /// Retrying cannot help: the event goes to the dead-letter queue at once.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }
}
