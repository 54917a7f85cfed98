//! jsonwebtoken's cryptography over ring, the one crypto stack of the workspace (docs/decisions.md,
//! "One crypto stack"): jsonwebtoken is built without a backend of its own, and [`install`] makes
//! this its process-wide provider.
//!
//! Verification covers every algorithm jsonwebtoken knows, with the same ring algorithms rustls
//! already links to check certificates (HS256 and RS256 or ES256 are the ones a stack is
//! configured with; the others must still be answered, as refusals). Signing is HMAC only (the
//! demo seed and the tests issue HS256 tokens); RSA, ECDSA and EdDSA signing, which would link
//! private-key code no function uses, exist only for the tests (this crate's, and with the
//! `test-tokens` feature the end-to-end crate's).

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::{hmac, signature as sig};

/// Makes ring jsonwebtoken's provider for this process (once; later calls change nothing).
pub fn install() {
    let _ = PROVIDER.install_default();
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// A failed signature (jsonwebtoken only asks whether one is valid).
fn refused<E>(_: E) -> signature::Error {
    signature::Error::new()
}

fn hmac_algorithm(algorithm: Algorithm) -> Option<hmac::Algorithm> {
    match algorithm {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

fn family(algorithm: Algorithm) -> AlgorithmFamily {
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
        Algorithm::EdDSA => AlgorithmFamily::Ed,
        _ => AlgorithmFamily::Rsa,
    }
}

/// A signer or a verifier of one algorithm.
struct Key<K> {
    algorithm: Algorithm,
    key: K,
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    let algorithm = *algorithm;
    if key.family() != family(algorithm) {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    match hmac_algorithm(algorithm) {
        Some(hmac) => Ok(Box::new(Key { algorithm, key: hmac::Key::new(hmac, key.as_bytes()) })),
        #[cfg(any(test, feature = "test-tokens"))]
        None => test_signing::signer(algorithm, key),
        #[cfg(not(any(test, feature = "test-tokens")))]
        None => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

impl Signer<Vec<u8>> for Key<hmac::Key> {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.key, message).as_ref().to_vec())
    }
}

impl JwtSigner for Key<hmac::Key> {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let algorithm = *algorithm;
    if key.family() != family(algorithm) {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    if let Some(hmac) = hmac_algorithm(algorithm) {
        return Ok(Box::new(Key { algorithm, key: hmac::Key::new(hmac, key.try_get_as_bytes()?) }));
    }
    Ok(Box::new(Key { algorithm, key: key.clone() }))
}

impl Verifier<Vec<u8>> for Key<hmac::Key> {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        hmac::verify(&self.key, message, signature).map_err(refused)
    }
}

impl JwtVerifier for Key<hmac::Key> {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// The ring parameters of an RSA algorithm.
fn rsa_parameters(algorithm: Algorithm) -> &'static sig::RsaParameters {
    match algorithm {
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => &sig::RSA_PKCS1_2048_8192_SHA256,
    }
}

impl Verifier<Vec<u8>> for Key<DecodingKey> {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match (self.algorithm, self.key.kind()) {
            (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
            }
            (Algorithm::ES384, DecodingKeyKind::SecretOrDer(point)) => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P384_SHA384_FIXED, point).verify(message, signature)
            }
            (Algorithm::EdDSA, DecodingKeyKind::SecretOrDer(point)) => {
                sig::UnparsedPublicKey::new(&sig::ED25519, point).verify(message, signature)
            }
            (rsa, DecodingKeyKind::SecretOrDer(der)) => {
                sig::UnparsedPublicKey::new(rsa_parameters(rsa), der).verify(message, signature)
            }
            (rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                sig::RsaPublicKeyComponents { n, e }.verify(rsa_parameters(rsa), message, signature)
            }
        };
        checked.map_err(refused)
    }
}

impl JwtVerifier for Key<DecodingKey> {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// RSA, ECDSA and EdDSA signing, for the tests' tokens only.
#[cfg(any(test, feature = "test-tokens"))]
mod test_signing {
    use super::*;

    pub(super) fn signer(algorithm: Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
        Ok(Box::new(Key { algorithm, key: key.clone() }))
    }

    impl Signer<Vec<u8>> for Key<EncodingKey> {
        fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
            let rng = ring::rand::SystemRandom::new();
            let der = self.key.as_bytes();
            let ecdsa = |alg| {
                sig::EcdsaKeyPair::from_pkcs8(alg, der, &rng)
                    .map_err(refused)?
                    .sign(&rng, message)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(refused)
            };
            match self.algorithm {
                Algorithm::ES256 => ecdsa(&sig::ECDSA_P256_SHA256_FIXED_SIGNING),
                Algorithm::ES384 => ecdsa(&sig::ECDSA_P384_SHA384_FIXED_SIGNING),
                Algorithm::EdDSA => {
                    Ok(sig::Ed25519KeyPair::from_pkcs8(der).map_err(refused)?.sign(message).as_ref().to_vec())
                }
                rsa => {
                    let padding: &'static dyn sig::RsaEncoding = match rsa {
                        Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
                        Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
                        Algorithm::PS256 => &sig::RSA_PSS_SHA256,
                        Algorithm::PS384 => &sig::RSA_PSS_SHA384,
                        Algorithm::PS512 => &sig::RSA_PSS_SHA512,
                        _ => &sig::RSA_PKCS1_SHA256,
                    };
                    let pair = sig::RsaKeyPair::from_der(der).map_err(refused)?;
                    let mut signature = vec![0; pair.public().modulus_len()];
                    pair.sign(padding, &rng, message, &mut signature).map_err(refused)?;
                    Ok(signature)
                }
            }
        }
    }

    impl JwtSigner for Key<EncodingKey> {
        fn algorithm(&self) -> Algorithm {
            self.algorithm
        }
    }
}
