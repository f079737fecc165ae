//! The fault-injecting proxy of `tests/support/fault_proxy.py`, started for a test: the
//! clients under test reach moto through it; the test's own reads go to moto directly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running proxy; killed when dropped.
pub struct FaultProxy {
    pub url: String,
    child: Child,
}

/// The Python that runs the test support (the virtualenv of `scripts/lib.sh`).
fn python() -> String {
    std::env::var("WARDEN_PYTHON")
        .unwrap_or_else(|_| format!("{}/../.venv/bin/python", env!("CARGO_MANIFEST_DIR")))
}

impl FaultProxy {
    /// A proxy in front of the test moto server injecting faults at `rate` (0 to 1) on
    /// every AWS operation, deterministic for `seed`; `extra`: more of the script's
    /// options (`--mix`, `--rates`, `--slow`, `--delay-ms`, `--services`).
    pub fn start(rate: f64, seed: u64, extra: &[&str]) -> Self {
        let script = format!("{}/support/fault_proxy.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(python())
            .arg(&script)
            .arg(crate::endpoint())
            .args(["--seed", &seed.to_string(), "--rate", &rate.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{script}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the proxy's URL");
        assert!(line.starts_with("http://"), "fault proxy: {line:?}");
        Self {
            url: line.trim().to_owned(),
            child,
        }
    }

    /// What was injected so far: `requests`, `faults` by kind, `by_operation` (e.g.
    /// `sns.Publish` -> kind -> count), `requests_by_operation`.
    pub async fn stats(&self) -> serde_json::Value {
        let url = format!("{}/_faults", self.url);
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let host = url
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let mut stream = std::net::TcpStream::connect(&host).expect("connect to the proxy");
            write!(
                stream,
                "GET /_faults HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            )
            .expect("write");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("read");
            let body = response
                .split("\r\n\r\n")
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            serde_json::from_str(&body).expect("the proxy's counts")
        })
        .await
        .expect("stats")
    }

    /// How many faults of `kind` the operation (`service.Operation`) got.
    pub fn count(stats: &serde_json::Value, operation: &str, kind: &str) -> u64 {
        stats["by_operation"][operation][kind].as_u64().unwrap_or(0)
    }

    /// Faults injected, all kinds.
    pub fn total(stats: &serde_json::Value) -> u64 {
        stats["faults"]
            .as_object()
            .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
            .unwrap_or(0)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
