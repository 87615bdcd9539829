//! The account flows, as methods on [`Auth`](crate::Auth), and the typed
//! inputs they take: plain structs with public fields. Reading them from a
//! request body is the HTTP layer's work (auth-http); the flows check the
//! rules on the values (password policy, uniqueness, link tokens) and
//! answer with typed errors.

use serde_json::{Map, Value};

use crate::user::UserPatch;

mod account;
mod authenticate;
mod cleanup;
mod jwt;
mod login;
mod tokens;

pub use tokens::IssuedKnoxToken;

pub use account::{EMAIL_TAKEN, INVALID_UID, MAX_PAGE_SIZE, PASSWORDS_DIFFER, USERNAME_TAKEN};
pub use authenticate::{Access, AuthSchemes, Authenticated, Credential};
pub use cleanup::Cleared;
pub use jwt::{ClaimsHook, RefreshPolicy, Refreshed};
pub use login::Login;

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

/// `{email}`: resend activation, request a password reset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = EmailRequest))]
pub struct EmailRequest {
    /// The address the client typed.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, format = "email"))]
    pub email: String,
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

/// `DELETE /api/auth/me`: `{password}`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema), schema(as = PasswordRequest))]
pub struct AccountDeletion {
    /// The current password.
    #[cfg_attr(feature = "utoipa", schema(min_length = 1))]
    pub password: String,
}

redacted_debug!(AccountDeletion {} hides { password });

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
    /// A new user named `username` with `email`, nothing else set, for
    /// [`Auth::create_user`](crate::Auth::create_user).
    ///
    /// ```
    /// use auth_core::flows::AdminUserInput;
    /// let input = AdminUserInput::new_user("ada", "ada@example.com").with_password("Kettle-Orbit-42");
    /// assert_eq!(input.patch.username.as_deref(), Some("ada"));
    /// assert!(input.password.is_some());
    /// ```
    pub fn new_user(username: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            patch: UserPatch {
                username: Some(username.into()),
                email: Some(email.into()),
                ..UserPatch::default()
            },
            password: None,
        }
    }

    /// Sets the password.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }
}
