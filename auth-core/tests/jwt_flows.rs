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

/// The payload of a JWT, decoded.
fn payload(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Issue 24: a claims hook adds claims to the tokens of an authenticated
/// user (never asked for a failed login), is asked again on refresh so the
/// claims follow the user, and the tokens still authenticate.
#[tokio::test]
async fn the_claims_hook_adds_claims_for_authenticated_users_only() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use auth_core::token::jwt::TokenType;
    use auth_core::user::UserUpdate;
    use serde_json::{Map, json};

    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix(1_800_000_000);
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let auth = builder(AuthConfig::default(), &clock)
        .store(store.clone())
        .claims_hook(Arc::new(move |user: &User, token_type: TokenType| {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut claims = Map::new();
            claims.insert("name".into(), json!(user.first_name));
            claims.insert("kind".into(), json!(token_type.as_str()));
            claims
        }))
        .build()
        .unwrap();
    let user = insert_jay(&auth, &*store).await;

    let wrong = Credentials::username("jay", "not the password");
    assert!(auth.jwt_login(&wrong, &client()).await.is_err());
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "no hook for a failed login"
    );

    let (_, pair) = auth.jwt_login(&creds(), &client()).await.unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 2, "once per token");
    let access = payload(pair.access.as_str());
    assert_eq!(
        (&access["name"], &access["kind"]),
        (&json!(""), &json!("access"))
    );
    assert_eq!(access["user_id"], json!(user.id.to_string()));
    assert_eq!(payload(pair.refresh.as_str())["kind"], json!("refresh"));
    let (caller, _) = auth.authenticate_jwt(pair.access.as_str()).await.unwrap();
    assert_eq!(caller.id, user.id);

    let rename = UserUpdate {
        first_name: Some("Jay".into()),
        ..UserUpdate::default()
    };
    store.update_user(user.id, &rename).await.unwrap();
    let refreshed = auth
        .jwt_refresh(pair.refresh.as_str(), &client())
        .await
        .unwrap();
    assert_eq!(payload(refreshed.access.as_str())["name"], json!("Jay"));
    let refresh = refreshed.refresh.unwrap();
    assert_eq!(payload(refresh.as_str())["name"], json!("Jay"));
    assert!(
        auth.authenticate_jwt(refreshed.access.as_str())
            .await
            .is_ok()
    );
}

/// A claims hook can never override a claim the library writes or checks:
/// naming one fails the login, and no token is handed out.
#[tokio::test]
async fn the_claims_hook_cannot_override_registered_claims() {
    use auth_core::token::jwt::TokenType;
    use serde_json::{Map, json};

    for name in [
        "token_type",
        "exp",
        "iat",
        "jti",
        "user_id",
        "fam",
        "iss",
        "aud",
        "nbf",
        "sub",
    ] {
        let store = Arc::new(MemoryStore::new());
        let clock = ManualClock::at_unix(1_800_000_000);
        let auth = builder(AuthConfig::default(), &clock)
            .store(store.clone())
            .claims_hook(Arc::new(move |_: &User, _: TokenType| {
                let mut claims = Map::new();
                claims.insert(name.into(), json!("overridden"));
                claims
            }))
            .build()
            .unwrap();
        insert_jay(&auth, &*store).await;
        let result = auth.jwt_login(&creds(), &client()).await;
        assert!(
            matches!(result, Err(AuthError::Internal(ref err)) if err.to_string().contains(name)),
            "{name}: {result:?}"
        );
    }
}
