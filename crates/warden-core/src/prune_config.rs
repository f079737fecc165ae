//! The pruner's configuration, parsed once at start-up (the variables the pruner reads).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::config::{
    admin_group, exempt_tag, invalid, is_iam_name, ledger_table, list, mode, topic_arn, trimmed,
    ConfigError, Mode,
};
use crate::credential_plan::{CredentialConfig, KeysMode, PasswordsMode};

/// What the pruner does with a principal that used nothing in UNUSED_DAYS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalsMode {
    Report,
    Deny,
}

/// The pruner's configuration, parsed once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneConfig {
    pub unused_days: u32,
    pub grant_grace_days: u32,
    pub never_deny: BTreeSet<String>,
    pub exempt_tag: (String, String),
    pub admin_group: String,
    pub prune_admins: bool,
    pub prune_roles: bool,
    pub policy_prefix: String,
    pub mode: Mode,
    pub concurrency: usize,
    pub ledger_table: String,
    pub topic_arn: Option<String>,
    /// SQS queue of chunks of principals (fan-out); none: one pass in one invocation.
    pub work_queue_url: Option<String>,
    pub chunk_size: usize,
    /// Secrets Manager secret holding a Slack incoming-webhook URL.
    pub slack_webhook_secret: Option<String>,
    /// The canary role (`CANARY_ROLE_NAME`): each scheduled run tags it, and the
    /// revoker's seeing that tag proves the IAM-events path daily.
    pub canary_role: Option<String>,
    /// How long to wait for one principal's Access Advisor job.
    pub report_timeout: Duration,
    /// Central mode (`MEMBER_ROLE_NAME`): the member role the pruner acts through in
    /// each member account. Unset: this account only.
    pub member_role: Option<String>,
    /// `ACCOUNTS`: the member accounts to prune; empty: the organization's active
    /// accounts (Organizations ListAccounts). Only with MEMBER_ROLE_NAME.
    pub accounts: Vec<String>,
    /// `ACCOUNT_CONCURRENCY`: accounts taken stock of at once when a run starts (IAM's
    /// rate limit is per account: the principals of one account are `CONCURRENCY` at a
    /// time in a chunk, and the chunks of the accounts are interleaved).
    pub account_concurrency: usize,
    /// Unused access keys and console passwords (`UNUSED_KEY_DAYS`, `UNUSED_KEYS`,
    /// `UNUSED_PASSWORD_DAYS`, `UNUSED_PASSWORDS`).
    pub credentials: CredentialConfig,
    /// `UNUSED_PRINCIPALS`: a principal that used nothing in UNUSED_DAYS is said (`report`,
    /// and its services pruned one by one) or denied everything but NEVER_DENY_SERVICES
    /// in one policy (`deny`).
    pub unused_principals: PrincipalsMode,
    /// `SECURITY_HUB`: each scheduled run imports the account's IAM assessment into AWS
    /// Security Hub.
    pub security_hub: bool,
}

impl PruneConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Empty values count as unset (as CloudFormation passes optional parameters).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = trimmed(lookup);
        let number = |var: &'static str, default: u64, min: u64, max: u64| match get(var) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(invalid(var, &v, "a whole number in range")),
            },
        };
        let flag = |var: &'static str| match get(var).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(invalid(var, v, "`true` or `false`")),
        };

        let unused_days = u32::try_from(number("UNUSED_DAYS", 90, 1, 3650)?).unwrap_or(90);
        let grant_grace_days =
            u32::try_from(number("GRANT_GRACE_DAYS", 14, 0, 3650)?).unwrap_or(14);

        let never_deny: BTreeSet<String> = match get("NEVER_DENY_SERVICES") {
            None => ["iam", "sts"].iter().map(|s| (*s).to_owned()).collect(),
            Some(raw) => {
                let set: BTreeSet<String> = list(Some(raw)).map(|s| s.to_lowercase()).collect();
                if let Some(bad) = set.iter().find(|s| !is_namespace(s)) {
                    return Err(invalid(
                        "NEVER_DENY_SERVICES",
                        bad,
                        "comma-separated service namespaces such as `iam,sts`",
                    ));
                }
                set
            }
        };

        let exempt_tag = exempt_tag(get("EXEMPT_TAG"))?;
        let admin_group = admin_group(get("ADMIN_GROUP_NAME"))?;
        let policy_prefix =
            get("PRUNE_POLICY_PREFIX").unwrap_or_else(|| "iam-warden-prune-".into());
        // The longest name: prefix + "role-" + a 64-character role name + ".NN".
        if !is_iam_name(&policy_prefix, 128 - 5 - 64 - 3) {
            return Err(invalid(
                "PRUNE_POLICY_PREFIX",
                &policy_prefix,
                "at most 56 characters of A-Z a-z 0-9 +=,.@_-",
            ));
        }
        let mode = mode(get("MODE"))?;
        let ledger_table = ledger_table(get("LEDGER_TABLE"))?;
        let topic_arn = topic_arn(get("TOPIC_ARN"))?;
        let work_queue_url = get("WORK_QUEUE_URL");
        if let Some(u) = &work_queue_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(invalid("WORK_QUEUE_URL", u, "an SQS queue URL"));
            }
        }
        let slack_webhook_secret = get("SLACK_WEBHOOK_SECRET");
        let member_role = get("MEMBER_ROLE_NAME");
        if let Some(r) = &member_role {
            if !is_iam_name(r, 64) {
                return Err(invalid(
                    "MEMBER_ROLE_NAME",
                    r,
                    "an IAM role name, the same in every member account",
                ));
            }
        }
        let accounts: Vec<String> = list(get("ACCOUNTS")).collect();
        if let Some(bad) = accounts.iter().find(|a| !crate::central::is_account_id(a)) {
            return Err(invalid(
                "ACCOUNTS",
                bad,
                "comma-separated twelve-digit account ids",
            ));
        }
        if !accounts.is_empty() && member_role.is_none() {
            return Err(invalid(
                "ACCOUNTS",
                &accounts.join(","),
                "no ACCOUNTS without MEMBER_ROLE_NAME (central mode): a stand-alone pruner prunes its own account",
            ));
        }

        let security_hub = flag("SECURITY_HUB")?;
        if security_hub && member_role.is_some() {
            return Err(invalid(
                "SECURITY_HUB",
                "true",
                "false in central mode (MEMBER_ROLE_NAME): a stand-alone pruner imports its own account's findings",
            ));
        }
        let credentials = CredentialConfig {
            key_days: u32::try_from(number("UNUSED_KEY_DAYS", 90, 1, 3650)?).unwrap_or(90),
            password_days: u32::try_from(number("UNUSED_PASSWORD_DAYS", 90, 1, 3650)?)
                .unwrap_or(90),
            keys: match get("UNUSED_KEYS").as_deref() {
                None | Some("deactivate") => KeysMode::Deactivate,
                Some("report") => KeysMode::Report,
                Some(v) => {
                    return Err(invalid(
                        "UNUSED_KEYS",
                        v,
                        "`deactivate` (the default) or `report`",
                    ))
                }
            },
            passwords: match get("UNUSED_PASSWORDS").as_deref() {
                None | Some("report") => PasswordsMode::Report,
                Some("remove") => PasswordsMode::Remove,
                Some(v) => {
                    return Err(invalid(
                        "UNUSED_PASSWORDS",
                        v,
                        "`report` (the default) or `remove`",
                    ))
                }
            },
        };

        Ok(Self {
            unused_days,
            grant_grace_days,
            never_deny,
            exempt_tag,
            admin_group,
            prune_admins: flag("PRUNE_ADMINS")?,
            prune_roles: flag("PRUNE_ROLES")?,
            policy_prefix,
            mode,
            concurrency: usize::try_from(number("CONCURRENCY", 8, 1, 64)?).unwrap_or(8),
            ledger_table,
            topic_arn,
            work_queue_url,
            chunk_size: usize::try_from(number("CHUNK_SIZE", 100, 1, 500)?).unwrap_or(100),
            slack_webhook_secret,
            report_timeout: Duration::from_secs(number("REPORT_TIMEOUT_SECONDS", 120, 1, 900)?),
            canary_role: match get("CANARY_ROLE_NAME") {
                Some(c) if !is_iam_name(&c, 64) => {
                    return Err(invalid("CANARY_ROLE_NAME", &c, "an IAM role name"))
                }
                other => other,
            },
            member_role,
            accounts,
            account_concurrency: usize::try_from(number("ACCOUNT_CONCURRENCY", 4, 1, 64)?)
                .unwrap_or(4),
            credentials,
            security_hub,
            unused_principals: match get("UNUSED_PRINCIPALS").as_deref() {
                None | Some("report") => PrincipalsMode::Report,
                Some("deny") => PrincipalsMode::Deny,
                Some(v) => {
                    return Err(invalid(
                        "UNUSED_PRINCIPALS",
                        v,
                        "`report` (the default) or `deny`",
                    ))
                }
            },
        })
    }
}

fn is_namespace(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_names_its_variable() {
        for (var, value) in [
            ("UNUSED_DAYS", "ninety"),
            ("UNUSED_DAYS", "0"),
            ("GRANT_GRACE_DAYS", "-1"),
            ("NEVER_DENY_SERVICES", "iam:*"),
            ("PRUNE_ADMINS", "yes"),
            ("PRUNE_ROLES", "1"),
            ("PRUNE_POLICY_PREFIX", "bad prefix"),
            ("MODE", "dry"),
            ("CONCURRENCY", "0"),
            ("CONCURRENCY", "1000"),
            ("LEDGER_TABLE", "x"),
            ("TOPIC_ARN", "topic"),
            ("WORK_QUEUE_URL", "queue"),
            ("EXEMPT_TAG", "=x"),
            ("MEMBER_ROLE_NAME", "bad name"),
            ("ACCOUNT_CONCURRENCY", "0"),
            ("UNUSED_KEY_DAYS", "0"),
            ("UNUSED_PASSWORD_DAYS", "3651"),
            ("UNUSED_KEYS", "delete"),
            ("UNUSED_PASSWORDS", "delete"),
            ("SECURITY_HUB", "yes"),
            ("UNUSED_PRINCIPALS", "delete"),
            // Without MEMBER_ROLE_NAME, any ACCOUNTS is refused.
            ("ACCOUNTS", "111111111111"),
        ] {
            let err =
                PruneConfig::from_lookup(|k| (k == var).then(|| value.to_owned())).expect_err(var);
            let msg = err.to_string();
            assert!(msg.starts_with(var), "{msg}");
            assert!(msg.contains(&format!("`{value}`")), "{msg}");
        }
    }

    #[test]
    fn defaults() {
        let c = PruneConfig::from_lookup(|_| None).unwrap();
        assert_eq!(
            (c.unused_days, c.grant_grace_days, c.concurrency),
            (90, 14, 8)
        );
        assert_eq!(
            c.never_deny,
            ["iam", "sts"].iter().map(|s| s.to_string()).collect()
        );
        assert!(!c.prune_admins && !c.prune_roles);
        assert_eq!(c.mode, Mode::Enforce);
        assert_eq!(c.policy_prefix, "iam-warden-prune-");
        assert_eq!(c.credentials, CredentialConfig::default());
        let c = PruneConfig::from_lookup(|k| match k {
            "UNUSED_KEY_DAYS" => Some("45".into()),
            "UNUSED_PASSWORD_DAYS" => Some("60".into()),
            "UNUSED_KEYS" => Some("report".into()),
            "UNUSED_PASSWORDS" => Some("remove".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            c.credentials,
            CredentialConfig {
                key_days: 45,
                password_days: 60,
                keys: KeysMode::Report,
                passwords: PasswordsMode::Remove
            }
        );
    }

    #[test]
    fn central_mode_reads_the_member_role_and_the_accounts() {
        let read = |pairs: &'static [(&'static str, &'static str)]| {
            PruneConfig::from_lookup(|k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let c = read(&[
            ("MEMBER_ROLE_NAME", "iam-warden-member"),
            ("ACCOUNTS", "111111111111, 222222222222"),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(c.member_role.as_deref(), Some("iam-warden-member"));
        assert_eq!(c.accounts, ["111111111111", "222222222222"]);
        assert_eq!(c.account_concurrency, 4);
        let err = read(&[
            ("MEMBER_ROLE_NAME", "iam-warden-member"),
            ("ACCOUNTS", "111111111111,12345"),
        ])
        .expect_err("a bad account id");
        assert!(err.to_string().contains("`12345`"), "{err}");
        let alone = read(&[]).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(alone.member_role.is_none() && alone.accounts.is_empty());
    }
}
