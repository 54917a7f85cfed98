//! Staff messages on their way to the guest: stored first, queued for WhatsApp, then pushed;
//! the reopen question; WhatsApp's 24-hour window.

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::model::{
    Conversation, ConversationId, ConversationType, DeliveryStatus, Message, MessageType, OutboundKind, SenderType,
};
use crate::store::GuestRecord;
use crate::store::{AppendOutcome, NewMessage};

use super::access::open_conversation_for;
use super::*;

/// WhatsApp's customer-service window.
const WHATSAPP_WINDOW_HOURS: i64 = 24;

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
    let appended = append_staff(app, &conversation, new, now).await?;
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

/// Appends a staff-written message (never a duplicate: staff messages carry no provider id).
async fn append_staff(
    app: &App,
    conversation: &Conversation,
    new: NewMessage,
    now: DateTime<Utc>,
) -> Result<(Conversation, Message), ChatError> {
    match app.store.append_to(conversation, new, now).await? {
        AppendOutcome::Stored(appended) => {
            crate::telemetry::metric("MessagesOut", 1.0);
            Ok((appended.conversation, appended.message))
        }
        AppendOutcome::Duplicate(_) => Err(ChatError::Internal("duplicate staff message".into())),
    }
}

/// `reopen-temporary`: stores the question "There is an update to your \<Department\>
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
    let (conversation, message) = append_staff(app, &conversation, new, now).await?;
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
        match app.store.append_to(&sent.conversation, note, crate::clock::now()).await {
            Ok(AppendOutcome::Stored(appended)) => {
                let server = Origin { connection_id: None, ..origin.clone() };
                announce_message(app, &server, &appended.conversation, &appended.message, &sent.guest).await;
            }
            Ok(AppendOutcome::Duplicate(_)) => {}
            Err(e) => tracing::warn!(error = %e, "could not store window notice"),
        }
    }
}
