//! A full run over every kind of credential, then the leak checks of
//! `Ctx::finish` (every other case runs them too).

use reqwest::Method;
use serde_json::json;

use super::{NEW_PASSWORD, PASSWORD};
use crate::harness::Env;

pub async fn full_run_leaks_no_secret(env: Env) {
    let Some(t) = env.start().await else { return };
    let email = t.active_user("uma", PASSWORD).await;
    // Failed logins of every kind (their passwords must not be logged).
    for path in [
        "/api/auth/jwt/create",
        "/api/auth/token/login",
        "/api/auth/static-token",
    ] {
        let status = t
            .post(
                path,
                json!({ "username": "uma", "password": "leaky-wrong-password-1" }),
            )
            .send()
            .await
            .status;
        assert!(status == 400 || status == 401, "{path}: {status}");
    }
    let (access, refresh) = t.jwt_login("uma", PASSWORD).await;
    let knox = t.knox_login("uma", PASSWORD).await;
    let resp = t
        .post(
            "/api/auth/static-token",
            json!({ "username": "uma", "password": PASSWORD }),
        )
        .send()
        .await;
    let static_token = resp.str("token");
    t.post("/api/auth/jwt/verify", json!({ "token": access }))
        .send()
        .await
        .expect(200);
    let rotated = t
        .post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await;
    rotated.expect(200);
    // A replay, a forged token of each kind, and requests with each.
    t.post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await
        .expect(401);
    t.get("/api/auth/me").bearer(&access).send().await;
    t.get("/api/auth/me").token(&knox).send().await.expect(200);
    t.get("/api/auth/me")
        .token(&static_token)
        .send()
        .await
        .expect(200);
    t.get("/api/auth/me/history")
        .token(&knox)
        .send()
        .await
        .expect(200);
    t.get("/api/auth/token/sessions")
        .token(&knox)
        .send()
        .await
        .expect(200);
    t.post("/api/auth/password/reset", json!({ "email": email }))
        .send()
        .await
        .expect(202);
    let (uid, token) = t.link_from_email(&email, "/password/reset/confirm/").await;
    t.post(
        "/api/auth/password/reset/confirm",
        json!({
            "uid": uid, "token": token,
            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        }),
    )
    .send()
    .await
    .expect(204);
    t.post(
        "/api/auth/password/reset/confirm",
        json!({
            "uid": uid, "token": token,
            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        }),
    )
    .send()
    .await
    .expect(400);
    let knox = t.knox_login("uma", NEW_PASSWORD).await;
    t.req(Method::POST, "/api/auth/password/change")
        .token(&knox)
        .json(json!({
            "old_password": NEW_PASSWORD,
            "new_password": "final-secret-phrase-93",
            "confirm_password": "final-secret-phrase-93",
        }))
        .send()
        .await
        .expect(204);
    t.req(Method::POST, "/api/auth/token/logoutall")
        .token(&knox)
        .send()
        .await
        .expect(204);
    t.finish().await;
}
