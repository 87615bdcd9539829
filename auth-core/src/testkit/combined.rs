//! Conformance tests for a store that keeps both users and JWT
//! revocations: [`JwtRevocationStore::revocation_state_and_user`] must
//! answer exactly what [`JwtRevocationStore::revocation_state`] and
//! [`UserStore::user_by_id`] answer separately, since the service trusts it
//! in their place.
//!
//! A store that answers `None` (it cannot combine the two) must do so
//! every time; the service then makes the two calls itself.

use std::sync::Arc;

use chrono::Duration;

use super::{micros, now, random_hex, unique};
use crate::store::{JwtRevocationStore, RevocationState, UserStore};
use crate::user::{User, UserId};

/// The combined answer and the two separate ones, which must agree; the
/// combined one (`None` if the store does not combine them).
async fn both<S>(
    store: &S,
    user: UserId,
    family: Option<&str>,
    what: &str,
) -> Option<(RevocationState, Option<User>)>
where
    S: UserStore + JwtRevocationStore,
{
    let combined = store
        .revocation_state_and_user(user, family)
        .await
        .expect("revocation_state_and_user failed");
    let state = store
        .revocation_state(user, family)
        .await
        .expect("revocation_state failed");
    let found = store.user_by_id(user).await.expect("user_by_id failed");
    if let Some(combined) = &combined {
        assert_eq!(
            combined,
            &(state, found),
            "{what}: revocation_state_and_user agrees with revocation_state and user_by_id"
        );
    }
    combined
}

/// Every case authentication meets (unknown user, no mark, a mark, a
/// revoked family, no family asked, an inactive user) gets the same answer
/// from the combined call as from the two separate ones.
pub async fn revocation_state_and_user_agrees_with_separate_lookups<S>(store: Arc<S>)
where
    S: UserStore + JwtRevocationStore,
{
    let t = now();
    let mut ada = User::new_for_tests(&unique("ada_"), &format!("{}@example.com", unique("ada")));
    ada.date_joined = t;
    store.insert_user(&ada).await.expect("insert_user failed");
    let ghost = UserId::new();
    let family = random_hex(16);

    let first = both(&*store, ghost, None, "an unknown user").await;
    let combines = first.is_some();
    let expect = |got: Option<(RevocationState, Option<User>)>, want, what: &str| {
        if combines {
            assert_eq!(got, Some(want), "{what}");
        } else {
            assert_eq!(
                got, None,
                "{what}: a store that does not combine never does"
            );
        }
    };
    expect(first, (RevocationState::default(), None), "an unknown user");
    expect(
        both(&*store, ada.id, Some(&family), "a user, nothing revoked").await,
        (RevocationState::default(), Some(ada.clone())),
        "a user, nothing revoked",
    );

    let mark = micros(t, 1_000_001);
    store
        .set_tokens_valid_after(ada.id, mark)
        .await
        .expect("set_tokens_valid_after failed");
    store
        .revoke_family(&family, ghost, t + Duration::days(1))
        .await
        .expect("revoke_family failed");
    let revoked = RevocationState {
        tokens_valid_after: Some(mark),
        family_revoked: true,
    };
    expect(
        both(
            &*store,
            ada.id,
            Some(&family),
            "a mark and a revoked family",
        )
        .await,
        (revoked, Some(ada.clone())),
        "a mark and a family revoked (for another user)",
    );
    expect(
        both(&*store, ada.id, None, "a mark, no family asked").await,
        (
            RevocationState {
                family_revoked: false,
                ..revoked
            },
            Some(ada.clone()),
        ),
        "a mark, no family asked",
    );
    store
        .set_tokens_valid_after(ghost, mark)
        .await
        .expect("set_tokens_valid_after failed");
    expect(
        both(&*store, ghost, Some(&family), "an unknown user's mark").await,
        (revoked, None),
        "an unknown user with a mark and a revoked family",
    );

    ada.is_active = false;
    let deactivate = crate::user::UserUpdate {
        is_active: Some(false),
        ..Default::default()
    };
    store
        .update_user(ada.id, &deactivate)
        .await
        .expect("update_user failed");
    expect(
        both(&*store, ada.id, Some(&random_hex(16)), "an inactive user").await,
        (
            RevocationState {
                family_revoked: false,
                ..revoked
            },
            Some(ada.clone()),
        ),
        "an inactive user is returned as stored",
    );
}
