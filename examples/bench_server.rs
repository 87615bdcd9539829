//! The demo server as `benches/http_load.sh` runs it: the same settings
//! (flags and `AUTH_*` variables, see `demo_server`), the same routes, and
//! two routes for the benchmark only:
//!
//! - `GET /hello`: a short plain-text answer, no authentication, mounted in
//!   the same application as the contract's routes;
//! - `GET /baseline/me`: the hand-written route a user would write without
//!   this library (axum, `jsonwebtoken` and one `sqlx` query on a pool of
//!   its own), to compare `GET /api/auth/me` with.
//!
//! The baseline verifies HS256 tokens with the server secret, so it needs
//! `--secret-key` (or `AUTH_SECRET_KEY`) and `--jwt-algorithm HS256`. It is
//! always served by axum: with `--framework actix` it listens on the port
//! after the server's.
//!
//! ```text
//! cargo run --release --example bench_server -- --jwt-secret S --login-throttle off
//! ```
//!
//! `bench_server hash-loop` serves nothing: it verifies one password with
//! the demo's hasher (Argon2id with OWASP's parameters, as a login does)
//! over and over on one thread until it is killed. The load scenario runs
//! it at the hashing threads' priority (`nice -n 19`) beside the paced
//! probe, as a control: what Argon2 itself costs requests on this machine,
//! with no login and no request behind it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use auth_core::password::{Argon2idHasher, PasswordHasher};
use auth_core::token::jwt::Algorithm;
use auth_demo::{Cli, Framework, Settings};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use clap::Parser;
use jsonwebtoken::{DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, SqlitePool};
use uuid::Uuid;

type BoxError = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "hash-loop")
    {
        return hash_loop();
    }
    let cli = Cli::parse();
    auth_demo::init_tracing(cli.settings.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("bench_server: cannot start the Tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if cli.command.is_some() {
            // `create-superuser`: exactly the demo's.
            return auth_demo::run(cli).await.map_err(BoxError::from);
        }
        serve(cli.settings).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_server: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `hash-loop`: one password verified with the default Argon2id hasher,
/// again and again; returns only if hashing fails.
fn hash_loop() -> ExitCode {
    const PASSWORD: &str = "Bench-pass-123!";
    let hasher = Argon2idHasher::default();
    let encoded = match hasher.hash(PASSWORD) {
        Ok(encoded) => encoded,
        Err(err) => {
            eprintln!("bench_server hash-loop: {err}");
            return ExitCode::FAILURE;
        }
    };
    while hasher.verify(PASSWORD, &encoded).ok {}
    eprintln!("bench_server hash-loop: the password no longer verifies");
    ExitCode::FAILURE
}

/// Serves the demo's routes, `/hello` and the baseline until Ctrl-C or
/// SIGTERM.
async fn serve(settings: Settings) -> Result<(), BoxError> {
    let secret = match (&settings.jwt_secret, settings.jwt_algorithm) {
        (Some(secret), Algorithm::HS256) => secret.expose().as_bytes().to_vec(),
        _ => return Err("the baseline needs --jwt-secret and HS256".into()),
    };
    // The demo's service first: it creates and migrates the database.
    let auth = auth_demo::build_auth(&settings).await?;
    let baseline = Baseline::connect(settings.database_url.expose(), &secret).await?;
    let api = auth_axum::Api::new(auth);
    let database = settings.database_display();
    match settings.framework {
        Framework::Axum => {
            let listener = tokio::net::TcpListener::bind(&settings.bind).await?;
            let app = auth_axum::router(api).merge(bench_routes(baseline));
            println!(
                "bench server (axum, database {database}) listening on http://{}",
                listener.local_addr()?
            );
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(auth_demo::shutdown_signal())
            .await?;
        }
        Framework::Actix => {
            use actix_web::{App, HttpServer, web};
            let listener = std::net::TcpListener::bind(&settings.bind)?;
            listener.set_nonblocking(true)?;
            let addr = listener.local_addr()?;
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(auth_actix::AuthMiddleware::new(api.auth().clone()))
                    .route("/hello", web::get().to(hello))
                    .configure(auth_actix::configure(api.clone()))
            })
            .listen(listener)?
            .run();
            let next_port = addr.port().checked_add(1).ok_or("no port after 65535")?;
            let baseline_addr = SocketAddr::new(addr.ip(), next_port);
            let baseline_listener = tokio::net::TcpListener::bind(baseline_addr).await?;
            println!(
                "bench server (actix, database {database}) listening on http://{addr}, \
                 baseline on http://{baseline_addr}"
            );
            let baseline_server = tokio::spawn(async move {
                axum::serve(baseline_listener, bench_routes(baseline)).await
            });
            let handle = server.handle();
            let running = tokio::spawn(server);
            auth_demo::shutdown_signal().await;
            handle.stop(true).await;
            baseline_server.abort();
            running.await??;
        }
    }
    Ok(())
}

/// `GET /hello` and `GET /baseline/me`.
fn bench_routes(baseline: Baseline) -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/baseline/me", get(baseline_me))
        .with_state(Arc::new(baseline))
}

/// The unauthenticated route: the framework's own cost.
async fn hello() -> &'static str {
    "Hello, world!"
}

// The hand-written baseline, as a user of axum, jsonwebtoken and sqlx would
// write it for these tables.

/// The baseline's state: the JWT key and its own database pool.
struct Baseline {
    key: DecodingKey,
    validation: Validation,
    db: Db,
}

enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The claims the baseline reads.
#[derive(Deserialize)]
struct Claims {
    user_id: Uuid,
    token_type: String,
}

/// A row of `auth_users`; `T` is how the database stores times (SQLite:
/// integer microseconds since the epoch; PostgreSQL: `TIMESTAMPTZ`).
#[derive(sqlx::FromRow, Serialize)]
struct UserRow<T> {
    id: Uuid,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    is_staff: bool,
    date_joined: T,
    last_login: Option<T>,
    #[sqlx(json)]
    profile: serde_json::Value,
}

const SELECT_USER: &str = "SELECT id, username, email, first_name, last_name, is_active, \
     is_staff, date_joined, last_login, profile FROM auth_users WHERE id = $1";

impl Baseline {
    async fn connect(url: &str, secret: &[u8]) -> Result<Self, sqlx::Error> {
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(SqlitePool::connect(url).await?)
        } else {
            Db::Postgres(PgPool::connect(url).await?)
        };
        Ok(Self {
            key: DecodingKey::from_secret(secret),
            validation: Validation::new(jsonwebtoken::Algorithm::HS256),
            db,
        })
    }

    async fn user(&self, id: Uuid) -> Result<Option<UserRow<DateTime<Utc>>>, sqlx::Error> {
        match &self.db {
            Db::Sqlite(pool) => {
                let row: Option<UserRow<i64>> = sqlx::query_as(SELECT_USER)
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
                Ok(row.map(|row| UserRow {
                    date_joined: micros(row.date_joined),
                    last_login: row.last_login.map(micros),
                    id: row.id,
                    username: row.username,
                    email: row.email,
                    first_name: row.first_name,
                    last_name: row.last_name,
                    is_active: row.is_active,
                    is_staff: row.is_staff,
                    profile: row.profile,
                }))
            }
            Db::Postgres(pool) => {
                sqlx::query_as(SELECT_USER)
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
        }
    }
}

fn micros(time: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time).unwrap_or_default()
}

/// `GET /baseline/me`: the bearer JWT's user as JSON.
async fn baseline_me(State(baseline): State<Arc<Baseline>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let claims = match jsonwebtoken::decode::<Claims>(token, &baseline.key, &baseline.validation) {
        Ok(data) if data.claims.token_type == "access" => data.claims,
        _ => return StatusCode::UNAUTHORIZED.into_response(),
    };
    match baseline.user(claims.user_id).await {
        Ok(Some(user)) if user.is_active => match serde_json::to_vec(&user) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Ok(Some(_)) => StatusCode::UNAUTHORIZED.into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
