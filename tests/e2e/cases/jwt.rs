//! simplejwt-style JWT routes.

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

use super::{PASSWORD, assert_401};
use crate::harness::{Ctx, Env};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn assert_token_not_valid(resp: &crate::harness::Resp) {
    resp.expect(401);
    assert_eq!(resp.json["code"], "token_not_valid", "{}", resp.text);
    assert!(resp.json["detail"].is_string(), "{}", resp.text);
}

pub async fn jwt_login_verify_blacklist(env: Env) {
    let t = env.start().await;
    t.active_user("jay", PASSWORD).await;
    let wrong = t
        .post(
            "/api/auth/jwt/create",
            json!({ "username": "jay", "password": "not-the-password-1" }),
        )
        .send()
        .await;
    let unknown = t
        .post(
            "/api/auth/jwt/create",
            json!({ "username": "nobody", "password": "not-the-password-1" }),
        )
        .send()
        .await;
    wrong.expect(401);
    unknown.expect(401);
    assert_eq!(wrong.json, unknown.json);
    assert_eq!(wrong.json["code"], "no_active_account");

    let (access, refresh) = t.jwt_login("jay", PASSWORD).await;
    let access_claims = claims(&access);
    assert_eq!(access_claims["token_type"], "access");
    for claim in ["exp", "iat", "jti", "user_id"] {
        assert!(
            access_claims.get(claim).is_some(),
            "{claim}: {access_claims}"
        );
    }
    assert!(access_claims["user_id"].is_string());
    assert_eq!(claims(&refresh)["token_type"], "refresh");

    for token in [&access, &refresh] {
        let resp = t
            .post("/api/auth/jwt/verify", json!({ "token": token }))
            .send()
            .await;
        resp.expect(200);
        assert_eq!(resp.json, json!({}));
    }
    assert_token_not_valid(
        &t.post("/api/auth/jwt/verify", json!({ "token": "a.b.c" }))
            .send()
            .await,
    );
    // A tampered signature.
    let tampered = format!("{}x", &access[..access.len() - 1]);
    assert_token_not_valid(
        &t.post("/api/auth/jwt/verify", json!({ "token": tampered }))
            .send()
            .await,
    );

    let jwks = t.get("/api/auth/jwks.json").send().await;
    jwks.expect(200);
    assert_eq!(jwks.json, json!({ "keys": [] }), "HS256: no public keys");

    let resp = t
        .post("/api/auth/jwt/blacklist", json!({ "refresh": refresh }))
        .send()
        .await;
    resp.expect(200);
    assert_eq!(resp.json, json!({}));
    // As in simplejwt, blacklisting the refresh token leaves the access
    // token working until it expires...
    t.get("/api/auth/me")
        .bearer(&access)
        .send()
        .await
        .expect(200);
    assert_token_not_valid(
        &t.post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
            .send()
            .await,
    );
    assert_token_not_valid(
        &t.post("/api/auth/jwt/blacklist", json!({ "refresh": access }))
            .send()
            .await,
    );
    // Presenting a blacklisted refresh token again is a replay: its whole
    // rotation family is revoked, the access token of that login included.
    t.get("/api/auth/me")
        .bearer(&access)
        .send()
        .await
        .expect(401);
    t.finish().await;
}

pub async fn jwt_refresh_rotation_and_reuse(env: Env) {
    let t = env.start().await;
    t.active_user("kim", PASSWORD).await;
    let (_, first) = t.jwt_login("kim", PASSWORD).await;
    let (_, unrelated) = t.jwt_login("kim", PASSWORD).await;

    let resp = t
        .post("/api/auth/jwt/refresh/", json!({ "refresh": first }))
        .send()
        .await;
    resp.expect(200);
    let access = resp.str("access");
    let second = resp.str("refresh");
    assert_ne!(second, first, "rotation gives a new refresh token");
    t.get("/api/auth/me")
        .bearer(&access)
        .send()
        .await
        .expect(200);

    // The rotated-out token replayed: refused, and the whole chain with it.
    assert_token_not_valid(
        &t.post("/api/auth/jwt/refresh", json!({ "refresh": first }))
            .send()
            .await,
    );
    assert_token_not_valid(
        &t.post("/api/auth/jwt/refresh", json!({ "refresh": second }))
            .send()
            .await,
    );
    // Another login's chain is untouched.
    t.post("/api/auth/jwt/refresh", json!({ "refresh": unrelated }))
        .send()
        .await
        .expect(200);
    assert_token_not_valid(
        &t.post("/api/auth/jwt/refresh", json!({ "refresh": access }))
            .send()
            .await,
    );
    t.finish().await;
}

pub async fn expired_access_token(env: Env) {
    // 2 s on the server's clock, which the test moves on.
    let clock = std::sync::Arc::new(auth_core::ManualClock::new(chrono::Utc::now()));
    let t = env
        .start_with(|s| {
            s.access_ttl = 2;
            s.clock = Some(clock.clone());
        })
        .await;
    t.active_user("lou", PASSWORD).await;
    let (access, refresh) = t.jwt_login("lou", PASSWORD).await;
    t.get("/api/auth/me")
        .bearer(&access)
        .send()
        .await
        .expect(200);
    clock.advance(chrono::Duration::seconds(3));
    let resp = t.get("/api/auth/me").bearer(&access).send().await;
    assert_401(&resp);
    assert_token_not_valid(
        &t.post("/api/auth/jwt/verify", json!({ "token": access }))
            .send()
            .await,
    );
    // The refresh token outlives it.
    let resp = t
        .post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await;
    resp.expect(200);
    t.get("/api/auth/me")
        .bearer(&resp.str("access"))
        .send()
        .await
        .expect(200);
    t.finish().await;
}

/// Issue #24: the demo's `--jwt-profile-claims` (a claims hook) copies the
/// listed keys of the user's profile into the tokens it issues, beside the
/// registered claims, on login and on every refresh.
pub async fn profile_claims_in_issued_tokens(env: Env) {
    let t = env
        .start_with(|s| s.jwt_profile_claims = vec!["team".into(), "floor".into()])
        .await;
    t.active_user("ren", PASSWORD).await;
    let (access, _) = t.jwt_login("ren", PASSWORD).await;
    assert!(claims(&access).get("team").is_none(), "an empty profile");
    set_team(&t, &access, "red").await;

    let (access, refresh) = t.jwt_login("ren", PASSWORD).await;
    let me = t.get("/api/auth/me").bearer(&access).send().await;
    me.expect(200);
    assert_eq!(me.json["profile"], json!({ "team": "red" }));
    let user_id = me.str("id");
    let assert_claims = |token: &str, token_type: &str, team: &str| {
        let claims = claims(token);
        assert_eq!(claims["team"], team, "{claims}");
        assert!(claims.get("floor").is_none(), "a missing key: {claims}");
        assert_eq!(claims["token_type"], token_type, "{claims}");
        assert_eq!(claims["user_id"], user_id.as_str(), "{claims}");
        assert!(claims["jti"].is_string(), "{claims}");
        let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
        assert!(iat.zip(exp).is_some_and(|(iat, exp)| exp > iat), "{claims}");
    };
    assert_claims(&access, "access", "red");
    assert_claims(&refresh, "refresh", "red");

    let resp = t
        .post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await;
    resp.expect(200);
    let (access, refresh) = (resp.str("access"), resp.str("refresh"));
    assert_claims(&access, "access", "red");
    assert_claims(&refresh, "refresh", "red");
    t.get("/api/auth/me")
        .bearer(&access)
        .send()
        .await
        .expect(200);

    // A refresh asks the profile again: the claim follows it.
    set_team(&t, &access, "blue").await;
    let resp = t
        .post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await;
    resp.expect(200);
    assert_claims(&resp.str("access"), "access", "blue");
    t.finish().await;
}

/// Sets `team` in the profile of the user of `access`.
async fn set_team(t: &Ctx, access: &str, team: &str) {
    t.req(Method::PATCH, "/api/auth/me")
        .bearer(access)
        .json(json!({ "profile": { "team": team } }))
        .send()
        .await
        .expect(200);
}
