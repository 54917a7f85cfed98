//! Real clients: WebSocket sockets (tokio-tungstenite) and HTTP (reqwest) against the gateway.
//!
//! Waiting is always for an event with a timeout, never a sleep. To prove that something did
//! *not* arrive, [`Socket::barrier`] sends `ping` and collects everything that arrives before the
//! `pong`: pushes to one socket travel through one ordered channel, so anything pushed before the
//! barrier started is in that list.

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::asyncapi::{Channel, check_received, check_sent};
use crate::{Stack, WAIT};

/// A connected WebSocket client. Every JSON frame it sends with [`Socket::send`] and every frame
/// it receives is checked against `docs/asyncapi.yaml`; [`Socket::send_text`] sends raw text
/// unchecked (for malformed frames).
pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    channel: Channel,
}

impl Socket {
    /// Connects to `path_and_query` on the gateway; `Err(status)` when the handshake is refused.
    pub async fn connect(stack: &Stack, path_and_query: &str) -> Result<Socket, u16> {
        Socket::connect_to(&stack.gateway.ws_url(), path_and_query).await
    }

    /// Connects to `path_and_query` under `ws_base` (another gateway than the stack's).
    pub async fn connect_to(ws_base: &str, path_and_query: &str) -> Result<Socket, u16> {
        let url = format!("{ws_base}{path_and_query}");
        // The server's own rule: a guest socket names a number and carries no staff token.
        let keys: Vec<&str> = path_and_query
            .split_once('?')
            .map(|(_, query)| query.split('&').filter_map(|pair| pair.split('=').next()).collect())
            .unwrap_or_default();
        let guest =
            path_and_query.starts_with("/ws/guest/") || (keys.contains(&"whatsapp_number") && !keys.contains(&"token"));
        let channel = if guest { Channel::Guest } else { Channel::Staff };
        match connect_async(url.as_str()).await {
            Ok((stream, _)) => Ok(Socket { stream, channel }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(e) => panic!("websocket connect to {url} failed: {e}"),
        }
    }

    /// Connects a staff socket with a token (and optional department).
    pub async fn staff(stack: &Stack, token: &str, department: Option<&str>) -> Socket {
        let mut query = format!("/?token={token}");
        if let Some(d) = department {
            query.push_str(&format!("&department={}", d.replace(' ', "%20")));
        }
        Socket::connect(stack, &query).await.unwrap_or_else(|s| panic!("staff connect refused with {s}"))
    }

    /// Connects a guest socket with its stay's token (query-parameter form) and waits until it
    /// is registered.
    pub async fn guest(stack: &Stack, guest: &crate::fixtures::TestGuest) -> Socket {
        let path = format!("/?whatsapp_number={}&guest_token={}", guest.number, guest.guest_token);
        let mut socket =
            Socket::connect(stack, &path).await.unwrap_or_else(|s| panic!("guest connect refused with {s}"));
        socket.barrier().await;
        socket
    }

    /// Sends one text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text.to_owned())).await.expect("send frame");
    }

    /// Sends one JSON frame (checked against the documented client frames).
    pub async fn send(&mut self, value: Value) {
        check_sent(self.channel, &value);
        self.send_text(&value.to_string()).await;
    }

    /// The next JSON frame (fails the test after [`WAIT`]).
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("socket closed")
                .expect("socket error");
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("frame is JSON");
                    check_received(self.channel, &frame);
                    return frame;
                }
                Message::Close(_) => panic!("socket closed by server"),
                _ => continue,
            }
        }
    }

    /// The next frame whose `type` is `kind`, skipping the notices that arrive on their own
    /// schedule (`user_status` from peers' connects, `delivery_status` from the outbound queue).
    /// Any other frame in between fails the test.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
            let asynchronous = frame["type"] == "user_status" || frame["type"] == "delivery_status";
            assert!(asynchronous, "expected a `{kind}` frame, got {frame}");
        }
    }

    /// Everything that arrives before the answer to a `ping` (presence notices left out).
    pub async fn barrier(&mut self) -> Vec<Value> {
        self.send(serde_json::json!({"type": "ping"})).await;
        let mut seen = Vec::new();
        loop {
            let frame = self.next().await;
            if frame["type"] == "pong" {
                return seen;
            }
            if frame["type"] != "user_status" {
                seen.push(frame);
            }
        }
    }

    /// Waits until the server closes the socket.
    pub async fn closed(&mut self) {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await.expect("timed out waiting for close") {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Closes from the client side.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: u16,
    /// JSON body (`Null` when empty or not JSON).
    pub body: Value,
    /// Raw text body.
    pub text: String,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
}

/// An HTTP request builder for the gateway.
pub fn http() -> reqwest::Client {
    lobbybee::app::https().redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

/// Sends a request and reads the answer.
pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("http request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, body, text, headers }
}

/// `METHOD {gateway}/api/chat/{path}` with an optional bearer token and JSON body.
pub async fn rest(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let url = format!("{}/api/chat/{}", stack.gateway.http_base(), path.trim_start_matches('/'));
    let mut request = http().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// POSTs raw bytes to the guest webhook with the given headers.
pub async fn webhook(stack: &Stack, body: &[u8], headers: &[(&str, String)]) -> Answer {
    webhook_at(&stack.gateway.http_base(), body, headers).await
}

/// [`webhook`] at the gateway serving `http_base` (a second gateway of a test).
pub async fn webhook_at(http_base: &str, body: &[u8], headers: &[(&str, String)]) -> Answer {
    let url = format!("{http_base}/api/chat/guest-webhook/");
    let mut request = http().post(url).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    send(request).await
}

/// POSTs a Meta-format body to the webhook, signed with the app secret.
pub async fn meta_webhook(stack: &Stack, raw: &str) -> Answer {
    meta_webhook_at(&stack.gateway.http_base(), raw).await
}

/// [`meta_webhook`] at the gateway serving `http_base`.
pub async fn meta_webhook_at(http_base: &str, raw: &str) -> Answer {
    let signature = lobbybee::auth::signature::sign(crate::secrets::APP.as_bytes(), raw.as_bytes());
    let headers = [("content-type", "application/json".into()), ("x-hub-signature-256", signature)];
    webhook_at(http_base, raw.as_bytes(), &headers).await
}

/// A Meta `text` message item from `number` (any spelling with `+`), for [`meta_payload`].
pub fn meta_text(number: &str, wamid: &str, body: &str) -> Value {
    serde_json::json!({ "from": number.trim_start_matches('+'), "id": wamid, "timestamp": "1795514531",
                        "type": "text", "text": { "body": body } })
}

/// A Meta webhook body carrying one `messages[]` item for the hotel's phone number id.
pub fn meta_payload(phone_number_id: &str, message: Value) -> String {
    let from = message["from"].clone();
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": phone_number_id },
            "contacts": [{ "profile": { "name": "Guest" }, "wa_id": from }],
            "messages": [message],
        } }] }],
    })
    .to_string()
}

/// POSTs a JSON body to the webhook, signed for the simple format.
pub async fn simple_webhook(stack: &Stack, body: &Value) -> Answer {
    simple_webhook_at(&stack.gateway.http_base(), body).await
}

/// [`simple_webhook`] at the gateway serving `http_base`.
pub async fn simple_webhook_at(http_base: &str, body: &Value) -> Answer {
    let raw = body.to_string();
    let signature = lobbybee::auth::signature::sign(crate::secrets::WEBHOOK.as_bytes(), raw.as_bytes());
    let headers = [("content-type", "application/json".into()), ("x-signature-256", signature)];
    webhook_at(http_base, raw.as_bytes(), &headers).await
}

/// A signed simple-format guest message from `number` to `department`; returns the
/// conversation and message ids (fails the test unless it answers 201).
pub async fn guest_writes(stack: &Stack, number: &str, department: &str, text: &str) -> (u64, u64) {
    let answer = simple_webhook(
        stack,
        &serde_json::json!({"whatsapp_number": number, "message": text, "department": department}),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let id = |key: &str| answer.body[key].as_u64().unwrap_or_else(|| panic!("no {key} in {}", answer.text));
    (id("conversation_id"), id("message_id"))
}

/// A queued staff reply stored straight in `conversation`, its job never queued (as if the
/// function died in between); returns its id.
pub async fn queued_reply(stack: &Stack, hotel: &crate::fixtures::TestHotel, conversation: u64) -> u64 {
    queued_reply_at(stack, hotel, conversation, lobbybee::clock::now()).await
}

/// Like [`queued_reply`], stored `at` a given time.
pub async fn queued_reply_at(
    stack: &Stack,
    hotel: &crate::fixtures::TestHotel,
    conversation: u64,
    at: chrono::DateTime<chrono::Utc>,
) -> u64 {
    let reply = lobbybee::store::NewMessage {
        sender_type: lobbybee::model::SenderType::Staff,
        sender_id: Some(hotel.reception.user_id.clone()),
        sender_name: hotel.reception.name.clone(),
        message_type: lobbybee::model::MessageType::Text,
        content: "On our way".into(),
        media_url: None,
        media_filename: None,
        delivery_status: Some(lobbybee::model::DeliveryStatus::Queued),
        send_as: lobbybee::model::OutboundKind::Message,
        provider_message_id: None,
    };
    match stack.app.store.add_message(conversation, reply, at).await.unwrap() {
        lobbybee::store::AppendOutcome::Stored(stored) => stored.message.id,
        lobbybee::store::AppendOutcome::Duplicate(_) => panic!("stored once"),
    }
}

/// The `SqsEvent` the event source mapping would hand a consumer for one message `body`,
/// received for the `receives`th time.
pub fn sqs_event(queue_url: &str, body: String, receives: u32) -> aws_lambda_events::event::sqs::SqsEvent {
    let message = aws_sdk_sqs::types::Message::builder()
        .message_id(format!("m{}", crate::unique()))
        .receipt_handle("receipt")
        .body(body)
        .attributes(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount, receives.to_string())
        .build();
    let event = lobbybee_local::gateway::events::sqs_event(queue_url, "us-east-1", &[message]);
    serde_json::from_value(event).unwrap()
}

/// A guest of `hotel` with an active stay whose number starts with `prefix` (the fake WhatsApp
/// API's refused or unavailable country codes); returns the number.
pub async fn guest_numbered(stack: &Stack, hotel: &crate::fixtures::TestHotel, prefix: &str) -> String {
    let store = &stack.app.store;
    let id = crate::unique();
    let number = format!("+{prefix}{:09}", id % 1_000_000_000); // padded: a short number is invalid
    let mut guest = store.get_guest(hotel.guest.id).await.unwrap().unwrap();
    guest.id = id;
    guest.whatsapp_number = number.clone();
    store.put_guest(&guest).await.unwrap();
    let mut stay = store.get_stay(hotel.guest.stay_id).await.unwrap().unwrap();
    stay.id = id;
    stay.guest_id = id;
    store.put_stay(&stay).await.unwrap();
    number
}
