//! Staff JWT verification (docs/api.md §3).
//!
//! Staff authenticate with the access tokens the hotel CRM already issues: HS256 with a shared
//! secret, claims `user_id`, `token_type: "access"`, `exp`, `iat`, `jti`. A stack may instead
//! verify RS256 or ES256 tokens with a configured public key. This module is the single gate for
//! them: exactly the configured algorithm is accepted (the header's `alg` is checked before
//! anything else, so `none` and algorithm-confusion tokens never reach signature verification),
//! `exp` is required (30 s leeway), refresh tokens are refused, and issuer and audience are
//! enforced when configured. What a token says about the staff member beyond their id is not
//! trusted: the profile is read from the store by the caller.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECONDS: u64 = 30;

/// Longest token looked at; anything longer is [`TokenError::Malformed`] without being decoded.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The signature algorithms a stack can be configured with (`JWT_ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret (the CRM's format, and the default).
    Hs256,
    /// RSA PKCS#1 v1.5 with SHA-256; the key is an RSA public key in PEM.
    Rs256,
    /// ECDSA on P-256 with SHA-256; the key is an EC public key in PEM.
    Es256,
}

impl JwtAlgorithm {
    /// Parses `HS256`, `RS256` or `ES256` (any case, surrounding whitespace ignored).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "HS256" => Some(JwtAlgorithm::Hs256),
            "RS256" => Some(JwtAlgorithm::Rs256),
            "ES256" => Some(JwtAlgorithm::Es256),
            _ => None,
        }
    }

    /// The JOSE name, as it appears in a token header's `alg`.
    pub fn name(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Rs256 => "RS256",
            JwtAlgorithm::Es256 => "ES256",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Rs256 => Algorithm::RS256,
            JwtAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

/// The configured key material is unusable (or a token could not be issued).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtConfigError {
    /// An empty HS256 secret.
    #[error("the JWT secret is empty")]
    EmptySecret,
    /// A PEM that does not parse as a public key of the expected type (`RSA` or `EC`).
    #[error("the JWT public key is not a valid {0} public key in PEM format")]
    BadPem(&'static str),
    /// A private key where the public key belongs: only the public key may be deployed.
    #[error("the JWT key is a private key; configure the public key instead")]
    PrivateKey,
    /// Signing failed (issuing only).
    #[error("could not sign the token")]
    Signing,
}

/// Why a token was refused. The messages are short and never contain any part of the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT: not three base64url segments of JSON, a claims set that is not an object, or
    /// too long.
    #[error("malformed token")]
    Malformed,
    /// `alg` other than the configured one, `none` included.
    #[error("unexpected algorithm")]
    Algorithm,
    /// The signature does not verify with the configured key.
    #[error("bad signature")]
    Signature,
    /// `exp` is more than the leeway in the past, or missing (a token must expire).
    #[error("token expired")]
    Expired,
    /// `nbf` is more than the leeway in the future.
    #[error("token not valid yet")]
    NotYetValid,
    /// `token_type` missing or not `access` (a refresh token, say).
    #[error("not an access token")]
    NotAccessToken,
    /// No usable `user_id` claim: missing, null, empty, or neither a string nor a whole number.
    #[error("no user_id claim")]
    MissingUserId,
    /// An issuer is configured and `iss` is missing or different.
    #[error("issuer mismatch")]
    Issuer,
    /// An audience is configured and `aud` is missing or does not name it.
    #[error("audience mismatch")]
    Audience,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Staff id as a string (a numeric claim becomes its decimal form, e.g. `12` → `"12"`).
    pub user_id: String,
    /// The token id (`jti`), when it is a string.
    pub jti: Option<String>,
    /// `exp`, in epoch seconds.
    pub expires_at: i64,
}

/// Verifies staff tokens with one configured algorithm and key.
#[derive(Clone)]
pub struct JwtVerifier {
    algorithm: JwtAlgorithm,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("JwtVerifier")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Builds a verifier. `key` is the HS256 secret (its raw bytes, not trimmed or decoded) or,
    /// for RS256/ES256, the PEM public key (RSA, or EC P-256). With `issuer` set, `iss` must be
    /// present and equal; with `audience` set, `aud` must be present and name it; unset, neither is
    /// checked.
    pub fn new(
        algorithm: JwtAlgorithm,
        key: &str,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Self, JwtConfigError> {
        if algorithm != JwtAlgorithm::Hs256 && key.contains("PRIVATE KEY") {
            return Err(JwtConfigError::PrivateKey);
        }
        let key = match algorithm {
            JwtAlgorithm::Hs256 if key.is_empty() => return Err(JwtConfigError::EmptySecret),
            JwtAlgorithm::Hs256 => DecodingKey::from_secret(key.as_bytes()),
            JwtAlgorithm::Rs256 => {
                DecodingKey::from_rsa_pem(key.as_bytes()).map_err(|_| JwtConfigError::BadPem("RSA"))?
            }
            JwtAlgorithm::Es256 => {
                DecodingKey::from_ec_pem(key.as_bytes()).map_err(|_| JwtConfigError::BadPem("EC"))?
            }
        };
        let mut validation = Validation::new(algorithm.algorithm());
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        // A token not valid yet (`nbf` in the future, beyond the leeway) is refused too.
        validation.validate_nbf = true;
        // jsonwebtoken accepts a token *without* `iss`/`aud` even when they are configured, unless
        // they are also required; a configured issuer or audience must be present.
        let mut required = vec!["exp"];
        match &issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Ok(JwtVerifier { algorithm, key, validation })
    }

    /// The configured algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Verifies `token` (surrounding whitespace ignored).
    ///
    /// `token_type` must be the string `access`, whatever the algorithm: a refresh token, or a
    /// token of another kind signed with the same key, is refused. `user_id` may be a non-empty
    /// string (trimmed) or a non-negative whole number.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        // Checked by hand rather than with `jsonwebtoken::decode_header`, which cannot even
        // represent `none` (it would be reported as malformed rather than as a wrong algorithm).
        if header_alg(token)? != self.algorithm.name() {
            return Err(TokenError::Algorithm);
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .map_err(|e| classify(e.kind()))?;
        let claims = data.claims;
        if claims.get("token_type").and_then(Value::as_str) != Some("access") {
            return Err(TokenError::NotAccessToken);
        }
        let user_id = match claims.get("user_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::Number(n)) => n.as_u64().ok_or(TokenError::MissingUserId)?.to_string(),
            _ => return Err(TokenError::MissingUserId),
        };
        // jsonwebtoken accepts a fractional `exp` (rounded); mirror that.
        let expires_at = claims
            .get("exp")
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f.round() as i64)))
            .ok_or(TokenError::Expired)?;
        Ok(VerifiedToken { user_id, jti: claims.get("jti").and_then(Value::as_str).map(str::to_owned), expires_at })
    }
}

/// The `alg` of a token's header.
fn header_alg(token: &str) -> Result<String, TokenError> {
    let (segment, _) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| TokenError::Malformed)?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    match header.get("alg") {
        Some(Value::String(alg)) => Ok(alg.clone()),
        _ => Err(TokenError::Algorithm),
    }
}

/// Maps a jsonwebtoken failure onto the reasons of [`TokenError`].
fn classify(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::Signature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => TokenError::Issuer,
            "aud" => TokenError::Audience,
            _ => TokenError::Expired,
        },
        _ => TokenError::Malformed,
    }
}

/// Issues an HS256 access token in the CRM's format: claims `user_id` (a string), `token_type:
/// "access"`, `exp` (now + `ttl_seconds`; a negative ttl gives an expired token), `iat` and `jti`
/// (a UUID v4, 32 hex digits). Used by the demo seed and tests.
pub fn issue_hs256(secret: &str, user_id: &str, ttl_seconds: i64) -> Result<String, JwtConfigError> {
    if secret.is_empty() {
        return Err(JwtConfigError::EmptySecret);
    }
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "user_id": user_id,
        "token_type": "access",
        "exp": now.saturating_add(ttl_seconds),
        "iat": now,
        "jti": uuid::Uuid::new_v4().simple().to_string(),
    });
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes()))
        .map_err(|_| JwtConfigError::Signing)
}

#[cfg(test)]
mod tests {
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
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    fn hs256(changes: Value) -> String {
        hs(&claims(changes), Algorithm::HS256, SECRET)
    }

    fn rs256(changes: Value) -> String {
        let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims(changes), &key).unwrap()
    }

    fn es256(changes: Value) -> String {
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
}
