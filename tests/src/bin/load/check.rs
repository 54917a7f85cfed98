//! What arrived against what should have: every accepted message exactly once at every socket
//! that should hear it (the department's staff sockets; for a staff reply also the guest's
//! socket, and not the sender's, which gets the acknowledgment), in order per conversation;
//! and how long it took.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use lobbybee::department::Department;

use crate::clients::{Arrival, Seen};
use crate::schedule::{Kind, Outcome, Sent};

/// Who listens where: staff sockets `0..staff.len()` by department, then one socket per guest.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Each staff socket's department.
    pub staff: Vec<Department>,
    /// Each guest's department.
    pub guests: Vec<Department>,
}

impl Layout {
    /// The sockets that should receive `sent` as a `message` frame.
    fn audience(&self, sent: &Sent) -> Vec<usize> {
        let department = self.guests[sent.guest];
        let mut sockets: Vec<usize> =
            (0..self.staff.len()).filter(|&s| self.staff[s] == department && Some(s) != sent.socket).collect();
        if sent.kind == Kind::Reply {
            sockets.push(self.staff.len() + sent.guest);
        }
        sockets
    }
}

/// Latency samples of one path.
#[derive(Debug, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    fn add(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// `n, p50, p95, p99, max` in milliseconds.
    pub fn line(&self) -> String {
        if self.0.is_empty() {
            return "n=0".into();
        }
        let mut sorted = self.0.clone();
        sorted.sort();
        let pick = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
        format!(
            "n={:<6} p50={:>8.1} ms  p95={:>8.1} ms  p99={:>8.1} ms  max={:>8.1} ms",
            sorted.len(),
            pick(0.5),
            pick(0.95),
            pick(0.99),
            pick(1.0)
        )
    }
}

/// Totals of one kind of message.
#[derive(Debug, Default)]
pub struct Tally {
    /// Sent (due within the run).
    pub sent: u64,
    /// Answered 2xx or acknowledged.
    pub accepted: u64,
    /// Refused in the end, by status (0: an `error` frame; 429: still throttled when the sender
    /// gave up).
    pub refused: BTreeMap<u16, u64>,
    /// `429` answers (throttled before the function ran), each followed by a resend while the
    /// retry window lasted.
    pub throttled: u64,
    /// Accepted after at least one `429`.
    pub accepted_after_retry: u64,
    /// Not answered: timed out, connection failed, or no acknowledgment.
    pub unanswered: u64,
    /// Frames expected at sockets, for accepted messages.
    pub expected: u64,
    /// Of those, received.
    pub delivered: u64,
    /// Expected frames that never came (accepted messages only).
    pub lost: u64,
    /// Frames received more than once at one socket.
    pub duplicates: u64,
    /// Frames received at a socket that should not have heard the message.
    pub misrouted: u64,
    /// Messages not accepted that arrived anyway (stored although the answer never came).
    pub arrived_unanswered: u64,
}

/// The check of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Per kind.
    pub kinds: BTreeMap<Kind, Tally>,
    /// Webhook (simple) → staff socket.
    pub simple_to_staff: Samples,
    /// Webhook (Meta) → staff socket.
    pub meta_to_staff: Samples,
    /// Webhook (either format) → staff socket, from when the attempt that was accepted was sent
    /// (without the sender's backoff after refusals).
    pub accepted_attempt_to_staff: Samples,
    /// Staff frame → the guest's socket.
    pub reply_to_guest: Samples,
    /// Staff frame → the department's other staff sockets.
    pub reply_to_staff: Samples,
    /// Webhook answers (simple, Meta) and acknowledgments.
    pub answers: BTreeMap<Kind, Samples>,
    /// Frames of one conversation arriving at a socket with a lower id than one it already had,
    /// where the lower one was answered before the higher one was sent.
    pub reordered: u64,
    /// The same, where both were in flight at once (their order is not defined).
    pub reordered_concurrent: u64,
    /// The last frame that arrived.
    pub last_arrival: Option<Instant>,
}

/// Matches acknowledgments to the replies each socket sent (they come in sending order) and
/// checks every arrival.
pub fn check(layout: &Layout, records: &mut [Sent], pending: &[Vec<u64>], arrivals: &[Arrival]) -> Report {
    let mut answers_by_socket: HashMap<usize, Vec<&Arrival>> = HashMap::new();
    for arrival in arrivals.iter().filter(|a| matches!(a.seen, Seen::Ack | Seen::Refused)) {
        answers_by_socket.entry(arrival.socket).or_default().push(arrival);
    }
    for (socket, sent) in pending.iter().enumerate() {
        let answers = answers_by_socket.get(&socket).map(Vec::as_slice).unwrap_or_default();
        for (seq, answer) in sent.iter().zip(answers) {
            if let Some(record) = records.get_mut(*seq as usize) {
                record.answered = Some(answer.at);
                record.outcome = if answer.seen == Seen::Ack { Outcome::Accepted } else { Outcome::Refused(0) };
            }
        }
    }
    let mut report = Report::default();
    let mut by_seq: HashMap<u64, Vec<&Arrival>> = HashMap::new();
    for arrival in arrivals {
        if let Seen::Message { seq, .. } = arrival.seen {
            by_seq.entry(seq).or_default().push(arrival);
        }
        report.last_arrival = report.last_arrival.max(Some(arrival.at));
    }
    for (seq, sent) in records.iter().enumerate() {
        let arrived = by_seq.get(&(seq as u64)).map(Vec::as_slice).unwrap_or_default();
        tally(&mut report, layout, sent, arrived);
    }
    reorders(&mut report, records, arrivals);
    report
}

fn tally(report: &mut Report, layout: &Layout, sent: &Sent, arrived: &[&Arrival]) {
    let kind = report.kinds.entry(sent.kind).or_default();
    kind.sent += 1;
    let refusals = sent.attempts.saturating_sub(1) + u32::from(sent.outcome == Outcome::Refused(429));
    kind.throttled += u64::from(refusals);
    match &sent.outcome {
        Outcome::Accepted if sent.attempts > 1 => {
            kind.accepted += 1;
            kind.accepted_after_retry += 1;
        }
        Outcome::Accepted => kind.accepted += 1,
        Outcome::Refused(status) => *kind.refused.entry(*status).or_default() += 1,
        Outcome::Pending | Outcome::Failed(_) => kind.unanswered += 1,
    }
    let accepted = sent.outcome == Outcome::Accepted;
    if let (Outcome::Accepted, Some(at)) = (&sent.outcome, sent.answered) {
        report.answers.entry(sent.kind).or_default().add(at.saturating_duration_since(sent.planned));
    }
    if !accepted && !arrived.is_empty() {
        kind.arrived_unanswered += 1;
    }
    let audience = layout.audience(sent);
    let mut seen: HashMap<usize, u64> = HashMap::new();
    for arrival in arrived {
        *seen.entry(arrival.socket).or_default() += 1;
        if !audience.contains(&arrival.socket) {
            kind.misrouted += 1;
        }
    }
    kind.duplicates += seen.values().map(|n| n.saturating_sub(1)).sum::<u64>();
    for socket in audience {
        let first = arrived.iter().find(|a| a.socket == socket);
        if accepted {
            kind.expected += 1;
            if first.is_some() { kind.delivered += 1 } else { kind.lost += 1 }
        }
        let Some(first) = first else { continue };
        let latency = first.at.saturating_duration_since(sent.planned);
        if sent.kind != Kind::Reply {
            report.accepted_attempt_to_staff.add(first.at.saturating_duration_since(sent.last_sent));
        }
        match (sent.kind, socket >= layout.staff.len()) {
            (Kind::Simple, _) => report.simple_to_staff.add(latency),
            (Kind::Meta, _) => report.meta_to_staff.add(latency),
            (Kind::Reply, true) => report.reply_to_guest.add(latency),
            (Kind::Reply, false) => report.reply_to_staff.add(latency),
        }
    }
}

/// Per socket and conversation, a message arriving after one with a higher id.
fn reorders(report: &mut Report, records: &[Sent], arrivals: &[Arrival]) {
    // (socket, conversation) → (highest id so far, its sequence number)
    let mut highest: HashMap<(usize, u64), (u64, u64)> = HashMap::new();
    for arrival in arrivals {
        let Seen::Message { seq, id, conversation } = arrival.seen else { continue };
        let entry = highest.entry((arrival.socket, conversation)).or_insert((id, seq));
        if id > entry.0 {
            *entry = (id, seq);
        } else if id < entry.0 {
            let earlier = records.get(seq as usize).and_then(|r| r.answered);
            let later_sent = records.get(entry.1 as usize).map(|r| r.planned);
            match (earlier, later_sent) {
                (Some(answered), Some(sent)) if answered < sent => report.reordered += 1,
                _ => report.reordered_concurrent += 1,
            }
        }
    }
}
