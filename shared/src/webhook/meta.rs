//! The Meta WhatsApp Cloud API format (docs/api.md §6): batches of messages and statuses, each
//! item on its own; reopen button replies.

use serde_json::{Map, Value};

use crate::app::App;
use crate::chat::{self, Origin};
use crate::department::Department;
use crate::frames::{ReadReceiptData, Reader, ServerFrame};
use crate::limits;
use crate::model::{
    Conversation, ConversationId, ConversationStatus, DeliveryStatus, MessageType, OutboundKind, SenderType,
};
use crate::reopen;
use crate::store::GuestRecord;
use crate::store::{AppendOutcome, NewMessage, StoreError};

use super::*;

/// Why an item of a Meta payload was not taken.
#[derive(Debug)]
enum Skip {
    /// It never will be (unknown guest or number, malformed item): logged, answered 200.
    Permanent(String),
    /// It might be later (the store failed, contention): the payload is answered 5xx.
    Transient(String),
}

impl From<StoreError> for Skip {
    fn from(e: StoreError) -> Self {
        Skip::Transient(e.to_string())
    }
}

impl From<&'static str> for Skip {
    fn from(reason: &'static str) -> Self {
        Skip::Permanent(reason.to_owned())
    }
}

/// Some item of a Meta payload could not be stored for a transient reason.
#[derive(Debug)]
pub(super) struct Transient;

/// Meta webhook body: every message and status on its own, so one bad item never blocks the
/// others. Items that can never be taken are logged and skipped (Meta retries, then disables,
/// failing webhooks); if any could not be stored for a transient reason, the answer is `Err`
/// (5xx) so that Meta delivers the payload again, and the wamid makes the repeat safe.
pub(super) async fn receive_meta(app: &App, body: &Map<String, Value>) -> Result<(), Transient> {
    let values = body
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|entry| entry.get("changes").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|change| change.get("value"));
    let mut retry = false;
    let mut note = |result: Result<(), Skip>, what: &str| match result {
        Ok(()) => {}
        Err(Skip::Permanent(reason)) => tracing::warn!(reason, "webhook {what} skipped"),
        Err(Skip::Transient(reason)) => {
            tracing::error!(reason, "webhook {what} not stored: asking Meta to retry");
            retry = true;
        }
    };
    for value in values {
        let phone_number_id = value.pointer("/metadata/phone_number_id").and_then(Value::as_str);
        let hotel = match phone_number_id {
            Some(id) => app.store.hotel_by_phone_number_id(id).await,
            None => Ok(None),
        };
        let hotel = match hotel {
            Ok(Some(hotel)) => hotel,
            Ok(None) => {
                tracing::warn!(phone_number_id, "webhook for an unknown phone number id skipped");
                continue;
            }
            Err(e) => {
                note(Err(e.into()), "hotel lookup");
                continue;
            }
        };
        for message in value.get("messages").and_then(Value::as_array).into_iter().flatten() {
            note(meta_message(app, &hotel.id, message).await, "message");
        }
        for status in value.get("statuses").and_then(Value::as_array).into_iter().flatten() {
            note(meta_status(app, status).await, "status");
        }
    }
    if retry { Err(Transient) } else { Ok(()) }
}

/// What a Meta message item carries, as a guest message. Meta's own limits keep texts short;
/// anything longer than ours is cut rather than refused, so a guest's message is never lost.
fn meta_content(message: &Value) -> (MessageType, String, Option<String>) {
    let (kind, content, filename) = meta_parts(message);
    let cut = |text: String, max: usize| if limits::over(&text, max) { text.chars().take(max).collect() } else { text };
    (kind, cut(content, limits::CONTENT_CHARS), filename.map(|f| cut(f, limits::NAME_CHARS)))
}

fn meta_parts(message: &Value) -> (MessageType, String, Option<String>) {
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("text");
    let text_at = |pointer: &str| message.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
    match kind {
        "text" => (MessageType::Text, text_at("/text/body"), None),
        "image" | "document" | "audio" | "video" => {
            let kind_enum = MessageType::parse(kind).unwrap_or(MessageType::Document);
            let filename = message.pointer(&format!("/{kind}/filename")).and_then(Value::as_str).map(str::to_owned);
            (kind_enum, text_at(&format!("/{kind}/caption")), filename)
        }
        "interactive" => {
            let title = message
                .pointer("/interactive/button_reply/title")
                .or_else(|| message.pointer("/interactive/list_reply/title"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            (MessageType::Text, title.to_owned(), None)
        }
        "button" => (MessageType::Text, text_at("/button/text"), None),
        "reaction" => (MessageType::Text, text_at("/reaction/emoji"), None),
        other => (MessageType::Text, format!("[unsupported message type: {other}]"), None),
    }
}

async fn meta_message(app: &App, hotel_id: &str, message: &Value) -> Result<(), Skip> {
    let from = message.get("from").and_then(Value::as_str).ok_or("message without sender")?;
    let wamid = message.get("id").and_then(Value::as_str).ok_or("message without id")?.to_owned();
    let number =
        crate::phone::normalize(from, &app.config.default_country_code).map_err(|e| Skip::Permanent(e.to_string()))?;
    let record = match find_guest(app, number.as_str(), Some(hotel_id)).await {
        Ok(record) => record,
        Err(e) if e.status >= 500 => return Err(Skip::Transient(format!("guest lookup failed ({})", e.status))),
        Err(e) => return Err(Skip::Permanent(format!("guest not usable ({})", e.status))),
    };
    let (message_type, content, media_filename) = meta_content(message);
    let new = NewMessage {
        sender_type: SenderType::Guest,
        sender_id: None,
        sender_name: guest_name(&record.guest),
        message_type,
        content,
        media_url: None,
        media_filename,
        delivery_status: None,
        send_as: OutboundKind::Message,
        provider_message_id: Some(wamid),
    };
    let now = crate::clock::now();
    if let Some(id) = reopen_reply(message)
        && accept_reopen(app, &record, id, &new, now).await?
    {
        return Ok(());
    }
    // The guest's active conversation with the most recent message, else a new Reception one.
    let mut latest: Option<Conversation> = None;
    for (_, id) in &record.active {
        if let Some(c) = app.store.get_conversation(*id).await?
            && c.status == ConversationStatus::Active
            && latest.as_ref().is_none_or(|l| c.last_message_at > l.last_message_at)
        {
            latest = Some(c);
        }
    }
    let department = latest.as_ref().map_or(Department::Reception, |c| c.department);
    let kind = record.guest.new_conversation_type();
    let outcome = match latest {
        Some(c) => match app.store.append_to(&c, new.clone(), now).await {
            Err(StoreError::ConversationClosed) => {
                app.store.add_guest_message(&record.guest, department, kind, new, now).await
            }
            other => other,
        },
        None => app.store.add_guest_message_from(&record, department, kind, new, now).await,
    }?;
    if let AppendOutcome::Stored(mut appended) = outcome {
        crate::telemetry::metric("MessagesIn", 1.0);
        // Media go under the conversation's key once it is known, so their links open only for
        // staff who may see that conversation; a failed import leaves the caption, never a loss.
        let conversation = appended.conversation.id;
        if let Some(url) = crate::media::import_whatsapp_media(app, hotel_id, conversation, message).await {
            match app.store.set_media_url(conversation, appended.message.id, &url, crate::clock::now()).await {
                Ok(updated) => appended.message = updated,
                Err(e) => tracing::warn!(error = %e, "could not attach imported media"),
            }
        }
        announce_guest_message(app, &appended.conversation, &appended.message, appended.created, &record).await;
    }
    Ok(())
}

/// The conversation a reopen button reply names: an `interactive` `button_reply` to the
/// interactive question, or a `button` (template quick reply) whose payload is the same id.
fn reopen_reply(message: &Value) -> Option<ConversationId> {
    let id = message
        .pointer("/interactive/button_reply/id")
        .or_else(|| message.pointer("/button/payload"))
        .and_then(Value::as_str)?;
    reopen::parse_button_id(id)
}

/// The guest pressed `Continue` (docs/api.md §6): when the conversation is theirs and still
/// active, "<first name> has reopened the conversation" is stored there as their message
/// (idempotent on the wamid), pushed like any guest message, and the guest is told they are
/// connected. `Ok(false)` when the button names a conversation that is not the guest's active
/// one: the reply is then an ordinary message, routed as any other.
async fn accept_reopen(
    app: &App,
    record: &GuestRecord,
    conversation_id: ConversationId,
    reply: &NewMessage,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, Skip> {
    let conversation = app.store.get_conversation(conversation_id).await?;
    let own = conversation.filter(|c| {
        c.guest_id == record.guest.id && c.hotel_id == record.guest.hotel_id && c.status == ConversationStatus::Active
    });
    let Some(conversation) = own else {
        tracing::info!(conversation_id, "reopen button for a conversation that is not the guest's active one");
        return Ok(false);
    };
    let note = NewMessage { content: reopen::reopened_note(&record.guest), ..reply.clone() };
    let appended = match app.store.append_to(&conversation, note, now).await {
        Ok(AppendOutcome::Stored(appended)) => appended,
        Ok(AppendOutcome::Duplicate(_)) => return Ok(true),
        Err(StoreError::ConversationClosed | StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    crate::telemetry::metric("MessagesIn", 1.0);
    announce_guest_message(app, &appended.conversation, &appended.message, false, record).await;
    if let Err(e) = crate::jobs::enqueue_notice(app, &appended.conversation, reopen::CONFIRMATION).await {
        tracing::error!(error = %e, conversation_id, "could not queue the reopen confirmation");
    }
    Ok(true)
}

async fn meta_status(app: &App, status: &Value) -> Result<(), Skip> {
    let wamid = status.get("id").and_then(Value::as_str).ok_or("status without id")?;
    let new_status = status
        .get("status")
        .and_then(Value::as_str)
        .and_then(DeliveryStatus::parse)
        .filter(|s| *s != DeliveryStatus::Queued)
        .ok_or("unknown status")?;
    let record = app.store.provider_message(wamid).await?.ok_or("unknown wamid")?;
    let now = crate::clock::now();
    let updated =
        app.store.set_delivery_status(record.conversation_id, record.message_id, new_status, None, now).await?;
    let (Some(message), Ok(Some(conversation))) = (updated, app.store.get_conversation(record.conversation_id).await)
    else {
        return Ok(()); // not a forward move: nothing to tell
    };
    chat::notify_delivery(app, &conversation, &message).await;
    if new_status == DeliveryStatus::Read {
        let receipt = ServerFrame::ReadReceipt {
            data: ReadReceiptData {
                conversation_id: conversation.id,
                message_ids: vec![message.id],
                read_at: crate::clock::iso(now),
                reader: Reader::Guest,
            },
        };
        chat::reach(app, &Origin::server(app), chat::department_of(&conversation), &receipt).await;
    }
    Ok(())
}
