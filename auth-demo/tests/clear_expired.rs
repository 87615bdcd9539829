//! The `clear-expired` command empties the expired rows of a SQLite file
//! and leaves the live ones.

use std::sync::Arc;

use auth_core::ManualClock;
use auth_core::events::ClientInfo;
use auth_core::flows::Credentials;
use auth_demo::{Cli, Secret, Settings};
use auth_store_sqlx::sqlx::{self, Row};
use chrono::Duration;
use clap::Parser;

/// The number of rows of each table, by name.
async fn rows(url: &str, tables: &[&str]) -> Vec<i64> {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let mut counts = Vec::new();
    for table in tables {
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        counts.push(row.get::<i64, _>("n"));
    }
    pool.close().await;
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_expired_empties_expired_rows_and_keeps_live_ones() {
    let dir = std::env::temp_dir().join(format!(
        "auth-demo-clear-{}",
        hex::encode(auth_core::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("clear.db").display());
    let clock = ManualClock::new(chrono::Utc::now());
    let settings = Settings {
        database_url: Secret::new(url.clone()),
        jwt_secret: Some(Secret::new("a secret that is long enough for HS256 keys")),
        knox_ttl: 60,
        history_retention_days: 30,
        quiet: true,
        clock: Some(Arc::new(clock.clone())),
        ..Settings::default()
    };
    let auth = auth_demo::build_auth(&settings).await.unwrap();
    let user = auth
        .create_superuser("cleaner", "cleaner@example.com", "Kettle-Orbit-42")
        .await
        .unwrap();
    let creds = Credentials {
        login: auth_core::flows::Login::Username("cleaner".into()),
        password: "wrong password".into(),
    };
    // A failed login: a history entry and two throttle windows.
    assert!(
        auth.jwt_login(&creds, &ClientInfo::default())
            .await
            .is_err()
    );
    let doomed = auth.issue_knox_token(&user, None).await.unwrap();
    let pair = auth.issue_jwt_pair(&user).await.unwrap();
    auth.jwt_blacklist(pair.refresh.as_str(), &ClientInfo::default())
        .await
        .unwrap();
    auth.flush().await;

    let tables = [
        "auth_knox_tokens",
        "auth_jwt_blacklist",
        "auth_throttle",
        "auth_login_history",
    ];
    let before = rows(&url, &tables).await;
    assert!(before.iter().all(|&n| n >= 1), "{before:?}");

    // Nothing has expired yet: the command deletes nothing.
    let cli = || Cli::try_parse_from(["demo_server", "--database-url", &url, "clear-expired"]);
    let cleared = auth_demo::clear_expired(&settings).await.unwrap();
    assert_eq!(cleared.total(), 0, "{cleared}");
    assert_eq!(rows(&url, &tables).await, before);

    // Two days and a month later: the Knox token, the blacklist entry (the
    // refresh token expired after a day), the windows and the history
    // entries are past their time; a token issued now is live.
    clock.advance(Duration::days(32));
    let live = auth.issue_knox_token(&user, None).await.unwrap();
    let cleared = auth_demo::clear_expired(&settings).await.unwrap();
    assert_eq!(cleared.knox_tokens, 1, "{cleared}");
    assert!(cleared.revocations >= 1, "{cleared}");
    assert!(cleared.throttle_windows >= 1, "{cleared}");
    assert!(cleared.history >= 1, "{cleared}");
    let after = rows(&url, &tables).await;
    assert_eq!(after, vec![1, 0, 0, 0], "only the live Knox token is left");
    assert!(auth.authenticate_knox(live.token.expose()).await.is_ok());
    assert!(auth.authenticate_knox(doomed.token.expose()).await.is_err());

    // The command line runs the same (nothing is left to delete).
    auth_demo::run(cli().unwrap()).await.unwrap();
    assert_eq!(rows(&url, &tables).await, vec![1, 0, 0, 0]);
    let _ = std::fs::remove_dir_all(&dir);
}
