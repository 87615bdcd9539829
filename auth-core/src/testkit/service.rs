//! The token strategies' guarantees through [`Auth`], over a set of
//! [`Stores`]: what each store must make possible for the service, run by
//! [`service_conformance_tests!`](crate::service_conformance_tests).
//!
//! Each test takes the [`LookupCacheConfig`] of the service it builds and
//! runs twice: with the cache off, and with a staleness budget. One service
//! must never see its own writes late; a change made behind its back (by
//! another server, or straight in the stores) may go unseen for at most the
//! budget.

use std::sync::Arc;

use crate::cache::LookupCacheConfig;
use crate::clock::ManualClock;
use crate::config::{AuthConfig, SecretKey};
use crate::error::{AuthError, StoreError, TokenRejection};
use crate::events::ClientInfo;
use crate::flows::{AdminUserInput, Credentials, PasswordChange, ProfileUpdate};
use crate::password::{Argon2Params, Argon2idHasher};
use crate::service::{Auth, Stores};
use crate::store::{Page, UserQuery, UserStore};
use crate::throttle::ThrottleConfig;
use crate::user::{User, UserId, UserPatch, UserUpdate};

use super::HeldHasher;

const PASSWORD: &str = "Kettle-Orbit-42";

/// The staleness budget of the cached runs.
pub const CACHED: LookupCacheConfig = LookupCacheConfig {
    max_staleness: chrono::Duration::seconds(30),
    capacity: 1000,
};

/// A service over `stores` with cheap hashing, no throttling, a manual
/// clock at the current time, and a fresh active user.
async fn setup(stores: Stores, lookups: LookupCacheConfig) -> (Auth, ManualClock, User) {
    let clock = ManualClock::new(super::now());
    let auth = service(stores, lookups, &clock, SecretKey::generate());
    let user = new_user(&auth, "svc").await;
    (auth, clock, user)
}

/// A fresh active user with the password [`PASSWORD`], named `prefix`
/// and random digits.
async fn new_user(auth: &Auth, prefix: &str) -> User {
    let name = super::unique(prefix);
    auth.create_user(AdminUserInput {
        patch: UserPatch {
            username: Some(name.clone()),
            email: Some(format!("{name}@example.com")),
            ..UserPatch::default()
        },
        password: Some(PASSWORD.into()),
    })
    .await
    .expect("user created")
}

/// A service over `stores` (cheap hashing, no throttling) on `clock`.
fn service(
    stores: Stores,
    lookups: LookupCacheConfig,
    clock: &ManualClock,
    secret: SecretKey,
) -> Auth {
    builder(stores, lookups, clock, secret, |config| config)
        .build()
        .expect("every store is set")
}

/// The builder of [`service`] (no limits unless `configure` sets them),
/// its configuration changed by `configure`.
fn builder(
    stores: Stores,
    lookups: LookupCacheConfig,
    clock: &ManualClock,
    secret: SecretKey,
    configure: impl FnOnce(AuthConfig) -> AuthConfig,
) -> crate::AuthBuilder {
    let config = AuthConfig::default()
        .with_secret(secret)
        .with_throttle(ThrottleConfig::disabled())
        .with_lookup_cache(lookups);
    Auth::builder(configure(config))
        .stores(stores)
        .clock(Arc::new(clock.clone()))
        .hasher(Arc::new(cheap_hasher()))
        .without_tracing_events()
}

fn cheap_hasher() -> Argon2idHasher {
    Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("valid params")).expect("valid hasher")
}

fn client() -> ClientInfo {
    ClientInfo::from_ip("192.0.2.10")
}

fn creds(user: &User) -> Credentials {
    Credentials::username(user.username.clone(), PASSWORD)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Authenticates each header (which also fills a lookup cache).
async fn authenticate_each(auth: &Auth, headers: &[String]) {
    for header in headers {
        auth.authenticate_header(Some(header))
            .await
            .unwrap_or_else(|err| panic!("{header:.12}...: {err:?}"));
    }
}

/// After a change made behind `auth`'s back: with a lookup cache, the
/// headers still authenticate until the budget has passed; then the clock
/// is moved past it.
async fn wait_out_the_budget(
    auth: &Auth,
    clock: &ManualClock,
    lookups: LookupCacheConfig,
    headers: &[String],
) {
    if lookups.is_on() {
        clock.advance(lookups.max_staleness - chrono::Duration::milliseconds(1));
        authenticate_each(auth, headers).await;
        clock.advance(chrono::Duration::milliseconds(2));
    }
}

/// `Authorization` headers of a JWT access token, a Knox token and the
/// static token of `user`, each from a login on `auth`.
async fn login_every_kind(auth: &Auth, user: &User) -> [String; 3] {
    let (_, pair) = auth.jwt_login(&creds(user), &client()).await.unwrap();
    let (_, knox) = auth
        .knox_login(&creds(user), None, &client())
        .await
        .unwrap();
    let (_, static_token) = auth
        .static_token_login(&creds(user), &client())
        .await
        .unwrap();
    [
        bearer(pair.access.as_str()),
        format!("Token {}", knox.token.expose()),
        format!("Token {static_token}"),
    ]
}

fn assert_rejected<T: std::fmt::Debug>(result: Result<T, AuthError>, what: &str) {
    match result {
        Err(AuthError::TokenNotValid | AuthError::Unauthenticated(_)) => {}
        other => panic!("{what}: expected a rejection, got {other:?}"),
    }
}

/// 64 concurrent refreshes of one refresh token: exactly one succeeds.
pub async fn concurrent_refreshes_admit_one(stores: Stores, lookups: LookupCacheConfig) {
    let (auth, _clock, user) = setup(stores, lookups).await;
    let (_, pair) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    let refresh = pair.refresh.as_str().to_string();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (auth, refresh, barrier) = (auth.clone(), refresh.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            auth.jwt_refresh(&refresh, &client()).await
        }));
    }
    let mut successes = 0;
    for task in tasks {
        match task.await.expect("task ran") {
            Ok(_) => successes += 1,
            Err(AuthError::TokenNotValid) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(successes, 1, "exactly one of 64 concurrent refreshes wins");
}

/// What [`oauth_setup`] makes.
struct OAuthSetup {
    auth: Auth,
    clock: ManualClock,
    user: User,
    /// The application's client, authenticated.
    client: crate::oauth::OAuthClient,
    application: crate::oauth::ApplicationId,
}

/// A service over `stores` with the OAuth2 password grant on, a fresh
/// user, and a confidential application the user owns (password and
/// refresh grants).
async fn oauth_setup(stores: Stores, lookups: LookupCacheConfig) -> OAuthSetup {
    use crate::oauth::{ApplicationInput, ClientAuth, ClientAuthMethod};
    let clock = ManualClock::new(super::now());
    let auth = builder(stores, lookups, &clock, SecretKey::generate(), |config| {
        let oauth = config.oauth.clone().dangerous_enable_password_grant();
        config.with_oauth(oauth)
    })
    .build()
    .expect("every store is set");
    let user = new_user(&auth, "oauth").await;
    let registered = auth
        .create_application(
            user.id,
            ApplicationInput {
                name: "client".into(),
                client_type: "confidential".into(),
                grant_types: vec!["password".into(), "refresh_token".into()],
                ..ApplicationInput::default()
            },
        )
        .await
        .expect("application registered");
    let client_auth = ClientAuth {
        client_id: registered.application.client_id.clone(),
        secret: registered.secret.as_ref().map(|s| s.expose().to_string()),
        method: ClientAuthMethod::Basic,
    };
    let client = auth.oauth_client(client_auth).await.expect("client");
    OAuthSetup {
        auth,
        clock,
        user,
        client,
        application: registered.application.id,
    }
}

/// Tokens of `user` for `client`, from the password grant.
async fn password_tokens(
    auth: &Auth,
    client: &crate::oauth::OAuthClient,
    user: &User,
) -> crate::oauth::IssuedOAuthTokens {
    let grant = crate::oauth::TokenGrant::Password {
        username: user.username.clone(),
        password: PASSWORD.into(),
        scope: None,
    };
    auth.oauth_token(client, &grant, &self::client())
        .await
        .expect("password grant")
}

fn refresh_grant(tokens: &crate::oauth::IssuedOAuthTokens) -> crate::oauth::TokenGrant {
    crate::oauth::TokenGrant::RefreshToken {
        refresh_token: tokens.refresh_token.clone().expect("a refresh token"),
        scope: None,
    }
}

/// 64 concurrent uses of one OAuth2 refresh token: exactly one is
/// answered, and the replays revoke the family, the winner's new tokens
/// included.
pub async fn concurrent_oauth_refreshes_admit_one(stores: Stores, lookups: LookupCacheConfig) {
    use crate::oauth::OAuthErrorCode;
    let OAuthSetup {
        auth, user, client, ..
    } = oauth_setup(stores, lookups).await;
    let grant = refresh_grant(&password_tokens(&auth, &client, &user).await);
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (auth, client, grant, barrier) =
            (auth.clone(), client.clone(), grant.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            auth.oauth_token(&client, &grant, &self::client()).await
        }));
    }
    let mut won = Vec::new();
    for task in tasks {
        match task.await.expect("task ran") {
            Ok(tokens) => won.push(tokens),
            Err(AuthError::OAuth(error)) if error.code == OAuthErrorCode::InvalidGrant => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one of 64 concurrent refreshes wins");
    assert_rejected(
        auth.authenticate_header(Some(&bearer(&won[0].access_token)))
            .await,
        "the winner's access token once replays revoked its family",
    );
}

/// Each way of revoking OAuth2 access tokens (RFC 7009, a refresh
/// replay, log out everywhere, deleting the application) is seen at once
/// on the server that made it, and on another server within the budget.
pub async fn oauth_revocations_are_seen_here_at_once_and_elsewhere_within_the_budget(
    stores: Stores,
    lookups: LookupCacheConfig,
) {
    let OAuthSetup {
        auth: first,
        clock,
        user,
        client,
        application,
    } = oauth_setup(stores.clone(), lookups).await;
    let second = service(stores, lookups, &clock, first.config().secret.clone());
    let revocations = [
        "RFC 7009",
        "a refresh replay",
        "log out everywhere",
        "deletion",
    ];
    for revocation in revocations {
        clock.advance(chrono::Duration::milliseconds(5));
        let tokens = password_tokens(&first, &client, &user).await;
        let header = [bearer(&tokens.access_token)];
        clock.advance(chrono::Duration::milliseconds(5));
        authenticate_each(&first, &header).await;
        authenticate_each(&second, &header).await;
        match revocation {
            "RFC 7009" => first
                .revoke_oauth_token(&client, &tokens.access_token)
                .await
                .unwrap(),
            "a refresh replay" => {
                let grant = refresh_grant(&tokens);
                let info = self::client();
                first.oauth_token(&client, &grant, &info).await.unwrap();
                assert!(first.oauth_token(&client, &grant, &info).await.is_err());
            }
            "log out everywhere" => first.logout_all(user.id, &self::client()).await.unwrap(),
            _ => first
                .delete_owned_application(user.id, application)
                .await
                .unwrap(),
        }
        assert_rejected(
            first.authenticate_header(Some(&header[0])).await,
            &format!("after {revocation}, on the server that revoked"),
        );
        wait_out_the_budget(&second, &clock, lookups, &header).await;
        assert_rejected(
            second.authenticate_header(Some(&header[0])).await,
            &format!("after {revocation}, on the other server past the budget"),
        );
    }
}

/// Refreshing rotates; replaying the rotated token fails and revokes its
/// successors (refresh and access alike).
pub async fn replaying_a_rotated_token_revokes_its_successor(
    stores: Stores,
    lookups: LookupCacheConfig,
) {
    let (auth, clock, user) = setup(stores, lookups).await;
    let (_, first) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    clock.advance(chrono::Duration::seconds(1));
    let second = auth
        .jwt_refresh(first.refresh.as_str(), &client())
        .await
        .unwrap();
    let second_refresh = second.refresh.expect("rotation is on by default");
    auth.authenticate_header(Some(&bearer(second.access.as_str())))
        .await
        .expect("the successor works before the replay");

    assert_rejected(
        auth.jwt_refresh(first.refresh.as_str(), &client()).await,
        "a replayed refresh token",
    );
    assert_rejected(
        auth.jwt_refresh(second_refresh.as_str(), &client()).await,
        "the successor refresh token after a replay",
    );
    assert_rejected(
        auth.authenticate_header(Some(&bearer(second.access.as_str())))
            .await,
        "the successor access token after a replay",
    );
    // Another login is another family: unaffected.
    let (_, other) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    auth.jwt_refresh(other.refresh.as_str(), &client())
        .await
        .expect("a new login is not revoked");
}

/// Logging out everywhere makes every access, refresh, Knox and static
/// token of the user fail at once, and a new login works.
pub async fn logout_all_revokes_every_token(stores: Stores, lookups: LookupCacheConfig) {
    let (auth, clock, user) = setup(stores, lookups).await;
    let (_, pair) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    let (_, knox) = auth
        .knox_login(&creds(&user), None, &client())
        .await
        .unwrap();
    let (_, static_token) = auth
        .static_token_login(&creds(&user), &client())
        .await
        .unwrap();
    clock.advance(chrono::Duration::milliseconds(5));
    let headers = [
        bearer(pair.access.as_str()),
        format!("Token {}", knox.token.expose()),
        format!("Token {static_token}"),
    ];
    authenticate_each(&auth, &headers).await;

    auth.logout_all(user.id, &client()).await.unwrap();

    assert_rejected(
        auth.authenticate_header(Some(&bearer(pair.access.as_str())))
            .await,
        "access token",
    );
    assert_rejected(
        auth.jwt_refresh(pair.refresh.as_str(), &client()).await,
        "refresh token",
    );
    assert_rejected(
        auth.authenticate_header(Some(&format!("Token {}", knox.token.expose())))
            .await,
        "Knox token",
    );
    assert_rejected(
        auth.authenticate_header(Some(&format!("Token {static_token}")))
            .await,
        "static token",
    );
    assert_rejected(auth.jwt_verify(pair.access.as_str()).await, "verify");

    clock.advance(chrono::Duration::milliseconds(5));
    let (_, fresh) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    auth.authenticate_header(Some(&bearer(fresh.access.as_str())))
        .await
        .expect("a login after logout-all works");
}

/// Tokens of a deactivated user, then of a deleted user, fail.
pub async fn tokens_of_deactivated_or_deleted_users_fail(
    stores: Stores,
    lookups: LookupCacheConfig,
) {
    let (auth, clock, user) = setup(stores, lookups).await;
    let (_, pair) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    let (_, knox) = auth
        .knox_login(&creds(&user), None, &client())
        .await
        .unwrap();
    let stores = auth.stores().clone();
    let headers = [
        bearer(pair.access.as_str()),
        format!("Token {}", knox.token.expose()),
    ];
    clock.advance(chrono::Duration::milliseconds(5));
    authenticate_each(&auth, &headers).await;

    // Written straight to the store, as another server would: unseen for
    // at most the staleness budget.
    let deactivate = UserUpdate {
        is_active: Some(false),
        ..UserUpdate::default()
    };
    stores
        .users
        .update_user(user.id, &deactivate)
        .await
        .unwrap();
    wait_out_the_budget(&auth, &clock, lookups, &headers).await;
    let check = |result: Result<_, AuthError>, what: &str| {
        assert!(
            matches!(
                result,
                Err(AuthError::Unauthenticated(TokenRejection::UserInactive))
                    | Err(AuthError::TokenNotValid)
            ),
            "{what}: {result:?}"
        );
    };
    check(
        auth.authenticate_header(Some(&bearer(pair.access.as_str())))
            .await
            .map(|_| ()),
        "access token of an inactive user",
    );
    check(
        auth.jwt_refresh(pair.refresh.as_str(), &client())
            .await
            .map(|_| ()),
        "refresh token of an inactive user",
    );
    check(
        auth.authenticate_header(Some(&format!("Token {}", knox.token.expose())))
            .await
            .map(|_| ()),
        "Knox token of an inactive user",
    );

    stores.users.delete_user(user.id).await.unwrap();
    clock.advance(lookups.max_staleness + chrono::Duration::milliseconds(1));
    check(
        auth.authenticate_header(Some(&bearer(pair.access.as_str())))
            .await
            .map(|_| ()),
        "access token of a deleted user",
    );
    check(
        auth.jwt_refresh(pair.refresh.as_str(), &client())
            .await
            .map(|_| ()),
        "refresh token of a deleted user",
    );
}

/// A password change keeps the current Knox token and voids every other
/// token, JWTs included.
pub async fn password_change_revokes_other_tokens(stores: Stores, lookups: LookupCacheConfig) {
    let (auth, clock, user) = setup(stores, lookups).await;
    let (_, pair) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    let (_, current) = auth
        .knox_login(&creds(&user), None, &client())
        .await
        .unwrap();
    let (_, other) = auth
        .knox_login(&creds(&user), None, &client())
        .await
        .unwrap();
    clock.advance(chrono::Duration::milliseconds(5));
    authenticate_each(
        &auth,
        &[
            bearer(pair.access.as_str()),
            format!("Token {}", current.token.expose()),
            format!("Token {}", other.token.expose()),
        ],
    )
    .await;
    auth.change_password(
        user.id,
        PasswordChange {
            old_password: PASSWORD.into(),
            new_password: "Fresh-Lantern-88".into(),
            confirm_password: "Fresh-Lantern-88".into(),
        },
        Some(&current.record.digest),
        &client(),
    )
    .await
    .unwrap();
    auth.authenticate_header(Some(&format!("Token {}", current.token.expose())))
        .await
        .expect("the current Knox token is kept");
    assert_rejected(
        auth.authenticate_header(Some(&format!("Token {}", other.token.expose())))
            .await,
        "another Knox token",
    );
    assert_rejected(
        auth.authenticate_header(Some(&bearer(pair.access.as_str())))
            .await,
        "an access token from before",
    );
    assert_rejected(
        auth.jwt_refresh(pair.refresh.as_str(), &client()).await,
        "a refresh token from before",
    );
}

/// A blacklisted refresh token no longer refreshes or verifies
/// (simplejwt's issue #46), and cannot be blacklisted twice.
pub async fn blacklisted_refresh_tokens_fail(stores: Stores, lookups: LookupCacheConfig) {
    let (auth, _clock, user) = setup(stores, lookups).await;
    let (_, pair) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    auth.jwt_verify(pair.refresh.as_str()).await.unwrap();
    auth.jwt_blacklist(pair.refresh.as_str(), &client())
        .await
        .unwrap();
    assert_rejected(auth.jwt_verify(pair.refresh.as_str()).await, "verify");
    assert_rejected(
        auth.jwt_blacklist(pair.refresh.as_str(), &client()).await,
        "blacklist twice",
    );
    assert_rejected(
        auth.jwt_refresh(pair.refresh.as_str(), &client()).await,
        "refresh",
    );
}

/// Two servers over the same stores: what one revokes (log out
/// everywhere, a Knox logout, a deleted static token) stops working on the
/// other at once without a lookup cache, and once the staleness budget has
/// passed with one.
pub async fn a_second_server_sees_revocations_within_the_budget(
    stores: Stores,
    lookups: LookupCacheConfig,
) {
    let (first, clock, user) = setup(stores.clone(), lookups).await;
    // Another server: same stores, same secret, its own cache.
    let second = service(stores, lookups, &clock, first.config().secret.clone());
    let headers = login_every_kind(&first, &user).await;
    clock.advance(chrono::Duration::milliseconds(5));
    authenticate_each(&first, &headers).await;
    authenticate_each(&second, &headers).await;

    second.logout_all(user.id, &client()).await.unwrap();
    for header in &headers {
        assert_rejected(
            second.authenticate_header(Some(header)).await,
            "on the server that logged out",
        );
    }
    wait_out_the_budget(&first, &clock, lookups, &headers).await;
    for header in &headers {
        assert_rejected(
            first.authenticate_header(Some(header)).await,
            "on the other server, past the budget",
        );
    }
}

/// 40 wrong-password logins for one account sent together, under the
/// default 5 a minute per account: exactly 5 passwords are verified and
/// refused, the other 35 are throttled before any verification, whatever
/// the order in which they reach the store.
pub async fn concurrent_wrong_logins_verify_at_most_the_limit(
    stores: Stores,
    lookups: LookupCacheConfig,
) {
    const TASKS: usize = 40;
    let clock = ManualClock::new(super::now());
    let auth = builder(stores, lookups, &clock, SecretKey::generate(), |config| {
        config.with_throttle(ThrottleConfig::default())
    })
    .build()
    .expect("every store is set");
    let user = new_user(&auth, "storm").await;
    let before = auth.passwords().verifications();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let (auth, barrier) = (auth.clone(), barrier.clone());
        let wrong = Credentials::username(user.username.clone(), format!("wrong-{i}"));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            auth.jwt_login(&wrong, &client()).await.map(drop)
        }));
    }
    let (mut refused, mut throttled) = (0, 0);
    for task in tasks {
        match task.await.expect("a login task panicked") {
            Err(AuthError::InvalidCredentials(_)) => refused += 1,
            Err(AuthError::Throttled { .. }) => throttled += 1,
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(
        auth.passwords().verifications() - before,
        5,
        "verifications among {TASKS} concurrent wrong logins under 5/min"
    );
    assert_eq!((refused, throttled), (5, TASKS - 5), "401s and 429s");
}

/// Staff who lose staff status, then active status, lose it on the next
/// request of every token of theirs (JWT, Knox, static): at once when the
/// service itself made the change, within the staleness budget when it was
/// made behind its back.
pub async fn demoted_or_deactivated_users_lose_it_on_every_token(
    stores: Stores,
    lookups: LookupCacheConfig,
) {
    let (auth, clock, user) = setup(stores, lookups).await;
    let stores = auth.stores().clone();
    let promote = |staff: bool| AdminUserInput {
        patch: UserPatch {
            is_staff: Some(staff),
            ..UserPatch::default()
        },
        password: None,
    };
    auth.update_user(user.id, promote(true)).await.unwrap();
    let headers = login_every_kind(&auth, &user).await;
    clock.advance(chrono::Duration::milliseconds(5));
    let staff_on_each = |expected: bool, what: &'static str| {
        let auth = auth.clone();
        let headers = headers.clone();
        async move {
            for header in &headers {
                let who = auth
                    .authenticate_header(Some(header))
                    .await
                    .unwrap_or_else(|err| panic!("{what}: {header:.12}...: {err:?}"));
                assert_eq!(who.user.is_staff, expected, "{what}: {header:.12}...");
            }
        }
    };
    staff_on_each(true, "staff").await;

    // Demoted by this service: seen at once, cache or not.
    auth.update_user(user.id, promote(false)).await.unwrap();
    staff_on_each(false, "demoted here").await;

    // Promoted again, then demoted behind the service's back (another
    // server): seen once the budget has passed.
    auth.update_user(user.id, promote(true)).await.unwrap();
    staff_on_each(true, "promoted again").await;
    let demote = UserUpdate {
        is_staff: Some(false),
        ..UserUpdate::default()
    };
    stores.users.update_user(user.id, &demote).await.unwrap();
    clock.advance(lookups.max_staleness + chrono::Duration::milliseconds(1));
    staff_on_each(false, "demoted elsewhere, once the budget has passed").await;

    // Deactivated behind its back (no tokens revoked): every kind fails.
    let deactivate = UserUpdate {
        is_active: Some(false),
        ..UserUpdate::default()
    };
    stores
        .users
        .update_user(user.id, &deactivate)
        .await
        .unwrap();
    wait_out_the_budget(&auth, &clock, lookups, &headers).await;
    for header in &headers {
        assert!(
            matches!(
                auth.authenticate_header(Some(header)).await,
                Err(AuthError::Unauthenticated(TokenRejection::UserInactive))
            ),
            "a deactivated user's token: {header:.12}..."
        );
    }
}

/// A user store that holds every write naming the profile until released,
/// to put a deactivation between a `PATCH /me`'s read and its write.
#[derive(Debug)]
struct HeldProfileWrites {
    inner: Arc<dyn UserStore>,
    held: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl UserStore for HeldProfileWrites {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        self.inner.insert_user(user).await
    }
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.inner.user_by_id(id).await
    }
    async fn user_by_legacy_id(&self, legacy_id: i64) -> Result<Option<User>, StoreError> {
        self.inner.user_by_legacy_id(legacy_id).await
    }
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.inner.user_by_username(username).await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.inner.user_by_email(email).await
    }
    async fn update_user(&self, id: UserId, update: &UserUpdate) -> Result<(), StoreError> {
        if update.profile.is_some() {
            self.held.notify_one();
            self.release.notified().await;
        }
        self.inner.update_user(id, update).await
    }
    async fn set_password_hash(&self, id: UserId, hash: Option<&str>) -> Result<(), StoreError> {
        self.inner.set_password_hash(id, hash).await
    }
    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        self.inner.replace_password_hash(id, current, new).await
    }
    async fn set_last_login(
        &self,
        id: UserId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.inner.set_last_login(id, at).await
    }
    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError> {
        self.inner.delete_user(id).await
    }
    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        self.inner.list_users(query).await
    }
}

/// A profile update (`PATCH /me`) that read the user before staff
/// deactivated and demoted it, and writes after, neither reactivates nor
/// promotes it: it writes only the names and the profile.
pub async fn profile_update_racing_a_deactivation_keeps_it(
    mut stores: Stores,
    lookups: LookupCacheConfig,
) {
    let gate = Arc::new(HeldProfileWrites {
        inner: stores.users.clone(),
        held: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
    });
    stores.users = gate.clone();
    let (auth, _clock, user) = setup(stores, lookups).await;
    let staff = AdminUserInput {
        patch: UserPatch {
            is_staff: Some(true),
            ..UserPatch::default()
        },
        password: None,
    };
    auth.update_user(user.id, staff).await.unwrap();

    let patcher = auth.clone();
    let patch = tokio::spawn(async move {
        let update = ProfileUpdate {
            first_name: Some("Ada".into()),
            profile: serde_json::json!({ "bio": "hi" }).as_object().cloned(),
            ..ProfileUpdate::default()
        };
        patcher.update_profile(user.id, update).await
    });
    // The PATCH has read the (active, staff) user and waits to write.
    gate.held.notified().await;
    let ban = AdminUserInput {
        patch: UserPatch {
            is_active: Some(false),
            is_staff: Some(false),
            ..UserPatch::default()
        },
        password: None,
    };
    auth.update_user(user.id, ban).await.unwrap();
    gate.release.notify_one();
    patch
        .await
        .expect("the PATCH task panicked")
        .expect("the PATCH succeeds: it read an active user");

    let stored = gate
        .inner
        .user_by_id(user.id)
        .await
        .unwrap()
        .expect("the user exists");
    assert!(
        !stored.is_active && !stored.is_staff,
        "a PATCH from an older read undid a deactivation or a demotion: {stored:?}"
    );
    assert_eq!(
        (stored.first_name.as_str(), stored.profile.get("bio")),
        ("Ada", Some(&serde_json::json!("hi"))),
        "the PATCH's own fields were written"
    );
    assert!(
        auth.check_credentials(&creds(&user), crate::events::TokenKind::Jwt, &client())
            .await
            .is_err(),
        "the deactivated user cannot log in"
    );
}

/// With a reuse grace window: a refresh token logged out through
/// `jwt/blacklist` does not refresh inside the window, and a retry of a
/// rotation inside it gets the rotation's own successor (same `jti`s and
/// family), so a second copy can never start a second chain.
pub async fn the_grace_window_retries_rotations_only(stores: Stores, lookups: LookupCacheConfig) {
    let clock = ManualClock::new(super::now());
    let auth = builder(stores, lookups, &clock, SecretKey::generate(), |config| {
        config.with_refresh_policy(crate::flows::RefreshPolicy {
            rotate: true,
            reuse_grace: chrono::Duration::seconds(10),
        })
    })
    .build()
    .expect("every store is set");
    let user = new_user(&auth, "svc").await;
    let second = chrono::Duration::seconds(1);

    let (_, pair) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    clock.advance(second);
    auth.jwt_blacklist(pair.refresh.as_str(), &client())
        .await
        .unwrap();
    clock.advance(second);
    assert_rejected(
        auth.jwt_refresh(pair.refresh.as_str(), &client()).await,
        "a refresh token logged out, inside the grace window",
    );

    let (_, pair) = auth.jwt_login(&creds(&user), &client()).await.unwrap();
    clock.advance(second);
    let first = auth
        .jwt_refresh(pair.refresh.as_str(), &client())
        .await
        .unwrap();
    let first_refresh = first.refresh.expect("rotation is on");
    clock.advance(second * 2);
    let retry = auth
        .jwt_refresh(pair.refresh.as_str(), &client())
        .await
        .expect("a retry inside the grace window");
    let retry_refresh = retry.refresh.expect("rotation is on");
    let claims = |token: &str| {
        auth.jwt()
            .verify_refresh_at(token, crate::clock::Clock::now(&clock))
            .expect("a valid refresh token")
    };
    let (original, again) = (
        claims(first_refresh.as_str()),
        claims(retry_refresh.as_str()),
    );
    assert_eq!(
        (&again.jti, &again.family, again.exp),
        (&original.jti, &original.family, original.exp),
        "the retry gets the rotation's successor"
    );
    auth.authenticate_header(Some(&bearer(retry.access.as_str())))
        .await
        .expect("the retry's access token works");

    // The chain goes on from the successor; past the window of its
    // rotation, the retry's copy of it is a reuse, not a second chain.
    clock.advance(second);
    let next = auth
        .jwt_refresh(first_refresh.as_str(), &client())
        .await
        .unwrap();
    clock.advance(second * 11);
    assert_rejected(
        auth.jwt_refresh(retry_refresh.as_str(), &client()).await,
        "the retry's copy of a rotated successor, past the window",
    );
    assert_rejected(
        auth.authenticate_header(Some(&bearer(next.access.as_str())))
            .await,
        "the chain after a reuse",
    );
}

/// Which revocation a paused login races.
#[derive(Debug, Clone, Copy)]
enum Revocation {
    LogoutAll,
    PasswordChange,
    PasswordReset,
}

/// A JWT, a Knox and a static-token login each read the user and are held
/// at their password verification; meanwhile the user logs out
/// everywhere, changes the password, or resets it; then the logins finish.
/// Whatever they return must not authenticate: they read the user before
/// the revocation.
pub async fn logins_in_flight_do_not_survive_revocation(
    stores: Stores,
    lookups: LookupCacheConfig,
) {
    let mut password = PASSWORD.to_string();
    let clock = ManualClock::new(super::now());
    let secret = SecretKey::generate();
    let plain = service(stores.clone(), lookups, &clock, secret.clone());
    let user = new_user(&plain, "svc").await;
    for (round, revocation) in [
        Revocation::LogoutAll,
        Revocation::PasswordChange,
        Revocation::PasswordReset,
    ]
    .into_iter()
    .enumerate()
    {
        let gate = Arc::new(HeldHasher::new(cheap_hasher(), 3));
        // Three held logins and the revocation's own hashing at once.
        let auth = builder(stores.clone(), lookups, &clock, secret.clone(), |c| c)
            .hasher(gate.clone())
            .hashing_threads(4)
            .hashing_reserve(0)
            .build()
            .expect("every store is set");
        let login = Credentials::username(user.username.clone(), password.clone());
        let jwt = tokio::spawn({
            let (auth, login) = (auth.clone(), login.clone());
            async move {
                let (_, pair) = auth.jwt_login(&login, &client()).await?;
                Ok::<_, AuthError>(bearer(pair.access.as_str()))
            }
        });
        let knox = tokio::spawn({
            let (auth, login) = (auth.clone(), login.clone());
            async move {
                let (_, issued) = auth.knox_login(&login, None, &client()).await?;
                Ok::<_, AuthError>(format!("Token {}", issued.token.expose()))
            }
        });
        let static_token = tokio::spawn({
            let (auth, login) = (auth.clone(), login.clone());
            async move {
                let (_, token) = auth.static_token_login(&login, &client()).await?;
                Ok::<_, AuthError>(format!("Token {token}"))
            }
        });
        gate.until_held(3).await;
        clock.advance(chrono::Duration::milliseconds(5));
        let new_password = format!("Fresh-Lantern-{round}8");
        match revocation {
            Revocation::LogoutAll => auth.logout_all(user.id, &client()).await.unwrap(),
            Revocation::PasswordChange => auth
                .change_password(
                    user.id,
                    PasswordChange {
                        old_password: password.clone(),
                        new_password: new_password.clone(),
                        confirm_password: new_password.clone(),
                    },
                    None,
                    &client(),
                )
                .await
                .unwrap(),
            Revocation::PasswordReset => {
                let current = auth.get_user(user.id).await.unwrap();
                let link = auth.password_reset_link(&current);
                let mut parts = link.rsplit('/');
                let token = parts.next().expect("a token").to_string();
                let uid = parts.next().expect("a uid").to_string();
                auth.confirm_password_reset(
                    crate::flows::ResetConfirmation {
                        uid,
                        token,
                        new_password: new_password.clone(),
                        confirm_password: new_password.clone(),
                    },
                    &client(),
                )
                .await
                .unwrap();
            }
        }
        if !matches!(revocation, Revocation::LogoutAll) {
            password = new_password;
        }
        gate.release();
        for (what, task) in [("JWT", jwt), ("Knox", knox), ("static", static_token)] {
            if let Ok(header) = task.await.expect("the login task ran") {
                assert_rejected(
                    auth.authenticate_header(Some(&header)).await,
                    &format!("a {what} login held across {revocation:?}"),
                );
            }
        }
        clock.advance(chrono::Duration::milliseconds(5));
        let (_, pair) = auth
            .jwt_login(
                &Credentials::username(user.username.clone(), password.clone()),
                &client(),
            )
            .await
            .expect("a login after the revocation works");
        auth.authenticate_header(Some(&bearer(pair.access.as_str())))
            .await
            .expect("its token works");
    }
}
