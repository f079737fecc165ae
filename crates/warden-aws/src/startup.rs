//! What the functions learn once, at start-up, and the checks that refuse to start
//! on a bad configuration (nothing is revoked on a guess).

use warden_core::config::Environment;
use warden_core::config::{Config, ConfigError};
use warden_core::ports::{Authorizations, Directory, PortError, TrustLedger};

use crate::error::classify;
use crate::iam::account_of;
use crate::AwsAccount;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("start-up check failed: {0}")]
    Aws(#[from] PortError),
}

/// Learns the account, the tool's own identity and the policy quotas, and checks that
/// what the configuration names exists: the admin group, the deny policy, the topic
/// and the dead-letter queue.
pub async fn discover(account: &AwsAccount, config: &Config) -> Result<Environment, StartupError> {
    let (iam, sts, sns, sqs) = (&account.iam, &account.sts, &account.sns, &account.sqs);

    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify("GetCallerIdentity", e))?;
    let caller_arn = identity.arn.unwrap_or_default();
    let account_id = identity
        .account
        .or_else(|| account_of(&caller_arn))
        .unwrap_or_default();

    let unusable = |var: &'static str, value: &str, problem: String| ConfigError::Unusable {
        var,
        value: value.to_owned(),
        problem,
    };

    // The tool's own policies: verified (and re-created) before their first use, but
    // never another account's.
    let policies = [
        ("DENY_POLICY_ARN", Some(&config.deny_policy_arn)),
        (
            "QUARANTINE_POLICY_ARN",
            config.quarantine_policy_arn.as_ref(),
        ),
    ];
    for (var, arn) in policies {
        let Some(arn) = arn else { continue };
        if account_of(arn).is_some_and(|a| a != account_id) {
            return Err(unusable(
                var,
                arn,
                format!("the policy is not in account {account_id} where iam-warden runs"),
            )
            .into());
        }
    }
    // Independent checks, at once: a cold start waits for one round trip, not five.
    let group = async {
        match iam
            .get_group()
            .group_name(&config.admin_group)
            .max_items(1)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => match classify("GetGroup", e) {
                PortError::NoSuchEntity { .. } => {
                    // Renamed away (attack 6): the group the trust ledger knows by its
                    // unique id is found under its new name, and put back at start.
                    if let Some(name) = account.renamed_admin_group(&account_id).await? {
                        tracing::warn!(admin_group = %config.admin_group, now = %name, "the admin group was renamed: it is renamed back by its unique id");
                        return Ok(());
                    }
                    return Err::<(), StartupError>(
                        unusable(
                            "ADMIN_GROUP_NAME",
                            &config.admin_group,
                            format!("no such group in account {account_id}: refusing to decide who is an admin"),
                        )
                        .into(),
                    );
                }
                other => return Err::<(), StartupError>(other.into()),
            },
        }
        Ok(())
    };
    let policy = async {
        match iam
            .get_policy()
            .policy_arn(&config.deny_policy_arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => match classify("GetPolicy", e) {
                // Deleted (tampering, or never deployed): re-created before its first
                // use and notified; never a reason to stop revoking.
                PortError::NoSuchEntity { .. } => {
                    tracing::warn!(policy = %config.deny_policy_arn, "the deny policy does not exist: it will be re-created before its first use");
                }
                other => return Err::<(), StartupError>(other.into()),
            },
        }
        Ok(())
    };
    let topic = async {
        if let Some(topic) = &config.topic_arn {
            if let Err(e) = sns.get_topic_attributes().topic_arn(topic).send().await {
                return Err::<(), StartupError>(match classify("GetTopicAttributes", e) {
                    PortError::NoSuchEntity { .. } => {
                        unusable("TOPIC_ARN", topic, "no such topic".into()).into()
                    }
                    other => other.into(),
                });
            }
        }
        Ok(())
    };
    let queue = async {
        if let Some(url) = &config.dead_letter_queue_url {
            if let Err(e) = sqs.get_queue_attributes().queue_url(url).send().await {
                return Err::<(), StartupError>(match classify("GetQueueAttributes", e) {
                    PortError::NoSuchEntity { .. } => {
                        unusable("DEAD_LETTER_QUEUE_URL", url, "no such queue".into()).into()
                    }
                    other => other.into(),
                });
            }
        }
        Ok(())
    };
    // The ledger holds the trust: without it nobody would be trusted.
    let ledger = async {
        let Some(ddb) = &account.dynamodb else {
            return Ok(());
        };
        if let Err(e) = ddb
            .describe_table()
            .table_name(&config.ledger_table)
            .send()
            .await
        {
            return Err::<(), StartupError>(match classify("DescribeTable", e) {
                PortError::NoSuchEntity { .. } => unusable(
                    "LEDGER_TABLE",
                    &config.ledger_table,
                    "no such DynamoDB table (create it with `warden init`, or deploy the template)"
                        .into(),
                )
                .into(),
                other => other.into(),
            });
        }
        Ok(())
    };
    let quotas = async { Ok::<_, StartupError>(account.quotas().await?) };
    let ((), (), (), (), (), quotas) =
        tokio::try_join!(group, policy, topic, queue, ledger, quotas)?;
    let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(Environment {
        user_policy_quota: narrow(quotas.user),
        role_policy_quota: narrow(quotas.role),
        account_id,
        caller_arn,
    })
}

impl AwsAccount {
    /// The current name of the admin group the trust ledger knows by its unique id, when
    /// ADMIN_GROUP_NAME names no group (`None`: no ledger, no id recorded, or no group
    /// with it: the group never existed or was deleted).
    async fn renamed_admin_group(&self, account: &str) -> Result<Option<String>, PortError> {
        if self.ledger().is_err() {
            return Ok(None);
        }
        let recorded = match self.trust_set(account).await {
            Ok(set) => set.and_then(|s| s.admin_group_id),
            // No ledger table yet: nothing recorded (start-up checks the table later).
            Err(PortError::NoSuchEntity { .. }) => None,
            Err(e) => return Err(e),
        };
        match recorded {
            Some(id) => self.group_named(&id).await,
            None => Ok(None),
        }
    }

    /// The account these credentials act in (STS GetCallerIdentity).
    pub async fn account_id(&self) -> Result<String, PortError> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| classify("GetCallerIdentity", e))?;
        Ok(identity
            .account
            .or_else(|| identity.arn.as_deref().and_then(account_of))
            .unwrap_or_default())
    }

    /// The pruner's start-up: learns the account and checks that what the configuration
    /// names exists (the admin group unless PRUNE_ADMINS, the ledger table, the topic,
    /// the work queue). Returns the account id.
    pub async fn check_pruner(
        &self,
        config: &warden_core::prune::PruneConfig,
    ) -> Result<String, StartupError> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| classify("GetCallerIdentity", e))?;
        let account_id = identity
            .account
            .or_else(|| identity.arn.as_deref().and_then(account_of))
            .unwrap_or_default();
        let unusable = |var: &'static str, value: &str, problem: String| {
            StartupError::Config(ConfigError::Unusable {
                var,
                value: value.to_owned(),
                problem,
            })
        };
        if !config.prune_admins {
            if let Err(e) = self
                .iam
                .get_group()
                .group_name(&config.admin_group)
                .max_items(1)
                .send()
                .await
            {
                return Err(match classify("GetGroup", e) {
                    PortError::NoSuchEntity { .. } => unusable(
                        "ADMIN_GROUP_NAME",
                        &config.admin_group,
                        format!("no such group in account {account_id}: refusing to guess who is an admin"),
                    ),
                    other => other.into(),
                });
            }
        }
        if let Some(ddb) = &self.dynamodb {
            if let Err(e) = ddb
                .describe_table()
                .table_name(&config.ledger_table)
                .send()
                .await
            {
                return Err(match classify("DescribeTable", e) {
                    PortError::NoSuchEntity { .. } => unusable(
                        "LEDGER_TABLE",
                        &config.ledger_table,
                        "no such DynamoDB table (create it with `warden init` or deploy the template)".into(),
                    ),
                    other => other.into(),
                });
            }
        }
        if let Some(topic) = &config.topic_arn {
            if let Err(e) = self
                .sns
                .get_topic_attributes()
                .topic_arn(topic)
                .send()
                .await
            {
                return Err(match classify("GetTopicAttributes", e) {
                    PortError::NoSuchEntity { .. } => {
                        unusable("TOPIC_ARN", topic, "no such SNS topic".into())
                    }
                    other => other.into(),
                });
            }
        }
        if let Some(url) = &config.work_queue_url {
            if let Err(e) = self.sqs.get_queue_attributes().queue_url(url).send().await {
                return Err(match classify("GetQueueAttributes", e) {
                    PortError::NoSuchEntity { .. } => {
                        unusable("WORK_QUEUE_URL", url, "no such SQS queue".into())
                    }
                    other => other.into(),
                });
            }
        }
        Ok(account_id)
    }
}
