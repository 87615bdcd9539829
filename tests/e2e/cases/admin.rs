//! The staff-only users API.

use reqwest::Method;
use serde_json::json;

use super::{PASSWORD, assert_401, assert_user};
use crate::harness::Env;

const FORBIDDEN: &str = "You do not have permission to perform this action.";

pub async fn users_admin(env: Env) {
    let Some(t) = env.start().await else { return };
    t.create_superuser("root", "root@example.com", PASSWORD)
        .await;
    let (admin, _) = t.jwt_login("root", PASSWORD).await;
    t.active_user("pam", PASSWORD).await;

    let created = t
        .post(
            "/api/users",
            json!({
                "username": "quinn", "email": "quinn@example.com", "password": PASSWORD,
                "first_name": "Quinn", "is_active": true, "profile": { "team": "blue" },
            }),
        )
        .bearer(&admin)
        .send()
        .await;
    created.expect(201);
    assert_user(&created.json, "quinn");
    assert_eq!(created.json["is_staff"], false);
    assert_eq!(created.json["profile"], json!({ "team": "blue" }));
    let id = created.str("id");
    t.jwt_login("quinn", PASSWORD).await;

    let duplicate = t
        .post(
            "/api/users/",
            json!({ "username": "quinn", "email": "q2@example.com", "password": PASSWORD }),
        )
        .bearer(&admin)
        .send()
        .await;
    duplicate.expect(400);
    assert!(duplicate.json["username"].is_array(), "{}", duplicate.text);

    let page = t
        .get("/api/users?page=1&page_size=2")
        .bearer(&admin)
        .send()
        .await;
    page.expect(200);
    assert_eq!(page.json["count"], 3, "{}", page.text);
    assert_eq!(page.json["results"].as_array().map(Vec::len), Some(2));
    assert!(page.json["next"].is_string(), "{}", page.text);
    assert!(page.json["previous"].is_null(), "{}", page.text);
    let last = t
        .get("/api/users/?page=2&page_size=2")
        .bearer(&admin)
        .send()
        .await;
    last.expect(200);
    assert_eq!(last.json["results"].as_array().map(Vec::len), Some(1));
    assert!(last.json["next"].is_null() && last.json["previous"].is_string());
    let found = t.get("/api/users?search=quin").bearer(&admin).send().await;
    found.expect(200);
    assert_eq!(found.json["count"], 1, "{}", found.text);
    assert_eq!(found.json["results"][0]["id"], id.as_str());

    let path = format!("/api/users/{id}");
    let got = t.get(&path).bearer(&admin).send().await;
    got.expect(200);
    assert_user(&got.json, "quinn");

    let patched = t
        .req(Method::PATCH, &path)
        .bearer(&admin)
        .json(json!({ "last_name": "Fabray", "is_staff": true }))
        .send()
        .await;
    patched.expect(200);
    assert_eq!(patched.json["last_name"], "Fabray");
    assert_eq!(patched.json["is_staff"], true);
    assert_eq!(patched.json["first_name"], "Quinn");

    let put = t
        .req(Method::PUT, &format!("{path}/"))
        .bearer(&admin)
        .json(json!({
            "username": "quinn2", "email": "quinn2@example.com",
            "first_name": "Q", "last_name": "F", "is_active": true, "is_staff": false,
            "profile": {},
        }))
        .send()
        .await;
    put.expect(200);
    assert_user(&put.json, "quinn2");
    assert_eq!(put.json["email"], "quinn2@example.com");
    assert_eq!(put.json["is_staff"], false);

    for options_path in ["/api/users", path.as_str()] {
        let resp = t
            .req(Method::OPTIONS, options_path)
            .bearer(&admin)
            .send()
            .await;
        resp.expect(200);
        let allow = resp.header("allow").expect("OPTIONS without Allow");
        assert!(allow.contains("GET"), "{allow}");
    }

    t.req(Method::DELETE, &path)
        .bearer(&admin)
        .send()
        .await
        .expect(204);
    let gone = t.get(&path).bearer(&admin).send().await;
    gone.expect(404);
    assert_eq!(gone.json, json!({ "detail": "Not found." }));
    t.get("/api/users/not-a-uuid")
        .bearer(&admin)
        .send()
        .await
        .expect(404);
    t.finish().await;
}

pub async fn users_admin_permissions(env: Env) {
    let Some(t) = env.start().await else { return };
    t.active_user("rex", PASSWORD).await;
    let (access, _) = t.jwt_login("rex", PASSWORD).await;
    let me = t.get("/api/auth/me").bearer(&access).send().await;
    let id = me.str("id");
    for (method, path) in [
        (Method::GET, "/api/users".to_owned()),
        (Method::POST, "/api/users".to_owned()),
        (Method::GET, format!("/api/users/{id}")),
        (Method::PATCH, format!("/api/users/{id}")),
        (Method::DELETE, format!("/api/users/{id}")),
    ] {
        let resp = t
            .req(method.clone(), &path)
            .bearer(&access)
            .json(json!({ "is_staff": true }))
            .send()
            .await;
        resp.expect(403);
        assert_eq!(resp.json, json!({ "detail": FORBIDDEN }), "{method} {path}");
        assert_401(
            &t.req(method, &path)
                .json(json!({ "is_staff": true }))
                .send()
                .await,
        );
    }
    let me = t.get("/api/auth/me").bearer(&access).send().await;
    assert_eq!(me.json["is_staff"], false);
    t.finish().await;
}
