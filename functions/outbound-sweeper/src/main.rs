//! Scheduled task (EventBridge, every 5 minutes) that queues again the WhatsApp jobs of staff
//! messages left `queued` by a function that died between storing and queueing them
//! (docs/operations.md). The logic is `lobbybee::outbound::sweep`.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let needs = lobbybee::config::needs("outbound-sweeper");
    lobbybee::lambda::serve_task(needs, |app, _tick: EventBridgeEvent<serde_json::Value>| async move {
        lobbybee::outbound::sweep(&app, lobbybee::clock::now()).await
    })
    .await
}
