//! Lambda start-up shared by every function's `main`: logs, configuration (failing fast with a
//! readable message), clients built once, then the runtime loop.

use std::future::Future;
use std::pin::Pin;

use lambda_http::RequestExt;
use lambda_http::http::{HeaderName, HeaderValue};
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::config::Need;

mod response;

async fn init(needs: &[Need]) -> Result<App, Error> {
    crate::telemetry::init();
    App::from_env(needs).await.map_err(|e| {
        tracing::error!(error = %e, "cannot start");
        Error::from(e.to_string())
    })
}

/// Runs a function that takes a typed event (sockets, queues).
pub async fn serve_event<E, R, F, Fut>(needs: &[Need], handler: F) -> Result<(), Error>
where
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(App, E) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    serve_task(needs, |app, event| {
        let reply = handler(app, event);
        async move { Ok::<R, String>(reply.await) }
    })
    .await
}

/// Runs a function whose invocation may fail as a whole (scheduled tasks): an `Err` is the
/// invocation's error, counted by Lambda's `Errors` metric and retried by the invoker.
pub async fn serve_task<E, R, F, Fut>(needs: &[Need], handler: F) -> Result<(), Error>
where
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(App, E) -> Fut,
    Fut: Future<Output = Result<R, String>> + Send + 'static,
{
    let app = init(needs).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<E>| {
        // Boxed: the handler futures are deep, and their layout need not be part of the runtime's.
        let reply: Pin<Box<dyn Future<Output = Result<R, String>> + Send>> =
            Box::pin(handler(app.clone(), event.payload));
        async move { reply.await.map_err(Error::from) }
    }))
    .await
}

/// Runs a function behind a Function URL or the HTTP API: what `lambda_http::run` does (the
/// event as a `lambda_http::Request` with its Lambda context and X-Ray trace header), with the
/// answer built by [`response::v2_response`].
pub async fn serve_http<F, Fut>(needs: &[Need], handler: F) -> Result<(), Error>
where
    F: Fn(App, lambda_http::Request) -> Fut,
    Fut: Future<Output = lambda_http::Response<lambda_http::Body>> + Send + 'static,
{
    let app = init(needs).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<LambdaRequest>| {
        let LambdaEvent { payload, context } = event;
        let mut request = lambda_http::Request::from(payload);
        if let Some(trace_id) = context.xray_trace_id.as_deref()
            && let Ok(value) = HeaderValue::from_str(trace_id)
        {
            request.headers_mut().insert(HeaderName::from_static("x-amzn-trace-id"), value);
        }
        let reply: Pin<Box<dyn Future<Output = lambda_http::Response<lambda_http::Body>> + Send>> =
            Box::pin(handler(app.clone(), request.with_lambda_context(context)));
        async move { Ok::<_, Error>(response::v2_response(reply.await)) }
    }))
    .await
}

/// The partial-batch answer of an SQS consumer: the records to deliver again.
pub fn sqs_batch_response(failed_message_ids: Vec<String>) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    response.batch_item_failures = failed_message_ids
        .into_iter()
        .map(|id| {
            let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}
