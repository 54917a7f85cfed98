//! `$connect` of the WebSocket API: authenticates staff (JWT) and guests (guest token) and
//! stores the connection record. The logic is `lobbybee::ws::connect`.

use lobbybee::config::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = [Need::Jwt, Need::GuestTokens, Need::PushRetryQueue];
    lobbybee::lambda::serve_event(&needs, |app, event| async move { lobbybee::ws::connect(&app, event).await }).await
}
