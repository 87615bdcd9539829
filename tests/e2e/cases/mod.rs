//! The test cases: `async fn(Env)`, each starting its own server.

pub mod accounts;
pub mod admin;
pub mod django;
pub mod hostile;
pub mod jwt;
pub mod knox;
pub mod oauth;
pub mod oidc;
pub mod secrets;
pub mod service;
pub mod throttle;

use serde_json::Value;

/// A password every validator accepts.
pub const PASSWORD: &str = "plum-orbit-cascade-71";
/// Another.
pub const NEW_PASSWORD: &str = "amber-quartz-lantern-38";

/// Asserts `value` is an API.md user object with no secret in it.
#[track_caller]
pub fn assert_user(value: &Value, username: &str) {
    for field in [
        "id",
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
        "profile",
    ] {
        assert!(value.get(field).is_some(), "user without {field}: {value}");
    }
    assert_eq!(value["username"], username, "{value}");
    assert!(value["profile"].is_object(), "{value}");
    assert!(value.get("password").is_none(), "{value}");
    let id = value["id"].as_str().expect("a string id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

/// Asserts a 401 of the contract: `detail`, `code`, `WWW-Authenticate`.
#[track_caller]
pub fn assert_401(resp: &crate::harness::Resp) {
    resp.expect(401);
    assert!(resp.json["detail"].is_string(), "{}", resp.text);
    assert!(resp.json["code"].is_string(), "{}", resp.text);
    let challenge = resp
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("401 without WWW-Authenticate: {}", resp.text));
    assert!(challenge.contains("realm=\"api\""), "{challenge}");
}
