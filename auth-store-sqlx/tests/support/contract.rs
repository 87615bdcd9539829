//! Contract points the lead settled (documented on the store traits) that
//! the shared conformance suite does not check yet, run for every store by
//! [`contract_tests!`](crate::support::contract_tests).

use std::sync::Arc;

use auth_core::StoreError;
use auth_core::store::{
    BlacklistEntry, JwtRevocationStore, KnoxInsert, KnoxTokenRecord, KnoxTokenStore,
    LoginHistoryStore, StaticTokenRecord, StaticTokenStore, TokenLimit, UserQuery, UserStore,
};
use auth_core::testkit::{now, unique};
use auth_core::user::{User, UserId};
use chrono::Duration;

/// A user with a unique name.
fn user() -> User {
    let name = unique("contract_");
    let mut user = User::new_for_tests(&name, &format!("{name}@example.com"));
    user.date_joined = now();
    user
}

/// Inserting a user whose id is taken is `Conflict("id")` and stores
/// nothing.
pub(crate) async fn insert_with_a_taken_id_conflicts_on_id(store: Arc<dyn UserStore>) {
    let first = user();
    store.insert_user(&first).await.expect("insert");
    let mut second = user();
    second.id = first.id;
    match store.insert_user(&second).await {
        Err(StoreError::Conflict(field)) if field == "id" => {}
        other => panic!("expected Conflict(\"id\"), got {other:?}"),
    }
    assert_eq!(
        store
            .user_by_username(&second.username)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store.user_by_id(first.id).await.expect("lookup"),
        Some(first)
    );
}

/// A static token whose digest another user's token has is
/// `Conflict("digest")` and stores nothing.
pub(crate) async fn static_digest_of_another_user_conflicts(store: Arc<dyn StaticTokenStore>) {
    let t = now();
    let ada = StaticTokenRecord {
        user_id: UserId::new(),
        digest: unique("digest_"),
        seed: unique("seed_"),
        created: t,
    };
    store
        .get_or_insert_static_token(&ada)
        .await
        .expect("insert");
    let bob = StaticTokenRecord {
        user_id: UserId::new(),
        digest: ada.digest.clone(),
        seed: unique("seed_"),
        created: t,
    };
    match store.get_or_insert_static_token(&bob).await {
        Err(StoreError::Conflict(field)) if field == "digest" => {}
        other => panic!("expected Conflict(\"digest\"), got {other:?}"),
    }
    assert_eq!(
        store
            .static_token_for_user(bob.user_id)
            .await
            .expect("lookup"),
        None
    );
}

/// A family revoked for one user is revoked whoever asks; revoking it
/// again with an earlier expiry keeps the later one.
pub(crate) async fn families_ignore_their_user_and_keep_the_later_expiry(
    store: Arc<dyn JwtRevocationStore>,
) {
    // Ten years back, like the suite's purge tests, so that purging here
    // touches nothing of other tests sharing the store.
    let t = now() - Duration::days(3650);
    let family = unique("family_");
    store
        .revoke_family(&family, UserId::new(), t + Duration::days(2))
        .await
        .expect("revoke");
    store
        .revoke_family(&family, UserId::new(), t + Duration::days(1))
        .await
        .expect("revoke again");
    let state = store
        .revocation_state(UserId::new(), Some(&family))
        .await
        .expect("state");
    assert!(
        state.family_revoked,
        "another user's token of the family fails"
    );
    store
        .purge_expired_revocations(t + Duration::hours(36))
        .await
        .expect("purge");
    assert!(
        store
            .revocation_state(UserId::new(), Some(&family))
            .await
            .expect("state")
            .family_revoked,
        "the later expiry was kept"
    );
    store
        .purge_expired_revocations(t + Duration::days(2))
        .await
        .expect("purge");
    assert!(
        !store
            .revocation_state(UserId::new(), Some(&family))
            .await
            .expect("state")
            .family_revoked,
        "purged at the later expiry"
    );
    let entry = BlacklistEntry {
        jti: unique("jti_"),
        user_id: UserId::new(),
        family: Some(family),
        expires_at: now() + Duration::days(1),
        blacklisted_at: now(),
    };
    assert!(store.blacklist_jti(&entry).await.expect("blacklist"));
}

/// `EvictOldest(0)` evicts every live token and stores the new one.
pub(crate) async fn evict_oldest_zero_replaces_every_live_token(store: Arc<dyn KnoxTokenStore>) {
    let t = now();
    let user = UserId::new();
    let token = |created| KnoxTokenRecord {
        token_key: unique("k").chars().take(15).collect(),
        digest: unique("digest_"),
        user_id: user,
        created,
        expiry: None,
        last_used: None,
        name: None,
    };
    for i in 0..3 {
        store
            .insert_knox_token(
                &token(t - Duration::seconds(10 - i)),
                TokenLimit::Unlimited,
                t,
            )
            .await
            .expect("insert");
    }
    let newest = token(t);
    assert_eq!(
        store
            .insert_knox_token(&newest, TokenLimit::EvictOldest(0), t)
            .await
            .expect("insert"),
        KnoxInsert::Inserted { evicted: 3 }
    );
    assert_eq!(
        store.user_knox_tokens(user, t).await.expect("list"),
        vec![newest]
    );
}

/// Offsets and limits past `i64::MAX` are clamped, not errors.
pub(crate) async fn huge_offsets_and_limits_are_clamped(
    users: Arc<dyn UserStore>,
    history: Arc<dyn LoginHistoryStore>,
) {
    let ada = user();
    users.insert_user(&ada).await.expect("insert");
    let page = users
        .list_users(&UserQuery {
            search: Some(ada.username.clone()),
            offset: 0,
            limit: u64::MAX,
        })
        .await
        .expect("a huge limit");
    assert_eq!((page.items.len(), page.total), (1, 1));
    let page = users
        .list_users(&UserQuery {
            search: Some(ada.username.clone()),
            offset: u64::MAX,
            limit: u64::MAX,
        })
        .await
        .expect("a huge offset");
    assert_eq!((page.items.len(), page.total), (0, 1));
    let page = history
        .user_history(ada.id, u64::MAX, u64::MAX)
        .await
        .expect("a huge history page");
    assert_eq!((page.items.len(), page.total), (0, 0));
}

/// Writes one `#[tokio::test]` per contract point above, each on a fresh
/// store from `$factory` (an expression awaited once per test, which may
/// `return` to skip).
macro_rules! contract_tests {
    ($factory:expr) => {
        mod contract {
            #[allow(unused_imports)]
            use super::*;
            use crate::support::contract;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn insert_with_a_taken_id_conflicts_on_id() {
                let store = ::std::sync::Arc::new(($factory).await);
                contract::insert_with_a_taken_id_conflicts_on_id(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn static_digest_of_another_user_conflicts() {
                let store = ::std::sync::Arc::new(($factory).await);
                contract::static_digest_of_another_user_conflicts(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn families_ignore_their_user_and_keep_the_later_expiry() {
                let store = ::std::sync::Arc::new(($factory).await);
                contract::families_ignore_their_user_and_keep_the_later_expiry(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn evict_oldest_zero_replaces_every_live_token() {
                let store = ::std::sync::Arc::new(($factory).await);
                contract::evict_oldest_zero_replaces_every_live_token(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn huge_offsets_and_limits_are_clamped() {
                let store = ::std::sync::Arc::new(($factory).await);
                contract::huge_offsets_and_limits_are_clamped(store.clone(), store).await;
            }
        }
    };
}
pub(crate) use contract_tests;
