//! `warden`: the operators' tool. Runs exactly the Lambda's decision and effect code,
//! configured by the same environment variables.

mod accounts;
mod assess;
mod canary;
mod consume;
mod init;
mod prune;
mod replay;
mod restore;
mod setup;
mod status;
mod table;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};
use warden_aws::StartupError;
use warden_core::principal::EntityKind;

const AFTER_HELP: &str = "\
Configuration comes from the same environment variables as the Lambda functions:
  DENY_POLICY_ARN (required)    the managed deny-all-IAM policy
  ADMIN_GROUP_NAME              members may manage IAM (default: Administrators)
  TOPIC_ARN                     SNS topic for notices (none when unset)
  EXEMPT_TAG, EXEMPT_PRINCIPALS, MODE, ROLE_MODE, FAILED_CALLS, READ_ONLY_CALLS,
  SELF_SERVICE_ACTIONS, INLINE_POLICY_NAME, ALERT_WINDOW_SECONDS: see README.md
  LEDGER_TABLE                  the DynamoDB ledger: trust and what was undone (default iam-warden-ledger)
  UNVERIFIED_TRUST, TRUST_WAIT_SECONDS, DEFERRAL_QUEUE_URL: how unverified admins are decided
  TOOL_RULE_NAMES, TOOL_FUNCTION_NAMES, TOOL_QUEUE_NAMES: the pipeline (changes to it are tampering)
  CANARY_ROLE_NAME              the canary role the daily canary tags
  CONTAIN                       revoked (default), all or off: whose IAM writes are contained
  QUARANTINE_POLICY_ARN         the managed deny-everything policy for what a caller created
                                (unset: an inline quarantine)
  MEMBER_ROLE_NAME              central mode: the member role in every member account
                                (--account ID acts through it; consume decides each event there)
  ACCOUNTS                      central mode: the accounts --all-accounts covers
                                (unset: the organization's active accounts)
  SESSION_SCP                   central mode: on, an Identity Center user who may not
                                manage IAM is denied it by iam-warden's SCP (restore:
                                --role AWSReservedSSO_... --session <user name>)
AWS credentials, region and endpoint come from the standard AWS environment
(AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL, ...).";

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "iam-warden: keep AWS IAM at least privilege",
    long_about = "iam-warden: keep AWS IAM at least privilege.\n\nReplays CloudTrail events through the revoker's decision and effects (the deny, and the containment of what the caller made: CONTAIN applies as in the Lambda), lists revoked principals and what was contained, and restores them.",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Log what is done to stderr (repeat for more detail)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Central mode: act in this member account, through its member role
    /// (MEMBER_ROLE_NAME), with the same configuration
    #[arg(long, global = true, value_name = "ID", value_parser = account_id,
          conflicts_with = "all_accounts")]
    account: Option<String>,
    /// Central mode: every account (ACCOUNTS, else the organization's active accounts,
    /// Organizations ListAccounts): `status` as one table, `prune` a pass in each,
    /// `restore` the principal in each account where iam-warden acted on it, `replay`
    /// each event in its own account
    #[arg(long, global = true)]
    all_accounts: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run events through the revoker's decision and effects; one JSON line per event.
    ///
    /// FILE may hold one EventBridge event, an SQS event of EventBridge events, a
    /// CloudTrail log file ({"Records":[...]}, plain or gzip), or a JSON array of any of
    /// these. Exits non-zero only if an event could not be read or processed.
    Replay {
        /// Decide (reading IAM) but change nothing and notify no one
        #[arg(long)]
        dry_run: bool,
        /// Event files
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Run the revoker's Lambda handler on the events queue, as Lambda's SQS event
    /// source does: batches of 10, successes deleted, failures left for redelivery.
    ///
    /// Prints one JSON line per decided event, like replay, and stops when the queue is
    /// empty or a batch has failures (FIFO order: later messages wait for them).
    /// Needs DEAD_LETTER_QUEUE_URL, like the Lambda.
    Consume {
        /// URL of the FIFO events queue the EventBridge rule feeds
        #[arg(long, env = "EVENTS_QUEUE_URL", value_name = "URL")]
        queue_url: String,
        /// Seconds to wait for messages before deciding the queue is empty (SQS's long
        /// poll: 0 to 20)
        #[arg(long, default_value_t = 1, value_name = "SECONDS",
              value_parser = clap::value_parser!(i32).range(0..=20))]
        wait: i32,
    },
    /// List the principals that carry the deny, with what was recorded at revocation
    /// and what was contained because of their calls (each action and its state:
    /// done, gone, restored, failed), and the trusted admins and exempt principals,
    /// with where their trust comes from.
    Status {
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Undo iam-warden on a principal: the revoker's deny (managed, inline or boundary)
    /// and its record; everything iam-warden contained or undid because of the
    /// principal's calls (a user it made un-quarantined, a key re-activated, a policy
    /// re-attached, an inline policy put back with its document, a membership, a default
    /// version, a console password re-created with a new random password shown once on
    /// your terminal; an escalation's membership or exempt tag, not trusted until `warden
    /// trust`); and the pruner's deny policies. Says each thing it did; what no longer
    /// exists is said and skipped.
    ///
    /// With --service, lifts only those services from the pruner's deny (the revoker's
    /// deny stays). A lifted service counts as used today: the pruner denies it again
    /// only after UNUSED_DAYS without use.
    ///
    /// With --key or --password (users), puts back only those credentials the pruner
    /// took as unused: the access key reactivated; a console password made anew (a
    /// random one, shown once on your terminal, to be changed at the next sign-in). A
    /// credential put back counts as used today. A plain --user X puts back these too.
    ///
    /// With --role R --session S, lifts the deny of that one session of R (ROLE_MODE=
    /// session) and puts back what was contained because of its calls; every other
    /// session of R stays as it is. A plain --role R lifts every session deny on R too.
    #[command(group(ArgGroup::new("who").required(true).args(["user", "role"])))]
    Restore {
        /// IAM user name
        #[arg(long)]
        user: Option<String>,
        /// IAM role name
        #[arg(long)]
        role: Option<String>,
        /// Lift only this service namespace from the pruner's deny (repeatable), e.g. s3
        #[arg(long, value_name = "SERVICE")]
        service: Vec<String>,
        /// Reactivate only this access key, deactivated by the pruner as unused
        /// (repeatable)
        #[arg(long, value_name = "ACCESS_KEY_ID", requires = "user")]
        key: Vec<String>,
        /// Give back only the console password the pruner removed as unused
        /// (UNUSED_PASSWORDS=remove): a new random one, shown once on your terminal
        #[arg(long, requires = "user")]
        password: bool,
        /// Lift the deny only (and a role's revoked sessions); leave contained what the
        /// principal's calls made
        #[arg(long, conflicts_with_all = ["service", "key", "password"])]
        caller_only: bool,
        /// The role session name whose deny to lift (the part after `:` in its
        /// aws:userid, after the role name in its ARN), e.g. gh-actions-1234
        #[arg(long, requires = "role", conflicts_with_all = ["service", "caller_only"])]
        session: Option<String>,
    },
    /// Vouch for a principal: its current membership of ADMIN_GROUP_NAME and its
    /// EXEMPT_TAG become trusted, recorded in the trust ledger with who ran this.
    ///
    /// Membership and the tag alone are not trust: a caller who may write IAM can give
    /// them to itself. Trust comes from the baseline (`warden init`), from a grant by a
    /// trusted admin that the revoker saw, or from this command.
    #[command(group(ArgGroup::new("who").required(true).args(["user", "role"])))]
    Trust {
        /// IAM user name
        #[arg(long)]
        user: Option<String>,
        /// IAM role name
        #[arg(long)]
        role: Option<String>,
        /// Withdraw the principal's trust instead (every status the ledger holds for it):
        /// e.g. a pipeline role the sessions baseline trusted, whose sessions should no
        /// longer manage IAM
        #[arg(long)]
        withdraw: bool,
    },
    /// Run one pruning pass: deny each principal the services it has not used in
    /// UNUSED_DAYS (IAM Access Advisor), in a policy of its own.
    ///
    /// Prints one JSON line per principal ({"principal", "decision", "denied_services",
    /// "newly_denied", "policy_arns", "reason"}), then a summary line, and sends the
    /// digest to TOPIC_ARN. Decisions: denied, updated, unchanged, exempt, grace,
    /// skipped (cannot be applied: act on it), failed (no usable report: nothing new
    /// denied). Exits non-zero when a principal failed.
    #[command(after_help = prune::PRUNE_HELP)]
    Prune {
        /// Plan and print, write nothing and notify no one
        #[arg(long)]
        dry_run: bool,
        /// Only this principal (ARN or name)
        #[arg(long, value_name = "ARN")]
        principal: Option<String>,
        /// Evaluate as if at this time (RFC 3339 or YYYY-MM-DD), for planning and tests
        #[arg(long, value_name = "TIMESTAMP")]
        now: Option<String>,
    },
    /// Write the account's IAM assessment: findings by severity, each with its resource,
    /// evidence, remediation, CIS AWS Foundations Benchmark v3.0.0 id and Security Hub
    /// control; a summary with counts per severity and the share of checks passed.
    ///
    /// Checks: the root user (access keys, MFA, use in 90 days), console users without
    /// MFA, credentials unused 45 days, two active keys, keys older than 90 days,
    /// AdministratorAccess attached directly, policies allowing `*` or `iam:*` on `*`,
    /// principals inactive for 90 days (Access Advisor), and what iam-warden did. Reads
    /// only; the pruner's settings (LEDGER_TABLE, CONCURRENCY, REPORT_TIMEOUT_SECONDS)
    /// apply.
    Assess {
        /// text (people), json (machines), html (one self-contained page for an audit)
        #[arg(long, value_enum, default_value = "text")]
        format: assess::Format,
        /// Shorthand for --format json
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Write to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// Also import the failed findings into AWS Security Hub (ASFF, in AWS_REGION; a
        /// finding already there is updated, not duplicated; the tool's findings no
        /// longer true are archived)
        #[arg(long)]
        security_hub: bool,
    },
    /// Write the daily canary by hand: the tag `iam-warden:canary` on the canary role
    /// (CANARY_ROLE_NAME). The pruner writes it each day; `warden status` shows when the
    /// revoker last saw it and the delay it took.
    Canary,
    /// Create the DynamoDB ledger table (LEDGER_TABLE) if it does not exist, and take
    /// the trust baseline if there is none: the members of ADMIN_GROUP_NAME and the
    /// holders of EXEMPT_TAG, as they are now, become trusted.
    #[command(after_help = init::INIT_HELP)]
    Init,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Config(#[from] warden_core::config::ConfigError),
    #[error(transparent)]
    Aws(#[from] warden_core::ports::PortError),
    #[error(transparent)]
    Domain(#[from] warden_core::error::DomainError),
    #[error("{0}")]
    Failed(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    setup::logging(cli.verbose);
    let result = if cli.all_accounts {
        match cli.command {
            Command::Status { json } => accounts::status_all(json).await,
            Command::Prune {
                dry_run,
                principal: None,
                now,
            } => accounts::prune_all(dry_run, now).await,
            Command::Restore {
                user,
                role,
                service,
                key,
                password,
                caller_only,
                session: None,
            } => match who(user, role) {
                Ok((kind, name)) => {
                    let only = restore::Only {
                        services: service,
                        keys: key,
                        password,
                    };
                    accounts::restore_all(kind, name, &only, caller_only).await
                }
                Err(e) => Err(e),
            },
            Command::Replay { dry_run, files } => replay::replay_all(dry_run, &files).await,
            _ => Err(CliError::Failed(
                "--all-accounts is for `status`, `prune` (without --principal), `restore` (without --session) and `replay`; one account: --account ID".into(),
            )),
        }
    } else {
        setup::in_account(cli.account, run(cli.command)).await
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("warden: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Replay { dry_run, files } => replay::replay(dry_run, &files).await,
        Command::Status { json } => status::status(json).await,
        Command::Consume { queue_url, wait } => consume::consume(&queue_url, wait).await,
        Command::Restore {
            user,
            role,
            service,
            key,
            password,
            caller_only,
            session,
        } => {
            let (kind, name) = who(user, role)?;
            let only = restore::Only {
                services: service,
                keys: key,
                password,
            };
            match session {
                Some(session) => restore::restore_one_session(name, &session).await,
                None => {
                    restore::restore_one(kind, name, &only, caller_only, restore::Absent::Error)
                        .await
                }
            }
        }
        Command::Trust {
            user,
            role,
            withdraw,
        } => {
            let (kind, name) = who(user, role)?;
            if withdraw {
                trust::run_withdraw(kind, name).await
            } else {
                trust::run_trust(kind, name).await
            }
        }
        Command::Prune {
            dry_run,
            principal,
            now,
        } => prune::run_prune(dry_run, principal, now).await,
        Command::Init => init::init().await,
        Command::Canary => canary::canary().await,
        Command::Assess {
            format,
            json,
            output,
            security_hub,
        } => {
            let format = if json { assess::Format::Json } else { format };
            assess::run_assess(format, output, security_hub).await
        }
    }
}

/// `--account`: a twelve-digit AWS account id.
fn account_id(value: &str) -> Result<String, String> {
    if warden_core::central::is_account_id(value) {
        Ok(value.to_owned())
    } else {
        Err(format!("`{value}` is not a twelve-digit AWS account id"))
    }
}

fn who(user: Option<String>, role: Option<String>) -> Result<(EntityKind, String), CliError> {
    match (user, role) {
        (Some(u), _) => Ok((EntityKind::User, u)),
        (None, Some(r)) => Ok((EntityKind::Role, r)),
        (None, None) => Err(CliError::Failed("give --user or --role".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQS long-polls for at most 20 seconds: a longer wait is refused at once, naming it.
    #[test]
    fn consume_waits_at_most_the_long_poll_sqs_allows() {
        let parse = |wait: &str| {
            Cli::try_parse_from([
                "warden".to_owned(),
                "consume".into(),
                "--queue-url".into(),
                "u".into(),
                format!("--wait={wait}"),
            ])
        };
        assert!(parse("0").is_ok());
        assert!(parse("20").is_ok());
        for bad in ["21", "-1"] {
            let err = parse(bad).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains("--wait"), "{err}");
        }
    }
}
