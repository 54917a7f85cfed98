//! Jobs for the outbound queue: a stored staff message (or an automatic text) on its way to
//! WhatsApp. Written by the chat core and the webhook after storing a message, read by the
//! `outbound-sender` and queued again by the outbox sweep (both in [`crate::outbound`]).

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::model::{Conversation, ConversationId, Message, MessageId, OutboundKind};
use crate::queues::Queue;

/// A message to send to WhatsApp.
///
/// Jobs written before the reopen button existed (`{"conversation_id", "message_id"}`) read as
/// [`OutboundKind::Message`], so a deployment never strands queued jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundJob {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The stored message whose delivery this job is (absent for a [`OutboundKind::Notice`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// What the Cloud API is sent.
    #[serde(default, skip_serializing_if = "OutboundKind::is_message")]
    pub kind: OutboundKind,
}

/// Queues a stored staff message for WhatsApp, in the form `kind` says.
pub async fn enqueue(
    app: &App,
    conversation: &Conversation,
    message: &Message,
    kind: OutboundKind,
) -> Result<(), String> {
    put(app, &OutboundJob { conversation_id: conversation.id, message_id: Some(message.id), kind }).await
}

/// Queues an automatic text for the guest of `conversation` (not stored as a message).
pub async fn enqueue_notice(app: &App, conversation: &Conversation, text: &str) -> Result<(), String> {
    put(
        app,
        &OutboundJob { conversation_id: conversation.id, message_id: None, kind: OutboundKind::Notice(text.into()) },
    )
    .await
}

pub(crate) async fn put(app: &App, job: &OutboundJob) -> Result<(), String> {
    let body = serde_json::to_string(job).map_err(|e| e.to_string())?;
    app.queues.send(Queue::Outbound, body, 0).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_of_older_versions_still_read() {
        let old: OutboundJob = serde_json::from_str(r#"{"conversation_id":3,"message_id":3000001}"#).unwrap();
        assert_eq!(old, OutboundJob { conversation_id: 3, message_id: Some(3_000_001), kind: OutboundKind::Message });
        let plain = serde_json::to_value(&old).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"conversation_id": 3, "message_id": 3000001}),
            "no kind for plain messages"
        );
        let notice = OutboundJob { conversation_id: 3, message_id: None, kind: OutboundKind::Notice("Hi".into()) };
        let text = serde_json::to_string(&notice).unwrap();
        assert_eq!(text, r#"{"conversation_id":3,"kind":{"notice":"Hi"}}"#);
        assert_eq!(serde_json::from_str::<OutboundJob>(&text).unwrap(), notice);
    }
}
