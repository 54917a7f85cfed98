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
        super::jwt_crypto::install();
        if algorithm != JwtAlgorithm::Hs256 && key.contains("PRIVATE KEY") {
            return Err(JwtConfigError::PrivateKey);
        }
        let key = match algorithm {
            JwtAlgorithm::Hs256 if key.is_empty() => return Err(JwtConfigError::EmptySecret),
            JwtAlgorithm::Hs256 => DecodingKey::from_secret(key.as_bytes()),
            JwtAlgorithm::Rs256 => super::pem::rsa_public_key(key.as_bytes()).ok_or(JwtConfigError::BadPem("RSA"))?,
            JwtAlgorithm::Es256 => super::pem::ec_public_key(key.as_bytes()).ok_or(JwtConfigError::BadPem("EC"))?,
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
    super::jwt_crypto::install();
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
#[path = "jwt_tests.rs"]
mod tests;
