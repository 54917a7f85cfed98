//! What a Cloud API answer other than 2xx means for a job: try again later, or never.

use serde_json::Value;

use super::Attempt;

/// Graph API error codes that mean "not now" whatever HTTP status they come with (Meta advises
/// handling errors by `error.code`; a throughput limit is typically a 400): the app's call rate
/// (4), the business account's rate (80007), the phone number's throughput (130429) and the pair
/// rate of one guest (131056).
const THROTTLING_CODES: [i64; 4] = [4, 80_007, 130_429, 131_056];

/// Graph API error codes of a temporary failure on Meta's side: the service down or overloaded
/// (2), a service temporarily unavailable (131016).
const TEMPORARY_CODES: [i64; 2] = [2, 131_016];

/// What a Cloud API answer other than 2xx means for the job: throttling (429 or a throttling
/// code, counted as `OutboundThrottled`), a 5xx and a temporary code are retried with the
/// queue's backoff; every other answer is permanent. The reason names the status and the Graph
/// API code only (never the message text, which may quote the guest's number).
pub(super) fn refused(status: u16, answer: &Value) -> Attempt {
    let code = answer.pointer("/error/code").and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
    let described = match code {
        Some(code) => format!("HTTP {status}, code {code}"),
        None => format!("HTTP {status}"),
    };
    if status == 429 || code.is_some_and(|c| THROTTLING_CODES.contains(&c)) {
        crate::telemetry::metric("OutboundThrottled", 1.0);
        Attempt::Retry(format!("throttled: {described}"))
    } else if status >= 500 || code.is_some_and(|c| TEMPORARY_CODES.contains(&c)) {
        Attempt::Retry(described)
    } else {
        Attempt::Permanent(described)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn throttling_and_temporary_answers_are_retried_whatever_their_status() {
        let graph = |code: Value| json!({"error": {"message": "(#x) y", "type": "OAuthException", "code": code}});
        let retried = |status, answer: &Value| matches!(refused(status, answer), Attempt::Retry(_));
        // Throughput, pair rate, account and app rate limits: Meta answers them with a 400 or a 429.
        for code in [130_429, 131_056, 80_007, 4] {
            assert!(retried(400, &graph(json!(code))), "code {code}");
            assert!(retried(429, &graph(json!(code))), "code {code}");
        }
        assert!(retried(400, &graph(json!("130429"))), "a code written as a string");
        assert!(retried(429, &Value::Null), "a bare 429");
        assert!(retried(503, &Value::Null) && retried(500, &graph(json!(131_000))));
        assert!(retried(400, &graph(json!(131_016))) && retried(400, &graph(json!(2))));
        // Refusals that no retry changes: not on WhatsApp, outside the window, bad token.
        for (status, code) in [(400, 131_026), (400, 131_047), (401, 190), (400, 100)] {
            assert_eq!(refused(status, &graph(json!(code))), Attempt::Permanent(format!("HTTP {status}, code {code}")));
        }
        assert_eq!(refused(404, &Value::Null), Attempt::Permanent("HTTP 404".into()));
        assert_eq!(refused(400, &graph(json!(130_429))), Attempt::Retry("throttled: HTTP 400, code 130429".into()));
    }
}
