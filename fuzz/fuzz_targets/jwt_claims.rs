//! The claims set and header of a JWT once its signature verified (the
//! part of verification no forged token reaches): the input is a header
//! and a payload separated by a NUL byte, signed here with the verifier's
//! key, then verified.
//!
//! Holds: no panic; what verifies as an access (or refresh) token has that
//! `token_type`, an unexpired numeric `exp`, and the `user_id` and `jti`
//! of its payload; the header's `alg` is the key's.
#![no_main]

use std::sync::LazyLock;

use auth_core::token::jwt::{Jwt, JwtKey};
use auth_fuzz::jws::{NOW, signing_key, verifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static SETUP: LazyLock<(JwtKey, Jwt)> = LazyLock::new(|| (signing_key(), verifier().1));

/// A claim as the token's payload has it, as a string (simplejwt's
/// `user_id` may be a number).
fn claim(payload: &Value, name: &str) -> Option<String> {
    match payload.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (header, payload) = (&data[..split], &data[split + 1..]);
    let (key, jwt) = &*SETUP;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = key.sign(input.as_bytes()).expect("HMAC signs anything");
    let token = format!("{input}.{signature}");
    let now = chrono::DateTime::from_timestamp(NOW, 0).expect("a time");

    let any = jwt.verify_any_at(&token, now);
    let access = jwt.verify_access_at(&token, now);
    let refresh = jwt.verify_refresh_at(&token, now);
    if !(any.is_ok() || access.is_ok() || refresh.is_ok()) {
        return;
    }
    let header: Value = serde_json::from_slice(header).expect("an accepted header is JSON");
    assert_eq!(
        header["alg"], "HS256",
        "accepted a header naming another alg"
    );
    let payload: Value = serde_json::from_slice(payload).expect("accepted claims are JSON");
    assert!(
        payload.is_object(),
        "accepted claims that are not an object"
    );
    let exp = payload["exp"]
        .as_f64()
        .expect("accepted a token without a numeric exp");
    assert!(exp >= NOW as f64, "accepted an expired token");
    if let Ok(claims) = &access {
        assert_eq!(payload["token_type"], "access");
        assert_eq!(Some(claims.user_id.clone()), claim(&payload, "user_id"));
        assert_eq!(Some(claims.jti.clone()), claim(&payload, "jti"));
    }
    if let Ok(claims) = &refresh {
        assert_eq!(payload["token_type"], "refresh");
        assert_eq!(Some(claims.user_id.clone()), claim(&payload, "user_id"));
        assert_eq!(Some(claims.jti.clone()), claim(&payload, "jti"));
    }
    assert!(
        any.is_ok(),
        "a typed verification passed where the untyped failed"
    );
});
