//! Staff messages on their way to WhatsApp (docs/api.md §7).
//!
//! `$default` and REST send put an [`OutboundJob`] on the outbound queue after storing the
//! message. The `outbound-sender` function consumes it: it calls the WhatsApp Cloud API, stores
//! the returned `wamid` and moves the message to `sent`. Temporary failures (429, 5xx, network,
//! and the Graph API's throttling codes whatever their status: see `answers`) are returned as
//! batch item failures, made visible again after an exponential backoff (30 s, 1 min, 2 min,
//! …); on the last attempt (the queue's `maxReceiveCount`) the message is marked
//! `failed` and staff are told, and SQS moves the job to the dead-letter queue.
//!
//! A job lost between storing the message and queueing it (the function died in between) is
//! found by [`sweep`] in the outbox (`store::Outbound`) and queued again.

mod answers;
mod cloud_api;
mod sweep;

pub use cloud_api::{payload, reopen_button, reopen_template};
pub use sweep::{LOST_AFTER, SweepReport, sweep};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use serde_json::Value;

use crate::app::App;
use crate::jobs::OutboundJob;
use crate::model::{Conversation, ConversationId, DeliveryStatus, Message};
use crate::store::IdempotencyRecord;

/// Attempts before a job is given up (keep equal to the queue's `maxReceiveCount`).
const DEFAULT_MAX_ATTEMPTS: u32 = 5;

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
        mark(app, job, DeliveryStatus::Failed, None, None).await;
    } else if matches!(outcome, Attempt::Retry(_)) {
        crate::telemetry::metric("OutboundRetried", 1.0);
    }
    !matches!(outcome, Attempt::Retry(_))
}

fn receive_count(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|v| v.parse().ok()).unwrap_or(1)
}

async fn send(app: &App, job: &OutboundJob) -> Attempt {
    let message = async {
        match job.message_id {
            Some(id) => Ok(app.store.get_message(job.conversation_id, id).await?.map(Some)),
            None => Ok(Some(None)),
        }
    };
    let (conversation, message) = match tokio::try_join!(app.store.get_conversation(job.conversation_id), message) {
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
    let body = match cloud_api::cloud_api_body(app, &job.kind, &to, conversation, message).await {
        Ok(body) => body,
        Err(reason) => return Attempt::Permanent(reason),
    };
    let url = format!("{}/{}/messages", app.config.whatsapp_api_base, phone_number_id);
    let mut request = app.http().post(url).json(&body);
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
        return answers::refused(status.as_u16(), &answer);
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
    mark(app, job, DeliveryStatus::Sent, wamid.as_deref(), Some(conversation)).await;
    Attempt::Done
}

/// Records a job's new delivery status and tells the department; `known` is the conversation
/// as this attempt read it (else it is read now, for the audience).
async fn mark(app: &App, job: &OutboundJob, status: DeliveryStatus, wamid: Option<&str>, known: Option<&Conversation>) {
    let Some(message_id) = job.message_id else {
        return; // a notice has no stored message
    };
    let now = crate::clock::now();
    match app.store.set_delivery_status(job.conversation_id, message_id, status, wamid, now).await {
        Ok(Some(message)) => {
            let conversation = match known {
                Some(c) => Some(c.clone()),
                None => app.store.get_conversation(job.conversation_id).await.ok().flatten(),
            };
            if let Some(conversation) = conversation {
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
}
