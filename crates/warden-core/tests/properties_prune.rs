#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! Generated histories for the pruning plan: a principal's services used and unused
//! over many runs days apart, Access Advisor failing at random, quotas, NEVER_DENY_SERVICES
//! and an operator's restores. Run after run, with the ledger and the attached policies
//! carried over as the pruner carries them:
//! - a service used within the window is never newly denied;
//! - every document is within IAM's 6,144 characters and the documents deny exactly the
//!   deny set; never more policies than the quota leaves;
//! - a denied service stays denied until an operator lifts it (or NEVER_DENY_SERVICES
//!   names it), and a lifted service is not denied again within the window.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use warden_core::principal::EntityKind;
use warden_core::prune::{
    plan, LedgerEntry, PruneConfig, PruneDecision, Report, ServiceUse, Subject,
};
use warden_core::prune_policy::{services_of, EVERYTHING};

const ARN: &str = "arn:aws:iam::123456789012:user/bob";

/// One service's namespace: short ones, and long ones that fill a document sooner.
fn namespace(n: usize) -> String {
    if n.is_multiple_of(3) {
        format!("service-with-a-long-namespace-{n:03}")
    } else {
        format!("svc{n}")
    }
}

/// One run: how many days after the last, whether Access Advisor answered, the days
/// since each granted service's last use (`None`: never used), and a restore before it.
#[derive(Debug, Clone)]
struct Run {
    after_days: i64,
    answered: bool,
    used: BTreeMap<usize, Option<i64>>,
    /// An operator lifts these (by index into the deny set) before the run.
    lift: Vec<prop::sample::Index>,
}

fn run() -> impl Strategy<Value = Run> {
    (
        1i64..60,
        prop_oneof![9 => Just(true), 1 => Just(false)],
        prop::collection::btree_map(0usize..400, prop::option::of(0i64..400), 0..300),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    )
        .prop_map(|(after_days, answered, used, lift)| Run {
            after_days,
            answered,
            used,
            lift,
        })
}

fn config(never_deny: &[usize], unused_principals: &str) -> PruneConfig {
    let never: Vec<String> = never_deny.iter().map(|n| namespace(*n)).collect();
    let never = never.join(",");
    let pairs = [
        ("LEDGER_TABLE", "ledger"),
        ("UNUSED_DAYS", "90"),
        ("GRANT_GRACE_DAYS", "14"),
        ("NEVER_DENY_SERVICES", never.as_str()),
        ("UNUSED_PRINCIPALS", unused_principals),
    ];
    PruneConfig::from_lookup(|k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
            .filter(|v| !v.is_empty())
    })
    .unwrap()
}

fn non_whitespace(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn used_services_are_never_denied_documents_fit_and_denies_stay_until_lifted(
        runs in prop::collection::vec(run(), 1..8),
        never_deny in prop::collection::vec(0usize..400, 0..4),
        others in 0usize..10,
        quota in 1usize..20,
        deny_unused_principals in any::<bool>(),
        created_days_ago in 0i64..400,
    ) {
        let cfg = config(&never_deny, if deny_unused_principals { "deny" } else { "report" });
        let mut now: DateTime<Utc> = "2026-06-01T12:00:00Z".parse().unwrap();
        let created = now - Duration::days(created_days_ago);
        let mut subject = Subject {
            kind: EntityKind::User,
            name: "bob".into(),
            arn: ARN.into(),
            created,
            tags: BTreeMap::new(),
            groups: BTreeSet::new(),
            attached: (0..others).map(|i| format!("arn:aws:iam::aws:policy/Other{i}")).collect(),
            trusted: BTreeSet::new(),
            unique_id: Some("AIDABOB".into()),
            credentials: None,
        };
        let mut ledger: Option<LedgerEntry> = None;
        // When each service was last lifted by an operator.
        let mut lifted_at: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        for (i, r) in runs.iter().enumerate() {
            now += Duration::days(r.after_days);
            // An operator's restore before the run: as `warden restore --service` does.
            if let Some(entry) = ledger.as_mut() {
                let denied: Vec<String> = entry.denied.iter().cloned().collect();
                if !denied.is_empty() {
                    let wanted: BTreeSet<String> = r.lift.iter().map(|ix| ix.get(&denied).clone()).collect();
                    for s in entry.lift(Some(&wanted), now, "warden restore") {
                        lifted_at.insert(s, now);
                    }
                }
            }
            let services: Vec<ServiceUse> = r.used.iter().map(|(n, used)| ServiceUse {
                namespace: namespace(*n),
                last_authenticated: used.map(|d| now - Duration::days(d)),
            }).collect();
            let report = if r.answered {
                Report::Complete(services.clone())
            } else {
                Report::Unavailable("the job failed".into())
            };
            let before = ledger.clone();
            let p = plan(&subject, &report, before.as_ref(), &cfg, quota, now, &format!("run-{i}"));
            let window = now - Duration::days(i64::from(cfg.unused_days));

            // A service used within the window is never newly denied.
            for s in &services {
                if s.last_authenticated.is_some_and(|t| t >= window) {
                    prop_assert!(!p.newly_denied.contains(&s.namespace), "{} used {:?} newly denied", s.namespace, s.last_authenticated);
                }
            }
            // NEVER_DENY_SERVICES: never.
            for n in &never_deny {
                prop_assert!(!p.deny.contains(&namespace(*n)));
            }
            // A lifted service is not denied again within the window after its lift.
            for (s, at) in &lifted_at {
                if *at >= window {
                    prop_assert!(!p.newly_denied.contains(s), "{s} lifted at {at} denied again at {now}");
                }
            }
            // Sticky: what was denied stays denied (an operator's lift took it out of the
            // ledger before the run).
            let was: BTreeSet<String> = before.as_ref().map(|b| b.denied.clone()).unwrap_or_default();
            for s in &was {
                if !cfg.never_deny.contains(s) {
                    prop_assert!(p.deny.contains(s), "{s} was denied and is not after run {i}: {:?}", p.decision);
                }
            }
            // Documents: within IAM's size, deny exactly the deny set, within the quota.
            let mut denied_by_documents = BTreeSet::new();
            for doc in &p.policies {
                prop_assert!(non_whitespace(&doc.document) <= 6144, "{} characters", non_whitespace(&doc.document));
                denied_by_documents.extend(services_of(&doc.document).unwrap());
            }
            if p.decision.writes() {
                // Everything (an unused principal's deny) is one statement that covers
                // the services denied one by one before.
                if p.deny.contains(EVERYTHING) {
                    prop_assert_eq!(denied_by_documents, BTreeSet::from([EVERYTHING.to_owned()]));
                } else {
                    prop_assert_eq!(&denied_by_documents, &p.deny);
                }
                prop_assert!(others + p.policies.len() <= quota, "{} others + {} policies > quota {}", others, p.policies.len(), quota);
            } else {
                prop_assert!(p.policies.is_empty() || p.decision == PruneDecision::Unchanged);
            }
            // The whole account denied only with UNUSED_PRINCIPALS=deny.
            if p.deny.contains(EVERYTHING) {
                prop_assert!(deny_unused_principals);
            }

            // Carried over as the pruner does: the ledger, the policies attached.
            if let Some(entry) = &p.ledger {
                let kept: BTreeSet<String> = entry.denied.clone();
                for s in &was {
                    if !cfg.never_deny.contains(s) {
                        prop_assert!(kept.contains(s), "the ledger dropped {s}");
                    }
                }
                ledger = Some(entry.clone());
            }
            if p.decision.writes() {
                for arn in &p.remove {
                    subject.attached.remove(arn);
                }
                subject.attached.extend(p.policies.iter().map(|d| d.arn.clone()));
            }
        }
    }
}
