//! Hotels, staff, guests and stays, with their pointers (WhatsApp phone number id → hotel,
//! number → guest per hotel), kept like `dynamo/directory.rs` keeps its pointer items: a write
//! that a pointer refuses changes nothing.

use async_trait::async_trait;

use super::MemoryStore;
use crate::department::Department;
use crate::model::{ConversationId, Guest, GuestId, Hotel, Staff, Stay, StayId};
use crate::store::{Directory, GuestRecord, StoreError};

#[async_trait]
impl Directory for MemoryStore {
    async fn put_hotel(&self, hotel: &Hotel) -> Result<bool, StoreError> {
        let mut state = self.state();
        let phone = hotel.whatsapp_phone_number_id.as_ref();
        if phone.and_then(|p| state.phone_numbers.get(p)).is_some_and(|owner| *owner != hotel.id) {
            return Err(StoreError::Conflict("whatsapp_phone_number_id already belongs to another hotel".into()));
        }
        let old = state.hotels.insert(hotel.id.clone(), hotel.clone());
        if let Some(old_phone) = old.as_ref().and_then(|h| h.whatsapp_phone_number_id.as_ref())
            && Some(old_phone) != phone
        {
            state.phone_numbers.remove(old_phone);
        }
        if let Some(phone) = phone {
            state.phone_numbers.insert(phone.clone(), hotel.id.clone());
        }
        Ok(old.is_none())
    }

    async fn get_hotel(&self, id: &str) -> Result<Option<Hotel>, StoreError> {
        Ok(self.state().hotels.get(id).cloned())
    }

    async fn hotel_by_phone_number_id(&self, phone_number_id: &str) -> Result<Option<Hotel>, StoreError> {
        let state = self.state();
        Ok(state.phone_numbers.get(phone_number_id).and_then(|id| state.hotels.get(id)).cloned())
    }

    async fn put_staff(&self, staff: &Staff) -> Result<bool, StoreError> {
        Ok(self.state().staff.insert(staff.user_id.clone(), staff.clone()).is_none())
    }

    async fn get_staff(&self, user_id: &str) -> Result<Option<Staff>, StoreError> {
        Ok(self.state().staff.get(user_id).cloned())
    }

    async fn put_guest(&self, guest: &Guest) -> Result<bool, StoreError> {
        let mut state = self.state();
        let owner = state.numbers.get(&guest.whatsapp_number).and_then(|hotels| hotels.get(&guest.hotel_id));
        if owner.is_some_and(|id| *id != guest.id) {
            return Err(StoreError::Conflict("whatsapp_number already belongs to another guest of this hotel".into()));
        }
        let mut guest = guest.clone();
        let old = state.guests.get(&guest.id).cloned();
        if let Some(old) = &old {
            guest.last_inbound_at = guest.last_inbound_at.or(old.last_inbound_at);
            if (old.whatsapp_number != guest.whatsapp_number || old.hotel_id != guest.hotel_id)
                && let Some(hotels) = state.numbers.get_mut(&old.whatsapp_number)
            {
                hotels.remove(&old.hotel_id);
                if hotels.is_empty() {
                    state.numbers.remove(&old.whatsapp_number);
                }
            }
        }
        state.numbers.entry(guest.whatsapp_number.clone()).or_default().insert(guest.hotel_id.clone(), guest.id);
        state.guests.insert(guest.id, guest);
        Ok(old.is_none())
    }

    async fn get_guest(&self, id: GuestId) -> Result<Option<Guest>, StoreError> {
        Ok(self.state().guests.get(&id).cloned())
    }

    async fn guest_record(&self, id: GuestId) -> Result<Option<GuestRecord>, StoreError> {
        let state = self.state();
        let Some(guest) = state.guests.get(&id).cloned() else {
            return Ok(None);
        };
        let stays = state.stays.values().filter(|s| s.guest_id == id).cloned().collect();
        // In the lock items' order: by the department's key.
        let mut active: Vec<(Department, ConversationId)> = Department::ALL
            .iter()
            .filter_map(|d| state.locks.get(&(id, *d)).map(|conversation| (*d, *conversation)))
            .collect();
        active.sort_by_key(|(d, _)| d.key());
        let sockets = state.sockets.of_guest(id);
        Ok(Some(GuestRecord { guest, stays, active, sockets }))
    }

    async fn guests_with_number(&self, canonical: &str) -> Result<Vec<(String, GuestId)>, StoreError> {
        let state = self.state();
        let hotels = state.numbers.get(canonical).into_iter().flatten();
        Ok(hotels.map(|(hotel, guest)| (hotel.clone(), *guest)).collect())
    }

    async fn put_stay(&self, stay: &Stay) -> Result<bool, StoreError> {
        let mut state = self.state();
        if !state.guests.contains_key(&stay.guest_id) {
            return Err(StoreError::NotFound);
        }
        Ok(state.stays.insert(stay.id, stay.clone()).is_none())
    }

    async fn get_stay(&self, id: StayId) -> Result<Option<Stay>, StoreError> {
        Ok(self.state().stays.get(&id).cloned())
    }
}
