//! The rows of the table for a role session that is not trusted (ROLE_MODE=session): it
//! is revoked alone, by its `aws:userid` ([`crate::session`]).

use crate::revocation::Method;
use crate::session::{Session, SessionFacts};

use super::{Decision, Revocation, Verdict};

/// The decision on a session that is not trusted (its role neither admin nor exempt):
/// already revoked when the ledger's record says so and the role's deny still holds its
/// id; otherwise its deny (re)applied, or would be (MODE=report), or only alerted for a
/// call that counts for less (`downgrade`).
pub(super) fn verdict(
    session: &Session,
    facts: Option<&SessionFacts>,
    event_name: &str,
    report: bool,
    downgrade: Option<String>,
) -> Verdict {
    let target = &session.role;
    let id = session.userid();
    let who = format!("session `{}` of {target}", session.name);
    let facts = facts.cloned().unwrap_or_default();
    let revoked = |reason: String, method: Method, resume: bool| {
        let mut v = Verdict::new(Decision::Revoked, reason).about(target);
        v.revocation = Some(Revocation {
            target: target.clone(),
            method,
            resume,
            session: Some(id.clone()),
        });
        v
    };
    if let (Some(record), true) = (&facts.record, facts.denied) {
        if record.notified {
            return Verdict::new(
                Decision::AlreadyRevoked,
                format!(
                    "{who} is already denied IAM (aws:userid `{id}`, the {} deny)",
                    record.method.as_str()
                ),
            )
            .about(target);
        }
        if !report {
            return revoked(
                format!(
                    "{who} was revoked for event `{}` but not yet notified: notifying",
                    record.event_id
                ),
                record.method,
                true,
            );
        }
    }
    if let Some(reason) = downgrade {
        return Verdict::new(Decision::Alerted, reason).about(target);
    }
    let what = format!(
        "{who} is not exempt and called {event_name}: IAM denied to this session alone (aws:userid `{id}`), every other session of the role untouched"
    );
    if report {
        return Verdict::new(
            Decision::WouldRevoke,
            format!("{what} (would be: MODE=report)"),
        )
        .about(target);
    }
    revoked(what, Method::Inline, false)
}
