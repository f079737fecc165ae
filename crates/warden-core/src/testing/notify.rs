//! SNS notices, in memory.

use crate::notice::Notice;
use crate::ports::{Notifier, PortError};

use super::MemoryAccount;

impl Notifier for MemoryAccount {
    fn enabled(&self) -> bool {
        self.topic
    }

    async fn publish(&self, notice: &Notice) -> Result<(), PortError> {
        let mut s = self.enter("publish")?;
        s.notices.push(notice.clone());
        Ok(())
    }
}
