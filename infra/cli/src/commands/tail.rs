//! `tail`: a conversation's latest messages (REST), then everything that happens in it, live,
//! over a staff socket. When the socket drops it reconnects and catches up with `?after=`, as
//! every client should (API Gateway closes sockets after 10 idle minutes and after 2 hours).

use std::time::Duration;

use clap::Args;
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Failure, Outcome, Stack};
use crate::output::Format;

const PING_EVERY: Duration = Duration::from_secs(300);

#[derive(Args)]
pub struct TailArgs {
    /// Conversation id.
    conversation: u64,
    /// How many earlier messages to print first.
    #[arg(long, default_value_t = 10)]
    history: u32,
}

pub async fn run(stack: &Stack, args: TailArgs, format: Format) -> Outcome {
    let token = stack.token()?.to_owned();
    let path = format!("conversations/{}/", args.conversation);
    let page = stack.staff(Method::GET, &path, &[("limit", args.history.max(1).to_string())]).await?;
    let mut last = 0;
    for message in page["messages"].as_array().into_iter().flatten().skip(usize::from(args.history == 0)) {
        last = last.max(message["id"].as_u64().unwrap_or(0));
        show(format, &json!({ "type": "message", "data": message }));
    }
    let url = format!("{}{}token={token}", stack.ws, if stack.ws.contains('?') { "&" } else { "?" });
    let mut retry = Duration::from_millis(500);
    loop {
        let (socket, _) = match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok(connected) => connected,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                return Err(Failure::new(
                    format!("the socket handshake was refused with {}", response.status()),
                    "401: the token is expired or unknown (mint a fresh one); 403: the member may not chat",
                ));
            }
            Err(e) if last == 0 && retry.as_millis() == 500 => {
                return Err(Failure::new(
                    format!("cannot open the socket at {}: {e}", stack.ws),
                    "pass --ws (the WebSocketUrl output)",
                ));
            }
            Err(_) => {
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        retry = Duration::from_millis(500);
        let (mut sink, mut stream) = socket.split();
        let subscribe = json!({ "type": "subscribe_conversation", "conversation_id": args.conversation });
        let _ = sink.send(Message::text(subscribe.to_string())).await;
        // What came while the socket was away.
        if let Ok(page) = stack.staff(Method::GET, &path, &[("after", last.to_string()), ("limit", "200".into())]).await
        {
            for message in page["messages"].as_array().into_iter().flatten() {
                last = last.max(message["id"].as_u64().unwrap_or(0));
                show(format, &json!({ "type": "message", "data": message }));
            }
        }
        let mut ping = tokio::time::interval(PING_EVERY);
        loop {
            tokio::select! {
                _ = ping.tick() => { let _ = sink.send(Message::text(r#"{"type":"ping"}"#)).await; }
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                        if concerns(&frame, args.conversation) {
                            if frame["type"] == "message" {
                                last = last.max(frame["data"]["id"].as_u64().unwrap_or(0));
                            }
                            show(format, &frame);
                        }
                    }
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => break,
                },
            }
        }
        eprintln!("lobbybee: the socket closed; reconnecting");
    }
}

/// Whether `frame` is about `conversation`.
fn concerns(frame: &Value, conversation: u64) -> bool {
    let id = frame
        .pointer("/data/conversation_id")
        .or_else(|| frame.get("conversation_id"))
        .or_else(|| frame.pointer("/data/id"))
        .and_then(Value::as_u64);
    id == Some(conversation) && frame["type"] != "subscribed"
}

fn show(format: Format, frame: &Value) {
    if format == Format::Json {
        println!("{frame}");
        return;
    }
    let data = &frame["data"];
    let line = match frame["type"].as_str().unwrap_or("") {
        "message" => {
            let time = data["created_at"].as_str().unwrap_or("").get(11..19).unwrap_or("");
            let media = data["media_url"]
                .as_str()
                .map(|u| format!(" [{}: {u}]", data["message_type"].as_str().unwrap_or("media")));
            let status = data["delivery_status"].as_str().map(|s| format!("  ({s})")).unwrap_or_default();
            format!(
                "{time} {} ({}) #{}: {}{}{status}",
                data["sender_name"].as_str().unwrap_or("?"),
                data["sender_type"].as_str().unwrap_or("?"),
                data["id"],
                data["content"].as_str().unwrap_or(""),
                media.unwrap_or_default()
            )
        }
        "delivery_status" => {
            format!("         message #{} is {}", data["message_id"], data["status"].as_str().unwrap_or("?"))
        }
        "typing" if data["is_typing"] == true => {
            format!("         {} is typing…", data["user_name"].as_str().unwrap_or("?"))
        }
        "typing" => return,
        "read_receipt" => {
            format!("         read by the {}: {}", data["reader"].as_str().unwrap_or("?"), data["message_ids"])
        }
        "conversation_update" => format!("         {}", data),
        "close_conversation" => "         the conversation was closed".to_owned(),
        "new_conversation" => format!("         conversation in {}", data["department"].as_str().unwrap_or("?")),
        other => format!("         {other}: {frame}"),
    };
    println!("{line}");
}
