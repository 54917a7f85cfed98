//! What staff do to conversations, independent of how they asked (socket frame or REST call),
//! and who is told about it: the chat core. It sees storage, pushes and queues only through
//! their ports (`store`, `push` via `delivery`, `queues`), so its rules run against in-memory
//! implementations in milliseconds (`tests.rs`) as well as against AWS.
//!
//! - `access`: which conversation a staff member may act on, now;
//! - `audience`: who hears what (every push audience is computed here, so sockets and REST
//!   notify exactly the same people);
//! - `send`: staff messages and the reopen question, the 24-hour window, queueing for WhatsApp;
//! - `actions`: read receipts, typing, closing;
//! - `lifecycle`: opening, transferring, assigning;
//! - [`rights`]: what a change of a member's rights does to their open sockets;
//! - `listing`: the REST conversation objects.

mod access;
mod actions;
mod audience;
mod lifecycle;
mod listing;
pub mod rights;
mod send;
#[cfg(test)]
mod tests;

pub use access::{GuestLookup, conversation_for, guest_record, guest_staying};
pub use actions::{close, mark_read, typing};
pub use audience::{
    announce_message, announce_new_conversation, announce_update_to, department_of, message_frame, notify_delivery,
    reach,
};
pub use lifecycle::{assign, open, transfer};
pub use listing::conversation_views;
pub use send::{StaffSend, publish_staff_message, store_reopen_request, store_staff_message, within_window};

use crate::app::App;
use crate::department::Department;
use crate::frames::errors;
use crate::model::ConversationId;
use crate::store::StoreError;

/// Why a staff action was refused. Sockets answer [`ChatError::frame_message`]; the REST adapter
/// maps each to a status (`rest::chat_answer`).
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Unknown conversation, or another hotel's.
    #[error("conversation not found")]
    NotFound,
    /// Not one of the caller's departments.
    #[error("access denied")]
    AccessDenied,
    /// The conversation is closed.
    #[error("conversation closed")]
    Closed,
    /// Reply buttons are only sent in `service` conversations.
    #[error("not a service conversation")]
    NotService,
    /// WhatsApp's 24-hour window is closed and nothing approved can be sent instead.
    #[error("outside the 24-hour window")]
    OutsideWindow,
    /// No guest of the caller's hotel has that number.
    #[error("guest not found")]
    NoGuest,
    /// The guest has no active stay.
    #[error("guest has no active stay")]
    NoActiveStay,
    /// A transfer to the department the conversation is in.
    #[error("conversation is already in {0}")]
    AlreadyThere(Department),
    /// A transfer to a department the hotel does not have.
    #[error("{0} is not a department of this hotel")]
    NotAHotelDepartment(Department),
    /// The guest already has an active conversation in the transfer's target department.
    #[error("guest already has an active conversation in {0}")]
    TargetBusy(Department, ConversationId),
    /// The assignee is not active staff of the hotel allowed in the conversation's department.
    #[error("assignee may not act in this conversation")]
    UnfitAssignee,
    /// Something failed on our side.
    #[error("internal: {0}")]
    Internal(String),
}

impl ChatError {
    /// The socket error message.
    pub fn frame_message(&self) -> &'static str {
        match self {
            ChatError::NotFound => errors::CONVERSATION_NOT_FOUND,
            ChatError::AccessDenied => errors::ACCESS_DENIED,
            ChatError::Closed => errors::CONVERSATION_CLOSED,
            ChatError::NotService => errors::BUTTONS_SERVICE_ONLY,
            ChatError::OutsideWindow => errors::OUTSIDE_WINDOW,
            ChatError::NoGuest => errors::GUEST_NOT_FOUND,
            ChatError::NoActiveStay => errors::NO_ACTIVE_STAY,
            ChatError::AlreadyThere(_) | ChatError::NotAHotelDepartment(_) | ChatError::UnfitAssignee => {
                errors::INVALID_DATA
            }
            ChatError::TargetBusy(..) => errors::TARGET_BUSY,
            ChatError::Internal(_) => errors::INTERNAL,
        }
    }
}

impl From<StoreError> for ChatError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ChatError::NotFound,
            StoreError::ConversationClosed => ChatError::Closed,
            other => {
                tracing::error!(error = %other, "store failure");
                ChatError::Internal(other.to_string())
            }
        }
    }
}

/// Where a request came from: the caller's own socket (left out of fan-outs that already
/// answered it) and the management endpoint to push through.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The caller's connection id (socket requests).
    pub connection_id: Option<String>,
    /// Management API endpoint.
    pub endpoint: Option<String>,
}

impl Origin {
    /// A REST or webhook request: pushes use the configured endpoint, nobody is left out.
    pub fn server(app: &App) -> Self {
        Origin { connection_id: None, endpoint: app.delivery.default_endpoint() }
    }
}
