//! The public key of `JWT_PUBLIC_KEY`, read from its PEM text exactly as jsonwebtoken's own PEM
//! reader (`DecodingKey::from_rsa_pem`, `from_ec_pem`) reads it, without that reader's ASN.1
//! and date-parsing libraries in the binaries (docs/decisions.md, "Lambda binary size"). The
//! tests hold it to jsonwebtoken's reader, on valid keys and on mutated ones.
//!
//! Accepted, as before: `PUBLIC KEY` (an X.509 SubjectPublicKeyInfo), `RSA PUBLIC KEY` (PKCS#1,
//! RSA only) and `CERTIFICATE` (its subject's key). The whole DER text must parse; the key is the
//! first BIT STRING (or OCTET STRING) met in the outer SEQUENCEs, and the key type comes from the
//! first algorithm identifier met.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::DecodingKey;

/// `rsaEncryption`, `id-ecPublicKey` and `id-Ed25519`.
const RSA_OID: &[u128] = &[1, 2, 840, 113_549, 1, 1, 1];
const EC_OID: &[u128] = &[1, 2, 840, 10_045, 2, 1];
const ED25519_OID: &[u128] = &[1, 3, 101, 112];

/// The RSA public key of a PEM text.
pub(crate) fn rsa_public_key(pem: &[u8]) -> Option<DecodingKey> {
    let (tag, der) = pem_block(pem)?;
    let blocks = parse(&der)?;
    match tag.as_str() {
        "RSA PUBLIC KEY" => Some(DecodingKey::from_rsa_der(&der)),
        "PUBLIC KEY" | "CERTIFICATE" if classify(&blocks)? == RSA_OID => {
            first_bit_string(&blocks).map(DecodingKey::from_rsa_der)
        }
        _ => None,
    }
}

/// The EC public key (the encoded point) of a PEM text.
pub(crate) fn ec_public_key(pem: &[u8]) -> Option<DecodingKey> {
    let (tag, der) = pem_block(pem)?;
    let blocks = parse(&der)?;
    match tag.as_str() {
        "PUBLIC KEY" | "CERTIFICATE" if classify(&blocks)? == EC_OID => {
            first_bit_string(&blocks).map(DecodingKey::from_ec_der)
        }
        _ => None,
    }
}

/// The label and content of the first PEM block (the `pem` crate's framing: text up to
/// `-----BEGIN `, the label, the payload up to `-----END `, the same label; headers before a
/// blank line; whitespace dropped from the base64).
fn pem_block(input: &[u8]) -> Option<(String, Vec<u8>)> {
    let (input, _) = read_until(input, b"-----BEGIN ")?;
    let (input, begin) = read_until(input, b"-----")?;
    let (input, payload) = read_until(skip_whitespace(input), b"-----END ")?;
    let (_, end) = read_until(input, b"-----")?;
    let (headers, data) = read_until(payload, b"\n\n")
        .or_else(|| read_until(payload, b"\r\n\r\n"))
        .map_or((&[][..], payload), |(data, headers)| (headers, data));
    let (begin, end) = (std::str::from_utf8(begin).ok()?, std::str::from_utf8(end).ok()?);
    if begin.is_empty() || begin != end {
        return None;
    }
    let data: String = std::str::from_utf8(data).ok()?.chars().filter(|c| !c.is_whitespace()).collect();
    if !std::str::from_utf8(headers).ok()?.lines().all(|line| line.contains(':')) {
        return None;
    }
    Some((begin.to_owned(), STANDARD.decode(data).ok()?))
}

/// `input` after the first `marker`, and what came before it: the `pem` crate's own scan (which,
/// after a partial match, resumes at the next byte without looking back).
fn read_until<'a>(input: &'a [u8], marker: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let (mut index, mut found) = (0, 0);
    while input.len() - index >= marker.len() - found {
        found = if input[index] == marker[found] { found + 1 } else { 0 };
        index += 1;
        if found == marker.len() {
            return Some((&input[index..], &input[..index - found]));
        }
    }
    None
}

fn skip_whitespace(input: &[u8]) -> &[u8] {
    let start = input.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(input.len());
    &input[start..]
}

/// A DER element, as far as reading a key needs it.
enum Block<'a> {
    Sequence(Vec<Block<'a>>),
    ObjectId(Vec<u128>),
    /// A BIT STRING's bits or an OCTET STRING's bytes.
    Bytes(&'a [u8]),
    Other,
}

/// How deep SEQUENCEs and SETs may nest. A certificate nests six deep; the limit keeps a
/// malformed key of nested headers (two bytes a level) from exhausting the stack, where
/// jsonwebtoken's reader would recurse without end.
const MAX_DEPTH: usize = 32;

/// The DER elements of `der`, checked as the ASN.1 reader jsonwebtoken uses checks them: lengths,
/// booleans, bit strings, object identifiers, text strings and dates; an empty list fails.
fn parse(der: &[u8]) -> Option<Vec<Block<'_>>> {
    parse_nested(der, 0)
}

fn parse_nested(der: &[u8], depth: usize) -> Option<Vec<Block<'_>>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut blocks = Vec::new();
    let mut rest = der;
    while !rest.is_empty() {
        let (class, tag, after_tag) = read_tag(rest)?;
        let (len, after_len) = read_length(after_tag)?;
        let body = after_len.get(..len)?;
        rest = &after_len[len..];
        if class != 0 {
            // Tagged (explicitly or not): nothing a key reader descends into or checks.
            blocks.push(Block::Other);
            continue;
        }
        blocks.push(match tag {
            Some(0x01) if len != 1 => return None,
            Some(0x03) => match body.split_first() {
                None => Block::Bytes(&[]),
                Some((unused, bits)) if usize::from(*unused) <= bits.len() * 8 => Block::Bytes(bits),
                Some(_) => return None,
            },
            Some(0x04) => Block::Bytes(body),
            Some(0x06) => Block::ObjectId(object_id(body)?),
            Some(0x0C | 0x14 | 0x1C | 0x1E) => {
                std::str::from_utf8(body).ok()?;
                Block::Other
            }
            Some(0x13) => {
                let printable = |b: &u8| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(b);
                body.iter().all(printable).then_some(Block::Other)?
            }
            Some(0x10) => Block::Sequence(parse_nested(body, depth + 1)?),
            Some(0x11) => {
                parse_nested(body, depth + 1)?;
                Block::Other
            }
            Some(0x17) => utc_time(body).then_some(Block::Other)?,
            Some(0x18) => generalized_time(body).then_some(Block::Other)?,
            _ => Block::Other,
        });
    }
    (!blocks.is_empty()).then_some(blocks)
}

/// The arcs of an object identifier (the first byte holds two, the others are base-128 numbers).
fn object_id(body: &[u8]) -> Option<Vec<u128>> {
    let (&first, mut rest) = body.split_first()?;
    let mut arcs = match first {
        0..40 => vec![0, u128::from(first)],
        40..80 => vec![1, u128::from(first - 40)],
        _ => vec![2, u128::from(first - 80)],
    };
    while !rest.is_empty() {
        let (arc, after) = base128(rest)?;
        arcs.push(arc);
        rest = after;
    }
    Some(arcs)
}

/// A base-128 number (high bit: more digits follow), saturated; `None` when it does not end.
fn base128(mut input: &[u8]) -> Option<(u128, &[u8])> {
    let mut number: u128 = 0;
    loop {
        let (&byte, rest) = input.split_first()?;
        input = rest;
        number = number.saturating_mul(128) | u128::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Some((number, input));
        }
    }
}

/// The class and (universal, small) tag number of the element at `input`.
fn read_tag(input: &[u8]) -> Option<(u8, Option<u8>, &[u8])> {
    let (&first, rest) = input.split_first()?;
    let class = first >> 6;
    if first & 0x1F != 0x1F {
        return Some((class, Some(first & 0x1F), rest));
    }
    // A long tag: its number in base-128 digits.
    let (number, rest) = base128(rest)?;
    Some((class, u8::try_from(number).ok(), rest))
}

fn read_length(input: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first < 0x80 {
        return Some((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7F);
    if count > size_of::<usize>() {
        return None;
    }
    let digits = rest.get(..count)?;
    let len = digits.iter().fold(0usize, |len, byte| len.wrapping_shl(8) | usize::from(*byte));
    Some((len, &rest[count..]))
}

/// `YYMMDDHHMMSSZ`, a valid date and time (years 1950 to 2049).
fn utc_time(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else { return false };
    if body.len() != 13 || !text.is_char_boundary(2) {
        return false;
    }
    let Ok(yy) = text[..2].parse::<u8>() else { return false };
    let century = if yy >= 50 { "19" } else { "20" };
    date_time(format!("{century}{text}").as_bytes(), 14) && body[12] == b'Z'
}

/// `YYYYMMDDHHMMSS[.fraction]Z`, a valid date and time.
fn generalized_time(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else { return false };
    if body.len() < 15 || !text.is_ascii() {
        return false;
    }
    let mut text = text.to_owned();
    if !text.contains('.') {
        text.insert(14, '.');
    }
    while text.len() < 25 {
        text.insert(text.len() - 1, '0');
    }
    let bytes = text.as_bytes();
    date_time(bytes, 14)
        && bytes[14] == b'.'
        && bytes[15..bytes.len() - 1].iter().all(u8::is_ascii_digit)
        && bytes.ends_with(b"Z")
}

/// Whether `text[..14]` is `YYYYMMDDHHMMSS`, a valid calendar date and time.
fn date_time(text: &[u8], digits: usize) -> bool {
    let Some(head) = text.get(..digits) else { return false };
    if !head.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let number = |at: usize, len: usize| head[at..at + len].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let (year, month, day) = (number(0, 4), number(4, 2), number(6, 2));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && number(8, 2) < 24 && number(10, 2) < 60 && number(12, 2) < 60
}

/// The algorithm of the first key identifier met, depth first through the SEQUENCEs.
fn classify(blocks: &[Block<'_>]) -> Option<&'static [u128]> {
    for block in blocks {
        match block {
            Block::Sequence(inner) => {
                if let Some(oid) = classify(inner) {
                    return Some(oid);
                }
            }
            Block::ObjectId(arcs) => {
                if let Some(oid) = [EC_OID, RSA_OID, ED25519_OID].into_iter().find(|oid| *oid == arcs.as_slice()) {
                    return Some(oid);
                }
            }
            _ => {}
        }
    }
    None
}

/// The first BIT STRING or OCTET STRING, depth first through the SEQUENCEs.
fn first_bit_string<'a>(blocks: &[Block<'a>]) -> Option<&'a [u8]> {
    for block in blocks {
        match block {
            Block::Sequence(inner) => {
                if let Some(bytes) = first_bit_string(inner) {
                    return Some(bytes);
                }
            }
            Block::Bytes(bytes) => return Some(bytes),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[path = "pem_tests.rs"]
mod tests;
