//! `$default` of the WebSocket API: every staff frame of docs/api.md §5 The logic is
//! `lobbybee::ws::message`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("ws-default");
    lobbybee::lambda::serve_event(needs, |app, event| async move { lobbybee::ws::message(&app, event).await }).await
}
