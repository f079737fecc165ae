//! The revoker's code path, shared by the Lambda and `warden replay`: decide, then
//! carry out the decision through the ports.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::{info, warn};

use crate::config::{tags, Config};
use crate::decision::{decide, CallerFacts, Decision, Environment, Method, Step, Verdict};
use crate::event::Event;
use crate::notice;
use crate::ports::{Directory, Enforcer, Notifier, PortError};
use crate::principal::{Principal, Target};
use crate::DENY_ALL_IAM_POLICY;

/// One line of `warden replay`, one log record of the Lambda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub principal: String,
    pub decision: Decision,
    pub reason: String,
}

/// Everything the revoker needs; built once per process (cold start).
pub struct Revoker<P> {
    port: P,
    config: Config,
    env: Environment,
    /// Last notice per (principal, event name), to send `alerted` / `would-revoke` at
    /// most once per ALERT_WINDOW_SECONDS. Kept per process: a warm Lambda container
    /// (the FIFO queue feeds one at a time) or one `warden replay` run.
    alerts: Mutex<HashMap<(String, String), Instant>>,
    /// Principals this process revoked and notified, or found fully revoked, with how:
    /// a later event of theirs costs one call (is the deny still there?) instead of
    /// the facts. Never trusted without that call: a restore elsewhere is seen.
    confirmed: Mutex<HashMap<Target, Method>>,
}

/// Per-invocation state: facts are looked up at most once per principal.
pub struct Batch<'a, P> {
    revoker: &'a Revoker<P>,
    facts: HashMap<Target, CallerFacts>,
}

impl<P: Directory + Enforcer + Notifier> Revoker<P> {
    pub fn new(port: P, config: Config, env: Environment) -> Self {
        Self {
            port,
            config,
            env,
            alerts: Mutex::new(HashMap::new()),
            confirmed: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn env(&self) -> &Environment {
        &self.env
    }

    pub fn port(&self) -> &P {
        &self.port
    }

    /// Starts an invocation (one SQS batch, one replay run).
    pub fn batch(&self) -> Batch<'_, P> {
        Batch {
            revoker: self,
            facts: HashMap::new(),
        }
    }

    fn confirmed(&self, target: &Target) -> Option<Method> {
        let c = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        c.get(target).copied()
    }

    fn set_confirmed(&self, target: &Target, method: Option<Method>) {
        let mut c = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        match method {
            Some(m) => c.insert(target.clone(), m),
            None => c.remove(target),
        };
    }

    fn alert_due(&self, key: &(String, String), window: Duration) -> bool {
        let alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        alerts.get(key).is_none_or(|at| at.elapsed() >= window)
    }

    fn alert_sent(&self, key: (String, String), window: Duration) {
        let mut alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        alerts.retain(|_, at| at.elapsed() < window);
        alerts.insert(key, Instant::now());
    }
}

impl<P: Directory + Enforcer + Notifier> Batch<'_, P> {
    /// Decides on one event and, unless `dry_run`, carries the decision out.
    ///
    /// An error is never a decision: the caller retries the event later.
    pub async fn process(&mut self, event: &Event, dry_run: bool) -> Result<Outcome, PortError> {
        let r = self.revoker;
        let verdict = match decide(event, None, &r.config, &r.env) {
            Step::Done(v) => v,
            Step::LookUp(target) => {
                // Revoked by this process before: one call to confirm the deny is
                // still there, instead of reading the facts.
                if !self.facts.contains_key(&target) {
                    if let Some(method) = r.confirmed(&target) {
                        if r.port.deny_present(&target, method, &r.config).await? {
                            return Ok(Outcome {
                                event_id: event.event_id().map(str::to_owned),
                                event_name: event.event_name().map(str::to_owned),
                                principal: target.arn.clone(),
                                decision: Decision::AlreadyRevoked,
                                reason: format!(
                                    "{target} already has the {} deny (revoked by iam-warden, confirmed)",
                                    match method {
                                        Method::Managed => "managed",
                                        Method::Inline => "inline",
                                    }
                                ),
                            });
                        }
                        r.set_confirmed(&target, None);
                    }
                }
                let facts = match self.facts.get(&target) {
                    Some(f) => f.clone(),
                    None => {
                        let f = r.port.facts(&target).await?;
                        self.facts.insert(target.clone(), f.clone());
                        f
                    }
                };
                let verdict = match decide(event, Some(&facts), &r.config, &r.env) {
                    Step::Done(v) => v,
                    Step::LookUp(_) => {
                        return Err(PortError::Failed {
                            operation: "decide",
                            message: "the decision asked for facts it was given".into(),
                        })
                    }
                };
                // A complete revocation found in IAM (deny attached, notice sent).
                if let (Decision::AlreadyRevoked, CallerFacts::Found(f)) =
                    (verdict.decision, &facts)
                {
                    let notified = f.tags.contains_key(tags::EVENT_ID)
                        && f.tags.get(tags::NOTIFIED) == f.tags.get(tags::EVENT_ID);
                    if notified && f.attached_policies.contains(&r.config.deny_policy_arn) {
                        r.set_confirmed(&target, Some(Method::Managed));
                    } else if notified && f.inline_policies.contains(&r.config.inline_policy_name) {
                        r.set_confirmed(&target, Some(Method::Inline));
                    }
                }
                verdict
            }
        };

        let mut verdict = verdict;
        if !dry_run {
            match verdict.decision {
                Decision::Revoked => self.revoke(event, &mut verdict).await?,
                Decision::Alerted | Decision::WouldRevoke => self.alert(event, &verdict).await?,
                _ => {}
            }
        }
        Ok(Outcome {
            event_id: event.event_id().map(str::to_owned),
            event_name: event.event_name().map(str::to_owned),
            principal: principal_of(event, &verdict),
            decision: verdict.decision,
            reason: verdict.reason,
        })
    }

    /// Record, deny, notify, mark notified: in this order, so that a failure at any
    /// step leaves a state from which a retry of the message finishes the job and
    /// notifies exactly once (the `notified` tag is written only after the publish).
    async fn revoke(&mut self, event: &Event, verdict: &mut Verdict) -> Result<(), PortError> {
        let r = self.revoker;
        let Some(revocation) = verdict.revocation.as_mut() else {
            return Ok(());
        };
        let target = revocation.target.clone();
        let event_id = event.event_id().unwrap_or("unknown").to_owned();
        let mut recorded_event = event_id.clone();

        if revocation.resume {
            if let Some(CallerFacts::Found(f)) = self.facts.get(&target) {
                if let Some(id) = f.tags.get(tags::EVENT_ID) {
                    recorded_event = id.clone();
                }
            }
        } else {
            let record = [
                (
                    tags::REVOKED_AT,
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                ),
                (tags::EVENT_ID, event_id.clone()),
                (
                    tags::EVENT_NAME,
                    event.event_name().unwrap_or("unknown").to_owned(),
                ),
            ];
            r.port.tag(&target, &record).await?;
            self.update_facts(&target, |f| {
                for (k, v) in &record {
                    f.tags.insert((*k).to_owned(), v.clone());
                }
            });

            if revocation.method == Method::Managed {
                match r
                    .port
                    .attach_policy(&target, &r.config.deny_policy_arn)
                    .await
                {
                    Ok(()) => {}
                    Err(PortError::LimitExceeded { .. }) => {
                        warn!(principal = %target.arn, "managed-policy quota reached at attach: using the inline deny");
                        revocation.method = Method::Inline;
                        verdict.reason = format!(
                            "{}; IAM refused the attach at the quota: put the inline deny `{}` instead",
                            verdict.reason, r.config.inline_policy_name
                        );
                    }
                    Err(e) => return Err(e),
                }
            }
            if revocation.method == Method::Inline {
                r.port
                    .put_inline_policy(&target, &r.config.inline_policy_name, DENY_ALL_IAM_POLICY)
                    .await?;
            }
            let (method, policy, inline) = (
                revocation.method,
                r.config.deny_policy_arn.clone(),
                r.config.inline_policy_name.clone(),
            );
            self.update_facts(&target, |f| match method {
                Method::Managed => {
                    f.attached_policies.insert(policy);
                }
                Method::Inline => {
                    f.inline_policies.insert(inline);
                }
            });
            info!(principal = %target.arn, method = ?method, "deny applied");
        }

        if r.port.enabled() {
            let notice = notice::for_verdict(
                event,
                verdict,
                &r.env,
                &r.config.deny_policy_arn,
                &r.config.inline_policy_name,
            );
            r.port.publish(&notice).await?;
        }
        r.port
            .tag(&target, &[(tags::NOTIFIED, recorded_event.clone())])
            .await?;
        self.update_facts(&target, |f| {
            f.tags.insert(tags::NOTIFIED.to_owned(), recorded_event);
        });
        if verdict.decision == Decision::Revoked {
            if let Some(rev) = &verdict.revocation {
                r.set_confirmed(&target, Some(rev.method));
            }
        }
        Ok(())
    }

    async fn alert(&self, event: &Event, verdict: &Verdict) -> Result<(), PortError> {
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
        let notice = notice::for_verdict(
            event,
            verdict,
            &r.env,
            &r.config.deny_policy_arn,
            &r.config.inline_policy_name,
        );
        r.port.publish(&notice).await?;
        r.alert_sent(key, window);
        Ok(())
    }

    fn update_facts(&mut self, target: &Target, change: impl FnOnce(&mut crate::decision::Facts)) {
        if let Some(CallerFacts::Found(f)) = self.facts.get_mut(target) {
            change(f);
        }
    }
}

/// The principal a decision is about: the user or role when there is one, else the caller.
fn principal_of(event: &Event, verdict: &Verdict) -> String {
    match (&verdict.target, event.record()) {
        (Some(t), _) => t.arn.clone(),
        (None, Some(record)) => Principal::classify(record).display(),
        (None, None) => String::new(),
    }
}

/// What `warden restore` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub principal: String,
    pub restored: bool,
    pub actions: Vec<String>,
}

/// Undoes a revocation: detach the managed deny, delete the inline deny, remove the
/// record tags, notify. Safe to run on a principal that is not revoked.
pub async fn restore<P: Directory + Enforcer + Notifier>(
    port: &P,
    config: &Config,
    env: &Environment,
    target: &Target,
) -> Result<RestoreReport, PortError> {
    let facts = match port.facts(target).await? {
        CallerFacts::Found(f) => f,
        CallerFacts::Gone => {
            return Err(PortError::NoSuchEntity {
                operation: "restore",
                message: format!("{target} does not exist"),
            })
        }
    };
    let mut actions = Vec::new();
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
    let recorded: Vec<&str> = tags::ALL
        .iter()
        .copied()
        .filter(|k| facts.tags.contains_key(*k))
        .collect();
    if !recorded.is_empty() {
        port.untag(target, &recorded).await?;
        actions.push(format!("removed the tags {}", recorded.join(", ")));
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
    })
}
