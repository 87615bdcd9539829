//! The `auth-demo` binary that `cargo install --path auth-demo` installs:
//! it starts, prints where it listens, answers `/healthz` and stops
//! cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_binary_serves_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("auth-demo-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth-demo"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "sqlite://demo.db",
        ])
        .current_dir(&dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .rsplit_once(" listening on http://")
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .1
        .to_owned();
    let addr: std::net::SocketAddr = url.parse().unwrap();

    let (status, body) = common::send(addr, "GET", "/healthz", None, None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = common::send(addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200, "{body}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        dir.join("demo.db").exists(),
        "the database is created in the working directory"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the binary with `args` in `dir`; returns (success, stdout, stderr).
fn run_in(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_auth-demo"))
        .args(["--database-url", "sqlite://demo.db"])
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn create_application_prints_the_secret_once_and_clear_tokens_counts() {
    let dir = std::env::temp_dir().join(format!("auth-demo-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ok, out, err) = run_in(
        &dir,
        &[
            "create-application",
            "--name",
            "Billing",
            "--grant-type",
            "client_credentials",
        ],
    );
    assert!(ok, "{out}{err}");
    let field = |name: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .trim()
            .to_owned()
    };
    assert!(!field("client_id:").is_empty());
    assert_eq!(field("client_secret:").len(), 43, "256 bits, base64url");

    let (ok, out, err) = run_in(
        &dir,
        &[
            "create-application",
            "--name",
            "Mobile",
            "--client-type",
            "public",
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "com.example.app:/callback",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(
        !out.contains("client_secret"),
        "a public client has none: {out}"
    );

    let (ok, out, err) = run_in(
        &dir,
        &[
            "create-application",
            "--name",
            "X",
            "--grant-type",
            "implicit",
        ],
    );
    assert!(!ok, "an unknown grant type is refused: {out}");
    assert!(err.contains("grant_types: "), "{err}");
    let (ok, out, err) = run_in(
        &dir,
        &[
            "create-application",
            "--name",
            "X",
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "http://example.com/cb#fragment",
        ],
    );
    assert!(
        !ok,
        "a redirect URI that is not https or loopback is refused: {out}"
    );
    assert!(err.contains("redirect_uris: "), "{err}");

    let (ok, out, err) = run_in(&dir, &["clear-tokens"]);
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("Deleted 0 expired OAuth2 codes"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
