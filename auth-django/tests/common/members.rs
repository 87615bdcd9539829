//! The custom user model the PostgreSQL and MySQL tests import
//! (`AUTH_USER_MODEL = "accounts.Member"`): the same two members on each
//! database, checked the same way.

use std::sync::Arc;

use auth_core::store::UserStore;
use auth_core::{MemoryStore, Stores};
use auth_django::{ImportError, ImportOptions, ImportReport, UserField, import};
use serde_json::json;

/// Imports the members from the Django database at `url` into a new
/// memory store, twice: the store and both reports.
pub(crate) async fn import_twice(
    url: &str,
) -> (
    Arc<MemoryStore>,
    Result<ImportReport, ImportError>,
    Result<ImportReport, ImportError>,
) {
    let options = options();
    let store = Arc::new(MemoryStore::new());
    let stores = Stores::all_in(store.clone());
    let first = import(url, &stores, &options).await;
    let again = import(url, &stores, &options).await;
    (store, first, again)
}

/// Reads `accounts_member`, whose username and email columns are named
/// `login` and `mail`.
fn options() -> ImportOptions {
    let mut options = ImportOptions {
        user_table: "accounts_member".into(),
        ..ImportOptions::default()
    };
    options.columns.insert(UserField::Username, "login".into());
    options.columns.insert(UserField::Email, "mail".into());
    options
}

/// Checks a first import of ada (id 11, every extra column set) and bob
/// (id 12, every extra column NULL) into `store`, and a second one that
/// changes nothing.
pub(crate) async fn check(store: &MemoryStore, first: ImportReport, again: ImportReport) {
    assert!(first.errors.is_empty(), "{first:?}");
    assert_eq!(first.users.imported, 2);
    let ada = store.user_by_legacy_id(11).await.unwrap().unwrap();
    assert_eq!(
        (ada.username.as_str(), ada.email.as_str()),
        ("ada", "ada@example.com")
    );
    assert!(ada.is_active && !ada.is_staff && !ada.is_superuser);
    assert_eq!(
        ada.date_joined.to_rfc3339(),
        "2026-01-02T03:04:05.678901+00:00"
    );
    assert_eq!(
        ada.last_login.map(|at| at.to_rfc3339()).as_deref(),
        Some("2026-11-20T10:00:00+00:00"),
        "read in UTC"
    );
    assert_eq!(
        serde_json::Value::Object(ada.profile.clone()),
        json!({
            "plan": "pro",
            "age": 36,
            "score": 4.5,
            "balance": "12.50",
            "newsletter": true,
            "settings": "{\"theme\": \"dark\"}",
        }),
        "numbers, booleans and the rest as text"
    );
    let bob = store.user_by_legacy_id(12).await.unwrap().unwrap();
    assert!(bob.is_staff && bob.is_superuser && bob.password_hash.is_none());
    assert!(bob.profile.is_empty(), "NULLs are left out");

    assert!(again.errors.is_empty(), "{again:?}");
    assert_eq!(
        (
            again.users.imported,
            again.users.updated,
            again.users.unchanged
        ),
        (0, 0, 2)
    );
}
