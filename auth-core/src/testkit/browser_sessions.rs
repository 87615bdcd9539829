//! Conformance tests for [`BrowserSessionStore`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{assert_conflict, micros, now, random_hex};
use crate::oauth::BrowserSession;
use crate::store::BrowserSessionStore;
use crate::user::UserId;

/// A session of `user` with a random digest, expiring at `expires`.
pub fn session(user: UserId, expires: DateTime<Utc>) -> BrowserSession {
    let t = now();
    BrowserSession {
        digest: random_hex(32),
        user_id: user,
        auth_time: micros(t, -1_000_001),
        created: micros(t, 1),
        expires,
    }
}

/// A session of a new user expiring in an hour.
fn fresh() -> BrowserSession {
    session(UserId::new(), micros(now(), 3_600_000_001))
}

/// `insert_session`, which must succeed.
async fn insert(store: &dyn BrowserSessionStore, session: &BrowserSession) {
    store
        .insert_session(session)
        .await
        .expect("insert_session failed");
}

/// The session with this digest, which must not fail.
async fn get(store: &dyn BrowserSessionStore, digest: &str) -> Option<BrowserSession> {
    store.session(digest).await.expect("session failed")
}

/// A stored session is found by its digest with every field; an unknown
/// digest is `None`.
pub async fn insert_and_lookup(store: Arc<dyn BrowserSessionStore>) {
    let s = fresh();
    insert(&*store, &s).await;
    assert_eq!(get(&*store, &s.digest).await, Some(s));
    assert_eq!(get(&*store, &random_hex(32)).await, None);
}

/// A duplicate digest is `Conflict("digest")` and changes nothing.
pub async fn duplicate_digest_conflicts(store: Arc<dyn BrowserSessionStore>) {
    let s = fresh();
    insert(&*store, &s).await;
    let other = BrowserSession {
        digest: s.digest.clone(),
        ..fresh()
    };
    assert_conflict(
        store.insert_session(&other).await,
        "digest",
        "a taken digest",
    );
    assert_eq!(get(&*store, &s.digest).await, Some(s));
}

/// `delete_session` is `true` once, then `false`, and deletes only that
/// session; `delete_user_sessions` deletes the user's and counts them.
pub async fn deletes(store: Arc<dyn BrowserSessionStore>) {
    let user = UserId::new();
    let expires = micros(now(), 3_600_000_000);
    let [a, b, c] = [0; 3].map(|_| session(user, expires));
    let other = fresh();
    for s in [&a, &b, &c, &other] {
        insert(&*store, s).await;
    }
    assert!(
        store
            .delete_session(&a.digest)
            .await
            .expect("delete_session failed")
    );
    assert!(
        !store
            .delete_session(&a.digest)
            .await
            .expect("delete_session failed")
    );
    assert_eq!(get(&*store, &a.digest).await, None);
    assert_eq!(get(&*store, &b.digest).await, Some(b.clone()));
    assert_eq!(
        store
            .delete_user_sessions(user)
            .await
            .expect("delete_user_sessions failed"),
        2
    );
    assert_eq!(get(&*store, &b.digest).await, None);
    assert_eq!(get(&*store, &c.digest).await, None);
    assert_eq!(
        get(&*store, &other.digest).await,
        Some(other),
        "another user's stays"
    );
    assert_eq!(
        store
            .delete_user_sessions(user)
            .await
            .expect("delete_user_sessions failed"),
        0
    );
}

/// `purge_expired_sessions` deletes the sessions expired at `now` (one
/// expiring exactly then included) and keeps the others.
pub async fn purge_removes_only_expired(store: Arc<dyn BrowserSessionStore>) {
    // Ten years back: no other test's sessions expire then.
    let t = now() - Duration::days(3650);
    let user = UserId::new();
    let expired = session(user, micros(t, -1));
    let ends_now = session(user, t);
    let live_then = session(user, micros(t, 1));
    let in_an_hour = session(user, micros(now(), 3_600_000_000));
    for s in [&expired, &ends_now, &live_then, &in_an_hour] {
        insert(&*store, s).await;
    }
    // A store expiring records by itself may have dropped the old ones.
    let mut held = 0;
    for s in [&expired, &ends_now] {
        if get(&*store, &s.digest).await.is_some() {
            held += 1;
        }
    }
    let live_held = get(&*store, &live_then.digest).await.is_some();
    assert_eq!(
        store
            .purge_expired_sessions(t)
            .await
            .expect("purge_expired_sessions failed"),
        held,
        "the expired sessions held are purged and counted"
    );
    assert_eq!(get(&*store, &expired.digest).await, None);
    assert_eq!(get(&*store, &ends_now.digest).await, None);
    assert_eq!(get(&*store, &in_an_hour.digest).await, Some(in_an_hour));
    if live_held {
        assert_eq!(get(&*store, &live_then.digest).await, Some(live_then));
    }
    assert_eq!(
        store
            .purge_expired_sessions(t)
            .await
            .expect("purge_expired_sessions failed"),
        0
    );
    store
        .delete_user_sessions(user)
        .await
        .expect("delete_user_sessions failed");
}
