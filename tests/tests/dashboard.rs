//! The LobbyBee staff dashboard against the stack: the paged conversation list it reads
//! (Django REST framework's cursor envelope, or the bare array of older builds), and its
//! "Reopen" button: `reopen-temporary` → the WhatsApp reply button → the guest's `Continue`.

use chrono::{Duration, Utc};
use lobbybee::config::ConversationListFormat;
use lobbybee::model::DeliveryStatus;
use lobbybee::store::PageDirection;
use lobbybee_e2e::client::{Answer, Socket, guest_writes, http, meta_payload, meta_text, meta_webhook, send};
use lobbybee_e2e::fixtures::TestHotel;
use lobbybee_e2e::openapi::check_answer;
use lobbybee_e2e::{Stack, WAIT, gateway_with, run, stack, unique};
use serde_json::{Value, json};

/// `GET {base}/api/chat/{path}` as `token`, checked against docs/openapi.yaml.
async fn list(base: &str, path: &str, token: &str) -> Answer {
    let answer = send(http().get(format!("{base}/api/chat/{path}")).bearer_auth(token)).await;
    check_answer("GET", path, &answer);
    answer
}

/// A Meta text from the hotel's checked-in guest (opens WhatsApp's 24-hour window); returns the
/// guest's Reception `service` conversation.
async fn guest_texts(stack: &Stack, hotel: &TestHotel) -> u64 {
    let message = meta_text(&hotel.guest.number, &format!("wamid.{}", unique()), "Is the pool open?");
    assert_eq!(meta_webhook(stack, &meta_payload(&hotel.phone_number_id, message)).await.status, 200);
    let record = stack.app.store.guest_record(hotel.guest.id).await.unwrap().unwrap();
    record.active.first().map(|(_, id)| *id).expect("an active conversation")
}

/// The guest pressing a reply button: an `interactive` `button_reply` (or, with `template`, the
/// `button` message a template's quick reply sends).
fn button_press(hotel: &TestHotel, wamid: &str, id: &str, template: bool) -> String {
    let from = hotel.guest.number.trim_start_matches('+');
    let mut message = json!({ "from": from, "id": wamid, "timestamp": "1795514531",
        "context": { "from": "15550783881", "id": "wamid.question" } });
    if template {
        message["type"] = json!("button");
        message["button"] = json!({ "payload": id, "text": "Continue" });
    } else {
        message["type"] = json!("interactive");
        message["interactive"] = json!({ "type": "button_reply", "button_reply": { "id": id, "title": "Continue" } });
    }
    meta_payload(&hotel.phone_number_id, message)
}

async fn contents(stack: &Stack, conversation: u64) -> Vec<String> {
    let page = stack.app.store.messages(conversation, PageDirection::Latest, 200).await.unwrap();
    page.messages.into_iter().map(|m| m.content).collect()
}

/// The first send of `kind` to the hotel's guest that the fake WhatsApp API accepted (and that
/// `also` holds for), waiting for it.
async fn sent_to_guest(
    stack: &Stack,
    hotel: &TestHotel,
    kind: &str,
    also: impl Fn(&Value) -> bool,
) -> lobbybee_local::gateway::fake_whatsapp::SentMessage {
    let to = hotel.guest.number.trim_start_matches('+').to_owned();
    let found = stack
        .gateway
        .whatsapp()
        .wait_for(WAIT, |s| s.body["to"] == to.as_str() && s.body["type"] == kind && also(&s.body))
        .await;
    found.unwrap_or_else(|| panic!("no `{kind}` message reached the WhatsApp API for {to}"))
}

fn prompt(department: &str) -> String {
    format!("There is an update to your {department} conversation, do you want to continue?")
}

#[test]
fn the_list_is_the_paged_envelope_and_next_pages_through_it() {
    run(async {
        let stack = stack().await;
        let base = stack.gateway.http_base();
        let hotel = TestHotel::create(stack).await;
        let oldest = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await.0;
        let middle = guest_writes(stack, &hotel.arriving.number, "Café", "Hello").await.0;
        let newest = guest_writes(stack, &hotel.leaving.number, "Housekeeping", "Hello").await.0;
        let token = &hotel.manager.token;

        let all = list(&base, "conversations/", token).await;
        assert_eq!((&all.body["next"], &all.body["previous"]), (&Value::Null, &Value::Null));
        let ids = |answer: &Answer| -> Vec<u64> {
            answer.body["results"].as_array().unwrap().iter().map(|c| c["id"].as_u64().unwrap()).collect()
        };
        assert_eq!(ids(&all), vec![newest, middle, oldest], "newest activity first, one page by default");
        assert!(all.headers.get("x-next-cursor").is_none());

        let first = list(&base, "conversations/?limit=2", token).await;
        assert_eq!(ids(&first), vec![newest, middle]);
        assert_eq!(first.body["previous"], Value::Null);
        let next = first.body["next"].as_str().expect("a next page").to_owned();
        let prefix = format!("{base}/api/chat/conversations/?limit=2&cursor=");
        assert!(next.starts_with(&prefix), "absolute URL with the same limit: {next}");
        let cursor = first.headers["x-next-cursor"].to_str().unwrap();
        let decoded: Vec<(String, String)> = serde_urlencoded::from_str(next.split_once('?').unwrap().1).unwrap();
        assert_eq!(decoded[1], ("cursor".to_owned(), cursor.to_owned()), "next carries the cursor");

        let second = send(http().get(&next).bearer_auth(token)).await;
        check_answer("GET", next.trim_start_matches(&format!("{base}/api/chat/")), &second);
        assert_eq!(ids(&second), vec![oldest]);
        assert_eq!((&second.body["next"], &second.body["previous"]), (&Value::Null, &Value::Null));

        let filtered = list(&base, "conversations/?status=all&department=Caf%C3%A9&limit=1", token).await;
        assert_eq!(ids(&filtered), vec![middle]);
        assert_eq!(filtered.body["next"], Value::Null, "the filter holds one conversation");
        let kept = list(&base, "conversations/?status=all&limit=1", token).await;
        let kept = kept.body["next"].as_str().unwrap();
        assert!(kept.contains("status=all&limit=1&cursor="), "filters survive into next: {kept}");

        for bad in ["conversations/?limit=201", "conversations/?limit=0", "conversations/?limit=ten"] {
            let answer = list(&base, bad, token).await;
            assert_eq!(answer.status, 400, "{bad}");
            assert_eq!(answer.body["details"]["limit"], json!(["Ensure this value is between 1 and 200."]));
        }
    });
}

#[test]
fn the_array_format_serves_dashboards_built_before_2026() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let older = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await.0;
        let newer = guest_writes(stack, &hotel.arriving.number, "Reception", "Hello").await.0;
        let gateway = gateway_with(|config| config.conversation_list_format = ConversationListFormat::Array).await;
        let base = gateway.http_base();

        let first = list(&base, "conversations/?limit=1", &hotel.reception.token).await;
        assert_eq!(first.body.as_array().unwrap().iter().map(|c| &c["id"]).collect::<Vec<_>>(), vec![&json!(newer)]);
        let cursor = first.headers["x-next-cursor"].to_str().unwrap().to_owned();
        let query = serde_urlencoded::to_string([("limit", "1"), ("cursor", cursor.as_str())]).unwrap();
        let second = list(&base, &format!("conversations/?{query}"), &hotel.reception.token).await;
        assert_eq!(second.body.as_array().unwrap()[0]["id"], older);
        assert!(second.headers.get("x-next-cursor").is_none(), "no cursor on the last page");
        gateway.shutdown().await;
    });
}

#[test]
fn reopen_temporary_sends_the_continue_button_through_the_outbound_queue() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let conversation = guest_texts(stack, &hotel).await;
        let mut rita = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut rob = Socket::staff(stack, &hotel.reception2.token, None).await;
        let mut guest = Socket::guest(stack, &hotel.guest).await;
        rob.barrier().await;

        rita.send(json!({"type": "reopen-temporary", "conversation_id": conversation})).await;
        let ack = rita.expect("acknowledgment").await;
        assert_eq!(
            ack,
            json!({"type": "acknowledgment", "status": "reopen_button_sent", "conversation_id": conversation, "timestamp": ack["timestamp"]})
        );
        let own = rita.expect("message").await;
        let data = &own["data"];
        assert_eq!(
            (&data["sender_type"], &data["sender_id"], &data["content"], &data["delivery_status"]),
            (&json!("staff"), &json!(hotel.reception.user_id), &json!(prompt("Reception")), &json!("queued"))
        );
        assert_eq!(rob.expect("message").await, own, "department peers see the question too");
        assert_eq!(guest.expect("message").await, own, "and so do the guest's sockets");

        let to = hotel.guest.number.trim_start_matches('+').to_owned();
        let sent = sent_to_guest(stack, &hotel, "interactive", |_| true).await;
        assert_eq!(sent.phone_number_id, hotel.phone_number_id);
        assert_eq!(
            sent.body,
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": { "text": prompt("Reception") },
                    "action": { "buttons": [{ "type": "reply", "reply": {
                        "id": format!("accept_reopen_conversation_conv#{conversation}"), "title": "Continue" } }] }
                }
            })
        );
        let status = rita.expect("delivery_status").await;
        assert_eq!(
            status["data"],
            json!({"conversation_id": conversation, "message_id": data["id"], "status": "sent"})
        );
        let stored = stack.app.store.get_message(conversation, data["id"].as_u64().unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.delivery_status, Some(DeliveryStatus::Sent));
        assert_eq!(stored.provider_message_id.as_deref(), Some(sent.wamid.as_str()));
    });
}

#[test]
fn the_guests_continue_reopens_their_conversation_once() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let conversation = guest_texts(stack, &hotel).await;
        let before = stack.app.store.get_conversation(conversation).await.unwrap().unwrap();
        let mut rita = Socket::staff(stack, &hotel.reception.token, None).await;
        let button = format!("accept_reopen_conversation_conv#{conversation}");
        let press = button_press(&hotel, &format!("wamid.{}", unique()), &button, false);

        assert_eq!(meta_webhook(stack, &press).await.status, 200);
        let frame = rita.expect("message").await;
        let data = &frame["data"];
        assert_eq!(
            (&data["conversation_id"], &data["sender_type"], &data["content"], &data["message_type"]),
            (&json!(conversation), &json!("guest"), &json!("Asha has reopened the conversation"), &json!("text"))
        );
        let to = hotel.guest.number.trim_start_matches('+').to_owned();
        let confirmation = sent_to_guest(stack, &hotel, "text", |_| true).await;
        assert_eq!(
            confirmation.body,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
                   "text": {"preview_url": false, "body": "You are connected. Please type your message."}})
        );
        let after = stack.app.store.get_conversation(conversation).await.unwrap().unwrap();
        assert!(after.last_message_at > before.last_message_at, "the dashboard's expiry clock restarts");

        // Meta delivers again: nothing new.
        assert_eq!(meta_webhook(stack, &press).await.status, 200);
        assert_eq!(
            contents(stack, conversation).await,
            vec!["Is the pool open?", "Asha has reopened the conversation"]
        );

        // A template's quick-reply button carries the same id as its payload.
        let template_press = button_press(&hotel, &format!("wamid.{}", unique()), &button, true);
        assert_eq!(meta_webhook(stack, &template_press).await.status, 200);
        assert_eq!(rita.expect("message").await["data"]["content"], "Asha has reopened the conversation");
        assert_eq!(contents(stack, conversation).await.len(), 3);
    });
}

#[test]
fn a_reply_naming_a_conversation_that_is_not_the_guests_active_one_writes_nothing_there() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let own = guest_texts(stack, &hotel).await;
        let someone_elses = guest_writes(stack, &hotel.arriving.number, "Café", "Hello").await.0;

        let press = button_press(
            &hotel,
            &format!("wamid.{}", unique()),
            &format!("accept_reopen_conversation_conv#{someone_elses}"),
            false,
        );
        assert_eq!(meta_webhook(stack, &press).await.status, 200);
        assert_eq!(contents(stack, someone_elses).await, vec!["Hello"], "nothing written there");
        assert_eq!(contents(stack, own).await, vec!["Is the pool open?", "Continue"], "an ordinary reply instead");

        // The guest's own conversation once closed: the reply starts a new Reception one.
        stack.app.store.close_conversation(own, Utc::now()).await.unwrap();
        let press = button_press(
            &hotel,
            &format!("wamid.{}", unique()),
            &format!("accept_reopen_conversation_conv#{own}"),
            false,
        );
        assert_eq!(meta_webhook(stack, &press).await.status, 200);
        assert_eq!(contents(stack, own).await.len(), 2, "a closed conversation is not written to");
        let record = stack.app.store.guest_record(hotel.guest.id).await.unwrap().unwrap();
        let (_, fresh) = record.active.first().copied().expect("a new active conversation");
        assert_eq!(contents(stack, fresh).await, vec!["Continue"]);
    });
}

#[test]
fn reopen_is_refused_where_it_cannot_work() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let other = TestHotel::create(stack).await;
        let service = guest_texts(stack, &hotel).await;
        let checkin = guest_writes(stack, &hotel.arriving.number, "Reception", "Hello").await.0;
        let foreign = guest_writes(stack, &other.guest.number, "Reception", "Hello").await.0;
        let closed = guest_writes(stack, &hotel.leaving.number, "Reception", "Hello").await.0;
        stack.app.store.close_conversation(closed, Utc::now()).await.unwrap();
        let mut rita = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut hana = Socket::staff(stack, &hotel.housekeeping.token, None).await;

        let cases = [
            (false, checkin, "WhatsApp button messages are only supported for service conversations"),
            (true, service, "Access denied to this conversation"),
            (false, foreign, "Conversation not found"),
            (false, 9_007_199_254_740_991, "Conversation not found"),
            (false, closed, "Conversation is closed"),
        ];
        for (housekeeping, id, error) in cases {
            let socket = if housekeeping { &mut hana } else { &mut rita };
            socket.send(json!({"type": "reopen-temporary", "conversation_id": id})).await;
            assert_eq!(socket.expect("error").await, json!({"type": "error", "message": error}), "{id}");
        }
        rita.send_text(r#"{"type":"reopen-temporary"}"#).await;
        assert_eq!(rita.expect("error").await, json!({"type": "error", "message": "Conversation ID is required"}));
        for (conversation, count) in [(service, 1), (checkin, 1), (foreign, 1)] {
            assert_eq!(contents(stack, conversation).await.len(), count, "nothing stored in {conversation}");
        }
    });
}

#[test]
fn outside_the_window_reopen_uses_the_approved_template_or_says_why_not() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let conversation = guest_texts(stack, &hotel).await;
        let mut guest = stack.app.store.get_guest(hotel.guest.id).await.unwrap().unwrap();
        guest.last_inbound_at = Some(Utc::now() - Duration::hours(25));
        stack.app.store.put_guest(&guest).await.unwrap();

        // This stack is configured with WHATSAPP_REOPEN_TEMPLATE=lobbybee_reopen:en_GB.
        let mut rita = Socket::staff(stack, &hotel.reception.token, None).await;
        rita.send(json!({"type": "reopen-temporary", "conversation_id": conversation})).await;
        assert_eq!(rita.expect("acknowledgment").await["status"], "reopen_button_sent");
        let to = hotel.guest.number.trim_start_matches('+').to_owned();
        let sent = sent_to_guest(stack, &hotel, "template", |_| true).await;
        assert_eq!(
            sent.body,
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
                "template": {
                    "name": "lobbybee_reopen", "language": { "code": "en_GB" },
                    "components": [
                        { "type": "body", "parameters": [{ "type": "text", "text": "Reception" }] },
                        { "type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [
                            { "type": "payload", "payload": format!("accept_reopen_conversation_conv#{conversation}") }] }
                    ]
                }
            })
        );

        // Its `sent` status is the last push to Reception here: a socket of the second gateway
        // below is unknown to this gateway's Management API, which would answer 410 for it.
        assert_eq!(rita.expect("message").await["data"]["content"], prompt("Reception"));
        assert_eq!(rita.expect("delivery_status").await["data"]["status"], "sent");

        // Without a template there is nothing WhatsApp would accept: the sender is told, and
        // nothing is stored.
        let gateway = gateway_with(|config| config.reopen_template = None).await;
        let path = format!("/?token={}", hotel.reception2.token);
        let mut rob = Socket::connect_to(&gateway.ws_url(), &path).await.expect("connect");
        let stored = contents(stack, conversation).await.len();
        rob.send(json!({"type": "reopen-temporary", "conversation_id": conversation})).await;
        assert_eq!(
            rob.expect("error").await,
            json!({"type": "error", "message": "Outside the 24-hour WhatsApp window"})
        );
        assert_eq!(contents(stack, conversation).await.len(), stored);
        rob.close().await;
        gateway.shutdown().await;
    });
}

#[test]
fn an_image_sent_from_the_dashboard_reaches_whatsapp_as_a_link_it_can_fetch() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let conversation = guest_texts(stack, &hotel).await;
        let other = guest_writes(stack, &hotel.arriving.number, "Reception", "Hello").await.0;
        let upload = |to: u64| {
            let form = reqwest::multipart::Form::new().text("conversation_id", to.to_string()).part(
                "file",
                reqwest::multipart::Part::bytes(b"\xFF\xD8\xFFpool".to_vec())
                    .file_name("pool.jpg")
                    .mime_str("image/jpeg")
                    .unwrap(),
            );
            let url = format!("{}/api/chat/upload-media/", stack.gateway.http_base());
            send(http().post(url).bearer_auth(&hotel.reception.token).multipart(form))
        };
        // What the dashboard does: upload, then a `media` frame with the answer's fields.
        let uploaded = upload(conversation).await;
        assert_eq!(uploaded.status, 201, "{}", uploaded.text);
        let mut rita = Socket::staff(stack, &hotel.reception.token, None).await;
        rita.send(json!({"type": "media", "conversation_id": conversation, "file_url": uploaded.body["file_url"],
                         "filename": uploaded.body["filename"], "file_type": "image", "caption": "Our pool"}))
            .await;
        assert_eq!(rita.expect("acknowledgment").await["status"], "received");

        let sent = sent_to_guest(stack, &hotel, "image", |_| true).await;
        assert_eq!(sent.body["image"]["caption"], "Our pool");
        let link = sent.body["image"]["link"].as_str().unwrap();
        assert_ne!(link, uploaded.body["file_url"].as_str().unwrap(), "not the staff-only link");
        let fetched = http().get(link).send().await.unwrap();
        assert_eq!(fetched.status().as_u16(), 200, "WhatsApp can fetch it without a staff token");
        assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"\xFF\xD8\xFFpool");

        // A link to another conversation's file is passed on as it is (never presigned), so it
        // cannot leak that file to this guest.
        let foreign = upload(other).await.body["file_url"].as_str().unwrap().to_owned();
        rita.send(json!({"type": "media", "conversation_id": conversation, "file_url": foreign, "file_type": "image"}))
            .await;
        assert_eq!(rita.expect("acknowledgment").await["status"], "received");
        // The foreign link went out unsigned.
        sent_to_guest(stack, &hotel, "image", |body| body["image"]["link"] == foreign.as_str()).await;
    });
}
