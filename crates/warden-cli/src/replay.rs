//! `warden replay`: event files through the revoker's decision and effects, one JSON
//! line per event.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use warden_aws::AwsMembers;
use warden_core::decision::Decision;
use warden_core::event::{parse_file, Event};
use warden_core::revoker::{Blocked, Fleet, Lanes, Outcome, Patience, Revoker};

use crate::setup::setup;
use crate::CliError;

/// `warden replay` reports progress every this many events of a file.
const PROGRESS_EVERY: usize = 1000;

/// `warden replay`: every event decided in the account the CLI acts in.
pub async fn replay(dry_run: bool, files: &[PathBuf]) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    let revoker = Revoker::new(account, config, env);
    replay_in(&revoker, dry_run, files).await
}

/// `warden --all-accounts replay` (central mode): each event decided in its own account
/// (the envelope's, equal to the record's), through that account's member role, as the
/// central revoker decides it; this account's own events by its own revoker. An event
/// of an account that is not onboarded, or of no usable account, is reported.
pub async fn replay_all(dry_run: bool, files: &[PathBuf]) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    let Some(role) = config.member_role.clone() else {
        return Err(CliError::Failed(
            "--all-accounts: set MEMBER_ROLE_NAME, the member role the CLI acts through in each member account (central mode)".into(),
        ));
    };
    let sdk = warden_aws::load_sdk_config().await;
    let own = Revoker::new(account.clone(), config.clone(), env);
    let fleet = Fleet::new(AwsMembers::new(&sdk, account, &role), config).with_own(own);
    replay_in(&fleet, dry_run, files).await
}

/// What a replay counted: decisions, events reported undecided, errors.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<String, usize>,
    reported: usize,
    errors: usize,
}

impl Tally {
    fn decided(&mut self, outcome: &Outcome) -> Result<(), CliError> {
        *self.counts.entry(outcome.decision.to_string()).or_default() += 1;
        println!(
            "{}",
            serde_json::to_string(outcome).map_err(|e| CliError::Failed(e.to_string()))?
        );
        Ok(())
    }
}

/// Replays each file in two passes per lane (account): an unverified principal's event
/// whose grant was not found is set aside until every other event of its lane was
/// processed (its grant may come later in the file, as CloudTrail may deliver it late),
/// then decided.
async fn replay_in<L: Lanes>(
    lanes: &L,
    dry_run: bool,
    files: &[PathBuf],
) -> Result<ExitCode, CliError> {
    let mut tally = Tally::default();
    for file in files {
        let items = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| parse_file(&bytes).map_err(|e| e.to_string()));
        let items = match items {
            Ok(items) => items,
            Err(e) => {
                eprintln!("warden: {}: {e}", file.display());
                tally.errors += 1;
                continue;
            }
        };
        let total = items.len();
        // The file's events by lane, each lane in the file's order.
        let mut by_lane: Vec<(String, Vec<Event>)> = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let event = match item {
                Ok(event) => event,
                Err(e) => {
                    eprintln!(
                        "warden: {} item {index}: cannot be read: {e}",
                        file.display()
                    );
                    tally.errors += 1;
                    continue;
                }
            };
            match lanes.lane(&event) {
                Ok(lane) => match by_lane.iter_mut().find(|(l, _)| *l == lane) {
                    Some((_, events)) => events.push(event),
                    None => by_lane.push((lane, vec![event])),
                },
                Err(why) => {
                    report(lanes, &event, None, &why.to_string(), dry_run, &mut tally).await?
                }
            }
        }
        let mut done = 0usize;
        for (lane, events) in by_lane {
            let revoker = match lanes.revoker(&lane).await {
                Ok(revoker) => revoker,
                Err(Blocked::Report(why)) => {
                    for event in &events {
                        report(lanes, event, Some(&lane), &why, dry_run, &mut tally).await?;
                    }
                    continue;
                }
                Err(Blocked::DeadLetter(why) | Blocked::Retry(why)) => {
                    eprintln!(
                        "warden: {}: {} event(s) of account {lane} not decided: {why}",
                        file.display(),
                        events.len()
                    );
                    tally.errors += events.len();
                    continue;
                }
            };
            let (mut first, mut deferred) = (Some(events), Vec::new());
            for patience in [Patience::EndOfRun, Patience::Done] {
                let pass = if patience == Patience::Done {
                    std::mem::take(&mut deferred)
                } else {
                    first.take().unwrap_or_default()
                };
                let mut batch = revoker.batch_with(patience);
                for event in pass {
                    done += 1;
                    // Progress on stderr for long files (stdout stays one JSON line per event).
                    if done.is_multiple_of(PROGRESS_EVERY) {
                        eprintln!("warden: {}: {done}/{total} events", file.display());
                    }
                    match batch.process(&event, dry_run).await {
                        Ok(outcome) if outcome.decision == Decision::Deferred => {
                            deferred.push(event)
                        }
                        Ok(outcome) => tally.decided(&outcome)?,
                        Err(e) => {
                            eprintln!(
                                "warden: {} event {}: not decided: {e}",
                                file.display(),
                                event.event_id().unwrap_or("?")
                            );
                            tally.errors += 1;
                        }
                    }
                }
            }
        }
    }
    let Tally {
        counts,
        reported,
        errors,
    } = tally;
    let decided: usize = counts.values().sum();
    let summary: Vec<String> = counts.iter().map(|(d, n)| format!("{d} {n}")).collect();
    eprintln!(
        "warden: {decided} event(s) decided{}{}{}{}",
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
        if reported > 0 {
            format!("; {reported} reported (no account to decide them in)")
        } else {
            String::new()
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

/// An event no account can decide (not onboarded, or no usable account): said on
/// stderr, counted, and reported as the central revoker reports it (unless `dry_run`).
async fn report<L: Lanes>(
    lanes: &L,
    event: &Event,
    lane: Option<&str>,
    why: &str,
    dry_run: bool,
    tally: &mut Tally,
) -> Result<(), CliError> {
    eprintln!(
        "warden: event {}{}: not decided: {why}",
        event.event_id().unwrap_or("?"),
        lane.map(|l| format!(" of account {l}")).unwrap_or_default()
    );
    tally.reported += 1;
    if !dry_run {
        lanes.report(event, lane, why).await?;
    }
    Ok(())
}
