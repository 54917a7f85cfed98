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
//!   requests exactly the way the Lambda runtime does. Each function runs at most its
//!   concurrency limit at once ([`GatewayOptions::concurrency`]); over it, the invocation is
//!   answered as Lambda's throttle reaches the caller (Function URL 429, HTTP API 500).
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

pub use crate::concurrency::ConcurrencyLimits;
use crate::concurrency::Limiter;
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
    /// How many invocations of the functions behind the Function URL and the HTTP API may run
    /// at once; one over the limit is answered as AWS answers a throttled invocation, without
    /// running the handler ([`http_api`]).
    pub concurrency: ConcurrencyLimits,
}

impl Default for GatewayOptions {
    /// API Gateway's limits, stage `local`, no queues, one-second long polls, no concurrency limit.
    fn default() -> Self {
        GatewayOptions {
            stage: "local".into(),
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(7200),
            queues: Vec::new(),
            poll_wait: Duration::from_secs(1),
            sweep_every: None,
            concurrency: ConcurrencyLimits::unlimited(),
        }
    }
}

impl GatewayOptions {
    /// API Gateway's own settings (see [`Default`]) with the stack's two queues bound to their
    /// consumers, ten records a batch, and the functions' reserved concurrency within Lambda's
    /// default account quota, as `template.yaml` deploys them.
    pub fn like_aws(resources: &crate::bootstrap::LocalResources) -> Self {
        let binding =
            |queue_url: &str, consumer| QueueBinding { queue_url: queue_url.to_owned(), consumer, batch_size: 10 };
        GatewayOptions {
            queues: vec![
                binding(&resources.outbound_queue_url, QueueConsumer::Outbound),
                binding(&resources.push_retry_queue_url, QueueConsumer::PushRetry),
            ],
            sweep_every: Some(Duration::from_secs(300)),
            concurrency: ConcurrencyLimits::like_aws(&resources.reserved_concurrency),
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
    limiter: Limiter,
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
        limiter: Limiter::new(&options.concurrency),
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

/// Logs method, path (never the query string: it carries tokens), status and duration: at
/// `info`, and at `debug` for health checks and management calls (one per push). Nothing is
/// measured or copied when that level is off.
async fn log_request(request: Request, next: Next) -> Response {
    let quiet = matches!(request.uri().path(), "/health") || request.uri().path().contains("/@connections/");
    let wanted = if quiet { tracing::enabled!(tracing::Level::DEBUG) } else { tracing::enabled!(tracing::Level::INFO) };
    if !wanted {
        return next.run(request).await;
    }
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
mod tests;
