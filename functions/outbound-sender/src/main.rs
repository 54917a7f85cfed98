//! SQS consumer that sends staff messages to the WhatsApp Cloud API (docs/api.md §7). The logic
//! is `lobbybee::outbound::handle_batch`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("outbound-sender");
    lobbybee::lambda::serve_event(
        needs,
        |app, event| async move { lobbybee::outbound::handle_batch(&app, event).await },
    )
    .await
}
