//! The domain of docs/api.md §2: hotels, staff, guests, stays, conversations, messages,
//! participants and socket connections.
//!
//! These structs are the *stored* shape (what [`crate::store`] writes to DynamoDB). What clients
//! see is built from them in [`crate::views`] (REST objects) and [`crate::frames`] (socket frames),
//! because the wire shapes carry derived fields (`guest_info`, `time_ago`, ...) that are not stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::department::Department;

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

/// A hotel of the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hotel {
    /// Opaque id.
    pub id: HotelId,
    /// Display name.
    pub name: String,
    /// WhatsApp Business phone number id; routes Meta webhooks to the hotel.
    #[serde(default)]
    pub whatsapp_phone_number_id: Option<String>,
    /// Departments the hotel runs.
    #[serde(default = "Department::default_list")]
    pub departments: Vec<Department>,
    /// IANA time zone name.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

/// A staff member, as the hotel CRM provisions it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staff {
    /// Id, compared as a string.
    pub user_id: StaffId,
    /// The one hotel this staff member works for.
    pub hotel_id: HotelId,
    /// Role.
    pub user_type: UserType,
    /// Departments the role acts on (ignored for managers and hotel admins).
    #[serde(default)]
    pub departments: Vec<Department>,
    /// Given name.
    #[serde(default)]
    pub first_name: String,
    /// Family name.
    #[serde(default)]
    pub last_name: String,
    /// Login name.
    #[serde(default)]
    pub username: String,
    /// Deactivated staff are refused at once.
    #[serde(default = "yes")]
    pub is_active: bool,
}

fn yes() -> bool {
    true
}

impl Staff {
    /// `First Last`, or the username when both are empty.
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name.trim(), self.last_name.trim());
        let full = full.trim();
        if full.is_empty() { self.username.clone() } else { full.to_owned() }
    }

    /// Whether the role is a chat role at all.
    pub fn has_chat_role(&self) -> bool {
        self.user_type.may_chat()
    }

    /// Whether the role sees every department of the hotel.
    pub fn sees_all_departments(&self) -> bool {
        matches!(self.user_type, UserType::Manager | UserType::HotelAdmin)
    }

    /// The departments this staff member may act on at `hotel` (docs/api.md §3).
    pub fn allowed_departments(&self, hotel: &Hotel) -> Vec<Department> {
        if !self.has_chat_role() {
            Vec::new()
        } else if self.sees_all_departments() {
            hotel.departments.clone()
        } else {
            self.departments.clone()
        }
    }

    /// Whether this staff member may act on `department` at `hotel`.
    pub fn may_act_on(&self, hotel: &Hotel, department: Department) -> bool {
        self.is_active && self.hotel_id == hotel.id && self.allowed_departments(hotel).contains(&department)
    }
}

/// A guest of one hotel. The same WhatsApp number may be a guest at several hotels of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guest {
    /// Id from the CRM.
    pub id: GuestId,
    /// The guest's hotel.
    pub hotel_id: HotelId,
    /// Canonical number (docs/api.md §2).
    pub whatsapp_number: String,
    /// Full name (may be empty).
    #[serde(default)]
    pub full_name: String,
    /// E-mail (may be empty).
    #[serde(default)]
    pub email: String,
    /// Check-in state.
    pub status: GuestStatus,
    /// Last inbound WhatsApp message at this hotel: opens WhatsApp's 24-hour window.
    #[serde(default, with = "iso_time::option", skip_serializing_if = "Option::is_none")]
    pub last_inbound_at: Option<DateTime<Utc>>,
}

impl Guest {
    /// The type a new conversation with this guest gets (docs/api.md §6).
    pub fn new_conversation_type(&self) -> ConversationType {
        match self.status {
            GuestStatus::PendingCheckin => ConversationType::Checkin,
            GuestStatus::CheckedIn => ConversationType::Service,
            GuestStatus::CheckedOut => ConversationType::General,
        }
    }
}

/// A stay of a guest at a hotel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stay {
    /// Id from the CRM.
    pub id: StayId,
    /// The hotel.
    pub hotel_id: HotelId,
    /// The guest.
    pub guest_id: GuestId,
    /// Room number (may be empty).
    #[serde(default)]
    pub room_number: String,
    /// Floor, when known.
    #[serde(default)]
    pub floor: Option<i64>,
    /// State.
    pub status: StayStatus,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub check_in_date: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub check_out_date: Option<String>,
}

/// A conversation between a guest and one department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Id.
    pub id: ConversationId,
    /// The hotel.
    pub hotel_id: HotelId,
    /// The guest.
    pub guest_id: GuestId,
    /// The department it is routed to.
    pub department: Department,
    /// Why it exists.
    pub conversation_type: ConversationType,
    /// Lifecycle state.
    pub status: ConversationStatus,
    /// Time of the newest message (creation time when there is none).
    #[serde(with = "iso_time")]
    pub last_message_at: DateTime<Utc>,
    /// First 255 characters of the newest message.
    #[serde(default)]
    pub last_message_preview: String,
    /// Staff member in charge.
    #[serde(default)]
    pub assigned_to: Option<StaffId>,
    /// Unread guest messages.
    #[serde(default)]
    pub unread_count: u64,
    /// Sequence number of the newest message (the message id allocator, see `docs/data-model.md`).
    #[serde(default)]
    pub msg_seq: u64,
    /// Creation time.
    #[serde(with = "iso_time")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "iso_time")]
    pub updated_at: DateTime<Utc>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Id (unique in the stack, increasing within a conversation).
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Staff id for staff messages.
    #[serde(default)]
    pub sender_id: Option<StaffId>,
    /// Name shown next to the message, fixed when it was written.
    #[serde(default)]
    pub sender_name: String,
    /// What it carries.
    pub message_type: MessageType,
    /// Text, or a media caption.
    #[serde(default)]
    pub content: String,
    /// Media link.
    #[serde(default)]
    pub media_url: Option<String>,
    /// Media file name.
    #[serde(default)]
    pub media_filename: Option<String>,
    /// Read by staff (guest messages) or by the guest (staff messages).
    #[serde(default)]
    pub is_read: bool,
    /// When it was read.
    #[serde(default, with = "iso_time::option")]
    pub read_at: Option<DateTime<Utc>>,
    /// Outbound state (staff messages only).
    #[serde(default)]
    pub delivery_status: Option<DeliveryStatus>,
    /// WhatsApp `wamid` or the bridge's id.
    #[serde(default)]
    pub provider_message_id: Option<String>,
    /// Creation time.
    #[serde(with = "iso_time")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "iso_time")]
    pub updated_at: DateTime<Utc>,
}

/// A staff member who opened a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The staff member.
    pub staff_id: StaffId,
    /// Still following it.
    pub is_active: bool,
    /// First visit.
    #[serde(with = "iso_time")]
    pub joined_at: DateTime<Utc>,
    /// Last mark-read.
    #[serde(default, with = "iso_time::option")]
    pub last_read_at: Option<DateTime<Utc>>,
}

/// An open WebSocket, as `$connect` stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// API Gateway connection id.
    pub connection_id: String,
    /// Staff or guest.
    pub kind: ConnectionKind,
    /// The hotel.
    pub hotel_id: HotelId,
    /// Staff id (staff sockets).
    #[serde(default)]
    pub staff_id: Option<StaffId>,
    /// Guest id (guest sockets).
    #[serde(default)]
    pub guest_id: Option<GuestId>,
    /// Name shown to peers.
    #[serde(default)]
    pub user_name: String,
    /// Departments the socket listens to (staff).
    #[serde(default)]
    pub departments: Vec<Department>,
    /// The one department the socket asked to listen to at connect (`department=`), if any:
    /// when rights change, such a socket keeps that department or closes, while the others
    /// follow everything the member may act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<Department>,
    /// Conversations subscribed outside those departments.
    #[serde(default)]
    pub subscriptions: Vec<ConversationId>,
    /// Connect time.
    #[serde(with = "iso_time")]
    pub connected_at: DateTime<Utc>,
    /// Epoch seconds after which DynamoDB's TTL removes the record (2 h after connect).
    pub expires_at: i64,
}

/// How a staff message (or an automatic text) is presented to the WhatsApp Cloud API: the form
/// of an outbound job, also kept on a `queued` message's item for the outbox sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundKind {
    /// The stored message as it is: text, or media by link.
    #[default]
    Message,
    /// The stored reopen question as an interactive message with the `Continue` reply button
    /// (inside the 24-hour window).
    ReopenButton,
    /// The approved template `WHATSAPP_REOPEN_TEMPLATE` (outside the window), its quick-reply
    /// button carrying the same id.
    ReopenTemplate,
    /// An automatic text that is not stored (the reopen confirmation); its delivery is logged.
    Notice(String),
}

impl OutboundKind {
    /// The plain message form (left out of serialized jobs).
    pub fn is_message(&self) -> bool {
        *self == OutboundKind::Message
    }
}
