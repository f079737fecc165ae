//! `warden consume`: the revoker's Lambda handler on the events queue, as Lambda's SQS
//! event source runs it.

use std::process::ExitCode;

use warden_aws::{AwsAccount, AwsMembers};
use warden_core::revoker::{Fleet, Lanes, Revoker};

use crate::setup::setup;
use crate::CliError;

pub async fn consume(queue_url: &str, wait: i32) -> Result<ExitCode, CliError> {
    let (config, env, account) = setup().await?;
    config.require_dead_letter_queue()?;
    if let Some(role) = config.member_role.clone() {
        // Central mode, as the Lambda runs it: each event decided in its own account
        // through its member role; this account's own by its own revoker.
        let sdk = warden_aws::load_sdk_config().await;
        let own = Revoker::new(account.clone(), config.clone(), env);
        let fleet = Fleet::new(AwsMembers::new(&sdk, account.clone(), &role), config).with_own(own);
        return drain(&fleet, &account, queue_url, wait).await;
    }
    let revoker = Revoker::new(account.clone(), config, env);
    drain(&revoker, &account, queue_url, wait).await
}

/// Batches of the queue through the handler until it is empty or a batch has failures.
async fn drain<L: Lanes>(
    lanes: &L,
    account: &AwsAccount,
    queue_url: &str,
    wait: i32,
) -> Result<ExitCode, CliError> {
    let (mut decided, mut dead_lettered) = (0usize, 0usize);
    loop {
        let messages = account.receive(queue_url, wait).await?;
        if messages.is_empty() {
            break;
        }
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                // The failed deliveries it carries, as Lambda gives message attributes.
                let carried = m.failed_deliveries.as_ref().map(|n| {
                    serde_json::json!({
                        warden_core::ports::FAILED_DELIVERIES: {"stringValue": n, "dataType": "Number"}
                    })
                });
                serde_json::json!({
                    "messageId": m.message_id, "receiptHandle": m.receipt_handle,
                    "body": m.body, "eventSource": "aws:sqs",
                    "messageAttributes": carried.unwrap_or_else(|| serde_json::json!({})),
                })
            })
            .collect();
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(serde_json::json!({ "Records": records }))
                .map_err(|e| CliError::Failed(e.to_string()))?;
        let report = revoker::handler::handle(lanes, account, event).await;
        for outcome in &report.outcomes {
            println!(
                "{}",
                serde_json::to_string(outcome).map_err(|e| CliError::Failed(e.to_string()))?
            );
        }
        decided += report.outcomes.len();
        let failed: std::collections::HashSet<&str> = report
            .response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        dead_lettered += messages.len() - failed.len() - report.outcomes.len();
        for m in messages
            .iter()
            .filter(|m| !failed.contains(m.message_id.as_str()))
        {
            account.delete(queue_url, &m.receipt_handle).await?;
        }
        if !failed.is_empty() {
            eprintln!(
                "warden: {} message(s) failed and stay in the queue for redelivery",
                failed.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    eprintln!("warden: queue empty: {decided} event(s) decided, {dead_lettered} malformed message(s) dead-lettered");
    Ok(ExitCode::SUCCESS)
}
