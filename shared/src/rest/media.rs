//! Media endpoints (docs/api.md §4): direct upload (≤ 4 MiB, multipart), presigned upload URLs
//! for larger files (≤ 16 MB), and the stable `/media/{key}` links that redirect to a fresh
//! presigned GET for staff who may see the conversation.
//!
//! Object keys: `uploads/{hotel}/{conversation}/{uuid}/{filename}` and
//! `whatsapp/{hotel}/{conversation}/{media id}`; a link opens for staff who may see that
//! conversation.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::form::Form;
use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::chat::{self, ChatError};
use crate::http::{self as h, HttpError};

/// Largest direct upload.
pub const MAX_DIRECT_UPLOAD: usize = 4 * 1024 * 1024;
/// Lifetime of presigned URLs.
const PRESIGN_TTL: Duration = Duration::from_secs(300);

fn bucket(app: &App) -> Result<&str, HttpError> {
    app.config.media_bucket.as_deref().ok_or_else(|| HttpError::new(503, "Media storage is not configured"))
}

/// The stable link of `key` under this API's public base.
fn link(app: &App, request: &Request, key: &str) -> String {
    format!("{}/media/{key}", super::public_base(app, request))
}

/// Document types accepted besides images, audio and video (what WhatsApp itself delivers).
const DOCUMENT_TYPES: &[&str] = &[
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "text/plain",
    "text/csv",
];

/// Whether a MIME type may be stored: images, audio, video and common documents.
pub fn allowed_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let main = essence.split('/').next().unwrap_or_default();
    matches!(main, "image" | "audio" | "video") || DOCUMENT_TYPES.contains(&essence.as_str())
}

/// `image`, `document`, `audio` or `video` from a MIME type.
pub fn file_type(content_type: &str) -> &'static str {
    let main = content_type.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match main.as_str() {
        "image" => "image",
        "audio" => "audio",
        "video" => "video",
        _ => "document",
    }
}

/// Keeps file names safe inside an object key.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(100)
        .collect();
    if cleaned.trim_matches('.').is_empty() { "file".into() } else { cleaned }
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Field name.
    pub name: String,
    /// File name, for file parts.
    pub filename: Option<String>,
    /// Part content type.
    pub content_type: Option<String>,
    /// Content.
    pub data: Vec<u8>,
}

/// Splits a `multipart/form-data` body (`None` when malformed).
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type.split(';').map(str::trim).find_map(|p| p.strip_prefix("boundary="))?.trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = body;
    let start = find(rest, &delimiter)?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, &delimiter)?;
        let chunk = rest[..end].strip_suffix(b"\r\n")?;
        let split = find(chunk, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&chunk[..split]).ok()?;
        let data = chunk[split + 4..].to_vec();
        let mut part = Part { name: String::new(), filename: None, content_type: None, data };
        for line in headers.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if key.eq_ignore_ascii_case("content-disposition") {
                for attr in value.split(';').map(str::trim) {
                    if let Some(v) = attr.strip_prefix("name=") {
                        part.name = v.trim_matches('"').to_owned();
                    } else if let Some(v) = attr.strip_prefix("filename=") {
                        part.filename = Some(v.trim_matches('"').to_owned());
                    }
                }
            } else if key.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(part);
        rest = &rest[end + delimiter.len()..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `POST /upload-media/` (multipart: `conversation_id`, `file`, optional `caption`).
pub async fn upload(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::body_bytes(request);
    if body.len() > MAX_DIRECT_UPLOAD + 64 * 1024 {
        return Err(HttpError::new(413, "File too large"));
    }
    let content_type = h::header(request, "content-type").unwrap_or_default();
    let parts = parse_multipart(content_type, body)
        .ok_or_else(|| HttpError::field("file", "Expected a multipart/form-data body."))?;
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let text = |name: &str| field(name).and_then(|p| std::str::from_utf8(&p.data).ok()).map(|s| s.trim().to_owned());
    let conversation_id = text("conversation_id").and_then(|s| s.parse::<u64>().ok());
    let file = field("file").filter(|p| p.filename.is_some());
    let caption = text("caption").unwrap_or_default();
    let long_caption = crate::limits::over(&caption, crate::limits::CAPTION_CHARS);
    let (Some(conversation_id), Some(file), false) = (conversation_id, file, long_caption) else {
        let mut details = crate::http::Details::new();
        if long_caption {
            details.insert("caption".into(), vec![crate::limits::too_long(crate::limits::CAPTION_CHARS)]);
        }
        if conversation_id.is_none() {
            details.insert("conversation_id".into(), vec![super::form::REQUIRED.into()]);
        }
        if file.is_none() {
            details.insert("file".into(), vec!["No file was submitted.".into()]);
        }
        return Err(HttpError::invalid(details));
    };
    if file.data.len() > MAX_DIRECT_UPLOAD {
        return Err(HttpError::new(413, "File too large"));
    }
    let mime = file.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
    if !allowed_type(&mime) {
        return Err(HttpError::field("file", "Unsupported file type."));
    }
    chat::conversation_for(app, principal, conversation_id).await.map_err(|e: ChatError| super::chat_answer(&e))?;
    let filename = safe_name(file.filename.as_deref().unwrap_or("file"));
    let key = format!("uploads/{}/{conversation_id}/{}/{filename}", principal.hotel.id, uuid::Uuid::new_v4().simple());
    app.s3()
        .put_object()
        .bucket(bucket(app)?)
        .key(&key)
        .content_type(&mime)
        .body(file.data.clone().into())
        .send()
        .await
        .map_err(|e| {
            tracing::error!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "upload failed");
            HttpError::internal()
        })?;
    let file_url = link(app, request, &key);
    Ok(h::json_response(
        201,
        &json!({
            "file_url": file_url,
            "filename": filename,
            "file_type": file_type(&mime),
            "file_size": file.data.len(),
            "caption": caption,
            "conversation_id": conversation_id,
        }),
    ))
}

/// `POST /media/upload-url/`.
pub async fn upload_url(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let conversation_id = form.id("conversation_id", true);
    let filename = form.text("filename", true);
    let content_type = form.text("content_type", true);
    let size = form.integer("size");
    match size {
        None => form.fail("size", super::form::REQUIRED),
        Some(s) if s <= 0 => form.fail("size", "Must be positive."),
        Some(s) if s > crate::media::MAX_MEDIA_BYTES as i64 => {
            form.finish()?;
            return Err(HttpError::new(413, "File too large"));
        }
        Some(_) => {}
    }
    if content_type.as_deref().is_some_and(|t| !allowed_type(t)) {
        form.fail("content_type", "Unsupported file type.");
    }
    form.finish()?;
    let (Some(conversation_id), Some(filename), Some(content_type)) = (conversation_id, filename, content_type) else {
        return Err(HttpError::new(400, "Invalid data"));
    };
    chat::conversation_for(app, principal, conversation_id).await.map_err(|e| super::chat_answer(&e))?;
    let key = format!(
        "uploads/{}/{conversation_id}/{}/{}",
        principal.hotel.id,
        uuid::Uuid::new_v4().simple(),
        safe_name(&filename)
    );
    let presigned = app
        .s3()
        .put_object()
        .bucket(bucket(app)?)
        .key(&key)
        .content_type(&content_type)
        .presigned(PresigningConfig::expires_in(PRESIGN_TTL).map_err(|_| HttpError::internal())?)
        .await
        .map_err(|_| HttpError::internal())?;
    let file_url = link(app, request, &key);
    Ok(h::json_response(
        200,
        &json!({ "upload_url": presigned.uri(), "file_url": file_url, "key": key, "expires_in": PRESIGN_TTL.as_secs() }),
    ))
}

/// `GET /media/{key}`: 302 to a presigned GET when the caller may see the media, else 404.
pub async fn download(app: &App, principal: &StaffPrincipal, key: &str) -> Result<Response<Body>, HttpError> {
    let not_found = || HttpError::new(404, "Not found");
    let allowed = match crate::media::key_owner(key) {
        Some((hotel, conversation)) if hotel == principal.hotel.id => {
            chat::conversation_for(app, principal, conversation).await.is_ok()
        }
        _ => false,
    };
    if !allowed {
        return Err(not_found());
    }
    let location = crate::media::presigned_get(app, key, PRESIGN_TTL).await.map_err(|e| {
        tracing::error!(error = %e, "could not presign a media link");
        HttpError::internal()
    })?;
    Ok(Response::builder()
        .status(302)
        .header("location", location)
        .body(Body::Empty)
        .unwrap_or_else(|_| h::empty_response(500)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_multipart_body() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"conversation_id\"\r\n\r\n7\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "conversation_id");
        assert_eq!(parts[0].data, b"7");
        assert_eq!(parts[1].filename.as_deref(), Some("a b.png"));
        assert_eq!(parts[1].data, b"\x89PNG");
        assert_eq!(parse_multipart("multipart/form-data", body), None);
        assert_eq!(parse_multipart("multipart/form-data; boundary=XyZ", b"garbage"), None);
    }

    #[test]
    fn names_and_types() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("photo (1).jpg"), "photo__1_.jpg");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(file_type("image/jpeg"), "image");
        assert_eq!(file_type("application/pdf"), "document");
        assert!(
            allowed_type("image/jpeg") && allowed_type("application/pdf; charset=binary") && allowed_type("VIDEO/MP4")
        );
        assert!(!allowed_type("application/x-msdownload") && !allowed_type("text/html") && !allowed_type(""));
    }
}
