//! Knox-style opaque tokens, compatible with django-rest-knox's storage.
//!
//! A token is an optional prefix followed by 64 lower-case hex characters
//! of OS randomness (32 bytes). Only its SHA-512 hex digest is stored, with
//! its first 15 characters as the public `token_key` used to find
//! candidates; digests are compared in constant time. Rows copied from a
//! knox table (`token_key`, `digest`, `created`, `expiry`) keep working.
//!
//! Beyond knox, a token may end with a checksum (`_` and 6 base-62
//! characters of CRC-32 over the rest), so secret scanners can recognise a
//! leaked token and the service can reject a mistyped one without a store
//! round trip. The digest always covers the whole token, checksum included.
//!
//! ```
//! use auth_core::token::knox::{KnoxConfig, KnoxTokenFormat};
//! let format = KnoxTokenFormat::new("app_", true).unwrap();
//! let token = format.generate();
//! assert!(token.expose().starts_with("app_"));
//! assert!(format.is_well_formed(token.expose()));
//! assert_eq!(token.token_key().len(), 15);
//! assert_eq!(token.digest().len(), 128);
//! # let _ = KnoxConfig::default();
//! ```

use std::fmt;

use chrono::Duration;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::secret::random_bytes;
use crate::store::TokenLimit;

/// Characters of the token kept as the public `token_key` (knox's
/// `TOKEN_KEY_LENGTH`).
pub const TOKEN_KEY_LENGTH: usize = 15;
/// Hex characters of randomness in a token (knox's
/// `AUTH_TOKEN_CHARACTER_LENGTH`).
pub const TOKEN_HEX_LENGTH: usize = 64;
/// The longest prefix knox allows (`MAXIMUM_TOKEN_PREFIX_LENGTH`).
pub const MAX_PREFIX_LENGTH: usize = 10;
/// Length of the optional checksum suffix (`_` and 6 base-62 characters).
const CHECKSUM_LENGTH: usize = 7;

/// A Knox token's settings; `Default` gives knox's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnoxConfig {
    /// How tokens look.
    pub format: KnoxTokenFormat,
    /// Lifetime of a new token (knox's `TOKEN_TTL`, default 10 hours);
    /// `None` for tokens that never expire.
    pub ttl: Option<Duration>,
    /// Extend a token's expiry each time it is used (knox's `AUTO_REFRESH`,
    /// default off).
    pub auto_refresh: bool,
    /// Write a refreshed expiry only when it moves by more than this
    /// (knox's `MIN_REFRESH_INTERVAL`, default 60 s), sparing a write per
    /// request.
    pub min_refresh_interval: Duration,
    /// Auto-refresh never extends a token past `created` plus this (knox's
    /// `AUTO_REFRESH_MAX_TTL`, default none).
    pub max_lifetime: Option<Duration>,
    /// The per-user limit and what happens past it (knox's
    /// `TOKEN_LIMIT_PER_USER`, default none).
    pub limit: TokenLimit,
}

impl Default for KnoxConfig {
    fn default() -> Self {
        Self {
            format: KnoxTokenFormat::default(),
            ttl: Some(Duration::hours(10)),
            auto_refresh: false,
            min_refresh_interval: Duration::seconds(60),
            max_lifetime: None,
            limit: TokenLimit::Unlimited,
        }
    }
}

/// The shape of Knox tokens: an optional prefix and an optional checksum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnoxTokenFormat {
    prefix: String,
    checksum: bool,
}

/// A prefix knox would not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a token prefix must be at most 10 ASCII letters, digits, '_' or '-'")]
pub struct InvalidPrefix;

impl KnoxTokenFormat {
    /// Tokens starting with `prefix` (at most 10 ASCII letters, digits, `_`
    /// or `-`), with a checksum suffix when `checksum` is true.
    pub fn new(prefix: &str, checksum: bool) -> Result<Self, InvalidPrefix> {
        if prefix.len() > MAX_PREFIX_LENGTH
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(InvalidPrefix);
        }
        Ok(Self {
            prefix: prefix.to_string(),
            checksum,
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether new tokens carry a checksum.
    pub fn has_checksum(&self) -> bool {
        self.checksum
    }

    /// A new token from 32 bytes of OS randomness.
    pub fn generate(&self) -> KnoxSecret {
        let mut token =
            String::with_capacity(self.prefix.len() + TOKEN_HEX_LENGTH + CHECKSUM_LENGTH);
        token.push_str(&self.prefix);
        token.push_str(&hex::encode(random_bytes::<32>()));
        if self.checksum {
            let sum = checksum(&token);
            token.push('_');
            token.push_str(&sum);
        }
        KnoxSecret(token)
    }

    /// Whether `token` has this format's shape (a cheap check before any
    /// store lookup). Tokens without the configured checksum are accepted
    /// too, so rows imported from knox keep working; a token that carries
    /// a checksum must carry the right one.
    pub fn is_well_formed(&self, token: &str) -> bool {
        let Some(rest) = token.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        // Checked, not sliced: a multi-byte character may sit at any byte.
        let (Some(body), Some(suffix)) =
            (rest.get(..TOKEN_HEX_LENGTH), rest.get(TOKEN_HEX_LENGTH..))
        else {
            return false;
        };
        if !body.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        if suffix.is_empty() {
            return true;
        }
        match suffix.strip_prefix('_') {
            Some(sum) if suffix.len() == CHECKSUM_LENGTH => {
                let signed = token
                    .get(..self.prefix.len() + TOKEN_HEX_LENGTH)
                    .unwrap_or("");
                checksum(signed).as_bytes().ct_eq(sum.as_bytes()).into()
            }
            _ => false,
        }
    }
}

/// A freshly issued Knox token. It is shown to the client once; only its
/// digest is stored. `Debug` prints its `token_key` only.
#[derive(Clone, PartialEq, Eq)]
pub struct KnoxSecret(String);

impl fmt::Debug for KnoxSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KnoxSecret({}...)", self.token_key())
    }
}

impl KnoxSecret {
    /// The token itself, to hand to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its public `token_key`.
    pub fn token_key(&self) -> &str {
        token_key(&self.0)
    }

    /// Its stored digest.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

/// The `token_key` of any presented token: its first 15 characters (fewer
/// if it is shorter, which then matches nothing).
pub fn token_key(token: &str) -> &str {
    let end = token
        .char_indices()
        .nth(TOKEN_KEY_LENGTH)
        .map_or(token.len(), |(i, _)| i);
    &token[..end]
}

/// Knox's digest: SHA-512 of the token's UTF-8 bytes, lower-case hex.
///
/// ```
/// let digest = auth_core::token::knox::digest("abc");
/// assert!(digest.starts_with("ddaf35a193617aba"));
/// ```
pub fn digest(token: &str) -> String {
    hex::encode(Sha512::digest(token.as_bytes()))
}

/// Compares two hex digests in constant time.
pub fn digests_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// CRC-32 (IEEE) of `data` as 6 base-62 characters.
fn checksum(data: &str) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = u64::from(crc32(data.as_bytes()));
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Bitwise CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn plain_tokens_look_like_knox_tokens() {
        let format = KnoxTokenFormat::default();
        let token = format.generate();
        assert_eq!(token.expose().len(), 64);
        assert!(token.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(token.token_key(), &token.expose()[..15]);
        assert!(format.is_well_formed(token.expose()));
        assert_ne!(format.generate(), token);
    }

    #[test]
    fn checksums_catch_typos() {
        let format = KnoxTokenFormat::new("tok_", true).unwrap();
        let token = format.generate();
        let text = token.expose();
        assert_eq!(text.len(), 4 + 64 + 7);
        assert!(format.is_well_formed(text));
        // Change one hex character: the checksum no longer matches.
        let mut bad = text.to_string().into_bytes();
        bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
        assert!(!format.is_well_formed(std::str::from_utf8(&bad).unwrap()));
        // A token without checksum (imported from knox) is still accepted.
        assert!(format.is_well_formed(&text[..4 + 64]));
        assert!(!format.is_well_formed(&text[4..]), "prefix required");
    }

    #[test]
    fn malformed_tokens() {
        let format = KnoxTokenFormat::default();
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65), &"é".repeat(32)] {
            assert!(!format.is_well_formed(bad), "{bad}");
        }
        assert_eq!(token_key("é"), "é");
        assert!(KnoxTokenFormat::new("far-too-long-prefix", false).is_err());
        assert!(KnoxTokenFormat::new("bad prefix", false).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let token = KnoxTokenFormat::default().generate();
        let debug = format!("{token:?}");
        assert!(!debug.contains(&token.expose()[15..]));
    }
}
