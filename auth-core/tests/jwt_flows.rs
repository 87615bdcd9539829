//! The JWT strategy through the service: login, the request
//! authenticator, rotation policy and grace window, and the per-user mark.

use std::sync::Arc;

use auth_core::config::AuthConfig;
use auth_core::error::{AuthError, TokenRejection};
use auth_core::events::ClientInfo;
use auth_core::flows::{Credential, Credentials, RefreshPolicy};
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::store::UserStore;
use auth_core::{Auth, AuthBuilder, ManualClock, MemoryStore, User};
use chrono::Duration;

const PASSWORD: &str = "Kettle-Orbit-42";

async fn setup(config: AuthConfig) -> (Auth, ManualClock, User) {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix(1_800_000_000);
    let auth = builder(config, &clock)
        .store(store.clone())
        .build()
        .unwrap();
    let user = insert_jay(&auth, &*store).await;
    (auth, clock, user)
}

/// A builder on `clock` with a fast hasher; the stores are the caller's.
fn builder(config: AuthConfig, clock: &ManualClock) -> AuthBuilder {
    Auth::builder(config)
        .clock(Arc::new(clock.clone()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
        ))
}

/// Inserts the user "jay" with [`PASSWORD`] into `users`.
async fn insert_jay(auth: &Auth, users: &dyn UserStore) -> User {
    let mut user = User::new_for_tests("jay", "jay@example.com");
    user.password_hash = Some(auth.passwords().hash(PASSWORD.into()).await.unwrap());
    users.insert_user(&user).await.unwrap();
    user
}

fn creds() -> Credentials {
    Credentials::username("jay", PASSWORD)
}

fn client() -> ClientInfo {
    ClientInfo::from_ip("192.0.2.20")
}

#[tokio::test]
async fn login_authenticate_refresh() {
    let (auth, clock, user) = setup(AuthConfig::default()).await;
    let (_, pair) = auth.jwt_login(&creds(), &client()).await.unwrap();
    let header = format!("Bearer {}", pair.access.as_str());
    let authenticated = auth.authenticate_header(Some(&header)).await.unwrap();
    assert_eq!(authenticated.user.id, user.id);
    assert!(matches!(authenticated.credential, Credential::Jwt(_)));
    // Keywords are case-insensitive, as in DRF.
    let lower = format!("bearer {}", pair.access.as_str());
    auth.authenticate_header(Some(&lower)).await.unwrap();

    // A refresh token never authenticates; an access token never refreshes.
    let wrong = format!("Bearer {}", pair.refresh.as_str());
    assert!(matches!(
        auth.authenticate_header(Some(&wrong)).await,
        Err(AuthError::TokenNotValid)
    ));
    assert!(matches!(
        auth.jwt_refresh(pair.access.as_str(), &client()).await,
        Err(AuthError::TokenNotValid)
    ));

    clock.advance(Duration::seconds(10));
    let refreshed = auth
        .jwt_refresh(pair.refresh.as_str(), &client())
        .await
        .unwrap();
    let claims = auth.jwt().verify_access(refreshed.access.as_str()).unwrap();
    assert_eq!(
        claims.family, pair.access_claims.family,
        "same login, same family"
    );
    assert_eq!(claims.user_id, user.id.to_string());

    // Access tokens expire after five minutes by default.
    clock.advance(Duration::seconds(300));
    assert!(matches!(
        auth.authenticate_header(Some(&format!("Bearer {}", refreshed.access.as_str())))
            .await,
        Err(AuthError::TokenNotValid)
    ));
}

#[tokio::test]
async fn header_parsing() {
    let (auth, _, _) = setup(AuthConfig::default()).await;
    let rejection = |r: Result<_, AuthError>| match r {
        Err(AuthError::Unauthenticated(rejection)) => Some(rejection),
        _ => None,
    };
    for (header, expected) in [
        (None, TokenRejection::Missing),
        (Some("Basic dXNlcjpwYXNz"), TokenRejection::Missing),
        (Some(""), TokenRejection::Missing),
        (Some("Bearer"), TokenRejection::Malformed),
        (Some("Bearer a b"), TokenRejection::Malformed),
        (Some("Token"), TokenRejection::Malformed),
        (Some("Token not-a-token"), TokenRejection::Invalid),
    ] {
        assert_eq!(
            rejection(auth.authenticate_header(header).await),
            Some(expected),
            "{header:?}"
        );
    }
    assert!(matches!(
        auth.authenticate_header(Some("Bearer not.a.jwt")).await,
        Err(AuthError::TokenNotValid)
    ));
}

#[tokio::test]
async fn grace_window_lets_a_client_retry_a_lost_refresh() {
    let config = AuthConfig::default().with_refresh_policy(RefreshPolicy {
        rotate: true,
        reuse_grace: Duration::seconds(10),
    });
    let (auth, clock, _) = setup(config).await;
    let (_, pair) = auth.jwt_login(&creds(), &client()).await.unwrap();
    let first = auth
        .jwt_refresh(pair.refresh.as_str(), &client())
        .await
        .unwrap();
    clock.advance(Duration::seconds(5));
    let retry = auth
        .jwt_refresh(pair.refresh.as_str(), &client())
        .await
        .expect("a reuse within the grace window is a retry");
    auth.jwt_refresh(retry.refresh.unwrap().as_str(), &client())
        .await
        .unwrap();
    clock.advance(Duration::seconds(6));
    assert!(
        auth.jwt_refresh(pair.refresh.as_str(), &client())
            .await
            .is_err()
    );
    // Past the window the reuse is theft: the family is revoked.
    assert!(
        auth.jwt_refresh(first.refresh.unwrap().as_str(), &client())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn replaying_a_token_made_elsewhere_revokes_its_successor() {
    // simplejwt's refresh tokens carry no family: the successor's family
    // comes from the token, so a replay can still revoke it.
    let (auth, clock, user) = setup(AuthConfig::default()).await;
    let (refresh, _) = auth
        .jwt()
        .issue_refresh(&user.id.to_string(), None)
        .unwrap();
    clock.advance(Duration::seconds(1));
    let successor = auth.jwt_refresh(refresh.as_str(), &client()).await.unwrap();
    clock.advance(Duration::seconds(1));
    assert!(matches!(
        auth.jwt_refresh(refresh.as_str(), &client()).await,
        Err(AuthError::TokenNotValid)
    ));
    assert!(matches!(
        auth.jwt_refresh(successor.refresh.unwrap().as_str(), &client())
            .await,
        Err(AuthError::TokenNotValid)
    ));
    assert!(
        auth.authenticate_header(Some(&format!("Bearer {}", successor.access.as_str())))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn without_rotation_refresh_returns_only_an_access_token() {
    let config = AuthConfig::default().with_refresh_policy(RefreshPolicy {
        rotate: false,
        reuse_grace: Duration::zero(),
    });
    let (auth, _, _) = setup(config).await;
    let (_, pair) = auth.jwt_login(&creds(), &client()).await.unwrap();
    for _ in 0..3 {
        let refreshed = auth
            .jwt_refresh(pair.refresh.as_str(), &client())
            .await
            .unwrap();
        assert!(refreshed.refresh.is_none());
    }
    auth.jwt_blacklist(pair.refresh.as_str(), &client())
        .await
        .unwrap();
    assert!(matches!(
        auth.jwt_refresh(pair.refresh.as_str(), &client()).await,
        Err(AuthError::TokenNotValid)
    ));
}

#[tokio::test]
async fn the_mark_voids_tokens_issued_before_it_to_the_millisecond() {
    let (auth, clock, user) = setup(AuthConfig::default()).await;
    let (_, before) = auth.jwt_login(&creds(), &client()).await.unwrap();
    clock.advance(Duration::milliseconds(1));
    auth.logout_all(user.id, &client()).await.unwrap();
    // A login in the same second (and millisecond) as the logout works.
    let (_, after) = auth.jwt_login(&creds(), &client()).await.unwrap();
    assert_eq!(
        before.access_claims.iat, after.access_claims.iat,
        "both in one second: iat alone could not tell them apart"
    );
    assert!(
        auth.authenticate_header(Some(&format!("Bearer {}", before.access.as_str())))
            .await
            .is_err()
    );
    auth.authenticate_header(Some(&format!("Bearer {}", after.access.as_str())))
        .await
        .unwrap();
    auth.jwt_refresh(after.refresh.as_str(), &client())
        .await
        .unwrap();
}

#[tokio::test]
async fn tokens_for_unknown_user_ids_fail() {
    // A token signed with the right key but naming no user of this service
    // (simplejwt's integer ids, say) is refused, not a server error.
    let (auth, _, _) = setup(AuthConfig::default()).await;
    let (access, _) = auth.jwt().issue_access("1", Some("family")).unwrap();
    assert!(matches!(
        auth.authenticate_header(Some(&format!("Bearer {}", access.as_str())))
            .await,
        Err(AuthError::TokenNotValid)
    ));
    let (refresh, _) = auth
        .jwt()
        .issue_refresh(&auth_core::UserId::new().to_string(), None)
        .unwrap();
    assert!(matches!(
        auth.jwt_refresh(refresh.as_str(), &client()).await,
        Err(AuthError::TokenNotValid)
    ));
}

/// Users in one store and revocations in another (PostgreSQL and Redis,
/// say): the user store's own revocation tables, empty here, must never be
/// read in place of the revocation store, even by a store that can answer
/// both at once. With the lookup cache off and on.
#[tokio::test]
async fn revocations_come_from_the_revocation_store_when_users_live_elsewhere() {
    for cache in [false, true] {
        let users = Arc::new(MemoryStore::new());
        let tokens = Arc::new(MemoryStore::new());
        let mut config = AuthConfig::default();
        if cache {
            config = config.with_lookup_cache(
                auth_core::config::LookupCacheConfig::with_max_staleness(Duration::seconds(1)),
            );
        }
        let clock = ManualClock::at_unix(1_800_000_000);
        let auth = builder(config, &clock)
            .store(tokens)
            .users(users.clone())
            .build()
            .unwrap();
        let user = insert_jay(&auth, &*users).await;

        let (_, pair) = auth.jwt_login(&creds(), &client()).await.unwrap();
        let header = format!("Bearer {}", pair.access.as_str());
        auth.authenticate_header(Some(&header)).await.unwrap();
        clock.advance(Duration::milliseconds(1));
        auth.logout_all(user.id, &client()).await.unwrap();
        assert!(
            matches!(
                auth.authenticate_header(Some(&header)).await,
                Err(AuthError::TokenNotValid)
            ),
            "cache {cache}: the mark in the revocation store voids the token"
        );
    }
}
