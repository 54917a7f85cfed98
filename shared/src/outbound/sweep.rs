//! The outbox sweep (`outbound-sweeper`, every 5 minutes): jobs lost between storing a staff
//! message and queueing it are queued again (docs/decisions.md, "Outbound").

use serde::Serialize;

use crate::app::App;
use crate::jobs::OutboundJob;

/// How long a message may stay `queued` before the sweep takes its job for lost: longer than a
/// job's whole life in the queue (five attempts 30 s to 4 min apart, ≈ 8 min, each up to the
/// sender's 60 s timeout). A job that was only late is harmless: the claim sends once.
pub const LOST_AFTER: chrono::Duration = chrono::Duration::minutes(20);

/// Entries read per outbox query, and queries per sweep at most (the rest wait for the next run).
const SWEEP_PAGE: usize = 100;
const SWEEP_PAGES: usize = 20;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Jobs queued again.
    pub requeued: usize,
    /// Entries that left the outbox while the sweep looked at them.
    pub settled: usize,
}

/// The `outbound-sweeper` task (every 5 minutes): queues the job of every message that has been
/// `queued` for longer than [`LOST_AFTER`] again (`store/dynamo/outbox.rs`). Each entry is first moved to
/// a later due time, then its job is queued, so a sweep that dies between the two only delays
/// the message to the next due time, and two sweeps never both queue it.
pub async fn sweep(app: &App, now: chrono::DateTime<chrono::Utc>) -> Result<SweepReport, String> {
    let mut report = SweepReport::default();
    for _ in 0..SWEEP_PAGES {
        let page = app.store.overdue_outbox(now - LOST_AFTER, SWEEP_PAGE).await.map_err(|e| e.to_string())?;
        let before = report.clone();
        for entry in page.entries {
            if !app.store.rearm_outbox(&entry, now).await.map_err(|e| e.to_string())? {
                report.settled += 1;
                continue;
            }
            let job = OutboundJob {
                conversation_id: entry.conversation_id,
                message_id: Some(entry.message_id),
                kind: entry.send_as,
            };
            crate::jobs::put(app, &job).await?;
            tracing::warn!(
                conversation_id = job.conversation_id,
                message_id = entry.message_id,
                "queued a lost outbound job again"
            );
            report.requeued += 1;
        }
        // An index that still shows settled entries must not keep the loop going.
        if !page.more || report.requeued == before.requeued {
            break;
        }
    }
    crate::telemetry::metric("OutboundRequeued", report.requeued as f64);
    Ok(report)
}
