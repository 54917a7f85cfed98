//! Who is calling: staff JWTs, guest tokens, webhook signatures, and the staff profile checks
//! that turn a valid token into an authorised [`StaffPrincipal`].

pub mod guest_token;
pub mod jwt;
pub mod jwt_crypto;
mod pem;
pub mod signature;

use crate::model::{Hotel, Staff};
use crate::store::{ChatStore, StoreError};

/// A staff member whose token is valid, whose profile is active and whose hotel exists.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffPrincipal {
    /// The stored profile (never trusted from the token).
    pub staff: Staff,
    /// The staff member's hotel.
    pub hotel: Hotel,
}

impl StaffPrincipal {
    /// Departments this principal may act on.
    pub fn departments(&self) -> Vec<crate::department::Department> {
        self.staff.allowed_departments(&self.hotel)
    }

    /// Whether this principal may act on `department`.
    pub fn may_act_on(&self, department: crate::department::Department) -> bool {
        self.staff.may_act_on(&self.hotel, department)
    }
}

/// Why a staff credential was refused. Each maps to the exact answer of docs/api.md §3
#[derive(Debug, thiserror::Error)]
pub enum StaffAuthError {
    /// No token at all.
    #[error("no credentials")]
    Missing,
    /// The token failed verification.
    #[error("invalid token: {0}")]
    InvalidToken(#[from] jwt::TokenError),
    /// No staff member with that id (or their hotel is gone).
    #[error("user not found")]
    UnknownUser,
    /// The staff member was deactivated.
    #[error("user inactive")]
    Inactive,
    /// The JWT verifier is not configured.
    #[error("JWT verification is not configured")]
    NotConfigured,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies a staff token and loads the profile and hotel from the store.
pub async fn authenticate_staff(
    verifier: Option<&jwt::JwtVerifier>,
    store: &dyn ChatStore,
    token: Option<&str>,
) -> Result<StaffPrincipal, StaffAuthError> {
    let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(StaffAuthError::Missing)?;
    let verifier = verifier.ok_or(StaffAuthError::NotConfigured)?;
    let claims = verifier.verify(token)?;
    load_principal(store, &claims.user_id).await
}

/// The stored profile of staff member `user_id` and their hotel, read now: how every action
/// learns the caller's current rights (a socket's frames as well as REST calls).
pub async fn load_principal(store: &dyn ChatStore, user_id: &str) -> Result<StaffPrincipal, StaffAuthError> {
    let staff = store.get_staff(user_id).await?.ok_or(StaffAuthError::UnknownUser)?;
    if !staff.is_active {
        return Err(StaffAuthError::Inactive);
    }
    let hotel = store.get_hotel(&staff.hotel_id).await?.ok_or(StaffAuthError::UnknownUser)?;
    Ok(StaffPrincipal { staff, hotel })
}

/// The principal a staff socket's record carries ([`crate::model::Connection::rights`]): the
/// same checks as [`load_principal`], on the copy provisioning keeps current.
pub fn principal_of(rights: &crate::model::Rights) -> Result<StaffPrincipal, StaffAuthError> {
    if !rights.staff.is_active {
        return Err(StaffAuthError::Inactive);
    }
    if rights.staff.hotel_id != rights.hotel.id {
        return Err(StaffAuthError::UnknownUser);
    }
    Ok(StaffPrincipal { staff: rights.staff.clone(), hotel: rights.hotel.clone() })
}

impl StaffPrincipal {
    /// The copy a socket record keeps of this principal.
    pub fn rights(&self) -> crate::model::Rights {
        crate::model::Rights { staff: self.staff.clone(), hotel: self.hotel.clone() }
    }
}

/// Extracts the token of an `Authorization: Bearer <token>` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(Some("abc")), None);
        assert_eq!(bearer(None), None);
    }
}
