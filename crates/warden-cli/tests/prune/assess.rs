//! `warden assess` as an operator runs it, against moto with the dates IAM keeps seeded:
//! each check failing once and passing once; the JSON, the text and the HTML page, the
//! page loaded in headless Chromium.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};

use super::{stderr, stdout, Operator};

fn ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339()
}

/// The findings' results by (check, resource name).
fn results(report: &serde_json::Value) -> BTreeMap<(String, String), bool> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let resource = f["resource"].as_str().unwrap();
            let name = resource.rsplit(['/', ':']).next().unwrap().to_owned();
            (
                (f["check"].as_str().unwrap().to_owned(), name),
                f["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn assess_finds_each_check_failing_once_and_passing_once() {
    let op = Operator::new().await;
    let t = &op.account;
    let post = |body: serde_json::Value| warden_it::post_json("/_warden/credentials", &body);
    // The root user: an active key, no MFA, signed in 10 days ago.
    post(
        serde_json::json!({"account": t.id, "user": "<root_account>", "mfa": false,
        "password_last_used": ago(10), "keys": [{"active": true, "created": ago(400), "last_used": ago(200)}]}),
    );
    // Console users with and without MFA.
    t.user_with_key("nomfa", &[], 10, Some(1)).await;
    t.password_used("nomfa", 1).await;
    t.user_with_key("withmfa", &[], 10, Some(1)).await;
    t.password_used("withmfa", 1).await;
    let serial = t
        .iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("withmfa")
        .send()
        .await
        .unwrap()
        .virtual_mfa_device
        .unwrap()
        .serial_number;
    t.iam
        .enable_mfa_device()
        .user_name("withmfa")
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    // A stale key (made 100 days ago, unused 50), with a scoped inline policy; and two
    // active keys.
    t.user_with_key("stale", &[], 100, Some(50)).await;
    t.iam
        .put_user_policy()
        .user_name("stale")
        .policy_name("read")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let second = t.user_with_key("twokeys", &[], 10, Some(1)).await;
    let other = t
        .iam
        .create_access_key()
        .user_name("twokeys")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    warden_it::post_json(
        "/_warden/credentials",
        &serde_json::json!({"account": t.id, "user": "twokeys",
            "keys": {&other: {"created": ago(5), "last_used": ago(1)}, &second: {"last_used": ago(1)}}}),
    );
    // AdministratorAccess attached; "*" inline; iam:* in a customer managed policy.
    t.user("admin", &[], &[]).await;
    t.iam
        .attach_user_policy()
        .user_name("admin")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    t.user("wild", &[], &[]).await;
    t.iam
        .put_user_policy()
        .user_name("wild")
        .policy_name("everything")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let iam_all = t
        .policy(
            "iam-all",
            "/",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
        )
        .await;
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    t.role_with_trust("deployer", &trust).await;
    t.iam
        .attach_role_policy()
        .role_name("deployer")
        .policy_arn(&iam_all)
        .send()
        .await
        .unwrap();
    // Roles made 200 days ago: one idle since, one that used S3 5 days ago.
    t.role_with_trust("idle", &trust).await;
    t.role_with_trust("busy", &trust).await;
    t.iam
        .put_role_policy()
        .role_name("busy")
        .policy_name("read")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    for role in ["idle", "busy", "deployer"] {
        warden_it::post_json(
            "/_warden/credentials",
            &serde_json::json!({"account": t.id, "role": role, "created": ago(200)}),
        );
    }
    t.seed_access(
        &format!("arn:aws:iam::{}:role/busy", t.id),
        &[("s3", ago(5))],
        None,
    );

    let out = op.warden(&["assess", "--json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let r = results(&report);
    let at = |check: &str, name: &str| {
        *r.get(&(check.to_owned(), name.to_owned()))
            .unwrap_or_else(|| panic!("no {check} on {name}: {r:?}"))
    };
    assert!(!at("root-access-key", "root"));
    assert!(!at("root-mfa", "root"));
    assert!(!at("root-used", "root"));
    assert!(!at("console-mfa", "nomfa") && at("console-mfa", "withmfa"));
    assert!(!at("unused-credentials", "stale") && at("unused-credentials", "nomfa"));
    assert!(!at("one-active-key", "twokeys") && at("one-active-key", "stale"));
    assert!(!at("key-rotation", "stale") && at("key-rotation", "twokeys"));
    assert!(
        !at("administrator-access-attached", "admin")
            && at("administrator-access-attached", "wild")
    );
    assert!(!at("full-admin-policy", "wild") && at("full-admin-policy", "iam-all"));
    assert!(!at("iam-admin-policy", "iam-all") && at("iam-admin-policy", "stale"));
    assert!(!at("inactive-principal", "idle") && at("inactive-principal", "busy"));
    assert_eq!(report["benchmark"], "CIS AWS Foundations Benchmark v3.0.0");
    let failed = &report["summary"]["failed"];
    assert_eq!(failed["CRITICAL"], 2, "{failed}");

    // Text for people, with the ids.
    let out = op.warden(&["assess"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("[CRITICAL] The root user has no access key (CIS 1.4, Security Hub IAM.4)"),
        "{text}"
    );
    assert!(
        text.contains("Failed by severity: CRITICAL 2, HIGH "),
        "{text}"
    );

    // The HTML page, loaded in headless Chromium: no error, every finding's row there.
    let page = std::env::temp_dir().join(format!("assess-{}.html", t.id));
    let out = op.warden(
        &[
            "assess",
            "--format",
            "html",
            "--output",
            page.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok()
        })
        .expect("a headless Chromium (.ci/run installs Debian's chromium)");
    let loaded = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let dom = String::from_utf8_lossy(&loaded.stdout);
    let console = String::from_utf8_lossy(&loaded.stderr);
    assert!(
        !console.contains("CONSOLE"),
        "errors on the page: {console}"
    );
    let rows = dom.matches("<tr class=").count();
    // The summary's four severity rows, and one row per finding.
    assert_eq!(
        rows,
        4 + report["findings"].as_array().unwrap().len(),
        "{dom}"
    );
    assert!(dom.contains("IAM assessment of account"), "{dom}");
    assert!(dom.contains("AdministratorAccess attached"), "{dom}");
    let _ = std::fs::remove_file(&page);
}

#[tokio::test]
async fn a_root_user_kept_aside_passes_its_checks() {
    let op = Operator::new().await;
    let t = &op.account;
    warden_it::post_json(
        "/_warden/credentials",
        &serde_json::json!({"account": t.id, "user": "<root_account>", "mfa": true,
            "password_last_used": ago(120), "keys": []}),
    );
    let out = op.warden(&["assess", "--json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let r = results(&report);
    for check in ["root-access-key", "root-mfa", "root-used"] {
        assert_eq!(
            r.get(&(check.to_owned(), "root".to_owned())),
            Some(&true),
            "{check}: {r:?}"
        );
    }
}

/// Every finding Security Hub holds in the account (moto's GetFindings applies no filter).
async fn hub_findings(
    t: &warden_it::TestAccount,
) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let mut out = Vec::new();
    let mut pages = t.security_hub().get_findings().into_paginator().send();
    while let Some(page) = pages.next().await {
        out.extend(page.unwrap().findings.unwrap_or_default());
    }
    out
}

#[tokio::test]
async fn assess_imports_into_security_hub_once_per_finding_and_archives_what_was_fixed() {
    use aws_sdk_securityhub::types::RecordState;
    let op = Operator::new().await;
    let t = &op.account;
    t.user_with_key("stale", &[], 100, Some(50)).await;
    t.user("admin", &[], &[]).await;
    t.iam
        .attach_user_policy()
        .user_name("admin")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();

    let first = op.warden(&["assess", "--security-hub"], &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let said = stderr(&first);
    let imported = hub_findings(t).await;
    assert!(
        said.contains(&format!(
            "{} finding(s) imported, 0 archived",
            imported.len()
        )),
        "{said}"
    );
    let admin_id = format!(
        "iam-warden/{0}/administrator-access-attached/arn:aws:iam::{0}:user/admin",
        t.id
    );
    let stale_id = format!(
        "iam-warden/{0}/unused-credentials/arn:aws:iam::{0}:user/stale",
        t.id
    );
    let admin = imported
        .iter()
        .find(|f| f.id.as_deref() == Some(admin_id.as_str()))
        .unwrap_or_else(|| panic!("{admin_id} in {imported:?}"));
    assert_eq!(
        admin.product_arn.as_deref(),
        Some(
            format!(
                "arn:aws:securityhub:us-east-1:{0}:product/{0}/default",
                t.id
            )
            .as_str()
        )
    );
    assert_eq!(admin.schema_version.as_deref(), Some("2018-10-08"));
    assert_eq!(
        admin
            .severity
            .as_ref()
            .and_then(|s| s.label.as_ref())
            .map(|l| l.as_str()),
        Some("HIGH")
    );
    let stale = imported
        .iter()
        .find(|f| f.id.as_deref() == Some(stale_id.as_str()))
        .unwrap();
    assert_eq!(
        stale
            .compliance
            .as_ref()
            .and_then(|c| c.related_requirements.clone())
            .unwrap_or_default(),
        [
            "CIS AWS Foundations Benchmark v3.0.0/1.12",
            "AWS Security Hub control IAM.22"
        ]
    );
    assert!(imported
        .iter()
        .all(|f| f.record_state == Some(RecordState::Active)));

    // Imported again: the same findings, updated, none added; first found kept.
    let second = op.warden(&["assess", "--security-hub"], &[]);
    assert!(second.status.success(), "{}", stderr(&second));
    let again = hub_findings(t).await;
    assert_eq!(again.len(), imported.len(), "no duplicate");
    let admin_again = again
        .iter()
        .find(|f| f.id.as_deref() == Some(admin_id.as_str()))
        .unwrap();
    assert_eq!(admin_again.created_at, admin.created_at);
    assert!(admin_again.updated_at >= admin.updated_at);

    // Fixed: the finding is archived, the others stay active.
    t.iam
        .detach_user_policy()
        .user_name("admin")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    let third = op.warden(&["assess", "--security-hub"], &[]);
    assert!(
        stderr(&third).contains(", 1 archived"),
        "{}",
        stderr(&third)
    );
    let after = hub_findings(t).await;
    assert_eq!(after.len(), imported.len());
    let state = |id: &str| {
        after
            .iter()
            .find(|f| f.id.as_deref() == Some(id))
            .and_then(|f| f.record_state.clone())
    };
    assert_eq!(state(&admin_id), Some(RecordState::Archived));
    assert_eq!(state(&stale_id), Some(RecordState::Active));
}
