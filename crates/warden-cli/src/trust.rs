//! `warden trust`, and the trusted set in `warden status`.

use std::process::ExitCode;

use warden_core::config::Config;
use warden_core::principal::{EntityKind, Target};
use warden_core::trust::TrustSet;
use warden_core::vouch::vouch;

use crate::{print_table, setup, CliError};

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
            match e.status {
                warden_core::trust::Status::Admin => format!("member of `{}`", config.admin_group),
                warden_core::trust::Status::Exempt =>
                    format!("tagged `{}={}`", config.exempt_tag.0, config.exempt_tag.1),
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The trusted set as JSON rows.
pub fn rows_json(set: Option<&TrustSet>) -> Vec<serde_json::Value> {
    set.map(|s| {
        s.entries
            .values()
            .map(|e| {
                serde_json::json!({
                    "principal": format!("{}/{}", e.kind.as_str(), e.name),
                    "kind": e.kind.as_str(),
                    "name": e.name,
                    "status": e.status,
                    "provenance": e.provenance,
                    "since": e.at.to_rfc3339(),
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The trusted set as a table.
pub fn print_trusted(set: Option<&TrustSet>, config: &Config) {
    let Some(set) = set else {
        println!("No trust baseline yet: run `warden init` (until then nobody is trusted).");
        return;
    };
    if set.entries.is_empty() {
        println!("Nobody is trusted: every IAM write is decided as a non-admin's.");
        return;
    }
    let rows: Vec<[String; 4]> = set
        .entries
        .values()
        .map(|e| {
            [
                format!("{}/{}", e.kind.as_str(), e.name),
                e.status.to_string(),
                e.provenance.to_string(),
                e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ]
        })
        .collect();
    print_table(&["TRUSTED", "AS", "PROVENANCE", "SINCE"], &rows);
    println!(
        "\n{} trusted status(es): admins of `{}` and holders of `{}={}` count only when listed here.",
        rows.len(),
        config.admin_group,
        config.exempt_tag.0,
        config.exempt_tag.1
    );
}
