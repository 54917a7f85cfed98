//! Attacks from outside (docs/api.md §3, §6, §8): forged, stale, malformed and oversized staff
//! tokens at REST and at the socket handshake (also against RS256 and issuer/audience stacks),
//! forged, replayed, oversized and malformed guest-webhook posts, and a scan of the logs of a
//! full scenario for secrets. Every refusal is checked to have stored nothing.

use std::process::Command;

use hmac::{Hmac, Mac};
use lobbybee::auth::jwt::{JwtAlgorithm, JwtVerifier};
use lobbybee::auth::signature;
use lobbybee::store::PageDirection;
use lobbybee_e2e::client::{Answer, Socket, http, meta_payload, meta_webhook, rest, send, simple_webhook, webhook};
use lobbybee_e2e::fixtures::{TestHotel, token_for};
use lobbybee_e2e::openapi::check_answer;
use lobbybee_e2e::{Stack, gateway_with, run, secrets, stack, unique};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

// ---------------------------------------------------------------------------------------------
// Token crafting
// ---------------------------------------------------------------------------------------------

/// Test-only RSA key pair (a copy of `shared/testdata/keys/rsa-*.pem`, used by the unit tests of
/// `shared/src/auth/jwt.rs`).
const RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA01zPWp3Mbvy5QODLrf2o
1ss1tox6hHfg9nhWFsi2Vl05fq9YRCBW891AaZY+dDjsTNIyzN2aA2viCp8D33lI
gxFFndQk1X3VDpwIcM4mt5GZXnKyPW1XmL68st0C69hcMPcVaPBkx4f/dwEU7Jz2
RnLNYhWiUd2ycMgu8Xjt7CfM6ZtKQNpVwjSKUsPmt/JE4YH1ciJpdQQ8rNhsBSbi
5eISIBt8oRwWjf7t5FzwiliNcB5WzlO43hvo2o/3SIrddNLAxjeYNYy7Xg+lu2Ub
sdj86+yuhx8oQsdVygFYURa5DNcaVZMuNPFF8sOQ9t/YL8sL3X+nUzRlKtfxmVdj
wwIDAQAB
-----END PUBLIC KEY-----
";

const RSA_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDTXM9ancxu/LlA
4Mut/ajWyzW2jHqEd+D2eFYWyLZWXTl+r1hEIFbz3UBplj50OOxM0jLM3ZoDa+IK
nwPfeUiDEUWd1CTVfdUOnAhwzia3kZlecrI9bVeYvryy3QLr2Fww9xVo8GTHh/93
ARTsnPZGcs1iFaJR3bJwyC7xeO3sJ8zpm0pA2lXCNIpSw+a38kThgfVyIml1BDys
2GwFJuLl4hIgG3yhHBaN/u3kXPCKWI1wHlbOU7jeG+jaj/dIit100sDGN5g1jLte
D6W7ZRux2Pzr7K6HHyhCx1XKAVhRFrkM1xpVky408UXyw5D239gvywvdf6dTNGUq
1/GZV2PDAgMBAAECggEACHP0wv3+mA25ZvPWkX3Mi9KSsltJ5xRYReMoJj8es7OE
wiFHGWplr9kQY2ij1MgWAziA2ZqfNzXQU3ZqlDxofv1o2FgMpREkPTJWUBSejcbf
6FwT7sr5rt0p9MlL/ZyoizjGfWznyucQe3Tqnk/ktYqP1jVhSX7hTQtkfTnF4iTe
tlGlQPamFGxLJPl7BP2tG2qiYj3pmTU3s04EWBrZVVOthITEfp5v+YMx8R0peIWp
bvwOZ6SE17gzNbe7guu0xlEX3Y1VIKLl4gpvJMtTvcnyiF/335ifJSggV/O2424I
XbwcJv7FMWcw1dkcbwRBBb8i20hDyxFomXd7uMKIwQKBgQD1O3hkfuN3WNXESdRC
dWJN3zxb6dDx+6gpQ5Iuoerlc1c0mhgVtMU0nTOEABfAESa005IAG9G5v6Ksflbt
IVNl7/SiAVh/A3kVh+AOyjgXscwSWqpPAWbyhPdrPOgoSMf/lhHYbSb4BQHAN4nd
RS36MgFi58jXBfhIG5UN7KD94QKBgQDcpKCL1uA0W0TVu+i1HH/v3qWIpbBSisNs
JQdfdqb/Fzep1eG0JP8EU4ZpkYgJum1VRr5oHMh4A7UEseMpvD5ubud6na93KOSd
1V+gZN83RFqh3hQmVCaz9MZ9o3Wy/1RPzgsauxwzC3dcm3ythzzZ/Jmk0RM0Yjb4
JsrUzf5uIwKBgQCxip+r6i2WXytMU8MnZkKIbEEPriTGvFJPpYr01ebwvWN6QsGD
HX/UiqccPtDzDbe/HJlMGNfqqbIFPeaDASiW2XV7wIuoUQRdsSRmsMKRbPh4pUk9
r58vn1JdQhg16hNZl/VNgiC/WSieV9co6gfSZleYmoROIBVTZxyvmwwnIQKBgHCK
uCkbzPhnpVCvrB7VDpy3IA/3E1zG0q8SpBQZXUy39vh1084jIMCAKgsm5BCyOppI
n05TgB1XJrniUlAzaFTD1OZCEAHjpdirwT76tLBn+SKfN//k5Gjd7XCgM6S9f6/F
FPzpe5S9wIBH/uw0EuHNakEbM4SApDEm+EZbW++pAoGBAMKMAKHvFOJZPdZcX43z
IYYi9vT5HTwfuqk1p7zfI7Eg5MDLJODzLfpZBg/DWCVxjo8SQ6jP8TO9oRFBQPHp
L//k9ch/j2Ynm/wXUZFVIVlPphnpG/Cxy3Vg4zw8cjMgGwHUJMDly4PZVqK511my
9cNnk7ueSfImzUrU7++HGv0U
-----END PRIVATE KEY-----
";

/// The header of the CRM's tokens.
const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Base64url without padding (RFC 7515 §2), the encoding of every JWT segment.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// `signing_input.signature`, the signature being HMAC-SHA256 of the exact `signing_input` text.
fn hmac_signed(signing_input: &str, secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(&mac.finalize().into_bytes()))
}

/// An HS256-signed token with exactly this header text and these claims.
fn hs256(header: &str, claims: &Value, secret: &[u8]) -> String {
    hmac_signed(&format!("{}.{}", b64url(header.as_bytes()), b64url(claims.to_string().as_bytes())), secret)
}

/// A token the test stack accepts, but for the `claims`.
fn stack_token(claims: &Value) -> String {
    hs256(HS256_HEADER, claims, secrets::JWT.as_bytes())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The hotel CRM's access-token claims for `user_id` (docs/api.md §3).
fn crm_claims(user_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "token_type": "access",
        "exp": now() + 3600,
        "iat": now(),
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    })
}

/// `claims` with `key` set to `value` (`null` included).
fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// `claims` without `key`.
fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("claims are an object").remove(key);
    claims
}

/// `segment` with `bad` in place of its character at `at` (or inserted there when `insert`).
fn corrupt(segment: &str, at: usize, bad: char, insert: bool) -> String {
    let skip = usize::from(!insert);
    format!("{}{bad}{}", &segment[..at], &segment[at + skip..])
}

// ---------------------------------------------------------------------------------------------
// Token checks
// ---------------------------------------------------------------------------------------------

fn token_not_valid() -> Value {
    json!({"detail": "Given token not valid for any token type", "code": "token_not_valid"})
}

/// `GET {base}/api/chat/conversations/` with `Authorization: Bearer <token>`.
async fn inbox(base: &str, token: &str) -> Answer {
    send(http().get(format!("{base}/api/chat/conversations/")).bearer_auth(token)).await
}

/// The socket handshake `/?token=<token>` (the token form-encoded, as a browser would).
async fn handshake(ws_base: &str, token: &str) -> Result<Socket, u16> {
    let query = serde_urlencoded::to_string([("token", token)]).expect("query string");
    Socket::connect_to(ws_base, &format!("/?{query}")).await
}

/// The socket handshake with `Authorization: Bearer <token>` instead of the query parameter.
async fn handshake_with_header(ws_base: &str, token: &str) -> Result<(), u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let mut request = format!("{ws_base}/").into_client_request().expect("handshake request");
    let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
    request.headers_mut().insert("authorization", value);
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut stream, _)) => {
            let _ = stream.close(None).await;
            Ok(())
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("websocket connect to {ws_base} failed: {e}"),
    }
}

/// The status line of a raw WebSocket upgrade request for `path_and_query`: for a request line
/// longer than HTTP clients will build (the `http` crate refuses URIs over 64 KB).
async fn raw_handshake_status(http_base: &str, path_and_query: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = http_base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect to the gateway");
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("send the upgrade request");
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(lobbybee_e2e::WAIT, tcp.read(&mut answer))
        .await
        .expect("timed out waiting for the handshake answer")
        .expect("read the handshake answer");
    let text = String::from_utf8_lossy(&answer[..read]);
    text.lines().next().unwrap_or_default().to_owned()
}

/// A gateway's HTTP and WebSocket bases.
struct Target {
    http: String,
    ws: String,
}

impl Target {
    fn stack(stack: &Stack) -> Target {
        Target { http: stack.gateway.http_base(), ws: stack.gateway.ws_url() }
    }

    fn gateway(gateway: &lobbybee_local::gateway::Gateway) -> Target {
        Target { http: gateway.http_base(), ws: gateway.ws_url() }
    }

    /// `token` is refused at REST (401 `token_not_valid`) and at the handshake (401), in the
    /// query parameter and in the header.
    async fn refuses(&self, label: &str, token: &str) {
        self.refuses_at_rest(label, token).await;
        assert_eq!(handshake(&self.ws, token).await.err(), Some(401), "handshake (query), {label}");
        assert_eq!(handshake_with_header(&self.ws, token).await.err(), Some(401), "handshake (header), {label}");
    }

    async fn refuses_at_rest(&self, label: &str, token: &str) {
        let answer = inbox(&self.http, token).await;
        assert_eq!((answer.status, &answer.body), (401, &token_not_valid()), "REST, {label}: {}", answer.text);
        check_answer("GET", "conversations/", &answer);
    }

    /// `token` opens the inbox (200) and a socket: the attacks' tokens differ from it in one defect.
    async fn accepts(&self, label: &str, token: &str) {
        let answer = inbox(&self.http, token).await;
        assert_eq!(answer.status, 200, "REST, {label}: {}", answer.text);
        check_answer("GET", "conversations/", &answer);
        let socket =
            handshake(&self.ws, token).await.unwrap_or_else(|s| panic!("handshake (query), {label}: refused with {s}"));
        socket.close().await;
        let header = handshake_with_header(&self.ws, token).await;
        assert_eq!(header, Ok(()), "handshake (header), {label}");
    }
}

/// No connection record was stored for `user_id`.
async fn no_connection(stack: &Stack, user_id: &str) {
    let stored = stack.app.store.staff_connections(user_id).await.expect("read connections");
    assert!(stored.is_empty(), "a refused handshake stored a connection for {user_id}: {stored:?}");
}

#[test]
fn forbidden_algorithms_and_bad_signatures_are_refused_and_store_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let target = Target::stack(stack);
        let victim = &hotel.reception.user_id;
        target.accepts("control: crafted CRM token", &stack_token(&crm_claims(&hotel.reception2.user_id))).await;

        let claims = crm_claims(victim);
        let unsigned =
            |header: &str| format!("{}.{}.", b64url(header.as_bytes()), b64url(claims.to_string().as_bytes()));
        let valid = stack_token(&claims);
        let (signing_input, _) = valid.rsplit_once('.').expect("three parts");
        let someone_else = stack_token(&crm_claims(&hotel.manager.user_id));
        let swapped = format!(
            "{}.{}.{}",
            b64url(HS256_HEADER.as_bytes()),
            b64url(crm_claims(&hotel.manager.user_id).to_string().as_bytes()),
            valid.rsplit_once('.').expect("three parts").1
        );
        lobbybee::auth::jwt_crypto::install();
        let other_alg = |alg: jsonwebtoken::Algorithm| {
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(alg),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secrets::JWT.as_bytes()),
            )
            .expect("encode")
        };
        let cases = vec![
            ("alg none, empty signature", unsigned(r#"{"alg":"none","typ":"JWT"}"#)),
            ("alg None", unsigned(r#"{"alg":"None","typ":"JWT"}"#)),
            ("alg NONE", unsigned(r#"{"alg":"NONE"}"#)),
            ("no alg", unsigned(r#"{"typ":"JWT"}"#)),
            (
                "alg none with the real signature",
                format!("{}{}", unsigned(r#"{"alg":"none"}"#), &valid[valid.rfind('.').expect("dot") + 1..]),
            ),
            ("HS384 with the stack secret", other_alg(jsonwebtoken::Algorithm::HS384)),
            ("HS512 with the stack secret", other_alg(jsonwebtoken::Algorithm::HS512)),
            ("HS256 with the wrong secret", hs256(HS256_HEADER, &claims, b"not-the-secret")),
            ("HS256 with an empty secret", hs256(HS256_HEADER, &claims, b"")),
            ("HS256 with the webhook secret", hs256(HS256_HEADER, &claims, secrets::WEBHOOK.as_bytes())),
            ("signature stripped", format!("{signing_input}.")),
            ("claims swapped under a valid signature", swapped),
            (
                "signature of another token",
                format!("{signing_input}.{}", someone_else.rsplit_once('.').expect("dot").1),
            ),
        ];
        for (label, token) in &cases {
            target.refuses(label, token).await;
        }
        no_connection(stack, victim).await;
        no_connection(stack, &hotel.manager.user_id).await;
    });
}

#[test]
fn stale_and_wrong_kind_tokens_are_refused_and_store_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let target = Target::stack(stack);
        let victim = &hotel.reception.user_id;
        let claims = || crm_claims(victim);
        // Controls: within the 30 s leeway, and a numeric user id, are accepted.
        let control = &hotel.reception2.user_id;
        target
            .accepts("control: exp 10 s ago", &stack_token(&with(crm_claims(control), "exp", json!(now() - 10))))
            .await;
        let numeric: u64 = control.parse().expect("fixture ids are numeric");
        target
            .accepts("control: numeric user_id", &stack_token(&with(crm_claims(control), "user_id", json!(numeric))))
            .await;

        let cases = vec![
            ("expired beyond the leeway (exp = now - 120)", with(claims(), "exp", json!(now() - 120))),
            ("expired long ago (exp = 0)", with(claims(), "exp", json!(0))),
            ("no exp", without(claims(), "exp")),
            ("exp not a number", with(claims(), "exp", json!("tomorrow"))),
            ("refresh token", with(claims(), "token_type", json!("refresh"))),
            ("token_type null", with(claims(), "token_type", Value::Null)),
            ("token_type Access (case)", with(claims(), "token_type", json!("Access"))),
            ("token_type a number", with(claims(), "token_type", json!(1))),
            ("no user_id", without(claims(), "user_id")),
            ("empty user_id", with(claims(), "user_id", json!(""))),
            ("blank user_id", with(claims(), "user_id", json!("   "))),
            ("user_id null", with(claims(), "user_id", Value::Null)),
            ("user_id negative", with(claims(), "user_id", json!(-1))),
            ("user_id fractional", with(claims(), "user_id", json!(1.5))),
            ("user_id an object", with(claims(), "user_id", json!({"id": victim}))),
            ("claims an array", json!([victim])),
        ];
        for (label, claims) in &cases {
            target.refuses(label, &stack_token(claims)).await;
        }
        no_connection(stack, victim).await;
    });
}

#[test]
fn a_token_without_token_type_or_not_valid_yet_is_refused() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let target = Target::stack(stack);
        let token = stack_token(&without(crm_claims(&hotel.reception.user_id), "token_type"));
        target.refuses("no token_type", &token).await;
        let mut early = crm_claims(&hotel.reception.user_id);
        early["nbf"] = json!(now() + 3600);
        target.refuses("nbf an hour ahead", &stack_token(&early)).await;
        assert!(stack.app.store.staff_connections(&hotel.reception.user_id).await.unwrap().is_empty());
    });
}

#[test]
fn malformed_tokens_are_refused_and_store_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let target = Target::stack(stack);
        let victim = &hotel.reception.user_id;
        let secret = secrets::JWT.as_bytes();
        let header = b64url(HS256_HEADER.as_bytes());
        let claims = b64url(crm_claims(victim).to_string().as_bytes());
        let valid = hmac_signed(&format!("{header}.{claims}"), secret);
        let signature = valid.rsplit_once('.').expect("three parts").1.to_owned();
        // Each part made invalid base64url (a character outside the alphabet, inserted or in
        // place of one); the header and claims variants are correctly signed over what is sent.
        let mut cases: Vec<(String, String)> = Vec::new();
        for (bad, insert) in [('*', true), ('+', false), ('=', true)] {
            let what = if insert { "inserted" } else { "replacing a character" };
            let h = corrupt(&header, 8, bad, insert);
            cases.push((format!("header with {bad:?} {what}"), hmac_signed(&format!("{h}.{claims}"), secret)));
            let c = corrupt(&claims, 12, bad, insert);
            cases.push((format!("claims with {bad:?} {what}"), hmac_signed(&format!("{header}.{c}"), secret)));
            let s = corrupt(&signature, 10, bad, insert);
            cases.push((format!("signature with {bad:?} {what}"), format!("{header}.{claims}.{s}")));
        }
        let not_json = hmac_signed(&format!("{header}.{}", b64url(b"not json")), secret);
        let extra = format!("{valid}.{signature}");
        for (label, token) in [
            ("two parts (signature dropped)", format!("{header}.{claims}")),
            ("one part", header.clone()),
            ("four parts", extra),
            ("empty parts", "..".to_owned()),
            ("claims not JSON, correctly signed", not_json),
            ("header not JSON", format!("{}.{claims}.{signature}", b64url(b"{alg:HS256"))),
            ("garbage", "not-a-jwt".to_owned()),
        ] {
            cases.push((label.to_owned(), token));
        }
        for (label, token) in &cases {
            target.refuses(label, token).await;
        }
        no_connection(stack, victim).await;
    });
}

#[test]
fn tokens_over_8_kb_are_refused_and_store_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let target = Target::stack(stack);
        let victim = &hotel.reception.user_id;
        let padded = |user: &str, bytes: usize| stack_token(&with(crm_claims(user), "pad", json!("x".repeat(bytes))));
        let under = padded(&hotel.reception2.user_id, 5_000);
        assert!(under.len() < 8 * 1024, "{}", under.len());
        target.accepts("control: a valid token of 7 KB", &under).await;
        let over = padded(victim, 6_500);
        assert!(over.len() > 8 * 1024 && over.len() < 9 * 1024, "{}", over.len());
        target.refuses("a valid token just over 8 KB", &over).await;
        no_connection(stack, victim).await;
    });
}

#[test]
fn a_100_kb_token_is_refused_and_stores_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let target = Target::stack(stack);
        let victim = &hotel.reception.user_id;
        let token = stack_token(&with(crm_claims(victim), "pad", json!("x".repeat(77_000))));
        assert!(token.len() >= 100 * 1024, "{}", token.len());
        let label = "a correctly signed 100 KB token";
        target.refuses_at_rest(label, &token).await;
        assert_eq!(handshake_with_header(&target.ws, &token).await.err(), Some(401), "handshake (header), {label}");
        // In the query, the request line is over what HTTP servers take: the gateway's server
        // refuses it (414) before any handler runs. Refused, whatever the status.
        let status = raw_handshake_status(&target.http, &format!("/?token={token}")).await;
        let code: u16 = status.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_default();
        assert!((400..500).contains(&code), "handshake (query), {label}: {status}");
        no_connection(stack, victim).await;
    });
}

#[test]
fn a_valid_token_of_an_unknown_user_is_user_not_found() {
    run(async {
        let stack = stack().await;
        let nobody = unique().to_string();
        let answer = rest(stack, Method::GET, "conversations/", Some(&token_for(&nobody)), None).await;
        assert_eq!(
            (answer.status, &answer.body),
            (401, &json!({"detail": "User not found", "code": "user_not_found"})),
            "{}",
            answer.text
        );
        check_answer("GET", "conversations/", &answer);
        let ws = stack.gateway.ws_url();
        assert_eq!(handshake(&ws, &token_for(&nobody)).await.err(), Some(401), "handshake (query)");
        assert_eq!(handshake_with_header(&ws, &token_for(&nobody)).await.err(), Some(401), "handshake (header)");
        no_connection(stack, &nobody).await;
    });
}

#[test]
fn an_rs256_stack_refuses_hs256_tokens_keyed_with_its_public_key() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let verifier = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).expect("RS256 verifier");
        let gateway = gateway_with(move |config| config.jwt = Some(verifier)).await;
        let target = Target::gateway(&gateway);
        lobbybee::auth::jwt_crypto::install();
        let rs256 = |claims: &Value| {
            let key = jsonwebtoken::EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).expect("RSA private key");
            jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), claims, &key)
                .expect("RS256 token")
        };
        target.accepts("control: RS256 token", &rs256(&crm_claims(&hotel.reception2.user_id))).await;

        let victim = &hotel.reception.user_id;
        let claims = crm_claims(victim);
        let rs_header = r#"{"alg":"RS256","typ":"JWT"}"#;
        let cases = vec![
            ("HS256 keyed with the public key PEM", hs256(HS256_HEADER, &claims, RSA_PUBLIC.as_bytes())),
            ("HS256 keyed with the trimmed PEM", hs256(HS256_HEADER, &claims, RSA_PUBLIC.trim().as_bytes())),
            (
                "HS256 keyed with the PEM, CRLF",
                hs256(HS256_HEADER, &claims, RSA_PUBLIC.replace('\n', "\r\n").as_bytes()),
            ),
            ("HS256 token of the HS256 stack", token_for(victim)),
            ("RS256 header over an HMAC with the public key", hs256(rs_header, &claims, RSA_PUBLIC.as_bytes())),
            ("alg none", format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(claims.to_string().as_bytes()))),
            ("RS256, expired", rs256(&with(claims.clone(), "exp", json!(now() - 120)))),
            ("RS256, refresh token", rs256(&with(claims.clone(), "token_type", json!("refresh")))),
        ];
        for (label, token) in &cases {
            target.refuses(label, token).await;
        }
        no_connection(stack, victim).await;
        gateway.shutdown().await;
    });
}

#[test]
fn a_configured_issuer_and_audience_are_enforced() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let (issuer, audience) = ("https://crm.lobbybee.example", "lobbybee-chat");
        let verifier = JwtVerifier::new(JwtAlgorithm::Hs256, secrets::JWT, Some(issuer.into()), Some(audience.into()))
            .expect("HS256 verifier");
        let gateway = gateway_with(move |config| config.jwt = Some(verifier)).await;
        let target = Target::gateway(&gateway);
        let scoped = |user: &str| with(with(crm_claims(user), "iss", json!(issuer)), "aud", json!(audience));
        target.accepts("control: iss and aud", &stack_token(&scoped(&hotel.reception2.user_id))).await;
        let control = with(scoped(&hotel.reception2.user_id), "aud", json!(["crm", audience]));
        target.accepts("control: aud list naming ours", &stack_token(&control)).await;

        let victim = &hotel.reception.user_id;
        let cases = vec![
            ("other issuer", with(scoped(victim), "iss", json!("https://evil.example"))),
            ("issuer differing in case", with(scoped(victim), "iss", json!(issuer.to_uppercase()))),
            ("no issuer", without(scoped(victim), "iss")),
            ("other audience", with(scoped(victim), "aud", json!("lobbybee-crm"))),
            ("audience list without ours", with(scoped(victim), "aud", json!(["crm", "billing"]))),
            ("no audience", without(scoped(victim), "aud")),
            ("neither", crm_claims(victim)),
        ];
        for (label, claims) in &cases {
            target.refuses(label, &stack_token(claims)).await;
        }
        no_connection(stack, victim).await;
        gateway.shutdown().await;
    });
}

// ---------------------------------------------------------------------------------------------
// Webhook attacks
// ---------------------------------------------------------------------------------------------

const JSON: &str = "application/json";

/// A fresh WhatsApp message id.
fn wamid() -> String {
    format!("wamid.attack{}", unique())
}

/// A Meta text message from `hotel.guest`.
fn meta_text(hotel: &TestHotel, wamid: &str, text: &str) -> String {
    meta_payload(&hotel.phone_number_id, lobbybee_e2e::client::meta_text(&hotel.guest.number, wamid, text))
}

/// POSTs `body` with `content_type` and, when given, the signature of `secret` in `header`.
async fn post(stack: &Stack, body: &[u8], content_type: Option<&str>, signed: Option<(&str, &str)>) -> Answer {
    let mut headers = Vec::new();
    if let Some(content_type) = content_type {
        headers.push(("content-type", content_type.to_owned()));
    }
    if let Some((header, secret)) = signed {
        headers.push((header, signature::sign(secret.as_bytes(), body)));
    }
    webhook(stack, body, &headers).await
}

/// A simple-format body signed with the webhook secret.
async fn simple_signed(stack: &Stack, body: &[u8], content_type: Option<&str>) -> Answer {
    post(stack, body, content_type, Some(("x-signature-256", secrets::WEBHOOK))).await
}

/// A Meta body signed with the app secret.
async fn meta_signed(stack: &Stack, body: &[u8]) -> Answer {
    post(stack, body, Some(JSON), Some(("x-hub-signature-256", secrets::APP))).await
}

/// Checks a webhook answer against docs/openapi.yaml.
fn documented(answer: &Answer) {
    check_answer("POST", "guest-webhook/", answer);
}

/// The guest's active conversations and the messages stored in them.
async fn stored(stack: &Stack, guest_id: u64) -> (usize, usize) {
    let record = stack.app.store.guest_record(guest_id).await.expect("read guest").expect("guest exists");
    let mut messages = 0;
    for (_, conversation) in &record.active {
        let page = stack.app.store.messages(*conversation, PageDirection::Latest, 500).await.expect("messages");
        messages += page.messages.len();
    }
    (record.active.len(), messages)
}

/// Request headers for [`webhook`].
type Headers = Vec<(&'static str, String)>;

fn invalid_signature() -> Value {
    json!({"error": "Invalid signature"})
}

#[test]
fn unsigned_forged_and_reserialised_webhooks_are_401_and_store_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let simple = json!({"whatsapp_number": hotel.guest.number, "message": "A forged message"}).to_string();
        let simple = simple.as_bytes();
        let good = signature::sign(secrets::WEBHOOK.as_bytes(), simple);
        let hex = good.trim_start_matches("sha256=").to_owned();
        let meta_compact = meta_text(&hotel, &wamid(), "A forged Meta message");
        let parsed: Value = serde_json::from_str(&meta_compact).expect("Meta JSON");
        let pretty = serde_json::to_string_pretty(&parsed).expect("pretty JSON");
        let reserialised = serde_json::to_string(&serde_json::from_str::<Value>(&pretty).expect("JSON")).expect("JSON");
        assert_ne!(pretty, reserialised, "the attack needs bytes that differ from the re-serialised JSON");
        let pretty = pretty.as_bytes();
        let sig = |header: &'static str, value: String| vec![("content-type", JSON.to_owned()), (header, value)];
        let simple_sig = |value: String| sig("x-signature-256", value);
        let meta_sig = |value: String| sig("x-hub-signature-256", value);
        let cases: Vec<(&str, &[u8], Headers)> = vec![
            ("simple, unsigned", simple, vec![("content-type", JSON.to_owned())]),
            ("simple, wrong secret", simple, simple_sig(signature::sign(b"not-the-secret", simple))),
            (
                "simple, signature of other bytes",
                simple,
                simple_sig(signature::sign(secrets::WEBHOOK.as_bytes(), b"{}")),
            ),
            ("simple, truncated signature", simple, simple_sig(good[..good.len() - 2].to_owned())),
            ("simple, bare prefix", simple, simple_sig("sha256=".to_owned())),
            ("simple, hex without the prefix", simple, simple_sig(hex.clone())),
            ("simple, sha1= prefix", simple, simple_sig(format!("sha1={hex}"))),
            ("simple, empty header", simple, simple_sig(String::new())),
            ("Meta, unsigned", pretty, vec![("content-type", JSON.to_owned())]),
            ("Meta, wrong secret", pretty, meta_sig(signature::sign(b"not-the-secret", pretty))),
            (
                "Meta, signed over the re-serialised JSON",
                pretty,
                meta_sig(signature::sign(secrets::APP.as_bytes(), reserialised.as_bytes())),
            ),
        ];
        for (label, body, headers) in &cases {
            let answer = webhook(stack, body, headers).await;
            assert_eq!((answer.status, &answer.body), (401, &invalid_signature()), "{label}: {}", answer.text);
            documented(&answer);
        }
        assert_eq!(stored(stack, hotel.guest.id).await, (0, 0), "a refused post stored something");

        // Controls: the same bytes, signed as documented, are accepted.
        let meta = meta_signed(stack, pretty).await;
        assert_eq!((meta.status, &meta.body), (200, &json!({"success": true})), "{}", meta.text);
        let ok = simple_signed(stack, simple, Some(JSON)).await;
        assert_eq!(ok.status, 201, "{}", ok.text);
        assert_eq!(stored(stack, hotel.guest.id).await, (1, 2));
    });
}

#[test]
fn a_signature_under_the_other_formats_header_is_401_and_stores_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let simple = json!({"whatsapp_number": hotel.guest.number, "message": "Wrong header"}).to_string();
        let meta = meta_text(&hotel, &wamid(), "Wrong header");
        let both = |body: &str, simple_secret: &str, hub_secret: &str| {
            vec![
                ("content-type", JSON.to_owned()),
                ("x-signature-256", signature::sign(simple_secret.as_bytes(), body.as_bytes())),
                ("x-hub-signature-256", signature::sign(hub_secret.as_bytes(), body.as_bytes())),
            ]
        };
        let one = |body: &str, header: &'static str, secret: &str| {
            vec![("content-type", JSON.to_owned()), (header, signature::sign(secret.as_bytes(), body.as_bytes()))]
        };
        let cases = vec![
            ("Meta body, app-secret signature in X-Signature-256", &meta, one(&meta, "x-signature-256", secrets::APP)),
            (
                "Meta body, webhook-secret signature in X-Signature-256",
                &meta,
                one(&meta, "x-signature-256", secrets::WEBHOOK),
            ),
            (
                "Meta body, webhook-secret signature in X-Hub-Signature-256",
                &meta,
                one(&meta, "x-hub-signature-256", secrets::WEBHOOK),
            ),
            (
                "Meta body, right X-Signature-256 and wrong X-Hub-Signature-256",
                &meta,
                both(&meta, secrets::APP, "not-the-secret"),
            ),
            (
                "simple body, webhook-secret signature in X-Hub-Signature-256",
                &simple,
                one(&simple, "x-hub-signature-256", secrets::WEBHOOK),
            ),
            (
                "simple body, app-secret signature in X-Hub-Signature-256",
                &simple,
                one(&simple, "x-hub-signature-256", secrets::APP),
            ),
            (
                "simple body, app-secret signature in X-Signature-256",
                &simple,
                one(&simple, "x-signature-256", secrets::APP),
            ),
            (
                "simple body, wrong X-Signature-256 and right X-Hub-Signature-256",
                &simple,
                both(&simple, "not-the-secret", secrets::WEBHOOK),
            ),
        ];
        for (label, body, headers) in &cases {
            let answer = webhook(stack, body.as_bytes(), headers).await;
            assert_eq!((answer.status, &answer.body), (401, &invalid_signature()), "{label}: {}", answer.text);
            documented(&answer);
        }
        assert_eq!(stored(stack, hotel.guest.id).await, (0, 0), "a refused post stored something");
        assert_eq!(meta_webhook(stack, &meta).await.status, 200, "control: the Meta body under its own header");
        assert_eq!(simple_signed(stack, simple.as_bytes(), Some(JSON)).await.status, 201, "control: the simple body");
        assert_eq!(stored(stack, hotel.guest.id).await, (1, 2));
    });
}

#[test]
fn a_replayed_wamid_stores_and_pushes_one_message() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut staff = Socket::staff(stack, &hotel.reception.token, None).await;
        let id = wamid();
        let raw = meta_text(&hotel, &id, "Only once, please");
        for attempt in 0..3 {
            let answer = meta_webhook(stack, &raw).await;
            assert_eq!((answer.status, &answer.body), (200, &json!({"success": true})), "attempt {attempt}");
            documented(&answer);
        }
        // The same wamid with other content, freshly and correctly signed.
        let altered = meta_webhook(stack, &meta_text(&hotel, &id, "Changed by a replay")).await;
        assert_eq!(altered.status, 200);
        assert_eq!(stored(stack, hotel.guest.id).await, (1, 1), "one message for one wamid");
        let record = stack.app.store.guest_record(hotel.guest.id).await.expect("read").expect("guest");
        let conversation = record.active[0].1;
        let messages = stack.app.store.messages(conversation, PageDirection::Latest, 500).await.expect("messages");
        assert_eq!(messages.messages[0].content, "Only once, please", "the first copy wins");
        staff.expect("new_conversation").await;
        assert_eq!(staff.expect("message").await["data"]["content"], "Only once, please");
        let later = staff.barrier().await;
        assert!(later.iter().all(|f| f["type"] != "message"), "a replay was pushed: {later:?}");
    });
}

#[test]
fn oversized_deep_and_invalid_utf8_bodies_are_4xx_and_the_webhook_stays_up() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let number = &hotel.guest.number;
        let too_large = json!({"error": "Request body too large"});
        let invalid_json = json!({"error": "Invalid JSON"});

        // Over 256 KB, correctly signed, in both formats; and exactly one byte over.
        let huge = json!({"whatsapp_number": number, "message": "x".repeat(300 * 1024)}).to_string();
        let answer = simple_signed(stack, huge.as_bytes(), Some(JSON)).await;
        assert_eq!((answer.status, &answer.body), (413, &too_large), "simple, 300 KB");
        documented(&answer);
        let answer = meta_webhook(stack, &meta_text(&hotel, &wamid(), &"x".repeat(300 * 1024))).await;
        assert_eq!((answer.status, &answer.body), (413, &too_large), "Meta, 300 KB");
        let padded = |len: usize| {
            let body = json!({"whatsapp_number": number, "message": "At the limit"}).to_string();
            format!("{body}{}", " ".repeat(len - body.len()))
        };
        let answer = simple_signed(stack, padded(256 * 1024 + 1).as_bytes(), Some(JSON)).await;
        assert_eq!((answer.status, &answer.body), (413, &too_large), "256 KB + 1 byte");

        // Deep nesting, correctly signed: a clear 400, never a crash.
        let deep =
            |open: &str, close: &str, inner: &str| format!("{}{inner}{}", open.repeat(10_000), close.repeat(10_000));
        let deep_cases = vec![
            ("10 000 nested arrays", deep("[", "]", "")),
            ("10 000 unclosed arrays", "[".repeat(10_000)),
            ("10 000 nested objects", deep(r#"{"a":"#, "}", "1")),
            (
                "nested arrays inside a valid simple body",
                format!(r#"{{"whatsapp_number":"{number}","message":"hi","extra":{}}}"#, deep("[", "]", "")),
            ),
        ];
        for (label, body) in &deep_cases {
            let answer = simple_signed(stack, body.as_bytes(), Some(JSON)).await;
            assert_eq!((answer.status, &answer.body), (400, &invalid_json), "{label}: {}", answer.text);
            documented(&answer);
        }
        let deep_meta = format!(r#"{{"object":"whatsapp_business_account","entry":{}}}"#, deep("[", "]", ""));
        let answer = meta_signed(stack, deep_meta.as_bytes()).await;
        assert!((400..500).contains(&answer.status), "deep Meta body: {} {}", answer.status, answer.text);

        // Invalid UTF-8, correctly signed.
        let mut bad_utf8 = format!(r#"{{"whatsapp_number":"{number}","message":"caf"#).into_bytes();
        bad_utf8.extend([0xC3, 0x28, 0xFF, 0xFE]);
        bad_utf8.extend(br#""}"#);
        let answer = simple_signed(stack, &bad_utf8, Some(JSON)).await;
        assert_eq!((answer.status, &answer.body), (400, &invalid_json), "invalid UTF-8 JSON: {}", answer.text);
        documented(&answer);
        let meta_bytes = meta_text(&hotel, &wamid(), "caf\u{e9}").into_bytes();
        let e_acute = meta_bytes.windows(2).position(|w| w == [0xC3, 0xA9]).expect("é in the body");
        let mut bad_meta = meta_bytes;
        bad_meta[e_acute + 1] = 0x28;
        let answer = meta_signed(stack, &bad_meta).await;
        assert!((400..500).contains(&answer.status), "invalid UTF-8 Meta body: {} {}", answer.status, answer.text);

        assert_eq!(stored(stack, hotel.guest.id).await, (0, 0), "a refused post stored something");
        // Still up: the largest accepted body and a plain one are stored.
        let answer = simple_signed(stack, padded(256 * 1024).as_bytes(), Some(JSON)).await;
        assert_eq!(answer.status, 201, "exactly 256 KB: {}", answer.text);
        let answer = simple_webhook(stack, &json!({"whatsapp_number": number, "message": "Still there?"})).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(stored(stack, hotel.guest.id).await, (1, 2));
    });
}

#[test]
fn an_invalid_utf8_form_body_is_4xx() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let mut body = format!("whatsapp_number={}&message=caf", hotel.guest.number.replace('+', "%2B")).into_bytes();
        body.extend([0xC3, 0x28, 0xFF]);
        let answer = simple_signed(stack, &body, Some("application/x-www-form-urlencoded")).await;
        assert!((400..500).contains(&answer.status), "{} {}", answer.status, answer.text);
        assert_eq!(stored(stack, hotel.guest.id).await, (0, 0));
    });
}

#[test]
fn unexpected_content_types_are_never_a_5xx() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let body = json!({"whatsapp_number": hotel.guest.number, "message": "Sent as text/plain"}).to_string();
        let mut accepted = 0;
        for content_type in [
            Some("text/plain"),
            Some("text/plain; charset=utf-8"),
            None,
            Some("application/octet-stream"),
            Some("multipart/form-data; boundary=x"),
            Some("application/x-www-form-urlencoded"),
            Some("application/json; charset=latin1"),
        ] {
            let answer = simple_signed(stack, body.as_bytes(), content_type).await;
            let label = content_type.unwrap_or("no content type");
            assert!(
                answer.status == 201 || (400..500).contains(&answer.status),
                "{label}: {} {}",
                answer.status,
                answer.text
            );
            documented(&answer);
            if answer.status == 201 {
                accepted += 1;
            }
        }
        let (_, messages) = stored(stack, hotel.guest.id).await;
        assert_eq!(messages, accepted, "each accepted post stored one message, each refused one nothing");
    });
}

#[test]
fn over_long_fields_are_400_with_field_details_and_store_nothing() {
    run(async {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let number = &hotel.guest.number;
        let long = |n: usize| "x".repeat(n);
        let answer = simple_webhook(stack, &json!({"whatsapp_number": number, "message": long(5000)})).await;
        assert_eq!(
            (answer.status, &answer.body),
            (400, &json!({"error": "Invalid data", "details": {"message": ["Message too long"]}})),
            "5000 characters"
        );
        documented(&answer);
        let answer = simple_webhook(stack, &json!({"whatsapp_number": number, "message": "é".repeat(4097)})).await;
        assert_eq!(answer.body["details"], json!({"message": ["Message too long"]}), "4097 characters of 2 bytes");

        for (field, value) in [
            ("media_url", format!("https://files.example/{}", long(3000))),
            ("media_filename", format!("{}.pdf", long(300))),
            ("provider_message_id", format!("bridge-{}", long(300))),
        ] {
            let mut body = json!({"whatsapp_number": number, "message": "A long field"});
            body[field] = json!(value);
            let answer = simple_webhook(stack, &body).await;
            assert_eq!(
                (answer.status, &answer.body["error"]),
                (400, &json!("Invalid data")),
                "{field}: {}",
                answer.text
            );
            let details = answer.body["details"].as_object().expect("details");
            assert_eq!(details.keys().collect::<Vec<_>>(), [field], "{field}: {}", answer.text);
            let messages = details[field].as_array().expect("messages");
            assert!(!messages.is_empty() && messages.iter().all(Value::is_string), "{field}: {}", answer.text);
            documented(&answer);
        }
        let all = json!({"whatsapp_number": number, "message": long(5000), "media_url": long(3000),
            "media_filename": long(300), "provider_message_id": long(300)});
        let answer = simple_webhook(stack, &all).await;
        assert_eq!(answer.status, 400);
        let mut fields: Vec<&String> = answer.body["details"].as_object().expect("details").keys().collect();
        fields.sort();
        assert_eq!(
            fields,
            ["media_filename", "media_url", "message", "provider_message_id"],
            "every field is reported"
        );
        assert_eq!(stored(stack, hotel.guest.id).await, (0, 0), "a refused post stored something");

        // Control: every field at its limit is accepted.
        let at_limit = json!({"whatsapp_number": number, "message": "é".repeat(4096), "message_type": "document",
            "media_url": format!("https://f.example/{}", long(2048 - 18)), "media_filename": long(255),
            "provider_message_id": format!("b{}", long(254))});
        let answer = simple_webhook(stack, &at_limit).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(stored(stack, hotel.guest.id).await, (1, 1));
    });
}

// ---------------------------------------------------------------------------------------------
// Log scan
// ---------------------------------------------------------------------------------------------

/// `text` with its last character (a base64url or hex digit) replaced by another.
fn last_char_changed(text: &str) -> String {
    let (head, last) = text.split_at(text.len() - 1);
    format!("{head}{}", if last == "0" { '1' } else { '0' })
}

/// Set (to the file its values go to) only in the child process the log scan starts.
const LOG_SCAN_CHILD: &str = "LOBBYBEE_E2E_LOG_SCAN_VALUES";

/// The logged scenario. It runs only as the child process of
/// [`a_full_scenario_logs_no_secret_at_info_level`], whose standard output (where the production
/// JSON logs go) that test captures; run on its own it does nothing.
#[test]
fn log_scan_scenario() {
    let Some(values_file) = std::env::var_os(LOG_SCAN_CHILD) else { return };
    // Production logging, installed before the stack starts.
    lobbybee::telemetry::init();
    run(async move {
        let stack = stack().await;
        let hotel = TestHotel::create(stack).await;
        let marker = uuid::Uuid::new_v4().simple().to_string();
        let guest_says = format!("Guest body {marker}: please bring towels");
        let meta_says = format!("Meta body {marker}: and a toothbrush");
        let staff_says = format!("Staff reply {marker}: on their way");
        let token = &hotel.reception.token;
        let tampered = last_char_changed(token);
        let forged_guest_token = last_char_changed(&hotel.guest.guest_token);

        let mut staff = Socket::staff(stack, token, None).await;
        let mut guest = Socket::guest(stack, &hotel.guest).await;
        let answer =
            simple_webhook(stack, &json!({"whatsapp_number": hotel.guest.number, "message": guest_says})).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let conversation = answer.body["conversation_id"].as_u64().expect("conversation id");
        staff.expect("new_conversation").await;
        assert_eq!(staff.expect("message").await["data"]["content"], guest_says.as_str());
        assert_eq!(meta_webhook(stack, &meta_text(&hotel, &wamid(), &meta_says)).await.status, 200);
        assert_eq!(staff.expect("message").await["data"]["content"], meta_says.as_str());

        staff.send(json!({"type": "text", "conversation_id": conversation, "content": staff_says})).await;
        staff.expect("acknowledgment").await;
        assert_eq!(staff.expect("delivery_status").await["data"]["status"], "sent", "sent through the outbound queue");
        assert_eq!(guest.expect("message").await["data"]["content"], staff_says.as_str());

        assert_eq!(rest(stack, Method::GET, "conversations/", Some(token), None).await.status, 200);
        let detail = rest(stack, Method::GET, &format!("conversations/{conversation}/"), Some(token), None).await;
        assert_eq!(detail.status, 200);

        let admin = |path: String, body: Value| {
            let url = format!("{}/api/chat/{path}", stack.gateway.http_base());
            send(http().put(url).header("x-api-key", secrets::API_KEY).json(&body))
        };
        let guest_body = json!({"hotel_id": hotel.id, "whatsapp_number": hotel.guest.number, "full_name": hotel.guest.name,
            "status": "checked_in"});
        let answer = admin(format!("admin/guests/{}", hotel.guest.id), guest_body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let stay_body = json!({"hotel_id": hotel.id, "guest_id": hotel.guest.id, "room_number": "204", "floor": 2,
            "status": "active", "check_in_date": "2026-11-20", "check_out_date": "2026-11-28"});
        let answer = admin(format!("admin/stays/{}", hotel.guest.stay_id), stay_body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.body["guest_token"], hotel.guest.guest_token.as_str());

        // Refusals log too.
        assert_eq!(rest(stack, Method::GET, "conversations/", Some(&tampered), None).await.status, 401);
        assert_eq!(handshake(&stack.gateway.ws_url(), &tampered).await.err(), Some(401));
        let forged = format!("/?whatsapp_number={}&guest_token={forged_guest_token}", hotel.guest.number);
        assert_eq!(Socket::connect(stack, &forged).await.err(), Some(401));
        let unsigned = json!({"whatsapp_number": hotel.guest.number, "message": guest_says}).to_string();
        assert_eq!(webhook(stack, unsigned.as_bytes(), &[("content-type", JSON.to_owned())]).await.status, 401);
        let answer = admin(format!("admin/guests/{}", hotel.guest.id), json!({})).await;
        assert!(answer.status >= 400, "{}", answer.text);

        staff.close().await;
        guest.close().await;
        let values = json!({
            "staff JWT": token,
            "staff JWT signature": token.rsplit_once('.').expect("JWT").1,
            "tampered staff JWT": tampered,
            "guest token": hotel.guest.guest_token,
            "guest token MAC": hotel.guest.guest_token.rsplit_once('.').expect("guest token").1,
            "forged guest token": forged_guest_token,
            "guest number": hotel.guest.number,
            "guest number without +": hotel.guest.number.trim_start_matches('+'),
            "guest message body": guest_says,
            "Meta message body": meta_says,
            "staff reply body": staff_says,
        });
        std::fs::write(&values_file, values.to_string()).expect("write the scenario's values");
    });
}

#[test]
fn a_full_scenario_logs_no_secret_at_info_level() {
    run(async {
        let dir = std::env::temp_dir().join(format!("lobbybee-log-scan-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let values_file = dir.join("values.json");
        let exe = std::env::current_exe().expect("this test binary");
        let mut command = Command::new(exe);
        command
            .args(["log_scan_scenario", "--exact", "--nocapture", "--test-threads=1"])
            .env(LOG_SCAN_CHILD, &values_file)
            .env("RUST_LOG", "info")
            .env("LOG_LEVEL", "info")
            // The child's recorded AWS calls go elsewhere, not over this binary's.
            .env("LOBBYBEE_CALLS_DIR", &dir);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("join the child")
            .expect("start the logged scenario");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "the logged scenario failed:\n{stdout}\n{stderr}");
        let log = format!("{stdout}\n{stderr}");

        // The capture holds the handlers' JSON logs (REST, webhook, socket connects, outbound).
        let lines: Vec<&str> = log.lines().filter(|l| l.starts_with('{')).collect();
        for span in [r#""name":"rest""#, r#""name":"webhook""#, r#""name":"connect""#] {
            assert!(lines.iter().any(|l| l.contains(span)), "no {span} log line was captured:\n{log}");
        }
        assert!(lines.len() >= 20, "only {} log lines were captured:\n{log}", lines.len());

        let values: Value =
            serde_json::from_slice(&std::fs::read(&values_file).expect("the scenario's values")).expect("JSON");
        let mut needles: Vec<(String, String)> = values
            .as_object()
            .expect("values")
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().expect("string").to_owned()))
            .collect();
        for (name, secret) in [
            ("JWT secret", secrets::JWT),
            ("webhook secret", secrets::WEBHOOK),
            ("Meta app secret", secrets::APP),
            ("Meta verify token", secrets::VERIFY),
            ("guest token secret", secrets::GUEST),
            ("provisioning API key", secrets::API_KEY),
            ("WhatsApp Cloud API token", "e2e-whatsapp-token"),
        ] {
            needles.push((name.to_owned(), secret.to_owned()));
        }
        let leaks: Vec<String> = needles
            .iter()
            .filter_map(|(name, needle)| {
                let line = log.lines().find(|l| l.contains(needle.as_str()))?;
                Some(format!("{name}: {}", line.replace(needle.as_str(), &format!("<{name}>"))))
            })
            .collect();
        assert!(leaks.is_empty(), "secrets in the logs ({} lines scanned):\n{}", lines.len(), leaks.join("\n"));
        std::fs::remove_dir_all(&dir).expect("remove the temp dir");
    });
}
