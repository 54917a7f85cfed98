//! Guest socket tokens (docs/api.md §3, §4).
//!
//! Guests do not log in, yet a guest socket must not be openable by anyone who knows a WhatsApp
//! number. So each stay gets a token, `{stay_id}.{guest_id}.{signature}`, where the signature is
//! the first 32 hex digits (128 bits) of HMAC-SHA256(secret, `lobbybee-guest-token:{stay_id}:{guest_id}`).
//! Provisioning returns it with the stay (§3.3). The token itself never expires: it is honoured
//! only while its stay is active, which the caller checks against the store.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Hex digits of the signature kept in the token (128 bits).
const SIGNATURE_HEX: usize = 32;

/// What a valid guest token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestTokenClaims {
    /// The stay the token was issued for.
    pub stay_id: u64,
    /// The guest of that stay.
    pub guest_id: u64,
}

/// The truncated lowercase hex signature; `None` only if HMAC refused the key, which it never
/// does (it accepts keys of any length).
fn signature(secret: &[u8], stay_id: u64, guest_id: u64) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(format!("lobbybee-guest-token:{stay_id}:{guest_id}").as_bytes());
    let mut hex = hex::encode(mac.finalize().into_bytes());
    hex.truncate(SIGNATURE_HEX);
    Some(hex)
}

/// Issues the token of a stay: `{stay_id}.{guest_id}.{32 lowercase hex digits}`.
///
/// A token issued with an empty `secret` is never accepted by [`verify`].
pub fn issue(secret: &[u8], stay_id: u64, guest_id: u64) -> String {
    format!("{stay_id}.{guest_id}.{}", signature(secret, stay_id, guest_id).unwrap_or_default())
}

/// Checks a token's signature and returns what it names; `None` for anything malformed, forged
/// or non-canonical (ids with signs or leading zeros, uppercase hex, extra segments), and always
/// `None` for an empty `secret`. Surrounding whitespace is ignored. The comparison is
/// constant-time.
pub fn verify(secret: &[u8], token: &str) -> Option<GuestTokenClaims> {
    if secret.is_empty() {
        return None;
    }
    let token = token.trim();
    let mut parts = token.splitn(3, '.');
    let stay_id = parts.next()?.parse::<u64>().ok()?;
    let guest_id = parts.next()?.parse::<u64>().ok()?;
    parts.next()?;
    // Compare the whole token with the canonical one, so only exactly what `issue` produced passes.
    let expected = format!("{stay_id}.{guest_id}.{}", signature(secret, stay_id, guest_id)?);
    bool::from(expected.as_bytes().ct_eq(token.as_bytes())).then_some(GuestTokenClaims { stay_id, guest_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"guest-secret";

    #[test]
    fn issue_and_verify() {
        let token = issue(SECRET, 7, 9);
        assert_eq!(verify(SECRET, &token), Some(GuestTokenClaims { stay_id: 7, guest_id: 9 }));
        assert_eq!(verify(SECRET, &format!(" {token}\n")), Some(GuestTokenClaims { stay_id: 7, guest_id: 9 }));
        let big = issue(SECRET, u64::MAX, 1);
        assert_eq!(verify(SECRET, &big), Some(GuestTokenClaims { stay_id: u64::MAX, guest_id: 1 }));
    }

    #[test]
    fn format_and_known_value() {
        let token = issue(SECRET, 7, 9);
        let (ids, sig) = token.rsplit_once('.').unwrap();
        assert_eq!(ids, "7.9");
        assert_eq!(sig.len(), 32);
        assert!(sig.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        // The signature is the HMAC of the documented message, truncated.
        let full = hmac_hex(SECRET, b"lobbybee-guest-token:7:9");
        assert_eq!(sig, &full[..32]);
        assert_ne!(issue(SECRET, 7, 9), issue(SECRET, 9, 7));
    }

    fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn wrong_or_empty_secret() {
        let token = issue(SECRET, 7, 9);
        assert_eq!(verify(b"other", &token), None);
        assert_eq!(verify(b"", &token), None);
        assert_eq!(verify(b"", &issue(b"", 7, 9)), None);
    }

    #[test]
    fn forged_ids() {
        let token = issue(SECRET, 7, 9);
        let sig = token.rsplit_once('.').unwrap().1;
        for forged in [format!("8.9.{sig}"), format!("7.8.{sig}"), format!("9.7.{sig}")] {
            assert_eq!(verify(SECRET, &forged), None, "{forged:?}");
        }
    }

    #[test]
    fn malformed_and_non_canonical() {
        let token = issue(SECRET, 7, 9);
        let sig = token.rsplit_once('.').unwrap().1;
        for bad in [
            String::new(),
            "7.9".to_owned(),
            "7.9.".to_owned(),
            format!("x.9.{sig}"),
            format!("-7.9.{sig}"),
            format!("+7.9.{sig}"),
            format!("07.9.{sig}"),
            format!("7.9.{}", sig.to_uppercase()),
            format!("7.9.{}", &sig[..31]),
            format!("7.9.{sig}0"),
            format!("{token}.x"),
            format!("7..9.{sig}"),
            format!("18446744073709551616.9.{sig}"),
            token.replace('.', ":"),
        ] {
            assert_eq!(verify(SECRET, &bad), None, "{bad:?}");
        }
    }
}
