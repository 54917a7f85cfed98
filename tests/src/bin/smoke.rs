//! The smoke subset of the end-to-end suite, against a *deployed* stack (run by
//! `infra/scripts/smoke.sh` after deploying `template.yaml` to MiniStack's CloudFormation).
//!
//! Environment: `SMOKE_REST_URL`, `SMOKE_WEBHOOK_URL` (Function URLs), `SMOKE_WS_URL`,
//! optionally `SMOKE_REST_HOST` / `SMOKE_WEBHOOK_HOST` (Host headers for the emulator's
//! host-based routing), and the stack's secrets `SMOKE_API_KEY`, `SMOKE_JWT_SECRET`,
//! `SMOKE_WEBHOOK_SECRET`. Prints one line per check and `N passed, M failed`.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} is required"))
}

struct Target {
    base: String,
    host: Option<String>,
}

impl Target {
    fn new(url: &str, host: &str) -> Self {
        Target { base: env(url).trim_end_matches('/').to_owned(), host: std::env::var(host).ok() }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> (u16, Value) {
        let mut request = lobbybee::app::https()
            .build()
            .expect("http client")
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(60));
        if let Some(host) = &self.host {
            request = request.header("host", host);
        }
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => {
                eprintln!("request failed: {e}");
                (0, Value::Null)
            }
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON frame, or `None` after 30 s or when the socket ends.
async fn next_frame(socket: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[tokio::main]
async fn main() {
    let rest = Target::new("SMOKE_REST_URL", "SMOKE_REST_HOST");
    let webhook = Target::new("SMOKE_WEBHOOK_URL", "SMOKE_WEBHOOK_HOST");
    let key = vec![("x-api-key", env("SMOKE_API_KEY"))];
    let (mut passed, mut failed) = (0, 0);
    let mut check = |name: &str, ok: bool, detail: String| {
        if ok {
            passed += 1;
            println!("ok    {name}");
        } else {
            failed += 1;
            println!("FAIL  {name}: {detail}");
        }
    };

    let n = chrono::Utc::now().timestamp_millis() % 1_000_000_000;
    let hotel = format!("smoke-{n}");
    let staff_id = format!("{n}");
    let number = format!("+1555{:07}", n % 10_000_000);
    let put = |path: String, body: Value| {
        let key = key.clone();
        let rest = &rest;
        async move { rest.call(reqwest::Method::PUT, &path, &key, Some(body.to_string())).await }
    };
    let (s, b) = put(format!("/api/chat/admin/hotels/{hotel}"), json!({"name": "Smoke"})).await;
    check("provision hotel (REST, API key)", s == 201, format!("{s} {b}"));
    let (s, b) = put(
        format!("/api/chat/admin/staff/{staff_id}"),
        json!({"hotel_id": hotel, "user_type": "receptionist", "departments": ["Reception"], "first_name": "Sam"}),
    )
    .await;
    check("provision staff", s == 201, format!("{s} {b}"));
    let (s, b) = put(
        format!("/api/chat/admin/guests/{n}"),
        json!({"hotel_id": hotel, "whatsapp_number": number, "full_name": "Guest", "status": "checked_in"}),
    )
    .await;
    check("provision guest", s == 201, format!("{s} {b}"));
    let (s, b) = put(
        format!("/api/chat/admin/stays/{n}"),
        json!({"hotel_id": hotel, "guest_id": n, "status": "active", "room_number": "1"}),
    )
    .await;
    check("provision stay", s == 201 && b["guest_token"].is_string(), format!("{s} {b}"));

    let token = lobbybee::auth::jwt::issue_hs256(&env("SMOKE_JWT_SECRET"), &staff_id, 600).unwrap_or_default();
    let ws_url = format!("{}?token={token}", env("SMOKE_WS_URL"));
    let socket = tokio_tungstenite::connect_async(ws_url.as_str()).await;
    check("staff socket connects ($connect)", socket.is_ok(), format!("{:?}", socket.as_ref().err()));
    let refused = tokio_tungstenite::connect_async(format!("{}?token=bad", env("SMOKE_WS_URL")).as_str()).await;
    check("bad token refused at the handshake", refused.is_err(), String::new());

    let body = json!({"whatsapp_number": number, "message": "Smoke towels"}).to_string();
    let signature = lobbybee::auth::signature::sign(env("SMOKE_WEBHOOK_SECRET").as_bytes(), body.as_bytes());
    let (s, b) = webhook.call(reqwest::Method::POST, "/", &[("x-signature-256", signature)], Some(body)).await;
    check("signed webhook stores the message (201)", s == 201 && b["conversation_created"] == true, format!("{s} {b}"));
    let conversation = b["conversation_id"].as_u64().unwrap_or_default();

    if let Ok((mut socket, _)) = socket {
        let mut frames = Vec::new();
        while let Some(frame) = next_frame(&mut socket).await {
            let done = frame["type"] == "message";
            frames.push(frame);
            if done {
                break;
            }
        }
        let message = frames.iter().find(|f| f["type"] == "message");
        check(
            "guest message pushed to the staff socket (Management API)",
            message.is_some_and(|m| m["data"]["content"] == "Smoke towels"),
            format!("{frames:?}"),
        );
        let frame = json!({"type": "text", "conversation_id": conversation, "content": "On the way"}).to_string();
        let sent = socket.send(Message::text(frame)).await;
        let mut ack = None;
        for _ in 0..5 {
            match next_frame(&mut socket).await {
                Some(f) if f["type"] == "acknowledgment" => {
                    ack = Some(f);
                    break;
                }
                Some(_) => continue,
                None => break,
            }
        }
        check(
            "staff text acknowledged ($default)",
            sent.is_ok() && ack.is_some_and(|a| a["status"] == "received"),
            String::new(),
        );
    }

    let auth = vec![("authorization", format!("Bearer {token}"))];
    let (s, b) = rest.call(reqwest::Method::GET, "/api/chat/conversations/", &auth, None).await;
    let listed = b["results"].as_array().is_some_and(|list| list.iter().any(|c| c["id"] == conversation));
    check("REST lists the conversation", s == 200 && listed, format!("{s} {b}"));

    println!("smoke: {passed} passed, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}
