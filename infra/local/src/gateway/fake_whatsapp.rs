//! A fake WhatsApp Cloud API under `/_fake/whatsapp/` (the local stack's `WHATSAPP_API_BASE`):
//! it checks sends the way the Cloud API does (text, media by link, interactive reply buttons,
//! templates), answers with fresh `wamid`s, keeps what it accepted for tests and the console
//! (`GET /_fake/whatsapp/_sent`), and serves media metadata and bytes, so staff replies and
//! media imports complete locally.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

/// Recipients under this (non-existent) country code are "not on WhatsApp": the fake refuses
/// them the way the Cloud API refuses an unknown number, so the failure path can be exercised.
pub const UNREACHABLE_PREFIX: &str = "999";

/// Recipients under this (non-existent) country code meet a Cloud API that is down: `503`, so
/// the retry path can be exercised.
pub const UNAVAILABLE_PREFIX: &str = "998";

/// Recipients under this country code meet a Cloud API that fails twice (`500`) before it accepts:
/// each such number's first two sends fail, the third goes through.
pub const FLAKY_PREFIX: &str = "997";

/// Recipients under this (unassigned) country code meet a sending number over its throughput:
/// each such number's first two sends are refused the way Meta refuses them (`400` with the
/// Graph API error code 130429), the third goes through.
pub const THROTTLED_PREFIX: &str = "990";

/// Media ids starting with `flaky` fail their first two downloads (`500`), then succeed.
pub const FLAKY_MEDIA: &str = "flaky";

/// How many accepted sends the fake keeps (oldest dropped first).
const KEEP: usize = 1000;

/// One send the fake accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentMessage {
    /// The phone number id of the path (the hotel's sending number).
    pub phone_number_id: String,
    /// The `wamid` it answered with.
    pub wamid: String,
    /// The request body as sent.
    pub body: Value,
}

/// What the fake accepted, newest last; watchers are woken at every send.
#[derive(Debug, Clone)]
pub struct SentLog {
    /// Accepted sends with their position in the log (counted from 1, never reused).
    sent: Arc<Mutex<Vec<(u64, SentMessage)>>>,
    changed: Arc<watch::Sender<u64>>,
    /// Failures so far per flaky recipient or media id.
    flaky: Arc<Mutex<std::collections::HashMap<String, u32>>>,
}

impl Default for SentLog {
    fn default() -> Self {
        SentLog { sent: Arc::default(), changed: Arc::new(watch::channel(0).0), flaky: Arc::default() }
    }
}

impl SentLog {
    /// Whether this call for `key` is one of its first two (which a flaky fake fails).
    fn flaky_fails(&self, key: &str) -> bool {
        let Ok(mut failures) = self.flaky.lock() else { return false };
        let count = failures.entry(key.to_owned()).or_insert(0);
        *count += 1;
        *count <= 2
    }

    /// Every accepted send so far.
    pub fn all(&self) -> Vec<SentMessage> {
        self.sent.lock().map(|sent| sent.iter().map(|(_, m)| m.clone()).collect()).unwrap_or_default()
    }

    /// The accepted sends after position `after` that `matches`, with their positions; when there
    /// are none yet, waits up to `limit` for one (a long poll). Positions count from 1.
    pub async fn wait_after(
        &self,
        after: u64,
        limit: std::time::Duration,
        matches: impl Fn(&SentMessage) -> bool,
    ) -> Vec<(u64, SentMessage)> {
        let mut changes = self.changed.subscribe();
        let found = || -> Vec<(u64, SentMessage)> {
            let Ok(sent) = self.sent.lock() else { return Vec::new() };
            sent.iter().filter(|(seq, m)| *seq > after && matches(m)).cloned().collect()
        };
        let wait = async {
            loop {
                let now = found();
                if !now.is_empty() || changes.changed().await.is_err() {
                    return now;
                }
            }
        };
        tokio::time::timeout(limit, wait).await.unwrap_or_default()
    }

    /// The first accepted send that `matches`, waiting for it up to `limit`.
    pub async fn wait_for(
        &self,
        limit: std::time::Duration,
        matches: impl Fn(&SentMessage) -> bool,
    ) -> Option<SentMessage> {
        let mut changes = self.changed.subscribe();
        let wait = async {
            loop {
                if let Some(found) = self.all().into_iter().find(&matches) {
                    return Some(found);
                }
                changes.changed().await.ok()?;
            }
        };
        tokio::time::timeout(limit, wait).await.ok().flatten()
    }

    fn push(&self, message: SentMessage) {
        if let Ok(mut sent) = self.sent.lock() {
            let seq = sent.last().map_or(1, |(last, _)| last + 1);
            if sent.len() >= KEEP {
                sent.remove(0);
            }
            sent.push((seq, message));
        }
        self.changed.send_modify(|n| *n += 1);
    }
}

/// The fake's routes, recording into `log`.
pub(super) fn routes<S: Clone + Send + Sync + 'static>(log: SentLog) -> Router<S> {
    let sent = log.clone();
    let media_log = log.clone();
    Router::new()
        .route(
            "/_fake/whatsapp/{version}/{phone}/messages",
            post(move |Path((_version, phone)): Path<(String, String)>, body: Bytes| send(log.clone(), phone, body)),
        )
        .route("/_fake/whatsapp/_sent", get(move || async move { axum::Json(sent.all()) }))
        .route("/_fake/whatsapp/media/{media_id}", get(move |path: Path<String>| download(media_log.clone(), path)))
        .route("/_fake/whatsapp/{version}/{media_id}", get(media))
}

/// `POST /{version}/{phone_number_id}/messages`: accepted when well formed and addressed to a
/// reachable recipient.
async fn send(log: SentLog, phone_number_id: String, body: Bytes) -> Response {
    let body = match serde_json::from_slice::<Value>(&body).map_err(|_| "body is not JSON".to_owned()).and_then(check) {
        Ok(body) => body,
        Err(problem) => return cloud_error(100, &format!("Invalid parameter: {problem}")),
    };
    if body["to"].as_str().is_some_and(|to| to.starts_with(UNREACHABLE_PREFIX)) {
        return cloud_error(131030, "Recipient phone number not in allowed list");
    }
    if let Some(to) = body["to"].as_str().filter(|to| to.starts_with(FLAKY_PREFIX))
        && log.flaky_fails(to)
    {
        let error = json!({ "error": { "message": "An unknown error occurred", "code": 1 } });
        return (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "application/json")], error.to_string())
            .into_response();
    }
    if let Some(to) = body["to"].as_str().filter(|to| to.starts_with(THROTTLED_PREFIX))
        && log.flaky_fails(to)
    {
        return cloud_error(130429, "(#130429) Rate limit hit");
    }
    if body["to"].as_str().is_some_and(|to| to.starts_with(UNAVAILABLE_PREFIX)) {
        let error = json!({ "error": { "message": "Service temporarily unavailable", "code": 2 } });
        return (StatusCode::SERVICE_UNAVAILABLE, [("content-type", "application/json")], error.to_string())
            .into_response();
    }
    let wamid = format!("wamid.LOCAL{}", uuid::Uuid::new_v4().simple());
    log.push(SentMessage { phone_number_id, wamid: wamid.clone(), body });
    let answer = json!({ "messaging_product": "whatsapp", "messages": [{ "id": wamid }] });
    (StatusCode::OK, [("content-type", "application/json")], answer.to_string()).into_response()
}

fn cloud_error(code: u32, message: &str) -> Response {
    let error = json!({ "error": { "message": message, "type": "OAuthException", "code": code } });
    (StatusCode::BAD_REQUEST, [("content-type", "application/json")], error.to_string()).into_response()
}

/// The Cloud API's rules for the message types the stack sends; `Err` names the first problem.
fn check(body: Value) -> Result<Value, String> {
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).filter(|s| !s.is_empty());
    let need = |pointer: &str| text(pointer).ok_or_else(|| format!("{pointer} is required"));
    if text("/messaging_product") != Some("whatsapp") {
        return Err("messaging_product must be whatsapp".into());
    }
    need("/to")?;
    match need("/type")? {
        "text" => {
            need("/text/body")?;
        }
        kind @ ("image" | "document" | "audio" | "video") => {
            need(&format!("/{kind}/link"))?;
        }
        "interactive" => {
            if text("/interactive/type") != Some("button") {
                return Err("only reply-button interactive messages are supported".into());
            }
            if need("/interactive/body/text")?.chars().count() > 1024 {
                return Err("interactive body text is longer than 1024 characters".into());
            }
            let buttons = body.pointer("/interactive/action/buttons").and_then(Value::as_array);
            let buttons = buttons.filter(|b| (1..=3).contains(&b.len())).ok_or("1 to 3 buttons are required")?;
            for button in buttons {
                let reply = |key: &str| button.pointer(&format!("/reply/{key}")).and_then(Value::as_str);
                let id_ok = reply("id").is_some_and(|id| !id.is_empty() && id.chars().count() <= 256);
                let title_ok = reply("title").is_some_and(|t| !t.is_empty() && t.chars().count() <= 20);
                if button.get("type").and_then(Value::as_str) != Some("reply") || !id_ok || !title_ok {
                    return Err("each button needs type reply, an id (≤ 256) and a title (≤ 20)".into());
                }
            }
        }
        "template" => {
            need("/template/name")?;
            need("/template/language/code")?;
        }
        other => return Err(format!("unsupported type {other}")),
    }
    Ok(body)
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

/// The media bytes (a recognisable fake); flaky media ids fail their first two downloads.
async fn download(log: SentLog, Path(media_id): Path<String>) -> Response {
    if media_id.starts_with(FLAKY_MEDIA) && log.flaky_fails(&media_id) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (StatusCode::OK, [("content-type", "image/jpeg")], format!("fake-media-{media_id}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(kind: &str, part: Value) -> Value {
        let mut body = json!({ "messaging_product": "whatsapp", "to": "15550001111", "type": kind });
        body[kind] = part;
        body
    }

    #[test]
    fn accepts_what_the_stack_sends_and_refuses_malformed_sends() {
        let button = |id: &str, title: &str| {
            base(
                "interactive",
                json!({ "type": "button", "body": { "text": "Go on?" },
                        "action": { "buttons": [{ "type": "reply", "reply": { "id": id, "title": title } }] } }),
            )
        };
        assert!(check(base("text", json!({ "body": "hi" }))).is_ok());
        assert!(check(base("image", json!({ "link": "https://x/a.jpg" }))).is_ok());
        assert!(check(button("accept_reopen_conversation_conv#1", "Continue")).is_ok());
        assert!(check(base("template", json!({ "name": "reopen", "language": { "code": "en_US" } }))).is_ok());

        assert!(check(base("text", json!({ "body": "" }))).is_err());
        assert!(check(button("x", "A title longer than twenty")).is_err());
        assert!(check(button("", "Continue")).is_err());
        assert!(check(base("template", json!({ "name": "reopen" }))).is_err());
        assert!(check(base("sticker", json!({}))).is_err());
        assert!(check(json!({ "to": "1", "type": "text", "text": { "body": "hi" } })).is_err());
    }
}
