//! [`Auth`], the one handle adapters and applications hold, and its
//! [`AuthBuilder`].

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cache::LookupCache;
use crate::clock::{Clock, SystemClock, now_micros};
use crate::config::{AuthConfig, ConfigError};
use crate::events::{AuthEvent, EventSink, HistorySink, TracingSink};
use crate::flows::ClaimsHook;
use crate::link_token::LinkTokens;
use crate::mail::{ConsoleMailer, EmailTemplates, Mailer};
use crate::outbox::Outbox;
use crate::password::{Argon2idHasher, PasswordHasher, PasswordPolicy, Passwords};
use crate::store::MemoryStore;
use crate::store::{
    BrowserSessionStore, FullStore, JwtRevocationStore, KnoxTokenStore, LoginHistoryStore,
    OAuthApplicationStore, OAuthCodeStore, OAuthConsentStore, OAuthStore, OAuthTokenStore,
    StaticTokenStore, ThrottleStore, UserStore,
};
use crate::throttle::Throttle;
use crate::token::jwt::{Algorithm, Jwt, JwtKey, KeySet};
use crate::token::static_token::StaticTokens;

/// The stores the service works over, one per concern.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Knox-style tokens.
    pub knox: Arc<dyn KnoxTokenStore>,
    /// Static tokens.
    pub static_tokens: Arc<dyn StaticTokenStore>,
    /// JWT blacklist, rotation families and per-user marks.
    pub revocations: Arc<dyn JwtRevocationStore>,
    /// Throttle counters.
    pub throttle: Arc<dyn ThrottleStore>,
    /// Login history.
    pub history: Arc<dyn LoginHistoryStore>,
    /// OAuth2 applications.
    pub oauth_applications: Arc<dyn OAuthApplicationStore>,
    /// OAuth2 authorization codes.
    pub oauth_codes: Arc<dyn OAuthCodeStore>,
    /// OAuth2 access and refresh tokens.
    pub oauth_tokens: Arc<dyn OAuthTokenStore>,
    /// OAuth2 remembered consents.
    pub oauth_consents: Arc<dyn OAuthConsentStore>,
    /// Browser sessions of the OAuth2 provider's pages.
    pub browser_sessions: Arc<dyn BrowserSessionStore>,
}

impl Stores {
    /// Every concern in one store.
    pub fn all_in<S: FullStore>(store: Arc<S>) -> Self {
        Self {
            users: store.clone(),
            knox: store.clone(),
            static_tokens: store.clone(),
            revocations: store.clone(),
            throttle: store.clone(),
            history: store.clone(),
            oauth_applications: store.clone(),
            oauth_codes: store.clone(),
            oauth_tokens: store.clone(),
            oauth_consents: store.clone(),
            browser_sessions: store,
        }
    }

    /// These stores with every OAuth2 concern in `store`.
    pub fn with_oauth_in<S: OAuthStore>(self, store: Arc<S>) -> Self {
        Self {
            oauth_applications: store.clone(),
            oauth_codes: store.clone(),
            oauth_tokens: store.clone(),
            oauth_consents: store.clone(),
            browser_sessions: store,
            ..self
        }
    }
}

/// The authentication service: flows, token strategies and stores behind
/// one cheap-to-clone handle.
///
/// ```
/// use auth_core::{Auth, config::AuthConfig};
/// let auth = Auth::in_memory(AuthConfig::default());
/// let clone = auth.clone(); // shares everything
/// # let _ = clone;
/// ```
#[derive(Clone)]
pub struct Auth {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: AuthConfig,
    pub(crate) stores: Stores,
    pub(crate) passwords: Passwords,
    pub(crate) policy: PasswordPolicy,
    pub(crate) mailer: Arc<dyn Mailer>,
    /// The account emails' templates.
    pub(crate) email_templates: EmailTemplates,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sinks: Vec<Arc<dyn EventSink>>,
    pub(crate) links: LinkTokens,
    pub(crate) throttle: Throttle,
    pub(crate) static_tokens: StaticTokens,
    pub(crate) jwt: Jwt,
    /// Adds an application's claims to issued JWTs.
    pub(crate) claims_hook: Option<Arc<dyn ClaimsHook>>,
    pub(crate) cache: LookupCache,
    /// Emails, sent off the request path.
    pub(crate) mail_queue: Arc<Outbox>,
    /// Login-history writes, off the request path.
    pub(crate) history_queue: Arc<Outbox>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.inner.config)
            .field("stores", &self.inner.stores)
            .field("mailer", &self.inner.mailer)
            .field("clock", &self.inner.clock)
            .field("sinks", &self.inner.sinks.len())
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// A builder; give it at least the stores.
    pub fn builder(config: AuthConfig) -> AuthBuilder {
        AuthBuilder::new(config)
    }

    /// A service over a fresh [`MemoryStore`], printing emails to stdout.
    ///
    /// # Panics
    ///
    /// When `config` asks for what [`AuthBuilder::build`] refuses: a zero
    /// [`cleanup_interval`](AuthConfig::cleanup_interval), or one set
    /// outside a Tokio runtime, or JWT access tokens without ID-token keys
    /// ([`ConfigError::JwtAccessTokensWithoutKeys`]). Use the builder to
    /// handle those as errors.
    pub fn in_memory(config: AuthConfig) -> Self {
        Self::builder(config)
            .store(Arc::new(MemoryStore::new()))
            .build()
            .expect("a valid configuration (see the panics above)")
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The stores.
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// The password hashing pool (its verification counter included).
    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    /// The password policy registration and password changes apply.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.inner.policy
    }

    /// The service clock's current time, in whole microseconds.
    pub fn now(&self) -> DateTime<Utc> {
        now_micros(self.inner.clock.as_ref())
    }

    /// Checks that every store answers (for `GET /healthz`): one cheap read
    /// from each, concurrently. The first failure is returned.
    pub async fn health(&self) -> Result<(), crate::error::StoreError> {
        let stores = &self.inner.stores;
        let nobody = crate::user::UserId(uuid::Uuid::nil());
        let now = self.now();
        tokio::try_join!(
            async { stores.users.user_by_id(nobody).await.map(drop) },
            async { stores.knox.knox_tokens_by_key("health").await.map(drop) },
            async {
                stores
                    .static_tokens
                    .static_token_for_user(nobody)
                    .await
                    .map(drop)
            },
            async {
                stores
                    .revocations
                    .revocation_state(nobody, None)
                    .await
                    .map(drop)
            },
            async { stores.throttle.throttle_peek("health", now).await.map(drop) },
            async { stores.history.user_history(nobody, 0, 1).await.map(drop) },
            async {
                let apps = &stores.oauth_applications;
                apps.application_by_client_id("health").await.map(drop)
            },
            async {
                stores
                    .oauth_codes
                    .consume_code("health", now)
                    .await
                    .map(drop)
            },
            async { stores.oauth_tokens.oauth_token("health").await.map(drop) },
            async {
                let nothing = crate::oauth::ApplicationId(uuid::Uuid::nil());
                stores
                    .oauth_consents
                    .consent(nobody, nothing)
                    .await
                    .map(drop)
            },
            async { stores.browser_sessions.session("health").await.map(drop) },
        )?;
        Ok(())
    }

    /// Sends `event` to every sink, in order.
    pub async fn emit(&self, event: AuthEvent) {
        crate::metrics::event(&event);
        for sink in &self.inner.sinks {
            sink.on_event(&event).await;
        }
    }

    /// Waits until the emails and login-history entries queued so far
    /// have been delivered, or given up on after their retries (and
    /// logged). The service sends emails and writes history off the
    /// request path, so that answering takes as long whether or not an
    /// account exists; call this where something must have been sent
    /// (a test reading the mailbox, a graceful shutdown).
    pub async fn flush(&self) {
        self.inner.mail_queue.flush().await;
        self.inner.history_queue.flush().await;
    }
}

/// Builds an [`Auth`].
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{Auth, ManualClock, config::AuthConfig};
/// use auth_core::mail::MemoryMailer;
/// use auth_core::MemoryStore;
/// let mailer = MemoryMailer::default();
/// let auth = Auth::builder(AuthConfig::default())
///     .store(Arc::new(MemoryStore::new()))
///     .mailer(Arc::new(mailer.clone()))
///     .clock(Arc::new(ManualClock::at_unix(1_800_000_000)))
///     .build()
///     .unwrap();
/// assert_eq!(auth.now().timestamp(), 1_800_000_000);
/// ```
pub struct AuthBuilder {
    config: AuthConfig,
    users: Option<Arc<dyn UserStore>>,
    knox: Option<Arc<dyn KnoxTokenStore>>,
    static_tokens: Option<Arc<dyn StaticTokenStore>>,
    revocations: Option<Arc<dyn JwtRevocationStore>>,
    throttle: Option<Arc<dyn ThrottleStore>>,
    history: Option<Arc<dyn LoginHistoryStore>>,
    oauth_applications: Option<Arc<dyn OAuthApplicationStore>>,
    oauth_codes: Option<Arc<dyn OAuthCodeStore>>,
    oauth_tokens: Option<Arc<dyn OAuthTokenStore>>,
    oauth_consents: Option<Arc<dyn OAuthConsentStore>>,
    browser_sessions: Option<Arc<dyn BrowserSessionStore>>,
    hasher: Option<Arc<dyn PasswordHasher>>,
    hashing_threads: Option<usize>,
    hashing_reserve: Option<usize>,
    hashing_queue: Option<usize>,
    policy: Option<PasswordPolicy>,
    jwt_keys: Option<KeySet>,
    claims_hook: Option<Arc<dyn ClaimsHook>>,
    mailer: Arc<dyn Mailer>,
    email_templates: EmailTemplates,
    clock: Arc<dyn Clock>,
    sinks: Vec<Arc<dyn EventSink>>,
    tracing_events: bool,
    history_events: bool,
}

impl fmt::Debug for AuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AuthBuilder {
    fn new(config: AuthConfig) -> Self {
        Self {
            config,
            users: None,
            knox: None,
            static_tokens: None,
            revocations: None,
            throttle: None,
            history: None,
            oauth_applications: None,
            oauth_codes: None,
            oauth_tokens: None,
            oauth_consents: None,
            browser_sessions: None,
            hasher: None,
            hashing_threads: None,
            hashing_reserve: None,
            hashing_queue: None,
            policy: None,
            jwt_keys: None,
            claims_hook: None,
            mailer: Arc::new(ConsoleMailer),
            email_templates: EmailTemplates::default(),
            clock: Arc::new(SystemClock),
            sinks: Vec::new(),
            tracing_events: true,
            history_events: true,
        }
    }

    /// Uses one store for every concern (set single ones after to override).
    pub fn store<S: FullStore>(self, store: Arc<S>) -> Self {
        self.stores(Stores::all_in(store))
    }

    /// Sets every store.
    pub fn stores(mut self, stores: Stores) -> Self {
        self.users = Some(stores.users);
        self.knox = Some(stores.knox);
        self.static_tokens = Some(stores.static_tokens);
        self.revocations = Some(stores.revocations);
        self.throttle = Some(stores.throttle);
        self.history = Some(stores.history);
        self.oauth_applications = Some(stores.oauth_applications);
        self.oauth_codes = Some(stores.oauth_codes);
        self.oauth_tokens = Some(stores.oauth_tokens);
        self.oauth_consents = Some(stores.oauth_consents);
        self.browser_sessions = Some(stores.browser_sessions);
        self
    }

    /// Uses one store for every OAuth2 concern (set single ones after to
    /// override).
    pub fn oauth_store<S: OAuthStore>(self, store: Arc<S>) -> Self {
        self.oauth_application_store(store.clone())
            .oauth_code_store(store.clone())
            .oauth_token_store(store.clone())
            .oauth_consent_store(store.clone())
            .browser_session_store(store)
    }

    /// The OAuth2 application store.
    pub fn oauth_application_store(mut self, store: Arc<dyn OAuthApplicationStore>) -> Self {
        self.oauth_applications = Some(store);
        self
    }

    /// The OAuth2 authorization code store.
    pub fn oauth_code_store(mut self, store: Arc<dyn OAuthCodeStore>) -> Self {
        self.oauth_codes = Some(store);
        self
    }

    /// The OAuth2 token store.
    pub fn oauth_token_store(mut self, store: Arc<dyn OAuthTokenStore>) -> Self {
        self.oauth_tokens = Some(store);
        self
    }

    /// The OAuth2 consent store.
    pub fn oauth_consent_store(mut self, store: Arc<dyn OAuthConsentStore>) -> Self {
        self.oauth_consents = Some(store);
        self
    }

    /// The browser session store of the OAuth2 provider's pages.
    pub fn browser_session_store(mut self, store: Arc<dyn BrowserSessionStore>) -> Self {
        self.browser_sessions = Some(store);
        self
    }

    /// The user store (e.g. the application's own users table).
    pub fn users(mut self, store: Arc<dyn UserStore>) -> Self {
        self.users = Some(store);
        self
    }

    /// The Knox token store.
    pub fn knox_store(mut self, store: Arc<dyn KnoxTokenStore>) -> Self {
        self.knox = Some(store);
        self
    }

    /// The static token store.
    pub fn static_token_store(mut self, store: Arc<dyn StaticTokenStore>) -> Self {
        self.static_tokens = Some(store);
        self
    }

    /// The JWT revocation store.
    pub fn revocation_store(mut self, store: Arc<dyn JwtRevocationStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// The throttle counter store.
    pub fn throttle_store(mut self, store: Arc<dyn ThrottleStore>) -> Self {
        self.throttle = Some(store);
        self
    }

    /// The login history store.
    pub fn history_store(mut self, store: Arc<dyn LoginHistoryStore>) -> Self {
        self.history = Some(store);
        self
    }

    /// The password hasher (default: Argon2id with OWASP's parameters).
    pub fn hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// How many passwords may hash at once (default: the number of cores).
    pub fn hashing_threads(mut self, threads: usize) -> Self {
        self.hashing_threads = Some(threads.max(1));
        self
    }

    /// How many hashing threads stand aside while requests that present
    /// credentials are being served (default: 1 when there are at least
    /// two; see [`Passwords::with_reserve`]).
    pub fn hashing_reserve(mut self, reserve: usize) -> Self {
        self.hashing_reserve = Some(reserve);
        self
    }

    /// How many password hashes or verifications may wait for a hashing
    /// thread (default: [`QUEUE_PER_THREAD`](crate::password::QUEUE_PER_THREAD)
    /// per thread, so it follows the cores). A login, registration or
    /// password change that finds the queue full is refused at once with
    /// [`AuthError::Overloaded`](crate::error::AuthError::Overloaded) (a
    /// retry later may succeed); see [`Passwords::with_queue_limit`].
    pub fn hashing_queue(mut self, limit: usize) -> Self {
        self.hashing_queue = Some(limit);
        self
    }

    /// The password validators (default: Django's four and a maximum length).
    pub fn password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The JWT signing and verification keys (default: one HS256 key
    /// derived from the server secret). Their algorithm must match
    /// [`AuthConfig::jwt`]'s.
    pub fn jwt_keys(mut self, keys: KeySet) -> Self {
        self.jwt_keys = Some(keys);
        self
    }

    /// Adds the application's claims to the JWTs issued for a user (none
    /// by default); see [`ClaimsHook`].
    pub fn claims_hook(mut self, hook: Arc<dyn ClaimsHook>) -> Self {
        self.claims_hook = Some(hook);
        self
    }

    /// Where emails go (default: [`ConsoleMailer`]).
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = mailer;
        self
    }

    /// The templates the account emails are rendered from (default: the
    /// embedded ones; see [`EmailTemplates`]).
    pub fn email_templates(mut self, templates: EmailTemplates) -> Self {
        self.email_templates = templates;
        self
    }

    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adds an event sink, after the built-in ones.
    pub fn event_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Turns the built-in [`TracingSink`] off (on by default).
    pub fn without_tracing_events(mut self) -> Self {
        self.tracing_events = false;
        self
    }

    /// Turns the built-in [`HistorySink`] off (on by default).
    pub fn without_login_history(mut self) -> Self {
        self.history_events = false;
        self
    }

    /// The service, or which store is missing. The OAuth2 stores not set
    /// share one fresh [`MemoryStore`].
    pub fn build(self) -> Result<Auth, ConfigError> {
        let memory = std::sync::LazyLock::new(|| Arc::new(MemoryStore::new()));
        let stores = Stores {
            users: self.users.ok_or(ConfigError::MissingStore("user"))?,
            knox: self.knox.ok_or(ConfigError::MissingStore("knox token"))?,
            static_tokens: self
                .static_tokens
                .ok_or(ConfigError::MissingStore("static token"))?,
            revocations: self
                .revocations
                .ok_or(ConfigError::MissingStore("JWT revocation"))?,
            throttle: self.throttle.ok_or(ConfigError::MissingStore("throttle"))?,
            history: self
                .history
                .ok_or(ConfigError::MissingStore("login history"))?,
            oauth_applications: self.oauth_applications.unwrap_or_else(|| memory.clone()),
            oauth_codes: self.oauth_codes.unwrap_or_else(|| memory.clone()),
            oauth_tokens: self.oauth_tokens.unwrap_or_else(|| memory.clone()),
            oauth_consents: self.oauth_consents.unwrap_or_else(|| memory.clone()),
            browser_sessions: self.browser_sessions.unwrap_or_else(|| memory.clone()),
        };
        let hasher = self
            .hasher
            .unwrap_or_else(|| Arc::new(Argon2idHasher::default()));
        let passwords = match self.hashing_threads.and_then(std::num::NonZeroUsize::new) {
            Some(threads) => Passwords::with_max_concurrency(hasher, threads),
            None => Passwords::from_arc(hasher),
        };
        let passwords = match self.hashing_reserve {
            Some(reserve) => passwords.with_reserve(reserve),
            None => passwords,
        };
        let passwords = match self.hashing_queue {
            Some(limit) => passwords.with_queue_limit(limit),
            None => passwords,
        };
        let mut sinks: Vec<Arc<dyn EventSink>> = Vec::new();
        if self.tracing_events {
            sinks.push(Arc::new(TracingSink));
        }
        let history_queue = Outbox::new("login history");
        if self.history_events {
            sinks.push(Arc::new(HistorySink::queued(
                stores.history.clone(),
                Arc::clone(&history_queue),
            )));
        }
        sinks.extend(self.sinks);
        let throttle = Throttle::new(stores.throttle.clone(), self.config.throttle.clone());
        let links = LinkTokens::new(&self.config.secret);
        let static_tokens = StaticTokens::new(&self.config.secret);
        let keys = match self.jwt_keys {
            Some(keys) => keys,
            None => default_jwt_keys(&self.config)?,
        };
        let jwt = Jwt::new(self.config.jwt.clone(), keys, self.clock.clone())
            .map_err(|err| ConfigError::Jwt(err.to_string()))?;
        let cache = LookupCache::new(&self.config.lookup_cache);
        let stores = Stores {
            oauth_tokens: cache.oauth_token_store(stores.oauth_tokens, self.clock.clone()),
            ..stores
        };
        if self.config.oauth.access_token_format == crate::config::AccessTokenFormat::Jwt
            && self.config.oauth.id_token_keys.is_none()
        {
            return Err(ConfigError::JwtAccessTokensWithoutKeys);
        }
        if self.config.oauth.password_grant {
            tracing::warn!(
                target: "auth",
                "the OAuth2 password grant is enabled: RFC 9700 section 2.4 says it must not be \
                 used; keep it only for clients that cannot move to the authorization code grant"
            );
        }
        let cleanup = match self.config.cleanup_interval {
            Some(interval) if interval.is_zero() => {
                return Err(ConfigError::NonPositiveTtl("cleanup_interval"));
            }
            Some(interval) => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => Some((runtime, interval)),
                Err(_) => return Err(ConfigError::NoRuntime("cleanup_interval")),
            },
            None => None,
        };
        let auth = Auth {
            inner: Arc::new(Inner {
                config: self.config,
                stores,
                passwords,
                policy: self.policy.unwrap_or_default(),
                mailer: self.mailer,
                email_templates: self.email_templates,
                clock: self.clock,
                sinks,
                links,
                throttle,
                static_tokens,
                jwt,
                claims_hook: self.claims_hook,
                cache,
                mail_queue: Outbox::new("email"),
                history_queue,
            }),
        };
        if let Some((runtime, interval)) = cleanup {
            spawn_cleanup(&runtime, &auth.inner, interval);
        }
        Ok(auth)
    }
}

/// Runs [`Auth::clear_expired`] every `interval` (the first run one
/// interval after the start) until the service is dropped. A failed run is
/// logged and the next one tried on time.
fn spawn_cleanup(
    runtime: &tokio::runtime::Handle,
    inner: &Arc<Inner>,
    interval: std::time::Duration,
) {
    let service: std::sync::Weak<Inner> = Arc::downgrade(inner);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(inner) = service.upgrade() else {
                return;
            };
            let auth = Auth { inner };
            match auth.clear_expired().await {
                Ok(cleared) => tracing::info!(target: "auth::cleanup", %cleared, "cleared expired records"),
                Err(err) => tracing::warn!(target: "auth::cleanup", error = %err, "clearing expired records failed"),
            }
        }
    });
}

/// One HS256 key derived from the server secret, when no keys were given.
fn default_jwt_keys(config: &AuthConfig) -> Result<KeySet, ConfigError> {
    use hmac::{Hmac, Mac};
    if config.jwt.algorithm() != Algorithm::HS256 {
        return Err(ConfigError::Jwt(format!(
            "{} needs keys: pass them to AuthBuilder::jwt_keys",
            config.jwt.algorithm()
        )));
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"auth-core.jwt-signing-key")
        .expect("HMAC accepts keys of any length");
    mac.update(config.secret.expose());
    let secret = mac.finalize().into_bytes();
    JwtKey::hmac(Algorithm::HS256, secret)
        .and_then(KeySet::new)
        .map_err(|err| ConfigError::Jwt(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::BrowserSession;
    use crate::user::UserId;

    /// A builder given every store but the OAuth2 ones.
    fn without_oauth(store: &Arc<MemoryStore>) -> AuthBuilder {
        Auth::builder(AuthConfig::default())
            .users(store.clone())
            .knox_store(store.clone())
            .static_token_store(store.clone())
            .revocation_store(store.clone())
            .throttle_store(store.clone())
            .history_store(store.clone())
    }

    #[tokio::test]
    async fn oauth_stores_are_optional_and_oauth_store_sets_them() {
        let store = Arc::new(MemoryStore::new());
        let auth = without_oauth(&store)
            .build()
            .expect("no OAuth2 store needed");
        auth.health()
            .await
            .expect("the default OAuth2 stores answer");

        let oauth = Arc::new(MemoryStore::new());
        let auth = without_oauth(&store)
            .oauth_store(oauth.clone())
            .build()
            .expect("built");
        let now = auth.now();
        let session = BrowserSession {
            digest: "d".repeat(64),
            user_id: UserId::new(),
            auth_time: now,
            created: now,
            expires: now,
        };
        auth.stores()
            .browser_sessions
            .insert_session(&session)
            .await
            .expect("insert_session");
        assert_eq!(
            oauth.session(&session.digest).await.expect("session"),
            Some(session.clone()),
            "the OAuth2 stores are the one given"
        );
        assert_eq!(store.session(&session.digest).await.expect("session"), None);
    }
}
