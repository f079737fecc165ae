//! The deny: put in place by the first method IAM accepts (managed, inline, a
//! permissions boundary), recorded in the ledger, then tagged when there is room.

use chrono::Utc;
use tracing::{info, warn};

use crate::config::Config;
use crate::decision::Verdict;
use crate::event::Event;
use crate::facts::{CallerFacts, Facts};
use crate::ports::{PortError, RevokerPorts};
use crate::principal::Target;
use crate::revocation::Method;
use crate::revocation::{
    boundary_document, boundary_name, deny_everything_boundary, is_revocation_boundary, record_key,
    RevocationRecord,
};
use crate::DENY_ALL_IAM_POLICY;

use super::state::Invocation;

/// Whether the facts show the tool's deny by `method`: the managed deny attached, the
/// inline deny by name, or a boundary of the tool's.
fn facts_show_deny(facts: &Facts, config: &Config, method: Method) -> bool {
    match method {
        Method::Managed => facts.attached_policies.contains(&config.deny_policy_arn),
        Method::Inline => facts.inline_policies.contains(&config.inline_policy_name),
        Method::Boundary => facts
            .boundary
            .as_deref()
            .is_some_and(|b| is_revocation_boundary(b, config.quarantine_policy_arn.as_deref())),
    }
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Deny first, then record, notify, mark notified (and tag, once): the deny never
    /// waits on anything the caller can block (its 50 tags, its quotas). A failure at any step leaves a
    /// state from which a retry of the message finishes the job and notifies exactly
    /// once (the ledger's record says whether the notice went out).
    pub(super) async fn revoke(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
    ) -> Result<Option<(RevocationRecord, String)>, PortError> {
        let Some(revocation) = verdict.revocation.clone() else {
            return Ok(None);
        };
        if let Some(id) = &revocation.session {
            return self.revoke_session(event, verdict, &revocation, id).await;
        }
        self.revoke_principal(event, verdict, &revocation).await
    }

    /// The deny on the principal itself (a user, or a whole role).
    pub(super) async fn revoke_principal(
        &mut self,
        event: &Event,
        verdict: &mut Verdict,
        revocation: &crate::decision::Revocation,
    ) -> Result<Option<(RevocationRecord, String)>, PortError> {
        let r = self.revoker;
        let target = revocation.target.clone();
        let account = r.env.account_id.clone();
        // Read again if an action of the tool (an escalation undone) made them stale:
        // the record's key is the unique id.
        let facts = match self.facts_of(&target).await? {
            CallerFacts::Found(f) => f,
            _ => Facts::default(),
        };
        let key = record_key(&target, facts.unique_id.as_deref());
        let event_id = event.event_id().unwrap_or("unknown").to_owned();

        let record = match (revocation.resume, facts.revocation.clone()) {
            (true, Some(record)) if facts_show_deny(&facts, &r.config, record.method) => record,
            _ => {
                let (method, previous_boundary) = self
                    .deny(&target, &facts, revocation.method, verdict)
                    .await?;
                let record = RevocationRecord {
                    kind: target.kind,
                    name: target.name.clone(),
                    unique_id: facts.unique_id.clone(),
                    event_id: event_id.clone(),
                    event_name: event.event_name().unwrap_or("unknown").to_owned(),
                    at: Utc::now(),
                    method,
                    previous_boundary,
                    notified: false,
                    session: None,
                    source: None,
                    source_user: None,
                };
                let record = r
                    .port
                    .record_revocation(&account, &key, &record)
                    .await?
                    .unwrap_or(record);
                self.update_facts(&target, |f| f.revocation = Some(record.clone()));
                record
            }
        };
        if let Some(rev) = verdict.revocation.as_mut() {
            rev.method = record.method;
        }
        Ok(Some((record, key)))
    }

    /// Puts the deny in place by the first method IAM accepts: managed, inline, then a
    /// permissions boundary (every principal has room for exactly one). Returns the
    /// method and, for a boundary, the one it replaced.
    async fn deny(
        &mut self,
        target: &Target,
        facts: &Facts,
        first: Method,
        verdict: &mut Verdict,
    ) -> Result<(Method, Option<String>), PortError> {
        let r = self.revoker;
        let mut method = first;
        let mut boundary_set = None;
        loop {
            let result = match method {
                Method::Managed => {
                    self.verify_deny_policy(None).await?;
                    r.port
                        .attach_policy(target, &r.config.deny_policy_arn)
                        .await
                }
                Method::Inline => {
                    r.port
                        .put_inline_policy(
                            target,
                            &r.config.inline_policy_name,
                            DENY_ALL_IAM_POLICY,
                        )
                        .await
                }
                Method::Boundary => match self.deny_by_boundary(target, facts).await {
                    Ok(arn) => {
                        if r.config.quarantine_policy_arn.as_deref() == Some(arn.as_str()) {
                            verdict.reason = format!(
                                "{}; the account's customer managed policies are at their quota too (no new boundary policy): the stack's quarantine {arn} is the boundary, denying everything until `warden restore`",
                                verdict.reason
                            );
                        }
                        boundary_set = Some(arn);
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(()) => break,
                Err(PortError::LimitExceeded { message, .. }) => {
                    let Some(next) = method.fallback() else {
                        return Err(PortError::Failed {
                            operation: "revoke",
                            message: format!(
                                "every method of denying IAM to {target} was refused: {message}"
                            ),
                        });
                    };
                    warn!(principal = %target.arn, from = method.as_str(), to = next.as_str(), %message, "quota reached: falling back");
                    verdict.reason = format!(
                        "{}; IAM refused the {} deny at a quota ({message}): {} instead",
                        verdict.reason,
                        method.as_str(),
                        match next {
                            Method::Inline =>
                                format!("the inline deny `{}`", r.config.inline_policy_name),
                            _ => "a permissions boundary that denies IAM".to_owned(),
                        }
                    );
                    method = next;
                }
                Err(e) => return Err(e),
            }
        }
        let previous = match method {
            // Kept in the ledger before the tool's boundary was set: a retry after a
            // failure in between (the boundary set, the record not written) finds the
            // principal's own there, never the tool's.
            Method::Boundary => match r
                .port
                .kept_boundary(
                    &r.env.account_id,
                    &record_key(target, facts.unique_id.as_deref()),
                )
                .await?
            {
                Some(kept) => kept,
                None => facts.boundary.clone().filter(|b| {
                    !is_revocation_boundary(b, r.config.quarantine_policy_arn.as_deref())
                }),
            },
            _ => None,
        };
        let (policy, inline) = (
            r.config.deny_policy_arn.clone(),
            r.config.inline_policy_name.clone(),
        );
        let boundary = boundary_name(target);
        self.update_facts(target, |f| match method {
            Method::Managed => {
                f.attached_policies.insert(policy);
            }
            Method::Inline => {
                f.inline_policies.insert(inline);
            }
            Method::Boundary => {
                f.boundary = boundary_set.clone().or_else(|| {
                    Some(format!(
                        "arn:aws:iam::{}:policy/iam-warden/{boundary}",
                        r.env.account_id
                    ))
                });
            }
        });
        info!(principal = %target.arn, method = method.as_str(), "deny applied");
        Ok((method, previous))
    }

    /// The boundary that denies IAM and keeps every limit of the principal's old one; when
    /// the old one cannot be read or merged (the caller's doing, perhaps), a boundary that
    /// denies everything: a revocation never fails for want of a boundary.
    async fn deny_by_boundary(&self, target: &Target, facts: &Facts) -> Result<String, PortError> {
        let r = self.revoker;
        let quarantine = r.config.quarantine_policy_arn.as_deref();
        let previous = facts
            .boundary
            .as_deref()
            .filter(|b| !is_revocation_boundary(b, quarantine));
        // The principal's own boundary, kept before the tool's takes its place.
        if !facts
            .boundary
            .as_deref()
            .is_some_and(|b| is_revocation_boundary(b, quarantine))
        {
            r.port
                .keep_boundary(
                    &r.env.account_id,
                    &record_key(target, facts.unique_id.as_deref()),
                    Some(previous),
                )
                .await?;
        }
        let previous_doc = match previous {
            Some(arn) => match r.port.policy_document(arn).await {
                Ok(doc) => doc,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    warn!(principal = %target.arn, boundary = %arn, error = %e, "the old boundary cannot be read");
                    None
                }
            },
            None => None,
        };
        let document = match (previous, previous_doc.as_deref()) {
            (Some(_), None) => deny_everything_boundary(),
            (_, doc) => boundary_document(doc).unwrap_or_else(|e| {
                warn!(principal = %target.arn, error = %e, "the old boundary cannot be kept with the deny: denying everything");
                deny_everything_boundary()
            }),
        };
        let arn = match r
            .port
            .put_boundary_policy(&boundary_name(target), &document)
            .await
        {
            Ok(arn) => arn,
            // The account's customer managed policies are full too (attack 15): the
            // stack's quarantine needs no new policy, and denies everything (never wider
            // than the old boundary). Without one, the quota stands.
            Err(PortError::LimitExceeded { message, .. }) => match quarantine {
                Some(q) => {
                    warn!(principal = %target.arn, %message, "no room for a boundary policy: the quarantine is the boundary");
                    q.to_owned()
                }
                None => {
                    return Err(PortError::LimitExceeded {
                        operation: "CreatePolicy",
                        message,
                    })
                }
            },
            Err(e) => return Err(e),
        };
        r.port.set_boundary(target, Some(&arn)).await?;
        Ok(arn)
    }

    /// The record's tags, written once the revocation is notified, in one call, when
    /// there is room: a convenience for people (the ledger is the record), so a full tag
    /// set (50, the caller's doing) or any failure (`written`), even a transient one, is
    /// only logged: the revocation is done, and a retry of its message would not write
    /// them either.
    pub(super) fn convenience_tags(
        &mut self,
        target: &Target,
        tags: &[(&str, String)],
        written: Result<(), PortError>,
    ) {
        match written {
            Ok(()) => self.update_facts(target, |f| {
                for (k, v) in tags {
                    f.tags.insert((*k).to_owned(), v.clone());
                }
            }),
            Err(e) => {
                warn!(principal = %target.arn, error = %e, "record tags not written (the ledger holds the record)");
            }
        }
    }
}
