//! Hostile input (#21.5, #21.6): bodies that are not declared JSON, and
//! strings no store can hold (NUL and other control characters, lone
//! surrogates as JSON escapes, 10,000-character values), each answered
//! with the contract's 4xx, never a 5xx.

use reqwest::Method;
use serde_json::json;

use super::PASSWORD;
use crate::harness::Env;

/// A JSON route reads only `application/json` (any case, with parameters);
/// anything else, a missing type included, is DRF's 415. An empty body
/// needs no type.
pub async fn content_types(env: Env) {
    let t = env.start().await;
    t.active_user("typed", PASSWORD).await;
    let login = json!({ "username": "typed", "password": PASSWORD }).to_string();

    let resp = t
        .req(Method::POST, "/api/auth/jwt/create")
        .untyped(login.clone())
        .send()
        .await;
    resp.expect(415);
    assert_eq!(
        resp.json,
        json!({ "detail": "Unsupported media type \"\" in request." })
    );
    for (route, content_type) in [
        ("/api/auth/jwt/create", "text/plain"),
        ("/api/auth/token/login", "application/x-www-form-urlencoded"),
        ("/api/auth/register", "text/plain;charset=UTF-8"),
        (
            "/api/auth/password/reset",
            "multipart/form-data; boundary=x",
        ),
        ("/api/auth/jwt/create", "application/vnd.api+json"),
    ] {
        let resp = t
            .req(Method::POST, route)
            .raw(content_type, login.clone())
            .send()
            .await;
        resp.expect(415);
        assert_eq!(
            resp.json,
            json!({ "detail": format!("Unsupported media type \"{content_type}\" in request.") }),
            "{route} with {content_type}"
        );
    }

    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;Charset=UTF-8",
    ] {
        let resp = t
            .req(Method::POST, "/api/auth/jwt/create")
            .raw(content_type, login.clone())
            .send()
            .await;
        resp.expect(200);
    }

    // No body and no type: an empty body, as DRF reads it.
    let resp = t
        .req(Method::POST, "/api/auth/register")
        .untyped("")
        .send()
        .await;
    resp.expect(400);
    assert_eq!(resp.json["username"], json!(["This field is required."]));
    let token = t.knox_login("typed", PASSWORD).await;
    t.req(Method::POST, "/api/auth/token/logout")
        .token(&token)
        .untyped("")
        .send()
        .await
        .expect(204);
    t.finish().await;
}

/// Strings no store can hold, in every field a request hands on: a 4xx of
/// the contract (a login that finds nobody, a field error, a JSON parse
/// error), never a 5xx; a search finds nobody.
pub async fn odd_strings(env: Env) {
    // Dozens of failed logins for one account: the harness's servers
    // throttle nothing unless a case turns limits on.
    let t = env.start().await;
    t.create_superuser("root", "root@example.com", PASSWORD)
        .await;
    let (admin, _) = t.jwt_login("root", PASSWORD).await;
    t.active_user("plain", PASSWORD).await;
    let (access, _) = t.jwt_login("plain", PASSWORD).await;

    let long = "x".repeat(10_000);
    let odd = [
        "a\u{0}b".to_string(),
        "plain\u{0}".to_string(),
        "\u{0}".to_string(),
        "pl\u{1}ain".to_string(),
        "plain\u{7f}".to_string(),
        "plain ".to_string(),
        format!("plain{long}"),
        long.clone(),
    ];
    let emails = odd
        .iter()
        .flat_map(|s| [format!("{s}@example.com"), format!("plain@example.com{s}")])
        .collect::<Vec<_>>();

    // A login by any of them fails; a reset or resend answers its one 202
    // (a valid address, e.g. once trimmed) or a 400 field error.
    let answered = |resp: &crate::harness::Resp, what: &str, allowed: &[u16]| {
        assert!(
            allowed.contains(&resp.status),
            "{what}: expected one of {allowed:?}, got {} {}",
            resp.status,
            resp.text.chars().take(300).collect::<String>()
        );
    };
    // Searched before any name below is changed to one of them; the term
    // is trimmed (as DRF's SearchFilter splits on spaces), so "plain "
    // rightly finds "plain".
    for value in odd.iter().chain(&emails).filter(|v| v.trim() == *v) {
        let short: String = value.chars().take(20).collect();
        let resp = t
            .get(&format!("/api/users?search={}", utf8_percent_encode(value)))
            .bearer(&admin)
            .send()
            .await;
        resp.expect(200);
        assert_eq!(resp.json["count"], 0, "search {short:?}: {}", resp.text);
    }
    for value in odd.iter().chain(&emails) {
        let short: String = value.chars().take(20).collect();
        for (route, field) in [
            ("/api/auth/jwt/create", "username"),
            ("/api/auth/jwt/create", "email"),
            ("/api/auth/token/login", "username"),
            ("/api/auth/static-token", "email"),
        ] {
            let resp = t
                .post(route, json!({ field: value, "password": PASSWORD }))
                .send()
                .await;
            answered(
                &resp,
                &format!("{route} with {field} {short:?}"),
                &[400, 401],
            );
        }
        for route in ["/api/auth/password/reset", "/api/auth/activate/resend"] {
            let resp = t.post(route, json!({ "email": value })).send().await;
            answered(&resp, &format!("{route} with {short:?}"), &[202, 400]);
        }
        let resp = t
            .post(
                "/api/auth/register",
                json!({
                    "username": value, "email": value,
                    "password": PASSWORD, "confirm_password": PASSWORD,
                }),
            )
            .send()
            .await;
        resp.expect(400);
        for field in [("first_name", json!(value)), ("last_name", json!(value))] {
            let resp = t
                .req(Method::PATCH, "/api/auth/me")
                .bearer(&access)
                .json(json!({ field.0: field.1 }))
                .send()
                .await;
            // Names may hold other control characters (DRF refuses only
            // NUL, checked below); no value may give a 5xx.
            assert!(
                resp.status < 500,
                "PATCH /me {} {short:?}: {} {}",
                field.0,
                resp.status,
                resp.text
            );
        }
    }
    // NUL in names and profile values is refused as DRF refuses it.
    for body in [
        json!({ "first_name": "a\u{0}b" }),
        json!({ "last_name": "\u{0}" }),
        json!({ "profile": { "bio": "a\u{0}b" } }),
        json!({ "profile": { "a\u{0}b": 1 } }),
        json!({ "profile": { "nested": ["x", { "y": "\u{0}" }] } }),
    ] {
        let resp = t
            .req(Method::PATCH, "/api/auth/me")
            .bearer(&access)
            .json(body.clone())
            .send()
            .await;
        resp.expect(400);
        let field = body.as_object().and_then(|o| o.keys().next()).cloned();
        let field = field.unwrap_or_default();
        assert_eq!(
            resp.json[&field],
            json!(["Null characters are not allowed."]),
            "{body}"
        );
    }
    let resp = t
        .post(
            "/api/users",
            json!({
                "username": "nul", "email": "nul@example.com", "password": PASSWORD,
                "first_name": "a\u{0}b",
            }),
        )
        .bearer(&admin)
        .send()
        .await;
    resp.expect(400);

    // Lone surrogates as JSON escapes: not JSON text a server can read.
    for body in [
        r#"{"username": "\ud800", "password": "x"}"#,
        r#"{"username": "a\udfffb", "password": "x"}"#,
        r#"{"email": "\ud83d@example.com", "password": "x"}"#,
    ] {
        for route in [
            "/api/auth/jwt/create",
            "/api/auth/token/login",
            "/api/auth/register",
            "/api/auth/password/reset",
            "/api/auth/activate/resend",
        ] {
            let resp = t
                .req(Method::POST, route)
                .raw("application/json", body)
                .send()
                .await;
            resp.expect(400);
        }
    }
    // The user is untouched.
    t.jwt_login("plain", PASSWORD).await;
    t.finish().await;
}

/// `value` percent-encoded for a query string (every byte outside the
/// unreserved set).
fn utf8_percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
