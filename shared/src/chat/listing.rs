//! The REST conversation objects of a page of conversations.

use std::collections::{BTreeSet, HashMap};

use crate::app::App;
use crate::model::{Conversation, GuestId, Hotel};
use crate::store::GuestRecord;
use crate::store::PageDirection;
use crate::views::{ConversationView, GuestInfo};

use super::*;

/// REST Conversation objects for `conversations` (guests and last messages read in parallel).
pub async fn conversation_views(
    app: &App,
    hotel: &Hotel,
    conversations: &[Conversation],
) -> Result<Vec<ConversationView>, ChatError> {
    let now = crate::clock::now();
    let guest_ids: BTreeSet<GuestId> = conversations.iter().map(|c| c.guest_id).collect();
    let guests = futures::future::try_join_all(guest_ids.iter().map(|id| app.store.guest_record(*id))).await?;
    let guests: HashMap<GuestId, GuestRecord> = guests.into_iter().flatten().map(|r| (r.guest.id, r)).collect();
    let lasts =
        futures::future::try_join_all(conversations.iter().map(|c| app.store.messages(c.id, PageDirection::Latest, 1)))
            .await?;
    let mut views = Vec::with_capacity(conversations.len());
    for (conversation, mut last) in conversations.iter().zip(lasts) {
        let Some(guest) = guests.get(&conversation.guest_id) else {
            tracing::warn!(conversation = conversation.id, "conversation without guest skipped");
            continue;
        };
        let info = GuestInfo::new(&guest.guest, guest.active_stay());
        views.push(ConversationView::new(conversation, hotel, info, last.messages.pop().as_ref(), now));
    }
    Ok(views)
}
