//! One SQS batch: each body parsed on its own; malformed bodies to the dead-letter
//! queue; on a failure, that message and every later one reported failed (FIFO order).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use tracing::{error, info, info_span, warn, Instrument};
use warden_core::decision::Decision;

use warden_core::central::Unrouted;
use warden_core::event::{parse_eventbridge, Event, ParseError};
use warden_core::metrics::BatchMetrics;
use warden_core::ports::{DeadLetters, Deferrals, RevokerPorts, FAILED_DELIVERIES};
use warden_core::principal::Principal;
use warden_core::revoker::{Blocked, Lanes, Outcome, Revoker};

/// The batch response for Lambda, and what was decided (for `warden consume`).
#[derive(Debug, Default)]
pub struct BatchReport {
    pub response: SqsBatchResponse,
    pub outcomes: Vec<Outcome>,
    /// The batch's metrics (the Lambda prints them as one EMF line).
    pub metrics: BatchMetrics,
}

pub async fn handle_batch<L, Q>(lanes: &L, dead_letters: &Q, event: SqsEvent) -> SqsBatchResponse
where
    L: Lanes,
    Q: DeadLetters + Deferrals,
{
    handle(lanes, dead_letters, event).await.response
}

/// [`handle_batch`] within the invocation's `deadline` (Lambda's): a message not started
/// [`BUDGET_MARGIN`] before it is not started at all (deferred: back at once the first
/// time, then with a failure's backoff), so that the invocation never times out with
/// messages half done and the whole batch failed.
pub async fn handle_batch_until<L, Q>(
    lanes: &L,
    queues: &Q,
    event: SqsEvent,
    deadline: Option<SystemTime>,
) -> SqsBatchResponse
where
    L: Lanes,
    Q: DeadLetters + Deferrals,
{
    handle_until(lanes, queues, event, deadline).await.response
}

/// How long before the invocation's deadline the handler stops starting messages: a
/// message's calls, each retried within the SDK's bounded backoff, fit in it.
pub const BUDGET_MARGIN: Duration = Duration::from_secs(30);

/// [`handle_batch`], keeping the outcomes. A `deferred` event (an unverified admin or
/// exempt principal whose grant may still arrive) is sent to the deferral queue, to come
/// back after its delay, and acknowledged here: it never holds up the FIFO group.
///
/// The batch is split into lanes (one per account in central mode, one in all otherwise):
/// a lane's messages are decided in order and a failure holds its later messages; lanes
/// are decided side by side, so one account's failures never fail another's messages.
pub async fn handle<L, Q>(lanes: &L, queues: &Q, event: SqsEvent) -> BatchReport
where
    L: Lanes,
    Q: DeadLetters + Deferrals,
{
    handle_until(lanes, queues, event, None).await
}

/// [`handle`] within a deadline: see [`handle_batch_until`].
pub async fn handle_until<L, Q>(
    lanes: &L,
    queues: &Q,
    event: SqsEvent,
    deadline: Option<SystemTime>,
) -> BatchReport
where
    L: Lanes,
    Q: DeadLetters + Deferrals,
{
    let start_by = deadline.and_then(|d| d.checked_sub(BUDGET_MARGIN));
    // Each message to its lane, in the batch's order.
    let mut order: Vec<String> = Vec::new();
    let mut by_lane: HashMap<String, Vec<Message>> = HashMap::new();
    for message in event.records {
        let body = message.body.clone().unwrap_or_default();
        let parsed = parse_eventbridge(&body);
        let route = match &parsed {
            Ok(event) => lanes.lane(event),
            Err(_) => Ok(String::new()),
        };
        let key = route.clone().unwrap_or_default();
        if !by_lane.contains_key(&key) {
            order.push(key.clone());
        }
        by_lane.entry(key).or_default().push(Message {
            id: message.message_id.clone().unwrap_or_default(),
            // Only a FIFO queue's later messages must wait for a failed one; the
            // deferral queue (standard) goes on.
            fifo: message
                .event_source_arn
                .as_deref()
                .is_none_or(|arn| arn.ends_with(".fifo")),
            sent: message
                .attributes
                .get("SentTimestamp")
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(chrono::DateTime::from_timestamp_millis),
            receives: message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
            failed_before: message
                .message_attributes
                .get(FAILED_DELIVERIES)
                .and_then(|a| a.string_value.as_deref())
                .and_then(|n| n.trim().parse::<u64>().ok())
                .map_or(0, |n| {
                    u32::try_from(n.min(u64::from(MAX_DELIVERIES))).unwrap_or(MAX_DELIVERIES)
                }),
            body,
            parsed,
            unrouted: route.err(),
        });
    }
    let runs = order.into_iter().map(|key| {
        let messages = by_lane.remove(&key).unwrap_or_default();
        lane(lanes, queues, key, messages, start_by)
    });
    let mut failures = Vec::new();
    let mut outcomes = Vec::new();
    let mut metrics = BatchMetrics::default();
    for (failed, decided, measured) in futures_util::future::join_all(runs).await {
        failures.extend(failed);
        outcomes.extend(decided);
        metrics.merge(measured);
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
    BatchReport {
        response,
        outcomes,
        metrics,
    }
}

/// The events queue's and the deferral queue's `maxReceiveCount` (template.yaml): a
/// message still failing on its last delivery is dead-lettered by the handler, with its
/// reason.
pub const MAX_RECEIVES: u32 = 5;

/// How many deliveries a failing event gets in all, counting those carried by its
/// deferrals: on the last, still failing, it is dead-lettered with its reason. With
/// [`retry_delay`]'s backoff, about half an hour of failures.
pub const MAX_DELIVERIES: u32 = 7;

/// How soon a message that failed for the first time is decided again, from the deferral
/// queue; each later failure doubles it ([`retry_delay`]).
pub const RETRY_DELAY: Duration = Duration::from_secs(30);

/// SQS's longest per-message delay.
const LONGEST_DELAY: Duration = Duration::from_secs(900);

/// How long an event whose `deliveries`-th delivery failed waits on the deferral queue:
/// [`RETRY_DELAY`], doubled at each failure after the first, at most SQS's 900 s.
pub fn retry_delay(deliveries: u32) -> Duration {
    let doublings = deliveries.saturating_sub(1).min(16);
    RETRY_DELAY
        .saturating_mul(1 << doublings)
        .min(LONGEST_DELAY)
}

/// One message of a batch, parsed, with its lane's verdict.
struct Message {
    id: String,
    fifo: bool,
    /// How many times the queue has delivered it (this delivery included).
    receives: u32,
    /// How many deliveries failed before it came to this queue (carried by the handler
    /// that deferred it, [`FAILED_DELIVERIES`]).
    failed_before: u32,
    /// When it was sent to the queue (SQS's `SentTimestamp`).
    sent: Option<chrono::DateTime<chrono::Utc>>,
    body: String,
    parsed: Result<Event, ParseError>,
    /// Central mode: why the event names no usable account.
    unrouted: Option<Unrouted>,
}

impl Message {
    /// Its deliveries so far, this one included: those its deferrals carry and its
    /// queue's.
    fn deliveries(&self) -> u32 {
        self.failed_before.saturating_add(self.receives)
    }

    /// Whether this delivery is its last: a failure now dead-letters it, with the reason
    /// (the queue's redrive policy would, without one, on its next).
    fn is_last(&self) -> bool {
        self.receives >= MAX_RECEIVES || self.deliveries() >= MAX_DELIVERIES
    }
}

/// A dead-lettering's result: the message settled (`true`), or failed for a retry.
fn dead_lettered(sent: Result<(), warden_core::ports::PortError>) -> bool {
    sent.inspect_err(|e| error!(error = %e, "could not dead-letter the message: will retry"))
        .is_ok()
}

/// One lane's messages, in order: the failed messages' ids and the outcomes.
async fn lane<L, Q>(
    lanes: &L,
    queues: &Q,
    key: String,
    messages: Vec<Message>,
    start_by: Option<SystemTime>,
) -> (Vec<String>, Vec<Outcome>, BatchMetrics)
where
    L: Lanes,
    Q: DeadLetters + Deferrals,
{
    let dead_letters = queues;
    let routed = messages
        .iter()
        .any(|m| m.parsed.is_ok() && m.unrouted.is_none());
    // The lane's revoker, opened (central mode: its member role assumed) only when one
    // of its events can be decided there.
    let held = if routed {
        Some(lanes.revoker(&key).await)
    } else {
        None
    };
    let mut batch = match &held {
        Some(Ok(revoker)) => Some(revoker.batch()),
        _ => None,
    };
    let mut failures: Vec<String> = Vec::new();
    let mut outcomes = Vec::new();
    let mut metrics = BatchMetrics::default();
    let mut stopped = false;
    // The lane's denies first, in order, before any message is carried out in full
    // (records, notices, tags, containment): the last revocation of a batch does not
    // wait for everything done because of the ones before it. Whatever stops it (an
    // event that could change a later decision, a failure, the deadline) is met again
    // below, in order. Boxed, as each message's work is: their futures nest deep, and
    // Lambda polls them on one stack.
    if let Some(batch) = batch.as_mut() {
        let events = messages
            .iter()
            .filter(|m| m.unrouted.is_none())
            .filter_map(|m| m.parsed.as_ref().ok());
        Box::pin(batch.deny_ahead(events, start_by)).await;
    }

    for message in messages {
        let message_id = message.id.clone();
        if stopped && message.fifo {
            // Later messages of a FIFO group must not overtake the failed one.
            failures.push(message_id);
            continue;
        }
        if start_by.is_some_and(|t| SystemTime::now() >= t) {
            // Too close to the invocation's deadline to start it: back from the deferral
            // queue (not after the visibility timeout), at once the first time, then
            // with the backoff of a failure. A delivery not carried out counts as a
            // failed one: when every invocation reaches its deadline first (answers
            // that hang), the message is dead-lettered with its reason, never deferred
            // for ever.
            let deliveries = message.deliveries();
            if message.is_last() {
                let why = format!(
                    "not carried out after {deliveries} deliveries: each invocation reached its deadline before it"
                );
                error!(message_id = %message_id, reason = %why, "dead-lettering it now");
                let sent = match (&held, &message.parsed) {
                    (Some(Ok(revoker)), Ok(event)) => {
                        give_up(revoker, queues, event, &message.body, &message_id, &why).await
                    }
                    _ => dead_letters.send(&message.body, &why, &message_id).await,
                };
                if dead_lettered(sent) {
                    continue;
                }
            } else {
                let delay = match deliveries {
                    0 | 1 => Duration::ZERO,
                    n => retry_delay(n - 1),
                };
                match queues.defer(&message.body, delay, deliveries).await {
                    Ok(()) => {
                        warn!(message_id = %message_id, deliveries, delay_seconds = delay.as_secs(), "not started before the invocation's deadline: deferred");
                        continue;
                    }
                    Err(e) => {
                        error!(message_id = %message_id, error = %e, "not started before the deadline and not deferred: will retry")
                    }
                }
            }
            stopped |= message.fifo;
            failures.push(message_id);
            continue;
        }
        let span = info_span!("message", message_id = %message_id, account = %key, event_id = tracing::field::Empty);
        let body = message.body.as_str();
        let ok = async {
            let event = match &message.parsed {
                Err(reason) => {
                    warn!(%reason, "malformed message: sending it to the dead-letter queue");
                    return dead_lettered(
                        dead_letters.send(body, &reason.to_string(), &message_id).await,
                    );
                }
                Ok(event) => event,
            };
            if let Some(id) = event.event_id() {
                tracing::Span::current().record("event_id", id);
            }
            if let Some(unrouted) = &message.unrouted {
                let why = unrouted.to_string();
                warn!(reason = %why, "no account to decide the event in: reported, nothing changed");
                return reported(lanes, event, None, &why, &mut outcomes).await;
            }
            let (Some(Ok(revoker)), Some(batch)) = (&held, batch.as_mut()) else {
                return match &held {
                    Some(Err(Blocked::Report(why))) => {
                        warn!(reason = %why, "account not onboarded: reported, nothing changed");
                        let why = format!("account {key} not onboarded: {why}");
                        reported(lanes, event, Some(&key), &why, &mut outcomes).await
                    }
                    Some(Err(Blocked::DeadLetter(why))) => {
                        error!(reason = %why, "the account cannot be decided in: dead-lettering the event");
                        let why = format!("account {key} unusable: {why}");
                        let _ = lanes.report(event, Some(&key), &why).await;
                        dead_lettered(dead_letters.send(body, &why, &message_id).await)
                    }
                    // As a failed delivery: deferred with backoff, dead-lettered (and
                    // reported) on the last.
                    Some(Err(Blocked::Retry(why))) => {
                        let deliveries = message.deliveries();
                        if message.is_last() {
                            let why = format!("account {key} still unreachable after {deliveries} deliveries: {why}");
                            error!(reason = %why, "dead-lettering it now");
                            let _ = lanes.report(event, Some(&key), &why).await;
                            return dead_lettered(dead_letters.send(body, &why, &message_id).await);
                        }
                        let delay = retry_delay(deliveries);
                        match queues.defer(body, delay, deliveries).await {
                            Ok(()) => {
                                warn!(reason = %why, deliveries, delay_seconds = delay.as_secs(), "the account cannot be reached now: deferred");
                                true
                            }
                            Err(e) => {
                                error!(reason = %why, error = %e, "the account cannot be reached now and the event not deferred: will retry");
                                false
                            }
                        }
                    }
                    _ => false,
                };
            };
            let event_time = event.record().and_then(|r| r.event_time.as_deref());
            // Boxed: its futures nest deep, and Lambda polls them on one stack.
            match Box::pin(batch.process(event, false)).await {
                // Deferred, or decided with a follow-up that waits (a revoked
                // session's source not in CloudTrail yet).
                Ok(outcome)
                    if outcome.decision == Decision::Deferred
                        || outcome.defer_seconds.is_some() =>
                {
                    let delay = Duration::from_secs(outcome.defer_seconds.unwrap_or(0));
                    // Decided: this delivery did not fail (earlier ones failed back to
                    // this queue did).
                    let failed = message
                        .failed_before
                        .saturating_add(message.receives.saturating_sub(1));
                    match queues.defer(body, delay, failed).await {
                        Ok(()) => {
                            info!(principal = %outcome.principal, delay_seconds = delay.as_secs(), reason = %outcome.reason, "deferred");
                            metrics.decided(&outcome, event_time, message.sent, chrono::Utc::now());
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
                    metrics.decided(&outcome, event_time, message.sent, chrono::Utc::now());
                    outcomes.push(outcome);
                    true
                }
                // Still failing after the SDK's own retries (six attempts, bounded backoff).
                Err(e) if e.is_transient() => {
                    let deliveries = message.deliveries();
                    if message.is_last() {
                        // Now, with its reason, notified once.
                        let why = format!("still failing after {deliveries} deliveries: {e}");
                        error!(reason = %why, "dead-lettering it now");
                        return dead_lettered(
                            give_up(revoker, queues, event, body, &message_id, &why).await,
                        );
                    }
                    // Failed back to its queue, it would wait out the visibility timeout (6
                    // minutes), and on the FIFO queue hold its whole group meanwhile: to
                    // the deferral queue instead, back in retry_delay (30 s, doubled at
                    // each failure), its failed deliveries carried with it. A FIFO group's
                    // later events are decided meanwhile, each on its own facts (a grant
                    // that arrives later is looked up in CloudTrail, as when CloudTrail
                    // delivers out of order).
                    let delay = retry_delay(deliveries);
                    match queues.defer(body, delay, deliveries).await {
                        Ok(()) => {
                            warn!(error = %e, deliveries, delay_seconds = delay.as_secs(), "not decided: deferred, the queue goes on");
                            true
                        }
                        Err(d) => {
                            error!(error = %e, deferral = %d, "not decided and not deferred: will retry");
                            false
                        }
                    }
                }
                // Retrying cannot help: to the dead-letter queue at once, with the
                // reason, notified once; the batch goes on.
                Err(e) => {
                    error!(error = %e, "cannot be processed: dead-lettering it now");
                    dead_lettered(
                        give_up(revoker, queues, event, body, &message_id, &e.to_string()).await,
                    )
                }
            }
        }
        .instrument(span)
        .await;
        if !ok {
            stopped |= message.fifo;
            failures.push(message_id);
        }
    }
    (failures, outcomes, metrics)
}

/// An event no account can decide: told once per account and window, acknowledged, an
/// `alerted` outcome; retried only when the notice could not be sent.
async fn reported<L: Lanes>(
    lanes: &L,
    event: &Event,
    account: Option<&str>,
    why: &str,
    outcomes: &mut Vec<Outcome>,
) -> bool {
    match lanes.report(event, account, why).await {
        Ok(_) => {
            outcomes.push(Outcome {
                event_id: event.event_id().map(str::to_owned),
                event_name: event.event_name().map(str::to_owned),
                principal: event
                    .record()
                    .map(|r| Principal::classify(r).display())
                    .unwrap_or_else(|| "unknown".to_owned()),
                decision: Decision::Alerted,
                reason: why.to_owned(),
                actions: Vec::new(),
                defer_seconds: None,
            });
            true
        }
        Err(e) => {
            error!(error = %e, "could not report the event: will retry");
            false
        }
    }
}

/// A message that failed for good: notified once (the ledger remembers it), then
/// dead-lettered with the reason.
async fn give_up<P, Q>(
    revoker: &Revoker<P>,
    queues: &Q,
    event: &Event,
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
