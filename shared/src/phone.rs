//! WhatsApp number normalisation (CONTRACT §1.2).
//!
//! Numbers are stored canonically (`+` and 8–15 digits) and every lookup normalises its input
//! first, so `(123) 456-7890`, `+1 123 456 7890` and WhatsApp's `wa_id` `11234567890` all find
//! the same guest.

use serde::{Serialize, Serializer};

/// A canonical WhatsApp number: `+` followed by 8–15 digits, country code first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WhatsAppNumber(String);

/// The input is not a WhatsApp number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid WhatsApp number format")]
pub struct InvalidNumber;

impl WhatsAppNumber {
    /// The canonical form, e.g. `+919876543210`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without `+` (the form the WhatsApp Cloud API wants).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl std::fmt::Display for WhatsAppNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for WhatsAppNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Normalises `input`; 10-digit numbers without `+` get `default_country_code` in front.
pub fn normalize(input: &str, default_country_code: &str) -> Result<WhatsAppNumber, InvalidNumber> {
    let compact: String =
        input.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect();
    let (international, digits) = if let Some(rest) = compact.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = compact.strip_prefix("00") {
        (true, rest)
    } else {
        (false, compact.as_str())
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidNumber);
    }
    let full = match (international, digits.len()) {
        (true, _) => digits.to_owned(),
        (false, 10) => format!("{default_country_code}{digits}"),
        (false, 11..=15) => digits.to_owned(),
        (false, _) => return Err(InvalidNumber),
    };
    if !(8..=15).contains(&full.len()) || full.starts_with('0') {
        return Err(InvalidNumber);
    }
    Ok(WhatsAppNumber(format!("+{full}")))
}

/// Whether `cc` can be a country calling code (1–3 digits, no leading zero).
pub fn is_valid_country_code(cc: &str) -> bool {
    (1..=3).contains(&cc.len()) && cc.bytes().all(|b| b.is_ascii_digit()) && !cc.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        normalize(input, "1").map(|n| n.to_string()).unwrap_or_else(|_| panic!("{input} should be valid"))
    }

    #[test]
    fn contract_examples() {
        assert_eq!(ok("+1234567890"), "+1234567890");
        assert_eq!(ok("(123) 456-7890"), "+11234567890");
        assert_eq!(ok("16505551234"), "+16505551234");
        assert_eq!(ok("+91 98765 43210"), "+919876543210");
        assert_eq!(ok("0044 20 7946 0958"), "+442079460958");
        assert_eq!(normalize("123", "1"), Err(InvalidNumber));
    }

    #[test]
    fn default_country_code_applies_to_ten_digits_only() {
        assert_eq!(normalize("612 345 6789", "33").unwrap().as_str(), "+336123456789");
        assert_eq!(normalize("919876543210", "33").unwrap().as_str(), "+919876543210");
        assert_eq!(normalize("+919876543210", "1").unwrap().digits(), "919876543210");
    }

    #[test]
    fn invalid_inputs() {
        for bad in [
            "",
            "+",
            "abc",
            "+1 800 FLOWERS",
            "12345678",
            "+1234567",
            "+1234567890123456",
            "++12345678",
            "+0123456789",
            "12+34567890",
            "1234567890123456",
        ] {
            assert_eq!(normalize(bad, "1"), Err(InvalidNumber), "{bad:?}");
        }
        assert_eq!(InvalidNumber.to_string(), "Invalid WhatsApp number format");
    }

    #[test]
    fn country_codes() {
        assert!(is_valid_country_code("1"));
        assert!(is_valid_country_code("351"));
        assert!(!is_valid_country_code("0"));
        assert!(!is_valid_country_code("1234"));
        assert!(!is_valid_country_code("+1"));
    }
}
