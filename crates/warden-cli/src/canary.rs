//! `warden canary`: the daily canary's tag, written by hand.

use std::process::ExitCode;

use warden_core::principal::{EntityKind, Target};

use crate::setup::setup;
use crate::CliError;

pub async fn canary() -> Result<ExitCode, CliError> {
    let (config, _env, account) = setup().await?;
    let Some(role) = config.canary_role.clone() else {
        return Err(CliError::Failed(
            "CANARY_ROLE_NAME is not set: there is no canary role to tag".into(),
        ));
    };
    let target = Target {
        kind: EntityKind::Role,
        name: role.clone(),
        arn: String::new(),
    };
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    warden_core::ports::Enforcer::tag(
        &account,
        &target,
        &[(warden_core::tamper::CANARY_TAG, stamp.clone())],
    )
    .await?;
    println!("Tagged role/{role} `{}={stamp}`: the revoker records it when CloudTrail delivers it (warden status).", warden_core::tamper::CANARY_TAG);
    Ok(ExitCode::SUCCESS)
}
