//! Tampering with the tool's own IAM resources: its deny policy and its roles. Any
//! caller who may write IAM can try, in CloudTrail's delivery delay; the revoker repairs
//! the deny before using it, and notifies every change of its own roles, whoever made it.

use crate::config::Config;
use crate::decision::Environment;
use crate::event::CloudTrailRecord;

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
    /// One of its roles changed: notified, whoever made it.
    ToolRole(String),
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
