//! The staff console's static files (`infra/console/` in the repository) at `/console/`: `/console/`
//! is its `index.html`, `/console/guest` the guest simulator's `guest.html`, and every other
//! file is served from that folder by name, read from disk at each request (edit and reload, no
//! build step). The folder is `LOBBYBEE_CONSOLE_DIR`, else `infra/console/` of this source tree.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::{St, json_response};

/// The console's folder.
pub fn dir() -> PathBuf {
    std::env::var_os("LOBBYBEE_CONSOLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../console"))
}

pub(super) fn routes() -> Router<St> {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(|| file("index.html".into())))
        .route("/console/guest", get(|| file("guest.html".into())))
        .route("/console/{*name}", get(|UrlPath(name): UrlPath<String>| file(name)))
}

/// The content type of a file the console may serve; `None` for anything else.
fn content_type(name: &str) -> Option<&'static str> {
    let extension = name.rsplit_once('.')?.1;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => return None,
    })
}

/// Whether `name` is a plain relative path inside the folder (no `..`, no hidden files).
fn is_safe(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

async fn file(name: String) -> Response {
    let not_found = || json_response(StatusCode::NOT_FOUND, &serde_json::json!({ "error": "Not found" }));
    let Some(kind) = content_type(&name).filter(|_| is_safe(&name)) else { return not_found() };
    match tokio::fs::read(dir().join(&name)).await {
        Ok(bytes) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], bytes).into_response()
        }
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_known_types_are_served() {
        for good in ["index.html", "js/api.js", "css/console.css", "img/logo.svg"] {
            assert!(is_safe(good) && content_type(good).is_some(), "{good}");
        }
        for bad in ["../Cargo.toml", "js/../../x.js", ".hidden.js", "a//b.js", "", "a b.js", "%2e%2e/x.js"] {
            assert!(!is_safe(bad), "{bad}");
        }
        assert!(content_type("notes.txt").is_none());
        assert!(content_type("Makefile").is_none());
    }
}
