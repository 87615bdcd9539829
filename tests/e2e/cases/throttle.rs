//! Rate limits: login and registration throttling with `Retry-After`,
//! atomic under concurrency; and every limit off.

use auth_demo::Switch;
use serde_json::json;

use super::PASSWORD;
use crate::harness::Env;

pub async fn login_throttling(env: Env) {
    let t = env
        .start_with(|s| {
            s.throttle = Switch::On;
            s.login_throttle = "3/min".parse().unwrap();
        })
        .await;
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
    // Logging in by email is the same account's bucket.
    t.post(
        "/api/auth/jwt/create",
        json!({ "email": "sam@example.com", "password": PASSWORD }),
    )
    .send()
    .await
    .expect(429);
    // Another account from the same address is not throttled yet.
    t.active_user("tom", PASSWORD).await;
    t.jwt_login("tom", PASSWORD).await;
    t.finish().await;
}

/// 40 wrong-password logins for one account sent at once, under 5 a
/// minute per account: exactly 5 are verified (401), the rest are 429.
pub async fn concurrent_logins_cannot_outrun_the_limit(env: Env) {
    let t = env
        .start_with(|s| {
            s.throttle = Switch::On;
            s.throttle_rates = "login_account=5/min,login_ip=1000/min".parse().unwrap();
        })
        .await;
    t.active_user("rush", PASSWORD).await;
    let t = std::sync::Arc::new(t);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let wrong = json!({ "username": "rush", "password": format!("wrong-password-{i}") });
            let request = t.post("/api/auth/jwt/create", wrong);
            barrier.wait().await;
            request.send().await.status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("a login task panicked"));
    }
    statuses.sort_unstable();
    let mut expected = vec![401; 5];
    expected.extend([429; 35]);
    assert_eq!(statuses, expected, "5 x 401 then 429s");
    let t = std::sync::Arc::into_inner(t).expect("every task is done");
    t.finish().await;
}

/// Registration is limited per client address by default (10 an hour).
pub async fn registration_is_throttled_per_address(env: Env) {
    let t = env.start_with(|s| s.throttle = Switch::On).await;
    let register = |i: usize| {
        t.post(
            "/api/auth/register",
            json!({
                "username": format!("reg{i}"), "email": format!("reg{i}@example.com"),
                "password": PASSWORD, "confirm_password": PASSWORD,
            }),
        )
        .send()
    };
    for i in 0..10 {
        register(i).await.expect(201);
    }
    let resp = register(10).await;
    resp.expect(429);
    assert!(resp.header("retry-after").is_some(), "{:?}", resp.headers);
    // Counted before the password rules run and anything is hashed.
    t.post(
        "/api/auth/register",
        json!({
            "username": "weak", "email": "weak@example.com",
            "password": "x", "confirm_password": "x",
        }),
    )
    .send()
    .await
    .expect(429);
    t.finish().await;
}

/// With throttling off (`AUTH_THROTTLE=off`, no other throttle setting),
/// more than 30 registrations and activations from one address succeed.
pub async fn throttling_off_lets_every_activation_through(env: Env) {
    let t = env.start_with(|s| s.throttle = Switch::Off).await;
    for i in 0..32 {
        t.active_user(&format!("act{i}"), PASSWORD).await;
    }
    t.finish().await;
}
