//! Proof Key for Code Exchange (RFC 7636): the syntax of verifiers and
//! challenges, and the check at the token endpoint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::PkceMethod;
use crate::secret::constant_time_eq;

/// The shortest verifier or challenge RFC 7636 allows.
const MIN_LEN: usize = 43;
/// The longest.
const MAX_LEN: usize = 128;

/// Whether `value` has the syntax of a `code_verifier` (RFC 7636 §4.1):
/// 43 to 128 characters, each an unreserved one (`A-Z a-z 0-9 - . _ ~`).
/// A `plain` challenge has the same syntax.
pub fn is_valid_verifier(value: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `challenge` can be a `code_challenge` of `method`: an `S256`
/// challenge is 43 base64url characters (a SHA-256 digest), a `plain` one
/// has a verifier's syntax.
pub fn is_valid_challenge(method: PkceMethod, challenge: &str) -> bool {
    match method {
        PkceMethod::S256 => {
            challenge.len() == MIN_LEN
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        }
        PkceMethod::Plain => is_valid_verifier(challenge),
    }
}

/// The `S256` challenge of a verifier: `BASE64URL(SHA256(verifier))`
/// without padding.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` proves `challenge` under `method`: the verifier must
/// have the RFC's syntax, and its transform is compared with the challenge
/// in constant time.
pub fn verify_pkce(method: PkceMethod, challenge: &str, verifier: &str) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    match method {
        PkceMethod::S256 => {
            constant_time_eq(s256_challenge(verifier).as_bytes(), challenge.as_bytes())
        }
        PkceMethod::Plain => constant_time_eq(verifier.as_bytes(), challenge.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        assert!(verify_pkce(PkceMethod::S256, CHALLENGE, VERIFIER));
        assert!(is_valid_challenge(PkceMethod::S256, CHALLENGE));
    }

    #[test]
    fn wrong_verifiers_fail() {
        let mut other = VERIFIER.to_string();
        other.replace_range(0..1, "e");
        assert!(!verify_pkce(PkceMethod::S256, CHALLENGE, &other));
        // The challenge given as the verifier (a client confusing the two).
        assert!(!verify_pkce(PkceMethod::S256, CHALLENGE, CHALLENGE));
        assert!(!verify_pkce(PkceMethod::S256, CHALLENGE, ""));
        // plain compares the strings themselves.
        assert!(verify_pkce(PkceMethod::Plain, VERIFIER, VERIFIER));
        assert!(!verify_pkce(PkceMethod::Plain, CHALLENGE, VERIFIER));
    }

    #[test]
    fn verifier_syntax() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"~._-Az09".repeat(16)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        for bad in ["+", "/", "=", " ", "é", "%41", "\0"] {
            let value = format!("{}{bad}", "a".repeat(43));
            assert!(!is_valid_verifier(&value), "{value:?}");
        }
        // A plain challenge of bad syntax can never be matched.
        assert!(!verify_pkce(PkceMethod::Plain, "short", "short"));
    }

    #[test]
    fn challenge_syntax() {
        assert!(!is_valid_challenge(PkceMethod::S256, &"a".repeat(44)));
        assert!(!is_valid_challenge(
            PkceMethod::S256,
            &format!("{}=", "a".repeat(42))
        ));
        assert!(!is_valid_challenge(
            PkceMethod::S256,
            &format!("{}~", "a".repeat(42))
        ));
        assert!(is_valid_challenge(PkceMethod::Plain, VERIFIER));
    }
}
