//! The compiled example as a child process: it prints its address and the
//! docs URL, serves, stops cleanly on SIGTERM, and `create-superuser`
//! exits 0 then non-zero with the field errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `target/<profile>/examples/demo_server`, which `cargo test` builds
/// (unless told to build only some targets).
///
/// # Panics
/// When it is not there, saying how to build it.
fn demo_server() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("demo_server"))
        .expect("the test binary sits in target/<profile>/deps");
    assert!(
        path.exists(),
        "{} is not built: run the whole suite (`cargo test --workspace --all-features` \
         builds the examples), or `cargo build --example demo_server` first",
        path.display()
    );
    path
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "auth-e2e-process-{}",
        auth_core::testkit::unique("")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[cfg(unix)]
#[test]
fn example_serves_and_stops_on_sigterm() {
    let bin = demo_server();
    let dir = temp_dir();
    let mut child = Command::new(bin)
        .args(["--bind", "127.0.0.1:0"])
        .current_dir(&dir)
        .env_remove("AUTH_DATABASE_URL")
        .env_remove("AUTH_BIND")
        .env_remove("AUTH_FRAMEWORK")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the demo server");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut addr = None;
    let mut docs = None;
    while docs.is_none() {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .expect("the server printed no docs URL within 30 s");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.trim().to_owned());
        }
        if let Some(url) = line.strip_prefix("API docs: ") {
            docs = Some(url.trim().to_owned());
        }
    }
    let addr = addr.expect("no address printed");
    assert_eq!(docs.unwrap(), format!("http://{addr}/api/docs"));
    let health = http_get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(dir.join("auth-demo.db").exists());
    assert!(dir.join("auth-demo.secret").exists());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("shutting down"), "{stderr}");
    let secret = std::fs::read_to_string(dir.join("auth-demo.secret")).unwrap();
    assert!(
        !stderr.contains(secret.trim()),
        "the server secret was logged"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn example_create_superuser() {
    let bin = demo_server();
    let dir = temp_dir();
    let password = "create-superuser-passphrase-5";
    let run = || create_superuser_with(&bin, &dir, &["--password", password], &[]);
    let first = run();
    assert!(first.status.success(), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("\"admin\""));
    let second = run();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("username: "), "{stderr}");
    for output in [&first, &second] {
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains(password), "the password was printed");
            assert!(!text.contains("$argon2"), "a hash was printed");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The demo at `bin` running `create-superuser` for `admin` on
/// `sqlite://admin.db` in `dir`, with `extra` arguments and environment,
/// stdin not a terminal.
fn create_superuser_with(
    bin: &std::path::Path,
    dir: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut command = Command::new(bin);
    command
        .args(["--database-url", "sqlite://admin.db", "create-superuser"])
        .args(["--username", "admin", "--email", "admin@example.com"])
        .args(extra)
        .current_dir(dir)
        .env_remove("AUTH_SUPERUSER_PASSWORD")
        .env_remove("AUTH_DATABASE_URL")
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// `AUTH_SUPERUSER_PASSWORD` gives the password (as Django's
/// `DJANGO_SUPERUSER_PASSWORD`), which then logs in; with neither it nor
/// `--password`, and no terminal to ask on, the command fails saying so.
/// The database and secret files it creates are its owner's alone.
#[test]
fn example_create_superuser_from_the_environment() {
    let bin = demo_server();
    let dir = temp_dir();
    let password = "environment-passphrase-83";

    let none = create_superuser_with(&bin, &dir, &[], &[]);
    assert!(!none.status.success(), "{none:?}");
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(
        stderr.contains("AUTH_SUPERUSER_PASSWORD") && stderr.contains("--password"),
        "{stderr}"
    );

    let created = create_superuser_with(&bin, &dir, &[], &[("AUTH_SUPERUSER_PASSWORD", password)]);
    assert!(created.status.success(), "{created:?}");
    for stream in [&created.stdout, &created.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(password), "the password was printed");
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let settings = auth_demo::Settings {
            database_url: auth_demo::Secret::new(format!(
                "sqlite://{}",
                dir.join("admin.db").display()
            )),
            quiet: true,
            ..auth_demo::Settings::default()
        };
        let auth = auth_demo::setup::build_auth(&settings).await.unwrap();
        let credentials = auth_core::flows::Credentials::username("admin", password);
        let (user, _) = auth
            .jwt_login(&credentials, &auth_core::events::ClientInfo::default())
            .await
            .expect("the superuser logs in with the password from the environment");
        assert!(user.is_superuser && user.is_staff && user.is_active);
    });

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["admin.db", "admin.secret"] {
            let mode = std::fs::metadata(dir.join(file))
                .unwrap_or_else(|err| panic!("{file}: {err}"))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
