//! What IAM says about a principal, looked up when the decision table needs it, with
//! what the trust ledger holds for it: the decision's input besides the event and the
//! configuration.

use std::collections::{BTreeMap, BTreeSet};

use crate::principal::Target;
use crate::trust::{Status, TrustEntry, Verification};

/// What IAM says about the caller, looked up when the table needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Group names (users only).
    pub groups: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
    /// ARNs of the attached managed policies.
    pub attached_policies: BTreeSet<String>,
    /// Names of the inline policies.
    pub inline_policies: BTreeSet<String>,
    /// What the trust ledger holds for this principal, by status.
    pub trusted: BTreeMap<Status, TrustEntry>,
    /// For a status held without the ledger: what the look-up for its grant found.
    pub verified: BTreeMap<Status, Verification>,
    /// IAM's unique id of the principal (GetUser / GetRole).
    pub unique_id: Option<String>,
    /// The EXEMPT_PRINCIPALS ARNs first resolved to this principal's unique id (the trust
    /// ledger's record): only these list it, whatever its name now.
    pub listed: Vec<String>,
    /// The ARN of its permissions boundary.
    pub boundary: Option<String>,
    /// The tool's revocation record (the ledger).
    pub revocation: Option<crate::revocation::RevocationRecord>,
    /// The principal these facts are about when the event's name now belongs to another
    /// (or to nobody): the caller, found by its unique id under its new name.
    pub renamed: Option<Target>,
    /// The event's role session (ROLE_MODE=session): its revocation record and whether
    /// the role's sessions deny holds it.
    pub session: Option<crate::session::SessionFacts>,
}

/// The result of a facts look-up.
// One per principal per invocation, mostly `Found`: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerFacts {
    Found(Facts),
    /// IAM answered `NoSuchEntity`: the caller was deleted since the call.
    Gone,
    /// The event's name now belongs to a different principal, and the caller's unique id
    /// to none: the caller was deleted, and the new holder of its name is not it.
    NameReused,
    /// Deleted: neither its name nor its unique id exists any more.
    Vanished,
}
