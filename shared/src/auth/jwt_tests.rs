use super::*;

const SECRET: &str = "test-secret";
// Test-only key pairs (openssl genpkey: RSA 2048 and EC P-256).
const RSA_PRIVATE: &str = include_str!("../../testdata/keys/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../../testdata/keys/rsa-public.pem");
const EC_PRIVATE: &str = include_str!("../../testdata/keys/ec-private.pem");
const EC_PUBLIC: &str = include_str!("../../testdata/keys/ec-public.pem");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The CRM's claims, with `changes` applied (a `null` value removes the claim).
fn claims(changes: Value) -> Value {
    let mut base = json!({"user_id": "12", "token_type": "access", "exp": now() + 600, "iat": now(), "jti": "j1"});
    if let (Some(map), Value::Object(changes)) = (base.as_object_mut(), changes) {
        for (k, v) in changes {
            if v.is_null() {
                map.remove(&k);
            } else {
                map.insert(k, v);
            }
        }
    }
    base
}

fn hs(claims: &Value, alg: Algorithm, secret: &str) -> String {
    crate::auth::jwt_crypto::install();
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn hs256(changes: Value) -> String {
    hs(&claims(changes), Algorithm::HS256, SECRET)
}

fn rs256(changes: Value) -> String {
    crate::auth::jwt_crypto::install();
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(changes), &key).unwrap()
}

fn es256(changes: Value) -> String {
    crate::auth::jwt_crypto::install();
    let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims(changes), &key).unwrap()
}

fn unsigned(header: &str, claims: &Value) -> String {
    format!("{}.{}.", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

fn verifier() -> JwtVerifier {
    JwtVerifier::new(JwtAlgorithm::Hs256, SECRET, None, None).unwrap()
}

fn with(issuer: Option<&str>, audience: Option<&str>) -> JwtVerifier {
    JwtVerifier::new(JwtAlgorithm::Hs256, SECRET, issuer.map(Into::into), audience.map(Into::into)).unwrap()
}

#[test]
fn accepts_the_crm_format() {
    let exp = now() + 600;
    let verified = verifier().verify(&hs256(json!({"exp": exp}))).unwrap();
    assert_eq!(verified, VerifiedToken { user_id: "12".into(), jti: Some("j1".into()), expires_at: exp });
    assert!(verifier().verify(&format!(" {}\n", hs256(json!({})))).is_ok());
}

#[test]
fn numeric_user_id_becomes_a_string() {
    assert_eq!(verifier().verify(&hs256(json!({"user_id": 12}))).unwrap().user_id, "12");
    assert_eq!(verifier().verify(&hs256(json!({"user_id": 0}))).unwrap().user_id, "0");
}

#[test]
fn string_user_id() {
    assert_eq!(verifier().verify(&hs256(json!({"user_id": "abc-12"}))).unwrap().user_id, "abc-12");
    assert_eq!(verifier().verify(&hs256(json!({"user_id": " 12 "}))).unwrap().user_id, "12");
}

#[test]
fn rejects_missing_user_id() {
    for bad in [
        json!({"user_id": null}),
        json!({"user_id": ""}),
        json!({"user_id": "  "}),
        json!({"user_id": true}),
        json!({"user_id": 1.5}),
        json!({"user_id": -3}),
        json!({"user_id": ["12"]}),
        json!({"user_id": {"id": 12}}),
    ] {
        assert_eq!(verifier().verify(&hs256(bad.clone())), Err(TokenError::MissingUserId), "{bad}");
    }
    let mut explicit_null = claims(json!({}));
    explicit_null["user_id"] = Value::Null;
    assert_eq!(verifier().verify(&hs(&explicit_null, Algorithm::HS256, SECRET)), Err(TokenError::MissingUserId));
}

#[test]
fn rejects_alg_none() {
    let body = claims(json!({}));
    for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"None"}"#, r#"{"alg":"NONE"}"#, r#"{"typ":"JWT"}"#] {
        let token = unsigned(header, &body);
        assert_eq!(verifier().verify(&token), Err(TokenError::Algorithm), "{header}");
        // Even with a signature segment attached.
        assert_eq!(verifier().verify(&format!("{token}c2ln")), Err(TokenError::Algorithm), "{header}");
    }
}

#[test]
fn rejects_hs384_for_an_hs256_verifier() {
    let token = hs(&claims(json!({})), Algorithm::HS384, SECRET);
    assert_eq!(verifier().verify(&token), Err(TokenError::Algorithm));
    let token = hs(&claims(json!({})), Algorithm::HS512, SECRET);
    assert_eq!(verifier().verify(&token), Err(TokenError::Algorithm));
}

#[test]
fn rejects_hs256_for_an_rs256_verifier() {
    let rs = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).unwrap();
    // Algorithm confusion: an HS256 token using the (public) RSA key as the HMAC secret.
    let confused = hs(&claims(json!({})), Algorithm::HS256, RSA_PUBLIC);
    assert_eq!(rs.verify(&confused), Err(TokenError::Algorithm));
    assert_eq!(rs.verify(&hs256(json!({}))), Err(TokenError::Algorithm));
}

#[test]
fn rejects_other_public_key_algorithms() {
    let rs = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).unwrap();
    let es = JwtVerifier::new(JwtAlgorithm::Es256, EC_PUBLIC, None, None).unwrap();
    assert_eq!(rs.verify(&es256(json!({}))), Err(TokenError::Algorithm));
    assert_eq!(es.verify(&rs256(json!({}))), Err(TokenError::Algorithm));
    assert_eq!(verifier().verify(&rs256(json!({}))), Err(TokenError::Algorithm));
}

#[test]
fn rejects_a_bad_signature() {
    let other = hs(&claims(json!({})), Algorithm::HS256, "another-secret");
    assert_eq!(verifier().verify(&other), Err(TokenError::Signature));
    // A valid token whose claims were swapped for someone else's.
    let token = hs256(json!({}));
    assert_eq!(verifier().verify(&swap_claims(&token, json!({"user_id": "1"}))), Err(TokenError::Signature));
    // The signature stripped.
    let (unsigned_part, _) = token.rsplit_once('.').unwrap();
    assert_eq!(verifier().verify(&format!("{unsigned_part}.")), Err(TokenError::Signature));
}

/// `token` with its claims replaced by `changes` applied to the CRM claims, signature kept.
fn swap_claims(token: &str, changes: Value) -> String {
    let mut parts = token.split('.');
    let (header, _, signature) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
    format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(claims(changes).to_string()))
}

#[test]
fn rejects_a_bad_public_key_signature() {
    let rs = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).unwrap();
    assert_eq!(rs.verify(&swap_claims(&rs256(json!({})), json!({"user_id": "1"}))), Err(TokenError::Signature));
    let es = JwtVerifier::new(JwtAlgorithm::Es256, EC_PUBLIC, None, None).unwrap();
    assert_eq!(es.verify(&swap_claims(&es256(json!({})), json!({"user_id": "1"}))), Err(TokenError::Signature));
}

#[test]
fn rejects_an_expired_token() {
    assert_eq!(verifier().verify(&hs256(json!({"exp": now() - 60}))), Err(TokenError::Expired));
    assert_eq!(verifier().verify(&hs256(json!({"exp": 0}))), Err(TokenError::Expired));
    assert_eq!(verifier().verify(&issue_hs256(SECRET, "12", -3600).unwrap()), Err(TokenError::Expired));
}

#[test]
fn accepts_within_the_leeway() {
    let exp = now() - 10;
    assert_eq!(verifier().verify(&hs256(json!({"exp": exp}))).unwrap().expires_at, exp);
}

#[test]
fn requires_exp() {
    assert_eq!(verifier().verify(&hs256(json!({"exp": null}))), Err(TokenError::Expired));
    assert_eq!(verifier().verify(&hs256(json!({"exp": "tomorrow"}))), Err(TokenError::Expired));
}

#[test]
fn rejects_a_refresh_token() {
    assert_eq!(verifier().verify(&hs256(json!({"token_type": "refresh"}))), Err(TokenError::NotAccessToken));
    assert_eq!(verifier().verify(&hs256(json!({"token_type": "Access"}))), Err(TokenError::NotAccessToken));
    assert_eq!(verifier().verify(&hs256(json!({"token_type": 1}))), Err(TokenError::NotAccessToken));
    let mut explicit_null = claims(json!({}));
    explicit_null["token_type"] = Value::Null;
    let token = hs(&explicit_null, Algorithm::HS256, SECRET);
    assert_eq!(verifier().verify(&token), Err(TokenError::NotAccessToken));
}

#[test]
fn refuses_a_token_not_valid_yet() {
    assert_eq!(verifier().verify(&hs256(json!({"nbf": now() + 3600}))), Err(TokenError::NotYetValid));
    assert!(verifier().verify(&hs256(json!({"nbf": now() + 10}))).is_ok(), "within the leeway");
}

#[test]
fn refuses_a_missing_token_type() {
    let mut claims = claims(json!({}));
    claims.as_object_mut().unwrap().remove("token_type");
    assert_eq!(verifier().verify(&hs(&claims, Algorithm::HS256, SECRET)), Err(TokenError::NotAccessToken));
    assert_eq!(verifier().verify(&hs256(json!({"token_type": null}))), Err(TokenError::NotAccessToken));
}

#[test]
fn issuer_when_configured() {
    let v = with(Some("crm"), None);
    assert!(v.verify(&hs256(json!({"iss": "crm"}))).is_ok());
    assert_eq!(v.verify(&hs256(json!({"iss": "other"}))), Err(TokenError::Issuer));
    assert_eq!(v.verify(&hs256(json!({}))), Err(TokenError::Issuer));
    // Not configured: not checked.
    assert!(verifier().verify(&hs256(json!({"iss": "anyone"}))).is_ok());
}

#[test]
fn audience_when_configured() {
    let v = with(None, Some("chat"));
    assert!(v.verify(&hs256(json!({"aud": "chat"}))).is_ok());
    assert!(v.verify(&hs256(json!({"aud": ["crm", "chat"]}))).is_ok());
    assert_eq!(v.verify(&hs256(json!({"aud": "other"}))), Err(TokenError::Audience));
    assert_eq!(v.verify(&hs256(json!({"aud": ["other"]}))), Err(TokenError::Audience));
    assert_eq!(v.verify(&hs256(json!({}))), Err(TokenError::Audience));
    // Not configured: not checked.
    assert!(verifier().verify(&hs256(json!({"aud": "anything"}))).is_ok());
}

#[test]
fn issuer_and_audience_together() {
    let v = with(Some("crm"), Some("chat"));
    assert!(v.verify(&hs256(json!({"iss": "crm", "aud": "chat"}))).is_ok());
    assert_eq!(v.verify(&hs256(json!({"iss": "other", "aud": "chat"}))), Err(TokenError::Issuer));
    assert_eq!(v.verify(&hs256(json!({"iss": "crm", "aud": "other"}))), Err(TokenError::Audience));
}

#[test]
fn rejects_malformed_strings() {
    let valid = hs256(json!({}));
    let too_long = format!("{valid}{}", "A".repeat(MAX_TOKEN_BYTES));
    let header = valid.split_once('.').unwrap().0;
    let array_claims = hs(&json!([1, 2]), Algorithm::HS256, SECRET);
    let string_claims = hs(&json!("not an object"), Algorithm::HS256, SECRET);
    for bad in [
        "",
        "   ",
        "abc",
        "a.b.c",
        "...",
        header,
        &format!("{header}."),
        &format!("{header}.e30"),
        &format!("{}.e30.sig", URL_SAFE_NO_PAD.encode("[]")),
        &format!("{}.e30.sig", URL_SAFE_NO_PAD.encode("not json")),
        &array_claims,
        &string_claims,
        &too_long,
    ] {
        assert_eq!(verifier().verify(bad), Err(TokenError::Malformed), "{bad:?}");
    }
    // The signature is checked before the claims are parsed, so garbage claims under a
    // garbage signature are reported as a bad signature.
    assert_eq!(verifier().verify("eyJhbGciOiJIUzI1NiJ9.!!!.sig"), Err(TokenError::Signature));
}

#[test]
fn rs256_and_es256() {
    let rs = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).unwrap();
    assert_eq!(rs.verify(&rs256(json!({"user_id": 7}))).unwrap().user_id, "7");
    assert_eq!(rs.verify(&rs256(json!({"exp": now() - 60}))), Err(TokenError::Expired));
    let es = JwtVerifier::new(JwtAlgorithm::Es256, EC_PUBLIC, None, None).unwrap();
    assert_eq!(es.verify(&es256(json!({}))).unwrap().user_id, "12");
    assert_eq!(es.verify(&es256(json!({"token_type": "refresh"}))), Err(TokenError::NotAccessToken));
    // Public keys from env vars often arrive with CRLF line ends.
    let crlf = EC_PUBLIC.replace('\n', "\r\n");
    assert!(JwtVerifier::new(JwtAlgorithm::Es256, &crlf, None, None).is_ok());
}

#[test]
fn configuration_errors() {
    let err = |alg, key: &str| JwtVerifier::new(alg, key, None, None).err();
    assert_eq!(err(JwtAlgorithm::Hs256, ""), Some(JwtConfigError::EmptySecret));
    assert_eq!(err(JwtAlgorithm::Rs256, "not a pem"), Some(JwtConfigError::BadPem("RSA")));
    assert_eq!(err(JwtAlgorithm::Es256, "not a pem"), Some(JwtConfigError::BadPem("EC")));
    assert_eq!(err(JwtAlgorithm::Rs256, EC_PUBLIC), Some(JwtConfigError::BadPem("RSA")));
    assert_eq!(err(JwtAlgorithm::Es256, RSA_PUBLIC), Some(JwtConfigError::BadPem("EC")));
    assert_eq!(err(JwtAlgorithm::Rs256, RSA_PRIVATE), Some(JwtConfigError::PrivateKey));
    assert_eq!(err(JwtAlgorithm::Es256, EC_PRIVATE), Some(JwtConfigError::PrivateKey));
    assert_eq!(err(JwtAlgorithm::Rs256, ""), Some(JwtConfigError::BadPem("RSA")));
    // An HS256 secret is any non-empty string, even one that looks like a PEM.
    assert!(JwtVerifier::new(JwtAlgorithm::Hs256, RSA_PUBLIC, None, None).is_ok());
    for e in [JwtConfigError::EmptySecret, JwtConfigError::BadPem("RSA"), JwtConfigError::PrivateKey] {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn algorithm_names() {
    assert_eq!(JwtAlgorithm::parse("HS256"), Some(JwtAlgorithm::Hs256));
    assert_eq!(JwtAlgorithm::parse(" rs256 "), Some(JwtAlgorithm::Rs256));
    assert_eq!(JwtAlgorithm::parse("Es256"), Some(JwtAlgorithm::Es256));
    for bad in ["", "none", "HS384", "RS512", "PS256", "EdDSA"] {
        assert_eq!(JwtAlgorithm::parse(bad), None, "{bad:?}");
    }
    for alg in [JwtAlgorithm::Hs256, JwtAlgorithm::Rs256, JwtAlgorithm::Es256] {
        assert_eq!(JwtAlgorithm::parse(alg.name()), Some(alg));
    }
    let rs = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).unwrap();
    assert_eq!(rs.algorithm(), JwtAlgorithm::Rs256);
}

#[test]
fn issue_hs256_uses_the_crm_format() {
    let token = issue_hs256(SECRET, "34", 60).unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["user_id"], "34");
    assert_eq!(claims["token_type"], "access");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 32);
    assert!(jti.bytes().all(|b| b.is_ascii_hexdigit()));
    let verified = verifier().verify(&token).unwrap();
    assert_eq!(verified.user_id, "34");
    assert_eq!(verified.jti.as_deref(), Some(jti));
    assert_ne!(issue_hs256(SECRET, "34", 60).unwrap(), token, "jti differs per token");
    assert_eq!(issue_hs256("", "34", 60), Err(JwtConfigError::EmptySecret));
}

#[test]
fn messages_and_debug_leak_nothing() {
    let all = [
        TokenError::Malformed,
        TokenError::Algorithm,
        TokenError::Signature,
        TokenError::Expired,
        TokenError::NotAccessToken,
        TokenError::MissingUserId,
        TokenError::Issuer,
        TokenError::Audience,
    ];
    for e in all {
        let message = e.to_string();
        assert!(!message.is_empty() && message.len() < 40, "{message}");
    }
    let debug = format!("{:?}", verifier());
    assert!(!debug.contains(SECRET), "{debug}");
}
