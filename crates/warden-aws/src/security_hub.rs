//! AWS Security Hub (issue 21): the assessment's findings imported in ASFF
//! (BatchImportFindings, at most 100 a call), the tool's active findings read back
//! (GetFindings) to keep when each was first found and to archive those fixed.

use std::collections::BTreeMap;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, Compliance, ComplianceStatus, Recommendation,
    RecordState as SdkRecordState, Remediation, Resource, Severity, SeverityLabel, StringFilter,
    StringFilterComparison,
};
use chrono::{DateTime, SecondsFormat, Utc};
use warden_core::ports::{PortError, SecurityHub};
use warden_core::security_hub::{
    product_arn, HubFinding, RecordState, BATCH_MAX, GENERATOR_PREFIX, SCHEMA_VERSION,
};

use crate::error::{bad, classify};
use crate::AwsAccount;

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn filter(value: &str, comparison: StringFilterComparison) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(comparison)
        .build()
}

fn asff(f: &HubFinding) -> AwsSecurityFinding {
    let resource = Resource::builder()
        .r#type(f.resource_type)
        .id(&f.resource_id)
        .partition(aws_sdk_securityhub::types::Partition::Aws)
        .region(&f.region)
        .build();
    let mut compliance = Compliance::builder().status(ComplianceStatus::Failed);
    for r in &f.related_requirements {
        compliance = compliance.related_requirements(r);
    }
    AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.account)
        .region(&f.region)
        .set_types(Some(f.types.clone()))
        .created_at(iso(f.created_at))
        .updated_at(iso(f.updated_at))
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(f.severity))
                .original(f.severity)
                .build(),
        )
        .title(&f.title)
        .description(&f.description)
        .remediation(
            Remediation::builder()
                .recommendation(Recommendation::builder().text(&f.remediation).build())
                .build(),
        )
        .resources(resource)
        .compliance(compliance.build())
        .product_name("iam-warden")
        .company_name("iam-warden")
        .record_state(match f.record_state {
            RecordState::Active => SdkRecordState::Active,
            RecordState::Archived => SdkRecordState::Archived,
        })
        .build()
}

impl AwsAccount {
    fn hub(&self) -> Result<&aws_sdk_securityhub::Client, PortError> {
        self.securityhub
            .as_ref()
            .ok_or_else(|| bad("BatchImportFindings", "no Security Hub client".into()))
    }

    /// The tool's active findings of `account`, as Security Hub has them. GetFindings is
    /// asked for exactly those; they are checked again here (a filter Security Hub did not
    /// apply must not make the tool archive another product's finding).
    async fn tools_findings(&self, account: &str) -> Result<Vec<AwsSecurityFinding>, PortError> {
        let hub = self.hub()?;
        let product = product_arn(&self.hub_region(), account);
        let filters = AwsSecurityFindingFilters::builder()
            .product_arn(filter(&product, StringFilterComparison::Equals))
            .record_state(filter("ACTIVE", StringFilterComparison::Equals))
            .generator_id(filter(GENERATOR_PREFIX, StringFilterComparison::Prefix))
            .aws_account_id(filter(account, StringFilterComparison::Equals))
            .build();
        let mut pages = hub
            .get_findings()
            .filters(filters)
            .max_results(100)
            .into_paginator()
            .send();
        let mine = format!("iam-warden/{account}/");
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("GetFindings", e))?;
            out.extend(page.findings.unwrap_or_default().into_iter().filter(|f| {
                f.product_arn.as_deref() == Some(product.as_str())
                    && f.id.as_deref().is_some_and(|id| id.starts_with(&mine))
                    && f.generator_id
                        .as_deref()
                        .is_some_and(|g| g.starts_with(GENERATOR_PREFIX))
                    && f.record_state
                        .as_ref()
                        .is_none_or(|s| *s == SdkRecordState::Active)
            }));
        }
        Ok(out)
    }

    async fn import(&self, findings: Vec<AwsSecurityFinding>) -> Result<(), PortError> {
        let hub = self.hub()?;
        let mut findings = findings.into_iter().peekable();
        while findings.peek().is_some() {
            let batch: Vec<AwsSecurityFinding> = findings.by_ref().take(BATCH_MAX).collect();
            let out = hub
                .batch_import_findings()
                .set_findings(Some(batch))
                .send()
                .await
                .map_err(|e| classify("BatchImportFindings", e))?;
            let failed = out.failed_count.unwrap_or(0);
            if failed > 0 {
                let first = out
                    .failed_findings
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .map(|f| {
                        format!(
                            "{}: {} {}",
                            f.id.unwrap_or_default(),
                            f.error_code.unwrap_or_default(),
                            f.error_message.unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                return Err(bad(
                    "BatchImportFindings",
                    format!("{failed} finding(s) refused, the first {first}"),
                ));
            }
        }
        Ok(())
    }
}

impl SecurityHub for AwsAccount {
    fn hub_region(&self) -> String {
        self.securityhub
            .as_ref()
            .and_then(|h| h.config().region().map(|r| r.to_string()))
            .unwrap_or_else(|| "us-east-1".into())
    }

    async fn active_findings(
        &self,
        account: &str,
    ) -> Result<BTreeMap<String, DateTime<Utc>>, PortError> {
        Ok(self
            .tools_findings(account)
            .await?
            .into_iter()
            .filter_map(|f| {
                let created = f
                    .created_at
                    .as_deref()
                    .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                    .map(|d| d.with_timezone(&Utc))?;
                Some((f.id?, created))
            })
            .collect())
    }

    async fn import_findings(&self, findings: &[HubFinding]) -> Result<(), PortError> {
        self.import(findings.iter().map(asff).collect()).await
    }

    async fn archive_findings(
        &self,
        account: &str,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        if ids.is_empty() {
            return Ok(());
        }
        let archived: Vec<AwsSecurityFinding> = self
            .tools_findings(account)
            .await?
            .into_iter()
            .filter(|f| f.id.as_ref().is_some_and(|id| ids.contains(id)))
            .map(|mut f| {
                f.record_state = Some(SdkRecordState::Archived);
                f.updated_at = Some(iso(now));
                f
            })
            .collect();
        self.import(archived).await
    }
}
