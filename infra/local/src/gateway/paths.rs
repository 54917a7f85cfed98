//! Which of the gateway's faces a request path belongs to, and what the path carries: the
//! Django-style socket paths mapped onto query parameters, the connection id of a management
//! call (percent-decoded), and a log-safe rendering of the path.

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`.
    Health,
    /// A WebSocket API path; the extra query parameters its path carries.
    Socket(Vec<(String, String)>),
    /// `/@connections/{id}` or `/{stage}/@connections/{id}`; the decoded connection id.
    Management(String),
    /// The guest webhook's Function URL.
    FunctionUrl,
    /// The HTTP API (`/api/chat/…`).
    HttpApi,
    /// Nothing here.
    NotFound,
}

/// Classifies `path` (the raw, still percent-encoded path). `stage` is also accepted as a socket
/// path (`/local`), as the deployed API's URL ends in its stage.
pub fn route(path: &str, stage: &str) -> Route {
    if path == "/health" {
        return Route::Health;
    }
    if let Some(id) = management_connection_id(path) {
        return Route::Management(id);
    }
    if let Some(params) = socket_params(path, stage) {
        return Route::Socket(params);
    }
    if matches!(path, "/api/chat/guest-webhook" | "/api/chat/guest-webhook/") {
        return Route::FunctionUrl;
    }
    if path == "/api/chat" || path.starts_with("/api/chat/") {
        return Route::HttpApi;
    }
    Route::NotFound
}

/// The query parameters a WebSocket path adds: none for `/`, `/{stage}` and `/ws/chat/`,
/// `department` for `/ws/chat/{department}/`, `whatsapp_number` for
/// `/ws/guest/{whatsapp_number}/` (percent-decoded; the trailing slash is optional).
/// `None` when `path` is not a socket path.
pub fn socket_params(path: &str, stage: &str) -> Option<Vec<(String, String)>> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Some(Vec::new());
    }
    let segments: Vec<&str> = trimmed.strip_prefix('/')?.split('/').collect();
    match segments.as_slice() {
        [only] if !stage.is_empty() && *only == stage => Some(Vec::new()),
        ["ws", "chat"] => Some(Vec::new()),
        ["ws", "chat", department] if !department.is_empty() => {
            Some(vec![("department".to_owned(), percent_decode(department))])
        }
        ["ws", "guest", number] if !number.is_empty() => {
            Some(vec![("whatsapp_number".to_owned(), percent_decode(number))])
        }
        _ => None,
    }
}

/// The connection id of a management API path (`/@connections/{id}` or
/// `/{stage}/@connections/{id}`), percent-decoded: the SDK sends `=` as `%3D`.
pub fn management_connection_id(path: &str) -> Option<String> {
    // (One call per push: read in place, without splitting the path into a list.)
    let (head, id) = path.strip_prefix('/')?.rsplit_once('/')?;
    let stage_ok = |stage: &str| !stage.is_empty() && !stage.contains('/');
    if head != "@connections" && !head.strip_suffix("/@connections").is_some_and(stage_ok) {
        return None;
    }
    let id = percent_decode(id);
    (!id.is_empty()).then_some(id)
}

/// Decoded query string pairs (`+` is a space, as browsers encode forms), in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

/// `%20` → ` ` in a path segment (`+` stays a plus); invalid UTF-8 is replaced.
pub fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The path as logs may show it: a guest's phone number in `/ws/guest/{number}/` is hidden.
/// Query strings never reach the logs (they carry tokens).
pub fn log_path(path: &str) -> &str {
    if path.starts_with("/ws/guest/") && path.len() > "/ws/guest/".len() {
        "/ws/guest/{whatsapp_number}/"
    } else {
        path
    }
}
