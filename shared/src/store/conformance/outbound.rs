//! Outbound cases: delivery status, the sender's claim, the outbox.

use chrono::{DateTime, Duration, Utc};

use super::{Scene, Subject, add, say, staff_reply};
use crate::department::Department;
use crate::model::{ConversationId, DeliveryStatus, MessageId, OutboundKind};
use crate::store::{ChatStore, NewMessage, OutboxEntry};

/// A conversation with one `queued` staff reply: `(conversation, reply)`.
async fn queued_reply(store: &dyn ChatStore) -> (ConversationId, MessageId) {
    let Scene { guest, .. } = Scene::new(store).await;
    let conversation = say(store, &guest, Department::Reception, "hello").await.conversation.id;
    (conversation, add(store, conversation, staff_reply("hi!", OutboundKind::Message)).await.message.id)
}

/// A status moves only forward (sent, delivered, read); `failed` applies from any other
/// status; what does not apply answers `None` and changes nothing.
pub async fn delivery_status_only_moves_forward_and_failed_always_applies(subject: &dyn Subject) {
    use DeliveryStatus::{Delivered, Failed, Queued, Read, Sent};
    let store = subject.store();
    let (conversation, id) = queued_reply(store).await;
    let t = crate::clock::now();
    let set = |status, provider: Option<&'static str>, at| async move {
        let changed = store.set_delivery_status(conversation, id, status, provider, at).await.expect("set");
        changed.map(|m| (m.delivery_status, m.provider_message_id, m.is_read, m.read_at, m.updated_at))
    };
    let wamid = Some("wamid.sent".to_owned());
    assert_eq!(set(Sent, Some("wamid.sent"), t).await, Some((Some(Sent), wamid.clone(), false, None, t)));
    assert_eq!(set(Queued, None, t).await, None, "never backwards");
    assert_eq!(set(Sent, None, t).await, None, "nor to the same status");
    let t2 = t + Duration::seconds(2);
    assert_eq!(set(Delivered, None, t2).await, Some((Some(Delivered), wamid.clone(), false, None, t2)));
    let t3 = t + Duration::seconds(3);
    assert_eq!(set(Read, None, t3).await, Some((Some(Read), wamid.clone(), true, Some(t3), t3)));
    assert_eq!(set(Delivered, None, t3).await, None, "a late delivery receipt");
    let t4 = t + Duration::seconds(4);
    assert_eq!(set(Failed, None, t4).await, Some((Some(Failed), wamid.clone(), true, Some(t3), t4)));
    assert_eq!(set(Failed, None, t4).await, None);
    assert_eq!(set(Read, None, t4).await, None);
    let stored = store.get_message(conversation, id).await.expect("read").expect("stored");
    assert_eq!((stored.delivery_status, stored.updated_at), (Some(Failed), t4));

    let second = add(store, conversation, staff_reply("again", OutboundKind::Message)).await.message.id;
    let failed = store.set_delivery_status(conversation, second, Failed, None, t).await.expect("set");
    assert_eq!(failed.map(|m| m.delivery_status), Some(Some(Failed)), "failed applies from queued");
    let missing = store.set_delivery_status(conversation, second + 1, Sent, None, t).await.expect("set");
    assert_eq!(missing, None, "an unknown message");
}

/// A claim on a `queued` message holds until it expires or is released; a message that is no
/// longer queued cannot be claimed.
pub async fn the_send_claim_holds_until_it_expires_or_is_released(subject: &dyn Subject) {
    let store = subject.store();
    let (conversation, id) = queued_reply(store).await;
    let now = crate::clock::now();
    let until = now + Duration::seconds(60);
    let claim = |until, now| async move { store.claim_for_sending(conversation, id, until, now).await.expect("claim") };
    assert!(claim(until, now).await, "the first sender");
    assert!(!claim(until, now + Duration::seconds(1)).await, "held by the first");
    assert!(!claim(until, until).await, "held until its last millisecond");
    let later = until + Duration::milliseconds(1);
    assert!(claim(later + Duration::seconds(60), later).await, "an expired claim is taken again");
    store.release_send_claim(conversation, id).await.expect("release");
    assert!(claim(until, now).await, "a released claim is free");
    store.set_delivery_status(conversation, id, DeliveryStatus::Sent, None, now).await.expect("set");
    store.release_send_claim(conversation, id).await.expect("release");
    assert!(!claim(until, now).await, "sent: nothing to claim");
    let missing = store.claim_for_sending(conversation, id + 1, until, now).await.expect("claim");
    assert!(!missing, "an unknown message");
    store.release_send_claim(conversation, id + 1).await.expect("releasing nothing is fine");
}

/// `queued` messages enter the outbox at their creation time, are read oldest first once due,
/// are re-armed only while still queued at the same position, and leave with any later status.
pub async fn queued_messages_wait_in_the_outbox_until_their_status_moves_on(subject: &dyn Subject) {
    let store = subject.store();
    let Scene { guest, .. } = Scene::new(store).await;
    let conversation = say(store, &guest, Department::Reception, "hello").await.conversation.id;
    // Decades before anything else a run stores, so the outbox reads below see these alone.
    let at = DateTime::<Utc>::from_timestamp(978_307_200, 0).unwrap_or_default() // 2001-01-01
        + Duration::seconds(i64::try_from(super::unique() % 1_000_000).unwrap_or_default());
    let minute = Duration::minutes(1);
    let mut ids = Vec::new();
    for (i, send_as) in
        [OutboundKind::ReopenButton, OutboundKind::Message, OutboundKind::ReopenTemplate].iter().enumerate()
    {
        let message = staff_reply(&format!("q{i}"), send_as.clone());
        let when = at + minute * i32::try_from(i).unwrap_or_default();
        ids.push(super::stored(store.add_message(conversation, message, when).await.expect("add")).message.id);
    }
    let plain = NewMessage { delivery_status: None, ..staff_reply("not queued", OutboundKind::Message) };
    store.add_message(conversation, plain, at).await.expect("add");
    let overdue = |cutoff: DateTime<Utc>, limit| async move {
        let page = store.overdue_outbox(cutoff, limit).await.expect("read the outbox");
        let ours: Vec<OutboxEntry> = page.entries.into_iter().filter(|e| e.conversation_id == conversation).collect();
        (ours, page.more)
    };
    let messages = |entries: &[OutboxEntry]| entries.iter().map(|e| e.message_id).collect::<Vec<_>>();

    assert!(overdue(at, 10).await.0.is_empty(), "due at its time, not before");
    let (due, more) = overdue(at + minute * 10, 10).await;
    assert_eq!((messages(&due), more), (ids.clone(), false), "oldest first");
    let kinds: Vec<_> = due.iter().map(|e| e.send_as.clone()).collect();
    assert_eq!(kinds, [OutboundKind::ReopenButton, OutboundKind::Message, OutboundKind::ReopenTemplate]);
    let (page, more) = overdue(at + minute * 10, 2).await;
    assert_eq!((messages(&page), more), (ids[..2].to_vec(), true), "a page, and more");
    let (page, more) = overdue(at + minute * 10, 3).await;
    assert_eq!((messages(&page), more), (ids.clone(), true), "stopped at the limit: maybe more");

    assert!(store.rearm_outbox(&due[0], at + minute * 30).await.expect("re-arm"));
    assert!(!store.rearm_outbox(&due[0], at + minute * 30).await.expect("re-arm"), "a second sweeper loses");
    assert_eq!(messages(&overdue(at + minute * 10, 10).await.0), ids[1..].to_vec());
    let again = overdue(at + minute * 31, 10).await.0;
    assert_eq!(messages(&again), vec![ids[1], ids[2], ids[0]], "by the new due time");

    store.set_delivery_status(conversation, ids[1], DeliveryStatus::Sent, None, at).await.expect("set");
    store.set_delivery_status(conversation, ids[0], DeliveryStatus::Failed, None, at).await.expect("set");
    assert_eq!(messages(&overdue(crate::clock::now(), 1000).await.0), vec![ids[2]]);
    assert!(!store.rearm_outbox(&again[2], crate::clock::now()).await.expect("re-arm"), "failed: stays out");
    assert!(!store.rearm_outbox(&again[0], crate::clock::now()).await.expect("re-arm"), "sent: stays out");
    assert!(store.rearm_outbox(&again[1], at + minute * 40).await.expect("re-arm"), "still queued");
    let missing = OutboxEntry { message_id: ids[2] + 100, ..again[1].clone() };
    assert!(!store.rearm_outbox(&missing, at).await.expect("re-arm"), "an unknown message");
}
