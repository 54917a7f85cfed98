//! The error messages of docs/api.md §5, shared with REST where the texts are the same.

/// The frame is not a JSON object.
pub const INVALID_JSON: &str = "Invalid JSON format";
/// Unknown `type`.
pub const INVALID_TYPE: &str = "Invalid message type";
/// Blank content.
pub const EMPTY_CONTENT: &str = "Message content cannot be empty";
/// No usable `conversation_id`.
pub const CONVERSATION_REQUIRED: &str = "Conversation ID is required";
/// Unknown conversation, or another hotel's.
pub const CONVERSATION_NOT_FOUND: &str = "Conversation not found";
/// The caller may not act on the conversation's department.
pub const ACCESS_DENIED: &str = "Access denied to this conversation";
/// Posting to a closed conversation.
pub const CONVERSATION_CLOSED: &str = "Conversation is closed";
/// Content over [`super::MAX_CONTENT_CHARS`].
pub const TOO_LONG: &str = "Message too long";
/// WhatsApp refuses free text 24 h after the guest's last message.
pub const OUTSIDE_WINDOW: &str = "Outside the 24-hour WhatsApp window";
/// `reopen-temporary` on a conversation that is not a `service` one.
pub const BUTTONS_SERVICE_ONLY: &str = "WhatsApp button messages are only supported for service conversations";
/// Something failed on our side; nothing internal is said.
pub const INTERNAL: &str = "Internal error, please retry";
/// No guest of the hotel has the number (REST only).
pub const GUEST_NOT_FOUND: &str = "Guest not found";
/// The guest has no active stay.
pub const NO_ACTIVE_STAY: &str = "Guest does not have an active stay";
/// A request no field-level message describes better (REST only).
pub const INVALID_DATA: &str = "Invalid data";
/// A transfer to a department where the guest already has an active conversation (REST only).
pub const TARGET_BUSY: &str = "Guest already has an active conversation there";
