//! In-memory implementations of every port: the test double for the domain.
//! Faults can be queued per operation to exercise retries and partial failures.
//! Also the fixtures the tests of several crates share.
#![allow(clippy::expect_used)] // test support: a broken fixture should stop the test loudly

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use crate::config::Config;
use crate::decision::{CallerFacts, Environment, Facts, Method};
use crate::event::CloudTrailRecord;
use crate::event::{parse_eventbridge, Event};
use crate::notice::Notice;
use crate::ports::Applied;
use crate::ports::{
    AccessAdvisor, Authorizations, Chat, DeadLetters, Directory, Enforcer, Inventory, Ledger,
    Notifier, PortError, PrunePolicies, RevokedPrincipal, Runs, WorkQueue,
};
use crate::ports::{ActionRecords, Actions, Deferrals, Trail, TrustLedger};
use crate::principal::{EntityKind, Target};
use crate::prune::{LedgerEntry, PolicyDoc, Report};
use crate::trust::{Action, ActionRecord, CallerRecord, LedgerChange, TrustSet};

/// The deny policy of the sample account (`123456789012`).
pub const DENY_POLICY_ARN: &str = "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam";
/// The quarantine policy of the sample account.
pub const QUARANTINE_POLICY_ARN: &str =
    "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-quarantine";

/// A configuration from variables, as the functions read them (later pairs win).
pub fn config_from(pairs: &[(&str, &str)]) -> Config {
    Config::from_lookup(|k| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("test configuration")
}

/// A configuration with DENY_POLICY_ARN and QUARANTINE_POLICY_ARN set, then `extra` (later pairs win).
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("DENY_POLICY_ARN", DENY_POLICY_ARN),
        ("QUARANTINE_POLICY_ARN", QUARANTINE_POLICY_ARN),
    ];
    pairs.extend_from_slice(extra);
    config_from(&pairs)
}

/// The sample account, as the revoker's role sees it at start-up.
pub fn environment() -> Environment {
    Environment {
        account_id: "123456789012".into(),
        caller_arn: "arn:aws:sts::123456789012:assumed-role/iam-warden-revoker/iam-warden-revoker"
            .into(),
        user_policy_quota: 10,
        role_policy_quota: 10,
    }
}

/// The text of a file of `events/`.
pub fn sample_text(name: &str) -> String {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("a file of events/")
}

/// An event of `events/`.
pub fn sample_event(name: &str) -> Event {
    parse_eventbridge(&sample_text(name)).expect("a sample EventBridge event")
}

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
    /// Bodies sent to the deferral queue, with their delay.
    pub deferred: Vec<(String, std::time::Duration)>,
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
    /// Roles' trust policies, by role name (those the tests set).
    pub trust_policies: BTreeMap<String, String>,
    /// Customer managed policies' versions, by ARN.
    pub policy_versions: BTreeMap<String, Vec<crate::containment::PolicyVersion>>,
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

impl Directory for MemoryAccount {
    async fn facts(&self, target: &Target) -> Result<CallerFacts, PortError> {
        match self.with_principal("facts", target, |f, _| Ok(f.clone())) {
            Ok(f) => Ok(CallerFacts::Found(f)),
            Err(PortError::NoSuchEntity { .. }) => Ok(CallerFacts::Gone),
            Err(e) => Err(e),
        }
    }

    async fn deny_present(
        &self,
        target: &Target,
        method: Method,
        config: &Config,
    ) -> Result<bool, PortError> {
        match self.with_principal("deny_present", target, |f, _| {
            Ok(match method {
                Method::Managed => f.attached_policies.contains(&config.deny_policy_arn),
                Method::Inline => f.inline_policies.contains(&config.inline_policy_name),
                Method::Boundary => f
                    .boundary
                    .as_deref()
                    .is_some_and(crate::revocation::is_tool_boundary),
            })
        }) {
            Err(PortError::NoSuchEntity { .. }) => Ok(false),
            other => other,
        }
    }

    async fn policies(
        &self,
        target: &Target,
    ) -> Result<
        (
            std::collections::BTreeSet<String>,
            std::collections::BTreeSet<String>,
        ),
        PortError,
    > {
        self.with_principal("policies", target, |f, _| {
            Ok((f.attached_policies.clone(), f.inline_policies.clone()))
        })
    }

    async fn find_by_id(&self, kind: EntityKind, id: &str) -> Result<Option<Target>, PortError> {
        let s = self.enter("find_by_id")?;
        Ok(s.principals
            .iter()
            .find(|((k, _), f)| *k == kind && f.unique_id.as_deref() == Some(id))
            .map(|((k, name), _)| Target {
                kind: *k,
                name: name.clone(),
                arn: format!("arn:aws:iam::123456789012:{}/{name}", k.as_str()),
            }))
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

impl Enforcer for MemoryAccount {
    async fn tag(&self, target: &Target, tags: &[(&str, String)]) -> Result<(), PortError> {
        self.with_principal("tag", target, |f, _| {
            for (k, v) in tags {
                f.tags.insert((*k).to_owned(), v.clone());
            }
            Ok(())
        })
    }

    async fn untag(&self, target: &Target, keys: &[&str]) -> Result<(), PortError> {
        self.with_principal("untag", target, |f, _| {
            for k in keys {
                f.tags.remove(*k);
            }
            Ok(())
        })
    }

    async fn attach_policy(&self, target: &Target, policy_arn: &str) -> Result<(), PortError> {
        self.with_principal("attach_policy", target, |f, limit| {
            if limit.is_some_and(|l| f.attached_policies.len() >= l)
                && !f.attached_policies.contains(policy_arn)
            {
                return Err(PortError::LimitExceeded {
                    operation: "attach_policy",
                    message: "Cannot exceed quota for PoliciesPerUser".into(),
                });
            }
            f.attached_policies.insert(policy_arn.to_owned());
            Ok(())
        })
    }

    async fn detach_policy(&self, target: &Target, policy_arn: &str) -> Result<bool, PortError> {
        self.with_principal("detach_policy", target, |f, _| {
            Ok(f.attached_policies.remove(policy_arn))
        })
    }

    async fn put_inline_policy(
        &self,
        target: &Target,
        name: &str,
        _document: &str,
    ) -> Result<(), PortError> {
        self.with_principal("put_inline_policy", target, |f, _| {
            f.inline_policies.insert(name.to_owned());
            Ok(())
        })
    }

    async fn delete_inline_policy(&self, target: &Target, name: &str) -> Result<bool, PortError> {
        self.with_principal("delete_inline_policy", target, |f, _| {
            Ok(f.inline_policies.remove(name))
        })
    }

    async fn set_boundary(&self, target: &Target, boundary: Option<&str>) -> Result<(), PortError> {
        self.with_principal("set_boundary", target, |f, _| {
            f.boundary = boundary.map(str::to_owned);
            Ok(())
        })
    }
}

impl crate::ports::Revocations for MemoryAccount {
    async fn revocation(
        &self,
        _account: &str,
        key: &str,
    ) -> Result<Option<crate::revocation::RevocationRecord>, PortError> {
        let s = self.enter("revocation")?;
        Ok(s.revocations.get(key).cloned())
    }

    async fn record_revocation(
        &self,
        _account: &str,
        key: &str,
        record: &crate::revocation::RevocationRecord,
    ) -> Result<Option<crate::revocation::RevocationRecord>, PortError> {
        let mut s = self.enter("record_revocation")?;
        if let Some(existing) = s.revocations.get(key) {
            return Ok(Some(existing.clone()));
        }
        s.revocations.insert(key.to_owned(), record.clone());
        Ok(None)
    }

    async fn revocation_notified(&self, _account: &str, key: &str) -> Result<(), PortError> {
        let mut s = self.enter("revocation_notified")?;
        if let Some(r) = s.revocations.get_mut(key) {
            r.notified = true;
        }
        Ok(())
    }

    async fn remove_revocation(&self, _account: &str, key: &str) -> Result<(), PortError> {
        let mut s = self.enter("remove_revocation")?;
        s.revocations.remove(key);
        Ok(())
    }
}

impl crate::ports::ToolPolicies for MemoryAccount {
    async fn verify_policy(
        &self,
        arn: &str,
        document: &str,
    ) -> Result<crate::ports::PolicyCheck, PortError> {
        let mut s = self.enter("verify_policy")?;
        let check = match s.tool_policies.get(arn) {
            None => crate::ports::PolicyCheck::Recreated,
            Some((doc, _)) if doc == document => return Ok(crate::ports::PolicyCheck::Intact),
            Some((doc, _)) => crate::ports::PolicyCheck::Repaired { found: doc.clone() },
        };
        let versions = s.tool_policies.get(arn).map_or(0, |(_, v)| *v);
        s.tool_policies
            .insert(arn.to_owned(), (document.to_owned(), (versions + 1).min(5)));
        Ok(check)
    }

    async fn policy_document(&self, arn: &str) -> Result<Option<String>, PortError> {
        let s = self.enter("policy_document")?;
        Ok(s.boundaries.get(arn).cloned())
    }

    async fn put_boundary_policy(&self, name: &str, document: &str) -> Result<String, PortError> {
        let mut s = self.enter("put_boundary_policy")?;
        let arn = format!("arn:aws:iam::123456789012:policy/iam-warden/{name}");
        s.boundaries.insert(arn.clone(), document.to_owned());
        Ok(arn)
    }

    async fn delete_boundary_policy(&self, arn: &str) -> Result<(), PortError> {
        let mut s = self.enter("delete_boundary_policy")?;
        s.boundaries.remove(arn);
        Ok(())
    }
}

impl Notifier for MemoryAccount {
    fn enabled(&self) -> bool {
        self.topic
    }

    async fn publish(&self, notice: &Notice) -> Result<(), PortError> {
        let mut s = self.enter("publish")?;
        s.notices.push(notice.clone());
        Ok(())
    }
}

impl DeadLetters for MemoryAccount {
    async fn send(&self, body: &str, reason: &str, message_id: &str) -> Result<(), PortError> {
        let mut s = self.enter("dead_letter")?;
        s.dead_letters
            .push((body.to_owned(), reason.to_owned(), message_id.to_owned()));
        Ok(())
    }
}

impl Inventory for MemoryAccount {
    async fn revoked(
        &self,
        policy_arn: &str,
        inline_name: &str,
    ) -> Result<Vec<RevokedPrincipal>, PortError> {
        let s = self.enter("revoked")?;
        Ok(s.principals
            .iter()
            .filter_map(|((kind, name), f)| {
                let mut methods = Vec::new();
                if f.attached_policies.contains(policy_arn) {
                    methods.push(Method::Managed);
                }
                if f.inline_policies.contains(inline_name) {
                    methods.push(Method::Inline);
                }
                (!methods.is_empty()).then(|| RevokedPrincipal {
                    target: Target {
                        kind: *kind,
                        name: name.clone(),
                        arn: format!("arn:aws:iam::123456789012:{}/{name}", kind.as_str()),
                    },
                    methods,
                    record: f
                        .tags
                        .iter()
                        .filter(|(k, _)| k.starts_with("iam-warden:"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                })
            })
            .collect())
    }
}

impl AccessAdvisor for MemoryAccount {
    async fn report(&self, principal_arn: &str, _timeout: std::time::Duration) -> Report {
        match self.enter("report") {
            Ok(s) => s
                .reports
                .get(principal_arn)
                .cloned()
                .unwrap_or_else(|| Report::Unavailable("job FAILED".into())),
            Err(e) => Report::Unavailable(e.to_string()),
        }
    }
}

impl PrunePolicies for MemoryAccount {
    async fn put_policy(&self, policy: &PolicyDoc, principal_arn: &str) -> Result<(), PortError> {
        let mut s = self.enter("put_policy")?;
        let (owner, versions) = s
            .policies
            .entry(policy.arn.clone())
            .or_insert_with(|| (principal_arn.to_owned(), Vec::new()));
        if owner != principal_arn {
            return Err(PortError::Failed {
                operation: "put_policy",
                message: format!("{} belongs to {owner}", policy.arn),
            });
        }
        versions.push(policy.document.clone());
        if versions.len() > 5 {
            versions.remove(0);
        }
        Ok(())
    }

    async fn denied_services(
        &self,
        policy_arn: &str,
    ) -> Result<Option<std::collections::BTreeSet<String>>, PortError> {
        let s = self.enter("denied_services")?;
        Ok(s.policies
            .get(policy_arn)
            .and_then(|(_, versions)| versions.last())
            .map(|doc| crate::prune::services_of(doc).unwrap_or_default()))
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<bool, PortError> {
        let mut s = self.enter("delete_policy")?;
        Ok(s.policies.remove(policy_arn).is_some())
    }
}

impl Ledger for MemoryAccount {
    async fn load(
        &self,
        principals: &[String],
    ) -> Result<BTreeMap<String, LedgerEntry>, PortError> {
        let s = self.enter("ledger_load")?;
        Ok(principals
            .iter()
            .filter_map(|p| s.ledger.get(p).map(|e| (p.clone(), e.clone())))
            .collect())
    }

    async fn save(&self, entry: &LedgerEntry) -> Result<(), PortError> {
        let mut s = self.enter("ledger_save")?;
        s.ledger.insert(entry.principal.clone(), entry.clone());
        Ok(())
    }
}

impl Runs for MemoryAccount {
    async fn start_run(&self, run_id: &str, chunks: usize) -> Result<bool, PortError> {
        let mut s = self.enter("start_run")?;
        let run = s.runs.entry(run_id.to_owned()).or_default();
        if run.queued {
            return Ok(false);
        }
        *run = MemoryRun {
            chunks,
            ..MemoryRun::default()
        };
        Ok(true)
    }

    async fn run_queued(&self, run_id: &str) -> Result<bool, PortError> {
        let s = self.enter("run_queued")?;
        Ok(s.runs.get(run_id).is_some_and(|r| r.queued))
    }

    async fn mark_queued(&self, run_id: &str) -> Result<(), PortError> {
        let mut s = self.enter("mark_queued")?;
        s.runs.entry(run_id.to_owned()).or_default().queued = true;
        Ok(())
    }

    async fn finish_chunk(
        &self,
        run_id: &str,
        chunk: usize,
        outcomes: &[crate::prune::Outcome],
    ) -> Result<bool, PortError> {
        let mut s = self.enter("finish_chunk")?;
        let run = s.runs.entry(run_id.to_owned()).or_default();
        run.outcomes.insert(chunk, outcomes.to_vec());
        if run.outcomes.len() == run.chunks && run.digest.is_none() {
            run.digest = Some(false);
            return Ok(true);
        }
        Ok(false)
    }

    async fn run_outcomes(&self, run_id: &str) -> Result<Vec<crate::prune::Outcome>, PortError> {
        let s = self.enter("run_outcomes")?;
        Ok(s.runs
            .get(run_id)
            .map(|r| r.outcomes.values().flatten().cloned().collect())
            .unwrap_or_default())
    }

    async fn settle_digest(&self, run_id: &str, sent: bool) -> Result<(), PortError> {
        let mut s = self.enter("settle_digest")?;
        if let Some(run) = s.runs.get_mut(run_id) {
            run.digest = sent.then_some(true);
        }
        Ok(())
    }
}

impl WorkQueue for MemoryAccount {
    async fn enqueue(&self, bodies: &[String]) -> Result<(), PortError> {
        let mut s = self.enter("enqueue")?;
        s.work_queue.extend(bodies.iter().cloned());
        Ok(())
    }
}

impl Authorizations for MemoryAccount {
    async fn subjects(&self, roles: bool) -> Result<Vec<crate::prune::Subject>, PortError> {
        let s = self.enter("subjects")?;
        Ok(s.subjects
            .iter()
            .filter(|x| roles || x.kind == EntityKind::User)
            .map(|x| {
                let mut x = x.clone();
                if let Some(f) = s.principals.get(&(x.kind, x.name.clone())) {
                    x.attached = f.attached_policies.clone();
                }
                x
            })
            .collect())
    }

    async fn quotas(&self) -> Result<crate::prune::Quotas, PortError> {
        let _s = self.enter("quotas")?;
        Ok(crate::prune::Quotas { user: 10, role: 10 })
    }
}

impl Chat for MemoryAccount {
    fn chat_enabled(&self) -> bool {
        self.lock().chat.is_some()
    }

    async fn post(&self, notice: &Notice) -> Result<(), PortError> {
        let mut s = self.enter("chat")?;
        s.chat.get_or_insert_with(Vec::new).push(notice.clone());
        Ok(())
    }
}

impl TrustLedger for MemoryAccount {
    async fn trust_set(&self, account: &str) -> Result<Option<TrustSet>, PortError> {
        let s = self.enter("trust_set")?;
        Ok(s.trust.clone().map(|mut t| {
            t.account = account.to_owned();
            t
        }))
    }

    async fn put_baseline(&self, set: &TrustSet) -> Result<bool, PortError> {
        let mut s = self.enter("put_baseline")?;
        if s.trust.is_some() {
            return Ok(false);
        }
        s.trust = Some(set.clone());
        Ok(true)
    }

    async fn change_trust(
        &self,
        _account: &str,
        changes: &[LedgerChange],
    ) -> Result<(), PortError> {
        let mut s = self.enter("change_trust")?;
        let Some(set) = s.trust.as_mut() else {
            return Err(PortError::Failed {
                operation: "change_trust",
                message: "no baseline".into(),
            });
        };
        for change in changes {
            set.apply(change);
        }
        Ok(())
    }
}

impl ActionRecords for MemoryAccount {
    async fn record_actions(
        &self,
        _account: &str,
        caller: &str,
        actions: &[(String, ActionRecord)],
    ) -> Result<CallerRecord, PortError> {
        let mut s = self.enter("record_actions")?;
        let record = s
            .records
            .entry(caller.to_owned())
            .or_insert_with(|| CallerRecord {
                caller: caller.to_owned(),
                ..CallerRecord::default()
            });
        for (key, action) in actions {
            record
                .actions
                .entry(key.clone())
                .or_insert_with(|| action.clone());
        }
        Ok(record.clone())
    }

    async fn set_action(
        &self,
        _account: &str,
        caller: &str,
        key: &str,
        action: &ActionRecord,
    ) -> Result<(), PortError> {
        let mut s = self.enter("set_action")?;
        s.records
            .entry(caller.to_owned())
            .or_default()
            .actions
            .insert(key.to_owned(), action.clone());
        Ok(())
    }

    async fn mark_notified(
        &self,
        _account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<(), PortError> {
        let mut s = self.enter("mark_notified")?;
        s.records
            .entry(caller.to_owned())
            .or_default()
            .notified
            .insert(event_id.to_owned());
        Ok(())
    }

    async fn caller_record(
        &self,
        _account: &str,
        caller: &str,
    ) -> Result<Option<CallerRecord>, PortError> {
        let s = self.enter("caller_record")?;
        Ok(s.records.get(caller).cloned())
    }
}

impl Actions for MemoryAccount {
    async fn apply(&self, action: &Action) -> Result<Applied, PortError> {
        use crate::action::Holder;
        let gone = |what: String| PortError::NoSuchEntity {
            operation: "apply",
            message: what,
        };
        let principal = |holder: Holder, name: &str| Target {
            kind: holder.kind().unwrap_or(EntityKind::User),
            name: name.to_owned(),
            arn: String::new(),
        };
        let result = match action {
            Action::RemoveFromGroup { user, .. } | Action::AddToGroup { user, .. } => self
                .with_principal("apply", &principal(Holder::User, user), |f, _| {
                    match action {
                        Action::RemoveFromGroup { group, .. } if !f.groups.remove(group) => {
                            return Err(gone(format!("{user} not in {group}")));
                        }
                        Action::AddToGroup { group, .. } => {
                            f.groups.insert(group.clone());
                        }
                        _ => {}
                    }
                    Ok(())
                }),
            Action::Untag { kind, name, .. } | Action::Tag { kind, name, .. } => {
                let target = Target {
                    kind: *kind,
                    name: name.clone(),
                    arn: String::new(),
                };
                self.with_principal("apply", &target, |f, _| {
                    match action {
                        Action::Untag { key, .. } => {
                            f.tags.remove(key);
                        }
                        Action::Tag { key, value, .. } => {
                            f.tags.insert(key.clone(), value.clone());
                        }
                        _ => {}
                    }
                    Ok(())
                })
            }
            Action::AttachPolicy {
                holder: Holder::Group,
                name,
                policy_arn,
            } => {
                let mut s = self.enter("apply")?;
                s.group_policies.insert((name.clone(), policy_arn.clone()));
                Ok(())
            }
            Action::DetachPolicy {
                holder: Holder::Group,
                name,
                policy_arn,
            } => {
                let mut s = self.enter("apply")?;
                if s.group_policies.remove(&(name.clone(), policy_arn.clone())) {
                    Ok(())
                } else {
                    Err(gone(format!("{policy_arn} not attached to group/{name}")))
                }
            }
            Action::AttachPolicy {
                holder,
                name,
                policy_arn,
            } => {
                let target = principal(*holder, name);
                self.attach_policy(&target, policy_arn).await
            }
            Action::DetachPolicy {
                holder,
                name,
                policy_arn,
            } => self.with_principal("apply", &principal(*holder, name), |f, _| {
                if f.attached_policies.remove(policy_arn) {
                    Ok(())
                } else {
                    Err(gone(format!("{policy_arn} not attached")))
                }
            }),
            Action::PutInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            }
            | Action::DeleteInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            } => {
                let put = matches!(action, Action::PutInlinePolicy { .. });
                let key = (format!("{}/{name}", holder.as_str()), policy_name.clone());
                let changed = if *holder == Holder::Group {
                    Ok(())
                } else {
                    self.with_principal("apply", &principal(*holder, name), |f, _| {
                        if put {
                            f.inline_policies.insert(policy_name.clone());
                            Ok(())
                        } else if f.inline_policies.remove(policy_name) {
                            Ok(())
                        } else {
                            Err(gone(format!("no inline policy {policy_name}")))
                        }
                    })
                };
                changed.and_then(|()| {
                    let mut s = self.enter("apply")?;
                    match (put, s.inline_documents.remove(&key)) {
                        (true, _) => {
                            s.inline_documents.insert(key, document.clone());
                            Ok(())
                        }
                        (false, Some(_)) => Ok(()),
                        (false, None) if *holder == Holder::Group => {
                            Err(gone(format!("no inline policy {policy_name}")))
                        }
                        (false, None) => Ok(()),
                    }
                })
            }
            Action::SetCredential {
                user,
                credential,
                active,
            } => {
                let mut s = self.enter("apply")?;
                match s.credentials.get_mut(&(user.clone(), credential.clone())) {
                    Some(state) => {
                        *state = *active;
                        Ok(())
                    }
                    None => Err(gone(format!("{credential} of {user}"))),
                }
            }
            Action::DeleteLoginProfile { user } => {
                let mut s = self.enter("apply")?;
                if s.login_profiles.remove(user) {
                    Ok(())
                } else {
                    Err(gone(format!("no login profile for {user}")))
                }
            }
            Action::CreateLoginProfile { user } => {
                let mut s = self.enter("apply")?;
                if !s.principals.contains_key(&(EntityKind::User, user.clone())) {
                    return Ok(Applied::Gone);
                }
                s.login_profiles.insert(user.clone());
                return Ok(Applied::Password("in-memory-password".into()));
            }
            Action::SetBoundary {
                holder,
                name,
                boundary,
                ..
            } => self.with_principal("apply", &principal(*holder, name), |f, _| {
                f.boundary = boundary.clone();
                Ok(())
            }),
            Action::Rename { holder, from, to } => {
                let mut s = self.enter("apply")?;
                match holder {
                    Holder::User => match s.principals.remove(&(EntityKind::User, from.clone())) {
                        Some(f) => {
                            s.principals.insert((EntityKind::User, to.clone()), f);
                            s.rename_user(from, to);
                            Ok(())
                        }
                        None => Err(gone(format!("no user {from}"))),
                    },
                    _ => {
                        for f in s.principals.values_mut() {
                            if f.groups.remove(from) {
                                f.groups.insert(to.clone());
                            }
                        }
                        Ok(())
                    }
                }
            }
            Action::SetTrustPolicy { role, document, .. } => {
                let mut s = self.enter("apply")?;
                if !s.principals.contains_key(&(EntityKind::Role, role.clone())) {
                    return Ok(Applied::Gone);
                }
                s.trust_policies.insert(role.clone(), document.clone());
                Ok(())
            }
            Action::SetDefaultVersion {
                policy_arn,
                version,
                ..
            } => {
                let mut s = self.enter("apply")?;
                match s.policy_versions.get_mut(policy_arn) {
                    Some(versions) if versions.iter().any(|v| v.id == *version) => {
                        for v in versions.iter_mut() {
                            v.is_default = v.id == *version;
                        }
                        Ok(())
                    }
                    _ => Err(gone(format!("{policy_arn} {version}"))),
                }
            }
        };
        match result {
            Ok(()) => Ok(Applied::Done),
            Err(PortError::NoSuchEntity { .. }) => Ok(Applied::Gone),
            Err(e) => Err(e),
        }
    }

    async fn policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Option<Vec<crate::containment::PolicyVersion>>, PortError> {
        let s = self.enter("policy_versions")?;
        Ok(s.policy_versions.get(policy_arn).cloned())
    }

    async fn group_members(&self, group: &str) -> Result<Vec<(String, Option<String>)>, PortError> {
        let s = self.enter("group_members")?;
        Ok(s.principals
            .iter()
            .filter(|((kind, _), f)| *kind == EntityKind::User && f.groups.contains(group))
            .map(|((_, name), f)| (name.clone(), f.unique_id.clone()))
            .collect())
    }
}

impl Trail for MemoryAccount {
    async fn lookup(
        &self,
        event_name: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let s = self.enter("lookup")?;
        Ok(s.trail
            .iter()
            .filter(|r| r.event_name.as_deref() == Some(event_name))
            .filter(|r| {
                r.event_time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= since)
            })
            .cloned()
            .collect())
    }
}

impl Deferrals for MemoryAccount {
    async fn defer(&self, body: &str, delay: std::time::Duration) -> Result<(), PortError> {
        let mut s = self.enter("defer")?;
        s.deferred.push((body.to_owned(), delay));
        Ok(())
    }
}

impl crate::ports::Canaries for MemoryAccount {
    async fn canary_arrived(
        &self,
        _account: &str,
        made_at: chrono::DateTime<chrono::Utc>,
        seen_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PortError> {
        let mut s = self.enter("canary_arrived")?;
        s.canaries.push((made_at, seen_at));
        Ok(())
    }

    async fn last_canary(
        &self,
        _account: &str,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>, PortError>
    {
        let s = self.enter("last_canary")?;
        Ok(s.canaries.last().copied())
    }
}
