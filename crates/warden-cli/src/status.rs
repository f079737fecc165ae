//! `warden status`: the revoked principals with what was contained because of their
//! calls, what is still contained because of callers that carry no deny, the trusted
//! set, and the canary.

use std::process::ExitCode;

use warden_core::config::{tags, Config};
use warden_core::ports::{Inventory, TrustLedger};
use warden_core::trust::TrustSet;

use crate::setup::setup;
use crate::table::print_table;
use crate::CliError;

/// How long without a canary before `warden status` (and the alarm) say so.
pub(crate) const CANARY_MAX_AGE_HOURS: i64 = 26;

pub async fn status(json: bool) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    let revoked = account
        .revoked(&config.deny_policy_arn, &config.inline_policy_name)
        .await?;
    let trusted = account.trust_set(&env.account_id).await?;
    // Role sessions revoked alone (ROLE_MODE=session): the ledger's records.
    let sessions: Vec<warden_core::revocation::RevocationRecord> =
        warden_core::ports::Revocations::revocations(&account, &env.account_id)
            .await?
            .into_iter()
            .filter(|r| r.session.is_some())
            .collect();
    let canary = warden_core::ports::Canaries::last_canary(&account, &env.account_id).await?;
    // What was contained (or undone) because of each revoked principal's calls.
    let mut contained = Vec::new();
    for r in &revoked {
        let caller = warden_core::action::actor_key(r.target.kind, &r.target.name);
        let record = warden_core::ports::ActionRecords::caller_actions(
            &account,
            &env.account_id,
            &caller,
            None,
        )
        .await?;
        contained.push(record.into_values().collect::<Vec<_>>());
    }
    // What is still contained because of callers that carry no deny (restored with
    // --caller-only, alerted roles under CONTAIN=all, a revocation whose boundary is the
    // quarantine): the ledger's records, every caller's.
    let revoked_callers: Vec<String> = revoked
        .iter()
        .map(|r| warden_core::action::actor_key(r.target.kind, &r.target.name))
        .collect();
    let others: Vec<(String, Vec<warden_core::action::ActionRecord>)> =
        warden_core::ports::ActionRecords::caller_records(&account, &env.account_id)
            .await?
            .into_iter()
            .filter(|c| !revoked_callers.contains(&c.caller))
            .map(|c| {
                let held: Vec<_> = c
                    .actions
                    .into_values()
                    .filter(|a| a.state == warden_core::action::ActionState::Done)
                    .collect();
                (c.caller, held)
            })
            .filter(|(_, held)| !held.is_empty())
            .collect();
    let now = chrono::Utc::now();
    let canary_late =
        canary.is_none_or(|(_, seen)| now - seen > chrono::TimeDelta::hours(CANARY_MAX_AGE_HOURS));
    if json {
        let rows: Vec<serde_json::Value> = revoked
            .iter()
            .zip(&contained)
            .map(|(r, actions)| {
                serde_json::json!({
                    "contained": actions.iter().map(action_json).collect::<Vec<_>>(),
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
        let still: Vec<serde_json::Value> = others
            .iter()
            .map(|(caller, actions)| {
                serde_json::json!({
                    "caller": caller,
                    "contained": actions.iter().map(action_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "revoked": rows,
            "contained_not_revoked": still,
            "revoked_sessions": sessions.iter().map(session_json).collect::<Vec<_>>(),
            "trusted": rows_json(trusted.as_ref()),
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
    print_trusted(trusted.as_ref(), &config);
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
    for (caller, actions) in &others {
        println!("Still contained because of {caller}'s calls ({caller} carries no deny):");
        print_actions(actions);
        println!();
    }
    if !sessions.is_empty() {
        let rows: Vec<[String; 6]> = sessions
            .iter()
            .map(|r| {
                [
                    format!("role/{}", r.name),
                    session_name(r).to_owned(),
                    r.method.as_str().to_owned(),
                    r.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    format!("{} {}", r.event_name, r.event_id),
                    if r.notified { "yes" } else { "no" }.to_owned(),
                ]
            })
            .collect();
        print_table(
            &["ROLE", "SESSION", "DENY", "REVOKED AT", "EVENT", "NOTIFIED"],
            &rows,
        );
        for r in &sessions {
            println!(
                "  source of `{}` of role/{}: {}",
                session_name(r),
                r.name,
                r.source.as_deref().unwrap_or("not traced yet")
            );
        }
        println!(
            "\n{} role session(s) denied IAM alone (every other session of their roles untouched). Undo one with: warden restore --role ROLE --session SESSION\n",
            rows.len()
        );
    }
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
        print_actions(actions);
    }
    println!(
        "\n{} revoked principal(s). Undo one with: warden restore --user NAME (or --role NAME)",
        rows.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The session name of a session's record (its aws:userid after the role's id).
fn session_name(r: &warden_core::revocation::RevocationRecord) -> &str {
    r.session
        .as_deref()
        .and_then(|id| id.split_once(':'))
        .map_or("?", |(_, name)| name)
}

/// One revoked role session as JSON.
fn session_json(r: &warden_core::revocation::RevocationRecord) -> serde_json::Value {
    serde_json::json!({
        "role": r.name,
        "session": session_name(r),
        "aws_userid": r.session,
        "deny": r.method,
        "revoked_at": r.at.to_rfc3339(),
        "event_id": r.event_id,
        "event_name": r.event_name,
        "notified": r.notified,
        "source": r.source,
        "restore_command": format!("warden restore --role {} --session {}", r.name, session_name(r)),
    })
}

/// One recorded action as JSON.
fn action_json(a: &warden_core::action::ActionRecord) -> serde_json::Value {
    serde_json::json!({
        "event_id": a.event_id,
        "action": a.action,
        "state": a.state,
        "text": a.action.to_string(),
        "why": a.why,
        "at": a.at.to_rfc3339(),
    })
}

/// Recorded actions, one per line: `[state] action (event: why)`.
fn print_actions(actions: &[warden_core::action::ActionRecord]) {
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

/// The trusted set as JSON rows.
fn rows_json(set: Option<&TrustSet>) -> Vec<serde_json::Value> {
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
fn print_trusted(set: Option<&TrustSet>, config: &Config) {
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
