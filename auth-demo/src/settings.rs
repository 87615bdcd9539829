//! The demo server's settings: every one a flag or an environment variable
//! (flags win), as the last section of API.md lists them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use auth_core::throttle::ThrottleConfig;
use auth_core::token::jwt::Algorithm;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The command line: the server's settings and an optional subcommand.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "demo_server",
    version,
    about = "The auth demo server: every route of API.md under /api."
)]
pub struct Cli {
    /// How the server runs.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the demo does instead of serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Creates an active staff superuser (like Django's `createsuperuser`)
    /// and exits.
    CreateSuperuser {
        /// The new user's username.
        #[arg(long)]
        username: String,
        /// The new user's email address.
        #[arg(long)]
        email: String,
        /// The new user's password (the password validators run); else
        /// `AUTH_SUPERUSER_PASSWORD` (as Django's
        /// `DJANGO_SUPERUSER_PASSWORD`), else asked twice on the terminal
        /// without echo. A flag shows in shell history and `ps`: prefer
        /// the variable or the prompt.
        #[arg(long, env = "AUTH_SUPERUSER_PASSWORD", hide_env_values = true)]
        password: Option<Secret>,
    },
    /// Deletes what has expired (Knox tokens, JWT blacklist entries, OAuth2
    /// codes, tokens and browser sessions,
    /// ended throttle windows, login history past its retention), prints
    /// the counts and exits (as simplejwt's `flushexpiredtokens`); the
    /// server also does it every `--cleanup-interval`.
    ClearExpired,
    /// Sets a user's password (like Django's `changepassword`): asked twice
    /// on the terminal without echo, checked by the password validators;
    /// the user's tokens are revoked. Exits when done.
    ChangePassword {
        /// The user whose password changes.
        #[arg(long)]
        username: String,
        /// The new password; else `AUTH_NEW_PASSWORD`, else asked on the
        /// terminal (prefer the prompt: a flag shows in shell history).
        #[arg(long, env = "AUTH_NEW_PASSWORD", hide_env_values = true)]
        password: Option<Secret>,
    },
    /// Registers an OAuth2 application and prints its client id and, for a
    /// confidential client, its secret: shown this once, only a digest is
    /// kept (as Django OAuth Toolkit's `createapplication`).
    CreateApplication(ApplicationArgs),
    /// Deletes expired OAuth2 codes and tokens (revoked and rotated ones
    /// once expired) and expired browser sessions, prints the counts and
    /// exits (as Django OAuth Toolkit's `cleartokens`).
    ClearTokens,
    /// Creates or upgrades the SQL database's tables and exits (the
    /// server does it on start unless `--no-migrate`).
    Migrate,
    /// Imports a Django deployment's users, knox tokens, DRF tokens and
    /// simplejwt blacklist into this server's stores (running it again
    /// imports only what is new or changed), prints the counts and exits
    /// (non-zero when a row could not be imported).
    ImportDjango {
        /// The Django database: `sqlite://path/to/db.sqlite3` (opened
        /// read-only), `postgres://user@host/db` or `mysql://user@host/db`.
        #[arg(long = "from", value_name = "URL")]
        from: Secret,
        /// Writes nothing; prints what would be imported.
        #[arg(long)]
        dry_run: bool,
        /// The user table, for a custom user model (`AUTH_USER_MODEL`):
        /// `accounts_member`, say. Its columns neither mapped nor named
        /// like a field go into each user's `profile`.
        #[arg(long, value_name = "NAME", default_value = "auth_user")]
        user_table: String,
        /// The user table's column for a field, where it differs from
        /// `auth_user`'s: `username=login`, `email=mail`. Repeatable. The
        /// fields are id, username, email, password, first_name,
        /// last_name, is_active, is_staff, is_superuser, date_joined and
        /// last_login.
        #[arg(long = "column", value_name = "FIELD=COLUMN", value_parser = parse_column)]
        columns: Vec<(auth_django::UserField, String)>,
    },
}

/// A `--column` mapping: `field=column`.
fn parse_column(s: &str) -> Result<(auth_django::UserField, String), String> {
    let Some((field, column)) = s.split_once('=') else {
        return Err(format!("{s:?} is not FIELD=COLUMN (username=login)"));
    };
    let field = field.trim().parse().map_err(|err| format!("{err}"))?;
    let column = column.trim();
    if column.is_empty() {
        return Err(format!("{s:?} names no column"));
    }
    Ok((field, column.to_owned()))
}

/// The application `create-application` registers.
#[derive(Debug, Clone, Args)]
pub struct ApplicationArgs {
    /// The name shown on the consent page.
    #[arg(long)]
    pub name: String,
    /// `confidential` (has a secret) or `public` (a browser or native app:
    /// no secret, PKCE).
    #[arg(long, value_enum, default_value_t = ClientKind::Confidential)]
    pub client_type: ClientKind,
    /// The grant types it may use: `authorization_code`,
    /// `client_credentials`, `refresh_token`, `password` (repeat the flag
    /// or separate with commas).
    #[arg(long = "grant-type", value_delimiter = ',', required = true)]
    pub grant_types: Vec<String>,
    /// A redirect URI, matched exactly (repeat the flag for several).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A URI that RP-initiated logout may redirect to (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// An origin (`https://app.example.com`) allowed to call the token
    /// endpoint from a browser (repeatable).
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// The username of the user who owns it (default: none, an
    /// administrator's application).
    #[arg(long)]
    pub user: Option<String>,
    /// Skips the consent page for this application.
    #[arg(long)]
    pub skip_authorization: bool,
}

/// `--client-type` of `create-application`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientKind {
    /// Holds a secret (a server-side app).
    Confidential,
    /// Cannot hold a secret (a browser or native app).
    Public,
}

/// The web framework that serves the routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Framework {
    /// auth-axum.
    Axum,
    /// auth-actix: the same routes on actix-web.
    Actix,
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Framework::Axum => "axum",
            Framework::Actix => "actix",
        })
    }
}

/// A string that `Debug` never prints (passwords, secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// The login throttle of `AUTH_LOGIN_THROTTLE`: `off`, a per-account rate
/// (`5/min`), or per-account and per-address rates (`5/min,20/min`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginThrottle(String);

impl LoginThrottle {
    /// The default: 5 failed logins a minute per account, 20 per address.
    pub const DEFAULT: &'static str = "5/min,20/min";

    /// The service's rate limits with these login rates (the other limits
    /// keep their defaults).
    pub fn config(&self) -> ThrottleConfig {
        // Parsed once already in `from_str`; the default stands if that
        // ever changes.
        ThrottleConfig::default()
            .with_login_rates(&self.0)
            .unwrap_or_default()
    }

    /// The setting as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl FromStr for LoginThrottle {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ThrottleConfig::default()
            .with_login_rates(s)
            .map_err(|err| format!("{err} (expected `off`, `5/min` or `5/min,20/min`)"))?;
        Ok(Self(s.trim().to_owned()))
    }
}

/// `on` or `off`, as `AUTH_THROTTLE` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Switch {
    /// On (the default).
    #[default]
    On,
    /// Off.
    Off,
}

/// The rates of `AUTH_THROTTLE_RATES`: `scope=rate,...` (e.g.
/// `login_ip=50/min,register_ip=off`), checked when parsed; the scopes
/// not named keep their defaults. Scopes and defaults:
/// [`auth_core::throttle::Scope`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleRates(String);

impl ThrottleRates {
    /// `config` with these rates set.
    pub fn apply(&self, config: ThrottleConfig) -> ThrottleConfig {
        // Parsed once already in `from_str`; `config` stands if that ever
        // changes.
        config.clone().with_rates(&self.0).unwrap_or(config)
    }

    /// The setting as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ThrottleRates {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ThrottleConfig::default()
            .with_rates(s)
            .map_err(|err| err.to_string())?;
        Ok(Self(s.trim().to_owned()))
    }
}

/// The longest lifetime any TTL setting takes: ten years, in seconds.
pub const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// An RFC 3339 instant, in UTC.
fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|at| at.to_utc())
        .map_err(|err| format!("{s:?} is not an RFC 3339 instant (2027-01-31T00:00:00Z): {err}"))
}

fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    s.trim().parse::<Algorithm>().map_err(|_| {
        format!("unsupported algorithm {s:?}: use HS256, HS384, HS512, RS256, ES256 or EdDSA")
    })
}

/// How the server runs. Every field is a flag and an environment variable;
/// [`Settings::default`] is what an empty command line and environment give.
/// The flags are global: they may also follow `create-superuser`.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// The address to listen on (port 0 picks a free port).
    #[arg(
        long,
        global = true,
        env = "AUTH_BIND",
        default_value = "127.0.0.1:8000"
    )]
    pub bind: String,

    /// The web framework serving the routes.
    #[arg(long, global = true, env = "AUTH_FRAMEWORK", value_enum, default_value_t = Framework::Axum)]
    pub framework: Framework,

    /// The SQL database: `sqlite://FILE` (created and migrated on start),
    /// `postgres://...` or `mysql://...`.
    #[arg(
        long,
        global = true,
        env = "AUTH_DATABASE_URL",
        default_value = "sqlite://auth-demo.db",
        hide_env_values = true
    )]
    pub database_url: Secret,

    /// When set, Knox and static tokens, the JWT blacklist, throttle
    /// counters and login history live in this Redis (users stay in SQL).
    #[arg(long, global = true, env = "AUTH_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,

    /// The prefix of every Redis key the server writes.
    #[arg(
        long,
        global = true,
        env = "AUTH_REDIS_PREFIX",
        default_value = "auth:"
    )]
    pub redis_prefix: String,

    /// With Redis (6 or later): answer JWT revocation checks from memory
    /// while Redis tracks them and pushes every change (server-assisted
    /// client-side caching); the most seconds an answer is kept should
    /// that push channel fail silently. 0 reads Redis on every request.
    #[arg(long, global = true, env = "AUTH_REDIS_TRACKING", hide = true, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub redis_tracking: u64,

    /// Where emails go: unset prints them to stdout; `smtp://host:port`
    /// sends them over SMTP.
    #[arg(long, global = true, env = "AUTH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,

    /// The sender of the emails.
    #[arg(
        long,
        global = true,
        env = "AUTH_SMTP_FROM",
        default_value = "Auth demo <noreply@example.com>"
    )]
    pub smtp_from: String,

    /// The frontend the emailed links point to.
    #[arg(
        long,
        global = true,
        env = "AUTH_FRONTEND_URL",
        default_value = "http://localhost:3000"
    )]
    pub frontend_url: String,

    /// The activation link emailed on registration, a template over
    /// `{frontend_url}`, `{uid}` and `{token}` (as djoser's
    /// `ACTIVATION_URL`).
    #[arg(
        long,
        global = true,
        env = "AUTH_ACTIVATION_URL",
        default_value = auth_core::config::DEFAULT_ACTIVATION_URL
    )]
    pub activation_url: String,

    /// The password-reset link, a template over `{frontend_url}`, `{uid}`
    /// and `{token}` (as djoser's `PASSWORD_RESET_CONFIRM_URL`).
    #[arg(
        long,
        global = true,
        env = "AUTH_PASSWORD_RESET_CONFIRM_URL",
        default_value = auth_core::config::DEFAULT_PASSWORD_RESET_CONFIRM_URL
    )]
    pub password_reset_confirm_url: String,

    /// The server secret: it keys the emailed links and static tokens and is
    /// the HS* signing key (at least 32 bytes; 48 for HS384, 64 for HS512).
    /// Every replica must have the same. `--jwt-secret` and
    /// `AUTH_JWT_SECRET` are its old names. Default: generated once and kept
    /// in a file beside the SQLite database (`auth-demo.secret`), or in the
    /// working directory for other databases.
    #[arg(
        long = "secret-key",
        alias = "jwt-secret",
        global = true,
        env = "AUTH_SECRET_KEY",
        hide_env_values = true
    )]
    pub jwt_secret: Option<Secret>,

    /// The JWT signing algorithm.
    #[arg(long, global = true, env = "AUTH_JWT_ALGORITHM", default_value = "HS256", value_parser = parse_algorithm)]
    pub jwt_algorithm: Algorithm,

    /// The PEM private key (PKCS#8) for RS256, ES256 or EdDSA.
    #[arg(long, global = true, env = "AUTH_JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: Option<PathBuf>,

    /// The PEM private key (PKCS#8: Ed25519, P-256 or RSA) that signs
    /// OpenID Connect ID tokens. Without it, an Ed25519 key is generated on
    /// first start and kept beside the database, as the secret is.
    #[arg(long = "oidc-key", global = true, env = "AUTH_OIDC_KEY")]
    pub oidc_key: Option<PathBuf>,

    /// The `SECRET_KEY` of a Django deployment moving here: HS256 tokens
    /// its simplejwt signed with it (`user_id` the imported Django id) are
    /// accepted until `--django-accept-until`, which it needs. It must
    /// differ from the JWT secret: new tokens are signed with this server's
    /// keys.
    #[arg(
        long,
        global = true,
        env = "AUTH_DJANGO_SECRET_KEY",
        hide_env_values = true
    )]
    pub django_secret_key: Option<Secret>,

    /// With `--django-secret-key`: the RFC 3339 instant from which Django's
    /// tokens are refused.
    #[arg(long, global = true, env = "AUTH_DJANGO_ACCEPT_UNTIL", value_parser = parse_instant)]
    pub django_accept_until: Option<chrono::DateTime<chrono::Utc>>,

    /// Keys of the user's `profile` copied into the access and refresh
    /// tokens issued for them (`team,department`; as a simplejwt
    /// deployment adds claims in `get_token`). A key the user's profile
    /// lacks is left out; a claim name the library writes or checks
    /// (`exp`, `user_id`, `token_type`, ...) is refused at start.
    #[arg(
        long,
        global = true,
        env = "AUTH_JWT_PROFILE_CLAIMS",
        value_delimiter = ',',
        value_name = "KEY,..."
    )]
    pub jwt_profile_claims: Vec<String>,

    /// Access token lifetime in seconds.
    #[arg(long, global = true, env = "AUTH_ACCESS_TTL", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    pub access_ttl: u64,

    /// Refresh token lifetime in seconds.
    #[arg(long, global = true, env = "AUTH_REFRESH_TTL", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    pub refresh_ttl: u64,

    /// Knox token lifetime in seconds (0: tokens never expire).
    #[arg(long, global = true, env = "AUTH_KNOX_TTL", default_value_t = 36_000, value_parser = clap::value_parser!(u64).range(0..=MAX_TTL_SECS))]
    pub knox_ttl: u64,

    /// How often, in seconds, the server deletes what has expired (as the
    /// `clear-expired` command does); 0: never.
    #[arg(long, global = true, env = "AUTH_CLEANUP_INTERVAL", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(0..=MAX_TTL_SECS))]
    pub cleanup_interval: u64,

    /// How many days login-history entries are kept (0: until the account
    /// is deleted); older ones go at each cleanup.
    #[arg(long, global = true, env = "AUTH_HISTORY_RETENTION_DAYS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub history_retention_days: u64,

    /// Activation link lifetime in seconds (default 3 days).
    #[arg(long, global = true, env = "AUTH_ACTIVATION_TTL", default_value_t = 259_200, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    pub activation_ttl: u64,

    /// Password-reset link lifetime in seconds (default 1 hour).
    #[arg(long, global = true, env = "AUTH_RESET_TTL", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    pub reset_ttl: u64,

    /// The staleness budget, in seconds, of request authentication's cache
    /// of users, revocation state and tokens (0: off, every request reads
    /// the stores). This server sees its own changes at once; a change
    /// made by another server is seen at most this much later.
    #[arg(long, global = true, env = "AUTH_CACHE_TTL", hide = true, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub cache_ttl: u64,

    /// Password-hashing threads (one per core) that stand aside while
    /// requests presenting credentials are being served, so a login storm
    /// slows other requests less (0: every thread hashes whatever else is
    /// going on; one thread always hashes).
    #[arg(
        long,
        global = true,
        env = "AUTH_HASHING_RESERVE",
        hide = true,
        default_value_t = 1
    )]
    pub hashing_reserve: usize,

    /// How many password hashes may wait for a hashing thread (default 32
    /// per thread); a login that finds the queue full gets 503 with
    /// `Retry-After` at once.
    #[arg(long, global = true, env = "AUTH_HASHING_QUEUE", hide = true)]
    pub hashing_queue: Option<usize>,

    /// Failed-login limits: `off`, a per-account rate (`5/min`), or
    /// per-account and per-address rates (`5/min,20/min`).
    #[arg(long, global = true, env = "AUTH_LOGIN_THROTTLE", default_value = LoginThrottle::DEFAULT)]
    pub login_throttle: LoginThrottle,

    /// Rate limits: `off` turns every one off, whatever the other
    /// throttle settings say.
    #[arg(long, global = true, env = "AUTH_THROTTLE", value_enum, default_value_t = Switch::On)]
    pub throttle: Switch,

    /// Rates by scope, `scope=rate,...` with a rate such as `5/min`,
    /// `10/hour`, `100/day` or `off` (scopes: login_account, login_ip,
    /// register_ip, reset_email, activation_email, email_ip); these win
    /// over `--login-throttle`, and the scopes not named keep theirs.
    #[arg(long, global = true, env = "AUTH_THROTTLE_RATES", default_value = "")]
    pub throttle_rates: ThrottleRates,

    /// The OAuth2 / OpenID Connect issuer: this server's public URL as
    /// clients reach it (`https://auth.example.com`), named in the
    /// metadata, discovery, ID tokens and authorization responses; clients
    /// compare it with the URL they discovered the server at. Default:
    /// `http://` and the address the server listens on.
    #[arg(long, global = true, env = "AUTH_ISSUER")]
    pub issuer: Option<String>,

    /// Enables the OAuth2 resource owner password grant for applications
    /// that list it (off by default: RFC 9700 says it must not be used;
    /// Django OAuth Toolkit parity only).
    #[arg(long, global = true, env = "AUTH_OAUTH_PASSWORD_GRANT")]
    pub oauth_password_grant: bool,

    /// Issues OAuth2 access tokens as RFC 9068 JWTs (`typ: at+jwt`),
    /// signed with the OpenID Connect key and verifiable with
    /// `/api/o/jwks.json`, instead of opaque ones. This server still
    /// checks each one's stored record, so revocation works at once; a
    /// resource server that only checks the signature sees it when the
    /// token expires.
    #[arg(long, global = true, env = "AUTH_OAUTH_JWT_ACCESS_TOKENS")]
    pub oauth_jwt_access_tokens: bool,

    /// Does not migrate the SQL database on start (run the `migrate`
    /// command when deploying instead); a database without the tables
    /// fails its health check.
    #[arg(long, global = true, env = "AUTH_NO_MIGRATE")]
    pub no_migrate: bool,

    /// Logs warnings and errors only (`RUST_LOG` overrides).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Trusted proxies, CORS and the cookie transport.
    #[command(flatten)]
    pub web: crate::web::WebSettings,

    /// The service's clock (the system clock when `None`); no flag: tests
    /// set a [`ManualClock`](auth_core::ManualClock) to test expiry
    /// without waiting.
    #[arg(skip)]
    pub clock: Option<std::sync::Arc<dyn auth_core::Clock>>,
}

impl Default for Settings {
    /// The documented defaults, independent of the environment.
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8000".into(),
            framework: Framework::Axum,
            database_url: Secret::new("sqlite://auth-demo.db"),
            redis_url: None,
            redis_prefix: "auth:".into(),
            redis_tracking: 10,
            smtp_url: None,
            smtp_from: "Auth demo <noreply@example.com>".into(),
            frontend_url: "http://localhost:3000".into(),
            activation_url: auth_core::config::DEFAULT_ACTIVATION_URL.into(),
            password_reset_confirm_url: auth_core::config::DEFAULT_PASSWORD_RESET_CONFIRM_URL
                .into(),
            jwt_secret: None,
            jwt_algorithm: Algorithm::HS256,
            jwt_private_key_file: None,
            oidc_key: None,
            django_secret_key: None,
            django_accept_until: None,
            jwt_profile_claims: Vec::new(),
            access_ttl: 300,
            refresh_ttl: 86_400,
            knox_ttl: 36_000,
            cleanup_interval: 3_600,
            history_retention_days: 0,
            activation_ttl: 259_200,
            reset_ttl: 3_600,
            cache_ttl: 0,
            hashing_reserve: 1,
            hashing_queue: None,
            login_throttle: LoginThrottle::default(),
            throttle: Switch::On,
            throttle_rates: ThrottleRates::default(),
            issuer: None,
            oauth_password_grant: false,
            oauth_jwt_access_tokens: false,
            no_migrate: false,
            quiet: false,
            web: crate::web::WebSettings::default(),
            clock: None,
        }
    }
}

impl Settings {
    /// The service's rate limits: none with `throttle` off; else the
    /// defaults, with the login rates of `login_throttle`, then the rates
    /// of `throttle_rates`.
    pub fn throttle_config(&self) -> ThrottleConfig {
        match self.throttle {
            Switch::Off => ThrottleConfig::disabled(),
            Switch::On => self.throttle_rates.apply(self.login_throttle.config()),
        }
    }

    /// The database URL with any password masked, for messages.
    pub fn database_display(&self) -> String {
        redact_url(self.database_url.expose())
    }
}

/// `url` with the password of its user-info (if any) replaced by `***`.
///
/// ```
/// use auth_demo::settings::redact_url;
/// assert_eq!(redact_url("postgres://app:s3cret@db:5432/x"), "postgres://app:***@db:5432/x");
/// assert_eq!(redact_url("sqlite://auth-demo.db"), "sqlite://auth-demo.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // A query string may carry a password too: leave it out.
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?..."),
        None => tail.to_owned(),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("demo_server").chain(args.iter().copied()))
    }

    #[test]
    fn secret_key_has_its_old_name_and_benchmark_knobs_stay_out_of_help() {
        for flag in ["--secret-key", "--jwt-secret"] {
            let secret = "s".repeat(40);
            let cli = parse(&[flag, &secret]).unwrap();
            assert_eq!(cli.settings.jwt_secret.unwrap().expose(), secret, "{flag}");
        }
        let help = parse(&["--help"]).unwrap_err().to_string();
        assert!(help.contains("--secret-key"), "{help}");
        for knob in [
            "--hashing-reserve",
            "--hashing-queue",
            "--redis-tracking",
            "--cache-ttl",
        ] {
            assert!(!help.contains(knob), "{knob} in --help:\n{help}");
        }
        let cli = parse(&["--hashing-reserve=0", "--cache-ttl=5", "--redis-tracking=0"]).unwrap();
        assert_eq!(
            (cli.settings.hashing_reserve, cli.settings.cache_ttl),
            (0, 5),
            "hidden knobs are still accepted"
        );
    }

    #[test]
    fn flags_set_every_setting() {
        let cli = parse(&[
            "--bind=0.0.0.0:9000",
            "--framework=actix",
            "--database-url=postgres://u:p@h/db",
            "--redis-url=redis://127.0.0.1:6379",
            "--redis-prefix=demo:",
            "--redis-tracking=0",
            "--smtp-url=smtp://127.0.0.1:2525",
            "--smtp-from=a@example.com",
            "--frontend-url=https://app.example.com",
            "--jwt-secret=0123456789abcdef0123456789abcdef",
            "--jwt-algorithm=EdDSA",
            "--jwt-private-key-file=/k.pem",
            "--django-secret-key=django-insecure-key",
            "--django-accept-until=2027-01-31T01:00:00+01:00",
            "--jwt-profile-claims=team,department",
            "--access-ttl=1",
            "--refresh-ttl=2",
            "--knox-ttl=0",
            "--activation-ttl=4",
            "--reset-ttl=5",
            "--login-throttle=3/min",
            "--throttle=off",
            "--throttle-rates=register_ip=2/min",
            "--cache-ttl=2",
            "--hashing-reserve=0",
            "--oauth-jwt-access-tokens",
            "--quiet",
        ])
        .unwrap();
        let s = cli.settings;
        assert!(cli.command.is_none());
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.framework, Framework::Actix);
        assert_eq!(s.database_url.expose(), "postgres://u:p@h/db");
        assert_eq!(s.redis_url.unwrap().expose(), "redis://127.0.0.1:6379");
        assert_eq!(s.redis_prefix, "demo:");
        assert_eq!(s.redis_tracking, 0);
        assert_eq!(s.smtp_url.unwrap().expose(), "smtp://127.0.0.1:2525");
        assert_eq!(s.smtp_from, "a@example.com");
        assert_eq!(s.frontend_url, "https://app.example.com");
        assert_eq!(
            s.jwt_secret.unwrap().expose(),
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(s.jwt_algorithm, Algorithm::EdDSA);
        assert_eq!(s.jwt_private_key_file, Some(PathBuf::from("/k.pem")));
        assert_eq!(
            s.django_secret_key.as_ref().map(Secret::expose),
            Some("django-insecure-key")
        );
        assert_eq!(
            s.django_accept_until.map(|at| at.to_rfc3339()),
            Some("2027-01-31T00:00:00+00:00".into())
        );
        assert_eq!(s.jwt_profile_claims, ["team", "department"]);
        assert_eq!((s.access_ttl, s.refresh_ttl, s.knox_ttl), (1, 2, 0));
        assert_eq!((s.activation_ttl, s.reset_ttl), (4, 5));
        assert_eq!(s.login_throttle.as_str(), "3/min");
        assert_eq!(s.throttle, Switch::Off);
        assert_eq!(s.throttle_rates.as_str(), "register_ip=2/min");
        assert_eq!((s.cache_ttl, s.hashing_reserve), (2, 0));
        assert!(s.oauth_jwt_access_tokens);
        assert!(s.quiet);
    }

    #[test]
    fn defaults_match_api_md() {
        // Only meaningful where the environment sets none of the variables.
        let vars = [
            "AUTH_BIND",
            "AUTH_FRAMEWORK",
            "AUTH_DATABASE_URL",
            "AUTH_REDIS_URL",
            "AUTH_REDIS_PREFIX",
            "AUTH_SMTP_URL",
            "AUTH_SMTP_FROM",
            "AUTH_FRONTEND_URL",
            "AUTH_JWT_SECRET",
            "AUTH_JWT_ALGORITHM",
            "AUTH_JWT_PRIVATE_KEY_FILE",
            "AUTH_OIDC_KEY",
            "AUTH_ISSUER",
            "AUTH_DJANGO_SECRET_KEY",
            "AUTH_DJANGO_ACCEPT_UNTIL",
            "AUTH_JWT_PROFILE_CLAIMS",
            "AUTH_ACCESS_TTL",
            "AUTH_REFRESH_TTL",
            "AUTH_KNOX_TTL",
            "AUTH_ACTIVATION_TTL",
            "AUTH_RESET_TTL",
            "AUTH_LOGIN_THROTTLE",
            "AUTH_THROTTLE",
            "AUTH_THROTTLE_RATES",
            "AUTH_CACHE_TTL",
            "AUTH_HASHING_RESERVE",
            "AUTH_REDIS_TRACKING",
        ];
        if vars.iter().any(|v| std::env::var_os(v).is_some()) {
            eprintln!("skipping: an AUTH_* variable is set in the environment");
            return;
        }
        let parsed = parse(&[]).unwrap().settings;
        let default = Settings::default();
        assert_eq!(format!("{parsed:?}"), format!("{default:?}"));
        assert_eq!(parsed.bind, "127.0.0.1:8000");
        assert_eq!(parsed.database_url.expose(), "sqlite://auth-demo.db");
        assert_eq!(parsed.frontend_url, "http://localhost:3000");
        assert_eq!(parsed.jwt_algorithm, Algorithm::HS256);
        assert_eq!(
            (parsed.access_ttl, parsed.refresh_ttl, parsed.knox_ttl),
            (300, 86_400, 36_000)
        );
        assert_eq!((parsed.cache_ttl, parsed.hashing_reserve), (0, 1));
        assert_eq!(parsed.redis_tracking, 10);
        assert_eq!(parsed.throttle, Switch::On);
        let throttle = parsed.throttle_config();
        assert_eq!(throttle, ThrottleConfig::default());
        assert_eq!(
            throttle.rate(auth_core::throttle::Scope::LoginAccount),
            Some(auth_core::throttle::Rate::per_minute(5))
        );
        assert_eq!(
            throttle.rate(auth_core::throttle::Scope::LoginIp),
            Some(auth_core::throttle::Rate::per_minute(20))
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["--framework=rocket"][..],
            &["--jwt-algorithm=none"],
            &["--jwt-algorithm=HS1"],
            &["--access-ttl=0"],
            &["--access-ttl=-5"],
            &["--refresh-ttl=soon"],
            &["--refresh-ttl=99999999999999999"],
            &["--knox-ttl=99999999999999999"],
            &["--login-throttle=lots"],
            &["--login-throttle=5/min,many"],
            &["--throttle=maybe"],
            &["--throttle-rates=confirm_ip=30/min"],
            &["--throttle-rates=login_ip=lots"],
            &["--throttle-rates=login_ip"],
            &["--cache-ttl=3601"],
            &["--redis-tracking=3601"],
            &["--redis-tracking=on"],
            &["--hashing-reserve=-1"],
            &["--hashing-reserve=some"],
            &["--django-accept-until=tomorrow"],
            &["--django-accept-until=2027-01-31"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn login_throttle_forms() {
        let off: LoginThrottle = "off".parse().unwrap();
        assert_eq!(
            off.config().rate(auth_core::throttle::Scope::LoginAccount),
            None
        );
        assert_eq!(off.config().rate(auth_core::throttle::Scope::LoginIp), None);
        let one: LoginThrottle = "3/min".parse().unwrap();
        assert_eq!(
            one.config().rate(auth_core::throttle::Scope::LoginAccount),
            Some(auth_core::throttle::Rate::per_minute(3))
        );
        assert_eq!(
            one.config().rate(auth_core::throttle::Scope::LoginIp),
            Some(auth_core::throttle::Rate::per_minute(20))
        );
        let both: LoginThrottle = "3/min,10/min".parse().unwrap();
        assert_eq!(
            both.config().rate(auth_core::throttle::Scope::LoginIp),
            Some(auth_core::throttle::Rate::per_minute(10))
        );
    }

    #[test]
    fn throttle_settings_combine() {
        use auth_core::throttle::{Rate, Scope};
        let settings = |args: &[&str]| parse(args).unwrap().settings.throttle_config();
        let off = settings(&["--throttle=off", "--throttle-rates=login_ip=1/min"]);
        assert!(off.is_disabled(), "{off:?}");
        let rates = settings(&[
            "--login-throttle=3/min,10/min",
            "--throttle-rates=login_ip=50/min, register_ip=off ,email_ip=2/hour",
        ]);
        assert_eq!(rates.rate(Scope::LoginAccount), Some(Rate::per_minute(3)));
        assert_eq!(rates.rate(Scope::LoginIp), Some(Rate::per_minute(50)));
        assert_eq!(rates.rate(Scope::RegisterIp), None);
        assert_eq!(rates.rate(Scope::EmailIp), Some(Rate::per_hour(2)));
        assert_eq!(
            rates.rate(Scope::ResetEmail),
            Some(Scope::ResetEmail.default_rate())
        );
        let login_off = settings(&["--login-throttle=off"]);
        assert_eq!(login_off.rate(Scope::LoginAccount), None);
        assert_eq!(
            login_off.rate(Scope::RegisterIp),
            Some(Scope::RegisterIp.default_rate()),
            "AUTH_LOGIN_THROTTLE=off leaves the other limits on"
        );
        let err = parse(&["--throttle-rates=confirm_ip=30/min"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown throttle scope \"confirm_ip\""),
            "{err}"
        );
        let err = parse(&["--throttle-rates=login_ip=lots"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("login_ip") && err.contains("lots"), "{err}");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn create_superuser_subcommand() {
        let cli = parse(&[
            "--database-url=sqlite://x.db",
            "create-superuser",
            "--username=root",
            "--email=root@example.com",
            "--password=correct horse battery",
        ])
        .unwrap();
        let Some(Command::CreateSuperuser {
            username,
            email,
            password,
        }) = cli.command
        else {
            panic!("no subcommand parsed");
        };
        assert_eq!(username, "root");
        assert_eq!(email, "root@example.com");
        assert_eq!(
            password.as_ref().map(Secret::expose),
            Some("correct horse battery")
        );
        assert_eq!(cli.settings.database_url.expose(), "sqlite://x.db");
        assert!(parse(&["create-superuser", "--username=x"]).is_err());

        // The server's flags may also follow the subcommand, as
        // `manage.py createsuperuser --database` takes its database.
        let cli = parse(&[
            "create-superuser",
            "--username=root",
            "--email=root@example.com",
            "--password=correct horse battery",
            "--database-url=postgres://u@h/db",
            "--redis-url=redis://127.0.0.1:6379",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::CreateSuperuser { .. })));
        assert_eq!(cli.settings.database_url.expose(), "postgres://u@h/db");
        assert_eq!(
            cli.settings.redis_url.as_ref().map(Secret::expose),
            Some("redis://127.0.0.1:6379")
        );
    }

    #[test]
    fn import_django_subcommand() {
        let cli = parse(&[
            "import-django",
            "--from=sqlite:///srv/django/db.sqlite3",
            "--dry-run",
        ])
        .unwrap();
        let Some(Command::ImportDjango {
            from,
            dry_run,
            user_table,
            columns,
        }) = cli.command
        else {
            panic!("no subcommand parsed");
        };
        assert_eq!(from.expose(), "sqlite:///srv/django/db.sqlite3");
        assert!(dry_run);
        assert_eq!(user_table, "auth_user");
        assert!(columns.is_empty());
        assert!(parse(&["import-django"]).is_err(), "--from is required");

        let cli = parse(&[
            "import-django",
            "--from=sqlite://db.sqlite3",
            "--user-table=accounts_member",
            "--column=username=login",
            "--column",
            "email=mail",
        ])
        .unwrap();
        let Some(Command::ImportDjango {
            user_table,
            columns,
            ..
        }) = cli.command
        else {
            panic!("no subcommand parsed");
        };
        assert_eq!(user_table, "accounts_member");
        assert_eq!(
            columns,
            [
                (auth_django::UserField::Username, "login".to_owned()),
                (auth_django::UserField::Email, "mail".to_owned()),
            ]
        );
        for bad in [
            "--column=login",
            "--column=nickname=nick",
            "--column=email=",
        ] {
            assert!(
                parse(&["import-django", "--from=sqlite://db.sqlite3", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let cli = parse(&[
            "--jwt-secret=0123456789abcdef0123456789abcdef-topsecret",
            "--django-secret-key=django-insecure-djangosecret",
            "--database-url=postgres://app:dbpass@h/db",
            "create-superuser",
            "--username=root",
            "--email=root@example.com",
            "--password=hunter2-long-password",
        ])
        .unwrap();
        let debug = format!("{cli:?}");
        for secret in ["topsecret", "djangosecret", "dbpass", "hunter2"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert_eq!(cli.settings.database_display(), "postgres://app:***@h/db");
    }

    #[test]
    fn redacts_urls() {
        assert_eq!(redact_url("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url("smtp://u@h:25"), "smtp://u@h:25");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("postgres://h/db?password=x@y"),
            "postgres://h/db?..."
        );
    }
}
