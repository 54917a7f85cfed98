//! Connection cases: the indexes a push audience is read from, subscriptions, relisten,
//! deletion, expiry.

use chrono::Duration;

use super::{Scene, Subject, new_hotel, say, unique};
use crate::department::Department;
use crate::model::{Connection, ConnectionKind, ConversationId};
use crate::store::{ChatStore, ListenerRef, StoreError};

/// A staff socket of a new hotel, listening to Reception and Room Service, connected now for
/// two hours.
fn staff_socket() -> Connection {
    let now = crate::clock::now();
    Connection {
        connection_id: format!("c{}", unique()),
        kind: ConnectionKind::Staff,
        hotel_id: new_hotel().id,
        staff_id: Some(unique().to_string()),
        guest_id: None,
        user_name: "Maria".into(),
        departments: vec![Department::RoomService, Department::Reception, Department::RoomService],
        requested: None,
        subscriptions: vec![],
        rights: None,
        connected_at: now,
        expires_at: now.timestamp() + 7200,
    }
}

/// The connection ids of index entries.
fn ids(refs: Vec<ListenerRef>) -> Vec<String> {
    refs.into_iter().map(|r| r.connection_id).collect()
}

/// A connection is found from each department it listens to, its staff member or guest.
pub async fn connections_are_found_by_department_staff_and_guest(subject: &dyn Subject) {
    let store = subject.store();
    let staff = staff_socket();
    let hotel = staff.hotel_id.clone();
    let member = staff.staff_id.clone().expect("a staff socket");
    let second = Connection { connection_id: format!("d{}", unique()), departments: vec![], ..staff.clone() };
    let guest = Connection {
        connection_id: format!("g{}", unique()),
        kind: ConnectionKind::Guest,
        staff_id: None,
        guest_id: Some(unique()),
        departments: vec![Department::Cafe],
        ..staff.clone()
    };
    for connection in [&staff, &second, &guest] {
        store.put_connection(connection).await.expect("store the connection");
    }
    let listening = store.listeners(&hotel, Department::Reception).await.expect("read");
    assert_eq!(listening, vec![ListenerRef::of(&staff)], "what the entry tells");
    assert_eq!(
        ids(store.listeners(&hotel, Department::RoomService).await.expect("read")),
        [staff.connection_id.as_str()]
    );
    assert_eq!(
        ids(store.listeners(&hotel, Department::Cafe).await.expect("read")),
        Vec::<String>::new(),
        "guests do not listen"
    );
    assert_eq!(ids(store.listeners(&new_hotel().id, Department::Reception).await.expect("read")), Vec::<String>::new());
    let of_member = ids(store.staff_connections(&member).await.expect("read"));
    assert_eq!(of_member, [staff.connection_id.as_str(), second.connection_id.as_str()], "by connection id");
    let of_guest = ids(store.guest_connections(guest.guest_id.unwrap_or_default()).await.expect("read"));
    assert_eq!(of_guest, [guest.connection_id.as_str()]);
    let read = store.get_connection(&staff.connection_id).await.expect("read").expect("stored");
    assert_eq!(read, staff);
    assert_eq!(store.get_connection(&format!("x{}", unique())).await.expect("read"), None);
}

/// A connection id is stored once: a second put is a conflict that changes nothing.
pub async fn a_connection_id_is_stored_once(subject: &dyn Subject) {
    let store = subject.store();
    let first = staff_socket();
    store.put_connection(&first).await.expect("store the connection");
    let clash = Connection { user_name: "Impostor".into(), departments: vec![Department::Cafe], ..first.clone() };
    let refused = store.put_connection(&clash).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(store.get_connection(&first.connection_id).await.expect("read"), Some(first.clone()));
    assert!(store.listeners(&first.hotel_id, Department::Cafe).await.expect("read").is_empty());
}

/// Subscriptions show on the connection (in conversation order) and in the conversation's
/// subscribers until unsubscribed, and mark the conversation `subscribed` for good; an unknown
/// connection cannot subscribe, nor can anyone to an unknown conversation.
pub async fn subscriptions_follow_subscribe_and_unsubscribe(subject: &dyn Subject) {
    let store = subject.store();
    let staff = staff_socket();
    store.put_connection(&staff).await.expect("store the connection");
    let (low, high) = two_conversations(store).await;
    assert!(!store.get_conversation(low).await.expect("read").expect("stored").subscribed);
    store.subscribe(&staff, high).await.expect("subscribe");
    store.subscribe(&staff, low).await.expect("subscribe");
    store.subscribe(&staff, low).await.expect("subscribing twice is fine");
    let read = store.get_connection(&staff.connection_id).await.expect("read").expect("stored");
    assert_eq!(read.subscriptions, vec![low, high]);
    assert_eq!(store.subscribers(low).await.expect("read"), vec![ListenerRef::of(&staff)]);
    store.unsubscribe(&staff.connection_id, low).await.expect("unsubscribe");
    store.unsubscribe(&staff.connection_id, low).await.expect("unsubscribing twice is fine");
    assert!(store.subscribers(low).await.expect("read").is_empty());
    assert_eq!(ids(store.subscribers(high).await.expect("read")), [staff.connection_id.as_str()]);
    let read = store.get_connection(&staff.connection_id).await.expect("read").expect("stored");
    assert_eq!(read.subscriptions, vec![high]);

    assert!(store.get_conversation(low).await.expect("read").expect("stored").subscribed, "for good");

    let unknown = staff_socket();
    let refused = store.subscribe(&unknown, low).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert!(store.subscribers(low).await.expect("read").is_empty(), "nothing half-written");
    let nowhere = high + 1_000_000_000;
    let refused = store.subscribe(&staff, nowhere).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert!(store.subscribers(nowhere).await.expect("read").is_empty(), "nothing half-written");
    assert_eq!(store.get_conversation(nowhere).await.expect("read"), None);
    let read = store.get_connection(&staff.connection_id).await.expect("read").expect("stored");
    assert_eq!(read.subscriptions, vec![high]);
}

/// Two stored conversations (of two guests of a new hotel), lower id first.
async fn two_conversations(store: &dyn ChatStore) -> (ConversationId, ConversationId) {
    let scene = Scene::new(store).await;
    let other = scene.another_guest(store).await;
    let a = say(store, &scene.guest, Department::Reception, "a").await.conversation.id;
    let b = say(store, &other, Department::Reception, "b").await.conversation.id;
    (a.min(b), a.max(b))
}

/// A guest's live sockets come with its record (one read for the guest and who to push to);
/// expired ones do not.
pub async fn a_guest_record_carries_its_live_sockets(subject: &dyn Subject) {
    let store = subject.store();
    let scene = Scene::new(store).await;
    let guest_socket = |prefix: &str, expires_at: i64| Connection {
        connection_id: format!("{prefix}{}", unique()),
        kind: ConnectionKind::Guest,
        hotel_id: scene.hotel.id.clone(),
        staff_id: None,
        guest_id: Some(scene.guest.id),
        departments: vec![],
        expires_at,
        ..staff_socket()
    };
    let live = guest_socket("g", staff_socket().expires_at);
    let expired = guest_socket("h", crate::clock::now().timestamp() - 1);
    for connection in [&live, &expired] {
        store.put_connection(connection).await.expect("store the connection");
    }
    let record = store.guest_record(scene.guest.id).await.expect("read").expect("stored");
    assert_eq!(record.sockets, vec![ListenerRef::of(&live)]);
    assert_eq!((record.guest, record.stays), (scene.guest.clone(), vec![scene.stay.clone()]), "and the rest as before");
    store.delete_connection(&live.connection_id).await.expect("delete");
    assert!(store.guest_record(scene.guest.id).await.expect("read").expect("stored").sockets.is_empty());
}

/// Relisten moves the department entries with the profile, only while the connection exists.
pub async fn relisten_moves_the_department_entries(subject: &dyn Subject) {
    let store = subject.store();
    let staff = staff_socket();
    store.put_connection(&staff).await.expect("store the connection");
    let hotel = &staff.hotel_id;
    store.relisten(&staff, &[Department::Housekeeping, Department::Reception]).await.expect("relisten");
    assert!(store.listeners(hotel, Department::RoomService).await.expect("read").is_empty());
    for department in [Department::Reception, Department::Housekeeping] {
        assert_eq!(ids(store.listeners(hotel, department).await.expect("read")), [staff.connection_id.as_str()]);
    }
    let read = store.get_connection(&staff.connection_id).await.expect("read").expect("stored");
    assert_eq!(read.departments, vec![Department::Reception, Department::Housekeeping], "in department order");

    store.delete_connection(&staff.connection_id).await.expect("delete");
    let gone = store.relisten(&read, &[Department::Cafe]).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    assert!(store.listeners(hotel, Department::Cafe).await.expect("read").is_empty(), "nothing half-written");
    assert_eq!(store.get_connection(&staff.connection_id).await.expect("read"), None);
}

/// Deleting a connection answers what was stored and removes every index entry; a second
/// delete answers `None`.
pub async fn deleting_a_connection_removes_every_entry(subject: &dyn Subject) {
    let store = subject.store();
    let staff = staff_socket();
    let member = staff.staff_id.clone().expect("a staff socket");
    store.put_connection(&staff).await.expect("store the connection");
    let conversation = two_conversations(store).await.0;
    store.subscribe(&staff, conversation).await.expect("subscribe");
    let deleted = store.delete_connection(&staff.connection_id).await.expect("delete").expect("it was stored");
    assert_eq!(deleted, Connection { subscriptions: vec![conversation], ..staff.clone() });
    for department in [Department::Reception, Department::RoomService] {
        assert!(store.listeners(&staff.hotel_id, department).await.expect("read").is_empty());
    }
    assert!(store.staff_connections(&member).await.expect("read").is_empty());
    assert!(store.subscribers(conversation).await.expect("read").is_empty());
    assert_eq!(store.get_connection(&staff.connection_id).await.expect("read"), None);
    assert_eq!(store.delete_connection(&staff.connection_id).await.expect("delete"), None);
    store.put_connection(&staff).await.expect("the id may be stored again");
}

/// A socket "gone" for the Management API while its `$connect` has not returned keeps its fresh
/// record; one connected before the cutoff is deleted.
pub async fn a_gone_connection_younger_than_the_cutoff_is_spared(subject: &dyn Subject) {
    let store = subject.store();
    let staff = staff_socket();
    store.put_connection(&staff).await.expect("store the connection");
    let young = store.delete_gone_connection(&staff.connection_id, staff.connected_at - Duration::seconds(30)).await;
    assert_eq!(young.expect("delete"), None, "connected after the cutoff: spared");
    assert!(store.get_connection(&staff.connection_id).await.expect("read").is_some());
    let old = store.delete_gone_connection(&staff.connection_id, staff.connected_at).await.expect("delete");
    assert_eq!(old.map(|c| c.connection_id), Some(staff.connection_id.clone()));
    assert_eq!(store.get_connection(&staff.connection_id).await.expect("read"), None);
    let twice = store.delete_gone_connection(&staff.connection_id, staff.connected_at).await.expect("delete");
    assert_eq!(twice, None);
}

/// An expired record is invisible to every reader before the TTL deletes it.
pub async fn expired_connections_are_invisible(subject: &dyn Subject) {
    let store = subject.store();
    let stale = Connection { expires_at: crate::clock::now().timestamp() - 1, ..staff_socket() };
    let member = stale.staff_id.clone().expect("a staff socket");
    store.put_connection(&stale).await.expect("store the connection");
    assert_eq!(store.get_connection(&stale.connection_id).await.expect("read"), None);
    assert!(store.listeners(&stale.hotel_id, Department::Reception).await.expect("read").is_empty());
    assert!(store.staff_connections(&member).await.expect("read").is_empty());
    let fresh = Connection { connection_id: format!("f{}", unique()), ..staff_socket() };
    let fresh = Connection { hotel_id: stale.hotel_id.clone(), staff_id: stale.staff_id.clone(), ..fresh };
    store.put_connection(&fresh).await.expect("store the connection");
    assert_eq!(
        ids(store.staff_connections(&member).await.expect("read")),
        [fresh.connection_id.as_str()],
        "only the live one"
    );
    assert_eq!(
        ids(store.listeners(&fresh.hotel_id, Department::Reception).await.expect("read")),
        [fresh.connection_id.as_str()]
    );
}
