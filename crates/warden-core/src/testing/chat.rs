//! The digest to chat, in memory (on when `State::chat` is `Some`).

use crate::notice::Notice;
use crate::ports::{Chat, PortError};

use super::MemoryAccount;

impl Chat for MemoryAccount {
    fn chat_enabled(&self) -> bool {
        self.lock().chat.is_some()
    }

    async fn post(&self, notice: &Notice) -> Result<(), PortError> {
        let mut s = self.enter("chat")?;
        s.chat.get_or_insert_with(Vec::new).push(notice.clone());
        Ok(())
    }
}
