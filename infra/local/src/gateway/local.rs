//! Local-only endpoints under `/_local/`, for the staff console, its guest simulator and the
//! browser test. They exist in the local gateway only, never in a deployed stack (no Lambda
//! function has them), and only when the gateway was started with [`LocalTools`] (`lobbybee-local
//! up` does; the end-to-end suite's gateways do not):
//!
//! - `GET /_local/demo`: the demo hotel's staff, each with a freshly minted 12-hour token, and
//!   its guests with their rooms and guest tokens.
//! - `POST /_local/guest/say` `{"whatsapp_number", "message", "department"?, "reply_id"?}`: a
//!   guest message, signed here (the secret never reaches the browser) and handed to the guest
//!   webhook exactly as a POST to its Function URL would be: the simple format, or with `reply_id`
//!   a Meta interactive button reply (the reopen `Continue` button). Answers what the webhook
//!   answered.
//! - `POST /_local/guest/status` `{"wamid", "status"}`: what the guest's phone reports for a
//!   reply (`delivered`, `read`), as a signed Meta status webhook.
//! - `GET /_local/guest/inbox?number=&after=&wait=`: what the fake WhatsApp Cloud API accepted
//!   for that number, with the status the phone reported; with `wait` (seconds, at most 25) the
//!   answer waits until there is something after `after` (a long poll).
//! - `POST /_local/sockets/drop` `{"hold"?: true}`: closes every open socket, as API Gateway does
//!   at its idle timeout or maximum lifetime, so that reconnecting clients can be tried; with
//!   `hold`, new handshakes are refused (503) until `POST /_local/sockets/resume`, so that a test
//!   can act while a client is away.
//! - `GET /_local/calls`: the AWS requests the functions made so far, per function and operation,
//!   with the DynamoDB capacity they consumed (`lobbybee::calls::Counts`), when the gateway was
//!   started with a call log (`lobbybee-local up --count-calls`; the load generator reads it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use lobbybee::auth::{jwt, signature};
use lobbybee::calls::CallLog;
use serde::Deserialize;
use serde_json::{Value, json};

use super::fake_whatsapp::SentMessage;
use super::http_api::{self, Function};
use super::{St, json_response};
use crate::seed::{DemoGuest, DemoStaff};

/// Lifetime of the tokens `/_local/demo` mints.
const TOKEN_TTL_SECONDS: i64 = 12 * 3600;
/// Longest long poll of the inbox.
const MAX_WAIT: Duration = Duration::from_secs(25);

/// What the local-only endpoints need: the demo data and the development secrets of the stack.
pub struct LocalTools {
    /// The demo hotel's id.
    pub hotel_id: String,
    /// The demo hotel's name.
    pub hotel_name: String,
    /// The hotel's WhatsApp phone number id (the Meta webhooks name it).
    pub phone_number_id: String,
    /// Demo staff (their printed tokens are not used: fresh ones are minted).
    pub staff: Vec<DemoStaff>,
    /// Demo guests.
    pub guests: Vec<DemoGuest>,
    /// The HS256 secret staff tokens are signed with.
    pub jwt_secret: String,
    /// The simple-format webhook secret.
    pub webhook_secret: String,
    /// The Meta app secret.
    pub app_secret: String,
    /// What the guest's phone reported per wamid.
    reported: Mutex<HashMap<String, String>>,
    /// Whether socket handshakes are refused (after a drop with `hold`).
    holding: AtomicBool,
    /// The handlers' AWS calls, when they are counted.
    calls: Option<Arc<CallLog>>,
}

impl LocalTools {
    /// The tools for `staff` and `guests` of hotel `hotel_id`, signing with the given secrets.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        hotel_id: &str,
        hotel_name: &str,
        phone_number_id: &str,
        staff: Vec<DemoStaff>,
        guests: Vec<DemoGuest>,
        jwt_secret: String,
        webhook_secret: String,
        app_secret: String,
    ) -> Self {
        LocalTools {
            hotel_id: hotel_id.to_owned(),
            hotel_name: hotel_name.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            staff,
            guests,
            jwt_secret,
            webhook_secret,
            app_secret,
            reported: Mutex::default(),
            holding: AtomicBool::new(false),
            calls: None,
        }
    }

    /// Serves the counts of `log` (the log the handlers' app records into) at `/_local/calls`.
    pub fn with_calls(mut self, log: Arc<CallLog>) -> Self {
        self.calls = Some(log);
        self
    }

    fn reported(&self, wamid: &str) -> Option<String> {
        self.reported.lock().ok()?.get(wamid).cloned()
    }

    fn report(&self, wamid: &str, status: &str) {
        if let Ok(mut reported) = self.reported.lock() {
            reported.insert(wamid.to_owned(), status.to_owned());
        }
    }
}

impl std::fmt::Debug for LocalTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTools").field("hotel_id", &self.hotel_id).finish_non_exhaustive()
    }
}

/// The routes (answering 404 when the gateway runs without [`LocalTools`]).
pub(super) fn routes() -> Router<St> {
    Router::new()
        .route("/_local/demo", get(demo))
        .route("/_local/guest/say", post(say))
        .route("/_local/guest/status", post(status))
        .route("/_local/guest/inbox", get(inbox))
        .route("/_local/sockets/drop", post(drop_sockets))
        .route("/_local/sockets/resume", post(resume_sockets))
        .route("/_local/calls", get(calls))
}

/// `GET /_local/calls`.
async fn calls(State(st): State<St>) -> Response {
    match st.local.as_ref().and_then(|tools| tools.calls.as_ref()) {
        Some(log) => json_response(StatusCode::OK, &json!(log.counts())),
        None => not_found(),
    }
}

/// Whether socket handshakes are being refused (`/_local/sockets/drop` with `hold`).
pub(super) fn holding(st: &St) -> bool {
    st.local.as_ref().is_some_and(|tools| tools.holding.load(Ordering::SeqCst))
}

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({ "error": "Not found" }))
}

fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

/// `GET /_local/demo`.
async fn demo(State(st): State<St>, headers: HeaderMap) -> Response {
    let Some(tools) = st.local.as_ref() else { return not_found() };
    let host = super::valid_host(&headers).unwrap_or_else(|| st.addr.to_string());
    let mut staff = Vec::new();
    for member in &tools.staff {
        let Ok(token) = jwt::issue_hs256(&tools.jwt_secret, &member.user_id, TOKEN_TTL_SECONDS) else {
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "error": "Cannot mint tokens" }));
        };
        staff.push(json!({
            "user_id": member.user_id, "name": member.name, "user_type": member.user_type,
            "departments": member.departments, "token": token,
        }));
    }
    let guests: Vec<Value> = tools
        .guests
        .iter()
        .map(|g| {
            json!({ "id": g.id, "name": g.name, "whatsapp_number": g.number, "room_number": g.room,
                    "active": g.active, "guest_token": g.guest_token })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "hotel": { "id": tools.hotel_id, "name": tools.hotel_name },
            "rest_api": format!("http://{host}/api/chat/"),
            "websocket": format!("ws://{host}/"),
            "staff": staff,
            "guests": guests,
        }),
    )
}

#[derive(Deserialize)]
struct Say {
    whatsapp_number: String,
    #[serde(default)]
    message: String,
    department: Option<String>,
    reply_id: Option<String>,
}

/// `POST /_local/guest/say`.
async fn say(
    State(st): State<St>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(tools) = st.local.as_ref() else { return not_found() };
    let Ok(say) = serde_json::from_slice::<Say>(&body) else {
        return bad_request("Expected {\"whatsapp_number\", \"message\", \"department\"?, \"reply_id\"?}");
    };
    let (raw, signature_header) = match &say.reply_id {
        Some(reply_id) => {
            let mut item = meta_item(&say.whatsapp_number, "interactive");
            item["interactive"] =
                json!({ "type": "button_reply", "button_reply": { "id": reply_id, "title": say.message } });
            let raw = meta_envelope(&tools.phone_number_id, "messages", item).to_string();
            let signed = signature::sign(tools.app_secret.as_bytes(), raw.as_bytes());
            (raw, ("x-hub-signature-256", signed))
        }
        None => {
            let mut simple = json!({
                "whatsapp_number": say.whatsapp_number,
                "message": say.message,
                "provider_message_id": format!("console-{}", uuid::Uuid::new_v4().simple()),
            });
            if let Some(department) = say.department.filter(|d| !d.is_empty()) {
                simple["department"] = json!(department);
            }
            let raw = simple.to_string();
            let signed = signature::sign(tools.webhook_secret.as_bytes(), raw.as_bytes());
            (raw, ("x-signature-256", signed))
        }
    };
    to_webhook(st.clone(), peer, &headers, raw, signature_header).await
}

/// A Meta `messages[]` item of `kind` from `number` (its content still to be added), with a fresh wamid.
pub fn meta_item(number: &str, kind: &str) -> Value {
    json!({
        "from": number.trim_start_matches('+'),
        "id": format!("wamid.LOCAL{}", uuid::Uuid::new_v4().simple()),
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "type": kind,
    })
}

#[derive(Deserialize)]
struct Status {
    wamid: String,
    status: String,
}

/// `POST /_local/guest/status`.
async fn status(
    State(st): State<St>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(tools) = st.local.as_ref() else { return not_found() };
    let Ok(report) = serde_json::from_slice::<Status>(&body) else {
        return bad_request("Expected {\"wamid\", \"status\"}");
    };
    if !matches!(report.status.as_str(), "delivered" | "read") {
        return bad_request("status must be delivered or read");
    }
    let Some(sent) = st.whatsapp.all().into_iter().find(|s| s.wamid == report.wamid) else {
        return json_response(StatusCode::NOT_FOUND, &json!({ "error": "No such wamid" }));
    };
    let item = json!({
        "id": sent.wamid, "status": report.status,
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "recipient_id": sent.body["to"],
    });
    let raw = meta_envelope(&tools.phone_number_id, "statuses", item).to_string();
    let signed = signature::sign(tools.app_secret.as_bytes(), raw.as_bytes());
    let answer = to_webhook(st.clone(), peer, &headers, raw, ("x-hub-signature-256", signed)).await;
    if answer.status().is_success() {
        tools.report(&report.wamid, &report.status);
    }
    answer
}

/// A Meta webhook body with one `messages` or `statuses` item for `phone_number_id` (also what
/// `lobbybee guest say --meta` sends).
pub fn meta_envelope(phone_number_id: &str, kind: &str, item: Value) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "15550001111", "phone_number_id": phone_number_id },
    });
    value[kind] = json!([item]);
    json!({ "object": "whatsapp_business_account",
            "entry": [{ "id": "LOCAL", "changes": [{ "field": "messages", "value": value }] }] })
}

/// Hands a signed body to the guest webhook, as a POST to its Function URL.
async fn to_webhook(st: St, peer: SocketAddr, headers: &HeaderMap, raw: String, signed: (&str, String)) -> Response {
    let host = super::valid_host(headers).unwrap_or_else(|| st.addr.to_string());
    let request = Request::builder()
        .method("POST")
        .uri("/api/chat/guest-webhook/")
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/json")
        .header(signed.0, signed.1)
        .body(Body::from(raw));
    match request {
        Ok(request) => http_api::invoke(st, peer, request, Function::Webhook).await,
        Err(_) => bad_request("Cannot build the webhook request"),
    }
}

#[derive(Deserialize)]
struct InboxQuery {
    number: String,
    #[serde(default)]
    after: u64,
    #[serde(default)]
    wait: u64,
}

/// `GET /_local/guest/inbox`: `{"next": <cursor>, "messages": [...]}`, each message with its
/// position in the fake's log (`seq`), wamid, WhatsApp type, text, and reported status.
async fn inbox(State(st): State<St>, Query(query): Query<InboxQuery>) -> Response {
    let Some(tools) = st.local.as_ref() else { return not_found() };
    let Ok(number) = lobbybee::phone::normalize(&query.number, "1") else {
        return bad_request("Invalid WhatsApp number format");
    };
    let to = number.digits().to_owned();
    let wait = Duration::from_secs(query.wait).min(MAX_WAIT);
    let after = query.after;
    let mine = |s: &SentMessage| s.body["to"].as_str() == Some(to.as_str());
    let found = st.whatsapp.wait_after(after, wait, mine).await;
    let messages: Vec<Value> = found
        .iter()
        .map(|(seq, sent)| {
            let status = tools.reported(&sent.wamid).unwrap_or_else(|| "sent".into());
            json!({ "seq": seq, "wamid": sent.wamid, "status": status, "whatsapp": sent.body })
        })
        .collect();
    let next = found.last().map_or(after, |(seq, _)| *seq);
    json_response(StatusCode::OK, &json!({ "next": next, "messages": messages }))
}

#[derive(Deserialize, Default)]
struct Drop {
    #[serde(default)]
    hold: bool,
}

/// `POST /_local/sockets/drop`.
async fn drop_sockets(State(st): State<St>, body: axum::body::Bytes) -> Response {
    let Some(tools) = st.local.as_ref() else { return not_found() };
    let Ok(options) = (if body.is_empty() { Ok(Drop::default()) } else { serde_json::from_slice::<Drop>(&body) })
    else {
        return bad_request("Expected {\"hold\"?: true}");
    };
    tools.holding.store(options.hold, Ordering::SeqCst);
    let dropped = st.sockets.drop_all();
    tracing::info!(dropped, hold = options.hold, "sockets dropped on request");
    json_response(StatusCode::OK, &json!({ "dropped": dropped, "holding": options.hold }))
}

/// `POST /_local/sockets/resume`: handshakes are accepted again.
async fn resume_sockets(State(st): State<St>) -> Response {
    let Some(tools) = st.local.as_ref() else { return not_found() };
    tools.holding.store(false, Ordering::SeqCst);
    json_response(StatusCode::OK, &json!({ "holding": false }))
}
