//! `--all-accounts` (central mode): `warden status` as one table for the organization,
//! `warden prune` as a pass in every account with one digest, `warden restore` in every
//! account. Each member account is
//! reached through its member role; one that cannot be is a row that says why, and the
//! others go on.

use std::process::ExitCode;

use warden_aws::{AwsAccount, AwsMembers};
use warden_core::config::Config;
use warden_core::ports::{Canaries, Inventory, Revocations, TrustLedger, Unreachable};
use warden_core::principal::EntityKind;
use warden_core::prune::PruneConfig;

use crate::prune::{finish, parse_now, pass_in};
use crate::restore::{restore_one, Absent, Only};
use crate::setup::{accounts_list, in_account};
use crate::table::print_table;
use crate::CliError;

/// The accounts: ACCOUNTS, else the organization's active accounts.
async fn accounts(members: &AwsMembers) -> Result<Vec<String>, CliError> {
    match accounts_list()? {
        Some(list) => Ok(list),
        None => Ok(members.active_accounts().await?),
    }
}

fn role(member_role: Option<&String>) -> Result<&str, CliError> {
    member_role.map(String::as_str).ok_or_else(|| {
        CliError::Failed(
            "--all-accounts: set MEMBER_ROLE_NAME, the member role the CLI acts through in each member account (central mode)".into(),
        )
    })
}

fn why(u: Unreachable) -> String {
    match u {
        Unreachable::NotMember(w) => format!("not onboarded: {w}"),
        Unreachable::Unusable(w) => w,
        Unreachable::Transient(e) => e.to_string(),
    }
}

/// One account's line of the organization's status.
#[derive(Debug)]
struct Row {
    account: String,
    revoked: Option<usize>,
    revoked_sessions: Option<usize>,
    trusted: Option<usize>,
    canary_seen_at: Option<String>,
    canary_late: bool,
    error: Option<String>,
}

impl Row {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "account": self.account, "revoked": self.revoked,
            "revoked_sessions": self.revoked_sessions, "trusted": self.trusted,
            "canary_seen_at": self.canary_seen_at, "canary_late": self.canary_late,
            "error": self.error,
        })
    }
}

async fn row(members: &AwsMembers, config: &Config, account: &str) -> Row {
    let mut row = Row {
        account: account.to_owned(),
        revoked: None,
        revoked_sessions: None,
        trusted: None,
        canary_seen_at: None,
        canary_late: false,
        error: None,
    };
    let read = async {
        let member = members.account(account).await.map_err(why)?;
        let local = warden_core::central::in_account(config, account);
        let revoked = member
            .revoked(&local.deny_policy_arn, &local.inline_policy_name)
            .await
            .map_err(|e| e.to_string())?;
        let sessions = Revocations::revocations(&member, account)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.session.is_some())
            .count();
        let trusted = member.trust_set(account).await.map_err(|e| e.to_string())?;
        let canary = member
            .last_canary(account)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((revoked.len(), sessions, trusted, canary))
    };
    match read.await {
        Ok((revoked, sessions, trusted, canary)) => {
            row.revoked = Some(revoked);
            row.revoked_sessions = Some(sessions);
            row.trusted = trusted.map(|t| t.entries.len());
            row.canary_seen_at = canary.map(|(_, seen)| seen.to_rfc3339());
            row.canary_late = config.canary_role.is_some()
                && canary.is_none_or(|(_, seen)| {
                    chrono::Utc::now() - seen
                        > chrono::TimeDelta::hours(crate::status::CANARY_MAX_AGE_HOURS)
                });
        }
        Err(e) => row.error = Some(e),
    }
    row
}

/// `warden status --all-accounts`: one line per account. Exits non-zero when an account
/// could not be read.
pub async fn status_all(json: bool) -> Result<ExitCode, CliError> {
    let config = Config::from_env()?;
    let sdk = warden_aws::load_sdk_config().await;
    let home = AwsAccount::for_revoker(&sdk, &config);
    let own = home.account_id().await?;
    let members =
        AwsMembers::new(&sdk, home, role(config.member_role.as_ref())?).with_home_account(&own);
    let accounts = accounts(&members).await?;
    let mut rows = Vec::with_capacity(accounts.len());
    for (i, account) in accounts.iter().enumerate() {
        eprintln!("warden: {}/{} account {account}", i + 1, accounts.len());
        rows.push(row(&members, &config, account).await);
    }
    let unread = rows.iter().filter(|r| r.error.is_some()).count();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows.iter().map(Row::json).collect::<Vec<_>>())
                .map_err(|e| CliError::Failed(e.to_string()))?
        );
    } else {
        let count = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        let lines: Vec<[String; 6]> = rows
            .iter()
            .map(|r| {
                [
                    r.account.clone(),
                    count(r.revoked),
                    count(r.revoked_sessions),
                    count(r.trusted),
                    match (&r.canary_seen_at, r.canary_late) {
                        (_, true) => {
                            format!("LATE ({})", r.canary_seen_at.as_deref().unwrap_or("never"))
                        }
                        (Some(at), false) => at.clone(),
                        (None, false) => "-".into(),
                    },
                    r.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print_table(
            &[
                "ACCOUNT", "REVOKED", "SESSIONS", "TRUSTED", "CANARY", "NOTE",
            ],
            &lines,
        );
        println!(
            "\n{} account(s), {} principal(s) and {} session(s) revoked{}. One account in detail: warden --account ID status",
            rows.len(),
            rows.iter().filter_map(|r| r.revoked).sum::<usize>(),
            rows.iter().filter_map(|r| r.revoked_sessions).sum::<usize>(),
            if unread > 0 { format!(", {unread} not read") } else { String::new() }
        );
    }
    Ok(if unread > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `warden prune --all-accounts`: a pass in each account, one JSON line per principal,
/// one digest for all. An account that cannot be reached is a failed line and the
/// others go on.
pub async fn prune_all(dry_run: bool, now: Option<String>) -> Result<ExitCode, CliError> {
    let cfg = PruneConfig::from_env()?;
    let now = parse_now(now.as_deref())?;
    let sdk = warden_aws::load_sdk_config().await;
    let home = AwsAccount::for_pruner(&sdk, &cfg);
    let own = home.account_id().await?;
    let members = AwsMembers::new(&sdk, home.clone(), role(cfg.member_role.as_ref())?)
        .with_home_account(&own);
    let accounts = accounts(&members).await?;
    let mut outcomes = Vec::new();
    let mut last = (String::new(), warden_core::pruner::Writes::Nothing);
    for (i, account) in accounts.iter().enumerate() {
        eprintln!("warden: {}/{} account {account}", i + 1, accounts.len());
        let port = match members.account(account).await {
            Ok(port) => port,
            Err(u) => {
                let failed = warden_core::pruner::account_failed(account, &why(u));
                println!(
                    "{}",
                    serde_json::json!({"principal": failed.principal, "decision": "failed", "reason": failed.reason})
                );
                outcomes.push(failed);
                continue;
            }
        };
        match pass_in(&port, &cfg, dry_run, None, now).await {
            Ok((_, done, run_id, writes)) => {
                outcomes.extend(done);
                last = (run_id, writes);
            }
            Err(e) => {
                let failed = warden_core::pruner::account_failed(account, &e.to_string());
                println!(
                    "{}",
                    serde_json::json!({"principal": failed.principal, "decision": "failed", "reason": failed.reason})
                );
                outcomes.push(failed);
            }
        }
    }
    let (run_id, writes) = last;
    let writes = if dry_run {
        warden_core::pruner::Writes::Nothing
    } else if run_id.is_empty() {
        warden_core::pruner::Writes::for_mode(cfg.mode, false)
    } else {
        writes
    };
    let run_id = if run_id.is_empty() {
        format!("cli-{}", now.format("%Y%m%dT%H%M%SZ"))
    } else {
        run_id
    };
    finish(&home, "the organization", &run_id, &outcomes, writes).await
}

/// `warden restore --all-accounts`: the principal restored in each account, one account
/// at a time, each with its own heading; an account where it does not exist or carries
/// nothing of the tool's says so in one line. An account that cannot be reached is said
/// and the others go on; the exit code is non-zero when one could not be restored.
pub async fn restore_all(
    kind: EntityKind,
    name: String,
    only: &Only,
    caller_only: bool,
) -> Result<ExitCode, CliError> {
    let cfg = PruneConfig::from_env()?;
    let sdk = warden_aws::load_sdk_config().await;
    let home = AwsAccount::for_pruner(&sdk, &cfg);
    let members = AwsMembers::new(&sdk, home, role(cfg.member_role.as_ref())?);
    let accounts = accounts(&members).await?;
    let mut failed = Vec::new();
    for account in &accounts {
        println!("== account {account} ==");
        let restored = in_account(
            Some(account.clone()),
            restore_one(kind, name.clone(), only, caller_only, Absent::Said),
        )
        .await;
        if let Err(e) = restored {
            println!("Not restored in account {account}: {e}");
            failed.push(account.clone());
        }
    }
    if failed.is_empty() {
        eprintln!("warden: {} account(s) done", accounts.len());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "warden: {} account(s) done, not restored in {}: run `warden --account ID restore` there once it can be reached",
            accounts.len() - failed.len(),
            failed.join(", ")
        );
        Ok(ExitCode::FAILURE)
    }
}
