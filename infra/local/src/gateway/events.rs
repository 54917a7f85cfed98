//! Event JSON in the exact shapes AWS hands to the functions: API Gateway WebSocket events
//! (`$connect`, `$default`, `$disconnect`), HTTP API / Function URL payload-v2 events, and the
//! `SqsEvent` batches of an SQS event source mapping.
//!
//! Every builder returns a [`serde_json::Value`]. The gateway serialises it and lets the same
//! deserialisers the Lambda runtime uses turn it into the handler's input, so a field the
//! emulator gets wrong fails here rather than in production. Apart from fresh request ids, the
//! builders are pure: time comes in as an argument.

use aws_sdk_sqs::types::Message as SqsMessage;
use base64::Engine;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, Version};
use serde_json::{Map, Value, json};

/// The API id the local gateway reports in events (API Gateway ids are 10 characters).
pub const API_ID: &str = "localgw001";

/// The account id the emulators use.
pub const ACCOUNT_ID: &str = "000000000000";

/// Region reported when the SDK configuration names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Hop-by-hop headers: API Gateway consumes them and does not pass them to the function.
const HOP_BY_HOP: [&str; 7] =
    ["connection", "upgrade", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"];

/// A fresh id shaped like API Gateway's connection and request ids: 11 random bytes in
/// URL-safe base64 with padding, 16 characters such as `Bq3vXdFoDoECJdA=`.
pub fn new_id() -> String {
    let first = uuid::Uuid::new_v4();
    let second = uuid::Uuid::new_v4();
    let (a, b) = (first.as_bytes(), second.as_bytes());
    // Bytes 6 and 8 of a v4 UUID carry the version and variant bits: skip them.
    let bytes = [a[0], a[1], a[2], a[3], a[4], a[5], a[7], a[9], b[0], b[1], b[2]];
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// `24/Nov/2026:10:02:11 +0000`, the `requestTime` / `time` format of API Gateway events.
pub fn request_time(now: DateTime<Utc>) -> String {
    now.format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// An `X-Amzn-Trace-Id` value: `Root=1-{epoch seconds, hex}-{24 hex digits}`.
pub fn trace_id(now: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{:08x}-{}", now.timestamp(), &random[..24])
}

/// `sec-websocket-key` → `Sec-WebSocket-Key`: HTTP/1 header names as browsers send them (the
/// server only sees them lower-cased), which is how API Gateway passes them to `$connect`.
pub fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| match part {
            "websocket" => "WebSocket".to_owned(),
            _ => {
                let mut chars = part.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The request headers with what API Gateway adds in front of every integration:
/// `X-Forwarded-For` (the client address appended), `X-Forwarded-Port`, `X-Forwarded-Proto`
/// (replaced, as API Gateway does) and `X-Amzn-Trace-Id` (kept when the client sent one).
/// Hop-by-hop headers are dropped.
pub fn with_forwarding_headers(
    headers: &HeaderMap,
    source_ip: &str,
    port: u16,
    proto: &str,
    now: DateTime<Utc>,
) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len() + 4);
    for (name, value) in headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    let forwarded_for = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .chain(std::iter::once(source_ip))
        .collect::<Vec<_>>()
        .join(", ");
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.insert(HeaderName::from_static(name), value);
        }
    };
    set("x-forwarded-for", forwarded_for);
    set("x-forwarded-port", port.to_string());
    set("x-forwarded-proto", proto.to_owned());
    if !headers.contains_key("x-amzn-trace-id") {
        set("x-amzn-trace-id", trace_id(now));
    }
    out
}

fn header_text(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket API

/// One socket as its events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo {
    /// `requestContext.connectionId`.
    pub connection_id: String,
    /// When the upgrade request arrived (`requestContext.connectedAt`).
    pub connected_at: DateTime<Utc>,
    /// Stage name.
    pub stage: String,
    /// The Host the client connected to (`requestContext.domainName`).
    pub domain: String,
    /// Client address.
    pub source_ip: String,
    /// Client `User-Agent`, reported on `$connect` only.
    pub user_agent: Option<String>,
}

fn ws_request_context(socket: &SocketInfo, route: &str, event_type: &str, now: DateTime<Utc>) -> Map<String, Value> {
    let request_id = new_id();
    let mut identity = json!({ "sourceIp": socket.source_ip });
    // API Gateway reports the user agent on `$connect` only (see the fixtures).
    if route == "$connect" {
        identity["userAgent"] = json!(socket.user_agent);
    }
    object(json!({
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(now),
        "messageDirection": "IN",
        "stage": socket.stage,
        "connectedAt": socket.connected_at.timestamp_millis(),
        "requestTimeEpoch": now.timestamp_millis(),
        "identity": identity,
        "requestId": request_id,
        "domainName": socket.domain,
        "connectionId": socket.connection_id,
        "apiId": API_ID,
    }))
}

/// `headers` (last value wins) and `multiValueHeaders` (every value), names as browsers send
/// them.
fn ws_header_maps(headers: &HeaderMap) -> (Map<String, Value>, Map<String, Value>) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in headers {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        let name = canonical_header(name.as_str());
        let value = header_text(value);
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

/// `queryStringParameters` (last value wins) and `multiValueQueryStringParameters`; `None`
/// when there are none (API Gateway then leaves both out).
fn ws_query_maps(query: &[(String, String)]) -> Option<(Map<String, Value>, Map<String, Value>)> {
    if query.is_empty() {
        return None;
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
    Some((single, multi))
}

/// The `$connect` event, shaped like `tests/fixtures/apigw-ws-connect.json`. `headers` are the
/// upgrade request's (pass them through [`with_forwarding_headers`] first); `query` is the
/// decoded query string, Django-style path parameters included.
pub fn connect_event(
    socket: &SocketInfo,
    headers: &HeaderMap,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Value {
    let (single, multi) = ws_header_maps(headers);
    let mut event = json!({
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": ws_request_context(socket, "$connect", "CONNECT", now),
        "isBase64Encoded": false,
    });
    if let Some((single, multi)) = ws_query_maps(query) {
        event["queryStringParameters"] = Value::Object(single);
        event["multiValueQueryStringParameters"] = Value::Object(multi);
    }
    event
}

/// A `$default` event for one text frame, shaped like `tests/fixtures/apigw-ws-message.json`.
pub fn message_event(socket: &SocketInfo, body: &str, now: DateTime<Utc>) -> Value {
    let mut context = ws_request_context(socket, "$default", "MESSAGE", now);
    context.insert("messageId".into(), json!(new_id()));
    json!({ "requestContext": context, "body": body, "isBase64Encoded": false })
}

/// The `$disconnect` event, shaped like `tests/fixtures/apigw-ws-disconnect.json` (API Gateway
/// sends these fixed headers, not the client's).
pub fn disconnect_event(socket: &SocketInfo, code: u16, reason: &str, now: DateTime<Utc>) -> Value {
    let mut context = ws_request_context(socket, "$disconnect", "DISCONNECT", now);
    context.insert("disconnectStatusCode".into(), json!(code));
    context.insert("disconnectReason".into(), json!(reason));
    let host = socket.domain.as_str();
    json!({
        "headers": { "Host": host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "" },
        "multiValueHeaders": { "Host": [host], "x-api-key": [""], "X-Forwarded-For": [""], "x-restapi": [""] },
        "requestContext": context,
        "isBase64Encoded": false,
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP API and Function URL (payload format 2.0)

/// An HTTP request as the payload-v2 event describes it.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequestInfo<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path and raw query string.
    pub uri: &'a Uri,
    /// HTTP version (`requestContext.http.protocol`).
    pub version: Version,
    /// Headers, forwarding headers included (see [`with_forwarding_headers`]).
    pub headers: &'a HeaderMap,
    /// Raw body bytes.
    pub body: &'a [u8],
    /// Client address.
    pub source_ip: &'a str,
    /// The Host the client called (`requestContext.domainName`).
    pub domain: &'a str,
    /// `requestContext.accountId`: the account for the HTTP API, `anonymous` for a Function URL
    /// without IAM auth.
    pub account_id: &'a str,
    /// `requestContext.requestId`.
    pub request_id: &'a str,
}

/// Whether API Gateway / a Function URL passes a body of this content type as text (anything
/// else is base64-encoded). No content type counts as text.
pub fn is_text_content_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else { return true };
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime.is_empty()
        || mime.starts_with("text/")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || mime.ends_with("+yaml")
}

/// The payload-v2 event of an HTTP request: headers lower-case with repeated values joined by
/// commas, `Cookie` moved to `cookies`, query parameters decoded and joined by commas, the body
/// base64-encoded unless it is UTF-8 text of a textual content type.
pub fn http_event(request: &HttpRequestInfo<'_>, now: DateTime<Utc>) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies: Vec<Value> = Vec::new();
    for (name, value) in request.headers {
        let text = header_text(value);
        if name == http::header::COOKIE {
            cookies
                .extend(text.split(';').map(str::trim).filter(|c| !c.is_empty()).map(|c| Value::String(c.to_owned())));
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&text);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(text));
            }
        }
    }
    let raw_query = request.uri.query().unwrap_or_default();
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let content_type = request.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let text = if is_text_content_type(content_type) { std::str::from_utf8(request.body).ok() } else { None };
    let user_agent = request.headers.get(http::header::USER_AGENT).map(header_text).unwrap_or_default();
    let domain_prefix = request.domain.split(['.', ':']).next().unwrap_or(request.domain);
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": request.account_id,
            "apiId": API_ID,
            "domainName": request.domain,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method.as_str(),
                "path": request.uri.path(),
                "protocol": format!("{:?}", request.version),
                "sourceIp": request.source_ip,
                "userAgent": user_agent,
            },
            "requestId": request.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": request_time(now),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !request.body.is_empty() {
        match text {
            Some(text) => event["body"] = json!(text),
            None => {
                event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(request.body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

// ---------------------------------------------------------------------------------------------
// SQS event source mapping

/// The system attributes Lambda passes in `Records[].attributes`.
const LAMBDA_SQS_ATTRIBUTES: [&str; 8] = [
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
];

/// The queue name of a queue URL (`…/000000000000/my-queue` → `my-queue`).
pub fn queue_name(queue_url: &str) -> &str {
    queue_url.trim_end_matches('/').rsplit('/').next().unwrap_or_default()
}

/// `arn:aws:sqs:{region}:{account}:{queue name}`, the account taken from the queue URL when it
/// holds one (`http://host/000000000000/name`).
pub fn queue_arn(queue_url: &str, region: &str) -> String {
    let mut segments = queue_url.trim_end_matches('/').rsplit('/');
    let name = segments.next().unwrap_or_default();
    let account =
        segments.next().filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).unwrap_or(ACCOUNT_ID);
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

fn sqs_message_attributes(message: &SqsMessage) -> Map<String, Value> {
    let b64 = |bytes: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    let mut out = Map::new();
    for (name, attribute) in message.message_attributes().into_iter().flatten() {
        let mut value = json!({
            "stringListValues": attribute.string_list_values(),
            "binaryListValues": attribute.binary_list_values().iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>(),
            "dataType": attribute.data_type(),
        });
        if let Some(s) = attribute.string_value() {
            value["stringValue"] = json!(s);
        }
        if let Some(b) = attribute.binary_value() {
            value["binaryValue"] = b64(b.as_ref());
        }
        out.insert(name.clone(), value);
    }
    out
}

/// The `SqsEvent` Lambda's event source mapping sends for a batch received from `queue_url`.
pub fn sqs_event(queue_url: &str, region: &str, messages: &[SqsMessage]) -> Value {
    let arn = queue_arn(queue_url, region);
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .into_iter()
                .flatten()
                .filter(|(k, _)| LAMBDA_SQS_ATTRIBUTES.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                .collect();
            let mut record = json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": sqs_message_attributes(m),
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            });
            if let Some(md5) = m.md5_of_message_attributes() {
                record["md5OfMessageAttributes"] = json!(md5);
            }
            record
        })
        .collect();
    json!({ "Records": records })
}
