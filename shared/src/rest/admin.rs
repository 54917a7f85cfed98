//! Provisioning (docs/api.md §4): what the hotel CRM calls when hotels, staff, guests and stays
//! change. Authorised by the stack's API key (`X-Api-Key`) or by a `hotel_admin` JWT for its
//! own hotel.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::form::Form;
use crate::app::App;
use crate::auth::guest_token;
use crate::department::Department;
use crate::http::{self as h, HttpError};
use crate::model::{Guest, GuestStatus, Hotel, Staff, Stay, StayStatus, UserType};

/// Who is provisioning.
#[derive(Debug, Clone, PartialEq)]
pub enum Provisioner {
    /// The CRM with the stack's API key: every hotel.
    ApiKey,
    /// A hotel admin: only their own hotel.
    HotelAdmin(String),
}

impl Provisioner {
    /// Whether this provisioner may see and change `hotel_id`'s records.
    pub fn covers(&self, hotel_id: &str) -> bool {
        match self {
            Provisioner::ApiKey => true,
            Provisioner::HotelAdmin(own) => own == hotel_id,
        }
    }

    /// 403 unless this provisioner may change `hotel_id`. Writes call it for the hotel the body
    /// names *and* for the hotel of the record already stored under that id, so a hotel admin
    /// can neither reach into another hotel nor pull a record out of it.
    fn check(&self, hotel_id: &str) -> Result<(), HttpError> {
        if self.covers(hotel_id) { Ok(()) } else { Err(HttpError::new(403, "You may only provision your own hotel")) }
    }
}

/// Authenticates a provisioning call.
pub async fn provisioner(app: &App, request: &Request) -> Result<Provisioner, HttpError> {
    if let Some(key) = h::header(request, "x-api-key") {
        let expected = app.config.provisioning_api_key.as_deref().unwrap_or_default();
        let ok = !expected.is_empty()
            && key.len() == expected.len()
            && bool::from(key.as_bytes().ct_eq(expected.as_bytes()));
        return if ok {
            Ok(Provisioner::ApiKey)
        } else {
            Err(HttpError::with_body(
                401,
                json!({"detail": "Given token not valid for any token type", "code": "token_not_valid"}),
            ))
        };
    }
    let principal = super::staff(app, request).await?;
    if principal.staff.user_type == UserType::HotelAdmin {
        Ok(Provisioner::HotelAdmin(principal.hotel.id))
    } else {
        Err(HttpError::new(403, "You do not have permission to perform this action."))
    }
}

fn created_or_replaced(created: bool) -> u16 {
    if created { 201 } else { 200 }
}

/// `PUT /admin/hotels/{id}`.
pub async fn put_hotel(app: &App, request: &Request, id: &str) -> Result<Response<Body>, HttpError> {
    let who = provisioner(app, request).await?;
    who.check(id)?;
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let name = form.text("name", true);
    let phone = form.text("whatsapp_phone_number_id", false).filter(|p| !p.is_empty());
    let departments = form.departments("departments");
    let timezone = form.text("timezone", false).filter(|t| !t.is_empty());
    form.finish()?;
    let hotel = Hotel {
        id: id.to_owned(),
        name: name.unwrap_or_default(),
        whatsapp_phone_number_id: phone,
        departments: departments.filter(|d| !d.is_empty()).unwrap_or_else(Department::default_list),
        timezone: timezone.unwrap_or_else(|| "UTC".into()),
    };
    let created = app.store.put_hotel(&hotel).await?;
    // What its staff may do and hear changes at once, on open sockets too.
    sockets_followed(crate::chat::rights::apply_hotel(app, &hotel).await)?;
    Ok(h::json_response(created_or_replaced(created), &hotel))
}

/// `PUT /admin/staff/{user_id}`.
pub async fn put_staff(app: &App, request: &Request, id: &str) -> Result<Response<Body>, HttpError> {
    let who = provisioner(app, request).await?;
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let hotel_id = form.text("hotel_id", true);
    let user_type = form.choice("user_type", true, UserType::parse);
    let departments = form.departments("departments").unwrap_or_default();
    let first_name = form.text("first_name", false).unwrap_or_default();
    let last_name = form.text("last_name", false).unwrap_or_default();
    let username = form.text("username", false).unwrap_or_default();
    let is_active = form.boolean("is_active", true);
    form.finish()?;
    let (Some(hotel_id), Some(user_type)) = (hotel_id, user_type) else {
        return Err(HttpError::new(400, "Invalid data"));
    };
    who.check(&hotel_id)?;
    let existing = app.store.get_staff(id).await?;
    if let Some(existing) = &existing {
        who.check(&existing.hotel_id)?;
    }
    known_hotel(app, &hotel_id).await?;
    let staff =
        Staff { user_id: id.to_owned(), hotel_id, user_type, departments, first_name, last_name, username, is_active };
    let created = app.store.put_staff(&staff).await?;
    // Rights change at once, on the member's open sockets too (a failure answers 5xx: the CRM
    // sends the change again).
    sockets_followed(crate::chat::rights::apply_profile(app, &staff).await)?;
    Ok(h::json_response(created_or_replaced(created), &staff))
}

/// `DELETE /admin/staff/{user_id}`: deactivates at once and closes the staff member's sockets.
pub async fn deactivate_staff(app: &App, request: &Request, id: &str) -> Result<Response<Body>, HttpError> {
    let who = provisioner(app, request).await?;
    let existing = app.store.get_staff(id).await?.ok_or_else(|| HttpError::new(404, "Staff not found"))?;
    who.check(&existing.hotel_id)?;
    let staff = Staff { is_active: false, ..existing.clone() };
    app.store.put_staff(&staff).await?;
    sockets_followed(crate::chat::rights::apply_profile(app, &staff).await)?;
    Ok(h::empty_response(204))
}

/// A change that open sockets could not follow is answered 503: it is stored, and sending it
/// again (provisioning writes are idempotent) applies it to the sockets.
fn sockets_followed(result: Result<(), crate::store::StoreError>) -> Result<(), HttpError> {
    result.map_err(|e| {
        tracing::error!(error = %e, "could not apply a provisioning change to open sockets");
        HttpError::new(503, "Busy, please retry")
    })
}

async fn known_hotel(app: &App, hotel_id: &str) -> Result<Hotel, HttpError> {
    app.store.get_hotel(hotel_id).await?.ok_or_else(|| HttpError::field("hotel_id", "Unknown hotel."))
}

fn positive_id(raw: &str, what: &str) -> Result<u64, HttpError> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| (1..=crate::model::MAX_ID).contains(id))
        .ok_or_else(|| HttpError::new(404, &format!("{what} not found")))
}

/// `PUT /admin/guests/{id}`.
pub async fn put_guest(app: &App, request: &Request, id: &str) -> Result<Response<Body>, HttpError> {
    let who = provisioner(app, request).await?;
    let id = positive_id(id, "Guest")?;
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let hotel_id = form.text("hotel_id", true);
    let number = form.text("whatsapp_number", true).and_then(|raw| {
        crate::phone::normalize(&raw, &app.config.default_country_code)
            .map_err(|e| form.fail("whatsapp_number", e.to_string()))
            .ok()
    });
    let full_name = form.text("full_name", false).unwrap_or_default();
    let email = form.text("email", false).unwrap_or_default();
    let status = form.choice("status", false, GuestStatus::parse).unwrap_or(GuestStatus::PendingCheckin);
    form.finish()?;
    let (Some(hotel_id), Some(number)) = (hotel_id, number) else {
        return Err(HttpError::new(400, "Invalid data"));
    };
    who.check(&hotel_id)?;
    known_hotel(app, &hotel_id).await?;
    if let Some(existing) = app.store.get_guest(id).await? {
        who.check(&existing.hotel_id)?;
    }
    let guest = Guest {
        id,
        hotel_id,
        whatsapp_number: number.as_str().to_owned(),
        full_name,
        email,
        status,
        last_inbound_at: None,
    };
    let created = app.store.put_guest(&guest).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(message) => HttpError::field("whatsapp_number", &message),
        other => other.into(),
    })?;
    let stored = app.store.get_guest(id).await?.unwrap_or(guest);
    Ok(h::json_response(created_or_replaced(created), &stored))
}

/// `PUT /admin/stays/{id}`: answers the stay and its guest socket token.
pub async fn put_stay(app: &App, request: &Request, id: &str) -> Result<Response<Body>, HttpError> {
    let who = provisioner(app, request).await?;
    let id = positive_id(id, "Stay")?;
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let hotel_id = form.text("hotel_id", true);
    let guest_id = form.id("guest_id", true);
    let room_number = form.text("room_number", false).unwrap_or_default();
    let floor = form.integer("floor");
    let status = form.choice("status", true, StayStatus::parse);
    let check_in_date = date(&mut form, "check_in_date");
    let check_out_date = date(&mut form, "check_out_date");
    form.finish()?;
    let (Some(hotel_id), Some(guest_id), Some(status)) = (hotel_id, guest_id, status) else {
        return Err(HttpError::new(400, "Invalid data"));
    };
    who.check(&hotel_id)?;
    if let Some(existing) = app.store.get_stay(id).await? {
        who.check(&existing.hotel_id)?;
    }
    let guest = app.store.get_guest(guest_id).await?;
    if guest.is_none_or(|g| g.hotel_id != hotel_id) {
        return Err(HttpError::field("guest_id", "Unknown guest at this hotel."));
    }
    let stay = Stay { id, hotel_id, guest_id, room_number, floor, status, check_in_date, check_out_date };
    let created = app.store.put_stay(&stay).await?;
    let secret = app.config.guest_token_secret.as_deref().unwrap_or_default();
    let token = guest_token::issue(secret.as_bytes(), stay.id, stay.guest_id);
    Ok(h::json_response(created_or_replaced(created), &json!({ "stay": stay, "guest_token": token })))
}

fn date(form: &mut Form<'_>, key: &str) -> Option<String> {
    let raw = form.text(key, false).filter(|d| !d.is_empty())?;
    if chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d").is_ok() {
        Some(raw)
    } else {
        form.fail(key, "Date has wrong format. Use YYYY-MM-DD.");
        None
    }
}
