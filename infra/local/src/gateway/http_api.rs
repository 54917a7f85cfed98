//! The HTTP API (`/api/chat/…` → `rest-api`) and the guest webhook's Function URL
//! (`/api/chat/guest-webhook/` → `guest-webhook`).
//!
//! A request becomes a payload-v2 event JSON, which is serialised and read back as
//! `lambda_http::request::LambdaRequest` and converted into a `lambda_http::Request` with the
//! invocation context attached: the same steps `lambda_http::run` takes on Lambda, so the
//! handler sees the same URI, headers, cookies, `query_string_parameters()` and
//! `request_context()` it would see there. The handler's `Response<Body>` goes back to the
//! client as it is.
//!
//! Each invocation first takes a slot of its function's concurrency
//! ([`GatewayOptions::concurrency`](super::GatewayOptions)). When there is none, Lambda throttles
//! it and the handler never runs: the Function URL answers `429` (AWS: "Throttling function
//! URLs"), the HTTP API `500 {"message":"Internal Server Error"}` (API Gateway turns an
//! invocation Lambda rejects into a 500 and does not retry).

use std::net::SocketAddr;

use axum::body::Body as AxumBody;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use lambda_http::RequestExt;
use lambda_http::request::LambdaRequest;
use serde_json::json;

use super::events::{self, ACCOUNT_ID, HttpRequestInfo};
use super::{St, guarded, json_response, parse_event};

/// Both functions' timeout in `template.yaml` (15 s), for the context deadline.
const FUNCTION_TIMEOUT_MS: i64 = 15_000;

/// Largest request body the gateway accepts (Lambda's synchronous invocation payload limit).
pub(super) const MAX_BODY: usize = 6 * 1024 * 1024;

/// The function behind an HTTP route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Function {
    /// `guest-webhook`, behind its Function URL (auth type NONE).
    Webhook,
    /// `rest-api`, behind the HTTP API's `$default` route.
    Rest,
}

impl Function {
    /// The logical id in `template.yaml` (the function's name in its ARN here).
    fn name(self) -> &'static str {
        match self {
            Function::Webhook => "GuestWebhookFunction",
            Function::Rest => "RestApiFunction",
        }
    }

    /// The crate, as `template.yaml` builds it (and as the call log and the limits name it).
    fn crate_name(self) -> &'static str {
        match self {
            Function::Webhook => "guest-webhook",
            Function::Rest => "rest-api",
        }
    }
}

/// Invokes `function` with the request, as API Gateway or the Function URL would.
pub(super) async fn invoke(st: St, peer: SocketAddr, request: Request, function: Function) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return json_response(StatusCode::PAYLOAD_TOO_LARGE, &json!({ "message": "Request Entity Too Large" }));
    };
    // lambda_http rebuilds the URI from the Host header: refuse a Host that is not one.
    let domain = match parts.headers.get(header::HOST) {
        None => st.addr.to_string(),
        Some(_) => match super::valid_host(&parts.headers) {
            Some(host) => host,
            None => return json_response(StatusCode::BAD_REQUEST, &json!({ "message": "Bad Request" })),
        },
    };
    let now = Utc::now();
    let source_ip = peer.ip().to_string();
    let headers = events::with_forwarding_headers(&parts.headers, &source_ip, st.addr.port(), "http", now);
    let (request_id, account_id) = match function {
        // Function URLs use UUID request ids and report `anonymous` without IAM auth.
        Function::Webhook => (uuid::Uuid::new_v4().to_string(), "anonymous"),
        Function::Rest => (events::new_id(), ACCOUNT_ID),
    };
    // Held until the handler's answer is complete: one running invocation.
    let Some(_slot) = st.limiter.try_start(function.crate_name()) else {
        tracing::debug!(function = function.crate_name(), "throttled");
        return with_request_id(throttled(function), function, &request_id);
    };
    let info = HttpRequestInfo {
        method: &parts.method,
        uri: &parts.uri,
        version: parts.version,
        headers: &headers,
        body: &body,
        source_ip: &source_ip,
        domain: &domain,
        account_id,
        request_id: &request_id,
    };
    let Some(event) = parse_event::<LambdaRequest>(&events::http_event(&info, now)) else {
        return internal_error();
    };
    // lambda_http's conversion unwraps a URL parse; the Host check above makes it succeed, and
    // a panic that slips through is answered like a crashed invocation.
    let Ok(request) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lambda_http::Request::from(event)))
    else {
        tracing::error!("lambda_http could not convert the event");
        return internal_error();
    };
    let request = request.with_lambda_context(lambda_context(&st, function, now));
    let name = function.crate_name();
    let response = match function {
        Function::Webhook => guarded(name, lobbybee::webhook::handle(&st.app, request)).await,
        Function::Rest => guarded(name, lobbybee::rest::handle(&st.app, request)).await,
    };
    let Some(response) = response else { return internal_error() };
    let (parts, body) = response.into_parts();
    let body = match body {
        lambda_http::Body::Text(text) => AxumBody::from(text),
        lambda_http::Body::Binary(bytes) => AxumBody::from(bytes),
        _ => AxumBody::empty(),
    };
    with_request_id(Response::from_parts(parts, body), function, &request_id)
}

/// Adds the request id header the Function URL (`x-amzn-RequestId`) or the HTTP API
/// (`apigw-requestid`) answers with.
fn with_request_id(mut response: Response, function: Function, request_id: &str) -> Response {
    let id_header = match function {
        Function::Webhook => "x-amzn-requestid",
        Function::Rest => "apigw-requestid",
    };
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(id_header, value);
    }
    response
}

/// What a failed invocation looks like through API Gateway.
fn internal_error() -> Response {
    json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "message": "Internal Server Error" }))
}

/// The body a Function URL answers a throttled invocation with (the status, 429, is AWS's
/// documented one; the body and its `x-amzn-ErrorType` are those of a published capture).
const THROTTLED_BODY: &str = r#"{"message":"Rate Exceeded."}"#;

/// What the caller gets when Lambda throttles the invocation (docs/decisions.md, "Load shedding").
fn throttled(function: Function) -> Response {
    match function {
        Function::Webhook => {
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (HeaderName::from_static("x-amzn-errortype"), HeaderValue::from_static("ThrottlingException")),
            ];
            (StatusCode::TOO_MANY_REQUESTS, headers, THROTTLED_BODY).into_response()
        }
        Function::Rest => internal_error(),
    }
}

/// The invocation context the runtime attaches (`RequestExt::lambda_context`).
fn lambda_context(st: &St, function: Function, now: chrono::DateTime<Utc>) -> lambda_http::Context {
    let region = st.app.sqs.config().region().map_or_else(|| events::DEFAULT_REGION.to_owned(), |r| r.to_string());
    let mut context = lambda_http::Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline = u64::try_from(now.timestamp_millis() + FUNCTION_TIMEOUT_MS).unwrap_or_default();
    context.invoked_function_arn = format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{}", function.name());
    context
}
