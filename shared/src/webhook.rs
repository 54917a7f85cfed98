//! The guest webhook (docs/api.md §6): how guest messages enter the system, behind a Lambda
//! Function URL.
//!
//! Two formats share the URL: the *simple* JSON (or form-encoded) body of the WhatsApp bridge,
//! signed with `X-Signature-256`, and the *Meta* WhatsApp Cloud API webhook, signed with
//! `X-Hub-Signature-256` (plus its GET verification handshake). Both verify the signature over
//! the raw body bytes before parsing anything, store before pushing, and are idempotent on the
//! provider message id.

use std::collections::BTreeMap;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use tracing::Instrument;

use crate::app::App;
use crate::auth::signature;
use crate::chat::{self, Origin};
use crate::department::Department;
use crate::frames::{ReadReceiptData, Reader, ServerFrame};
use crate::http::{self as h, Details, HttpError};
use crate::limits;
use crate::model::{
    Conversation, ConversationId, ConversationStatus, DeliveryStatus, Guest, MessageType, OutboundKind, SenderType,
};
use crate::reopen;
use crate::store::GuestRecord;
use crate::store::{AppendOutcome, IdempotencyRecord, NewMessage, StoreError};

/// Entry point of the webhook function.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let span = tracing::info_span!("webhook", request_id = %h::request_id(&request));
    async move {
        let started = std::time::Instant::now();
        let result = match *request.method() {
            Method::GET => verify_subscription(app, &request),
            Method::POST => receive(app, &request).await,
            _ => Err(HttpError::new(405, "Method not allowed")),
        };
        crate::telemetry::metric("WebhookLatency", started.elapsed().as_secs_f64() * 1e3);
        result.unwrap_or_else(HttpError::into_response)
    }
    .instrument(span)
    .await
}

/// Meta's GET handshake: echo `hub.challenge` when the verify token matches.
fn verify_subscription(app: &App, request: &Request) -> Result<Response<Body>, HttpError> {
    let mode = h::query(request, "hub.mode");
    let token = h::query(request, "hub.verify_token");
    let challenge = h::query(request, "hub.challenge");
    let expected = app.config.whatsapp_verify_token.as_deref();
    match (mode.as_deref(), token, challenge, expected) {
        (Some("subscribe"), Some(token), Some(challenge), Some(expected))
            if constant_time_eq(token.as_bytes(), expected.as_bytes()) =>
        {
            Ok(h::text_response(200, &challenge))
        }
        _ => Err(HttpError::new(403, "Verification failed")),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

async fn receive(app: &App, request: &Request) -> Result<Response<Body>, HttpError> {
    let raw = h::body_bytes(request);
    if raw.len() > h::MAX_JSON_BODY {
        return Err(HttpError::too_large());
    }
    let form = h::header(request, "content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let body: Map<String, Value> = if form {
        // Percent-decoded names and values must be UTF-8: nothing is stored with replacement
        // characters standing for bytes that were not text.
        let valid = raw.split(|b| *b == b'&').flat_map(|pair| pair.split(|b| *b == b'=')).all(|part| {
            let spaced: Vec<u8> = part.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
            std::str::from_utf8(&crate::rest::percent_decode_bytes(&spaced)).is_ok()
        });
        if !valid {
            check_signature(app, request, raw, false)?;
            return Err(HttpError::new(400, "Invalid form body"));
        }
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(raw)
            .map_err(|_| HttpError::new(400, "Invalid form body"))?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else {
        match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(map)) => map,
            _ => {
                check_signature(app, request, raw, false)?;
                return Err(HttpError::new(400, "Invalid JSON"));
            }
        }
    };
    let meta = body.get("object").is_some() && body.get("entry").is_some();
    check_signature(app, request, raw, meta)?;
    if meta {
        crate::telemetry::metric("WebhookCalls", 1.0);
        return match receive_meta(app, &body).await {
            Ok(()) => Ok(h::json_response(200, &json!({ "success": true }))),
            // Meta delivers the whole payload again; what was stored is recognised by its wamid.
            Err(Transient) => Err(HttpError::new(503, "Temporarily unavailable, please retry")),
        };
    }
    receive_simple(app, &body).await
}

/// Checks `X-Hub-Signature-256` (Meta) or `X-Signature-256` (simple) over the raw bytes.
fn check_signature(app: &App, request: &Request, raw: &[u8], meta: bool) -> Result<(), HttpError> {
    if !app.config.verify_signatures {
        return Ok(());
    }
    let (header, secret) = if meta {
        ("x-hub-signature-256", app.config.whatsapp_app_secret.as_deref())
    } else {
        ("x-signature-256", app.config.webhook_secret.as_deref())
    };
    let secret = secret.unwrap_or_default();
    if !secret.is_empty() && signature::verify(secret.as_bytes(), raw, h::header(request, header)) {
        Ok(())
    } else {
        tracing::warn!(meta, "webhook signature missing or wrong");
        Err(HttpError::new(401, "Invalid signature"))
    }
}

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

async fn receive_simple(app: &App, body: &Map<String, Value>) -> Result<Response<Body>, HttpError> {
    let input = validate_simple(app, body)?;
    if let Some(pmid) = &input.provider_message_id
        && let Some(record) = app.store.provider_message(pmid).await?
    {
        return Ok(created(&record));
    }
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
            let usable = conversation.as_ref().is_some_and(|c| {
                c.guest_id == record.guest.id
                    && c.hotel_id == record.guest.hotel_id
                    && c.status == ConversationStatus::Active
            });
            if !usable {
                return Err(HttpError::conversation_not_found());
            }
            match app.store.add_message(id, new, now).await {
                Err(StoreError::ConversationClosed | StoreError::NotFound) => {
                    return Err(HttpError::conversation_not_found());
                }
                other => other?,
            }
        }
        None => {
            let kind = record.guest.new_conversation_type();
            app.store.add_guest_message(&record.guest, input.department, kind, new, now).await?
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

/// The 201 answer of the simple format (also replayed for a repeated provider id).
fn created(record: &IdempotencyRecord) -> Response<Body> {
    h::json_response(
        201,
        &json!({
            "success": true,
            "message_id": record.message_id,
            "conversation_id": record.conversation_id,
            "department": record.department,
            "conversation_type": record.conversation_type,
            "conversation_created": record.conversation_created,
        }),
    )
}

fn no_active_stay() -> HttpError {
    HttpError::new(400, "Guest does not have an active stay")
}

fn guest_name(guest: &Guest) -> String {
    if guest.full_name.trim().is_empty() { guest.whatsapp_number.clone() } else { guest.full_name.clone() }
}

/// The guest with this number staying now (at `hotel_id` when given): 404 for an unknown
/// number, 400 for a guest without an active stay.
async fn find_guest(app: &App, number: &str, hotel_id: Option<&str>) -> Result<GuestRecord, HttpError> {
    match chat::guest_staying(app, number, hotel_id).await? {
        chat::GuestLookup::Staying(record) => Ok(*record),
        chat::GuestLookup::NotStaying => Err(no_active_stay()),
        chat::GuestLookup::Unknown => Err(HttpError::new(404, "Guest not found")),
    }
}

/// Pushes a stored guest message (and the new conversation) to the department.
async fn announce_guest_message(
    app: &App,
    conversation: &Conversation,
    message: &crate::model::Message,
    created: bool,
    guest: &GuestRecord,
) {
    let origin = Origin::server(app);
    if created && let Ok(Some(hotel)) = app.store.get_hotel(&conversation.hotel_id).await {
        chat::announce_new_conversation(app, &hotel, conversation).await;
    }
    chat::announce_message(app, &origin, conversation, message, guest).await;
}

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
struct Transient;

/// Meta webhook body: every message and status on its own, so one bad item never blocks the
/// others. Items that can never be taken are logged and skipped (Meta retries, then disables,
/// failing webhooks); if any could not be stored for a transient reason, the answer is `Err`
/// (5xx) so that Meta delivers the payload again, and the wamid makes the repeat safe.
async fn receive_meta(app: &App, body: &Map<String, Value>) -> Result<(), Transient> {
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
        Some(c) => match app.store.add_message(c.id, new.clone(), now).await {
            Err(StoreError::ConversationClosed) => {
                app.store.add_guest_message(&record.guest, department, kind, new, now).await
            }
            other => other,
        },
        None => app.store.add_guest_message(&record.guest, department, kind, new, now).await,
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
    let own = conversation.is_some_and(|c| {
        c.guest_id == record.guest.id && c.hotel_id == record.guest.hotel_id && c.status == ConversationStatus::Active
    });
    if !own {
        tracing::info!(conversation_id, "reopen button for a conversation that is not the guest's active one");
        return Ok(false);
    }
    let note = NewMessage { content: reopen::reopened_note(&record.guest), ..reply.clone() };
    let appended = match app.store.add_message(conversation_id, note, now).await {
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
