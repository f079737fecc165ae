//! How the records are keyed: an event's key, the daily record of a kind of notice, the
//! principal a decision is about.

use crate::decision::Verdict;
use crate::event::Event;
use crate::principal::Principal;

/// The key of an event in the records: its CloudTrail event id, or, for a record without
/// one, a digest of the record (two such events never share their records).
pub(super) fn event_key(event: &Event) -> String {
    if let Some(id) = event.event_id() {
        return id.to_owned();
    }
    let text = event
        .record()
        .and_then(|r| serde_json::to_string(r).ok())
        .unwrap_or_default();
    // FNV-1a: stable across processes and versions (a record's key must not change).
    let digest = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("noid-{digest:016x}")
}

/// The principal a decision is about: the user or role when there is one, else the caller.
pub(super) fn principal_of(event: &Event, verdict: &Verdict) -> String {
    match (&verdict.target, event.record()) {
        (Some(t), _) => t.arn.clone(),
        (None, Some(record)) => Principal::classify(record).display(),
        (None, None) => String::new(),
    }
}

/// The record that remembers which events of a kind were notified, one per day of the
/// events (their CloudTrail date, so that a retry finds the same record): no record
/// grows without bound.
pub(super) fn notice_scope(kind: &str, event: &Event) -> String {
    let day = event
        .record()
        .and_then(|r| r.event_time.as_deref())
        .and_then(|t| t.get(..10))
        .unwrap_or("undated");
    format!("{kind}#{day}")
}

/// The unique id the event gives its caller: an IAM user's (or a federated session's
/// user), or a role session's role.
pub(super) fn caller_id(record: &crate::event::CloudTrailRecord) -> Option<String> {
    match crate::principal::Principal::classify(record) {
        crate::principal::Principal::IamUser(e)
        | crate::principal::Principal::FederatedUser { user: e, .. } => e.id,
        crate::principal::Principal::AssumedRole { role, .. } => role.id,
        _ => None,
    }
}

/// A role session's `aws:userid`, when the record names it exactly.
pub(super) fn session_id(record: &crate::event::CloudTrailRecord) -> Option<String> {
    match crate::session::Session::of(record) {
        Ok(s) => Some(s.userid()),
        Err(_) => identity_center_userid(record),
    }
}

/// An Identity Center session's `aws:userid` (`ROLE-ID:USER-NAME`), read from the record
/// as a role session's is: `warden restore --role <its role> --session <user name>` puts
/// back what was done because of that user's calls (the SCP's deny included).
fn identity_center_userid(record: &crate::event::CloudTrailRecord) -> Option<String> {
    let Principal::IdentityCenterRole { role, .. } = Principal::classify(record) else {
        return None;
    };
    let role_id = role.id?;
    let principal_id = record.user_identity.as_ref()?.principal_id.as_deref()?;
    let (id, name) = principal_id.split_once(':')?;
    (id == role_id && crate::session::is_role_id(id) && crate::session::is_session_name(name))
        .then(|| principal_id.to_owned())
}
