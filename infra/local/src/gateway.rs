//! The local API Gateway: one port that serves what AWS serves in front of the functions.
//!
//! - **WebSocket API** at `/` (query parameters) and at the Django-style paths `/ws/chat/`,
//!   `/ws/chat/{department}/` and `/ws/guest/{whatsapp_number}/`. The handshake is held until
//!   `$connect` answers and refused with its status when that is not 2xx; every text frame is a
//!   `$default` event (in order per socket, sockets in parallel); closing, the idle timeout, the
//!   maximum lifetime and a management `DELETE` end in exactly one `$disconnect`.
//! - **Management API** (`POST/GET/DELETE /@connections/{id}`, also under `/{stage}/`), which the
//!   real `aws-sdk-apigatewaymanagement` client talks to; unknown ids answer `410 Gone`.
//! - **Function URL** of the guest webhook at `/api/chat/guest-webhook/` and the **HTTP API** for
//!   everything else under `/api/chat/`, as payload-v2 events turned into `lambda_http`
//!   requests exactly the way the Lambda runtime does.
//! - **SQS event source mappings**: long-polls queues and invokes the consumers with `SqsEvent`
//!   batches, deleting only the records not reported in `batchItemFailures`.
//! - A **fake WhatsApp Cloud API** under `/_fake/whatsapp/` that accepts sends and returns
//!   `wamid`s, so staff replies complete locally.
//!
//! Events are built as JSON first, in API Gateway's exact shape, and deserialised into the
//! `aws_lambda_events` types, so the handlers see what they would see on AWS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::event::sqs::SqsEvent;
use axum::Router;
use axum::body::{Body as AxumBody, Bytes};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use lobbybee::app::App;
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc, watch};

/// The API id the local gateway reports in events.
pub const API_ID: &str = "localgw001";

/// Largest request body the gateway accepts (Lambda's own limit).
const MAX_BODY: usize = 6 * 1024 * 1024;

/// Which consumer a queue feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueConsumer {
    /// `outbound-sender`.
    Outbound,
    /// `push-retry`.
    PushRetry,
}

/// An SQS event source mapping.
#[derive(Debug, Clone)]
pub struct QueueBinding {
    /// Queue to poll.
    pub queue_url: String,
    /// Function to invoke.
    pub consumer: QueueConsumer,
    /// Records per batch (1–10).
    pub batch_size: i32,
}

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Stage name in events and management paths.
    pub stage: String,
    /// Close sockets without a client frame for this long (API Gateway: 10 minutes).
    pub idle_timeout: Duration,
    /// Close sockets this long after connect (API Gateway: 2 hours).
    pub max_lifetime: Duration,
    /// Queues to poll.
    pub queues: Vec<QueueBinding>,
    /// Long-poll wait of `ReceiveMessage`.
    pub poll_wait: Duration,
}

impl GatewayOptions {
    /// API Gateway's own settings (10-minute idle timeout, 2-hour lifetime, stage `local`) with
    /// the stack's two queues bound to their consumers, as a deployed stack has them.
    pub fn like_aws(resources: &crate::bootstrap::LocalResources) -> Self {
        let binding =
            |queue_url: &str, consumer| QueueBinding { queue_url: queue_url.to_owned(), consumer, batch_size: 10 };
        GatewayOptions {
            stage: "local".into(),
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(7200),
            queues: vec![
                binding(&resources.outbound_queue_url, QueueConsumer::Outbound),
                binding(&resources.push_retry_queue_url, QueueConsumer::PushRetry),
            ],
            poll_wait: Duration::from_secs(1),
        }
    }
}

/// A running gateway.
pub struct Gateway {
    /// Bound address.
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Gateway {
    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and the pollers.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

/// An open socket, as the management API sees it.
struct Socket {
    tx: mpsc::UnboundedSender<Message>,
    close: Arc<Notify>,
    connected_at: chrono::DateTime<Utc>,
    last_active: Arc<Mutex<chrono::DateTime<Utc>>>,
    source_ip: String,
    user_agent: String,
}

struct Shared {
    app: App,
    options: GatewayOptions,
    sockets: Mutex<HashMap<String, Socket>>,
}

type St = Arc<Shared>;

/// Starts the gateway on `listener` and the queue pollers; returns at once.
pub async fn start(app: App, listener: tokio::net::TcpListener, options: GatewayOptions) -> std::io::Result<Gateway> {
    let addr = listener.local_addr()?;
    let (shutdown, mut stop) = watch::channel(false);
    let shared = Arc::new(Shared { app, options: options.clone(), sockets: Mutex::new(HashMap::new()) });
    let router = router(shared.clone());
    let mut tasks = Vec::new();
    let mut server_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "gateway server failed");
        }
    }));
    for binding in options.queues.iter().filter(|b| !b.queue_url.is_empty()) {
        tasks.push(tokio::spawn(poll_queue(shared.clone(), binding.clone(), stop.clone())));
    }
    // Keep `stop` alive until shutdown so pollers see the change.
    tasks.push(tokio::spawn(async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    Ok(Gateway { addr, shutdown, tasks })
}

fn router(shared: St) -> Router {
    Router::new()
        .route("/", get(ws_root))
        .route("/ws/chat", get(ws_root))
        .route("/ws/chat/", get(ws_root))
        .route("/ws/chat/{department}", get(ws_department))
        .route("/ws/chat/{department}/", get(ws_department))
        .route("/ws/guest/{number}", get(ws_guest))
        .route("/ws/guest/{number}/", get(ws_guest))
        .route("/@connections/{id}", any(management))
        .route("/{stage}/@connections/{id}", any(management_staged))
        .route("/health", get(|| async { "ok" }))
        .route("/_fake/whatsapp/{version}/{phone}/messages", post(fake_whatsapp_send))
        .route("/_fake/whatsapp/media/{media_id}", get(fake_whatsapp_download))
        .route("/_fake/whatsapp/{version}/{media_id}", get(fake_whatsapp_media))
        .fallback(http_api)
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// WebSocket API

async fn ws_root(
    State(st): State<St>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(st, peer, headers, query_pairs(&uri), ws).await
}

async fn ws_department(
    State(st): State<St>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(department): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let mut query = query_pairs(&uri);
    query.push(("department".into(), department));
    upgrade(st, peer, headers, query, ws).await
}

async fn ws_guest(
    State(st): State<St>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(number): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let mut query = query_pairs(&uri);
    query.push(("whatsapp_number".into(), number));
    upgrade(st, peer, headers, query, ws).await
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query().map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default()).unwrap_or_default()
}

/// A connection id shaped like API Gateway's (12 random bytes, base64).
fn new_connection_id() -> String {
    let bytes = uuid::Uuid::new_v4();
    base64::engine::general_purpose::STANDARD.encode(&bytes.as_bytes()[..10])
}

fn request_time(now: chrono::DateTime<Utc>) -> String {
    now.format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

fn header_maps(headers: &HeaderMap) -> (Map<String, Value>, Map<String, Value>) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let name = canonical_header(name.as_str());
        let value = value.to_str().unwrap_or_default().to_owned();
        single.insert(name.clone(), Value::String(value.clone()));
        match multi.get_mut(&name) {
            Some(Value::Array(values)) => values.push(Value::String(value)),
            _ => {
                multi.insert(name, json!([value]));
            }
        }
    }
    (single, multi)
}

/// `sec-websocket-key` → `Sec-WebSocket-Key`, as browsers send it and API Gateway passes it on.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| match part {
            "websocket" => "WebSocket".to_owned(),
            "id" => "Id".to_owned(),
            _ => {
                let mut chars = part.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn query_maps(query: &[(String, String)]) -> (Value, Value) {
    if query.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in query {
        single.insert(k.clone(), Value::String(v.clone()));
        match multi.get_mut(k) {
            Some(Value::Array(values)) => values.push(Value::String(v.clone())),
            _ => {
                multi.insert(k.clone(), json!([v]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

/// Context fields shared by the three WebSocket events.
pub struct WsContext<'a> {
    /// `$connect`, `$default` or `$disconnect`.
    pub route: &'a str,
    /// `CONNECT`, `MESSAGE` or `DISCONNECT`.
    pub event_type: &'a str,
    /// The socket.
    pub connection_id: &'a str,
    /// When it connected.
    pub connected_at: chrono::DateTime<Utc>,
    /// Stage name.
    pub stage: &'a str,
    /// Host the client connected to.
    pub domain: &'a str,
    /// Client address.
    pub source_ip: &'a str,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
}

fn ws_request_context(ctx: &WsContext<'_>) -> Map<String, Value> {
    let now = Utc::now();
    let request_id = new_connection_id();
    let mut identity = json!({ "sourceIp": ctx.source_ip });
    // API Gateway reports the user agent on `$connect` only (see the fixtures).
    if let (Some(agent), "$connect") = (ctx.user_agent, ctx.route) {
        identity["userAgent"] = json!(agent);
    }
    let value = json!({
        "routeKey": ctx.route,
        "eventType": ctx.event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(now),
        "messageDirection": "IN",
        "stage": ctx.stage,
        "connectedAt": ctx.connected_at.timestamp_millis(),
        "requestTimeEpoch": now.timestamp_millis(),
        "identity": identity,
        "requestId": request_id,
        "domainName": ctx.domain,
        "connectionId": ctx.connection_id,
        "apiId": API_ID,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The `$connect` event, shaped like `shared/fixtures/apigw-ws-connect.json`.
pub fn connect_event(headers: &HeaderMap, query: &[(String, String)], ctx: &WsContext<'_>) -> Value {
    let (single, multi) = header_maps(headers);
    let (qs, mqs) = query_maps(query);
    let mut event = json!({
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": ws_request_context(ctx),
        "isBase64Encoded": false,
    });
    if !qs.is_null() {
        event["queryStringParameters"] = qs;
        event["multiValueQueryStringParameters"] = mqs;
    }
    event
}

/// A `$default` event, shaped like `shared/fixtures/apigw-ws-message.json`.
pub fn message_event(body: &str, ctx: &WsContext<'_>) -> Value {
    let mut context = ws_request_context(ctx);
    context.insert("messageId".into(), json!(new_connection_id()));
    json!({ "requestContext": context, "body": body, "isBase64Encoded": false })
}

/// A `$disconnect` event, shaped like `shared/fixtures/apigw-ws-disconnect.json`.
pub fn disconnect_event(ctx: &WsContext<'_>, code: u16, reason: &str) -> Value {
    let mut context = ws_request_context(ctx);
    context.insert("disconnectStatusCode".into(), json!(code));
    context.insert("disconnectReason".into(), json!(reason));
    let headers = json!({ "Host": ctx.domain, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "" });
    let multi = json!({ "Host": [ctx.domain], "x-api-key": [""], "X-Forwarded-For": [""], "x-restapi": [""] });
    json!({ "headers": headers, "multiValueHeaders": multi, "requestContext": context, "isBase64Encoded": false })
}

fn ws_event(value: Value) -> Option<ApiGatewayWebsocketProxyRequest> {
    serde_json::from_value(value).map_err(|e| tracing::error!(error = %e, "event does not deserialise")).ok()
}

async fn upgrade(
    st: St,
    peer: SocketAddr,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    ws: WebSocketUpgrade,
) -> Response {
    let connection_id = new_connection_id();
    let connected_at = Utc::now();
    let domain = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_owned();
    let user_agent = headers.get("user-agent").and_then(|h| h.to_str().ok()).map(str::to_owned);
    let source_ip = peer.ip().to_string();
    let stage = st.options.stage.clone();
    let ctx = WsContext {
        route: "$connect",
        event_type: "CONNECT",
        connection_id: &connection_id,
        connected_at,
        stage: &stage,
        domain: &domain,
        source_ip: &source_ip,
        user_agent: user_agent.as_deref(),
    };
    let Some(event) = ws_event(connect_event(&headers, &query, &ctx)) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let answer = lobbybee::ws::connect(&st.app, event).await;
    if !(200..300).contains(&answer.status_code) {
        let status = u16::try_from(answer.status_code).ok().and_then(|s| StatusCode::from_u16(s).ok());
        let body = match answer.body {
            Some(aws_lambda_events::encodings::Body::Text(text)) => text,
            _ => String::new(),
        };
        return (status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response();
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let close = Arc::new(Notify::new());
    let last_active = Arc::new(Mutex::new(connected_at));
    lock(&st.sockets).insert(
        connection_id.clone(),
        Socket {
            tx,
            close: close.clone(),
            connected_at,
            last_active: last_active.clone(),
            source_ip: source_ip.clone(),
            user_agent: user_agent.clone().unwrap_or_default(),
        },
    );
    let meta = SocketMeta { connection_id, connected_at, domain, source_ip, user_agent };
    let failed = (st.clone(), meta.clone());
    ws.on_failed_upgrade(move |_| {
        let (st, meta) = failed;
        tokio::spawn(async move { finish(&st, &meta, 1006, "Upgrade failed").await });
    })
    .on_upgrade(move |socket| run_socket(st, meta, socket, rx, close, last_active))
}

#[derive(Clone)]
struct SocketMeta {
    connection_id: String,
    connected_at: chrono::DateTime<Utc>,
    domain: String,
    source_ip: String,
    user_agent: Option<String>,
}

impl SocketMeta {
    fn ctx<'a>(&'a self, route: &'a str, event_type: &'a str, stage: &'a str) -> WsContext<'a> {
        WsContext {
            route,
            event_type,
            connection_id: &self.connection_id,
            connected_at: self.connected_at,
            stage,
            domain: &self.domain,
            source_ip: &self.source_ip,
            user_agent: self.user_agent.as_deref(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn run_socket(
    st: St,
    meta: SocketMeta,
    socket: WebSocket,
    mut rx: mpsc::UnboundedReceiver<Message>,
    close: Arc<Notify>,
    last_active: Arc<Mutex<chrono::DateTime<Utc>>>,
) {
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let deadline = tokio::time::Instant::now() + st.options.max_lifetime;
    let idle = st.options.idle_timeout;
    let stage = st.options.stage.clone();
    let (code, reason) = loop {
        tokio::select! {
            _ = close.notified() => break (1000, "Connection closed by server"),
            _ = tokio::time::sleep_until(deadline) => break (1001, "Going away"),
            next = tokio::time::timeout(idle, stream.next()) => match next {
                Err(_) => break (1001, "Going away"),
                Ok(None) | Ok(Some(Err(_))) => break (1006, "Connection lost"),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    break (frame.as_ref().map_or(1005, |f| f.code), "Client closed");
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    *lock(&last_active) = Utc::now();
                    let ctx = meta.ctx("$default", "MESSAGE", &stage);
                    if let Some(event) = ws_event(message_event(text.as_str(), &ctx)) {
                        lobbybee::ws::message(&st.app, event).await;
                    }
                }
                Ok(Some(Ok(_))) => {}
            },
        }
    };
    // `$disconnect` runs before the close frame goes out, so a client that sees its socket
    // closed also sees its connection record gone.
    let tx = lock(&st.sockets).get(&meta.connection_id).map(|socket| socket.tx.clone());
    finish(&st, &meta, code, reason).await;
    if let Some(tx) = tx {
        let frame = CloseFrame { code: if code == 1005 || code == 1006 { 1000 } else { code }, reason: reason.into() };
        let _ = tx.send(Message::Close(Some(frame)));
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

/// Forgets the socket and runs `$disconnect` once.
async fn finish(st: &St, meta: &SocketMeta, code: u16, reason: &str) {
    if lock(&st.sockets).remove(&meta.connection_id).is_none() {
        return;
    }
    let stage = st.options.stage.clone();
    let ctx = meta.ctx("$disconnect", "DISCONNECT", &stage);
    if let Some(event) = ws_event(disconnect_event(&ctx, code, reason)) {
        lobbybee::ws::disconnect(&st.app, event).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Management API

async fn management(State(st): State<St>, Path(id): Path<String>, method: Method, body: Bytes) -> Response {
    manage(&st, &id, method, body)
}

async fn management_staged(
    State(st): State<St>,
    Path((_stage, id)): Path<(String, String)>,
    method: Method,
    body: Bytes,
) -> Response {
    manage(&st, &id, method, body)
}

fn gone() -> Response {
    (
        StatusCode::GONE,
        [("x-amzn-ErrorType", "GoneException"), ("content-type", "application/json")],
        r#"{"message":"GoneException"}"#,
    )
        .into_response()
}

fn manage(st: &St, id: &str, method: Method, body: Bytes) -> Response {
    let sockets = lock(&st.sockets);
    let Some(socket) = sockets.get(id) else { return gone() };
    match method {
        Method::POST => {
            let text = String::from_utf8_lossy(&body).into_owned();
            if socket.tx.send(Message::Text(text.into())).is_err() {
                return gone();
            }
            StatusCode::OK.into_response()
        }
        Method::GET => {
            let last = *lock(&socket.last_active);
            let body = json!({
                "connectedAt": lobbybee::clock::iso(socket.connected_at),
                "identity": { "sourceIp": socket.source_ip, "userAgent": socket.user_agent },
                "lastActiveAt": lobbybee::clock::iso(last),
            });
            (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
        }
        Method::DELETE => {
            socket.close.notify_one();
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP API and Function URL

/// The payload-v2 event of an HTTP request.
pub fn http_event(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], source_ip: &str) -> Value {
    let mut single: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let value = value.to_str().unwrap_or_default();
        let entry = single.entry(name.as_str().to_owned()).or_insert_with(|| Value::String(String::new()));
        if let Value::String(existing) = entry {
            if existing.is_empty() {
                *existing = value.to_owned();
            } else {
                existing.push(',');
                existing.push_str(value);
            }
        }
    }
    let query = uri.query().unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut qs: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        let entry = qs.entry(k).or_insert_with(|| Value::String(String::new()));
        if let Value::String(existing) = entry {
            if !existing.is_empty() {
                existing.push(',');
            }
            existing.push_str(&v);
        }
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let textual = !content_type.starts_with("multipart/") && std::str::from_utf8(body).is_ok();
    let (body_value, encoded) = if body.is_empty() {
        (Value::Null, false)
    } else if textual {
        (Value::String(String::from_utf8_lossy(body).into_owned()), false)
    } else {
        (Value::String(base64::engine::general_purpose::STANDARD.encode(body)), true)
    };
    let now = Utc::now();
    let domain = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": uri.path(),
        "rawQueryString": query,
        "headers": single,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": domain.split('.').next().unwrap_or(domain),
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": request_time(now),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": encoded,
    });
    if !qs.is_empty() {
        event["queryStringParameters"] = Value::Object(qs);
    }
    if !body_value.is_null() {
        event["body"] = body_value;
    }
    event
}

async fn http_api(State(st): State<St>, ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if !path.starts_with("/api/chat") {
        return (StatusCode::NOT_FOUND, [("content-type", "application/json")], r#"{"error":"Not found"}"#)
            .into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, r#"{"error":"Request body too large"}"#).into_response();
    };
    let event = http_event(&parts.method, &parts.uri, &parts.headers, &bytes, &peer.ip().to_string());
    let request = match serde_json::from_value::<ApiGatewayV2httpRequest>(event) {
        Ok(ev) => lambda_http::Request::from(lambda_http::request::LambdaRequest::ApiGatewayV2(ev)),
        Err(e) => {
            tracing::error!(error = %e, "HTTP event does not deserialise");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let webhook = path.trim_end_matches('/') == "/api/chat/guest-webhook";
    let response = if webhook {
        lobbybee::webhook::handle(&st.app, request).await
    } else {
        lobbybee::rest::handle(&st.app, request).await
    };
    tracing::info!(method = %parts.method, path, status = response.status().as_u16(), "http");
    let (parts, body) = response.into_parts();
    let body = match body {
        lambda_http::Body::Empty => AxumBody::empty(),
        lambda_http::Body::Text(text) => AxumBody::from(text),
        lambda_http::Body::Binary(bytes) => AxumBody::from(bytes),
        _ => AxumBody::empty(),
    };
    Response::from_parts(parts, body)
}

// ---------------------------------------------------------------------------------------------
// Fake WhatsApp Cloud API

async fn fake_whatsapp_send(body: Bytes) -> Response {
    let valid = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("to").cloned()).is_some();
    if !valid {
        return (StatusCode::BAD_REQUEST, r#"{"error":{"message":"Invalid parameter","code":100}}"#).into_response();
    }
    let wamid = format!("wamid.LOCAL{}", uuid::Uuid::new_v4().simple());
    let answer = json!({ "messaging_product": "whatsapp", "messages": [{ "id": wamid }] });
    (StatusCode::OK, [("content-type", "application/json")], answer.to_string()).into_response()
}

/// Graph API media metadata: where to download a media id.
async fn fake_whatsapp_media(headers: HeaderMap, Path((_version, media_id)): Path<(String, String)>) -> Response {
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
async fn fake_whatsapp_download(Path(media_id): Path<String>) -> Response {
    (StatusCode::OK, [("content-type", "image/jpeg")], format!("fake-media-{media_id}")).into_response()
}

// ---------------------------------------------------------------------------------------------
// SQS event source mapping

/// The `SqsEvent` JSON Lambda sends for a batch.
pub fn sqs_event(queue_url: &str, messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let name = queue_url.rsplit('/').next().unwrap_or_default();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone()))).collect())
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{region}:000000000000:{name}"),
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

async fn poll_queue(st: St, binding: QueueBinding, mut stop: watch::Receiver<bool>) {
    let wait = i32::try_from(st.options.poll_wait.as_secs()).unwrap_or(1).clamp(0, 20);
    loop {
        if *stop.borrow() {
            return;
        }
        let receive = st
            .app
            .sqs
            .receive_message()
            .queue_url(&binding.queue_url)
            .max_number_of_messages(binding.batch_size.clamp(1, 10))
            .wait_time_seconds(wait)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send();
        let received = tokio::select! {
            _ = stop.changed() => return,
            r = receive => r,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "receive failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let Ok(event) = serde_json::from_value::<SqsEvent>(sqs_event(&binding.queue_url, &messages)) else {
            tracing::error!("SQS event does not deserialise");
            continue;
        };
        let response = match binding.consumer {
            QueueConsumer::Outbound => lobbybee::outbound::handle_batch(&st.app, event).await,
            QueueConsumer::PushRetry => st.app.delivery.retry_batch(event).await,
        };
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for message in &messages {
            if failed.contains(&message.message_id().unwrap_or_default()) {
                continue;
            }
            if let Some(handle) = message.receipt_handle() {
                let deleted =
                    st.app.sqs.delete_message().queue_url(&binding.queue_url).receipt_handle(handle).send().await;
                if let Err(e) = deleted {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "delete failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Value::Object(map) = value {
            for (k, v) in map {
                let path = format!("{prefix}/{k}");
                out.insert(path.clone());
                if !matches!(
                    k.as_str(),
                    "headers" | "multiValueHeaders" | "queryStringParameters" | "multiValueQueryStringParameters"
                ) {
                    key_paths(v, &path, out);
                }
            }
        }
    }

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures").join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .expect("fixture JSON")
    }

    fn ctx() -> WsContext<'static> {
        WsContext {
            route: "$connect",
            event_type: "CONNECT",
            connection_id: "Bq3vXdFoDoECJdA=",
            connected_at: Utc::now(),
            stage: "local",
            domain: "127.0.0.1:8080",
            source_ip: "127.0.0.1",
            user_agent: Some("test"),
        }
    }

    fn same_shape(ours: &Value, fixture: &Value) {
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        key_paths(ours, "", &mut a);
        key_paths(fixture, "", &mut b);
        assert_eq!(a, b, "event keys differ from the fixture");
    }

    #[test]
    fn events_have_the_fixture_shapes() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        headers.insert("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap());
        let query = vec![("token".to_owned(), "t".to_owned()), ("department".to_owned(), "Room Service".to_owned())];
        let connect = connect_event(&headers, &query, &ctx());
        same_shape(&connect, &fixture("apigw-ws-connect.json"));
        assert_eq!(connect["headers"]["Sec-WebSocket-Key"], "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(connect["multiValueQueryStringParameters"]["department"], json!(["Room Service"]));
        let parsed: ApiGatewayWebsocketProxyRequest = serde_json::from_value(connect).unwrap();
        assert_eq!(parsed.query_string_parameters.first("department"), Some("Room Service"));
        assert_eq!(parsed.request_context.connection_id.as_deref(), Some("Bq3vXdFoDoECJdA="));

        let message =
            message_event(r#"{"type":"ping"}"#, &WsContext { route: "$default", event_type: "MESSAGE", ..ctx() });
        same_shape(&message, &fixture("apigw-ws-message.json"));
        let _: ApiGatewayWebsocketProxyRequest = serde_json::from_value(message).unwrap();

        let disconnect = disconnect_event(
            &WsContext { route: "$disconnect", event_type: "DISCONNECT", ..ctx() },
            1001,
            "Going away",
        );
        same_shape(&disconnect, &fixture("apigw-ws-disconnect.json"));
        let _: ApiGatewayWebsocketProxyRequest = serde_json::from_value(disconnect).unwrap();
    }

    #[test]
    fn the_handlers_accept_the_fixtures() {
        for name in ["apigw-ws-connect.json", "apigw-ws-message.json", "apigw-ws-disconnect.json"] {
            let event: ApiGatewayWebsocketProxyRequest = serde_json::from_value(fixture(name)).unwrap();
            assert_eq!(event.request_context.connection_id.as_deref(), Some("Bq3vXdFoDoECJdA="), "{name}");
        }
    }

    #[test]
    fn http_events_become_lambda_requests() {
        use lambda_http::RequestExt;
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:8080".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        let uri: Uri = "/api/chat/conversations/?status=all&limit=5".parse().unwrap();
        let event = http_event(&Method::GET, &uri, &headers, b"", "127.0.0.1");
        let parsed: ApiGatewayV2httpRequest = serde_json::from_value(event).unwrap();
        let request = lambda_http::Request::from(lambda_http::request::LambdaRequest::ApiGatewayV2(parsed));
        assert_eq!(request.uri().path(), "/api/chat/conversations/");
        assert_eq!(request.query_string_parameters().first("status"), Some("all"));
        let binary = http_event(&Method::POST, &uri, &headers, &[0xff, 0x00], "127.0.0.1");
        assert_eq!(binary["isBase64Encoded"], true);
    }

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical_header("sec-websocket-key"), "Sec-WebSocket-Key");
        assert_eq!(canonical_header("x-amzn-trace-id"), "X-Amzn-Trace-Id");
        assert_eq!(canonical_header("host"), "Host");
    }
}
