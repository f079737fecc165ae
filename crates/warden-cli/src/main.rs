//! `warden`: the operators' tool. Runs exactly the Lambda's decision and effect code,
//! configured by the same environment variables.

mod prune;
mod trust;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};
use warden_aws::{AwsAccount, StartupError};
use warden_core::config::Environment;
use warden_core::config::{tags, Config};
use warden_core::decision::Decision;
use warden_core::event::parse_file;
use warden_core::ports::{Inventory, TrustLedger};
use warden_core::principal::{EntityKind, Target};
use warden_core::revoker::{restore, Patience, Revoker};

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
AWS credentials, region and endpoint come from the standard AWS environment
(AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL, ...).";

/// `warden replay` reports progress every this many events of a file.
const PROGRESS_EVERY: usize = 1000;

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
        /// Seconds to wait for messages before deciding the queue is empty
        #[arg(long, default_value_t = 1, value_name = "SECONDS")]
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
        /// Lift the deny only (and a role's revoked sessions); leave contained what the
        /// principal's calls made
        #[arg(long, conflicts_with = "service")]
        caller_only: bool,
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
    /// Write the daily canary by hand: the tag `iam-warden:canary` on the canary role
    /// (CANARY_ROLE_NAME). The pruner writes it each day; `warden status` shows when the
    /// revoker last saw it and the delay it took.
    Canary,
    /// Create the DynamoDB ledger table (LEDGER_TABLE) if it does not exist, and take
    /// the trust baseline if there is none: the members of ADMIN_GROUP_NAME and the
    /// holders of EXEMPT_TAG, as they are now, become trusted.
    #[command(after_help = prune::PRUNE_HELP)]
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
    #[error("{0}")]
    Failed(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // Colour only for a person at a terminal, and never with NO_COLOR.
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
    match run(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("warden: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn setup() -> Result<(Config, Environment, AwsAccount), CliError> {
    let config = Config::from_env()?;
    let sdk = warden_aws::load_sdk_config().await;
    let account = AwsAccount::for_revoker(&sdk, &config);
    let env = account.discover(&config).await?;
    Ok((config, env, account))
}

async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Replay { dry_run, files } => replay(dry_run, &files).await,
        Command::Status { json } => status(json).await,
        Command::Consume { queue_url, wait } => consume(&queue_url, wait).await,
        Command::Restore {
            user,
            role,
            service,
            caller_only,
        } => {
            let (kind, name) = who(user, role)?;
            restore_one(kind, name, &service, caller_only).await
        }
        Command::Trust { user, role } => {
            let (kind, name) = who(user, role)?;
            trust::run_trust(kind, name).await
        }
        Command::Prune {
            dry_run,
            principal,
            now,
        } => prune::run_prune(dry_run, principal, now).await,
        Command::Init => prune::init().await,
        Command::Canary => canary().await,
    }
}

fn who(user: Option<String>, role: Option<String>) -> Result<(EntityKind, String), CliError> {
    match (user, role) {
        (Some(u), _) => Ok((EntityKind::User, u)),
        (None, Some(r)) => Ok((EntityKind::Role, r)),
        (None, None) => Err(CliError::Failed("give --user or --role".into())),
    }
}

/// Replays a file in two passes: an unverified principal's event whose grant was not
/// found is set aside until every other event of the file was processed (its grant may
/// come later in the file, as CloudTrail may deliver it late), then decided.
async fn replay(dry_run: bool, files: &[PathBuf]) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    let revoker = Revoker::new(account, config, env);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = 0usize;
    for file in files {
        let items = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| parse_file(&bytes).map_err(|e| e.to_string()));
        let items = match items {
            Ok(items) => items,
            Err(e) => {
                eprintln!("warden: {}: {e}", file.display());
                errors += 1;
                continue;
            }
        };
        let total = items.len();
        let mut events = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            match item {
                Ok(event) => events.push(event),
                Err(e) => {
                    eprintln!(
                        "warden: {} item {index}: cannot be read: {e}",
                        file.display()
                    );
                    errors += 1;
                }
            }
        }
        let mut deferred = Vec::new();
        for (patience, pass) in [(Patience::EndOfRun, events), (Patience::Done, Vec::new())] {
            let pass = if patience == Patience::Done {
                std::mem::take(&mut deferred)
            } else {
                pass
            };
            let mut batch = revoker.batch_with(patience);
            for (index, event) in pass.into_iter().enumerate() {
                // Progress on stderr for long files (stdout stays one JSON line per event).
                if index > 0 && index % PROGRESS_EVERY == 0 {
                    eprintln!("warden: {}: {index}/{total} events", file.display());
                }
                match batch.process(&event, dry_run).await {
                    Ok(outcome) if outcome.decision == Decision::Deferred => deferred.push(event),
                    Ok(outcome) => {
                        *counts.entry(outcome.decision.to_string()).or_default() += 1;
                        println!(
                            "{}",
                            serde_json::to_string(&outcome)
                                .map_err(|e| CliError::Failed(e.to_string()))?
                        );
                    }
                    Err(e) => {
                        eprintln!(
                            "warden: {} event {}: not decided: {e}",
                            file.display(),
                            event.event_id().unwrap_or("?")
                        );
                        errors += 1;
                    }
                }
            }
        }
    }
    let decided: usize = counts.values().sum();
    let summary: Vec<String> = counts.iter().map(|(d, n)| format!("{d} {n}")).collect();
    eprintln!(
        "warden: {decided} event(s) decided{}{}{}",
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        },
        if summary.is_empty() {
            String::new()
        } else {
            format!(": {}", summary.join(", "))
        },
        if errors > 0 {
            format!("; {errors} error(s)")
        } else {
            String::new()
        }
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn consume(queue_url: &str, wait: i32) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    config.require_dead_letter_queue()?;
    let revoker = Revoker::new(account.clone(), config, env);
    let (mut decided, mut dead_lettered) = (0usize, 0usize);
    loop {
        let messages = account.receive(queue_url, wait).await?;
        if messages.is_empty() {
            break;
        }
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "messageId": m.message_id, "receiptHandle": m.receipt_handle,
                    "body": m.body, "eventSource": "aws:sqs",
                })
            })
            .collect();
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(serde_json::json!({ "Records": records }))
                .map_err(|e| CliError::Failed(e.to_string()))?;
        let report = revoker::handler::handle(&revoker, revoker.port(), event).await;
        for outcome in &report.outcomes {
            println!(
                "{}",
                serde_json::to_string(outcome).map_err(|e| CliError::Failed(e.to_string()))?
            );
        }
        decided += report.outcomes.len();
        let failed: std::collections::HashSet<&str> = report
            .response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        dead_lettered += messages.len() - failed.len() - report.outcomes.len();
        for m in messages
            .iter()
            .filter(|m| !failed.contains(m.message_id.as_str()))
        {
            account.delete(queue_url, &m.receipt_handle).await?;
        }
        if !failed.is_empty() {
            eprintln!(
                "warden: {} message(s) failed and stay in the queue for redelivery",
                failed.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    eprintln!("warden: queue empty: {decided} event(s) decided, {dead_lettered} malformed message(s) dead-lettered");
    Ok(ExitCode::SUCCESS)
}

async fn canary() -> Result<ExitCode, CliError> {
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

/// How long without a canary before `warden status` (and the alarm) say so.
const CANARY_MAX_AGE_HOURS: i64 = 26;

async fn status(json: bool) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    let revoked = account
        .revoked(&config.deny_policy_arn, &config.inline_policy_name)
        .await?;
    let trusted = account.trust_set(&env.account_id).await?;
    let canary = warden_core::ports::Canaries::last_canary(&account, &env.account_id).await?;
    // What was contained (or undone) because of each revoked principal's calls.
    let mut contained = Vec::new();
    for r in &revoked {
        let caller = warden_core::action::actor_key(r.target.kind, &r.target.name);
        let record =
            warden_core::ports::ActionRecords::caller_record(&account, &env.account_id, &caller)
                .await?
                .unwrap_or_default();
        contained.push(record.actions.into_values().collect::<Vec<_>>());
    }
    let now = chrono::Utc::now();
    let canary_late =
        canary.is_none_or(|(_, seen)| now - seen > chrono::TimeDelta::hours(CANARY_MAX_AGE_HOURS));
    if json {
        let rows: Vec<serde_json::Value> = revoked
            .iter()
            .zip(&contained)
            .map(|(r, actions)| {
                serde_json::json!({
                    "contained": actions.iter().map(|a| serde_json::json!({
                        "event_id": a.event_id,
                        "action": a.action,
                        "state": a.state,
                        "text": a.action.to_string(),
                        "why": a.why,
                        "at": a.at.to_rfc3339(),
                    })).collect::<Vec<_>>(),
                    "principal": r.target.arn,
                    "kind": r.target.kind.as_str(),
                    "name": r.target.name,
                    "deny": r.methods,
                    "revoked_at": r.record.get(tags::REVOKED_AT),
                    "event_id": r.record.get(tags::EVENT_ID),
                    "event_name": r.record.get(tags::EVENT_NAME),
                    "notified": r.record.contains_key(tags::NOTIFIED),
                    "restore_command": warden_core::notice::restore_command(&r.target),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "revoked": rows,
            "trusted": trust::rows_json(trusted.as_ref()),
            "baseline": trusted.is_some(),
            "canary": {
                "made_at": canary.map(|(made, _)| made.to_rfc3339()),
                "seen_at": canary.map(|(_, seen)| seen.to_rfc3339()),
                "delay_seconds": canary.map(|(made, seen)| (seen - made).num_seconds()),
                "late": config.canary_role.is_some() && canary_late,
            },
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| CliError::Failed(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    trust::print_trusted(trusted.as_ref(), &config);
    println!();
    match (canary, &config.canary_role) {
        (_, None) => println!("Canary: not configured (CANARY_ROLE_NAME)."),
        (None, Some(_)) => println!(
            "Canary: NEVER SEEN. The path CloudTrail -> EventBridge -> queue -> revoker is not proven: check the trail, the rule, the queue and the function."
        ),
        (Some((made, seen)), Some(_)) => {
            println!(
                "Canary: last seen {} ({}h ago), {}s after it was made (CloudTrail's delivery delay: the window a caller has).",
                seen.format("%Y-%m-%dT%H:%M:%SZ"),
                (now - seen).num_hours(),
                (seen - made).num_seconds()
            );
            if canary_late {
                println!(
                    "Canary: LATE, none for over {CANARY_MAX_AGE_HOURS} hours: the pipeline may have been switched off."
                );
            }
        }
    }
    println!();
    if revoked.is_empty() {
        println!("No principal carries the iam-warden deny.");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = revoked
        .iter()
        .map(|r| {
            let get = |k: &str| r.record.get(k).cloned().unwrap_or_else(|| "-".into());
            let deny: Vec<&str> = r.methods.iter().map(|m| m.as_str()).collect();
            [
                r.target.to_string(),
                deny.join("+"),
                get(tags::REVOKED_AT),
                get(tags::EVENT_NAME),
                get(tags::EVENT_ID),
                if r.record.contains_key(tags::NOTIFIED) {
                    "yes".into()
                } else {
                    "no".into()
                },
            ]
        })
        .collect();
    print_table(
        &[
            "PRINCIPAL",
            "DENY",
            "REVOKED AT",
            "EVENT",
            "EVENT ID",
            "NOTIFIED",
        ],
        &rows,
    );
    for (r, actions) in revoked.iter().zip(&contained) {
        if actions.is_empty() {
            continue;
        }
        println!("\nContained because of {}'s calls:", r.target);
        for a in actions {
            println!(
                "  [{}] {} (event {}: {})",
                serde_json::to_value(a.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                a.action,
                a.event_id,
                a.why
            );
        }
    }
    println!(
        "\n{} revoked principal(s). Undo one with: warden restore --user NAME (or --role NAME)",
        rows.len()
    );
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

fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

async fn restore_one(
    kind: EntityKind,
    name: String,
    services: &[String],
    caller_only: bool,
) -> Result<ExitCode, CliError> {
    let target = Target {
        kind,
        arn: String::new(),
        name,
    };
    // The revoker's deny: only for a whole restore, and only where the revoker is
    // configured (DENY_POLICY_ARN).
    let mut did_something = false;
    if services.is_empty() && std::env::var_os("DENY_POLICY_ARN").is_some() {
        let (config, env, account) = setup().await?;
        let target = Target {
            arn: format!(
                "arn:aws:iam::{}:{}/{}",
                env.account_id,
                kind.as_str(),
                target.name
            ),
            ..target.clone()
        };
        let report = restore(&account, &config, &env, &target, caller_only).await?;
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
    match prune::restore(&target, services).await? {
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
