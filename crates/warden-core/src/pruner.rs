//! One pruning pass over a set of principals, and the operator's lift: the plan of
//! [`crate::prune`] applied through the ports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::config::{tags, Mode};
use crate::notice::{restore_command, Notice};
use crate::ports::{
    AccessAdvisor, Authorizations, Chat, Enforcer, Ledger, Notifier, PortError, PrunePolicies,
    PrunerPorts, TrustLedger,
};
use crate::principal::Target;
use crate::prune::{
    plan, summary, triage, LedgerEntry, Outcome, PolicyDoc, PruneConfig, PruneDecision, Quotas,
    Report, Subject,
};
use crate::prune_policy::{documents, is_own_policy, policy_arn, policy_name};

/// What a pass may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// IAM and the ledger.
    All,
    /// Only the ledger's first-seen dates (MODE=report: the grant grace keeps counting).
    Observations,
    /// Nothing (`--dry-run`).
    Nothing,
}

impl Writes {
    pub fn for_mode(mode: Mode, dry_run: bool) -> Self {
        match (dry_run, mode) {
            (true, _) => Writes::Nothing,
            (false, Mode::Report) => Writes::Observations,
            (false, Mode::Enforce) => Writes::All,
        }
    }
}

/// Prunes `subjects`, `cfg.concurrency` at a time. Only a failing ledger read fails
/// the pass (without the ledger, sticky denies would be forgotten); everything else
/// is an outcome per principal.
pub async fn prune<P>(
    ports: &P,
    cfg: &PruneConfig,
    subjects: &[Subject],
    quotas: Quotas,
    now: DateTime<Utc>,
    run_id: &str,
    writes: Writes,
) -> Result<Vec<Outcome>, PortError>
where
    P: AccessAdvisor + PrunePolicies + Ledger + Enforcer + TrustLedger + Authorizations + Notifier,
{
    let arns: Vec<String> = subjects.iter().map(|s| s.arn.clone()).collect();
    let ledger = ports.load(&arns).await?;
    // Trust as the revoker keeps it: a tag or a membership counts only with the ledger.
    let trust = match subjects.first().and_then(|s| s.arn.split(':').nth(4)) {
        Some(account) => {
            crate::vouch::ensure_baseline(ports, account, &cfg.admin_group, &cfg.exempt_tag)
                .await?
                .0
        }
        None => crate::trust::TrustSet::default(),
    };
    let subjects: Vec<Subject> = subjects
        .iter()
        .map(|s| Subject {
            // Trusted for a status only as this very principal (its unique id).
            trusted: trust
                .of(s.kind, &s.name)
                .into_iter()
                .filter(|(_, e)| {
                    e.unique_id.is_none() || s.unique_id.is_none() || e.unique_id == s.unique_id
                })
                .map(|(status, _)| status)
                .collect(),
            ..s.clone()
        })
        .collect();
    let mut outcomes: Vec<Outcome> = stream::iter(&subjects)
        .map(|subject| {
            prune_one(
                ports,
                cfg,
                subject,
                ledger.get(&subject.arn),
                quotas,
                now,
                run_id,
                writes,
            )
        })
        .buffer_unordered(cfg.concurrency.max(1))
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.principal.cmp(&b.principal));
    Ok(outcomes)
}

#[allow(clippy::too_many_arguments)]
async fn prune_one<P>(
    ports: &P,
    cfg: &PruneConfig,
    subject: &Subject,
    previous: Option<&LedgerEntry>,
    quotas: Quotas,
    now: DateTime<Utc>,
    run_id: &str,
    writes: Writes,
) -> Outcome
where
    P: AccessAdvisor + PrunePolicies + Ledger + Enforcer,
{
    let denied_before: Vec<String> = previous
        .map(|p| p.denied.iter().cloned().collect())
        .unwrap_or_default();
    if let Some((decision, reason)) = triage(subject, cfg, now) {
        let mut out = Outcome::new(subject, decision, Some(reason));
        out.denied_services = denied_before;
        out.policy_arns = previous.map(|p| p.policy_arns.clone()).unwrap_or_default();
        return out;
    }
    // A deny policy of this principal that the ledger does not know (a lost or
    // restored-from-backup ledger): adopt its services, never drop them.
    let unknown: Vec<&String> = subject
        .attached
        .iter()
        .filter(|a| is_own_policy(a, &cfg.policy_prefix, subject.kind, &subject.name))
        .filter(|a| !previous.is_some_and(|p| p.policy_arns.contains(a)))
        .collect();
    let mut adopted: Option<LedgerEntry> = None;
    if !unknown.is_empty() {
        let mut entry = previous
            .cloned()
            .unwrap_or_else(|| LedgerEntry::new(&subject.arn));
        for arn in unknown {
            match ports.denied_services(arn).await {
                Ok(Some(services)) => {
                    entry.denied.extend(services);
                    entry.policy_arns.push(arn.clone());
                }
                Ok(None) => {}
                Err(e) => return failed(Outcome::new(subject, PruneDecision::Failed, None), &e),
            }
        }
        tracing::warn!(principal = %subject.arn, denied = ?entry.denied, "adopted deny policies the ledger did not know");
        adopted = Some(entry);
    }
    let previous = adopted.as_ref().or(previous);

    let report = ports.report(&subject.arn, cfg.report_timeout).await;
    if let Report::Unavailable(why) = &report {
        tracing::warn!(principal = %subject.arn, reason = %why, "no usable Access Advisor report");
    }
    let mut planned = plan(
        subject,
        &report,
        previous,
        cfg,
        quotas.of(subject.kind),
        now,
        run_id,
    );
    if planned.ledger.is_none() {
        planned.ledger = adopted.clone();
    }
    let mut out = Outcome::new(subject, planned.decision, planned.reason.clone());
    out.denied_services = planned.deny.iter().cloned().collect();
    out.newly_denied = planned.newly_denied.iter().cloned().collect();
    out.policy_arns = match &planned.ledger {
        Some(l) if planned.decision.writes() || planned.decision == PruneDecision::Unchanged => {
            l.policy_arns.clone()
        }
        _ => previous.map(|p| p.policy_arns.clone()).unwrap_or_default(),
    };

    match writes {
        Writes::Nothing => return out,
        Writes::Observations => {
            let before = previous
                .cloned()
                .unwrap_or_else(|| LedgerEntry::new(&subject.arn));
            if let Some(observed) = before.observations_of(planned.ledger.as_ref()) {
                if let Err(e) = ports.save(&observed).await {
                    return failed(out, &e);
                }
            }
            if planned.decision.writes() {
                out.reason = Some("MODE=report: nothing written".into());
            }
            return out;
        }
        Writes::All => {}
    }

    let target = subject.target();
    let applied = async {
        for policy in &planned.policies {
            ports.put_policy(policy, &subject.arn).await?;
            ports.attach_policy(&target, &policy.arn).await?;
        }
        for arn in &planned.remove {
            ports.detach_policy(&target, arn).await?;
            if is_own_policy(arn, &cfg.policy_prefix, subject.kind, &subject.name) {
                ports.delete_policy(arn).await?;
            }
        }
        if let Some(entry) = &planned.ledger {
            ports.save(entry).await?;
        }
        // Recorded on the principal too, when there is room (the ledger's history is the
        // record: a full tag set, the principal's doing, never blocks pruning).
        if planned.decision.writes() {
            if planned.deny.is_empty() {
                ports.untag(&target, tags::PRUNED).await?;
            } else {
                let at = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                let run: String = run_id.chars().take(256).collect();
                match ports
                    .tag(&target, &[(tags::PRUNED_AT, at), (tags::PRUNED_RUN, run)])
                    .await
                {
                    Err(e) if e.is_transient() => return Err(e),
                    Err(e) => tracing::warn!(principal = %subject.arn, error = %e, "pruning tags not written (the ledger holds the record)"),
                    Ok(()) => {}
                }
            }
        }
        Ok::<(), PortError>(())
    }
    .await;
    match applied {
        Ok(()) => {
            if planned.decision.writes() {
                tracing::info!(
                    principal = %subject.arn,
                    decision = planned.decision.as_str(),
                    newly_denied = ?planned.newly_denied,
                    "deny policy written"
                );
            }
            out
        }
        Err(e @ PortError::LimitExceeded { .. }) => {
            out.decision = PruneDecision::Skipped;
            out.reason = Some(format!("managed-policy quota reached: {e}"));
            out
        }
        Err(e) => failed(out, &e),
    }
}

fn failed(mut out: Outcome, e: &PortError) -> Outcome {
    tracing::error!(principal = %out.principal, error = %e, "pruning failed");
    out.decision = PruneDecision::Failed;
    out.reason = Some(e.to_string());
    out
}

/// The operator's restore: lifts `services` (all when `None`) from the pruner's deny
/// of `target`, rewriting or deleting its policies. Returns the services lifted.
pub async fn lift<P>(
    ports: &P,
    cfg: &PruneConfig,
    target: &Target,
    services: Option<&BTreeSet<String>>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<String>, PortError>
where
    P: PrunePolicies + Ledger + Enforcer,
{
    let existing = ports
        .load(std::slice::from_ref(&target.arn))
        .await?
        .remove(&target.arn);
    let known_before = existing.is_some();
    let mut entry = existing.unwrap_or_else(|| LedgerEntry::new(&target.arn));
    let mut known: BTreeSet<String> = entry.policy_arns.iter().cloned().collect();
    known.insert(policy_arn(
        &target.arn,
        &policy_name(&cfg.policy_prefix, target.kind, &target.name, 0),
    ));
    let lifted = entry.lift(services, now, "warden restore");

    let keep: Vec<PolicyDoc> = documents(&entry.denied)
        .into_iter()
        .enumerate()
        .map(|(i, document)| {
            let name = policy_name(&cfg.policy_prefix, target.kind, &target.name, i);
            PolicyDoc {
                arn: policy_arn(&target.arn, &name),
                name,
                document,
            }
        })
        .collect();
    for policy in &keep {
        ports.put_policy(policy, &target.arn).await?;
        ports.attach_policy(target, &policy.arn).await?;
        known.remove(&policy.arn);
    }
    for arn in &known {
        ports.detach_policy(target, arn).await?;
        if is_own_policy(arn, &cfg.policy_prefix, target.kind, &target.name) {
            ports.delete_policy(arn).await?;
        }
    }
    if entry.denied.is_empty() {
        ports.untag(target, tags::PRUNED).await?;
    }
    entry.policy_arns = keep.into_iter().map(|p| p.arn).collect();
    if known_before {
        ports.save(&entry).await?;
    }
    Ok(lifted)
}

/// The digest of a run: one notice per run per account.
pub fn digest(account: &str, run_id: &str, outcomes: &[Outcome], dry: bool) -> Notice {
    let counts = summary(outcomes);
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let changed = count("denied") + count("updated");
    let subject = format!(
        "iam-warden pruning in {account}: {changed} changed, {} skipped, {} failed{}",
        count("skipped"),
        count("failed"),
        if dry { " (not applied)" } else { "" }
    );
    let mut body = String::new();
    let _ = writeln!(
        body,
        "iam-warden pruning run {run_id} in account {account}\n"
    );
    let _ = writeln!(body, "Principals checked: {}", outcomes.len());
    for (k, v) in &counts {
        let _ = writeln!(body, "  {k:<10} {v}");
    }
    let changed_list: Vec<&Outcome> = outcomes.iter().filter(|o| o.decision.writes()).collect();
    if !changed_list.is_empty() {
        let _ = writeln!(body, "\nChanged:");
        for o in changed_list {
            let target = o.target();
            let _ = writeln!(
                body,
                "- {} ({}): newly denied {}; denied now {}",
                target,
                o.decision.as_str(),
                list_or_none(&o.newly_denied),
                list_or_none(&o.denied_services),
            );
            let _ = writeln!(body, "  restore all:     {}", restore_command(&target));
            if let Some(first) = o.newly_denied.first() {
                let _ = writeln!(
                    body,
                    "  restore one:     {} --service {first}",
                    restore_command(&target)
                );
            }
            if let Some(r) = &o.reason {
                let _ = writeln!(body, "  note: {r}");
            }
        }
    }
    for (title, decision) in [
        ("Skipped (act on these)", PruneDecision::Skipped),
        (
            "Failed (retried next run, nothing new denied)",
            PruneDecision::Failed,
        ),
    ] {
        let list: Vec<&Outcome> = outcomes.iter().filter(|o| o.decision == decision).collect();
        if !list.is_empty() {
            let _ = writeln!(body, "\n{title}:");
            for o in list {
                let _ = writeln!(
                    body,
                    "- {}: {}",
                    o.target(),
                    o.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
    let attributes = BTreeMap::from([
        ("decision".to_owned(), "pruned".to_owned()),
        ("account".to_owned(), account.to_owned()),
    ]);
    Notice {
        subject: subject.chars().take(100).collect(),
        body,
        attributes,
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// A chunk of a fanned-out run: one message of the work queue, self-contained so that
/// its processing needs no second inventory and can be repeated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub run_id: String,
    pub now: DateTime<Utc>,
    pub chunk: usize,
    pub chunks: usize,
    pub quotas: Quotas,
    pub subjects: Vec<Subject>,
}

/// The largest chunk body (SQS takes 256 KiB and more; this leaves room).
pub const CHUNK_BYTES_MAX: usize = 192 * 1024;

/// Packs `subjects` into chunks of at most `size` principals and [`CHUNK_BYTES_MAX`].
pub fn pack(
    run_id: &str,
    now: DateTime<Utc>,
    quotas: Quotas,
    subjects: Vec<Subject>,
    size: usize,
) -> Vec<Chunk> {
    let mut groups: Vec<Vec<Subject>> = Vec::new();
    let mut current: Vec<Subject> = Vec::new();
    let mut bytes = 0usize;
    for s in subjects {
        let len = serde_json::to_string(&s).map(|j| j.len()).unwrap_or(0) + 1;
        if !current.is_empty() && (current.len() >= size.max(1) || bytes + len > CHUNK_BYTES_MAX) {
            groups.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += len;
        current.push(s);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let chunks = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(chunk, subjects)| Chunk {
            run_id: run_id.to_owned(),
            now,
            chunk,
            chunks,
            quotas,
            subjects,
        })
        .collect()
}

/// How a scheduled run started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// Small enough (or no work queue): pruned in this invocation, digest sent.
    Inline(Vec<Outcome>),
    /// Fanned out in this many chunks.
    Queued(usize),
    /// A retried start of a run whose chunks are all queued: nothing to do.
    AlreadyQueued,
}

/// The daily canary: one harmless IAM write (a tag on the tool's canary role) that
/// CloudTrail records and the IAM rule lets through, so that the revoker proves the
/// whole path each day. A failure is logged, never a reason not to prune: the missing
/// canary is what the alarm is for.
pub async fn write_canary<P: Enforcer>(ports: &P, cfg: &PruneConfig, now: DateTime<Utc>) {
    let Some(role) = &cfg.canary_role else {
        return;
    };
    let target = Target {
        kind: crate::principal::EntityKind::Role,
        name: role.clone(),
        arn: String::new(),
    };
    let stamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    match ports
        .tag(&target, &[(crate::tamper::CANARY_TAG, stamp)])
        .await
    {
        Ok(()) => tracing::info!(role = %role, "canary written"),
        Err(e) => {
            tracing::error!(role = %role, error = %e, "canary not written: the canary alarm will fire")
        }
    }
}

/// The scheduled invocation: inventory, then prune inline or fan out through the work
/// queue. A retried start re-queues the chunks unless they were all queued (chunks are
/// idempotent).
pub async fn start<P>(
    ports: &P,
    cfg: &PruneConfig,
    account: &str,
    run_id: &str,
    now: DateTime<Utc>,
    fan_out: bool,
) -> Result<Started, PortError>
where
    P: PrunerPorts,
{
    let writes = Writes::for_mode(cfg.mode, false);
    let mut subjects = ports.subjects(cfg.prune_roles).await?;
    subjects.sort_by(|a, b| a.arn.cmp(&b.arn));
    let quotas = ports.quotas().await?;
    tracing::info!(run_id, principals = subjects.len(), "pruning run started");
    if !fan_out || subjects.len() <= cfg.chunk_size {
        let outcomes = prune(ports, cfg, &subjects, quotas, now, run_id, writes).await?;
        send_digest(
            ports,
            &digest(account, run_id, &outcomes, writes != Writes::All),
        )
        .await?;
        return Ok(Started::Inline(outcomes));
    }
    let chunks = pack(run_id, now, quotas, subjects, cfg.chunk_size);
    if !ports.start_run(run_id, chunks.len()).await? {
        return Ok(Started::AlreadyQueued);
    }
    let bodies = chunks
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PortError::Failed {
            operation: "start",
            message: e.to_string(),
        })?;
    ports.enqueue(&bodies).await?;
    ports.mark_queued(run_id).await?;
    tracing::info!(run_id, chunks = chunks.len(), "pruning run fanned out");
    Ok(Started::Queued(chunks.len()))
}

/// One chunk of a fanned-out run. The chunk that completes the run sends the digest;
/// an error leaves the message for redelivery (processing it again writes nothing new).
pub async fn run_chunk<P>(
    ports: &P,
    cfg: &PruneConfig,
    account: &str,
    chunk: &Chunk,
) -> Result<Vec<Outcome>, PortError>
where
    P: PrunerPorts,
{
    let writes = Writes::for_mode(cfg.mode, false);
    let outcomes = prune(
        ports,
        cfg,
        &chunk.subjects,
        chunk.quotas,
        chunk.now,
        &chunk.run_id,
        writes,
    )
    .await?;
    let last = ports
        .finish_chunk(&chunk.run_id, chunk.chunk, &outcomes)
        .await?;
    tracing::info!(
        run_id = %chunk.run_id,
        chunk = chunk.chunk + 1,
        chunks = chunk.chunks,
        principals = chunk.subjects.len(),
        summary = ?summary(&outcomes),
        "pruning chunk done"
    );
    if last {
        let all = ports.run_outcomes(&chunk.run_id).await?;
        let notice = digest(account, &chunk.run_id, &all, writes != Writes::All);
        match send_digest(ports, &notice).await {
            Ok(()) => ports.settle_digest(&chunk.run_id, true).await?,
            Err(e) => {
                ports.settle_digest(&chunk.run_id, false).await?;
                return Err(e);
            }
        }
        tracing::info!(run_id = %chunk.run_id, principals = all.len(), summary = ?summary(&all), "pruning run complete: digest sent");
    }
    Ok(outcomes)
}

/// The digest to the topic, then to chat. The topic is the record: its failure fails
/// the run's end (retried); a chat failure is logged, the digest went out already.
pub async fn send_digest<P: Notifier + Chat>(ports: &P, notice: &Notice) -> Result<(), PortError> {
    ports.publish(notice).await?;
    if ports.chat_enabled() {
        if let Err(e) = ports.post(notice).await {
            tracing::error!(error = %e, "the digest did not reach the chat channel");
        }
    }
    Ok(())
}
