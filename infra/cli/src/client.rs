//! The stack the command talks to, its HTTP calls, and errors that say what failed and what to do.

use std::fmt;

use reqwest::Method;
use serde_json::Value;

/// A failure, with what to do about it.
#[derive(Debug)]
pub struct Failure {
    what: String,
    todo: String,
}

impl Failure {
    /// `what` failed; `todo` is the advice.
    pub fn new(what: impl Into<String>, todo: impl Into<String>) -> Self {
        Failure { what: what.into(), todo: todo.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.todo.is_empty() { write!(f, "{}", self.what) } else { write!(f, "{}\n  → {}", self.what, self.todo) }
    }
}

/// A command's result.
pub type Outcome = Result<(), Failure>;

/// Where the stack answers and the credentials to use.
pub struct Stack {
    /// REST base, ending in `/`.
    pub api: String,
    api_key: Option<String>,
    token: Option<String>,
    /// WebSocket URL.
    pub ws: String,
    /// Guest webhook URL.
    pub webhook: String,
    http: reqwest::Client,
}

/// An HTTP answer: status and JSON body (`Null` when empty, the text as a string when not JSON).
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body.
    pub body: Value,
}

impl Stack {
    /// The stack at REST base `api`; `ws` and `webhook` default to the local gateway's layout.
    pub fn new(
        api: &str,
        api_key: Option<String>,
        token: Option<String>,
        ws: Option<String>,
        webhook: Option<String>,
    ) -> Self {
        let api = if api.ends_with('/') { api.to_owned() } else { format!("{api}/") };
        let root = api.split("/api/chat").next().unwrap_or(&api).trim_end_matches('/').to_owned();
        let ws = ws.unwrap_or_else(|| format!("{}/", root.replacen("http", "ws", 1)));
        let webhook = webhook.unwrap_or_else(|| format!("{api}guest-webhook/"));
        let http = lobbybee::app::https()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Stack { api, api_key, token, ws, webhook, http }
    }

    /// Whether the stack runs on this machine (where the development secrets apply).
    pub fn is_local(&self) -> bool {
        let host = self.api.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("");
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    }

    /// A local stack's development setting (the environment, else `infra/local/src/env.rs`), as
    /// `up.sh` uses it; `None` for a stack elsewhere.
    pub fn local_default(&self, variable: &str) -> Option<String> {
        if !self.is_local() {
            return None;
        }
        lobbybee_local::env::lookup(variable, &[])
    }

    /// The staff token, or advice on getting one.
    pub fn token(&self) -> Result<&str, Failure> {
        self.token.as_deref().ok_or_else(|| {
            Failure::new(
                "this command needs a staff token",
                "pass --token or set LOBBYBEE_TOKEN (locally: export LOBBYBEE_TOKEN=$(lobbybee token 101))",
            )
        })
    }

    /// Whether a staff token was given.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// A provisioning call with `X-Api-Key`.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, Failure> {
        let key = self.api_key.clone().or_else(|| self.local_default("PROVISIONING_API_KEY")).ok_or_else(|| {
            Failure::new("provisioning needs the stack's API key", "pass --api-key or set LOBBYBEE_API_KEY")
        })?;
        let request = self.http.request(method, self.url(path)).header("x-api-key", key);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let url = self.url(path);
        expect_success(self.send(request, &url).await?, &url)
    }

    /// A staff call with the bearer token and query parameters.
    pub async fn staff(&self, method: Method, path: &str, query: &[(&str, String)]) -> Result<Value, Failure> {
        let url = self.url(path);
        let request = self.http.request(method, &url).query(query).bearer_auth(self.token()?);
        expect_success(self.send(request, &url).await?, &url)
    }

    /// `GET` an absolute URL (health checks), without credentials.
    pub async fn get(&self, url: &str) -> Result<Answer, Failure> {
        self.send(self.http.get(url), url).await
    }

    /// `POST` raw bytes with headers to an absolute URL.
    pub async fn post_raw(&self, url: &str, body: String, headers: &[(&str, String)]) -> Result<Answer, Failure> {
        let mut request = self.http.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.send(request, url).await
    }

    /// `<api><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.api, path.trim_start_matches('/'))
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Answer, Failure> {
        let response = request.send().await.map_err(|e| unreachable(what, &e))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body =
            serde_json::from_str(&text).unwrap_or(if text.is_empty() { Value::Null } else { Value::String(text) });
        Ok(Answer { status, body })
    }
}

/// A request that got no answer.
fn unreachable(what: &str, error: &reqwest::Error) -> Failure {
    let cause = if error.is_connect() {
        "connection refused or host unknown"
    } else if error.is_timeout() {
        "no answer within 30 s"
    } else {
        "request failed"
    };
    Failure::new(
        format!("cannot reach {what} ({cause})"),
        "is the stack running? Locally: ./infra/scripts/up.sh; elsewhere pass --api (and --ws, --webhook) or set LOBBYBEE_API",
    )
}

/// The body of a 2xx answer; anything else becomes a [`Failure`] with the API's message.
pub fn expect_success(answer: Answer, what: &str) -> Result<Value, Failure> {
    if (200..300).contains(&answer.status) {
        return Ok(answer.body);
    }
    let message = api_message(&answer.body);
    let todo = match answer.status {
        401 => "check the credentials: --api-key / LOBBYBEE_API_KEY for provisioning, a fresh --token for staff calls",
        403 => "the credentials are valid but not allowed to do this (role, department or hotel)",
        404 => "check the id and the --api URL (it must end in /api/chat/)",
        400 | 409 | 413 => "fix the input named above",
        _ => "the stack failed; its logs say why (locally: the up.sh terminal)",
    };
    Err(Failure::new(format!("{what}: the stack answered {} {message}", answer.status), todo))
}

/// The API's error message (`error`, `detail`, field details).
pub fn api_message(body: &Value) -> String {
    let mut message = body
        .get("error")
        .or_else(|| body.get("detail"))
        .or_else(|| body.get("message"))
        .and_then(Value::as_str)
        .map_or_else(|| body.to_string(), str::to_owned);
    if let Some(details) = body.get("details").and_then(Value::as_object) {
        let fields: Vec<String> = details.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        message.push_str(&format!(" ({})", fields.join("; ")));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_and_webhook_default_to_the_local_layout() {
        let stack = Stack::new("http://127.0.0.1:8090/api/chat", None, None, None, None);
        assert_eq!(stack.api, "http://127.0.0.1:8090/api/chat/");
        assert_eq!(stack.ws, "ws://127.0.0.1:8090/");
        assert_eq!(stack.webhook, "http://127.0.0.1:8090/api/chat/guest-webhook/");
        assert!(stack.is_local());
        assert_eq!(stack.url("/conversations/"), "http://127.0.0.1:8090/api/chat/conversations/");

        let deployed = Stack::new(
            "https://abc.execute-api.eu-west-1.amazonaws.com/api/chat/",
            None,
            None,
            Some("wss://def.execute-api.eu-west-1.amazonaws.com/prod".into()),
            Some("https://xyz.lambda-url.eu-west-1.on.aws/".into()),
        );
        assert_eq!(deployed.ws, "wss://def.execute-api.eu-west-1.amazonaws.com/prod");
        assert!(!deployed.is_local());
        assert_eq!(deployed.local_default("WEBHOOK_SECRET"), None, "no development secret for a deployed stack");
        assert_eq!(Stack::new("https://h.example/api/chat/", None, None, None, None).ws, "wss://h.example/");
    }

    #[test]
    fn failures_name_the_api_message_and_advice() {
        let body =
            serde_json::json!({"error": "Invalid data", "details": {"guest_id": ["Unknown guest at this hotel."]}});
        let failure = expect_success(Answer { status: 400, body }, "PUT x").unwrap_err().to_string();
        assert!(failure.contains("400 Invalid data (guest_id: [\"Unknown guest at this hotel.\"])"), "{failure}");
        assert!(failure.contains("→ fix the input"), "{failure}");
        let unauthorised = serde_json::json!({"detail": "Given token not valid for any token type"});
        let failure = expect_success(Answer { status: 401, body: unauthorised }, "GET y").unwrap_err().to_string();
        assert!(failure.contains("Given token not valid") && failure.contains("--api-key"), "{failure}");
    }
}
