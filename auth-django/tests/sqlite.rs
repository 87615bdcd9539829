//! Importing a Django SQLite database made with Django's own table
//! definitions (Django 5.2, knox 5.1, DRF's authtoken, simplejwt's
//! blacklist app), holding hashes, knox rows and jtis from the shared test
//! vectors.

use std::sync::Arc;

use auth_core::config::AuthConfig;
use auth_core::flows::Credentials;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::store::{JwtRevocationStore, UserStore};
use auth_core::{Auth, ManualClock, MemoryStore, Stores};
use auth_django::{ImportOptions, TableReport, import};
use serde_json::Value;
use sqlx::Connection;

mod common;

/// Django's `CREATE TABLE`s for SQLite, as its migrations write them.
const DJANGO_SCHEMA: &[&str] = &[
    r#"CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL)"#,
    r#"CREATE TABLE "knox_authtoken" ("digest" varchar(128) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "user_id" integer NOT NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED, "expiry" datetime NULL, "token_key" varchar(25) NOT NULL)"#,
    r#"CREATE TABLE "authtoken_token" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "user_id" integer NOT NULL UNIQUE REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED)"#,
    r#"CREATE TABLE "token_blacklist_outstandingtoken" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "token" text NOT NULL, "created_at" datetime NULL, "expires_at" datetime NOT NULL, "user_id" integer NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED, "jti" varchar(255) NOT NULL UNIQUE)"#,
    r#"CREATE TABLE "token_blacklist_blacklistedtoken" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "blacklisted_at" datetime NOT NULL, "token_id" bigint NOT NULL UNIQUE REFERENCES "token_blacklist_outstandingtoken" ("id") DEFERRABLE INITIALLY DEFERRED)"#,
];

const DRF_KEY: &str = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b";
const BLACKLISTED_JTI: &str = "800100a3cc41419cb8edd241903b97e6";

fn vectors(name: &str) -> Value {
    let path = format!(
        "{}/../../shared/testvectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A Django database file with four users (the fourth's username differs
/// from the first's only in case), a knox token of user 1 and one of user
/// 4, a DRF key of user 1 and a blacklisted refresh token of user 1.
async fn django_database(name: &str) -> (String, Value, Value) {
    let (url, mut conn) = common::sqlite_file(name, DJANGO_SCHEMA).await;
    let hashes = vectors("django_hashes.json");
    let hash = |i: usize| hashes["vectors"][i].clone();
    let (pbkdf2, argon2) = (hash(0), hash(1));
    assert!(
        pbkdf2["encoded"]
            .as_str()
            .unwrap()
            .starts_with("pbkdf2_sha256$")
    );
    assert!(argon2["encoded"].as_str().unwrap().starts_with("argon2$"));
    let users = [
        (
            1,
            pbkdf2["encoded"].as_str().unwrap(),
            Some("2026-11-20 10:00:00.5"),
            false,
            "interop",
            "interop@example.com",
            false,
            true,
        ),
        (
            2,
            "!unusable0123456789",
            None,
            false,
            "dormant",
            "dormant@example.com",
            false,
            false,
        ),
        (
            3,
            argon2["encoded"].as_str().unwrap(),
            None,
            true,
            "root",
            "root@example.com",
            true,
            true,
        ),
        (
            4,
            "!x",
            None,
            false,
            "INTEROP",
            "other@example.com",
            false,
            true,
        ),
    ];
    for (id, password, last_login, superuser, username, email, staff, active) in users {
        sqlx::query(
            "INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name, \
             email, is_staff, is_active, date_joined, first_name) \
             VALUES (?, ?, ?, ?, ?, 'Lovelace', ?, ?, ?, '2026-01-02 03:04:05.678901', 'Ada')",
        )
        .bind(id)
        .bind(password)
        .bind(last_login)
        .bind(superuser)
        .bind(username)
        .bind(email)
        .bind(staff)
        .bind(active)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let knox = vectors("knox_tokens.json")["tokens"][0].clone();
    for (user, digest) in [(1, knox["digest"].as_str().unwrap()), (4, &"ab".repeat(64))] {
        sqlx::query(
            "INSERT INTO knox_authtoken (digest, created, user_id, expiry, token_key) \
             VALUES (?, '2026-11-22 08:48:45.327862', ?, '2126-11-22 18:48:45.327697', ?)",
        )
        .bind(digest)
        .bind(user)
        .bind(knox["token_key"].as_str().unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO authtoken_token VALUES (?, '2026-06-01 00:00:00', 1)")
        .bind(DRF_KEY)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO token_blacklist_outstandingtoken (id, token, created_at, expires_at, user_id, jti) \
         VALUES (7, 'eyJ...', '2026-11-22 08:00:00', '2026-11-23 08:00:00', 1, ?)",
    )
    .bind(BLACKLISTED_JTI)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO token_blacklist_blacklistedtoken (id, blacklisted_at, token_id) \
         VALUES (1, '2026-11-22 09:00:00', 7)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    (url, pbkdf2, knox)
}

fn dry_run() -> ImportOptions {
    ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    }
}

fn counts(imported: u64, unchanged: u64, failed: u64) -> TableReport {
    TableReport {
        imported,
        updated: 0,
        unchanged,
        skipped: 0,
        failed,
    }
}

#[tokio::test]
async fn a_django_database_is_imported_once_and_its_credentials_work() {
    let (url, pbkdf2, knox) = django_database("once").await;
    let store = Arc::new(MemoryStore::new());
    let stores = Stores::all_in(store.clone());

    // A dry run reports what it would do and writes nothing.
    let dry = import(&url, &stores, &dry_run()).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        dry.users,
        counts(4, 0, 0),
        "the conflict shows only on write"
    );
    assert_eq!(store.user_by_legacy_id(1).await.unwrap(), None);

    let report = import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(report.users, counts(3, 0, 1));
    assert_eq!(report.knox_tokens, Some(counts(1, 0, 1)));
    assert_eq!(report.drf_tokens, Some(counts(1, 0, 0)));
    assert_eq!(report.blacklisted_tokens, Some(counts(1, 0, 0)));
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("auth_user row 4: ") && errors[0].contains("username"));
    assert!(errors[1].starts_with("knox_authtoken row ") && errors[1].contains("auth_user id 4"));

    let ada = store.user_by_legacy_id(1).await.unwrap().unwrap();
    assert_eq!(ada.username, "interop");
    assert_eq!(
        (ada.first_name.as_str(), ada.last_name.as_str()),
        ("Ada", "Lovelace")
    );
    assert!(ada.is_active && !ada.is_staff && !ada.is_superuser && ada.email_verified);
    assert_eq!(
        ada.date_joined.to_rfc3339(),
        "2026-01-02T03:04:05.678901+00:00"
    );
    assert_eq!(
        ada.last_login.map(|at| at.to_rfc3339()),
        Some("2026-11-20T10:00:00.500+00:00".into())
    );
    let dormant = store.user_by_legacy_id(2).await.unwrap().unwrap();
    assert!(!dormant.is_active && !dormant.email_verified);
    assert_eq!(dormant.password_hash, None, "an unusable password is none");
    let root = store.user_by_legacy_id(3).await.unwrap().unwrap();
    assert!(root.is_staff && root.is_superuser);
    assert_eq!(store.user_by_legacy_id(4).await.unwrap(), None);

    // The credentials work through the service.
    let clock = ManualClock::at_unix(1_795_337_325); // within the knox token's life
    let auth = Auth::builder(AuthConfig::default())
        .store(store.clone())
        .clock(Arc::new(clock))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
        ))
        .build()
        .unwrap();
    let password = pbkdf2["password"].as_str().unwrap();
    let client = auth_core::events::ClientInfo::from_ip("192.0.2.24");
    let (user, _) = auth
        .jwt_login(&Credentials::username("interop", password), &client)
        .await
        .unwrap();
    assert_eq!(user.id, ada.id, "the Django password logs in");
    let knox_user = auth
        .authenticate_knox(knox["token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(knox_user.0.id, ada.id, "the knox token authenticates");
    assert_eq!(auth.authenticate_static(DRF_KEY).await.unwrap().id, ada.id);
    let entry = store
        .blacklisted_jti(BLACKLISTED_JTI)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.user_id, ada.id);

    // Again: nothing new.
    let again = import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(again.users, counts(0, 3, 1));
    assert_eq!(again.knox_tokens, Some(counts(0, 1, 1)));
    assert_eq!(again.drf_tokens, Some(counts(0, 1, 0)));
    assert_eq!(again.blacklisted_tokens, Some(counts(0, 1, 0)));
    common::remove(&url);
}

#[tokio::test]
async fn sources_it_cannot_read_are_refused_by_name() {
    let stores = Stores::all_in(Arc::new(MemoryStore::new()));
    let err = import("oracle://u@h/db", &stores, &ImportOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"oracle\""), "{err}");
    let missing = std::env::temp_dir().join("auth-django-no-such-dir/db.sqlite3");
    let url = format!("sqlite://{}", missing.display());
    assert!(
        import(&url, &stores, &ImportOptions::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn users_with_a_blank_email_all_fail_by_name() {
    let (url, _, _) = django_database("blank").await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE auth_user SET email = '' WHERE id IN (2, 3)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let stores = Stores::all_in(Arc::new(MemoryStore::new()));
    let report = import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    // 2 and 3 for their blank email, 4 for its username.
    assert_eq!(report.users.imported, 1, "{report:?}");
    assert_eq!(report.users.failed, 3, "{report:?}");
    let blank: Vec<String> = report
        .errors
        .iter()
        .filter(|e| e.message.contains("email is blank"))
        .map(|e| e.row.clone())
        .collect();
    assert_eq!(blank, ["2", "3"]);
    common::remove(&url);
}

#[tokio::test]
async fn a_re_run_updates_what_changed_in_django_but_not_a_hash_made_here() {
    let (url, _, _) = django_database("update").await;
    let store = Arc::new(MemoryStore::new());
    let stores = Stores::all_in(store.clone());
    import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    let interop = store.user_by_legacy_id(1).await.unwrap().unwrap();
    let root = store.user_by_legacy_id(3).await.unwrap().unwrap();
    // Upgraded here on a login.
    let upgraded = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA";
    store
        .set_password_hash(interop.id, Some(upgraded))
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "UPDATE auth_user SET is_staff = 1, first_name = 'Changed', \
         password = 'pbkdf2_sha256$1$c2FsdA$x' WHERE id = 1",
        "UPDATE auth_user SET is_active = 0, password = '!gone' WHERE id = 3",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let dry = import(&url, &stores, &dry_run()).await.unwrap();
    assert_eq!((dry.users.updated, dry.users.unchanged), (2, 1), "{dry:?}");
    let report = import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((report.users.updated, report.users.unchanged), (2, 1));
    let interop = store.user_by_id(interop.id).await.unwrap().unwrap();
    assert!(interop.is_staff && interop.first_name == "Changed");
    assert_eq!(interop.password_hash.as_deref(), Some(upgraded), "kept");
    let root = store.user_by_id(root.id).await.unwrap().unwrap();
    assert!(!root.is_active);
    assert_eq!(root.password_hash, None, "Django's unusable password");
    let again = import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((again.users.updated, again.users.unchanged), (0, 3));
    common::remove(&url);
}

#[tokio::test]
async fn a_re_run_moves_the_dates_that_changed_in_django() {
    let (url, _, _) = django_database("dates").await;
    let store = Arc::new(MemoryStore::new());
    let stores = Stores::all_in(store.clone());
    import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    let interop = store.user_by_legacy_id(1).await.unwrap().unwrap();
    let dormant = store.user_by_legacy_id(2).await.unwrap().unwrap();
    let root = store.user_by_legacy_id(3).await.unwrap().unwrap();
    // A login here, later than the one Django is about to record.
    let here = "2027-01-01T00:00:00+00:00".parse().unwrap();
    store.set_last_login(dormant.id, here).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        // Logged in on Django during the move.
        "UPDATE auth_user SET last_login = '2026-12-01 12:00:00.25' WHERE id = 1",
        // Earlier than the login here: kept.
        "UPDATE auth_user SET last_login = '2026-12-02 00:00:00' WHERE id = 2",
        "UPDATE auth_user SET date_joined = '2025-05-05 05:05:05.000007' WHERE id = 3",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let dry = import(&url, &stores, &dry_run()).await.unwrap();
    assert_eq!((dry.users.updated, dry.users.unchanged), (2, 1), "{dry:?}");
    assert_eq!(
        store.user_by_id(interop.id).await.unwrap(),
        Some(interop.clone())
    );
    let report = import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.users.updated, report.users.unchanged),
        (2, 1),
        "{report:?}"
    );
    let moved = store.user_by_id(interop.id).await.unwrap().unwrap();
    assert_eq!(
        moved.last_login.map(|at| at.to_rfc3339()),
        Some("2026-12-01T12:00:00.250+00:00".into())
    );
    assert_eq!(moved.date_joined, interop.date_joined);
    let kept = store.user_by_id(dormant.id).await.unwrap().unwrap();
    assert_eq!(kept.last_login, Some(here), "the later login here is kept");
    let rejoined = store.user_by_id(root.id).await.unwrap().unwrap();
    assert_eq!(
        rejoined.date_joined.to_rfc3339(),
        "2025-05-05T05:05:05.000007+00:00"
    );
    assert_eq!(rejoined.last_login, root.last_login);
    let again = import(&url, &stores, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((again.users.updated, again.users.unchanged), (0, 3));
    common::remove(&url);
}
