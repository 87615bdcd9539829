//! [`MySqlStore`] against the MySQL or MariaDB server at
//! `AUTH_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`): the
//! whole store conformance suite, each test in a fresh database of its own,
//! plus MySQL-specific tests.
//!
//! A server that is down is started (`.ci/services.sh`); one that cannot be
//! reached fails the tests, unless `AUTH_TEST_SKIP=mysql` was set when they
//! were built, which marks them ignored (see `auth_core::testkit::services`).

mod support;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auth_core::StoreError;
use auth_core::store::{JwtRevocationStore, KnoxTokenStore, ThrottleStore, UserStore};
use auth_core::testkit::services::{self, Service};
use auth_core::testkit::{now, unique};
use auth_core::user::{User, UserId};
use auth_store_sqlx::sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use auth_store_sqlx::sqlx::{self, ConnectOptions, Connection};
use auth_store_sqlx::{DEFAULT_READ_CONNECTIONS, MySqlStore, PoolSettings};

const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// The test server's connection options, or why there are none.
fn server_options() -> Result<MySqlConnectOptions, String> {
    let url = std::env::var("AUTH_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    MySqlConnectOptions::from_str(&url).map_err(|err| format!("invalid AUTH_TEST_MYSQL_URL: {err}"))
}

/// Where the server is, for messages (never the password).
fn place(options: &MySqlConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

/// An administrative connection to the test server (started if it is down;
/// the test fails naming it when it cannot be reached).
async fn admin() -> (MySqlConnectOptions, MySqlConnection) {
    let options = server_options()
        .unwrap_or_else(|err| services::missing(Service::Mysql, "AUTH_TEST_MYSQL_URL", &err));
    let conn = services::connect(Service::Mysql, &place(&options), || async {
        match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
            Ok(result) => result.map_err(|err| err.to_string()),
            Err(_) => Err("timed out after 5 s".to_owned()),
        }
    })
    .await;
    (options, conn)
}

/// Drops test databases left over by aborted runs, once per test binary.
async fn sweep_stale_databases(conn: &mut MySqlConnection) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let names: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT CAST(schema_name AS BINARY) FROM information_schema.schemata \
         WHERE schema_name LIKE 'auth!_test!_%' ESCAPE '!'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for name in names
        .iter()
        .filter_map(|name| std::str::from_utf8(name).ok())
    {
        if support::is_stale(name) {
            let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{name}`"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// Creates a fresh database, dropped again when the test's runtime shuts
/// down; returns the server's options pointing at it.
async fn fresh_database() -> MySqlConnectOptions {
    let (options, mut conn) = admin().await;
    sweep_stale_databases(&mut conn).await;
    let name = support::test_name();
    sqlx::raw_sql(&format!(
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .execute(&mut conn)
    .await
    .expect("CREATE DATABASE failed");
    let _ = conn.close().await;
    let cleanup_options = options.clone();
    let cleanup_name = name.clone();
    support::on_runtime_shutdown(move || {
        support::block_on(async move {
            match cleanup_options.connect().await {
                Ok(mut conn) => {
                    let sql = format!("DROP DATABASE IF EXISTS `{cleanup_name}`");
                    if let Err(err) = sqlx::raw_sql(&sql).execute(&mut conn).await {
                        eprintln!("cleanup: dropping database {cleanup_name} failed: {err}");
                    }
                    let _ = conn.close().await;
                }
                Err(err) => eprintln!("cleanup: cannot connect to drop {cleanup_name}: {err}"),
            }
        });
    });
    options.database(&name)
}

/// Small pools: tests run in parallel on a server others use too.
fn test_settings() -> PoolSettings {
    PoolSettings::default().max_connections(6)
}

/// A migrated store in a fresh database, with connections kept for reads as
/// [`MySqlStore::connect`] keeps them.
async fn fresh_store() -> MySqlStore {
    let options = fresh_database().await;
    let store = MySqlStore::connect_with(options, test_settings())
        .await
        .expect("connecting the store failed");
    store.migrate().await.expect("migrating failed");
    store.with_read_connections(DEFAULT_READ_CONNECTIONS)
}

auth_core::store_conformance_tests!(#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")] all; fresh_store());
auth_core::service_conformance_tests!(#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")] => async {
    auth_core::Stores::all_in(std::sync::Arc::new(fresh_store().await))
});

/// A store whose server is not listening fails with `Unavailable` within
/// the acquire timeout, and building it lazily does not fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_unavailable_within_the_acquire_timeout() {
    let options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(1)
        .username("root");
    let timeout = Duration::from_secs(1);
    let store =
        MySqlStore::connect_lazy_with(options, PoolSettings::default().acquire_timeout(timeout))
            .expect("a lazy store builds without a server");
    let started = Instant::now();
    let result = store.user_by_id(UserId::new()).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "expected Unavailable, got {result:?}"
    );
    assert!(
        elapsed < timeout + Duration::from_secs(2),
        "Unavailable came after {elapsed:?}, the acquire timeout is {timeout:?}"
    );
}

/// Keys compare bytewise: values that a collation would call equal
/// (trailing spaces, accents) are different jtis and throttle keys, and
/// folded usernames too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn keys_compare_bytewise() {
    let store = fresh_store().await;
    let t = now();
    let base = unique("jti_");
    for jti in [
        base.clone(),
        format!("{base} "),
        format!("{base}é"),
        format!("{base}e"),
    ] {
        let entry = auth_core::store::BlacklistEntry {
            jti: jti.clone(),
            user_id: UserId::new(),
            family: None,
            expires_at: t + chrono::Duration::days(1),
            blacklisted_at: t,
        };
        assert!(
            store.blacklist_jti(&entry).await.expect("blacklist"),
            "{jti:?} is a jti of its own"
        );
    }
    let key = unique("login:");
    let window = chrono::Duration::minutes(1);
    store.throttle_hit(&key, window, t).await.expect("hit");
    assert_eq!(
        store
            .throttle_hit(&format!("{key} "), window, t)
            .await
            .expect("hit")
            .count,
        1,
        "a trailing space makes another key"
    );
    let tag = unique("");
    for name in [format!("a_{tag}"), format!("a_{tag} ")] {
        let user = User::new_for_tests(&name, &format!("{}@example.com", unique("u")));
        store
            .insert_user(&user)
            .await
            .unwrap_or_else(|err| panic!("{name:?} is a username of its own: {err:?}"));
    }
    assert!(
        store
            .knox_tokens_by_key(&format!("{key} "))
            .await
            .expect("lookup")
            .is_empty()
    );
}

/// A jti too long for its column is an error, not silently cut (which
/// would make two long jtis with one prefix the same).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn an_overlong_jti_is_an_error() {
    let store = fresh_store().await;
    let t = now();
    let entry = auth_core::store::BlacklistEntry {
        jti: "j".repeat(300),
        user_id: UserId::new(),
        family: None,
        expires_at: t + chrono::Duration::days(1),
        blacklisted_at: t,
    };
    let result = store.blacklist_jti(&entry).await;
    assert!(matches!(result, Err(StoreError::Other(_))), "{result:?}");
}

/// A migrated store over `options` (a fresh database of its own), keeping
/// two connections for reads, holding one user.
async fn store_with_user(
    options: &MySqlConnectOptions,
    settings: PoolSettings,
) -> (MySqlStore, User) {
    let store = MySqlStore::connect_with(options.clone(), settings)
        .await
        .expect("connecting")
        .with_read_connections(2);
    store.migrate().await.expect("migrating");
    let ada = User::new_for_tests(&unique("ada_"), &format!("{}@example.com", unique("ada")));
    store.insert_user(&ada).await.expect("insert");
    (store, ada)
}

/// Kills, from `admin`, every connection whose current database is
/// `options`' (the store's own, fresh database); there must be some.
async fn kill_connections(
    admin: &mut MySqlConnection,
    options: &MySqlConnectOptions,
    round: usize,
) {
    let database = options.get_database().expect("the store's database");
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM information_schema.processlist WHERE db = ?")
            .bind(database)
            .fetch_all(&mut *admin)
            .await
            .expect("reading the process list");
    assert!(
        !ids.is_empty(),
        "round {round}: the store had connections to kill"
    );
    for id in ids {
        // One may have closed meanwhile: "Unknown thread id" is fine.
        let _ = sqlx::raw_sql(&format!("KILL CONNECTION {id}"))
            .execute(&mut *admin)
            .await;
    }
}

/// Killing every connection of the store from another connection does not
/// break it: operations fail with `Unavailable` at worst, and the store
/// replaces the connections, pooled and kept, by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn killed_connections_are_replaced() {
    let options = fresh_database().await;
    let settings = PoolSettings::default()
        .max_connections(3)
        .acquire_timeout(Duration::from_secs(1));
    let (store, ada) = store_with_user(&options, settings).await;
    store.user_by_id(ada.id).await.expect("reading");

    let (_, mut admin) = admin().await;
    for round in 0..3 {
        kill_connections(&mut admin, &options, round).await;
        let found = support::user_once_available(&store, ada.id, &format!("round {round}")).await;
        assert_eq!(
            found.as_ref(),
            Some(&ada),
            "round {round}: the store reads again"
        );
    }
    let _ = admin.close().await;
}

/// A connection idle past `test_after_idle` is pinged before use, whether
/// in the pool or kept for reads, so when the server has dropped every
/// connection meanwhile, the next operation still succeeds on its first
/// try (on a new connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn idle_connections_dropped_by_the_server_fail_nothing() {
    let options = fresh_database().await;
    let settings = PoolSettings::default()
        .max_connections(3)
        .test_after_idle(Duration::from_millis(50));
    let (store, ada) = store_with_user(&options, settings).await;
    // The reads below find a kept connection idle since this one.
    store.user_by_id(ada.id).await.expect("reading");

    let (_, mut admin) = admin().await;
    for round in 0..2 {
        kill_connections(&mut admin, &options, round).await;
        // Idle for longer than the window (and for the kills to land).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let found = store.user_by_id(ada.id).await.unwrap_or_else(|err| {
            panic!("round {round}: the first read after idling failed: {err:?}")
        });
        assert_eq!(found.as_ref(), Some(&ada), "round {round}");
        // The Knox and revocation reads take kept connections too.
        store.knox_tokens_by_key("nokey").await.expect("knox read");
        store
            .revocation_state(ada.id, None)
            .await
            .expect("revocation read");
    }
    let _ = admin.close().await;
}

/// `connect` keeps connections for the reads that authenticate a request;
/// the other constructors keep none unless asked.
#[tokio::test]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn connect_keeps_read_connections_and_connect_with_does_not() {
    let options = fresh_database().await;
    let url = std::env::var("AUTH_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    let store = MySqlStore::connect(&url).await.expect("connecting");
    let shown = format!("{store:?}");
    assert!(
        shown.contains(&format!("read_connections: {DEFAULT_READ_CONNECTIONS}")),
        "{shown}"
    );
    store.pool().close().await;
    let store = MySqlStore::connect_with(options, test_settings())
        .await
        .expect("connecting");
    let shown = format!("{store:?}");
    assert!(shown.contains("read_connections: 0"), "{shown}");
    assert!(format!("{:?}", store.with_read_connections(3)).contains("read_connections: 3"));
}

/// #21.3: the migration that adds `email_verified` counts existing accounts
/// as verified when active or once logged in, and leaves one still waiting
/// for its activation link unverified.
#[tokio::test]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn the_email_verified_migration_backfills_existing_rows() {
    let options = fresh_database().await;
    let store = MySqlStore::connect_with(options, test_settings())
        .await
        .expect("connecting the store failed");
    let before = support::first_migration_only("mysql").await;
    before.run(store.pool()).await.expect("the first migration");

    let mut ids = Vec::new();
    for (name, active, logged_in, _) in support::BACKFILL_CASES {
        let last_login = logged_in.then(now);
        let user = User::new_for_tests(name, &format!("{name}@example.com"));
        sqlx::query(
            "INSERT INTO auth_users (id, username, username_folded, email, email_folded, \
             first_name, first_name_folded, last_name, last_name_folded, is_active, is_staff, \
             is_superuser, date_joined, last_login, password_hash, profile) \
             VALUES (?, ?, ?, ?, ?, '', '', '', '', ?, FALSE, FALSE, ?, ?, NULL, '{}')",
        )
        .bind(user.id.0)
        .bind(name)
        .bind(name)
        .bind(format!("{name}@example.com"))
        .bind(format!("{name}@example.com"))
        .bind(active)
        .bind(now())
        .bind(last_login)
        .execute(store.pool())
        .await
        .expect("a row of the old schema");
        ids.push((name, user.id));
    }
    store.migrate().await.expect("migrating the rest");
    support::check_backfill(&store, &ids).await;
}
