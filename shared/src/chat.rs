//! What staff do to conversations, independent of how they asked (socket frame or REST call),
//! and who is told about it. Routing lives here: every push audience is computed by the
//! functions of this module, so sockets and REST notify exactly the same people.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::delivery::Audience;
use crate::department::Department;
use crate::frames::{
    ConversationUpdate, FrameGuestInfo, MessageData, ReadReceiptData, Reader, ServerFrame, TypingData, errors,
};
use crate::http::HttpError;
use crate::model::{
    Conversation, ConversationId, ConversationStatus, ConversationType, DeliveryStatus, GuestId, Hotel, Message,
    MessageId, MessageType, OutboundKind, SenderType,
};
use crate::store::GuestRecord;
use crate::store::{AppendOutcome, NewMessage, PageDirection, StoreError};
use crate::views::{ConversationView, GuestInfo};

/// WhatsApp's customer-service window.
const WHATSAPP_WINDOW_HOURS: i64 = 24;

/// Why a staff action was refused. Sockets answer [`ChatError::frame_message`], REST
/// [`ChatError::http`].
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
            ChatError::Internal(_) => errors::INTERNAL,
        }
    }

    /// The REST answer.
    pub fn http(&self) -> HttpError {
        match self {
            ChatError::NotFound => HttpError::conversation_not_found(),
            ChatError::AccessDenied => HttpError::new(403, errors::ACCESS_DENIED),
            ChatError::Closed => HttpError::new(409, errors::CONVERSATION_CLOSED),
            ChatError::NotService => HttpError::new(400, errors::BUTTONS_SERVICE_ONLY),
            ChatError::OutsideWindow => HttpError::new(409, errors::OUTSIDE_WINDOW),
            ChatError::Internal(_) => HttpError::internal(),
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

/// Reads a conversation of the caller's hotel that the caller may act on now: other hotels' ids
/// are "not found", other departments "access denied". A socket's subscription never grants
/// access: it only widens what the socket hears while the access lasts.
pub async fn conversation_for(
    app: &App,
    principal: &StaffPrincipal,
    id: ConversationId,
) -> Result<Conversation, ChatError> {
    let conversation = app.store.get_conversation(id).await?.ok_or(ChatError::NotFound)?;
    if conversation.hotel_id != principal.hotel.id {
        return Err(ChatError::NotFound);
    }
    if !principal.may_act_on(conversation.department) {
        return Err(ChatError::AccessDenied);
    }
    Ok(conversation)
}

/// The staff of a conversation's department and the sockets subscribed to it.
pub fn department_of(conversation: &Conversation) -> Audience {
    Audience {
        hotel_id: conversation.hotel_id.clone(),
        departments: vec![conversation.department],
        conversation: Some(conversation.id),
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

/// The guest of a conversation with their active stay.
pub async fn guest_record(app: &App, guest: GuestId) -> Result<GuestRecord, ChatError> {
    app.store.guest_record(guest).await?.ok_or_else(|| ChatError::Internal(format!("guest {guest} missing")))
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
    }
    reach(app, origin, audience, &frame).await;
}

/// A staff message that was stored.
#[derive(Debug, Clone)]
pub struct StaffSend {
    /// The conversation after the write.
    pub conversation: Conversation,
    /// The stored message.
    pub message: Message,
    /// The guest.
    pub guest: GuestRecord,
    /// The guest's 24-hour window was closed: not sent to WhatsApp.
    pub outside_window: bool,
    /// How the outbound sender presents it to WhatsApp.
    pub kind: OutboundKind,
}

/// Stores a staff message (text or media). Pushes nothing yet: sockets acknowledge first, then
/// call [`publish_staff_message`].
pub async fn store_staff_message(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
    message_type: MessageType,
    content: String,
    media: Option<(String, Option<String>)>,
) -> Result<StaffSend, ChatError> {
    let conversation = open_conversation_for(app, principal, conversation_id).await?;
    let guest = guest_record(app, conversation.guest_id).await?;
    let now = crate::clock::now();
    let outside_window = !within_window(guest.guest.last_inbound_at, now);
    let (media_url, media_filename) = media.map_or((None, None), |(url, name)| (Some(url), name));
    let new = NewMessage {
        message_type,
        content,
        media_url,
        media_filename,
        delivery_status: Some(if outside_window { DeliveryStatus::Failed } else { DeliveryStatus::Queued }),
        ..staff_text(principal)
    };
    let appended = append_staff(app, conversation_id, new, now).await?;
    Ok(StaffSend { conversation: appended.0, message: appended.1, guest, outside_window, kind: OutboundKind::Message })
}

/// A text message by the caller, without delivery status yet (callers fill in the rest).
fn staff_text(principal: &StaffPrincipal) -> NewMessage {
    NewMessage {
        sender_type: SenderType::Staff,
        sender_id: Some(principal.staff.user_id.clone()),
        sender_name: principal.staff.display_name(),
        message_type: MessageType::Text,
        content: String::new(),
        media_url: None,
        media_filename: None,
        delivery_status: None,
        send_as: OutboundKind::Message,
        provider_message_id: None,
    }
}

/// An active conversation the caller may act on.
async fn open_conversation_for(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
) -> Result<Conversation, ChatError> {
    let conversation = conversation_for(app, principal, conversation_id).await?;
    if conversation.status != ConversationStatus::Active {
        return Err(ChatError::Closed);
    }
    Ok(conversation)
}

/// Appends a staff-written message (never a duplicate: staff messages carry no provider id).
async fn append_staff(
    app: &App,
    conversation_id: ConversationId,
    new: NewMessage,
    now: DateTime<Utc>,
) -> Result<(Conversation, Message), ChatError> {
    match app.store.add_message(conversation_id, new, now).await? {
        AppendOutcome::Stored(appended) => {
            crate::telemetry::metric("MessagesOut", 1.0);
            Ok((appended.conversation, appended.message))
        }
        AppendOutcome::Duplicate(_) => Err(ChatError::Internal("duplicate staff message".into())),
    }
}

/// `reopen-temporary`: stores the question "There is an update to your <Department>
/// conversation, do you want to continue?" as a staff message of a `service` conversation, to
/// be sent as an interactive message with the `Continue` button inside WhatsApp's 24-hour
/// window, or as the approved reopen template outside it. Without a template, outside the
/// window nothing is stored and the caller is told ([`ChatError::OutsideWindow`]). Like
/// [`store_staff_message`], it pushes nothing yet.
pub async fn store_reopen_request(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
) -> Result<StaffSend, ChatError> {
    let conversation = open_conversation_for(app, principal, conversation_id).await?;
    if conversation.conversation_type != ConversationType::Service {
        return Err(ChatError::NotService);
    }
    let guest = guest_record(app, conversation.guest_id).await?;
    let now = crate::clock::now();
    let kind = if within_window(guest.guest.last_inbound_at, now) {
        OutboundKind::ReopenButton
    } else if app.config.reopen_template.is_some() {
        OutboundKind::ReopenTemplate
    } else {
        return Err(ChatError::OutsideWindow);
    };
    let new = NewMessage {
        content: crate::reopen::prompt(conversation.department),
        delivery_status: Some(DeliveryStatus::Queued),
        send_as: kind.clone(),
        ..staff_text(principal)
    };
    let (conversation, message) = append_staff(app, conversation_id, new, now).await?;
    Ok(StaffSend { conversation, message, guest, outside_window: false, kind })
}

/// Whether WhatsApp still accepts free text: the guest wrote within the last 24 hours.
pub fn within_window(last_inbound: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_inbound.is_some_and(|at| now - at < chrono::Duration::hours(WHATSAPP_WINDOW_HOURS))
}

/// Fans a stored staff message out and queues it for WhatsApp; outside the 24-hour window,
/// records a system message instead (docs/api.md §7).
pub async fn publish_staff_message(app: &App, origin: &Origin, sent: &StaffSend) {
    // Queued for WhatsApp before anything else, so that a timeout during the fan-out can never
    // leave the message `queued` with no job behind it.
    let mut message = sent.message.clone();
    if !sent.outside_window
        && let Err(e) = crate::jobs::enqueue(app, &sent.conversation, &sent.message, sent.kind.clone()).await
    {
        tracing::error!(error = %e, message_id = sent.message.id, "could not queue outbound message");
        let now = crate::clock::now();
        if let Ok(Some(failed)) = app
            .store
            .set_delivery_status(sent.conversation.id, sent.message.id, DeliveryStatus::Failed, None, now)
            .await
        {
            message = failed; // the `message` frame says so
        }
    }
    announce_message(app, origin, &sent.conversation, &message, &sent.guest).await;
    if sent.outside_window {
        let note = NewMessage::system(
            "This message was not sent to WhatsApp: the guest has not written in the last 24 hours.",
        );
        match app.store.add_message(sent.conversation.id, note, crate::clock::now()).await {
            Ok(AppendOutcome::Stored(appended)) => {
                let server = Origin { connection_id: None, ..origin.clone() };
                announce_message(app, &server, &appended.conversation, &appended.message, &sent.guest).await;
            }
            Ok(AppendOutcome::Duplicate(_)) => {}
            Err(e) => tracing::warn!(error = %e, "could not store window notice"),
        }
    }
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

/// Typing indicator: department peers and the guest.
pub async fn typing(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
    is_typing: bool,
    origin: &Origin,
) -> Result<(), ChatError> {
    let conversation = conversation_for(app, principal, conversation_id).await?;
    let frame = ServerFrame::Typing {
        data: TypingData {
            conversation_id,
            user_id: principal.staff.user_id.clone(),
            user_name: principal.staff.display_name(),
            is_typing,
        },
    };
    let audience = Audience { guest: Some(conversation.guest_id), ..department_of(&conversation) };
    reach(app, origin, audience, &frame).await;
    Ok(())
}

/// Marks guest messages read, records the reader, and sends the read receipt.
pub async fn mark_read(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
    only: Option<&[MessageId]>,
    origin: &Origin,
) -> Result<Vec<MessageId>, ChatError> {
    let conversation = conversation_for(app, principal, conversation_id).await?;
    let now = crate::clock::now();
    let marked = app.store.mark_read(conversation_id, only, now).await?;
    app.store.touch_participant(conversation_id, &principal.staff.user_id, true, now).await?;
    if !marked.is_empty() {
        let frame = ServerFrame::ReadReceipt {
            data: ReadReceiptData {
                conversation_id,
                message_ids: marked.clone(),
                read_at: crate::clock::iso(now),
                reader: Reader::Staff,
            },
        };
        let audience = Audience { guest: Some(conversation.guest_id), ..department_of(&conversation) };
        reach(app, origin, audience, &frame).await;
    }
    Ok(marked)
}

/// Closes a conversation (idempotent) and tells the department.
pub async fn close(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
    origin: &Origin,
) -> Result<Conversation, ChatError> {
    conversation_for(app, principal, conversation_id).await?;
    let (conversation, changed) = app.store.close_conversation(conversation_id, crate::clock::now()).await?;
    if changed {
        let frame = ServerFrame::CloseConversation { conversation_id };
        reach(app, origin, department_of(&conversation), &frame).await;
    }
    Ok(conversation)
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

/// REST Conversation objects for `conversations` (guests and last messages read in parallel).
pub async fn conversation_views(
    app: &App,
    hotel: &Hotel,
    conversations: &[Conversation],
) -> Result<Vec<ConversationView>, ChatError> {
    let now = crate::clock::now();
    let guest_ids: BTreeSet<GuestId> = conversations.iter().map(|c| c.guest_id).collect();
    let guests = futures::future::try_join_all(guest_ids.iter().map(|id| app.store.guest_record(*id))).await?;
    let guests: HashMap<GuestId, GuestRecord> = guests.into_iter().flatten().map(|r| (r.guest.id, r)).collect();
    let lasts =
        futures::future::try_join_all(conversations.iter().map(|c| app.store.messages(c.id, PageDirection::Latest, 1)))
            .await?;
    let mut views = Vec::with_capacity(conversations.len());
    for (conversation, mut last) in conversations.iter().zip(lasts) {
        let Some(guest) = guests.get(&conversation.guest_id) else {
            tracing::warn!(conversation = conversation.id, "conversation without guest skipped");
            continue;
        };
        let info = GuestInfo::new(&guest.guest, guest.active_stay());
        views.push(ConversationView::new(conversation, hotel, info, last.messages.pop().as_ref(), now));
    }
    Ok(views)
}
