//! The trust ledger in the DynamoDB ledger table (the action records are `records.rs`').
//!
//! Item (partition key `principal`, shared with the pruner's entries): `trust#<account>`:
//! `entries`, a map from `admin:user/alice` to the entry as JSON, and `listed#<arn>`, the
//! unique id each EXEMPT_PRINCIPALS ARN was first resolved to, and `admin_group_id`, the
//! admin group's.
//!
//! The account is part of every key, so one table can serve every account of an
//! organization (central mode).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use warden_core::ports::{PortError, TrustLedger};
use warden_core::trust::{LedgerChange, TrustEntry, TrustSet};

use crate::error::{bad, classify, is_conditional_failure};
use crate::ledger::{s, KEY};
use crate::AwsAccount;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The prefix of the trust item's attributes that record EXEMPT_PRINCIPALS' unique ids
/// (`listed#<arn>`).
const LISTED: &str = "listed#";

/// The trust item's attribute that records the admin group's unique id.
const ADMIN_GROUP_ID: &str = "admin_group_id";

/// The trust item's attribute that records when the sessions baseline was taken.
const SESSIONS_BASELINE: &str = "sessions_baseline_at";

/// The trust item's attribute that records when the tool first set out to stop sessions.
const SESSIONS_STARTED: &str = "sessions_started_at";

fn trust_key(account: &str) -> String {
    format!("trust#{account}")
}

pub(crate) fn json_map<T: serde::de::DeserializeOwned>(
    item: &Item,
    attribute: &str,
    operation: &'static str,
) -> Result<Vec<(String, T)>, PortError> {
    match item.get(attribute) {
        None => Ok(Vec::new()),
        Some(AttributeValue::M(m)) => m
            .iter()
            .map(|(k, v)| match v {
                AttributeValue::S(text) => serde_json::from_str(text)
                    .map(|value| (k.clone(), value))
                    .map_err(|e| bad(operation, format!("ledger `{attribute}.{k}`: {e}"))),
                _ => Err(bad(
                    operation,
                    format!("ledger `{attribute}.{k}` is not a string"),
                )),
            })
            .collect(),
        Some(_) => Err(bad(operation, format!("ledger `{attribute}` is not a map"))),
    }
}

pub(crate) fn to_json<T: serde::Serialize>(
    value: &T,
    operation: &'static str,
) -> Result<AttributeValue, PortError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| bad(operation, e.to_string()))
}

impl AwsAccount {
    pub(crate) async fn get_item(
        &self,
        key: String,
        operation: &'static str,
    ) -> Result<Option<Item>, PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.get_item()
            .table_name(table)
            .key(KEY, s(key))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| classify(operation, e))
    }
}

impl TrustLedger for AwsAccount {
    async fn trust_set(&self, account: &str) -> Result<Option<TrustSet>, PortError> {
        let Some(item) = self.get_item(trust_key(account), "GetItem").await? else {
            return Ok(None);
        };
        let listed = item
            .iter()
            .filter_map(|(name, value)| {
                let arn = name.strip_prefix(LISTED)?;
                match value {
                    AttributeValue::S(id) => Some((arn.to_owned(), id.clone())),
                    _ => None,
                }
            })
            .collect();
        let admin_group_id = match item.get(ADMIN_GROUP_ID) {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        };
        let sessions_baseline = match item.get(SESSIONS_BASELINE) {
            Some(AttributeValue::S(at)) => Some(at.clone()),
            _ => None,
        };
        let sessions_started = match item.get(SESSIONS_STARTED) {
            Some(AttributeValue::S(at)) => Some(at.clone()),
            _ => None,
        };
        Ok(Some(TrustSet {
            sessions_baseline,
            sessions_started,
            account: account.to_owned(),
            entries: json_map::<TrustEntry>(&item, "entries", "GetItem")?
                .into_iter()
                .collect(),
            listed,
            admin_group_id,
        }))
    }

    async fn put_baseline(&self, set: &TrustSet) -> Result<bool, PortError> {
        let (ddb, table) = self.ledger()?;
        let entries = set
            .entries
            .iter()
            .map(|(k, e)| Ok((k.clone(), to_json(e, "PutItem")?)))
            .collect::<Result<HashMap<_, _>, PortError>>()?;
        let mut put = ddb
            .put_item()
            .table_name(table)
            .item(KEY, s(trust_key(&set.account)))
            .item("account", s(set.account.clone()))
            .item("entries", AttributeValue::M(entries))
            .item("baseline_at", s(Utc::now().to_rfc3339()));
        // The admin group, when the baseline names it (renamed away in flight).
        if let Some(id) = &set.admin_group_id {
            put = put.item(ADMIN_GROUP_ID, s(id.clone()));
        }
        let result = put
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(classify("PutItem", e)),
        }
    }

    async fn change_trust(&self, account: &str, changes: &[LedgerChange]) -> Result<(), PortError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (ddb, table) = self.ledger()?;
        let mut request = ddb
            .update_item()
            .table_name(table)
            .key(KEY, s(trust_key(account)))
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", KEY);
        // DynamoDB refuses a name the expression does not use.
        if changes
            .iter()
            .any(|c| matches!(c, LedgerChange::Put(_) | LedgerChange::Remove(_)))
        {
            request = request.expression_attribute_names("#e", "entries");
        }
        let (mut sets, mut removes) = (Vec::new(), Vec::new());
        for (n, change) in changes.iter().enumerate() {
            match change {
                LedgerChange::Put(entry) => {
                    request = request
                        .expression_attribute_names(format!("#n{n}"), entry.key())
                        .expression_attribute_values(
                            format!(":v{n}"),
                            to_json(entry, "UpdateItem")?,
                        );
                    sets.push(format!("#e.#n{n} = :v{n}"));
                }
                LedgerChange::Remove(key) => {
                    request = request.expression_attribute_names(format!("#n{n}"), key.clone());
                    removes.push(format!("#e.#n{n}"));
                }
                // One attribute per listed ARN: the first id recorded stands.
                LedgerChange::List { arn, unique_id } => {
                    request = request
                        .expression_attribute_names(format!("#n{n}"), format!("{LISTED}{arn}"))
                        .expression_attribute_values(format!(":v{n}"), s(unique_id.clone()));
                    sets.push(format!("#n{n} = if_not_exists(#n{n}, :v{n})"));
                }
                LedgerChange::Unlist(arn) => {
                    request = request
                        .expression_attribute_names(format!("#n{n}"), format!("{LISTED}{arn}"));
                    removes.push(format!("#n{n}"));
                }
                // The first id recorded stands.
                LedgerChange::AdminGroup(id) => {
                    request = request
                        .expression_attribute_names(format!("#n{n}"), ADMIN_GROUP_ID)
                        .expression_attribute_values(format!(":v{n}"), s(id.clone()));
                    sets.push(format!("#n{n} = if_not_exists(#n{n}, :v{n})"));
                }
                LedgerChange::SessionsBaseline(at) => {
                    request = request
                        .expression_attribute_names(format!("#n{n}"), SESSIONS_BASELINE)
                        .expression_attribute_values(format!(":v{n}"), s(at.clone()));
                    sets.push(format!("#n{n} = if_not_exists(#n{n}, :v{n})"));
                }
                LedgerChange::SessionsStarted(at) => {
                    request = request
                        .expression_attribute_names(format!("#n{n}"), SESSIONS_STARTED)
                        .expression_attribute_values(format!(":v{n}"), s(at.clone()));
                    sets.push(format!("#n{n} = if_not_exists(#n{n}, :v{n})"));
                }
            }
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match request.update_expression(expression.trim()).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(bad(
                "UpdateItem",
                format!("no trust baseline for account {account} in the ledger: run `warden init`"),
            )),
            Err(e) => Err(classify("UpdateItem", e)),
        }
    }
}
