//! Central mode: one security account decides for every member account of the
//! organization (`MEMBER_ROLE_NAME` set). Pure: which account an event belongs to, the
//! member role to act through there, the configuration as it reads in that account, and
//! the notice of an account that is not a member.
//!
//! Invariant 12: act only in the account an event belongs to (the EventBridge envelope's
//! `account`, equal to `recipientAccountId`), only through that account's member role; an
//! account without one is reported, never guessed at.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::config::Config;
use crate::event::Event;
use crate::notice::Notice;

/// The session name of every call the tool makes through a member role: CloudTrail
/// names iam-warden as the caller (`…:assumed-role/<member role>/iam-warden`).
pub const SESSION_NAME: &str = "iam-warden";

/// The member role's ARN in `account` (the role has the same name in every member).
pub fn member_role_arn(account: &str, role_name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role_name}")
}

/// An AWS account id: twelve digits.
pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// Why an event has no account to be decided in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unrouted {
    /// Neither the envelope nor the record names an account.
    #[error("the event names no account (no envelope `account`, no `recipientAccountId`)")]
    NoAccount,
    /// Not twelve digits.
    #[error("`{0}` is not an AWS account id")]
    NotAnAccount(String),
    /// The envelope's account and the record's disagree: an event another account put on
    /// the bus, or a forged one; acted on in neither.
    #[error(
        "the envelope's account {envelope} is not the record's recipientAccountId {recipient}"
    )]
    Mismatch { envelope: String, recipient: String },
}

/// The account `event` belongs to: the EventBridge envelope's `account` (the bus AWS
/// put the event on), which must equal the record's `recipientAccountId`. An item of a
/// CloudTrail log file (`warden replay`, no envelope) belongs to its recipientAccountId.
pub fn account_of(event: &Event) -> Result<String, Unrouted> {
    let recipient = event
        .record()
        .and_then(|r| r.recipient_account_id.as_deref());
    let account = match (event.envelope_account(), recipient) {
        (Some(envelope), Some(recipient)) if envelope != recipient => {
            return Err(Unrouted::Mismatch {
                envelope: envelope.to_owned(),
                recipient: recipient.to_owned(),
            })
        }
        (Some(account), _) | (None, Some(account)) => account,
        (None, None) => return Err(Unrouted::NoAccount),
    };
    if is_account_id(account) {
        Ok(account.to_owned())
    } else {
        Err(Unrouted::NotAnAccount(account.to_owned()))
    }
}

/// `arn` with its account replaced by `account` (an ARN without an account is kept).
fn in_account_arn(arn: &str, account: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, service, region, old, resource] if !old.is_empty() => {
            format!("arn:{partition}:{service}:{region}:{account}:{resource}")
        }
        _ => arn.to_owned(),
    }
}

/// The configuration as it reads in member `account`: the deny and quarantine policies
/// have the same path and name in every member, so DENY_POLICY_ARN and
/// QUARANTINE_POLICY_ARN name them there. Everything else (the admin group's name, the
/// exempt tag, the modes) is the same in every account; what differs per account (the
/// admin group's members, the trust ledger, the quotas) is read in that account.
pub fn in_account(config: &Config, account: &str) -> Config {
    let mut local = config.clone();
    local.deny_policy_arn = in_account_arn(&config.deny_policy_arn, account);
    local.quarantine_policy_arn = config
        .quarantine_policy_arn
        .as_deref()
        .map(|arn| in_account_arn(arn, account));
    local
}

/// The notice of an event of an account the tool cannot act in: not a member (its member
/// role cannot be assumed), or an event without a usable account. Sent once per account
/// and ALERT_WINDOW_SECONDS; nothing was changed anywhere.
pub fn not_onboarded(event: &Event, account: Option<&str>, why: &str, role_name: &str) -> Notice {
    let record = event.record();
    let shown = account.unwrap_or("unknown");
    let headline = format!("IAM call in {shown}: account not onboarded");
    let mut body = format!("iam-warden: {headline}\n\n");
    let _ = writeln!(body, "{:<12}{why}", "Why:");
    if let Some(r) = record {
        let who = crate::principal::Principal::classify(r).display();
        let _ = writeln!(body, "{:<12}{who}", "Who:");
        let _ = writeln!(
            body,
            "{:<12}iam:{} at {} (event {})",
            "Call:",
            r.event_name.as_deref().unwrap_or("?"),
            r.event_time.as_deref().unwrap_or("?"),
            r.event_id.as_deref().unwrap_or("?")
        );
    }
    let _ = writeln!(
        body,
        "{:<12}nothing was changed in any account. Deploy the member stack (role `{role_name}`) in {shown}, or remove its forwarding rule.",
        "Done:"
    );
    let machine = json!({
        "tool": "iam-warden", "decision": "not-onboarded", "account": shown, "why": why,
        "event_id": record.and_then(|r| r.event_id.clone()),
    });
    let _ = write!(body, "\n--- machine-readable ---\n{machine:#}\n");
    let mut attributes = BTreeMap::new();
    attributes.insert("decision".to_owned(), "not-onboarded".to_owned());
    attributes.insert("account".to_owned(), shown.to_owned());
    Notice {
        subject: crate::notice::subject(&headline),
        body,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_eventbridge;

    fn event(envelope: Option<&str>, recipient: Option<&str>) -> Event {
        let mut value = json!({
            "version": "0", "id": "eb-1", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam", "region": "us-east-1",
            "detail": {"eventName": "CreateUser", "eventSource": "iam.amazonaws.com",
                "eventID": "ct-1", "userIdentity": {"type": "IAMUser",
                "arn": "arn:aws:iam::111111111111:user/dev1"}}
        });
        if let Some(a) = envelope {
            value["account"] = json!(a);
        }
        if let Some(r) = recipient {
            value["detail"]["recipientAccountId"] = json!(r);
        }
        parse_eventbridge(&value.to_string()).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn the_envelope_names_the_account_and_must_agree_with_the_record() {
        let a = "111111111111";
        let b = "222222222222";
        assert_eq!(account_of(&event(Some(a), Some(a))), Ok(a.to_owned()));
        assert_eq!(
            account_of(&event(Some(a), Some(b))),
            Err(Unrouted::Mismatch {
                envelope: a.into(),
                recipient: b.into()
            })
        );
        // The record alone (a log file's item), or the envelope alone.
        assert_eq!(account_of(&event(None, Some(b))), Ok(b.to_owned()));
        assert_eq!(account_of(&event(Some(a), None)), Ok(a.to_owned()));
        assert_eq!(account_of(&event(None, None)), Err(Unrouted::NoAccount));
        assert_eq!(
            account_of(&event(Some("1111"), Some("1111"))),
            Err(Unrouted::NotAnAccount("1111".into()))
        );
        assert_eq!(
            account_of(&event(Some("11111111111x"), None)),
            Err(Unrouted::NotAnAccount("11111111111x".into()))
        );
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("012345678901"));
        assert!(!is_account_id("01234567890"));
        assert!(!is_account_id("0123456789012"));
        assert!(!is_account_id("01234567890a"));
    }

    #[test]
    fn the_tool_policies_are_named_in_the_member_account() {
        let config = crate::testing::config(&[(
            "QUARANTINE_POLICY_ARN",
            "arn:aws:iam::123456789012:policy/iam-warden/iam-warden-quarantine",
        )]);
        let local = in_account(&config, "222222222222");
        assert!(config.deny_policy_arn.contains(":123456789012:"));
        assert_eq!(
            local.deny_policy_arn,
            config
                .deny_policy_arn
                .replace("123456789012", "222222222222")
        );
        assert_eq!(
            local.quarantine_policy_arn.as_deref(),
            Some("arn:aws:iam::222222222222:policy/iam-warden/iam-warden-quarantine")
        );
        // Nothing else changes.
        let mut back = local.clone();
        back.deny_policy_arn = config.deny_policy_arn.clone();
        back.quarantine_policy_arn = config.quarantine_policy_arn.clone();
        assert_eq!(back, config);
        assert_eq!(in_account_arn("not-an-arn", "222222222222"), "not-an-arn");
        assert_eq!(
            in_account_arn("arn:aws:s3:::bucket", "222222222222"),
            "arn:aws:s3:::bucket"
        );
    }

    #[test]
    fn the_member_role_is_named_in_each_account() {
        assert_eq!(
            member_role_arn("222222222222", "iam-warden-member"),
            "arn:aws:iam::222222222222:role/iam-warden-member"
        );
    }

    #[test]
    fn the_not_onboarded_notice_names_the_account_and_changes_nothing() {
        let e = event(Some("333333333333"), Some("333333333333"));
        let n = not_onboarded(
            &e,
            Some("333333333333"),
            "AssumeRole failed: access denied",
            "iam-warden-member",
        );
        assert!(n.subject.contains("333333333333"), "{}", n.subject);
        assert!(n.body.contains("iam-warden-member"));
        assert!(n.body.contains("nothing was changed"));
        assert!(n.body.contains("iam:CreateUser"));
        assert_eq!(
            n.attributes.get("decision").map(String::as_str),
            Some("not-onboarded")
        );
        assert_eq!(
            n.attributes.get("account").map(String::as_str),
            Some("333333333333")
        );
    }
}
