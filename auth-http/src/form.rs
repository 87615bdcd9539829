//! Reading request bodies field by field, with DRF's messages, into the
//! core's typed inputs, so both adapters report a missing or mistyped field
//! identically. The core's rules on the values (username and email format,
//! lengths) run here too, through [`UserPatch::validate`], so a client hears
//! about every bad field at once, as DRF reports them.

use auth_core::error::{AuthError, FieldErrors};
use auth_core::flows::{
    AccountDeletion, AdminUserInput, Credentials, EmailRequest, LinkConfirmation, Login,
    PasswordChange, ProfileUpdate, Registration, ResetConfirmation,
};
use auth_core::user::{UserPatch, validate_email};
use serde_json::{Map, Value};

use crate::ApiRequest;
use crate::ApiResponse;
use crate::endpoint::Failure;

/// DRF's message for a missing field.
const REQUIRED: &str = "This field is required.";
/// DRF's message for an empty string.
const BLANK: &str = "This field may not be blank.";
/// DRF's message for a value that is not a string.
const NOT_A_STRING: &str = "Not a valid string.";
/// DRF's message for `null`.
const NULL: &str = "This field may not be null.";
/// The message for `email` or `username` sent to `PATCH /api/auth/me`.
const READ_ONLY_FIELD: &str = "This field cannot be changed here.";

/// A JSON object being read into a request type; errors accumulate so the
/// client hears about every bad field at once.
#[derive(Debug)]
pub(crate) struct Form<'a> {
    fields: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Form<'a> {
    /// Starts reading `body`, which must be a JSON object.
    pub(crate) fn new(body: &'a Value) -> Result<Self, AuthError> {
        match body {
            Value::Object(fields) => Ok(Self {
                fields,
                errors: FieldErrors::new(),
            }),
            _ => Err(AuthError::Validation(FieldErrors::single(
                FieldErrors::NON_FIELD,
                "Invalid data. Expected a dictionary.",
            ))),
        }
    }

    /// Records an error on `field`.
    pub(crate) fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// Whether the body has `field` at all.
    fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// A non-blank string; records an error and returns `None` otherwise.
    pub(crate) fn required_string(&mut self, field: &str) -> Option<String> {
        match self.fields.get(field) {
            None => {
                self.error(field, REQUIRED);
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.error(field, BLANK);
                None
            }
            Some(_) => self.optional_string(field),
        }
    }

    /// A string when present (may be empty); `None` when absent. A value of
    /// another type records an error.
    pub(crate) fn optional_string(&mut self, field: &str) -> Option<String> {
        let message = match self.fields.get(field)? {
            Value::String(s) => return Some(s.clone()),
            Value::Null => NULL,
            _ => NOT_A_STRING,
        };
        self.error(field, message);
        None
    }

    /// A boolean when present.
    pub(crate) fn optional_bool(&mut self, field: &str) -> Option<bool> {
        match self.fields.get(field) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.error(field, "Must be a valid boolean.");
                None
            }
        }
    }

    /// A list of strings when present (DRF's `ListField` of `CharField`s);
    /// another type, or an item that is not a string, records an error.
    pub(crate) fn optional_string_list(&mut self, field: &str) -> Option<Vec<String>> {
        let message = match self.fields.get(field)? {
            Value::Array(items) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|item| item.as_str().map(str::to_string))
                    .collect();
                match strings {
                    Some(strings) => return Some(strings),
                    None => NOT_A_STRING.to_string(),
                }
            }
            Value::Null => NULL.to_string(),
            other => format!(
                "Expected a list of items but got type \"{}\".",
                json_type(other)
            ),
        };
        self.error(field, message);
        None
    }

    /// A JSON object when present.
    fn optional_object(&mut self, field: &str) -> Option<Map<String, Value>> {
        match self.fields.get(field) {
            None => None,
            Some(Value::Object(map)) => Some(map.clone()),
            Some(_) => {
                self.error(field, "Expected a JSON object.");
                None
            }
        }
    }

    /// Records an error for each of `fields` that is present: for bodies
    /// where a field must not be sent (e.g. `email` on `PATCH /me`).
    fn forbid(&mut self, fields: &[&str], message: &str) {
        for field in fields {
            if self.has(field) {
                self.error(field, message);
            }
        }
    }

    /// Runs the core's field rules ([`UserPatch::validate`]: username and
    /// email format, the length limits) over the fields `fields` sets, so a
    /// too-long or malformed field is reported beside missing ones.
    fn check_user_fields(&mut self, fields: &UserPatch) {
        self.errors.merge(fields.validate());
    }

    /// Adds `more`'s errors on the fields that have none yet (the core's
    /// rules, run beside the reader's own checks).
    pub(crate) fn add_missing(&mut self, more: &FieldErrors) {
        for (field, messages) in more.iter() {
            if self.errors.get(field).is_none() {
                for message in messages {
                    self.error(field, message.clone());
                }
            }
        }
    }

    /// Whether some field has an error.
    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// `Ok` if no field had an error.
    pub(crate) fn finish(self) -> Result<(), AuthError> {
        self.errors.into_result()
    }
}

/// The name DRF gives a JSON value's type in its messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Implements [`FromJson`] for a body of required, non-blank strings only:
/// each field of the type is read as the JSON field of the same name.
macro_rules! required_strings {
    ($($ty:ty { $($field:ident),+ })+) => {$(
        impl FromJson for $ty {
            fn from_json(body: &Value) -> Result<Self, AuthError> {
                let mut form = Form::new(body)?;
                $(let $field = form.required_string(stringify!($field));)+
                form.finish()?;
                Ok(Self {
                    $($field: $field.unwrap_or_default(),)+
                })
            }
        }
    )+};
}
pub(crate) use required_strings;

/// A core input type read from a JSON request body, with DRF's messages for
/// a missing, blank or mistyped field (`{"field": ["This field is
/// required."]}`), every field's errors at once. The routes read their
/// bodies with it; an application's own handler can too.
///
/// ```
/// use auth_core::flows::{Credentials, Login};
/// use auth_http::FromJson;
/// let c = Credentials::from_json(&serde_json::json!({"email": "a@example.com", "password": "pw"})).unwrap();
/// assert_eq!(c.login, Login::Email("a@example.com".into()));
/// assert!(Credentials::from_json(&serde_json::json!({"password": "pw"})).is_err());
/// ```
pub trait FromJson: Sized {
    /// Reads `body`; a refusal is an [`AuthError::Validation`].
    fn from_json(body: &Value) -> Result<Self, AuthError>;
}

/// Reads `{"username"|"email", "password"}`. With neither name field, the
/// error is reported under `username`.
impl FromJson for Credentials {
    fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let login = if form.has("username") || !form.has("email") {
            form.required_string("username").map(Login::Username)
        } else {
            form.required_string("email").map(Login::Email)
        };
        let password = form.required_string("password");
        form.finish()?;
        match (login, password) {
            (Some(login), Some(password)) => Ok(Self { login, password }),
            _ => Err(AuthError::Validation(FieldErrors::new())),
        }
    }
}

/// Reads `{username, email, password, confirm_password}` and the optional
/// `first_name`, `last_name` and `profile`, with the username, email and
/// name rules (format, length), so every field's errors come at once; the
/// email is trimmed.
impl FromJson for Registration {
    fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let identity = UserPatch {
            username: form.required_string("username"),
            // Stored trimmed; checked as it will be stored.
            email: form
                .required_string("email")
                .map(|email| email.trim().to_string()),
            first_name: form.optional_string("first_name"),
            last_name: form.optional_string("last_name"),
            ..UserPatch::default()
        };
        let password = form.required_string("password");
        let confirm_password = form.required_string("confirm_password");
        let profile = form.optional_object("profile").unwrap_or_default();
        form.check_user_fields(&identity);
        form.finish()?;
        Ok(Self {
            username: identity.username.unwrap_or_default(),
            email: identity.email.unwrap_or_default(),
            password: password.unwrap_or_default(),
            confirm_password: confirm_password.unwrap_or_default(),
            first_name: identity.first_name.unwrap_or_default(),
            last_name: identity.last_name.unwrap_or_default(),
            profile,
        })
    }
}

/// Reads `{email}`; the address must look like one.
impl FromJson for EmailRequest {
    fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let email = form.required_string("email");
        if let Some(email) = &email
            && let Err(message) = validate_email(email.trim())
        {
            form.error("email", message);
        }
        form.finish()?;
        Ok(Self {
            email: email.unwrap_or_default().trim().to_string(),
        })
    }
}

required_strings! {
    LinkConfirmation { uid, token }
    ResetConfirmation { uid, token, new_password, confirm_password }
    PasswordChange { old_password, new_password, confirm_password }
    AccountDeletion { password }
}

/// Reads `PATCH /me`'s body; `email`, `username`, `password` and the flags
/// are field errors (they change nothing), as are names over 150
/// characters, all reported at once.
impl FromJson for ProfileUpdate {
    fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        form.forbid(
            &[
                "email",
                "username",
                "password",
                "is_active",
                "is_staff",
                "is_superuser",
                "id",
            ],
            READ_ONLY_FIELD,
        );
        let names = UserPatch {
            first_name: form.optional_string("first_name"),
            last_name: form.optional_string("last_name"),
            ..UserPatch::default()
        };
        let profile = form.optional_object("profile");
        form.check_user_fields(&names);
        form.finish()?;
        Ok(Self {
            first_name: names.first_name,
            last_name: names.last_name,
            profile,
        })
    }
}

/// Reads a staff member's `POST`, `PUT` or `PATCH` body on `/api/users`.
/// `partial: false` (POST and PUT) requires `username` and `email`. The
/// username, email and name rules (format, length) run here, so every
/// field's errors come at once.
///
/// ```
/// use auth_http::admin_user_from_json;
/// let body = serde_json::json!({"is_active": false});
/// let patch = admin_user_from_json(&body, true).unwrap();
/// assert_eq!(patch.patch.is_active, Some(false));
/// assert!(admin_user_from_json(&body, false).is_err());
/// ```
pub fn admin_user_from_json(body: &Value, partial: bool) -> Result<AdminUserInput, AuthError> {
    let mut form = Form::new(body)?;
    let (username, email) = if partial {
        (
            form.optional_string("username"),
            form.optional_string("email"),
        )
    } else {
        (
            form.required_string("username"),
            form.required_string("email"),
        )
    };
    let password = if form.has("password") {
        form.required_string("password")
    } else {
        None
    };
    let patch = UserPatch {
        username,
        email: email.map(|e| e.trim().to_string()),
        first_name: form.optional_string("first_name"),
        last_name: form.optional_string("last_name"),
        is_active: form.optional_bool("is_active"),
        is_staff: form.optional_bool("is_staff"),
        is_superuser: form.optional_bool("is_superuser"),
        profile: form.optional_object("profile"),
    };
    form.check_user_fields(&patch);
    form.finish()?;
    Ok(AdminUserInput { patch, password })
}

/// Decodes a path parameter as `routes::query_param` decodes a value; `&` and
/// `=` are data here, not separators.
pub(crate) fn percent_decode(s: &str) -> String {
    let escaped = s.replace('&', "%26").replace('=', "%3D");
    form_urlencoded::parse(escaped.as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default()
}

/// The body as a JSON value, read as DRF reads it: `{}` when empty,
/// whatever the `Content-Type`; otherwise the type must be
/// `application/json` (any case, parameters allowed), else 415 `Unsupported
/// media type "<type>" in request.` (`""` for a missing one, so a
/// cross-site "simple" request cannot drive a JSON route); 400
/// `{"detail": "JSON parse error - ..."}` when malformed.
pub(crate) fn json_body(req: &ApiRequest<'_>) -> Result<Value, Failure> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    req.expect_media_type("application/json")
        .map_err(Failure::Response)?;
    serde_json::from_slice(req.body).map_err(|err| {
        Failure::Response(ApiResponse::detail(
            400,
            &format!("JSON parse error - {err}"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_errors(err: AuthError) -> Value {
        match err {
            AuthError::Validation(errors) => serde_json::to_value(&errors).unwrap(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn form_reports_every_bad_field() {
        let body = json!({"email": "a@example.com", "password": 5});
        let mut form = Form::new(&body).unwrap();
        assert_eq!(
            form.required_string("email").as_deref(),
            Some("a@example.com")
        );
        assert_eq!(form.required_string("password"), None);
        assert_eq!(form.required_string("token"), None);
        let errors = field_errors(form.finish().unwrap_err());
        assert_eq!(errors["password"][0], "Not a valid string.");
        assert_eq!(errors["token"][0], "This field is required.");
    }

    #[test]
    fn user_field_rules_come_beside_missing_fields() {
        let body = json!({"username": "has space"});
        let mut form = Form::new(&body).unwrap();
        let fields = UserPatch {
            username: form.required_string("username"),
            email: form.required_string("email"),
            ..UserPatch::default()
        };
        form.check_user_fields(&fields);
        let errors = field_errors(form.finish().unwrap_err());
        assert!(
            errors["username"][0]
                .as_str()
                .unwrap()
                .starts_with("Enter a valid username.")
        );
        assert_eq!(errors["email"][0], "This field is required.");
    }

    #[test]
    fn registration_reports_missing_and_mistyped_fields() {
        let missing =
            Registration::from_json(&json!({"username": "x", "password": 5})).unwrap_err();
        assert_eq!(
            field_errors(missing),
            json!({
                "email": ["This field is required."],
                "password": ["Not a valid string."],
                "confirm_password": ["This field is required."],
            })
        );
    }

    #[test]
    fn profile_update_reads_and_refuses_identity_fields() {
        let update = ProfileUpdate::from_json(&json!({
            "first_name": "Kim",
            "profile": {"country": "KR", "bio": "hi", "links": {"web": "https://kim.example"}}
        }))
        .unwrap();
        assert_eq!(update.first_name.as_deref(), Some("Kim"));
        assert_eq!(update.last_name, None);
        assert_eq!(
            update.profile.map(Value::Object),
            Some(json!({"country": "KR", "bio": "hi", "links": {"web": "https://kim.example"}}))
        );
        let update = ProfileUpdate::from_json(&json!({"profile": {"bio": null}})).unwrap();
        assert_eq!(
            update.profile.map(Value::Object),
            Some(json!({"bio": null}))
        );
        let refused =
            ProfileUpdate::from_json(&json!({"email": "x@example.com", "first_name": "K"}))
                .unwrap_err();
        assert_eq!(
            field_errors(refused),
            json!({"email": ["This field cannot be changed here."]})
        );
    }

    #[test]
    fn admin_user_input_requires_the_identity_unless_partial() {
        let input = admin_user_from_json(
            &json!({"username": "pat", "email": " pat@example.com ", "password": "pw", "is_staff": true}),
            false,
        )
        .unwrap();
        assert_eq!(input.patch.username.as_deref(), Some("pat"));
        assert_eq!(input.patch.email.as_deref(), Some("pat@example.com"));
        assert_eq!(input.patch.is_staff, Some(true));
        assert_eq!(input.password.as_deref(), Some("pw"));
        let refused = admin_user_from_json(&json!({"is_active": false}), false).unwrap_err();
        assert_eq!(
            field_errors(refused),
            json!({"username": ["This field is required."], "email": ["This field is required."]})
        );
        let patch = admin_user_from_json(&json!({"is_active": false}), true).unwrap();
        assert_eq!(
            patch.patch,
            UserPatch {
                is_active: Some(false),
                ..UserPatch::default()
            }
        );
        assert_eq!(patch.password, None);
    }

    #[test]
    fn a_body_must_be_an_object() {
        assert_eq!(
            field_errors(Credentials::from_json(&json!([1])).unwrap_err()),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary."]})
        );
    }
}
