//! `warden trust`: the operator vouches for a principal.

use std::process::ExitCode;

use warden_core::principal::{EntityKind, Target};
use warden_core::vouch::{vouch, withdraw};

use crate::setup::setup;
use crate::CliError;

/// `warden trust --user NAME | --role NAME`: records the operator's vouching.
pub async fn run_trust(kind: EntityKind, name: String) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    let target = Target {
        kind,
        arn: format!("arn:aws:iam::{}:{}/{name}", env.account_id, kind.as_str()),
        name,
    };
    // The operator is who runs this: recorded as the entry's provenance.
    let operator = env.caller_arn.clone();
    let entries = vouch(&account, &config, &env, &target, &operator).await?;
    for e in &entries {
        println!(
            "Trusted {target} as {} ({}), vouched for by {operator}.",
            e.status,
            match (&e.status, &e.provenance) {
                (_, warden_core::trust::Provenance::PermissionSet { .. }) =>
                    e.provenance.to_string(),
                (warden_core::trust::Status::Admin, _) =>
                    format!("member of `{}`", config.admin_group),
                (warden_core::trust::Status::Exempt, _) =>
                    format!("tagged `{}={}`", config.exempt_tag.0, config.exempt_tag.1),
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `warden trust --withdraw --user NAME | --role NAME`: the ledger no longer trusts it.
pub async fn run_withdraw(kind: EntityKind, name: String) -> Result<ExitCode, CliError> {
    let (_, env, account) = setup().await?;
    let target = Target {
        kind,
        arn: format!("arn:aws:iam::{}:{}/{name}", env.account_id, kind.as_str()),
        name,
    };
    let entries = withdraw(&account, &env, &target).await?;
    if entries.is_empty() {
        println!("{target} is not trusted: nothing to withdraw.");
    }
    for e in &entries {
        println!(
            "Withdrew the trust of {target} as {} ({}).",
            e.status, e.provenance
        );
    }
    Ok(ExitCode::SUCCESS)
}
