//! `lobbybee-local`: the local stack's command line.
//!
//! ```text
//! lobbybee-local up        [--port 8080 (0: any free port)] [--template template.yaml] [--tenant local] [--count-calls]
//!                          [--reserved-concurrency FUNCTION=N]... [--account-concurrency 1000]
//! lobbybee-local bootstrap [--template template.yaml] [--tenant local]
//! lobbybee-local seed      [--port 8080] [--tenant local]
//! ```
//! (`--help` on each.)
//! `up` creates the resources, seeds the demo data, starts the gateway and prints the URLs and
//! demo credentials; it runs until interrupted. The emulator itself (MiniStack) is started by
//! `infra/scripts/up.sh`, which then runs this. With `--count-calls` the handlers' AWS requests
//! are counted (with DynamoDB's consumed capacity) and served at `/_local/calls`, for the load
//! generator (`infra/scripts/load.sh`). The functions behind the Function URL and the HTTP API
//! run at most their reserved concurrency at once (template.yaml's, with its parameters' defaults,
//! unless `--reserved-concurrency` says otherwise); one without a reservation shares what the
//! reservations leave of `--account-concurrency` (Lambda's default quota, 1,000). Over the limit
//! an invocation is answered as AWS answers a throttled one (the webhook: 429).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use lobbybee::app::App;
use lobbybee::calls::CallLog;
use lobbybee::config::Config;
use lobbybee_local::bootstrap::{LocalResources, bootstrap};
use lobbybee_local::gateway::{self, ConcurrencyLimits, GatewayOptions};
use lobbybee_local::{env, seed};

/// The local stack: the resources of template.yaml on the emulator, demo data, and the gateway
/// that stands in for API Gateway.
#[derive(Debug, Parser)]
#[command(name = "lobbybee-local", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// The SAM template whose resources are created.
    #[arg(long, global = true, default_value = "template.yaml")]
    template: PathBuf,
    /// The tenant (names of the table, queues, bucket and secrets path).
    #[arg(long, global = true, default_value = "local")]
    tenant: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates the resources, seeds the demo data, starts the gateway and prints the URLs and
    /// demo credentials; runs until interrupted.
    Up {
        /// Port of the gateway (0: any free port, printed).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Count every AWS request of the handlers (and DynamoDB's consumed capacity) and serve
        /// the counts at `/_local/calls` (the load generator).
        #[arg(long)]
        count_calls: bool,
        /// A function's reserved concurrency instead of template.yaml's, e.g. `guest-webhook=4`
        /// (0 refuses every invocation, as on AWS); repeatable.
        #[arg(long, value_name = "FUNCTION=N", value_parser = function_limit)]
        reserved_concurrency: Vec<(String, u32)>,
        /// The account's concurrency quota, shared by the functions without a reservation once
        /// the reservations are taken from it (Lambda's default quota).
        #[arg(long, value_name = "N", default_value_t = lobbybee_local::concurrency::ACCOUNT_QUOTA)]
        account_concurrency: u32,
    },
    /// Creates the resources and prints their names as environment lines.
    Bootstrap,
    /// Creates the resources and the demo data, and prints the demo credentials.
    Seed {
        /// Port the gateway will listen on (for the URLs in the demo data).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

/// The gateway does the work of several Lambdas and of API Gateway in one process, two worker
/// threads allocating and freeing small buffers for every request and push (the AWS SDK's
/// orchestrator above all): mimalloc's per-thread free lists cost a fraction of glibc's malloc
/// there (docs/performance.md, "Gateway CPU per message").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("lobbybee-local: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let args = Args::parse();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,lobbybee=info,lobbybee_local=info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).try_init();
    let sdk = lobbybee::app::sdk_defaults().load().await;
    let resources = bootstrap(&sdk, &args.template, &args.tenant).await.map_err(|e| e.to_string())?;
    match args.command {
        Command::Bootstrap => {
            print!("{}", resources.env_lines());
            Ok(())
        }
        Command::Seed { port } => {
            let app = local_app(&sdk, &resources, &args.tenant, port, None).await?;
            let demo = seed_demo(&app).await?;
            print_demo(&demo);
            Ok(())
        }
        Command::Up { port, count_calls, reserved_concurrency, account_concurrency } => {
            let calls = count_calls.then(|| Arc::new(CallLog::asking_capacity()));
            let mut limits = ConcurrencyLimits::like_aws(&resources.reserved_concurrency);
            limits.reserved.extend(reserved_concurrency);
            limits.account = Some(account_concurrency);
            up(&sdk, &resources, &args.tenant, port, calls, limits).await
        }
    }
}

/// The app of the local stack: its development secrets go to the emulator's Parameter Store
/// and come back through the loader a deployed function uses. With `calls`, every AWS call of
/// the handlers is recorded there.
async fn local_app(
    sdk: &aws_config::SdkConfig,
    resources: &LocalResources,
    tenant: &str,
    port: u16,
    calls: Option<&Arc<CallLog>>,
) -> Result<App, String> {
    let path = env::secrets_path(tenant);
    let values = env::secret_values();
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lobbybee::secrets::store(sdk, &path, &pairs).await?;
    let mut extra = env::stack_vars(resources, port);
    extra.push(("SECRETS_PATH".into(), path));
    let needs = lobbybee::config::all_needs();
    let config = Config::load(sdk, &needs, |key| env::lookup(key, &extra)).await.map_err(|e| e.to_string())?;
    Ok(match calls {
        Some(log) => App::recording(config, sdk, log),
        None => App::new(config, sdk),
    })
}

async fn seed_demo(app: &App) -> Result<seed::DemoData, String> {
    let jwt = env::lookup("JWT_SECRET", &[]).unwrap_or_default();
    let guest = env::lookup("GUEST_TOKEN_SECRET", &[]).unwrap_or_default();
    seed::seed(app.store.as_ref(), &jwt, &guest).await.map_err(|e| e.to_string())
}

async fn up(
    sdk: &aws_config::SdkConfig,
    resources: &LocalResources,
    tenant: &str,
    port: u16,
    calls: Option<Arc<CallLog>>,
    limits: ConcurrencyLimits,
) -> Result<(), String> {
    // Bound first, so that `--port 0` (any free port) works: the handlers' settings name it.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let app = local_app(sdk, resources, tenant, port, calls.as_ref()).await?;
    let demo = seed_demo(&app).await?;
    let reserved: Vec<String> = ["guest-webhook", "rest-api"]
        .iter()
        .filter_map(|f| limits.reserved.get(*f).map(|n| format!("{f} {n}")))
        .collect();
    let options = GatewayOptions { concurrency: limits, ..GatewayOptions::like_aws(resources) };
    let tools = match calls {
        Some(log) => local_tools(&demo).with_calls(log),
        None => local_tools(&demo),
    };
    let gateway = gateway::start_with_tools(app, listener, options, Some(tools)).await.map_err(|e| e.to_string())?;
    let http = gateway.http_base();
    println!("LobbyBee Chat is running locally\n");
    println!("  Staff console   {http}/console/   (guest simulator: {http}/console/guest)");
    println!("  WebSocket API   {}/?token=<staff token>   (or {}/ws/chat/)", gateway.ws_url(), gateway.ws_url());
    println!("  REST API        {http}/api/chat/");
    println!("  Guest webhook   {http}/api/chat/guest-webhook/");
    if !reserved.is_empty() {
        println!("  Concurrency     {} at once (reserved; over it: 429 / 500, as on AWS)", reserved.join(", "));
    }
    println!("  Management API  {http}/local/@connections/<id>");
    println!("  Sent WhatsApp   {http}/_fake/whatsapp/_sent   (what the fake Cloud API received)");
    println!(
        "  Local-only      {http}/_local/demo   (demo tokens; also guest messages, socket drops: docs/console.md)"
    );
    println!(
        "  Dashboard       NUXT_PUBLIC_API_URL={http}/api NUXT_PUBLIC_WS_URL={}/ws/chat/   (docs/clients.md)",
        gateway.ws_url()
    );
    println!("  Tables/queues   {} on {}", resources.table_name, std::env::var("AWS_ENDPOINT_URL").unwrap_or_default());
    print_demo(&demo);
    let cli = std::env::var("LOBBYBEE_CLI").unwrap_or_else(|_| "lobbybee".into());
    println!("\nTry it: {cli} --api {http}/api/chat/ guest say {} \"Two more towels please\"", demo_number(&demo));
    println!("Press Ctrl-C to stop (the emulator stops with it).");
    shutdown_signal().await;
    gateway.shutdown().await;
    Ok(())
}

/// `FUNCTION=N` of `--reserved-concurrency`.
fn function_limit(text: &str) -> Result<(String, u32), String> {
    let (function, limit) = text.split_once('=').ok_or("expected FUNCTION=N, e.g. guest-webhook=4")?;
    let limit = limit.trim().parse().map_err(|_| format!("{limit}: not a whole number"))?;
    Ok((function.trim().to_owned(), limit))
}

/// The first demo guest's number (for the hint line).
fn demo_number(demo: &seed::DemoData) -> String {
    demo.guests.first().map_or_else(|| "+919876543210".into(), |g| g.number.clone())
}

/// The local-only endpoints' demo data and development secrets.
fn local_tools(demo: &seed::DemoData) -> gateway::LocalTools {
    let secret = |key: &str| env::lookup(key, &[]).unwrap_or_default();
    gateway::LocalTools::new(
        seed::DEMO_HOTEL,
        seed::DEMO_HOTEL_NAME,
        seed::DEMO_PHONE_NUMBER_ID,
        demo.staff.clone(),
        demo.guests.clone(),
        secret("JWT_SECRET"),
        secret("WEBHOOK_SECRET"),
        secret("WHATSAPP_APP_SECRET"),
    )
}

/// Ctrl-C or SIGTERM (what `kill` and process managers send).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

fn print_demo(demo: &seed::DemoData) {
    println!("\nDemo hotel `{}` ({})", seed::DEMO_HOTEL, seed::DEMO_HOTEL_NAME);
    for s in &demo.staff {
        println!("  staff {:>4} {:<16} {:<38} token={}", s.user_id, s.name, s.role, s.token);
    }
    for g in &demo.guests {
        let token = g.guest_token.as_deref().unwrap_or("(no active stay)");
        println!("  guest {:>4} {:<16} {:<14} guest_token={token}", g.id, g.name, g.number);
    }
}
