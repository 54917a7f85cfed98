//! Conversation and message endpoints for staff (docs/api.md §4).

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::form::Form;
use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::chat::{self, ChatError, Origin};
use crate::config::ConversationListFormat;
use crate::department::Department;
use crate::frames::errors;
use crate::http::{self as h, HttpError};
use crate::limits;
use crate::model::{ConversationStatus, MessageType};
use crate::store::PageDirection;
use crate::views::MessageView;

/// Conversations per page unless `?limit=` says otherwise: one page holds a hotel's whole
/// active inbox, because the current dashboard reads only the first.
const LIST_PAGE: usize = 100;
/// Messages per page of a conversation's history.
const HISTORY_PAGE: usize = 50;

fn chat_error(e: ChatError) -> HttpError {
    super::chat_answer(&e)
}

fn limit(request: &Request, default: usize) -> Result<usize, HttpError> {
    match h::query(request, "limit") {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| HttpError::field("limit", "Ensure this value is between 1 and 200.")),
    }
}

/// `GET /conversations/`.
pub async fn list(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let statuses = match h::query(request, "status").as_deref() {
        None | Some("active") => vec![ConversationStatus::Active],
        Some("closed") => vec![ConversationStatus::Closed],
        Some("all") => vec![ConversationStatus::Active, ConversationStatus::Closed, ConversationStatus::Archived],
        Some(_) => {
            return Err(HttpError::field("status", "Must be one of: active, closed, all."));
        }
    };
    let departments = match h::query(request, "department") {
        None => principal.departments(),
        Some(raw) => {
            let department = Department::parse(&raw).map_err(|e| HttpError::field("department", &e.to_string()))?;
            if !principal.may_act_on(department) {
                return Err(HttpError::new(403, errors::ACCESS_DENIED));
            }
            vec![department]
        }
    };
    let limit = limit(request, LIST_PAGE)?;
    let cursor = h::query(request, "cursor");
    let page =
        app.store.list_conversations(&principal.hotel.id, &departments, &statuses, limit, cursor.as_deref()).await?;
    let views = chat::conversation_views(app, &principal.hotel, &page.conversations).await.map_err(chat_error)?;
    let mut response = match app.config.conversation_list_format {
        ConversationListFormat::Page => {
            let next = page.next_cursor.as_deref().map(|cursor| next_page_url(app, request, cursor));
            h::json_response(200, &json!({ "next": next, "previous": null, "results": views }))
        }
        ConversationListFormat::Array => h::json_response(200, &views),
    };
    if let Some(next) = page.next_cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert("x-next-cursor", next);
    }
    Ok(response)
}

/// The absolute URL of the next page: the same filters with the new cursor (as Django REST
/// framework's `CursorPagination` answers; `previous` stays null, the store pages forwards only).
fn next_page_url(app: &App, request: &Request, cursor: &str) -> String {
    let mut query: Vec<(&str, String)> =
        ["status", "department", "limit"].into_iter().filter_map(|key| Some((key, h::query(request, key)?))).collect();
    query.push(("cursor", cursor.to_owned()));
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    format!("{}/conversations/?{query}", super::public_base(app, request))
}

/// `GET /conversations/{id}/`.
pub async fn detail(
    app: &App,
    principal: &StaffPrincipal,
    id: &str,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    let id: u64 = id.parse().map_err(|_| HttpError::conversation_not_found())?;
    let conversation = chat::conversation_for(app, principal, id).await.map_err(chat_error)?;
    // Message-id cursors are ids: whole numbers below 2^53 (a larger one is a 400, not an overflow).
    let message_id = |key: &str| -> Result<Option<u64>, HttpError> {
        h::query(request, key)
            .map(|raw| {
                raw.parse::<u64>()
                    .ok()
                    .filter(|id| *id <= crate::model::MAX_ID)
                    .ok_or_else(|| HttpError::field(key, "A valid integer is required."))
            })
            .transpose()
    };
    let direction = match (message_id("before")?, message_id("after")?) {
        (Some(_), Some(_)) => {
            return Err(HttpError::field("before", "Use either before or after, not both."));
        }
        (Some(before), None) => PageDirection::Before(before),
        (None, Some(after)) => PageDirection::After(after),
        (None, None) => PageDirection::Latest,
    };
    let limit = limit(request, HISTORY_PAGE)?;
    let now = crate::clock::now();
    let page = app.store.messages(id, direction, limit).await?;
    app.store.touch_participant(id, &principal.staff.user_id, false, now).await?;
    let mut views = chat::conversation_views(app, &principal.hotel, std::slice::from_ref(&conversation))
        .await
        .map_err(chat_error)?;
    let view = views.pop().ok_or_else(HttpError::conversation_not_found)?;
    let messages: Vec<MessageView> = page.messages.iter().map(|m| MessageView::new(m, now)).collect();
    Ok(h::json_response(200, &json!({ "conversation": view, "messages": messages })))
}

/// `POST /conversations/create/`.
pub async fn create(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let number = form.text("guest_whatsapp_number", true);
    let department = form.department("department_type", true);
    let number = number.and_then(|raw| match crate::phone::normalize(&raw, &app.config.default_country_code) {
        Ok(n) => Some(n),
        Err(e) => {
            form.fail("guest_whatsapp_number", e.to_string());
            None
        }
    });
    form.finish()?;
    let (Some(number), Some(department)) = (number, department) else {
        return Err(HttpError::new(400, "Invalid data"));
    };
    let (conversation, _) = chat::open(app, principal, &number, department).await.map_err(chat_error)?;
    let view = one_view(app, principal, &conversation).await?;
    Ok(h::json_response(201, &json!({ "success": true, "conversation": view })))
}

async fn one_view(
    app: &App,
    principal: &StaffPrincipal,
    conversation: &crate::model::Conversation,
) -> Result<crate::views::ConversationView, HttpError> {
    chat::conversation_views(app, &principal.hotel, std::slice::from_ref(conversation))
        .await
        .map_err(chat_error)?
        .pop()
        .ok_or_else(HttpError::conversation_not_found)
}

fn conversation_id(body: &serde_json::Map<String, serde_json::Value>) -> Result<u64, HttpError> {
    let mut form = Form::new(body);
    let id = form.id("conversation_id", true);
    form.finish()?;
    id.ok_or_else(|| HttpError::field("conversation_id", super::form::REQUIRED))
}

/// `POST /conversations/close/`.
pub async fn close(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let id = conversation_id(&h::json_object(request)?)?;
    chat::close(app, principal, id, &Origin::server(app)).await.map_err(chat_error)?;
    Ok(h::json_response(
        200,
        &json!({ "success": true, "message": "Conversation closed successfully", "conversation_id": id }),
    ))
}

/// `POST /conversations/transfer/`.
pub async fn transfer(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let id = form.id("conversation_id", true);
    let to = form.department("department", true);
    let note = form.text("note", false).unwrap_or_default();
    form.finish()?;
    let (Some(id), Some(to)) = (id, to) else {
        return Err(HttpError::new(400, "Invalid data"));
    };
    let moved = chat::transfer(app, principal, id, to, &note).await.map_err(chat_error)?;
    let view = one_view(app, principal, &moved).await?;
    Ok(h::json_response(200, &json!({ "success": true, "conversation": view })))
}

/// `POST /conversations/assign/`.
pub async fn assign(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let id = form.id("conversation_id", true);
    let staff_id = form.text("staff_id", false);
    form.finish()?;
    let id = id.ok_or_else(|| HttpError::field("conversation_id", super::form::REQUIRED))?;
    let updated = chat::assign(app, principal, id, staff_id.as_deref()).await.map_err(chat_error)?;
    let view = one_view(app, principal, &updated).await?;
    Ok(h::json_response(200, &json!({ "success": true, "conversation": view })))
}

/// `POST /messages/mark-read/`.
pub async fn mark_read(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let id = form.id("conversation_id", true);
    let ids = form.ids("message_ids").filter(|ids| !ids.is_empty());
    form.finish()?;
    let id = id.ok_or_else(|| HttpError::field("conversation_id", super::form::REQUIRED))?;
    let marked = chat::mark_read(app, principal, id, ids.as_deref(), &Origin::server(app)).await.map_err(chat_error)?;
    Ok(h::json_response(200, &json!({ "success": true, "messages_marked": marked.len() })))
}

/// `POST /messages/typing/`.
pub async fn typing(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let id = form.id("conversation_id", true);
    let is_typing = form.boolean("is_typing", false);
    form.finish()?;
    let id = id.ok_or_else(|| HttpError::field("conversation_id", super::form::REQUIRED))?;
    chat::typing(app, principal, id, is_typing, &Origin::server(app)).await.map_err(chat_error)?;
    Ok(h::json_response(200, &json!({ "success": true })))
}

/// `POST /messages/send/`.
pub async fn send(app: &App, principal: &StaffPrincipal, request: &Request) -> Result<Response<Body>, HttpError> {
    let body = h::json_object(request)?;
    let mut form = Form::new(&body);
    let id = form.id("conversation_id", true);
    let message_type = form
        .choice("message_type", false, |raw| MessageType::parse(raw).filter(|t| *t != MessageType::System))
        .unwrap_or(MessageType::Text);
    let media_url = form
        .text_within("media_url", false, limits::URL_CHARS, &limits::too_long(limits::URL_CHARS))
        .filter(|u| !u.is_empty());
    let content = form.text_within("content", false, limits::CONTENT_CHARS, errors::TOO_LONG);
    // Given but refused (too long, wrong type): that field already has its error.
    let refused =
        |key: &str, value_is_none: bool| value_is_none && body.get(key).is_some_and(|v| v.as_str() != Some(""));
    let (content_refused, media_refused) =
        (refused("content", content.is_none()), refused("media_url", media_url.is_none()));
    let content = content.unwrap_or_default();
    if message_type.needs_media() && media_url.is_none() && !media_refused {
        form.fail("media_url", format!("media_url is required for {message_type} messages"));
    }
    if content.is_empty() && media_url.is_none() && !content_refused && !media_refused {
        form.fail(
            "content",
            if body.contains_key("content") { "This field may not be blank." } else { super::form::REQUIRED },
        );
    }
    form.finish()?;
    let id = id.ok_or_else(|| HttpError::field("conversation_id", super::form::REQUIRED))?;
    let media = media_url.map(|url| (url, None));
    let sent = chat::store_staff_message(app, principal, id, message_type, content, media).await.map_err(chat_error)?;
    chat::publish_staff_message(app, &Origin::server(app), &sent).await;
    Ok(h::json_response(201, &MessageView::new(&sent.message, crate::clock::now())))
}

/// `GET /guest/conversation-type/?phone_number=`: the provisioning key sees every hotel's guests
/// with that number, a hotel admin only its own hotel's (another hotel's guest is 404).
pub async fn guest_conversation_type(
    app: &App,
    who: &super::admin::Provisioner,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    let raw =
        h::query(request, "phone_number").ok_or_else(|| HttpError::field("phone_number", super::form::REQUIRED))?;
    let number = crate::phone::normalize(&raw, &app.config.default_country_code)
        .map_err(|e| HttpError::field("phone_number", &e.to_string()))?;
    let mut guests = Vec::new();
    let mut best: Option<(crate::model::Guest, crate::model::Conversation)> = None;
    for (hotel_id, guest_id) in app.store.guests_with_number(number.as_str()).await? {
        if !who.covers(&hotel_id) {
            continue;
        }
        let Some(record) = app.store.guest_record(guest_id).await? else {
            continue;
        };
        for (_, conversation_id) in &record.active {
            let Some(c) = app.store.get_conversation(*conversation_id).await? else {
                continue;
            };
            let newer = best.as_ref().is_none_or(|(_, b)| c.last_message_at > b.last_message_at);
            if c.status == ConversationStatus::Active && newer {
                best = Some((record.guest.clone(), c));
            }
        }
        guests.push(record.guest);
    }
    match (best, guests.first()) {
        (Some((guest, c)), _) => Ok(h::json_response(
            200,
            &json!({
                "conversation_type": c.conversation_type,
                "last_conversation_timing": crate::clock::iso(c.last_message_at),
                "guest_name": guest.full_name,
                "hotel_id": c.hotel_id,
                "department": c.department,
                "checkin_status": guest.status,
            }),
        )),
        (None, Some(guest)) => Ok(h::json_response(200, &none_answer(guest))),
        (None, None) => Err(HttpError::new(404, "Guest not found")),
    }
}

fn none_answer(guest: &crate::model::Guest) -> serde_json::Value {
    json!({
        "conversation_type": "general",
        "last_conversation_timing": null,
        "guest_name": guest.full_name,
        "hotel_id": null,
        "department": null,
        "checkin_status": guest.status,
    })
}
