//! SQS event source mappings: one task per bound queue long-polls `ReceiveMessage`, invokes the
//! consumer with the batch as an `SqsEvent`, and deletes what succeeded, honouring
//! `ReportBatchItemFailures` as Lambda does: the records listed in `batchItemFailures` stay on
//! the queue (visible again after the visibility timeout), a response naming a record that is
//! not in the batch fails the whole batch, and so does a consumer that panics.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use tokio::sync::watch;

use super::events;
use super::{QueueBinding, QueueConsumer, St, guarded, parse_event, until_stopped};

/// Pause after a failed `ReceiveMessage` (emulator down, queue missing).
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// Pause between empty short polls (`poll_wait` of zero).
const MIN_SHORT_POLL_PAUSE: Duration = Duration::from_millis(50);

/// Sleeps for `pause`; `true` when the gateway stopped meanwhile.
async fn pause_or_stop(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        () = until_stopped(stop) => true,
        () = tokio::time::sleep(pause) => false,
    }
}

fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Polls `binding`'s queue until the gateway stops.
pub(super) async fn poll(st: St, binding: QueueBinding, mut stop: watch::Receiver<bool>) {
    let region = st.app.sqs.config().region().map_or_else(|| events::DEFAULT_REGION.to_owned(), |r| r.to_string());
    let queue = events::queue_name(&binding.queue_url).to_owned();
    // Long polls return as soon as a message arrives, so rounding the wait up costs no latency.
    let wait_seconds = i32::try_from(st.options.poll_wait.as_millis().div_ceil(1000)).unwrap_or(20).clamp(0, 20);
    let batch_size = binding.batch_size.clamp(1, 10);
    tracing::info!(queue, consumer = ?binding.consumer, batch_size, "polling queue");
    while !stopped(&stop) {
        let receive = st
            .app
            .sqs
            .receive_message()
            .queue_url(&binding.queue_url)
            .max_number_of_messages(batch_size)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send();
        let received = tokio::select! {
            () = until_stopped(&mut stop) => break,
            received = receive => received,
        };
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue, error = %DisplayErrorContext(&e), "ReceiveMessage failed");
                if pause_or_stop(&mut stop, ERROR_BACKOFF).await {
                    break;
                }
                continue;
            }
        };
        if messages.is_empty() {
            if wait_seconds == 0 && pause_or_stop(&mut stop, st.options.poll_wait.max(MIN_SHORT_POLL_PAUSE)).await {
                break;
            }
            continue;
        }
        deliver(&st, &binding, &queue, &region, &messages).await;
    }
    tracing::info!(queue, "stopped polling queue");
}

/// Invokes the consumer with one batch and deletes the records it did not report as failed.
async fn deliver(st: &St, binding: &QueueBinding, queue: &str, region: &str, messages: &[Message]) {
    let Some(event) = parse_event::<SqsEvent>(&events::sqs_event(&binding.queue_url, region, messages)) else {
        return;
    };
    let response = match binding.consumer {
        QueueConsumer::Outbound => guarded("outbound-sender", lobbybee::outbound::handle_batch(&st.app, event)).await,
        QueueConsumer::PushRetry => guarded("push-retry", lobbybee::push_retry::handle_batch(&st.app, event)).await,
    };
    let Some(response) = response else {
        tracing::warn!(queue, records = messages.len(), "consumer failed: the whole batch returns to the queue");
        return;
    };
    let in_batch: HashSet<&str> = messages.iter().filter_map(Message::message_id).collect();
    let failed: HashSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    if let Some(unknown) = failed.iter().find(|id| !in_batch.contains(**id)) {
        tracing::warn!(queue, item = %unknown, "batchItemFailures names a record not in the batch: the whole batch fails");
        return;
    }
    let entries: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .filter(|m| !m.message_id().is_some_and(|id| failed.contains(id)))
        .filter_map(Message::receipt_handle)
        .enumerate()
        .filter_map(|(i, handle)| {
            DeleteMessageBatchRequestEntry::builder().id(format!("m{i}")).receipt_handle(handle).build().ok()
        })
        .collect();
    tracing::debug!(queue, records = messages.len(), failed = failed.len(), "batch processed");
    if entries.is_empty() {
        return;
    }
    match st.app.sqs.delete_message_batch().queue_url(&binding.queue_url).set_entries(Some(entries)).send().await {
        Ok(output) => {
            for failure in output.failed() {
                tracing::warn!(queue, code = failure.code(), message = ?failure.message(), "DeleteMessageBatch entry failed");
            }
        }
        Err(e) => tracing::warn!(queue, error = %DisplayErrorContext(&e), "DeleteMessageBatch failed"),
    }
}
