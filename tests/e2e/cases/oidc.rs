//! OpenID Connect, driven by an independent relying party: the
//! `openidconnect` crate discovers the demo server, runs the code flow
//! (PKCE, nonce) through the login and consent pages, validates the ID
//! token against the published JWKS and reads userinfo, over HTTP only.

use auth_demo::ClientKind;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use super::PASSWORD;
use super::oauth::{REDIRECT, authorize_in_browser, register};
use crate::harness::Env;
use crate::oauth_client::{Browser, oauth_http};

pub async fn openid_connect_relying_party(env: Env) {
    let t = env.start().await;
    t.active_user("iris", PASSWORD).await;
    let (client_id, secret) = register(
        &t,
        ClientKind::Confidential,
        &["authorization_code", "refresh_token"],
    )
    .await;
    let http = oauth_http(t.http.clone());

    let issuer = IssuerUrl::new(t.base.clone()).expect("the issuer URL");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery (the issuer must be the URL discovered)");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("URL"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new(&t.base);
    let back = authorize_in_browser(&browser, url.as_str(), "iris").await;
    assert_eq!(back.get("state"), Some(state.secret()));

    let tokens = client
        .exchange_code(AuthorizationCode::new(back["code"].clone()))
        .expect("a token endpoint in the metadata")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    t.remember_token(tokens.access_token().secret());
    if let Some(refresh) = tokens.refresh_token() {
        t.remember_token(refresh.secret());
    }
    let id_token = tokens.id_token().expect("an ID token for the openid scope");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("the ID token verifies against the JWKS (signature, iss, aud, exp, nonce)");
    assert_eq!(claims.issuer().as_str(), t.base);
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("the key by kid"),
    )
    .expect("at_hash");
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    // A nonce other than the one sent: refused.
    assert!(
        id_token
            .claims(&verifier, &Nonce::new("another".into()))
            .is_err()
    );

    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("a userinfo endpoint in the metadata")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(
        info.preferred_username().map(|name| name.as_str()),
        Some("iris")
    );
    assert_eq!(
        info.email().map(|email| email.as_str()),
        Some("iris@example.com")
    );
    assert_eq!(info.email_verified(), Some(true));
    t.finish().await;
}
