//! A role session revoked alone (ROLE_MODE=session): its facts (the ledger's record, the
//! role's deny), and its deny put in the first home IAM accepts (the tool's inline
//! policy, a managed policy of the tool, the permissions boundary), then recorded.
//! The plan is [`crate::session`].

use std::collections::BTreeSet;

use chrono::Utc;
use tracing::{info, warn};

use crate::config::RoleMode;
use crate::decision::{Revocation, Verdict};
use crate::event::Event;
use crate::facts::{CallerFacts, Facts};
use crate::ports::{PortError, RevokerPorts};
use crate::principal::{EntityKind, Target};
use crate::revocation::{boundary_name, is_tool_boundary, Method, RevocationRecord};
use crate::session::{self, Session, SessionFacts, SESSIONS_POLICY};

use super::state::Invocation;

/// The ARN of the managed policy that holds a role's sessions' deny.
pub(crate) fn managed_arn(account: &str, role: &Target) -> String {
    format!(
        "arn:aws:iam::{account}:policy/iam-warden/{}",
        session::managed_name(role)
    )
}

/// The sessions of `role` the tool's deny holds in one home (`method`), read from IAM.
pub(crate) async fn held<P: RevokerPorts>(
    port: &P,
    account: &str,
    role: &Target,
    role_id: &str,
    method: Method,
    boundary: Option<&str>,
) -> Result<BTreeSet<String>, PortError> {
    let document = match method {
        Method::Inline => port.inline_document(role, SESSIONS_POLICY).await?,
        Method::Managed => port.policy_document(&managed_arn(account, role)).await?,
        Method::Boundary => match boundary.filter(|b| is_tool_boundary(b)) {
            Some(arn) => port.policy_document(arn).await?,
            None => None,
        },
    };
    Ok(document
        .map(|d| session::ids_in(&d, role_id))
        .unwrap_or_default())
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Adds the event's session facts to its role's (ROLE_MODE=session): the ledger's
    /// record of the session and, when there is one, whether its home still holds it.
    pub(super) async fn with_session(
        &mut self,
        event: &Event,
        facts: &mut CallerFacts,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let CallerFacts::Found(f) = facts else {
            return Ok(());
        };
        if r.config.role_mode != RoleMode::Session || f.session.is_some() {
            return Ok(());
        }
        let Some(Ok(found)) = event.record().map(Session::of) else {
            return Ok(());
        };
        let role = f.renamed.clone().unwrap_or(found.role.clone());
        let record = r
            .port
            .revocation(&r.env.account_id, &found.userid())
            .await?;
        let denied = match &record {
            Some(rec) => {
                let held = held(
                    &r.port,
                    &r.env.account_id,
                    &role,
                    &found.role_id,
                    rec.method,
                    f.boundary.as_deref(),
                )
                .await?;
                let attached = match rec.method {
                    Method::Managed => r
                        .port
                        .policies(&role)
                        .await?
                        .0
                        .contains(&managed_arn(&r.env.account_id, &role)),
                    _ => true,
                };
                attached && held.contains(&found.userid())
            }
            None => false,
        };
        f.session = Some(SessionFacts { record, denied });
        Ok(())
    }

    /// Denies IAM to one session of a role, in the first home IAM accepts, then records
    /// it (keyed by its `aws:userid`); the deny never waits on the record.
    pub(super) async fn revoke_session(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
        revocation: &Revocation,
        id: &str,
    ) -> Result<Option<(RevocationRecord, String)>, PortError> {
        let r = self.revoker;
        let account = r.env.account_id.clone();
        let role = revocation.target.clone();
        let facts = match self.facts_of(&role).await? {
            CallerFacts::Found(f) => f,
            _ => Facts::default(),
        };
        let Some((role_id, _)) = id.split_once(':') else {
            return Err(PortError::Failed {
                operation: "revoke",
                message: format!("`{id}` is not a session's aws:userid"),
            });
        };
        if revocation.resume {
            if let Some(record) = r.port.revocation(&account, id).await? {
                return Ok(Some((record, id.to_owned())));
            }
        }
        // The ledger first: it, not IAM's copy (anyone who may write the role's policies
        // can edit that), says which sessions the role's deny holds.
        r.port
            .change_denied_sessions(&account, role_id, &BTreeSet::from([id.to_owned()]), true)
            .await?;
        // Revoked before, its deny gone since: put back with every session the ledger
        // holds, and said (the revocation's own notice went out the first time).
        let before = r.port.revocation(&account, id).await?;
        let repair = before.is_some();
        if let Some(before) = before {
            let what = format!(
                "the deny of IAM to session `{id}` of {role} (revoked for event `{}`) was no longer in place: the role's sessions deny was removed or edited since; put back with every session of the role the ledger holds",
                before.event_id
            );
            let event_id = event.event_id().unwrap_or("unknown").to_owned();
            r.send_once(&[(format!("sessions-deny/{id}"), event_id)], || {
                crate::notice::for_tampering(None, &what, &r.env)
            })
            .await?;
        }
        let mut method = Method::Inline;
        let previous_boundary = loop {
            let result = self
                .deny_session(&role, role_id, id, method, &facts, repair)
                .await;
            match result {
                Ok(previous) => break previous,
                Err(PortError::LimitExceeded { message, .. }) => {
                    let Some(next) = session::fallback(method) else {
                        // Every home full (a caller can fill them, a session at a time):
                        // the whole role is denied IAM rather than none of it.
                        warn!(role = %role.arn, session = id, %message, "no room for the sessions deny: the whole role is denied");
                        verdict.reason = format!(
                            "{}; no home of the sessions deny had room ({message}): the whole of {role} is denied IAM instead, its other sessions too, until `warden restore --role {}`",
                            verdict.reason, role.name
                        );
                        let whole = Revocation {
                            session: None,
                            method: Method::Managed,
                            resume: false,
                            ..revocation.clone()
                        };
                        verdict.revocation = Some(whole.clone());
                        return self.revoke_principal(event, verdict, &whole).await;
                    };
                    warn!(role = %role.arn, session = id, from = method.as_str(), to = next.as_str(), %message, "quota reached: falling back");
                    verdict.reason = format!(
                        "{}; IAM refused the {} home of the sessions deny at a quota ({message}): {} instead",
                        verdict.reason,
                        method.as_str(),
                        next.as_str()
                    );
                    method = next;
                }
                Err(e) => return Err(e),
            }
        };
        info!(role = %role.arn, session = id, method = method.as_str(), "session denied");
        if let Some(rev) = verdict.revocation.as_mut() {
            rev.method = method;
        }
        let record = RevocationRecord {
            kind: EntityKind::Role,
            name: role.name.clone(),
            unique_id: Some(role_id.to_owned()),
            event_id: event.event_id().unwrap_or("unknown").to_owned(),
            event_name: event.event_name().unwrap_or("unknown").to_owned(),
            at: Utc::now(),
            method,
            previous_boundary,
            notified: false,
            session: Some(id.to_owned()),
            source: None,
            source_user: None,
        };
        let record = r
            .port
            .record_revocation(&account, id, &record)
            .await?
            .unwrap_or(record);
        Ok(Some((record, id.to_owned())))
    }

    /// Adds `id` to the sessions deny in one home; returns, for the boundary, the
    /// boundary the role had before the tool's.
    async fn deny_session(
        &mut self,
        role: &Target,
        role_id: &str,
        id: &str,
        method: Method,
        facts: &Facts,
        repair: bool,
    ) -> Result<Option<String>, PortError> {
        let r = self.revoker;
        let account = &r.env.account_id;
        let current = facts.boundary.as_deref();
        let mut ids = held(&r.port, account, role, role_id, method, current).await?;
        ids.insert(id.to_owned());
        // A deny found gone or edited: every session of the role the ledger holds (only
        // this role's exact ids), not IAM's copy.
        if repair {
            let prefix = format!("{role_id}:");
            ids.extend(
                r.port
                    .denied_sessions(account, role_id)
                    .await?
                    .into_iter()
                    .filter(|i| {
                        i.strip_prefix(&prefix)
                            .is_some_and(session::is_session_name)
                    }),
            );
        }
        match method {
            Method::Inline => {
                r.port
                    .put_inline_policy(role, SESSIONS_POLICY, &session::document(&ids))
                    .await?;
                Ok(None)
            }
            Method::Managed => {
                let arn = r
                    .port
                    .put_boundary_policy(&session::managed_name(role), &session::document(&ids))
                    .await?;
                r.port.attach_policy(role, &arn).await?;
                Ok(None)
            }
            Method::Boundary => {
                let base = match current {
                    Some(arn) => r.port.policy_document(arn).await?,
                    None => None,
                };
                let document = session::boundary_document(base.as_deref(), &ids).map_err(|e| {
                    PortError::Failed {
                        operation: "revoke",
                        message: format!(
                            "no boundary can deny IAM to session `{id}` of {role}: {e}"
                        ),
                    }
                })?;
                // The boundary the tool found, kept in the ledger before the tool's takes
                // its place: a retry after a failure in between (the tool's boundary set,
                // its record not written) finds it there, never the tool's own.
                if !current.is_some_and(is_tool_boundary) {
                    r.port
                        .keep_boundary(account, role_id, Some(current))
                        .await?;
                }
                let previous = match r.port.kept_boundary(account, role_id).await? {
                    Some(kept) => kept,
                    // Set by an earlier version: the one an earlier session's record keeps.
                    None => {
                        let mut found = None;
                        for other in ids.iter().filter(|o| o.as_str() != id) {
                            if let Some(rec) = r.port.revocation(account, other).await? {
                                found = found.or(rec.previous_boundary);
                            }
                        }
                        found
                    }
                };
                let arn = r
                    .port
                    .put_boundary_policy(&boundary_name(role), &document)
                    .await?;
                if current != Some(arn.as_str()) {
                    r.port.set_boundary(role, Some(&arn)).await?;
                }
                let set = arn.clone();
                self.update_facts(role, |f| f.boundary = Some(set));
                Ok(previous)
            }
        }
    }
}

/// Lifts the tool's deny from sessions of `role` (`name`: that session alone; `None`:
/// every session the deny holds), in every home it is in, and removes their records.
/// A home left with no session is removed (the boundary the role had put back).
/// Returns what was done, for people.
pub(crate) async fn lift_sessions<P: RevokerPorts>(
    port: &P,
    account: &str,
    role: &Target,
    facts: &Facts,
    name: Option<&str>,
) -> Result<Vec<String>, PortError> {
    let mut actions = Vec::new();
    let Some(role_id) = facts.unique_id.as_deref() else {
        return Ok(actions);
    };
    let boundary = facts.boundary.as_deref();
    let mut homes = Vec::new();
    for method in [Method::Inline, Method::Managed, Method::Boundary] {
        homes.push((
            method,
            held(port, account, role, role_id, method, boundary).await?,
        ));
    }
    let ledger = port.denied_sessions(account, role_id).await?;
    let lifting: BTreeSet<String> = match name {
        Some(n) => BTreeSet::from([format!("{role_id}:{n}")]),
        None => homes
            .iter()
            .flat_map(|(_, ids)| ids.clone())
            .chain(ledger.iter().cloned())
            .collect(),
    };
    port.change_denied_sessions(account, role_id, &lifting, false)
        .await?;
    let mut records = Vec::new();
    for id in &lifting {
        if let Some(record) = port.revocation(account, id).await? {
            records.push((id.clone(), record));
        }
    }
    // The sources' deny of assuming the role again, unless a session of the role that
    // stays denied came from the same source.
    let mut still = BTreeSet::new();
    for other in homes
        .iter()
        .flat_map(|(_, ids)| ids)
        .filter(|id| !lifting.contains(*id))
    {
        if let Some(user) = port
            .revocation(account, other)
            .await?
            .and_then(|r| r.source_user)
        {
            still.insert(user);
        }
    }
    for (_, record) in &records {
        if let Some(user) = record.source_user.as_ref().filter(|u| !still.contains(*u)) {
            let user = Target {
                kind: EntityKind::User,
                name: user.clone(),
                arn: String::new(),
            };
            actions.extend(super::source::lift_no_assume(port, &user, &role.name).await?);
        }
    }
    for (method, ids) in homes {
        if ids.is_disjoint(&lifting) {
            continue;
        }
        let left: BTreeSet<String> = ids.difference(&lifting).cloned().collect();
        let gone: Vec<&str> = ids.intersection(&lifting).map(String::as_str).collect();
        let said = gone.join(", ");
        match (method, left.is_empty()) {
            (Method::Inline, true) => {
                port.delete_inline_policy(role, SESSIONS_POLICY).await?;
            }
            (Method::Inline, false) => {
                port.put_inline_policy(role, SESSIONS_POLICY, &session::document(&left))
                    .await?;
            }
            (Method::Managed, true) => {
                let arn = managed_arn(account, role);
                port.detach_policy(role, &arn).await?;
                port.delete_boundary_policy(&arn).await?;
            }
            (Method::Managed, false) => {
                port.put_boundary_policy(&session::managed_name(role), &session::document(&left))
                    .await?;
            }
            (Method::Boundary, true) => {
                let previous = match port.kept_boundary(account, role_id).await? {
                    Some(kept) => kept,
                    None => records
                        .iter()
                        .find_map(|(_, r)| r.previous_boundary.clone()),
                };
                port.set_boundary(role, previous.as_deref()).await?;
                if let Some(tool) = boundary {
                    port.delete_boundary_policy(tool).await?;
                }
                port.keep_boundary(account, role_id, None).await?;
                actions.push(match &previous {
                    Some(p) => format!("put back the permissions boundary {p} of {role}"),
                    None => format!("removed iam-warden's permissions boundary from {role} (there was none before)"),
                });
            }
            (Method::Boundary, false) => {
                let current = match boundary {
                    Some(arn) => port.policy_document(arn).await?,
                    None => None,
                };
                let document =
                    session::boundary_document(current.as_deref(), &left).map_err(|e| {
                        PortError::Failed {
                            operation: "restore",
                            message: format!("the boundary of {role} cannot be rewritten: {e}"),
                        }
                    })?;
                port.put_boundary_policy(&boundary_name(role), &document)
                    .await?;
            }
        }
        actions.push(format!(
            "lifted the {} deny of IAM from the session(s) {said} of {role}{}",
            method.as_str(),
            if left.is_empty() {
                String::new()
            } else {
                format!(" ({} other session(s) still denied)", left.len())
            }
        ));
    }
    for (id, _) in &records {
        port.remove_revocation(account, id).await?;
    }
    if actions.is_empty() && !records.is_empty() {
        actions.push(format!(
            "removed the record(s) of {} session(s) of {role} (their deny was already gone)",
            records.len()
        ));
    }
    Ok(actions)
}
