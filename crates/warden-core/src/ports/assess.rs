//! What `warden assess` reads beyond the pruner's ports: every principal's policies.

use std::future::Future;

use super::PortError;
use crate::assess::Principal;

/// The account's users and roles with their policies.
pub trait PolicyInventory: Send + Sync {
    /// Every user and role (not service-linked nor IAM Identity Center's), with the
    /// managed policies attached to it, its inline policies' documents and the documents
    /// of the customer managed policies attached to it (GetAccountAuthorizationDetails).
    fn principals_with_policies(
        &self,
    ) -> impl Future<Output = Result<Vec<Principal>, PortError>> + Send;
}

/// AWS Security Hub: the tool's findings of the account (`--security-hub`,
/// SECURITY_HUB=true).
pub trait SecurityHub: Send + Sync {
    /// The region the findings go to (their product ARN's).
    fn hub_region(&self) -> String;
    /// The tool's findings active in Security Hub for `account`: id → when first found.
    fn active_findings(
        &self,
        account: &str,
    ) -> impl Future<
        Output = Result<
            std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>>,
            PortError,
        >,
    > + Send;
    /// Imports `findings`, at most 100 a call; a finding Security Hub refuses is an error
    /// naming it.
    fn import_findings(
        &self,
        findings: &[crate::security_hub::HubFinding],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Archives the tool's findings `ids` of `account` (RecordState ARCHIVED, as found).
    fn archive_findings(
        &self,
        account: &str,
        ids: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
