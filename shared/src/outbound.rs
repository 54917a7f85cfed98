//! Staff messages on their way to WhatsApp (docs/api.md §7).
//!
//! `$default` and REST send put an [`OutboundJob`] on the outbound queue after storing the
//! message. The `outbound-sender` function consumes it: it calls the WhatsApp Cloud API, stores
//! the returned `wamid` and moves the message to `sent`. Temporary failures (429, 5xx, network,
//! and the Graph API's throttling codes whatever their status: see `refused`) are returned as
//! batch item failures, made visible again after an exponential backoff (30 s, 1 min, 2 min,
//! …); on the last attempt (the queue's `maxReceiveCount`) the message is marked
//! `failed` and staff are told, and SQS moves the job to the dead-letter queue.
//!
//! A job lost between storing the message and queueing it (the function died in between) is
//! found by [`sweep`] in the outbox (`store::outbox`) and queued again.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::App;
use crate::config::ReopenTemplate;
pub use crate::model::OutboundKind;
use crate::model::{Conversation, ConversationId, DeliveryStatus, Message, MessageId, MessageType};
use crate::reopen;
use crate::store::IdempotencyRecord;

/// Attempts before a job is given up (keep equal to the queue's `maxReceiveCount`).
const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// A message to send to WhatsApp.
///
/// Jobs written before the reopen button existed (`{"conversation_id", "message_id"}`) read as
/// [`OutboundKind::Message`], so a deployment never strands queued jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundJob {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The stored message whose delivery this job is (absent for a [`OutboundKind::Notice`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// What the Cloud API is sent.
    #[serde(default, skip_serializing_if = "OutboundKind::is_message")]
    pub kind: OutboundKind,
}

/// Queues a stored staff message for WhatsApp, in the form `kind` says.
pub async fn enqueue(
    app: &App,
    conversation: &Conversation,
    message: &Message,
    kind: OutboundKind,
) -> Result<(), String> {
    put(app, &OutboundJob { conversation_id: conversation.id, message_id: Some(message.id), kind }).await
}

/// Queues an automatic text for the guest of `conversation` (not stored as a message).
pub async fn enqueue_notice(app: &App, conversation: &Conversation, text: &str) -> Result<(), String> {
    put(
        app,
        &OutboundJob { conversation_id: conversation.id, message_id: None, kind: OutboundKind::Notice(text.into()) },
    )
    .await
}

async fn put(app: &App, job: &OutboundJob) -> Result<(), String> {
    let queue = app.config.outbound_queue_url.as_deref().ok_or("OUTBOUND_QUEUE_URL is not configured")?;
    let body = serde_json::to_string(job).map_err(|e| e.to_string())?;
    app.sqs
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    Ok(())
}

/// How long a message may stay `queued` before the sweep takes its job for lost: longer than a
/// job's whole life in the queue (five attempts 30 s to 4 min apart, ≈ 8 min, each up to the
/// sender's 60 s timeout). A job that was only late is harmless: the claim sends once.
pub const LOST_AFTER: chrono::Duration = chrono::Duration::minutes(20);

/// Entries read per outbox query, and queries per sweep at most (the rest wait for the next run).
const SWEEP_PAGE: usize = 100;
const SWEEP_PAGES: usize = 20;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Jobs queued again.
    pub requeued: usize,
    /// Entries that left the outbox while the sweep looked at them.
    pub settled: usize,
}

/// The `outbound-sweeper` task (every 5 minutes): queues the job of every message that has been
/// `queued` for longer than [`LOST_AFTER`] again (store/outbox.rs). Each entry is first moved to
/// a later due time, then its job is queued, so a sweep that dies between the two only delays
/// the message to the next due time, and two sweeps never both queue it.
pub async fn sweep(app: &App, now: chrono::DateTime<chrono::Utc>) -> Result<SweepReport, String> {
    let mut report = SweepReport::default();
    for _ in 0..SWEEP_PAGES {
        let page = app.store.overdue_outbox(now - LOST_AFTER, SWEEP_PAGE).await.map_err(|e| e.to_string())?;
        let before = report.clone();
        for entry in page.entries {
            if !app.store.rearm_outbox(&entry, now).await.map_err(|e| e.to_string())? {
                report.settled += 1;
                continue;
            }
            let job = OutboundJob {
                conversation_id: entry.conversation_id,
                message_id: Some(entry.message_id),
                kind: entry.send_as,
            };
            put(app, &job).await?;
            tracing::warn!(
                conversation_id = job.conversation_id,
                message_id = entry.message_id,
                "queued a lost outbound job again"
            );
            report.requeued += 1;
        }
        // An index that still shows settled entries must not keep the loop going.
        if !page.more || report.requeued == before.requeued {
            break;
        }
    }
    crate::telemetry::metric("OutboundRequeued", report.requeued as f64);
    Ok(report)
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

/// How long a sender holds a message it is sending (longer than the Cloud API call's 10 s
/// timeout); after that, a crashed sender's message may be taken again.
const SEND_CLAIM: chrono::Duration = chrono::Duration::seconds(60);

/// Conversations of one batch sent at the same time (each conversation's jobs stay in order).
const BATCH_CONCURRENCY: usize = 10;

/// Time after which a batch starts no new send: the rest go back to the queue for the next
/// invocation, well inside the function's timeout (60 s in template.yaml), so a slow Cloud API
/// never makes a whole batch time out and come back.
const BATCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(40);

/// The `outbound-sender` consumer. Jobs of different conversations are sent concurrently; the
/// jobs of one conversation one after another, in queue order, so a guest reads replies in the
/// order staff wrote them.
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let max_attempts =
        std::env::var("OUTBOUND_MAX_ATTEMPTS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MAX_ATTEMPTS);
    let started = std::time::Instant::now();
    let mut conversations: Vec<(ConversationId, Vec<(SqsMessage, OutboundJob)>)> = Vec::new();
    for record in event.records {
        let Some(job) = record.body.as_deref().and_then(|b| serde_json::from_str::<OutboundJob>(b).ok()) else {
            tracing::warn!(message_id = record.message_id.as_deref(), "dropping malformed outbound job");
            continue;
        };
        match conversations.iter_mut().find(|(c, _)| *c == job.conversation_id) {
            Some((_, jobs)) => jobs.push((record, job)),
            None => conversations.push((job.conversation_id, vec![(record, job)])),
        }
    }
    let failures: Vec<String> = futures::stream::iter(conversations)
        .map(|(_, jobs)| async move {
            let mut failures = Vec::new();
            for (record, job) in jobs {
                let attempt_number = receive_count(&record);
                let again = if started.elapsed() > BATCH_BUDGET {
                    Some(BUDGET_RETRY) // not tried: soon back from the queue
                } else if attempt(app, &job, attempt_number, max_attempts).await {
                    None
                } else {
                    Some(backoff(attempt_number))
                };
                if let Some(delay) = again {
                    retry_after(app, &record, delay).await;
                    failures.push(record.message_id.unwrap_or_default());
                }
            }
            failures
        })
        .buffer_unordered(BATCH_CONCURRENCY)
        .concat()
        .await;
    crate::lambda::sqs_batch_response(failures)
}

/// When a job left untried by [`BATCH_BUDGET`] comes back.
const BUDGET_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Exponential backoff after a failed attempt: 30 s, 1 min, 2 min, 4 min, … at most 15 min.
fn backoff(attempt_number: u32) -> std::time::Duration {
    std::time::Duration::from_secs((30u64 << attempt_number.saturating_sub(1).min(5)).min(900))
}

/// Makes a returned job visible again after `delay` (instead of the queue's visibility
/// timeout); if that fails, the queue's own timeout applies.
async fn retry_after(app: &App, record: &SqsMessage, delay: std::time::Duration) {
    let (Some(queue), Some(receipt)) = (app.config.outbound_queue_url.as_deref(), record.receipt_handle.as_deref())
    else {
        return;
    };
    let seconds = i32::try_from(delay.as_secs()).unwrap_or(900);
    let changed = app
        .sqs
        .change_message_visibility()
        .queue_url(queue)
        .receipt_handle(receipt)
        .visibility_timeout(seconds)
        .send()
        .await;
    if let Err(e) = changed {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "could not schedule the retry");
    }
}

/// One try of one job; `false` when it must come back from the queue later.
async fn attempt(app: &App, job: &OutboundJob, attempt_number: u32, max_attempts: u32) -> bool {
    let outcome = send(app, job).await;
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
        crate::telemetry::metric("OutboundFailed", 1.0);
        mark(app, job, DeliveryStatus::Failed, None).await;
    } else if matches!(outcome, Attempt::Retry(_)) {
        crate::telemetry::metric("OutboundRetried", 1.0);
    }
    !matches!(outcome, Attempt::Retry(_))
}

fn receive_count(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|v| v.parse().ok()).unwrap_or(1)
}

async fn send(app: &App, job: &OutboundJob) -> Attempt {
    let loaded = async {
        let conversation = app.store.get_conversation(job.conversation_id).await?;
        let message = match job.message_id {
            Some(id) => app.store.get_message(job.conversation_id, id).await?.map(Some),
            None => Some(None),
        };
        Ok::<_, crate::store::StoreError>((conversation, message))
    };
    let (conversation, message) = match loaded.await {
        Ok((Some(c), Some(m))) => (c, m),
        Ok(_) => return Attempt::Permanent("message no longer exists".into()),
        Err(e) => return Attempt::Retry(e.to_string()),
    };
    let Some(message) = message else {
        return deliver(app, job, &conversation, None).await; // a notice: nothing to claim
    };
    // One sender at a time: a redelivered or concurrent job whose message went out, or is being
    // sent, does nothing (the claim lasts longer than one send may take).
    let now = crate::clock::now();
    match app.store.claim_for_sending(job.conversation_id, message.id, now + SEND_CLAIM, now).await {
        Ok(true) => {}
        Ok(false) => return Attempt::Done,
        Err(e) => return Attempt::Retry(e.to_string()),
    }
    let outcome = deliver(app, job, &conversation, Some(&message)).await;
    if matches!(outcome, Attempt::Retry(_))
        && let Err(e) = app.store.release_send_claim(job.conversation_id, message.id).await
    {
        // The claim then simply expires before the retry comes.
        tracing::warn!(error = %e, message_id = message.id, "could not release the send claim");
    }
    outcome
}

/// Sends a claimed job to the Cloud API and records the result.
async fn deliver(app: &App, job: &OutboundJob, conversation: &Conversation, message: Option<&Message>) -> Attempt {
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
    let to = guest.whatsapp_number.trim_start_matches('+').to_owned();
    let body = match cloud_api_body(app, &job.kind, &to, conversation, message).await {
        Ok(body) => body,
        Err(reason) => return Attempt::Permanent(reason),
    };
    let url = format!("{}/{}/messages", app.config.whatsapp_api_base, phone_number_id);
    let mut request = app.http.post(url).json(&body);
    if let Some(token) = &app.config.whatsapp_token {
        request = request.bearer_auth(token);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Attempt::Retry(format!("network: {e}")),
    };
    let status = response.status();
    if !status.is_success() {
        let answer = response.json::<Value>().await.unwrap_or(Value::Null);
        return refused(status.as_u16(), &answer);
    }
    crate::telemetry::metric("OutboundSent", 1.0);
    let Some(message) = message else {
        tracing::info!(conversation_id = conversation.id, "notice sent to WhatsApp");
        return Attempt::Done;
    };
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

/// Graph API error codes that mean "not now" whatever HTTP status they come with (Meta advises
/// handling errors by `error.code`; a throughput limit is typically a 400): the app's call rate
/// (4), the business account's rate (80007), the phone number's throughput (130429) and the pair
/// rate of one guest (131056).
const THROTTLING_CODES: [i64; 4] = [4, 80_007, 130_429, 131_056];

/// Graph API error codes of a temporary failure on Meta's side: the service down or overloaded
/// (2), a service temporarily unavailable (131016).
const TEMPORARY_CODES: [i64; 2] = [2, 131_016];

/// What a Cloud API answer other than 2xx means for the job: throttling (429 or a throttling
/// code, counted as `OutboundThrottled`), a 5xx and a temporary code are retried with the
/// queue's backoff; every other answer is permanent. The reason names the status and the Graph
/// API code only (never the message text, which may quote the guest's number).
fn refused(status: u16, answer: &Value) -> Attempt {
    let code = answer.pointer("/error/code").and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
    let described = match code {
        Some(code) => format!("HTTP {status}, code {code}"),
        None => format!("HTTP {status}"),
    };
    if status == 429 || code.is_some_and(|c| THROTTLING_CODES.contains(&c)) {
        crate::telemetry::metric("OutboundThrottled", 1.0);
        Attempt::Retry(format!("throttled: {described}"))
    } else if status >= 500 || code.is_some_and(|c| TEMPORARY_CODES.contains(&c)) {
        Attempt::Retry(described)
    } else {
        Attempt::Permanent(described)
    }
}

/// How long WhatsApp may take to fetch a file the stack holds.
const MEDIA_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The Cloud API body of a job; `Err` when it can never be built.
async fn cloud_api_body(
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

async fn mark(app: &App, job: &OutboundJob, status: DeliveryStatus, wamid: Option<&str>) {
    let Some(message_id) = job.message_id else {
        return; // a notice has no stored message
    };
    let now = crate::clock::now();
    match app.store.set_delivery_status(job.conversation_id, message_id, status, wamid, now).await {
        Ok(Some(message)) => {
            if let Ok(Some(conversation)) = app.store.get_conversation(job.conversation_id).await {
                crate::chat::notify_delivery(app, &conversation, &message).await;
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "could not record delivery status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_fifteen_minutes() {
        let seconds: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(seconds, vec![30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(backoff(0).as_secs(), 30);
    }

    #[test]
    fn throttling_and_temporary_answers_are_retried_whatever_their_status() {
        let graph = |code: Value| json!({"error": {"message": "(#x) y", "type": "OAuthException", "code": code}});
        let retried = |status, answer: &Value| matches!(refused(status, answer), Attempt::Retry(_));
        // Throughput, pair rate, account and app rate limits: Meta answers them with a 400 or a 429.
        for code in [130_429, 131_056, 80_007, 4] {
            assert!(retried(400, &graph(json!(code))), "code {code}");
            assert!(retried(429, &graph(json!(code))), "code {code}");
        }
        assert!(retried(400, &graph(json!("130429"))), "a code written as a string");
        assert!(retried(429, &Value::Null), "a bare 429");
        assert!(retried(503, &Value::Null) && retried(500, &graph(json!(131_000))));
        assert!(retried(400, &graph(json!(131_016))) && retried(400, &graph(json!(2))));
        // Refusals that no retry changes: not on WhatsApp, outside the window, bad token.
        for (status, code) in [(400, 131_026), (400, 131_047), (401, 190), (400, 100)] {
            assert_eq!(refused(status, &graph(json!(code))), Attempt::Permanent(format!("HTTP {status}, code {code}")));
        }
        assert_eq!(refused(404, &Value::Null), Attempt::Permanent("HTTP 404".into()));
        assert_eq!(refused(400, &graph(json!(130_429))), Attempt::Retry("throttled: HTTP 400, code 130429".into()));
    }

    #[test]
    fn jobs_of_older_versions_still_read() {
        let old: OutboundJob = serde_json::from_str(r#"{"conversation_id":3,"message_id":3000001}"#).unwrap();
        assert_eq!(old, OutboundJob { conversation_id: 3, message_id: Some(3_000_001), kind: OutboundKind::Message });
        let plain = serde_json::to_value(&old).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"conversation_id": 3, "message_id": 3000001}),
            "no kind for plain messages"
        );
        let notice = OutboundJob { conversation_id: 3, message_id: None, kind: OutboundKind::Notice("Hi".into()) };
        let text = serde_json::to_string(&notice).unwrap();
        assert_eq!(text, r#"{"conversation_id":3,"kind":{"notice":"Hi"}}"#);
        assert_eq!(serde_json::from_str::<OutboundJob>(&text).unwrap(), notice);
    }
}
