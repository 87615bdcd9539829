//! [`Pages`]: the templates of the OAuth2 provider's browser pages (login,
//! consent, errors, applications), rendered with minijinja. The templates are embedded
//! in the binary; an app replaces any of them by name with its own text
//! ([`Pages::with_template`]) and passes the result to
//! [`ApiOptions::with_pages`](crate::ApiOptions::with_pages).
//!
//! Every value is HTML-escaped unless a template says otherwise. The
//! default templates are plain HTML with no JavaScript: a `<main>`, a
//! label on every input, each error next to its field, and a CSRF token
//! in every form.

use std::fmt;

use auth_core::templates::{TemplateError, TemplateSet, TemplateSpec};
use serde::Serialize;

/// The templates shipped with the library, by name: `base.html` (the
/// layout the others extend), `login.html`, `consent.html`, `error.html`,
/// `signed_out.html`, and the application pages: `applications.html` (the
/// list), `application_new.html` (registration), `application.html` (view
/// and edit), `_application_fields.html` (the fields both forms include),
/// `application_secret.html` (a new secret, shown once) and
/// `authorized.html` (the grants, with revoke buttons).
pub const TEMPLATE_NAMES: &[&str] = &names(&EMBEDDED);

/// The embedded templates, by name and source.
const EMBEDDED: [(&str, &str); 11] = [
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("consent.html", include_str!("../templates/consent.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "signed_out.html",
        include_str!("../templates/signed_out.html"),
    ),
    (
        "applications.html",
        include_str!("../templates/applications.html"),
    ),
    (
        "application_new.html",
        include_str!("../templates/application_new.html"),
    ),
    (
        "application.html",
        include_str!("../templates/application.html"),
    ),
    (
        "_application_fields.html",
        include_str!("../templates/_application_fields.html"),
    ),
    (
        "application_secret.html",
        include_str!("../templates/application_secret.html"),
    ),
    (
        "authorized.html",
        include_str!("../templates/authorized.html"),
    ),
];

/// The names of `templates`, in order.
const fn names<const N: usize>(templates: &[(&'static str, &str); N]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = templates[i].0;
        i += 1;
    }
    names
}

/// The pages: every value HTML-escaped; an app may add templates that
/// the ones it replaces include or extend.
static SPEC: TemplateSpec = TemplateSpec::new("page template", &EMBEDDED);

/// A template [`Pages::with_template`] refused, or a page that could not
/// be rendered.
#[derive(Debug)]
pub struct PageError(TemplateError);

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for PageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// The browser pages' templates: the embedded ones, with any an app
/// replaced. Cheap to clone.
///
/// ```
/// use auth_http::Pages;
/// let pages = Pages::default()
///     .with_template("error.html", "<main><h1>Oops</h1><p>{{ message }}</p></main>")?;
/// let html = pages.render("error.html", &serde_json::json!({"message": "<b>no</b>"}))?;
/// assert_eq!(html, "<main><h1>Oops</h1><p>&lt;b&gt;no&lt;&#x2f;b&gt;</p></main>");
/// assert!(Pages::default().with_template("error.html", "{% if %}").is_err());
/// # Ok::<(), auth_http::PageError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Pages(TemplateSet);

impl Pages {
    /// These pages with the template `name` replaced by `source` (or added,
    /// for a template an overridden one includes or extends). Fails when
    /// the source does not parse.
    pub fn with_template(
        self,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<Self, PageError> {
        self.0
            .with_template(name, source)
            .map(Self)
            .map_err(PageError)
    }

    /// Renders the template `name` with `context` (HTML-escaped).
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, PageError> {
        self.0.render(name, context).map_err(PageError)
    }
}

impl Default for Pages {
    fn default() -> Self {
        Self(TemplateSet::new(&SPEC).expect("the embedded templates parse"))
    }
}

impl fmt::Debug for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field("overridden", &self.0.overridden())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn login(errors: serde_json::Value) -> String {
        Pages::default()
            .render(
                "login.html",
                &json!({
                    "site_name": "Example",
                    "action": "/o/login",
                    "csrf_token": "tok\"en",
                    "next": "/api/o/authorize?client_id=a&state=<x>",
                    "login": "ada",
                    "errors": errors,
                }),
            )
            .unwrap()
    }

    #[test]
    fn every_embedded_template_renders_plain_accessible_html() {
        let pages = Pages::default();
        for name in TEMPLATE_NAMES {
            let html = pages.render(name, &json!({})).unwrap();
            assert!(!html.contains("<script"), "{name}");
            // The layout and the included fragments (`_name.html`) are
            // not pages.
            if *name != "base.html" && !name.starts_with('_') {
                assert!(
                    html.contains("<main>") && html.contains("</main>"),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn the_login_form_has_labels_csrf_and_escapes_values() {
        let html = login(json!({}));
        for id in ["login", "password"] {
            assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains(r#"name="csrf_token" value="tok&quot;en""#));
        assert!(html.contains("state=&lt;x&gt;"));
        assert!(!html.contains("role=\"alert\""));
        assert!(html.contains("method=\"post\""));
    }

    #[test]
    fn errors_are_shown_next_to_their_field() {
        let html = login(json!({
            "non_field_errors": "Unable to log in with provided credentials.",
            "password": "This field is required."
        }));
        assert!(html.contains("Unable to log in with provided credentials."));
        let field = html.find("id=\"password\"").unwrap();
        let error = html.find("<span id=\"password-error\">").unwrap();
        assert!(error > field && error - field < 300);
        assert!(html.contains("aria-describedby=\"password-error\""));
        assert!(!html.contains("login-error"));
    }

    #[test]
    fn consent_lists_the_scopes_and_carries_the_request() {
        let html = Pages::default()
            .render(
                "consent.html",
                &json!({
                    "application": "Photo <Printer>",
                    "scopes": [{"name": "email", "description": "See your email address"}],
                    "csrf_token": "t",
                    "action": "/api/o/authorize",
                    "fields": [{"name": "client_id", "value": "abc"}],
                }),
            )
            .unwrap();
        assert!(html.contains("Photo &lt;Printer&gt;"));
        assert!(html.contains("See your email address"));
        assert!(html.contains(r#"name="client_id" value="abc""#));
        assert!(html.contains(r#"name="decision" value="allow""#));
        assert!(html.contains(r#"name="decision" value="deny""#));
    }

    #[test]
    fn an_app_overrides_a_template_by_name_and_keeps_the_others() {
        let pages = Pages::default()
            .with_template(
                "base.html",
                "<main class=app>{% block content %}{% endblock %}</main>",
            )
            .unwrap();
        let html = pages
            .render("error.html", &json!({"title": "T", "message": "M"}))
            .unwrap();
        assert!(html.starts_with("<main class=app>") && html.contains("<h1>T</h1>"));
        assert_ne!(pages, Pages::default());
        assert_eq!(pages.clone(), pages);
        let broken = Pages::default().with_template("login.html", "{% block %}");
        let err = broken.unwrap_err().to_string();
        assert!(err.contains("login.html"), "{err}");
        assert!(Pages::default().render("missing.html", &json!({})).is_err());
    }
}
