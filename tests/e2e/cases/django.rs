//! Issue 24's move from Django: a real Django 5.2 deployment (made by
//! `tests/django/make_deployment.sh` in a Python virtual environment from
//! PyPI) imported with the demo's `import-django`, then every user and
//! token of it used against this server.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

use super::assert_401;
use crate::harness::{Ctx, Env};

/// Runs `tests/django/make_deployment.sh` with `database` (`sqlite PATH`
/// or `postgres URL SCHEMA`), writing what it made into `dir`. `None` (the
/// test skips) when Python or PyPI is not there, unless
/// `AUTH_TEST_REQUIRE_SERVICES=1`, which fails.
async fn make_deployment(dir: &Path, database: Vec<String>) -> Option<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django/make_deployment.sh");
    let out = dir.join("django.json");
    let output = {
        let out = out.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("bash")
                .arg(script)
                .arg(&out)
                .args(database)
                .output()
        })
        .await
        .expect("the deployment maker did not panic")
    };
    let failure = match output {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )),
        Err(err) => Some(err.to_string()),
    };
    if let Some(failure) = failure {
        let reason = format!("making the Django deployment failed: {failure}");
        auth_core::testkit::services::skip_or_fail(&reason);
        return None;
    }
    let made = std::fs::read_to_string(&out).expect("reading what the deployment made");
    let made = serde_json::from_str(&made).expect("the deployment's JSON");
    Some(made)
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().map(|text| {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|err| panic!("{text:?} is not RFC 3339: {err}"))
            .to_utc()
    })
}

fn strings<'a>(made: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    made[list]
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item[field].as_str().expect("a string"))
        .collect()
}

/// Imports `from` into the server's stores: the report's lines.
async fn import(t: &Ctx, from: &str) -> String {
    let options = auth_demo::auth_django::ImportOptions::default();
    let report = auth_demo::import_django(&t.settings, from, &options)
        .await
        .expect("the import runs");
    assert!(report.errors.is_empty(), "{report:?}");
    auth_demo::describe_import(&report)
}

/// What importing the deployment reports: everything imported (the expired
/// knox token skipped), or `again`, everything unchanged but for
/// `updated_users`.
fn expected_report(again: bool, updated_users: u64) -> String {
    [
        ("auth_user", 5, 0),
        ("knox_authtoken", 2, 1),
        ("authtoken_token", 2, 0),
        ("token_blacklist_blacklistedtoken", 1, 0),
    ]
    .iter()
    .map(|(table, rows, skipped)| {
        let updated = if *table == "auth_user" { updated_users } else { 0 };
        let (imported, unchanged) = if again {
            (0, rows - updated)
        } else {
            (*rows, 0)
        };
        format!(
            "{table}: imported {imported}, updated {updated}, unchanged {unchanged}, skipped {skipped}, failed 0\n"
        )
    })
    .collect()
}

/// A Django deployment on SQLite moves over.
pub async fn django_deployment_moves_over(env: Env) {
    let dir = std::env::temp_dir().join(format!(
        "auth-e2e-django-{}",
        auth_core::testkit::unique("")
    ));
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    let db = dir.join("django.sqlite3");
    let database = vec!["sqlite".to_owned(), db.display().to_string()];
    if let Some(made) = make_deployment(&dir, database).await {
        moves_over(env, &format!("sqlite://{}", db.display()), &made).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Django deployment on PostgreSQL (in a schema of its own) moves over;
/// skipped when built with `AUTH_TEST_SKIP` naming postgres.
pub async fn django_postgres_deployment_moves_over(env: Env) {
    if cfg!(auth_test_skip = "postgres") {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "auth-e2e-django-{}",
        auth_core::testkit::unique("")
    ));
    std::fs::create_dir_all(&dir).expect("creating the temporary directory");
    let (selecting, admin, schema) = auth_core::testkit::services::connect(
        auth_core::testkit::services::Service::Postgres,
        "AUTH_TEST_POSTGRES_URL",
        crate::harness::fresh_schema,
    )
    .await;
    let database = vec!["postgres".to_owned(), admin.clone(), schema.clone()];
    if let Some(made) = make_deployment(&dir, database).await {
        moves_over(env, &selecting, &made).await;
    }
    crate::harness::drop_schema(&admin, &schema).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Imports the deployment `made` at `from` and uses every user and token.
async fn moves_over(env: Env, from: &str, made: &Value) {
    let secret_key = made["secret_key"]
        .as_str()
        .expect("the SECRET_KEY")
        .to_owned();
    let t = env
        .start_with(|settings| {
            settings.django_secret_key = Some(auth_demo::Secret::new(secret_key));
            settings.django_accept_until = Some(Utc::now() + chrono::Duration::hours(1));
        })
        .await;
    for list in ["knox", "drf"] {
        for token in strings(made, list, "token") {
            t.remember_token(token);
        }
    }
    for field in ["access", "refresh"] {
        for token in strings(made, "jwt", field) {
            t.remember_token(token);
        }
    }

    assert_eq!(import(&t, from).await, expected_report(false, 0));

    // Flags, names and dates as Django has them, before any login here
    // changes last_login: the superuser's DRF token lists every user.
    let root_drf = made["drf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["user"] == "root")
        .and_then(|token| token["token"].as_str())
        .expect("root's DRF token");
    let listed = list_users(&t, root_drf).await;
    let users = made["users"].as_array().expect("users");
    assert_eq!(listed.len(), users.len(), "{listed:?}");
    for django in users {
        let name = django["username"].as_str().unwrap();
        let here = listed
            .iter()
            .find(|user| user["username"] == name)
            .unwrap_or_else(|| panic!("{name} not imported: {listed:?}"));
        for field in [
            "email",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "is_superuser",
        ] {
            assert_eq!(here[field], django[field], "{name}'s {field}");
        }
        for field in ["date_joined", "last_login"] {
            assert_eq!(time(&here[field]), time(&django[field]), "{name}'s {field}");
        }
    }

    // Every live knox and DRF token, and every simplejwt access token.
    for list in ["knox", "drf"] {
        for token in made[list].as_array().unwrap() {
            let resp = t
                .get("/api/auth/me")
                .token(token["token"].as_str().unwrap())
                .send()
                .await;
            if token["live"] == true {
                resp.expect(200);
                assert_eq!(resp.json["username"], token["user"], "{list}");
            } else {
                assert_401(&resp);
            }
        }
    }
    for pair in made["jwt"].as_array().unwrap() {
        let resp = t
            .get("/api/auth/me")
            .bearer(pair["access"].as_str().unwrap())
            .send()
            .await;
        resp.expect(200);
        assert_eq!(resp.json["username"], pair["user"]);
    }

    // A live simplejwt refresh token refreshes once into a pair of ours;
    // the blacklisted one is refused.
    for pair in made["jwt"].as_array().unwrap() {
        let refresh = pair["refresh"].as_str().unwrap();
        let resp = t
            .post("/api/auth/jwt/refresh", json!({ "refresh": refresh }))
            .send()
            .await;
        if pair["blacklisted"] == true {
            assert_401(&resp);
            continue;
        }
        resp.expect(200);
        let access = resp.str("access");
        assert!(!resp.str("refresh").is_empty(), "a refresh token of ours");
        let me = t.get("/api/auth/me").bearer(&access).send().await;
        me.expect(200);
        assert_eq!(me.json["username"], pair["user"]);
        assert_ne!(access, pair["access"].as_str().unwrap());
    }

    // Every user logs in with their password; the inactive one and the
    // one with an unusable password do not.
    for django in users {
        let name = django["username"].as_str().unwrap();
        let password = django["password"].as_str().unwrap_or("pw-unusable-guess");
        let resp = t
            .post(
                "/api/auth/jwt/create",
                json!({ "username": name, "password": password }),
            )
            .send()
            .await;
        if django["is_active"] == true && django["password"].is_string() {
            resp.expect(200);
        } else {
            assert_401(&resp);
        }
    }

    // A second import changes nothing, and keeps the hashes upgraded here
    // by those logins.
    assert_eq!(import(&t, from).await, expected_report(true, 0));
    for django in users {
        if django["is_active"] == true
            && let Some(password) = django["password"].as_str()
        {
            let name = django["username"].as_str().unwrap();
            t.jwt_login(name, password).await;
        }
    }

    // Someone logs in on Django during the move (the user with an
    // unusable password, who cannot log in here): a re-run moves its
    // last_login, and counts it updated; the next changes nothing.
    let name = users
        .iter()
        .find(|user| !user["password"].is_string())
        .and_then(|user| user["username"].as_str())
        .expect("the user with an unusable password");
    let at = Utc::now().trunc_subsecs(6);
    django_set_last_login(from, name, at).await;
    assert_eq!(import(&t, from).await, expected_report(true, 1));
    let listed = list_users(&t, root_drf).await;
    let here = listed
        .iter()
        .find(|user| user["username"] == name)
        .expect("the user is listed");
    assert_eq!(time(&here["last_login"]), Some(at), "{name}'s last_login");
    assert_eq!(import(&t, from).await, expected_report(true, 0));
    t.finish().await;
}

/// Every user here, listed with `token` (a superuser's).
async fn list_users(t: &Ctx, token: &str) -> Vec<Value> {
    let listed = t.get("/api/users?page_size=100").token(token).send().await;
    listed.expect(200);
    listed.json["results"]
        .as_array()
        .cloned()
        .or_else(|| listed.json.as_array().cloned())
        .expect("a list of users")
}

/// Sets `last_login` of Django's user `username` in the Django database
/// at `from` (SQLite or PostgreSQL), as a login on Django does.
async fn django_set_last_login(from: &str, username: &str, at: DateTime<Utc>) {
    use auth_store_sqlx::sqlx;
    let done = if from.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(from)
            .await
            .expect("opening the Django SQLite file");
        // Django's SQLite backend stores times as UTC text.
        let done = sqlx::query("UPDATE auth_user SET last_login = ? WHERE username = ?")
            .bind(at.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
            .bind(username)
            .execute(&pool)
            .await;
        pool.close().await;
        done.map(|done| done.rows_affected())
    } else {
        let pool = sqlx::PgPool::connect(from)
            .await
            .expect("connecting to the Django PostgreSQL database");
        let done = sqlx::query(
            "UPDATE auth_user SET last_login = CAST($1 AS timestamptz) WHERE username = $2",
        )
        .bind(at.to_rfc3339())
        .bind(username)
        .execute(&pool)
        .await;
        pool.close().await;
        done.map(|done| done.rows_affected())
    };
    assert_eq!(done.expect("updating Django's auth_user"), 1);
}
