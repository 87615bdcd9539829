//! Every public function that parses outside input answers every string,
//! however odd, without panicking (#21.14): the Authorization header, Knox
//! and static token shapes, link-token `uid` and token, and compact JWS.
//!
//! The strings are built around the lengths those parsers care about (15,
//! 40, 64 and 71 characters, with and without a prefix): each of a handful
//! of multi-byte and control characters is put at, and in place of, every
//! position of tokens of those lengths, beside empty, huge and random
//! strings from a fixed seed.

use auth_core::config::AuthConfig;
use auth_core::events::ClientInfo;
use auth_core::flows::{LinkConfirmation, ResetConfirmation};
use auth_core::link_token::{LinkTokens, Purpose, decode_uid};
use auth_core::token::jwt::issued_at_millis;
use auth_core::token::knox::{KnoxTokenFormat, token_key};
use auth_core::token::static_token::StaticTokens;
use auth_core::{Auth, User};
use chrono::{Duration, Utc};

/// Characters of every UTF-8 width, controls, and the odd code points.
const ODD: [char; 10] = [
    'é',
    '€',
    '😀',
    '\u{0}',
    '\u{7f}',
    '\u{FFFD}',
    '\u{10FFFF}',
    '\u{200B}',
    ' ',
    '.',
];

/// Shapes of the lengths that matter, with each odd character inserted at
/// and substituted for every position.
fn hostile_strings() -> Vec<String> {
    let hex = "0123456789abcdef".repeat(8);
    let mut bases: Vec<String> = [0, 1, 14, 15, 16, 39, 40, 41, 63, 64, 65, 70, 71, 72]
        .iter()
        .map(|&n| hex[..n].to_string())
        .collect();
    bases.push(format!("{}_abcdef", &hex[..64]));
    bases.push(format!("app_{}", &hex[..64]));
    bases.push(format!("app_{}_abcdef", &hex[..64]));
    bases.push("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln".to_string());
    bases.push("AZN4oH8Aegqgz0m3gJsXzg".to_string());
    bases.push("smqv7u-0123456789abcdef0123456789abcdef".to_string());
    let mut out = Vec::new();
    for base in &bases {
        let chars: Vec<char> = base.chars().collect();
        for at in 0..=chars.len() {
            for odd in ODD {
                let mut inserted = chars.clone();
                inserted.insert(at, odd);
                out.push(inserted.into_iter().collect());
                if at < chars.len() {
                    let mut replaced = chars.clone();
                    replaced[at] = odd;
                    out.push(replaced.into_iter().collect());
                }
            }
        }
        out.push(base.clone());
    }
    out.push(String::new());
    out.push("é".repeat(100_000));
    out.push(format!(
        "{}.{}.{}",
        "a".repeat(5000),
        "b".repeat(5000),
        "c".repeat(5000)
    ));
    out.extend(random_strings(2000));
    out
}

/// Strings of random length and characters, from a fixed seed.
fn random_strings(count: usize) -> Vec<String> {
    let pool: Vec<char> = "0123456789abcdefABCDEF_-.= \t\u{0}\u{1}é€😀\u{FFFD}\u{10FFFF}"
        .chars()
        .collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = (next() % 160) as usize;
            (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect()
        })
        .collect()
}

#[test]
fn token_shapes_never_panic() {
    let formats = [
        KnoxTokenFormat::default(),
        KnoxTokenFormat::new("app_", true).unwrap(),
        KnoxTokenFormat::new("app_", false).unwrap(),
        KnoxTokenFormat::new("", true).unwrap(),
    ];
    for input in hostile_strings() {
        for format in &formats {
            let _ = format.is_well_formed(&input);
        }
        let _ = token_key(&input);
        let _ = StaticTokens::is_well_formed(&input);
        let _ = decode_uid(&input);
    }
}

#[test]
fn link_tokens_never_panic() {
    let tokens = LinkTokens::new(&auth_core::config::SecretKey::generate());
    let user = User::new_for_tests("ada", "ada@example.com");
    let now = Utc::now();
    for input in hostile_strings() {
        for purpose in [Purpose::Activation, Purpose::PasswordReset] {
            assert!(!tokens.check(purpose, &user, &input, now, Duration::days(3)));
        }
    }
}

#[tokio::test]
async fn authenticate_header_and_jwt_never_panic() {
    let auth = Auth::in_memory(AuthConfig::default());
    for input in hostile_strings() {
        for header in [
            input.clone(),
            format!("Token {input}"),
            format!("Bearer {input}"),
        ] {
            assert!(
                auth.authenticate_header(Some(&header)).await.is_err(),
                "{header:?} authenticated"
            );
        }
        assert!(auth.jwt().verify_any(&input).is_err());
        assert!(auth.jwt().keys().verify_jws(&input).is_err());
        for iat in [i64::MIN, -1, 0, 1_800_000_000, i64::MAX] {
            let _ = issued_at_millis(&input, iat);
        }
    }
}

#[tokio::test]
async fn link_flows_never_panic() {
    let auth = Auth::in_memory(AuthConfig::default());
    let client = ClientInfo::default();
    for input in hostile_strings().into_iter().step_by(7) {
        let link = LinkConfirmation {
            uid: input.clone(),
            token: input.clone(),
        };
        assert!(auth.activate(link, &client).await.is_err());
        let reset = ResetConfirmation {
            uid: input.clone(),
            token: input,
            new_password: "Kettle-Orbit-42".into(),
            confirm_password: "Kettle-Orbit-42".into(),
        };
        assert!(auth.confirm_password_reset(reset, &client).await.is_err());
    }
}
