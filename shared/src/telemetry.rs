//! Logs and metrics.
//!
//! Logs are JSON lines (tracing) at the level of `RUST_LOG` / `LOG_LEVEL` (default `info`); the
//! handlers put request and connection ids in their spans. Never log tokens, secrets or message
//! bodies at info level.
//!
//! Metrics are CloudWatch embedded-metric-format lines on stdout: CloudWatch turns them into
//! metrics in the `LobbyBee` namespace without any API call from the function.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON log subscriber once (later calls are ignored).
pub fn init() {
    let level = std::env::var("RUST_LOG").or_else(|_| std::env::var("LOG_LEVEL")).unwrap_or_else(|_| "info".to_owned());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_target(false)
        .without_time()
        .finish()
        .with(filter(&level))
        .try_init();
}

/// The log filter of a `RUST_LOG`-style setting: comma-separated `level` and `target=level`
/// directives (`info,lobbybee=debug`). Directives it cannot read are skipped, and a setting
/// with none it can read logs errors only, as `tracing-subscriber`'s `EnvFilter` does. A plain
/// target filter rather than `EnvFilter`, whose span and field directives (never used here) need
/// a regular expression engine in every binary.
fn filter(setting: &str) -> Targets {
    let directives: Vec<&str> =
        setting.split(',').map(str::trim).filter(|d| !d.is_empty() && d.parse::<Targets>().is_ok()).collect();
    if directives.is_empty() {
        return Targets::new().with_default(LevelFilter::ERROR);
    }
    directives.join(",").parse().unwrap_or_else(|_| Targets::new().with_default(LevelFilter::ERROR))
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

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn the_log_filter_reads_levels_and_targets() {
        let filter = super::filter("info,lobbybee=debug");
        assert_eq!(filter.default_level(), Some(LevelFilter::INFO));
        assert!(filter.would_enable("lobbybee::ws", &Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime", &Level::DEBUG));
        assert!(filter.would_enable("aws_smithy_runtime", &Level::INFO));
        let filter = super::filter("WARN");
        assert!(!filter.would_enable("lobbybee", &Level::INFO));
        assert!(filter.would_enable("lobbybee", &Level::WARN));
        // Unreadable directives are skipped; nothing readable logs errors only.
        let filter = super::filter("lobbybee[{id}]=trace, debug");
        assert_eq!(filter.default_level(), Some(LevelFilter::DEBUG));
        assert_eq!(super::filter("loud").default_level(), None);
        assert_eq!(super::filter("lobbybee=loudest").default_level(), Some(LevelFilter::ERROR));
    }

    /// Every metric name the functions emit (`metric("Name", …)` anywhere in this crate).
    fn emitted() -> Vec<String> {
        fn walk(dir: &std::path::Path, names: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, names);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for call in text.split("telemetry::metric(\"").skip(1) {
                        names.push(call.split('"').next().unwrap().to_owned());
                    }
                }
            }
        }
        let mut names = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut names);
        names
    }

    #[test]
    fn the_dashboard_and_the_alarms_read_only_metrics_the_functions_emit() {
        let emitted = emitted();
        for name in ["PushesSent", "PushesGone", "PushesDeferred", "OutboundSent", "OutboundFailed", "WebhookLatency"] {
            assert!(emitted.iter().any(|e| e == name), "{name} is emitted");
        }
        let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
        // Dashboard widgets: ["LobbyBee", "<name>", …]; alarms: `Namespace: LobbyBee` then `MetricName: <name>`.
        let widgets = template.split("[\"LobbyBee\", \"").skip(1).map(|rest| rest.split('"').next().unwrap());
        let alarms = template
            .split("Namespace: LobbyBee\n")
            .skip(1)
            .map(|rest| rest.trim_start().strip_prefix("MetricName: ").unwrap().lines().next().unwrap().trim());
        let read: Vec<&str> = widgets.chain(alarms).collect();
        assert!(read.len() >= 12, "{read:?}");
        for name in read {
            assert!(emitted.iter().any(|e| e == name), "template.yaml reads LobbyBee/{name}, which no function emits");
        }
    }
}
