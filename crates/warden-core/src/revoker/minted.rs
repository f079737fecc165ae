//! Whose call it is: a call made with an access key or a console password that another
//! principal made for its user is decided as that maker's (issue 18, attack 1; the pure
//! rules are [`crate::minted`]'s).

use std::time::Duration;

use chrono::Utc;
use tracing::warn;

use crate::event::{CloudTrailRecord, Event};
use crate::minted::{self, Credential, Made};
use crate::ports::{PortError, RevokerPorts};
use crate::trust::LOOKUP_RETRY;

use super::state::Invocation;

/// Whose call an event is.
pub(super) enum Attribution {
    /// Its caller's own (or not made with a credential anyone else could make).
    Own,
    /// Made with a credential another principal made: the event as that maker's call,
    /// and why, for the notice.
    Maker(Event, String),
    /// The credential is new and CloudTrail does not show who made it yet: the event
    /// waits (deferred, nothing done), asked again after the duration.
    Wait(Duration, String),
}

/// What the look-up settled, or that the event must wait.
enum Found {
    Settled(Option<Box<CloudTrailRecord>>),
    /// Not known, and the event may wait no longer: its user's own, this once.
    Unknown,
    Wait(Duration, String),
}

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Whose call `event` is: the maker of the credential it was made with, when another
    /// principal made it. Each credential is looked up once per process (IAM's creation
    /// time, then CloudTrail's making calls around it).
    pub(super) async fn attribution(&self, event: &Event) -> Result<Attribution, PortError> {
        let Some(record) = event.record() else {
            return Ok(Attribution::Own);
        };
        let Some(credential) = minted::credential_of(record) else {
            return Ok(Attribution::Own);
        };
        let r = self.revoker;
        let settled = r
            .made
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&credential)
            .cloned();
        let making = match settled {
            Some(making) => making,
            None => match self.find_maker(event, record, &credential).await? {
                Found::Settled(making) => {
                    let making = making.map(|m| *m);
                    r.made
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(credential.clone(), making.clone());
                    making
                }
                Found::Unknown => None,
                Found::Wait(wait, why) => return Ok(Attribution::Wait(wait, why)),
            },
        };
        Ok(match making {
            None => Attribution::Own,
            Some(making) => Attribution::Maker(
                Event::CloudTrail {
                    envelope_id: None,
                    envelope_account: None,
                    record: Box::new(minted::as_made_by(record, &making)),
                },
                minted::reason(&credential, &making),
            ),
        })
    }

    async fn find_maker(
        &self,
        event: &Event,
        record: &CloudTrailRecord,
        credential: &Credential,
    ) -> Result<Found, PortError> {
        let r = self.revoker;
        let used = match credential {
            Credential::Session { since, .. } => *since,
            Credential::AccessKey { .. } => record
                .event_time
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc)),
        };
        let created = r.port.credential_created(credential).await?;
        let (from, to) = minted::window(credential, created, used);
        let mut history = Vec::new();
        for call in minted::making_calls(credential) {
            match r.port.lookup_between(call, from, to).await {
                Ok(found) => history.extend(found),
                Err(e) if e.is_transient() => {
                    return Ok(self.unseen(
                        event,
                        credential,
                        format!("CloudTrail did not answer ({e})"),
                        Found::Unknown,
                    ))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(match minted::maker(credential, &history) {
            Made::ByAnother(making) => Found::Settled(Some(Box::new(making.clone()))),
            Made::Itself => Found::Settled(None),
            Made::Unseen => {
                let recent = minted::may_be_unseen(
                    credential,
                    created,
                    Utc::now(),
                    chrono::TimeDelta::from_std(r.config.trust_wait).unwrap_or_default(),
                );
                if recent {
                    self.unseen(
                        event,
                        credential,
                        "CloudTrail does not show who made it yet".into(),
                        Found::Settled(None),
                    )
                } else {
                    Found::Settled(None)
                }
            }
        })
    }

    /// Who made a new credential is not known yet: the event waits while it may
    /// (asked again within [`LOOKUP_RETRY`]); after, the call is its user's own (said in
    /// the log): `after`, settled when CloudTrail answered, this once when it did not.
    fn unseen(&self, event: &Event, credential: &Credential, why: String, after: Found) -> Found {
        match self.wait_left(event) {
            Some(wait) => Found::Wait(
                wait.min(LOOKUP_RETRY),
                format!(
                    "made with the {}, new: {why}; waiting for it",
                    credential.describe()
                ),
            ),
            None => {
                warn!(
                    credential = credential.describe(),
                    why, "who made the credential is unknown: the call is taken as its user's own"
                );
                after
            }
        }
    }
}
