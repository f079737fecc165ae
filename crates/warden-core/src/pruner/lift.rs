//! The operator's restore: services lifted from the pruner's deny of a principal.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::config::tags;
use crate::ports::{Enforcer, Ledger, PortError, PrunePolicies};
use crate::principal::Target;
use crate::prune::{LedgerEntry, PolicyDoc, PruneConfig};
use crate::prune_policy::{deny_documents, is_own_policy, policy_arn, policy_name};

/// The operator's restore: lifts `services` (all when `None`) from the pruner's deny
/// of `target`, rewriting or deleting its policies. Returns the services lifted.
pub async fn lift<P>(
    ports: &P,
    cfg: &PruneConfig,
    target: &Target,
    services: Option<&BTreeSet<String>>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, PortError>
where
    P: PrunePolicies + Ledger + Enforcer,
{
    let existing = ports
        .load(std::slice::from_ref(&target.arn))
        .await?
        .remove(&target.arn);
    let known_before = existing.is_some();
    let mut entry = existing.unwrap_or_else(|| LedgerEntry::new(&target.arn));
    let mut known: BTreeSet<String> = entry.policy_arns.iter().cloned().collect();
    known.insert(policy_arn(
        &target.arn,
        &policy_name(&cfg.policy_prefix, target.kind, &target.name, 0),
    ));
    let lifted = entry.lift(services, now, "warden restore");

    let keep: Vec<PolicyDoc> = deny_documents(&entry.denied, &cfg.never_deny)
        .into_iter()
        .enumerate()
        .map(|(i, document)| {
            let name = policy_name(&cfg.policy_prefix, target.kind, &target.name, i);
            PolicyDoc {
                arn: policy_arn(&target.arn, &name),
                name,
                document,
            }
        })
        .collect();
    for policy in &keep {
        ports.put_policy(policy, &target.arn).await?;
        ports.attach_policy(target, &policy.arn).await?;
        known.remove(&policy.arn);
    }
    for arn in &known {
        ports.detach_policy(target, arn).await?;
        if is_own_policy(arn, &cfg.policy_prefix, target.kind, &target.name) {
            ports.delete_policy(arn).await?;
        }
    }
    if entry.denied.is_empty() {
        ports.untag(target, tags::PRUNED).await?;
    }
    entry.policy_arns = keep.into_iter().map(|p| p.arn).collect();
    if known_before {
        ports.save(&entry).await?;
    }
    Ok(lifted)
}
