//! Every JSON body reader of the account flows (auth-http's `FromJson` and
//! `admin_user_from_json`, into auth-core's typed inputs): any bytes, parsed as JSON the
//! way auth-http parses a body, then read as each request type.
//!
//! Holds: no panic; a refusal is a 400 of DRF's shape (an object whose
//! every value is a non-empty list of strings); what is accepted is what
//! the body said (strings taken as sent, the email trimmed; a partial
//! admin update sets only the fields present).
#![no_main]

use auth_core::AuthError;
use auth_core::flows::{
    AccountDeletion, Credentials, EmailRequest, LinkConfirmation, Login, PasswordChange,
    ProfileUpdate, Registration, ResetConfirmation,
};
use auth_http::{ApiResponse, FromJson, admin_user_from_json};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A refusal must render as DRF's validation error.
fn check_refusal(err: AuthError) {
    let AuthError::Validation(_) = &err else {
        panic!("a body reader failed with something other than a field error: {err:?}");
    };
    let response = ApiResponse::from_error(&err);
    assert_eq!(response.status, 400);
    let body = response.json_body();
    let fields = body.as_object().expect("a 400 body is an object");
    for (field, messages) in fields {
        let messages = messages.as_array().expect("each field has a list");
        assert!(!messages.is_empty(), "an empty error list for {field:?}");
        assert!(
            messages.iter().all(Value::is_string),
            "a non-string message"
        );
    }
}

fn string(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// `Ok` values are checked by `check`, refusals by [`check_refusal`].
fn read<T>(result: Result<T, AuthError>, check: impl FnOnce(T)) {
    match result {
        Ok(value) => check(value),
        Err(err) => check_refusal(err),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let b = &body;
    read(Credentials::from_json(b), |c| {
        assert_eq!(Some(c.password), string(b, "password"));
        match c.login {
            Login::Username(u) => assert_eq!(Some(u), string(b, "username")),
            Login::Email(e) => assert_eq!(Some(e), string(b, "email")),
        }
    });
    read(Registration::from_json(b), |r| {
        assert_eq!(Some(r.username), string(b, "username"));
        assert_eq!(
            Some(r.email),
            string(b, "email").map(|e| e.trim().to_owned())
        );
        assert_eq!(Some(r.password), string(b, "password"));
        assert_eq!(Some(r.confirm_password), string(b, "confirm_password"));
    });
    read(LinkConfirmation::from_json(b), |l| {
        assert_eq!(Some(l.uid), string(b, "uid"));
        assert_eq!(Some(l.token), string(b, "token"));
    });
    read(EmailRequest::from_json(b), |e| {
        assert_eq!(
            Some(e.email),
            string(b, "email").map(|e| e.trim().to_owned())
        );
    });
    read(ResetConfirmation::from_json(b), |r| {
        assert_eq!(Some(r.new_password), string(b, "new_password"));
        assert_eq!(Some(r.token), string(b, "token"));
    });
    read(PasswordChange::from_json(b), |p| {
        assert_eq!(Some(p.old_password), string(b, "old_password"));
        assert_eq!(Some(p.new_password), string(b, "new_password"));
    });
    read(AccountDeletion::from_json(b), |d| {
        assert_eq!(Some(d.password), string(b, "password"));
    });
    read(ProfileUpdate::from_json(b), |p| {
        for field in ["email", "username", "password", "is_staff", "is_superuser"] {
            assert!(b.get(field).is_none(), "PATCH /me accepted {field:?}");
        }
        assert_eq!(p.first_name, string(b, "first_name"));
        assert_eq!(p.profile.is_some(), b.get("profile").is_some());
    });
    for partial in [true, false] {
        read(admin_user_from_json(b, partial), |a| {
            assert_eq!(a.patch.username, string(b, "username"));
            assert_eq!(
                a.patch.email,
                string(b, "email").map(|e| e.trim().to_owned())
            );
            assert_eq!(a.patch.is_staff, b.get("is_staff").and_then(Value::as_bool));
            assert_eq!(
                a.patch.is_superuser,
                b.get("is_superuser").and_then(Value::as_bool)
            );
            assert_eq!(a.password, string(b, "password"));
            if !partial {
                assert!(a.patch.username.is_some() && a.patch.email.is_some());
            }
        });
    }
});
