//! Two kinds of invocation: the daily schedule (an EventBridge scheduled event) starts
//! a run; an SQS batch of the work queue carries chunks of that run.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tracing::{error, info, info_span, Instrument};
use warden_core::ports::{PortError, PrunerMembers, PrunerPorts};
use warden_core::prune::{Outcome, PruneConfig};
use warden_core::pruner::{run_chunk, run_member_chunk, start, start_central, Chunk, Started};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("pruning run `{run_id}` could not start: {source}")]
    Start {
        run_id: String,
        #[source]
        source: PortError,
    },
}

/// Handles one invocation; the value is what Lambda returns (an `SqsBatchResponse` for
/// work-queue batches).
pub async fn handle<P>(
    ports: &P,
    cfg: &PruneConfig,
    account: &str,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Value, HandlerError>
where
    P: PrunerPorts,
{
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        return Ok(chunks(records, |chunk| async move {
            run_chunk(ports, cfg, account, &chunk).await
        })
        .await);
    }
    // A retried schedule delivers the same event: its time names the run.
    let run_id = event.get("time").and_then(Value::as_str).map_or_else(
        || now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        str::to_owned,
    );
    warden_core::pruner::write_canary(ports, cfg, now).await;
    let started = start(
        ports,
        cfg,
        account,
        &run_id,
        now,
        cfg.work_queue_url.is_some(),
    )
    .instrument(info_span!("run", run_id = %run_id))
    .await
    .map_err(|source| HandlerError::Start {
        run_id: run_id.clone(),
        source,
    })?;
    Ok(started_json(&run_id, &started))
}

/// Central mode: the schedule starts one run over the organization's accounts (each
/// through its member role); a work-queue chunk is pruned in its own account.
pub async fn handle_central<M>(
    members: &M,
    cfg: &PruneConfig,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Value, HandlerError>
where
    M: PrunerMembers,
{
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        return Ok(chunks(records, |chunk| async move {
            run_member_chunk(members, cfg, &chunk).await
        })
        .await);
    }
    let run_id = event.get("time").and_then(Value::as_str).map_or_else(
        || now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        str::to_owned,
    );
    let started = start_central(members, cfg, &run_id, now, cfg.work_queue_url.is_some())
        .instrument(info_span!("run", run_id = %run_id))
        .await
        .map_err(|source| HandlerError::Start {
            run_id: run_id.clone(),
            source,
        })?;
    Ok(started_json(&run_id, &started))
}

/// What the schedule's invocation returns: how the run started.
fn started_json(run_id: &str, started: &Started) -> Value {
    match started {
        Started::Inline(outcomes) => json!({
            "run_id": run_id, "mode": "inline",
            "summary": warden_core::prune::summary(outcomes),
            // Who the run could not finish (the next run tries again), by name.
            "failed": outcomes
                .iter()
                .filter(|o| o.decision == warden_core::prune::PruneDecision::Failed)
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>(),
            "credentials": warden_core::credential_plan::summary(
                outcomes.iter().flat_map(|o| &o.credentials)
            ),
        }),
        Started::Queued(chunks) => json!({"run_id": run_id, "mode": "queued", "chunks": chunks}),
        Started::AlreadyQueued => json!({"run_id": run_id, "mode": "already-queued"}),
    }
}

async fn chunks<F, Fut>(records: &[Value], run: F) -> Value
where
    F: Fn(Chunk) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Outcome>, PortError>>,
{
    let mut failures = Vec::new();
    for record in records {
        let id = record
            .get("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let body = record
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let chunk: Chunk = match serde_json::from_str(body) {
            Ok(c) => c,
            Err(e) => {
                // Not ours to guess: failed, so that the queue's redrive keeps it.
                error!(message_id = %id, error = %e, "malformed work item");
                failures.push(id);
                continue;
            }
        };
        let span =
            info_span!("chunk", message_id = %id, run_id = %chunk.run_id, chunk = chunk.chunk);
        match run(chunk).instrument(span).await {
            Ok(outcomes) => info!(message_id = %id, principals = outcomes.len(), "chunk done"),
            Err(e) => {
                error!(message_id = %id, error = %e, "chunk failed: left for redelivery");
                failures.push(id);
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    serde_json::to_value(response).unwrap_or_else(|_| json!({"batchItemFailures": []}))
}

/// What Lambda reports for a failed invocation: the run's start failed (the schedule
/// retries it).
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "PruningRunNotStarted".into(),
            error_message: e.to_string(),
        }
    }
}
