//! [`EmailTemplates`]: the subject, text and HTML templates of the account
//! emails, rendered with minijinja.

use std::fmt;

use serde::Serialize;

use super::EmailKind;
use crate::templates::{Escape, TemplateError, TemplateSet, TemplateSpec};

/// The embedded templates by name. For each kind (`activation`,
/// `password_reset`, `password_changed`): `<kind>_subject.txt`,
/// `<kind>.txt` and `<kind>.html`; and `base.html`, the layout the HTML
/// parts extend.
const EMBEDDED: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/email/base.html")),
    (
        "activation_subject.txt",
        include_str!("../../templates/email/activation_subject.txt"),
    ),
    (
        "activation.txt",
        include_str!("../../templates/email/activation.txt"),
    ),
    (
        "activation.html",
        include_str!("../../templates/email/activation.html"),
    ),
    (
        "password_reset_subject.txt",
        include_str!("../../templates/email/password_reset_subject.txt"),
    ),
    (
        "password_reset.txt",
        include_str!("../../templates/email/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("../../templates/email/password_reset.html"),
    ),
    (
        "password_changed_subject.txt",
        include_str!("../../templates/email/password_changed_subject.txt"),
    ),
    (
        "password_changed.txt",
        include_str!("../../templates/email/password_changed.txt"),
    ),
    (
        "password_changed.html",
        include_str!("../../templates/email/password_changed.html"),
    ),
];

/// The email templates: escaped by extension (`.html` only), the embedded
/// names only.
static SPEC: TemplateSpec = TemplateSpec::new("email template", EMBEDDED)
    .escape(Escape::ByExtension)
    .embedded_names_only("not an email template name (see EmailTemplates::names)");

/// A template [`EmailTemplates::with_template`] refused, or an email that
/// could not be rendered.
#[derive(Debug)]
pub struct EmailTemplateError(TemplateError);

impl fmt::Display for EmailTemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for EmailTemplateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// What an email template sees.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EmailContext<'a> {
    pub(crate) site_name: &'a str,
    pub(crate) username: &'a str,
    pub(crate) first_name: &'a str,
    pub(crate) email: &'a str,
    /// The single-use link, for activation and reset.
    pub(crate) link: Option<&'a str>,
    /// The link's lifetime in whole hours and minutes (at least 1).
    pub(crate) expires_hours: i64,
    pub(crate) expires_minutes: i64,
}

/// One rendered email: subject, text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) html: String,
}

/// The account emails' templates: the embedded ones, with any an app
/// replaced. Every email has a subject (`<kind>_subject.txt`, one line),
/// a plain-text part (`<kind>.txt`) and an HTML part (`<kind>.html`,
/// which extends `base.html`), for the kinds `activation`,
/// `password_reset` and `password_changed`. Values are HTML-escaped in
/// the `.html` templates only. A template sees `site_name`, `username`,
/// `first_name`, `email`, `link` (none for `password_changed`),
/// `expires_hours` and `expires_minutes`. Cheap to clone; set on the
/// service with
/// [`AuthBuilder::email_templates`](crate::AuthBuilder::email_templates).
///
/// ```
/// use auth_core::mail::EmailTemplates;
/// let templates = EmailTemplates::default()
///     .with_template("activation_subject.txt", "Welcome to {{ site_name }}")?;
/// assert!(EmailTemplates::default().with_template("activation.txt", "{% if %}").is_err());
/// assert!(EmailTemplates::default().with_template("activation.md", "x").is_err());
/// # let _ = templates;
/// # Ok::<(), auth_core::mail::EmailTemplateError>(())
/// ```
#[derive(Clone)]
pub struct EmailTemplates(TemplateSet);

impl EmailTemplates {
    /// The names of the templates, each of which an app may replace.
    pub fn names() -> impl Iterator<Item = &'static str> {
        SPEC.names()
    }

    /// These templates with `name` (one of [`names`](Self::names))
    /// replaced by `source`. Fails on an unknown name or a source that
    /// does not parse.
    pub fn with_template(
        self,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<Self, EmailTemplateError> {
        self.0
            .with_template(name, source)
            .map(Self)
            .map_err(EmailTemplateError)
    }

    /// Renders the three parts of the email `kind`.
    pub(crate) fn render(
        &self,
        kind: EmailKind,
        context: &EmailContext<'_>,
    ) -> Result<Rendered, EmailTemplateError> {
        let part = |suffix: &str| {
            self.0
                .render(&format!("{}{suffix}", kind.as_str()), context)
                .map_err(EmailTemplateError)
        };
        let subject = part("_subject.txt")?;
        Ok(Rendered {
            // One line: a template's trailing newline or a stray line
            // break must not reach the header.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: part(".txt")?,
            html: part(".html")?,
        })
    }
}

impl Default for EmailTemplates {
    fn default() -> Self {
        Self(TemplateSet::new(&SPEC).expect("the embedded email templates parse"))
    }
}

impl fmt::Debug for EmailTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailTemplates")
            .field("overridden", &self.0.overridden())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(link: Option<&str>) -> EmailContext<'_> {
        EmailContext {
            site_name: "Example <Site>",
            username: "ada&bob",
            first_name: "Ada",
            email: "ada@example.com",
            link,
            expires_hours: 72,
            expires_minutes: 60,
        }
    }

    #[test]
    fn every_kind_renders_a_one_line_subject_text_and_escaped_html() {
        let templates = EmailTemplates::default();
        let link = "https://app.example.com/activate/MQ/abc?x=1&y=2";
        for kind in [
            EmailKind::Activation,
            EmailKind::PasswordReset,
            EmailKind::PasswordChanged,
        ] {
            let with_link = (kind != EmailKind::PasswordChanged).then_some(link);
            let rendered = templates.render(kind, &context(with_link)).unwrap();
            assert!(!rendered.subject.contains('\n'), "{kind:?}");
            assert!(rendered.subject.contains("Example <Site>"), "{kind:?}");
            assert!(rendered.text.contains("Hello ada&bob,"), "{kind:?}");
            assert!(rendered.html.contains("Hello ada&amp;bob,"), "{kind:?}");
            assert!(rendered.html.contains("<!DOCTYPE html>"), "{kind:?}");
            assert!(!rendered.html.contains("<script"), "{kind:?}");
            if let Some(link) = with_link {
                assert!(rendered.text.contains(link), "{kind:?}");
                assert!(
                    rendered
                        .html
                        .contains("href=\"https:&#x2f;&#x2f;app.example.com&#x2f;activate&#x2f;MQ&#x2f;abc?x=1&amp;y=2\""),
                    "{kind:?}: {}",
                    rendered.html
                );
            }
        }
    }

    #[test]
    fn an_override_replaces_one_template_and_keeps_the_others() {
        let templates = EmailTemplates::default()
            .with_template("activation.txt", "Hi {{ username }}: {{ link }}")
            .unwrap();
        let rendered = templates
            .render(EmailKind::Activation, &context(Some("https://x.example/a")))
            .unwrap();
        assert_eq!(rendered.text, "Hi ada&bob: https://x.example/a");
        assert!(rendered.html.contains("Activate my account"));
    }

    #[test]
    fn bad_templates_are_refused_when_set() {
        let err = EmailTemplates::default()
            .with_template("password_reset.html", "{% block %}")
            .unwrap_err();
        assert!(err.to_string().contains("password_reset.html"), "{err}");
        assert!(
            EmailTemplates::default()
                .with_template("welcome.txt", "x")
                .is_err()
        );
    }
}
