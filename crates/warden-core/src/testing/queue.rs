//! The SQS queues, in memory: the dead letters, the deferrals and the pruner's work queue.

use crate::ports::{DeadLetters, Deferrals, PortError, WorkQueue};

use super::MemoryAccount;

impl DeadLetters for MemoryAccount {
    async fn send(&self, body: &str, reason: &str, message_id: &str) -> Result<(), PortError> {
        let mut s = self.enter("dead_letter")?;
        s.dead_letters
            .push((body.to_owned(), reason.to_owned(), message_id.to_owned()));
        Ok(())
    }
}

impl Deferrals for MemoryAccount {
    async fn defer(
        &self,
        body: &str,
        delay: std::time::Duration,
        failed: u32,
    ) -> Result<(), PortError> {
        let mut s = self.enter("defer")?;
        s.deferred.push((body.to_owned(), delay, failed));
        Ok(())
    }
}

impl WorkQueue for MemoryAccount {
    async fn enqueue(&self, bodies: &[String]) -> Result<(), PortError> {
        let mut s = self.enter("enqueue")?;
        s.work_queue.extend(bodies.iter().cloned());
        Ok(())
    }
}
