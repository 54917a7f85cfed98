//! Which conversation a staff member may act on: decided at action time from the stored
//! conversation and the caller's current rights (docs/api.md §2); which guest a number names.

use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::model::{Conversation, ConversationId, ConversationStatus, GuestId, Stay};
use crate::store::{GuestRecord, StoreError};

use super::*;

/// Reads a conversation of the caller's hotel that the caller may act on now: other hotels' ids
/// are "not found", other departments "access denied". A socket's subscription never grants
/// access: it only widens what the socket hears while the access lasts.
pub async fn conversation_for(
    app: &App,
    principal: &StaffPrincipal,
    id: ConversationId,
) -> Result<Conversation, ChatError> {
    let conversation = app.store.get_conversation(id).await?.ok_or(ChatError::NotFound)?;
    if conversation.hotel_id != principal.hotel.id {
        return Err(ChatError::NotFound);
    }
    if !principal.may_act_on(conversation.department) {
        return Err(ChatError::AccessDenied);
    }
    Ok(conversation)
}

/// An active conversation the caller may act on.
pub(super) async fn open_conversation_for(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
) -> Result<Conversation, ChatError> {
    let conversation = conversation_for(app, principal, conversation_id).await?;
    if conversation.status != ConversationStatus::Active {
        return Err(ChatError::Closed);
    }
    Ok(conversation)
}

/// The guest of a conversation with their active stay.
pub async fn guest_record(app: &App, guest: GuestId) -> Result<GuestRecord, ChatError> {
    app.store.guest_record(guest).await?.ok_or_else(|| ChatError::Internal(format!("guest {guest} missing")))
}

/// What a number names among the stack's guests (webhooks and guest sockets find their guest by
/// number; one guest may have stayed at several hotels of a group).
#[derive(Debug, Clone)]
pub enum GuestLookup {
    /// No guest has the number.
    Unknown,
    /// Guests have it, none with an active stay (at the hotel asked for).
    NotStaying,
    /// The guest with an active stay whose stay began last (ties: the newer stay).
    Staying(Box<GuestRecord>),
}

/// Finds the guest with this canonical number who is staying now: at `hotel_id` when given,
/// otherwise at whichever hotel their newest active stay is.
pub async fn guest_staying(app: &App, number: &str, hotel_id: Option<&str>) -> Result<GuestLookup, StoreError> {
    let candidates = app.store.guests_with_number(number).await?;
    if candidates.is_empty() {
        return Ok(GuestLookup::Unknown);
    }
    let mut best: Option<(GuestRecord, Stay)> = None;
    for (hotel, guest_id) in candidates {
        if hotel_id.is_some_and(|wanted| wanted != hotel) {
            continue;
        }
        let Some(record) = app.store.guest_record(guest_id).await? else {
            continue;
        };
        let Some(stay) = record.active_stay().cloned() else {
            continue;
        };
        let newer = best.as_ref().is_none_or(|(_, b)| (&stay.check_in_date, stay.id) > (&b.check_in_date, b.id));
        if newer {
            best = Some((record, stay));
        }
    }
    Ok(best.map_or(GuestLookup::NotStaying, |(record, _)| GuestLookup::Staying(Box::new(record))))
}
