//! `$connect` of the WebSocket API: authenticates staff (JWT) and guests (guest token) and
//! stores the connection record. The logic is `lobbybee::ws::connect`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("ws-connect");
    lobbybee::lambda::serve_event(needs, |app, event| async move { lobbybee::ws::connect(&app, event).await }).await
}
