//! [`SqlxStoreError`], the one error of the SQL stores, and how it becomes
//! a [`StoreError`]: which failures mean the database is unavailable, which
//! are a unique index refusing a row, which a deadlock worth a retry. The
//! codes that say so differ per database; they are all named here, so the
//! stores import this module and it imports none of them.

use auth_core::error::StoreError;
use auth_core::user::UserId;
use sqlx::error::DatabaseError;
use sqlx::migrate::MigrateError;

/// What a SQL store can fail with before the error becomes a
/// [`StoreError`] (which keeps it as its source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlxStoreError {
    /// The driver failed: opening or connecting to the database, the pool,
    /// a query, or decoding a stored value (e.g. a time out of range, text
    /// that is not UTF-8).
    #[error("database operation failed")]
    Sqlx(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migrating the schema failed")]
    Migrate(#[from] MigrateError),
    /// The store was given invalid pool settings.
    #[error("invalid store configuration")]
    Settings(#[from] InvalidPoolSettings),
    /// A lazily connecting store was built outside a Tokio runtime (sqlx
    /// spawns a pool's maintenance task when the pool is built).
    #[error("a lazily connecting store must be built within a Tokio runtime")]
    NoRuntime(#[source] tokio::runtime::TryCurrentError),
    /// A stored login history event has a name this version does not know.
    #[error("unknown login history event in the store")]
    UnknownHistoryEvent,
    /// The row locked to serialise a user's token inserts was deleted while
    /// the store was locking it (nothing in the crate deletes such rows).
    #[error("the lock row of user {0} disappeared while locking it")]
    LockRowVanished(UserId),
}

/// What [`PoolSettings::validate`](crate::PoolSettings::validate) refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPoolSettings {
    /// `max_connections` is zero.
    #[error("max_connections must be at least 1")]
    NoConnections,
    /// `min_connections` is above `max_connections`.
    #[error("min_connections ({min}) must not exceed max_connections ({max})")]
    MinAboveMax {
        /// The minimum asked for.
        min: u32,
        /// The maximum asked for.
        max: u32,
    },
    /// The acquire timeout is zero.
    #[error("acquire_timeout must be more than zero")]
    ZeroAcquireTimeout,
    /// The idle timeout is `Some(0)`.
    #[error("idle_timeout must be more than zero (or None)")]
    ZeroIdleTimeout,
    /// The maximum lifetime is `Some(0)`.
    #[error("max_lifetime must be more than zero (or None)")]
    ZeroMaxLifetime,
}

impl From<SqlxStoreError> for StoreError {
    /// A unique violation becomes `Conflict` (on the field its index
    /// protects, `"id"` when its name says nothing known); a database that
    /// cannot be reached, is shutting down or is busy past its timeout,
    /// and a pool that timed out or is closed, `Unavailable`; anything
    /// else `Other`. Both keep the error as their source.
    fn from(err: SqlxStoreError) -> Self {
        let driver = match &err {
            SqlxStoreError::Sqlx(err) => Some(err),
            SqlxStoreError::Migrate(
                MigrateError::Execute(err) | MigrateError::ExecuteMigration(err, _),
            ) => Some(err),
            _ => None,
        };
        if let SqlxStoreError::Sqlx(sqlx::Error::Database(db)) = &err
            && db.is_unique_violation()
        {
            return StoreError::Conflict(conflict_field(index_name(&**db), "id"));
        }
        auth_core::metrics::store_error("sqlx");
        if driver.is_some_and(is_unavailable) {
            StoreError::Unavailable(Box::new(err))
        } else {
            StoreError::Other(Box::new(err))
        }
    }
}

/// A driver error as a [`StoreError`].
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn db(err: sqlx::Error) -> StoreError {
    SqlxStoreError::Sqlx(err).into()
}

/// A driver error as a [`StoreError`], a unique violation becoming
/// `Conflict` on the field its index protects, `key` when the database's
/// name for it says nothing known (the table's primary key, which
/// PostgreSQL and MySQL name `..._pkey` and `PRIMARY`).
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn db_or_conflict(err: sqlx::Error, key: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            StoreError::Conflict(conflict_field(index_name(&**e), key))
        }
        _ => db(err),
    }
}

/// Whether a unique index refused the row.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn is_duplicate(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Whether `err` says the database could not be used at all for now (a
/// pool timeout, a connection lost, a server shutting down, a lock held
/// past SQLite's busy timeout), as opposed to rejecting a query.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_unavailable_code(&**db),
        sqlx::Error::Migrate(err) => match &**err {
            MigrateError::Execute(err) | MigrateError::ExecuteMigration(err, _) => {
                is_unavailable(err)
            }
            _ => false,
        },
        _ => false,
    }
}

/// [`is_unavailable`] for a server's error, by the codes of its database.
fn is_unavailable_code(db: &dyn DatabaseError) -> bool {
    #[cfg(feature = "sqlite")]
    if let Some(err) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        return sqlite_unavailable(err);
    }
    #[cfg(feature = "postgres")]
    if let Some(err) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return postgres_unavailable(err);
    }
    #[cfg(feature = "mysql")]
    if let Some(err) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return mysql_unavailable(err);
    }
    let _ = db;
    false
}

/// The name the database gives the index that refused a row: the
/// constraint (PostgreSQL), the key named in the message (MySQL), or the
/// message itself, which names the column (SQLite).
fn index_name(db: &dyn DatabaseError) -> Option<&str> {
    #[cfg(feature = "postgres")]
    if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return db.constraint();
    }
    #[cfg(feature = "mysql")]
    if db
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some()
    {
        return duplicate_key_name(db.message());
    }
    Some(db.message())
}

/// Whether a failed transaction is worth running again: a deadlock, or a
/// serialization failure under a stricter default isolation level
/// (PostgreSQL and MySQL; SQLite takes its write lock up front instead).
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn is_retryable(err: &StoreError) -> bool {
    let StoreError::Other(source) = err else {
        return false;
    };
    let Some(SqlxStoreError::Sqlx(sqlx::Error::Database(db))) = source.downcast_ref() else {
        return false;
    };
    #[cfg(feature = "postgres")]
    if let Some(err) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return matches!(err.code(), "40P01" | "40001");
    }
    #[cfg(feature = "mysql")]
    if let Some(err) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return err.number() == 1213;
    }
    let _ = db;
    false
}

#[cfg(feature = "sqlite")]
/// Whether SQLite's error says the database could not be used at all for
/// now: SQLITE_BUSY (a lock held past the busy timeout), SQLITE_LOCKED or
/// SQLITE_CANTOPEN, or one of their extended codes.
fn sqlite_unavailable(err: &sqlx::sqlite::SqliteError) -> bool {
    err.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 14))
}

#[cfg(feature = "postgres")]
/// Whether the server's error says it could not be used for now: class 08
/// (connection exception); 57P01-57P03 (the server is shutting down,
/// crashed or starting); 53300 (too many connections).
fn postgres_unavailable(err: &sqlx::postgres::PgDatabaseError) -> bool {
    let code = err.code();
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

#[cfg(feature = "mysql")]
/// Whether the server's error says it could not be used for now: 1040 too
/// many connections, 1053 server shutdown in progress, 1927 connection
/// killed (MariaDB), 4031 idle client disconnected.
fn mysql_unavailable(err: &sqlx::mysql::MySqlDatabaseError) -> bool {
    matches!(err.number(), 1040 | 1053 | 1927 | 4031)
}

#[cfg(feature = "mysql")]
/// The index a duplicate-key message names: `... for key 'name'` (MariaDB)
/// or `... for key 'table.name'` (MySQL 8).
fn duplicate_key_name(message: &str) -> Option<&str> {
    let (_, key) = message.rsplit_once(" for key '")?;
    let key = key.strip_suffix('\'').unwrap_or(key);
    Some(key.rsplit_once('.').map_or(key, |(_, name)| name))
}

/// The field a unique index protects, from the index, constraint or column
/// name the database reported; `fallback` when the name says nothing known.
fn conflict_field(name: Option<&str>, fallback: &str) -> String {
    let name = name.unwrap_or_default().to_ascii_lowercase();
    for field in ["username", "email", "legacy_id", "digest", "jti", "family"] {
        if name.contains(field) {
            return field.to_owned();
        }
    }
    fallback.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_named_by_field() {
        assert_eq!(
            conflict_field(Some("auth_users_username_folded_key"), "id"),
            "username"
        );
        assert_eq!(
            conflict_field(Some("auth_users.email_folded"), "id"),
            "email"
        );
        assert_eq!(
            conflict_field(Some("UNIQUE constraint failed: auth_users.legacy_id"), "id"),
            "legacy_id"
        );
        assert_eq!(conflict_field(Some("PRIMARY"), "id"), "id");
        assert_eq!(conflict_field(None, "digest"), "digest");
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn duplicate_key_names_are_parsed_from_both_servers() {
        assert_eq!(
            duplicate_key_name("Duplicate entry 'ada' for key 'auth_users_username_folded_key'"),
            Some("auth_users_username_folded_key")
        );
        assert_eq!(
            duplicate_key_name(
                "Duplicate entry 'x' for key 'auth_users.auth_users_email_folded_key'"
            ),
            Some("auth_users_email_folded_key")
        );
        assert_eq!(
            duplicate_key_name("Duplicate entry 'a for key 'b' for key 'PRIMARY'"),
            Some("PRIMARY")
        );
        assert_eq!(duplicate_key_name("something else"), None);
    }
}
