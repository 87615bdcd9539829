//! Tracked revocation reads ([`RedisStoreConfig::with_tracking`]): the
//! conformance suite's JWT revocation group and the service suite on a
//! tracked store, then what only tracking has: answers from memory, other
//! instances' writes seen through invalidations, nothing kept across a
//! dropped connection, and the maximum age. Against the Redis at
//! `AUTH_TEST_REDIS_URL` (started when it is down, a failure when it cannot
//! be reached, ignored with `AUTH_TEST_SKIP=redis`).

mod common;

use std::time::{Duration, Instant};

use auth_core::error::StoreError;
use auth_core::store::{JwtRevocationStore, RevocationState};
use auth_core::testkit::{now, unique};
use auth_core::user::UserId;
use auth_store_redis::RedisStore;
use auth_store_redis::redis;
use chrono::{DateTime, Utc};
use common::{PrefixGuard, store_on, unique_prefix};

auth_core::store_conformance_tests!(
    #[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
    jwt; common::tracked_test_store()
);

auth_core::service_conformance_tests!(
    #[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")] => async {
        common::stores_over(common::tracked_test_store().await)
    }
);

/// A tracked store on `prefix` over `client`, with a short timeout.
fn tracked(client: redis::Client, prefix: &str, max_age: Duration) -> RedisStore {
    let config = common::config(prefix)
        .with_timeout(Duration::from_millis(500))
        .and_then(|config| config.with_tracking(max_age))
        .expect("a valid config");
    RedisStore::from_client(client, config).expect("a lazy store")
}

/// Reads through `store` until `want` holds, for at most 5 seconds.
async fn until_seen(
    store: &RedisStore,
    user: UserId,
    family: &str,
    what: &str,
    want: impl Fn(&RevocationState) -> bool,
) {
    let started = Instant::now();
    loop {
        let state = store.revocation_state(user, Some(family)).await;
        if state.as_ref().is_ok_and(&want) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: not seen within 5 s, the store still answers {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn mark(at: DateTime<Utc>) -> impl Fn(&RevocationState) -> bool {
    move |state| state.tokens_valid_after == Some(at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn another_instances_writes_reach_a_tracked_store() {
    let prefix = unique_prefix();
    let _guard = PrefixGuard(prefix.clone());
    let writer = store_on(&prefix).await;
    let reader = tracked(
        redis::Client::open(common::redis_url()).expect("a client"),
        &prefix,
        Duration::from_secs(3600),
    );
    let (user, family, t) = (UserId::new(), unique("family-"), now());

    for _ in 0..3 {
        assert_eq!(
            reader
                .revocation_state(user, Some(&family))
                .await
                .expect("revocation_state"),
            RevocationState::default()
        );
    }
    writer
        .set_tokens_valid_after(user, t)
        .await
        .expect("set_tokens_valid_after");
    until_seen(&reader, user, &family, "a mark set elsewhere", mark(t)).await;
    writer
        .revoke_family(&family, user, t + chrono::Duration::hours(1))
        .await
        .expect("revoke_family");
    until_seen(&reader, user, &family, "a family revoked elsewhere", |s| {
        s.family_revoked
    })
    .await;
    let later = t + chrono::Duration::seconds(1);
    writer
        .set_tokens_valid_after(user, later)
        .await
        .expect("set_tokens_valid_after");
    until_seen(
        &reader,
        user,
        &family,
        "a mark moved elsewhere",
        mark(later),
    )
    .await;
    // Deleted behind the store's back (as FLUSHDB or an operator would).
    writer.delete_all().await.expect("delete_all");
    until_seen(&reader, user, &family, "keys deleted elsewhere", |s| {
        *s == RevocationState::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn tracked_reads_are_answered_from_memory_and_forgotten_with_the_connection() {
    let (prefix, writer, proxy) = common::proxied_prefix().await;
    let reader = tracked(proxy.client(), &prefix.0, Duration::from_secs(3600));
    let (user, family, t) = (UserId::new(), unique("family-"), now());
    writer
        .set_tokens_valid_after(user, t)
        .await
        .expect("set_tokens_valid_after");
    until_seen(&reader, user, &family, "the first read", mark(t)).await;

    // Nothing passes the proxy now: a read sent to Redis would time out.
    proxy.freeze();
    for _ in 0..20 {
        assert_eq!(
            reader
                .revocation_state(user, Some(&family))
                .await
                .expect("answered from memory"),
            RevocationState {
                tokens_valid_after: Some(t),
                family_revoked: false,
            }
        );
    }
    assert!(
        matches!(
            reader.revocation_state(user, Some("another-family")).await,
            Err(StoreError::Unavailable(_))
        ),
        "a key never read is read from Redis"
    );
    proxy.thaw();

    // The connection drops, and a write happens meanwhile: its
    // invalidation can never arrive, so the store must not answer from
    // what it kept.
    proxy.cut();
    let later = t + chrono::Duration::seconds(1);
    writer
        .set_tokens_valid_after(user, later)
        .await
        .expect("set_tokens_valid_after");
    proxy.restore();
    until_seen(
        &reader,
        user,
        &family,
        "a write made while disconnected",
        mark(later),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn nothing_is_kept_past_the_maximum_age() {
    let (prefix, _, proxy) = common::proxied_prefix().await;
    let max_age = Duration::from_millis(50);
    let reader = tracked(proxy.client(), &prefix.0, max_age);
    let user = UserId::new();
    reader
        .revocation_state(user, None)
        .await
        .expect("revocation_state");
    proxy.freeze();
    tokio::time::sleep(2 * max_age).await;
    assert!(
        matches!(
            reader.revocation_state(user, None).await,
            Err(StoreError::Unavailable(_))
        ),
        "an answer older than the maximum age is read from Redis again"
    );
    proxy.thaw();
}
