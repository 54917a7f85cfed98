//! Message cases: idempotency on provider ids, ids under concurrent appends, history pages,
//! media links.

use std::collections::BTreeSet;

use super::{Scene, Subject, add, guest_text, say, staff_reply, stored, unique};
use crate::department::Department;
use crate::model::{ConversationType, MessageType, OutboundKind};
use crate::store::keys::MESSAGE_ID_STRIDE;
use crate::store::{AppendOutcome, MessagePage, NewMessage, PageDirection, StoreError};

/// A provider message id is stored once, however many copies arrive (also at once, and also
/// through `add_message`); a repeat answers the first write's record and writes nothing. Ids
/// remembered for outbound messages count too.
pub async fn provider_ids_are_idempotent_even_concurrently(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let pmid = format!("wamid.{}", unique());
    let now = crate::clock::now();
    let copies = (0..5).map(|_| {
        let message = NewMessage { provider_message_id: Some(pmid.clone()), ..guest_text("once") };
        store.add_guest_message(&guest, Department::Reception, ConversationType::Service, message, now)
    });
    let outcomes: Vec<AppendOutcome> =
        futures::future::join_all(copies).await.into_iter().map(|o| o.expect("add a guest message")).collect();
    let stored_count = outcomes.iter().filter(|o| matches!(o, AppendOutcome::Stored(_))).count();
    assert_eq!(stored_count, 1, "exactly one copy is stored");
    let record = store.provider_message(&pmid).await.expect("read").expect("recorded");
    assert!(record.conversation_created);
    assert_eq!((record.department, record.conversation_type), (Department::Reception, ConversationType::Service));
    for outcome in &outcomes {
        match outcome {
            AppendOutcome::Stored(a) => assert_eq!(a.record(), record),
            AppendOutcome::Duplicate(r) => assert_eq!(*r, record),
        }
    }
    let conversation = record.conversation_id;
    let again = NewMessage { provider_message_id: Some(pmid.clone()), ..guest_text("once more") };
    let repeat = store.add_message(conversation, again, crate::clock::now()).await.expect("add a message");
    assert_eq!(repeat, AppendOutcome::Duplicate(record.clone()), "add_message answers the first record too");
    let page = store.messages(conversation, PageDirection::Latest, 50).await.expect("read");
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].provider_message_id.as_deref(), Some(pmid.as_str()));
    let current = store.get_conversation(conversation).await.expect("read").expect("stored");
    assert_eq!((current.msg_seq, current.unread_count), (1, 1), "a repeat writes nothing");

    let reply = add(store, conversation, staff_reply("on it", OutboundKind::Message)).await;
    let outbound = format!("wamid.{}", unique());
    store.remember_outbound(&outbound, &reply.record()).await.expect("remember");
    assert_eq!(store.provider_message(&outbound).await.expect("read"), Some(reply.record()));
    let echo = NewMessage { provider_message_id: Some(outbound), ..guest_text("echo") };
    let echoed = store.add_guest_message(&guest, Department::Reception, ConversationType::Service, echo, now).await;
    assert_eq!(echoed.expect("add a guest message"), AppendOutcome::Duplicate(reply.record()));
    assert_eq!(store.provider_message(&format!("wamid.{}", unique())).await.expect("read"), None);
}

/// Twenty messages added to one conversation at once are all stored, with the ids that follow
/// the first message's, one each.
pub async fn concurrent_appends_get_increasing_ids(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let first = say(store, &guest, Department::Reception, "album:").await;
    let id = first.conversation.id;
    let now = crate::clock::now();
    let writes = (0..20).map(|i| {
        let photo = NewMessage {
            message_type: MessageType::Image,
            media_url: Some(format!("https://media.example/{i}.jpg")),
            ..guest_text(&format!("photo {i}"))
        };
        store.add_message(id, photo, now)
    });
    let appended: Vec<_> =
        futures::future::join_all(writes).await.into_iter().map(|o| super::stored(o.expect("add a message"))).collect();
    for a in &appended {
        assert_eq!(a.message.id, id * MESSAGE_ID_STRIDE + a.conversation.msg_seq, "id from the sequence");
    }
    let ids: BTreeSet<u64> = appended.iter().map(|a| a.message.id).collect();
    let expected: BTreeSet<u64> = (first.message.id + 1..=first.message.id + 20).collect();
    assert_eq!(ids, expected, "twenty ids, none lost, none twice");
    let page = store.messages(id, PageDirection::Latest, 50).await.expect("read");
    assert_eq!(page.messages.len(), 21);
    assert!(page.messages.windows(2).all(|w| w[0].id < w[1].id), "oldest first, ids increasing");
    let conversation = store.get_conversation(id).await.expect("read").expect("stored");
    assert_eq!((conversation.msg_seq, conversation.unread_count), (21, 21));
}

fn contents(page: &MessagePage) -> Vec<&str> {
    page.messages.iter().map(|m| m.content.as_str()).collect()
}

/// History pages oldest first: the latest, before an id, after an id; `has_more` tells whether
/// more exist in the direction read.
pub async fn messages_page_in_both_directions(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(say(store, &guest, Department::Housekeeping, &format!("m{i}")).await.message.id);
    }
    let conversation = ids[0] / MESSAGE_ID_STRIDE;
    let page = |direction, limit| async move { store.messages(conversation, direction, limit).await.expect("read") };
    let latest = page(PageDirection::Latest, 3).await;
    assert_eq!((contents(&latest), latest.has_more), (vec!["m4", "m5", "m6"], true));
    let before = page(PageDirection::Before(ids[4]), 3).await;
    assert_eq!((contents(&before), before.has_more), (vec!["m1", "m2", "m3"], true));
    let oldest = page(PageDirection::Before(ids[1]), 3).await;
    assert_eq!((contents(&oldest), oldest.has_more), (vec!["m0"], false));
    let after = page(PageDirection::After(ids[2]), 10).await;
    assert_eq!((contents(&after), after.has_more), (vec!["m3", "m4", "m5", "m6"], false));
    let next = page(PageDirection::After(ids[0]), 2).await;
    assert_eq!((contents(&next), next.has_more), (vec!["m1", "m2"], true));
    let none = page(PageDirection::After(ids[6]), 10).await;
    assert_eq!((none.messages.len(), none.has_more), (0, false));
    let all = page(PageDirection::Latest, 7).await;
    assert_eq!((all.messages.len(), all.has_more), (7, false), "exactly the page: nothing more");
    let one = page(PageDirection::Latest, 0).await;
    assert_eq!((contents(&one), one.has_more), (vec!["m6"], true), "a limit below one reads one");

    let last = store.last_message(conversation).await.expect("read").expect("a message");
    assert_eq!((last.id, last.content.as_str()), (ids[6], "m6"));
    let third = store.get_message(conversation, ids[3]).await.expect("read").expect("stored");
    assert_eq!(third, before.messages[2]);
    assert_eq!(store.get_message(conversation, ids[6] + 1).await.expect("read"), None);
    let empty = conversation + 1_000_000_000;
    assert!(store.messages(empty, PageDirection::Latest, 10).await.expect("read").messages.is_empty());
    assert_eq!(store.last_message(empty).await.expect("read"), None);
}

/// A media link is set on a stored message (and read back); an unknown message is not found.
pub async fn media_urls_are_set_on_stored_messages_only(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let photo = NewMessage { message_type: MessageType::Image, media_filename: Some("a.jpg".into()), ..guest_text("") };
    let now = crate::clock::now();
    let outcome = store.add_guest_message(&guest, Department::Reception, ConversationType::Service, photo, now).await;
    let first = super::stored(outcome.expect("add a guest message"));
    assert_eq!(first.conversation.last_message_preview, "a.jpg", "an empty caption previews the file name");
    let at = now + chrono::Duration::seconds(3);
    let url = "https://media.example/a.jpg";
    let set = store.set_media_url(first.conversation.id, first.message.id, url, at).await.expect("set");
    assert_eq!((set.media_url.as_deref(), set.updated_at, set.created_at), (Some(url), at, now));
    assert_eq!(store.get_message(first.conversation.id, first.message.id).await.expect("read"), Some(set));
    let missing = store.set_media_url(first.conversation.id, first.message.id + 1, url, at).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

/// Appends that start from what the caller read earlier (`append_to` a conversation,
/// `add_guest_message_from` a guest record) land where a fresh read would send them when that
/// read went stale: after other messages, at the next id; after a close, refused (`append_to`)
/// or in a new conversation (the guest's). A repeated provider id stays a duplicate.
pub async fn appends_from_a_stale_read_land_where_a_fresh_read_would(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let first = say(store, &guest, Department::Reception, "hello").await;
    let stale_record = store.guest_record(guest.id).await.expect("read").expect("stored");
    let stale = first.conversation.clone();
    let second = add(store, stale.id, staff_reply("hi", OutboundKind::Message)).await;

    let now = crate::clock::now();
    let third = stored(store.append_to(&stale, guest_text("from a stale read"), now).await.expect("append"));
    assert_eq!(third.message.id, second.message.id + 1, "the id after the newest, not after the stale one");
    assert_eq!((third.conversation.msg_seq, third.conversation.unread_count), (3, 2));
    let fourth = store
        .add_guest_message_from(&stale_record, Department::Reception, ConversationType::Service, guest_text("+"), now)
        .await
        .expect("append");
    let fourth = stored(fourth);
    assert_eq!((fourth.conversation.id, fourth.message.id, fourth.created), (stale.id, third.message.id + 1, false));

    let pmid = format!("wamid.{}", unique());
    let once = NewMessage { provider_message_id: Some(pmid.clone()), ..guest_text("once") };
    let kept = stored(store.append_to(&stale, once.clone(), now).await.expect("append"));
    let again = store.append_to(&stale, once.clone(), now).await.expect("append");
    assert_eq!(again, AppendOutcome::Duplicate(kept.record()));
    let again = store
        .add_guest_message_from(&stale_record, Department::Reception, ConversationType::Service, once, now)
        .await
        .expect("append");
    assert_eq!(again, AppendOutcome::Duplicate(kept.record()));

    store.close_conversation(stale.id, now).await.expect("close");
    let refused = store.append_to(&stale, guest_text("late"), now).await;
    assert!(matches!(refused, Err(StoreError::ConversationClosed)), "{refused:?}");
    let reopened = store
        .add_guest_message_from(&stale_record, Department::Reception, ConversationType::Service, guest_text("b"), now)
        .await
        .expect("append");
    let reopened = stored(reopened);
    assert!(reopened.created, "the stale record named a closed conversation: a new one is opened");
    assert_ne!(reopened.conversation.id, stale.id);
    let fresh_record = store.guest_record(guest.id).await.expect("read").expect("stored");
    let later = store
        .add_guest_message_from(&stale_record, Department::Reception, ConversationType::Service, guest_text("c"), now)
        .await
        .expect("append");
    assert_eq!(stored(later).conversation.id, reopened.conversation.id, "and the next one joins it");
    assert_eq!(fresh_record.active, vec![(Department::Reception, reopened.conversation.id)]);
}

/// The newest message of each conversation of a list page, found by its `msg_seq`; a
/// conversation without messages has none.
pub async fn the_newest_messages_of_a_page_are_read_together(subject: &dyn Subject) {
    let store = subject.store();
    let scene = Scene::new(store).await;
    let other = scene.another_guest(store).await;
    let first = say(store, &scene.guest, Department::Reception, "one").await;
    let newest = add(store, first.conversation.id, staff_reply("two", OutboundKind::Message)).await;
    let second = say(store, &other, Department::Cafe, "three").await;
    let (empty, _) = store
        .open_conversation(&other, Department::Housekeeping, ConversationType::Service, crate::clock::now())
        .await
        .expect("open");
    let page = [newest.conversation.clone(), empty, second.conversation.clone()];
    let mut found = store.newest_messages(&page).await.expect("read");
    found.sort_by_key(|m| m.id);
    let mut expected = vec![newest.message, second.message];
    expected.sort_by_key(|m| m.id);
    assert_eq!(found, expected);
    assert!(store.newest_messages(&[]).await.expect("read").is_empty());
}
