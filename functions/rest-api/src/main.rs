//! The REST API behind the HTTP API (docs/api.md §4). The logic is `lobbybee::rest::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("rest-api");
    lobbybee::lambda::serve_http(needs, |app, request| async move { lobbybee::rest::handle(&app, request).await }).await
}
