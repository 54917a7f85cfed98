//! Request and response helpers shared by the HTTP handlers (webhook and REST).
//!
//! Every error answer is JSON (`{"error": "..."}` or the validation shape of docs/api.md §4), and
//! nothing internal ever reaches a client: internal failures are logged with the request id
//! and answered with a fixed message.

use std::collections::BTreeMap;

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// Largest JSON body accepted by the webhook and REST (docs/api.md §8).
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// Validation details: field → messages.
pub type Details = BTreeMap<String, Vec<String>>;

/// An HTTP answer that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpError {
    /// Status code.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl HttpError {
    /// `{"error": message}` with `status`.
    pub fn new(status: u16, message: &str) -> Self {
        HttpError { status, body: json!({ "error": message }) }
    }

    /// 400 `{"error": "Invalid data", "details": {...}}`.
    pub fn invalid(details: Details) -> Self {
        HttpError { status: 400, body: json!({ "error": "Invalid data", "details": details }) }
    }

    /// 400 with a single field error.
    pub fn field(field: &str, message: &str) -> Self {
        HttpError::invalid(BTreeMap::from([(field.to_owned(), vec![message.to_owned()])]))
    }

    /// 404 `Conversation not found`.
    pub fn conversation_not_found() -> Self {
        HttpError::new(404, crate::frames::errors::CONVERSATION_NOT_FOUND)
    }

    /// 500 without detail (the cause is logged by the caller).
    pub fn internal() -> Self {
        HttpError::new(500, "Internal server error")
    }

    /// 413 for oversize bodies.
    pub fn too_large() -> Self {
        HttpError::new(413, "Request body too large")
    }

    /// Any JSON body with `status`.
    pub fn with_body(status: u16, body: Value) -> Self {
        HttpError { status, body }
    }
}

impl From<crate::store::StoreError> for HttpError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::NotFound => HttpError::new(404, "Not found"),
            crate::store::StoreError::ConversationClosed => {
                HttpError::new(409, crate::frames::errors::CONVERSATION_CLOSED)
            }
            crate::store::StoreError::Conflict(message) => HttpError::new(409, &message),
            crate::store::StoreError::Contention => HttpError::new(503, "Busy, please retry"),
            other => {
                tracing::error!(error = %other, "store failure");
                HttpError::internal()
            }
        }
    }
}

/// A JSON response.
pub fn json_response<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| r#"{"error":"Internal server error"}"#.to_owned());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(text))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// A plain-text response.
pub fn text_response(status: u16, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::Text(body.to_owned()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// An empty response.
pub fn empty_response(status: u16) -> Response<Body> {
    Response::builder().status(status).body(Body::Empty).unwrap_or_else(|_| Response::new(Body::Empty))
}

impl HttpError {
    /// The error as a response.
    pub fn into_response(self) -> Response<Body> {
        json_response(self.status, &self.body)
    }
}

/// The raw request body bytes (API Gateway has already base64-decoded binary bodies).
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// A header value as text.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A query string parameter (first value).
pub fn query(request: &Request, name: &str) -> Option<String> {
    request.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_owned)
}

/// The request id API Gateway assigned, for logs.
pub fn request_id(request: &Request) -> String {
    request
        .request_context_ref()
        .and_then(|ctx| match ctx {
            lambda_http::request::RequestContext::ApiGatewayV2(c) => c.request_id.clone(),
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .unwrap_or_default()
}

/// Parses a JSON object body: 413 over the limit, 400 `Invalid JSON` when malformed or not an
/// object.
pub fn json_object(request: &Request) -> Result<serde_json::Map<String, Value>, HttpError> {
    let bytes = body_bytes(request);
    if bytes.len() > MAX_JSON_BODY {
        return Err(HttpError::too_large());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(HttpError::new(400, "Invalid JSON")),
    }
}

/// Decodes `%XX` escapes of a path segment (invalid escapes are kept as they are).
pub fn percent_decode(segment: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(segment.as_bytes())).into_owned()
}

/// The bytes behind `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_path_segments() {
        assert_eq!(percent_decode("Room%20Service"), "Room Service");
        assert_eq!(percent_decode("Caf%C3%A9"), "Café");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
