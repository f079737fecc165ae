//! The digest of a run: one notice per run (grouped by account in central mode), to the
//! topic and to Slack.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::notice::{restore_command, Notice};
use crate::ports::{Chat, Notifier, PortError};
use crate::prune::{summary, Outcome, PruneDecision};

/// The account of a principal's ARN.
fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

/// The digest of a run: one notice per run, its principals grouped by account when the
/// run covered several (central mode).
pub fn digest(account: &str, run_id: &str, outcomes: &[Outcome], dry: bool) -> Notice {
    let accounts: std::collections::BTreeSet<&str> =
        outcomes.iter().map(|o| account_of(&o.principal)).collect();
    let grouped = accounts.len() > 1;
    let label = if grouped {
        format!("{} accounts", accounts.len())
    } else {
        accounts
            .first()
            .filter(|a| !a.is_empty())
            .map_or_else(|| account.to_owned(), |a| (*a).to_owned())
    };
    let counts = summary(outcomes);
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let changed = count("denied") + count("updated");
    let subject = format!(
        "iam-warden pruning in {label}: {changed} changed, {} skipped, {} failed{}",
        count("skipped"),
        count("failed"),
        if dry { " (not applied)" } else { "" }
    );
    let mut body = String::new();
    let _ = writeln!(
        body,
        "iam-warden pruning run {run_id} in {}\n",
        if grouped {
            label.clone()
        } else {
            format!("account {label}")
        }
    );
    if grouped {
        let _ = writeln!(body, "Principals checked: {}", outcomes.len());
        for (k, v) in &counts {
            let _ = writeln!(body, "  {k:<10} {v}");
        }
        for a in &accounts {
            let mine: Vec<Outcome> = outcomes
                .iter()
                .filter(|o| account_of(&o.principal) == *a)
                .cloned()
                .collect();
            let _ = writeln!(body, "\n== account {a} ==");
            section(&mut body, &mine);
        }
    } else {
        section(&mut body, outcomes);
    }
    let attributes = BTreeMap::from([
        ("decision".to_owned(), "pruned".to_owned()),
        (
            "account".to_owned(),
            if grouped {
                "organization".to_owned()
            } else {
                label
            },
        ),
    ]);
    Notice {
        subject: subject.chars().take(100).collect(),
        body,
        attributes,
    }
}

/// The counts and lists of one account's outcomes.
fn section(body: &mut String, outcomes: &[Outcome]) {
    let counts = summary(outcomes);
    let _ = writeln!(body, "Principals checked: {}", outcomes.len());
    for (k, v) in &counts {
        let _ = writeln!(body, "  {k:<10} {v}");
    }
    let changed_list: Vec<&Outcome> = outcomes.iter().filter(|o| o.decision.writes()).collect();
    if !changed_list.is_empty() {
        let _ = writeln!(body, "\nChanged:");
        for o in changed_list {
            let target = o.target();
            let _ = writeln!(
                body,
                "- {} ({}): newly denied {}; denied now {}",
                target,
                o.decision.as_str(),
                list_or_none(&o.newly_denied),
                list_or_none(&o.denied_services),
            );
            let _ = writeln!(body, "  restore all:     {}", restore_command(&target));
            if let Some(first) = o.newly_denied.first() {
                let _ = writeln!(
                    body,
                    "  restore one:     {} --service {first}",
                    restore_command(&target)
                );
            }
            if let Some(r) = &o.reason {
                let _ = writeln!(body, "  note: {r}");
            }
        }
    }
    for (title, decision) in [
        ("Skipped (act on these)", PruneDecision::Skipped),
        (
            "Failed (retried next run, nothing new denied)",
            PruneDecision::Failed,
        ),
    ] {
        let list: Vec<&Outcome> = outcomes.iter().filter(|o| o.decision == decision).collect();
        if !list.is_empty() {
            let _ = writeln!(body, "\n{title}:");
            for o in list {
                let _ = writeln!(
                    body,
                    "- {}: {}",
                    o.target(),
                    o.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The digest to the topic, then to chat. The topic is the record: its failure fails
/// the run's end (retried); a chat failure is logged, the digest went out already.
pub async fn send_digest<P: Notifier + Chat>(ports: &P, notice: &Notice) -> Result<(), PortError> {
    ports.publish(notice).await?;
    if ports.chat_enabled() {
        if let Err(e) = ports.post(notice).await {
            tracing::error!(error = %e, "the digest did not reach the chat channel");
        }
    }
    Ok(())
}
