//! Importing a custom user model (`AUTH_USER_MODEL = "accounts.Member"`)
//! from a SQLite file: a user table of another name, columns of other
//! names, and extra columns that go into `profile`; and the progress
//! callback.

use std::sync::{Arc, Mutex};

use auth_core::store::{KnoxTokenStore, StaticTokenStore, UserStore};
use auth_core::{MemoryStore, Stores};
use auth_django::{
    ImportError, ImportOptions, Progress, ProgressCallback, TableReport, UserField, import,
};
use serde_json::json;
use sqlx::Connection;

mod common;

/// The tables of a project whose user model is `accounts.Member`, with
/// knox and DRF's authtoken pointing at it, as Django's SQLite migrations
/// write them.
const SCHEMA: &[&str] = &[
    r#"CREATE TABLE "accounts_member" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, "is_superuser" bool NOT NULL, "login" varchar(150) NOT NULL UNIQUE, "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL, "mail" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "plan" varchar(20) NULL, "age" integer unsigned NULL, "score" real NULL, "newsletter" bool NULL)"#,
    r#"CREATE TABLE "knox_authtoken" ("digest" varchar(128) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "user_id" integer NOT NULL REFERENCES "accounts_member" ("id") DEFERRABLE INITIALLY DEFERRED, "expiry" datetime NULL, "token_key" varchar(25) NOT NULL)"#,
    r#"CREATE TABLE "authtoken_token" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "user_id" integer NOT NULL UNIQUE REFERENCES "accounts_member" ("id") DEFERRABLE INITIALLY DEFERRED)"#,
    r#"INSERT INTO accounts_member VALUES (1, 'pbkdf2_sha256$1000$c2FsdA$x', '2026-11-20 10:00:00', 0, 'ada', 'Ada', 'Lovelace', 'ada@example.com', 0, 1, '2026-01-02 03:04:05.678901', 'pro', 36, 4.5, 1)"#,
    r#"INSERT INTO accounts_member VALUES (2, '!unusable', NULL, 1, 'bob', '', '', 'bob@example.com', 1, 1, '2026-02-03 04:05:06', NULL, NULL, NULL, 0)"#,
    r#"INSERT INTO knox_authtoken VALUES ('abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab', '2026-11-22 08:48:45', 1, '2126-11-22 18:48:45', 'abcdefgh')"#,
    r#"INSERT INTO authtoken_token VALUES ('9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b', '2026-06-01 00:00:00', 2)"#,
];

/// A Django SQLite file with [`SCHEMA`]: its URL.
async fn database(name: &str) -> String {
    let (url, conn) = common::sqlite_file(&format!("custom-{name}"), SCHEMA).await;
    conn.close().await.unwrap();
    url
}

/// The options for `accounts_member`: `login` and `mail` mapped.
fn member_options() -> ImportOptions {
    let mut options = ImportOptions {
        user_table: "accounts_member".into(),
        ..ImportOptions::default()
    };
    options.columns.insert(UserField::Username, "login".into());
    options.columns.insert(UserField::Email, "mail".into());
    options
}

fn imported(imported: u64) -> TableReport {
    TableReport {
        imported,
        ..TableReport::default()
    }
}

#[tokio::test]
async fn a_custom_user_table_is_imported_with_its_extra_columns_in_profile() {
    let url = database("import").await;
    let store = Arc::new(MemoryStore::new());
    let stores = Stores::all_in(store.clone());
    let report = import(&url, &stores, &member_options()).await.unwrap();
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.user_table, "accounts_member");
    assert_eq!(report.users, imported(2));
    assert_eq!(report.knox_tokens, Some(imported(1)));
    assert_eq!(report.drf_tokens, Some(imported(1)));
    assert_eq!(report.blacklisted_tokens, None);

    let ada = store.user_by_legacy_id(1).await.unwrap().unwrap();
    assert_eq!(
        (
            ada.username.as_str(),
            ada.email.as_str(),
            ada.first_name.as_str()
        ),
        ("ada", "ada@example.com", "Ada")
    );
    assert!(ada.is_active && !ada.is_staff && !ada.is_superuser);
    assert_eq!(
        ada.date_joined.to_rfc3339(),
        "2026-01-02T03:04:05.678901+00:00"
    );
    assert_eq!(
        serde_json::Value::Object(ada.profile.clone()),
        json!({"plan": "pro", "age": 36, "score": 4.5, "newsletter": true}),
        "text, integer, real and boolean columns land in profile"
    );
    let bob = store.user_by_legacy_id(2).await.unwrap().unwrap();
    assert!(bob.is_staff && bob.is_superuser && bob.password_hash.is_none());
    assert_eq!(
        serde_json::Value::Object(bob.profile.clone()),
        json!({"newsletter": false}),
        "NULLs are left out"
    );
    let knox = store.knox_tokens_by_key("abcdefgh").await.unwrap();
    assert_eq!(knox.len(), 1);
    assert_eq!(
        knox[0].user_id, ada.id,
        "knox rows point at the custom table"
    );
    let drf = store.static_token_for_user(bob.id).await.unwrap();
    assert!(drf.is_some(), "DRF keys point at the custom table");

    // Again: nothing changed. Then Django changes a plan, and a key
    // added here stays.
    let again = import(&url, &stores, &member_options()).await.unwrap();
    assert_eq!((again.users.unchanged, again.users.updated), (2, 0));
    let mut profile = ada.profile.clone();
    profile.insert("bio".into(), json!("set here"));
    let update = auth_core::user::UserUpdate {
        profile: Some(profile),
        ..Default::default()
    };
    store.update_user(ada.id, &update).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE accounts_member SET plan = 'team' WHERE id = 1")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let changed = import(&url, &stores, &member_options()).await.unwrap();
    assert_eq!((changed.users.unchanged, changed.users.updated), (1, 1));
    let ada = store.user_by_id(ada.id).await.unwrap().unwrap();
    assert_eq!(ada.profile["plan"], "team");
    assert_eq!(ada.profile["bio"], "set here");
    common::remove(&url);
}

#[tokio::test]
async fn bad_names_and_missing_columns_are_refused_before_anything_is_written() {
    let url = database("refused").await;
    let store = Arc::new(MemoryStore::new());
    let stores = Stores::all_in(store.clone());

    for table in [
        "accounts_member; DROP TABLE knox_authtoken",
        "a\"b",
        "",
        "accounts-member",
    ] {
        let options = ImportOptions {
            user_table: table.into(),
            ..member_options()
        };
        let err = import(&url, &stores, &options).await.unwrap_err();
        assert!(
            matches!(&err, ImportError::InvalidIdentifier(name) if name == table),
            "{table:?}: {err}"
        );
    }
    let mut options = member_options();
    options
        .columns
        .insert(UserField::FirstName, "first_name` FROM x --".into());
    let err = import(&url, &stores, &options).await.unwrap_err();
    assert!(matches!(err, ImportError::InvalidIdentifier(_)), "{err}");

    // auth_user's column names on this table: no `username`.
    let options = ImportOptions {
        user_table: "accounts_member".into(),
        ..ImportOptions::default()
    };
    let err = import(&url, &stores, &options).await.unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::MissingColumn { field: UserField::Username, column, .. } if column == "username"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("accounts_member"), "{err}");
    let mut options = member_options();
    options.columns.insert(UserField::LastLogin, "seen".into());
    let err = import(&url, &stores, &options).await.unwrap_err();
    assert!(err.to_string().contains("no column seen"), "{err}");

    let options = ImportOptions {
        user_table: "no_such_table".into(),
        ..ImportOptions::default()
    };
    let err = import(&url, &stores, &options).await.unwrap_err();
    assert!(matches!(err, ImportError::NoUserTable(_)), "{err}");

    assert_eq!(store.user_by_legacy_id(1).await.unwrap(), None);
    assert!(
        store
            .knox_tokens_by_key("abcdefgh")
            .await
            .unwrap()
            .is_empty()
    );

    // The field names parse, and an unknown one is refused by name.
    assert_eq!("last_login".parse(), Ok(UserField::LastLogin));
    let unknown = "nickname".parse::<UserField>().unwrap_err();
    assert!(unknown.to_string().contains("\"nickname\""));
    common::remove(&url);
}

#[tokio::test]
async fn the_progress_callback_sees_every_tables_rows() {
    let url = database("progress").await;
    let stores = Stores::all_in(Arc::new(MemoryStore::new()));
    let seen: Arc<Mutex<Vec<(String, u64, u64)>>> = Arc::default();
    let mut options = member_options();
    options.progress = Some(ProgressCallback::new({
        let seen = seen.clone();
        move |progress: Progress<'_>| {
            seen.lock()
                .unwrap()
                .push((progress.table.to_owned(), progress.done, progress.total));
        }
    }));
    let report = import(&url, &stores, &options).await.unwrap();
    assert!(report.errors.is_empty(), "{report:?}");
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<(String, u64, u64)> = [
        ("accounts_member", 2),
        ("knox_authtoken", 1),
        ("authtoken_token", 1),
    ]
    .into_iter()
    .flat_map(|(table, total)| (0..=total).map(move |done| (table.to_owned(), done, total)))
    .collect();
    assert_eq!(seen, expected);
    common::remove(&url);
}
