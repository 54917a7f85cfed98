//! The store port: what the chat core needs from storage, one trait per aggregate, and the
//! values they take and answer (`types`).
//!
//! [`DynamoStore`] implements it on one DynamoDB table (docs/data-model.md); [`MemoryStore`]
//! in memory, for fast tests of the chat rules. Handlers hold a `dyn` [`ChatStore`] (the sum of
//! the traits) and import the traits whose methods they call. The conformance suite
//! (`conformance`, for tests) runs the same behaviour cases against both.

#[cfg(any(test, feature = "conformance"))]
#[doc(hidden)]
pub mod conformance;
pub mod dynamo;
pub mod memory;
mod types;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::department::Department;
use crate::model::{
    Connection, Conversation, ConversationId, ConversationStatus, ConversationType, DeliveryStatus, Guest, GuestId,
    Hotel, Message, MessageId, Staff, Stay, StayId,
};

pub use dynamo::{DynamoStore, keys};
pub use memory::MemoryStore;
pub use types::{
    AppendOutcome, Appended, ConversationPage, GuestRecord, IdempotencyRecord, ListenerRef, MessagePage, NewMessage,
    OutboxEntry, OutboxPage, PageDirection, TransferError,
};

/// Failures of store operations. Handlers map them to client answers; `Aws` and `Corrupt` are
/// internal (logged, answered as a generic 500/503 without detail).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The item does not exist.
    #[error("not found")]
    NotFound,
    /// The conversation is not active any more.
    #[error("conversation is closed")]
    ConversationClosed,
    /// A uniqueness rule refused the write (the message says which).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many concurrent writers kept winning the race; the caller may retry later.
    #[error("too much contention, try again")]
    Contention,
    /// A stored item does not decode.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// DynamoDB failed.
    #[error("dynamodb: {0}")]
    Aws(String),
}

/// Hotels, staff, guests and stays: what the hotel CRM provisions. Writes are "create or
/// replace" and answer `true` when they created.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Creates or replaces a hotel; `true` when it was created.
    async fn put_hotel(&self, hotel: &Hotel) -> Result<bool, StoreError>;

    /// Reads a hotel.
    async fn get_hotel(&self, id: &str) -> Result<Option<Hotel>, StoreError>;

    /// Finds the hotel that owns a WhatsApp phone number id (routes Meta webhooks).
    async fn hotel_by_phone_number_id(&self, phone_number_id: &str) -> Result<Option<Hotel>, StoreError>;

    /// Creates or replaces a staff member; `true` when created.
    async fn put_staff(&self, staff: &Staff) -> Result<bool, StoreError>;

    /// Reads a staff member.
    async fn get_staff(&self, user_id: &str) -> Result<Option<Staff>, StoreError>;

    /// Creates or replaces a guest; `true` when created. The number pointer moves with the
    /// number; a number already used by another guest of the same hotel is a conflict. The
    /// guest's last inbound time is kept.
    async fn put_guest(&self, guest: &Guest) -> Result<bool, StoreError>;

    /// Reads a guest profile.
    async fn get_guest(&self, id: GuestId) -> Result<Option<Guest>, StoreError>;

    /// Reads a guest with its stays and active conversations in one query.
    async fn guest_record(&self, id: GuestId) -> Result<Option<GuestRecord>, StoreError>;

    /// The guests (one per hotel at most) with this canonical number: `(hotel_id, guest_id)`.
    async fn guests_with_number(&self, canonical: &str) -> Result<Vec<(String, GuestId)>, StoreError>;

    /// Creates or replaces a stay; `true` when created. The guest must exist.
    async fn put_stay(&self, stay: &Stay) -> Result<bool, StoreError>;

    /// Reads a stay.
    async fn get_stay(&self, id: StayId) -> Result<Option<Stay>, StoreError>;

    /// The guest of hotel `hotel_id` with this canonical number, if any.
    async fn guest_in_hotel(&self, hotel_id: &str, canonical: &str) -> Result<Option<GuestId>, StoreError> {
        let guests = self.guests_with_number(canonical).await?;
        Ok(guests.into_iter().find(|(hotel, _)| hotel == hotel_id).map(|(_, id)| id))
    }
}

/// Conversations: one by id, the lifecycle (open, close, transfer, assign) and the lists.
#[async_trait]
pub trait Conversations: Send + Sync {
    /// Reads a conversation.
    async fn get_conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError>;

    /// Returns the guest's active conversation in `department`, creating an empty one when there
    /// is none (REST create). `true` when created.
    async fn open_conversation(
        &self,
        guest: &Guest,
        department: Department,
        conversation_type: ConversationType,
        now: DateTime<Utc>,
    ) -> Result<(Conversation, bool), StoreError>;

    /// Closes a conversation and releases its lock. `Ok((c, false))` when it was already closed.
    async fn close_conversation(
        &self,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(Conversation, bool), StoreError>;

    /// Moves an active conversation to another department, recording `note` as a system message.
    async fn transfer_conversation(
        &self,
        id: ConversationId,
        to: Department,
        note: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, TransferError>;

    /// Sets or clears the assignee.
    async fn assign_conversation(
        &self,
        id: ConversationId,
        staff: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// Conversations of a hotel in some departments and statuses, newest activity first.
    /// The cursor is the index sort key of the last conversation returned.
    async fn list_conversations(
        &self,
        hotel_id: &str,
        departments: &[Department],
        statuses: &[ConversationStatus],
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ConversationPage, StoreError>;
}

/// Messages: appending (ids increase within a conversation; a provider id is stored once),
/// history, provider ids.
#[async_trait]
pub trait Messages: Send + Sync {
    /// Adds a guest message: to the guest's active conversation in `department`, or to a new one
    /// of `new_type`. Idempotent on the provider message id.
    async fn add_guest_message(
        &self,
        guest: &Guest,
        department: Department,
        new_type: ConversationType,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Adds a message to an existing, active conversation (staff replies, system messages, a
    /// guest message naming its conversation). Idempotent on the provider message id.
    async fn add_message(
        &self,
        conversation_id: ConversationId,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError>;

    /// [`Messages::add_guest_message`] for a guest record read just now: the first attempt goes
    /// to the record's active conversation in `department` (or creates one when it has none), so
    /// a store that appends optimistically does not read the lock again. A record that went
    /// stale meanwhile costs a retry, never a wrong write: the write's own conditions decide.
    async fn add_guest_message_from(
        &self,
        record: &GuestRecord,
        department: Department,
        new_type: ConversationType,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        self.add_guest_message(&record.guest, department, new_type, message, now).await
    }

    /// [`Messages::add_message`] to a conversation the caller has just read: the first attempt
    /// starts from `known` (its `msg_seq`), so a store that appends optimistically reads the
    /// conversation again only when another write got there first.
    async fn append_to(
        &self,
        known: &Conversation,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        self.add_message(known.id, message, now).await
    }

    /// Reads a stored idempotency record.
    async fn provider_message(&self, provider_id: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Remembers the provider id of an outbound message so status webhooks find it.
    async fn remember_outbound(&self, provider_id: &str, record: &IdempotencyRecord) -> Result<(), StoreError>;

    /// Reads a page of a conversation's messages, oldest first.
    async fn messages(
        &self,
        conversation_id: ConversationId,
        direction: PageDirection,
        limit: usize,
    ) -> Result<MessagePage, StoreError>;

    /// The newest message of a conversation.
    async fn last_message(&self, conversation_id: ConversationId) -> Result<Option<Message>, StoreError>;

    /// Reads one message.
    async fn get_message(&self, conversation_id: ConversationId, id: MessageId) -> Result<Option<Message>, StoreError>;

    /// The newest message of each conversation that has one, found by its id (`msg_seq` names
    /// it): what a page of the conversation list shows, in as few requests as the store allows.
    async fn newest_messages(&self, conversations: &[Conversation]) -> Result<Vec<Message>, StoreError> {
        let mut newest = Vec::new();
        for c in conversations.iter().filter(|c| c.msg_seq > 0) {
            newest.extend(self.get_message(c.id, c.id * keys::MESSAGE_ID_STRIDE + c.msg_seq).await?);
        }
        Ok(newest)
    }

    /// Sets a message's media link (guest media imported after the message was stored).
    async fn set_media_url(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<Message, StoreError>;
}

/// What staff have read, and who opened a conversation.
#[async_trait]
pub trait ReadState: Send + Sync {
    /// Marks unread guest messages read (all of them, or those in `only`); returns the ids that
    /// changed. Each message is flipped with a condition, so concurrent readers count it once.
    /// Marking all looks only at the messages after [`Conversation::read_through`] (as the
    /// caller read `conversation`: an older copy only means a longer look), then moves it.
    async fn mark_read(
        &self,
        conversation: &Conversation,
        only: Option<&[MessageId]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>, StoreError>;

    /// Records that a staff member opened a conversation.
    async fn touch_participant(
        &self,
        conversation_id: ConversationId,
        staff_id: &str,
        read: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Participants of a conversation.
    async fn participants(&self, conversation_id: ConversationId)
    -> Result<Vec<crate::model::Participant>, StoreError>;
}

/// Staff messages on their way to WhatsApp: delivery status, the sender's claim, the outbox.
#[async_trait]
pub trait Outbound: Send + Sync {
    /// Moves a staff message's delivery status forward (never backwards; `failed` always
    /// applies) and records the provider id. Returns the message when it changed.
    async fn set_delivery_status(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        status: DeliveryStatus,
        provider_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError>;

    /// Claims a `queued` message for sending until `until`: `true` when this caller may send it
    /// now, `false` when it is no longer queued or another sender holds an unexpired claim (two
    /// deliveries of one queue message never both reach WhatsApp). A claim that expired (its
    /// sender crashed) can be taken again.
    async fn claim_for_sending(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives a claim back (the send failed and will be retried later).
    async fn release_send_claim(&self, conversation_id: ConversationId, id: MessageId) -> Result<(), StoreError>;

    /// Outbox entries due before `cutoff`, oldest first, at most `limit`. Reads the index, which
    /// is eventually consistent: an entry may still show for a moment after it left.
    async fn overdue_outbox(&self, cutoff: DateTime<Utc>, limit: usize) -> Result<OutboxPage, StoreError>;

    /// Moves an entry's due time to `next`: `true` when it was still `queued` at that entry
    /// (the caller may queue its job again), `false` when it left the outbox meanwhile.
    async fn rearm_outbox(&self, entry: &OutboxEntry, next: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// Socket connection records and the indexes a push audience is read from.
#[async_trait]
pub trait Connections: Send + Sync {
    /// Stores a new connection with all its index items.
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError>;

    /// Reads a connection with its subscriptions; `None` when unknown or expired.
    async fn get_connection(&self, id: &str) -> Result<Option<Connection>, StoreError>;

    /// Deletes a connection and every index item; returns what was stored (`None` when it was
    /// already gone, e.g. a 410 and a `$disconnect` racing).
    async fn delete_connection(&self, id: &str) -> Result<Option<Connection>, StoreError>;

    /// Deletes a connection that API Gateway called gone (410), unless it connected after
    /// `connected_after`: a socket whose `$connect` has not returned yet is also "gone" to the
    /// Management API, and must not lose its fresh record (peers connecting at the same moment
    /// announce themselves to each other). `Ok(None)` when nothing was deleted.
    async fn delete_gone_connection(
        &self,
        id: &str,
        connected_after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Connection>, StoreError>;

    /// Sockets listening to a department of a hotel.
    async fn listeners(&self, hotel_id: &str, department: Department) -> Result<Vec<ListenerRef>, StoreError>;

    /// Sockets of a guest.
    async fn guest_connections(&self, guest_id: GuestId) -> Result<Vec<ListenerRef>, StoreError>;

    /// Sockets of a staff member.
    async fn staff_connections(&self, user_id: &str) -> Result<Vec<ListenerRef>, StoreError>;

    /// Sockets subscribed to a conversation.
    async fn subscribers(&self, conversation: ConversationId) -> Result<Vec<ListenerRef>, StoreError>;

    /// Changes the departments a stored staff connection listens to: the profile becomes
    /// `connection` with `departments` (its rights copy included) and the `LISTEN#` index items
    /// change with it, only while the connection is still stored (`NotFound` once it is gone).
    async fn relisten(&self, connection: &Connection, departments: &[Department]) -> Result<(), StoreError>;

    /// Subscribes a socket to a conversation outside its departments, and marks the conversation
    /// [`Conversation::subscribed`] for good. `NotFound` when the connection or the conversation
    /// is not stored (nothing is written then).
    async fn subscribe(&self, connection: &Connection, conversation: ConversationId) -> Result<(), StoreError>;

    /// Removes a subscription (no error when there was none).
    async fn unsubscribe(&self, connection_id: &str, conversation: ConversationId) -> Result<(), StoreError>;
}

/// Everything the chat core stores: what [`crate::app::App`] holds.
pub trait ChatStore:
    Directory + Conversations + Messages + ReadState + Outbound + Connections + std::fmt::Debug
{
}

impl<T: Directory + Conversations + Messages + ReadState + Outbound + Connections + std::fmt::Debug> ChatStore for T {}
