//! Where the commands get their configuration and their AWS clients (the revoker's, as
//! its Lambda starts, or the pruner's), and the log its person reads. The CLI reads its
//! settings only here.

use warden_aws::{AwsAccount, AwsMembers};
use warden_core::config::Environment;
use warden_core::config::{Config, ConfigError};
use warden_core::ports::Unreachable;
use warden_core::prune::PruneConfig;

use crate::CliError;

tokio::task_local! {
    /// `--account ID`: the member account the command acts in (central mode), through
    /// its member role; unset, the account of the caller's credentials. `--all-accounts
    /// restore` sets it for each account in turn.
    static ACCOUNT: Option<String>;
}

/// Runs `command` in `account` (`None`: the caller's own account): every setting and
/// client the command reads is that account's.
pub async fn in_account<F: std::future::Future>(account: Option<String>, command: F) -> F::Output {
    ACCOUNT.scope(account, command).await
}

/// `home`'s ports in the chosen account: unchanged without `--account` (or when it names
/// the caller's own account), else through the member role `role` there.
async fn in_chosen(
    sdk: &warden_aws::SdkConfig,
    home: AwsAccount,
    role: Option<&str>,
) -> Result<(AwsAccount, Option<String>), CliError> {
    let Some(account) = ACCOUNT.try_with(Clone::clone).ok().flatten() else {
        return Ok((home, None));
    };
    if home.account_id().await? == account {
        return Ok((home, None));
    }
    let Some(role) = role else {
        return Err(CliError::Failed(format!(
            "--account {account}: set MEMBER_ROLE_NAME, the member role the CLI acts through in a member account (central mode)"
        )));
    };
    match AwsMembers::new(sdk, home, role).account(&account).await {
        Ok(member) => Ok((member, Some(account))),
        Err(Unreachable::NotMember(why) | Unreachable::Unusable(why)) => Err(CliError::Failed(
            format!("--account {account}: not onboarded: {why}"),
        )),
        Err(Unreachable::Transient(e)) => Err(e.into()),
    }
}

/// The revoker's configuration, its clients and what its start-up learns and checks, as
/// the Lambda starts.
pub async fn setup() -> Result<(Config, Environment, AwsAccount), CliError> {
    connect(Config::from_env()?).await
}

/// [`setup`], or `None` where the revoker is not configured (only the pruner is
/// deployed): the configuration misses DENY_POLICY_ARN.
pub async fn setup_if_configured() -> Result<Option<(Config, Environment, AwsAccount)>, CliError> {
    match Config::from_env() {
        Err(ConfigError::Missing {
            var: "DENY_POLICY_ARN",
        }) => Ok(None),
        config => Ok(Some(connect(config?).await?)),
    }
}

async fn connect(config: Config) -> Result<(Config, Environment, AwsAccount), CliError> {
    let sdk = warden_aws::load_sdk_config().await;
    let home = AwsAccount::for_revoker(&sdk, &config);
    let role = config.member_role.clone();
    let (account, member) = in_chosen(&sdk, home, role.as_deref()).await?;
    let config = match &member {
        Some(id) => warden_core::central::in_account(&config, id),
        None => config,
    };
    let env = account.discover(&config).await?;
    // EXEMPT_PRINCIPALS known by unique id, as the Lambda's start records them (a
    // listing not recorded yet is recorded here; one whose name was taken is said).
    match warden_core::vouch::ensure_listed(&account, &env, &config).await {
        Ok(problems) => {
            for problem in problems {
                eprintln!("warden: warning: {problem}");
            }
        }
        Err(e) => {
            eprintln!("warden: warning: EXEMPT_PRINCIPALS could not be recorded by unique id: {e}")
        }
    }
    match warden_core::vouch::ensure_admin_group(&account, &env.account_id, &config.admin_group)
        .await
    {
        Ok(Some(what)) => eprintln!("warden: warning: {what}"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("warden: warning: the admin group could not be checked by unique id: {e}")
        }
    }
    Ok((config, env, account))
}

/// The pruner's clients (in the `--account` chosen, through the member role).
pub async fn pruner_account(cfg: &PruneConfig) -> Result<AwsAccount, CliError> {
    let sdk = warden_aws::load_sdk_config().await;
    let home = AwsAccount::for_pruner(&sdk, cfg);
    Ok(in_chosen(&sdk, home, cfg.member_role.as_deref()).await?.0)
}

/// Plain-text logs on standard error, for a person: `-v` info, `-vv` debug (or
/// WARDEN_LOG's filter); colour only at a terminal, and never with NO_COLOR.
pub fn logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!(
                    "warn,warden_core={level},warden_aws={level}"
                ))
            }),
        )
        .init();
}

/// `ACCOUNTS` (central mode): the accounts `--all-accounts` covers, or `None` for the
/// organization's active accounts.
pub fn accounts_list() -> Result<Option<Vec<String>>, CliError> {
    let Ok(raw) = std::env::var("ACCOUNTS") else {
        return Ok(None);
    };
    let list: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = list
        .iter()
        .find(|a| !warden_core::central::is_account_id(a))
    {
        return Err(CliError::Failed(format!(
            "ACCOUNTS=`{raw}` is invalid: `{bad}` is not a twelve-digit account id"
        )));
    }
    Ok((!list.is_empty()).then_some(list))
}
