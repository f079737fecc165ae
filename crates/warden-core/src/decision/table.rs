//! The table of `shared/DESIGN.md`, row by row: [`table`] is the decision on a
//! CloudTrail record, given the facts about its caller when it has asked for them.

use crate::config::{CallPolicy, Config, Environment, Mode, RoleMode, Unverified};
use crate::event::CloudTrailRecord;
use crate::facts::CallerFacts;
use crate::grant::{standing, Standing};
use crate::principal::{has_name, same_name, Entity, EntityKind, Principal, Target};
use crate::revocation::Method;
use crate::trust::{Status, Verification};

use super::{Decision, FoundGrant, Marks, Revocation, Step, Verdict};

/// The table, row by row, for a CloudTrail record. The rows are labelled with their
/// number in the table of `shared/DESIGN.md` (rows 7, 8 and 14 are not built yet).
pub(super) fn table(
    record: &CloudTrailRecord,
    facts: Option<&CallerFacts>,
    config: &Config,
    env: &Environment,
    marks: &Marks,
) -> Step {
    use Decision::*;
    let done = |d, reason: String| Step::Done(Verdict::new(d, reason));

    let name = record.event_name.as_deref().unwrap_or("?");
    // Row 1: not an IAM API call via CloudTrail: ignored.
    // A change to the tool's own pipeline counts as an IAM write: switching iam-warden
    // off is an attack on it.
    if !record.is_iam_api_call() && marks.tampering.is_none() {
        return done(
            Ignored,
            format!(
                "not an IAM API call (`{}` {})",
                record.event_source.as_deref().unwrap_or("?"),
                record.event_type.as_deref().unwrap_or("event")
            ),
        );
    }

    // Row 2 (and FAILED_CALLS): read-only and failed calls, by configuration.
    // Calls that count for less than a write, by configuration.
    let mut downgrade: Option<String> = None;
    if record.is_read_only() {
        match config.read_only_calls {
            CallPolicy::Ignore => return done(Ignored, format!("{name} is read-only")),
            CallPolicy::Alert => {
                downgrade = Some(format!("{name} is read-only (READ_ONLY_CALLS=alert)"))
            }
            CallPolicy::Revoke => {}
        }
    }
    if record.is_failed() {
        let code = record.error_code.as_deref().unwrap_or_default();
        match config.failed_calls {
            CallPolicy::Ignore => {
                return done(
                    Ignored,
                    format!("{name} failed with `{code}` (FAILED_CALLS=ignore)"),
                )
            }
            CallPolicy::Alert => {
                downgrade = Some(format!("{name} failed with `{code}` (FAILED_CALLS=alert)"))
            }
            CallPolicy::Revoke => {}
        }
    }

    // The tool's own canary: ignored (its arrival is recorded).
    if marks.canary {
        return done(
            Ignored,
            "canary: iam-warden's daily proof that CloudTrail -> EventBridge -> the queue -> the revoker works".into(),
        );
    }

    let principal = Principal::classify(record);

    // Row 3: self-service on the caller's own user: ignored.
    if let Principal::IamUser(user) = &principal {
        if is_self_service(record, user, config) {
            return done(
                Ignored,
                format!("{name} is self-service on the caller's own user"),
            );
        }
    }

    // Row 4: the tool's own roles, service-linked roles, AWS services: ignored.
    match &principal {
        p if env.is_tool(p) || is_pruner(p, config) => {
            return done(Ignored, "the caller is iam-warden itself".into())
        }
        Principal::ServiceLinkedRole { role } => {
            return done(Ignored, format!("`{}` is a service-linked role", role.name))
        }
        Principal::AwsService { service } => {
            return done(Ignored, format!("called by the AWS service `{service}`"))
        }
        _ => {}
    }

    // Row 5: root: alerted.
    if let Principal::Root { account_id } = &principal {
        return done(
            Alerted,
            format!(
                "{name} called by the root user of {account_id}: nothing can be attached to root"
            ),
        );
    }

    // Row 6: IAM Identity Center roles, cross-account callers, unknown types: alerted.
    let alert_only = match &principal {
        // An admin permission set's session is decided on with the trust ledger below;
        // any other is alerted, what it made contained, the remedy given.
        Principal::IdentityCenterRole { role, .. } => crate::identity_center::permission_set(
            &role.name,
        )
        .is_none_or(|set| !config.admin_permission_sets.contains(set))
        .then(|| {
            format!(
                "{name} called through the IAM Identity Center role `{}`, whose permission set may not manage IAM (not in ADMIN_PERMISSION_SETS): {}",
                role.name,
                if config.session_scp {
                    crate::identity_center::applied(record, &role.name)
                } else {
                    crate::identity_center::remedy(record, &role.name)
                }
            )
        }),
        Principal::IdentityCenterUser { user_id } => Some(format!(
            "{name} called by the IAM Identity Center user `{user_id}`"
        )),
        Principal::CrossAccount { caller_account, .. } => Some(format!(
            "{name} called from another account ({caller_account})"
        )),
        Principal::Unknown { kind, .. } => {
            Some(format!("{name} called by a caller of unknown type `{kind}`"))
        }
        _ => None,
    };
    if let Some(reason) = alert_only {
        return done(Alerted, reason);
    }
    // Invariant 9: another account's call: alerted, never acted on.
    if marks.foreign {
        return done(
            Alerted,
            format!(
                "{name} was made in account `{}`, not in {} where iam-warden runs: never acted on",
                record.recipient_account_id.as_deref().unwrap_or("unknown"),
                env.account_id
            ),
        );
    }

    // Row 9: a role session with ROLE_MODE=alert: alerted.
    let target = match &principal {
        Principal::IamUser(user) | Principal::FederatedUser { user, .. } => Target::user(user),
        Principal::AssumedRole { role, .. } => {
            if config.role_mode == RoleMode::Alert {
                return Step::Done(
                    Verdict::new(
                        Alerted,
                        format!(
                            "{name} called by a session of role `{}` (ROLE_MODE=alert)",
                            role.name
                        ),
                    )
                    .about(&Target::role(role)),
                );
            }
            // ROLE_MODE=session: a session the record does not name exactly (no
            // issuer id, an id that is not its role's) is never guessed at.
            if config.role_mode == RoleMode::Session {
                if let Err(why) = crate::session::Session::of(record) {
                    return Step::Done(
                        Verdict::new(
                            Alerted,
                            format!(
                                "{name} called by a session of role `{}`, which cannot be stopped alone: {why}",
                                role.name
                            ),
                        )
                        .about(&Target::role(role)),
                    );
                }
            }
            Target::role(role)
        }
        Principal::IdentityCenterRole { role, .. } => Target::role(role),
        // Every other kind returned above.
        _ => return done(Alerted, format!("{name}: caller not actionable")),
    };

    // Identity by unique id: a rename, or another principal given the caller's old name,
    // must neither hide the caller nor turn its revocation on someone else.
    let caller_id = match &principal {
        Principal::IamUser(e) | Principal::FederatedUser { user: e, .. } => e.id.clone(),
        Principal::AssumedRole { role, .. } | Principal::IdentityCenterRole { role, .. } => {
            role.id.clone()
        }
        _ => None,
    };
    let facts = match facts {
        None => return Step::LookUp(target),
        Some(CallerFacts::Gone) if caller_id.is_some() => {
            return Step::Resolve(target, caller_id.unwrap_or_default());
        }
        Some(CallerFacts::Gone | CallerFacts::Vanished) => {
            return Step::Done(
                Verdict::new(
                    Alerted,
                    format!("{target} called {name} but no longer exists (NoSuchEntity)"),
                )
                .about(&target),
            );
        }
        Some(CallerFacts::NameReused) => {
            return Step::Done(
                Verdict::new(
                    Alerted,
                    format!(
                        "{target} called {name}, but the name now belongs to another principal and the caller (unique id `{}`) no longer exists: never acted on",
                        caller_id.as_deref().unwrap_or("?")
                    ),
                )
                .about(&target),
            )
        }
        Some(CallerFacts::Found(f)) => f,
    };
    if let (Some(id), Some(found), None) = (&caller_id, &facts.unique_id, &facts.renamed) {
        if id != found {
            return Step::Resolve(target, id.clone());
        }
    }
    // Row 10, listed: EXEMPT_PRINCIPALS names the caller (its ARN or its session's), and
    // the caller is the principal the listing was first resolved to (its unique id, the
    // ledger's record): exempt. A principal that took a listed name is not it.
    let called_as = [
        Some(target.arn.as_str()),
        record.user_identity.as_ref().and_then(|u| u.arn.as_deref()),
    ];
    if let Some(arn) = called_as
        .into_iter()
        .flatten()
        .find(|arn| config.exempt_principals.contains(*arn))
    {
        if facts.listed.iter().any(|listed| listed == arn) {
            return Step::Done(
                Verdict::new(
                    Exempt,
                    format!(
                        "`{arn}` is listed in EXEMPT_PRINCIPALS (unique id `{}`)",
                        facts.unique_id.as_deref().unwrap_or("?")
                    ),
                )
                .about(&target),
            );
        }
    }
    let target = match &facts.renamed {
        Some(renamed) => renamed.clone(),
        None => target,
    };

    // Row 10, trusted: the trust ledger's admins and exempt principals: exempt.
    // Trust: membership and the tag count only with the ledger (or a grant by a trusted
    // admin found for them); a status held without either is unverified.
    let mut unverified = Vec::new();
    let mut escalation: Option<FoundGrant> = None;
    for status in [Status::Admin, Status::Exempt] {
        let held = match status {
            Status::Admin => format!("a member of `{}`", config.admin_group),
            Status::Exempt => format!("tagged `{}={}`", config.exempt_tag.0, config.exempt_tag.1),
        };
        match standing(status, &target, facts, config) {
            Standing::Absent => {}
            Standing::Trusted(entry) => {
                let held = match entry.provenance {
                    crate::trust::Provenance::Pipeline { .. } => "a pipeline role".to_owned(),
                    _ => held,
                };
                return Step::Done(
                    Verdict::new(
                        Exempt,
                        format!(
                            "{target} is {held} and trusted ({}, since {})",
                            entry.provenance,
                            entry.at.format("%Y-%m-%d")
                        ),
                    )
                    .about(&target),
                );
            }
            Standing::Unverified => match facts.verified.get(&status) {
                None => unverified.push(status),
                Some(Verification::Granted {
                    by,
                    event_id,
                    authorized: true,
                }) => {
                    let mut v = Verdict::new(
                        Exempt,
                        format!(
                            "{target} is {held}: granted by the trusted admin {by} (event `{event_id}`), now trusted"
                        ),
                    )
                    .about(&target);
                    v.found_grant = Some(FoundGrant {
                        status,
                        by: by.clone(),
                        event_id: event_id.clone(),
                        authorized: true,
                    });
                    return Step::Done(v);
                }
                Some(Verification::Granted {
                    by,
                    event_id,
                    authorized: false,
                }) => {
                    escalation.get_or_insert(FoundGrant {
                        status,
                        by: by.clone(),
                        event_id: event_id.clone(),
                        authorized: false,
                    });
                }
                Some(Verification::NotFound { wait: Some(left) }) => {
                    let mut v = Verdict::new(
                        Deferred,
                        format!(
                            "{target} is {held} but not trusted, and its grant was not found yet: deciding again in {}s",
                            left.as_secs()
                        ),
                    )
                    .about(&target);
                    v.defer = Some(*left);
                    return Step::Done(v);
                }
                Some(Verification::Unanswered {
                    wait: Some(left),
                    why,
                }) => {
                    let mut v = Verdict::new(
                        Deferred,
                        format!(
                            "{target} is {held} but not trusted, and CloudTrail did not answer the look-up for its grant ({why}): asking again in {}s",
                            left.as_secs()
                        ),
                    )
                    .about(&target);
                    v.defer = Some(*left);
                    return Step::Done(v);
                }
                Some(
                    Verification::NotFound { wait: None }
                    | Verification::Unanswered { wait: None, .. },
                ) => {
                    if config.unverified == Unverified::Alert && escalation.is_none() {
                        return Step::Done(
                            Verdict::new(
                                Alerted,
                                format!(
                                    "{target} is {held} but not trusted and no grant by a trusted admin was found (UNVERIFIED_TRUST=alert): run `warden trust` if it should be"
                                ),
                            )
                            .about(&target),
                        );
                    }
                }
            },
        }
    }
    if !unverified.is_empty() {
        return Step::Verify(target, unverified);
    }
    // An admin permission set's role the trust ledger does not hold (it is recorded on
    // first sight): never acted on, its roles are Identity Center's.
    if matches!(principal, Principal::IdentityCenterRole { .. }) {
        return Step::Done(
            Verdict::new(
                Alerted,
                format!("{name} called through {target}, of a permission set in ADMIN_PERMISSION_SETS, a role the trust ledger does not hold (made since the set was configured): its role is never acted on; what it made is contained only with UNVERIFIED_TRUST=revoke; run `warden trust --role {}` if it should be trusted", target.name),
            )
            .about(&target),
        );
    }
    let untrusted_note = match &escalation {
        Some(g) => format!(
            " ({} status granted by {}, who may not grant it: an escalation, undone)",
            g.status, g.by
        ),
        None => String::new(),
    };

    let finish = |mut v: Verdict| {
        v.found_grant = escalation.clone();
        Step::Done(v)
    };
    let managed_on = facts.attached_policies.contains(&config.deny_policy_arn);
    let inline_on = facts.inline_policies.contains(&config.inline_policy_name);
    let boundary_on = facts.boundary.as_deref().is_some_and(|b| {
        crate::revocation::is_revocation_boundary(b, config.quarantine_policy_arn.as_deref())
    });
    // ROLE_MODE=session: the session alone, unless the whole role is revoked already
    // (an earlier ROLE_MODE=revoke, recorded): then the row below says so.
    let role_revoked = facts.revocation.is_some() && (managed_on || inline_on || boundary_on);
    if let (RoleMode::Session, false, Ok(session)) = (
        config.role_mode,
        role_revoked,
        crate::session::Session::of(record),
    ) {
        // The role as it is now (renamed since the call: its new name).
        let session = crate::session::Session {
            role: target.clone(),
            ..session
        };
        let mut v = super::session::verdict(
            &session,
            facts.session.as_ref(),
            name,
            config.mode == Mode::Report,
            downgrade,
        );
        v.reason.push_str(&untrusted_note);
        return finish(v);
    }
    // Row 11: the deny already on (and recorded, and notified): already-revoked.
    if managed_on || inline_on || boundary_on {
        // Only the ledger's record says a revocation is finished: a policy named like the
        // inline deny, a boundary named like the tool's, or the tags could all be the
        // caller's own doing. Without a record the deny is (re)applied by the tool,
        // recorded and notified; a record not yet notified is notified.
        let unfinished = match &facts.revocation {
            Some(record) if !record.notified => Some(format!(
                "{target} was revoked for event `{}` but not yet notified: notifying",
                record.event_id
            )),
            Some(_) => None,
            None => Some(format!(
                "{target} has what looks like the deny but iam-warden has no record of it: applying the deny, recording and notifying"
            )),
        };
        if let (Some(reason), Mode::Enforce) = (unfinished, config.mode) {
            let mut v = Verdict::new(Revoked, reason).about(&target);
            v.revocation = Some(Revocation {
                target: target.clone(),
                method: facts.revocation.as_ref().map_or(
                    if managed_on {
                        Method::Managed
                    } else if inline_on {
                        Method::Inline
                    } else {
                        Method::Boundary
                    },
                    |r| r.method,
                ),
                resume: true,
                session: None,
            });
            return finish(v);
        }
        let how = if managed_on {
            "managed"
        } else if inline_on {
            "inline"
        } else {
            "boundary"
        };
        return finish(
            Verdict::new(
                AlreadyRevoked,
                format!("{target} already has the {how} deny{untrusted_note}"),
            )
            .about(&target),
        );
    }

    if let Some(reason) = downgrade {
        return finish(Verdict::new(Alerted, format!("{reason}{untrusted_note}")).about(&target));
    }

    let quota = match target.kind {
        EntityKind::User => env.user_policy_quota,
        EntityKind::Role => env.role_policy_quota,
    };
    let at_quota = facts.attached_policies.len() >= quota as usize;
    let method = if at_quota {
        Method::Inline
    } else {
        Method::Managed
    };
    let why = match target.kind {
        EntityKind::User if has_name(facts.groups.iter(), &config.admin_group) => {
            format!(
                "{target} is in `{}` but not a trusted admin{untrusted_note}",
                config.admin_group
            )
        }
        EntityKind::User => format!(
            "{target} is not in `{}`{untrusted_note}",
            config.admin_group
        ),
        EntityKind::Role => format!("{target} is not exempt (ROLE_MODE=revoke){untrusted_note}"),
    };
    let what = match method {
        Method::Managed | Method::Boundary => "deny-all-IAM policy".to_owned(),
        Method::Inline => format!(
            "inline deny `{}` (at the quota of {quota} managed policies)",
            config.inline_policy_name
        ),
    };
    // Row 12: MODE=report: would-revoke.
    if config.mode == Mode::Report {
        return finish(
            Verdict::new(
                WouldRevoke,
                format!("{why} and called {name}: would attach the {what} (MODE=report)"),
            )
            .about(&target),
        );
    }
    // Row 13: otherwise: revoked.
    let mut v = Verdict::new(
        Revoked,
        format!("{why} and called {name}: attached the {what}"),
    )
    .about(&target);
    v.revocation = Some(Revocation {
        target: target.clone(),
        method,
        resume: false,
        session: None,
    });
    finish(v)
}

/// A session of the pruner's role (exactly the role PRUNER_ROLE_ARN names, in its
/// account): its policy writes are the tool's own.
fn is_pruner(principal: &Principal, config: &Config) -> bool {
    let (Principal::AssumedRole { role, .. }, Some(pruner)) = (principal, &config.pruner_role_arn)
    else {
        return false;
    };
    role.arn == *pruner
}

/// A self-service call: in SELF_SERVICE_ACTIONS and aimed at the caller's own user
/// (no `userName` in the request, or the caller's).
pub(crate) fn is_self_service(record: &CloudTrailRecord, user: &Entity, config: &Config) -> bool {
    let Some(name) = record.event_name.as_deref() else {
        return false;
    };
    config.self_service_actions.contains(name)
        && record
            .request_param("userName")
            .is_none_or(|target| same_name(target, &user.name))
}
