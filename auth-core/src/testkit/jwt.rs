//! Conformance tests for [`JwtRevocationStore`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{micros, now, race, random_hex};
use crate::store::{BlacklistEntry, JwtRevocationStore, RevocationState};
use crate::user::UserId;

/// A blacklist entry for a fresh jti of `user`, blacklisted at `at` and
/// expiring a day later.
fn entry(user: UserId, family: Option<String>, at: DateTime<Utc>) -> BlacklistEntry {
    BlacklistEntry {
        jti: random_hex(16),
        user_id: user,
        family,
        expires_at: at + Duration::days(1),
        blacklisted_at: at,
    }
}

/// `revocation_state`, which must succeed.
async fn state(
    store: &dyn JwtRevocationStore,
    user: UserId,
    family: Option<&str>,
) -> RevocationState {
    store
        .revocation_state(user, family)
        .await
        .expect("revocation_state failed")
}

/// `blacklisted_jti`, which must succeed.
async fn blacklisted(store: &dyn JwtRevocationStore, jti: &str) -> Option<BlacklistEntry> {
    store
        .blacklisted_jti(jti)
        .await
        .expect("blacklisted_jti failed")
}

/// `blacklist_jti` is `true` the first time and `false` after, leaving the
/// first entry unchanged; entries round-trip (microseconds, no family).
pub async fn blacklist_jti_once_keeps_the_first_entry(store: Arc<dyn JwtRevocationStore>) {
    let t = micros(now(), 1);
    let first = entry(UserId::new(), Some(random_hex(16)), t);
    assert!(
        store
            .blacklist_jti(&first)
            .await
            .expect("blacklist_jti failed"),
        "the first blacklisting of a jti is true"
    );
    assert_eq!(
        blacklisted(&*store, &first.jti).await,
        Some(first.clone()),
        "the entry round-trips"
    );

    let mut again = entry(UserId::new(), None, micros(t, 5_000_001));
    again.jti = first.jti.clone();
    assert!(
        !store
            .blacklist_jti(&again)
            .await
            .expect("blacklist_jti failed"),
        "blacklisting the jti again is false"
    );
    assert_eq!(
        blacklisted(&*store, &first.jti).await,
        Some(first),
        "the stored entry is left unchanged"
    );

    let no_family = entry(UserId::new(), None, micros(t, 999_999));
    assert!(
        store
            .blacklist_jti(&no_family)
            .await
            .expect("blacklist_jti failed")
    );
    assert_eq!(
        blacklisted(&*store, &no_family.jti).await,
        Some(no_family),
        "an entry without a family round-trips"
    );
}

/// A jti never blacklisted is `None`.
pub async fn unknown_jti_is_not_blacklisted(store: Arc<dyn JwtRevocationStore>) {
    assert_eq!(blacklisted(&*store, &random_hex(16)).await, None);
}

/// `revoke_family` is idempotent and `revocation_state` then reports the
/// family revoked, and only that family.
pub async fn revoke_family_is_idempotent_and_seen(store: Arc<dyn JwtRevocationStore>) {
    let t = now();
    let user = UserId::new();
    let family = random_hex(16);
    let other = random_hex(16);
    assert_eq!(
        state(&*store, user, Some(&family)).await,
        RevocationState::default(),
        "before revocation"
    );
    for _ in 0..2 {
        store
            .revoke_family(&family, user, t + Duration::days(1))
            .await
            .expect("revoke_family failed (it must be idempotent)");
    }
    store
        .revoke_family(&family, user, t + Duration::days(2))
        .await
        .expect("revoke_family again with a later expiry failed");

    assert_eq!(
        state(&*store, user, Some(&family)).await,
        RevocationState {
            tokens_valid_after: None,
            family_revoked: true,
        },
        "the revoked family is seen"
    );
    assert!(
        !state(&*store, user, Some(&other)).await.family_revoked,
        "another family is not revoked"
    );
    assert!(
        !state(&*store, user, None).await.family_revoked,
        "no family asked, none revoked"
    );
}

/// `set_tokens_valid_after` moves the mark forward only, per user, and
/// `revocation_state` reports it (with a family's state in the same call).
pub async fn tokens_valid_after_never_moves_back(store: Arc<dyn JwtRevocationStore>) {
    let t = now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let (t1, t2, t3) = (micros(t, 1), micros(t, 2_000_002), micros(t, 3_000_003));

    let set = |at| {
        let store = store.clone();
        async move {
            store
                .set_tokens_valid_after(ada, at)
                .await
                .expect("set_tokens_valid_after failed");
            state(&*store, ada, None).await.tokens_valid_after
        }
    };
    assert_eq!(
        set(t2).await,
        Some(t2),
        "the first mark is set (to the microsecond)"
    );
    assert_eq!(
        set(t1).await,
        Some(t2),
        "an earlier mark does not move it back"
    );
    assert_eq!(
        set(t2).await,
        Some(t2),
        "the same mark again changes nothing"
    );
    assert_eq!(set(t3).await, Some(t3), "a later mark moves it forward");
    assert_eq!(
        state(&*store, bob, None).await.tokens_valid_after,
        None,
        "another user's mark is separate"
    );

    let family = random_hex(16);
    store
        .revoke_family(&family, ada, t + Duration::days(1))
        .await
        .expect("revoke_family failed");
    assert_eq!(
        state(&*store, ada, Some(&family)).await,
        RevocationState {
            tokens_valid_after: Some(t3),
            family_revoked: true,
        },
        "one call reports both the mark and the family"
    );
}

/// A user with no mark gets the default state, for any family.
pub async fn revocation_state_of_unknown_user_is_default(store: Arc<dyn JwtRevocationStore>) {
    let user = UserId::new();
    assert_eq!(state(&*store, user, None).await, RevocationState::default());
    assert_eq!(
        state(&*store, user, Some(&random_hex(16))).await,
        RevocationState::default()
    );
}

/// `purge_expired_revocations` deletes exactly the blacklist entries and
/// family records expired at `now` (an expiry equal to `now` included),
/// returns how many, and never deletes a per-user mark.
///
/// A store that expires records by itself may have dropped the records whose
/// expiry has passed by the real clock before the purge; those are not
/// counted. Whatever expired record it still holds must be gone after the
/// purge and counted, and every record live at `now` that it holds is kept.
pub async fn purge_removes_only_expired_and_keeps_marks(store: Arc<dyn JwtRevocationStore>) {
    // Ten years back: a time range no other test (nor an earlier run) uses,
    // so a shared store's other records are neither purged nor counted.
    let t = now() - Duration::days(3650);
    let user = UserId::new();
    let mut expired = entry(user, None, t - Duration::days(1));
    expired.expires_at = micros(t, -1);
    let mut ends_now = entry(user, None, t - Duration::days(1));
    ends_now.expires_at = t;
    let mut live = entry(user, None, t - Duration::days(1));
    live.expires_at = micros(t, 1);
    // Live at `t` and by the real clock: every store holds it.
    let mut in_an_hour = entry(user, None, t - Duration::days(1));
    in_an_hour.expires_at = now() + Duration::hours(1);
    for record in [&expired, &ends_now, &live, &in_an_hour] {
        assert!(
            store
                .blacklist_jti(record)
                .await
                .expect("blacklist_jti failed")
        );
    }
    let (old_family, live_family, hour_family) = (random_hex(16), random_hex(16), random_hex(16));
    for (family, expires_at) in [
        (&old_family, micros(t, -1)),
        (&live_family, micros(t, 1)),
        (&hour_family, now() + Duration::hours(1)),
    ] {
        store
            .revoke_family(family, user, expires_at)
            .await
            .expect("revoke_family failed");
    }
    let mark = t - Duration::days(2);
    store
        .set_tokens_valid_after(user, mark)
        .await
        .expect("set_tokens_valid_after failed");

    let mut expired_held = 0;
    for record in [&expired, &ends_now] {
        if blacklisted(&*store, &record.jti).await.as_ref() == Some(record) {
            expired_held += 1;
        }
    }
    if state(&*store, user, Some(&old_family)).await.family_revoked {
        expired_held += 1;
    }
    let live_held = blacklisted(&*store, &live.jti).await.as_ref() == Some(&live);
    let live_family_held = state(&*store, user, Some(&live_family))
        .await
        .family_revoked;

    assert_eq!(
        store
            .purge_expired_revocations(t)
            .await
            .expect("purge_expired_revocations failed"),
        expired_held,
        "the expired blacklist entries and family the store held (expiring at `now` \
         included) are purged and counted"
    );
    assert_eq!(
        blacklisted(&*store, &expired.jti).await,
        None,
        "an expired entry is purged"
    );
    assert_eq!(
        blacklisted(&*store, &ends_now.jti).await,
        None,
        "an entry expiring at `now` is purged"
    );
    if live_held {
        assert_eq!(
            blacklisted(&*store, &live.jti).await,
            Some(live.clone()),
            "a live entry is kept"
        );
    }
    assert_eq!(
        blacklisted(&*store, &in_an_hour.jti).await,
        Some(in_an_hour.clone()),
        "a live entry is kept"
    );
    assert!(
        !state(&*store, user, Some(&old_family)).await.family_revoked,
        "an expired family record is purged"
    );
    if live_family_held {
        assert!(
            state(&*store, user, Some(&live_family))
                .await
                .family_revoked,
            "a live family record is kept"
        );
    }
    assert_eq!(
        state(&*store, user, Some(&hour_family)).await,
        RevocationState {
            tokens_valid_after: Some(mark),
            family_revoked: true,
        },
        "a live family record and the user's mark are kept"
    );

    // Clean up: only this test's records are that old.
    assert_eq!(
        store
            .purge_expired_revocations(micros(t, 2))
            .await
            .expect("purge_expired_revocations failed"),
        u64::from(live_held) + u64::from(live_family_held),
        "a later purge takes the remaining entry and family"
    );
    assert_eq!(
        state(&*store, user, None).await.tokens_valid_after,
        Some(mark),
        "purging never deletes a mark"
    );
}

/// 64 concurrent `blacklist_jti` calls with one jti (the refresh-rotation
/// primitive): exactly one gets `true`, and its entry is the one stored.
pub async fn concurrent_blacklist_admits_one(store: Arc<dyn JwtRevocationStore>) {
    const TASKS: usize = 64;
    let t = now();
    let user = UserId::new();
    let jti = random_hex(16);
    let results = race(TASKS, |i| {
        let store = store.clone();
        let mut candidate = entry(user, Some(format!("family-{i}")), micros(t, i as i64));
        candidate.jti = jti.clone();
        async move {
            let added = store.blacklist_jti(&candidate).await;
            (candidate, added)
        }
    })
    .await;

    let winners: Vec<BlacklistEntry> = results
        .into_iter()
        .filter_map(|(candidate, added)| {
            added
                .expect("a racing blacklist_jti failed")
                .then_some(candidate)
        })
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {TASKS} concurrent calls gets true"
    );
    assert_eq!(
        blacklisted(&*store, &jti).await.as_ref(),
        winners.first(),
        "the stored entry is the winner's"
    );
}

/// A family revoked for one user is revoked whoever asks, and revoking it
/// again with an earlier expiry keeps the later one.
///
/// The expiries lie ten years back, as in the purge tests, so that purging
/// touches nothing of other tests sharing the store. A store that drops
/// expired records by itself (Redis) may have dropped the family already;
/// the contract allows that, and the purge checks then have nothing to see.
pub async fn families_ignore_their_user_and_keep_the_later_expiry(
    store: Arc<dyn JwtRevocationStore>,
) {
    let family = random_hex(16);
    let revoke = |expires_at| {
        let (store, family) = (store.clone(), family.clone());
        async move {
            store
                .revoke_family(&family, UserId::new(), expires_at)
                .await
                .expect("revoke_family failed");
        }
    };
    // Revoked for one user, it fails for another (in the real present).
    revoke(now() + Duration::hours(1)).await;
    assert!(
        state(&*store, UserId::new(), Some(&family))
            .await
            .family_revoked,
        "a family revoked for one user is revoked for another"
    );

    let family = random_hex(16);
    let t = now() - Duration::days(3650);
    for days in [2, 1] {
        store
            .revoke_family(&family, UserId::new(), t + Duration::days(days))
            .await
            .expect("revoke_family failed");
    }
    if !state(&*store, UserId::new(), Some(&family))
        .await
        .family_revoked
    {
        return; // dropped by the store's own clock, as the contract allows
    }
    store
        .purge_expired_revocations(t + Duration::hours(36))
        .await
        .expect("purge_expired_revocations failed");
    assert!(
        state(&*store, UserId::new(), Some(&family))
            .await
            .family_revoked,
        "revoking again with an earlier expiry kept the later one"
    );
    store
        .purge_expired_revocations(t + Duration::days(2))
        .await
        .expect("purge_expired_revocations failed");
    assert!(
        !state(&*store, UserId::new(), Some(&family))
            .await
            .family_revoked,
        "purged at the later expiry"
    );
}
