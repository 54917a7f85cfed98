//! Keeps `docs/asyncapi.yaml` true: every frame the end-to-end tests send as JSON and every
//! frame they receive is checked against the documented messages of its socket's channel
//! (`staff` or `guest`). A frame whose `type` the document does not list for that direction
//! fails the test, and so does one that does not match the message's payload schema.

use serde_json::Value;

/// Which WebSocket channel of the document a socket is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Staff sockets (`token`).
    Staff,
    /// Guest sockets (`whatsapp_number` and `guest_token`).
    Guest,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Staff => "staff",
            Channel::Guest => "guest",
        }
    }
}

fn document() -> &'static Value {
    crate::schema::document("asyncapi.yaml")
}

/// The payload schemas of the messages the document's operations carry on `channel` in
/// `action`'s direction (AsyncAPI actions are the server's: it `receive`s client frames and
/// `send`s server frames).
fn payloads(channel: Channel, action: &str) -> Vec<&'static Value> {
    let doc = document();
    let wanted = format!("#/channels/{}", channel.name());
    let operations = doc["operations"].as_object().expect("operations");
    operations
        .values()
        .filter(|op| op["action"] == action && op["channel"]["$ref"] == wanted.as_str())
        .flat_map(|op| op["messages"].as_array().into_iter().flatten())
        .map(|reference| {
            // An operation names its channel's messages (`#/channels/staff/messages/x`), which
            // point at the components.
            let (doc, message) = crate::schema::resolve(doc, reference);
            crate::schema::resolve(doc, &message["payload"]).1
        })
        .collect()
}

fn check(channel: Channel, action: &str, frame: &Value) {
    let kind = frame.get("type").and_then(Value::as_str).unwrap_or("text");
    let candidates = payloads(channel, action);
    let payload = candidates
        .iter()
        .find(|p| p.pointer("/properties/type/enum").and_then(Value::as_array).is_some_and(|e| e.contains(&kind.into())))
        .unwrap_or_else(|| {
            panic!("docs/asyncapi.yaml lists no `{kind}` frame that the server {action}s on the {channel:?} channel: {frame}")
        });
    let mut errors = Vec::new();
    crate::schema::validate(document(), payload, frame, "$", &mut errors);
    assert!(errors.is_empty(), "`{kind}` frame does not match docs/asyncapi.yaml: {errors:?}\nframe: {frame}");
}

/// Checks a frame a client sent on `channel`.
pub fn check_sent(channel: Channel, frame: &Value) {
    check(channel, "receive", frame);
}

/// Checks a frame the server pushed to a socket of `channel`.
pub fn check_received(channel: Channel, frame: &Value) {
    check(channel, "send", frame);
}
