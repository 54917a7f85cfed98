//! Opening, transferring and assigning conversations (closing is in [`super::actions`]).

use super::*;
use crate::auth::StaffPrincipal;
use crate::department::Department;
use crate::frames::ConversationUpdate;
use crate::model::{Conversation, ConversationId, ConversationStatus};
use crate::phone::WhatsAppNumber;
use crate::store::{NewMessage, TransferError};

/// Staff open a conversation with a guest of their hotel who has an active stay, in one of
/// their departments; the guest's active conversation there is answered when there is one.
/// `true` with a conversation created (the department was told).
pub async fn open(
    app: &App,
    principal: &StaffPrincipal,
    number: &WhatsAppNumber,
    department: Department,
) -> Result<(Conversation, bool), ChatError> {
    if !principal.may_act_on(department) {
        return Err(ChatError::AccessDenied);
    }
    let guest_id = app.store.guest_in_hotel(&principal.hotel.id, number.as_str()).await?.ok_or(ChatError::NoGuest)?;
    let record = app.store.guest_record(guest_id).await?.ok_or(ChatError::NoGuest)?;
    if record.active_stay().is_none() {
        return Err(ChatError::NoActiveStay);
    }
    let kind = record.guest.new_conversation_type();
    let (conversation, created) =
        app.store.open_conversation(&record.guest, department, kind, crate::clock::now()).await?;
    if created {
        announce_new_conversation(app, &principal.hotel, &conversation).await;
    }
    Ok((conversation, created))
}

/// Moves an active conversation to another department of the hotel, with a system note (and
/// the caller's `note`); both departments are told, the new one also as a new conversation, and
/// subscribers who may not follow it there are dropped.
pub async fn transfer(
    app: &App,
    principal: &StaffPrincipal,
    id: ConversationId,
    to: Department,
    note: &str,
) -> Result<Conversation, ChatError> {
    let conversation = conversation_for(app, principal, id).await?;
    if conversation.status != ConversationStatus::Active {
        return Err(ChatError::Closed);
    }
    if conversation.department == to {
        return Err(ChatError::AlreadyThere(to));
    }
    if !principal.hotel.departments.contains(&to) {
        return Err(ChatError::NotAHotelDepartment(to));
    }
    let from = conversation.department;
    let mut text = format!("Conversation transferred from {from} to {to} by {}", principal.staff.display_name());
    if !note.is_empty() {
        text.push_str(": ");
        text.push_str(note);
    }
    let moved = match app.store.transfer_conversation(id, to, NewMessage::system(text), crate::clock::now()).await {
        Ok(moved) => moved,
        Err(TransferError::TargetBusy(other)) => return Err(ChatError::TargetBusy(to, other)),
        Err(TransferError::Store(e)) => return Err(e.into()),
    };
    rights::drop_unauthorised_subscribers(app, &moved.conversation).await;
    let update = ConversationUpdate::Transferred { conversation_id: id, from, to };
    announce_update_to(app, &moved.conversation, &[from, to], update).await;
    announce_new_conversation(app, &principal.hotel, &moved.conversation).await;
    Ok(moved.conversation)
}

/// Assigns a conversation to a member who may act in its department (or to nobody); the
/// department is told.
pub async fn assign(
    app: &App,
    principal: &StaffPrincipal,
    id: ConversationId,
    staff_id: Option<&str>,
) -> Result<Conversation, ChatError> {
    let conversation = conversation_for(app, principal, id).await?;
    if let Some(staff_id) = staff_id {
        let assignee = app.store.get_staff(staff_id).await?;
        if !assignee.is_some_and(|s| s.may_act_on(&principal.hotel, conversation.department)) {
            return Err(ChatError::UnfitAssignee);
        }
    }
    let updated = app.store.assign_conversation(id, staff_id, crate::clock::now()).await?;
    let update = ConversationUpdate::Assigned { conversation_id: id, assigned_to: staff_id.map(str::to_owned) };
    announce_update_to(app, &updated, &[updated.department], update).await;
    Ok(updated)
}
