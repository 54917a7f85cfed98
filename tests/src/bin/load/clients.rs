//! The clients of a run: sockets (a reader and a writer task each, so that sending never waits
//! for receiving) and the two signed webhooks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use lobbybee::auth::signature;
use lobbybee_e2e::client::{meta_payload, meta_text};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// Marks the contents of a run's messages: `load {run}#{seq}`, so receivers know each message
/// and ignore every other frame.
#[derive(Debug, Clone)]
pub struct Tag {
    prefix: String,
}

impl Tag {
    /// A tag unique to this process.
    pub fn new() -> Tag {
        Tag { prefix: format!("load {}#", std::process::id()) }
    }

    /// The content of message `seq`.
    pub fn text(&self, seq: u64) -> String {
        format!("{}{seq}", self.prefix)
    }

    fn parse(&self, content: &str) -> Option<u64> {
        content.strip_prefix(&self.prefix)?.parse().ok()
    }
}

/// What a socket received that the run is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A `message` frame of the run's message `seq`, stored as message `id` of `conversation`.
    Message {
        /// The run's sequence number.
        seq: u64,
        /// The stored message id.
        id: u64,
        /// Its conversation.
        conversation: u64,
    },
    /// An `acknowledgment` of a frame this socket sent.
    Ack,
    /// An `error` frame answering a frame this socket sent.
    Refused,
}

/// One thing a socket received, when.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// The socket's index in the run.
    pub socket: usize,
    /// When it was read.
    pub at: Instant,
    /// What it was.
    pub seen: Seen,
}

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<FrameData>,
}

#[derive(Deserialize, Default)]
struct FrameData {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    conversation_id: Option<u64>,
    #[serde(default)]
    content: Option<String>,
}

/// Where sockets report what they receive.
#[derive(Clone)]
pub struct Inbox {
    /// Arrivals, in the order each socket read them.
    pub arrivals: mpsc::UnboundedSender<Arrival>,
    /// How many arrivals so far (all sockets).
    pub count: Arc<AtomicU64>,
    /// Readers stop when this turns true.
    pub stop: watch::Receiver<bool>,
    /// The run's tag.
    pub tag: Tag,
}

/// Opens socket number `index` at `url`; returns the channel its frames are sent through.
pub async fn connect(url: &str, index: usize, inbox: Inbox) -> Result<mpsc::UnboundedSender<String>, String> {
    let (stream, _) = tokio::time::timeout(Duration::from_secs(60), connect_async(url))
        .await
        .map_err(|_| format!("socket {index}: handshake timed out"))?
        .map_err(|e| format!("socket {index}: {e}"))?;
    let (mut sink, mut source) = stream.split();
    let (frames, mut outgoing) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
    });
    let mut stop = inbox.stop.clone();
    tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => break,
                message = source.next() => message,
            };
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => break,
            };
            let at = Instant::now();
            let Ok(frame) = serde_json::from_str::<Frame>(text.as_str()) else { continue };
            let seen = match frame.kind.as_str() {
                "message" => {
                    let data = frame.data.unwrap_or_default();
                    let Some(seq) = data.content.as_deref().and_then(|c| inbox.tag.parse(c)) else { continue };
                    Seen::Message {
                        seq,
                        id: data.id.unwrap_or_default(),
                        conversation: data.conversation_id.unwrap_or_default(),
                    }
                }
                "acknowledgment" => Seen::Ack,
                "error" => Seen::Refused,
                _ => continue,
            };
            inbox.count.fetch_add(1, Ordering::Relaxed);
            if inbox.arrivals.send(Arrival { socket: index, at, seen }).is_err() {
                break;
            }
        }
    });
    Ok(frames)
}

/// The guest webhook, signed as the bridge (simple format) and as Meta sign it.
#[derive(Clone)]
pub struct Webhooks {
    client: reqwest::Client,
    url: String,
    webhook_secret: String,
    app_secret: String,
    phone_number_id: String,
}

impl Webhooks {
    /// The webhook of the gateway at `http`, for the hotel of `phone_number_id`.
    pub fn new(http: &str, phone_number_id: &str, timeout: Duration) -> Webhooks {
        let secret = |key: &str| lobbybee_local::env::lookup(key, &[]).unwrap_or_default();
        Webhooks {
            client: lobbybee::app::https().timeout(timeout).build().unwrap_or_default(),
            url: format!("{http}/api/chat/guest-webhook/"),
            webhook_secret: secret("WEBHOOK_SECRET"),
            app_secret: secret("WHATSAPP_APP_SECRET"),
            phone_number_id: phone_number_id.to_owned(),
        }
    }

    /// A simple-format message from `number` to `department`: the status and the body.
    pub async fn simple(&self, number: &str, department: &str, text: &str) -> Result<(u16, String), String> {
        let raw = serde_json::json!({"whatsapp_number": number, "message": text, "department": department}).to_string();
        let signed = signature::sign(self.webhook_secret.as_bytes(), raw.as_bytes());
        self.post(raw, ("x-signature-256", signed)).await
    }

    /// A Meta `text` message from `number` with `wamid`.
    pub async fn meta(&self, number: &str, wamid: &str, text: &str) -> Result<(u16, String), String> {
        let raw = meta_payload(&self.phone_number_id, meta_text(number, wamid, text));
        let signed = signature::sign(self.app_secret.as_bytes(), raw.as_bytes());
        self.post(raw, ("x-hub-signature-256", signed)).await
    }

    async fn post(&self, raw: String, signature: (&str, String)) -> Result<(u16, String), String> {
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header(signature.0, signature.1)
            .body(raw)
            .send()
            .await
            .map_err(|e| if e.is_timeout() { "timed out".to_owned() } else { "connection failed".to_owned() })?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.unwrap_or_default()))
    }
}
