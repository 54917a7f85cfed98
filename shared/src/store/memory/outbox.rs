//! Outbound state of staff messages: delivery status (only forward; `failed` always applies),
//! the sender's claim, and the outbox of `queued` messages (`dynamo/outbox.rs`).
//!
//! A message stored `queued` enters the outbox at its creation time; any later delivery status
//! takes it out; the sweep reads the entries due before a cutoff, oldest first, and re-arms one
//! only while the message is still `queued` at the same position.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemoryStore, StoredMessage};
use crate::model::{ConversationId, DeliveryStatus, Message, MessageId, OutboundKind};
use crate::store::{Outbound, OutboxEntry, OutboxPage, StoreError};

/// A `queued` message's place in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OutboxSlot {
    /// Due time (epoch ms, 13 digits), conversation and message: the order of the entries, and
    /// the [`OutboxEntry::position`] a re-arm must still find.
    position: String,
    /// How the message goes to WhatsApp.
    send_as: OutboundKind,
}

impl OutboxSlot {
    /// The entry of a message stored now: one when it is `queued`, due at its creation time.
    pub(super) fn enter(message: &Message, send_as: &OutboundKind) -> Option<OutboxSlot> {
        (message.delivery_status == Some(DeliveryStatus::Queued)).then(|| OutboxSlot {
            position: position(message.created_at, message.conversation_id, message.id),
            send_as: send_as.clone(),
        })
    }
}

/// Entries sort by due time in zero-padded epoch milliseconds, so that the position strings
/// compare like the times (and like `DynamoStore`'s index keys).
fn position(due: DateTime<Utc>, conversation: ConversationId, message: MessageId) -> String {
    format!("{}#{conversation:016}#{message:016}", due_key(due))
}

/// The due-time part of a position (a cutoff compares with whole positions: an entry due at
/// the cutoff is not before it).
fn due_key(due: DateTime<Utc>) -> String {
    format!("{:013}", due.timestamp_millis().max(0))
}

#[async_trait]
impl Outbound for MemoryStore {
    async fn set_delivery_status(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        status: DeliveryStatus,
        provider_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let mut state = self.state();
        let Some(stored) = state.message_mut(conversation_id, id) else {
            return Ok(None);
        };
        if stored.message.delivery_status.is_some_and(|current| current.rank() >= status.rank()) {
            return Ok(None);
        }
        stored.outbox = None;
        let message = &mut stored.message;
        message.delivery_status = Some(status);
        message.updated_at = now;
        if let Some(provider_id) = provider_id {
            message.provider_message_id = Some(provider_id.to_owned());
        }
        if status == DeliveryStatus::Read {
            message.is_read = true;
            message.read_at = Some(now);
        }
        Ok(Some(message.clone()))
    }

    async fn claim_for_sending(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(stored) = state.message_mut(conversation_id, id) else {
            return Ok(false);
        };
        let queued = stored.message.delivery_status == Some(DeliveryStatus::Queued);
        if !queued || stored.sending_until.is_some_and(|held| held >= now.timestamp_millis()) {
            return Ok(false);
        }
        stored.sending_until = Some(until.timestamp_millis());
        Ok(true)
    }

    async fn release_send_claim(&self, conversation_id: ConversationId, id: MessageId) -> Result<(), StoreError> {
        if let Some(stored) = self.state().message_mut(conversation_id, id) {
            stored.sending_until = None;
        }
        Ok(())
    }

    async fn overdue_outbox(&self, cutoff: DateTime<Utc>, limit: usize) -> Result<OutboxPage, StoreError> {
        let cutoff = due_key(cutoff);
        let state = self.state();
        let mut due: Vec<OutboxEntry> = state
            .messages
            .values()
            .flat_map(|all| all.values())
            .filter_map(|stored| entry(stored).filter(|e| e.position < cutoff))
            .collect();
        due.sort_by(|a, b| a.position.cmp(&b.position));
        // DynamoDB stops at the limit and then answers a key to go on from, whether or not
        // anything follows.
        let more = due.len() >= limit;
        due.truncate(limit);
        Ok(OutboxPage { entries: due, more })
    }

    async fn rearm_outbox(&self, entry: &OutboxEntry, next: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(stored) = state.message_mut(entry.conversation_id, entry.message_id) else {
            return Ok(false);
        };
        let queued = stored.message.delivery_status == Some(DeliveryStatus::Queued);
        match &mut stored.outbox {
            Some(slot) if queued && slot.position == entry.position => {
                slot.position = position(next, entry.conversation_id, entry.message_id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The outbox entry of a stored message, if it has one.
fn entry(stored: &StoredMessage) -> Option<OutboxEntry> {
    let slot = stored.outbox.as_ref()?;
    Some(OutboxEntry {
        conversation_id: stored.message.conversation_id,
        message_id: stored.message.id,
        send_as: slot.send_as.clone(),
        position: slot.position.clone(),
    })
}
