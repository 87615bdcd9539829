//! The one table from a service error to the HTTP contract's response:
//! status, the DRF-shaped JSON body, and the headers (`WWW-Authenticate` on
//! every 401, `Retry-After` on a 429 or an overloaded 503). Both adapters
//! render every [`AuthError`] through it (by [`ApiResponse::from_error`]),
//! so they cannot drift apart.
//!
//! [`ApiResponse::from_error`]: crate::ApiResponse::from_error

use auth_core::error::{AuthError, CsrfFailure, FieldErrors, TokenRejection};
use auth_core::events::TokenKind;
use auth_core::oauth::{OAuthError, OAuthErrorCode};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The `WWW-Authenticate` value sent with every 401.
pub(crate) const WWW_AUTHENTICATE: &str = "Bearer realm=\"api\"";

/// The `WWW-Authenticate` value sent with an OAuth2 `invalid_client`.
pub(crate) const WWW_AUTHENTICATE_CLIENT: &str = "Basic realm=\"oauth\"";

/// An OAuth2 error (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope` or
    /// `unsupported_token_type`.
    error: &'static str,
    /// What went wrong, for the client's developer.
    error_description: &'static str,
}

impl OAuthErrorBody {
    fn of(err: &OAuthError) -> Self {
        Self {
            error: err.code.as_str(),
            error_description: err.description,
        }
    }
}

/// The `detail` of every 503.
pub(crate) const UNAVAILABLE_MESSAGE: &str = "Service temporarily unavailable, try again later.";

/// What an [`AuthError`] renders as, before it becomes an
/// [`ApiResponse`](crate::ApiResponse).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    /// The HTTP status code.
    pub(crate) status: u16,
    /// The JSON body.
    pub(crate) body: Value,
    /// Extra headers (`WWW-Authenticate`, `Retry-After`).
    pub(crate) headers: Vec<(&'static str, String)>,
}

fn unauthorized(detail: &str, code: &str) -> Rendered {
    Rendered {
        status: 401,
        body: json!({"detail": detail, "code": code}),
        headers: vec![("WWW-Authenticate", WWW_AUTHENTICATE.to_string())],
    }
}

fn detail(status: u16, detail: &str) -> Rendered {
    Rendered {
        status,
        body: json!({ "detail": detail }),
        headers: Vec::new(),
    }
}

fn field_errors(body: Value) -> Rendered {
    Rendered {
        status: 400,
        body,
        headers: Vec::new(),
    }
}

/// The table: each error's status, body and headers, as the contract's
/// Django originals answer it.
pub(crate) fn render(err: &AuthError) -> Rendered {
    match err {
        AuthError::Validation(errors) => {
            field_errors(serde_json::to_value(errors).unwrap_or_else(|_| json!({})))
        }
        // simplejwt's login answers bad credentials with a 401 ...
        AuthError::InvalidCredentials(TokenKind::Jwt) => unauthorized(
            "No active account found with the given credentials",
            "no_active_account",
        ),
        // ... knox's and DRF's obtain_auth_token with a 400.
        AuthError::InvalidCredentials(_) => field_errors(
            json!({ FieldErrors::NON_FIELD: ["Unable to log in with provided credentials."] }),
        ),
        AuthError::WrongPassword { field } => field_errors(
            json!({ *field: ["Your password was entered incorrectly. Please enter it again."] }),
        ),
        AuthError::Unauthenticated(TokenRejection::Missing) => unauthorized(
            "Authentication credentials were not provided.",
            "not_authenticated",
        ),
        AuthError::Unauthenticated(TokenRejection::Malformed) => unauthorized(
            "Invalid token header. Credentials string should not contain spaces.",
            "authentication_failed",
        ),
        AuthError::Unauthenticated(TokenRejection::UserInactive) => {
            unauthorized("User inactive or deleted.", "authentication_failed")
        }
        AuthError::Unauthenticated(_) => unauthorized("Invalid token.", "authentication_failed"),
        AuthError::TokenNotValid => unauthorized("Token is invalid or expired", "token_not_valid"),
        AuthError::PermissionDenied => {
            detail(403, "You do not have permission to perform this action.")
        }
        // RFC 6750 §3.1, in DRF's 403 body.
        AuthError::InsufficientScope(scope) => Rendered {
            headers: vec![(
                "WWW-Authenticate",
                match scope {
                    Some(scope) => format!(
                        "{WWW_AUTHENTICATE}, error=\"insufficient_scope\", scope=\"{scope}\""
                    ),
                    None => format!("{WWW_AUTHENTICATE}, error=\"insufficient_scope\""),
                },
            )],
            ..detail(403, "You do not have permission to perform this action.")
        },
        // DRF's `SessionAuthentication` wording, with Django's reasons.
        AuthError::CsrfFailed(reason) => detail(
            403,
            match reason {
                CsrfFailure::CookieMissing => "CSRF Failed: CSRF cookie not set.",
                CsrfFailure::TokenMissing => "CSRF Failed: CSRF token missing.",
                _ => "CSRF Failed: CSRF token incorrect.",
            },
        ),
        AuthError::NotFound => detail(404, "Not found."),
        AuthError::Throttled { retry_after_secs } => Rendered {
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
        AuthError::Overloaded { retry_after_secs } => Rendered {
            headers: vec![("Retry-After", retry_after_secs.to_string())],
            ..detail(503, UNAVAILABLE_MESSAGE)
        },
        // `Internal` and any variant added later: the cause is logged, never sent.
        // RFC 6749 §5.2: 400, but `invalid_client`, a 401 with a Basic
        // challenge (allowed for every client, required after a failed
        // Basic authentication).
        AuthError::OAuth(err) if err.code == OAuthErrorCode::InvalidClient => Rendered {
            status: 401,
            body: json!(OAuthErrorBody::of(err)),
            headers: vec![("WWW-Authenticate", WWW_AUTHENTICATE_CLIENT.to_string())],
        },
        AuthError::OAuth(err) => Rendered {
            status: 400,
            body: json!(OAuthErrorBody::of(err)),
            headers: Vec::new(),
        },
        _ => detail(500, "A server error occurred."),
    }
}

#[cfg(test)]
mod tests {
    use auth_core::error::StoreError;

    use super::*;

    #[test]
    fn store_errors_map_to_service_errors() {
        let unavailable: AuthError = StoreError::unavailable("pool timed out").into();
        assert_eq!(render(&unavailable).status, 503);
        let other: AuthError = StoreError::other("boom").into();
        let response = render(&other);
        assert_eq!(response.status, 500);
        assert!(!response.body.to_string().contains("boom"));
    }

    #[test]
    fn every_401_carries_www_authenticate() {
        for err in [
            AuthError::TokenNotValid,
            AuthError::InvalidCredentials(TokenKind::Jwt),
            AuthError::Unauthenticated(TokenRejection::Missing),
            AuthError::Unauthenticated(TokenRejection::Invalid),
        ] {
            let response = render(&err);
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
        let body = render(&AuthError::Throttled {
            retry_after_secs: 1,
        })
        .body;
        assert_eq!(
            body["detail"],
            "Request was throttled. Expected available in 1 second."
        );
    }

    #[test]
    fn throttle_sends_retry_after() {
        let response = render(&AuthError::Throttled {
            retry_after_secs: 12,
        });
        assert_eq!(response.status, 429);
        assert_eq!(response.headers, vec![("Retry-After", "12".to_string())]);
        assert_eq!(
            response.body["detail"],
            "Request was throttled. Expected available in 12 seconds."
        );
    }

    #[test]
    fn bad_credentials_render_as_each_login_endpoint_answers() {
        for kind in [TokenKind::Knox, TokenKind::Static, TokenKind::Credentials] {
            let response = render(&AuthError::InvalidCredentials(kind));
            assert_eq!(response.status, 400);
            assert_eq!(
                response.body,
                json!({"non_field_errors": ["Unable to log in with provided credentials."]})
            );
        }
        let response = render(&AuthError::WrongPassword {
            field: "old_password",
        });
        assert_eq!(response.status, 400);
        assert_eq!(
            response.body,
            json!({"old_password": ["Your password was entered incorrectly. Please enter it again."]})
        );
    }

    /// The statuses the core's tests asserted before the table moved here.
    #[test]
    fn core_outcomes_render_with_their_statuses() {
        let cases = [
            (AuthError::TokenNotValid, 401, Some("token_not_valid")),
            (AuthError::TokenLimitReached, 403, None),
            (AuthError::Internal("key".into()), 500, None),
            (
                AuthError::Throttled {
                    retry_after_secs: 60,
                },
                429,
                None,
            ),
        ];
        for (err, status, code) in cases {
            let response = render(&err);
            assert_eq!(response.status, status, "{err:?}");
            assert_eq!(response.body["code"].as_str(), code, "{err:?}");
        }
        let response = render(&AuthError::WrongPassword { field: "password" });
        assert_eq!(response.status, 400);
        assert!(response.body.get("password").is_some());
        let response = render(&AuthError::Overloaded {
            retry_after_secs: 2,
        });
        assert_eq!(response.status, 503);
        assert_eq!(response.headers, vec![("Retry-After", "2".to_string())]);
        assert_eq!(response.body, json!({ "detail": UNAVAILABLE_MESSAGE }));
    }
}
