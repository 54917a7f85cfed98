//! `infra/scripts/load.sh`: an open-loop load generator against a local stack.
//!
//! It starts the local gateway as a process of its own (`lobbybee-local up --count-calls`, next to
//! this binary) on a tenant of its own, provisions one hotel with `--staff` department staff over
//! `--departments` departments and `--guests` checked-in guests, opens every staff socket at once
//! and one socket per guest, and lets each guest open a conversation in its department. Then, for
//! `--duration` seconds, it sends simple webhooks, Meta webhooks and staff replies, each at its own
//! rate on its own clock, never waiting for answers (open loop). It then waits up to `--drain`
//! seconds for what is still due, and prints:
//!
//! - per kind: sent, accepted, refused, unanswered, and the achieved rates;
//! - whether every accepted message reached every socket that should hear it exactly once, in
//!   order per conversation (losses, duplicates, misrouted frames, reorderings);
//! - p50/p95/p99/max of webhook → staff socket, staff frame → guest socket (and → the other
//!   staff sockets), and of the answers;
//! - CPU time and resident memory of the gateway process, the emulator (`--emulator-pid`) and
//!   the generator itself, from `/proc`;
//! - the AWS calls per message, from the gateway's counters (`/_local/calls`; `--counts off`
//!   runs the gateway without counting, to see what counting costs it).
//!
//! The gateway runs the guest webhook at most at its reserved concurrency (template.yaml's, or
//! `--webhook-concurrency N`); past it the webhook answers `429`, as a Function URL does, and the
//! generator sends the message again with backoff, as Meta does, for up to `--retry-for` seconds
//! after it was due. It prints how many sends were refused and how many messages were accepted
//! only after a refusal; latencies are from when a message was due (the resends included) and,
//! for webhooks, also from the send that was accepted.
//!
//! `--fan-out 1,10,100,500` instead measures one guest message to that many staff sockets of one
//! department ([`fanout`]). Figures, never assertions: it exits 3 when the check found a loss, a
//! duplicate, a misrouted frame or a reordering of messages sent one after the other, else 0.

mod check;
mod clients;
mod fanout;
mod procs;
mod run;
mod schedule;
mod session;
mod stack;

use std::path::PathBuf;
use std::time::Duration;

use schedule::Rates;

const USAGE: &str = "usage: load [--staff 50] [--departments 4] [--guests 20] [--simple 10] [--meta 5] [--replies 5]
            [--duration 30] [--drain 20] [--timeout 10] [--emulator-pid PID] [--counts on|off]
            [--webhook-concurrency N] [--retry-for 10]
            [--fan-out 1,10,100,500 [--rounds 20]] [--gateway PATH] [--template template.yaml]";

/// The command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Staff sockets (one staff member each).
    pub staff: usize,
    /// Departments they are spread over.
    pub departments: usize,
    /// Guests (one socket and one conversation each).
    pub guests: usize,
    /// Messages per second of each stream.
    pub rates: Rates,
    /// How long the streams send.
    pub duration: Duration,
    /// How long to wait afterwards for what is due.
    pub drain: Duration,
    /// Webhook request timeout.
    pub timeout: Duration,
    /// The emulator's process, to measure it.
    pub emulator_pid: Option<u32>,
    /// Whether the gateway counts its AWS calls.
    pub count_calls: bool,
    /// The guest webhook's concurrency (`None`: template.yaml's reservation).
    pub webhook_concurrency: Option<u32>,
    /// How long after it was due a throttled webhook is sent again.
    pub retry_window: Duration,
    /// Fan-out mode: socket counts.
    pub fan_out: Option<Vec<usize>>,
    /// Fan-out mode: messages per socket count.
    pub rounds: usize,
    /// The gateway binary.
    pub gateway: PathBuf,
    /// `template.yaml`.
    pub template: PathBuf,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        staff: 50,
        departments: 4,
        guests: 20,
        rates: Rates { simple: 10.0, meta: 5.0, replies: 5.0 },
        duration: Duration::from_secs(30),
        drain: Duration::from_secs(20),
        timeout: Duration::from_secs(10),
        emulator_pid: None,
        count_calls: true,
        webhook_concurrency: None,
        retry_window: Duration::from_secs(10),
        fan_out: None,
        rounds: 20,
        gateway: stack::sibling_gateway(),
        template: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<f64>().map_err(|_| format!("{flag} takes a number"));
        let count = || value.parse::<usize>().map_err(|_| format!("{flag} takes a whole number"));
        let seconds = || number().map(Duration::from_secs_f64);
        match flag.as_str() {
            "--staff" => options.staff = count()?,
            "--departments" => options.departments = count()?,
            "--guests" => options.guests = count()?.max(1),
            "--simple" => options.rates.simple = number()?,
            "--meta" => options.rates.meta = number()?,
            "--replies" => options.rates.replies = number()?,
            "--duration" => options.duration = seconds()?,
            "--drain" => options.drain = seconds()?,
            "--timeout" => options.timeout = seconds()?,
            "--emulator-pid" => options.emulator_pid = Some(value.parse().map_err(|_| "--emulator-pid takes a pid")?),
            "--counts" => options.count_calls = value != "off",
            "--webhook-concurrency" => {
                options.webhook_concurrency = Some(value.parse().map_err(|_| "--webhook-concurrency takes a count")?)
            }
            "--retry-for" => options.retry_window = seconds()?,
            "--rounds" => options.rounds = count()?.max(1),
            "--gateway" => options.gateway = PathBuf::from(value),
            "--template" => options.template = PathBuf::from(value),
            "--fan-out" => {
                let sizes: Result<Vec<usize>, _> = value.split(',').map(|s| s.trim().parse::<usize>()).collect();
                options.fan_out = Some(sizes.map_err(|_| "--fan-out takes socket counts, e.g. 1,10,100,500")?);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(options)
}

fn main() {
    let options = match parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("load: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    stack::stop_gateway_on_panic();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        match &options.fan_out {
            Some(sizes) => fanout::run(&options, sizes).await.map(|()| true),
            None => run::run(&options).await,
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(3),
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
    }
}
