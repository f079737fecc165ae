//! iam-warden's actions on IAM: what the revoker undoes and contains
//! ([`AwsAccount::take_away`]), and what only `warden restore` puts back, with an
//! operator's credentials ([`AwsAccount::put_back`]).

use aws_sdk_iam::types::StatusType;
use warden_core::action::{Action, Credential, Holder};
use warden_core::containment::PolicyVersion;
use warden_core::ports::{Actions, Applied, PortError};
use warden_core::principal::EntityKind;

use crate::error::{bad, classify};
use crate::AwsAccount;

/// Sends an IAM request; its output is not needed, its error is classified under `op`.
macro_rules! send {
    ($op:literal, $request:expr) => {
        $request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify($op, e))
    };
}

fn status(active: bool) -> StatusType {
    if active {
        StatusType::Active
    } else {
        StatusType::Inactive
    }
}

impl Actions for AwsAccount {
    async fn apply(&self, action: &Action) -> Result<Applied, PortError> {
        let result = match action {
            Action::AddToGroup { .. }
            | Action::Tag { .. }
            | Action::CreateLoginProfile { .. }
            | Action::AttachPolicy {
                holder: Holder::Group,
                ..
            }
            | Action::PutInlinePolicy {
                holder: Holder::Group,
                ..
            }
            | Action::SetBoundary {
                holder: Holder::User | Holder::Group,
                boundary: None,
                ..
            } => self.put_back(action).await,
            Action::DenyPerson { account, person } => self
                .deny_person(account, person)
                .await
                .map(|()| Applied::Done),
            Action::LiftPerson { account, person } => self.lift_person(account, person).await,
            _ => self.take_away(action).await.map(|()| Applied::Done),
        };
        match result {
            Err(PortError::NoSuchEntity { .. }) => Ok(Applied::Gone),
            other => other,
        }
    }

    async fn group_members(&self, group: &str) -> Result<Vec<(String, Option<String>)>, PortError> {
        let mut pages = self
            .iam
            .get_group()
            .group_name(group)
            .into_paginator()
            .send();
        let mut users = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("GetGroup", e))?;
            users.extend(
                page.users
                    .into_iter()
                    .map(|u| (u.user_name, Some(u.user_id))),
            );
        }
        Ok(users)
    }

    async fn policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Option<Vec<PolicyVersion>>, PortError> {
        let mut pages = self
            .iam
            .list_policy_versions()
            .policy_arn(policy_arn)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page.map_err(|e| classify("ListPolicyVersions", e)) {
                Err(PortError::NoSuchEntity { .. }) => return Ok(None),
                other => other?,
            };
            versions.extend(
                page.versions
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| {
                        Some(PolicyVersion {
                            created: v
                                .create_date
                                .and_then(|d| chrono::DateTime::from_timestamp(d.secs(), 0)),
                            id: v.version_id?,
                            is_default: v.is_default_version,
                        })
                    }),
            );
        }
        Ok(Some(versions))
    }
}

impl AwsAccount {
    /// What the revoker does (its role allows exactly these): a membership removed, a
    /// tag taken off, a policy detached or deleted, the quarantine and the session
    /// revocation put on, a credential deactivated, a login profile deleted, a policy's
    /// default version set back. `warden restore` uses the same calls the other way
    /// (re-attach, re-activate), with an operator's credentials.
    async fn take_away(&self, action: &Action) -> Result<(), PortError> {
        let iam = &self.iam;
        match action {
            // A boundary put on one of the tool's roles (the stack sets none) removed, or
            // the quarantine as a role's boundary lifted by restore.
            Action::SetBoundary {
                holder: Holder::Role,
                name,
                boundary: None,
                ..
            } => send!(
                "DeleteRolePermissionsBoundary",
                iam.delete_role_permissions_boundary().role_name(name)
            ),
            Action::RemoveFromGroup { group, user } => send!(
                "RemoveUserFromGroup",
                iam.remove_user_from_group()
                    .group_name(group)
                    .user_name(user)
            ),
            Action::Untag {
                kind: EntityKind::User,
                name,
                key,
                ..
            } => send!("UntagUser", iam.untag_user().user_name(name).tag_keys(key)),
            Action::Untag {
                kind: EntityKind::Role,
                name,
                key,
                ..
            } => send!("UntagRole", iam.untag_role().role_name(name).tag_keys(key)),
            Action::DetachPolicy {
                holder,
                name,
                policy_arn,
            } => match holder {
                Holder::User => send!(
                    "DetachUserPolicy",
                    iam.detach_user_policy()
                        .user_name(name)
                        .policy_arn(policy_arn)
                ),
                Holder::Role => send!(
                    "DetachRolePolicy",
                    iam.detach_role_policy()
                        .role_name(name)
                        .policy_arn(policy_arn)
                ),
                Holder::Group => send!(
                    "DetachGroupPolicy",
                    iam.detach_group_policy()
                        .group_name(name)
                        .policy_arn(policy_arn)
                ),
            },
            Action::AttachPolicy {
                holder,
                name,
                policy_arn,
            } => match holder {
                Holder::User => send!(
                    "AttachUserPolicy",
                    iam.attach_user_policy()
                        .user_name(name)
                        .policy_arn(policy_arn)
                ),
                Holder::Role => send!(
                    "AttachRolePolicy",
                    iam.attach_role_policy()
                        .role_name(name)
                        .policy_arn(policy_arn)
                ),
                Holder::Group => Err(bad(
                    "apply",
                    "a group's policy is put back by restore".into(),
                )),
            },
            Action::DeleteInlinePolicy {
                holder,
                name,
                policy_name,
                ..
            } => match holder {
                Holder::User => send!(
                    "DeleteUserPolicy",
                    iam.delete_user_policy()
                        .user_name(name)
                        .policy_name(policy_name)
                ),
                Holder::Role => send!(
                    "DeleteRolePolicy",
                    iam.delete_role_policy()
                        .role_name(name)
                        .policy_name(policy_name)
                ),
                Holder::Group => send!(
                    "DeleteGroupPolicy",
                    iam.delete_group_policy()
                        .group_name(name)
                        .policy_name(policy_name)
                ),
            },
            Action::PutInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            } => match holder {
                Holder::User => send!(
                    "PutUserPolicy",
                    iam.put_user_policy()
                        .user_name(name)
                        .policy_name(policy_name)
                        .policy_document(document)
                ),
                Holder::Role => send!(
                    "PutRolePolicy",
                    iam.put_role_policy()
                        .role_name(name)
                        .policy_name(policy_name)
                        .policy_document(document)
                ),
                Holder::Group => Err(bad(
                    "apply",
                    "a group's policy is put back by restore".into(),
                )),
            },
            Action::SetCredential {
                user,
                credential,
                active,
            } => match credential {
                Credential::AccessKey(id) => send!(
                    "UpdateAccessKey",
                    iam.update_access_key()
                        .user_name(user)
                        .access_key_id(id)
                        .status(status(*active))
                ),
                Credential::ServiceSpecific(id) => send!(
                    "UpdateServiceSpecificCredential",
                    iam.update_service_specific_credential()
                        .user_name(user)
                        .service_specific_credential_id(id)
                        .status(status(*active))
                ),
                Credential::SshPublicKey(id) => send!(
                    "UpdateSSHPublicKey",
                    iam.update_ssh_public_key()
                        .user_name(user)
                        .ssh_public_key_id(id)
                        .status(status(*active))
                ),
                Credential::SigningCertificate(id) => send!(
                    "UpdateSigningCertificate",
                    iam.update_signing_certificate()
                        .user_name(user)
                        .certificate_id(id)
                        .status(status(*active))
                ),
                Credential::MfaDevice(serial) if !active => send!(
                    "DeactivateMFADevice",
                    iam.deactivate_mfa_device()
                        .user_name(user)
                        .serial_number(serial)
                ),
                Credential::MfaDevice(_) => Err(bad(
                    "EnableMFADevice",
                    "an MFA device is enabled again only by its owner (two codes)".into(),
                )),
            },
            Action::DeleteLoginProfile { user } => {
                send!(
                    "DeleteLoginProfile",
                    iam.delete_login_profile().user_name(user)
                )
            }
            Action::SetBoundary {
                holder,
                name,
                boundary: Some(boundary),
                ..
            } => match holder {
                Holder::User => send!(
                    "PutUserPermissionsBoundary",
                    iam.put_user_permissions_boundary()
                        .user_name(name)
                        .permissions_boundary(boundary)
                ),
                Holder::Role => send!(
                    "PutRolePermissionsBoundary",
                    iam.put_role_permissions_boundary()
                        .role_name(name)
                        .permissions_boundary(boundary)
                ),
                Holder::Group => Err(bad("apply", "a group has no permissions boundary".into())),
            },
            Action::Rename {
                holder: Holder::User,
                from,
                to,
            } => send!(
                "UpdateUser",
                iam.update_user().user_name(from).new_user_name(to)
            ),
            Action::Rename {
                holder: Holder::Group,
                from,
                to,
            } => send!(
                "UpdateGroup",
                iam.update_group().group_name(from).new_group_name(to)
            ),
            Action::SetTrustPolicy { role, document, .. } => send!(
                "UpdateAssumeRolePolicy",
                iam.update_assume_role_policy()
                    .role_name(role)
                    .policy_document(document)
            ),
            Action::SetDefaultVersion {
                policy_arn,
                version,
                ..
            } => send!(
                "SetDefaultPolicyVersion",
                iam.set_default_policy_version()
                    .policy_arn(policy_arn)
                    .version_id(version)
            ),
            other => Err(bad(
                "apply",
                format!("`{other}` is not the revoker's to do"),
            )),
        }
    }

    /// What only `warden restore` does, with an operator's credentials: a membership
    /// or a tag put back, a group's policy, a boundary removed, a login profile with a
    /// new password. The revoker's role may not.
    async fn put_back(&self, action: &Action) -> Result<Applied, PortError> {
        let iam = &self.iam;
        let tag = |key: &str, value: &str| {
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| bad("TagUser", e.to_string()))
        };
        match action {
            Action::AddToGroup { group, user } => send!(
                "AddUserToGroup",
                iam.add_user_to_group().group_name(group).user_name(user)
            ),
            Action::Tag {
                kind: EntityKind::User,
                name,
                key,
                value,
            } => send!(
                "TagUser",
                iam.tag_user().user_name(name).tags(tag(key, value)?)
            ),
            Action::Tag {
                kind: EntityKind::Role,
                name,
                key,
                value,
            } => send!(
                "TagRole",
                iam.tag_role().role_name(name).tags(tag(key, value)?)
            ),
            Action::AttachPolicy {
                holder: Holder::Group,
                name,
                policy_arn,
            } => send!(
                "AttachGroupPolicy",
                iam.attach_group_policy()
                    .group_name(name)
                    .policy_arn(policy_arn)
            ),
            Action::PutInlinePolicy {
                holder: Holder::Group,
                name,
                policy_name,
                document,
            } => send!(
                "PutGroupPolicy",
                iam.put_group_policy()
                    .group_name(name)
                    .policy_name(policy_name)
                    .policy_document(document)
            ),
            Action::SetBoundary {
                holder: Holder::User,
                name,
                boundary: None,
                ..
            } => send!(
                "DeleteUserPermissionsBoundary",
                iam.delete_user_permissions_boundary().user_name(name)
            ),
            Action::CreateLoginProfile { user } => {
                let password = new_password()?;
                send!(
                    "CreateLoginProfile",
                    iam.create_login_profile()
                        .user_name(user)
                        .password(&password)
                        .password_reset_required(true)
                )?;
                return Ok(Applied::Password(password));
            }
            other => Err(bad("apply", format!("`{other}` is not a putting back"))),
        }
        .map(|()| Applied::Done)
    }
}

/// A console password from the operating system's generator: 32 characters, each of
/// the four classes IAM's password policy can require in turn.
pub(crate) fn new_password() -> Result<String, PortError> {
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!@#$%^&*()-_=+[]{}",
    ];
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| bad("CreateLoginProfile", format!("no randomness: {e}")))?;
    Ok(bytes
        .iter()
        .zip(CLASSES.iter().cycle())
        .filter_map(|(b, class)| {
            class
                .get(usize::from(*b) % class.len())
                .map(|c| char::from(*c))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_has_every_class_and_is_never_the_same() {
        let a = new_password().unwrap();
        let b = new_password().unwrap();
        assert_eq!(a.chars().count(), 32);
        assert_ne!(a, b);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| !c.is_ascii_alphanumeric()));
    }
}
