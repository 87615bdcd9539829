//! `handle` over an in-memory service: routing, body handling and every
//! route's happy path and main errors.

use std::sync::Arc;

use auth_core::config::AuthConfig;
use auth_core::mail::MemoryMailer;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, ManualClock, MemoryStore};
use serde_json::{Value, json};

use crate::{Api, ApiOptions, ApiRequest, ApiResponse, RouteGroups, handle};

const PASSWORD: &str = "correct-horse-battery-9";

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

/// Fails the test unless `document` (the Api's OpenAPI document) lists
/// `status` among the responses of `method path`'s operation: every answer
/// a test sees is checked against the document. A path no operation
/// matches, or a method it does not serve (404, 405, a group left out), has
/// no operation to list it.
fn assert_documented(document: &Value, method: &str, path: &str, status: u16) {
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    let Some((template, item)) = document["paths"].as_object().and_then(|paths| {
        paths
            .iter()
            .find(|(template, _)| instance_of(template, path))
    }) else {
        return;
    };
    let Some(responses) = item[method.to_ascii_lowercase()]["responses"].as_object() else {
        return;
    };
    assert!(
        responses.contains_key(&status.to_string()),
        "{method} {path} answered {status}, which the OpenAPI document does not list for \
         {method} {template} (it lists {:?})",
        responses.keys().collect::<Vec<_>>()
    );
}

struct Harness {
    api: Api,
    /// The Api's OpenAPI document, parsed once.
    document: Value,
    mailer: MemoryMailer,
    clock: ManualClock,
}

fn harness_with(options: ApiOptions) -> Harness {
    harness_throttled(options, ThrottleConfig::disabled())
}

fn harness_throttled(options: ApiOptions, throttle: ThrottleConfig) -> Harness {
    let mailer = MemoryMailer::default();
    let clock = ManualClock::at_unix(1_800_000_000);
    // OpenID Connect on, so that every row of the table answers.
    let key = auth_core::token::jwt::JwtKey::from_pem(
        auth_core::token::jwt::Algorithm::EdDSA,
        include_str!("../../auth-core/tests/keys/ed25519_private.pem"),
    )
    .expect("key");
    let oauth = auth_core::config::OAuthConfig::default()
        .with_id_token_keys(auth_core::token::jwt::KeySet::new(key).expect("keys"))
        .expect("asymmetric");
    let config = AuthConfig::default()
        .with_throttle(throttle)
        .with_oauth(oauth);
    let auth = Auth::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .mailer(Arc::new(mailer.clone()))
        .clock(Arc::new(clock.clone()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("params")).expect("hasher"),
        ))
        .build()
        .expect("service");
    let api = Api::with_options(auth, options);
    let document = serde_json::from_slice(&api.openapi_json()).expect("the document is JSON");
    Harness {
        api,
        document,
        mailer,
        clock,
    }
}

fn harness() -> Harness {
    harness_with(ApiOptions::default())
}

impl Harness {
    async fn raw(
        &self,
        method: &str,
        target: &str,
        headers: Vec<(&str, &str)>,
        body: &[u8],
    ) -> ApiResponse {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let request = ApiRequest::from_parts(
            &self.api,
            method,
            path,
            query,
            headers,
            body,
            Some("127.0.0.1".parse().expect("ip")),
        );
        let response = handle(&self.api, request).await;
        // Emails are sent off the request path: the tests read them next.
        self.api.auth().flush().await;
        assert_documented(&self.document, method, path, response.status);
        response
    }

    async fn call(
        &self,
        method: &str,
        target: &str,
        body: Option<Value>,
        authorization: Option<&str>,
    ) -> ApiResponse {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut headers = vec![("Content-Type", "application/json"), ("Host", "testserver")];
        if let Some(value) = authorization {
            headers.push(("Authorization", value));
        }
        self.raw(method, target, headers, body.as_bytes()).await
    }

    async fn user(&self, username: &str, staff: bool) -> String {
        let email = format!("{username}@example.com");
        let user = if staff {
            self.api
                .auth()
                .create_superuser(username, &email, PASSWORD)
                .await
        } else {
            let input = crate::admin_user_from_json(
                &json!({"username": username, "email": email, "password": PASSWORD}),
                false,
            )
            .expect("input");
            self.api.auth().create_user(input).await
        };
        user.expect("user").id.to_string()
    }

    async fn jwt(&self, username: &str) -> (String, String) {
        self.jwt_at("/api", username).await
    }

    /// [`jwt`](Self::jwt) with the routes under `prefix`.
    async fn jwt_at(&self, prefix: &str, username: &str) -> (String, String) {
        let response = self
            .call(
                "POST",
                &format!("{prefix}/auth/jwt/create"),
                Some(json!({"username": username, "password": PASSWORD})),
                None,
            )
            .await;
        assert_eq!(response.status, 200, "{:?}", response.json_body());
        let body = response.json_body();
        (
            format!("Bearer {}", body["access"].as_str().unwrap_or("")),
            body["refresh"].as_str().unwrap_or("").to_string(),
        )
    }

    async fn knox(&self, username: &str) -> String {
        let response = self
            .call(
                "POST",
                "/api/auth/token/login",
                Some(json!({"username": username, "password": PASSWORD, "name": "laptop"})),
                None,
            )
            .await;
        assert_eq!(response.status, 200, "{:?}", response.json_body());
        format!(
            "Token {}",
            response.json_body()["token"].as_str().unwrap_or("")
        )
    }

    /// `(uid, token)` from the last email to `to` holding `marker`.
    fn link(&self, to: &str, marker: &str) -> (String, String) {
        let email = self.mailer.last_to(to).expect("an email");
        let start = email.body.find(marker).expect("a link") + marker.len();
        let rest: String = email.body[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        let (uid, token) = rest.split_once('/').expect("uid/token");
        (uid.to_string(), token.to_string())
    }
}

#[tokio::test]
async fn routing_slashes_404_405_options_head() {
    let h = harness();
    assert_eq!(h.call("GET", "/healthz", None, None).await.status, 200);
    assert_eq!(h.call("GET", "/healthz/", None, None).await.status, 200);
    let missing = h.call("GET", "/api/nope", None, None).await;
    assert_eq!(
        (missing.status, missing.json_body()),
        (404, json!({"detail": "Not found."}))
    );
    assert_eq!(
        h.call("GET", "/api/auth/me//", None, None).await.status,
        404
    );
    assert_eq!(
        h.call("GET", "/api/users/a/b", None, None).await.status,
        404
    );

    let wrong = h.call("GET", "/api/auth/register", None, None).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(
        wrong.json_body(),
        json!({"detail": "Method \"GET\" not allowed."})
    );
    assert_eq!(wrong.header("allow"), Some("POST, OPTIONS"));

    for path in [
        "/api/users",
        "/api/users/",
        "/api/users/0190",
        "/api/auth/me",
    ] {
        let options = h.call("OPTIONS", path, None, None).await;
        assert_eq!(options.status, 200, "{path}");
        assert!(
            options.header("Allow").is_some_and(|a| a.contains("GET")),
            "{path}"
        );
    }
    let allow = h.call("OPTIONS", "/api/users/x", None, None).await;
    assert_eq!(
        allow.header("Allow"),
        Some("GET, PUT, PATCH, DELETE, HEAD, OPTIONS")
    );

    let head = h.call("HEAD", "/healthz", None, None).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn disabled_groups_are_404_and_left_out_of_the_document() {
    let h = harness_with(ApiOptions::default().with_groups(RouteGroups {
        jwt: true,
        docs: true,
        ..RouteGroups::none()
    }));
    assert_eq!(
        h.call("POST", "/api/auth/register", Some(json!({})), None)
            .await
            .status,
        404
    );
    assert_eq!(h.call("GET", "/healthz", None, None).await.status, 404);
    assert_eq!(
        h.call("POST", "/api/auth/jwt/verify", Some(json!({})), None)
            .await
            .status,
        400
    );
    let doc: Value = serde_json::from_slice(&h.api.openapi_json()).expect("json");
    assert!(doc["paths"]["/api/auth/jwt/create"].is_object());
    assert!(doc["paths"].get("/api/auth/register").is_none());
}

#[tokio::test]
async fn bodies_413_415_bad_json_and_empty() {
    let h = harness_with(ApiOptions::default().with_body_limit(32));
    let big = vec![b' '; 33];
    let response = h.raw("POST", "/api/auth/register", vec![], &big).await;
    assert_eq!(
        (response.status, response.json_body()),
        (413, json!({"detail": "Request body is too large."}))
    );

    let h = harness();
    let form = h
        .raw(
            "POST",
            "/api/auth/jwt/create",
            vec![("content-type", "application/x-www-form-urlencoded")],
            b"username=a",
        )
        .await;
    assert_eq!(form.status, 415);
    assert_eq!(
        form.json_body(),
        json!({"detail": "Unsupported media type \"application/x-www-form-urlencoded\" in request."})
    );

    // No type at all is no JSON either (DRF), and a JSON-like suffix is not
    // `application/json`; any case and parameters of the real one pass.
    for (headers, status) in [
        (vec![], 415),
        (vec![("content-type", "application/problem+json")], 415),
        (
            vec![("content-type", "APPLICATION/JSON; charset=utf-8")],
            400,
        ),
    ] {
        let response = h
            .raw(
                "POST",
                "/api/auth/jwt/create",
                headers,
                br#"{"username": "a"}"#,
            )
            .await;
        assert_eq!(response.status, status, "{:?}", response.json_body());
    }
    let untyped = h
        .raw(
            "POST",
            "/api/auth/jwt/create",
            vec![],
            br#"{"username": "a"}"#,
        )
        .await;
    assert_eq!(
        untyped.json_body(),
        json!({"detail": "Unsupported media type \"\" in request."})
    );

    let bad = h
        .raw(
            "POST",
            "/api/auth/jwt/create",
            vec![("content-type", "application/json")],
            b"{\"a\":",
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json_body()["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("JSON parse error - "))
    );

    let not_object = h
        .call("POST", "/api/auth/jwt/create", Some(json!([1])), None)
        .await;
    assert_eq!(not_object.status, 400);
    assert!(not_object.json_body()["non_field_errors"].is_array());

    let empty = h
        .raw(
            "POST",
            "/api/auth/register",
            vec![("content-type", "application/json; charset=utf-8")],
            b"",
        )
        .await;
    assert_eq!(empty.status, 400);
    for field in ["username", "email", "password", "confirm_password"] {
        assert_eq!(
            empty.json_body()[field],
            json!(["This field is required."]),
            "{field}"
        );
    }
}

#[tokio::test]
async fn register_activate_login_and_me() {
    let h = harness();
    let body = json!({"username": "ada", "email": "ada@example.com", "password": PASSWORD, "confirm_password": PASSWORD});
    let created = h
        .call("POST", "/api/auth/register/", Some(body.clone()), None)
        .await;
    assert_eq!(created.status, 201, "{:?}", created.json_body());
    let user = created.json_body();
    assert_eq!(user["is_active"], false);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let again = h.call("POST", "/api/auth/register", Some(body), None).await;
    assert_eq!(again.status, 400);
    assert!(again.json_body()["username"].is_array());
    let differ = h
        .call("POST", "/api/auth/register", Some(json!({"username": "bob", "email": "bob@example.com", "password": PASSWORD, "confirm_password": "x"})), None)
        .await;
    assert!(differ.json_body()["confirm_password"].is_array());

    let refused = h
        .call(
            "POST",
            "/api/auth/jwt/create",
            Some(json!({"username": "ada", "password": PASSWORD})),
            None,
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json_body()["code"], "no_active_account");
    assert_eq!(
        refused.header("WWW-Authenticate"),
        Some("Bearer realm=\"api\"")
    );

    let resend = h
        .call(
            "POST",
            "/api/auth/activate/resend",
            Some(json!({"email": "ada@example.com"})),
            None,
        )
        .await;
    assert_eq!(resend.status, 202);
    assert!(resend.json_body()["detail"].is_string());
    let (uid, token) = h.link("ada@example.com", "/activate/");
    let forged = h
        .call(
            "POST",
            "/api/auth/activate",
            Some(json!({"uid": uid, "token": "x-y"})),
            None,
        )
        .await;
    assert_eq!(forged.status, 400);
    assert_eq!(
        forged.json_body()["token"],
        json!(["Invalid or expired token."])
    );
    let activated = h
        .call(
            "POST",
            "/api/auth/activate",
            Some(json!({"uid": uid, "token": token})),
            None,
        )
        .await;
    assert_eq!(activated.status, 200);
    assert!(activated.json_body()["detail"].is_string());

    let (bearer, _) = h.jwt("ada").await;
    let me = h.call("GET", "/api/auth/me", None, Some(&bearer)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json_body()["username"], "ada");
    let anonymous = h.call("GET", "/api/auth/me", None, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json_body()["code"], "not_authenticated");
    assert!(anonymous.header("www-authenticate").is_some());

    let patched = h
        .call(
            "PATCH",
            "/api/auth/me",
            Some(json!({"first_name": "Ada", "profile": {"country": "UK"}})),
            Some(&bearer),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json_body()["profile"], json!({"country": "UK"}));
    let read_only = h
        .call(
            "PATCH",
            "/api/auth/me",
            Some(json!({"email": "x@example.com"})),
            Some(&bearer),
        )
        .await;
    assert_eq!(read_only.status, 400);
    assert!(read_only.json_body()["email"].is_array());

    let history = h
        .call(
            "GET",
            "/api/auth/me/history?page_size=1",
            None,
            Some(&bearer),
        )
        .await;
    assert_eq!(history.status, 200);
    let page = history.json_body();
    assert!(page["count"].as_u64().is_some_and(|c| c >= 2), "{page}");
    let entry = &page["results"][0];
    assert_eq!(entry["event"], "login");
    assert_eq!(entry["ip"], "127.0.0.1");
    assert!(entry["at"].is_string() && entry.get("user_agent").is_some());
    assert_eq!(page["previous"], Value::Null);
    assert_eq!(
        page["next"],
        "http://testserver/api/auth/me/history?page_size=1&page=2"
    );
    let past = h
        .call("GET", "/api/auth/me/history?page=99", None, Some(&bearer))
        .await;
    assert_eq!(
        (past.status, past.json_body()),
        (404, json!({"detail": "Invalid page."}))
    );
    assert_eq!(
        h.call("GET", "/api/auth/me/history?page=x", None, Some(&bearer))
            .await
            .status,
        404
    );

    let wrong = h
        .call(
            "DELETE",
            "/api/auth/me",
            Some(json!({"password": "nope"})),
            Some(&bearer),
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.json_body()["password"].is_array());
    let deleted = h
        .call(
            "DELETE",
            "/api/auth/me",
            Some(json!({"password": PASSWORD})),
            Some(&bearer),
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&bearer))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn jwt_refresh_verify_blacklist_and_jwks() {
    let h = harness();
    h.user("ada", false).await;
    let (bearer, refresh) = h.jwt("ada").await;
    let access = bearer.trim_start_matches("Bearer ").to_string();
    let verified = h
        .call(
            "POST",
            "/api/auth/jwt/verify",
            Some(json!({"token": access})),
            None,
        )
        .await;
    assert_eq!((verified.status, verified.json_body()), (200, json!({})));
    let garbage = h
        .call(
            "POST",
            "/api/auth/jwt/verify",
            Some(json!({"token": "x"})),
            None,
        )
        .await;
    assert_eq!(garbage.status, 401);
    assert_eq!(garbage.json_body()["code"], "token_not_valid");

    let refreshed = h
        .call(
            "POST",
            "/api/auth/jwt/refresh",
            Some(json!({"refresh": refresh})),
            None,
        )
        .await;
    assert_eq!(refreshed.status, 200);
    let pair = refreshed.json_body();
    assert!(pair["access"].is_string() && pair["refresh"].is_string());
    let missing = h
        .call("POST", "/api/auth/jwt/blacklist", Some(json!({})), None)
        .await;
    assert_eq!(
        missing.json_body(),
        json!({"refresh": ["This field is required."]})
    );
    let newer = pair["refresh"].as_str().unwrap_or("").to_string();
    let out = h
        .call(
            "POST",
            "/api/auth/jwt/blacklist",
            Some(json!({"refresh": newer})),
            None,
        )
        .await;
    assert_eq!((out.status, out.json_body()), (200, json!({})));
    assert_eq!(
        h.call(
            "POST",
            "/api/auth/jwt/blacklist",
            Some(json!({"refresh": newer})),
            None
        )
        .await
        .status,
        401
    );

    let replay = h
        .call(
            "POST",
            "/api/auth/jwt/refresh",
            Some(json!({"refresh": refresh})),
            None,
        )
        .await;
    assert_eq!(replay.status, 401);

    let jwks = h.call("GET", "/api/auth/jwks.json", None, None).await;
    assert_eq!((jwks.status, jwks.json_body()), (200, json!({"keys": []})));
}

#[tokio::test]
async fn knox_login_sessions_password_change_logout() {
    let h = harness();
    h.user("ada", false).await;
    let bad = h
        .call(
            "POST",
            "/api/auth/token/login",
            Some(json!({"email": "ada@example.com", "password": "x"})),
            None,
        )
        .await;
    assert_eq!(
        (bad.status, bad.json_body()),
        (
            400,
            json!({"non_field_errors": ["Unable to log in with provided credentials."]})
        )
    );
    let token = h.knox("ada").await;
    let other = h.knox("ada").await;
    let login = h
        .call(
            "POST",
            "/api/auth/token/login",
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
            None,
        )
        .await;
    assert!(login.json_body().get("expiry").is_some());

    let sessions = h
        .call("GET", "/api/auth/token/sessions", None, Some(&token))
        .await;
    assert_eq!(sessions.status, 200);
    let list = sessions.json_body();
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    for field in ["token_key", "name", "created", "expiry", "last_used"] {
        assert!(list[0].get(field).is_some(), "{field}");
    }
    assert!(
        !list
            .to_string()
            .contains(token.trim_start_matches("Token "))
    );

    let change = json!({"old_password": PASSWORD, "new_password": "another-horse-battery-7", "confirm_password": "another-horse-battery-7"});
    let wrong = h
        .call("POST", "/api/auth/password/change", Some(json!({"old_password": "x", "new_password": "another-horse-battery-7", "confirm_password": "another-horse-battery-7"})), Some(&token))
        .await;
    assert!(wrong.json_body()["old_password"].is_array());
    assert_eq!(
        h.call(
            "POST",
            "/api/auth/password/change",
            Some(change),
            Some(&token)
        )
        .await
        .status,
        204
    );
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&token))
            .await
            .status,
        200,
        "the current token is kept"
    );
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&other))
            .await
            .status,
        401,
        "other tokens are revoked"
    );

    let gone = h
        .call(
            "DELETE",
            "/api/auth/token/sessions/nope",
            None,
            Some(&token),
        )
        .await;
    assert_eq!(gone.status, 404);

    let key = h
        .call("GET", "/api/auth/token/sessions", None, Some(&token))
        .await
        .json_body()[0]["token_key"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let extra = {
        let response = h
            .call(
                "POST",
                "/api/auth/token/login",
                Some(json!({"username": "ada", "password": "another-horse-battery-7"})),
                None,
            )
            .await;
        format!(
            "Token {}",
            response.json_body()["token"].as_str().unwrap_or("")
        )
    };
    assert_eq!(
        h.call(
            "DELETE",
            &format!("/api/auth/token/sessions/{key}/"),
            None,
            Some(&extra)
        )
        .await
        .status,
        204
    );
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&token))
            .await
            .status,
        401
    );

    let (bearer, _) = {
        let response = h
            .call(
                "POST",
                "/api/auth/jwt/create",
                Some(json!({"username": "ada", "password": "another-horse-battery-7"})),
                None,
            )
            .await;
        let body = response.json_body();
        (
            format!("Bearer {}", body["access"].as_str().unwrap_or("")),
            (),
        )
    };
    let jwt_logout = h
        .call("POST", "/api/auth/token/logout", None, Some(&bearer))
        .await;
    assert_eq!(jwt_logout.status, 401);
    assert_eq!(
        h.call("POST", "/api/auth/token/logout", None, None)
            .await
            .status,
        401
    );
    assert_eq!(
        h.call("POST", "/api/auth/token/logout/", None, Some(&extra))
            .await
            .status,
        204
    );
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&extra))
            .await
            .status,
        401
    );

    let last = {
        let response = h
            .call(
                "POST",
                "/api/auth/token/login",
                Some(json!({"username": "ada", "password": "another-horse-battery-7"})),
                None,
            )
            .await;
        format!(
            "Token {}",
            response.json_body()["token"].as_str().unwrap_or("")
        )
    };
    h.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        h.call("POST", "/api/auth/token/logoutall", None, Some(&last))
            .await
            .status,
        204
    );
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&last))
            .await
            .status,
        401
    );
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&bearer))
            .await
            .status,
        401,
        "logoutall voids JWTs too"
    );
}

#[tokio::test]
async fn static_tokens() {
    let h = harness();
    h.user("ada", false).await;
    let login = json!({"username": "ada", "password": PASSWORD});
    let first = h
        .call("POST", "/api/auth/static-token", Some(login.clone()), None)
        .await;
    assert_eq!(first.status, 200);
    let token = first.json_body()["token"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let second = h
        .call("POST", "/api/auth/static-token/", Some(login), None)
        .await;
    assert_eq!(second.json_body()["token"], token.as_str());
    let header = format!("Token {token}");
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&header))
            .await
            .status,
        200
    );

    let (bearer, _) = h.jwt("ada").await;
    assert_eq!(
        h.call("DELETE", "/api/auth/static-token", None, Some(&bearer))
            .await
            .status,
        401
    );
    assert_eq!(
        h.call("DELETE", "/api/auth/static-token", None, Some(&header))
            .await
            .status,
        204
    );
    assert_eq!(
        h.call("GET", "/api/auth/me", None, Some(&header))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn password_reset_flow() {
    let h = harness();
    h.user("ada", false).await;
    let unknown = h
        .call(
            "POST",
            "/api/auth/password/reset",
            Some(json!({"email": "nobody@example.com"})),
            None,
        )
        .await;
    let known = h
        .call(
            "POST",
            "/api/auth/password/reset",
            Some(json!({"email": "ada@example.com"})),
            None,
        )
        .await;
    assert_eq!((unknown.status, known.status), (202, 202));
    assert_eq!(unknown.body, known.body);
    let (uid, token) = h.link("ada@example.com", "/password/reset/confirm/");
    let body = json!({"uid": uid, "token": token, "new_password": "another-horse-battery-7", "confirm_password": "another-horse-battery-7"});
    let done = h
        .call(
            "POST",
            "/api/auth/password/reset/confirm",
            Some(body.clone()),
            None,
        )
        .await;
    assert_eq!(done.status, 204);
    let reused = h
        .call("POST", "/api/auth/password/reset/confirm", Some(body), None)
        .await;
    assert_eq!(
        reused.json_body()["token"],
        json!(["Invalid or expired token."])
    );
}

#[tokio::test]
async fn users_admin() {
    let h = harness();
    h.user("boss", true).await;
    let ada = h.user("ada", false).await;
    for i in 0..3 {
        h.user(&format!("user{i}"), false).await;
    }
    assert_eq!(h.call("GET", "/api/users", None, None).await.status, 401);
    let (plain, _) = h.jwt("ada").await;
    let forbidden = h.call("GET", "/api/users", None, Some(&plain)).await;
    assert_eq!(
        (forbidden.status, forbidden.json_body()),
        (
            403,
            json!({"detail": "You do not have permission to perform this action."})
        )
    );
    let (staff, _) = h.jwt("boss").await;

    let page = h
        .call("GET", "/api/users/?page_size=2&page=2", None, Some(&staff))
        .await;
    assert_eq!(page.status, 200);
    let body = page.json_body();
    assert_eq!(body["count"], 5);
    assert_eq!(body["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        body["next"],
        "http://testserver/api/users/?page_size=2&page=3"
    );
    assert_eq!(body["previous"], "http://testserver/api/users/?page_size=2");
    let search = h
        .call("GET", "/api/users?search=ada%40example", None, Some(&staff))
        .await;
    assert_eq!(search.json_body()["count"], 1);
    assert_eq!(
        h.call("GET", "/api/users?page=4&page_size=2", None, Some(&staff))
            .await
            .status,
        404
    );
    let empty = h
        .call("GET", "/api/users?search=zzz", None, Some(&staff))
        .await;
    assert_eq!(
        (empty.status, empty.json_body()["count"].clone()),
        (200, json!(0))
    );

    let created = h
        .call("POST", "/api/users", Some(json!({"username": "new", "email": "new@example.com", "password": PASSWORD, "is_staff": true})), Some(&staff))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.json_body());
    assert_eq!(created.json_body()["is_active"], true);
    let invalid = h
        .call("POST", "/api/users", Some(json!({})), Some(&staff))
        .await;
    assert_eq!(invalid.status, 400);
    assert!(invalid.json_body()["username"].is_array());

    let path = format!("/api/users/{ada}");
    let got = h.call("GET", &path, None, Some(&staff)).await;
    assert_eq!(
        (got.status, got.json_body()["username"].clone()),
        (200, json!("ada"))
    );
    let patched = h
        .call(
            "PATCH",
            &path,
            Some(json!({"last_name": "Lovelace"})),
            Some(&staff),
        )
        .await;
    assert_eq!(patched.json_body()["last_name"], "Lovelace");
    let put = h
        .call(
            "PUT",
            &format!("{path}/"),
            Some(json!({"username": "ada2", "email": "ada2@example.com"})),
            Some(&staff),
        )
        .await;
    assert_eq!(
        (put.status, put.json_body()["username"].clone()),
        (200, json!("ada2"))
    );
    let put_partial = h
        .call("PUT", &path, Some(json!({"last_name": "x"})), Some(&staff))
        .await;
    assert_eq!(put_partial.status, 400);
    assert_eq!(
        h.call("GET", "/api/users/not-a-uuid", None, Some(&staff))
            .await
            .status,
        404
    );
    assert_eq!(
        h.call("DELETE", &path, None, Some(&staff)).await.status,
        204
    );
    assert_eq!(h.call("GET", &path, None, Some(&staff)).await.status, 404);
    assert_eq!(
        h.call("DELETE", &path, None, Some(&staff)).await.status,
        404
    );
}

/// The request schemas of the document say what the body readers accept:
/// a required string sent blank, and an optional field sent as `null`, are
/// each a 400 naming that field, on every operation with a body.
/// DRF reports every field's errors in one 400: a malformed or too-long
/// field beside a missing or mistyped one, and the body changes nothing.
#[tokio::test]
async fn every_field_error_comes_in_one_answer() {
    let h = harness();
    h.user("boss", true).await;
    let (staff, _) = h.jwt("boss").await;
    let long = "a".repeat(151);
    let at_most_150 = "Ensure this field has no more than 150 characters.";

    let registered = h
        .call(
            "POST",
            "/api/auth/register",
            Some(json!({"username": "has space", "email": "nope", "password": PASSWORD, "last_name": long})),
            None,
        )
        .await;
    assert_eq!(registered.status, 400);
    assert_eq!(
        registered.json_body(),
        json!({
            "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
            "email": ["Enter a valid email address."],
            "confirm_password": ["This field is required."],
            "last_name": [at_most_150],
        })
    );

    let created = h
        .call(
            "POST",
            "/api/users",
            Some(json!({"username": long, "is_staff": "yes"})),
            Some(&staff),
        )
        .await;
    assert_eq!(created.status, 400);
    assert_eq!(
        created.json_body(),
        json!({
            "username": [at_most_150],
            "email": ["This field is required."],
            "is_staff": ["Must be a valid boolean."],
        })
    );

    let patched = h
        .call(
            "PATCH",
            "/api/auth/me",
            Some(json!({"first_name": long, "last_name": "Lovelace", "email": "new@example.com"})),
            Some(&staff),
        )
        .await;
    assert_eq!(patched.status, 400);
    assert_eq!(
        patched.json_body(),
        json!({
            "first_name": [at_most_150],
            "email": ["This field cannot be changed here."],
        })
    );

    let me = h.call("GET", "/api/auth/me", None, Some(&staff)).await;
    assert_eq!(me.json_body()["last_name"], "");
    let listed = h.call("GET", "/api/users", None, Some(&staff)).await;
    assert_eq!(listed.json_body()["count"], 1, "nothing was created");
}

#[tokio::test]
async fn request_schemas_agree_with_the_body_readers() {
    let h = harness();
    let id = h.user("boss", true).await;
    let (staff, _) = h.jwt("boss").await;
    let schemas = &h.document["components"]["schemas"];
    let mut checked = 0;
    for (template, item) in h.document["paths"].as_object().expect("paths") {
        let path = template.replace("{id}", &id).replace("{token_key}", "k");
        for (method, operation) in item.as_object().expect("operations") {
            let Some(reference) =
                operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            else {
                continue;
            };
            let method = method.to_ascii_uppercase();
            for (name, schema) in object_schemas(schemas, reference) {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let properties = schema["properties"].as_object().expect("properties");
                for (field, property) in properties {
                    let body = if required.contains(&field.as_str()) {
                        if property["type"] == "array" {
                            assert_eq!(property["minItems"], 1, "{name}.{field} may not be empty");
                            json!({ field: [] })
                        } else {
                            assert_eq!(property["minLength"], 1, "{name}.{field} may not be blank");
                            json!({ field: "" })
                        }
                    } else {
                        assert!(
                            property["type"].is_string(),
                            "{name}.{field} is one type, never null"
                        );
                        json!({ field: null })
                    };
                    let response = h
                        .call(&method, &path, Some(body.clone()), Some(&staff))
                        .await;
                    assert_eq!(response.status, 400, "{method} {path} {body}");
                    assert!(
                        response.json_body()[field].is_array(),
                        "{method} {path} {body}: {:?}",
                        response.json_body()
                    );
                    checked += 1;
                    if let Some(most) = property["maxLength"].as_u64() {
                        // At the limit the field has no error; one past it, one.
                        let most = usize::try_from(most).expect("a length");
                        for (length, refused) in [(most, false), (most + 1, true)] {
                            let value = if property["format"] == "email" {
                                email_of_length(length, &format!("u{checked}"))
                            } else {
                                let tag = format!("u{checked}");
                                format!("{tag}{}", "a".repeat(length - tag.len()))
                            };
                            // The field alone: its length is judged beside
                            // the missing required fields, all at once.
                            checked += 1;
                            let body = json!({ field: value });
                            let response = h.call(&method, &path, Some(body), Some(&staff)).await;
                            let errors = response.json_body();
                            for other in required.iter().filter(|other| **other != field) {
                                assert_eq!(
                                    errors[*other],
                                    json!(["This field is required."]),
                                    "{method} {path}: {name}.{field} of {length} characters: {errors:?}"
                                );
                            }
                            assert_eq!(
                                errors[field].is_array(),
                                refused,
                                "{method} {path}: {name}.{field} of {length} characters: {errors:?}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} fields checked");
}

/// A valid email address of exactly `length` characters whose local part
/// is `local` (`length` well over that).
fn email_of_length(length: usize, local: &str) -> String {
    // "local@", then labels of 60 letters and a dot, a last shorter one,
    // ".com".
    let mut rest = length - local.len() - "@".len() - ".com".len();
    let mut labels = Vec::new();
    while rest > 61 {
        labels.push("b".repeat(60));
        rest -= 61;
    }
    labels.push("b".repeat(rest));
    format!("{local}@{}.com", labels.join("."))
}

/// The object schemas `reference` names: itself, or each one its `anyOf`
/// or `allOf` names (a login body is `anyOf` a username and an email
/// login), with their names.
fn object_schemas<'a>(schemas: &'a Value, reference: &'a str) -> Vec<(&'a str, &'a Value)> {
    let name = reference.trim_start_matches("#/components/schemas/");
    let schema = &schemas[name];
    let parts = schema["anyOf"].as_array().or(schema["allOf"].as_array());
    match parts {
        None => vec![(name, schema)],
        Some(parts) => parts
            .iter()
            .filter_map(|part| part["$ref"].as_str())
            .flat_map(|reference| object_schemas(schemas, reference))
            .collect(),
    }
}

#[tokio::test]
async fn health_openapi_and_docs() {
    let h = harness();
    let health = h.call("GET", "/healthz", None, None).await;
    assert_eq!(health.json_body(), json!({"status": "ok"}));

    let doc = h.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    let doc = doc.json_body();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for endpoint in crate::routes::ENDPOINTS {
        if endpoint.summary.is_some() {
            let path = crate::endpoint::mounted("/api", endpoint);
            let op = &doc["paths"][&path][endpoint.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{endpoint:?}");
        }
    }
    assert!(doc["components"]["schemas"]["User"].is_object());

    let index = h.call("GET", "/api/docs", None, None).await;
    assert_eq!(index.status, 200);
    assert!(
        index
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    let html = String::from_utf8_lossy(&index.body).to_string();
    assert!(html.contains("docs/swagger-ui-bundle.js"), "{html}");
    let slash = h.call("GET", "/api/docs/", None, None).await;
    assert!(String::from_utf8_lossy(&slash.body).contains("./swagger-ui-bundle.js"));
    let js = h
        .call("GET", "/api/docs/swagger-ui-bundle.js", None, None)
        .await;
    assert_eq!(js.status, 200);
    assert!(js.body.len() > 10_000);
    let init = h
        .call("GET", "/api/docs/swagger-initializer.js", None, None)
        .await;
    assert!(String::from_utf8_lossy(&init.body).contains("openapi.json"));
    assert_eq!(
        h.call("GET", "/api/docs/openapi.json", None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        h.call("GET", "/api/docs/nope.js", None, None).await.status,
        404
    );
}

#[test]
fn client_address_policy() {
    use crate::ClientAddressPolicy;
    let peer = Some("10.0.0.1".parse().expect("ip"));
    let one = ClientAddressPolicy::TrustForwardedFor { proxies: 1 };
    assert_eq!(
        one.client_ip(peer, Some("1.2.3.4, 5.6.7.8")).as_deref(),
        Some("5.6.7.8")
    );
    assert_eq!(
        one.client_ip(peer, Some("garbage")).as_deref(),
        Some("10.0.0.1")
    );
    assert_eq!(one.client_ip(peer, None).as_deref(), Some("10.0.0.1"));
    let many = ClientAddressPolicy::TrustForwardedFor { proxies: 5 };
    assert_eq!(
        many.client_ip(peer, Some("1.2.3.4, 5.6.7.8")).as_deref(),
        Some("1.2.3.4")
    );
    assert_eq!(crate::form::percent_decode("a%40b+c%zz%4"), "a@b c%zz%4");
}

#[tokio::test]
async fn throttled_logins_get_429_with_retry_after() {
    let h = harness_throttled(
        ApiOptions::default(),
        ThrottleConfig::disabled()
            .with_login_rates("2/min")
            .expect("rate"),
    );
    h.user("ada", false).await;
    let wrong = json!({"username": "ada", "password": "nope"});
    for _ in 0..2 {
        let response = h
            .call("POST", "/api/auth/jwt/create", Some(wrong.clone()), None)
            .await;
        assert_eq!(response.status, 401);
    }
    let throttled = h
        .call("POST", "/api/auth/token/login", Some(wrong), None)
        .await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.header("Retry-After").is_some());
    assert!(
        throttled.json_body()["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Request was throttled."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_finds_the_hashing_queue_full_gets_503_at_once() {
    use auth_core::testkit::HeldHasher;
    let hasher = Arc::new(HeldHasher::new(
        Argon2idHasher::new(Argon2Params::new(256, 1, 1).expect("params")).expect("hasher"),
        0,
    ));
    let auth = Auth::builder(AuthConfig::default().with_throttle(ThrottleConfig::disabled()))
        .store(Arc::new(MemoryStore::new()))
        .mailer(Arc::new(MemoryMailer::default()))
        .hasher(hasher.clone())
        .hashing_threads(1)
        .hashing_queue(0)
        .build()
        .expect("service");
    let api = Api::with_options(auth, ApiOptions::default());
    let h = Harness {
        document: serde_json::from_slice(&api.openapi_json()).expect("the document is JSON"),
        api,
        mailer: MemoryMailer::default(),
        clock: ManualClock::at_unix(1_800_000_000),
    };
    h.user("ada", false).await;
    let (bearer, _) = h.jwt("ada").await;
    let login = json!({"username": "ada", "password": PASSWORD});

    // The one hashing thread is held by a login; no work may wait.
    hasher.hold(1);
    let h = Arc::new(h);
    let held = tokio::spawn({
        let (h, login) = (h.clone(), login.clone());
        async move {
            h.call("POST", "/api/auth/jwt/create", Some(login), None)
                .await
                .status
        }
    });
    hasher.until_held(1).await;
    for path in ["/api/auth/jwt/create", "/api/auth/token/login"] {
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            h.call("POST", path, Some(login.clone()), None),
        )
        .await
        .expect("answered at once, without waiting for the held login");
        assert_eq!(refused.status, 503, "{path}");
        assert_eq!(refused.header("Retry-After"), Some("1"), "{path}");
        assert_eq!(
            refused.json_body(),
            json!({"detail": "Service temporarily unavailable, try again later."})
        );
    }
    // A request that hashes nothing is not slowed.
    let me = h.call("GET", "/api/auth/me", None, Some(&bearer)).await;
    assert_eq!(me.status, 200);

    hasher.release();
    assert_eq!(held.await.expect("the held login ran"), 200);
    let after = h
        .call("POST", "/api/auth/jwt/create", Some(login), None)
        .await;
    assert_eq!(after.status, 200, "the queue drained");
}

#[tokio::test]
async fn a_middleware_outcome_is_used_instead_of_the_header() {
    use auth_core::error::{AuthError, TokenRejection};
    let h = harness();
    h.user("ada", false).await;
    let (bearer, _) = h.jwt("ada").await;
    let who = h
        .api
        .auth()
        .authenticate_header(Some(&bearer))
        .await
        .expect("authenticated");
    let mut request =
        ApiRequest::from_parts(&h.api, "GET", "/api/auth/me", None, vec![], b"", None);
    request.authenticated = Some(Ok(who));
    let response = handle(&h.api, request).await;
    assert_eq!(response.json_body()["username"], "ada");

    let mut request = ApiRequest::from_parts(
        &h.api,
        "GET",
        "/api/auth/me",
        None,
        vec![("Authorization", bearer.as_str())],
        b"",
        None,
    );
    request.authenticated = Some(Err(std::sync::Arc::new(AuthError::Unauthenticated(
        TokenRejection::Invalid,
    ))));
    let response = handle(&h.api, request).await;
    assert_eq!(response.status, 401);
    assert!(response.header("WWW-Authenticate").is_some());
}

#[test]
fn debug_output_hides_credentials_and_bodies() {
    let h = harness();
    let request = ApiRequest::from_parts(
        &h.api,
        "POST",
        "/api/auth/jwt/create",
        None,
        vec![("Authorization", "Token secret-token-value")],
        br#"{"password": "hunter2-secret"}"#,
        None,
    );
    let printed = format!("{request:?}");
    assert!(!printed.contains("secret-token-value") && !printed.contains("hunter2"));
    let response = ApiResponse::json(200, &json!({"token": "secret-token-value"}));
    assert!(!format!("{response:?}").contains("secret-token-value"));
}

#[tokio::test]
async fn extractor_rules_and_rejections() {
    use crate::{Rejection, RequestAuth};
    let h = harness();
    h.user("ada", false).await;
    h.user("boss", true).await;
    let (ada, _) = h.jwt("ada").await;
    let (boss, _) = h.jwt("boss").await;
    let auth = h.api.auth();
    let ada = RequestAuth::from_header(auth, Some(&ada)).await;
    let boss = RequestAuth::from_header(auth, Some(&boss)).await;
    let anonymous = RequestAuth::from_header(auth, None).await;
    let forged = RequestAuth::from_header(auth, Some("Bearer forged")).await;

    let username = |who: auth_core::flows::Authenticated| who.user.username;
    assert_eq!(
        RequestAuth::current_user(Some(&ada)).map(username).ok(),
        Some("ada".to_string())
    );
    assert_eq!(
        RequestAuth::staff_user(Some(&boss)).map(username).ok(),
        Some("boss".to_string())
    );
    assert!(matches!(
        RequestAuth::staff_user(Some(&ada)),
        Err(Rejection::NotStaff)
    ));
    assert!(matches!(
        RequestAuth::maybe_user(Some(&anonymous)),
        Ok(None)
    ));
    assert!(matches!(
        RequestAuth::maybe_user(Some(&forged)),
        Err(Rejection::Unauthenticated(_))
    ));
    for rule in [
        RequestAuth::current_user as fn(Option<&RequestAuth>) -> _,
        RequestAuth::staff_user,
    ] {
        assert!(matches!(rule(None), Err(Rejection::MiddlewareMissing)));
        let Err(rejection) = rule(Some(&anonymous)) else {
            panic!("anonymous accepted");
        };
        let response = rejection.response("AuthLayer installed");
        assert_eq!(response.status, 401);
        assert_eq!(response.json_body()["code"], "not_authenticated");
        assert_eq!(
            response.header("WWW-Authenticate"),
            Some("Bearer realm=\"api\"")
        );
    }
    assert!(matches!(
        RequestAuth::maybe_user(None),
        Err(Rejection::MiddlewareMissing)
    ));
    let response = Rejection::NotStaff.response("");
    assert_eq!(
        response.json_body(),
        json!({"detail": "You do not have permission to perform this action."})
    );
    let response = Rejection::MiddlewareMissing.response("AuthMiddleware installed");
    assert_eq!(response.status, 500);
    assert_eq!(
        response.json_body()["detail"],
        "Authentication is not set up for this route: is the AuthMiddleware installed?"
    );

    // The routes reuse what a middleware stored.
    let request = ApiRequest::from_parts(&h.api, "GET", "/api/auth/me", None, vec![], b"", None)
        .with_request_auth(Some(&boss));
    assert_eq!(
        handle(&h.api, request).await.json_body()["username"],
        "boss"
    );
    let request = ApiRequest::from_parts(&h.api, "GET", "/api/auth/me", None, vec![], b"", None)
        .with_request_auth(None);
    assert_eq!(handle(&h.api, request).await.status, 401);
}

#[test]
fn declared_body_sizes() {
    let h = harness_with(ApiOptions::default().with_body_limit(100));
    assert!(h.api.declares_body_too_large(Some("101")));
    assert!(h.api.declares_body_too_large(Some(" 101 ")));
    assert!(!h.api.declares_body_too_large(Some("100")));
    assert!(!h.api.declares_body_too_large(Some("-1")));
    assert!(!h.api.declares_body_too_large(Some("lots")));
    assert!(!h.api.declares_body_too_large(None));
}

/// Odd strings for the header, path and query parsers (#21.14): every
/// UTF-8 width and control characters at the lengths the parsers care
/// about, empty and huge values.
fn odd_inputs() -> Vec<String> {
    let hex = "0123456789abcdef".repeat(5);
    let mut out = vec![
        String::new(),
        " ".into(),
        ",".into(),
        ", ,".into(),
        "é".repeat(20_000),
        "1".repeat(40),
        "-1".into(),
        "18446744073709551616".into(),
        "::ffff:10.0.0.1, 2001:db8::1, 10.0.0.2".into(),
        "Bearer".into(),
        "Token  a b".into(),
        "application/json; charset=".into(),
        ";;;".into(),
    ];
    for n in [0, 14, 15, 39, 40, 63, 64, 65, 71] {
        for odd in ["é", "€", "😀", "\u{0}", "\u{7f}", "%", "%zz", "%00", "\t"] {
            let (head, tail) = hex.split_at(n.min(hex.len()));
            out.push(format!("{head}{odd}{tail}"));
            out.push(format!("Token {head}{odd}"));
            out.push(format!("Bearer {head}{odd}.{tail}.x"));
        }
    }
    out
}

#[tokio::test]
async fn header_path_and_query_parsers_never_panic() {
    let h = harness();
    h.user("boss", true).await;
    let (staff, _) = h.jwt("boss").await;
    let peer = Some("127.0.0.1".parse().expect("ip"));
    let proxies = crate::ClientAddressPolicy::TrustForwardedFor { proxies: 2 };
    for input in odd_inputs() {
        let _ = proxies.client_ip(peer, Some(&input));
        let _ = h.api.declares_body_too_large(Some(&input));
        let _ = h.api.client_info(peer, Some(&input), Some(&input));
        for (name, path, query) in [
            ("Authorization", "/api/auth/me", None),
            ("Content-Type", "/api/auth/jwt/create", None),
            ("X-Forwarded-For", "/api/auth/jwt/create", None),
            ("Content-Length", "/api/auth/jwt/create", None),
            ("Host", "/api/users", Some(format!("page={input}"))),
            (
                "Accept",
                "/api/users",
                Some(format!("page_size={input}&search={input}")),
            ),
        ] {
            let mut headers = vec![(name, input.as_str())];
            if name != "Authorization" {
                headers.push(("Authorization", staff.as_str()));
            }
            if name != "Content-Type" {
                headers.push(("Content-Type", "application/json"));
            }
            let method = if query.is_some() || name == "Authorization" {
                "GET"
            } else {
                "POST"
            };
            let request = ApiRequest::from_parts(
                &h.api,
                method,
                path,
                query.as_deref(),
                headers,
                br#"{"username": "boss", "password": "x"}"#,
                peer,
            );
            let response = handle(&h.api, request).await;
            assert!(
                response.status < 500,
                "{name}: {:?} gave {}",
                input.chars().take(30).collect::<String>(),
                response.status
            );
        }
        for path in [
            format!("/api/users/{input}"),
            format!("/api/auth/token/sessions/{input}"),
            format!("/api/{input}"),
            format!("/api/docs/{input}"),
        ] {
            let request = ApiRequest::from_parts(
                &h.api,
                "GET",
                &path,
                Some(&input),
                vec![("Authorization", staff.as_str())],
                b"",
                peer,
            );
            assert!(handle(&h.api, request).await.status < 500, "{path:?}");
        }
    }
}

#[test]
fn forwarded_for_over_several_lines_is_one_list() {
    use crate::ClientAddressPolicy;
    let headers = || {
        vec![
            ("x-forwarded-for", "203.0.113.9, 10.0.0.5"),
            ("user-agent", "test"),
            ("X-Forwarded-For", "198.51.100.7"),
        ]
    };
    let peer = Some("10.0.0.1".parse().expect("ip"));
    for (proxies, expected) in [(1, "198.51.100.7"), (2, "10.0.0.5"), (3, "203.0.113.9")] {
        let options = ApiOptions::default()
            .with_client_address(ClientAddressPolicy::TrustForwardedFor { proxies });
        let api = Api::with_options(Auth::in_memory(AuthConfig::default()), options);
        let request = ApiRequest::from_parts(&api, "GET", "/healthz", None, headers(), b"", peer);
        assert_eq!(
            request.client.ip.as_deref(),
            Some(expected),
            "{proxies} proxies"
        );
    }
}

/// #21.4: the users admin shows `is_superuser`, and the document says so:
/// its answers are `AdminUser` (the user and a required `is_superuser`),
/// its requests take `is_superuser`, and every reference resolves.
#[tokio::test]
async fn the_admin_shape_shows_is_superuser_and_is_documented() {
    let h = harness();
    let id = h.user("root", true).await;
    let (bearer, _) = h.jwt("root").await;
    let one = h
        .call("GET", &format!("/api/users/{id}"), None, Some(&bearer))
        .await;
    assert_eq!(one.json_body()["is_superuser"], true);
    let page = h.call("GET", "/api/users", None, Some(&bearer)).await;
    assert_eq!(page.json_body()["results"][0]["is_superuser"], true);
    let me = h.call("GET", "/api/auth/me", None, Some(&bearer)).await;
    assert!(me.json_body().get("is_superuser").is_none());

    let doc = &h.document;
    let schemas = &doc["components"]["schemas"];
    let admin_user = json!("#/components/schemas/AdminUser");
    for (path, method, status) in [
        ("/api/users", "post", "201"),
        ("/api/users/{id}", "get", "200"),
        ("/api/users/{id}", "put", "200"),
        ("/api/users/{id}", "patch", "200"),
    ] {
        let schema = &doc["paths"][path][method]["responses"][status]["content"]["application/json"]
            ["schema"];
        assert_eq!(schema["$ref"], admin_user, "{method} {path}");
    }
    assert_eq!(
        schemas["UserPage"]["properties"]["results"]["items"]["$ref"],
        admin_user
    );
    let parts = schemas["AdminUser"]["allOf"].as_array().expect("allOf");
    assert_eq!(parts[0]["$ref"], "#/components/schemas/User");
    assert_eq!(parts[1]["required"], json!(["is_superuser"]));
    assert_eq!(parts[1]["properties"]["is_superuser"]["type"], "boolean");
    let user_fields = schemas["User"]["required"].as_array().expect("required");
    for field in user_fields {
        let field = field.as_str().expect("a name");
        assert!(one.json_body().get(field).is_some(), "{field}");
    }
    assert_eq!(
        schemas["AdminUserRequest"]["properties"]["is_superuser"]["type"],
        "boolean"
    );

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(doc, &mut all);
    for target in all {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(schemas[name].is_object(), "{target} does not resolve");
    }
}

/// #22: under another prefix the routes answer there and not under `/api`
/// (`/healthz` stays at the root), and the pagination links, the OpenAPI
/// document's paths and `route_paths` carry the prefix.
#[tokio::test]
async fn routes_links_and_document_follow_the_prefix() {
    let h = harness_with(ApiOptions::default().with_prefix("/v1/id").expect("prefix"));
    assert_eq!(h.api.options().prefix(), "/v1/id");
    h.user("boss", true).await;
    h.user("ada", false).await;
    let credentials = json!({"username": "boss", "password": PASSWORD});
    let login = h
        .call(
            "POST",
            "/v1/id/auth/jwt/create",
            Some(credentials.clone()),
            None,
        )
        .await;
    assert_eq!(login.status, 200, "{:?}", login.json_body());
    let bearer = format!(
        "Bearer {}",
        login.json_body()["access"].as_str().expect("access")
    );
    for (method, path) in [
        ("POST", "/api/auth/jwt/create"),
        ("GET", "/api/users"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/docs"),
        ("GET", "/v1/id/healthz"),
        ("GET", "/v1/idx/users"),
        ("GET", "/v1/users"),
    ] {
        let response = h
            .call(method, path, Some(credentials.clone()), Some(&bearer))
            .await;
        assert_eq!(response.status, 404, "{method} {path}");
    }
    assert_eq!(h.call("GET", "/healthz", None, None).await.status, 200);
    let allow = h.call("OPTIONS", "/v1/id/users/", None, None).await;
    assert_eq!(allow.header("Allow"), Some("GET, POST, HEAD, OPTIONS"));

    let users = h
        .call("GET", "/v1/id/users?page_size=1", None, Some(&bearer))
        .await;
    assert_eq!(users.status, 200);
    assert_eq!(
        users.json_body()["next"],
        "http://testserver/v1/id/users?page_size=1&page=2"
    );
    let last = h
        .call(
            "GET",
            "/v1/id/users/?page_size=1&page=2",
            None,
            Some(&bearer),
        )
        .await;
    assert_eq!(
        last.json_body()["previous"],
        "http://testserver/v1/id/users/?page_size=1"
    );
    h.jwt_at("/v1/id", "boss").await;
    let history = h
        .call(
            "GET",
            "/v1/id/auth/me/history?page_size=1",
            None,
            Some(&bearer),
        )
        .await;
    assert_eq!(history.status, 200, "{:?}", history.json_body());
    assert_eq!(
        history.json_body()["next"],
        "http://testserver/v1/id/auth/me/history?page_size=1&page=2"
    );

    let served = h.call("GET", "/v1/id/openapi.json", None, None).await;
    assert_eq!(served.status, 200);
    let document = served.json_body();
    let paths: Vec<&String> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .collect();
    assert!(paths.iter().any(|p| *p == "/v1/id/users/{id}"), "{paths:?}");
    for path in &paths {
        assert!(
            *path == "/healthz" || path.starts_with("/.well-known/") || path.starts_with("/v1/id/"),
            "{path} is not under the prefix"
        );
    }
    let index = h.call("GET", "/v1/id/docs", None, None).await;
    assert!(String::from_utf8_lossy(&index.body).contains("docs/swagger-ui-bundle.js"));
    assert_eq!(
        h.call("GET", "/v1/id/docs/openapi.json", None, None)
            .await
            .status,
        200
    );

    let registered = crate::route_paths(h.api.options());
    assert!(registered.contains(&"/healthz".to_string()));
    assert!(registered.contains(&"/v1/id/docs/{file}".to_string()));
    for path in &registered {
        assert!(!path.starts_with("/api"), "{path}");
    }
}

/// #22: the prefix `""` serves the routes at the root.
#[tokio::test]
async fn the_empty_prefix_serves_the_routes_at_the_root() {
    let h = harness_with(ApiOptions::default().with_prefix("").expect("prefix"));
    h.user("ada", false).await;
    h.jwt_at("", "ada").await;
    assert_eq!(h.call("GET", "/auth/me", None, None).await.status, 401);
    assert_eq!(h.call("GET", "/users/", None, None).await.status, 401);
    assert_eq!(h.call("GET", "/openapi.json", None, None).await.status, 200);
    assert_eq!(h.call("GET", "/healthz", None, None).await.status, 200);
    assert_eq!(h.call("GET", "/api/auth/me", None, None).await.status, 404);
    assert!(h.document["paths"]["/auth/jwt/create"]["post"].is_object());
    assert_eq!(
        crate::route_paths(h.api.options())[..2],
        ["/healthz", "/healthz/"]
    );
}

/// #22: the OpenAPI document and the dispatch come from one table: every
/// row of `ENDPOINTS` is one operation of the document (and nothing else
/// is), every operation is answered by `handle` (no 404 or 405), and
/// `Allow` lists the methods of the path's rows.
#[tokio::test]
async fn the_document_and_the_dispatch_come_from_the_endpoint_table() {
    use crate::endpoint::{In, mounted};
    use crate::routes::ENDPOINTS;
    let h = harness();
    h.user("boss", true).await;
    // The users admin's rows act on another user (one deletes them).
    let id = h.user("target", false).await;
    let (staff, _) = h.jwt("boss").await;

    let mut operations = 0;
    for (template, item) in h.document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            operations += 1;
            let method = method.to_ascii_uppercase();
            let row = ENDPOINTS
                .iter()
                .find(|e| e.method == method && mounted("/api", e) == *template)
                .unwrap_or_else(|| panic!("{method} {template} is in no row"));
            assert_eq!(operation["summary"].as_str(), row.summary, "{row:?}");
            assert!(
                operation["responses"][row.status.to_string()].is_object(),
                "{row:?}"
            );
        }
    }
    let documented: Vec<_> = ENDPOINTS.iter().filter(|e| e.summary.is_some()).collect();
    assert_eq!(operations, documented.len());

    // The components are the rows' bodies (and what they refer to): a
    // group left out takes its schemas with it.
    let jwt_only = harness_with(ApiOptions::default().with_groups(RouteGroups {
        jwt: true,
        ..RouteGroups::none()
    }));
    let schemas = &jwt_only.document["components"]["schemas"];
    for present in [
        "TokenPair",
        "LoginRequest",
        "UsernameLogin",
        "Detail",
        "ValidationErrors",
    ] {
        assert!(schemas[present].is_object(), "{present}");
    }
    for absent in ["AdminUserRequest", "UserPage", "User", "KnoxSession"] {
        assert!(schemas.get(absent).is_none(), "{absent}");
    }

    for endpoint in ENDPOINTS {
        let in_document = endpoint.summary.is_some();
        for name in endpoint
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .filter(|_| in_document)
        {
            assert!(
                endpoint
                    .params
                    .iter()
                    .any(|p| p.name == name && p.at == In::Path),
                "{endpoint:?} documents no {{{name}}}"
            );
        }
        // The rows of one path template and mount point (`/o/applications`
        // is a JSON route under the prefix and a page at the root).
        let siblings: Vec<_> = ENDPOINTS
            .iter()
            .filter(|e| e.path == endpoint.path && mounted("/api", e) == mounted("/api", endpoint))
            .collect();
        assert!(
            siblings.iter().all(|e| e.group == endpoint.group),
            "{endpoint:?}"
        );
        let mut methods: Vec<&str> = siblings.iter().map(|e| e.method).collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        methods.push("OPTIONS");
        // A live Knox token, and its key, for each row (a logout revokes it).
        let knox = h.knox("boss").await;
        let sessions = h
            .call("GET", "/api/auth/token/sessions", None, Some(&knox))
            .await;
        let token_key = sessions.json_body()[0]["token_key"]
            .as_str()
            .expect("a session")
            .to_string();
        // An application of the caller's, granted by them, for the rows
        // of one (a row may delete it).
        let id = if endpoint.path.starts_with("/o/") {
            h.granted_application(&staff).await
        } else {
            id.clone()
        };
        let path = mounted("/api", endpoint)
            .replace("{id}", &id)
            .replace("{token_key}", &token_key)
            .replace("{file}", "index.css");
        let options = h.call("OPTIONS", &path, None, None).await;
        assert_eq!(options.status, 200, "{endpoint:?}");
        assert_eq!(options.header("Allow"), Some(methods.join(", ").as_str()));
        let authorization = match endpoint.access {
            crate::endpoint::Access::KnoxToken => &knox,
            _ => &staff,
        };
        let response = h
            .call(endpoint.method, &path, Some(json!({})), Some(authorization))
            .await;
        assert!(
            ![404, 405].contains(&response.status),
            "{endpoint:?} at {path}: {} {:?}",
            response.status,
            response.json_body()
        );
    }
}

/// #22: query strings and path parameters are decoded as forms (by
/// `form_urlencoded`), and a `page` the client escaped is still the page a
/// pagination link replaces.
#[tokio::test]
async fn query_strings_and_path_parameters_are_decoded_as_forms() {
    use crate::form::percent_decode;
    use crate::routes::query_param;
    assert_eq!(
        query_param("a=1&search=J%C3%B6+x&search=2", "search").as_deref(),
        Some("Jö x")
    );
    assert_eq!(query_param("%73earch=y", "search").as_deref(), Some("y"));
    assert_eq!(query_param("page", "page").as_deref(), Some(""));
    assert_eq!(query_param("a=%zz%ff", "a").as_deref(), Some("%zz\u{fffd}"));
    assert_eq!(query_param("", "page"), None);
    assert_eq!(percent_decode("a&b=c%2"), "a&b=c%2");
    assert_eq!(percent_decode("%26%3d"), "&=");
    assert_eq!(percent_decode(""), "");

    let h = harness();
    h.user("boss", true).await;
    h.user("ada", false).await;
    let (staff, _) = h.jwt("boss").await;
    let first = h
        .call("GET", "/api/users?%70age=1&page_size=1", None, Some(&staff))
        .await;
    assert_eq!(
        first.json_body()["next"],
        "http://testserver/api/users?page_size=1&page=2"
    );
}

impl Harness {
    /// Registers an application as the caller of `authorization` (a
    /// whole header value) and records their consent to it; returns its
    /// id.
    async fn granted_application(&self, authorization: &str) -> String {
        let created = self
            .call(
                "POST",
                "/api/o/applications",
                Some(json!({
                    "name": "App",
                    "client_type": "confidential",
                    "grant_types": ["client_credentials"],
                })),
                Some(authorization),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.json_body());
        let id: auth_core::oauth::ApplicationId = created.json_body()["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("an id");
        let who = self
            .api
            .auth()
            .authenticate_header(Some(authorization))
            .await
            .expect("the caller");
        let now = self.api.auth().now();
        self.api
            .auth()
            .stores()
            .oauth_consents
            .save_consent(&auth_core::oauth::Consent {
                user_id: who.user.id,
                application_id: id,
                scopes: auth_core::oauth::Scopes::parse("profile").expect("scopes"),
                created: now,
                updated: now,
            })
            .await
            .expect("consent");
        id.to_string()
    }

    /// Answers `method target` twice, the request built once by
    /// [`ApiRequest::from_http`] from an `http` request with these header
    /// lines (values as bytes) and once by [`ApiRequest::from_parts`] with
    /// the lines whose values are text, and checks that both requests read
    /// the same and are answered alike (status, headers, body).
    async fn same_from_http(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> ApiResponse {
        let peer = Some("127.0.0.1".parse().expect("ip"));
        let mut builder = http::Request::builder().method(method).uri(target);
        for (name, value) in headers {
            let value = http::HeaderValue::from_bytes(value).expect("a header value http takes");
            builder = builder.header(*name, value);
        }
        let (parts, ()) = builder.body(()).expect("request").into_parts();
        let from_http = ApiRequest::from_http(&self.api, &parts, body, peer);

        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let text_headers = headers
            .iter()
            .filter_map(|(name, value)| Some((*name, std::str::from_utf8(value).ok()?)))
            .collect();
        let from_parts =
            ApiRequest::from_parts(&self.api, method, path, query, text_headers, body, peer);
        assert_eq!(
            (
                from_http.method,
                from_http.path,
                from_http.mount,
                from_http.query
            ),
            (
                from_parts.method,
                from_parts.path,
                from_parts.mount,
                from_parts.query
            )
        );
        let lowercase = |request: &ApiRequest<'_>| -> Vec<(String, String)> {
            let headers = request.headers.iter();
            headers
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
                .collect()
        };
        assert_eq!(lowercase(&from_http), lowercase(&from_parts));
        assert_eq!(from_http.client, from_parts.client);
        assert!(from_http.authenticated.is_none());

        let by_http = handle(&self.api, from_http).await;
        let by_parts = handle(&self.api, from_parts).await;
        self.api.auth().flush().await;
        assert_eq!(
            (by_http.status, &by_http.headers, by_http.json_body()),
            (by_parts.status, &by_parts.headers, by_parts.json_body()),
            "{method} {target}"
        );
        assert_eq!(by_http.body, by_parts.body, "{method} {target}");
        assert_documented(&self.document, method, path, by_http.status);
        by_http
    }
}

/// #22: a request read from the `http` crate's types is answered exactly as
/// the same request built from its parts; a header value that is not text
/// is left out, as the adapters always did, and never panics.
#[tokio::test]
async fn requests_from_http_types_are_answered_as_from_parts() {
    let h = harness();
    h.user("boss", true).await;
    h.user("ada", false).await;
    let (staff, _) = h.jwt("boss").await;
    let (access, _) = h.jwt("ada").await;
    let access_token = access.trim_start_matches("Bearer ");
    let json: (&str, &[u8]) = ("Content-Type", b"application/json");

    // POSTs with JSON bodies: accepted, refused with 401, and a 400 with
    // field errors.
    let verify = format!(r#"{{"token": "{access_token}"}}"#);
    let ok = h
        .same_from_http("POST", "/api/auth/jwt/verify/", &[json], verify.as_bytes())
        .await;
    assert_eq!(ok.status, 200);
    let wrong = br#"{"username": "ada", "password": "wrong"}"#;
    let refused = h
        .same_from_http("POST", "/api/auth/jwt/create/", &[json], wrong)
        .await;
    assert_eq!(refused.status, 401);
    assert!(refused.header("WWW-Authenticate").is_some());
    let invalid = h
        .same_from_http("POST", "/api/auth/register/", &[json], br#"{"email": 3}"#)
        .await;
    assert_eq!(invalid.status, 400);
    let not_json = h
        .same_from_http("POST", "/api/auth/jwt/create", &[json], b"{")
        .await;
    assert_eq!(not_json.status, 400);

    // GETs with a query string: a page with links (from the Host header),
    // a page past the end, a search decoded as a form.
    let staff_auth: (&str, &[u8]) = ("Authorization", staff.as_bytes());
    let host: (&str, &[u8]) = ("Host", b"testserver");
    let page = h
        .same_from_http(
            "GET",
            "/api/users/?page=1&page_size=1",
            &[staff_auth, host],
            b"",
        )
        .await;
    assert_eq!(
        page.json_body()["next"],
        "http://testserver/api/users/?page_size=1&page=2"
    );
    let past = h
        .same_from_http("GET", "/api/users?page=9", &[staff_auth, host], b"")
        .await;
    assert_eq!(past.status, 404);
    let search = h
        .same_from_http("GET", "/api/users?search=ada%40example", &[staff_auth], b"")
        .await;
    assert_eq!(search.json_body()["count"], 1);

    // Allow on OPTIONS and 405; the health check.
    let options = h.same_from_http("OPTIONS", "/api/auth/me", &[], b"").await;
    assert!(options.header("Allow").is_some());
    let not_allowed = h
        .same_from_http("DELETE", "/api/auth/jwt/create/", &[json], b"")
        .await;
    assert_eq!(not_allowed.status, 405);
    assert_eq!(
        h.same_from_http("GET", "/healthz", &[], b"").await.status,
        200
    );

    // Header values that are not text (obs-text bytes) are left out: an
    // Authorization header of them is no credential at all (401 with the
    // contract's body), a User-Agent of them is no user agent, and the
    // lines of X-Forwarded-For that are text still form one list.
    let me = h
        .same_from_http(
            "GET",
            "/api/auth/me",
            &[("Authorization", b"Bearer \xff\xfe")],
            b"",
        )
        .await;
    assert_eq!(
        (me.status, me.json_body()),
        (
            401,
            json!({"code": "not_authenticated", "detail": "Authentication credentials were not provided."})
        )
    );
    let bearer: (&str, &[u8]) = ("Authorization", access.as_bytes());
    let agent: (&str, &[u8]) = ("User-Agent", b"curl/\x80\xff");
    let me = h
        .same_from_http("GET", "/api/auth/me", &[bearer, agent], b"")
        .await;
    assert_eq!(me.json_body()["username"], "ada");
    let lines: &[(&str, &[u8])] = &[
        ("X-Forwarded-For", b"203.0.113.9"),
        ("X-Forwarded-For", b"\xc0\xff"),
        ("x-forwarded-for", b"198.51.100.7"),
    ];
    h.same_from_http("GET", "/healthz", lines, b"").await;
    let (parts, ()) = http::Request::get("/healthz")
        .header(
            "User-Agent",
            http::HeaderValue::from_bytes(b"caf\xc3\xa9").expect("value"),
        )
        .body(())
        .expect("request")
        .into_parts();
    let request = ApiRequest::from_http(&h.api, &parts, b"", None);
    assert_eq!(
        request.client.user_agent, None,
        "not visible ASCII: left out"
    );
}

/// #22: [`ApiRequest::from_http`] takes the outcome a middleware left in
/// the request's extensions, as `with_request_auth` does.
#[tokio::test]
async fn from_http_takes_the_middleware_outcome_from_the_extensions() {
    let h = harness();
    h.user("ada", false).await;
    let (bearer, _) = h.jwt("ada").await;
    let outcome = crate::RequestAuth::from_header(h.api.auth(), Some(&bearer)).await;
    let (parts, ()) = http::Request::get("/api/auth/me")
        .extension(outcome)
        .body(())
        .expect("request")
        .into_parts();
    let request = ApiRequest::from_http(&h.api, &parts, b"", None);
    assert!(matches!(request.authenticated, Some(Ok(_))));
    let response = handle(&h.api, request).await;
    assert_eq!(response.json_body()["username"], "ada");
}

/// #22: an [`ApiResponse`] becomes an `http::Response` with its status,
/// its header lines in order and its body; a status or header that is not
/// valid HTTP (only possible when set by hand) becomes 500 or is left out,
/// never a panic.
#[test]
fn responses_convert_into_http_types() {
    let response = ApiResponse::from_error(&auth_core::AuthError::Throttled {
        retry_after_secs: 12,
    })
    .with_header("Vary", "Accept")
    .with_header("vary", "Origin");
    let converted = http::Response::from(response.clone());
    assert_eq!(converted.status(), http::StatusCode::TOO_MANY_REQUESTS);
    let lines: Vec<(&str, &[u8])> = converted
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("content-type", &b"application/json"[..]),
            ("retry-after", b"12"),
            ("vary", b"Accept"),
            ("vary", b"Origin"),
        ]
    );
    assert_eq!(converted.body(), &response.body);

    let odd = ApiResponse {
        status: 42,
        headers: vec![
            ("Bad Name".into(), "x".into()),
            ("X-Line".into(), "a\r\nb".into()),
            ("X-Kept".into(), "yes".into()),
        ],
        body: b"{}".to_vec(),
    };
    let converted = http::Response::from(odd);
    assert_eq!(converted.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(converted.headers().len(), 1);
    assert_eq!(converted.headers()["x-kept"], "yes");
    assert_eq!(converted.body(), b"{}");
}

#[test]
fn trusted_proxy_networks_ignore_spoofed_headers() {
    use crate::ClientAddressPolicy;
    let ip = |s: &str| Some(s.parse().expect("ip"));
    let policy = ClientAddressPolicy::TrustedProxies(vec![
        "10.0.0.0/8".parse().expect("net"),
        "2001:db8::/32".parse().expect("net"),
    ]);
    // From a trusted proxy: the first untrusted hop from the right; what
    // the client wrote to the left of it (a spoofed address) is ignored.
    let spoofed = Some("6.6.6.6, 203.0.113.9, 10.0.0.7");
    assert_eq!(
        policy.client_ip(ip("10.0.0.1"), spoofed).as_deref(),
        Some("203.0.113.9")
    );
    assert_eq!(
        policy
            .client_ip(ip("2001:db8::1"), Some("203.0.113.9, 2001:db8::2"))
            .as_deref(),
        Some("203.0.113.9")
    );
    // An IPv4-mapped peer is its IPv4 address.
    assert_eq!(
        policy.client_ip(ip("::ffff:10.0.0.1"), spoofed).as_deref(),
        Some("203.0.113.9")
    );
    // From anyone else the header is not read at all.
    assert_eq!(
        policy.client_ip(ip("203.0.113.50"), spoofed).as_deref(),
        Some("203.0.113.50")
    );
    // Every hop trusted: the leftmost; no header: the peer.
    assert_eq!(
        policy
            .client_ip(ip("10.0.0.1"), Some("10.9.9.9, 10.0.0.7"))
            .as_deref(),
        Some("10.9.9.9")
    );
    assert_eq!(
        policy.client_ip(ip("10.0.0.1"), None).as_deref(),
        Some("10.0.0.1")
    );
    // A hop that is not an address stops the walk at the last trusted one.
    assert_eq!(
        policy
            .client_ip(ip("10.0.0.1"), Some("1.2.3.4, garbage, 10.0.0.7"))
            .as_deref(),
        Some("10.0.0.7")
    );
    assert_eq!(policy.client_ip(None, spoofed), None);
}

/// The `Set-Cookie` line of cookie `name` in `response`.
fn set_cookie<'a>(response: &'a ApiResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn cookie_paths_follow_the_prefix_and_the_mount() {
    let transport = crate::CookieTransport {
        secure: false,
        same_site: crate::SameSite::Strict,
        refresh_in_body: true,
    };
    let h = harness_with(
        ApiOptions::default()
            .with_prefix("/v1")
            .expect("prefix")
            .with_cookie_transport(transport),
    );
    h.user("ada", false).await;
    let login = json!({"username": "ada", "password": PASSWORD}).to_string();
    let request = ApiRequest::from_parts(
        &h.api,
        "POST",
        "/v1/auth/jwt/create",
        None,
        vec![("Content-Type", "application/json")],
        login.as_bytes(),
        None,
    )
    .with_mount("/svc");
    let response = handle(&h.api, request).await;
    assert_eq!(response.status, 200);
    // The refresh token is in the body when asked for.
    let refresh = response.json_body()["refresh"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert!(
        set_cookie(&response, "auth_access")
            .expect("access")
            .ends_with("; Path=/svc/; HttpOnly; SameSite=Strict; Max-Age=300")
    );
    assert_eq!(
        set_cookie(&response, "auth_refresh"),
        Some(
            format!("auth_refresh={refresh}; Path=/svc/v1/auth/jwt; HttpOnly; SameSite=Strict; Max-Age=86400")
                .as_str()
        )
    );
    // A refresh token in the body is used as it is: no CSRF token needed,
    // even beside a refresh cookie.
    let body = json!({"refresh": refresh}).to_string();
    let cookie = format!("auth_refresh={refresh}");
    let refreshed = h
        .raw(
            "POST",
            "/v1/auth/jwt/refresh",
            vec![("Content-Type", "application/json"), ("Cookie", &cookie)],
            body.as_bytes(),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json_body());
    assert!(set_cookie(&refreshed, "auth_refresh").is_some());
}

#[tokio::test]
async fn a_forged_or_expired_access_cookie_is_401_before_any_csrf_check() {
    let h = harness_with(ApiOptions::default().with_cookie_transport(Default::default()));
    h.user("ada", false).await;
    for method in ["GET", "PATCH"] {
        let response = h
            .raw(
                method,
                "/api/auth/me",
                vec![
                    ("Content-Type", "application/json"),
                    ("Cookie", "auth_access=forged"),
                ],
                b"{}",
            )
            .await;
        assert_eq!(response.status, 401, "{method}");
    }
    let (bearer, _) = h.jwt("ada").await;
    let access = bearer.trim_start_matches("Bearer ");
    h.clock.advance(chrono::Duration::minutes(6));
    let cookie = format!("auth_access={access}");
    let expired = h
        .raw("GET", "/api/auth/me", vec![("Cookie", &cookie)], b"")
        .await;
    assert_eq!(expired.status, 401);
}

#[test]
fn the_document_describes_the_cookie_scheme_only_when_on() {
    let off = harness().document;
    assert!(off["components"]["securitySchemes"].get("cookie").is_none());
    assert!(!off.to_string().contains("X-CSRFToken"));
    let on = harness_with(ApiOptions::default().with_cookie_transport(Default::default())).document;
    assert_eq!(
        on["components"]["securitySchemes"]["cookie"],
        json!({
            "type": "apiKey",
            "in": "cookie",
            "name": "auth_access",
            "description": on["components"]["securitySchemes"]["cookie"]["description"],
        })
    );
    let csrf_param = |method: &str, path: &str| {
        on["paths"][path][method]["parameters"]
            .as_array()
            .is_some_and(|params| {
                params
                    .iter()
                    .any(|p| p["name"] == "X-CSRFToken" && p["in"] == "header")
            })
    };
    for (method, path) in [
        ("patch", "/api/auth/me"),
        ("delete", "/api/auth/me"),
        ("post", "/api/auth/password/change"),
        ("post", "/api/auth/jwt/refresh"),
        ("post", "/api/auth/jwt/blacklist"),
    ] {
        assert!(csrf_param(method, path), "{method} {path}");
        assert!(
            on["paths"][path][method]["responses"].get("403").is_some(),
            "{method} {path}"
        );
    }
    for (method, path) in [("get", "/api/auth/me"), ("post", "/api/auth/jwt/create")] {
        assert!(!csrf_param(method, path), "{method} {path}");
    }
    let me_security = &on["paths"]["/api/auth/me"]["get"]["security"];
    assert!(
        me_security.to_string().contains("\"cookie\""),
        "{me_security}"
    );
}

#[tokio::test]
async fn forwarded_proto_is_believed_only_from_a_trusted_proxy() {
    use crate::ClientAddressPolicy;
    // The harness's peer is 127.0.0.1.
    for (network, scheme) in [("127.0.0.0/8", "https"), ("10.0.0.0/8", "http")] {
        let policy = ClientAddressPolicy::TrustedProxies(vec![network.parse().expect("net")]);
        let h = harness_with(ApiOptions::default().with_client_address(policy));
        h.user("ada", false).await;
        let (bearer, _) = h.jwt("ada").await;
        h.jwt("ada").await;
        let page = h
            .raw(
                "GET",
                "/api/auth/me/history?page_size=1",
                vec![
                    ("Authorization", &bearer),
                    ("Host", "testserver"),
                    ("X-Forwarded-Proto", "https"),
                ],
                b"",
            )
            .await;
        assert_eq!(page.status, 200, "{:?}", page.json_body());
        let next = page.json_body()["next"].as_str().unwrap_or("").to_string();
        assert!(
            next.starts_with(&format!("{scheme}://testserver/api/auth/me/history?")),
            "{network}: {next}"
        );
    }
}

#[tokio::test]
async fn the_routes_read_the_cookie_a_header_only_middleware_did_not() {
    use auth_core::error::{AuthError, TokenRejection};
    let h = harness_with(ApiOptions::default().with_cookie_transport(Default::default()));
    h.user("ada", false).await;
    let (bearer, _) = h.jwt("ada").await;
    let cookie = format!("auth_access={}", bearer.trim_start_matches("Bearer "));
    let missing = || {
        Some(Err(std::sync::Arc::new(AuthError::Unauthenticated(
            TokenRejection::Missing,
        ))))
    };
    let mut request = ApiRequest::from_parts(
        &h.api,
        "GET",
        "/api/auth/me",
        None,
        vec![("Cookie", cookie.as_str())],
        b"",
        None,
    );
    // What `AuthLayer::new` (no cookie transport) leaves for a request
    // without `Authorization`.
    request.authenticated = missing();
    let response = handle(&h.api, request).await;
    assert_eq!(response.json_body()["username"], "ada");
    // And the CSRF rule holds on that path too.
    let mut request = ApiRequest::from_parts(
        &h.api,
        "PATCH",
        "/api/auth/me",
        None,
        vec![
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/json"),
        ],
        br#"{"first_name": "Eve"}"#,
        None,
    );
    request.authenticated = missing();
    let response = handle(&h.api, request).await;
    assert_eq!(response.status, 403);
    assert_eq!(
        response.json_body()["detail"],
        "CSRF Failed: CSRF cookie not set."
    );
}

#[test]
fn every_oauth2_operation_that_takes_a_body_documents_it() {
    let h = harness();
    let doc: Value = serde_json::from_slice(&h.api.openapi_json()).expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api/o/")) {
        for method in ["post", "put", "patch"] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            // The one body-less POST: a new secret for the application.
            if path.ends_with("/rotate-secret") {
                continue;
            }
            let content = &operation["requestBody"]["content"];
            assert!(
                content.as_object().is_some_and(|c| !c.is_empty()),
                "{method} {path} documents no request body"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked}");
}

/// The token, revocation and introspection endpoints read the application
/// a request names once, for client authentication and the CORS headers
/// alike (they read it twice when the request had an `Origin`).
#[tokio::test]
async fn token_endpoints_read_the_named_application_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use auth_core::StoreError;
    use auth_core::oauth::{Application, ApplicationId, ClientSecret, ClientType, GrantType};
    use auth_core::store::OAuthApplicationStore;
    use auth_core::user::UserId;

    /// The in-memory store, counting lookups by `client_id`.
    #[derive(Debug)]
    struct Counting {
        inner: Arc<MemoryStore>,
        reads: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl OAuthApplicationStore for Counting {
        async fn insert_application(&self, application: &Application) -> Result<(), StoreError> {
            self.inner.insert_application(application).await
        }
        async fn application(&self, id: ApplicationId) -> Result<Option<Application>, StoreError> {
            self.inner.application(id).await
        }
        async fn application_by_client_id(
            &self,
            client_id: &str,
        ) -> Result<Option<Application>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.application_by_client_id(client_id).await
        }
        async fn user_applications(&self, owner: UserId) -> Result<Vec<Application>, StoreError> {
            self.inner.user_applications(owner).await
        }
        async fn update_application(&self, application: &Application) -> Result<bool, StoreError> {
            self.inner.update_application(application).await
        }
        async fn delete_application(&self, id: ApplicationId) -> Result<bool, StoreError> {
            self.inner.delete_application(id).await
        }
    }

    let store = Arc::new(MemoryStore::new());
    let counting = Arc::new(Counting {
        inner: store.clone(),
        reads: AtomicUsize::new(0),
    });
    let auth = Auth::builder(AuthConfig::default().with_throttle(ThrottleConfig::disabled()))
        .store(store)
        .oauth_application_store(counting.clone())
        .build()
        .expect("service");
    let secret = ClientSecret::generate();
    let mut app = Application::register(
        "SPA",
        ClientType::Confidential,
        [GrantType::ClientCredentials],
        Vec::new(),
        Some(&secret),
        chrono::Utc::now(),
    );
    app.allowed_origins = vec!["https://spa.example".into()];
    counting.insert_application(&app).await.expect("insert");
    let api = Api::new(auth);
    let credentials = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &app.client_id)
        .append_pair("client_secret", secret.expose())
        .finish();
    for (path, form) in [
        ("/api/o/token", "grant_type=client_credentials"),
        ("/api/o/revoke_token", "token=unknown"),
        ("/api/o/introspect", "token=unknown"),
    ] {
        counting.reads.store(0, Ordering::SeqCst);
        let body = format!("{form}&{credentials}");
        let headers = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "https://spa.example"),
        ];
        let request = ApiRequest::from_parts(
            &api,
            "POST",
            path,
            None,
            headers,
            body.as_bytes(),
            Some("127.0.0.1".parse().expect("ip")),
        );
        let response = handle(&api, request).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(
            response.header("Access-Control-Allow-Origin"),
            Some("https://spa.example"),
            "{path}"
        );
        assert_eq!(counting.reads.load(Ordering::SeqCst), 1, "{path}");
    }
}
