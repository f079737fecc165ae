//! The trust ledger and the action records in the DynamoDB ledger table.
//!
//! Items (partition key `principal`, shared with the pruner's entries):
//! - `trust#<account>`: `entries`, a map from `admin:user/alice` to the entry as JSON, and
//!   `listed#<arn>`, the unique id each EXEMPT_PRINCIPALS ARN was first resolved to;
//! - `actions#<account>#<kind>/<name>`: `actions`, a map from `<event id>#<n>` to the
//!   record as JSON, and `notified`, the set of event ids whose notice went out.
//!
//! The account is part of every key, so one table can serve every account of an
//! organization (central mode).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::Utc;
use warden_core::action::{ActionRecord, CallerRecord};
use warden_core::ports::{ActionRecords, PortError, TrustLedger};
use warden_core::trust::{LedgerChange, TrustEntry, TrustSet};

use crate::error::{bad, classify, is_conditional_failure};
use crate::ledger::{s, KEY};
use crate::AwsAccount;

type Item = HashMap<String, AttributeValue>;

/// The prefix of the trust item's attributes that record EXEMPT_PRINCIPALS' unique ids
/// (`listed#<arn>`).
const LISTED: &str = "listed#";

fn trust_key(account: &str) -> String {
    format!("trust#{account}")
}

fn actions_key(account: &str, caller: &str) -> String {
    format!("actions#{account}#{caller}")
}

fn json_map<T: serde::de::DeserializeOwned>(
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

fn to_json<T: serde::Serialize>(
    value: &T,
    operation: &'static str,
) -> Result<AttributeValue, PortError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| bad(operation, e.to_string()))
}

fn caller_record(caller: &str, item: &Item) -> Result<CallerRecord, PortError> {
    let notified = match item.get("notified") {
        Some(AttributeValue::Ss(set)) => set.iter().cloned().collect(),
        _ => Default::default(),
    };
    Ok(CallerRecord {
        caller: caller.to_owned(),
        actions: json_map::<ActionRecord>(item, "actions", "GetItem")?
            .into_iter()
            .collect(),
        notified,
    })
}

impl AwsAccount {
    async fn get_item(
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
        Ok(Some(TrustSet {
            account: account.to_owned(),
            entries: json_map::<TrustEntry>(&item, "entries", "GetItem")?
                .into_iter()
                .collect(),
            listed,
        }))
    }

    async fn put_baseline(&self, set: &TrustSet) -> Result<bool, PortError> {
        let (ddb, table) = self.ledger()?;
        let entries = set
            .entries
            .iter()
            .map(|(k, e)| Ok((k.clone(), to_json(e, "PutItem")?)))
            .collect::<Result<HashMap<_, _>, PortError>>()?;
        let result = ddb
            .put_item()
            .table_name(table)
            .item(KEY, s(trust_key(&set.account)))
            .item("account", s(set.account.clone()))
            .item("entries", AttributeValue::M(entries))
            .item("baseline_at", s(Utc::now().to_rfc3339()))
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

impl ActionRecords for AwsAccount {
    async fn record_actions(
        &self,
        account: &str,
        caller: &str,
        actions: &[(String, ActionRecord)],
    ) -> Result<CallerRecord, PortError> {
        let (ddb, table) = self.ledger()?;
        let key = actions_key(account, caller);
        let values = actions
            .iter()
            .map(|(k, a)| Ok((k.clone(), to_json(a, "UpdateItem")?)))
            .collect::<Result<Vec<_>, PortError>>()?;
        // Twice at most: the first record of a caller creates its item.
        for _ in 0..2 {
            let mut request = ddb
                .update_item()
                .table_name(table)
                .key(KEY, s(key.clone()))
                .condition_expression("attribute_exists(#a)")
                .expression_attribute_names("#a", "actions")
                .return_values(ReturnValue::AllNew);
            let mut sets = vec!["#c = :c".to_owned()];
            request = request
                .expression_attribute_names("#c", "caller")
                .expression_attribute_values(":c", s(caller));
            for (n, (k, v)) in values.iter().enumerate() {
                request = request
                    .expression_attribute_names(format!("#n{n}"), k.clone())
                    .expression_attribute_values(format!(":v{n}"), v.clone());
                // Recorded once: a retried message keeps the first record (and its state).
                sets.push(format!("#a.#n{n} = if_not_exists(#a.#n{n}, :v{n})"));
            }
            match request
                .update_expression(format!("SET {}", sets.join(", ")))
                .send()
                .await
            {
                Ok(out) => return caller_record(caller, &out.attributes.unwrap_or_default()),
                Err(e) if is_conditional_failure(&e) => {}
                Err(e) => return Err(classify("UpdateItem", e)),
            }
            // No item yet, or one without actions (a notice marked before any action):
            // the actions map is created, unless another attempt created it meanwhile.
            let created = ddb
                .update_item()
                .table_name(table)
                .key(KEY, s(key.clone()))
                .update_expression("SET #a = :m, #c = :c, #acc = :acc")
                .condition_expression("attribute_not_exists(#a)")
                .expression_attribute_names("#a", "actions")
                .expression_attribute_names("#c", "caller")
                .expression_attribute_names("#acc", "account")
                .expression_attribute_values(
                    ":m",
                    AttributeValue::M(values.iter().cloned().collect()),
                )
                .expression_attribute_values(":c", s(caller))
                .expression_attribute_values(":acc", s(account))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match created {
                Ok(out) => return caller_record(caller, &out.attributes.unwrap_or_default()),
                // Created by another attempt in between: record into it.
                Err(e) if is_conditional_failure(&e) => {}
                Err(e) => return Err(classify("UpdateItem", e)),
            }
        }
        Err(PortError::Transient {
            operation: "UpdateItem",
            message: format!("the record of {caller} changed under every attempt"),
        })
    }

    async fn set_action(
        &self,
        account: &str,
        caller: &str,
        key: &str,
        record: &ActionRecord,
    ) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.update_item()
            .table_name(table)
            .key(KEY, s(actions_key(account, caller)))
            .update_expression("SET #a.#n = :v")
            .expression_attribute_names("#a", "actions")
            .expression_attribute_names("#n", key)
            .expression_attribute_values(":v", to_json(record, "UpdateItem")?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdateItem", e))
    }

    async fn mark_notified(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.update_item()
            .table_name(table)
            .key(KEY, s(actions_key(account, caller)))
            .update_expression("ADD #s :e")
            .expression_attribute_names("#s", "notified")
            .expression_attribute_values(":e", AttributeValue::Ss(vec![event_id.to_owned()]))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdateItem", e))
    }

    async fn caller_record(
        &self,
        account: &str,
        caller: &str,
    ) -> Result<Option<CallerRecord>, PortError> {
        match self
            .get_item(actions_key(account, caller), "GetItem")
            .await?
        {
            Some(item) => caller_record(caller, &item).map(Some),
            None => Ok(None),
        }
    }

    /// A scan of the account's `actions#` items: `warden restore` only, never the
    /// revoker's hot path.
    async fn caller_records(&self, account: &str) -> Result<Vec<CallerRecord>, PortError> {
        let (ddb, table) = self.ledger()?;
        let prefix = actions_key(account, "");
        let mut pages = ddb
            .scan()
            .table_name(table)
            .filter_expression("begins_with(#k, :p)")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_values(":p", s(prefix.clone()))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut records = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("Scan", e))?;
            for item in page.items.unwrap_or_default() {
                let caller = match item.get(KEY) {
                    Some(AttributeValue::S(k)) => k.strip_prefix(&prefix).unwrap_or(k).to_owned(),
                    _ => continue,
                };
                records.push(caller_record(&caller, &item)?);
            }
        }
        Ok(records)
    }
}
