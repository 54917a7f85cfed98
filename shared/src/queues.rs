//! The queue port: putting a job on one of the stack's two queues. [`SqsQueues`] is SQS;
//! [`MemoryQueues`] keeps the jobs in memory (tests of the chat rules). Consuming is the queue
//! consumers' business (`outbound`, `push_retry`), through SQS event source mappings.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

/// The stack's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Staff messages for WhatsApp (`OUTBOUND_QUEUE_URL`), consumed by `outbound-sender`.
    Outbound,
    /// Socket pushes to try again (`PUSH_RETRY_QUEUE_URL`), consumed by `push-retry`.
    PushRetry,
}

/// Where jobs go.
#[async_trait]
pub trait Queues: Send + Sync {
    /// Puts `body` on `queue`, to be delivered after `delay_seconds` (0–900).
    async fn send(&self, queue: Queue, body: String, delay_seconds: i32) -> Result<(), String>;
}

/// The queue port on SQS.
#[derive(Debug, Clone)]
pub struct SqsQueues {
    sqs: aws_sdk_sqs::Client,
    outbound: Option<String>,
    push_retry: Option<String>,
}

impl SqsQueues {
    /// The queues at these URLs (a queue without a URL refuses jobs).
    pub fn new(sqs: aws_sdk_sqs::Client, outbound: Option<String>, push_retry: Option<String>) -> Self {
        SqsQueues { sqs, outbound, push_retry }
    }
}

#[async_trait]
impl Queues for SqsQueues {
    async fn send(&self, queue: Queue, body: String, delay_seconds: i32) -> Result<(), String> {
        let url = match queue {
            Queue::Outbound => self.outbound.as_deref().ok_or("OUTBOUND_QUEUE_URL is not configured")?,
            Queue::PushRetry => self.push_retry.as_deref().ok_or("PUSH_RETRY_QUEUE_URL is not configured")?,
        };
        let mut request = self.sqs.send_message().queue_url(url).message_body(body);
        if delay_seconds > 0 {
            request = request.delay_seconds(delay_seconds);
        }
        request.send().await.map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
        Ok(())
    }
}

/// The queue port in memory: jobs wait until taken. Cheap to clone; clones share the queues.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueues {
    jobs: Arc<Mutex<Vec<(Queue, String)>>>,
}

impl MemoryQueues {
    /// Takes every job waiting on `queue`, oldest first.
    pub fn take(&self, queue: Queue) -> Vec<String> {
        let mut jobs = match self.jobs.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (taken, kept): (Vec<_>, Vec<_>) = jobs.drain(..).partition(|(q, _)| *q == queue);
        *jobs = kept;
        taken.into_iter().map(|(_, body)| body).collect()
    }
}

#[async_trait]
impl Queues for MemoryQueues {
    async fn send(&self, queue: Queue, body: String, _delay_seconds: i32) -> Result<(), String> {
        match self.jobs.lock() {
            Ok(mut jobs) => jobs.push((queue, body)),
            Err(poisoned) => poisoned.into_inner().push((queue, body)),
        }
        Ok(())
    }
}
