//! `import-django` fails (a non-zero exit) when a row could not be
//! imported, after importing the others.

use auth_demo::{Cli, DemoError};
use auth_store_sqlx::sqlx;
use clap::Parser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_django_fails_when_a_row_fails() {
    let dir = std::env::temp_dir().join(format!(
        "auth-demo-import-{}",
        hex::encode(auth_core::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let django = format!("sqlite://{}?mode=rwc", dir.join("django.sqlite3").display());
    let pool = sqlx::SqlitePool::connect(&django).await.unwrap();
    // Django's auth_user, with a user whose date_joined is no time.
    sqlx::query(
        "CREATE TABLE auth_user (id integer PRIMARY KEY, password varchar(128) NOT NULL, \
         last_login datetime NULL, is_superuser bool NOT NULL, username varchar(150) NOT NULL, \
         first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, \
         email varchar(254) NOT NULL, is_staff bool NOT NULL, is_active bool NOT NULL, \
         date_joined datetime NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO auth_user VALUES \
         (1, '!', NULL, 0, 'ann', '', '', 'ann@example.com', 0, 1, '2026-01-02 03:04:05'), \
         (2, '!', NULL, 0, 'ben', '', '', 'ben@example.com', 0, 1, 'yesterday')",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let target = format!("sqlite://{}", dir.join("target.db").display());
    let from = format!("--from=sqlite://{}", dir.join("django.sqlite3").display());
    let cli = |dry_run: bool| {
        let mut args = vec![
            "demo_server",
            "--database-url",
            &target,
            "--jwt-secret",
            "a secret that is long enough for HS256 keys",
            "import-django",
            &from,
        ];
        if dry_run {
            args.push("--dry-run");
        }
        Cli::try_parse_from(args).unwrap()
    };
    for dry_run in [true, false] {
        let err = auth_demo::run(cli(dry_run)).await.unwrap_err();
        assert!(matches!(err, DemoError::ImportRowsFailed(1)), "{err}");
        assert!(err.to_string().contains("1 Django row"), "{err}");
    }
    let target_pool = sqlx::SqlitePool::connect(&target).await.unwrap();
    let names: Vec<(String,)> = sqlx::query_as("SELECT username FROM auth_users ORDER BY username")
        .fetch_all(&target_pool)
        .await
        .unwrap();
    target_pool.close().await;
    assert_eq!(names, vec![("ann".to_owned(),)], "the good row is imported");
    let _ = std::fs::remove_dir_all(&dir);
}
