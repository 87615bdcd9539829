//! Building the [`Auth`] service from [`Settings`]: stores per URL, the
//! secret, JWT keys, mailer and limits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_core::config::LookupCacheConfig;
use auth_core::config::{AccessTokenFormat, AuthConfig, OAuthConfig, SecretKey, random_bytes};
use auth_core::flows::ClaimsHook;
use auth_core::mail::{ConsoleMailer, Mailer, SmtpMailer};
use auth_core::store::JwtRevocationStore;
use auth_core::token::jwt::{Algorithm, DjangoCutover, JwtConfig, JwtKey, KeySet, TokenType};
use auth_core::token::knox::KnoxConfig;
use auth_core::user::{User, UserId};
use auth_core::{Auth, Stores};
use auth_store_redis::{RedisStore, RedisStoreConfig};
use auth_store_sqlx::{MySqlStore, PostgresStore, SqliteStore};
use base64::Engine;
use chrono::Duration;
use serde_json::{Map, Value};

use crate::error::DemoError;
use crate::settings::Settings;

/// The file name of the generated secret when the database is not a file.
pub const SECRET_FILE_NAME: &str = "auth-demo.secret";

/// The kind of SQL database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres://` and `postgresql://` URLs.
    Postgres,
    /// `mysql://` and `mariadb://` URLs.
    MySql,
}

impl Database {
    /// The kind of database `url` names, or an error naming the schemes
    /// understood.
    pub fn of_url(url: &str) -> Result<Self, DemoError> {
        let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            _ => Err(DemoError::Settings(format!(
                "AUTH_DATABASE_URL must start with sqlite:, postgres:// or mysql://, got {}",
                crate::settings::redact_url(url)
            ))),
        }
    }
}

/// The file of a `sqlite:` URL, or `None` for an in-memory database.
///
/// ```
/// use std::path::PathBuf;
/// use auth_demo::setup::sqlite_file;
/// assert_eq!(sqlite_file("sqlite://auth-demo.db"), Some(PathBuf::from("auth-demo.db")));
/// assert_eq!(sqlite_file("sqlite:///var/lib/a.db?mode=rwc"), Some(PathBuf::from("/var/lib/a.db")));
/// assert_eq!(sqlite_file("sqlite::memory:"), None);
/// ```
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Where the generated secret is kept for these settings: beside the SQLite
/// file (same name, extension `.secret`), else [`SECRET_FILE_NAME`] in the
/// working directory; `None` for an in-memory SQLite database, whose secret
/// need not outlive the process.
pub fn secret_file(settings: &Settings) -> Option<PathBuf> {
    let url = settings.database_url.expose();
    match Database::of_url(url) {
        Ok(Database::Sqlite) => sqlite_file(url).map(|db| db.with_extension("secret")),
        _ => Some(PathBuf::from(SECRET_FILE_NAME)),
    }
}

/// Where the generated OpenID Connect signing key is kept: beside the
/// secret ([`secret_file`]), extension `.oidc.pem`; `None` for an
/// in-memory SQLite database, whose key need not outlive the process.
pub fn oidc_key_file(settings: &Settings) -> Option<PathBuf> {
    secret_file(settings).map(|secret| secret.with_extension("oidc.pem"))
}

/// The PKCS#8 PEM of the Ed25519 private key whose seed is `seed` (RFC
/// 8410 §7: a fixed DER prefix, then the 32 seed bytes).
fn ed25519_pem(seed: &[u8; 32]) -> String {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let der = [PREFIX.as_slice(), seed.as_slice()].concat();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}

/// A signing key from PEM text, of whichever asymmetric algorithm its key
/// type is for (Ed25519: EdDSA, P-256: ES256, RSA: RS256).
fn asymmetric_key(pem: &[u8], origin: &Path) -> Result<JwtKey, DemoError> {
    let key = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256]
        .into_iter()
        .find_map(|alg| JwtKey::from_pem(alg, pem).ok())
        .ok_or_else(|| {
            DemoError::Settings(format!(
                "{} holds no Ed25519, P-256 or RSA private key in PKCS#8 PEM",
                origin.display()
            ))
        })?;
    if !key.can_sign() {
        return Err(DemoError::Settings(format!(
            "{} holds a public key: ID tokens need the private key",
            origin.display()
        )));
    }
    Ok(key)
}

/// The key that signs OpenID Connect ID tokens: `--oidc-key`, else the one
/// kept in `file` (an Ed25519 key generated there on first use, readable
/// by the owner only), else a fresh one for this process.
pub fn load_or_create_oidc_key(
    given: Option<&Path>,
    file: Option<&Path>,
) -> Result<JwtKey, DemoError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|err| DemoError::io(format!("reading {}", path.display()), err))
    };
    if let Some(path) = given {
        return asymmetric_key(&read(path)?, path);
    }
    let generate = || ed25519_pem(&random_bytes::<32>());
    let Some(file) = file else {
        return asymmetric_key(generate().as_bytes(), Path::new("the generated key"));
    };
    if file.exists() {
        return asymmetric_key(&read(file)?, file);
    }
    let pem = generate();
    if !write_private(file, &pem)? {
        return asymmetric_key(&read(file)?, file);
    }
    tracing::warn!(
        "generated a new OpenID Connect signing key (Ed25519) and wrote it to {}: \
         every replica must use the same key (--oidc-key or AUTH_OIDC_KEY, or this file)",
        file.display()
    );
    asymmetric_key(pem.as_bytes(), file)
}

/// The server secret: `--jwt-secret`, else the one kept in `file`
/// (generated there on first use, readable by the owner only).
pub fn load_or_create_secret(
    given: Option<&str>,
    file: Option<&Path>,
) -> Result<Vec<u8>, DemoError> {
    if let Some(secret) = given {
        return Ok(secret.as_bytes().to_vec());
    }
    let Some(file) = file else {
        return Ok(hex::encode(random_bytes::<48>()).into_bytes());
    };
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let secret = text.trim();
            if secret.is_empty() {
                return Err(DemoError::Settings(format!(
                    "the secret file {} is empty: delete it to generate a new one",
                    file.display()
                )));
            }
            Ok(secret.as_bytes().to_vec())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let secret = hex::encode(random_bytes::<48>());
            if !write_private(file, &secret)? {
                return load_or_create_secret(None, Some(file));
            }
            tracing::warn!(
                "generated a new server secret and wrote it to {}: every replica \
                 must use the same secret (--secret-key or AUTH_SECRET_KEY, or \
                 this file), or tokens and links one issues fail on the others",
                file.display()
            );
            Ok(secret.into_bytes())
        }
        Err(err) => Err(DemoError::io(
            format!("reading the secret file {}", file.display()),
            err,
        )),
    }
}

/// Creates `file`, readable and writable by its owner only (mode 0600 on
/// Unix); fails if it exists.
fn create_private(file: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(file)
}

/// Creates `file` with `text`, its owner's alone, whole or not at all:
/// the text goes to a temporary file beside it, which is then linked to
/// `file`. Returns `false` when `file` exists (another process that started
/// at the same moment made it first: use theirs).
fn write_private(file: &Path, text: &str) -> Result<bool, DemoError> {
    let context = || format!("writing the secret file {}", file.display());
    let temporary = file.with_extension(format!(
        "tmp-{}-{}",
        std::process::id(),
        hex::encode(random_bytes::<6>())
    ));
    let written = create_private(&temporary)
        .and_then(|mut handle| {
            handle.write_all(format!("{text}\n").as_bytes())?;
            handle.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&temporary, file));
    let _ = std::fs::remove_file(&temporary);
    match written {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(DemoError::io(context(), err)),
    }
}

/// Creates the (empty) SQLite file of `url` if it does not exist yet, its
/// owner's alone: SQLite would create it readable by everyone the umask
/// lets read it, and gives its journal and WAL files the same mode.
fn create_private_database(url: &str) -> Result<(), DemoError> {
    let Some(file) = sqlite_file(url) else {
        return Ok(());
    };
    match create_private(&file) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(DemoError::io(
            format!("creating the database file {}", file.display()),
            err,
        )),
    }
}

/// The SQL store a URL names, migrated if `migrate`.
async fn sql_stores(url: &str, migrate: bool) -> Result<Stores, DemoError> {
    let fail = |err: Box<dyn std::error::Error + Send + Sync>| DemoError::Store {
        what: format!("the database {}", crate::settings::redact_url(url)),
        source: err,
    };
    Ok(match Database::of_url(url)? {
        Database::Sqlite => {
            create_private_database(url)?;
            let store = SqliteStore::connect(url)
                .await
                .map_err(|e| fail(e.into()))?;
            if migrate {
                store.migrate().await.map_err(|e| fail(e.into()))?;
            }
            Stores::all_in(Arc::new(store))
        }
        Database::Postgres => {
            let store = PostgresStore::connect(url)
                .await
                .map_err(|e| fail(e.into()))?;
            if migrate {
                store.migrate().await.map_err(|e| fail(e.into()))?;
            }
            Stores::all_in(Arc::new(store))
        }
        Database::MySql => {
            let store = MySqlStore::connect(url).await.map_err(|e| fail(e.into()))?;
            if migrate {
                store.migrate().await.map_err(|e| fail(e.into()))?;
            }
            Stores::all_in(Arc::new(store))
        }
    })
}

/// Moves every token, blacklist, throttle and history concern to Redis
/// (OAuth2 codes, tokens and browser sessions included; applications and
/// consents stay with the users), with revocation reads tracked for `tracking` seconds (0: not tracked).
async fn with_redis(
    mut stores: Stores,
    url: &str,
    prefix: &str,
    tracking: u64,
) -> Result<Stores, DemoError> {
    let fail = |err: Box<dyn std::error::Error + Send + Sync>| DemoError::Store {
        what: format!("Redis at {}", crate::settings::redact_url(url)),
        source: err,
    };
    let config = RedisStoreConfig::default()
        .with_key_prefix(prefix)
        .map_err(|e| DemoError::Settings(format!("AUTH_REDIS_PREFIX: {e}")))?;
    let config = match tracking {
        0 => config,
        seconds => config
            .with_tracking(std::time::Duration::from_secs(seconds))
            .map_err(|e| DemoError::Settings(format!("AUTH_REDIS_TRACKING: {e}")))?,
    };
    let redis = RedisStore::with_config(url, config).map_err(|e| fail(e.into()))?;
    redis.ping().await.map_err(|e| fail(e.into()))?;
    // A first revocation read: with tracking on, it proves the tracking
    // connection works (RESP3, CLIENT TRACKING) before any request needs it.
    redis
        .revocation_state(UserId::new(), None)
        .await
        .map_err(|e| fail(e.into()))?;
    let redis = Arc::new(redis);
    stores.knox = redis.clone();
    stores.static_tokens = redis.clone();
    stores.revocations = redis.clone();
    stores.throttle = redis.clone();
    stores.history = redis.clone();
    stores.oauth_codes = redis.clone();
    stores.oauth_tokens = redis.clone();
    stores.browser_sessions = redis;
    Ok(stores)
}

/// The JWT keys for the settings: the secret itself for HS*, else the PEM
/// private key file.
fn jwt_keys(settings: &Settings, secret: &[u8]) -> Result<KeySet, DemoError> {
    let alg = settings.jwt_algorithm;
    let key = if alg.is_hmac() {
        JwtKey::hmac(alg, secret).map_err(|err| {
            DemoError::Settings(format!("AUTH_JWT_SECRET cannot sign {alg}: {err}"))
        })?
    } else {
        let file = settings.jwt_private_key_file.as_ref().ok_or_else(|| {
            DemoError::Settings(format!(
                "{alg} needs a private key: pass --jwt-private-key-file PEM \
                 (e.g. from `openssl genpkey -algorithm ED25519`)"
            ))
        })?;
        let pem = std::fs::read(file)
            .map_err(|err| DemoError::io(format!("reading {}", file.display()), err))?;
        let key = JwtKey::from_pem(alg, pem).map_err(|err| {
            DemoError::Settings(format!("the key in {} is refused: {err}", file.display()))
        })?;
        if !key.can_sign() {
            return Err(DemoError::Settings(format!(
                "{} holds a public key: {alg} needs the private key",
                file.display()
            )));
        }
        key
    };
    KeySet::new(key).map_err(|err| DemoError::Settings(format!("JWT keys: {err}")))
}

/// `jwt` accepting a Django deployment's tokens when the settings name its
/// key and until when; `secret` is the JWT secret, which the Django key
/// must not be.
fn with_django_cutover(
    jwt: JwtConfig,
    settings: &Settings,
    secret: &[u8],
) -> Result<JwtConfig, DemoError> {
    let key = match (&settings.django_secret_key, settings.django_accept_until) {
        (None, None) => return Ok(jwt),
        (Some(key), Some(until)) => (key.expose(), until),
        (Some(_), None) => {
            return Err(DemoError::Settings(
                "AUTH_DJANGO_SECRET_KEY needs AUTH_DJANGO_ACCEPT_UNTIL, the RFC 3339 instant \
                 from which Django's tokens are refused"
                    .into(),
            ));
        }
        (None, Some(_)) => {
            return Err(DemoError::Settings(
                "AUTH_DJANGO_ACCEPT_UNTIL is set without AUTH_DJANGO_SECRET_KEY".into(),
            ));
        }
    };
    let (key, until) = key;
    // The secret signs this server's HS* tokens: were it Django's key, new
    // tokens would be Django's too, and Django still holds that key.
    if subtle::ConstantTimeEq::ct_eq(key.as_bytes(), secret).into() {
        return Err(DemoError::Settings(
            "AUTH_DJANGO_SECRET_KEY must differ from AUTH_JWT_SECRET".into(),
        ));
    }
    let cutover = DjangoCutover::new(key, until)
        .map_err(|err| DemoError::Settings(format!("AUTH_DJANGO_SECRET_KEY: {err}")))?;
    Ok(jwt.with_django_cutover(cutover))
}

/// The claims hook of `--jwt-profile-claims`: each listed key of the
/// user's `profile` is copied into the access and refresh tokens issued
/// for them (a key their profile lacks is left out). `None` when no key is
/// listed; a key the library reserves under `jwt` (a registered claim, a
/// claim name it writes) is refused here, at start, rather than failing
/// every login.
fn profile_claims_hook(
    settings: &Settings,
    jwt: &JwtConfig,
) -> Result<Option<Arc<dyn ClaimsHook>>, DemoError> {
    let mut keys: Vec<String> = Vec::new();
    for key in settings.jwt_profile_claims.iter().map(|key| key.trim()) {
        if key.is_empty() || keys.iter().any(|kept| kept == key) {
            continue;
        }
        if jwt.is_reserved_claim(key) {
            return Err(DemoError::Settings(format!(
                "AUTH_JWT_PROFILE_CLAIMS: {key:?} is a claim the library writes or checks; \
                 name another profile key"
            )));
        }
        keys.push(key.to_owned());
    }
    if keys.is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(move |user: &User, _: TokenType| {
        keys.iter()
            .filter_map(|key| Some((key.clone(), user.profile.get(key)?.clone())))
            .collect::<Map<String, Value>>()
    })))
}

/// The OAuth2 provider's settings: the issuer (`--issuer`, else the bind
/// address over `http://`), `Secure` cookies when the issuer is HTTPS, the
/// password grant when `--oauth-password-grant` asks for it (the service
/// warns at start), and `oidc_key` signing OpenID Connect ID tokens (and
/// the access tokens, RFC 9068 JWTs, with `--oauth-jwt-access-tokens`).
fn oauth_config(settings: &Settings, oidc_key: JwtKey) -> Result<OAuthConfig, DemoError> {
    let issuer = settings
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.bind));
    let mut oauth = OAuthConfig::default()
        .with_issuer(&issuer)
        .map_err(|e| DemoError::Settings(format!("AUTH_ISSUER: {e}")))?;
    oauth.secure_cookies = oauth.issuer.starts_with("https://");
    if settings.oauth_password_grant {
        // The service warns when it starts with the grant on.
        oauth = oauth.dangerous_enable_password_grant();
    }
    if settings.oauth_jwt_access_tokens {
        oauth = oauth.with_access_token_format(AccessTokenFormat::Jwt);
    }
    let key_error =
        |err: &dyn std::fmt::Display| DemoError::Settings(format!("AUTH_OIDC_KEY: {err}"));
    let id_token_keys = KeySet::new(oidc_key).map_err(|err| key_error(&err))?;
    oauth
        .with_id_token_keys(id_token_keys)
        .map_err(|err| key_error(&err))
}

/// The service configuration for the settings, given the secret and the
/// ID-token key.
fn auth_config(
    settings: &Settings,
    secret: Vec<u8>,
    oidc_key: JwtKey,
) -> Result<AuthConfig, DemoError> {
    let setting =
        |name: &str, err: &dyn std::fmt::Display| DemoError::Settings(format!("{name}: {err}"));
    let secret = SecretKey::from_bytes(secret).map_err(|e| setting("AUTH_JWT_SECRET", &e))?;
    // Bounded by `MAX_TTL_SECS` when parsed; clamped again for settings
    // built in code.
    let secs = |s: u64| {
        let s = s.min(crate::settings::MAX_TTL_SECS);
        Duration::seconds(i64::try_from(s).unwrap_or(0))
    };
    let jwt = JwtConfig::default()
        .with_algorithm(settings.jwt_algorithm)
        .with_access_lifetime(secs(settings.access_ttl))
        .map_err(|e| setting("AUTH_ACCESS_TTL", &e))?
        .with_refresh_lifetime(secs(settings.refresh_ttl))
        .map_err(|e| setting("AUTH_REFRESH_TTL", &e))?;
    let jwt = with_django_cutover(jwt, settings, secret.expose())?;
    let knox = KnoxConfig {
        ttl: (settings.knox_ttl > 0).then(|| secs(settings.knox_ttl)),
        ..KnoxConfig::default()
    };
    AuthConfig::default()
        .with_secret(secret)
        .with_frontend_url(&settings.frontend_url)
        .map_err(|e| setting("AUTH_FRONTEND_URL", &e))?
        .with_activation_url(&settings.activation_url)
        .map_err(|e| setting("AUTH_ACTIVATION_URL", &e))?
        .with_password_reset_confirm_url(&settings.password_reset_confirm_url)
        .map_err(|e| setting("AUTH_PASSWORD_RESET_CONFIRM_URL", &e))?
        .with_activation_ttl(secs(settings.activation_ttl))
        .map_err(|e| setting("AUTH_ACTIVATION_TTL", &e))?
        .with_reset_ttl(secs(settings.reset_ttl))
        .map_err(|e| setting("AUTH_RESET_TTL", &e))
        .map(|config| {
            config
                .with_jwt(jwt)
                .with_knox(knox)
                .with_throttle(settings.throttle_config())
                .with_lookup_cache(LookupCacheConfig::with_max_staleness(secs(
                    settings.cache_ttl,
                )))
        })
        .and_then(|config| Ok(config.with_oauth(oauth_config(settings, oidc_key)?)))
        .map(|mut config| {
            config.cleanup_interval = (settings.cleanup_interval > 0)
                .then(|| std::time::Duration::from_secs(settings.cleanup_interval));
            config.history_retention = (settings.history_retention_days > 0).then(|| {
                Duration::days(i64::try_from(settings.history_retention_days).unwrap_or(36_500))
            });
            config
        })
}

/// The mailer for the settings: SMTP when a URL is set, else the console.
fn mailer(settings: &Settings) -> Result<Arc<dyn Mailer>, DemoError> {
    match &settings.smtp_url {
        Some(url) => {
            let mailer = SmtpMailer::from_url(url.expose(), &settings.smtp_from).map_err(|e| {
                DemoError::Settings(format!(
                    "AUTH_SMTP_URL {}: {e}",
                    crate::settings::redact_url(url.expose())
                ))
            })?;
            Ok(Arc::new(mailer))
        }
        None => Ok(Arc::new(ConsoleMailer)),
    }
}

/// The [`Auth`] service the settings describe: the SQL store of
/// `database_url` (migrated), Redis for everything but users when
/// `redis_url` is set, the secret, JWT keys, lifetimes, mailer and login
/// throttle.
///
/// Checks the settings before connecting anywhere, so a bad value fails
/// fast with a message naming it.
pub async fn build_auth(settings: &Settings) -> Result<Auth, DemoError> {
    Database::of_url(settings.database_url.expose())?;
    let mailer = mailer(settings)?;
    let secret = load_or_create_secret(
        settings.jwt_secret.as_ref().map(|s| s.expose()),
        secret_file(settings).as_deref(),
    )?;
    let keys = jwt_keys(settings, &secret)?;
    let oidc_key = load_or_create_oidc_key(
        settings.oidc_key.as_deref(),
        oidc_key_file(settings).as_deref(),
    )?;
    let config = auth_config(settings, secret, oidc_key)?;
    let claims_hook = profile_claims_hook(settings, &config.jwt)?;
    let mut stores = sql_stores(settings.database_url.expose(), !settings.no_migrate).await?;
    if let Some(url) = &settings.redis_url {
        stores = with_redis(
            stores,
            url.expose(),
            &settings.redis_prefix,
            settings.redis_tracking,
        )
        .await?;
    }
    let mut builder = Auth::builder(config)
        .stores(stores)
        .jwt_keys(keys)
        .mailer(mailer)
        .hashing_reserve(settings.hashing_reserve);
    if let Some(clock) = &settings.clock {
        builder = builder.clock(clock.clone());
    }
    if let Some(hook) = claims_hook {
        builder = builder.claims_hook(hook);
    }
    if let Some(limit) = settings.hashing_queue {
        builder = builder.hashing_queue(limit);
    }
    builder
        .build()
        .map_err(|err| DemoError::Settings(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "auth-demo-{name}-{}",
            hex::encode(random_bytes::<6>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn database_kinds() {
        assert_eq!(Database::of_url("sqlite://a.db").unwrap(), Database::Sqlite);
        assert_eq!(
            Database::of_url("sqlite::memory:").unwrap(),
            Database::Sqlite
        );
        assert_eq!(
            Database::of_url("postgresql://h/db").unwrap(),
            Database::Postgres
        );
        assert_eq!(Database::of_url("mysql://h/db").unwrap(), Database::MySql);
        let err = Database::of_url("mongodb://u:pw@h")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn secret_file_sits_beside_the_database() {
        let mut settings = Settings::default();
        assert_eq!(
            secret_file(&settings),
            Some(PathBuf::from("auth-demo.secret"))
        );
        settings.database_url = Secret::new("sqlite:///tmp/x/app.sqlite3?mode=rwc");
        assert_eq!(
            secret_file(&settings),
            Some(PathBuf::from("/tmp/x/app.secret"))
        );
        settings.database_url = Secret::new("postgres://h/db");
        assert_eq!(
            secret_file(&settings),
            Some(PathBuf::from(SECRET_FILE_NAME))
        );
        settings.database_url = Secret::new("sqlite::memory:");
        assert_eq!(secret_file(&settings), None);
    }

    #[test]
    fn servers_starting_together_keep_one_secret_and_one_key() {
        let dir = temp_dir("race");
        let (secret_file, key_file) = (dir.join("race.secret"), dir.join("race.oidc.pem"));
        let made: Vec<(Vec<u8>, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let secret = load_or_create_secret(None, Some(&secret_file)).unwrap();
                        let key = load_or_create_oidc_key(None, Some(&key_file)).unwrap();
                        (secret, key.kid().to_owned())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(made.windows(2).all(|pair| pair[0] == pair[1]), "one winner");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "no temporary files left: {leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn jwt_access_tokens_are_signed_with_the_oidc_key_when_asked_for() {
        let key = load_or_create_oidc_key(None, None).unwrap();
        let mut settings = Settings::default();
        let format = |settings: &Settings| {
            oauth_config(settings, key.clone())
                .unwrap()
                .access_token_format
        };
        assert_eq!(format(&settings), AccessTokenFormat::Opaque);
        settings.oauth_jwt_access_tokens = true;
        assert_eq!(format(&settings), AccessTokenFormat::Jwt);
        let config = oauth_config(&settings, key.clone()).unwrap();
        let signing = config
            .id_token_keys
            .as_ref()
            .unwrap()
            .key_set()
            .signing_key();
        assert_eq!(signing.kid(), key.kid());
    }

    #[test]
    fn oidc_keys_are_asymmetric_private_keys() {
        let dir = temp_dir("oidc");
        let keys = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../auth-core/tests/keys"
        ));
        // The generated PEM is an Ed25519 key JwtKey reads back.
        let file = dir.join("auth-demo.oidc.pem");
        let generated = load_or_create_oidc_key(None, Some(&file)).unwrap();
        assert_eq!(generated.algorithm(), Algorithm::EdDSA);
        let again = load_or_create_oidc_key(None, Some(&file)).unwrap();
        assert_eq!(again.kid(), generated.kid());
        // A named key wins over the file, its algorithm from its type.
        let rsa = load_or_create_oidc_key(Some(&keys.join("rsa_private.pem")), Some(&file));
        assert_eq!(rsa.unwrap().algorithm(), Algorithm::RS256);
        // A public key or something else is refused with the file's name.
        for bad in ["ed25519_public.pem", "../jwt.rs"] {
            let err = load_or_create_oidc_key(Some(&keys.join(bad)), None).unwrap_err();
            assert!(
                err.to_string().contains(bad.trim_start_matches("../")),
                "{err}"
            );
        }
        // Without a file (in-memory database), a fresh key each time.
        let first = load_or_create_oidc_key(None, None).unwrap();
        assert_ne!(
            first.kid(),
            load_or_create_oidc_key(None, None).unwrap().kid()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secret_is_generated_once_and_kept_private() {
        let dir = temp_dir("secret");
        let file = dir.join("auth-demo.secret");
        let first = load_or_create_secret(None, Some(&file)).unwrap();
        assert!(first.len() >= 64, "long enough for HS512");
        let second = load_or_create_secret(None, Some(&file)).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let given = load_or_create_secret(Some("given-secret"), Some(&file)).unwrap();
        assert_eq!(given, b"given-secret");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn builds_on_a_sqlite_file_and_creates_a_superuser() {
        let dir = temp_dir("build");
        let settings = Settings {
            database_url: Secret::new(format!("sqlite://{}", dir.join("demo.db").display())),
            ..Settings::default()
        };
        let auth = build_auth(&settings).await.unwrap();
        assert!(dir.join("demo.secret").exists());
        auth.health().await.unwrap();
        let user = auth
            .create_superuser("root", "root@example.com", "a long enough passphrase")
            .await
            .unwrap();
        assert!(user.is_active && user.is_staff);
        // Same file, same secret, same users on a second start.
        let again = build_auth(&settings).await.unwrap();
        assert!(
            again
                .create_superuser("root", "root@example.com", "a long enough passphrase")
                .await
                .is_err()
        );
        drop((auth, again));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn smtp_over_tls_urls_are_accepted() {
        for url in [
            "smtps://user:pass@mail.example.com:465",
            "smtp://mail.example.com:587?tls=required",
            "smtp://127.0.0.1:1025",
        ] {
            let settings = Settings {
                smtp_url: Some(Secret::new(url)),
                ..Settings::default()
            };
            assert!(mailer(&settings).is_ok(), "{url}");
        }
    }

    #[tokio::test]
    async fn bad_settings_fail_before_connecting() {
        let base = Settings {
            database_url: Secret::new("sqlite::memory:"),
            ..Settings::default()
        };
        let cases: Vec<(Settings, &str)> = vec![
            (
                Settings {
                    jwt_secret: Some(Secret::new("short")),
                    ..base.clone()
                },
                "AUTH_JWT_SECRET",
            ),
            (
                Settings {
                    jwt_secret: Some(Secret::new("x".repeat(40))),
                    jwt_algorithm: auth_core::token::jwt::Algorithm::HS512,
                    ..base.clone()
                },
                "HS512",
            ),
            (
                Settings {
                    jwt_algorithm: auth_core::token::jwt::Algorithm::EdDSA,
                    ..base.clone()
                },
                "--jwt-private-key-file",
            ),
            (
                Settings {
                    frontend_url: "javascript:alert(1)".into(),
                    ..base.clone()
                },
                "AUTH_FRONTEND_URL",
            ),
            (
                Settings {
                    activation_url: "{frontend_url}/activate/{token}".into(),
                    ..base.clone()
                },
                "AUTH_ACTIVATION_URL",
            ),
            (
                Settings {
                    password_reset_confirm_url: "{frontend_url}/reset/{uid}/{token}/{next}".into(),
                    ..base.clone()
                },
                "AUTH_PASSWORD_RESET_CONFIRM_URL",
            ),
            (
                Settings {
                    smtp_url: Some(Secret::new("http://mail")),
                    ..base.clone()
                },
                "AUTH_SMTP_URL",
            ),
            (
                Settings {
                    database_url: Secret::new("oracle://db"),
                    ..base.clone()
                },
                "AUTH_DATABASE_URL",
            ),
            (
                Settings {
                    django_secret_key: Some(Secret::new("django-insecure-key")),
                    ..base.clone()
                },
                "AUTH_DJANGO_ACCEPT_UNTIL",
            ),
            (
                Settings {
                    django_accept_until: Some(chrono::Utc::now()),
                    ..base.clone()
                },
                "AUTH_DJANGO_SECRET_KEY",
            ),
            (
                Settings {
                    jwt_secret: Some(Secret::new("s".repeat(50))),
                    django_secret_key: Some(Secret::new("s".repeat(50))),
                    django_accept_until: Some(chrono::Utc::now()),
                    ..base.clone()
                },
                "must differ from AUTH_JWT_SECRET",
            ),
            (
                Settings {
                    django_secret_key: Some(Secret::new("")),
                    django_accept_until: Some(chrono::Utc::now()),
                    ..base.clone()
                },
                "AUTH_DJANGO_SECRET_KEY",
            ),
        ];
        for (settings, expected) in cases {
            let err = build_auth(&settings).await.unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    /// AUTH_DJANGO_SECRET_KEY and AUTH_DJANGO_ACCEPT_UNTIL: a token of the
    /// simplejwt test vectors authenticates the user imported with its
    /// `user_id` until that instant.
    #[tokio::test]
    async fn the_django_settings_accept_its_tokens_until_the_instant() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/testvectors/simplejwt_tokens.json"
        );
        let vectors: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let access = &vectors["tokens"][0];
        assert_eq!(access["token_type"], "access");
        let iat = access["claims"]["iat"].as_i64().unwrap();
        let clock = auth_core::ManualClock::at_unix(iat + 10);
        let settings = Settings {
            database_url: Secret::new("sqlite::memory:"),
            django_secret_key: Some(Secret::new(vectors["signing_key"].as_str().unwrap())),
            django_accept_until: chrono::DateTime::from_timestamp(iat + 60, 0),
            clock: Some(Arc::new(clock.clone())),
            ..Settings::default()
        };
        let auth = build_auth(&settings).await.unwrap();
        let mut user = auth_core::User::new_for_tests("interop", "interop@example.com");
        user.legacy_id = Some(1);
        auth.stores().users.insert_user(&user).await.unwrap();
        let token = access["token"].as_str().unwrap();
        let (found, claims) = auth.authenticate_jwt(token).await.unwrap();
        assert_eq!(found.id, user.id);
        assert!(claims.legacy);
        clock.advance(Duration::seconds(50));
        assert!(auth.authenticate_jwt(token).await.is_err());
    }

    #[tokio::test]
    async fn profile_claims_go_into_tokens_and_reserved_names_are_refused() {
        let with_keys = |keys: &[&str]| Settings {
            database_url: Secret::new("sqlite::memory:"),
            jwt_profile_claims: keys.iter().map(|key| (*key).to_owned()).collect(),
            ..Settings::default()
        };
        for reserved in ["exp", "user_id", "token_type", "fam", "jti", "sub", "aud"] {
            let err = build_auth(&with_keys(&["team", reserved]))
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("AUTH_JWT_PROFILE_CLAIMS") && err.contains(&format!("\"{reserved}\"")),
                "{err}"
            );
        }
        let auth = build_auth(&with_keys(&["team", " ", "floor", "team"]))
            .await
            .unwrap();
        let mut user = User::new_for_tests("ada", "ada@example.com");
        user.profile.insert("team".into(), "red".into());
        user.profile.insert("bio".into(), "kept out".into());
        let pair = auth.issue_jwt_pair(&user).await.unwrap();
        let payload = |token: &str| -> serde_json::Value {
            let part = token.split('.').nth(1).unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part)
                    .unwrap(),
            )
            .unwrap()
        };
        for token in [pair.access.as_str(), pair.refresh.as_str()] {
            let claims = payload(token);
            assert_eq!(claims["team"], "red", "{claims}");
            assert_eq!(claims["user_id"], user.id.to_string(), "{claims}");
            assert!(
                claims.get("floor").is_none() && claims.get("bio").is_none(),
                "{claims}"
            );
        }
        // No key listed: no hook, tokens as before.
        let auth = build_auth(&with_keys(&[])).await.unwrap();
        let pair = auth.issue_jwt_pair(&user).await.unwrap();
        assert!(payload(pair.access.as_str()).get("team").is_none());
    }

    #[tokio::test]
    async fn hs512_with_a_long_secret_and_eddsa_with_a_key_file() {
        let settings = Settings {
            database_url: Secret::new("sqlite::memory:"),
            jwt_secret: Some(Secret::new("k".repeat(64))),
            jwt_algorithm: auth_core::token::jwt::Algorithm::HS512,
            ..Settings::default()
        };
        build_auth(&settings).await.unwrap();

        // RFC 8037 appendix A.1's Ed25519 private key.
        let dir = temp_dir("eddsa");
        let pem = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
                   -----END PRIVATE KEY-----\n";
        let file = dir.join("ed25519.pem");
        std::fs::write(&file, pem).unwrap();
        let settings = Settings {
            database_url: Secret::new("sqlite::memory:"),
            jwt_algorithm: auth_core::token::jwt::Algorithm::EdDSA,
            jwt_private_key_file: Some(file),
            ..Settings::default()
        };
        build_auth(&settings).await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
