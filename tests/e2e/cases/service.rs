//! `/healthz`, the OpenAPI document and docs, and the HTTP-level errors.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use auth_core::testkit::proxy::Proxy;
use auth_demo::Secret;
use reqwest::Method;
use serde_json::json;

use super::{PASSWORD, assert_401};
use crate::harness::{Backend, Ctx, Env, Resp};

/// The server starts on the backend, answers `/healthz` and a JSON 404,
/// and stops: runs also before the full API is merged.
pub async fn server_starts_and_stops(env: Env) {
    let t = env.start_any(|_| {}).await;
    let health = t.get("/healthz").send().await;
    health.expect(200);
    let missing = t.get("/api/nowhere/at/all").send().await;
    missing.expect(404);
    assert_eq!(missing.json, json!({ "detail": "Not found." }));
    // A superuser through the demo's create-superuser path, on the same
    // stores the server uses.
    t.create_superuser("boot", "boot@example.com", PASSWORD)
        .await;
    assert!(
        crate::logs::snapshot().contains("listening"),
        "the server's logs are not captured"
    );
    t.finish().await;
}

pub async fn service_routes(env: Env) {
    let t = env.start().await;
    t.get("/healthz").send().await.expect(200);

    let doc = t.get("/api/openapi.json").send().await;
    doc.expect(200);
    assert!(
        doc.json["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        &doc.text[..doc.text.len().min(200)]
    );
    let paths = doc.json["paths"].as_object().expect("paths");
    for path in [
        "/api/auth/register",
        "/api/auth/jwt/create",
        "/api/auth/token/login",
        "/api/auth/static-token",
        "/api/users",
        "/api/auth/me",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI paths"
        );
    }

    let docs = t.get("/api/docs").send().await;
    docs.expect(200);
    let content_type = docs.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    // Served with no request leaving the machine: no CDN.
    for remote in [
        "src=\"http",
        "src='http",
        "href=\"http://",
        "href=\"https://cdn",
    ] {
        assert!(
            !docs.text.contains(remote),
            "the docs page loads remote assets"
        );
    }
    t.finish().await;
}

pub async fn http_errors(env: Env) {
    let t = env.start().await;
    // Malformed JSON: 400 with a JSON error body.
    let resp = t
        .req(Method::POST, "/api/auth/jwt/create")
        .raw("application/json", "{\"username\": \"a\", ")
        .send()
        .await;
    resp.expect(400);
    assert!(resp.json.is_object(), "{}", resp.text);

    // Not JSON where JSON is required: 415.
    let resp = t
        .req(Method::POST, "/api/auth/jwt/create")
        .raw("text/plain", "username=a&password=b")
        .send()
        .await;
    resp.expect(415);
    assert!(resp.json["detail"].is_string(), "{}", resp.text);

    // Over 64 KiB: 413 with the contract's body.
    let big = json!({ "username": "a".repeat(70 * 1024), "password": PASSWORD });
    let resp = t
        .req(Method::POST, "/api/auth/jwt/create")
        .raw("application/json", big.to_string())
        .send()
        .await;
    resp.expect(413);
    assert_eq!(resp.json, json!({ "detail": "Request body is too large." }));
    // The unread rest of the body ends the connection; the client is told,
    // so its next request goes down a fresh one.
    assert_eq!(resp.header("connection").as_deref(), Some("close"));

    // Unknown route: 404.
    let resp = t.get("/api/nowhere").send().await;
    resp.expect(404);
    assert_eq!(resp.json, json!({ "detail": "Not found." }));

    // Wrong method: 405 with Allow.
    let resp = t.get("/api/auth/jwt/create").send().await;
    resp.expect(405);
    assert_eq!(
        resp.json,
        json!({ "detail": "Method \"GET\" not allowed." })
    );
    let allow = resp.header("allow").expect("405 without Allow");
    assert!(allow.contains("POST"), "{allow}");
    let resp = t.req(Method::PUT, "/api/auth/me").send().await;
    resp.expect(405);
    let allow = resp.header("allow").expect("405 without Allow");
    for method in ["GET", "PATCH", "DELETE"] {
        assert!(allow.contains(method), "{allow}");
    }
    t.finish().await;
}

pub async fn trailing_slashes(env: Env) {
    let t = env.start().await;
    t.active_user("slash", PASSWORD).await;
    let resp = t
        .post(
            "/api/auth/jwt/create/",
            json!({ "username": "slash", "password": PASSWORD }),
        )
        .send()
        .await;
    resp.expect(200);
    let access = resp.str("access");
    let me = t.get("/api/auth/me/").bearer(&access).send().await;
    me.expect(200);
    assert_eq!(me.json["username"], "slash");
    t.get("/api/auth/jwks.json/").send().await.expect(200);
    t.get("/healthz/").send().await.expect(200);
    let resp = t
        .post("/api/auth/jwt/verify/", json!({ "token": access }))
        .send()
        .await;
    resp.expect(200);
    t.finish().await;
}

pub async fn unauthenticated_requests(env: Env) {
    let t = env.start().await;
    let resp = t.get("/api/auth/me").send().await;
    assert_401(&resp);
    assert_eq!(resp.json["code"], "not_authenticated", "{}", resp.text);
    assert!(
        resp.header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer")),
        "{:?}",
        resp.headers
    );
    assert_401(&t.get("/api/auth/me").bearer("not.a.jwt").send().await);
    assert_401(
        &t.get("/api/auth/me")
            .token("0123456789abcdef0123456789abcdef")
            .send()
            .await,
    );
    assert_401(&t.get("/api/auth/token/sessions").send().await);
    assert_401(&t.req(Method::POST, "/api/auth/token/logout").send().await);
    assert_401(&t.get("/api/auth/me/history").send().await);
    t.finish().await;
}

/// Two servers over the same stores, as two processes of one deployment:
/// a token revoked through one is refused through the other.
pub async fn two_servers_share_revocations(env: Env) {
    let mut t = env.start().await;
    t.active_user("twin", PASSWORD).await;
    let other = t.start_twin().await;
    let knox = t.knox_login("twin", PASSWORD).await;
    let (access, refresh) = t.jwt_login("twin", PASSWORD).await;
    for base in [t.base.clone(), other.clone()] {
        t.req_at(&base, Method::GET, "/api/auth/me")
            .token(&knox)
            .send()
            .await
            .expect(200);
        t.req_at(&base, Method::GET, "/api/auth/me")
            .bearer(&access)
            .send()
            .await
            .expect(200);
    }

    t.req(Method::POST, "/api/auth/token/logout")
        .token(&knox)
        .send()
        .await
        .expect(204);
    t.req_at(&other, Method::GET, "/api/auth/me")
        .token(&knox)
        .send()
        .await
        .expect(401);

    // Rotated through the second server, replayed through the first: the
    // replay fails and the family dies on both.
    let rotated = t
        .req_at(&other, Method::POST, "/api/auth/jwt/refresh")
        .json(json!({ "refresh": refresh }))
        .send()
        .await;
    rotated.expect(200);
    t.post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await
        .expect(401);
    // With Redis, the demo answers revocation checks from memory while
    // Redis tracks them: the other server sees the revoked family once
    // Redis's invalidation reaches it, normally well under a millisecond
    // after the replay (and at the latest after AUTH_REDIS_TRACKING's 10 s,
    // past this test's 5 s, a margin for a loaded machine).
    let started = Instant::now();
    loop {
        let me = t
            .req_at(&other, Method::GET, "/api/auth/me")
            .bearer(&rotated.str("access"))
            .send()
            .await;
        if me.status == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other server still accepts a token of the revoked family: {}",
            me.status
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t.finish().await;
}

/// A store that is down answers 503 `{"detail": ...}` with nothing
/// internal in it, within the store's timeout, and the server works again
/// once the store is back. SQLite: another connection holds the write lock
/// past the 5 s busy timeout. PostgreSQL: a proxy in front of the server is
/// switched off, cutting the demo's connections.
pub async fn store_down_is_503(env: Env) {
    match env.backend {
        Backend::Sqlite => sqlite_locked(env).await,
        Backend::PostgresRedis => postgres_cut(env).await,
    }
}

/// A login of the case's user answers the store-down 503.
async fn login_is_503(t: &Ctx, what: &str) {
    let resp = t
        .post(
            "/api/auth/jwt/create",
            json!({ "username": "nel", "password": PASSWORD }),
        )
        .send()
        .await;
    assert_store_down(&resp, what);
}

/// A 503 body: one `detail` naming no driver, database or query.
fn assert_store_down(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 503, "{what}: {}", resp.text);
    let detail = resp.str("detail");
    assert_eq!(
        resp.json.as_object().map(|body| body.len()),
        Some(1),
        "{what}: only `detail`: {}",
        resp.text
    );
    for internal in [
        "sqlite", "postgres", "sqlx", "locked", "pool", "SELECT", "INSERT",
    ] {
        assert!(
            !detail.to_lowercase().contains(&internal.to_lowercase()),
            "{what}: the 503 body names {internal:?}: {detail}"
        );
    }
}

async fn sqlite_locked(env: Env) {
    use auth_store_sqlx::sqlx::{Connection, SqliteConnection};
    let t = env.start().await;
    t.active_user("nel", PASSWORD).await;
    let url = t.settings.database_url.expose().to_owned();
    let mut holder = SqliteConnection::connect(&url)
        .await
        .expect("a second connection to the demo's database");
    auth_store_sqlx::sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("taking the write lock");
    // A login writes last_login: it waits out the busy timeout, then 503.
    login_is_503(&t, "a login while the database is locked").await;
    auth_store_sqlx::sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("releasing the write lock");
    t.jwt_login("nel", PASSWORD).await;
    t.finish().await;
}

async fn postgres_cut(env: Env) {
    use auth_store_sqlx::sqlx::postgres::PgConnectOptions;
    let url = std::env::var("AUTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let options = PgConnectOptions::from_str(&url).expect("AUTH_TEST_POSTGRES_URL");
    let target = tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .expect("resolving the PostgreSQL host")
        .next()
        .expect("an address for the PostgreSQL host");
    let proxy = Proxy::start(target).await.expect("starting the proxy");
    let t = env
        .start_with(|s| {
            s.database_url = Secret::new(through(s.database_url.expose(), proxy.addr()));
        })
        .await;
    t.active_user("nel", PASSWORD).await;
    proxy.down().await;
    login_is_503(&t, "a login while PostgreSQL is away").await;
    t.get("/healthz").send().await.expect(503);
    proxy.up().await.expect("listening again");
    logs_in_once_recovered(&t).await;
    t.finish().await;
}

/// Once the database is back, logins work again without a restart. The
/// connections the cut broke are found dead only when next used, so the
/// first requests may still answer the store-down 503 (a connection idle
/// for less than the pool's ping window is not pinged first): those are
/// allowed, for a few seconds, and must be the contract's 503.
async fn logs_in_once_recovered(t: &Ctx) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = t
            .post(
                "/api/auth/jwt/create",
                json!({ "username": "nel", "password": PASSWORD }),
            )
            .send()
            .await;
        if resp.status == 200 {
            return;
        }
        assert_store_down(&resp, "a login just after PostgreSQL came back");
        assert!(
            Instant::now() < deadline,
            "logins still fail 10 s after PostgreSQL came back: {}",
            resp.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `url` with its `host:port` replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let start = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
    let end = url[start..]
        .find('/')
        .map_or(url.len(), |slash| start + slash);
    format!("{}{addr}{}", &url[..start], &url[end..])
}

/// 32 logins at once with no room to wait for a hashing thread
/// (`--hashing-queue 0`): those that find every thread busy get 503 with
/// `Retry-After` and the contract's body at once, the others log in, and a
/// request that hashes nothing is not refused.
pub async fn a_full_hashing_queue_answers_503(env: Env) {
    const LOGINS: usize = 32;
    let t = env.start_with(|s| s.hashing_queue = Some(0)).await;
    t.active_user("hana", PASSWORD).await;
    let (access, _) = t.jwt_login("hana", PASSWORD).await;
    let t = std::sync::Arc::new(t);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(LOGINS));
    let mut tasks = Vec::new();
    for _ in 0..LOGINS {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let login = json!({ "username": "hana", "password": PASSWORD });
            let request = t.post("/api/auth/jwt/create", login);
            barrier.wait().await;
            request.send().await
        }));
    }
    let mut busy = 0;
    for task in tasks {
        let resp = task.await.expect("a login task panicked");
        match resp.status {
            200 => {}
            503 => {
                busy += 1;
                assert_store_down(&resp, "a login that found the hashing queue full");
                let retry_after: u64 = resp
                    .header("retry-after")
                    .expect("503 without Retry-After")
                    .parse()
                    .expect("Retry-After in seconds");
                assert!(retry_after >= 1, "Retry-After: {retry_after}");
            }
            other => panic!("a login answered {other}: {}", resp.text),
        }
    }
    assert!(
        busy > 0,
        "{LOGINS} logins at once, none allowed to wait: some found every thread busy"
    );
    t.get("/api/auth/me")
        .bearer(&access)
        .send()
        .await
        .expect(200);
    let t = std::sync::Arc::into_inner(t).expect("every task is done");
    t.finish().await;
}
