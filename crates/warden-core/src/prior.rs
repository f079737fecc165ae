//! What CloudTrail's history says of the state before a call, where the event itself
//! cannot: whether an Attach\*Policy call changed anything (the same grant made earlier
//! by someone else, not taken away since: a no-op, issue 18 attack 12), and the trust
//! document a role had before an UpdateAssumeRolePolicy call. Pure: the revoker looks
//! the history up (LookupEvents, its 90 days) and asks these.

use chrono::DateTime;

use crate::containment_plan::{decoded, holder_of};
use crate::event::CloudTrailRecord;
use crate::principal::same_name;

/// The calls whose history tells whether an Attach\*Policy call changed anything: the
/// attach and the detach of its kind (`None`: not such a call).
pub fn grant_history_calls(record: &CloudTrailRecord) -> Option<[&'static str; 2]> {
    if record.is_failed() || !record.is_iam_api_call() {
        return None;
    }
    match record.event_name.as_deref()? {
        "AttachUserPolicy" => Some(["AttachUserPolicy", "DetachUserPolicy"]),
        "AttachRolePolicy" => Some(["AttachRolePolicy", "DetachRolePolicy"]),
        "AttachGroupPolicy" => Some(["AttachGroupPolicy", "DetachGroupPolicy"]),
        _ => None,
    }
}

/// The same grant as `record` (an Attach\*Policy call) made earlier by another caller and
/// not taken away since, in CloudTrail's `history` (its attaches and detaches): the
/// newest earlier attach or detach of the same policy to the same principal, if it is an
/// attach by someone else. A grant the caller made itself before is still its own.
pub fn earlier_grant<'a>(
    record: &CloudTrailRecord,
    history: &'a [CloudTrailRecord],
) -> Option<&'a CloudTrailRecord> {
    let [attach, detach] = grant_history_calls(record)?;
    let key = holder_of(attach).1;
    let at = time(record)?;
    let name = record.request_param(key)?;
    let policy = record.request_param("policyArn")?;
    history
        .iter()
        .filter(|r| {
            !r.is_failed()
                && r.event_id != record.event_id
                && matches!(r.event_name.as_deref(), Some(n) if n == attach || n == detach)
                && r.request_param(key).is_some_and(|n| same_name(n, name))
                && r.request_param("policyArn") == Some(policy)
                && time(r).is_some_and(|t| t < at)
        })
        .max_by_key(|r| time(r))
        .filter(|r| {
            r.event_name.as_deref() == Some(attach)
                && crate::grant::actor(r) != crate::grant::actor(record)
        })
}

/// The calls whose history holds a role's trust before an UpdateAssumeRolePolicy call
/// (`None`: not such a call).
pub fn trust_history_calls(record: &CloudTrailRecord) -> Option<[&'static str; 2]> {
    (!record.is_failed()
        && record.is_iam_api_call()
        && record.event_name.as_deref() == Some("UpdateAssumeRolePolicy"))
    .then_some(["UpdateAssumeRolePolicy", "CreateRole"])
}

/// The trust document a role had before `record` (an UpdateAssumeRolePolicy call), from
/// CloudTrail's `history`: the newest earlier successful trust change of the role, or its
/// creation, by another caller, `(document, event id)`. The caller's own earlier changes
/// are not the state it found: a caller who changed the trust twice never gets its first
/// document called the one before.
pub fn previous_trust(
    record: &CloudTrailRecord,
    history: &[CloudTrailRecord],
) -> Option<(String, String)> {
    trust_history_calls(record)?;
    let at = time(record)?;
    let role = record.request_param("roleName")?;
    history
        .iter()
        .filter(|r| {
            !r.is_failed()
                && r.event_id != record.event_id
                && r.request_param("roleName")
                    .is_some_and(|n| same_name(n, role))
                && time(r).is_some_and(|t| t < at)
                && crate::grant::actor(r) != crate::grant::actor(record)
        })
        .filter_map(|r| {
            let key = match r.event_name.as_deref()? {
                "UpdateAssumeRolePolicy" => "policyDocument",
                "CreateRole" => "assumeRolePolicyDocument",
                _ => return None,
            };
            Some((r, decoded(r.request_param(key)?)))
        })
        .max_by_key(|(r, _)| time(r))
        .map(|(r, document)| (document, r.event_id.clone().unwrap_or_default()))
}

/// When CloudTrail says a call was made (`None`: no readable time).
fn time(record: &CloudTrailRecord) -> Option<DateTime<chrono::FixedOffset>> {
    record
        .event_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}
