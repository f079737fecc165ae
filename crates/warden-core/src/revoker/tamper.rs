//! Tampering with the tool: its deny and quarantine policies verified before use and
//! repaired, changes to its roles and pipeline notified once.

use tracing::warn;

use crate::containment;
use crate::decision::Verdict;
use crate::event::Event;
use crate::notice;
use crate::ports::PolicyCheck;
use crate::ports::{PortError, RevokerPorts};
use crate::tamper::Tampering;
use crate::DENY_ALL_IAM_POLICY;

use super::state::Invocation;

impl<P: RevokerPorts> Invocation<'_, P> {
    /// An event that touched the tool's deny policy (it is verified and repaired now), its
    /// roles or its pipeline (notified once, whoever made it): as `decide` marked it.
    pub(super) async fn tampering(
        &mut self,
        event: &Event,
        verdict: &Verdict,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let Some(record) = event.record() else {
            return Ok(());
        };
        let what = match &verdict.marks.tampering {
            Some(Tampering::DenyPolicy) => return self.verify_deny_policy(Some(event)).await,
            Some(Tampering::QuarantinePolicy) => {
                return self.verify_quarantine_policy(Some(event)).await
            }
            Some(Tampering::ToolRole(role)) => format!(
                "iam:{} on iam-warden's own role `{role}` (its trust or permissions)",
                record.event_name.as_deref().unwrap_or("?")
            ),
            Some(Tampering::Pipeline(what)) => format!(
                "{}: {what} (iam-warden's own pipeline)",
                record.event_source.as_deref().unwrap_or("?")
            ),
            None => return Ok(()),
        };
        let event_id = event.event_id().unwrap_or("unknown");
        r.notify_once(TAMPERING, event, event_id, || {
            notice::for_tampering(Some(event), &what, &r.env)
        })
        .await
    }

    /// A rename to or from ADMIN_GROUP_NAME, put back by the admin group's unique id
    /// before the event is decided (its caller's membership is then read as it should
    /// be), notified once as tampering. Trust is not changed.
    pub(super) async fn put_back_admin_group(&mut self, event: &Event) -> Result<(), PortError> {
        let r = self.revoker;
        let admin = &r.config.admin_group;
        if !event
            .record()
            .is_some_and(|record| crate::admin_group::renames_admin_group(record, admin))
        {
            return Ok(());
        }
        let Some(what) =
            crate::vouch::ensure_admin_group(&r.port, &r.env.account_id, admin).await?
        else {
            return Ok(());
        };
        // Memberships read before are by the old names.
        self.facts.clear();
        let key = format!("{}/admin-group", event.event_id().unwrap_or("unknown"));
        r.notify_once(TAMPERING, event, &key, || {
            notice::for_tampering(Some(event), &what, &r.env)
        })
        .await
    }

    /// Verifies the deny policy before its first use in an invocation (or when `by` an
    /// event touched it): another default version is replaced by the tool's document, a
    /// deleted policy re-created; either is notified as tampering, never a reason to stop.
    pub(super) async fn verify_deny_policy(&mut self, by: Option<&Event>) -> Result<(), PortError> {
        if self.deny_verified && by.is_none() {
            return Ok(());
        }
        let arn = self.revoker.config.deny_policy_arn.clone();
        self.verify_tool_policy(&arn, DENY_ALL_IAM_POLICY, "deny", by)
            .await?;
        self.deny_verified = true;
        Ok(())
    }

    /// [`Self::verify_deny_policy`] for the quarantine policy, before its first use.
    pub(super) async fn verify_quarantine_policy(
        &mut self,
        by: Option<&Event>,
    ) -> Result<(), PortError> {
        let Some(arn) = self.revoker.config.quarantine_policy_arn.clone() else {
            return Ok(());
        };
        if self.quarantine_verified && by.is_none() {
            return Ok(());
        }
        self.verify_tool_policy(&arn, containment::QUARANTINE_POLICY, "quarantine", by)
            .await?;
        self.quarantine_verified = true;
        Ok(())
    }

    async fn verify_tool_policy(
        &self,
        arn: &str,
        document: &str,
        which: &str,
        by: Option<&Event>,
    ) -> Result<(), PortError> {
        let r = self.revoker;
        let check = r.port.verify_policy(arn, document).await?;
        let what = match check {
            PolicyCheck::Intact => return Ok(()),
            PolicyCheck::Repaired { found } => format!(
                "the {which} policy {arn} had another default version ({found}): the tool's document is the default again"
            ),
            PolicyCheck::Recreated => format!(
                "the {which} policy {arn} was deleted: re-created at the same path and name"
            ),
        };
        warn!(%what, "tampering repaired");
        if r.port.enabled() {
            r.port
                .publish(&notice::for_tampering(by, &what, &r.env))
                .await?;
        }
        Ok(())
    }
}

/// The ledger records (one a day) whose notified sets hold the tampering events notified.
pub(super) const TAMPERING: &str = "tampering";
