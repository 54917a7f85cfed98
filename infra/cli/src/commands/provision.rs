//! Provisioning: hotels, staff, guests and stays through `PUT/DELETE admin/...` with the stack's
//! `X-Api-Key` (docs/api.md §4). Each `put` creates or replaces the whole record.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::{Outcome, Stack};
use crate::output::{Format, print};

/// `hotel …`
#[derive(Subcommand)]
pub enum HotelAction {
    /// Create or replace a hotel (`PUT admin/hotels/{id}`).
    Put {
        /// Hotel id, e.g. `demo-hotel`.
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The hotel's WhatsApp Business phone number id (routes Meta webhooks, sends replies).
        #[arg(long)]
        phone_number_id: Option<String>,
        /// Departments it runs, comma-separated (default: all five).
        #[arg(long, value_delimiter = ',')]
        departments: Vec<String>,
        /// IANA time zone, e.g. `Europe/Lisbon`.
        #[arg(long)]
        timezone: Option<String>,
    },
}

/// `staff …`
#[derive(Subcommand)]
pub enum StaffAction {
    /// Create or replace a staff member (`PUT admin/staff/{user_id}`).
    Put {
        /// The CRM's user id (the JWT's `user_id`).
        user_id: String,
        /// Hotel id.
        #[arg(long)]
        hotel: String,
        /// `receptionist`, `department_staff`, `manager`, `hotel_admin` (others may not chat).
        #[arg(long)]
        role: String,
        /// Departments, comma-separated (for receptionists and department staff).
        #[arg(long, value_delimiter = ',')]
        departments: Vec<String>,
        /// First name.
        #[arg(long)]
        first_name: Option<String>,
        /// Last name.
        #[arg(long)]
        last_name: Option<String>,
        /// Username.
        #[arg(long)]
        username: Option<String>,
        /// Store the member deactivated.
        #[arg(long)]
        inactive: bool,
    },
    /// Deactivate a staff member at once and close their sockets (`DELETE admin/staff/{user_id}`).
    Remove {
        /// The CRM's user id.
        user_id: String,
    },
}

/// `guest put`.
#[derive(Args)]
pub struct GuestPut {
    /// Guest id (a positive integer).
    id: u64,
    /// Hotel id.
    #[arg(long)]
    hotel: String,
    /// WhatsApp number, any usual spelling (`+91 98765 43210`).
    #[arg(long)]
    number: String,
    /// Full name.
    #[arg(long)]
    name: Option<String>,
    /// E-mail.
    #[arg(long)]
    email: Option<String>,
    /// `pending_checkin`, `checked_in` or `checked_out`.
    #[arg(long)]
    status: Option<String>,
}

/// `stay …`
#[derive(Subcommand)]
pub enum StayAction {
    /// Create or replace a stay (`PUT admin/stays/{id}`); prints the guest socket token.
    Put {
        /// Stay id (a positive integer).
        id: u64,
        /// Hotel id.
        #[arg(long)]
        hotel: String,
        /// Guest id.
        #[arg(long)]
        guest: u64,
        /// `active` (the guest may chat), `pending`, `completed` or `cancelled`.
        #[arg(long, default_value = "active")]
        status: String,
        /// Room number.
        #[arg(long)]
        room: Option<String>,
        /// Floor.
        #[arg(long)]
        floor: Option<i64>,
        /// Check-in date, `YYYY-MM-DD`.
        #[arg(long)]
        check_in: Option<String>,
        /// Check-out date, `YYYY-MM-DD`.
        #[arg(long)]
        check_out: Option<String>,
    },
}

/// A JSON object of the given fields, leaving out absent ones and empty lists.
fn body(fields: &[(&str, Value)]) -> Value {
    let map: Map<String, Value> = fields
        .iter()
        .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Value::Object(map)
}

pub async fn hotel(stack: &Stack, action: HotelAction, format: Format) -> Outcome {
    let HotelAction::Put { id, name, phone_number_id, departments, timezone } = action;
    let sent = body(&[
        ("name", json!(name)),
        ("whatsapp_phone_number_id", json!(phone_number_id)),
        ("departments", json!(departments)),
        ("timezone", json!(timezone)),
    ]);
    let stored = stack.admin(Method::PUT, &format!("admin/hotels/{id}"), Some(sent)).await?;
    let columns = [
        ("ID", "/id"),
        ("NAME", "/name"),
        ("PHONE NUMBER ID", "/whatsapp_phone_number_id"),
        ("DEPARTMENTS", "/departments"),
        ("TIMEZONE", "/timezone"),
    ];
    print(format, &stored, &columns);
    Ok(())
}

pub async fn staff(stack: &Stack, action: StaffAction, format: Format) -> Outcome {
    let columns = [
        ("USER ID", "/user_id"),
        ("HOTEL", "/hotel_id"),
        ("ROLE", "/user_type"),
        ("DEPARTMENTS", "/departments"),
        ("FIRST", "/first_name"),
        ("LAST", "/last_name"),
        ("ACTIVE", "/is_active"),
    ];
    match action {
        StaffAction::Put { user_id, hotel, role, departments, first_name, last_name, username, inactive } => {
            let sent = body(&[
                ("hotel_id", json!(hotel)),
                ("user_type", json!(role)),
                ("departments", json!(departments)),
                ("first_name", json!(first_name)),
                ("last_name", json!(last_name)),
                ("username", json!(username)),
                ("is_active", json!(!inactive)),
            ]);
            let stored = stack.admin(Method::PUT, &format!("admin/staff/{user_id}"), Some(sent)).await?;
            print(format, &stored, &columns);
        }
        StaffAction::Remove { user_id } => {
            stack.admin(Method::DELETE, &format!("admin/staff/{user_id}"), None).await?;
            print(format, &json!({ "user_id": user_id, "is_active": false }), &columns[..1]);
        }
    }
    Ok(())
}

pub async fn guest(stack: &Stack, args: GuestPut, format: Format) -> Outcome {
    let sent = body(&[
        ("hotel_id", json!(args.hotel)),
        ("whatsapp_number", json!(args.number)),
        ("full_name", json!(args.name)),
        ("email", json!(args.email)),
        ("status", json!(args.status)),
    ]);
    let stored = stack.admin(Method::PUT, &format!("admin/guests/{}", args.id), Some(sent)).await?;
    let columns = [
        ("ID", "/id"),
        ("HOTEL", "/hotel_id"),
        ("NUMBER", "/whatsapp_number"),
        ("NAME", "/full_name"),
        ("STATUS", "/status"),
    ];
    print(format, &stored, &columns);
    Ok(())
}

pub async fn stay(stack: &Stack, action: StayAction, format: Format) -> Outcome {
    let StayAction::Put { id, hotel, guest, status, room, floor, check_in, check_out } = action;
    let sent = body(&[
        ("hotel_id", json!(hotel)),
        ("guest_id", json!(guest)),
        ("status", json!(status)),
        ("room_number", json!(room)),
        ("floor", json!(floor)),
        ("check_in_date", json!(check_in)),
        ("check_out_date", json!(check_out)),
    ]);
    let stored = stack.admin(Method::PUT, &format!("admin/stays/{id}"), Some(sent)).await?;
    let columns = [
        ("ID", "/stay/id"),
        ("GUEST", "/stay/guest_id"),
        ("STATUS", "/stay/status"),
        ("ROOM", "/stay/room_number"),
        ("GUEST TOKEN", "/guest_token"),
    ];
    print(format, &stored, &columns);
    Ok(())
}
