//! The REST conversation objects of a page of conversations.

use std::collections::{BTreeSet, HashMap};

use crate::app::App;
use crate::model::{Conversation, ConversationId, GuestId, Hotel, Message};
use crate::store::GuestRecord;
use crate::views::{ConversationView, GuestInfo};

use super::*;

/// REST Conversation objects for `conversations`: their guests (one read each, in parallel) and
/// their newest messages (named by each conversation's `msg_seq`, read together).
pub async fn conversation_views(
    app: &App,
    hotel: &Hotel,
    conversations: &[Conversation],
) -> Result<Vec<ConversationView>, ChatError> {
    let now = crate::clock::now();
    let guest_ids: BTreeSet<GuestId> = conversations.iter().map(|c| c.guest_id).collect();
    let guests = futures::future::try_join_all(guest_ids.iter().map(|id| app.store.guest_record(*id)));
    let newest = app.store.newest_messages(conversations);
    let (guests, newest) = futures::future::try_join(guests, newest).await?;
    let guests: HashMap<GuestId, GuestRecord> = guests.into_iter().flatten().map(|r| (r.guest.id, r)).collect();
    let newest: HashMap<ConversationId, Message> = newest.into_iter().map(|m| (m.conversation_id, m)).collect();
    let mut views = Vec::with_capacity(conversations.len());
    for conversation in conversations {
        let Some(guest) = guests.get(&conversation.guest_id) else {
            tracing::warn!(conversation = conversation.id, "conversation without guest skipped");
            continue;
        };
        let info = GuestInfo::new(&guest.guest, guest.active_stay());
        views.push(ConversationView::new(conversation, hotel, info, newest.get(&conversation.id), now));
    }
    Ok(views)
}
