//! One SQS batch: each body parsed on its own; malformed bodies to the dead-letter
//! queue; on a failure, that message and every later one reported failed (FIFO order).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use tracing::{error, info, info_span, warn, Instrument};
use warden_core::decision::Decision;
use warden_core::event::parse_eventbridge;
use warden_core::ports::{DeadLetters, Deferrals, RevokerPorts};
use warden_core::revoker::{Outcome, Revoker};

/// The batch response for Lambda, and what was decided (for `warden consume`).
#[derive(Debug, Default)]
pub struct BatchReport {
    pub response: SqsBatchResponse,
    pub outcomes: Vec<Outcome>,
}

pub async fn handle_batch<P, Q>(
    revoker: &Revoker<P>,
    dead_letters: &Q,
    event: SqsEvent,
) -> SqsBatchResponse
where
    P: RevokerPorts,
    Q: DeadLetters + Deferrals,
{
    handle(revoker, dead_letters, event).await.response
}

/// [`handle_batch`], keeping the outcomes. A `deferred` event (an unverified admin or
/// exempt principal whose grant may still arrive) is sent to the deferral queue, to come
/// back after its delay, and acknowledged here: it never holds up the FIFO group.
pub async fn handle<P, Q>(revoker: &Revoker<P>, queues: &Q, event: SqsEvent) -> BatchReport
where
    P: RevokerPorts,
    Q: DeadLetters + Deferrals,
{
    let dead_letters = queues;
    let mut batch = revoker.batch();
    let mut failures: Vec<String> = Vec::new();
    let mut outcomes = Vec::new();
    let mut stopped = false;

    for message in event.records {
        let message_id = message.message_id.clone().unwrap_or_default();
        // Only a FIFO queue's later messages must wait for a failed one; the deferral
        // queue (standard) goes on.
        let fifo = message
            .event_source_arn
            .as_deref()
            .is_none_or(|arn| arn.ends_with(".fifo"));
        if stopped && fifo {
            // Later messages of a FIFO group must not overtake the failed one.
            failures.push(message_id);
            continue;
        }
        let span =
            info_span!("message", message_id = %message_id, event_id = tracing::field::Empty);
        let body = message.body.as_deref().unwrap_or_default();
        let ok = async {
            match parse_eventbridge(body) {
                Err(reason) => {
                    warn!(%reason, "malformed message: sending it to the dead-letter queue");
                    match dead_letters.send(body, &reason.to_string(), &message_id).await {
                        Ok(()) => true,
                        Err(e) => {
                            error!(error = %e, "could not dead-letter the message: will retry");
                            false
                        }
                    }
                }
                Ok(event) => {
                    if let Some(id) = event.event_id() {
                        tracing::Span::current().record("event_id", id);
                    }
                    match batch.process(&event, false).await {
                        // Deferred, or decided with a follow-up that waits (a revoked
                        // session's source not in CloudTrail yet).
                        Ok(outcome)
                            if outcome.decision == Decision::Deferred
                                || outcome.defer_seconds.is_some() =>
                        {
                            let delay = std::time::Duration::from_secs(outcome.defer_seconds.unwrap_or(0));
                            match queues.defer(body, delay).await {
                                Ok(()) => {
                                    info!(principal = %outcome.principal, delay_seconds = delay.as_secs(), reason = %outcome.reason, "deferred");
                                    outcomes.push(outcome);
                                    true
                                }
                                Err(e) => {
                                    error!(error = %e, "could not defer the event: will retry");
                                    false
                                }
                            }
                        }
                        Ok(outcome) => {
                            info!(
                                decision = %outcome.decision,
                                principal = %outcome.principal,
                                event_name = outcome.event_name.as_deref().unwrap_or_default(),
                                reason = %outcome.reason,
                                "decided"
                            );
                            outcomes.push(outcome);
                            true
                        }
                        Err(e) if e.is_transient() => {
                            error!(error = %e, "not decided: will retry");
                            false
                        }
                        // Retrying cannot help: to the dead-letter queue at once, with the
                        // reason, notified once; the batch goes on.
                        Err(e) => {
                            error!(error = %e, "cannot be processed: dead-lettering it now");
                            match give_up(revoker, queues, &event, body, &message_id, &e.to_string()).await {
                                Ok(()) => true,
                                Err(e) => {
                                    error!(error = %e, "could not dead-letter the message: will retry");
                                    false
                                }
                            }
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await;
        if !ok {
            stopped |= fifo;
            failures.push(message_id);
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
    BatchReport { response, outcomes }
}

/// A message that failed for good: notified once (the ledger remembers it), then
/// dead-lettered with the reason.
async fn give_up<P, Q>(
    revoker: &Revoker<P>,
    queues: &Q,
    event: &warden_core::event::Event,
    body: &str,
    message_id: &str,
    reason: &str,
) -> Result<(), warden_core::ports::PortError>
where
    P: RevokerPorts,
    Q: DeadLetters,
{
    revoker.notify_failure(event, message_id, reason).await?;
    queues.send(body, reason, message_id).await
}
