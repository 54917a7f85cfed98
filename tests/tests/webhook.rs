//! The guest webhook end to end (docs/api.md §6): signed simple and Meta bodies through the
//! gateway's Function URL, stored in DynamoDB, pushed to staff sockets.

use lobbybee::auth::signature;
use lobbybee::store::PageDirection;
use lobbybee_e2e::client::{Socket, http, meta_webhook, send, simple_webhook, webhook};
use lobbybee_e2e::fixtures::TestHotel;
use lobbybee_e2e::{Stack, run, secrets, stack, unique};
use serde_json::{Value, json};

/// A fixture of `tests/fixtures` with the test hotel's phone number id and guest number.
fn fixture_for(name: &str, hotel: &TestHotel, wamid: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let original: Value = serde_json::from_str(&raw).unwrap();
    let value = &original["entry"][0]["changes"][0]["value"];
    let mut text = raw.replace(value["metadata"]["phone_number_id"].as_str().unwrap(), &hotel.phone_number_id);
    if let Some(from) = value["messages"][0]["from"].as_str() {
        text = text.replace(from, hotel.guest.number.trim_start_matches('+'));
    }
    for pointer in ["/messages/0/id", "/statuses/0/id"] {
        if let Some(id) = value.pointer(pointer).and_then(Value::as_str) {
            text = text.replace(id, wamid);
        }
    }
    text
}

async fn message_count(stack: &Stack, conversation: u64) -> usize {
    stack.app.store.messages(conversation, PageDirection::Latest, 500).await.unwrap().messages.len()
}

#[test]
fn a_signed_simple_message_answers_201_and_reaches_reception_staff() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut room_service = Socket::staff(stack, &hotel.room_service.token, None).await;
        let answer = simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": "I need help with my room", "message_type": "text", "media_url": null, "media_filename": null})).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let conversation = answer.body["conversation_id"].as_u64().unwrap();
        let message_id = answer.body["message_id"].as_u64().unwrap();
        assert_eq!(
            answer.body,
            json!({"success": true, "message_id": message_id, "conversation_id": conversation, "department": "Reception", "conversation_type": "service", "conversation_created": true})
        );
        let created = staff.expect("new_conversation").await;
        assert_eq!(created["data"]["id"], conversation);
        assert_eq!(created["data"]["department"], "Reception");
        assert_eq!(created["data"]["guest_info"]["full_name"], "Asha Rao");
        let frame = staff.expect("message").await;
        let stored = stack.app.store.get_message(conversation, message_id).await.unwrap().unwrap();
        assert_eq!(
            frame,
            json!({"type": "message", "data": {
                "id": message_id, "conversation_id": conversation, "sender_type": "guest", "sender_id": null,
                "sender_name": "Asha Rao", "message_type": "text", "content": "I need help with my room",
                "media_url": null, "media_filename": null, "is_read": false, "delivery_status": null,
                "created_at": lobbybee::clock::iso(stored.created_at), "updated_at": lobbybee::clock::iso(stored.updated_at),
                "department": "Reception",
                "guest_info": {"id": hotel.guest.id, "name": "Asha Rao", "whatsapp_number": hotel.guest.number, "room_number": "204", "floor": 2}
            }})
        );
        assert!(room_service.barrier().await.is_empty());

        let again =
            simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": "Still waiting"})).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.body["conversation_id"], conversation);
        assert_eq!(again.body["conversation_created"], false);
        assert_eq!(again.body["message_id"], message_id + 1);
        assert_eq!(staff.expect("message").await["data"]["content"], "Still waiting");
    });
}

#[test]
fn departments_with_spaces_and_accents_route_to_their_staff() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut room_service = Socket::staff(stack, &hotel.room_service.token, None).await;
        let mut cafe = Socket::staff(stack, &hotel.cafe.token, Some("Café")).await;
        let rs = simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": "Breakfast for two", "department": "room service"})).await;
        assert_eq!((rs.status, rs.body["department"].as_str()), (201, Some("Room Service")));
        assert_eq!(room_service.expect("new_conversation").await["data"]["department"], "Room Service");
        assert_eq!(room_service.expect("message").await["data"]["department"], "Room Service");
        let cf = simple_webhook(
            stack,
            &json!({"whatsapp_number": hotel.guest.number, "message": "A flat white", "department": "Restaurant"}),
        )
        .await;
        assert_eq!((cf.status, cf.body["department"].as_str()), (201, Some("Café")));
        assert_eq!(cafe.expect("new_conversation").await["data"]["department"], "Café");
        assert_eq!(cafe.expect("message").await["data"]["content"], "A flat white");
        assert_ne!(rs.body["conversation_id"], cf.body["conversation_id"]);
        assert!(room_service.barrier().await.iter().all(|f| f["type"] != "message"));
    });
}

#[test]
fn conversation_type_follows_guest_status_and_conversation_id_is_honoured() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        for (guest, kind) in [(&hotel.guest, "service"), (&hotel.arriving, "checkin"), (&hotel.leaving, "general")] {
            let a = simple_webhook(stack, &json!({"whatsapp_number": guest.number, "message": "hi"})).await;
            assert_eq!((a.status, a.body["conversation_type"].as_str()), (201, Some(kind)), "{}", guest.name);
        }
        let first = simple_webhook(
            stack,
            &json!({"whatsapp_number": hotel.guest.number, "message": "to housekeeping", "department": "Housekeeping"}),
        )
        .await;
        let housekeeping = first.body["conversation_id"].as_u64().unwrap();
        let routed = simple_webhook(
            stack,
            &json!({"whatsapp_number": hotel.guest.number, "message": "more", "conversation_id": housekeeping}),
        )
        .await;
        assert_eq!((routed.status, routed.body["conversation_id"].as_u64()), (201, Some(housekeeping)));
        assert_eq!(routed.body["department"], "Housekeeping");
        let other = simple_webhook(
            stack,
            &json!({"whatsapp_number": hotel.arriving.number, "message": "not mine", "conversation_id": housekeeping}),
        )
        .await;
        assert_eq!((other.status, other.body.clone()), (404, json!({"error": "Conversation not found"})));
        let unknown = simple_webhook(
            stack,
            &json!({"whatsapp_number": hotel.guest.number, "message": "x", "conversation_id": 987_654_321_012u64}),
        )
        .await;
        assert_eq!(unknown.status, 404);
    });
}

#[test]
fn bad_input_gets_the_exact_answer_and_stores_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let unknown = format!("+1{}", unique());
        let cases = vec![
            (json!({"whatsapp_number": unknown, "message": "hi"}), 404, json!({"error": "Guest not found"})),
            (
                json!({"whatsapp_number": hotel.departed.number, "message": "hi"}),
                400,
                json!({"error": "Guest does not have an active stay"}),
            ),
            (
                json!({"whatsapp_number": hotel.guest.number, "message": "   "}),
                400,
                json!({"error": "Invalid data", "details": {"message": ["This field may not be blank."]}}),
            ),
            (
                json!({"whatsapp_number": hotel.guest.number}),
                400,
                json!({"error": "Invalid data", "details": {"message": ["This field is required."]}}),
            ),
            (
                json!({"whatsapp_number": "123", "message": "hi"}),
                400,
                json!({"error": "Invalid data", "details": {"whatsapp_number": ["Invalid WhatsApp number format"]}}),
            ),
            (
                json!({"message": "hi"}),
                400,
                json!({"error": "Invalid data", "details": {"whatsapp_number": ["This field is required."]}}),
            ),
            (
                json!({"whatsapp_number": hotel.guest.number, "message": "hi", "department": "Spa"}),
                400,
                json!({"error": "Invalid data", "details": {"department": ["Invalid department. Valid options: Reception, Housekeeping, Room Service, Café, Management"]}}),
            ),
            (
                json!({"whatsapp_number": hotel.guest.number, "message": "hi", "message_type": "sticker"}),
                400,
                json!({"error": "Invalid data", "details": {"message_type": ["\"sticker\" is not a valid choice."]}}),
            ),
            (
                json!({"whatsapp_number": hotel.guest.number, "message": "hi", "message_type": "system"}),
                400,
                json!({"error": "Invalid data", "details": {"message_type": ["Guests cannot send system messages"]}}),
            ),
            (
                json!({"whatsapp_number": hotel.guest.number, "message": "look", "message_type": "image"}),
                400,
                json!({"error": "Invalid data", "details": {"media_url": ["media_url is required for image messages"]}}),
            ),
            (
                json!({"whatsapp_number": 12345, "message": "hi"}),
                400,
                json!({"error": "Invalid data", "details": {"whatsapp_number": ["Not a valid string."]}}),
            ),
            (
                json!({"whatsapp_number": hotel.guest.number, "message": "x".repeat(4097)}),
                400,
                json!({"error": "Invalid data", "details": {"message": ["Message too long"]}}),
            ),
        ];
        for (body, status, expected) in cases {
            let answer = simple_webhook(stack, &body).await;
            assert_eq!((answer.status, &answer.body), (status, &expected), "{body:.80}");
        }
        let huge = json!({"whatsapp_number": hotel.guest.number, "message": "x".repeat(300 * 1024)});
        assert_eq!(simple_webhook(stack, &huge).await.status, 413);
        let record = stack.app.store.guest_record(hotel.guest.id).await.unwrap().unwrap();
        assert!(record.active.is_empty(), "nothing was stored for the guest");
        assert!(record.guest.last_inbound_at.is_none());
    });
}

#[test]
fn unsigned_or_wrongly_signed_posts_are_401_and_store_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let body = json!({"whatsapp_number": hotel.guest.number, "message": "hi"}).to_string();
        let json_type = ("content-type", "application/json".to_owned());
        let unsigned = webhook(stack, body.as_bytes(), std::slice::from_ref(&json_type)).await;
        assert_eq!((unsigned.status, unsigned.body.clone()), (401, json!({"error": "Invalid signature"})));
        let wrong = signature::sign(b"not-the-secret", body.as_bytes());
        let answer = webhook(stack, body.as_bytes(), &[json_type.clone(), ("x-signature-256", wrong)]).await;
        assert_eq!(answer.status, 401);
        let meta = fixture_for("whatsapp-text.json", &hotel, &format!("wamid.{}", unique()));
        let meta_wrong = signature::sign(secrets::WEBHOOK.as_bytes(), meta.as_bytes());
        let answer = webhook(stack, meta.as_bytes(), &[json_type, ("x-hub-signature-256", meta_wrong)]).await;
        assert_eq!(answer.status, 401, "the Meta format needs the app secret");
        let record = stack.app.store.guest_record(hotel.guest.id).await.unwrap().unwrap();
        assert!(record.active.is_empty());
    });
}

#[test]
fn form_encoded_bodies_are_accepted() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let body = format!(
            "whatsapp_number={}&message=Hello+from+a+form&department=Reception",
            hotel.guest.number.replace('+', "%2B")
        );
        let sig = signature::sign(secrets::WEBHOOK.as_bytes(), body.as_bytes());
        let answer = webhook(
            stack,
            body.as_bytes(),
            &[("content-type", "application/x-www-form-urlencoded".into()), ("x-signature-256", sig)],
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let id = answer.body["message_id"].as_u64().unwrap();
        let conversation = answer.body["conversation_id"].as_u64().unwrap();
        assert_eq!(stack.app.store.get_message(conversation, id).await.unwrap().unwrap().content, "Hello from a form");
    });
}

#[test]
fn meta_verification_handshake() {
    run(async {
        let stack = stack().await;
        let url = |token: &str| {
            format!(
                "{}/api/chat/guest-webhook/?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
                stack.gateway.http_base()
            )
        };
        let ok = send(http().get(url(secrets::VERIFY))).await;
        assert_eq!((ok.status, ok.text.as_str()), (200, "1158201444"));
        let wrong = send(http().get(url("guess"))).await;
        assert_eq!(wrong.status, 403);
    });
}

#[test]
fn meta_text_image_and_status_payloads() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;

        let text_id = format!("wamid.{}", unique());
        let text = meta_webhook(stack, &fixture_for("whatsapp-text.json", &hotel, &text_id)).await;
        assert_eq!((text.status, text.body.clone()), (200, json!({"success": true})));
        staff.expect("new_conversation").await;
        let frame = staff.expect("message").await;
        assert_eq!(frame["data"]["content"], "Could I get two more towels please?");
        assert_eq!(frame["data"]["department"], "Reception");
        let conversation = frame["data"]["conversation_id"].as_u64().unwrap();

        let image_id = format!("wamid.{}", unique());
        let image = meta_webhook(stack, &fixture_for("whatsapp-image.json", &hotel, &image_id)).await;
        assert_eq!(image.status, 200);
        let frame = staff.expect("message").await;
        assert_eq!(frame["data"]["message_type"], "image");
        assert_eq!(frame["data"]["content"], "The sink is leaking");
        assert_eq!(frame["data"]["conversation_id"], conversation, "joins the active conversation");
        // The media was fetched from the Graph API into the bucket; the link redirects staff.
        let media_url = frame["data"]["media_url"].as_str().unwrap().to_owned();
        assert!(
            media_url.starts_with(&format!("{}/api/chat/media/whatsapp/", stack.gateway.http_base())),
            "{media_url}"
        );
        let redirect = lobbybee_e2e::client::send(http().get(&media_url).bearer_auth(&hotel.reception.token)).await;
        assert_eq!(redirect.status, 302);
        let bytes =
            http().get(redirect.headers["location"].to_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(bytes.as_ref(), b"fake-media-1484029172183297");
        assert!(media_url.contains(&format!("/whatsapp/{}/{conversation}/", hotel.id)), "{media_url}");
        let other = lobbybee_e2e::client::send(http().get(&media_url).bearer_auth(&hotel.housekeeping.token)).await;
        assert_eq!(other.status, 404, "only staff who may see the conversation open its media");

        // A staff reply goes out through the outbound queue and gets a wamid; the status webhook
        // for that wamid moves it to `delivered`.
        staff.send(json!({"type": "text", "conversation_id": conversation, "content": "Sending someone up"})).await;
        let message_id = staff.expect("acknowledgment").await["message_id"].as_u64().unwrap();
        assert_eq!(staff.expect("delivery_status").await["data"]["status"], "sent");
        let wamid =
            stack.app.store.get_message(conversation, message_id).await.unwrap().unwrap().provider_message_id.unwrap();
        let status = meta_webhook(stack, &fixture_for("whatsapp-status.json", &hotel, &wamid)).await;
        assert_eq!(status.status, 200);
        assert_eq!(
            staff.expect("delivery_status").await,
            json!({"type": "delivery_status", "data": {"conversation_id": conversation, "message_id": message_id, "status": "delivered"}})
        );
        let stored = stack.app.store.get_message(conversation, message_id).await.unwrap().unwrap();
        assert_eq!(stored.delivery_status, Some(lobbybee::model::DeliveryStatus::Delivered));
        // The same status again changes nothing and tells nobody.
        meta_webhook(stack, &fixture_for("whatsapp-status.json", &hotel, &wamid)).await;
        assert!(staff.barrier().await.is_empty());
    });
}

#[test]
fn unknown_numbers_and_phone_ids_are_accepted_and_skipped() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let raw = fixture_for("whatsapp-text.json", &hotel, &format!("wamid.{}", unique()))
            .replace(hotel.guest.number.trim_start_matches('+'), "15550009999");
        assert_eq!(meta_webhook(stack, &raw).await.status, 200);
        let other_phone = raw.replace(&hotel.phone_number_id, "000111222");
        assert_eq!(meta_webhook(stack, &other_phone).await.status, 200);
        assert!(stack.app.store.guest_record(hotel.guest.id).await.unwrap().unwrap().active.is_empty());
    });
}

#[test]
fn the_same_provider_id_twice_and_concurrently_stores_one_message() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let pmid = format!("bridge-{}", unique());
        let body = json!({"whatsapp_number": hotel.guest.number, "message": "only once", "provider_message_id": pmid});
        let first = simple_webhook(stack, &body).await;
        assert_eq!(first.status, 201);
        let repeat = simple_webhook(stack, &body).await;
        assert_eq!((repeat.status, &repeat.body), (201, &first.body), "a repeat answers what the first answered");
        let conversation = first.body["conversation_id"].as_u64().unwrap();
        assert_eq!(message_count(stack, conversation).await, 1);

        let wamid = format!("wamid.{}", unique());
        let raw = fixture_for("whatsapp-text.json", &hotel, &wamid);
        let answers = futures::future::join_all((0..4).map(|_| meta_webhook(stack, &raw))).await;
        assert!(answers.iter().all(|a| a.status == 200));
        assert_eq!(message_count(stack, conversation).await, 2, "four concurrent copies, one message");

        let concurrent = json!({"whatsapp_number": hotel.arriving.number, "message": "race", "provider_message_id": format!("race-{}", unique())});
        let answers = futures::future::join_all((0..4).map(|_| simple_webhook(stack, &concurrent))).await;
        let bodies: Vec<&Value> = answers.iter().map(|a| &a.body).collect();
        assert!(answers.iter().all(|a| a.status == 201));
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every copy answers the same ids: {bodies:?}");
        let conversation = bodies[0]["conversation_id"].as_u64().unwrap();
        assert_eq!(message_count(stack, conversation).await, 1);
    });
}
