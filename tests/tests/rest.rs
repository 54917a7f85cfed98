//! The REST API end to end (docs/api.md §3, §4): every endpoint through the gateway's HTTP
//! API, answers checked field by field, pushes checked on real sockets.

use lobbybee_e2e::client::{Answer, Socket, http, rest, send, simple_webhook};
use lobbybee_e2e::fixtures::{TestHotel, token_for};
use lobbybee_e2e::openapi::check_answer;
use lobbybee_e2e::{Stack, run, secrets, stack, unique};
use reqwest::Method;
use serde_json::{Value, json};

async fn call(stack: &Stack, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let answer = rest(stack, method.clone(), path, token, body).await;
    check_answer(method.as_str(), path, &answer);
    answer
}

async fn get(stack: &Stack, path: &str, token: &str) -> Answer {
    call(stack, Method::GET, path, Some(token), None).await
}

async fn post(stack: &Stack, path: &str, token: &str, body: Value) -> Answer {
    call(stack, Method::POST, path, Some(token), Some(body)).await
}

async fn admin(stack: &Stack, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Answer {
    let url = format!("{}/api/chat/{}", stack.gateway.http_base(), path);
    let mut request = http().request(method.clone(), url);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = send(request).await;
    check_answer(method.as_str(), path, &answer);
    answer
}

/// A guest message through the webhook; returns the conversation id.
async fn conversation_with(stack: &Stack, number: &str, department: &str) -> u64 {
    let answer = simple_webhook(
        stack,
        &json!({"whatsapp_number": number, "message": "Hello from the guest", "department": department}),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["conversation_id"].as_u64().unwrap()
}

#[test]
fn authentication_errors_have_the_dashboard_shapes() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let none = call(stack, Method::GET, "conversations/", None, None).await;
        assert_eq!((none.status, none.body), (401, json!({"detail": "Authentication credentials were not provided."})));
        let bad = get(stack, "conversations/", "garbage").await;
        assert_eq!(
            (bad.status, bad.body),
            (401, json!({"detail": "Given token not valid for any token type", "code": "token_not_valid"}))
        );
        let nobody = get(stack, "conversations", &token_for(&unique().to_string())).await;
        assert_eq!((nobody.status, nobody.body), (401, json!({"detail": "User not found", "code": "user_not_found"})));
        let accountant = get(stack, "conversations/", &hotel.accountant.token).await;
        assert_eq!(accountant.status, 403);
        assert!(accountant.body["error"].is_string());
        let unknown = rest(stack, Method::GET, "nothing/here/", Some(&hotel.reception.token), None).await;
        assert_eq!((unknown.status, unknown.body), (404, json!({"error": "Not found"})));
    });
}

#[test]
fn conversation_lists_show_exactly_what_the_caller_may_see() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let other = TestHotel::create(stack).await;
        let reception = conversation_with(stack, &hotel.guest.number, "Reception").await;
        let cafe = conversation_with(stack, &hotel.arriving.number, "Café").await;
        conversation_with(stack, &other.guest.number, "Reception").await;

        let list = get(stack, "conversations/", &hotel.reception.token).await;
        assert_eq!(list.status, 200);
        assert_eq!((&list.body["next"], &list.body["previous"]), (&Value::Null, &Value::Null));
        let items = results(&list);
        assert_eq!(items.len(), 1);
        let c = &items[0];
        assert_eq!(c["id"], reception);
        assert_eq!(c["guest"], hotel.guest.id);
        assert_eq!(c["hotel"], hotel.id.as_str());
        assert_eq!(c["hotel_name"], "Test Hotel");
        assert_eq!(c["department"], "Reception");
        assert_eq!(c["conversation_type"], "service");
        assert_eq!(c["status"], "active");
        assert_eq!(c["assigned_to"], Value::Null);
        assert_eq!(c["unread_count"], 1);
        assert_eq!(c["last_message_preview"], "Hello from the guest");
        assert_eq!(
            c["guest_info"],
            json!({"id": hotel.guest.id, "full_name": "Asha Rao", "email": "asha.rao@guest.example", "whatsapp_number": hotel.guest.number, "status": "checked_in", "room_number": "204", "floor": 2})
        );
        let last = &c["last_message"];
        assert_eq!(last["conversation"], reception);
        assert_eq!(last["sender_type"], "guest");
        assert_eq!(last["sender"], Value::Null);
        assert_eq!(last["time_ago"], "Just now");
        assert_eq!(c.as_object().unwrap().len(), 15, "exact Conversation keys");
        assert_eq!(last.as_object().unwrap().len(), 17, "exact Message keys");

        let manager = get(stack, "conversations/", &hotel.manager.token).await;
        let ids: Vec<u64> = results(&manager).iter().map(|c| c["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&reception) && ids.contains(&cafe));
        let only_cafe = get(stack, "conversations/?department=cafe", &hotel.manager.token).await;
        assert_eq!(results(&only_cafe).len(), 1);
        let forbidden = get(stack, "conversations/?department=Café", &hotel.reception.token).await;
        assert_eq!(forbidden.status, 403);
        let bad = get(stack, "conversations/?status=sleeping", &hotel.manager.token).await;
        assert_eq!(bad.status, 400);

        post(stack, "conversations/close/", &hotel.reception.token, json!({"conversation_id": reception})).await;
        assert!(results(&get(stack, "conversations/", &hotel.reception.token).await).is_empty());
        let closed = get(stack, "conversations/?status=closed", &hotel.reception.token).await;
        assert_eq!(results(&closed)[0]["status"], "closed");
        assert_eq!(results(&get(stack, "conversations/?status=all", &hotel.manager.token).await).len(), 2);
    });
}

/// The conversations of a list answer (the paged envelope's `results`).
fn results(answer: &Answer) -> &Vec<Value> {
    answer.body["results"].as_array().unwrap_or_else(|| panic!("not a paged list: {}", answer.text))
}

#[test]
fn conversation_detail_pages_and_confines_access() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let other = TestHotel::create(stack).await;
        let id = conversation_with(stack, &hotel.guest.number, "Reception").await;
        for i in 0..4 {
            simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": format!("m{i}")})).await;
        }
        let detail = get(stack, &format!("conversations/{id}/"), &hotel.reception.token).await;
        assert_eq!(detail.status, 200);
        assert_eq!(detail.body["conversation"]["id"], id);
        let contents: Vec<&str> =
            detail.body["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
        assert_eq!(contents, ["Hello from the guest", "m0", "m1", "m2", "m3"], "oldest first");
        let ids: Vec<u64> =
            detail.body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_u64().unwrap()).collect();
        let before = get(stack, &format!("conversations/{id}?before={}&limit=2", ids[3]), &hotel.reception.token).await;
        let got: Vec<u64> =
            before.body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_u64().unwrap()).collect();
        assert_eq!(got, ids[1..3]);
        let after = get(stack, &format!("conversations/{id}/?after={}", ids[2]), &hotel.reception.token).await;
        let got: Vec<u64> =
            after.body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_u64().unwrap()).collect();
        assert_eq!(got, ids[3..]);
        let participants = stack.app.store.participants(id).await.unwrap();
        assert_eq!(participants[0].staff_id, hotel.reception.user_id, "viewing adds the caller as participant");

        let not_found = json!({"error": "Conversation not found"});
        let foreign = get(stack, &format!("conversations/{id}/"), &other.manager.token).await;
        assert_eq!((foreign.status, &foreign.body), (404, &not_found), "another hotel's id is unknown");
        let unknown = get(stack, "conversations/999999999999/", &hotel.manager.token).await;
        assert_eq!((unknown.status, &unknown.body), (404, &not_found));
        let denied = get(stack, &format!("conversations/{id}/"), &hotel.housekeeping.token).await;
        assert_eq!((denied.status, denied.body), (403, json!({"error": "Access denied to this conversation"})));
        assert_eq!(get(stack, &format!("conversations/{id}/"), &hotel.manager.token).await.status, 200);
    });
}

#[test]
fn housekeeping_cannot_act_on_reception_but_a_manager_can() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let id = conversation_with(stack, &hotel.guest.number, "Reception").await;
        let denied = json!({"error": "Access denied to this conversation"});
        let hk = &hotel.housekeeping.token;
        for (path, body) in [
            ("messages/mark-read/", json!({"conversation_id": id})),
            ("conversations/close/", json!({"conversation_id": id})),
            ("messages/send/", json!({"conversation_id": id, "content": "hi"})),
            ("messages/typing/", json!({"conversation_id": id, "is_typing": true})),
            ("conversations/transfer/", json!({"conversation_id": id, "department": "Housekeeping"})),
        ] {
            let answer = post(stack, path, hk, body).await;
            assert_eq!((answer.status, &answer.body), (403, &denied), "{path}");
        }
        let read = post(stack, "messages/mark-read/", &hotel.manager.token, json!({"conversation_id": id})).await;
        assert_eq!((read.status, read.body), (200, json!({"success": true, "messages_marked": 1})));
        let sent = post(
            stack,
            "messages/send/",
            &hotel.manager.token,
            json!({"conversation_id": id, "content": "The manager here"}),
        )
        .await;
        assert_eq!(sent.status, 201);
        let closed = post(stack, "conversations/close/", &hotel.manager.token, json!({"conversation_id": id})).await;
        assert_eq!(closed.status, 200);
    });
}

#[test]
fn create_reuses_the_active_conversation_and_validates() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let other = TestHotel::create(stack).await;
        let mut room_service = Socket::staff(stack, &hotel.room_service.token, None).await;
        let body = json!({"guest_whatsapp_number": hotel.arriving.number, "department_type": "room service"});
        let created = post(stack, "conversations/create/", &hotel.manager.token, body.clone()).await;
        assert_eq!(created.status, 201);
        assert_eq!(created.body["success"], true);
        let conversation = &created.body["conversation"];
        assert_eq!(conversation["department"], "Room Service");
        assert_eq!(conversation["conversation_type"], "checkin");
        assert_eq!(conversation["last_message"], Value::Null);
        assert_eq!(room_service.expect("new_conversation").await["data"]["id"], conversation["id"]);
        let again = post(stack, "conversations/create/", &hotel.room_service.token, body).await;
        assert_eq!((again.status, &again.body["conversation"]["id"]), (201, &conversation["id"]), "reused");
        assert!(room_service.barrier().await.is_empty(), "no second new_conversation");

        let cases = vec![
            (
                json!({"guest_whatsapp_number": hotel.guest.number, "department_type": "Café"}),
                &hotel.reception.token,
                403,
                json!({"error": "Access denied to this conversation"}),
            ),
            (
                json!({"guest_whatsapp_number": other.guest.number, "department_type": "Reception"}),
                &hotel.reception.token,
                404,
                json!({"error": "Guest not found"}),
            ),
            (
                json!({"guest_whatsapp_number": hotel.departed.number, "department_type": "Reception"}),
                &hotel.reception.token,
                400,
                json!({"error": "Guest does not have an active stay"}),
            ),
            (
                json!({"department_type": "Reception"}),
                &hotel.reception.token,
                400,
                json!({"error": "Invalid data", "details": {"guest_whatsapp_number": ["This field is required."]}}),
            ),
            (
                json!({"guest_whatsapp_number": "12", "department_type": "Spa"}),
                &hotel.reception.token,
                400,
                json!({"error": "Invalid data", "details": {"guest_whatsapp_number": ["Invalid WhatsApp number format"], "department_type": ["Invalid department. Valid options: Reception, Housekeeping, Room Service, Café, Management"]}}),
            ),
        ];
        for (body, token, status, expected) in cases {
            let answer = post(stack, "conversations/create/", token, body.clone()).await;
            assert_eq!((answer.status, &answer.body), (status, &expected), "{body}");
        }
        let malformed = rest(stack, Method::POST, "conversations/create/", Some(&hotel.reception.token), None).await;
        assert_eq!(malformed.status, 400);
    });
}

#[test]
fn close_transfer_and_assign_notify_the_departments() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let id = conversation_with(stack, &hotel.guest.number, "Reception").await;
        let mut reception = Socket::staff(stack, &hotel.reception2.token, None).await;
        let mut housekeeping = Socket::staff(stack, &hotel.housekeeping.token, None).await;

        let assigned = post(
            stack,
            "conversations/assign/",
            &hotel.reception.token,
            json!({"conversation_id": id, "staff_id": hotel.reception2.user_id}),
        )
        .await;
        assert_eq!(assigned.status, 200);
        assert_eq!(assigned.body["conversation"]["assigned_to"], hotel.reception2.user_id.as_str());
        assert_eq!(
            reception.expect("conversation_update").await,
            json!({"type": "conversation_update", "data": {"type": "assigned", "conversation_id": id, "assigned_to": hotel.reception2.user_id}})
        );
        let wrong = post(
            stack,
            "conversations/assign/",
            &hotel.reception.token,
            json!({"conversation_id": id, "staff_id": hotel.housekeeping.user_id}),
        )
        .await;
        assert_eq!(wrong.status, 400);
        assert!(wrong.body["details"]["staff_id"].is_array());
        let unassigned = post(
            stack,
            "conversations/assign/",
            &hotel.reception.token,
            json!({"conversation_id": id, "staff_id": null}),
        )
        .await;
        assert_eq!(unassigned.body["conversation"]["assigned_to"], Value::Null);
        reception.expect("conversation_update").await;

        let same = post(
            stack,
            "conversations/transfer/",
            &hotel.reception.token,
            json!({"conversation_id": id, "department": "reception"}),
        )
        .await;
        assert_eq!((same.status, same.body), (400, json!({"error": "Conversation is already in Reception"})));
        let busy_id = conversation_with(stack, &hotel.guest.number, "Housekeeping").await;
        housekeeping.expect("new_conversation").await;
        housekeeping.expect("message").await;
        let busy = post(
            stack,
            "conversations/transfer/",
            &hotel.reception.token,
            json!({"conversation_id": id, "department": "Housekeeping"}),
        )
        .await;
        assert_eq!(
            (busy.status, busy.body),
            (
                409,
                json!({"error": "Guest already has an active conversation in Housekeeping", "conversation_id": busy_id})
            )
        );
        post(stack, "conversations/close/", &hotel.housekeeping.token, json!({"conversation_id": busy_id})).await;
        housekeeping.expect("close_conversation").await;

        let moved = post(
            stack,
            "conversations/transfer/",
            &hotel.reception.token,
            json!({"conversation_id": id, "department": "Housekeeping", "note": "Broken shower"}),
        )
        .await;
        assert_eq!(moved.status, 200);
        assert_eq!(moved.body["conversation"]["department"], "Housekeeping");
        assert_eq!(moved.body["conversation"]["last_message"]["sender_type"], "system");
        let note = moved.body["conversation"]["last_message"]["content"].as_str().unwrap();
        assert!(note.contains("from Reception to Housekeeping") && note.ends_with("Broken shower"), "{note}");
        let update = json!({"type": "conversation_update", "data": {"type": "transferred", "conversation_id": id, "from": "Reception", "to": "Housekeeping"}});
        assert_eq!(reception.expect("conversation_update").await, update);
        assert_eq!(housekeeping.expect("conversation_update").await, update);
        assert_eq!(housekeeping.expect("new_conversation").await["data"]["id"], id);
        // Reception lost access; Housekeeping gained it.
        assert_eq!(get(stack, &format!("conversations/{id}/"), &hotel.reception.token).await.status, 403);
        assert_eq!(get(stack, &format!("conversations/{id}/"), &hotel.housekeeping.token).await.status, 200);

        let closed =
            post(stack, "conversations/close/", &hotel.housekeeping.token, json!({"conversation_id": id})).await;
        assert_eq!(
            (closed.status, closed.body),
            (200, json!({"success": true, "message": "Conversation closed successfully", "conversation_id": id}))
        );
        assert_eq!(
            housekeeping.expect("close_conversation").await,
            json!({"type": "close_conversation", "conversation_id": id})
        );
        let twice =
            post(stack, "conversations/close/", &hotel.housekeeping.token, json!({"conversation_id": id})).await;
        assert_eq!(twice.status, 200);
        assert!(housekeeping.barrier().await.is_empty(), "closing twice tells nobody");
        let late = post(
            stack,
            "messages/send/",
            &hotel.housekeeping.token,
            json!({"conversation_id": id, "content": "hello?"}),
        )
        .await;
        assert_eq!((late.status, late.body), (409, json!({"error": "Conversation is closed"})));
        let missing = post(stack, "conversations/close/", &hotel.housekeeping.token, json!({})).await;
        assert_eq!(
            (missing.status, missing.body),
            (400, json!({"error": "Invalid data", "details": {"conversation_id": ["This field is required."]}}))
        );
    });
}

#[test]
fn send_typing_and_mark_read_push_what_the_contract_promises() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let id = conversation_with(stack, &hotel.guest.number, "Reception").await;
        let mut colleague = Socket::staff(stack, &hotel.reception2.token, None).await;
        let mut guest = Socket::guest(stack, &hotel.guest).await;

        let sent = post(
            stack,
            "messages/send/",
            &hotel.reception.token,
            json!({"conversation_id": id, "content": "Hello Asha"}),
        )
        .await;
        assert_eq!(sent.status, 201);
        let m = &sent.body;
        assert_eq!((m["conversation"].as_u64(), m["conversation_id"].as_u64()), (Some(id), Some(id)));
        assert_eq!(m["sender_type"], "staff");
        assert_eq!(m["sender"], hotel.reception.user_id.as_str());
        assert_eq!(m["sender_name"], hotel.reception.name.as_str());
        assert_eq!(m["delivery_status"], "queued");
        assert_eq!(m["time_ago"], "Just now");
        assert_eq!(colleague.expect("message").await["data"]["id"], m["id"]);
        assert_eq!(guest.expect("message").await["data"]["content"], "Hello Asha");

        let too_long = post(
            stack,
            "messages/send/",
            &hotel.reception.token,
            json!({"conversation_id": id, "content": "é".repeat(4097)}),
        )
        .await;
        assert_eq!(
            (too_long.status, too_long.body),
            (400, json!({"error": "Invalid data", "details": {"content": ["Message too long"]}}))
        );
        let image = post(
            stack,
            "messages/send/",
            &hotel.reception.token,
            json!({"conversation_id": id, "message_type": "image"}),
        )
        .await;
        assert_eq!(image.status, 400);
        assert_eq!(image.body["details"]["media_url"], json!(["media_url is required for image messages"]));

        let typing =
            post(stack, "messages/typing/", &hotel.reception.token, json!({"conversation_id": id, "is_typing": true}))
                .await;
        assert_eq!((typing.status, typing.body), (200, json!({"success": true})));
        let expected = json!({"type": "typing", "data": {"conversation_id": id, "user_id": hotel.reception.user_id, "user_name": hotel.reception.name, "is_typing": true}});
        assert_eq!(colleague.expect("typing").await, expected);
        assert_eq!(guest.expect("typing").await, expected);

        let read = post(
            stack,
            "messages/mark-read/",
            &hotel.reception.token,
            json!({"conversation_id": id, "message_ids": []}),
        )
        .await;
        assert_eq!((read.status, read.body), (200, json!({"success": true, "messages_marked": 1})));
        let receipt = guest.expect("read_receipt").await;
        assert_eq!(receipt["data"]["reader"], "staff");
        assert_eq!(receipt["data"]["conversation_id"], id);
        let again = post(stack, "messages/mark-read/", &hotel.reception.token, json!({"conversation_id": id})).await;
        assert_eq!(again.body["messages_marked"], 0);
        let listed = get(stack, "conversations/", &hotel.reception.token).await;
        assert_eq!(results(&listed)[0]["unread_count"], 0);
        let bad = post(stack, "messages/mark-read/", &hotel.reception.token, json!({"conversation_id": "abc"})).await;
        assert_eq!(
            (bad.status, bad.body),
            (400, json!({"error": "Invalid data", "details": {"conversation_id": ["A valid integer is required."]}}))
        );
    });
}

#[test]
fn guest_conversation_type_for_the_bridge() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let path = |n: &str| format!("guest/conversation-type/?phone_number={}", n.replace('+', "%2B"));
        let none = admin(stack, Method::GET, &path(&hotel.guest.number), Some(secrets::API_KEY), None).await;
        assert_eq!(
            (none.status, none.body),
            (
                200,
                json!({"conversation_type": "general", "last_conversation_timing": null, "guest_name": "Asha Rao", "hotel_id": null, "department": null, "checkin_status": "checked_in"})
            )
        );
        conversation_with(stack, &hotel.guest.number, "Room Service").await;
        let some = admin(stack, Method::GET, &path(&hotel.guest.number), Some(secrets::API_KEY), None).await;
        assert_eq!(some.body["conversation_type"], "service");
        assert_eq!(some.body["department"], "Room Service");
        assert_eq!(some.body["hotel_id"], hotel.id.as_str());
        assert!(some.body["last_conversation_timing"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            admin(stack, Method::GET, "guest/conversation-type/", Some(secrets::API_KEY), None).await.status,
            400
        );
        assert_eq!(admin(stack, Method::GET, &path("12"), Some(secrets::API_KEY), None).await.status, 400);
        assert_eq!(
            admin(stack, Method::GET, &path(&format!("+1{}", unique())), Some(secrets::API_KEY), None).await.status,
            404
        );
        assert_eq!(admin(stack, Method::GET, &path(&hotel.guest.number), None, None).await.status, 401);
    });
}

#[test]
fn provisioning_creates_replaces_and_deactivates() {
    run(async {
        let stack = stack().await;
        let key = Some(secrets::API_KEY);
        let hotel_id = format!("crm-{}", unique());
        let hotel_body =
            json!({"name": "Seaside", "whatsapp_phone_number_id": unique().to_string(), "timezone": "Europe/Lisbon"});
        let created =
            admin(stack, Method::PUT, &format!("admin/hotels/{hotel_id}"), key, Some(hotel_body.clone())).await;
        assert_eq!(created.status, 201);
        assert_eq!(
            created.body["departments"],
            json!(["Reception", "Housekeeping", "Room Service", "Café", "Management"])
        );
        assert_eq!(
            admin(stack, Method::PUT, &format!("admin/hotels/{hotel_id}/"), key, Some(hotel_body)).await.status,
            200
        );

        let staff_id = unique().to_string();
        let staff_body = json!({"hotel_id": hotel_id, "user_type": "receptionist", "departments": ["reception"], "first_name": "Nia", "last_name": "Lopes", "username": "nia", "is_active": true});
        let staff = admin(stack, Method::PUT, &format!("admin/staff/{staff_id}"), key, Some(staff_body)).await;
        assert_eq!(staff.status, 201);
        assert_eq!(staff.body["departments"], json!(["Reception"]));

        let guest_id = unique();
        let number = format!("+1{guest_id}");
        let guest = admin(stack, Method::PUT, &format!("admin/guests/{guest_id}"), key, Some(json!({"hotel_id": hotel_id, "whatsapp_number": number.replace("+1", "001"), "full_name": "Tom", "status": "checked_in"}))).await;
        assert_eq!(
            (guest.status, guest.body["whatsapp_number"].as_str()),
            (201, Some(number.as_str())),
            "stored canonically"
        );
        let stay_id = unique();
        let stay = admin(stack, Method::PUT, &format!("admin/stays/{stay_id}"), key, Some(json!({"hotel_id": hotel_id, "guest_id": guest_id, "room_number": "12", "floor": 1, "status": "active", "check_in_date": "2026-11-23", "check_out_date": "2026-11-30"}))).await;
        assert_eq!(stay.status, 201);
        assert_eq!(stay.body["stay"]["room_number"], "12");
        let guest_token = stay.body["guest_token"].as_str().unwrap().to_owned();
        let mut guest_socket =
            Socket::connect(stack, &format!("/?whatsapp_number={number}&guest_token={guest_token}")).await.unwrap();
        guest_socket.barrier().await;
        let bad_date = admin(
            stack,
            Method::PUT,
            &format!("admin/stays/{stay_id}"),
            key,
            Some(
                json!({"hotel_id": hotel_id, "guest_id": guest_id, "status": "active", "check_in_date": "23/11/2026"}),
            ),
        )
        .await;
        assert_eq!(bad_date.status, 400);
        assert!(bad_date.body["details"]["check_in_date"].is_array());

        // Deactivation: the next request and the next connect are refused, open sockets close.
        let token = token_for(&staff_id);
        let mut socket = Socket::staff(stack, &token, None).await;
        socket.barrier().await;
        assert_eq!(admin(stack, Method::DELETE, &format!("admin/staff/{staff_id}"), key, None).await.status, 204);
        socket.closed().await;
        let refused = get(stack, "conversations/", &token).await;
        assert_eq!(
            (refused.status, refused.body),
            (401, json!({"detail": "User is inactive", "code": "user_inactive"}))
        );
        assert_eq!(Socket::connect(stack, &format!("/?token={token}")).await.err(), Some(401));

        assert_eq!(
            admin(stack, Method::PUT, &format!("admin/hotels/{hotel_id}"), None, Some(json!({"name": "x"})))
                .await
                .status,
            401
        );
        assert_eq!(
            admin(stack, Method::PUT, &format!("admin/hotels/{hotel_id}"), Some("wrong"), Some(json!({"name": "x"})))
                .await
                .status,
            401
        );
        let invalid = admin(
            stack,
            Method::PUT,
            &format!("admin/staff/{staff_id}"),
            key,
            Some(json!({"hotel_id": hotel_id, "user_type": "wizard of oz!"})),
        )
        .await;
        assert_eq!(
            (invalid.status, invalid.body),
            (
                400,
                json!({"error": "Invalid data", "details": {"user_type": ["\"wizard of oz!\" is not a valid choice."]}})
            )
        );

        // A hotel admin provisions its own hotel only.
        let other = TestHotel::create(stack).await;
        let own = call(
            stack,
            Method::PUT,
            &format!("admin/hotels/{}", other.id),
            Some(&other.admin.token),
            Some(json!({"name": "Renamed"})),
        )
        .await;
        assert_eq!(own.status, 200);
        let foreign = call(
            stack,
            Method::PUT,
            &format!("admin/hotels/{hotel_id}"),
            Some(&other.admin.token),
            Some(json!({"name": "Mine now"})),
        )
        .await;
        assert_eq!(foreign.status, 403);
        let receptionist = call(
            stack,
            Method::PUT,
            &format!("admin/hotels/{}", other.id),
            Some(&other.reception.token),
            Some(json!({"name": "x"})),
        )
        .await;
        assert_eq!(receptionist.status, 403);
    });
}

#[test]
fn media_upload_and_links() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let other = TestHotel::create(stack).await;
        let id = conversation_with(stack, &hotel.guest.number, "Reception").await;
        let url = format!("{}/api/chat/upload-media/", stack.gateway.http_base());
        let form = |bytes: Vec<u8>| {
            reqwest::multipart::Form::new().text("conversation_id", id.to_string()).text("caption", "Our pool").part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("pool photo.jpg").mime_str("image/jpeg").unwrap(),
            )
        };
        let uploaded = send(
            http()
                .post(&url)
                .bearer_auth(&hotel.reception.token)
                .multipart(form(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])),
        )
        .await;
        assert_eq!(uploaded.status, 201, "{}", uploaded.text);
        assert_eq!(uploaded.body["filename"], "pool_photo.jpg");
        assert_eq!(uploaded.body["file_type"], "image");
        assert_eq!(uploaded.body["file_size"], 7);
        assert_eq!(uploaded.body["caption"], "Our pool");
        assert_eq!(uploaded.body["conversation_id"], id);
        let file_url = uploaded.body["file_url"].as_str().unwrap().to_owned();
        assert!(file_url.starts_with(&format!("{}/api/chat/media/uploads/", stack.gateway.http_base())));

        let redirect = send(http().get(&file_url).bearer_auth(&hotel.reception.token)).await;
        assert_eq!(redirect.status, 302);
        let location = redirect.headers["location"].to_str().unwrap().to_owned();
        let fetched = http().get(&location).send().await.unwrap();
        assert_eq!(fetched.status().as_u16(), 200, "the presigned URL serves the file");
        assert_eq!(fetched.bytes().await.unwrap().as_ref(), &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        assert_eq!(send(http().get(&file_url).bearer_auth(&other.manager.token)).await.status, 404);
        assert_eq!(send(http().get(&file_url).bearer_auth(&hotel.housekeeping.token)).await.status, 404);

        let exe = reqwest::multipart::Form::new().text("conversation_id", id.to_string()).part(
            "file",
            reqwest::multipart::Part::bytes(b"MZ".to_vec())
                .file_name("x.exe")
                .mime_str("application/x-msdownload")
                .unwrap(),
        );
        let refused = send(http().post(&url).bearer_auth(&hotel.reception.token).multipart(exe)).await;
        assert_eq!(
            (refused.status, refused.body),
            (400, json!({"error": "Invalid data", "details": {"file": ["Unsupported file type."]}}))
        );
        let too_big =
            send(http().post(&url).bearer_auth(&hotel.reception.token).multipart(form(vec![0; 4 * 1024 * 1024 + 1])))
                .await;
        assert_eq!((too_big.status, too_big.body), (413, json!({"error": "File too large"})));

        let presign = post(stack, "media/upload-url/", &hotel.reception.token, json!({"conversation_id": id, "filename": "menu.pdf", "content_type": "application/pdf", "size": 5_000_000})).await;
        assert_eq!(presign.status, 200);
        assert_eq!(presign.body["expires_in"], 300);
        let put = http()
            .put(presign.body["upload_url"].as_str().unwrap())
            .header("content-type", "application/pdf")
            .body(b"%PDF-1.4".to_vec())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "presigned PUT works: {}", put.status());
        let oversized = post(
            stack,
            "media/upload-url/",
            &hotel.reception.token,
            json!({"conversation_id": id, "filename": "movie.mp4", "content_type": "video/mp4", "size": 17_000_000}),
        )
        .await;
        assert_eq!(oversized.status, 413);
    });
}

#[test]
fn cors_preflight_for_configured_origins() {
    run(async {
        let stack = stack().await;
        let url = format!("{}/api/chat/conversations/", stack.gateway.http_base());
        let preflight = |origin: &'static str| {
            http()
                .request(Method::OPTIONS, &url)
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization,content-type")
        };
        let allowed = send(preflight("https://dashboard.example")).await;
        assert_eq!(allowed.status, 204);
        assert_eq!(allowed.headers["access-control-allow-origin"], "https://dashboard.example");
        let headers = allowed.headers["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"));
        let refused = send(preflight("https://evil.example")).await;
        assert!(refused.headers.get("access-control-allow-origin").is_none());
    });
}
