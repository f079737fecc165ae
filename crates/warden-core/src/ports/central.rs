//! Central mode's ports: each member account's ports through its member role, for the
//! revoker and the pruner.

use std::future::Future;

use super::{Notifier, PortError, PrunerPorts, RevokerPorts};

/// Why a member account's ports could not be opened (central mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The member role cannot be assumed (access denied, no such role): the account is
    /// not onboarded. Reported, never retried, nothing done there.
    NotMember(String),
    /// The account's start-up checks refuse it for good (e.g. its admin group does not
    /// exist): its events are dead-lettered with the reason.
    Unusable(String),
    /// STS or IAM throttling, 5xx: try again later.
    Transient(PortError),
}

/// Central mode: the ports of each member account, through its member role, and the
/// central account's own notifier (for what happens in no member account).
pub trait Members: Send + Sync {
    type Port: RevokerPorts;
    type Home: Notifier;
    /// The central account's notifier.
    fn home(&self) -> &Self::Home;
    /// The ports of member `account` (credentials from its member role, cached until
    /// shortly before they expire) and what start-up learns there, with `config` as it
    /// reads in that account.
    fn open(
        &self,
        account: &str,
        config: &crate::config::Config,
    ) -> impl Future<Output = Result<(Self::Port, crate::config::Environment), Unreachable>> + Send;
}

/// Central mode, the pruner's side: the organization's accounts, and each member
/// account's pruner ports through its member role (the central account's own ports for
/// the account the pruner runs in).
pub trait PrunerMembers: Send + Sync {
    type Port: PrunerPorts;
    /// The central account's ports: the run's records, the work queue, the digest.
    fn home(&self) -> &Self::Port;
    /// The organization's active accounts (Organizations ListAccounts).
    fn accounts(&self) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;
    /// Central mode's canary alarms: exactly one per account of `accounts`, as the tool
    /// keeps them ([`crate::canary`]); what was changed.
    fn keep_canary_alarms(
        &self,
        accounts: &[String],
    ) -> impl Future<Output = Result<crate::canary::AlarmPlan, PortError>> + Send;
    /// The pruner's ports in `account`.
    fn open_pruner(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Self::Port, Unreachable>> + Send;
}
