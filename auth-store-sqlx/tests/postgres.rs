//! [`PostgresStore`] against the PostgreSQL server at `AUTH_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`): the whole store
//! conformance suite, each test in a fresh schema of its own, plus
//! availability and sharing tests.
//!
//! A server that is down is started (`.ci/services.sh`); one that cannot be
//! reached fails the tests, unless `AUTH_TEST_SKIP=postgres` was set when they
//! were built, which marks them ignored (see `auth_core::testkit::services`).

mod support;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auth_core::StoreError;
use auth_core::store::{
    BlacklistEntry, JwtRevocationStore, KnoxInsert, KnoxTokenRecord, KnoxTokenStore, TokenLimit,
    UserStore,
};
use auth_core::testkit::services::{self, Service};
use auth_core::testkit::{now, unique};
use auth_core::user::{User, UserId};
use auth_store_sqlx::sqlx::postgres::{PgConnectOptions, PgConnection};
use auth_store_sqlx::sqlx::{self, ConnectOptions, Connection};
use auth_store_sqlx::{DEFAULT_READ_CONNECTIONS, PoolSettings, PostgresStore};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test server's connection options, or why there are none.
fn server_options() -> Result<PgConnectOptions, String> {
    let url = std::env::var("AUTH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    PgConnectOptions::from_str(&url).map_err(|err| format!("invalid AUTH_TEST_POSTGRES_URL: {err}"))
}

/// Where the server is, for messages (never the password).
fn place(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

/// An administrative connection to the test server (started if it is down;
/// the test fails naming it when it cannot be reached).
async fn admin() -> (PgConnectOptions, PgConnection) {
    let options = server_options()
        .unwrap_or_else(|err| services::missing(Service::Postgres, "AUTH_TEST_POSTGRES_URL", &err));
    let conn = services::connect(Service::Postgres, &place(&options), || async {
        match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
            Ok(result) => result.map_err(|err| err.to_string()),
            Err(_) => Err("timed out after 5 s".to_owned()),
        }
    })
    .await;
    (options, conn)
}

/// Drops test schemas left over by aborted runs, once per test binary.
async fn sweep_stale_schemas(conn: &mut PgConnection) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'auth!_test!_%' ESCAPE '!'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for name in names.iter().filter(|name| support::is_stale(name)) {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
            .execute(&mut *conn)
            .await;
    }
}

/// Creates a fresh schema, dropped again when the test's runtime shuts
/// down; returns the server's options with `search_path` set to it.
async fn fresh_schema() -> (PgConnectOptions, String) {
    let (options, mut conn) = admin().await;
    sweep_stale_schemas(&mut conn).await;
    let schema = support::test_name();
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut conn)
        .await
        .expect("CREATE SCHEMA failed");
    let _ = conn.close().await;
    let cleanup_options = options.clone();
    let cleanup_schema = schema.clone();
    support::on_runtime_shutdown(move || {
        support::block_on(async move {
            match cleanup_options.connect().await {
                Ok(mut conn) => {
                    let sql = format!("DROP SCHEMA IF EXISTS \"{cleanup_schema}\" CASCADE");
                    if let Err(err) = sqlx::query(&sql).execute(&mut conn).await {
                        eprintln!("cleanup: dropping schema {cleanup_schema} failed: {err}");
                    }
                    let _ = conn.close().await;
                }
                Err(err) => eprintln!("cleanup: cannot connect to drop {cleanup_schema}: {err}"),
            }
        });
    });
    let options = options.options([("search_path", schema.as_str())]);
    (options, schema)
}

/// Small pools: tests run in parallel on a server others use too.
fn test_settings() -> PoolSettings {
    PoolSettings::default().max_connections(6)
}

/// A store over `options` with the test settings, migrated.
async fn migrated_store(options: PgConnectOptions) -> PostgresStore {
    let store = PostgresStore::connect_with(options, test_settings())
        .await
        .expect("connecting the store failed");
    store.migrate().await.expect("migrating failed");
    store
}

/// A migrated store in a fresh schema, with connections kept for reads as
/// [`PostgresStore::connect`] keeps them.
async fn fresh_store() -> PostgresStore {
    let (options, _) = fresh_schema().await;
    let store = migrated_store(options).await;
    store.with_read_connections(DEFAULT_READ_CONNECTIONS)
}

auth_core::store_conformance_tests!(#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")] all; fresh_store());
auth_core::service_conformance_tests!(#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")] => async {
    auth_core::Stores::all_in(std::sync::Arc::new(fresh_store().await))
});

/// Panics unless `result` is `Err(StoreError::Unavailable(_))`.
#[track_caller]
fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("{what}: expected Err(Unavailable), got {other:?}"),
    }
}

/// A store whose server is not listening (a closed port) fails with
/// `Unavailable` within the acquire timeout, and building it lazily does
/// not fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_unavailable_within_the_acquire_timeout() {
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(1)
        .username("postgres");
    let timeout = Duration::from_secs(1);
    let store =
        PostgresStore::connect_lazy_with(options, PoolSettings::default().acquire_timeout(timeout))
            .expect("a lazy store builds without a server");
    let started = Instant::now();
    let result = store.user_by_id(UserId::new()).await;
    let elapsed = started.elapsed();
    assert_unavailable(result, "a lookup on a closed port");
    assert!(
        elapsed < timeout + Duration::from_secs(2),
        "Unavailable came after {elapsed:?}, the acquire timeout is {timeout:?}"
    );
    let err = store
        .user_by_id(UserId::new())
        .await
        .expect_err("still down");
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(chain.contains("PoolTimedOut"), "the cause is kept: {chain}");
}

/// The server going away (a proxy in front of it switched off, cutting the
/// store's connections) gives `Unavailable` within the acquire timeout;
/// once it is back, the same store works again without being rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
async fn unavailable_while_down_then_recovers_by_itself() {
    let (options, _schema) = fresh_schema().await;
    let target = tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .expect("resolving the server")
        .next()
        .expect("the server has an address");
    let proxy = auth_core::testkit::proxy::Proxy::start(target)
        .await
        .expect("starting the proxy");
    let timeout = Duration::from_secs(1);
    let store = PostgresStore::connect_with(
        options.host("127.0.0.1").port(proxy.addr().port()),
        PoolSettings::default()
            .max_connections(2)
            .acquire_timeout(timeout),
    )
    .await
    .expect("connecting through the proxy")
    // The reads below then meet kept connections as well as the pool's.
    .with_read_connections(2);
    store.migrate().await.expect("migrating");
    let ada = User::new_for_tests(&unique("ada_"), &format!("{}@example.com", unique("ada")));
    store.insert_user(&ada).await.expect("insert while up");
    store.user_by_id(ada.id).await.expect("read while up");

    proxy.down().await;
    for attempt in 0..3 {
        let started = Instant::now();
        let result = store.user_by_id(ada.id).await;
        let elapsed = started.elapsed();
        assert_unavailable(
            result,
            &format!("lookup {attempt} while the server is down"),
        );
        assert!(
            elapsed < timeout + Duration::from_secs(2),
            "attempt {attempt}: Unavailable came after {elapsed:?} (acquire timeout {timeout:?})"
        );
    }
    assert_unavailable(
        store
            .insert_user(&User::new_for_tests(
                &unique("bob_"),
                &format!("{}@example.com", unique("bob")),
            ))
            .await,
        "an insert while the server is down",
    );

    proxy.up().await.expect("listening again");
    let found = support::user_once_available(&store, ada.id, "the store recovering").await;
    assert_eq!(
        found,
        Some(ada),
        "the same store reads again once the server is back"
    );
}

/// A migrated store over `options` whose connections carry the application
/// name `app` (so they can be found and terminated), keeping two for
/// reads, holding one user.
async fn named_store(
    options: &PgConnectOptions,
    app: &str,
    settings: PoolSettings,
) -> (PostgresStore, User) {
    let store = PostgresStore::connect_with(options.clone().application_name(app), settings)
        .await
        .expect("connecting")
        .with_read_connections(2);
    store.migrate().await.expect("migrating");
    let ada = User::new_for_tests(&unique("ada_"), &format!("{}@example.com", unique("ada")));
    store.insert_user(&ada).await.expect("insert");
    (store, ada)
}

/// Terminates every backend named `app` from `admin`; there must be some.
async fn terminate_backends(admin: &mut PgConnection, app: &str, round: usize) {
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(app)
    .fetch_all(admin)
    .await
    .expect("pg_terminate_backend");
    assert!(
        !killed.is_empty(),
        "round {round}: the store had connections to terminate"
    );
}

/// Terminating every backend of the store from another connection does not
/// break it: operations fail with `Unavailable` at worst, and the pool
/// replaces the connections by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
async fn terminated_backends_are_replaced() {
    let (options, _schema) = fresh_schema().await;
    let app = unique("auth_test_app_");
    let settings = PoolSettings::default()
        .max_connections(3)
        .acquire_timeout(Duration::from_secs(1));
    let (store, ada) = named_store(&options, &app, settings).await;

    let mut admin = options.connect().await.expect("admin connection");
    for round in 0..3 {
        terminate_backends(&mut admin, &app, round).await;
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
#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
async fn idle_connections_dropped_by_the_server_fail_nothing() {
    let (options, _schema) = fresh_schema().await;
    let app = unique("auth_test_app_");
    let settings = PoolSettings::default()
        .max_connections(3)
        .test_after_idle(Duration::from_millis(50));
    let (store, ada) = named_store(&options, &app, settings).await;
    // The reads below find a kept connection idle since this one.
    store.user_by_id(ada.id).await.expect("reading");

    let mut admin = options.connect().await.expect("admin connection");
    for round in 0..2 {
        terminate_backends(&mut admin, &app, round).await;
        // Idle for longer than the window (and for the backends to go).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let found = store.user_by_id(ada.id).await.unwrap_or_else(|err| {
            panic!("round {round}: the first read after idling failed: {err:?}")
        });
        assert_eq!(found.as_ref(), Some(&ada), "round {round}");
    }
    let _ = admin.close().await;
}

/// Two stores over one schema see each other's writes at once: a Knox token
/// deleted through one is gone through the other, and a jti blacklisted
/// through one is refused through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
async fn two_stores_over_one_schema_share_everything() {
    let (options, _schema) = fresh_schema().await;
    let one = migrated_store(options.clone()).await;
    // Migrating again, for the second store, is a no-op.
    let two = migrated_store(options).await;
    let (one, two): (Arc<PostgresStore>, Arc<PostgresStore>) = (Arc::new(one), Arc::new(two));

    let t = now();
    let user = UserId::new();
    let token = KnoxTokenRecord {
        token_key: unique("k").chars().take(15).collect(),
        digest: unique("digest_"),
        user_id: user,
        created: t,
        expiry: None,
        last_used: None,
        name: Some("laptop".into()),
    };
    assert_eq!(
        one.insert_knox_token(&token, TokenLimit::Refuse(5), t)
            .await
            .expect("insert"),
        KnoxInsert::Inserted { evicted: 0 }
    );
    assert_eq!(
        two.knox_tokens_by_key(&token.token_key)
            .await
            .expect("lookup"),
        vec![token.clone()],
        "a token inserted through one store is seen through the other"
    );
    assert!(two.delete_knox_token(&token.digest).await.expect("delete"));
    assert!(
        one.knox_tokens_by_key(&token.token_key)
            .await
            .expect("lookup")
            .is_empty(),
        "a token deleted through one store is gone through the other"
    );

    let entry = BlacklistEntry {
        jti: unique("jti_"),
        user_id: user,
        family: None,
        expires_at: t + chrono::Duration::days(1),
        blacklisted_at: t,
    };
    assert!(one.blacklist_jti(&entry).await.expect("blacklist"));
    assert!(
        !two.blacklist_jti(&entry).await.expect("blacklist again"),
        "a jti blacklisted through one store is refused through the other"
    );
    assert_eq!(
        two.blacklisted_jti(&entry.jti).await.expect("lookup"),
        Some(entry)
    );
}

/// `connect` keeps connections for the reads that authenticate a request;
/// the other constructors keep none unless asked.
#[tokio::test]
#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
async fn connect_keeps_read_connections_and_connect_with_does_not() {
    let (options, _schema) = fresh_schema().await;
    let url = std::env::var("AUTH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    let store = PostgresStore::connect(&url).await.expect("connecting");
    let shown = format!("{store:?}");
    assert!(
        shown.contains(&format!("read_connections: {DEFAULT_READ_CONNECTIONS}")),
        "{shown}"
    );
    store.pool().close().await;
    let store = PostgresStore::connect_with(options, test_settings())
        .await
        .expect("connecting");
    let shown = format!("{store:?}");
    assert!(shown.contains("read_connections: 0"), "{shown}");
    assert!(format!("{:?}", store.with_read_connections(3)).contains("read_connections: 3"));
}

/// `set_last_login` does not queue behind a user row that another
/// transaction is writing (concurrent logins to one account would
/// otherwise hold a pool connection each, one commit at a time): it
/// returns, the other write stands, and an unknown id is still `NotFound`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
async fn set_last_login_does_not_wait_for_a_row_being_written() {
    let (options, _schema) = fresh_schema().await;
    let store = migrated_store(options.clone()).await;
    let ada = User::new_for_tests(&unique("ada_"), &format!("{}@example.com", unique("ada")));
    store.insert_user(&ada).await.expect("insert");
    let first = now();
    store
        .set_last_login(ada.id, first)
        .await
        .expect("set_last_login");

    let mut other = options.connect().await.expect("another connection");
    let mut tx = other.begin().await.expect("BEGIN");
    sqlx::query("UPDATE auth_users SET first_name = 'Ada' WHERE id = $1")
        .bind(ada.id.0)
        .execute(&mut *tx)
        .await
        .expect("writing the row in another transaction");
    let later = first + chrono::Duration::seconds(5);
    let answer = tokio::time::timeout(Duration::from_secs(10), store.set_last_login(ada.id, later))
        .await
        .expect("set_last_login waited for the other transaction");
    assert!(answer.is_ok(), "{answer:?}");
    assert!(matches!(
        store.set_last_login(UserId::new(), later).await,
        Err(StoreError::NotFound)
    ));
    tx.commit().await.expect("COMMIT");
    let _ = other.close().await;

    let stored = store.user_by_id(ada.id).await.expect("read").expect("ada");
    assert_eq!(stored.first_name, "Ada", "the other write stands");
    assert_eq!(
        stored.last_login,
        Some(first),
        "the skipped write changed nothing"
    );
    let latest = later + chrono::Duration::seconds(5);
    store
        .set_last_login(ada.id, latest)
        .await
        .expect("set_last_login");
    let stored = store.user_by_id(ada.id).await.expect("read").expect("ada");
    assert_eq!(
        stored.last_login,
        Some(latest),
        "an uncontended write lands"
    );
}

/// #21.3: the migration that adds `email_verified` counts existing accounts
/// as verified when active or once logged in, and leaves one still waiting
/// for its activation link unverified.
#[tokio::test]
#[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
async fn the_email_verified_migration_backfills_existing_rows() {
    let (options, _) = fresh_schema().await;
    let store = PostgresStore::connect_with(options, test_settings())
        .await
        .expect("connecting the store failed");
    let before = support::first_migration_only("postgres").await;
    before.run(store.pool()).await.expect("the first migration");

    let mut ids = Vec::new();
    for (name, active, logged_in, _) in support::BACKFILL_CASES {
        let last_login = logged_in.then(now);
        let user = User::new_for_tests(name, &format!("{name}@example.com"));
        sqlx::query(
            "INSERT INTO auth_users (id, username, username_folded, email, email_folded, \
             first_name, first_name_folded, last_name, last_name_folded, is_active, is_staff, \
             is_superuser, date_joined, last_login, password_hash, profile) \
             VALUES ($1, $2, $2, $3, $3, '', '', '', '', $4, FALSE, FALSE, $5, $6, NULL, '{}')",
        )
        .bind(user.id.0)
        .bind(name)
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
