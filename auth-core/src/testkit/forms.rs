//! Reading the provider's pages as a browser without JavaScript does:
//! the hidden fields of a form, which it sends back as they are.
//!
//! ```
//! use auth_core::testkit::forms::hidden_inputs;
//! let page = r#"<form><input type="hidden" name="next" value="&#x2f;a?b=1&amp;c=&lt;d&gt;">
//! <input type="text" name="login" value="ada"></form>"#;
//! assert_eq!(hidden_inputs(page), [("next".to_string(), "/a?b=1&c=<d>".to_string())]);
//! ```

/// The `name` and `value` of each hidden input of the page's last form,
/// in page order, HTML entities decoded (what a browser sends back).
/// Inputs without a name or a value are left out.
///
/// # Panics
/// When the page holds no form: the test expected one.
#[track_caller]
pub fn hidden_inputs(page: &str) -> Vec<(String, String)> {
    let form_start = page.rfind("<form").expect("a form on the page");
    page[form_start..]
        .split('<')
        .filter(|tag| tag.starts_with("input "))
        .filter(|tag| attribute(tag, "type").as_deref() == Some("hidden"))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
        .collect()
}

/// The decoded value of `name="..."` in one tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    let mut value = tag[start..end].to_owned();
    // `&amp;` last, so `&amp;lt;` stays `&lt;`.
    for (entity, text) in [
        ("&#x2f;", "/"),
        ("&#x27;", "'"),
        ("&quot;", "\""),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
    ] {
        value = value.replace(entity, text);
    }
    Some(value)
}
