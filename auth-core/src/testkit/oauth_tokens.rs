//! Conformance tests for [`OAuthTokenStore`].

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{assert_conflict, micros, now, race, random_hex};
use crate::error::StoreError;
use crate::oauth::{ApplicationId, FamilyId, OAuthToken, OAuthTokenKind, Scopes};
use crate::store::{OAuthTokenStore, RefreshUse};
use crate::user::UserId;

/// A live token of `kind` in a new family, for a new user and application,
/// issued now and expiring in an hour.
pub fn token(kind: OAuthTokenKind) -> OAuthToken {
    let t = now();
    OAuthToken {
        digest: random_hex(32),
        kind,
        application_id: ApplicationId::new(),
        user_id: Some(UserId::new()),
        scopes: Scopes::parse("openid read").expect("valid scopes"),
        family: FamilyId::new(),
        created: micros(t, -1),
        expires: Some(micros(t, 3_600_000_001)),
        revoked_at: None,
        rotated_at: None,
    }
}

/// Another token of `kind` in the family, for the same user and
/// application.
fn sibling(of: &OAuthToken, kind: OAuthTokenKind) -> OAuthToken {
    OAuthToken {
        digest: random_hex(32),
        kind,
        ..of.clone()
    }
}

/// `insert_oauth_token`, which must succeed.
async fn insert(store: &dyn OAuthTokenStore, token: &OAuthToken) {
    store
        .insert_oauth_token(token)
        .await
        .expect("insert_oauth_token failed");
}

/// The token with this digest, which must not fail.
async fn get(store: &dyn OAuthTokenStore, digest: &str) -> Option<OAuthToken> {
    store.oauth_token(digest).await.expect("oauth_token failed")
}

/// `rotate_refresh_token`, which must not fail.
async fn rotate(store: &dyn OAuthTokenStore, digest: &str, at: DateTime<Utc>) -> RefreshUse {
    store
        .rotate_refresh_token(digest, at)
        .await
        .expect("rotate_refresh_token failed")
}

/// Tokens round-trip with every field (no user, no expiry, states set on
/// insert), and an unknown digest is `None`.
pub async fn insert_and_lookup_round_trip(store: Arc<dyn OAuthTokenStore>) {
    let refresh = token(OAuthTokenKind::Refresh);
    let client = OAuthToken {
        user_id: None,
        expires: None,
        scopes: Scopes::new(),
        ..token(OAuthTokenKind::Access)
    };
    let t = now();
    let states = OAuthToken {
        revoked_at: Some(micros(t, 7)),
        rotated_at: Some(micros(t, 3)),
        ..token(OAuthTokenKind::Refresh)
    };
    for record in [&refresh, &client, &states] {
        insert(&*store, record).await;
        assert_eq!(
            get(&*store, &record.digest).await.as_ref(),
            Some(record),
            "every field as stored"
        );
    }
    assert_eq!(get(&*store, &random_hex(32)).await, None, "unknown digest");
}

/// A duplicate digest is `Conflict("digest")` and changes nothing.
pub async fn duplicate_digest_conflicts(store: Arc<dyn OAuthTokenStore>) {
    let first = token(OAuthTokenKind::Access);
    insert(&*store, &first).await;
    let other = OAuthToken {
        digest: first.digest.clone(),
        ..token(OAuthTokenKind::Refresh)
    };
    assert_conflict(
        store.insert_oauth_token(&other).await,
        "digest",
        "a taken digest",
    );
    assert_eq!(get(&*store, &first.digest).await, Some(first));
}

/// The first rotation gets `First` with `rotated_at` set (and the token is
/// no longer live); later ones get `Reused`.
pub async fn rotate_first_then_reused(store: Arc<dyn OAuthTokenStore>) {
    let refresh = token(OAuthTokenKind::Refresh);
    insert(&*store, &refresh).await;
    let at = now();
    let rotated = OAuthToken {
        rotated_at: Some(at),
        ..refresh.clone()
    };
    assert_eq!(
        rotate(&*store, &refresh.digest, at).await,
        RefreshUse::First(rotated.clone())
    );
    assert_eq!(get(&*store, &refresh.digest).await, Some(rotated.clone()));
    assert!(!rotated.is_live(at));
    assert_eq!(
        rotate(&*store, &refresh.digest, micros(at, 1)).await,
        RefreshUse::Reused(rotated.clone()),
        "a second rotation is a replay"
    );
    store
        .revoke_oauth_family(refresh.family, micros(at, 2))
        .await
        .expect("revoke_oauth_family failed");
    assert!(
        matches!(
            rotate(&*store, &refresh.digest, micros(at, 3)).await,
            RefreshUse::Reused(_)
        ),
        "still a replay once revoked"
    );
}

/// A revoked refresh token, and one at or after its expiry, is `Dead` and
/// is not marked rotated; an access token's digest and an unknown one are
/// `Unknown`.
pub async fn dead_and_unknown_refresh_tokens(store: Arc<dyn OAuthTokenStore>) {
    let revoked = token(OAuthTokenKind::Refresh);
    insert(&*store, &revoked).await;
    let at = now();
    assert!(
        store
            .revoke_oauth_token(&revoked.digest, at)
            .await
            .expect("revoke_oauth_token failed")
    );
    let revoked = OAuthToken {
        revoked_at: Some(at),
        ..revoked
    };
    assert_eq!(
        rotate(&*store, &revoked.digest, micros(at, 1)).await,
        RefreshUse::Dead(revoked.clone())
    );
    let expiring = token(OAuthTokenKind::Refresh);
    insert(&*store, &expiring).await;
    let expires = expiring.expires.expect("an expiry");
    for at in [expires, micros(expires, 1)] {
        assert_eq!(
            rotate(&*store, &expiring.digest, at).await,
            RefreshUse::Dead(expiring.clone()),
            "expired from its expiry on"
        );
    }
    assert_eq!(get(&*store, &expiring.digest).await, Some(expiring.clone()));
    assert!(
        matches!(
            rotate(&*store, &expiring.digest, micros(expires, -1)).await,
            RefreshUse::First(_)
        ),
        "a Dead answer does not rotate"
    );
    let access = token(OAuthTokenKind::Access);
    insert(&*store, &access).await;
    assert_eq!(
        rotate(&*store, &access.digest, now()).await,
        RefreshUse::Unknown,
        "an access token is not a refresh token"
    );
    assert_eq!(
        get(&*store, &access.digest).await,
        Some(access),
        "untouched"
    );
    assert_eq!(
        rotate(&*store, &random_hex(32), now()).await,
        RefreshUse::Unknown
    );
}

/// Of 64 concurrent rotations of one refresh token, exactly one gets
/// `First`; the others get `Reused`.
pub async fn concurrent_rotations_admit_one(store: Arc<dyn OAuthTokenStore>) {
    let refresh = token(OAuthTokenKind::Refresh);
    insert(&*store, &refresh).await;
    let at = now();
    let results = race(64, |_| {
        let store = store.clone();
        let digest = refresh.digest.clone();
        async move { store.rotate_refresh_token(&digest, at).await }
    })
    .await;
    let firsts = results
        .iter()
        .filter(|r| matches!(r, Ok(RefreshUse::First(_))))
        .count();
    let reused = results
        .iter()
        .filter(|r| matches!(r, Ok(RefreshUse::Reused(_))))
        .count();
    assert_eq!(
        (firsts, reused),
        (1, 63),
        "one First, the rest Reused: {results:?}"
    );
}

/// `revoke_oauth_token` revokes one token: `true` once, then `false`;
/// `false` for an unknown digest.
pub async fn revoke_one_token(store: Arc<dyn OAuthTokenStore>) {
    let access = token(OAuthTokenKind::Access);
    let other = sibling(&access, OAuthTokenKind::Refresh);
    insert(&*store, &access).await;
    insert(&*store, &other).await;
    let at = now();
    assert!(
        store
            .revoke_oauth_token(&access.digest, at)
            .await
            .expect("revoke_oauth_token failed")
    );
    assert!(
        !store
            .revoke_oauth_token(&access.digest, micros(at, 1))
            .await
            .expect("revoke_oauth_token failed"),
        "revoked before"
    );
    assert!(
        !store
            .revoke_oauth_token(&random_hex(32), at)
            .await
            .expect("revoke_oauth_token failed"),
        "unknown"
    );
    assert_eq!(
        get(&*store, &access.digest).await,
        Some(OAuthToken {
            revoked_at: Some(at),
            ..access
        }),
        "revoked at the first revocation"
    );
    assert_eq!(get(&*store, &other.digest).await, Some(other), "untouched");
}

/// `revoke_oauth_family` revokes the family's tokens (counting those it
/// revoked), no other, and refuses later inserts into the family with
/// `Conflict("family")`; again, it revokes nothing.
pub async fn revoke_family_revokes_it_and_refuses_inserts(store: Arc<dyn OAuthTokenStore>) {
    let access = token(OAuthTokenKind::Access);
    let refresh = sibling(&access, OAuthTokenKind::Refresh);
    let revoked_before = OAuthToken {
        revoked_at: Some(micros(access.created, 1)),
        ..sibling(&access, OAuthTokenKind::Access)
    };
    let other_family = OAuthToken {
        family: FamilyId::new(),
        ..sibling(&access, OAuthTokenKind::Access)
    };
    for t in [&access, &refresh, &revoked_before, &other_family] {
        insert(&*store, t).await;
    }
    let at = now();
    assert_eq!(
        store
            .revoke_oauth_family(access.family, at)
            .await
            .expect("revoke_oauth_family failed"),
        2,
        "the two unrevoked tokens of the family"
    );
    for t in [&access, &refresh] {
        let stored = get(&*store, &t.digest).await.expect("kept");
        assert_eq!(stored.revoked_at, Some(at), "revoked at `now`");
    }
    assert_eq!(
        get(&*store, &revoked_before.digest).await,
        Some(revoked_before.clone()),
        "a token revoked before keeps its time"
    );
    assert_eq!(
        get(&*store, &other_family.digest).await,
        Some(other_family),
        "another family is untouched"
    );
    let late = sibling(&access, OAuthTokenKind::Refresh);
    assert_conflict(
        store.insert_oauth_token(&late).await,
        "family",
        "a token of a revoked family",
    );
    assert_eq!(get(&*store, &late.digest).await, None, "nothing stored");
    assert_eq!(
        store
            .revoke_oauth_family(access.family, micros(at, 1))
            .await
            .expect("revoke_oauth_family failed"),
        0,
        "revoking again revokes nothing"
    );
    let empty = FamilyId::new();
    assert_eq!(
        store
            .revoke_oauth_family(empty, at)
            .await
            .expect("revoke_oauth_family failed"),
        0
    );
    let first_of_empty = OAuthToken {
        family: empty,
        ..token(OAuthTokenKind::Access)
    };
    assert_conflict(
        store.insert_oauth_token(&first_of_empty).await,
        "family",
        "a family revoked before it had tokens (a replayed code)",
    );
}

/// A family revocation racing rotations of its refresh token leaves no
/// token of the family live, whichever comes first: each round, one task
/// rotates and inserts the new access and refresh tokens while another
/// revokes the family.
pub async fn family_revocation_racing_a_rotation_leaves_nothing_live(
    store: Arc<dyn OAuthTokenStore>,
) {
    for round in 0..24 {
        let refresh = token(OAuthTokenKind::Refresh);
        insert(&*store, &refresh).await;
        let new_tokens = [
            sibling(&refresh, OAuthTokenKind::Access),
            sibling(&refresh, OAuthTokenKind::Refresh),
        ];
        let outcomes = race(2, |i| {
            let store = store.clone();
            let refresh = refresh.clone();
            let new_tokens = new_tokens.clone();
            async move {
                let at = now();
                if i == 0 {
                    match store.rotate_refresh_token(&refresh.digest, at).await {
                        Ok(RefreshUse::First(_)) => {}
                        // The revocation came first: nothing to issue.
                        Ok(RefreshUse::Dead(_)) => return Ok(()),
                        other => return Err(format!("rotation: {other:?}")),
                    }
                    // A service makes the new tokens in between; odd rounds
                    // take a while over it.
                    if round % 2 == 1 {
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                    for t in &new_tokens {
                        match store.insert_oauth_token(t).await {
                            Ok(()) | Err(StoreError::Conflict(_)) => {}
                            Err(err) => return Err(format!("insert: {err}")),
                        }
                    }
                } else {
                    // Odd rounds aim at the window between the rotation and
                    // the inserts: they wait to see the rotation first.
                    if round % 2 == 1 {
                        for _ in 0..1_000 {
                            match store.oauth_token(&refresh.digest).await {
                                Ok(Some(t)) if t.rotated_at.is_some() => break,
                                Ok(_) => tokio::task::yield_now().await,
                                Err(err) => return Err(format!("oauth_token: {err}")),
                            }
                        }
                    }
                    if let Err(err) = store.revoke_oauth_family(refresh.family, now()).await {
                        return Err(format!("revoke_oauth_family: {err}"));
                    }
                }
                Ok(())
            }
        })
        .await;
        for outcome in outcomes {
            outcome.unwrap_or_else(|err| panic!("round {round}: {err}"));
        }
        let later = micros(now(), 1_000_000);
        for t in new_tokens.iter().chain([&refresh]) {
            if let Some(stored) = get(&*store, &t.digest).await {
                assert!(
                    !stored.is_live(later),
                    "round {round}: a {:?} token of the revoked family is live",
                    t.kind
                );
            }
        }
    }
}

/// `revoke_user_oauth_tokens` revokes every token of the user (counting
/// those it revoked) and no other.
pub async fn revoke_user_tokens(store: Arc<dyn OAuthTokenStore>) {
    let first = token(OAuthTokenKind::Access);
    let user = first.user_id;
    let second = OAuthToken {
        user_id: user,
        ..token(OAuthTokenKind::Refresh)
    };
    let revoked = OAuthToken {
        user_id: user,
        revoked_at: Some(first.created),
        ..token(OAuthTokenKind::Access)
    };
    let other_user = token(OAuthTokenKind::Access);
    let no_user = OAuthToken {
        user_id: None,
        application_id: first.application_id,
        ..token(OAuthTokenKind::Access)
    };
    for t in [&first, &second, &revoked, &other_user, &no_user] {
        insert(&*store, t).await;
    }
    let at = now();
    assert_eq!(
        store
            .revoke_user_oauth_tokens(user.expect("a user"), at)
            .await
            .expect("revoke_user_oauth_tokens failed"),
        2
    );
    for t in [&first, &second] {
        assert_eq!(
            get(&*store, &t.digest).await.expect("kept").revoked_at,
            Some(at)
        );
    }
    for t in [&revoked, &other_user, &no_user] {
        assert_eq!(get(&*store, &t.digest).await.as_ref(), Some(t), "untouched");
    }
}

/// `revoke_application_tokens` revokes every token of the application,
/// or only one user's of them, and no other.
pub async fn revoke_application_tokens(store: Arc<dyn OAuthTokenStore>) {
    let a = token(OAuthTokenKind::Access);
    let app = a.application_id;
    let b = OAuthToken {
        application_id: app,
        ..token(OAuthTokenKind::Refresh)
    };
    let client = OAuthToken {
        application_id: app,
        user_id: None,
        ..token(OAuthTokenKind::Access)
    };
    let other_app = OAuthToken {
        user_id: a.user_id,
        ..token(OAuthTokenKind::Access)
    };
    for t in [&a, &b, &client, &other_app] {
        insert(&*store, t).await;
    }
    let at = now();
    assert_eq!(
        store
            .revoke_application_tokens(app, a.user_id, at)
            .await
            .expect("revoke_application_tokens failed"),
        1,
        "only that user's token of the application"
    );
    assert_eq!(
        get(&*store, &a.digest).await.expect("kept").revoked_at,
        Some(at)
    );
    for t in [&b, &client, &other_app] {
        assert_eq!(get(&*store, &t.digest).await.as_ref(), Some(t), "untouched");
    }
    let later = micros(at, 1);
    assert_eq!(
        store
            .revoke_application_tokens(app, None, later)
            .await
            .expect("revoke_application_tokens failed"),
        2,
        "every other token of the application"
    );
    for t in [&b, &client] {
        assert_eq!(
            get(&*store, &t.digest).await.expect("kept").revoked_at,
            Some(later)
        );
    }
    assert_eq!(
        get(&*store, &a.digest).await.expect("kept").revoked_at,
        Some(at)
    );
    assert_eq!(get(&*store, &other_app.digest).await, Some(other_app));
}

/// `purge_oauth_tokens` deletes the tokens expired at `now` (one expiring
/// exactly then, revoked and rotated ones included) and keeps live ones and
/// those without an expiry; it forgets a revoked-family mark only once no
/// token of the family remains and an hour has passed since the revocation.
pub async fn purge_removes_only_expired(store: Arc<dyn OAuthTokenStore>) {
    // Ten years back: no other test's tokens expire then.
    let t = now() - Duration::days(3650);
    let created = micros(t, -7_200_000_000);
    let at = |expires: Option<DateTime<Utc>>, kind| OAuthToken {
        created,
        expires,
        ..token(kind)
    };
    let expired = at(Some(micros(t, -1)), OAuthTokenKind::Access);
    let ends_now = at(Some(t), OAuthTokenKind::Refresh);
    let rotated = OAuthToken {
        rotated_at: Some(created),
        ..at(Some(micros(t, -2)), OAuthTokenKind::Refresh)
    };
    let revoked = OAuthToken {
        revoked_at: Some(created),
        ..at(Some(micros(t, -3)), OAuthTokenKind::Access)
    };
    let live_then = at(Some(micros(t, 1)), OAuthTokenKind::Access);
    let forever = OAuthToken {
        revoked_at: Some(created),
        ..at(None, OAuthTokenKind::Refresh)
    };
    let in_an_hour = at(Some(micros(now(), 3_600_000_000)), OAuthTokenKind::Refresh);
    let expiring = [&expired, &ends_now, &rotated, &revoked];
    for token in expiring
        .iter()
        .copied()
        .chain([&live_then, &forever, &in_an_hour])
    {
        insert(&*store, token).await;
    }
    // A store expiring records by itself may have dropped the old ones.
    let mut held = 0;
    for token in expiring {
        if get(&*store, &token.digest).await.is_some() {
            held += 1;
        }
    }
    let live_held = get(&*store, &live_then.digest).await.is_some();
    // Revoked two hours before `t`: its only token expired, so the purge
    // forgets the mark. Revoked half an hour before `t`: the mark stays.
    let old_family = expired.family;
    store
        .revoke_oauth_family(old_family, micros(t, -7_200_000_000))
        .await
        .expect("revoke_oauth_family failed");
    let recent_family = FamilyId::new();
    store
        .revoke_oauth_family(recent_family, micros(t, -1_800_000_000))
        .await
        .expect("revoke_oauth_family failed");

    assert_eq!(
        store
            .purge_oauth_tokens(t)
            .await
            .expect("purge_oauth_tokens failed"),
        held,
        "the expired tokens held, rotated and revoked ones included, are purged and counted"
    );
    for gone in expiring {
        assert_eq!(get(&*store, &gone.digest).await, None, "purged");
    }
    assert_eq!(
        get(&*store, &forever.digest).await,
        Some(forever),
        "no expiry: kept"
    );
    assert_eq!(get(&*store, &in_an_hour.digest).await, Some(in_an_hour));
    if live_held {
        assert_eq!(get(&*store, &live_then.digest).await, Some(live_then));
    }
    assert_eq!(
        store
            .purge_oauth_tokens(t)
            .await
            .expect("purge_oauth_tokens failed"),
        0,
        "purging again finds nothing"
    );
    insert(
        &*store,
        &OAuthToken {
            family: old_family,
            ..token(OAuthTokenKind::Access)
        },
    )
    .await;
    assert_conflict(
        store
            .insert_oauth_token(&OAuthToken {
                family: recent_family,
                ..token(OAuthTokenKind::Access)
            })
            .await,
        "family",
        "a family revoked less than an hour before the purge",
    );
    store
        .purge_oauth_tokens(micros(t, 2))
        .await
        .expect("purge_oauth_tokens failed");
}
