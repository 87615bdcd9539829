//! The routes served by a real actix-web server on 127.0.0.1:0 with a real
//! HTTP client, compared with auth-axum's answers to the same requests.

mod support;

use std::sync::Arc;

use actix_web::middleware::Condition;
use actix_web::{App, web};
use auth_actix::{Api, ApiOptions, AuthMiddleware, CurrentUser, MaybeUser, RouteGroups, StaffUser};
use auth_core::config::AuthConfig;
use auth_core::mail::MemoryMailer;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, MemoryStore};
use serde_json::{Value, json};
use support::{Actix, serve_axum, serve_axum_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

async fn whoami(user: CurrentUser) -> String {
    user.username.clone()
}

async fn maybe(MaybeUser(user): MaybeUser) -> String {
    user.map_or_else(|| "anonymous".to_string(), |who| who.user.username)
}

async fn staff_only(user: StaffUser) -> String {
    format!("staff {}", user.username)
}

/// Serves, with one worker on a random port: the app's own routes
/// (`/whoami`, `/maybe`, `/staff`), the contract's routes when `api` is
/// given, all under the [`AuthMiddleware`] when `middleware`.
fn serve_actix(auth: Auth, api: Option<Api>, middleware: bool) -> Actix {
    support::serve(move || {
        let api = api.clone();
        App::new()
            // actix-web's own body limit plays no part in the routes.
            .app_data(web::PayloadConfig::new(8))
            .wrap(Condition::new(
                middleware,
                AuthMiddleware::new(auth.clone()),
            ))
            .route("/whoami", web::get().to(whoami))
            .route("/maybe", web::get().to(maybe))
            .route("/staff", web::get().to(staff_only))
            .configure(move |config| {
                if let Some(api) = api {
                    auth_actix::configure(api)(config);
                }
            })
    })
}

/// A response's status, `WWW-Authenticate` header and body as text.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    status: u16,
    www_authenticate: Option<String>,
    text: String,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or("<not UTF-8>").to_string());
        let text = response.text().await.expect("text");
        Self {
            status,
            www_authenticate,
            text,
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("json")
    }
}

/// POSTs `body` as JSON to `base` + `path`.
async fn post(client: &reqwest::Client, base: &str, path: &str, body: Value) -> Reply {
    let response = client.post(format!("{base}{path}")).json(&body).send();
    Reply::from(response.await.expect("send")).await
}

/// GETs `base` + `path`, with this `Authorization` header if any.
async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    authorization: Option<&str>,
) -> Reply {
    let mut request = client.get(format!("{base}{path}"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    Reply::from(request.send().await.expect("send")).await
}

#[tokio::test]
async fn smoke_register_activate_login_me() {
    let mailer = MemoryMailer::default();
    let auth = service(&mailer);
    let server = serve_actix(auth.clone(), Some(Api::new(auth.clone())), true);
    let (base, client) = (server.base.as_str(), reqwest::Client::new());

    let registration = json!({
        "username": "ada", "email": "ada@example.com",
        "password": PASSWORD, "confirm_password": PASSWORD,
    });
    let created = post(&client, base, "/api/auth/register/", registration).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["is_active"], false);

    // The activation link's last two segments: /activate/<uid>/<token>.
    auth.flush().await;
    let email = mailer.last_to("ada@example.com").expect("activation email");
    let link = email
        .body
        .split_whitespace()
        .find(|word| word.contains("/activate/"))
        .expect("link");
    let segments: Vec<&str> = link.rsplitn(3, '/').collect();
    let activation = json!({"uid": segments[1], "token": segments[0]});
    let activated = post(&client, base, "/api/auth/activate", activation).await;
    assert_eq!(activated.status, 200, "{}", activated.text);

    let credentials = json!({"email": "ada@example.com", "password": PASSWORD});
    let pair = post(&client, base, "/api/auth/jwt/create", credentials).await;
    assert_eq!(pair.status, 200);
    let bearer = format!("Bearer {}", pair.json()["access"].as_str().expect("access"));
    let me = get(&client, base, "/api/auth/me", Some(&bearer)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "ada");

    // The login was recorded with the peer's address.
    let history = get(&client, base, "/api/auth/me/history", Some(&bearer)).await;
    assert_eq!(
        history.json()["results"][0]["ip"],
        "127.0.0.1",
        "peer address from HttpRequest::peer_addr"
    );

    let anonymous = get(&client, base, "/api/auth/me", None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.www_authenticate.as_deref(),
        Some("Bearer realm=\"api\"")
    );

    // The default limit is 64 KiB.
    let too_big = client
        .post(format!("{base}/api/auth/jwt/create"))
        .header("Content-Type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .expect("413");
    let too_big = Reply::from(too_big).await;
    assert_eq!(too_big.status, 413);
    assert_eq!(
        too_big.json(),
        json!({"detail": "Request body is too large."})
    );
    server.stop().await;
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

#[tokio::test]
async fn routes_authenticate_themselves_without_the_middleware() {
    let auth = service(&MemoryMailer::default());
    two_users(&auth).await;
    let server = serve_actix(auth.clone(), Some(Api::new(auth)), false);
    let client = reqwest::Client::new();
    let credentials = json!({"username": "boss", "password": PASSWORD});
    let pair = post(&client, &server.base, "/api/auth/jwt/create", credentials).await;
    let bearer = format!("Bearer {}", pair.json()["access"].as_str().expect("access"));
    let users = get(
        &client,
        &server.base,
        "/api/users?page_size=1",
        Some(&bearer),
    )
    .await;
    assert_eq!(users.status, 200);
    assert_eq!(users.json()["count"], 2);
    server.stop().await;
}

#[tokio::test]
async fn extractors_with_and_without_the_middleware() {
    let auth = service(&MemoryMailer::default());
    two_users(&auth).await;
    let server = serve_actix(auth.clone(), Some(Api::new(auth.clone())), true);
    let base = server.base.as_str();
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for username in ["ada", "boss"] {
        let credentials = json!({"username": username, "password": PASSWORD});
        let login = post(&client, base, "/api/auth/token/login", credentials).await;
        tokens.push(format!(
            "Token {}",
            login.json()["token"].as_str().expect("token")
        ));
    }
    let (ada, boss) = (Some(tokens[0].as_str()), Some(tokens[1].as_str()));
    let www = Some("Bearer realm=\"api\"");

    assert_eq!(get(&client, base, "/whoami", ada).await.text, "ada");
    let anonymous = get(&client, base, "/whoami", None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["code"], "not_authenticated");
    assert_eq!(anonymous.www_authenticate.as_deref(), www);
    let forged = get(&client, base, "/whoami", Some("Token nope")).await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.www_authenticate.as_deref(), www);
    assert_eq!(get(&client, base, "/maybe", None).await.text, "anonymous");
    assert_eq!(get(&client, base, "/maybe", ada).await.text, "ada");
    let forged = get(&client, base, "/maybe", Some("Bearer x")).await;
    assert_eq!(forged.status, 401);
    assert_eq!(get(&client, base, "/staff", None).await.status, 401);
    let not_staff = get(&client, base, "/staff", ada).await;
    assert_eq!(not_staff.status, 403);
    assert_eq!(
        not_staff.json(),
        json!({"detail": "You do not have permission to perform this action."})
    );
    assert_eq!(get(&client, base, "/staff", boss).await.text, "staff boss");
    // The contract routes still answer under the middleware.
    assert_eq!(get(&client, base, "/api/users", boss).await.status, 200);
    assert_eq!(get(&client, base, "/api/users", ada).await.status, 403);

    // The same extractor answers as auth-axum's for the same requests.
    let axum_base = {
        use axum::routing::get as axum_get;
        async fn whoami(user: auth_axum::CurrentUser) -> String {
            user.username.clone()
        }
        async fn staff_only(user: auth_axum::StaffUser) -> String {
            format!("staff {}", user.username)
        }
        let app = axum::Router::new()
            .route("/whoami", axum_get(whoami))
            .route("/staff", axum_get(staff_only));
        serve_axum_app(app, &auth).await
    };
    for (path, authorization) in [
        ("/whoami", None),
        ("/whoami", Some("Token nope")),
        ("/whoami", Some("Bearer")),
        ("/staff", ada),
        ("/staff", boss),
    ] {
        assert_eq!(
            get(&client, base, path, authorization).await,
            get(&client, &axum_base, path, authorization).await,
            "{path} {authorization:?}"
        );
    }

    let bare = serve_actix(auth, None, false);
    for path in ["/whoami", "/maybe", "/staff"] {
        let missing = get(&client, &bare.base, path, ada).await;
        assert_eq!(missing.status, 500);
        assert!(
            missing.json()["detail"]
                .as_str()
                .is_some_and(|d| d.contains("is the AuthMiddleware installed")),
            "{}",
            missing.text
        );
    }
    bare.stop().await;
    server.stop().await;
}

/// What is compared between the two frameworks' answers.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, Option<String>)>,
    body: Vec<u8>,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = [
        "content-type",
        "allow",
        "www-authenticate",
        "retry-after",
        "content-length",
    ]
    .into_iter()
    .map(|name| {
        let value = response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not UTF-8>").to_string());
        (name, value)
    })
    .collect();
    let body = response.bytes().await.expect("body").to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends `body` chunked (no `Content-Length`) over a raw connection;
/// returns the status code and the body after the headers.
async fn chunked_post(base: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in body.chunks(1024) {
        let frame = format!("{:x}\r\n", chunk.len());
        // The server may answer and close before the whole body is sent.
        if stream.write_all(frame.as_bytes()).await.is_err()
            || stream.write_all(chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk, then the last: keep the first chunk's data.
        rest.split_once("\r\n")
            .map(|(_, data)| data.split("\r\n").next().unwrap_or(""))
            .unwrap_or("")
    } else {
        rest
    };
    (status, body.as_bytes().to_vec())
}

/// A request and what it must get: (method, path, content type, body, the
/// status expected, and the body where spelled out).
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Vec<u8>,
    u16,
    Option<Value>,
);

#[tokio::test]
async fn error_shapes_match_axum() {
    let auth = service(&MemoryMailer::default());
    let options = ApiOptions::default().with_body_limit(4 * 1024);
    let api = Api::with_options(auth.clone(), options);
    let actix = serve_actix(auth.clone(), Some(api.clone()), true);
    let axum_base = serve_axum(api).await;
    let client = reqwest::Client::new();

    let json = Some("application/json");
    let not_found = Some(json!({"detail": "Not found."}));
    // Bodies spelled out where agreeing on a wrong answer would pass.
    let requests: Vec<Case<'_>> = vec![
        // 404: unknown paths, inside and outside /api, and too deep.
        ("GET", "/api/nope", None, vec![], 404, not_found.clone()),
        ("GET", "/nope/at/all", None, vec![], 404, not_found.clone()),
        ("POST", "/", None, vec![], 404, not_found.clone()),
        (
            "GET",
            "/api/users/a/b",
            None,
            vec![],
            404,
            not_found.clone(),
        ),
        ("GET", "/api/auth/me//", None, vec![], 404, not_found),
        // 405 with Allow, and OPTIONS.
        (
            "DELETE",
            "/api/auth/jwt/create",
            None,
            vec![],
            405,
            Some(json!({"detail": "Method \"DELETE\" not allowed."})),
        ),
        ("PUT", "/api/auth/me/", None, vec![], 405, None),
        (
            "GET",
            "/api/auth/token/sessions/abc",
            None,
            vec![],
            405,
            None,
        ),
        ("OPTIONS", "/api/users", None, vec![], 200, None),
        ("OPTIONS", "/api/users/123/", None, vec![], 200, None),
        // 413 over the limit (declared by Content-Length).
        (
            "POST",
            "/api/auth/jwt/create",
            json,
            vec![b' '; 5 * 1024],
            413,
            Some(json!({"detail": "Request body is too large."})),
        ),
        // 415 and malformed JSON.
        (
            "POST",
            "/api/auth/jwt/create",
            Some("text/plain"),
            b"username=ada".to_vec(),
            415,
            Some(json!({"detail": "Unsupported media type \"text/plain\" in request."})),
        ),
        (
            "POST",
            "/api/auth/register",
            Some("application/x-www-form-urlencoded"),
            b"a=b".to_vec(),
            415,
            None,
        ),
        (
            "POST",
            "/api/auth/jwt/create/",
            json,
            b"{\"username\": ".to_vec(),
            400,
            None,
        ),
        // Validation and authentication errors, and a few successes.
        (
            "POST",
            "/api/auth/jwt/create",
            json,
            b"{}".to_vec(),
            400,
            None,
        ),
        ("GET", "/api/auth/me", None, vec![], 401, None),
        ("GET", "/api/users?page=x", None, vec![], 401, None),
        ("HEAD", "/healthz", None, vec![], 200, None),
        ("GET", "/healthz/", None, vec![], 200, None),
        ("GET", "/api/auth/jwks.json", None, vec![], 200, None),
        ("GET", "/api/docs/", None, vec![], 200, None),
        ("GET", "/api/docs/nope.js", None, vec![], 404, None),
    ];
    for (method, path, content_type, body, status, expected) in requests {
        let send = |base: String| {
            let client = client.clone();
            let body = body.clone();
            async move {
                let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
                let mut request = client.request(method, format!("{base}{path}")).body(body);
                if let Some(content_type) = content_type {
                    request = request.header("Content-Type", content_type);
                }
                answer(request.send().await.expect("send")).await
            }
        };
        let from_actix = send(actix.base.clone()).await;
        let from_axum = send(axum_base.clone()).await;
        assert_eq!(from_actix, from_axum, "{method} {path}");
        assert_eq!(from_actix.status, status, "{method} {path}");
        if let Some(expected) = expected {
            let body: Value = serde_json::from_slice(&from_actix.body).expect("json");
            assert_eq!(body, expected, "{method} {path}");
        }
    }

    // A chunked body with no Content-Length is cut at the limit too.
    let big = vec![b' '; 6 * 1024];
    let from_actix = chunked_post(&actix.base, "/api/auth/jwt/create", &big).await;
    let from_axum = chunked_post(&axum_base, "/api/auth/jwt/create", &big).await;
    assert_eq!(from_actix.0, 413);
    assert_eq!(from_actix, from_axum);
    let small = br#"{"username": "nobody", "password": "x"}"#;
    let from_actix = chunked_post(&actix.base, "/api/auth/jwt/create", small).await;
    let from_axum = chunked_post(&axum_base, "/api/auth/jwt/create", small).await;
    assert_eq!(from_actix.0, 401);
    assert_eq!(from_actix, from_axum);
    actix.stop().await;
}

#[tokio::test]
async fn route_groups_match_axum() {
    let auth = service(&MemoryMailer::default());
    let groups = RouteGroups {
        jwt: true,
        docs: true,
        ..RouteGroups::none()
    };
    let api = Api::with_options(auth.clone(), ApiOptions::default().with_groups(groups));
    let actix = serve_actix(auth, Some(api.clone()), true);
    let axum_base = serve_axum(api).await;
    let client = reqwest::Client::new();
    for (path, status) in [
        ("/api/users", 404),
        ("/healthz", 404),
        ("/api/auth/me", 404),
        ("/api/auth/token/sessions", 404),
        ("/api/auth/jwks.json", 200),
        ("/api/openapi.json", 200),
    ] {
        let get = |base: &str| client.get(format!("{base}{path}")).send();
        let from_actix = answer(get(&actix.base).await.expect("send")).await;
        let from_axum = answer(get(&axum_base).await.expect("send")).await;
        assert_eq!(from_actix.status, status, "{path}");
        assert_eq!(from_actix, from_axum, "{path}");
    }
    actix.stop().await;
}

/// Fetches `/api/openapi.json` from both frameworks serving the same `Auth`
/// with the same options, and compares the bytes.
async fn same_openapi(options: ApiOptions) {
    let auth = service(&MemoryMailer::default());
    // Two `Api` values, so neither server reuses the other's cached document.
    let actix = serve_actix(
        auth.clone(),
        Some(Api::with_options(auth.clone(), options.clone())),
        true,
    );
    let axum_base = serve_axum(Api::with_options(auth, options)).await;
    let client = reqwest::Client::new();
    let fetch = |base: String| {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("{base}/api/openapi.json"))
                .send()
                .await
                .expect("openapi");
            assert_eq!(response.status(), 200);
            response.bytes().await.expect("bytes")
        }
    };
    let from_actix = fetch(actix.base.clone()).await;
    let from_axum = fetch(axum_base).await;
    assert!(!from_actix.is_empty());
    assert_eq!(from_actix, from_axum, "the OpenAPI documents differ");
    let doc: Value = serde_json::from_slice(&from_actix).expect("valid JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    actix.stop().await;
}

#[tokio::test]
async fn openapi_documents_are_identical() {
    same_openapi(ApiOptions::default()).await;
    same_openapi(ApiOptions::default().with_groups(RouteGroups {
        knox: true,
        docs: true,
        ..RouteGroups::none()
    }))
    .await;
    // The cookie scheme and the CSRF header, documented when on.
    same_openapi(
        ApiOptions::default().with_cookie_transport(auth_actix::CookieTransport::default()),
    )
    .await;
}

#[tokio::test]
async fn swagger_ui_is_served_offline_like_axum() {
    let auth = service(&MemoryMailer::default());
    let api = Api::new(auth.clone());
    let actix = serve_actix(auth, Some(api.clone()), true);
    let axum_base = serve_axum(api).await;
    let client = reqwest::Client::new();
    for (path, content_type, needle) in [
        ("/api/docs", "text/html", &b"swagger-ui-bundle.js"[..]),
        ("/api/docs/", "text/html", b"swagger-ui-bundle.js"),
        (
            "/api/docs/swagger-ui-bundle.js",
            "javascript",
            b"SwaggerUIBundle",
        ),
        ("/api/docs/swagger-ui.css", "text/css", b".swagger-ui"),
        ("/api/docs/openapi.json", "application/json", b"\"openapi\""),
    ] {
        let get = |base: &str| client.get(format!("{base}{path}")).send();
        let from_actix = answer(get(&actix.base).await.expect("send")).await;
        let from_axum = answer(get(&axum_base).await.expect("send")).await;
        assert_eq!(from_actix.status, 200, "{path}");
        assert!(
            from_actix.headers[0]
                .1
                .as_deref()
                .is_some_and(|t| t.contains(content_type)),
            "{path}: {:?}",
            from_actix.headers
        );
        assert!(
            from_actix.body.windows(needle.len()).any(|w| w == needle),
            "{path}"
        );
        assert_eq!(from_actix, from_axum, "{path}");
    }
    actix.stop().await;
}

#[tokio::test]
async fn serve_runs_every_route_under_the_middleware() {
    let auth = service(&MemoryMailer::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = auth_actix::serve(Api::new(auth), listener)
        .await
        .expect("server");
    let handle = server.handle();
    tokio::spawn(server);
    let client = reqwest::Client::new();
    let health: Value = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health, json!({"status": "ok"}));
    let me = client
        .get(format!("http://{addr}/api/auth/me"))
        .header("Authorization", "Bearer not-a-jwt")
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 401);
    handle.stop(true).await;
}

#[tokio::test]
async fn routes_leave_other_paths_to_the_app() {
    let auth = service(&MemoryMailer::default());
    let api = Api::new(auth.clone());
    let actix = support::serve(move || {
        App::new()
            .wrap(AuthMiddleware::new(auth.clone()))
            .configure(auth_actix::routes(api.clone()))
            .default_service(web::to(|| async { "the app's own" }))
    });
    let base = actix.base.clone();
    let client = reqwest::Client::new();
    let own = get(&client, &base, "/api/nope", None).await;
    assert_eq!((own.status, own.text.as_str()), (200, "the app's own"));
    let jwks = get(&client, &base, "/api/auth/jwks.json/", None).await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.json(), json!({"keys": []}));
    let not_allowed = get(&client, &base, "/api/auth/jwt/create", None).await;
    assert_eq!(not_allowed.status, 405);
    actix.stop().await;
}

/// `X-Forwarded-For` sent over several header lines is one list (RFC 9110
/// §5.3): with one trusted proxy the client is the last entry of the last
/// line, on both frameworks.
#[tokio::test]
async fn forwarded_for_lines_are_read_as_one_list() {
    let auth = service(&MemoryMailer::default());
    two_users(&auth).await;
    let options = ApiOptions::default()
        .with_client_address(auth_actix::ClientAddressPolicy::TrustForwardedFor { proxies: 1 });
    let api = Api::with_options(auth.clone(), options);
    let actix = serve_actix(auth.clone(), Some(api.clone()), false);
    let axum = serve_axum(api).await;
    let client = reqwest::Client::new();
    for (i, base) in [actix.base.as_str(), axum.as_str()].into_iter().enumerate() {
        let client_ip = format!("198.51.100.{}", 7 + i);
        let login = client
            .post(format!("{base}/api/auth/jwt/create"))
            .header("X-Forwarded-For", "203.0.113.9, 10.0.0.5")
            .header("X-Forwarded-For", client_ip.as_str())
            .json(&json!({"username": "boss", "password": PASSWORD}))
            .send()
            .await
            .expect("login");
        let pair = Reply::from(login).await;
        assert_eq!(pair.status, 200, "{}", pair.text);
        let bearer = format!("Bearer {}", pair.json()["access"].as_str().expect("access"));
        let history = get(&client, base, "/api/auth/me/history", Some(&bearer)).await;
        assert_eq!(
            history.json()["results"][0]["ip"],
            client_ip.as_str(),
            "{base}: {}",
            history.text
        );
    }
    actix.stop().await;
}

/// A handler of the app's own reading the `web::Data<Auth>` that
/// `configure` registers: the caller's Knox sessions.
async fn session_count(auth: web::Data<Auth>, user: CurrentUser) -> String {
    match auth.knox_sessions(user.id).await {
        Ok(sessions) => format!("{} sessions", sessions.len()),
        Err(err) => format!("error: {err}"),
    }
}

/// Serves `web::scope(scope)` holding `configure(api)` and the app's
/// `{scope}/sessions`, under the middleware.
fn serve_scoped(scope: &'static str, api: Api) -> Actix {
    support::serve(move || {
        App::new()
            .wrap(AuthMiddleware::new(api.auth().clone()))
            .service(
                web::scope(scope)
                    .configure(auth_actix::configure(api.clone()))
                    .route("/sessions", web::get().to(session_count)),
            )
    })
}

/// The routes mount inside a `web::scope`: they answer under its path
/// (with and without a trailing slash, path parameters included), its
/// other paths get the contract's 404, paths outside it are not theirs,
/// and the scope's own handlers take the `web::Data<Auth>`.
#[tokio::test]
async fn the_routes_mount_inside_a_scope_with_the_auth_as_app_data() {
    let auth = service(&MemoryMailer::default());
    two_users(&auth).await;
    let actix = serve_scoped("/v1", Api::new(auth));
    let base = actix.base.as_str();
    let client = reqwest::Client::new();

    let health = get(&client, base, "/v1/healthz", None).await;
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );
    let jwks = get(&client, base, "/v1/api/auth/jwks.json/", None).await;
    assert_eq!((jwks.status, jwks.json()), (200, json!({"keys": []})));
    let wrong = json!({"username": "ada", "password": "wrong"});
    let refused = post(&client, base, "/v1/api/auth/jwt/create", wrong).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.json()["code"], "no_active_account");
    let not_allowed = get(&client, base, "/v1/api/auth/jwt/create/", None).await;
    assert_eq!(not_allowed.status, 405);

    let body = json!({"username": "ada", "password": PASSWORD});
    let login = post(&client, base, "/v1/api/auth/token/login", body).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let token = format!("Token {}", login.json()["token"].as_str().expect("token"));
    let me = get(&client, base, "/v1/api/auth/me", Some(&token)).await;
    assert_eq!(
        (me.status, me.json()["username"].clone()),
        (200, json!("ada"))
    );
    let sessions = get(&client, base, "/v1/api/auth/token/sessions", Some(&token)).await;
    assert_eq!(sessions.status, 200, "{}", sessions.text);
    let key = sessions.json()[0]["token_key"]
        .as_str()
        .expect("token_key")
        .to_string();
    // The app's handler in the scope reads the same `Auth`.
    let own = get(&client, base, "/v1/sessions", Some(&token)).await;
    assert_eq!((own.status, own.text.as_str()), (200, "1 sessions"));
    // A path parameter under the scope.
    let path = format!("/v1/api/auth/token/sessions/{key}/");
    let revoked = client
        .delete(format!("{base}{path}"))
        .header("Authorization", token.as_str())
        .send()
        .await
        .expect("delete");
    assert_eq!(revoked.status(), 204);
    let gone = get(&client, base, "/v1/api/auth/me", Some(&token)).await;
    assert_eq!(gone.status, 401);

    let missing = get(&client, base, "/v1/api/nowhere", None).await;
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"detail": "Not found."}))
    );
    let outside = get(&client, base, "/api/auth/jwks.json", None).await;
    assert_eq!((outside.status, outside.text.as_str()), (404, ""));
    actix.stop().await;
}

/// Under a non-default prefix inside a `web::scope`
/// (`web::scope("/svc")` holding an `Api` with prefix `/v1`), the routes
/// answer at `/svc/v1/...` and `/svc/healthz`, and the pagination links
/// and the OpenAPI document carry both.
#[tokio::test]
async fn a_prefix_inside_a_scope_carries_into_links_and_the_document() {
    let auth = service(&MemoryMailer::default());
    two_users(&auth).await;
    let options = ApiOptions::default().with_prefix("/v1").expect("prefix");
    let api = Api::with_options(auth, options);
    let actix = serve_scoped("/svc", api);
    let base = actix.base.as_str();
    let client = reqwest::Client::new();

    let body = json!({"username": "boss", "password": PASSWORD});
    let login = post(&client, base, "/svc/v1/auth/token/login", body).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let boss = format!("Token {}", login.json()["token"].as_str().expect("token"));
    let page = get(&client, base, "/svc/v1/users?page_size=1", Some(&boss)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json()["count"], 2);
    let next = format!("{base}/svc/v1/users?page_size=1&page=2");
    assert_eq!(page.json()["next"], next.as_str());
    let second = "/svc/v1/users?page_size=1&page=2";
    let page = get(&client, base, second, Some(&boss)).await;
    let previous = format!("{base}/svc/v1/users?page_size=1");
    assert_eq!(page.json()["previous"], previous.as_str());
    let first_of_one = "/svc/v1/auth/me/history/?page_size=1";
    let history = get(&client, base, first_of_one, Some(&boss)).await;
    assert_eq!(history.status, 200, "{}", history.text);
    assert_eq!(history.json()["next"], Value::Null);

    let document = get(&client, base, "/svc/v1/openapi.json", None).await;
    assert_eq!(document.status, 200);
    let document = document.json();
    assert_eq!(document["servers"], json!([{"url": "/svc"}]));
    assert!(document["paths"]["/v1/users"].is_object(), "{document}");
    assert!(document["paths"]["/api/users"].is_null());
    let health = get(&client, base, "/svc/healthz/", None).await;
    assert_eq!(
        (health.status, health.json()),
        (200, json!({"status": "ok"}))
    );
    let docs = get(&client, base, "/svc/v1/docs", None).await;
    assert_eq!(docs.status, 200);
    let outside = get(&client, base, "/svc/api/users", Some(&boss)).await;
    assert_eq!(
        (outside.status, outside.json()),
        (404, json!({"detail": "Not found."}))
    );
    let root = get(&client, base, "/v1/users", Some(&boss)).await;
    assert_eq!(root.status, 404);
    actix.stop().await;
}
