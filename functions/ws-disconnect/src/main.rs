//! `$disconnect` of the WebSocket API: deletes the connection record and tells peers. The
//! logic is `lobbybee::ws::disconnect`.

use lobbybee::config::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = [Need::PushRetryQueue];
    lobbybee::lambda::serve_event(&needs, |app, event| async move { lobbybee::ws::disconnect(&app, event).await }).await
}
