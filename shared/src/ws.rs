//! The WebSocket API: `$connect`, `$default` and `$disconnect` (docs/api.md §5).
//!
//! `$connect` authenticates and stores the connection record (nothing is stored on refusal);
//! `$default` runs staff frames and answers through the Management API (API Gateway route
//! responses are not used, so every reply, error or acknowledgment is a push);
//! `$disconnect` deletes the record. Peers hear about connects and disconnects.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use tracing::Instrument;

use crate::app::App;
use crate::auth::{self, StaffAuthError, StaffPrincipal, guest_token};
use crate::chat::{self, ChatError, Origin};
use crate::config::GuestSocketAuth;
use crate::delivery::Audience;
use crate::department::Department;
use crate::frames::{AckStatus, ClientFrame, ConversationRef, PresenceChange, ServerFrame, UserStatusData};
use crate::model::{Connection, ConnectionKind, Guest, StayStatus};

/// `$connect`: 200 accepts the socket; 401/403 refuse the handshake.
pub async fn connect(app: &App, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let connection_id = event.request_context.connection_id.clone().unwrap_or_default();
    let span = tracing::info_span!("connect", connection_id = %connection_id);
    async move {
        let result = if event.query_string_parameters.first("whatsapp_number").is_some()
            && event.query_string_parameters.first("token").is_none()
        {
            connect_guest(app, &event, &connection_id).await
        } else {
            connect_staff(app, &event, &connection_id).await
        };
        match result {
            Ok(()) => status(200, None),
            Err((code, reason)) => {
                tracing::info!(status = code, reason, "connect refused");
                status(code, Some(reason))
            }
        }
    }
    .instrument(span)
    .await
}

type Refusal = (i64, &'static str);

async fn connect_staff(app: &App, event: &ApiGatewayWebsocketProxyRequest, connection_id: &str) -> Result<(), Refusal> {
    let header = event.headers.get("authorization").and_then(|v| v.to_str().ok());
    let token = event.query_string_parameters.first("token").or_else(|| auth::bearer(header));
    let principal =
        auth::authenticate_staff(app.config.jwt.as_ref(), app.store.as_ref(), token).await.map_err(|e| match e {
            StaffAuthError::Store(_) | StaffAuthError::NotConfigured => {
                tracing::error!(error = %e, "staff authentication failed");
                (500, "Internal error")
            }
            _ => (401, "Unauthorized"),
        })?;
    let requested = match event.query_string_parameters.first("department") {
        Some(raw) => {
            let department = Department::parse(raw).map_err(|_| (403, "Forbidden"))?;
            if !principal.may_act_on(department) {
                return Err((403, "Forbidden"));
            }
            Some(department)
        }
        None => None,
    };
    let departments = requested.map_or_else(|| principal.departments(), |d| vec![d]);
    if departments.is_empty() {
        return Err((403, "Forbidden"));
    }
    let connection = new_connection(app, connection_id, ConnectionKind::Staff, &principal.hotel.id, |c| {
        c.staff_id = Some(principal.staff.user_id.clone());
        c.user_name = principal.staff.display_name();
        c.departments = departments;
        c.requested = requested;
        c.rights = Some(principal.rights());
    });
    app.store.put_connection(&connection).await.map_err(|e| {
        tracing::error!(error = %e, "could not store connection");
        (500, "Internal error")
    })?;
    if !chat::rights::settle_new_socket(app, &connection, &principal).await {
        return Err((401, "Unauthorized"));
    }
    announce_presence(app, event, &connection, &principal, PresenceChange::UserConnected).await;
    Ok(())
}

async fn connect_guest(app: &App, event: &ApiGatewayWebsocketProxyRequest, connection_id: &str) -> Result<(), Refusal> {
    let raw = event.query_string_parameters.first("whatsapp_number").unwrap_or_default();
    let number = crate::phone::normalize(raw, &app.config.default_country_code).map_err(|_| (401, "Unauthorized"))?;
    let internal = |e: crate::store::StoreError| {
        tracing::error!(error = %e, "guest connect failed");
        (500, "Internal error")
    };
    let guest: Guest = match app.config.guest_socket_auth {
        GuestSocketAuth::Token => {
            let secret = app.config.guest_token_secret.as_deref().unwrap_or_default();
            let token = event.query_string_parameters.first("guest_token").ok_or((401, "Unauthorized"))?;
            let claims = guest_token::verify(secret.as_bytes(), token).ok_or((401, "Unauthorized"))?;
            let record =
                app.store.guest_record(claims.guest_id).await.map_err(internal)?.ok_or((401, "Unauthorized"))?;
            if record.guest.whatsapp_number != number.as_str() {
                return Err((401, "Unauthorized"));
            }
            let stay = record.stays.iter().find(|s| s.id == claims.stay_id).ok_or((401, "Unauthorized"))?;
            if stay.status != StayStatus::Active {
                return Err((403, "Forbidden"));
            }
            record.guest
        }
        GuestSocketAuth::Open => match chat::guest_staying(app, number.as_str(), None).await.map_err(internal)? {
            chat::GuestLookup::Staying(record) => record.guest,
            chat::GuestLookup::NotStaying | chat::GuestLookup::Unknown => return Err((403, "Forbidden")),
        },
    };
    let connection = new_connection(app, connection_id, ConnectionKind::Guest, &guest.hotel_id, |c| {
        c.guest_id = Some(guest.id);
        c.user_name = guest.full_name.clone();
    });
    app.store.put_connection(&connection).await.map_err(|e| {
        tracing::error!(error = %e, "could not store connection");
        (500, "Internal error")
    })
}

fn new_connection(
    app: &App,
    connection_id: &str,
    kind: ConnectionKind,
    hotel_id: &str,
    fill: impl FnOnce(&mut Connection),
) -> Connection {
    let now = crate::clock::now();
    let ttl = i64::try_from(app.config.connection_ttl.as_secs()).unwrap_or(7200);
    let mut connection = Connection {
        connection_id: connection_id.to_owned(),
        kind,
        hotel_id: hotel_id.to_owned(),
        staff_id: None,
        guest_id: None,
        user_name: String::new(),
        departments: Vec::new(),
        requested: None,
        subscriptions: Vec::new(),
        rights: None,
        connected_at: now,
        expires_at: now.timestamp() + ttl,
    };
    fill(&mut connection);
    connection
}

/// Tells the staff who share a department with `connection` that it came or went; each socket
/// hears it once, whatever the number of shared departments.
async fn announce_presence(
    app: &App,
    event: &ApiGatewayWebsocketProxyRequest,
    connection: &Connection,
    principal_or_name: &impl PresenceSource,
    change: PresenceChange,
) {
    let frame = ServerFrame::UserStatus {
        data: UserStatusData {
            change,
            user_id: connection.staff_id.clone().unwrap_or_default(),
            user_name: connection.user_name.clone(),
            department: principal_or_name.first_department(),
        },
    };
    let audience = Audience {
        hotel_id: connection.hotel_id.clone(),
        departments: connection.departments.clone(),
        ..Audience::default()
    };
    chat::reach(app, &origin_of(app, event), audience, &frame).await;
}

/// Where the `department` of a `user_status` comes from.
trait PresenceSource {
    fn first_department(&self) -> Option<Department>;
}

impl PresenceSource for StaffPrincipal {
    fn first_department(&self) -> Option<Department> {
        self.staff.departments.first().copied()
    }
}

impl PresenceSource for Option<Department> {
    fn first_department(&self) -> Option<Department> {
        *self
    }
}

/// `$disconnect`: deletes the record and tells peers.
pub async fn disconnect(app: &App, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let connection_id = event.request_context.connection_id.clone().unwrap_or_default();
    let span = tracing::info_span!("disconnect", connection_id = %connection_id);
    async move {
        match app.store.delete_connection(&connection_id).await {
            Ok(Some(connection)) if connection.kind == ConnectionKind::Staff => {
                let first = match connection.staff_id.as_deref() {
                    Some(id) => {
                        app.store.get_staff(id).await.ok().flatten().and_then(|s| s.departments.first().copied())
                    }
                    None => None,
                };
                announce_presence(app, &event, &connection, &first, PresenceChange::UserDisconnected).await;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not delete connection"),
        }
        status(200, None)
    }
    .instrument(span)
    .await
}

/// `$default`: one client frame.
pub async fn message(app: &App, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let connection_id = event.request_context.connection_id.clone().unwrap_or_default();
    let span = tracing::info_span!("frame", connection_id = %connection_id);
    async move {
        let started = std::time::Instant::now();
        let origin = origin_of(app, &event);
        let reply = match handle_frame(app, &event, &connection_id, &origin).await {
            Ok(reply) => reply,
            Err(message) => Some(ServerFrame::error(message)),
        };
        if let (Some(reply), Some(endpoint)) = (reply, origin.endpoint.as_deref()) {
            app.delivery.send(endpoint, &connection_id, &reply).await;
        }
        crate::telemetry::metric("FrameLatency", started.elapsed().as_secs_f64() * 1e3);
        status(200, None)
    }
    .instrument(span)
    .await
}

/// Runs one frame; `Ok(Some(frame))` is the reply for the sender, `Err` an error message.
async fn handle_frame(
    app: &App,
    event: &ApiGatewayWebsocketProxyRequest,
    connection_id: &str,
    origin: &Origin,
) -> Result<Option<ServerFrame>, &'static str> {
    let body = event.body.as_deref().unwrap_or_default();
    let connection = match app.store.get_connection(connection_id).await {
        Ok(Some(connection)) => connection,
        Ok(None) => {
            tracing::info!("frame from unknown or expired connection ignored");
            return Ok(None);
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read connection");
            return Err(crate::frames::errors::INTERNAL);
        }
    };
    let frame = ClientFrame::parse(body);
    if connection.kind == ConnectionKind::Guest {
        // Guests write through WhatsApp; their sockets only listen (and keep alive).
        return Ok(matches!(frame, Ok(ClientFrame::Ping)).then_some(ServerFrame::Pong));
    }
    let frame = frame?;
    if frame == ClientFrame::Ping {
        return Ok(Some(ServerFrame::Pong));
    }
    let Some(principal) = principal_of(app, &connection).await else {
        return Err(crate::frames::errors::ACCESS_DENIED);
    };
    run_staff_frame(app, &principal, frame, &connection, origin).await.map_err(|e| e.frame_message())
}

/// The rights a staff socket acts with: the copy on its record (kept current by provisioning),
/// or, for a record stored without one, the stored profile and hotel read now.
async fn principal_of(app: &App, connection: &Connection) -> Option<StaffPrincipal> {
    match &connection.rights {
        Some(rights) => crate::auth::principal_of(rights).ok(),
        None => {
            let staff_id = connection.staff_id.as_deref().unwrap_or_default();
            crate::auth::load_principal(app.store.as_ref(), staff_id).await.ok()
        }
    }
}

async fn run_staff_frame(
    app: &App,
    principal: &StaffPrincipal,
    frame: ClientFrame,
    connection: &Connection,
    origin: &Origin,
) -> Result<Option<ServerFrame>, ChatError> {
    let connection_id = connection.connection_id.as_str();
    match frame {
        ClientFrame::Text { conversation_id, content } => {
            let sent = chat::store_staff_message(
                app,
                principal,
                conversation_id,
                crate::model::MessageType::Text,
                content,
                None,
            )
            .await?;
            received(app, origin, connection_id, &sent).await;
            Ok(None)
        }
        ClientFrame::Media { conversation_id, file_url, filename, file_type, caption } => {
            let sent = chat::store_staff_message(
                app,
                principal,
                conversation_id,
                file_type,
                caption,
                Some((file_url, filename)),
            )
            .await?;
            received(app, origin, connection_id, &sent).await;
            Ok(None)
        }
        ClientFrame::Typing { conversation_id, is_typing } => {
            chat::typing(app, principal, conversation_id, is_typing, origin).await?;
            Ok(None)
        }
        ClientFrame::MarkRead { conversation_id } => {
            chat::mark_read(app, principal, conversation_id, None, origin).await?;
            Ok(Some(ServerFrame::ack(AckStatus::MarkedRead, conversation_id, None)))
        }
        ClientFrame::Subscribe { conversation_id } => {
            chat::conversation_for(app, principal, conversation_id).await?;
            app.store.subscribe(connection, conversation_id).await?;
            Ok(Some(ServerFrame::Subscribed { data: ConversationRef { conversation_id } }))
        }
        ClientFrame::Unsubscribe { conversation_id } => {
            app.store.unsubscribe(connection_id, conversation_id).await?;
            Ok(Some(ServerFrame::Unsubscribed { data: ConversationRef { conversation_id } }))
        }
        ClientFrame::Close { conversation_id } => {
            chat::close(app, principal, conversation_id, origin).await?;
            Ok(Some(ServerFrame::ack(AckStatus::ConversationClosed, conversation_id, None)))
        }
        ClientFrame::ReopenTemporary { conversation_id } => {
            let sent = chat::store_reopen_request(app, principal, conversation_id).await?;
            let ack = ServerFrame::ack(AckStatus::ReopenButtonSent, conversation_id, None);
            // The acknowledgment names no message, so the sender's own socket gets the stored
            // question as a `message` frame too: the delivery ticks that follow refer to it.
            let everyone = Origin { connection_id: None, ..origin.clone() };
            finish_send(app, origin, connection_id, &sent, ack, &everyone).await;
            Ok(None)
        }
        ClientFrame::Ping => Ok(Some(ServerFrame::Pong)),
    }
}

/// Acknowledges a stored `text`/`media` message to its sender, then fans it out to everyone else.
async fn received(app: &App, origin: &Origin, connection_id: &str, sent: &chat::StaffSend) {
    let ack = ServerFrame::ack(AckStatus::Received, sent.conversation.id, Some(sent.message.id));
    finish_send(app, origin, connection_id, sent, ack, origin).await;
}

/// Sends `ack` to the sender, then fans the stored message out to the audience minus `fan_out`'s
/// origin socket, then tells the sender when WhatsApp's window kept it from being sent.
async fn finish_send(
    app: &App,
    origin: &Origin,
    connection_id: &str,
    sent: &chat::StaffSend,
    ack: ServerFrame,
    fan_out: &Origin,
) {
    if let Some(endpoint) = origin.endpoint.as_deref() {
        app.delivery.send(endpoint, connection_id, &ack).await;
    }
    chat::publish_staff_message(app, fan_out, sent).await;
    if sent.outside_window
        && let Some(endpoint) = origin.endpoint.as_deref()
    {
        let error = ServerFrame::error(crate::frames::errors::OUTSIDE_WINDOW);
        app.delivery.send(endpoint, connection_id, &error).await;
    }
}

fn origin_of(app: &App, event: &ApiGatewayWebsocketProxyRequest) -> Origin {
    let ctx = &event.request_context;
    Origin {
        connection_id: ctx.connection_id.clone(),
        endpoint: app.delivery.endpoint(ctx.domain_name.as_deref(), ctx.stage.as_deref()),
    }
}

fn status(code: i64, body: Option<&str>) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = code;
    response.body = body.map(|b| Body::Text(b.to_owned()));
    response
}
