//! Reopening a quiet conversation with a WhatsApp reply button (docs/api.md §6, §5).
//!
//! The dashboard shows "Conversation expired \[Reopen\]" on a conversation that has been quiet for
//! a while. Its `reopen-temporary` frame asks the guest, with an interactive WhatsApp message
//! and one `Continue` reply button, whether to go on; the button's id names the conversation.
//! When the guest presses it, Meta posts an `interactive` `button_reply` (or, for a template's
//! quick-reply button, a `button` message with the same id as payload) to the webhook, which
//! records "\<first name\> has reopened the conversation" there and tells the guest they are
//! connected.
//!
//! This module holds what the three places (the staff action in `chat`, the payload in
//! `outbound`, the reply in `webhook`) must agree on: the texts and the button id.

use crate::department::Department;
use crate::model::{ConversationId, Guest};

/// Prefix of the reply button's id; the conversation id follows.
const BUTTON_PREFIX: &str = "accept_reopen_conversation_conv#";

/// Title of the reply button.
pub const BUTTON_TITLE: &str = "Continue";

/// What the guest is told once the conversation is reopened.
pub const CONFIRMATION: &str = "You are connected. Please type your message.";

/// The question sent to the guest (also the stored message's content).
pub fn prompt(department: Department) -> String {
    format!("There is an update to your {department} conversation, do you want to continue?")
}

/// The reply button's id for `conversation`.
pub fn button_id(conversation: ConversationId) -> String {
    format!("{BUTTON_PREFIX}{conversation}")
}

/// The conversation a reply button's id names, when it is a reopen button.
pub fn parse_button_id(id: &str) -> Option<ConversationId> {
    id.strip_prefix(BUTTON_PREFIX)?.parse().ok().filter(|id| (1..=crate::model::MAX_ID).contains(id))
}

/// The guest message recorded when the guest presses the button.
pub fn reopened_note(guest: &Guest) -> String {
    let first = guest.full_name.split_whitespace().next().unwrap_or("The guest");
    format!("{first} has reopened the conversation")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_ids_round_trip_and_refuse_anything_else() {
        assert_eq!(button_id(42), "accept_reopen_conversation_conv#42");
        assert_eq!(parse_button_id("accept_reopen_conversation_conv#42"), Some(42));
        for other in [
            "accept_reopen_conversation_conv#",
            "accept_reopen_conversation_conv#0",
            "accept_reopen_conversation_conv#-1",
            "accept_reopen_conversation_conv#4x",
            "accept_reopen_conversation_conv#99999999999999999999",
            "accept_reopen_conversation_conv#9007199254740992",
            "reopen#4",
            "",
        ] {
            assert_eq!(parse_button_id(other), None, "{other}");
        }
    }

    #[test]
    fn texts() {
        assert_eq!(
            prompt(Department::RoomService),
            "There is an update to your Room Service conversation, do you want to continue?"
        );
        let mut guest = Guest {
            id: 9,
            hotel_id: "h".into(),
            whatsapp_number: "+919876543210".into(),
            full_name: "Asha  Rao".into(),
            email: String::new(),
            status: crate::model::GuestStatus::CheckedIn,
            last_inbound_at: None,
        };
        assert_eq!(reopened_note(&guest), "Asha has reopened the conversation");
        guest.full_name = "  ".into();
        assert_eq!(reopened_note(&guest), "The guest has reopened the conversation");
    }
}
