//! Starting a server per test: one (framework, backend) combination, an
//! SMTP sink, a fresh database (and Redis key prefix), and a client that
//! remembers every secret it sends or receives so [`Ctx::finish`] can check
//! none leaked into a log line or a response body.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use auth_core::testkit::services::{self, Service};
use auth_demo::{Framework, RunningServer, Secret, Settings, Switch};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::logs;
use crate::smtp_sink::SmtpSink;

/// The frontend base the emailed links point to.
pub const FRONTEND: &str = "http://frontend.test";

/// Where the data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// Users in a fresh PostgreSQL schema, the rest in Redis under a
    /// fresh key prefix.
    PostgresRedis,
}

/// The combination a test runs on.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// Which adapter serves.
    pub framework: Framework,
    /// Which stores.
    pub backend: Backend,
}

fn random_hex(bytes: usize) -> String {
    auth_core::testkit::unique("")[..(2 * bytes).min(16)].to_owned()
}

/// What to undo when a test ends.
#[derive(Debug, Default)]
struct Cleanup {
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
    redis: Option<(String, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let pg = self.pg.take();
        let redis = self.redis.take();
        if pg.is_none() && redis.is_none() {
            return;
        }
        // Drop may run inside the test's runtime: clean up on a thread of
        // its own with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Some((url, schema)) = pg {
                    drop_schema(&url, &schema).await;
                }
                if let Some((url, prefix)) = redis {
                    delete_prefix(&url, &prefix).await;
                }
            });
        })
        .join();
    }
}

pub async fn drop_schema(url: &str, schema: &str) {
    use auth_store_sqlx::sqlx::{self, ConnectOptions, Connection};
    let Ok(options) = sqlx::postgres::PgConnectOptions::from_str(url) else {
        return;
    };
    if let Ok(mut conn) = options.connect().await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

async fn delete_prefix(url: &str, prefix: &str) {
    use auth_store_redis::redis;
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}

/// A fresh PostgreSQL schema: the URL selecting it, the admin URL and the
/// schema's name.
pub async fn fresh_schema() -> Result<(String, String, String), String> {
    use auth_store_sqlx::sqlx::{self, ConnectOptions, Connection};
    let url = std::env::var("AUTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .map_err(|e| format!("invalid AUTH_TEST_POSTGRES_URL: {e}"))?;
    let mut conn = tokio::time::timeout(Duration::from_secs(5), options.connect())
        .await
        .map_err(|_| "timed out after 5 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let schema = format!("auth_test_{unix}_{}", random_hex(8));
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let selecting = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    Ok((selecting, url, schema))
}

async fn redis_reachable(url: &str) -> Result<(), String> {
    use auth_store_redis::redis;
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| "timed out after 5 s".to_owned())?
    .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

impl Env {
    /// A server with the test defaults.
    pub async fn start(self) -> Ctx {
        self.start_with(|_| {}).await
    }

    /// A server with the test defaults changed by `tweak`. A server it
    /// needs (PostgreSQL, Redis) that cannot be reached fails the test.
    pub async fn start_with(self, tweak: impl FnOnce(&mut Settings)) -> Ctx {
        self.start_any(tweak).await
    }

    /// Like [`start_with`](Self::start_with), also when this build of
    /// auth-demo serves `/healthz` only (for the tests of the harness).
    pub async fn start_any(self, tweak: impl FnOnce(&mut Settings)) -> Ctx {
        logs::install();
        let sink = SmtpSink::start().await;
        let mut cleanup = Cleanup::default();
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            framework: self.framework,
            smtp_url: Some(Secret::new(sink.url())),
            frontend_url: FRONTEND.into(),
            jwt_secret: Some(Secret::new(format!(
                "e2e-secret-{}{}",
                random_hex(8),
                random_hex(8)
            ))),
            // A fixed ID-token key: without one, a server on PostgreSQL
            // would write one into the working directory.
            oidc_key: Some(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("auth-core/tests/keys/ed25519_private.pem"),
            ),
            quiet: true,
            // Every test sends all its requests from one address: the
            // throttle cases turn limits on themselves.
            throttle: Switch::Off,
            ..Settings::default()
        };
        match self.backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("auth-e2e-{}", random_hex(8)));
                std::fs::create_dir_all(&dir).expect("creating the temporary directory");
                settings.database_url =
                    Secret::new(format!("sqlite://{}", dir.join("e2e.db").display()));
                cleanup.dir = Some(dir);
            }
            Backend::PostgresRedis => {
                let (url, admin, schema) =
                    services::connect(Service::Postgres, "AUTH_TEST_POSTGRES_URL", fresh_schema)
                        .await;
                cleanup.pg = Some((admin, schema));
                let redis = std::env::var("AUTH_TEST_REDIS_URL")
                    .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
                services::connect(Service::Redis, "AUTH_TEST_REDIS_URL", || {
                    redis_reachable(&redis)
                })
                .await;
                let prefix = format!("authe2e:{}:", random_hex(8));
                cleanup.redis = Some((redis.clone(), prefix.clone()));
                settings.database_url = Secret::new(url);
                settings.redis_url = Some(Secret::new(redis));
                settings.redis_prefix = prefix;
            }
        }
        tweak(&mut settings);
        let server = auth_demo::start(&settings)
            .await
            .unwrap_or_else(|err| panic!("the server did not start: {err}"));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .expect("building the HTTP client");
        let document = http
            .get(format!("{}/api/openapi.json", server.url()))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("fetching the OpenAPI document")
            .json()
            .await
            .expect("the OpenAPI document is JSON");
        Ctx {
            base: server.url(),
            server: Some(server),
            http,
            document,
            sink,
            settings,
            twins: Vec::new(),
            record: Mutex::new(Record::default()),
            _cleanup: cleanup,
        }
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl Resp {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Panics with the body unless the status is `status`.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// `self.json[key]` as a string, or a panic naming it.
    #[track_caller]
    pub fn str(&self, key: &str) -> String {
        self.json[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key:?} in {}", self.text))
            .to_owned()
    }
}

/// Every secret seen and every response body, for the leak checks.
#[derive(Debug, Default)]
struct Record {
    /// Passwords sent: in no log line and no response body, ever.
    passwords: Vec<String>,
    /// Tokens: in no log line; in response bodies only of the endpoints
    /// that return them (logins and refresh).
    tokens: Vec<String>,
    /// `(method path, may carry tokens, body)` of every response.
    bodies: Vec<(String, bool, String)>,
}

/// The fields whose values are passwords.
const PASSWORD_FIELDS: [&str; 4] = [
    "password",
    "new_password",
    "confirm_password",
    "old_password",
];
/// The response fields whose values are tokens.
const TOKEN_FIELDS: [&str; 3] = ["access", "refresh", "token"];

/// Whether a response of `method path` may carry a full token (the
/// contract returns tokens from logins and refresh only).
fn issues_tokens(method: &Method, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or("").trim_end_matches('/');
    *method == Method::POST
        && matches!(
            path,
            "/api/auth/jwt/create"
                | "/api/auth/jwt/refresh"
                | "/api/auth/token/login"
                | "/api/auth/static-token"
        )
}

/// One server under test and its client.
#[derive(Debug)]
pub struct Ctx {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    server: Option<RunningServer>,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// Where the server's emails arrive.
    pub sink: SmtpSink,
    /// The server's settings.
    pub settings: Settings,
    /// The server's OpenAPI document, which every answer is checked
    /// against.
    document: Value,
    /// More servers over the same data (see [`Ctx::start_twin`]).
    twins: Vec<RunningServer>,
    record: Mutex<Record>,
    _cleanup: Cleanup,
}

/// A request being built.
#[derive(Debug)]
pub struct Req<'a> {
    ctx: &'a Ctx,
    method: Method,
    path: String,
    builder: reqwest::RequestBuilder,
}

impl Req<'_> {
    /// `Authorization: Bearer TOKEN`.
    pub fn bearer(mut self, token: &str) -> Self {
        self.builder = self
            .builder
            .header("Authorization", format!("Bearer {token}"));
        self
    }

    /// `Authorization: Token TOKEN`.
    pub fn token(mut self, token: &str) -> Self {
        self.builder = self
            .builder
            .header("Authorization", format!("Token {token}"));
        self
    }

    /// A JSON body; password fields are remembered as secrets.
    pub fn json(mut self, body: Value) -> Self {
        self.ctx.remember_passwords(&body);
        self.builder = self.builder.json(&body);
        self
    }

    /// A raw body with a content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.header("Content-Type", content_type).body(body);
        self
    }

    /// A raw body sent with no `Content-Type` header at all.
    pub fn untyped(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.body(body);
        self
    }

    /// Another header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Sends it and reads the whole response.
    pub async fn send(self) -> Resp {
        let response = self
            .builder
            .send()
            .await
            .unwrap_or_else(|err| panic!("{} {} failed: {err}", self.method, self.path));
        let status = response.status().as_u16();
        if let Err(undocumented) =
            check_documented(&self.ctx.document, self.method.as_str(), &self.path, status)
        {
            panic!("{undocumented}");
        }
        let headers = response.headers().clone();
        let text = response.text().await.expect("reading the body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        let carrier = issues_tokens(&self.method, &self.path);
        let mut record = self.ctx.lock();
        if let Value::Object(map) = &json {
            for field in TOKEN_FIELDS {
                if let Some(Value::String(token)) = map.get(field)
                    && token.len() >= 16
                    && !record.tokens.contains(token)
                {
                    record.tokens.push(token.clone());
                }
            }
        }
        record.bodies.push((
            format!("{} {}", self.method, self.path),
            carrier,
            text.clone(),
        ));
        Resp {
            status,
            headers,
            text,
            json,
        }
    }
}

impl Ctx {
    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request to `path` (e.g. `/api/auth/me`).
    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        self.req_at(&self.base, method, path)
    }

    /// A request to `path` on the server at `base` (a twin's URL).
    pub fn req_at(&self, base: &str, method: Method, path: &str) -> Req<'_> {
        Req {
            ctx: self,
            builder: self.http.request(method.clone(), format!("{base}{path}")),
            method,
            path: path.to_owned(),
        }
    }

    /// Starts another server with the same settings (the same database,
    /// Redis key prefix and secret), as a second process of one deployment
    /// would be, and returns its base URL. It stops with this context.
    pub async fn start_twin(&mut self) -> String {
        let twin = auth_demo::start(&self.settings)
            .await
            .unwrap_or_else(|err| panic!("the twin server did not start: {err}"));
        let url = twin.url();
        self.twins.push(twin);
        url
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: Value) -> Req<'_> {
        self.req(Method::POST, path).json(body)
    }

    /// Remembers a token seen outside a response (e.g. in an email).
    pub fn remember_token(&self, token: &str) {
        let mut record = self.lock();
        if !record.tokens.iter().any(|t| t == token) {
            record.tokens.push(token.to_owned());
        }
    }

    fn remember_passwords(&self, body: &Value) {
        let Value::Object(map) = body else { return };
        let mut record = self.lock();
        for field in PASSWORD_FIELDS {
            // Short ones are deliberately weak passwords of validation
            // tests, too likely to occur in a log line by chance.
            if let Some(Value::String(password)) = map.get(field)
                && password.len() >= 12
                && !record.passwords.contains(password)
            {
                record.passwords.push(password.clone());
            }
        }
    }

    /// The service's stores through the demo's own builder, e.g. to create
    /// a superuser the way `create-superuser` does.
    pub async fn create_superuser(&self, username: &str, email: &str, password: &str) {
        self.remember_passwords(&serde_json::json!({ "password": password }));
        let mut settings = self.settings.clone();
        settings.smtp_url = None;
        auth_demo::create_superuser(&settings, username, email, password)
            .await
            .unwrap_or_else(|err| panic!("create-superuser failed: {err}"));
    }

    /// Registers and activates `username` (email `username@example.com`)
    /// through the emailed link; returns the email address.
    pub async fn active_user(&self, username: &str, password: &str) -> String {
        let email = format!("{username}@example.com");
        self.post(
            "/api/auth/register",
            serde_json::json!({
                "username": username, "email": email,
                "password": password, "confirm_password": password,
            }),
        )
        .send()
        .await
        .expect(201);
        let (uid, token) = self.link_from_email(&email, "/activate/").await;
        self.post(
            "/api/auth/activate",
            serde_json::json!({ "uid": uid, "token": token }),
        )
        .send()
        .await
        .expect(200);
        email
    }

    /// The `(uid, token)` of the next email to `to` holding a link
    /// `FRONTEND + kind + uid/token`.
    pub async fn link_from_email(&self, to: &str, kind: &str) -> (String, String) {
        let mail = self.sink.take_to(to).await;
        let prefix = format!("{FRONTEND}{kind}");
        let link = mail
            .link(&prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in {:?}", mail.body()));
        let rest = link[prefix.len()..].trim_end_matches('/');
        let (uid, token) = rest
            .split_once('/')
            .unwrap_or_else(|| panic!("malformed link {link}"));
        self.remember_token(token);
        (uid.to_owned(), token.to_owned())
    }

    /// JWT login: `(access, refresh)`.
    pub async fn jwt_login(&self, username: &str, password: &str) -> (String, String) {
        let resp = self
            .post(
                "/api/auth/jwt/create",
                serde_json::json!({ "username": username, "password": password }),
            )
            .send()
            .await;
        resp.expect(200);
        (resp.str("access"), resp.str("refresh"))
    }

    /// Knox login: the token.
    pub async fn knox_login(&self, username: &str, password: &str) -> String {
        let resp = self
            .post(
                "/api/auth/token/login",
                serde_json::json!({ "username": username, "password": password }),
            )
            .send()
            .await;
        resp.expect(200);
        resp.str("token")
    }

    /// Waits until the server has sent every email and written every
    /// history entry it queued (it does both off the request path), so a
    /// test can count what arrived.
    pub async fn flush(&self) {
        if let Some(server) = &self.server {
            server.auth().flush().await;
        }
        for twin in &self.twins {
            twin.auth().flush().await;
        }
    }

    /// Checks that no secret of this test is in any log line or response
    /// body where the contract does not return it, then stops the server.
    pub async fn finish(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("graceful shutdown");
        }
        let logs = logs::snapshot();
        if let Err(leak) = check_leaks(&logs, &self.lock()) {
            panic!("{leak}");
        }
    }
}

/// Whether `document` (an OpenAPI document) lists `status` among the
/// responses of `method path`'s operation. A path no operation of the
/// document matches, or a method it does not serve (404, 405), passes:
/// there is no operation to list it.
fn check_documented(document: &Value, method: &str, path: &str, status: u16) -> Result<(), String> {
    let path = path.split('?').next().unwrap_or(path);
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    let Some((template, item)) = document["paths"].as_object().and_then(|paths| {
        paths
            .iter()
            .find(|(template, _)| instance_of(template, path))
    }) else {
        return Ok(());
    };
    let Some(responses) = item[method.to_ascii_lowercase()]["responses"].as_object() else {
        return Ok(());
    };
    if responses.contains_key(&status.to_string()) {
        return Ok(());
    }
    Err(format!(
        "{method} {path} answered {status}, which the OpenAPI document does not list for \
         {method} {template} (it lists {:?})",
        responses.keys().collect::<Vec<_>>()
    ))
}

/// Whether `path` is an instance of the path template `template`
/// (`/api/users/{id}`).
fn instance_of(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && !p.is_empty() => {}
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

/// Whether `logs` or the recorded bodies hold a secret of `record`: no
/// password or hash anywhere, tokens only in the bodies that issue them.
fn check_leaks(logs: &str, record: &Record) -> Result<(), String> {
    if logs.contains("$argon2") {
        return Err("a password hash was logged".into());
    }
    if record.passwords.iter().any(|p| logs.contains(p.as_str())) {
        return Err("a password was logged".into());
    }
    if let Some(token) = record.tokens.iter().find(|t| logs.contains(t.as_str())) {
        return Err(format!(
            "a full token was logged: {}...",
            &token[..8.min(token.len())]
        ));
    }
    for (request, carrier, body) in &record.bodies {
        if body.contains("$argon2") {
            return Err(format!("{request} returned a password hash"));
        }
        if record.passwords.iter().any(|p| body.contains(p.as_str())) {
            return Err(format!("{request} returned a password"));
        }
        if !carrier && record.tokens.iter().any(|t| body.contains(t.as_str())) {
            return Err(format!("{request} returned a token it should not: {body}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            passwords: vec!["plum-orbit-cascade-71".into()],
            tokens: vec!["eyJhbGciOi.payload.signature".into()],
            bodies: vec![
                (
                    "POST /api/auth/jwt/create".into(),
                    true,
                    r#"{"access": "eyJhbGciOi.payload.signature"}"#.into(),
                ),
                (
                    "GET /api/auth/me".into(),
                    false,
                    r#"{"username": "a"}"#.into(),
                ),
            ],
        }
    }

    #[test]
    fn clean_runs_pass() {
        check_leaks("INFO login user_id=1", &record()).unwrap();
    }

    #[test]
    fn every_kind_of_leak_is_caught() {
        let logs = [
            "DEBUG password=plum-orbit-cascade-71",
            "DEBUG hash=$argon2id$v=19$m=19456",
            "TRACE authorization: Bearer eyJhbGciOi.payload.signature",
        ];
        for line in logs {
            assert!(check_leaks(line, &record()).is_err(), "{line}");
        }
        for body in [
            r#"{"token": "eyJhbGciOi.payload.signature"}"#,
            r#"{"password": "$argon2id$v=19$..."}"#,
            r#"{"echo": "plum-orbit-cascade-71"}"#,
        ] {
            let mut record = record();
            record
                .bodies
                .push(("GET /api/auth/me".into(), false, body.into()));
            assert!(check_leaks("", &record).is_err(), "{body}");
        }
        assert!(issues_tokens(&Method::POST, "/api/auth/jwt/refresh/"));
        assert!(issues_tokens(&Method::POST, "/api/auth/static-token"));
        assert!(!issues_tokens(&Method::GET, "/api/auth/static-token"));
        assert!(!issues_tokens(&Method::POST, "/api/auth/jwt/verify"));
    }

    #[test]
    fn answers_are_checked_against_the_document() {
        let document = serde_json::json!({"paths": {
            "/api/users": {"get": {"responses": {"200": {}, "401": {}}}},
            "/api/users/{id}": {"delete": {"responses": {"204": {}, "404": {}}}},
        }});
        let check = |method, path, status| check_documented(&document, method, path, status);
        assert!(check("GET", "/api/users?page=2", 200).is_ok());
        assert!(check("GET", "/api/users/", 401).is_ok());
        assert!(check("DELETE", "/api/users/0190", 404).is_ok());
        // Not an operation of the document: nothing to check.
        assert!(check("GET", "/api/nowhere", 404).is_ok());
        assert!(check("PUT", "/api/users", 405).is_ok());
        assert!(check("DELETE", "/api/users//", 404).is_ok());
        // An operation answering a status it does not list.
        let err = check("GET", "/api/users", 429).unwrap_err();
        assert!(err.contains("GET /api/users answered 429"), "{err}");
        assert!(check("DELETE", "/api/users/0190", 400).is_err());
    }
}
