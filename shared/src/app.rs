//! The application context every handler receives: configuration and the AWS clients, built
//! once per process (at Lambda init, or once by the local gateway) and shared by all requests.

use std::sync::{Arc, OnceLock};

use aws_config::{BehaviorVersion, SdkConfig};

use aws_sdk_dynamodb::config::{SharedCredentialsProvider, SharedInterceptor};

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
    /// The clients only some functions call, built on first use ([`App::s3`], [`App::http`]).
    lazy: Arc<LazyClients>,
}

/// Clients built on first use: a function that never calls one never builds it, and its code is
/// not even linked into that function's binary.
struct LazyClients {
    sdk: SdkConfig,
    log: Option<Arc<CallLog>>,
    s3: OnceLock<aws_sdk_s3::Client>,
    http: OnceLock<reqwest::Client>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("config", &self.config).finish_non_exhaustive()
    }
}

impl App {
    /// The media bucket's client.
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.lazy.s3.get_or_init(|| {
            // Emulators serve buckets path-style only; on AWS virtual-host style is the default.
            let mut s3 = aws_sdk_s3::config::Builder::from(&self.lazy.sdk)
                .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some());
            s3.set_interceptors(self.lazy.log.as_ref().map(|log| SharedInterceptor::new(log.interceptor(Service::S3))));
            aws_sdk_s3::Client::from_conf(s3.build())
        })
    }

    /// Outgoing HTTPS (WhatsApp Cloud API and Graph API).
    pub fn http(&self) -> &reqwest::Client {
        self.lazy.http.get_or_init(|| https().timeout(std::time::Duration::from_secs(10)).build().unwrap_or_default())
    }

    /// Reads the environment (and, when `SECRETS_PATH` is set, the secrets `needs` call for
    /// from Parameter Store) and builds every client; fails with a readable message when a
    /// required setting is missing. The SDK is configured from Lambda's variables
    /// ([`lambda_sdk_config`]), `AWS_ENDPOINT_URL` (MiniStack, LocalStack) included.
    pub async fn from_env(needs: &[Need]) -> Result<App, ConfigError> {
        let sdk = lambda_sdk_config();
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
        let config = Arc::new(config);
        let queues: Arc<dyn Queues> = Arc::new(SqsQueues::new(
            sqs.clone(),
            config.outbound_queue_url.clone(),
            config.push_retry_queue_url.clone(),
        ));
        let pusher: Arc<dyn Pusher> = Arc::new(ManagementApi::new(sdk, recorder(Service::Management)));
        let delivery = Delivery::new(config.clone(), store.clone(), pusher, queues.clone());
        let lazy =
            Arc::new(LazyClients { sdk: sdk.clone(), log: log.cloned(), s3: OnceLock::new(), http: OnceLock::new() });
        App { config, store, delivery, queues, sqs, lazy }
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
            lazy: Arc::new(LazyClients { sdk, log: None, s3: OnceLock::new(), http: OnceLock::new() }),
        };
        (app, ports)
    }
}

/// The SDK configuration of a deployed function, from what Lambda puts in its environment: the
/// region (`AWS_REGION`, else `AWS_DEFAULT_REGION`), the role's credentials
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and an `AWS_ENDPOINT_URL`
/// (an emulator), with the SDK's defaults for everything else (standard retries, a 3.1 s connect
/// timeout, a lazy identity cache, [`aws_http_client`]). What [`sdk_defaults`] resolves in a
/// Lambda, without linking its other sources (profile files, SSO, web identity through STS,
/// container and instance metadata), none of which a function has (docs/decisions.md, "Lambda
/// binary size").
pub fn lambda_sdk_config() -> SdkConfig {
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    lambda_sdk_config_from(|key| std::env::var(key).ok(), SharedCredentialsProvider::new(credentials))
}

fn lambda_sdk_config_from(
    lookup: impl Fn(&str) -> Option<String>,
    credentials: SharedCredentialsProvider,
) -> SdkConfig {
    let setting = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
    let mut sdk = SdkConfig::builder();
    sdk.set_region(lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION")).map(aws_config::Region::new));
    sdk.set_endpoint_url(setting("AWS_ENDPOINT_URL"));
    sdk.behavior_version(BehaviorVersion::latest())
        .credentials_provider(credentials)
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .http_client(aws_http_client())
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_millis(3100))
                .build(),
        )
        .build()
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

#[cfg(test)]
mod tests {
    use aws_types::os_shim_internal::{Env, Fs};

    use super::*;

    /// In a Lambda's environment, the functions' configuration is what the SDK's loader resolves.
    #[tokio::test]
    async fn a_functions_sdk_configuration_is_what_the_sdk_loader_resolves_in_lambda() {
        for vars in [
            &[("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "us-east-2")][..],
            &[("AWS_DEFAULT_REGION", "us-east-2"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:4568")][..],
            &[][..],
        ] {
            let mut env = vec![
                ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_SESSION_TOKEN", "session"),
                ("AWS_LAMBDA_FUNCTION_NAME", "lobbybee-rest-api"),
            ];
            env.extend_from_slice(vars);
            let loaded = sdk_defaults().env(Env::from_slice(&env)).fs(Fs::from_slice(&[])).load().await;
            let lookup = |key: &str| env.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned());
            let credentials = aws_credential_types::Credentials::new("ASIAEXAMPLE", "secret", None, None, "test");
            let ours = lambda_sdk_config_from(lookup, SharedCredentialsProvider::new(credentials));
            assert_eq!(ours.region(), loaded.region(), "{vars:?}");
            assert_eq!(ours.endpoint_url(), loaded.endpoint_url(), "{vars:?}");
            assert_eq!(ours.retry_config(), loaded.retry_config());
            assert_eq!(ours.timeout_config(), loaded.timeout_config());
            assert_eq!(format!("{:?}", ours.behavior_version()), format!("{:?}", loaded.behavior_version()));
            assert_eq!(ours.identity_cache().is_some(), loaded.identity_cache().is_some());
            assert_eq!(ours.use_fips(), loaded.use_fips());
            assert_eq!(ours.use_dual_stack(), loaded.use_dual_stack());
            assert_eq!(ours.app_name(), loaded.app_name());
            assert!(ours.http_client().is_some() && ours.token_provider().is_none());
        }
        // The credentials: the first source of the loader's chain, Lambda's variables.
        let env = Env::from_slice(&[("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret")]);
        let loaded =
            sdk_defaults().env(env).fs(Fs::from_slice(&[])).region(aws_config::Region::new("eu-west-1")).load().await;
        let credentials = loaded.credentials_provider().expect("credentials");
        use aws_credential_types::provider::ProvideCredentials;
        assert_eq!(credentials.provide_credentials().await.expect("credentials").access_key_id(), "ASIAEXAMPLE");
    }
}
