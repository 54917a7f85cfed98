//! Read state: marking guest messages read (each flipped once, the conversation's unread count
//! lowered by what flipped, never below zero) and who opened a conversation
//! (`dynamo/reads.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::model::{Conversation, ConversationId, MessageId, Participant, SenderType};
use crate::store::{ReadState, StoreError};

#[async_trait]
impl ReadState for MemoryStore {
    async fn mark_read(
        &self,
        conversation: &Conversation,
        only: Option<&[MessageId]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>, StoreError> {
        let conversation_id = conversation.id;
        let mut state = self.state();
        let (candidates, newest): (Vec<MessageId>, Option<MessageId>) = match only {
            Some(ids) => (ids.to_vec(), None),
            None => {
                let after = state
                    .messages
                    .get(&conversation_id)
                    .into_iter()
                    .flat_map(|all| all.range(conversation.read_through.saturating_add(1)..).map(|(id, _)| *id));
                let ids: Vec<MessageId> = after.collect();
                let newest = ids.last().copied();
                (ids, newest)
            }
        };
        let mut marked = Vec::new();
        for id in candidates {
            let Some(stored) = state.message_mut(conversation_id, id) else {
                continue;
            };
            let message = &mut stored.message;
            if message.sender_type == SenderType::Guest && !message.is_read {
                message.is_read = true;
                message.read_at = Some(now);
                message.updated_at = now;
                marked.push(id);
            }
        }
        if let Some(stored) = state.conversations.get_mut(&conversation_id) {
            stored.unread_count = stored.unread_count.saturating_sub(marked.len() as u64);
            if let Some(newest) = newest {
                stored.read_through = newest;
            }
        }
        Ok(marked)
    }

    async fn touch_participant(
        &self,
        conversation_id: ConversationId,
        staff_id: &str,
        read: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let participant =
            state.participants.entry(conversation_id).or_default().entry(staff_id.to_owned()).or_insert_with(|| {
                Participant {
                    conversation_id,
                    staff_id: staff_id.to_owned(),
                    is_active: true,
                    joined_at: now,
                    last_read_at: None,
                }
            });
        participant.is_active = true;
        if read {
            participant.last_read_at = Some(now);
        }
        Ok(())
    }

    async fn participants(&self, conversation_id: ConversationId) -> Result<Vec<Participant>, StoreError> {
        let state = self.state();
        Ok(state.participants.get(&conversation_id).map(|all| all.values().cloned().collect()).unwrap_or_default())
    }
}
