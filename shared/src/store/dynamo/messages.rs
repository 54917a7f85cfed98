//! Messages: the trait of the port over the append protocol (`append`), reading history,
//! idempotency records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::append::Known;
use super::codec::{self, Keys};
use super::keys::{self, MESSAGE_ID_STRIDE, PROFILE};
use super::{DynamoStore, is_condition_failure};
use crate::department::Department;
use crate::model::{Conversation, ConversationId, ConversationType, Guest, Message, MessageId};
use crate::store::{
    AppendOutcome, GuestRecord, IdempotencyRecord, MessagePage, Messages, NewMessage, PageDirection, StoreError,
};

/// Upper bound of message sort keys.
const LAST_MESSAGE_KEY: MessageId = keys::LAST_MESSAGE_ID;

#[async_trait]
impl Messages for DynamoStore {
    async fn add_guest_message(
        &self,
        guest: &Guest,
        department: Department,
        new_type: ConversationType,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        self.guest_append(guest, department, None, new_type, &message, now).await
    }

    async fn add_guest_message_from(
        &self,
        record: &GuestRecord,
        department: Department,
        new_type: ConversationType,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        let known = Known::Lock(record.active_conversation(department));
        self.guest_append(&record.guest, department, Some(known), new_type, &message, now).await
    }

    async fn add_message(
        &self,
        conversation_id: ConversationId,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_loop(conversation_id, None, &message, now).await
    }

    async fn append_to(
        &self,
        known: &Conversation,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        self.append_loop(known.id, Some(known.clone()), &message, now).await
    }

    async fn provider_message(&self, provider_id: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_entity(&keys::provider_message(provider_id), PROFILE).await
    }

    async fn remember_outbound(&self, provider_id: &str, record: &IdempotencyRecord) -> Result<(), StoreError> {
        let item = codec::to_item(record, Keys::new(keys::provider_message(provider_id), PROFILE))?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }

    async fn messages(
        &self,
        conversation_id: ConversationId,
        direction: PageDirection,
        limit: usize,
    ) -> Result<MessagePage, StoreError> {
        let limit = limit.clamp(1, 500);
        let (low, high, forward) = match direction {
            PageDirection::Latest => (keys::message(0), keys::message(LAST_MESSAGE_KEY), false),
            PageDirection::Before(id) => (keys::message(0), keys::message(id.saturating_sub(1)), false),
            PageDirection::After(id) => (keys::message(id + 1), keys::message(LAST_MESSAGE_KEY), true),
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", codec::s(keys::conversation(conversation_id)))
            .expression_attribute_values(":low", codec::s(low))
            .expression_attribute_values(":high", codec::s(high))
            .scan_index_forward(forward)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send()
            .await?;
        let items = out.items.unwrap_or_default();
        let has_more = items.len() > limit;
        let mut messages = items.iter().take(limit).map(codec::from_item::<Message>).collect::<Result<Vec<_>, _>>()?;
        if !forward {
            messages.reverse();
        }
        Ok(MessagePage { messages, has_more })
    }

    async fn last_message(&self, conversation_id: ConversationId) -> Result<Option<Message>, StoreError> {
        Ok(self.messages(conversation_id, PageDirection::Latest, 1).await?.messages.pop())
    }

    async fn get_message(&self, conversation_id: ConversationId, id: MessageId) -> Result<Option<Message>, StoreError> {
        self.get_entity(&keys::conversation(conversation_id), &keys::message(id)).await
    }

    async fn newest_messages(&self, conversations: &[Conversation]) -> Result<Vec<Message>, StoreError> {
        let keys: Vec<_> = conversations
            .iter()
            .filter(|c| c.msg_seq > 0)
            .map(|c| Keys::key(&keys::conversation(c.id), &keys::message(c.id * MESSAGE_ID_STRIDE + c.msg_seq)))
            .collect();
        let items = self.batch_get(keys).await?;
        items.iter().map(codec::from_item::<Message>).collect()
    }

    async fn set_media_url(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<Message, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(conversation_id), &keys::message(id))))
            .update_expression("SET media_url = :url, updated_at = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":url", codec::s(url))
            .expression_attribute_values(":at", codec::s(crate::clock::iso(now)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => codec::from_item(&out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}
