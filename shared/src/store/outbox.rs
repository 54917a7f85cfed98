//! The outbox: staff messages stored `queued`, until their delivery status moves on.
//!
//! A staff message is stored first and its outbound job queued right after
//! (`chat::publish_staff_message`). A function that dies in between (a timeout, a crash, SQS
//! unreachable for the rest of the call) would leave the message `queued` with no job behind it.
//! So every `queued` message item also carries the sparse index keys `gsi1pk = OUTBOX`,
//! `gsi1sk = {due ms}#{conversation}#{message}` and the form it is sent in (`send_as`), written in
//! the append transaction itself; moving the delivery status on (sent, failed, …) removes them in
//! the same update. The `outbound-sweeper` function queues the jobs of entries that are long
//! overdue again; the sender's claim makes a job that was not lost after all harmless.
//!
//! Access patterns (docs/data-model.md):
//! - enter: attributes of the message item, in the append transaction ([`enter`]);
//! - leave: `REMOVE` in the delivery-status update ([`LEAVE`]);
//! - overdue entries: Query `gsi1` `gsi1pk = OUTBOX AND gsi1sk < {cutoff ms}`, oldest first;
//! - re-arm: UpdateItem of `gsi1sk` to a later due time, only while the message is still
//!   `queued` at the same entry.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::codec::{self, Item, Keys};
use super::{Store, StoreError, is_condition_failure, keys};
use crate::model::{ConversationId, DeliveryStatus, Message, MessageId, OutboundKind};

/// The index partition of the outbox.
const PARTITION: &str = "OUTBOX";

/// The attribute holding the [`OutboundKind`] (as JSON).
const SEND_AS: &str = "send_as";

/// The update-expression clause that takes a message out of the outbox.
pub(super) const LEAVE: &str = " REMOVE gsi1pk, gsi1sk, send_as";

/// A `queued` message as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The message.
    pub message_id: MessageId,
    /// How it goes to WhatsApp.
    pub send_as: OutboundKind,
    /// Its place in the index (`gsi1sk`), the condition of a re-arm.
    order: String,
}

/// One page of overdue entries.
#[derive(Debug, Clone, Default)]
pub struct OutboxPage {
    /// The entries, oldest first (entries that do not decode are skipped and logged).
    pub entries: Vec<OutboxEntry>,
    /// More overdue entries may follow.
    pub more: bool,
}

/// Index sort key: due time in epoch milliseconds (zero-padded, so strings sort as numbers),
/// then the ids.
fn order(due: DateTime<Utc>, conversation: ConversationId, message: MessageId) -> String {
    format!("{:013}#{conversation:016}#{message:016}", due.timestamp_millis().max(0))
}

/// Adds the outbox attributes to a `queued` message's item.
pub(super) fn enter(item: &mut Item, message: &Message, send_as: &OutboundKind) -> Result<(), StoreError> {
    let kind = serde_json::to_string(send_as).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert("gsi1pk".into(), codec::s(PARTITION));
    item.insert("gsi1sk".into(), codec::s(order(message.created_at, message.conversation_id, message.id)));
    item.insert(SEND_AS.into(), codec::s(kind));
    Ok(())
}

fn decode(item: &Item) -> Option<OutboxEntry> {
    Some(OutboxEntry {
        conversation_id: codec::get_u64(item, "conversation_id")?,
        message_id: codec::get_u64(item, "id")?,
        send_as: serde_json::from_str(codec::get_s(item, SEND_AS)?).ok()?,
        order: codec::get_s(item, "gsi1sk")?.to_owned(),
    })
}

impl Store {
    /// Outbox entries due before `cutoff`, oldest first, at most `limit`. Reads the index, which
    /// is eventually consistent: an entry may still show for a moment after it left.
    pub async fn overdue_outbox(&self, cutoff: DateTime<Utc>, limit: usize) -> Result<OutboxPage, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk AND gsi1sk < :cutoff")
            .expression_attribute_values(":pk", codec::s(PARTITION))
            .expression_attribute_values(":cutoff", codec::s(format!("{:013}", cutoff.timestamp_millis().max(0))))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await?;
        let mut page = OutboxPage { more: out.last_evaluated_key.is_some(), ..OutboxPage::default() };
        for item in out.items.unwrap_or_default() {
            match decode(&item) {
                Some(entry) => page.entries.push(entry),
                None => tracing::warn!(sk = codec::get_s(&item, "sk"), "skipping an outbox entry that does not decode"),
            }
        }
        Ok(page)
    }

    /// Moves an entry's due time to `next`: `true` when it was still `queued` at that entry
    /// (the caller may queue its job again), `false` when it left the outbox meanwhile.
    pub async fn rearm_outbox(&self, entry: &OutboxEntry, next: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(entry.conversation_id), &keys::message(entry.message_id))))
            .update_expression("SET gsi1sk = :next")
            .condition_expression("delivery_status = :queued AND gsi1sk = :order")
            .expression_attribute_values(":next", codec::s(order(next, entry.conversation_id, entry.message_id)))
            .expression_attribute_values(":queued", AttributeValue::S(DeliveryStatus::Queued.as_str().into()))
            .expression_attribute_values(":order", codec::s(&entry.order))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_sort_by_due_time_and_compare_with_a_cutoff() {
        let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let early = order(at(999), 7, 7_000_001);
        let late = order(at(1_700_000_000_000), 3, 3_000_001);
        assert!(early < late, "{early} < {late}");
        let cutoff = format!("{:013}", 1_700_000_000_000_i64);
        assert!(early < cutoff);
        assert!(late > cutoff, "an entry due at the cutoff is not overdue yet");
        assert_eq!(late, "1700000000000#0000000000000003#0000000003000001");
    }

    #[test]
    fn entries_decode_from_their_item_and_corrupt_ones_do_not() {
        let message: Message = serde_json::from_value(serde_json::json!({
            "id": 3_000_002, "conversation_id": 3, "sender_type": "staff", "message_type": "text",
            "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut item = codec::to_item(&message, Keys::new("CONV#3", "MSG#x")).unwrap_or_else(|e| panic!("{e}"));
        enter(&mut item, &message, &OutboundKind::ReopenButton).unwrap_or_else(|e| panic!("{e}"));
        let entry = decode(&item).unwrap_or_else(|| panic!("decodes"));
        assert_eq!(
            (entry.conversation_id, entry.message_id, entry.send_as),
            (3, 3_000_002, OutboundKind::ReopenButton)
        );
        item.insert(SEND_AS.into(), codec::s("\"carrier pigeon\""));
        assert_eq!(decode(&item), None);
    }
}
