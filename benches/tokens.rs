//! Knox verification and refresh rotation through the service, on every
//! store, beside the bare primitive.
//!
//! `cargo bench --bench tokens`. Lines:
//! - `primitive/sha512`: SHA-512 of a 64-character token, hex encoded (what
//!   a Knox verification hashes).
//! - `knox_verify/<store>`: `Auth::authenticate_knox` of a live token: shape
//!   check, digest, lookup by `token_key`, constant-time compare, user read.
//! - `jwt_refresh/<store>`: `Auth::jwt_refresh` along a rotating chain:
//!   verify, revocation state and user read, atomic blacklist of the old
//!   jti, a new signed pair.
//!
//! The SQL and Redis stores run against the servers of `AUTH_TEST_*_URL`
//! (defaults as in the tests); a store whose server is missing is skipped
//! with a message.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use auth_core::config::AuthConfig;
use auth_core::events::ClientInfo;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, MemoryStore, Stores, User};
use criterion::Criterion;
use sha2::{Digest, Sha512};
use tokio::runtime::Runtime;

/// A service over `stores` with cheap hashing, no throttling and no event
/// sinks (so the figures are the strategy's, not the log's).
async fn service(stores: Stores) -> (Auth, User) {
    let auth = Auth::builder(AuthConfig::default().with_throttle(ThrottleConfig::disabled()))
        .stores(stores)
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("params")).expect("hasher"),
        ))
        .without_tracing_events()
        .without_login_history()
        .build()
        .expect("service");
    let name = auth_core::testkit::unique("bench");
    let user = User::new_for_tests(&name, &format!("{name}@example.com"));
    auth.stores().users.insert_user(&user).await.expect("user");
    (auth, user)
}

async fn sqlite() -> Option<Stores> {
    let path = std::env::temp_dir().join(format!("{}.db", auth_core::testkit::unique("bench")));
    let store = auth_store_sqlx::SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .ok()?;
    store.migrate().await.ok()?;
    Some(Stores::all_in(Arc::new(store)))
}

async fn postgres() -> Option<Stores> {
    let url = std::env::var("AUTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let store = auth_store_sqlx::PostgresStore::connect(&url).await.ok()?;
    store.migrate().await.ok()?;
    Some(Stores::all_in(Arc::new(store)))
}

async fn mysql() -> Option<Stores> {
    let url = std::env::var("AUTH_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let store = auth_store_sqlx::MySqlStore::connect(&url).await.ok()?;
    store.migrate().await.ok()?;
    Some(Stores::all_in(Arc::new(store)))
}

async fn redis() -> Option<Stores> {
    let url =
        std::env::var("AUTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("{}:", auth_core::testkit::unique("authbench"));
    let config = auth_store_redis::RedisStoreConfig::default()
        .with_key_prefix(&prefix)
        .ok()?;
    let store = Arc::new(auth_store_redis::RedisStore::with_config(&url, config).ok()?);
    store.ping().await.ok()?;
    Some(Stores {
        knox: store.clone(),
        static_tokens: store.clone(),
        revocations: store.clone(),
        throttle: store.clone(),
        history: store,
        ..Stores::all_in(Arc::new(MemoryStore::new()))
    })
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let rt = Runtime::new().expect("runtime");

    let token = "24e2c094325042c4b0e91e1eb8fc7de3a90bf0d9d9c5dde9eeaba25c3bbacecc";
    c.bench_function("primitive/sha512", |b| {
        b.iter(|| hex_digest(black_box(token)))
    });

    let stores: Vec<(&str, Option<Stores>)> = vec![
        ("memory", Some(Stores::all_in(Arc::new(MemoryStore::new())))),
        ("sqlite", rt.block_on(sqlite())),
        ("postgres", rt.block_on(postgres())),
        ("mysql", rt.block_on(mysql())),
        ("redis+memory-users", rt.block_on(redis())),
    ];
    let client = ClientInfo::from_ip("127.0.0.1");
    for (name, stores) in stores {
        let Some(stores) = stores else {
            eprintln!("skipping {name}: its server is not reachable");
            continue;
        };
        let (auth, user) = rt.block_on(service(stores));
        let issued = rt
            .block_on(auth.issue_knox_token(&user, None))
            .expect("knox token");
        let knox = issued.token.expose().to_string();
        c.bench_function(&format!("knox_verify/{name}"), |b| {
            b.iter(|| {
                rt.block_on(auth.authenticate_knox(black_box(&knox)))
                    .expect("valid")
            })
        });

        let pair = rt.block_on(auth.issue_jwt_pair(&user)).expect("pair");
        let mut refresh = pair.refresh.into_string();
        c.bench_function(&format!("jwt_refresh/{name}"), |b| {
            b.iter(|| {
                let next = rt
                    .block_on(auth.jwt_refresh(&refresh, &client))
                    .expect("rotation");
                refresh = next.refresh.expect("rotating").into_string();
            })
        });
    }
    c.final_summary();
}

fn hex_digest(token: &str) -> String {
    hex::encode(Sha512::digest(token.as_bytes()))
}
