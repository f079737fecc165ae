//! Where each event is decided: in the account the tool runs in (an account's own stack),
//! or, in central mode, in the event's own account through its member role.
//!
//! A batch's messages are split into lanes: one per account. A lane's messages are
//! decided in order and a failure holds its later messages (FIFO order within the
//! account); lanes go on independently, so one account's throttling or missing member
//! role never fails another account's messages.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::central::{self, Unrouted};
use crate::config::{Config, Environment};
use crate::event::Event;
use crate::ports::{Authorizations, Members, Notifier, PortError, RevokerPorts, Unreachable};

use super::Revoker;

/// A lane's revoker: the one of the process, or a member account's (shared).
pub enum Held<'a, P> {
    Borrowed(&'a Revoker<P>),
    Shared(Arc<Revoker<P>>),
}

impl<P> Deref for Held<'_, P> {
    type Target = Revoker<P>;
    fn deref(&self) -> &Revoker<P> {
        match self {
            Held::Borrowed(r) => r,
            Held::Shared(r) => r,
        }
    }
}

/// Why a lane's events are not decided now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// Nothing can be done in that account (not a member, or no usable account named):
    /// reported once per account and window, acknowledged, nothing changed anywhere.
    Report(String),
    /// The account's start-up checks fail for good (e.g. no admin group there): its events
    /// go to the dead-letter queue with the reason, to be redriven once it is fixed.
    DeadLetter(String),
    /// Try again later (STS or IAM throttling, 5xx): the lane's messages are retried.
    Retry(String),
}

/// The revokers of a batch's lanes.
pub trait Lanes: Send + Sync {
    type Port: RevokerPorts;
    /// The lane of an event: the account it is decided in (`Err`: no usable account).
    fn lane(&self, event: &Event) -> Result<String, Unrouted>;
    /// The revoker of `lane`, opened on its first event.
    fn revoker<'a>(
        &'a self,
        lane: &'a str,
    ) -> impl Future<Output = Result<Held<'a, Self::Port>, Blocked>> + Send;
    /// Tells, once per `lane` and ALERT_WINDOW_SECONDS, why an event was not decided.
    /// `Ok(true)` when a notice went out.
    fn report<'a>(
        &'a self,
        event: &'a Event,
        lane: Option<&'a str>,
        why: &'a str,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
}

/// An account's own stack: one lane, the process's revoker. The account check stays
/// with the decision (invariant 9: another account's event is `alerted`).
impl<P: RevokerPorts> Lanes for Revoker<P> {
    type Port = P;

    fn lane(&self, _event: &Event) -> Result<String, Unrouted> {
        Ok(String::new())
    }

    async fn revoker<'a>(&'a self, _lane: &'a str) -> Result<Held<'a, P>, Blocked> {
        Ok(Held::Borrowed(self))
    }

    async fn report<'a>(
        &'a self,
        _event: &'a Event,
        _lane: Option<&'a str>,
        _why: &'a str,
    ) -> Result<bool, PortError> {
        Ok(false)
    }
}

/// Central mode: a revoker per member account, opened through its member role on the
/// account's first event (its start-up checks and trust baseline run there then), kept
/// for the life of the process.
pub struct Fleet<M: Members> {
    members: M,
    config: Config,
    revokers: Mutex<HashMap<String, Arc<Revoker<M::Port>>>>,
    reported: Mutex<HashMap<String, Instant>>,
}

impl<M: Members> Fleet<M> {
    /// `config` as read in the central account; `member_role` must be set.
    pub fn new(members: M, config: Config) -> Self {
        Self {
            members,
            config,
            revokers: Mutex::new(HashMap::new()),
            reported: Mutex::new(HashMap::new()),
        }
    }

    /// The central account's own revoker (its own stack's roles, no member role): the
    /// events of the account the functions run in are decided by it.
    pub fn with_own(self, revoker: Revoker<M::Port>) -> Self {
        lock(&self.revokers).insert(revoker.env().account_id.clone(), Arc::new(revoker));
        self
    }

    pub fn members(&self) -> &M {
        &self.members
    }

    /// The member accounts opened so far.
    pub fn opened(&self) -> Vec<String> {
        let mut out: Vec<String> = lock(&self.revokers).keys().cloned().collect();
        out.sort();
        out
    }

    fn role_name(&self) -> &str {
        self.config.member_role.as_deref().unwrap_or_default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<M: Members> Lanes for Fleet<M>
where
    M::Port: Authorizations + 'static,
{
    type Port = M::Port;

    fn lane(&self, event: &Event) -> Result<String, Unrouted> {
        central::account_of(event)
    }

    async fn revoker<'a>(&'a self, lane: &'a str) -> Result<Held<'a, M::Port>, Blocked> {
        if let Some(r) = lock(&self.revokers).get(lane) {
            return Ok(Held::Shared(Arc::clone(r)));
        }
        let config = central::in_account(&self.config, lane);
        let (port, env) = match self.members.open(lane, &config).await {
            Ok(opened) => opened,
            Err(Unreachable::NotMember(why)) => return Err(Blocked::Report(why)),
            Err(Unreachable::Unusable(why)) => return Err(Blocked::DeadLetter(why)),
            Err(Unreachable::Transient(e)) => return Err(Blocked::Retry(e.to_string())),
        };
        if env.account_id != lane {
            // The member role answered for another account: never act there.
            return Err(Blocked::DeadLetter(format!(
                "the member role in {lane} acts in account {}",
                env.account_id
            )));
        }
        start_up(&port, &config, &env).await.map_err(|e| {
            if e.is_transient() {
                Blocked::Retry(e.to_string())
            } else {
                Blocked::DeadLetter(format!("start-up in {lane}: {e}"))
            }
        })?;
        tracing::info!(account = %lane, caller = %env.caller_arn, "member account opened");
        let revoker = Arc::new(Revoker::new(port, config, env));
        let mut revokers = lock(&self.revokers);
        let held = revokers.entry(lane.to_owned()).or_insert(revoker);
        Ok(Held::Shared(Arc::clone(held)))
    }

    async fn report<'a>(
        &'a self,
        event: &'a Event,
        lane: Option<&'a str>,
        why: &'a str,
    ) -> Result<bool, PortError> {
        let key = lane.unwrap_or("unrouted").to_owned();
        {
            let reported = lock(&self.reported);
            if reported
                .get(&key)
                .is_some_and(|at| at.elapsed() < self.config.alert_window)
            {
                return Ok(false);
            }
        }
        let notice = central::not_onboarded(event, lane, why, self.role_name());
        self.members.home().publish(&notice).await?;
        lock(&self.reported).insert(key, Instant::now());
        Ok(true)
    }
}

/// What a revoker does once per account before its first event: the trust baseline
/// (first start of a deployment, or a member's first event: grants still on their way
/// left out), the sessions baseline (ROLE_MODE=session, never a
/// reason not to start), the admin permission sets' roles, EXEMPT_PRINCIPALS and the
/// admin group by unique id (a rename made while no revoker ran put back, and said).
pub async fn start_up<P: RevokerPorts + Authorizations>(
    port: &P,
    config: &Config,
    env: &Environment,
) -> Result<(), PortError> {
    let account = env.account_id.as_str();
    // The baseline leaves out whoever was given trust by a call that may still be on
    // its way (a member is opened on its first event, which may be that very grant).
    let (trusted, taken) = crate::vouch::ensure_baseline_in_flight(port, account, config).await?;
    tracing::info!(
        account,
        trusted = trusted.entries.len(),
        baseline_taken = taken,
        "trust ledger read"
    );
    // CloudTrail's LookupEvents (two requests a second per account, which anyone may use
    // up) failing leaves the sessions baseline for the next start, and says so.
    match crate::vouch::ensure_sessions_baseline(
        port,
        config,
        env,
        crate::vouch::PIPELINE_EVENTS_AT_START,
    )
    .await
    {
        Ok(Some(pipelines)) => {
            tracing::info!(
                account,
                pipelines = pipelines.len(),
                "sessions baseline taken"
            )
        }
        Ok(None) => {}
        Err(e) => tracing::error!(
            account,
            error = %e,
            "the sessions baseline could not be taken: taken at the next start (or run `warden init`)"
        ),
    }
    for entry in crate::vouch::ensure_permission_sets(port, config, env).await? {
        tracing::info!(account, role = %entry.name, provenance = %entry.provenance, "trusted");
    }
    for problem in crate::vouch::ensure_listed(port, env, config).await? {
        tracing::warn!(account, %problem, "EXEMPT_PRINCIPALS");
        if port.enabled() {
            port.publish(&crate::notice::for_tampering(None, &problem, env))
                .await?;
        }
    }
    if let Some(what) = crate::vouch::ensure_admin_group(port, account, &config.admin_group).await?
    {
        tracing::warn!(account, %what, "the admin group");
        if port.enabled() {
            port.publish(&crate::notice::for_tampering(None, &what, env))
                .await?;
        }
    }
    Ok(())
}
