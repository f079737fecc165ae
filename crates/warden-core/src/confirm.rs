//! A change of trust confirmed against CloudTrail before it is applied (issue 18, attack
//! 2): the queue's message is only a claim, which anyone allowed `sqs:SendMessage` could
//! write. CloudTrail's own record of the event, looked up by its id, is what counts.

use std::time::Duration;

use crate::event::CloudTrailRecord;

/// What CloudTrail says of a queued event that changes trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// CloudTrail has the same call: apply it.
    Confirmed,
    /// CloudTrail does not have it yet (its history lags its delivery): wait this long
    /// at most, then ask again.
    Pending(Duration),
    /// CloudTrail does not have it (after the wait), or has another call under its id:
    /// never applied, and said.
    Refused(&'static str),
}

/// Whether CloudTrail's record `found` (looked up by the queued event's id) confirms the
/// `queued` one: the same call (name, source, caller and its key, parameters, time).
/// `wait`: how long the event may still wait for CloudTrail (`None`: no longer).
pub fn confirmation(
    queued: &CloudTrailRecord,
    found: Option<&CloudTrailRecord>,
    wait: Option<Duration>,
) -> Confirmation {
    match found {
        Some(found) if same_call(queued, found) => Confirmation::Confirmed,
        Some(_) => Confirmation::Refused("CloudTrail has another call under its event id"),
        None => match wait {
            Some(left) => Confirmation::Pending(left),
            None => Confirmation::Refused("CloudTrail does not have it"),
        },
    }
}

fn same_call(a: &CloudTrailRecord, b: &CloudTrailRecord) -> bool {
    let caller = |r: &CloudTrailRecord| {
        r.user_identity.as_ref().map(|u| {
            (
                u.arn.clone(),
                u.principal_id.clone(),
                u.access_key_id.clone(),
            )
        })
    };
    a.event_id.is_some()
        && a.event_id == b.event_id
        && a.event_name == b.event_name
        && a.event_source == b.event_source
        && a.event_time == b.event_time
        && a.error_code == b.error_code
        && caller(a) == caller(b)
        && a.request_parameters == b.request_parameters
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn record(change: impl FnOnce(&mut serde_json::Value)) -> CloudTrailRecord {
        let mut v = json!({
            "eventID": "e1", "eventName": "AddUserToGroup", "eventSource": "iam.amazonaws.com",
            "eventTime": "2026-12-05T10:00:00Z",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice",
                "principalId": "AIDAALICE", "accessKeyId": "AKIAALICE"},
            "requestParameters": {"groupName": "Administrators", "userName": "dev1"},
        });
        change(&mut v);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_the_same_call_confirms() {
        let queued = record(|_| {});
        let wait = Some(Duration::from_secs(60));
        assert_eq!(
            confirmation(&queued, Some(&queued), None),
            Confirmation::Confirmed
        );
        let changes: [fn(&mut serde_json::Value); 8] = [
            |v| v["eventID"] = json!("e2"),
            |v| v["eventName"] = json!("RemoveUserFromGroup"),
            |v| v["eventSource"] = json!("sts.amazonaws.com"),
            |v| v["eventTime"] = json!("2026-12-05T10:00:01Z"),
            |v| v["errorCode"] = json!("AccessDenied"),
            |v| v["userIdentity"]["arn"] = json!("arn:aws:iam::123456789012:user/mallory"),
            |v| v["userIdentity"]["accessKeyId"] = json!("AKIAMINTED"),
            |v| v["requestParameters"]["userName"] = json!("mallory"),
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let other = record(change);
            assert!(
                matches!(
                    confirmation(&queued, Some(&other), wait),
                    Confirmation::Refused(_)
                ),
                "change {i} was taken for the same call"
            );
        }
        let principal = record(|v| v["userIdentity"]["principalId"] = json!("AIDAOTHER"));
        assert!(matches!(
            confirmation(&queued, Some(&principal), wait),
            Confirmation::Refused(_)
        ));
        // Without an id nothing can be confirmed.
        let anonymous = record(|v| v["eventID"] = json!(null));
        assert!(matches!(
            confirmation(&anonymous, Some(&anonymous), None),
            Confirmation::Refused(_)
        ));
    }

    #[test]
    fn a_missing_record_waits_while_it_may_then_is_refused() {
        let queued = record(|_| {});
        let left = Duration::from_secs(30);
        assert_eq!(
            confirmation(&queued, None, Some(left)),
            Confirmation::Pending(left)
        );
        assert_eq!(
            confirmation(&queued, None, None),
            Confirmation::Refused("CloudTrail does not have it")
        );
    }
}
