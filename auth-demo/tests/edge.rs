//! The HTTP edge settings on a real server, on both frameworks: CORS
//! (`--cors-origin`), trusted proxies (`--trusted-proxies`) and the flags'
//! startup errors.

use auth_core::flows::AdminUserInput;
use auth_demo::{Cli, Framework, Settings};
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "correct-horse-battery-9";
const FRAMEWORKS: [Framework; 2] = [Framework::Axum, Framework::Actix];

/// The settings of these flags (an in-memory database, port 0).
fn settings(framework: Framework, flags: &[&str]) -> Settings {
    let framework = framework.to_string();
    let mut args = vec![
        "auth-demo",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        "sqlite::memory:",
        "--quiet",
        "--framework",
        &framework,
    ];
    args.extend_from_slice(flags);
    Cli::try_parse_from(args).expect("flags").settings
}

/// An answer: status, headers (names lower-case), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with these headers over a fresh connection.
async fn send(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = json.unwrap_or("");
    if json.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A preflight of a cookie-authenticated `PATCH /api/auth/me` from `origin`.
async fn preflight(addr: std::net::SocketAddr, origin: &str) -> Answer {
    send(
        addr,
        "OPTIONS",
        "/api/auth/me",
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "PATCH"),
            ("Access-Control-Request-Headers", "content-type,x-csrftoken"),
        ],
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lets_the_listed_origins_in_with_credentials() {
    for framework in FRAMEWORKS {
        let settings = settings(
            framework,
            &[
                "--cors-origin",
                "http://localhost:3000, https://app.example.com",
            ],
        );
        let server = auth_demo::start(&settings).await.unwrap();
        let addr = server.local_addr();

        let allowed = preflight(addr, "http://localhost:3000").await;
        assert!(allowed.status < 300, "{framework}: {}", allowed.status);
        assert_eq!(
            allowed.header("access-control-allow-origin"),
            Some("http://localhost:3000"),
            "{framework}"
        );
        assert_eq!(
            allowed.header("access-control-allow-credentials"),
            Some("true"),
            "{framework}"
        );
        let headers = allowed
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for wanted in ["authorization", "content-type", "x-csrftoken"] {
            assert!(headers.contains(wanted), "{framework}: {headers}");
        }
        let methods = allowed
            .header("access-control-allow-methods")
            .unwrap_or_default();
        assert!(methods.contains("PATCH"), "{framework}: {methods}");

        // A simple request from the origin gets the header too, and may
        // read the CSRF token header.
        let get = send(
            addr,
            "GET",
            "/healthz",
            &[("Origin", "https://app.example.com")],
            None,
        )
        .await;
        assert_eq!(get.status, 200);
        assert_eq!(
            get.header("access-control-allow-origin"),
            Some("https://app.example.com"),
            "{framework}"
        );
        let exposed = get
            .header("access-control-expose-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(exposed.contains("x-csrftoken"), "{framework}: {exposed}");

        let other = preflight(addr, "https://evil.example").await;
        assert_eq!(
            other.header("access-control-allow-origin"),
            None,
            "{framework}"
        );
        assert_eq!(
            other.header("access-control-allow-credentials"),
            None,
            "{framework}"
        );
        let get = send(
            addr,
            "GET",
            "/healthz",
            &[("Origin", "https://evil.example")],
            None,
        )
        .await;
        assert_eq!(
            get.header("access-control-allow-origin"),
            None,
            "{framework}"
        );
        server.shutdown().await.unwrap();

        // Without the setting, no CORS header at all.
        let server = auth_demo::start(&self::settings(framework, &[]))
            .await
            .unwrap();
        let none = preflight(server.local_addr(), "http://localhost:3000").await;
        assert_eq!(
            none.header("access-control-allow-origin"),
            None,
            "{framework}"
        );
        server.shutdown().await.unwrap();
    }
}

#[test]
fn edge_flags_refuse_what_they_cannot_honour() {
    let refused = |flags: &[&str]| {
        let mut args = vec!["auth-demo"];
        args.extend_from_slice(flags);
        Cli::try_parse_from(args).unwrap_err().to_string()
    };
    let star = refused(&["--cors-origin", "*"]);
    assert!(star.contains("credentials"), "{star}");
    let path = refused(&["--cors-origin", "https://app.example.com/"]);
    assert!(path.contains("is not an origin"), "{path}");
    let zero = refused(&["--trusted-proxies", "0"]);
    assert!(zero.contains("at least 1"), "{zero}");
    let cidr = refused(&["--trusted-proxies", "10.0.0.0/8,10.0.0.0/40"]);
    assert!(cidr.contains("10.0.0.0/40"), "{cidr}");
    let help = Cli::try_parse_from(["auth-demo", "--help"])
        .unwrap_err()
        .to_string();
    for flag in [
        "--trusted-proxies",
        "--cors-origin",
        "--cookie-transport",
        "--cookie-insecure",
        "--cookie-samesite",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samesite_none_without_secure_is_a_startup_error() {
    let settings = settings(
        Framework::Axum,
        &[
            "--cookie-transport",
            "--cookie-insecure",
            "--cookie-samesite",
            "none",
        ],
    );
    let err = auth_demo::start(&settings).await.unwrap_err().to_string();
    assert!(err.contains("--cookie-samesite none"), "{err}");
}

/// Logs `ada` in with `X-Forwarded-For: 203.0.113.9` and answers the
/// address her login history recorded.
async fn recorded_address(framework: Framework, trusted: &str) -> String {
    let server = auth_demo::start(&settings(framework, &["--trusted-proxies", trusted]))
        .await
        .unwrap();
    server
        .auth()
        .create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
        .await
        .unwrap();
    let addr = server.local_addr();
    let login = format!(r#"{{"username": "ada", "password": "{PASSWORD}"}}"#);
    let forwarded = [("X-Forwarded-For", "198.51.100.1, 203.0.113.9")];
    let answer = send(
        addr,
        "POST",
        "/api/auth/jwt/create",
        &forwarded,
        Some(&login),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let pair: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let bearer = format!("Bearer {}", pair["access"].as_str().unwrap());
    let history = send(
        addr,
        "GET",
        "/api/auth/me/history",
        &[("Authorization", &bearer)],
        None,
    )
    .await;
    let history: serde_json::Value = serde_json::from_str(&history.body).unwrap();
    server.shutdown().await.unwrap();
    history["results"][0]["ip"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forwarded_address_is_recorded_only_from_a_trusted_peer() {
    for framework in FRAMEWORKS {
        // The peer (127.0.0.1) is a trusted proxy: the first untrusted hop
        // from the right is the client.
        assert_eq!(
            recorded_address(framework, "127.0.0.0/8").await,
            "203.0.113.9"
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            recorded_address(framework, "127.0.0.1,203.0.113.0/24").await,
            "198.51.100.1"
        );
        // The peer is not one of the proxies: the header is not read.
        assert_eq!(
            recorded_address(framework, "10.0.0.0/8,::1").await,
            "127.0.0.1"
        );
        // A hop count trusts the header from any peer (DRF's NUM_PROXIES).
        assert_eq!(recorded_address(framework, "1").await, "203.0.113.9");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_transport_flags_reach_both_frameworks() {
    for framework in FRAMEWORKS {
        let flags = [
            "--cookie-transport",
            "--cookie-insecure",
            "--cookie-samesite",
            "strict",
        ];
        let server = auth_demo::start(&settings(framework, &flags))
            .await
            .unwrap();
        server
            .auth()
            .create_user(AdminUserInput::new_user("ada", "ada@example.com").with_password(PASSWORD))
            .await
            .unwrap();
        let addr = server.local_addr();
        let login = format!(r#"{{"username": "ada", "password": "{PASSWORD}"}}"#);
        let answer = send(addr, "POST", "/api/auth/jwt/create", &[], Some(&login)).await;
        assert_eq!(answer.status, 200, "{framework}: {}", answer.body);
        let access = answer
            .headers
            .iter()
            .filter(|(name, _)| name == "set-cookie")
            .map(|(_, value)| value.as_str())
            .find(|value| value.starts_with("auth_access="))
            .unwrap_or_else(|| panic!("{framework}: no access cookie"));
        assert!(
            access.ends_with("; Path=/; HttpOnly; SameSite=Strict; Max-Age=300"),
            "{framework}: {access}"
        );
        let cookie = access.split(';').next().unwrap();
        let me = send(addr, "GET", "/api/auth/me", &[("Cookie", cookie)], None).await;
        assert_eq!(me.status, 200, "{framework}: {}", me.body);
        let metrics = send(addr, "GET", "/metrics", &[("Cookie", cookie)], None).await;
        assert_eq!(metrics.status, 200, "{framework}");
        server.shutdown().await.unwrap();
    }
}
