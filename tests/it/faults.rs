#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
//! The revoker under faults on the wire: a workload of IAM events (non-admins with
//! duplicates, admins, an exempt principal, read-only calls, root, a service-linked role,
//! and an attack chain whose artifacts are contained) through the Lambda handler, with
//! SQS's real semantics (tests/src/event_source.rs), every AWS call of the revoker through
//! the fault-injecting proxy (tests/support/fault_proxy.py: throttling, 5xx, resets before
//! and after the request reached moto, slow answers). Afterwards, checked from moto's
//! state, not from the tool's logs: every caller to revoke is revoked, notified once (a
//! second notice only where the proxy lost the answer of a Publish that had gone
//! through: SNS cannot tell a retry from a new message), nobody else touched, every
//! message decided or dead-lettered with its reason, every artifact contained.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use warden_it::fault_proxy::FaultProxy;
use warden_it::reliability::{check, consume, report, scenario};

/// CI's run: one fault rate, a fixed seed, a workload small enough to be quick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revoker_under_ten_percent_faults_loses_nothing_and_touches_no_one_else() {
    // WARDEN_FAULT_RATE and WARDEN_FAULT_SEED explore others (bench/ runs the grid).
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let rate = env("WARDEN_FAULT_RATE").unwrap_or(0.10);
    let seed = env("WARDEN_FAULT_SEED").map_or(22, |s| s as u64);
    let s = scenario(60, 8, 7).await;
    let proxy = FaultProxy::start(rate, seed, &["--slow", "4"]);
    // The revoker's retries (standard, six attempts, bounded backoff), scaled in time:
    // the backoff from 20 ms, an attempt's timeout 3 s (the proxy's slow answers: 4 s).
    let retry = warden_aws::revoker_retry_config().with_initial_backoff(Duration::from_millis(20));
    let timeout = TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(20))
        .build();
    let run = consume(&s, &proxy, retry, timeout, Duration::from_secs(240)).await;
    report(rate, &s, &run);
    assert!(
        FaultProxy::total(&run.faults) >= 20,
        "the proxy injected faults: {}",
        run.faults
    );
    assert!(
        run.drained_in.is_some(),
        "the queues did not drain: {run:?}"
    );
    let findings = check(&s, &run).await;
    assert!(
        findings.problems().is_empty(),
        "{:?}: {findings:?}",
        findings.problems()
    );
    assert!(s.revoked.len() > 5, "{findings:?}");
    assert_eq!(run.timed_out, 0, "an invocation past Lambda's timeout");
}
