//! Test data: a fresh hotel per test, with the staff and guests the contract's scenarios need.

use lobbybee::auth::{guest_token, jwt};
use lobbybee::department::Department;
use lobbybee::model::{Guest, GuestStatus, Hotel, Staff, Stay, StayStatus, UserType};

use crate::{Stack, secrets, unique};

/// A provisioned staff member and a valid token.
#[derive(Debug, Clone)]
pub struct TestStaff {
    /// Id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Access token (HS256, 1 h).
    pub token: String,
}

/// A provisioned guest.
#[derive(Debug, Clone)]
pub struct TestGuest {
    /// Id.
    pub id: u64,
    /// Canonical number.
    pub number: String,
    /// Name.
    pub name: String,
    /// Stay id.
    pub stay_id: u64,
    /// Guest socket token of the stay.
    pub guest_token: String,
}

/// A hotel with everyone the scenarios need.
#[derive(Debug, Clone)]
pub struct TestHotel {
    /// Hotel id.
    pub id: String,
    /// Hotel name.
    pub name: String,
    /// WhatsApp phone number id.
    pub phone_number_id: String,
    /// Reception staff.
    pub reception: TestStaff,
    /// Second Reception staff.
    pub reception2: TestStaff,
    /// Room Service staff.
    pub room_service: TestStaff,
    /// Housekeeping staff.
    pub housekeeping: TestStaff,
    /// Café staff.
    pub cafe: TestStaff,
    /// Manager (all departments).
    pub manager: TestStaff,
    /// Hotel admin (all departments, provisioning).
    pub admin: TestStaff,
    /// A CRM user without a chat role.
    pub accountant: TestStaff,
    /// Checked in, active stay.
    pub guest: TestGuest,
    /// Pending check-in, active stay.
    pub arriving: TestGuest,
    /// Checked out, active stay still open (type `general`).
    pub leaving: TestGuest,
    /// Checked out, stay completed (no active stay).
    pub departed: TestGuest,
}

impl TestHotel {
    /// Provisions a new hotel through the store.
    pub async fn create(stack: &Stack) -> TestHotel {
        let store = &stack.app.store;
        let id = format!("hotel-{}", uuid::Uuid::new_v4().simple());
        let name = "Test Hotel".to_owned();
        let phone_number_id = unique().to_string();
        let hotel = Hotel {
            id: id.clone(),
            name: name.clone(),
            whatsapp_phone_number_id: Some(phone_number_id.clone()),
            departments: Department::ALL.to_vec(),
            timezone: "UTC".into(),
        };
        store.put_hotel(&hotel).await.expect("hotel");
        let staff = |first: &str, role: UserType, departments: Vec<Department>| {
            let id = id.clone();
            let first = first.to_owned();
            async move {
                let user_id = unique().to_string();
                let member = Staff {
                    user_id: user_id.clone(),
                    hotel_id: id,
                    user_type: role,
                    departments,
                    first_name: first.clone(),
                    last_name: "Tester".into(),
                    username: first.to_lowercase(),
                    is_active: true,
                };
                store.put_staff(&member).await.expect("staff");
                TestStaff { user_id: user_id.clone(), name: member.display_name(), token: token_for(&user_id) }
            }
        };
        let guest = |name: &str, status: GuestStatus, stay: StayStatus| {
            let id = id.clone();
            let name = name.to_owned();
            async move {
                let guest_id = unique();
                let number = format!("+1{guest_id}");
                store
                    .put_guest(&Guest {
                        id: guest_id,
                        hotel_id: id.clone(),
                        whatsapp_number: number.clone(),
                        full_name: name.clone(),
                        email: format!("{}@guest.example", name.to_lowercase().replace(' ', ".")),
                        status,
                        last_inbound_at: None,
                    })
                    .await
                    .expect("guest");
                let stay_id = unique();
                store
                    .put_stay(&Stay {
                        id: stay_id,
                        hotel_id: id,
                        guest_id,
                        room_number: "204".into(),
                        floor: Some(2),
                        status: stay,
                        check_in_date: Some("2026-11-20".into()),
                        check_out_date: Some("2026-11-28".into()),
                    })
                    .await
                    .expect("stay");
                TestGuest {
                    id: guest_id,
                    number,
                    name,
                    stay_id,
                    guest_token: guest_token::issue(secrets::GUEST.as_bytes(), stay_id, guest_id),
                }
            }
        };
        TestHotel {
            reception: staff("Rita", UserType::Receptionist, vec![Department::Reception]).await,
            reception2: staff("Rob", UserType::DepartmentStaff, vec![Department::Reception]).await,
            room_service: staff("Omar", UserType::DepartmentStaff, vec![Department::RoomService]).await,
            housekeeping: staff("Hana", UserType::DepartmentStaff, vec![Department::Housekeeping]).await,
            cafe: staff("Chen", UserType::DepartmentStaff, vec![Department::Cafe]).await,
            manager: staff("Maria", UserType::Manager, vec![Department::Management]).await,
            admin: staff("Ada", UserType::HotelAdmin, vec![]).await,
            accountant: staff("Acco", UserType::Other("other_staff".into()), vec![Department::Reception]).await,
            guest: guest("Asha Rao", GuestStatus::CheckedIn, StayStatus::Active).await,
            arriving: guest("Ben Carter", GuestStatus::PendingCheckin, StayStatus::Active).await,
            leaving: guest("Lea Ng", GuestStatus::CheckedOut, StayStatus::Active).await,
            departed: guest("Chloe Dubois", GuestStatus::CheckedOut, StayStatus::Completed).await,
            id,
            name,
            phone_number_id,
        }
    }
}

/// A valid access token for `user_id`.
pub fn token_for(user_id: &str) -> String {
    jwt::issue_hs256(secrets::JWT, user_id, 3600).expect("token")
}

/// A staff socket's record as `$connect` stores it (without the rights copy, which frames then
/// read from the store), connected `at` and kept for an hour: for tests and tools that store
/// sockets without opening them.
pub fn staff_socket(
    connection_id: String,
    hotel_id: &str,
    staff_id: &str,
    user_name: &str,
    departments: Vec<Department>,
    at: chrono::DateTime<chrono::Utc>,
) -> lobbybee::model::Connection {
    lobbybee::model::Connection {
        connection_id,
        kind: lobbybee::model::ConnectionKind::Staff,
        hotel_id: hotel_id.to_owned(),
        staff_id: Some(staff_id.to_owned()),
        guest_id: None,
        user_name: user_name.to_owned(),
        departments,
        requested: None,
        subscriptions: vec![],
        rights: None,
        connected_at: at,
        expires_at: at.timestamp() + 3600,
    }
}
