//! The in-memory implementation of the store port, for fast tests of the chat rules.
//!
//! Every method answers what [`super::DynamoStore`] answers for the same calls (the
//! conformance suite, `store::conformance`, runs the same cases against both). The state is
//! one value behind one [`Mutex`], taken once per call and never across an `.await` (the methods
//! have none), so each call is one atomic step: what DynamoDB does with conditional writes and
//! transactions, and the retries around them, is here the plain sequence of a locked block.
//!
//! The state mirrors the table's items rather than the entities alone, where that decides an
//! answer: the active-conversation locks, the number and phone-number pointers, the
//! idempotency records, a message's outbox entry and send claim, and a connection's profile,
//! subscription markers and index entries as separate things (so that, as in DynamoDB, an index
//! entry is what its writer put there). Time-to-live deletions are not modelled: readers skip
//! expired connections as DynamoDB's readers do, and nothing else expires.
//!
//! One file per aggregate, like `dynamo/`: `directory`, `conversations`, `messages`, `reads`,
//! `outbox`, `connections`.

mod connections;
mod conversations;
mod directory;
mod messages;
mod outbox;
mod reads;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::department::Department;
use crate::model::{
    Conversation, ConversationId, Guest, GuestId, Hotel, MessageId, Participant, Staff, StaffId, Stay, StayId,
};
use crate::store::IdempotencyRecord;

/// The store in memory. Clones share the same state (like clones of a `DynamoStore` share
/// its table); [`MemoryStore::new`] makes an empty one.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The state, locked for one call. A panic while it was held (a bug here) leaves the state as
    /// far as it was written; later calls use it rather than failing forever.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Everything stored, by aggregate.
#[derive(Debug, Default)]
struct State {
    /// Hotels by id.
    hotels: HashMap<String, Hotel>,
    /// WhatsApp phone number id → hotel id.
    phone_numbers: HashMap<String, String>,
    /// Staff by user id.
    staff: HashMap<StaffId, Staff>,
    /// Guest profiles by id.
    guests: HashMap<GuestId, Guest>,
    /// Canonical number → hotel id → guest (ordered by hotel id, as the pointer items sort).
    numbers: HashMap<String, BTreeMap<String, GuestId>>,
    /// Stays by id (a guest's stays are those naming it, in id order).
    stays: BTreeMap<StayId, Stay>,
    /// The active-conversation lock of a guest and department.
    locks: HashMap<(GuestId, Department), ConversationId>,
    /// The last conversation id handed out.
    conversation_counter: ConversationId,
    /// Conversations by id.
    conversations: HashMap<ConversationId, Conversation>,
    /// Messages of each conversation, by id.
    messages: HashMap<ConversationId, BTreeMap<MessageId, StoredMessage>>,
    /// Idempotency records by provider message id.
    provider_ids: HashMap<String, IdempotencyRecord>,
    /// Participants of each conversation, by staff id.
    participants: HashMap<ConversationId, BTreeMap<StaffId, Participant>>,
    /// Socket connections and their indexes.
    sockets: connections::Sockets,
}

impl State {
    /// The conversation id the lock of `guest` and `department` names, after releasing a lock
    /// whose conversation is gone (as `DynamoStore` does when the retention TTL removed the
    /// conversation but not its lock).
    fn live_lock(&mut self, guest: GuestId, department: Department) -> Option<ConversationId> {
        let id = *self.locks.get(&(guest, department))?;
        if self.conversations.contains_key(&id) {
            return Some(id);
        }
        tracing::warn!(guest, conversation = id, "active-conversation lock without its conversation released");
        self.locks.remove(&(guest, department));
        None
    }

    /// Deletes the lock of `guest` and `department` if it still names `conversation`.
    fn release_lock(&mut self, guest: GuestId, department: Department, conversation: ConversationId) {
        if self.locks.get(&(guest, department)) == Some(&conversation) {
            self.locks.remove(&(guest, department));
        }
    }
}

#[cfg(any(test, feature = "conformance"))]
#[async_trait::async_trait]
impl super::conformance::Subject for MemoryStore {
    fn store(&self) -> &dyn super::ChatStore {
        self
    }

    async fn expire_conversation(&self, id: ConversationId) {
        self.state().conversations.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;

    /// Runs every case of the conformance suite against a fresh store.
    macro_rules! on_memory {
        ($($module:ident :: $case:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $case() {
                crate::store::conformance::$module::$case(&MemoryStore::new()).await;
            }
        )*};
    }

    crate::store_conformance_cases!(on_memory);
}

/// A message as the table holds it: the message, and while it is `queued` its outbox entry
/// and the sender's claim.
#[derive(Debug, Clone)]
struct StoredMessage {
    /// The message.
    pub message: crate::model::Message,
    /// Where it waits in the outbox, while `queued` (`dynamo/outbox.rs`).
    pub outbox: Option<outbox::OutboxSlot>,
    /// The sender's claim: epoch milliseconds until which it holds the message.
    pub sending_until: Option<i64>,
}
