//! The shape checks run on every presented Knox and static token before
//! any store lookup (auth-core `token::knox`, `token::static_token`).
//!
//! Holds: no panic; what passes is exactly the documented shape (prefix,
//! 64 hex characters, optionally `_` and a checksum that a one-character
//! change breaks; static: 40 lower-case hex characters); `token_key` is
//! the token's first 15 characters; a generated token passes.
#![no_main]

use auth_core::token::knox::{self, KnoxTokenFormat};
use auth_core::token::static_token::StaticTokens;
use libfuzzer_sys::fuzz_target;

fn formats() -> [KnoxTokenFormat; 3] {
    [
        KnoxTokenFormat::default(),
        KnoxTokenFormat::new("app_", true).expect("valid prefix"),
        KnoxTokenFormat::new("k-", false).expect("valid prefix"),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    for format in formats() {
        if format.is_well_formed(token) {
            let rest = &token[format.prefix().len()..];
            assert!(
                rest.len() == 64 || (rest.len() == 71 && rest.as_bytes()[64] == b'_'),
                "accepted a Knox token of another length: {token:?}"
            );
            assert!(
                rest.bytes().take(64).all(|b| b.is_ascii_hexdigit()),
                "accepted a Knox token that is not hex: {token:?}"
            );
        }
        let generated = format.generate();
        assert!(format.is_well_formed(generated.expose()));
    }
    let key = knox::token_key(token);
    assert!(token.starts_with(key));
    assert_eq!(key.chars().count(), token.chars().count().min(15));
    let digest = knox::digest(token);
    assert_eq!(digest.len(), 128);
    assert!(knox::digests_match(&digest, &digest));

    if StaticTokens::is_well_formed(token) {
        assert_eq!(token.len(), 40);
        assert!(
            token
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
    }
});
