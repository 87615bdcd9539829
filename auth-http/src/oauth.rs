//! The OAuth2 provider's protocol endpoints: token (RFC 6749 §3.2),
//! revocation (RFC 7009), introspection (RFC 7662) and the authorization
//! server metadata (RFC 8414). Their bodies are forms
//! (`application/x-www-form-urlencoded`), their answers RFC 6749 §5.1 and
//! §5.2 JSON with `Cache-Control: no-store`; the rules live in auth-core's
//! `Auth::oauth_token` and its siblings, and errors go through the one
//! error table. The token, revocation and introspection answers carry CORS
//! headers for the origins the named client allows
//! (`OAuthClient::allows_origin`, on the application the flow reads once);
//! `OPTIONS` answers as on every route, with no CORS approval, since a
//! preflight names no client.

use auth_core::oauth::{
    ClientAuth, ClientAuthMethod, GrantType, Introspection, IssuedOAuthTokens, OAuthClient,
    OAuthError, OAuthErrorCode, OAuthTokenKind, OPENID_SCOPE, PkceMethod, TokenGrant,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use utoipa::ToSchema;

use crate::endpoint::{Call, Failure, Outcome};
use crate::form::percent_decode;
use crate::{ApiRequest, ApiResponse};

/// The token request form (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6): which
/// fields count depends on `grant_type`. Client credentials come in the
/// `Authorization: Basic` header or as `client_id` and `client_secret`
/// here; a public client sends its `client_id` alone.
// No `Debug`: it holds secrets.
#[derive(Default, ToSchema)]
pub(crate) struct TokenForm {
    /// `authorization_code`, `client_credentials`, `refresh_token` or
    /// `password`.
    grant_type: String,
    /// `authorization_code`: the code.
    code: Option<String>,
    /// `authorization_code`: the authorization request's `redirect_uri`.
    redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier.
    code_verifier: Option<String>,
    /// `refresh_token`: the refresh token.
    refresh_token: Option<String>,
    /// `password`: the resource owner's username.
    username: Option<String>,
    /// `password`: their password.
    password: Option<String>,
    /// The scopes asked for, space-separated.
    scope: Option<String>,
    /// The client's id (`client_secret_post`, or a public client).
    client_id: Option<String>,
    /// The client's secret (`client_secret_post`).
    client_secret: Option<String>,
}

/// The revocation and introspection form (RFC 7009 §2.1, RFC 7662 §2.1).
// `Debug` shows neither the token nor the secret.
#[derive(Default, ToSchema)]
pub(crate) struct TokenHintForm {
    /// The token.
    token: String,
    /// `access_token` or `refresh_token` (a hint only: the token is found
    /// either way).
    // RFC 7009 §2.1 lets a server ignore it; the token is found by its
    // digest.
    token_type_hint: Option<String>,
    /// The client's id (`client_secret_post`, or a public client).
    client_id: Option<String>,
    /// The client's secret (`client_secret_post`).
    client_secret: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
// No `Debug`: it holds the tokens.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// The access token.
    access_token: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// A refresh token, when the application may refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// The scopes granted, space-separated.
    scope: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// The OpenID Connect ID token, when the grant holds `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// An introspection answer (RFC 7662 §2.2): `{"active": false}` alone for
/// a token that is not active.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct IntrospectionResponse {
    /// Whether the token is active.
    active: bool,
    /// The `client_id` it was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// When it expires (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// When it was issued (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// Its scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// Its user's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// `Bearer` for an access token, `refresh_token` for a refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// Its user's username.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
}

/// The authorization server metadata (RFC 8414 §2, RFC 9207 §3).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServerMetadata {
    /// The issuer identifier.
    issuer: String,
    /// Where authorization requests go.
    authorization_endpoint: String,
    /// Whether the authorization response carries `iss` (RFC 9207).
    authorization_response_iss_parameter_supported: bool,
    /// The PKCE methods accepted.
    code_challenge_methods_supported: Vec<&'static str>,
    /// The grant types the token endpoint accepts.
    grant_types_supported: Vec<&'static str>,
    /// How introspection callers authenticate.
    introspection_endpoint: String,
    /// The client authentication methods of the introspection endpoint.
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The response modes of the authorization endpoint.
    response_modes_supported: Vec<&'static str>,
    /// The response types of the authorization endpoint.
    response_types_supported: Vec<&'static str>,
    /// The revocation endpoint.
    revocation_endpoint: String,
    /// The client authentication methods of the revocation endpoint.
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The scopes the server knows.
    scopes_supported: Vec<String>,
    /// The token endpoint.
    token_endpoint: String,
    /// The client authentication methods of the token endpoint.
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The JWK Set of the keys that sign ID tokens and JWT access tokens
    /// (RFC 9068 §4: a resource server finds them here); absent while no
    /// ID-token keys are set.
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
}

/// `invalid_request` as a failure.
fn invalid_request(description: &'static str) -> Failure {
    Failure::Auth(OAuthError::invalid_request(description).into())
}

/// The form's fields, as RFC 6749 §3.1 reads them: an empty value counts
/// as absent, and a field sent twice is `invalid_request`. A body that is
/// not `application/x-www-form-urlencoded` is a 415, as on the JSON routes.
fn form_fields(req: &ApiRequest<'_>) -> Result<Vec<(String, String)>, Failure> {
    req.expect_media_type("application/x-www-form-urlencoded")
        .map_err(Failure::Response)?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(req.body) {
        if value.is_empty() {
            continue;
        }
        if fields.iter().any(|(seen, _)| *seen == name) {
            return Err(invalid_request("A parameter was sent more than once."));
        }
        fields.push((name.into_owned(), value.into_owned()));
    }
    Ok(fields)
}

/// Takes `name` out of `fields`.
fn take(fields: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let at = fields.iter().position(|(n, _)| n == name)?;
    Some(fields.swap_remove(at).1)
}

impl TokenForm {
    fn read(req: &ApiRequest<'_>) -> Result<Self, Failure> {
        let mut f = form_fields(req)?;
        Ok(Self {
            grant_type: take(&mut f, "grant_type")
                .ok_or_else(|| invalid_request("The grant_type is required."))?,
            code: take(&mut f, "code"),
            redirect_uri: take(&mut f, "redirect_uri"),
            code_verifier: take(&mut f, "code_verifier"),
            refresh_token: take(&mut f, "refresh_token"),
            username: take(&mut f, "username"),
            password: take(&mut f, "password"),
            scope: take(&mut f, "scope"),
            client_id: take(&mut f, "client_id"),
            client_secret: take(&mut f, "client_secret"),
        })
    }

    /// The grant, with its required fields.
    fn grant(self) -> Result<TokenGrant, Failure> {
        let Some(grant_type) = GrantType::parse(&self.grant_type) else {
            return Err(Failure::Auth(
                OAuthError::new(
                    OAuthErrorCode::UnsupportedGrantType,
                    "The grant type is not supported.",
                )
                .into(),
            ));
        };
        let required =
            |value: Option<String>, description| value.ok_or_else(|| invalid_request(description));
        Ok(match grant_type {
            GrantType::AuthorizationCode => TokenGrant::AuthorizationCode {
                code: required(self.code, "The code is required.")?,
                redirect_uri: self.redirect_uri,
                code_verifier: self.code_verifier,
            },
            GrantType::ClientCredentials => TokenGrant::ClientCredentials { scope: self.scope },
            GrantType::RefreshToken => TokenGrant::RefreshToken {
                refresh_token: required(self.refresh_token, "The refresh_token is required.")?,
                scope: self.scope,
            },
            GrantType::Password => TokenGrant::Password {
                username: required(self.username, "The username is required.")?,
                password: required(self.password, "The password is required.")?,
                scope: self.scope,
            },
        })
    }
}

impl std::fmt::Debug for TokenHintForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: Option<&String>| secret.map(|_| "[redacted]");
        f.debug_struct("TokenHintForm")
            .field("token", &"[redacted]")
            .field("token_type_hint", &self.token_type_hint)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(self.client_secret.as_ref()))
            .finish()
    }
}

impl TokenHintForm {
    fn read(req: &ApiRequest<'_>) -> Result<Self, Failure> {
        let mut f = form_fields(req)?;
        Ok(Self {
            token: take(&mut f, "token")
                .ok_or_else(|| invalid_request("The token is required."))?,
            token_type_hint: take(&mut f, "token_type_hint"),
            client_id: take(&mut f, "client_id"),
            client_secret: take(&mut f, "client_secret"),
        })
    }
}

/// The client's credentials (RFC 6749 §2.3.1): `Authorization: Basic`
/// with the form-encoded id and secret, or `client_id` (and
/// `client_secret`) in the form, never both. No `client_id` anywhere, or a
/// Basic header that does not decode, is `invalid_client`.
fn client_auth(
    req: &ApiRequest<'_>,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<ClientAuth, Failure> {
    let failed =
        || Failure::Auth(OAuthError::invalid_client("Client authentication failed.").into());
    let basic = req.header("authorization").and_then(|value| {
        let (scheme, credentials) = value.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("basic")
            .then_some(credentials.trim())
    });
    let Some(encoded) = basic else {
        let client_id = client_id.ok_or_else(failed)?;
        let method = if client_secret.is_some() {
            ClientAuthMethod::Post
        } else {
            ClientAuthMethod::None
        };
        return Ok(ClientAuth {
            client_id,
            secret: client_secret,
            method,
        });
    };
    if client_secret.is_some() {
        return Err(invalid_request("Use one client authentication method."));
    }
    let decoded = STANDARD.decode(encoded).map_err(|_| failed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| failed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(failed)?;
    let (id, secret) = (percent_decode(id), percent_decode(secret));
    if id.is_empty() || client_id.is_some_and(|form_id| form_id != id) {
        return Err(failed());
    }
    Ok(ClientAuth {
        client_id: id,
        secret: Some(secret),
        method: ClientAuthMethod::Basic,
    })
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(response: ApiResponse) -> ApiResponse {
    response
        .with_header("Cache-Control", "no-store")
        .with_header("Pragma", "no-cache")
}

/// Renders `outcome`, with its errors rendered here so they carry the
/// no-store headers too, and the CORS headers when the request comes from
/// an origin the client it named (`client`, read once for the flow)
/// allows ([`OAuthClient::allows_origin`]): `Access-Control-Allow-Origin`
/// with that origin and `Vary: Origin`, on success and error alike. No
/// credentials flag: these endpoints read no cookies.
fn answer(c: Call<'_>, client: Option<&OAuthClient>, outcome: Outcome) -> Outcome {
    let response = no_store(match outcome {
        Ok(response) | Err(Failure::Response(response)) => response,
        Err(Failure::Auth(err)) => ApiResponse::from_error(&err),
    });
    Ok(match (c.req.header("origin"), client) {
        (Some(origin), Some(client)) if client.allows_origin(origin) => response
            .with_header("Access-Control-Allow-Origin", origin)
            .with_header("Vary", "Origin"),
        _ => response,
    })
}

/// The client a request names, read once: `named` keeps it for the
/// answer's CORS headers.
async fn named_client<'n>(
    c: Call<'_>,
    credentials: ClientAuth,
    named: &'n mut Option<OAuthClient>,
) -> Result<&'n OAuthClient, Failure> {
    let client = c.api.auth().oauth_client(credentials).await?;
    Ok(named.insert(client))
}

pub(crate) async fn token(c: Call<'_>) -> Outcome {
    let mut client = None;
    let outcome = issue(c, &mut client).await;
    answer(c, client.as_ref(), outcome)
}

/// The token request; `named` learns the client it names.
async fn issue(c: Call<'_>, named: &mut Option<OAuthClient>) -> Outcome {
    let mut form = TokenForm::read(c.req)?;
    let credentials = client_auth(c.req, form.client_id.take(), form.client_secret.take())?;
    let client = named_client(c, credentials, named).await?;
    let grant = form.grant()?;
    let issued: IssuedOAuthTokens = c
        .api
        .auth()
        .oauth_token(client, &grant, &c.req.client)
        .await?;
    Ok(ApiResponse::json(
        200,
        &TokenResponse {
            access_token: issued.access_token,
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token,
            scope: issued.scopes.to_string(),
            token_type: "Bearer",
            id_token: issued.id_token,
        },
    ))
}

pub(crate) async fn revoke_token(c: Call<'_>) -> Outcome {
    let mut client = None;
    let outcome = revoke(c, &mut client).await;
    answer(c, client.as_ref(), outcome)
}

/// The revocation request; `named` learns the client it names.
async fn revoke(c: Call<'_>, named: &mut Option<OAuthClient>) -> Outcome {
    let form = TokenHintForm::read(c.req)?;
    let credentials = client_auth(c.req, form.client_id, form.client_secret)?;
    let client = named_client(c, credentials, named).await?;
    c.api.auth().revoke_oauth_token(client, &form.token).await?;
    Ok(ApiResponse::empty(200))
}

pub(crate) async fn introspect(c: Call<'_>) -> Outcome {
    let mut client = None;
    let outcome = inspect(c, &mut client).await;
    answer(c, client.as_ref(), outcome)
}

/// The introspection request; `named` learns the client it names.
async fn inspect(c: Call<'_>, named: &mut Option<OAuthClient>) -> Outcome {
    let form = TokenHintForm::read(c.req)?;
    let credentials = client_auth(c.req, form.client_id, form.client_secret)?;
    let client = named_client(c, credentials, named).await?;
    let found: Introspection = c
        .api
        .auth()
        .introspect_oauth_token(client, &form.token)
        .await?;
    let body = match found.details {
        Some(details) if found.active => IntrospectionResponse {
            active: true,
            client_id: Some(details.client_id),
            exp: details.expires.map(|at| at.timestamp()),
            iat: Some(details.issued_at.timestamp()),
            iss: Some(c.api.auth().config().oauth.issuer.clone()),
            scope: Some(details.scopes.to_string()),
            sub: details.user_id.map(|id| id.to_string()),
            token_type: Some(match details.kind {
                OAuthTokenKind::Access => "Bearer",
                OAuthTokenKind::Refresh => "refresh_token",
            }),
            username: details.username,
        },
        _ => IntrospectionResponse::default(),
    };
    Ok(ApiResponse::json(200, &body))
}

pub(crate) async fn metadata(c: Call<'_>) -> Outcome {
    Ok(ApiResponse::json(200, &server_metadata(&c)))
}

/// The absolute URL of the provider's endpoints under the prefix, `/o`
/// included: `{issuer}{mount}{prefix}/o`.
pub(crate) fn endpoints_base(c: &Call<'_>) -> String {
    format!(
        "{}{}{}/o",
        c.api.auth().config().oauth.issuer,
        c.req.mount,
        c.api.options().prefix()
    )
}

/// The RFC 8414 metadata, which the OpenID Connect discovery document
/// extends. `openid` is among the scopes, and `jwks_uri` present, only
/// when ID-token keys are set.
pub(crate) fn server_metadata(c: &Call<'_>) -> ServerMetadata {
    let config = &c.api.auth().config().oauth;
    let base = endpoints_base(c);
    let mut grant_types = vec![
        GrantType::AuthorizationCode.as_str(),
        GrantType::ClientCredentials.as_str(),
        GrantType::RefreshToken.as_str(),
    ];
    if config.password_grant {
        grant_types.push(GrantType::Password.as_str());
    }
    let mut pkce = vec![PkceMethod::S256.as_str()];
    if config.allow_plain_pkce {
        pkce.push(PkceMethod::Plain.as_str());
    }
    let client_methods = vec![
        ClientAuthMethod::Basic.as_str(),
        ClientAuthMethod::Post.as_str(),
        ClientAuthMethod::None.as_str(),
    ];
    let openid = config.id_token_keys.is_some();
    ServerMetadata {
        issuer: config.issuer.clone(),
        authorization_endpoint: format!("{base}/authorize"),
        authorization_response_iss_parameter_supported: true,
        code_challenge_methods_supported: pkce,
        grant_types_supported: grant_types,
        introspection_endpoint: format!("{base}/introspect"),
        introspection_endpoint_auth_methods_supported: client_methods[..2].to_vec(),
        response_modes_supported: vec!["query"],
        response_types_supported: vec!["code"],
        revocation_endpoint: format!("{base}/revoke_token"),
        revocation_endpoint_auth_methods_supported: client_methods.clone(),
        scopes_supported: config
            .scopes
            .keys()
            .filter(|scope| openid || scope.as_str() != OPENID_SCOPE)
            .cloned()
            .collect(),
        token_endpoint: format!("{base}/token"),
        token_endpoint_auth_methods_supported: client_methods,
        jwks_uri: openid.then(|| format!("{base}/jwks.json")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hint_form_shows_neither_token_nor_secret() {
        let form = TokenHintForm {
            token: "tok-3f9a".into(),
            token_type_hint: Some("refresh_token".into()),
            client_id: Some("printer".into()),
            client_secret: Some("sec-77b1".into()),
        };
        let shown = format!("{form:?}");
        assert!(shown.contains("refresh_token") && shown.contains("printer"));
        assert!(!shown.contains("tok-3f9a") && !shown.contains("sec-77b1"));
    }
}
