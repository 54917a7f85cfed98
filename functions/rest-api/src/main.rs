//! The REST API behind the HTTP API (CONTRACT §3.2-3.4). The logic is `lobbybee::rest::handle`.

use lobbybee::config::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs =
        [Need::Jwt, Need::OutboundQueue, Need::PushRetryQueue, Need::Provisioning, Need::GuestTokens, Need::Media];
    lobbybee::lambda::serve_http(&needs, |app, request| async move { lobbybee::rest::handle(&app, request).await })
        .await
}
