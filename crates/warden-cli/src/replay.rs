//! `warden replay`: event files through the revoker's decision and effects, one JSON
//! line per event.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use warden_core::decision::Decision;
use warden_core::event::parse_file;
use warden_core::revoker::{Patience, Revoker};

use crate::setup::setup;
use crate::CliError;

/// `warden replay` reports progress every this many events of a file.
const PROGRESS_EVERY: usize = 1000;

/// Replays a file in two passes: an unverified principal's event whose grant was not
/// found is set aside until every other event of the file was processed (its grant may
/// come later in the file, as CloudTrail may deliver it late), then decided.
pub async fn replay(dry_run: bool, files: &[PathBuf]) -> Result<ExitCode, CliError> {
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
