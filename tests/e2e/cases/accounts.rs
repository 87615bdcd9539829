//! Registration, activation, password reset and change, the signed-in
//! user, history, and link expiry.

use std::time::{Duration, Instant};

use auth_demo::Secret;

use reqwest::Method;
use serde_json::json;

use super::{NEW_PASSWORD, PASSWORD, assert_401, assert_user};
use crate::harness::Env;
use crate::smtp_sink::SilentSmtp;

pub async fn register_activate_login(env: Env) {
    let t = env.start().await;
    let resp = t
        .post(
            "/api/auth/register",
            json!({
                "username": "ada", "email": "ada@example.com",
                "password": PASSWORD, "confirm_password": PASSWORD,
            }),
        )
        .send()
        .await;
    resp.expect(201);
    assert_user(&resp.json, "ada");
    assert_eq!(resp.json["is_active"], false);
    assert_eq!(resp.json["email"], "ada@example.com");

    // Inactive: the same 401 as a wrong password.
    let inactive = t
        .post(
            "/api/auth/jwt/create",
            json!({ "username": "ada", "password": PASSWORD }),
        )
        .send()
        .await;
    inactive.expect(401);
    assert_eq!(
        inactive.json,
        json!({
            "detail": "No active account found with the given credentials",
            "code": "no_active_account",
        })
    );

    let (uid, token) = t.link_from_email("ada@example.com", "/activate/").await;
    let resp = t
        .post("/api/auth/activate/", json!({ "uid": uid, "token": token }))
        .send()
        .await;
    resp.expect(200);
    assert!(resp.json["detail"].is_string(), "{}", resp.text);

    // Single use.
    let again = t
        .post("/api/auth/activate", json!({ "uid": uid, "token": token }))
        .send()
        .await;
    again.expect(400);
    assert_eq!(again.json["token"], json!(["Invalid or expired token."]));
    // Forged.
    let forged = t
        .post(
            "/api/auth/activate",
            json!({ "uid": uid, "token": "abc-0123456789abcdef" }),
        )
        .send()
        .await;
    forged.expect(400);
    assert!(forged.json["token"].is_array(), "{}", forged.text);

    // Login by username and by email.
    let (access, _) = t.jwt_login("ada", PASSWORD).await;
    let by_email = t
        .post(
            "/api/auth/jwt/create",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .send()
        .await;
    by_email.expect(200);
    let me = t.get("/api/auth/me").bearer(&access).send().await;
    me.expect(200);
    assert_user(&me.json, "ada");
    assert_eq!(me.json["is_active"], true);
    assert!(me.json["last_login"].is_string(), "{}", me.text);
    t.finish().await;
}

pub async fn registration_validation(env: Env) {
    let t = env.start().await;
    let register = |username: &str, email: &str, password: &str, confirm: &str| {
        t.post(
            "/api/auth/register",
            json!({
                "username": username, "email": email,
                "password": password, "confirm_password": confirm,
            }),
        )
        .send()
    };
    let resp = register("bob", "bob@example.com", PASSWORD, NEW_PASSWORD).await;
    resp.expect(400);
    assert!(resp.json["confirm_password"].is_array(), "{}", resp.text);

    let resp = register("bob", "bob@example.com", "123", "123").await;
    resp.expect(400);
    assert!(resp.json["password"].is_array(), "{}", resp.text);

    let resp = register("bob", "not-an-email", PASSWORD, PASSWORD).await;
    resp.expect(400);
    assert!(resp.json["email"].is_array(), "{}", resp.text);

    let resp = t
        .post("/api/auth/register", json!({ "username": "bob" }))
        .send()
        .await;
    resp.expect(400);
    assert!(resp.json["password"].is_array(), "{}", resp.text);

    register("bob", "bob@example.com", PASSWORD, PASSWORD)
        .await
        .expect(201);
    let resp = register("bob", "other@example.com", PASSWORD, PASSWORD).await;
    resp.expect(400);
    assert!(resp.json["username"].is_array(), "{}", resp.text);
    let resp = register("bobby", "bob@example.com", PASSWORD, PASSWORD).await;
    resp.expect(400);
    assert!(resp.json["email"].is_array(), "{}", resp.text);
    t.finish().await;
}

/// With a mail server that accepts the connection and never answers,
/// registration, a password reset and an activation resend for existing
/// accounts answer at once: the emails go out off the request path (a
/// request that waited for the mailer would take its 10 s timeout).
pub async fn a_hanging_mail_server_delays_no_answer(env: Env) {
    let silent = SilentSmtp::start().await;
    let url = silent.url();
    let t = env
        .start_with(|settings| settings.smtp_url = Some(Secret::new(url)))
        .await;
    t.create_superuser("dee", "dee@example.com", PASSWORD).await;
    // Far below the mailer's timeout, and far above a request's own work.
    let bound = Duration::from_secs(5);
    let requests = [
        (
            "/api/auth/register",
            json!({
                "username": "eve", "email": "eve@example.com",
                "password": PASSWORD, "confirm_password": PASSWORD,
            }),
            201,
        ),
        (
            "/api/auth/password/reset",
            json!({ "email": "dee@example.com" }),
            202,
        ),
        (
            "/api/auth/activate/resend",
            json!({ "email": "eve@example.com" }),
            202,
        ),
    ];
    for (path, body, status) in requests {
        let started = Instant::now();
        let resp = t.post(path, body).send().await;
        let took = started.elapsed();
        resp.expect(status);
        assert!(
            took < bound,
            "{path} waited {took:?} for a mail server that never answers"
        );
    }
    t.finish().await;
}

pub async fn activation_resend(env: Env) {
    let t = env.start().await;
    t.post(
        "/api/auth/register",
        json!({
            "username": "cyd", "email": "cyd@example.com",
            "password": PASSWORD, "confirm_password": PASSWORD,
        }),
    )
    .send()
    .await
    .expect(201);
    let _first = t.sink.take_to("cyd@example.com").await;

    let unknown = t
        .post(
            "/api/auth/activate/resend",
            json!({ "email": "nobody@example.com" }),
        )
        .send()
        .await;
    unknown.expect(202);
    let known = t
        .post(
            "/api/auth/activate/resend",
            json!({ "email": "cyd@example.com" }),
        )
        .send()
        .await;
    known.expect(202);
    assert_eq!(unknown.json, known.json, "the answers must not differ");
    let (uid, token) = t.link_from_email("cyd@example.com", "/activate/").await;
    t.post("/api/auth/activate", json!({ "uid": uid, "token": token }))
        .send()
        .await
        .expect(200);
    // Already active: the same answer, and no email.
    let active = t
        .post(
            "/api/auth/activate/resend",
            json!({ "email": "cyd@example.com" }),
        )
        .send()
        .await;
    active.expect(202);
    assert_eq!(active.json, known.json);
    t.flush().await;
    assert_eq!(t.sink.count_to("cyd@example.com"), 2);
    assert_eq!(t.sink.count_to("nobody@example.com"), 0);
    t.finish().await;
}

pub async fn password_reset(env: Env) {
    let t = env.start().await;
    let email = t.active_user("dee", PASSWORD).await;
    let knox = t.knox_login("dee", PASSWORD).await;
    let (_, refresh) = t.jwt_login("dee", PASSWORD).await;

    let unknown = t
        .post(
            "/api/auth/password/reset",
            json!({ "email": "ghost@example.com" }),
        )
        .send()
        .await;
    unknown.expect(202);
    let known = t
        .post("/api/auth/password/reset/", json!({ "email": email }))
        .send()
        .await;
    known.expect(202);
    assert_eq!(unknown.json, known.json, "the answers must not differ");
    let (uid, token) = t.link_from_email(&email, "/password/reset/confirm/").await;

    let mismatch = t
        .post(
            "/api/auth/password/reset/confirm",
            json!({
                "uid": uid, "token": token,
                "new_password": NEW_PASSWORD, "confirm_password": "something-else-entirely",
            }),
        )
        .send()
        .await;
    mismatch.expect(400);
    assert!(
        mismatch.json["confirm_password"].is_array(),
        "{}",
        mismatch.text
    );

    let confirm = json!({
        "uid": uid, "token": token,
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
    });
    let done = t
        .post("/api/auth/password/reset/confirm", confirm.clone())
        .send()
        .await;
    done.expect(204);
    assert!(done.text.is_empty(), "{}", done.text);
    let reused = t
        .post("/api/auth/password/reset/confirm", confirm)
        .send()
        .await;
    reused.expect(400);
    assert_eq!(reused.json["token"], json!(["Invalid or expired token."]));

    // Knox and refresh tokens are revoked; the old password is gone.
    assert_401(&t.get("/api/auth/me").token(&knox).send().await);
    t.post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await
        .expect(401);
    t.post(
        "/api/auth/jwt/create",
        json!({ "username": "dee", "password": PASSWORD }),
    )
    .send()
    .await
    .expect(401);
    t.jwt_login("dee", NEW_PASSWORD).await;
    t.flush().await;
    assert_eq!(t.sink.count_to("ghost@example.com"), 0);
    t.finish().await;
}

pub async fn password_change(env: Env) {
    let t = env.start().await;
    t.active_user("eve", PASSWORD).await;
    let this = t.knox_login("eve", PASSWORD).await;
    let other = t.knox_login("eve", PASSWORD).await;

    let wrong = t
        .post(
            "/api/auth/password/change",
            json!({
                "old_password": "not-my-password-at-all",
                "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
            }),
        )
        .token(&this)
        .send()
        .await;
    wrong.expect(400);
    assert!(wrong.json["old_password"].is_array(), "{}", wrong.text);

    let mismatch = t
        .post(
            "/api/auth/password/change",
            json!({
                "old_password": PASSWORD,
                "new_password": NEW_PASSWORD, "confirm_password": "a-different-new-one-9",
            }),
        )
        .token(&this)
        .send()
        .await;
    mismatch.expect(400);
    assert!(
        mismatch.json["confirm_password"].is_array(),
        "{}",
        mismatch.text
    );

    t.post(
        "/api/auth/password/change",
        json!({
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        }),
    )
    .token(&this)
    .send()
    .await
    .expect(204);
    // The token used keeps working; the user's other tokens stop.
    t.get("/api/auth/me").token(&this).send().await.expect(200);
    assert_401(&t.get("/api/auth/me").token(&other).send().await);
    t.jwt_login("eve", NEW_PASSWORD).await;
    assert_401(&t.post("/api/auth/password/change", json!({})).send().await);
    t.finish().await;
}

pub async fn me_update_and_delete(env: Env) {
    let t = env.start().await;
    t.active_user("fay", PASSWORD).await;
    let (access, _) = t.jwt_login("fay", PASSWORD).await;
    let knox = t.knox_login("fay", PASSWORD).await;

    let resp = t
        .req(Method::PATCH, "/api/auth/me")
        .bearer(&access)
        .json(json!({
            "first_name": "Fay", "last_name": "Wray",
            "profile": { "country": "CA", "bio": "hi" },
        }))
        .send()
        .await;
    resp.expect(200);
    assert_user(&resp.json, "fay");
    assert_eq!(resp.json["first_name"], "Fay");
    assert_eq!(
        resp.json["profile"],
        json!({ "country": "CA", "bio": "hi" })
    );

    // Keys merge; null removes one.
    let resp = t
        .req(Method::PATCH, "/api/auth/me/")
        .bearer(&access)
        .json(json!({ "profile": { "bio": null, "profession": "actor" } }))
        .send()
        .await;
    resp.expect(200);
    assert_eq!(
        resp.json["profile"],
        json!({ "country": "CA", "profession": "actor" })
    );

    // email and username cannot be changed here, and nothing changes.
    for body in [
        json!({ "email": "new@example.com", "first_name": "X" }),
        json!({ "username": "newname" }),
    ] {
        let field = body
            .as_object()
            .and_then(|m| m.keys().find(|k| *k != "first_name").cloned())
            .unwrap_or_default();
        let resp = t
            .req(Method::PATCH, "/api/auth/me")
            .bearer(&access)
            .json(body)
            .send()
            .await;
        resp.expect(400);
        assert!(resp.json[&field].is_array(), "{}", resp.text);
    }
    let me = t.get("/api/auth/me").bearer(&access).send().await;
    me.expect(200);
    assert_eq!(me.json["email"], "fay@example.com");
    assert_eq!(me.json["first_name"], "Fay");

    // Deleting needs the password.
    let wrong = t
        .req(Method::DELETE, "/api/auth/me")
        .bearer(&access)
        .json(json!({ "password": "definitely-not-it-42" }))
        .send()
        .await;
    wrong.expect(400);
    assert!(wrong.json["password"].is_array(), "{}", wrong.text);
    t.req(Method::DELETE, "/api/auth/me")
        .bearer(&access)
        .json(json!({ "password": PASSWORD }))
        .send()
        .await
        .expect(204);
    assert_401(&t.get("/api/auth/me").token(&knox).send().await);
    assert_401(&t.get("/api/auth/me").bearer(&access).send().await);
    t.post(
        "/api/auth/jwt/create",
        json!({ "username": "fay", "password": PASSWORD }),
    )
    .send()
    .await
    .expect(401);
    t.finish().await;
}

pub async fn login_history(env: Env) {
    let t = env.start().await;
    t.active_user("gus", PASSWORD).await;
    t.post(
        "/api/auth/jwt/create",
        json!({ "username": "gus", "password": "wrong-password-for-gus" }),
    )
    .header("User-Agent", "e2e-agent/1.0")
    .send()
    .await
    .expect(401);
    let (access, refresh) = t.jwt_login("gus", PASSWORD).await;
    t.post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
        .send()
        .await
        .expect(200);
    let knox = t.knox_login("gus", PASSWORD).await;
    t.req(Method::POST, "/api/auth/token/logout")
        .token(&knox)
        .send()
        .await
        .expect(204);

    let resp = t.get("/api/auth/me/history").bearer(&access).send().await;
    resp.expect(200);
    let results = resp.json["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {}", resp.text));
    assert!(resp.json["count"].is_u64(), "{}", resp.text);
    let events: Vec<&str> = results.iter().filter_map(|e| e["event"].as_str()).collect();
    for event in [
        "activated",
        "login",
        "login_failed",
        "token_refreshed",
        "logout",
    ] {
        assert!(events.contains(&event), "{event} missing from {events:?}");
    }
    for entry in results {
        for field in ["at", "event", "ip", "user_agent"] {
            assert!(entry.get(field).is_some(), "{field} missing: {entry}");
        }
    }
    assert!(
        results
            .iter()
            .any(|e| e["ip"] == "127.0.0.1" && e["event"] == "login"),
        "{}",
        resp.text
    );
    t.finish().await;
}

/// Activation and reset links stop working after their lifetimes (2 s on
/// the server's clock, which the test moves on).
pub async fn expired_links(env: Env) {
    let clock = std::sync::Arc::new(auth_core::ManualClock::new(chrono::Utc::now()));
    let t = env
        .start_with(|s| {
            s.activation_ttl = 2;
            s.reset_ttl = 2;
            s.clock = Some(clock.clone());
        })
        .await;
    // An active user with a fresh reset link, and a pending activation.
    t.active_user("hal", PASSWORD).await;
    t.post(
        "/api/auth/password/reset",
        json!({ "email": "hal@example.com" }),
    )
    .send()
    .await
    .expect(202);
    let (reset_uid, reset_token) = t
        .link_from_email("hal@example.com", "/password/reset/confirm/")
        .await;
    t.post(
        "/api/auth/register",
        json!({
            "username": "ivy", "email": "ivy@example.com",
            "password": PASSWORD, "confirm_password": PASSWORD,
        }),
    )
    .send()
    .await
    .expect(201);
    let (uid, token) = t.link_from_email("ivy@example.com", "/activate/").await;

    clock.advance(chrono::Duration::seconds(3));

    let resp = t
        .post("/api/auth/activate", json!({ "uid": uid, "token": token }))
        .send()
        .await;
    resp.expect(400);
    assert_eq!(resp.json["token"], json!(["Invalid or expired token."]));
    let resp = t
        .post(
            "/api/auth/password/reset/confirm",
            json!({
                "uid": reset_uid, "token": reset_token,
                "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
            }),
        )
        .send()
        .await;
    resp.expect(400);
    assert_eq!(resp.json["token"], json!(["Invalid or expired token."]));
    t.jwt_login("hal", PASSWORD).await;
    t.finish().await;
}

/// #21.3: an account staff deactivated cannot activate itself again: no
/// activation email to it, its old link refused, its login still refused.
pub async fn deactivated_account_stays_inactive(env: Env) {
    let t = env.start().await;
    t.create_superuser("root", "root@example.com", PASSWORD)
        .await;
    let (admin, _) = t.jwt_login("root", PASSWORD).await;
    t.post(
        "/api/auth/register",
        json!({
            "username": "ban", "email": "ban@example.com",
            "password": PASSWORD, "confirm_password": PASSWORD,
        }),
    )
    .send()
    .await
    .expect(201);
    let (uid, token) = t.link_from_email("ban@example.com", "/activate/").await;
    let link = json!({ "uid": uid, "token": token });
    t.post("/api/auth/activate", link.clone())
        .send()
        .await
        .expect(200);
    let me = t.get("/api/users?search=ban").bearer(&admin).send().await;
    let id = me.json["results"][0]["id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    t.req(Method::PATCH, &format!("/api/users/{id}"))
        .bearer(&admin)
        .json(json!({ "is_active": false }))
        .send()
        .await
        .expect(200);

    let resend = t
        .post(
            "/api/auth/activate/resend",
            json!({ "email": "ban@example.com" }),
        )
        .send()
        .await;
    resend.expect(202);
    // A later email to someone else has arrived: none to the banned account
    // was sent before it.
    t.post(
        "/api/auth/register",
        json!({
            "username": "marker", "email": "marker@example.com",
            "password": PASSWORD, "confirm_password": PASSWORD,
        }),
    )
    .send()
    .await
    .expect(201);
    t.sink.take_to("marker@example.com").await;
    t.flush().await;
    assert_eq!(
        t.sink.count_to("ban@example.com"),
        1,
        "an activation email went to a deactivated account"
    );

    let again = t.post("/api/auth/activate", link).send().await;
    again.expect(400);
    assert_eq!(
        again.json,
        json!({ "token": ["Invalid or expired token."] }),
        "{}",
        again.text
    );
    t.post(
        "/api/auth/jwt/create",
        json!({ "username": "ban", "password": PASSWORD }),
    )
    .send()
    .await
    .expect(401);
    t.finish().await;
}

/// #21.8: a profile's stored size is capped (16 KiB as JSON by default):
/// a merge past it is a field error on `profile` and changes nothing, on
/// `PATCH /me` and on the users admin.
pub async fn profile_size_is_capped(env: Env) {
    let t = env.start().await;
    t.create_superuser("root", "root@example.com", PASSWORD)
        .await;
    let (admin, _) = t.jwt_login("root", PASSWORD).await;
    t.active_user("pia", PASSWORD).await;
    let (access, _) = t.jwt_login("pia", PASSWORD).await;
    let chunk = "x".repeat(6 * 1024);
    for key in ["a", "b"] {
        t.req(Method::PATCH, "/api/auth/me")
            .bearer(&access)
            .json(json!({ "profile": { key: chunk } }))
            .send()
            .await
            .expect(200);
    }
    // A third chunk would take the merged profile past 16 KiB.
    let over = t
        .req(Method::PATCH, "/api/auth/me")
        .bearer(&access)
        .json(json!({ "first_name": "Pia", "profile": { "c": chunk } }))
        .send()
        .await;
    over.expect(400);
    assert!(over.json["profile"].is_array(), "{}", over.text);
    let me = t.get("/api/auth/me").bearer(&access).send().await;
    me.expect(200);
    assert_eq!(me.json["first_name"], "", "a refused PATCH changed nothing");
    assert!(me.json["profile"].get("c").is_none(), "{:.200}", me.text);
    assert!(me.text.len() < 16 * 1024 + 1024, "{}", me.text.len());
    // Replacing a key with a smaller value is fine.
    t.req(Method::PATCH, "/api/auth/me")
        .bearer(&access)
        .json(json!({ "profile": { "a": null, "c": chunk } }))
        .send()
        .await
        .expect(200);

    let big = "y".repeat(17 * 1024);
    let created = t
        .post(
            "/api/users",
            json!({
                "username": "quinn", "email": "quinn@example.com",
                "profile": { "bio": big },
            }),
        )
        .bearer(&admin)
        .send()
        .await;
    created.expect(400);
    assert!(created.json["profile"].is_array(), "{}", created.text);
    let id = me.str("id");
    for method in [Method::PATCH, Method::PUT] {
        let resp = t
            .req(method.clone(), &format!("/api/users/{id}"))
            .bearer(&admin)
            .json(json!({
                "username": "pia", "email": "pia@example.com",
                "profile": { "bio": big },
            }))
            .send()
            .await;
        resp.expect(400);
        assert!(resp.json["profile"].is_array(), "{method}: {}", resp.text);
    }
    t.finish().await;
}

/// The activation email has a text and an HTML part from the templates,
/// with the link the configured template builds; a password change sends
/// the owner a notice, with no link.
pub async fn emails_have_text_and_html_parts(env: Env) {
    let t = env
        .start_with(|settings| {
            settings.activation_url = "{frontend_url}/welcome/{uid}?token={token}".into();
        })
        .await;
    t.post(
        "/api/auth/register",
        json!({
            "username": "eve", "email": "eve@example.com",
            "password": PASSWORD, "confirm_password": PASSWORD,
        }),
    )
    .send()
    .await
    .expect(201);
    let mail = t.sink.take_to("eve@example.com").await;
    let parts = mail.parts();
    let types: Vec<&str> = parts.iter().map(|(t, _)| t.as_str()).collect();
    assert!(
        types.len() == 2 && types[0].starts_with("text/plain") && types[1].starts_with("text/html"),
        "{types:?}"
    );
    let prefix = format!("{}/welcome/", crate::harness::FRONTEND);
    let link = mail.link(&prefix).expect("the templated link in the text");
    let (uid, token) = link[prefix.len()..]
        .split_once("?token=")
        .expect("uid?token=TOKEN");
    t.remember_token(token);
    let html = mail.html().expect("an HTML part");
    assert!(
        html.contains("<a href=\"") && html.contains(token),
        "{html}"
    );
    assert!(html.contains("Hello eve,"), "{html}");
    t.post("/api/auth/activate", json!({ "uid": uid, "token": token }))
        .send()
        .await
        .expect(200);

    let (access, _) = t.jwt_login("eve", PASSWORD).await;
    t.post(
        "/api/auth/password/change",
        json!({
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }),
    )
    .bearer(&access)
    .send()
    .await
    .expect(204);
    let notice = t.sink.take_to("eve@example.com").await;
    assert!(
        notice
            .header("Subject")
            .is_some_and(|s| s.contains("password") && s.contains("changed")),
        "{:?}",
        notice.header("Subject")
    );
    assert!(notice.body().contains("Hello eve,"), "{}", notice.body());
    assert!(
        !notice.body().contains("http"),
        "no link: {}",
        notice.body()
    );
    t.finish().await;
}
