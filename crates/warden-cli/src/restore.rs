//! `warden restore`: the revoker's deny and what was contained, then the pruner's deny.

use std::collections::BTreeSet;
use std::process::ExitCode;

use chrono::Utc;
use warden_core::error::DomainError;
use warden_core::ports::PortError;
use warden_core::principal::{EntityKind, Target};
use warden_core::prune::PruneConfig;
use warden_core::pruner::{lift, lift_credentials};
use warden_core::revoker::{restore, restore_session};

use crate::setup::{pruner_account, setup_if_configured};
use crate::CliError;

/// A principal that does not exist: an error (one account: a name mistyped), or said
/// in one line (`--all-accounts`: most accounts do not have it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    Error,
    Said,
}

/// What a restore is limited to (nothing: everything the tool did to the principal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Only {
    /// Services lifted from the pruner's deny.
    pub services: Vec<String>,
    /// Access keys the pruner deactivated.
    pub keys: Vec<String>,
    /// The console password the pruner removed.
    pub password: bool,
}

impl Only {
    fn whole(&self) -> bool {
        self.services.is_empty() && self.keys.is_empty() && !self.password
    }

    /// The credentials asked for (`None`: all of them, in a whole restore); empty when
    /// only services are.
    fn credentials(&self) -> Option<BTreeSet<String>> {
        if self.whole() {
            return None;
        }
        let mut wanted: BTreeSet<String> = self.keys.iter().cloned().collect();
        if self.password {
            wanted.insert(warden_core::credential_plan::PASSWORD.to_owned());
        }
        Some(wanted)
    }
}

pub async fn restore_one(
    kind: EntityKind,
    name: String,
    only: &Only,
    caller_only: bool,
    absent: Absent,
) -> Result<ExitCode, CliError> {
    let services = only.services.as_slice();
    let target = Target {
        kind,
        arn: String::new(),
        name,
    };
    // The revoker's deny: only for a whole restore, and only where the revoker is
    // configured (DENY_POLICY_ARN).
    let mut did_something = false;
    let revoker = if only.whole() {
        setup_if_configured().await?
    } else {
        None
    };
    if let Some((config, env, account)) = revoker {
        let target = Target {
            arn: format!(
                "arn:aws:iam::{}:{}/{}",
                env.account_id,
                kind.as_str(),
                target.name
            ),
            ..target.clone()
        };
        let report = match restore(&account, &config, &env, &target, caller_only).await {
            Err(DomainError::NoSuchPrincipal { .. }) if absent == Absent::Said => {
                println!("{target} does not exist here: nothing to do.");
                return Ok(ExitCode::SUCCESS);
            }
            other => other?,
        };
        if report.restored {
            did_something = true;
            println!("Restored {target}:");
            for action in &report.actions {
                println!("  - {action}");
            }
            for (user, password) in &report.secrets {
                show_once(user, password);
            }
            if report.status_put_back {
                println!(
                    "What was put back is not trusted for it: if it should be, run `warden trust --{} {}`.",
                    kind.as_str(),
                    target.name
                );
            }
        }
    }
    if caller_only {
        if !did_something {
            println!("{target} carries no iam-warden deny: nothing to do.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The pruner's ports and the principal's ARN, once for its credentials and its deny.
    let pruner = match in_pruner(&target).await {
        Err(CliError::Aws(PortError::NoSuchEntity { .. }))
            if absent == Absent::Said && !did_something =>
        {
            println!("{target} does not exist here: nothing to do.");
            return Ok(ExitCode::SUCCESS);
        }
        other => other?,
    };
    let credentials = only.credentials();
    if kind == EntityKind::User && credentials.as_ref().is_none_or(|c| !c.is_empty()) {
        did_something |= put_back_credentials(&pruner, credentials.as_ref()).await?;
    }
    if !only.whole() && services.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let lifted = lift_pruner_deny(&pruner, services).await?;
    match lifted {
        Some(lifted) if !lifted.is_empty() => {
            did_something = true;
            let list: Vec<&str> = lifted.iter().map(String::as_str).collect();
            println!(
                "Lifted the pruner's deny of {} from {target}.",
                list.join(", ")
            );
        }
        Some(_) if !services.is_empty() => {
            return Err(CliError::Failed(format!(
                "{target}: the pruner does not deny {}",
                services.join(", ")
            )))
        }
        _ => {}
    }
    if !did_something {
        println!("{target} carries no iam-warden deny: nothing to do.");
    }
    Ok(ExitCode::SUCCESS)
}

/// `warden restore --role R --session S`: that session's deny and what its calls made.
pub async fn restore_one_session(role: String, session: &str) -> Result<ExitCode, CliError> {
    if !warden_core::session::is_session_name(session) {
        return Err(CliError::Failed(format!(
            "--session `{session}` is not a role session name (2 to 64 of letters, digits and `+=,.@_-`): give the part after the role name in the session's ARN"
        )));
    }
    let Some((config, env, account)) = setup_if_configured().await? else {
        return Err(CliError::Failed(
            "--session lifts the revoker's deny of a session: set DENY_POLICY_ARN (the revoker's configuration) first".into(),
        ));
    };
    let target = Target {
        kind: EntityKind::Role,
        arn: format!("arn:aws:iam::{}:role/{role}", env.account_id),
        name: role,
    };
    let report = restore_session(&account, &config, &env, &target, session).await?;
    if report.restored {
        println!("Restored session `{session}` of {target}:");
        for action in &report.actions {
            println!("  - {action}");
        }
    } else {
        println!("Session `{session}` of {target} carries no iam-warden deny: nothing to do.");
    }
    Ok(ExitCode::SUCCESS)
}

/// A new console password, shown once on the operator's terminal (never on standard
/// output, which may be a log): without a terminal, it is not shown at all and the
/// operator sets one.
fn show_once(user: &str, password: &str) {
    use std::io::Write as _;
    match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        Ok(mut tty) => {
            let _ = writeln!(
                tty,
                "  New console password for user/{user} (shown once; it must be changed at the next sign-in): {password}"
            );
        }
        Err(_) => println!(
            "  No terminal to show user/{user}'s new console password on: it was not shown. Set one: aws iam update-login-profile --user-name {user} --password <new> --password-reset-required"
        ),
    }
}

/// The pruner's configuration and ports, and the principal with its ARN in the account.
type Pruner = (PruneConfig, warden_aws::AwsAccount, Target);

/// The pruner's configuration and ports, and `target` with its ARN in the account.
async fn in_pruner(target: &Target) -> Result<Pruner, CliError> {
    let cfg = PruneConfig::from_env()?;
    let account = pruner_account(&cfg).await?;
    let arn = account.principal_arn(target.kind, &target.name).await?;
    let target = Target {
        arn,
        ..target.clone()
    };
    Ok((cfg, account, target))
}

/// Puts back the credentials the pruner took from user `target` (`wanted`, or all of
/// them). Whether it put back any; asking for one it did not take is an error.
async fn put_back_credentials(
    (_, account, target): &Pruner,
    wanted: Option<&BTreeSet<String>>,
) -> Result<bool, CliError> {
    let done = match lift_credentials(account, target, wanted, Utc::now()).await {
        Ok(done) => done,
        // No ledger table: the pruner is not in use.
        Err(PortError::NoSuchEntity {
            operation: "BatchGetItem",
            ..
        }) => Default::default(),
        Err(e) => return Err(e.into()),
    };
    for c in &done.lifted {
        if done.gone.contains(c) {
            println!("{target}: {c} no longer exists; its record is closed.");
        } else if c == warden_core::credential_plan::PASSWORD {
            println!(
                "Gave {target} a console password again (the pruner had removed it as unused)."
            );
        } else {
            println!("Reactivated the access key {c} of {target} (the pruner had deactivated it as unused).");
        }
    }
    if let Some(password) = &done.password {
        show_once(&target.name, password);
    }
    if let Some(wanted) = wanted {
        let missing: Vec<&String> = wanted.iter().filter(|w| !done.lifted.contains(w)).collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|m| m.as_str()).collect();
            return Err(CliError::Failed(format!(
                "{target}: the pruner did not take {} (nothing to put back)",
                names.join(", ")
            )));
        }
    }
    Ok(!done.lifted.is_empty())
}

/// Lifts the pruner's deny of `target` (all of it, or `services`). `Ok(None)` when the
/// pruner is not in use (no ledger table) or never denied anything to `target`.
async fn lift_pruner_deny(
    (cfg, account, target): &Pruner,
    services: &[String],
) -> Result<Option<BTreeSet<String>>, CliError> {
    let wanted: Option<BTreeSet<String>> =
        (!services.is_empty()).then(|| services.iter().map(|s| s.to_lowercase()).collect());
    match lift(account, cfg, target, wanted.as_ref(), Utc::now()).await {
        Ok(lifted) => Ok(Some(lifted)),
        Err(PortError::NoSuchEntity {
            operation: "BatchGetItem",
            ..
        }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
