//! The DynamoDB store against the emulator over HTTP: conditional writes, the conversation +
//! first message transaction, idempotency on provider ids (also concurrent), message order and
//! paging both ways, connection indexes, TTL attributes.

use lobbybee::department::Department;
use lobbybee::model::Guest;
use lobbybee::model::{Connection, ConnectionKind, ConversationStatus, ConversationType, MessageType, SenderType};
use lobbybee::store::keys;
use lobbybee::store::{AppendOutcome, Appended, ChatStore, NewMessage, PageDirection, StoreError};
use lobbybee_e2e::fixtures::TestHotel;
use lobbybee_e2e::{run, stack, unique};

fn guest_message(text: &str, pmid: Option<&str>) -> NewMessage {
    NewMessage {
        sender_type: SenderType::Guest,
        sender_id: None,
        sender_name: "Asha Rao".into(),
        message_type: MessageType::Text,
        content: text.into(),
        media_url: None,
        media_filename: None,
        delivery_status: None,
        send_as: lobbybee::model::OutboundKind::Message,
        provider_message_id: pmid.map(str::to_owned),
    }
}

/// A fresh hotel on the shared stack, and its checked-in guest as stored.
async fn setup() -> (&'static lobbybee_e2e::Stack, TestHotel, Guest) {
    let stack = stack().await;
    let hotel = TestHotel::create(stack).await;
    let guest = stack.app.store.get_guest(hotel.guest.id).await.unwrap().unwrap();
    (stack, hotel, guest)
}

/// A guest message to `department` (a new conversation of type `service` when none is active),
/// which must be stored.
async fn say(store: &dyn ChatStore, guest: &Guest, department: Department, text: &str) -> Appended {
    let message = guest_message(text, None);
    stored(
        store
            .add_guest_message(guest, department, ConversationType::Service, message, lobbybee::clock::now())
            .await
            .unwrap(),
    )
}

fn stored(outcome: AppendOutcome) -> lobbybee::store::Appended {
    match outcome {
        AppendOutcome::Stored(a) => *a,
        AppendOutcome::Duplicate(r) => panic!("unexpected duplicate {r:?}"),
    }
}

#[test]
fn first_message_creates_the_conversation_atomically_and_later_ones_join_it() {
    run(async {
        let (stack, _, guest) = setup().await;
        let store = stack.app.store.as_ref();
        let first = say(store, &guest, Department::RoomService, "hello").await;
        assert!(first.created);
        assert_eq!(first.conversation.department, Department::RoomService);
        assert_eq!(first.conversation.unread_count, 1);
        assert_eq!(first.message.id, first.conversation.id * keys::MESSAGE_ID_STRIDE + 1);
        let second = say(store, &guest, Department::RoomService, "again").await;
        assert!(!second.created);
        assert_eq!(second.conversation.id, first.conversation.id);
        assert_eq!(second.message.id, first.message.id + 1);
        let record = store.guest_record(guest.id).await.unwrap().unwrap();
        assert_eq!(record.active_conversation(Department::RoomService), Some(first.conversation.id));
        assert_eq!(record.guest.last_inbound_at, Some(second.message.created_at), "opens the WhatsApp window");
        let conversation = store.get_conversation(first.conversation.id).await.unwrap().unwrap();
        assert_eq!(conversation.msg_seq, 2);
        assert_eq!(conversation.unread_count, 2);
        assert_eq!(conversation.last_message_preview, "again");
    });
}

#[test]
fn concurrent_first_messages_create_one_conversation() {
    run(async {
        let (stack, _, guest) = setup().await;
        let store = stack.app.store.as_ref();
        let now = lobbybee::clock::now();
        let writes = (0..6).map(|i| {
            let guest = guest.clone();
            async move {
                store
                    .add_guest_message(
                        &guest,
                        Department::Cafe,
                        ConversationType::Service,
                        guest_message(&format!("m{i}"), None),
                        now,
                    )
                    .await
            }
        });
        let results: Vec<_> = futures::future::join_all(writes).await.into_iter().map(|r| stored(r.unwrap())).collect();
        let ids: std::collections::BTreeSet<u64> = results.iter().map(|a| a.conversation.id).collect();
        assert_eq!(ids.len(), 1, "one conversation for one guest and department");
        assert_eq!(results.iter().filter(|a| a.created).count(), 1);
        let messages: std::collections::BTreeSet<u64> = results.iter().map(|a| a.message.id).collect();
        assert_eq!(messages.len(), 6, "every message stored once with its own id");
        let page = store.messages(*ids.iter().next().unwrap(), PageDirection::Latest, 50).await.unwrap();
        assert_eq!(page.messages.len(), 6);
    });
}

#[test]
fn provider_ids_are_idempotent_even_concurrently() {
    run(async {
        let (stack, _, guest) = setup().await;
        let store = stack.app.store.as_ref();
        let pmid = format!("wamid.{}", unique());
        let now = lobbybee::clock::now();
        let copies = (0..5).map(|_| {
            let guest = guest.clone();
            let pmid = pmid.clone();
            async move {
                store
                    .add_guest_message(
                        &guest,
                        Department::Reception,
                        ConversationType::Service,
                        guest_message("once", Some(&pmid)),
                        now,
                    )
                    .await
                    .unwrap()
            }
        });
        let outcomes = futures::future::join_all(copies).await;
        let stored_count = outcomes.iter().filter(|o| matches!(o, AppendOutcome::Stored(_))).count();
        assert_eq!(stored_count, 1, "exactly one copy is stored");
        let record = store.provider_message(&pmid).await.unwrap().unwrap();
        for outcome in &outcomes {
            match outcome {
                AppendOutcome::Stored(a) => assert_eq!(a.record(), record),
                AppendOutcome::Duplicate(r) => assert_eq!(*r, record),
            }
        }
        let page = store.messages(record.conversation_id, PageDirection::Latest, 50).await.unwrap();
        assert_eq!(page.messages.len(), 1);
        assert_eq!(page.messages[0].provider_message_id.as_deref(), Some(pmid.as_str()));
    });
}

#[test]
fn messages_page_in_both_directions() {
    run(async {
        let (stack, _, guest) = setup().await;
        let store = stack.app.store.as_ref();
        let mut ids = Vec::new();
        for i in 0..7 {
            let a = say(store, &guest, Department::Housekeeping, &format!("m{i}")).await;
            ids.push(a.message.id);
        }
        let conversation = ids[0] / keys::MESSAGE_ID_STRIDE;
        let contents =
            |page: &lobbybee::store::MessagePage| page.messages.iter().map(|m| m.content.clone()).collect::<Vec<_>>();
        let latest = store.messages(conversation, PageDirection::Latest, 3).await.unwrap();
        assert_eq!(contents(&latest), ["m4", "m5", "m6"]);
        assert!(latest.has_more);
        let before = store.messages(conversation, PageDirection::Before(ids[4]), 3).await.unwrap();
        assert_eq!(contents(&before), ["m1", "m2", "m3"]);
        assert!(before.has_more);
        let oldest = store.messages(conversation, PageDirection::Before(ids[1]), 3).await.unwrap();
        assert_eq!(contents(&oldest), ["m0"]);
        assert!(!oldest.has_more);
        let after = store.messages(conversation, PageDirection::After(ids[2]), 10).await.unwrap();
        assert_eq!(contents(&after), ["m3", "m4", "m5", "m6"]);
        assert!(!after.has_more);
        let none = store.messages(conversation, PageDirection::After(ids[6]), 10).await.unwrap();
        assert!(none.messages.is_empty());
    });
}

#[test]
fn closing_releases_the_lock_and_refuses_new_messages() {
    run(async {
        let (stack, _, guest) = setup().await;
        let store = stack.app.store.as_ref();
        let now = lobbybee::clock::now();
        let first = say(store, &guest, Department::Reception, "a").await;
        let (closed, changed) = store.close_conversation(first.conversation.id, now).await.unwrap();
        assert!(changed);
        assert_eq!(closed.status, ConversationStatus::Closed);
        let (_, again) = store.close_conversation(first.conversation.id, now).await.unwrap();
        assert!(!again, "closing twice changes nothing");
        let staff =
            NewMessage { sender_type: SenderType::Staff, sender_id: Some("1".into()), ..guest_message("late", None) };
        assert!(matches!(
            store.add_message(first.conversation.id, staff, now).await,
            Err(StoreError::ConversationClosed)
        ));
        let next = say(store, &guest, Department::Reception, "b").await;
        assert!(next.created);
        assert_ne!(next.conversation.id, first.conversation.id);
    });
}

#[test]
fn conditional_writes_protect_pointers() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let store = stack.app.store.as_ref();
        let mut other = store.get_guest(hotel.arriving.id).await.unwrap().unwrap();
        other.whatsapp_number = hotel.guest.number.clone();
        let err = store.put_guest(&other).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        let unchanged = store.get_guest(hotel.arriving.id).await.unwrap().unwrap();
        assert_eq!(unchanged.whatsapp_number, hotel.arriving.number, "nothing half-written");
        let found = store.guests_with_number(&hotel.guest.number).await.unwrap();
        assert_eq!(found, vec![(hotel.id.clone(), hotel.guest.id)]);
        let mut stay = store.get_stay(hotel.guest.stay_id).await.unwrap().unwrap();
        stay.guest_id = unique();
        assert!(matches!(store.put_stay(&stay).await, Err(StoreError::NotFound)), "stay of an unknown guest");
    });
}

#[test]
fn connection_records_are_indexed_and_expire() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let store = stack.app.store.as_ref();
        let now = lobbybee::clock::now();
        let staff_conn = Connection {
            connection_id: format!("c{}", unique()),
            kind: ConnectionKind::Staff,
            hotel_id: hotel.id.clone(),
            staff_id: Some(hotel.manager.user_id.clone()),
            guest_id: None,
            user_name: "Maria".into(),
            departments: vec![Department::Reception, Department::RoomService],
            requested: None,
            subscriptions: vec![],
            rights: None,
            connected_at: now,
            expires_at: now.timestamp() + 7200,
        };
        let guest_conn = Connection {
            connection_id: format!("g{}", unique()),
            kind: ConnectionKind::Guest,
            staff_id: None,
            guest_id: Some(hotel.guest.id),
            departments: vec![],
            requested: None,
            ..staff_conn.clone()
        };
        store.put_connection(&staff_conn).await.unwrap();
        store.put_connection(&guest_conn).await.unwrap();
        let ids =
            |refs: Vec<lobbybee::store::ListenerRef>| refs.into_iter().map(|r| r.connection_id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.listeners(&hotel.id, Department::Reception).await.unwrap()),
            vec![staff_conn.connection_id.clone()]
        );
        assert_eq!(
            ids(store.listeners(&hotel.id, Department::RoomService).await.unwrap()),
            vec![staff_conn.connection_id.clone()]
        );
        assert!(store.listeners(&hotel.id, Department::Cafe).await.unwrap().is_empty());
        assert_eq!(ids(store.guest_connections(hotel.guest.id).await.unwrap()), vec![guest_conn.connection_id.clone()]);
        assert_eq!(
            ids(store.staff_connections(&hotel.manager.user_id).await.unwrap()),
            vec![staff_conn.connection_id.clone()]
        );

        // TTL attribute on the profile and the index items.
        let sdk = lobbybee::app::sdk_defaults().load().await;
        let item = aws_sdk_dynamodb::Client::new(&sdk)
            .get_item()
            .table_name(&stack.resources.table_name)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(keys::listeners(&hotel.id, Department::Reception)))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(keys::connection_ref(&staff_conn.connection_id)))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        assert_eq!(item["expires_at"].as_n().unwrap(), &staff_conn.expires_at.to_string());

        let guest = store.get_guest(hotel.guest.id).await.unwrap().unwrap();
        let watched = say(store, &guest, Department::Cafe, "a table for two").await.conversation.id;
        store.subscribe(&staff_conn, watched).await.unwrap();
        assert_eq!(ids(store.subscribers(watched).await.unwrap()), vec![staff_conn.connection_id.clone()]);
        let read = store.get_connection(&staff_conn.connection_id).await.unwrap().unwrap();
        assert_eq!(read.subscriptions, vec![watched]);

        let deleted = store.delete_connection(&staff_conn.connection_id).await.unwrap().unwrap();
        assert_eq!(deleted.departments, staff_conn.departments);
        assert!(store.listeners(&hotel.id, Department::Reception).await.unwrap().is_empty());
        assert!(store.subscribers(watched).await.unwrap().is_empty());
        assert!(store.get_connection(&staff_conn.connection_id).await.unwrap().is_none());
        assert!(store.delete_connection(&staff_conn.connection_id).await.unwrap().is_none());

        // An expired record is invisible even before DynamoDB's TTL sweeper deletes it.
        let stale = Connection {
            connection_id: format!("s{}", unique()),
            expires_at: now.timestamp() - 1,
            ..staff_conn.clone()
        };
        store.put_connection(&stale).await.unwrap();
        assert!(store.get_connection(&stale.connection_id).await.unwrap().is_none());
        assert!(store.listeners(&hotel.id, Department::Reception).await.unwrap().is_empty());
    });
}

#[test]
fn conversation_lists_are_ordered_and_paged() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let store = stack.app.store.as_ref();
        let mut created = Vec::new();
        for guest_id in [hotel.guest.id, hotel.arriving.id, hotel.leaving.id] {
            let guest = store.get_guest(guest_id).await.unwrap().unwrap();
            let a = stored(
                store
                    .add_guest_message(
                        &guest,
                        Department::Reception,
                        guest.new_conversation_type(),
                        guest_message("hi", None),
                        lobbybee::clock::now(),
                    )
                    .await
                    .unwrap(),
            );
            created.push(a.conversation.id);
            tokio::task::yield_now().await;
        }
        let departments = [Department::Reception, Department::Cafe];
        let first =
            store.list_conversations(&hotel.id, &departments, &[ConversationStatus::Active], 2, None).await.unwrap();
        let second = store
            .list_conversations(&hotel.id, &departments, &[ConversationStatus::Active], 2, first.next_cursor.as_deref())
            .await
            .unwrap();
        let mut listed: Vec<u64> = first.conversations.iter().chain(&second.conversations).map(|c| c.id).collect();
        assert_eq!(listed.len(), 3);
        assert!(second.next_cursor.is_none());
        let times: Vec<_> =
            first.conversations.iter().chain(&second.conversations).map(|c| c.last_message_at).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
        listed.sort();
        created.sort();
        assert_eq!(listed, created);
    });
}

#[test]
fn queued_staff_messages_wait_in_the_outbox_until_their_status_moves_on() {
    run(async {
        let (stack, hotel, guest) = setup().await;
        let store = stack.app.store.as_ref();
        let conversation = say(store, &guest, Department::Reception, "hello").await.conversation.id;
        // Hours before anything else this run stores, so the queries below see it alone.
        let at = lobbybee::clock::now() - chrono::Duration::hours(5);
        let question = NewMessage {
            sender_type: SenderType::Staff,
            sender_id: Some(hotel.reception.user_id.clone()),
            delivery_status: Some(lobbybee::model::DeliveryStatus::Queued),
            send_as: lobbybee::model::OutboundKind::ReopenButton,
            ..guest_message("Do you want to continue?", None)
        };
        let id = stored(store.add_message(conversation, question, at).await.unwrap()).message.id;
        let ours = |page: lobbybee::store::OutboxPage| {
            page.entries.into_iter().filter(|e| e.message_id == id).collect::<Vec<_>>()
        };

        assert!(ours(store.overdue_outbox(at, 10).await.unwrap()).is_empty(), "due at `at`, not before");
        let due = ours(store.overdue_outbox(at + chrono::Duration::minutes(1), 10).await.unwrap());
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].conversation_id, &due[0].send_as),
            (conversation, &lobbybee::model::OutboundKind::ReopenButton)
        );

        // Re-armed once: a second sweeper holding the same entry loses.
        assert!(store.rearm_outbox(&due[0], at + chrono::Duration::minutes(30)).await.unwrap());
        assert!(!store.rearm_outbox(&due[0], at + chrono::Duration::minutes(30)).await.unwrap());
        assert!(ours(store.overdue_outbox(at + chrono::Duration::minutes(29), 10).await.unwrap()).is_empty());
        let again = ours(store.overdue_outbox(at + chrono::Duration::minutes(31), 10).await.unwrap());
        assert_eq!(again.len(), 1);

        // Failed (or sent): out of the outbox, and no sweeper can put it back.
        let failed = lobbybee::model::DeliveryStatus::Failed;
        store.set_delivery_status(conversation, id, failed, None, lobbybee::clock::now()).await.unwrap();
        assert!(ours(store.overdue_outbox(lobbybee::clock::now(), 100).await.unwrap()).is_empty());
        assert!(!store.rearm_outbox(&again[0], lobbybee::clock::now()).await.unwrap());
    });
}
