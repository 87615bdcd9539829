//! Conformance tests for [`StaticTokenStore`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{micros, now, race, random_hex};
use crate::store::{StaticTokenRecord, StaticTokenStore};
use crate::user::UserId;

/// A token record for `user` with a random digest and seed.
fn token(user: UserId, created: DateTime<Utc>) -> StaticTokenRecord {
    StaticTokenRecord {
        user_id: user,
        digest: random_hex(32),
        seed: Some(random_hex(16)),
        created,
    }
}

/// `get_or_insert_static_token`, which must succeed.
async fn get_or_insert(
    store: &dyn StaticTokenStore,
    record: &StaticTokenRecord,
) -> StaticTokenRecord {
    store
        .get_or_insert_static_token(record)
        .await
        .expect("get_or_insert_static_token failed")
}

/// The first call stores and returns the record; later calls for the user
/// return that one and store nothing.
pub async fn get_or_insert_returns_the_existing_token(store: Arc<dyn StaticTokenStore>) {
    let t = now();
    let user = UserId::new();
    let first = token(user, micros(t, 123_457));
    assert_eq!(
        get_or_insert(&*store, &first).await,
        first,
        "the first call stores and returns the record (microsecond `created` included)"
    );
    let second = token(user, micros(t, 999_999));
    assert_eq!(
        get_or_insert(&*store, &second).await,
        first,
        "a later call returns the user's existing token"
    );
    assert_eq!(
        store
            .static_token_by_digest(&second.digest)
            .await
            .expect("static_token_by_digest failed"),
        None,
        "the later record is not stored"
    );
    assert_eq!(
        store
            .static_token_for_user(user)
            .await
            .expect("static_token_for_user failed"),
        Some(first),
        "the user still has the first token"
    );
}

/// A stored token is found by its digest and by its user; unknown ones are
/// `None`.
pub async fn lookup_by_digest_and_user(store: Arc<dyn StaticTokenStore>) {
    let record = token(UserId::new(), now());
    get_or_insert(&*store, &record).await;
    assert_eq!(
        store
            .static_token_by_digest(&record.digest)
            .await
            .expect("static_token_by_digest failed"),
        Some(record.clone()),
        "found by digest"
    );
    assert_eq!(
        store
            .static_token_for_user(record.user_id)
            .await
            .expect("static_token_for_user failed"),
        Some(record),
        "found by user"
    );
    assert_eq!(
        store
            .static_token_by_digest(&random_hex(32))
            .await
            .expect("static_token_by_digest failed"),
        None,
        "an unknown digest"
    );
    assert_eq!(
        store
            .static_token_for_user(UserId::new())
            .await
            .expect("static_token_for_user failed"),
        None,
        "a user without a token"
    );
}

/// Each user has a token of their own.
pub async fn tokens_are_per_user(store: Arc<dyn StaticTokenStore>) {
    let t = now();
    let ada = token(UserId::new(), t);
    let bob = token(UserId::new(), t);
    assert_eq!(get_or_insert(&*store, &ada).await, ada);
    assert_eq!(
        get_or_insert(&*store, &bob).await,
        bob,
        "another user gets their own token"
    );
    assert!(
        store
            .delete_static_token(ada.user_id)
            .await
            .expect("delete_static_token failed")
    );
    assert_eq!(
        store
            .static_token_for_user(bob.user_id)
            .await
            .expect("static_token_for_user failed"),
        Some(bob),
        "deleting one user's token leaves another's"
    );
}

/// `delete_static_token` is `true` once, then `false`; afterwards the old
/// digest finds nothing and a new token can be stored.
pub async fn delete_then_insert_again(store: Arc<dyn StaticTokenStore>) {
    let t = now();
    let user = UserId::new();
    let old = token(user, t);
    get_or_insert(&*store, &old).await;
    assert!(
        store
            .delete_static_token(user)
            .await
            .expect("delete_static_token failed"),
        "deleting the user's token is true"
    );
    assert!(
        !store
            .delete_static_token(user)
            .await
            .expect("delete_static_token failed"),
        "deleting again is false"
    );
    assert_eq!(
        store
            .static_token_by_digest(&old.digest)
            .await
            .expect("static_token_by_digest failed"),
        None,
        "the deleted token's digest finds nothing"
    );
    assert_eq!(
        store
            .static_token_for_user(user)
            .await
            .expect("static_token_for_user failed"),
        None
    );
    let new = token(user, micros(t, 1));
    assert_eq!(
        get_or_insert(&*store, &new).await,
        new,
        "a new token is stored after a delete"
    );
}

/// 32 concurrent `get_or_insert_static_token` calls for one user all return
/// the same record, one of theirs, which is the one stored.
pub async fn concurrent_get_or_insert_agree(store: Arc<dyn StaticTokenStore>) {
    const TASKS: usize = 32;
    let t = now();
    let user = UserId::new();
    let candidates: Vec<StaticTokenRecord> = (0..TASKS)
        .map(|i| token(user, micros(t, i as i64)))
        .collect();
    let results = race(TASKS, |i| {
        let store = store.clone();
        let record = candidates[i].clone();
        async move { store.get_or_insert_static_token(&record).await }
    })
    .await;

    let returned: Vec<StaticTokenRecord> = results
        .into_iter()
        .map(|result| result.expect("a racing get_or_insert_static_token failed"))
        .collect();
    let winner = &returned[0];
    assert!(
        returned.iter().all(|record| record == winner),
        "every concurrent call returns the same record"
    );
    assert!(
        candidates.contains(winner),
        "the record is one of the candidates"
    );
    assert_eq!(
        store
            .static_token_for_user(user)
            .await
            .expect("static_token_for_user failed")
            .as_ref(),
        Some(winner),
        "the returned record is the stored one"
    );
    for loser in candidates.iter().filter(|record| *record != winner) {
        assert_eq!(
            store
                .static_token_by_digest(&loser.digest)
                .await
                .expect("static_token_by_digest failed"),
            None,
            "a losing candidate is not stored"
        );
    }
}

/// A token whose digest is another user's token is `Conflict("digest")`
/// and stores nothing.
pub async fn digest_of_another_user_conflicts(store: Arc<dyn StaticTokenStore>) {
    let t = now();
    let ada = get_or_insert(&*store, &token(UserId::new(), t)).await;
    let bob = StaticTokenRecord {
        digest: ada.digest.clone(),
        ..token(UserId::new(), t)
    };
    super::assert_conflict(
        store.get_or_insert_static_token(&bob).await,
        "digest",
        "another user's digest",
    );
    assert_eq!(
        store
            .static_token_for_user(bob.user_id)
            .await
            .expect("static_token_for_user failed"),
        None,
        "nothing was stored for the second user"
    );
}

/// An imported token (a DRF key: a digest and no seed) is stored and read
/// back without a seed, by digest and by user; a later get-or-create for
/// its user returns it as it is; once deleted, a token made here takes its
/// place.
pub async fn imported_tokens_keep_no_seed(store: Arc<dyn StaticTokenStore>) {
    let t = now();
    let user = UserId::new();
    let imported = StaticTokenRecord {
        seed: None,
        ..token(user, micros(t, 42))
    };
    assert_eq!(
        get_or_insert(&*store, &imported).await,
        imported,
        "an imported token is stored and returned without a seed"
    );
    assert_eq!(
        store
            .static_token_by_digest(&imported.digest)
            .await
            .expect("static_token_by_digest failed"),
        Some(imported.clone()),
        "found by digest, without a seed"
    );
    assert_eq!(
        store
            .static_token_for_user(user)
            .await
            .expect("static_token_for_user failed"),
        Some(imported.clone()),
        "found by user, without a seed"
    );
    let made_here = token(user, micros(t, 43));
    assert_eq!(
        get_or_insert(&*store, &made_here).await,
        imported,
        "get-or-create returns the imported token"
    );
    assert!(
        store
            .delete_static_token(user)
            .await
            .expect("delete_static_token failed"),
        "the imported token is deleted"
    );
    assert_eq!(
        get_or_insert(&*store, &made_here).await,
        made_here,
        "a token made here takes the deleted one's place, with its seed"
    );
    assert_eq!(
        store
            .static_token_by_digest(&imported.digest)
            .await
            .expect("static_token_by_digest failed"),
        None,
        "the imported digest finds nothing once deleted"
    );
}
