//! The guest webhook behind a Lambda Function URL (docs/api.md §6). The logic is
//! `lobbybee::webhook::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("guest-webhook");
    lobbybee::lambda::serve_http(needs, |app, request| async move { lobbybee::webhook::handle(&app, request).await })
        .await
}
