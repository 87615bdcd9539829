//! A full run over every kind of credential, then the leak checks of
//! `Ctx::finish` (every other case runs them too).

use reqwest::Method;
use serde_json::json;

use super::{NEW_PASSWORD, PASSWORD};
use crate::harness::Env;

pub async fn full_run_leaks_no_secret(env: Env) {
    let t = env.start().await;
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
    let forged = forgeries(&access, &knox, &static_token);
    for (what, scheme, token) in &forged {
        t.remember_token(token);
        let resp = t
            .get("/api/auth/me")
            .header("Authorization", &format!("{scheme} {token}"))
            .send()
            .await;
        assert_eq!(resp.status, 401, "a forged {what} was accepted");
    }
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

/// A forged token of each kind, made from real ones: an access token with
/// another signature and one whose claims were changed under the old
/// signature, and a Knox and a static token with their secret part changed
/// (same shape and length). `(what, scheme, token)` each.
fn forgeries(
    access: &str,
    knox: &str,
    static_token: &str,
) -> Vec<(&'static str, &'static str, String)> {
    let flip = |token: &str, at: usize| -> String {
        let mut chars: Vec<char> = token.chars().collect();
        let i = at.min(chars.len() - 1);
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect()
    };
    let mut parts = access.splitn(3, '.');
    let (header, claims, signature) = (
        parts.next().expect("a JWS header"),
        parts.next().expect("JWS claims"),
        parts.next().expect("a JWS signature"),
    );
    vec![
        (
            "JWT signature",
            "Bearer",
            format!("{header}.{claims}.{}", flip(signature, 5)),
        ),
        (
            "JWT payload",
            "Bearer",
            format!("{header}.{}.{signature}", flip(claims, 12)),
        ),
        ("Knox token", "Token", flip(knox, knox.len() - 3)),
        (
            "static token",
            "Token",
            flip(static_token, static_token.len() - 3),
        ),
    ]
}
