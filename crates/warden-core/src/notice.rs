//! What people (and subscription filters) receive: subject, readable body, then a JSON
//! block for machines, and the `decision` / `account` message attributes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::config::Environment;
use crate::containment::Contained;
use crate::decision::{Decision, Verdict};
use crate::event::Event;
use crate::grant::Escalation;
use crate::principal::{EntityKind, Principal, Target};
use crate::revocation::Method;
use crate::trust::TrustSet;

fn by_of(containment: Option<&Contained>) -> &str {
    containment.map_or("?", |c| c.by.as_str())
}

/// SNS rejects subjects longer than this.
const SUBJECT_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub body: String,
    /// `decision` and `account`, for subscription filter policies.
    pub attributes: BTreeMap<String, String>,
}

/// Which notice an event's outcome gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The revocation's, once (its record says whether it went out), with what was
    /// undone and contained because of the event.
    Revocation,
    /// An alert (`alerted`, `would-revoke`), at most once per ALERT_WINDOW_SECONDS.
    Alert,
    /// What was undone or contained because of the event, once, if anything.
    Undone,
}

/// Which notice an event gets: a revocation's when the caller was revoked; an alert when
/// it was alerted (or would be revoked) and nothing was undone nor contained (only
/// planned, in MODE=report); otherwise the notice of what was undone or contained.
pub fn kind(revoked: bool, decision: Decision, escalation: bool, contained: bool) -> NoticeKind {
    match (revoked, decision) {
        (true, _) => NoticeKind::Revocation,
        (false, Decision::Alerted | Decision::WouldRevoke) if !escalation && !contained => {
            NoticeKind::Alert
        }
        _ => NoticeKind::Undone,
    }
}

/// The one command that undoes a revocation.
pub fn restore_command(target: &Target) -> String {
    match target.kind {
        EntityKind::User => format!("warden restore --user {}", target.name),
        EntityKind::Role => format!("warden restore --role {}", target.name),
    }
}

/// The notice for a decided event (`revoked`, `alerted`, `would-revoke`).
pub fn for_verdict(
    event: &Event,
    verdict: &Verdict,
    env: &Environment,
    policy_arn: &str,
    inline_name: &str,
) -> Notice {
    for_verdict_with(event, verdict, env, policy_arn, inline_name, None, None)
}

/// [`for_verdict`], for an event that was also an escalation attempt: the headline says
/// so, and the body says what was granted, what was undone and how to put it back.
pub fn for_verdict_with(
    event: &Event,
    verdict: &Verdict,
    env: &Environment,
    policy_arn: &str,
    inline_name: &str,
    escalation: Option<&Escalation>,
    containment: Option<&Contained>,
) -> Notice {
    let record = event.record().cloned().unwrap_or_default();
    let principal = Principal::classify(&record);
    let who = verdict.target.as_ref().map_or_else(
        || short_name(&principal.display()).to_owned(),
        ToString::to_string,
    );
    let account = &env.account_id;
    let headline = match (escalation, verdict.decision) {
        (Some(e), Decision::Revoked) => {
            format!(
                "escalation attempt, IAM access revoked: {} in {account}",
                e.by
            )
        }
        (Some(e), _) => format!("escalation attempt: {} in {account}", e.by),
        (None, Decision::Revoked) if containment.is_some_and(Contained::did_something) => {
            format!("IAM access revoked: {who} in {account}, what it made contained")
        }
        (None, Decision::WouldRevoke) => format!("would revoke (MODE=report): {who} in {account}"),
        (None, Decision::AlreadyRevoked | Decision::Ignored | Decision::Alerted)
            if containment.is_some() =>
        {
            format!(
                "contained: what {} changed in {account}",
                by_of(containment)
            )
        }
        (None, Decision::Revoked) => format!("IAM access revoked: {who} in {account}"),
        (None, _) => format!("IAM call to review: {who} in {account}"),
    };
    let event_name = record.event_name.as_deref().unwrap_or("?");
    let call = match record.error_code.as_deref() {
        Some(code) => format!("iam:{event_name} (failed: {code})"),
        None => format!("iam:{event_name}"),
    };
    let done = match (&verdict.revocation, verdict.decision) {
        (Some(r), _) if r.session.is_some() => format!(
            "denied IAM to this session alone (aws:userid `{}`) by {} on {}; every other session of the role keeps working",
            r.session.as_deref().unwrap_or_default(),
            match r.method {
                Method::Inline => format!(
                    "the inline policy `{}`",
                    crate::session::SESSIONS_POLICY
                ),
                Method::Managed => format!(
                    "the managed policy `iam-warden/{}` (the role's inline policies are full)",
                    crate::session::managed_name(&r.target)
                ),
                Method::Boundary => "its permissions boundary (the role's policy quotas are full; the old boundary's limits kept)".to_owned(),
            },
            r.target
        ),
        (Some(r), _) => match r.method {
            Method::Managed => format!("attached {policy_arn} to {}", r.target),
            Method::Inline => format!("put the inline deny `{inline_name}` on {}", r.target),
            Method::Boundary => format!(
                "set a permissions boundary that denies IAM (and keeps the old one's limits) on {}",
                r.target
            ),
        },
        (None, Decision::WouldRevoke) => "nothing (MODE=report)".to_owned(),
        (None, _) => "nothing: review the call".to_owned(),
    };
    let restore = verdict
        .revocation
        .as_ref()
        .map(|r| match &r.session {
            Some(id) => format!(
                "{} --session {}",
                restore_command(&r.target),
                id.split_once(':').map_or(id.as_str(), |(_, name)| name)
            ),
            None => restore_command(&r.target),
        })
        .or_else(|| {
            escalation
                .filter(|e| !e.planned_only)
                .map(|e| format!("warden restore --{}", e.by.replacen('/', " ", 1)))
        })
        .or_else(|| {
            containment
                .filter(|c| !c.planned_only && !c.plan.actions.is_empty())
                .map(|c| format!("warden restore --{}", c.by.replacen('/', " ", 1)))
        });

    let mut body = String::new();
    let field = |body: &mut String, label: &str, value: &str| {
        let _ = writeln!(body, "{label:<12}{value}");
    };
    let _ = writeln!(body, "iam-warden: {headline}\n");
    field(&mut body, "Who:", &caller_line(&principal, &record));
    field(&mut body, "Call:", &call);
    field(
        &mut body,
        "When:",
        record.event_time.as_deref().unwrap_or("unknown"),
    );
    field(
        &mut body,
        "From IP:",
        record.source_ip_address.as_deref().unwrap_or("unknown"),
    );
    field(
        &mut body,
        "User agent:",
        record.user_agent.as_deref().unwrap_or("unknown"),
    );
    field(
        &mut body,
        "Event id:",
        event.event_id().unwrap_or("unknown"),
    );
    field(&mut body, "Decision:", verdict.decision.as_str());
    field(&mut body, "Reason:", &verdict.reason);
    field(&mut body, "Done:", &done);
    if let Some(e) = escalation {
        field(
            &mut body,
            "Escalation:",
            &format!(
                "{} {} (event {}): only a trusted admin may grant this",
                e.by, e.what, e.event_id
            ),
        );
        for action in &e.actions {
            let line = if e.planned_only {
                format!("would have {action} (MODE=report)")
            } else {
                action.to_string()
            };
            field(&mut body, "Undone:", &line);
        }
        if e.actions.is_empty() {
            field(&mut body, "Undone:", "nothing: membership of the group is not trust, so none of its members is trusted for it");
        }
    }
    if let Some(c) = containment {
        let _ = writeln!(body, "{:<12}{}", "Changed:", c.plan.what);
        for line in c.lines() {
            field(&mut body, "Contained:", &line);
        }
        if let Some(note) = &c.plan.note {
            field(&mut body, "Note:", note);
        }
    }
    if let Some(cmd) = &restore {
        let _ = writeln!(body, "\nTo undo it, if the call was legitimate:\n    {cmd}");
    }
    let machine = json!({
        "tool": "iam-warden",
        "decision": verdict.decision,
        "reason": verdict.reason,
        "account": account,
        "principal": who,
        "principal_arn": verdict.target.as_ref().map(|t| t.arn.clone()).unwrap_or_else(|| principal.display()),
        "event_id": event.event_id(),
        "event_name": record.event_name,
        "event_time": record.event_time,
        "error_code": record.error_code,
        "source_ip": record.source_ip_address,
        "user_agent": record.user_agent,
        "method": verdict.revocation.as_ref().map(|r| r.method),
        "restore_command": restore,
        "escalation": escalation.map(|e| json!({
            "by": e.by, "event_id": e.event_id, "what": e.what,
            "undone": if e.planned_only { Vec::new() } else { e.actions.clone() },
            "report_only": e.planned_only,
        })),
        "containment": containment.map(|c| json!({
            "by": c.by, "event_id": c.event_id, "changed": c.plan.what,
            "actions": c.plan.actions.iter().zip(c.states.iter()).map(|(a, s)| json!({
                "action": a, "state": s, "text": a.to_string(),
            })).collect::<Vec<_>>(),
            "manual": c.plan.manual,
            "note": c.plan.note,
            "report_only": c.planned_only,
        })),
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");

    let mut attributes = attributes(verdict.decision.as_str(), account);
    if escalation.is_some() {
        attributes.insert("escalation".to_owned(), "true".to_owned());
    }
    if containment.is_some_and(Contained::did_something) {
        attributes.insert("containment".to_owned(), "true".to_owned());
    }
    Notice {
        subject: subject(&headline),
        body,
        attributes,
    }
}

/// The notice of tampering with the tool's own resources, repaired or not: what was
/// found and who did it (the event that touched them, when known).
pub fn for_tampering(event: Option<&Event>, what: &str, env: &Environment) -> Notice {
    let account = &env.account_id;
    let record = event.and_then(Event::record);
    let who = record
        .map(|r| Principal::classify(r).display())
        .unwrap_or_else(|| "unknown (found when verifying before use)".to_owned());
    let headline = format!("tampering with iam-warden in {account}");
    let mut body = format!("iam-warden: {headline}\n\n");
    let _ = writeln!(body, "{:<12}{what}", "What:");
    let _ = writeln!(body, "{:<12}{who}", "Who:");
    if let Some(r) = record {
        let _ = writeln!(
            body,
            "{:<12}iam:{} at {} (event {})",
            "Call:",
            r.event_name.as_deref().unwrap_or("?"),
            r.event_time.as_deref().unwrap_or("?"),
            r.event_id.as_deref().unwrap_or("?")
        );
    }
    let machine = json!({
        "tool": "iam-warden", "decision": "tampering", "account": account, "what": what,
        "by": who, "event_id": record.and_then(|r| r.event_id.clone()),
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");
    Notice {
        subject: subject(&headline),
        body,
        attributes: attributes("tampering", account),
    }
}

/// The notice of a message that could not be processed for good (access denied, invalid
/// input, a limit no fallback absorbed): it went to the dead-letter queue at once.
pub fn for_failure(event: Option<&Event>, reason: &str, env: &Environment) -> Notice {
    let account = &env.account_id;
    let record = event.and_then(Event::record);
    let who = record
        .map(|r| Principal::classify(r).display())
        .unwrap_or_else(|| "unknown".to_owned());
    let headline = format!("could not revoke {} in {account}", short_name(&who));
    let mut body = format!("iam-warden: {headline}\n\n");
    let _ = writeln!(body, "{:<12}{who}", "Who:");
    if let Some(r) = record {
        let _ = writeln!(
            body,
            "{:<12}iam:{} (event {})",
            "Call:",
            r.event_name.as_deref().unwrap_or("?"),
            r.event_id.as_deref().unwrap_or("?")
        );
    }
    let _ = writeln!(body, "{:<12}{reason}", "Why:");
    let _ = writeln!(
        body,
        "\nThe message is in the dead-letter queue; the queue's later events went on. Act on the\ncause, then replay it (warden replay) or revoke by hand."
    );
    let machine = json!({
        "tool": "iam-warden", "decision": "failed", "account": account, "principal": who,
        "reason": reason, "event_id": record.and_then(|r| r.event_id.clone()),
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");
    Notice {
        subject: subject(&headline),
        body,
        attributes: attributes("failed", account),
    }
}

/// The notice of a new trust baseline: whom iam-warden trusts from now on.
pub fn for_baseline(set: &TrustSet, admin_group: &str, exempt_tag: &(String, String)) -> Notice {
    let account = &set.account;
    let headline = format!(
        "trust baseline taken: {} principal(s) in {account}",
        set.entries.len()
    );
    let mut body = format!(
        "iam-warden: {headline}\n\nThese members of `{admin_group}` and holders of `{}={}` are trusted as they are now.\nFrom now on, only a trusted admin's grant (or `warden trust`) adds to this list;\na grant by anyone else is an escalation, undone.\n\n",
        exempt_tag.0, exempt_tag.1
    );
    for e in set.entries.values() {
        let _ = writeln!(body, "  - {} {}/{}", e.status, e.kind.as_str(), e.name);
    }
    if set.entries.is_empty() {
        let _ = writeln!(
            body,
            "  (nobody: every IAM write will be decided as a non-admin's)"
        );
    }
    let machine = json!({
        "tool": "iam-warden", "decision": "baseline", "account": account,
        "trusted": set.entries.values().collect::<Vec<_>>(),
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");
    Notice {
        subject: subject(&headline),
        body,
        attributes: attributes("baseline", account),
    }
}

/// The notice of the sessions baseline: the roles whose sessions are trusted because
/// they wrote IAM before the tool stopped role sessions, each with the command that
/// withdraws that trust.
pub fn for_sessions_baseline(
    account: &str,
    entries: &[crate::trust::TrustEntry],
    looked_at: usize,
    capped: bool,
) -> Notice {
    let headline = format!(
        "role sessions trusted: {} pipeline role(s) in {account}",
        entries.len()
    );
    let mut body = format!(
        "iam-warden: {headline}\n\nROLE_MODE=session denies IAM to a role session that may not manage it. So that a first\nrun does not lock out a deployment pipeline, the roles whose sessions wrote IAM in the\n{} days before are trusted ({looked_at} IAM event(s) read{}):\n\n",
        crate::trust::PIPELINE_DAYS,
        if capped {
            ", the newest only: an older pipeline is not in this list"
        } else {
            ""
        }
    );
    for e in entries {
        let _ = writeln!(
            body,
            "  - role/{} ({})\n      withdraw: warden trust --role {} --withdraw",
            e.name, e.provenance, e.name
        );
    }
    if entries.is_empty() {
        let _ = writeln!(body, "  (none)");
    }
    let machine = json!({
        "tool": "iam-warden", "decision": "baseline", "account": account,
        "trusted": entries, "events_read": looked_at, "capped": capped,
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");
    Notice {
        subject: subject(&headline),
        body,
        attributes: attributes("baseline", account),
    }
}

/// The notice after `warden restore`.
pub fn for_restore(target: &Target, actions: &[String], env: &Environment) -> Notice {
    let account = &env.account_id;
    let headline = format!("IAM access restored: {target} in {account}");
    let mut body = format!("iam-warden: {headline}\n\n");
    for action in actions {
        let _ = writeln!(body, "  - {action}");
    }
    let machine = json!({
        "tool": "iam-warden", "decision": "restored", "account": account,
        "principal": target.to_string(), "principal_arn": target.arn, "actions": actions,
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");
    Notice {
        subject: subject(&headline),
        body,
        attributes: attributes("restored", account),
    }
}

/// The notice of where a revoked role session came from, once per session.
pub fn for_source(
    role: &Target,
    session: &str,
    source: &str,
    event_id: &str,
    env: &Environment,
) -> Notice {
    let account = &env.account_id;
    let headline = format!("source of a revoked session: {role} in {account}");
    let mut body = format!("iam-warden: {headline}\n\n");
    let _ = writeln!(body, "{:<12}session `{session}` of {role}", "Session:");
    let _ = writeln!(body, "{:<12}{source}", "Source:");
    let _ = writeln!(body, "{:<12}{event_id}", "Event id:");
    let _ = writeln!(
        body,
        "{:<12}warden restore --role {} --session {session}",
        "Restore:", role.name
    );
    let machine = json!({
        "tool": "iam-warden", "decision": "source", "account": account,
        "principal": role.to_string(), "session": session, "source": source, "event_id": event_id,
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");
    Notice {
        subject: subject(&headline),
        body,
        attributes: attributes("source", account),
    }
}

fn caller_line(principal: &Principal, record: &crate::event::CloudTrailRecord) -> String {
    let kind = record
        .user_identity
        .as_ref()
        .and_then(|u| u.kind.as_deref())
        .unwrap_or("unknown");
    let session = record
        .user_identity
        .as_ref()
        .and_then(|u| u.arn.as_deref())
        .filter(|arn| *arn != principal.display());
    match session {
        Some(arn) => format!("{} ({kind}, session {arn})", principal.display()),
        None => format!("{} ({kind})", principal.display()),
    }
}

/// `arn:aws:sts::123456789012:assumed-role/r/s` -> `assumed-role/r/s`, for subjects.
fn short_name(arn: &str) -> &str {
    if arn.starts_with("arn:") {
        arn.splitn(6, ':').nth(5).unwrap_or(arn)
    } else {
        arn
    }
}

pub(crate) fn subject(headline: &str) -> String {
    let full: String = format!("[iam-warden] {headline}")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if full.len() <= SUBJECT_MAX {
        full
    } else {
        format!("{}...", full.get(..SUBJECT_MAX - 3).unwrap_or_default())
    }
}

fn attributes(decision: &str, account: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("decision".to_owned(), decision.to_owned()),
        ("account".to_owned(), account.to_owned()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Revocation;
    use crate::event::parse_eventbridge;

    fn env() -> Environment {
        Environment {
            account_id: "123456789012".into(),
            caller_arn: "arn:aws:sts::123456789012:assumed-role/iam-warden-revoker/fn".into(),
            user_policy_quota: 10,
            role_policy_quota: 10,
        }
    }

    #[test]
    fn revocation_notice_has_subject_body_json_and_attributes() {
        let event = parse_eventbridge(include_str!("../../../events/01-iam-user-create-user.json"))
            .unwrap();
        let target = Target {
            kind: EntityKind::User,
            name: "dev1".into(),
            arn: "arn:aws:iam::123456789012:user/dev1".into(),
        };
        let mut verdict = Verdict::new(Decision::Revoked, "r").about(&target);
        verdict.revocation = Some(Revocation {
            target: target.clone(),
            method: Method::Managed,
            resume: false,
            session: None,
        });
        let n = for_verdict(
            &event,
            &verdict,
            &env(),
            "arn:aws:iam::123456789012:policy/deny",
            "inline",
        );
        assert_eq!(
            n.subject,
            "[iam-warden] IAM access revoked: user/dev1 in 123456789012"
        );
        for needle in [
            "iam:CreateUser",
            "198.51.100.23",
            "aws-cli/2.17.0",
            "7c1e4a3b-0000-4000-8000-000000000001",
            "warden restore --user dev1",
            "2026-11-20T09:15:01Z",
        ] {
            assert!(n.body.contains(needle), "missing {needle} in\n{}", n.body);
        }
        let json_part = n.body.split("--- machine-readable ---").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(json_part.trim()).unwrap();
        assert_eq!(v["decision"], "revoked");
        assert_eq!(v["restore_command"], "warden restore --user dev1");
        assert_eq!(n.attributes["decision"], "revoked");
        assert_eq!(n.attributes["account"], "123456789012");
    }

    #[test]
    fn subjects_fit_sns_limits() {
        let s = subject(&"x".repeat(300));
        assert_eq!(s.len(), SUBJECT_MAX);
        assert!(!subject("a\nb").contains('\n'));
    }

    /// Which notice: a revocation's whenever the caller was revoked; an alert only when
    /// nothing was undone nor contained; the notice of what was, otherwise.
    #[test]
    fn the_notice_is_the_revocations_an_alert_or_what_was_undone() {
        use Decision::*;
        for decision in [
            Revoked,
            AlreadyRevoked,
            Alerted,
            WouldRevoke,
            Exempt,
            Ignored,
        ] {
            for (escalation, contained) in [(false, false), (true, false), (false, true)] {
                assert_eq!(
                    kind(true, decision, escalation, contained),
                    NoticeKind::Revocation
                );
                let expected = match decision {
                    Alerted | WouldRevoke if !escalation && !contained => NoticeKind::Alert,
                    _ => NoticeKind::Undone,
                };
                assert_eq!(
                    kind(false, decision, escalation, contained),
                    expected,
                    "{decision} escalation={escalation} contained={contained}"
                );
            }
        }
        assert_eq!(kind(false, Alerted, false, false), NoticeKind::Alert);
        assert_eq!(kind(false, WouldRevoke, false, false), NoticeKind::Alert);
        assert_eq!(kind(false, Alerted, true, false), NoticeKind::Undone);
        assert_eq!(kind(false, WouldRevoke, false, true), NoticeKind::Undone);
        assert_eq!(
            kind(false, AlreadyRevoked, false, false),
            NoticeKind::Undone
        );
    }
}
