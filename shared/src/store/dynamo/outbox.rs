//! Outbound state of staff messages: delivery status, the sender's claim, and the outbox of
//! messages stored `queued` until their status moves on.
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

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::codec::{self, Item, Keys};
use super::keys::{self};
use super::{DynamoStore, is_condition_failure};
use crate::model::{ConversationId, DeliveryStatus, Message, MessageId, OutboundKind};
use crate::store::{Outbound, OutboxEntry, OutboxPage, StoreError};

/// The index partition of the outbox.
const PARTITION: &str = "OUTBOX";

/// The attribute holding the [`OutboundKind`] (as JSON).
const SEND_AS: &str = "send_as";

/// The update-expression clause that takes a message out of the outbox.
pub(super) const LEAVE: &str = " REMOVE gsi1pk, gsi1sk, send_as";

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
        position: codec::get_s(item, "gsi1sk")?.to_owned(),
    })
}
#[async_trait]
impl Outbound for DynamoStore {
    async fn set_delivery_status(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        status: DeliveryStatus,
        provider_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let mut expression = "SET delivery_status = :status, delivery_rank = :rank, updated_at = :at".to_owned();
        let mut values = vec![
            (":status", codec::s(status.as_str())),
            (":rank", codec::n(status.rank())),
            (":at", codec::s(crate::clock::iso(now))),
        ];
        if let Some(pmid) = provider_id {
            expression.push_str(", provider_message_id = :pmid");
            values.push((":pmid", codec::s(pmid)));
        }
        if status == DeliveryStatus::Read {
            expression.push_str(", is_read = :yes, read_at = :at");
            values.push((":yes", AttributeValue::Bool(true)));
        }
        expression.push_str(super::outbox::LEAVE); // past `queued`: out of the outbox
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(conversation_id), &keys::message(id))))
            .update_expression(expression)
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(delivery_rank) OR delivery_rank < :rank)",
            )
            .set_expression_attribute_values(super::values_map(&values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(codec::from_item(&out.attributes.unwrap_or_default())?)),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn claim_for_sending(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let values = [
            (":until", codec::n(until.timestamp_millis())),
            (":now", codec::n(now.timestamp_millis())),
            (":queued", codec::s(DeliveryStatus::Queued.as_str())),
        ];
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(conversation_id), &keys::message(id))))
            .update_expression("SET sending_until = :until")
            .condition_expression(
                "delivery_status = :queued AND (attribute_not_exists(sending_until) OR sending_until < :now)",
            )
            .set_expression_attribute_values(super::values_map(&values))
            .send()
            .await;
        super::applied(result)
    }

    async fn release_send_claim(&self, conversation_id: ConversationId, id: MessageId) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(conversation_id), &keys::message(id))))
            .update_expression("REMOVE sending_until")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .or_else(|e| if is_condition_failure(&e) { Ok(()) } else { Err(e.into()) })
    }

    async fn overdue_outbox(&self, cutoff: DateTime<Utc>, limit: usize) -> Result<OutboxPage, StoreError> {
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

    async fn rearm_outbox(&self, entry: &OutboxEntry, next: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(entry.conversation_id), &keys::message(entry.message_id))))
            .update_expression("SET gsi1sk = :next")
            .condition_expression("delivery_status = :queued AND gsi1sk = :order")
            .expression_attribute_values(":next", codec::s(order(next, entry.conversation_id, entry.message_id)))
            .expression_attribute_values(":queued", AttributeValue::S(DeliveryStatus::Queued.as_str().into()))
            .expression_attribute_values(":order", codec::s(&entry.position))
            .send()
            .await;
        super::applied(result)
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
