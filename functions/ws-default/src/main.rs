//! `$default` of the WebSocket API: every staff frame of CONTRACT §4.2. The logic is
//! `lobbybee::ws::message`.

use lobbybee::config::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = [Need::OutboundQueue, Need::PushRetryQueue];
    lobbybee::lambda::serve_event(&needs, |app, event| async move { lobbybee::ws::message(&app, event).await }).await
}
