//! The pruner's work: one pruning pass over a set of principals, the plan of
//! [`crate::prune`] applied through the ports (this file); the operator's lift
//! (`lift`); the run's digest (`digest`); a scheduled run, inline or fanned out in
//! chunks, with the daily canary (`run`); central mode's run over the organization's
//! accounts (`central`).

mod central;
mod credentials;
mod digest;
mod lift;
mod run;
mod security_hub;

pub use central::{account_failed, run_member_chunk, start_central};
pub use credentials::{lift_credentials, read_report, CredentialsLifted};
pub use digest::{digest, send_digest};
pub use lift::lift;
pub use run::{pack, run_chunk, start, write_canary, Chunk, Started, CHUNK_BYTES_MAX};
pub use security_hub::import_assessment;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use crate::config::{tags, Mode};
use crate::ports::{
    AccessAdvisor, Authorizations, Enforcer, Ledger, Notifier, PortError, PrunePolicies,
    TrustLedger, UserCredentials,
};
use crate::prune::{
    plan, triage, LedgerEntry, Outcome, PruneConfig, PruneDecision, Quotas, Report, Subject,
};
use crate::prune_policy::is_own_policy;

/// What a pass may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// IAM and the ledger.
    All,
    /// Only the ledger's first-seen dates (MODE=report: the grant grace keeps counting).
    Observations,
    /// Nothing (`--dry-run`).
    Nothing,
}

impl Writes {
    pub fn for_mode(mode: Mode, dry_run: bool) -> Self {
        match (dry_run, mode) {
            (true, _) => Writes::Nothing,
            (false, Mode::Report) => Writes::Observations,
            (false, Mode::Enforce) => Writes::All,
        }
    }
}

/// Prunes `subjects`, `cfg.concurrency` at a time. Only a failing ledger read fails
/// the pass (without the ledger, sticky denies would be forgotten); everything else
/// is an outcome per principal.
pub async fn prune<P>(
    ports: &P,
    cfg: &PruneConfig,
    subjects: &[Subject],
    quotas: Quotas,
    now: DateTime<Utc>,
    run_id: &str,
    writes: Writes,
) -> Result<Vec<Outcome>, PortError>
where
    P: AccessAdvisor
        + PrunePolicies
        + Ledger
        + Enforcer
        + TrustLedger
        + Authorizations
        + Notifier
        + UserCredentials,
{
    let arns: Vec<String> = subjects.iter().map(|s| s.arn.clone()).collect();
    let ledger = ports.load(&arns).await?;
    // Trust as the revoker keeps it: a tag or a membership counts only with the ledger.
    let trust = match subjects.first().and_then(|s| s.arn.split(':').nth(4)) {
        Some(account) => {
            crate::vouch::ensure_baseline(ports, account, &cfg.admin_group, &cfg.exempt_tag)
                .await?
                .0
        }
        None => crate::trust::TrustSet::default(),
    };
    let subjects: Vec<Subject> = subjects
        .iter()
        .map(|s| Subject {
            // Trusted for a status only as this very principal (its unique id).
            trusted: trust
                .of(s.kind, &s.name)
                .into_iter()
                .filter(|(_, e)| {
                    e.unique_id.is_none() || s.unique_id.is_none() || e.unique_id == s.unique_id
                })
                .map(|(status, _)| status)
                .collect(),
            ..s.clone()
        })
        .collect();
    let mut outcomes: Vec<Outcome> = stream::iter(&subjects)
        .map(|subject| {
            prune_one(
                ports,
                cfg,
                subject,
                ledger.get(&subject.arn),
                quotas,
                now,
                run_id,
                writes,
            )
        })
        .buffer_unordered(cfg.concurrency.max(1))
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.principal.cmp(&b.principal));
    Ok(outcomes)
}

/// One principal: its unused credentials (users), then its unused services.
#[allow(clippy::too_many_arguments)]
async fn prune_one<P>(
    ports: &P,
    cfg: &PruneConfig,
    subject: &Subject,
    previous: Option<&LedgerEntry>,
    quotas: Quotas,
    now: DateTime<Utc>,
    run_id: &str,
    writes: Writes,
) -> Outcome
where
    P: AccessAdvisor + PrunePolicies + Ledger + Enforcer + UserCredentials,
{
    // The same guards as the services' (an exempt principal, an admin unless
    // PRUNE_ADMINS); a young user has no old credential to judge.
    let exempt = matches!(triage(subject, cfg, now), Some((PruneDecision::Exempt, _)));
    let (credentials, written) = if exempt {
        (Vec::new(), None)
    } else {
        credentials::keep_credentials(ports, cfg, subject, previous, now, run_id, writes).await
    };
    let mut out = prune_services(
        ports,
        cfg,
        subject,
        written.as_ref().or(previous),
        quotas,
        now,
        run_id,
        writes,
    )
    .await;
    out.credentials = credentials;
    out
}

#[allow(clippy::too_many_arguments)]
async fn prune_services<P>(
    ports: &P,
    cfg: &PruneConfig,
    subject: &Subject,
    previous: Option<&LedgerEntry>,
    quotas: Quotas,
    now: DateTime<Utc>,
    run_id: &str,
    writes: Writes,
) -> Outcome
where
    P: AccessAdvisor + PrunePolicies + Ledger + Enforcer,
{
    let denied_before: Vec<String> = previous
        .map(|p| p.denied.iter().cloned().collect())
        .unwrap_or_default();
    if let Some((decision, reason)) = triage(subject, cfg, now) {
        let mut out = Outcome::new(subject, decision, Some(reason));
        out.denied_services = denied_before;
        out.policy_arns = previous.map(|p| p.policy_arns.clone()).unwrap_or_default();
        return out;
    }
    // A deny policy of this principal that the ledger does not know (a lost or
    // restored-from-backup ledger): adopt its services, never drop them.
    let unknown: Vec<&String> = subject
        .attached
        .iter()
        .filter(|a| is_own_policy(a, &cfg.policy_prefix, subject.kind, &subject.name))
        .filter(|a| !previous.is_some_and(|p| p.policy_arns.contains(a)))
        .collect();
    let mut adopted: Option<LedgerEntry> = None;
    if !unknown.is_empty() {
        let mut entry = previous
            .cloned()
            .unwrap_or_else(|| LedgerEntry::new(&subject.arn));
        for arn in unknown {
            match ports.denied_services(arn).await {
                Ok(Some(services)) => {
                    entry.denied.extend(services);
                    entry.policy_arns.push(arn.clone());
                }
                Ok(None) => {}
                Err(e) => return failed(Outcome::new(subject, PruneDecision::Failed, None), &e),
            }
        }
        tracing::warn!(principal = %subject.arn, denied = ?entry.denied, "adopted deny policies the ledger did not know");
        adopted = Some(entry);
    }
    let previous = adopted.as_ref().or(previous);

    let report = ports.report(&subject.arn, cfg.report_timeout).await;
    if let Report::Unavailable(why) = &report {
        tracing::warn!(principal = %subject.arn, reason = %why, "no usable Access Advisor report");
    }
    let mut planned = plan(
        subject,
        &report,
        previous,
        cfg,
        quotas.of(subject.kind),
        now,
        run_id,
    );
    if planned.ledger.is_none() {
        planned.ledger = adopted.clone();
    }
    let mut out = Outcome::new(subject, planned.decision, planned.reason.clone());
    out.unused_for = planned.unused_for;
    out.denied_services = planned.deny.iter().cloned().collect();
    out.newly_denied = planned.newly_denied.iter().cloned().collect();
    out.policy_arns = match &planned.ledger {
        Some(l) if planned.decision.writes() || planned.decision == PruneDecision::Unchanged => {
            l.policy_arns.clone()
        }
        _ => previous.map(|p| p.policy_arns.clone()).unwrap_or_default(),
    };

    match writes {
        Writes::Nothing => return out,
        Writes::Observations => {
            let before = previous
                .cloned()
                .unwrap_or_else(|| LedgerEntry::new(&subject.arn));
            if let Some(observed) = before.observations_of(planned.ledger.as_ref()) {
                if let Err(e) = ports.save(&observed).await {
                    return failed(out, &e);
                }
            }
            if planned.decision.writes() {
                out.reason = Some("MODE=report: nothing written".into());
            }
            return out;
        }
        Writes::All => {}
    }

    let target = subject.target();
    let applied = async {
        for policy in &planned.policies {
            ports.put_policy(policy, &subject.arn).await?;
            ports.attach_policy(&target, &policy.arn).await?;
        }
        for arn in &planned.remove {
            ports.detach_policy(&target, arn).await?;
            if is_own_policy(arn, &cfg.policy_prefix, subject.kind, &subject.name) {
                ports.delete_policy(arn).await?;
            }
        }
        if let Some(entry) = &planned.ledger {
            ports.save(entry).await?;
        }
        // Recorded on the principal too, when there is room (the ledger's history is the
        // record: a full tag set, the principal's doing, never blocks pruning).
        if planned.decision.writes() {
            if planned.deny.is_empty() {
                ports.untag(&target, tags::PRUNED).await?;
            } else {
                let at = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                let run: String = run_id.chars().take(256).collect();
                match ports
                    .tag(&target, &[(tags::PRUNED_AT, at), (tags::PRUNED_RUN, run)])
                    .await
                {
                    Err(e) if e.is_transient() => return Err(e),
                    Err(e) => tracing::warn!(principal = %subject.arn, error = %e, "pruning tags not written (the ledger holds the record)"),
                    Ok(()) => {}
                }
            }
        }
        Ok::<(), PortError>(())
    }
    .await;
    match applied {
        Ok(()) => {
            if planned.decision.writes() {
                tracing::info!(
                    principal = %subject.arn,
                    decision = planned.decision.as_str(),
                    newly_denied = ?planned.newly_denied,
                    "deny policy written"
                );
            }
            out
        }
        Err(e @ PortError::LimitExceeded { .. }) => {
            out.decision = PruneDecision::Skipped;
            out.reason = Some(format!("managed-policy quota reached: {e}"));
            out
        }
        Err(e) => failed(out, &e),
    }
}

fn failed(mut out: Outcome, e: &PortError) -> Outcome {
    tracing::error!(principal = %out.principal, error = %e, "pruning failed");
    out.decision = PruneDecision::Failed;
    out.reason = Some(e.to_string());
    out
}
