//! What the three stores share that is not SQL: pool settings, search
//! patterns, number clamping, conflict naming, eviction planning and
//! retrying a deadlocked transaction.
//!
//! Nothing here is generic over `sqlx::Database`: the queries live in the
//! per-trait files, and only plain values pass through these helpers.

use std::future::Future;
use std::time::Duration;

use auth_core::error::StoreError;
use auth_core::store::HistoryEvent;
use auth_core::user::fold_case;
use chrono::{DateTime, Utc};

use crate::error::{InvalidPoolSettings, SqlxStoreError};

/// How many connections `SqliteStore::connect` (on a file),
/// `PostgresStore::connect` and `MySqlStore::connect` keep beside the pool
/// for the reads that authenticate a request (see their
/// `with_read_connections`).
pub const DEFAULT_READ_CONNECTIONS: usize = 4;

/// Pool settings shared by every store: how many connections, and how long a
/// request may wait for one before it fails with
/// [`StoreError::Unavailable`](auth_core::StoreError::Unavailable).
///
/// The defaults suit a web service: at most 10 connections, a 5 second
/// acquire timeout (a database that is down answers 503 after 5 s rather
/// than hanging a request), idle connections closed after 10 minutes, every
/// connection replaced after 30 minutes, and a connection that sat idle for
/// a second or more checked (pinged) before it is handed out, so
/// connections that the server dropped are replaced by themselves once it
/// is back. A connection in steady use is not pinged: the ping would cost
/// a round trip to the server per query, for a connection that answered a
/// moment ago (HikariCP skips its check within 500 ms for the same reason).
///
/// The settings are checked when a store is built (see
/// [`validate`](Self::validate)).
///
/// ```
/// use std::time::Duration;
/// use auth_store_sqlx::PoolSettings;
///
/// let settings = PoolSettings::default()
///     .max_connections(20)
///     .acquire_timeout(Duration::from_secs(2));
/// assert!(settings.validate().is_ok());
/// assert!(PoolSettings::default().max_connections(0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    pub(crate) max_connections: u32,
    pub(crate) min_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    test_before_acquire: bool,
    test_after_idle: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            test_before_acquire: true,
            test_after_idle: Duration::from_secs(1),
        }
    }
}

/// Builder methods that set one field each, named as the field.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        pub fn $field(mut self, $field: $ty) -> Self {
            self.$field = $field;
            self
        }
    )*};
}

impl PoolSettings {
    setters! {
        /// The most connections the pool opens (default 10; at least 1).
        max_connections: u32;

        /// Connections the pool keeps open even when idle (default 0; at most
        /// `max_connections`).
        min_connections: u32;

        /// How long an operation waits for a connection, including opening a
        /// new one, before it fails with `StoreError::Unavailable` (default 5 s;
        /// more than zero).
        acquire_timeout: Duration;

        /// Idle connections above `min_connections` are closed after this long
        /// (default 10 minutes; `None` never).
        idle_timeout: Option<Duration>;

        /// Connections are replaced after this long (default 30 minutes; `None`
        /// never).
        max_lifetime: Option<Duration>;

        /// Whether an idle connection is pinged before it is handed out
        /// (default `true`): a connection the server dropped is then replaced
        /// instead of failing a request. `SqliteStore`
        /// turns it off (see its `pool_settings`): nothing can drop a SQLite
        /// connection from outside.
        test_before_acquire: bool;

        /// With [`test_before_acquire`](Self::test_before_acquire) on, only
        /// connections idle for at least this long are pinged (default 1 s;
        /// zero pings every connection on every acquire, sqlx's own default).
        ///
        /// ```
        /// use std::time::Duration;
        /// use auth_store_sqlx::PoolSettings;
        ///
        /// // Ping before every query, whatever it costs.
        /// let settings = PoolSettings::default().test_after_idle(Duration::ZERO);
        /// # let _ = settings;
        /// ```
        test_after_idle: Duration;
    }

    /// How long a connection may sit idle before it is pinged on its next
    /// use (`None`: never pinged), for connections kept beside the pool.
    pub(crate) fn ping_after_idle(&self) -> Option<Duration> {
        self.test_before_acquire.then_some(self.test_after_idle)
    }

    /// The acquire timeout.
    pub fn get_acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The maximum number of connections.
    pub fn get_max_connections(&self) -> u32 {
        self.max_connections
    }

    /// Checks the settings: at least one connection, `min_connections` at
    /// most `max_connections`, and a non-zero acquire timeout.
    pub fn validate(&self) -> Result<(), InvalidPoolSettings> {
        if self.max_connections == 0 {
            return Err(InvalidPoolSettings::NoConnections);
        }
        if self.min_connections > self.max_connections {
            return Err(InvalidPoolSettings::MinAboveMax {
                min: self.min_connections,
                max: self.max_connections,
            });
        }
        if self.acquire_timeout.is_zero() {
            return Err(InvalidPoolSettings::ZeroAcquireTimeout);
        }
        if self.idle_timeout.is_some_and(|t| t.is_zero()) {
            return Err(InvalidPoolSettings::ZeroIdleTimeout);
        }
        if self.max_lifetime.is_some_and(|t| t.is_zero()) {
            return Err(InvalidPoolSettings::ZeroMaxLifetime);
        }
        Ok(())
    }
}

/// Every this many throttle hits through one store value, windows that
/// ended more than [`SWEEP_MARGIN`] before the hit are deleted.
pub(crate) const SWEEP_EVERY: u64 = 4096;

/// How long after its end a throttle window may be swept (leeway for clocks
/// of several servers that disagree a little).
pub(crate) const SWEEP_MARGIN: chrono::Duration = chrono::Duration::minutes(1);

/// How many times a transaction that hit a deadlock is run again.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
const MAX_RETRIES: u32 = 3;

/// Runs `attempt` until it succeeds, fails with an error `retryable` does
/// not accept, or has been retried [`MAX_RETRIES`] times.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) async fn retrying<T, F, Fut>(
    retryable: fn(&StoreError) -> bool,
    mut attempt: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(err) if retries < MAX_RETRIES && retryable(&err) => {
                retries += 1;
                tracing::debug!(retries, "retrying a store transaction after a deadlock");
            }
            result => return result,
        }
    }
}

/// Fails unless called within a Tokio runtime (sqlx spawns a pool's
/// maintenance task when the pool is built, and panics without one).
pub(crate) fn require_runtime() -> Result<(), SqlxStoreError> {
    tokio::runtime::Handle::try_current()
        .map(drop)
        .map_err(SqlxStoreError::NoRuntime)
}

/// The escape character of every `LIKE` pattern the stores build (not `\`,
/// which MySQL string literals would also treat as an escape).
pub(crate) const LIKE_ESCAPE: char = '!';

/// A `LIKE` pattern matching values that contain `needle` folded with
/// [`fold_case`], with `%`, `_` and the escape character matched literally.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let folded = fold_case(needle);
    let mut pattern = String::with_capacity(folded.len() + 2);
    pattern.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_') || c == LIKE_ESCAPE {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Whether `value` holds no NUL. PostgreSQL's `TEXT` refuses NUL (binding
/// one is an error) and SQLite's `LIKE` ends a pattern at the first NUL (so
/// `"ada\0x"` would find `"ada"`); a lookup or search by a value with one
/// finds nothing without asking the database, as the store contract says.
pub(crate) fn nul_free(value: &str) -> bool {
    !value.contains('\0')
}

/// A count or position for SQL: `u64` clamped to `i64::MAX`.
pub(crate) fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count read from SQL as a `u64` (a negative count cannot happen; it
/// reads as zero).
pub(crate) fn count_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The end of a throttle window that starts at `now`, saturating at
/// `latest` (the latest instant the database can store).
pub(crate) fn window_end(
    now: DateTime<Utc>,
    window: chrono::Duration,
    latest: DateTime<Utc>,
) -> DateTime<Utc> {
    now.checked_add_signed(window)
        .map_or(latest, |end| end.min(latest))
}

/// The history event stored under `name`.
pub(crate) fn parse_event(name: &str) -> Result<HistoryEvent, SqlxStoreError> {
    HistoryEvent::parse(name).ok_or(SqlxStoreError::UnknownHistoryEvent)
}

/// The oldest live token that an `EvictOldest(max)` insert deletes, given
/// the user's live tokens oldest first as `(created, digest)`: tokens up to
/// and including it (in that order) go, leaving `max - 1` of them so that
/// the new token makes `max` (`EvictOldest(0)` evicts every live token and
/// still stores the new one). `None` when nothing needs to go.
pub(crate) fn eviction_cutoff(
    live_oldest_first: &[(DateTime<Utc>, String)],
    max: u32,
) -> Option<(usize, &(DateTime<Utc>, String))> {
    let keep = usize::try_from(max).unwrap_or(usize::MAX).saturating_sub(1);
    let doomed = live_oldest_first.len().saturating_sub(keep);
    doomed
        .checked_sub(1)
        .and_then(|last| live_oldest_first.get(last))
        .map(|cutoff| (doomed, cutoff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards_and_fold_case() {
        assert_eq!(contains_pattern("ÅSA"), "%åsa%");
        assert_eq!(contains_pattern("50%_off\\!"), "%50!%!_off\\!!%");
        assert_eq!(contains_pattern(""), "%%");
    }

    #[test]
    fn numbers_clamp() {
        assert_eq!(clamp_i64(u64::MAX), i64::MAX);
        assert_eq!(clamp_i64(7), 7);
        assert_eq!(count_u64(-1), 0);
        assert_eq!(count_u64(3), 3);
    }

    #[test]
    fn window_end_saturates() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let latest = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert_eq!(
            window_end(now, chrono::Duration::seconds(60), latest),
            now + chrono::Duration::seconds(60)
        );
        assert_eq!(window_end(now, chrono::Duration::MAX, latest), latest);
        assert_eq!(
            window_end(now, chrono::Duration::days(36_500), latest),
            latest
        );
    }

    #[test]
    fn eviction_keeps_room_for_the_new_token() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let live: Vec<(DateTime<Utc>, String)> = (0..4).map(|i| (t, format!("d{i}"))).collect();
        assert_eq!(
            eviction_cutoff(&live, 3).map(|(n, c)| (n, &c.1[..])),
            Some((2, "d1"))
        );
        assert_eq!(eviction_cutoff(&live, 5), None);
        assert_eq!(
            eviction_cutoff(&live, 4).map(|(n, c)| (n, &c.1[..])),
            Some((1, "d0"))
        );
        assert_eq!(
            eviction_cutoff(&live, 0).map(|(n, c)| (n, &c.1[..])),
            Some((4, "d3"))
        );
        assert_eq!(
            eviction_cutoff(&live, 1).map(|(n, c)| (n, &c.1[..])),
            Some((4, "d3"))
        );
        assert_eq!(eviction_cutoff(&[], 0), None);
    }
}
