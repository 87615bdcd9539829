//! Helpers shared by the integration tests: names for per-test schemas and
//! databases, and cleanup when a test's runtime shuts down.

#![allow(dead_code)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_core::StoreError;
use auth_core::store::UserStore;
use auth_core::user::{User, UserId};

/// Per-test schemas and databases are named `auth_test_<unix seconds>_<hex>`.
pub(crate) const TEST_PREFIX: &str = "auth_test_";

/// Schemas or databases older than this are left over from an aborted run
/// and are dropped when a test binary starts.
pub(crate) const STALE_AFTER_SECS: u64 = 3600;

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A fresh schema or database name for one test.
pub(crate) fn test_name() -> String {
    format!(
        "{TEST_PREFIX}{}_{}",
        unix_secs(),
        auth_core::testkit::unique("")
    )
}

/// Whether `name` is a test schema or database created more than
/// [`STALE_AFTER_SECS`] ago.
pub(crate) fn is_stale(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(TEST_PREFIX) else {
        return false;
    };
    let Some((secs, _)) = rest.split_once('_') else {
        return false;
    };
    secs.parse::<u64>()
        .is_ok_and(|created| unix_secs().saturating_sub(created) > STALE_AFTER_SECS)
}

/// Runs `cleanup` when the current Tokio runtime shuts down (at the end of
/// a `#[tokio::test]`, after the test has dropped its store), on a thread of
/// its own so that it may block on a runtime of its own.
pub(crate) fn on_runtime_shutdown(cleanup: impl FnOnce() + Send + 'static) {
    struct Guard(Option<Box<dyn FnOnce() + Send>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(cleanup) = self.0.take()
                && std::thread::spawn(cleanup).join().is_err()
            {
                eprintln!("test cleanup panicked");
            }
        }
    }
    let guard = Guard(Some(Box::new(cleanup)));
    tokio::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
}

/// Runs `work` to completion on a new current-thread runtime (for cleanup
/// outside the test's runtime).
pub(crate) fn block_on<F: std::future::Future>(work: F) -> Option<F::Output> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime.block_on(work)),
        Err(err) => {
            eprintln!("cleanup: no runtime: {err}");
            None
        }
    }
}

/// User `id` read from `store` once the store answers: `Unavailable` is
/// tried again every 100 ms for up to 10 s (while the store replaces
/// connections the server dropped); any other error fails the test,
/// naming `what`.
pub(crate) async fn user_once_available(
    store: &dyn UserStore,
    id: UserId,
    what: &str,
) -> Option<User> {
    let started = Instant::now();
    loop {
        match store.user_by_id(id).await {
            Ok(found) => return found,
            Err(StoreError::Unavailable(_)) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("{what}: expected success or Unavailable, got {err:?}"),
        }
    }
}

/// The first migration of `database` (`sqlite`, `postgres`, `mysql`) alone,
/// read from a copy of its file: the schema as it was before later
/// migrations, to test what they do to existing rows.
pub(crate) async fn first_migration_only(
    database: &str,
) -> auth_store_sqlx::sqlx::migrate::Migrator {
    let first = "20261122000001_auth_store.sql";
    let dir = std::env::temp_dir().join(format!("{}-{database}-migrations", test_name()));
    std::fs::create_dir_all(&dir).expect("a migrations directory");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(database);
    std::fs::copy(source.join(first), dir.join(first)).expect("copying the first migration");
    let migrator = auth_store_sqlx::sqlx::migrate::Migrator::new(dir.as_path())
        .await
        .expect("reading the first migration");
    let _ = std::fs::remove_dir_all(&dir);
    migrator
}

/// The three accounts of the `email_verified` backfill test: `(username,
/// is_active, logged in before)`, and whether the migration must count
/// each as verified.
pub(crate) const BACKFILL_CASES: [(&str, bool, bool, bool); 3] = [
    ("active", true, false, true),
    ("returning", false, true, true),
    ("waiting", false, false, false),
];

/// Checks the backfill: each user of `ids` (named as in
/// [`BACKFILL_CASES`]) has the `email_verified` it must have.
pub(crate) async fn check_backfill(store: &dyn UserStore, ids: &[(&str, UserId)]) {
    for (name, id) in ids {
        let user = store
            .user_by_id(*id)
            .await
            .expect("user_by_id failed")
            .expect("the user is kept");
        let expected = BACKFILL_CASES
            .iter()
            .any(|(case, _, _, verified)| case == name && *verified);
        assert_eq!(user.email_verified, expected, "{name}");
    }
}
