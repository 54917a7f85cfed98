//! Rights decided now, on open sockets too (docs/api.md §3).
//!
//! A REST call reads the member's stored profile and hotel ([`crate::auth::load_principal`]). A
//! socket's frames read them from its connection record ([`crate::model::Connection::rights`]),
//! a copy that must therefore change whenever the stored profile or hotel does, together with
//! what the socket *hears* (the departments it listens to, its subscriptions):
//!
//! - [`apply_profile`]: when provisioning changes a member (departments, role, hotel, active),
//!   each of their open sockets gets the new profile, is re-indexed to what it allows, loses the
//!   subscriptions it may no longer hear, or is closed (the client reconnects) when nothing is
//!   left. [`apply_hotel`] does the same for every staff socket of a hotel that changed.
//!   Provisioning answers 5xx when this fails, so the CRM sends the change again.
//! - [`settle_new_socket`]: a socket that connected while its member was being changed may have
//!   been missed by the above; after storing its record, `$connect` reads the profile again and
//!   applies it when it moved. (Provisioning writes, then looks for sockets; `$connect` writes,
//!   then looks at the profile: with strongly consistent reads one of the two sees the other.)
//! - [`drop_unauthorised_subscribers`]: when a conversation moves to another department, the
//!   sockets subscribed to it whose member may not act on that department stop hearing it.

use std::collections::BTreeSet;

use crate::app::App;
use crate::auth::StaffPrincipal;
use crate::department::Department;
use crate::model::{Connection, Conversation, Hotel, Rights, Staff};
use crate::store::StoreError;

/// Applies a member's new profile to their open sockets.
pub async fn apply_profile(app: &App, new: &Staff) -> Result<(), StoreError> {
    let sockets: Vec<String> =
        app.store.staff_connections(&new.user_id).await?.into_iter().map(|r| r.connection_id).collect();
    if sockets.is_empty() {
        return Ok(());
    }
    let applied = async {
        let hotel = app.store.get_hotel(&new.hotel_id).await?;
        for id in &sockets {
            if let Some(connection) = app.store.get_connection(id).await? {
                apply_to(app, &connection, new, hotel.as_ref()).await?;
            }
        }
        Ok(())
    };
    or_close(app, &sockets, applied.await).await
}

/// Applies a hotel's new record (its departments decide what managers hear) to every staff
/// socket of the hotel, with each member's stored profile.
pub async fn apply_hotel(app: &App, hotel: &Hotel) -> Result<(), StoreError> {
    let mut sockets = BTreeSet::new();
    let mut listed = Ok(());
    for department in Department::ALL {
        match app.store.listeners(&hotel.id, department).await {
            Ok(refs) => sockets.extend(refs.into_iter().map(|r| r.connection_id)),
            Err(e) => {
                listed = Err(e);
                break;
            }
        }
    }
    let sockets: Vec<String> = sockets.into_iter().collect();
    let applied = async {
        listed?;
        for id in &sockets {
            let Some(connection) = app.store.get_connection(id).await? else {
                continue;
            };
            let staff = match connection.staff_id.as_deref() {
                Some(user) => app.store.get_staff(user).await?,
                None => None,
            };
            match staff {
                Some(staff) => apply_to(app, &connection, &staff, Some(hotel)).await?,
                None => close(app, &connection.connection_id).await,
            }
        }
        Ok(())
    };
    or_close(app, &sockets, applied.await).await
}

/// When a change could not be brought to these sockets, they are closed: none keeps acting or
/// hearing with the rights it had (the clients reconnect, and `$connect` reads the stored
/// profile). The error is still returned, so provisioning answers 5xx and the CRM sends the
/// change again. Sockets a failed listing never named cannot be closed; the store failing for
/// that listing also fails their frames' writes.
async fn or_close(app: &App, sockets: &[String], applied: Result<(), StoreError>) -> Result<(), StoreError> {
    if let Err(e) = &applied {
        tracing::warn!(error = %e, sockets = sockets.len(), "a rights change could not reach open sockets: closing them");
        for id in sockets {
            close(app, id).await;
        }
    }
    applied
}

/// After `$connect` stored `connection` with the rights of `principal`: reads the profile and
/// hotel again and applies them when they changed meanwhile. `false` when the socket was closed
/// (the member is gone or inactive now).
pub async fn settle_new_socket(app: &App, connection: &Connection, principal: &StaffPrincipal) -> bool {
    let user = principal.staff.user_id.as_str();
    let outcome = match crate::auth::load_principal(app.store.as_ref(), user).await {
        Ok(now) if now == *principal => return true,
        Ok(now) => apply_to(app, connection, &now.staff, Some(&now.hotel)).await,
        Err(crate::auth::StaffAuthError::Store(e)) => Err(e),
        Err(_) => {
            close(app, &connection.connection_id).await;
            return false;
        }
    };
    if let Err(e) = outcome {
        // The record keeps the rights read at connect; the next provisioning change applies.
        tracing::error!(error = %e, "could not settle a new socket's rights");
    }
    true
}

/// Gives one socket the rights of `staff` at `hotel` (`None`: the hotel is gone).
async fn apply_to(app: &App, connection: &Connection, staff: &Staff, hotel: Option<&Hotel>) -> Result<(), StoreError> {
    let listen = listen_set(connection, staff, hotel);
    let Some(hotel) = hotel.filter(|_| !listen.is_empty()) else {
        close(app, &connection.connection_id).await;
        return Ok(());
    };
    let rights = Some(Rights { staff: staff.clone(), hotel: hotel.clone() });
    if listen != connection.departments.iter().copied().collect() || connection.rights != rights {
        let departments: Vec<Department> = listen.into_iter().collect();
        let updated = Connection { rights, ..connection.clone() };
        match app.store.relisten(&updated, &departments).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    drop_subscriptions(app, connection, staff, hotel).await
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
