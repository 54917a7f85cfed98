//! Socket connection records (`dynamo/connections.rs`): a profile, one marker per subscribed
//! conversation, and an index entry in every index the connection must be found from (the
//! departments it listens to, its staff member or guest, the conversations it subscribed to).
//!
//! The three are kept apart as DynamoDB keeps its items apart: an index entry carries what its
//! writer knew ([`ListenerRef`], with the expiry), deleting a connection removes the entries its
//! stored profile and markers lead to, and readers skip entries and profiles whose expiry has
//! passed (nothing here deletes them, as DynamoDB's TTL deletes lazily).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::department::Department;
use crate::model::{Connection, ConnectionKind, ConversationId, GuestId, StaffId};
use crate::store::{Connections, ListenerRef, StoreError};

/// The indexes a connection is found from (DynamoDB's `LISTEN#`, `STAFFCONN#`, `GUESTCONN#` and
/// `SUBS#` partitions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Index {
    /// Sockets listening to a department of a hotel.
    Listeners(String, Department),
    /// Sockets of a staff member.
    Staff(StaffId),
    /// Sockets of a guest.
    Guest(GuestId),
    /// Sockets subscribed to a conversation.
    Subscribers(ConversationId),
}

/// Every connection item.
#[derive(Debug, Default)]
pub(super) struct Sockets {
    /// Profiles by connection id (their `subscriptions` are in `subscriptions`).
    profiles: HashMap<String, Connection>,
    /// Subscription markers by connection id.
    subscriptions: HashMap<String, BTreeSet<ConversationId>>,
    /// Index entries by index, then connection id (the order readers answer in).
    index: HashMap<Index, BTreeMap<String, ListenerRef>>,
}

impl Sockets {
    /// A stored connection with its subscriptions, expired or not.
    fn read(&self, id: &str) -> Option<Connection> {
        let mut connection = self.profiles.get(id)?.clone();
        connection.subscriptions = self.subscriptions.get(id).into_iter().flatten().copied().collect();
        Some(connection)
    }

    /// Adds `connection`'s entry to one index.
    fn enter(&mut self, index: Index, connection: &Connection) {
        self.index.entry(index).or_default().insert(connection.connection_id.clone(), ListenerRef::of(connection));
    }

    /// Removes a connection's entry from one index.
    fn leave(&mut self, index: &Index, id: &str) {
        if let Some(entries) = self.index.get_mut(index) {
            entries.remove(id);
            if entries.is_empty() {
                self.index.remove(index);
            }
        }
    }

    /// Deletes a stored connection and what it leads to, if `delete` says so.
    fn delete_if(&mut self, id: &str, delete: impl Fn(&Connection) -> bool) -> Option<Connection> {
        let connection = self.read(id).filter(|c| delete(c))?;
        self.profiles.remove(id);
        self.subscriptions.remove(id);
        for index in indexes(&connection) {
            self.leave(&index, id);
        }
        Some(connection)
    }

    /// The unexpired entries of an index.
    /// The live sockets of a guest (read with the guest record, as DynamoDB's partition holds them).
    pub(super) fn of_guest(&self, guest: GuestId) -> Vec<ListenerRef> {
        self.live(&Index::Guest(guest))
    }

    fn live(&self, index: &Index) -> Vec<ListenerRef> {
        let now = crate::clock::now().timestamp();
        let entries = self.index.get(index).into_iter().flat_map(BTreeMap::values);
        entries.filter(|entry| entry.expires_at >= now).cloned().collect()
    }
}

/// Every index a connection appears in.
fn indexes(connection: &Connection) -> Vec<Index> {
    let listening: BTreeSet<Department> = match connection.kind {
        ConnectionKind::Staff => connection.departments.iter().copied().collect(),
        ConnectionKind::Guest => BTreeSet::new(),
    };
    let hotel = &connection.hotel_id;
    let mut indexes: Vec<Index> = listening.into_iter().map(|d| Index::Listeners(hotel.clone(), d)).collect();
    indexes.extend(connection.staff_id.clone().map(Index::Staff));
    indexes.extend(connection.guest_id.map(Index::Guest));
    indexes.extend(connection.subscriptions.iter().copied().map(Index::Subscribers));
    indexes
}

#[async_trait]
impl Connections for MemoryStore {
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        let mut state = self.state();
        let sockets = &mut state.sockets;
        if sockets.profiles.contains_key(&connection.connection_id) {
            return Err(StoreError::Conflict("connection id already stored".into()));
        }
        let profile = Connection { subscriptions: Vec::new(), ..connection.clone() };
        sockets.profiles.insert(connection.connection_id.clone(), profile);
        for index in indexes(connection) {
            sockets.enter(index, connection);
        }
        Ok(())
    }

    async fn get_connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        let now = crate::clock::now().timestamp();
        Ok(self.state().sockets.read(id).filter(|c| c.expires_at >= now))
    }

    async fn delete_connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        Ok(self.state().sockets.delete_if(id, |_| true))
    }

    async fn delete_gone_connection(
        &self,
        id: &str,
        connected_after: DateTime<Utc>,
    ) -> Result<Option<Connection>, StoreError> {
        Ok(self.state().sockets.delete_if(id, |c| c.connected_at <= connected_after))
    }

    async fn listeners(&self, hotel_id: &str, department: Department) -> Result<Vec<ListenerRef>, StoreError> {
        Ok(self.state().sockets.live(&Index::Listeners(hotel_id.to_owned(), department)))
    }

    async fn guest_connections(&self, guest_id: GuestId) -> Result<Vec<ListenerRef>, StoreError> {
        Ok(self.state().sockets.live(&Index::Guest(guest_id)))
    }

    async fn staff_connections(&self, user_id: &str) -> Result<Vec<ListenerRef>, StoreError> {
        Ok(self.state().sockets.live(&Index::Staff(user_id.to_owned())))
    }

    async fn subscribers(&self, conversation: ConversationId) -> Result<Vec<ListenerRef>, StoreError> {
        Ok(self.state().sockets.live(&Index::Subscribers(conversation)))
    }

    async fn relisten(&self, connection: &Connection, departments: &[Department]) -> Result<(), StoreError> {
        let mut state = self.state();
        let sockets = &mut state.sockets;
        if !sockets.profiles.contains_key(&connection.connection_id) {
            return Err(StoreError::NotFound);
        }
        // As DynamoDB does: the profile becomes the caller's connection with the new
        // departments, and only the entries of departments that changed are written.
        let before: BTreeSet<Department> = connection.departments.iter().copied().collect();
        let after: BTreeSet<Department> = departments.iter().copied().collect();
        let updated = Connection { departments: after.iter().copied().collect(), ..connection.clone() };
        let id = &connection.connection_id;
        sockets.profiles.insert(id.clone(), Connection { subscriptions: Vec::new(), ..updated.clone() });
        for gone in before.difference(&after) {
            sockets.leave(&Index::Listeners(connection.hotel_id.clone(), *gone), id);
        }
        for added in after.difference(&before) {
            sockets.enter(Index::Listeners(connection.hotel_id.clone(), *added), &updated);
        }
        Ok(())
    }

    async fn subscribe(&self, connection: &Connection, conversation: ConversationId) -> Result<(), StoreError> {
        let mut state = self.state();
        let id = &connection.connection_id;
        if !state.sockets.profiles.contains_key(id) {
            return Err(StoreError::NotFound);
        }
        let Some(subscribed) = state.conversations.get_mut(&conversation) else {
            return Err(StoreError::NotFound);
        };
        subscribed.subscribed = true;
        let sockets = &mut state.sockets;
        sockets.subscriptions.entry(id.clone()).or_default().insert(conversation);
        sockets.enter(Index::Subscribers(conversation), connection);
        Ok(())
    }

    async fn unsubscribe(&self, connection_id: &str, conversation: ConversationId) -> Result<(), StoreError> {
        let mut state = self.state();
        let sockets = &mut state.sockets;
        if let Some(subscribed) = sockets.subscriptions.get_mut(connection_id) {
            subscribed.remove(&conversation);
            if subscribed.is_empty() {
                sockets.subscriptions.remove(connection_id);
            }
        }
        sockets.leave(&Index::Subscribers(conversation), connection_id);
        Ok(())
    }
}
