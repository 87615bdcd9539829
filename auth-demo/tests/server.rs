//! The server in-process: binding port 0, answering, stopping; the
//! `create-superuser` command; refusing a framework not built yet.

use std::time::Duration;

use auth_demo::{Cli, Framework, Secret, Settings};
use clap::Parser;

mod common;
use tokio::net::TcpStream;

fn memory_settings() -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Secret::new("sqlite::memory:"),
        quiet: true,
        ..Settings::default()
    }
}

/// `GET path` over a fresh connection: the status code and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    common::send(addr, "GET", path, None, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_on_a_free_port_answers_and_stops() {
    let server = auth_demo::start(&memory_settings()).await.unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(server.url(), format!("http://{addr}"));
    assert_eq!(server.docs_url(), format!("http://{addr}/api/docs"));
    let (status, _) = get(addr, "/healthz").await;
    assert_eq!(status, 200);
    let (status, body) = get(addr, "/no/such/route").await;
    assert_eq!(status, 404);
    assert!(body.contains(r#""detail""#), "{body}");

    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown within 5 s")
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_handle_stops_it_from_elsewhere() {
    let server = auth_demo::start(&memory_settings()).await.unwrap();
    let handle = server.shutdown_handle();
    let waiter = tokio::spawn(server.wait());
    handle.shutdown();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("stopped within 5 s")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn actix_serves_the_same_routes() {
    let settings = Settings {
        framework: Framework::Actix,
        ..memory_settings()
    };
    let server = auth_demo::start(&settings).await.unwrap();
    assert_eq!(server.framework(), Framework::Actix);
    let (status, body) = get(server.local_addr(), "/healthz").await;
    assert_eq!(status, 200, "{body}");
    tokio::time::timeout(std::time::Duration::from_secs(5), server.shutdown())
        .await
        .expect("stopped within 5 s")
        .unwrap();
}

#[tokio::test]
async fn create_superuser_command() {
    let dir = std::env::temp_dir().join(format!(
        "auth-demo-cli-{}",
        hex::encode(auth_core::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("cli.db").display());
    let args = |password: &str| {
        Cli::try_parse_from([
            "demo_server",
            "--database-url",
            &url,
            "create-superuser",
            "--username",
            "root",
            "--email",
            "root@example.com",
            "--password",
            password,
        ])
        .unwrap()
    };
    auth_demo::run(args("a long enough passphrase"))
        .await
        .unwrap();

    // The user is there, active and staff, on the same file.
    let settings = Settings {
        database_url: Secret::new(url.clone()),
        ..Settings::default()
    };
    let auth = auth_demo::build_auth(&settings).await.unwrap();
    let user = auth
        .stores()
        .users
        .user_by_username("root")
        .await
        .unwrap()
        .expect("the superuser exists");
    assert!(user.is_active && user.is_staff && user.is_superuser);

    // A second time: field errors, one a line, naming the field.
    let err = auth_demo::run(args("a long enough passphrase"))
        .await
        .unwrap_err();
    let text = auth_demo::server::describe(&err);
    assert!(text.lines().any(|l| l.starts_with("username: ")), "{text}");
    // A weak password: the validators run.
    let err = auth_demo::run(
        Cli::try_parse_from([
            "demo_server",
            "--database-url",
            &url,
            "create-superuser",
            "--username=other",
            "--email=other@example.com",
            "--password=123",
        ])
        .unwrap(),
    )
    .await
    .unwrap_err();
    let text = auth_demo::server::describe(&err);
    assert!(text.contains("password: "), "{text}");
    assert!(!text.contains("123\n"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `import-django --from URL [--dry-run]`: a Django SQLite database's user
/// lands in the demo's database with its Django id, once.
#[tokio::test]
async fn import_django_command() {
    use auth_store_sqlx::sqlx::{self, ConnectOptions, Connection};

    let dir = std::env::temp_dir().join(format!(
        "auth-demo-django-{}",
        hex::encode(auth_core::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let django = format!("sqlite://{}", dir.join("django.sqlite3").display());
    let mut conn = django
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    // Django 5.2's table, as its migration writes it for SQLite.
    sqlx::query(
        r#"CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL)"#,
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO auth_user VALUES (42, '!', NULL, 0, 'grace', 'Hopper', \
         'grace@example.com', 1, 1, '2020-05-06 07:08:09', 'Grace')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let url = format!("sqlite://{}", dir.join("demo.db").display());
    let settings = Settings {
        database_url: Secret::new(url.clone()),
        ..Settings::default()
    };
    let dry_run = auth_demo::auth_django::ImportOptions {
        dry_run: true,
        ..Default::default()
    };
    let dry = auth_demo::server::import_django(&settings, &django, &dry_run)
        .await
        .unwrap();
    let text = auth_demo::server::describe_import(&dry);
    assert!(
        text.contains("auth_user: would import 1, updated 0, unchanged 0"),
        "{text}"
    );
    assert!(text.contains("knox_authtoken: no such table"), "{text}");

    let cli = Cli::try_parse_from([
        "demo_server",
        "--database-url",
        &url,
        "import-django",
        "--from",
        &django,
    ])
    .unwrap();
    auth_demo::run(cli).await.unwrap();
    let auth = auth_demo::build_auth(&settings).await.unwrap();
    let grace = auth
        .stores()
        .users
        .user_by_legacy_id(42)
        .await
        .unwrap()
        .expect("imported with its Django id");
    assert!(grace.is_staff && grace.password_hash.is_none());
    drop(auth);

    let again = auth_demo::server::import_django(&settings, &django, &Default::default())
        .await
        .unwrap();
    assert_eq!((again.users.imported, again.users.unchanged), (0, 1));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--no-migrate` leaves a new database without tables (the server starts
/// and its health check says so); the `migrate` command creates them and
/// exits, after which the same server is healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_command_and_no_migrate() {
    let dir = std::env::temp_dir().join(format!(
        "auth-demo-migrate-{}",
        hex::encode(auth_core::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("m.db").display());
    let settings = Settings {
        database_url: Secret::new(url.clone()),
        no_migrate: true,
        ..memory_settings()
    };
    let server = auth_demo::start(&settings).await.unwrap();
    let (status, body) = get(server.local_addr(), "/healthz").await;
    assert_eq!(status, 503, "no tables yet: {body}");
    server.shutdown().await.unwrap();

    let cli = Cli::try_parse_from([
        "demo_server",
        "--database-url",
        &url,
        "--no-migrate",
        "migrate",
    ])
    .unwrap();
    auth_demo::run(cli).await.unwrap();
    let server = auth_demo::start(&settings).await.unwrap();
    let (status, body) = get(server.local_addr(), "/healthz").await;
    assert_eq!(status, 200, "migrated: {body}");
    server.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `change-password` (as Django's `changepassword`): the new password
/// logs in, the old one no longer does, and the validators still apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_command() {
    let dir = std::env::temp_dir().join(format!(
        "auth-demo-chpw-{}",
        hex::encode(auth_core::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("p.db").display());
    let settings = Settings {
        database_url: Secret::new(url.clone()),
        ..memory_settings()
    };
    auth_demo::create_superuser(
        &settings,
        "root",
        "root@example.com",
        "the first passphrase",
    )
    .await
    .unwrap();
    let args = |password: &str| {
        Cli::try_parse_from([
            "demo_server",
            "--database-url",
            &url,
            "change-password",
            "--username",
            "root",
            "--password",
            password,
        ])
        .unwrap()
    };
    assert!(
        auth_demo::run(args("short")).await.is_err(),
        "the validators refuse a short password"
    );
    auth_demo::run(args("the second passphrase")).await.unwrap();

    let auth = auth_demo::build_auth(&settings).await.unwrap();
    let client = auth_core::events::ClientInfo::default();
    for (password, works) in [
        ("the first passphrase", false),
        ("the second passphrase", true),
    ] {
        let credentials = auth_core::flows::Credentials::username("root", password);
        let outcome = auth
            .check_credentials(
                &credentials,
                auth_core::events::TokenKind::Credentials,
                &client,
            )
            .await;
        assert_eq!(outcome.is_ok(), works, "{password}");
    }
    let missing = Cli::try_parse_from([
        "demo_server",
        "--database-url",
        &url,
        "change-password",
        "--username",
        "nobody",
        "--password",
        "the third passphrase",
    ])
    .unwrap();
    assert!(auth_demo::run(missing).await.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The JSON body of `GET path`, which must answer 200.
async fn get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = get(addr, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The kids and algorithms of the ID-token keys the server publishes, and
/// what its discovery document says it signs with.
async fn oidc_keys(addr: std::net::SocketAddr, issuer: &str) -> (Vec<String>, serde_json::Value) {
    let discovery = get_json(addr, "/.well-known/openid-configuration").await;
    assert_eq!(discovery["jwks_uri"], format!("{issuer}/api/o/jwks.json"));
    assert!(
        discovery["scopes_supported"]
            .as_array()
            .expect("scopes")
            .contains(&serde_json::json!("openid"))
    );
    let jwks = get_json(addr, "/api/o/jwks.json").await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(keys.iter().all(|key| key.get("d").is_none()), "{jwks}");
    let kids = keys
        .iter()
        .map(|key| format!("{} {}", key["kid"], key["alg"]))
        .collect();
    (
        kids,
        discovery["id_token_signing_alg_values_supported"].clone(),
    )
}

/// OpenID Connect out of the box: an Ed25519 key generated beside the
/// database on the first start (its owner's alone), the same key on the
/// second start, advertised by discovery and the JWKS; `--oidc-key` names
/// another key instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oidc_key_is_generated_once_and_advertised() {
    let dir = std::env::temp_dir().join(format!(
        "auth-demo-oidc-{}",
        hex::encode(auth_core::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: Secret::new(format!("sqlite://{}", dir.join("demo.db").display())),
        quiet: true,
        ..Settings::default()
    };
    let key_file = dir.join("demo.oidc.pem");
    assert!(!key_file.exists());

    let server = auth_demo::start(&settings).await.unwrap();
    let (first, algs) = oidc_keys(server.local_addr(), &server.url()).await;
    server.shutdown().await.unwrap();
    assert_eq!(algs, serde_json::json!(["EdDSA"]));
    assert_eq!(first.len(), 1);
    let pem = std::fs::read_to_string(&key_file).expect("the key file is written");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let server = auth_demo::start(&settings).await.unwrap();
    let (second, _) = oidc_keys(server.local_addr(), &server.url()).await;
    server.shutdown().await.unwrap();
    assert_eq!(second, first, "the same key on the second start");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), pem);

    // A key file named by --oidc-key (P-256 here) signs instead, for the
    // issuer --issuer names.
    let cli = Cli::try_parse_from([
        "demo_server",
        "--oidc-key",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../auth-core/tests/keys/ec_private.pem"
        ),
        "--issuer",
        "https://id.example/",
    ])
    .unwrap();
    let given = Settings {
        oidc_key: cli.settings.oidc_key,
        issuer: cli.settings.issuer,
        ..settings.clone()
    };
    let server = auth_demo::start(&given).await.unwrap();
    let (named, algs) = oidc_keys(server.local_addr(), "https://id.example").await;
    let discovery = get_json(server.local_addr(), "/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], "https://id.example");
    server.shutdown().await.unwrap();
    assert_eq!(algs, serde_json::json!(["ES256"]));
    assert_ne!(named, first);
    std::fs::remove_dir_all(dir).unwrap();
}
