//! The server secret and the operating system's random bytes, which the
//! configuration and the token strategies both use (a module of its own,
//! so that neither imports the other for them).

use std::fmt;

/// A server secret (at least 32 bytes). It keys the emailed link tokens
/// and the derivation of static tokens; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

/// The shortest secret accepted, in bytes.
pub const SECRET_MIN_BYTES: usize = 32;

/// A secret that was too short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret key must be at least {SECRET_MIN_BYTES} bytes long")]
pub struct SecretTooShort;

impl SecretKey {
    /// A secret from bytes; fails when shorter than 32 bytes.
    ///
    /// ```
    /// use auth_core::config::SecretKey;
    /// assert!(SecretKey::from_bytes(b"too short".to_vec()).is_err());
    /// let key = SecretKey::from_bytes(vec![42; 32]).unwrap();
    /// assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
    /// ```
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretTooShort> {
        if bytes.len() < SECRET_MIN_BYTES {
            return Err(SecretTooShort);
        }
        Ok(Self(bytes))
    }

    /// 32 fresh bytes from the operating system's random generator.
    ///
    /// # Panics
    /// If the OS random generator fails, which leaves nothing safe to do.
    pub fn generate() -> Self {
        Self(random_bytes::<32>().to_vec())
    }

    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// `N` bytes from the operating system's random generator.
///
/// # Panics
/// If the OS random generator fails: no token can be made safely then.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random generator failed");
    bytes
}

/// Compares two byte strings in constant time (for equal lengths; the
/// lengths themselves are not secret, and differing lengths never match).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}
