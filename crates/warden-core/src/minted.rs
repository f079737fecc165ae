//! Credentials one principal made for another (issue 18, attack 1). A caller with a
//! stolen non-admin key can `CreateAccessKey --user-name alice` (an admin) or reset her
//! console password, then act as alice: every call made with that key or password counts
//! as the trusted alice's, a grant among them as a trusted grant. A call made with a
//! credential someone else made is that someone's call: decided, contained and notified
//! as its maker's.
//!
//! Pure: the revoker reads when IAM says the credential was made and CloudTrail's
//! history of the calls that make it ([`making_calls`], within [`window`]), and asks
//! [`maker`].

use chrono::{DateTime, TimeDelta, Utc};

use crate::event::CloudTrailRecord;
use crate::principal::{same_name, Principal};

/// How far before its first use a credential is looked for when IAM no longer says when
/// it was made (a deleted key, a password reset): the minutes before a contained
/// credential is taken away, with a wide margin.
pub const MINT_WINDOW: TimeDelta = TimeDelta::hours(1);

/// How far around IAM's creation time its making call is looked for (IAM's and
/// CloudTrail's clocks agree to the second; the margin is for the call's duration).
pub const CREATED_MARGIN: TimeDelta = TimeDelta::minutes(2);

/// The credential a call was made with, when it is one that someone else could have
/// made for its user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Credential {
    /// A long-term access key (`AKIA…`) of the IAM user `user`.
    AccessKey { user: String, key: String },
    /// A session of the IAM user `user` begun at `since` (a console sign-in): what a
    /// password opens.
    Session { user: String, since: DateTime<Utc> },
}

impl Credential {
    pub fn user(&self) -> &str {
        match self {
            Credential::AccessKey { user, .. } | Credential::Session { user, .. } => user,
        }
    }

    /// For people: "an access key AKIA… of user/alice".
    pub fn describe(&self) -> String {
        match self {
            Credential::AccessKey { user, key } => format!("access key {key} of user/{user}"),
            Credential::Session { user, since } => format!(
                "console session of user/{user} begun {}",
                since.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        }
    }
}

/// The credential `record`'s call was made with: an IAM user's own access key or
/// session. `None` for every other caller (roles, root, services, a call a service made
/// on the user's behalf).
pub fn credential_of(record: &CloudTrailRecord) -> Option<Credential> {
    let identity = record.user_identity.as_ref()?;
    if identity.kind.as_deref() != Some("IAMUser") || identity.invoked_by.is_some() {
        return None;
    }
    let user = identity.user_name.clone()?;
    let key = identity.access_key_id.as_deref()?;
    if key.starts_with("AKIA") {
        return Some(Credential::AccessKey {
            user,
            key: key.to_owned(),
        });
    }
    let since = identity
        .session_context
        .as_ref()?
        .attributes
        .as_ref()?
        .creation_date
        .as_deref()?;
    let since = DateTime::parse_from_rfc3339(since)
        .ok()?
        .with_timezone(&Utc);
    key.starts_with("ASIA")
        .then_some(Credential::Session { user, since })
}

/// The calls whose history says who made `credential`.
pub fn making_calls(credential: &Credential) -> &'static [&'static str] {
    match credential {
        Credential::AccessKey { .. } => &["CreateAccessKey"],
        Credential::Session { .. } => {
            &["CreateLoginProfile", "UpdateLoginProfile", "ChangePassword"]
        }
    }
}

/// Where in CloudTrail's history the making of `credential` is: around `created` (when
/// IAM says the key or password was made), else within [`MINT_WINDOW`] before it was
/// used (`used`: the call's time; a session's sign-in for a session).
pub fn window(
    credential: &Credential,
    created: Option<DateTime<Utc>>,
    used: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    match (credential, created) {
        (Credential::AccessKey { .. }, Some(created)) => {
            (created - CREATED_MARGIN, created + CREATED_MARGIN)
        }
        (Credential::AccessKey { .. }, None) => (used - MINT_WINDOW, used),
        // A password reset leaves IAM's creation time as it was: the hour before the
        // sign-in, and the creation when it is older.
        (Credential::Session { since, .. }, created) => {
            let from = *since - MINT_WINDOW;
            (
                created.map_or(from, |c| from.min(c - CREATED_MARGIN)),
                *since,
            )
        }
    }
}

/// What CloudTrail's `history` says of who made `credential`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Made<'a> {
    /// Its own user made it (or changed its password last).
    Itself,
    /// Another principal: its call, whose `userIdentity` is the maker.
    ByAnother(&'a CloudTrailRecord),
    /// The history holds no call that made it.
    Unseen,
}

/// Who made `credential`, from CloudTrail's `history` of its [`making_calls`]: the call
/// that created the access key; for a session, the newest password set for its user
/// before it began.
pub fn maker<'a>(credential: &Credential, history: &'a [CloudTrailRecord]) -> Made<'a> {
    let made = match credential {
        Credential::AccessKey { key, .. } => history.iter().find(|r| {
            !r.is_failed()
                && r.event_name.as_deref() == Some("CreateAccessKey")
                && r.response_elements
                    .as_ref()
                    .and_then(|e| e.get("accessKey")?.get("accessKeyId")?.as_str())
                    == Some(key.as_str())
        }),
        Credential::Session { user, since } => history
            .iter()
            .filter(|r| {
                !r.is_failed()
                    && making_calls(credential).contains(&r.event_name.as_deref().unwrap_or(""))
                    && target_user(r).is_some_and(|u| same_name(u, user))
                    && time(r).is_some_and(|t| t <= *since)
            })
            .max_by_key(|r| time(r)),
    };
    match made {
        None => Made::Unseen,
        Some(r) if is_user(r, credential.user()) => Made::Itself,
        Some(r) => Made::ByAnother(r),
    }
}

/// Whether the making of a credential CloudTrail's history does not show may still be
/// on its way (the event then waits): made within `delay` of `now` as IAM says, or, for
/// a key, no longer in IAM. A session's password unseen in the hour before it is older,
/// unless IAM made it just now.
pub fn may_be_unseen(
    credential: &Credential,
    created: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    delay: TimeDelta,
) -> bool {
    let recent = |c: DateTime<Utc>| now - c < delay;
    match credential {
        Credential::AccessKey { .. } => created.is_none_or(recent),
        Credential::Session { .. } => created.is_some_and(recent),
    }
}

/// `record` as its credential's maker's call: its `userIdentity` is the maker's.
pub fn as_made_by(record: &CloudTrailRecord, making: &CloudTrailRecord) -> CloudTrailRecord {
    CloudTrailRecord {
        user_identity: making.user_identity.clone(),
        ..record.clone()
    }
}

/// The reason a call is decided as its credential's maker's, for the notice.
pub fn reason(credential: &Credential, making: &CloudTrailRecord) -> String {
    format!(
        "made with the {} that {} made for it ({} {}): the call is its maker's",
        credential.describe(),
        crate::grant::actor(making),
        making.event_name.as_deref().unwrap_or("?"),
        making.event_id.as_deref().unwrap_or("?"),
    )
}

/// The user a making call made the credential for: its `userName`, else its caller
/// (a user's own key or password).
fn target_user(record: &CloudTrailRecord) -> Option<&str> {
    match record.request_param("userName") {
        Some(user) => Some(user),
        None => match Principal::classify(record) {
            Principal::IamUser(_) => record.user_identity.as_ref()?.user_name.as_deref(),
            _ => None,
        },
    }
}

fn is_user(record: &CloudTrailRecord, user: &str) -> bool {
    matches!(Principal::classify(record), Principal::IamUser(u) if same_name(&u.name, user))
}

fn time(record: &CloudTrailRecord) -> Option<DateTime<Utc>> {
    record
        .event_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
    }

    fn record(v: serde_json::Value) -> CloudTrailRecord {
        serde_json::from_value(v).unwrap()
    }

    fn by_user(user: &str, key: &str, extra: serde_json::Value) -> CloudTrailRecord {
        let mut v = json!({
            "eventID": "e1", "eventName": "AddUserToGroup", "eventSource": "iam.amazonaws.com",
            "eventTime": "2026-12-05T10:00:00Z",
            "userIdentity": {"type": "IAMUser", "userName": user, "accessKeyId": key,
                "arn": format!("arn:aws:iam::123456789012:user/{user}")},
        });
        if let (Some(v), Some(extra)) = (v["userIdentity"].as_object_mut(), extra.as_object()) {
            v.extend(extra.clone());
        }
        record(v)
    }

    fn session(user: &str, since: &str) -> CloudTrailRecord {
        by_user(
            user,
            "ASIAEXAMPLE",
            json!({"sessionContext": {"attributes": {"creationDate": since}}}),
        )
    }

    fn making(
        id: &str,
        name: &str,
        maker: &str,
        time: &str,
        params: serde_json::Value,
    ) -> CloudTrailRecord {
        let mut r = by_user(maker, "AKIAMAKER", json!({}));
        r.event_id = Some(id.into());
        r.event_name = Some(name.into());
        r.event_time = Some(time.into());
        r.request_parameters = Some(params);
        r
    }

    fn key_made(id: &str, maker: &str, key: &str, params: serde_json::Value) -> CloudTrailRecord {
        let mut r = making(id, "CreateAccessKey", maker, "2026-12-05T09:58:00Z", params);
        r.response_elements = Some(json!({"accessKey": {"accessKeyId": key}}));
        r
    }

    #[test]
    fn the_credential_is_an_iam_users_own_key_or_session_and_nothing_else() {
        let key = Credential::AccessKey {
            user: "alice".into(),
            key: "AKIA1".into(),
        };
        assert_eq!(
            credential_of(&by_user("alice", "AKIA1", json!({}))),
            Some(key.clone())
        );
        assert_eq!(key.user(), "alice");
        assert_eq!(key.describe(), "access key AKIA1 of user/alice");
        let s = Credential::Session {
            user: "alice".into(),
            since: at("2026-12-05T09:30:00Z"),
        };
        assert_eq!(
            credential_of(&session("alice", "2026-12-05T09:30:00Z")),
            Some(s.clone())
        );
        assert_eq!(s.user(), "alice");
        assert_eq!(
            s.describe(),
            "console session of user/alice begun 2026-12-05T09:30:00Z"
        );
        // A session without its beginning, a key of no known kind, no key at all.
        assert_eq!(credential_of(&by_user("alice", "ASIA1", json!({}))), None);
        assert_eq!(
            credential_of(&by_user(
                "alice",
                "ABIA1",
                json!({"sessionContext": {"attributes": {"creationDate": "2026-12-05T09:30:00Z"}}})
            )),
            None
        );
        let mut keyless = by_user("alice", "AKIA1", json!({}));
        keyless.user_identity.as_mut().unwrap().access_key_id = None;
        assert_eq!(credential_of(&keyless), None);
        let mut nameless = by_user("alice", "AKIA1", json!({}));
        nameless.user_identity.as_mut().unwrap().user_name = None;
        assert_eq!(credential_of(&nameless), None);
        // A service calling on the user's behalf, a role's session: not the user's key.
        assert_eq!(
            credential_of(&by_user(
                "alice",
                "AKIA1",
                json!({"invokedBy": "cloudformation.amazonaws.com"})
            )),
            None
        );
        let role = record(
            json!({"userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIA2",
            "arn": "arn:aws:sts::123456789012:assumed-role/r/s",
            "sessionContext": {"attributes": {"creationDate": "2026-12-05T09:30:00Z"}}}}),
        );
        assert_eq!(credential_of(&role), None);
    }

    #[test]
    fn a_key_is_looked_for_around_its_creation_a_session_in_the_hour_before_it() {
        let key = credential_of(&by_user("alice", "AKIA1", json!({}))).unwrap();
        let used = at("2026-12-05T10:00:00Z");
        let created = at("2026-12-05T09:00:00Z");
        assert_eq!(making_calls(&key), ["CreateAccessKey"]);
        assert_eq!(
            window(&key, Some(created), used),
            (at("2026-12-05T08:58:00Z"), at("2026-12-05T09:02:00Z"))
        );
        assert_eq!(window(&key, None, used), (at("2026-12-05T09:00:00Z"), used));
        let s = credential_of(&session("alice", "2026-12-05T09:30:00Z")).unwrap();
        assert_eq!(
            making_calls(&s),
            ["CreateLoginProfile", "UpdateLoginProfile", "ChangePassword"]
        );
        let since = at("2026-12-05T09:30:00Z");
        assert_eq!(window(&s, None, used), (at("2026-12-05T08:30:00Z"), since));
        // A password made before the hour: from its creation; within it: the hour.
        assert_eq!(
            window(&s, Some(at("2026-12-05T08:00:00Z")), used),
            (at("2026-12-05T07:58:00Z"), since)
        );
        assert_eq!(
            window(&s, Some(at("2026-12-05T09:00:00Z")), used),
            (at("2026-12-05T08:30:00Z"), since)
        );
    }

    #[test]
    fn a_key_made_by_another_is_that_makers_and_ones_own_key_ones_own() {
        let key = credential_of(&by_user("alice", "AKIA1", json!({}))).unwrap();
        let by_mal = key_made("m1", "mal", "AKIA1", json!({"userName": "alice"}));
        let other_key = key_made("m2", "mal", "AKIA2", json!({"userName": "alice"}));
        assert_eq!(
            maker(&key, &[other_key.clone(), by_mal.clone()]),
            Made::ByAnother(&by_mal)
        );
        assert_eq!(maker(&key, &[other_key]), Made::Unseen);
        assert_eq!(maker(&key, &[]), Made::Unseen);
        // A refused call made nothing.
        let mut failed = by_mal.clone();
        failed.error_code = Some("AccessDenied".into());
        assert_eq!(maker(&key, &[failed]), Made::Unseen);
        // Another call carrying the key id made nothing either.
        let mut listed = by_mal.clone();
        listed.event_name = Some("ListAccessKeys".into());
        assert_eq!(maker(&key, &[listed]), Made::Unseen);
        // alice's own, with or without her name, in any case.
        let own = key_made("m3", "alice", "AKIA1", json!({}));
        assert_eq!(maker(&key, &[own]), Made::Itself);
        let own = key_made("m4", "ALICE", "AKIA1", json!({"userName": "alice"}));
        assert_eq!(maker(&key, &[own]), Made::Itself);
    }

    #[test]
    fn a_session_is_the_makers_of_the_newest_password_before_it() {
        let s = credential_of(&session("alice", "2026-12-05T09:30:00Z")).unwrap();
        let reset = making(
            "p1",
            "UpdateLoginProfile",
            "mal",
            "2026-12-05T09:20:00Z",
            json!({"userName": "alice"}),
        );
        assert_eq!(
            maker(&s, std::slice::from_ref(&reset)),
            Made::ByAnother(&reset)
        );
        // At the very second of the sign-in, still before it.
        let mut same_second = reset.clone();
        same_second.event_time = Some("2026-12-05T09:30:00Z".into());
        assert_eq!(
            maker(&s, std::slice::from_ref(&same_second)),
            Made::ByAnother(&same_second)
        );
        // alice changed it herself since: hers.
        let changed = making(
            "p2",
            "ChangePassword",
            "alice",
            "2026-12-05T09:25:00Z",
            json!({}),
        );
        assert_eq!(maker(&s, &[reset.clone(), changed.clone()]), Made::Itself);
        assert_eq!(maker(&s, &[changed.clone(), reset.clone()]), Made::Itself);
        // An admin's reset after mal's: the admin's (trusted, so the call stays hers).
        let admin = making(
            "p3",
            "CreateLoginProfile",
            "bob",
            "2026-12-05T09:26:00Z",
            json!({"userName": "Alice"}),
        );
        assert_eq!(
            maker(&s, &[reset.clone(), admin.clone()]),
            Made::ByAnother(&admin)
        );
        // After the sign-in, for someone else, refused, or not a password call: nothing.
        let mut later = reset.clone();
        later.event_time = Some("2026-12-05T09:31:00Z".into());
        let mut elsewhere = reset.clone();
        elsewhere.request_parameters = Some(json!({"userName": "bob"}));
        let mut refused = reset.clone();
        refused.error_code = Some("AccessDenied".into());
        let mut other_call = reset.clone();
        other_call.event_name = Some("DeleteLoginProfile".into());
        assert_eq!(
            maker(&s, &[later, elsewhere, refused, other_call]),
            Made::Unseen
        );
        // A role's call without a userName made no password for alice.
        let mut by_role = reset.clone();
        by_role.request_parameters = Some(json!({}));
        by_role.user_identity = Some(crate::event::UserIdentity {
            kind: Some("AssumedRole".into()),
            arn: Some("arn:aws:sts::123456789012:assumed-role/r/s".into()),
            ..Default::default()
        });
        assert_eq!(maker(&s, &[by_role]), Made::Unseen);
    }

    #[test]
    fn an_unseen_making_is_waited_for_only_while_it_may_still_arrive() {
        let key = credential_of(&by_user("alice", "AKIA1", json!({}))).unwrap();
        let s = credential_of(&session("alice", "2026-12-05T09:30:00Z")).unwrap();
        let now = at("2026-12-05T10:00:00Z");
        let delay = TimeDelta::minutes(15);
        let just = Some(at("2026-12-05T09:45:01Z"));
        let edge = Some(at("2026-12-05T09:45:00Z"));
        for c in [&key, &s] {
            assert!(may_be_unseen(c, just, now, delay));
            assert!(!may_be_unseen(c, edge, now, delay));
        }
        // Gone from IAM: a key may have been deleted to hide it; a session's password
        // was never seen made.
        assert!(may_be_unseen(&key, None, now, delay));
        assert!(!may_be_unseen(&s, None, now, delay));
    }

    #[test]
    fn the_call_becomes_its_makers_and_says_why() {
        let call = by_user("alice", "AKIA1", json!({}));
        let key = credential_of(&call).unwrap();
        let made = key_made("m1", "mal", "AKIA1", json!({"userName": "alice"}));
        let as_mal = as_made_by(&call, &made);
        assert_eq!(as_mal.user_identity, made.user_identity);
        assert_eq!(as_mal.event_id, call.event_id);
        assert_eq!(as_mal.event_name, call.event_name);
        assert_eq!(crate::grant::actor(&as_mal), "user/mal");
        assert_eq!(
            reason(&key, &made),
            "made with the access key AKIA1 of user/alice that user/mal made for it (CreateAccessKey m1): the call is its maker's"
        );
    }
}
