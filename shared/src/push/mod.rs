//! The push port: posting a frame to one socket, and closing one, as the API Gateway Management
//! API does. [`ManagementApi`] is the real client; [`RecordingPusher`] keeps what was pushed in
//! memory (tests of the chat rules). Who hears what, and what a failure means, is decided above
//! this port, in [`crate::delivery`].

mod management;
mod recording;

use async_trait::async_trait;

pub use management::ManagementApi;
pub use recording::RecordingPusher;

/// What one post came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Accepted for the socket.
    Sent,
    /// The socket is not (or not yet) established: API Gateway's `410 Gone`.
    Gone,
    /// Anything else, after the client's own retries (throttling, 5xx, network).
    Failed(String),
}

/// Sockets behind a Management API endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
#[async_trait]
pub trait Pusher: Send + Sync {
    /// Posts `body` (one frame, serialised) to socket `connection_id`.
    async fn post(&self, endpoint: &str, connection_id: &str, body: &str) -> Posted;

    /// Closes socket `connection_id` from the server side; failures are logged, not answered
    /// (the socket may already be gone).
    async fn close(&self, endpoint: &str, connection_id: &str);
}
