//! Failures and crowds (docs/operations.md, "Failure modes"): the store failing for a while,
//! many messages to one conversation at once. Faults are injected with a proxy between the
//! functions and the emulator (`lobbybee_e2e::faults`); waiting is always for an event.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use lobbybee::model::DeliveryStatus;
use lobbybee::store::PageDirection;
use lobbybee_e2e::client::{Socket, guest_writes, meta_payload, meta_text, meta_webhook_at, simple_webhook_at};
use lobbybee_e2e::faults::FaultProxy;
use lobbybee_e2e::fixtures::TestHotel;
use lobbybee_e2e::{Stack, gateway_through, gateway_through_with, run, stack, unique};
use lobbybee_local::gateway::{ConcurrencyLimits, GatewayOptions, fake_whatsapp};
use serde_json::{Value, json};

async fn stored(stack: &Stack, conversation: u64) -> Vec<lobbybee::model::Message> {
    stack.app.store.messages(conversation, PageDirection::Latest, 500).await.expect("messages").messages
}

/// POSTs a signed Meta body to the webhook of the gateway at `http_base` (checked against
/// docs/openapi.yaml); answers the status.
async fn meta_to(http_base: &str, raw: &str) -> u16 {
    let answer = meta_webhook_at(http_base, raw).await;
    lobbybee_e2e::openapi::check_answer("POST", "guest-webhook/", &answer);
    answer.status
}

fn text_from(hotel: &TestHotel, wamid: &str, body: &str) -> Value {
    meta_text(&hotel.guest.number, wamid, body)
}

#[test]
fn a_meta_message_the_store_cannot_take_is_answered_5xx_and_stored_once_when_meta_retries() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await;
        let proxy = FaultProxy::to_emulator().await;
        let gateway = gateway_through(&proxy).await;
        let payload =
            meta_payload(&hotel.phone_number_id, text_from(&hotel, &format!("wamid.{}", unique()), "Late checkout?"));

        proxy.fail(true);
        assert_eq!(meta_to(&gateway.http_base(), &payload).await, 503, "Meta is asked to retry");
        assert!(proxy.failed() > 0);
        proxy.fail(false);
        assert_eq!(stored(stack, conversation).await.len(), 1, "nothing half-written");

        // Meta delivers the same payload again (and again): stored once.
        assert_eq!(meta_to(&gateway.http_base(), &payload).await, 200);
        assert_eq!(meta_to(&gateway.http_base(), &payload).await, 200);
        let contents: Vec<String> = stored(stack, conversation).await.into_iter().map(|m| m.content).collect();
        assert_eq!(contents, vec!["Hello", "Late checkout?"]);

        // A payload for an unknown number is not a transient failure: 200, nothing stored.
        let stranger = meta_text("+15550000001", &format!("wamid.{}", unique()), "hi");
        assert_eq!(meta_to(&gateway.http_base(), &meta_payload(&hotel.phone_number_id, stranger)).await, 200);
        gateway.shutdown().await;
    });
}

#[test]
fn a_burst_over_the_webhooks_reserved_concurrency_is_answered_429_and_stores_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "First").await;
        // The webhook may run twice at once; its store calls wait in the proxy while it is held,
        // so the invocations that got a slot are still running when the rest of the burst arrives.
        let proxy = FaultProxy::to_emulator().await;
        let limits = ConcurrencyLimits { reserved: [("guest-webhook".to_owned(), 2)].into(), account: None };
        let gateway = gateway_through_with(&proxy, GatewayOptions { concurrency: limits, ..Default::default() }).await;
        let base = gateway.http_base();
        proxy.hold(true);

        let mut burst: FuturesUnordered<_> = (0..6)
            .map(|i| {
                let body = json!({"whatsapp_number": hotel.guest.number, "message": format!("burst {i}")});
                let base = base.clone();
                async move { (i, simple_webhook_at(&base, &body).await) }
            })
            .collect();
        // Four answers come while two invocations are held inside the handler: the four throttled.
        let mut throttled = Vec::new();
        while throttled.len() < 4 {
            let (i, answer) = burst.next().await.expect("an answer");
            assert_eq!(answer.status, 429, "burst {i}: {}", answer.text);
            assert_eq!(answer.text, r#"{"message":"Rate Exceeded."}"#);
            assert_eq!(answer.headers.get("x-amzn-errortype").map(|v| v.as_bytes()), Some(&b"ThrottlingException"[..]));
            assert!(answer.headers.contains_key("x-amzn-requestid"));
            throttled.push(i);
        }
        proxy.wait_held(2).await;
        proxy.hold(false);
        let mut accepted = Vec::new();
        while let Some((i, answer)) = burst.next().await {
            assert_eq!(answer.status, 201, "burst {i}: {}", answer.text);
            accepted.push(i);
        }
        assert_eq!(accepted.len(), 2);

        // Only what was accepted was stored; a throttled message can be sent again.
        let contents: Vec<String> = stored(stack, conversation).await.into_iter().map(|m| m.content).collect();
        let mut expected: Vec<String> = accepted.iter().map(|i| format!("burst {i}")).collect();
        expected.sort();
        let mut burst_stored = contents.get(1..).unwrap_or_default().to_vec();
        burst_stored.sort();
        assert_eq!((contents.first().map(String::as_str), burst_stored), (Some("First"), expected), "{contents:?}");
        let again = json!({"whatsapp_number": hotel.guest.number, "message": format!("burst {}", throttled[0])});
        assert_eq!(simple_webhook_at(&base, &again).await.status, 201, "a slot is free again");
        gateway.shutdown().await;
    });
}

#[test]
fn twenty_messages_to_one_conversation_at_once_are_all_stored_in_order() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "First").await;
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;
        staff.barrier().await;

        // An album of ten photos from Meta and ten staff replies, all at once.
        let from_guest = (0..10).map(|i| {
            let raw = meta_payload(
                &hotel.phone_number_id,
                text_from(&hotel, &format!("wamid.{}", unique()), &format!("photo {i}")),
            );
            async move { lobbybee_e2e::client::meta_webhook(stack, &raw).await.status }
        });
        let replies = (0..10).map(|i| {
            let token = hotel.reception2.token.clone();
            async move {
                let mut socket = Socket::staff(stack, &token, None).await;
                socket
                    .send(json!({"type": "text", "conversation_id": conversation, "content": format!("reply {i}")}))
                    .await;
                // (the guest's photos arrive on this Reception socket meanwhile)
                loop {
                    let frame = socket.next().await;
                    if frame["type"] == "acknowledgment" {
                        break frame["status"].clone();
                    }
                }
            }
        });
        let (statuses, acks) = tokio::join!(futures::future::join_all(from_guest), futures::future::join_all(replies));
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert!(acks.iter().all(|a| a == "received"), "{acks:?}");

        let messages = stored(stack, conversation).await;
        assert_eq!(messages.len(), 21, "none lost");
        let ids: Vec<u64> = messages.iter().map(|m| m.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
        // Every one reached the department's socket, once.
        let mut heard = std::collections::BTreeSet::new();
        while heard.len() < 20 {
            let frame = staff.expect("message").await;
            assert!(heard.insert(frame["data"]["id"].as_u64().expect("id")), "heard twice: {frame}");
        }
    });
}

#[test]
fn a_guest_whose_conversation_expired_behind_its_lock_can_write_again() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (expired, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Old news").await;
        // DynamoDB's TTL removes the conversation (MessageRetentionDays); the guest's
        // active-conversation lock has no TTL and still names it.
        let sdk = lobbybee::app::sdk_defaults().load().await;
        aws_sdk_dynamodb::Client::new(&sdk)
            .delete_item()
            .table_name(&stack.resources.table_name)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(lobbybee::store::keys::conversation(expired)))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(lobbybee::store::keys::PROFILE.into()))
            .send()
            .await
            .expect("conversation item deleted");

        let (fresh, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello again").await;
        assert_ne!(fresh, expired, "a new conversation");
        let contents: Vec<String> = stored(stack, fresh).await.into_iter().map(|m| m.content).collect();
        assert_eq!(contents, vec!["Hello again"]);
        // Staff opening one for the guest find the new one, not the ghost.
        let created = lobbybee_e2e::client::rest(
            stack,
            reqwest::Method::POST,
            "conversations/create/",
            Some(&hotel.reception.token),
            Some(json!({"guest_whatsapp_number": hotel.guest.number, "department_type": "Reception"})),
        )
        .await;
        assert_eq!((created.status, &created.body["conversation"]["id"]), (201, &json!(fresh)));
    });
}

/// The outbound sender handed one queue message with `body`.
async fn deliver(stack: &Stack, body: &str) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let event = lobbybee_e2e::client::sqs_event(&stack.resources.outbound_queue_url, body.to_owned(), 1);
    lobbybee::calls::FUNCTION.scope("outbound-sender", lobbybee::outbound::handle_batch(&stack.app, event)).await
}

#[test]
fn one_queue_message_delivered_twice_at_once_reaches_whatsapp_once() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await;
        let reply = lobbybee_e2e::client::queued_reply(stack, &hotel, conversation).await;
        let job = lobbybee::jobs::OutboundJob {
            conversation_id: conversation,
            message_id: Some(reply),
            kind: lobbybee::model::OutboundKind::Message,
        };
        let body = serde_json::to_string(&job).expect("job");
        // SQS delivers at least once: the same job to two senders at the same moment.
        let (first, second) = tokio::join!(deliver(stack, &body), deliver(stack, &body));
        assert!(first.batch_item_failures.is_empty() && second.batch_item_failures.is_empty());
        let to = hotel.guest.number.trim_start_matches('+').to_owned();
        let sends = stack.gateway.whatsapp().all().into_iter().filter(|s| s.body["to"] == to.as_str()).count();
        assert_eq!(sends, 1, "sent once");
        let message = stack.app.store.get_message(conversation, reply).await.unwrap().expect("reply");
        assert_eq!(message.delivery_status, Some(lobbybee::model::DeliveryStatus::Sent));
        // And a third delivery later does nothing.
        let late = deliver(stack, &body).await;
        assert!(late.batch_item_failures.is_empty());
        assert_eq!(stack.gateway.whatsapp().all().into_iter().filter(|s| s.body["to"] == to.as_str()).count(), 1);
    });
}

/// A reply to a guest whose number makes the fake WhatsApp API refuse the first two sends
/// (`prefix`) is retried by the queue, stays `queued` meanwhile, and is sent exactly once on the
/// third attempt.
async fn sent_once_on_the_third_attempt(prefix: &str) {
    let stack = stack().await;
    let hotel = TestHotel::create(stack).await;
    let number = lobbybee_e2e::client::guest_numbered(stack, &hotel, prefix).await;
    let (conversation, _) = guest_writes(stack, &number, "Reception", "Hello?").await;
    let reply = lobbybee_e2e::client::queued_reply(stack, &hotel, conversation).await;
    let job = lobbybee::jobs::OutboundJob {
        conversation_id: conversation,
        message_id: Some(reply),
        kind: lobbybee::model::OutboundKind::Message,
    };
    let body = serde_json::to_string(&job).expect("job");
    for receives in 1..=3u32 {
        let event = lobbybee_e2e::client::sqs_event(&stack.resources.outbound_queue_url, body.clone(), receives);
        let answer = lobbybee::calls::FUNCTION
            .scope("outbound-sender", lobbybee::outbound::handle_batch(&stack.app, event))
            .await;
        let retried = !answer.batch_item_failures.is_empty();
        assert_eq!(retried, receives < 3, "attempt {receives}");
        let message = stack.app.store.get_message(conversation, reply).await.unwrap().expect("reply");
        let expected = if receives < 3 { DeliveryStatus::Queued } else { DeliveryStatus::Sent };
        assert_eq!(message.delivery_status, Some(expected), "attempt {receives}");
    }
    let to = number.trim_start_matches('+').to_owned();
    assert_eq!(stack.gateway.whatsapp().all().iter().filter(|s| s.body["to"] == to.as_str()).count(), 1);
}

#[test]
fn whatsapp_failing_twice_then_accepting_gets_the_reply_exactly_once() {
    run(sent_once_on_the_third_attempt(fake_whatsapp::FLAKY_PREFIX));
}

#[test]
fn a_staff_message_whose_job_was_lost_is_swept_queued_again_and_sent_once() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await;
        let mut reception = Socket::staff(stack, &hotel.reception.token, Some("Reception")).await;
        reception.barrier().await;
        // Stored three hours ago and never queued: the function died in between. Older than
        // anything else this run stores, so the sweeps below (run "at" moments after it) see it
        // alone.
        let stored_at = lobbybee::clock::now() - chrono::Duration::hours(3);
        // (The event the schedule invokes the function with reads as its type says.)
        let tick = include_str!("../fixtures/eventbridge-scheduled.json");
        let tick: aws_lambda_events::event::eventbridge::EventBridgeEvent<Value> =
            serde_json::from_str(tick).expect("scheduled event");
        assert_eq!(tick.detail_type, "Scheduled Event");
        let lost = lobbybee_e2e::client::queued_reply_at(stack, &hotel, conversation, stored_at).await;
        let sweep_at = |minutes| {
            let at = stored_at + chrono::Duration::minutes(minutes);
            lobbybee::calls::FUNCTION.scope("outbound-sweeper", lobbybee::outbound::sweep(&stack.app, at))
        };
        assert_eq!(sweep_at(19).await.expect("sweep").requeued, 0, "not taken for lost before 20 minutes");
        assert_eq!(sweep_at(21).await.expect("sweep").requeued, 1);
        assert_eq!(sweep_at(21).await.expect("sweep").requeued, 0, "a second sweep does not queue it twice");

        // The stack's outbound consumer sends it; staff see it go out.
        let status = reception.expect("delivery_status").await;
        assert_eq!((&status["data"]["message_id"], &status["data"]["status"]), (&json!(lost), &json!("sent")));
        let to = hotel.guest.number.trim_start_matches('+').to_owned();
        let sends: Vec<_> =
            stack.gateway.whatsapp().all().into_iter().filter(|s| s.body["to"] == to.as_str()).collect();
        assert_eq!(sends.len(), 1, "sent once: {sends:?}");
        assert_eq!(sends[0].body["text"]["body"], "On our way");
        // Sent, it left the outbox: no later sweep can send it again.
        let overdue =
            stack.app.store.overdue_outbox(stored_at + chrono::Duration::hours(1), 100).await.expect("outbox");
        assert!(overdue.entries.iter().all(|e| e.message_id != lost), "{overdue:?}");
    });
}

#[test]
fn whatsapp_over_its_throughput_answers_400_and_the_reply_is_retried_and_sent_once() {
    // Meta answers a throughput limit with a 400 carrying code 130429: not a refusal.
    run(sent_once_on_the_third_attempt(fake_whatsapp::THROTTLED_PREFIX));
}

#[test]
fn a_media_download_that_fails_twice_is_retried_and_the_message_kept_either_way() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await;
        let photo = |media_id: String| {
            json!({ "from": hotel.guest.number.trim_start_matches('+'), "id": format!("wamid.{}", unique()),
                    "timestamp": "1795514531", "type": "image",
                    "image": { "id": media_id, "mime_type": "image/jpeg", "caption": "the stain" } })
        };
        let flaky = format!("{}-{}", fake_whatsapp::FLAKY_MEDIA, unique());
        let raw = meta_payload(&hotel.phone_number_id, photo(flaky));
        assert_eq!(lobbybee_e2e::client::meta_webhook(stack, &raw).await.status, 200);
        let last = stored(stack, conversation).await.pop().expect("the photo");
        assert_eq!(last.content, "the stain");
        assert!(
            last.media_url.as_deref().is_some_and(|u| u.contains("/media/whatsapp/")),
            "imported on the third try: {last:?}"
        );
    });
}

#[test]
fn a_push_the_management_api_fails_reaches_the_socket_once_through_the_retry_queue() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.cafe.token, None).await;
        staff.barrier().await;
        let connection = stack.app.store.staff_connections(&hotel.cafe.user_id).await.unwrap().remove(0);
        // API Gateway failing: more 500s than the SDK's own retries, so the push is deferred.
        stack.gateway.fail_pushes_to(&connection.connection_id, 3);
        let (_, message) = guest_writes(stack, &hotel.guest.number, "Café", "Two espressos please").await;
        let mut heard = Vec::new();
        while heard.is_empty() {
            let frame = staff.next().await;
            if frame["type"] == "message" {
                heard.push(frame["data"]["id"].clone());
            }
        }
        assert_eq!(heard, vec![json!(message)]);
        assert!(staff.barrier().await.iter().all(|f| f["type"] != "message"), "delivered once");
    });
}

#[test]
fn while_the_store_fails_nothing_is_acknowledged_that_is_not_stored_and_afterwards_all_is_consistent() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (conversation, _) = guest_writes(stack, &hotel.guest.number, "Reception", "Hello").await;
        let proxy = FaultProxy::to_emulator().await;
        let gateway = gateway_through(&proxy).await;
        let mut staff = Socket::connect_to(&gateway.ws_url(), &format!("/?token={}", hotel.reception.token))
            .await
            .expect("connected before the outage");
        staff.barrier().await;
        let bridge = |text: &str| json!({"whatsapp_number": hotel.guest.number, "message": text, "provider_message_id": format!("bridge-{text}")});
        let post = |body: Value| {
            let base = gateway.http_base();
            async move { lobbybee_e2e::client::simple_webhook_at(&base, &body).await }
        };

        // The outage: the guest's bridge and a staff reply both fail, visibly.
        proxy.fail(true);
        let refused = post(bridge("during")).await;
        assert!(refused.status >= 500, "the bridge is told to retry: {}", refused.status);
        staff.send(json!({"type": "text", "conversation_id": conversation, "content": "reply during"})).await;
        assert_eq!(staff.expect("error").await["message"], "Internal error, please retry", "no acknowledgment");
        proxy.fail(false);

        // After it: the bridge retries with the same id, staff resend; each is stored once.
        assert_eq!(post(bridge("during")).await.status, 201);
        assert_eq!(post(bridge("during")).await.status, 201, "a repeat answers the same");
        assert_eq!(staff.expect("message").await["data"]["content"], "during", "pushed once");
        staff.send(json!({"type": "text", "conversation_id": conversation, "content": "reply after"})).await;
        assert_eq!(staff.expect("acknowledgment").await["status"], "received");
        let contents: Vec<String> = stored(stack, conversation).await.into_iter().map(|m| m.content).collect();
        assert_eq!(contents, vec!["Hello", "during", "reply after"], "nothing unacknowledged stored, nothing twice");
        staff.close().await;
        gateway.shutdown().await;
    });
}

#[test]
fn an_unreadable_index_item_does_not_silence_the_department() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;
        staff.barrier().await;
        // A corrupt item in the department's listener partition.
        let sdk = lobbybee::app::sdk_defaults().load().await;
        let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
        aws_sdk_dynamodb::Client::new(&sdk)
            .put_item()
            .table_name(&stack.resources.table_name)
            .item("pk", s(&lobbybee::store::keys::listeners(&hotel.id, lobbybee::department::Department::Reception)))
            .item("sk", s("CONN#corrupt"))
            .item("connection_id", aws_sdk_dynamodb::types::AttributeValue::N("42".into()))
            .send()
            .await
            .expect("corrupt item");
        let (_, message) = guest_writes(stack, &hotel.guest.number, "Reception", "Still heard?").await;
        staff.expect("new_conversation").await;
        assert_eq!(staff.expect("message").await["data"]["id"], message);
    });
}

#[test]
fn a_push_whose_audience_cannot_be_read_is_delivered_through_the_retry_queue() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.housekeeping.token, None).await;
        staff.barrier().await;
        // A function whose store fails (DynamoDB only: its queues still work) pushes a frame.
        let proxy = FaultProxy::to_emulator().await;
        let sdk = lobbybee::app::sdk_defaults().endpoint_url(&proxy.url).load().await;
        let config = lobbybee_e2e::test_config(&sdk, &stack.resources, 0).await;
        let app = lobbybee::app::App::new(config, &sdk);
        proxy.fail_only(true, Some("DynamoDB"));
        let audience = lobbybee::delivery::Audience {
            hotel_id: hotel.id.clone(),
            departments: vec![lobbybee::department::Department::Housekeeping],
            ..Default::default()
        };
        let frame = lobbybee::frames::ServerFrame::CloseConversation { conversation_id: 4242 };
        let origin =
            lobbybee::chat::Origin { connection_id: None, endpoint: Some(stack.gateway.management_endpoint()) };
        lobbybee::calls::FUNCTION.scope("ws-default", lobbybee::chat::reach(&app, &origin, audience, &frame)).await;
        assert!(proxy.failed() > 0, "the audience lookup failed");
        proxy.fail(false);
        // The push-retry consumer reads the audience again and delivers it, once.
        assert_eq!(
            staff.expect("close_conversation").await,
            json!({"type": "close_conversation", "conversation_id": 4242})
        );
        assert!(staff.barrier().await.is_empty());
    });
}

#[test]
fn in_a_batch_only_the_record_that_failed_comes_back() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let flaky = lobbybee_e2e::client::guest_numbered(stack, &hotel, fake_whatsapp::UNAVAILABLE_PREFIX).await;
        let (failing, _) = guest_writes(stack, &flaky, "Reception", "Hello?").await;
        let (working, _) = guest_writes(stack, &hotel.arriving.number, "Reception", "Hi").await;
        let job = |conversation: u64, message: u64| {
            serde_json::to_string(&lobbybee::jobs::OutboundJob {
                conversation_id: conversation,
                message_id: Some(message),
                kind: lobbybee::model::OutboundKind::Message,
            })
            .expect("job")
        };
        let bad = lobbybee_e2e::client::queued_reply(stack, &hotel, failing).await;
        let good = lobbybee_e2e::client::queued_reply(stack, &hotel, working).await;
        let mut event = lobbybee_e2e::client::sqs_event(&stack.resources.outbound_queue_url, job(failing, bad), 1);
        let second = lobbybee_e2e::client::sqs_event(&stack.resources.outbound_queue_url, job(working, good), 1);
        event.records.extend(second.records);
        let failed_id = event.records[0].message_id.clone().expect("id");
        let answer = lobbybee::calls::FUNCTION
            .scope("outbound-sender", lobbybee::outbound::handle_batch(&stack.app, event))
            .await;
        let failures: Vec<String> = answer.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        assert_eq!(failures, vec![failed_id], "only the record WhatsApp refused for now");
        let status = |c, m| async move { stack.app.store.get_message(c, m).await.unwrap().expect("m").delivery_status };
        assert_eq!(status(working, good).await, Some(lobbybee::model::DeliveryStatus::Sent));
        assert_eq!(status(failing, bad).await, Some(lobbybee::model::DeliveryStatus::Queued));
    });
}

/// PUTs a provisioning `body` to `path` at the gateway serving `http_base`, with the CRM's key
/// (checked against docs/openapi.yaml).
async fn provision_at(http_base: &str, path: &str, body: &Value) -> lobbybee_e2e::client::Answer {
    let request = lobbybee_e2e::client::http()
        .put(format!("{http_base}/api/chat/{path}"))
        .header("x-api-key", lobbybee_e2e::secrets::API_KEY)
        .json(body);
    let answer = lobbybee_e2e::client::send(request).await;
    lobbybee_e2e::openapi::check_answer("PUT", path, &answer);
    answer
}

#[test]
fn a_staff_change_open_sockets_could_not_follow_is_answered_503_closes_them_and_applies_when_sent_again() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let proxy = FaultProxy::to_emulator().await;
        let gateway = gateway_through(&proxy).await;
        let base = gateway.http_base();
        let member = &hotel.reception2;
        let (ws, query) = (gateway.ws_url(), format!("/?token={}", member.token));
        let mut socket = Socket::connect_to(&ws, &query).await.expect("connected");
        socket.barrier().await;

        // The CRM moves the member from Reception to Housekeeping. The profile is stored, then the
        // socket's re-indexing (a transaction) fails: 503, and the socket, which would otherwise
        // keep acting and hearing as a Reception member, is closed.
        let path = format!("admin/staff/{}", member.user_id);
        let body = json!({"hotel_id": hotel.id, "user_type": "department_staff", "departments": ["housekeeping"],
            "first_name": "Rob", "is_active": true});
        proxy.fail_only(true, Some("DynamoDB_20120810.TransactWriteItems"));
        let refused = provision_at(&base, &path, &body).await;
        assert_eq!((refused.status, &refused.body), (503, &json!({"error": "Busy, please retry"})));
        assert!(proxy.failed() > 0, "the re-indexing was failed");
        socket.closed().await;
        proxy.fail(false);
        let stored = stack.app.store.get_staff(&member.user_id).await.expect("read").expect("member");
        assert_eq!(stored.departments, vec![lobbybee::department::Department::Housekeeping], "the change is stored");

        // Sent again (provisioning is idempotent), it answers 200; the dashboard's reconnect
        // hears Housekeeping only.
        let applied = provision_at(&base, &path, &body).await;
        assert_eq!((applied.status, &applied.body["departments"]), (200, &json!(["Housekeeping"])));
        let mut socket = Socket::connect_to(&ws, &query).await.expect("reconnected");
        socket.barrier().await;
        let to = |guest: &lobbybee_e2e::fixtures::TestGuest, department: &str, text: &str| json!({"whatsapp_number": guest.number, "message": text, "department": department});
        let reception = simple_webhook_at(&base, &to(&hotel.arriving, "Reception", "Early check-in?")).await;
        let housekeeping = simple_webhook_at(&base, &to(&hotel.guest, "Housekeeping", "Towels please")).await;
        assert_eq!((reception.status, housekeeping.status), (201, 201));
        let heard: Vec<Value> = socket.barrier().await.into_iter().filter(|f| f["type"] == "message").collect();
        let contents: Vec<&Value> = heard.iter().map(|f| &f["data"]["content"]).collect();
        assert_eq!(contents, vec![&json!("Towels please")], "Housekeeping only: {heard:?}");
        gateway.shutdown().await;
    });
}
