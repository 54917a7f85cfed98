//! `infra/scripts/bench.sh`: figures for the hot paths of a local stack (gateway + emulator).
//!
//! - guest message in (signed simple webhook, and Meta webhook) → `message` frame on a staff
//!   socket, end to end;
//! - staff `text` frame → acknowledgment, and → the frame on 40 department sockets (fan-out);
//! - REST conversation list of one hotel, with 1 and with 12 conversations.
//!
//! And the AWS calls each of them makes, counted by the interceptor of `lobbybee::calls`: per
//! guest message (new conversation, joining one, Meta), per staff `text` frame (with the
//! outbound sender's work for it), per Meta status webhook, per list call; with the DynamoDB
//! capacity units the emulator reports.
//!
//! Prints percentiles and counts; asserts nothing. The emulator (Python) dominates the latencies:
//! they compare revisions of this code on one machine, they do not predict AWS latencies. The
//! counts do not depend on the machine.

use std::time::{Duration, Instant};

use lobbybee::calls::Counts;
use lobbybee_e2e::client::{Socket, meta_payload, meta_text, meta_webhook, rest, simple_webhook};
use lobbybee_e2e::fixtures::{TestGuest, TestHotel};
use lobbybee_e2e::{Stack, counters, unique};
use serde_json::{Value, json};

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<48} n={:<4} p50={:>7.1} ms  p95={:>7.1} ms  max={:>7.1} ms",
        samples.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.95).as_secs_f64() * 1e3,
        pick(1.0).as_secs_f64() * 1e3
    );
}

fn counts() -> Counts {
    lobbybee_e2e::calls().counts()
}

/// Reads frames until the `delivery_status` of `message_id` says `status`.
async fn until_status(socket: &mut Socket, message_id: u64, status: &str) {
    loop {
        let frame = socket.next().await;
        if frame["type"] == "delivery_status"
            && frame["data"]["message_id"] == message_id
            && frame["data"]["status"] == status
        {
            return;
        }
    }
}

/// A guest message to `department` (simple format); its conversation id.
async fn open(stack: &Stack, guest: &TestGuest, department: &str) -> u64 {
    let body = json!({"whatsapp_number": guest.number, "message": "hello", "department": department});
    let answer = simple_webhook(stack, &body).await;
    answer.body["conversation_id"].as_u64().unwrap_or_default()
}

/// Times `rounds` conversation lists of the manager and counts their calls.
async fn time_lists(stack: &Stack, hotel: &TestHotel, rounds: usize, rows: &str, calls: &mut Vec<Counted>) {
    let (mut lists, before) = (Vec::new(), counts());
    for _ in 0..rounds {
        let start = Instant::now();
        let answer = rest(stack, reqwest::Method::GET, "conversations/", Some(&hotel.manager.token), None).await;
        assert_eq!(answer.status, 200);
        lists.push(start.elapsed());
    }
    let title = format!("GET /conversations/ (manager), {rows}");
    report(&title, lists);
    calls.push((title, counts().since(&before), rounds));
}

/// What one path cost: its name, the calls counted, how many times it ran.
type Counted = (String, Counts, usize);

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    lobbybee_e2e::ask_consumed_capacity();
    lobbybee_e2e::run(async move {
        let stack = lobbybee_e2e::stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;
        let mut calls: Vec<Counted> = Vec::new();

        let before = counts();
        let first = simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": "warm-up"})).await;
        let conversation = first.body["conversation_id"].as_u64().unwrap_or_default();
        staff.expect("new_conversation").await;
        staff.expect("message").await;
        calls.push((String::from("simple webhook, new conversation (1 staff socket)"), counts().since(&before), 1));

        let (mut inbound, before) = (Vec::new(), counts());
        for i in 0..rounds {
            let start = Instant::now();
            simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": format!("bench {i}")}))
                .await;
            staff.expect("message").await;
            inbound.push(start.elapsed());
        }
        report("webhook → staff socket frame", inbound);
        calls.push((
            String::from("simple webhook, active conversation (1 staff socket)"),
            counts().since(&before),
            rounds,
        ));

        let (mut meta, before) = (Vec::new(), counts());
        for i in 0..rounds {
            let wamid = format!("wamid.bench{}", unique());
            let raw =
                meta_payload(&hotel.phone_number_id, meta_text(&hotel.guest.number, &wamid, &format!("meta {i}")));
            let start = Instant::now();
            meta_webhook(stack, &raw).await;
            staff.expect("message").await;
            meta.push(start.elapsed());
        }
        report("Meta webhook → staff socket frame", meta);
        calls.push((
            String::from("Meta webhook text, active conversation (1 staff socket)"),
            counts().since(&before),
            rounds,
        ));

        let mut listeners = Vec::new();
        for _ in 0..40 {
            listeners.push(Socket::staff(stack, &hotel.reception2.token, None).await);
        }
        let mut watcher = Socket::staff(stack, &hotel.reception2.token, None).await;
        for l in &mut listeners {
            l.barrier().await;
        }
        staff.barrier().await;
        watcher.barrier().await;
        let replies = rounds.min(20);
        let (mut acks, mut fan_out, before) = (Vec::new(), Vec::new(), counts());
        for i in 0..replies {
            let start = Instant::now();
            staff.send(json!({"type": "text", "conversation_id": conversation, "content": format!("reply {i}")})).await;
            let ack = staff.expect("acknowledgment").await;
            acks.push(start.elapsed());
            for l in &mut listeners {
                l.expect("message").await;
            }
            fan_out.push(start.elapsed());
            // The outbound sender's work for it (WhatsApp send, status `sent`, its push) is done.
            until_status(&mut watcher, ack["message_id"].as_u64().unwrap_or_default(), "sent").await;
        }
        report("staff text → acknowledgment", acks);
        report("staff text → frame on all 40 sockets", fan_out);
        calls.push((
            String::from("staff text frame, with its outbound send (42 staff sockets)"),
            counts().since(&before),
            replies,
        ));

        let sent: Vec<_> = stack.gateway.whatsapp().all().into_iter().rev().take(replies).collect();
        let before = counts();
        for reply in &sent {
            let item = json!({"id": reply.wamid, "status": "delivered", "timestamp": "1795514531",
                              "recipient_id": reply.body["to"]});
            let raw = lobbybee_local::gateway::local::meta_envelope(&hotel.phone_number_id, "statuses", item);
            meta_webhook(stack, &raw.to_string()).await;
        }
        // Each status reached the department (the watcher hears every one).
        for _ in &sent {
            loop {
                let frame: Value = watcher.next().await;
                if frame["type"] == "delivery_status" && frame["data"]["status"] == "delivered" {
                    break;
                }
            }
        }
        calls.push((
            String::from("Meta status webhook `delivered` (42 staff sockets)"),
            counts().since(&before),
            sent.len(),
        ));

        time_lists(stack, &hotel, rounds, "1 conversation", &mut calls).await;

        for guest in [&hotel.guest, &hotel.arriving, &hotel.leaving] {
            for department in ["Housekeeping", "Room Service", "Cafe", "Reception"] {
                open(stack, guest, department).await;
            }
        }
        time_lists(stack, &hotel, rounds, "12 conversations", &mut calls).await;

        println!();
        for (title, counted, units) in &calls {
            counters::print(&format!("AWS calls: {title}"), counted, *units as u64);
        }
    });
}
