//! `warden assess`'s gathering: the facts [`crate::assess`] checks, read through the ports
//! (the policies, the credential report, Access Advisor), and iam-warden's own state from
//! its ledgers.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use crate::assess::{Facts, WardenState};
use crate::ports::{
    AccessAdvisor, ActionRecords, CredentialReports, Inventory, Ledger, PolicyInventory, PortError,
    ReportState, SecurityHub,
};
use crate::prune::Report;

/// The account's facts: every principal's policies, the credential report (waiting up to
/// `wait` while IAM generates it) and each principal's last activity (Access Advisor,
/// `concurrency` jobs at once; a principal whose job fails is not judged inactive; with
/// a `concurrency` of 0, none is asked and no principal is judged inactive: the pruner's
/// run, which asked Access Advisor already).
pub async fn gather<P>(
    ports: &P,
    account: &str,
    wait: Duration,
    concurrency: usize,
) -> Result<Facts, PortError>
where
    P: PolicyInventory + CredentialReports + AccessAdvisor,
{
    let principals = ports.principals_with_policies().await?;
    let report = match ports.credential_report(wait).await? {
        ReportState::Ready(report) => report,
        ReportState::Generating => {
            return Err(PortError::Transient {
                operation: "GenerateCredentialReport",
                message: format!(
                    "IAM was still generating the credential report after {} s: run it again in a minute",
                    wait.as_secs()
                ),
            })
        }
    };
    let asked = if concurrency == 0 {
        &[][..]
    } else {
        &principals[..]
    };
    let last_activity: BTreeMap<String, Option<chrono::DateTime<chrono::Utc>>> =
        stream::iter(asked)
            .map(|p| async move {
                match ports.report(&p.arn, wait).await {
                    Report::Complete(services) => Some((
                        p.arn.clone(),
                        services.iter().filter_map(|s| s.last_authenticated).max(),
                    )),
                    Report::Unavailable(why) => {
                        tracing::warn!(principal = %p.arn, reason = %why, "no Access Advisor report: not judged inactive");
                        None
                    }
                }
            })
            .buffer_unordered(concurrency.max(1))
            .filter_map(|x| async move { x })
            .collect()
            .await;
    Ok(Facts {
        account: account.to_owned(),
        report,
        principals,
        last_activity,
        warden: WardenState::default(),
    })
}

/// What the pruner did to `principals` (its ledger): services denied, credentials taken.
pub async fn pruner_state<P: Ledger>(
    ports: &P,
    principals: &[String],
    state: &mut WardenState,
) -> Result<(), PortError> {
    for (arn, entry) in ports.load(principals).await? {
        if !entry.denied.is_empty() {
            state.pruned.insert(arn.clone(), entry.denied.len());
        }
        if !entry.credentials_taken.is_empty() {
            state
                .credentials_taken
                .insert(arn, entry.credentials_taken.into_keys().collect());
        }
    }
    Ok(())
}

/// What the revoker did in `account`: the principals carrying its deny, and the
/// containment actions recorded because of each caller's calls.
pub async fn revoker_state<P: Inventory + ActionRecords>(
    ports: &P,
    account: &str,
    deny_policy_arn: &str,
    inline_name: &str,
    state: &mut WardenState,
) -> Result<(), PortError> {
    state.revoked = ports
        .revoked(deny_policy_arn, inline_name)
        .await?
        .into_iter()
        .map(|r| r.target.arn)
        .collect();
    for record in ports.caller_records(account).await? {
        if !record.actions.is_empty() {
            let arn = format!("arn:aws:iam::{account}:{}", record.caller);
            state.contained.insert(arn, record.actions.len());
        }
    }
    Ok(())
}

/// What an import into Security Hub did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    /// Failed findings imported (new or updated).
    pub imported: usize,
    /// The tool's findings no longer true, archived.
    pub archived: usize,
}

/// Imports `a`'s failed findings into Security Hub (a finding already there is updated,
/// keeping when it was first found) and archives the tool's findings no longer true.
pub async fn to_security_hub<P: SecurityHub>(
    ports: &P,
    a: &crate::assess::Assessment,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Imported, PortError> {
    let active = ports.active_findings(&a.account).await?;
    let plan = crate::security_hub::plan(a, &ports.hub_region(), &active, now);
    ports.import_findings(&plan.import).await?;
    ports
        .archive_findings(&a.account, &plan.archive, now)
        .await?;
    Ok(Imported {
        imported: plan.import.len(),
        archived: plan.archive.len(),
    })
}
