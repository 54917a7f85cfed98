//! Who hears what: every push audience of the chat, and the frames of new messages.

use crate::app::App;
use crate::delivery::Audience;
use crate::department::Department;
use crate::frames::{ConversationUpdate, FrameGuestInfo, MessageData, ServerFrame};
use crate::model::{Conversation, Hotel, Message, SenderType};
use crate::store::GuestRecord;

use super::*;

/// The staff of a conversation's department and the sockets subscribed to it (looked for only
/// when some socket ever subscribed: [`Conversation::subscribed`]).
pub fn department_of(conversation: &Conversation) -> Audience {
    Audience {
        hotel_id: conversation.hotel_id.clone(),
        departments: vec![conversation.department],
        conversation: conversation.subscribed.then_some(conversation.id),
        ..Audience::default()
    }
}

/// Pushes `frame` to `audience` through the request's management endpoint, leaving out the
/// socket that made the request (already answered). Failures are logged or retried, never
/// returned: the state change that caused the push is already stored.
pub async fn reach(app: &App, origin: &Origin, mut audience: Audience, frame: &ServerFrame) {
    let Some(endpoint) = origin.endpoint.as_deref() else {
        tracing::warn!("no management endpoint configured (WS_ENDPOINT): push skipped");
        return;
    };
    audience.except = origin.connection_id.clone();
    // Boxed: every action awaits a push, and the fan-out's state would otherwise be inlined
    // into each of their futures (deep handler futures overflow a worker thread's stack).
    Box::pin(app.delivery.reach(endpoint, &audience, frame)).await;
}

/// The `message` frame of a stored message.
pub fn message_frame(message: &Message, department: Department, guest: &GuestRecord) -> ServerFrame {
    let info = FrameGuestInfo::new(&guest.guest, guest.active_stay());
    ServerFrame::Message { data: Box::new(MessageData::new(message, department, info)) }
}

/// Pushes a new message to the department's staff (and subscribers) and, for staff messages,
/// to the guest's sockets (guests never see system messages: transfer notes are internal).
pub async fn announce_message(
    app: &App,
    origin: &Origin,
    conversation: &Conversation,
    message: &Message,
    guest: &GuestRecord,
) {
    let frame = message_frame(message, conversation.department, guest);
    let mut audience = department_of(conversation);
    if message.sender_type == SenderType::Staff {
        audience.guest = Some(conversation.guest_id);
        audience.guest_sockets = Some(guest.sockets.iter().map(|s| s.connection_id.clone()).collect());
    }
    reach(app, origin, audience, &frame).await;
}

/// Tells the department a staff message's delivery status changed.
pub async fn notify_delivery(app: &App, conversation: &Conversation, message: &Message) {
    let Some(status) = message.delivery_status else {
        return;
    };
    let frame = ServerFrame::DeliveryStatus {
        data: crate::frames::DeliveryStatusData { conversation_id: conversation.id, message_id: message.id, status },
    };
    reach(app, &Origin::server(app), department_of(conversation), &frame).await;
}

/// Pushes a `conversation_update` to the staff of `departments` (each socket once).
pub async fn announce_update_to(
    app: &App,
    conversation: &Conversation,
    departments: &[Department],
    update: ConversationUpdate,
) {
    let frame = ServerFrame::ConversationUpdate { data: update };
    let audience = Audience { departments: departments.to_vec(), ..department_of(conversation) };
    reach(app, &Origin::server(app), audience, &frame).await;
}

/// Pushes `new_conversation` to the conversation's department.
pub async fn announce_new_conversation(app: &App, hotel: &Hotel, conversation: &Conversation) {
    let view = match conversation_views(app, hotel, std::slice::from_ref(conversation)).await {
        Ok(mut views) => match views.pop() {
            Some(view) => view,
            None => return,
        },
        Err(e) => {
            tracing::warn!(error = %e, "could not build new_conversation frame");
            return;
        }
    };
    let data = serde_json::to_value(&view).unwrap_or_default();
    let frame = ServerFrame::NewConversation { data };
    let audience = Audience { conversation: None, ..department_of(conversation) };
    reach(app, &Origin::server(app), audience, &frame).await;
}
