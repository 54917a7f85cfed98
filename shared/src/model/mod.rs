//! The domain of docs/api.md §2: hotels, staff, guests, stays, conversations, messages,
//! participants and socket connections.
//!
//! These structs are the *stored* shape (what [`crate::store`] writes to DynamoDB). What clients
//! see is built from them in [`crate::views`] (REST objects) and [`crate::frames`] (socket frames),
//! because the wire shapes carry derived fields (`guest_info`, `time_ago`, ...) that are not stored.

use serde::{Deserialize, Serialize};

mod chat;
mod directory;

pub use chat::{Connection, Conversation, Message, OutboundKind, Participant, Rights};
pub use directory::{Guest, Hotel, Staff, Stay};

/// Hotel ids are opaque strings (often UUIDs).
pub type HotelId = String;
/// Staff ids are strings; a JWT may carry them as numbers, they are compared as strings.
pub type StaffId = String;
/// Guest ids are positive integers assigned by the hotel CRM.
pub type GuestId = u64;
/// Stay ids are positive integers assigned by the hotel CRM.
pub type StayId = u64;
/// Conversation ids are positive integers allocated by the store.
pub type ConversationId = u64;
/// Message ids are positive integers allocated by the store (see `docs/data-model.md`).
pub type MessageId = u64;

/// Largest id a client may send or receive (JSON numbers must stay exact in JavaScript).
pub const MAX_ID: u64 = (1 << 53) - 1;

/// Serde helpers that store timestamps as ISO-8601 UTC with milliseconds (`...T10:02:11.123Z`).
pub mod iso_time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises a timestamp the way every API answer shows it.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::clock::iso(*t))
    }

    /// Parses an ISO-8601 timestamp with offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(d)?;
        crate::clock::parse_iso(&raw).ok_or_else(|| serde::de::Error::custom("invalid ISO-8601 timestamp"))
    }

    /// The same for optional timestamps.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serialises `None` as `null`.
        pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&crate::clock::iso(*t)),
                None => s.serialize_none(),
            }
        }

        /// Parses `null` or an ISO-8601 timestamp.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(raw) => crate::clock::parse_iso(&raw)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("invalid ISO-8601 timestamp")),
            }
        }
    }
}

/// Declares a string enum whose wire spelling is snake_case, with `as_str`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire spelling exactly.
            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A staff member's role, as the hotel CRM names it. The four chat roles decide what a member
/// may act on; every other role the CRM syncs (`platform_admin`, `platform_staff`,
/// `other_staff`, or any other string) is stored as it came and may not chat (docs/api.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserType {
    /// Acts on the departments listed on the profile.
    DepartmentStaff,
    /// Acts on the departments listed on the profile.
    Receptionist,
    /// Acts on every department of the hotel.
    Manager,
    /// Acts on every department and may provision its own hotel.
    HotelAdmin,
    /// Any other role of the CRM, spelt as it sent it: refused by chat REST calls and sockets.
    Other(String),
}

impl UserType {
    /// The chat roles, in the CRM's order.
    pub const CHAT: [UserType; 4] =
        [UserType::DepartmentStaff, UserType::Receptionist, UserType::Manager, UserType::HotelAdmin];

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            UserType::DepartmentStaff => "department_staff",
            UserType::Receptionist => "receptionist",
            UserType::Manager => "manager",
            UserType::HotelAdmin => "hotel_admin",
            UserType::Other(role) => role,
        }
    }

    /// Any role name: a chat role, or [`UserType::Other`] for anything else that is a plain
    /// name (1–64 characters of letters, digits, `_`, `-`); `None` otherwise.
    pub fn parse(raw: &str) -> Option<Self> {
        let role = UserType::CHAT.into_iter().find(|r| r.as_str() == raw);
        let plain =
            (1..=64).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        role.or_else(|| plain.then(|| UserType::Other(raw.to_owned())))
    }

    /// Whether the role may use the chat at all.
    pub fn may_chat(&self) -> bool {
        !matches!(self, UserType::Other(_))
    }
}

impl std::fmt::Display for UserType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for UserType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UserType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        UserType::parse(&raw).ok_or_else(|| serde::de::Error::custom("invalid user_type"))
    }
}

wire_enum!(
    /// A guest's check-in state; it decides the type of a new conversation.
    GuestStatus {
        /// Booked, not arrived.
        PendingCheckin => "pending_checkin",
        /// In the hotel.
        CheckedIn => "checked_in",
        /// Left.
        CheckedOut => "checked_out",
    }
);

wire_enum!(
    /// The state of a stay; only `active` stays let a guest chat.
    StayStatus {
        /// Booked.
        Pending => "pending",
        /// The guest may chat.
        Active => "active",
        /// Checked out.
        Completed => "completed",
        /// Never happened.
        Cancelled => "cancelled",
    }
);

wire_enum!(
    /// Why a conversation exists.
    ConversationType {
        /// Before check-in.
        Checkin => "checkin",
        /// During the stay.
        Service => "service",
        /// After the stay or without one.
        General => "general",
        /// Demo data.
        Demo => "demo",
        /// Legacy Django value, accepted on read.
        CheckedIn => "checked_in",
    }
);

wire_enum!(
    /// Lifecycle of a conversation.
    ConversationStatus {
        /// Open: messages may be added.
        Active => "active",
        /// Closed by staff; a new guest message opens a new conversation.
        Closed => "closed",
        /// Kept for history only.
        Archived => "archived",
    }
);

wire_enum!(
    /// Who wrote a message.
    SenderType {
        /// The guest, through WhatsApp or a guest socket.
        Guest => "guest",
        /// A staff member.
        Staff => "staff",
        /// The system (transfers, delivery notices).
        System => "system",
    }
);

wire_enum!(
    /// What a message carries.
    MessageType {
        /// Plain text.
        Text => "text",
        /// An image; `media_url` is required.
        Image => "image",
        /// A document; `media_url` is required.
        Document => "document",
        /// Audio; `media_url` is required.
        Audio => "audio",
        /// Video; `media_url` is required.
        Video => "video",
        /// Written by the system.
        System => "system",
    }
);

impl MessageType {
    /// Whether this type needs a `media_url`.
    pub fn needs_media(self) -> bool {
        matches!(self, MessageType::Image | MessageType::Document | MessageType::Audio | MessageType::Video)
    }
}

wire_enum!(
    /// Outbound (staff → WhatsApp) delivery state.
    DeliveryStatus {
        /// Stored, waiting in the outbound queue.
        Queued => "queued",
        /// Accepted by the WhatsApp API.
        Sent => "sent",
        /// Delivered to the phone.
        Delivered => "delivered",
        /// Read by the guest.
        Read => "read",
        /// Not deliverable.
        Failed => "failed",
    }
);

impl DeliveryStatus {
    /// Position in the normal progression; a status webhook never moves a message backwards
    /// (`failed` always applies).
    pub fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
            DeliveryStatus::Failed => 4,
        }
    }
}

wire_enum!(
    /// Who is behind a socket.
    ConnectionKind {
        /// A staff member (JWT).
        Staff => "staff",
        /// A guest (WhatsApp number and guest token).
        Guest => "guest",
    }
);
