//! A fault-injecting proxy between the functions and the AWS emulator.
//!
//! MiniStack keeps its data in memory, so stopping it is not a way to test an outage. Instead a
//! gateway's AWS clients can be pointed at this proxy ([`crate::gateway_through`]): it forwards
//! every request to `AWS_ENDPOINT_URL` unchanged until told to fail, and then answers each one
//! with a 500 `InternalServerError` (which the SDKs retry, then report), for as long as it is told.
//! Told to hold ([`FaultProxy::hold`]), it keeps every request waiting until it is told to let
//! go, and says how many are waiting ([`FaultProxy::wait_held`]): the handlers that sent them are
//! caught in the middle of their work, which lets a test know that invocations are running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

/// A running proxy.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, the endpoint to give the SDK.
    pub url: String,
    state: Arc<Faults>,
}

#[derive(Debug)]
struct Faults {
    target: String,
    failing: AtomicBool,
    /// When set, only requests whose `X-Amz-Target` starts with it fail (e.g. `DynamoDB`).
    only: std::sync::Mutex<Option<String>>,
    failed: AtomicUsize,
    /// Whether requests are held.
    holding: watch::Sender<bool>,
    /// How many requests are waiting now.
    held: watch::Sender<usize>,
    http: reqwest::Client,
}

impl FaultProxy {
    /// Starts a proxy to `target` (the emulator) on a free loopback port.
    pub async fn start(target: &str) -> FaultProxy {
        let state = Arc::new(Faults {
            target: target.trim_end_matches('/').to_owned(),
            failing: AtomicBool::new(false),
            only: std::sync::Mutex::new(None),
            failed: AtomicUsize::new(0),
            holding: watch::channel(false).0,
            held: watch::channel(0).0,
            http: lobbybee::app::https().build().expect("http client"),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fault proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let app = axum::Router::new().fallback(forward).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy { url, state }
    }

    /// Starts a proxy to the emulator the suite runs against (`AWS_ENDPOINT_URL`).
    pub async fn to_emulator() -> FaultProxy {
        FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL names the emulator")).await
    }

    /// From now on, every request fails (`true`) or goes through (`false`).
    pub fn fail(&self, failing: bool) {
        self.fail_only(failing, None);
    }

    /// Like [`FaultProxy::fail`], for the requests of one service only (`X-Amz-Target` prefix,
    /// e.g. `DynamoDB`): the store fails while the queues work.
    pub fn fail_only(&self, failing: bool, target_prefix: Option<&str>) {
        if let Ok(mut only) = self.state.only.lock() {
            *only = target_prefix.map(str::to_owned);
        }
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// How many requests were failed so far.
    pub fn failed(&self) -> usize {
        self.state.failed.load(Ordering::SeqCst)
    }

    /// From now on, every request waits here (`true`) until this is called with `false`, which
    /// lets the waiting ones through.
    pub fn hold(&self, holding: bool) {
        self.state.holding.send_replace(holding);
    }

    /// Waits until at least `count` requests are being held.
    pub async fn wait_held(&self, count: usize) {
        let mut held = self.state.held.subscribe();
        let _ = held.wait_for(|n| *n >= count).await;
    }
}

async fn forward(State(faults): State<Arc<Faults>>, request: Request) -> Response {
    let mut holding = faults.holding.subscribe();
    if *holding.borrow_and_update() {
        faults.held.send_modify(|n| *n += 1);
        let _ = holding.wait_for(|holding| !*holding).await;
        faults.held.send_modify(|n| *n = n.saturating_sub(1));
    }
    let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let selected = faults.only.lock().map(|only| only.as_deref().is_none_or(|p| target.starts_with(p))).unwrap_or(true);
    if faults.failing.load(Ordering::SeqCst) && selected {
        faults.failed.fetch_add(1, Ordering::SeqCst);
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected fault"}"#;
        let headers = [("content-type", "application/x-amz-json-1.0"), ("x-amzn-errortype", "InternalServerError")];
        return (StatusCode::INTERNAL_SERVER_ERROR, headers, body).into_response();
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = faults.http.request(parts.method.clone(), format!("{}{path}", faults.target)).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    let Ok(answer) = upstream.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers: Vec<(HeaderName, Vec<u8>)> = answer
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "content-length" && name.as_str() != "transfer-encoding")
        .filter_map(|(name, value)| {
            Some((HeaderName::from_bytes(name.as_str().as_bytes()).ok()?, value.as_bytes().to_vec()))
        })
        .collect();
    let bytes: Bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = axum::http::HeaderValue::from_bytes(&value) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
