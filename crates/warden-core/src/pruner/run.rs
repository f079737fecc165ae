//! A scheduled run: pruned in one invocation when small, or fanned out in chunks through
//! the work queue (each chunk self-contained and repeatable), with the daily canary.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::{Enforcer, PortError, PrunerPorts};
use crate::principal::Target;
use crate::prune::{summary, Outcome, PruneConfig, Quotas, Subject};

use super::digest::{digest, send_digest};
use super::{prune, Writes};

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
    /// Central mode: the member account the chunk's principals are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
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
            account: None,
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
    super::credentials::read_report(ports, cfg, &mut subjects).await;
    tracing::info!(run_id, principals = subjects.len(), "pruning run started");
    if !fan_out || subjects.len() <= cfg.chunk_size {
        let outcomes = prune(ports, cfg, &subjects, quotas, now, run_id, writes).await?;
        send_digest(
            ports,
            &digest(account, run_id, &outcomes, writes != Writes::All),
        )
        .await?;
        super::security_hub::import_assessment(ports, cfg, account, now).await;
        return Ok(Started::Inline(outcomes));
    }
    let chunks = pack(run_id, now, quotas, subjects, cfg.chunk_size);
    if !ports.start_run(run_id, chunks.len()).await? {
        return Ok(Started::AlreadyQueued);
    }
    enqueue_chunks(ports, run_id, &chunks).await?;
    tracing::info!(run_id, chunks = chunks.len(), "pruning run fanned out");
    Ok(Started::Queued(chunks.len()))
}

/// Puts a started run's chunks on the work queue, then marks the run queued (a retried
/// start finds it so and queues nothing twice).
pub(super) async fn enqueue_chunks<P: PrunerPorts>(
    ports: &P,
    run_id: &str,
    chunks: &[Chunk],
) -> Result<(), PortError> {
    let bodies = chunks
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PortError::Failed {
            operation: "start",
            message: e.to_string(),
        })?;
    ports.enqueue(&bodies).await?;
    ports.mark_queued(run_id).await
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
        super::security_hub::import_assessment(ports, cfg, account, chunk.now).await;
    }
    Ok(outcomes)
}
