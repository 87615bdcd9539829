//! The browser flow of the provider's pages, written once and run against
//! the axum router (`tests/pages.rs`) and the actix-web service
//! (auth-actix's `tests/pages.rs`): a plain HTTP client that keeps cookies
//! and posts forms, as a browser without JavaScript does.

use std::sync::Arc;

use auth_core::config::AuthConfig;
use auth_core::flows::AdminUserInput;
use auth_core::oauth::{Application, ClientType, GrantType};
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, MemoryStore};

pub(crate) const PASSWORD: &str = "correct-horse-battery-9";
const REDIRECT: &str = "http://127.0.0.1/cb";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An answer: status, `Location`, body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) body: String,
}

/// A browser without JavaScript: keeps cookies, follows no redirect.
pub(crate) struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    pub(crate) async fn send(
        &mut self,
        method: &str,
        target: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}{target}", self.base);
        let mut request = match method {
            "GET" => self.http.get(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(form)
                        .finish(),
                ),
        };
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            request = request.header("cookie", jar.join("; "));
        }
        let response = request.send().await.expect("request");
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().expect("ascii");
            let (name, rest) = value.split_once('=').expect("a cookie");
            let cookie_value = rest.split(';').next().unwrap_or("");
            self.cookies.retain(|(n, _)| n != name);
            if !value.contains("Max-Age=0") {
                self.cookies
                    .push((name.to_string(), cookie_value.to_string()));
            }
        }
        Answer {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().expect("ascii").to_string()),
            body: response.text().await.expect("body"),
        }
    }
}

/// The hidden fields of the page's last form (HTML entities decoded).
pub(crate) fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let form = &page[page.rfind("<form").expect("a form")..];
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let attribute = |name: &str| {
                let raw = input
                    .split(&format!("{name}=\""))
                    .nth(1)
                    .expect("attribute")
                    .split('"')
                    .next()
                    .expect("value");
                raw.replace("&#x2f;", "/")
                    .replace("&quot;", "\"")
                    .replace("&#x27;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            };
            (attribute("name"), attribute("value"))
        })
        .collect()
}

pub(crate) fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

pub(crate) fn query(location: &str) -> Vec<(String, String)> {
    let (_, query) = location.split_once('?').expect("a query");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A service with the user `ada` and a public client; returns the
/// client_id.
pub(crate) async fn service() -> (Auth, String) {
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
    let app = Application::register(
        "Printer",
        ClientType::Public,
        [GrantType::AuthorizationCode],
        vec![REDIRECT.into()],
        None,
        auth.now(),
    );
    auth.stores()
        .oauth_applications
        .insert_application(&app)
        .await
        .expect("application");
    (auth, app.client_id)
}

fn authorize_url(client_id: &str, redirect_uri: &str, extra: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs([
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("state", "s1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    query.extend_pairs(extra);
    format!("/api/o/authorize?{}", query.finish())
}

/// The whole browser flow against the server at `base`: a redirect URI
/// one character off, sign-in through `next` (CSRF refused without its
/// token), the consent page and its CSRF check, the code, its exchange at
/// the token endpoint, the token on `/api/auth/me`, remembered consent,
/// sign-out, and `prompt=none` without a session.
pub(crate) async fn login_consent_code_and_token(base: &str, client_id: &str) {
    let client_id = client_id.to_string();
    let mut browser = Browser::new(base);

    // One character off in the redirect URI: the error page, no Location.
    let wrong = browser
        .send(
            "GET",
            &authorize_url(&client_id, "http://127.0.0.1/cc", &[]),
            &[],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.location.is_none());
    assert!(wrong.body.contains("<main>"));

    let url = authorize_url(&client_id, REDIRECT, &[]);
    let to_login = browser.send("GET", &url, &[]).await;
    assert_eq!(to_login.status, 303);
    let login_url = to_login.location.expect("to the login page");
    let form = browser.send("GET", &login_url, &[]).await;
    assert_eq!(form.status, 200);
    let mut fields = hidden_fields(&form.body);
    assert_eq!(get(&fields, "next"), Some(url.as_str()));

    // The login form without its CSRF token is refused.
    let refused = browser
        .send(
            "POST",
            "/o/login",
            &[("login", "ada"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, 403);

    fields.push(("login".into(), "ada".into()));
    fields.push(("password".into(), PASSWORD.into()));
    let signed = browser.send("POST", "/o/login", &pairs(&fields)).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location.as_deref(), Some(url.as_str()));

    let consent = browser.send("GET", &url, &[]).await;
    assert_eq!(consent.status, 200);
    assert!(consent.body.contains("Printer") && consent.body.contains("See your email address"));
    let mut fields = hidden_fields(&consent.body);
    let without_csrf: Vec<(String, String)> = fields
        .iter()
        .filter(|(n, _)| n != "csrf_token")
        .cloned()
        .collect();
    let mut forged = pairs(&without_csrf);
    forged.push(("decision", "allow"));
    assert_eq!(
        browser
            .send("POST", "/api/o/authorize", &forged)
            .await
            .status,
        403
    );
    fields.push(("decision".into(), "allow".into()));
    let allowed = browser
        .send("POST", "/api/o/authorize", &pairs(&fields))
        .await;
    assert_eq!(allowed.status, 303);
    let location = allowed.location.expect("back to the client");
    assert!(location.starts_with(REDIRECT));
    let back = query(&location);
    assert_eq!(get(&back, "state"), Some("s1"));
    assert_eq!(get(&back, "iss"), Some("http://localhost:8000"));
    let code = get(&back, "code").expect("a code").to_string();

    let tokens = browser
        .send(
            "POST",
            "/api/o/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).expect("json");
    let access = tokens["access_token"].as_str().expect("an access token");
    let me = reqwest::Client::new()
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);

    // Remembered consent: straight back with a code.
    let again = browser.send("GET", &url, &[]).await;
    assert_eq!(again.status, 302);
    assert!(get(&query(&again.location.expect("a redirect")), "code").is_some());

    // Sign out needs the session's CSRF token; then the session is over.
    assert_eq!(browser.send("POST", "/o/logout", &[]).await.status, 403);
    let page = browser.send("GET", "/o/login", &[]).await;
    let logout_token = page
        .body
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .expect("the sign-out form")
        .split('"')
        .next()
        .expect("token")
        .to_string();
    let out = browser
        .send("POST", "/o/logout", &[("csrf_token", &logout_token)])
        .await;
    assert_eq!(out.status, 200);
    let none = browser
        .send(
            "GET",
            &authorize_url(&client_id, REDIRECT, &[("prompt", "none")]),
            &[],
        )
        .await;
    assert_eq!(none.status, 302);
    assert_eq!(
        get(&query(&none.location.expect("a redirect")), "error"),
        Some("login_required")
    );
}
