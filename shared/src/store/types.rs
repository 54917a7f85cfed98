//! The values the store port takes and answers (see [`super`]): independent of DynamoDB, shared
//! by every implementation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::department::Department;
use crate::model::{
    Connection, ConnectionKind, Conversation, ConversationId, ConversationType, DeliveryStatus, Guest, GuestId,
    Message, MessageId, MessageType, OutboundKind, SenderType, StaffId, Stay, StayStatus,
};

/// Longest `last_message_preview` (docs/api.md §2).
const PREVIEW_CHARS: usize = 255;

/// A message to add; ids and timestamps are assigned by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Staff id for staff messages.
    pub sender_id: Option<StaffId>,
    /// Name shown with it.
    pub sender_name: String,
    /// What it carries.
    pub message_type: MessageType,
    /// Text or caption.
    pub content: String,
    /// Media link.
    pub media_url: Option<String>,
    /// Media file name.
    pub media_filename: Option<String>,
    /// `queued` for staff messages on their way to WhatsApp.
    pub delivery_status: Option<DeliveryStatus>,
    /// How a `queued` message goes to WhatsApp; kept on its item (in the outbox) until its
    /// delivery status moves on, so that a lost job can be queued again (`store::Outbound`).
    pub send_as: OutboundKind,
    /// Provider id; a repeat is stored once.
    pub provider_message_id: Option<String>,
}

impl NewMessage {
    /// A system message (transfers, delivery notices).
    pub fn system(content: impl Into<String>) -> Self {
        NewMessage {
            sender_type: SenderType::System,
            sender_id: None,
            sender_name: "System".into(),
            message_type: MessageType::System,
            content: content.into(),
            media_url: None,
            media_filename: None,
            delivery_status: None,
            send_as: OutboundKind::Message,
            provider_message_id: None,
        }
    }

    pub(crate) fn preview(&self) -> String {
        let text = if self.content.trim().is_empty() {
            match (&self.media_filename, self.message_type) {
                (Some(name), _) => name.clone(),
                (None, kind) => format!("[{kind}]"),
            }
        } else {
            self.content.clone()
        };
        text.chars().take(PREVIEW_CHARS).collect()
    }

    pub(crate) fn into_message(self, id: MessageId, conversation_id: ConversationId, now: DateTime<Utc>) -> Message {
        Message {
            id,
            conversation_id,
            sender_type: self.sender_type,
            sender_id: self.sender_id,
            sender_name: self.sender_name,
            message_type: self.message_type,
            content: self.content,
            media_url: self.media_url,
            media_filename: self.media_filename,
            is_read: false,
            read_at: None,
            delivery_status: self.delivery_status,
            provider_message_id: self.provider_message_id,
            created_at: now,
            updated_at: now,
        }
    }
}

/// What the first request with a provider message id stored; a repeat answers from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The conversation the message went to.
    pub conversation_id: ConversationId,
    /// The stored message.
    pub message_id: MessageId,
    /// Its department.
    pub department: Department,
    /// Its conversation type.
    pub conversation_type: ConversationType,
    /// Whether that request created the conversation.
    pub conversation_created: bool,
}

/// A message that was stored, with the conversation as it is after the write.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The conversation after the write.
    pub conversation: Conversation,
    /// The stored message.
    pub message: Message,
    /// Whether the conversation was created by this write.
    pub created: bool,
}

impl Appended {
    /// The idempotency record of this write.
    pub fn record(&self) -> IdempotencyRecord {
        IdempotencyRecord {
            conversation_id: self.conversation.id,
            message_id: self.message.id,
            department: self.conversation.department,
            conversation_type: self.conversation.conversation_type,
            conversation_created: self.created,
        }
    }
}

/// Result of adding a message that may carry a provider id.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// Stored now.
    Stored(Box<Appended>),
    /// Stored before: nothing was written.
    Duplicate(IdempotencyRecord),
}

/// Which slice of a conversation's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageDirection {
    /// The newest messages.
    Latest,
    /// Messages older than this id.
    Before(MessageId),
    /// Messages newer than this id.
    After(MessageId),
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePage {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
    /// Whether more exist in the direction read.
    pub has_more: bool,
}

/// A page of conversations, newest activity first.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationPage {
    /// The conversations.
    pub conversations: Vec<Conversation>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Why a transfer was refused.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The guest already has an active conversation in the target department.
    #[error("guest already has an active conversation there")]
    TargetBusy(ConversationId),
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A guest with everything stored in its partition, read in one strongly consistent query.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestRecord {
    /// The profile.
    pub guest: Guest,
    /// Every stay, oldest id first.
    pub stays: Vec<Stay>,
    /// Active conversation per department.
    pub active: Vec<(Department, ConversationId)>,
    /// The guest's live sockets, as they were when the record was read.
    pub sockets: Vec<ListenerRef>,
}

impl GuestRecord {
    /// The active stay at the guest's hotel with the most recent check-in.
    pub fn active_stay(&self) -> Option<&Stay> {
        self.stays
            .iter()
            .filter(|s| s.status == StayStatus::Active && s.hotel_id == self.guest.hotel_id)
            .max_by(|a, b| a.check_in_date.cmp(&b.check_in_date).then(a.id.cmp(&b.id)))
    }

    /// The active conversation in `department`, if any.
    pub fn active_conversation(&self, department: Department) -> Option<ConversationId> {
        self.active.iter().find(|(d, _)| *d == department).map(|(_, id)| *id)
    }
}

/// What an index item tells about a connection without reading its profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerRef {
    /// API Gateway connection id.
    pub connection_id: String,
    /// Staff or guest.
    pub kind: ConnectionKind,
    /// Staff id of a staff socket.
    #[serde(default)]
    pub staff_id: Option<String>,
    /// Guest id of a guest socket.
    #[serde(default)]
    pub guest_id: Option<GuestId>,
    /// TTL, epoch seconds.
    pub expires_at: i64,
}

impl ListenerRef {
    /// The index entry of a connection.
    pub(crate) fn of(connection: &Connection) -> Self {
        ListenerRef {
            connection_id: connection.connection_id.clone(),
            kind: connection.kind,
            staff_id: connection.staff_id.clone(),
            guest_id: connection.guest_id,
            expires_at: connection.expires_at,
        }
    }
}

/// A `queued` message as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The message.
    pub message_id: MessageId,
    /// How it goes to WhatsApp.
    pub send_as: OutboundKind,
    /// Where the store keeps it (opaque): a re-arm applies only while the entry is still there.
    pub(crate) position: String,
}

/// One page of overdue entries.
#[derive(Debug, Clone, Default)]
pub struct OutboxPage {
    /// The entries, oldest first (entries that do not decode are skipped and logged).
    pub entries: Vec<OutboxEntry>,
    /// More overdue entries may follow.
    pub more: bool,
}
