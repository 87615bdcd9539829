//! The OAuth2 provider, driven by an independent client: the `oauth2`
//! crate, over HTTP only, with the provider's login and consent pages
//! filled in by a browser without JavaScript. Applications are registered
//! as `create-application` registers them.

use auth_demo::{ApplicationArgs, ClientKind};
use base64::Engine as _;
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AccessToken, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, IntrospectionUrl, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use reqwest::Method;

use super::PASSWORD;
use crate::harness::{Backend, Ctx, Env};
use crate::oauth_client::{Browser, oauth_http, query_of};

/// Where the test's client says it listens; nothing needs to: the browser
/// follows no redirect, the test reads the code from `Location`.
pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// The `oauth2` client for an application of the server under test.
type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointSet, EndpointNotSet, EndpointSet>;

/// Registers an application the way `create-application` does; returns
/// its client id and secret.
pub(crate) async fn register(
    t: &Ctx,
    client_type: ClientKind,
    grants: &[&str],
) -> (String, Option<String>) {
    let args = ApplicationArgs {
        name: "E2E client".into(),
        client_type,
        grant_types: grants.iter().map(|g| (*g).to_owned()).collect(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: Vec::new(),
        allowed_origins: Vec::new(),
        user: None,
        skip_authorization: false,
    };
    let (application, secret) = auth_demo::create_application(&t.settings, &args)
        .await
        .unwrap_or_else(|err| panic!("create-application failed: {err}"));
    let secret = secret.map(|s| s.expose().to_owned());
    if let Some(secret) = &secret {
        t.remember_token(secret);
    }
    (application.client_id, secret)
}

fn oauth_client(t: &Ctx, client_id: &str, secret: Option<&str>) -> Client {
    let url = |path: &str| format!("{}{path}", t.base);
    let mut client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::new(url("/api/o/authorize")).expect("URL"))
        .set_token_uri(TokenUrl::new(url("/api/o/token")).expect("URL"))
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("URL"))
        .set_introspection_url(IntrospectionUrl::new(url("/api/o/introspect")).expect("URL"));
    if let Some(secret) = secret {
        client = client.set_client_secret(ClientSecret::new(secret.to_owned()));
    }
    client
}

/// The error code of a refused token request.
fn oauth_error<E: std::error::Error, R>(
    result: Result<R, RequestTokenError<E, oauth2::basic::BasicErrorResponse>>,
) -> BasicErrorResponseType {
    match result {
        Err(RequestTokenError::ServerResponse(answer)) => answer.error().clone(),
        Err(other) => panic!("not an OAuth2 error answer: {other:?}"),
        Ok(_) => panic!("the token request succeeded"),
    }
}

/// Whether introspection (authenticated as `client`) says `token` is live.
async fn active(client: &Client, http: &reqwest::Client, token: &str) -> bool {
    client
        .introspect(&AccessToken::new(token.to_owned()))
        .request_async(&oauth_http(http.clone()))
        .await
        .expect("introspection")
        .active()
}

/// Status of `GET /api/auth/me` with `Bearer token`.
async fn me(t: &Ctx, token: &str) -> u16 {
    t.req(Method::GET, "/api/auth/me")
        .bearer(token)
        .send()
        .await
        .status
}

/// A code for the `profile` scope once the user has consented: the
/// authorize URL sends the browser straight back.
async fn remembered_code(
    client: &Client,
    browser: &Browser,
) -> (AuthorizationCode, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = browser.get(url.as_str()).await;
    assert_eq!(back.status, 302, "remembered consent: {}", back.body);
    let code = AuthorizationCode::new(query_of(back.location())["code"].clone());
    (code, verifier)
}

/// Exchanges `code`; returns the access and refresh tokens (remembered as
/// secrets of the test).
async fn exchange(
    t: &Ctx,
    client: &Client,
    code: AuthorizationCode,
    verifier: PkceCodeVerifier,
) -> (String, RefreshToken) {
    let tokens = client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http(t.http.clone()))
        .await
        .expect("the code exchange");
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    t.remember_token(&access);
    t.remember_token(refresh.secret());
    (access, refresh)
}

/// A client-credentials token of `client` (remembered as a secret).
async fn client_token(t: &Ctx, client: &Client) -> oauth2::basic::BasicTokenResponse {
    let tokens = client
        .exchange_client_credentials()
        .request_async(&oauth_http(t.http.clone()))
        .await
        .expect("client credentials");
    t.remember_token(tokens.access_token().secret());
    tokens
}

/// Signs `username` in through the login page and allows the consent page
/// for `authorize_url`; returns the redirect's query parameters.
pub(crate) async fn authorize_in_browser(
    browser: &Browser,
    authorize_url: &str,
    username: &str,
) -> std::collections::BTreeMap<String, String> {
    let to_login = browser.get(authorize_url).await;
    assert_eq!(to_login.status, 303, "{}", to_login.body);
    let login = browser.get(to_login.location()).await;
    assert_eq!(login.status, 200);
    let mut form = login.hidden_inputs();
    assert!(form.contains_key("csrf_token"), "{}", login.body);
    form.insert("login".into(), username.into());
    form.insert("password".into(), PASSWORD.into());
    let signed_in = browser.post("/o/login", &form).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let consent = browser.get(signed_in.location()).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("E2E client"), "{}", consent.body);

    let mut without_csrf = consent.hidden_inputs();
    without_csrf.remove("csrf_token");
    without_csrf.insert("decision".into(), "allow".into());
    let refused = browser.post("/api/o/authorize", &without_csrf).await;
    assert_eq!(refused.status, 403, "a consent without its CSRF token");
    assert!(refused.location.is_none());

    let mut allow = consent.hidden_inputs();
    allow.insert("decision".into(), "allow".into());
    let allowed = browser.post("/api/o/authorize", &allow).await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    let location = allowed.location();
    assert!(location.starts_with(REDIRECT), "{location}");
    query_of(location)
}

/// Authorization code with PKCE through the login and consent pages, the
/// code exchanged once, refresh rotation and reuse detection, revocation
/// and introspection.
pub async fn oauth_code_flow(env: Env) {
    code_flow(env.start().await, false).await;
}

/// [`oauth_code_flow`] with RFC 9068 JWT access tokens
/// (`AUTH_OAUTH_JWT_ACCESS_TOKENS`): the same answers, revocation included.
pub async fn oauth_code_flow_with_jwt_access_tokens(env: Env) {
    let t = env
        .start_with(|settings| settings.oauth_jwt_access_tokens = true)
        .await;
    code_flow(t, true).await;
}

/// The code flow on server `t`, whose access tokens are JWTs when `jwt`.
async fn code_flow(t: Ctx, jwt: bool) {
    t.active_user("olive", PASSWORD).await;
    let (client_id, secret) = register(
        &t,
        ClientKind::Confidential,
        &["authorization_code", "refresh_token"],
    )
    .await;
    let client = oauth_client(&t, &client_id, secret.as_deref());
    let http = oauth_http(t.http.clone());

    // A redirect URI one character off: an error page, no redirect.
    let browser = Browser::new(&t.base);
    let (challenge, _unused_verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let off_by_one = url.as_str().replace("callback", "callbacc");
    assert_ne!(off_by_one, url.as_str());
    let wrong = browser.get(&off_by_one).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.location.is_none());

    let back = authorize_in_browser(&browser, url.as_str(), "olive").await;
    assert_eq!(back.get("state"), Some(state.secret()));
    assert_eq!(back.get("iss"), Some(&t.base), "RFC 9207 iss");
    let code = AuthorizationCode::new(back["code"].clone());

    // No verifier for a code issued with a challenge: refused.
    let no_verifier = client
        .exchange_code(code.clone())
        .request_async(&http)
        .await;
    assert_eq!(
        oauth_error(no_verifier),
        BasicErrorResponseType::InvalidGrant
    );

    // The refused exchange spent the code (codes are single use): get a
    // fresh one; the consent is remembered, so it comes straight back.
    let (code2, verifier2) = remembered_code(&client, &browser).await;
    let (access, _) = exchange(&t, &client, code2.clone(), verifier2).await;
    let parts = if jwt { 3 } else { 1 };
    assert_eq!(access.split('.').count(), parts, "the access token's form");
    assert_eq!(me(&t, &access).await, 200);

    // The code again: refused, and what it gave is revoked.
    let (_, verifier3) = PkceCodeChallenge::new_random_sha256();
    let reused = client
        .exchange_code(code2)
        .set_pkce_verifier(verifier3)
        .request_async(&http)
        .await;
    assert_eq!(oauth_error(reused), BasicErrorResponseType::InvalidGrant);
    assert_eq!(
        me(&t, &access).await,
        401,
        "a reused code revokes its tokens"
    );

    // A new grant, then refresh with rotation and reuse detection.
    let (code, verifier) = remembered_code(&client, &browser).await;
    let (_, refresh1) = exchange(&t, &client, code, verifier).await;
    let second = client
        .exchange_refresh_token(&refresh1)
        .request_async(&http)
        .await
        .expect("the refresh");
    let refresh2 = second
        .refresh_token()
        .expect("a rotated refresh token")
        .clone();
    let access2 = second.access_token().secret().clone();
    t.remember_token(&access2);
    t.remember_token(refresh2.secret());
    assert_ne!(refresh2.secret(), refresh1.secret(), "rotation");
    assert_eq!(me(&t, &access2).await, 200);
    assert!(active(&client, &t.http, &access2).await);

    let reuse = client
        .exchange_refresh_token(&refresh1)
        .request_async(&http)
        .await;
    assert_eq!(oauth_error(reuse), BasicErrorResponseType::InvalidGrant);
    let family_gone = client
        .exchange_refresh_token(&refresh2)
        .request_async(&http)
        .await;
    assert_eq!(
        oauth_error(family_gone),
        BasicErrorResponseType::InvalidGrant,
        "reusing a rotated refresh token revokes its family"
    );
    assert!(!active(&client, &t.http, &access2).await);
    assert_eq!(me(&t, &access2).await, 401);

    // Revocation (RFC 7009) of a refresh token takes its access tokens.
    let (code, verifier) = remembered_code(&client, &browser).await;
    let (access3, refresh3) = exchange(&t, &client, code, verifier).await;
    assert!(active(&client, &t.http, &access3).await);
    // The `oauth2` crate revokes over https only (RFC 7009 §2): this
    // plain-HTTP server is sent the same form by hand.
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{client_id}:{}", secret.as_deref().unwrap_or("")));
    t.req(Method::POST, "/api/o/revoke_token")
        .header("Authorization", &format!("Basic {credentials}"))
        .raw(
            "application/x-www-form-urlencoded",
            format!("token={}&token_type_hint=refresh_token", refresh3.secret()),
        )
        .send()
        .await
        .expect(200);
    assert!(!active(&client, &t.http, &access3).await);
    assert_eq!(me(&t, &access3).await, 401);
    t.finish().await;
}

/// Client credentials, introspection, a wrong secret, and the password
/// grant: refused while off (the default), working when the server enables
/// it.
pub async fn oauth_client_credentials_and_password(env: Env) {
    let t = env.start().await;
    let (client_id, secret) = register(
        &t,
        ClientKind::Confidential,
        &["client_credentials", "password"],
    )
    .await;
    let secret = secret.expect("a confidential client's secret");
    let client = oauth_client(&t, &client_id, Some(&secret));
    let http = oauth_http(t.http.clone());

    let tokens = client_token(&t, &client).await;
    let access = tokens.access_token().secret().clone();
    assert!(tokens.refresh_token().is_none(), "RFC 6749 §4.4.3");
    let introspection = client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .expect("introspection");
    assert!(introspection.active());
    assert_eq!(
        introspection.client_id().map(|c| c.as_str()),
        Some(client_id.as_str())
    );
    // A client token names no user: no route of a user takes it.
    assert_eq!(me(&t, &access).await, 401);

    let wrong = t
        .req(Method::POST, "/api/o/token")
        .raw(
            "application/x-www-form-urlencoded",
            format!(
                "grant_type=client_credentials&client_id={client_id}&client_secret=not-the-secret"
            ),
        )
        .send()
        .await;
    wrong.expect(401);
    assert_eq!(wrong.json["error"], "invalid_client", "{}", wrong.text);
    assert!(wrong.header("www-authenticate").is_some());

    t.active_user("pat", PASSWORD).await;
    let username = ResourceOwnerUsername::new("pat".into());
    let password = ResourceOwnerPassword::new(PASSWORD.into());
    let off = client
        .exchange_password(&username, &password)
        .request_async(&http)
        .await;
    assert_eq!(
        oauth_error(off),
        BasicErrorResponseType::UnsupportedGrantType
    );
    t.finish().await;

    let t = env
        .start_with(|settings| settings.oauth_password_grant = true)
        .await;
    let (client_id, secret) = register(&t, ClientKind::Confidential, &["password"]).await;
    let client = oauth_client(&t, &client_id, secret.as_deref());
    let http = oauth_http(t.http.clone());
    t.active_user("pat", PASSWORD).await;
    let tokens = client
        .exchange_password(&username, &password)
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await
        .expect("the password grant, enabled");
    t.remember_token(tokens.access_token().secret());
    assert_eq!(me(&t, tokens.access_token().secret()).await, 200);
    let wrong_password = ResourceOwnerPassword::new("not-the-password-1".into());
    let refused = client
        .exchange_password(&username, &wrong_password)
        .request_async(&http)
        .await;
    assert_eq!(oauth_error(refused), BasicErrorResponseType::InvalidGrant);
    t.finish().await;
}

/// `clear-tokens` deletes the OAuth2 tokens once expired, and only those.
pub async fn clear_tokens_deletes_expired_tokens(env: Env) {
    let clock = std::sync::Arc::new(auth_core::ManualClock::new(chrono::Utc::now()));
    let t = env
        .start_with(|settings| settings.clock = Some(clock.clone()))
        .await;
    let (client_id, secret) = register(&t, ClientKind::Confidential, &["client_credentials"]).await;
    let client = oauth_client(&t, &client_id, secret.as_deref());
    let tokens = client_token(&t, &client).await;

    let nothing = auth_demo::clear_tokens(&t.settings)
        .await
        .expect("clear-tokens");
    assert_eq!(nothing.oauth_tokens, 0, "a live token stays");
    assert!(active(&client, &t.http, tokens.access_token().secret()).await);

    clock.advance(chrono::Duration::hours(2));
    let cleared = auth_demo::clear_tokens(&t.settings)
        .await
        .expect("clear-tokens");
    // Redis drops a token by its own TTL (real time, which this test does
    // not move); a SQL store keeps the row until the purge.
    let expected = match env.backend {
        Backend::Sqlite => 1,
        Backend::PostgresRedis => 0,
    };
    assert_eq!(cleared.oauth_tokens, expected, "{cleared}");
    assert_eq!(cleared.knox_tokens + cleared.revocations, 0);
    assert!(!active(&client, &t.http, tokens.access_token().secret()).await);
    t.finish().await;
}
