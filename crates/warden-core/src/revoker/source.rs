//! A revoked role session traced to its source (ROLE_MODE=session): the `AssumeRole*`
//! call that issued it, found in CloudTrail by its id, and the source stopped from
//! coming back under a new session name. Once per session: its record keeps the answer.
//! The plan is [`crate::source`].

use std::collections::BTreeSet;

use tracing::warn;

use crate::config::{Mode, RoleMode};
use crate::decision::Decision;
use crate::error::DomainError;
use crate::event::{CloudTrailRecord, Event};
use crate::ports::{PortError, RevokerPorts};
use crate::principal::Target;
use crate::session::Session;
use crate::source::{self, Issued, Source, ASSUME_CALLS, MAX_HOPS, NO_ASSUME_POLICY};
use crate::trust::LOOKUP_RETRY;

use super::state::{Invocation, Outcome};

/// What the look-up for a session's issuing call found.
enum Issuing {
    Found(Box<CloudTrailRecord>),
    /// Not there, and the event may wait no longer (or the record has no start): why.
    Missing(String),
    /// Not there yet: the event is asked again after this long.
    Wait(std::time::Duration),
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// After a role session was revoked (or found revoked): its source, once. A source
    /// that is an IAM user or a role session of this account is decided as the caller of
    /// the session's call (its IAM access revoked, what the call made contained, as its
    /// own); a user is also denied assuming the role again. Federated and foreign sources
    /// are named. A chain of roles is followed [`MAX_HOPS`] sessions back.
    pub(super) async fn stop_source(
        &mut self,
        event: &Event,
        out: &mut Outcome,
    ) -> Result<(), DomainError> {
        let r = self.revoker;
        if r.config.role_mode != RoleMode::Session
            || !matches!(out.decision, Decision::Revoked | Decision::AlreadyRevoked)
        {
            return Ok(());
        }
        let account = r.env.account_id.clone();
        let mut current = event.clone();
        for _ in 0..MAX_HOPS {
            let Some(record) = current.record().cloned() else {
                break;
            };
            let Ok(session) = Session::of(&record) else {
                break;
            };
            let id = session.userid();
            let Some(revoked) = r.port.revocation(&account, &id).await? else {
                break;
            };
            if revoked.source.is_some() {
                break;
            }
            let mut next = None;
            let mut denied_user = None;
            let settled = match self.find_issuing(&current, &record, &session).await? {
                Issuing::Wait(wait) => {
                    out.defer_seconds = Some(wait.as_secs().max(1));
                    out.actions.push(format!(
                        "the call that issued session `{}` is not in CloudTrail yet: looking again in {}s",
                        session.name,
                        wait.as_secs().max(1)
                    ));
                    return Ok(());
                }
                Issuing::Missing(why) => {
                    format!("not found ({why}); the session stays revoked")
                }
                Issuing::Found(issuing) => {
                    let source = source::source_of(&issuing);
                    let made_by = format!(
                        "{} ({} `{}`)",
                        source.describe(),
                        issuing.event_name.as_deref().unwrap_or("?"),
                        issuing.event_id.as_deref().unwrap_or("?")
                    );
                    match &source {
                        Source::User(_) | Source::Session(_) => {
                            let made = Event::CloudTrail {
                                envelope_id: None,
                                envelope_account: None,
                                record: Box::new(crate::minted::as_made_by(&record, &issuing)),
                            };
                            let mut verdict = self.verdict(&made).await?;
                            match verdict.decision {
                                Decision::Revoked
                                | Decision::WouldRevoke
                                | Decision::AlreadyRevoked => {
                                    verdict.reason = format!(
                                        "the source of session `{}` of {}: {}",
                                        session.name, session.role, verdict.reason
                                    );
                                    // Revoked already: nothing more to do as its caller
                                    // (what the call made was contained as the session's).
                                    let (decision, reason) =
                                        if verdict.decision == Decision::AlreadyRevoked {
                                            (verdict.decision, verdict.reason)
                                        } else {
                                            let done = self.finish(&made, verdict, false).await?;
                                            (done.decision, done.reason)
                                        };
                                    let mut said = format!("{made_by}: {decision} ({reason})");
                                    if let (Source::User(user), Mode::Enforce) =
                                        (&source, r.config.mode)
                                    {
                                        let user = Target::user(user);
                                        match self.no_assume(&user, &session.role).await {
                                            Ok(()) => {
                                                said.push_str(&format!(
                                                    "; {user} denied assuming {} again (`{NO_ASSUME_POLICY}`)",
                                                    session.role
                                                ));
                                                denied_user = Some(user.name.clone());
                                            }
                                            Err(e) if e.is_transient() => return Err(e.into()),
                                            Err(e) => {
                                                warn!(error = %e, "the deny of assuming again was refused");
                                                said.push_str(&format!(
                                                    "; the deny of assuming {} again could not be put on {user}: {e}",
                                                    session.role
                                                ));
                                            }
                                        }
                                    }
                                    if matches!(source, Source::Session(_)) {
                                        next = Some(made);
                                    }
                                    said
                                }
                                Decision::Deferred => {
                                    out.defer_seconds =
                                        verdict.defer.map(|d| d.as_secs().max(1));
                                    return Ok(());
                                }
                                other => format!(
                                    "{made_by}, {other} ({}): not stopped. Check who holds its credentials: it gave this session to a caller that may not manage IAM",
                                    verdict.reason
                                ),
                            }
                        }
                        Source::Federated { .. } => format!(
                            "{made_by}; to keep it from assuming {} again: {}",
                            session.role,
                            source::exclusion(&source).unwrap_or_default()
                        ),
                        Source::Other(_) => {
                            format!("{made_by}: not a principal of this account iam-warden can stop, never acted on")
                        }
                    }
                }
            };
            // The source identity the session carries (set by whoever made it), named.
            let settled = match record
                .user_identity
                .as_ref()
                .and_then(|u| u.session_context.as_ref())
                .and_then(|c| c.source_identity.as_deref())
            {
                Some(identity) => format!("{settled}; its source identity: `{identity}`"),
                None => settled,
            };
            r.port
                .set_source(&account, &id, &settled, denied_user.as_deref())
                .await?;
            r.send_once(
                &[(format!("source/{id}"), revoked.event_id.clone())],
                || {
                    crate::notice::for_source(
                        &session.role,
                        &session.name,
                        &settled,
                        &revoked.event_id,
                        &r.env,
                    )
                },
            )
            .await?;
            out.actions
                .push(format!("source of session `{}`: {settled}", session.name));
            match next {
                Some(made) => current = made,
                None => break,
            }
        }
        Ok(())
    }

    /// A session of a trusted role (exempt) that writes IAM: the caller that was given
    /// it, once per session and process. An IAM user or role session of this account that
    /// may not manage IAM is stopped (revoked, and a user denied assuming the role again);
    /// the role's trust is not lifted, and the notice says what to check. A federated or
    /// trusted source, or one not in CloudTrail yet: nothing (looked at again later).
    pub(super) async fn trusted_session_source(
        &mut self,
        event: &Event,
        out: &mut Outcome,
    ) -> Result<(), DomainError> {
        let r = self.revoker;
        if r.config.role_mode != RoleMode::Session || out.decision != Decision::Exempt {
            return Ok(());
        }
        let Some(record) = event.record().cloned() else {
            return Ok(());
        };
        let Ok(session) = Session::of(&record) else {
            return Ok(());
        };
        let id = session.userid();
        if r.traced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
        {
            return Ok(());
        }
        // Not in CloudTrail (yet), not told apart, not answered: looked at again with the
        // session's next call.
        let Issuing::Found(issuing) = self.find_issuing(event, &record, &session).await? else {
            return Ok(());
        };
        r.traced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
        let source = source::source_of(&issuing);
        // A role session that chained into the trusted role is most often a pipeline's
        // (an OIDC role assuming its deploy role, under a constant session name): said,
        // never stopped. An IAM user's long-lived key is stopped.
        if let Source::Session(from) = &source {
            let said = format!(
                "{} ({} `{}`) was given session `{}` of the trusted {}: not stopped (a chain of roles is most often a pipeline's). If {} should not reach {}, trust it or narrow {}'s trust policy",
                source.describe(),
                issuing.event_name.as_deref().unwrap_or("?"),
                issuing.event_id.as_deref().unwrap_or("?"),
                session.name,
                session.role,
                from.role,
                session.role,
                session.role
            );
            let event_id = record.event_id.clone().unwrap_or_default();
            r.send_once(&[(format!("source/{id}"), event_id.clone())], || {
                crate::notice::for_source(&session.role, &session.name, &said, &event_id, &r.env)
            })
            .await?;
            return Ok(());
        }
        if !matches!(source, Source::User(_)) {
            return Ok(());
        }
        let made = Event::CloudTrail {
            envelope_id: None,
            envelope_account: None,
            record: Box::new(crate::minted::as_made_by(&record, &issuing)),
        };
        let mut verdict = self.verdict(&made).await?;
        if !matches!(verdict.decision, Decision::Revoked | Decision::WouldRevoke) {
            return Ok(());
        }
        verdict.reason = format!(
            "given session `{}` of the trusted {}: {}",
            session.name, session.role, verdict.reason
        );
        let done = self.finish(&made, verdict, false).await?;
        let mut said = format!(
            "{} ({} `{}`), who may not manage IAM, was given session `{}` of the trusted {}: {} ({})",
            source.describe(),
            issuing.event_name.as_deref().unwrap_or("?"),
            issuing.event_id.as_deref().unwrap_or("?"),
            session.name,
            session.role,
            done.decision,
            done.reason
        );
        if let (Source::User(user), Mode::Enforce) = (&source, r.config.mode) {
            let user = Target::user(user);
            self.no_assume(&user, &session.role).await?;
            said.push_str(&format!("; {user} denied assuming {} again", session.role));
        }
        said.push_str(&format!(
            ". The role's trust is not lifted: check its trust policy (who may assume {}) and why {} could",
            session.role,
            source.describe()
        ));
        let event_id = record.event_id.clone().unwrap_or_default();
        r.send_once(&[(format!("source/{id}"), event_id.clone())], || {
            crate::notice::for_source(&session.role, &session.name, &said, &event_id, &r.env)
        })
        .await?;
        out.actions
            .push(format!("source of session `{}`: {said}", session.name));
        Ok(())
    }

    /// The call that issued `session`, from CloudTrail around the session's start.
    async fn find_issuing(
        &self,
        event: &Event,
        record: &CloudTrailRecord,
        session: &Session,
    ) -> Result<Issuing, PortError> {
        let r = self.revoker;
        let Some((from, to)) = source::window(record) else {
            return Ok(Issuing::Missing(
                "the record does not say when the session began".into(),
            ));
        };
        let mut history = Vec::new();
        for call in ASSUME_CALLS {
            match r.port.lookup_between(call, from, to).await {
                Ok(found) => history.extend(found),
                Err(e) if e.is_transient() => {
                    return Ok(self.not_yet(event, format!("CloudTrail did not answer ({e})")))
                }
                Err(e) => return Err(e),
            }
        }
        let key = record
            .user_identity
            .as_ref()
            .and_then(|u| u.access_key_id.as_deref());
        Ok(match source::issuing(session, key, &history) {
            Issued::One(found) => Issuing::Found(Box::new(found.clone())),
            Issued::Ambiguous(n) => Issuing::Missing(format!(
                "{n} AssumeRole calls issued a session named `{}` of {} around its start, and its access key does not tell them apart: none is taken for its source",
                session.name, session.role
            )),
            Issued::None => self.not_yet(
                event,
                format!(
                    "no AssumeRole call issued it between {} and {} in this region's CloudTrail: older than CloudTrail's 90 days, made through another region's STS endpoint, or from another account",
                    from.format("%Y-%m-%dT%H:%M:%SZ"),
                    to.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            ),
        })
    }

    /// Waits (within the trust wait, asked again within [`LOOKUP_RETRY`]) only where
    /// the event may wait on a clock: a replay settles at once.
    fn not_yet(&self, event: &Event, why: String) -> Issuing {
        match self.wait_left(event) {
            Some(left) if !left.is_zero() => Issuing::Wait(left.min(LOOKUP_RETRY)),
            _ => Issuing::Missing(why),
        }
    }

    /// Denies `user` assuming `role` again: the tool's inline policy on the user, with
    /// the roles it already denied.
    async fn no_assume(&self, user: &Target, role: &Target) -> Result<(), PortError> {
        let r = self.revoker;
        let mut roles: BTreeSet<String> = r
            .port
            .inline_document(user, NO_ASSUME_POLICY)
            .await?
            .map(|d| source::roles_in(&d))
            .unwrap_or_default();
        roles.insert(role.arn.clone());
        r.port
            .put_inline_policy(user, NO_ASSUME_POLICY, &source::no_assume_document(&roles))
            .await
    }
}

/// Lifts the role named `role` (whatever its path) from the deny of assuming it again
/// that the tool put on `user` (the policy removed when no role is left). Returns what
/// was done, for people.
pub(crate) async fn lift_no_assume<P: RevokerPorts>(
    port: &P,
    user: &Target,
    role: &str,
) -> Result<Option<String>, PortError> {
    let Some(document) = port.inline_document(user, NO_ASSUME_POLICY).await? else {
        return Ok(None);
    };
    let mut roles = source::roles_in(&document);
    let before = roles.len();
    roles.retain(|arn| !crate::principal::same_name(arn.rsplit('/').next().unwrap_or(arn), role));
    if roles.len() == before {
        return Ok(None);
    }
    if roles.is_empty() {
        port.delete_inline_policy(user, NO_ASSUME_POLICY).await?;
    } else {
        port.put_inline_policy(user, NO_ASSUME_POLICY, &source::no_assume_document(&roles))
            .await?;
    }
    Ok(Some(format!(
        "lifted the deny of assuming role/{role} again from {user}"
    )))
}
