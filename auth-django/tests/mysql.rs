//! Importing a Django database on MySQL/MariaDB (Django 5.2's column
//! types: `datetime(6)` in UTC, `bool` as `tinyint(1)`), in a database of
//! its own on the server at `AUTH_TEST_MYSQL_URL` (root@127.0.0.1:3306).

use std::sync::Arc;

use auth_core::store::UserStore;
use auth_core::{MemoryStore, Stores};
use auth_django::{ImportOptions, import};
use sqlx::Connection;

#[path = "common/members.rs"]
mod members;

const SCHEMA: &[&str] = &[
    "CREATE TABLE auth_user (id integer AUTO_INCREMENT NOT NULL PRIMARY KEY, \
     password varchar(128) NOT NULL, last_login datetime(6) NULL, is_superuser bool NOT NULL, \
     username varchar(150) NOT NULL UNIQUE, first_name varchar(150) NOT NULL, \
     last_name varchar(150) NOT NULL, email varchar(254) NOT NULL, is_staff bool NOT NULL, \
     is_active bool NOT NULL, date_joined datetime(6) NOT NULL)",
    "CREATE TABLE knox_authtoken (digest varchar(128) NOT NULL PRIMARY KEY, \
     created datetime(6) NOT NULL, user_id integer NOT NULL, expiry datetime(6) NULL, \
     token_key varchar(25) NOT NULL)",
    "CREATE TABLE authtoken_token (`key` varchar(40) NOT NULL PRIMARY KEY, \
     created datetime(6) NOT NULL, user_id integer NOT NULL UNIQUE)",
];

/// A new database on the server at `AUTH_TEST_MYSQL_URL`: a connection
/// to the server, the database's name and its URL.
async fn database() -> (sqlx::MySqlConnection, String, String) {
    let base = std::env::var("AUTH_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let name = auth_core::testkit::unique("auth_django_");
    let mut admin = sqlx::MySqlConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    (admin, name, url)
}

#[tokio::test]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn a_django_mysql_database_is_imported() {
    let (mut admin, name, url) = database().await;
    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
    for statement in SCHEMA {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO auth_user VALUES (7, 'pbkdf2_sha256$1$c2FsdA$x', \
         '2026-11-20 10:00:00.500000', 1, 'ada', 'Ada', 'L', 'ada@example.com', 1, 1, \
         '2025-01-02 03:04:05.123456')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO knox_authtoken VALUES ('{}', '2026-12-01 00:00:00', 7, \
         '2126-01-01 00:00:00', 'abcdefgh')",
        "ab".repeat(64)
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO authtoken_token VALUES ('{}', '2026-06-01 00:00:00', 7)",
        "0123456789".repeat(4)
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = Arc::new(MemoryStore::new());
    let stores = Stores::all_in(store.clone());
    let report = import(&url, &stores, &ImportOptions::default()).await;
    let _ = sqlx::query(&format!("DROP DATABASE {name}"))
        .execute(&mut admin)
        .await;
    let report = report.unwrap();
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.users.imported, 1);
    assert_eq!(report.knox_tokens.map(|c| c.imported), Some(1));
    assert_eq!(report.drf_tokens.map(|c| c.imported), Some(1));
    assert_eq!(report.blacklisted_tokens, None, "no blacklist app");
    let ada = store.user_by_legacy_id(7).await.unwrap().unwrap();
    assert!(ada.is_staff && ada.is_superuser && ada.is_active);
    assert_eq!(
        (ada.first_name.as_str(), ada.last_name.as_str()),
        ("Ada", "L")
    );
    assert_eq!(
        ada.date_joined.to_rfc3339(),
        "2025-01-02T03:04:05.123456+00:00"
    );
    assert_eq!(
        ada.last_login.map(|at| at.to_rfc3339()).as_deref(),
        Some("2026-11-20T10:00:00.500+00:00")
    );
}

/// A custom user model (`AUTH_USER_MODEL = "accounts.Member"`) on
/// MySQL/MariaDB: renamed columns through the mapping, and the other
/// columns into `profile` with Django 5.2's MySQL types (`bool` as
/// `tinyint(1)`, `double precision`, `numeric`, `json`).
#[tokio::test]
#[cfg_attr(auth_test_skip = "mysql", ignore = "AUTH_TEST_SKIP names mysql")]
async fn a_custom_user_table_on_mysql_is_imported() {
    let (mut admin, name, url) = database().await;
    let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
    for statement in [
        "CREATE TABLE accounts_member (id integer AUTO_INCREMENT NOT NULL PRIMARY KEY, \
         password varchar(128) NOT NULL, last_login datetime(6) NULL, is_superuser bool NOT NULL, \
         login varchar(150) NOT NULL UNIQUE, first_name varchar(150) NOT NULL, \
         last_name varchar(150) NOT NULL, mail varchar(254) NOT NULL, is_staff bool NOT NULL, \
         is_active bool NOT NULL, date_joined datetime(6) NOT NULL, plan varchar(20) NULL, \
         age integer NULL, score double precision NULL, balance numeric(8, 2) NULL, \
         newsletter bool NULL, settings json NULL)",
        "INSERT INTO accounts_member VALUES (11, 'pbkdf2_sha256$1000$c2FsdA$x', \
         '2026-11-20 10:00:00', 0, 'ada', 'Ada', 'Lovelace', 'ada@example.com', 0, 1, \
         '2026-01-02 03:04:05.678901', 'pro', 36, 4.5, 12.50, 1, '{\"theme\": \"dark\"}')",
        "INSERT INTO accounts_member VALUES (12, '!unusable', NULL, 1, 'bob', '', '', \
         'bob@example.com', 1, 1, '2026-02-03 04:05:06', NULL, NULL, NULL, NULL, NULL, NULL)",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let (store, first, again) = members::import_twice(&url).await;
    let _ = sqlx::query(&format!("DROP DATABASE {name}"))
        .execute(&mut admin)
        .await;
    members::check(&store, first.unwrap(), again.unwrap()).await;
}
