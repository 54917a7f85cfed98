//! The WebSocket API end to end (docs/api.md §3, §5): real sockets through the local gateway,
//! the real handlers, MiniStack.

use lobbybee::calls::FUNCTION;
use lobbybee::department::Department;
use lobbybee::jobs::OutboundJob;
use lobbybee::model::OutboundKind;
use lobbybee::model::{Connection, DeliveryStatus};
use lobbybee_e2e::client::{Socket, guest_numbered, guest_writes, queued_reply, sqs_event};
use lobbybee_e2e::fixtures::{TestHotel, staff_socket, token_for};
use lobbybee_e2e::{Stack, run, stack, unique};
use lobbybee_local::gateway::fake_whatsapp;
use serde_json::{Value, json};

/// A stored Reception staff connection whose socket is gone (API Gateway answers 410 for it).
async fn ghost(stack: &Stack, hotel: &TestHotel) -> Connection {
    // Connected a minute ago: past the grace a still-connecting socket gets.
    let now = lobbybee::clock::now() - chrono::Duration::seconds(60);
    let ghost = staff_socket(
        format!("ghost{}", unique()),
        &hotel.id,
        &hotel.reception2.user_id,
        "Ghost",
        vec![Department::Reception],
        now,
    );
    stack.app.store.put_connection(&ghost).await.unwrap();
    ghost
}

#[test]
fn handshakes_are_refused_with_the_right_status_and_nothing_is_stored() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let expired = {
            use jsonwebtoken::{EncodingKey, Header, encode};
            lobbybee::auth::jwt_crypto::install();
            let now = chrono::Utc::now().timestamp();
            let claims = json!({"user_id": hotel.reception.user_id, "token_type": "access", "exp": now - 120, "iat": now - 3600, "jti": "x"});
            encode(&Header::default(), &claims, &EncodingKey::from_secret(lobbybee_e2e::secrets::JWT.as_bytes()))
                .unwrap()
        };
        let cases: Vec<(String, u16)> = vec![
            ("/".into(), 401),
            ("/?token=not-a-jwt".into(), 401),
            (format!("/?token={expired}"), 401),
            (format!("/?token={}", token_for(&unique().to_string())), 401),
            (format!("/?token={}", hotel.accountant.token), 403),
            (format!("/?token={}&department=Room%20Service", hotel.reception.token), 403),
            (format!("/?token={}&department=Spa", hotel.reception.token), 403),
            (format!("/ws/chat/Room%20Service/?token={}", hotel.reception.token), 403),
            (format!("/?whatsapp_number={}", hotel.guest.number), 401),
            (format!("/?whatsapp_number={}&guest_token=1.2.forged", hotel.guest.number), 401),
            (format!("/?whatsapp_number={}&guest_token={}", hotel.guest.number, hotel.arriving.guest_token), 401),
            (format!("/?whatsapp_number={}&guest_token={}", hotel.departed.number, hotel.departed.guest_token), 403),
        ];
        for (path, status) in cases {
            assert_eq!(Socket::connect(stack, &path).await.err(), Some(status), "{path}");
        }
        let store = &stack.app.store;
        assert!(store.staff_connections(&hotel.reception.user_id).await.unwrap().is_empty());
        assert!(store.staff_connections(&hotel.accountant.user_id).await.unwrap().is_empty());
        assert!(store.guest_connections(hotel.guest.id).await.unwrap().is_empty());
        assert!(store.guest_connections(hotel.departed.id).await.unwrap().is_empty());
    });
}

#[test]
fn accepted_handshakes_store_the_listen_set() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let store = &stack.app.store;
        let mut manager = Socket::staff(stack, &hotel.manager.token, None).await;
        manager.barrier().await;
        let mut cafe = Socket::connect(stack, &format!("/ws/chat/cafe/?token={}", hotel.manager.token)).await.unwrap();
        cafe.barrier().await;
        let mut guest = Socket::connect(
            stack,
            &format!("/ws/guest/{}/?guest_token={}", hotel.guest.number, hotel.guest.guest_token),
        )
        .await
        .unwrap();
        guest.barrier().await;
        for department in lobbybee::department::Department::ALL {
            let listeners = store.listeners(&hotel.id, department).await.unwrap();
            let expected = if department == lobbybee::department::Department::Cafe { 2 } else { 1 };
            assert_eq!(listeners.len(), expected, "{department}");
        }
        assert_eq!(store.guest_connections(hotel.guest.id).await.unwrap().len(), 1);
        manager.close().await;
        cafe.close().await;
        guest.close().await;
    });
}

#[test]
fn a_staff_text_reaches_the_department_the_manager_and_the_guest_but_not_other_departments() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Two towels please").await;
        let mut sender = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut sender_tab = Socket::staff(stack, &hotel.reception.token, Some("Reception")).await;
        let mut colleague = Socket::staff(stack, &hotel.reception2.token, None).await;
        let mut room_service = Socket::staff(stack, &hotel.room_service.token, None).await;
        let mut manager = Socket::staff(stack, &hotel.manager.token, None).await;
        let mut guest = Socket::guest(stack, &hotel.guest).await;

        sender.send(json!({"type": "text", "conversation_id": conversation, "content": "  On their way  "})).await;
        let ack = sender.expect("acknowledgment").await;
        assert_eq!(ack["status"], "received");
        assert_eq!(ack["conversation_id"], conversation);
        let message_id = ack["message_id"].as_u64().unwrap();
        assert!(ack["timestamp"].as_str().unwrap().ends_with('Z'));

        for socket in [&mut sender_tab, &mut colleague, &mut manager, &mut guest] {
            let frame = socket.expect("message").await;
            let data = &frame["data"];
            assert_eq!(data["id"], message_id);
            assert_eq!(data["conversation_id"], conversation);
            assert_eq!(data["sender_type"], "staff");
            assert_eq!(data["sender_id"], hotel.reception.user_id.as_str());
            assert_eq!(data["sender_name"], hotel.reception.name.as_str());
            assert_eq!(data["message_type"], "text");
            assert_eq!(data["content"], "On their way");
            assert_eq!(data["media_url"], Value::Null);
            assert_eq!(data["is_read"], false);
            assert_eq!(data["delivery_status"], "queued");
            assert_eq!(data["department"], "Reception");
            assert_eq!(
                data["guest_info"],
                json!({"id": hotel.guest.id, "name": "Asha Rao", "whatsapp_number": hotel.guest.number, "room_number": "204", "floor": 2})
            );
            let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 15, "exact message frame keys: {keys:?}");
        }
        // The sender's own socket got no copy of the message; Room Service got nothing at all.
        assert!(sender.barrier().await.iter().all(|f| f["type"] != "message"));
        assert!(room_service.barrier().await.is_empty());

        let stored = stack.app.store.get_message(conversation, message_id).await.unwrap().unwrap();
        assert_eq!(stored.content, "On their way");
        // The outbound queue delivers it to (the local fake of) WhatsApp; the department hears it.
        let status = colleague.expect("delivery_status").await;
        assert_eq!(
            status,
            json!({"type": "delivery_status", "data": {"conversation_id": conversation, "message_id": message_id, "status": "sent"}})
        );
        let sent = stack.app.store.get_message(conversation, message_id).await.unwrap().unwrap();
        assert!(sent.provider_message_id.unwrap().starts_with("wamid."));
    });
}

#[test]
fn typing_close_mark_read_and_subscriptions() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, guest_message) =
            guest_writes(stack, &hotel.guest.number, "Reception", "Is the pool open?").await;
        let mut me = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut peer = Socket::staff(stack, &hotel.reception2.token, None).await;
        let mut room_service = Socket::staff(stack, &hotel.room_service.token, None).await;
        let mut guest = Socket::guest(stack, &hotel.guest).await;

        me.send(json!({"type": "typing", "conversation_id": conversation, "is_typing": true})).await;
        let expected = json!({"type": "typing", "data": {"conversation_id": conversation, "user_id": hotel.reception.user_id, "user_name": hotel.reception.name, "is_typing": true}});
        assert_eq!(peer.expect("typing").await, expected);
        assert_eq!(guest.expect("typing").await, expected);
        me.send(json!({"type": "typing", "conversation_id": conversation})).await;
        assert_eq!(peer.expect("typing").await["data"]["is_typing"], false, "is_typing defaults to false");
        assert_eq!(guest.expect("typing").await["data"]["is_typing"], false);

        me.send(json!({"type": "mark_read", "conversation_id": conversation})).await;
        let ack = me.expect("acknowledgment").await;
        assert_eq!(ack["status"], "marked_read");
        assert_eq!(ack["conversation_id"], conversation);
        let receipt = guest.expect("read_receipt").await;
        assert_eq!(receipt["data"]["message_ids"], json!([guest_message]));
        assert_eq!(receipt["data"]["reader"], "staff");
        assert_eq!(peer.expect("read_receipt").await["data"]["conversation_id"], conversation);
        let read = stack.app.store.get_message(conversation, guest_message).await.unwrap().unwrap();
        assert!(read.is_read && read.read_at.is_some());

        // Room Service may not subscribe to a Reception conversation; the manager may.
        room_service.send(json!({"type": "subscribe_conversation", "conversation_id": conversation})).await;
        assert_eq!(
            room_service.next().await,
            json!({"type": "error", "message": "Access denied to this conversation"})
        );
        let mut manager = Socket::staff(stack, &hotel.manager.token, Some("Management")).await;
        manager.send(json!({"type": "subscribe_conversation", "conversation_id": conversation})).await;
        assert_eq!(
            manager.expect("subscribed").await,
            json!({"type": "subscribed", "data": {"conversation_id": conversation}})
        );

        me.send(json!({"type": "close_conversation", "conversation_id": conversation})).await;
        let ack = me.expect("acknowledgment").await;
        assert_eq!(
            (ack["status"].as_str(), ack["conversation_id"].as_u64()),
            (Some("conversation_closed"), Some(conversation))
        );
        assert_eq!(
            peer.expect("close_conversation").await,
            json!({"type": "close_conversation", "conversation_id": conversation})
        );
        assert_eq!(
            manager.expect("close_conversation").await["conversation_id"],
            conversation,
            "subscribers hear it too"
        );
        assert!(room_service.barrier().await.is_empty());

        me.send(json!({"type": "text", "conversation_id": conversation, "content": "hello?"})).await;
        assert_eq!(me.next().await, json!({"type": "error", "message": "Conversation is closed"}));
        me.send(json!({"type": "close_conversation", "conversation_id": conversation})).await;
        assert_eq!(me.expect("acknowledgment").await["status"], "conversation_closed", "closing twice is harmless");
        assert!(peer.barrier().await.is_empty(), "no second close notice");

        manager.send(json!({"type": "unsubscribe_conversation", "conversation_id": conversation})).await;
        assert_eq!(
            manager.expect("unsubscribed").await,
            json!({"type": "unsubscribed", "data": {"conversation_id": conversation}})
        );
    });
}

#[test]
fn malformed_frames_get_exact_errors_and_the_socket_stays_open() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let other = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "hi").await;
        let (foreign, _) = guest_writes(stack, &other.guest.number, "Reception", "hi").await;
        let mut socket = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut room_service = Socket::staff(stack, &hotel.room_service.token, None).await;
        let too_long = "x".repeat(4097);
        let cases: Vec<(String, &str)> = vec![
            ("this is not json".into(), "Invalid JSON format"),
            ("[1,2,3]".into(), "Invalid JSON format"),
            (json!({"type": "dance"}).to_string(), "Invalid message type"),
            (
                json!({"type": "text", "conversation_id": conversation, "content": "   "}).to_string(),
                "Message content cannot be empty",
            ),
            (json!({"type": "text", "content": "hi"}).to_string(), "Conversation ID is required"),
            (json!({"type": "mark_read"}).to_string(), "Conversation ID is required"),
            (
                json!({"type": "text", "conversation_id": 999_999_999_999u64, "content": "hi"}).to_string(),
                "Conversation not found",
            ),
            (
                json!({"type": "text", "conversation_id": foreign, "content": "hi"}).to_string(),
                "Conversation not found",
            ),
            (
                json!({"type": "text", "conversation_id": conversation, "content": too_long}).to_string(),
                "Message too long",
            ),
        ];
        for (frame, message) in cases {
            socket.send_text(&frame).await;
            assert_eq!(socket.next().await, json!({"type": "error", "message": message}), "{frame:.60}");
        }
        room_service.send(json!({"type": "text", "conversation_id": conversation, "content": "hi"})).await;
        assert_eq!(
            room_service.next().await,
            json!({"type": "error", "message": "Access denied to this conversation"})
        );
        room_service.send(json!({"type": "typing", "conversation_id": conversation, "is_typing": true})).await;
        assert_eq!(
            room_service.next().await,
            json!({"type": "error", "message": "Access denied to this conversation"})
        );
        socket.send(json!({"type": "ping"})).await;
        assert_eq!(socket.next().await, json!({"type": "pong"}));
        let page = stack.app.store.messages(conversation, lobbybee::store::PageDirection::Latest, 10).await.unwrap();
        assert_eq!(page.messages.len(), 1, "nothing was stored by the refused frames");
    });
}

#[test]
fn peers_hear_connects_and_disconnects_once() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut manager = Socket::staff(stack, &hotel.manager.token, None).await;
        manager.barrier().await;
        let mut reception = Socket::staff(stack, &hotel.reception.token, None).await;
        let connected = manager.next().await;
        assert_eq!(
            connected,
            json!({"type": "user_status", "data": {"type": "user_connected", "user_id": hotel.reception.user_id, "user_name": hotel.reception.name, "department": "Reception"}})
        );
        reception.barrier().await;
        reception.close().await;
        let disconnected = manager.next().await;
        assert_eq!(disconnected["data"]["type"], "user_disconnected");
        assert_eq!(disconnected["data"]["user_id"], hotel.reception.user_id.as_str());
        let rest = manager.barrier().await;
        assert!(rest.is_empty(), "one notice per event: {rest:?}");
    });
}

#[test]
fn a_dead_connection_is_deleted_on_the_first_push_that_gets_410() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "hello").await;
        let ghost = ghost(stack, &hotel).await;
        let mut sender = Socket::staff(stack, &hotel.reception.token, None).await;
        sender.send(json!({"type": "text", "conversation_id": conversation, "content": "anyone?"})).await;
        sender.expect("acknowledgment").await;
        sender.barrier().await; // the text frame's fan-out has finished
        assert!(stack.app.store.get_connection(&ghost.connection_id).await.unwrap().is_none());
        let listeners = stack.app.store.listeners(&hotel.id, Department::Reception).await.unwrap();
        assert!(listeners.iter().all(|l| l.connection_id != ghost.connection_id));
    });
}

#[test]
fn sockets_that_connect_at_the_same_instant_all_hear_the_next_message_once() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        // A shift logging in together: 20 sockets of one department at once. Each `$connect`
        // announces itself to the others, some of which are still connecting (410 for them).
        let sockets = futures::future::join_all((0..20).map(|i| {
            let token = if i % 2 == 0 { hotel.reception.token.clone() } else { hotel.reception2.token.clone() };
            async move { Socket::staff(stack, &token, None).await }
        }))
        .await;
        let mut sockets = sockets;
        for socket in &mut sockets {
            socket.barrier().await; // every handshake has completed and been announced
        }
        assert_eq!(
            stack.app.store.listeners(&hotel.id, Department::Reception).await.unwrap().len(),
            20,
            "no socket lost its registration"
        );
        let (conversation, message) =
            guest_writes(stack, &hotel.guest.number, "Reception", "Is breakfast still on?").await;
        for socket in &mut sockets {
            assert_eq!(socket.expect("new_conversation").await["data"]["id"], conversation);
            let frame = socket.expect("message").await;
            assert_eq!(
                (&frame["data"]["id"], &frame["data"]["conversation_id"]),
                (&json!(message), &json!(conversation))
            );
            let rest = socket.barrier().await;
            assert!(rest.iter().all(|f| f["type"] != "message"), "exactly once: {rest:?}");
        }
    });
}

#[test]
fn guest_sockets_only_listen() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "hello").await;
        let mut guest = Socket::connect(
            stack,
            &format!("/ws/guest/{}/?guest_token={}", hotel.guest.number, hotel.guest.guest_token),
        )
        .await
        .unwrap();
        guest
            .send_text(&json!({"type": "text", "conversation_id": conversation, "content": "sneaky"}).to_string())
            .await;
        guest.send_text("garbage").await;
        assert!(guest.barrier().await.is_empty(), "guest frames other than ping are ignored");
        let page = stack.app.store.messages(conversation, lobbybee::store::PageDirection::Latest, 10).await.unwrap();
        assert_eq!(page.messages.len(), 1);
    });
}

#[test]
fn outside_the_24_hour_window_the_message_is_kept_but_not_sent() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        // A conversation opened by staff: the guest has never written, so WhatsApp's window is shut.
        let created = lobbybee_e2e::client::rest(
            stack,
            reqwest::Method::POST,
            "conversations/create/",
            Some(&hotel.reception.token),
            Some(json!({"guest_whatsapp_number": hotel.arriving.number, "department_type": "Reception"})),
        )
        .await;
        let conversation = created.body["conversation"]["id"].as_u64().unwrap();
        let mut guest = Socket::guest(stack, &hotel.arriving).await;
        let mut sender = Socket::staff(stack, &hotel.reception.token, None).await;
        sender.send(json!({"type": "text", "conversation_id": conversation, "content": "Welcome!"})).await;
        let ack = sender.expect("acknowledgment").await;
        assert_eq!(ack["status"], "received");
        let message_id = ack["message_id"].as_u64().unwrap();
        let notice = sender.expect("message").await;
        assert_eq!(notice["data"]["sender_type"], "system");
        assert_eq!(
            sender.expect("error").await,
            json!({"type": "error", "message": "Outside the 24-hour WhatsApp window"})
        );
        let stored = stack.app.store.get_message(conversation, message_id).await.unwrap().unwrap();
        assert_eq!(stored.delivery_status, Some(lobbybee::model::DeliveryStatus::Failed));
        // The guest's socket shows the staff message but never the internal system notice.
        let seen = guest.barrier().await;
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0]["data"]["sender_type"], "staff");
    });
}

#[test]
fn idle_and_overlong_sockets_are_closed_and_forgotten() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = lobbybee_local::gateway::GatewayOptions {
            idle_timeout: std::time::Duration::from_millis(700),
            max_lifetime: std::time::Duration::from_secs(60),
            ..lobbybee_local::gateway::GatewayOptions::default()
        };
        let short = lobbybee_local::gateway::start(stack.app.clone(), listener, options).await.unwrap();
        let url = format!("{}/?token={}", short.ws_url(), hotel.housekeeping.token);
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
        assert_eq!(stack.app.store.staff_connections(&hotel.housekeeping.user_id).await.unwrap().len(), 1);
        // No frames: the idle timeout closes the socket, and `$disconnect` removed the record first.
        use futures::StreamExt;
        let closed = tokio::time::timeout(lobbybee_e2e::WAIT, async {
            while let Some(Ok(message)) = socket.next().await {
                if message.is_close() {
                    return true;
                }
            }
            true
        })
        .await;
        assert_eq!(closed, Ok(true));
        assert!(stack.app.store.staff_connections(&hotel.housekeeping.user_id).await.unwrap().is_empty());
        short.shutdown().await;
    });
}

#[test]
fn the_handlers_take_the_fixture_events_as_api_gateway_sends_them() {
    run(async {
        let stack = stack().await;
        let fixture = |name: &str| -> aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        // The fixture's token is a placeholder: the real `$connect` refuses it with 401.
        let connect = lobbybee::ws::connect(&stack.app, fixture("apigw-ws-connect.json")).await;
        assert_eq!(connect.status_code, 401);
        // A frame from a connection that is not stored is ignored; a disconnect of it is fine.
        let message = lobbybee::ws::message(&stack.app, fixture("apigw-ws-message.json")).await;
        assert_eq!(message.status_code, 200);
        let disconnect = lobbybee::ws::disconnect(&stack.app, fixture("apigw-ws-disconnect.json")).await;
        assert_eq!(disconnect.status_code, 200);
    });
}

#[test]
fn a_message_whatsapp_refuses_is_marked_failed_and_staff_are_told() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        // A guest whose number WhatsApp does not know (the fake refuses this country code).
        let number = guest_numbered(stack, &hotel, fake_whatsapp::UNREACHABLE_PREFIX).await;
        let (conversation, _) = guest_writes(stack, &number, "Reception", "Hello?").await;
        let store = &stack.app.store;

        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;
        staff.send(json!({"type": "text", "conversation_id": conversation, "content": "Hi!"})).await;
        let message_id = staff.expect("acknowledgment").await["message_id"].as_u64().unwrap();
        assert_eq!(
            staff.expect("delivery_status").await,
            json!({"type": "delivery_status", "data": {"conversation_id": conversation, "message_id": message_id, "status": "failed"}})
        );
        let stored = store.get_message(conversation, message_id).await.unwrap().unwrap();
        assert_eq!(stored.delivery_status, Some(lobbybee::model::DeliveryStatus::Failed));
        assert!(stored.provider_message_id.is_none());
    });
}

#[test]
fn while_whatsapp_is_down_a_reply_is_retried_and_fails_only_after_the_last_attempt() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let number = guest_numbered(stack, &hotel, fake_whatsapp::UNAVAILABLE_PREFIX).await;
        let (conversation, _) = guest_writes(stack, &number, "Reception", "Hello?").await;
        let reply = queued_reply(stack, &hotel, conversation).await;
        let job = OutboundJob { conversation_id: conversation, message_id: Some(reply), kind: OutboundKind::Message };
        let body = serde_json::to_string(&job).unwrap();
        let status =
            || async { stack.app.store.get_message(conversation, reply).await.unwrap().unwrap().delivery_status };
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;
        staff.barrier().await;

        for receives in 1..=4 {
            let event = sqs_event(&stack.resources.outbound_queue_url, body.clone(), receives);
            let answer = FUNCTION.scope("outbound-sender", lobbybee::outbound::handle_batch(&stack.app, event)).await;
            assert_eq!(answer.batch_item_failures.len(), 1, "attempt {receives} goes back to the queue");
            assert_eq!(status().await, Some(DeliveryStatus::Queued));
        }
        assert!(staff.barrier().await.is_empty(), "staff hear nothing while it is retried");
        let last = sqs_event(&stack.resources.outbound_queue_url, body, 5);
        let answer = FUNCTION.scope("outbound-sender", lobbybee::outbound::handle_batch(&stack.app, last)).await;
        assert_eq!(answer.batch_item_failures.len(), 1, "SQS moves it to the dead-letter queue");
        assert_eq!(status().await, Some(DeliveryStatus::Failed));
        assert_eq!(staff.expect("delivery_status").await["data"]["status"], "failed");
    });
}

#[test]
fn every_function_that_pushes_deletes_the_dead_sockets_it_meets() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let store = &stack.app.store;
        let gone = |dead: Connection| async move { store.get_connection(&dead.connection_id).await.unwrap().is_none() };

        // guest-webhook: the guest's message is pushed to a dead socket before the 201.
        let dead = ghost(stack, &hotel).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "hello").await;
        assert!(gone(dead).await, "guest-webhook removed it");

        // ws-connect: a colleague's `user_status` meets a dead socket before the handshake ends.
        let dead = ghost(stack, &hotel).await;
        // (kept open to the end: its `$disconnect` would tell the next ghosts before their turn)
        let socket = Socket::staff(stack, &hotel.reception.token, None).await;
        assert!(gone(dead).await, "ws-connect removed it");

        // outbound-sender: the `sent` status of a queued reply is pushed to a dead socket.
        let dead = ghost(stack, &hotel).await;
        let reply = queued_reply(stack, &hotel, conversation).await;
        let job = OutboundJob { conversation_id: conversation, message_id: Some(reply), kind: OutboundKind::Message };
        let event = sqs_event(&stack.resources.outbound_queue_url, serde_json::to_string(&job).unwrap(), 1);
        let answer = FUNCTION.scope("outbound-sender", lobbybee::outbound::handle_batch(&stack.app, event)).await;
        assert!(answer.batch_item_failures.is_empty());
        assert_eq!(
            store.get_message(conversation, reply).await.unwrap().unwrap().delivery_status,
            Some(DeliveryStatus::Sent)
        );
        assert!(gone(dead).await, "outbound-sender removed it");

        // push-retry: a retried push finds its socket gone.
        let dead = ghost(stack, &hotel).await;
        let job = lobbybee::delivery::RetryJob {
            endpoint: stack.app.config.ws_endpoint.clone().unwrap(),
            audience: None,
            connection_id: dead.connection_id.clone(),
            frame: json!({"type": "pong"}).to_string(),
        };
        let event = sqs_event(&stack.resources.push_retry_queue_url, serde_json::to_string(&job).unwrap(), 1);
        let answer = FUNCTION.scope("push-retry", lobbybee::push_retry::handle_batch(&stack.app, event)).await;
        assert!(answer.batch_item_failures.is_empty(), "410 is final, not retried");
        assert!(gone(dead).await, "push-retry removed it");
        socket.close().await;
    });
}

#[test]
fn the_retry_queue_delivers_a_deferred_push() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.cafe.token, None).await;
        staff.barrier().await;
        let connection = stack.app.store.staff_connections(&hotel.cafe.user_id).await.unwrap().remove(0);
        let job = lobbybee::delivery::RetryJob {
            endpoint: stack.app.config.ws_endpoint.clone().unwrap(),
            audience: None,
            connection_id: connection.connection_id,
            frame: json!({"type": "close_conversation", "conversation_id": 4242}).to_string(),
        };
        stack
            .app
            .sqs
            .send_message()
            .queue_url(&stack.resources.push_retry_queue_url)
            .message_body(serde_json::to_string(&job).unwrap())
            .send()
            .await
            .unwrap();
        // The gateway's event-source poller hands it to the push-retry consumer, which pushes it.
        assert_eq!(
            staff.expect("close_conversation").await,
            json!({"type": "close_conversation", "conversation_id": 4242})
        );
    });
}
