//! Pushing frames to sockets through the API Gateway Management API (docs/api.md §5).
//!
//! - Pushes go through the push port ([`crate::push`]: the Management API on AWS), deferred
//!   pushes through the queue port ([`crate::queues`]).
//! - Fan-out runs with bounded concurrency, so one slow socket does not hold the others.
//! - `410 Gone` means the socket is dead: its record and index items are deleted at once,
//!   unless it was stored in the last 30 s (a socket still connecting is "gone" too).
//! - Any other failure hands the push to the retry queue, consumed by the `push-retry`
//!   function; the message itself was stored before any push was tried, so nothing is lost.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::department::Department;
use crate::frames::ServerFrame;
use crate::model::{ConversationId, GuestId};
use crate::push::{Posted, Pusher};
use crate::queues::{Queue, Queues};
use crate::store::ChatStore;

/// How long a new connection may take to be established: API Gateway answers 410 for a socket
/// whose `$connect` has not returned yet (its integration timeout is 29 s), so a 410 deletes
/// only records older than this.
const CONNECT_GRACE: chrono::Duration = chrono::Duration::seconds(30);

/// How many pushes of one fan-out run at once.
const FAN_OUT_CONCURRENCY: usize = 32;

/// What happened to one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushResult {
    /// Delivered to API Gateway.
    Sent,
    /// The socket is gone; its record was deleted.
    Gone,
    /// Failed after retries; handed to the retry queue (or dropped when none is configured).
    Deferred,
}

/// Totals of a fan-out, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanOutReport {
    /// Delivered.
    pub sent: usize,
    /// Dead sockets removed.
    pub gone: usize,
    /// Handed to the retry queue.
    pub deferred: usize,
}

impl FanOutReport {
    /// Counts one push.
    pub fn add(&mut self, result: PushResult) {
        match result {
            PushResult::Sent => self.sent += 1,
            PushResult::Gone => self.gone += 1,
            PushResult::Deferred => self.deferred += 1,
        }
    }

    /// The metrics of the dashboard (docs/operations.md): `PushesSent`, `PushesGone` (410),
    /// `PushesDeferred` (handed to the retry queue, or left to SQS to redeliver by `push-retry`).
    pub fn emit(&self) {
        crate::telemetry::metric("PushesSent", self.sent as f64);
        crate::telemetry::metric("PushesGone", self.gone as f64);
        crate::telemetry::metric("PushesDeferred", self.deferred as f64);
    }
}

/// A push waiting in the retry queue: to one socket, or to an audience whose sockets could not
/// be read when the push was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryJob {
    /// Management API endpoint.
    pub endpoint: String,
    /// Target socket (empty for an audience job).
    #[serde(default)]
    pub connection_id: String,
    /// The audience to resolve first, when the push's audience could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// The frame, already serialised.
    pub frame: String,
}

/// Who a push is for, as the store indexes it: the staff sockets listening to some departments of
/// a hotel, the sockets subscribed to a conversation, a guest's sockets, less the socket that
/// caused the push.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// The hotel.
    pub hotel_id: String,
    /// Departments whose listening staff sockets hear it.
    #[serde(default)]
    pub departments: Vec<Department>,
    /// A conversation whose subscribers hear it too.
    #[serde(default)]
    pub conversation: Option<ConversationId>,
    /// A guest whose sockets hear it too.
    #[serde(default)]
    pub guest: Option<GuestId>,
    /// The guest's sockets when the caller has just read them (with the guest record): then they
    /// are not queried again. Never serialised: a deferred audience reads them afresh.
    #[serde(skip)]
    pub guest_sockets: Option<Vec<String>>,
    /// The socket left out (the one that caused the push and was already answered).
    #[serde(default)]
    pub except: Option<String>,
}

impl Audience {
    /// The socket ids, read from the store's indexes (each socket once).
    pub async fn resolve(&self, store: &dyn ChatStore) -> Result<BTreeSet<String>, crate::store::StoreError> {
        let listeners =
            futures::future::try_join_all(self.departments.iter().map(|d| store.listeners(&self.hotel_id, *d)));
        let subscribers = async {
            match self.conversation {
                Some(id) => store.subscribers(id).await,
                None => Ok(Vec::new()),
            }
        };
        let guest = async {
            match (self.guest, &self.guest_sockets) {
                (Some(_), Some(known)) => Ok(known.clone()),
                (Some(id), None) => {
                    Ok(store.guest_connections(id).await?.into_iter().map(|r| r.connection_id).collect())
                }
                (None, _) => Ok(Vec::new()),
            }
        };
        let (listeners, subscribers, guest) = tokio::try_join!(listeners, subscribers, guest)?;
        Ok(listeners
            .into_iter()
            .flatten()
            .chain(subscribers)
            .map(|r| r.connection_id)
            .chain(guest)
            .filter(|id| self.except.as_deref() != Some(id.as_str()))
            .collect())
    }
}

/// Socket delivery. Cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    store: Arc<dyn ChatStore>,
    pusher: Arc<dyn Pusher>,
    queues: Arc<dyn Queues>,
}

impl Delivery {
    /// Delivery over the store (audiences, connection records), the push port and the queue port
    /// (deferred pushes).
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn ChatStore>,
        pusher: Arc<dyn Pusher>,
        queues: Arc<dyn Queues>,
    ) -> Self {
        Delivery { inner: Arc::new(Inner { config, store, pusher, queues }) }
    }

    /// The management endpoint: `WS_ENDPOINT` when configured, else derived from the socket
    /// event's domain and stage (`https://{domain}/{stage}`).
    pub fn endpoint(&self, domain: Option<&str>, stage: Option<&str>) -> Option<String> {
        if let Some(configured) = &self.inner.config.ws_endpoint {
            return Some(configured.clone());
        }
        match (domain, stage) {
            (Some(domain), Some(stage)) if !domain.is_empty() => Some(format!("https://{domain}/{stage}")),
            _ => None,
        }
    }

    /// The endpoint for pushes that do not come from a socket event (webhook, REST, queues).
    pub fn default_endpoint(&self) -> Option<String> {
        self.inner.config.ws_endpoint.clone()
    }

    /// Pushes `frame` to everyone in `audience`. When the audience cannot be read (the store
    /// failing), the whole push goes to the retry queue, whose consumer reads it again.
    pub async fn reach(&self, endpoint: &str, audience: &Audience, frame: &ServerFrame) {
        match audience.resolve(self.inner.store.as_ref()).await {
            Ok(targets) => {
                self.fan_out(endpoint, targets, frame).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read push audience: deferred");
                let job = RetryJob {
                    endpoint: endpoint.to_owned(),
                    connection_id: String::new(),
                    audience: Some(audience.clone()),
                    frame: frame.to_json(),
                };
                self.enqueue_retry(&job).await;
            }
        }
    }

    /// Pushes one frame to one socket.
    pub async fn send(&self, endpoint: &str, connection_id: &str, frame: &ServerFrame) -> PushResult {
        self.send_raw(endpoint, connection_id, &frame.to_json(), true).await
    }

    /// Pushes one frame to every socket in `targets` (duplicates are pushed once).
    pub async fn fan_out(
        &self,
        endpoint: &str,
        targets: impl IntoIterator<Item = String>,
        frame: &ServerFrame,
    ) -> FanOutReport {
        let targets: BTreeSet<String> = targets.into_iter().collect();
        if targets.is_empty() {
            return FanOutReport::default();
        }
        let body = frame.to_json();
        let results: Vec<PushResult> = stream::iter(targets)
            .map(|id| {
                let body = &body;
                async move { self.send_raw(endpoint, &id, body, true).await }
            })
            .buffer_unordered(FAN_OUT_CONCURRENCY)
            .collect()
            .await;
        let mut report = FanOutReport::default();
        for result in results {
            report.add(result);
        }
        report.emit();
        report
    }

    /// Closes a socket from the server side (staff deactivation).
    pub async fn disconnect(&self, endpoint: &str, connection_id: &str) {
        self.inner.pusher.close(endpoint, connection_id).await;
        if let Err(err) = self.inner.store.delete_connection(connection_id).await {
            tracing::warn!(connection_id, error = %err, "could not delete connection record");
        }
    }

    async fn send_raw(&self, endpoint: &str, connection_id: &str, body: &str, may_defer: bool) -> PushResult {
        match self.inner.pusher.post(endpoint, connection_id, body).await {
            Posted::Sent => PushResult::Sent,
            Posted::Gone => {
                // A socket still in its `$connect` is "gone" too: its record is spared.
                let cutoff = crate::clock::now() - CONNECT_GRACE;
                match self.inner.store.delete_gone_connection(connection_id, cutoff).await {
                    Ok(Some(_)) => tracing::info!(connection_id, "socket gone, its record deleted"),
                    Ok(None) => tracing::debug!(connection_id, "socket gone or still connecting"),
                    Err(e) => tracing::warn!(connection_id, error = %e, "could not delete stale connection"),
                }
                PushResult::Gone
            }
            Posted::Failed(error) => {
                tracing::warn!(connection_id, error, "push failed");
                if may_defer {
                    self.defer(endpoint, connection_id, body).await;
                }
                PushResult::Deferred
            }
        }
    }

    async fn defer(&self, endpoint: &str, connection_id: &str, body: &str) {
        let job = RetryJob {
            endpoint: endpoint.to_owned(),
            connection_id: connection_id.to_owned(),
            audience: None,
            frame: body.to_owned(),
        };
        self.enqueue_retry(&job).await;
    }

    async fn enqueue_retry(&self, job: &RetryJob) {
        let Ok(body) = serde_json::to_string(job) else {
            return;
        };
        // Two seconds later: a socket that failed a moment ago is given a moment to recover.
        if let Err(error) = self.inner.queues.send(Queue::PushRetry, body, 2).await {
            tracing::error!(
                connection_id = job.connection_id,
                error,
                "could not queue push retry (clients catch up via REST)"
            );
        }
    }

    /// Pushes a deferred job once more, counting into `report`; `true` when it must be tried
    /// again later. A job with an audience reads it now, and each of its sockets gets the usual
    /// push (and its own retry job when that fails); a store still failing keeps the whole job.
    /// `410 Gone` ends a job (the record is deleted).
    pub async fn redeliver(&self, job: &RetryJob, report: &mut FanOutReport) -> bool {
        match &job.audience {
            Some(audience) => match audience.resolve(self.inner.store.as_ref()).await {
                Ok(targets) => {
                    for target in targets {
                        report.add(self.send_raw(&job.endpoint, &target, &job.frame, true).await);
                    }
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "push audience still unreadable");
                    true
                }
            },
            None => {
                let result = self.send_raw(&job.endpoint, &job.connection_id, &job.frame, false).await;
                report.add(result);
                result == PushResult::Deferred
            }
        }
    }
}
