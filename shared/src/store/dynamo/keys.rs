//! Every key of the single-table design, in one place (`docs/data-model.md` explains them).
//!
//! Numeric ids inside sort keys are zero-padded so that the lexical order DynamoDB sorts by is
//! the numeric order.

use chrono::{DateTime, Utc};

use crate::department::Department;
use crate::model::{ConversationId, ConversationStatus, GuestId, MessageId, StayId};

/// Sort key of the main item of an entity.
pub const PROFILE: &str = "PROFILE";

/// Messages of one conversation take ids `conversation_id * MESSAGE_ID_STRIDE + seq`.
pub const MESSAGE_ID_STRIDE: u64 = 1_000_000;

/// Hotel profile: `HOTEL#{id}` / `PROFILE`.
pub fn hotel(id: &str) -> String {
    format!("HOTEL#{id}")
}

/// Pointer from a WhatsApp phone number id to its hotel: `WAPHONE#{id}` / `PROFILE`.
pub fn hotel_phone(phone_number_id: &str) -> String {
    format!("WAPHONE#{phone_number_id}")
}

/// Staff profile: `STAFF#{user_id}` / `PROFILE`.
pub fn staff(user_id: &str) -> String {
    format!("STAFF#{user_id}")
}

/// Guest partition: profile (`PROFILE`), stays (`STAY#…`), active-conversation locks
/// (`ACTIVE#…`) and the index items of the guest's sockets (`CONN#…`).
pub fn guest(id: GuestId) -> String {
    format!("GUEST#{id}")
}

/// Sort key of a stay inside its guest's partition.
pub fn guest_stay(id: StayId) -> String {
    format!("STAY#{id:020}")
}

/// Sort key of the lock that makes "one active conversation per guest and department" a rule
/// the database enforces.
pub fn active_lock(department: Department) -> String {
    format!("ACTIVE#{}", department.key())
}

/// Pointer from a canonical number to the guests with that number, one per hotel:
/// `WANUM#{number}` / `HOTEL#{hotel}`.
pub fn number(canonical: &str) -> String {
    format!("WANUM#{canonical}")
}

/// Sort key of a number pointer.
pub fn number_hotel(hotel_id: &str) -> String {
    format!("HOTEL#{hotel_id}")
}

/// Stay by id: `STAY#{id}` / `PROFILE`.
pub fn stay(id: StayId) -> String {
    format!("STAY#{id}")
}

/// Conversation partition: profile (`PROFILE`), messages (`MSG#…`), participants (`PART#…`).
pub fn conversation(id: ConversationId) -> String {
    format!("CONV#{id}")
}

/// Sort key of a message.
pub fn message(id: MessageId) -> String {
    format!("MSG#{id:016}")
}

/// The largest message id a sort key may hold (ids never exceed 2^53, 16 digits).
pub const LAST_MESSAGE_ID: MessageId = 9_999_999_999_999_999;

/// Sort-key prefix of all messages.
pub const MESSAGE_PREFIX: &str = "MSG#";

/// Sort key of a participant.
pub fn participant(staff_id: &str) -> String {
    format!("PART#{staff_id}")
}

/// GSI1 partition of a hotel's conversations in one department and status.
pub fn conversation_list(hotel_id: &str, department: Department, status: ConversationStatus) -> String {
    format!("CONVS#{hotel_id}#{}#{}", department.key(), status.as_str())
}

/// GSI1 sort key: newest `last_message_at` last (queried backwards), id to break ties.
pub fn conversation_order(last_message_at: DateTime<Utc>, id: ConversationId) -> String {
    format!("{}#{id:016}", crate::clock::iso(last_message_at))
}

/// Idempotency record of a provider message id: `PMID#{id}` / `PROFILE`.
pub fn provider_message(id: &str) -> String {
    format!("PMID#{id}")
}

/// The id counter: `COUNTER#{name}` / `PROFILE`.
pub fn counter(name: &str) -> String {
    format!("COUNTER#{name}")
}

/// Connection partition: profile (`PROFILE`) and its subscriptions (`SUB#…`).
pub fn connection(id: &str) -> String {
    format!("CONN#{id}")
}

/// Sort key of a subscription inside a connection partition.
pub fn connection_subscription(conversation: ConversationId) -> String {
    format!("SUB#{conversation:016}")
}

/// Sort key of a connection inside an index partition.
pub fn connection_ref(id: &str) -> String {
    format!("CONN#{id}")
}

/// Sockets listening to a hotel department.
pub fn listeners(hotel_id: &str, department: Department) -> String {
    format!("LISTEN#{hotel_id}#{}", department.key())
}

/// Sockets of a guest: their index items live in the guest's own partition (sort key
/// `CONN#…`), so the query that reads the guest record finds them too.
pub fn guest_connections(guest: GuestId) -> String {
    self::guest(guest)
}

/// Sockets of a staff member.
pub fn staff_connections(user_id: &str) -> String {
    format!("STAFFCONN#{user_id}")
}

/// Sockets subscribed to a conversation.
pub fn subscribers(conversation: ConversationId) -> String {
    format!("SUBS#{conversation}")
}
