//! Compact JWS parsing and verification (auth-core `token::jwt`): any
//! string as a token, against a key set and the JWT verifier.
//!
//! Holds: no panic; a token that verifies was signed by one of the keys
//! (its signature is the key's HMAC over the token's own `header.payload`,
//! recomputed here independently of the library); its parts are canonical
//! base64url, so the verified payload re-encodes to the token's payload
//! part; a token whose claims verify also verifies as a JWS.
#![no_main]

use std::sync::LazyLock;

use auth_core::token::jwt::{Jwt, KeySet};
use auth_fuzz::jws::{NOW, OLD, SIGNING, verifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;

struct Keys {
    keys: KeySet,
    jwt: Jwt,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let (keys, jwt) = verifier();
    Keys { keys, jwt }
});

fn mac_matches<M: Mac + hmac::digest::KeyInit>(secret: &[u8], input: &[u8], tag: &[u8]) -> bool {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(input);
    mac.verify_slice(tag).is_ok()
}

/// Whether `token` carries a valid HMAC of one of the keys, recomputed
/// without the library.
fn signed_by_a_key(token: &str) -> bool {
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let input = input.as_bytes();
    mac_matches::<Hmac<sha2::Sha256>>(SIGNING, input, &tag)
        || mac_matches::<Hmac<sha2::Sha512>>(OLD, input, &tag)
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let keys = &*KEYS;
    let verified = keys.keys.verify_jws(token);
    if let Ok(jws) = &verified {
        assert!(
            signed_by_a_key(token),
            "verified a token no key signed: {token:?}"
        );
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "verified a token that is not three parts");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&jws.payload),
            parts[1],
            "the verified payload is not the token's payload part"
        );
    }
    let now = chrono::DateTime::from_timestamp(NOW, 0).expect("a time");
    let any = keys.jwt.verify_any_at(token, now);
    let access = keys.jwt.verify_access_at(token, now);
    let refresh = keys.jwt.verify_refresh_at(token, now);
    if any.is_ok() || access.is_ok() || refresh.is_ok() {
        assert!(
            verified.is_ok(),
            "claims accepted from an unverified JWS: {token:?}"
        );
    }
    assert!(
        !(access.is_ok() && refresh.is_ok()),
        "a token of both types"
    );
    if let Ok(claims) = access {
        assert!(claims.exp > NOW - 1, "an expired access token verified");
    }
});
