//! `$disconnect` of the WebSocket API: deletes the connection record and tells peers. The
//! logic is `lobbybee::ws::disconnect`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("ws-disconnect");
    lobbybee::lambda::serve_event(needs, |app, event| async move { lobbybee::ws::disconnect(&app, event).await }).await
}
