//! The handlers of the browser pages (`/o/login`, `/o/logout`): HTML
//! rendered from [`Pages`](crate::Pages), the session cookie, and the CSRF
//! checks of every form. The rules (credentials, throttling, sessions,
//! CSRF tokens) are `Auth`'s; this module reads forms and cookies and
//! writes HTML and `Set-Cookie`.

use auth_core::error::AuthError;
use auth_core::flows::Credentials;
use auth_core::oauth::{
    AuthorizationRequest, AuthorizeError, AuthorizeErrorCode, BrowserSession, Prompt,
    ValidatedAuthorization, double_submit_ok, new_csrf_value,
};
use auth_core::user::User;
use serde_json::{Value, json};

pub(crate) use crate::cookies::cookie;
use crate::cookies::{SameSite, SetCookie};
use crate::endpoint::{Call, Outcome};
use crate::{Api, ApiRequest, ApiResponse};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "auth_session";
/// The double-submit CSRF cookie of the forms shown before sign-in.
pub(crate) const CSRF_COOKIE: &str = "auth_csrf";
/// Where a sign-in without a (safe) `next` lands.
const AFTER_LOGIN: &str = "/o/login";
pub(crate) const LOGIN_PATH: &str = "/o/login";
const LOGOUT_PATH: &str = "/o/logout";
const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
/// when configured; `max_age` `0` deletes the cookie.
pub(crate) fn set_cookie(api: &Api, name: &str, value: &str, max_age: i64) -> String {
    SetCookie {
        name,
        value,
        path: "/",
        http_only: true,
        same_site: SameSite::Lax,
        secure: api.auth().config().oauth.secure_cookies,
        max_age,
    }
    .to_string()
}

/// `next` when it is a same-site relative path (`/...`, not `//host` or
/// `/\host`, no control characters): the only places a sign-in redirects
/// to, so the login page is no open redirect.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    ok.then_some(next)
}

/// The form's fields, the first of each name.
fn form(req: &ApiRequest<'_>) -> Result<Vec<(String, String)>, ApiResponse> {
    req.expect_media_type("application/x-www-form-urlencoded")?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(req.body) {
        if !fields.iter().any(|(seen, _)| *seen == name) {
            fields.push((name.into_owned(), value.into_owned()));
        }
    }
    Ok(fields)
}

pub(crate) fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The query parameter `name`, decoded.
pub(crate) fn query_param(req: &ApiRequest<'_>, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// An HTML page: never cached, never framed (the consent page must not
/// be clickjacked).
pub(crate) fn page(api: &Api, status: u16, template: &str, context: &Value) -> ApiResponse {
    let mut context = context.clone();
    if let Value::Object(map) = &mut context {
        map.entry("site_name")
            .or_insert_with(|| json!(api.auth().config().site_name));
    }
    match api.options().pages.render(template, &context) {
        Ok(html) => ApiResponse {
            status,
            headers: vec![
                ("Content-Type".into(), "text/html; charset=utf-8".into()),
                ("Cache-Control".into(), "no-store".into()),
                ("X-Frame-Options".into(), "DENY".into()),
                (
                    "Content-Security-Policy".into(),
                    "frame-ancestors 'none'".into(),
                ),
            ],
            body: html.into_bytes(),
        },
        Err(err) => {
            tracing::error!(target: "auth_http", error = %err, "a page did not render");
            ApiResponse::detail(500, "A server error occurred.")
        }
    }
}

/// The error page.
pub(crate) fn error_page(api: &Api, status: u16, title: &str, message: &str) -> ApiResponse {
    page(
        api,
        status,
        "error.html",
        &json!({"title": title, "message": message}),
    )
}

/// 403: a form without its CSRF token.
pub(crate) fn csrf_refused(api: &Api) -> ApiResponse {
    error_page(
        api,
        403,
        "Forbidden",
        "The form expired or did not come from this site. Go back, reload the page and try again.",
    )
}

/// The page for a service error: its status from the error table, a
/// generic message (429 keeps its `Retry-After`).
pub(crate) fn failure_page(api: &Api, err: &AuthError) -> ApiResponse {
    let rendered = ApiResponse::from_error(err);
    let retry = rendered.header("Retry-After").map(str::to_string);
    let message = match rendered.status {
        429 => "Too many attempts. Try again later.",
        s if s >= 500 => "The service is unavailable. Try again later.",
        _ => "The request could not be completed.",
    };
    let response = error_page(api, rendered.status, "Something went wrong", message);
    match retry {
        Some(retry) => response.with_header("Retry-After", retry),
        None => response,
    }
}

/// A `303 See Other` to `location`.
pub(crate) fn see_other(location: &str) -> ApiResponse {
    ApiResponse::empty(303).with_header("Location", location)
}

/// The live session of the request's cookie and its user.
pub(crate) async fn signed_in(
    api: &Api,
    req: &ApiRequest<'_>,
) -> Result<Option<(BrowserSession, User)>, AuthError> {
    match cookie(req, SESSION_COOKIE) {
        Some(value) => api.auth().browser_session(value).await,
        None => Ok(None),
    }
}

/// What every signed-in page shows: the user and a sign-out form.
pub(crate) fn session_context(api: &Api, session: &BrowserSession, user: &User) -> Value {
    let token = api.auth().session_csrf_token(session);
    json!({
        "user": user.username,
        "csrf_token": token,
        "logout_csrf_token": token,
        "logout_action": LOGOUT_PATH,
    })
}

pub(crate) fn merge(mut base: Value, more: Value) -> Value {
    if let (Value::Object(base), Value::Object(more)) = (&mut base, more) {
        base.extend(more);
    }
    base
}

/// The login form, with the double-submit CSRF value `csrf` (set as a
/// cookie when `set` is true).
fn login_form(api: &Api, status: u16, csrf: &str, set: bool, context: Value) -> ApiResponse {
    let context = merge(
        json!({"action": LOGIN_PATH, "csrf_token": csrf, "errors": {}}),
        context,
    );
    let response = page(api, status, "login.html", &context);
    if set {
        response.with_header("Set-Cookie", set_cookie(api, CSRF_COOKIE, csrf, 3600))
    } else {
        response
    }
}

/// `GET /o/login`: the sign-in form; a signed-in user sees who they are.
pub(crate) async fn login_get(c: Call<'_>) -> Outcome {
    let next = query_param(c.req, "next")
        .filter(|next| safe_next(next).is_some())
        .unwrap_or_default();
    let signed = signed_in(c.api, c.req).await?;
    // `prompt=login` sends a signed-in user here too, to sign in again.
    let context = match &signed {
        Some((session, user)) => {
            merge(session_context(c.api, session, user), json!({"next": next}))
        }
        None => json!({"next": next}),
    };
    let (csrf, set) = match cookie(c.req, CSRF_COOKIE).filter(|v| !v.is_empty()) {
        Some(value) => (value.to_string(), false),
        None => (new_csrf_value(), true),
    };
    // The form's token is the double-submit value, whoever is signed in.
    let context = merge(context, json!({"csrf_token": csrf}));
    Ok(login_form(c.api, 200, &csrf, set, context))
}

/// `POST /o/login`: signs in and redirects to `next` (a same-site path
/// only) with the session cookie; bad credentials show the form again
/// with the one message every login gives.
pub(crate) async fn login_post(c: Call<'_>) -> Outcome {
    let api = c.api;
    let fields = match form(c.req) {
        Ok(fields) => fields,
        Err(response) => return Ok(response),
    };
    let csrf_cookie = cookie(c.req, CSRF_COOKIE);
    if !double_submit_ok(csrf_cookie, field(&fields, "csrf_token")) {
        return Ok(csrf_refused(api));
    }
    let csrf = csrf_cookie.unwrap_or_default();
    let next = field(&fields, "next").and_then(safe_next).unwrap_or("");
    let login = field(&fields, "login").unwrap_or("").trim();
    let password = field(&fields, "password").unwrap_or("");
    let mut errors = serde_json::Map::new();
    if login.is_empty() {
        errors.insert("login".into(), json!("This field is required."));
    }
    if password.is_empty() {
        errors.insert("password".into(), json!("This field is required."));
    }
    let again = |errors: serde_json::Map<String, Value>| {
        login_form(
            api,
            400,
            csrf,
            false,
            json!({"next": next, "login": login, "errors": errors}),
        )
    };
    if !errors.is_empty() {
        return Ok(again(errors));
    }
    let credentials = if login.contains('@') {
        Credentials::email(login, password)
    } else {
        Credentials::username(login, password)
    };
    match api.auth().sign_in(&credentials, &c.req.client).await {
        Ok(signed) => {
            // Signing in again (`prompt=login`) replaces the session.
            if let Some(previous) = cookie(c.req, SESSION_COOKIE) {
                api.auth().sign_out(previous).await?;
            }
            let ttl = api.auth().config().oauth.session_ttl.num_seconds();
            let to = if next.is_empty() { AFTER_LOGIN } else { next };
            Ok(see_other(to).with_header(
                "Set-Cookie",
                set_cookie(api, SESSION_COOKIE, &signed.cookie_value, ttl),
            ))
        }
        Err(AuthError::InvalidCredentials(_)) => {
            errors.insert("non_field_errors".into(), json!(BAD_CREDENTIALS));
            Ok(again(errors))
        }
        Err(err) => Ok(failure_page(api, &err)),
    }
}

/// `POST /o/logout`: with the session's CSRF token, ends the session and
/// clears the cookie. Without a session there is nothing to end.
pub(crate) async fn logout(c: Call<'_>) -> Outcome {
    let api = c.api;
    let fields = match form(c.req) {
        Ok(fields) => fields,
        Err(response) => return Ok(response),
    };
    let clear = set_cookie(api, SESSION_COOKIE, "", 0);
    if let Some((session, _)) = signed_in(api, c.req).await? {
        if !api
            .auth()
            .check_session_csrf(&session, field(&fields, "csrf_token"))
        {
            return Ok(csrf_refused(api));
        }
        if let Some(value) = cookie(c.req, SESSION_COOKIE) {
            api.auth().sign_out(value).await?;
        }
    }
    Ok(page(
        api,
        200,
        "signed_out.html",
        &json!({"login_url": LOGIN_PATH}),
    )
    .with_header("Set-Cookie", clear))
}

/// The parameters of an authorization request (query or form), each at
/// most once; a repeated one is `Err` with its name.
fn params(raw: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(raw) {
        if fields.iter().any(|(seen, _)| *seen == name) {
            return Err(name.into_owned());
        }
        if !value.is_empty() {
            fields.push((name.into_owned(), value.into_owned()));
        }
    }
    Ok(fields)
}

fn authorization_request(fields: &[(String, String)]) -> AuthorizationRequest {
    let get = |name| field(fields, name).map(str::to_string);
    AuthorizationRequest {
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        response_type: get("response_type"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        nonce: get("nonce"),
        prompt: get("prompt"),
        max_age: get("max_age"),
    }
}

/// `uri` with `params` added to its query.
pub(crate) fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.finish())
}

/// The redirect back to the client with `params`, `state` and RFC 9207's
/// `iss`.
fn back_to_client(
    api: &Api,
    status: u16,
    redirect_uri: &str,
    state: Option<&str>,
    params: &[(&str, &str)],
) -> ApiResponse {
    let issuer = api.auth().config().oauth.issuer.clone();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = state {
        all.push(("state", state));
    }
    all.push(("iss", &issuer));
    ApiResponse::empty(status)
        .with_header("Location", with_query(redirect_uri, &all))
        .with_header("Cache-Control", "no-store")
}

/// The answer to a refused authorization request: the error page when the
/// client or redirect URI is wrong, else the redirect with `error`.
fn authorize_refused(api: &Api, status: u16, err: AuthorizeError) -> ApiResponse {
    match err {
        AuthorizeError::NoRedirect(message) => {
            error_page(api, 400, "Invalid authorization request", message)
        }
        AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => back_to_client(
            api,
            status,
            &redirect_uri,
            state.as_deref(),
            &[
                ("error", error.as_str()),
                ("error_description", description),
            ],
        ),
        AuthorizeError::Service(err) => failure_page(api, &err),
        _ => error_page(api, 500, "Something went wrong", "Try again later."),
    }
}

/// The parameters of an authorization request (a query or the consent
/// form), each at most once; a repeated one is answered with an error page.
fn read_params(api: &Api, raw: &[u8]) -> Result<Vec<(String, String)>, ApiResponse> {
    params(raw).map_err(|name| {
        error_page(
            api,
            400,
            "Invalid authorization request",
            &format!("The parameter {name} was sent more than once."),
        )
    })
}

/// `request` checked; a refusal is the answer to send (redirects with
/// `status`).
async fn validate(
    api: &Api,
    request: &AuthorizationRequest,
    status: u16,
) -> Result<ValidatedAuthorization, ApiResponse> {
    api.auth()
        .validate_authorization(request)
        .await
        .map_err(|err| authorize_refused(api, status, err))
}

/// Issues the code and sends the user back to the client with it.
async fn grant(
    api: &Api,
    status: u16,
    session: &BrowserSession,
    request: &ValidatedAuthorization,
) -> Outcome {
    let issued = api
        .auth()
        .issue_authorization_code(session.user_id, session.auth_time, request)
        .await?;
    Ok(back_to_client(
        api,
        status,
        &request.redirect_uri,
        request.state.as_deref(),
        &[("code", &issued.code)],
    ))
}

/// `GET /api/o/authorize`: checks the request, signs the user in
/// (`/o/login?next=...`), asks for consent when needed, and redirects back
/// with a code or an error.
pub(crate) async fn authorize_get(c: Call<'_>) -> Outcome {
    let api = c.api;
    let fields = match read_params(api, c.req.query.as_bytes()) {
        Ok(fields) => fields,
        Err(response) => return Ok(response),
    };
    let request = match validate(api, &authorization_request(&fields), 302).await {
        Ok(request) => request,
        Err(response) => return Ok(response),
    };
    let signed = signed_in(api, c.req).await?;
    let path = format!("{}{}", c.req.mount, c.req.path);
    // `next` repeats the request without `prompt` and `max_age`, so that
    // signing in (again, for `prompt=login` or an old sign-in) leads on to
    // consent, not to a loop.
    let without_prompt: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(name, _)| name != "prompt" && name != "max_age")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let signed =
        signed.filter(|(session, _)| !api.auth().sign_in_again(&request, session.auth_time));
    let Some((session, user)) = signed else {
        if request.prompt == Prompt::None {
            return Ok(authorize_refused(
                api,
                302,
                request.error(
                    AuthorizeErrorCode::LoginRequired,
                    "The user is not signed in, or signed in too long ago.",
                ),
            ));
        }
        let next = with_query(&path, &without_prompt);
        return Ok(see_other(&with_query(LOGIN_PATH, &[("next", &next)])));
    };
    if !api.auth().consent_needed(user.id, &request).await? {
        return grant(api, 302, &session, &request).await;
    }
    if request.prompt == Prompt::None {
        return Ok(authorize_refused(
            api,
            302,
            request.error(
                AuthorizeErrorCode::ConsentRequired,
                "The user has not consented.",
            ),
        ));
    }
    let descriptions = &api.auth().config().oauth.scopes;
    let scopes: Vec<Value> = request
        .scopes
        .iter()
        .map(|scope| json!({"name": scope, "description": descriptions.get(scope)}))
        .collect();
    let hidden: Vec<Value> = without_prompt
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let context = merge(
        session_context(api, &session, &user),
        json!({
            "application": request.application.name,
            "scopes": scopes,
            "fields": hidden,
            "action": path,
        }),
    );
    Ok(page(api, 200, "consent.html", &context))
}

/// The consent form that `POST /api/o/authorize` takes, as the consent
/// page's hidden fields and buttons send it: the session's CSRF token, the
/// decision, and the authorization request's parameters again.
// The handler reads the body into it, and its schema documents the body.
// A field sent empty counts as absent. No `Debug`: it holds the CSRF token.
#[derive(Default, utoipa::ToSchema)]
pub(crate) struct ConsentForm {
    /// The session's CSRF token, from the consent page.
    csrf_token: String,
    /// `allow` issues the code; anything else redirects with
    /// `access_denied`.
    decision: String,
    /// `code`.
    response_type: String,
    /// The client.
    client_id: String,
    /// One of the client's registered redirect URIs, exactly.
    redirect_uri: String,
    /// Space-separated scopes.
    scope: Option<String>,
    /// Echoed in the redirect.
    state: Option<String>,
    /// The PKCE challenge.
    code_challenge: Option<String>,
    /// `S256` (`plain` only when enabled).
    code_challenge_method: Option<String>,
    /// OpenID Connect: put in the ID token.
    nonce: Option<String>,
}

impl ConsentForm {
    /// The form from its fields (each sent at most once, none empty).
    fn read(fields: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (name, value) in fields {
            match name.as_str() {
                "csrf_token" => form.csrf_token = value,
                "decision" => form.decision = value,
                "response_type" => form.response_type = value,
                "client_id" => form.client_id = value,
                "redirect_uri" => form.redirect_uri = value,
                "scope" => form.scope = Some(value),
                "state" => form.state = Some(value),
                "code_challenge" => form.code_challenge = Some(value),
                "code_challenge_method" => form.code_challenge_method = Some(value),
                "nonce" => form.nonce = Some(value),
                _ => {}
            }
        }
        form
    }

    /// The authorization request the form repeats.
    fn authorization_request(&self) -> AuthorizationRequest {
        let given = |value: &str| (!value.is_empty()).then(|| value.to_string());
        AuthorizationRequest {
            client_id: given(&self.client_id),
            redirect_uri: given(&self.redirect_uri),
            response_type: given(&self.response_type),
            scope: self.scope.clone(),
            state: self.state.clone(),
            code_challenge: self.code_challenge.clone(),
            code_challenge_method: self.code_challenge_method.clone(),
            nonce: self.nonce.clone(),
            prompt: None,
            max_age: None,
        }
    }
}

/// `POST /api/o/authorize`: the consent form. With the session's CSRF
/// token, `decision=allow` issues the code, anything else redirects with
/// `access_denied`.
pub(crate) async fn authorize_post(c: Call<'_>) -> Outcome {
    let api = c.api;
    if let Err(response) = c.req.expect_media_type("application/x-www-form-urlencoded") {
        return Ok(response);
    }
    let form = match read_params(api, c.req.body) {
        Ok(fields) => ConsentForm::read(fields),
        Err(response) => return Ok(response),
    };
    let request = match validate(api, &form.authorization_request(), 303).await {
        Ok(request) => request,
        Err(response) => return Ok(response),
    };
    let Some((session, _)) = signed_in(api, c.req).await? else {
        return Ok(error_page(
            api,
            403,
            "Forbidden",
            "You are not signed in. Start again from the application.",
        ));
    };
    if !api
        .auth()
        .check_session_csrf(&session, Some(form.csrf_token.as_str()))
    {
        return Ok(csrf_refused(api));
    }
    if form.decision == "allow" {
        grant(api, 303, &session, &request).await
    } else {
        Ok(authorize_refused(
            api,
            303,
            request.error(
                AuthorizeErrorCode::AccessDenied,
                "The user denied the request.",
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use auth_core::config::AuthConfig;
    use auth_core::flows::AdminUserInput;
    use auth_core::password::{Argon2Params, Argon2idHasher};
    use auth_core::throttle::ThrottleConfig;
    use auth_core::{Auth, MemoryStore};

    use super::*;
    use crate::{ApiOptions, handle};

    const PASSWORD: &str = "correct-horse-battery-9";

    /// A service on `config`, with OpenID Connect on.
    async fn api(mut config: AuthConfig) -> Api {
        let key = auth_core::token::jwt::JwtKey::from_pem(
            auth_core::token::jwt::Algorithm::EdDSA,
            include_str!("../../auth-core/tests/keys/ed25519_private.pem"),
        )
        .unwrap();
        let keys = auth_core::token::jwt::KeySet::new(key).unwrap();
        config.oauth = config.oauth.with_id_token_keys(keys).unwrap();
        let auth = Auth::builder(config)
            .store(Arc::new(MemoryStore::new()))
            .hasher(Arc::new(
                Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
            ))
            .build()
            .unwrap();
        auth.create_user(
            AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD),
        )
        .await
        .unwrap();
        Api::with_options(auth, ApiOptions::default())
    }

    /// A browser: keeps the cookies the server sets.
    #[derive(Default)]
    struct Browser {
        cookies: Vec<(String, String)>,
    }

    impl Browser {
        async fn send(
            &mut self,
            api: &Api,
            method: &str,
            target: &str,
            form: &[(&str, &str)],
        ) -> ApiResponse {
            let body: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            let cookie: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            let cookie = cookie.join("; ");
            let mut headers = vec![("Cookie", cookie.as_str())];
            if method == "POST" {
                headers.push(("Content-Type", "application/x-www-form-urlencoded"));
            }
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let mut request =
                ApiRequest::from_parts(api, method, path, None, headers, body.as_bytes(), None);
            request.query = query;
            let response = handle(api, request).await;
            for (name, value) in &response.headers {
                if name.eq_ignore_ascii_case("set-cookie") {
                    let pair = value.split(';').next().unwrap();
                    let (n, v) = pair.split_once('=').unwrap();
                    self.cookies.retain(|(seen, _)| seen != n);
                    if !value.contains("Max-Age=0") {
                        self.cookies.push((n.to_string(), v.to_string()));
                    }
                }
            }
            response
        }

        fn cookie(&self, name: &str) -> Option<&str> {
            self.cookies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    fn html(response: &ApiResponse) -> String {
        String::from_utf8(response.body.clone()).unwrap()
    }

    /// The value of the hidden `csrf_token` field of the page's last form
    /// (the login form; the sign-out form comes first).
    fn csrf_of(page: &str) -> String {
        const FIELD: &str = r#"name="csrf_token" value=""#;
        let at = page.rfind(FIELD).expect("a CSRF field") + FIELD.len();
        page[at..].split('"').next().unwrap().to_string()
    }

    async fn log_in(browser: &mut Browser, api: &Api, login: &str, next: &str) -> ApiResponse {
        let form = browser.send(api, "GET", "/o/login", &[]).await;
        let csrf = csrf_of(&html(&form));
        browser
            .send(
                api,
                "POST",
                "/o/login",
                &[
                    ("csrf_token", &csrf),
                    ("login", login),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await
    }

    #[tokio::test]
    async fn login_sets_a_session_cookie_and_logout_ends_it() {
        let api = api(AuthConfig::default().with_throttle(ThrottleConfig::disabled())).await;
        let mut browser = Browser::default();
        let form = browser.send(&api, "GET", "/o/login", &[]).await;
        assert_eq!(form.status, 200);
        assert_eq!(
            form.header("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(form.header("X-Frame-Options"), Some("DENY"));
        let set = form.header("Set-Cookie").unwrap();
        assert!(
            set.starts_with("auth_csrf=")
                && set.contains("HttpOnly")
                && set.contains("SameSite=Lax")
        );
        let signed = log_in(
            &mut browser,
            &api,
            "ada@example.com",
            "/api/o/authorize?a=b",
        )
        .await;
        assert_eq!(signed.status, 303);
        assert_eq!(signed.header("Location"), Some("/api/o/authorize?a=b"));
        let set = signed.header("Set-Cookie").unwrap();
        for attribute in [
            "auth_session=",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=1209600",
        ] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(!set.contains("Secure"));
        let value = browser.cookie(SESSION_COOKIE).unwrap().to_string();
        assert!(api.auth().browser_session(&value).await.unwrap().is_some());

        let page = browser.send(&api, "GET", "/o/login", &[]).await;
        let page = html(&page);
        assert!(page.contains("Signed in as ada"), "{page}");
        let (session, _) = api.auth().browser_session(&value).await.unwrap().unwrap();
        let token = api.auth().session_csrf_token(&session);
        // Without the session's token: refused, still signed in.
        for bad in ["", "forged"] {
            let refused = browser
                .send(&api, "POST", "/o/logout", &[("csrf_token", bad)])
                .await;
            assert_eq!(refused.status, 403);
            assert!(api.auth().browser_session(&value).await.unwrap().is_some());
        }
        let out = browser
            .send(&api, "POST", "/o/logout", &[("csrf_token", &token)])
            .await;
        assert_eq!(out.status, 200);
        assert!(out.header("Set-Cookie").unwrap().contains("Max-Age=0"));
        assert!(api.auth().browser_session(&value).await.unwrap().is_none());
        assert!(browser.cookie(SESSION_COOKIE).is_none());
    }

    #[tokio::test]
    async fn login_refuses_without_csrf_and_never_redirects_off_site() {
        let api = api(AuthConfig::default().with_throttle(ThrottleConfig::disabled())).await;
        let mut browser = Browser::default();
        // No CSRF cookie and field: 403, no session.
        let fields = [("login", "ada"), ("password", PASSWORD)];
        let refused = browser.send(&api, "POST", "/o/login", &fields).await;
        assert_eq!(refused.status, 403);
        assert!(refused.header("Set-Cookie").is_none());
        browser.send(&api, "GET", "/o/login", &[]).await;
        let mut wrong = fields.to_vec();
        wrong.push(("csrf_token", "other"));
        assert_eq!(
            browser.send(&api, "POST", "/o/login", &wrong).await.status,
            403
        );
        for next in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
            let previous = browser.cookie(SESSION_COOKIE).map(str::to_string);
            let signed = log_in(&mut browser, &api, "ada", next).await;
            if let Some(previous) = previous {
                // The new sign-in replaced the session.
                assert!(
                    api.auth()
                        .browser_session(&previous)
                        .await
                        .unwrap()
                        .is_none()
                );
            }
            assert_eq!(signed.status, 303);
            assert_eq!(signed.header("Location"), Some(AFTER_LOGIN), "{next}");
        }
    }

    #[tokio::test]
    async fn bad_credentials_show_the_form_again_with_one_message() {
        let api = api(AuthConfig::default().with_throttle(ThrottleConfig::disabled())).await;
        let mut browser = Browser::default();
        let form = browser.send(&api, "GET", "/o/login", &[]).await;
        let csrf = csrf_of(&html(&form));
        let mut bodies = Vec::new();
        for (login, password) in [("ada", "wrong-password-1"), ("nobody", PASSWORD)] {
            let again = browser
                .send(
                    &api,
                    "POST",
                    "/o/login",
                    &[
                        ("csrf_token", &csrf),
                        ("login", login),
                        ("password", password),
                    ],
                )
                .await;
            assert_eq!(again.status, 400);
            assert!(again.header("Set-Cookie").is_none());
            let page = html(&again);
            assert!(page.contains(BAD_CREDENTIALS));
            bodies.push(page.replace(login, ""));
        }
        assert_eq!(bodies[0], bodies[1]);
        let missing = browser
            .send(
                &api,
                "POST",
                "/o/login",
                &[("csrf_token", &csrf), ("login", "ada")],
            )
            .await;
        assert_eq!(missing.status, 400);
        assert!(
            html(&missing).contains(r#"<span id="password-error">This field is required.</span>"#)
        );
    }

    const REDIRECT: &str = "https://client.example/cb";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    async fn public_client(api: &Api) -> auth_core::oauth::Application {
        use auth_core::oauth::{Application, ClientType, GrantType};
        let app = Application::register(
            "Photo <Printer>",
            ClientType::Public,
            [GrantType::AuthorizationCode],
            vec![REDIRECT.into()],
            None,
            api.auth().now(),
        );
        api.auth()
            .stores()
            .oauth_applications
            .insert_application(&app)
            .await
            .unwrap();
        app
    }

    fn authorize_url(client_id: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("state", "st&te"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        pairs.extend_from_slice(extra);
        with_query("/api/o/authorize", &pairs)
    }

    /// The query parameters of a redirect's `Location`.
    fn location_params(response: &ApiResponse) -> Vec<(String, String)> {
        let location = response.header("Location").expect("a Location");
        let (base, query) = location.split_once('?').unwrap();
        assert_eq!(base, REDIRECT);
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The hidden fields of the consent form, and its CSRF token.
    fn consent_fields(page: &str) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        let form = &page[page.rfind("<form").unwrap()..];
        for input in form.split("<input type=\"hidden\" ").skip(1) {
            let name = input
                .split("name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = input
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = value
                .replace("&amp;", "&")
                .replace("&#x2f;", "/")
                .replace("&quot;", "\"");
            fields.push((name.to_string(), value));
        }
        fields
    }

    async fn post_consent(
        browser: &mut Browser,
        api: &Api,
        fields: &[(String, String)],
        decision: &str,
    ) -> ApiResponse {
        let mut form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        form.push(("decision", decision));
        browser.send(api, "POST", "/api/o/authorize", &form).await
    }

    #[tokio::test]
    async fn the_code_flow_through_login_and_consent_ends_in_tokens() {
        let api = api(AuthConfig::default().with_throttle(ThrottleConfig::disabled())).await;
        let app = public_client(&api).await;
        let mut browser = Browser::default();
        let url = authorize_url(&app.client_id, &[("nonce", "n-1")]);
        let to_login = browser.send(&api, "GET", &url, &[]).await;
        assert_eq!(to_login.status, 303);
        let location = to_login.header("Location").unwrap().to_string();
        assert!(location.starts_with("/o/login?next="), "{location}");
        let next: String = form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
            .find(|(n, _)| n == "next")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(next, url);
        let signed = log_in(&mut browser, &api, "ada", &next).await;
        assert_eq!(signed.header("Location"), Some(url.as_str()));

        let consent = browser.send(&api, "GET", &url, &[]).await;
        assert_eq!(consent.status, 200);
        let page = html(&consent);
        assert!(page.contains("Photo &lt;Printer&gt;"));
        assert!(page.contains("See your email address"));
        let fields = consent_fields(&page);
        assert_eq!(param(&fields, "state"), Some("st&te"));

        // Without the CSRF token, or with another: 403 and no redirect.
        let no_csrf: Vec<(String, String)> = fields
            .iter()
            .filter(|(n, _)| n != "csrf_token")
            .cloned()
            .collect();
        for form in [
            no_csrf.clone(),
            [
                no_csrf.clone(),
                vec![("csrf_token".into(), "forged".into())],
            ]
            .concat(),
        ] {
            let refused = post_consent(&mut browser, &api, &form, "allow").await;
            assert_eq!(refused.status, 403);
            assert!(refused.header("Location").is_none());
        }

        let allowed = post_consent(&mut browser, &api, &fields, "allow").await;
        assert_eq!(allowed.status, 303);
        let back = location_params(&allowed);
        assert_eq!(param(&back, "state"), Some("st&te"));
        assert_eq!(
            param(&back, "iss"),
            Some(api.auth().config().oauth.issuer.as_str())
        );
        let code = param(&back, "code").unwrap().to_string();

        let exchange = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", app.client_id.as_str()),
        ];
        let tokens = browser.send(&api, "POST", "/api/o/token", &exchange).await;
        assert_eq!(tokens.status, 200, "{}", html(&tokens));
        assert_eq!(tokens.json_body()["scope"], "email openid");
        let again = browser.send(&api, "POST", "/api/o/token", &exchange).await;
        assert_eq!(again.status, 400);

        // Remembered consent: straight back with a new code.
        let remembered = browser.send(&api, "GET", &url, &[]).await;
        assert_eq!(remembered.status, 302);
        assert!(param(&location_params(&remembered), "code").is_some());
        // prompt=consent shows the page anyway; deny is access_denied.
        let forced = browser
            .send(
                &api,
                "GET",
                &authorize_url(&app.client_id, &[("prompt", "consent")]),
                &[],
            )
            .await;
        assert_eq!(forced.status, 200);
        let denied =
            post_consent(&mut browser, &api, &consent_fields(&html(&forced)), "deny").await;
        assert_eq!(denied.status, 303);
        let back = location_params(&denied);
        assert_eq!(param(&back, "error"), Some("access_denied"));
        assert!(param(&back, "code").is_none());
        // prompt=login sends a signed-in user to sign in again.
        let relogin = browser
            .send(
                &api,
                "GET",
                &authorize_url(&app.client_id, &[("prompt", "login")]),
                &[],
            )
            .await;
        assert_eq!(relogin.status, 303);
        assert!(
            relogin
                .header("Location")
                .unwrap()
                .starts_with("/o/login?next=")
        );
        assert!(!relogin.header("Location").unwrap().contains("prompt"));
    }

    #[tokio::test]
    async fn authorize_errors_never_redirect_to_an_unchecked_uri() {
        let api = api(AuthConfig::default().with_throttle(ThrottleConfig::disabled())).await;
        let app = public_client(&api).await;
        let mut browser = Browser::default();
        for url in [
            authorize_url("unknown", &[]),
            authorize_url(&app.client_id, &[]).replace("%2Fcb", "%2Fcc"),
            authorize_url(&app.client_id, &[]).replace("%2Fcb", "%2Fcb%2F"),
            format!("{}&state=again", authorize_url(&app.client_id, &[])),
        ] {
            let page = browser.send(&api, "GET", &url, &[]).await;
            assert_eq!(page.status, 400, "{url}");
            assert!(page.header("Location").is_none(), "{url}");
            assert_eq!(
                page.header("Content-Type"),
                Some("text/html; charset=utf-8")
            );
        }
        // Other errors go back to the client with state and iss.
        for (extra, error) in [
            (("response_type", "token"), "unsupported_response_type"),
            (("scope", "admin"), "invalid_scope"),
            (("code_challenge_method", "plain"), "invalid_request"),
            (("prompt", "none"), "login_required"),
        ] {
            let url = authorize_url(&app.client_id, &[])
                .replace(&with_query("", &[(extra.0, "")])[1..], "dropped=");
            let url = with_query(&url, &[extra]);
            let back = browser.send(&api, "GET", &url, &[]).await;
            assert_eq!(back.status, 302, "{url}");
            let params = location_params(&back);
            assert_eq!(param(&params, "error"), Some(error), "{url}");
            assert_eq!(param(&params, "state"), Some("st&te"));
            assert!(param(&params, "iss").is_some());
        }
        // Signed in without consent, prompt=none: consent_required.
        log_in(&mut browser, &api, "ada", "").await;
        let back = browser
            .send(
                &api,
                "GET",
                &authorize_url(&app.client_id, &[("prompt", "none")]),
                &[],
            )
            .await;
        assert_eq!(
            param(&location_params(&back), "error"),
            Some("consent_required")
        );
    }

    #[tokio::test]
    async fn secure_cookies_when_configured() {
        let mut config = AuthConfig::default().with_throttle(ThrottleConfig::disabled());
        config.oauth = config.oauth.with_secure_cookies(true);
        let api = api(config).await;
        let mut browser = Browser::default();
        let form = browser.send(&api, "GET", "/o/login", &[]).await;
        assert_eq!(form.status, 200, "{form:?} {}", html(&form));
        assert!(form.header("Set-Cookie").unwrap().ends_with("; Secure"));
        let signed = log_in(&mut browser, &api, "ada", "").await;
        assert!(signed.header("Set-Cookie").unwrap().ends_with("; Secure"));
    }

    #[test]
    fn next_is_only_a_same_site_path() {
        for good in [
            "/",
            "/api/o/authorize?client_id=a&state=b",
            "/o/applications",
        ] {
            assert_eq!(safe_next(good), Some(good));
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\nLocation: x",
            "/\t/evil.example",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
