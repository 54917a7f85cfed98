//! Staff messages on their way to WhatsApp (CONTRACT §5).
//!
//! `$default` and REST send put an [`OutboundJob`] on the outbound queue after storing the
//! message. The `outbound-sender` function consumes it: it calls the WhatsApp Cloud API, stores
//! the returned `wamid` and moves the message to `sent`. Temporary failures (429, 5xx, network)
//! are returned as batch item failures so SQS retries them with its visibility-timeout backoff;
//! on the last attempt (the queue's `maxReceiveCount`) the message is marked `failed` and staff
//! are told, and SQS moves the job to the dead-letter queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::App;
use crate::model::{Conversation, ConversationId, DeliveryStatus, Message, MessageId, MessageType};
use crate::store::IdempotencyRecord;

/// Attempts before a job is given up (keep equal to the queue's `maxReceiveCount`).
const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// A message to send to WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundJob {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Message.
    pub message_id: MessageId,
}

/// Queues a stored staff message for WhatsApp.
pub async fn enqueue(app: &App, conversation: &Conversation, message: &Message) -> Result<(), String> {
    let queue = app.config.outbound_queue_url.as_deref().ok_or("OUTBOUND_QUEUE_URL is not configured")?;
    let job = OutboundJob { conversation_id: conversation.id, message_id: message.id };
    let body = serde_json::to_string(&job).map_err(|e| e.to_string())?;
    app.sqs
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    Ok(())
}

/// What one send attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    /// Done (sent, or nothing left to do).
    Done,
    /// Try again later.
    Retry(String),
    /// Will never work.
    Permanent(String),
}

/// The `outbound-sender` consumer.
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let max_attempts =
        std::env::var("OUTBOUND_MAX_ATTEMPTS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MAX_ATTEMPTS);
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let attempt_number = receive_count(&record);
        let Some(job) = record.body.as_deref().and_then(|b| serde_json::from_str::<OutboundJob>(b).ok()) else {
            tracing::warn!(message_id = %id, "dropping malformed outbound job");
            continue;
        };
        let outcome = send(app, &job).await;
        let give_up = match &outcome {
            Attempt::Done => false,
            Attempt::Permanent(reason) => {
                tracing::warn!(message_id = job.message_id, reason, "WhatsApp refused the message");
                true
            }
            Attempt::Retry(reason) => {
                tracing::warn!(message_id = job.message_id, attempt = attempt_number, reason, "WhatsApp send failed");
                attempt_number >= max_attempts
            }
        };
        if give_up {
            mark(app, &job, DeliveryStatus::Failed, None).await;
        }
        if matches!(outcome, Attempt::Retry(_)) {
            failures.push(id);
        }
    }
    crate::lambda::sqs_batch_response(failures)
}

fn receive_count(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|v| v.parse().ok()).unwrap_or(1)
}

async fn send(app: &App, job: &OutboundJob) -> Attempt {
    let loaded = async {
        let conversation = app.store.get_conversation(job.conversation_id).await?;
        let message = app.store.get_message(job.conversation_id, job.message_id).await?;
        Ok::<_, crate::store::StoreError>((conversation, message))
    };
    let (conversation, message) = match loaded.await {
        Ok((Some(c), Some(m))) => (c, m),
        Ok(_) => return Attempt::Permanent("message no longer exists".into()),
        Err(e) => return Attempt::Retry(e.to_string()),
    };
    if message.delivery_status != Some(DeliveryStatus::Queued) {
        return Attempt::Done; // a redelivered job whose message already went out
    }
    let (guest, hotel) =
        match tokio::try_join!(app.store.get_guest(conversation.guest_id), app.store.get_hotel(&conversation.hotel_id))
        {
            Ok((Some(g), Some(h))) => (g, h),
            Ok(_) => return Attempt::Permanent("guest or hotel no longer exists".into()),
            Err(e) => return Attempt::Retry(e.to_string()),
        };
    let Some(phone_number_id) = hotel.whatsapp_phone_number_id.or_else(|| app.config.whatsapp_phone_number_id.clone())
    else {
        return Attempt::Permanent("no WhatsApp phone number id for this hotel".into());
    };
    let url = format!("{}/{}/messages", app.config.whatsapp_api_base, phone_number_id);
    let to = guest.whatsapp_number.trim_start_matches('+').to_owned();
    let body = payload(&to, &message);
    let mut request = app.http.post(url).json(&body);
    if let Some(token) = &app.config.whatsapp_token {
        request = request.bearer_auth(token);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Attempt::Retry(format!("network: {e}")),
    };
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        return Attempt::Retry(format!("HTTP {status}"));
    }
    if !status.is_success() {
        return Attempt::Permanent(format!("HTTP {status}"));
    }
    let wamid = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v.pointer("/messages/0/id").and_then(Value::as_str).map(str::to_owned));
    if let Some(wamid) = &wamid {
        let record = IdempotencyRecord {
            conversation_id: conversation.id,
            message_id: message.id,
            department: conversation.department,
            conversation_type: conversation.conversation_type,
            conversation_created: false,
        };
        if let Err(e) = app.store.remember_outbound(wamid, &record).await {
            tracing::warn!(error = %e, "could not index wamid");
        }
    }
    mark(app, job, DeliveryStatus::Sent, wamid.as_deref()).await;
    Attempt::Done
}

/// The Cloud API body for a message.
pub fn payload(to: &str, message: &Message) -> Value {
    let mut body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to });
    match (message.message_type, &message.media_url) {
        (kind @ (MessageType::Image | MessageType::Document | MessageType::Audio | MessageType::Video), Some(url)) => {
            let mut media = json!({ "link": url });
            if !message.content.is_empty() && kind != MessageType::Audio {
                media["caption"] = json!(message.content);
            }
            if let (MessageType::Document, Some(name)) = (kind, &message.media_filename) {
                media["filename"] = json!(name);
            }
            body["type"] = json!(kind.as_str());
            body[kind.as_str()] = media;
        }
        _ => {
            body["type"] = json!("text");
            body["text"] = json!({ "preview_url": false, "body": message.content });
        }
    }
    body
}

async fn mark(app: &App, job: &OutboundJob, status: DeliveryStatus, wamid: Option<&str>) {
    let now = crate::clock::now();
    match app.store.set_delivery_status(job.conversation_id, job.message_id, status, wamid, now).await {
        Ok(Some(message)) => {
            if let Ok(Some(conversation)) = app.store.get_conversation(job.conversation_id).await {
                crate::chat::notify_delivery(app, &conversation, &message).await;
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "could not record delivery status"),
    }
}
