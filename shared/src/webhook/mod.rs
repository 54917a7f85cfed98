//! The guest webhook (docs/api.md §6): how guest messages enter the system, behind a Lambda
//! Function URL.
//!
//! Two formats share the URL: the *simple* JSON (or form-encoded) body of the WhatsApp bridge,
//! signed with `X-Signature-256`, and the *Meta* WhatsApp Cloud API webhook, signed with
//! `X-Hub-Signature-256` (plus its GET verification handshake). Both verify the signature over
//! the raw body bytes before parsing anything, store before pushing, and are idempotent on the
//! provider message id.

mod meta;
mod simple;

use meta::{Transient, receive_meta};
use simple::receive_simple;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use tracing::Instrument;

use crate::app::App;
use crate::auth::signature;
use crate::chat::{self, Origin};
use crate::http::{self as h, HttpError};
use crate::model::{Conversation, Guest};
use crate::store::GuestRecord;
use crate::store::IdempotencyRecord;

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
            std::str::from_utf8(&crate::http::percent_decode_bytes(&spaced)).is_ok()
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
