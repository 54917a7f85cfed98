//! Input bounds (docs/api.md §8), in one place: every text a client can send has a length, so a
//! stored record, a socket frame (API Gateway's 32 KB) and a handler's work stay bounded. Over a
//! bound, REST and the webhook answer 400 with the field's details; sockets answer
//! `Message too long`.

/// Message content, in Unicode characters (WhatsApp's own limit).
pub const CONTENT_CHARS: usize = 4096;
/// Media captions.
pub const CAPTION_CHARS: usize = 1024;
/// URLs (`media_url`, `file_url`).
pub const URL_CHARS: usize = 2048;
/// File names, names, notes, ids and every other short text.
pub const NAME_CHARS: usize = 255;
/// Message ids in one `mark-read`.
pub const MESSAGE_IDS: usize = 500;

/// The validation message for a text over `max` characters.
pub fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

/// Whether `text` is longer than `max` Unicode characters.
pub fn over(text: &str, max: usize) -> bool {
    text.chars().nth(max).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert!(!over(&"é".repeat(255), NAME_CHARS));
        assert!(over(&"é".repeat(256), NAME_CHARS));
        assert_eq!(too_long(255), "Ensure this field has no more than 255 characters.");
    }
}
