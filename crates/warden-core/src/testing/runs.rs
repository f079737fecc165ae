//! Fanned-out pruning runs, in memory.

use crate::ports::{PortError, Runs};

use super::{MemoryAccount, MemoryRun};

impl Runs for MemoryAccount {
    async fn start_run(&self, run_id: &str, chunks: usize) -> Result<bool, PortError> {
        let mut s = self.enter("start_run")?;
        let run = s.runs.entry(run_id.to_owned()).or_default();
        if run.queued {
            return Ok(false);
        }
        *run = MemoryRun {
            chunks,
            ..MemoryRun::default()
        };
        Ok(true)
    }

    async fn run_queued(&self, run_id: &str) -> Result<bool, PortError> {
        let s = self.enter("run_queued")?;
        Ok(s.runs.get(run_id).is_some_and(|r| r.queued))
    }

    async fn mark_queued(&self, run_id: &str) -> Result<(), PortError> {
        let mut s = self.enter("mark_queued")?;
        s.runs.entry(run_id.to_owned()).or_default().queued = true;
        Ok(())
    }

    async fn finish_chunk(
        &self,
        run_id: &str,
        chunk: usize,
        outcomes: &[crate::prune::Outcome],
    ) -> Result<bool, PortError> {
        let mut s = self.enter("finish_chunk")?;
        let run = s.runs.entry(run_id.to_owned()).or_default();
        run.outcomes.insert(chunk, outcomes.to_vec());
        if run.outcomes.len() == run.chunks && run.digest.is_none() {
            run.digest = Some(false);
            return Ok(true);
        }
        Ok(false)
    }

    async fn run_outcomes(&self, run_id: &str) -> Result<Vec<crate::prune::Outcome>, PortError> {
        let s = self.enter("run_outcomes")?;
        Ok(s.runs
            .get(run_id)
            .map(|r| r.outcomes.values().flatten().cloned().collect())
            .unwrap_or_default())
    }

    async fn settle_digest(&self, run_id: &str, sent: bool) -> Result<(), PortError> {
        let mut s = self.enter("settle_digest")?;
        if let Some(run) = s.runs.get_mut(run_id) {
            run.digest = sent.then_some(true);
        }
        Ok(())
    }
}
