//! The REST API (docs/api.md §4), one Lambda behind the HTTP API (payload v2).
//!
//! [`handle`] runs each request through an axum [`Router`]: the routes of the contract (with or
//! without the `/api/chat` prefix, and with or without the trailing slash: tower-http's
//! `NormalizePath`), CORS for the configured origins (tower-http's `CorsLayer`; preflights are
//! answered 204 as API Gateway does), and every error as the JSON shapes of the contract.
//! Endpoints live in [`conversations`], [`admin`] and [`media`]; each is a plain async function
//! of the app and the request exactly as the Lambda runtime delivered it.

pub mod admin;
pub mod conversations;
pub mod form;
pub mod media;

use axum::Router;
use axum::extract::{Path, Request as RoutedRequest, State};
use axum::routing::{get, post, put};
use http_body_util::BodyExt;
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::normalize_path::NormalizePath;
use tracing::Instrument;

use crate::app::App;
use crate::auth::{self, StaffAuthError, StaffPrincipal};
use crate::http::{self as h, HttpError};

/// Entry point of the REST function.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let span = tracing::info_span!("rest", request_id = %h::request_id(&request), method = %request.method());
    async move {
        let started = std::time::Instant::now();
        let service = NormalizePath::trim_trailing_slash(router(app));
        let response = match service.oneshot(request).await {
            Ok(response) => lambda_response(response).await,
            Err(never) => match never {},
        };
        tracing::info!(status = response.status().as_u16(), "answered");
        crate::telemetry::metric("RestLatency", started.elapsed().as_secs_f64() * 1e3);
        response
    }
    .instrument(span)
    .await
}

/// The routes of docs/api.md §4, under `/api/chat` and at the root (the HTTP API's route is
/// `/{proxy+}`; the local gateway and custom domains may or may not keep the prefix).
fn router(app: &App) -> Router {
    let routes = Router::new()
        .route("/conversations", get(|s: State<App>, r| staff_call(s, r, conversations::list)))
        .route("/conversations/{id}", get(|s: State<App>, Path(id): Path<String>, r| detail(s, id, r)))
        .route("/conversations/create", post(|s: State<App>, r| staff_call(s, r, conversations::create)))
        .route("/conversations/close", post(|s: State<App>, r| staff_call(s, r, conversations::close)))
        .route("/conversations/transfer", post(|s: State<App>, r| staff_call(s, r, conversations::transfer)))
        .route("/conversations/assign", post(|s: State<App>, r| staff_call(s, r, conversations::assign)))
        .route("/messages/mark-read", post(|s: State<App>, r| staff_call(s, r, conversations::mark_read)))
        .route("/messages/typing", post(|s: State<App>, r| staff_call(s, r, conversations::typing)))
        .route("/messages/send", post(|s: State<App>, r| staff_call(s, r, conversations::send)))
        .route("/upload-media", post(|s: State<App>, r| staff_call(s, r, media::upload)))
        .route("/media/upload-url", post(|s: State<App>, r| staff_call(s, r, media::upload_url)))
        .route("/media/{*key}", get(|s: State<App>, Path(key): Path<String>, r| download(s, key, r)))
        .route("/guest/conversation-type", get(guest_conversation_type))
        .route("/admin/hotels/{id}", put(|s: State<App>, id: Path<String>, r| admin_call(s, id, r, admin::put_hotel)))
        .route(
            "/admin/staff/{id}",
            put(|s: State<App>, id: Path<String>, r| admin_call(s, id, r, admin::put_staff))
                .delete(|s: State<App>, id: Path<String>, r| admin_call(s, id, r, admin::deactivate_staff)),
        )
        .route("/admin/guests/{id}", put(|s: State<App>, id: Path<String>, r| admin_call(s, id, r, admin::put_guest)))
        .route("/admin/stays/{id}", put(|s: State<App>, id: Path<String>, r| admin_call(s, id, r, admin::put_stay)));
    Router::new()
        .nest("/api/chat", routes.clone())
        .merge(routes)
        .fallback(|| async { axum_response(Err(HttpError::new(404, "Not found"))) })
        .method_not_allowed_fallback(|| async { axum_response(Err(HttpError::new(404, "Not found"))) })
        .layer(cors(app))
        .layer(axum::middleware::from_fn(preflight_no_content))
        .with_state(app.clone())
}

/// The request as the Lambda runtime delivered it (headers, query and context extensions kept),
/// its body read back from the router.
async fn lambda_request(request: RoutedRequest) -> Result<Request, HttpError> {
    let (parts, body) = request.into_parts();
    let bytes = body.collect().await.map_err(|_| HttpError::new(400, "Invalid body"))?.to_bytes();
    let body = if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) };
    Ok(Request::from_parts(parts, body))
}

/// An endpoint's answer (or error, in the contract's JSON) as the router's response.
fn axum_response(answer: Result<Response<Body>, HttpError>) -> axum::response::Response {
    answer.unwrap_or_else(HttpError::into_response).map(axum::body::Body::new)
}

/// The router's response as the Lambda runtime sends it: JSON and text as text, the rest
/// (media) as binary.
async fn lambda_response(response: axum::response::Response) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let textual = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/"));
    let body = if bytes.is_empty() {
        Body::Empty
    } else if textual && let Ok(text) = String::from_utf8(bytes.to_vec()) {
        Body::Text(text)
    } else {
        Body::Binary(bytes.to_vec())
    };
    Response::from_parts(parts, body)
}

/// Runs a staff endpoint: the caller authenticated as a chat member first.
async fn staff_call(
    State(app): State<App>,
    request: RoutedRequest,
    endpoint: impl AsyncFnOnce(&App, &StaffPrincipal, &Request) -> Result<Response<Body>, HttpError>,
) -> axum::response::Response {
    let answer = async {
        let request = lambda_request(request).await?;
        let principal = staff(&app, &request).await?;
        endpoint(&app, &principal, &request).await
    };
    axum_response(answer.await)
}

/// Runs a provisioning endpoint on the entity `id`.
async fn admin_call(
    State(app): State<App>,
    Path(id): Path<String>,
    request: RoutedRequest,
    endpoint: impl AsyncFnOnce(&App, &Request, &str) -> Result<Response<Body>, HttpError>,
) -> axum::response::Response {
    let answer = async { endpoint(&app, &lambda_request(request).await?, &id).await };
    axum_response(answer.await)
}

async fn detail(State(app): State<App>, id: String, request: RoutedRequest) -> axum::response::Response {
    let answer = async {
        let request = lambda_request(request).await?;
        conversations::detail(&app, &staff(&app, &request).await?, &id, &request).await
    };
    axum_response(answer.await)
}

async fn download(State(app): State<App>, key: String, request: RoutedRequest) -> axum::response::Response {
    let answer = async {
        let request = lambda_request(request).await?;
        media::download(&app, &staff(&app, &request).await?, &key).await
    };
    axum_response(answer.await)
}

async fn guest_conversation_type(State(app): State<App>, request: RoutedRequest) -> axum::response::Response {
    let answer = async {
        let request = lambda_request(request).await?;
        conversations::guest_conversation_type(&app, &admin::provisioner(&app, &request).await?, &request).await
    };
    axum_response(answer.await)
}

/// CORS for the configured origins (`*` allows any): tower-http answers preflights and adds the
/// headers to every answer for an allowed origin.
fn cors(app: &App) -> CorsLayer {
    let allowed = app.config.allowed_origins.clone();
    let origin = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
        allowed.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    });
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::HeaderName::from_static("x-api-key")])
        .expose_headers([header::HeaderName::from_static("x-next-cursor")])
        .max_age(std::time::Duration::from_secs(600))
}

/// Preflights answer 204 No Content, as API Gateway's own CORS does (tower-http answers 200).
async fn preflight_no_content(request: RoutedRequest, next: axum::middleware::Next) -> axum::response::Response {
    let preflight = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
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
