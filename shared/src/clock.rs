//! Time as clients see it: ISO-8601 UTC with milliseconds, and the dashboard's `time_ago`.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, truncated to milliseconds (what is stored is what is shown).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// `2026-11-24T10:02:11.123Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an ISO-8601 timestamp with offset.
pub fn parse_iso(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
}

/// `Just now`, `N minute(s) ago`, `N hour(s) ago`, `N day(s) ago` under a week, then
/// `Nov 24, 2026` (CONTRACT §3.2).
pub fn time_ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds();
    let plural = |n: i64, unit: &str| {
        if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") }
    };
    match seconds {
        s if s < 60 => "Just now".to_owned(),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 86_400 => plural(s / 3600, "hour"),
        s if s < 7 * 86_400 => plural(s / 86_400, "day"),
        _ => then.format("%b %d, %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = parse_iso("2026-11-24T10:02:11.123Z").unwrap();
        assert_eq!(iso(t), "2026-11-24T10:02:11.123Z");
        assert_eq!(iso(parse_iso("2026-11-24T11:02:11+01:00").unwrap()), "2026-11-24T10:02:11.000Z");
        assert_eq!(parse_iso("yesterday"), None);
        assert_eq!(now().timestamp_subsec_nanos() % 1_000_000, 0);
    }

    #[test]
    fn time_ago_boundaries() {
        let now = parse_iso("2026-11-24T10:00:00Z").unwrap();
        let ago = |s: i64| time_ago(now - chrono::Duration::seconds(s), now);
        assert_eq!(ago(-5), "Just now");
        assert_eq!(ago(59), "Just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(119), "1 minute ago");
        assert_eq!(ago(3599), "59 minutes ago");
        assert_eq!(ago(3600), "1 hour ago");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(86_399), "23 hours ago");
        assert_eq!(ago(86_400), "1 day ago");
        assert_eq!(ago(7 * 86_400 - 1), "6 days ago");
        assert_eq!(ago(7 * 86_400), "Nov 17, 2026");
        assert_eq!(ago(20 * 86_400), "Nov 04, 2026");
    }
}
