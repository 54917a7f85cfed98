//! Conversations: reading one, opening, closing, transferring, assigning, listing; the
//! "active conversation" lock of a guest and department.
//!
//! Access patterns (docs/data-model.md): GetItem `CONV#{id}`/`PROFILE`; the lock
//! `GUEST#{id}`/`ACTIVE#{dept}` written and deleted in the same transaction as the status
//! change; lists: Query GSI1 `CONVS#{hotel}#{dept}#{status}` backwards.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::codec::{self, Item, Keys};
use super::keys::{self, MESSAGE_ID_STRIDE, PROFILE};
use super::{DynamoStore, MAX_ATTEMPTS, NEW_ITEM, TxError, UpdateSpec, contention_pause, is_condition_failure};
use crate::department::Department;
use crate::model::{Conversation, ConversationId, ConversationStatus, ConversationType, Guest};
use crate::store::{Appended, ConversationPage, Conversations, NewMessage, StoreError, TransferError};

#[async_trait]
impl Conversations for DynamoStore {
    async fn get_conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.get_entity(&keys::conversation(id), PROFILE).await
    }

    async fn open_conversation(
        &self,
        guest: &Guest,
        department: Department,
        conversation_type: ConversationType,
        now: DateTime<Utc>,
    ) -> Result<(Conversation, bool), StoreError> {
        for round in 0..MAX_ATTEMPTS {
            let lock = self.get(&keys::guest(guest.id), &keys::active_lock(department)).await?;
            if let Some(id) = lock.as_ref().and_then(|l| codec::get_u64(l, "conversation_id")) {
                match self.get_conversation(id).await? {
                    Some(c) if c.status == ConversationStatus::Active => return Ok((c, false)),
                    None => {
                        self.release_stale_lock(guest.id, department, id).await?;
                        continue;
                    }
                    Some(_) => {
                        contention_pause(round).await;
                        continue;
                    }
                }
            }
            let id = self.allocate_conversation_id().await?;
            let conversation = fresh_conversation(id, guest, department, conversation_type, now);
            let expiry = self.retention_expiry(now);
            let tx = vec![
                self.put(self.conversation_item(&conversation, expiry)?, Some(NEW_ITEM), &[])?,
                self.put(self.lock_item(guest.id, department, id)?, Some(NEW_ITEM), &[])?,
            ];
            match self.transact(tx).await {
                Ok(()) => return Ok((conversation, true)),
                Err(TxError::Conditions(_)) => contention_pause(round).await,
                Err(TxError::DynamoStore(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }

    async fn close_conversation(
        &self,
        id: ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(Conversation, bool), StoreError> {
        let mut conversation = self.get_conversation(id).await?.ok_or(StoreError::NotFound)?;
        if conversation.status != ConversationStatus::Active {
            return Ok((conversation, false));
        }
        let values = [
            (":closed", codec::s(ConversationStatus::Closed.as_str())),
            (":active", codec::s(ConversationStatus::Active.as_str())),
            (":at", codec::s(crate::clock::iso(now))),
            (
                ":list",
                codec::s(keys::conversation_list(
                    &conversation.hotel_id,
                    conversation.department,
                    ConversationStatus::Closed,
                )),
            ),
        ];
        let tx = vec![
            self.update(
                &keys::conversation(id),
                PROFILE,
                UpdateSpec {
                    expression: "SET #status = :closed, updated_at = :at, gsi1pk = :list".into(),
                    condition: Some("#status = :active"),
                    values: &values,
                    names: &[("#status", "status")],
                },
            )?,
            self.release_lock(conversation.guest_id, conversation.department, id)?,
        ];
        match self.transact(tx).await {
            Ok(()) => {
                conversation.status = ConversationStatus::Closed;
                conversation.updated_at = now;
                Ok((conversation, true))
            }
            Err(TxError::Conditions(_)) => {
                let current = self.get_conversation(id).await?.ok_or(StoreError::NotFound)?;
                Ok((current, false))
            }
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    async fn transfer_conversation(
        &self,
        id: ConversationId,
        to: Department,
        note: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, TransferError> {
        for round in 0..MAX_ATTEMPTS {
            let mut conversation = self.get_conversation(id).await?.ok_or(StoreError::NotFound)?;
            if conversation.status != ConversationStatus::Active {
                return Err(StoreError::ConversationClosed.into());
            }
            let from = conversation.department;
            let seq = conversation.msg_seq + 1;
            let stored = note.clone().into_message(id * MESSAGE_ID_STRIDE + seq, id, now);
            let expiry = self.retention_expiry(now);
            let values = [
                (":to", codec::s(to.as_str())),
                (":from", codec::s(from.as_str())),
                (":seq", codec::n(seq)),
                (":prev", codec::n(conversation.msg_seq)),
                (":at", codec::s(crate::clock::iso(now))),
                (":preview", codec::s(note.preview())),
                (":order", codec::s(keys::conversation_order(now, id))),
                (":list", codec::s(keys::conversation_list(&conversation.hotel_id, to, ConversationStatus::Active))),
                (":active", codec::s(ConversationStatus::Active.as_str())),
            ];
            let tx = vec![
                self.update(
                    &keys::conversation(id),
                    PROFILE,
                    UpdateSpec {
                        expression: "SET department = :to, msg_seq = :seq, last_message_at = :at, \
                                     last_message_preview = :preview, updated_at = :at, gsi1pk = :list, \
                                     gsi1sk = :order"
                            .into(),
                        condition: Some("msg_seq = :prev AND #status = :active AND department = :from"),
                        values: &values,
                        names: &[("#status", "status")],
                    },
                )?,
                self.release_lock(conversation.guest_id, from, id)?,
                self.put(self.lock_item(conversation.guest_id, to, id)?, Some(NEW_ITEM), &[])?,
                self.put(self.message_item(&stored, &note.send_as, expiry)?, Some(NEW_ITEM), &[])?,
            ];
            match self.transact(tx).await {
                Ok(()) => {
                    conversation.department = to;
                    conversation.msg_seq = seq;
                    conversation.last_message_at = now;
                    conversation.last_message_preview = note.preview();
                    conversation.updated_at = now;
                    return Ok(Appended { conversation, message: stored, created: false });
                }
                Err(TxError::Conditions(failed)) if failed.contains(&2) => {
                    let busy = self.get(&keys::guest(conversation.guest_id), &keys::active_lock(to)).await?;
                    match busy.as_ref().and_then(|l| codec::get_u64(l, "conversation_id")) {
                        Some(other) => return Err(TransferError::TargetBusy(other)),
                        None => continue,
                    }
                }
                Err(TxError::Conditions(_)) => contention_pause(round).await,
                Err(TxError::DynamoStore(e)) => return Err(e.into()),
            }
        }
        Err(StoreError::Contention.into())
    }

    async fn assign_conversation(
        &self,
        id: ConversationId,
        staff: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let (expression, mut values) = match staff {
            Some(staff) => ("SET assigned_to = :staff, updated_at = :at", vec![(":staff", codec::s(staff))]),
            None => ("SET updated_at = :at REMOVE assigned_to", Vec::new()),
        };
        values.push((":at", codec::s(crate::clock::iso(now))));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::conversation(id), PROFILE)))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(super::values_map(&values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => codec::from_item(&out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_conversations(
        &self,
        hotel_id: &str,
        departments: &[Department],
        statuses: &[ConversationStatus],
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<ConversationPage, StoreError> {
        let limit = limit.clamp(1, 200);
        let mut queries = Vec::new();
        for department in departments {
            for status in statuses {
                let mut query = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name("gsi1")
                    .scan_index_forward(false)
                    .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
                    .expression_attribute_values(
                        ":pk",
                        codec::s(keys::conversation_list(hotel_id, *department, *status)),
                    );
                query = match cursor {
                    Some(c) => query
                        .key_condition_expression("gsi1pk = :pk AND gsi1sk < :cursor")
                        .expression_attribute_values(":cursor", codec::s(c)),
                    None => query.key_condition_expression("gsi1pk = :pk"),
                };
                queries.push(query.send());
            }
        }
        let mut rows: Vec<(String, Conversation)> = Vec::new();
        for out in futures::future::try_join_all(queries).await? {
            for item in out.items.unwrap_or_default() {
                let order = codec::get_s(&item, "gsi1sk").unwrap_or_default().to_owned();
                rows.push((order, codec::from_item(&item)?));
            }
        }
        rows.sort_by(|a, b| b.0.cmp(&a.0));
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(|(order, _)| order.clone()) } else { None };
        Ok(ConversationPage { conversations: rows.into_iter().map(|(_, c)| c).collect(), next_cursor })
    }
}

impl DynamoStore {
    pub(super) fn conversation_item(
        &self,
        conversation: &Conversation,
        expiry: Option<i64>,
    ) -> Result<Item, StoreError> {
        codec::to_item(
            conversation,
            Keys::new(keys::conversation(conversation.id), PROFILE)
                .gsi1(
                    keys::conversation_list(&conversation.hotel_id, conversation.department, conversation.status),
                    keys::conversation_order(conversation.last_message_at, conversation.id),
                )
                .expires(expiry),
        )
    }

    /// Deletes the active-conversation lock, only if it still names `conversation`.
    pub(super) fn release_lock(
        &self,
        guest: u64,
        department: Department,
        conversation: ConversationId,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.delete(
            &keys::guest(guest),
            &keys::active_lock(department),
            Some("attribute_not_exists(pk) OR conversation_id = :id"),
            &[(":id", codec::n(conversation))],
        )
    }

    pub(super) fn lock_item(
        &self,
        guest: u64,
        department: Department,
        conversation: ConversationId,
    ) -> Result<Item, StoreError> {
        codec::to_item(
            &serde_json::json!({ "conversation_id": conversation, "department": department.as_str() }),
            Keys::new(keys::guest(guest), keys::active_lock(department)),
        )
    }
}

/// A new, empty, active conversation.
pub(super) fn fresh_conversation(
    id: ConversationId,
    guest: &Guest,
    department: Department,
    conversation_type: ConversationType,
    now: DateTime<Utc>,
) -> Conversation {
    Conversation {
        id,
        hotel_id: guest.hotel_id.clone(),
        guest_id: guest.id,
        department,
        conversation_type,
        status: ConversationStatus::Active,
        last_message_at: now,
        last_message_preview: String::new(),
        assigned_to: None,
        unread_count: 0,
        msg_seq: 0,
        subscribed: false,
        read_through: 0,
        created_at: now,
        updated_at: now,
    }
}
