//! [`ReadConnections`]: a few connections kept out of a store's pool for
//! its hot one-statement reads. Why they exist (sqlx's ping on every
//! release, launchbadge/sqlx#1743) and how they follow the pool's rules is
//! documented once, on each store's `with_read_connections`.
//!
//! This is the one piece of the crate generic over `sqlx::Database`, and
//! it only acquires, pings and drops connections. The queries run in
//! methods written per database by [`impl_read_queries!`], over concrete
//! types like every other query here.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection, Database, Pool};

/// Connections detached from a pool for one-statement reads; see the
/// module documentation.
pub(crate) struct ReadConnections<DB: Database> {
    /// At most this many connections are kept (idle or in use); 0 sends
    /// every read through the pool.
    limit: usize,
    /// A connection idle for at least this long is pinged before its next
    /// read (`None`: never).
    ping_after_idle: Option<Duration>,
    /// Connections kept, idle and in use.
    kept: AtomicUsize,
    /// The idle ones; the lock is held only to push or pop.
    idle: Mutex<Vec<Kept<DB::Connection>>>,
}

/// An idle kept connection and its times.
struct Kept<C> {
    connection: C,
    /// When it was detached from the pool. The pool may have opened it
    /// earlier (sqlx does not say when), so a kept connection can outlive
    /// `max_lifetime` by the time it spent in the pool before.
    opened: Instant,
    /// When its last read ended.
    idle_since: Instant,
}

impl<DB: Database> ReadConnections<DB> {
    /// Keeps at most `limit` connections (0: none), pinging one idle for at
    /// least `ping_after_idle` before its next read.
    pub(crate) fn new(limit: usize, ping_after_idle: Option<Duration>) -> Self {
        Self {
            limit,
            ping_after_idle,
            kept: AtomicUsize::new(0),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// How many connections may be kept.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Room for `limit` connections (none kept yet), pinged as these are.
    pub(crate) fn with_limit(&self, limit: usize) -> Self {
        Self::new(limit, self.ping_after_idle)
    }

    /// A kept connection fit for a read, or a new one detached from `pool`
    /// while fewer than `limit` are kept; `None` when the limit is reached
    /// or the pool is closed (the caller then uses the pool, which answers
    /// as a closed pool does).
    pub(crate) async fn lease(
        &self,
        pool: &Pool<DB>,
    ) -> Result<Option<(Lease<'_, DB>, DB::Connection)>, sqlx::Error> {
        if self.limit == 0 {
            return Ok(None);
        }
        if pool.is_closed() {
            self.close_idle();
            return Ok(None);
        }
        while let Some(kept) = self.pop_idle() {
            // The lease owns the place from here: dropped without the
            // connection coming back, it gives the place up.
            let lease = Lease {
                home: self,
                opened: kept.opened,
            };
            if let Some(connection) = self.fit(pool, kept).await {
                return Ok(Some((lease, connection)));
            }
        }
        let reserved = self
            .kept
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |kept| {
                (kept < self.limit).then_some(kept + 1)
            })
            .is_ok();
        if !reserved {
            return Ok(None);
        }
        let lease = Lease {
            home: self,
            opened: Instant::now(),
        };
        let connection = pool.acquire().await?.detach();
        Ok(Some((lease, connection)))
    }

    /// `kept`'s connection if it may serve another read under the pool's
    /// rules; `None` when it is past the pool's lifetime or idle timeout or
    /// fails its ping (it is then dropped, so closed).
    async fn fit(&self, pool: &Pool<DB>, kept: Kept<DB::Connection>) -> Option<DB::Connection> {
        let Kept {
            mut connection,
            opened,
            idle_since,
        } = kept;
        let options = pool.options();
        let idle = idle_since.elapsed();
        let expired = options
            .get_max_lifetime()
            .is_some_and(|lifetime| opened.elapsed() >= lifetime)
            || options
                .get_idle_timeout()
                .is_some_and(|timeout| idle >= timeout);
        if expired {
            return None;
        }
        if self.ping_after_idle.is_some_and(|window| idle >= window) {
            let ping = tokio::time::timeout(options.get_acquire_timeout(), connection.ping());
            if !matches!(ping.await, Ok(Ok(()))) {
                return None;
            }
        }
        Some(connection)
    }

    /// The idle list; a panic while it was held (there is none in the
    /// code that holds it) would leave it whole, so poisoning is ignored.
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Kept<DB::Connection>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pop_idle(&self) -> Option<Kept<DB::Connection>> {
        self.idle().pop()
    }

    /// Drops (so closes) every idle kept connection.
    fn close_idle(&self) {
        let idle = std::mem::take(&mut *self.idle());
        self.kept.fetch_sub(idle.len(), Ordering::AcqRel);
    }
}

/// A kept connection's place while it is in use:
/// [`give_back`](Self::give_back) returns the connection to the idle list;
/// dropped without that (an error, a cancelled read), the connection has
/// been dropped (closed) too and no longer counts.
pub(crate) struct Lease<'a, DB: Database> {
    home: &'a ReadConnections<DB>,
    opened: Instant,
}

impl<DB: Database> Lease<'_, DB> {
    /// Puts `connection` back in the idle list, idle from now.
    pub(crate) fn give_back(self, connection: DB::Connection) {
        let kept = Kept {
            connection,
            opened: self.opened,
            idle_since: Instant::now(),
        };
        self.home.idle().push(kept);
        std::mem::forget(self);
    }
}

impl<DB: Database> Drop for Lease<'_, DB> {
    fn drop(&mut self) {
        self.home.kept.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Writes `fetch_optional` and `fetch_all` for one concrete
/// database: `query` runs on a kept connection, or through `pool` when none
/// can be had.
macro_rules! impl_read_queries {
    ($db:ty) => {
        impl $crate::kept::ReadConnections<$db> {
            /// Runs `query` for at most one row on a kept connection, or
            /// through `pool` when none can be had.
            pub(crate) async fn fetch_optional<'q>(
                &self,
                pool: &::sqlx::Pool<$db>,
                query: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>,
            ) -> Result<Option<<$db as ::sqlx::Database>::Row>, ::sqlx::Error> {
                let Some((lease, mut connection)) = self.lease(pool).await? else {
                    return query.fetch_optional(pool).await;
                };
                let row = query.fetch_optional(&mut connection).await?;
                lease.give_back(connection);
                Ok(row)
            }

            /// Runs `query` for all its rows on a kept connection, or
            /// through `pool` when none can be had.
            pub(crate) async fn fetch_all<'q>(
                &self,
                pool: &::sqlx::Pool<$db>,
                query: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>,
            ) -> Result<Vec<<$db as ::sqlx::Database>::Row>, ::sqlx::Error> {
                let Some((lease, mut connection)) = self.lease(pool).await? else {
                    return query.fetch_all(pool).await;
                };
                let rows = query.fetch_all(&mut connection).await?;
                lease.give_back(connection);
                Ok(rows)
            }
        }
    };
}
pub(crate) use impl_read_queries;

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::sync::Arc;

    use sqlx::Sqlite;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};

    use super::*;

    /// Kept connections for SQLite, never pinged.
    fn keeping(limit: usize) -> ReadConnections<Sqlite> {
        ReadConnections::new(limit, None)
    }

    /// A pool of at most `max` connections on a fresh file with one table
    /// of one row, and the file's path (removed by the caller).
    async fn file_pool(name: &str, max: u32) -> (SqlitePool, std::path::PathBuf) {
        file_pool_with(name, SqlitePoolOptions::new().max_connections(max)).await
    }

    /// [`file_pool`] with the given pool options.
    async fn file_pool_with(
        name: &str,
        pool_options: SqlitePoolOptions,
    ) -> (SqlitePool, std::path::PathBuf) {
        let dir = std::env::temp_dir().join("auth-store-sqlx-reads");
        std::fs::create_dir_all(&dir).expect("creating the temp directory");
        let path = dir.join(format!("{name}-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = pool_options
            .connect_with(options)
            .await
            .expect("opening the file");
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .expect("creating the table");
        sqlx::query("INSERT INTO t (n) VALUES (1)")
            .execute(&pool)
            .await
            .expect("inserting");
        (pool, path)
    }

    fn remove(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }

    /// The table's row, read through `reads`.
    async fn read(
        reads: &ReadConnections<Sqlite>,
        pool: &SqlitePool,
    ) -> Result<Option<SqliteRow>, sqlx::Error> {
        reads
            .fetch_optional(pool, sqlx::query("SELECT n FROM t"))
            .await
    }

    fn counts(reads: &ReadConnections<Sqlite>) -> (usize, usize) {
        let idle = reads
            .idle
            .lock()
            .map(|idle| idle.len())
            .unwrap_or(usize::MAX);
        (reads.kept.load(Ordering::Acquire), idle)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_keep_at_most_the_limit_and_see_writes() {
        let (pool, path) = file_pool("limit", 3).await;
        let reads = Arc::new(keeping(2));
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (reads, pool) = (reads.clone(), pool.clone());
                tokio::spawn(async move {
                    let query = sqlx::query("SELECT n FROM t");
                    let rows = reads.fetch_all(&pool, query).await.expect("reading");
                    assert_eq!(rows.len(), 1);
                    let (kept, idle) = counts(&reads);
                    assert!(kept <= 2 && idle <= 2, "kept {kept}, idle {idle}");
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a read panicked");
        }
        let (kept, idle) = counts(&reads);
        assert!((1..=2).contains(&kept), "kept {kept}");
        assert_eq!(idle, kept, "every kept connection is idle again");
        // A write through the pool is seen by the next read on a kept one.
        sqlx::query("UPDATE t SET n = 2")
            .execute(&pool)
            .await
            .expect("updating");
        let row = read(&reads, &pool)
            .await
            .expect("reading")
            .expect("one row");
        assert_eq!(sqlx::Row::get::<i64, _>(&row, "n"), 2);
        assert_eq!(
            counts(&reads),
            (kept, kept),
            "the read was on a kept connection"
        );
        pool.close().await;
        remove(&path);
    }

    #[tokio::test]
    async fn a_failed_statement_closes_its_connection() {
        let (pool, path) = file_pool("failed", 2).await;
        let reads = keeping(2);
        read(&reads, &pool).await.expect("reading");
        assert_eq!(counts(&reads), (1, 1));
        let err = reads
            .fetch_optional(&pool, sqlx::query("SELECT n FROM no_such_table"))
            .await;
        assert!(err.is_err());
        assert_eq!(counts(&reads), (0, 0), "the connection is not kept");
        pool.close().await;
        remove(&path);
    }

    #[tokio::test]
    async fn a_cancelled_read_gives_up_its_place() {
        let (pool, path) = file_pool("cancelled", 2).await;
        let reads = keeping(1);
        let (lease, connection) = reads
            .lease(&pool)
            .await
            .expect("leasing")
            .expect("a connection");
        assert_eq!(counts(&reads), (1, 0));
        // What a read dropped half way does: the connection and its lease go.
        drop(connection);
        drop(lease);
        assert_eq!(counts(&reads), (0, 0));
        read(&reads, &pool).await.expect("reading again");
        assert_eq!(counts(&reads), (1, 1));
        pool.close().await;
        remove(&path);
    }

    #[tokio::test]
    async fn a_closed_pool_closes_the_kept_connections() {
        let (pool, path) = file_pool("closed", 2).await;
        let reads = keeping(2);
        read(&reads, &pool).await.expect("reading");
        assert_eq!(counts(&reads), (1, 1));
        pool.close().await;
        let answer = read(&reads, &pool).await;
        assert!(
            matches!(answer, Err(sqlx::Error::PoolClosed)),
            "a closed pool answers no read"
        );
        assert_eq!(counts(&reads), (0, 0));
        remove(&path);
    }

    #[tokio::test]
    async fn a_limit_of_zero_reads_through_the_pool() {
        let (pool, path) = file_pool("zero", 1).await;
        let reads = keeping(0);
        let row = read(&reads, &pool).await.expect("reading");
        assert!(row.is_some());
        assert_eq!(counts(&reads), (0, 0));
        assert_eq!(pool.size(), 1, "the pool's connection was not detached");
        pool.close().await;
        remove(&path);
    }

    /// Marks the kept connection (a SQLite temp table belongs to one
    /// connection), then says whether the next read's connection carries
    /// the mark after `pause`.
    async fn same_connection_after(
        reads: &ReadConnections<Sqlite>,
        pool: &SqlitePool,
        pause: Duration,
    ) -> bool {
        reads
            .fetch_optional(
                pool,
                sqlx::query("CREATE TEMP TABLE IF NOT EXISTS mark (n INTEGER)"),
            )
            .await
            .expect("marking the kept connection");
        let marked = || reads.fetch_optional(pool, sqlx::query("SELECT n FROM temp.mark"));
        marked().await.expect("the mark is on the kept connection");
        assert_eq!(counts(reads), (1, 1));
        tokio::time::sleep(pause).await;
        marked().await.is_ok()
    }

    #[tokio::test]
    async fn a_kept_connection_past_the_pools_lifetime_is_replaced() {
        let options = SqlitePoolOptions::new()
            .max_connections(2)
            .max_lifetime(Duration::from_millis(200))
            .idle_timeout(None);
        let (pool, path) = file_pool_with("lifetime", options).await;
        let reads = keeping(1);
        assert!(
            same_connection_after(&reads, &pool, Duration::ZERO).await,
            "a young connection is kept"
        );
        assert!(
            !same_connection_after(&reads, &pool, Duration::from_millis(300)).await,
            "past the pool's max_lifetime the next read has a new connection"
        );
        pool.close().await;
        remove(&path);
    }

    #[tokio::test]
    async fn a_kept_connection_idle_past_the_pools_idle_timeout_is_replaced() {
        let options = SqlitePoolOptions::new()
            .max_connections(2)
            .max_lifetime(None)
            .idle_timeout(Duration::from_millis(200));
        let (pool, path) = file_pool_with("idle", options).await;
        let reads = keeping(1);
        assert!(
            same_connection_after(&reads, &pool, Duration::from_millis(50)).await,
            "a connection idle for less than the timeout is kept"
        );
        assert!(
            !same_connection_after(&reads, &pool, Duration::from_millis(300)).await,
            "idle past the pool's idle_timeout the next read has a new connection"
        );
        pool.close().await;
        remove(&path);
    }
}
