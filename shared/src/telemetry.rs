//! Logs and metrics.
//!
//! Logs are JSON lines (tracing) at the level of `RUST_LOG` / `LOG_LEVEL` (default `info`); the
//! handlers put request and connection ids in their spans. Never log tokens, secrets or message
//! bodies at info level.
//!
//! Metrics are CloudWatch embedded-metric-format lines on stdout: CloudWatch turns them into
//! metrics in the `LobbyBee` namespace without any API call from the function.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber once (later calls are ignored).
pub fn init() {
    let level = std::env::var("RUST_LOG").or_else(|_| std::env::var("LOG_LEVEL")).unwrap_or_else(|_| "info".to_owned());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(level))
        .with_current_span(true)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Emits one metric (count or milliseconds) in embedded metric format, when
/// `LOBBYBEE_METRICS` is not `off` (tests and the local gateway turn it off).
pub fn metric(name: &str, value: f64) {
    if value == 0.0 || std::env::var("LOBBYBEE_METRICS").is_ok_and(|v| v == "off") {
        return;
    }
    let unit = if name.ends_with("Latency") { "Milliseconds" } else { "Count" };
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned());
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "LobbyBee",
                "Dimensions": [["Function"]],
                "Metrics": [{"Name": name, "Unit": unit}],
            }],
        },
        "Function": function,
        name: value,
    });
    println!("{line}");
}
