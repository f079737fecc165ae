//! SECURITY_HUB=true: at the end of each scheduled run, the account's IAM assessment
//! imported into AWS Security Hub (the principals' inactivity left out: the run asked
//! Access Advisor already, and asking again would double its calls).

use chrono::{DateTime, Utc};

use crate::ports::PrunerPorts;
use crate::prune::PruneConfig;

/// Imports the assessment of `account`; a failure is logged and said, never fails the
/// run (its work is done, and the next run imports again).
pub async fn import_assessment<P: PrunerPorts>(
    ports: &P,
    cfg: &PruneConfig,
    account: &str,
    now: DateTime<Utc>,
) {
    if !cfg.security_hub {
        return;
    }
    let imported = async {
        let facts = crate::assessor::gather(ports, account, cfg.report_timeout, 0).await?;
        let assessment = crate::assess::assess(&facts, now);
        crate::assessor::to_security_hub(ports, &assessment, now).await
    }
    .await;
    match imported {
        Ok(done) => tracing::info!(
            account,
            imported = done.imported,
            archived = done.archived,
            "assessment imported into Security Hub"
        ),
        Err(e) => tracing::error!(account, error = %e, "assessment not imported into Security Hub"),
    }
}
