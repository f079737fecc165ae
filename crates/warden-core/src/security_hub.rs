//! The assessment's findings as AWS Security Hub takes them (issue 21): ASFF 2018-10-08,
//! one finding per failed check and resource with a stable id, so that a second import
//! updates it instead of adding another; the findings no longer true archived. Pure: the
//! adapter maps [`HubFinding`] to the SDK's type and calls BatchImportFindings.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::assess::{Assessment, Finding};

/// ASFF's schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// BatchImportFindings takes at most this many findings a call.
pub const BATCH_MAX: usize = 100;
/// The generator id's prefix: the findings of the tool are those whose generator starts
/// with it.
pub const GENERATOR_PREFIX: &str = "iam-warden/";

/// The product ARN of an account's own findings (Security Hub's default integration).
pub fn product_arn(region: &str, account: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account}:product/{account}/default")
}

/// A finding's stable id: the same check on the same resource is the same finding.
pub fn finding_id(account: &str, check: &str, resource: &str) -> String {
    format!("iam-warden/{account}/{check}/{resource}")
}

/// Whether a finding is current or archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Active,
    Archived,
}

/// One ASFF finding, as the tool writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFinding {
    pub id: String,
    pub product_arn: String,
    /// `iam-warden/<check>`.
    pub generator_id: String,
    pub account: String,
    pub region: String,
    /// ASFF types, e.g. `Software and Configuration Checks/Industry and Regulatory
    /// Standards/CIS AWS Foundations Benchmark`.
    pub types: Vec<String>,
    /// When the tool first found it (kept across imports), and now.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL.
    pub severity: &'static str,
    pub title: String,
    pub description: String,
    pub remediation: String,
    /// `AwsIamUser`, `AwsIamRole`, `AwsIamPolicy`, `AwsAccount`.
    pub resource_type: &'static str,
    pub resource_id: String,
    /// `FAILED` (the finding) or, for an archived one, what it was.
    pub compliance: &'static str,
    /// `CIS AWS Foundations Benchmark v3.0.0/1.10`, and the Security Hub control.
    pub related_requirements: Vec<String>,
    pub record_state: RecordState,
}

fn resource_type(resource: &str) -> &'static str {
    let tail = resource.split(':').nth(5).unwrap_or_default();
    if tail.starts_with("user/") {
        "AwsIamUser"
    } else if tail.starts_with("role/") {
        "AwsIamRole"
    } else if tail.starts_with("policy/") {
        "AwsIamPolicy"
    } else {
        "AwsAccount"
    }
}

fn hub_finding(
    a: &Assessment,
    f: &Finding,
    region: &str,
    created: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> HubFinding {
    let mut related = Vec::new();
    let mut types = Vec::new();
    if let Some(cis) = f.check.cis {
        related.push(format!("{}/{cis}", a.benchmark));
        types.push(
            "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"
                .to_owned(),
        );
    }
    if let Some(control) = f.check.security_hub {
        related.push(format!("AWS Security Hub control {control}"));
    }
    if types.is_empty() {
        types.push("Software and Configuration Checks/AWS Security Best Practices".to_owned());
    }
    HubFinding {
        id: finding_id(&a.account, f.check.id, &f.resource),
        product_arn: product_arn(region, &a.account),
        generator_id: format!("{GENERATOR_PREFIX}{}", f.check.id),
        account: a.account.clone(),
        region: region.to_owned(),
        types,
        // A first import has CreatedAt equal to UpdatedAt (Security Hub asks it).
        created_at: created.unwrap_or(now),
        updated_at: now,
        severity: f.check.severity.as_str(),
        title: f.check.title.chars().take(256).collect(),
        description: format!("{}: {}", f.check.title, f.evidence)
            .chars()
            .take(1024)
            .collect(),
        remediation: f.check.remediation.chars().take(512).collect(),
        resource_type: resource_type(&f.resource),
        resource_id: f.resource.clone(),
        compliance: "FAILED",
        related_requirements: related,
        record_state: RecordState::Active,
    }
}

/// What an import does: the failed findings (new, or updated keeping when they were first
/// found), and the tool's active findings that are no longer failed, to archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    pub import: Vec<HubFinding>,
    pub archive: Vec<String>,
}

/// The plan of an import of `a` in `region`, given the tool's findings active in
/// Security Hub (`active`: id → when first found). Informational findings (iam-warden's
/// own state) are not imported.
pub fn plan(
    a: &Assessment,
    region: &str,
    active: &BTreeMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ImportPlan {
    let mut import: Vec<HubFinding> = a
        .findings
        .iter()
        .filter(|f| !f.passed && f.check.severity != crate::assess::Severity::Informational)
        .map(|f| {
            let id = finding_id(&a.account, f.check.id, &f.resource);
            hub_finding(a, f, region, active.get(&id).copied(), now)
        })
        .collect();
    import.sort_by(|x, y| x.id.cmp(&y.id));
    import.dedup_by(|x, y| x.id == y.id);
    let current: BTreeSet<&str> = import.iter().map(|f| f.id.as_str()).collect();
    let archive = active
        .keys()
        .filter(|id| !current.contains(id.as_str()))
        .filter(|id| id.starts_with(&format!("iam-warden/{}/", a.account)))
        .cloned()
        .collect();
    ImportPlan { import, archive }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{Assessment, Finding, CONSOLE_MFA, ROOT_MFA, WARDEN_STATE};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn assessment(findings: Vec<Finding>) -> Assessment {
        Assessment {
            account: "123456789012".into(),
            generated_at: at("2026-12-05T00:00:00Z"),
            benchmark: crate::assess::CIS_VERSION,
            findings,
        }
    }

    fn f(check: &'static crate::assess::Check, resource: &str, passed: bool) -> Finding {
        Finding {
            check,
            resource: resource.into(),
            passed,
            evidence: "seen".into(),
        }
    }

    #[test]
    fn failed_findings_are_imported_with_stable_ids_and_the_fixed_ones_archived() {
        let bob = "arn:aws:iam::123456789012:user/bob";
        let root = "arn:aws:iam::123456789012:root";
        let a = assessment(vec![
            f(&CONSOLE_MFA, bob, false),
            f(&ROOT_MFA, root, true),
            f(&WARDEN_STATE, bob, true),
        ]);
        let now = at("2026-12-05T10:00:00Z");
        let first = plan(&a, "us-east-1", &BTreeMap::new(), now);
        assert!(first.archive.is_empty());
        assert_eq!(first.import.len(), 1, "the failed one only");
        let h = &first.import[0];
        assert_eq!(h.id, format!("iam-warden/123456789012/console-mfa/{bob}"));
        assert_eq!(
            h.product_arn,
            "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
        );
        assert_eq!(h.generator_id, "iam-warden/console-mfa");
        assert_eq!((h.created_at, h.updated_at), (now, now));
        assert_eq!((h.severity, h.resource_type), ("MEDIUM", "AwsIamUser"));
        assert_eq!(
            h.related_requirements,
            [
                "CIS AWS Foundations Benchmark v3.0.0/1.10",
                "AWS Security Hub control IAM.5"
            ]
        );
        assert_eq!(h.record_state, RecordState::Active);

        // Imported again a day later: the same id, first found kept; the root's
        // finding, active from an earlier import and now passed, archived; another
        // account's finding and one not of the tool are left alone.
        let later = at("2026-12-06T10:00:00Z");
        let active = BTreeMap::from([
            (h.id.clone(), now),
            (format!("iam-warden/123456789012/root-mfa/{root}"), now),
            ("iam-warden/999999999999/root-mfa/x".to_owned(), now),
        ]);
        let second = plan(&a, "us-east-1", &active, later);
        assert_eq!(second.import.len(), 1);
        assert_eq!(second.import[0].id, h.id);
        assert_eq!(
            (second.import[0].created_at, second.import[0].updated_at),
            (now, later)
        );
        assert_eq!(
            second.archive,
            [format!("iam-warden/123456789012/root-mfa/{root}")]
        );
        assert_eq!(resource_type(root), "AwsAccount");
        assert_eq!(
            resource_type("arn:aws:iam::123456789012:policy/x"),
            "AwsIamPolicy"
        );
        assert_eq!(
            resource_type("arn:aws:iam::123456789012:role/r"),
            "AwsIamRole"
        );
    }
}
