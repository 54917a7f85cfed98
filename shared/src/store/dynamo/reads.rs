//! Read state: marking guest messages read, and who opened a conversation.
//!
//! Access patterns: UpdateItem per message `CONV#{id}`/`MSG#…` (`is_read`), the conversation's
//! `unread_count`; participants `CONV#{id}`/`PART#{staff}`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::codec::{self, Keys};
use super::keys::{self, PROFILE};
use super::{DynamoStore, is_condition_failure};
use crate::model::{ConversationId, MessageId};
use crate::store::{ReadState, StoreError};

#[async_trait]
impl ReadState for DynamoStore {
    async fn mark_read(
        &self,
        conversation_id: ConversationId,
        only: Option<&[MessageId]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MessageId>, StoreError> {
        let candidates: Vec<MessageId> = match only {
            Some(ids) => ids.to_vec(),
            None => self
                .query_prefix(&keys::conversation(conversation_id), keys::MESSAGE_PREFIX)
                .await?
                .iter()
                .filter(|i| {
                    codec::get_s(i, "sender_type") == Some("guest")
                        && !matches!(i.get("is_read"), Some(AttributeValue::Bool(true)))
                })
                .filter_map(|i| codec::get_u64(i, "id"))
                .collect(),
        };
        let at = codec::s(crate::clock::iso(now));
        let mut marked = Vec::new();
        for id in candidates {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Keys::key(&keys::conversation(conversation_id), &keys::message(id))))
                .update_expression("SET is_read = :yes, read_at = :at, updated_at = :at")
                .condition_expression("attribute_exists(pk) AND sender_type = :guest AND is_read = :no")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":guest", codec::s("guest"))
                .expression_attribute_values(":at", at.clone())
                .send()
                .await;
            match result {
                Ok(_) => marked.push(id),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !marked.is_empty() {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Keys::key(&keys::conversation(conversation_id), PROFILE)))
                .update_expression("SET unread_count = unread_count - :k")
                .condition_expression("unread_count >= :k")
                .expression_attribute_values(":k", codec::n(marked.len()))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => {
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(Keys::key(&keys::conversation(conversation_id), PROFILE)))
                        .update_expression("SET unread_count = :zero")
                        .expression_attribute_values(":zero", codec::n(0))
                        .send()
                        .await?;
                }
                Err(e) => return Err(e.into()),
            }
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
