//! Rights decided now, on open sockets too (docs/api.md §3).
//!
//! Every action re-reads the member's stored profile ([`crate::chat::conversation_for`]), so what
//! a socket may *do* always follows the store. What a socket *hears* follows its connection
//! record (the departments it listens to, its subscriptions), so that record must change as soon
//! as the rights behind it do:
//!
//! - [`apply_profile`]: when provisioning changes a member (departments, role, hotel, active),
//!   each of their open sockets is re-indexed to what the new profile allows, loses the
//!   subscriptions it may no longer hear, or is closed (the client reconnects) when nothing is left.
//! - [`drop_unauthorised_subscribers`]: when a conversation moves to another department, the
//!   sockets subscribed to it whose member may not act on that department stop hearing it.

use std::collections::BTreeSet;

use crate::app::App;
use crate::department::Department;
use crate::model::{Connection, Conversation, Hotel, Staff};
use crate::store::StoreError;

/// Applies a member's new profile to their open sockets. Failures are logged: the profile
/// itself is stored, and every action is checked against it anyway.
pub async fn apply_profile(app: &App, new: &Staff) {
    if let Err(e) = try_apply_profile(app, new).await {
        tracing::error!(error = %e, "could not apply a profile change to open sockets");
    }
}

async fn try_apply_profile(app: &App, new: &Staff) -> Result<(), StoreError> {
    let refs = app.store.staff_connections(&new.user_id).await?;
    if refs.is_empty() {
        return Ok(());
    }
    let hotel = app.store.get_hotel(&new.hotel_id).await?;
    for reference in refs {
        let Some(connection) = app.store.get_connection(&reference.connection_id).await? else {
            continue;
        };
        let listen = listen_set(&connection, new, hotel.as_ref());
        if listen.is_empty() {
            close(app, &connection.connection_id).await;
            continue;
        }
        if listen != connection.departments.iter().copied().collect() {
            let departments: Vec<Department> = listen.into_iter().collect();
            match app.store.relisten(&connection, &departments).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(hotel) = &hotel {
            drop_subscriptions(app, &connection, new, hotel).await?;
        }
    }
    Ok(())
}

/// What a socket may listen to under the new profile: the one department it asked for while
/// still allowed, else everything the member may act on. Empty means the socket must close.
fn listen_set(connection: &Connection, new: &Staff, hotel: Option<&Hotel>) -> BTreeSet<Department> {
    let Some(hotel) = hotel.filter(|h| new.is_active && h.id == connection.hotel_id) else {
        return BTreeSet::new();
    };
    let allowed: BTreeSet<Department> = new.allowed_departments(hotel).into_iter().collect();
    match connection.requested {
        Some(only) => allowed.into_iter().filter(|d| *d == only).collect(),
        None => allowed,
    }
}

/// Drops the subscriptions of `connection` to conversations `staff` may not act on.
async fn drop_subscriptions(
    app: &App,
    connection: &Connection,
    staff: &Staff,
    hotel: &Hotel,
) -> Result<(), StoreError> {
    for id in &connection.subscriptions {
        let allowed = app.store.get_conversation(*id).await?.is_some_and(|c| staff.may_act_on(hotel, c.department));
        if !allowed {
            app.store.unsubscribe(&connection.connection_id, *id).await?;
        }
    }
    Ok(())
}

/// Closes a socket at once: its record goes first, so no push reaches it even before API
/// Gateway's `$disconnect` arrives.
async fn close(app: &App, connection_id: &str) {
    match app.delivery.default_endpoint() {
        Some(endpoint) => app.delivery.disconnect(&endpoint, connection_id).await,
        None => {
            if let Err(e) = app.store.delete_connection(connection_id).await {
                tracing::warn!(error = %e, "could not delete connection record");
            }
        }
    }
}

/// After `conversation` moved department: its subscribers whose member may not act on the new
/// department stop hearing it.
pub async fn drop_unauthorised_subscribers(app: &App, conversation: &Conversation) {
    let result = async {
        let hotel = app.store.get_hotel(&conversation.hotel_id).await?;
        for reference in app.store.subscribers(conversation.id).await? {
            let staff = match &reference.staff_id {
                Some(id) => app.store.get_staff(id).await?,
                None => None,
            };
            let allowed = matches!((&staff, &hotel), (Some(s), Some(h)) if s.may_act_on(h, conversation.department));
            if !allowed {
                app.store.unsubscribe(&reference.connection_id, conversation.id).await?;
            }
        }
        Ok::<(), StoreError>(())
    };
    if let Err(e) = result.await {
        tracing::error!(error = %e, conversation_id = conversation.id, "could not drop unauthorised subscribers");
    }
}
