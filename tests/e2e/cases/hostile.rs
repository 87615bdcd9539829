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
    let Some(t) = env.start().await else { return };
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
