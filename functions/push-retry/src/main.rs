//! SQS consumer that retries socket pushes that failed for a reason other than 410 Gone. The
//! logic is `lobbybee::push_retry::handle_batch`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("push-retry");
    lobbybee::lambda::serve_event(
        needs,
        |app, event| async move { lobbybee::push_retry::handle_batch(&app, event).await },
    )
    .await
}
