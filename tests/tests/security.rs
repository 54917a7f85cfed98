//! Isolation and bounds, attacked from outside (docs/api.md §3, §8; docs/security.md): hotel
//! admins stay in their hotel, rights follow the stored profile at once (on open sockets too),
//! subscriptions grant nothing, every role the CRM syncs is stored and only chat roles chat,
//! and oversized input is a 4xx. Every refusal is checked to have changed nothing, by reading
//! back as an allowed caller or from the store.

use lobbybee::department::Department;
use lobbybee::model::UserType;
use lobbybee::store::PageDirection;
use lobbybee_e2e::client::{Answer, Socket, guest_writes, http, rest, send, simple_webhook};
use lobbybee_e2e::fixtures::{TestHotel, TestStaff};
use lobbybee_e2e::openapi::check_answer;
use lobbybee_e2e::{Stack, run, secrets, stack, unique};
use reqwest::Method;
use serde_json::{Value, json};

/// A REST call checked against docs/openapi.yaml; `credential` is a bearer token, or the API key
/// when it starts with `key:`.
async fn call(stack: &Stack, method: Method, path: &str, credential: &str, body: Option<Value>) -> Answer {
    let answer = match credential.strip_prefix("key:") {
        Some(key) => {
            let url = format!("{}/api/chat/{path}", stack.gateway.http_base());
            let mut request = http().request(method.clone(), url).header("x-api-key", key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            send(request).await
        }
        None => rest(stack, method.clone(), path, Some(credential), body).await,
    };
    check_answer(method.as_str(), path, &answer);
    answer
}

fn key() -> String {
    format!("key:{}", secrets::API_KEY)
}

async fn message_count(stack: &Stack, conversation: u64) -> usize {
    stack.app.store.messages(conversation, PageDirection::Latest, 500).await.expect("messages").messages.len()
}

fn forbidden(answer: &Answer) {
    assert_eq!(
        (answer.status, &answer.body),
        (403, &json!({"error": "You may only provision your own hotel"})),
        "{}",
        answer.text
    );
}

#[test]
fn a_hotel_admin_provisions_only_records_that_are_and_stay_in_its_hotel() {
    run(async {
        let stack = stack().await;
        let (a, b) = (TestHotel::create(stack).await, TestHotel::create(stack).await);
        let store = &stack.app.store;
        let admin = &a.admin.token;

        // Another hotel's staff member: neither taken over (body naming hotel A) nor changed in
        // place (body naming hotel B), nor deactivated.
        let victim = store.get_staff(&b.reception.user_id).await.unwrap().expect("B's receptionist");
        let path = format!("admin/staff/{}", b.reception.user_id);
        for hotel in [&a.id, &b.id] {
            let body = json!({"hotel_id": hotel, "user_type": "hotel_admin", "departments": ["Reception"]});
            forbidden(&call(stack, Method::PUT, &path, admin, Some(body)).await);
        }
        forbidden(&call(stack, Method::DELETE, &path, admin, None).await);
        assert_eq!(store.get_staff(&b.reception.user_id).await.unwrap(), Some(victim), "B's member unchanged");

        // Another hotel's guest and stay: the same.
        let guest = store.get_guest(b.guest.id).await.unwrap().expect("B's guest");
        let body = json!({"hotel_id": a.id, "whatsapp_number": "+15550009999", "full_name": "Taken"});
        forbidden(&call(stack, Method::PUT, &format!("admin/guests/{}", b.guest.id), admin, Some(body)).await);
        assert_eq!(store.get_guest(b.guest.id).await.unwrap(), Some(guest));
        let stay = store.get_stay(b.guest.stay_id).await.unwrap().expect("B's stay");
        let body = json!({"hotel_id": a.id, "guest_id": a.guest.id, "status": "active", "room_number": "1"});
        forbidden(&call(stack, Method::PUT, &format!("admin/stays/{}", b.guest.stay_id), admin, Some(body)).await);
        assert_eq!(store.get_stay(b.guest.stay_id).await.unwrap(), Some(stay));
        forbidden(
            &call(stack, Method::PUT, &format!("admin/hotels/{}", b.id), admin, Some(json!({"name": "X"}))).await,
        );

        // Its own hotel's records it may change; the CRM key may change any.
        let own =
            json!({"hotel_id": a.id, "user_type": "receptionist", "departments": ["Reception"], "first_name": "Rita"});
        assert_eq!(
            call(stack, Method::PUT, &format!("admin/staff/{}", a.reception.user_id), admin, Some(own)).await.status,
            200
        );
        let crm =
            json!({"hotel_id": b.id, "user_type": "receptionist", "departments": ["Reception"], "first_name": "Rob"});
        assert_eq!(call(stack, Method::PUT, &path, &key(), Some(crm)).await.status, 200);
    });
}

#[test]
fn guest_conversation_type_is_confined_to_a_hotel_admins_hotel() {
    run(async {
        let stack = stack().await;
        let (a, b) = (TestHotel::create(stack).await, TestHotel::create(stack).await);
        guest_writes(stack, &b.guest.number, "Reception", "Hello").await;
        let path = |number: &str| format!("guest/conversation-type/?phone_number={}", number.replace('+', "%2B"));

        let leak = call(stack, Method::GET, &path(&b.guest.number), &a.admin.token, None).await;
        assert_eq!((leak.status, leak.body), (404, json!({"error": "Guest not found"})));
        let own = call(stack, Method::GET, &path(&a.guest.number), &a.admin.token, None).await;
        assert_eq!((own.status, &own.body["guest_name"]), (200, &json!("Asha Rao")));
        let crm = call(stack, Method::GET, &path(&b.guest.number), &key(), None).await;
        assert_eq!((crm.status, &crm.body["hotel_id"]), (200, &json!(b.id)));
    });
}

#[test]
fn every_role_the_crm_syncs_is_stored_and_only_chat_roles_may_chat() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        for role in ["platform_admin", "platform_staff", "other_staff", "night_auditor"] {
            let id = unique().to_string();
            let body =
                json!({"hotel_id": hotel.id, "user_type": role, "departments": ["Reception"], "first_name": "Pat"});
            let stored = call(stack, Method::PUT, &format!("admin/staff/{id}"), &key(), Some(body)).await;
            assert_eq!((stored.status, &stored.body["user_type"]), (201, &json!(role)), "{}", stored.text);
            let member = stack.app.store.get_staff(&id).await.unwrap().expect("stored");
            assert_eq!(member.user_type, UserType::Other(role.into()));
            let token = lobbybee_e2e::fixtures::token_for(&id);
            let refused = call(stack, Method::GET, "conversations/", &token, None).await;
            assert_eq!(refused.status, 403, "{role} may not use chat REST");
            assert_eq!(
                Socket::connect(stack, &format!("/?token={token}")).await.err(),
                Some(403),
                "{role} at the handshake"
            );
            assert!(stack.app.store.staff_connections(&id).await.unwrap().is_empty());
        }
    });
}

/// Moves `member` to `departments` (and `role`) with the CRM key.
async fn reprovision(stack: &Stack, hotel: &TestHotel, member: &TestStaff, role: &str, departments: &[&str]) {
    let body = json!({"hotel_id": hotel.id, "user_type": role, "departments": departments, "first_name": "Rita", "last_name": "Tester"});
    let answer = call(stack, Method::PUT, &format!("admin/staff/{}", member.user_id), &key(), Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[test]
fn a_profile_change_applies_to_open_sockets_at_once() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (reception, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Towels please").await;
        let mut everything = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut only_reception = Socket::staff(stack, &hotel.reception.token, Some("Reception")).await;
        everything.barrier().await;

        reprovision(stack, &hotel, &hotel.reception, "receptionist", &["Housekeeping"]).await;
        // The socket that asked for Reception only has nothing left to hear: closed.
        only_reception.closed().await;
        // The other one now hears Housekeeping, and no longer Reception.
        guest_writes(stack, &hotel.arriving.number, "Reception", "Room number is 12").await;
        let (housekeeping, _) = guest_writes(stack, &hotel.leaving.number, "Housekeeping", "Vacuum please").await;
        let heard = everything.barrier().await;
        let conversations: Vec<&Value> =
            heard.iter().filter(|f| f["type"] == "message").map(|f| &f["data"]["conversation_id"]).collect();
        assert_eq!(conversations, vec![&json!(housekeeping)], "only Housekeeping is heard: {heard:?}");
        // And acting on Reception is refused, with nothing stored.
        let before = message_count(stack, reception).await;
        everything.send(json!({"type": "text", "conversation_id": reception, "content": "still here"})).await;
        assert_eq!(
            everything.expect("error").await,
            json!({"type": "error", "message": "Access denied to this conversation"})
        );
        assert_eq!(message_count(stack, reception).await, before);

        // A role that may not chat closes every socket.
        reprovision(stack, &hotel, &hotel.reception, "platform_staff", &["Housekeeping"]).await;
        everything.closed().await;
        assert!(stack.app.store.staff_connections(&hotel.reception.user_id).await.unwrap().is_empty());
    });
}

#[test]
fn a_subscription_grants_no_right_and_ends_with_the_access() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await;
        let mut rita = Socket::staff(stack, &hotel.reception.token, None).await;
        rita.send(json!({"type": "subscribe_conversation", "conversation_id": conversation})).await;
        assert_eq!(rita.expect("subscribed").await["data"]["conversation_id"], conversation);

        let moved = call(
            stack,
            Method::POST,
            "conversations/transfer/",
            &hotel.manager.token,
            Some(json!({"conversation_id": conversation, "department": "Housekeeping"})),
        )
        .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
        assert!(stack.app.store.subscribers(conversation).await.unwrap().is_empty(), "the subscription is gone");
        rita.barrier().await;

        let before = message_count(stack, conversation).await;
        for frame in [
            json!({"type": "text", "conversation_id": conversation, "content": "I am still subscribed"}),
            json!({"type": "close_conversation", "conversation_id": conversation}),
            json!({"type": "mark_read", "conversation_id": conversation}),
        ] {
            rita.send(frame).await;
            assert_eq!(rita.expect("error").await["message"], "Access denied to this conversation");
        }
        assert_eq!(message_count(stack, conversation).await, before, "nothing posted");
        let status = stack.app.store.get_conversation(conversation).await.unwrap().expect("conversation").status;
        assert_eq!(status.as_str(), "active", "not closed");
        // The guest writes again: Housekeeping's conversation, which Rita no longer hears.
        guest_writes(stack, &hotel.guest.number, "Housekeeping", "Anyone?").await;
        assert!(rita.barrier().await.iter().all(|f| f["type"] != "message"), "nothing heard");
    });
}

#[test]
fn oversized_input_is_a_4xx_and_stores_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await;
        let token = &hotel.reception.token;
        let before = message_count(stack, conversation).await;
        let detail = |answer: &Answer, field: &str| -> Vec<Value> {
            assert_eq!(answer.status, 400, "{}", answer.text);
            answer.body["details"][field].as_array().cloned().unwrap_or_default()
        };
        let url = "https://files.example/".to_owned() + &"a".repeat(40_000);

        let webhook = simple_webhook(
            stack,
            &json!({"whatsapp_number": hotel.guest.number, "message": "see", "message_type": "image", "media_url": url}),
        )
        .await;
        assert_eq!(detail(&webhook, "media_url"), vec![json!("Ensure this field has no more than 2048 characters.")]);
        let filename = simple_webhook(
            stack,
            &json!({"whatsapp_number": hotel.guest.number, "message": "see", "media_filename": "f".repeat(256)}),
        )
        .await;
        assert_eq!(
            detail(&filename, "media_filename"),
            vec![json!("Ensure this field has no more than 255 characters.")]
        );

        let send_long_url = json!({"conversation_id": conversation, "message_type": "image", "media_url": url});
        let answer = call(stack, Method::POST, "messages/send/", token, Some(send_long_url)).await;
        assert_eq!(detail(&answer, "media_url"), vec![json!("Ensure this field has no more than 2048 characters.")]);
        let note = json!({"conversation_id": conversation, "department": "Housekeeping", "note": "n".repeat(256)});
        assert_eq!(
            detail(&call(stack, Method::POST, "conversations/transfer/", token, Some(note)).await, "note").len(),
            1
        );
        let ids: Vec<u64> = (1..=20_000).collect();
        let many = call(
            stack,
            Method::POST,
            "messages/mark-read/",
            token,
            Some(json!({"conversation_id": conversation, "message_ids": ids})),
        )
        .await;
        assert_eq!(detail(&many, "message_ids"), vec![json!("Ensure this field has no more than 500 elements.")]);
        for cursor in ["after=18446744073709551615", "before=9007199254740992", "after=-1", "after=1e3"] {
            let page = call(stack, Method::GET, &format!("conversations/{conversation}/?{cursor}"), token, None).await;
            assert_eq!(page.status, 400, "{cursor}: {}", page.text);
        }
        let name = json!({"hotel_id": hotel.id, "user_type": "receptionist", "first_name": "R".repeat(256)});
        let answer = call(stack, Method::PUT, &format!("admin/staff/{}", unique()), &key(), Some(name)).await;
        assert_eq!(detail(&answer, "first_name").len(), 1);

        // The socket: a media frame with an oversized caption, URL or file name.
        let mut rita = Socket::staff(stack, token, None).await;
        for (field, len) in [("caption", 1025), ("file_url", 2049), ("filename", 256)] {
            let mut frame = json!({"type": "media", "conversation_id": conversation, "file_url": "https://x/a.jpg", "file_type": "image"});
            frame[field] = json!("x".repeat(len));
            rita.send_text(&frame.to_string()).await;
            assert_eq!(rita.expect("error").await, json!({"type": "error", "message": "Message too long"}), "{field}");
        }
        assert_eq!(message_count(stack, conversation).await, before, "nothing stored");
        assert!(stack.app.store.get_staff(&unique().to_string()).await.unwrap().is_none());
        let departments = stack.app.store.get_conversation(conversation).await.unwrap().expect("c").department;
        assert_eq!(departments, Department::Reception, "not transferred");
    });
}

#[test]
fn each_function_reads_only_its_own_secrets_at_start_up_and_none_is_in_the_template() {
    run(async {
        let stack = stack().await;
        let sdk = lobbybee::app::sdk_defaults().load().await;
        let client = lobbybee_e2e::recorded_ssm(&sdk);
        let path = lobbybee_e2e::secrets_path();
        for (function, needs) in lobbybee::config::FUNCTIONS {
            // Recorded as the function's own calls: the permissions check holds them against
            // its role (ssm:GetParameters on exactly these parameters).
            let loaded = lobbybee::calls::FUNCTION
                .scope(function, lobbybee::secrets::load(&client, &path, needs))
                .await
                .unwrap_or_else(|e| panic!("{function}: {e}"));
            let expected: Vec<&str> = lobbybee::secrets::SECRETS
                .iter()
                .filter(|(_, _, need)| needs.contains(need))
                .flat_map(|(_, settings, _)| settings.iter().copied())
                .collect();
            let mut got: Vec<&str> = loaded.keys().map(String::as_str).collect();
            let mut want = expected.clone();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{function} reads exactly its secrets");
        }
        let missing = lobbybee::secrets::load(&client, "/lobbybee/no-such-tenant", lobbybee::config::needs("rest-api"))
            .await
            .expect_err("no parameters there");
        assert!(missing.problems.iter().any(|p| p.contains("/lobbybee/no-such-tenant/jwt_key")), "{missing}");
        assert!(stack.app.config.jwt.is_some(), "the stack itself started from Parameter Store");

        // The deployed functions' environment names no secret.
        let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
        for (_, settings, _) in lobbybee::secrets::SECRETS {
            for setting in *settings {
                assert!(!template.contains(&format!("{setting}:")), "{setting} is set in template.yaml");
            }
        }
        assert!(!template.contains("resolve:secretsmanager"), "no dynamic reference to a secret");
    });
}

#[test]
fn the_api_access_logs_name_no_token_query_string_or_header() {
    // The $connect query string carries the staff token (and a guest's number and token): the
    // access logs of both stages hold only the request's own facts, one JSON object per line.
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (stage, must) in [
        ("RestHttpApi", ["$context.requestId", "$context.path", "$context.status", "$context.responseLatency"]),
        ("WebSocketStage", ["$context.requestId", "$context.routeKey", "$context.connectionId", "$context.status"]),
    ] {
        let format = template["Resources"][stage]["Properties"]["AccessLogSettings"]["Format"]
            .as_str()
            .unwrap_or_else(|| panic!("{stage} has no access log format"));
        let line: Value = serde_json::from_str(format).unwrap_or_else(|e| panic!("{stage}: not one JSON object: {e}"));
        let variables: Vec<&str> = line.as_object().unwrap().values().map(|v| v.as_str().unwrap()).collect();
        for variable in &variables {
            assert!(variable.starts_with("$context.") && !variable[1..].contains('$'), "{stage}: {variable}");
            for leak in ["querystring", "header", "authorizer", "$request", "apiKey", "userArn", "caller"] {
                assert!(!variable.contains(leak), "{stage} logs {variable}");
            }
        }
        for wanted in must.iter().chain(&["$context.integration.error"]) {
            assert!(variables.contains(wanted), "{stage} logs {wanted}");
        }
    }
}

/// One conversation-scoped REST call of the dashboard, for `conversation`.
fn conversation_calls(conversation: u64, staff_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let id = json!(conversation);
    vec![
        (Method::GET, format!("conversations/{conversation}/"), None),
        (Method::POST, "conversations/close/".into(), Some(json!({"conversation_id": id}))),
        (Method::POST, "conversations/transfer/".into(), Some(json!({"conversation_id": id, "department": "Café"}))),
        (Method::POST, "conversations/assign/".into(), Some(json!({"conversation_id": id, "staff_id": staff_id}))),
        (Method::POST, "messages/mark-read/".into(), Some(json!({"conversation_id": id}))),
        (Method::POST, "messages/typing/".into(), Some(json!({"conversation_id": id, "is_typing": true}))),
        (Method::POST, "messages/send/".into(), Some(json!({"conversation_id": id, "content": "intruder"}))),
        (
            Method::POST,
            "media/upload-url/".into(),
            Some(json!({"conversation_id": id, "filename": "a.jpg", "content_type": "image/jpeg", "size": 10})),
        ),
    ]
}

#[test]
fn every_endpoint_and_frame_refuses_every_outsider_and_changes_nothing() {
    run(async {
        let stack = stack().await;
        let (a, b) = (TestHotel::create(stack).await, TestHotel::create(stack).await);
        let (conversation, _) = guest_writes(stack, &a.guest.number, "Reception", "Private: room 204").await;
        let upload = send(
            http()
                .post(format!("{}/api/chat/upload-media/", stack.gateway.http_base()))
                .bearer_auth(&a.reception.token)
                .multipart(
                    reqwest::multipart::Form::new().text("conversation_id", conversation.to_string()).part(
                        "file",
                        reqwest::multipart::Part::bytes(b"\xFF\xD8\xFF".to_vec())
                            .file_name("a.jpg")
                            .mime_str("image/jpeg")
                            .unwrap(),
                    ),
                ),
        )
        .await;
        let media_link = upload.body["file_url"].as_str().expect("uploaded").to_owned();
        let read_back = || async {
            let c = stack.app.store.get_conversation(conversation).await.unwrap().expect("conversation");
            (message_count(stack, conversation).await, c.status, c.department, c.assigned_to, c.unread_count)
        };
        let before = read_back().await;

        // A moved-out member (Reception → Housekeeping) and a deactivated one.
        reprovision(stack, &a, &a.reception2, "department_staff", &["Housekeeping"]).await;
        let deactivated = call(stack, Method::DELETE, &format!("admin/staff/{}", a.cafe.user_id), &key(), None).await;
        assert_eq!(deactivated.status, 204);

        let not_found = (404, json!({"error": "Conversation not found"}));
        let denied = (403, json!({"error": "Access denied to this conversation"}));
        let inactive = (401, json!({"detail": "User is inactive", "code": "user_inactive"}));
        let attackers = [
            ("hotel B's manager", &b.manager.token, &not_found),
            ("hotel B's admin", &b.admin.token, &not_found),
            ("another department", &a.housekeeping.token, &denied),
            ("moved out of Reception", &a.reception2.token, &denied),
            ("deactivated", &a.cafe.token, &inactive),
        ];
        for (who, token, expected) in attackers {
            for (method, path, body) in conversation_calls(conversation, &a.reception.user_id) {
                let answer = call(stack, method.clone(), &path, token, body).await;
                assert_eq!((answer.status, answer.body), (*expected).clone(), "{who}: {method} {path}");
            }
            let link = send(http().get(&media_link).bearer_auth(token)).await;
            assert!(matches!(link.status, 401 | 404), "{who}: media link answered {}", link.status);
        }

        // Sockets: outsiders' frames are refused with the contract's errors.
        let frames = |id: u64| {
            vec![
                json!({"type": "text", "conversation_id": id, "content": "intruder"}),
                json!({"type": "media", "conversation_id": id, "file_url": "https://x/a.jpg", "file_type": "image"}),
                json!({"type": "typing", "conversation_id": id, "is_typing": true}),
                json!({"type": "mark_read", "conversation_id": id}),
                json!({"type": "subscribe_conversation", "conversation_id": id}),
                json!({"type": "close_conversation", "conversation_id": id}),
                json!({"type": "reopen-temporary", "conversation_id": id}),
            ]
        };
        for (who, token, error) in [
            ("hotel B's manager", &b.manager.token, "Conversation not found"),
            ("another department", &a.housekeeping.token, "Access denied to this conversation"),
            ("moved out of Reception", &a.reception2.token, "Access denied to this conversation"),
        ] {
            let mut socket = Socket::staff(stack, token, None).await;
            for frame in frames(conversation) {
                socket.send(frame.clone()).await;
                assert_eq!(socket.expect("error").await["message"], error, "{who}: {frame}");
            }
            socket.close().await;
        }
        assert_eq!(Socket::connect(stack, &format!("/?token={}", a.cafe.token)).await.err(), Some(401));

        // Read back as the store sees it: nothing changed.
        assert_eq!(read_back().await, before);
        assert!(stack.app.store.subscribers(conversation).await.unwrap().is_empty());
    });
}
