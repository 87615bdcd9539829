//! Conformance tests for [`ThrottleStore`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{micros, now, race, unique};
use crate::store::{ThrottleCount, ThrottleStore};

/// `throttle_hit`, which must succeed.
async fn hit(
    store: &dyn ThrottleStore,
    key: &str,
    window: Duration,
    at: DateTime<Utc>,
) -> ThrottleCount {
    store
        .throttle_hit(key, window, at)
        .await
        .expect("throttle_hit failed")
}

/// `throttle_peek`, which must succeed.
async fn peek(store: &dyn ThrottleStore, key: &str, at: DateTime<Utc>) -> Option<ThrottleCount> {
    store
        .throttle_peek(key, at)
        .await
        .expect("throttle_peek failed")
}

/// Hits within one window count 1, 2, 3, ... and all report the window's end:
/// its first hit plus the window.
pub async fn hits_count_up_within_a_window(store: Arc<dyn ThrottleStore>) {
    let key = unique("login:");
    let t = micros(now(), 7);
    let window = Duration::seconds(60);
    for n in 1..=5_u64 {
        let at = micros(t, (n as i64 - 1) * 1_000_001);
        assert_eq!(
            hit(&*store, &key, window, at).await,
            ThrottleCount {
                count: n,
                resets_at: t + window,
            },
            "hit {n} in the window"
        );
    }
}

/// At the window's end (`resets_at`, exactly) the count starts again: the
/// next hit is 1 in a new window that ends a window later.
pub async fn a_new_window_starts_when_one_ends(store: Arc<dyn ThrottleStore>) {
    let key = unique("login:");
    let t = now();
    let window = Duration::seconds(30);
    let end = t + window;
    assert_eq!(hit(&*store, &key, window, t).await.count, 1);
    assert_eq!(
        hit(&*store, &key, window, micros(end, -1)).await,
        ThrottleCount {
            count: 2,
            resets_at: end,
        },
        "a microsecond before the end, the window is still open"
    );
    assert_eq!(
        peek(&*store, &key, end).await,
        None,
        "at `resets_at` no window is open"
    );
    assert_eq!(
        hit(&*store, &key, window, end).await,
        ThrottleCount {
            count: 1,
            resets_at: end + window,
        },
        "the first hit at the end starts a new window"
    );
    let much_later = end + Duration::hours(3);
    assert_eq!(
        hit(&*store, &key, Duration::seconds(5), much_later).await,
        ThrottleCount {
            count: 1,
            resets_at: much_later + Duration::seconds(5),
        },
        "long after, a new window with the window given now"
    );
}

/// `throttle_peek` reports the count without adding a hit, and `None` for a
/// key without an open window.
pub async fn peek_does_not_add_a_hit(store: Arc<dyn ThrottleStore>) {
    let key = unique("login:");
    let t = now();
    let window = Duration::minutes(1);
    assert_eq!(
        peek(&*store, &key, t).await,
        None,
        "a fresh key has no open window"
    );
    hit(&*store, &key, window, t).await;
    hit(&*store, &key, window, micros(t, 1)).await;
    let expected = Some(ThrottleCount {
        count: 2,
        resets_at: t + window,
    });
    assert_eq!(
        peek(&*store, &key, micros(t, 2)).await,
        expected,
        "peek sees two hits"
    );
    assert_eq!(
        peek(&*store, &key, micros(t, 3)).await,
        expected,
        "peeking added nothing"
    );
    assert_eq!(
        hit(&*store, &key, window, micros(t, 4)).await.count,
        3,
        "the next hit is the third"
    );
    assert_eq!(
        peek(&*store, &key, t + window + Duration::seconds(1)).await,
        None,
        "after the window ended, nothing is open"
    );
}

/// `throttle_clear` forgets the key: no window, and the next hit is 1.
pub async fn clear_forgets_the_key(store: Arc<dyn ThrottleStore>) {
    let key = unique("login:");
    let t = now();
    let window = Duration::minutes(1);
    for i in 0..3 {
        hit(&*store, &key, window, micros(t, i)).await;
    }
    store
        .throttle_clear(&key)
        .await
        .expect("throttle_clear failed");
    assert_eq!(
        peek(&*store, &key, micros(t, 3)).await,
        None,
        "a cleared key has no window"
    );
    let later = micros(t, 4);
    assert_eq!(
        hit(&*store, &key, window, later).await,
        ThrottleCount {
            count: 1,
            resets_at: later + window,
        },
        "after clearing, counting starts again in a new window"
    );
    store
        .throttle_clear(&unique("never-hit:"))
        .await
        .expect("clearing an unknown key is fine");
}

/// Counts are per key.
pub async fn keys_are_independent(store: Arc<dyn ThrottleStore>) {
    let (ada, bob) = (unique("login:ada:"), unique("login:bob:"));
    let t = now();
    let window = Duration::minutes(1);
    for _ in 0..3 {
        hit(&*store, &ada, window, t).await;
    }
    assert_eq!(
        hit(&*store, &bob, window, t).await.count,
        1,
        "another key counts from 1"
    );
    store
        .throttle_clear(&bob)
        .await
        .expect("throttle_clear failed");
    assert_eq!(
        peek(&*store, &ada, t).await.map(|c| c.count),
        Some(3),
        "clearing one key leaves another"
    );
}

/// 50 concurrent hits on a fresh key return the counts 1 to 50, each once.
pub async fn concurrent_hits_count_each_once(store: Arc<dyn ThrottleStore>) {
    const TASKS: usize = 50;
    let key = unique("login:");
    let t = now();
    let window = Duration::minutes(1);
    let results = race(TASKS, |_| {
        let store = store.clone();
        let key = key.clone();
        async move { store.throttle_hit(&key, window, t).await }
    })
    .await;

    let mut counts: Vec<u64> = results
        .into_iter()
        .map(|result| {
            let count = result.expect("a racing throttle_hit failed");
            assert_eq!(
                count.resets_at,
                t + window,
                "every hit is in the one window"
            );
            count.count
        })
        .collect();
    counts.sort_unstable();
    let expected: Vec<u64> = (1..=TASKS as u64).collect();
    assert_eq!(
        counts, expected,
        "each count from 1 to {TASKS} exactly once"
    );
    assert_eq!(
        peek(&*store, &key, t).await.map(|c| c.count),
        Some(TASKS as u64),
        "the key has every hit"
    );
}

/// `throttle_release`, which must succeed.
async fn release(store: &dyn ThrottleStore, key: &str, hit: ThrottleCount, at: DateTime<Utc>) {
    store
        .throttle_release(key, hit.resets_at, at)
        .await
        .expect("throttle_release failed");
}

/// `throttle_release` takes back one hit of the open window, keeps the
/// window's end, and never takes the count below zero.
pub async fn release_takes_back_one_hit(store: Arc<dyn ThrottleStore>) {
    let key = unique("login:");
    let t = micros(now(), 3);
    let window = Duration::minutes(1);
    let first = hit(&*store, &key, window, t).await;
    hit(&*store, &key, window, micros(t, 1)).await;
    let third = hit(&*store, &key, window, micros(t, 2)).await;
    release(&*store, &key, third, micros(t, 3)).await;
    assert_eq!(
        peek(&*store, &key, micros(t, 4)).await,
        Some(ThrottleCount {
            count: 2,
            resets_at: t + window,
        }),
        "one hit taken back, the window's end kept"
    );
    assert_eq!(
        hit(&*store, &key, window, micros(t, 5)).await.count,
        3,
        "the next hit counts from there"
    );
    for i in 0..5 {
        release(&*store, &key, first, micros(t, 6 + i)).await;
    }
    assert_eq!(
        peek(&*store, &key, micros(t, 20)).await,
        Some(ThrottleCount {
            count: 0,
            resets_at: t + window,
        }),
        "releases stop at zero and leave the window open"
    );
    assert_eq!(hit(&*store, &key, window, micros(t, 21)).await.count, 1);
}

/// A release for a window that has ended, was cleared or was followed by
/// another changes nothing, and never opens a window.
pub async fn release_touches_only_its_own_open_window(store: Arc<dyn ThrottleStore>) {
    let key = unique("login:");
    let t = micros(now(), 9);
    let window = Duration::seconds(30);
    let old = hit(&*store, &key, window, t).await;
    hit(&*store, &key, window, micros(t, 1)).await;
    release(&*store, &key, old, old.resets_at).await;
    let fresh = hit(&*store, &key, window, old.resets_at).await;
    assert_eq!(fresh.count, 1, "at the end a new window starts");
    hit(&*store, &key, window, micros(old.resets_at, 1)).await;
    release(&*store, &key, old, micros(old.resets_at, 2)).await;
    assert_eq!(
        peek(&*store, &key, micros(old.resets_at, 3))
            .await
            .map(|c| c.count),
        Some(2),
        "a release of the previous window leaves the new one alone"
    );
    let other = ThrottleCount {
        count: 1,
        resets_at: micros(fresh.resets_at, 1),
    };
    release(&*store, &key, other, micros(old.resets_at, 4)).await;
    assert_eq!(
        peek(&*store, &key, micros(old.resets_at, 5))
            .await
            .map(|c| c.count),
        Some(2),
        "a release naming another window's end changes nothing"
    );
    store
        .throttle_clear(&key)
        .await
        .expect("throttle_clear failed");
    release(&*store, &key, fresh, micros(old.resets_at, 6)).await;
    assert_eq!(
        peek(&*store, &key, micros(old.resets_at, 7)).await,
        None,
        "a release after a clear opens nothing"
    );
    let never = unique("never-hit:");
    release(&*store, &never, fresh, t).await;
    assert_eq!(peek(&*store, &never, t).await, None);
}

/// 50 concurrent hits on a fresh key, 20 of them taken back by the task
/// that made it right away: the window counts 30.
pub async fn concurrent_hits_and_releases_agree(store: Arc<dyn ThrottleStore>) {
    const TASKS: usize = 50;
    const RELEASED: usize = 20;
    let key = unique("login:");
    let t = now();
    let window = Duration::minutes(1);
    let results = race(TASKS, |i| {
        let store = store.clone();
        let key = key.clone();
        async move {
            let count = store.throttle_hit(&key, window, t).await?;
            if i < RELEASED {
                store.throttle_release(&key, count.resets_at, t).await?;
            }
            Ok::<_, crate::error::StoreError>(count)
        }
    })
    .await;
    for result in results {
        result.expect("a racing hit or release failed");
    }
    assert_eq!(
        peek(&*store, &key, t).await,
        Some(ThrottleCount {
            count: (TASKS - RELEASED) as u64,
            resets_at: t + window,
        }),
        "{TASKS} hits less {RELEASED} releases"
    );
}

/// `purge_ended_throttle_windows` deletes the windows ended at `now` (one
/// whose `resets_at` is `now` included), counts the ones it held, and
/// keeps every open window.
///
/// A store that expires windows by itself may have dropped an ended one
/// already (it is not counted then); whatever it still holds of an ended
/// window must be gone after the purge.
pub async fn purge_removes_only_ended_windows(store: Arc<dyn ThrottleStore>) {
    // Ten years back: a time range no other test uses, so a shared store's
    // other windows are neither purged nor counted.
    let t = now() - Duration::days(3650);
    let (ended, ends_now, open) = (unique("purge:"), unique("purge:"), unique("purge:"));
    hit(
        &*store,
        &ended,
        Duration::seconds(60),
        micros(t, -61_000_000),
    )
    .await;
    hit(
        &*store,
        &ends_now,
        Duration::seconds(60),
        micros(t, -60_000_000),
    )
    .await;
    // Open at `t` and by the real clock: every store holds it.
    let window = now() - t + Duration::hours(1);
    let kept = hit(&*store, &open, window, t).await;
    let mut held = 0;
    for key in [&ended, &ends_now] {
        // An ended window a store still holds is seen open just before it ended.
        if peek(&*store, key, micros(t, -60_000_001)).await.is_some() {
            held += 1;
        }
    }
    let purged = store
        .purge_ended_throttle_windows(t)
        .await
        .expect("purge_ended_throttle_windows failed");
    assert_eq!(purged, held, "the ended windows the store held are counted");
    for key in [&ended, &ends_now] {
        assert_eq!(
            peek(&*store, key, micros(t, -60_000_001)).await,
            None,
            "an ended window is gone after a purge"
        );
    }
    assert_eq!(
        peek(&*store, &open, t).await,
        Some(kept),
        "an open window is kept, with its count"
    );
    assert_eq!(
        store
            .purge_ended_throttle_windows(t)
            .await
            .expect("purge_ended_throttle_windows failed"),
        0,
        "purging again finds nothing"
    );
}
