//! `health`: is every face of a stack answering? The REST API (401 without a token is an answer;
//! 200 with one), the WebSocket handshake (refused 401 without a token; accepted with one), and
//! the webhook's Meta verification handshake (the challenge echoed with the verify token; 403
//! without it).

use clap::Args;
use serde_json::{Value, json};

use crate::client::{Failure, Outcome, Stack};
use crate::output::{Format, table};

#[derive(Args)]
pub struct HealthArgs {
    /// The stack's Meta verify token (default on a local stack: the development one); without
    /// it a 403 from the webhook counts as answering.
    #[arg(long, env = "LOBBYBEE_VERIFY_TOKEN", hide_env_values = true)]
    verify_token: Option<String>,
}

struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

pub async fn run(stack: &Stack, args: HealthArgs, format: Format) -> Outcome {
    let checks = [rest(stack).await, socket(stack).await, webhook(stack, args.verify_token).await];
    let failed = checks.iter().filter(|c| !c.ok).count();
    match format {
        Format::Json => {
            let list: Vec<Value> =
                checks.iter().map(|c| json!({ "check": c.name, "ok": c.ok, "detail": c.detail })).collect();
            println!("{}", json!({ "ok": failed == 0, "checks": list }));
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = checks
                .iter()
                .map(|c| vec![c.name.to_owned(), if c.ok { "ok" } else { "FAILED" }.to_owned(), c.detail.clone()])
                .collect();
            table(&["CHECK", "RESULT", "DETAIL"], &rows);
        }
    }
    if failed > 0 {
        return Err(Failure::new(
            format!("{failed} of {} checks failed", checks.len()),
            "see DETAIL; a stack that is not reachable at all: check --api/--ws/--webhook (locally: ./infra/scripts/up.sh)",
        ));
    }
    Ok(())
}

async fn rest(stack: &Stack) -> Check {
    let name = "REST API";
    if stack.has_token() {
        return match stack.staff(reqwest::Method::GET, "conversations/", &[("limit", "1".into())]).await {
            Ok(_) => {
                Check { name, ok: true, detail: format!("{} answered 200 with the token", stack.url("conversations/")) }
            }
            Err(e) => Check { name, ok: false, detail: e.to_string() },
        };
    }
    match stack.get(&stack.url("conversations/")).await {
        Ok(answer) if answer.status == 401 => Check {
            name,
            ok: true,
            detail: format!("{} answered 401 without a token, as it should", stack.url("conversations/")),
        },
        Ok(answer) => Check {
            name,
            ok: false,
            detail: format!("unexpected {} from {}", answer.status, stack.url("conversations/")),
        },
        Err(e) => Check { name, ok: false, detail: e.to_string() },
    }
}

async fn socket(stack: &Stack) -> Check {
    let name = "WebSocket";
    let token = stack.token().ok();
    let url = match token {
        Some(token) => format!("{}{}token={token}", stack.ws, if stack.ws.contains('?') { "&" } else { "?" }),
        None => stack.ws.clone(),
    };
    let connect =
        tokio::time::timeout(std::time::Duration::from_secs(15), tokio_tungstenite::connect_async(url.as_str()));
    match (connect.await, token) {
        (Ok(Ok((mut socket, _))), Some(_)) => {
            let _ = socket.close(None).await;
            Check { name, ok: true, detail: format!("{} accepted the token", stack.ws) }
        }
        (Ok(Ok(_)), None) => {
            Check { name, ok: false, detail: format!("{} accepted a socket without a token", stack.ws) }
        }
        (Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))), None) if response.status() == 401 => Check {
            name,
            ok: true,
            detail: format!("{} refused a handshake without a token (401), as it should", stack.ws),
        },
        (Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))), _) => {
            Check { name, ok: false, detail: format!("{} refused the handshake with {}", stack.ws, response.status()) }
        }
        (Ok(Err(e)), _) => Check { name, ok: false, detail: format!("cannot reach {}: {e}", stack.ws) },
        (Err(_), _) => Check { name, ok: false, detail: format!("no handshake answer from {} within 15 s", stack.ws) },
    }
}

async fn webhook(stack: &Stack, verify_token: Option<String>) -> Check {
    let name = "Webhook verify";
    let token = verify_token.or_else(|| stack.local_default("WHATSAPP_VERIFY_TOKEN"));
    let challenge = format!("{}", chrono::Utc::now().timestamp_micros());
    let separator = if stack.webhook.contains('?') { "&" } else { "?" };
    let url = format!(
        "{}{separator}hub.mode=subscribe&hub.verify_token={}&hub.challenge={challenge}",
        stack.webhook,
        token.as_deref().map(|t| t.replace('&', "%26")).unwrap_or_else(|| "health-check".into())
    );
    match (stack.get(&url).await, token.is_some()) {
        // The challenge comes back as plain text (digits, so it may parse as a JSON number).
        (Ok(answer), true) if answer.status == 200 && answer.body.to_string().trim_matches('"') == challenge => {
            Check { name, ok: true, detail: format!("{} echoed the challenge", stack.webhook) }
        }
        (Ok(answer), false) if answer.status == 403 => {
            Check { name, ok: true, detail: format!("{} answers (403 without the verify token)", stack.webhook) }
        }
        (Ok(answer), _) => Check {
            name,
            ok: false,
            detail: format!("unexpected {} {} from {}", answer.status, answer.body, stack.webhook),
        },
        (Err(e), _) => Check { name, ok: false, detail: e.to_string() },
    }
}
