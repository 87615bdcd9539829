//! Login throttling with `Retry-After`.

use serde_json::json;

use super::PASSWORD;
use crate::harness::Env;

pub async fn login_throttling(env: Env) {
    let Some(t) = env
        .start_with(|s| s.login_throttle = "3/min".parse().unwrap())
        .await
    else {
        return;
    };
    t.active_user("sam", PASSWORD).await;
    let wrong = json!({ "username": "sam", "password": "wrong-password-sam" });
    for _ in 0..3 {
        t.post("/api/auth/jwt/create", wrong.clone())
            .send()
            .await
            .expect(401);
    }
    for path in ["/api/auth/jwt/create", "/api/auth/token/login"] {
        let resp = t
            .post(path, json!({ "username": "sam", "password": PASSWORD }))
            .send()
            .await;
        resp.expect(429);
        let retry_after: u64 = resp
            .header("retry-after")
            .expect("429 without Retry-After")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let detail = resp.str("detail");
        assert!(
            detail.starts_with("Request was throttled. Expected available in ")
                && detail.ends_with(" seconds."),
            "{detail}"
        );
    }
    // Another account from the same address is not throttled yet.
    t.active_user("tom", PASSWORD).await;
    t.jwt_login("tom", PASSWORD).await;
    t.finish().await;
}
