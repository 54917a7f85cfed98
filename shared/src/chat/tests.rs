//! The chat rules against in-memory ports: who may act on what (docs/api.md §2), who hears what
//! (§5), what a send, a close, a transfer, an assignment, a read or a reopen does (§4, §7), the
//! 24-hour window. Each test builds a hotel in a `MemoryStore`, opens sockets as stored records,
//! acts through the core and reads back what the `RecordingPusher` delivered and the
//! `MemoryQueues` hold. No emulator: the whole file runs in milliseconds.

use chrono::Duration;

use super::*;
use crate::app::{App, InMemory};
use crate::auth::StaffPrincipal;
use crate::config::{Config, ReopenTemplate};
use crate::delivery::RetryJob;
use crate::department::Department::{self, Cafe, Housekeeping, Reception};
use crate::jobs::OutboundJob;
use crate::model::{
    Connection, ConnectionKind, Conversation, ConversationType, DeliveryStatus, Guest, GuestStatus, MessageType,
    OutboundKind, Staff, UserType,
};
use crate::queues::Queue;
use crate::store::conformance::{Scene, guest_text, stored, unique};

const ENDPOINT: &str = "https://ws.example/test";

/// A hotel with a checked-in guest who wrote to reception just now, its staff, and the app.
struct Hotel {
    app: App,
    ports: InMemory,
    scene: Scene,
    conversation: Conversation,
}

impl Hotel {
    async fn new() -> Hotel {
        Hotel::with(|_| {}).await
    }

    async fn with(configure: impl FnOnce(&mut Config)) -> Hotel {
        let vars = [("TABLE_NAME", "chat"), ("WS_ENDPOINT", ENDPOINT)];
        let mut config = Config::from_lookup(&[], |key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).into()))
            .unwrap_or_else(|e| panic!("{e}"));
        configure(&mut config);
        let (app, ports) = App::in_memory(config);
        let mut scene = Scene::new(app.store.as_ref()).await;
        // A number WhatsApp could have (the scene's fresh ones are only unique).
        scene.guest.whatsapp_number = format!("+9198{:08}", unique() % 100_000_000);
        app.store.put_guest(&scene.guest).await.unwrap_or_else(|e| panic!("{e}"));
        let conversation = Hotel::guest_writes(&app, &scene.guest, Reception, "Two towels please").await;
        Hotel { app, ports, scene, conversation }
    }

    /// The guest's message to `department`, stored and announced as the webhook does.
    async fn guest_writes(app: &App, guest: &Guest, department: Department, text: &str) -> Conversation {
        let store = app.store.as_ref();
        let now = crate::clock::now();
        let outcome = store.add_guest_message(guest, department, ConversationType::Service, guest_text(text), now);
        let appended = stored(outcome.await.unwrap_or_else(|e| panic!("{e}")));
        let record = guest_record(app, guest.id).await.unwrap_or_else(|e| panic!("{e}"));
        announce_message(app, &Origin::server(app), &appended.conversation, &appended.message, &record).await;
        appended.conversation
    }

    /// A staff member of the hotel, stored, as their principal.
    async fn staff(&self, user_type: UserType, departments: &[Department]) -> StaffPrincipal {
        let staff = Staff {
            user_id: unique().to_string(),
            hotel_id: self.scene.hotel.id.clone(),
            user_type,
            departments: departments.to_vec(),
            first_name: "Rita".into(),
            last_name: "Desk".into(),
            username: "rita".into(),
            is_active: true,
        };
        self.app.store.put_staff(&staff).await.unwrap_or_else(|e| panic!("{e}"));
        StaffPrincipal { staff, hotel: self.scene.hotel.clone() }
    }

    /// A receptionist (Reception only).
    async fn receptionist(&self) -> StaffPrincipal {
        self.staff(UserType::Receptionist, &[Reception]).await
    }

    /// An open staff socket of `principal`, listening to every department they may act on.
    async fn socket(&self, principal: &StaffPrincipal) -> String {
        self.socket_since(principal, crate::clock::now() - Duration::minutes(5)).await
    }

    /// Like [`Hotel::socket`], connected at `connected_at`.
    async fn socket_since(&self, principal: &StaffPrincipal, connected_at: chrono::DateTime<chrono::Utc>) -> String {
        let connection = Connection {
            connection_id: format!("staff-{}", unique()),
            kind: ConnectionKind::Staff,
            hotel_id: self.scene.hotel.id.clone(),
            staff_id: Some(principal.staff.user_id.clone()),
            guest_id: None,
            user_name: principal.staff.display_name(),
            departments: principal.departments(),
            requested: None,
            subscriptions: Vec::new(),
            rights: Some(principal.rights()),
            connected_at,
            expires_at: (crate::clock::now() + Duration::hours(2)).timestamp(),
        };
        self.app.store.put_connection(&connection).await.unwrap_or_else(|e| panic!("{e}"));
        connection.connection_id
    }

    /// The guest's open socket.
    async fn guest_socket(&self) -> String {
        let connection = Connection {
            connection_id: format!("guest-{}", unique()),
            kind: ConnectionKind::Guest,
            hotel_id: self.scene.hotel.id.clone(),
            staff_id: None,
            guest_id: Some(self.scene.guest.id),
            user_name: self.scene.guest.full_name.clone(),
            departments: Vec::new(),
            requested: None,
            subscriptions: Vec::new(),
            rights: None,
            connected_at: crate::clock::now() - Duration::minutes(5),
            expires_at: (crate::clock::now() + Duration::hours(2)).timestamp(),
        };
        self.app.store.put_connection(&connection).await.unwrap_or_else(|e| panic!("{e}"));
        connection.connection_id
    }

    /// A request from socket `connection_id`.
    fn from(connection_id: &str) -> Origin {
        Origin { connection_id: Some(connection_id.to_owned()), endpoint: Some(ENDPOINT.into()) }
    }

    /// What socket `connection_id` heard, by frame type.
    fn heard(&self, connection_id: &str) -> Vec<String> {
        self.ports.pushes.kinds(connection_id)
    }

    /// The jobs on the outbound queue.
    fn outbound_jobs(&self) -> Vec<OutboundJob> {
        let jobs = self.ports.queues.take(Queue::Outbound);
        jobs.iter().map(|j| serde_json::from_str(j).unwrap_or_else(|e| panic!("{e}: {j}"))).collect()
    }

    /// The guest has not written for `hours`.
    async fn guest_silent_for(&self, hours: i64) {
        let mut guest = self.app.store.get_guest(self.scene.guest.id).await.ok().flatten().expect("the guest");
        guest.last_inbound_at = Some(crate::clock::now() - Duration::hours(hours));
        self.app.store.put_guest(&guest).await.unwrap_or_else(|e| panic!("{e}"));
    }

    async fn reply(&self, principal: &StaffPrincipal, origin: &Origin, text: &str) -> Result<StaffSend, ChatError> {
        let sent =
            store_staff_message(&self.app, principal, self.conversation.id, MessageType::Text, text.into(), None)
                .await?;
        publish_staff_message(&self.app, origin, &sent).await;
        Ok(sent)
    }
}

// ------------------------------------------------------------------------------------------
// Access (docs/api.md §2): decided at action time from the stored conversation and the rights

#[tokio::test]
async fn staff_act_only_on_their_departments_of_their_hotel() {
    let hotel = Hotel::new().await;
    let id = hotel.conversation.id;
    let receptionist = hotel.receptionist().await;
    let housekeeper = hotel.staff(UserType::DepartmentStaff, &[Housekeeping]).await;
    let manager = hotel.staff(UserType::Manager, &[]).await;
    let admin = hotel.staff(UserType::HotelAdmin, &[]).await;
    let other_role = hotel.staff(UserType::Other("accountant".into()), &[Reception]).await;
    assert!(conversation_for(&hotel.app, &receptionist, id).await.is_ok());
    assert!(conversation_for(&hotel.app, &manager, id).await.is_ok(), "managers act on every department");
    assert!(conversation_for(&hotel.app, &admin, id).await.is_ok(), "hotel admins too");
    assert!(matches!(conversation_for(&hotel.app, &housekeeper, id).await, Err(ChatError::AccessDenied)));
    assert!(matches!(conversation_for(&hotel.app, &other_role, id).await, Err(ChatError::AccessDenied)));
    assert!(matches!(conversation_for(&hotel.app, &receptionist, id + 7).await, Err(ChatError::NotFound)));
}

#[tokio::test]
async fn another_hotels_conversation_does_not_exist_for_staff() {
    let hotel = Hotel::new().await;
    let mut stranger = hotel.receptionist().await;
    stranger.hotel.id = "another-hotel".into();
    stranger.staff.hotel_id = "another-hotel".into();
    let answer = conversation_for(&hotel.app, &stranger, hotel.conversation.id).await;
    assert!(matches!(answer, Err(ChatError::NotFound)), "not 'access denied': the id says nothing");
}

#[tokio::test]
async fn deactivated_staff_may_act_on_nothing() {
    let hotel = Hotel::new().await;
    let mut receptionist = hotel.receptionist().await;
    receptionist.staff.is_active = false;
    let answer = conversation_for(&hotel.app, &receptionist, hotel.conversation.id).await;
    assert!(matches!(answer, Err(ChatError::AccessDenied)));
}

/// A socket acts with the rights its record carries; provisioning keeps that copy current: a
/// hotel's or a member's change is applied to open sockets at once (what they hear and the copy
/// they act with), and a socket whose `$connect` read the profile just before a change is
/// settled to the new one (or closed, when the member was deactivated).
#[tokio::test]
async fn socket_rights_follow_hotel_and_profile_changes_even_mid_connect() {
    let hotel = Hotel::new().await;
    let app = &hotel.app;
    let record = |id: String| async move { app.store.get_connection(&id).await.unwrap_or_else(|e| panic!("{e}")) };
    let manager = hotel.staff(UserType::Manager, &[]).await;
    let socket = hotel.socket(&manager).await;
    assert_eq!(record(socket.clone()).await.map(|c| c.departments), Some(Department::ALL.to_vec()));

    let smaller = crate::model::Hotel { departments: vec![Reception, Housekeeping], ..hotel.scene.hotel.clone() };
    app.store.put_hotel(&smaller).await.unwrap_or_else(|e| panic!("{e}"));
    rights::apply_hotel(app, &smaller).await.unwrap_or_else(|e| panic!("{e}"));
    let after = record(socket.clone()).await.unwrap_or_else(|| panic!("still open"));
    assert_eq!(after.departments, vec![Reception, Housekeeping]);
    assert_eq!(after.rights, Some(StaffPrincipal { staff: manager.staff.clone(), hotel: smaller.clone() }.rights()));

    let demoted = Staff { user_type: UserType::Receptionist, departments: vec![Reception], ..manager.staff.clone() };
    app.store.put_staff(&demoted).await.unwrap_or_else(|e| panic!("{e}"));
    rights::apply_profile(app, &demoted).await.unwrap_or_else(|e| panic!("{e}"));
    let after = record(socket.clone()).await.unwrap_or_else(|| panic!("still open"));
    assert_eq!(after.departments, vec![Reception]);
    assert_eq!(after.rights.map(|r| r.staff), Some(demoted.clone()));

    // A socket stored with the rights read before the demotion: `$connect` settles it.
    let before = StaffPrincipal { staff: manager.staff.clone(), hotel: smaller.clone() };
    let late = hotel.socket(&before).await;
    let stored = record(late.clone()).await.unwrap_or_else(|| panic!("stored"));
    assert!(rights::settle_new_socket(app, &stored, &before).await);
    let settled = record(late.clone()).await.unwrap_or_else(|| panic!("still open"));
    assert_eq!((settled.departments, settled.rights.map(|r| r.staff)), (vec![Reception], Some(demoted.clone())));

    // Deactivated meanwhile: the new socket is closed.
    let gone = Staff { is_active: false, ..demoted.clone() };
    app.store.put_staff(&gone).await.unwrap_or_else(|e| panic!("{e}"));
    let active = StaffPrincipal { staff: demoted, hotel: smaller };
    let doomed = hotel.socket(&active).await;
    let stored = record(doomed.clone()).await.unwrap_or_else(|| panic!("stored"));
    assert!(!rights::settle_new_socket(app, &stored, &active).await);
    assert_eq!(record(doomed).await, None);
}

// ------------------------------------------------------------------------------------------
// Who hears what (docs/api.md §5)

#[tokio::test]
async fn a_guest_message_reaches_its_department_and_subscribers_only() {
    let hotel = Hotel::new().await;
    let reception = hotel.socket(&hotel.receptionist().await).await;
    let housekeeping = hotel.socket(&hotel.staff(UserType::DepartmentStaff, &[Housekeeping]).await).await;
    let manager = hotel.socket(&hotel.staff(UserType::Manager, &[]).await).await;
    let subscriber = hotel.socket(&hotel.staff(UserType::DepartmentStaff, &[Cafe]).await).await;
    let connection = hotel.app.store.get_connection(&subscriber).await.ok().flatten().expect("the socket");
    hotel.app.store.subscribe(&connection, hotel.conversation.id).await.unwrap_or_else(|e| panic!("{e}"));
    let guest = hotel.guest_socket().await;

    Hotel::guest_writes(&hotel.app, &hotel.scene.guest, Reception, "And a late checkout?").await;
    assert_eq!(hotel.heard(&reception), ["message"]);
    assert_eq!(hotel.heard(&manager), ["message"], "managers listen to every department");
    assert_eq!(hotel.heard(&subscriber), ["message"], "a subscription widens what a socket hears");
    assert!(hotel.heard(&housekeeping).is_empty());
    assert!(hotel.heard(&guest).is_empty(), "the guest's own message is not echoed to them");
    let frame = &hotel.ports.pushes.frames(&reception)[0];
    assert_eq!(frame["data"]["content"], "And a late checkout?");
    assert_eq!(frame["data"]["department"], "Reception");
}

#[tokio::test]
async fn a_staff_reply_is_stored_queued_for_whatsapp_and_heard_by_all_but_its_sender() {
    let hotel = Hotel::new().await;
    let rita = hotel.receptionist().await;
    let ritas_socket = hotel.socket(&rita).await;
    let colleague = hotel.socket(&hotel.receptionist().await).await;
    let guest = hotel.guest_socket().await;

    let sent = hotel.reply(&rita, &Hotel::from(&ritas_socket), "On their way").await.expect("sent");
    assert_eq!(sent.message.delivery_status, Some(DeliveryStatus::Queued));
    assert_eq!(
        hotel.outbound_jobs(),
        [OutboundJob {
            conversation_id: hotel.conversation.id,
            message_id: Some(sent.message.id),
            kind: OutboundKind::Message
        }]
    );
    assert!(hotel.heard(&ritas_socket).is_empty(), "the sender's socket is answered, not pushed to");
    assert_eq!(hotel.heard(&colleague), ["message"]);
    assert_eq!(hotel.heard(&guest), ["message"], "the guest's sockets hear staff messages");
}

#[tokio::test]
async fn outside_the_24_hour_window_a_reply_is_stored_failed_with_a_note_and_not_queued() {
    let hotel = Hotel::new().await;
    hotel.guest_silent_for(25).await;
    let rita = hotel.receptionist().await;
    let colleague = hotel.socket(&hotel.receptionist().await).await;

    let sent = hotel.reply(&rita, &Origin::server(&hotel.app), "Are you still there?").await.expect("stored");
    assert!(sent.outside_window);
    assert_eq!(sent.message.delivery_status, Some(DeliveryStatus::Failed));
    assert!(hotel.outbound_jobs().is_empty(), "nothing goes to WhatsApp");
    assert_eq!(hotel.heard(&colleague), ["message", "message"], "the reply, then the system note");
    assert_eq!(hotel.ports.pushes.frames(&colleague)[1]["data"]["sender_type"], "system");
}

#[tokio::test]
async fn typing_reaches_department_peers_and_the_guest() {
    let hotel = Hotel::new().await;
    let rita = hotel.receptionist().await;
    let ritas_socket = hotel.socket(&rita).await;
    let colleague = hotel.socket(&hotel.receptionist().await).await;
    let housekeeping = hotel.socket(&hotel.staff(UserType::DepartmentStaff, &[Housekeeping]).await).await;
    let guest = hotel.guest_socket().await;
    hotel.ports.pushes.clear();

    typing(&hotel.app, &rita, hotel.conversation.id, true, &Hotel::from(&ritas_socket)).await.expect("typing");
    assert_eq!(hotel.heard(&colleague), ["typing"]);
    assert_eq!(hotel.heard(&guest), ["typing"]);
    assert!(hotel.heard(&ritas_socket).is_empty() && hotel.heard(&housekeeping).is_empty());
}

#[tokio::test]
async fn reading_marks_guest_messages_once_and_tells_department_and_guest() {
    let hotel = Hotel::new().await;
    let rita = hotel.receptionist().await;
    let colleague = hotel.socket(&hotel.receptionist().await).await;
    let guest = hotel.guest_socket().await;
    hotel.ports.pushes.clear();

    let marked = mark_read(&hotel.app, &rita, hotel.conversation.id, None, &Origin::server(&hotel.app)).await;
    assert_eq!(marked.expect("marked").len(), 1);
    assert_eq!(hotel.heard(&colleague), ["read_receipt"]);
    assert_eq!(hotel.heard(&guest), ["read_receipt"]);
    let again = mark_read(&hotel.app, &rita, hotel.conversation.id, None, &Origin::server(&hotel.app)).await;
    assert_eq!(again.expect("nothing left").len(), 0);
    assert_eq!(hotel.heard(&colleague).len(), 1, "nothing new read: no receipt");
    let stored = hotel.app.store.get_conversation(hotel.conversation.id).await.ok().flatten().expect("stored");
    assert_eq!(stored.unread_count, 0);
}

// ------------------------------------------------------------------------------------------
// Lifecycle (docs/api.md §4)

#[tokio::test]
async fn closing_tells_the_department_once_and_ends_replies() {
    let hotel = Hotel::new().await;
    let rita = hotel.receptionist().await;
    let colleague = hotel.socket(&hotel.receptionist().await).await;
    hotel.ports.pushes.clear();

    close(&hotel.app, &rita, hotel.conversation.id, &Origin::server(&hotel.app)).await.expect("closed");
    close(&hotel.app, &rita, hotel.conversation.id, &Origin::server(&hotel.app)).await.expect("idempotent");
    assert_eq!(hotel.heard(&colleague), ["close_conversation"]);
    let late = hotel.reply(&rita, &Origin::server(&hotel.app), "One more thing").await;
    assert!(matches!(late, Err(ChatError::Closed)));
    assert!(hotel.outbound_jobs().is_empty());
    // The guest's next message opens a new conversation.
    let next = Hotel::guest_writes(&hotel.app, &hotel.scene.guest, Reception, "Hello again").await;
    assert_ne!(next.id, hotel.conversation.id);
}

#[tokio::test]
async fn a_transfer_tells_both_departments_and_the_new_one_sees_a_new_conversation() {
    let hotel = Hotel::new().await;
    let rita = hotel.receptionist().await;
    let reception = hotel.socket(&hotel.receptionist().await).await;
    let housekeeping = hotel.socket(&hotel.staff(UserType::DepartmentStaff, &[Housekeeping]).await).await;
    hotel.ports.pushes.clear();

    let moved = transfer(&hotel.app, &rita, hotel.conversation.id, Housekeeping, "towels").await.expect("moved");
    assert_eq!(moved.department, Housekeeping);
    assert_eq!(hotel.heard(&reception), ["conversation_update"]);
    assert_eq!(hotel.heard(&housekeeping), ["conversation_update", "new_conversation"]);
    let note = hotel.app.store.last_message(moved.id).await.ok().flatten().expect("the note");
    assert_eq!(note.content, "Conversation transferred from Reception to Housekeeping by Rita Desk: towels");
    // Reception no longer acts on it.
    let answer = conversation_for(&hotel.app, &rita, moved.id).await;
    assert!(matches!(answer, Err(ChatError::AccessDenied)));
}

#[tokio::test]
async fn transfers_that_cannot_be_are_refused_with_nothing_changed() {
    let hotel = Hotel::new().await;
    let manager = hotel.staff(UserType::Manager, &[]).await;
    let id = hotel.conversation.id;
    let same = transfer(&hotel.app, &manager, id, Reception, "").await;
    assert!(matches!(same, Err(ChatError::AlreadyThere(Reception))));
    let busy = Hotel::guest_writes(&hotel.app, &hotel.scene.guest, Housekeeping, "Also: my sink").await;
    let onto_busy = transfer(&hotel.app, &manager, id, Housekeeping, "").await;
    assert!(matches!(onto_busy, Err(ChatError::TargetBusy(Housekeeping, other)) if other == busy.id));
    let mut small = manager.clone();
    small.hotel.departments = vec![Reception, Housekeeping];
    let unknown = transfer(&hotel.app, &small, id, Cafe, "").await;
    assert!(matches!(unknown, Err(ChatError::NotAHotelDepartment(Cafe))));
    let stored = hotel.app.store.get_conversation(id).await.ok().flatten().expect("stored");
    assert_eq!(stored.department, Reception);
}

#[tokio::test]
async fn only_staff_who_may_act_in_the_department_can_be_assigned() {
    let hotel = Hotel::new().await;
    let rita = hotel.receptionist().await;
    let colleague = hotel.socket(&hotel.receptionist().await).await;
    let housekeeper = hotel.staff(UserType::DepartmentStaff, &[Housekeeping]).await;
    let refused = assign(&hotel.app, &rita, hotel.conversation.id, Some(&housekeeper.staff.user_id)).await;
    assert!(matches!(refused, Err(ChatError::UnfitAssignee)));
    let unknown = assign(&hotel.app, &rita, hotel.conversation.id, Some("nobody")).await;
    assert!(matches!(unknown, Err(ChatError::UnfitAssignee)));
    hotel.ports.pushes.clear();
    let assigned = assign(&hotel.app, &rita, hotel.conversation.id, Some(&rita.staff.user_id)).await.expect("ok");
    assert_eq!(assigned.assigned_to.as_deref(), Some(rita.staff.user_id.as_str()));
    assert_eq!(hotel.heard(&colleague), ["conversation_update"]);
}

#[tokio::test]
async fn staff_open_conversations_only_with_staying_guests_of_their_hotel() {
    let hotel = Hotel::new().await;
    let rita = hotel.receptionist().await;
    let number = crate::phone::normalize(&hotel.scene.guest.whatsapp_number, "91").expect("number");
    let (same, created) = open(&hotel.app, &rita, &number, Reception).await.expect("open");
    assert_eq!((same.id, created), (hotel.conversation.id, false), "the active one is answered");
    let denied = open(&hotel.app, &rita, &number, Housekeeping).await;
    assert!(matches!(denied, Err(ChatError::AccessDenied)));
    let nobody = crate::phone::normalize("+15550000000", "91").expect("number");
    assert!(matches!(open(&hotel.app, &rita, &nobody, Reception).await, Err(ChatError::NoGuest)));
    let mut stay = hotel.scene.stay.clone();
    stay.status = crate::model::StayStatus::Completed;
    hotel.app.store.put_stay(&stay).await.unwrap_or_else(|e| panic!("{e}"));
    let checked_out = open(&hotel.app, &rita, &number, Reception).await;
    assert!(matches!(checked_out, Err(ChatError::NoActiveStay)));
}

// ------------------------------------------------------------------------------------------
// Reopen (docs/api.md §7)

#[tokio::test]
async fn the_reopen_question_goes_as_a_button_inside_the_window_and_a_template_outside() {
    let template = ReopenTemplate::parse("lobbybee_reopen").expect("template");
    let hotel = Hotel::with(|c| c.reopen_template = Some(template)).await;
    let rita = hotel.receptionist().await;
    let id = hotel.conversation.id;
    let inside = store_reopen_request(&hotel.app, &rita, id).await.expect("stored");
    assert_eq!(inside.kind, OutboundKind::ReopenButton);
    hotel.guest_silent_for(30).await;
    let outside = store_reopen_request(&hotel.app, &rita, id).await.expect("stored");
    assert_eq!(outside.kind, OutboundKind::ReopenTemplate);
    assert_eq!(outside.message.delivery_status, Some(DeliveryStatus::Queued));
}

#[tokio::test]
async fn without_a_template_the_reopen_question_outside_the_window_is_refused_and_nothing_stored() {
    let hotel = Hotel::new().await;
    hotel.guest_silent_for(30).await;
    let rita = hotel.receptionist().await;
    let before = hotel.app.store.last_message(hotel.conversation.id).await.ok().flatten().map(|m| m.id);
    let refused = store_reopen_request(&hotel.app, &rita, hotel.conversation.id).await;
    assert!(matches!(refused, Err(ChatError::OutsideWindow)));
    let after = hotel.app.store.last_message(hotel.conversation.id).await.ok().flatten().map(|m| m.id);
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_reopen_question_is_for_service_conversations_only() {
    let hotel = Hotel::new().await;
    let mut guest = hotel.scene.guest.clone();
    guest.status = GuestStatus::PendingCheckin;
    hotel.app.store.put_guest(&guest).await.unwrap_or_else(|e| panic!("{e}"));
    let rita = hotel.receptionist().await;
    let number = crate::phone::normalize(&guest.whatsapp_number, "91").expect("number");
    close(&hotel.app, &rita, hotel.conversation.id, &Origin::server(&hotel.app)).await.expect("closed");
    let (checkin, _) = open(&hotel.app, &rita, &number, Reception).await.expect("opened");
    assert_eq!(checkin.conversation_type, ConversationType::Checkin);
    let refused = store_reopen_request(&hotel.app, &rita, checkin.id).await;
    assert!(matches!(refused, Err(ChatError::NotService)));
}

// ------------------------------------------------------------------------------------------
// Delivery: gone sockets and failed pushes

#[tokio::test]
async fn a_gone_socket_is_forgotten_unless_it_is_still_connecting() {
    let hotel = Hotel::new().await;
    let old = hotel.socket(&hotel.receptionist().await).await;
    let young = hotel.socket_since(&hotel.receptionist().await, crate::clock::now()).await;
    hotel.ports.pushes.gone(&old);
    hotel.ports.pushes.gone(&young);

    Hotel::guest_writes(&hotel.app, &hotel.scene.guest, Reception, "Anyone?").await;
    assert!(hotel.app.store.get_connection(&old).await.ok().flatten().is_none(), "410: record deleted");
    assert!(hotel.app.store.get_connection(&young).await.ok().flatten().is_some(), "410 in $connect: spared");
}

#[tokio::test]
async fn a_push_that_fails_goes_to_the_retry_queue_and_is_delivered_from_there() {
    let hotel = Hotel::new().await;
    let socket = hotel.socket(&hotel.receptionist().await).await;
    hotel.ports.pushes.fail(&socket, 1);
    Hotel::guest_writes(&hotel.app, &hotel.scene.guest, Reception, "Hello?").await;
    assert!(hotel.heard(&socket).is_empty());
    let jobs = hotel.ports.queues.take(Queue::PushRetry);
    assert_eq!(jobs.len(), 1);
    let job: RetryJob = serde_json::from_str(&jobs[0]).expect("a retry job");
    assert_eq!(job.connection_id, socket);
    let mut report = crate::delivery::FanOutReport::default();
    assert!(!hotel.app.delivery.redeliver(&job, &mut report).await, "delivered this time");
    assert_eq!(hotel.heard(&socket), ["message"]);
}
