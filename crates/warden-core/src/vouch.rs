//! Trust given by people: the baseline taken when the tool is set up (every admin and
//! exempt principal as they are then), and an operator's `warden trust`. Used by the
//! revoker's start-up, the pruner, `warden init` and `warden trust`.

use chrono::Utc;

use crate::admin_group::{self, Repair};
use crate::config::Config;
use crate::config::Environment;
use crate::error::DomainError;
use crate::facts::{CallerFacts, Facts};
use crate::grant;
use crate::notice;
use crate::ports::{
    Actions, Authorizations, Directory, Notifier, PortError, RevokerPorts, Trail, TrustLedger,
};
use crate::principal::{Entity, EntityKind, Target};
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
    take_baseline(port, account, admin_group, exempt_tag, &[]).await
}

/// How far back a baseline taken while an account's events may be on their way looks
/// for grants among them: CloudTrail delivers minutes late (at times 15), and a queue
/// backlog holds events longer.
pub const IN_FLIGHT_HOURS: i64 = 1;

/// The calls that give admin or exempt status (see [`crate::grant::grant_of`]).
const GIVING_CALLS: [&str; 3] = ["AddUserToGroup", "TagUser", "TagRole"];

/// [`ensure_baseline`], taken when the account's events may already be waiting (central
/// mode opens a member account on its first event, which may be the grant itself): a
/// principal given admin or exempt status by a call in CloudTrail's last
/// [`IN_FLIGHT_HOURS`] is left out, and its grant, still to be decided, says whether a
/// trusted admin made it. Without this, a caller who made herself an admin minutes before
/// her account's first event would be baselined as one. CloudTrail not answering takes
/// no baseline (the event is retried).
pub async fn ensure_baseline_in_flight<
    P: TrustLedger + Authorizations + Notifier + Trail + Directory,
>(
    port: &P,
    account: &str,
    config: &Config,
) -> Result<(TrustSet, bool), PortError> {
    if let Some(set) = port.trust_set(account).await? {
        return Ok((set, false));
    }
    let since = Utc::now() - chrono::TimeDelta::hours(IN_FLIGHT_HOURS);
    let mut given = Vec::new();
    for call in GIVING_CALLS {
        for record in port.lookup(call, since).await? {
            if let Some(grant::Grant::Give { status, kind, name }) =
                grant::grant_of(&record, config)
            {
                given.push((status, kind, name));
            }
        }
    }
    if !given.is_empty() {
        tracing::warn!(account, left_out = ?given, "baseline: principals given trust in the last hour are left out until their grant is decided");
    }
    // The admin group renamed away in the last hour: the group holding its name now may
    // be the caller's. The baseline reads the group that had the name (under its name
    // now) and records it by id; the start-up's admin-group check then puts its name
    // back and moves the other group aside.
    let renames = port.lookup("UpdateGroup", since).await?;
    let real = match crate::admin_group::renamed_away(&renames, &config.admin_group) {
        Some(name) => port.group_id(&name).await?.map(|id| (name, id)),
        None => None,
    };
    if let Some((name, id)) = &real {
        tracing::warn!(account, admin_group = %config.admin_group, now_named = %name, group_id = %id, "baseline: the admin group was renamed in the last hour; it is read by its id, and its name put back");
    }
    let mut set = baseline_of(
        port,
        account,
        real.as_ref()
            .map_or(config.admin_group.as_str(), |(name, _)| name),
        &config.exempt_tag,
        &given,
    )
    .await?;
    set.admin_group_id = real.map(|(_, id)| id);
    put_baseline(port, account, set, &config.admin_group, &config.exempt_tag).await
}

async fn take_baseline<P: TrustLedger + Authorizations + Notifier>(
    port: &P,
    account: &str,
    admin_group: &str,
    exempt_tag: &(String, String),
    left_out: &[(Status, EntityKind, String)],
) -> Result<(TrustSet, bool), PortError> {
    let set = baseline_of(port, account, admin_group, exempt_tag, left_out).await?;
    put_baseline(port, account, set, admin_group, exempt_tag).await
}

/// The baseline as IAM has it now: the members of `admin_group` and the holders of the
/// exempt tag, but those `left_out`.
async fn baseline_of<P: Authorizations>(
    port: &P,
    account: &str,
    admin_group: &str,
    exempt_tag: &(String, String),
    left_out: &[(Status, EntityKind, String)],
) -> Result<TrustSet, PortError> {
    let subjects = port.subjects(true).await?;
    let mut set = trust::baseline(
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
    set.entries.retain(|_, e| {
        !left_out.iter().any(|(status, kind, name)| {
            e.status == *status && e.kind == *kind && crate::principal::same_name(&e.name, name)
        })
    });
    Ok(set)
}

/// Records `set` as the account's baseline (unless another process took one first: its
/// stands) and notifies whom it trusts.
async fn put_baseline<P: TrustLedger + Notifier>(
    port: &P,
    account: &str,
    set: TrustSet,
    admin_group: &str,
    exempt_tag: &(String, String),
) -> Result<(TrustSet, bool), PortError> {
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

/// How many of CloudTrail's IAM events the sessions baseline reads at most (the newest)
/// at a Lambda's start: LookupEvents answers 50 per page, two pages a second, so about
/// ten seconds of the start.
pub const PIPELINE_EVENTS_AT_START: usize = 1_000;

/// The same, for `warden init`, which an operator runs with time to spare: run it before
/// the stack's first start to read a busy account's whole week.
pub const PIPELINE_EVENTS_AT_INIT: usize = 20_000;

/// The sessions baseline (ROLE_MODE=session), once per account: the roles whose sessions
/// wrote IAM in the last [`trust::PIPELINE_DAYS`] days are trusted (their sessions
/// exempt), with a notice that lists them and how to withdraw each. Taken on the first
/// start that stops role sessions (a new install, or an upgrade from a version that only
/// alerted), after the baseline. Returns the entries it wrote (`None`: taken before, or
/// not stopping sessions).
pub async fn ensure_sessions_baseline<P: TrustLedger + crate::ports::Trail + Notifier>(
    port: &P,
    config: &Config,
    env: &Environment,
    cap: usize,
) -> Result<Option<Vec<trust::TrustEntry>>, PortError> {
    if config.role_mode != crate::config::RoleMode::Session {
        return Ok(None);
    }
    let Some(set) = port.trust_set(&env.account_id).await? else {
        return Ok(None);
    };
    if set.sessions_baseline.is_some() {
        return Ok(None);
    }
    let now = Utc::now();
    // Only what was written before the tool first set out to stop sessions counts: a
    // write since (the baseline failed at a start, and an attacker's session wrote IAM
    // before the next) never makes its role trusted.
    let started = match set
        .sessions_started
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        Some(t) => t.with_timezone(&Utc),
        None => {
            port.change_trust(
                &env.account_id,
                &[LedgerChange::SessionsStarted(now.to_rfc3339())],
            )
            .await?;
            now
        }
    };
    let since = started - chrono::TimeDelta::days(i64::from(trust::PIPELINE_DAYS));
    let records = port.iam_events_between(since, started, cap).await?;
    let capped = records.len() >= cap;
    let entries: Vec<trust::TrustEntry> = trust::pipelines(&records, env)
        .into_iter()
        // A role already trusted (tagged exempt at the baseline, vouched for) keeps its entry.
        .filter(|(_, (name, _))| set.get(Status::Exempt, EntityKind::Role, name).is_none())
        .map(|(id, (name, writes))| trust::TrustEntry {
            status: Status::Exempt,
            kind: EntityKind::Role,
            name,
            unique_id: Some(id),
            provenance: Provenance::Pipeline {
                writes,
                days: trust::PIPELINE_DAYS,
            },
            at: now,
        })
        .collect();
    let mut changes: Vec<LedgerChange> = entries.iter().cloned().map(LedgerChange::Put).collect();
    changes.push(LedgerChange::SessionsBaseline(now.to_rfc3339()));
    port.change_trust(&env.account_id, &changes).await?;
    if port.enabled() {
        port.publish(&notice::for_sessions_baseline(
            &env.account_id,
            &entries,
            records.len(),
            capped,
        ))
        .await?;
    }
    Ok(Some(entries))
}

/// The key under which the trust ledger remembers that a permission set's roles were
/// recorded (its `listed` map).
fn permission_set_key(name: &str) -> String {
    format!("{PERMISSION_SET_MARK}{name}")
}

/// The prefix of a permission set's marker among the ledger's listed keys (never an ARN).
const PERMISSION_SET_MARK: &str = "permission-set/";

/// ADMIN_PERMISSION_SETS, recorded: the first start that names a permission set records
/// the roles Identity Center made for it in the account, each by its unique id (only
/// Identity Center makes roles at its path). A role made for it later (a new assignment,
/// or the set re-created) is not trusted until an operator's `warden trust --role`.
/// Returns the entries written.
pub async fn ensure_permission_sets<P: TrustLedger + Directory>(
    port: &P,
    config: &Config,
    env: &Environment,
) -> Result<Vec<trust::TrustEntry>, PortError> {
    let Some(set) = port.trust_set(&env.account_id).await? else {
        return Ok(Vec::new());
    };
    let new: Vec<&String> = config
        .admin_permission_sets
        .iter()
        .filter(|name| !set.listed.contains_key(&permission_set_key(name)))
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let roles = port.identity_center_roles().await?;
    let now = Utc::now();
    let mut entries = Vec::new();
    let mut changes = Vec::new();
    for name in new {
        for (role, id) in &roles {
            if crate::identity_center::permission_set(role) == Some(name.as_str()) {
                entries.push(trust::TrustEntry {
                    status: Status::Exempt,
                    kind: EntityKind::Role,
                    name: role.clone(),
                    unique_id: Some(id.clone()),
                    provenance: Provenance::PermissionSet {
                        name: name.clone(),
                        by: None,
                    },
                    at: now,
                });
            }
        }
        changes.push(LedgerChange::List {
            arn: permission_set_key(name),
            unique_id: now.to_rfc3339(),
        });
    }
    changes.extend(entries.iter().cloned().map(LedgerChange::Put));
    port.change_trust(&env.account_id, &changes).await?;
    Ok(entries)
}

/// `warden trust --withdraw`: the principal is no longer trusted for anything (its
/// entries removed from the trust ledger). Returns the entries removed.
pub async fn withdraw<P: TrustLedger>(
    port: &P,
    env: &Environment,
    target: &Target,
) -> Result<Vec<trust::TrustEntry>, DomainError> {
    let Some(set) = port.trust_set(&env.account_id).await? else {
        return Err(DomainError::Refused {
            command: "trust",
            why: "no trust baseline in the ledger yet: run `warden init` first".into(),
        });
    };
    let entries: Vec<trust::TrustEntry> = set.of(target.kind, &target.name).into_values().collect();
    let changes: Vec<LedgerChange> = entries
        .iter()
        .map(|e| LedgerChange::Remove(e.key()))
        .collect();
    port.change_trust(&env.account_id, &changes).await?;
    Ok(entries)
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
    // A role Identity Center made for a permission set in ADMIN_PERMISSION_SETS (at its
    // path): its sessions may manage IAM, vouched for by the operator.
    if let Some(set) = crate::identity_center::permission_set(&target.name)
        .filter(|s| target.kind == EntityKind::Role && config.admin_permission_sets.contains(*s))
    {
        let made = port.identity_center_roles().await?;
        if let Some((_, id)) = made.iter().find(|(name, _)| *name == target.name) {
            let entry = trust::TrustEntry {
                status: Status::Exempt,
                kind: EntityKind::Role,
                name: target.name.clone(),
                unique_id: Some(id.clone()),
                provenance: Provenance::PermissionSet {
                    name: set.to_owned(),
                    by: Some(operator.to_owned()),
                },
                at: Utc::now(),
            };
            port.change_trust(&env.account_id, &[LedgerChange::Put(entry.clone())])
                .await?;
            return Ok(vec![entry]);
        }
    }
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

/// EXEMPT_PRINCIPALS resolved to unique ids (issue 18, attack 4): each listed ARN not yet
/// recorded is recorded with the id IAM has for it now; an ARN no longer listed is
/// forgotten. A recorded ARN whose name IAM now gives to another principal (renamed away
/// and taken, or deleted and re-created) keeps its first id: the listing does not pass
/// to the name's new holder. Returns what an operator must hear (the taken-over or
/// missing listings; the revoker's start notifies them). Needs the baseline (the ledger's
/// item): call after [`ensure_baseline`].
pub async fn ensure_listed<P: TrustLedger + Directory>(
    port: &P,
    env: &Environment,
    config: &Config,
) -> Result<Vec<String>, PortError> {
    let account = env.account_id.as_str();
    let Some(set) = port.trust_set(account).await? else {
        return Ok(Vec::new());
    };
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    for arn in &config.exempt_principals {
        let Some(target) = listed_target(arn) else {
            problems.push(format!(
                "EXEMPT_PRINCIPALS lists `{arn}`, which is not the ARN of a user, a role or a role's session: never exempt"
            ));
            continue;
        };
        let now = match port.facts(&target).await? {
            CallerFacts::Found(f) => f.unique_id,
            _ => None,
        };
        match (set.listed.get(arn), now) {
            (None, Some(id)) => changes.push(LedgerChange::List {
                arn: arn.clone(),
                unique_id: id,
            }),
            (None, None) => problems.push(format!(
                "EXEMPT_PRINCIPALS lists `{arn}`, which IAM does not have: not exempt until the function starts again after it exists"
            )),
            (Some(recorded), Some(id)) if *recorded == id => {}
            (Some(recorded), now) => problems.push(format!(
                "EXEMPT_PRINCIPALS lists `{arn}`, first resolved to the unique id `{recorded}`, but {target} is now {}: the listing stays with `{recorded}` (a name taken over is not the principal listed). If it was re-created on purpose, take it out of EXEMPT_PRINCIPALS, deploy, and put it back.",
                now.map_or_else(|| "gone".to_owned(), |id| format!("`{id}`"))
            )),
        }
    }
    // Only EXEMPT_PRINCIPALS' own: a permission set's marker is ensure_permission_sets'.
    for arn in set.listed.keys() {
        if !config.exempt_principals.contains(arn) && !arn.starts_with(PERMISSION_SET_MARK) {
            changes.push(LedgerChange::Unlist(arn.clone()));
        }
    }
    port.change_trust(account, &changes).await?;
    Ok(problems)
}

/// The admin group known by its unique id (issue 18, attack 6): recorded on first sight
/// (the first id stands); a rename that moved ADMIN_GROUP_NAME off it put back, the
/// group that took the name moved aside first. Returns what happened, for a tampering
/// notice (`None`: nothing to say). Trust is never changed here.
pub async fn ensure_admin_group<P: TrustLedger + Directory + Actions>(
    port: &P,
    account: &str,
    admin: &str,
) -> Result<Option<String>, PortError> {
    let Some(set) = port.trust_set(account).await? else {
        return Ok(None);
    };
    let holder = port.group_id(admin).await?;
    let Some(recorded) = set.admin_group_id else {
        if let Some(id) = holder {
            port.change_trust(account, &[LedgerChange::AdminGroup(id)])
                .await?;
        }
        return Ok(None);
    };
    let current = if holder.as_deref() == Some(recorded.as_str()) {
        Some(admin.to_owned())
    } else {
        port.group_named(&recorded).await?
    };
    match admin_group::repair(admin, &recorded, holder.as_deref(), current.as_deref()) {
        Repair::Intact => Ok(None),
        Repair::Lost(why) => Ok(Some(why)),
        Repair::Rename(actions, what) => {
            for action in &actions {
                port.apply(action).await?;
            }
            Ok(Some(what))
        }
    }
}

/// The user or role a listed ARN names (a role's session: its role).
fn listed_target(arn: &str) -> Option<Target> {
    if let Some(user) = Entity::from_arn(arn, EntityKind::User) {
        return Some(Target::user(&user));
    }
    if let Some(role) = Entity::from_arn(arn, EntityKind::Role) {
        return Some(Target::role(&role));
    }
    // arn:aws:sts::<account>:assumed-role/<role>/<session>
    let (account, rest) = arn
        .strip_prefix("arn:aws:sts::")?
        .split_once(":assumed-role/")?;
    let role = rest.split('/').next().filter(|r| !r.is_empty())?;
    Some(Target {
        kind: EntityKind::Role,
        name: role.to_owned(),
        arn: format!("arn:aws:iam::{account}:role/{role}"),
    })
}
