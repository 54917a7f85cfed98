//! Conversations: reading one, opening, closing, transferring, assigning, listing, with the
//! active-conversation lock of a guest and department changing in the same step as the status
//! or the department (`dynamo/conversations.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemoryStore, State};
use crate::department::Department;
use crate::model::{Conversation, ConversationId, ConversationStatus, ConversationType, Guest, SenderType};
use crate::store::keys::{self, MESSAGE_ID_STRIDE};
use crate::store::{Appended, ConversationPage, Conversations, NewMessage, StoreError, TransferError};

#[async_trait]
impl Conversations for MemoryStore {
    async fn get_conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.state().conversations.get(&id).cloned())
    }

    async fn open_conversation(
        &self,
        guest: &Guest,
        department: Department,
        conversation_type: ConversationType,
        now: DateTime<Utc>,
    ) -> Result<(Conversation, bool), StoreError> {
        let mut state = self.state();
        if let Some(id) = state.live_lock(guest.id, department) {
            return match state.conversations.get(&id) {
                Some(c) if c.status == ConversationStatus::Active => Ok((c.clone(), false)),
                // Never here (see `add_guest_message`); DynamoDB gives up waiting the same way.
                _ => Err(StoreError::Contention),
            };
        }
        let conversation = state.new_conversation(guest, department, conversation_type, None, now);
        state.locks.insert((guest.id, department), conversation.id);
        state.conversations.insert(conversation.id, conversation.clone());
        Ok((conversation, true))
    }

    async fn close_conversation(
        &self,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(Conversation, bool), StoreError> {
        let mut state = self.state();
        let conversation = state.conversations.get_mut(&id).ok_or(StoreError::NotFound)?;
        if conversation.status != ConversationStatus::Active {
            return Ok((conversation.clone(), false));
        }
        conversation.status = ConversationStatus::Closed;
        conversation.updated_at = now;
        let closed = conversation.clone();
        state.release_lock(closed.guest_id, closed.department, id);
        Ok((closed, true))
    }

    async fn transfer_conversation(
        &self,
        id: ConversationId,
        to: Department,
        note: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, TransferError> {
        let mut state = self.state();
        let mut conversation = state.conversations.get(&id).cloned().ok_or(StoreError::NotFound)?;
        if conversation.status != ConversationStatus::Active {
            return Err(StoreError::ConversationClosed.into());
        }
        // DynamoDB refuses the request itself (its transaction would write one lock twice).
        if to == conversation.department {
            return Err(StoreError::Conflict("the conversation is already in that department".into()).into());
        }
        // Any lock in the target refuses, even one whose conversation is gone, as DynamoDB's
        // condition does.
        if let Some(other) = state.locks.get(&(conversation.guest_id, to)) {
            return Err(TransferError::TargetBusy(*other));
        }
        let from = conversation.department;
        conversation.msg_seq += 1;
        let message = note.clone().into_message(id * MESSAGE_ID_STRIDE + conversation.msg_seq, id, now);
        conversation.department = to;
        conversation.last_message_at = now;
        conversation.last_message_preview = note.preview();
        conversation.updated_at = now;
        state.release_lock(conversation.guest_id, from, id);
        state.locks.insert((conversation.guest_id, to), id);
        state.put_message(message.clone(), &note.send_as);
        state.conversations.insert(id, conversation.clone());
        Ok(Appended { conversation, message, created: false })
    }

    async fn assign_conversation(
        &self,
        id: ConversationId,
        staff: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let mut state = self.state();
        let conversation = state.conversations.get_mut(&id).ok_or(StoreError::NotFound)?;
        conversation.assigned_to = staff.map(str::to_owned);
        conversation.updated_at = now;
        Ok(conversation.clone())
    }

    async fn list_conversations(
        &self,
        hotel_id: &str,
        departments: &[Department],
        statuses: &[ConversationStatus],
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ConversationPage, StoreError> {
        let limit = limit.clamp(1, 200);
        let state = self.state();
        // The index order: last activity, then id, as the index sort key spells them.
        let listed: Vec<(String, &Conversation)> = state
            .conversations
            .values()
            .filter(|c| c.hotel_id == hotel_id)
            .map(|c| (keys::conversation_order(c.last_message_at, c.id), c))
            .filter(|(order, _)| cursor.is_none_or(|cursor| order.as_str() < cursor))
            .collect();
        // One index partition per department and status, each read newest first up to one more
        // than the page (a department or status named twice is read twice, as in DynamoDB).
        let mut rows: Vec<&(String, &Conversation)> = Vec::new();
        for department in departments {
            for status in statuses {
                let mut partition: Vec<_> =
                    listed.iter().filter(|(_, c)| c.department == *department && c.status == *status).collect();
                partition.sort_by(|a, b| b.0.cmp(&a.0));
                partition.truncate(limit + 1);
                rows.extend(partition);
            }
        }
        rows.sort_by(|a, b| b.0.cmp(&a.0));
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(|(order, _)| order.clone()) } else { None };
        Ok(ConversationPage { conversations: rows.into_iter().map(|(_, c)| (*c).clone()).collect(), next_cursor })
    }
}

impl State {
    /// A new active conversation of `guest` in `department` with a new id: empty, or as it is
    /// with its `first` message.
    pub(super) fn new_conversation(
        &mut self,
        guest: &Guest,
        department: Department,
        conversation_type: ConversationType,
        first: Option<&NewMessage>,
        now: DateTime<Utc>,
    ) -> Conversation {
        self.conversation_counter += 1;
        Conversation {
            id: self.conversation_counter,
            hotel_id: guest.hotel_id.clone(),
            guest_id: guest.id,
            department,
            conversation_type,
            status: ConversationStatus::Active,
            last_message_at: now,
            last_message_preview: first.map(NewMessage::preview).unwrap_or_default(),
            assigned_to: None,
            unread_count: first.map_or(0, |m| u64::from(m.sender_type == SenderType::Guest)),
            msg_seq: u64::from(first.is_some()),
            subscribed: false,
            read_through: 0,
            created_at: now,
            updated_at: now,
        }
    }
}
