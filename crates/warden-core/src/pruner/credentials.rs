//! Unused credentials in a pruning run (issue 21): the credential report read once when
//! the run starts (each user's row carried in the run's chunks), then for each user the
//! plan of [`crate::credential_plan`] on its keys as IAM says they are now, each key
//! taken away recorded in the ledger before it is deactivated; and the operator's
//! restore of them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::config::tags;
use crate::credential_plan::{
    keys_nominated, plan, record_lifted, record_taken, CredentialOutcome, CredentialStatus,
    Finding, ReportFacts, PASSWORD,
};
use crate::ports::{CredentialReports, Enforcer, Ledger, PortError, ReportState, UserCredentials};
use crate::principal::{EntityKind, Target};
use crate::prune::{LedgerEntry, PruneConfig, Subject};

use super::Writes;

/// Reads the account's credential report (waiting up to REPORT_TIMEOUT_SECONDS while IAM
/// generates it) and gives each user of `subjects` its row. A report that cannot be had
/// is said on each user ([`ReportFacts::Unavailable`]): its credentials are not checked
/// this run, and the services are pruned as ever.
pub async fn read_report<P: CredentialReports>(
    ports: &P,
    cfg: &PruneConfig,
    subjects: &mut [Subject],
) {
    if !subjects.iter().any(|s| s.kind == EntityKind::User) {
        return;
    }
    let report = match ports.credential_report(cfg.report_timeout).await {
        Ok(ReportState::Ready(report)) => Ok(report),
        Ok(ReportState::Generating) => Err(format!(
            "IAM was still generating the credential report after {} s",
            cfg.report_timeout.as_secs()
        )),
        Err(e) => Err(format!("the credential report could not be read: {e}")),
    };
    if let Err(why) = &report {
        tracing::error!(reason = %why, "credentials not checked this run");
    }
    for s in subjects.iter_mut().filter(|s| s.kind == EntityKind::User) {
        s.credentials = match &report {
            Ok(r) => r
                .users
                .iter()
                .find(|u| u.arn == s.arn)
                .cloned()
                .map(ReportFacts::Row),
            Err(why) => Some(ReportFacts::Unavailable(why.clone())),
        };
    }
}

fn said(credential: &str, status: CredentialStatus, reason: String) -> CredentialOutcome {
    CredentialOutcome {
        credential: credential.to_owned(),
        days: 0,
        status,
        reason: Some(reason),
    }
}

/// One user's unused credentials: judged, and (UNUSED_KEYS=deactivate, UNUSED_PASSWORDS=
/// remove, MODE=enforce) taken away, each recorded in the ledger before it is. Returns
/// what became of each, and the ledger entry as written (when it was).
pub(super) async fn keep_credentials<P>(
    ports: &P,
    cfg: &PruneConfig,
    subject: &Subject,
    previous: Option<&LedgerEntry>,
    now: DateTime<Utc>,
    run_id: &str,
    writes: Writes,
) -> (Vec<CredentialOutcome>, Option<LedgerEntry>)
where
    P: UserCredentials + Ledger + Enforcer,
{
    let row = match &subject.credentials {
        None => return (Vec::new(), None),
        Some(ReportFacts::Unavailable(why)) => {
            return (
                vec![said(
                    "",
                    CredentialStatus::Failed,
                    format!("not checked: {why}"),
                )],
                None,
            )
        }
        Some(ReportFacts::Row(row)) => row,
    };
    // Another principal's entry (deleted, its name given to this one) is not this one's.
    let previous = previous.filter(|p| {
        p.unique_id.is_none() || subject.unique_id.is_none() || p.unique_id == subject.unique_id
    });
    let cc = &cfg.credentials;
    let keys = if keys_nominated(row, cc, now) {
        match ports.access_keys(&subject.name).await {
            Ok(Some(keys)) => keys,
            Ok(None) => {
                return (
                    vec![said(
                        "",
                        CredentialStatus::Gone,
                        "the user no longer exists".into(),
                    )],
                    None,
                )
            }
            Err(e) => {
                return (
                    vec![said(
                        "",
                        CredentialStatus::Failed,
                        format!("its access keys could not be read: {e}"),
                    )],
                    None,
                )
            }
        }
    } else {
        Vec::new()
    };
    let findings = plan(row, &keys, previous, cc, now);
    let mut entry = previous
        .cloned()
        .unwrap_or_else(|| LedgerEntry::new(&subject.arn));
    let mut written = false;
    let mut outcomes = Vec::new();
    for f in &findings {
        if !f.act {
            outcomes.push(CredentialOutcome::of(f, CredentialStatus::Reported));
            continue;
        }
        if writes != Writes::All {
            let mut out = CredentialOutcome::of(f, CredentialStatus::NotApplied);
            out.reason = Some(match writes {
                Writes::Nothing => "dry run: nothing written".into(),
                _ => "MODE=report: nothing written".into(),
            });
            outcomes.push(out);
            continue;
        }
        outcomes.push(take(ports, subject, &mut entry, f, now, run_id, &mut written).await);
    }
    if written {
        note_on_user(ports, subject, &entry).await;
    }
    (outcomes, written.then_some(entry))
}

/// Takes one credential away: recorded first (a retry or a restore knows it), then done.
async fn take<P: UserCredentials + Ledger>(
    ports: &P,
    subject: &Subject,
    entry: &mut LedgerEntry,
    f: &Finding,
    now: DateTime<Utc>,
    run_id: &str,
    written: &mut bool,
) -> CredentialOutcome {
    let failed = |e: PortError| {
        tracing::error!(principal = %subject.arn, credential = %f.credential, error = %e, "credential not taken away");
        let mut out = CredentialOutcome::of(f, CredentialStatus::Failed);
        out.reason = Some(e.to_string());
        out
    };
    let mut recorded = entry.clone();
    if subject.unique_id.is_some() {
        recorded.unique_id.clone_from(&subject.unique_id);
    }
    record_taken(&mut recorded, f, now, run_id);
    if let Err(e) = ports.save(&recorded).await {
        return failed(e);
    }
    *entry = recorded;
    *written = true;
    let (result, done) = if f.credential == PASSWORD {
        (
            ports.remove_password(&subject.name).await,
            CredentialStatus::Removed,
        )
    } else {
        (
            ports
                .set_key_active(&subject.name, &f.credential, false)
                .await,
            CredentialStatus::Deactivated,
        )
    };
    match result {
        Ok(false) => {
            let mut out = CredentialOutcome::of(f, CredentialStatus::Gone);
            out.reason = Some("no longer exists".into());
            out
        }
        Ok(true) => {
            tracing::info!(principal = %subject.arn, credential = %f.credential, days = f.days, "unused credential taken away");
            CredentialOutcome::of(f, done)
        }
        Err(e) => failed(e),
    }
}

/// The tag that says on the user what the tool took (a convenience: the ledger is the
/// record, so a full tag set, the user's doing, never stops the run).
async fn note_on_user<P: Enforcer>(ports: &P, subject: &Subject, entry: &LedgerEntry) {
    let target = subject.target();
    let result = if entry.credentials_taken.is_empty() {
        ports.untag(&target, &[tags::CREDENTIALS_TAKEN]).await
    } else {
        let value: String = entry
            .credentials_taken
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(256)
            .collect();
        ports
            .tag(&target, &[(tags::CREDENTIALS_TAKEN, value)])
            .await
    };
    if let Err(e) = result {
        tracing::warn!(principal = %subject.arn, error = %e, "credential tag not written (the ledger holds the record)");
    }
}

/// What the operator's restore of credentials did.
#[derive(Debug, Default)]
pub struct CredentialsLifted {
    /// The credentials put back (key ids, [`PASSWORD`]).
    pub lifted: Vec<String>,
    /// A new console password (for the operator's terminal only, never logged).
    pub password: Option<String>,
    /// Credentials the ledger named that no longer exist.
    pub gone: Vec<String>,
}

/// The operator's restore: puts back `wanted` (every credential the tool took from
/// `target` when `None`): keys reactivated, a login profile made with a new password that
/// must be changed at the next sign-in. Done before the ledger says so, so a restore that
/// stops half-way is run again.
pub async fn lift_credentials<P>(
    ports: &P,
    target: &Target,
    wanted: Option<&BTreeSet<String>>,
    now: DateTime<Utc>,
) -> Result<CredentialsLifted, PortError>
where
    P: UserCredentials + Ledger + Enforcer,
{
    let mut out = CredentialsLifted::default();
    let Some(mut entry) = ports
        .load(std::slice::from_ref(&target.arn))
        .await?
        .remove(&target.arn)
    else {
        return Ok(out);
    };
    let taken = crate::credential_plan::taken(&entry, wanted);
    for credential in &taken {
        if credential == PASSWORD {
            // A restore run again after the login profile was made: it is there.
            out.password = ports.give_password(&target.name).await?;
        } else if !ports.set_key_active(&target.name, credential, true).await? {
            out.gone.push(credential.clone());
        }
    }
    let wanted: BTreeSet<String> = taken.into_iter().collect();
    out.lifted = record_lifted(&mut entry, Some(&wanted), now, "warden restore");
    if !out.lifted.is_empty() {
        ports.save(&entry).await?;
        let subject = Subject {
            kind: target.kind,
            name: target.name.clone(),
            arn: target.arn.clone(),
            created: now,
            tags: Default::default(),
            groups: Default::default(),
            attached: Default::default(),
            trusted: Default::default(),
            unique_id: None,
            credentials: None,
        };
        note_on_user(ports, &subject, &entry).await;
    }
    Ok(out)
}
