//! CPU time and resident memory of a process, read from `/proc`.

use std::time::Duration;

/// Linux reports CPU times in clock ticks of 1/100 s (`USER_HZ`, fixed for user space).
const TICKS_PER_SECOND: u64 = 100;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// User + system CPU time of all its threads so far.
    pub cpu: Duration,
    /// Resident memory now, KiB.
    pub rss_kib: u64,
    /// Highest resident memory so far, KiB.
    pub peak_kib: u64,
}

/// Reads process `pid` (`None` when it is gone or unreadable).
pub fn read(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_default()
    };
    Some(Usage {
        cpu: Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND),
        rss_kib: kib("VmRSS:"),
        peak_kib: kib("VmHWM:"),
    })
}

/// A process watched over a measured window.
#[derive(Debug, Clone)]
pub struct Watched {
    /// What to call it in the report.
    pub name: String,
    /// Its pid.
    pub pid: u32,
    start: Option<Usage>,
}

impl Watched {
    /// Starts watching `pid` now.
    pub fn start(name: &str, pid: u32) -> Watched {
        Watched { name: name.to_owned(), pid, start: read(pid) }
    }

    /// CPU used since [`Watched::start`], and the latest reading.
    pub fn since_start(&self) -> Option<(Duration, Usage)> {
        let (start, now) = (self.start?, read(self.pid)?);
        Some((now.cpu.saturating_sub(start.cpu), now))
    }
}
