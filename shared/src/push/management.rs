//! The push port on the API Gateway Management API (`aws-sdk-apigatewaymanagement`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::{SharedInterceptor, StalledStreamProtectionConfig};
use aws_sdk_apigatewaymanagement::error::DisplayErrorContext;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;

use super::{Posted, Pusher};

/// One management client per endpoint, built on first use and kept for the life of the process
/// (the SDK's standard retry mode retries throttling and 5xx with backoff, 3 attempts). A push is
/// one small body (a frame of at most 128 KB): the SDK's stalled-stream protection, meant for long
/// uploads and downloads, is off for these clients, since it wraps every request in a throughput
/// monitor that a push never needs (the client's timeouts still bound a push).
pub struct ManagementApi {
    sdk: SdkConfig,
    clients: Mutex<HashMap<String, Client>>,
    recorder: Option<SharedInterceptor>,
}

impl ManagementApi {
    /// Clients are built from `sdk`, each with `recorder` (the permissions check) when given.
    pub fn new(sdk: &SdkConfig, recorder: Option<SharedInterceptor>) -> Self {
        ManagementApi { sdk: sdk.clone(), clients: Mutex::new(HashMap::new()), recorder }
    }

    fn client(&self, endpoint: &str) -> Client {
        let mut clients = match self.clients.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(client) = clients.get(endpoint) {
            return client.clone();
        }
        let mut config = aws_sdk_apigatewaymanagement::config::Builder::from(&self.sdk)
            .endpoint_url(endpoint)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        config.set_interceptors(self.recorder.clone());
        let client = Client::from_conf(config.build());
        clients.insert(endpoint.to_owned(), client.clone());
        client
    }
}

#[async_trait]
impl Pusher for ManagementApi {
    async fn post(&self, endpoint: &str, connection_id: &str, body: &str) -> Posted {
        let sent = self
            .client(endpoint)
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(body.as_bytes()))
            .send()
            .await;
        match sent {
            Ok(_) => Posted::Sent,
            Err(err) => {
                let gone = matches!(err.as_service_error(), Some(PostToConnectionError::GoneException(_)))
                    || err.raw_response().is_some_and(|r| r.status().as_u16() == 410);
                if gone { Posted::Gone } else { Posted::Failed(DisplayErrorContext(&err).to_string()) }
            }
        }
    }

    async fn close(&self, endpoint: &str, connection_id: &str) {
        if let Err(err) = self.client(endpoint).delete_connection().connection_id(connection_id).send().await {
            tracing::debug!(connection_id, error = %DisplayErrorContext(&err), "delete_connection failed");
        }
    }
}
