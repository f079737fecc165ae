//! Trust given by people: the baseline taken when the tool is set up (every admin and
//! exempt principal as they are then), and an operator's `warden trust`. Used by the
//! revoker's start-up, the pruner, `warden init` and `warden trust`.

use chrono::Utc;

use crate::config::Config;
use crate::config::Environment;
use crate::error::DomainError;
use crate::facts::{CallerFacts, Facts};
use crate::grant;
use crate::notice;
use crate::ports::{Authorizations, Notifier, PortError, RevokerPorts, TrustLedger};
use crate::principal::Target;
use crate::trust::{self, LedgerChange, Provenance, Status, TrustSet};

/// Takes the trust baseline if the account has none: every member of the admin group
/// and every holder of the exempt tag, trusted as they are now, with a notice so that
/// the security team sees whom iam-warden trusts. Returns the account's trusted set and
/// whether this call took it.
pub async fn ensure_baseline<P: TrustLedger + Authorizations + Notifier>(
    port: &P,
    account: &str,
    admin_group: &str,
    exempt_tag: &(String, String),
) -> Result<(TrustSet, bool), PortError> {
    if let Some(set) = port.trust_set(account).await? {
        return Ok((set, false));
    }
    let subjects = port.subjects(true).await?;
    let set = trust::baseline(
        account,
        subjects.iter().map(|s| {
            (
                s.kind,
                s.name.as_str(),
                s.unique_id.as_deref(),
                &s.groups,
                &s.tags,
            )
        }),
        admin_group,
        exempt_tag,
        Utc::now(),
    );
    if !port.put_baseline(&set).await? {
        // Another process took it first: its baseline stands.
        let theirs = port.trust_set(account).await?.unwrap_or(set);
        return Ok((theirs, false));
    }
    if port.enabled() {
        port.publish(&notice::for_baseline(&set, admin_group, exempt_tag))
            .await?;
    }
    Ok((set, true))
}

/// `warden trust`: an operator vouches for a principal's current admin membership and
/// exempt tag. Returns the entries written; a principal that holds neither is an error
/// (vouching for nothing would be a silent no-op).
pub async fn vouch<P: RevokerPorts>(
    port: &P,
    config: &Config,
    env: &Environment,
    target: &Target,
    operator: &str,
) -> Result<Vec<trust::TrustEntry>, DomainError> {
    let facts = match port.facts(target).await? {
        CallerFacts::Found(f) => f,
        _ => {
            return Err(DomainError::NoSuchPrincipal {
                command: "trust",
                target: target.to_string(),
            })
        }
    };
    let entries: Vec<trust::TrustEntry> = [Status::Admin, Status::Exempt]
        .into_iter()
        .filter(|s| {
            grant::standing(
                *s,
                target,
                &Facts {
                    trusted: Default::default(),
                    ..facts.clone()
                },
                config,
            ) != grant::Standing::Absent
        })
        .map(|status| trust::TrustEntry {
            status,
            kind: target.kind,
            name: target.name.clone(),
            unique_id: facts.unique_id.clone(),
            provenance: Provenance::Operator {
                by: operator.to_owned(),
            },
            at: Utc::now(),
        })
        .collect();
    if entries.is_empty() {
        return Err(DomainError::Refused {
            command: "trust",
            why: format!(
                "{target} is neither in `{}` nor tagged `{}={}`: add the membership or the tag first (or list it in EXEMPT_PRINCIPALS)",
                config.admin_group, config.exempt_tag.0, config.exempt_tag.1
            ),
        });
    }
    if port.trust_set(&env.account_id).await?.is_none() {
        return Err(DomainError::Refused {
            command: "trust",
            why: "no trust baseline in the ledger yet: run `warden init` first".into(),
        });
    }
    let changes: Vec<LedgerChange> = entries.iter().cloned().map(LedgerChange::Put).collect();
    port.change_trust(&env.account_id, &changes).await?;
    Ok(entries)
}
