//! Knox-style and static tokens.

use reqwest::Method;
use serde_json::json;

use super::{PASSWORD, assert_401};
use crate::harness::Env;

const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

pub async fn knox_login_logout(env: Env) {
    let t = env.start().await;
    t.active_user("max", PASSWORD).await;
    let bad = t
        .post(
            "/api/auth/token/login",
            json!({ "username": "max", "password": "wrong-password-max" }),
        )
        .send()
        .await;
    bad.expect(400);
    assert_eq!(bad.json, json!({ "non_field_errors": [BAD_CREDENTIALS] }));
    // An unknown user and an inactive account: the very same answer.
    t.post(
        "/api/auth/register",
        json!({
            "username": "nix", "email": "nix@example.com",
            "password": PASSWORD, "confirm_password": PASSWORD,
        }),
    )
    .send()
    .await
    .expect(201);
    for (username, password) in [("nobody", "wrong-password-max"), ("nix", PASSWORD)] {
        for path in ["/api/auth/token/login", "/api/auth/static-token"] {
            let resp = t
                .post(path, json!({ "username": username, "password": password }))
                .send()
                .await;
            assert_eq!((resp.status, &resp.json), (bad.status, &bad.json), "{path}");
        }
    }

    let resp = t
        .post(
            "/api/auth/token/login/",
            json!({ "email": "max@example.com", "password": PASSWORD }),
        )
        .send()
        .await;
    resp.expect(200);
    let first = resp.str("token");
    assert!(
        resp.json["expiry"].is_string() || resp.json["expiry"].is_null(),
        "{}",
        resp.text
    );
    let second = t.knox_login("max", PASSWORD).await;
    let third = t.knox_login("max", PASSWORD).await;
    t.get("/api/auth/me").token(&first).send().await.expect(200);

    let out = t
        .req(Method::POST, "/api/auth/token/logout")
        .token(&first)
        .send()
        .await;
    out.expect(204);
    assert_401(&t.get("/api/auth/me").token(&first).send().await);
    t.get("/api/auth/me")
        .token(&second)
        .send()
        .await
        .expect(200);

    t.req(Method::POST, "/api/auth/token/logoutall/")
        .token(&second)
        .send()
        .await
        .expect(204);
    assert_401(&t.get("/api/auth/me").token(&second).send().await);
    assert_401(&t.get("/api/auth/me").token(&third).send().await);
    t.finish().await;
}

pub async fn knox_sessions(env: Env) {
    let t = env.start().await;
    t.active_user("ned", PASSWORD).await;
    let mine = t.knox_login("ned", PASSWORD).await;
    let other = t.knox_login("ned", PASSWORD).await;
    let resp = t.get("/api/auth/token/sessions").token(&mine).send().await;
    resp.expect(200);
    let sessions = resp.json.as_array().expect("a JSON array");
    assert_eq!(sessions.len(), 2, "{}", resp.text);
    for session in sessions {
        for field in ["token_key", "name", "created", "expiry", "last_used"] {
            assert!(session.get(field).is_some(), "{field}: {session}");
        }
    }
    let other_key = sessions
        .iter()
        .map(|s| s["token_key"].as_str().expect("token_key").to_owned())
        .find(|key| other.starts_with(key.as_str()))
        .expect("the other token's key is a prefix of it");
    assert!(other_key.len() < other.len());

    t.req(
        Method::DELETE,
        &format!("/api/auth/token/sessions/{other_key}"),
    )
    .token(&mine)
    .send()
    .await
    .expect(204);
    assert_401(&t.get("/api/auth/me").token(&other).send().await);
    let resp = t.get("/api/auth/token/sessions").token(&mine).send().await;
    assert_eq!(resp.json.as_array().map(Vec::len), Some(1), "{}", resp.text);
    t.req(Method::DELETE, "/api/auth/token/sessions/nosuchkey")
        .token(&mine)
        .send()
        .await
        .expect(404);

    // Sessions work with a JWT too ("any" auth).
    let (access, _) = t.jwt_login("ned", PASSWORD).await;
    t.get("/api/auth/token/sessions")
        .bearer(&access)
        .send()
        .await
        .expect(200);
    t.finish().await;
}

pub async fn static_tokens(env: Env) {
    let t = env.start().await;
    t.active_user("oli", PASSWORD).await;
    let bad = t
        .post(
            "/api/auth/static-token",
            json!({ "username": "oli", "password": "wrong-password-oli" }),
        )
        .send()
        .await;
    bad.expect(400);
    assert_eq!(bad.json, json!({ "non_field_errors": [BAD_CREDENTIALS] }));

    let login = json!({ "username": "oli", "password": PASSWORD });
    let first = t.post("/api/auth/static-token", login.clone()).send().await;
    first.expect(200);
    let token = first.str("token");
    let again = t
        .post("/api/auth/static-token/", login.clone())
        .send()
        .await;
    again.expect(200);
    assert_eq!(again.str("token"), token, "the user's one token");
    t.get("/api/auth/me").token(&token).send().await.expect(200);

    t.req(Method::DELETE, "/api/auth/static-token")
        .token(&token)
        .send()
        .await
        .expect(204);
    assert_401(&t.get("/api/auth/me").token(&token).send().await);
    let fresh = t.post("/api/auth/static-token", login).send().await;
    fresh.expect(200);
    assert_ne!(fresh.str("token"), token);
    t.finish().await;
}
