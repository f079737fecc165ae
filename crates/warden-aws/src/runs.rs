//! Fanned-out pruning runs: their record in the ledger table (items `run#<id>` and
//! `run#<id>#<chunk>`, expiring after [`RUN_TTL_DAYS`]); their chunks travel on the work
//! queue (queue.rs).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use warden_core::ports::{PortError, Runs};
use warden_core::prune::Outcome;

use crate::error::{bad, classify, is_conditional_failure};
use crate::ledger::{batch_get, s, KEY};
use crate::AwsAccount;

/// Run records are kept this long (DynamoDB TTL on `expires_at`).
pub const RUN_TTL_DAYS: i64 = 30;
/// Services listed per principal in a stored outcome (the digest's "denied now").
const LISTED_MAX: usize = 50;
fn run_key(run_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(KEY.to_owned(), s(format!("run#{run_id}")))])
}

fn chunk_key(run_id: &str, chunk: usize) -> HashMap<String, AttributeValue> {
    HashMap::from([(KEY.to_owned(), s(format!("run#{run_id}#{chunk}")))])
}

fn expires_at() -> AttributeValue {
    AttributeValue::N((chrono::Utc::now().timestamp() + RUN_TTL_DAYS * 86_400).to_string())
}

impl AwsAccount {
    /// The run's record (consistent read); empty when there is none.
    async fn run_record(&self, run_id: &str) -> Result<HashMap<String, AttributeValue>, PortError> {
        let (ddb, table) = self.ledger()?;
        Ok(ddb
            .get_item()
            .table_name(table)
            .set_key(Some(run_key(run_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?
            .item
            .unwrap_or_default())
    }
}

impl Runs for AwsAccount {
    async fn start_run(&self, run_id: &str, chunks: usize) -> Result<bool, PortError> {
        let (ddb, table) = self.ledger()?;
        let result = ddb
            .update_item()
            .table_name(table)
            .set_key(Some(run_key(run_id)))
            .update_expression(
                "SET chunks = :n, started_at = :t, expires_at = :e REMOVE done_chunks, digest",
            )
            .condition_expression("attribute_not_exists(queued)")
            .expression_attribute_values(":n", AttributeValue::N(chunks.to_string()))
            .expression_attribute_values(":t", s(chrono::Utc::now().to_rfc3339()))
            .expression_attribute_values(":e", expires_at())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(classify("UpdateItem", e)),
        }
    }

    async fn run_queued(&self, run_id: &str) -> Result<bool, PortError> {
        Ok(self.run_record(run_id).await?.contains_key("queued"))
    }

    async fn mark_queued(&self, run_id: &str) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.update_item()
            .table_name(table)
            .set_key(Some(run_key(run_id)))
            .update_expression("SET queued = :t")
            .expression_attribute_values(":t", s(chrono::Utc::now().to_rfc3339()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdateItem", e))
    }

    async fn finish_chunk(
        &self,
        run_id: &str,
        chunk: usize,
        outcomes: &[Outcome],
    ) -> Result<bool, PortError> {
        let (ddb, table) = self.ledger()?;
        // Keep the stored copy small: lists only where the digest shows them.
        let stored: Vec<Outcome> = outcomes
            .iter()
            .cloned()
            .map(|mut o| {
                if !o.decision.writes() {
                    o.denied_services.clear();
                    o.policy_arns.clear();
                }
                o.denied_services.truncate(LISTED_MAX);
                o
            })
            .collect();
        let json = serde_json::to_string(&stored).map_err(|e| bad("PutItem", e.to_string()))?;
        let mut item = chunk_key(run_id, chunk);
        item.insert("outcomes".into(), s(json));
        item.insert("expires_at".into(), expires_at());
        ddb.put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify("PutItem", e))?;

        let run = ddb
            .update_item()
            .table_name(table)
            .set_key(Some(run_key(run_id)))
            .update_expression("ADD done_chunks :c")
            .expression_attribute_values(":c", AttributeValue::Ns(vec![chunk.to_string()]))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| classify("UpdateItem", e))?
            .attributes
            .unwrap_or_default();
        let chunks: usize = match run.get("chunks") {
            Some(AttributeValue::N(n)) => n.parse().unwrap_or(usize::MAX),
            _ => {
                return Err(bad(
                    "UpdateItem",
                    format!("run `{run_id}` has no chunk count"),
                ))
            }
        };
        let done = match run.get("done_chunks") {
            Some(AttributeValue::Ns(set)) => set.len(),
            _ => 0,
        };
        tracing::info!(run_id, done, chunks, "pruning progress");
        if done < chunks || run.contains_key("digest") {
            return Ok(false);
        }
        let claim = ddb
            .update_item()
            .table_name(table)
            .set_key(Some(run_key(run_id)))
            .update_expression("SET digest = :claimed")
            .condition_expression("attribute_not_exists(digest)")
            .expression_attribute_values(":claimed", s("claimed"))
            .send()
            .await;
        match claim {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(classify("UpdateItem", e)),
        }
    }

    async fn run_outcomes(&self, run_id: &str) -> Result<Vec<Outcome>, PortError> {
        let (ddb, table) = self.ledger()?;
        let run = self.run_record(run_id).await?;
        let chunks: usize = match run.get("chunks") {
            Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
            _ => 0,
        };
        let keys = (0..chunks).map(|c| chunk_key(run_id, c)).collect();
        let mut out = Vec::new();
        for item in batch_get(ddb, table, keys).await? {
            if let Some(AttributeValue::S(json)) = item.get("outcomes") {
                let outcomes: Vec<Outcome> = serde_json::from_str(json)
                    .map_err(|e| bad("BatchGetItem", format!("run `{run_id}`: {e}")))?;
                out.extend(outcomes);
            }
        }
        out.sort_by(|a, b| a.principal.cmp(&b.principal));
        Ok(out)
    }

    async fn settle_digest(&self, run_id: &str, sent: bool) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        let request = ddb
            .update_item()
            .table_name(table)
            .set_key(Some(run_key(run_id)));
        let request = if sent {
            request
                .update_expression("SET digest = :sent")
                .expression_attribute_values(":sent", s("sent"))
        } else {
            request.update_expression("REMOVE digest")
        };
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdateItem", e))
    }
}
