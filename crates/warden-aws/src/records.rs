//! The action records in the DynamoDB ledger table: one item per action and one per
//! notice sent, so that nothing a caller does grows an item toward DynamoDB's 400 KB
//! (issue 18, attack 14: 62 contained `PutRolePolicy` calls filled the single item a
//! caller had, and its next backdoor was never contained).
//!
//! Items (partition key `principal`, shared with the trust ledger and the pruner):
//! - `action#<account>#<kind>/<name>#<event id>#<n>`: `record`, the record as JSON;
//!   `caller_index` (`<account>#<kind>/<name>`) and `state_key` (`<state>#<key>`), the
//!   keys of the table's `by-caller` index, through which a caller's held or gone
//!   records are queried;
//! - `notice#<account>#<caller>#<event id>`: the notice of that event, `state` `sending`
//!   (claimed at `at` by the invocation sending it) or `sent`.
//!
//! Records of versions before this one (`actions#<account>#<caller>`, every action in
//! one item) are still read by `warden restore`, never written.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use warden_core::action::{ActionRecord, ActionState, CallerRecord};
use warden_core::ports::{ActionRecords, Claim, PortError};

use crate::error::{bad, classify, is_conditional_failure};
use crate::ledger::{s, BY_CALLER, CALLER_INDEX, KEY, STATE_KEY};
use crate::trust::{json_map, to_json, Item};
use crate::AwsAccount;

/// A notice item's state: claimed by an invocation that is sending it, or sent.
const STATE: &str = "state";
const SENDING: &str = "sending";
const SENT: &str = "sent";

fn caller_index(account: &str, caller: &str) -> String {
    format!("{account}#{caller}")
}

fn action_key(account: &str, caller: &str, key: &str) -> String {
    format!("action#{account}#{caller}#{key}")
}

fn notice_key(account: &str, caller: &str, event_id: &str) -> String {
    format!("notice#{account}#{caller}#{event_id}")
}

/// A time as the notice items keep it: RFC 3339 in UTC to the millisecond, so that two
/// compare as strings.
fn stamp(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A notice's item: `state` (`sending` or `sent`) since `at`.
fn notice_item(
    account: &str,
    caller: &str,
    event_id: &str,
    state: &str,
    at: chrono::DateTime<Utc>,
) -> Item {
    Item::from([
        (KEY.to_owned(), s(notice_key(account, caller, event_id))),
        ("account".to_owned(), s(account)),
        ("caller".to_owned(), s(caller)),
        (STATE.to_owned(), s(state)),
        ("at".to_owned(), s(stamp(at))),
    ])
}

/// The attribute of a notice's claim that names who holds it.
const CLAIM: &str = "claim";

/// A token no other claim has: 128 random bits from the operating system (or, were it
/// to fail, the process, the time and a counter).
fn claim_token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_ok() {
        return bytes.iter().map(|b| format!("{b:02x}")).collect();
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{}-{}-{n}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

fn legacy_key(account: &str, caller: &str) -> String {
    format!("actions#{account}#{caller}")
}

fn state_name(state: ActionState) -> Result<String, PortError> {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(bad(
            "UpdateItem",
            format!("no name for the state {state:?}"),
        )),
    }
}

fn state_key(record: &ActionRecord, key: &str) -> Result<String, PortError> {
    Ok(format!("{}#{key}", state_name(record.state)?))
}

/// A record's item: its key, `record`, and the index's keys.
fn action_item(
    account: &str,
    caller: &str,
    key: &str,
    record: &ActionRecord,
) -> Result<Item, PortError> {
    Ok(Item::from([
        (KEY.to_owned(), s(action_key(account, caller, key))),
        ("account".to_owned(), s(account)),
        ("caller".to_owned(), s(caller)),
        ("key".to_owned(), s(key)),
        (CALLER_INDEX.to_owned(), s(caller_index(account, caller))),
        (STATE_KEY.to_owned(), s(state_key(record, key)?)),
        ("record".to_owned(), to_json(record, "PutItem")?),
    ]))
}

/// An action item's key and record.
fn from_action_item(item: &Item) -> Result<(String, String, ActionRecord), PortError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(bad("Query", format!("an action record without `{name}`"))),
    };
    let record = serde_json::from_str(&text("record")?)
        .map_err(|e| bad("Query", format!("an action record: {e}")))?;
    Ok((text("caller")?, text("key")?, record))
}

impl AwsAccount {
    /// What `warden restore` still reads from the versions that kept a caller's actions
    /// in one item.
    async fn legacy_actions(
        &self,
        account: &str,
        caller: &str,
    ) -> Result<BTreeMap<String, ActionRecord>, PortError> {
        Ok(
            match self
                .get_item(legacy_key(account, caller), "GetItem")
                .await?
            {
                Some(item) => json_map::<ActionRecord>(&item, "actions", "GetItem")?
                    .into_iter()
                    .collect(),
                None => BTreeMap::new(),
            },
        )
    }
}

impl ActionRecords for AwsAccount {
    async fn record_actions(
        &self,
        account: &str,
        caller: &str,
        actions: &[(String, ActionRecord)],
    ) -> Result<BTreeMap<String, ActionRecord>, PortError> {
        let (ddb, table) = self.ledger()?;
        let mut stored = BTreeMap::new();
        for (key, record) in actions {
            // Recorded once: a retried message keeps the first record (and its state).
            let put = ddb
                .put_item()
                .table_name(table)
                .set_item(Some(action_item(account, caller, key, record)?))
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", KEY)
                .send()
                .await;
            match put {
                Ok(_) => {
                    stored.insert(key.clone(), record.clone());
                }
                Err(e) if is_conditional_failure(&e) => {
                    let item = self
                        .get_item(action_key(account, caller, key), "GetItem")
                        .await?
                        .ok_or_else(|| PortError::Transient {
                            operation: "GetItem",
                            message: format!("the record {key} of {caller} vanished"),
                        })?;
                    let (_, _, record) = from_action_item(&item)?;
                    stored.insert(key.clone(), record);
                }
                Err(e) => return Err(classify("PutItem", e)),
            }
        }
        Ok(stored)
    }

    async fn set_action(
        &self,
        account: &str,
        caller: &str,
        key: &str,
        record: &ActionRecord,
    ) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.put_item()
            .table_name(table)
            .set_item(Some(action_item(account, caller, key, record)?))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutItem", e))
    }

    async fn notified(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<bool, PortError> {
        Ok(self
            .get_item(notice_key(account, caller, event_id), "GetItem")
            .await?
            .is_some_and(
                |item| !matches!(item.get(STATE), Some(AttributeValue::S(st)) if st == SENDING),
            ))
    }

    async fn mark_notified(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.put_item()
            .table_name(table)
            .set_item(Some(notice_item(
                account,
                caller,
                event_id,
                SENT,
                Utc::now(),
            )))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutItem", e))
    }

    /// A conditional put of the notice item as `sending`: it does not exist, or its
    /// claim is older than the lease (RFC 3339 times in UTC compare as strings).
    async fn claim_notice(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
        lease: std::time::Duration,
    ) -> Result<Claim, PortError> {
        let (ddb, table) = self.ledger()?;
        let now = Utc::now();
        let expired = now - chrono::TimeDelta::from_std(lease).unwrap_or_default();
        let key = notice_key(account, caller, event_id);
        // This claim's own token: when the put went through and its answer was lost (a
        // reset, an attempt timed out), the SDK's retry finds the claim already there and
        // the token tells that it is this one's, not another invocation's.
        let token = claim_token();
        let mut item = notice_item(account, caller, event_id, SENDING, now);
        item.insert(CLAIM.to_owned(), s(&token));
        let put = ddb
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#k) OR (#st = :sending AND #at < :expired)")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#st", STATE)
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":sending", s(SENDING))
            .expression_attribute_values(":expired", s(stamp(expired)))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Mine),
            Err(e) if is_conditional_failure(&e) => {
                let item = self.get_item(key, "GetItem").await?;
                let ours = item
                    .as_ref()
                    .and_then(|i| i.get(CLAIM))
                    .is_some_and(|t| matches!(t, AttributeValue::S(t) if *t == token));
                Ok(match item.as_ref().and_then(|i| i.get(STATE)) {
                    Some(AttributeValue::S(state)) if state == SENDING && ours => Claim::Mine,
                    Some(AttributeValue::S(state)) if state == SENDING => Claim::Held,
                    // Sent (or marked by a version without claims); gone since: ask again.
                    _ if item.is_some() => Claim::Sent,
                    _ => Claim::Held,
                })
            }
            Err(e) => Err(classify("PutItem", e)),
        }
    }

    async fn release_notice(
        &self,
        account: &str,
        caller: &str,
        event_id: &str,
    ) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        let result = ddb
            .delete_item()
            .table_name(table)
            .key(KEY, s(notice_key(account, caller, event_id)))
            .condition_expression("#st = :sending")
            .expression_attribute_names("#st", STATE)
            .expression_attribute_values(":sending", s(SENDING))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Sent after all, or not claimed: nothing to give up.
            Err(e) if is_conditional_failure(&e) => Ok(()),
            Err(e) => Err(classify("DeleteItem", e)),
        }
    }

    /// A query of the `by-caller` index (every page): the caller's records in one state,
    /// or all of them with those of earlier versions (`warden restore`).
    async fn caller_actions(
        &self,
        account: &str,
        caller: &str,
        state: Option<ActionState>,
    ) -> Result<BTreeMap<String, ActionRecord>, PortError> {
        let (ddb, table) = self.ledger()?;
        let mut query = ddb
            .query()
            .table_name(table)
            .index_name(BY_CALLER)
            .expression_attribute_names("#c", CALLER_INDEX)
            .expression_attribute_values(":c", s(caller_index(account, caller)));
        query = match state {
            Some(state) => query
                .key_condition_expression("#c = :c AND begins_with(#s, :s)")
                .expression_attribute_names("#s", STATE_KEY)
                .expression_attribute_values(":s", s(format!("{}#", state_name(state)?))),
            None => query.key_condition_expression("#c = :c"),
        };
        let mut found = match state {
            None => self.legacy_actions(account, caller).await?,
            Some(_) => BTreeMap::new(),
        };
        let mut pages = query.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("Query", e))?;
            for item in page.items.unwrap_or_default() {
                let (_, key, record) = from_action_item(&item)?;
                found.insert(key, record);
            }
        }
        Ok(found)
    }

    /// A scan of the account's action records (and those of earlier versions):
    /// `warden restore` only, never the revoker's hot path.
    async fn caller_records(&self, account: &str) -> Result<Vec<CallerRecord>, PortError> {
        let (ddb, table) = self.ledger()?;
        let (prefix, legacy) = (format!("action#{account}#"), legacy_key(account, ""));
        let mut pages = ddb
            .scan()
            .table_name(table)
            .filter_expression("begins_with(#k, :p) OR begins_with(#k, :l)")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_values(":p", s(prefix))
            .expression_attribute_values(":l", s(legacy.clone()))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut records: BTreeMap<String, CallerRecord> = BTreeMap::new();
        let mut newer = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("Scan", e))?;
            for item in page.items.unwrap_or_default() {
                match item.get(KEY) {
                    Some(AttributeValue::S(k)) if k.starts_with(&legacy) => {
                        let caller = k.trim_start_matches(&legacy).to_owned();
                        let record = records.entry(caller.clone()).or_default();
                        record.caller = caller;
                        for (key, action) in json_map::<ActionRecord>(&item, "actions", "Scan")? {
                            record.actions.entry(key).or_insert(action);
                        }
                    }
                    Some(AttributeValue::S(_)) => newer.push(from_action_item(&item)?),
                    _ => {}
                }
            }
        }
        // A record written since overrides what an earlier version kept.
        for (caller, key, action) in newer {
            let record = records.entry(caller.clone()).or_default();
            record.caller = caller;
            record.actions.insert(key, action);
        }
        Ok(records.into_values().collect())
    }
}
