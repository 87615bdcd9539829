//! Errors: [`StoreError`] from the stores, [`AuthError`] from the service, and
//! the one table ([`AuthError::response`]) that turns an `AuthError` into the
//! HTTP contract's status, code and body, shared by every adapter.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

/// A boxed error kept as the source of a [`StoreError`] or [`AuthError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a store can fail with. Every store trait method returns it.
///
/// Backends convert their driver errors into it with `From`, keeping the
/// driver error as the [`source`](std::error::Error::source) so nothing is lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was broken (a taken username or email, a duplicate
    /// key). The string names what clashed, e.g. `"username"`.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The record an update or delete named does not exist.
    #[error("not found")]
    NotFound,
    /// The backend could not be reached in time (pool timeout, connection
    /// refused, server gone). Requests fail with 503; retrying later may work.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else the backend reported.
    #[error("store error")]
    Other(#[source] BoxError),
}

impl StoreError {
    /// Wraps any error as [`StoreError::Other`].
    pub fn other(err: impl Into<BoxError>) -> Self {
        Self::Other(err.into())
    }

    /// Wraps any error as [`StoreError::Unavailable`].
    pub fn unavailable(err: impl Into<BoxError>) -> Self {
        Self::Unavailable(err.into())
    }
}

/// Validation errors keyed by field, rendered as DRF renders them:
/// `{"field": ["message", ...], "non_field_errors": [...]}`.
///
/// ```
/// use auth_core::error::FieldErrors;
/// let mut errors = FieldErrors::new();
/// errors.add("username", "A user with that username already exists.");
/// assert_eq!(
///     serde_json::to_value(&errors).unwrap(),
///     serde_json::json!({"username": ["A user with that username already exists."]})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(
    feature = "utoipa",
    derive(utoipa::ToSchema),
    schema(
        as = ValidationErrors,
        value_type = Object,
        description = "Field errors: `{\"<field>\": [\"message\", ...], \"non_field_errors\": [...]}`."
    )
)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// The key for errors that belong to no single field.
    pub const NON_FIELD: &'static str = "non_field_errors";

    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One error on one field.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Adds a message under `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// Adds every message of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// True when no field has an error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages under `field`, if any.
    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    /// `Ok(())` when empty, else `Err(AuthError::Validation(self))`.
    pub fn into_result(self) -> Result<(), AuthError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AuthError::Validation(self))
        }
    }

    /// Iterates over `(field, messages)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

/// Why authenticating a request failed; each maps to a 401 `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRejection {
    /// No credentials were sent.
    Missing,
    /// The Authorization header was malformed (wrong keyword, spaces, ...).
    Malformed,
    /// The token is unknown, forged, expired, revoked, or of the wrong type.
    Invalid,
    /// The token was fine but its user is gone or inactive.
    UserInactive,
}

/// What the service can fail with. Adapters turn it into a response with
/// [`AuthError::response`], so both frameworks answer identically.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Input failed validation; 400 with the field errors as the body.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// Login with wrong credentials, an unknown user or an inactive account
    /// (indistinguishable on purpose). How it renders depends on the endpoint
    /// style, see [`CredentialsStyle`].
    #[error("invalid credentials")]
    InvalidCredentials(CredentialsStyle),
    /// The request's credentials were missing or not valid.
    #[error("not authenticated")]
    Unauthenticated(TokenRejection),
    /// A JWT was rejected (simplejwt's `token_not_valid`).
    #[error("token is invalid or expired")]
    TokenNotValid,
    /// Authenticated, but not allowed (e.g. not staff).
    #[error("permission denied")]
    PermissionDenied,
    /// The thing named does not exist (or is not the caller's to see).
    #[error("not found")]
    NotFound,
    /// Too many attempts; retry after the given number of seconds.
    #[error("throttled for {retry_after_secs} s")]
    Throttled {
        /// Seconds until another attempt may succeed (at least 1).
        retry_after_secs: u64,
    },
    /// The per-user token limit was reached (Knox's refusal policy).
    #[error("token limit reached")]
    TokenLimitReached,
    /// A store could not be reached; 503.
    #[error("service unavailable")]
    Unavailable(#[source] StoreError),
    /// The service is too busy to take this request now (the password
    /// hashing queue is full); 503 with `Retry-After`.
    #[error("overloaded, retry after {retry_after_secs} s")]
    Overloaded {
        /// Seconds after which a retry may succeed (at least 1).
        retry_after_secs: u64,
    },
    /// A store or mailer failed in an unexpected way; 500.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// How an [`AuthError::InvalidCredentials`] renders: each login endpoint of
/// the contract answers bad credentials the way its Django original does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsStyle {
    /// simplejwt: 401 `{"detail": "No active account found with the given credentials", "code": "no_active_account"}`.
    Jwt,
    /// knox and DRF's obtain_auth_token: 400 `{"non_field_errors": ["Unable to log in with provided credentials."]}`.
    Token,
    /// A wrong current password on an authenticated route (change password,
    /// delete account): 400 under the named field.
    Field(&'static str),
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => AuthError::Unavailable(err),
            StoreError::NotFound => AuthError::NotFound,
            other => AuthError::Internal(Box::new(other)),
        }
    }
}

/// The response an [`AuthError`] becomes: status, JSON body and headers.
///
/// ```
/// use auth_core::error::AuthError;
/// let response = AuthError::Throttled { retry_after_secs: 12 }.response();
/// assert_eq!(response.status, 429);
/// assert_eq!(response.headers, vec![("Retry-After", "12".to_string())]);
/// assert_eq!(
///     response.body["detail"],
///     "Request was throttled. Expected available in 12 seconds."
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// Extra headers (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

/// The `WWW-Authenticate` value sent with every 401.
pub const WWW_AUTHENTICATE: &str = "Bearer realm=\"api\"";

/// The `detail` of every 503.
pub const UNAVAILABLE_MESSAGE: &str = "Service temporarily unavailable, try again later.";

/// The message for a used, forged or expired activation or reset token.
pub const INVALID_TOKEN_MESSAGE: &str = "Invalid or expired token.";

fn unauthorized(detail: &str, code: &str) -> ErrorResponse {
    ErrorResponse {
        status: 401,
        body: json!({"detail": detail, "code": code}),
        headers: vec![("WWW-Authenticate", WWW_AUTHENTICATE.to_string())],
    }
}

fn detail(status: u16, detail: &str) -> ErrorResponse {
    ErrorResponse {
        status,
        body: json!({ "detail": detail }),
        headers: Vec::new(),
    }
}

impl AuthError {
    /// The one table from error to HTTP response, used by every adapter.
    pub fn response(&self) -> ErrorResponse {
        match self {
            AuthError::Validation(errors) => ErrorResponse {
                status: 400,
                body: serde_json::to_value(errors).unwrap_or_else(|_| json!({})),
                headers: Vec::new(),
            },
            AuthError::InvalidCredentials(CredentialsStyle::Jwt) => unauthorized(
                "No active account found with the given credentials",
                "no_active_account",
            ),
            AuthError::InvalidCredentials(CredentialsStyle::Token) => ErrorResponse {
                status: 400,
                body: json!({ FieldErrors::NON_FIELD: ["Unable to log in with provided credentials."] }),
                headers: Vec::new(),
            },
            AuthError::InvalidCredentials(CredentialsStyle::Field(field)) => ErrorResponse {
                status: 400,
                body: json!({ *field: ["Your password was entered incorrectly. Please enter it again."] }),
                headers: Vec::new(),
            },
            AuthError::Unauthenticated(TokenRejection::Missing) => unauthorized(
                "Authentication credentials were not provided.",
                "not_authenticated",
            ),
            AuthError::Unauthenticated(TokenRejection::Malformed) => unauthorized(
                "Invalid token header. Credentials string should not contain spaces.",
                "authentication_failed",
            ),
            AuthError::Unauthenticated(TokenRejection::Invalid) => {
                unauthorized("Invalid token.", "authentication_failed")
            }
            AuthError::Unauthenticated(TokenRejection::UserInactive) => {
                unauthorized("User inactive or deleted.", "authentication_failed")
            }
            AuthError::TokenNotValid => {
                unauthorized("Token is invalid or expired", "token_not_valid")
            }
            AuthError::PermissionDenied => {
                detail(403, "You do not have permission to perform this action.")
            }
            AuthError::NotFound => detail(404, "Not found."),
            AuthError::Throttled { retry_after_secs } => ErrorResponse {
                status: 429,
                body: json!({
                    "detail": format!(
                        "Request was throttled. Expected available in {retry_after_secs} second{}.",
                        if *retry_after_secs == 1 { "" } else { "s" }
                    )
                }),
                headers: vec![("Retry-After", retry_after_secs.to_string())],
            },
            AuthError::TokenLimitReached => {
                detail(403, "Maximum amount of tokens allowed per user exceeded.")
            }
            AuthError::Unavailable(_) => detail(503, UNAVAILABLE_MESSAGE),
            AuthError::Overloaded { retry_after_secs } => ErrorResponse {
                headers: vec![("Retry-After", retry_after_secs.to_string())],
                ..detail(503, UNAVAILABLE_MESSAGE)
            },
            AuthError::Internal(_) => detail(500, "A server error occurred."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_service_errors() {
        let unavailable: AuthError = StoreError::unavailable("pool timed out").into();
        assert_eq!(unavailable.response().status, 503);
        let other: AuthError = StoreError::other("boom").into();
        let response = other.response();
        assert_eq!(response.status, 500);
        assert!(!response.body.to_string().contains("boom"));
    }

    #[test]
    fn every_401_carries_www_authenticate() {
        for err in [
            AuthError::TokenNotValid,
            AuthError::InvalidCredentials(CredentialsStyle::Jwt),
            AuthError::Unauthenticated(TokenRejection::Missing),
            AuthError::Unauthenticated(TokenRejection::Invalid),
        ] {
            let response = err.response();
            assert_eq!(response.status, 401);
            assert_eq!(
                response.headers,
                vec![("WWW-Authenticate", WWW_AUTHENTICATE.to_string())]
            );
            assert!(response.body["code"].is_string());
        }
    }

    #[test]
    fn throttle_message_is_singular_for_one_second() {
        let body = AuthError::Throttled {
            retry_after_secs: 1,
        }
        .response()
        .body;
        assert_eq!(
            body["detail"],
            "Request was throttled. Expected available in 1 second."
        );
    }
}
