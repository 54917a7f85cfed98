//! # End-to-end harness
//!
//! Every test of this crate runs against real components: the AWS emulator at
//! `AWS_ENDPOINT_URL` (MiniStack, LocalStack or AWS itself), the resources of `template.yaml`
//! (created by the same bootstrap as `lobbybee-local`), and the local gateway serving the real
//! handlers over real HTTP and WebSockets.
//!
//! One stack per test binary, on one shared Tokio runtime: tests are plain `#[test]` functions
//! that call [`run`]. Each test provisions its own hotel with fresh ids, so tests run in
//! parallel without seeing each other's data.

#![warn(missing_docs)]

pub mod asyncapi;
pub mod client;
pub mod counters;
pub mod faults;
pub mod fixtures;
pub mod openapi;
pub mod permissions;
pub mod schema;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lobbybee::app::App;
use lobbybee::calls::CallLog;
use lobbybee::config::Config;
use lobbybee_local::bootstrap::{LocalResources, bootstrap};
use lobbybee_local::gateway::{self, Gateway, GatewayOptions};
use tokio::sync::OnceCell;

/// How long a test waits for an expected frame or state before failing.
pub const WAIT: Duration = Duration::from_secs(10);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("test runtime")
    })
}

/// Runs a test body on the shared runtime (with an overall timeout of 120 s), then saves the
/// AWS calls the functions made so far (for the permissions check).
pub fn run<F: Future<Output = ()> + Send>(body: F) {
    runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(120), body).await.expect("test timed out after 120 s");
    });
    permissions::save(&binary(), &calls().calls());
}

/// Whether this binary's call log asks DynamoDB for consumed capacity ([`ask_consumed_capacity`]).
static ASK_CAPACITY: AtomicBool = AtomicBool::new(false);

/// Makes this binary's stack ask DynamoDB for the capacity each request consumed (the
/// benchmarks; the requests then carry `ReturnConsumedCapacity`). Call it before [`stack`].
pub fn ask_consumed_capacity() {
    ASK_CAPACITY.store(true, Ordering::Relaxed);
}

/// The AWS calls of this binary's stack: the distinct calls for the permissions check, and the
/// requests per function and operation ([`CallLog::counts`]) for the benchmarks.
pub fn calls() -> &'static Arc<CallLog> {
    static CALLS: OnceLock<Arc<CallLog>> = OnceLock::new();
    CALLS.get_or_init(|| {
        Arc::new(if ASK_CAPACITY.load(Ordering::Relaxed) { CallLog::asking_capacity() } else { CallLog::default() })
    })
}

/// The running stack.
pub struct Stack {
    /// The application context (same configuration as the gateway's handlers).
    pub app: App,
    /// Resource names.
    pub resources: LocalResources,
    /// The local gateway.
    pub gateway: Gateway,
}

/// Development secrets the test stack runs with.
pub mod secrets {
    /// HS256 staff token secret.
    pub const JWT: &str = "e2e-jwt-secret";
    /// Simple-format webhook secret.
    pub const WEBHOOK: &str = "e2e-webhook-secret";
    /// Meta app secret.
    pub const APP: &str = "e2e-app-secret";
    /// Meta verify token.
    pub const VERIFY: &str = "e2e-verify-token";
    /// Guest token secret.
    pub const GUEST: &str = "e2e-guest-secret";
    /// Provisioning API key.
    pub const API_KEY: &str = "e2e-provisioning-key";
    /// The approved reopen template (`name:language`).
    pub const REOPEN_TEMPLATE: &str = "lobbybee_reopen:en_GB";
}

/// The stack of this test binary, started on first use.
pub async fn stack() -> &'static Stack {
    static STACK: OnceCell<Stack> = OnceCell::const_new();
    STACK
        .get_or_init(|| async {
            if std::env::var("AWS_ENDPOINT_URL").is_err() {
                panic!("AWS_ENDPOINT_URL is not set: run the suite with infra/scripts/test.sh");
            }
            let sdk = lobbybee::app::sdk_defaults().load().await;
            let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
            let resources = bootstrap(&sdk, &template, &tenant()).await.expect("bootstrap from template.yaml");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind gateway");
            let port = listener.local_addr().expect("addr").port();
            let config = test_config(&sdk, &resources, port).await;
            let app = App::recording(config, &sdk, calls());
            // The tests sweep the outbox themselves, "at" chosen moments. The tests of a binary share
            // this stack and run in parallel, so it applies no concurrency limit (a test that
            // wants one starts a gateway of its own: `gateway_through_with`).
            let options = GatewayOptions {
                sweep_every: None,
                concurrency: lobbybee_local::concurrency::ConcurrencyLimits::unlimited(),
                ..GatewayOptions::like_aws(&resources)
            };
            let gateway = gateway::start(app.clone(), listener, options).await.expect("start gateway");
            Stack { app, resources, gateway }
        })
        .await
}

/// This test binary's name (`dashboard`, `sockets`, …).
fn binary() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe.as_ref().and_then(|p| p.file_stem()).and_then(|s| s.to_str()).unwrap_or("suite");
    let name = stem.rsplit_once('-').map_or(stem, |(name, _hash)| name);
    name.replace('_', "-")
}

/// One tenant (table, queues, bucket) per run of a test binary: a binary that exits while its
/// poller long-polls a queue leaves the message it was handed invisible for the queue's
/// visibility timeout (minutes), which must delay neither the next binary nor the next run.
fn tenant() -> String {
    format!("e2e-{}-{}", binary(), std::process::id())
}

/// The test stack's secrets, by parameter name, as the stack's Parameter Store holds them.
pub const SECRET_VALUES: &[(&str, &str)] = &[
    ("jwt_key", secrets::JWT),
    ("webhook_secret", secrets::WEBHOOK),
    ("whatsapp_app_secret", secrets::APP),
    ("whatsapp_verify_token", secrets::VERIFY),
    ("whatsapp_token", "e2e-whatsapp-token"),
    ("guest_token_secret", secrets::GUEST),
    ("provisioning_api_key", secrets::API_KEY),
];

/// Where this run's secrets live in the emulator's Parameter Store.
pub fn secrets_path() -> String {
    lobbybee_local::env::secrets_path(&tenant())
}

/// The configuration the test stack runs with: its secrets written to the emulator's Parameter
/// Store and read back by the loader a deployed function uses.
pub async fn test_config(sdk: &aws_config::SdkConfig, resources: &LocalResources, port: u16) -> Config {
    lobbybee::secrets::store(sdk, &secrets_path(), SECRET_VALUES).await.expect("test secrets in Parameter Store");
    let mut vars = lobbybee_local::env::stack_vars(resources, port);
    vars.extend(
        [
            ("SECRETS_PATH", secrets_path().as_str()),
            ("ALLOWED_ORIGINS", "https://dashboard.example"),
            ("WHATSAPP_REOPEN_TEMPLATE", secrets::REOPEN_TEMPLATE),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let needs = lobbybee::config::all_needs();
    Config::load(sdk, &needs, |key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
        .await
        .expect("test configuration")
}

/// A Parameter Store client whose calls are recorded for the permissions check (the secrets
/// each function reads at start-up).
pub fn recorded_ssm(sdk: &aws_config::SdkConfig) -> aws_sdk_ssm::Client {
    let mut config = aws_sdk_ssm::config::Builder::from(sdk);
    config.set_interceptors(Some(aws_sdk_ssm::config::SharedInterceptor::new(
        calls().interceptor(lobbybee::calls::Service::Ssm),
    )));
    aws_sdk_ssm::Client::from_conf(config.build())
}

/// A second gateway over the same tenant whose handlers run with `configure`d settings, for
/// settings that change answers (such as the conversation list format). It polls no queues (the
/// stack's own gateway keeps consuming them) and pushes to its own sockets only.
pub async fn gateway_with(configure: impl FnOnce(&mut Config)) -> Gateway {
    let sdk = lobbybee::app::sdk_defaults().load().await;
    second_gateway(&sdk, configure).await
}

/// Like [`gateway_with`], with every AWS call of its handlers going through `proxy`, which can
/// be told to fail them.
pub async fn gateway_through(proxy: &faults::FaultProxy) -> Gateway {
    gateway_through_with(proxy, GatewayOptions::default()).await
}

/// [`gateway_through`], started with `options` (e.g. concurrency limits).
pub async fn gateway_through_with(proxy: &faults::FaultProxy, options: GatewayOptions) -> Gateway {
    let sdk = lobbybee::app::sdk_defaults().endpoint_url(&proxy.url).load().await;
    start_second_gateway(&sdk, |_| {}, options).await
}

async fn second_gateway(sdk: &aws_config::SdkConfig, configure: impl FnOnce(&mut Config)) -> Gateway {
    start_second_gateway(sdk, configure, GatewayOptions::default()).await
}

async fn start_second_gateway(
    sdk: &aws_config::SdkConfig,
    configure: impl FnOnce(&mut Config),
    options: GatewayOptions,
) -> Gateway {
    let stack = stack().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind gateway");
    let port = listener.local_addr().expect("addr").port();
    let mut config = test_config(sdk, &stack.resources, port).await;
    configure(&mut config);
    let app = App::recording(config, sdk, calls());
    gateway::start(app, listener, options).await.expect("start gateway")
}

/// A number no other test of this run uses (ids, phone numbers).
pub fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = (chrono::Utc::now().timestamp_millis() as u64 % 1_000_000_000) * 1000;
    base + NEXT.fetch_add(1, Ordering::Relaxed) % 1000
}
