//! The token endpoint's grants, revocation, introspection and OAuth bearer
//! authentication, on the in-memory store with a manual clock.

use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::config::{AuthConfig, OAuthConfig};
use crate::error::{AuthError, TokenRejection};
use crate::events::ClientInfo;
use crate::flows::{AdminUserInput, Credential, Credentials, PasswordChange};
use crate::password::{Argon2Params, Argon2idHasher};
use crate::throttle::ThrottleConfig;
use crate::user::{User, UserPatch};
use crate::{Auth, ManualClock, MemoryStore};

mod jwt_access;

const PASSWORD: &str = "correct-horse-battery-9";
const REDIRECT: &str = "https://client.example/cb";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Env {
    auth: Auth,
    clock: ManualClock,
    user: User,
}

async fn env_with(oauth: OAuthConfig) -> Env {
    env_on(oauth, |builder, _| builder).await
}

/// As [`env_with`], with `adapt` given the builder and the store to change
/// what the service is built on.
async fn env_on(
    oauth: OAuthConfig,
    adapt: impl FnOnce(crate::AuthBuilder, &Arc<MemoryStore>) -> crate::AuthBuilder,
) -> Env {
    env_from(AuthConfig::default().with_oauth(oauth), adapt).await
}

/// As [`env_on`], from a whole service configuration (its rate limits off).
async fn env_from(
    config: AuthConfig,
    adapt: impl FnOnce(crate::AuthBuilder, &Arc<MemoryStore>) -> crate::AuthBuilder,
) -> Env {
    let clock = ManualClock::at_unix(1_800_000_000);
    let config = config.with_throttle(ThrottleConfig::disabled());
    let store = Arc::new(MemoryStore::new());
    let builder = Auth::builder(config)
        .store(store.clone())
        .clock(Arc::new(clock.clone()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
        ));
    let auth = adapt(builder, &store).build().unwrap();
    let user = auth
        .create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
        .await
        .unwrap();
    Env { auth, clock, user }
}

/// The default settings, with OpenID Connect on.
async fn env() -> Env {
    let keys = id_keys(crate::token::jwt::Algorithm::EdDSA, ED25519_PEM);
    env_with(OAuthConfig::default().with_id_token_keys(keys).unwrap()).await
}

/// The default settings with OpenID Connect on, once with opaque access
/// tokens and once with JWT access tokens: for the tests every format must
/// pass alike.
async fn every_format() -> [Env; 2] {
    let keys = id_keys(crate::token::jwt::Algorithm::EdDSA, ED25519_PEM);
    let jwt = OAuthConfig::default()
        .with_id_token_keys(keys)
        .unwrap()
        .with_access_token_format(crate::config::AccessTokenFormat::Jwt);
    [env().await, env_with(jwt).await]
}

/// A registered application and its secret (none for a public client).
struct Client {
    app: Application,
    secret: Option<ClientSecret>,
}

impl Client {
    fn basic(&self) -> ClientAuth {
        ClientAuth {
            client_id: self.app.client_id.clone(),
            secret: self.secret.as_ref().map(|s| s.expose().to_string()),
            method: if self.secret.is_some() {
                ClientAuthMethod::Basic
            } else {
                ClientAuthMethod::None
            },
        }
    }

    fn with_secret(&self, secret: &str) -> ClientAuth {
        ClientAuth {
            secret: Some(secret.to_string()),
            method: ClientAuthMethod::Post,
            ..self.basic()
        }
    }
}

async fn register(env: &Env, client_type: ClientType, grants: &[GrantType]) -> Client {
    let secret = (client_type == ClientType::Confidential).then(ClientSecret::generate);
    let app = Application::register(
        "client",
        client_type,
        grants.iter().copied(),
        vec![REDIRECT.into()],
        secret.as_ref(),
        env.auth.now(),
    );
    env.auth
        .stores()
        .oauth_applications
        .insert_application(&app)
        .await
        .unwrap();
    Client { app, secret }
}

/// A confidential client allowed `client_credentials` only.
async fn machine(env: &Env) -> Client {
    register(
        env,
        ClientType::Confidential,
        &[GrantType::ClientCredentials],
    )
    .await
}

const CODE_AND_REFRESH: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

/// Stores a code for `env.user` as the authorization endpoint would.
async fn code_for(env: &Env, client: &Client, pkce: Option<(&str, PkceMethod)>) -> String {
    let code = generate_client_id();
    let now = env.auth.now();
    let record = AuthorizationCode {
        digest: digest(&code),
        application_id: client.app.id,
        user_id: env.user.id,
        redirect_uri: REDIRECT.into(),
        scopes: Scopes::parse("openid profile").unwrap(),
        code_challenge: pkce.map(|(challenge, _)| challenge.to_string()),
        code_challenge_method: pkce.map(|(_, method)| method),
        nonce: None,
        auth_time: now,
        family: FamilyId::new(),
        created: now,
        expires: now + env.auth.config().oauth.code_ttl,
        used_at: None,
    };
    store_code(env, &record).await;
    code
}

/// Stores `record` and remembers the consent it grants, as
/// [`Auth::issue_authorization_code`] does.
async fn store_code(env: &Env, record: &AuthorizationCode) {
    let stores = env.auth.stores();
    stores
        .oauth_consents
        .save_consent(&Consent {
            user_id: record.user_id,
            application_id: record.application_id,
            scopes: record.scopes.clone(),
            created: record.created,
            updated: record.created,
        })
        .await
        .unwrap();
    stores.oauth_codes.insert_code(record).await.unwrap();
}

/// Tokens from a code with PKCE, as a client gets them.
async fn issue(env: &Env, client: &Client) -> IssuedOAuthTokens {
    let code = code_for(env, client, Some((CHALLENGE, PkceMethod::S256))).await;
    token(env, &client.basic(), &exchange(&code, Some(VERIFIER)))
        .await
        .unwrap()
}

fn exchange(code: &str, verifier: Option<&str>) -> TokenGrant {
    TokenGrant::AuthorizationCode {
        code: code.to_string(),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: verifier.map(str::to_string),
    }
}

fn refresh(token: &str, scope: Option<&str>) -> TokenGrant {
    TokenGrant::RefreshToken {
        refresh_token: token.to_string(),
        scope: scope.map(str::to_string),
    }
}

async fn token(
    env: &Env,
    client: &ClientAuth,
    grant: &TokenGrant,
) -> Result<IssuedOAuthTokens, AuthError> {
    let client = env.client(client).await;
    env.auth
        .oauth_token(&client, grant, &ClientInfo::default())
        .await
}

impl Env {
    /// The client these credentials name, read as the endpoints read it.
    async fn client(&self, credentials: &ClientAuth) -> OAuthClient {
        self.auth.oauth_client(credentials.clone()).await.unwrap()
    }

    async fn revoke(&self, credentials: &ClientAuth, token: &str) -> Result<(), AuthError> {
        let client = self.client(credentials).await;
        self.auth.revoke_oauth_token(&client, token).await
    }

    async fn introspect(
        &self,
        credentials: &ClientAuth,
        token: &str,
    ) -> Result<Introspection, AuthError> {
        let client = self.client(credentials).await;
        self.auth.introspect_oauth_token(&client, token).await
    }
}

/// Asserts that the token request fails with `code`.
async fn refuses(env: &Env, client: &ClientAuth, grant: &TokenGrant, code: OAuthErrorCode) {
    assert_oauth_error(token(env, client, grant).await, code);
}

#[track_caller]
fn assert_oauth_error<T: std::fmt::Debug>(result: Result<T, AuthError>, code: OAuthErrorCode) {
    match result {
        Err(AuthError::OAuth(err)) => assert_eq!(err.code, code, "{err}"),
        other => panic!("expected {code}, got {other:?}"),
    }
}

/// Whether `access` still opens the user's routes.
async fn works(env: &Env, access: &str) -> bool {
    env.auth
        .authenticate_header(Some(&format!("Bearer {access}")))
        .await
        .is_ok()
}

#[tokio::test]
async fn code_with_pkce_gives_tokens_that_authenticate_with_their_scopes() {
    // Opaque and JWT access tokens alike.
    for env in every_format().await {
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let issued = issue(&env, &client).await;
        assert_eq!(issued.expires_in, 3600);
        assert_eq!(issued.scopes.to_string(), "openid profile");
        assert!(issued.refresh_token.is_some());
        assert!(!format!("{issued:?}").contains(&issued.access_token));
        let who = env
            .auth
            .authenticate_header(Some(&format!("Bearer {}", issued.access_token)))
            .await
            .unwrap();
        assert_eq!(who.user.id, env.user.id);
        let scopes = who.credential.oauth_scopes().expect("an OAuth credential");
        assert!(scopes.contains("profile") && !scopes.contains("email"));
        assert!(matches!(who.credential, Credential::OAuth(_)));
        // Expired after its lifetime.
        env.clock.advance(Duration::seconds(3601));
        assert!(!works(&env, &issued.access_token).await);
    }
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_the_first_exchange_issued() {
    // Opaque and JWT access tokens alike.
    for env in every_format().await {
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
        let first = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
            .await
            .unwrap();
        assert!(works(&env, &first.access_token).await);
        let again = exchange(&code, Some(VERIFIER));
        refuses(&env, &client.basic(), &again, OAuthErrorCode::InvalidGrant).await;
        assert!(!works(&env, &first.access_token).await);
        let refreshed = token(
            &env,
            &client.basic(),
            &refresh(first.refresh_token.as_deref().unwrap(), None),
        )
        .await;
        assert_oauth_error(refreshed, OAuthErrorCode::InvalidGrant);
    }
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    env.clock.advance(Duration::seconds(60));
    let late = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER))).await;
    assert_oauth_error(late, OAuthErrorCode::InvalidGrant);
}

#[tokio::test]
async fn pkce_and_redirect_uri_must_match() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let s256 = Some((CHALLENGE, PkceMethod::S256));
    // A challenge without a verifier, a wrong verifier.
    for verifier in [None, Some("a".repeat(43).as_str())] {
        let code = code_for(&env, &client, s256).await;
        let refused = token(&env, &client.basic(), &exchange(&code, verifier)).await;
        assert_oauth_error(refused, OAuthErrorCode::InvalidGrant);
    }
    // A verifier without a challenge (a downgrade), and no PKCE at all
    // while it is required.
    for verifier in [Some(VERIFIER), None] {
        let code = code_for(&env, &client, None).await;
        let refused = token(&env, &client.basic(), &exchange(&code, verifier)).await;
        assert_oauth_error(refused, OAuthErrorCode::InvalidGrant);
    }
    // `plain` is refused by default, even with the right verifier.
    let code = code_for(&env, &client, Some((VERIFIER, PkceMethod::Plain))).await;
    let refused = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER))).await;
    assert_oauth_error(refused, OAuthErrorCode::InvalidGrant);
    // A redirect URI one character off, or missing.
    let code = code_for(&env, &client, s256).await;
    let other = TokenGrant::AuthorizationCode {
        code,
        redirect_uri: Some(format!("{REDIRECT}/")),
        code_verifier: Some(VERIFIER.into()),
    };
    refuses(&env, &client.basic(), &other, OAuthErrorCode::InvalidGrant).await;
    let code = code_for(&env, &client, s256).await;
    let missing = TokenGrant::AuthorizationCode {
        code,
        redirect_uri: None,
        code_verifier: Some(VERIFIER.into()),
    };
    refuses(
        &env,
        &client.basic(),
        &missing,
        OAuthErrorCode::InvalidRequest,
    )
    .await;
    // Another client's code.
    let thief = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = code_for(&env, &client, s256).await;
    let stolen = token(&env, &thief.basic(), &exchange(&code, Some(VERIFIER))).await;
    assert_oauth_error(stolen, OAuthErrorCode::InvalidGrant);
}

/// A refused exchange stores no token and spends the code (codes are
/// single use): the right request after it is refused too.
#[tokio::test]
async fn a_refused_exchange_stores_nothing_and_spends_the_code() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let thief = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let right = |code: &str| exchange(code, Some(VERIFIER));
    let wrong_verifier = |code: &str| exchange(code, Some(&"a".repeat(43)));
    let wrong_redirect = |code: &str| TokenGrant::AuthorizationCode {
        code: code.to_string(),
        redirect_uri: Some(format!("{REDIRECT}/")),
        code_verifier: Some(VERIFIER.into()),
    };
    let stores = env.auth.stores();
    for refusal in 0..4 {
        let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
        let (who, grant) = match refusal {
            0 => (&client, wrong_verifier(&code)),
            1 => (&client, wrong_redirect(&code)),
            2 => (&thief, right(&code)),
            _ => {
                stores
                    .oauth_consents
                    .delete_consent(env.user.id, client.app.id)
                    .await
                    .unwrap();
                (&client, right(&code))
            }
        };
        refuses(&env, &who.basic(), &grant, OAuthErrorCode::InvalidGrant).await;
        refuses(
            &env,
            &client.basic(),
            &right(&code),
            OAuthErrorCode::InvalidGrant,
        )
        .await;
        let live = stores
            .oauth_tokens
            .revoke_user_oauth_tokens(env.user.id, env.auth.now())
            .await
            .unwrap();
        assert_eq!(live, 0, "refusal {refusal} stored no token");
    }
}

/// A consent store that is down while `down` is set.
#[derive(Debug)]
struct ConsentsDown {
    inner: Arc<MemoryStore>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl ConsentsDown {
    fn check(&self) -> Result<(), crate::StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::StoreError::unavailable("the consent store is down"));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::store::OAuthConsentStore for ConsentsDown {
    async fn consent(
        &self,
        user: crate::UserId,
        application: ApplicationId,
    ) -> Result<Option<Consent>, crate::StoreError> {
        self.check()?;
        self.inner.consent(user, application).await
    }

    async fn save_consent(&self, consent: &Consent) -> Result<Consent, crate::StoreError> {
        self.inner.save_consent(consent).await
    }

    async fn user_consents(&self, user: crate::UserId) -> Result<Vec<Consent>, crate::StoreError> {
        self.inner.user_consents(user).await
    }

    async fn delete_consent(
        &self,
        user: crate::UserId,
        application: ApplicationId,
    ) -> Result<bool, crate::StoreError> {
        self.inner.delete_consent(user, application).await
    }

    async fn delete_application_consents(
        &self,
        application: ApplicationId,
    ) -> Result<u64, crate::StoreError> {
        self.inner.delete_application_consents(application).await
    }
}

/// A store failing while the exchange is checked is no refusal: the code
/// is not spent, and the same request works once the store is back.
#[tokio::test]
async fn a_store_failure_during_the_checks_leaves_the_code_unspent() {
    let keys = id_keys(crate::token::jwt::Algorithm::EdDSA, ED25519_PEM);
    let oauth = OAuthConfig::default().with_id_token_keys(keys).unwrap();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let env = env_on(oauth, |builder, store| {
        builder.oauth_consent_store(Arc::new(ConsentsDown {
            inner: store.clone(),
            down: down.clone(),
        }))
    })
    .await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    let grant = exchange(&code, Some(VERIFIER));
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = token(&env, &client.basic(), &grant).await;
    assert!(
        matches!(failed, Err(AuthError::Unavailable(_))),
        "{failed:?}"
    );
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    let issued = token(&env, &client.basic(), &grant).await.unwrap();
    assert!(works(&env, &issued.access_token).await);
}

#[tokio::test]
async fn plain_pkce_and_no_pkce_only_when_configured() {
    let oauth = OAuthConfig {
        allow_plain_pkce: true,
        pkce_required: false,
        ..OAuthConfig::default()
    };
    let env = env_with(oauth).await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = code_for(&env, &client, Some((VERIFIER, PkceMethod::Plain))).await;
    assert!(
        token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
            .await
            .is_ok()
    );
    let code = code_for(&env, &client, None).await;
    assert!(
        token(&env, &client.basic(), &exchange(&code, None))
            .await
            .is_ok()
    );
    // A public client needs PKCE whatever the setting.
    let public = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    let code = code_for(&env, &public, None).await;
    refuses(
        &env,
        &public.basic(),
        &exchange(&code, None),
        OAuthErrorCode::InvalidGrant,
    )
    .await;
}

#[tokio::test]
async fn public_clients_authenticate_by_client_id_and_pkce() {
    let env = env().await;
    let client = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    assert!(works(&env, &issued.access_token).await);
    // A public client that sends a secret, and a public client asking for
    // client_credentials, are refused.
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    let empty_basic = ClientAuth {
        secret: Some(String::new()),
        method: ClientAuthMethod::Basic,
        ..client.basic()
    };
    let issued = token(&env, &empty_basic, &exchange(&code, Some(VERIFIER)))
        .await
        .unwrap();
    assert!(works(&env, &issued.access_token).await);
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    let with_secret = token(
        &env,
        &client.with_secret("x"),
        &exchange(&code, Some(VERIFIER)),
    )
    .await;
    assert_oauth_error(with_secret, OAuthErrorCode::InvalidClient);
    let public_cc = register(&env, ClientType::Public, &[GrantType::ClientCredentials]).await;
    let refused = token(
        &env,
        &public_cc.basic(),
        &TokenGrant::ClientCredentials { scope: None },
    )
    .await;
    assert_oauth_error(refused, OAuthErrorCode::UnauthorizedClient);
}

#[tokio::test]
async fn confidential_clients_must_authenticate() {
    let env = env().await;
    let client = machine(&env).await;
    let grant = TokenGrant::ClientCredentials { scope: None };
    let issued = token(&env, &client.basic(), &grant).await.unwrap();
    assert!(issued.refresh_token.is_none());
    assert!(issued.scopes.is_empty());
    // A client_credentials token acts for no user: no user route opens.
    assert!(matches!(
        env.auth
            .authenticate_header(Some(&format!("Bearer {}", issued.access_token)))
            .await,
        Err(AuthError::Unauthenticated(TokenRejection::Invalid))
    ));
    let wrong = ClientSecret::generate();
    for bad in [
        client.with_secret(wrong.expose()),
        client.with_secret(""),
        ClientAuth {
            secret: None,
            method: ClientAuthMethod::None,
            ..client.basic()
        },
        ClientAuth {
            client_id: "unknown".into(),
            ..client.basic()
        },
    ] {
        refuses(&env, &bad, &grant, OAuthErrorCode::InvalidClient).await;
    }
    // Grant types outside the application's set.
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    refuses(
        &env,
        &client.basic(),
        &exchange(&code, Some(VERIFIER)),
        OAuthErrorCode::UnauthorizedClient,
    )
    .await;
}

#[tokio::test]
async fn the_previous_secret_works_during_the_overlap_only() {
    let env = env().await;
    let client = machine(&env).await;
    let new = ClientSecret::generate();
    let mut app = client.app.clone();
    app.previous_secret_digest = app.secret_digest.take();
    app.secret_digest = Some(new.digest());
    app.previous_secret_until = Some(env.auth.now() + Duration::hours(1));
    assert!(
        env.auth
            .stores()
            .oauth_applications
            .update_application(&app)
            .await
            .unwrap()
    );
    let grant = TokenGrant::ClientCredentials { scope: None };
    assert!(token(&env, &client.basic(), &grant).await.is_ok());
    assert!(
        token(&env, &client.with_secret(new.expose()), &grant)
            .await
            .is_ok()
    );
    env.clock.advance(Duration::hours(1));
    refuses(&env, &client.basic(), &grant, OAuthErrorCode::InvalidClient).await;
    assert!(
        token(&env, &client.with_secret(new.expose()), &grant)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn scopes_must_be_known() {
    let oauth = OAuthConfig::default()
        .with_scope("read", "Read")
        .unwrap()
        .with_default_scopes(&["read"])
        .unwrap();
    let env = env_with(oauth).await;
    let client = machine(&env).await;
    let ask = |scope: Option<&str>| TokenGrant::ClientCredentials {
        scope: scope.map(str::to_string),
    };
    let default = token(&env, &client.basic(), &ask(None)).await.unwrap();
    assert_eq!(default.scopes.to_string(), "read");
    let asked = token(&env, &client.basic(), &ask(Some("read email")))
        .await
        .unwrap();
    assert_eq!(asked.scopes.to_string(), "email read");
    for bad in ["write", "read  email", "read\"", " read"] {
        refuses(
            &env,
            &client.basic(),
            &ask(Some(bad)),
            OAuthErrorCode::InvalidScope,
        )
        .await;
    }
}

#[tokio::test]
async fn refresh_rotates_and_a_reuse_revokes_the_family() {
    // Opaque and JWT access tokens alike.
    for env in every_format().await {
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let first = issue(&env, &client).await;
        let old_refresh = first.refresh_token.clone().unwrap();
        // Narrowing works; widening does not.
        let widened = token(
            &env,
            &client.basic(),
            &refresh(&old_refresh, Some("openid email")),
        )
        .await;
        assert_oauth_error(widened, OAuthErrorCode::InvalidScope);
        let second = token(
            &env,
            &client.basic(),
            &refresh(&old_refresh, Some("openid")),
        )
        .await
        .unwrap();
        assert_eq!(second.scopes.to_string(), "openid");
        let new_refresh = second.refresh_token.clone().unwrap();
        assert_ne!(new_refresh, old_refresh);
        // The new refresh token keeps the whole grant.
        let third = token(&env, &client.basic(), &refresh(&new_refresh, None))
            .await
            .unwrap();
        assert_eq!(third.scopes.to_string(), "openid profile");
        assert!(works(&env, &third.access_token).await);
        // Replaying the first refresh token revokes every token of the family.
        let replay = token(&env, &client.basic(), &refresh(&old_refresh, None)).await;
        assert_oauth_error(replay, OAuthErrorCode::InvalidGrant);
        for access in [
            &first.access_token,
            &second.access_token,
            &third.access_token,
        ] {
            assert!(!works(&env, access).await);
        }
        let latest = third.refresh_token.unwrap();
        refuses(
            &env,
            &client.basic(),
            &refresh(&latest, None),
            OAuthErrorCode::InvalidGrant,
        )
        .await;
    }
}

#[tokio::test]
async fn another_clients_refresh_token_is_refused() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let thief = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    let stolen = token(
        &env,
        &thief.basic(),
        &refresh(issued.refresh_token.as_deref().unwrap(), None),
    )
    .await;
    assert_oauth_error(stolen, OAuthErrorCode::InvalidGrant);
    assert!(!works(&env, &issued.access_token).await);
}

/// Runs the token request in a task of its own.
fn spawn_token(
    env: &Env,
    client: &Client,
    grant: &TokenGrant,
) -> tokio::task::JoinHandle<Result<IssuedOAuthTokens, AuthError>> {
    let (auth, client, grant) = (env.auth.clone(), client.basic(), grant.clone());
    tokio::spawn(async move {
        let client = auth.oauth_client(client).await.unwrap();
        auth.oauth_token(&client, &grant, &ClientInfo::default())
            .await
    })
}

/// The answers given to 64 token requests sent together.
async fn sixty_four_answers(
    env: &Env,
    client: &Client,
    grant: &TokenGrant,
) -> Vec<IssuedOAuthTokens> {
    let tasks: Vec<_> = (0..64).map(|_| spawn_token(env, client, grant)).collect();
    let mut answered = Vec::new();
    for task in tasks {
        if let Ok(issued) = task.await.unwrap() {
            answered.push(issued);
        }
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_refreshes_give_one_success() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    let grant = refresh(issued.refresh_token.as_deref().unwrap(), None);
    assert_eq!(sixty_four_answers(&env, &client, &grant).await.len(), 1);
}

/// Of 64 exchanges of one code sent together exactly one is answered, and
/// as the others are replays, what it was given is revoked. The exchange
/// that spends the code yields there, so the others run in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_exchanges_of_a_code_give_one_success() {
    let keys = id_keys(crate::token::jwt::Algorithm::EdDSA, ED25519_PEM);
    let oauth = OAuthConfig::default().with_id_token_keys(keys).unwrap();
    let env = env_on(oauth, |builder, store| {
        builder.oauth_code_store(ReplayFirst::yielding(store))
    })
    .await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    let grant = exchange(&code, Some(VERIFIER));
    let answered = sixty_four_answers(&env, &client, &grant).await;
    assert_eq!(answered.len(), 1);
    assert!(!works(&env, &answered[0].access_token).await);
    let refreshed = token(
        &env,
        &client.basic(),
        &refresh(answered[0].refresh_token.as_deref().unwrap(), None),
    )
    .await;
    assert_oauth_error(refreshed, OAuthErrorCode::InvalidGrant);
}

/// A token and code store that holds the request whose rotation of a
/// refresh token, or use of a code, came first until a replay has revoked
/// the family: the interleaving that, when the new tokens were stored after
/// the rotation or use, left the family revoked before the winner could
/// store its tokens, and so gave no success at all.
#[derive(Debug)]
struct ReplayFirst {
    inner: Arc<MemoryStore>,
    /// Told when a rotation or a use came first.
    spent: Arc<tokio::sync::Notify>,
    /// Told when a family was revoked.
    revoked: Arc<tokio::sync::Notify>,
    /// Whether the first use waits for a revocation; if not, it only
    /// yields, letting the requests sent with it run there (the in-memory
    /// store never yields by itself).
    wait: bool,
}

impl ReplayFirst {
    /// A store over `inner` that tells `spent` and holds the first use.
    fn new(inner: &Arc<MemoryStore>, spent: &Arc<tokio::sync::Notify>) -> Arc<Self> {
        Arc::new(ReplayFirst {
            inner: inner.clone(),
            spent: spent.clone(),
            revoked: Arc::default(),
            wait: true,
        })
    }

    /// A store over `inner` whose first use only yields.
    fn yielding(inner: &Arc<MemoryStore>) -> Arc<Self> {
        Arc::new(ReplayFirst {
            wait: false,
            ..Arc::into_inner(Self::new(inner, &Arc::default())).unwrap()
        })
    }

    /// Tells that a rotation or use came first, then waits for a family to
    /// be revoked (or only yields).
    async fn hold(&self) {
        if !self.wait {
            return tokio::task::yield_now().await;
        }
        self.spent.notify_one();
        self.revoked.notified().await;
    }
}

#[async_trait::async_trait]
impl crate::store::OAuthCodeStore for ReplayFirst {
    async fn insert_code(&self, code: &AuthorizationCode) -> Result<(), crate::StoreError> {
        self.inner.insert_code(code).await
    }

    async fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, crate::StoreError> {
        self.inner.code(digest).await
    }

    async fn consume_code(
        &self,
        digest: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::CodeUse, crate::StoreError> {
        let used = self.inner.consume_code(digest, now).await?;
        if matches!(used, crate::store::CodeUse::First(_)) {
            self.hold().await;
        }
        Ok(used)
    }

    async fn purge_expired_codes(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, crate::StoreError> {
        self.inner.purge_expired_codes(now).await
    }
}

#[async_trait::async_trait]
impl crate::store::OAuthTokenStore for ReplayFirst {
    async fn insert_oauth_token(&self, token: &OAuthToken) -> Result<(), crate::StoreError> {
        self.inner.insert_oauth_token(token).await
    }

    async fn oauth_token(&self, digest: &str) -> Result<Option<OAuthToken>, crate::StoreError> {
        self.inner.oauth_token(digest).await
    }

    async fn rotate_refresh_token(
        &self,
        digest: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::store::RefreshUse, crate::StoreError> {
        let used = self.inner.rotate_refresh_token(digest, now).await?;
        if matches!(used, crate::store::RefreshUse::First(_)) {
            self.hold().await;
        }
        Ok(used)
    }

    async fn revoke_oauth_token(
        &self,
        digest: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, crate::StoreError> {
        self.inner.revoke_oauth_token(digest, now).await
    }

    async fn revoke_oauth_family(
        &self,
        family: FamilyId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, crate::StoreError> {
        let revoked = self.inner.revoke_oauth_family(family, now).await;
        self.revoked.notify_one();
        revoked
    }

    async fn revoke_user_oauth_tokens(
        &self,
        user: crate::UserId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, crate::StoreError> {
        self.inner.revoke_user_oauth_tokens(user, now).await
    }

    async fn revoke_application_tokens(
        &self,
        application: ApplicationId,
        user: Option<crate::UserId>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, crate::StoreError> {
        self.inner
            .revoke_application_tokens(application, user, now)
            .await
    }

    async fn purge_oauth_tokens(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, crate::StoreError> {
        self.inner.purge_oauth_tokens(now).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_revokes_the_family_mid_refresh_leaves_the_first_use_its_answer() {
    let keys = id_keys(crate::token::jwt::Algorithm::EdDSA, ED25519_PEM);
    let oauth = OAuthConfig::default().with_id_token_keys(keys).unwrap();
    let rotated = Arc::new(tokio::sync::Notify::new());
    let env = env_on(oauth, |builder, store| {
        builder.oauth_token_store(ReplayFirst::new(store, &rotated))
    })
    .await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    let grant = refresh(issued.refresh_token.as_deref().unwrap(), None);
    // The first use is held after spending the token until the second has
    // been refused and has revoked the family.
    let first = spawn_token(&env, &client, &grant);
    rotated.notified().await;
    assert_oauth_error(
        token(&env, &client.basic(), &grant).await,
        OAuthErrorCode::InvalidGrant,
    );
    let won = first.await.unwrap().expect("the first use is answered");
    // Its tokens belong to the revoked family, so they do not work.
    assert!(!works(&env, &won.access_token).await);
}

/// As for refresh tokens: a replay of a code that revokes the family
/// while the first exchange is under way leaves that exchange answered
/// (with tokens that are revoked, as a replay requires).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_revokes_the_family_mid_exchange_leaves_the_first_use_its_answer() {
    let keys = id_keys(crate::token::jwt::Algorithm::EdDSA, ED25519_PEM);
    let oauth = OAuthConfig::default().with_id_token_keys(keys).unwrap();
    let used = Arc::new(tokio::sync::Notify::new());
    let env = env_on(oauth, |builder, store| {
        let held = ReplayFirst::new(store, &used);
        builder
            .oauth_code_store(held.clone())
            .oauth_token_store(held)
    })
    .await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    let grant = exchange(&code, Some(VERIFIER));
    // The first exchange is held after spending the code until the second
    // has been refused and has revoked the family.
    let first = spawn_token(&env, &client, &grant);
    used.notified().await;
    assert_oauth_error(
        token(&env, &client.basic(), &grant).await,
        OAuthErrorCode::InvalidGrant,
    );
    let won = first.await.unwrap().expect("the first use is answered");
    assert!(!works(&env, &won.access_token).await);
    let refreshed = token(
        &env,
        &client.basic(),
        &refresh(won.refresh_token.as_deref().unwrap(), None),
    )
    .await;
    assert_oauth_error(refreshed, OAuthErrorCode::InvalidGrant);
}

#[tokio::test]
async fn the_password_grant_is_off_unless_enabled() {
    let env = env().await;
    let grants = &[GrantType::Password, GrantType::RefreshToken];
    let client = register(&env, ClientType::Confidential, grants).await;
    let grant = |password: &str| TokenGrant::Password {
        username: "ada".into(),
        password: password.into(),
        scope: Some("profile".into()),
    };
    refuses(
        &env,
        &client.basic(),
        &grant(PASSWORD),
        OAuthErrorCode::UnsupportedGrantType,
    )
    .await;

    let env = env_with(OAuthConfig::default().dangerous_enable_password_grant()).await;
    let client = register(&env, ClientType::Confidential, grants).await;
    let issued = token(&env, &client.basic(), &grant(PASSWORD))
        .await
        .unwrap();
    assert!(issued.refresh_token.is_some());
    assert!(works(&env, &issued.access_token).await);
    refuses(
        &env,
        &client.basic(),
        &grant("wrong"),
        OAuthErrorCode::InvalidGrant,
    )
    .await;
    let no_password_grant = machine(&env).await;
    refuses(
        &env,
        &no_password_grant.basic(),
        &grant(PASSWORD),
        OAuthErrorCode::UnauthorizedClient,
    )
    .await;
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family_and_others_tokens_are_left_alone() {
    // Opaque and JWT access tokens alike.
    for env in every_format().await {
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let other = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let issued = issue(&env, &client).await;
        let refresh_token = issued.refresh_token.clone().unwrap();
        // Another client cannot revoke it (and hears nothing of it).
        env.revoke(&other.basic(), &refresh_token).await.unwrap();
        assert!(works(&env, &issued.access_token).await);
        // Unknown tokens are no error.
        env.revoke(&client.basic(), "unknown").await.unwrap();
        // A wrong secret is.
        assert_oauth_error(
            env.revoke(&client.with_secret("nope"), &refresh_token)
                .await,
            OAuthErrorCode::InvalidClient,
        );
        env.revoke(&client.basic(), &refresh_token).await.unwrap();
        assert!(!works(&env, &issued.access_token).await);
        refuses(
            &env,
            &client.basic(),
            &refresh(&refresh_token, None),
            OAuthErrorCode::InvalidGrant,
        )
        .await;
        // Revoking an access token revokes that token only.
        let issued = issue(&env, &client).await;
        env.revoke(&client.basic(), &issued.access_token)
            .await
            .unwrap();
        assert!(!works(&env, &issued.access_token).await);
        assert!(
            token(
                &env,
                &client.basic(),
                &refresh(issued.refresh_token.as_deref().unwrap(), None)
            )
            .await
            .is_ok()
        );
    }
}

#[tokio::test]
async fn introspection_tells_confidential_clients_what_a_token_grants() {
    // Opaque and JWT access tokens alike.
    for env in every_format().await {
        let client = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
        let resource_server = machine(&env).await;
        let issued = issue(&env, &client).await;
        let seen = env
            .introspect(&resource_server.basic(), &issued.access_token)
            .await
            .unwrap();
        assert!(seen.active);
        let details = seen.details.unwrap();
        assert_eq!(details.client_id, client.app.client_id);
        assert_eq!(details.username.as_deref(), Some("ada"));
        assert_eq!(details.user_id, Some(env.user.id));
        assert_eq!(details.scopes.to_string(), "openid profile");
        assert_eq!(details.kind, OAuthTokenKind::Access);
        assert_eq!(details.expires, Some(env.auth.now() + Duration::hours(1)));
        // Public clients cannot introspect; unknown tokens are inactive.
        assert_oauth_error(
            env.introspect(&client.basic(), &issued.access_token).await,
            OAuthErrorCode::InvalidClient,
        );
        let unknown = env
            .introspect(&resource_server.basic(), "nope")
            .await
            .unwrap();
        assert_eq!(
            unknown,
            Introspection {
                active: false,
                details: None
            }
        );
        // A deactivated user's token is inactive, and refused on every route.
        let deactivate = UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        };
        env.auth
            .update_user(
                env.user.id,
                AdminUserInput {
                    patch: deactivate,
                    password: None,
                },
            )
            .await
            .unwrap();
        let seen = env
            .introspect(&resource_server.basic(), &issued.access_token)
            .await
            .unwrap();
        assert!(!seen.active);
        assert!(!works(&env, &issued.access_token).await);
    }
}

#[tokio::test]
async fn a_deactivated_users_token_is_refused_even_when_not_revoked() {
    // Opaque and JWT access tokens alike.
    for env in every_format().await {
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let issued = issue(&env, &client).await;
        // Deactivated behind the service's back (straight in the store).
        let patch = crate::user::UserUpdate {
            is_active: Some(false),
            ..Default::default()
        };
        env.auth
            .stores()
            .users
            .update_user(env.user.id, &patch)
            .await
            .unwrap();
        assert!(matches!(
            env.auth
                .authenticate_header(Some(&format!("Bearer {}", issued.access_token)))
                .await,
            Err(AuthError::Unauthenticated(TokenRejection::UserInactive))
        ));
        refuses(
            &env,
            &client.basic(),
            &refresh(issued.refresh_token.as_deref().unwrap(), None),
            OAuthErrorCode::InvalidGrant,
        )
        .await;
    }
}

#[tokio::test]
async fn password_change_and_logout_everywhere_revoke_oauth_tokens() {
    // Opaque and JWT access tokens alike.
    for env in every_format().await {
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let before = issue(&env, &client).await;
        let change = PasswordChange {
            old_password: PASSWORD.into(),
            new_password: "another-horse-battery-7".into(),
            confirm_password: "another-horse-battery-7".into(),
        };
        env.clock.advance(Duration::seconds(1));
        env.auth
            .change_password(env.user.id, change, None, &ClientInfo::default())
            .await
            .unwrap();
        assert!(!works(&env, &before.access_token).await);
        refuses(
            &env,
            &client.basic(),
            &refresh(before.refresh_token.as_deref().unwrap(), None),
            OAuthErrorCode::InvalidGrant,
        )
        .await;
        // A code issued before the change is void too.
        env.clock.advance(Duration::seconds(1));
        let after = issue(&env, &client).await;
        assert!(works(&env, &after.access_token).await);
        env.clock.advance(Duration::seconds(1));
        env.auth
            .logout_all(env.user.id, &ClientInfo::default())
            .await
            .unwrap();
        assert!(!works(&env, &after.access_token).await);
    }
}

#[tokio::test]
async fn without_rotation_the_refresh_token_stays() {
    let oauth = OAuthConfig {
        rotate_refresh_tokens: false,
        ..OAuthConfig::default()
    };
    let env = env_with(oauth).await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    let refresh_token = issued.refresh_token.unwrap();
    for _ in 0..2 {
        let again = token(&env, &client.basic(), &refresh(&refresh_token, None))
            .await
            .unwrap();
        assert_eq!(again.refresh_token.as_deref(), Some(refresh_token.as_str()));
        assert!(works(&env, &again.access_token).await);
    }
    // Its lifetime still ends (30 days by default).
    env.clock.advance(Duration::days(30));
    let late = refresh(&refresh_token, None);
    refuses(&env, &client.basic(), &late, OAuthErrorCode::InvalidGrant).await;
}

// Browser sessions of the pages.

async fn signed_in(env: &Env) -> SignedIn {
    env.auth
        .sign_in(
            &Credentials::username("ada", PASSWORD),
            &ClientInfo::default(),
        )
        .await
        .unwrap()
}

async fn session_live(env: &Env, cookie: &str) -> bool {
    env.auth.browser_session(cookie).await.unwrap().is_some()
}

#[tokio::test]
async fn sign_in_stores_only_a_digest_and_sign_out_ends_the_session() {
    let env = env().await;
    let by_email = env
        .auth
        .sign_in(
            &Credentials::email("ADA@example.com", PASSWORD),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    assert_eq!(by_email.user.id, env.user.id);
    let signed = signed_in(&env).await;
    assert_ne!(signed.cookie_value, by_email.cookie_value);
    assert_eq!(signed.session.digest, digest(&signed.cookie_value));
    assert_ne!(signed.session.digest, signed.cookie_value);
    assert!(!format!("{signed:?}").contains(&signed.cookie_value));
    let (session, user) = env
        .auth
        .browser_session(&signed.cookie_value)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((session.user_id, user.id), (env.user.id, env.user.id));
    assert_eq!(session.auth_time, crate::Clock::now(&env.clock));
    // The digest itself is no cookie.
    assert!(!session_live(&env, &signed.session.digest).await);
    assert!(!session_live(&env, "").await);
    assert!(env.auth.sign_out(&signed.cookie_value).await.unwrap());
    assert!(!env.auth.sign_out(&signed.cookie_value).await.unwrap());
    assert!(!session_live(&env, &signed.cookie_value).await);
    // The other session stands.
    assert!(session_live(&env, &by_email.cookie_value).await);
}

#[tokio::test]
async fn sessions_end_after_their_lifetime() {
    let env = env_with(
        OAuthConfig::default()
            .with_session_ttl(Duration::hours(2))
            .unwrap(),
    )
    .await;
    let signed = signed_in(&env).await;
    env.clock.advance(Duration::hours(2) - Duration::seconds(1));
    assert!(session_live(&env, &signed.cookie_value).await);
    env.clock.advance(Duration::seconds(1));
    assert!(!session_live(&env, &signed.cookie_value).await);
    assert!(
        OAuthConfig::default()
            .with_session_ttl(Duration::zero())
            .is_err()
    );
}

#[tokio::test]
async fn sign_in_refuses_unknown_wrong_and_inactive_alike() {
    let env = env().await;
    let deactivate = AdminUserInput {
        patch: UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
        password: None,
    };
    env.auth
        .create_user(AdminUserInput::new_user("bob", "bob@example.com").with_password(PASSWORD))
        .await
        .unwrap();
    let bob = env
        .auth
        .sign_in(
            &Credentials::username("bob", PASSWORD),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    env.auth.update_user(bob.user.id, deactivate).await.unwrap();
    for credentials in [
        Credentials::username("nobody", PASSWORD),
        Credentials::username("ada", "wrong-horse-battery-1"),
        Credentials::email("bob@example.com", PASSWORD),
    ] {
        let refused = env
            .auth
            .sign_in(&credentials, &ClientInfo::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused,
                AuthError::InvalidCredentials(crate::events::TokenKind::Credentials)
            ),
            "{refused:?}"
        );
    }
    // Deactivation deleted bob's session.
    assert!(!session_live(&env, &bob.cookie_value).await);
}

#[tokio::test]
async fn sign_in_is_throttled_as_every_login() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let config = AuthConfig::default().with_throttle(
        ThrottleConfig::default()
            .with_rates("login_account=2/min")
            .unwrap(),
    );
    let auth = Auth::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .clock(Arc::new(clock))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
        ))
        .build()
        .unwrap();
    let wrong = Credentials::username("nobody", "wrong");
    for _ in 0..2 {
        let err = auth.sign_in(&wrong, &ClientInfo::default()).await;
        assert!(matches!(err, Err(AuthError::InvalidCredentials(_))));
    }
    let err = auth.sign_in(&wrong, &ClientInfo::default()).await;
    assert!(matches!(err, Err(AuthError::Throttled { .. })), "{err:?}");
}

#[tokio::test]
async fn csrf_tokens_are_bound_to_their_session() {
    let env = env().await;
    let a = signed_in(&env).await;
    let b = signed_in(&env).await;
    let token = env.auth.session_csrf_token(&a.session);
    assert!(env.auth.check_session_csrf(&a.session, Some(&token)));
    assert!(!env.auth.check_session_csrf(&b.session, Some(&token)));
    assert!(!env.auth.check_session_csrf(&a.session, None));
    assert!(!env.auth.check_session_csrf(&a.session, Some("")));
    assert!(
        !env.auth
            .check_session_csrf(&a.session, Some("%%not base64"))
    );
    assert!(!env.auth.check_session_csrf(&a.session, Some(&token[1..])));
    assert!(!token.contains(&a.cookie_value) && token != a.session.digest);

    let value = new_csrf_value();
    assert_ne!(value, new_csrf_value());
    assert!(double_submit_ok(Some(&value), Some(&value)));
    assert!(!double_submit_ok(Some(&value), Some(&new_csrf_value())));
    assert!(!double_submit_ok(Some(&value), None));
    assert!(!double_submit_ok(None, Some(&value)));
    assert!(!double_submit_ok(Some(""), Some("")));
}

#[tokio::test]
async fn password_change_and_logout_everywhere_end_browser_sessions() {
    let env = env().await;
    let signed = signed_in(&env).await;
    let change = PasswordChange {
        old_password: PASSWORD.into(),
        new_password: "another-horse-battery-7".into(),
        confirm_password: "another-horse-battery-7".into(),
    };
    env.auth
        .change_password(env.user.id, change, None, &ClientInfo::default())
        .await
        .unwrap();
    assert!(!session_live(&env, &signed.cookie_value).await);
    let again = env
        .auth
        .sign_in(
            &Credentials::username("ada", "another-horse-battery-7"),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    assert!(session_live(&env, &again.cookie_value).await);
    env.auth
        .logout_all(env.user.id, &ClientInfo::default())
        .await
        .unwrap();
    assert!(!session_live(&env, &again.cookie_value).await);
}

// The authorization endpoint's rules.

fn authorize_request(client: &Client) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: Some(client.app.client_id.clone()),
        redirect_uri: Some(REDIRECT.into()),
        response_type: Some("code".into()),
        scope: Some("openid profile".into()),
        state: Some("xyz".into()),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some("S256".into()),
        nonce: Some("n-0S6".into()),
        prompt: None,
        max_age: None,
    }
}

/// The error code a request redirects with, or `"no redirect"`.
async fn authorize_refusal(env: &Env, request: &AuthorizationRequest) -> &'static str {
    match env.auth.validate_authorization(request).await {
        Ok(_) => "ok",
        Err(AuthorizeError::NoRedirect(_)) => "no redirect",
        Err(AuthorizeError::Redirect {
            error,
            state,
            redirect_uri,
            ..
        }) => {
            assert_eq!(redirect_uri, REDIRECT);
            assert_eq!(state, request.state);
            error.as_str()
        }
        Err(err) => panic!("{err:?}"),
    }
}

#[tokio::test]
async fn authorize_checks_client_and_redirect_uri_first_then_redirects_errors() {
    let env = env().await;
    let client = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    let ok = authorize_request(&client);
    assert_eq!(authorize_refusal(&env, &ok).await, "ok");
    type Change = Box<dyn Fn(&mut AuthorizationRequest)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "no redirect",
            Box::new(|r| r.client_id = Some("unknown".into())),
        ),
        ("no redirect", Box::new(|r| r.client_id = None)),
        (
            "no redirect",
            Box::new(|r| r.redirect_uri = Some("https://client.example/cc".into())),
        ),
        (
            "no redirect",
            Box::new(|r| r.redirect_uri = Some("https://client.example/cb/".into())),
        ),
        // An unknown client wins over every other error.
        (
            "no redirect",
            Box::new(|r| {
                r.client_id = Some("unknown".into());
                r.response_type = None;
            }),
        ),
        ("invalid_request", Box::new(|r| r.response_type = None)),
        (
            "unsupported_response_type",
            Box::new(|r| r.response_type = Some("token".into())),
        ),
        (
            "invalid_scope",
            Box::new(|r| r.scope = Some("admin".into())),
        ),
        ("invalid_request", Box::new(|r| r.code_challenge = None)),
        (
            "invalid_request",
            Box::new(|r| r.code_challenge_method = Some("plain".into())),
        ),
        // No method means plain.
        (
            "invalid_request",
            Box::new(|r| r.code_challenge_method = None),
        ),
        (
            "invalid_request",
            Box::new(|r| r.code_challenge = Some("short".into())),
        ),
        (
            "invalid_request",
            Box::new(|r| r.prompt = Some("none login".into())),
        ),
        (
            "invalid_request",
            Box::new(|r| r.max_age = Some("-1".into())),
        ),
        (
            "invalid_request",
            Box::new(|r| r.max_age = Some("an hour".into())),
        ),
    ];
    for (expected, change) in cases {
        let mut request = ok.clone();
        change(&mut request);
        assert_eq!(
            authorize_refusal(&env, &request).await,
            expected,
            "{request:?}"
        );
    }
    // The only registered redirect URI stands in for a missing one.
    let mut request = ok.clone();
    request.redirect_uri = None;
    let validated = env.auth.validate_authorization(&request).await.unwrap();
    assert_eq!(validated.redirect_uri, REDIRECT);
    // A client without the code grant.
    let machine = machine(&env).await;
    assert_eq!(
        authorize_refusal(&env, &authorize_request(&machine)).await,
        "unauthorized_client"
    );
}

#[tokio::test]
async fn a_sign_in_older_than_max_age_or_prompt_login_means_signing_in_again() {
    let env = env_with(OAuthConfig::default()).await;
    let client = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    let validated = |max_age: Option<&str>, prompt: Option<&str>| {
        let request = AuthorizationRequest {
            max_age: max_age.map(Into::into),
            prompt: prompt.map(Into::into),
            scope: Some("profile".into()),
            ..authorize_request(&client)
        };
        let auth = env.auth.clone();
        async move { auth.validate_authorization(&request).await.unwrap() }
    };
    let signed_in = env.auth.now();
    env.clock.advance(Duration::seconds(600));
    let hour = validated(Some("3600"), None).await;
    assert_eq!(hour.max_age, Some(Duration::seconds(3600)));
    assert!(!env.auth.sign_in_again(&hour, signed_in));
    let five_minutes = validated(Some("300"), None).await;
    assert!(env.auth.sign_in_again(&five_minutes, signed_in));
    // Exactly max_age ago is still recent enough.
    let ten_minutes = validated(Some("600"), None).await;
    assert!(!env.auth.sign_in_again(&ten_minutes, signed_in));
    // max_age=0 wants a sign-in of this instant, as prompt=login does.
    let zero = validated(Some("0"), None).await;
    assert!(env.auth.sign_in_again(&zero, signed_in));
    assert!(!env.auth.sign_in_again(&zero, env.auth.now()));
    let login = validated(None, Some("login")).await;
    assert!(env.auth.sign_in_again(&login, env.auth.now()));
    let neither = validated(None, None).await;
    assert!(!env.auth.sign_in_again(&neither, signed_in));
}

#[tokio::test]
async fn plain_pkce_and_no_pkce_at_authorize_only_when_configured() {
    let oauth = OAuthConfig {
        allow_plain_pkce: true,
        pkce_required: false,
        ..OAuthConfig::default()
    };
    let env = env_with(oauth).await;
    let confidential = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let authorize_request = |client: &Client| AuthorizationRequest {
        scope: Some("profile".into()),
        ..authorize_request(client)
    };
    let mut plain = authorize_request(&confidential);
    plain.code_challenge = Some(VERIFIER.into());
    plain.code_challenge_method = Some("plain".into());
    assert_eq!(authorize_refusal(&env, &plain).await, "ok");
    let mut none = authorize_request(&confidential);
    none.code_challenge = None;
    none.code_challenge_method = None;
    assert_eq!(authorize_refusal(&env, &none).await, "ok");
    // A public client needs PKCE whatever the setting.
    let public = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    let mut none = authorize_request(&public);
    none.code_challenge = None;
    none.code_challenge_method = None;
    assert_eq!(authorize_refusal(&env, &none).await, "invalid_request");
}

#[tokio::test]
async fn an_issued_code_is_bound_and_exchanged_once_and_consent_is_remembered() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let validated = env
        .auth
        .validate_authorization(&authorize_request(&client))
        .await
        .unwrap();
    assert!(
        env.auth
            .consent_needed(env.user.id, &validated)
            .await
            .unwrap()
    );
    let signed_at = env.auth.now();
    env.clock.advance(Duration::seconds(5));
    let issued = env
        .auth
        .issue_authorization_code(env.user.id, signed_at, &validated)
        .await
        .unwrap();
    assert!(!format!("{issued:?}").contains(&issued.code));
    assert_eq!(issued.record.digest, digest(&issued.code));
    assert_eq!(issued.record.nonce.as_deref(), Some("n-0S6"));
    assert_eq!(issued.record.auth_time, signed_at);
    assert_eq!(
        issued.record.expires - issued.record.created,
        Duration::seconds(60)
    );
    // Remembered: the same or fewer scopes need no page; more do, and so
    // does prompt=consent.
    assert!(
        !env.auth
            .consent_needed(env.user.id, &validated)
            .await
            .unwrap()
    );
    let mut fewer = validated.clone();
    fewer.scopes = Scopes::parse("openid").unwrap();
    assert!(!env.auth.consent_needed(env.user.id, &fewer).await.unwrap());
    let mut more = validated.clone();
    more.scopes = Scopes::parse("openid email").unwrap();
    assert!(env.auth.consent_needed(env.user.id, &more).await.unwrap());
    let mut forced = validated.clone();
    forced.prompt = Prompt::Consent;
    assert!(env.auth.consent_needed(env.user.id, &forced).await.unwrap());

    let tokens = token(
        &env,
        &client.basic(),
        &exchange(&issued.code, Some(VERIFIER)),
    )
    .await
    .unwrap();
    assert!(works(&env, &tokens.access_token).await);
    refuses(
        &env,
        &client.basic(),
        &exchange(&issued.code, Some(VERIFIER)),
        OAuthErrorCode::InvalidGrant,
    )
    .await;
    // A wrong verifier is refused.
    let again = env
        .auth
        .issue_authorization_code(env.user.id, signed_at, &validated)
        .await
        .unwrap();
    refuses(
        &env,
        &client.basic(),
        &exchange(
            &again.code,
            Some("wrong-verifier-wrong-verifier-wrong-verifier-1"),
        ),
        OAuthErrorCode::InvalidGrant,
    )
    .await;
}

/// A public client for the code flow that may skip authorization.
async fn public_client(env: &Env, skip_authorization: bool) -> Client {
    let mut client = register(env, ClientType::Public, CODE_AND_REFRESH).await;
    client.app.skip_authorization = skip_authorization;
    env.auth
        .stores()
        .oauth_applications
        .update_application(&client.app)
        .await
        .unwrap();
    client
}

#[tokio::test]
async fn skip_authorization_needs_no_consent() {
    let env = env().await;
    let client = public_client(&env, true).await;
    let validated = env
        .auth
        .validate_authorization(&authorize_request(&client))
        .await
        .unwrap();
    assert!(
        !env.auth
            .consent_needed(env.user.id, &validated)
            .await
            .unwrap()
    );
}

/// A code issued before its grant was revoked is `invalid_grant`, also
/// for an application that skips authorization, and also once the user
/// has authorized the application again; the new code works.
#[tokio::test]
async fn a_code_issued_before_its_grant_was_revoked_is_refused() {
    let env = env().await;
    for skip_authorization in [false, true] {
        let client = public_client(&env, skip_authorization).await;
        let validated = env
            .auth
            .validate_authorization(&authorize_request(&client))
            .await
            .unwrap();
        let issue_code = || async {
            env.auth
                .issue_authorization_code(env.user.id, env.auth.now(), &validated)
                .await
                .unwrap()
                .code
        };
        let first = issue_code().await;
        let second = issue_code().await;
        let tokens = token(&env, &client.basic(), &exchange(&first, Some(VERIFIER)))
            .await
            .unwrap();
        env.clock.advance(Duration::seconds(1));
        env.auth
            .revoke_authorized_application(env.user.id, client.app.id)
            .await
            .unwrap();
        assert!(!works(&env, &tokens.access_token).await);
        refuses(
            &env,
            &client.basic(),
            &exchange(&second, Some(VERIFIER)),
            OAuthErrorCode::InvalidGrant,
        )
        .await;

        let before = issue_code().await;
        env.clock.advance(Duration::seconds(1));
        env.auth
            .revoke_authorized_application(env.user.id, client.app.id)
            .await
            .unwrap();
        env.clock.advance(Duration::seconds(1));
        let after = issue_code().await;
        refuses(
            &env,
            &client.basic(),
            &exchange(&before, Some(VERIFIER)),
            OAuthErrorCode::InvalidGrant,
        )
        .await;
        let tokens = token(&env, &client.basic(), &exchange(&after, Some(VERIFIER)))
            .await
            .unwrap();
        assert!(works(&env, &tokens.access_token).await);
    }
}

/// The consent and the code may come from stores of different precision:
/// a consent stamped later within the code's second still lets it through.
#[tokio::test]
async fn a_consent_and_code_of_one_second_match_whatever_the_precision() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = code_for(&env, &client, Some((CHALLENGE, PkceMethod::S256))).await;
    let later = env.auth.now() + Duration::milliseconds(900);
    let stores = env.auth.stores();
    stores
        .oauth_consents
        .delete_consent(env.user.id, client.app.id)
        .await
        .unwrap();
    stores
        .oauth_consents
        .save_consent(&Consent {
            user_id: env.user.id,
            application_id: client.app.id,
            scopes: Scopes::parse("openid profile").unwrap(),
            created: later,
            updated: later,
        })
        .await
        .unwrap();
    let tokens = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
        .await
        .unwrap();
    assert!(works(&env, &tokens.access_token).await);
}

/// CORS: only the named application's own origins, compared without
/// regard to ASCII case; an unknown client has none.
#[tokio::test]
async fn cors_opens_an_applications_answers_to_its_own_origins_only() {
    let env = env().await;
    let mut listing = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    listing.app.allowed_origins = vec!["https://spa.example".into()];
    env.auth
        .stores()
        .oauth_applications
        .update_application(&listing.app)
        .await
        .unwrap();
    let other = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    let allowed = |client_id: &str, origin: &str| {
        let (auth, origin) = (env.auth.clone(), origin.to_string());
        let credentials = ClientAuth {
            client_id: client_id.to_string(),
            secret: None,
            method: ClientAuthMethod::None,
        };
        async move {
            let client = auth.oauth_client(credentials).await.unwrap();
            client.allows_origin(&origin)
        }
    };
    let id = listing.app.client_id.as_str();
    assert!(allowed(id, "https://spa.example").await);
    assert!(allowed(id, "HTTPS://SPA.example").await);
    for origin in [
        "https://evil.example",
        "https://spa.example:8443",
        "null",
        "",
    ] {
        assert!(!allowed(id, origin).await, "{origin}");
    }
    assert!(!allowed(&other.app.client_id, "https://spa.example").await);
    assert!(!allowed("unknown", "https://spa.example").await);
}

// OpenID Connect.

const ED25519_PEM: &str = include_str!("../../tests/keys/ed25519_private.pem");
const EC_PEM: &str = include_str!("../../tests/keys/ec_private.pem");

fn id_keys(alg: crate::token::jwt::Algorithm, pem: &str) -> crate::token::jwt::KeySet {
    use crate::token::jwt::{JwtKey, KeySet};
    KeySet::new(JwtKey::from_pem(alg, pem).unwrap()).unwrap()
}

fn oidc_config(alg: crate::token::jwt::Algorithm, pem: &str) -> OAuthConfig {
    OAuthConfig::default()
        .with_issuer("https://id.example")
        .unwrap()
        .with_id_token_keys(id_keys(alg, pem))
        .unwrap()
}

/// A verification-only key set holding the public halves of `env`'s
/// ID-token keys, as a client builds it from the JWKS.
fn client_keys(env: &Env) -> crate::token::jwt::KeySet {
    use crate::token::jwt::{JwtKey, KeySet};
    let jwks = env.auth.id_token_keys().unwrap().jwks().to_json();
    let public = JwtKey::from_jwk(&jwks["keys"][0]).unwrap();
    // A verification-only set: sign with a throwaway key of another kid.
    let throwaway = JwtKey::from_pem(crate::token::jwt::Algorithm::ES256, EC_PEM)
        .unwrap()
        .with_kid("throwaway")
        .unwrap();
    KeySet::new(throwaway)
        .unwrap()
        .with_verification_key(public)
        .unwrap()
}

/// A code for `env.user` with `scopes` and `nonce`, authenticated at
/// `auth_time` seconds before now.
async fn oidc_code(env: &Env, client: &Client, scopes: &str, nonce: Option<&str>) -> String {
    let code = generate_client_id();
    let now = env.auth.now();
    let record = AuthorizationCode {
        digest: digest(&code),
        application_id: client.app.id,
        user_id: env.user.id,
        redirect_uri: REDIRECT.into(),
        scopes: Scopes::parse(scopes).unwrap(),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some(PkceMethod::S256),
        nonce: nonce.map(str::to_string),
        auth_time: now - Duration::seconds(90),
        family: FamilyId::new(),
        created: now,
        expires: now + env.auth.config().oauth.code_ttl,
        used_at: None,
    };
    store_code(env, &record).await;
    code
}

fn claims_of(keys: &crate::token::jwt::KeySet, id_token: &str) -> (String, IdTokenClaims) {
    let verified = keys.verify_jws(id_token).expect("a valid signature");
    let kid = verified.header.kid.expect("a kid header");
    (kid, serde_json::from_slice(&verified.payload).unwrap())
}

#[test]
fn at_hash_is_the_left_half_of_the_algs_hash() {
    use crate::token::jwt::Algorithm;
    // OpenID Connect Core 1.0, Appendix A.3 (RS256: SHA-256, 16 bytes).
    assert_eq!(
        at_hash(
            Algorithm::RS256,
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        ),
        "77QmUPtjPfzWtF2AnpK9RQ"
    );
    // Worked by hand from the definition (Python's hashlib): SHA-256 for
    // ES256, SHA-512's left 32 bytes for EdDSA over Ed25519.
    let token = "YmJiZTAwYmYtMzgyOC00NzhkLTkyOTItNjJjNDM3MGYzOWIy9sFhvH8K_x8UIHj1osisS57f5DduL-ar_qw5jl3lthwpMjm283aVMQXDmoqqqydDSqJfbhptzw8rUVwkuQbolw";
    assert_eq!(at_hash(Algorithm::ES256, token), "x7vk7f6BvQj0jQHYFIk4ag");
    assert_eq!(
        at_hash(Algorithm::EdDSA, token),
        "EGEAhGYyfuwDaVTifvrWSoD5MSy_5hZPy6I7Vm-7pTQ"
    );
}

#[test]
fn hmac_keys_never_sign_id_tokens() {
    use crate::config::ConfigError;
    use crate::token::jwt::{Algorithm, JwtKey, KeySet};
    let hmac = || JwtKey::hmac(Algorithm::HS256, [9u8; 32]).unwrap();
    let refused = OAuthConfig::default().with_id_token_keys(KeySet::new(hmac()).unwrap());
    assert!(
        matches!(refused, Err(ConfigError::IdTokenKey(_))),
        "{refused:?}"
    );
    // Not as a verification key beside an asymmetric signing key either.
    let mixed = id_keys(Algorithm::EdDSA, ED25519_PEM)
        .with_verification_key(hmac().with_kid("shared").unwrap())
        .unwrap();
    let err = OAuthConfig::default()
        .with_id_token_keys(mixed)
        .unwrap_err();
    assert!(err.to_string().contains("asymmetric"), "{err}");
    assert!(
        OAuthConfig::default()
            .with_id_token_keys(id_keys(Algorithm::ES256, EC_PEM))
            .is_ok()
    );
}

#[tokio::test]
async fn openid_is_invalid_scope_without_id_token_keys() {
    let env = env_with(OAuthConfig::default()).await;
    let client = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    let request = authorize_request(&client);
    assert_eq!(request.scope.as_deref(), Some("openid profile"));
    assert_eq!(authorize_refusal(&env, &request).await, "invalid_scope");
    let without = AuthorizationRequest {
        scope: Some("profile".into()),
        ..request.clone()
    };
    assert_eq!(authorize_refusal(&env, &without).await, "ok");
    let machine = machine(&env).await;
    let grant = TokenGrant::ClientCredentials {
        scope: Some("openid".into()),
    };
    refuses(&env, &machine.basic(), &grant, OAuthErrorCode::InvalidScope).await;

    let env = env_with(oidc_config(
        crate::token::jwt::Algorithm::EdDSA,
        ED25519_PEM,
    ))
    .await;
    let client = register(&env, ClientType::Public, CODE_AND_REFRESH).await;
    assert_eq!(
        authorize_refusal(&env, &authorize_request(&client)).await,
        "ok"
    );
}

#[tokio::test]
async fn the_code_grant_issues_an_id_token_with_nonce_auth_time_and_at_hash() {
    use crate::token::jwt::Algorithm;
    for (alg, pem) in [(Algorithm::EdDSA, ED25519_PEM), (Algorithm::ES256, EC_PEM)] {
        let env = env_with(oidc_config(alg, pem)).await;
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let code = oidc_code(&env, &client, "openid email", Some("n-0S6_WzA2Mj")).await;
        let issued = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
            .await
            .unwrap();
        let id_token = issued.id_token.clone().expect("an ID token");
        assert!(!format!("{issued:?}").contains(&id_token));
        let (kid, claims) = claims_of(&client_keys(&env), &id_token);
        let signing = env.auth.id_token_keys().unwrap().key_set().signing_key();
        assert_eq!(kid, signing.kid());
        let now = env.auth.now().timestamp();
        assert_eq!(claims.iss, "https://id.example");
        assert_eq!(claims.sub, env.user.id.to_string());
        assert_eq!(claims.aud, client.app.client_id);
        assert_eq!(claims.iat, now);
        assert_eq!(claims.exp, now + 3600);
        assert_eq!(claims.auth_time, Some(now - 90));
        assert_eq!(claims.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(
            claims.at_hash.as_deref(),
            Some(at_hash(alg, &issued.access_token).as_str())
        );
        // Another access token's hash would differ.
        assert_ne!(claims.at_hash, Some(at_hash(alg, "another token")));

        // A refresh of the grant brings a new ID token for the new access
        // token, without nonce and auth_time (OpenID Connect Core §12.2).
        env.clock.advance(Duration::seconds(30));
        let refresh_token = issued.refresh_token.expect("a refresh token");
        let refreshed = token(
            &env,
            &client.basic(),
            &refresh(&refresh_token, Some("email")),
        )
        .await
        .unwrap();
        let (_, again) = claims_of(&client_keys(&env), &refreshed.id_token.unwrap());
        assert_eq!((again.sub, again.aud), (claims.sub, claims.aud));
        assert_eq!(again.iat, now + 30);
        assert_eq!((again.nonce, again.auth_time), (None, None));
        assert_eq!(again.at_hash, Some(at_hash(alg, &refreshed.access_token)));
    }
}

#[tokio::test]
async fn no_id_token_without_the_openid_scope() {
    let env = env_with(oidc_config(
        crate::token::jwt::Algorithm::EdDSA,
        ED25519_PEM,
    ))
    .await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let code = oidc_code(&env, &client, "profile", Some("n")).await;
    let issued = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
        .await
        .unwrap();
    assert_eq!(issued.id_token, None);
    let refreshed = token(
        &env,
        &client.basic(),
        &refresh(&issued.refresh_token.unwrap(), None),
    )
    .await
    .unwrap();
    assert_eq!(refreshed.id_token, None);
}

#[tokio::test]
async fn userinfo_claims_follow_the_scopes() {
    let env = env_with(oidc_config(
        crate::token::jwt::Algorithm::EdDSA,
        ED25519_PEM,
    ))
    .await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let mut answers = Vec::new();
    for scopes in ["openid", "openid profile", "openid email", "profile email"] {
        let code = oidc_code(&env, &client, scopes, None).await;
        let issued = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
            .await
            .unwrap();
        let mut who = env
            .auth
            .authenticate_header(Some(&format!("Bearer {}", issued.access_token)))
            .await
            .unwrap();
        who.user.first_name = "Ada".into();
        who.user.last_name = "Lovelace".into();
        answers.push(env.auth.userinfo(&who));
    }
    let sub = env.user.id.to_string();
    let only_sub = answers.remove(0).unwrap();
    assert_eq!(only_sub.sub, sub);
    assert_eq!(
        (only_sub.preferred_username, only_sub.email, only_sub.name),
        (None, None, None)
    );
    let profile = answers.remove(0).unwrap();
    assert_eq!(profile.preferred_username.as_deref(), Some("ada"));
    assert_eq!(profile.given_name.as_deref(), Some("Ada"));
    assert_eq!(profile.family_name.as_deref(), Some("Lovelace"));
    assert_eq!(profile.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!((profile.email, profile.email_verified), (None, None));
    let email = answers.remove(0).unwrap();
    assert_eq!(email.email.as_deref(), Some("ada@example.com"));
    assert_eq!(email.email_verified, Some(true));
    assert_eq!((email.preferred_username, email.given_name), (None, None));
    // Without `openid`, no userinfo.
    assert!(matches!(
        answers.remove(0),
        Err(AuthError::InsufficientScope(Some("openid")))
    ));
    // Nor for this library's own credentials.
    let who = crate::flows::Authenticated {
        user: env.user.clone(),
        credential: Credential::Static,
    };
    assert!(matches!(
        env.auth.userinfo(&who),
        Err(AuthError::InsufficientScope(Some("openid")))
    ));
}

#[tokio::test]
async fn rp_logout_checks_the_hint_and_the_registered_uri() {
    let env = env_with(oidc_config(
        crate::token::jwt::Algorithm::EdDSA,
        ED25519_PEM,
    ))
    .await;
    let mut client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    client.app.post_logout_redirect_uris = vec!["https://client.example/bye".into()];
    env.auth
        .stores()
        .oauth_applications
        .update_application(&client.app)
        .await
        .unwrap();
    let code = oidc_code(&env, &client, "openid", None).await;
    let hint = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
        .await
        .unwrap()
        .id_token
        .unwrap();
    let request = |uri: &str| EndSessionRequest {
        id_token_hint: Some(hint.clone()),
        client_id: None,
        post_logout_redirect_uri: Some(uri.to_string()),
        state: Some("s".into()),
    };
    // Expired hints are fine (hours after the ID token's expiry).
    env.clock.advance(Duration::hours(5));
    let session = signed_in(&env).await;
    let ended = env
        .auth
        .end_session(
            &request("https://client.example/bye"),
            Some(&session.cookie_value),
        )
        .await
        .unwrap();
    assert_eq!(
        ended,
        EndedSession {
            signed_out: true,
            redirect_uri: Some("https://client.example/bye".into())
        }
    );
    assert!(!session_live(&env, &session.cookie_value).await);
    // An unregistered URI (one character off) is never returned.
    let ended = env
        .auth
        .end_session(&request("https://client.example/bye/"), None)
        .await
        .unwrap();
    assert_eq!(ended.redirect_uri, None);
    // A client_id that is not the hint's audience, a forged hint and no
    // hint are refused, and the session stays.
    let session = signed_in(&env).await;
    let mut refused = vec![
        EndSessionRequest {
            client_id: Some("another".into()),
            ..request("https://client.example/bye")
        },
        EndSessionRequest {
            id_token_hint: None,
            ..request("https://client.example/bye")
        },
    ];
    let forged_payload = {
        let mut parts: Vec<String> = hint.split('.').map(str::to_string).collect();
        let (_, mut claims) = claims_of(&client_keys(&env), &hint);
        claims.sub = crate::user::UserId::new().to_string();
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&claims).unwrap(),
        );
        parts.join(".")
    };
    let other_key = id_keys(crate::token::jwt::Algorithm::ES256, EC_PEM);
    let signing = other_key.signing_key();
    let input = format!(
        "{}.{}",
        signing.encoded_header(),
        hint.split('.').nth(1).unwrap()
    );
    let signed_elsewhere = format!("{input}.{}", signing.sign(input.as_bytes()).unwrap());
    // Our key, another issuer: not one of our ID tokens.
    let foreign_issuer = {
        let (_, mut claims) = claims_of(&client_keys(&env), &hint);
        claims.iss = "https://other.example".into();
        let key = env.auth.id_token_keys().unwrap().key_set().signing_key();
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&claims).unwrap(),
        );
        let input = format!("{}.{payload}", key.encoded_header());
        format!("{input}.{}", key.sign(input.as_bytes()).unwrap())
    };
    for forged in [
        forged_payload,
        signed_elsewhere,
        foreign_issuer,
        "not.a.token".to_string(),
    ] {
        refused.push(EndSessionRequest {
            id_token_hint: Some(forged),
            ..request("https://client.example/bye")
        });
    }
    for bad in refused {
        let result = env
            .auth
            .end_session(&bad, Some(&session.cookie_value))
            .await;
        assert_oauth_error(result, OAuthErrorCode::InvalidRequest);
    }
    assert!(session_live(&env, &session.cookie_value).await);
    // Another user's session is not ended by this user's hint.
    env.auth
        .create_user(AdminUserInput::new_user("bob", "bob@example.com").with_password(PASSWORD))
        .await
        .unwrap();
    let bob = env
        .auth
        .sign_in(
            &Credentials::username("bob", PASSWORD),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let ended = env
        .auth
        .end_session(
            &request("https://client.example/bye"),
            Some(&bob.cookie_value),
        )
        .await
        .unwrap();
    assert!(!ended.signed_out);
    assert!(session_live(&env, &bob.cookie_value).await);
}
