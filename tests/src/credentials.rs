//! Users' credentials with the dates a test needs: moto stamps every key and user "now",
//! so their creation and last use are seeded (tests/support/credential_dates.py).

use chrono::{Duration, Utc};

use crate::{post_json, TestAccount};

fn days_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

impl TestAccount {
    /// A user made 400 days ago, tagged `tags`, with one access key made `key_days`
    /// ago and last used `used_days` ago (`None`: never); returns the key's id.
    pub async fn user_with_key(
        &self,
        name: &str,
        tags: &[(&str, &str)],
        key_days: i64,
        used_days: Option<i64>,
    ) -> String {
        self.user(name, &[], tags).await;
        let key = self
            .iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .expect("CreateAccessKey")
            .access_key
            .expect("key")
            .access_key_id;
        post_json(
            "/_warden/credentials",
            &serde_json::json!({
                "account": self.id, "user": name, "created": days_ago(400),
                "keys": {&key: {"created": days_ago(key_days), "last_used": used_days.map(days_ago)}},
            }),
        );
        key
    }

    /// Gives `user` a console password last used `used_days` ago.
    pub async fn password_used(&self, user: &str, used_days: i64) {
        self.iam
            .create_login_profile()
            .user_name(user)
            .password("A-long-password-1!")
            .send()
            .await
            .expect("CreateLoginProfile");
        post_json(
            "/_warden/credentials",
            &serde_json::json!({
                "account": self.id, "user": user, "password_last_used": days_ago(used_days),
            }),
        );
    }

    /// Whether `user`'s key `id` is active, as IAM says.
    pub async fn key_active(&self, user: &str, id: &str) -> bool {
        self.iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .expect("ListAccessKeys")
            .access_key_metadata
            .into_iter()
            .find(|k| k.access_key_id.as_deref() == Some(id))
            .expect("the key")
            .status
            == Some(aws_sdk_iam::types::StatusType::Active)
    }

    /// Whether `user` has a console password.
    pub async fn has_password(&self, user: &str) -> bool {
        self.iam
            .get_login_profile()
            .user_name(user)
            .send()
            .await
            .is_ok()
    }
}
