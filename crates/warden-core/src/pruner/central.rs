//! Central mode's run: every member account pruned through its member role, in one run
//! with one digest for the organization. An account that cannot be pruned (no member
//! role, its stock not taken) is reported in the digest, never stops the others.
//!
//! IAM's rate limit is per account: the accounts' stock is taken ACCOUNT_CONCURRENCY at
//! a time, a chunk holds one account's principals (CONCURRENCY at a time), and the
//! chunks of the accounts are interleaved, so that the chunks the pruner works on at
//! once are of different accounts.

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use crate::ports::{Authorizations, PortError, PrunerMembers, Runs, Unreachable};
use crate::principal::EntityKind;
use crate::prune::{Outcome, PruneConfig, PruneDecision, Quotas, Subject};

use super::digest::{digest, send_digest};
use super::run::{enqueue_chunks, pack, run_chunk, write_canary, Chunk, Started};
use super::{prune, Writes};

/// The outcome that reports a whole account not pruned, and why.
pub fn account_failed(account: &str, why: &str) -> Outcome {
    Outcome {
        principal: format!("arn:aws:iam::{account}:root"),
        kind: EntityKind::User,
        name: format!("(account {account})"),
        decision: PruneDecision::Failed,
        denied_services: Vec::new(),
        newly_denied: Vec::new(),
        policy_arns: Vec::new(),
        reason: Some(format!("account {account} not pruned: {why}")),
        credentials: Vec::new(),
        unused_for: None,
    }
}

/// The outcome that reports the canary alarms not kept this run, and why: the run goes
/// on (the alarms are checked again the next run).
fn alarms_failed(why: &str) -> Outcome {
    Outcome {
        principal: "arn:aws:iam::central:root".into(),
        name: "(canary alarms)".into(),
        reason: Some(format!(
            "the per-account canary alarms were not kept this run: {why}"
        )),
        ..account_failed("", why)
    }
}

fn unreachable_why(u: Unreachable) -> String {
    match u {
        Unreachable::NotMember(why) => format!("not onboarded ({why})"),
        Unreachable::Unusable(why) => why,
        Unreachable::Transient(e) => format!("{e} (tried again next run)"),
    }
}

/// One account's stock: its ports, principals and quotas; or why it has none.
type Stock<P> = Result<(P, Vec<Subject>, Quotas), String>;

async fn take_stock<M: PrunerMembers>(
    members: &M,
    cfg: &PruneConfig,
    account: &str,
    now: DateTime<Utc>,
) -> Stock<M::Port> {
    let port = members
        .open_pruner(account)
        .await
        .map_err(unreachable_why)?;
    // The daily canary of each account, through its member role.
    write_canary(&port, cfg, now).await;
    let mut subjects = port
        .subjects(cfg.prune_roles)
        .await
        .map_err(|e| e.to_string())?;
    subjects.sort_by(|a, b| a.arn.cmp(&b.arn));
    let quotas = port.quotas().await.map_err(|e| e.to_string())?;
    super::credentials::read_report(&port, cfg, &mut subjects).await;
    Ok((port, subjects, quotas))
}

/// Takes turns: the first chunk of every account, then the second of every account...
fn interleave(per_account: Vec<Vec<Chunk>>) -> Vec<Chunk> {
    let mut queues: Vec<std::vec::IntoIter<Chunk>> =
        per_account.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for q in &mut queues {
            if let Some(c) = q.next() {
                out.push(c);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// The scheduled run of central mode: the accounts (ACCOUNTS, else the organization's
/// active accounts), each one's stock taken through its member role, then pruned inline
/// (small runs, or no work queue) or fanned out in chunks, one digest for the run.
pub async fn start_central<M: PrunerMembers>(
    members: &M,
    cfg: &PruneConfig,
    run_id: &str,
    now: DateTime<Utc>,
    fan_out: bool,
) -> Result<Started, PortError> {
    let home = members.home();
    let writes = Writes::for_mode(cfg.mode, false);
    let accounts = if cfg.accounts.is_empty() {
        members.accounts().await?
    } else {
        cfg.accounts.clone()
    };
    // One canary alarm per account, kept before the accounts are pruned.
    let mut failed: Vec<Outcome> = Vec::new();
    match members.keep_canary_alarms(&accounts).await {
        Ok(plan) if !plan.is_empty() => {
            tracing::info!(put = ?plan.put, deleted = ?plan.delete, "canary alarms kept")
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "canary alarms not kept");
            failed.push(alarms_failed(&e.to_string()));
        }
    }
    let mut taken: Vec<(String, Stock<M::Port>)> = stream::iter(accounts)
        .map(|account| async move {
            let stock = take_stock(members, cfg, &account, now).await;
            (account, stock)
        })
        .buffer_unordered(cfg.account_concurrency.max(1))
        .collect()
        .await;
    taken.sort_by(|a, b| a.0.cmp(&b.0));
    let mut ready = Vec::new();
    for (account, stock) in taken {
        match stock {
            Ok(stock) => ready.push((account, stock)),
            Err(why) => {
                tracing::error!(account, reason = %why, "account not pruned this run");
                failed.push(account_failed(&account, &why));
            }
        }
    }
    let principals: usize = ready.iter().map(|(_, (_, s, _))| s.len()).sum();
    tracing::info!(
        run_id,
        accounts = ready.len(),
        failed = failed.len(),
        principals,
        "central pruning run started"
    );
    if !fan_out || principals <= cfg.chunk_size {
        // The accounts side by side: each behind its own IAM rate limit, the run takes
        // about as long as its slowest account.
        let mut outcomes = failed;
        let pruned: Vec<Vec<Outcome>> = stream::iter(ready)
            .map(|(account, (port, subjects, quotas))| async move {
                match prune(&port, cfg, &subjects, quotas, now, run_id, writes).await {
                    Ok(o) => o,
                    Err(e) => vec![account_failed(&account, &e.to_string())],
                }
            })
            .buffer_unordered(cfg.account_concurrency.max(1))
            .collect()
            .await;
        outcomes.extend(pruned.into_iter().flatten());
        outcomes.sort_by(|a, b| a.principal.cmp(&b.principal));
        let notice = digest("the organization", run_id, &outcomes, writes != Writes::All);
        send_digest(home, &notice).await?;
        return Ok(Started::Inline(outcomes));
    }
    let per_account: Vec<Vec<Chunk>> = ready
        .into_iter()
        .map(|(account, (_, subjects, quotas))| {
            let mut chunks = pack(run_id, now, quotas, subjects, cfg.chunk_size);
            for c in &mut chunks {
                c.account = Some(account.clone());
            }
            chunks
        })
        .collect();
    let mut chunks = interleave(per_account);
    // The accounts not pruned are one more chunk of the run, finished at once.
    let total = chunks.len() + usize::from(!failed.is_empty());
    for (i, c) in chunks.iter_mut().enumerate() {
        c.chunk = i;
        c.chunks = total;
    }
    if !home.start_run(run_id, total).await? {
        return Ok(Started::AlreadyQueued);
    }
    if !failed.is_empty() && home.finish_chunk(run_id, total - 1, &failed).await? {
        // Every account failed: this was the run's only chunk.
        let notice = digest("the organization", run_id, &failed, writes != Writes::All);
        send_digest(home, &notice).await?;
        home.settle_digest(run_id, true).await?;
        return Ok(Started::Inline(failed));
    }
    enqueue_chunks(home, run_id, &chunks).await?;
    tracing::info!(run_id, chunks = total, "central pruning run fanned out");
    Ok(Started::Queued(total))
}

/// One chunk of a central run, in its account through the member role. An account that
/// is no longer reachable for good is reported for the chunk (the run still completes);
/// a transient failure leaves the message for redelivery.
pub async fn run_member_chunk<M: PrunerMembers>(
    members: &M,
    cfg: &PruneConfig,
    chunk: &Chunk,
) -> Result<Vec<Outcome>, PortError> {
    let Some(account) = chunk.account.as_deref() else {
        return run_chunk(members.home(), cfg, "the organization", chunk).await;
    };
    match members.open_pruner(account).await {
        Ok(port) => run_chunk(&port, cfg, account, chunk).await,
        Err(Unreachable::Transient(e)) => Err(e),
        Err(other) => {
            let failed = vec![account_failed(account, &unreachable_why(other))];
            let home = members.home();
            if home
                .finish_chunk(&chunk.run_id, chunk.chunk, &failed)
                .await?
            {
                let all = home.run_outcomes(&chunk.run_id).await?;
                let writes = Writes::for_mode(cfg.mode, false);
                let notice = digest(account, &chunk.run_id, &all, writes != Writes::All);
                send_digest(home, &notice).await?;
                home.settle_digest(&chunk.run_id, true).await?;
            }
            Ok(failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(account: &str, n: usize) -> Chunk {
        Chunk {
            run_id: "r".into(),
            now: Utc::now(),
            chunk: n,
            chunks: 0,
            quotas: Quotas { user: 10, role: 10 },
            subjects: Vec::new(),
            account: Some(account.into()),
        }
    }

    #[test]
    fn the_accounts_chunks_take_turns() {
        let order: Vec<(String, usize)> = interleave(vec![
            vec![chunk("a", 0), chunk("a", 1), chunk("a", 2)],
            vec![chunk("b", 0)],
            vec![chunk("c", 0), chunk("c", 1)],
        ])
        .into_iter()
        .map(|c| (c.account.unwrap_or_default(), c.chunk))
        .collect();
        let want = [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("c", 1), ("a", 2)];
        assert_eq!(
            order,
            want.iter()
                .map(|(a, n)| ((*a).to_owned(), *n))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn an_account_not_pruned_is_a_failed_outcome_that_names_it() {
        let o = account_failed("111111111111", "not onboarded (AccessDenied)");
        assert_eq!(o.decision, PruneDecision::Failed);
        assert_eq!(o.principal, "arn:aws:iam::111111111111:root");
        assert!(o
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("111111111111") && r.contains("not onboarded")));
    }
}
