//! [`TemplateSet`]: a set of minijinja templates embedded in the binary,
//! any of which an app may replace by name. The account emails
//! ([`EmailTemplates`](crate::mail::EmailTemplates)) and auth-http's
//! browser pages are both one.
//!
//! What a set is, is stated once in its [`TemplateSpec`]: the embedded
//! templates, how values are escaped, whether an app may add templates
//! of its own, and what a template is called in errors. Every set
//! renders an undefined value as nothing (a page rendered without, say,
//! `errors` shows no error rather than failing), and checks a
//! replacement when it is set, not when it is first rendered.
//!
//! ```
//! use auth_core::templates::{Escape, TemplateSet, TemplateSpec};
//! use serde_json::json;
//!
//! static NOTES: TemplateSpec =
//!     TemplateSpec::new("note template", &[("note.txt", "Dear {{ name }},")])
//!         .escape(Escape::ByExtension);
//! let notes = TemplateSet::new(&NOTES)?;
//! assert_eq!(notes.render("note.txt", &json!({"name": "<Ada>"}))?, "Dear <Ada>,");
//! let notes = notes.with_template("note.txt", "Hi {{ name }}")?;
//! assert_eq!(notes.render("note.txt", &json!({"name": "Ada"}))?, "Hi Ada");
//! assert!(notes.with_template("note.txt", "{% if %}").is_err());
//! # Ok::<(), auth_core::templates::TemplateError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

/// How a [`TemplateSet`] escapes the values its templates print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Escape {
    /// Every template escapes for HTML.
    Html,
    /// Templates whose name ends in `.html` escape for HTML; the others
    /// (plain text) print values as they are.
    ByExtension,
}

impl Escape {
    fn for_name(self, name: &str) -> AutoEscape {
        match self {
            Escape::Html => AutoEscape::Html,
            Escape::ByExtension if name.ends_with(".html") => AutoEscape::Html,
            Escape::ByExtension => AutoEscape::None,
        }
    }
}

/// What a [`TemplateSet`] is: its embedded templates, its escaping, the
/// names an app may set and what a template is called in errors. Built in
/// a `static` with [`new`](Self::new) and the `const` methods after it.
#[derive(Debug)]
pub struct TemplateSpec {
    what: &'static str,
    embedded: &'static [(&'static str, &'static str)],
    escape: Escape,
    /// `None`: an app may add templates besides the embedded ones (that
    /// a replaced one includes or extends). `Some(why)`: only the
    /// embedded names may be set; others are refused with `why`.
    unknown_name: Option<&'static str>,
}

impl TemplateSpec {
    /// The templates `embedded` (name and source), escaped for HTML,
    /// where an app may add templates of its own. `what` names a template
    /// in errors ("page template" gives `page template "login.html": ...`).
    pub const fn new(
        what: &'static str,
        embedded: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            what,
            embedded,
            escape: Escape::Html,
            unknown_name: None,
        }
    }

    /// This spec escaping values as `escape` says.
    pub const fn escape(self, escape: Escape) -> Self {
        Self { escape, ..self }
    }

    /// This spec allowing only the embedded names to be set; any other
    /// is refused with an error that says `why`.
    pub const fn embedded_names_only(self, why: &'static str) -> Self {
        Self {
            unknown_name: Some(why),
            ..self
        }
    }
}

/// A template a [`TemplateSet`] refused, or one it could not render: the
/// template's name and minijinja's error (its [`source`]).
///
/// [`source`]: std::error::Error::source
#[derive(Debug)]
pub struct TemplateError {
    what: &'static str,
    template: String,
    source: minijinja::Error,
}

impl TemplateError {
    /// The name of the template at fault.
    pub fn template(&self) -> &str {
        &self.template
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.what, self.template, self.source)
    }
}

impl std::error::Error for TemplateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The templates of a [`TemplateSpec`], with any an app replaced (or
/// added, where the spec allows). Cheap to clone; two sets are equal when
/// they have the same spec and the same replacements.
#[derive(Clone)]
pub struct TemplateSet {
    spec: &'static TemplateSpec,
    overrides: Arc<BTreeMap<String, String>>,
    env: Arc<Environment<'static>>,
}

impl TemplateSet {
    /// The embedded templates of `spec`. Fails when one does not parse.
    pub fn new(spec: &'static TemplateSpec) -> Result<Self, TemplateError> {
        Self::build(spec, BTreeMap::new())
    }

    fn build(
        spec: &'static TemplateSpec,
        overrides: BTreeMap<String, String>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        let escape = spec.escape;
        env.set_auto_escape_callback(move |name| escape.for_name(name));
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        for (name, source) in spec.embedded {
            if !overrides.contains_key(*name) {
                env.add_template(name, source)
                    .map_err(|source| spec.error(name, source))?;
            }
        }
        for (name, source) in &overrides {
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|source| spec.error(name, source))?;
        }
        Ok(Self {
            spec,
            overrides: Arc::new(overrides),
            env: Arc::new(env),
        })
    }

    /// The names of the embedded templates.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.spec.names()
    }

    /// The names of the templates an app replaced or added.
    pub fn overridden(&self) -> Vec<&str> {
        self.overrides.keys().map(String::as_str).collect()
    }

    /// This set with the template `name` replaced by `source` (or added,
    /// where the spec allows). Fails on a name the spec does not allow or
    /// a source that does not parse; the set itself is unchanged.
    pub fn with_template(
        &self,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<Self, TemplateError> {
        let name = name.into();
        if let Some(why) = self.spec.unknown_name
            && !self.names().any(|known| known == name)
        {
            return Err(self.spec.error(
                &name,
                minijinja::Error::new(ErrorKind::TemplateNotFound, why),
            ));
        }
        let mut overrides = (*self.overrides).clone();
        overrides.insert(name, source.into());
        Self::build(self.spec, overrides)
    }

    /// Renders the template `name` with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, TemplateError> {
        self.env
            .get_template(name)
            .and_then(|template| template.render(minijinja::value::Serde(context)))
            .map_err(|source| self.spec.error(name, source))
    }
}

impl TemplateSpec {
    /// The names of the embedded templates.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.embedded.iter().map(|(name, _)| *name)
    }

    fn error(&self, template: &str, source: minijinja::Error) -> TemplateError {
        TemplateError {
            what: self.what,
            template: template.to_owned(),
            source,
        }
    }
}

impl fmt::Debug for TemplateSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateSet")
            .field("what", &self.spec.what)
            .field("overridden", &self.overridden())
            .finish()
    }
}

impl PartialEq for TemplateSet {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.spec, other.spec) && self.overrides == other.overrides
    }
}

impl Eq for TemplateSet {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    static OPEN: TemplateSpec = TemplateSpec::new(
        "test template",
        &[("a.html", "<p>{{ v }}</p>"), ("a.txt", "{{ v }}")],
    );
    static CLOSED: TemplateSpec = TemplateSpec::new("test template", OPEN.embedded)
        .escape(Escape::ByExtension)
        .embedded_names_only("not a test template name");

    #[test]
    fn escaping_follows_the_spec() {
        let value = json!({"v": "<b>&"});
        let open = TemplateSet::new(&OPEN).unwrap();
        assert_eq!(open.render("a.txt", &value).unwrap(), "&lt;b&gt;&amp;");
        let closed = TemplateSet::new(&CLOSED).unwrap();
        assert_eq!(closed.render("a.txt", &value).unwrap(), "<b>&");
        assert_eq!(
            closed.render("a.html", &value).unwrap(),
            "<p>&lt;b&gt;&amp;</p>"
        );
        assert_eq!(closed.render("a.txt", &json!({})).unwrap(), "");
    }

    #[test]
    fn names_outside_a_closed_spec_are_refused_and_errors_name_the_template() {
        let open = TemplateSet::new(&OPEN).unwrap();
        let added = open.with_template("b.txt", "{{ v }}!").unwrap();
        assert_eq!(added.render("b.txt", &json!({"v": 1})).unwrap(), "1!");
        assert_eq!(added.overridden(), ["b.txt"]);
        assert_ne!(added, open);
        assert_eq!(open.clone(), open);
        let closed = TemplateSet::new(&CLOSED).unwrap();
        let err = closed.with_template("b.txt", "x").unwrap_err();
        assert_eq!(err.template(), "b.txt");
        assert!(
            err.to_string().starts_with("test template \"b.txt\": "),
            "{err}"
        );
        assert!(
            err.to_string().contains("not a test template name"),
            "{err}"
        );
        let err = closed.with_template("a.txt", "{% if %}").unwrap_err();
        assert!(err.to_string().contains("\"a.txt\""), "{err}");
        assert!(closed.render("missing.txt", &json!({})).is_err());
    }
}
