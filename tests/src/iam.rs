//! IAM in the test account: users, groups, roles and policies made as a test needs them,
//! Access Advisor seeded, and what IAM holds read back.

use aws_config::SdkConfig;

use crate::{assume, post_json, TestAccount};

impl TestAccount {
    /// Seeds moto's Access Advisor for `principal`: last use per service (RFC 3339),
    /// and optionally a job failure (`FAILED`, `STUCK`).
    pub fn seed_access(&self, principal: &str, services: &[(&str, String)], fail: Option<&str>) {
        let services: serde_json::Map<String, serde_json::Value> = services
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
            .collect();
        post_json(
            "/_warden/access-advisor",
            &serde_json::json!({
                "account": self.id, "principal": principal, "services": services, "fail": fail,
            }),
        );
    }

    /// A user with an inline policy allowing `actions`; returns its ARN.
    pub async fn user_with_access(&self, name: &str, groups: &[&str], actions: &[&str]) -> String {
        self.user(name, groups, &[]).await;
        let document = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        });
        self.iam
            .put_user_policy()
            .user_name(name)
            .policy_name("work")
            .policy_document(document.to_string())
            .send()
            .await
            .expect("PutUserPolicy");
        self.iam
            .get_user()
            .user_name(name)
            .send()
            .await
            .expect("GetUser")
            .user
            .expect("user")
            .arn
    }

    /// The default version's document of a managed policy, or `None` when it does not exist.
    pub async fn policy_document(&self, arn: &str) -> Option<(String, usize)> {
        let policy = self
            .iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .ok()?
            .policy?;
        let version = policy.default_version_id?;
        let doc = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .expect("GetPolicyVersion")
            .policy_version?
            .document?;
        let versions = self
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .expect("ListPolicyVersions")
            .versions
            .unwrap_or_default()
            .len();
        // IAM returns policy documents URL-encoded.
        let decoded = percent_encoding::percent_decode_str(&doc)
            .decode_utf8_lossy()
            .into_owned();
        Some((decoded, versions))
    }

    pub async fn group(&self, name: &str) {
        self.iam
            .create_group()
            .group_name(name)
            .send()
            .await
            .expect("CreateGroup");
    }

    pub async fn user(&self, name: &str, groups: &[&str], tags: &[(&str, &str)]) {
        let mut req = self.iam.create_user().user_name(name);
        for (k, v) in tags {
            req = req.tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .expect("tag"),
            );
        }
        req.send().await.expect("CreateUser");
        for g in groups {
            self.iam
                .add_user_to_group()
                .group_name(*g)
                .user_name(name)
                .send()
                .await
                .expect("AddUserToGroup");
        }
    }

    pub async fn policy(&self, name: &str, path: &str, document: &str) -> String {
        self.iam
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document)
            .send()
            .await
            .expect("CreatePolicy")
            .policy
            .and_then(|p| p.arn)
            .expect("policy arn")
    }

    /// Attaches `count` managed policies of its own to `user` (to reach the quota).
    pub async fn fill_managed_policies(&self, user: &str, count: usize) {
        for i in 0..count {
            let arn = self
                .policy(
                    &format!("{user}-{i}"),
                    "/",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
                )
                .await;
            self.iam
                .attach_user_policy()
                .user_name(user)
                .policy_arn(arn)
                .send()
                .await
                .expect("AttachUserPolicy");
        }
    }

    /// A role of this account with the trust policy `trust`; its ARN.
    pub async fn role_with_trust(&self, name: &str, trust: &serde_json::Value) -> String {
        self.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("CreateRole")
            .role
            .expect("role")
            .arn
    }

    /// The SDK configuration of one of this account's roles, as a function running as it
    /// has: credentials from STS AssumeRole (its trust must admit the tests' own identity),
    /// no account header (moto knows the account from the credentials).
    pub async fn as_role(&self, role: &str) -> SdkConfig {
        let arn = format!("arn:aws:iam::{}:role/{role}", self.id);
        let creds = assume(&self.sdk, &arn, "tests")
            .await
            .unwrap_or_else(|e| panic!("AssumeRole {arn}: {e}"));
        self.sdk
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(creds),
            )
            .build()
    }

    pub async fn deny_policy(&self) -> String {
        self.policy(
            "iam-warden-deny-iam",
            "/iam-warden/",
            warden_core::DENY_ALL_IAM_POLICY,
        )
        .await
    }

    pub async fn attached(&self, user: &str) -> Vec<String> {
        self.iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("ListAttachedUserPolicies")
            .attached_policies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_arn)
            .collect()
    }

    pub async fn inline(&self, user: &str) -> Vec<String> {
        self.iam
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("ListUserPolicies")
            .policy_names
    }

    pub async fn tags(&self, user: &str) -> std::collections::BTreeMap<String, String> {
        self.iam
            .list_user_tags()
            .user_name(user)
            .send()
            .await
            .expect("ListUserTags")
            .tags
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect()
    }

    /// An access key of a new user of this account: moto maps it back to the account,
    /// so a process given this key (the `warden` binary) works in this account.
    pub async fn access_key(&self, user: &str) -> (String, String) {
        self.iam
            .create_user()
            .user_name(user)
            .send()
            .await
            .expect("CreateUser");
        let key = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .expect("CreateAccessKey")
            .access_key
            .expect("key");
        (key.access_key_id, key.secret_access_key)
    }
}
