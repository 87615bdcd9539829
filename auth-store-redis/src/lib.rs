//! A Redis store for `auth-core`: Knox and static tokens, JWT revocation,
//! throttle counters and login history.
//!
//! [`RedisStore`] implements [`KnoxTokenStore`], [`StaticTokenStore`],
//! [`JwtRevocationStore`], [`ThrottleStore`] and [`LoginHistoryStore`],
//! and of the OAuth2 provider's stores [`OAuthCodeStore`],
//! [`OAuthTokenStore`] and [`BrowserSessionStore`] (applications and
//! consents stay in SQL, with the users). It
//! is the store for what changes on every request when a deployment runs
//! several server instances: a token logged out, a refresh token rotated or
//! a throttle counter bumped through one instance is seen by all of them at
//! once. It does not implement [`UserStore`]: users stay in SQL (the
//! `auth-store-sqlx` crate), which the service is given next to it.
//!
//! [`KnoxTokenStore`]: auth_core::store::KnoxTokenStore
//! [`StaticTokenStore`]: auth_core::store::StaticTokenStore
//! [`JwtRevocationStore`]: auth_core::store::JwtRevocationStore
//! [`ThrottleStore`]: auth_core::store::ThrottleStore
//! [`LoginHistoryStore`]: auth_core::store::LoginHistoryStore
//! [`UserStore`]: auth_core::store::UserStore
//! [`OAuthCodeStore`]: auth_core::store::OAuthCodeStore
//! [`OAuthTokenStore`]: auth_core::store::OAuthTokenStore
//! [`BrowserSessionStore`]: auth_core::store::BrowserSessionStore
//!
//! # Composition
//!
//! Users in PostgreSQL (the `auth-store-sqlx` crate), everything
//! per-request in Redis:
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth_core::{Auth, config::AuthConfig};
//! use auth_store_redis::{RedisStore, RedisStoreConfig};
//! use auth_store_sqlx::PostgresStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let users = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/shop").await?;
//! users.migrate().await?;
//! let config = RedisStoreConfig::default().with_key_prefix("shop:auth:")?;
//! let redis = Arc::new(RedisStore::with_config("redis://127.0.0.1:6379", config)?);
//!
//! let users = Arc::new(users);
//! let auth = Auth::builder(AuthConfig::default())
//!     .users(users.clone())
//!     .oauth_application_store(users.clone())
//!     .oauth_consent_store(users)
//!     .knox_store(redis.clone())
//!     .static_token_store(redis.clone())
//!     .revocation_store(redis.clone())
//!     .throttle_store(redis.clone())
//!     .history_store(redis.clone())
//!     .oauth_code_store(redis.clone())
//!     .oauth_token_store(redis.clone())
//!     .browser_session_store(redis.clone())
//!     .build()?;
//! # let _ = auth;
//! # Ok(()) }
//! ```
//!
//! The end-to-end suite runs the demo server on exactly this composition
//! (`tests/e2e`, backend `postgres_redis`), including two servers over the
//! same PostgreSQL schema and Redis prefix seeing each other's revocations.
//!
//! The store is built without connecting, inside a Tokio runtime with its
//! I/O and time drivers enabled (as `#[tokio::main]` sets up); clones (and
//! the `Arc`) share one multiplexed connection.
//!
//! # Connection, timeouts and errors
//!
//! - The first operation connects. Every operation, connecting included,
//!   ends within [`RedisStoreConfig::timeout`] (3 s by default); one that
//!   cannot reach Redis in time fails with
//!   [`StoreError::Unavailable`](auth_core::StoreError::Unavailable), which
//!   the service answers with 503. The connection reconnects by itself:
//!   once Redis is back, operations succeed again, nothing to restart.
//! - Anything else Redis reports is
//!   [`StoreError::Other`](auth_core::StoreError::Other). Either way the
//!   source is a [`RedisStoreError`], which keeps the client's
//!   [`redis::RedisError`].
//! - The client is re-exported as [`redis`], so applications use the same
//!   version (for [`RedisStore::from_client`]).
//!
//! # Tracked revocation reads
//!
//! Every JWT the service accepts is checked against its user's "tokens
//! valid after" mark and its rotation family, which costs a round trip to
//! Redis per request. [`RedisStoreConfig::with_tracking`] answers those
//! checks from memory instead, using Redis's server-assisted client-side
//! caching: the store reads the two keys over a second connection of its
//! own (RESP3, `CLIENT TRACKING ON`), keeps what it read, and Redis pushes an
//! invalidation over that connection the moment either key changes,
//! whoever changed it. The store's own writes are seen by its next read;
//! another instance's writes once their invalidation arrives (normally well
//! under a millisecond); a dropped tracking connection forgets everything;
//! and nothing is kept longer than the configured maximum age. Off by
//! default; the demo server turns it on (`AUTH_REDIS_TRACKING`).
//!
//! ```no_run
//! use auth_store_redis::{RedisStore, RedisStoreConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RedisStoreConfig::default()
//!     .with_tracking(RedisStoreConfig::DEFAULT_TRACKING_MAX_AGE)?;
//! let redis = RedisStore::with_config("redis://127.0.0.1:6379", config)?;
//! # let _ = redis;
//! # Ok(()) }
//! ```
//!
//! # Atomicity
//!
//! Every step a contract calls atomic is one Lua script (so the store does
//! not support Redis Cluster: the scripts touch keys they compute). Knox
//! inserts count the user's live tokens, evict or refuse, and insert in one
//! script; blacklisting a jti is an `EXISTS` and a write in one script, so
//! of concurrent calls exactly one gets `true`; a throttle hit increments
//! and, on a window's first hit, sets its end and expiry in one script; the
//! "tokens valid after" mark is a compare-and-set that only moves forward;
//! a static token's get-or-insert is one script. So are an OAuth2 code's
//! use, a refresh token's rotation, a token's insert (which checks its
//! family's revocation mark) and a family's revocation: a revocation and
//! a rotation racing it cannot leave a token of the family live.
//!
//! # Expiry and clocks
//!
//! The service judges expiry by its own [`Clock`](auth_core::Clock) and
//! passes `now` to the store; Redis drops keys by its own clock. The store
//! judges every contract by the `now` it is given (which tokens are live,
//! which throttle window is open), and uses Redis's expiry only to forget
//! records that are no longer needed:
//!
//! - A Knox token expires in Redis at its `expiry`. One whose expiry has
//!   already passed by Redis's clock when it is inserted (or touched) is
//!   not kept at all. So [`knox_tokens_by_key`] may leave out tokens whose
//!   expiry has passed (the caller checks expiry anyway), and
//!   [`purge_expired_knox_tokens`] has nothing to do and returns 0.
//! - Blacklist entries and revoked families expire at their `expires_at`
//!   plus [`RedisStoreConfig::expiry_grace`] (60 s by default), so a server
//!   whose clock is a little behind Redis's still sees a revocation until
//!   it considers the token expired. One written when its `expires_at` has
//!   already passed by Redis's clock is kept for the grace from the write
//!   (so concurrent blacklistings still admit exactly one) and indexed, and
//!   [`purge_expired_revocations`] deletes those; the others Redis drops by
//!   itself and the purge does not count them.
//! - A throttle window's hash expires one grace after `resets_at` (or after
//!   its first hit, if `resets_at` has already passed by Redis's clock).
//! - Per-user "tokens valid after" marks, static tokens and login history
//!   never expire. Each user's history is capped at
//!   [`RedisStoreConfig::history_cap`] entries (1000 by default): recording
//!   one more drops the oldest, and [`user_history`]'s `total` counts the
//!   entries kept.
//!
//! Keep the servers' and Redis's clocks in sync (NTP); the grace absorbs
//! skew up to its length.
//!
//! [`knox_tokens_by_key`]: auth_core::store::KnoxTokenStore::knox_tokens_by_key
//! [`purge_expired_knox_tokens`]: auth_core::store::KnoxTokenStore::purge_expired_knox_tokens
//! [`purge_expired_revocations`]: auth_core::store::JwtRevocationStore::purge_expired_revocations
//! [`user_history`]: auth_core::store::LoginHistoryStore::user_history
//!
//! # Key layout
//!
//! Every key starts with the configured prefix `{p}` (`auth:` by default;
//! see [`RedisStoreConfig::with_key_prefix`]). Times are microseconds since
//! the Unix epoch, as decimal strings; user ids are hyphenated UUIDs.
//!
//! | Key | Type | Holds | Expires |
//! | --- | --- | --- | --- |
//! | `{p}knox:digest:<digest>` | hash | a Knox token: `t` token key, `u` user, `c` created, `e` expiry, `l` last used, `n` name (the last three when set) | at `e` |
//! | `{p}knox:key:<token_key>` | set | the digests with that token key | with its last member |
//! | `{p}knox:user:<uuid>` | sorted set | the user's digests, scored by `created` | with its last member |
//! | `{p}static:user:<uuid>` | hash | the user's static token: `d` digest, `s` seed (none for an imported DRF key), `c` created | never |
//! | `{p}static:digest:<digest>` | string | the token's user | never |
//! | `{p}jwt:jti:<jti>` | hash | a blacklist entry: `u` user, `e` expires at, `b` blacklisted at, `f` family (when set) | grace after `e` |
//! | `{p}jwt:family:<family>` | hash | a revoked family: `u` user, `e` expires at | grace after `e` |
//! | `{p}jwt:expired` | sorted set | `j:<jti>` and `f:<family>` written already expired, scored by `e` | with its last member |
//! | `{p}jwt:valid_after:<uuid>` | string | the user's "tokens valid after" mark | never |
//! | `{p}throttle:<key>` | hash | a window: `c` count, `r` resets at | grace after `r` |
//! | `{p}history:<uuid>` | sorted set | `<20-digit sequence>:<JSON entry>`, scored by the entry's time | never (capped) |
//! | `{p}history:seq` | string | the sequence ordering entries of one instant | never |
//!
//! Set and sorted-set members whose record has expired are removed lazily
//! by the scripts that walk them. No key holds a token, only digests (and
//! static tokens' seeds, useless without the server's secret).
//!
//! Requires Redis 6.2 or later (tested with 7.0); Redis Cluster and TLS are
//! not supported.
//!
//! # Tests
//!
//! `cargo test -p auth-store-redis` runs the `auth-core` conformance suite
//! (`tests/conformance.rs`, and its JWT and service groups again on a
//! tracked store in `tests/tracking.rs`, beside tracking's own tests:
//! answers from memory, other instances' writes, a dropped connection, the
//! maximum age) and this store's own tests (`tests/redis.rs`:
//! several instances on one Redis, unreachable and silent servers,
//! reconnection, key layout and expiry, the history cap) against the Redis
//! at `AUTH_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). Each test
//! works under a key prefix of its own (`authtest:<random>:`) and deletes
//! its keys. A Redis that is down is started (`.ci/services.sh`); one that
//! cannot be reached fails the tests, unless they were built with
//! `AUTH_TEST_SKIP=redis`, which marks them ignored.

mod config;
mod error;
mod history;
mod jwt;
mod knox;
mod oauth_codes;
mod oauth_sessions;
mod oauth_tokens;
mod static_tokens;
mod store;
mod throttle;
mod tracking;

pub use config::RedisStoreConfig;
pub use error::RedisStoreError;
pub use redis;
pub use store::RedisStore;
