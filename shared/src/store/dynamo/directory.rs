//! Hotels, staff, guests and stays: what the hotel CRM provisions.
//!
//! Writes are "create or replace" (docs/api.md §4) and keep their pointer items (number → guest,
//! WhatsApp phone number id → hotel, stay id → stay) in the same transaction as the entity.

use async_trait::async_trait;

use super::codec::{self, Keys};
use super::keys::{self, PROFILE};
use super::{DynamoStore, TxError};
use crate::department::Department;
use crate::model::Guest;
use crate::model::{GuestId, Hotel, Staff, Stay, StayId};
use crate::store::StoreError;
use crate::store::{Directory, GuestRecord};

#[async_trait]
impl Directory for DynamoStore {
    async fn put_hotel(&self, hotel: &Hotel) -> Result<bool, StoreError> {
        let old: Option<Hotel> = self.get_entity(&keys::hotel(&hotel.id), PROFILE).await?;
        let mut tx = vec![self.put(codec::to_item(hotel, Keys::new(keys::hotel(&hotel.id), PROFILE))?, None, &[])?];
        let old_phone = old.as_ref().and_then(|h| h.whatsapp_phone_number_id.clone());
        if old_phone != hotel.whatsapp_phone_number_id
            && let Some(old_phone) = old_phone
        {
            tx.push(self.delete(&keys::hotel_phone(&old_phone), PROFILE, None, &[])?);
        }
        if let Some(phone) = &hotel.whatsapp_phone_number_id {
            // The pointer carries a copy of the hotel, rewritten with it in this transaction: a
            // Meta webhook finds its hotel in one read.
            let mut pointer = codec::to_item(hotel, Keys::new(keys::hotel_phone(phone), PROFILE))?;
            pointer.insert("hotel_id".into(), codec::s(&hotel.id));
            tx.push(self.put(
                pointer,
                Some("attribute_not_exists(pk) OR hotel_id = :id"),
                &[(":id", codec::s(&hotel.id))],
            )?);
        }
        match self.transact(tx).await {
            Ok(()) => Ok(old.is_none()),
            Err(TxError::Conditions(failed)) if !failed.is_empty() => {
                Err(StoreError::Conflict("whatsapp_phone_number_id already belongs to another hotel".into()))
            }
            Err(TxError::Conditions(_)) => Err(StoreError::Contention),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    async fn get_hotel(&self, id: &str) -> Result<Option<Hotel>, StoreError> {
        self.get_entity(&keys::hotel(id), PROFILE).await
    }

    async fn hotel_by_phone_number_id(&self, phone_number_id: &str) -> Result<Option<Hotel>, StoreError> {
        let Some(pointer) = self.get(&keys::hotel_phone(phone_number_id), PROFILE).await? else {
            return Ok(None);
        };
        if pointer.contains_key("name") {
            return codec::from_item(&pointer).map(Some);
        }
        // A pointer written before it carried the hotel.
        match codec::get_s(&pointer, "hotel_id") {
            Some(id) => self.get_hotel(id).await,
            None => Ok(None),
        }
    }

    async fn put_staff(&self, staff: &Staff) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(codec::to_item(staff, Keys::new(keys::staff(&staff.user_id), PROFILE))?))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await?;
        Ok(out.attributes.is_none_or(|a| a.is_empty()))
    }

    async fn get_staff(&self, user_id: &str) -> Result<Option<Staff>, StoreError> {
        self.get_entity(&keys::staff(user_id), PROFILE).await
    }

    async fn put_guest(&self, guest: &Guest) -> Result<bool, StoreError> {
        let old: Option<Guest> = self.get_entity(&keys::guest(guest.id), PROFILE).await?;
        let mut guest = guest.clone();
        if let Some(old) = &old {
            guest.last_inbound_at = guest.last_inbound_at.or(old.last_inbound_at);
        }
        let mut tx = vec![self.put(codec::to_item(&guest, Keys::new(keys::guest(guest.id), PROFILE))?, None, &[])?];
        if let Some(old) = &old
            && (old.whatsapp_number != guest.whatsapp_number || old.hotel_id != guest.hotel_id)
        {
            tx.push(self.delete(&keys::number(&old.whatsapp_number), &keys::number_hotel(&old.hotel_id), None, &[])?);
        }
        let pointer = codec::to_item(
            &serde_json::json!({ "guest_id": guest.id, "hotel_id": guest.hotel_id }),
            Keys::new(keys::number(&guest.whatsapp_number), keys::number_hotel(&guest.hotel_id)),
        )?;
        tx.push(self.put(
            pointer,
            Some("attribute_not_exists(pk) OR guest_id = :id"),
            &[(":id", codec::n(guest.id))],
        )?);
        match self.transact(tx).await {
            Ok(()) => Ok(old.is_none()),
            Err(TxError::Conditions(failed)) if !failed.is_empty() => {
                Err(StoreError::Conflict("whatsapp_number already belongs to another guest of this hotel".into()))
            }
            Err(TxError::Conditions(_)) => Err(StoreError::Contention),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    async fn get_guest(&self, id: GuestId) -> Result<Option<Guest>, StoreError> {
        self.get_entity(&keys::guest(id), PROFILE).await
    }

    async fn guest_record(&self, id: GuestId) -> Result<Option<GuestRecord>, StoreError> {
        let items = self.query_prefix(&keys::guest(id), "").await?;
        let mut guest = None;
        let mut stays = Vec::new();
        let mut active = Vec::new();
        let mut sockets = Vec::new();
        let now = crate::clock::now().timestamp();
        for item in &items {
            let sk = codec::get_s(item, "sk").unwrap_or_default();
            if sk == PROFILE {
                guest = Some(codec::from_item::<Guest>(item)?);
            } else if sk.starts_with("STAY#") {
                stays.push(codec::from_item::<Stay>(item)?);
            } else if sk.starts_with("ACTIVE#") {
                let department = codec::get_s(item, "department").and_then(|d| Department::parse(d).ok());
                let conversation = codec::get_u64(item, "conversation_id");
                if let (Some(d), Some(c)) = (department, conversation) {
                    active.push((d, c));
                }
            } else if sk.starts_with("CONN#") {
                // As `live_refs` reads them: expired or unreadable entries are left out.
                match codec::from_item::<crate::store::ListenerRef>(item) {
                    Ok(socket) if socket.expires_at >= now => sockets.push(socket),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(guest = id, error = %e, "unreadable guest socket entry skipped"),
                }
            }
        }
        Ok(guest.map(|guest| GuestRecord { guest, stays, active, sockets }))
    }

    async fn guests_with_number(&self, canonical: &str) -> Result<Vec<(String, GuestId)>, StoreError> {
        let items = self.query_prefix(&keys::number(canonical), "HOTEL#").await?;
        Ok(items
            .iter()
            .filter_map(|i| Some((codec::get_s(i, "hotel_id")?.to_owned(), codec::get_u64(i, "guest_id")?)))
            .collect())
    }

    async fn put_stay(&self, stay: &Stay) -> Result<bool, StoreError> {
        let old: Option<Stay> = self.get_entity(&keys::stay(stay.id), PROFILE).await?;
        let mut tx = vec![
            self.put(codec::to_item(stay, Keys::new(keys::stay(stay.id), PROFILE))?, None, &[])?,
            self.put(
                codec::to_item(stay, Keys::new(keys::guest(stay.guest_id), keys::guest_stay(stay.id)))?,
                None,
                &[],
            )?,
        ];
        if let Some(old) = &old
            && old.guest_id != stay.guest_id
        {
            tx.push(self.delete(&keys::guest(old.guest_id), &keys::guest_stay(old.id), None, &[])?);
        }
        tx.push(self.exists(&keys::guest(stay.guest_id), PROFILE)?);
        match self.transact(tx).await {
            Ok(()) => Ok(old.is_none()),
            Err(TxError::Conditions(failed)) if !failed.is_empty() => Err(StoreError::NotFound),
            Err(TxError::Conditions(_)) => Err(StoreError::Contention),
            Err(TxError::DynamoStore(e)) => Err(e),
        }
    }

    async fn get_stay(&self, id: StayId) -> Result<Option<Stay>, StoreError> {
        self.get_entity(&keys::stay(id), PROFILE).await
    }
}
