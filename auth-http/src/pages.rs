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

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// The templates shipped with the library, by name: `base.html` (the
/// layout the others extend), `login.html`, `consent.html`, `error.html`,
/// `signed_out.html`, and the application pages: `applications.html` (the
/// list), `application_new.html` (registration), `application.html` (view
/// and edit), `_application_fields.html` (the fields both forms include),
/// `application_secret.html` (a new secret, shown once) and
/// `authorized.html` (the grants, with revoke buttons).
pub const TEMPLATE_NAMES: &[&str] = &[
    "base.html",
    "login.html",
    "consent.html",
    "error.html",
    "signed_out.html",
    "applications.html",
    "application_new.html",
    "application.html",
    "_application_fields.html",
    "application_secret.html",
    "authorized.html",
];

fn embedded(name: &str) -> Option<&'static str> {
    Some(match name {
        "base.html" => include_str!("../templates/base.html"),
        "login.html" => include_str!("../templates/login.html"),
        "consent.html" => include_str!("../templates/consent.html"),
        "error.html" => include_str!("../templates/error.html"),
        "signed_out.html" => include_str!("../templates/signed_out.html"),
        "applications.html" => include_str!("../templates/applications.html"),
        "application_new.html" => include_str!("../templates/application_new.html"),
        "application.html" => include_str!("../templates/application.html"),
        "_application_fields.html" => include_str!("../templates/_application_fields.html"),
        "application_secret.html" => include_str!("../templates/application_secret.html"),
        "authorized.html" => include_str!("../templates/authorized.html"),
        _ => return None,
    })
}

/// A template [`Pages::with_template`] refused, or a page that could not
/// be rendered.
#[derive(Debug)]
pub struct PageError {
    template: String,
    source: minijinja::Error,
}

impl PageError {
    fn new(template: &str, source: minijinja::Error) -> Self {
        Self {
            template: template.to_string(),
            source,
        }
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page template {:?}: {}", self.template, self.source)
    }
}

impl std::error::Error for PageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
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
#[derive(Clone)]
pub struct Pages {
    overrides: Arc<BTreeMap<String, String>>,
    env: Arc<Environment<'static>>,
}

impl Pages {
    fn build(overrides: &BTreeMap<String, String>) -> Result<Environment<'static>, PageError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        // A page rendered without, say, `errors` shows no error rather
        // than failing.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        for name in TEMPLATE_NAMES {
            if !overrides.contains_key(*name) {
                let source = embedded(name).unwrap_or_default();
                env.add_template(name, source)
                    .map_err(|err| PageError::new(name, err))?;
            }
        }
        for (name, source) in overrides {
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|err| PageError::new(name, err))?;
        }
        Ok(env)
    }

    /// These pages with the template `name` replaced by `source` (or added,
    /// for a template an overridden one includes or extends). Fails when
    /// the source does not parse.
    pub fn with_template(
        self,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<Self, PageError> {
        let mut overrides = (*self.overrides).clone();
        overrides.insert(name.into(), source.into());
        let env = Self::build(&overrides)?;
        Ok(Self {
            overrides: Arc::new(overrides),
            env: Arc::new(env),
        })
    }

    /// Renders the template `name` with `context` (HTML-escaped).
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, PageError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|err| PageError::new(name, err))?;
        template
            .render(minijinja::value::Serde(context))
            .map_err(|err| PageError::new(name, err))
    }
}

impl Default for Pages {
    fn default() -> Self {
        let overrides = BTreeMap::new();
        let env = Self::build(&overrides).expect("the embedded templates parse");
        Self {
            overrides: Arc::new(overrides),
            env: Arc::new(env),
        }
    }
}

impl fmt::Debug for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field("overridden", &self.overrides.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for Pages {
    fn eq(&self, other: &Self) -> bool {
        self.overrides == other.overrides
    }
}

impl Eq for Pages {}

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
