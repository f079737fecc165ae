//! `warden restore`: a revocation undone, and what was undone or contained because of
//! the caller's calls put back.

use serde::Serialize;

use crate::action::Credential;
use crate::action::{Action, ActionState};
use crate::config::Environment;
use crate::config::{tags, Config};
use crate::containment::{self};
use crate::error::DomainError;
use crate::facts::CallerFacts;
use crate::notice;
use crate::ports::Applied;
use crate::ports::RevokerPorts;
use crate::principal::{same_name, Target};
use crate::revocation::{is_tool_boundary, record_key};

/// What `warden restore` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub principal: String,
    pub restored: bool,
    pub actions: Vec<String>,
    /// New console passwords (user, password): for the operator's terminal only, never
    /// serialized, logged nor notified.
    #[serde(skip)]
    pub secrets: Vec<(String, String)>,
    /// An escalation's admin membership or exempt tag was put back: untrusted until
    /// `warden trust`.
    #[serde(skip)]
    pub status_put_back: bool,
}

/// Undoes a revocation: detach the managed deny, delete the inline deny, remove the
/// record tags; unless `caller_only`, put back what iam-warden undid of the caller's
/// doing (an escalation's membership or tag: it is not trusted for it until `warden
/// trust`); notify. Safe to run on a principal that is not revoked; a principal that
/// no longer exists still has its recorded actions put back.
pub async fn restore<P: RevokerPorts>(
    port: &P,
    config: &Config,
    env: &Environment,
    target: &Target,
    caller_only: bool,
) -> Result<RestoreReport, DomainError> {
    restore_scoped(port, config, env, target, caller_only, None).await
}

/// `warden restore --role R --session S`: lifts that session's deny alone (every other
/// session of the role stays as it is) and puts back what was undone or contained
/// because of that session's calls.
pub async fn restore_session<P: RevokerPorts>(
    port: &P,
    config: &Config,
    env: &Environment,
    role: &Target,
    session: &str,
) -> Result<RestoreReport, DomainError> {
    restore_scoped(port, config, env, role, false, Some(session)).await
}

async fn restore_scoped<P: RevokerPorts>(
    port: &P,
    config: &Config,
    env: &Environment,
    target: &Target,
    caller_only: bool,
    session: Option<&str>,
) -> Result<RestoreReport, DomainError> {
    let mut actions = Vec::new();
    let mut facts = port.facts(target).await?;
    // A role's: every session of it the tool denied, lifted too (first: the facts are
    // read again after, the boundary may have changed).
    if let (CallerFacts::Found(f), None, crate::principal::EntityKind::Role) =
        (&facts, session, target.kind)
    {
        let lifted = super::session::lift_sessions(port, &env.account_id, target, f, None).await?;
        if !lifted.is_empty() {
            actions.extend(lifted);
            facts = port.facts(target).await?;
        }
    }
    // The session's `aws:userid`: only its records are put back.
    let session_id = match (&facts, session) {
        (CallerFacts::Found(f), Some(name)) => {
            actions.extend(
                super::session::lift_sessions(port, &env.account_id, target, f, Some(name)).await?,
            );
            Some(format!(
                "{}:{name}",
                f.unique_id.as_deref().unwrap_or_default()
            ))
        }
        (_, Some(name)) => Some(format!(":{name}")),
        (_, None) => None,
    };
    if let (CallerFacts::Found(facts), None) = (&facts, session) {
        let key = record_key(target, facts.unique_id.as_deref());
        let record = port.revocation(&env.account_id, &key).await?;
        if port.detach_policy(target, &config.deny_policy_arn).await? {
            actions.push(format!("detached {} from {target}", config.deny_policy_arn));
        }
        if port
            .delete_inline_policy(target, &config.inline_policy_name)
            .await?
        {
            actions.push(format!(
                "deleted the inline deny `{}` from {target}",
                config.inline_policy_name
            ));
        }
        // The stack's quarantine as the revocation's boundary (the account's policy quota
        // was full): the previous boundary put back, the quarantine itself kept.
        let quarantine_boundary = record
            .as_ref()
            .is_some_and(|r| r.method == crate::revocation::Method::Boundary)
            && facts.boundary.is_some()
            && facts.boundary.as_deref() == config.quarantine_policy_arn.as_deref();
        if quarantine_boundary {
            let previous = record.as_ref().and_then(|r| r.previous_boundary.clone());
            port.set_boundary(target, previous.as_deref()).await?;
            port.keep_boundary(&env.account_id, &key, None).await?;
            actions.push(match &previous {
                Some(p) => {
                    format!("put back the permissions boundary {p} in place of the quarantine")
                }
                None => {
                    "removed the quarantine as the permissions boundary (there was none before)"
                        .to_owned()
                }
            });
        }
        // The tool's boundary: the exact previous boundary put back (or none).
        if let Some(tool) = facts.boundary.as_deref().filter(|b| is_tool_boundary(b)) {
            // The record's, or (a failure left no record) the one kept before it was set.
            let previous = match &record {
                Some(r) => r.previous_boundary.clone(),
                None => port.kept_boundary(&env.account_id, &key).await?.flatten(),
            };
            port.set_boundary(target, previous.as_deref()).await?;
            port.delete_boundary_policy(tool).await?;
            port.keep_boundary(&env.account_id, &key, None).await?;
            actions.push(match &previous {
                Some(p) => {
                    format!("put back the permissions boundary {p} in place of iam-warden's")
                }
                None => {
                    "removed iam-warden's permissions boundary (there was none before)".to_owned()
                }
            });
        }
        let recorded: Vec<&str> = tags::ALL
            .iter()
            .copied()
            .filter(|k| facts.tags.contains_key(*k))
            .collect();
        if !recorded.is_empty() {
            port.untag(target, &recorded).await?;
            actions.push(format!("removed the tags {}", recorded.join(", ")));
        }
        if record.is_some() {
            port.remove_revocation(&env.account_id, &key).await?;
            // Whatever boundary was kept for it is the revocation's: forgotten with it.
            if record
                .as_ref()
                .is_some_and(|r| r.method == crate::revocation::Method::Boundary)
            {
                port.keep_boundary(&env.account_id, &key, None).await?;
            }
            if actions.is_empty() {
                actions.push("removed the revocation record (its deny was already gone)".into());
            }
        }
    }
    // What was undone and contained because of the caller's calls; with `caller_only`,
    // only what concerns the caller itself (its role's sessions revoked).
    let caller = crate::action::actor_key(target.kind, &target.name);
    let current_id = match &facts {
        CallerFacts::Found(f) => f.unique_id.clone(),
        _ => None,
    };
    let mut secrets = Vec::new();
    let mut status_put_back = false;
    let mut others: Option<Vec<crate::action::CallerRecord>> = None;
    {
        // The caller's records under its name, and those recorded under another name of
        // this very principal (renamed since), found by its unique id: each with the
        // caller it is stored under.
        let mut mine: Vec<(String, String, crate::action::ActionRecord)> = port
            .caller_actions(&env.account_id, &caller, None)
            .await?
            .into_iter()
            .map(|(key, entry)| (caller.clone(), key, entry))
            .collect();
        if let Some(id) = current_id.as_deref() {
            let all = port.caller_records(&env.account_id).await?;
            for other in all.iter().filter(|o| o.caller != caller) {
                for (key, entry) in &other.actions {
                    if entry.caller_id.as_deref() == Some(id) {
                        mine.push((other.caller.clone(), key.clone(), entry.clone()));
                    }
                }
            }
            others = Some(all);
        }
        for (stored, key, entry) in &mine {
            // With `caller_only`, only the tool's own measure on the caller (its role's
            // sessions revoked, or at a full inline room the quarantine as its boundary),
            // never what the caller gave itself (a policy, a key).
            let own_measure = entry.action.subject() == caller
                && match &entry.action {
                    Action::PutInlinePolicy { policy_name, .. } => {
                        policy_name == containment::SESSIONS_POLICY_NAME
                    }
                    Action::SetBoundary {
                        boundary: Some(b), ..
                    } => config.quarantine_policy_arn.as_deref() == Some(b.as_str()),
                    _ => false,
                };
            if entry.state != ActionState::Done || (caller_only && !own_measure) {
                continue;
            }
            // One session's restore: that session's records alone.
            if session_id.is_some() && entry.session != session_id {
                continue;
            }
            // Recorded for another principal that had this name (deleted since, its name
            // given to this one): never put back on this one.
            if let Some(other) = entry.recorded_for_another(current_id.as_deref()) {
                actions.push(format!(
                    "left: {} after event `{}` was recorded for another principal that had the name {target} (unique id {other}), not this one",
                    entry.action, entry.event_id
                ));
                continue;
            }
            // A containment another caller's record still holds (not restored) stays:
            // only this caller's claim on it is released (attack 10).
            if others.is_none() {
                others = Some(port.caller_records(&env.account_id).await?);
            }
            // Another caller's: not this principal's, under whatever name.
            let theirs = |other: &crate::action::CallerRecord, a: &crate::action::ActionRecord| {
                other.caller != caller
                    && (current_id.is_none() || a.caller_id.as_deref() != current_id.as_deref())
            };
            let holder = others.iter().flatten().find_map(|other| {
                other
                    .actions
                    .values()
                    .find(|a| {
                        theirs(other, a)
                            && a.state == ActionState::Done
                            && containment::same_containment(&a.action, &entry.action)
                    })
                    .map(|a| (other.caller.clone(), a.event_id.clone()))
            });
            if let Some((by, event_id)) = holder {
                let mut released = entry.clone();
                released.state = ActionState::Restored;
                port.set_action(&env.account_id, stored, key, &released)
                    .await?;
                actions.push(format!(
                    "kept: {} (after event `{}`), which {by} also holds (event `{event_id}`, not restored): lifted when no caller holds it",
                    entry.action, entry.event_id
                ));
                continue;
            }
            let undo = entry.action.undo();
            if containment::never_restored(&undo, config) {
                actions.push(format!(
                    "left removed: {} after event `{}` (iam-warden's own deny there was a lock-out or an imitation: restore never puts it back)",
                    entry.action, entry.event_id
                ));
                continue;
            }
            if let Action::SetCredential {
                user,
                credential: Credential::MfaDevice(serial),
                active: true,
            } = &undo
            {
                actions.push(format!(
                    "left for its owner: the MFA device {serial} of user/{user} was deactivated after event `{}`; only its owner can enable it again (two codes): aws iam enable-mfa-device --user-name {user} --serial-number {serial} --authentication-code1 <code> --authentication-code2 <next code>",
                    entry.event_id
                ));
                continue;
            }
            let applied = match port.apply(&undo).await {
                Ok(applied) => applied,
                Err(e) if e.is_transient() => return Err(e.into()),
                // Refused for good (a quota, a login profile made since): said, and the
                // rest is put back; the record stays `done` for a later restore.
                Err(e) => {
                    actions.push(format!(
                        "could not {undo} (undone by iam-warden after event `{}`): {e}",
                        entry.event_id
                    ));
                    continue;
                }
            };
            let mut done = entry.clone();
            done.state = ActionState::Restored;
            port.set_action(&env.account_id, stored, key, &done).await?;
            actions.push(match applied {
                Applied::Gone => format!(
                    "could not put back what was undone after event `{}`: {} no longer exists",
                    entry.event_id,
                    undo.subject()
                ),
                Applied::Password(password) => {
                    if let Action::CreateLoginProfile { user } = &undo {
                        secrets.push((user.clone(), password));
                    }
                    format!(
                        "{undo} (its login profile was deleted after event `{}`; the password is shown once, to you only)",
                        entry.event_id
                    )
                }
                Applied::Done => {
                    status_put_back |= match &undo {
                        Action::AddToGroup { group, .. } => same_name(group, &config.admin_group),
                        Action::Tag { key, .. } => *key == config.exempt_tag.0,
                        _ => false,
                    };
                    format!(
                        "{undo} (undone by iam-warden after event `{}`)",
                        entry.event_id
                    )
                }
            });
        }
    }
    if !matches!(facts, CallerFacts::Found(_)) && actions.is_empty() {
        return Err(DomainError::NoSuchPrincipal {
            command: "restore",
            target: target.to_string(),
        });
    }
    let restored = !actions.is_empty();
    if restored && port.enabled() {
        port.publish(&notice::for_restore(target, &actions, env))
            .await?;
        actions.push("notified the topic".into());
    }
    Ok(RestoreReport {
        principal: target.arn.clone(),
        restored,
        actions,
        secrets,
        status_put_back,
    })
}
