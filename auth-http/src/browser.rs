//! The handlers of the browser pages (`/o/login`, `/o/logout`): HTML
//! rendered from [`Pages`](crate::Pages), the session cookie, and the CSRF
//! checks of every form. The rules (credentials, throttling, sessions,
//! CSRF tokens) are `Auth`'s; this module reads forms and cookies and
//! writes HTML and `Set-Cookie`.

use auth_core::error::AuthError;
use auth_core::flows::Credentials;
use auth_core::oauth::{BrowserSession, double_submit_ok, new_csrf_value};
use auth_core::user::User;
use serde_json::{Value, json};

use crate::endpoint::{Call, Outcome};
use crate::{Api, ApiRequest, ApiResponse};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "auth_session";
/// The double-submit CSRF cookie of the forms shown before sign-in.
pub(crate) const CSRF_COOKIE: &str = "auth_csrf";
/// Where a sign-in without a (safe) `next` lands.
const AFTER_LOGIN: &str = "/o/login";
const LOGIN_PATH: &str = "/o/login";
const LOGOUT_PATH: &str = "/o/logout";
const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(req: &ApiRequest<'a>, name: &str) -> Option<&'a str> {
    req.header_values("cookie")
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
/// when configured; `max_age` `0` deletes the cookie.
fn set_cookie(api: &Api, name: &str, value: &str, max_age: i64) -> String {
    let secure = if api.auth().config().oauth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
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

fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
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

/// The page for a service error: its status from the error table, a
/// generic message (429 keeps its `Retry-After`).
fn failure_page(api: &Api, err: &AuthError) -> ApiResponse {
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

fn merge(mut base: Value, more: Value) -> Value {
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
        return Ok(error_page(
            api,
            403,
            "Forbidden",
            "The form expired or did not come from this site. Go back, reload the page and try again.",
        ));
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
            return Ok(error_page(
                api,
                403,
                "Forbidden",
                "The form expired or did not come from this site. Go back, reload the page and try again.",
            ));
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

    async fn api(config: AuthConfig) -> Api {
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
            let signed = log_in(&mut browser, &api, "ada", next).await;
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
