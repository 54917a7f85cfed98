//! The WhatsApp Cloud API request bodies (docs/api.md §7).

use serde_json::{Value, json};

use crate::app::App;
use crate::config::ReopenTemplate;
use crate::model::{Conversation, ConversationId, Message, MessageType, OutboundKind};
use crate::reopen;

/// How long WhatsApp may take to fetch a file the stack holds.
const MEDIA_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The Cloud API body of a job; `Err` when it can never be built.
pub(super) async fn cloud_api_body(
    app: &App,
    kind: &OutboundKind,
    to: &str,
    conversation: &Conversation,
    message: Option<&Message>,
) -> Result<Value, String> {
    let stored = || message.ok_or_else(|| "job without its message".to_owned());
    Ok(match kind {
        OutboundKind::Message => {
            let message = stored()?;
            // The stable `/media/{key}` links open only with a staff token: WhatsApp fetches the
            // file through a short-lived presigned URL instead.
            match message.media_url.as_deref().and_then(|link| crate::media::own_key(link, conversation)) {
                Some(key) => {
                    let fetchable = crate::media::presigned_get(app, key, MEDIA_LINK_TTL).await?;
                    payload(to, &Message { media_url: Some(fetchable), ..message.clone() })
                }
                None => payload(to, message),
            }
        }
        OutboundKind::ReopenButton => reopen_button(to, conversation.id, &stored()?.content),
        OutboundKind::ReopenTemplate => {
            let template = app.config.reopen_template.as_ref().ok_or("WHATSAPP_REOPEN_TEMPLATE is not configured")?;
            reopen_template(to, template, conversation)
        }
        OutboundKind::Notice(text) => text_body(to, text),
    })
}

fn envelope(to: &str) -> Value {
    json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to })
}

fn text_body(to: &str, text: &str) -> Value {
    let mut body = envelope(to);
    body["type"] = json!("text");
    body["text"] = json!({ "preview_url": false, "body": text });
    body
}

/// The Cloud API body for a message.
pub fn payload(to: &str, message: &Message) -> Value {
    match (message.message_type, &message.media_url) {
        (kind @ (MessageType::Image | MessageType::Document | MessageType::Audio | MessageType::Video), Some(url)) => {
            let mut media = json!({ "link": url });
            if !message.content.is_empty() && kind != MessageType::Audio {
                media["caption"] = json!(message.content);
            }
            if let (MessageType::Document, Some(name)) = (kind, &message.media_filename) {
                media["filename"] = json!(name);
            }
            let mut body = envelope(to);
            body["type"] = json!(kind.as_str());
            body[kind.as_str()] = media;
            body
        }
        _ => text_body(to, &message.content),
    }
}

/// The interactive message with the one `Continue` reply button (docs/api.md §5).
pub fn reopen_button(to: &str, conversation: ConversationId, question: &str) -> Value {
    let mut body = envelope(to);
    body["type"] = json!("interactive");
    body["interactive"] = json!({
        "type": "button",
        "body": { "text": question },
        "action": { "buttons": [
            { "type": "reply", "reply": { "id": reopen::button_id(conversation), "title": reopen::BUTTON_TITLE } }
        ] },
    });
    body
}

/// The approved reopen template: its body's one variable is the department, its quick-reply
/// button (index 0) carries the reopen id as payload (docs/decisions.md).
pub fn reopen_template(to: &str, template: &ReopenTemplate, conversation: &Conversation) -> Value {
    let mut body = envelope(to);
    body["type"] = json!("template");
    body["template"] = json!({
        "name": template.name,
        "language": { "code": template.language },
        "components": [
            { "type": "body", "parameters": [ { "type": "text", "text": conversation.department.as_str() } ] },
            { "type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [
                { "type": "payload", "payload": reopen::button_id(conversation.id) }
            ] },
        ],
    });
    body
}
