//! WhatsApp number normalisation (docs/api.md §2).
//!
//! Guests are found by their WhatsApp number, and the same number reaches the system in many
//! spellings: typed by staff (`(123) 456-7890`), sent by a bridge (`+1 123 456 7890`), or as
//! WhatsApp's own `wa_id` (`11234567890`). Numbers are therefore stored canonically (`+` and 8–15
//! digits, country code first) and every lookup normalises its input first, so all those spellings
//! find the same guest. The default country code is one setting per stack, so a number normalises
//! the same way before its hotel is known.
//!
//! [`WhatsAppNumber`] deliberately does not implement `Deserialize`: normalising needs the stack's
//! default country code, so callers normalise explicitly with [`normalize`].

use serde::{Serialize, Serializer};

/// A canonical WhatsApp number: `+` followed by 8–15 digits, country code first.
///
/// The only way to build one is [`normalize`], so holding a value proves it is canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WhatsAppNumber(String);

/// The input is not a WhatsApp number (the 400 message of docs/api.md §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid WhatsApp number format")]
pub struct InvalidNumber;

impl WhatsAppNumber {
    /// The canonical form, e.g. `+919876543210`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`, e.g. `919876543210` (the form the WhatsApp Cloud API wants).
    pub fn digits(&self) -> &str {
        self.0.strip_prefix('+').unwrap_or(&self.0)
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

/// Normalises `input` to the canonical form (docs/api.md §2).
///
/// Spaces (any Unicode whitespace, so also the non-breaking spaces that copy-paste brings),
/// dashes, dots and parentheses are dropped; a leading `00` becomes `+`; with a leading `+` the
/// digits already include the country code; without one, exactly 10 digits get
/// `default_country_code` in front and 11–15 digits are taken as already international (WhatsApp's
/// `wa_id`). Anything else is [`InvalidNumber`]: letters or other symbols, a `+` anywhere but at the
/// start, fewer than 8 or more than 15 digits, a country code starting with `0`, and a 10-digit
/// national number when `default_country_code` is not a valid country code
/// ([`is_valid_country_code`]).
pub fn normalize(input: &str, default_country_code: &str) -> Result<WhatsAppNumber, InvalidNumber> {
    let compact: String =
        input.chars().filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')'))).collect();
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
        (false, 10) if is_valid_country_code(default_country_code) => format!("{default_country_code}{digits}"),
        (false, 11..=15) => digits.to_owned(),
        (false, _) => return Err(InvalidNumber),
    };
    if !(8..=15).contains(&full.len()) || full.starts_with('0') {
        return Err(InvalidNumber);
    }
    Ok(WhatsAppNumber(format!("+{full}")))
}

/// Whether `cc` can be a country calling code: 1–3 ASCII digits, not starting with `0`
/// (used to validate `DEFAULT_COUNTRY_CODE`; `+1` is not accepted, the setting is digits only).
pub fn is_valid_country_code(cc: &str) -> bool {
    (1..=3).contains(&cc.len()) && cc.bytes().all(|b| b.is_ascii_digit()) && !cc.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, cc: &str) -> String {
        match normalize(input, cc) {
            Ok(n) => n.to_string(),
            Err(_) => panic!("{input:?} should be valid with default country code {cc}"),
        }
    }

    #[test]
    fn contract_examples() {
        assert_eq!(ok("+1234567890", "1"), "+1234567890");
        assert_eq!(ok("(123) 456-7890", "1"), "+11234567890");
        assert_eq!(ok("16505551234", "1"), "+16505551234");
        assert_eq!(ok("+91 98765 43210", "1"), "+919876543210");
        assert_eq!(ok("0044 20 7946 0958", "1"), "+442079460958");
        assert_eq!(normalize("123", "1"), Err(InvalidNumber));
    }

    #[test]
    fn separators_are_dropped() {
        assert_eq!(ok("+1.650.555.1234", "1"), "+16505551234");
        assert_eq!(ok("+1 (650) 555-1234", "1"), "+16505551234");
        assert_eq!(ok(" 650\u{a0}555\t1234 ", "1"), "+16505551234");
        assert_eq!(ok("00 91-98765-43210", "1"), "+919876543210");
    }

    #[test]
    fn default_country_code_applies_to_ten_digits_only() {
        assert_eq!(ok("612 345 6789", "33"), "+336123456789");
        assert_eq!(ok("98765 43210", "91"), "+919876543210");
        assert_eq!(ok("2079460958", "44"), "+442079460958");
        assert_eq!(ok("919876543210", "33"), "+919876543210");
        assert_eq!(ok("+1234567890", "91"), "+1234567890");
        assert_eq!(ok("0044 20 7946 0958", "91"), "+442079460958");
        // A bad default country code never leaks into a canonical number.
        assert_eq!(normalize("6123456789", ""), Err(InvalidNumber));
        assert_eq!(normalize("6123456789", "3a"), Err(InvalidNumber));
        assert_eq!(normalize("6123456789", "+33"), Err(InvalidNumber));
        // ...but numbers that do not need it still normalise.
        assert_eq!(ok("+336123456789", ""), "+336123456789");
    }

    #[test]
    fn digit_count_limits() {
        assert_eq!(ok("+12345678", "1"), "+12345678");
        assert_eq!(ok("+123456789012345", "1"), "+123456789012345");
        assert_eq!(ok("123456789012345", "1"), "+123456789012345");
        assert_eq!(ok("00123456789012345", "1"), "+123456789012345");
        assert_eq!(normalize("+1234567", "1"), Err(InvalidNumber));
        assert_eq!(normalize("+1234567890123456", "1"), Err(InvalidNumber));
        assert_eq!(normalize("1234567890123456", "1"), Err(InvalidNumber));
        assert_eq!(normalize("123456789", "1"), Err(InvalidNumber));
        assert_eq!(normalize("12345678", "1"), Err(InvalidNumber));
    }

    #[test]
    fn invalid_inputs() {
        for bad in [
            "",
            "   ",
            "+",
            "00",
            "abc",
            "+1 800 FLOWERS",
            "+1650555123x",
            "++16505551234",
            "+0123456789",
            "+00 44 20 7946 0958",
            "000 44 20 7946 0958",
            "020 7946 09580",
            "1650+5551234",
            "16505551234+",
            "00+442079460958",
            "+1/650/555/1234",
            "+1_650_555_1234",
            "+１６５０５５５１２３４",
        ] {
            assert_eq!(normalize(bad, "1"), Err(InvalidNumber), "{bad:?}");
        }
        assert_eq!(InvalidNumber.to_string(), "Invalid WhatsApp number format");
    }

    #[test]
    fn accessors_and_serialisation() {
        let n = normalize("+91 98765 43210", "1").unwrap();
        assert_eq!(n.as_str(), "+919876543210");
        assert_eq!(n.digits(), "919876543210");
        assert_eq!(n.to_string(), "+919876543210");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"+919876543210\"");
        assert_eq!(n, normalize("0091-98765-43210", "1").unwrap());
    }

    #[test]
    fn country_codes() {
        for good in ["1", "44", "91", "351", "998"] {
            assert!(is_valid_country_code(good), "{good:?}");
        }
        for bad in ["", "0", "01", "1234", "+1", "1a", " 1", "١"] {
            assert!(!is_valid_country_code(bad), "{bad:?}");
        }
    }
}
