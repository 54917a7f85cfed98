//! Media the system holds in the stack's bucket (docs/api.md §4): guest media fetched from the
//! WhatsApp Graph API, staff uploads, and the stable `<REST base>/media/{key}` links that
//! redirect to short-lived presigned URLs.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use serde_json::Value;

use crate::app::App;
use crate::model::{Conversation, ConversationId};

/// Largest media file the system stores (WhatsApp's own limit for most types).
pub const MAX_MEDIA_BYTES: usize = 16 * 1024 * 1024;

/// The hotel and conversation an object key of the bucket belongs to:
/// `uploads/{hotel}/{conversation}/{uuid}/{name}` (staff uploads) or
/// `whatsapp/{hotel}/{conversation}/{media id}` (guest media).
pub fn key_owner(key: &str) -> Option<(&str, ConversationId)> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["uploads", hotel, conversation, _, _] | ["whatsapp", hotel, conversation, _] => {
            Some((*hotel, conversation.parse().ok()?))
        }
        _ => None,
    }
}

/// The object key behind a stable link (`…/media/{key}`) when the object belongs to
/// `conversation`: only such links are ever handed to WhatsApp as presigned URLs, so a link to
/// another conversation's file cannot leak it to this guest.
pub fn own_key<'a>(link: &'a str, conversation: &Conversation) -> Option<&'a str> {
    let key = link.split_once("/media/")?.1;
    (key_owner(key)? == (conversation.hotel_id.as_str(), conversation.id)).then_some(key)
}

/// A presigned GET of `key` in the stack's bucket, valid for `ttl`.
pub async fn presigned_get(app: &App, key: &str, ttl: Duration) -> Result<String, String> {
    let bucket = app.config.media_bucket.as_deref().ok_or("MEDIA_BUCKET is not configured")?;
    let config = PresigningConfig::expires_in(ttl).map_err(|e| e.to_string())?;
    let presigned = app.s3().get_object().bucket(bucket).key(key).presigned(config).await.map_err(|e| e.to_string())?;
    Ok(presigned.uri().to_owned())
}

/// The stable link of an object key.
pub fn media_link(app: &App, key: &str) -> Option<String> {
    app.config.public_base_url.as_ref().map(|base| format!("{base}/media/{key}"))
}

/// Fetches the media of a Meta message item (`image`, `document`, `audio`, `video`) into the
/// bucket, under the conversation it was stored in, and returns its stable link. `None` when the item has no media, when media import is
/// not configured (`WHATSAPP_TOKEN`, `MEDIA_BUCKET`, `PUBLIC_BASE_URL`), or when the Graph API
/// fails; the message is stored either way (with its caption), never lost.
pub async fn import_whatsapp_media(
    app: &App,
    hotel_id: &str,
    conversation_id: crate::model::ConversationId,
    message: &Value,
) -> Option<String> {
    let kind = message.get("type").and_then(Value::as_str)?;
    if !matches!(kind, "image" | "document" | "audio" | "video") {
        return None;
    }
    let media_id = message.pointer(&format!("/{kind}/id")).and_then(Value::as_str)?;
    let token = app.config.whatsapp_token.as_deref()?;
    let bucket = app.config.media_bucket.as_deref()?;
    app.config.public_base_url.as_ref()?;
    // The message is already stored: a failed download is tried twice more (after 0.2 s and
    // 0.6 s), and even a last failure loses only the file, never the message.
    let mut result = Err(String::new());
    for attempt in 0..IMPORT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * 3u64.pow(attempt - 1))).await;
        }
        result = download_once(app, token, bucket, hotel_id, conversation_id, media_id).await;
        if result.is_ok() {
            break;
        }
    }
    match result {
        Ok(key) => media_link(app, &key),
        Err(e) => {
            tracing::warn!(media_id, error = %e, "could not import WhatsApp media");
            None
        }
    }
}

/// Tries to import a media file: downloads made by this many calls before giving up.
const IMPORT_ATTEMPTS: u32 = 3;

/// One download of a Meta media id into the bucket; the object key on success.
async fn download_once(
    app: &App,
    token: &str,
    bucket: &str,
    hotel_id: &str,
    conversation_id: crate::model::ConversationId,
    media_id: &str,
) -> Result<String, String> {
    {
        let meta: Value = app
            .http()
            .get(format!("{}/{media_id}", app.config.whatsapp_api_base))
            .bearer_auth(token)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let url = meta.get("url").and_then(Value::as_str).ok_or("no url in media metadata")?;
        let mime = meta.get("mime_type").and_then(Value::as_str).unwrap_or("application/octet-stream").to_owned();
        let bytes = app
            .http()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err("media too large".to_owned());
        }
        let key = format!("whatsapp/{hotel_id}/{conversation_id}/{media_id}");
        app.s3()
            .put_object()
            .bucket(bucket)
            .key(&key)
            .content_type(mime)
            .body(bytes.to_vec().into())
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_belong_to_their_conversation() {
        assert_eq!(key_owner("uploads/h1/7/0a1b/photo.jpg"), Some(("h1", 7)));
        assert_eq!(key_owner("whatsapp/h1/7/123456"), Some(("h1", 7)));
        assert_eq!(key_owner("uploads/h1/x/0a1b/photo.jpg"), None);
        assert_eq!(key_owner("other/h1/7/a"), None);
        let conversation: Conversation = serde_json::from_value(serde_json::json!({
            "id": 7, "hotel_id": "h1", "guest_id": 1, "department": "Reception", "conversation_type": "service",
            "status": "active", "last_message_at": "2026-12-01T10:00:00Z", "created_at": "2026-12-01T10:00:00Z",
            "updated_at": "2026-12-01T10:00:00Z"
        }))
        .unwrap();
        let base = "https://api.example/api/chat/media/";
        assert_eq!(
            own_key(&format!("{base}uploads/h1/7/0a1b/photo.jpg"), &conversation),
            Some("uploads/h1/7/0a1b/photo.jpg")
        );
        assert_eq!(own_key(&format!("{base}uploads/h1/8/0a1b/photo.jpg"), &conversation), None, "another conversation");
        assert_eq!(own_key(&format!("{base}uploads/h2/7/0a1b/photo.jpg"), &conversation), None, "another hotel");
        assert_eq!(own_key("https://cdn.example/photo.jpg", &conversation), None, "an external link");
    }
}
