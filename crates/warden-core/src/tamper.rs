//! Tampering with the tool itself. Its IAM resources (the deny policy, its roles): any
//! caller who may write IAM can try, in CloudTrail's delivery delay; the revoker repairs
//! the deny before using it, and notifies every change of its own roles, whoever made it.
//! And the pipeline (issue 11): the rules, the functions and their event source
//! mappings, the queues, the topic, the ledger table, and CloudTrail logging. Those calls
//! are not IAM calls; a second rule sends them to the revoker, which notifies each once
//! and decides its caller as for an IAM write: switching the tool off is an attack on it.

use crate::config::{Config, Environment, ToolResources};
use crate::event::CloudTrailRecord;
#[cfg(test)]
use serde_json::json;

/// Calls that change a managed policy's effective document or remove it.
const POLICY_CHANGES: &[&str] = &[
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeletePolicyVersion",
    "DeletePolicy",
];

/// Calls that change a role's trust or permissions (or remove it).
const ROLE_CHANGES: &[&str] = &[
    "UpdateAssumeRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "DeleteRole",
    "UpdateRole",
];

/// What an IAM call did to the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tampering {
    /// Its deny policy changed or deleted: verify and repair it now.
    DenyPolicy,
    /// Its quarantine policy changed or deleted: verify and repair it now.
    QuarantinePolicy,
    /// One of its roles changed: notified, whoever made it.
    ToolRole(String),
    /// Its pipeline changed (a rule, a function, a queue, the topic, the ledger table,
    /// CloudTrail's logging): notified, and the call decided as an IAM write. The
    /// description of what the call did.
    Pipeline(String),
}

/// The management calls that disable or change the pipeline, by service.
const PIPELINE_CALLS: &[(&str, &[&str])] = &[
    (
        "events.amazonaws.com",
        &[
            "DisableRule",
            "DeleteRule",
            "RemoveTargets",
            "PutRule",
            "PutTargets",
        ],
    ),
    (
        "lambda.amazonaws.com",
        &[
            "DeleteFunction",
            "UpdateFunctionConfiguration",
            "UpdateFunctionCode",
            "PutFunctionConcurrency",
            "DeleteFunctionConcurrency",
            "DeleteEventSourceMapping",
            "UpdateEventSourceMapping",
            "RemovePermission",
        ],
    ),
    (
        "sqs.amazonaws.com",
        &[
            "DeleteQueue",
            "PurgeQueue",
            "SetQueueAttributes",
            "RemovePermission",
        ],
    ),
    (
        "sns.amazonaws.com",
        &["DeleteTopic", "SetTopicAttributes", "Unsubscribe"],
    ),
    (
        "dynamodb.amazonaws.com",
        &[
            "DeleteTable",
            "UpdateTable",
            "UpdateTimeToLive",
            "DeleteResourcePolicy",
            "PutResourcePolicy",
        ],
    ),
    (
        "cloudtrail.amazonaws.com",
        &[
            "StopLogging",
            "DeleteTrail",
            "UpdateTrail",
            "PutEventSelectors",
        ],
    ),
];

/// Every event name of `PIPELINE_CALLS` (for the tamper rule's pattern and its check).
pub fn pipeline_event_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = PIPELINE_CALLS
        .iter()
        .flat_map(|(_, calls)| calls.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Lambda records its calls with the API version appended (`DeleteFunction20150331`).
fn base_name(name: &str) -> &str {
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v')
        .trim_end_matches(|c: char| c.is_ascii_digit())
}

/// Whether event selectors still log every management write: `includeManagementEvents`
/// not false, and `readWriteType` All or WriteOnly. Advanced selectors are read
/// conservatively: any without a management-events category counts as a drop.
fn drops_management_events(params: &serde_json::Value) -> bool {
    if let Some(advanced) = params
        .get("advancedEventSelectors")
        .and_then(|a| a.as_array())
    {
        let logs_management = advanced.iter().any(|sel| {
            sel.get("fieldSelectors")
                .and_then(|f| f.as_array())
                .is_some_and(|fields| {
                    fields.iter().any(|f| {
                        f.get("field").and_then(|v| v.as_str()) == Some("eventCategory")
                            && f.get("equals")
                                .and_then(|e| e.as_array())
                                .is_some_and(|e| e.iter().any(|v| v.as_str() == Some("Management")))
                    })
                })
        });
        return !logs_management;
    }
    let Some(selectors) = params.get("eventSelectors").and_then(|s| s.as_array()) else {
        return true;
    };
    !selectors.iter().any(|sel| {
        sel.get("includeManagementEvents").and_then(|v| v.as_bool()) != Some(false)
            && matches!(
                sel.get("readWriteType").and_then(|v| v.as_str()),
                None | Some("All") | Some("WriteOnly")
            )
    })
}

/// What a successful management call did to the pipeline, if anything: its description.
pub fn pipeline_tampering(record: &CloudTrailRecord, tool: &ToolResources) -> Option<String> {
    if record.is_failed() {
        return None;
    }
    let source = record.event_source.as_deref()?;
    let name = base_name(record.event_name.as_deref()?);
    let calls = PIPELINE_CALLS.iter().find(|(s, _)| *s == source)?.1;
    if !calls.contains(&name) {
        return None;
    }
    let params = record
        .request_parameters
        .clone()
        .unwrap_or(serde_json::Value::Null);
    let text = |key: &str| params.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let last = |v: &str| v.rsplit(['/', ':']).next().unwrap_or(v).to_owned();
    let what = |thing: String| Some(format!("{name} on {thing}"));
    match source {
        "events.amazonaws.com" => {
            let rule = text("name").or_else(|| text("rule"))?;
            tool.rules
                .contains(&last(&rule))
                .then(|| format!("{name} on the rule `{rule}`"))
        }
        "lambda.amazonaws.com" => {
            let function = text("functionName").or_else(|| {
                record
                    .response_elements
                    .as_ref()?
                    .get("functionArn")?
                    .as_str()
                    .map(str::to_owned)
            })?;
            tool.functions
                .contains(&last(&function))
                .then(|| format!("{name} on the function `{function}`"))
        }
        "sqs.amazonaws.com" => {
            let queue = text("queueUrl")?;
            tool.queues
                .contains(&last(&queue))
                .then(|| format!("{name} on the queue `{queue}`"))
        }
        "sns.amazonaws.com" => {
            let topic = tool.topic_arn.as_deref()?;
            let arn = text("topicArn").or_else(|| text("subscriptionArn"))?;
            // A subscription's ARN is the topic's followed by `:<id>`.
            (arn == topic || arn.starts_with(&format!("{topic}:")))
                .then(|| format!("{name} on `{arn}`"))
        }
        "dynamodb.amazonaws.com" => {
            let table = text("tableName").or_else(|| text("resourceArn"))?;
            (last(&table) == tool.table).then(|| format!("{name} on the ledger table `{table}`"))
        }
        "cloudtrail.amazonaws.com" => {
            let trail = text("name")
                .or_else(|| text("trailName"))
                .unwrap_or_else(|| "?".into());
            match name {
                // Whatever trail: CloudTrail's logging is the pipeline's source.
                "StopLogging" | "DeleteTrail" => what(format!("the trail `{trail}`")),
                "UpdateTrail" => what(format!("the trail `{trail}`")),
                "PutEventSelectors" => drops_management_events(&params)
                    .then(|| format!("{name} on the trail `{trail}`, dropping management events")),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The tag the daily canary writes on the canary role.
pub const CANARY_TAG: &str = "iam-warden:canary";

/// Whether a record is the tool's own daily canary: TagRole of the canary tag on the
/// canary role, by one of the tool's roles. Anyone else's is an ordinary IAM call.
pub fn is_canary(record: &CloudTrailRecord, config: &Config, env: &Environment) -> bool {
    let Some(canary) = config.canary_role.as_deref() else {
        return false;
    };
    if record.is_failed()
        || record.event_name.as_deref() != Some("TagRole")
        || record.request_param("roleName") != Some(canary)
    {
        return false;
    }
    let tagged = record
        .request_parameters
        .as_ref()
        .and_then(|p| p.get("tags"))
        .and_then(|t| t.as_array())
        .is_some_and(|tags| {
            tags.iter()
                .any(|t| t.get("key").and_then(|k| k.as_str()) == Some(CANARY_TAG))
        });
    let by_tool = match crate::principal::Principal::classify(record) {
        crate::principal::Principal::AssumedRole { role, .. } => {
            env.is_tool(&crate::principal::Principal::AssumedRole {
                role: role.clone(),
                session_arn: String::new(),
            }) || config.pruner_role_arn.as_deref() == Some(role.arn.as_str())
        }
        _ => false,
    };
    tagged && by_tool
}

/// The names of the tool's own roles: the one it runs as, and the pruner's.
pub fn tool_roles(config: &Config, env: &Environment) -> Vec<String> {
    let own = env
        .caller_arn
        .split(":assumed-role/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    let pruner = config
        .pruner_role_arn
        .as_deref()
        .and_then(|arn| arn.rsplit('/').next())
        .map(str::to_owned);
    own.into_iter().chain(pruner).collect()
}

/// What a call did to the tool, if anything: its IAM resources, or its pipeline.
pub fn tampering(
    record: &CloudTrailRecord,
    config: &Config,
    env: &Environment,
) -> Option<Tampering> {
    tampering_of(record, config, env)
        .or_else(|| pipeline_tampering(record, &config.tool).map(Tampering::Pipeline))
}

/// Whether a successful IAM call touched the tool's deny policy or roles.
pub fn tampering_of(
    record: &CloudTrailRecord,
    config: &Config,
    env: &Environment,
) -> Option<Tampering> {
    if record.is_failed() || !record.is_iam_api_call() {
        return None;
    }
    let name = record.event_name.as_deref()?;
    if POLICY_CHANGES.contains(&name)
        && record.request_param("policyArn") == Some(config.deny_policy_arn.as_str())
    {
        return Some(Tampering::DenyPolicy);
    }
    if POLICY_CHANGES.contains(&name)
        && config.quarantine_policy_arn.is_some()
        && record.request_param("policyArn") == config.quarantine_policy_arn.as_deref()
    {
        return Some(Tampering::QuarantinePolicy);
    }
    if ROLE_CHANGES.contains(&name) {
        let role = record.request_param("roleName")?;
        if tool_roles(config, env).iter().any(|r| r == role) {
            return Some(Tampering::ToolRole(role.to_owned()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{config, environment};

    fn call(source: &str, name: &str, params: serde_json::Value) -> CloudTrailRecord {
        serde_json::from_value(serde_json::json!({
            "eventName": name, "eventSource": source, "requestParameters": params,
        }))
        .unwrap()
    }

    fn tool() -> ToolResources {
        ToolResources {
            rules: vec!["iam-warden-iam-calls".into(), "iam-warden-tampering".into()],
            functions: vec!["iam-warden-revoker".into(), "iam-warden-pruner".into()],
            queues: vec![
                "iam-warden-events.fifo".into(),
                "iam-warden-deferred".into(),
            ],
            topic_arn: Some("arn:aws:sns:us-east-1:123456789012:iam-warden-notices".into()),
            table: "iam-warden-ledger".into(),
        }
    }

    #[test]
    fn every_listed_call_on_the_tools_pipeline_is_tampering_and_on_others_nothing() {
        let t = tool();
        let topic = "arn:aws:sns:us-east-1:123456789012:iam-warden-notices";
        let queue = "https://sqs.us-east-1.amazonaws.com/123456789012/iam-warden-events.fifo";
        let cases: Vec<(&str, &str, serde_json::Value, serde_json::Value)> = vec![
            (
                "events.amazonaws.com",
                "DisableRule",
                json!({"name": "iam-warden-iam-calls"}),
                json!({"name": "their-rule"}),
            ),
            (
                "events.amazonaws.com",
                "DeleteRule",
                json!({"name": "iam-warden-tampering"}),
                json!({"name": "their-rule"}),
            ),
            (
                "events.amazonaws.com",
                "RemoveTargets",
                json!({"rule": "iam-warden-iam-calls"}),
                json!({"rule": "their-rule"}),
            ),
            (
                "events.amazonaws.com",
                "PutRule",
                json!({"name": "iam-warden-iam-calls"}),
                json!({"name": "their-rule"}),
            ),
            (
                "events.amazonaws.com",
                "PutTargets",
                json!({"rule": "iam-warden-iam-calls"}),
                json!({"rule": "their-rule"}),
            ),
            (
                "lambda.amazonaws.com",
                "DeleteFunction20150331",
                json!({"functionName": "iam-warden-revoker"}),
                json!({"functionName": "theirs"}),
            ),
            (
                "lambda.amazonaws.com",
                "UpdateFunctionConfiguration20150331v2",
                json!({"functionName": "arn:aws:lambda:us-east-1:123456789012:function:iam-warden-revoker"}),
                json!({"functionName": "theirs"}),
            ),
            (
                "lambda.amazonaws.com",
                "PutFunctionConcurrency20171031",
                json!({"functionName": "iam-warden-pruner"}),
                json!({"functionName": "theirs"}),
            ),
            (
                "lambda.amazonaws.com",
                "DeleteEventSourceMapping20150331",
                json!({"uUID": "u"}),
                json!({"uUID": "v"}),
            ),
            (
                "sqs.amazonaws.com",
                "PurgeQueue",
                json!({"queueUrl": queue}),
                json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/theirs"}),
            ),
            (
                "sqs.amazonaws.com",
                "DeleteQueue",
                json!({"queueUrl": queue}),
                json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/theirs"}),
            ),
            (
                "sqs.amazonaws.com",
                "SetQueueAttributes",
                json!({"queueUrl": queue}),
                json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/theirs"}),
            ),
            (
                "sns.amazonaws.com",
                "DeleteTopic",
                json!({"topicArn": topic}),
                json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:theirs"}),
            ),
            (
                "sns.amazonaws.com",
                "Unsubscribe",
                json!({"subscriptionArn": format!("{topic}:0a1b")}),
                json!({"subscriptionArn": "arn:aws:sns:us-east-1:123456789012:theirs:0a1b"}),
            ),
            (
                "dynamodb.amazonaws.com",
                "DeleteTable",
                json!({"tableName": "iam-warden-ledger"}),
                json!({"tableName": "theirs"}),
            ),
            (
                "cloudtrail.amazonaws.com",
                "PutEventSelectors",
                json!({"trailName": "org", "eventSelectors": [{"includeManagementEvents": false, "readWriteType": "All"}]}),
                json!({"trailName": "org", "eventSelectors": [{"includeManagementEvents": true, "readWriteType": "All"}]}),
            ),
        ];
        for (source, name, ours, theirs) in cases {
            let mut ours_record = call(source, name, ours);
            if name.starts_with("DeleteEventSourceMapping") {
                ours_record.response_elements = Some(
                    json!({"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:iam-warden-revoker"}),
                );
            }
            assert!(
                pipeline_tampering(&ours_record, &t).is_some(),
                "{name} on ours"
            );
            assert_eq!(
                pipeline_tampering(&call(source, name, theirs), &t),
                None,
                "{name} on theirs"
            );
        }
        // CloudTrail logging in general, whatever the trail.
        for name in ["StopLogging", "DeleteTrail", "UpdateTrail"] {
            assert!(
                pipeline_tampering(
                    &call("cloudtrail.amazonaws.com", name, json!({"name": "any"})),
                    &t
                )
                .is_some(),
                "{name}"
            );
        }
        // A read, a call of another service, a failed call: nothing.
        assert_eq!(
            pipeline_tampering(
                &call(
                    "events.amazonaws.com",
                    "DescribeRule",
                    json!({"name": "iam-warden-iam-calls"})
                ),
                &t
            ),
            None
        );
        assert_eq!(
            pipeline_tampering(
                &call(
                    "ec2.amazonaws.com",
                    "DeleteQueue",
                    json!({"queueUrl": queue})
                ),
                &t
            ),
            None
        );
        let mut failed = call(
            "sqs.amazonaws.com",
            "PurgeQueue",
            json!({"queueUrl": queue}),
        );
        failed.error_code = Some("AccessDenied".into());
        assert_eq!(pipeline_tampering(&failed, &t), None);
        // Advanced selectors without management events drop them; with them, not.
        let advanced = |category: &str| {
            call(
                "cloudtrail.amazonaws.com",
                "PutEventSelectors",
                json!({"trailName": "t", "advancedEventSelectors": [{"fieldSelectors": [{"field": "eventCategory", "equals": [category]}]}]}),
            )
        };
        assert!(pipeline_tampering(&advanced("Data"), &t).is_some());
        assert_eq!(pipeline_tampering(&advanced("Management"), &t), None);
        let read_only = call(
            "cloudtrail.amazonaws.com",
            "PutEventSelectors",
            json!({"eventSelectors": [{"readWriteType": "ReadOnly"}]}),
        );
        assert!(
            pipeline_tampering(&read_only, &t).is_some(),
            "logging reads only drops the writes"
        );
        assert!(pipeline_event_names().contains(&"PurgeQueue"));
    }

    #[test]
    fn each_listed_call_is_tampering_on_the_tools_resource_and_nothing_on_anothers() {
        let t = tool();
        let topic = "arn:aws:sns:us-east-1:123456789012:iam-warden-notices";
        for (source, calls) in PIPELINE_CALLS {
            for name in *calls {
                let (ours, theirs) = match *source {
                    "events.amazonaws.com" => (
                        json!({"name": "iam-warden-iam-calls"}),
                        json!({"name": "theirs"}),
                    ),
                    "lambda.amazonaws.com" => (
                        json!({"functionName": "iam-warden-revoker"}),
                        json!({"functionName": "theirs"}),
                    ),
                    "sqs.amazonaws.com" => (
                        json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/iam-warden-deferred"}),
                        json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/theirs"}),
                    ),
                    "sns.amazonaws.com" => (
                        json!({"topicArn": topic}),
                        json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:theirs"}),
                    ),
                    "dynamodb.amazonaws.com" => (
                        json!({"tableName": "iam-warden-ledger"}),
                        json!({"tableName": "theirs"}),
                    ),
                    // Any trail: logging is the pipeline's source. Keeping management
                    // writes is the only harmless change.
                    _ => (
                        json!({"name": "any", "eventSelectors": [{"includeManagementEvents": false}]}),
                        json!({"name": "any", "eventSelectors": [{"includeManagementEvents": true, "readWriteType": "All"}]}),
                    ),
                };
                // Lambda records its calls with the API version appended.
                let recorded = if *source == "lambda.amazonaws.com" {
                    format!("{name}20150331")
                } else {
                    (*name).to_owned()
                };
                assert!(
                    pipeline_tampering(&call(source, &recorded, ours), &t).is_some(),
                    "{source} {name} on ours"
                );
                let on_theirs = pipeline_tampering(&call(source, &recorded, theirs), &t);
                if *source == "cloudtrail.amazonaws.com" && *name != "PutEventSelectors" {
                    assert!(on_theirs.is_some(), "{name}: any trail");
                } else {
                    assert_eq!(on_theirs, None, "{source} {name} on theirs");
                }
            }
        }
    }

    #[test]
    fn the_canary_is_recognised_only_when_it_is_the_tools_own() {
        let c = config(&[
            ("CANARY_ROLE_NAME", "iam-warden-canary"),
            (
                "PRUNER_ROLE_ARN",
                "arn:aws:iam::123456789012:role/iam-warden/iam-warden-pruner",
            ),
        ]);
        let env = environment();
        let canary = |role_arn: &str, role: &str, key: &str| -> CloudTrailRecord {
            serde_json::from_value(json!({
                "eventName": "TagRole", "eventSource": "iam.amazonaws.com", "recipientAccountId": "123456789012",
                "requestParameters": {"roleName": role, "tags": [{"key": key, "value": "2026-11-25T03:00:00Z"}]},
                "userIdentity": {"type": "AssumedRole", "accountId": "123456789012",
                    "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role_arn}}},
            }))
            .unwrap()
        };
        let pruner = "arn:aws:iam::123456789012:role/iam-warden/iam-warden-pruner";
        assert!(is_canary(
            &canary(pruner, "iam-warden-canary", CANARY_TAG),
            &c,
            &env
        ));
        assert!(is_canary(
            &canary(
                "arn:aws:iam::123456789012:role/iam-warden/iam-warden-revoker",
                "iam-warden-canary",
                CANARY_TAG
            ),
            &c,
            &env
        ));
        assert!(
            !is_canary(
                &canary(
                    "arn:aws:iam::123456789012:role/deployer",
                    "iam-warden-canary",
                    CANARY_TAG
                ),
                &c,
                &env
            ),
            "someone else's tag"
        );
        assert!(!is_canary(
            &canary(pruner, "other-role", CANARY_TAG),
            &c,
            &env
        ));
        assert!(!is_canary(
            &canary(pruner, "iam-warden-canary", "other-key"),
            &c,
            &env
        ));
        assert!(
            !is_canary(
                &canary(pruner, "iam-warden-canary", CANARY_TAG),
                &config(&[]),
                &env
            ),
            "no canary configured"
        );
        let mut failed = canary(pruner, "iam-warden-canary", CANARY_TAG);
        failed.error_code = Some("AccessDenied".into());
        assert!(!is_canary(&failed, &c, &env), "a failed tag proves nothing");
        let mut untag = canary(pruner, "iam-warden-canary", CANARY_TAG);
        untag.event_name = Some("UntagRole".into());
        assert!(!is_canary(&untag, &c, &env));
    }

    fn record(name: &str, params: serde_json::Value, error: Option<&str>) -> CloudTrailRecord {
        serde_json::from_value(serde_json::json!({
            "eventName": name, "eventSource": "iam.amazonaws.com", "requestParameters": params,
            "errorCode": error,
        }))
        .unwrap()
    }

    #[test]
    fn changes_of_the_deny_policy_and_of_the_tools_roles_are_tampering() {
        let c = config(&[(
            "PRUNER_ROLE_ARN",
            "arn:aws:iam::123456789012:role/iam-warden/iam-warden-pruner",
        )]);
        let env = environment();
        let deny = crate::testing::DENY_POLICY_ARN;
        for call in POLICY_CHANGES {
            assert_eq!(
                tampering_of(
                    &record(call, serde_json::json!({"policyArn": deny}), None),
                    &c,
                    &env
                ),
                Some(Tampering::DenyPolicy),
                "{call}"
            );
            let other = record(
                call,
                serde_json::json!({"policyArn": "arn:aws:iam::123456789012:policy/other"}),
                None,
            );
            assert_eq!(
                tampering_of(&other, &c, &env),
                None,
                "{call} on another policy"
            );
        }
        for role in ["iam-warden-revoker", "iam-warden-pruner"] {
            for call in ROLE_CHANGES {
                assert_eq!(
                    tampering_of(
                        &record(call, serde_json::json!({"roleName": role}), None),
                        &c,
                        &env
                    ),
                    Some(Tampering::ToolRole(role.into())),
                    "{call} on {role}"
                );
            }
        }
        let other_role = record(
            "UpdateAssumeRolePolicy",
            serde_json::json!({"roleName": "deployer"}),
            None,
        );
        assert_eq!(tampering_of(&other_role, &c, &env), None);
        let failed = record(
            "DeletePolicy",
            serde_json::json!({"policyArn": deny}),
            Some("AccessDenied"),
        );
        assert_eq!(
            tampering_of(&failed, &c, &env),
            None,
            "a failed call changed nothing"
        );
        let attach = record(
            "AttachUserPolicy",
            serde_json::json!({"policyArn": deny}),
            None,
        );
        assert_eq!(
            tampering_of(&attach, &c, &env),
            None,
            "attaching the deny is not tampering"
        );
    }
}
