//! What the revoker remembers: per process ([`Revoker`]: the ports, the configuration,
//! the confirmed revocations, the alerts sent, CloudTrail's answers) and per invocation
//! ([`Invocation`]: facts read, the trust ledger, the tool's policies verified).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Config;
use crate::config::Environment;
use crate::decision::Decision;
use crate::event::CloudTrailRecord;
use crate::facts::CallerFacts;
use crate::minted::Credential;
use crate::ports::RevokerPorts;
use crate::principal::Target;
use crate::revocation::Method;
use crate::trust::TrustSet;

/// One line of `warden replay`, one log record of the Lambda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    pub principal: String,
    pub decision: Decision,
    pub reason: String,
    /// What iam-warden changed besides the deny (an escalation undone), for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// `deferred`: decide again after this many seconds; also a decided event whose
    /// follow-up waits (a revoked session's source not in CloudTrail yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defer_seconds: Option<u64>,
}

/// Everything the revoker needs; built once per process (cold start).
pub struct Revoker<P> {
    pub(super) port: P,
    pub(super) config: Config,
    pub(super) env: Environment,
    /// Last notice per (principal, event name), to send `alerted` / `would-revoke` at
    /// most once per ALERT_WINDOW_SECONDS. Kept per process: a warm Lambda container
    /// (the FIFO queue feeds one at a time) or one `warden replay` run.
    pub(super) alerts: Mutex<HashMap<(String, String), Instant>>,
    /// Principals this process revoked and notified, or found fully revoked, with how:
    /// a later event of theirs costs one call (is the deny still there?) instead of
    /// the facts. Never trusted without that call: a restore elsewhere is seen.
    pub(super) confirmed: Mutex<HashMap<Target, (Method, Option<String>)>>,
    /// CloudTrail look-ups by event name: when, since when, what.
    pub(super) trail: Mutex<HashMap<String, (Instant, Vec<CloudTrailRecord>)>>,
    /// Who made each credential seen, once settled: the making call of another
    /// principal, or `None` (its own user's, or older than CloudTrail can say).
    pub(super) made: Mutex<HashMap<Credential, Option<CloudTrailRecord>>>,
    /// The sessions of trusted roles whose source was looked at (per process): each costs
    /// CloudTrail look-ups once.
    pub(super) traced: Mutex<std::collections::HashSet<String>>,
}

/// How an unverified principal's event waits for its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Until `eventTime + TRUST_WAIT_SECONDS` (the Lambda: the event is deferred).
    Clock,
    /// Until the end of the run (`warden replay`'s first pass over a file).
    EndOfRun,
    /// Not at all (`warden replay`'s last pass: every grant has been seen).
    Done,
}

/// One invocation's memory (an SQS batch of the Lambda, one pass of `warden replay`):
/// facts are looked up at most once per principal, the trust ledger read at most once.
pub struct Invocation<'a, P> {
    pub(super) revoker: &'a Revoker<P>,
    /// IAM facts (without trust: that is filled in from `trust` at each decision).
    pub(super) facts: HashMap<Target, CallerFacts>,
    pub(super) trust: Option<TrustSet>,
    pub(super) patience: Patience,
    /// The deny policy was verified in this invocation.
    pub(super) deny_verified: bool,
    /// The quarantine policy was verified in this invocation.
    pub(super) quarantine_verified: bool,
    /// The action records this invocation wrote, by caller and key: read with the
    /// ledger's index, which may not show them yet.
    pub(super) written: std::collections::BTreeMap<(String, String), crate::action::ActionRecord>,
    /// What was met ahead of events' turn, by event key ([`Invocation::deny_ahead`]):
    /// the decision a deny was put in place on, or the failure the event fails with.
    pub(super) ahead: HashMap<String, Result<crate::decision::Verdict, crate::error::DomainError>>,
    /// Principals whose confirmed deny this invocation found still in place: their later
    /// events in the batch cost no call.
    pub(super) present: std::collections::HashSet<Target>,
}

impl<P: RevokerPorts> Revoker<P> {
    pub fn new(port: P, config: Config, env: Environment) -> Self {
        Self {
            port,
            config,
            env,
            alerts: Mutex::new(HashMap::new()),
            confirmed: Mutex::new(HashMap::new()),
            trail: Mutex::new(HashMap::new()),
            made: Mutex::new(HashMap::new()),
            traced: Mutex::new(std::collections::HashSet::new()),
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

    /// Starts an invocation (one SQS batch): unverified principals wait by the clock.
    pub fn batch(&self) -> Invocation<'_, P> {
        self.batch_with(Patience::Clock)
    }

    pub fn batch_with(&self, patience: Patience) -> Invocation<'_, P> {
        Invocation {
            revoker: self,
            facts: HashMap::new(),
            trust: None,
            patience,
            deny_verified: false,
            quarantine_verified: false,
            written: std::collections::BTreeMap::new(),
            ahead: HashMap::new(),
            present: std::collections::HashSet::new(),
        }
    }

    /// The method of a revocation this process confirmed for `target`, when the caller
    /// is the principal it confirmed (`caller_id`, the event's unique id, is the one
    /// recorded): another principal that took the name is decided in full.
    pub(super) fn confirmed(&self, target: &Target, caller_id: Option<&str>) -> Option<Method> {
        let c = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        c.get(target)
            .filter(|(_, id)| id.as_deref() == caller_id)
            .map(|(m, _)| *m)
    }

    pub(super) fn set_confirmed(
        &self,
        target: &Target,
        method: Option<Method>,
        unique_id: Option<&str>,
    ) {
        let mut c = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        match method {
            Some(m) => c.insert(target.clone(), (m, unique_id.map(str::to_owned))),
            None => c.remove(target),
        };
    }

    pub(super) fn alert_due(&self, key: &(String, String), window: Duration) -> bool {
        let alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        alerts.get(key).is_none_or(|at| at.elapsed() >= window)
    }

    pub(super) fn alert_sent(&self, key: (String, String), window: Duration) {
        let mut alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        alerts.retain(|_, at| at.elapsed() < window);
        alerts.insert(key, Instant::now());
    }
}
