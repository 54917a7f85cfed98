//! The socket wire format (docs/api.md §5).
//!
//! [`ClientFrame::parse`] turns a staff text frame into a typed request or into the exact error
//! message the contract promises; [`ServerFrame`] is every frame the server sends, serialised
//! exactly as the contract shows. serde_json writes non-ASCII characters as UTF-8 (never `\u`
//! escapes), so a 4096-character message always fits in API Gateway's 32 KB frame.

use serde::Serialize;
use serde_json::Value;

use crate::department::Department;
use crate::limits;
use crate::model::{ConversationId, DeliveryStatus, Guest, Message, MessageId, MessageType, SenderType, Stay};

/// Longest message content, in Unicode characters.
pub const MAX_CONTENT_CHARS: usize = limits::CONTENT_CHARS;

/// The error messages of docs/api.md §5, shared with REST where the texts are the same.
pub mod errors;

/// A request from a staff socket.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    /// Send text.
    Text {
        /// Target conversation.
        conversation_id: ConversationId,
        /// Trimmed content.
        content: String,
    },
    /// Send media by URL.
    Media {
        /// Target conversation.
        conversation_id: ConversationId,
        /// Where the file is.
        file_url: String,
        /// File name.
        filename: Option<String>,
        /// `image`, `document`, `audio` or `video`.
        file_type: MessageType,
        /// Caption (may be empty).
        caption: String,
    },
    /// Typing indicator.
    Typing {
        /// Conversation.
        conversation_id: ConversationId,
        /// Started or stopped.
        is_typing: bool,
    },
    /// Mark the guest's messages read.
    MarkRead {
        /// Conversation.
        conversation_id: ConversationId,
    },
    /// Follow a conversation outside one's departments.
    Subscribe {
        /// Conversation.
        conversation_id: ConversationId,
    },
    /// Stop following.
    Unsubscribe {
        /// Conversation.
        conversation_id: ConversationId,
    },
    /// Close a conversation.
    Close {
        /// Conversation.
        conversation_id: ConversationId,
    },
    /// Ask the guest, with a WhatsApp reply button, whether to continue a quiet conversation
    /// (the dashboard's "Reopen" button; the type is spelt with a hyphen, as it sends it).
    ReopenTemporary {
        /// Conversation.
        conversation_id: ConversationId,
    },
    /// Keep-alive.
    Ping,
}

impl ClientFrame {
    /// Parses one text frame. `Err` carries the exact error message for the sender.
    pub fn parse(body: &str) -> Result<ClientFrame, &'static str> {
        let value: Value = serde_json::from_str(body).map_err(|_| errors::INVALID_JSON)?;
        let Value::Object(obj) = value else {
            return Err(errors::INVALID_JSON);
        };
        let kind = match obj.get("type") {
            None | Some(Value::Null) => "text",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(errors::INVALID_TYPE),
        };
        let conversation_id = || conversation_id(obj.get("conversation_id"));
        match kind {
            "text" => {
                let content = content(obj.get("content").or_else(|| obj.get("message")))?;
                Ok(ClientFrame::Text { conversation_id: conversation_id()?, content })
            }
            "media" => {
                let conversation_id = conversation_id()?;
                let file_url = obj
                    .get("file_url")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .ok_or(errors::EMPTY_CONTENT)?
                    .to_owned();
                let file_type = obj
                    .get("file_type")
                    .and_then(Value::as_str)
                    .and_then(MessageType::parse)
                    .filter(|t| t.needs_media())
                    .ok_or(errors::INVALID_TYPE)?;
                let caption = obj.get("caption").and_then(Value::as_str).unwrap_or("").trim().to_owned();
                let filename = obj.get("filename").and_then(Value::as_str).map(str::to_owned);
                let too_long = limits::over(&caption, limits::CAPTION_CHARS)
                    || limits::over(&file_url, limits::URL_CHARS)
                    || filename.as_deref().is_some_and(|f| limits::over(f, limits::NAME_CHARS));
                if too_long {
                    return Err(errors::TOO_LONG);
                }
                Ok(ClientFrame::Media { conversation_id, file_url, filename, file_type, caption })
            }
            "typing" => Ok(ClientFrame::Typing {
                conversation_id: conversation_id()?,
                is_typing: obj.get("is_typing").and_then(Value::as_bool).unwrap_or(false),
            }),
            "mark_read" => Ok(ClientFrame::MarkRead { conversation_id: conversation_id()? }),
            "subscribe_conversation" => Ok(ClientFrame::Subscribe { conversation_id: conversation_id()? }),
            "unsubscribe_conversation" => Ok(ClientFrame::Unsubscribe { conversation_id: conversation_id()? }),
            "close_conversation" => Ok(ClientFrame::Close { conversation_id: conversation_id()? }),
            "reopen-temporary" => Ok(ClientFrame::ReopenTemporary { conversation_id: conversation_id()? }),
            "ping" => Ok(ClientFrame::Ping),
            _ => Err(errors::INVALID_TYPE),
        }
    }

    /// The conversation the frame is about, if any.
    pub fn conversation_id(&self) -> Option<ConversationId> {
        match self {
            ClientFrame::Text { conversation_id, .. }
            | ClientFrame::Media { conversation_id, .. }
            | ClientFrame::Typing { conversation_id, .. }
            | ClientFrame::MarkRead { conversation_id }
            | ClientFrame::Subscribe { conversation_id }
            | ClientFrame::Unsubscribe { conversation_id }
            | ClientFrame::Close { conversation_id }
            | ClientFrame::ReopenTemporary { conversation_id } => Some(*conversation_id),
            ClientFrame::Ping => None,
        }
    }
}

/// A positive integer id, as a JSON number or a numeric string (older clients send strings).
pub fn conversation_id(value: Option<&Value>) -> Result<ConversationId, &'static str> {
    let id = match value {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    id.filter(|id| (1..=crate::model::MAX_ID).contains(id)).ok_or(errors::CONVERSATION_REQUIRED)
}

/// Trimmed, non-empty content within the length limit.
pub fn content(value: Option<&Value>) -> Result<String, &'static str> {
    let text = value.and_then(Value::as_str).map(str::trim).unwrap_or("");
    if text.is_empty() {
        Err(errors::EMPTY_CONTENT)
    } else if text.chars().count() > MAX_CONTENT_CHARS {
        Err(errors::TOO_LONG)
    } else {
        Ok(text.to_owned())
    }
}

/// `guest_info` inside a `message` frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameGuestInfo {
    /// Guest id.
    pub id: u64,
    /// Full name.
    pub name: String,
    /// Canonical number.
    pub whatsapp_number: String,
    /// Room of the active stay (empty when unknown).
    pub room_number: String,
    /// Floor of the active stay.
    pub floor: Option<i64>,
}

impl FrameGuestInfo {
    /// Built from the guest and their active stay.
    pub fn new(guest: &Guest, stay: Option<&Stay>) -> Self {
        FrameGuestInfo {
            id: guest.id,
            name: guest.full_name.clone(),
            whatsapp_number: guest.whatsapp_number.clone(),
            room_number: stay.map(|s| s.room_number.clone()).unwrap_or_default(),
            floor: stay.and_then(|s| s.floor),
        }
    }
}

/// `data` of a `message` frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageData {
    /// Message id.
    pub id: MessageId,
    /// Conversation id.
    pub conversation_id: ConversationId,
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Staff id.
    pub sender_id: Option<String>,
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
    /// Outbound state.
    pub delivery_status: Option<DeliveryStatus>,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Conversation department.
    pub department: Department,
    /// The guest.
    pub guest_info: FrameGuestInfo,
}

impl MessageData {
    /// Built from a stored message.
    pub fn new(message: &Message, department: Department, guest_info: FrameGuestInfo) -> Self {
        MessageData {
            id: message.id,
            conversation_id: message.conversation_id,
            sender_type: message.sender_type,
            sender_id: message.sender_id.clone(),
            sender_name: message.sender_name.clone(),
            message_type: message.message_type,
            content: message.content.clone(),
            media_url: message.media_url.clone(),
            media_filename: message.media_filename.clone(),
            is_read: message.is_read,
            delivery_status: message.delivery_status,
            created_at: crate::clock::iso(message.created_at),
            updated_at: crate::clock::iso(message.updated_at),
            department,
            guest_info,
        }
    }
}

/// What `conversation_update` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConversationUpdate {
    /// Closed.
    Closed {
        /// Conversation.
        conversation_id: ConversationId,
    },
    /// Moved to another department.
    Transferred {
        /// Conversation.
        conversation_id: ConversationId,
        /// Old department.
        from: Department,
        /// New department.
        to: Department,
    },
    /// Assignee changed.
    Assigned {
        /// Conversation.
        conversation_id: ConversationId,
        /// New assignee (null when unassigned).
        assigned_to: Option<String>,
    },
}

/// Who read, in a `read_receipt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// Staff read guest messages.
    Staff,
    /// The guest read staff messages (WhatsApp `read` status).
    Guest,
}

/// Connect or disconnect, in a `user_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceChange {
    /// A socket opened.
    UserConnected,
    /// A socket closed.
    UserDisconnected,
}

/// Every frame the server sends (docs/api.md §5).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A stored message.
    Message {
        /// The message.
        data: Box<MessageData>,
    },
    /// Answer to the sender of a frame.
    Acknowledgment {
        /// `received`, `marked_read`, `conversation_closed` or `reopen_button_sent`.
        status: AckStatus,
        /// The stored message (`received`).
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<MessageId>,
        /// Conversation.
        conversation_id: ConversationId,
        /// When.
        timestamp: String,
    },
    /// A conversation was created in a department.
    NewConversation {
        /// The REST Conversation object.
        data: Value,
    },
    /// Closed, transferred or assigned.
    ConversationUpdate {
        /// What changed.
        data: ConversationUpdate,
    },
    /// A conversation was closed.
    CloseConversation {
        /// Conversation.
        conversation_id: ConversationId,
    },
    /// Someone is typing.
    Typing {
        /// Who and where.
        data: TypingData,
    },
    /// Messages were read.
    ReadReceipt {
        /// Which.
        data: ReadReceiptData,
    },
    /// An outbound message moved on.
    DeliveryStatus {
        /// Which and how.
        data: DeliveryStatusData,
    },
    /// A colleague connected or disconnected.
    UserStatus {
        /// Who.
        data: UserStatusData,
    },
    /// Subscription confirmed.
    Subscribed {
        /// Conversation.
        data: ConversationRef,
    },
    /// Unsubscription confirmed.
    Unsubscribed {
        /// Conversation.
        data: ConversationRef,
    },
    /// Answer to `ping`.
    Pong,
    /// Something was wrong with the sender's frame.
    Error {
        /// One of [`errors`].
        message: String,
    },
}

/// Acknowledgment kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// A `text`/`media` frame was stored.
    Received,
    /// `mark_read` done.
    MarkedRead,
    /// `close_conversation` done.
    ConversationClosed,
    /// `reopen-temporary` done: the button message is on its way to the guest.
    ReopenButtonSent,
}

/// `data` of `typing`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypingData {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Staff id (or `guest:{id}`).
    pub user_id: String,
    /// Name.
    pub user_name: String,
    /// Started or stopped.
    pub is_typing: bool,
}

/// `data` of `read_receipt`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadReceiptData {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Messages read.
    pub message_ids: Vec<MessageId>,
    /// When.
    pub read_at: String,
    /// Who read.
    pub reader: Reader,
}

/// `data` of `delivery_status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryStatusData {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Message.
    pub message_id: MessageId,
    /// New status.
    pub status: DeliveryStatus,
}

/// `data` of `user_status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserStatusData {
    /// Connected or disconnected.
    #[serde(rename = "type")]
    pub change: PresenceChange,
    /// Staff id.
    pub user_id: String,
    /// Name.
    pub user_name: String,
    /// First listed department of the staff member.
    pub department: Option<Department>,
}

/// `{"conversation_id": …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationRef {
    /// Conversation.
    pub conversation_id: ConversationId,
}

impl ServerFrame {
    /// An error frame.
    pub fn error(message: &str) -> Self {
        ServerFrame::Error { message: message.to_owned() }
    }

    /// An acknowledgment stamped now.
    pub fn ack(status: AckStatus, conversation_id: ConversationId, message_id: Option<MessageId>) -> Self {
        ServerFrame::Acknowledgment {
            status,
            message_id,
            conversation_id,
            timestamp: crate::clock::iso(crate::clock::now()),
        }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail (no maps with non-string keys, no custom errors).
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"type":"error","message":"Internal error, please retry"}"#.to_owned())
    }
}

#[cfg(test)]
mod tests;
