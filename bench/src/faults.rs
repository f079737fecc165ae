//! `warden-bench faults`: the revoker's reliability scenario (tests/src/reliability.rs)
//! at several fault rates, with the revoker's production retries and timeouts; and, with
//! `--delay-ms`, AWS's latency on every call: the attacker's window that is ours (from a
//! batch's arrival at the handler to each deny in place) and the invocations' billed
//! duration.

use std::time::Duration;

use serde_json::{json, Value};
use warden_it::fault_proxy::FaultProxy;
use warden_it::reliability::{check, consume, scenario};

use crate::measure::percentile;

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

pub async fn faults(
    events: usize,
    rates: &[f64],
    seed: u64,
    delay_ms: Option<String>,
    limit_minutes: u64,
) -> Value {
    let mut runs = Vec::new();
    for &rate in rates {
        let s = scenario(events, 50, 42).await;
        let mut args = vec!["--slow".to_owned(), "6".to_owned()];
        if let Some(d) = &delay_ms {
            args.extend(["--delay-ms".to_owned(), d.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let proxy = FaultProxy::start(rate, seed, &args);
        let run = consume(
            &s,
            &proxy,
            warden_aws::revoker_retry_config(),
            warden_aws::revoker_timeout_config(),
            Duration::from_secs(limit_minutes * 60),
        )
        .await;
        let findings = check(&s, &run).await;
        let invocations = sorted(run.invocation_ms.clone());
        let window = sorted(run.window_ms.clone());
        let requests = run.faults["requests"].as_u64().unwrap_or(0);
        eprintln!(
            "faults at {:.0} %: {} events, {} faults, drained in {:?}, problems {:?}",
            rate * 100.0,
            s.bodies.len(),
            FaultProxy::total(&run.faults),
            run.drained_in,
            findings.problems()
        );
        runs.push(json!({
            "rate": rate,
            "seed": seed,
            "delay_ms": delay_ms,
            "events": s.bodies.len(),
            "revocations": s.revoked.len(),
            "requests": requests,
            "faults": FaultProxy::total(&run.faults),
            "faults_by_kind": run.faults["faults"],
            "drained_s": run.drained_in.map(|d| d.as_secs_f64()),
            "invocations": run.invocations,
            "messages_failed_for_retry": run.failed_messages,
            "timed_out": run.timed_out,
            "lost": findings.lost,
            "dead_lettered": findings.dead_lettered,
            "unexplained": findings.unexplained,
            "not_revoked": findings.not_revoked.len(),
            "wrongful": findings.wrongful.len(),
            "uncontained": findings.uncontained.len(),
            "duplicate_notices": findings.duplicate_notices,
            "lost_publishes": findings.lost_publishes,
            "problems": findings.problems(),
            "invocation_ms_p50": percentile(&invocations, 50.0),
            "invocation_ms_p99": percentile(&invocations, 99.0),
            "invocation_ms_total": invocations.iter().sum::<f64>(),
            "window_ms_p50": percentile(&window, 50.0),
            "window_ms_p99": percentile(&window, 99.0),
            "windows": window.len(),
            "requests_by_operation": run.faults["requests_by_operation"],
        }));
    }
    json!({ "runs": runs })
}
