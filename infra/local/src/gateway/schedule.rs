//! Scheduled functions: what an EventBridge schedule invokes on AWS, run on a timer here
//! (`outbound-sweeper` every [`GatewayOptions::sweep_every`](super::GatewayOptions)).

use std::time::Duration;

use tokio::sync::watch;

use super::{St, guarded, until_stopped};

/// Runs the outbox sweep every `period` until the gateway stops (the first run after one period).
pub(super) async fn sweep_every(st: St, period: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = until_stopped(&mut stop) => break,
            () = tokio::time::sleep(period) => {}
        }
        let sweep = lobbybee::outbound::sweep(&st.app, lobbybee::clock::now());
        match guarded("outbound-sweeper", sweep).await {
            Some(Ok(report)) => tracing::debug!(?report, "outbox swept"),
            Some(Err(e)) => tracing::warn!(error = %e, "outbox sweep failed"),
            None => {}
        }
    }
}
