//! The account flows, as methods on [`Auth`](crate::Auth), and the request
//! types they take.
//!
//! Each request type reads itself from a JSON body with `from_json`, with
//! DRF's messages for missing or mistyped fields, so the axum and actix
//! adapters parse bodies identically: an adapter parses JSON, calls
//! `from_json`, calls one `Auth` method and renders the result.

use serde_json::{Map, Value};

use crate::error::{AuthError, FieldErrors};
use crate::user::UserPatch;

mod account;
mod authenticate;
pub mod form;
mod jwt;
mod login;
mod tokens;

pub use tokens::IssuedKnoxToken;

pub use account::{EMAIL_TAKEN, INVALID_UID, MAX_PAGE_SIZE, PASSWORDS_DIFFER, USERNAME_TAKEN};
pub use authenticate::{Access, AuthSchemes, Authenticated, Credential};
pub use jwt::{RefreshPolicy, Refreshed};
pub use login::Login;

use form::Form;

/// Login fields: `password` and either `username` or `email`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Who.
    pub login: Login,
    /// The plain password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl Credentials {
    /// Credentials by username.
    pub fn username(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            login: Login::Username(username.into()),
            password: password.into(),
        }
    }

    /// Credentials by email.
    pub fn email(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            login: Login::Email(email.into()),
            password: password.into(),
        }
    }

    /// Reads `{"username"|"email", "password"}`. With neither name field,
    /// the error is reported under `username`.
    ///
    /// ```
    /// use auth_core::flows::{Credentials, Login};
    /// let c = Credentials::from_json(&serde_json::json!({"email": "a@example.com", "password": "pw"})).unwrap();
    /// assert_eq!(c.login, Login::Email("a@example.com".into()));
    /// assert!(Credentials::from_json(&serde_json::json!({"password": "pw"})).is_err());
    /// ```
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
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

macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* } hides { $($hidden:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"[redacted]"))*
                    .finish()
            }
        }
    };
}

/// `POST /api/auth/register`.
#[derive(Clone, Default, PartialEq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = RegisterRequest))]
pub struct Registration {
    /// The username.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 150))]
    pub username: String,
    /// The email.
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 1, max_length = 254, format = "email")
    )]
    pub email: String,
    /// The password.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub password: String,
    /// Must equal `password`.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub confirm_password: String,
    /// Optional given name.
    #[cfg_attr(feature = "utoipa", schema(max_length = 150, required = false))]
    pub first_name: String,
    /// Optional family name.
    #[cfg_attr(feature = "utoipa", schema(max_length = 150, required = false))]
    pub last_name: String,
    /// Optional application fields.
    #[cfg_attr(feature = "utoipa", schema(value_type = Object, required = false))]
    pub profile: Map<String, Value>,
}

redacted_debug!(Registration { username, email, first_name, last_name, profile } hides { password, confirm_password });

impl Registration {
    /// Reads `{username, email, password, confirm_password}` and the
    /// optional `first_name`, `last_name` and `profile`, with the username,
    /// email and name rules (format, length), so every field's errors come
    /// at once; the email is trimmed.
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
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

/// `{uid, token}` from an emailed activation link.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = ActivateRequest))]
pub struct LinkConfirmation {
    /// The link's `uid`.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub uid: String,
    /// The link's token.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub token: String,
}

redacted_debug!(LinkConfirmation { uid } hides { token });

impl LinkConfirmation {
    /// Reads `{uid, token}`.
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let uid = form.required_string("uid");
        let token = form.required_string("token");
        form.finish()?;
        Ok(Self {
            uid: uid.unwrap_or_default(),
            token: token.unwrap_or_default(),
        })
    }
}

/// `{email}`: resend activation, request a password reset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = EmailRequest))]
pub struct EmailRequest {
    /// The address the client typed.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, format = "email"))]
    pub email: String,
}

impl EmailRequest {
    /// Reads `{email}`; the address must look like one.
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let email = form.required_string("email");
        if let Some(email) = &email
            && let Err(message) = crate::user::validate_email(email.trim())
        {
            form.error("email", message);
        }
        form.finish()?;
        Ok(Self {
            email: email.unwrap_or_default().trim().to_string(),
        })
    }
}

/// `POST /api/auth/password/reset/confirm`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = ResetConfirmRequest))]
pub struct ResetConfirmation {
    /// The link's `uid`.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub uid: String,
    /// The link's token.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub token: String,
    /// The new password.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub new_password: String,
    /// Must equal `new_password`.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub confirm_password: String,
}

redacted_debug!(ResetConfirmation { uid } hides { token, new_password, confirm_password });

impl ResetConfirmation {
    /// Reads `{uid, token, new_password, confirm_password}`.
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let uid = form.required_string("uid");
        let token = form.required_string("token");
        let new_password = form.required_string("new_password");
        let confirm_password = form.required_string("confirm_password");
        form.finish()?;
        Ok(Self {
            uid: uid.unwrap_or_default(),
            token: token.unwrap_or_default(),
            new_password: new_password.unwrap_or_default(),
            confirm_password: confirm_password.unwrap_or_default(),
        })
    }
}

/// `POST /api/auth/password/change`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = PasswordChangeRequest))]
pub struct PasswordChange {
    /// The current password.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub old_password: String,
    /// The new password.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub new_password: String,
    /// Must equal `new_password`.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub confirm_password: String,
}

redacted_debug!(PasswordChange {} hides { old_password, new_password, confirm_password });

impl PasswordChange {
    /// Reads `{old_password, new_password, confirm_password}`.
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let old_password = form.required_string("old_password");
        let new_password = form.required_string("new_password");
        let confirm_password = form.required_string("confirm_password");
        form.finish()?;
        Ok(Self {
            old_password: old_password.unwrap_or_default(),
            new_password: new_password.unwrap_or_default(),
            confirm_password: confirm_password.unwrap_or_default(),
        })
    }
}

/// `DELETE /api/auth/me`: `{password}`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = PasswordRequest))]
pub struct AccountDeletion {
    /// The current password.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub password: String,
}

redacted_debug!(AccountDeletion {} hides { password });

impl AccountDeletion {
    /// Reads `{password}`.
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let password = form.required_string("password");
        form.finish()?;
        Ok(Self {
            password: password.unwrap_or_default(),
        })
    }
}

/// The message for `email` or `username` sent to `PATCH /api/auth/me`.
pub const READ_ONLY_FIELD: &str = "This field cannot be changed here.";

/// `PATCH /api/auth/me`: any of `first_name`, `last_name`, `profile`.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = ProfileUpdateRequest))]
pub struct ProfileUpdate {
    /// New given name.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, max_length = 150, required = false))]
    pub first_name: Option<String>,
    /// New family name.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, max_length = 150, required = false))]
    pub last_name: Option<String>,
    /// Profile keys to merge (`null` removes a key).
    #[cfg_attr(feature = "utoipa", schema(value_type = Object, required = false))]
    pub profile: Option<Map<String, Value>>,
}

impl ProfileUpdate {
    /// Reads the body; `email`, `username`, `password` and the flags are
    /// field errors (they change nothing), as are names over 150
    /// characters, all reported at once.
    pub fn from_json(body: &Value) -> Result<Self, AuthError> {
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

    /// As a [`UserPatch`].
    pub fn into_patch(self) -> UserPatch {
        UserPatch {
            first_name: self.first_name,
            last_name: self.last_name,
            profile: self.profile,
            ..UserPatch::default()
        }
    }
}

/// A staff member's `POST`, `PUT` or `PATCH` on `/api/users`.
#[derive(Clone, Default, PartialEq)]
pub struct AdminUserInput {
    /// Field changes.
    pub patch: UserPatch,
    /// A new password, if given.
    pub password: Option<String>,
}

redacted_debug!(AdminUserInput { patch } hides { password });

impl AdminUserInput {
    /// Reads the body. `partial: false` (POST and PUT) requires `username`
    /// and `email`. The username, email and name rules (format, length) run
    /// here, so every field's errors come at once.
    pub fn from_json(body: &Value, partial: bool) -> Result<Self, AuthError> {
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
        Ok(Self { patch, password })
    }
}
