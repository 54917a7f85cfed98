//! SQS consumer that sends staff messages to the WhatsApp Cloud API (CONTRACT §5). The logic
//! is `lobbybee::outbound::handle_batch`.

use lobbybee::config::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = [Need::WhatsAppApi, Need::PushRetryQueue];
    lobbybee::lambda::serve_event(
        &needs,
        |app, event| async move { lobbybee::outbound::handle_batch(&app, event).await },
    )
    .await
}
