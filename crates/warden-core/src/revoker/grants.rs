//! Trust carried out: an unverified status's grant looked up (the event, then CloudTrail),
//! the ledger changed by those who may grant, and an escalation undone.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::action::{CallerRecord, ESCALATION};
use crate::config::Mode;
use crate::decision::Verdict;
use crate::event::{CloudTrailRecord, Event};
use crate::facts::CallerFacts;
use crate::grant::{self, Escalation, Grant};
use crate::ports::{PortError, RevokerPorts};
use crate::principal::{Principal, Target};
use crate::trust::{self, LedgerChange, Provenance, Status, TrustSet, Verification};

use super::state::{Invocation, Patience};

/// How long a CloudTrail look-up is reused (LookupEvents allows two requests a second).
const TRAIL_CACHE: Duration = Duration::from_secs(60);

impl<P: RevokerPorts> Invocation<'_, P> {
    /// Looks for the grant of `status` to `target`: the event itself, then CloudTrail.
    pub(super) async fn find_grant(
        &mut self,
        event: &Event,
        target: &Target,
        status: Status,
    ) -> Result<Verification, PortError> {
        let r = self.revoker;
        let wanted = Grant::Give {
            status,
            kind: target.kind,
            name: target.name.clone(),
        };
        // The event itself: a grant to its caller, or (for admin) a group of the
        // caller's made the admin group.
        let mut found: Option<CloudTrailRecord> = event
            .record()
            .filter(|rec| match grant::grant_of(rec, &r.config) {
                Some(Grant::GroupBecomesAdmin { .. }) => status == Status::Admin,
                other => other.as_ref() == Some(&wanted),
            })
            .cloned();
        if found.is_none() {
            let since = Utc::now() - grant::GRANT_LOOKBACK;
            let mut records = Vec::new();
            for call in status.grant_calls(target.kind) {
                records.extend(self.lookup(call, since).await?);
            }
            found = grant::latest_grant(&records, status, target, &r.config).cloned();
        }
        let Some(grant) = found else {
            let wait = match self.patience {
                Patience::Clock => trust::wait_left(
                    event.record().and_then(|rec| rec.event_time.as_deref()),
                    Utc::now(),
                    r.config.trust_wait,
                ),
                Patience::EndOfRun => Some(Duration::ZERO),
                Patience::Done => None,
            };
            return Ok(Verification::NotFound { wait });
        };
        let authorized = self.may_grant(&grant).await?;
        Ok(Verification::Granted {
            by: grant::actor(&grant),
            event_id: grant.event_id.clone().unwrap_or_default(),
            authorized,
        })
    }

    /// CloudTrail's records of one call, reused for [`TRAIL_CACHE`].
    async fn lookup(
        &self,
        call: &str,
        since: chrono::DateTime<Utc>,
    ) -> Result<Vec<CloudTrailRecord>, PortError> {
        let r = self.revoker;
        {
            let cache = r.trail.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, records)) = cache.get(call) {
                if at.elapsed() < TRAIL_CACHE {
                    return Ok(records.clone());
                }
            }
        }
        let records = r.port.lookup(call, since).await?;
        let mut cache = r.trail.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(call.to_owned(), (Instant::now(), records.clone()));
        Ok(records)
    }

    /// Whether the caller of `record` may grant trust (a trusted admin, or listed).
    async fn may_grant(&mut self, record: &CloudTrailRecord) -> Result<bool, PortError> {
        let r = self.revoker;
        let caller = Principal::classify(record);
        let facts = match &caller {
            Principal::IamUser(u) | Principal::FederatedUser { user: u, .. }
                if u.account_id == r.env.account_id =>
            {
                match self.facts_of(&Target::user(u)).await? {
                    CallerFacts::Found(f) => Some(f),
                    _ => None,
                }
            }
            _ => None,
        };
        Ok(grant::may_grant(&caller, facts.as_ref(), record, &r.config))
    }

    /// The trust work of a decided event: a grant found for an unverified status (into
    /// the ledger, or undone), and the event's own change of trust (into the ledger
    /// when its caller may grant or when it takes trust away; an escalation otherwise).
    pub(super) async fn apply_trust(
        &mut self,
        event: &Event,
        verdict: &Verdict,
    ) -> Result<Option<Escalation>, PortError> {
        let r = self.revoker;
        let Some(record) = event.record() else {
            return Ok(None);
        };
        let now = Utc::now();
        let planned_only = r.config.mode == Mode::Report;
        let mut seen_from_grantee = None;
        if let (Some(found), Some(target)) = (&verdict.found_grant, &verdict.target) {
            let grant = Grant::Give {
                status: found.status,
                kind: target.kind,
                name: target.name.clone(),
            };
            if found.authorized {
                let provenance = Provenance::Grant {
                    by: found.by.clone(),
                    event_id: found.event_id.clone(),
                };
                let grantee_id = match self.facts.get(target) {
                    Some(CallerFacts::Found(f)) => f.unique_id.clone(),
                    _ => None,
                };
                let changes = grant::ledger_changes(
                    &grant,
                    &provenance,
                    grantee_id.as_deref(),
                    &[],
                    &TrustSet::default(),
                    now,
                );
                self.change_trust(&changes).await?;
            } else if found.event_id != event.event_id().unwrap_or_default() {
                // An escalation seen from its grantee before its own event: undone now,
                // recorded under the granter; this event's notice tells it.
                let what = grant.describe(&r.config);
                let actions = grant::undo_escalation(&grant, &r.config);
                let record = if planned_only {
                    CallerRecord::default()
                } else {
                    self.take_actions(&found.by, &found.event_id, ESCALATION, &actions, &what)
                        .await?
                        .0
                };
                seen_from_grantee = Some(Escalation {
                    by: found.by.clone(),
                    event_id: found.event_id.clone(),
                    what,
                    actions,
                    planned_only,
                    notified: record.notified.contains(&found.event_id),
                });
            }
        }
        let Some(grant) = grant::grant_of(record, &r.config) else {
            return Ok(seen_from_grantee);
        };
        let caller = Principal::classify(record);
        if r.env.is_tool(&caller) {
            return Ok(seen_from_grantee);
        }
        let by = grant::actor(record);
        let event_id = event.event_id().unwrap_or("unknown").to_owned();
        let provenance = Provenance::Grant {
            by: by.clone(),
            event_id: event_id.clone(),
        };
        if !grant.gives() {
            // Taking trust away always applies, whoever does it.
            let current = self.trust_set().await?.clone();
            let changes = grant::ledger_changes(&grant, &provenance, None, &[], &current, now);
            self.change_trust(&changes).await?;
            return Ok(seen_from_grantee);
        }
        // The grantee of a Give, as IAM has it now (its unique id binds the trust).
        let grantee = match &grant {
            Grant::Give { kind, name, .. } => {
                let target = Target {
                    kind: *kind,
                    name: name.clone(),
                    arn: String::new(),
                };
                match self.facts_of(&target).await? {
                    CallerFacts::Found(f) => Some(f),
                    _ => None,
                }
            }
            _ => None,
        };
        // Giving a status to a principal already trusted for it changes nothing: never
        // an escalation to undo (it would take trust from an admin or exempt principal).
        if let (Grant::Give { status, kind, name }, Some(f)) = (&grant, &grantee) {
            let target = Target {
                kind: *kind,
                name: name.clone(),
                arn: String::new(),
            };
            if matches!(
                grant::standing(*status, &target, f, &r.config),
                grant::Standing::Trusted(_)
            ) {
                return Ok(seen_from_grantee);
            }
        }
        if self.may_grant(record).await? {
            let members = match &grant {
                Grant::GroupBecomesAdmin { .. } => {
                    r.port.group_members(&r.config.admin_group).await?
                }
                _ => Vec::new(),
            };
            let current = self.trust_set().await?.clone();
            let grantee_id = grantee.as_ref().and_then(|f| f.unique_id.clone());
            let changes = grant::ledger_changes(
                &grant,
                &provenance,
                grantee_id.as_deref(),
                &members,
                &current,
                now,
            );
            self.change_trust(&changes).await?;
            return Ok(seen_from_grantee);
        }
        let what = grant.describe(&r.config);
        let actions = grant::undo_escalation(&grant, &r.config);
        let record = if planned_only {
            r.port
                .caller_record(&r.env.account_id, &by)
                .await?
                .unwrap_or_default()
        } else {
            self.take_actions(&by, &event_id, ESCALATION, &actions, &what)
                .await?
                .0
        };
        Ok(Some(Escalation {
            by,
            event_id: event_id.clone(),
            what,
            actions,
            planned_only,
            notified: record.notified.contains(&event_id),
        }))
    }

    async fn change_trust(&mut self, changes: &[LedgerChange]) -> Result<(), PortError> {
        if changes.is_empty() {
            return Ok(());
        }
        let r = self.revoker;
        r.port.change_trust(&r.env.account_id, changes).await?;
        let set = self.trust.get_or_insert_with(TrustSet::default);
        for change in changes {
            set.apply(change);
        }
        Ok(())
    }
}
