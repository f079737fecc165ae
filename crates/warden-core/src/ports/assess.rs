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
