//! DRF-style static tokens: one per user, get-or-create, delete.
//!
//! A token looks like DRF's (40 lower-case hex characters) but is never
//! stored. The store keeps its SHA-256 digest, to find it, and a random
//! seed; the token is HMAC-SHA256 of the user id and the seed under a key
//! derived from the server secret. So get-or-create can hand the same token
//! out again, while a database dump alone (digest and seed, without the
//! secret) yields no usable token.
//!
//! A key imported from Django REST framework's `authtoken_token` table
//! ([`StaticTokens::imported_record`]) is stored as its digest only, with
//! no seed: it authenticates as before, but cannot be shown again, so a
//! static-token login of its user replaces it with a token made here.
//!
//! ```
//! use auth_core::config::SecretKey;
//! use auth_core::token::static_token::StaticTokens;
//! use auth_core::UserId;
//! let tokens = StaticTokens::new(&SecretKey::generate());
//! let user = UserId::new();
//! let (record, token) = tokens.new_record(user, chrono::Utc::now());
//! assert_eq!(token.len(), 40);
//! assert_eq!(tokens.token_for(&record).as_deref(), Some(token.as_str()));
//! assert_eq!(StaticTokens::digest(&token), record.digest);
//! ```

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::{SecretKey, random_bytes};
use crate::store::StaticTokenRecord;
use crate::user::UserId;

type HmacSha256 = Hmac<Sha256>;

/// Hex characters in a static token (DRF's key length).
pub const STATIC_TOKEN_LENGTH: usize = 40;

/// Derives and checks static tokens with the server secret.
#[derive(Clone)]
pub struct StaticTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticTokens([redacted])")
    }
}

impl StaticTokens {
    /// Token maker keyed by `secret`.
    pub fn new(secret: &SecretKey) -> Self {
        let mut mac = HmacSha256::new_from_slice(b"auth-core.static-token")
            .expect("HMAC accepts keys of any length");
        mac.update(secret.expose());
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn derive(&self, user: UserId, seed: &str) -> String {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(user.as_bytes());
        mac.update(seed.as_bytes());
        let bytes = mac.finalize().into_bytes();
        hex::encode(&bytes[..STATIC_TOKEN_LENGTH / 2])
    }

    /// A new record for `user` (a fresh random seed) and its token.
    pub fn new_record(&self, user: UserId, now: DateTime<Utc>) -> (StaticTokenRecord, String) {
        let seed = hex::encode(random_bytes::<16>());
        let token = self.derive(user, &seed);
        let record = StaticTokenRecord {
            user_id: user,
            digest: Self::digest(&token),
            seed: Some(seed),
            created: now,
        };
        (record, token)
    }

    /// The record of a key imported from Django REST framework
    /// (`authtoken_token.key` of `user`, created at `created`): its digest
    /// and no seed, so the key is verified by digest and never stored.
    /// `None` when `key` is not a DRF key (40 lower-case hex characters),
    /// which [`is_well_formed`](Self::is_well_formed) would refuse anyway.
    ///
    /// ```
    /// use auth_core::token::static_token::StaticTokens;
    /// let key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b";
    /// let record = StaticTokens::imported_record(auth_core::UserId::new(), key, chrono::Utc::now())
    ///     .expect("a DRF key");
    /// assert_eq!(record.digest, StaticTokens::digest(key));
    /// assert_eq!(record.seed, None);
    /// assert!(StaticTokens::imported_record(record.user_id, "not-a-key", record.created).is_none());
    /// ```
    pub fn imported_record(
        user: UserId,
        key: &str,
        created: DateTime<Utc>,
    ) -> Option<StaticTokenRecord> {
        Self::is_well_formed(key).then(|| StaticTokenRecord {
            user_id: user,
            digest: Self::digest(key),
            seed: None,
            created,
        })
    }

    /// The token a stored record stands for, or `None` when it cannot be
    /// derived (the record was made under another server secret, or is an
    /// imported key, which has no seed).
    pub fn token_for(&self, record: &StaticTokenRecord) -> Option<String> {
        let token = self.derive(record.user_id, record.seed.as_deref()?);
        let digest = Self::digest(&token);
        bool::from(digest.as_bytes().ct_eq(record.digest.as_bytes())).then_some(token)
    }

    /// The stored digest of a token: SHA-256, lower-case hex.
    pub fn digest(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }

    /// Whether `token` has a static token's shape (40 lower-case hex
    /// characters), checked before any store lookup.
    pub fn is_well_formed(token: &str) -> bool {
        token.len() == STATIC_TOKEN_LENGTH
            && token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_made_under_another_secret_yield_nothing() {
        let a = StaticTokens::new(&SecretKey::from_bytes(vec![1; 32]).unwrap());
        let b = StaticTokens::new(&SecretKey::from_bytes(vec![2; 32]).unwrap());
        let (record, token) = a.new_record(UserId::new(), Utc::now());
        assert_eq!(a.token_for(&record), Some(token));
        assert_eq!(b.token_for(&record), None);
    }

    #[test]
    fn the_record_does_not_contain_the_token() {
        let tokens = StaticTokens::new(&SecretKey::generate());
        let (record, token) = tokens.new_record(UserId::new(), Utc::now());
        assert!(!record.digest.contains(&token));
        assert!(
            !record
                .seed
                .as_ref()
                .is_some_and(|seed| seed.contains(&token))
        );
        assert!(StaticTokens::is_well_formed(&token));
        assert!(!StaticTokens::is_well_formed(&token.to_uppercase()));
        assert!(!StaticTokens::is_well_formed(&token[1..]));
    }
}
