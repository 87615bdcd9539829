//! Conformance tests for [`KnoxTokenStore`].

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{assert_conflict, micros, now, race, random_hex};
use crate::store::{KnoxInsert, KnoxTokenRecord, KnoxTokenStore, TokenLimit};
use crate::user::UserId;

/// A fresh 15-character token key, as knox uses.
fn new_key() -> String {
    let mut key = random_hex(8);
    key.truncate(15);
    key
}

/// A token of `user` with key `key`, created at `created`, expiring at
/// `expiry`, with a random SHA-512-sized digest.
fn token(
    user: UserId,
    key: &str,
    created: DateTime<Utc>,
    expiry: Option<DateTime<Utc>>,
) -> KnoxTokenRecord {
    KnoxTokenRecord {
        token_key: key.to_owned(),
        digest: random_hex(64),
        user_id: user,
        created,
        expiry,
        last_used: None,
        name: None,
    }
}

/// Inserts with `limit` at `now`, which must store the token.
async fn insert(
    store: &dyn KnoxTokenStore,
    record: &KnoxTokenRecord,
    limit: TokenLimit,
    now: DateTime<Utc>,
) -> u64 {
    match store.insert_knox_token(record, limit, now).await {
        Ok(KnoxInsert::Inserted { evicted }) => evicted,
        other => panic!("insert_knox_token with {limit:?} should store the token, got {other:?}"),
    }
}

/// The tokens with `key`, sorted by digest.
async fn by_key(store: &dyn KnoxTokenStore, key: &str) -> Vec<KnoxTokenRecord> {
    let mut tokens = store
        .knox_tokens_by_key(key)
        .await
        .expect("knox_tokens_by_key failed");
    tokens.sort_by(|a, b| a.digest.cmp(&b.digest));
    tokens
}

/// The records sorted by digest.
fn sorted(mut records: Vec<KnoxTokenRecord>) -> Vec<KnoxTokenRecord> {
    records.sort_by(|a, b| a.digest.cmp(&b.digest));
    records
}

/// The digests of the user's live tokens at `at`, in the store's order.
async fn live_digests(store: &dyn KnoxTokenStore, user: UserId, at: DateTime<Utc>) -> Vec<String> {
    store
        .user_knox_tokens(user, at)
        .await
        .expect("user_knox_tokens failed")
        .into_iter()
        .map(|record| record.digest)
        .collect()
}

/// Inserted tokens come back by key exactly as given (microsecond times, the
/// name), several per key, of any user; an expired one too, unless the
/// store expires tokens by itself and has dropped it.
pub async fn insert_and_lookup_by_key(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let key = new_key();
    let mut live = token(
        ada,
        &key,
        micros(t, -1_234_567),
        Some(micros(t, 36_000_000_001)),
    );
    live.name = Some("Zoë's laptop 💻".into());
    live.last_used = Some(micros(t, -7));
    let expired = token(
        bob,
        &key,
        micros(t, -7_200_000_000),
        Some(micros(t, -3_600_000_000)),
    );
    let other_key = new_key();
    let forever = token(ada, &other_key, micros(t, 3), None);
    for record in [&live, &expired, &forever] {
        let evicted = insert(&*store, record, TokenLimit::Unlimited, t).await;
        assert_eq!(evicted, 0, "an unlimited insert evicts nothing");
    }

    // The expired token expired an hour ago by the real clock too, so a
    // store that expires tokens by itself may have dropped it.
    let found = by_key(&*store, &key).await;
    assert!(
        found == sorted(vec![live.clone(), expired.clone()]) || found == vec![live.clone()],
        "knox_tokens_by_key returns every token with the key (the expired one \
         may be left out by a store that expires tokens by itself), got {found:?}"
    );
    assert_eq!(
        by_key(&*store, &other_key).await,
        vec![forever.clone()],
        "a token without expiry round-trips"
    );
}

/// A key no token has gives an empty list.
pub async fn unknown_key_is_empty(store: Arc<dyn KnoxTokenStore>) {
    assert!(
        by_key(&*store, &new_key()).await.is_empty(),
        "knox_tokens_by_key of an unknown key is empty"
    );
}

/// `touch_knox_token` sets `expiry` (also to `None`) and `last_used` and
/// nothing else; it is `false` for an unknown digest.
pub async fn touch_sets_expiry_and_last_used(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let key = new_key();
    let mut record = token(UserId::new(), &key, t, Some(micros(t, 3_600_000_000)));
    record.name = Some("phone".into());
    insert(&*store, &record, TokenLimit::Unlimited, t).await;

    let (expiry, used) = (micros(t, 7_200_000_001), micros(t, 5));
    assert!(
        store
            .touch_knox_token(&record.digest, Some(expiry), used)
            .await
            .expect("touch_knox_token failed"),
        "touching a stored token is true"
    );
    let mut expected = record.clone();
    expected.expiry = Some(expiry);
    expected.last_used = Some(used);
    assert_eq!(
        by_key(&*store, &key).await,
        vec![expected.clone()],
        "expiry and last_used are set"
    );

    let used = micros(t, 9);
    assert!(
        store
            .touch_knox_token(&record.digest, None, used)
            .await
            .expect("touch_knox_token failed")
    );
    expected.expiry = None;
    expected.last_used = Some(used);
    assert_eq!(
        by_key(&*store, &key).await,
        vec![expected],
        "the expiry can be cleared"
    );

    assert!(
        !store
            .touch_knox_token(&random_hex(64), Some(expiry), used)
            .await
            .expect("touch_knox_token failed"),
        "touching an unknown digest is false"
    );
}

/// `delete_knox_token` deletes only the token with the digest: `true`, then
/// `false`.
pub async fn delete_by_digest(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let user = UserId::new();
    let key = new_key();
    let doomed = token(user, &key, t, None);
    let kept = token(user, &key, micros(t, 1), None);
    insert(&*store, &doomed, TokenLimit::Unlimited, t).await;
    insert(&*store, &kept, TokenLimit::Unlimited, t).await;

    assert!(
        store
            .delete_knox_token(&doomed.digest)
            .await
            .expect("delete_knox_token failed"),
        "deleting a stored token is true"
    );
    assert!(
        !store
            .delete_knox_token(&doomed.digest)
            .await
            .expect("delete_knox_token failed"),
        "deleting it again is false"
    );
    assert_eq!(
        by_key(&*store, &key).await,
        vec![kept.clone()],
        "only that token is gone"
    );
    assert_eq!(live_digests(&*store, user, t).await, vec![kept.digest]);
}

/// `delete_knox_token_by_key` deletes the user's tokens with the key (all of
/// them) and never another user's; `false` when the user has none.
pub async fn delete_by_key_only_touches_that_user(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let (shared, ada_only, bob_only) = (new_key(), new_key(), new_key());
    let ada_1 = token(ada, &shared, t, None);
    let ada_2 = token(ada, &shared, micros(t, 1), Some(micros(t, 60_000_000)));
    let bob_shared = token(bob, &shared, t, None);
    let ada_other = token(ada, &ada_only, t, None);
    let bob_other = token(bob, &bob_only, t, None);
    for record in [&ada_1, &ada_2, &bob_shared, &ada_other, &bob_other] {
        insert(&*store, record, TokenLimit::Unlimited, t).await;
    }

    assert!(
        store
            .delete_knox_token_by_key(ada, &shared)
            .await
            .expect("delete_knox_token_by_key failed"),
        "deleting the user's tokens with a key is true"
    );
    assert_eq!(
        by_key(&*store, &shared).await,
        vec![bob_shared.clone()],
        "both of the user's tokens with the key are gone; the other user's stays"
    );
    assert_eq!(
        by_key(&*store, &ada_only).await,
        vec![ada_other],
        "other keys stay"
    );
    assert!(
        !store
            .delete_knox_token_by_key(ada, &shared)
            .await
            .expect("delete_knox_token_by_key failed"),
        "again: the user has none left, false"
    );
    assert!(
        !store
            .delete_knox_token_by_key(ada, &bob_only)
            .await
            .expect("delete_knox_token_by_key failed"),
        "a key only another user has is false"
    );
    assert_eq!(
        by_key(&*store, &bob_only).await,
        vec![bob_other],
        "and that token stays"
    );
}

/// `delete_user_knox_tokens` deletes every token of the user, expired ones
/// too, returns how many, and leaves other users' tokens. (A store that
/// expires tokens by itself may have dropped the expired one already; then
/// it does not count it.)
pub async fn delete_user_tokens_counts_them(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let key = new_key();
    let ada_tokens = [
        token(ada, &key, t, None),
        token(ada, &new_key(), t, Some(micros(t, 60_000_000))),
        token(
            ada,
            &new_key(),
            micros(t, -120_000_000),
            Some(micros(t, -60_000_000)),
        ),
    ];
    let bob_token = token(bob, &key, t, None);
    for record in ada_tokens.iter().chain([&bob_token]) {
        insert(&*store, record, TokenLimit::Unlimited, t).await;
    }
    let expired_held = by_key(&*store, &ada_tokens[2].token_key).await.len() as u64;

    assert_eq!(
        store
            .delete_user_knox_tokens(ada)
            .await
            .expect("delete_user_knox_tokens failed"),
        2 + expired_held,
        "every token of the user is deleted and counted, expired ones too \
         (those the store still held)"
    );
    for record in &ada_tokens {
        assert!(
            !by_key(&*store, &record.token_key)
                .await
                .iter()
                .any(|r| r.user_id == ada),
            "the user's token with key {} is gone",
            record.token_key
        );
    }
    assert_eq!(
        by_key(&*store, &key).await,
        vec![bob_token],
        "another user's token stays"
    );
    assert_eq!(
        store
            .delete_user_knox_tokens(ada)
            .await
            .expect("delete_user_knox_tokens failed"),
        0,
        "again: nothing left"
    );
}

/// `user_knox_tokens` lists only the user's tokens live at `now` (an expiry
/// equal to `now` is not live), newest first.
pub async fn user_tokens_are_live_newest_first(store: Arc<dyn KnoxTokenStore>) {
    // A minute ahead of the real clock: every token live at `t` is live by a
    // store's own clock too (a store may drop a token once its expiry has
    // passed by its clock), and the ones expired at `t` are not expired yet
    // by that clock, so the store must judge by the `now` it is given.
    let t = micros(now(), 60_000_000);
    let (ada, bob) = (UserId::new(), UserId::new());
    let oldest = token(ada, &new_key(), micros(t, -3_000_000), None);
    let middle = token(
        ada,
        &new_key(),
        micros(t, -2_000_000),
        Some(micros(t, 10_000_000)),
    );
    let newest = token(ada, &new_key(), micros(t, -1), Some(micros(t, 1)));
    let expired = token(ada, &new_key(), micros(t, -4_000_000), Some(micros(t, -1)));
    let ends_now = token(ada, &new_key(), micros(t, -500_000), Some(t));
    let others = token(bob, &new_key(), t, None);
    for record in [&middle, &expired, &newest, &others, &oldest, &ends_now] {
        insert(&*store, record, TokenLimit::Unlimited, t).await;
    }

    let listed = store
        .user_knox_tokens(ada, t)
        .await
        .expect("user_knox_tokens failed");
    assert_eq!(
        listed,
        vec![newest.clone(), middle.clone(), oldest.clone()],
        "the live tokens, newest first (expired, ending-now and other users' tokens left out)"
    );
    assert_eq!(
        live_digests(&*store, ada, micros(t, 10_000_000)).await,
        vec![oldest.digest.clone()],
        "judged at a later `now`, fewer are live"
    );
    assert!(
        live_digests(&*store, UserId::new(), t).await.is_empty(),
        "a user without tokens has none"
    );
}

/// `purge_expired_knox_tokens` deletes exactly the tokens expired at `now`
/// (an expiry equal to `now` included), returns how many, and keeps the rest.
///
/// A store that expires tokens by itself may have dropped the tokens whose
/// expiry has passed by the real clock before the purge; those are not
/// counted. Whatever expired token it still holds must be gone after the
/// purge and counted, and every token live at `now` that it holds is kept.
pub async fn purge_removes_only_expired(store: Arc<dyn KnoxTokenStore>) {
    // Ten years back: a time range no other test (nor an earlier run) uses,
    // so a shared store's other tokens are neither purged nor counted.
    let t = now() - Duration::days(3650);
    let user = UserId::new();
    let expired = token(
        user,
        &new_key(),
        micros(t, -7_200_000_000),
        Some(micros(t, -1)),
    );
    let ends_now = token(user, &new_key(), micros(t, -7_200_000_000), Some(t));
    let live = token(
        user,
        &new_key(),
        micros(t, -7_200_000_000),
        Some(micros(t, 1)),
    );
    let forever = token(user, &new_key(), micros(t, -7_200_000_000), None);
    // Live at `t` and by the real clock: every store holds it.
    let in_an_hour = token(
        user,
        &new_key(),
        micros(t, -7_200_000_000),
        Some(micros(now(), 3_600_000_000)),
    );
    let before = micros(t, -7_200_000_000);
    for record in [&expired, &ends_now, &live, &forever, &in_an_hour] {
        insert(&*store, record, TokenLimit::Unlimited, before).await;
    }
    let mut held = Vec::new();
    for record in [&expired, &ends_now, &live] {
        if by_key(&*store, &record.token_key).await == vec![record.clone()] {
            held.push(record.digest.clone());
        }
    }
    let expired_held = [&expired, &ends_now]
        .iter()
        .filter(|record| held.contains(&record.digest))
        .count() as u64;

    assert_eq!(
        store
            .purge_expired_knox_tokens(t)
            .await
            .expect("purge_expired_knox_tokens failed"),
        expired_held,
        "the expired tokens the store held, the one whose expiry is `now` included, \
         are purged and counted"
    );
    for gone in [&expired, &ends_now] {
        assert!(
            by_key(&*store, &gone.token_key).await.is_empty(),
            "an expired token is gone after a purge"
        );
    }
    let mut kept = vec![&forever, &in_an_hour];
    if held.contains(&live.digest) {
        kept.push(&live);
    }
    for kept in kept {
        assert_eq!(
            by_key(&*store, &kept.token_key).await,
            vec![kept.clone()],
            "a token live at `now` is kept"
        );
    }
    assert_eq!(
        store
            .purge_expired_knox_tokens(t)
            .await
            .expect("purge_expired_knox_tokens failed"),
        0,
        "purging again finds nothing"
    );
    store
        .delete_user_knox_tokens(user)
        .await
        .expect("delete_user_knox_tokens failed");
}

/// With `Refuse(n)`, an insert when the user has `n` live tokens is
/// `LimitReached` and stores nothing; expired tokens and other users' tokens
/// do not count.
pub async fn refuse_limit_counts_only_live_tokens(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let limit = TokenLimit::Refuse(3);
    for i in 0..3 {
        insert(
            &*store,
            &token(bob, &new_key(), micros(t, i), None),
            limit,
            t,
        )
        .await;
    }
    let stale = [
        token(ada, &new_key(), micros(t, -9_000_000), Some(micros(t, -1))),
        token(ada, &new_key(), micros(t, -8_000_000), Some(t)),
    ];
    for record in &stale {
        insert(
            &*store,
            record,
            TokenLimit::Unlimited,
            micros(t, -10_000_000),
        )
        .await;
    }
    let mut live = Vec::new();
    for i in 0..3 {
        let record = token(ada, &new_key(), micros(t, i), Some(micros(t, 60_000_000)));
        let evicted = insert(&*store, &record, limit, t).await;
        assert_eq!(evicted, 0, "Refuse never evicts");
        live.push(record);
    }

    let refused = token(ada, &new_key(), micros(t, 10), None);
    let result = store
        .insert_knox_token(&refused, limit, t)
        .await
        .expect("insert_knox_token failed");
    assert_eq!(
        result,
        KnoxInsert::LimitReached,
        "the fourth live token under Refuse(3) is refused"
    );
    assert!(
        by_key(&*store, &refused.token_key).await.is_empty(),
        "a refused token is not stored"
    );
    assert_eq!(live_digests(&*store, ada, t).await.len(), 3);

    // Once a token expires there is room again.
    let later = micros(t, 60_000_000);
    let fresh = token(ada, &new_key(), later, None);
    insert(&*store, &fresh, limit, later).await;
    assert_eq!(
        live_digests(&*store, ada, later).await,
        vec![fresh.digest],
        "expired tokens do not count against the limit"
    );
}

/// With `EvictOldest(n)`, the user's oldest live tokens (by `created`) are
/// deleted so that the user ends with `n`, and `evicted` says how many;
/// other users' tokens are untouched.
pub async fn evict_oldest_limit_evicts_oldest_live(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let bobs = token(bob, &new_key(), micros(t, -100_000_000), None);
    insert(&*store, &bobs, TokenLimit::Unlimited, t).await;
    let expired = token(ada, &new_key(), micros(t, -90_000_000), Some(micros(t, -1)));
    insert(
        &*store,
        &expired,
        TokenLimit::Unlimited,
        micros(t, -90_000_000),
    )
    .await;
    // Inserted out of order of creation: eviction goes by `created`.
    let t2 = token(ada, &new_key(), micros(t, -2_000_000), None);
    let t1 = token(
        ada,
        &new_key(),
        micros(t, -3_000_000),
        Some(micros(t, 600_000_000)),
    );
    let t3 = token(ada, &new_key(), micros(t, -1_000_000), None);
    for record in [&t2, &t1, &t3] {
        insert(&*store, record, TokenLimit::Unlimited, t).await;
    }

    let t4 = token(ada, &new_key(), t, None);
    assert_eq!(
        insert(&*store, &t4, TokenLimit::EvictOldest(3), t).await,
        1,
        "one live token is evicted to make room under EvictOldest(3)"
    );
    assert_eq!(
        live_digests(&*store, ada, t).await,
        vec![t4.digest.clone(), t3.digest.clone(), t2.digest.clone()],
        "the oldest live token was evicted"
    );
    assert!(
        by_key(&*store, &t1.token_key).await.is_empty(),
        "the evicted token is deleted"
    );

    let t5 = token(ada, &new_key(), micros(t, 1), None);
    assert_eq!(
        insert(&*store, &t5, TokenLimit::EvictOldest(2), t).await,
        2,
        "a lower limit evicts as many as needed"
    );
    assert_eq!(
        live_digests(&*store, ada, t).await,
        vec![t5.digest.clone(), t4.digest.clone()]
    );

    let t6 = token(ada, &new_key(), micros(t, 2), None);
    assert_eq!(
        insert(&*store, &t6, TokenLimit::EvictOldest(5), t).await,
        0,
        "below the limit nothing is evicted"
    );
    assert_eq!(live_digests(&*store, ada, t).await.len(), 3);
    assert_eq!(
        by_key(&*store, &bobs.token_key).await,
        vec![bobs],
        "other users are untouched"
    );
}

/// A second token with a stored digest is `Conflict("digest")` and stores
/// nothing, whatever its key or user.
pub async fn duplicate_digest_conflicts(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let first = token(UserId::new(), &new_key(), t, None);
    insert(&*store, &first, TokenLimit::Unlimited, t).await;

    let mut copy = token(UserId::new(), &new_key(), micros(t, 1), None);
    copy.digest = first.digest.clone();
    assert_conflict(
        store
            .insert_knox_token(&copy, TokenLimit::Unlimited, t)
            .await,
        "digest",
        "inserting a token with a stored digest",
    );
    assert!(
        by_key(&*store, &copy.token_key).await.is_empty(),
        "the duplicate is not stored"
    );
    assert_eq!(
        by_key(&*store, &first.token_key).await,
        vec![first],
        "the first is unchanged"
    );
}

/// 32 concurrent inserts for one user under `Refuse(5)`: exactly 5 are
/// stored and 27 refused, and the 5 are the user's live tokens.
pub async fn concurrent_inserts_respect_refuse(store: Arc<dyn KnoxTokenStore>) {
    const TASKS: usize = 32;
    let t = now();
    let user = UserId::new();
    let results = race(TASKS, |i| {
        let store = store.clone();
        let record = token(user, &new_key(), micros(t, i as i64), None);
        async move {
            let result = store
                .insert_knox_token(&record, TokenLimit::Refuse(5), t)
                .await;
            (record.digest, result)
        }
    })
    .await;

    let mut stored = HashSet::new();
    let mut refused = 0;
    for (digest, result) in results {
        match result {
            Ok(KnoxInsert::Inserted { evicted: 0 }) => {
                stored.insert(digest);
            }
            Ok(KnoxInsert::LimitReached) => refused += 1,
            other => panic!(
                "an insert under Refuse(5) is Inserted {{ evicted: 0 }} or LimitReached, got {other:?}"
            ),
        }
    }
    assert_eq!(
        (stored.len(), refused),
        (5, TASKS - 5),
        "(stored, refused) of {TASKS} racing inserts"
    );
    let live: HashSet<String> = live_digests(&*store, user, t).await.into_iter().collect();
    assert_eq!(
        live, stored,
        "the user's live tokens are exactly the stored ones"
    );
}

/// 32 concurrent inserts for one user under `EvictOldest(5)`: every insert
/// succeeds, the user ends with exactly 5 live tokens, and the evictions
/// the inserts report add up to the other 27.
pub async fn concurrent_inserts_respect_evict_oldest(store: Arc<dyn KnoxTokenStore>) {
    const TASKS: usize = 32;
    let t = now();
    let user = UserId::new();
    let results = race(TASKS, |i| {
        let store = store.clone();
        let record = token(user, &new_key(), micros(t, i as i64), None);
        async move {
            store
                .insert_knox_token(&record, TokenLimit::EvictOldest(5), t)
                .await
        }
    })
    .await;

    let mut evicted = 0;
    for result in results {
        match result {
            Ok(KnoxInsert::Inserted { evicted: n }) => evicted += n,
            other => panic!("an insert under EvictOldest is never refused, got {other:?}"),
        }
    }
    let live = live_digests(&*store, user, t).await.len();
    assert_eq!(
        (live, evicted),
        (5, TASKS as u64 - 5),
        "(live tokens, evictions counted) after {TASKS} racing inserts: exactly 5 are left, \
         and each of the others was evicted once"
    );
}

/// `EvictOldest(0)` evicts every live token and stores the new one.
pub async fn evict_oldest_zero_replaces_every_live_token(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let user = UserId::new();
    for i in 0..3 {
        let older = token(user, &new_key(), t - Duration::seconds(10 - i), None);
        insert(&*store, &older, TokenLimit::Unlimited, t).await;
    }
    let newest = token(user, &new_key(), t, None);
    assert_eq!(
        store
            .insert_knox_token(&newest, TokenLimit::EvictOldest(0), t)
            .await
            .expect("insert_knox_token failed"),
        KnoxInsert::Inserted { evicted: 3 },
        "the three live tokens were evicted"
    );
    assert_eq!(
        store
            .user_knox_tokens(user, t)
            .await
            .expect("user_knox_tokens failed"),
        vec![newest],
        "only the new token is left"
    );
}
