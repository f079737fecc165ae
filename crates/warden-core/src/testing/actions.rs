//! iam-warden's actions on IAM, in memory: every `Action` carried out on the state,
//! the policies' versions and the groups' members.

use crate::action::Action;
use crate::ports::{Actions, Applied, Enforcer, PortError};
use crate::principal::{EntityKind, Target};

use super::MemoryAccount;

impl Actions for MemoryAccount {
    async fn apply(&self, action: &Action) -> Result<Applied, PortError> {
        use crate::action::Holder;
        let gone = |what: String| PortError::NoSuchEntity {
            operation: "apply",
            message: what,
        };
        let principal = |holder: Holder, name: &str| Target {
            kind: holder.kind().unwrap_or(EntityKind::User),
            name: name.to_owned(),
            arn: String::new(),
        };
        let result = match action {
            Action::DenyPerson { account, person } => {
                let mut s = self.enter("apply")?;
                s.scp_people.insert((account.clone(), person.clone()));
                Ok(())
            }
            Action::LiftPerson { account, person } => {
                let mut s = self.enter("apply")?;
                s.scp_people.remove(&(account.clone(), person.clone()));
                Ok(())
            }
            Action::RemoveFromGroup { user, .. } | Action::AddToGroup { user, .. } => self
                .with_principal("apply", &principal(Holder::User, user), |f, _| {
                    match action {
                        Action::RemoveFromGroup { group, .. } if !f.groups.remove(group) => {
                            return Err(gone(format!("{user} not in {group}")));
                        }
                        Action::AddToGroup { group, .. } => {
                            f.groups.insert(group.clone());
                        }
                        _ => {}
                    }
                    Ok(())
                }),
            Action::Untag { kind, name, .. } | Action::Tag { kind, name, .. } => {
                let target = Target {
                    kind: *kind,
                    name: name.clone(),
                    arn: String::new(),
                };
                self.with_principal("apply", &target, |f, _| {
                    match action {
                        Action::Untag { key, .. } => {
                            f.tags.remove(key);
                        }
                        Action::Tag { key, value, .. } => {
                            f.tags.insert(key.clone(), value.clone());
                        }
                        _ => {}
                    }
                    Ok(())
                })
            }
            Action::AttachPolicy {
                holder: Holder::Group,
                name,
                policy_arn,
            } => {
                let mut s = self.enter("apply")?;
                s.group_policies.insert((name.clone(), policy_arn.clone()));
                Ok(())
            }
            Action::DetachPolicy {
                holder: Holder::Group,
                name,
                policy_arn,
            } => {
                let mut s = self.enter("apply")?;
                if s.group_policies.remove(&(name.clone(), policy_arn.clone())) {
                    Ok(())
                } else {
                    Err(gone(format!("{policy_arn} not attached to group/{name}")))
                }
            }
            Action::AttachPolicy {
                holder,
                name,
                policy_arn,
            } => {
                let target = principal(*holder, name);
                self.attach_policy(&target, policy_arn).await
            }
            Action::DetachPolicy {
                holder,
                name,
                policy_arn,
            } => self.with_principal("apply", &principal(*holder, name), |f, _| {
                if f.attached_policies.remove(policy_arn) {
                    Ok(())
                } else {
                    Err(gone(format!("{policy_arn} not attached")))
                }
            }),
            Action::PutInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            }
            | Action::DeleteInlinePolicy {
                holder,
                name,
                policy_name,
                document,
            } => {
                let put = matches!(action, Action::PutInlinePolicy { .. });
                let key = (format!("{}/{name}", holder.as_str()), policy_name.clone());
                let changed = if *holder == Holder::Group {
                    Ok(())
                } else {
                    self.with_principal("apply", &principal(*holder, name), |f, _| {
                        if put {
                            f.inline_policies.insert(policy_name.clone());
                            Ok(())
                        } else if f.inline_policies.remove(policy_name) {
                            Ok(())
                        } else {
                            Err(gone(format!("no inline policy {policy_name}")))
                        }
                    })
                };
                changed.and_then(|()| {
                    let mut s = self.enter("apply")?;
                    match (put, s.inline_documents.remove(&key)) {
                        (true, _) => {
                            s.inline_documents.insert(key, document.clone());
                            Ok(())
                        }
                        (false, Some(_)) => Ok(()),
                        (false, None) if *holder == Holder::Group => {
                            Err(gone(format!("no inline policy {policy_name}")))
                        }
                        (false, None) => Ok(()),
                    }
                })
            }
            Action::SetCredential {
                user,
                credential,
                active,
            } => {
                let mut s = self.enter("apply")?;
                match s.credentials.get_mut(&(user.clone(), credential.clone())) {
                    Some(state) => {
                        *state = *active;
                        Ok(())
                    }
                    None => Err(gone(format!("{credential} of {user}"))),
                }
            }
            Action::DeleteLoginProfile { user } => {
                let mut s = self.enter("apply")?;
                if s.login_profiles.remove(user) {
                    Ok(())
                } else {
                    Err(gone(format!("no login profile for {user}")))
                }
            }
            Action::CreateLoginProfile { user } => {
                let mut s = self.enter("apply")?;
                if !s.principals.contains_key(&(EntityKind::User, user.clone())) {
                    return Ok(Applied::Gone);
                }
                s.login_profiles.insert(user.clone());
                return Ok(Applied::Password("in-memory-password".into()));
            }
            Action::SetBoundary {
                holder,
                name,
                boundary,
                ..
            } => self.with_principal("apply", &principal(*holder, name), |f, _| {
                f.boundary = boundary.clone();
                Ok(())
            }),
            Action::Rename { holder, from, to } => {
                let mut s = self.enter("apply")?;
                match holder {
                    Holder::User => match s.principals.remove(&(EntityKind::User, from.clone())) {
                        Some(f) => {
                            s.principals.insert((EntityKind::User, to.clone()), f);
                            s.rename_user(from, to);
                            Ok(())
                        }
                        None => Err(gone(format!("no user {from}"))),
                    },
                    _ => {
                        for f in s.principals.values_mut() {
                            if f.groups.remove(from) {
                                f.groups.insert(to.clone());
                            }
                        }
                        if let Some(id) = s.group_ids.remove(from) {
                            s.group_ids.insert(to.clone(), id);
                        }
                        Ok(())
                    }
                }
            }
            Action::SetTrustPolicy { role, document, .. } => {
                let mut s = self.enter("apply")?;
                if !s.principals.contains_key(&(EntityKind::Role, role.clone())) {
                    return Ok(Applied::Gone);
                }
                s.trust_policies.insert(role.clone(), document.clone());
                Ok(())
            }
            Action::SetDefaultVersion {
                policy_arn,
                version,
                ..
            } => {
                let mut s = self.enter("apply")?;
                match s.policy_versions.get_mut(policy_arn) {
                    Some(versions) if versions.iter().any(|v| v.id == *version) => {
                        for v in versions.iter_mut() {
                            v.is_default = v.id == *version;
                        }
                        Ok(())
                    }
                    _ => Err(gone(format!("{policy_arn} {version}"))),
                }
            }
        };
        match result {
            Ok(()) => Ok(Applied::Done),
            Err(PortError::NoSuchEntity { .. }) => Ok(Applied::Gone),
            Err(e) => Err(e),
        }
    }

    async fn policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Option<Vec<crate::containment::PolicyVersion>>, PortError> {
        let s = self.enter("policy_versions")?;
        Ok(s.policy_versions.get(policy_arn).cloned())
    }

    async fn group_members(&self, group: &str) -> Result<Vec<(String, Option<String>)>, PortError> {
        let s = self.enter("group_members")?;
        Ok(s.principals
            .iter()
            .filter(|((kind, _), f)| *kind == EntityKind::User && f.groups.contains(group))
            .map(|((_, name), f)| (name.clone(), f.unique_id.clone()))
            .collect())
    }
}
