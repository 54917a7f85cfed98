//! Demo data for the local stack: one hotel, staff in Reception, Room Service and Café, a
//! manager, two guests with active stays and one whose stay is over. Written through the same
//! store code the functions use (idempotent: a second run replaces the same records), plus one
//! guest message so the dashboard has a conversation to show.

use lobbybee::auth::{guest_token, jwt};
use lobbybee::department::Department;
use lobbybee::model::{Guest, GuestStatus, Hotel, MessageType, SenderType, Staff, Stay, StayStatus, UserType};
use lobbybee::store::{ChatStore, NewMessage, StoreError};

/// The demo hotel id.
pub const DEMO_HOTEL: &str = "demo-hotel";
/// The demo hotel's name.
pub const DEMO_HOTEL_NAME: &str = "Hotel Lumen";
/// The demo hotel's WhatsApp phone number id (the one in `tests/fixtures`).
pub const DEMO_PHONE_NUMBER_ID: &str = "106540352242922";

/// A seeded staff member with a ready-to-use token.
#[derive(Debug, Clone)]
pub struct DemoStaff {
    /// Id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Role and departments, for the summary.
    pub role: String,
    /// The role alone (`receptionist`, `manager`, …).
    pub user_type: String,
    /// The departments on the profile.
    pub departments: Vec<String>,
    /// A 12-hour access token.
    pub token: String,
}

/// A seeded guest with a guest socket token when the stay is active.
#[derive(Debug, Clone)]
pub struct DemoGuest {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Canonical number.
    pub number: String,
    /// Room of the stay.
    pub room: String,
    /// Whether the stay is active (the guest may write).
    pub active: bool,
    /// Guest token (active stays only).
    pub guest_token: Option<String>,
}

/// What the seed wrote.
#[derive(Debug, Clone)]
pub struct DemoData {
    /// Staff.
    pub staff: Vec<DemoStaff>,
    /// Guests.
    pub guests: Vec<DemoGuest>,
}

/// Seeding failure.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Token issuing failed.
    #[error("token: {0}")]
    Token(String),
}

/// Writes the demo data. `jwt_secret` signs the printed staff tokens (HS256, as the CRM does);
/// `guest_secret` signs guest tokens.
pub async fn seed(store: &dyn ChatStore, jwt_secret: &str, guest_secret: &str) -> Result<DemoData, SeedError> {
    store
        .put_hotel(&Hotel {
            id: DEMO_HOTEL.into(),
            name: DEMO_HOTEL_NAME.into(),
            whatsapp_phone_number_id: Some(DEMO_PHONE_NUMBER_ID.into()),
            departments: Department::ALL.to_vec(),
            timezone: "Europe/Lisbon".into(),
        })
        .await?;
    let staff = [
        ("101", "Rita", "Reception", UserType::Receptionist, vec![Department::Reception]),
        ("102", "Omar", "Rooms", UserType::DepartmentStaff, vec![Department::RoomService]),
        ("103", "Chen", "Barista", UserType::DepartmentStaff, vec![Department::Cafe]),
        ("104", "Maria", "Manager", UserType::Manager, vec![Department::Management]),
    ];
    let mut demo_staff = Vec::new();
    for (id, first, last, role, departments) in staff {
        let member = Staff {
            user_id: id.into(),
            hotel_id: DEMO_HOTEL.into(),
            user_type: role.clone(),
            departments: departments.clone(),
            first_name: first.into(),
            last_name: last.into(),
            username: first.to_lowercase(),
            is_active: true,
        };
        store.put_staff(&member).await?;
        let token = jwt::issue_hs256(jwt_secret, id, 12 * 3600).map_err(|e| SeedError::Token(e.to_string()))?;
        let names: Vec<&str> = departments.iter().map(|d| d.as_str()).collect();
        demo_staff.push(DemoStaff {
            user_id: id.into(),
            name: member.display_name(),
            role: format!("{role} ({})", names.join(", ")),
            user_type: role.to_string(),
            departments: names.iter().map(|d| (*d).to_owned()).collect(),
            token,
        });
    }
    let guests = [
        (1, "Asha Rao", "+919876543210", GuestStatus::CheckedIn, 1, "204", StayStatus::Active),
        (2, "Ben Carter", "+16505551234", GuestStatus::PendingCheckin, 2, "310", StayStatus::Active),
        (3, "Chloe Dubois", "+33612345678", GuestStatus::CheckedOut, 3, "115", StayStatus::Completed),
    ];
    let mut demo_guests = Vec::new();
    for (id, name, number, status, stay_id, room, stay_status) in guests {
        store
            .put_guest(&Guest {
                id,
                hotel_id: DEMO_HOTEL.into(),
                whatsapp_number: number.into(),
                full_name: name.into(),
                email: String::new(),
                status,
                last_inbound_at: None,
            })
            .await?;
        store
            .put_stay(&Stay {
                id: stay_id,
                hotel_id: DEMO_HOTEL.into(),
                guest_id: id,
                room_number: room.into(),
                floor: room[..1].parse().ok(),
                status: stay_status,
                check_in_date: Some("2026-11-20".into()),
                check_out_date: Some("2026-11-28".into()),
            })
            .await?;
        demo_guests.push(DemoGuest {
            id,
            name: name.into(),
            number: number.into(),
            room: room.into(),
            active: stay_status == StayStatus::Active,
            guest_token: (stay_status == StayStatus::Active)
                .then(|| guest_token::issue(guest_secret.as_bytes(), stay_id, id)),
        });
    }
    // A first guest message, so the dashboard has something to show (idempotent on its id).
    if let Some(asha) = store.get_guest(1).await? {
        let message = NewMessage {
            sender_type: SenderType::Guest,
            sender_id: None,
            sender_name: asha.full_name.clone(),
            message_type: MessageType::Text,
            content: "Hi! Could I get two more towels in room 204, please?".into(),
            media_url: None,
            media_filename: None,
            delivery_status: None,
            send_as: lobbybee::model::OutboundKind::Message,
            provider_message_id: Some("wamid.DEMO-SEED-1".into()),
        };
        store
            .add_guest_message(
                &asha,
                Department::Reception,
                asha.new_conversation_type(),
                message,
                lobbybee::clock::now(),
            )
            .await?;
    }
    Ok(DemoData { staff: demo_staff, guests: demo_guests })
}
