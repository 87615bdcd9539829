//! What the conformance suite cannot check: several instances sharing one
//! Redis, unreachable and silent servers, reconnection, key expiry and
//! layout, the history cap and prefix isolation. Against the Redis at
//! `AUTH_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`; started when it is
//! down, a failure when it cannot be reached, ignored with
//! `AUTH_TEST_SKIP=redis`); each test uses a key prefix of its own and
//! deletes its keys.

mod common;

use std::collections::HashSet;
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_core::error::StoreError;
use auth_core::store::{
    BlacklistEntry, HistoryEntry, HistoryEvent, JwtRevocationStore, KnoxInsert, KnoxTokenRecord,
    KnoxTokenStore, LoginHistoryStore, StaticTokenRecord, StaticTokenStore, ThrottleStore,
    TokenLimit,
};
use auth_core::testkit::{now, unique};
use auth_core::user::UserId;
use auth_store_redis::redis;
use auth_store_redis::{RedisStore, RedisStoreConfig, RedisStoreError};
use chrono::{DateTime, Utc};
use common::{PrefixGuard, keys_under, raw_connection, store_on, test_store, unique_prefix};
use tokio::net::TcpListener;

/// A Knox token record with a random digest.
fn knox(user: UserId, expiry: Option<DateTime<Utc>>) -> KnoxTokenRecord {
    KnoxTokenRecord {
        token_key: unique("k"),
        digest: unique("digest-"),
        user_id: user,
        created: now(),
        expiry,
        last_used: None,
        name: None,
    }
}

/// A blacklist entry with a random jti.
fn blacklist_entry(user: UserId, expires_at: DateTime<Utc>) -> BlacklistEntry {
    BlacklistEntry {
        jti: unique("jti-"),
        user_id: user,
        family: None,
        expires_at,
        blacklisted_at: now(),
    }
}

/// Panics unless `result` is `Err(StoreError::Unavailable)` whose source is
/// this crate's error.
#[track_caller]
fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(err @ StoreError::Unavailable(_)) => {
            let source = err.source().expect("Unavailable keeps its source");
            assert!(
                source.downcast_ref::<RedisStoreError>().is_some(),
                "{what}: the source is a RedisStoreError, got {source:?}"
            );
        }
        other => panic!("{what}: expected Err(Unavailable), got {other:?}"),
    }
}

/// The remaining time to live of `key` in milliseconds (-1: none, -2: no key).
async fn pttl(key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut raw_connection().await)
        .await
        .expect("PTTL failed")
}

/// Asserts that `key` expires in `expected` give or take 10 seconds.
async fn assert_expires_in(key: &str, expected: Duration) {
    let left = pttl(key).await;
    let expected = i64::try_from(expected.as_millis()).expect("small");
    assert!(
        (expected - 10_000..=expected + 1_000).contains(&left),
        "{key} expires in {left} ms, expected about {expected} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn revocations_through_one_instance_are_seen_through_another() {
    let prefix = unique_prefix();
    let _guard = PrefixGuard(prefix.clone());
    let first = store_on(&prefix).await;
    let second = store_on(&prefix).await;
    let t = now();
    let user = UserId::new();

    // A blacklisted jti.
    let entry = blacklist_entry(user, t + chrono::Duration::hours(1));
    assert!(first.blacklist_jti(&entry).await.expect("blacklist_jti"));
    assert_eq!(
        second
            .blacklisted_jti(&entry.jti)
            .await
            .expect("blacklisted_jti"),
        Some(entry.clone()),
        "the other instance sees the blacklisted jti"
    );
    assert!(
        !second.blacklist_jti(&entry).await.expect("blacklist_jti"),
        "and cannot blacklist it a second time"
    );

    // A deleted Knox token.
    let token = knox(user, Some(t + chrono::Duration::hours(1)));
    assert_eq!(
        first
            .insert_knox_token(&token, TokenLimit::Unlimited, t)
            .await
            .expect("insert_knox_token"),
        KnoxInsert::Inserted { evicted: 0 }
    );
    assert_eq!(
        second
            .knox_tokens_by_key(&token.token_key)
            .await
            .expect("knox_tokens_by_key"),
        vec![token.clone()],
        "the other instance finds the token"
    );
    assert!(
        second
            .delete_knox_token(&token.digest)
            .await
            .expect("delete_knox_token")
    );
    assert!(
        first
            .knox_tokens_by_key(&token.token_key)
            .await
            .expect("knox_tokens_by_key")
            .is_empty(),
        "a token deleted through one instance is gone through the other"
    );
    assert!(
        first
            .user_knox_tokens(user, t)
            .await
            .expect("user_knox_tokens")
            .is_empty()
    );

    // A per-user mark and a revoked family.
    let family = unique("family-");
    first
        .set_tokens_valid_after(user, t)
        .await
        .expect("set_tokens_valid_after");
    first
        .revoke_family(&family, user, t + chrono::Duration::hours(1))
        .await
        .expect("revoke_family");
    let state = second
        .revocation_state(user, Some(&family))
        .await
        .expect("revocation_state");
    assert_eq!(state.tokens_valid_after, Some(t), "the mark is seen");
    assert!(state.family_revoked, "the family is seen");
    second
        .set_tokens_valid_after(user, t - chrono::Duration::seconds(1))
        .await
        .expect("set_tokens_valid_after");
    assert_eq!(
        first
            .revocation_state(user, None)
            .await
            .expect("revocation_state")
            .tokens_valid_after,
        Some(t),
        "the mark does not move back through the other instance either"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn a_closed_port_is_unavailable_within_the_timeout() {
    let timeout = Duration::from_millis(500);
    let config = RedisStoreConfig::default()
        .with_key_prefix(unique_prefix())
        .expect("prefix")
        .with_timeout(timeout)
        .expect("timeout");
    // Building a store on a closed port succeeds: it connects lazily.
    let store =
        RedisStore::with_config("redis://127.0.0.1:1", config).expect("construction is lazy");
    let started = Instant::now();

    let deadline = timeout + Duration::from_millis(1500);
    let user = UserId::new();
    let t = now();
    let checks: Vec<(&str, Result<(), StoreError>)> = vec![
        ("ping", store.ping().await),
        (
            "knox_tokens_by_key",
            store.knox_tokens_by_key("abc").await.map(drop),
        ),
        (
            "insert_knox_token",
            store
                .insert_knox_token(&knox(user, None), TokenLimit::Refuse(3), t)
                .await
                .map(drop),
        ),
        (
            "blacklist_jti",
            store
                .blacklist_jti(&blacklist_entry(user, t))
                .await
                .map(drop),
        ),
        (
            "revocation_state",
            store.revocation_state(user, Some("f")).await.map(drop),
        ),
        (
            "throttle_hit",
            store
                .throttle_hit("login:x", chrono::Duration::seconds(60), t)
                .await
                .map(drop),
        ),
        (
            "static_token_for_user",
            store.static_token_for_user(user).await.map(drop),
        ),
        (
            "user_history",
            store.user_history(user, 0, 10).await.map(drop),
        ),
    ];
    for (what, result) in checks {
        assert_unavailable(result, what);
    }
    let per_call = started.elapsed() / 8;
    assert!(
        per_call < deadline,
        "each call gives up within the timeout (plus margin): {per_call:?} on average"
    );

    let one = Instant::now();
    assert_unavailable(store.ping().await, "ping again");
    assert!(
        one.elapsed() < deadline,
        "a call gives up within the timeout (plus margin), took {:?}",
        one.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn a_silent_server_is_unavailable_within_the_timeout() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = held.clone();
    let acceptor = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            holder.lock().expect("lock").push(socket);
        }
    });

    let timeout = Duration::from_millis(300);
    let config = RedisStoreConfig::default()
        .with_timeout(timeout)
        .expect("timeout");
    let store = RedisStore::with_config(&format!("redis://{addr}"), config).expect("lazy");
    for _ in 0..2 {
        let started = Instant::now();
        assert_unavailable(store.ping().await, "ping a silent server");
        assert_unavailable(
            store.throttle_peek("k", now()).await,
            "throttle_peek on a silent server",
        );
        assert!(
            started.elapsed() < 2 * timeout + Duration::from_millis(1500),
            "two calls gave up within the timeout (plus margin), took {:?}",
            started.elapsed()
        );
    }
    acceptor.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn the_store_reconnects_when_redis_is_back() {
    let (prefix, _, proxy) = common::proxied_prefix().await;
    let config = common::config(&prefix.0)
        .with_timeout(Duration::from_millis(500))
        .expect("timeout");
    let store = RedisStore::from_client(proxy.client(), config).expect("lazy");

    let t = now();
    let window = chrono::Duration::minutes(5);
    store.ping().await.expect("through the proxy");
    assert_eq!(
        store
            .throttle_hit("login:ada", window, t)
            .await
            .expect("throttle_hit")
            .count,
        1
    );

    proxy.cut();
    for attempt in 0..3 {
        assert_unavailable(
            store.throttle_hit("login:ada", window, t).await,
            &format!("throttle_hit while Redis is unreachable (attempt {attempt})"),
        );
    }

    proxy.restore();
    let started = Instant::now();
    loop {
        match store.ping().await {
            Ok(()) => break,
            Err(err) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "the store did not reconnect within 10 s: {err:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        store
            .throttle_peek("login:ada", t)
            .await
            .expect("throttle_peek")
            .map(|count| count.count),
        Some(1),
        "after reconnecting the store works on the same data (the failed hits \
         never reached Redis)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn keys_follow_the_documented_layout_and_expire_with_what_they_hold() {
    let store = test_store().await;
    let p = store.prefix().to_owned();
    let grace = store.config().expiry_grace();
    let t = now();
    let hour = chrono::Duration::hours(1);
    let user = UserId::new();

    let token = knox(user, Some(t + hour));
    store
        .insert_knox_token(&token, TokenLimit::Unlimited, t)
        .await
        .expect("insert_knox_token");
    let forever = knox(UserId::new(), None);
    store
        .insert_knox_token(&forever, TokenLimit::Unlimited, t)
        .await
        .expect("insert_knox_token");
    store
        .get_or_insert_static_token(&StaticTokenRecord {
            user_id: user,
            digest: "static-digest".into(),
            seed: Some("seed".into()),
            created: t,
        })
        .await
        .expect("get_or_insert_static_token");
    let live = blacklist_entry(user, t + hour);
    let dead = blacklist_entry(user, t - hour);
    for entry in [&live, &dead] {
        assert!(store.blacklist_jti(entry).await.expect("blacklist_jti"));
    }
    store
        .revoke_family("fam", user, t + hour)
        .await
        .expect("revoke_family");
    store
        .set_tokens_valid_after(user, t)
        .await
        .expect("set_tokens_valid_after");
    store
        .throttle_hit("login:ada", chrono::Duration::seconds(60), t)
        .await
        .expect("throttle_hit");
    store
        .record_history(&HistoryEntry {
            user_id: user,
            at: t,
            event: HistoryEvent::Login,
            ip: None,
            user_agent: None,
        })
        .await
        .expect("record_history");

    let expected: HashSet<String> = [
        format!("{p}knox:digest:{}", token.digest),
        format!("{p}knox:key:{}", token.token_key),
        format!("{p}knox:user:{user}"),
        format!("{p}knox:digest:{}", forever.digest),
        format!("{p}knox:key:{}", forever.token_key),
        format!("{p}knox:user:{}", forever.user_id),
        format!("{p}static:user:{user}"),
        format!("{p}static:digest:static-digest"),
        format!("{p}jwt:jti:{}", live.jti),
        format!("{p}jwt:jti:{}", dead.jti),
        format!("{p}jwt:expired"),
        format!("{p}jwt:family:fam"),
        format!("{p}jwt:valid_after:{user}"),
        format!("{p}throttle:login:ada"),
        format!("{p}history:{user}"),
        format!("{p}history:seq"),
    ]
    .into_iter()
    .collect();
    let found: HashSet<String> = keys_under(&p).await.into_iter().collect();
    assert_eq!(found, expected, "the keys are the documented ones");

    let hour_std = Duration::from_secs(3600);
    // Knox records and their indexes expire with the token...
    for key in [
        format!("{p}knox:digest:{}", token.digest),
        format!("{p}knox:key:{}", token.token_key),
        format!("{p}knox:user:{user}"),
    ] {
        assert_expires_in(&key, hour_std).await;
    }
    // ...or never, for a token without expiry.
    for key in [
        format!("{p}knox:digest:{}", forever.digest),
        format!("{p}knox:key:{}", forever.token_key),
        format!("{p}knox:user:{}", forever.user_id),
    ] {
        assert_eq!(pttl(&key).await, -1, "{key} never expires");
    }
    // Revocations expire a grace after their `expires_at`; one written
    // already expired, a grace after it was written.
    assert_expires_in(&format!("{p}jwt:jti:{}", live.jti), hour_std + grace).await;
    assert_expires_in(&format!("{p}jwt:family:fam"), hour_std + grace).await;
    assert_expires_in(&format!("{p}jwt:jti:{}", dead.jti), grace).await;
    assert_expires_in(&format!("{p}jwt:expired"), grace).await;
    // A throttle window a grace after it resets.
    assert_expires_in(
        &format!("{p}throttle:login:ada"),
        Duration::from_secs(60) + grace,
    )
    .await;
    // Marks, static tokens and history never.
    for key in [
        format!("{p}jwt:valid_after:{user}"),
        format!("{p}static:user:{user}"),
        format!("{p}static:digest:static-digest"),
        format!("{p}history:{user}"),
    ] {
        assert_eq!(pttl(&key).await, -1, "{key} never expires");
    }

    // Touching the token moves its expiry, and its indexes' with it.
    let later = t + chrono::Duration::hours(2);
    assert!(
        store
            .touch_knox_token(&token.digest, Some(later), t)
            .await
            .expect("touch_knox_token")
    );
    for key in [
        format!("{p}knox:digest:{}", token.digest),
        format!("{p}knox:key:{}", token.token_key),
        format!("{p}knox:user:{user}"),
    ] {
        assert_expires_in(&key, 2 * hour_std).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn a_knox_token_expired_by_redis_clock_is_not_kept() {
    let store = test_store().await;
    let t = now();
    let user = UserId::new();
    let dead = knox(user, Some(t - chrono::Duration::seconds(1)));
    assert_eq!(
        store
            .insert_knox_token(
                &dead,
                TokenLimit::Refuse(1),
                t - chrono::Duration::minutes(1)
            )
            .await
            .expect("insert_knox_token"),
        KnoxInsert::Inserted { evicted: 0 },
        "the insert succeeds (judged at its `now`, the token is live)"
    );
    assert!(
        store
            .knox_tokens_by_key(&dead.token_key)
            .await
            .expect("knox_tokens_by_key")
            .is_empty(),
        "but Redis does not keep a token already expired by its clock"
    );
    assert!(
        keys_under(&format!("{}knox:", store.prefix()))
            .await
            .is_empty(),
        "nor any index of it"
    );

    // Touching a token to an expiry already past deletes it.
    let token = knox(user, Some(t + chrono::Duration::hours(1)));
    store
        .insert_knox_token(&token, TokenLimit::Unlimited, t)
        .await
        .expect("insert_knox_token");
    assert!(
        store
            .touch_knox_token(&token.digest, Some(t - chrono::Duration::seconds(1)), t)
            .await
            .expect("touch_knox_token")
    );
    assert!(
        store
            .knox_tokens_by_key(&token.token_key)
            .await
            .expect("knox_tokens_by_key")
            .is_empty()
    );
    assert!(
        keys_under(&format!("{}knox:", store.prefix()))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn blacklisting_an_already_expired_jti_still_admits_exactly_one() {
    let store = test_store().await;
    let store = Arc::new(store);
    let t = now();
    let mut entry = blacklist_entry(UserId::new(), t - chrono::Duration::days(1));
    entry.jti = unique("old-jti-");
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            let entry = entry.clone();
            tokio::spawn(async move { store.blacklist_jti(&entry).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task").expect("blacklist_jti") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one of 32 concurrent calls gets true");
    assert_eq!(
        store
            .blacklisted_jti(&entry.jti)
            .await
            .expect("blacklisted_jti"),
        Some(entry.clone()),
        "the entry is kept for the grace"
    );
    assert_eq!(
        store
            .purge_expired_revocations(t - chrono::Duration::days(2))
            .await
            .expect("purge"),
        0,
        "not expired two days ago"
    );
    assert_eq!(
        store.purge_expired_revocations(t).await.expect("purge"),
        1,
        "a purge at `now` takes it"
    );
    assert_eq!(
        store
            .blacklisted_jti(&entry.jti)
            .await
            .expect("blacklisted_jti"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn history_is_capped_per_user() {
    let prefix = unique_prefix();
    let _guard = PrefixGuard(prefix.clone());
    store_on(&prefix).await;
    let config = common::config(&prefix).with_history_cap(5).expect("cap");
    let store = RedisStore::with_config(&common::redis_url(), config).expect("store");
    let (ada, bob) = (UserId::new(), UserId::new());
    let t = now();
    let entry = |user, i: i64| HistoryEntry {
        user_id: user,
        at: t + chrono::Duration::seconds(i),
        event: HistoryEvent::Login,
        ip: Some(format!("203.0.113.{i}")),
        user_agent: None,
    };
    for i in 0..8 {
        store.record_history(&entry(ada, i)).await.expect("record");
    }
    store.record_history(&entry(bob, 0)).await.expect("record");
    let page = store.user_history(ada, 0, 100).await.expect("history");
    assert_eq!(page.total, 5, "only the cap is kept");
    assert_eq!(
        page.items,
        (3..8).rev().map(|i| entry(ada, i)).collect::<Vec<_>>(),
        "the newest are kept"
    );
    assert_eq!(
        store
            .user_history(bob, 0, 100)
            .await
            .expect("history")
            .total,
        1,
        "the cap is per user"
    );
    assert_eq!(store.delete_user_history(ada).await.expect("delete"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
async fn prefixes_are_isolated_and_delete_all_takes_only_its_own() {
    let one = test_store().await;
    let other = test_store().await;
    let t = now();
    let user = UserId::new();
    let entry = blacklist_entry(user, t + chrono::Duration::hours(1));
    assert!(one.blacklist_jti(&entry).await.expect("blacklist_jti"));
    one.set_tokens_valid_after(user, t)
        .await
        .expect("set_tokens_valid_after");
    assert!(other.blacklist_jti(&entry).await.expect("blacklist_jti"));
    assert_eq!(
        other
            .revocation_state(user, None)
            .await
            .expect("revocation_state")
            .tokens_valid_after,
        None,
        "another prefix sees nothing of the first"
    );

    assert_eq!(one.delete_all().await.expect("delete_all"), 2);
    assert!(keys_under(one.prefix()).await.is_empty());
    assert_eq!(
        other
            .blacklisted_jti(&entry.jti)
            .await
            .expect("blacklisted_jti"),
        Some(entry),
        "the other prefix is untouched"
    );
}
