//! What the integration tests share.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Executor};

/// A new SQLite file in the temporary directory, named after `name` and
/// this process, holding `statements`: its URL and a connection to it.
pub(crate) async fn sqlite_file(name: &str, statements: &[&str]) -> (String, SqliteConnection) {
    let path =
        std::env::temp_dir().join(format!("auth-django-{name}-{}.sqlite3", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());
    let mut conn = url
        .parse::<SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    for statement in statements {
        conn.execute(*statement).await.unwrap();
    }
    (url, conn)
}

/// Removes the SQLite file at `url`.
pub(crate) fn remove(url: &str) {
    let _ = std::fs::remove_file(url.trim_start_matches("sqlite://"));
}
