//! The cookie transport of the JWTs ([`CookieTransport`], as dj-rest-auth's
//! `JWT_AUTH_HTTPONLY`): the access and refresh tokens in `HttpOnly`
//! cookies, the CSRF double submit that goes with them (a readable
//! `csrftoken` cookie echoed in `X-CSRFToken`), and the `Cookie` /
//! `Set-Cookie` helpers the browser pages share.

use auth_core::Auth;
use auth_core::error::{AuthError, TokenRejection};
use auth_core::flows::{Authenticated, Credential};
use auth_core::oauth::{double_submit_check, new_csrf_value};

use crate::{Api, ApiRequest, ApiResponse};

/// The access token's cookie (`HttpOnly`, `Path=/`).
pub const ACCESS_COOKIE: &str = "auth_access";
/// The refresh token's cookie (`HttpOnly`, `Path` the JWT routes'
/// `{prefix}/auth/jwt`, where refresh and blacklist are).
pub const REFRESH_COOKIE: &str = "auth_refresh";
/// The CSRF token's cookie (readable by the page's scripts), Django's name.
pub const CSRF_COOKIE: &str = "csrftoken";
/// The header a cookie-authenticated unsafe request echoes the CSRF
/// cookie in, Django's name.
pub const CSRF_HEADER: &str = "X-CSRFToken";

/// A cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Also sent on top-level cross-site navigations with a safe method
    /// (the default, as Django's).
    #[default]
    Lax,
    /// Sent on every request; browsers require `Secure` with it.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// The JWTs in cookies, for browser apps that should keep no token where
/// scripts can read it. Off unless set with
/// [`ApiOptions::with_cookie_transport`](crate::ApiOptions::with_cookie_transport);
/// the `Authorization` header works as before either way.
///
/// When on:
/// - `POST {prefix}/auth/jwt/create` and `.../jwt/refresh` set the access
///   token in [`ACCESS_COOKIE`] (`Path=/`) and the refresh token in
///   [`REFRESH_COOKIE`] (`Path={prefix}/auth/jwt`, the parent of the refresh
///   and blacklist routes, so no other route ever receives it), both
///   `HttpOnly`, with [`secure`](Self::secure) and
///   [`same_site`](Self::same_site), `Max-Age` the token's lifetime; and
///   a readable [`CSRF_COOKIE`] (a new random value at each login, kept
///   by a refresh), whose value also comes in the response's
///   [`CSRF_HEADER`] header for pages on another host, which cannot read
///   the API host's cookies.
/// - The refresh token is left out of their JSON body unless
///   [`refresh_in_body`](Self::refresh_in_body) (dj-rest-auth's
///   `JWT_AUTH_HTTPONLY`: a script that cannot read the refresh token
///   cannot leak it). The short-lived access token stays in the body, so
///   the answer keeps its documented shape.
/// - `.../jwt/refresh` and `.../jwt/blacklist` (log out) read the refresh
///   token from its cookie when the body has no `refresh`; log out clears
///   the three cookies (`Max-Age=0`).
/// - A request without an `Authorization` header is authenticated by the
///   access cookie, by the routes and by the adapters' middlewares alike
///   ([`RequestAuth::from_request`](crate::RequestAuth::from_request)).
/// - CSRF: a `POST`, `PUT`, `PATCH` or `DELETE` authenticated by the
///   cookie, and a refresh or log out reading the refresh cookie, must send
///   the [`CSRF_COOKIE`]'s value in [`CSRF_HEADER`] (compared in constant
///   time), else 403 `{"detail": "CSRF Failed: ..."}` and nothing changes.
///   Requests authenticated by the header need none.
///
/// ```
/// use auth_http::{ApiOptions, CookieTransport, SameSite};
/// let cookies = CookieTransport::default();
/// assert!(cookies.secure && !cookies.refresh_in_body);
/// assert_eq!(cookies.same_site, SameSite::Lax);
/// let options = ApiOptions::default().with_cookie_transport(cookies);
/// assert!(options.cookie_transport.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieTransport {
    /// Whether the cookies are `Secure` (sent over HTTPS only; default
    /// on). Turn it off only for plain-HTTP development.
    pub secure: bool,
    /// Their `SameSite` (default `Lax`).
    pub same_site: SameSite,
    /// Whether the refresh token is also in the JSON body (default off).
    pub refresh_in_body: bool,
}

impl Default for CookieTransport {
    fn default() -> Self {
        Self {
            secure: true,
            same_site: SameSite::Lax,
            refresh_in_body: false,
        }
    }
}

/// A `Set-Cookie` value; `max_age` `0` deletes the cookie.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SetCookie<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
    pub(crate) path: &'a str,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) secure: bool,
    pub(crate) max_age: i64,
}

impl std::fmt::Display for SetCookie<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "/" } else { self.path };
        write!(f, "{}={}; Path={path}", self.name, self.value)?;
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        write!(
            f,
            "; SameSite={}; Max-Age={}",
            self.same_site.as_str(),
            self.max_age
        )?;
        if self.secure {
            f.write_str("; Secure")?;
        }
        Ok(())
    }
}

/// The value of cookie `name` in these `Cookie` header lines.
pub(crate) fn cookie_in<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    lines
        .into_iter()
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(req: &ApiRequest<'a>, name: &str) -> Option<&'a str> {
    cookie_in(req.header_values("cookie"), name)
}

/// Whether `method` may change state (CSRF applies to it).
fn is_unsafe(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// What a request carries that may authenticate it, read by
/// [`RequestAuth::from_request`](crate::RequestAuth::from_request): an
/// adapter's middleware fills it from the request's headers.
#[derive(Debug, Clone, Default)]
pub struct RequestCredentials<'a> {
    /// The method, e.g. `"POST"`.
    pub method: &'a str,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// Every `Cookie` header line.
    pub cookies: Vec<&'a str>,
    /// The [`CSRF_HEADER`].
    pub csrf_token: Option<&'a str>,
}

impl<'a> RequestCredentials<'a> {
    /// The credentials of a request of the [`http`] crate (axum, hyper);
    /// values that are not visible ASCII are left out.
    pub fn from_http(method: &'a str, headers: &'a http::HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self {
            method,
            authorization: text("authorization"),
            cookies: headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect(),
            csrf_token: text(CSRF_HEADER),
        }
    }

    /// The credentials of an [`ApiRequest`].
    pub(crate) fn of(req: &ApiRequest<'a>) -> Self {
        Self {
            method: req.method,
            authorization: req.header("authorization"),
            cookies: req.header_values("cookie"),
            csrf_token: req.header(CSRF_HEADER),
        }
    }

    /// The CSRF double submit: the header equals the cookie.
    pub(crate) fn check_csrf(&self) -> Result<(), AuthError> {
        let cookie = cookie_in(self.cookies.iter().copied(), CSRF_COOKIE);
        double_submit_check(cookie, self.csrf_token).map_err(AuthError::CsrfFailed)
    }
}

/// The caller: the `Authorization` header's when it is sent (or when the
/// cookie transport is off), else the access cookie's, which an unsafe
/// method must back with the CSRF token.
pub(crate) async fn authenticate(
    auth: &Auth,
    transport: Option<&CookieTransport>,
    request: &RequestCredentials<'_>,
) -> Result<Authenticated, AuthError> {
    let from_cookie = match (request.authorization, transport) {
        (None, Some(_)) => cookie_in(request.cookies.iter().copied(), ACCESS_COOKIE)
            .filter(|token| !token.is_empty()),
        _ => None,
    };
    let Some(token) = from_cookie else {
        return auth.authenticate_header(request.authorization).await;
    };
    let (user, claims) = auth.authenticate_jwt(token).await?;
    if is_unsafe(request.method) {
        request.check_csrf()?;
    }
    Ok(Authenticated {
        user,
        credential: Credential::Jwt(claims),
    })
}

/// Whether an outcome of the middleware is worth redoing here: it found no
/// credentials, but it may not have read the cookies.
pub(crate) fn may_be_in_cookie(api: &Api, err: &AuthError) -> bool {
    api.options().cookie_transport.is_some()
        && matches!(err, AuthError::Unauthenticated(TokenRejection::Missing))
}

/// The refresh token a refresh or log out acts on: the body's `refresh`,
/// or, with the cookie transport on and no `refresh` in the body, the
/// refresh cookie's (then the CSRF token must come with it).
pub(crate) fn refresh_token(
    api: &Api,
    req: &ApiRequest<'_>,
    body: &serde_json::Value,
) -> Result<Option<String>, AuthError> {
    if api.options().cookie_transport.is_none() || body.get("refresh").is_some() {
        return Ok(None);
    }
    match cookie(req, REFRESH_COOKIE).filter(|token| !token.is_empty()) {
        Some(token) => {
            RequestCredentials::of(req).check_csrf()?;
            Ok(Some(token.to_string()))
        }
        None => Ok(None),
    }
}

/// Where the refresh cookie is sent: the JWT routes, under the mount and
/// the prefix.
fn refresh_path(api: &Api, req: &ApiRequest<'_>) -> String {
    format!("{}{}/auth/jwt", req.mount, api.options().prefix())
}

/// Adds the cookies of a login or refresh to `response` (nothing when the
/// transport is off): the access token, the refresh token when there is a
/// new one, and the CSRF token: the request's on a refresh (`login`
/// false) when it has one, else a new one.
pub(crate) fn set_token_cookies(
    api: &Api,
    req: &ApiRequest<'_>,
    mut response: ApiResponse,
    (access, refresh): (&str, Option<&str>),
    login: bool,
) -> ApiResponse {
    let Some(transport) = &api.options().cookie_transport else {
        return response;
    };
    let jwt = &api.auth().config().jwt;
    let lifetime = jwt.refresh_lifetime().num_seconds();
    let root = format!("{}/", req.mount);
    let refresh_path = refresh_path(api, req);
    let set = |name, value, path, http_only, max_age| {
        SetCookie {
            name,
            value,
            path,
            http_only,
            same_site: transport.same_site,
            secure: transport.secure,
            max_age,
        }
        .to_string()
    };
    // Kept only when it looks like one of ours (base64url): it is echoed.
    let ours = |kept: &&str| {
        (16..=128).contains(&kept.len())
            && kept
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let csrf = match cookie(req, CSRF_COOKIE).filter(ours) {
        Some(kept) if !login => kept.to_string(),
        _ => new_csrf_value(),
    };
    let access_age = jwt.access_lifetime().num_seconds();
    response.headers.push((
        "Set-Cookie".into(),
        set(ACCESS_COOKIE, access, &root, true, access_age),
    ));
    if let Some(refresh) = refresh {
        response.headers.push((
            "Set-Cookie".into(),
            set(REFRESH_COOKIE, refresh, &refresh_path, true, lifetime),
        ));
    }
    response.headers.push((
        "Set-Cookie".into(),
        set(CSRF_COOKIE, &csrf, &root, false, lifetime),
    ));
    // Also in a header, for a page on another host, which cannot read the
    // API host's cookies (CORS lets only the allowed origins read it).
    response.headers.push((CSRF_HEADER.into(), csrf));
    response
}

/// Adds the deletion of the three cookies to `response` (nothing when the
/// transport is off).
pub(crate) fn clear_token_cookies(
    api: &Api,
    req: &ApiRequest<'_>,
    mut response: ApiResponse,
) -> ApiResponse {
    let Some(transport) = &api.options().cookie_transport else {
        return response;
    };
    let root = format!("{}/", req.mount);
    let refresh_path = refresh_path(api, req);
    for (name, path, http_only) in [
        (ACCESS_COOKIE, root.as_str(), true),
        (REFRESH_COOKIE, refresh_path.as_str(), true),
        (CSRF_COOKIE, root.as_str(), false),
    ] {
        let clear = SetCookie {
            name,
            value: "",
            path,
            http_only,
            same_site: transport.same_site,
            secure: transport.secure,
            max_age: 0,
        };
        response
            .headers
            .push(("Set-Cookie".into(), clear.to_string()));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_attributes() {
        let cookie = SetCookie {
            name: "a",
            value: "b",
            path: "/api/auth/jwt",
            http_only: true,
            same_site: SameSite::Strict,
            secure: true,
            max_age: 60,
        };
        assert_eq!(
            cookie.to_string(),
            "a=b; Path=/api/auth/jwt; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        let readable = SetCookie {
            http_only: false,
            secure: false,
            path: "",
            ..cookie
        };
        assert_eq!(
            readable.to_string(),
            "a=b; Path=/; SameSite=Strict; Max-Age=60"
        );
    }

    #[test]
    fn cookie_lines_are_searched_in_order() {
        let lines = ["x=1; csrftoken=abc", "auth_access=\"tok\""];
        assert_eq!(cookie_in(lines, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie_in(lines, ACCESS_COOKIE), Some("tok"));
        assert_eq!(cookie_in(lines, REFRESH_COOKIE), None);
    }
}
