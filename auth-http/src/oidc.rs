//! OpenID Connect's endpoints: userinfo (Core §5.3), the discovery
//! document (Discovery 1.0 §3, which extends the RFC 8414 metadata), the
//! ID-token keys (JWKS) and RP-initiated logout (RP-Initiated Logout 1.0).
//! The rules (which claims for which scopes, which hints and redirect URIs
//! are accepted, whose session ends) are auth-core's `Auth::userinfo` and
//! `Auth::end_session`; this module reads the request and renders.

use auth_core::oauth::EndSessionRequest;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::ApiResponse;
use crate::browser::{
    LOGIN_PATH, SESSION_COOKIE, cookie, error_page, failure_page, page, query_param, set_cookie,
    with_query,
};
use crate::endpoint::{Call, Outcome};
use crate::oauth::{ServerMetadata, endpoints_base, no_store, server_metadata};

/// The claims an ID token or userinfo may carry.
const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "preferred_username",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
];

/// The OpenID Provider metadata (OpenID Connect Discovery 1.0 §3): the
/// RFC 8414 metadata plus what OpenID Connect adds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OpenIdConfiguration {
    /// The authorization server metadata (RFC 8414), shared with
    /// `/.well-known/oauth-authorization-server`; its `jwks_uri` is always
    /// there, since discovery is only served with ID-token keys.
    #[serde(flatten)]
    server: ServerMetadata,
    /// The userinfo endpoint.
    userinfo_endpoint: String,
    /// The RP-initiated logout endpoint.
    end_session_endpoint: String,
    /// Always `["public"]`: `sub` is the user's id.
    subject_types_supported: Vec<&'static str>,
    /// The algorithms of the ID-token keys.
    id_token_signing_alg_values_supported: Vec<&'static str>,
    /// The claims an ID token or userinfo may carry.
    claims_supported: Vec<&'static str>,
}

/// `GET /.well-known/openid-configuration`: 404 while no ID-token keys
/// are configured (OpenID Connect is off).
pub(crate) async fn discovery(c: Call<'_>) -> Outcome {
    let Some(keys) = c.api.auth().id_token_keys() else {
        return Ok(ApiResponse::not_found());
    };
    let base = endpoints_base(&c);
    Ok(ApiResponse::json(
        200,
        &OpenIdConfiguration {
            server: server_metadata(&c),
            userinfo_endpoint: format!("{base}/userinfo"),
            end_session_endpoint: format!("{base}/logout"),
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: keys
                .algorithms()
                .into_iter()
                .map(|alg| alg.as_str())
                .collect(),
            claims_supported: CLAIMS.to_vec(),
        },
    ))
}

/// `GET /api/o/jwks.json`: the public ID-token keys (an empty set while
/// none are configured).
pub(crate) async fn jwks(c: Call<'_>) -> Outcome {
    let keys = c
        .api
        .auth()
        .id_token_keys()
        .map(|keys| keys.jwks())
        .unwrap_or_default();
    Ok(ApiResponse::json(200, &keys))
}

/// `GET` and `POST /api/o/userinfo`: the claims the caller's `openid`
/// access token may see.
pub(crate) async fn userinfo(c: Call<'_>) -> Outcome {
    let info = c.api.auth().userinfo(c.who()?)?;
    Ok(no_store(ApiResponse::json(200, &info)))
}

/// `GET /api/o/logout`: RP-initiated logout. A missing or forged
/// `id_token_hint` (or a `client_id` that is not its audience) shows the
/// error page and changes nothing; otherwise the hint's user's session
/// ends and the browser goes to the registered `post_logout_redirect_uri`
/// with `state`, or sees the signed-out page.
pub(crate) async fn logout(c: Call<'_>) -> Outcome {
    let api = c.api;
    let param = |name| query_param(c.req, name).filter(|value| !value.is_empty());
    let request = EndSessionRequest {
        id_token_hint: param("id_token_hint"),
        client_id: param("client_id"),
        post_logout_redirect_uri: param("post_logout_redirect_uri"),
        state: param("state"),
    };
    let session = cookie(c.req, SESSION_COOKIE);
    let ended = match api.auth().end_session(&request, session).await {
        Ok(ended) => ended,
        Err(auth_core::AuthError::OAuth(err)) => {
            return Ok(error_page(
                api,
                400,
                "Invalid logout request",
                err.description,
            ));
        }
        Err(err) => return Ok(failure_page(api, &err)),
    };
    let response = match ended.redirect_uri {
        Some(uri) => {
            let state: Vec<(&str, &str)> = request
                .state
                .as_deref()
                .map(|state| ("state", state))
                .into_iter()
                .collect();
            let location = if state.is_empty() {
                uri
            } else {
                with_query(&uri, &state)
            };
            ApiResponse::empty(302)
                .with_header("Location", location)
                .with_header("Cache-Control", "no-store")
        }
        None => page(
            api,
            200,
            "signed_out.html",
            &json!({"login_url": LOGIN_PATH}),
        ),
    };
    Ok(if ended.signed_out {
        response.with_header("Set-Cookie", set_cookie(api, SESSION_COOKIE, "", 0))
    } else {
        response
    })
}
