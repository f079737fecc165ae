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
use crate::ports::{PortError, RevokerPorts};
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
            if r.port.enabled() {
                let notice = r.verdict_notice(event, verdict, escalation, containment);
                r.port.publish(&notice).await?;
            }
            r.port.revocation_notified(&account, &key).await?;
            self.mark_undone_notified(escalation, containment).await?;
            self.update_facts(&target, |f| {
                if let Some(rec) = f.revocation.as_mut() {
                    rec.notified = true;
                }
            });
            self.convenience_tags(&target, &[(tags::NOTIFIED, record.event_id.clone())])
                .await?;
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
        let notice = r.verdict_notice(event, verdict, escalation, containment);
        r.port.publish(&notice).await?;
        self.mark_undone_notified(escalation, containment).await
    }

    /// Marks the escalation and the containment a notice told of as notified, each in
    /// its own caller's record (an escalation seen from its grantee has another event),
    /// right after the notice: nothing else runs between them.
    async fn mark_undone_notified(
        &self,
        escalation: Option<&Escalation>,
        containment: Option<&Contained>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let mut marks: Vec<(&String, &String)> = Vec::new();
        if let Some(e) = escalation.filter(|e| !e.planned_only && !e.notified) {
            marks.push((&e.by, &e.event_id));
        }
        if let Some(c) = containment.filter(|c| !c.planned_only && !c.notified) {
            if !marks.contains(&(&c.by, &c.event_id)) {
                marks.push((&c.by, &c.event_id));
            }
        }
        for (by, event_id) in marks {
            r.port
                .mark_notified(&r.env.account_id, by, event_id)
                .await?;
        }
        Ok(())
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
        let port = self.port();
        let account = &self.env().account_id;
        let scope = notice_scope(kind, event);
        if port.notified(account, &scope, key).await? {
            return Ok(());
        }
        if port.enabled() {
            port.publish(&notice()).await?;
        }
        port.mark_notified(account, &scope, key).await
    }
}

/// The ledger record whose notified set holds the events that failed for good.
const FAILURES: &str = "failed-events";
