//! Which conversation a staff member may act on: decided at action time from the stored
//! conversation and the caller's current rights (docs/api.md §2).

use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::model::{Conversation, ConversationId, ConversationStatus, GuestId};
use crate::store::GuestRecord;

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
