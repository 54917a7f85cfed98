//! The application context every handler receives: configuration and the AWS clients, built
//! once per process (at Lambda init, or once by the local gateway) and shared by all requests.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};

use aws_sdk_dynamodb::config::SharedInterceptor;

use crate::calls::{CallLog, Service};
use crate::config::{Config, ConfigError, Need};
use crate::delivery::Delivery;
use crate::push::{ManagementApi, Pusher, RecordingPusher};
use crate::queues::{MemoryQueues, Queues, SqsQueues};
use crate::store::{ChatStore, DynamoStore, MemoryStore};

/// Clients and configuration shared by all requests of a process.
#[derive(Clone)]
pub struct App {
    /// Parsed configuration.
    pub config: Arc<Config>,
    /// The store (the chat table on AWS).
    pub store: Arc<dyn ChatStore>,
    /// Socket pushes.
    pub delivery: Delivery,
    /// Putting jobs on the queues (outbound WhatsApp jobs, push retries).
    pub queues: Arc<dyn Queues>,
    /// SQS itself, for what consumers do beyond putting jobs (rescheduling a retry).
    pub sqs: aws_sdk_sqs::Client,
    /// Media bucket.
    pub s3: aws_sdk_s3::Client,
    /// Outgoing HTTPS (WhatsApp Cloud API).
    pub http: reqwest::Client,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("config", &self.config).finish_non_exhaustive()
    }
}

impl App {
    /// Reads the environment (and, when `SECRETS_PATH` is set, the secrets `needs` call for
    /// from Parameter Store) and builds every client; fails with a readable message when a
    /// required setting is missing. `AWS_ENDPOINT_URL` (MiniStack, LocalStack) is honoured by the
    /// SDK's own configuration loader.
    pub async fn from_env(needs: &[Need]) -> Result<App, ConfigError> {
        let sdk = sdk_defaults().load().await;
        let config = Config::load(&sdk, needs, |key| std::env::var(key).ok()).await?;
        Ok(App::new(config, &sdk))
    }

    /// Builds the clients from an already loaded SDK configuration.
    pub fn new(config: Config, sdk: &SdkConfig) -> App {
        App::build(config, sdk, None)
    }

    /// Like [`App::new`], with every AWS call recorded into `log` (the permissions check of the
    /// end-to-end suite; see [`crate::calls`]).
    pub fn recording(config: Config, sdk: &SdkConfig, log: &Arc<CallLog>) -> App {
        App::build(config, sdk, Some(log))
    }

    fn build(config: Config, sdk: &SdkConfig, log: Option<&Arc<CallLog>>) -> App {
        let recorder = |service| log.map(|log| SharedInterceptor::new(log.interceptor(service)));
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk);
        dynamodb.set_interceptors(recorder(Service::DynamoDb));
        let store: Arc<dyn ChatStore> = Arc::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamodb.build()), config.table_name.clone())
                .with_retention_days(config.message_retention_days),
        );
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk);
        sqs.set_interceptors(recorder(Service::Sqs));
        let sqs = aws_sdk_sqs::Client::from_conf(sqs.build());
        // Emulators serve buckets path-style only; on AWS virtual-host style is the default.
        let mut s3 =
            aws_sdk_s3::config::Builder::from(sdk).force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some());
        s3.set_interceptors(recorder(Service::S3));
        let s3 = aws_sdk_s3::Client::from_conf(s3.build());
        let config = Arc::new(config);
        let queues: Arc<dyn Queues> = Arc::new(SqsQueues::new(
            sqs.clone(),
            config.outbound_queue_url.clone(),
            config.push_retry_queue_url.clone(),
        ));
        let pusher: Arc<dyn Pusher> = Arc::new(ManagementApi::new(sdk, recorder(Service::Management)));
        let delivery = Delivery::new(config.clone(), store.clone(), pusher, queues.clone());
        let http = https().timeout(std::time::Duration::from_secs(10)).build().unwrap_or_default();
        App { config, store, delivery, queues, sqs, s3, http }
    }

    /// An app whose store, pushes and queues stay in memory (the chat core's rule tests): the
    /// handles say what was stored, pushed and queued. Its AWS clients exist but point nowhere;
    /// the chat core never calls them.
    pub fn in_memory(config: Config) -> (App, InMemory) {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::from_static("us-east-1"))
            .build();
        let ports = InMemory::default();
        let config = Arc::new(config);
        let store: Arc<dyn ChatStore> = Arc::new(ports.store.clone());
        let queues: Arc<dyn Queues> = Arc::new(ports.queues.clone());
        let delivery = Delivery::new(config.clone(), store.clone(), Arc::new(ports.pushes.clone()), queues.clone());
        let app = App {
            config,
            store,
            delivery,
            queues,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            s3: aws_sdk_s3::Client::new(&sdk),
            http: https().build().unwrap_or_default(),
        };
        (app, ports)
    }
}

/// The SDK's configuration loader with the latest defaults and [`aws_http_client`]: how every
/// process of the workspace (the functions, the local gateway, the tests) configures the SDK.
pub fn sdk_defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(aws_http_client())
}

/// The SDK's HTTPS client on the one TLS stack of the stack: the client the SDK builds by default
/// (its hyper client, the system's trusted roots, proxies from the environment), with rustls over
/// ring instead of aws-lc-rs (docs/decisions.md, "One crypto stack").
pub fn aws_http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// A builder of HTTPS clients on the one TLS stack of the stack: rustls over ring, as the SDK's
/// ([`aws_http_client`]). reqwest is built without a crypto provider of its own, so this installs
/// ring as the process's rustls provider first (once; later calls find it installed). Every
/// `reqwest` client of the workspace is built through it.
pub fn https() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The in-memory ports of [`App::in_memory`] (clones share their state with the app's).
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    /// The store.
    pub store: MemoryStore,
    /// Every push, by socket.
    pub pushes: RecordingPusher,
    /// Every job put on a queue.
    pub queues: MemoryQueues,
}
