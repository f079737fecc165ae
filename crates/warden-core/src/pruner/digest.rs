//! The digest of a run: one notice per run (grouped by account in central mode), to the
//! topic and to Slack.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::credential_plan::{CredentialOutcome, CredentialStatus};
use crate::notice::{restore_command, Notice};
use crate::ports::{Chat, Notifier, PortError};
use crate::principal::Target;
use crate::prune::{summary, Outcome, PruneDecision};
use crate::prune_policy::EVERYTHING;

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
    json_block(&mut body, outcomes);
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
        let _ = writeln!(body, "\nChanged: {}", changed_list.len());
        for o in changed_list.iter().take(FEW) {
            let target = o.target();
            let _ = writeln!(
                body,
                "- {} ({}): newly denied {}; denied now {}",
                target,
                o.decision.as_str(),
                denied_text(&o.newly_denied),
                denied_text(&o.denied_services),
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
        if changed_list.len() > FEW {
            let _ = writeln!(
                body,
                "- and {} more (every one is in the JSON block at the end)",
                changed_list.len() - FEW
            );
        }
    }
    unused_section(body, outcomes);
    credentials_section(body, outcomes);
    for (title, decision) in [
        ("Skipped (act on these)", PruneDecision::Skipped),
        (
            "Failed (retried next run, nothing new denied)",
            PruneDecision::Failed,
        ),
    ] {
        let list: Vec<&Outcome> = outcomes.iter().filter(|o| o.decision == decision).collect();
        if !list.is_empty() {
            let _ = writeln!(body, "\n{title}: {}", list.len());
            for o in list.iter().take(FEW) {
                let _ = writeln!(
                    body,
                    "- {}: {}",
                    o.target(),
                    o.reason.as_deref().unwrap_or("")
                );
            }
            if list.len() > FEW {
                let _ = writeln!(
                    body,
                    "- and {} more (every one is in the JSON block at the end)",
                    list.len() - FEW
                );
            }
        }
    }
}

/// The largest JSON block (SNS takes 256 KB a message; the text above it is short).
const JSON_MAX: usize = 160 * 1024;

/// Every principal the run changed, skipped, failed or found an unused credential of,
/// as one JSON array: what the lists above summarise, for machines and for the long
/// runs.
fn json_block(body: &mut String, outcomes: &[Outcome]) {
    let notable: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| {
            o.decision.writes()
                || matches!(o.decision, PruneDecision::Skipped | PruneDecision::Failed)
                || !o.credentials.is_empty()
                || o.unused_for.is_some()
        })
        .collect();
    if notable.is_empty() {
        return;
    }
    let mut items = Vec::with_capacity(notable.len());
    let mut size = 0;
    for o in &notable {
        let item = serde_json::json!({
            "principal": o.principal,
            "decision": o.decision.as_str(),
            "newly_denied": o.newly_denied,
            "denied_services": o.denied_services,
            "reason": o.reason,
            "credentials": o.credentials,
            "unused_for_days": o.unused_for,
        });
        size += item.to_string().len() + 1;
        if size > JSON_MAX {
            break;
        }
        items.push(item);
    }
    let listed = items.len();
    let _ = writeln!(body, "\n-- every change, as JSON --");
    let _ = writeln!(body, "{}", serde_json::Value::Array(items));
    if listed < notable.len() {
        let _ = writeln!(
            body,
            "({} more not listed here, for the size of a notice: the pruner's log has every one)",
            notable.len() - listed
        );
    }
}

/// How many items of a long list, and of the lines of a long section, are written out.
pub const FEW: usize = 10;

/// A deny set as people read it: everything (an unused principal's), or its services.
fn denied_text(items: &[String]) -> String {
    if items.iter().any(|s| s == EVERYTHING) {
        "everything but NEVER_DENY_SERVICES".into()
    } else {
        first_few(items)
    }
}

/// The principals that used nothing in UNUSED_DAYS: one line each, not their services.
fn unused_section(body: &mut String, outcomes: &[Outcome]) {
    let unused: Vec<&Outcome> = outcomes.iter().filter(|o| o.unused_for.is_some()).collect();
    if unused.is_empty() {
        return;
    }
    let _ = writeln!(
        body,
        "\nUnused principals (used nothing, no service, no credential): {}",
        unused.len()
    );
    for o in unused.iter().take(FEW) {
        let denied = o.denied_services.iter().any(|s| s == EVERYTHING);
        let _ = writeln!(
            body,
            "- {}: unused for {} days; {}",
            o.target(),
            o.unused_for.unwrap_or_default(),
            if denied {
                format!(
                    "denied everything but NEVER_DENY_SERVICES (restore: {})",
                    restore_command(&o.target())
                )
            } else {
                "reported (UNUSED_PRINCIPALS=deny denies it everything in one policy)".to_owned()
            }
        );
    }
    if unused.len() > FEW {
        let _ = writeln!(
            body,
            "- and {} more (every one is in the JSON block at the end)",
            unused.len() - FEW
        );
    }
}

/// A list, or its first [`FEW`] items and how many more: a principal that holds `*`
/// has some 400 services.
fn first_few(items: &[String]) -> String {
    match items.len() {
        0 => "none".into(),
        n if n <= FEW => items.join(", "),
        n => format!(
            "{}, and {} more",
            items
                .iter()
                .take(FEW)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            n - FEW
        ),
    }
}

/// The users' unused credentials, by what became of them: each list its count and its
/// first [`FEW`] lines.
fn credentials_section(body: &mut String, outcomes: &[Outcome]) {
    let lines = |status: CredentialStatus| -> Vec<(Target, &CredentialOutcome)> {
        outcomes
            .iter()
            .flat_map(|o| o.credentials.iter().map(move |c| (o.target(), c)))
            .filter(|(_, c)| c.status == status)
            .collect()
    };
    let what = |c: &CredentialOutcome| {
        if c.credential.is_empty() {
            "its credentials".to_owned()
        } else if c.is_password() {
            format!("console password unused {} days", c.days)
        } else {
            format!("access key {} unused {} days", c.credential, c.days)
        }
    };
    for (title, status) in [
        (
            "Access keys deactivated (never deleted)",
            CredentialStatus::Deactivated,
        ),
        (
            "Console passwords removed (UNUSED_PASSWORDS=remove)",
            CredentialStatus::Removed,
        ),
        (
            "Unused credentials, reported only (UNUSED_KEYS=deactivate, UNUSED_PASSWORDS=remove act on them)",
            CredentialStatus::Reported,
        ),
        (
            "Unused credentials not taken away (nothing written)",
            CredentialStatus::NotApplied,
        ),
        (
            "Credentials gone since the report",
            CredentialStatus::Gone,
        ),
        (
            "Credentials not checked or not taken away (tried again next run)",
            CredentialStatus::Failed,
        ),
    ] {
        let list = lines(status);
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(body, "\n{title}: {}", list.len());
        // The same reason for many users (a report that could not be had) is one line.
        let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, c) in list.iter().filter(|(_, c)| c.credential.is_empty()) {
            *by_reason.entry(c.reason.as_deref().unwrap_or("")).or_default() += 1;
        }
        for (reason, n) in &by_reason {
            let _ = writeln!(body, "- {n} user(s): {reason}");
        }
        let named: Vec<&(Target, &CredentialOutcome)> =
            list.iter().filter(|(_, c)| !c.credential.is_empty()).collect();
        for (target, c) in named.iter().take(FEW) {
            let _ = write!(body, "- {target}: {}", what(c));
            if let Some(r) = &c.reason {
                let _ = write!(body, " ({r})");
            }
            let _ = writeln!(body);
            let restore = match (status, c.is_password()) {
                (CredentialStatus::Deactivated, _) => {
                    format!("{} --key {}", restore_command(target), c.credential)
                }
                (CredentialStatus::Removed, _) => format!(
                    "{} --password   (a new password, shown once, to be changed at sign-in)",
                    restore_command(target)
                ),
                _ => continue,
            };
            let _ = writeln!(body, "  restore: {restore}");
        }
        if named.len() > FEW {
            let _ = writeln!(
                body,
                "- and {} more (every one is in the JSON block at the end)",
                named.len() - FEW
            );
        }
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
