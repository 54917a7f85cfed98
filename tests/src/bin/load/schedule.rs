//! The open loop: one stream per kind of message (simple webhooks, Meta webhooks, staff replies),
//! each sending on its own clock whatever the answers to earlier sends. A send late on its clock
//! (the generator fell behind) is sent at once, and measured from when it was due.
//!
//! A webhook answered `429` (the function at its reserved concurrency: Lambda refused it before it
//! ran, nothing was stored) is sent again, as Meta and the bridge do: after a random wait of up to
//! [`FIRST_BACKOFF`], doubling with each refusal up to [`MAX_BACKOFF`], for at most the retry window
//! after the message was due. Each refusal is counted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lobbybee::department::Department;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::clients::{Tag, Webhooks};
use crate::stack::LoadGuest;

/// The longest wait before the first resend of a refused webhook.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two resends.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Which way a message came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A signed simple-format webhook.
    Simple,
    /// A signed Meta webhook.
    Meta,
    /// A staff `text` frame.
    Reply,
}

/// What became of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No answer (yet): a reply without acknowledgment.
    Pending,
    /// 2xx, or an acknowledgment.
    Accepted,
    /// Another status (0: an `error` frame).
    Refused(u16),
    /// No answer: the request timed out or its connection failed.
    Failed(String),
}

/// One message sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Its way in.
    pub kind: Kind,
    /// The guest whose conversation it belongs to.
    pub guest: usize,
    /// The staff socket that sent it (replies).
    pub socket: Option<usize>,
    /// When it was due.
    pub planned: Instant,
    /// When the answer or acknowledgment came.
    pub answered: Option<Instant>,
    /// What it was answered (the last answer, for a webhook sent again).
    pub outcome: Outcome,
    /// How many times it was sent (a refused webhook is sent again).
    pub attempts: u32,
    /// When its last attempt was sent.
    pub last_sent: Instant,
}

/// Messages per second of each stream.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// Simple webhooks.
    pub simple: f64,
    /// Meta webhooks.
    pub meta: f64,
    /// Staff replies.
    pub replies: f64,
}

/// Everything the streams share.
pub struct Run {
    /// The webhooks.
    pub webhooks: Webhooks,
    /// The frames channel of each staff socket.
    pub staff: Vec<mpsc::UnboundedSender<String>>,
    /// Staff sockets by department.
    pub staff_by_department: BTreeMap<Department, Vec<usize>>,
    /// The guests.
    pub guests: Vec<LoadGuest>,
    /// Each guest's conversation.
    pub conversations: Vec<u64>,
    /// The contents' tag.
    pub tag: Tag,
    /// Every message sent; its index is its sequence number.
    pub records: Mutex<Vec<Sent>>,
    /// How long after it was due a refused webhook is still sent again.
    pub retry_window: Duration,
    /// Per staff socket, the replies it sent, in order (acknowledgments come in that order).
    pub pending: Mutex<Vec<Vec<u64>>>,
}

impl Run {
    fn record(&self, sent: Sent) -> u64 {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.push(sent);
        records.len() as u64 - 1
    }

    fn answer(&self, seq: u64, outcome: Outcome) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sent) = records.get_mut(seq as usize) {
            sent.answered = Some(Instant::now());
            sent.outcome = outcome;
        }
    }

    /// Notes that message `seq` is being sent (again) now.
    fn attempt(&self, seq: u64) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sent) = records.get_mut(seq as usize) {
            sent.attempts += 1;
            sent.last_sent = Instant::now();
        }
    }
}

/// Runs the three streams for `duration`; returns when the last message is due, with the
/// webhook requests still in flight.
pub async fn drive(run: Arc<Run>, rates: Rates, duration: Duration) -> Vec<JoinHandle<()>> {
    let until = Instant::now() + duration;
    let streams = [(Kind::Simple, rates.simple), (Kind::Meta, rates.meta), (Kind::Reply, rates.replies)]
        .map(|(kind, rate)| tokio::spawn(stream(run.clone(), kind, rate, until)));
    let mut in_flight = Vec::new();
    for stream in streams {
        in_flight.extend(stream.await.unwrap_or_default());
    }
    in_flight
}

async fn stream(run: Arc<Run>, kind: Kind, rate: f64, until: Instant) -> Vec<JoinHandle<()>> {
    let mut in_flight = Vec::new();
    if rate <= 0.0 || run.guests.is_empty() {
        return in_flight;
    }
    let mut clock = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for k in 0usize.. {
        let planned = clock.tick().await.into_std();
        if planned >= until {
            break;
        }
        // Each stream walks the guests in its own order, so a conversation sees all kinds.
        let guest = match kind {
            Kind::Simple => k,
            Kind::Meta => k * 7 + 3,
            Kind::Reply => k * 3 + 1,
        } % run.guests.len();
        match kind {
            Kind::Reply => reply(&run, guest, k, planned),
            Kind::Simple | Kind::Meta => in_flight.push(webhook(run.clone(), kind, guest, planned)),
        }
    }
    in_flight
}

fn webhook(run: Arc<Run>, kind: Kind, guest: usize, planned: Instant) -> JoinHandle<()> {
    let sent = Sent {
        kind,
        guest,
        socket: None,
        planned,
        answered: None,
        outcome: Outcome::Pending,
        attempts: 0,
        last_sent: planned,
    };
    let seq = run.record(sent);
    tokio::spawn(async move {
        let who = &run.guests[guest];
        let text = run.tag.text(seq);
        let wamid = format!("wamid.{}.{seq}", std::process::id());
        let give_up = planned + run.retry_window;
        let mut backoff = FIRST_BACKOFF;
        loop {
            run.attempt(seq);
            let answer = match kind {
                Kind::Meta => run.webhooks.meta(&who.number, &wamid, &text).await,
                _ => run.webhooks.simple(&who.number, who.department.as_str(), &text).await,
            };
            let outcome = match answer {
                Ok((status, _)) if (200..300).contains(&status) => Outcome::Accepted,
                Ok((status, _)) => Outcome::Refused(status),
                Err(e) => Outcome::Failed(e),
            };
            let again = outcome == Outcome::Refused(429);
            run.answer(seq, outcome);
            // The sender's backoff (random, "full jitter"), not a synchronisation.
            let wait = backoff.mul_f64(fastrand::f64());
            if !again || Instant::now() + wait >= give_up {
                break;
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

fn reply(run: &Run, guest: usize, k: usize, planned: Instant) {
    let department = run.guests[guest].department;
    let Some(sockets) = run.staff_by_department.get(&department).filter(|s| !s.is_empty()) else { return };
    let socket = sockets[k % sockets.len()];
    let seq = run.record(Sent {
        kind: Kind::Reply,
        guest,
        socket: Some(socket),
        planned,
        answered: None,
        outcome: Outcome::Pending,
        attempts: 1,
        last_sent: planned,
    });
    let frame =
        serde_json::json!({"type": "text", "conversation_id": run.conversations[guest], "content": run.tag.text(seq)});
    let mut pending = run.pending.lock().unwrap_or_else(|e| e.into_inner());
    if run.staff[socket].send(frame.to_string()).is_ok() {
        pending[socket].push(seq);
    } else {
        drop(pending);
        run.answer(seq, Outcome::Failed("socket closed".into()));
    }
}
