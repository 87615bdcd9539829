//! `Auth::authenticate_header`: any `Authorization` value, against a
//! service holding one user with a live JWT, Knox and static token. The
//! placeholders `{access}`, `{refresh}`, `{knox}`, `{static}` in the input
//! become those tokens, so the corpus reaches the success paths.
//!
//! Holds: no panic; a value authenticates only as the fixture user, and
//! only when its credential is, byte for byte, one of the user's live
//! tokens of the kind its keyword names.
#![no_main]

use std::sync::LazyLock;

use auth_core::flows::Credential;
use auth_fuzz::{Fixture, runtime};
use libfuzzer_sys::fuzz_target;

static SETUP: LazyLock<(tokio::runtime::Runtime, Fixture)> = LazyLock::new(|| {
    let rt = runtime();
    let fixture = Fixture::new(&rt);
    (rt, fixture)
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rt, fixture) = &*SETUP;
    let header = fixture.fill(text);
    let outcome = rt.block_on(fixture.auth.authenticate_header(Some(&header)));
    let mut parts = header.split_ascii_whitespace();
    let keyword = parts.next().unwrap_or("");
    let credential = parts.next().unwrap_or("");
    match outcome {
        Ok(who) => {
            assert_eq!(
                who.user.id, fixture.user.id,
                "authenticated as someone else"
            );
            assert!(
                parts.next().is_none(),
                "a header with three words authenticated"
            );
            match who.credential {
                Credential::Jwt(_) => {
                    assert!(keyword.eq_ignore_ascii_case("bearer"));
                    assert_eq!(credential, fixture.access, "a JWT that was never issued");
                }
                Credential::Knox(_) => {
                    assert!(keyword.eq_ignore_ascii_case("token"));
                    assert_eq!(
                        credential, fixture.knox,
                        "a Knox token that was never issued"
                    );
                }
                Credential::Static => {
                    assert!(keyword.eq_ignore_ascii_case("token"));
                    assert_eq!(
                        credential, fixture.static_token,
                        "a static token never issued"
                    );
                }
                other => panic!("an unexpected credential {other:?}"),
            }
        }
        // Refusals are 401s; anything else (a store error) is a finding.
        Err(err) => assert_eq!(
            auth_http::ApiResponse::from_error(&err).status,
            401,
            "authenticate_header failed with {err:?} for {header:?}"
        ),
    }
});
