//! The pruner's ledger in DynamoDB: one item per principal, keyed by its ARN.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    ScalarAttributeType, SseSpecification, TableStatus,
};
use chrono::{DateTime, Utc};
use warden_core::ports::{Ledger, PortError};
use warden_core::prune::{Change, LedgerEntry};

use crate::error::{bad, classify};
use crate::AwsAccount;

/// The partition key of the ledger table.
pub const KEY: &str = "principal";
/// BatchGetItem's limit.
const BATCH_MAX: usize = 100;
/// Rounds of `UnprocessedKeys` before the read is reported as transient.
const UNPROCESSED_ROUNDS: u32 = 8;

type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> AttributeValue {
    AttributeValue::L(items.into_iter().map(|v| s(v.clone())).collect())
}

fn dates(map: &BTreeMap<String, DateTime<Utc>>) -> AttributeValue {
    AttributeValue::M(
        map.iter()
            .map(|(k, v)| (k.clone(), s(v.to_rfc3339())))
            .collect(),
    )
}

pub(crate) fn to_item(e: &LedgerEntry) -> Item {
    let history = e
        .history
        .iter()
        .map(|c| {
            AttributeValue::M(HashMap::from([
                ("at".to_owned(), s(c.at.to_rfc3339())),
                ("action".to_owned(), s(c.action.clone())),
                ("services".to_owned(), strings(&c.services)),
                ("by".to_owned(), s(c.by.clone())),
            ]))
        })
        .collect();
    let mut item = HashMap::from([
        (KEY.to_owned(), s(e.principal.clone())),
        ("first_seen".to_owned(), dates(&e.first_seen)),
        ("denied".to_owned(), strings(&e.denied)),
        ("lifted".to_owned(), dates(&e.lifted)),
        ("policy_arns".to_owned(), strings(&e.policy_arns)),
        ("history".to_owned(), AttributeValue::L(history)),
        ("updated_at".to_owned(), s(Utc::now().to_rfc3339())),
    ]);
    if let Some(id) = &e.unique_id {
        item.insert("unique_id".to_owned(), s(id.clone()));
    }
    if !e.credentials_taken.is_empty() {
        item.insert("credentials_taken".to_owned(), dates(&e.credentials_taken));
    }
    if !e.credentials_lifted.is_empty() {
        item.insert(
            "credentials_lifted".to_owned(),
            dates(&e.credentials_lifted),
        );
    }
    item
}

fn get_s(item: &Item, key: &str) -> Result<String, PortError> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(bad(
            "BatchGetItem",
            format!("ledger item without string `{key}`"),
        )),
    }
}

fn get_list(item: &Item, key: &str) -> Result<Vec<String>, PortError> {
    match item.get(key) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(l)) => l
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.clone()),
                _ => Err(bad(
                    "BatchGetItem",
                    format!("ledger `{key}` holds a non-string"),
                )),
            })
            .collect(),
        Some(_) => Err(bad("BatchGetItem", format!("ledger `{key}` is not a list"))),
    }
}

fn parse_date(v: &str) -> Result<DateTime<Utc>, PortError> {
    DateTime::parse_from_rfc3339(v)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| bad("BatchGetItem", format!("ledger date `{v}`: {e}")))
}

fn get_dates(item: &Item, key: &str) -> Result<BTreeMap<String, DateTime<Utc>>, PortError> {
    match item.get(key) {
        None => Ok(BTreeMap::new()),
        Some(AttributeValue::M(m)) => m
            .iter()
            .map(|(k, v)| match v {
                AttributeValue::S(d) => Ok((k.clone(), parse_date(d)?)),
                _ => Err(bad(
                    "BatchGetItem",
                    format!("ledger `{key}.{k}` is not a date"),
                )),
            })
            .collect(),
        Some(_) => Err(bad("BatchGetItem", format!("ledger `{key}` is not a map"))),
    }
}

pub(crate) fn from_item(item: &Item) -> Result<LedgerEntry, PortError> {
    let history = match item.get("history") {
        Some(AttributeValue::L(l)) => l
            .iter()
            .map(|c| match c {
                AttributeValue::M(m) => Ok(Change {
                    at: parse_date(&get_s(m, "at")?)?,
                    action: get_s(m, "action")?,
                    services: get_list(m, "services")?,
                    by: get_s(m, "by")?,
                }),
                _ => Err(bad(
                    "BatchGetItem",
                    "ledger `history` holds a non-map".into(),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    Ok(LedgerEntry {
        principal: get_s(item, KEY)?,
        first_seen: get_dates(item, "first_seen")?,
        denied: get_list(item, "denied")?.into_iter().collect(),
        lifted: get_dates(item, "lifted")?,
        policy_arns: get_list(item, "policy_arns")?,
        history,
        unique_id: match item.get("unique_id") {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        },
        credentials_taken: get_dates(item, "credentials_taken")?,
        credentials_lifted: get_dates(item, "credentials_lifted")?,
    })
}

/// Reads `keys` with consistent BatchGetItem calls of 100, retrying unprocessed keys.
pub(crate) async fn batch_get(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<Vec<Item>, PortError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(BATCH_MAX) {
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| bad("BatchGetItem", e.to_string()))?,
        );
        let mut rounds = 0;
        while let Some(keys) = request.take() {
            rounds += 1;
            if rounds > UNPROCESSED_ROUNDS {
                return Err(PortError::Transient {
                    operation: "BatchGetItem",
                    message: "keys still unprocessed after retries".into(),
                });
            }
            if rounds > 1 {
                tokio::time::sleep(Duration::from_millis(50 << rounds.min(6))).await;
            }
            let res = ddb
                .batch_get_item()
                .request_items(table, keys)
                .send()
                .await
                .map_err(|e| classify("BatchGetItem", e))?;
            out.extend(
                res.responses
                    .unwrap_or_default()
                    .remove(table)
                    .unwrap_or_default(),
            );
            request = res
                .unprocessed_keys
                .unwrap_or_default()
                .remove(table)
                .filter(|k| !k.keys.is_empty());
        }
    }
    Ok(out)
}

impl AwsAccount {
    pub(crate) fn ledger(&self) -> Result<(&aws_sdk_dynamodb::Client, &str), PortError> {
        match (&self.dynamodb, &self.ledger_table) {
            (Some(c), Some(t)) => Ok((c, t)),
            _ => Err(bad("Ledger", "LEDGER_TABLE is not configured".into())),
        }
    }

    /// Creates the ledger table if it does not exist (on-demand, encrypted) and waits
    /// until it is active. Returns whether it was created.
    pub async fn ensure_ledger_table(&self) -> Result<bool, PortError> {
        let (ddb, table) = self.ledger()?;
        let status = match ddb.describe_table().table_name(table).send().await {
            Ok(out) => out.table.and_then(|t| t.table_status),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::describe_table::DescribeTableError::ResourceNotFoundException(_) => None,
                other => {
                    return Err(bad("DescribeTable", aws_sdk_dynamodb::error::DisplayErrorContext(other).to_string()))
                }
            },
        };
        let created = if status.is_none() {
            let key = KeySchemaElement::builder()
                .attribute_name(KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| bad("CreateTable", e.to_string()))?;
            ddb.create_table()
                .table_name(table)
                .attribute_definitions(string_attribute(KEY)?)
                .attribute_definitions(string_attribute(CALLER_INDEX)?)
                .attribute_definitions(string_attribute(STATE_KEY)?)
                .key_schema(key)
                .global_secondary_indexes(by_caller()?)
                .billing_mode(BillingMode::PayPerRequest)
                .sse_specification(SseSpecification::builder().enabled(true).build())
                .send()
                .await
                .map_err(|e| classify("CreateTable", e))?;
            // Run records expire; principals' entries carry no `expires_at`.
            let ttl = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .map_err(|e| bad("BatchGetItem", e.to_string()))?;
            if let Err(e) = ddb
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(ttl)
                .send()
                .await
            {
                tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "could not enable TTL on the ledger table");
            }
            true
        } else {
            false
        };
        for _ in 0..60 {
            let out = ddb
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| classify("DescribeTable", e))?;
            let Some(found) = out.table else {
                continue;
            };
            let indexed = found
                .global_secondary_indexes()
                .iter()
                .any(|i| i.index_name() == Some(BY_CALLER));
            if found.table_status == Some(TableStatus::Active) && !indexed {
                // A table made by an earlier version: its index of action records added.
                ddb.update_table()
                    .table_name(table)
                    .attribute_definitions(string_attribute(CALLER_INDEX)?)
                    .attribute_definitions(string_attribute(STATE_KEY)?)
                    .global_secondary_index_updates(
                        aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                            .create(
                                aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder(
                                )
                                .index_name(BY_CALLER)
                                .set_key_schema(Some(by_caller_keys()?))
                                .projection(all_attributes())
                                .build()
                                .map_err(|e| bad("UpdateTable", e.to_string()))?,
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| classify("UpdateTable", e))?;
                continue;
            }
            let index_active = found
                .global_secondary_indexes()
                .iter()
                .all(|i| i.index_status() == Some(&aws_sdk_dynamodb::types::IndexStatus::Active));
            if found.table_status == Some(TableStatus::Active) && index_active {
                return Ok(created);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(PortError::Transient {
            operation: "DescribeTable",
            message: format!("table `{table}` not ACTIVE after 60s"),
        })
    }
}

/// The ledger table's index of action records (`records.rs`) by caller and state.
pub(crate) const BY_CALLER: &str = "by-caller";
/// Its partition and sort keys.
pub(crate) const CALLER_INDEX: &str = "caller_index";
pub(crate) const STATE_KEY: &str = "state_key";

/// A string attribute of the table's keys or its index's.
fn string_attribute(name: &str) -> Result<AttributeDefinition, PortError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| bad("CreateTable", e.to_string()))
}

/// The keys of the `by-caller` index: a caller's action records, by state.
fn by_caller_keys() -> Result<Vec<KeySchemaElement>, PortError> {
    [(CALLER_INDEX, KeyType::Hash), (STATE_KEY, KeyType::Range)]
        .into_iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| bad("CreateTable", e.to_string()))
        })
        .collect()
}

fn all_attributes() -> aws_sdk_dynamodb::types::Projection {
    aws_sdk_dynamodb::types::Projection::builder()
        .projection_type(aws_sdk_dynamodb::types::ProjectionType::All)
        .build()
}

fn by_caller() -> Result<aws_sdk_dynamodb::types::GlobalSecondaryIndex, PortError> {
    aws_sdk_dynamodb::types::GlobalSecondaryIndex::builder()
        .index_name(BY_CALLER)
        .set_key_schema(Some(by_caller_keys()?))
        .projection(all_attributes())
        .build()
        .map_err(|e| bad("CreateTable", e.to_string()))
}

impl Ledger for AwsAccount {
    async fn load(
        &self,
        principals: &[String],
    ) -> Result<BTreeMap<String, LedgerEntry>, PortError> {
        let (ddb, table) = self.ledger()?;
        let unique: std::collections::BTreeSet<&String> = principals.iter().collect();
        let keys = unique
            .into_iter()
            .map(|p| HashMap::from([(KEY.to_owned(), s(p.clone()))]))
            .collect();
        let mut out = BTreeMap::new();
        for item in batch_get(ddb, table, keys).await? {
            let entry = from_item(&item)?;
            out.insert(entry.principal.clone(), entry);
        }
        Ok(out)
    }

    async fn save(&self, entry: &LedgerEntry) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.put_item()
            .table_name(table)
            .set_item(Some(to_item(entry)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutItem", e))
    }
}
