//! [`ReadConnections`]: a few connections kept out of the pool for the
//! store's hot single-statement reads.
//!
//! sqlx 0.8 checks every connection given back to its pool with a ping.
//! For SQLite a ping is a round trip to the connection's worker thread, as
//! the query itself is, so a one-statement read through the pool wakes a
//! worker thread twice. The reads that authenticate a request (`GET /me`
//! and every other authenticated route) go through [`ReadConnections`]
//! instead: a connection detached from the pool is taken from a short
//! list, used for the one statement and put back, with no ping. A
//! statement that fails, or a read that is cancelled half way, drops its
//! connection (closing it) rather than putting back a connection in an
//! unknown state.
//!
//! At most `limit` connections are kept; when all are in use the read goes
//! through the pool as before. Detached connections do not count against
//! the pool's `max_connections`, so the store may hold up to `limit` more
//! connections than the pool's maximum.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::SqliteConnection;
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqlitePool, SqliteRow};

/// Connections detached from a pool for one-statement reads; see the
/// module documentation.
#[derive(Debug)]
pub(super) struct ReadConnections {
    /// At most this many connections are kept (idle or in use); 0 sends
    /// every read through the pool.
    limit: usize,
    /// Connections kept, idle and in use.
    kept: AtomicUsize,
    /// The idle ones; the lock is held only to push or pop.
    idle: Mutex<Vec<SqliteConnection>>,
}

impl ReadConnections {
    /// Keeps at most `limit` connections (0: none).
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            kept: AtomicUsize::new(0),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// How many connections may be kept.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// Runs `query` for at most one row on a kept connection, or through
    /// `pool` when none can be had.
    pub(super) async fn fetch_optional<'q>(
        &self,
        pool: &SqlitePool,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> Result<Option<SqliteRow>, sqlx::Error> {
        let Some((lease, mut connection)) = self.lease(pool).await? else {
            return query.fetch_optional(pool).await;
        };
        let row = query.fetch_optional(&mut connection).await?;
        lease.give_back(connection);
        Ok(row)
    }

    /// Runs `query` for all its rows on a kept connection, or through
    /// `pool` when none can be had.
    pub(super) async fn fetch_all<'q>(
        &self,
        pool: &SqlitePool,
        query: Query<'q, Sqlite, SqliteArguments<'q>>,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let Some((lease, mut connection)) = self.lease(pool).await? else {
            return query.fetch_all(pool).await;
        };
        let rows = query.fetch_all(&mut connection).await?;
        lease.give_back(connection);
        Ok(rows)
    }

    /// An idle kept connection, or a new one detached from `pool` while
    /// fewer than `limit` are kept; `None` when the limit is reached or
    /// the pool is closed (the caller then uses the pool, which answers as
    /// a closed pool does).
    async fn lease(
        &self,
        pool: &SqlitePool,
    ) -> Result<Option<(Lease<'_>, SqliteConnection)>, sqlx::Error> {
        if self.limit == 0 {
            return Ok(None);
        }
        if pool.is_closed() {
            self.close_idle();
            return Ok(None);
        }
        if let Some(connection) = self.pop_idle() {
            return Ok(Some((Lease { home: self }, connection)));
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
        // From here the reservation is the lease's: it ends with it.
        let lease = Lease { home: self };
        let connection = pool.acquire().await?.detach();
        Ok(Some((lease, connection)))
    }

    /// The idle list; a panic while it was held (there is none in the
    /// code that holds it) would leave it whole, so poisoning is ignored.
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pop_idle(&self) -> Option<SqliteConnection> {
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
struct Lease<'a> {
    home: &'a ReadConnections,
}

impl Lease<'_> {
    fn give_back(self, connection: SqliteConnection) {
        self.home.idle().push(connection);
        std::mem::forget(self);
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.home.kept.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::*;

    /// A pool of at most `max` connections on a fresh file with one table
    /// of one row, and the file's path (removed by the caller).
    async fn file_pool(name: &str, max: u32) -> (SqlitePool, std::path::PathBuf) {
        let dir = std::env::temp_dir().join("auth-store-sqlx-reads");
        std::fs::create_dir_all(&dir).expect("creating the temp directory");
        let path = dir.join(format!("{name}-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
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
        reads: &ReadConnections,
        pool: &SqlitePool,
    ) -> Result<Option<SqliteRow>, sqlx::Error> {
        reads
            .fetch_optional(pool, sqlx::query("SELECT n FROM t"))
            .await
    }

    fn counts(reads: &ReadConnections) -> (usize, usize) {
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
        let reads = Arc::new(ReadConnections::new(2));
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
        let reads = ReadConnections::new(2);
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
        let reads = ReadConnections::new(1);
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
        let reads = ReadConnections::new(2);
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
        let reads = ReadConnections::new(0);
        let row = read(&reads, &pool).await.expect("reading");
        assert!(row.is_some());
        assert_eq!(counts(&reads), (0, 0));
        assert_eq!(pool.size(), 1, "the pool's connection was not detached");
        pool.close().await;
        remove(&path);
    }
}
