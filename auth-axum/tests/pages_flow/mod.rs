//! The browser flow of the provider's pages, written once and run against
//! the axum router (`tests/pages.rs`) and the actix-web service
//! (auth-actix's `tests/pages.rs`): a plain HTTP client that keeps cookies
//! and posts forms, as a browser without JavaScript does.

use std::sync::Arc;

use auth_core::config::{AuthConfig, OAuthConfig};
use auth_core::flows::AdminUserInput;
use auth_core::oauth::{Application, ClientType, GrantType};
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::token::jwt::{Algorithm, JwtKey, KeySet};
use auth_core::{Auth, MemoryStore};

pub(crate) const PASSWORD: &str = "correct-horse-battery-9";
const REDIRECT: &str = "http://127.0.0.1/cb";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const AFTER_LOGOUT: &str = "http://127.0.0.1/bye";
const ED25519_PEM: &str = include_str!("../../../auth-core/tests/keys/ed25519_private.pem");

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
pub(crate) use auth_core::testkit::forms::hidden_inputs as hidden_fields;

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

/// A service with the user `ada` and a public client, OpenID Connect on
/// (an Ed25519 ID-token key); returns the client_id.
pub(crate) async fn service() -> (Auth, String) {
    let key = JwtKey::from_pem(Algorithm::EdDSA, ED25519_PEM).expect("key");
    let oauth = OAuthConfig::default()
        .with_id_token_keys(KeySet::new(key).expect("keys"))
        .expect("an asymmetric key");
    let config = AuthConfig::default()
        .with_throttle(ThrottleConfig::disabled())
        .with_oauth(oauth);
    let auth = Auth::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("params")).expect("hasher"),
        ))
        .build()
        .expect("service");
    auth.create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
        .await
        .expect("user");
    let mut app = Application::register(
        "Printer",
        ClientType::Public,
        [GrantType::AuthorizationCode, GrantType::RefreshToken],
        vec![REDIRECT.into()],
        None,
        auth.now(),
    );
    app.post_logout_redirect_uris = vec![AFTER_LOGOUT.into()];
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

    // OpenID Connect max_age: a recent enough sign-in goes straight back;
    // an older one signs in again (with prompt=none, login_required), and
    // the login page's `next` leaves max_age out so that it cannot loop.
    let back = |extra: &[(&str, &str)]| authorize_url(&client_id, REDIRECT, extra);
    let recent = browser
        .send("GET", &back(&[("max_age", "3600")]), &[])
        .await;
    assert_eq!(recent.status, 302);
    assert!(get(&query(&recent.location.expect("a redirect")), "code").is_some());
    let none = browser
        .send("GET", &back(&[("max_age", "0"), ("prompt", "none")]), &[])
        .await;
    assert_eq!(none.status, 302);
    let none = query(&none.location.expect("a redirect"));
    assert_eq!(get(&none, "error"), Some("login_required"));
    let stale = browser.send("GET", &back(&[("max_age", "0")]), &[]).await;
    assert_eq!(stale.status, 303);
    let login = stale.location.expect("to the login page");
    let next = get(&query(&login), "next").expect("next").to_string();
    assert_eq!(next, url, "next repeats the request without max_age");
    let malformed = browser
        .send("GET", &back(&[("max_age", "soon")]), &[])
        .await;
    assert_eq!(malformed.status, 302);
    let malformed = query(&malformed.location.expect("a redirect"));
    assert_eq!(get(&malformed, "error"), Some("invalid_request"));

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

/// Signs in on the login page the authorization request `url` sent the
/// browser to, allows the consent page when it is shown, and returns the
/// code of the redirect.
pub(crate) async fn code_through_the_pages(browser: &mut Browser, url: &str) -> String {
    let mut answer = browser.send("GET", url, &[]).await;
    if answer.status == 303 {
        let login_url = answer.location.expect("to the login page");
        let form = browser.send("GET", &login_url, &[]).await;
        let mut fields = hidden_fields(&form.body);
        fields.push(("login".into(), "ada".into()));
        fields.push(("password".into(), PASSWORD.into()));
        let signed = browser.send("POST", "/o/login", &pairs(&fields)).await;
        assert_eq!(signed.status, 303);
        answer = browser.send("GET", url, &[]).await;
    }
    if answer.status == 200 {
        let mut fields = hidden_fields(&answer.body);
        fields.push(("decision".into(), "allow".into()));
        answer = browser
            .send("POST", "/api/o/authorize", &pairs(&fields))
            .await;
    }
    let location = answer.location.expect("back to the client");
    get(&query(&location), "code").expect("a code").to_string()
}

/// Exchanges a code (public client, PKCE) for the token response.
async fn exchange(browser: &mut Browser, client_id: &str, code: &str) -> serde_json::Value {
    let tokens = browser
        .send(
            "POST",
            "/api/o/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
            ],
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    serde_json::from_str(&tokens.body).expect("json")
}

/// The JSON of a base64url JWT part.
fn jwt_part(token: &str, index: usize) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(index).expect("a JWT part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// Status, `WWW-Authenticate` and body of a userinfo call.
async fn userinfo(
    base: &str,
    method: &str,
    bearer: Option<&str>,
) -> (u16, Option<String>, serde_json::Value) {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/o/userinfo");
    let mut request = match method {
        "GET" => http.get(url),
        _ => http.post(url),
    };
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.expect("userinfo");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_string());
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, challenge, body)
}

/// OpenID Connect against the server at `base`: the discovery document,
/// the code flow with `openid` and a nonce through the login and consent
/// pages, the ID token checked against the key the JWKS names by its
/// `kid`, userinfo (200, 401, 403), and RP-initiated logout (a forged hint
/// refused, an unregistered URI never followed, a registered one followed
/// with `state` and the session over).
pub(crate) async fn openid_connect_flow(base: &str, client_id: &str) {
    let http = reqwest::Client::new();
    let discovery: serde_json::Value = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    let issuer = "http://localhost:8000";
    assert_eq!(discovery["issuer"], issuer);
    for (field, path) in [
        ("authorization_endpoint", "/api/o/authorize"),
        ("token_endpoint", "/api/o/token"),
        ("userinfo_endpoint", "/api/o/userinfo"),
        ("jwks_uri", "/api/o/jwks.json"),
        ("end_session_endpoint", "/api/o/logout"),
    ] {
        assert_eq!(discovery[field], format!("{issuer}{path}"), "{field}");
    }
    let list = |field: &str| discovery[field].clone();
    assert_eq!(
        list("response_types_supported"),
        serde_json::json!(["code"])
    );
    assert_eq!(
        list("subject_types_supported"),
        serde_json::json!(["public"])
    );
    assert_eq!(
        list("id_token_signing_alg_values_supported"),
        serde_json::json!(["EdDSA"])
    );
    assert_eq!(
        list("scopes_supported"),
        serde_json::json!(["email", "openid", "profile"])
    );
    assert_eq!(
        list("code_challenge_methods_supported"),
        serde_json::json!(["S256"])
    );
    assert_eq!(
        list("token_endpoint_auth_methods_supported"),
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    for claim in ["sub", "nonce", "auth_time", "at_hash", "email"] {
        assert!(
            discovery["claims_supported"]
                .as_array()
                .expect("claims")
                .contains(&serde_json::json!(claim)),
            "{claim}"
        );
    }
    // The RFC 8414 document says the same of what they share.
    let metadata: serde_json::Value = http
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    for (field, value) in metadata.as_object().expect("an object") {
        assert_eq!(&discovery[field], value, "{field}");
    }

    // The code flow with openid and a nonce.
    let mut browser = Browser::new(base);
    let url = authorize_url(client_id, REDIRECT, &[("nonce", "n-0S6_WzA2Mj")]);
    let code = code_through_the_pages(&mut browser, &url).await;
    let tokens = exchange(&mut browser, client_id, &code).await;
    let access = tokens["access_token"].as_str().expect("access").to_string();
    let id_token = tokens["id_token"]
        .as_str()
        .expect("an ID token")
        .to_string();

    // Verified with the key the JWKS publishes under the header's kid.
    let header = jwt_part(&id_token, 0);
    let kid = header["kid"].as_str().expect("a kid");
    assert_eq!(header["alg"], "EdDSA");
    let jwks: serde_json::Value = http
        .get(format!("{base}/api/o/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["kid"] == kid)
        .expect("the kid is published");
    assert!(jwk.get("d").is_none(), "no private part: {jwk}");
    let public = JwtKey::from_jwk(jwk).expect("a public key");
    assert!(!public.can_sign());
    let verified = public.verify_jws(&id_token).expect("a valid signature");
    let claims: serde_json::Value = serde_json::from_slice(&verified.payload).expect("claims");
    let me: serde_json::Value = http
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["sub"], me["id"]);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert!(
        claims["auth_time"].as_i64().expect("auth_time") <= claims["iat"].as_i64().expect("iat")
    );
    assert!(claims["exp"].as_i64().expect("exp") > claims["iat"].as_i64().expect("iat"));
    assert_eq!(
        claims["at_hash"],
        auth_core::oauth::at_hash(Algorithm::EdDSA, &access)
    );
    // Claims changed under the same signature: refused.
    let forged = {
        use base64::Engine;
        let mut changed = claims.clone();
        changed["sub"] = serde_json::json!("someone-else");
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&changed).expect("JSON"));
        let parts: Vec<&str> = id_token.split('.').collect();
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    assert!(public.verify_jws(&forged).is_err());

    // userinfo: the openid token's claims, by GET and by POST.
    for method in ["GET", "POST"] {
        let (status, _, info) = userinfo(base, method, Some(&access)).await;
        assert_eq!(status, 200, "{method} {info}");
        assert_eq!(info["sub"], me["id"]);
        assert_eq!(info["preferred_username"], "ada");
        assert_eq!(info["email"], "ada@example.com");
        assert_eq!(info["email_verified"], true);
    }
    // RFC 6750 §2.2: the token as the form's access_token, but never
    // both ways at once.
    let form = |with_header: bool| {
        let mut request = http
            .post(format!("{base}/api/o/userinfo"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("access_token={access}"));
        if with_header {
            request = request.bearer_auth(&access);
        }
        request.send()
    };
    let by_form = form(false).await.expect("userinfo");
    assert_eq!(by_form.status(), 200);
    let info: serde_json::Value = by_form.json().await.expect("json");
    assert_eq!(info["sub"], me["id"]);
    assert_eq!(form(true).await.expect("userinfo").status(), 400);
    let (status, challenge, _) = userinfo(base, "GET", None).await;
    assert_eq!(status, 401);
    assert!(challenge.expect("a challenge").starts_with("Bearer"));
    let (status, challenge, _) = userinfo(base, "GET", Some("not-a-live-token")).await;
    assert_eq!(status, 401);
    assert!(
        challenge
            .expect("a challenge")
            .contains(r#"error="invalid_token""#)
    );
    // A token without openid (consent is remembered: straight to a code).
    let profile_url = authorize_url(client_id, REDIRECT, &[])
        .replace("scope=openid+profile+email", "scope=profile");
    let code = code_through_the_pages(&mut browser, &profile_url).await;
    let profile_only = exchange(&mut browser, client_id, &code).await;
    assert!(profile_only.get("id_token").is_none(), "{profile_only}");
    let token = profile_only["access_token"].as_str().expect("access");
    let (status, challenge, _) = userinfo(base, "GET", Some(token)).await;
    assert_eq!(status, 403);
    assert!(
        challenge
            .expect("a challenge")
            .contains(r#"error="insufficient_scope""#)
    );

    // RP-initiated logout.
    let logout = |hint: &str, uri: &str| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs([
            ("id_token_hint", hint),
            ("client_id", client_id),
            ("post_logout_redirect_uri", uri),
            ("state", "bye-1"),
        ]);
        format!("/api/o/logout?{}", query.finish())
    };
    let signed_in = |location: Option<String>| {
        let location = location.expect("a redirect");
        get(&query(&location), "code").is_some()
    };
    let still = authorize_url(client_id, REDIRECT, &[("prompt", "none")]);
    // A forged hint: refused, no redirect, the session lives on.
    let refused = browser
        .send("GET", &logout(&forged, AFTER_LOGOUT), &[])
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.location.is_none());
    assert!(signed_in(browser.send("GET", &still, &[]).await.location));
    // An unregistered URI (one character off): never followed.
    let mut stranger = Browser::new(base);
    let unregistered = stranger
        .send("GET", &logout(&id_token, "http://127.0.0.1/bye/"), &[])
        .await;
    assert_eq!(unregistered.status, 200);
    assert!(unregistered.location.is_none());
    assert!(unregistered.body.contains("<main>"));
    // A valid hint and the registered URI: the session ends, the browser
    // goes back with state.
    let out = browser
        .send("GET", &logout(&id_token, AFTER_LOGOUT), &[])
        .await;
    assert_eq!(out.status, 302);
    assert_eq!(
        out.location.as_deref(),
        Some(format!("{AFTER_LOGOUT}?state=bye-1").as_str())
    );
    let after = browser.send("GET", &still, &[]).await;
    assert_eq!(
        get(&query(&after.location.expect("a redirect")), "error"),
        Some("login_required")
    );
}
