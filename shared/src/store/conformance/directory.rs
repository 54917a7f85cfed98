//! Directory cases: create-or-replace answers, and the pointers that move with a hotel's phone
//! number id and a guest's number.

use super::{Scene, Subject, new_hotel, unique};
use crate::department::Department;
use crate::model::{Staff, Stay, UserType};
use crate::store::{ChatStore, StoreError};

/// The id of the hotel a phone number id routes to.
async fn routed(store: &dyn ChatStore, phone_number_id: &str) -> Option<String> {
    let hotel = store.hotel_by_phone_number_id(phone_number_id).await.expect("read the pointer");
    hotel.map(|h| h.id)
}

/// `put_hotel` answers whether it created; the phone-number pointer follows the hotel's
/// number, and a number another hotel holds is a conflict that writes nothing.
pub async fn hotels_are_created_then_replaced_and_their_phone_pointer_moves(subject: &dyn Subject) {
    let store = subject.store();
    let mut hotel = new_hotel();
    let first = hotel.whatsapp_phone_number_id.clone().expect("a phone number id");
    assert!(store.put_hotel(&hotel).await.expect("create"), "created");
    assert_eq!(store.get_hotel(&hotel.id).await.expect("read"), Some(hotel.clone()));
    assert_eq!(routed(store, &first).await, Some(hotel.id.clone()));

    hotel.name = "Renamed".into();
    assert!(!store.put_hotel(&hotel).await.expect("replace"), "replaced, not created");
    assert_eq!(store.get_hotel(&hotel.id).await.expect("read").map(|h| h.name), Some("Renamed".into()));

    let second = unique().to_string();
    hotel.whatsapp_phone_number_id = Some(second.clone());
    assert!(!store.put_hotel(&hotel).await.expect("move the number"));
    assert_eq!(routed(store, &first).await, None, "the old pointer is gone");
    assert_eq!(routed(store, &second).await, Some(hotel.id.clone()));

    let mut other = new_hotel();
    other.whatsapp_phone_number_id = Some(second.clone());
    let taken = store.put_hotel(&other).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(store.get_hotel(&other.id).await.expect("read"), None, "nothing half-written");
    other.whatsapp_phone_number_id = Some(first.clone());
    assert!(store.put_hotel(&other).await.expect("take the number the first hotel left"));
    assert_eq!(routed(store, &first).await, Some(other.id.clone()));

    hotel.whatsapp_phone_number_id = None;
    assert!(!store.put_hotel(&hotel).await.expect("drop the number"));
    assert_eq!(routed(store, &second).await, None);
    assert_eq!(store.get_hotel("hotel-never-stored").await.expect("read"), None);
}

/// `put_staff` answers whether it created; a replace is read back whole.
pub async fn staff_are_created_then_replaced(subject: &dyn Subject) {
    let store = subject.store();
    let mut staff = Staff {
        user_id: unique().to_string(),
        hotel_id: new_hotel().id,
        user_type: UserType::Receptionist,
        departments: vec![Department::Reception],
        first_name: "Rita".into(),
        last_name: "Tester".into(),
        username: "rita".into(),
        is_active: true,
    };
    assert!(store.put_staff(&staff).await.expect("create"));
    assert_eq!(store.get_staff(&staff.user_id).await.expect("read"), Some(staff.clone()));
    staff.is_active = false;
    staff.user_type = UserType::Other("other_staff".into());
    assert!(!store.put_staff(&staff).await.expect("replace"));
    assert_eq!(store.get_staff(&staff.user_id).await.expect("read"), Some(staff));
    assert_eq!(store.get_staff(&unique().to_string()).await.expect("read"), None);
}

/// A number points to one guest per hotel (several hotels may share it); a replace keeps the
/// last inbound time and moves the pointer with the number; a number another guest of the same
/// hotel holds is a conflict that writes nothing.
pub async fn guest_numbers_point_to_one_guest_per_hotel(subject: &dyn Subject) {
    let store = subject.store();
    let scene = Scene::new(store).await;
    let (hotel, guest) = (&scene.hotel, &scene.guest);
    let number = guest.whatsapp_number.clone();
    let found = |n: String| async move { store.guests_with_number(&n).await.expect("read the pointers") };
    assert_eq!(found(number.clone()).await, vec![(hotel.id.clone(), guest.id)]);

    let elsewhere = new_hotel();
    store.put_hotel(&elsewhere).await.expect("store another hotel");
    let twin = crate::model::Guest { id: unique(), hotel_id: elsewhere.id.clone(), ..guest.clone() };
    assert!(store.put_guest(&twin).await.expect("the same number at another hotel"));
    let mut both = vec![(hotel.id.clone(), guest.id), (elsewhere.id.clone(), twin.id)];
    both.sort();
    assert_eq!(found(number.clone()).await, both, "one per hotel, in hotel order");

    let rival = scene.another_guest(store).await;
    let taking = crate::model::Guest { whatsapp_number: number.clone(), ..rival.clone() };
    let refused = store.put_guest(&taking).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(store.get_guest(rival.id).await.expect("read"), Some(rival.clone()), "nothing half-written");

    let at = crate::clock::now();
    let mut moved = crate::model::Guest { last_inbound_at: Some(at), ..guest.clone() };
    assert!(!store.put_guest(&moved).await.expect("replace"));
    moved.last_inbound_at = None;
    moved.whatsapp_number = format!("+44{}", unique());
    moved.full_name = "Asha R.".into();
    assert!(!store.put_guest(&moved).await.expect("move the number"));
    let read = store.get_guest(guest.id).await.expect("read").expect("stored");
    assert_eq!(read, crate::model::Guest { last_inbound_at: Some(at), ..moved.clone() }, "last inbound time kept");
    assert_eq!(found(number.clone()).await, vec![(elsewhere.id.clone(), twin.id)]);
    assert_eq!(found(moved.whatsapp_number.clone()).await, vec![(hotel.id.clone(), guest.id)]);

    assert!(!store.put_guest(&taking).await.expect("the number is free at this hotel now"));
    let mut now_both = vec![(hotel.id.clone(), rival.id), (elsewhere.id.clone(), twin.id)];
    now_both.sort();
    assert_eq!(found(number).await, now_both);
    assert!(found(rival.whatsapp_number.clone()).await.is_empty(), "the rival's old pointer is gone");
}

/// A stay needs its guest; the guest record lists the guest's stays in id order (a stay moved
/// to another guest moves with it), and no active conversation before the first message.
pub async fn stays_need_their_guest_and_show_in_its_record(subject: &dyn Subject) {
    let store = subject.store();
    let scene = Scene::new(store).await;
    let orphan = Stay { id: unique(), guest_id: unique(), ..scene.stay.clone() };
    assert!(matches!(store.put_stay(&orphan).await, Err(StoreError::NotFound)), "stay of an unknown guest");
    assert_eq!(store.get_stay(orphan.id).await.expect("read"), None, "nothing half-written");

    let later = Stay { id: unique(), check_in_date: Some("2026-12-01".into()), ..scene.stay.clone() };
    assert!(store.put_stay(&later).await.expect("create"));
    assert!(!store.put_stay(&later).await.expect("replace"));
    assert_eq!(store.get_stay(later.id).await.expect("read"), Some(later.clone()));
    let record = store.guest_record(scene.guest.id).await.expect("read").expect("stored");
    assert_eq!(record.guest, scene.guest);
    assert_eq!(record.stays, vec![scene.stay.clone(), later.clone()]);
    assert_eq!(record.active_stay(), Some(&later), "the newest check-in");
    assert!(record.active.is_empty());

    let other = scene.another_guest(store).await;
    let moved = Stay { guest_id: other.id, ..later.clone() };
    assert!(!store.put_stay(&moved).await.expect("move the stay"));
    let record = store.guest_record(scene.guest.id).await.expect("read").expect("stored");
    assert_eq!(record.stays, vec![scene.stay.clone()]);
    let record = store.guest_record(other.id).await.expect("read").expect("stored");
    assert!(record.stays.contains(&moved), "{:?}", record.stays);
    assert!(record.stays.windows(2).all(|w| w[0].id < w[1].id), "in id order");
    assert_eq!(store.guest_record(unique()).await.expect("read"), None);
}
