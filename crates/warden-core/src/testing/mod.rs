//! In-memory implementations of every port: the test double for the domain.
//! Faults can be queued per operation to exercise retries and partial failures.
//! Also the fixtures the tests of several crates share.
//!
//! One file per port family, named as the real adapter's file in warden-aws: the
//! in-memory `Trail` is in `trail.rs` here, as the real one is there.

mod actions;
mod assess;
mod canary;
mod chat;
mod credentials;
mod enforcer;
mod fixtures;
mod iam;
mod ledger;
mod notify;
mod prune;
mod queue;
mod revocation;
mod runs;
mod trail;
mod trust;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use crate::action::CallerRecord;
use crate::event::CloudTrailRecord;
use crate::facts::Facts;
use crate::notice::Notice;
use crate::ports::PortError;
use crate::principal::{EntityKind, Target};
use crate::prune::{LedgerEntry, Report};
use crate::trust::TrustSet;

pub use fixtures::{
    config, config_from, environment, sample_event, sample_text, DENY_POLICY_ARN,
    QUARANTINE_POLICY_ARN, SAMPLE_EVENTS,
};

#[derive(Debug, Default)]
pub struct State {
    pub principals: BTreeMap<(EntityKind, String), Facts>,
    pub notices: Vec<Notice>,
    /// (body, reason, message id)
    pub dead_letters: Vec<(String, String, String)>,
    /// Every operation called, in order.
    pub calls: Vec<&'static str>,
    faults: HashMap<&'static str, VecDeque<PortError>>,
    /// Managed policies per principal before `LimitExceeded` (IAM's own check).
    pub attach_limit: Option<usize>,
    /// Access Advisor's answer per principal ARN (absent: a failed job).
    pub reports: HashMap<String, Report>,
    /// The pruner's policies by ARN: the principal tag and the versions, newest last.
    pub policies: BTreeMap<String, (String, Vec<String>)>,
    pub ledger: BTreeMap<String, LedgerEntry>,
    pub runs: BTreeMap<String, MemoryRun>,
    /// What the inventory lists (attached policies are read from `principals`).
    pub subjects: Vec<crate::prune::Subject>,
    /// Bodies sent to the work queue.
    pub work_queue: Vec<String>,
    /// Notices posted to chat (when `chat` is on).
    pub chat: Option<Vec<Notice>>,
    /// The trust ledger (`None`: no baseline taken).
    pub trust: Option<TrustSet>,
    /// Action records by caller.
    pub records: BTreeMap<String, CallerRecord>,
    /// What CloudTrail's LookupEvents finds.
    pub trail: Vec<CloudTrailRecord>,
    /// Bodies sent to the deferral queue, with their delay and their failed deliveries.
    pub deferred: Vec<(String, std::time::Duration, u32)>,
    /// Revocation records by key.
    pub revocations: BTreeMap<String, crate::revocation::RevocationRecord>,
    /// The tool's policies' default documents by ARN (absent: deleted), and how many
    /// versions each has.
    pub tool_policies: BTreeMap<String, (String, usize)>,
    /// Boundary documents by ARN (the principals' own, and the tool's).
    pub boundaries: BTreeMap<String, String>,
    /// The canary's arrivals: (made at, seen at).
    pub canaries: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    /// Users' credentials and whether each is active.
    pub credentials: BTreeMap<(String, crate::action::Credential), bool>,
    /// Users with a console password.
    pub login_profiles: std::collections::BTreeSet<String>,
    /// Inline policy documents by (`user/x`, `role/x` or `group/x`, policy name); users'
    /// and roles' names are in their facts too.
    pub inline_documents: BTreeMap<(String, String), String>,
    /// Managed policies attached to groups: (group, policy ARN).
    pub group_policies: std::collections::BTreeSet<(String, String)>,
    /// The people the tool's SCPs deny IAM to, by account (SESSION_SCP).
    pub scp_people: std::collections::BTreeSet<(String, crate::session_scp::Person)>,
    /// Roles' trust policies, by role name (those the tests set).
    pub trust_policies: BTreeMap<String, String>,
    /// Customer managed policies' versions, by ARN.
    pub policy_versions: BTreeMap<String, Vec<crate::containment::PolicyVersion>>,
    /// When IAM says each credential was made ([`crate::minted::Credential`]; a session
    /// by its user's login profile); one not here was made in 2020.
    pub made: BTreeMap<crate::minted::Credential, chrono::DateTime<chrono::Utc>>,
    /// Groups' unique ids, by name (those the tests set).
    pub group_ids: BTreeMap<String, String>,
    /// The boundaries roles had before their sessions deny took its place, by role id.
    pub kept_boundaries: BTreeMap<String, Option<String>>,
    /// The ledger's revoked sessions, by role unique id.
    pub denied_sessions: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Roles at Identity Center's path (`/aws-reserved/sso.amazonaws.com/`), by name.
    pub reserved_roles: std::collections::BTreeSet<String>,
    /// Notices being sent, by (caller, event id): when they were claimed.
    pub claims: BTreeMap<(String, String), chrono::DateTime<chrono::Utc>>,
    /// Security Hub's findings by id.
    pub hub: BTreeMap<String, crate::security_hub::HubFinding>,
    /// IAM's credential report (`None`: still being generated).
    pub credential_report: Option<crate::credentials::Report>,
    /// Access keys' creation and last use, by key id (absent: made in 2020, never used).
    pub key_dates: BTreeMap<
        String,
        (
            chrono::DateTime<chrono::Utc>,
            Option<chrono::DateTime<chrono::Utc>>,
        ),
    >,
}

impl State {
    /// What IAM keeps under a user's name, moved to its new name.
    pub fn rename_user(&mut self, from: &str, to: &str) {
        let creds: Vec<_> = self
            .credentials
            .keys()
            .filter(|(u, _)| u == from)
            .cloned()
            .collect();
        for (u, c) in creds {
            if let Some(active) = self.credentials.remove(&(u, c.clone())) {
                self.credentials.insert((to.to_owned(), c), active);
            }
        }
        if self.login_profiles.remove(from) {
            self.login_profiles.insert(to.to_owned());
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct MemoryRun {
    pub chunks: usize,
    pub queued: bool,
    pub outcomes: BTreeMap<usize, Vec<crate::prune::Outcome>>,
    /// `Some(false)`: claimed, `Some(true)`: sent.
    pub digest: Option<bool>,
}

#[derive(Debug, Default)]
pub struct MemoryAccount {
    pub state: Mutex<State>,
    pub topic: bool,
}

impl MemoryAccount {
    /// An account with the tool's deny policy intact and a topic.
    pub fn new() -> Self {
        Self {
            state: Mutex::default(),
            topic: true,
        }
        .with_deny_policy()
    }

    pub fn with_user(self, name: &str, groups: &[&str], tags: &[(&str, &str)]) -> Self {
        self.insert(EntityKind::User, name, groups, tags);
        self
    }

    pub fn with_role(self, name: &str, tags: &[(&str, &str)]) -> Self {
        self.insert(EntityKind::Role, name, &[], tags);
        self
    }

    fn insert(&self, kind: EntityKind, name: &str, groups: &[&str], tags: &[(&str, &str)]) {
        let facts = Facts {
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Facts::default()
        };
        self.lock()
            .principals
            .insert((kind, name.to_owned()), facts);
    }

    /// Takes the trust baseline from the principals as they are now: members of
    /// `Administrators` and holders of `iam-warden:exempt=true`.
    pub fn with_baseline(self) -> Self {
        {
            let mut s = self.lock();
            let set = crate::trust::baseline(
                "123456789012",
                s.principals.iter().map(|((kind, name), f)| {
                    (
                        *kind,
                        name.as_str(),
                        f.unique_id.as_deref(),
                        &f.groups,
                        &f.tags,
                    )
                }),
                "Administrators",
                &("iam-warden:exempt".to_owned(), "true".to_owned()),
                chrono::Utc::now(),
            );
            s.trust = Some(set);
        }
        self
    }

    /// A CloudTrail record that LookupEvents will find.
    pub fn in_trail(&self, record: CloudTrailRecord) {
        self.lock().trail.push(record);
    }

    /// Whether the trust ledger holds `status` for a principal.
    pub fn trusts(&self, status: crate::trust::Status, kind: EntityKind, name: &str) -> bool {
        self.lock()
            .trust
            .as_ref()
            .is_some_and(|t| t.get(status, kind, name).is_some())
    }

    /// The next `times` calls of `operation` fail with `error`.
    pub fn fail(&self, operation: &'static str, error: PortError, times: usize) {
        let mut s = self.lock();
        let q = s.faults.entry(operation).or_default();
        q.extend(std::iter::repeat_n(error, times));
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn facts_of(&self, kind: EntityKind, name: &str) -> Option<Facts> {
        self.lock()
            .principals
            .get(&(kind, name.to_owned()))
            .cloned()
    }

    pub fn notices(&self) -> Vec<Notice> {
        self.lock().notices.clone()
    }

    fn enter(
        &self,
        operation: &'static str,
    ) -> Result<std::sync::MutexGuard<'_, State>, PortError> {
        let mut s = self.lock();
        s.calls.push(operation);
        if let Some(err) = s.faults.get_mut(operation).and_then(VecDeque::pop_front) {
            return Err(err);
        }
        Ok(s)
    }

    fn with_principal<T>(
        &self,
        operation: &'static str,
        target: &Target,
        f: impl FnOnce(&mut Facts, Option<usize>) -> Result<T, PortError>,
    ) -> Result<T, PortError> {
        let mut s = self.enter(operation)?;
        let limit = s.attach_limit;
        match s.principals.get_mut(&(target.kind, target.name.clone())) {
            Some(facts) => f(facts, limit),
            None => Err(PortError::NoSuchEntity {
                operation,
                message: format!("{target} not found"),
            }),
        }
    }
}

impl MemoryAccount {
    /// Gives every principal a unique id (`ID-<name>`), as IAM has them.
    pub fn with_ids(self) -> Self {
        {
            let mut s = self.lock();
            for ((_, name), f) in s.principals.iter_mut() {
                f.unique_id = Some(format!("ID-{name}"));
            }
        }
        self
    }

    /// The deny policy exists with the tool's document (verified before use).
    /// The tool's deny and quarantine policies, intact.
    pub fn with_deny_policy(self) -> Self {
        {
            let mut s = self.lock();
            s.tool_policies.insert(
                DENY_POLICY_ARN.to_owned(),
                (crate::DENY_ALL_IAM_POLICY.to_owned(), 1),
            );
            s.tool_policies.insert(
                QUARANTINE_POLICY_ARN.to_owned(),
                (crate::containment::QUARANTINE_POLICY.to_owned(), 1),
            );
        }
        self
    }

    /// A credential of `user`, active.
    pub fn with_credential(self, user: &str, credential: crate::action::Credential) -> Self {
        self.lock()
            .credentials
            .insert((user.to_owned(), credential), true);
        self
    }

    /// A console password for `user`.
    pub fn with_login_profile(self, user: &str) -> Self {
        self.lock().login_profiles.insert(user.to_owned());
        self
    }

    /// A customer managed policy's versions, `default` the default one.
    pub fn with_policy_versions(self, arn: &str, versions: &[&str], default: &str) -> Self {
        self.lock().policy_versions.insert(
            arn.to_owned(),
            versions
                .iter()
                .map(|v| crate::containment::PolicyVersion {
                    id: (*v).to_owned(),
                    is_default: *v == default,
                    created: Some(chrono::Utc::now() - chrono::TimeDelta::days(30)),
                })
                .collect(),
        );
        self
    }
}
