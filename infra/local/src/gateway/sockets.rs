//! The WebSocket API and its `@connections` management API.
//!
//! A handshake is held until `$connect` answers; a non-2xx answer refuses it with that status.
//! An accepted socket is registered under its connection id, then one task per socket reads
//! its frames and hands each text frame to `$default`, one at a time (sockets run in parallel).
//! The socket ends when the client closes, when no client frame arrived for the idle timeout,
//! at the maximum lifetime, on a management `DELETE` or at gateway shutdown; then it is removed
//! from the registry (which makes `$disconnect` run exactly once), `$disconnect` runs, and only
//! then the close frame goes out, so a client that sees its socket closed also sees its
//! connection record gone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use aws_lambda_events::encodings::Body as LambdaBody;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use super::events::{self, SocketInfo};
use super::{St, aws_error, guarded, json_response, parse_event, paths, until_stopped};

/// API Gateway's WebSocket frame size limit.
const MAX_FRAME: usize = 32 * 1024;
/// API Gateway's message payload limit (client messages and management posts).
const MAX_MESSAGE: usize = 128 * 1024;
/// The close reason API Gateway gives for idle, overlong and shut-down sockets.
const GOING_AWAY: &str = "Going away";

/// What the management API needs of an open socket.
struct Handle {
    outbox: mpsc::UnboundedSender<Message>,
    close: Arc<Notify>,
    connected_at: DateTime<Utc>,
    last_active: DateTime<Utc>,
    source_ip: String,
    user_agent: String,
}

/// The open sockets by connection id, and how many socket tasks still run.
pub(super) struct Registry {
    open: Mutex<HashMap<String, Handle>>,
    running: watch::Sender<usize>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { open: Mutex::default(), running: watch::channel(0).0 }
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Handle>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a text frame; `false` when the socket is unknown or its writer is gone.
    fn send(&self, id: &str, text: Utf8Bytes) -> bool {
        self.lock().get(id).is_some_and(|h| h.outbox.send(Message::Text(text)).is_ok())
    }

    /// Asks the socket to close; `false` when it is unknown.
    fn request_close(&self, id: &str) -> bool {
        self.lock().get(id).map(|h| h.close.notify_one()).is_some()
    }

    /// Asks every open socket to close; how many there were.
    pub(super) fn drop_all(&self) -> usize {
        let open = self.lock();
        open.values().for_each(|h| h.close.notify_one());
        open.len()
    }

    /// The `GetConnection` answer.
    fn info(&self, id: &str) -> Option<serde_json::Value> {
        self.lock().get(id).map(|h| {
            json!({
                "connectedAt": lobbybee::clock::iso(h.connected_at),
                "identity": { "sourceIp": h.source_ip, "userAgent": h.user_agent },
                "lastActiveAt": lobbybee::clock::iso(h.last_active),
            })
        })
    }

    fn touch(&self, id: &str, now: DateTime<Utc>) {
        if let Some(handle) = self.lock().get_mut(id) {
            handle.last_active = now;
        }
    }

    fn remove(&self, id: &str) -> Option<Handle> {
        self.lock().remove(id)
    }

    /// Open sockets.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Waits (at most `limit`) until every socket task has finished, `$disconnect` included.
    pub(super) async fn wait_finished(&self, limit: Duration) {
        let mut running = self.running.subscribe();
        let _ = tokio::time::timeout(limit, running.wait_for(|n| *n == 0)).await;
    }
}

/// Counts a socket task as running until dropped.
struct Running(St);

impl Running {
    fn start(st: &St) -> Arc<Running> {
        st.sockets.running.send_modify(|n| *n += 1);
        Arc::new(Running(st.clone()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.sockets.running.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Handles an upgrade request at a socket path; `params` are the query parameters the path
/// carries (Django-style paths).
pub(super) async fn upgrade(st: St, peer: SocketAddr, request: Request, params: Vec<(String, String)>) -> Response {
    let (mut parts, _body) = request.into_parts();
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let now = Utc::now();
    let mut query = paths::query_pairs(parts.uri.query());
    query.extend(params);
    let source_ip = peer.ip().to_string();
    let headers = events::with_forwarding_headers(&parts.headers, &source_ip, st.addr.port(), "http", now);
    let socket = SocketInfo {
        connection_id: events::new_id(),
        connected_at: now,
        stage: st.options.stage.clone(),
        domain: super::valid_host(&parts.headers).unwrap_or_else(|| st.addr.to_string()),
        source_ip,
        user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    let id = socket.connection_id.clone();
    let Some(event) =
        parse_event::<ApiGatewayWebsocketProxyRequest>(&events::connect_event(&socket, &headers, &query, now))
    else {
        return internal_error();
    };
    let Some(answer) = guarded("ws-connect", lobbybee::ws::connect(&st.app, event)).await else {
        return internal_error();
    };
    let status = u16::try_from(answer.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !status.is_success() {
        tracing::info!(connection_id = %id, status = status.as_u16(), "connect refused");
        return match answer.body {
            Some(LambdaBody::Text(text)) => (status, text).into_response(),
            Some(LambdaBody::Binary(bytes)) => (status, bytes).into_response(),
            _ => status.into_response(),
        };
    }
    let mut ws = ws.max_frame_size(MAX_FRAME).max_message_size(MAX_MESSAGE);
    // API Gateway answers the handshake with the subprotocol `$connect` chose, if any.
    let protocol = answer
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .or_else(|| answer.multi_value_headers.get(header::SEC_WEBSOCKET_PROTOCOL))
        .cloned();
    if let Some(protocol) = protocol {
        ws.set_selected_protocol(protocol);
    }

    let (outbox, inbox) = mpsc::unbounded_channel();
    let close = Arc::new(Notify::new());
    st.sockets.lock().insert(
        id.clone(),
        Handle {
            outbox,
            close: close.clone(),
            connected_at: now,
            last_active: now,
            source_ip: socket.source_ip.clone(),
            user_agent: socket.user_agent.clone().unwrap_or_default(),
        },
    );
    tracing::info!(connection_id = %id, "socket connected");
    let running = Running::start(&st);
    let socket = Arc::new(socket);
    let failed = (st.clone(), socket.clone(), running.clone());
    ws.on_failed_upgrade(move |error| {
        let (st, socket, running) = failed;
        tracing::warn!(connection_id = %socket.connection_id, %error, "upgrade failed");
        tokio::spawn(async move {
            finish(&st, &socket, 1006, "Connection lost").await;
            drop(running);
        });
    })
    .on_upgrade(move |ws| async move {
        serve_socket(st, socket, ws, inbox, close).await;
        drop(running);
    })
}

fn internal_error() -> Response {
    json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "message": "Internal server error" }))
}

/// Whether a read error is API Gateway's "message too big" case.
fn too_big(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("Space limit exceeded") || text.contains("too long")
}

async fn serve_socket(
    st: St,
    socket: Arc<SocketInfo>,
    ws: WebSocket,
    mut inbox: mpsc::UnboundedReceiver<Message>,
    close: Arc<Notify>,
) {
    let (mut sink, mut stream) = ws.split();
    let mut writer = tokio::spawn(async move {
        while let Some(message) = inbox.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let idle = st.options.idle_timeout;
    let end_of_life = Instant::now() + st.options.max_lifetime;
    let mut idle_deadline = Instant::now() + idle;
    let mut stop = st.stop.clone();
    let (code, reason): (u16, String) = loop {
        tokio::select! {
            () = close.notified() => break (1000, "Connection closed by server".into()),
            () = until_stopped(&mut stop) => break (1001, GOING_AWAY.into()),
            () = tokio::time::sleep_until(end_of_life) => break (1001, GOING_AWAY.into()),
            () = tokio::time::sleep_until(idle_deadline) => break (1001, GOING_AWAY.into()),
            next = stream.next() => {
                let message = match next {
                    None => break (1006, "Connection lost".into()),
                    Some(Err(e)) if too_big(&e) => break (1009, "Message too big".into()),
                    Some(Err(_)) => break (1006, "Connection lost".into()),
                    Some(Ok(message)) => message,
                };
                idle_deadline = Instant::now() + idle;
                st.sockets.touch(&socket.connection_id, Utc::now());
                match message {
                    Message::Text(text) => on_frame(&st, &socket, text.as_str()).await,
                    Message::Close(Some(frame)) => break (frame.code, frame.reason.to_string()),
                    Message::Close(None) => break (1005, "Client-side close frame status not set".into()),
                    // Binary frames have no route; pings are answered by the socket itself.
                    _ => {}
                }
            }
        }
    };
    finish(&st, &socket, code, &reason).await;
    if tokio::time::timeout(Duration::from_secs(2), &mut writer).await.is_err() {
        writer.abort();
    }
}

/// One text frame → `$default`. Its answer is not sent back: all replies go through the
/// management API, as no route response is configured.
async fn on_frame(st: &St, socket: &SocketInfo, text: &str) {
    let Some(event) = parse_event::<ApiGatewayWebsocketProxyRequest>(&events::message_event(socket, text, Utc::now()))
    else {
        return;
    };
    if let Some(answer) = guarded("ws-default", lobbybee::ws::message(&st.app, event)).await {
        tracing::debug!(connection_id = %socket.connection_id, status = answer.status_code, "frame");
        if answer.status_code >= 500 {
            tracing::warn!(connection_id = %socket.connection_id, status = answer.status_code, "$default failed");
        }
    }
}

/// Forgets the socket, runs `$disconnect` (only the first call for a socket does), then sends
/// the close frame.
async fn finish(st: &St, socket: &SocketInfo, code: u16, reason: &str) {
    let Some(handle) = st.sockets.remove(&socket.connection_id) else { return };
    tracing::info!(connection_id = %socket.connection_id, code, reason, "socket disconnected");
    let event = events::disconnect_event(socket, code, reason, Utc::now());
    if let Some(event) = parse_event::<ApiGatewayWebsocketProxyRequest>(&event) {
        guarded("ws-disconnect", lobbybee::ws::disconnect(&st.app, event)).await;
    }
    // 1005 and 1006 describe the absence of a close frame; they cannot be sent in one.
    let code = if matches!(code, 1005 | 1006) { 1000 } else { code };
    let _ = handle.outbox.send(Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from(reason.to_owned()) })));
}

fn gone() -> Response {
    aws_error(StatusCode::GONE, "GoneException", "GoneException")
}

/// `POST`, `GET` and `DELETE /@connections/{id}`.
pub(super) async fn manage(st: &St, method: &Method, id: &str, body: Body) -> Response {
    let response = match *method {
        Method::POST if st.push_faults.take(id) => {
            aws_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerErrorException", "injected fault")
        }
        Method::POST => {
            let Ok(bytes) = axum::body::to_bytes(body, MAX_MESSAGE).await else {
                return aws_error(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLargeException", "Message too long");
            };
            // The posted bytes become the frame as they are (no copy) when they are UTF-8.
            let text = Utf8Bytes::try_from(bytes.clone())
                .unwrap_or_else(|_| Utf8Bytes::from(String::from_utf8_lossy(&bytes).into_owned()));
            if st.sockets.send(id, text) { StatusCode::OK.into_response() } else { gone() }
        }
        Method::GET => match st.sockets.info(id) {
            Some(info) => json_response(StatusCode::OK, &info),
            None => gone(),
        },
        Method::DELETE => {
            if st.sockets.request_close(id) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                gone()
            }
        }
        _ => aws_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowedException", "Method not allowed"),
    };
    tracing::debug!(%method, connection_id = %id, status = response.status().as_u16(), "management");
    response
}
