//! The notices: a revocation's (once, by its record), what was undone or contained
//! (once, by the caller's record), alerts (once per ALERT_WINDOW_SECONDS), and the
//! failure of an event that cannot be processed (once, by the day's record).

use tracing::info;

use crate::config::tags;
use crate::containment::Contained;
use crate::decision::Verdict;
use crate::event::Event;
use crate::facts::CallerFacts;
use crate::grant::Escalation;
use crate::notice::{self, Notice};
use crate::ports::{Claim, PortError, RevokerPorts};
use crate::revocation::RevocationRecord;

use super::keys::notice_scope;
use super::keys::principal_of;
use super::state::{Invocation, Revoker};

impl<P: RevokerPorts> Invocation<'_, P> {
    /// The revocation's notice, once (the ledger's record says whether it went out),
    /// with what was undone and contained because of the event.
    pub(super) async fn notify_revocation(
        &mut self,
        event: &Event,
        verdict: &Verdict,
        (record, key): (RevocationRecord, String),
        escalation: Option<&Escalation>,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let account = r.env.account_id.clone();
        let Some(target) = verdict.revocation.as_ref().map(|rev| rev.target.clone()) else {
            return Ok(());
        };
        if !record.notified {
            // Claimed under the revocation's record and event: two invocations revoking
            // the same caller at once (the events queue's and the deferral queue's) find
            // the same record, and only one sends its notice.
            let mut marks = vec![(format!("revocation/{key}"), record.event_id.clone())];
            marks.extend(undone_marks(escalation, containment));
            r.send_once(&marks, || {
                r.verdict_notice(event, verdict, escalation, containment)
            })
            .await?;
            // A session's: the role itself is not revoked, nothing to remember of it.
            if record.session.is_some() {
                r.port.revocation_notified(&account, &key).await?;
                return Ok(());
            }
            let tags = [
                (
                    tags::REVOKED_AT,
                    record.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                ),
                (tags::EVENT_ID, record.event_id.clone()),
                (tags::EVENT_NAME, record.event_name.clone()),
                (tags::NOTIFIED, record.event_id.clone()),
            ];
            // The record marked and the tags written together: two independent writes
            // after the notice (a retry finds the notice sent by its claim's mark).
            let (marked, tagged) = futures_util::future::join(
                Box::pin(r.port.revocation_notified(&account, &key)),
                Box::pin(r.port.tag(&target, &tags)),
            )
            .await;
            self.convenience_tags(&target, &tags, tagged);
            marked?;
            self.update_facts(&target, |f| {
                if let Some(rec) = f.revocation.as_mut() {
                    rec.notified = true;
                }
            });
        }
        // A session's: the role itself is not revoked (its other sessions must still be
        // decided, each on its own).
        if record.session.is_some() {
            return Ok(());
        }
        // Only now: a retry after a failed notice must decide in full to send it.
        let unique_id = match self.facts.get(&target) {
            Some(CallerFacts::Found(f)) => f.unique_id.clone(),
            _ => None,
        };
        r.set_confirmed(&target, Some(record.method), unique_id.as_deref());
        Ok(())
    }

    /// The notice of what was undone or contained because of an event, once per event
    /// (the caller's record says it was sent; in MODE=report, each time).
    pub(super) async fn notify_undone(
        &self,
        event: &Event,
        verdict: &Verdict,
        escalation: Option<&Escalation>,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let containment = containment.filter(|c| c.worth_a_notice());
        let sent = escalation.is_none_or(|e| e.notified) && containment.is_none_or(|c| c.notified);
        if sent || !r.port.enabled() {
            return Ok(());
        }
        r.send_once(&undone_marks(escalation, containment), || {
            r.verdict_notice(event, verdict, escalation, containment)
        })
        .await
    }

    pub(super) async fn alert(
        &self,
        event: &Event,
        verdict: &Verdict,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        if !r.port.enabled() {
            return Ok(());
        }
        let key = (
            principal_of(event, verdict),
            event.event_name().unwrap_or_default().to_owned(),
        );
        let window = r.config.alert_window;
        if !r.alert_due(&key, window) {
            info!(principal = %key.0, event_name = %key.1, "notice already sent within ALERT_WINDOW_SECONDS");
            return Ok(());
        }
        let notice = r.verdict_notice(event, verdict, None, containment);
        r.port.publish(&notice).await?;
        r.alert_sent(key, window);
        Ok(())
    }
}

impl<P: RevokerPorts> Revoker<P> {
    /// The notice of a decided event, with what was undone and contained because of it.
    fn verdict_notice(
        &self,
        event: &Event,
        verdict: &Verdict,
        escalation: Option<&Escalation>,
        containment: Option<&Contained>,
    ) -> Notice {
        notice::for_verdict_with(
            event,
            verdict,
            &self.env,
            &self.config.deny_policy_arn,
            &self.config.inline_policy_name,
            escalation,
            containment,
        )
    }

    /// The notice of an event that failed for good (it goes to the dead-letter queue),
    /// once.
    pub async fn notify_failure(
        &self,
        event: &Event,
        message_id: &str,
        reason: &str,
    ) -> Result<(), PortError> {
        let key = event.event_id().unwrap_or(message_id);
        self.notify_once(FAILURES, event, key, || {
            notice::for_failure(Some(event), reason, self.env())
        })
        .await
    }

    /// Sends an event's notice of a `kind` once: the day's record of that kind (the
    /// ledger) remembers the event's `key`. The mark is written whether or not notices
    /// go anywhere, as a revocation's is: turning TOPIC_ARN on later never sends the
    /// notices of events already handled.
    pub(super) async fn notify_once(
        &self,
        kind: &str,
        event: &Event,
        key: &str,
        notice: impl FnOnce() -> Notice,
    ) -> Result<(), PortError> {
        let scope = notice_scope(kind, event);
        self.send_once(&[(scope, key.to_owned())], notice).await
    }

    /// Sends a notice once for the marks `(caller, event id)` it tells of, whichever
    /// invocation gets there first: each mark is claimed before the notice is published
    /// and marked sent after. A mark another invocation is sending (within
    /// [`NOTICE_LEASE`]) makes this one wait (a transient error: the message is retried);
    /// a notice that could not be published gives its claims up. Marked whether or not
    /// notices go anywhere.
    pub(super) async fn send_once(
        &self,
        marks: &[(String, String)],
        notice: impl FnOnce() -> Notice,
    ) -> Result<(), PortError> {
        let port = self.port();
        let account = &self.env().account_id;
        let mut mine = Vec::new();
        let mut held = None;
        for (caller, event_id) in marks {
            match port
                .claim_notice(account, caller, event_id, NOTICE_LEASE)
                .await?
            {
                Claim::Mine => mine.push((caller, event_id)),
                Claim::Sent => {}
                Claim::Held => held = Some(event_id),
            }
        }
        if let Some(event_id) = held {
            self.release_claims(&mine).await?;
            return Err(PortError::Transient {
                operation: "notice",
                message: format!(
                    "another invocation is sending the notice of event {event_id}: asked again later"
                ),
            });
        }
        // Sent by another (a notice with nothing to mark, MODE=report's, goes each time).
        if mine.is_empty() && !marks.is_empty() {
            return Ok(());
        }
        if port.enabled() {
            if let Err(e) = port.publish(&notice()).await {
                self.release_claims(&mine).await?;
                return Err(e);
            }
        }
        for (caller, event_id) in mine {
            port.mark_notified(account, caller, event_id).await?;
        }
        Ok(())
    }

    /// Gives up this invocation's claims on a notice it will not send now.
    async fn release_claims(&self, mine: &[(&String, &String)]) -> Result<(), PortError> {
        for (caller, event_id) in mine {
            self.port()
                .release_notice(&self.env().account_id, caller, event_id)
                .await?;
        }
        Ok(())
    }
}

/// How long a claim on a notice holds: longer than the revoker's run (60 s), after which
/// a failed run's message, back from the deferral queue (in 30 s, then 60, 120: the
/// handler's backoff) or its queue's visibility timeout (360 s), may take the claim over.
pub(super) const NOTICE_LEASE: std::time::Duration = std::time::Duration::from_secs(120);

/// The marks of the escalation and the containment a notice tells of, each under its own
/// caller (an escalation seen from its grantee has another event); those sent already,
/// or only planned, are not marked again.
fn undone_marks(
    escalation: Option<&Escalation>,
    containment: Option<&Contained>,
) -> Vec<(String, String)> {
    let mut marks: Vec<(String, String)> = Vec::new();
    if let Some(e) = escalation.filter(|e| !e.planned_only && !e.notified) {
        marks.push((e.by.clone(), e.event_id.clone()));
    }
    if let Some(c) = containment.filter(|c| !c.planned_only && !c.notified) {
        let mark = (c.by.clone(), c.event_id.clone());
        if !marks.contains(&mark) {
            marks.push(mark);
        }
    }
    marks
}

/// The ledger record whose notified set holds the events that failed for good.
const FAILURES: &str = "failed-events";
