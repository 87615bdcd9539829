//! The endpoint table, [`ENDPOINTS`], and its handlers: each parses the
//! request, calls one `Auth` method and renders the result. A new route is
//! one row here and its handler; [`handle`](crate::handle), `Allow`,
//! `OPTIONS`, the route groups, [`route_paths`](crate::route_paths) and the
//! OpenAPI document all read the row.

use auth_core::error::AuthError;
use auth_core::flows::{
    AccountDeletion, Credential, Credentials, EmailRequest, LinkConfirmation, MAX_PAGE_SIZE,
    PasswordChange, ProfileUpdate, Registration, ResetConfirmation,
};
use auth_core::oauth::UserInfo;
use auth_core::store::{self, KnoxTokenRecord};
use auth_core::token::jwt::{AccessToken, JwkSet, RefreshToken};
use auth_core::user::{User, UserId, rfc3339};
use serde::Serialize;
use utoipa::ToSchema;

use crate::bodies::{
    AdminUser, Detail, Empty, Health, HistoryItem, KnoxSession, KnoxToken, KnoxTokenName, Page,
    RefreshRequest, StaticToken, TokenPair, VerifyRequest,
};
use crate::browser;
use crate::cookies;
use crate::endpoint::{
    self, Access, Body, Call, Endpoint, Failure, Group, In, Outcome, Param, UserInfoForm,
};
use crate::form::{json_body, percent_decode};
use crate::oauth::{
    self, IntrospectionResponse, ServerMetadata, TokenForm, TokenHintForm, TokenResponse,
};
use crate::oidc::{self, OpenIdConfiguration};
use crate::schemas::{
    AdminUserPatch, AdminUserRequest, HistoryPage, KnoxLoginRequest, LoginRequest, UserPage,
};
use crate::{Api, ApiOptions, ApiRequest, ApiResponse, FromJson, admin_user_from_json};

/// The error statuses of the document's operations, by what may fail:
/// validation (`400`), authentication (`401`), throttling (`429`), staff
/// only (`403`), a missing object (`404`) and a store that is down (`503`).
const V: &[u16] = &[400, 503];
const A: &[u16] = &[401, 503];
const AV: &[u16] = &[400, 401, 503];
const VT: &[u16] = &[400, 429, 503];
const AVT: &[u16] = &[400, 401, 429, 503];
const AN: &[u16] = &[401, 404, 503];
const ST: &[u16] = &[401, 403, 404, 503];
const STV: &[u16] = &[400, 401, 403, 404, 503];

const PAGE: Param = Param {
    name: "page",
    at: In::Query,
    description: "1-based page number (404 `Invalid page.` past the last)",
};
const PAGE_SIZE: Param = Param {
    name: "page_size",
    at: In::Query,
    description: "Items per page (default 20, at most 100)",
};
const AUTHORIZE_PARAMS: &[Param] = &[
    Param {
        name: "client_id",
        at: In::Query,
        description: "The client (an unknown one gets the error page, never a redirect)",
    },
    Param {
        name: "redirect_uri",
        at: In::Query,
        description: "One of the client's registered redirect URIs, exactly",
    },
    Param {
        name: "response_type",
        at: In::Query,
        description: "`code`",
    },
    Param {
        name: "scope",
        at: In::Query,
        description: "Space-separated scopes (default: the configured ones)",
    },
    Param {
        name: "state",
        at: In::Query,
        description: "Returned as given",
    },
    Param {
        name: "code_challenge",
        at: In::Query,
        description: "PKCE challenge (RFC 7636), required by default",
    },
    Param {
        name: "code_challenge_method",
        at: In::Query,
        description: "`S256` (`plain` only when enabled)",
    },
    Param {
        name: "nonce",
        at: In::Query,
        description: "OpenID Connect nonce, carried to the ID token",
    },
    Param {
        name: "prompt",
        at: In::Query,
        description: "`none`, `login` or `consent`",
    },
    Param {
        name: "max_age",
        at: In::Query,
        description: "OpenID Connect: seconds since the user's sign-in beyond which they sign in again (`0`: always)",
    },
];
const USER_ID: Param = Param {
    name: "id",
    at: In::Path,
    description: "The user's id (UUID)",
};

/// A [`Handler`](crate::endpoint::Handler) of an `async fn(Call) -> Outcome`.
macro_rules! handler {
    ($f:path) => {
        |c| Box::pin($f(c))
    };
}

/// Every endpoint of the contract, in the order of the
/// document; the endpoints of one path are consecutive rows, in the order
/// of `Allow`.
pub(crate) const ENDPOINTS: &[Endpoint] = &[
    // Health and documentation.
    Endpoint {
        summary: Some("Every store answers"),
        response: Body::json::<Health>(),
        errors: &[503],
        ..Endpoint::new("GET", "/healthz", Group::Health, handler!(health))
    },
    Endpoint {
        summary: Some("This OpenAPI document"),
        ..Endpoint::new("GET", "/openapi.json", Group::Docs, handler!(openapi))
    },
    Endpoint {
        summary: Some("Swagger UI (HTML)"),
        response: Body::Html,
        ..Endpoint::new("GET", "/docs", Group::Docs, handler!(docs_index))
    },
    Endpoint::new("GET", "/docs/{file}", Group::Docs, handler!(docs_file)),
    // Accounts.
    Endpoint {
        summary: Some("Register an account (inactive until activated)"),
        request: Body::json::<Registration>(),
        status: 201,
        response: Body::json::<User>(),
        errors: VT,
        ..Endpoint::new(
            "POST",
            "/auth/register",
            Group::Accounts,
            handler!(register),
        )
    },
    Endpoint {
        summary: Some("Activate an account from its emailed link"),
        request: Body::json::<LinkConfirmation>(),
        response: Body::json::<Detail<'static>>(),
        errors: V,
        ..Endpoint::new(
            "POST",
            "/auth/activate",
            Group::Accounts,
            handler!(activate),
        )
    },
    Endpoint {
        summary: Some("Send the activation email again"),
        request: Body::json::<EmailRequest>(),
        status: 202,
        response: Body::json::<Detail<'static>>(),
        errors: VT,
        ..Endpoint::new(
            "POST",
            "/auth/activate/resend",
            Group::Accounts,
            handler!(resend_activation),
        )
    },
    Endpoint {
        summary: Some("Email a password reset link"),
        request: Body::json::<EmailRequest>(),
        status: 202,
        response: Body::json::<Detail<'static>>(),
        errors: VT,
        ..Endpoint::new(
            "POST",
            "/auth/password/reset",
            Group::Accounts,
            handler!(password_reset),
        )
    },
    Endpoint {
        summary: Some("Set a new password from a reset link"),
        request: Body::json::<ResetConfirmation>(),
        status: 204,
        errors: V,
        ..Endpoint::new(
            "POST",
            "/auth/password/reset/confirm",
            Group::Accounts,
            handler!(password_reset_confirm),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Change the password"),
        request: Body::json::<PasswordChange>(),
        status: 204,
        errors: AV,
        ..Endpoint::new(
            "POST",
            "/auth/password/change",
            Group::Accounts,
            handler!(password_change),
        )
    },
    Endpoint {
        access: Access::OwnOrScope("profile"),
        summary: Some("The signed-in user"),
        response: Body::json::<User>(),
        errors: A,
        ..Endpoint::new("GET", "/auth/me", Group::Accounts, handler!(me))
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Update names and profile"),
        request: Body::json::<ProfileUpdate>(),
        response: Body::json::<User>(),
        errors: AV,
        ..Endpoint::new("PATCH", "/auth/me", Group::Accounts, handler!(update_me))
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Delete the account"),
        request: Body::json::<AccountDeletion>(),
        status: 204,
        errors: AV,
        ..Endpoint::new("DELETE", "/auth/me", Group::Accounts, handler!(delete_me))
    },
    Endpoint {
        access: Access::OwnOrScope("profile"),
        summary: Some("The login history, newest first"),
        response: Body::json::<HistoryPage>(),
        errors: AN,
        params: &[PAGE, PAGE_SIZE],
        ..Endpoint::new(
            "GET",
            "/auth/me/history",
            Group::Accounts,
            handler!(history),
        )
    },
    // JWT.
    Endpoint {
        summary: Some("Log in: a JWT pair"),
        request: Body::json::<LoginRequest>(),
        response: Body::json::<TokenPair>(),
        errors: AVT,
        ..Endpoint::new("POST", "/auth/jwt/create", Group::Jwt, handler!(jwt_create))
    },
    Endpoint {
        summary: Some("Refresh (rotating the refresh token)"),
        request: Body::json::<RefreshRequest>(),
        response: Body::json::<TokenPair>(),
        errors: AV,
        ..Endpoint::new(
            "POST",
            "/auth/jwt/refresh",
            Group::Jwt,
            handler!(jwt_refresh),
        )
    },
    Endpoint {
        summary: Some("Verify a token"),
        request: Body::json::<VerifyRequest>(),
        response: Body::json::<Empty>(),
        errors: AV,
        ..Endpoint::new("POST", "/auth/jwt/verify", Group::Jwt, handler!(jwt_verify))
    },
    Endpoint {
        summary: Some("Blacklist a refresh token (log out)"),
        request: Body::json::<RefreshRequest>(),
        response: Body::json::<Empty>(),
        errors: AV,
        ..Endpoint::new(
            "POST",
            "/auth/jwt/blacklist",
            Group::Jwt,
            handler!(jwt_blacklist),
        )
    },
    Endpoint {
        summary: Some("The public JWT verification keys"),
        response: Body::json::<JwkSet>(),
        ..Endpoint::new("GET", "/auth/jwks.json", Group::Jwt, handler!(jwks))
    },
    // Knox.
    Endpoint {
        summary: Some("Log in: a Knox token"),
        request: Body::json::<KnoxLoginRequest>(),
        response: Body::json::<KnoxToken>(),
        errors: VT,
        ..Endpoint::new(
            "POST",
            "/auth/token/login",
            Group::Knox,
            handler!(knox_login),
        )
    },
    Endpoint {
        access: Access::KnoxToken,
        summary: Some("Revoke this Knox token"),
        status: 204,
        errors: A,
        ..Endpoint::new(
            "POST",
            "/auth/token/logout",
            Group::Knox,
            handler!(knox_logout),
        )
    },
    Endpoint {
        access: Access::KnoxToken,
        summary: Some("Revoke every token of the user"),
        status: 204,
        errors: A,
        ..Endpoint::new(
            "POST",
            "/auth/token/logoutall",
            Group::Knox,
            handler!(knox_logout_all),
        )
    },
    Endpoint {
        access: Access::OwnOrScope("profile"),
        summary: Some("The user's live Knox tokens"),
        response: Body::list::<KnoxSession>(),
        errors: A,
        ..Endpoint::new(
            "GET",
            "/auth/token/sessions",
            Group::Knox,
            handler!(knox_sessions),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Revoke one Knox token"),
        status: 204,
        errors: AN,
        params: &[Param {
            name: "token_key",
            at: In::Path,
            description: "The token's public prefix",
        }],
        ..Endpoint::new(
            "DELETE",
            "/auth/token/sessions/{token_key}",
            Group::Knox,
            handler!(knox_revoke_session),
        )
    },
    // Static tokens.
    Endpoint {
        summary: Some("Log in: the user's static token"),
        request: Body::json::<LoginRequest>(),
        response: Body::json::<StaticToken>(),
        errors: VT,
        ..Endpoint::new(
            "POST",
            "/auth/static-token",
            Group::StaticToken,
            handler!(static_token_login),
        )
    },
    Endpoint {
        access: Access::StaticToken,
        summary: Some("Delete the static token"),
        status: 204,
        errors: A,
        ..Endpoint::new(
            "DELETE",
            "/auth/static-token",
            Group::StaticToken,
            handler!(static_token_delete),
        )
    },
    // OAuth2 provider.
    Endpoint {
        summary: Some("OAuth2 token endpoint (RFC 6749): every grant"),
        request: Body::form::<TokenForm>(),
        response: Body::json::<TokenResponse>(),
        errors: &[400, 401, 429, 503],
        ..Endpoint::new("POST", "/o/token", Group::OAuth, handler!(oauth::token))
    },
    Endpoint {
        summary: Some("Revoke an OAuth2 token (RFC 7009)"),
        request: Body::form::<TokenHintForm>(),
        errors: &[400, 401, 503],
        ..Endpoint::new(
            "POST",
            "/o/revoke_token",
            Group::OAuth,
            handler!(oauth::revoke_token),
        )
    },
    Endpoint {
        summary: Some("Introspect an OAuth2 token (RFC 7662; confidential clients)"),
        request: Body::form::<TokenHintForm>(),
        response: Body::json::<IntrospectionResponse>(),
        errors: &[400, 401, 503],
        ..Endpoint::new(
            "POST",
            "/o/introspect",
            Group::OAuth,
            handler!(oauth::introspect),
        )
    },
    Endpoint {
        summary: Some(
            "OAuth2 authorization endpoint (code + PKCE): sign-in and consent pages, then a redirect with code, state and iss",
        ),
        response: Body::Html,
        errors: &[302, 303, 400, 403, 503],
        params: AUTHORIZE_PARAMS,
        ..Endpoint::new(
            "GET",
            "/o/authorize",
            Group::OAuth,
            handler!(browser::authorize_get),
        )
    },
    Endpoint {
        summary: Some("The consent form of the authorization endpoint (CSRF token required)"),
        request: Body::form::<browser::ConsentForm>(),
        response: Body::Html,
        errors: &[303, 400, 403, 415, 503],
        ..Endpoint::new(
            "POST",
            "/o/authorize",
            Group::OAuth,
            handler!(browser::authorize_post),
        )
    },
    Endpoint {
        summary: Some("OAuth2 authorization server metadata (RFC 8414)"),
        response: Body::json::<ServerMetadata>(),
        ..Endpoint::new(
            "GET",
            "/.well-known/oauth-authorization-server",
            Group::WellKnown,
            handler!(oauth::metadata),
        )
    },
    // The browser pages (HTML, at the root; not in the OpenAPI document).
    Endpoint::new(
        "GET",
        "/o/login",
        Group::Pages,
        handler!(browser::login_get),
    ),
    Endpoint::new(
        "POST",
        "/o/login",
        Group::Pages,
        handler!(browser::login_post),
    ),
    Endpoint::new("POST", "/o/logout", Group::Pages, handler!(browser::logout)),
    // OpenID Connect (on when ID-token keys are configured).
    Endpoint {
        access: Access::OAuthScope("openid"),
        summary: Some("OpenID Connect userinfo: the claims of an `openid` access token's scopes"),
        response: Body::json::<UserInfo>(),
        errors: &[401, 403, 503],
        ..Endpoint::new(
            "GET",
            "/o/userinfo",
            Group::OpenId,
            handler!(oidc::userinfo),
        )
    },
    Endpoint {
        access: Access::OAuthScope("openid"),
        summary: Some(
            "OpenID Connect userinfo (POST; the access token in `Authorization` or as the form's `access_token`)",
        ),
        request: Body::form::<UserInfoForm>(),
        response: Body::json::<UserInfo>(),
        errors: &[400, 401, 403, 503],
        ..Endpoint::new(
            "POST",
            "/o/userinfo",
            Group::OpenId,
            handler!(oidc::userinfo),
        )
    },
    Endpoint {
        summary: Some("The ID-token verification keys (JWK Set)"),
        response: Body::json::<JwkSet>(),
        ..Endpoint::new("GET", "/o/jwks.json", Group::OpenId, handler!(oidc::jwks))
    },
    Endpoint {
        summary: Some(
            "OpenID Connect RP-initiated logout: ends the session, then redirects to a registered post-logout URI with state, or shows the signed-out page",
        ),
        response: Body::Html,
        errors: &[302, 400, 503],
        params: &[
            Param {
                name: "id_token_hint",
                at: In::Query,
                description: "An ID token this provider issued (expired is fine); required",
            },
            Param {
                name: "client_id",
                at: In::Query,
                description: "The client; must be the hint's audience",
            },
            Param {
                name: "post_logout_redirect_uri",
                at: In::Query,
                description: "One of the client's registered post-logout redirect URIs, exactly",
            },
            Param {
                name: "state",
                at: In::Query,
                description: "Returned as given on the redirect",
            },
        ],
        ..Endpoint::new("GET", "/o/logout", Group::OpenId, handler!(oidc::logout))
    },
    Endpoint {
        summary: Some("OpenID Connect discovery (404 while OpenID Connect is off)"),
        response: Body::json::<OpenIdConfiguration>(),
        errors: &[404],
        ..Endpoint::new(
            "GET",
            "/.well-known/openid-configuration",
            Group::WellKnown,
            handler!(oidc::discovery),
        )
    },
    // Users admin: staff only; who may change what is `Auth`'s rule.
    Endpoint {
        access: Access::Staff,
        summary: Some("List users (staff)"),
        response: Body::json::<UserPage>(),
        errors: ST,
        params: &[
            PAGE,
            PAGE_SIZE,
            Param {
                name: "search",
                at: In::Query,
                description: "Matches username, email and names",
            },
        ],
        ..Endpoint::new("GET", "/users", Group::Users, handler!(list_users))
    },
    Endpoint {
        access: Access::Staff,
        summary: Some("Create a user (staff)"),
        request: Body::json::<AdminUserRequest>(),
        status: 201,
        response: Body::json::<AdminUser>(),
        errors: STV,
        ..Endpoint::new("POST", "/users", Group::Users, handler!(create_user))
    },
    Endpoint {
        access: Access::Staff,
        summary: Some("A user (staff)"),
        response: Body::json::<AdminUser>(),
        errors: ST,
        params: &[USER_ID],
        ..Endpoint::new("GET", "/users/{id}", Group::Users, handler!(get_user))
    },
    Endpoint {
        access: Access::Staff,
        summary: Some("Replace a user (staff)"),
        request: Body::json::<AdminUserRequest>(),
        response: Body::json::<AdminUser>(),
        errors: STV,
        params: &[USER_ID],
        ..Endpoint::new("PUT", "/users/{id}", Group::Users, handler!(replace_user))
    },
    Endpoint {
        access: Access::Staff,
        summary: Some("Update a user (staff)"),
        request: Body::json::<AdminUserPatch>(),
        response: Body::json::<AdminUser>(),
        errors: STV,
        params: &[USER_ID],
        ..Endpoint::new("PATCH", "/users/{id}", Group::Users, handler!(update_user))
    },
    Endpoint {
        access: Access::Staff,
        summary: Some("Delete a user (staff)"),
        status: 204,
        errors: ST,
        params: &[USER_ID],
        ..Endpoint::new("DELETE", "/users/{id}", Group::Users, handler!(delete_user))
    },
    // A user's own OAuth2 applications and grants (JSON). Only this
    // library's own credentials: an OAuth2 access token is refused.
    Endpoint {
        access: Access::Own,
        summary: Some("The signed-in user's OAuth2 applications"),
        response: Body::list::<crate::applications::ApplicationView>(),
        errors: &[401, 403, 503],
        ..Endpoint::new(
            "GET",
            "/o/applications",
            Group::Applications,
            handler!(crate::applications::list),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Register an OAuth2 application (the secret is answered once)"),
        request: Body::json::<crate::applications::ApplicationRequest>(),
        status: 201,
        response: Body::json::<crate::applications::ApplicationWithSecret>(),
        errors: &[400, 401, 403, 503],
        ..Endpoint::new(
            "POST",
            "/o/applications",
            Group::Applications,
            handler!(crate::applications::create),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("One of the user's OAuth2 applications"),
        response: Body::json::<crate::applications::ApplicationView>(),
        errors: &[401, 403, 404, 503],
        params: &[APPLICATION_ID],
        ..Endpoint::new(
            "GET",
            "/o/applications/{id}",
            Group::Applications,
            handler!(crate::applications::get),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Replace an OAuth2 application's settings"),
        request: Body::json::<crate::applications::ApplicationRequest>(),
        response: Body::json::<crate::applications::ApplicationView>(),
        errors: &[400, 401, 403, 404, 503],
        params: &[APPLICATION_ID],
        ..Endpoint::new(
            "PUT",
            "/o/applications/{id}",
            Group::Applications,
            handler!(crate::applications::replace),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Change some of an OAuth2 application's settings"),
        request: Body::json::<crate::applications::ApplicationPatchRequest>(),
        response: Body::json::<crate::applications::ApplicationView>(),
        errors: &[400, 401, 403, 404, 503],
        params: &[APPLICATION_ID],
        ..Endpoint::new(
            "PATCH",
            "/o/applications/{id}",
            Group::Applications,
            handler!(crate::applications::update),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Delete an OAuth2 application (its tokens are revoked)"),
        status: 204,
        errors: &[401, 403, 404, 503],
        params: &[APPLICATION_ID],
        ..Endpoint::new(
            "DELETE",
            "/o/applications/{id}",
            Group::Applications,
            handler!(crate::applications::delete),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some(
            "A new client secret, answered once; the old one works for the configured overlap",
        ),
        response: Body::json::<crate::applications::ApplicationWithSecret>(),
        errors: &[400, 401, 403, 404, 503],
        params: &[APPLICATION_ID],
        ..Endpoint::new(
            "POST",
            "/o/applications/{id}/rotate-secret",
            Group::Applications,
            handler!(crate::applications::rotate_secret),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("The applications the user authorized, with the scopes granted"),
        response: Body::list::<crate::applications::AuthorizedView>(),
        errors: &[401, 403, 503],
        ..Endpoint::new(
            "GET",
            "/o/authorized",
            Group::Applications,
            handler!(crate::applications::authorized),
        )
    },
    Endpoint {
        access: Access::Own,
        summary: Some("Revoke a grant: the consent and the user's tokens for that application"),
        status: 204,
        errors: &[401, 403, 404, 503],
        params: &[Param {
            name: "id",
            at: In::Path,
            description: "The application's id (UUID)",
        }],
        ..Endpoint::new(
            "DELETE",
            "/o/authorized/{id}",
            Group::Applications,
            handler!(crate::applications::revoke_authorized),
        )
    },
    // The application pages (HTML, at the root; not in the OpenAPI
    // document). `new` before `{id}`.
    Endpoint::new(
        "GET",
        "/o/applications",
        Group::Pages,
        handler!(crate::application_pages::list),
    ),
    Endpoint::new(
        "GET",
        "/o/applications/new",
        Group::Pages,
        handler!(crate::application_pages::new_form),
    ),
    Endpoint::new(
        "POST",
        "/o/applications/new",
        Group::Pages,
        handler!(crate::application_pages::create),
    ),
    Endpoint::new(
        "GET",
        "/o/applications/{id}",
        Group::Pages,
        handler!(crate::application_pages::show),
    ),
    Endpoint::new(
        "POST",
        "/o/applications/{id}",
        Group::Pages,
        handler!(crate::application_pages::edit),
    ),
    Endpoint::new(
        "POST",
        "/o/applications/{id}/delete",
        Group::Pages,
        handler!(crate::application_pages::delete),
    ),
    Endpoint::new(
        "POST",
        "/o/applications/{id}/rotate-secret",
        Group::Pages,
        handler!(crate::application_pages::rotate_secret),
    ),
    Endpoint::new(
        "GET",
        "/o/authorized",
        Group::Pages,
        handler!(crate::application_pages::authorized),
    ),
    Endpoint::new(
        "POST",
        "/o/authorized/{id}/revoke",
        Group::Pages,
        handler!(crate::application_pages::revoke),
    ),
];

/// The path templates [`handle`] answers under these options (their route
/// groups and prefix), each with and without a trailing slash, in the
/// `{param}` syntax axum 0.8 and actix-web share: for adapters that
/// register the routes one by one (so they merge with an application's own
/// routes and fallback).
///
/// ```
/// use auth_http::{ApiOptions, RouteGroups, route_paths};
/// let users = ApiOptions::default().with_groups(RouteGroups { users: true, ..RouteGroups::none() });
/// assert_eq!(
///     route_paths(&users),
///     ["/api/users", "/api/users/", "/api/users/{id}", "/api/users/{id}/"],
/// );
/// let elsewhere = users.with_prefix("/admin")?;
/// assert_eq!(route_paths(&elsewhere)[0], "/admin/users");
/// # Ok::<(), auth_http::PrefixError>(())
/// ```
pub fn route_paths(options: &ApiOptions) -> Vec<String> {
    endpoint::paths(ENDPOINTS, options)
}

/// Answers one request: finds the endpoint for its path and method in the
/// endpoint table, checks the caller's access, and runs the endpoint's
/// handler, which parses the body, calls one [`Auth`] method and renders
/// the result; every error goes through [`ApiResponse::from_error`], the
/// one error table.
///
/// Paths are accepted with and without one trailing slash. An unknown path
/// (or one of a disabled group) is a 404 `{"detail": "Not found."}`; a
/// known path with another method a 405 with `Allow`; `OPTIONS` a 200 with
/// `Allow`; `HEAD` is `GET` without the body.
///
/// [`Auth`]: auth_core::Auth
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use auth_core::{Auth, config::AuthConfig};
/// use auth_http::{Api, ApiRequest, handle};
/// let api = Api::new(Auth::in_memory(AuthConfig::default()));
/// let request = ApiRequest::from_parts(&api, "GET", "/healthz/", None, vec![], b"", None);
/// let response = handle(&api, request).await;
/// assert_eq!(response.status, 200);
/// assert_eq!(response.json_body(), serde_json::json!({"status": "ok"}));
/// # });
/// ```
pub async fn handle(api: &Api, request: ApiRequest<'_>) -> ApiResponse {
    endpoint::serve(ENDPOINTS, api, request).await
}

// Health and documentation.

async fn health(c: Call<'_>) -> Outcome {
    Ok(match c.api.auth().health().await {
        Ok(()) => ApiResponse::json(
            200,
            &Health {
                detail: None,
                status: "ok",
            },
        ),
        Err(err) => {
            tracing::error!(target: "auth_http", error = %err, "health check failed");
            ApiResponse::json(
                503,
                &Health {
                    detail: Some(crate::error::UNAVAILABLE_MESSAGE),
                    status: "unavailable",
                },
            )
        }
    })
}

async fn openapi(c: Call<'_>) -> Outcome {
    Ok(document(c.api, c.req))
}

fn document(api: &Api, req: &ApiRequest<'_>) -> ApiResponse {
    ApiResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: api.openapi_json_at(req.mount).to_vec(),
    }
}

/// The Swagger UI, asked as `{prefix}/docs` or `{prefix}/docs/` (relative
/// links work as they are).
async fn docs_index(c: Call<'_>) -> Outcome {
    Ok(crate::docs::index(c.req.path.ends_with('/')))
}

/// A Swagger UI file, or the document as `docs/openapi.json`.
async fn docs_file(c: Call<'_>) -> Outcome {
    Ok(match c.param {
        "openapi.json" => document(c.api, c.req),
        file => crate::docs::file(file),
    })
}

// Accounts.

async fn register(c: Call<'_>) -> Outcome {
    let registration = Registration::from_json(&json_body(c.req)?)?;
    let user = c.api.auth().register(registration, &c.req.client).await?;
    Ok(ApiResponse::json(201, &user))
}

async fn activate(c: Call<'_>) -> Outcome {
    let confirmation = LinkConfirmation::from_json(&json_body(c.req)?)?;
    c.api.auth().activate(confirmation, &c.req.client).await?;
    Ok(ApiResponse::detail(200, "Your account has been activated."))
}

async fn resend_activation(c: Call<'_>) -> Outcome {
    let request = EmailRequest::from_json(&json_body(c.req)?)?;
    c.api
        .auth()
        .resend_activation(request, &c.req.client)
        .await?;
    Ok(ApiResponse::detail(
        202,
        "If an inactive account uses this email, an activation email has been sent.",
    ))
}

async fn password_reset(c: Call<'_>) -> Outcome {
    let request = EmailRequest::from_json(&json_body(c.req)?)?;
    c.api
        .auth()
        .request_password_reset(request, &c.req.client)
        .await?;
    Ok(ApiResponse::detail(
        202,
        "If an active account uses this email, a password reset email has been sent.",
    ))
}

async fn password_reset_confirm(c: Call<'_>) -> Outcome {
    let confirmation = ResetConfirmation::from_json(&json_body(c.req)?)?;
    c.api
        .auth()
        .confirm_password_reset(confirmation, &c.req.client)
        .await?;
    Ok(ApiResponse::empty(204))
}

async fn password_change(c: Call<'_>) -> Outcome {
    let who = c.who()?;
    let change = PasswordChange::from_json(&json_body(c.req)?)?;
    c.api
        .auth()
        .change_password(
            who.user.id,
            change,
            who.credential.knox_digest(),
            &c.req.client,
        )
        .await?;
    Ok(ApiResponse::empty(204))
}

async fn me(c: Call<'_>) -> Outcome {
    Ok(ApiResponse::json(200, &c.who()?.user))
}

async fn update_me(c: Call<'_>) -> Outcome {
    let who = c.who()?;
    let update = ProfileUpdate::from_json(&json_body(c.req)?)?;
    let user = c.api.auth().update_profile(who.user.id, update).await?;
    Ok(ApiResponse::json(200, &user))
}

async fn delete_me(c: Call<'_>) -> Outcome {
    let who = c.who()?;
    let deletion = AccountDeletion::from_json(&json_body(c.req)?)?;
    c.api.auth().delete_account(who.user.id, deletion).await?;
    Ok(ApiResponse::empty(204))
}

async fn history(c: Call<'_>) -> Outcome {
    let who = c.who()?;
    let paging = Paging::from_query(c.api, c.req)?;
    let page = c
        .api
        .auth()
        .login_history(who.user.id, paging.page, paging.size)
        .await?;
    paging.render(c.req, page, |entry: &store::HistoryEntry| {
        HistoryItem::from(entry)
    })
}

// JWT.

async fn jwt_create(c: Call<'_>) -> Outcome {
    let credentials = Credentials::from_json(&json_body(c.req)?)?;
    let (_, pair) = c.api.auth().jwt_login(&credentials, &c.req.client).await?;
    let tokens = (pair.access.as_str(), Some(pair.refresh.as_str()));
    let body = token_pair_body(c.api, pair.access.clone(), Some(pair.refresh.clone()));
    Ok(cookies::set_token_cookies(c.api, c.req, body, tokens, true))
}

/// A login's or refresh's body: the refresh token is left out when it
/// lives in its cookie only.
fn token_pair_body(api: &Api, access: AccessToken, refresh: Option<RefreshToken>) -> ApiResponse {
    let in_body = api
        .options()
        .cookie_transport
        .as_ref()
        .is_none_or(|transport| transport.refresh_in_body);
    ApiResponse::json(
        200,
        &TokenPair {
            access,
            refresh: refresh.filter(|_| in_body),
        },
    )
}

/// The refresh token of a refresh or log out: the body's, or its cookie's.
fn refresh_request(c: &Call<'_>) -> Result<RefreshRequest, Failure> {
    let body = json_body(c.req)?;
    Ok(match cookies::refresh_token(c.api, c.req, &body)? {
        Some(refresh) => RefreshRequest { refresh },
        None => RefreshRequest::from_json(&body)?,
    })
}

async fn jwt_refresh(c: Call<'_>) -> Outcome {
    let body = refresh_request(&c)?;
    let refreshed = c
        .api
        .auth()
        .jwt_refresh(&body.refresh, &c.req.client)
        .await?;
    let tokens = (
        refreshed.access.as_str(),
        refreshed.refresh.as_ref().map(RefreshToken::as_str),
    );
    let response = token_pair_body(c.api, refreshed.access.clone(), refreshed.refresh.clone());
    Ok(cookies::set_token_cookies(
        c.api, c.req, response, tokens, false,
    ))
}

async fn jwt_verify(c: Call<'_>) -> Outcome {
    let body = VerifyRequest::from_json(&json_body(c.req)?)?;
    c.api.auth().jwt_verify(&body.token).await?;
    Ok(ApiResponse::json(200, &Empty {}))
}

/// Log out: blacklists the refresh token and, with the cookie transport,
/// clears the cookies whatever the token's fate (once the CSRF check, if
/// any, passed).
async fn jwt_blacklist(c: Call<'_>) -> Outcome {
    let body = refresh_request(&c)?;
    let response = match c
        .api
        .auth()
        .jwt_blacklist(&body.refresh, &c.req.client)
        .await
    {
        Ok(()) => ApiResponse::json(200, &Empty {}),
        Err(err) => ApiResponse::from_error(&err),
    };
    Ok(cookies::clear_token_cookies(c.api, c.req, response))
}

async fn jwks(c: Call<'_>) -> Outcome {
    Ok(ApiResponse::json(200, &c.api.auth().jwt().jwks()))
}

// Knox.

async fn knox_login(c: Call<'_>) -> Outcome {
    let body = json_body(c.req)?;
    let (credentials, name) = both(
        Credentials::from_json(&body),
        KnoxTokenName::from_json(&body),
    )?;
    let (_, issued) = c
        .api
        .auth()
        .knox_login(&credentials, name.name, &c.req.client)
        .await?;
    Ok(ApiResponse::json(
        200,
        &KnoxToken {
            expiry: issued.record.expiry.map(rfc3339),
            token: issued.token.expose().to_string(),
        },
    ))
}

/// The Knox record of the caller of an [`Access::KnoxToken`] endpoint.
fn knox_record<'a>(c: &Call<'a>) -> Result<&'a KnoxTokenRecord, AuthError> {
    match &c.who()?.credential {
        Credential::Knox(record) => Ok(record),
        _ => Err(AuthError::Unauthenticated(
            auth_core::error::TokenRejection::Missing,
        )),
    }
}

async fn knox_logout(c: Call<'_>) -> Outcome {
    let record = knox_record(&c)?;
    c.api.auth().knox_logout(record, &c.req.client).await?;
    Ok(ApiResponse::empty(204))
}

async fn knox_logout_all(c: Call<'_>) -> Outcome {
    let record = knox_record(&c)?;
    c.api
        .auth()
        .logout_all(record.user_id, &c.req.client)
        .await?;
    Ok(ApiResponse::empty(204))
}

async fn knox_sessions(c: Call<'_>) -> Outcome {
    let sessions = c.api.auth().knox_sessions(c.who()?.user.id).await?;
    let sessions: Vec<KnoxSession> = sessions.iter().map(KnoxSession::from).collect();
    Ok(ApiResponse::json(200, &sessions))
}

async fn knox_revoke_session(c: Call<'_>) -> Outcome {
    let key = percent_decode(c.param);
    c.api
        .auth()
        .revoke_knox_session(c.who()?.user.id, &key, &c.req.client)
        .await?;
    Ok(ApiResponse::empty(204))
}

// Static tokens.

async fn static_token_login(c: Call<'_>) -> Outcome {
    let credentials = Credentials::from_json(&json_body(c.req)?)?;
    let (_, token) = c
        .api
        .auth()
        .static_token_login(&credentials, &c.req.client)
        .await?;
    Ok(ApiResponse::json(200, &StaticToken { token }))
}

async fn static_token_delete(c: Call<'_>) -> Outcome {
    c.api
        .auth()
        .delete_static_token(c.who()?.user.id, &c.req.client)
        .await?;
    Ok(ApiResponse::empty(204))
}

// Users admin.

async fn list_users(c: Call<'_>) -> Outcome {
    let paging = Paging::from_query(c.api, c.req)?;
    let search = query_param(c.req.query, "search");
    let page = c
        .api
        .auth()
        .list_users(search, paging.page, paging.size)
        .await?;
    paging.render(c.req, page, |user: &User| AdminUser(user.to_admin_json()))
}

async fn create_user(c: Call<'_>) -> Outcome {
    let input = admin_user_from_json(&json_body(c.req)?, false)?;
    let user = c.api.auth().create_user_as(&c.who()?.user, input).await?;
    Ok(ApiResponse::json(201, &user.to_admin_json()))
}

/// The `{id}` of a users admin path (an id that is not one is not found).
fn user_id(c: &Call<'_>) -> Result<UserId, AuthError> {
    percent_decode(c.param)
        .parse()
        .map_err(|_| AuthError::NotFound)
}

async fn get_user(c: Call<'_>) -> Outcome {
    let user = c.api.auth().get_user(user_id(&c)?).await?;
    Ok(ApiResponse::json(200, &user.to_admin_json()))
}

async fn replace_user(c: Call<'_>) -> Outcome {
    write_user(c, false).await
}

async fn update_user(c: Call<'_>) -> Outcome {
    write_user(c, true).await
}

/// `PUT` (`partial: false`) or `PATCH` of `/users/{id}`.
async fn write_user(c: Call<'_>, partial: bool) -> Outcome {
    let id = user_id(&c)?;
    let input = admin_user_from_json(&json_body(c.req)?, partial)?;
    let user = c
        .api
        .auth()
        .update_user_as(&c.who()?.user, id, input)
        .await?;
    Ok(ApiResponse::json(200, &user.to_admin_json()))
}

async fn delete_user(c: Call<'_>) -> Outcome {
    let id = user_id(&c)?;
    c.api.auth().delete_user_as(&c.who()?.user, id).await?;
    Ok(ApiResponse::empty(204))
}

/// Both values, or one 400 with the field errors of both, so a client
/// hears about every bad field at once.
fn both<A, B>(a: Result<A, AuthError>, b: Result<B, AuthError>) -> Result<(A, B), AuthError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(AuthError::Validation(mut errors)), Err(AuthError::Validation(more))) => {
            errors.merge(more);
            Err(AuthError::Validation(errors))
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    }
}

/// `?page=N&page_size=M`, as DRF's `PageNumberPagination` reads them: a
/// `page` that is not a positive integer, or past the last page, is a 404
/// `{"detail": "Invalid page."}`; a `page_size` that is not a positive
/// integer falls back to the default, and one above the maximum is capped.
#[derive(Debug, Clone, Copy)]
struct Paging {
    page: u64,
    size: u64,
    trust_proxies: bool,
}

fn invalid_page() -> Failure {
    Failure::Response(ApiResponse::detail(404, "Invalid page."))
}

impl Paging {
    fn from_query(api: &Api, req: &ApiRequest<'_>) -> Result<Self, Failure> {
        let query = req.query;
        let page = match query_param(query, "page") {
            None => 1,
            Some(page) => match page.trim().parse::<u64>() {
                Ok(page) if page >= 1 => page,
                _ => return Err(invalid_page()),
            },
        };
        let default = api.options().default_page_size.clamp(1, MAX_PAGE_SIZE);
        let size = query_param(query, "page_size")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&s| s >= 1)
            .map_or(default, |s| s.min(MAX_PAGE_SIZE));
        Ok(Self {
            page,
            size,
            trust_proxies: req.from_trusted_proxy,
        })
    }

    fn render<T, B: Serialize + ToSchema>(
        self,
        req: &ApiRequest<'_>,
        page: store::Page<T>,
        item: impl Fn(&T) -> B,
    ) -> Outcome {
        let pages = page.total.div_ceil(self.size).max(1);
        if self.page > pages {
            return Err(invalid_page());
        }
        let next =
            (self.page < pages).then(|| page_url(req, self.trust_proxies, Some(self.page + 1)));
        let previous = (self.page > 1).then(|| {
            page_url(
                req,
                self.trust_proxies,
                (self.page > 2).then_some(self.page - 1),
            )
        });
        Ok(ApiResponse::json(
            200,
            &Page {
                count: page.total,
                next,
                previous,
                results: page.items.iter().map(item).collect(),
            },
        ))
    }
}

/// The absolute URL of this request with `page` set (or removed, as DRF
/// does for the first page), from the `Host` header; relative when there is
/// none.
fn page_url(req: &ApiRequest<'_>, trust_proxies: bool, page: Option<u64>) -> String {
    let mut pairs: Vec<String> = req
        .query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            form_urlencoded::parse(pair.as_bytes())
                .next()
                .is_none_or(|(key, _)| key != "page")
        })
        .map(str::to_string)
        .collect();
    if let Some(page) = page {
        pairs.push(format!("page={page}"));
    }
    let query = if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    };
    let origin = match req.header("host") {
        Some(host) if is_valid_host(host) => {
            let forwarded_https = req
                .header("x-forwarded-proto")
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
            let https = forwarded_https && trust_proxies;
            format!("{}://{host}", if https { "https" } else { "http" })
        }
        _ => String::new(),
    };
    format!("{origin}{}{}{query}", req.mount, req.path)
}

/// A `Host` header fit to put in a URL (no spaces, slashes or quotes).
fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

/// The first value of `name` in a query string, decoded as a form
/// (`%XX` escapes, `+` as a space; invalid escapes stay as they are,
/// invalid UTF-8 becomes U+FFFD).
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The `{id}` of the applications routes.
const APPLICATION_ID: Param = Param {
    name: "id",
    at: In::Path,
    description: "The application's id (UUID), not its client_id",
};
