//! Verifying the password hashes a Django project stores, so its users can
//! be imported and log in with their passwords; the first successful login
//! replaces the hash with an Argon2id one
//! ([`Verification::needs_rehash`](super::Verification::needs_rehash)).
//!
//! Supported formats (Django's `<algorithm>$<data>` strings):
//!
//! | format | Django hasher |
//! | --- | --- |
//! | `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` | `PBKDF2PasswordHasher` (the default) |
//! | `pbkdf2_sha1$<iterations>$<salt>$<base64 hash>` | `PBKDF2SHA1PasswordHasher` |
//! | `argon2$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>` | `Argon2PasswordHasher` (also `argon2i`) |
//! | `bcrypt_sha256$$2b$<cost>$<salt and hash>` | `BCryptSHA256PasswordHasher`, with the `bcrypt` feature |
//!
//! Anything else (Django's unsalted, MD5, crypt and plain bcrypt hashers,
//! unusable passwords starting with `!`) does not verify.
//!
//! Stored costs are capped so a corrupt or hostile row cannot make one
//! verification run for minutes: at most [`MAX_PBKDF2_ITERATIONS`] PBKDF2
//! iterations, bcrypt cost at most [`MAX_BCRYPT_COST`], Argon2 within
//! [`Argon2Params`](super::Argon2Params)' caps.
//!
//! ```
//! use auth_core::password::django;
//! // What Django makes for "lètmein" with `PBKDF2SHA1PasswordHasher`, with
//! // its iterations lowered to keep the example fast.
//! let encoded = "pbkdf2_sha1$1000$saltsalt$jfAVrdZCc4t8+ommFDlFZ6jrBLs=";
//! assert!(django::verify("lètmein", encoded));
//! assert!(!django::verify("letmein", encoded));
//! assert!(!django::verify("lètmein", "pbkdf2_sha1$1000$saltsalt$x"));
//! ```

use super::argon2_phc::verify_argon2_phc;
use crate::secret::constant_time_eq;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pbkdf2::pbkdf2_hmac_array;
use sha1::Sha1;
use sha2::Sha256;

/// The most PBKDF2 iterations a stored hash may ask for (ten times Django
/// 5.2's 1,000,000); more is refused rather than computed.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// The highest bcrypt cost a stored hash may ask for (Django uses 12; each
/// step doubles the work).
pub const MAX_BCRYPT_COST: u32 = 16;

/// True when `encoded` is a Django hash in a supported format (see the
/// [module docs](self)) and `password` matches it. Malformed input gives
/// `false`, never a panic. The derived keys are compared in constant time.
///
/// This is CPU-bound (Django's PBKDF2 default is 1,000,000 iterations): run
/// it off the async runtime, e.g. through [`Passwords`](super::Passwords).
pub fn verify(password: &str, encoded: &str) -> bool {
    check(password, encoded) == Some(true)
}

/// Like [`verify`], telling apart a hash that was checked (`Some`: whether
/// `password` matched) from one that could not be (`None`: malformed, an
/// unknown or unsupported format, Django's unusable `!...`, or above the
/// cost caps), which cost no work, so the caller can pay for a dummy
/// verification instead.
pub(crate) fn check(password: &str, encoded: &str) -> Option<bool> {
    let (algorithm, data) = encoded.split_once('$')?;
    match algorithm {
        "pbkdf2_sha256" => verify_pbkdf2(Prf::Sha256, password, data),
        "pbkdf2_sha1" => verify_pbkdf2(Prf::Sha1, password, data),
        // Django stores argon2-cffi's PHC string behind its own "argon2".
        "argon2" => {
            verify_argon2_phc(password.as_bytes(), &encoded["argon2".len()..]).map(|f| f.ok)
        }
        #[cfg(feature = "bcrypt")]
        "bcrypt_sha256" => verify_bcrypt_sha256(password, data),
        _ => None,
    }
}

/// The HMAC hash under PBKDF2.
#[derive(Debug, Clone, Copy)]
enum Prf {
    Sha256,
    Sha1,
}

impl Prf {
    /// Django's derived key length: the digest size.
    fn output_len(self) -> usize {
        match self {
            Prf::Sha256 => 32,
            Prf::Sha1 => 20,
        }
    }

    /// The derived key, of [`output_len`](Self::output_len) bytes; `None`
    /// for 0 rounds.
    fn derive(self, password: &[u8], salt: &[u8], rounds: u32) -> Option<Vec<u8>> {
        if rounds == 0 {
            return None;
        }
        Some(match self {
            Prf::Sha256 => pbkdf2_hmac_array::<Sha256, 32>(password, salt, rounds).to_vec(),
            Prf::Sha1 => pbkdf2_hmac_array::<Sha1, 20>(password, salt, rounds).to_vec(),
        })
    }
}

/// `<iterations>$<salt>$<base64 hash>`: the salt is used as its UTF-8
/// bytes, the hash is standard base64 with padding.
fn verify_pbkdf2(prf: Prf, password: &str, data: &str) -> Option<bool> {
    let mut parts = data.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(hash)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let iterations = parse_iterations(iterations)?;
    let expected = STANDARD.decode(hash).ok()?;
    if expected.len() != prf.output_len() {
        return None;
    }
    prf.derive(password.as_bytes(), salt.as_bytes(), iterations)
        .map(|derived| constant_time_eq(&derived, &expected))
}

/// Plain decimal digits without leading zeros (as Django writes them), 1 to
/// [`MAX_PBKDF2_ITERATIONS`].
fn parse_iterations(text: &str) -> Option<u32> {
    if text.is_empty()
        || text.len() > 10
        || text.starts_with('0')
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let iterations: u64 = text.parse().ok()?;
    if iterations == 0 {
        return None;
    }
    if iterations > u64::from(MAX_PBKDF2_ITERATIONS) {
        tracing::warn!(
            iterations,
            "refusing to verify a stored PBKDF2 hash above the iteration cap"
        );
        return None;
    }
    u32::try_from(iterations).ok()
}

/// `$2b$<cost>$<salt and hash>`: bcrypt over the lower-case hex of
/// SHA-256(password), as Django does to avoid bcrypt's 72-byte truncation.
#[cfg(feature = "bcrypt")]
fn verify_bcrypt_sha256(password: &str, data: &str) -> Option<bool> {
    use sha2::{Digest, Sha256};

    // `$2b$12$` + 53 characters; check the cost before any work.
    let cost = data.get(4..6).and_then(|c| c.parse::<u32>().ok())?;
    if data.len() != 60 {
        return None;
    }
    if cost > MAX_BCRYPT_COST {
        tracing::warn!(
            cost,
            "refusing to verify a stored bcrypt hash above the cost cap"
        );
        return None;
    }
    let digest = hex::encode(Sha256::digest(password.as_bytes()));
    // The bcrypt crate compares the hashes in constant time (subtle); it
    // fails only on a malformed hash, before the work.
    bcrypt::non_truncating_verify(digest.as_bytes(), data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pbkdf2_hash(prf: Prf, password: &str, salt: &str, rounds: u32) -> String {
        STANDARD.encode(
            prf.derive(password.as_bytes(), salt.as_bytes(), rounds)
                .unwrap(),
        )
    }

    /// RFC 6070's first PBKDF2-HMAC-SHA1 vectors, through Django's format.
    #[test]
    fn rfc6070_pbkdf2_sha1() {
        // "password", "salt", 1 and 2 iterations, 20 bytes.
        assert!(verify(
            "password",
            "pbkdf2_sha1$1$salt$DGDID5YfDnHzqbUkr2ASBi/gN6Y="
        ));
        assert!(verify(
            "password",
            "pbkdf2_sha1$2$salt$6mwBTcctb4zNHtkqzh1B8NjeiVc="
        ));
        assert!(!verify(
            "passwore",
            "pbkdf2_sha1$2$salt$6mwBTcctb4zNHtkqzh1B8NjeiVc="
        ));
    }

    #[test]
    fn own_pbkdf2_hashes_round_trip() {
        for (prf, name) in [(Prf::Sha256, "pbkdf2_sha256"), (Prf::Sha1, "pbkdf2_sha1")] {
            let hash = pbkdf2_hash(prf, "pässwörd", "NaCl-ü", 1000);
            let encoded = format!("{name}$1000$NaCl-ü${hash}");
            assert!(verify("pässwörd", &encoded));
            assert!(!verify("passwörd", &encoded));
            assert!(!verify("pässwörd", &format!("{name}$1001$NaCl-ü${hash}")));
            assert!(!verify("pässwörd", &format!("{name}$1000$NaCl-u${hash}")));
        }
    }

    #[test]
    fn malformed_django_hashes_fail() {
        let hash = pbkdf2_hash(Prf::Sha256, "pw", "salt", 10);
        assert!(verify("pw", &format!("pbkdf2_sha256$10$salt${hash}")));
        let unpadded = hash.trim_end_matches('=');
        for encoded in [
            String::new(),
            "pbkdf2_sha256".into(),
            "pbkdf2_sha256$".into(),
            "pbkdf2_sha256$10".into(),
            "pbkdf2_sha256$10$salt".into(),
            "pbkdf2_sha256$notanumber$x$y".into(),
            format!("pbkdf2_sha256$notanumber$salt${hash}"),
            format!("pbkdf2_sha256$0$salt${hash}"),
            format!("pbkdf2_sha256$-10$salt${hash}"),
            format!("pbkdf2_sha256$+10$salt${hash}"),
            format!("pbkdf2_sha256$ 10$salt${hash}"),
            format!("pbkdf2_sha256$1000000000000$salt${hash}"),
            format!("pbkdf2_sha256$99999999999999999999999$salt${hash}"),
            format!("pbkdf2_sha256$4294967295$salt${hash}"),
            format!("pbkdf2_sha256$10000001$salt${hash}"),
            format!("pbkdf2_sha256$10$salt${unpadded}"),
            format!("pbkdf2_sha256$10$salt${hash}$"),
            format!("pbkdf2_sha256$10$salt$${hash}"),
            format!("pbkdf2_sha1$10$salt${hash}"),
            format!("PBKDF2_SHA256$10$salt${hash}"),
            "pbkdf2_sha256$10$salt$AAAA".into(),
            "pbkdf2_sha256$10$salt$ü".into(),
            "argon2$".into(),
            "argon2$argon2id$".into(),
            "argon2argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA".into(),
            "bcrypt_sha256$$2b$12$".into(),
            "bcrypt_sha256$$2b$31$s/07HNMvSLCMi9ulJF9OGOkOIsabX17lIZxhoMuEhlWwLYwAZD2va".into(),
            "bcrypt_sha256$$2b$ü2$s/07HNMvSLCMi9ulJF9OGOkOIsabX17lIZxhoMuEhlWwLYwAZD2v".into(),
            "bcrypt$$2b$12$s/07HNMvSLCMi9ulJF9OGOkOIsabX17lIZxhoMuEhlWwLYwAZD2va".into(),
            "md5$salt$0123456789abcdef0123456789abcdef".into(),
            "sha1$salt$0123456789abcdef0123456789abcdef01234567".into(),
            "!".into(),
            "!unusable-password".into(),
        ] {
            assert!(!verify("pw", &encoded), "{encoded:?}");
        }
    }

    #[test]
    fn iteration_parsing() {
        assert_eq!(parse_iterations("1"), Some(1));
        assert_eq!(parse_iterations("10000000"), Some(MAX_PBKDF2_ITERATIONS));
        for bad in ["", "0", "0001", "10000001", "1e6", "١٢", "99999999999"] {
            assert_eq!(parse_iterations(bad), None, "{bad:?}");
        }
    }
}
