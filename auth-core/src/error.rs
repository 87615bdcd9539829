//! Errors: [`StoreError`] from the stores, [`AuthError`] from the service,
//! and [`FieldErrors`], the field-by-field validation errors. They are typed:
//! turning them into responses is the HTTP layer's work (auth-http holds the
//! one table from error to status, headers and body).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::oauth::OAuthError;
use crate::token::TokenKind;

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
    /// refused, server gone). Retrying later may work.
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

/// Why authenticating a request failed.
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

/// What the service can fail with: each variant is one outcome a caller
/// may act on; the HTTP layer renders each the same way for every adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Input failed validation; the field errors say where and why.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// Login with wrong credentials, an unknown user or an inactive account
    /// (indistinguishable on purpose). The [`TokenKind`] is what the login
    /// was for (a JWT pair, a Knox or static token), as each login endpoint
    /// answers bad credentials the way its Django original does.
    #[error("invalid credentials")]
    InvalidCredentials(TokenKind),
    /// The current password, re-entered to confirm a change (change the
    /// password, delete the account), was wrong.
    #[error("wrong password in {field}")]
    WrongPassword {
        /// The input field that held it (`old_password`, `password`).
        field: &'static str,
    },
    /// The request's credentials were missing or not valid.
    #[error("not authenticated")]
    Unauthenticated(TokenRejection),
    /// A JWT was rejected (simplejwt's `token_not_valid`).
    #[error("token is invalid or expired")]
    TokenNotValid,
    /// Authenticated, but not allowed (e.g. not staff).
    #[error("permission denied")]
    PermissionDenied,
    /// Authenticated by an OAuth2 access token that does not reach this
    /// operation (RFC 6750 §3.1 `insufficient_scope`): the scope that
    /// would, or `None` when no scope does (staff operations and the
    /// account's writes take only this library's own credentials).
    #[error("insufficient scope")]
    InsufficientScope(Option<&'static str>),
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
    /// A store could not be reached; retrying later may work.
    #[error("service unavailable")]
    Unavailable(#[source] StoreError),
    /// The service is too busy to take this request now (the password
    /// hashing queue is full); a retry after the given time may succeed.
    #[error("overloaded, retry after {retry_after_secs} s")]
    Overloaded {
        /// Seconds after which a retry may succeed (at least 1).
        retry_after_secs: u64,
    },
    /// A store or mailer failed in an unexpected way.
    #[error("internal error")]
    Internal(#[source] BoxError),
    /// An OAuth2 protocol error (RFC 6749 §5.2, RFC 7009), answered with
    /// the RFC's body rather than DRF's.
    #[error("oauth2: {0}")]
    OAuth(#[from] OAuthError),
    /// A request whose credentials came from a cookie changes state only
    /// with the CSRF token it was given beside them (a double submit, see
    /// [`double_submit_check`](crate::oauth::double_submit_check)); this
    /// one did not send it, or sent another.
    #[error("CSRF check failed: {0:?}")]
    CsrfFailed(CsrfFailure),
}

/// Why a double-submit CSRF check failed (Django's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfFailure {
    /// The request has no CSRF cookie (or an empty one).
    CookieMissing,
    /// The request has the cookie but did not submit the token.
    TokenMissing,
    /// The submitted token is not the cookie's value.
    TokenIncorrect,
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

/// The message for a used, forged or expired activation or reset token.
pub const INVALID_TOKEN_MESSAGE: &str = "Invalid or expired token.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_service_errors() {
        let unavailable: AuthError = StoreError::unavailable("pool timed out").into();
        assert!(matches!(unavailable, AuthError::Unavailable(_)));
        let not_found: AuthError = StoreError::NotFound.into();
        assert!(matches!(not_found, AuthError::NotFound));
        let other: AuthError = StoreError::other("boom").into();
        assert!(matches!(other, AuthError::Internal(_)));
        assert!(!other.to_string().contains("boom"));
    }
}
