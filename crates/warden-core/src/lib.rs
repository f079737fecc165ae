//! iam-warden's domain: the CloudTrail event model, principal classification, the
//! revoke decision, the pruning plan, notices and typed configuration. No AWS SDK types and no I/O:
//! the ports in [`ports`] are implemented by `warden-aws`.

pub mod action;
pub mod admin_group;
pub mod assess;
pub mod assess_report;
pub mod assessor;
pub mod canary;
pub mod central;
pub mod config;
pub mod confirm;
pub mod containment;
pub mod containment_plan;
pub mod credential_plan;
pub mod credentials;
pub mod decision;
pub mod error;
pub mod event;
pub mod facts;
pub mod grant;
pub mod identity_center;
pub mod metrics;
pub mod minted;
pub mod notice;
pub mod ports;
pub mod principal;
pub mod prior;
pub mod prune;
pub mod prune_config;
pub mod prune_ledger;
pub mod prune_policy;
pub mod pruner;
pub mod revocation;
pub mod revoker;
pub mod security_hub;
pub mod session;
pub mod session_scp;
pub mod source;
pub mod tamper;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trust;
pub mod vouch;

/// The deny-all-IAM policy document: the managed policy's document, and the inline
/// fallback's.
pub const DENY_ALL_IAM_POLICY: &str = include_str!("../../../policies/deny-all-iam.json");
