//! The push port in memory: every post is kept per socket, sockets can be declared gone or
//! made to fail, so tests can see exactly who heard what.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Posted, Pusher};

/// Records pushes instead of sending them. Cheap to clone; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct RecordingPusher {
    inner: Arc<Mutex<Record>>,
}

#[derive(Debug, Default)]
struct Record {
    frames: BTreeMap<String, Vec<serde_json::Value>>,
    gone: BTreeSet<String>,
    failing: BTreeMap<String, usize>,
    closed: Vec<String>,
}

impl RecordingPusher {
    fn with<T>(&self, f: impl FnOnce(&mut Record) -> T) -> T {
        let mut record = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut record)
    }

    /// The frames socket `connection_id` received, oldest first.
    pub fn frames(&self, connection_id: &str) -> Vec<serde_json::Value> {
        self.with(|r| r.frames.get(connection_id).cloned().unwrap_or_default())
    }

    /// The `type`s of the frames socket `connection_id` received, oldest first.
    pub fn kinds(&self, connection_id: &str) -> Vec<String> {
        self.frames(connection_id).iter().filter_map(|f| f["type"].as_str().map(str::to_owned)).collect()
    }

    /// Forgets every frame received so far.
    pub fn clear(&self) {
        self.with(|r| r.frames.clear());
    }

    /// From now on, posts to `connection_id` answer `410 Gone`.
    pub fn gone(&self, connection_id: &str) {
        self.with(|r| r.gone.insert(connection_id.to_owned()));
    }

    /// The next `times` posts to `connection_id` fail.
    pub fn fail(&self, connection_id: &str, times: usize) {
        self.with(|r| r.failing.insert(connection_id.to_owned(), times));
    }

    /// Sockets closed from the server side, in order.
    pub fn closed(&self) -> Vec<String> {
        self.with(|r| r.closed.clone())
    }
}

#[async_trait]
impl Pusher for RecordingPusher {
    async fn post(&self, _endpoint: &str, connection_id: &str, body: &str) -> Posted {
        self.with(|r| {
            if r.gone.contains(connection_id) {
                return Posted::Gone;
            }
            if let Some(left) = r.failing.get_mut(connection_id).filter(|left| **left > 0) {
                *left -= 1;
                return Posted::Failed("injected failure".into());
            }
            let frame = serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.to_owned()));
            r.frames.entry(connection_id.to_owned()).or_default().push(frame);
            Posted::Sent
        })
    }

    async fn close(&self, _endpoint: &str, connection_id: &str) {
        self.with(|r| {
            r.closed.push(connection_id.to_owned());
            r.gone.insert(connection_id.to_owned());
        });
    }
}
