//! Conversations and their messages.
//!
//! The write path is optimistic: the conversation item carries `msg_seq`, the sequence number
//! of its newest message. Adding a message is one transaction that puts the message with id
//! `conversation_id × 1 000 000 + msg_seq + 1` and updates the conversation on condition that
//! `msg_seq` is still what was read. The conversation update is needed anyway (last message time
//! and preview, unread count), so ids cost no extra write. A lost race re-reads and retries.
//!
//! A conversation and its first message are written in one transaction together with the
//! "active conversation" lock of the guest and department, so there is never a conversation
//! without its message and never two active conversations for one guest and department.
//! Provider message ids (WhatsApp `wamid`) get an idempotency item in the same transaction.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{self, Item, Keys};
use super::keys::{self, MESSAGE_ID_STRIDE, PROFILE};
use super::{MAX_ATTEMPTS, NEW_ITEM, Store, StoreError, TxError, UpdateSpec, contention_pause, is_condition_failure};
use crate::department::Department;
use crate::model::{
    Conversation, ConversationId, ConversationStatus, ConversationType, DeliveryStatus, Guest, Message, MessageId,
    MessageType, OutboundKind, SenderType, StaffId,
};

/// Longest `last_message_preview` (docs/api.md §2).
const PREVIEW_CHARS: usize = 255;

/// Upper bound of message sort keys (ids never exceed 2^53, 16 digits).
const LAST_MESSAGE_KEY: MessageId = 9_999_999_999_999_999;

/// A message to add; ids and timestamps are assigned by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Staff id for staff messages.
    pub sender_id: Option<StaffId>,
    /// Name shown with it.
    pub sender_name: String,
    /// What it carries.
    pub message_type: MessageType,
    /// Text or caption.
    pub content: String,
    /// Media link.
    pub media_url: Option<String>,
    /// Media file name.
    pub media_filename: Option<String>,
    /// `queued` for staff messages on their way to WhatsApp.
    pub delivery_status: Option<DeliveryStatus>,
    /// How a `queued` message goes to WhatsApp; kept on its item (in the outbox) until its
    /// delivery status moves on, so that a lost job can be queued again (`store::outbox`).
    pub send_as: OutboundKind,
    /// Provider id; a repeat is stored once.
    pub provider_message_id: Option<String>,
}

impl NewMessage {
    /// A system message (transfers, delivery notices).
    pub fn system(content: impl Into<String>) -> Self {
        NewMessage {
            sender_type: SenderType::System,
            sender_id: None,
            sender_name: "System".into(),
            message_type: MessageType::System,
            content: content.into(),
            media_url: None,
            media_filename: None,
            delivery_status: None,
            send_as: OutboundKind::Message,
            provider_message_id: None,
        }
    }

    fn preview(&self) -> String {
        let text = if self.content.trim().is_empty() {
            match (&self.media_filename, self.message_type) {
                (Some(name), _) => name.clone(),
                (None, kind) => format!("[{kind}]"),
            }
        } else {
            self.content.clone()
        };
        text.chars().take(PREVIEW_CHARS).collect()
    }

    fn into_message(self, id: MessageId, conversation_id: ConversationId, now: DateTime<Utc>) -> Message {
        Message {
            id,
            conversation_id,
            sender_type: self.sender_type,
            sender_id: self.sender_id,
            sender_name: self.sender_name,
            message_type: self.message_type,
            content: self.content,
            media_url: self.media_url,
            media_filename: self.media_filename,
            is_read: false,
            read_at: None,
            delivery_status: self.delivery_status,
            provider_message_id: self.provider_message_id,
            created_at: now,
            updated_at: now,
        }
    }
}

/// What the first request with a provider message id stored; a repeat answers from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The conversation the message went to.
    pub conversation_id: ConversationId,
    /// The stored message.
    pub message_id: MessageId,
    /// Its department.
    pub department: Department,
    /// Its conversation type.
    pub conversation_type: ConversationType,
    /// Whether that request created the conversation.
    pub conversation_created: bool,
}

/// A message that was stored, with the conversation as it is after the write.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The conversation after the write.
    pub conversation: Conversation,
    /// The stored message.
    pub message: Message,
    /// Whether the conversation was created by this write.
    pub created: bool,
}

impl Appended {
    /// The idempotency record of this write.
    pub fn record(&self) -> IdempotencyRecord {
        IdempotencyRecord {
            conversation_id: self.conversation.id,
            message_id: self.message.id,
            department: self.conversation.department,
            conversation_type: self.conversation.conversation_type,
            conversation_created: self.created,
        }
    }
}

/// Result of adding a message that may carry a provider id.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// Stored now.
    Stored(Box<Appended>),
    /// Stored before: nothing was written.
    Duplicate(IdempotencyRecord),
}

/// Which slice of a conversation's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageDirection {
    /// The newest messages.
    Latest,
    /// Messages older than this id.
    Before(MessageId),
    /// Messages newer than this id.
    After(MessageId),
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePage {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
    /// Whether more exist in the direction read.
    pub has_more: bool,
}

/// A page of conversations, newest activity first.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationPage {
    /// The conversations.
    pub conversations: Vec<Conversation>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Why a transfer was refused.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The guest already has an active conversation in the target department.
    #[error("guest already has an active conversation there")]
    TargetBusy(ConversationId),
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Reads a conversation.
    pub async fn get_conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.get_entity(&keys::conversation(id), PROFILE).await
    }

    /// Reads a stored idempotency record.
    pub async fn provider_message(&self, provider_id: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_entity(&keys::provider_message(provider_id), PROFILE).await
    }

    /// Allocates a conversation id (one counter write per *conversation*, never per message).
    async fn allocate_conversation_id(&self) -> Result<ConversationId, StoreError> {
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

    /// Adds a guest message: to the guest's active conversation in `department`, or to a new one
    /// of `new_type`. Idempotent on the provider message id.
    pub async fn add_guest_message(
        &self,
        guest: &Guest,
        department: Department,
        new_type: ConversationType,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        if let Some(pmid) = &message.provider_message_id
            && let Some(record) = self.provider_message(pmid).await?
        {
            return Ok(AppendOutcome::Duplicate(record));
        }
        for round in 0..MAX_ATTEMPTS {
            let lock = self.get(&keys::guest(guest.id), &keys::active_lock(department)).await?;
            let attempt = match lock.as_ref().and_then(|l| codec::get_u64(l, "conversation_id")) {
                Some(id) => self.try_append(id, Some(guest), &message, now).await,
                None => self.try_create(guest, department, new_type, &message, now).await,
            };
            match attempt {
                // The conversation behind the lock is gone (expired by the retention TTL, which
                // the lock does not have): release the lock, then create a new one.
                Err(Attempt::Missing) => {
                    if let Some(id) = lock.as_ref().and_then(|l| codec::get_u64(l, "conversation_id")) {
                        self.release_stale_lock(guest.id, department, id).await?;
                    }
                }
                // Closed or created concurrently: look at the lock again.
                Err(Attempt::Retry) | Err(Attempt::Closed) => contention_pause(round).await,
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Duplicate) => return self.duplicate_of(&message).await,
                Ok(appended) => return Ok(AppendOutcome::Stored(Box::new(appended))),
            }
        }
        Err(StoreError::Contention)
    }

    /// Deletes a guest's active-conversation lock that still names `conversation` (whose item is
    /// gone); a lock that moved on meanwhile is left alone.
    async fn release_stale_lock(
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
            Err(TxError::Store(e)) => Err(e),
        }
    }

    /// Adds a message to an existing, active conversation (staff replies, system messages, a
    /// guest message naming its conversation). Idempotent on the provider message id.
    pub async fn add_message(
        &self,
        conversation_id: ConversationId,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<AppendOutcome, StoreError> {
        let guest = if message.sender_type == SenderType::Guest {
            let conversation = self.get_conversation(conversation_id).await?.ok_or(StoreError::NotFound)?;
            self.get_guest(conversation.guest_id).await?
        } else {
            None
        };
        for round in 0..MAX_ATTEMPTS {
            match self.try_append(conversation_id, guest.as_ref(), &message, now).await {
                Ok(appended) => return Ok(AppendOutcome::Stored(Box::new(appended))),
                Err(Attempt::Retry) => contention_pause(round).await,
                Err(Attempt::Closed) => return Err(StoreError::ConversationClosed),
                Err(Attempt::Missing) => return Err(StoreError::NotFound),
                Err(Attempt::Duplicate) => return self.duplicate_of(&message).await,
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }

    async fn duplicate_of(&self, message: &NewMessage) -> Result<AppendOutcome, StoreError> {
        let pmid = message.provider_message_id.as_deref().ok_or(StoreError::Contention)?;
        let record = self.provider_message(pmid).await?.ok_or(StoreError::Contention)?;
        Ok(AppendOutcome::Duplicate(record))
    }

    /// One try at appending to `conversation_id`.
    async fn try_append(
        &self,
        conversation_id: ConversationId,
        guest: Option<&Guest>,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Appended, Attempt> {
        let mut conversation = self.get_conversation(conversation_id).await?.ok_or(Attempt::Missing)?;
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
        let mut tx = vec![
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
        let pmid_index = self.push_idempotency(&mut tx, &stored, &conversation, false, expiry)?;
        self.push_guest_touch(&mut tx, guest, from_guest, now)?;
        match self.transact(tx).await {
            Ok(()) => Ok(Appended { conversation, message: stored, created: false }),
            Err(TxError::Conditions(failed)) if pmid_index.is_some_and(|i| failed.contains(&i)) => {
                Err(Attempt::Duplicate)
            }
            Err(TxError::Conditions(_)) => {
                // Either another message won the sequence number, or the conversation was closed.
                match self.get_conversation(conversation_id).await? {
                    Some(c) if c.status == ConversationStatus::Active => Err(Attempt::Retry),
                    Some(_) => Err(Attempt::Closed),
                    None => Err(Attempt::Missing),
                }
            }
            Err(TxError::Store(e)) => Err(Attempt::Failed(e)),
        }
    }

    /// One try at creating a conversation with its first message.
    async fn try_create(
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
        let mut tx = vec![
            self.put(self.conversation_item(&conversation, expiry)?, Some(NEW_ITEM), &[])?,
            self.put(self.lock_item(guest.id, department, id)?, Some(NEW_ITEM), &[])?,
            self.put(self.message_item(&stored, &message.send_as, expiry)?, Some(NEW_ITEM), &[])?,
        ];
        let pmid_index = self.push_idempotency(&mut tx, &stored, &conversation, true, expiry)?;
        self.push_guest_touch(&mut tx, Some(guest), from_guest, now)?;
        match self.transact(tx).await {
            Ok(()) => Ok(Appended { conversation, message: stored, created: true }),
            Err(TxError::Conditions(failed)) if pmid_index.is_some_and(|i| failed.contains(&i)) => {
                Err(Attempt::Duplicate)
            }
            Err(TxError::Conditions(_)) => Err(Attempt::Retry),
            Err(TxError::Store(e)) => Err(Attempt::Failed(e)),
        }
    }

    /// Returns the guest's active conversation in `department`, creating an empty one when there
    /// is none (REST create). `true` when created.
    pub async fn open_conversation(
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
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }

    /// Closes a conversation and releases its lock. `Ok((c, false))` when it was already closed.
    pub async fn close_conversation(
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
            Err(TxError::Store(e)) => Err(e),
        }
    }

    /// Moves an active conversation to another department, recording `note` as a system message.
    pub async fn transfer_conversation(
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
                Err(TxError::Store(e)) => return Err(e.into()),
            }
        }
        Err(StoreError::Contention.into())
    }

    /// Sets or clears the assignee.
    pub async fn assign_conversation(
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

    /// Reads a page of a conversation's messages, oldest first.
    pub async fn messages(
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

    /// The newest message of a conversation.
    pub async fn last_message(&self, conversation_id: ConversationId) -> Result<Option<Message>, StoreError> {
        Ok(self.messages(conversation_id, PageDirection::Latest, 1).await?.messages.pop())
    }

    /// Reads one message.
    pub async fn get_message(
        &self,
        conversation_id: ConversationId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        self.get_entity(&keys::conversation(conversation_id), &keys::message(id)).await
    }

    /// Marks unread guest messages read (all of them, or those in `only`); returns the ids that
    /// changed. Each message is flipped with a condition, so concurrent readers count it once.
    pub async fn mark_read(
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

    /// Moves a staff message's delivery status forward (never backwards; `failed` always
    /// applies) and records the provider id. Returns the message when it changed.
    pub async fn set_delivery_status(
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

    /// Claims a `queued` message for sending until `until`: `true` when this caller may send it
    /// now, `false` when it is no longer queued or another sender holds an unexpired claim (two
    /// deliveries of one queue message never both reach WhatsApp). A claim that expired (its
    /// sender crashed) can be taken again.
    pub async fn claim_for_sending(
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
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives a claim back (the send failed and will be retried later).
    pub async fn release_send_claim(&self, conversation_id: ConversationId, id: MessageId) -> Result<(), StoreError> {
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

    /// Sets a message's media link (guest media imported after the message was stored).
    pub async fn set_media_url(
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

    /// Remembers the provider id of an outbound message so status webhooks find it.
    pub async fn remember_outbound(&self, provider_id: &str, record: &IdempotencyRecord) -> Result<(), StoreError> {
        let item = codec::to_item(record, Keys::new(keys::provider_message(provider_id), PROFILE))?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// Records that a staff member opened a conversation.
    pub async fn touch_participant(
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

    /// Participants of a conversation.
    pub async fn participants(
        &self,
        conversation_id: ConversationId,
    ) -> Result<Vec<crate::model::Participant>, StoreError> {
        self.query_prefix(&keys::conversation(conversation_id), "PART#").await?.iter().map(codec::from_item).collect()
    }

    /// Conversations of a hotel in some departments and statuses, newest activity first.
    /// The cursor is the index sort key of the last conversation returned.
    pub async fn list_conversations(
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

    fn conversation_item(&self, conversation: &Conversation, expiry: Option<i64>) -> Result<Item, StoreError> {
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

    fn message_item(&self, message: &Message, send_as: &OutboundKind, expiry: Option<i64>) -> Result<Item, StoreError> {
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

    /// Deletes the active-conversation lock, only if it still names `conversation`.
    fn release_lock(
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

    fn lock_item(&self, guest: u64, department: Department, conversation: ConversationId) -> Result<Item, StoreError> {
        codec::to_item(
            &serde_json::json!({ "conversation_id": conversation, "department": department.as_str() }),
            Keys::new(keys::guest(guest), keys::active_lock(department)),
        )
    }

    /// Adds the idempotency item when the message has a provider id; returns its index.
    fn push_idempotency(
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
    fn push_guest_touch(
        &self,
        tx: &mut Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        guest: Option<&Guest>,
        from_guest: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let (Some(guest), true) = (guest, from_guest) {
            let values = [(":at", codec::s(crate::clock::iso(now)))];
            tx.push(self.update(
                &keys::guest(guest.id),
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

/// A new, empty, active conversation.
fn fresh_conversation(
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
        created_at: now,
        updated_at: now,
    }
}

/// Outcome of one optimistic attempt.
enum Attempt {
    /// Lost a race: read again and retry.
    Retry,
    /// The conversation is not active.
    Closed,
    /// The conversation does not exist.
    Missing,
    /// The provider message id was stored before.
    Duplicate,
    /// A real failure.
    Failed(StoreError),
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        Attempt::Failed(e)
    }
}
