//! The staff-only users API.

use reqwest::Method;
use serde_json::json;

use super::{NEW_PASSWORD, PASSWORD, assert_401, assert_user};
use crate::harness::Env;

const FORBIDDEN: &str = "You do not have permission to perform this action.";

pub async fn users_admin(env: Env) {
    let t = env.start().await;
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
    let t = env.start().await;
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

/// `(id, staff JWT, staff Knox token, staff static token)` of a staff user
/// `name` that the superuser `admin` creates.
async fn staff_member(t: &crate::harness::Ctx, admin: &str, name: &str) -> (String, [String; 3]) {
    let created = t
        .post(
            "/api/users",
            json!({
                "username": name, "email": format!("{name}@example.com"),
                "password": PASSWORD, "is_staff": true,
            }),
        )
        .bearer(admin)
        .send()
        .await;
    created.expect(201);
    let (access, _) = t.jwt_login(name, PASSWORD).await;
    let knox = t.knox_login(name, PASSWORD).await;
    let static_token = t
        .post(
            "/api/auth/static-token",
            json!({ "username": name, "password": PASSWORD }),
        )
        .send()
        .await;
    static_token.expect(200);
    (
        created.str("id"),
        [
            format!("Bearer {access}"),
            format!("Token {knox}"),
            format!("Token {}", static_token.str("token")),
        ],
    )
}

/// #21.4: staff who are not superusers cannot grant staff or superuser
/// status, nor change, set the password of, or delete a staff or superuser
/// account; admin representations show `is_superuser`.
pub async fn staff_cannot_take_superuser_power(env: Env) {
    let t = env.start().await;
    t.create_superuser("root", "root@example.com", PASSWORD)
        .await;
    let (admin, _) = t.jwt_login("root", PASSWORD).await;
    let root = t.get("/api/auth/me").bearer(&admin).send().await;
    let root_id = root.str("id");
    let (sam_id, [sam, ..]) = staff_member(&t, &admin, "sam").await;
    let (stu_id, _) = staff_member(&t, &admin, "stu").await;
    t.active_user("pam", PASSWORD).await;
    let pam = t.get("/api/users?search=pam").bearer(&admin).send().await;
    let pam_id = pam.json["results"][0]["id"]
        .as_str()
        .unwrap_or("")
        .to_owned();

    let shown = t
        .get(&format!("/api/users/{root_id}"))
        .bearer(&admin)
        .send()
        .await;
    shown.expect(200);
    assert_eq!(shown.json["is_superuser"], true, "{}", shown.text);
    assert_eq!(
        pam.json["results"][0]["is_superuser"], false,
        "{}",
        pam.text
    );

    let refused = [
        (
            Method::PATCH,
            format!("/api/users/{sam_id}"),
            json!({ "is_superuser": true }),
        ),
        (
            Method::PATCH,
            format!("/api/users/{root_id}"),
            json!({ "is_staff": false }),
        ),
        (
            Method::PATCH,
            format!("/api/users/{root_id}"),
            json!({ "first_name": "R" }),
        ),
        (
            Method::PATCH,
            format!("/api/users/{root_id}"),
            json!({ "password": NEW_PASSWORD }),
        ),
        (
            Method::PUT,
            format!("/api/users/{root_id}"),
            json!({ "username": "root", "email": "root@example.com", "is_staff": false }),
        ),
        (Method::DELETE, format!("/api/users/{root_id}"), json!({})),
        (
            Method::PATCH,
            format!("/api/users/{stu_id}"),
            json!({ "is_active": false }),
        ),
        (Method::DELETE, format!("/api/users/{stu_id}"), json!({})),
        (
            Method::PATCH,
            format!("/api/users/{pam_id}"),
            json!({ "is_staff": true }),
        ),
        (
            Method::PATCH,
            format!("/api/users/{pam_id}"),
            json!({ "is_superuser": true }),
        ),
        (
            Method::POST,
            "/api/users".to_owned(),
            json!({ "username": "eve", "email": "eve@example.com", "is_staff": true }),
        ),
        (
            Method::POST,
            "/api/users".to_owned(),
            json!({ "username": "eve", "email": "eve@example.com", "is_superuser": true }),
        ),
    ];
    for (method, path, body) in refused {
        let resp = t
            .req(method.clone(), &path)
            .header("Authorization", &sam)
            .json(body.clone())
            .send()
            .await;
        resp.expect(403);
        assert_eq!(
            resp.json,
            json!({ "detail": FORBIDDEN }),
            "{method} {path} {body}"
        );
    }
    // Nothing changed.
    let root = t
        .get(&format!("/api/users/{root_id}"))
        .bearer(&admin)
        .send()
        .await;
    assert_eq!(
        (
            &root.json["is_staff"],
            &root.json["is_superuser"],
            &root.json["first_name"]
        ),
        (&json!(true), &json!(true), &json!("")),
        "{}",
        root.text
    );
    t.get("/api/users").bearer(&admin).send().await.expect(200);
    t.jwt_login("root", PASSWORD).await;
    let sam_now = t
        .get(&format!("/api/users/{sam_id}"))
        .bearer(&admin)
        .send()
        .await;
    assert_eq!(sam_now.json["is_superuser"], false, "{}", sam_now.text);
    let eve = t.get("/api/users?search=eve").bearer(&admin).send().await;
    assert_eq!(eve.json["count"], 0, "{}", eve.text);

    // What staff may still do: manage an ordinary account.
    let ok = t
        .req(Method::PATCH, &format!("/api/users/{pam_id}"))
        .header("Authorization", &sam)
        .json(json!({ "first_name": "Pam", "is_staff": false, "is_superuser": false }))
        .send()
        .await;
    ok.expect(200);
    assert_eq!(ok.json["first_name"], "Pam");
    let created = t
        .post(
            "/api/users",
            json!({ "username": "otto", "email": "otto@example.com", "is_staff": false }),
        )
        .header("Authorization", &sam)
        .send()
        .await;
    created.expect(201);
    assert_eq!(created.json["is_superuser"], false, "{}", created.text);
    t.finish().await;
}

/// #21.4: a staff user who loses staff status loses it on the next request
/// of every token (JWT, Knox, static); one deactivated gets 401 on each.
pub async fn demotion_and_deactivation_reach_every_token(env: Env) {
    let t = env.start().await;
    t.create_superuser("root", "root@example.com", PASSWORD)
        .await;
    let (admin, _) = t.jwt_login("root", PASSWORD).await;
    let (sam_id, tokens) = staff_member(&t, &admin, "sam").await;
    for token in &tokens {
        let resp = t
            .get("/api/users")
            .header("Authorization", token)
            .send()
            .await;
        resp.expect(200);
    }
    t.req(Method::PATCH, &format!("/api/users/{sam_id}"))
        .bearer(&admin)
        .json(json!({ "is_staff": false }))
        .send()
        .await
        .expect(200);
    for token in &tokens {
        let resp = t
            .get("/api/users")
            .header("Authorization", token)
            .send()
            .await;
        resp.expect(403);
        assert_eq!(resp.json, json!({ "detail": FORBIDDEN }), "{token:.12}");
        t.get("/api/auth/me")
            .header("Authorization", token)
            .send()
            .await
            .expect(200);
    }
    t.req(Method::PATCH, &format!("/api/users/{sam_id}"))
        .bearer(&admin)
        .json(json!({ "is_staff": true, "is_active": false }))
        .send()
        .await
        .expect(200);
    for token in &tokens {
        assert_401(
            &t.get("/api/users")
                .header("Authorization", token)
                .send()
                .await,
        );
        assert_401(
            &t.get("/api/auth/me")
                .header("Authorization", token)
                .send()
                .await,
        );
    }
    t.finish().await;
}
