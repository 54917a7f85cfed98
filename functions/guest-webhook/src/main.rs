//! The guest webhook behind a Lambda Function URL (CONTRACT §3.1). The logic is
//! `lobbybee::webhook::handle`.

use lobbybee::config::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = [Need::WebhookSecrets, Need::PushRetryQueue];
    lobbybee::lambda::serve_http(&needs, |app, request| async move { lobbybee::webhook::handle(&app, request).await })
        .await
}
