//! The router served on 127.0.0.1:0 with a real HTTP client.

mod common;

use std::sync::Arc;

use auth_axum::{Api, AuthLayer, CurrentUser, MaybeUser, StaffUser};
use auth_core::config::AuthConfig;
use auth_core::mail::MemoryMailer;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, MemoryStore};
use axum::Router;
use axum::routing::get;
use common::serve;
use serde_json::{Value, json};

const PASSWORD: &str = "correct-horse-battery-9";

fn service(mailer: &MemoryMailer) -> Auth {
    Auth::builder(AuthConfig::default().with_throttle(ThrottleConfig::disabled()))
        .store(Arc::new(MemoryStore::new()))
        .mailer(Arc::new(mailer.clone()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("params")).expect("hasher"),
        ))
        .build()
        .expect("service")
}

/// A staff user `boss` and a plain user `ada`.
async fn two_users(auth: &Auth) {
    auth.create_superuser("boss", "boss@example.com", PASSWORD)
        .await
        .expect("staff");
    let input = auth_core::flows::AdminUserInput::new_user("ada", "ada@example.com")
        .with_password(PASSWORD);
    auth.create_user(input).await.expect("user");
}

async fn whoami(user: CurrentUser) -> String {
    user.username.clone()
}

async fn maybe(MaybeUser(user): MaybeUser) -> String {
    user.map_or_else(|| "anonymous".to_string(), |who| who.user.username)
}

async fn staff_only(user: StaffUser) -> String {
    format!("staff {}", user.username)
}

fn app_routes() -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/maybe", get(maybe))
        .route("/staff", get(staff_only))
}

#[tokio::test]
async fn smoke_register_activate_login_me() {
    let mailer = MemoryMailer::default();
    let auth = service(&mailer);
    let base = serve(auth_axum::router(Api::new(auth.clone()))).await;
    let client = reqwest::Client::new();

    let created = client
        .post(format!("{base}/api/auth/register/"))
        .json(&json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD, "confirm_password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(created.status(), 201);
    let user: Value = created.json().await.expect("json");
    assert_eq!(user["is_active"], false);

    auth.flush().await;
    let email = mailer.last_to("ada@example.com").expect("activation email");
    let link = email
        .body
        .split_whitespace()
        .find(|word| word.contains("/activate/"))
        .expect("link");
    let mut parts = link.rsplit('/');
    let token = parts.next().expect("token");
    let uid = parts.next().expect("uid");
    let activated = client
        .post(format!("{base}/api/auth/activate"))
        .json(&json!({"uid": uid, "token": token}))
        .send()
        .await
        .expect("activate");
    assert_eq!(activated.status(), 200);

    let pair: Value = client
        .post(format!("{base}/api/auth/jwt/create"))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let access = pair["access"].as_str().expect("access");
    let me = client
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["username"], "ada");

    let history: Value = client
        .get(format!("{base}/api/auth/me/history"))
        .bearer_auth(access)
        .header("User-Agent", "smoke/1")
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(
        history["results"][0]["ip"], "127.0.0.1",
        "peer address from ConnectInfo"
    );

    let anonymous = client
        .get(format!("{base}/api/auth/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        "Bearer realm=\"api\""
    );

    let unknown = client
        .get(format!("{base}/api/nope"))
        .send()
        .await
        .expect("404");
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.expect("json");
    assert_eq!(body, json!({"detail": "Not found."}));

    let not_allowed = client
        .delete(format!("{base}/api/auth/jwt/create"))
        .send()
        .await
        .expect("405");
    assert_eq!(not_allowed.status(), 405);
    assert_eq!(not_allowed.headers()["allow"], "POST, OPTIONS");

    let too_big = client
        .post(format!("{base}/api/auth/jwt/create"))
        .header("Content-Type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .expect("413");
    assert_eq!(too_big.status(), 413);
    let body: Value = too_big.json().await.expect("json");
    assert_eq!(body, json!({"detail": "Request body is too large."}));
}

#[tokio::test]
async fn extractors_with_and_without_the_layer() {
    let mailer = MemoryMailer::default();
    let auth = service(&mailer);
    two_users(&auth).await;

    let app = app_routes()
        .merge(auth_axum::router(Api::new(auth.clone())))
        .layer(AuthLayer::new(auth.clone()));
    let base = serve(app).await;
    let client = reqwest::Client::new();
    let login = |username: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let body: Value = client
                .post(format!("{base}/api/auth/token/login"))
                .json(&json!({"username": username, "password": PASSWORD}))
                .send()
                .await
                .expect("login")
                .json()
                .await
                .expect("json");
            format!("Token {}", body["token"].as_str().expect("token"))
        }
    };
    let ada = login("ada").await;
    let boss = login("boss").await;

    let get = |path: &'static str, authorization: Option<String>| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let mut request = client.get(format!("{base}{path}"));
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            let www = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap_or("").to_string());
            (status, response.text().await.expect("text"), www)
        }
    };
    assert_eq!(get("/whoami", Some(ada.clone())).await.1, "ada");
    let (status, body, www) = get("/whoami", None).await;
    assert_eq!(status, 401);
    assert!(body.contains("not_authenticated"));
    assert_eq!(www.as_deref(), Some("Bearer realm=\"api\""));
    assert_eq!(get("/whoami", Some("Token nope".into())).await.0, 401);
    assert_eq!(get("/maybe", None).await.1, "anonymous");
    assert_eq!(get("/maybe", Some(ada.clone())).await.1, "ada");
    assert_eq!(get("/maybe", Some("Bearer x".into())).await.0, 401);
    assert_eq!(get("/staff", None).await.0, 401);
    let (status, body, _) = get("/staff", Some(ada.clone())).await;
    assert_eq!(status, 403);
    assert!(body.contains("You do not have permission"));
    assert_eq!(get("/staff", Some(boss.clone())).await.1, "staff boss");
    // The merged contract routes still answer under the layer.
    assert_eq!(get("/api/users", Some(boss)).await.0, 200);

    let bare = serve(app_routes()).await;
    let response = client
        .get(format!("{bare}/whoami"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("is the AuthLayer installed"))
    );
}

#[tokio::test]
async fn openapi_and_docs() {
    let auth = service(&MemoryMailer::default());
    let base = serve(auth_axum::router(Api::new(auth))).await;
    let client = reqwest::Client::new();
    let doc: Value = client
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("valid JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in [
        "/healthz",
        "/api/openapi.json",
        "/api/docs",
        "/api/auth/register",
        "/api/auth/activate",
        "/api/auth/activate/resend",
        "/api/auth/password/reset",
        "/api/auth/password/reset/confirm",
        "/api/auth/password/change",
        "/api/auth/me",
        "/api/auth/me/history",
        "/api/auth/jwt/create",
        "/api/auth/jwt/refresh",
        "/api/auth/jwt/verify",
        "/api/auth/jwt/blacklist",
        "/api/auth/jwks.json",
        "/api/auth/token/login",
        "/api/auth/token/logout",
        "/api/auth/token/logoutall",
        "/api/auth/token/sessions",
        "/api/auth/token/sessions/{token_key}",
        "/api/auth/static-token",
        "/api/users",
        "/api/users/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }

    let docs = client
        .get(format!("{base}/api/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), 200);
    assert!(
        docs.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    let html = docs.text().await.expect("html");
    assert!(html.contains("swagger-ui-bundle.js"));
    let js = client
        .get(format!("{base}/api/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .expect("js");
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.contains("javascript"))
    );
    assert!(js.bytes().await.expect("bytes").len() > 10_000);
    let health: Value = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health, json!({"status": "ok"}));
}

/// A writer into a shared buffer, for the log lines of one test.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Served without `ConnectInfo`, the router cannot tell the client's
/// address: its first request logs one warning naming the fix, instead of
/// turning per-address limits off silently.
#[tokio::test]
async fn an_unknown_peer_address_is_warned_about_once() {
    use tower_service::Service;
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut app = auth_axum::router(Api::new(service(&MemoryMailer::default())));
    for _ in 0..3 {
        let request = axum::http::Request::get("/healthz")
            .body(axum::body::Body::empty())
            .expect("request");
        let response = app.call(request).await.expect("infallible");
        assert_eq!(response.status(), 200);
    }
    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    let fix = "into_make_service_with_connect_info::<SocketAddr>()";
    assert_eq!(
        text.matches(fix).count(),
        1,
        "one warning naming the fix: {text}"
    );
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("per-address rate limits"), "{text}");
}

/// An application's own state, as a user's app has one.
#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

async fn greet(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: CurrentUser,
) -> String {
    format!("{}, {}", state.greeting, user.username)
}

/// `router` and `routes` are `Router<S>` for any state: an app whose
/// router is a `Router<AppState>` merges them before its `with_state`, and
/// both its handlers and the contract's routes answer.
#[tokio::test]
async fn the_routes_merge_into_an_app_with_state_before_with_state() {
    let auth = service(&MemoryMailer::default());
    two_users(&auth).await;
    for with_fallback in [true, false] {
        let api = Api::new(auth.clone());
        let contract: Router<AppState> = if with_fallback {
            auth_axum::router(api)
        } else {
            auth_axum::routes(api)
        };
        let app: Router = Router::<AppState>::new()
            .route("/greet", get(greet))
            .merge(contract)
            .layer(AuthLayer::new(auth.clone()))
            .with_state(AppState { greeting: "Hello" });
        let base = serve(app).await;
        let client = reqwest::Client::new();
        let token = knox_login(&client, &format!("{base}/api/auth/token/login/"), "ada").await;
        let greeting = send_get(&client, &format!("{base}/greet"), Some(&token)).await;
        assert_eq!(greeting.status(), 200);
        assert_eq!(greeting.text().await.expect("text"), "Hello, ada");
        let (status, me) = get_json(&client, &format!("{base}/api/auth/me"), Some(&token)).await;
        assert_eq!((status, me["username"].clone()), (200, json!("ada")));
        // Unknown paths: the contract's 404 with the fallback, axum's
        // empty 404 without it.
        let missing = client
            .get(format!("{base}/nowhere"))
            .send()
            .await
            .expect("missing");
        assert_eq!(missing.status(), 404);
        let text = missing.text().await.expect("text");
        assert_eq!(text.contains("Not found."), with_fallback, "{text}");
    }
}

/// Logs `username` in with a Knox token at `login_url`; the
/// `Authorization` value.
async fn knox_login(client: &reqwest::Client, login_url: &str, username: &str) -> String {
    let login = client
        .post(login_url)
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200, "{login_url}");
    let body: Value = login.json().await.expect("json");
    format!("Token {}", body["token"].as_str().expect("token"))
}

/// GETs `url`, with `authorization` if any.
async fn send_get(
    client: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.send().await.expect("send")
}

/// GETs `url` as JSON, with `authorization` if any: (status, body).
async fn get_json(
    client: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
) -> (u16, Value) {
    let response = send_get(client, url, authorization).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Under a non-default prefix (`ApiOptions::with_prefix("/v1")`, merged
/// into an app with state) and under `Router::nest("/svc", ...)`, the
/// routes answer there, and the pagination links and the OpenAPI document
/// carry the prefix and the mount point.
#[tokio::test]
async fn a_prefix_or_a_nest_carries_into_links_and_the_document() {
    let auth = service(&MemoryMailer::default());
    two_users(&auth).await;
    let client = reqwest::Client::new();

    // The prefix: the routes under /v1, merged before the app's with_state.
    let options = auth_axum::ApiOptions::default()
        .with_prefix("/v1")
        .expect("prefix");
    let api = Api::with_options(auth.clone(), options);
    let app: Router = Router::<AppState>::new()
        .route("/greet", get(greet))
        .merge(auth_axum::router(api))
        .with_state(AppState { greeting: "Hi" });
    let base = serve(app).await;
    let boss = knox_login(&client, &format!("{base}/v1/auth/token/login"), "boss").await;
    let (status, page) = get_json(
        &client,
        &format!("{base}/v1/users?page_size=1"),
        Some(&boss),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 2);
    assert_eq!(page["next"], format!("{base}/v1/users?page_size=1&page=2"));
    let url = format!("{base}/v1/users?page_size=1&page=2");
    let (_, page) = get_json(&client, &url, Some(&boss)).await;
    assert_eq!(page["previous"], format!("{base}/v1/users?page_size=1"));
    let (status, _) = get_json(&client, &format!("{base}/api/users"), Some(&boss)).await;
    assert_eq!(status, 404);
    let (status, document) = get_json(&client, &format!("{base}/v1/openapi.json"), None).await;
    assert_eq!(status, 200);
    assert!(document["paths"]["/v1/users"].is_object(), "{document}");
    assert!(document["paths"]["/api/users"].is_null());
    assert!(document.get("servers").is_none());
    let (status, _) = get_json(&client, &format!("{base}/healthz"), None).await;
    assert_eq!(status, 200);

    // The nest: the default prefix under /svc.
    let app: Router = Router::new().nest("/svc", auth_axum::router(Api::new(auth.clone())));
    let base = serve(app).await;
    let boss = knox_login(
        &client,
        &format!("{base}/svc/api/auth/token/login/"),
        "boss",
    )
    .await;
    let url = format!("{base}/svc/api/users/?page_size=1");
    let (status, page) = get_json(&client, &url, Some(&boss)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["next"],
        format!("{base}/svc/api/users/?page_size=1&page=2")
    );
    let (status, document) = get_json(&client, &format!("{base}/svc/api/openapi.json"), None).await;
    assert_eq!(status, 200);
    assert_eq!(document["servers"], json!([{"url": "/svc"}]));
    assert!(document["paths"]["/api/users"].is_object(), "{document}");
    let (status, health) = get_json(&client, &format!("{base}/svc/healthz"), None).await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    let (status, missing) = get_json(&client, &format!("{base}/svc/nowhere"), None).await;
    assert_eq!((status, missing), (404, json!({"detail": "Not found."})));
    let docs = send_get(&client, &format!("{base}/svc/api/docs"), None).await;
    assert_eq!(docs.status(), 200);
}
