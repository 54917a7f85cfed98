//! The simple format that bridges send (docs/api.md §6): one signed JSON message per request,
//! every field validated and every problem answered at once.

use std::collections::BTreeMap;

use lambda_http::{Body, Response};
use serde_json::{Map, Value};

use crate::app::App;
use crate::department::Department;
use crate::http::{Details, HttpError};
use crate::limits;
use crate::model::{ConversationStatus, MessageType, OutboundKind, SenderType};
use crate::store::GuestRecord;
use crate::store::{AppendOutcome, NewMessage, StoreError};

use super::*;

/// A validated simple-format request.
#[derive(Debug)]
struct SimpleMessage {
    number: crate::phone::WhatsAppNumber,
    content: String,
    message_type: MessageType,
    media_url: Option<String>,
    media_filename: Option<String>,
    department: Department,
    conversation_id: Option<u64>,
    provider_message_id: Option<String>,
    hotel_id: Option<String>,
}

/// Validates every field of the simple format, collecting all problems (docs/api.md §6).
fn validate_simple(app: &App, body: &Map<String, Value>) -> Result<SimpleMessage, HttpError> {
    let mut details: Details = BTreeMap::new();
    let mut fail = |field: &str, message: String| details.entry(field.to_owned()).or_default().push(message);

    let text = |key: &str, fail: &mut dyn FnMut(&str, String)| -> Option<String> {
        match body.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                fail(key, "Not a valid string.".into());
                None
            }
        }
    };

    let number = match text("whatsapp_number", &mut fail) {
        None if body.get("whatsapp_number").is_none_or(Value::is_null) => {
            fail("whatsapp_number", "This field is required.".into());
            None
        }
        None => None,
        Some(raw) => match crate::phone::normalize(&raw, &app.config.default_country_code) {
            Ok(n) => Some(n),
            Err(e) => {
                fail("whatsapp_number", e.to_string());
                None
            }
        },
    };
    let message_type = match text("message_type", &mut fail).as_deref().map(str::trim) {
        None | Some("") => Some(MessageType::Text),
        Some(raw) => match MessageType::parse(raw) {
            Some(MessageType::System) => {
                fail("message_type", "Guests cannot send system messages".into());
                None
            }
            Some(kind) => Some(kind),
            None => {
                fail("message_type", format!("\"{raw}\" is not a valid choice."));
                None
            }
        },
    };
    // Every text has a bound (docs/api.md §8): what is stored and pushed stays small.
    let bounded = |key: &str, max: usize, fail: &mut dyn FnMut(&str, String)| -> Option<String> {
        let value = text(key, fail)?;
        if limits::over(&value, max) {
            fail(key, limits::too_long(max));
            return None;
        }
        Some(value)
    };
    let media_url =
        bounded("media_url", limits::URL_CHARS, &mut fail).map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    let media_filename = bounded("media_filename", limits::NAME_CHARS, &mut fail).filter(|f| !f.trim().is_empty());
    // A URL that was given but refused (too long) already has its error.
    let media_given =
        media_url.is_some() || body.get("media_url").and_then(Value::as_str).is_some_and(|u| !u.trim().is_empty());
    if let Some(kind) = message_type.filter(|k| k.needs_media())
        && !media_given
    {
        fail("media_url", format!("media_url is required for {kind} messages"));
    }
    let content = text("message", &mut fail).map(|m| m.trim().to_owned()).unwrap_or_default();
    if content.is_empty() && !media_given {
        let message = if body.get("message").is_none_or(Value::is_null) {
            "This field is required."
        } else {
            "This field may not be blank."
        };
        fail("message", message.into());
    } else if content.chars().count() > crate::frames::MAX_CONTENT_CHARS {
        fail("message", crate::frames::errors::TOO_LONG.into());
    }
    let department = match text("department", &mut fail).filter(|d| !d.trim().is_empty()) {
        None => Some(Department::Reception),
        Some(raw) => match Department::parse(&raw) {
            Ok(d) => Some(d),
            Err(e) => {
                fail("department", e.to_string());
                None
            }
        },
    };
    let conversation_id = match body.get("conversation_id") {
        None | Some(Value::Null) => None,
        Some(value) => match crate::frames::conversation_id(Some(value)) {
            Ok(id) => Some(id),
            Err(_) => {
                fail("conversation_id", "A valid integer is required.".into());
                None
            }
        },
    };
    let provider_message_id =
        bounded("provider_message_id", limits::NAME_CHARS, &mut fail).filter(|p| !p.trim().is_empty());
    let hotel_id = bounded("hotel_id", limits::NAME_CHARS, &mut fail).filter(|p| !p.trim().is_empty());

    match (number, message_type, department) {
        (Some(number), Some(message_type), Some(department)) if details.is_empty() => Ok(SimpleMessage {
            number,
            content,
            message_type,
            media_url,
            media_filename,
            department,
            conversation_id,
            provider_message_id,
            hotel_id,
        }),
        _ => Err(HttpError::invalid(details)),
    }
}

pub(super) async fn receive_simple(app: &App, body: &Map<String, Value>) -> Result<Response<Body>, HttpError> {
    let input = validate_simple(app, body)?;
    // A repeated provider id is recognised by the write itself; only when this request cannot be
    // stored now does the earlier answer have to be looked for (a repeat of a message that was
    // stored before the guest's stay or conversation ended still answers 201).
    let provider_id = input.provider_message_id.clone();
    match store_simple(app, input).await {
        Err(refused) if refused.status < 500 => match &provider_id {
            Some(pmid) => match app.store.provider_message(pmid).await? {
                Some(record) => Ok(created(&record)),
                None => Err(refused),
            },
            None => Err(refused),
        },
        other => other,
    }
}

async fn store_simple(app: &App, input: SimpleMessage) -> Result<Response<Body>, HttpError> {
    let record = find_guest(app, input.number.as_str(), input.hotel_id.as_deref()).await?;
    let stay = record.active_stay().cloned().ok_or_else(no_active_stay)?;
    let new = NewMessage {
        sender_type: SenderType::Guest,
        sender_id: None,
        sender_name: guest_name(&record.guest),
        message_type: input.message_type,
        content: input.content,
        media_url: input.media_url,
        media_filename: input.media_filename,
        delivery_status: None,
        send_as: OutboundKind::Message,
        provider_message_id: input.provider_message_id,
    };
    let now = crate::clock::now();
    let outcome = match input.conversation_id {
        Some(id) => {
            let conversation = app.store.get_conversation(id).await?;
            let usable = conversation.filter(|c| {
                c.guest_id == record.guest.id
                    && c.hotel_id == record.guest.hotel_id
                    && c.status == ConversationStatus::Active
            });
            let Some(conversation) = usable else {
                return Err(HttpError::conversation_not_found());
            };
            match app.store.append_to(&conversation, new, now).await {
                Err(StoreError::ConversationClosed | StoreError::NotFound) => {
                    return Err(HttpError::conversation_not_found());
                }
                other => other?,
            }
        }
        None => {
            let kind = record.guest.new_conversation_type();
            app.store.add_guest_message_from(&record, input.department, kind, new, now).await?
        }
    };
    let answer = match outcome {
        AppendOutcome::Duplicate(record) => record,
        AppendOutcome::Stored(appended) => {
            crate::telemetry::metric("MessagesIn", 1.0);
            let record_out = appended.record();
            let guest = GuestRecord { stays: vec![stay], ..record };
            announce_guest_message(app, &appended.conversation, &appended.message, appended.created, &guest).await;
            record_out
        }
    };
    Ok(created(&answer))
}
