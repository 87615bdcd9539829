//! A user's own OAuth2 applications, over the JSON API and through the
//! browser pages, written once and run against the axum router
//! (`tests/pages.rs`) and the actix-web service (auth-actix's
//! `tests/pages.rs`) with real HTTP clients. The browser is the one of
//! `pages_flow`.

use std::sync::Arc;

use auth_core::config::{AuthConfig, OAuthConfig};
use auth_core::flows::AdminUserInput;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, MemoryStore};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::pages_flow::{
    Answer, Browser, CHALLENGE, PASSWORD, VERIFIER, code_through_the_pages, get, hidden_fields,
    pairs,
};

const REDIRECT: &str = "https://client.example/cb";

/// A service with the users `ada` and `bob` and the password grant on (to
/// get a user's OAuth2 token without a browser).
pub(crate) async fn service() -> Auth {
    let oauth = OAuthConfig {
        password_grant: true,
        ..OAuthConfig::default()
    };
    let auth = Auth::builder(
        AuthConfig::default()
            .with_throttle(ThrottleConfig::disabled())
            .with_oauth(oauth),
    )
    .store(Arc::new(MemoryStore::new()))
    .hasher(Arc::new(
        Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("params")).expect("hasher"),
    ))
    .build()
    .expect("service");
    for name in ["ada", "bob"] {
        auth.create_user(
            AdminUserInput::new_user(name, format!("{name}@example.com")).with_password(PASSWORD),
        )
        .await
        .expect("user");
    }
    auth
}

/// A form body.
fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A JSON client of the API at `base`.
struct Api {
    base: String,
    http: Client,
}

impl Api {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_string(),
            http: Client::new(),
        }
    }

    /// `method path` with `Authorization: Bearer token` and a JSON body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A JWT access token of `username`.
    async fn jwt(&self, username: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/auth/jwt/create",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access"].as_str().expect("access").to_string()
    }

    /// The token endpoint with client_secret_basic.
    async fn token(&self, client_id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/api/o/token", self.base))
            .basic_auth(client_id, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
            .await
            .expect("token");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Exchanges `code` (its PKCE verifier is [`VERIFIER`]).
    async fn exchange(&self, client_id: &str, secret: &str, code: &str) -> (u16, Value) {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        self.token(client_id, secret, &form).await
    }

    /// Whether the client's secret gets a client-credentials token.
    async fn secret_works(&self, client_id: &str, secret: &str) -> bool {
        let (status, _) = self
            .token(client_id, secret, &[("grant_type", "client_credentials")])
            .await;
        status == 200
    }

    /// Whether the client authenticates with this secret (at the
    /// introspection endpoint, which any confidential client may call).
    async fn client_authenticates(&self, client_id: &str, secret: &str) -> bool {
        let response = self
            .http
            .post(format!("{}/api/o/introspect", self.base))
            .basic_auth(client_id, Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("token", "unknown")]))
            .send()
            .await
            .expect("introspect");
        response.status() == 200
    }

    /// The status of `GET /api/auth/me` with `token`.
    async fn me(&self, token: &str) -> StatusCode {
        self.call(Method::GET, "/api/auth/me", Some(token), None)
            .await
            .0
    }
}

/// The JSON API: create (the secret works at the token endpoint), list,
/// patch, rotate (old and new work), another user's 404s, an OAuth2
/// token refused, field errors, delete (its tokens stop working).
pub(crate) async fn applications_json_api(base: &str) {
    let api = Api::new(base);
    let ada = api.jwt("ada").await;
    let bob = api.jwt("bob").await;
    let apps = "/api/o/applications";

    let (status, _) = api.call(Method::GET, apps, None, None).await;
    assert_eq!(status, 401);
    let (status, errors) = api
        .call(
            Method::POST,
            apps,
            Some(&ada),
            Some(json!({
                "name": "",
                "client_type": "confidential",
                "grant_types": ["implicit"],
                "redirect_uris": ["http://client.example/cb#x"],
                "allowed_origins": ["https://client.example/"],
            })),
        )
        .await;
    assert_eq!(status, 400, "{errors}");
    for field in ["name", "grant_types", "redirect_uris", "allowed_origins"] {
        assert!(errors[field].is_array(), "{field}: {errors}");
    }
    let (status, listed) = api.call(Method::GET, apps, Some(&ada), None).await;
    assert_eq!((status.as_u16(), listed), (200, json!([])));

    let (status, created) = api
        .call(
            Method::POST,
            apps,
            Some(&ada),
            Some(json!({
                "name": "Printer",
                "client_type": "confidential",
                "grant_types": ["client_credentials", "password", "refresh_token"],
                "redirect_uris": [REDIRECT],
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let client_id = created["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    let secret = created["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert!(api.secret_works(&client_id, &secret).await);
    assert!(!api.secret_works(&client_id, "wrong").await);

    let (status, listed) = api.call(Method::GET, apps, Some(&ada), None).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().expect("a list").len(), 1);
    assert_eq!(listed[0]["client_id"], client_id.as_str());
    assert!(listed[0].get("client_secret").is_none());
    assert!(!listed.to_string().contains(&secret));

    let one = format!("{apps}/{id}");
    let (status, patched) = api
        .call(
            Method::PATCH,
            &one,
            Some(&ada),
            Some(json!({"name": "Scanner", "skip_authorization": true})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Scanner");
    assert_eq!(patched["skip_authorization"], true);
    assert!(patched.get("client_secret").is_none());
    let (status, _) = api
        .call(
            Method::PATCH,
            &one,
            Some(&ada),
            Some(json!({"client_type": "public"})),
        )
        .await;
    assert_eq!(status, 400);

    // Someone else's application does not exist for them (a body that
    // could be applied is still a 404).
    let whole = json!({
        "name": "Mine",
        "client_type": "confidential",
        "grant_types": ["client_credentials"],
    });
    for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
        let (status, body) = api
            .call(method.clone(), &one, Some(&bob), Some(whole.clone()))
            .await;
        assert_eq!(status, 404, "{method} {body}");
    }
    let (status, _) = api
        .call(
            Method::POST,
            &format!("{one}/rotate-secret"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .call(Method::GET, &format!("{apps}/not-an-id"), Some(&ada), None)
        .await;
    assert_eq!(status, 404);

    // Rotation: a new secret, and the old one still works (the overlap).
    let (status, rotated) = api
        .call(
            Method::POST,
            &format!("{one}/rotate-secret"),
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().expect("secret");
    assert_ne!(new_secret, secret);
    assert!(api.secret_works(&client_id, new_secret).await);
    assert!(api.secret_works(&client_id, &secret).await);

    // An OAuth2 access token of ada's cannot manage applications.
    let (status, tokens) = api
        .token(
            &client_id,
            new_secret,
            &[
                ("grant_type", "password"),
                ("username", "ada"),
                ("password", PASSWORD),
                ("scope", "profile"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let oauth = tokens["access_token"].as_str().expect("access").to_string();
    assert_eq!(api.me(&oauth).await, 200);
    for (method, path) in [
        (Method::GET, apps.to_string()),
        (Method::POST, apps.to_string()),
        (Method::GET, one.clone()),
        (Method::DELETE, one.clone()),
        (Method::POST, format!("{one}/rotate-secret")),
        (Method::GET, "/api/o/authorized".to_string()),
    ] {
        let (status, _) = api
            .call(method.clone(), &path, Some(&oauth), Some(json!({})))
            .await;
        assert_eq!(status, 403, "{method} {path}");
    }

    // Deleting the application revokes its tokens.
    let (status, _) = api.call(Method::DELETE, &one, Some(&ada), None).await;
    assert_eq!(status, 204);
    assert_eq!(api.me(&oauth).await, 401);
    assert!(!api.secret_works(&client_id, new_secret).await);
    let (status, _) = api.call(Method::GET, &one, Some(&ada), None).await;
    assert_eq!(status, 404);
}

/// `POST path` with a form and an `Origin`: the status and the CORS
/// headers (`Access-Control-Allow-Origin`, `Vary`).
async fn cors_post(
    api: &Api,
    path: &str,
    origin: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>) {
    let response = api
        .http
        .post(format!("{}{path}", api.base))
        .header("origin", origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(form))
        .send()
        .await
        .expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII").to_string())
    };
    let (allow, vary) = (header("access-control-allow-origin"), header("vary"));
    (response.status().as_u16(), allow, vary)
}

/// CORS on the token, revocation and introspection endpoints: a page of
/// an origin the named client lists may read the answer (an error too);
/// another origin, or another client's, may not; preflights are not
/// approved (they name no client).
pub(crate) async fn token_endpoint_cors(base: &str) {
    let api = Api::new(base);
    let ada = api.jwt("ada").await;
    let spa = "https://spa.example";
    let mut clients = Vec::new();
    for origins in [json!([spa]), json!([])] {
        let (status, created) = api
            .call(
                Method::POST,
                "/api/o/applications",
                Some(&ada),
                Some(json!({
                    "name": "SPA",
                    "client_type": "confidential",
                    "grant_types": ["client_credentials"],
                    "allowed_origins": origins,
                })),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let field = |name: &str| created[name].as_str().expect(name).to_string();
        clients.push((field("client_id"), field("client_secret")));
    }
    let (id, secret) = &clients[0];
    let form = |id: &str, secret: &str| -> Vec<(String, String)> {
        [
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
    };
    let allowed = Some(spa.to_string());
    let vary = Some("Origin".to_string());
    let ok = form(id, secret);
    assert_eq!(
        cors_post(&api, "/api/o/token", spa, &pairs(&ok)).await,
        (200, allowed.clone(), vary.clone())
    );
    // An error is readable too.
    let wrong = form(id, "wrong");
    assert_eq!(
        cors_post(&api, "/api/o/token", spa, &pairs(&wrong)).await,
        (401, allowed.clone(), vary.clone())
    );
    for path in ["/api/o/revoke_token", "/api/o/introspect"] {
        let mut hint = ok.clone();
        hint.push(("token".into(), "unknown".into()));
        assert_eq!(
            cors_post(&api, path, spa, &pairs(&hint)).await,
            (200, allowed.clone(), vary.clone()),
            "{path}"
        );
    }
    // Another origin, or a client that does not list it: no header.
    let other = cors_post(&api, "/api/o/token", "https://evil.example", &pairs(&ok)).await;
    assert_eq!((other.0, other.1), (200, None));
    let (other_id, other_secret) = &clients[1];
    let theirs = cors_post(
        &api,
        "/api/o/token",
        spa,
        &pairs(&form(other_id, other_secret)),
    )
    .await;
    assert_eq!((theirs.0, theirs.1), (200, None));
    // A preflight names no client: not approved.
    let preflight = api
        .http
        .request(Method::OPTIONS, format!("{base}/api/o/token"))
        .header("origin", spa)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// The value of the first `attribute="..."` after `marker` in `page`.
fn attribute_after(page: &str, marker: &str, attribute: &str) -> String {
    let from = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {page}"));
    page[from..]
        .split(&format!("{attribute}=\""))
        .nth(1)
        .expect("attribute")
        .split('"')
        .next()
        .expect("value")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The text of the element with this id.
fn element_text(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let from = page
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} in {page}"));
    page[from + marker.len()..]
        .split('<')
        .next()
        .expect("text")
        .to_string()
}

/// Signs `ada` in through the login form.
async fn sign_in(browser: &mut Browser, next: &str) -> Answer {
    let form = browser.send("GET", next, &[]).await;
    assert_eq!(form.status, 200);
    let mut fields = hidden_fields(&form.body);
    fields.push(("login".into(), "ada".into()));
    fields.push(("password".into(), PASSWORD.into()));
    browser.send("POST", "/o/login", &pairs(&fields)).await
}

/// The browser pages: sign-in through `next`, registration (CSRF
/// refused without its token, field errors shown), the client_id and
/// secret read from the page, a code flow with them, the grant on
/// `/o/authorized` (and the JSON list), its revocation killing the
/// tokens, then edit, rotate and delete.
pub(crate) async fn applications_pages(base: &str) {
    let api = Api::new(base);
    let mut browser = Browser::new(base);

    let to_login = browser.send("GET", "/o/applications/new", &[]).await;
    assert_eq!(to_login.status, 303);
    let login_url = to_login.location.expect("to the login page");
    assert_eq!(login_url, "/o/login?next=%2Fo%2Fapplications%2Fnew");
    let signed = sign_in(&mut browser, &login_url).await;
    assert_eq!(signed.location.as_deref(), Some("/o/applications/new"));

    let form = browser.send("GET", "/o/applications/new", &[]).await;
    assert_eq!(form.status, 200);
    for label in ["name", "redirect_uris", "grant_types-authorization_code"] {
        assert!(
            form.body.contains(&format!("<label for=\"{label}\">")),
            "{label}"
        );
    }
    let csrf = get(&hidden_fields(&form.body), "csrf_token")
        .expect("a CSRF token")
        .to_string();
    let registration = |csrf: &str, redirect: &str| -> Vec<(String, String)> {
        [
            ("csrf_token", csrf),
            ("name", "Printer <3>"),
            ("client_type", "confidential"),
            ("grant_types", "authorization_code"),
            ("grant_types", "refresh_token"),
            ("redirect_uris", redirect),
            ("allowed_origins", ""),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
    };
    let redirects = format!("{REDIRECT}\r\nhttp://127.0.0.1/cb\r\n");
    for bad_csrf in ["", "forged"] {
        let refused = browser
            .send(
                "POST",
                "/o/applications/new",
                &pairs(&registration(bad_csrf, &redirects)),
            )
            .await;
        assert_eq!(refused.status, 403);
    }
    let list = browser.send("GET", "/o/applications", &[]).await;
    assert!(list.body.contains("not registered"), "{}", list.body);

    let invalid = browser
        .send(
            "POST",
            "/o/applications/new",
            &pairs(&registration(&csrf, "http://client.example/cb")),
        )
        .await;
    assert_eq!(invalid.status, 400);
    assert!(
        invalid
            .body
            .contains("aria-describedby=\"redirect_uris-error\"")
    );
    assert!(invalid.body.contains("loopback"));
    // The values come back, escaped.
    assert!(invalid.body.contains("value=\"Printer &lt;3&gt;\""));

    let created = browser
        .send(
            "POST",
            "/o/applications/new",
            &pairs(&registration(&csrf, &redirects)),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("shown only this once"));
    let client_id = element_text(&created.body, "client_id");
    let secret = element_text(&created.body, "client_secret");
    assert_eq!(secret.len(), 43);
    // Once: the application's page does not show it.
    let list = browser.send("GET", "/o/applications", &[]).await;
    assert!(list.body.contains("Printer &lt;3&gt;"));
    let app_url = attribute_after(&list.body, "<tbody>", "href");
    let app_page = browser.send("GET", &app_url, &[]).await;
    assert_eq!(app_page.status, 200);
    assert!(app_page.body.contains(&client_id));
    assert!(!app_page.body.contains(&secret));

    // A code flow with what the page showed.
    let code = authorization_code(&mut browser, &client_id).await;
    let (status, tokens) = api.exchange(&client_id, &secret, &code).await;
    assert_eq!(status, 200, "{tokens}");
    // A second code, issued without a page (the consent is remembered).
    let pending = authorization_code(&mut browser, &client_id).await;
    let access = tokens["access_token"].as_str().expect("access").to_string();
    assert_eq!(api.me(&access).await, 200);

    // The grant, on the page and in the JSON API.
    let authorized = browser.send("GET", "/o/authorized", &[]).await;
    assert_eq!(authorized.status, 200);
    assert!(authorized.body.contains("Printer &lt;3&gt;"));
    assert!(authorized.body.contains("profile"));
    let jwt = api.jwt("ada").await;
    let (_, grants) = api
        .call(Method::GET, "/api/o/authorized", Some(&jwt), None)
        .await;
    assert_eq!(grants[0]["name"], "Printer <3>");
    assert_eq!(grants[0]["scopes"], json!(["profile"]));
    let revoke = attribute_after(&authorized.body, "<li>", "action");
    let refused = browser
        .send("POST", &revoke, &[("csrf_token", "forged")])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(api.me(&access).await, 200);
    let revoked = browser
        .send("POST", &revoke, &[("csrf_token", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    assert_eq!(revoked.location.as_deref(), Some("/o/authorized"));
    assert_eq!(api.me(&access).await, 401);
    // The code issued before the revocation is worthless.
    let (status, refused) = api.exchange(&client_id, &secret, &pending).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");
    let authorized = browser.send("GET", "/o/authorized", &[]).await;
    assert!(authorized.body.contains("not authorized any"));
    // Authorized again (through the page): a code for the deletion below.
    let orphan = authorization_code(&mut browser, &client_id).await;

    // Edit (POST-redirect-GET), rotate (the new secret shown once), delete.
    let mut edit = registration(&csrf, REDIRECT);
    edit.retain(|(n, _)| n != "client_type");
    edit.iter_mut()
        .filter(|(n, _)| n == "name")
        .for_each(|(_, v)| *v = "Scanner".into());
    let saved = browser.send("POST", &app_url, &pairs(&edit)).await;
    assert_eq!(saved.status, 303);
    assert_eq!(saved.location.as_deref(), Some(app_url.as_str()));
    let app_page = browser.send("GET", &app_url, &[]).await;
    assert!(app_page.body.contains("<h1>Scanner</h1>"));
    let rotated = browser
        .send(
            "POST",
            &format!("{app_url}/rotate-secret"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(rotated.status, 200);
    let new_secret = element_text(&rotated.body, "client_secret");
    assert_ne!(new_secret, secret);
    for secret in [&new_secret, &secret] {
        assert!(api.client_authenticates(&client_id, secret).await);
    }
    assert!(!api.client_authenticates(&client_id, "wrong").await);
    let refused = browser
        .send("POST", &format!("{app_url}/delete"), &[])
        .await;
    assert_eq!(refused.status, 403);
    let deleted = browser
        .send(
            "POST",
            &format!("{app_url}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location.as_deref(), Some("/o/applications"));
    let gone = browser.send("GET", &app_url, &[]).await;
    assert_eq!(gone.status, 404);
    // A code of the deleted application is refused with its client.
    let (status, refused) = api.exchange(&client_id, &new_secret, &orphan).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["error"], "invalid_client");
}

/// A code for `ada` (signed in) and `client_id` with the scope `profile`
/// and PKCE, through the consent page when the consent is not remembered.
async fn authorization_code(browser: &mut Browser, client_id: &str) -> String {
    let mut authorize = form_urlencoded::Serializer::new(String::new());
    authorize.extend_pairs([
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "profile"),
        ("state", "s1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let url = format!("/api/o/authorize?{}", authorize.finish());
    code_through_the_pages(browser, &url).await
}
