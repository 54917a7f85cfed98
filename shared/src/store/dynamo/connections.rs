//! Socket connection records.
//!
//! A connection is one partition (`CONN#{id}`: the profile and one `SUB#` item per subscribed
//! conversation) plus one small index item in every partition it must be found from:
//! `LISTEN#{hotel}#{department}` for each department it listens to, `STAFFCONN#{user}` or
//! `GUESTCONN#{guest}`, and `SUBS#{conversation}` per subscription. All are written and deleted
//! in one transaction and all carry the same TTL, so a record never lingers half-deleted.
//! Readers skip index items whose TTL has passed (DynamoDB deletes expired items lazily).

use async_trait::async_trait;

use super::codec::{self, Item, Keys};
use super::keys::{self, PROFILE};
use super::{DynamoStore, NEW_ITEM, TxError};
use crate::department::Department;
use crate::model::ConversationId;
use crate::model::{Connection, ConnectionKind, GuestId};
use crate::store::StoreError;
use crate::store::{Connections, ListenerRef};
use std::collections::BTreeSet;

#[async_trait]
impl Connections for DynamoStore {
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        let reference = ListenerRef::of(connection);
        let expiry = Some(connection.expires_at);
        let index_key = keys::connection_ref(&connection.connection_id);
        let mut tx = vec![self.put(
            codec::to_item(
                connection,
                Keys::new(keys::connection(&connection.connection_id), PROFILE).expires(expiry),
            )?,
            Some(NEW_ITEM),
            &[],
        )?];
        for partition in index_partitions(connection) {
            let item = codec::to_item(&reference, Keys::new(partition, index_key.clone()).expires(expiry))?;
            tx.push(self.put(item, None, &[])?);
        }
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(TxError::Conditions(_)) => Err(StoreError::Conflict("connection id already stored".into())),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    async fn get_connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let items = self.query_prefix(&keys::connection(id), "").await?;
        let Some(connection) = decode_connection(&items)? else {
            return Ok(None);
        };
        if connection.expires_at < crate::clock::now().timestamp() {
            return Ok(None);
        }
        Ok(Some(connection))
    }

    async fn delete_connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        self.delete_connection_if(id, |_| true).await
    }

    async fn delete_gone_connection(
        &self,
        id: &str,
        connected_after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Connection>, StoreError> {
        self.delete_connection_if(id, |c| c.connected_at <= connected_after).await
    }

    async fn listeners(&self, hotel_id: &str, department: Department) -> Result<Vec<ListenerRef>, StoreError> {
        self.live_refs(&keys::listeners(hotel_id, department)).await
    }

    async fn guest_connections(&self, guest_id: GuestId) -> Result<Vec<ListenerRef>, StoreError> {
        self.live_refs(&keys::guest_connections(guest_id)).await
    }

    async fn staff_connections(&self, user_id: &str) -> Result<Vec<ListenerRef>, StoreError> {
        self.live_refs(&keys::staff_connections(user_id)).await
    }

    async fn subscribers(&self, conversation: ConversationId) -> Result<Vec<ListenerRef>, StoreError> {
        self.live_refs(&keys::subscribers(conversation)).await
    }

    async fn relisten(&self, connection: &Connection, departments: &[Department]) -> Result<(), StoreError> {
        let before: BTreeSet<Department> = connection.departments.iter().copied().collect();
        let after: BTreeSet<Department> = departments.iter().copied().collect();
        let updated = Connection { departments: after.iter().copied().collect(), ..connection.clone() };
        let expiry = Some(connection.expires_at);
        let index_key = keys::connection_ref(&connection.connection_id);
        let profile = codec::to_item(
            &Connection { subscriptions: Vec::new(), ..updated.clone() },
            Keys::new(keys::connection(&connection.connection_id), PROFILE).expires(expiry),
        )?;
        let mut tx = vec![self.put(profile, Some("attribute_exists(pk)"), &[])?];
        for gone in before.difference(&after) {
            tx.push(self.delete(&keys::listeners(&connection.hotel_id, *gone), &index_key, None, &[])?);
        }
        let reference = ListenerRef::of(&updated);
        for added in after.difference(&before) {
            let item = codec::to_item(
                &reference,
                Keys::new(keys::listeners(&connection.hotel_id, *added), index_key.clone()).expires(expiry),
            )?;
            tx.push(self.put(item, None, &[])?);
        }
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(TxError::Conditions(_)) => Err(StoreError::NotFound),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    async fn subscribe(&self, connection: &Connection, conversation: ConversationId) -> Result<(), StoreError> {
        let reference = ListenerRef::of(connection);
        let expiry = Some(connection.expires_at);
        let marker = codec::to_item(
            &serde_json::json!({ "conversation_id": conversation }),
            Keys::new(keys::connection(&connection.connection_id), keys::connection_subscription(conversation))
                .expires(expiry),
        )?;
        let index = codec::to_item(
            &reference,
            Keys::new(keys::subscribers(conversation), keys::connection_ref(&connection.connection_id)).expires(expiry),
        )?;
        // The conversation is marked as having had subscribers, so that its pushes look for
        // them (`Conversation::subscribed`); it must exist.
        let flag = [(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))];
        let tx = vec![
            self.put(marker, None, &[])?,
            self.put(index, None, &[])?,
            self.exists(&keys::connection(&connection.connection_id), PROFILE)?,
            self.update(
                &keys::conversation(conversation),
                PROFILE,
                super::UpdateSpec {
                    expression: "SET subscribed = :yes".into(),
                    condition: Some("attribute_exists(pk)"),
                    values: &flag,
                    names: &[],
                },
            )?,
        ];
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(TxError::Conditions(_)) => Err(StoreError::NotFound),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    async fn unsubscribe(&self, connection_id: &str, conversation: ConversationId) -> Result<(), StoreError> {
        let tx = vec![
            self.delete(&keys::connection(connection_id), &keys::connection_subscription(conversation), None, &[])?,
            self.delete(&keys::subscribers(conversation), &keys::connection_ref(connection_id), None, &[])?,
        ];
        match self.transact(tx).await {
            Ok(()) | Err(TxError::Conditions(_)) => Ok(()),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }
}

impl DynamoStore {
    pub(super) async fn delete_connection_if(
        &self,
        id: &str,
        delete: impl Fn(&Connection) -> bool,
    ) -> Result<Option<Connection>, StoreError> {
        let items = self.query_prefix(&keys::connection(id), "").await?;
        let Some(connection) = decode_connection(&items)? else {
            return Ok(None);
        };
        if !delete(&connection) {
            return Ok(None);
        }
        let index_key = keys::connection_ref(id);
        let mut deletes = vec![self.delete(&keys::connection(id), PROFILE, None, &[])?];
        for conversation in &connection.subscriptions {
            deletes.push(self.delete(
                &keys::connection(id),
                &keys::connection_subscription(*conversation),
                None,
                &[],
            )?);
        }
        for partition in index_partitions(&connection) {
            deletes.push(self.delete(&partition, &index_key, None, &[])?);
        }
        // A transaction holds at most 100 items; a socket with more subscriptions than that is
        // deleted in several steps, profile last so a retry still finds the record.
        let mut chunks: Vec<Vec<_>> = Vec::new();
        let profile = deletes.remove(0);
        for chunk in deletes.chunks(99) {
            chunks.push(chunk.to_vec());
        }
        match chunks.last_mut() {
            Some(last) => last.push(profile),
            None => chunks.push(vec![profile]),
        }
        for chunk in chunks {
            match self.transact(chunk).await {
                Ok(()) | Err(TxError::Conditions(_)) => {}
                Err(TxError::DynamoStore(e)) => return Err(e),
            }
        }
        Ok(Some(connection))
    }

    pub(super) async fn live_refs(&self, partition: &str) -> Result<Vec<ListenerRef>, StoreError> {
        let now = crate::clock::now().timestamp();
        let items = self.query_prefix(partition, "CONN#").await?;
        let mut refs = Vec::with_capacity(items.len());
        for item in &items {
            // One unreadable index item must not silence everyone else in the partition.
            match codec::from_item::<ListenerRef>(item) {
                Ok(reference) if reference.expires_at >= now => refs.push(reference),
                Ok(_) => {}
                Err(e) => tracing::warn!(partition, error = %e, "unreadable connection index item skipped"),
            }
        }
        Ok(refs)
    }
}

/// Every index partition a connection appears in.
fn index_partitions(connection: &Connection) -> Vec<String> {
    let mut partitions: Vec<String> = match connection.kind {
        ConnectionKind::Staff => {
            let departments: BTreeSet<Department> = connection.departments.iter().copied().collect();
            departments.into_iter().map(|d| keys::listeners(&connection.hotel_id, d)).collect()
        }
        ConnectionKind::Guest => Vec::new(),
    };
    if let Some(staff) = &connection.staff_id {
        partitions.push(keys::staff_connections(staff));
    }
    if let Some(guest) = connection.guest_id {
        partitions.push(keys::guest_connections(guest));
    }
    partitions.extend(connection.subscriptions.iter().map(|c| keys::subscribers(*c)));
    partitions
}

fn decode_connection(items: &[Item]) -> Result<Option<Connection>, StoreError> {
    let mut connection: Option<Connection> = None;
    let mut subscriptions = Vec::new();
    for item in items {
        match codec::get_s(item, "sk") {
            Some(PROFILE) => connection = Some(codec::from_item(item)?),
            Some(sk) if sk.starts_with("SUB#") => {
                if let Some(id) = codec::get_u64(item, "conversation_id") {
                    subscriptions.push(id);
                }
            }
            _ => {}
        }
    }
    Ok(connection.map(|mut c| {
        c.subscriptions = subscriptions;
        c
    }))
}
