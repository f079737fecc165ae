//! `warden init`: the ledger table and the trust baseline.

use std::process::ExitCode;

use warden_core::prune::PruneConfig;

use crate::setup::pruner_account;
use crate::CliError;

/// For `--help`.
pub const INIT_HELP: &str = "\
`warden init` reads the pruner's configuration from the environment and uses:
  LEDGER_TABLE (default iam-warden-ledger), ADMIN_GROUP_NAME (Administrators),
  EXEMPT_TAG (iam-warden:exempt=true), TOPIC_ARN (for the baseline's notice).
The pruner's other settings are checked too: see `warden prune --help`.";

pub async fn init() -> Result<ExitCode, CliError> {
    let cfg = PruneConfig::from_env()?;
    let account = pruner_account(&cfg).await?;
    if account.ensure_ledger_table().await? {
        println!("Created the ledger table `{}`.", cfg.ledger_table);
    } else {
        println!("The ledger table `{}` exists.", cfg.ledger_table);
    }
    let account_id = account.account_id().await?;
    let (set, taken) = warden_core::vouch::ensure_baseline(
        &account,
        &account_id,
        &cfg.admin_group,
        &cfg.exempt_tag,
    )
    .await?;
    if taken {
        println!(
            "Took the trust baseline of account {account_id}: {} trusted status(es), members of `{}` and holders of `{}={}` as they are now:",
            set.entries.len(),
            cfg.admin_group,
            cfg.exempt_tag.0,
            cfg.exempt_tag.1
        );
        for e in set.entries.values() {
            println!("  - {} {}/{}", e.status, e.kind.as_str(), e.name);
        }
        println!("From now on only a trusted admin's grant, or `warden trust`, adds to it.");
    } else {
        println!(
            "The trust baseline of account {account_id} exists ({} trusted status(es)): `warden status` lists it.",
            set.entries.len()
        );
    }
    // ROLE_MODE=session (the revoker's configuration, when set here): the roles whose
    // sessions wrote IAM in the last week, trusted so that no pipeline is locked out.
    if let Some((config, env, revoker)) = crate::setup::setup_if_configured().await? {
        // SESSION_SCP=on: Organizations as the revoker will need it, checked now.
        if config.session_scp {
            let management = revoker.check_session_scp().await.map_err(|e| {
                CliError::Failed(format!("SESSION_SCP=on cannot work from this account: {e}"))
            })?;
            println!(
                "SESSION_SCP=on: the organization has SCPs enabled and this account can manage them (management account {management}, which SCPs do not restrict)."
            );
        }
        for e in warden_core::vouch::ensure_permission_sets(&revoker, &config, &env).await? {
            println!(
                "Trusted role/{} ({}); withdraw: warden trust --role {} --withdraw",
                e.name, e.provenance, e.name
            );
        }
        if let Some(pipelines) = warden_core::vouch::ensure_sessions_baseline(
            &revoker,
            &config,
            &env,
            warden_core::vouch::PIPELINE_EVENTS_AT_INIT,
        )
        .await?
        {
            println!(
                "Took the sessions baseline: {} role(s) whose sessions wrote IAM in the last {} days are trusted (their sessions exempt):",
                pipelines.len(),
                warden_core::trust::PIPELINE_DAYS
            );
            for e in &pipelines {
                println!(
                    "  - role/{} ({}); withdraw: warden trust --role {} --withdraw",
                    e.name, e.provenance, e.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
