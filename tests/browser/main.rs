//! Browser tests: a real headless Chromium on the provider's pages of the
//! demo server (started in-process on a random port, on each framework),
//! with a redirect URI the test itself serves.

#![allow(missing_docs, unreachable_pub)]

mod chrome;

use std::collections::BTreeMap;
use std::time::Duration;

use auth_demo::{Framework, RunningServer, Secret, Settings, Switch};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use chrome::Chrome;

const USERNAME: &str = "browser-admin";
const PASSWORD: &str = "plum-orbit-cascade-71";
/// RFC 7636 Appendix B's verifier.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The demo server on a fresh SQLite file, with one superuser.
async fn demo(framework: Framework, dir: &std::path::Path) -> RunningServer {
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        framework,
        database_url: Secret::new(format!("sqlite://{}", dir.join("demo.db").display())),
        jwt_secret: Some(Secret::new("browser-test-secret-0123456789abcdef")),
        throttle: Switch::Off,
        quiet: true,
        ..Settings::default()
    };
    auth_demo::create_superuser(&settings, USERNAME, "admin@example.com", PASSWORD)
        .await
        .expect("create-superuser");
    auth_demo::start(&settings).await.expect("the demo server")
}

/// A server at `http://127.0.0.1:PORT/callback` that answers a plain page:
/// the redirect URI the browser lands on.
async fn callback_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the callback server");
    let addr = listener.local_addr().expect("its address");
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get(|| async { axum::response::Html("<h1>Back at the client</h1>") }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/callback"), task)
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// Chromium signs in on the login page, registers an application on the
/// applications page and allows the consent page; the code it brings back
/// to the test's redirect URI gives tokens that work on `/api/auth/me`.
async fn code_flow_in_chromium(framework: Framework) {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("auth-browser-{framework}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let server = demo(framework, &dir).await;
    let (redirect_uri, callback) = callback_server().await;

    // Register the application on the applications page, signing in first.
    chrome
        .goto(&format!("{}/o/applications/new", server.url()))
        .await;
    chrome
        .wait_for_url(&format!("{}/o/login", server.url()))
        .await;
    chrome.fill("#login", USERNAME).await;
    chrome.fill("#password", PASSWORD).await;
    chrome.click("button[type=submit]").await;
    chrome
        .wait_for_url(&format!("{}/o/applications/new", server.url()))
        .await;
    chrome.fill("#name", "Browser client").await;
    chrome.check("#client_type-confidential").await;
    chrome.check("#grant_types-authorization_code").await;
    chrome.fill("#redirect_uris", &redirect_uri).await;
    chrome.click("main button[type=submit]").await;
    let client_id = chrome.text("#client_id").await;
    let secret = chrome.text("#client_secret").await;
    assert_eq!(secret.len(), 43, "a 256-bit secret, shown once");

    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let authorize = format!(
        "{}/api/o/authorize?response_type=code&client_id={}&redirect_uri={}&scope=profile\
         &state=browser-state&code_challenge={challenge}&code_challenge_method=S256",
        server.url(),
        client_id,
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>(),
    );
    // Signed in already: the authorize URL shows the consent page.
    chrome.goto(&authorize).await;
    assert_eq!(chrome.text("main h1").await, "Authorize Browser client");
    chrome.click("button[value=allow]").await;
    let landed = chrome.wait_for_url(&redirect_uri).await;
    assert!(chrome.source().await.contains("Back at the client"));
    let back = query_of(&landed);
    assert_eq!(back.get("state").map(String::as_str), Some("browser-state"));
    assert_eq!(back.get("iss"), Some(&server.url()));
    let code = back.get("code").expect("a code in the redirect");

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let credentials = STANDARD.encode(format!("{client_id}:{secret}"));
    let tokens: serde_json::Value = http
        .post(format!("{}/api/o/token", server.url()))
        .header("Authorization", format!("Basic {credentials}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("the token request")
        .json()
        .await
        .expect("a JSON answer");
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {tokens}"));
    let me = http
        .get(format!("{}/api/auth/me", server.url()))
        .bearer_auth(access)
        .send()
        .await
        .expect("GET /api/auth/me");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("a user");
    assert_eq!(me["username"], USERNAME);

    chrome.close().await;
    callback.abort();
    server.shutdown().await.expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_code_flow_in_chromium() {
    code_flow_in_chromium(Framework::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_code_flow_in_chromium() {
    code_flow_in_chromium(Framework::Actix).await;
}

/// What the page on the other origin does, in Chromium: log in with
/// `fetch` (credentials included), call `/me` with the cookie alone, then
/// change the profile without and with the CSRF header, and post a plain
/// cross-site form. Answers a JSON object of what it saw.
const COOKIE_SCRIPT: &str = r#"
const [base, username, password, done] = arguments;
(async () => {
  const json = { "Content-Type": "application/json" };
  const login = await fetch(base + "/api/auth/jwt/create", {
    method: "POST", credentials: "include", headers: json,
    body: JSON.stringify({ username, password }),
  });
  const csrf = login.headers.get("X-CSRFToken");
  const me = await fetch(base + "/api/auth/me", { credentials: "include" });
  const meBody = await me.json();
  const patch = (headers) => fetch(base + "/api/auth/me", {
    method: "PATCH", credentials: "include", headers,
    body: JSON.stringify({ first_name: "Mallory" }),
  });
  const withoutCsrf = await patch(json);
  const withoutBody = await withoutCsrf.json();
  const withCsrf = await patch({ ...json, "X-CSRFToken": csrf });
  done({
    login: login.status, csrf: csrf !== null, me: me.status, username: meBody.username,
    withoutCsrf: withoutCsrf.status, withoutDetail: withoutBody.detail,
    withCsrf: withCsrf.status, pageCookies: document.cookie,
  });
})().catch((e) => done({ error: String(e) }));
"#;

/// A page on another origin (another port of the same host) logs in to the
/// demo server with the cookie transport and CORS on, reads `/me` with the
/// cookie, and a cookie-authenticated change without the CSRF header is
/// refused; a plain cross-site form post changes nothing either.
async fn cookie_login_from_another_origin(framework: Framework) {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "auth-browser-cookies-{framework}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    // The page's origin: the callback server's, any page will do.
    let (page, frontend) = callback_server().await;
    let origin = page.trim_end_matches("/callback").to_owned();
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        framework,
        database_url: Secret::new(format!("sqlite://{}", dir.join("demo.db").display())),
        jwt_secret: Some(Secret::new("browser-test-secret-0123456789abcdef")),
        throttle: Switch::Off,
        quiet: true,
        web: auth_demo::web::WebSettings {
            cookie_transport: true,
            // Plain HTTP in the test: no `Secure` attribute.
            cookie_insecure: true,
            cors_origins: Some(origin.parse().expect("the page's origin")),
            ..Default::default()
        },
        ..Settings::default()
    };
    auth_demo::create_superuser(&settings, USERNAME, "admin@example.com", PASSWORD)
        .await
        .expect("create-superuser");
    let server = auth_demo::start(&settings).await.expect("the demo server");

    chrome.goto(&page).await;
    let seen = chrome
        .client
        .execute_async(
            COOKIE_SCRIPT,
            vec![server.url().into(), USERNAME.into(), PASSWORD.into()],
        )
        .await
        .expect("the page's script");
    assert_eq!(seen["login"], 200, "{seen}");
    assert_eq!(seen["csrf"], true, "the CSRF value is readable: {seen}");
    assert_eq!(seen["me"], 200, "/me with the cookie alone: {seen}");
    assert_eq!(seen["username"], USERNAME, "{seen}");
    assert_eq!(seen["withoutCsrf"], 403, "{seen}");
    assert!(
        seen["withoutDetail"]
            .as_str()
            .is_some_and(|d| d.starts_with("CSRF Failed")),
        "{seen}"
    );
    assert_eq!(seen["withCsrf"], 200, "{seen}");
    // Cookies are per host, not per port: the page sees the readable
    // `csrftoken`, never the HttpOnly tokens.
    let page_cookies = seen["pageCookies"].as_str().unwrap_or_default();
    assert!(
        page_cookies.contains("csrftoken=") && !page_cookies.contains("auth_"),
        "{page_cookies}"
    );

    // A plain form on the other origin, posted cross-site with the cookies.
    let form = format!(
        r#"const f = document.createElement("form");
           f.method = "POST"; f.action = "{}/api/auth/jwt/blacklist";
           const i = document.createElement("input"); i.name = "refresh"; i.value = "x";
           f.appendChild(i); document.body.appendChild(f); f.submit();"#,
        server.url()
    );
    chrome
        .client
        .execute(&form, Vec::new())
        .await
        .expect("submitting the form");
    chrome
        .wait_for_url(&format!("{}/api/auth/jwt/blacklist", server.url()))
        .await;
    let refused = chrome.source().await;
    assert!(
        refused.contains("Unsupported media type"),
        "a form post is not JSON: {refused}"
    );
    // Still signed in: the form logged nobody out.
    chrome.goto(&page).await;
    let me = chrome
        .client
        .execute_async(
            r#"const [base, done] = arguments;
               fetch(base + "/api/auth/me", { credentials: "include" })
                 .then((r) => r.json()).then(done, (e) => done(String(e)));"#,
            vec![server.url().into()],
        )
        .await
        .expect("the page's script");
    assert_eq!(me["first_name"], "Mallory", "the CSRF-checked change: {me}");

    chrome.close().await;
    frontend.abort();
    server.shutdown().await.expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_cookie_login_from_another_origin() {
    cookie_login_from_another_origin(Framework::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_cookie_login_from_another_origin() {
    cookie_login_from_another_origin(Framework::Actix).await;
}
