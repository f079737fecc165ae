//! Revocation records in the ledger table, and the tool's own managed policies: the
//! deny (verified before use, repaired when tampered with) and the boundaries.
//!
//! A record is the item `revocation#<account>#<unique id>`: `record` (JSON) and
//! `notified` (a boolean), so that marking the notice sent is one update.

use aws_sdk_dynamodb::types::AttributeValue;
use warden_core::ports::{PolicyCheck, PortError, Revocations, ToolPolicies};
use warden_core::revocation::RevocationRecord;

use crate::error::{bad, classify, is_conditional_failure};
use crate::ledger::{s, KEY};
use crate::AwsAccount;

/// Where the tool's policies live.
const TOOL_PATH: &str = "/iam-warden/";

fn key(account: &str, key: &str) -> String {
    format!("revocation#{account}#{key}")
}

/// The ledger item of a role's revoked sessions: `sessions#<account>#<role unique id>`,
/// their ids in the string set `ids` (added and removed atomically).
fn sessions_key(account: &str, role_id: &str) -> String {
    format!("sessions#{account}#{role_id}")
}

/// The ledger item of the boundary a principal had before the tool's:
/// `boundary#<account>#<key>`, its ARN in `previous_boundary` ("" for none).
fn boundary_key(account: &str, k: &str) -> String {
    format!("boundary#{account}#{k}")
}

fn from_item(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Result<RevocationRecord, PortError> {
    let Some(AttributeValue::S(text)) = item.get("record") else {
        return Err(bad("GetItem", "revocation item without `record`".into()));
    };
    let mut record: RevocationRecord = serde_json::from_str(text)
        .map_err(|e| bad("GetItem", format!("revocation record: {e}")))?;
    record.notified = matches!(item.get("notified"), Some(AttributeValue::Bool(true)));
    Ok(record)
}

impl Revocations for AwsAccount {
    async fn revocation(
        &self,
        account: &str,
        k: &str,
    ) -> Result<Option<RevocationRecord>, PortError> {
        let (ddb, table) = self.ledger()?;
        let out = ddb
            .get_item()
            .table_name(table)
            .key(KEY, s(key(account, k)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?;
        out.item.as_ref().map(from_item).transpose()
    }

    async fn record_revocation(
        &self,
        account: &str,
        k: &str,
        record: &RevocationRecord,
    ) -> Result<Option<RevocationRecord>, PortError> {
        let (ddb, table) = self.ledger()?;
        let text = serde_json::to_string(record).map_err(|e| bad("PutItem", e.to_string()))?;
        let result = ddb
            .put_item()
            .table_name(table)
            .item(KEY, s(key(account, k)))
            .item("record", AttributeValue::S(text))
            .item("notified", AttributeValue::Bool(record.notified))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) if is_conditional_failure(&e) => {
                // A retry, or a revocation not yet restored: the first record stands.
                self.revocation(account, k).await
            }
            Err(e) => Err(classify("PutItem", e)),
        }
    }

    async fn revocation_notified(&self, account: &str, k: &str) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.update_item()
            .table_name(table)
            .key(KEY, s(key(account, k)))
            .update_expression("SET notified = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdateItem", e))
    }

    async fn remove_revocation(&self, account: &str, k: &str) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        ddb.delete_item()
            .table_name(table)
            .key(KEY, s(key(account, k)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("DeleteItem", e))
    }

    async fn denied_sessions(
        &self,
        account: &str,
        role_id: &str,
    ) -> Result<std::collections::BTreeSet<String>, PortError> {
        let (ddb, table) = self.ledger()?;
        let out = ddb
            .get_item()
            .table_name(table)
            .key(KEY, s(sessions_key(account, role_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?;
        Ok(match out.item.as_ref().and_then(|i| i.get("ids")) {
            Some(AttributeValue::Ss(ids)) => ids.iter().cloned().collect(),
            _ => std::collections::BTreeSet::new(),
        })
    }

    async fn change_denied_sessions(
        &self,
        account: &str,
        role_id: &str,
        ids: &std::collections::BTreeSet<String>,
        add: bool,
    ) -> Result<(), PortError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (ddb, table) = self.ledger()?;
        ddb.update_item()
            .table_name(table)
            .key(KEY, s(sessions_key(account, role_id)))
            .update_expression(if add { "ADD ids :i" } else { "DELETE ids :i" })
            .expression_attribute_values(":i", AttributeValue::Ss(ids.iter().cloned().collect()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdateItem", e))
    }

    async fn kept_boundary(
        &self,
        account: &str,
        k: &str,
    ) -> Result<Option<Option<String>>, PortError> {
        let (ddb, table) = self.ledger()?;
        let out = ddb
            .get_item()
            .table_name(table)
            .key(KEY, s(boundary_key(account, k)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", e))?;
        // `previous_boundary` is the ARN, or the empty string for none.
        Ok(
            match out.item.as_ref().and_then(|i| i.get("previous_boundary")) {
                Some(AttributeValue::S(arn)) if arn.is_empty() => Some(None),
                Some(AttributeValue::S(arn)) => Some(Some(arn.clone())),
                _ => None,
            },
        )
    }

    async fn keep_boundary(
        &self,
        account: &str,
        k: &str,
        previous: Option<Option<&str>>,
    ) -> Result<(), PortError> {
        let (ddb, table) = self.ledger()?;
        let request = ddb
            .update_item()
            .table_name(table)
            .key(KEY, s(boundary_key(account, k)))
            .expression_attribute_names("#b", "previous_boundary");
        let request = match previous {
            Some(p) => request
                .update_expression("SET #b = if_not_exists(#b, :b)")
                .expression_attribute_values(":b", s(p.unwrap_or_default())),
            None => request.update_expression("REMOVE #b"),
        };
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("UpdateItem", e))
    }

    async fn set_source(
        &self,
        account: &str,
        k: &str,
        source: &str,
        user: Option<&str>,
    ) -> Result<(), PortError> {
        // Read, changed, written back: the record is one JSON attribute.
        let Some(mut record) = self.revocation(account, k).await? else {
            return Ok(());
        };
        record.source = Some(source.to_owned());
        record.source_user = user.map(str::to_owned);
        let text = serde_json::to_string(&record).map_err(|e| bad("UpdateItem", e.to_string()))?;
        let (ddb, table) = self.ledger()?;
        match ddb
            .update_item()
            .table_name(table)
            .key(KEY, s(key(account, k)))
            .update_expression("SET #r = :r")
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#r", "record")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_values(":r", AttributeValue::S(text))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Restored in between: nothing to record on.
            Err(e) if is_conditional_failure(&e) => Ok(()),
            Err(e) => Err(classify("UpdateItem", e)),
        }
    }

    async fn revocations(&self, account: &str) -> Result<Vec<RevocationRecord>, PortError> {
        let (ddb, table) = self.ledger()?;
        let mut pages = ddb
            .scan()
            .table_name(table)
            .filter_expression("begins_with(#k, :p)")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_values(":p", s(key(account, "")))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut records = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("Scan", e))?;
            for item in page.items.unwrap_or_default() {
                records.push(from_item(&item)?);
            }
        }
        Ok(records)
    }
}

/// The path and name of a policy ARN (`arn:aws:iam::1:policy/iam-warden/name`).
fn path_and_name(arn: &str) -> Option<(String, String)> {
    let resource = arn.splitn(6, ':').nth(5)?.strip_prefix("policy")?;
    let (path, name) = resource.rsplit_once('/')?;
    Some((format!("{path}/"), name.to_owned()))
}

fn same_document(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl ToolPolicies for AwsAccount {
    async fn verify_policy(&self, arn: &str, document: &str) -> Result<PolicyCheck, PortError> {
        match self.default_document(arn).await? {
            Some((_, found)) if same_document(&found, document) => Ok(PolicyCheck::Intact),
            Some((version, _)) => {
                self.new_default_version(arn, document).await?;
                Ok(PolicyCheck::Repaired { found: version })
            }
            None => {
                let (path, name) = path_and_name(arn)
                    .filter(|(p, _)| p == TOOL_PATH)
                    .ok_or_else(|| {
                        bad(
                            "CreatePolicy",
                            format!("{arn} is not a policy under {TOOL_PATH}"),
                        )
                    })?;
                self.iam
                    .create_policy()
                    .policy_name(name)
                    .path(path)
                    .policy_document(document)
                    .description("iam-warden - its own policy, re-created after it was deleted")
                    .send()
                    .await
                    .map_err(|e| classify("CreatePolicy", e))?;
                Ok(PolicyCheck::Recreated)
            }
        }
    }

    async fn policy_document(&self, arn: &str) -> Result<Option<String>, PortError> {
        Ok(self.default_document(arn).await?.map(|(_, doc)| doc))
    }

    async fn put_boundary_policy(&self, name: &str, document: &str) -> Result<String, PortError> {
        let created = self
            .iam
            .create_policy()
            .policy_name(name)
            .path(TOOL_PATH)
            .policy_document(document)
            .description(
                if name.starts_with(warden_core::session::MANAGED_PREFIX) {
                    "iam-warden - a Deny of IAM to the revoked sessions of one role, by their aws:userid"
                } else {
                    "iam-warden - a permissions boundary that denies IAM and keeps the previous boundary's limits"
                },
            )
            .send()
            .await;
        match created {
            Ok(out) => out
                .policy
                .and_then(|p| p.arn)
                .ok_or_else(|| bad("CreatePolicy", "no ARN in the answer".into())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_entity_already_exists_exception()) =>
            {
                let account = self.account_id().await?;
                let arn = format!("arn:aws:iam::{account}:policy{TOOL_PATH}{name}");
                self.new_default_version(&arn, document).await?;
                Ok(arn)
            }
            Err(e) => Err(classify("CreatePolicy", e)),
        }
    }

    async fn delete_boundary_policy(&self, arn: &str) -> Result<(), PortError> {
        warden_core::ports::PrunePolicies::delete_policy(self, arn)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_give_their_path_and_name() {
        assert_eq!(
            path_and_name("arn:aws:iam::123456789012:policy/iam-warden/iam-warden-deny-iam"),
            Some(("/iam-warden/".into(), "iam-warden-deny-iam".into()))
        );
        assert_eq!(
            path_and_name("arn:aws:iam::123456789012:policy/deny"),
            Some(("/".into(), "deny".into()))
        );
        assert_eq!(path_and_name("arn:aws:iam::1:user/x"), None);
        assert!(same_document(r#"{"a": 1}"#, r#"{ "a":1 }"#));
        assert!(!same_document(r#"{"a": 1}"#, r#"{"a": 2}"#));
    }
}
