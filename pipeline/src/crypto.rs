//! Secrets at rest: AES-256-GCM sealing of instance secrets, and a `Secret` that never prints.

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;

/// Marks a sealed value; the version lets the format change without ambiguity.
const SEALED_PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("SECRETS_KEY must be 32 bytes encoded in base64")]
    BadKey,
    #[error("the value is not sealed (expected `enc:v1:…`)")]
    NotSealed,
    #[error("the sealed value does not open with this SECRETS_KEY")]
    WrongKeyOrCorrupt,
}

/// The 32-byte key from `SECRETS_KEY`.
#[derive(Clone)]
pub struct SecretsKey([u8; 32]);

impl FromStr for SecretsKey {
    type Err = CryptoError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| CryptoError::BadKey)?;
        Ok(Self(bytes.try_into().map_err(|_| CryptoError::BadKey)?))
    }
}

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(***)")
    }
}

/// A secret in memory. `Debug` and `Display` never show it; `expose` is the one way to read it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Seals and opens secrets with the deployment's key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    pub fn new(key: &SecretsKey) -> Self {
        Self {
            cipher: Aes256Gcm::new(&key.0.into()),
        }
    }

    /// `enc:v1:` + base64(nonce ‖ ciphertext ‖ tag), with a fresh random nonce each time.
    pub fn seal(&self, secret: &Secret) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), secret.expose().as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", BASE64.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<Secret, CryptoError> {
        let encoded = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(CryptoError::NotSealed)?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| CryptoError::WrongKeyOrCorrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::WrongKeyOrCorrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| CryptoError::WrongKeyOrCorrupt)?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| CryptoError::WrongKeyOrCorrupt)
    }
}

/// Whether `value` is in the sealed format.
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretsKey {
        BASE64.encode([byte; 32]).parse().unwrap()
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let sealer = Sealer::new(&key(7));
        let sealed = sealer.seal(&Secret::new("client-secret"));
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("client-secret"));
        assert_eq!(sealer.open(&sealed).unwrap().expose(), "client-secret");
        assert_eq!(
            Sealer::new(&key(8)).open(&sealed),
            Err(CryptoError::WrongKeyOrCorrupt)
        );
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let sealer = Sealer::new(&key(1));
        let secret = Secret::new("same");
        assert_ne!(sealer.seal(&secret), sealer.seal(&secret));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert_eq!(
            "c2hvcnQ=".parse::<SecretsKey>().err(),
            Some(CryptoError::BadKey)
        );
        assert_eq!(
            "not base64!".parse::<SecretsKey>().err(),
            Some(CryptoError::BadKey)
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
        assert_eq!(format!("{:?}", key(1)), "SecretsKey(***)");
    }
}
