//! Conformance tests for [`OAuthCodeStore`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{assert_conflict, micros, now, race, random_hex};
use crate::oauth::{ApplicationId, AuthorizationCode, FamilyId, PkceMethod, Scopes};
use crate::store::{CodeUse, OAuthCodeStore};
use crate::user::UserId;

/// An unused code with a random digest, every optional field set, issued at
/// `created` and expiring at `expires`.
pub fn code(created: DateTime<Utc>, expires: DateTime<Utc>) -> AuthorizationCode {
    AuthorizationCode {
        digest: random_hex(32),
        application_id: ApplicationId::new(),
        user_id: UserId::new(),
        redirect_uri: "https://app.example/cb?next=%2F".into(),
        scopes: Scopes::parse("openid profile read:all").expect("valid scopes"),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some(PkceMethod::S256),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: micros(created, -1_000_001),
        family: FamilyId::new(),
        created,
        expires,
        used_at: None,
    }
}

/// A code issued now that expires in a minute (and so lives in a store
/// that expires records by itself).
fn fresh() -> AuthorizationCode {
    let t = now();
    code(t, t + Duration::seconds(60))
}

/// `insert_code`, which must succeed.
async fn insert(store: &dyn OAuthCodeStore, code: &AuthorizationCode) {
    store.insert_code(code).await.expect("insert_code failed");
}

/// `consume_code`, which must not fail.
async fn consume(store: &dyn OAuthCodeStore, digest: &str, at: DateTime<Utc>) -> CodeUse {
    store
        .consume_code(digest, at)
        .await
        .expect("consume_code failed")
}

/// Uses the stored, unused `code` a second after its creation, which must
/// give `First` with every field as stored and `used_at` set; returns it.
async fn use_first(store: &dyn OAuthCodeStore, code: &AuthorizationCode) -> AuthorizationCode {
    let at = micros(code.created, 1_000_001);
    let used = AuthorizationCode {
        used_at: Some(at),
        ..code.clone()
    };
    assert_eq!(
        consume(store, &code.digest, at).await,
        CodeUse::First(used.clone()),
        "the first exchange"
    );
    used
}

/// The first exchange gets `First` with every field as stored and
/// `used_at` set; every later one gets `Reused` with the first `used_at`.
pub async fn first_use_then_reused(store: Arc<dyn OAuthCodeStore>) {
    let code = fresh();
    insert(&*store, &code).await;
    let used = use_first(&*store, &code).await;
    let at = used.used_at.expect("used");
    for later in [micros(at, 1), micros(at, 30_000_000)] {
        assert_eq!(
            consume(&*store, &code.digest, later).await,
            CodeUse::Reused(used.clone()),
            "a later exchange is a replay"
        );
    }
}

/// `code`, which must not fail.
async fn read(store: &dyn OAuthCodeStore, digest: &str) -> Option<AuthorizationCode> {
    store.code(digest).await.expect("code failed")
}

/// `code` reads a code as stored without using it, unused or used (with
/// its `used_at`); an unknown digest is `None`.
pub async fn reads_find_the_code_as_stored_and_use_nothing(store: Arc<dyn OAuthCodeStore>) {
    let code = fresh();
    assert_eq!(read(&*store, &code.digest).await, None, "before the insert");
    insert(&*store, &code).await;
    for _ in 0..2 {
        assert_eq!(
            read(&*store, &code.digest).await,
            Some(code.clone()),
            "every field as stored, unused"
        );
    }
    // Reading did not use it.
    let used = use_first(&*store, &code).await;
    assert_eq!(read(&*store, &code.digest).await, Some(used), "once used");
    assert_eq!(
        read(&*store, &random_hex(32)).await,
        None,
        "an unknown digest"
    );
}

/// A code without the optional fields round-trips too, and an insert
/// stores the code unused whatever its `used_at` says.
pub async fn bare_code_round_trips_and_insert_ignores_used_at(store: Arc<dyn OAuthCodeStore>) {
    let code = AuthorizationCode {
        scopes: Scopes::new(),
        code_challenge: None,
        code_challenge_method: None,
        nonce: None,
        used_at: Some(now()),
        ..fresh()
    };
    insert(&*store, &code).await;
    let at = micros(code.created, 1);
    assert_eq!(
        consume(&*store, &code.digest, at).await,
        CodeUse::First(AuthorizationCode {
            used_at: Some(at),
            ..code
        }),
        "stored unused, every field as given"
    );
}

/// An unused code is `Expired` from its `expires` on (and stays unused);
/// a used one is `Reused` even once expired.
pub async fn expired_codes_and_reuse_after_expiry(store: Arc<dyn OAuthCodeStore>) {
    let code = fresh();
    insert(&*store, &code).await;
    for at in [code.expires, micros(code.expires, 1)] {
        assert_eq!(
            consume(&*store, &code.digest, at).await,
            CodeUse::Expired(code.clone()),
            "an unused code at or after its expiry"
        );
    }
    assert_eq!(
        consume(&*store, &code.digest, micros(code.expires, -1)).await,
        CodeUse::First(AuthorizationCode {
            used_at: Some(micros(code.expires, -1)),
            ..code.clone()
        }),
        "an expired answer leaves the code unused"
    );
    assert!(
        matches!(
            consume(&*store, &code.digest, micros(code.expires, 5)).await,
            CodeUse::Reused(_)
        ),
        "a used code is a replay, expired or not"
    );
}

/// An unknown digest is `Unknown`.
pub async fn unknown_code_is_unknown(store: Arc<dyn OAuthCodeStore>) {
    insert(&*store, &fresh()).await;
    assert_eq!(
        consume(&*store, &random_hex(32), now()).await,
        CodeUse::Unknown
    );
}

/// A duplicate digest is `Conflict("digest")` and leaves the stored code
/// as it was.
pub async fn duplicate_digest_conflicts(store: Arc<dyn OAuthCodeStore>) {
    let code = fresh();
    insert(&*store, &code).await;
    let other = AuthorizationCode {
        digest: code.digest.clone(),
        ..fresh()
    };
    assert_conflict(store.insert_code(&other).await, "digest", "a taken digest");
    assert_eq!(
        consume(&*store, &code.digest, code.created).await,
        CodeUse::First(AuthorizationCode {
            used_at: Some(code.created),
            ..code
        }),
        "the first code stands"
    );
}

/// Of 16 concurrent exchanges of one code, exactly one gets `First`; the
/// others get `Reused`.
pub async fn concurrent_consumes_admit_one(store: Arc<dyn OAuthCodeStore>) {
    let code = fresh();
    insert(&*store, &code).await;
    let at = now();
    let results = race(16, |_| {
        let store = store.clone();
        let digest = code.digest.clone();
        async move { store.consume_code(&digest, at).await }
    })
    .await;
    let firsts = results
        .iter()
        .filter(|r| matches!(r, Ok(CodeUse::First(_))))
        .count();
    let reused = results
        .iter()
        .filter(|r| matches!(r, Ok(CodeUse::Reused(_))))
        .count();
    assert_eq!(
        (firsts, reused),
        (1, 15),
        "one First, the rest Reused: {results:?}"
    );
}

/// `purge_expired_codes` deletes the codes expired at `now` (one expiring
/// exactly then included), used or not, and keeps the others.
pub async fn purge_removes_only_expired(store: Arc<dyn OAuthCodeStore>) {
    // Ten years back: no other test's codes expire then.
    let t = now() - Duration::days(3650);
    let created = micros(t, -60_000_000);
    let expired = code(created, micros(t, -1));
    let ends_now = code(created, t);
    let used = code(created, micros(t, -5));
    let live_then = code(created, micros(t, 1));
    let in_an_hour = code(created, now() + Duration::hours(1));
    for c in [&expired, &ends_now, &used, &live_then, &in_an_hour] {
        insert(&*store, c).await;
    }
    let used_held = matches!(
        consume(&*store, &used.digest, micros(created, 1)).await,
        CodeUse::First(_)
    );
    // A store expiring records by itself may have dropped the old ones.
    let mut held = 0;
    for c in [&expired, &ends_now] {
        if consume(&*store, &c.digest, micros(created, -1)).await != CodeUse::Unknown {
            held += 1;
        }
    }
    let live_held =
        consume(&*store, &live_then.digest, micros(created, -1)).await != CodeUse::Unknown;
    let purged = store
        .purge_expired_codes(t)
        .await
        .expect("purge_expired_codes failed");
    assert_eq!(
        purged,
        held + u64::from(used_held),
        "the expired codes held, used or not, are purged and counted"
    );
    for gone in [&expired, &ends_now, &used] {
        assert_eq!(consume(&*store, &gone.digest, t).await, CodeUse::Unknown);
    }
    assert!(
        matches!(
            consume(&*store, &in_an_hour.digest, now()).await,
            CodeUse::First(_)
        ),
        "a code live at `now` is kept"
    );
    if live_held {
        assert_ne!(
            consume(&*store, &live_then.digest, t).await,
            CodeUse::Unknown,
            "a code live at `now` is kept"
        );
    }
    assert_eq!(
        store
            .purge_expired_codes(t)
            .await
            .expect("purge_expired_codes failed"),
        0,
        "purging again finds nothing"
    );
    store
        .purge_expired_codes(micros(t, 2))
        .await
        .expect("purge_expired_codes failed");
}
