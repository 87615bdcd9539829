//! The OAuth2 endpoints served by actix-web answer as auth-axum's do.

mod support;

use actix_web::App;
use auth_actix::{Api, AuthMiddleware};
use auth_core::Auth;
use auth_core::config::AuthConfig;
use auth_core::oauth::{Application, ClientSecret, ClientType, GrantType};
use serde_json::Value;

/// Status, the headers OAuth2 clients read, and the body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: Vec<Option<String>>,
    body: Vec<u8>,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("send");
    let headers = [
        "content-type",
        "cache-control",
        "pragma",
        "www-authenticate",
        "allow",
    ]
    .into_iter()
    .map(|name| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not UTF-8>").to_string())
    })
    .collect();
    Answer {
        status: response.status().as_u16(),
        headers,
        body: response.bytes().await.expect("body").to_vec(),
    }
}

/// Registers a confidential application `name` allowed `grant`: the
/// application and its secret.
async fn confidential(auth: &Auth, name: &str, grant: GrantType) -> (Application, ClientSecret) {
    let secret = ClientSecret::generate();
    let app = Application::register(
        name,
        ClientType::Confidential,
        [grant],
        Vec::new(),
        Some(&secret),
        auth.now(),
    );
    auth.stores()
        .oauth_applications
        .insert_application(&app)
        .await
        .expect("insert");
    (app, secret)
}

/// `auth`'s routes served by actix-web and by axum: the actix server and
/// the axum server's base URL.
async fn serve_both(auth: &Auth) -> (support::Actix, String) {
    let api = Api::new(auth.clone());
    let (actix_api, actix_auth) = (api.clone(), auth.clone());
    let actix = support::serve(move || {
        App::new()
            .wrap(AuthMiddleware::new(actix_auth.clone()))
            .configure(auth_actix::configure(actix_api.clone()))
    });
    (actix, support::serve_axum(api).await)
}

/// A request, built for either server's base URL.
type Case<'a> = dyn Fn(&str) -> reqwest::RequestBuilder + 'a;

#[tokio::test]
async fn oauth_endpoints_match_axum() {
    let auth = Auth::in_memory(AuthConfig::default());
    let (app, secret) = confidential(&auth, "service", GrantType::ClientCredentials).await;

    let (actix, axum_base) = serve_both(&auth).await;
    let actix_base = actix.base.clone();

    let http = reqwest::Client::new();
    let form = |base: &str, path: &str, body: &str| {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
    };
    let id = app.client_id.as_str();
    let cases: Vec<Box<Case<'_>>> = vec![
        Box::new(|base| {
            form(base, "/api/o/token", "grant_type=client_credentials")
                .basic_auth(id, Some("wrong"))
        }),
        Box::new(|base| {
            form(base, "/api/o/token", "grant_type=implicit").basic_auth(id, Some(secret.expose()))
        }),
        Box::new(|base| {
            form(
                base,
                "/api/o/token",
                "grant_type=client_credentials&grant_type=x",
            )
        }),
        Box::new(|base| {
            http.post(format!("{base}/api/o/token"))
                .json(&serde_json::json!({}))
        }),
        Box::new(|base| http.get(format!("{base}/api/o/token"))),
        Box::new(|base| {
            form(base, "/api/o/introspect", "token=unknown").basic_auth(id, Some(secret.expose()))
        }),
        Box::new(|base| {
            form(base, "/api/o/revoke_token", "token=unknown").basic_auth(id, Some(secret.expose()))
        }),
        Box::new(|base| http.get(format!("{base}/.well-known/oauth-authorization-server"))),
    ];
    for (i, case) in cases.iter().enumerate() {
        let from_actix = send(case(&actix_base)).await;
        let from_axum = send(case(&axum_base)).await;
        assert_eq!(from_actix, from_axum, "case {i}");
    }
    // A token from each: same shape, both usable for introspection.
    for base in [&actix_base, &axum_base] {
        let issued = send(
            form(base, "/api/o/token", "grant_type=client_credentials")
                .basic_auth(id, Some(secret.expose())),
        )
        .await;
        assert_eq!(issued.status, 200);
        assert_eq!(issued.headers[1].as_deref(), Some("no-store"));
        let body: Value = serde_json::from_slice(&issued.body).expect("json");
        let mut keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["access_token", "expires_in", "scope", "token_type"]);
    }
    actix.stop().await;
}

/// The `email` scope, as an application's route requires it.
struct EmailScope;

impl auth_actix::RequiredScope for EmailScope {
    const SCOPE: &'static str = "email";
}

async fn email_route(user: auth_actix::ScopedUser<EmailScope>) -> String {
    user.email.clone()
}

#[tokio::test]
async fn an_applications_route_requires_its_scope_of_oauth_tokens_only() {
    use auth_core::config::OAuthConfig;
    use auth_core::flows::AdminUserInput;
    use auth_core::throttle::ThrottleConfig;

    const PASSWORD: &str = "correct-horse-battery-9";
    let config = AuthConfig::default()
        .with_throttle(ThrottleConfig::disabled())
        .with_oauth(OAuthConfig::default().dangerous_enable_password_grant());
    let auth = Auth::in_memory(config);
    auth.create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
        .await
        .expect("user");
    let (app, secret) = confidential(&auth, "app", GrantType::Password).await;
    let api = Api::new(auth.clone());
    let actix = support::serve(move || {
        App::new()
            .wrap(AuthMiddleware::new(auth.clone()))
            .configure(auth_actix::configure(api.clone()))
            .route("/app/email", actix_web::web::get().to(email_route))
    });
    let base = actix.base.clone();

    let http = reqwest::Client::new();
    let token = |scope: &'static str| {
        let request = http
            .post(format!("{base}/api/o/token"))
            .basic_auth(&app.client_id, Some(secret.expose()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=password&username=ada&password={PASSWORD}&scope={scope}"
            ));
        async move {
            let issued: Value = request
                .send()
                .await
                .expect("token")
                .json()
                .await
                .expect("json");
            issued["access_token"].as_str().expect("access").to_owned()
        }
    };
    let call = |access: String| {
        let request = http.get(format!("{base}/app/email")).bearer_auth(access);
        async move {
            let response = request.send().await.expect("send");
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (response.status().as_u16(), challenge)
        }
    };
    assert_eq!(call(token("email").await).await.0, 200);
    let (status, challenge) = call(token("profile").await).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains(r#"error="insufficient_scope", scope="email""#),
        "{challenge}"
    );
    let anonymous = http
        .get(format!("{base}/app/email"))
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), 401);
    actix.stop().await;
}

/// RFC 9068 JWT access tokens over HTTP, from actix-web and from axum
/// serving the same service: each opens `/api/auth/me`, verifies with an
/// independent JWT library against `/api/o/jwks.json`, and stops working
/// here once revoked (while a resource server validating with the JWKS
/// alone would still take it until it expires, as documented).
#[tokio::test]
async fn jwt_access_tokens_verify_against_the_jwks_and_stop_at_revocation() {
    use auth_core::config::{AccessTokenFormat, OAuthConfig};
    use auth_core::flows::AdminUserInput;
    use auth_core::throttle::ThrottleConfig;
    use auth_core::token::jwt::{Algorithm, JwtKey, KeySet};
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation};

    const PASSWORD: &str = "correct-horse-battery-9";
    const ISSUER: &str = "https://id.example";
    let pem = include_str!("../../auth-core/tests/keys/ed25519_private.pem");
    let keys = KeySet::new(JwtKey::from_pem(Algorithm::EdDSA, pem).expect("key")).expect("keys");
    let oauth = OAuthConfig::default()
        .with_issuer(ISSUER)
        .expect("issuer")
        .with_id_token_keys(keys)
        .expect("ID-token keys")
        .with_access_token_format(AccessTokenFormat::Jwt)
        .dangerous_enable_password_grant();
    let config = AuthConfig::default()
        .with_throttle(ThrottleConfig::disabled())
        .with_oauth(oauth);
    let auth = Auth::in_memory(config);
    let user = auth
        .create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
        .await
        .expect("user");
    let (app, secret) = confidential(&auth, "app", GrantType::Password).await;
    let (actix, axum_base) = serve_both(&auth).await;

    let http = reqwest::Client::new();
    let json = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body)
    };
    let form = |url: String, body: String| {
        http.post(url)
            .basic_auth(&app.client_id, Some(secret.expose()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    for base in [actix.base.as_str(), axum_base.as_str()] {
        let (status, issued) = json(form(
            format!("{base}/api/o/token"),
            format!("grant_type=password&username=ada&password={PASSWORD}&scope=profile"),
        ))
        .await;
        assert_eq!(status, 200, "{issued}");
        let access = issued["access_token"].as_str().expect("access").to_owned();
        let me = || json(http.get(format!("{base}/api/auth/me")).bearer_auth(&access));
        let (status, who) = me().await;
        assert_eq!((status, &who["username"]), (200, &Value::from("ada")));

        // As an outside resource server: the JWKS named by the server's
        // RFC 8414 metadata, the key in it by kid.
        let metadata = format!("{base}/.well-known/oauth-authorization-server");
        let (_, metadata) = json(http.get(metadata)).await;
        assert_eq!(metadata["jwks_uri"], format!("{ISSUER}/api/o/jwks.json"));
        let (_, jwks) = json(http.get(format!("{base}/api/o/jwks.json"))).await;
        let jwks: JwkSet = serde_json::from_value(jwks).expect("a JWK Set");
        let header = jsonwebtoken::decode_header(&access).expect("a JWS header");
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("key");
        let key = DecodingKey::from_jwk(jwk).expect("decoding key");
        let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let verify = || jsonwebtoken::decode::<Value>(&access, &key, &validation);
        let claims = verify().expect("verifies with the JWKS").claims;
        assert_eq!(claims["sub"], user.id.to_string());
        assert_eq!(claims["client_id"], app.client_id.as_str());
        assert_eq!(claims["scope"], "profile");
        assert!(claims["jti"].is_string() && claims["iat"].is_i64());

        let (status, _) = json(form(
            format!("{base}/api/o/revoke_token"),
            format!("token={access}"),
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(me().await.0, 401);
        // The JWKS alone cannot know: it still verifies until it expires.
        assert!(verify().is_ok());
    }
    actix.stop().await;
}
