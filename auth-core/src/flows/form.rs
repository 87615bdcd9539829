//! Reading request bodies field by field, with DRF's messages, so both
//! adapters report a missing or mistyped field identically.

use serde_json::{Map, Value};

use crate::error::{AuthError, FieldErrors};
use crate::user::UserPatch;

/// DRF's message for a missing field.
pub const REQUIRED: &str = "This field is required.";
/// DRF's message for an empty string.
pub const BLANK: &str = "This field may not be blank.";
/// DRF's message for a value that is not a string.
pub const NOT_A_STRING: &str = "Not a valid string.";
/// DRF's message for `null`.
pub const NULL: &str = "This field may not be null.";

/// A JSON object being read into a request type; errors accumulate so the
/// client hears about every bad field at once.
///
/// ```
/// use auth_core::flows::form::Form;
/// let body = serde_json::json!({"email": "a@example.com", "password": 5});
/// let mut form = Form::new(&body).unwrap();
/// assert_eq!(form.required_string("email").as_deref(), Some("a@example.com"));
/// assert_eq!(form.required_string("password"), None);
/// assert_eq!(form.required_string("token"), None);
/// let errors = form.finish().unwrap_err().response().body;
/// assert_eq!(errors["password"][0], "Not a valid string.");
/// assert_eq!(errors["token"][0], "This field is required.");
/// ```
#[derive(Debug)]
pub struct Form<'a> {
    fields: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Form<'a> {
    /// Starts reading `body`, which must be a JSON object.
    pub fn new(body: &'a Value) -> Result<Self, AuthError> {
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
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// Whether the body has `field` at all.
    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// A non-blank string; records an error and returns `None` otherwise.
    pub fn required_string(&mut self, field: &str) -> Option<String> {
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
    pub fn optional_string(&mut self, field: &str) -> Option<String> {
        let message = match self.fields.get(field)? {
            Value::String(s) => return Some(s.clone()),
            Value::Null => NULL,
            _ => NOT_A_STRING,
        };
        self.error(field, message);
        None
    }

    /// A boolean when present.
    pub fn optional_bool(&mut self, field: &str) -> Option<bool> {
        match self.fields.get(field) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.error(field, "Must be a valid boolean.");
                None
            }
        }
    }

    /// A JSON object when present.
    pub fn optional_object(&mut self, field: &str) -> Option<Map<String, Value>> {
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
    pub fn forbid(&mut self, fields: &[&str], message: &str) {
        for field in fields {
            if self.has(field) {
                self.error(field, message);
            }
        }
    }

    /// Runs the field rules of [`UserPatch::validate`] (username and email
    /// format, the length limits) over the fields `fields` sets, so a
    /// too-long or malformed field is reported beside missing ones, as DRF
    /// reports every field's errors at once.
    ///
    /// ```
    /// use auth_core::{flows::form::Form, user::UserPatch};
    /// let body = serde_json::json!({"username": "has space"});
    /// let mut form = Form::new(&body).unwrap();
    /// let fields = UserPatch {
    ///     username: form.required_string("username"),
    ///     email: form.required_string("email"),
    ///     ..UserPatch::default()
    /// };
    /// form.check_user_fields(&fields);
    /// let errors = form.finish().unwrap_err().response().body;
    /// assert!(errors["username"][0].as_str().unwrap().starts_with("Enter a valid username."));
    /// assert_eq!(errors["email"][0], "This field is required.");
    /// ```
    pub fn check_user_fields(&mut self, fields: &UserPatch) {
        self.errors.merge(fields.validate());
    }

    /// `Ok` if no field had an error.
    pub fn finish(self) -> Result<(), AuthError> {
        self.errors.into_result()
    }

    /// The errors so far, to add more before finishing.
    pub fn errors_mut(&mut self) -> &mut FieldErrors {
        &mut self.errors
    }
}
