//! Staff JWT verification (CONTRACT §2).
//!
//! The hotel CRM issues HS256 access tokens (`user_id`, `token_type: "access"`, `exp`, `iat`,
//! `jti`); stacks may instead verify RS256 or ES256 tokens with a public key. Exactly the
//! configured algorithm is accepted: the header's `alg` is checked before anything else, so
//! `none` and algorithm-confusion tokens never reach signature verification.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

/// Clock skew tolerated on `exp`.
const LEEWAY_SECONDS: u64 = 30;

/// The signature algorithms a stack can be configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret (the CRM's format).
    Hs256,
    /// RSA PKCS#1 v1.5 with SHA-256, public key in PEM.
    Rs256,
    /// ECDSA P-256 with SHA-256, public key in PEM.
    Es256,
}

impl JwtAlgorithm {
    /// Parses `HS256`, `RS256` or `ES256` (any case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "HS256" => Some(JwtAlgorithm::Hs256),
            "RS256" => Some(JwtAlgorithm::Rs256),
            "ES256" => Some(JwtAlgorithm::Es256),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
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

/// The key material is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtConfigError {
    /// An empty HS256 secret.
    #[error("the JWT secret is empty")]
    EmptySecret,
    /// A PEM that does not parse as the expected key type.
    #[error("the JWT public key is not a valid {0} PEM public key")]
    BadPem(&'static str),
    /// Signing failed (issuing only).
    #[error("could not sign the token")]
    Signing,
}

/// Why a token was refused. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url segments of JSON.
    #[error("malformed token")]
    Malformed,
    /// `alg` other than the configured one (including `none`).
    #[error("unexpected algorithm")]
    Algorithm,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` passed (beyond the leeway) or missing.
    #[error("token expired")]
    Expired,
    /// `token_type` other than `access` (a refresh token, say).
    #[error("not an access token")]
    NotAccessToken,
    /// No usable `user_id` claim.
    #[error("no user_id claim")]
    MissingUserId,
    /// `iss` mismatch.
    #[error("issuer mismatch")]
    Issuer,
    /// `aud` mismatch.
    #[error("audience mismatch")]
    Audience,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Staff id as a string (numbers become their decimal form).
    pub user_id: String,
    /// Token id.
    pub jti: Option<String>,
    /// `exp`, epoch seconds.
    pub expires_at: i64,
}

/// Verifies tokens with one configured algorithm and key.
#[derive(Clone)]
pub struct JwtVerifier {
    algorithm: JwtAlgorithm,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Builds a verifier; `key` is the HS256 secret or a PEM public key. A token without
    /// `token_type` is accepted (the claim is checked when present).
    pub fn new(
        algorithm: JwtAlgorithm,
        key: &str,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Self, JwtConfigError> {
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
        validation.set_required_spec_claims(&["exp"]);
        match &issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Ok(JwtVerifier { algorithm, key, validation })
    }

    /// Verifies `token`.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let header_segment = token.split('.').next().ok_or(TokenError::Malformed)?;
        let header: Value = URL_SAFE_NO_PAD
            .decode(header_segment.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if header.get("alg").and_then(Value::as_str) != Some(self.algorithm.name()) {
            return Err(TokenError::Algorithm);
        }
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::InvalidSignature => TokenError::Signature,
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::MissingRequiredClaim(_) => TokenError::Expired,
                    ErrorKind::InvalidIssuer => TokenError::Issuer,
                    ErrorKind::InvalidAudience => TokenError::Audience,
                    ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
                    _ => TokenError::Malformed,
                }
            })?;
        let claims = data.claims;
        match claims.get("token_type") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if t == "access" => {}
            Some(_) => return Err(TokenError::NotAccessToken),
        }
        let user_id = match claims.get("user_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(TokenError::MissingUserId),
        };
        Ok(VerifiedToken {
            user_id,
            jti: claims.get("jti").and_then(Value::as_str).map(str::to_owned),
            expires_at: claims.get("exp").and_then(Value::as_i64).unwrap_or_default(),
        })
    }
}

/// Issues an HS256 access token in the CRM's format (demo data and tests).
pub fn issue_hs256(secret: &str, user_id: &str, ttl_seconds: i64) -> Result<String, JwtConfigError> {
    if secret.is_empty() {
        return Err(JwtConfigError::EmptySecret);
    }
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "user_id": user_id,
        "token_type": "access",
        "exp": now + ttl_seconds,
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
    const RSA_PRIVATE: &str = include_str!("../../testdata/keys/rsa-private.pem");
    const RSA_PUBLIC: &str = include_str!("../../testdata/keys/rsa-public.pem");
    const EC_PRIVATE: &str = include_str!("../../testdata/keys/ec-private.pem");
    const EC_PUBLIC: &str = include_str!("../../testdata/keys/ec-public.pem");

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims(extra: Value) -> Value {
        let mut base = json!({"user_id": "12", "token_type": "access", "exp": now() + 600, "iat": now(), "jti": "j1"});
        if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
            for (k, v) in extra {
                base.insert(k, v);
            }
        }
        base
    }

    fn hs(claims: &Value, alg: Algorithm, secret: &str) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(JwtAlgorithm::Hs256, SECRET, None, None).unwrap()
    }

    #[test]
    fn accepts_string_and_numeric_user_ids() {
        let v = verifier();
        assert_eq!(v.verify(&hs(&claims(json!({})), Algorithm::HS256, SECRET)).unwrap().user_id, "12");
        let numeric = hs(&claims(json!({"user_id": 12})), Algorithm::HS256, SECRET);
        assert_eq!(v.verify(&numeric).unwrap().user_id, "12");
        let issued = issue_hs256(SECRET, "34", 60).unwrap();
        let verified = v.verify(&issued).unwrap();
        assert_eq!(verified.user_id, "34");
        assert!(verified.jti.is_some());
    }

    #[test]
    fn rejects_alg_none() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
        assert_eq!(verifier().verify(&format!("{header}.{body}.")), Err(TokenError::Algorithm));
    }

    #[test]
    fn rejects_wrong_algorithms() {
        let hs384 = hs(&claims(json!({})), Algorithm::HS384, SECRET);
        assert_eq!(verifier().verify(&hs384), Err(TokenError::Algorithm));
        let rs = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).unwrap();
        // Algorithm confusion: an HS256 token signed with the public key as the secret.
        let confused = hs(&claims(json!({})), Algorithm::HS256, RSA_PUBLIC);
        assert_eq!(rs.verify(&confused), Err(TokenError::Algorithm));
    }

    #[test]
    fn rejects_bad_signatures() {
        let other = hs(&claims(json!({})), Algorithm::HS256, "another-secret");
        assert_eq!(verifier().verify(&other), Err(TokenError::Signature));
    }

    #[test]
    fn expiry_with_leeway() {
        let expired = hs(&claims(json!({"exp": now() - 60})), Algorithm::HS256, SECRET);
        assert_eq!(verifier().verify(&expired), Err(TokenError::Expired));
        let within_leeway = hs(&claims(json!({"exp": now() - 10})), Algorithm::HS256, SECRET);
        assert!(verifier().verify(&within_leeway).is_ok());
        let mut no_exp = claims(json!({}));
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(verifier().verify(&hs(&no_exp, Algorithm::HS256, SECRET)), Err(TokenError::Expired));
    }

    #[test]
    fn rejects_refresh_tokens_and_missing_user_ids() {
        let refresh = hs(&claims(json!({"token_type": "refresh"})), Algorithm::HS256, SECRET);
        assert_eq!(verifier().verify(&refresh), Err(TokenError::NotAccessToken));
        for bad in [json!({"user_id": null}), json!({"user_id": ""}), json!({"user_id": true})] {
            let token = hs(&claims(bad), Algorithm::HS256, SECRET);
            assert_eq!(verifier().verify(&token), Err(TokenError::MissingUserId));
        }
        let mut missing = claims(json!({}));
        missing.as_object_mut().unwrap().remove("user_id");
        assert_eq!(verifier().verify(&hs(&missing, Algorithm::HS256, SECRET)), Err(TokenError::MissingUserId));
    }

    #[test]
    fn issuer_and_audience_when_configured() {
        let v = JwtVerifier::new(JwtAlgorithm::Hs256, SECRET, Some("crm".into()), Some("chat".into())).unwrap();
        let good = hs(&claims(json!({"iss": "crm", "aud": "chat"})), Algorithm::HS256, SECRET);
        assert!(v.verify(&good).is_ok());
        let wrong_iss = hs(&claims(json!({"iss": "other", "aud": "chat"})), Algorithm::HS256, SECRET);
        assert_eq!(v.verify(&wrong_iss), Err(TokenError::Issuer));
        let wrong_aud = hs(&claims(json!({"iss": "crm", "aud": "other"})), Algorithm::HS256, SECRET);
        assert_eq!(v.verify(&wrong_aud), Err(TokenError::Audience));
    }

    #[test]
    fn malformed_tokens() {
        for bad in ["", "abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.!!!.sig"] {
            assert!(verifier().verify(bad).is_err(), "{bad:?}");
        }
        assert_eq!(verifier().verify("abc"), Err(TokenError::Malformed));
    }

    #[test]
    fn public_key_algorithms() {
        let rs = JwtVerifier::new(JwtAlgorithm::Rs256, RSA_PUBLIC, None, None).unwrap();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &claims(json!({})),
            &EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(rs.verify(&token).unwrap().user_id, "12");
        let es = JwtVerifier::new(JwtAlgorithm::Es256, EC_PUBLIC, None, None).unwrap();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::ES256),
            &claims(json!({})),
            &EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(es.verify(&token).unwrap().user_id, "12");
        assert_eq!(rs.verify(&token), Err(TokenError::Algorithm));
        assert!(JwtVerifier::new(JwtAlgorithm::Rs256, "not a pem", None, None).is_err());
        assert_eq!(JwtVerifier::new(JwtAlgorithm::Hs256, "", None, None).err(), Some(JwtConfigError::EmptySecret));
    }
}
