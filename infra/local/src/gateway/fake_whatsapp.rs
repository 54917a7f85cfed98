//! A fake WhatsApp Cloud API under `/_fake/whatsapp/` (the local stack's `WHATSAPP_API_BASE`):
//! it accepts sends and answers with fresh `wamid`s, and serves media metadata and bytes, so
//! staff replies and media imports complete locally.

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The fake's routes.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/_fake/whatsapp/{version}/{phone}/messages", post(send))
        .route("/_fake/whatsapp/media/{media_id}", get(download))
        .route("/_fake/whatsapp/{version}/{media_id}", get(media))
}

/// Recipients under this (non-existent) country code are "not on WhatsApp": the fake refuses
/// them the way the Cloud API refuses an unknown number, so the failure path can be exercised.
pub const UNREACHABLE_PREFIX: &str = "999";

/// `POST /{version}/{phone_number_id}/messages`: accepted when it names a reachable recipient.
async fn send(body: Bytes) -> Response {
    let to = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("to").and_then(Value::as_str).map(str::to_owned));
    let Some(to) = to else {
        return (StatusCode::BAD_REQUEST, r#"{"error":{"message":"Invalid parameter","code":100}}"#).into_response();
    };
    if to.starts_with(UNREACHABLE_PREFIX) {
        let error = r#"{"error":{"message":"Recipient phone number not in allowed list","code":131030}}"#;
        return (StatusCode::BAD_REQUEST, [("content-type", "application/json")], error).into_response();
    }
    let wamid = format!("wamid.LOCAL{}", uuid::Uuid::new_v4().simple());
    let answer = json!({ "messaging_product": "whatsapp", "messages": [{ "id": wamid }] });
    (StatusCode::OK, [("content-type", "application/json")], answer.to_string()).into_response()
}

/// Graph API media metadata: where to download a media id.
async fn media(headers: HeaderMap, Path((_version, media_id)): Path<(String, String)>) -> Response {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let answer = json!({
        "messaging_product": "whatsapp",
        "url": format!("http://{host}/_fake/whatsapp/media/{media_id}"),
        "mime_type": "image/jpeg",
        "id": media_id,
    });
    (StatusCode::OK, [("content-type", "application/json")], answer.to_string()).into_response()
}

/// The media bytes (a recognisable fake).
async fn download(Path(media_id): Path<String>) -> Response {
    (StatusCode::OK, [("content-type", "image/jpeg")], format!("fake-media-{media_id}")).into_response()
}
