//! Typed configuration, parsed once at start-up. A bad value is an error that names
//! the variable; nothing is guessed.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::principal::Principal;

/// A configuration error: always names the variable, quotes the value in backticks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{var} is required but not set")]
    Missing { var: &'static str },
    #[error("{var}=`{value}` is invalid: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A setting that parses but does not match the account (checked at start-up).
    #[error("{var}=`{value}`: {problem}")]
    Unusable {
        var: &'static str,
        value: String,
        problem: String,
    },
}

/// `MODE`: act, or only say what would be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Report,
}

/// `ROLE_MODE`: what to do with role sessions that manage IAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleMode {
    /// Reported only.
    Alert,
    /// The whole role denied IAM (every session of it).
    Revoke,
    /// The session alone denied IAM, by its `aws:userid` ([`crate::session`]).
    Session,
}

/// `CONTAIN`: whose IAM writes are contained (their artifacts quarantined, deactivated,
/// detached, removed: see [`crate::containment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contain {
    /// Nothing is contained; the notices still say what the caller changed.
    Off,
    /// The writes of callers iam-warden revokes (`revoked`, `already-revoked`, and the
    /// self-service calls of a revoked or quarantined caller). The default.
    Revoked,
    /// Also the writes of role sessions that are only alerted (ROLE_MODE=alert): their
    /// artifacts are contained, the role itself is left alone.
    All,
}

impl Contain {
    pub fn as_str(self) -> &'static str {
        match self {
            Contain::Off => "off",
            Contain::Revoked => "revoked",
            Contain::All => "all",
        }
    }
}

/// `FAILED_CALLS` and `READ_ONLY_CALLS`: how much such a call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPolicy {
    Revoke,
    Alert,
    Ignore,
}

/// `UNVERIFIED_TRUST`: what happens to a principal that holds admin or exempt status
/// without the trust ledger, once its grant had time to arrive and was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// Decided as the non-admin it is for iam-warden: revoked, and the notice says why.
    Revoke,
    /// Only notified.
    Alert,
}

/// The longest TRUST_WAIT_SECONDS: an unverified principal's event is decided at most
/// this long after it happened.
pub const MAX_TRUST_WAIT_SECONDS: u64 = 3600;

/// Actions a user may call on their own user without managing IAM.
pub const DEFAULT_SELF_SERVICE_ACTIONS: &[&str] = &[
    "ChangePassword",
    "GetAccountPasswordPolicy",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
    "ResyncMFADevice",
    "DeactivateMFADevice",
    "DeleteVirtualMFADevice",
    "ListMFADevices",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "ListAccessKeys",
];

/// Tag keys iam-warden writes on a revoked principal.
pub mod tags {
    pub const REVOKED_AT: &str = "iam-warden:revoked-at";
    pub const EVENT_ID: &str = "iam-warden:event-id";
    pub const EVENT_NAME: &str = "iam-warden:event-name";
    /// The event id whose revocation notice was published: the mark of "notified".
    pub const NOTIFIED: &str = "iam-warden:notified";
    pub const ALL: &[&str] = &[REVOKED_AT, EVENT_ID, EVENT_NAME, NOTIFIED];
    /// When the pruner last changed the principal's deny, and the run that did.
    pub const PRUNED_AT: &str = "iam-warden:pruned-at";
    pub const PRUNED_RUN: &str = "iam-warden:pruned-run";
    pub const PRUNED: &[&str] = &[PRUNED_AT, PRUNED_RUN];
    /// The credentials the pruner took away (key ids, `console-password`), space-separated.
    pub const CREDENTIALS_TAKEN: &str = "iam-warden:credentials-taken";
}

/// The tool's own resources, by name (from TOOL_RULE_NAMES, TOOL_FUNCTION_NAMES,
/// TOOL_QUEUE_NAMES, TOPIC_ARN, LEDGER_TABLE).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolResources {
    pub rules: Vec<String>,
    pub functions: Vec<String>,
    pub queues: Vec<String>,
    pub topic_arn: Option<String>,
    pub table: String,
}

/// What the account looks like to the running tool, learnt once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The account the tool runs in; it never acts on another.
    pub account_id: String,
    /// The tool's own identity (STS GetCallerIdentity).
    pub caller_arn: String,
    /// `AttachedPoliciesPerUserQuota` (GetAccountSummary).
    pub user_policy_quota: u32,
    /// `AttachedPoliciesPerRoleQuota` (GetAccountSummary).
    pub role_policy_quota: u32,
}

impl Environment {
    /// Whether the caller is this tool itself: its role, whatever the session name.
    /// Only a role counts: `warden` run by an operator's IAM user does not make that
    /// user's own IAM calls invisible.
    pub fn is_tool(&self, principal: &Principal) -> bool {
        match principal {
            Principal::AssumedRole { role, .. } => self
                .caller_arn
                .strip_prefix(&format!("arn:aws:sts::{}:assumed-role/", role.account_id))
                .and_then(|rest| rest.split('/').next())
                .is_some_and(|name| name == role.name),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub admin_group: String,
    pub deny_policy_arn: String,
    pub topic_arn: Option<String>,
    pub dead_letter_queue_url: Option<String>,
    pub exempt_tag: (String, String),
    pub exempt_principals: BTreeSet<String>,
    /// `ADMIN_PERMISSION_SETS`: the IAM Identity Center permission sets whose sessions may
    /// manage IAM (their roles recorded in the trust ledger on first sight).
    pub admin_permission_sets: BTreeSet<String>,
    pub mode: Mode,
    pub role_mode: RoleMode,
    /// `CONTAIN`, default `revoked`.
    pub contain: Contain,
    /// `QUARANTINE_POLICY_ARN`: the tool's deny-everything managed policy for the
    /// principals a caller created. Required by the Lambda unless CONTAIN=off; without
    /// it (`warden replay` against a test account) the quarantine is the inline policy.
    pub quarantine_policy_arn: Option<String>,
    pub failed_calls: CallPolicy,
    pub read_only_calls: CallPolicy,
    pub self_service_actions: BTreeSet<String>,
    pub inline_policy_name: String,
    /// How long an `alerted` / `would-revoke` notice for one principal and action
    /// silences the next ones (`ALERT_WINDOW_SECONDS`, default one hour).
    pub alert_window: Duration,
    /// The pruner's role (`PRUNER_ROLE_ARN`): its writes are the tool's own, ignored.
    pub pruner_role_arn: Option<String>,
    /// The DynamoDB ledger (`LEDGER_TABLE`): the trust ledger and the action records.
    pub ledger_table: String,
    /// `UNVERIFIED_TRUST`, default `revoke`.
    pub unverified: Unverified,
    /// How long an unverified principal's event waits for its grant to arrive
    /// (`TRUST_WAIT_SECONDS`, default 900, at most [`MAX_TRUST_WAIT_SECONDS`]).
    pub trust_wait: Duration,
    /// Where deferred events wait (`DEFERRAL_QUEUE_URL`, a standard queue whose
    /// messages are delayed); required by the Lambda when TRUST_WAIT_SECONDS > 0.
    pub deferral_queue_url: Option<String>,
    /// The tool's own pipeline (`TOOL_RULE_NAMES`, `TOOL_FUNCTION_NAMES`,
    /// `TOOL_QUEUE_NAMES`, with TOPIC_ARN and LEDGER_TABLE): changes to it are tampering.
    pub tool: ToolResources,
    /// The canary role (`CANARY_ROLE_NAME`): a tag written on it daily proves the path.
    pub canary_role: Option<String>,
    /// Central mode (`MEMBER_ROLE_NAME`): the member role, the same name in every member
    /// account, that the tool acts through in the account of each event. Unset: the
    /// tool acts in the account it runs in, as an account's own stack.
    pub member_role: Option<String>,
    /// `SESSION_SCP=on` (central mode, with Organizations access): an Identity Center
    /// user whose permission set may not manage IAM is denied IAM by the tool's SCP on
    /// the event's account ([`crate::session_scp`]). Default `off`: the remedy is given.
    pub session_scp: bool,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`; empty values count as unset (as
    /// CloudFormation passes optional parameters).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = trimmed(lookup);

        let admin_group = admin_group(get("ADMIN_GROUP_NAME"))?;

        let deny_policy_arn = get("DENY_POLICY_ARN").ok_or(ConfigError::Missing {
            var: "DENY_POLICY_ARN",
        })?;
        // Under the tool's own path: a deleted deny is re-created there, and the roles
        // may write only there.
        if !is_arn(&deny_policy_arn, "iam") || !deny_policy_arn.contains(":policy/iam-warden/") {
            return Err(invalid(
                "DENY_POLICY_ARN",
                &deny_policy_arn,
                "an IAM managed policy ARN under the tool's path (arn:aws:iam::<account>:policy/iam-warden/<name>)",
            ));
        }

        let topic_arn = topic_arn(get("TOPIC_ARN"))?;

        let dead_letter_queue_url = get("DEAD_LETTER_QUEUE_URL");
        if let Some(u) = &dead_letter_queue_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(invalid("DEAD_LETTER_QUEUE_URL", u, "an SQS queue URL"));
            }
        }

        let exempt_tag = exempt_tag(get("EXEMPT_TAG"))?;

        let mut exempt_principals = BTreeSet::new();
        for arn in list(get("EXEMPT_PRINCIPALS")) {
            if !arn.starts_with("arn:") {
                return Err(invalid(
                    "EXEMPT_PRINCIPALS",
                    &arn,
                    "comma-separated principal ARNs",
                ));
            }
            exempt_principals.insert(arn);
        }

        let mut admin_permission_sets = BTreeSet::new();
        for name in list(get("ADMIN_PERMISSION_SETS")) {
            if !crate::identity_center::is_permission_set_name(&name) {
                return Err(invalid(
                    "ADMIN_PERMISSION_SETS",
                    &name,
                    "comma-separated permission set names (1 to 32 of letters, digits and `+=,.@_-`), e.g. AdministratorAccess",
                ));
            }
            admin_permission_sets.insert(name);
        }

        let mode = mode(get("MODE"))?;
        let role_mode = match get("ROLE_MODE").as_deref() {
            None | Some("session") => RoleMode::Session,
            Some("alert") => RoleMode::Alert,
            Some("revoke") => RoleMode::Revoke,
            Some(v) => return Err(invalid("ROLE_MODE", v, "`session`, `alert` or `revoke`")),
        };
        let contain = match get("CONTAIN").as_deref() {
            None | Some("revoked") => Contain::Revoked,
            Some("all") => Contain::All,
            Some("off") => Contain::Off,
            Some(v) => return Err(invalid("CONTAIN", v, "`revoked`, `all` or `off`")),
        };
        let quarantine_policy_arn = get("QUARANTINE_POLICY_ARN");
        match &quarantine_policy_arn {
            Some(arn)
                if !is_arn(arn, "iam")
                    || !arn.contains(":policy/iam-warden/")
                    || *arn == deny_policy_arn =>
            {
                return Err(invalid(
                    "QUARANTINE_POLICY_ARN",
                    arn,
                    "an IAM managed policy ARN under the tool's path, other than DENY_POLICY_ARN (arn:aws:iam::<account>:policy/iam-warden/<name>)",
                ));
            }
            _ => {}
        }
        let failed_calls = call_policy("FAILED_CALLS", get("FAILED_CALLS"), CallPolicy::Revoke)?;
        let read_only_calls = call_policy(
            "READ_ONLY_CALLS",
            get("READ_ONLY_CALLS"),
            CallPolicy::Ignore,
        )?;

        let self_service_actions = match get("SELF_SERVICE_ACTIONS") {
            None => DEFAULT_SELF_SERVICE_ACTIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            Some(raw) => {
                let actions: BTreeSet<String> = list(Some(raw.clone())).collect();
                if let Some(bad) = actions
                    .iter()
                    .find(|a| a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric()))
                {
                    return Err(invalid(
                        "SELF_SERVICE_ACTIONS",
                        bad,
                        "comma-separated IAM action names such as `ChangePassword`",
                    ));
                }
                actions
            }
        };

        let inline_policy_name =
            get("INLINE_POLICY_NAME").unwrap_or_else(|| "iam-warden-deny-iam".into());
        if !is_iam_name(&inline_policy_name, 128) {
            return Err(invalid(
                "INLINE_POLICY_NAME",
                &inline_policy_name,
                "an IAM policy name (1-128 of A-Z a-z 0-9 +=,.@_-)",
            ));
        }

        let alert_window =
            match get("ALERT_WINDOW_SECONDS") {
                None => Duration::from_secs(3600),
                Some(v) => Duration::from_secs(v.parse::<u64>().map_err(|_| {
                    invalid("ALERT_WINDOW_SECONDS", &v, "a whole number of seconds")
                })?),
            };

        let pruner_role_arn = get("PRUNER_ROLE_ARN");
        if let Some(arn) = &pruner_role_arn {
            if !is_arn(arn, "iam") || !arn.contains(":role/") {
                return Err(invalid(
                    "PRUNER_ROLE_ARN",
                    arn,
                    "an IAM role ARN (arn:aws:iam::<account>:role/<path><name>)",
                ));
            }
        }

        let ledger_table = ledger_table(get("LEDGER_TABLE"))?;
        let unverified = match get("UNVERIFIED_TRUST").as_deref() {
            None | Some("revoke") => Unverified::Revoke,
            Some("alert") => Unverified::Alert,
            Some(v) => return Err(invalid("UNVERIFIED_TRUST", v, "`revoke` or `alert`")),
        };
        let trust_wait = match get("TRUST_WAIT_SECONDS") {
            None => Duration::from_secs(900),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n <= MAX_TRUST_WAIT_SECONDS => Duration::from_secs(n),
                _ => {
                    return Err(invalid(
                        "TRUST_WAIT_SECONDS",
                        &v,
                        "a whole number of seconds from 0 to 3600",
                    ))
                }
            },
        };
        let deferral_queue_url = get("DEFERRAL_QUEUE_URL");
        if let Some(u) = &deferral_queue_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(invalid("DEFERRAL_QUEUE_URL", u, "an SQS queue URL"));
            }
        }

        let names = |var: &'static str| -> Result<Vec<String>, ConfigError> {
            let names: Vec<String> = list(get(var)).collect();
            match names.iter().find(|n| !is_iam_name(n, 256)) {
                Some(bad) => Err(invalid(var, bad, "comma-separated resource names")),
                None => Ok(names),
            }
        };
        let tool = ToolResources {
            rules: names("TOOL_RULE_NAMES")?,
            functions: names("TOOL_FUNCTION_NAMES")?,
            queues: names("TOOL_QUEUE_NAMES")?,
            topic_arn: topic_arn.clone(),
            table: ledger_table.clone(),
        };
        let canary_role = get("CANARY_ROLE_NAME");
        if let Some(c) = &canary_role {
            if !is_iam_name(c, 64) {
                return Err(invalid("CANARY_ROLE_NAME", c, "an IAM role name"));
            }
        }

        let member_role = get("MEMBER_ROLE_NAME");
        if let Some(r) = &member_role {
            if !is_iam_name(r, 64) {
                return Err(invalid(
                    "MEMBER_ROLE_NAME",
                    r,
                    "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-), the same in every member account",
                ));
            }
        }

        let session_scp = match get("SESSION_SCP").as_deref() {
            None | Some("off") => false,
            Some("on") if member_role.is_some() => true,
            Some("on") => {
                return Err(invalid(
                    "SESSION_SCP",
                    "on",
                    "`off` without MEMBER_ROLE_NAME: an SCP is applied from the central account of central mode (with Organizations access), never from an account's own stack",
                ))
            }
            Some(v) => return Err(invalid("SESSION_SCP", v, "`on` or `off`")),
        };

        Ok(Self {
            member_role,
            session_scp,
            admin_group,
            deny_policy_arn,
            topic_arn,
            dead_letter_queue_url,
            exempt_tag,
            exempt_principals,
            admin_permission_sets,
            mode,
            role_mode,
            contain,
            quarantine_policy_arn,
            failed_calls,
            read_only_calls,
            self_service_actions,
            inline_policy_name,
            alert_window,
            pruner_role_arn,
            ledger_table,
            unverified,
            trust_wait,
            deferral_queue_url,
            tool,
            canary_role,
        })
    }

    /// The Lambda waits for grants through the deferral queue: without one (and a
    /// wait), an unverified principal's event could not wait without holding up the
    /// queue's other events.
    pub fn require_deferral_queue(&self) -> Result<(), ConfigError> {
        if self.trust_wait.is_zero() || self.deferral_queue_url.is_some() {
            Ok(())
        } else {
            Err(ConfigError::Missing {
                var: "DEFERRAL_QUEUE_URL",
            })
        }
    }

    /// The Lambda quarantines with the managed policy (an inline one can hit the
    /// principal's inline-size quota, which the caller controls).
    pub fn require_quarantine_policy(&self) -> Result<(), ConfigError> {
        if self.contain == Contain::Off || self.quarantine_policy_arn.is_some() {
            Ok(())
        } else {
            Err(ConfigError::Missing {
                var: "QUARANTINE_POLICY_ARN",
            })
        }
    }

    /// The Lambda cannot run without a dead-letter queue: a malformed message would be lost.
    pub fn require_dead_letter_queue(&self) -> Result<&str, ConfigError> {
        self.dead_letter_queue_url
            .as_deref()
            .ok_or(ConfigError::Missing {
                var: "DEAD_LETTER_QUEUE_URL",
            })
    }
}

/// `lookup` with values trimmed, and empty ones unset (as CloudFormation passes optional
/// parameters).
pub(crate) fn trimmed(lookup: impl Fn(&str) -> Option<String>) -> impl Fn(&str) -> Option<String> {
    move |var| {
        lookup(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

/// `ADMIN_GROUP_NAME`, shared by the revoker and the pruner.
pub(crate) fn admin_group(raw: Option<String>) -> Result<String, ConfigError> {
    let group = raw.unwrap_or_else(|| "Administrators".into());
    if !is_iam_name(&group, 128) {
        return Err(invalid("ADMIN_GROUP_NAME", &group, "an IAM group name"));
    }
    Ok(group)
}

/// `LEDGER_TABLE`, shared by the revoker and the pruner.
pub(crate) fn ledger_table(raw: Option<String>) -> Result<String, ConfigError> {
    let table = raw.unwrap_or_else(|| "iam-warden-ledger".into());
    let valid = (3..=255).contains(&table.len())
        && table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        return Err(invalid(
            "LEDGER_TABLE",
            &table,
            "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)",
        ));
    }
    Ok(table)
}

/// `EXEMPT_TAG` (`key=value`).
pub(crate) fn exempt_tag(raw: Option<String>) -> Result<(String, String), ConfigError> {
    let raw = raw.unwrap_or_else(|| "iam-warden:exempt=true".into());
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(invalid("EXEMPT_TAG", &raw, "`key=value`")),
    }
}

/// `MODE`.
pub(crate) fn mode(raw: Option<String>) -> Result<Mode, ConfigError> {
    match raw.as_deref() {
        None | Some("enforce") => Ok(Mode::Enforce),
        Some("report") => Ok(Mode::Report),
        Some(v) => Err(invalid("MODE", v, "`enforce` or `report`")),
    }
}

/// `TOPIC_ARN`, optional.
pub(crate) fn topic_arn(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    match raw {
        Some(t) if !is_arn(&t, "sns") => Err(invalid("TOPIC_ARN", &t, "an SNS topic ARN")),
        other => Ok(other),
    }
}

pub(crate) fn invalid(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::Invalid {
        var,
        value: value.to_owned(),
        expected,
    }
}

pub(crate) fn list(raw: Option<String>) -> impl Iterator<Item = String> {
    raw.unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

fn call_policy(
    var: &'static str,
    raw: Option<String>,
    default: CallPolicy,
) -> Result<CallPolicy, ConfigError> {
    match raw.as_deref() {
        None => Ok(default),
        Some("revoke") => Ok(CallPolicy::Revoke),
        Some("alert") => Ok(CallPolicy::Alert),
        Some("ignore") => Ok(CallPolicy::Ignore),
        Some(v) => Err(invalid(var, v, "`revoke`, `alert` or `ignore`")),
    }
}

pub(crate) fn is_arn(value: &str, service: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", p, s, _, _, res] if p.starts_with("aws") && *s == service && !res.is_empty())
}

pub(crate) fn is_iam_name(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const DENY: &str = "arn:aws:iam::123456789012:policy/iam-warden/deny-iam";

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = parse(&[("DENY_POLICY_ARN", DENY)]).unwrap();
        assert_eq!(c.admin_group, "Administrators");
        assert_eq!(c.exempt_tag, ("iam-warden:exempt".into(), "true".into()));
        assert_eq!(
            (c.mode, c.role_mode, c.failed_calls, c.read_only_calls),
            (
                Mode::Enforce,
                RoleMode::Session,
                CallPolicy::Revoke,
                CallPolicy::Ignore
            )
        );
        assert!(c.self_service_actions.contains("ChangePassword"));
        assert_eq!(c.inline_policy_name, "iam-warden-deny-iam");
        assert_eq!(c.topic_arn, None);
    }

    #[test]
    fn missing_deny_policy_names_the_variable() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                var: "DENY_POLICY_ARN"
            }
        );
        assert!(err.to_string().contains("DENY_POLICY_ARN"));
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        for (var, value) in [
            ("DENY_POLICY_ARN", "deny-iam"),
            (
                "DENY_POLICY_ARN",
                "arn:aws:iam::123456789012:policy/deny-iam",
            ),
            ("ADMIN_GROUP_NAME", "bad group!"),
            ("TOPIC_ARN", "arn:aws:sqs:us-east-1:1:q"),
            ("DEAD_LETTER_QUEUE_URL", "queue"),
            ("EXEMPT_TAG", "=true"),
            ("EXEMPT_TAG", "novalue"),
            ("EXEMPT_PRINCIPALS", "alice"),
            ("MODE", "enforcing"),
            ("ROLE_MODE", "deny"),
            ("FAILED_CALLS", "yes"),
            ("READ_ONLY_CALLS", "no"),
            ("SELF_SERVICE_ACTIONS", "iam:ChangePassword"),
            ("INLINE_POLICY_NAME", "has space"),
            ("ALERT_WINDOW_SECONDS", "1h"),
            ("PRUNER_ROLE_ARN", "arn:aws:iam::123456789012:user/pruner"),
            ("LEDGER_TABLE", "ab"),
            ("LEDGER_TABLE", "bad table"),
            ("UNVERIFIED_TRUST", "trust"),
            ("TRUST_WAIT_SECONDS", "3601"),
            ("TRUST_WAIT_SECONDS", "-1"),
            ("DEFERRAL_QUEUE_URL", "queue"),
            ("TOOL_QUEUE_NAMES", "not ok"),
            ("CANARY_ROLE_NAME", "bad role"),
        ] {
            let mut pairs = vec![("DENY_POLICY_ARN", DENY)];
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, value));
            let err = parse(&pairs).expect_err(var);
            let msg = err.to_string();
            assert!(msg.starts_with(var), "{msg}");
            assert!(msg.contains(&format!("`{value}`")), "{msg}");
        }
    }

    #[test]
    fn lists_and_empty_values() {
        let c = parse(&[
            ("DENY_POLICY_ARN", DENY),
            ("TOPIC_ARN", ""),
            (
                "EXEMPT_PRINCIPALS",
                " arn:aws:iam::1:user/a, ,arn:aws:iam::1:role/b ",
            ),
            ("SELF_SERVICE_ACTIONS", "ChangePassword"),
            ("MODE", "report"),
        ])
        .unwrap();
        assert_eq!(c.topic_arn, None);
        assert_eq!(c.exempt_principals.len(), 2);
        assert_eq!(c.self_service_actions.len(), 1);
        assert_eq!(c.mode, Mode::Report);
    }

    #[test]
    fn trust_settings_and_their_bounds() {
        let c = parse(&[("DENY_POLICY_ARN", DENY)]).unwrap();
        assert_eq!(c.unverified, Unverified::Revoke);
        assert_eq!(c.trust_wait, Duration::from_secs(900));
        assert_eq!(c.ledger_table, "iam-warden-ledger");
        assert_eq!(
            c.require_deferral_queue(),
            Err(ConfigError::Missing {
                var: "DEFERRAL_QUEUE_URL"
            })
        );
        let c = parse(&[
            ("DENY_POLICY_ARN", DENY),
            ("TRUST_WAIT_SECONDS", "3600"),
            ("UNVERIFIED_TRUST", "alert"),
            ("LEDGER_TABLE", "abc"),
        ])
        .unwrap();
        assert_eq!(
            (c.trust_wait, c.unverified, c.ledger_table.as_str()),
            (Duration::from_secs(3600), Unverified::Alert, "abc")
        );
        let c = parse(&[("DENY_POLICY_ARN", DENY), ("TRUST_WAIT_SECONDS", "0")]).unwrap();
        assert_eq!(c.require_deferral_queue(), Ok(()));
        let c = parse(&[
            ("DENY_POLICY_ARN", DENY),
            (
                "DEFERRAL_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/1/q",
            ),
        ])
        .unwrap();
        assert_eq!(c.require_deferral_queue(), Ok(()));
        assert!(parse(&[
            ("DENY_POLICY_ARN", DENY),
            ("LEDGER_TABLE", &"t".repeat(255))
        ])
        .is_ok());
        assert!(parse(&[
            ("DENY_POLICY_ARN", DENY),
            ("LEDGER_TABLE", &"t".repeat(256))
        ])
        .is_err());
    }

    #[test]
    fn lambda_needs_a_dead_letter_queue() {
        let c = parse(&[("DENY_POLICY_ARN", DENY)]).unwrap();
        assert_eq!(
            c.require_dead_letter_queue().unwrap_err(),
            ConfigError::Missing {
                var: "DEAD_LETTER_QUEUE_URL"
            }
        );
    }
}
