//! Issue 21: unused access keys and console passwords, through the pruner's Lambda
//! handler against moto, with the dates IAM keeps seeded (moto stamps everything "now").

use chrono::Utc;
use warden_core::credential_plan::PASSWORD;
use warden_core::ports::Ledger;
use warden_core::principal::{EntityKind, Target};
use warden_core::prune::{Outcome, PruneConfig};
use warden_core::pruner::{lift_credentials, start, Started};
use warden_it::TestAccount;

use super::cfg;

fn statuses(run: &[Outcome], user: &str) -> Vec<(String, String)> {
    run.iter()
        .filter(|o| o.name == user)
        .flat_map(|o| &o.credentials)
        .map(|c| (c.credential.clone(), c.status.as_str().to_owned()))
        .collect()
}

#[tokio::test]
async fn unused_keys_are_deactivated_as_iam_dates_them_and_restore_puts_one_back() {
    let t = TestAccount::new().await;
    let (topic, inbox) = t.topic_with_inbox().await;
    let old = t.user_with_key("old", &[], 200, Some(120)).await;
    let never = t.user_with_key("never", &[], 100, None).await;
    let recent = t.user_with_key("recent", &[], 200, Some(3)).await;
    let young = t.user_with_key("young", &[], 10, None).await;
    let exempt = t
        .user_with_key("svc", &[("iam-warden:exempt", "true")], 300, Some(300))
        .await;
    let carol = t.user_with_key("carol", &[], 300, Some(1)).await;
    t.password_used("carol", 200).await;
    let report_only = cfg(&[
        ("TOPIC_ARN", topic.as_str()),
        ("MODE", "report"),
        ("REPORT_TIMEOUT_SECONDS", "20"),
    ]);
    let account = t.pruner(&report_only).await;
    let run = |c: PruneConfig| {
        let account = &account;
        let id = t.id.clone();
        async move {
            match start(account, &c, &id, "it", Utc::now(), false)
                .await
                .unwrap()
            {
                Started::Inline(outcomes) => outcomes,
                other => panic!("{other:?}"),
            }
        }
    };

    // MODE=report: said, nothing written. (The first GenerateCredentialReport only
    // starts the report: the pruner waits for it.)
    let first = run(report_only.clone()).await;
    assert_eq!(
        statuses(&first, "old"),
        [(old.clone(), "not-applied".to_owned())],
        "{first:?}"
    );
    for (user, key) in [
        ("old", &old),
        ("never", &never),
        ("recent", &recent),
        ("young", &young),
        ("svc", &exempt),
    ] {
        assert!(t.key_active(user, key).await, "{user}");
    }

    let enforce = cfg(&[
        ("TOPIC_ARN", topic.as_str()),
        ("REPORT_TIMEOUT_SECONDS", "20"),
    ]);
    let second = run(enforce.clone()).await;
    assert_eq!(
        statuses(&second, "old"),
        [(old.clone(), "deactivated".to_owned())]
    );
    assert_eq!(
        statuses(&second, "never"),
        [(never.clone(), "deactivated".to_owned())]
    );
    assert!(statuses(&second, "recent").is_empty());
    assert!(
        statuses(&second, "young").is_empty(),
        "a key made 10 days ago"
    );
    assert!(statuses(&second, "svc").is_empty(), "exempt and trusted");
    assert_eq!(
        statuses(&second, "carol"),
        [(PASSWORD.to_owned(), "reported".to_owned())],
        "a password is reported by default"
    );
    assert!(!t.key_active("old", &old).await);
    assert!(!t.key_active("never", &never).await);
    assert!(t.key_active("recent", &recent).await);
    assert!(t.key_active("young", &young).await);
    assert!(t.key_active("svc", &exempt).await);
    assert!(t.key_active("carol", &carol).await);
    assert!(t.has_password("carol").await);
    // The ledger has the record; the user the tag.
    let arn = format!("arn:aws:iam::{}:user/old", t.id);
    let entry = account
        .load(std::slice::from_ref(&arn))
        .await
        .unwrap()
        .remove(&arn)
        .unwrap();
    assert!(entry.credentials_taken.contains_key(&old));
    assert_eq!(
        t.tags("old").await.get("iam-warden:credentials-taken"),
        Some(&old)
    );
    // The digest says it, with the restore command.
    let notices = t.notices(&inbox).await;
    let digest = notices
        .iter()
        .rev()
        .find(|n| n["MessageAttributes"]["decision"]["Value"] == "pruned")
        .unwrap();
    let body = digest["Message"].as_str().unwrap();
    assert!(
        body.contains("Access keys deactivated (never deleted): 2"),
        "{body}"
    );
    assert!(
        body.contains(&format!("warden restore --user old --key {old}")),
        "{body}"
    );
    assert!(body.contains("console password unused 200 days"), "{body}");

    // Restore of one key (the operator's side): active again, counted as used today.
    let target = Target {
        kind: EntityKind::User,
        name: "old".into(),
        arn: arn.clone(),
    };
    let wanted = [old.clone()].into();
    let lifted = lift_credentials(&account, &target, Some(&wanted), Utc::now())
        .await
        .unwrap();
    assert_eq!(lifted.lifted, std::slice::from_ref(&old));
    assert!(t.key_active("old", &old).await);
    assert!(!t
        .tags("old")
        .await
        .contains_key("iam-warden:credentials-taken"));
    let third = run(enforce.clone()).await;
    assert!(statuses(&third, "old").is_empty(), "{third:?}");
    assert!(t.key_active("old", &old).await);
    assert!(!t.key_active("never", &never).await, "still deactivated");
    assert_eq!(
        statuses(&third, "never"),
        Vec::<(String, String)>::new(),
        "an inactive key is not judged again"
    );

    // UNUSED_PASSWORDS=remove: the login profile goes; restore makes a new one.
    let remove = cfg(&[
        ("TOPIC_ARN", topic.as_str()),
        ("REPORT_TIMEOUT_SECONDS", "20"),
        ("UNUSED_PASSWORDS", "remove"),
    ]);
    // Through the Lambda's handler this time: what it returns counts the credentials.
    let fourth = pruner::handler::handle(
        &account,
        &remove,
        &t.id,
        serde_json::json!({"time": "t"}),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(fourth["credentials"]["removed"], 1, "{fourth}");
    assert!(!t.has_password("carol").await);
    let carol_target = Target {
        kind: EntityKind::User,
        name: "carol".into(),
        arn: format!("arn:aws:iam::{}:user/carol", t.id),
    };
    let lifted = lift_credentials(&account, &carol_target, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(lifted.lifted, [PASSWORD]);
    assert!(lifted.password.as_deref().is_some_and(|p| p.len() >= 20));
    assert!(t.has_password("carol").await);
}
