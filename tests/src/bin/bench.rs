//! `infra/scripts/bench.sh`: figures for the hot paths of a local stack (gateway + emulator).
//!
//! - guest message in (signed webhook) → `message` frame on a staff socket, end to end;
//! - staff `text` frame → acknowledgment, and → the frame on 40 department sockets (fan-out);
//! - REST conversation list of one hotel.
//!
//! Prints percentiles; asserts nothing. The emulator (Python) dominates these numbers: they
//! compare revisions of this code on one machine, they do not predict AWS latencies.

use std::time::{Duration, Instant};

use lobbybee_e2e::client::{Socket, rest, simple_webhook};
use lobbybee_e2e::fixtures::TestHotel;
use serde_json::json;

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<44} n={:<4} p50={:>7.1} ms  p95={:>7.1} ms  max={:>7.1} ms",
        samples.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.95).as_secs_f64() * 1e3,
        pick(1.0).as_secs_f64() * 1e3
    );
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    lobbybee_e2e::run(async move {
        let stack = lobbybee_e2e::stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;

        let first = simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": "warm-up"})).await;
        let conversation = first.body["conversation_id"].as_u64().unwrap_or_default();
        staff.expect("new_conversation").await;
        staff.expect("message").await;
        let mut inbound = Vec::new();
        for i in 0..rounds {
            let start = Instant::now();
            simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": format!("bench {i}")}))
                .await;
            staff.expect("message").await;
            inbound.push(start.elapsed());
        }
        report("webhook → staff socket frame", inbound);

        let mut listeners = Vec::new();
        for _ in 0..40 {
            listeners.push(Socket::staff(stack, &hotel.reception2.token, None).await);
        }
        for l in &mut listeners {
            l.barrier().await;
        }
        staff.barrier().await;
        let (mut acks, mut fan_out) = (Vec::new(), Vec::new());
        for i in 0..rounds.min(20) {
            let start = Instant::now();
            staff.send(json!({"type": "text", "conversation_id": conversation, "content": format!("reply {i}")})).await;
            staff.expect("acknowledgment").await;
            acks.push(start.elapsed());
            for l in &mut listeners {
                l.expect("message").await;
            }
            fan_out.push(start.elapsed());
        }
        report("staff text → acknowledgment", acks);
        report("staff text → frame on all 40 sockets", fan_out);

        let mut lists = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            let answer = rest(stack, reqwest::Method::GET, "conversations/", Some(&hotel.manager.token), None).await;
            assert_eq!(answer.status, 200);
            lists.push(start.elapsed());
        }
        report("GET /conversations/ (manager)", lists);
    });
}
