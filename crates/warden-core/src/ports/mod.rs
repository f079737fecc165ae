//! The ports of the domain: one small trait per capability, implemented over the AWS
//! SDK in `warden-aws` and in memory in `crate::testing`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::action::{Action, ActionRecord, CallerRecord};
use crate::containment::PolicyVersion;
use crate::event::CloudTrailRecord;
use crate::facts::CallerFacts;
use crate::notice::Notice;
use crate::principal::Target;
use crate::prune::{LedgerEntry, Outcome, PolicyDoc, Quotas, Report, Subject};
use crate::revocation::Method;
use crate::revocation::RevocationRecord;
use crate::trust::{LedgerChange, TrustSet};

mod assess;
mod central;
pub use central::{Members, PrunerMembers, Unreachable};

mod credentials;
pub use assess::{PolicyInventory, SecurityHub};
pub use credentials::{CredentialReports, ReportState, UserCredentials};

/// A failed call to a port, classified for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Throttling, 5xx, timeout, connection failure: try again later, decide nothing.
    #[error("{operation}: transient failure (retry later): {message}")]
    Transient {
        operation: &'static str,
        message: String,
    },
    #[error("{operation}: no such entity: {message}")]
    NoSuchEntity {
        operation: &'static str,
        message: String,
    },
    /// The account's quota is reached (for attach: managed policies per principal).
    #[error("{operation}: limit exceeded: {message}")]
    LimitExceeded {
        operation: &'static str,
        message: String,
    },
    /// Any other failure (access denied, invalid input): permanent, never a decision.
    #[error("{operation} failed: {message}")]
    Failed {
        operation: &'static str,
        message: String,
    },
}

impl PortError {
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Transient { .. })
    }

    /// Retrying cannot help (access denied, invalid input, a limit no fallback
    /// absorbed): the message goes to the dead-letter queue at once, never holding up
    /// the FIFO group.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }
}

/// Reads what the decision needs to know about a principal.
pub trait Directory: Send + Sync {
    /// Group membership and tags; the attached and inline policies may be left empty
    /// when the principal carries no revocation record (`iam-warden:revoked-at`): the
    /// attach is idempotent and the quota is IAM's `LimitExceeded`. `Gone` on
    /// `NoSuchEntity`.
    fn facts(&self, target: &Target)
        -> impl Future<Output = Result<CallerFacts, PortError>> + Send;
    /// Whether the tool's deny is still on the principal, by the method that put it
    /// there, in one call: the managed deny among the attached policies, or the inline
    /// deny by name. `Ok(false)` for a principal that no longer exists.
    fn deny_present(
        &self,
        target: &Target,
        method: Method,
        config: &crate::config::Config,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// The attached managed policies' ARNs and the inline policies' names.
    fn policies(
        &self,
        target: &Target,
    ) -> impl Future<Output = Result<(BTreeSet<String>, BTreeSet<String>), PortError>> + Send;
    /// The document of a principal's inline policy `name` (decoded); `None` when it has
    /// no such policy or does not exist.
    fn inline_document(
        &self,
        target: &Target,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    /// The user or role whose unique id is `id`, under its current name; `None` when
    /// there is none.
    fn find_by_id(
        &self,
        kind: crate::principal::EntityKind,
        id: &str,
    ) -> impl Future<Output = Result<Option<Target>, PortError>> + Send;
    /// The unique id of the group named `name` (GetGroup); `None` when there is none.
    fn group_id(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    /// The current name of the group whose unique id is `id` (ListGroups); `None` when
    /// there is none.
    fn group_named(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    /// The roles IAM Identity Center made in the account (at its path,
    /// `/aws-reserved/sso.amazonaws.com/`): (name, unique id).
    fn identity_center_roles(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, String)>, PortError>> + Send;
    /// When IAM says `credential` was made: the access key's creation (ListAccessKeys),
    /// the console password's (GetLoginProfile). `None` when it no longer exists.
    fn credential_created(
        &self,
        credential: &crate::minted::Credential,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, PortError>> + Send;
}

/// The revocation records in the ledger: the caller cannot block them (tags are full at
/// 50) nor remove them.
pub trait Revocations: Send + Sync {
    fn revocation(
        &self,
        account: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<RevocationRecord>, PortError>> + Send;
    /// Writes the record unless one exists (a conditional write); returns the one that
    /// exists then.
    fn record_revocation(
        &self,
        account: &str,
        key: &str,
        record: &RevocationRecord,
    ) -> impl Future<Output = Result<Option<RevocationRecord>, PortError>> + Send;
    /// Marks the record's notice sent.
    fn revocation_notified(
        &self,
        account: &str,
        key: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn remove_revocation(
        &self,
        account: &str,
        key: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The revoked sessions of the role `role_id` (their `aws:userid`s): the ledger's, the
    /// source of truth for the role's sessions deny (IAM's copy may be edited by anyone
    /// who may write the role's policies).
    fn denied_sessions(
        &self,
        account: &str,
        role_id: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeSet<String>, PortError>> + Send;
    /// Adds (`true`) or removes (`false`) session ids of a role, atomically.
    fn change_denied_sessions(
        &self,
        account: &str,
        role_id: &str,
        ids: &std::collections::BTreeSet<String>,
        add: bool,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The permissions boundary a principal had before a boundary of the tool took its
    /// place (`Some(None)`: it had none), kept under `key` (a role's unique id for its
    /// sessions deny, a revocation's record key) before the tool's is set, so that a retry
    /// after a failure in between never loses it; `None`: nothing kept.
    fn kept_boundary(
        &self,
        account: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Option<String>>, PortError>> + Send;
    /// Keeps `previous` unless one is kept (`Some`), or forgets it (`None`).
    fn keep_boundary(
        &self,
        account: &str,
        key: &str,
        previous: Option<Option<&str>>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Records a session's settled source (and the user denied assuming its role again).
    fn set_source(
        &self,
        account: &str,
        key: &str,
        source: &str,
        user: Option<&str>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Every revocation record of the account (a scan: `warden status` only).
    fn revocations(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<RevocationRecord>, PortError>> + Send;
}

/// What a verification of one of the tool's policies found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCheck {
    /// Its default version is the tool's document.
    Intact,
    /// Another default version was found: the tool's document is the default again.
    Repaired { found: String },
    /// It was deleted: re-created at the same path and name.
    Recreated,
}

/// The tool's own managed policies: the deny (verified before use, repaired when
/// tampered with) and the boundaries of principals at every quota.
pub trait ToolPolicies: Send + Sync {
    fn verify_policy(
        &self,
        arn: &str,
        document: &str,
    ) -> impl Future<Output = Result<PolicyCheck, PortError>> + Send;
    /// A managed policy's default document; `None` when it does not exist.
    fn policy_document(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
    /// Creates (or updates) the tool's boundary policy `name` under `/iam-warden/`;
    /// returns its ARN.
    fn put_boundary_policy(
        &self,
        name: &str,
        document: &str,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
    fn delete_boundary_policy(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Changes a principal's IAM state: only the tool's deny and its own tags.
pub trait Enforcer: Send + Sync {
    fn tag(
        &self,
        target: &Target,
        tags: &[(&str, String)],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Removing tags that are not there is not an error.
    fn untag(
        &self,
        target: &Target,
        keys: &[&str],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Attaching what is already attached is not an error; the quota is `LimitExceeded`.
    fn attach_policy(
        &self,
        target: &Target,
        policy_arn: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// `Ok(false)` when it was not attached.
    fn detach_policy(
        &self,
        target: &Target,
        policy_arn: &str,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    fn put_inline_policy(
        &self,
        target: &Target,
        name: &str,
        document: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// `Ok(false)` when there was none of that name.
    fn delete_inline_policy(
        &self,
        target: &Target,
        name: &str,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Sets the permissions boundary (`None`: removes it).
    fn set_boundary(
        &self,
        target: &Target,
        boundary: Option<&str>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Sends a notice to people (and to machines that filter on its attributes).
pub trait Notifier: Send + Sync {
    /// Whether notices go anywhere (TOPIC_ARN is set).
    fn enabled(&self) -> bool;
    fn publish(&self, notice: &Notice) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The trust ledger: who is trusted in an account, with provenance.
pub trait TrustLedger: Send + Sync {
    /// The account's trusted set; `None` when no baseline was ever taken.
    fn trust_set(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Option<TrustSet>, PortError>> + Send;
    /// Writes `set` as the account's baseline unless one exists (a conditional write);
    /// returns whether this call wrote it.
    fn put_baseline(&self, set: &TrustSet) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Applies changes to an existing set.
    fn change_trust(
        &self,
        account: &str,
        changes: &[LedgerChange],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The records of what iam-warden did against a caller's doing, with their undo: one
/// record per action (keyed by caller, event and position), one per notice sent. None
/// grows with what the caller does (issue 18, attack 14), and the hot path reads only
/// the records it needs: its event's, the caller's held or gone ones.
pub trait ActionRecords: Send + Sync {
    /// Records each `(key, action)` unless that key is recorded (a conditional write:
    /// a retried message never records twice); returns these keys' records as stored.
    fn record_actions(
        &self,
        account: &str,
        caller: &str,
        actions: &[(String, ActionRecord)],
    ) -> impl Future<Output = Result<BTreeMap<String, ActionRecord>, PortError>> + Send;
    fn set_action(
        &self,
        account: &str,
        caller: &str,
        key: &str,
        record: &ActionRecord,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Whether the notice of `event_id` was marked sent under `caller`.
    fn notified(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Marks the notice of `event_id` sent.
    fn mark_notified(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Claims the sending of `event_id`'s notice for `lease` (a conditional write), so
    /// that two invocations deciding at once (the events queue's and the deferral
    /// queue's) never both send it. A claim older than its lease (its invocation died)
    /// may be taken over.
    fn claim_notice(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, PortError>> + Send;
    /// Gives a claim up (its notice could not be sent): a retry claims it again.
    fn release_notice(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The caller's actions in `state` (`None`: every one), every page. What was
    /// recorded a moment ago may be missing (the ledger's index is eventually
    /// consistent): the revoker adds what it wrote itself.
    fn caller_actions(
        &self,
        account: &str,
        caller: &str,
        state: Option<crate::action::ActionState>,
    ) -> impl Future<Output = Result<BTreeMap<String, ActionRecord>, PortError>> + Send;
    /// Every caller's record of the account (`warden restore`: who else holds what it
    /// would lift).
    fn caller_records(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<CallerRecord>, PortError>> + Send;
}

/// What a claim on a notice found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This invocation sends it, then marks it sent.
    Mine,
    /// It was sent.
    Sent,
    /// Another invocation is sending it (within its lease): ask again later.
    Held,
}

/// Carries out iam-warden's actions on IAM.
pub trait Actions: Send + Sync {
    fn apply(&self, action: &Action) -> impl Future<Output = Result<Applied, PortError>> + Send;
    fn group_members(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<Vec<(String, Option<String>)>, PortError>> + Send;
    /// The versions of a managed policy (`None`: the policy does not exist).
    fn policy_versions(
        &self,
        policy_arn: &str,
    ) -> impl Future<Output = Result<Option<Vec<PolicyVersion>>, PortError>> + Send;
}

/// What carrying out an [`Action`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// What it acts on no longer exists (`NoSuchEntity`).
    Gone,
    /// Done, with a new console password: for the operator's terminal only, never
    /// logged, recorded nor notified.
    Password(String),
}

impl Applied {
    pub fn done(&self) -> bool {
        !matches!(self, Applied::Gone)
    }
}

/// CloudTrail's event history (LookupEvents, two requests per second per account):
/// where the grant of an unverified principal is looked for.
pub trait Trail: Send + Sync {
    /// The management events named `event_name` since `since`, every page.
    fn lookup(
        &self,
        event_name: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<CloudTrailRecord>, PortError>> + Send;

    /// The management events named `event_name` made between `from` and `to`, every
    /// page: who made a credential, around when IAM says it was made.
    fn lookup_between(
        &self,
        event_name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<CloudTrailRecord>, PortError>> + Send;

    /// IAM's events (`iam.amazonaws.com`) from `since` to `until`, newest first, at most
    /// `cap` of them: whose sessions wrote IAM before the tool started stopping sessions
    /// (the sessions baseline).
    fn iam_events_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: usize,
    ) -> impl Future<Output = Result<Vec<CloudTrailRecord>, PortError>> + Send;

    /// The management event with this id (`None`: CloudTrail does not have it, or not
    /// yet): what confirms a queued change of trust.
    fn event(
        &self,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<CloudTrailRecord>, PortError>> + Send;
}

/// When a canary was made (its CloudTrail time) and when the revoker saw it.
pub type CanarySeen = (DateTime<Utc>, DateTime<Utc>);

/// The daily canary's arrivals: when the last one was made (its CloudTrail time) and
/// when the revoker saw it. The adapter also emits the metric the alarm watches.
pub trait Canaries: Send + Sync {
    fn canary_arrived(
        &self,
        account: &str,
        made_at: DateTime<Utc>,
        seen_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    fn last_canary(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Option<CanarySeen>, PortError>> + Send;
}

/// Where an event waits to be decided again (a queue with a delay).
pub trait Deferrals: Send + Sync {
    /// `body` back after `delay`, carrying `failed`: how many of its deliveries failed so
    /// far (a deferred message is a new message, whose queue counts its receives afresh).
    fn defer(
        &self,
        body: &str,
        delay: Duration,
        failed: u32,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The message attribute (a Number) in which a deferred message carries its failed
/// deliveries ([`Deferrals::defer`]).
pub const FAILED_DELIVERIES: &str = "failed-deliveries";

/// Every port the revoker uses.
pub trait RevokerPorts:
    Directory
    + Enforcer
    + Notifier
    + TrustLedger
    + ActionRecords
    + Actions
    + Trail
    + Revocations
    + ToolPolicies
    + Canaries
{
}

impl<T> RevokerPorts for T where
    T: Directory
        + Enforcer
        + Notifier
        + TrustLedger
        + ActionRecords
        + Actions
        + Trail
        + Revocations
        + ToolPolicies
        + Canaries
{
}

/// Keeps a message that cannot be processed, with the reason.
pub trait DeadLetters: Send + Sync {
    fn send(
        &self,
        body: &str,
        reason: &str,
        message_id: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A principal that carries the tool's deny.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedPrincipal {
    pub target: Target,
    pub methods: Vec<Method>,
    /// The `iam-warden:*` tags recorded at revocation.
    pub record: BTreeMap<String, String>,
}

/// Lists the principals that carry the deny (managed or inline).
pub trait Inventory: Send + Sync {
    fn revoked(
        &self,
        policy_arn: &str,
        inline_name: &str,
    ) -> impl Future<Output = Result<Vec<RevokedPrincipal>, PortError>> + Send;
}

/// Lists the principals to prune and the account's quotas.
pub trait Authorizations: Send + Sync {
    /// Every user (and role when `roles`), with tags, groups and attached policies.
    fn subjects(&self, roles: bool)
        -> impl Future<Output = Result<Vec<Subject>, PortError>> + Send;
    fn quotas(&self) -> impl Future<Output = Result<Quotas, PortError>> + Send;
}

/// IAM Access Advisor: the services granted to a principal and their last use.
pub trait AccessAdvisor: Send + Sync {
    /// Never an error: what cannot be read completely is [`Report::Unavailable`].
    fn report(&self, principal_arn: &str, timeout: Duration)
        -> impl Future<Output = Report> + Send;
}

/// The pruner's own managed policies (under `/iam-warden/`).
pub trait PrunePolicies: Send + Sync {
    /// Creates the policy (tagged with its principal) or makes `policy.document` its
    /// default version, deleting the oldest non-default version when five exist.
    /// Never deletes and re-creates. A policy of that name tagged for another
    /// principal is `Failed`.
    fn put_policy(
        &self,
        policy: &PolicyDoc,
        principal_arn: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The services a pruner policy denies (its default version), `None` when it does
    /// not exist: how a deny the ledger lost is adopted instead of dropped.
    fn denied_services(
        &self,
        policy_arn: &str,
    ) -> impl Future<Output = Result<Option<std::collections::BTreeSet<String>>, PortError>> + Send;
    /// Deletes a detached pruner policy; `Ok(false)` when there was none.
    fn delete_policy(
        &self,
        policy_arn: &str,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
}

/// The pruner's memory: first-seen dates, deny sets, history.
pub trait Ledger: Send + Sync {
    fn load(
        &self,
        principals: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, LedgerEntry>, PortError>> + Send;
    fn save(&self, entry: &LedgerEntry) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A fanned-out pruning run: its chunks, their outcomes, and the one digest.
pub trait Runs: Send + Sync {
    /// Records a run of `chunks` chunks; `Ok(false)` when it exists (a retried start).
    fn start_run(
        &self,
        run_id: &str,
        chunks: usize,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Whether every chunk of the run was queued.
    fn run_queued(&self, run_id: &str) -> impl Future<Output = Result<bool, PortError>> + Send;
    fn mark_queued(&self, run_id: &str) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Stores a chunk's outcomes and marks it done (idempotent). Returns `true` when
    /// every chunk is done and this caller claimed the digest.
    fn finish_chunk(
        &self,
        run_id: &str,
        chunk: usize,
        outcomes: &[Outcome],
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// The outcomes of every chunk.
    fn run_outcomes(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Vec<Outcome>, PortError>> + Send;
    /// Gives the digest claim back (its publication failed) or marks it sent.
    fn settle_digest(
        &self,
        run_id: &str,
        sent: bool,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The queue that carries the chunks of a run to the pruner.
pub trait WorkQueue: Send + Sync {
    fn enqueue(&self, bodies: &[String]) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A chat channel for the pruning digest (Slack's incoming webhook).
pub trait Chat: Send + Sync {
    /// Whether a channel is configured.
    fn chat_enabled(&self) -> bool;
    fn post(&self, notice: &Notice) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Every port the pruner's Lambda uses: one name for the bound `start` and the handler
/// share.
pub trait PrunerPorts:
    TrustLedger
    + CredentialReports
    + UserCredentials
    + PolicyInventory
    + SecurityHub
    + Authorizations
    + AccessAdvisor
    + PrunePolicies
    + Ledger
    + Enforcer
    + Notifier
    + Chat
    + Runs
    + WorkQueue
{
}

impl<T> PrunerPorts for T where
    T: TrustLedger
        + CredentialReports
        + UserCredentials
        + PolicyInventory
        + SecurityHub
        + Authorizations
        + AccessAdvisor
        + PrunePolicies
        + Ledger
        + Enforcer
        + Notifier
        + Chat
        + Runs
        + WorkQueue
{
}
