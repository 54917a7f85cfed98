//! Read receipts, typing indicators, closing.

use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::delivery::Audience;
use crate::frames::{ReadReceiptData, Reader, ServerFrame, TypingData};
use crate::model::{Conversation, ConversationId, MessageId};

use super::*;

/// Marks guest messages read, records the reader, and sends the read receipt.
pub async fn mark_read(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
    only: Option<&[MessageId]>,
    origin: &Origin,
) -> Result<Vec<MessageId>, ChatError> {
    let conversation = conversation_for(app, principal, conversation_id).await?;
    let now = crate::clock::now();
    let marked = app.store.mark_read(&conversation, only, now).await?;
    app.store.touch_participant(conversation_id, &principal.staff.user_id, true, now).await?;
    if !marked.is_empty() {
        let frame = ServerFrame::ReadReceipt {
            data: ReadReceiptData {
                conversation_id,
                message_ids: marked.clone(),
                read_at: crate::clock::iso(now),
                reader: Reader::Staff,
            },
        };
        let audience = Audience { guest: Some(conversation.guest_id), ..department_of(&conversation) };
        reach(app, origin, audience, &frame).await;
    }
    Ok(marked)
}

/// Typing indicator: department peers and the guest.
pub async fn typing(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
    is_typing: bool,
    origin: &Origin,
) -> Result<(), ChatError> {
    let conversation = conversation_for(app, principal, conversation_id).await?;
    let frame = ServerFrame::Typing {
        data: TypingData {
            conversation_id,
            user_id: principal.staff.user_id.clone(),
            user_name: principal.staff.display_name(),
            is_typing,
        },
    };
    let audience = Audience { guest: Some(conversation.guest_id), ..department_of(&conversation) };
    reach(app, origin, audience, &frame).await;
    Ok(())
}

/// Closes a conversation (idempotent) and tells the department.
pub async fn close(
    app: &App,
    principal: &StaffPrincipal,
    conversation_id: ConversationId,
    origin: &Origin,
) -> Result<Conversation, ChatError> {
    conversation_for(app, principal, conversation_id).await?;
    let (conversation, changed) = app.store.close_conversation(conversation_id, crate::clock::now()).await?;
    if changed {
        let frame = ServerFrame::CloseConversation { conversation_id };
        reach(app, origin, department_of(&conversation), &frame).await;
    }
    Ok(conversation)
}
