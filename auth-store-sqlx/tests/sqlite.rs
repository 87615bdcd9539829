//! [`SqliteStore`]: the whole store conformance suite on a fresh database
//! file per test (WAL, as deployed), again on [`SqliteStore::memory`], and
//! SQLite-specific behaviour.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use auth_core::StoreError;
use auth_core::store::{JwtRevocationStore, ThrottleStore, UserStore};
use auth_core::testkit::{now, unique};
use auth_core::user::{User, UserId};
use auth_store_sqlx::sqlx;
use auth_store_sqlx::{PoolSettings, SqliteStore};

/// A path for a new database file, removed (with its WAL files) when the
/// test's runtime shuts down.
fn temp_db_path() -> PathBuf {
    let dir = std::env::temp_dir().join("auth-store-sqlx-tests");
    std::fs::create_dir_all(&dir).expect("creating the temp directory");
    let path = dir.join(format!("{}.db", support::test_name()));
    let doomed = path.clone();
    support::on_runtime_shutdown(move || {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut file = doomed.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    });
    path
}

/// A migrated store on a fresh database file.
async fn file_store() -> SqliteStore {
    let url = format!("sqlite://{}", temp_db_path().display());
    let store = SqliteStore::connect(&url)
        .await
        .expect("opening the database file failed");
    store.migrate().await.expect("migrating failed");
    store
}

auth_core::store_conformance_tests!(all; file_store());
auth_core::service_conformance_tests!(async {
    auth_core::Stores::all_in(std::sync::Arc::new(file_store().await))
});

/// The suite again on the in-memory database.
mod memory {
    use super::*;

    auth_core::store_conformance_tests!(all; async {
        SqliteStore::memory().await.expect("the in-memory store failed")
    });
}

/// `connect` creates the file on first use, in WAL mode with a busy
/// timeout, and `migrate` is idempotent.
#[tokio::test]
async fn connect_creates_the_file_in_wal_mode() {
    let path = temp_db_path();
    assert!(!path.exists());
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    assert!(path.exists(), "the database file is created on first use");
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrating again is a no-op");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("PRAGMA journal_mode");
    assert_eq!(mode, "wal");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .expect("PRAGMA busy_timeout");
    assert_eq!(busy, 5000);
}

/// Two stores on one file see each other's writes, and the data outlives
/// the store that wrote it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_share_everything() {
    let path = temp_db_path();
    let options = SqliteStore::file_options(&path);
    let one = SqliteStore::connect_with(options.clone(), PoolSettings::default())
        .await
        .expect("first store");
    one.migrate().await.expect("migrate");
    let two = SqliteStore::connect_with(options.clone(), PoolSettings::default())
        .await
        .expect("second store");

    let ada = User::new_for_tests(&unique("ada_"), &format!("{}@example.com", unique("ada")));
    one.insert_user(&ada).await.expect("insert");
    assert_eq!(
        two.user_by_username(&ada.username.to_uppercase())
            .await
            .expect("lookup"),
        Some(ada.clone())
    );
    let entry = auth_core::store::BlacklistEntry {
        jti: unique("jti_"),
        user_id: ada.id,
        family: None,
        expires_at: now() + chrono::Duration::days(1),
        blacklisted_at: now(),
    };
    assert!(one.blacklist_jti(&entry).await.expect("blacklist"));
    assert!(!two.blacklist_jti(&entry).await.expect("blacklist again"));
    one.pool().close().await;
    drop(one);

    let three = SqliteStore::connect_with(options, PoolSettings::default())
        .await
        .expect("reopen");
    assert_eq!(three.user_by_id(ada.id).await.expect("lookup"), Some(ada));
}

/// A database that cannot be opened is reported, not a panic; a lazily
/// built store on it answers `Unavailable`.
#[tokio::test]
async fn an_unopenable_file_is_unavailable() {
    let missing_dir = std::env::temp_dir()
        .join(unique("auth-store-sqlx-missing-"))
        .join("auth.db");
    let options = SqliteStore::file_options(&missing_dir);
    let err = SqliteStore::connect_with(options.clone(), PoolSettings::default())
        .await
        .expect_err("the directory does not exist");
    let err: StoreError = err.into();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    let store = SqliteStore::connect_lazy_with(
        options,
        PoolSettings::default().acquire_timeout(Duration::from_secs(1)),
    )
    .expect("a lazy store builds");
    let result = store.user_by_username("ada").await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

/// Ended throttle windows can be purged; open ones stay.
#[tokio::test]
async fn ended_throttle_windows_are_purged() {
    let store = SqliteStore::memory().await.expect("memory store");
    let t = now();
    let window = chrono::Duration::seconds(10);
    let (ended, open) = (unique("ended:"), unique("open:"));
    store
        .throttle_hit(&ended, window, t - chrono::Duration::seconds(60))
        .await
        .expect("hit");
    store.throttle_hit(&open, window, t).await.expect("hit");
    assert_eq!(
        store.purge_ended_throttle_windows(t).await.expect("purge"),
        1
    );
    assert_eq!(
        store
            .throttle_peek(&open, t)
            .await
            .expect("peek")
            .map(|c| c.count),
        Some(1)
    );
}

/// `Debug` shows the pool, not the path or any record.
#[tokio::test]
async fn debug_shows_no_path_or_data() {
    let path = temp_db_path();
    let store =
        SqliteStore::connect_with(SqliteStore::file_options(&path), PoolSettings::default())
            .await
            .expect("connect");
    let debug = format!("{store:?}");
    assert!(debug.starts_with("SqliteStore"), "{debug}");
    assert!(!debug.contains("auth_test_"), "{debug}");
    assert!(debug.contains("read_connections: 0"), "{debug}");
}

/// `connect` on a file keeps connections for the reads that authenticate
/// a request; an in-memory store never does (a connection detached from
/// its pool would take the database with it).
#[tokio::test]
async fn only_a_file_store_keeps_read_connections() {
    let store = file_store().await;
    let kept = format!(
        "read_connections: {}",
        auth_store_sqlx::DEFAULT_READ_CONNECTIONS
    );
    assert!(format!("{store:?}").contains(&kept), "{store:?}");
    assert!(
        format!("{:?}", SqliteStore::memory().await.expect("memory store"))
            .contains("read_connections: 0")
    );
    let memory = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("memory store");
    assert!(format!("{memory:?}").contains("read_connections: 0"));
}

/// A store in a new database file with only the first migration applied.
async fn store_at_the_first_migration() -> SqliteStore {
    let url = format!("sqlite://{}", temp_db_path().display());
    let store = SqliteStore::connect(&url)
        .await
        .expect("opening the database file failed");
    let before = support::first_migration_only("sqlite").await;
    before.run(store.pool()).await.expect("the first migration");
    store
}

/// #21.3: the migration that adds `email_verified` counts existing accounts
/// as verified when active or once logged in, and leaves one still waiting
/// for its activation link unverified.
#[tokio::test]
async fn the_email_verified_migration_backfills_existing_rows() {
    let store = store_at_the_first_migration().await;

    let mut ids = Vec::new();
    for (name, active, logged_in, _) in support::BACKFILL_CASES {
        let last_login = logged_in.then(|| now().timestamp_micros());
        let user = User::new_for_tests(name, &format!("{name}@example.com"));
        sqlx::query(
            "INSERT INTO auth_users (id, username, username_folded, email, email_folded, \
             first_name, first_name_folded, last_name, last_name_folded, is_active, is_staff, \
             is_superuser, date_joined, last_login, password_hash, profile) \
             VALUES (?1, ?2, ?2, ?3, ?3, '', '', '', '', ?4, 0, 0, ?5, ?6, NULL, '{}')",
        )
        .bind(user.id.0)
        .bind(name)
        .bind(format!("{name}@example.com"))
        .bind(active)
        .bind(now().timestamp_micros())
        .bind(last_login)
        .execute(store.pool())
        .await
        .expect("a row of the old schema");
        ids.push((name, user.id));
    }
    store.migrate().await.expect("migrating the rest");
    support::check_backfill(&store, &ids).await;
}

/// #24: the migration that lets an imported static token have no seed
/// makes the table again (SQLite cannot drop a `NOT NULL`); a token stored
/// before it keeps its user, digest, seed and time, and its digest stays
/// unique.
#[tokio::test]
async fn the_static_token_rebuild_keeps_existing_tokens() {
    use auth_core::store::{StaticTokenRecord, StaticTokenStore};

    let store = store_at_the_first_migration().await;
    let old = StaticTokenRecord {
        user_id: UserId::new(),
        digest: "d".repeat(64),
        seed: Some("5".repeat(32)),
        created: now(),
    };
    sqlx::query(
        "INSERT INTO auth_static_tokens (user_id, digest, seed, created) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(old.user_id.0)
    .bind(&old.digest)
    .bind(old.seed.as_deref())
    .bind(old.created.timestamp_micros())
    .execute(store.pool())
    .await
    .expect("a row of the old schema");
    store.migrate().await.expect("migrating the rest");

    assert_eq!(
        store.static_token_for_user(old.user_id).await.unwrap(),
        Some(old.clone())
    );
    let twin = StaticTokenRecord {
        user_id: UserId::new(),
        seed: None,
        ..old.clone()
    };
    assert!(matches!(
        store.get_or_insert_static_token(&twin).await,
        Err(StoreError::Conflict(field)) if field == "digest"
    ));
}
