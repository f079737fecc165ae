//! `warden assess`: the account's IAM assessment, as text (people), JSON (machines) or one
//! self-contained HTML page (an audit's attachment); with --security-hub, the findings
//! imported into AWS Security Hub.

use std::process::ExitCode;

use chrono::Utc;
use warden_core::assess::assess as check_all;
use warden_core::assess_report::{html, json, text};
use warden_core::assessor::{gather, pruner_state, revoker_state, to_security_hub};
use warden_core::ports::PortError;
use warden_core::prune::PruneConfig;

use crate::setup::{pruner_account, setup_if_configured};
use crate::CliError;

/// How the assessment is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
}

pub async fn run_assess(
    format: Format,
    output: Option<std::path::PathBuf>,
    security_hub: bool,
) -> Result<ExitCode, CliError> {
    let cfg = PruneConfig::from_env()?;
    let account = pruner_account(&cfg).await?;
    let account_id = account.account_id().await?;
    eprintln!("warden: assessing account {account_id} (the credential report, every principal's policies, Access Advisor {} at a time)", cfg.concurrency);
    let mut facts = gather(&account, &account_id, cfg.report_timeout, cfg.concurrency).await?;
    // iam-warden's own state, where its ledgers are.
    let arns: Vec<String> = facts.principals.iter().map(|p| p.arn.clone()).collect();
    match pruner_state(&account, &arns, &mut facts.warden).await {
        Ok(()) => {}
        // No ledger table: the pruner is not deployed here.
        Err(PortError::NoSuchEntity { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    if let Some((config, env, revoker)) = setup_if_configured().await? {
        revoker_state(
            &revoker,
            &env.account_id,
            &config.deny_policy_arn,
            &config.inline_policy_name,
            &mut facts.warden,
        )
        .await?;
    }
    let assessment = check_all(&facts, Utc::now());
    let written = match format {
        Format::Text => text(&assessment),
        Format::Json => format!("{}\n", json(&assessment)),
        Format::Html => html(&assessment),
    };
    match output {
        Some(path) => {
            std::fs::write(&path, written)
                .map_err(|e| CliError::Failed(format!("--output {}: {e}", path.display())))?;
            eprintln!("warden: written to {}", path.display());
        }
        None => print!("{written}"),
    }
    if security_hub {
        let done = to_security_hub(&account, &assessment, Utc::now()).await?;
        eprintln!(
            "warden: Security Hub: {} finding(s) imported, {} archived (no longer true)",
            done.imported, done.archived
        );
    }
    let s = assessment.summary();
    eprintln!(
        "warden: {}/{} checks passed; {} failed finding(s)",
        s.checks_passed,
        s.checks_evaluated,
        s.failed.values().sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}
