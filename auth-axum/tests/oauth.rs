//! The OAuth2 token, revocation, introspection and metadata endpoints,
//! served by the axum router on 127.0.0.1:0 and called with a real HTTP
//! client.

mod common;

use std::sync::Arc;

use auth_axum::Api;
use auth_core::config::{AuthConfig, OAuthConfig};
use auth_core::flows::AdminUserInput;
use auth_core::oauth::{
    Application, AuthorizationCode, ClientSecret, ClientType, Consent, FamilyId, GrantType,
    PkceMethod, Scopes, digest, generate_client_id,
};
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::throttle::ThrottleConfig;
use auth_core::user::UserId;
use auth_core::{Auth, MemoryStore};
use common::serve;
use serde_json::{Value, json};

const PASSWORD: &str = "correct-horse-battery-9";
const REDIRECT: &str = "http://127.0.0.1/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Server {
    auth: Auth,
    base: String,
    http: reqwest::Client,
    user: UserId,
}

async fn server(oauth: OAuthConfig) -> Server {
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
    let user = auth
        .create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
        .await
        .expect("user")
        .id;
    // An application's own route behind the `email` scope, beside the
    // contract's routes.
    let router = auth_axum::router(Api::new(auth.clone()))
        .route("/app/email", axum::routing::get(email_route))
        .layer(auth_axum::AuthLayer::new(auth.clone()));
    let base = serve(router).await;
    Server {
        auth,
        base,
        http: reqwest::Client::new(),
        user,
    }
}

/// The `email` scope, as an application's route requires it.
struct EmailScope;

impl auth_axum::RequiredScope for EmailScope {
    const SCOPE: &'static str = "email";
}

async fn email_route(user: auth_axum::ScopedUser<EmailScope>) -> String {
    user.email.clone()
}

/// Registers an application; returns its client_id and secret.
async fn register(
    s: &Server,
    client_type: ClientType,
    grants: &[GrantType],
) -> (String, Option<String>) {
    let secret = (client_type == ClientType::Confidential).then(ClientSecret::generate);
    let app = Application::register(
        "client",
        client_type,
        grants.iter().copied(),
        vec![REDIRECT.into()],
        secret.as_ref(),
        s.auth.now(),
    );
    s.auth
        .stores()
        .oauth_applications
        .insert_application(&app)
        .await
        .expect("insert");
    (app.client_id, secret.map(|s| s.expose().to_string()))
}

/// A confidential client allowed `client_credentials`: its id and secret.
async fn client_credentials_client(s: &Server) -> (String, String) {
    let (client_id, secret) =
        register(s, ClientType::Confidential, &[GrantType::ClientCredentials]).await;
    (client_id, secret.expect("secret"))
}

/// A code for the user, as the authorization endpoint would store it.
async fn code_for(s: &Server, client_id: &str) -> String {
    code_with_scopes(s, client_id, "openid profile").await
}

/// A code for the user granting `scopes`.
async fn code_with_scopes(s: &Server, client_id: &str, scopes: &str) -> String {
    let app = s
        .auth
        .stores()
        .oauth_applications
        .application_by_client_id(client_id)
        .await
        .expect("read")
        .expect("app");
    let code = generate_client_id();
    let now = s.auth.now();
    let record = AuthorizationCode {
        digest: digest(&code),
        application_id: app.id,
        user_id: s.user,
        redirect_uri: REDIRECT.into(),
        scopes: Scopes::parse(scopes).expect("scopes"),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some(PkceMethod::S256),
        nonce: None,
        auth_time: now,
        family: FamilyId::new(),
        created: now,
        expires: now + s.auth.config().oauth.code_ttl,
        used_at: None,
    };
    // Remembered as the authorization endpoint does: the token endpoint
    // requires the consent a code was issued under.
    s.auth
        .stores()
        .oauth_consents
        .save_consent(&Consent {
            user_id: s.user,
            application_id: app.id,
            scopes: record.scopes.clone(),
            created: now,
            updated: now,
        })
        .await
        .expect("consent");
    s.auth
        .stores()
        .oauth_codes
        .insert_code(&record)
        .await
        .expect("insert");
    code
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

/// POSTs a form (its values are URL-safe) with optional Basic credentials.
async fn post_form(
    s: &Server,
    path: &str,
    fields: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Answer {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut request = s
        .http
        .post(format!("{}{path}", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"));
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

async fn me(s: &Server, access: &str) -> u16 {
    s.http
        .get(format!("{}/api/auth/me", s.base))
        .bearer_auth(access)
        .send()
        .await
        .expect("send")
        .status()
        .as_u16()
}

#[tokio::test]
async fn code_exchange_refresh_revoke_and_introspect_over_http() {
    let s = server(OAuthConfig::default()).await;
    let grants = &[GrantType::AuthorizationCode, GrantType::RefreshToken];
    let (client_id, secret) = register(&s, ClientType::Confidential, grants).await;
    let secret = secret.expect("secret");
    let basic = Some((client_id.as_str(), secret.as_str()));
    let code = code_for(&s, &client_id).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let issued = post_form(&s, "/api/o/token", &exchange, basic).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert_eq!(issued.headers["cache-control"], "no-store");
    assert_eq!(issued.headers["pragma"], "no-cache");
    assert_eq!(issued.body["token_type"], "Bearer");
    assert_eq!(issued.body["expires_in"], 3600);
    assert_eq!(issued.body["scope"], "openid profile");
    let access = issued.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let refresh = issued.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    // The access token works on the library's own routes.
    assert_eq!(me(&s, &access).await, 200);

    // The code again: invalid_grant, and the tokens are revoked.
    let again = post_form(&s, "/api/o/token/", &exchange, basic).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.headers["cache-control"], "no-store");
    assert_eq!(again.body["error"], "invalid_grant");
    assert!(again.body["error_description"].is_string());
    assert_eq!(me(&s, &access).await, 401);
    let refused = post_form(
        &s,
        "/api/o/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        basic,
    )
    .await;
    assert_eq!(refused.body["error"], "invalid_grant");

    // A fresh grant: refresh with client_secret_post, then introspect and revoke.
    let code = code_for(&s, &client_id).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let issued = post_form(&s, "/api/o/token", &exchange, basic).await;
    let refresh = issued.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let refreshed = post_form(
        &s,
        "/api/o/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("scope", "openid"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
        None,
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.body["scope"], "openid");
    let access = refreshed.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let seen = post_form(&s, "/api/o/introspect", &[("token", &access)], basic).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.headers["cache-control"], "no-store");
    assert_eq!(seen.body["active"], true);
    assert_eq!(seen.body["client_id"], client_id.as_str());
    assert_eq!(seen.body["username"], "ada");
    assert_eq!(seen.body["scope"], "openid");
    assert_eq!(seen.body["token_type"], "Bearer");
    assert_eq!(seen.body["sub"], s.user.to_string());
    let new_refresh = refreshed.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let revoked = post_form(
        &s,
        "/api/o/revoke_token",
        &[
            ("token", &new_refresh),
            ("token_type_hint", "refresh_token"),
        ],
        basic,
    )
    .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(me(&s, &access).await, 401);
    let seen = post_form(&s, "/api/o/introspect", &[("token", &access)], basic).await;
    assert_eq!(seen.body, json!({"active": false}));
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client_with_basic_challenge() {
    let s = server(OAuthConfig::default()).await;
    let (client_id, secret) = client_credentials_client(&s).await;
    let grant = [("grant_type", "client_credentials")];
    let ok = post_form(&s, "/api/o/token", &grant, Some((&client_id, &secret))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.get("refresh_token").is_none());
    assert_eq!(ok.body["scope"], "");
    for (fields, basic) in [
        (
            vec![("grant_type", "client_credentials")],
            Some((client_id.as_str(), "wrong")),
        ),
        (vec![("grant_type", "client_credentials")], None),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
            ],
            None,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", "wrong"),
            ],
            None,
        ),
    ] {
        let refused = post_form(&s, "/api/o/token", &fields, basic).await;
        assert_eq!(refused.status, 401, "{fields:?}");
        assert_eq!(refused.body["error"], "invalid_client");
        assert_eq!(refused.headers["www-authenticate"], "Basic realm=\"oauth\"");
        assert_eq!(refused.headers["cache-control"], "no-store");
    }
    // A garbled Basic header.
    let garbled = s
        .http
        .post(format!("{}/api/o/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Basic !!!")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("send");
    assert_eq!(garbled.status().as_u16(), 401);
}

#[tokio::test]
async fn malformed_token_requests() {
    let s = server(OAuthConfig::default()).await;
    let (client_id, secret) = client_credentials_client(&s).await;
    let basic = Some((client_id.as_str(), secret.as_str()));
    for (fields, error) in [
        (vec![], "invalid_request"),
        (vec![("grant_type", "implicit")], "unsupported_grant_type"),
        (
            vec![
                ("grant_type", "password"),
                ("username", "ada"),
                ("password", PASSWORD),
            ],
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "authorization_code")],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("scope", "unknown")],
            "invalid_scope",
        ),
        (
            vec![("grant_type", "refresh_token"), ("refresh_token", "nope")],
            "unauthorized_client",
        ),
    ] {
        let refused = post_form(&s, "/api/o/token", &fields, basic).await;
        assert_eq!(refused.status, 400, "{fields:?}: {}", refused.body);
        assert_eq!(refused.body["error"], error, "{fields:?}");
    }
    // Two client authentication methods at once.
    let both = post_form(
        &s,
        "/api/o/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
        basic,
    )
    .await;
    assert_eq!(both.status, 400);
    assert_eq!(both.body["error"], "invalid_request");
    // JSON is not a form.
    let json_body = s
        .http
        .post(format!("{}/api/o/token", s.base))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("send");
    assert_eq!(json_body.status().as_u16(), 415);
    // GET is not allowed.
    let get = s
        .http
        .get(format!("{}/api/o/token", s.base))
        .send()
        .await
        .expect("send");
    assert_eq!(get.status().as_u16(), 405);
}

#[tokio::test]
async fn metadata_and_openapi() {
    let oauth = OAuthConfig::default()
        .with_issuer("https://auth.example.com")
        .expect("issuer");
    let s = server(oauth).await;
    let metadata: Value = s
        .http
        .get(format!("{}/.well-known/oauth-authorization-server", s.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], "https://auth.example.com");
    assert_eq!(
        metadata["token_endpoint"],
        "https://auth.example.com/api/o/token"
    );
    assert_eq!(
        metadata["revocation_endpoint"],
        "https://auth.example.com/api/o/revoke_token"
    );
    assert_eq!(
        metadata["introspection_endpoint"],
        "https://auth.example.com/api/o/introspect"
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["authorization_code", "client_credentials", "refresh_token"])
    );
    // Without ID-token keys, OpenID Connect is off: `openid` is not
    // offered and there is no discovery document.
    assert_eq!(metadata["scopes_supported"], json!(["email", "profile"]));
    assert!(metadata.get("jwks_uri").is_none(), "no keys, no jwks_uri");
    let discovery = s
        .http
        .get(format!("{}/.well-known/openid-configuration", s.base))
        .send()
        .await
        .expect("send");
    assert_eq!(discovery.status().as_u16(), 404);
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    let document: Value = s
        .http
        .get(format!("{}/api/openapi.json", s.base))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let token = &document["paths"]["/api/o/token"]["post"];
    let form =
        &token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"];
    assert_eq!(form, "#/components/schemas/TokenForm");
    assert!(
        document["components"]["schemas"]["TokenForm"]["properties"]["code_verifier"].is_object()
    );
    assert_eq!(
        token["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OAuthErrorBody"
    );
    for path in ["/api/o/revoke_token", "/api/o/introspect"] {
        assert!(document["paths"][path]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object(), "{path}");
    }
    assert!(document["paths"]["/.well-known/oauth-authorization-server"]["get"].is_object());
    // OpenID Connect's routes are documented.
    for (path, method) in [
        ("/.well-known/openid-configuration", "get"),
        ("/api/o/jwks.json", "get"),
        ("/api/o/logout", "get"),
        ("/api/o/userinfo", "get"),
        ("/api/o/userinfo", "post"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let userinfo = &document["paths"]["/api/o/userinfo"]["get"];
    assert_eq!(
        userinfo["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/UserInfo"
    );
    assert!(userinfo["responses"]["403"].is_object());
    assert!(userinfo["security"].is_array());
    assert!(document["components"]["schemas"]["OpenIdConfiguration"].is_object());
    let post = &document["paths"]["/api/o/userinfo"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"],
        "#/components/schemas/UserInfoForm"
    );
    assert!(
        document["components"]["schemas"]["UserInfoForm"]["properties"]["access_token"].is_object()
    );
}

#[tokio::test]
async fn a_deactivated_users_oauth_token_is_refused() {
    let s = server(OAuthConfig::default()).await;
    let (client_id, _) = register(
        &s,
        ClientType::Public,
        &[GrantType::AuthorizationCode, GrantType::RefreshToken],
    )
    .await;
    let code = code_for(&s, &client_id).await;
    let issued = post_form(
        &s,
        "/api/o/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &client_id),
        ],
        None,
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let access = issued.body["access_token"].as_str().expect("access");
    assert_eq!(me(&s, access).await, 200);
    let deactivate = AdminUserInput {
        patch: auth_core::user::UserPatch {
            is_active: Some(false),
            ..Default::default()
        },
        password: None,
    };
    s.auth
        .update_user(s.user, deactivate)
        .await
        .expect("update");
    assert_eq!(me(&s, access).await, 401);
    let refresh = issued.body["refresh_token"].as_str().expect("refresh");
    let refused = post_form(
        &s,
        "/api/o/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client_id),
        ],
        None,
    )
    .await;
    assert_eq!(refused.body["error"], "invalid_grant");
}

/// Exchanges a code granting `scopes` for an access token of the user.
async fn access_token_with(s: &Server, client_id: &str, scopes: &str) -> String {
    let code = code_with_scopes(s, client_id, scopes).await;
    let issued = post_form(
        s,
        "/api/o/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
        ],
        None,
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    issued.body["access_token"]
        .as_str()
        .expect("access")
        .to_owned()
}

/// GET or PATCH `path` with a bearer token: the status and the
/// `WWW-Authenticate` header.
async fn call(s: &Server, method: &str, path: &str, access: &str) -> (u16, String) {
    let request = match method {
        "PATCH" => s
            .http
            .patch(format!("{}{path}", s.base))
            .header("content-type", "application/json")
            .body(r#"{"first_name": "Ada"}"#),
        _ => s.http.get(format!("{}{path}", s.base)),
    };
    let response = request.bearer_auth(access).send().await.expect("send");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn oauth_tokens_reach_only_the_routes_their_scopes_allow() {
    let s = server(OAuthConfig::default()).await;
    let staff = AdminUserInput {
        patch: auth_core::user::UserPatch {
            is_staff: Some(true),
            ..Default::default()
        },
        password: None,
    };
    s.auth.update_user(s.user, staff).await.expect("staff");
    let (client_id, _) = register(&s, ClientType::Public, &[GrantType::AuthorizationCode]).await;

    // `profile` reads the user, and nothing else: a staff member's token
    // given to an application never administers users.
    let profile = access_token_with(&s, &client_id, "openid profile").await;
    assert_eq!(call(&s, "GET", "/api/auth/me", &profile).await.0, 200);
    assert_eq!(
        call(&s, "GET", "/api/auth/me/history", &profile).await.0,
        200
    );
    for (method, path) in [("GET", "/api/users"), ("PATCH", "/api/auth/me")] {
        let (status, challenge) = call(&s, method, path, &profile).await;
        assert_eq!(status, 403, "{method} {path}");
        assert!(
            challenge.contains(r#"error="insufficient_scope""#),
            "{method} {path}: {challenge}"
        );
    }

    // Without `profile`, not even the user: the challenge names the scope.
    let email = access_token_with(&s, &client_id, "email").await;
    let (status, challenge) = call(&s, "GET", "/api/auth/me", &email).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains(r#"error="insufficient_scope", scope="profile""#),
        "{challenge}"
    );
    assert_eq!(call(&s, "GET", "/api/users", &email).await.0, 403);
}

#[tokio::test]
async fn an_applications_route_requires_its_scope_of_oauth_tokens_only() {
    let s = server(OAuthConfig::default()).await;
    let (client_id, _) = register(&s, ClientType::Public, &[GrantType::AuthorizationCode]).await;
    let with_email = access_token_with(&s, &client_id, "email").await;
    let (status, _) = call(&s, "GET", "/app/email", &with_email).await;
    assert_eq!(status, 200);

    let profile_only = access_token_with(&s, &client_id, "profile").await;
    let (status, challenge) = call(&s, "GET", "/app/email", &profile_only).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains(r#"error="insufficient_scope", scope="email""#),
        "{challenge}"
    );

    // This library's own credentials act for the user wholly.
    let login = s
        .http
        .post(format!("{}/api/auth/jwt/create", s.base))
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .expect("login");
    let jwt: Value = login.json().await.expect("tokens");
    let (status, _) = call(
        &s,
        "GET",
        "/app/email",
        jwt["access"].as_str().expect("access"),
    )
    .await;
    assert_eq!(status, 200);

    let anonymous = s
        .http
        .get(format!("{}/app/email", s.base))
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), 401);
}
