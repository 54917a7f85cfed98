//! Time as clients see it (docs/api.md §2, §4).
//!
//! Every timestamp a client sees is ISO-8601 UTC with milliseconds and a `Z`
//! (`2026-11-24T10:02:11.123Z`), and the same string is what the store keeps (it sorts
//! chronologically, so it also serves in sort keys). [`now`] is truncated to milliseconds so what
//! is stored is exactly what is shown and read back. [`time_ago`] is the dashboard's relative time
//! label, kept identical to the Django version's.

use chrono::{DateTime, SecondsFormat, Utc};

/// The current time, truncated to whole milliseconds.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// RFC 3339 in UTC with exactly three fractional digits (truncated) and `Z`, e.g.
/// `2026-11-24T10:02:11.123Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 / ISO-8601 timestamp with an offset (`Z` or `±hh:mm`) into UTC; `None` for
/// anything else, including timestamps without an offset.
pub fn parse_iso(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// The relative label of a message sent at `then`, seen at `now` (docs/api.md §4):
/// `Just now` under a minute (and for times in the future, e.g. clock skew), then
/// `1 minute ago` / `N minutes ago`, `1 hour ago` / `N hours ago`, `1 day ago` / `N days ago`
/// (each unit counted in whole, rounded-down units), and from 7 days on the UTC date of `then`
/// as `Nov 24, 2026` (`%b %d, %Y`, so the day is zero-padded: `Nov 04, 2026`).
pub fn time_ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let seconds = (now - then).num_seconds();
    let ago = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match seconds {
        s if s < MINUTE => "Just now".to_owned(),
        s if s < HOUR => ago(s / MINUTE, "minute"),
        s if s < DAY => ago(s / HOUR, "hour"),
        s if s < 7 * DAY => ago(s / DAY, "day"),
        _ => then.format("%b %d, %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(raw: &str) -> DateTime<Utc> {
        parse_iso(raw).unwrap()
    }

    #[test]
    fn iso_has_milliseconds_and_z() {
        assert_eq!(iso(at("2026-11-24T10:02:11.123Z")), "2026-11-24T10:02:11.123Z");
        assert_eq!(iso(at("2026-11-24T10:02:11Z")), "2026-11-24T10:02:11.000Z");
        assert_eq!(iso(at("2026-11-24T10:02:11.123999Z")), "2026-11-24T10:02:11.123Z");
        assert_eq!(iso(at("2026-11-24T11:02:11+01:00")), "2026-11-24T10:02:11.000Z");
    }

    #[test]
    fn parse_iso_needs_an_offset() {
        assert_eq!(parse_iso(" 2026-11-24T10:02:11.123Z "), Some(at("2026-11-24T10:02:11.123Z")));
        for bad in ["", "yesterday", "2026-11-24", "2026-11-24T10:02:11", "2026-13-01T00:00:00Z"] {
            assert_eq!(parse_iso(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn now_is_whole_milliseconds_and_round_trips() {
        let t = now();
        assert_eq!(t.timestamp_subsec_nanos() % 1_000_000, 0);
        assert_eq!(parse_iso(&iso(t)), Some(t));
    }

    #[test]
    fn time_ago_boundaries() {
        let now = at("2026-11-24T10:00:00Z");
        let ago = |d: Duration| time_ago(now - d, now);
        let (s, m, h, d) = (Duration::seconds, Duration::minutes, Duration::hours, Duration::days);
        assert_eq!(ago(s(-3600)), "Just now");
        assert_eq!(ago(s(0)), "Just now");
        assert_eq!(ago(s(59)), "Just now");
        assert_eq!(ago(s(60)), "1 minute ago");
        assert_eq!(ago(s(119)), "1 minute ago");
        assert_eq!(ago(s(120)), "2 minutes ago");
        assert_eq!(ago(s(3599)), "59 minutes ago");
        assert_eq!(ago(s(3600)), "1 hour ago");
        assert_eq!(ago(h(2)), "2 hours ago");
        assert_eq!(ago(h(23) + m(59)), "23 hours ago");
        assert_eq!(ago(d(1) - s(1)), "23 hours ago");
        assert_eq!(ago(d(1)), "1 day ago");
        assert_eq!(ago(d(2)), "2 days ago");
        assert_eq!(ago(d(6) + h(23)), "6 days ago");
        assert_eq!(ago(d(7) - s(1)), "6 days ago");
        assert_eq!(ago(d(7)), "Nov 17, 2026");
        assert_eq!(ago(d(20)), "Nov 04, 2026");
        assert_eq!(ago(d(400)), "Oct 20, 2025");
    }
}
