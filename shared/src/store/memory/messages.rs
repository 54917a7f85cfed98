//! Messages: the append protocol of `dynamo/messages.rs` as one locked step, history and
//! provider ids.
//!
//! A message takes the id `conversation_id × MESSAGE_ID_STRIDE + seq`, `seq` being the
//! conversation's `msg_seq` + 1; the conversation, its message, the idempotency record of a
//! provider id and the guest's `last_inbound_at` change together, or (when a rule refuses the
//! write) nothing does. The first message of a guest in a department creates the conversation and
//! its active-conversation lock in the same step.

use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::outbox::OutboxSlot;
use super::{MemoryStore, State, StoredMessage};
use crate::department::Department;
use crate::model::{
    Conversation, ConversationId, ConversationStatus, ConversationType, Guest, GuestId, Message, MessageId,
    OutboundKind, SenderType,
};
use crate::store::keys::MESSAGE_ID_STRIDE;
use crate::store::{
    AppendOutcome, Appended, IdempotencyRecord, MessagePage, Messages, NewMessage, PageDirection, StoreError,
};

/// Why an append did not store.
enum Refused {
    /// The conversation does not exist.
    Missing,
    /// The conversation is not active.
    Closed,
    /// The provider message id was stored before: its record.
    Duplicate(IdempotencyRecord),
    /// Any other rule.
    Store(StoreError),
}

#[async_trait]
impl Messages for MemoryStore {
    async fn add_guest_message(
        &self,
        guest: &Guest,
        department: Department,
        new_type: ConversationType,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut state = self.state();
        let attempt = match state.live_lock(guest.id, department) {
            Some(id) => state.append(id, Some(guest.id), &message, now),
            None => state.create(guest, department, new_type, &message, now),
        };
        // A lock always names an active conversation here (the lock and the status change in
        // one step); DynamoDB waits for one that does not to settle, and gives up the same way.
        outcome(attempt, StoreError::Contention, StoreError::Contention)
    }

    async fn add_message(
        &self,
        conversation_id: ConversationId,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut state = self.state();
        let guest = if message.sender_type == SenderType::Guest {
            let conversation = state.conversations.get(&conversation_id).ok_or(StoreError::NotFound)?;
            Some(conversation.guest_id).filter(|id| state.guests.contains_key(id))
        } else {
            None
        };
        let attempt = state.append(conversation_id, guest, &message, now);
        outcome(attempt, StoreError::NotFound, StoreError::ConversationClosed)
    }

    async fn provider_message(&self, provider_id: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.state().provider_ids.get(provider_id).cloned())
    }

    async fn remember_outbound(&self, provider_id: &str, record: &IdempotencyRecord) -> Result<(), StoreError> {
        self.state().provider_ids.insert(provider_id.to_owned(), record.clone());
        Ok(())
    }

    async fn messages(
        &self,
        conversation_id: ConversationId,
        direction: PageDirection,
        limit: usize,
    ) -> Result<MessagePage, StoreError> {
        let limit = limit.clamp(1, 500);
        let state = self.state();
        let Some(all) = state.messages.get(&conversation_id) else {
            return Ok(MessagePage { messages: Vec::new(), has_more: false });
        };
        let (range, forward) = match direction {
            PageDirection::Latest => ((Bound::Unbounded, Bound::Unbounded), false),
            PageDirection::Before(id) => ((Bound::Unbounded, Bound::Excluded(id)), false),
            PageDirection::After(id) => ((Bound::Excluded(id), Bound::Unbounded), true),
        };
        let slice = all.range::<MessageId, _>(range).map(|(_, stored)| stored.message.clone());
        let mut messages: Vec<Message> =
            if forward { slice.take(limit + 1).collect() } else { slice.rev().take(limit + 1).collect() };
        let has_more = messages.len() > limit;
        messages.truncate(limit);
        if !forward {
            messages.reverse();
        }
        Ok(MessagePage { messages, has_more })
    }

    async fn last_message(&self, conversation_id: ConversationId) -> Result<Option<Message>, StoreError> {
        let state = self.state();
        let newest = state.messages.get(&conversation_id).and_then(|all| all.values().next_back());
        Ok(newest.map(|stored| stored.message.clone()))
    }

    async fn get_message(&self, conversation_id: ConversationId, id: MessageId) -> Result<Option<Message>, StoreError> {
        Ok(self.state().message(conversation_id, id).map(|stored| stored.message.clone()))
    }

    async fn set_media_url(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<Message, StoreError> {
        let mut state = self.state();
        let message = &mut state.message_mut(conversation_id, id).ok_or(StoreError::NotFound)?.message;
        message.media_url = Some(url.to_owned());
        message.updated_at = now;
        Ok(message.clone())
    }
}

/// What an append answers, given what the caller answers for a missing and a closed conversation.
fn outcome(
    attempt: Result<Appended, Refused>,
    missing: StoreError,
    closed: StoreError,
) -> Result<AppendOutcome, StoreError> {
    match attempt {
        Ok(appended) => Ok(AppendOutcome::Stored(Box::new(appended))),
        Err(Refused::Duplicate(record)) => Ok(AppendOutcome::Duplicate(record)),
        Err(Refused::Missing) => Err(missing),
        Err(Refused::Closed) => Err(closed),
        Err(Refused::Store(e)) => Err(e),
    }
}

impl State {
    /// A stored message.
    pub(super) fn message(&self, conversation_id: ConversationId, id: MessageId) -> Option<&StoredMessage> {
        self.messages.get(&conversation_id)?.get(&id)
    }

    /// A stored message, to change it.
    pub(super) fn message_mut(&mut self, conversation_id: ConversationId, id: MessageId) -> Option<&mut StoredMessage> {
        self.messages.get_mut(&conversation_id)?.get_mut(&id)
    }

    /// Stores a message (in the outbox while it is `queued`).
    pub(super) fn put_message(&mut self, message: Message, send_as: &OutboundKind) {
        let outbox = OutboxSlot::enter(&message, send_as);
        let stored = StoredMessage { message, outbox, sending_until: None };
        self.messages.entry(stored.message.conversation_id).or_default().insert(stored.message.id, stored);
    }

    /// Adds a message to an existing, active conversation; `guest` is the guest whose
    /// `last_inbound_at` a guest message moves.
    fn append(
        &mut self,
        conversation_id: ConversationId,
        guest: Option<GuestId>,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, Refused> {
        let mut conversation = self.conversations.get(&conversation_id).cloned().ok_or(Refused::Missing)?;
        if conversation.status != ConversationStatus::Active {
            return Err(Refused::Closed);
        }
        conversation.msg_seq += 1;
        if conversation.msg_seq >= MESSAGE_ID_STRIDE {
            return Err(Refused::Store(StoreError::Conflict("conversation is full".into())));
        }
        conversation.last_message_at = now;
        conversation.last_message_preview = message.preview();
        conversation.updated_at = now;
        conversation.unread_count += u64::from(message.sender_type == SenderType::Guest);
        self.commit(conversation, guest, message, false, now)
    }

    /// Creates a conversation with its first message, and its lock.
    fn create(
        &mut self,
        guest: &Guest,
        department: Department,
        conversation_type: ConversationType,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, Refused> {
        let conversation = self.new_conversation(guest, department, conversation_type, Some(message), now);
        let appended = self.commit(conversation, Some(guest.id), message, true, now)?;
        self.locks.insert((guest.id, department), appended.conversation.id);
        Ok(appended)
    }

    /// Writes a message as the conversation's newest (`conversation` as it is with it), unless
    /// its provider id was stored before or the guest it comes from is not stored (DynamoDB's
    /// transaction would then fail its condition on every retry).
    fn commit(
        &mut self,
        conversation: Conversation,
        guest: Option<GuestId>,
        message: &NewMessage,
        created: bool,
        now: DateTime<Utc>,
    ) -> Result<Appended, Refused> {
        if let Some(record) = message.provider_message_id.as_ref().and_then(|id| self.provider_ids.get(id)) {
            return Err(Refused::Duplicate(record.clone()));
        }
        if message.sender_type == SenderType::Guest
            && let Some(id) = guest
        {
            let guest = self.guests.get_mut(&id).ok_or(Refused::Store(StoreError::Contention))?;
            guest.last_inbound_at = Some(now);
        }
        let id = conversation.id * MESSAGE_ID_STRIDE + conversation.msg_seq;
        let stored = message.clone().into_message(id, conversation.id, now);
        let appended = Appended { conversation, message: stored, created };
        if let Some(provider_id) = &message.provider_message_id {
            self.provider_ids.insert(provider_id.clone(), appended.record());
        }
        self.put_message(appended.message.clone(), &message.send_as);
        self.conversations.insert(appended.conversation.id, appended.conversation.clone());
        Ok(appended)
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::MemoryStore;
    use crate::department::Department;
    use crate::store::conformance::{Scene, guest_text, say};
    use crate::store::{AppendOutcome, Messages, PageDirection};

    /// The conformance cases run on one thread; here eight threads append at once (the
    /// clones share the state), and every message still gets its own next id.
    #[test]
    fn appends_from_many_threads_each_take_the_next_id() {
        let store = MemoryStore::new();
        let Scene { guest, .. } = block_on(Scene::new(&store));
        let first = block_on(say(&store, &guest, Department::Reception, "first"));
        let id = first.conversation.id;
        std::thread::scope(|threads| {
            for t in 0..8 {
                let store = store.clone();
                threads.spawn(move || {
                    for i in 0..25 {
                        let outcome =
                            block_on(store.add_message(id, guest_text(&format!("{t}.{i}")), crate::clock::now()));
                        assert!(matches!(outcome, Ok(AppendOutcome::Stored(_))), "{outcome:?}");
                    }
                });
            }
        });
        let page = block_on(store.messages(id, PageDirection::Latest, 500)).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<u64> = page.messages.iter().map(|m| m.id).collect();
        let expected: Vec<u64> = (first.message.id..=first.message.id + 200).collect();
        assert_eq!(ids, expected);
    }
}
