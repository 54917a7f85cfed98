//! Webhook signatures: `sha256=<hex of HMAC-SHA256(secret, raw body)>`, Meta's
//! `X-Hub-Signature-256` and the simple format's `X-Signature-256` alike. Always computed over
//! the exact bytes received, and compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// The header value for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// Whether `header` is the signature of `body` under `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(value) = header.map(str::trim) else {
        return false;
    };
    let Some(hex_part) = value.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_part.to_ascii_lowercase()) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(body);
    m.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let sig = sign(b"s3cret", b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify(b"s3cret", b"{\"a\":1}", Some(&sig)));
        assert!(verify(
            b"s3cret",
            b"{\"a\":1}",
            Some(&format!(" {} ", sig.to_uppercase().replace("SHA256=", "sha256=")))
        ));
        assert!(!verify(b"other", b"{\"a\":1}", Some(&sig)));
        assert!(!verify(b"s3cret", b"{\"a\":2}", Some(&sig)));
        assert!(!verify(b"s3cret", b"{\"a\":1}", None));
        assert!(!verify(b"s3cret", b"{\"a\":1}", Some("sha256=zz")));
        assert!(!verify(b"s3cret", b"{\"a\":1}", Some(&sig[7..])));
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
