//! Central mode: each member account's ports through its member role. IAM, STS and
//! CloudTrail calls are made in the member account with the member role's credentials
//! (STS AssumeRole, one session name: `iam-warden`, cached until shortly before they
//! expire); the topic, the queues and the ledger stay the central account's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{self, error::CredentialsError, future};
use aws_credential_types::Credentials;
use warden_core::central::{member_role_arn, SESSION_NAME};
use warden_core::config::{Config, Environment};
use warden_core::ports::{Members, PortError, PrunerMembers, Unreachable};

use crate::error::classify;
use crate::{AwsAccount, StartupError};

/// Credentials are renewed this long before they expire: a call never starts with
/// credentials that expire under it.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The member role's credentials in one account, cached.
#[derive(Debug)]
struct MemberCredentials {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    cached: tokio::sync::Mutex<Option<Credentials>>,
    /// AssumeRole calls made, over every account (the tests and the bench count them).
    assumed: Arc<AtomicU64>,
}

impl MemberCredentials {
    async fn get(&self) -> Result<Credentials, PortError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c
                .expiry()
                .is_some_and(|at| at > SystemTime::now() + RENEW_BEFORE);
            if fresh {
                return Ok(c.clone());
            }
        }
        self.assumed.fetch_add(1, Ordering::Relaxed);
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .send()
            .await
            .map_err(|e| classify("AssumeRole", e))?;
        let Some(c) = out.credentials else {
            return Err(PortError::Failed {
                operation: "AssumeRole",
                message: "no credentials in the answer".into(),
            });
        };
        let expiry = SystemTime::try_from(c.expiration).ok();
        let creds = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expiry,
            "iam-warden-member-role",
        );
        *cached = Some(creds.clone());
        Ok(creds)
    }
}

/// The SDK's view of [`MemberCredentials`].
#[derive(Debug, Clone)]
struct Provider(Arc<MemberCredentials>);

impl provider::ProvideCredentials for Provider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0.get().await.map_err(CredentialsError::provider_error)
        })
    }
}

/// The member accounts of central mode, opened through their member role.
#[derive(Debug, Clone)]
pub struct AwsMembers {
    sdk: SdkConfig,
    central: AwsAccount,
    sts: aws_sdk_sts::Client,
    role_name: String,
    assumed: Arc<AtomicU64>,
    /// The account the functions run in: its ports are the central ones.
    home_account: Option<String>,
    /// The accounts opened so far (their credentials cached), for the life of the process.
    opened: Arc<std::sync::Mutex<std::collections::HashMap<String, AwsAccount>>>,
    organizations: aws_sdk_organizations::Client,
}

impl AwsMembers {
    /// `central`: the central account's ports (topic, queues, ledger); `role_name`:
    /// MEMBER_ROLE_NAME. STS is called on the SDK configuration's region (its regional
    /// endpoint).
    pub fn new(sdk: &SdkConfig, central: AwsAccount, role_name: &str) -> Self {
        Self {
            sdk: sdk.clone(),
            sts: aws_sdk_sts::Client::new(sdk),
            central,
            role_name: role_name.to_owned(),
            assumed: Arc::default(),
            home_account: None,
            opened: Arc::default(),
            organizations: aws_sdk_organizations::Client::new(sdk),
        }
    }

    /// The account the functions run in (its own stack's roles act there, no member role).
    pub fn with_home_account(mut self, account: &str) -> Self {
        self.home_account = Some(account.to_owned());
        self
    }

    /// The ports of member `account`: its credentials are fetched once here, so that an
    /// account that is not a member is known now (access denied, no such role).
    pub async fn account(&self, account: &str) -> Result<AwsAccount, Unreachable> {
        if self.home_account.as_deref() == Some(account) {
            return Ok(self.central.clone());
        }
        if let Some(opened) = self
            .opened
            .lock()
            .ok()
            .and_then(|o| o.get(account).cloned())
        {
            return Ok(opened);
        }
        let creds = Arc::new(MemberCredentials {
            sts: Clone::clone(&self.sts),
            role_arn: member_role_arn(account, &self.role_name),
            cached: tokio::sync::Mutex::new(None),
            assumed: Arc::clone(&self.assumed),
        });
        match creds.get().await {
            Ok(_) => {}
            Err(e) if e.is_transient() => return Err(Unreachable::Transient(e)),
            Err(e) => {
                return Err(Unreachable::NotMember(format!(
                    "the member role {} cannot be assumed: {e}",
                    creds.role_arn
                )))
            }
        }
        let sdk = self
            .sdk
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Provider(
                    Arc::clone(&creds),
                )),
            )
            .build();
        let member = self.central.in_member(&sdk);
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(account.to_owned(), member.clone());
        }
        Ok(member)
    }

    /// The organization's active accounts (Organizations ListAccounts, from the
    /// management account or a delegated administrator), sorted.
    pub async fn active_accounts(&self) -> Result<Vec<String>, PortError> {
        let mut pages = self.organizations.list_accounts().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAccounts", e))?;
            for a in page.accounts.unwrap_or_default() {
                let active = a
                    .state
                    .as_ref()
                    .map(|s| s.as_str() == "ACTIVE")
                    .or_else(|| a.status.as_ref().map(|s| s.as_str() == "ACTIVE"))
                    .unwrap_or(false);
                if let (true, Some(id)) = (active, a.id) {
                    out.push(id);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// STS AssumeRole calls made so far, over every account (those refused included).
    pub fn assume_role_calls(&self) -> u64 {
        self.assumed.load(Ordering::Relaxed)
    }
}

impl PrunerMembers for AwsMembers {
    type Port = AwsAccount;

    fn home(&self) -> &AwsAccount {
        &self.central
    }

    async fn accounts(&self) -> Result<Vec<String>, PortError> {
        self.active_accounts().await
    }

    async fn keep_canary_alarms(
        &self,
        accounts: &[String],
    ) -> Result<warden_core::canary::AlarmPlan, PortError> {
        self.central.keep_canary_alarms(accounts).await
    }

    async fn open_pruner(&self, account: &str) -> Result<AwsAccount, Unreachable> {
        self.account(account).await
    }
}

impl Members for AwsMembers {
    type Port = AwsAccount;
    type Home = AwsAccount;

    fn home(&self) -> &AwsAccount {
        &self.central
    }

    async fn open(
        &self,
        account: &str,
        config: &Config,
    ) -> Result<(AwsAccount, Environment), Unreachable> {
        let member = self.account(account).await?;
        let env = member.discover(config).await.map_err(|e| match e {
            StartupError::Aws(p) if p.is_transient() => Unreachable::Transient(p),
            other => Unreachable::Unusable(other.to_string()),
        })?;
        Ok((member, env))
    }
}
