//! Webhook signatures (docs/api.md §3): `sha256=<lowercase hex of HMAC-SHA256(secret, raw body)>`.
//!
//! Meta signs its webhook POSTs this way in `X-Hub-Signature-256` with the app secret, and the
//! simple guest-webhook format uses `X-Signature-256` the same way with the webhook secret. The
//! signature is always computed over the exact bytes received (never over re-serialised JSON),
//! and compared in constant time so a forger learns nothing from response timing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of the header value, naming the hash.
const PREFIX: &str = "sha256=";

/// The header value for `body`: `sha256=` and 64 lowercase hex digits.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; were it ever to, the
    // value would be a bare `sha256=`, which `verify` never accepts.
    let hex = HmacSha256::new_from_slice(secret)
        .map(|mut mac| {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        })
        .unwrap_or_default();
    format!("{PREFIX}{hex}")
}

/// Whether `header` (the raw header value, if any) is the signature of `body` under `secret`.
///
/// Surrounding whitespace is ignored, and the `sha256=` prefix and the hex digits are matched
/// case-insensitively. `false` for a missing or malformed header, a truncated signature, and an
/// empty `secret` (an unconfigured secret never validates anything).
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(expected) = header.and_then(parse_header) else {
        return false;
    };
    if secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time and requires the full 32-byte tag.
    mac.verify_slice(&expected).is_ok()
}

/// The signature bytes of a `sha256=<hex>` header value.
fn parse_header(value: &str) -> Option<Vec<u8>> {
    let value = value.trim();
    let prefix = value.get(..PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    hex::decode(value.get(PREFIX.len()..)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"s3cret";
    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;

    #[test]
    fn round_trip() {
        let sig = sign(SECRET, BODY);
        assert!(sig.starts_with("sha256="));
        assert_eq!(sig.len(), 7 + 64);
        assert!(sig[7..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(verify(SECRET, BODY, Some(&sig)));
        assert!(verify(SECRET, BODY, Some(&format!("  {sig}\n"))));
        assert!(verify(SECRET, b"", Some(&sign(SECRET, b""))));
    }

    #[test]
    fn known_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn wrong_secret() {
        assert!(!verify(b"other", BODY, Some(&sign(SECRET, BODY))));
    }

    #[test]
    fn empty_secret_never_verifies() {
        assert!(!verify(b"", BODY, Some(&sign(b"", BODY))));
    }

    #[test]
    fn tampered_body() {
        let sig = sign(SECRET, BODY);
        let mut tampered = BODY.to_vec();
        tampered.push(b' ');
        assert!(!verify(SECRET, &tampered, Some(&sig)));
        assert!(!verify(SECRET, br#"{"object":"whatsapp_business_account","entry":[1]}"#, Some(&sig)));
    }

    #[test]
    fn missing_header() {
        assert!(!verify(SECRET, BODY, None));
        assert!(!verify(SECRET, BODY, Some("")));
        assert!(!verify(SECRET, BODY, Some("sha256=")));
    }

    #[test]
    fn malformed_headers() {
        let sig = sign(SECRET, BODY);
        let hex = &sig[7..];
        for bad in [
            "sha256=zz".to_owned(),
            format!("sha256={}", &hex[..63]),
            format!("sha256={}", &hex[..62]),
            format!("sha256={hex}00"),
            format!("sha1={hex}"),
            format!("sha256:{hex}"),
            format!("sha256= {hex}"),
            hex.to_owned(),
            "sha256é".to_owned(),
        ] {
            assert!(!verify(SECRET, BODY, Some(&bad)), "{bad:?}");
        }
    }

    #[test]
    fn uppercase_hex_and_prefix() {
        let sig = sign(SECRET, BODY);
        let upper_hex = format!("sha256={}", sig[7..].to_uppercase());
        assert!(verify(SECRET, BODY, Some(&upper_hex)));
        assert!(verify(SECRET, BODY, Some(&sig.to_uppercase())));
    }
}
