//! The `uid` and `token` of an emailed link (auth-core `link_token`), as
//! activation and password reset read them.
//!
//! Holds: no panic; a `uid` that decodes re-encodes to itself (trimmed);
//! a token that checks is the one `make` gives for that user and time
//! (its time and MAC may differ only in letter case and the time in
//! leading zeros), and a
//! token of one purpose never checks for the other.
#![no_main]

use std::sync::LazyLock;

use auth_core::User;
use auth_core::link_token::{LinkTokens, Purpose, decode_uid, encode_uid};
use auth_fuzz::link::{self, NOW};
use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;

static SETUP: LazyLock<(LinkTokens, User)> = LazyLock::new(|| (link::tokens(), link::user()));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `uid` then `token`, as the two fields of the confirmation body.
    let (uid, token) = text.split_once('\n').unwrap_or((text, text));
    if let Some(id) = decode_uid(uid) {
        assert_eq!(encode_uid(id), uid.trim(), "a uid that does not round-trip");
    }
    let (tokens, user) = &*SETUP;
    let now: DateTime<Utc> = DateTime::from_timestamp(NOW, 0).expect("a time");
    let timeout = Duration::days(3);
    let activation = tokens.check(Purpose::Activation, user, token, now, timeout);
    let reset = tokens.check(Purpose::PasswordReset, user, token, now, timeout);
    assert!(
        !(activation && reset),
        "a token that passes for both purposes"
    );
    for (passed, purpose) in [
        (activation, Purpose::Activation),
        (reset, Purpose::PasswordReset),
    ] {
        if !passed {
            continue;
        }
        let (ts, mac) = token.split_once('-').expect("a checked token has a '-'");
        let seconds = i64::from_str_radix(ts, 36).expect("a checked token's time is base 36");
        let made_at = DateTime::from_timestamp(seconds, 0).expect("a checked time is a time");
        let made = tokens.make(purpose, user, made_at);
        // Hex is read in either case (the same MAC bytes).
        let made_mac = made.split_once('-').map(|(_, m)| m).unwrap_or_default();
        assert!(made_mac.eq_ignore_ascii_case(mac), "a MAC make never gives");
        assert!(seconds <= NOW && NOW - seconds <= timeout.num_seconds());
    }
});
