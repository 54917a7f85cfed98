//! The append protocol.
//!
//! The write path is optimistic: the conversation item carries `msg_seq`, the sequence number
//! of its newest message. Adding a message is one transaction that puts the message with id
//! `conversation_id × 1 000 000 + msg_seq + 1` and updates the conversation on condition that
//! `msg_seq` is still what was read. The conversation update is needed anyway (last message time
//! and preview, unread count), so ids cost no extra write. The first attempt starts from what the
//! caller read (the conversation, or the guest record's lock); a lost race re-reads and retries.
//!
//! A conversation and its first message are written in one transaction together with the
//! "active conversation" lock of the guest and department, so there is never a conversation
//! without its message and never two active conversations for one guest and department.
//! Provider message ids (WhatsApp `wamid`) get an idempotency item in the same transaction, on
//! condition that it is new: a repeat is refused by the write itself, never read for beforehand.

use chrono::{DateTime, Utc};

use super::codec::{self, Item, Keys};
use super::conversations::fresh_conversation;
use super::keys::{self, MESSAGE_ID_STRIDE, PROFILE};
use super::{DynamoStore, MAX_ATTEMPTS, NEW_ITEM, TxError, UpdateSpec, contention_pause};
use crate::department::Department;
use crate::model::{
    Conversation, ConversationId, ConversationStatus, ConversationType, DeliveryStatus, Guest, Message, OutboundKind,
    SenderType,
};
use crate::store::{AppendOutcome, Appended, Conversations, IdempotencyRecord, Messages, NewMessage, StoreError};

impl DynamoStore {
    /// Appends to one conversation, starting from `known` when the caller has just read it;
    /// every lost race re-reads it once (the read that tells why the write was refused).
    pub(super) async fn append_loop(
        &self,
        conversation_id: ConversationId,
        mut known: Option<Conversation>,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        for round in 0..MAX_ATTEMPTS {
            let conversation = match known.take() {
                Some(c) => c,
                None => self.get_conversation(conversation_id).await?.ok_or(StoreError::NotFound)?,
            };
            match self.try_append(conversation, message, now).await {
                Ok(appended) => return Ok(AppendOutcome::Stored(Box::new(appended))),
                Err(Attempt::Retry(fresh)) => {
                    known = fresh;
                    contention_pause(round).await;
                }
                Err(Attempt::Closed) => return Err(StoreError::ConversationClosed),
                Err(Attempt::Missing) => return Err(StoreError::NotFound),
                Err(Attempt::Duplicate) => return self.duplicate_of(message).await,
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }

    /// Appends a guest message to the guest's active conversation in `department`, or creates
    /// it. `known` is what the caller read (the lock, from the guest record); without it, or
    /// after a lost race, the lock is read. A repeated provider id is refused by the write
    /// itself (its idempotency item is written on condition), so nothing is read beforehand.
    pub(super) async fn guest_append(
        &self,
        guest: &Guest,
        department: Department,
        mut known: Option<Known>,
        new_type: ConversationType,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        for round in 0..MAX_ATTEMPTS {
            let target = match known.take() {
                Some(Known::Conversation(c)) => Target::Append(c),
                Some(Known::Lock(None)) => Target::Create,
                Some(Known::Lock(Some(id))) => self.target_of(id).await?,
                None => {
                    let lock = self.get(&keys::guest(guest.id), &keys::active_lock(department)).await?;
                    match lock.as_ref().and_then(|l| codec::get_u64(l, "conversation_id")) {
                        Some(id) => self.target_of(id).await?,
                        None => Target::Create,
                    }
                }
            };
            let attempt = match target {
                Target::Append(conversation) => self.try_append(conversation, message, now).await,
                Target::Create => self.try_create(guest, department, new_type, message, now).await,
                Target::Gone(id) => {
                    // The conversation behind the lock is gone (expired by the retention TTL,
                    // which the lock does not have): release the lock, then create a new one.
                    self.release_stale_lock(guest.id, department, id).await?;
                    continue;
                }
            };
            match attempt {
                Ok(appended) => return Ok(AppendOutcome::Stored(Box::new(appended))),
                // Another message won the sequence number: the conversation as it is now.
                Err(Attempt::Retry(Some(fresh))) => {
                    known = Some(Known::Conversation(fresh));
                    contention_pause(round).await;
                }
                // Closed or created concurrently: look at the lock again.
                Err(Attempt::Retry(None) | Attempt::Closed | Attempt::Missing) => contention_pause(round).await,
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Duplicate) => return self.duplicate_of(message).await,
            }
        }
        Err(StoreError::Contention)
    }

    /// What a lock naming conversation `id` leads to.
    async fn target_of(&self, id: ConversationId) -> Result<Target, StoreError> {
        Ok(match self.get_conversation(id).await? {
            Some(conversation) => Target::Append(conversation),
            None => Target::Gone(id),
        })
    }

    /// Allocates a conversation id (one counter write per *conversation*, never per message).
    pub(super) async fn allocate_conversation_id(&self) -> Result<ConversationId, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Keys::key(&keys::counter("conversation"), PROFILE)))
            .update_expression("ADD next_id :one")
            .expression_attribute_values(":one", codec::n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await?;
        out.attributes
            .as_ref()
            .and_then(|a| codec::get_u64(a, "next_id"))
            .ok_or_else(|| StoreError::Corrupt("conversation counter".into()))
    }

    /// Deletes a guest's active-conversation lock that still names `conversation` (whose item is
    /// gone); a lock that moved on meanwhile is left alone.
    pub(super) async fn release_stale_lock(
        &self,
        guest: crate::model::GuestId,
        department: Department,
        conversation: ConversationId,
    ) -> Result<(), StoreError> {
        tracing::warn!(guest, conversation, "active-conversation lock without its conversation released");
        let delete = self.delete(
            &keys::guest(guest),
            &keys::active_lock(department),
            Some("conversation_id = :id"),
            &[(":id", codec::n(conversation))],
        )?;
        match self.transact(vec![delete]).await {
            Ok(()) | Err(TxError::Conditions(_)) => Ok(()),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    pub(super) async fn duplicate_of(&self, message: &NewMessage) -> Result<AppendOutcome, StoreError> {
        let pmid = message.provider_message_id.as_deref().ok_or(StoreError::Contention)?;
        let record = self.provider_message(pmid).await?.ok_or(StoreError::Contention)?;
        Ok(AppendOutcome::Duplicate(record))
    }

    /// One try at appending to `conversation_id`.
    pub(super) async fn try_append(
        &self,
        mut conversation: Conversation,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, Attempt> {
        let conversation_id = conversation.id;
        if conversation.status != ConversationStatus::Active {
            return Err(Attempt::Closed);
        }
        let previous = conversation.msg_seq;
        let seq = previous + 1;
        if seq >= MESSAGE_ID_STRIDE {
            return Err(Attempt::Failed(StoreError::Conflict("conversation is full".into())));
        }
        let stored = message.clone().into_message(conversation.id * MESSAGE_ID_STRIDE + seq, conversation.id, now);
        let from_guest = message.sender_type == SenderType::Guest;
        conversation.msg_seq = seq;
        conversation.last_message_at = now;
        conversation.last_message_preview = message.preview();
        conversation.updated_at = now;
        conversation.unread_count += u64::from(from_guest);
        let expiry = self.retention_expiry(now);

        let mut expression = "SET msg_seq = :seq, last_message_at = :at, last_message_preview = :preview, \
                              updated_at = :at, gsi1sk = :order, unread_count = if_not_exists(unread_count, :zero) + :unread"
            .to_owned();
        let mut values = vec![
            (":seq", codec::n(seq)),
            (":prev", codec::n(previous)),
            (":at", codec::s(crate::clock::iso(now))),
            (":preview", codec::s(&conversation.last_message_preview)),
            (":order", codec::s(keys::conversation_order(now, conversation.id))),
            (":zero", codec::n(0)),
            (":unread", codec::n(u64::from(from_guest))),
            (":active", codec::s(ConversationStatus::Active.as_str())),
        ];
        if let Some(at) = expiry {
            expression.push_str(", expires_at = :exp");
            values.push((":exp", codec::n(at)));
        }
        let tx = vec![
            self.update(
                &keys::conversation(conversation.id),
                PROFILE,
                UpdateSpec {
                    expression,
                    condition: Some("msg_seq = :prev AND #status = :active"),
                    values: &values,
                    names: &[("#status", "status")],
                },
            )?,
            self.put(self.message_item(&stored, &message.send_as, expiry)?, Some(NEW_ITEM), &[])?,
        ];
        let guest = from_guest.then_some(conversation.guest_id);
        match self.write_message(tx, &stored, &conversation, false, guest, now).await {
            Ok(()) => Ok(Appended { conversation, message: stored, created: false }),
            Err(Refused::Lost) => {
                // Either another message won the sequence number, or the conversation was closed.
                match self.get_conversation(conversation_id).await? {
                    Some(c) if c.status == ConversationStatus::Active => Err(Attempt::Retry(Some(c))),
                    Some(_) => Err(Attempt::Closed),
                    None => Err(Attempt::Missing),
                }
            }
            Err(refused) => Err(refused.into()),
        }
    }

    /// One try at creating a conversation with its first message.
    pub(super) async fn try_create(
        &self,
        guest: &Guest,
        department: Department,
        conversation_type: ConversationType,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, Attempt> {
        let id = self.allocate_conversation_id().await?;
        let from_guest = message.sender_type == SenderType::Guest;
        let mut conversation = fresh_conversation(id, guest, department, conversation_type, now);
        conversation.last_message_preview = message.preview();
        conversation.unread_count = u64::from(from_guest);
        conversation.msg_seq = 1;
        let stored = message.clone().into_message(id * MESSAGE_ID_STRIDE + 1, id, now);
        let expiry = self.retention_expiry(now);
        let tx = vec![
            self.put(self.conversation_item(&conversation, expiry)?, Some(NEW_ITEM), &[])?,
            self.put(self.lock_item(guest.id, department, id)?, Some(NEW_ITEM), &[])?,
            self.put(self.message_item(&stored, &message.send_as, expiry)?, Some(NEW_ITEM), &[])?,
        ];
        match self.write_message(tx, &stored, &conversation, true, from_guest.then_some(guest.id), now).await {
            Ok(()) => Ok(Appended { conversation, message: stored, created: true }),
            Err(Refused::Lost) => Err(Attempt::Retry(None)),
            Err(refused) => Err(refused.into()),
        }
    }

    /// Writes `tx` (a message and its conversation's items) with the message's idempotency
    /// record and, for a guest's message, the guest's `last_inbound_at`: the one place that
    /// tells a repeated provider id from a lost race.
    async fn write_message(
        &self,
        mut tx: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        message: &Message,
        conversation: &Conversation,
        created: bool,
        guest: Option<crate::model::GuestId>,
        now: DateTime<Utc>,
    ) -> Result<(), Refused> {
        let expiry = self.retention_expiry(now);
        let pmid_index = self.push_idempotency(&mut tx, message, conversation, created, expiry)?;
        self.push_guest_touch(&mut tx, guest, now)?;
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(TxError::Conditions(failed)) if pmid_index.is_some_and(|i| failed.contains(&i)) => {
                Err(Refused::Duplicate)
            }
            Err(TxError::Conditions(_)) => Err(Refused::Lost),
            Err(TxError::DynamoStore(e)) => Err(Refused::Failed(e)),
        }
    }

    pub(super) fn message_item(
        &self,
        message: &Message,
        send_as: &OutboundKind,
        expiry: Option<i64>,
    ) -> Result<Item, StoreError> {
        let mut item = codec::to_item(
            message,
            Keys::new(keys::conversation(message.conversation_id), keys::message(message.id)).expires(expiry),
        )?;
        if let Some(status) = message.delivery_status {
            item.insert("delivery_rank".into(), codec::n(status.rank()));
        }
        if message.delivery_status == Some(DeliveryStatus::Queued) {
            super::outbox::enter(&mut item, message, send_as)?;
        }
        Ok(item)
    }

    /// Adds the idempotency item when the message has a provider id; returns its index.
    pub(super) fn push_idempotency(
        &self,
        tx: &mut Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        message: &Message,
        conversation: &Conversation,
        created: bool,
        expiry: Option<i64>,
    ) -> Result<Option<usize>, StoreError> {
        let Some(pmid) = &message.provider_message_id else {
            return Ok(None);
        };
        let record = IdempotencyRecord {
            conversation_id: conversation.id,
            message_id: message.id,
            department: conversation.department,
            conversation_type: conversation.conversation_type,
            conversation_created: created,
        };
        let item = codec::to_item(&record, Keys::new(keys::provider_message(pmid), PROFILE).expires(expiry))?;
        tx.push(self.put(item, Some(NEW_ITEM), &[])?);
        Ok(Some(tx.len() - 1))
    }

    /// Guest messages move the guest's `last_inbound_at` (WhatsApp's 24-hour window).
    pub(super) fn push_guest_touch(
        &self,
        tx: &mut Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        guest: Option<crate::model::GuestId>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(guest) = guest {
            let values = [(":at", codec::s(crate::clock::iso(now)))];
            tx.push(self.update(
                &keys::guest(guest),
                PROFILE,
                UpdateSpec {
                    expression: "SET last_inbound_at = :at".into(),
                    condition: Some("attribute_exists(pk)"),
                    values: &values,
                    names: &[],
                },
            )?);
        }
        Ok(())
    }
}

/// Outcome of one optimistic attempt.
pub(super) enum Attempt {
    /// Lost a race: retry, from the conversation as it was read after the refusal (when the
    /// refusal read it).
    Retry(Option<Conversation>),
    /// The conversation is not active.
    Closed,
    /// The conversation does not exist.
    Missing,
    /// The provider message id was stored before.
    Duplicate,
    /// A real failure.
    Failed(StoreError),
}

/// Why a message's transaction was not written.
enum Refused {
    /// Its provider message id was stored before.
    Duplicate,
    /// Another condition failed: a concurrent write won.
    Lost,
    /// A real failure.
    Failed(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Failed(e)
    }
}

impl From<Refused> for Attempt {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Duplicate => Attempt::Duplicate,
            Refused::Lost => Attempt::Retry(None),
            Refused::Failed(e) => Attempt::Failed(e),
        }
    }
}

/// What a guest append starts from.
pub(super) enum Known {
    /// The lock as the caller read it: the active conversation's id, or none.
    Lock(Option<ConversationId>),
    /// The conversation itself, read after a lost race.
    Conversation(Conversation),
}

/// Where a guest append goes.
enum Target {
    /// To this active-or-not conversation (the write checks).
    Append(Conversation),
    /// A new conversation.
    Create,
    /// The lock names a conversation that no longer exists.
    Gone(ConversationId),
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        Attempt::Failed(e)
    }
}
