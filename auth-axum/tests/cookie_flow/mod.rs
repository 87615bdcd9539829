//! The cookie transport of the JWTs over HTTP, written once and run
//! against the axum router (`tests/cookies.rs`) and the actix-web service
//! (auth-actix's `tests/cookies.rs`). Each server also has `/whoami`
//! (`GET` and `POST`), an application handler behind the adapter's
//! middleware built with `from_api`, answering its `CurrentUser`'s name.

use std::sync::Arc;

use auth_core::config::AuthConfig;
use auth_core::flows::AdminUserInput;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, MemoryStore};
use auth_http::{ApiOptions, CookieTransport};
use serde_json::{Value, json};

const PASSWORD: &str = "correct-horse-battery-9";

/// A service with the user `ada`.
pub(crate) async fn service() -> Auth {
    let auth = Auth::builder(AuthConfig::default().with_throttle(ThrottleConfig::disabled()))
        .store(Arc::new(MemoryStore::new()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("params")).expect("hasher"),
        ))
        .build()
        .expect("service");
    auth.create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
        .await
        .expect("user");
    auth
}

/// The options with the cookie transport on (its defaults).
pub(crate) fn cookies_on() -> ApiOptions {
    ApiOptions::default().with_cookie_transport(CookieTransport::default())
}

/// An answer: status, `Set-Cookie` lines, JSON body.
struct Answer {
    status: u16,
    set_cookies: Vec<String>,
    /// The `X-CSRFToken` response header.
    csrf_header: Option<String>,
    body: Value,
}

impl Answer {
    /// The `Set-Cookie` line of cookie `name`.
    fn set_cookie(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.set_cookies
            .iter()
            .find(|line| line.starts_with(&prefix))
            .map(String::as_str)
    }

    /// The value `Set-Cookie` gives cookie `name`.
    fn cookie_value(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        let (_, rest) = line.split_once('=')?;
        Some(rest.split(';').next().unwrap_or("").to_string())
    }
}

/// A client that sends the cookies and headers it is told to.
struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("ascii").to_string())
            .collect();
        let csrf_header = response
            .headers()
            .get("x-csrftoken")
            .map(|v| v.to_str().expect("ascii").to_string());
        let text = response.text().await.expect("body");
        Answer {
            status,
            set_cookies,
            csrf_header,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn login(&self) -> Answer {
        let login = json!({"username": "ada", "password": PASSWORD});
        self.send("POST", "/api/auth/jwt/create", &[], Some(login))
            .await
    }
}

/// The `Cookie` header of a browser holding these cookies.
fn jar(cookies: &[(&str, &str)]) -> String {
    cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The whole flow with the transport on: login, cookie-only calls, CSRF,
/// refresh from the cookie, log out.
pub(crate) async fn cookie_transport_flow(base: &str) {
    let client = Client::new(base);
    let login = client.login().await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    // The access token stays in the body; the refresh token does not.
    assert!(login.body["access"].is_string());
    assert!(login.body.get("refresh").is_none(), "{:?}", login.body);
    assert_eq!(
        login
            .set_cookie("auth_access")
            .map(|l| l.split_once("; ").unwrap().1),
        Some("Path=/; HttpOnly; SameSite=Lax; Max-Age=300; Secure")
    );
    assert_eq!(
        login
            .set_cookie("auth_refresh")
            .map(|l| l.split_once("; ").unwrap().1),
        Some("Path=/api/auth/jwt; HttpOnly; SameSite=Lax; Max-Age=86400; Secure")
    );
    // Readable by the page's scripts: not HttpOnly.
    assert_eq!(
        login
            .set_cookie("csrftoken")
            .map(|l| l.split_once("; ").unwrap().1),
        Some("Path=/; SameSite=Lax; Max-Age=86400; Secure")
    );
    let access = login.cookie_value("auth_access").unwrap();
    let refresh = login.cookie_value("auth_refresh").unwrap();
    let csrf = login.cookie_value("csrftoken").unwrap();
    assert_eq!(access, login.body["access"].as_str().unwrap());
    assert!(csrf.len() >= 32);
    assert_eq!(login.csrf_header.as_deref(), Some(csrf.as_str()));
    let cookies = jar(&[("auth_access", &access), ("csrftoken", &csrf)]);
    let with_cookies = [("cookie", cookies.as_str())];

    // The access cookie alone authenticates, for the routes and for an
    // application handler behind the middleware.
    let me = client
        .send("GET", "/api/auth/me", &with_cookies, None)
        .await;
    assert_eq!(
        (me.status, me.body["username"].as_str()),
        (200, Some("ada"))
    );
    let whoami = client.send("GET", "/whoami", &with_cookies, None).await;
    assert_eq!(whoami.status, 200);
    assert_eq!(whoami.body, "ada");

    // An unsafe method by cookie needs the CSRF header: missing, then
    // wrong, are 403 and change nothing.
    let patch = json!({"first_name": "Eve"});
    let missing = client
        .send("PATCH", "/api/auth/me", &with_cookies, Some(patch.clone()))
        .await;
    assert_eq!(missing.status, 403);
    assert_eq!(
        missing.body,
        json!({"detail": "CSRF Failed: CSRF token missing."})
    );
    let wrong = client
        .send(
            "PATCH",
            "/api/auth/me",
            &[("cookie", &cookies), ("X-CSRFToken", "not-the-token")],
            Some(patch.clone()),
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(
        wrong.body,
        json!({"detail": "CSRF Failed: CSRF token incorrect."})
    );
    let no_cookie = jar(&[("auth_access", &access)]);
    let unset = client
        .send(
            "PATCH",
            "/api/auth/me",
            &[("cookie", &no_cookie), ("X-CSRFToken", &csrf)],
            Some(patch.clone()),
        )
        .await;
    assert_eq!(unset.status, 403);
    assert_eq!(
        unset.body,
        json!({"detail": "CSRF Failed: CSRF cookie not set."})
    );
    let me = client
        .send("GET", "/api/auth/me", &with_cookies, None)
        .await;
    assert_eq!(
        me.body["first_name"], "",
        "a refused PATCH changed the user"
    );
    let with_csrf = [("cookie", cookies.as_str()), ("X-CSRFToken", csrf.as_str())];
    let patched = client
        .send("PATCH", "/api/auth/me", &with_csrf, Some(patch))
        .await;
    assert_eq!(
        (patched.status, &patched.body["first_name"]),
        (200, &json!("Eve"))
    );
    // The middleware applies the same rule to the application's handlers.
    let post = client.send("POST", "/whoami", &with_cookies, None).await;
    assert_eq!(post.status, 403);
    assert_eq!(
        post.body,
        json!({"detail": "CSRF Failed: CSRF token missing."})
    );
    let post = client.send("POST", "/whoami", &with_csrf, None).await;
    assert_eq!((post.status, post.body), (200, json!("ada")));

    // Header authentication needs no CSRF token, and ignores the cookie.
    let bearer = format!("Bearer {access}");
    let by_header = client
        .send(
            "PATCH",
            "/api/auth/me",
            &[("authorization", &bearer), ("cookie", "auth_access=forged")],
            Some(json!({"last_name": "Lovelace"})),
        )
        .await;
    assert_eq!(
        (by_header.status, &by_header.body["last_name"]),
        (200, &json!("Lovelace"))
    );

    // Refresh from the cookie: CSRF first, then rotation and new cookies.
    let refresh_jar = jar(&[("auth_refresh", &refresh), ("csrftoken", &csrf)]);
    let refused = client
        .send(
            "POST",
            "/api/auth/jwt/refresh",
            &[("cookie", &refresh_jar)],
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.set_cookies.is_empty());
    let refreshed = client
        .send(
            "POST",
            "/api/auth/jwt/refresh",
            &[("cookie", &refresh_jar), ("X-CSRFToken", &csrf)],
            None,
        )
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert!(refreshed.body.get("refresh").is_none());
    let new_access = refreshed.cookie_value("auth_access").unwrap();
    let new_refresh = refreshed.cookie_value("auth_refresh").unwrap();
    assert_ne!(new_refresh, refresh, "the refresh token rotates");
    assert!(
        refreshed
            .set_cookie("auth_refresh")
            .unwrap()
            .contains("; Path=/api/auth/jwt;")
    );
    assert_eq!(
        refreshed.cookie_value("csrftoken").as_deref(),
        Some(csrf.as_str())
    );
    let me = client
        .send(
            "GET",
            "/api/auth/me",
            &[("cookie", &jar(&[("auth_access", &new_access)]))],
            None,
        )
        .await;
    assert_eq!(me.status, 200);

    // Log out from the cookie: CSRF first, then the cookies are cleared
    // and the refresh token is dead.
    let logout_jar = jar(&[("auth_refresh", &new_refresh), ("csrftoken", &csrf)]);
    let refused = client
        .send(
            "POST",
            "/api/auth/jwt/blacklist",
            &[("cookie", &logout_jar)],
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.set_cookies.is_empty());
    let out = client
        .send(
            "POST",
            "/api/auth/jwt/blacklist",
            &[("cookie", &logout_jar), ("X-CSRFToken", &csrf)],
            None,
        )
        .await;
    assert_eq!((out.status, &out.body), (200, &json!({})));
    for name in ["auth_access", "auth_refresh", "csrftoken"] {
        let line = out
            .set_cookie(name)
            .unwrap_or_else(|| panic!("{name} cleared"));
        assert!(line.starts_with(&format!("{name}=; ")), "{line}");
        assert!(line.contains("Max-Age=0"), "{line}");
    }
    assert!(
        out.set_cookie("auth_refresh")
            .unwrap()
            .contains("Path=/api/auth/jwt;")
    );
    let again = client
        .send(
            "POST",
            "/api/auth/jwt/refresh",
            &[("cookie", &logout_jar), ("X-CSRFToken", &csrf)],
            None,
        )
        .await;
    assert_eq!(again.status, 401, "{:?}", again.body);
}

/// With the transport off: no cookie is set, and an access cookie (even a
/// valid token) authenticates nothing.
pub(crate) async fn cookies_off(base: &str) {
    let client = Client::new(base);
    let login = client.login().await;
    assert_eq!(login.status, 200);
    assert!(login.set_cookies.is_empty(), "{:?}", login.set_cookies);
    assert_eq!(login.csrf_header, None);
    assert!(login.body["refresh"].is_string());
    let access = login.body["access"].as_str().unwrap();
    let cookie = jar(&[("auth_access", access)]);
    for path in ["/api/auth/me", "/whoami"] {
        let answer = client.send("GET", path, &[("cookie", &cookie)], None).await;
        assert_eq!(answer.status, 401, "{path}: {:?}", answer.body);
    }
    let refresh = client
        .send(
            "POST",
            "/api/auth/jwt/refresh",
            &[(
                "cookie",
                &jar(&[("auth_refresh", login.body["refresh"].as_str().unwrap())]),
            )],
            None,
        )
        .await;
    assert_eq!(
        refresh.status, 400,
        "no refresh in the body: {:?}",
        refresh.body
    );
}
