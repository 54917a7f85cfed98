//! Conversations, their messages and participants, and the sockets that follow them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::department::Department;

/// A conversation between a guest and one department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Id.
    pub id: ConversationId,
    /// The hotel.
    pub hotel_id: HotelId,
    /// The guest.
    pub guest_id: GuestId,
    /// The department it is routed to.
    pub department: Department,
    /// Why it exists.
    pub conversation_type: ConversationType,
    /// Lifecycle state.
    pub status: ConversationStatus,
    /// Time of the newest message (creation time when there is none).
    #[serde(with = "iso_time")]
    pub last_message_at: DateTime<Utc>,
    /// First 255 characters of the newest message.
    #[serde(default)]
    pub last_message_preview: String,
    /// Staff member in charge.
    #[serde(default)]
    pub assigned_to: Option<StaffId>,
    /// Unread guest messages.
    #[serde(default)]
    pub unread_count: u64,
    /// Sequence number of the newest message (the message id allocator, see `docs/data-model.md`).
    #[serde(default)]
    pub msg_seq: u64,
    /// Some socket subscribed to it once (set by the first subscription, never cleared): only
    /// then does a push to its audience look for subscribers, so the usual message costs no
    /// subscriber query. Internal: never part of an API answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub subscribed: bool,
    /// The newest message id a mark-read of the whole conversation has looked at: every guest
    /// message up to it was marked read then, so the next one looks only at what came after.
    /// Internal: never part of an API answer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub read_through: MessageId,
    /// Creation time.
    #[serde(with = "iso_time")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "iso_time")]
    pub updated_at: DateTime<Utc>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Id (unique in the stack, increasing within a conversation).
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Staff id for staff messages.
    #[serde(default)]
    pub sender_id: Option<StaffId>,
    /// Name shown next to the message, fixed when it was written.
    #[serde(default)]
    pub sender_name: String,
    /// What it carries.
    pub message_type: MessageType,
    /// Text, or a media caption.
    #[serde(default)]
    pub content: String,
    /// Media link.
    #[serde(default)]
    pub media_url: Option<String>,
    /// Media file name.
    #[serde(default)]
    pub media_filename: Option<String>,
    /// Read by staff (guest messages) or by the guest (staff messages).
    #[serde(default)]
    pub is_read: bool,
    /// When it was read.
    #[serde(default, with = "iso_time::option")]
    pub read_at: Option<DateTime<Utc>>,
    /// Outbound state (staff messages only).
    #[serde(default)]
    pub delivery_status: Option<DeliveryStatus>,
    /// WhatsApp `wamid` or the bridge's id.
    #[serde(default)]
    pub provider_message_id: Option<String>,
    /// Creation time.
    #[serde(with = "iso_time")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "iso_time")]
    pub updated_at: DateTime<Utc>,
}

/// A staff member who opened a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The staff member.
    pub staff_id: StaffId,
    /// Still following it.
    pub is_active: bool,
    /// First visit.
    #[serde(with = "iso_time")]
    pub joined_at: DateTime<Utc>,
    /// Last mark-read.
    #[serde(default, with = "iso_time::option")]
    pub last_read_at: Option<DateTime<Utc>>,
}

/// An open WebSocket, as `$connect` stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// API Gateway connection id.
    pub connection_id: String,
    /// Staff or guest.
    pub kind: ConnectionKind,
    /// The hotel.
    pub hotel_id: HotelId,
    /// Staff id (staff sockets).
    #[serde(default)]
    pub staff_id: Option<StaffId>,
    /// Guest id (guest sockets).
    #[serde(default)]
    pub guest_id: Option<GuestId>,
    /// Name shown to peers.
    #[serde(default)]
    pub user_name: String,
    /// Departments the socket listens to (staff).
    #[serde(default)]
    pub departments: Vec<Department>,
    /// The one department the socket asked to listen to at connect (`department=`), if any:
    /// when rights change, such a socket keeps that department or closes, while the others
    /// follow everything the member may act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<Department>,
    /// Conversations subscribed outside those departments.
    #[serde(default)]
    pub subscriptions: Vec<ConversationId>,
    /// A staff socket's rights: the member's stored profile and hotel, copied at connect and
    /// rewritten by provisioning whenever either changes (`chat::rights`), so that a frame reads
    /// them with its connection instead of reading both again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<Rights>,
    /// Connect time.
    #[serde(with = "iso_time")]
    pub connected_at: DateTime<Utc>,
    /// Epoch seconds after which DynamoDB's TTL removes the record (2 h after connect).
    pub expires_at: i64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The stored profile and hotel a staff socket acts with (see [`Connection::rights`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rights {
    /// The member's profile.
    pub staff: Staff,
    /// Their hotel.
    pub hotel: Hotel,
}

/// How a staff message (or an automatic text) is presented to the WhatsApp Cloud API: the form
/// of an outbound job, also kept on a `queued` message's item for the outbox sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundKind {
    /// The stored message as it is: text, or media by link.
    #[default]
    Message,
    /// The stored reopen question as an interactive message with the `Continue` reply button
    /// (inside the 24-hour window).
    ReopenButton,
    /// The approved template `WHATSAPP_REOPEN_TEMPLATE` (outside the window), its quick-reply
    /// button carrying the same id.
    ReopenTemplate,
    /// An automatic text that is not stored (the reopen confirmation); its delivery is logged.
    Notice(String),
}

impl OutboundKind {
    /// The plain message form (left out of serialized jobs).
    pub fn is_message(&self) -> bool {
        *self == OutboundKind::Message
    }
}
