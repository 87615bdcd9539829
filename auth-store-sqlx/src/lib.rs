//! SQL stores for `auth-core` over [sqlx]: one concrete store per database,
//! each implementing every store trait of [`auth_core::store`].
//!
//! | feature | store | database |
//! | --- | --- | --- |
//! | `sqlite` (default) | [`SqliteStore`] | an embedded SQLite file (or memory) |
//! | `postgres` | [`PostgresStore`] | PostgreSQL 12+ |
//! | `mysql` | [`MySqlStore`] | MySQL 8 or MariaDB 10.5+ |
//!
//! Each store keeps users, Knox and static tokens, JWT blacklists,
//! revoked rotation families and "tokens valid after" marks, throttle
//! counters and login history in its own tables (prefixed `auth_`). The
//! schema ships as migrations embedded in the crate
//! (`migrations/<database>/`), applied by each store's `migrate()`; queries
//! are built at run time, so building the crate needs no database.
//!
//! # Behaviour shared by the stores
//!
//! - **Case-insensitive uniqueness without collations.** Usernames and
//!   emails are stored beside their [`fold_case`](auth_core::user::fold_case)
//!   form, which has a unique index and is compared bytewise: "ÅSA" finds
//!   "åsa", while "straße" and "strasse", or "åsa" and "asa", are different
//!   users whatever the database's collation says. Listing searches match a
//!   literal substring of the folded username, email, first and last name.
//! - **Atomic where the contracts say so, in the database.** Unique indexes
//!   decide conflicts (reported as `StoreError::Conflict("username")`,
//!   `"email"`, `"digest"` or `"id"`); a blacklist insert is one insert
//!   whose outcome says who won (`ON CONFLICT DO NOTHING` and its row count;
//!   on MySQL the duplicate-key error); a throttle hit is one upsert (with
//!   a read of the row in the same short transaction on MySQL, which has no
//!   `RETURNING`); Knox inserts under a limit
//!   and static-token creation serialise per user, by locking the user's row
//!   in `auth_user_locks` (PostgreSQL, MySQL) or by `BEGIN IMMEDIATE`
//!   (SQLite). A transaction that deadlocks (PostgreSQL, MySQL) is run
//!   again, up to three times.
//! - **Users may live elsewhere.** No foreign keys tie tokens, revocations
//!   or history to `auth_users`, so a deployment can keep users in its own
//!   store and tokens in these tables.
//! - **Time** round-trips at microsecond precision (`TIMESTAMPTZ`,
//!   `DATETIME(6)`, or integer microseconds since the Unix epoch in SQLite).
//! - **Failures.** The stores fail with one error enum, [`SqlxStoreError`],
//!   wrapping the sqlx error; it converts into
//!   [`StoreError`](auth_core::StoreError) keeping it as the source. A pool
//!   timeout, a closed pool, an I/O or TLS failure, or the server saying it
//!   is shutting down becomes `StoreError::Unavailable`, which the service
//!   answers with 503. The pool's acquire timeout ([`PoolSettings`], 5 s by
//!   default) bounds how long a request waits for a database that is down,
//!   and the pool reconnects by itself once it is back.
//! - **Reads that authenticate a request** run on a few connections kept
//!   beside the pool, sparing sqlx's ping on every release (each store's
//!   `with_read_connections` says why and how).
//! - **No secrets in `Debug`.** A store's `Debug` shows its pool's size,
//!   never the connection URL or a record.
//!
//! The driver is re-exported as [`sqlx`] so that connection options and
//! pools come from the matching version.
//!
//! # Using a store with the service
//!
//! A store implements every trait, so one value serves the whole service:
//! hand it to `auth_core::Auth::builder(...).store(...)`, which erases it to
//! `Arc<dyn Trait>` per concern. Run the migrations first.
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_core::{Auth, config::AuthConfig};
//! use auth_store_sqlx::SqliteStore;
//!
//! let store = SqliteStore::connect("sqlite://auth.db").await?;
//! store.migrate().await?;
//! let auth = Auth::builder(AuthConfig::default())
//!     .store(Arc::new(store))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! Stores can also be mixed, e.g. users in PostgreSQL next to the
//! application's own tables, everything else in another store:
//!
//! ```no_run
//! # #[cfg(all(feature = "sqlite", feature = "postgres"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_core::{Auth, config::AuthConfig};
//! use auth_store_sqlx::{PostgresStore, SqliteStore};
//!
//! let users = PostgresStore::connect("postgres://app@db.internal/app").await?;
//! users.migrate().await?;
//! let tokens = SqliteStore::connect("sqlite://tokens.db").await?;
//! tokens.migrate().await?;
//! let auth = Auth::builder(AuthConfig::default())
//!     .store(Arc::new(tokens))
//!     .users(Arc::new(users))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! # Tables
//!
//! | table | holds | looked up by |
//! | --- | --- | --- |
//! | `auth_users` | users, with the folded username, email and names | id; folded username; folded email (both unique); legacy (Django) id (unique, any number of NULLs); `(date_joined, id)` for listings |
//! | `auth_knox_tokens` | Knox token digests | digest (primary key); `token_key`; `(user_id, created)`; `expiry` for purging |
//! | `auth_static_tokens` | static token digests and seeds (no seed for an imported DRF key) | user id (primary key); digest (unique) |
//! | `auth_jwt_blacklist` | blacklisted jtis | jti (primary key); `expires_at` for purging |
//! | `auth_jwt_revoked_families` | revoked rotation families | family (primary key); `expires_at` for purging |
//! | `auth_jwt_valid_after` | per-user "tokens valid after" marks | user id (primary key) |
//! | `auth_throttle` | fixed-window counters | key (primary key); `resets_at` for sweeping |
//! | `auth_login_history` | login history | `(user_id, occurred_at, id)` |
//! | `auth_user_locks` | one row per user, locked to serialise that user's token inserts (not in SQLite) | user id (primary key) |
//!
//! `auth_user_locks` gains one 16-byte row per user who ever inserted a
//! Knox token under a limit or a static token. Rows are never deleted: a
//! deletion could slip between another transaction's lookup and its lock.
//!
//! Ended throttle windows are swept by the store itself every few thousand
//! hits; expired Knox tokens, revocations, ended windows and login history
//! past its retention go when the service's `Auth::clear_expired` runs
//! (on its own every `AuthConfig::cleanup_interval` when that is set).
//!
//! # Migrations and your own
//!
//! sqlx records applied migrations in `_sqlx_migrations` in the current
//! schema (PostgreSQL) or database (MySQL). These stores ignore entries
//! they do not know, so they can share it with an application's own
//! migrations; the application's migrator, though, will complain about
//! ours unless it ignores missing migrations too
//! (`Migrator::set_ignore_missing(true)`). The simplest arrangement is a
//! schema or database of its own for the auth tables.

// The crate docs link every store; without all three features some links
// have no target.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(rustdoc::broken_intra_doc_links)
)]

pub use sqlx;

// Without a database feature only `PoolSettings` is used.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_imports, unused_macros)
)]
mod common;

pub use common::{DEFAULT_READ_CONNECTIONS, PoolSettings};

mod error;
pub use error::{InvalidPoolSettings, SqlxStoreError};

// The pieces every store is built from, and the store traits' queries,
// each written once for the three stores.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod history;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod jwt_revocation;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod kept;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod knox;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod oauth_applications;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod oauth_codes;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod oauth_consents;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod oauth_sessions;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod oauth_tokens;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod rows;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod static_tokens;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod store;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod throttle;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod users;

#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "mysql")]
pub use mysql::MySqlStore;
