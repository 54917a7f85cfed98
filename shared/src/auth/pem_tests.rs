//! The PEM reader against jsonwebtoken's own (`DecodingKey::from_rsa_pem`, `from_ec_pem`): the
//! same keys, or the same refusals, on the test keys (RSA in both encodings, P-256, P-384,
//! Ed25519, RSA and EC certificates; made with openssl), on variations of their text, and on
//! thousands of mutations of their DER.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{DecodingKey, DecodingKeyKind};

use super::{ec_public_key, rsa_public_key};

const KEYS: [&str; 7] = [
    include_str!("../../testdata/keys/rsa-public.pem"),
    include_str!("../../testdata/keys/rsa-pkcs1-public.pem"),
    include_str!("../../testdata/keys/ec-public.pem"),
    include_str!("../../testdata/keys/p384-public.pem"),
    include_str!("../../testdata/keys/ed25519-public.pem"),
    include_str!("../../testdata/keys/rsa-cert.pem"),
    include_str!("../../testdata/keys/ec-cert.pem"),
];

fn bytes(key: &DecodingKey) -> &[u8] {
    match key.kind() {
        DecodingKeyKind::SecretOrDer(bytes) => bytes,
        DecodingKeyKind::RsaModulusExponent { .. } => panic!("not read from a PEM"),
    }
}

/// Both readers agree on `pem`: the same family and bytes, or both refuse. Returns whether they
/// accepted it (as RSA, as EC).
fn agree(pem: &[u8]) -> (bool, bool) {
    let mut accepted = (false, false);
    for (rsa, ours, theirs) in [
        (true, rsa_public_key(pem), DecodingKey::from_rsa_pem(pem)),
        (false, ec_public_key(pem), DecodingKey::from_ec_pem(pem)),
    ] {
        let text = String::from_utf8_lossy(pem);
        match (&ours, &theirs) {
            (Some(ours), Ok(theirs)) => {
                assert!(ours.family() == theirs.family() && bytes(ours) == bytes(theirs), "{text}");
                if rsa {
                    accepted.0 = true;
                } else {
                    accepted.1 = true;
                }
            }
            (None, Err(_)) => {}
            _ => panic!("ours {:?}, jsonwebtoken's {:?} on {text}", ours.is_some(), theirs.is_ok()),
        }
    }
    accepted
}

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn pem(tag: &str, der: &[u8]) -> String {
    format!("-----BEGIN {tag}-----\n{}\n-----END {tag}-----\n", STANDARD.encode(der))
}

#[test]
fn reads_the_keys_jsonwebtoken_reads() {
    let accepted: Vec<(bool, bool)> = KEYS.iter().map(|key| agree(key.as_bytes())).collect();
    // RSA (SPKI, PKCS#1), EC (P-256, P-384), Ed25519 (neither), certificates (RSA, EC).
    assert_eq!(
        accepted,
        [(true, false), (true, false), (false, true), (false, true), (false, false), (true, false), (false, true)]
    );
}

#[test]
fn the_text_around_and_inside_the_block_is_read_alike() {
    let rsa = KEYS[0];
    let body: String = rsa.lines().filter(|line| !line.starts_with("-----")).collect();
    let variations = [
        rsa.replace('\n', "\r\n"),
        format!("junk before\n{rsa}junk after"),
        format!("   \n{rsa}\n\n"),
        rsa.replace("-----BEGIN PUBLIC KEY-----\n", "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\n"),
        rsa.replace("-----BEGIN PUBLIC KEY-----\n", "-----BEGIN PUBLIC KEY-----\nnot a header\n\n"),
        rsa.replace("-----BEGIN PUBLIC KEY-----", "------BEGIN PUBLIC KEY-----"),
        rsa.replace("-----BEGIN PUBLIC KEY-----", "-----BEGIN  PUBLIC KEY-----"),
        rsa.replace("-----END PUBLIC KEY-----", "-----END RSA PUBLIC KEY-----"),
        rsa.replace("-----END PUBLIC KEY-----", ""),
        rsa.replace("PUBLIC KEY", ""),
        rsa.replace("PUBLIC KEY", "RSA PUBLIC KEY"),
        rsa.replace("PUBLIC KEY", "CERTIFICATE"),
        rsa.replace("PUBLIC KEY", "PUBLIC  KEY"),
        format!("-----BEGIN PUBLIC KEY-----{body}-----END PUBLIC KEY-----"),
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----", body.replace('A', "A \t")),
        format!("-----BEGIN PUBLIC KEY-----\n{}=\n-----END PUBLIC KEY-----", body),
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----", &body[..body.len() - 4]),
        format!("-----BEGIN PUBLIC KEY-----\n{}*\n-----END PUBLIC KEY-----", body),
        format!("-----BEGIN PUBLIC KEY-----\n{}\u{a0}\n-----END PUBLIC KEY-----", body),
        format!("{}{}", KEYS[2], rsa),
        String::new(),
        "not a key".to_owned(),
    ];
    for text in variations {
        agree(text.as_bytes());
    }
    agree(b"-----BEGIN PUBLIC KEY-----\n\xff\xfe\n-----END PUBLIC KEY-----\n");
}

#[test]
fn mutated_keys_are_refused_or_read_alike() {
    // A fixed xorshift sequence: the same mutations on every run.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for key in KEYS {
        let tag = key.lines().next().unwrap().trim_start_matches("-----BEGIN ").trim_end_matches("-----").to_owned();
        let original = der(key);
        for round in 0..600 {
            let mut der = original.clone();
            let at = (next() % der.len() as u64) as usize;
            match round % 4 {
                0 => der[at] ^= 1 << (next() % 8),
                1 => der[at] = next() as u8,
                2 => der.truncate(at),
                _ => der.insert(at, next() as u8),
            }
            agree(pem(&tag, &der).as_bytes());
        }
        // Every tag byte and length byte in turn, set to each interesting value.
        for at in 0..original.len().min(40) {
            for value in [
                0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x10, 0x13, 0x17, 0x18, 0x1F, 0x30, 0x31, 0x80, 0x81, 0xA0,
                0xFF,
            ] {
                let mut der = original.clone();
                der[at] = value;
                agree(pem(&tag, &der).as_bytes());
            }
        }
    }
}

#[test]
fn dates_and_strings_are_checked_alike() {
    // A certificate's validity and names, rewritten: one SEQUENCE holding the element and the
    // RSA key's SubjectPublicKeyInfo, so that jsonwebtoken's reader classifies it.
    let spki = der(KEYS[0]);
    let elements: [(u8, &[u8]); 22] = [
        (0x17, b"250101120000Z"),
        (0x17, b"490229120000Z"),
        (0x17, b"480229120000Z"),
        (0x17, b"251301120000Z"),
        (0x17, b"250101240000Z"),
        (0x17, b"250101125960Z"),
        (0x17, b"2501011200Z"),
        (0x17, b"25010112000+0"),
        (0x18, b"20250101120000Z"),
        (0x18, b"20250101120000.5Z"),
        (0x18, b"20250101120000.123456789Z"),
        (0x18, b"20250101120000.1234567891Z"),
        (0x18, b"2025010112000.0Z"),
        (0x18, b"20250101120000+0100"),
        (0x18, b"21000229120000Z"),
        (0x13, b"LobbyBee Test, O=1"),
        (0x13, b"under_score"),
        (0x0C, "Zoë".as_bytes()),
        (0x0C, b"\xc3\x28"),
        (0x16, b"\xff"),
        (0x01, b"\x01\x01"),
        (0x05, b"\x01"),
    ];
    for (tag, body) in elements {
        let mut inner = vec![tag, body.len() as u8];
        inner.extend_from_slice(body);
        inner.extend_from_slice(&spki);
        let mut der = vec![0x30, 0x82, (inner.len() >> 8) as u8, inner.len() as u8];
        der.extend_from_slice(&inner);
        agree(pem("CERTIFICATE", &der).as_bytes());
        agree(pem("PUBLIC KEY", &der).as_bytes());
    }
}

#[test]
fn deeply_nested_sequences_are_refused_without_exhausting_the_stack() {
    let spki = der(KEYS[0]);
    // A key wrapped in SEQUENCEs: within the limit it is still read, far past it refused.
    let wrap = |levels: usize| {
        let mut der = spki.clone();
        for _ in 0..levels {
            let mut outer = vec![0x30];
            match der.len() {
                len @ 0..0x80 => outer.push(len as u8),
                len @ 0x80..0x1_0000 => outer.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
                len => {
                    outer.extend_from_slice(&[0x84, (len >> 24) as u8, (len >> 16) as u8, (len >> 8) as u8, len as u8])
                }
            }
            outer.extend_from_slice(&der);
            der = outer;
        }
        pem("PUBLIC KEY", &der)
    };
    assert!(rsa_public_key(wrap(8).as_bytes()).is_some());
    assert!(rsa_public_key(wrap(2_000).as_bytes()).is_none());
    assert!(ec_public_key(wrap(2_000).as_bytes()).is_none());
}
