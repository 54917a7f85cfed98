//! Fan-out scale (`--fan-out 1,10,100,500`): one guest message to that many staff sockets of one
//! department. For each size, the sockets missing are opened (in waves of [`WAVE`] at once), then
//! `--rounds` guest messages are sent one after the other, each waited for at every socket; it
//! prints the time to the webhook's answer, to the first and to the last frame, the frames
//! received, the calls per message and the gateway's CPU per message.

use std::time::{Duration, Instant};

use lobbybee::department::Department;
use lobbybee_e2e::counters::PerUnit;

use crate::Options;
use crate::clients::Seen;
use crate::procs::Watched;
use crate::session::Session;

/// Sockets opened at once.
const WAVE: usize = 50;

/// How long one message may take to reach every socket.
const PATIENCE: Duration = Duration::from_secs(60);

/// One message of a round.
struct Round {
    answered: Duration,
    first: Option<Duration>,
    last: Option<Duration>,
    received: usize,
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs the fan-out measurement for each of `sizes`.
pub async fn run(options: &Options, sizes: &[usize]) -> Result<(), String> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    let most = sizes.last().copied().unwrap_or(1);
    let mut session = Session::start(options, most, &[Department::Reception], 1).await?;
    session.open_conversations().await?; // the rounds join it: no round creates a conversation
    let guest = session.provisioned.guests[0].clone();
    println!("LobbyBee fan-out: one simple webhook message to N Reception sockets, {} messages per N", options.rounds);
    println!(
        "{:>5} {:>11} {:>9} {:>9} {:>10} {:>9} {:>9} {:>7} {:>7} {:>7} {:>8}",
        "N", "connect", "answer", "first", "last p50", "last max", "received", "reads", "writes", "pushes", "CPU-ms"
    );
    let (mut writers, mut seq) = (Vec::new(), 0u64);
    for n in sizes {
        let mut connecting = Duration::ZERO;
        while writers.len() < n {
            let from = writers.len();
            let (opened, took) = session.connect_staff(from, n.min(from + WAVE)).await?;
            writers.extend(opened);
            connecting += took;
        }
        let gateway = Watched::start("gateway", session.gateway.pid);
        let before = session.gateway.counts().await;
        let mut rounds = Vec::new();
        for _ in 0..options.rounds {
            seq += 1;
            rounds.push(round(&mut session, &guest, seq, n).await);
        }
        let calls = PerUnit::of(&session.gateway.counts().await.since(&before), rounds.len() as u64);
        let cpu = gateway.since_start().map_or(0.0, |(cpu, _)| ms(cpu) / rounds.len() as f64);
        let received: usize = rounds.iter().map(|r| r.received).sum();
        let lasts: Vec<Duration> = rounds.iter().filter_map(|r| r.last).collect();
        println!(
            "{n:>5} {:>9.2} s {:>6.1} ms {:>6.1} ms {:>7.1} ms {:>6.1} ms {:>9} {:>7.2} {:>7.2} {:>7.1} {:>8.1}",
            connecting.as_secs_f64(),
            ms(median(rounds.iter().map(|r| r.answered).collect())),
            ms(median(rounds.iter().filter_map(|r| r.first).collect())),
            ms(median(lasts.clone())),
            ms(lasts.iter().max().copied().unwrap_or_default()),
            format!("{received}/{}", n * rounds.len()),
            calls.reads,
            calls.writes,
            calls.pushes,
            cpu
        );
    }
    println!(
        "(connect: opening the sockets added for this N, {WAVE} at once; answer, first, last: medians from sending \
         the webhook; reads, writes, pushes: AWS requests per message; CPU-ms: the gateway's per message)"
    );
    drop(writers);
    let (_, gateway) = session.collect().await;
    drop(gateway);
    Ok(())
}

/// Sends message `seq` from `guest` and waits until `n` sockets received it (or [`PATIENCE`]).
async fn round(session: &mut Session, guest: &crate::stack::LoadGuest, seq: u64, n: usize) -> Round {
    let text = session.inbox.tag.text(seq);
    let start = Instant::now();
    let _ = session.webhooks.simple(&guest.number, guest.department.as_str(), &text).await;
    let answered = start.elapsed();
    let (mut first, mut last, mut received) = (None, None, 0);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while received < n {
        match tokio::time::timeout_at(deadline, session.arrivals.recv()).await {
            Ok(Some(arrival)) => {
                if matches!(arrival.seen, Seen::Message { seq: s, .. } if s == seq) {
                    received += 1;
                    let at = arrival.at.saturating_duration_since(start);
                    first = first.or(Some(at));
                    last = Some(at);
                }
            }
            _ => break,
        }
    }
    Round { answered, first, last, received }
}
