//! The store port's conformance suite: behaviour cases written once against a `dyn`
//! [`ChatStore`], run against [`super::MemoryStore`] by this crate's unit tests and against
//! [`super::DynamoStore`] on the emulator by the end-to-end crate (`tests/tests/store_conformance.rs`),
//! so that both implementations answer alike.
//!
//! A case is an `async fn(&dyn Subject)`. Every case makes its own hotel, guests and connections
//! with fresh ids ([`unique`]), so cases may share one store and run in parallel (the DynamoDB
//! run shares one table). [`store_conformance_cases!`](crate::store_conformance_cases) names
//! them all for the runners.
//!
//! Compiled for this crate's tests and with the `conformance` feature (which the end-to-end
//! crate turns on); not part of the functions' build.

pub mod connections;
pub mod conversations;
pub mod directory;
pub mod messages;
pub mod outbound;
pub mod reads;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AppendOutcome, Appended, ChatStore, NewMessage};
use crate::department::Department;
use crate::model::{
    ConversationId, ConversationType, DeliveryStatus, Guest, GuestStatus, Hotel, MessageType, OutboundKind, SenderType,
    Stay, StayStatus,
};

/// What a case runs against: a store, and what only its implementation can do.
#[async_trait]
pub trait Subject: Send + Sync {
    /// The store under test.
    fn store(&self) -> &dyn ChatStore;

    /// Removes a conversation (its own item only: its lock and messages stay), as the message
    /// retention TTL does.
    async fn expire_conversation(&self, id: ConversationId);
}

/// Hands every case, as `module::case`, to the macro named `$runner`, which makes a test of
/// each: the one list both runners use.
#[doc(hidden)]
#[macro_export]
macro_rules! store_conformance_cases {
    ($runner:ident) => {
        $runner! {
            directory::hotels_are_created_then_replaced_and_their_phone_pointer_moves,
            directory::staff_are_created_then_replaced,
            directory::guest_numbers_point_to_one_guest_per_hotel,
            directory::stays_need_their_guest_and_show_in_its_record,
            conversations::first_message_creates_the_conversation_and_later_ones_join_it,
            conversations::concurrent_first_messages_create_one_conversation,
            conversations::open_conversation_finds_the_active_one_or_creates_an_empty_one,
            conversations::a_lock_whose_conversation_vanished_is_released,
            conversations::closing_releases_the_lock_and_refuses_new_messages,
            conversations::transfer_moves_the_conversation_its_lock_and_records_the_note,
            conversations::transfer_to_a_department_with_an_active_conversation_is_refused,
            conversations::assigning_sets_and_clears_the_assignee,
            conversations::conversation_lists_are_newest_first_filtered_and_paged,
            messages::provider_ids_are_idempotent_even_concurrently,
            messages::concurrent_appends_get_increasing_ids,
            messages::messages_page_in_both_directions,
            messages::media_urls_are_set_on_stored_messages_only,
            messages::appends_from_a_stale_read_land_where_a_fresh_read_would,
            messages::the_newest_messages_of_a_page_are_read_together,
            reads::mark_read_flips_each_guest_message_once_and_lowers_the_unread_count,
            reads::participants_keep_their_first_visit_and_last_read,
            outbound::delivery_status_only_moves_forward_and_failed_always_applies,
            outbound::the_send_claim_holds_until_it_expires_or_is_released,
            outbound::queued_messages_wait_in_the_outbox_until_their_status_moves_on,
            connections::connections_are_found_by_department_staff_and_guest,
            connections::a_connection_id_is_stored_once,
            connections::subscriptions_follow_subscribe_and_unsubscribe,
            connections::a_guest_record_carries_its_live_sockets,
            connections::relisten_moves_the_department_entries,
            connections::deleting_a_connection_removes_every_entry,
            connections::a_gone_connection_younger_than_the_cutoff_is_spared,
            connections::expired_connections_are_invisible,
        }
    };
}

/// A number no other call in this process answers (ids, phone numbers), increasing.
pub fn unique() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Millisecond clock modulo ~11.6 days, times a million: below 2^53 and unlikely to meet the
    // ids of an earlier run on the same emulator.
    let base = *BASE.get_or_init(|| (Utc::now().timestamp_millis().unsigned_abs() % 1_000_000_000) * 1_000_000);
    base + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A hotel with a fresh id and WhatsApp phone number id (not stored).
pub fn new_hotel() -> Hotel {
    Hotel {
        id: format!("hotel-{}", uuid::Uuid::new_v4().simple()),
        name: "Conformance Hotel".into(),
        whatsapp_phone_number_id: Some(unique().to_string()),
        departments: Department::ALL.to_vec(),
        timezone: "UTC".into(),
    }
}

/// A hotel with one checked-in guest who has an active stay, all stored.
pub struct Scene {
    /// The hotel.
    pub hotel: Hotel,
    /// Its guest, as stored.
    pub guest: Guest,
    /// The guest's stay.
    pub stay: Stay,
}

impl Scene {
    /// Stores a new hotel and its guest.
    pub async fn new(store: &dyn ChatStore) -> Scene {
        let hotel = new_hotel();
        store.put_hotel(&hotel).await.expect("store the hotel");
        let (guest, stay) = guest_at(store, &hotel).await;
        Scene { hotel, guest, stay }
    }

    /// Stores another checked-in guest (with an active stay) of the hotel.
    pub async fn another_guest(&self, store: &dyn ChatStore) -> Guest {
        guest_at(store, &self.hotel).await.0
    }
}

/// Stores a checked-in guest of `hotel` with a fresh id and number, and an active stay.
async fn guest_at(store: &dyn ChatStore, hotel: &Hotel) -> (Guest, Stay) {
    let id = unique();
    let guest = Guest {
        id,
        hotel_id: hotel.id.clone(),
        whatsapp_number: format!("+1{id}"),
        full_name: "Asha Rao".into(),
        email: "asha@guest.example".into(),
        status: GuestStatus::CheckedIn,
        last_inbound_at: None,
    };
    store.put_guest(&guest).await.expect("store the guest");
    let stay = Stay {
        id: unique(),
        hotel_id: hotel.id.clone(),
        guest_id: id,
        room_number: "204".into(),
        floor: Some(2),
        status: StayStatus::Active,
        check_in_date: Some("2026-11-20".into()),
        check_out_date: Some("2026-11-28".into()),
    };
    store.put_stay(&stay).await.expect("store the stay");
    (guest, stay)
}

/// A guest's text message.
pub fn guest_text(text: &str) -> NewMessage {
    NewMessage {
        sender_type: SenderType::Guest,
        sender_id: None,
        sender_name: "Asha Rao".into(),
        message_type: MessageType::Text,
        content: text.into(),
        media_url: None,
        media_filename: None,
        delivery_status: None,
        send_as: OutboundKind::Message,
        provider_message_id: None,
    }
}

/// A staff reply on its way to WhatsApp (`queued`), going out as `send_as`.
pub fn staff_reply(text: &str, send_as: OutboundKind) -> NewMessage {
    NewMessage {
        sender_type: SenderType::Staff,
        sender_id: Some("7".into()),
        sender_name: "Rita Tester".into(),
        delivery_status: Some(DeliveryStatus::Queued),
        send_as,
        ..guest_text(text)
    }
}

/// The message of an outcome that must have been stored.
pub fn stored(outcome: AppendOutcome) -> Appended {
    match outcome {
        AppendOutcome::Stored(appended) => *appended,
        AppendOutcome::Duplicate(record) => panic!("unexpected duplicate {record:?}"),
    }
}

/// A guest message to `department` at `at` (a new `service` conversation when none is
/// active), which must be stored.
pub async fn say_at(
    store: &dyn ChatStore,
    guest: &Guest,
    department: Department,
    text: &str,
    at: DateTime<Utc>,
) -> Appended {
    let outcome = store.add_guest_message(guest, department, ConversationType::Service, guest_text(text), at).await;
    stored(outcome.expect("add a guest message"))
}

/// [`say_at`] now.
pub async fn say(store: &dyn ChatStore, guest: &Guest, department: Department, text: &str) -> Appended {
    say_at(store, guest, department, text, crate::clock::now()).await
}

/// A message added to an existing conversation now, which must be stored.
pub async fn add(store: &dyn ChatStore, conversation: ConversationId, message: NewMessage) -> Appended {
    stored(store.add_message(conversation, message, crate::clock::now()).await.expect("add a message"))
}
