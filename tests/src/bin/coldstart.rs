//! `infra/scripts/coldstart.sh`: the cold start of each function's release binary against a
//! minimal Lambda runtime API.
//!
//! For each function and each run, a stub of the runtime API (`/2018-06-01/runtime/...`) listens
//! on a fresh port and the binary is started with the environment Lambda gives a function
//! (`AWS_LAMBDA_RUNTIME_API`, the function's name, memory, log group) and the stack's settings,
//! its secrets in the emulator's Parameter Store as a deployed function reads them. The stub
//! serves one fixture event at the first `GET …/invocation/next` and records the answer; the
//! binary's second `next` (it is idle again) is held. Printed per function: the binary's size, the
//! time from starting the process to its first `next` (ready: logs, configuration, secrets read,
//! clients built), the time to its answer to the first event, and its resident memory once it
//! answered, as min/median/max over the runs; and what it answered. A last row runs guest-webhook
//! on a guest message whose department has [`FAN_OUT`] staff sockets: the stub also serves the
//! Management API (`WS_ENDPOINT`) and counts the pushes, so its memory is read after a fan-out.
//!
//! Figures, not assertions. The emulator stands in for Parameter Store over loopback, so the
//! secrets are read faster than from AWS.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lobbybee_local::gateway::events::{self, HttpRequestInfo};
use serde_json::Value;
use tokio::sync::mpsc;

const FUNCTIONS: [&str; 8] = [
    "ws-connect",
    "ws-default",
    "ws-disconnect",
    "guest-webhook",
    "rest-api",
    "outbound-sender",
    "outbound-sweeper",
    "push-retry",
];

/// The staff sockets of the fan-out row.
const FAN_OUT: usize = 50;

/// How long a binary may take to become ready and answer.
const PATIENCE: Duration = Duration::from_secs(20);

/// What the runtime API stub saw.
enum Seen {
    /// A `next` (the first one is ready for the first event).
    Next(Instant),
    /// The first event's answer, or its error, or an init error.
    Answer(Instant, String),
}

#[derive(Clone)]
struct Stub {
    event: Arc<Value>,
    nexts: Arc<AtomicUsize>,
    pushes: Arc<AtomicUsize>,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn next(State(stub): State<Stub>) -> Response {
    let _ = stub.seen.send(Seen::Next(Instant::now()));
    if stub.nexts.fetch_add(1, Ordering::SeqCst) > 0 {
        tokio::time::sleep(PATIENCE).await; // idle again: hold it
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let headers = [
        ("lambda-runtime-aws-request-id", "coldstart-1".to_owned()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:coldstart".into()),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into()),
        ("content-type", "application/json".into()),
    ];
    (headers, stub.event.to_string()).into_response()
}

async fn answer(State(stub): State<Stub>, uri: Uri, body: String) -> StatusCode {
    let kind = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
    let _ = stub.seen.send(Seen::Answer(Instant::now(), format!("{kind}: {body}")));
    StatusCode::ACCEPTED
}

/// A frame posted to `@connections/{id}` (the Management API's `PostToConnection`).
async fn push(State(stub): State<Stub>) -> StatusCode {
    stub.pushes.fetch_add(1, Ordering::SeqCst);
    StatusCode::OK
}

/// One run of one binary.
struct Run {
    ready: Duration,
    answered: Duration,
    rss_kib: u64,
    answer: String,
    pushes: usize,
}

async fn run_once(binary: &Path, function: &str, event: &Value, env: &[(String, String)]) -> Result<Run, String> {
    let (seen, mut seen_rx) = mpsc::unbounded_channel();
    let stub = Stub { event: Arc::new(event.clone()), nexts: Arc::default(), pushes: Arc::default(), seen };
    let pushes = stub.pushes.clone();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(answer))
        .route("/2018-06-01/runtime/init/error", post(answer))
        .route("/local/@connections/{id}", post(push))
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let api = listener.local_addr().map_err(|e| e.to_string())?.to_string();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let started = Instant::now();
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("WS_ENDPOINT", format!("http://{api}/local"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id();
    let (mut ready, mut answered, mut rss_kib, mut answer) = (None, None, 0, String::new());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, seen_rx.recv()).await {
        match event {
            Seen::Next(at) if ready.is_none() => ready = Some(at - started),
            Seen::Next(_) => {
                rss_kib = rss(pid);
                break;
            }
            Seen::Answer(at, text) => {
                answered = Some(at - started);
                answer = text;
                if ready.is_none() {
                    break; // an init error: it will not ask again
                }
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    match (ready, answered) {
        (Some(ready), Some(answered)) => {
            Ok(Run { ready, answered, rss_kib, answer, pushes: pushes.load(Ordering::SeqCst) })
        }
        _ => Err(format!("{function}: no answer in {PATIENCE:?} ({answer})")),
    }
}

fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_default()
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default()).unwrap_or_default()
}

/// The Function URL event of an HTTP request.
fn http_event(method: Method, path: &str, headers: HeaderMap, body: &[u8]) -> Value {
    let uri: Uri = path.parse().unwrap_or_default();
    events::http_event(
        &HttpRequestInfo {
            method: &method,
            uri: &uri,
            version: Version::HTTP_11,
            headers: &headers,
            body,
            source_ip: "203.0.113.7",
            domain: "coldstart.example",
            account_id: "anonymous",
            request_id: "coldstart",
        },
        chrono::Utc::now(),
    )
}

/// A simple-format guest webhook carrying `body`, signed with the stack's secret.
fn signed_webhook(body: &Value) -> Value {
    let body = body.to_string();
    let secret = lobbybee_local::env::lookup("WEBHOOK_SECRET", &[]).unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(signature) = lobbybee::auth::signature::sign(secret.as_bytes(), body.as_bytes()).parse() {
        headers.insert("x-signature-256", signature);
    }
    http_event(Method::POST, "/api/chat/guest-webhook/", headers, body.as_bytes())
}

/// A hotel whose Reception has [`FAN_OUT`] open staff sockets, and a checked-in guest: the
/// signed webhook of that guest's message to Reception.
async fn fan_out_event(store: &lobbybee::store::DynamoStore) -> Result<Value, lobbybee::store::StoreError> {
    use lobbybee::department::Department;
    use lobbybee::model::{Guest, GuestStatus, Hotel, Stay, StayStatus};
    use lobbybee::store::{Connections, Directory};
    let now = lobbybee::clock::now();
    let tag = now.timestamp_micros() % 1_000_000_000;
    let hotel = Hotel {
        id: format!("coldstart-{tag}"),
        name: "Cold Start".into(),
        whatsapp_phone_number_id: None,
        departments: Department::ALL.to_vec(),
        timezone: "UTC".into(),
    };
    store.put_hotel(&hotel).await?;
    let guest_id = u64::try_from(tag).unwrap_or_default();
    let number = format!("+1555{tag:09}");
    store
        .put_guest(&Guest {
            id: guest_id,
            hotel_id: hotel.id.clone(),
            whatsapp_number: number.clone(),
            full_name: "Cold Start".into(),
            email: String::new(),
            status: GuestStatus::CheckedIn,
            last_inbound_at: None,
        })
        .await?;
    store
        .put_stay(&Stay {
            id: guest_id,
            hotel_id: hotel.id.clone(),
            guest_id,
            room_number: "101".into(),
            floor: Some(1),
            status: StayStatus::Active,
            check_in_date: None,
            check_out_date: None,
        })
        .await?;
    for i in 0..FAN_OUT {
        store
            .put_connection(&lobbybee_e2e::fixtures::staff_socket(
                format!("coldstart{tag}s{i}"),
                &hotel.id,
                &format!("coldstart-staff-{i}"),
                &format!("Staff {i}"),
                vec![Department::Reception],
                now,
            ))
            .await?;
    }
    Ok(signed_webhook(
        &serde_json::json!({"whatsapp_number": number, "message": "Late checkout?", "department": "Reception"}),
    ))
}

/// The event each function gets first: the fixtures of its trigger, a signed simple webhook, an
/// unauthenticated conversation list, and a queue record each consumer drops as malformed.
fn first_event(function: &str, queues: (&str, &str)) -> Value {
    let record = |queue: &str| {
        let message = aws_sdk_sqs::types::Message::builder().message_id("m1").receipt_handle("r1").body("{}").build();
        events::sqs_event(queue, "us-east-1", &[message])
    };
    match function {
        "ws-connect" => fixture("apigw-ws-connect.json"),
        "ws-default" => fixture("apigw-ws-message.json"),
        "ws-disconnect" => fixture("apigw-ws-disconnect.json"),
        "outbound-sweeper" => fixture("eventbridge-scheduled.json"),
        "guest-webhook" => signed_webhook(&fixture("simple-webhook.json")),
        "rest-api" => http_event(Method::GET, "/api/chat/conversations/", HeaderMap::new(), b""),
        "outbound-sender" => record(queues.0),
        _ => record(queues.1),
    }
}

fn stats(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let pick = |i: usize| values.get(i).copied().unwrap_or_default();
    format!("{:>6.1} {:>6.1} {:>6.1}", pick(0), pick(values.len() / 2), pick(values.len().saturating_sub(1)))
}

/// Runs `binary` `runs` times on `event` and prints its row under `label`.
async fn measure(label: &str, binary: &Path, function: &str, event: &Value, env: &[(String, String)], runs: usize) {
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or_default();
    let (mut ready, mut answered, mut rss, mut answer) = (Vec::new(), Vec::new(), Vec::new(), String::new());
    for _ in 0..runs {
        match run_once(binary, function, event, env).await {
            Ok(run) => {
                ready.push(run.ready.as_secs_f64() * 1e3);
                answered.push(run.answered.as_secs_f64() * 1e3);
                rss.push(run.rss_kib as f64 / 1024.0);
                answer = if run.pushes > 0 { format!("{} pushes; {}", run.pushes, run.answer) } else { run.answer };
            }
            Err(e) => answer = e,
        }
    }
    answer.truncate(60);
    println!(
        "{label:<17} {size:>10} {:>10.2}   {}   {}   {}  {answer}",
        size as f64 / 1_048_576.0,
        stats(&mut ready),
        stats(&mut answered),
        stats(&mut rss)
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut runs, mut dir) = (10usize, std::env::current_exe().ok().and_then(|e| e.parent().map(PathBuf::from)));
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--runs", Some(n)) => runs = n.parse().unwrap_or(runs).max(1),
            ("--bin-dir", Some(d)) => dir = Some(PathBuf::from(d)),
            _ => {
                eprintln!("usage: coldstart [--runs 10] [--bin-dir DIR]");
                std::process::exit(2);
            }
        }
    }
    let dir = dir.unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build();
    let Ok(runtime) = runtime else { std::process::exit(1) };
    runtime.block_on(async move {
        let sdk = lobbybee::app::sdk_defaults().load().await;
        let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let resources = match lobbybee_local::bootstrap::bootstrap(&sdk, &template, "coldstart").await {
            Ok(resources) => resources,
            Err(e) => {
                eprintln!("coldstart: {e}");
                std::process::exit(1);
            }
        };
        let path = lobbybee_local::env::secrets_path("coldstart");
        let values = lobbybee_local::env::secret_values();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Err(e) = lobbybee::secrets::store(&sdk, &path, &pairs).await {
            eprintln!("coldstart: {e}");
            std::process::exit(1);
        }
        let mut env = lobbybee_local::env::stack_vars(&resources, 9);
        env.extend(
            [
                ("SECRETS_PATH", path.as_str()),
                ("LOBBYBEE_METRICS", "off"),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart"),
                ("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        println!("cold start against a runtime API stub, {runs} runs each (min median max)");
        println!(
            "{:<17} {:>10} {:>10}   {:<20}   {:<20}   {:<20}  first answer",
            "function", "bytes", "MiB", "ready ms", "answered ms", "RSS MiB after"
        );
        let queues = (resources.outbound_queue_url.as_str(), resources.push_retry_queue_url.as_str());
        for function in FUNCTIONS {
            measure(function, &dir.join(function), function, &first_event(function, queues), &env, runs).await;
        }
        let store = lobbybee::store::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &resources.table_name);
        match fan_out_event(&store).await {
            Ok(event) => {
                measure(
                    &format!("  fan-out to {FAN_OUT}"),
                    &dir.join("guest-webhook"),
                    "guest-webhook",
                    &event,
                    &env,
                    runs,
                )
                .await
            }
            Err(e) => eprintln!("coldstart: the fan-out hotel could not be stored: {e}"),
        }
    });
}
