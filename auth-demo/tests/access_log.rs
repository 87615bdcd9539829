//! The log of a run: every request has a span with its method, route
//! pattern, status and (once authenticated) user id and credential kind,
//! and ends with an access line; no token, password or hash appears
//! anywhere in it. Both frameworks.
//!
//! One test in this binary: it installs the process's log subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_demo::{Framework, Secret, Settings};

mod common;
use common::send;

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The string value of `field` in a JSON body.
fn field(body: &str, field: &str) -> String {
    let start = body
        .find(&format!("\"{field}\":\""))
        .unwrap_or_else(|| panic!("no {field} in {body}"))
        + field.len()
        + 4;
    body[start..].split('"').next().unwrap().to_owned()
}

/// The lines of the log that hold every one of `parts`.
fn lines_with<'a>(log: &'a str, parts: &[&str]) -> Vec<&'a str> {
    log.lines()
        .filter(|line| parts.iter().all(|part| line.contains(part)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_traced_and_logged_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let password = "Kettle-Orbit-42-trace";
    let mut secrets = vec![password.to_owned()];
    for framework in [Framework::Axum, Framework::Actix] {
        let settings = Settings {
            bind: "127.0.0.1:0".into(),
            database_url: Secret::new("sqlite::memory:"),
            framework,
            quiet: true,
            ..Settings::default()
        };
        let server = auth_demo::start(&settings).await.unwrap();
        let addr = server.local_addr();
        let username = format!("tracer_{framework}");
        let user = server
            .auth()
            .create_superuser(&username, &format!("{username}@example.com"), password)
            .await
            .unwrap();
        secrets.push(user.password_hash.clone().unwrap());

        let login = format!(r#"{{"username": "{username}", "password": "{password}"}}"#);
        let (status, body) = send(addr, "POST", "/api/auth/jwt/create", None, Some(&login)).await;
        assert_eq!(status, 200, "{body}");
        let access = field(&body, "access");
        secrets.extend([access.clone(), field(&body, "refresh")]);
        let (status, body) = send(addr, "POST", "/api/auth/token/login", None, Some(&login)).await;
        assert_eq!(status, 200, "{body}");
        let knox = field(&body, "token");
        secrets.push(knox.clone());

        let bearer = format!("Bearer {access}");
        let (status, _) = send(addr, "GET", "/api/auth/me", Some(&bearer), None).await;
        assert_eq!(status, 200);
        let token = format!("Token {knox}");
        let path = format!("/api/users/{}", user.id);
        let (status, _) = send(addr, "GET", &path, Some(&token), None).await;
        assert_eq!(status, 200);
        let (status, _) = send(addr, "GET", "/api/auth/me", Some("Bearer forged"), None).await;
        assert_eq!(status, 401);
        tokio::time::timeout(Duration::from_secs(5), server.shutdown())
            .await
            .expect("stopped within 5 s")
            .unwrap();

        let log = captured.text();
        let id = format!("user_id={}", user.id);
        let me = lines_with(
            &log,
            &[
                r#"method="GET""#,
                r#"route="/api/auth/me""#,
                "status=200",
                &id,
            ],
        );
        assert!(
            me.iter().any(|line| line.contains(r#"credential="jwt""#)),
            "{framework}: no access line for GET /me with its user and credential in\n{log}"
        );
        let by_id = lines_with(
            &log,
            &[
                r#"method="GET""#,
                r#"route="/api/users/{id}""#,
                "status=200",
                &id,
            ],
        );
        assert!(
            by_id
                .iter()
                .any(|line| line.contains(r#"credential="knox""#)),
            "{framework}: no access line for GET /api/users/{{id}} in\n{log}"
        );
        assert!(
            !lines_with(&log, &[r#"route="/api/auth/me""#, "status=401"]).is_empty(),
            "{framework}: the refused request has its access line too:\n{log}"
        );
        assert!(
            !lines_with(&log, &[r#"route="/api/auth/jwt/create""#, "status=200"]).is_empty(),
            "{framework}: the login has its access line:\n{log}"
        );
    }
    let log = captured.text();
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret is in the log");
    }
    assert!(!log.contains("forged"), "a sent token is in the log");
}
