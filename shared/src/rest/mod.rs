//! The REST API (docs/api.md §4), one Lambda behind the HTTP API (payload v2).
//!
//! [`handle`] answers CORS preflights, routes by method and path (with or without the trailing
//! slash, with or without the `/api/chat` prefix), authenticates, and turns every error into
//! the JSON shapes of the contract. Endpoints live in [`conversations`], [`admin`] and [`media`].

pub mod admin;
pub mod conversations;
pub mod form;
pub mod media;

use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use tracing::Instrument;

use crate::app::App;
use crate::auth::{self, StaffAuthError, StaffPrincipal};
use crate::http::{self as h, HttpError};

/// Entry point of the REST function.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let span = tracing::info_span!("rest", request_id = %h::request_id(&request), method = %request.method());
    async move {
        let started = std::time::Instant::now();
        let origin = h::header(&request, "origin").map(str::to_owned);
        let mut response = if request.method() == Method::OPTIONS {
            h::empty_response(204)
        } else {
            route(app, &request).await.unwrap_or_else(HttpError::into_response)
        };
        add_cors(app, origin.as_deref(), &mut response);
        tracing::info!(status = response.status().as_u16(), "answered");
        crate::telemetry::metric("RestLatency", started.elapsed().as_secs_f64() * 1e3);
        response
    }
    .instrument(span)
    .await
}

/// The public base of this API (`https://…/api/chat`), for the absolute links it answers with:
/// `PUBLIC_BASE_URL`, else the scheme and host the request came to (the deployed REST function
/// cannot know its own API's URL without a template cycle).
pub fn public_base(app: &App, request: &Request) -> String {
    if let Some(base) = &app.config.public_base_url {
        return base.clone();
    }
    let host = h::header(request, "host").unwrap_or("localhost");
    let scheme = match h::header(request, "x-forwarded-proto") {
        Some("http") => "http",
        _ => "https",
    };
    format!("{scheme}://{host}/api/chat")
}

/// Path segments after `/api/chat`, without empty segments (so trailing slashes don't matter).
fn segments(request: &Request) -> Vec<String> {
    let path = request.uri().path();
    let path = path.strip_prefix("/api/chat").unwrap_or(path);
    path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect()
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

async fn route(app: &App, request: &Request) -> Result<Response<Body>, HttpError> {
    let segments = segments(request);
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method().clone();
    match (method, parts.as_slice()) {
        (Method::GET, ["conversations"]) => conversations::list(app, &staff(app, request).await?, request).await,
        (Method::GET, ["conversations", id]) => {
            conversations::detail(app, &staff(app, request).await?, id, request).await
        }
        (Method::POST, ["conversations", "create"]) => {
            conversations::create(app, &staff(app, request).await?, request).await
        }
        (Method::POST, ["conversations", "close"]) => {
            conversations::close(app, &staff(app, request).await?, request).await
        }
        (Method::POST, ["conversations", "transfer"]) => {
            conversations::transfer(app, &staff(app, request).await?, request).await
        }
        (Method::POST, ["conversations", "assign"]) => {
            conversations::assign(app, &staff(app, request).await?, request).await
        }
        (Method::POST, ["messages", "mark-read"]) => {
            conversations::mark_read(app, &staff(app, request).await?, request).await
        }
        (Method::POST, ["messages", "typing"]) => {
            conversations::typing(app, &staff(app, request).await?, request).await
        }
        (Method::POST, ["messages", "send"]) => conversations::send(app, &staff(app, request).await?, request).await,
        (Method::GET, ["guest", "conversation-type"]) => {
            conversations::guest_conversation_type(app, &admin::provisioner(app, request).await?, request).await
        }
        (Method::PUT, ["admin", "hotels", id]) => admin::put_hotel(app, request, id).await,
        (Method::PUT, ["admin", "staff", id]) => admin::put_staff(app, request, id).await,
        (Method::DELETE, ["admin", "staff", id]) => admin::deactivate_staff(app, request, id).await,
        (Method::PUT, ["admin", "guests", id]) => admin::put_guest(app, request, id).await,
        (Method::PUT, ["admin", "stays", id]) => admin::put_stay(app, request, id).await,
        (Method::POST, ["upload-media"]) => media::upload(app, &staff(app, request).await?, request).await,
        (Method::POST, ["media", "upload-url"]) => media::upload_url(app, &staff(app, request).await?, request).await,
        (Method::GET, ["media", key @ ..]) if !key.is_empty() => {
            media::download(app, &staff(app, request).await?, &key.join("/")).await
        }
        _ => Err(HttpError::new(404, "Not found")),
    }
}

/// Authenticates a staff JWT and checks the role is a chat role.
pub async fn staff(app: &App, request: &Request) -> Result<StaffPrincipal, HttpError> {
    let token = auth::bearer(h::header(request, "authorization"));
    let principal =
        auth::authenticate_staff(app.config.jwt.as_ref(), app.store.as_ref(), token).await.map_err(auth_error)?;
    if !principal.staff.has_chat_role() {
        return Err(HttpError::new(403, "You do not have permission to perform this action."));
    }
    Ok(principal)
}

/// The exact 401 bodies of docs/api.md §3
pub fn auth_error(err: StaffAuthError) -> HttpError {
    match err {
        StaffAuthError::Missing => {
            HttpError::with_body(401, json!({"detail": "Authentication credentials were not provided."}))
        }
        StaffAuthError::InvalidToken(_) => HttpError::with_body(
            401,
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid"}),
        ),
        StaffAuthError::Inactive => {
            HttpError::with_body(401, json!({"detail": "User is inactive", "code": "user_inactive"}))
        }
        StaffAuthError::UnknownUser => {
            HttpError::with_body(401, json!({"detail": "User not found", "code": "user_not_found"}))
        }
        StaffAuthError::NotConfigured | StaffAuthError::Store(_) => {
            tracing::error!(error = %err, "authentication failed");
            HttpError::internal()
        }
    }
}

/// Adds CORS headers when the request's origin is configured (`*` allows any).
fn add_cors(app: &App, origin: Option<&str>, response: &mut Response<Body>) {
    let Some(origin) = origin else { return };
    let allowed = &app.config.allowed_origins;
    let allow = allowed.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(origin.trim_end_matches('/')));
    if !allow {
        return;
    }
    let headers = response.headers_mut();
    let value = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""));
    headers.insert("access-control-allow-origin", value(origin));
    headers.insert("access-control-allow-methods", HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"));
    headers.insert("access-control-allow-headers", HeaderValue::from_static("Authorization, Content-Type, X-Api-Key"));
    headers.insert("access-control-expose-headers", HeaderValue::from_static("X-Next-Cursor"));
    headers.insert("access-control-max-age", HeaderValue::from_static("600"));
    headers.insert("vary", HeaderValue::from_static("Origin"));
}

/// The REST answer to a refused chat action.
pub(crate) fn chat_answer(error: &crate::chat::ChatError) -> HttpError {
    use crate::chat::ChatError;
    use crate::frames::errors;
    match error {
        ChatError::NotFound => HttpError::conversation_not_found(),
        ChatError::AccessDenied => HttpError::new(403, errors::ACCESS_DENIED),
        ChatError::Closed => HttpError::new(409, errors::CONVERSATION_CLOSED),
        ChatError::NotService => HttpError::new(400, errors::BUTTONS_SERVICE_ONLY),
        ChatError::OutsideWindow => HttpError::new(409, errors::OUTSIDE_WINDOW),
        ChatError::NoGuest => HttpError::new(404, errors::GUEST_NOT_FOUND),
        ChatError::NoActiveStay => HttpError::new(400, errors::NO_ACTIVE_STAY),
        ChatError::AlreadyThere(to) => HttpError::new(400, &format!("Conversation is already in {to}")),
        ChatError::NotAHotelDepartment(to) => {
            HttpError::field("department", &format!("{to} is not a department of this hotel"))
        }
        ChatError::TargetBusy(to, other) => HttpError::with_body(
            409,
            serde_json::json!({ "error": format!("Guest already has an active conversation in {to}"), "conversation_id": other }),
        ),
        ChatError::UnfitAssignee => {
            HttpError::field("staff_id", "Must be active staff of this hotel allowed in the conversation's department.")
        }
        ChatError::Internal(_) => HttpError::internal(),
    }
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
