//! `warden prune`: one pruning pass.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use warden_core::ports::{Authorizations, Notifier};
use warden_core::prune::{summary, Outcome, PruneConfig, PruneDecision};
use warden_core::pruner::{digest, prune, send_digest, Writes};

use crate::setup::pruner_account;
use crate::CliError;

/// Principals per ledger read and progress line.
const CHUNK: usize = 250;

pub fn parse_now(raw: Option<&str>) -> Result<DateTime<Utc>, CliError> {
    match raw {
        None => Ok(Utc::now()),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
            })
            .map_err(|_| {
                CliError::Failed(format!(
                    "--now `{v}` is invalid: expected an RFC 3339 time such as 2026-11-24T00:00:00Z, or a date"
                ))
            }),
    }
}

pub async fn run_prune(
    dry_run: bool,
    principal: Option<String>,
    now: Option<String>,
) -> Result<ExitCode, CliError> {
    let cfg = PruneConfig::from_env()?;
    let now = parse_now(now.as_deref())?;
    let account = pruner_account(&cfg).await?;
    let (account_id, outcomes, run_id, writes) =
        pass_in(&account, &cfg, dry_run, principal.as_deref(), now).await?;
    finish(&account, &account_id, &run_id, &outcomes, writes).await
}

/// The digest of the pass (unless a dry run), and the exit code: non-zero when a
/// principal failed.
pub async fn finish(
    account: &warden_aws::AwsAccount,
    label: &str,
    run_id: &str,
    outcomes: &[Outcome],
    writes: Writes,
) -> Result<ExitCode, CliError> {
    let counts = summary(outcomes);
    println!(
        "{}",
        serde_json::json!({ "summary": counts, "run_id": run_id, "principals": outcomes.len(), "dry_run": writes != Writes::All })
    );
    if writes != Writes::Nothing && account.enabled() && !outcomes.is_empty() {
        let notice = digest(label, run_id, outcomes, writes != Writes::All);
        send_digest(account, &notice).await?;
    }
    let failed = counts
        .get(PruneDecision::Failed.as_str())
        .copied()
        .unwrap_or(0);
    Ok(if failed > 0 {
        eprintln!(
            "warden: {failed} principal(s) failed: nothing new denied for them; see `reason`"
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One pruning pass in `account`, one JSON line per principal: the account's id, the
/// outcomes, the run id and what the pass wrote.
pub async fn pass_in(
    account: &warden_aws::AwsAccount,
    cfg: &PruneConfig,
    dry_run: bool,
    principal: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(String, Vec<Outcome>, String, Writes), CliError> {
    // The Lambda's start-up checks: the admin group, the ledger table, the topic.
    let account_id = account.check_pruner(cfg).await?;
    let quotas = account.quotas().await?;
    let mut subjects = account.subjects(cfg.prune_roles).await?;
    if let Some(arn) = principal {
        subjects.retain(|s| s.arn == arn || s.name == arn);
        if subjects.is_empty() {
            return Err(CliError::Failed(format!(
                "--principal `{arn}`: no such user{} in the account",
                if cfg.prune_roles {
                    " or role"
                } else {
                    " (set PRUNE_ROLES=true for roles)"
                }
            )));
        }
    }
    subjects.sort_by(|a, b| a.arn.cmp(&b.arn));
    warden_core::pruner::read_report(account, cfg, &mut subjects).await;
    let run_id = format!("cli-{}", now.format("%Y%m%dT%H%M%SZ"));
    let writes = Writes::for_mode(cfg.mode, dry_run);
    let total = subjects.len();
    eprintln!(
        "warden: pruning {total} principal(s) as of {} (run {run_id}, concurrency {}{})",
        now.to_rfc3339(),
        cfg.concurrency,
        match writes {
            Writes::All => "",
            Writes::Observations => ", MODE=report: IAM unchanged",
            Writes::Nothing => ", dry run: nothing written",
        }
    );
    let mut outcomes = Vec::with_capacity(total);
    for (i, chunk) in subjects.chunks(CHUNK).enumerate() {
        let done = prune(account, cfg, chunk, quotas, now, &run_id, writes).await?;
        for o in &done {
            println!(
                "{}",
                serde_json::json!({
                    "principal": o.principal,
                    "decision": o.decision.as_str(),
                    "denied_services": o.denied_services,
                    "newly_denied": o.newly_denied,
                    "policy_arns": o.policy_arns,
                    "reason": o.reason,
                    "credentials": o.credentials,
                })
            );
        }
        outcomes.extend(done);
        if total > CHUNK {
            eprintln!("warden: {}/{total} principals", (i * CHUNK + chunk.len()));
        }
    }
    Ok((account_id, outcomes, run_id, writes))
}

/// For `--help`.
pub const PRUNE_HELP: &str = "\
The pruner reads its configuration from the environment:
  LEDGER_TABLE (default iam-warden-ledger), UNUSED_DAYS (90), GRANT_GRACE_DAYS (14),
  NEVER_DENY_SERVICES (iam,sts), PRUNE_ROLES (false), PRUNE_ADMINS (false),
  ADMIN_GROUP_NAME, EXEMPT_TAG, PRUNE_POLICY_PREFIX, MODE, CONCURRENCY (8), TOPIC_ARN.";
