//! What the hotel CRM provisions: hotels, staff, guests, stays.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::department::Department;

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
