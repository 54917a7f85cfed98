//! Guest socket tokens (CONTRACT §2, §3.3): `{stay_id}.{guest_id}.{signature}`, an HMAC the
//! system issues per stay. The token itself never expires; it is honoured only while its stay is
//! active, which the caller checks against the store.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Hex characters of the signature kept in the token (128 bits).
const SIGNATURE_HEX: usize = 32;

/// What a valid guest token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestTokenClaims {
    /// The stay.
    pub stay_id: u64,
    /// The guest.
    pub guest_id: u64,
}

fn signature(secret: &[u8], stay_id: u64, guest_id: u64) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("lobbybee-guest-token:{stay_id}:{guest_id}").as_bytes());
    let mut hex = hex::encode(mac.finalize().into_bytes());
    hex.truncate(SIGNATURE_HEX);
    hex
}

/// Issues the token of a stay.
pub fn issue(secret: &[u8], stay_id: u64, guest_id: u64) -> String {
    format!("{stay_id}.{guest_id}.{}", signature(secret, stay_id, guest_id))
}

/// Checks a token's signature; `None` for anything malformed or forged.
pub fn verify(secret: &[u8], token: &str) -> Option<GuestTokenClaims> {
    let mut parts = token.trim().split('.');
    let stay_id = parts.next()?.parse().ok()?;
    let guest_id = parts.next()?.parse().ok()?;
    let given = parts.next()?;
    if parts.next().is_some() || secret.is_empty() {
        return None;
    }
    let expected = signature(secret, stay_id, guest_id);
    bool::from(expected.as_bytes().ct_eq(given.as_bytes())).then_some(GuestTokenClaims { stay_id, guest_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_verify() {
        let token = issue(b"k", 7, 9);
        assert_eq!(verify(b"k", &token), Some(GuestTokenClaims { stay_id: 7, guest_id: 9 }));
        assert_eq!(verify(b"other", &token), None);
        assert_eq!(verify(b"", &token), None);
        let forged = token.replacen("7.", "8.", 1);
        assert_eq!(verify(b"k", &forged), None);
        for bad in ["", "7.9", "7.9.", "x.9.abc", &format!("{token}.x")] {
            assert_eq!(verify(b"k", bad), None, "{bad:?}");
        }
    }
}
