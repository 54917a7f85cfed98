//! Media the system holds in the stack's bucket (CONTRACT §3.4): guest media fetched from the
//! WhatsApp Graph API, staff uploads, and the stable `<REST base>/media/{key}` links that
//! redirect to short-lived presigned URLs.

use serde_json::Value;

use crate::app::App;

/// Largest media file the system stores (WhatsApp's own limit for most types).
pub const MAX_MEDIA_BYTES: usize = 16 * 1024 * 1024;

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
    let result = async {
        let meta: Value = app
            .http
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
            .http
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
        app.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .content_type(mime)
            .body(bytes.to_vec().into())
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())?;
        Ok::<_, String>(key)
    }
    .await;
    match result {
        Ok(key) => media_link(app, &key),
        Err(e) => {
            tracing::warn!(media_id, error = %e, "could not import WhatsApp media");
            None
        }
    }
}
