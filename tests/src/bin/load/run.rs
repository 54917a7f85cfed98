//! The load mode: set up, send for the duration, drain, check, print.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lobbybee::calls::Counts;
use lobbybee_e2e::counters;

use crate::Options;
use crate::check::{self, Layout, Report};
use crate::procs::Watched;
use crate::schedule::{self, Kind, Run, Sent};
use crate::session::Session;
use crate::stack;

/// How long nothing may arrive, once every request was answered, before the drain ends early.
const QUIET: Duration = Duration::from_secs(3);

/// Runs the load; `Ok(false)` when the check failed.
pub async fn run(options: &Options) -> Result<bool, String> {
    let departments = stack::departments(options.departments);
    let session = Session::start(options, options.staff, &departments, options.guests).await?;
    let (staff, staff_time) = session.connect_staff(0, options.staff).await?;
    let (guest_sockets, guest_time) = session.connect_guests().await?;
    let conversations = session.open_conversations().await?;
    let layout = Layout {
        staff: session.provisioned.staff.iter().map(|s| s.department).collect(),
        guests: session.provisioned.guests.iter().map(|g| g.department).collect(),
    };
    let mut staff_by_department = BTreeMap::new();
    for (socket, department) in layout.staff.iter().enumerate() {
        staff_by_department.entry(*department).or_insert_with(Vec::new).push(socket);
    }
    let run = Arc::new(Run {
        webhooks: session.webhooks.clone(),
        pending: Mutex::new(vec![Vec::new(); staff.len()]),
        staff,
        staff_by_department,
        guests: session.provisioned.guests.clone(),
        conversations,
        tag: session.inbox.tag.clone(),
        records: Mutex::default(),
        retry_window: options.retry_window,
    });
    println!(
        "LobbyBee load: {} staff sockets over {} department(s), {} guests with a socket each; simple {}/s, Meta {}/s, \
         staff replies {}/s for {:.0} s, open loop",
        options.staff,
        departments.len(),
        options.guests,
        options.rates.simple,
        options.rates.meta,
        options.rates.replies,
        options.duration.as_secs_f64()
    );
    println!(
        "guest-webhook runs at most {} invocations at once ({}); a 429 is resent with backoff for up to {:.0} s \
         after the message was due",
        options.webhook_concurrency.map_or_else(|| "template.yaml's reservation".to_owned(), |n| n.to_string()),
        if options.webhook_concurrency.is_some() { "--webhook-concurrency" } else { "its default" },
        options.retry_window.as_secs_f64()
    );
    println!(
        "connected {} staff sockets at once in {:.2} s, {} guest sockets in {:.2} s",
        options.staff,
        staff_time.as_secs_f64(),
        guest_sockets.len(),
        guest_time.as_secs_f64()
    );

    let mut watched = vec![Watched::start("gateway", session.gateway.pid)];
    if let Some(pid) = options.emulator_pid {
        watched.push(Watched::start("emulator", pid));
    }
    watched.push(Watched::start("generator", std::process::id()));
    let counts_before = session.gateway.counts().await;
    let start = Instant::now();
    let in_flight = schedule::drive(run.clone(), options.rates, options.duration).await;
    let sending = start.elapsed();
    let deadline = tokio::time::Instant::now() + options.drain;
    for request in in_flight {
        let _ = tokio::time::timeout_at(deadline, request).await;
    }
    drain(&session, &run, &layout, deadline).await;
    let window = start.elapsed();
    let usage: Vec<_> = watched.iter().map(|w| (w.name.clone(), w.since_start())).collect();
    let counts = session.gateway.counts().await.since(&counts_before);

    let (arrivals, gateway) = session.collect().await;
    drop(gateway);
    drop(guest_sockets);
    let mut records = run.records.lock().map(|r| r.clone()).unwrap_or_default();
    let pending = run.pending.lock().map(|p| p.clone()).unwrap_or_default();
    let report = check::check(&layout, &mut records, &pending, &arrivals);
    print_report(&report, sending, start);
    let accepted: u64 = report.kinds.values().map(|k| k.accepted).sum();
    println!("\nresources over the {:.1} s from the first send to the end of the drain:", window.as_secs_f64());
    for (name, reading) in usage {
        match reading {
            Some((cpu, now)) => println!(
                "  {name:<10} CPU {:>7.2} s ({:>4.0} % of one core), {:>6.2} CPU-ms per accepted message; \
                 RSS {:.1} MiB (peak {:.1} MiB)",
                cpu.as_secs_f64(),
                cpu.as_secs_f64() / window.as_secs_f64() * 100.0,
                cpu.as_secs_f64() * 1e3 / accepted.max(1) as f64,
                now.rss_kib as f64 / 1024.0,
                now.peak_kib as f64 / 1024.0
            ),
            None => println!("  {name:<10} not readable"),
        }
    }
    print_calls(&counts, &report);
    let ok =
        report.kinds.values().all(|k| k.lost == 0 && k.duplicates == 0 && k.misrouted == 0) && report.reordered == 0;
    println!(
        "\ncheck: {}",
        if ok { "every accepted message reached every socket once, in order" } else { "FAILED (see above)" }
    );
    Ok(ok)
}

/// Waits until every expected frame and acknowledgment arrived, nothing arrived for [`QUIET`],
/// or the deadline passed.
async fn drain(session: &Session, run: &Run, layout: &Layout, deadline: tokio::time::Instant) {
    let expected: u64 = {
        let records = run.records.lock().unwrap_or_else(|e| e.into_inner());
        records.iter().map(|sent| expected_frames(layout, sent)).sum()
    };
    let (mut last_count, mut last_change) = (0, Instant::now());
    while tokio::time::Instant::now() < deadline {
        let count = session.inbox.count.load(Ordering::Relaxed);
        if count >= expected {
            return;
        }
        if count != last_count {
            (last_count, last_change) = (count, Instant::now());
        } else if last_change.elapsed() > QUIET {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Frames a message should cause: its audience, plus the acknowledgment of a reply.
fn expected_frames(layout: &Layout, sent: &Sent) -> u64 {
    let department = layout.guests[sent.guest];
    let staff = layout.staff.iter().filter(|d| **d == department).count() as u64;
    match sent.kind {
        Kind::Reply => staff + 1, // the others, the guest's socket, the sender's acknowledgment
        Kind::Simple | Kind::Meta if sent.outcome == schedule::Outcome::Accepted => staff,
        Kind::Simple | Kind::Meta => 0,
    }
}

fn print_report(report: &Report, sending: Duration, start: Instant) {
    let seconds = sending.as_secs_f64().max(1e-3);
    println!(
        "\n{:<8} {:>7} {:>9} {:>9} {:>9} {:>10} {:>9} {:>11}  refused in the end",
        "kind", "sent", "sent/s", "accepted", "acc./s", "unanswered", "429s", "acc. after"
    );
    for (kind, tally) in &report.kinds {
        println!(
            "{:<8} {:>7} {:>9.1} {:>9} {:>9.1} {:>10} {:>9} {:>11}  {:?}",
            format!("{kind:?}"),
            tally.sent,
            tally.sent as f64 / seconds,
            tally.accepted,
            tally.accepted as f64 / seconds,
            tally.unanswered,
            tally.throttled,
            tally.accepted_after_retry,
            tally.refused
        );
    }
    println!("(429s: throttled before the function ran, each resent; acc. after: accepted after at least one 429)");
    println!(
        "\n{:<8} {:>9} {:>9} {:>6} {:>10} {:>9} {:>20}",
        "kind", "expected", "delivered", "lost", "duplicates", "misrouted", "arrived unanswered"
    );
    for (kind, t) in &report.kinds {
        println!(
            "{:<8} {:>9} {:>9} {:>6} {:>10} {:>9} {:>20}",
            format!("{kind:?}"),
            t.expected,
            t.delivered,
            t.lost,
            t.duplicates,
            t.misrouted,
            t.arrived_unanswered
        );
    }
    let frames: u64 = report.kinds.values().map(|k| k.delivered).sum();
    let span = report.last_arrival.map_or(seconds, |last| last.saturating_duration_since(start).as_secs_f64());
    println!("frames delivered: {frames} ({:.0}/s until the last one)", frames as f64 / span.max(1e-3));
    println!(
        "reordered within a conversation at a socket: {} of messages sent after the earlier one was answered, \
         {} of messages in flight together (order not defined)",
        report.reordered, report.reordered_concurrent
    );
    println!("\nlatency from when each message was due:");
    println!("  simple webhook → staff socket      {}", report.simple_to_staff.line());
    println!("  Meta webhook → staff socket        {}", report.meta_to_staff.line());
    println!("  accepted attempt → staff socket    {}", report.accepted_attempt_to_staff.line());
    println!("  staff frame → guest socket         {}", report.reply_to_guest.line());
    println!("  staff frame → other staff sockets  {}", report.reply_to_staff.line());
    for (kind, samples) in &report.answers {
        let name = match kind {
            Kind::Reply => "staff frame → acknowledgment",
            Kind::Simple => "simple webhook → its answer",
            Kind::Meta => "Meta webhook → its answer",
        };
        println!("  {name:<34} {}", samples.line());
    }
}

/// The gateway's counters divided by the messages of each way in.
fn print_calls(counts: &Counts, report: &Report) {
    let accepted = |kind: Kind| report.kinds.get(&kind).map_or(0, |k| k.accepted);
    const MESSAGES: [&str; 3] = ["guest-webhook", "ws-default", "outbound-sender"];
    println!();
    if counts.0.is_empty() {
        println!("no AWS calls counted (the gateway ran with --counts off)");
        return;
    }
    counters::print(
        "AWS calls per guest message (simple and Meta as sent), from the gateway's counters",
        &functions(counts, |f| f == "guest-webhook"),
        accepted(Kind::Simple) + accepted(Kind::Meta),
    );
    counters::print(
        "AWS calls per staff reply (the frame, and its outbound send)",
        &functions(counts, |f| f == "ws-default" || f == "outbound-sender"),
        accepted(Kind::Reply),
    );
    let others = functions(counts, |f| !MESSAGES.contains(&f));
    if !others.0.is_empty() {
        counters::print("AWS calls of the other functions during the run (totals)", &others, 1);
    }
}

/// The counts of the functions `keep` names.
fn functions(counts: &Counts, keep: impl Fn(&str) -> bool) -> Counts {
    Counts(counts.0.iter().filter(|(f, _)| keep(f)).map(|(f, o)| (f.clone(), o.clone())).collect())
}
