//! Conversation cases: the first message and the active-conversation lock, opening, closing,
//! transferring, assigning, and the lists.

use std::collections::BTreeSet;

use chrono::Duration;

use super::{Scene, Subject, guest_text, say, say_at};
use crate::department::Department;
use crate::model::{ConversationStatus, ConversationType, SenderType};
use crate::store::keys::MESSAGE_ID_STRIDE;
use crate::store::{NewMessage, StoreError, TransferError};

/// The first guest message creates the conversation with its lock, and the next ones join it.
pub async fn first_message_creates_the_conversation_and_later_ones_join_it(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let first = say(store, &guest, Department::RoomService, "hello").await;
    assert!(first.created);
    assert_eq!(first.conversation.department, Department::RoomService);
    assert_eq!(first.conversation.conversation_type, ConversationType::Service);
    assert_eq!(first.conversation.unread_count, 1);
    assert_eq!(first.message.id, first.conversation.id * MESSAGE_ID_STRIDE + 1);
    let second = say(store, &guest, Department::RoomService, "again").await;
    assert!(!second.created);
    assert_eq!(second.conversation.id, first.conversation.id);
    assert_eq!(second.message.id, first.message.id + 1);
    let record = store.guest_record(guest.id).await.expect("read").expect("stored");
    assert_eq!(record.active, vec![(Department::RoomService, first.conversation.id)]);
    assert_eq!(record.guest.last_inbound_at, Some(second.message.created_at), "opens the WhatsApp window");
    let conversation = store.get_conversation(first.conversation.id).await.expect("read").expect("stored");
    assert_eq!(conversation, second.conversation, "the answer is what was stored");
    assert_eq!((conversation.msg_seq, conversation.unread_count), (2, 2));
    assert_eq!(conversation.last_message_preview, "again");
    let other = say(store, &guest, Department::Cafe, "coffee?").await;
    assert!(other.created, "one conversation per department");
    assert_ne!(other.conversation.id, first.conversation.id);
}

/// Concurrent first messages of one guest and department create one conversation.
pub async fn concurrent_first_messages_create_one_conversation(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let now = crate::clock::now();
    let writes = (0..6).map(|i| {
        let message = guest_text(&format!("m{i}"));
        store.add_guest_message(&guest, Department::Cafe, ConversationType::Service, message, now)
    });
    let results: Vec<_> = futures::future::join_all(writes)
        .await
        .into_iter()
        .map(|r| super::stored(r.expect("add a guest message")))
        .collect();
    let ids: BTreeSet<u64> = results.iter().map(|a| a.conversation.id).collect();
    assert_eq!(ids.len(), 1, "one conversation for one guest and department");
    assert_eq!(results.iter().filter(|a| a.created).count(), 1);
    let messages: BTreeSet<u64> = results.iter().map(|a| a.message.id).collect();
    assert_eq!(messages.len(), 6, "every message stored once with its own id");
    let conversation = ids.first().copied().expect("one id");
    let page = store.messages(conversation, crate::store::PageDirection::Latest, 50).await.expect("read");
    assert_eq!(page.messages.len(), 6);
}

/// `open_conversation` answers the active conversation, or creates an empty one with the lock.
pub async fn open_conversation_finds_the_active_one_or_creates_an_empty_one(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let now = crate::clock::now();
    let (opened, created) =
        store.open_conversation(&guest, Department::Housekeeping, ConversationType::Checkin, now).await.expect("open");
    assert!(created);
    assert_eq!((opened.msg_seq, opened.unread_count, opened.last_message_preview.as_str()), (0, 0, ""));
    assert_eq!((opened.status, opened.conversation_type), (ConversationStatus::Active, ConversationType::Checkin));
    assert_eq!((opened.last_message_at, opened.created_at), (now, now));
    assert_eq!(store.get_conversation(opened.id).await.expect("read"), Some(opened.clone()));
    let later = now + Duration::seconds(5);
    let (again, created) = store
        .open_conversation(&guest, Department::Housekeeping, ConversationType::Service, later)
        .await
        .expect("open");
    assert!(!created);
    assert_eq!(again, opened, "the active one, unchanged");
    let joined = say(store, &guest, Department::Housekeeping, "towels please").await;
    assert!(!joined.created);
    assert_eq!(joined.message.id, opened.id * MESSAGE_ID_STRIDE + 1);
    let page = store.messages(opened.id, crate::store::PageDirection::Latest, 10).await.expect("read");
    assert_eq!(page.messages.len(), 1);
}

/// A lock whose conversation is gone (the retention TTL removes conversations, not locks) is
/// released by the next message or open, which create a new conversation.
pub async fn a_lock_whose_conversation_vanished_is_released(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let gone = say(store, &guest, Department::Reception, "hello").await.conversation.id;
    subject.expire_conversation(gone).await;
    let record = store.guest_record(guest.id).await.expect("read").expect("stored");
    assert_eq!(record.active_conversation(Department::Reception), Some(gone), "the lock outlives it");
    let next = say(store, &guest, Department::Reception, "anyone?").await;
    assert!(next.created);
    assert_ne!(next.conversation.id, gone);
    let record = store.guest_record(guest.id).await.expect("read").expect("stored");
    assert_eq!(record.active, vec![(Department::Reception, next.conversation.id)]);

    subject.expire_conversation(next.conversation.id).await;
    let now = crate::clock::now();
    let (opened, created) =
        store.open_conversation(&guest, Department::Reception, ConversationType::Service, now).await.expect("open");
    assert!(created);
    assert!(![gone, next.conversation.id].contains(&opened.id));
    let record = store.guest_record(guest.id).await.expect("read").expect("stored");
    assert_eq!(record.active, vec![(Department::Reception, opened.id)]);
}

/// Closing releases the lock (the next guest message opens a new conversation) and refuses
/// new messages; closing twice changes nothing; unknown conversations are not found.
pub async fn closing_releases_the_lock_and_refuses_new_messages(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let now = crate::clock::now();
    let first = say(store, &guest, Department::Reception, "a").await;
    let (closed, changed) = store.close_conversation(first.conversation.id, now).await.expect("close");
    assert!(changed);
    assert_eq!((closed.status, closed.updated_at), (ConversationStatus::Closed, now));
    assert_eq!(store.get_conversation(closed.id).await.expect("read"), Some(closed.clone()));
    let (again, changed) = store.close_conversation(first.conversation.id, now).await.expect("close again");
    assert!(!changed, "closing twice changes nothing");
    assert_eq!(again, closed);
    assert!(store.guest_record(guest.id).await.expect("read").expect("stored").active.is_empty());
    let staff = NewMessage { sender_type: SenderType::Staff, sender_id: Some("1".into()), ..guest_text("late") };
    let refused = store.add_message(first.conversation.id, staff.clone(), now).await;
    assert!(matches!(refused, Err(StoreError::ConversationClosed)), "{refused:?}");
    let refused = store.add_message(first.conversation.id, guest_text("late"), now).await;
    assert!(matches!(refused, Err(StoreError::ConversationClosed)), "{refused:?}");
    let next = say(store, &guest, Department::Reception, "b").await;
    assert!(next.created);
    assert_ne!(next.conversation.id, first.conversation.id);

    let unknown = next.conversation.id + 1_000_000_000;
    assert!(matches!(store.close_conversation(unknown, now).await, Err(StoreError::NotFound)));
    assert!(matches!(store.add_message(unknown, staff, now).await, Err(StoreError::NotFound)));
    assert!(matches!(store.add_message(unknown, guest_text("?"), now).await, Err(StoreError::NotFound)));
}

/// A transfer changes the department, moves the lock and records its note as the next message.
pub async fn transfer_moves_the_conversation_its_lock_and_records_the_note(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let first = say(store, &guest, Department::Reception, "my shower is broken").await;
    let id = first.conversation.id;
    let now = crate::clock::now() + Duration::seconds(1);
    let moved = store
        .transfer_conversation(id, Department::Housekeeping, NewMessage::system("Transferred"), now)
        .await
        .expect("transfer");
    assert!(!moved.created);
    assert_eq!(moved.conversation.department, Department::Housekeeping);
    assert_eq!((moved.conversation.msg_seq, moved.conversation.unread_count), (2, 1));
    assert_eq!(
        (moved.conversation.last_message_at, moved.conversation.last_message_preview.as_str()),
        (now, "Transferred")
    );
    assert_eq!(moved.message.id, id * MESSAGE_ID_STRIDE + 2);
    assert_eq!((moved.message.sender_type, moved.message.content.as_str()), (SenderType::System, "Transferred"));
    assert_eq!(store.get_conversation(id).await.expect("read"), Some(moved.conversation.clone()));
    assert_eq!(store.last_message(id).await.expect("read"), Some(moved.message.clone()));
    let record = store.guest_record(guest.id).await.expect("read").expect("stored");
    assert_eq!(record.active, vec![(Department::Housekeeping, id)]);
    assert_eq!(say(store, &guest, Department::Housekeeping, "thanks").await.conversation.id, id);
    assert!(say(store, &guest, Department::Reception, "one more thing").await.created, "Reception is free");

    let (closed, _) = store.close_conversation(id, now).await.expect("close");
    let refused = store.transfer_conversation(closed.id, Department::Cafe, NewMessage::system("x"), now).await;
    assert!(matches!(refused, Err(TransferError::Store(StoreError::ConversationClosed))), "{refused:?}");
    let unknown = store.transfer_conversation(id + 1_000_000_000, Department::Cafe, NewMessage::system("x"), now).await;
    assert!(matches!(unknown, Err(TransferError::Store(StoreError::NotFound))), "{unknown:?}");
}

/// A transfer to a department where the guest already has an active conversation is refused
/// with that conversation's id, and changes nothing.
pub async fn transfer_to_a_department_with_an_active_conversation_is_refused(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let reception = say(store, &guest, Department::Reception, "hello").await;
    let cafe = say(store, &guest, Department::Cafe, "a table for two").await;
    let now = crate::clock::now();
    let busy = store
        .transfer_conversation(reception.conversation.id, Department::Cafe, NewMessage::system("Transferred"), now)
        .await;
    assert!(matches!(busy, Err(TransferError::TargetBusy(other)) if other == cafe.conversation.id), "{busy:?}");
    let unchanged = store.get_conversation(reception.conversation.id).await.expect("read");
    assert_eq!(unchanged, Some(reception.conversation.clone()));
    assert_eq!(store.last_message(reception.conversation.id).await.expect("read"), Some(reception.message));
    let record = store.guest_record(guest.id).await.expect("read").expect("stored");
    assert_eq!(record.active_conversation(Department::Reception), Some(reception.conversation.id));
    assert_eq!(record.active_conversation(Department::Cafe), Some(cafe.conversation.id));
}

/// Assigning sets or clears the assignee (also on a closed conversation).
pub async fn assigning_sets_and_clears_the_assignee(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let id = say(store, &guest, Department::Reception, "hello").await.conversation.id;
    let at = crate::clock::now() + Duration::seconds(1);
    let assigned = store.assign_conversation(id, Some("42"), at).await.expect("assign");
    assert_eq!((assigned.assigned_to.as_deref(), assigned.updated_at), (Some("42"), at));
    assert_eq!(store.get_conversation(id).await.expect("read"), Some(assigned));
    store.close_conversation(id, at).await.expect("close");
    let cleared = store.assign_conversation(id, None, at + Duration::seconds(1)).await.expect("clear");
    assert_eq!((cleared.assigned_to, cleared.status), (None, ConversationStatus::Closed));
    let unknown = store.assign_conversation(id + 1_000_000_000, Some("42"), at).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

/// Lists merge departments and statuses, newest activity first, and page with a cursor.
pub async fn conversation_lists_are_newest_first_filtered_and_paged(subject: &dyn Subject) {
    let store = subject.store();
    let scene = Scene::new(store).await;
    let (early, late) = (scene.guest.clone(), scene.another_guest(store).await);
    let middle = scene.another_guest(store).await;
    let t0 = crate::clock::now() - Duration::minutes(10);
    let a = say_at(store, &early, Department::Reception, "a", t0).await.conversation.id;
    let b = say_at(store, &middle, Department::Cafe, "b", t0 + Duration::seconds(1)).await.conversation.id;
    let c = say_at(store, &late, Department::Reception, "c", t0 + Duration::seconds(2)).await.conversation.id;
    let hotel = scene.hotel.id.as_str();
    let list = |departments: &'static [Department],
                statuses: &'static [ConversationStatus],
                limit,
                cursor: Option<String>| async move {
        let page =
            store.list_conversations(hotel, departments, statuses, limit, cursor.as_deref()).await.expect("list");
        (page.conversations.iter().map(|c| c.id).collect::<Vec<_>>(), page.next_cursor)
    };
    const BOTH: &[Department] = &[Department::Reception, Department::Cafe];
    const ACTIVE: &[ConversationStatus] = &[ConversationStatus::Active];
    const CLOSED: &[ConversationStatus] = &[ConversationStatus::Closed];
    const ANY: &[ConversationStatus] = &[ConversationStatus::Active, ConversationStatus::Closed];

    let (first, cursor) = list(BOTH, ACTIVE, 2, None).await;
    assert_eq!(first, vec![c, b]);
    assert!(cursor.is_some(), "a next page");
    let (second, end) = list(BOTH, ACTIVE, 2, cursor).await;
    assert_eq!((second, end), (vec![a], None));
    assert_eq!(list(BOTH, ACTIVE, 3, None).await, (vec![c, b, a], None), "a full page without a next one");
    assert_eq!(list(&[Department::Reception], ACTIVE, 10, None).await, (vec![c, a], None));
    assert_eq!(list(&[Department::Housekeeping], ANY, 10, None).await, (Vec::new(), None));

    say_at(store, &early, Department::Reception, "a again", t0 + Duration::seconds(3)).await;
    assert_eq!(list(BOTH, ACTIVE, 10, None).await.0, vec![a, c, b], "a new message moves it first");
    store.close_conversation(c, t0 + Duration::seconds(4)).await.expect("close");
    assert_eq!(list(BOTH, ACTIVE, 10, None).await.0, vec![a, b]);
    assert_eq!(list(BOTH, CLOSED, 10, None).await.0, vec![c]);
    assert_eq!(list(BOTH, ANY, 10, None).await.0, vec![a, c, b]);
    let other = store.list_conversations("hotel-never-stored", BOTH, ANY, 10, None).await.expect("list");
    assert!(other.conversations.is_empty() && other.next_cursor.is_none());
}
