//! Read state: marking guest messages read, and who opened a conversation.
//!
//! Access patterns: a query of the messages after the conversation's `read_through` watermark
//! (marking all: never the whole history again), UpdateItem per unread guest message
//! `CONV#{id}`/`MSG#…` (`is_read`, concurrently), one UpdateItem of the conversation's
//! `unread_count` and watermark; participants `CONV#{id}`/`PART#{staff}`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::codec::{self, Keys};
use super::keys::{self, PROFILE};
use super::{DynamoStore, is_condition_failure};
use crate::model::{Conversation, ConversationId, MessageId};
use crate::store::{ReadState, StoreError};

#[async_trait]
impl ReadState for DynamoStore {
    async fn mark_read(
        &self,
        conversation: &Conversation,
        only: Option<&[MessageId]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>, StoreError> {
        let conversation_id = conversation.id;
        let (candidates, newest): (Vec<MessageId>, Option<MessageId>) = match only {
            Some(ids) => (ids.to_vec(), None),
            None => {
                let low = keys::message(conversation.read_through.saturating_add(1));
                let high = keys::message(keys::LAST_MESSAGE_ID);
                let items = self.query_between(&keys::conversation(conversation_id), &low, &high).await?;
                let newest = items.iter().filter_map(|i| codec::get_u64(i, "id")).max();
                let unread = items
                    .iter()
                    .filter(|i| {
                        codec::get_s(i, "sender_type") == Some("guest")
                            && !matches!(i.get("is_read"), Some(AttributeValue::Bool(true)))
                    })
                    .filter_map(|i| codec::get_u64(i, "id"))
                    .collect();
                (unread, newest)
            }
        };
        let at = codec::s(crate::clock::iso(now));
        let flips = candidates.iter().map(|id| async {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Keys::key(&keys::conversation(conversation_id), &keys::message(*id))))
                .update_expression("SET is_read = :yes, read_at = :at, updated_at = :at")
                .condition_expression("attribute_exists(pk) AND sender_type = :guest AND is_read = :no")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":guest", codec::s("guest"))
                .expression_attribute_values(":at", at.clone())
                .send()
                .await;
            match result {
                Ok(_) => Ok(Some(*id)),
                Err(e) if is_condition_failure(&e) => Ok(None),
                Err(e) => Err(StoreError::from(e)),
            }
        });
        // Flipped concurrently, each on its own condition; the watermark moves only after all
        // of them, so a failure leaves it where a retry looks again.
        let marked: Vec<MessageId> = futures::future::try_join_all(flips).await?.into_iter().flatten().collect();
        let watermark = newest.filter(|n| *n > conversation.read_through);
        if !marked.is_empty() || watermark.is_some() {
            self.lower_unread(conversation, marked.len(), watermark).await?;
        }
        Ok(marked)
    }

    async fn touch_participant(
        &self,
        conversation_id: ConversationId,
        staff_id: &str,
        read: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let expression = if read {
            "SET joined_at = if_not_exists(joined_at, :at), is_active = :yes, conversation_id = :c, staff_id = :s, last_read_at = :at"
        } else {
            "SET joined_at = if_not_exists(joined_at, :at), is_active = :yes, conversation_id = :c, staff_id = :s"
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(conversation_id), &keys::participant(staff_id))))
            .update_expression(expression)
            .expression_attribute_values(":at", codec::s(crate::clock::iso(now)))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":c", codec::n(conversation_id))
            .expression_attribute_values(":s", codec::s(staff_id))
            .send()
            .await?;
        Ok(())
    }

    async fn participants(
        &self,
        conversation_id: ConversationId,
    ) -> Result<Vec<crate::model::Participant>, StoreError> {
        self.query_prefix(&keys::conversation(conversation_id), "PART#").await?.iter().map(codec::from_item).collect()
    }
}

impl DynamoStore {
    /// Lowers a conversation's unread count by `k` (never below zero) and moves its read
    /// watermark to `watermark`, in one write. Concurrent readers may set the watermark in either
    /// order: one that moves back only makes the next mark-read look at more messages.
    async fn lower_unread(
        &self,
        conversation: &Conversation,
        k: usize,
        watermark: Option<MessageId>,
    ) -> Result<(), StoreError> {
        let key = Keys::key(&keys::conversation(conversation.id), PROFILE);
        let through = watermark.map(|w| (", read_through = :w", codec::n(w)));
        let set_through = through.as_ref().map_or("", |(clause, _)| clause);
        let update = |expression: String| {
            let request = self.client.update_item().table_name(&self.table).set_key(Some(key.clone()));
            let request = request.update_expression(expression).condition_expression("attribute_exists(pk)");
            match &through {
                Some((_, w)) => request.expression_attribute_values(":w", w.clone()),
                None => request,
            }
        };
        let lowered = update(format!("SET unread_count = unread_count - :k{set_through}"))
            .condition_expression("attribute_exists(pk) AND unread_count >= :k")
            .expression_attribute_values(":k", codec::n(k))
            .send()
            .await;
        match lowered {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => {
                // Fewer unread than marked (a count that drifted): zero, never negative.
                let zeroed = update(format!("SET unread_count = :zero{set_through}"))
                    .expression_attribute_values(":zero", codec::n(0))
                    .send()
                    .await;
                match zeroed {
                    Ok(_) => Ok(()),
                    Err(e) if is_condition_failure(&e) => Ok(()), // the conversation is gone
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}
