//! REST objects (docs/api.md §4): the Conversation and Message JSON the dashboard reads.
//!
//! They are built from stored entities plus what the caller's request adds (`time_ago` needs
//! "now", `guest_info` needs the guest and their active stay, `last_message` needs a read).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::department::Department;
use crate::model::{
    Conversation, ConversationId, ConversationStatus, ConversationType, DeliveryStatus, Guest, GuestStatus, Hotel,
    Message, MessageId, MessageType, SenderType, Stay,
};

/// The REST Message object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageView {
    /// Id.
    pub id: MessageId,
    /// Conversation id (Django field name).
    pub conversation: ConversationId,
    /// Conversation id.
    pub conversation_id: ConversationId,
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Staff id of a staff message.
    pub sender: Option<String>,
    /// Shown name.
    pub sender_name: String,
    /// Kind.
    pub message_type: MessageType,
    /// Text or caption.
    pub content: String,
    /// Media link.
    pub media_url: Option<String>,
    /// Media file name.
    pub media_filename: Option<String>,
    /// Read flag.
    pub is_read: bool,
    /// Read time.
    pub read_at: Option<String>,
    /// Outbound state.
    pub delivery_status: Option<DeliveryStatus>,
    /// Provider id.
    pub provider_message_id: Option<String>,
    /// `5 minutes ago`.
    pub time_ago: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

impl MessageView {
    /// The view of `message` as seen at `now`.
    pub fn new(message: &Message, now: DateTime<Utc>) -> Self {
        MessageView {
            id: message.id,
            conversation: message.conversation_id,
            conversation_id: message.conversation_id,
            sender_type: message.sender_type,
            sender: message.sender_id.clone(),
            sender_name: message.sender_name.clone(),
            message_type: message.message_type,
            content: message.content.clone(),
            media_url: message.media_url.clone(),
            media_filename: message.media_filename.clone(),
            is_read: message.is_read,
            read_at: message.read_at.map(crate::clock::iso),
            delivery_status: message.delivery_status,
            provider_message_id: message.provider_message_id.clone(),
            time_ago: crate::clock::time_ago(message.created_at, now),
            created_at: crate::clock::iso(message.created_at),
            updated_at: crate::clock::iso(message.updated_at),
        }
    }
}

/// `guest_info` of the Conversation object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuestInfo {
    /// Guest id.
    pub id: u64,
    /// Full name ("" when unknown).
    pub full_name: String,
    /// E-mail ("" when unknown).
    pub email: String,
    /// Canonical number.
    pub whatsapp_number: String,
    /// Check-in state.
    pub status: GuestStatus,
    /// Room of the active stay ("" when unknown).
    pub room_number: String,
    /// Floor of the active stay.
    pub floor: Option<i64>,
}

impl GuestInfo {
    /// Built from the guest and their active stay.
    pub fn new(guest: &Guest, stay: Option<&Stay>) -> Self {
        GuestInfo {
            id: guest.id,
            full_name: guest.full_name.clone(),
            email: guest.email.clone(),
            whatsapp_number: guest.whatsapp_number.clone(),
            status: guest.status,
            room_number: stay.map(|s| s.room_number.clone()).unwrap_or_default(),
            floor: stay.and_then(|s| s.floor),
        }
    }
}

/// The REST Conversation object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationView {
    /// Id.
    pub id: ConversationId,
    /// Guest id.
    pub guest: u64,
    /// Hotel id.
    pub hotel: String,
    /// Department.
    pub department: Department,
    /// Type.
    pub conversation_type: ConversationType,
    /// Status.
    pub status: ConversationStatus,
    /// Assignee.
    pub assigned_to: Option<String>,
    /// The guest.
    pub guest_info: GuestInfo,
    /// Hotel name.
    pub hotel_name: String,
    /// Newest activity.
    pub last_message_at: String,
    /// Preview of the newest message.
    pub last_message_preview: String,
    /// Unread guest messages.
    pub unread_count: u64,
    /// Newest message.
    pub last_message: Option<MessageView>,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

impl ConversationView {
    /// Assembles the object.
    pub fn new(
        conversation: &Conversation,
        hotel: &Hotel,
        guest_info: GuestInfo,
        last_message: Option<&Message>,
        now: DateTime<Utc>,
    ) -> Self {
        ConversationView {
            id: conversation.id,
            guest: conversation.guest_id,
            hotel: conversation.hotel_id.clone(),
            department: conversation.department,
            conversation_type: conversation.conversation_type,
            status: conversation.status,
            assigned_to: conversation.assigned_to.clone(),
            guest_info,
            hotel_name: hotel.name.clone(),
            last_message_at: crate::clock::iso(conversation.last_message_at),
            last_message_preview: conversation.last_message_preview.clone(),
            unread_count: conversation.unread_count,
            last_message: last_message.map(|m| MessageView::new(m, now)),
            created_at: crate::clock::iso(conversation.created_at),
            updated_at: crate::clock::iso(conversation.updated_at),
        }
    }
}
