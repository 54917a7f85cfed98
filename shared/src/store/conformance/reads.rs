//! Read-state cases: marking guest messages read, and participants.

use chrono::Duration;

use super::{Scene, Subject, add, say, staff_reply, unique};
use crate::department::Department;
use crate::model::{MessageId, OutboundKind};

/// Only unread guest messages are marked (each once, also by concurrent readers), and the
/// conversation's unread count drops by what was marked; marking all moves the conversation's
/// watermark to the newest message looked at.
pub async fn mark_read_flips_each_guest_message_once_and_lowers_the_unread_count(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let mut said: Vec<MessageId> = Vec::new();
    for text in ["one", "two", "three"] {
        said.push(say(store, &guest, Department::Reception, text).await.message.id);
    }
    let id = said[0] / crate::store::keys::MESSAGE_ID_STRIDE;
    let reply = add(store, id, staff_reply("hello", OutboundKind::Message)).await.message.id;
    let current = || async { store.get_conversation(id).await.expect("read").expect("stored") };
    let unread = || async { current().await.unread_count };
    assert_eq!(unread().await, 3);
    let stale = current().await;

    let at = crate::clock::now();
    assert_eq!(store.mark_read(&stale, Some(&[said[0], reply]), at).await.expect("mark"), vec![said[0]]);
    assert_eq!(unread().await, 2);
    let read = store.get_message(id, said[0]).await.expect("read").expect("stored");
    assert_eq!((read.is_read, read.read_at, read.updated_at), (true, Some(at), at));
    assert!(!store.get_message(id, reply).await.expect("read").expect("stored").is_read, "staff messages stay");
    assert!(store.mark_read(&stale, Some(&[said[0]]), at).await.expect("mark").is_empty(), "once only");
    assert_eq!(current().await.read_through, 0, "marking some ids moves no watermark");
    assert_eq!(store.mark_read(&stale, None, at).await.expect("mark"), vec![said[1], said[2]]);
    assert_eq!(unread().await, 0);
    assert_eq!(current().await.read_through, reply, "everything up to the newest message was looked at");
    assert!(store.mark_read(&current().await, None, at).await.expect("mark").is_empty());
    assert!(store.mark_read(&stale, None, at).await.expect("mark").is_empty(), "an old copy looks longer, marks none");

    let more = [
        say(store, &guest, Department::Reception, "four").await,
        say(store, &guest, Department::Reception, "five").await,
    ];
    assert_eq!(unread().await, 2);
    let seen = current().await;
    let (a, b) = futures::join!(store.mark_read(&seen, None, at), store.mark_read(&seen, None, at));
    let mut marked = [a.expect("mark"), b.expect("mark")].concat();
    marked.sort();
    assert_eq!(marked, more.iter().map(|m| m.message.id).collect::<Vec<_>>(), "each marked by one reader");
    assert_eq!(unread().await, 0);
    assert_eq!(current().await.read_through, more[1].message.id);
    let unknown = store.mark_read(&seen, Some(&[said[2] + 100]), at).await.expect("mark");
    assert!(unknown.is_empty(), "an unknown id is not marked");
}

/// A participant keeps the time of its first visit; a visit that reads sets the last read time.
pub async fn participants_keep_their_first_visit_and_last_read(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let id = say(store, &guest, Department::Reception, "hello").await.conversation.id;
    assert!(store.participants(id).await.expect("read").is_empty());
    let n = unique();
    let (first, second) = (format!("a{n}"), format!("b{n}"));
    let t1 = crate::clock::now();
    let t2 = t1 + Duration::seconds(30);
    store.touch_participant(id, &second, false, t1).await.expect("touch");
    store.touch_participant(id, &first, true, t1).await.expect("touch");
    store.touch_participant(id, &second, true, t2).await.expect("touch");
    store.touch_participant(id, &first, false, t2).await.expect("touch");
    let seen: Vec<_> = store
        .participants(id)
        .await
        .expect("read")
        .into_iter()
        .map(|p| (p.conversation_id, p.staff_id, p.is_active, p.joined_at, p.last_read_at))
        .collect();
    assert_eq!(seen, vec![(id, first, true, t1, Some(t1)), (id, second, true, t1, Some(t2))], "by staff id");
}
