//! IAM writes on a principal: the deny (attached, inline or as a boundary) put on and
//! taken off, and the record tags.

use aws_sdk_iam::types::Tag;
use warden_core::ports::{Enforcer, PortError};
use warden_core::principal::{EntityKind, Target};

use crate::error::{bad, classify};
use crate::AwsAccount;

/// `NoSuchEntity` as `Ok(false)`: detaching what is not attached is success.
fn absent_is_false(result: Result<(), PortError>) -> Result<bool, PortError> {
    match result {
        Ok(()) => Ok(true),
        Err(PortError::NoSuchEntity { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

impl Enforcer for AwsAccount {
    async fn set_boundary(&self, target: &Target, boundary: Option<&str>) -> Result<(), PortError> {
        let name = target.name.as_str();
        let Some(arn) = boundary else {
            return self.remove_boundary(target).await;
        };
        match target.kind {
            EntityKind::User => self
                .iam
                .put_user_permissions_boundary()
                .user_name(name)
                .permissions_boundary(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("PutUserPermissionsBoundary", e)),
            EntityKind::Role => self
                .iam
                .put_role_permissions_boundary()
                .role_name(name)
                .permissions_boundary(arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("PutRolePermissionsBoundary", e)),
        }
    }

    async fn tag(&self, target: &Target, tags: &[(&str, String)]) -> Result<(), PortError> {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(*k).value(v).build())
            .collect::<Result<_, _>>()
            .map_err(|e| bad("TagUser", e.to_string()))?;
        match target.kind {
            EntityKind::User => self
                .iam
                .tag_user()
                .user_name(&target.name)
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("TagUser", e)),
            EntityKind::Role => self
                .iam
                .tag_role()
                .role_name(&target.name)
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("TagRole", e)),
        }
    }

    async fn untag(&self, target: &Target, keys: &[&str]) -> Result<(), PortError> {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        match target.kind {
            EntityKind::User => self
                .iam
                .untag_user()
                .user_name(&target.name)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("UntagUser", e)),
            EntityKind::Role => self
                .iam
                .untag_role()
                .role_name(&target.name)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("UntagRole", e)),
        }
    }

    async fn attach_policy(&self, target: &Target, policy_arn: &str) -> Result<(), PortError> {
        match target.kind {
            EntityKind::User => self
                .iam
                .attach_user_policy()
                .user_name(&target.name)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("AttachUserPolicy", e)),
            EntityKind::Role => self
                .iam
                .attach_role_policy()
                .role_name(&target.name)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("AttachRolePolicy", e)),
        }
    }

    async fn detach_policy(&self, target: &Target, policy_arn: &str) -> Result<bool, PortError> {
        absent_is_false(match target.kind {
            EntityKind::User => self
                .iam
                .detach_user_policy()
                .user_name(&target.name)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DetachUserPolicy", e)),
            EntityKind::Role => self
                .iam
                .detach_role_policy()
                .role_name(&target.name)
                .policy_arn(policy_arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DetachRolePolicy", e)),
        })
    }

    async fn put_inline_policy(
        &self,
        target: &Target,
        name: &str,
        document: &str,
    ) -> Result<(), PortError> {
        match target.kind {
            EntityKind::User => self
                .iam
                .put_user_policy()
                .user_name(&target.name)
                .policy_name(name)
                .policy_document(document)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("PutUserPolicy", e)),
            EntityKind::Role => self
                .iam
                .put_role_policy()
                .role_name(&target.name)
                .policy_name(name)
                .policy_document(document)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("PutRolePolicy", e)),
        }
    }

    async fn delete_inline_policy(&self, target: &Target, name: &str) -> Result<bool, PortError> {
        absent_is_false(match target.kind {
            EntityKind::User => self
                .iam
                .delete_user_policy()
                .user_name(&target.name)
                .policy_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DeleteUserPolicy", e)),
            EntityKind::Role => self
                .iam
                .delete_role_policy()
                .role_name(&target.name)
                .policy_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DeleteRolePolicy", e)),
        })
    }
}

impl AwsAccount {
    /// Removes a principal's boundary: only `warden restore` does, with an operator's
    /// credentials (putting back "no boundary" after iam-warden's).
    async fn remove_boundary(&self, target: &Target) -> Result<(), PortError> {
        let name = target.name.as_str();
        let result = match target.kind {
            EntityKind::User => self
                .iam
                .delete_user_permissions_boundary()
                .user_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DeleteUserPermissionsBoundary", e)),
            EntityKind::Role => self
                .iam
                .delete_role_permissions_boundary()
                .role_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("DeleteRolePermissionsBoundary", e)),
        };
        match result {
            // No boundary to remove is what was wanted.
            Err(PortError::NoSuchEntity { .. }) => Ok(()),
            other => other,
        }
    }
}
