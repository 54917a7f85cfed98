//! The `push-retry` function: the consumer of the push-retry queue. Each job is pushed once more
//! ([`crate::delivery::Delivery::redeliver`]); jobs that fail again are reported as batch item
//! failures, so SQS redelivers them after the visibility timeout and finally moves them to the
//! dead-letter queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::app::App;
use crate::delivery::{FanOutReport, RetryJob};

/// Handles one batch of the push-retry queue.
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    let mut report = FanOutReport::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(job) = record.body.as_deref().and_then(|b| serde_json::from_str::<RetryJob>(b).ok()) else {
            tracing::warn!(message_id = %id, "dropping malformed retry job");
            continue;
        };
        if app.delivery.redeliver(&job, &mut report).await {
            failures.push(id);
        }
    }
    report.emit();
    crate::lambda::sqs_batch_response(failures)
}
