//! The local API Gateway: one port that serves what AWS serves in front of the functions, and
//! calls the very handler code the Lambdas run.
//!
//! - **WebSocket API** at `/` (and `/{stage}`) with query parameters, and at the Django-style
//!   paths `/ws/chat/`, `/ws/chat/{department}/` and `/ws/guest/{whatsapp_number}/`, whose path
//!   parameters become the same query parameters. The handshake is held until `$connect`
//!   answers and refused with its status when that is not 2xx; every text frame is a `$default`
//!   event (in order per socket, sockets in parallel); closing, the idle timeout, the maximum
//!   lifetime, a management `DELETE` and shutdown end in exactly one `$disconnect`.
//! - **Management API** (`POST/GET/DELETE /@connections/{id}`, also under `/{stage}/`) for the
//!   real `aws-sdk-apigatewaymanagement` client; unknown ids answer `410 GoneException`.
//! - **Function URL** of the guest webhook at `/api/chat/guest-webhook/` and the **HTTP API**
//!   for everything else under `/api/chat/`: payload-v2 events turned into `lambda_http`
//!   requests exactly the way the Lambda runtime does.
//! - **SQS event source mappings**: long-polls the bound queues and invokes the consumers with
//!   `SqsEvent` batches, deleting only the records not reported in `batchItemFailures`.
//! - **Schedules**: the `outbound-sweeper` on a timer, as EventBridge runs it.
//! - A **fake WhatsApp Cloud API** under `/_fake/whatsapp/`, so staff replies complete locally.
//! - The **staff console** at `/console/` ([`console`]) and, when started with [`LocalTools`]
//!   ([`start_with_tools`]), the **local-only endpoints** under `/_local/` ([`local`]): demo
//!   tokens, signed guest messages and statuses, the guest's inbox, dropping every socket.
//! - `GET /health` answers `ok`; anything else is `404 {"error":"Not found"}`.
//!
//! Events are built as JSON first, in AWS's exact shapes ([`events`]), and read back through
//! the deserialisers the Lambda runtime uses, so the handlers see what they would see on AWS.
//!
//! ```no_run
//! # async fn demo(app: lobbybee::app::App) -> std::io::Result<()> {
//! use lobbybee_local::gateway::{self, GatewayOptions};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let gateway = gateway::start(app, listener, GatewayOptions::default()).await?;
//! println!("{} {}", gateway.ws_url(), gateway.http_base());
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```

pub mod console;
pub mod events;
pub mod fake_whatsapp;
mod http_api;
pub mod local;
pub mod paths;
mod schedule;
mod sockets;
mod sqs;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use lobbybee::app::App;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use events::API_ID;
pub use local::LocalTools;
use paths::Route;

/// Which function a queue feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueConsumer {
    /// `outbound-sender`: `lobbybee::outbound::handle_batch`.
    Outbound,
    /// `push-retry`: `lobbybee::push_retry::handle_batch`.
    PushRetry,
}

/// An SQS event source mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueBinding {
    /// Queue to poll.
    pub queue_url: String,
    /// Function to invoke.
    pub consumer: QueueConsumer,
    /// Records per batch (clamped to SQS's 1–10).
    pub batch_size: i32,
}

/// Gateway settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayOptions {
    /// Stage name in events and in the management path (`/{stage}/@connections/{id}`).
    pub stage: String,
    /// Close sockets without a client frame for this long (API Gateway: 10 minutes).
    pub idle_timeout: Duration,
    /// Close sockets this long after they connected (API Gateway: 2 hours).
    pub max_lifetime: Duration,
    /// Queues to poll (bindings with an empty URL are skipped).
    pub queues: Vec<QueueBinding>,
    /// Long-poll wait of `ReceiveMessage` (rounded up to whole seconds, at most 20; zero means
    /// short polling with a pause between empty polls).
    pub poll_wait: Duration,
    /// Run the `outbound-sweeper` this often (template.yaml: every 5 minutes); `None`: never.
    pub sweep_every: Option<Duration>,
}

impl Default for GatewayOptions {
    /// API Gateway's limits, stage `local`, no queues, one-second long polls.
    fn default() -> Self {
        GatewayOptions {
            stage: "local".into(),
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(7200),
            queues: Vec::new(),
            poll_wait: Duration::from_secs(1),
            sweep_every: None,
        }
    }
}

impl GatewayOptions {
    /// API Gateway's own settings (see [`Default`]) with the stack's two queues bound to their
    /// consumers, ten records a batch, as `template.yaml` deploys them.
    pub fn like_aws(resources: &crate::bootstrap::LocalResources) -> Self {
        let binding =
            |queue_url: &str, consumer| QueueBinding { queue_url: queue_url.to_owned(), consumer, batch_size: 10 };
        GatewayOptions {
            queues: vec![
                binding(&resources.outbound_queue_url, QueueConsumer::Outbound),
                binding(&resources.push_retry_queue_url, QueueConsumer::PushRetry),
            ],
            sweep_every: Some(Duration::from_secs(300)),
            ..GatewayOptions::default()
        }
    }
}

/// A running gateway. [`Gateway::shutdown`] stops it; dropping it stops it too, without waiting.
pub struct Gateway {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    shared: St,
    server: JoinHandle<()>,
    pollers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Gateway {
    /// `ws://127.0.0.1:PORT`, the WebSocket API (append `/?token=…` or a Django-style path).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`, the HTTP API, Function URL and management API.
    pub fn http_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/{stage}`, the endpoint the management client is configured with
    /// (`WS_ENDPOINT`).
    pub fn management_endpoint(&self) -> String {
        format!("http://{}/{}", self.addr, self.shared.options.stage)
    }

    /// Sockets currently open.
    pub fn open_sockets(&self) -> usize {
        self.shared.sockets.len()
    }

    /// Makes the Management API answer the next `count` pushes to `connection_id` with 500, as
    /// API Gateway does when it fails (fault injection for tests).
    pub fn fail_pushes_to(&self, connection_id: &str, count: usize) {
        if let Ok(mut faults) = self.shared.push_faults.0.lock() {
            faults.insert(connection_id.to_owned(), count);
        }
    }

    /// What the fake WhatsApp Cloud API accepted, oldest first (also at `GET /_fake/whatsapp/_sent`).
    pub fn whatsapp(&self) -> &fake_whatsapp::SentLog {
        &self.shared.whatsapp
    }

    /// Stops accepting, closes every socket (`1001 Going away`, each with its `$disconnect`),
    /// stops the queue pollers (a batch in progress completes) and waits for all of it, a few
    /// seconds at most.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        self.shared.sockets.wait_finished(Duration::from_secs(5)).await;
        join_or_abort(self.server, Duration::from_secs(5)).await;
        for poller in self.pollers {
            join_or_abort(poller, Duration::from_secs(10)).await;
        }
        tracing::info!(addr = %self.addr, "local gateway stopped");
    }
}

async fn join_or_abort(task: JoinHandle<()>, limit: Duration) {
    let abort = task.abort_handle();
    if tokio::time::timeout(limit, task).await.is_err() {
        abort.abort();
    }
}

/// What every request handler shares.
struct Shared {
    app: App,
    options: GatewayOptions,
    addr: SocketAddr,
    sockets: sockets::Registry,
    whatsapp: fake_whatsapp::SentLog,
    push_faults: PushFaults,
    stop: watch::Receiver<bool>,
    local: Option<LocalTools>,
}

/// Pushes to be failed, per connection (fault injection for tests).
#[derive(Debug, Default)]
struct PushFaults(std::sync::Mutex<std::collections::HashMap<String, usize>>);

impl PushFaults {
    /// Whether the next push to `connection_id` is to fail (and counts it).
    fn take(&self, connection_id: &str) -> bool {
        let Ok(mut faults) = self.0.lock() else { return false };
        match faults.get_mut(connection_id) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

type St = Arc<Shared>;

/// Starts the gateway on `listener` and one poller per queue binding, and returns at once.
pub async fn start(app: App, listener: tokio::net::TcpListener, options: GatewayOptions) -> std::io::Result<Gateway> {
    start_with_tools(app, listener, options, None).await
}

/// [`start`], with the local-only endpoints under `/_local/` when `tools` are given.
pub async fn start_with_tools(
    app: App,
    listener: tokio::net::TcpListener,
    options: GatewayOptions,
    tools: Option<LocalTools>,
) -> std::io::Result<Gateway> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let shared = Arc::new(Shared {
        app,
        options: options.clone(),
        addr,
        sockets: sockets::Registry::default(),
        whatsapp: fake_whatsapp::SentLog::default(),
        push_faults: PushFaults::default(),
        stop: stopped.clone(),
        local: tools,
    });
    let service = router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move { until_stopped(&mut server_stop).await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "local gateway server failed");
        }
    });
    let mut pollers: Vec<_> = options
        .queues
        .iter()
        .filter(|b| !b.queue_url.is_empty())
        .map(|binding| tokio::spawn(sqs::poll(shared.clone(), binding.clone(), stopped.clone())))
        .collect();
    if let Some(period) = options.sweep_every {
        pollers.push(tokio::spawn(schedule::sweep_every(shared.clone(), period, stopped.clone())));
    }
    tracing::info!(%addr, stage = options.stage, "local gateway listening");
    Ok(Gateway { addr, stop, shared, server, pollers })
}

fn router(st: St) -> Router {
    Router::new()
        .merge(fake_whatsapp::routes(st.whatsapp.clone()))
        .merge(console::routes())
        .merge(local::routes())
        .fallback(dispatch)
        .layer(axum::middleware::from_fn(log_request))
        .with_state(st)
}

async fn dispatch(State(st): State<St>, ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request) -> Response {
    match paths::route(request.uri().path(), &st.options.stage) {
        Route::Health => (StatusCode::OK, "ok").into_response(),
        Route::Socket(_) if local::holding(&st) => {
            json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({ "message": "Service Unavailable" }))
        }
        Route::Socket(params) => sockets::upgrade(st, peer, request, params).await,
        Route::Management(id) => {
            let method = request.method().clone();
            sockets::manage(&st, &method, &id, request.into_body()).await
        }
        Route::FunctionUrl => http_api::invoke(st, peer, request, http_api::Function::Webhook).await,
        Route::HttpApi => http_api::invoke(st, peer, request, http_api::Function::Rest).await,
        Route::NotFound => json_response(StatusCode::NOT_FOUND, &json!({ "error": "Not found" })),
    }
}

/// Logs method, path (never the query string: it carries tokens), status and duration.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = paths::log_path(request.uri().path()).to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if path == "/health" || path.contains("/@connections/") {
        tracing::debug!(%method, path, status, ms, "request");
    } else {
        tracing::info!(%method, path, status, ms, "request");
    }
    response
}

/// Completes when the gateway stops (or its [`Gateway`] was dropped).
async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Runs the handler of `function` (its crate name, as `template.yaml` builds it), with its AWS
/// calls attributed to it ([`lobbybee::calls::FUNCTION`]); a panic is logged and reported as
/// `None`, as Lambda reports a crashed invocation instead of taking the gateway down.
async fn guarded<F: Future>(function: &'static str, handler: F) -> Option<F::Output> {
    let handler = lobbybee::calls::FUNCTION.scope(function, handler);
    match std::panic::AssertUnwindSafe(handler).catch_unwind().await {
        Ok(output) => Some(output),
        Err(_) => {
            tracing::error!(function, "handler panicked");
            None
        }
    }
}

/// Reads an event the way the Lambda runtime does: from the serialised JSON.
fn parse_event<T: DeserializeOwned>(event: &Value) -> Option<T> {
    let parsed = serde_json::to_vec(event).and_then(|bytes| serde_json::from_slice(&bytes));
    parsed
        .map_err(|e| tracing::error!(error = %e, event = std::any::type_name::<T>(), "event does not deserialise"))
        .ok()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// An AWS JSON error the SDKs map by `x-amzn-ErrorType`.
fn aws_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let headers =
        [(header::CONTENT_TYPE, "application/json"), (HeaderName::from_static("x-amzn-errortype"), error_type)];
    (status, headers, json!({ "message": message }).to_string()).into_response()
}

/// The Host header when it is a plain `host[:port]` (name, IPv4 or bracketed IPv6).
fn valid_host(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    is_valid_host(host).then(|| host.to_owned())
}

fn is_valid_host(host: &str) -> bool {
    let (name_ok, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let Some((address, tail)) = rest.split_once(']') else { return false };
            let address_ok =
                !address.is_empty() && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            match tail {
                "" => (address_ok, None),
                _ => match tail.strip_prefix(':') {
                    Some(port) => (address_ok, Some(port)),
                    None => return false,
                },
            }
        }
        None => {
            let (name, port) = match host.split_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            };
            let labels_ok = name.split('.').all(|label| {
                !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
            // A name whose last label is numeric is read as an IPv4 address: it must be one.
            let last_numeric = name.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
            let ipv4_ok = !last_numeric || name.parse::<std::net::Ipv4Addr>().is_ok();
            (labels_ok && ipv4_ok && name.len() <= 253, port)
        }
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok());
    name_ok && port_ok
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest};
    use aws_lambda_events::event::sqs::SqsEvent;
    use axum::http::{HeaderValue, Method, Uri, Version};
    use base64::Engine;
    use chrono::{TimeZone, Utc};
    use lambda_http::RequestExt;
    use lambda_http::request::{LambdaRequest, RequestContext};

    use super::events::{self, HttpRequestInfo, SocketInfo};
    use super::paths::{self, Route};
    use super::*;

    const ACCOUNT: &str = events::ACCOUNT_ID;

    /// `tests/fixtures/{name}` of this repository.
    fn fixture(name: &str) -> Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Value::Object(map) = value {
            for (k, v) in map {
                let path = format!("{prefix}/{k}");
                key_paths(v, &path, out);
                out.insert(path);
            }
        }
    }

    fn assert_same_keys(ours: &Value, fixture: &Value) {
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        key_paths(ours, "", &mut a);
        key_paths(fixture, "", &mut b);
        let extra: Vec<_> = a.difference(&b).collect();
        let missing: Vec<_> = b.difference(&a).collect();
        assert!(extra.is_empty() && missing.is_empty(), "keys not in the fixture: {extra:?}; missing: {missing:?}");
    }

    fn socket() -> SocketInfo {
        SocketInfo {
            connection_id: "Bq3vXdFoDoECJdA=".into(),
            connected_at: Utc.timestamp_millis_opt(1_795_514_531_000).unwrap(),
            stage: "local".into(),
            domain: "127.0.0.1:8080".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: Some("Mozilla/5.0".into()),
        }
    }

    fn now() -> chrono::DateTime<Utc> {
        Utc.timestamp_millis_opt(1_795_514_531_012).unwrap()
    }

    /// The headers a browser's upgrade request carries that the fixture shows (and the
    /// hop-by-hop ones API Gateway drops).
    fn upgrade_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "127.0.0.1:8080"),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-extensions", "permessage-deflate; client_max_window_bits"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        events::with_forwarding_headers(&headers, "127.0.0.1", 8080, "http", now())
    }

    #[test]
    fn the_connect_event_has_the_fixture_shape_and_deserialises() {
        let query = vec![("token".to_owned(), "t".to_owned()), ("department".to_owned(), "Room Service".to_owned())];
        let connect = events::connect_event(&socket(), &upgrade_headers(), &query, now());
        assert_same_keys(&connect, &fixture("apigw-ws-connect.json"));
        assert_eq!(connect["headers"]["Sec-WebSocket-Key"], "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(connect["headers"]["X-Forwarded-For"], "127.0.0.1");
        assert_eq!(connect["multiValueHeaders"]["X-Forwarded-Port"], json!(["8080"]));
        assert_eq!(connect["multiValueQueryStringParameters"]["department"], json!(["Room Service"]));
        assert_eq!(connect["requestContext"]["requestTime"], "24/Nov/2026:10:02:11 +0000");
        assert_eq!(connect["requestContext"]["connectedAt"], 1_795_514_531_000_i64);
        assert_eq!(connect["requestContext"]["requestTimeEpoch"], 1_795_514_531_012_i64);
        assert_eq!(connect["requestContext"]["requestId"], connect["requestContext"]["extendedRequestId"]);

        let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&connect).unwrap();
        assert_eq!(parsed.query_string_parameters.first("department"), Some("Room Service"));
        assert_eq!(parsed.query_string_parameters.first("token"), Some("t"));
        assert_eq!(parsed.headers.get("sec-websocket-key").unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert!(parsed.headers.get("connection").is_none());
        let ctx = &parsed.request_context;
        assert_eq!(ctx.connection_id.as_deref(), Some("Bq3vXdFoDoECJdA="));
        assert_eq!(ctx.route_key.as_deref(), Some("$connect"));
        assert_eq!(ctx.event_type.as_deref(), Some("CONNECT"));
        assert_eq!(ctx.stage.as_deref(), Some("local"));
        assert_eq!(ctx.domain_name.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(ctx.apiid.as_deref(), Some(API_ID));
        assert_eq!(ctx.connected_at, 1_795_514_531_000);
        assert_eq!(ctx.identity.source_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(ctx.identity.user_agent.as_deref(), Some("Mozilla/5.0"));
    }

    #[test]
    fn a_connect_without_query_leaves_the_query_maps_out() {
        let connect = events::connect_event(&socket(), &upgrade_headers(), &[], now());
        assert!(connect.get("queryStringParameters").is_none());
        assert!(connect.get("multiValueQueryStringParameters").is_none());
        let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&connect).unwrap();
        assert!(parsed.query_string_parameters.is_empty());
    }

    #[test]
    fn the_message_event_has_the_fixture_shape_and_deserialises() {
        let body = r#"{"type":"text","conversation_id":1,"content":"Towels are on the way"}"#;
        let message = events::message_event(&socket(), body, now());
        assert_same_keys(&message, &fixture("apigw-ws-message.json"));
        let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&message).unwrap();
        assert_eq!(parsed.body.as_deref(), Some(body));
        assert_eq!(parsed.request_context.route_key.as_deref(), Some("$default"));
        assert_eq!(parsed.request_context.event_type.as_deref(), Some("MESSAGE"));
        assert!(parsed.request_context.message_id.is_some());
        assert!(parsed.request_context.identity.user_agent.is_none());
    }

    #[test]
    fn the_disconnect_event_has_the_fixture_shape_and_deserialises() {
        let disconnect = events::disconnect_event(&socket(), 1001, "Going away", now());
        assert_same_keys(&disconnect, &fixture("apigw-ws-disconnect.json"));
        let parsed: ApiGatewayWebsocketProxyRequest = parse_event(&disconnect).unwrap();
        assert_eq!(parsed.request_context.route_key.as_deref(), Some("$disconnect"));
        assert_eq!(parsed.request_context.event_type.as_deref(), Some("DISCONNECT"));
        assert_eq!(parsed.request_context.disconnect_status_code, Some(1001));
        assert_eq!(parsed.request_context.disconnect_reason.as_deref(), Some("Going away"));
        assert_eq!(parsed.headers.get("host").unwrap(), "127.0.0.1:8080");
    }

    #[test]
    fn the_fixtures_deserialise() {
        for name in ["apigw-ws-connect.json", "apigw-ws-message.json", "apigw-ws-disconnect.json"] {
            let event: ApiGatewayWebsocketProxyRequest = parse_event(&fixture(name)).unwrap();
            assert_eq!(event.request_context.connection_id.as_deref(), Some("Bq3vXdFoDoECJdA="), "{name}");
        }
    }

    #[test]
    fn ids_look_like_api_gateway_ids() {
        let ids: BTreeSet<String> = (0..200).map(|_| events::new_id()).collect();
        assert_eq!(ids.len(), 200);
        for id in &ids {
            assert_eq!(id.len(), 16, "{id}");
            assert!(id.ends_with('=') && !id[..15].contains('='), "{id}");
            assert!(!id.contains(['+', '/']), "{id}");
            let bytes = base64::engine::general_purpose::URL_SAFE.decode(id).unwrap();
            assert_eq!(bytes.len(), 11);
        }
    }

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(events::canonical_header("sec-websocket-key"), "Sec-WebSocket-Key");
        assert_eq!(events::canonical_header("x-amzn-trace-id"), "X-Amzn-Trace-Id");
        assert_eq!(events::canonical_header("host"), "Host");
        assert_eq!(events::canonical_header("x-forwarded-for"), "X-Forwarded-For");
    }

    #[test]
    fn forwarding_headers_are_added_like_api_gateway() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        headers.insert("x-amzn-trace-id", HeaderValue::from_static("Root=1-abc"));
        headers.insert("connection", HeaderValue::from_static("keep-alive"));
        let out = events::with_forwarding_headers(&headers, "127.0.0.1", 9000, "http", now());
        assert_eq!(out["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(out["x-forwarded-proto"], "http");
        assert_eq!(out["x-forwarded-port"], "9000");
        assert_eq!(out["x-amzn-trace-id"], "Root=1-abc");
        assert!(!out.contains_key("connection"));
        let fresh = events::with_forwarding_headers(&HeaderMap::new(), "127.0.0.1", 9000, "http", now());
        let trace = fresh["x-amzn-trace-id"].to_str().unwrap();
        assert!(trace.starts_with(&format!("Root=1-{:08x}-", now().timestamp())) && trace.len() == 7 + 8 + 1 + 24);
    }

    #[test]
    fn django_paths_map_onto_query_parameters() {
        let pair = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(paths::route("/", "local"), Route::Socket(vec![]));
        assert_eq!(paths::route("/local", "local"), Route::Socket(vec![]));
        assert_eq!(paths::route("/local/", "local"), Route::Socket(vec![]));
        assert_eq!(paths::route("/ws/chat/", "local"), Route::Socket(vec![]));
        assert_eq!(paths::route("/ws/chat", "local"), Route::Socket(vec![]));
        assert_eq!(paths::route("/ws/chat/Reception/", "local"), Route::Socket(pair("department", "Reception")));
        assert_eq!(paths::route("/ws/chat/Room%20Service", "local"), Route::Socket(pair("department", "Room Service")));
        assert_eq!(paths::route("/ws/chat/Caf%C3%A9/", "local"), Route::Socket(pair("department", "Café")));
        assert_eq!(
            paths::route("/ws/guest/%2B919876543210/", "local"),
            Route::Socket(pair("whatsapp_number", "+919876543210"))
        );
        assert_eq!(
            paths::route("/ws/guest/+919876543210", "local"),
            Route::Socket(pair("whatsapp_number", "+919876543210"))
        );
        for not_a_socket in ["/ws/chat//", "/ws/guest/", "/ws/chat/a/b/", "/ws", "/other", "//", "/prod"] {
            assert_eq!(paths::route(not_a_socket, "local"), Route::NotFound, "{not_a_socket}");
        }
        assert_eq!(
            paths::query_pairs(Some("token=a.b.c&department=Room+Service&x=%41")),
            vec![
                ("token".to_owned(), "a.b.c".to_owned()),
                ("department".to_owned(), "Room Service".to_owned()),
                ("x".to_owned(), "A".to_owned()),
            ]
        );
        assert!(paths::query_pairs(None).is_empty());
        assert_eq!(paths::log_path("/ws/guest/+15551234567/"), "/ws/guest/{whatsapp_number}/");
        assert_eq!(paths::log_path("/ws/chat/Reception/"), "/ws/chat/Reception/");
    }

    #[test]
    fn other_paths_are_classified() {
        assert_eq!(paths::route("/health", "local"), Route::Health);
        assert_eq!(paths::route("/api/chat/guest-webhook/", "local"), Route::FunctionUrl);
        assert_eq!(paths::route("/api/chat/guest-webhook", "local"), Route::FunctionUrl);
        assert_eq!(paths::route("/api/chat/conversations/", "local"), Route::HttpApi);
        assert_eq!(paths::route("/api/chat", "local"), Route::HttpApi);
        assert_eq!(paths::route("/api/chatter", "local"), Route::NotFound);
        assert_eq!(paths::route("/api/other/", "local"), Route::NotFound);
    }

    #[test]
    fn connection_ids_are_decoded_from_management_paths() {
        let id = |path: &str| paths::management_connection_id(path);
        assert_eq!(id("/@connections/Bq3vXdFoDoECJdA%3D").as_deref(), Some("Bq3vXdFoDoECJdA="));
        assert_eq!(id("/local/@connections/Bq3vXdFoDoECJdA%3d").as_deref(), Some("Bq3vXdFoDoECJdA="));
        assert_eq!(id("/prod/@connections/Bq3vXdFoDoECJdA=").as_deref(), Some("Bq3vXdFoDoECJdA="));
        assert_eq!(id("/local/@connections/a-b_c%2Bd").as_deref(), Some("a-b_c+d"));
        assert_eq!(id("/@connections/"), None);
        assert_eq!(id("//@connections/x"), None);
        assert_eq!(id("/a/b/@connections/x"), None);
        assert_eq!(id("/@connections/x/y"), None);
        assert_eq!(paths::route("/local/@connections/x%3D", "local"), Route::Management("x=".into()));
    }

    #[test]
    fn hosts_are_validated() {
        for good in
            ["127.0.0.1:8080", "localhost", "abc123defg.execute-api.eu-west-1.amazonaws.com", "[::1]:8080", "[::1]"]
        {
            assert!(is_valid_host(good), "{good}");
        }
        for bad in ["", ":80", "a b", "a:b", "1.2.3.999", "host:99999", "user@host", "[::1", "[::1]x", "a..b", "h/x"] {
            assert!(!is_valid_host(bad), "{bad}");
        }
    }

    fn http_request(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        account_id: &'static str,
    ) -> (Value, lambda_http::Request) {
        let headers = events::with_forwarding_headers(headers, "127.0.0.1", 8080, "http", now());
        let info = HttpRequestInfo {
            method,
            uri,
            version: Version::HTTP_11,
            headers: &headers,
            body,
            source_ip: "127.0.0.1",
            domain: "127.0.0.1:8080",
            account_id,
            request_id: "LV7fzho-PHcEJPw=",
        };
        let event = events::http_event(&info, now());
        let lambda: LambdaRequest = parse_event(&event).unwrap();
        assert!(matches!(lambda, LambdaRequest::ApiGatewayV2(_)));
        (event, lambda_http::Request::from(lambda))
    }

    #[test]
    fn http_events_become_the_requests_lambda_http_builds() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("authorization", HeaderValue::from_static("Bearer x.y.z"));
        headers.append("accept", HeaderValue::from_static("text/html"));
        headers.append("accept", HeaderValue::from_static("application/json"));
        headers.insert("cookie", HeaderValue::from_static("a=1; b=2"));
        let uri: Uri = "/api/chat/conversations/?status=all&limit=5&tag=x&tag=y&q=Room+Service".parse().unwrap();
        let (event, request) = http_request(&Method::POST, &uri, &headers, br#"{"a":1}"#, ACCOUNT);
        assert_eq!(event["headers"]["accept"], "text/html,application/json");
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["queryStringParameters"]["tag"], "x,y");
        assert_eq!(event["rawQueryString"], "status=all&limit=5&tag=x&tag=y&q=Room+Service");
        assert_eq!(event["requestContext"]["time"], "24/Nov/2026:10:02:11 +0000");
        assert_eq!(event["requestContext"]["timeEpoch"], 1_795_514_531_012_i64);
        assert_eq!(event["requestContext"]["domainPrefix"], "127");
        assert_eq!(event["body"], r#"{"a":1}"#);
        assert_eq!(event["isBase64Encoded"], false);

        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().path(), "/api/chat/conversations/");
        assert_eq!(request.uri().host(), Some("127.0.0.1"));
        assert_eq!(request.uri().query(), Some("status=all&limit=5&tag=x&tag=y&q=Room+Service"));
        assert_eq!(request.raw_http_path(), "/api/chat/conversations/");
        let query = request.query_string_parameters();
        assert_eq!(query.first("status"), Some("all"));
        assert_eq!(query.all("tag"), Some(vec!["x", "y"]));
        assert_eq!(query.first("q"), Some("Room Service"));
        assert_eq!(request.headers()["cookie"], "a=1; b=2");
        assert_eq!(request.headers()["authorization"], "Bearer x.y.z");
        assert_eq!(request.headers()["x-forwarded-proto"], "http");
        assert_eq!(request.body().as_ref(), br#"{"a":1}"#);
        match request.request_context() {
            RequestContext::ApiGatewayV2(ctx) => {
                assert_eq!(ctx.http.method, Method::POST);
                assert_eq!(ctx.http.source_ip.as_deref(), Some("127.0.0.1"));
                assert_eq!(ctx.stage.as_deref(), Some("$default"));
                assert_eq!(ctx.request_id.as_deref(), Some("LV7fzho-PHcEJPw="));
                assert_eq!(ctx.account_id.as_deref(), Some(ACCOUNT));
            }
            other => panic!("unexpected context {other:?}"),
        }
    }

    #[test]
    fn binary_and_multipart_bodies_are_base64_encoded() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
        let uri: Uri = "/api/chat/guest-webhook/".parse().unwrap();
        let (event, request) = http_request(&Method::POST, &uri, &headers, &[0xff, 0x00, 0x41], "anonymous");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "/wBB");
        assert!(event.get("queryStringParameters").is_none());
        assert!(event.get("cookies").is_none());
        assert_eq!(request.body().as_ref(), &[0xff, 0x00, 0x41]);
        assert!(request.query_string_parameters().is_empty());

        headers.insert("content-type", HeaderValue::from_static("multipart/form-data; boundary=x"));
        let (event, request) = http_request(&Method::POST, &uri, &headers, b"--x\r\n", "anonymous");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(request.body().as_ref(), b"--x\r\n");

        let (event, request) = http_request(&Method::GET, &uri, &HeaderMap::new(), b"", "anonymous");
        assert!(event.get("body").is_none());
        assert!(request.body().is_empty());
        assert_eq!(request.uri().host(), Some("127.0.0.1"), "falls back on requestContext.domainName");

        assert!(events::is_text_content_type(None));
        assert!(events::is_text_content_type(Some("application/json; charset=utf-8")));
        assert!(events::is_text_content_type(Some("application/vnd.api+json")));
        assert!(events::is_text_content_type(Some("text/plain")));
        assert!(!events::is_text_content_type(Some("image/jpeg")));
        assert!(!events::is_text_content_type(Some("application/octet-stream")));
    }

    #[test]
    fn the_http_event_has_api_gateways_v2_shape() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert("user-agent", HeaderValue::from_static("curl/8"));
        let uri: Uri = "/api/chat/conversations/".parse().unwrap();
        let (event, _) = http_request(&Method::GET, &uri, &headers, b"", ACCOUNT);
        let parsed: ApiGatewayV2httpRequest = parse_event(&event).unwrap();
        assert_eq!(parsed.version.as_deref(), Some("2.0"));
        assert_eq!(parsed.route_key.as_deref(), Some("$default"));
        assert_eq!(parsed.raw_path.as_deref(), Some("/api/chat/conversations/"));
        assert_eq!(parsed.request_context.http.protocol.as_deref(), Some("HTTP/1.1"));
        assert_eq!(parsed.request_context.http.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(parsed.request_context.route_key.as_deref(), Some("$default"));
        assert_eq!(parsed.request_context.apiid.as_deref(), Some(API_ID));
        let mut keys = BTreeSet::new();
        key_paths(&event, "", &mut keys);
        for key in [
            "/version",
            "/routeKey",
            "/rawPath",
            "/rawQueryString",
            "/headers/x-forwarded-for",
            "/headers/x-forwarded-port",
            "/headers/x-forwarded-proto",
            "/headers/x-amzn-trace-id",
            "/requestContext/accountId",
            "/requestContext/domainName",
            "/requestContext/domainPrefix",
            "/requestContext/http/method",
            "/requestContext/http/path",
            "/requestContext/http/sourceIp",
            "/requestContext/requestId",
            "/requestContext/stage",
            "/requestContext/time",
            "/requestContext/timeEpoch",
            "/isBase64Encoded",
        ] {
            assert!(keys.contains(key), "{key} missing");
        }
    }

    #[test]
    fn sqs_batches_have_lambdas_shape() {
        use aws_sdk_sqs::types::{Message, MessageAttributeValue, MessageSystemAttributeName as A};
        let message = Message::builder()
            .message_id("m-1")
            .receipt_handle("rh-1")
            .body(r#"{"job":1}"#)
            .md5_of_body("d41d8cd98f00b204e9800998ecf8427e")
            .md5_of_message_attributes("582c92c5c5b6ac403040a4f3ab3115c9")
            .attributes(A::ApproximateReceiveCount, "2")
            .attributes(A::SentTimestamp, "1520621625029")
            .attributes(A::SenderId, "AROAIWPX5BD2BHG722MW4:sender")
            .attributes(A::ApproximateFirstReceiveTimestamp, "1520621634884")
            .attributes(A::DeadLetterQueueSourceArn, "arn:aws:sqs:us-east-1:000000000000:x")
            .message_attributes(
                "kind",
                MessageAttributeValue::builder().data_type("String").string_value("text").build().unwrap(),
            )
            .message_attributes(
                "raw",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(aws_sdk_sqs::primitives::Blob::new(b"1100".to_vec()))
                    .build()
                    .unwrap(),
            )
            .build();
        let bare = Message::builder().message_id("m-2").receipt_handle("rh-2").body("x").build();
        let url = "http://127.0.0.1:4566/000000000000/e2e-outbound";
        let event = events::sqs_event(url, "eu-west-1", &[message, bare]);
        let record = &event["Records"][0];
        assert_eq!(record["eventSourceARN"], "arn:aws:sqs:eu-west-1:000000000000:e2e-outbound");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(record["awsRegion"], "eu-west-1");
        assert!(record["attributes"].get("DeadLetterQueueSourceArn").is_none());
        assert_eq!(record["messageAttributes"]["raw"]["binaryValue"], "MTEwMA==");
        assert_eq!(
            record["messageAttributes"]["kind"],
            json!({"stringValue": "text", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
        );
        assert!(event["Records"][1].get("md5OfMessageAttributes").is_none());

        let parsed: SqsEvent = parse_event(&event).unwrap();
        assert_eq!(parsed.records.len(), 2);
        let first = &parsed.records[0];
        assert_eq!(first.message_id.as_deref(), Some("m-1"));
        assert_eq!(first.receipt_handle.as_deref(), Some("rh-1"));
        assert_eq!(first.body.as_deref(), Some(r#"{"job":1}"#));
        assert_eq!(first.attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));
        assert_eq!(first.attributes.len(), 4);
        assert_eq!(first.message_attributes["kind"].string_value.as_deref(), Some("text"));
        assert_eq!(first.event_source_arn.as_deref(), Some("arn:aws:sqs:eu-west-1:000000000000:e2e-outbound"));

        // The Lambda fixture's keys, record by record.
        let lambda_record = json!({
            "messageId": "", "receiptHandle": "", "body": "", "md5OfBody": "", "md5OfMessageAttributes": "",
            "eventSourceARN": "", "eventSource": "", "awsRegion": "",
            "attributes": { "ApproximateReceiveCount": "", "SentTimestamp": "", "SenderId": "",
                            "ApproximateFirstReceiveTimestamp": "" },
            "messageAttributes": {
                "kind": { "stringValue": "", "stringListValues": [], "binaryListValues": [], "dataType": "" },
                "raw": { "binaryValue": "", "stringListValues": [], "binaryListValues": [], "dataType": "" },
            },
        });
        assert_same_keys(record, &lambda_record);
        assert_eq!(
            events::queue_arn("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
            "arn:aws:sqs:eu-west-1:123456789012:q"
        );
        assert_eq!(
            events::queue_arn("http://localhost:4566/queue/q", "us-east-1"),
            "arn:aws:sqs:us-east-1:000000000000:q"
        );
    }

    // -----------------------------------------------------------------------------------------
    // The server itself, with handlers that answer without AWS (refusals and unknown ids).

    fn offline_app() -> App {
        let config = lobbybee::config::Config::from_lookup(&[], |key| {
            match key {
                "TABLE_NAME" => Some("offline"),
                "JWT_SECRET" => Some("offline-secret"),
                "WS_ENDPOINT" => Some("http://127.0.0.1:9/local"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .expect("config");
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        App::new(config, &sdk)
    }

    /// Sends one raw HTTP/1.1 request and reads one response (head and `Content-Length` body).
    async fn raw_http(addr: SocketAddr, request: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let read = async {
            let mut chunk = [0u8; 4096];
            loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                out.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text[..head_end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if out.len() >= head_end + 4 + length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read).await.expect("response within 10 s");
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn the_server_routes_refuses_and_reports_gone() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = start(offline_app(), listener, GatewayOptions::default()).await.unwrap();
        let addr = gateway.addr;

        let health = raw_http(addr, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("ok"), "{health}");
        let missing = raw_http(addr, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(missing.starts_with("HTTP/1.1 404") && missing.ends_with(r#"{"error":"Not found"}"#), "{missing}");

        // `$connect` without a token answers 401: the handshake is refused with it.
        let handshake = |path: &str| {
            format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
        };
        for path in ["/", "/ws/chat/Room%20Service/", "/local?token=not-a-jwt"] {
            let refused = raw_http(addr, &handshake(path)).await;
            assert!(refused.starts_with("HTTP/1.1 401"), "{path}: {refused}");
        }
        assert_eq!(gateway.open_sockets(), 0);

        // The REST handler refuses an unauthenticated call, through lambda_http's conversion.
        let rest =
            raw_http(addr, "GET /api/chat/conversations/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .await;
        assert!(rest.starts_with("HTTP/1.1 401"), "{rest}");
        assert!(rest.to_ascii_lowercase().contains("apigw-requestid: "), "{rest}");
        let bad_host =
            raw_http(addr, "GET /api/chat/conversations/ HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n").await;
        assert!(bad_host.starts_with("HTTP/1.1 400"), "{bad_host}");

        // The real management client maps unknown ids to GoneException.
        let config = aws_sdk_apigatewaymanagement::config::Builder::new()
            .behavior_version(aws_sdk_apigatewaymanagement::config::BehaviorVersion::latest())
            .region(aws_sdk_apigatewaymanagement::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new("a", "b", None, None, "t"))
            .endpoint_url(gateway.management_endpoint())
            .build();
        let client = aws_sdk_apigatewaymanagement::Client::from_conf(config);
        let posted = client
            .post_to_connection()
            .connection_id("Bq3vXdFoDoECJdA=")
            .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(b"{}".to_vec()))
            .send()
            .await;
        assert!(posted.unwrap_err().into_service_error().is_gone_exception());
        let got = client.get_connection().connection_id("Bq3vXdFoDoECJdA=").send().await;
        assert!(got.unwrap_err().into_service_error().is_gone_exception());
        let deleted = client.delete_connection().connection_id("Bq3vXdFoDoECJdA=").send().await;
        assert!(deleted.unwrap_err().into_service_error().is_gone_exception());

        gateway.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "still listening after shutdown");
    }
}
