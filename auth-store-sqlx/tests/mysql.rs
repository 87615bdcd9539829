//! [`MySqlStore`] against the MySQL or MariaDB server at
//! `AUTH_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`): the
//! whole store conformance suite, each test in a fresh database of its own,
//! plus MySQL-specific tests.
//!
//! Without a server the tests print `skipping: ...` and pass, unless
//! `AUTH_TEST_REQUIRE_SERVICES=1`, which makes them fail.

mod support;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auth_core::StoreError;
use auth_core::store::{JwtRevocationStore, KnoxTokenStore, ThrottleStore, UserStore};
use auth_core::testkit::{now, unique};
use auth_core::user::{User, UserId};
use auth_store_sqlx::sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use auth_store_sqlx::sqlx::{self, ConnectOptions, Connection};
use auth_store_sqlx::{MySqlStore, PoolSettings};

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

/// An administrative connection to the test server, or `None` after
/// reporting the skip.
async fn admin() -> Option<(MySqlConnectOptions, MySqlConnection)> {
    let options = match server_options() {
        Ok(options) => options,
        Err(err) => {
            support::skip("MySQL", "AUTH_TEST_MYSQL_URL", &err);
            return None;
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
        Ok(Ok(conn)) => Some((options, conn)),
        Ok(Err(err)) => {
            support::skip("MySQL", &place(&options), &err);
            None
        }
        Err(_) => {
            support::skip("MySQL", &place(&options), &"timed out after 5 s");
            None
        }
    }
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
async fn fresh_database() -> Option<MySqlConnectOptions> {
    let (options, mut conn) = admin().await?;
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
    Some(options.database(&name))
}

/// Small pools: tests run in parallel on a server others use too.
fn test_settings() -> PoolSettings {
    PoolSettings::default().max_connections(6)
}

/// A migrated store in a fresh database, or `None` (skipped).
async fn fresh_store() -> Option<MySqlStore> {
    let options = fresh_database().await?;
    let store = MySqlStore::connect_with(options, test_settings())
        .await
        .expect("connecting the store failed");
    store.migrate().await.expect("migrating failed");
    Some(store)
}

/// Evaluates to a fresh store, or returns from the test (skipped) when the
/// server is not there.
macro_rules! store_or_skip {
    ($store:expr) => {
        match $store.await {
            Some(store) => ::std::future::ready(store),
            None => return,
        }
    };
}

auth_core::store_conformance_tests!(all; store_or_skip!(fresh_store()));
auth_core::service_conformance_tests!(store_or_skip!(async {
    fresh_store()
        .await
        .map(|store| auth_core::Stores::all_in(std::sync::Arc::new(store)))
}));
support::contract::contract_tests!(store_or_skip!(fresh_store()));

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
async fn keys_compare_bytewise() {
    let Some(store) = fresh_store().await else {
        return;
    };
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
async fn an_overlong_jti_is_an_error() {
    let Some(store) = fresh_store().await else {
        return;
    };
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
