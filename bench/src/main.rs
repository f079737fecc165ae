//! `warden-bench`: the measurements of `bench/run.sh`, against the moto server of
//! `WARDEN_TEST_ENDPOINT`. Each subcommand prints one JSON object.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a benchmark: a broken set-up should stop it loudly

mod central;
mod contain;
mod counted;
mod faults;
mod measure;
mod pruner;
mod revoker;
mod setup;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "warden-bench",
    about = "iam-warden benchmarks (run by bench/run.sh)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A fresh moto account for the revoker benchmarks, and its workload, as JSON.
    Setup {
        #[arg(long, default_value_t = 1000)]
        events: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// The revoker's code path over the workload of a set-up account.
    Revoker {
        #[arg(long)]
        setup: PathBuf,
    },
    /// Cold start: SDK, clients, start-up checks, then the first decision.
    Cold {
        #[arg(long)]
        setup: PathBuf,
    },
    /// Containment: N attackers each make the attack chain (CreateUser, AttachUserPolicy,
    /// CreateAccessKey, CreateLoginProfile, AddUserToGroup, PutRolePolicy,
    /// UpdateAssumeRolePolicy), then the revoker processes each chain as one batch.
    Contain {
        #[arg(long, default_value_t = 20)]
        attackers: usize,
    },
    /// Central mode: a pruning run over ACCOUNTS member accounts of N users each, each
    /// behind its own IAM rate limit (the proxy's per-key mode at VIA), and the revoker's
    /// STS calls per event.
    Central {
        #[arg(long, default_value_t = 3)]
        accounts: usize,
        #[arg(long, default_value_t = 40)]
        principals: usize,
        /// The rate-limiting proxy in per-key mode
        #[arg(long)]
        via: String,
        /// Its IAM requests per second per account
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
    },
    /// The revoker's reliability scenario through the fault proxy, at each RATE (0 to 1),
    /// with its production retries; `--delay-ms 20-40` adds AWS's latency to every call.
    Faults {
        #[arg(long, default_value_t = 1000)]
        events: usize,
        #[arg(long, num_args = 1.., default_values_t = [0.0, 0.1, 0.3])]
        rates: Vec<f64>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        delay_ms: Option<String>,
        /// Give up draining after this many minutes
        #[arg(long, default_value_t = 30)]
        limit_minutes: u64,
    },
    /// Pruning passes over a fresh account of N users.
    Pruner {
        #[arg(long)]
        principals: usize,
        #[arg(long, num_args = 1.., default_values_t = [8])]
        concurrency: Vec<usize>,
        /// Send the pruner's calls here (a rate-limiting proxy) instead of moto
        #[arg(long)]
        via: Option<String>,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let out = match cli.command {
        Command::Setup { events, out } => {
            let s = setup::setup(events).await;
            std::fs::write(&out, s.to_string()).unwrap();
            json!({"account": s["account"], "events": events, "file": out})
        }
        Command::Revoker { setup } => revoker::revoker(&setup::load(&setup)).await,
        Command::Contain { attackers } => contain::contain(attackers).await,
        Command::Cold { setup } => revoker::cold(&setup::load(&setup)).await,
        Command::Central {
            accounts,
            principals,
            via,
            rate,
        } => central::central(accounts, principals, via, rate).await,
        Command::Faults {
            events,
            rates,
            seed,
            delay_ms,
            limit_minutes,
        } => faults::faults(events, &rates, seed, delay_ms, limit_minutes).await,
        Command::Pruner {
            principals,
            concurrency,
            via,
        } => pruner::pruner(principals, &concurrency, via).await,
    };
    println!("{out}");
}
