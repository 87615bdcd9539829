//! Importing a Django deployment into this workspace's stores, so that a
//! team moving over logs nobody out (issue 24).
//!
//! [`import`] reads a Django database and writes, through the store traits
//! of a [`Stores`]:
//!
//! - `auth_user`: each user, keeping Django's integer id as
//!   [`User::legacy_id`], the password hash as it is (verified as Django
//!   verifies it, and upgraded to Argon2id on the next login), an unusable
//!   password (`!...` or empty) as none, the flags, `date_joined` and
//!   `last_login`. An imported account counts as having a verified email
//!   when it is active or has logged in.
//! - `knox_authtoken`: each token's digest, key and expiry (the token
//!   itself was never stored by knox either); an expired one is skipped,
//!   as knox would refuse and delete it.
//! - `authtoken_token`: each DRF key as its digest only
//!   ([`StaticTokens::imported_record`]).
//! - `token_blacklist_blacklistedtoken` (with its outstanding token): each
//!   blacklisted `jti`, so those refresh tokens stay refused under a
//!   [`DjangoCutover`](auth_core::token::jwt::DjangoCutover).
//!
//! A table the Django project does not have (no knox, no blacklist app) is
//! left out of the report. Running it again imports only what is not
//! there yet: a user is found by its legacy id, a token by its digest, a
//! `jti` in the blacklist. A user already imported is updated to Django's
//! flags, names, email and password hash when they changed there, except
//! a hash made here (upgraded to Argon2id on a login here), which is kept;
//! its dates are kept. A row that cannot be imported (a blank email, a
//! username or email another user has, compared case-insensitively, a
//! token of a user that was not imported) is
//! reported with its table and id and changes nothing; a store that fails
//! stops the import. With [`ImportOptions::dry_run`] nothing is written and
//! the report says what would be.
//!
//! The Django database is a SQLite file (`sqlite://path/to/db.sqlite3`,
//! opened read-only), a PostgreSQL database (`postgres://...`; add
//! `?options=-c%20search_path%3Dschema` for a schema other than the
//! default) or a MySQL/MariaDB one (`mysql://...`); another URL is refused
//! with [`ImportError::UnsupportedSource`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth_core::{MemoryStore, Stores};
//! use auth_django::{ImportOptions, import};
//!
//! # async fn run() -> Result<(), auth_django::ImportError> {
//! let stores = Stores::all_in(Arc::new(MemoryStore::new()));
//! let report = import("sqlite://db.sqlite3", &stores, &ImportOptions::default()).await?;
//! println!("{} users imported", report.users.imported);
//! for error in &report.errors {
//!     eprintln!("{error}");
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use auth_core::Stores;
use auth_core::error::StoreError;
use auth_core::store::{BlacklistEntry, KnoxInsert, KnoxTokenRecord, TokenLimit};
use auth_core::token::static_token::StaticTokens;
use auth_core::user::{User, UserId, UserUpdate};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use sqlx::Row;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// How to import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Write nothing; the report says what would be imported.
    pub dry_run: bool,
}

/// What happened to the rows of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableReport {
    /// Rows imported (or, in a dry run, that would be).
    pub imported: u64,
    /// Users already here whose flags, names, email or (not yet upgraded
    /// here) password hash changed in Django since, updated to Django's.
    pub updated: u64,
    /// Rows already in the stores, left as they are.
    pub unchanged: u64,
    /// Rows left out on purpose (an expired knox token, a blacklisted
    /// token of no user).
    pub skipped: u64,
    /// Rows that could not be imported (see [`ImportReport::errors`]).
    pub failed: u64,
}

/// What an import did, table by table; `None` for a table the Django
/// database does not have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// `auth_user`.
    pub users: TableReport,
    /// `knox_authtoken`.
    pub knox_tokens: Option<TableReport>,
    /// `authtoken_token`.
    pub drf_tokens: Option<TableReport>,
    /// `token_blacklist_blacklistedtoken`.
    pub blacklisted_tokens: Option<TableReport>,
    /// Each row that could not be imported.
    pub errors: Vec<RowError>,
}

/// A row that could not be imported; nothing of it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The Django table.
    pub table: &'static str,
    /// The row's primary key (for a token table, the user's id and the
    /// token's public part, never the token).
    pub row: String,
    /// Why.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}: {}", self.table, self.row, self.message)
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The URL names a database this version cannot read.
    #[error(
        "cannot read a Django database at a {0:?} URL: this version reads SQLite files (sqlite://path), PostgreSQL (postgres://...) and MySQL (mysql://...)"
    )]
    UnsupportedSource(String),
    /// Opening or reading the Django database failed.
    #[error("reading the Django database failed")]
    Source(#[from] sqlx::Error),
    /// The Django database has no `auth_user` table.
    #[error("the Django database has no auth_user table")]
    NoUserTable,
    /// A store failed (not a conflict on one row): the import stopped.
    #[error("the store failed while importing {table} row {row}")]
    Store {
        /// The Django table being imported.
        table: &'static str,
        /// The row.
        row: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
}

/// Imports the Django database at `url` into `stores` (see the crate
/// documentation).
pub async fn import(
    url: &str,
    stores: &Stores,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let scheme = url.split(':').next().unwrap_or_default();
    let source = match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => {
            let connect = SqliteConnectOptions::from_str(url)?.read_only(true);
            Source::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(connect)
                    .await?,
            )
        }
        "postgres" | "postgresql" => {
            Source::Postgres(PgPoolOptions::new().max_connections(1).connect(url).await?)
        }
        "mysql" => Source::MySql(
            MySqlPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await?,
        ),
        _ => return Err(ImportError::UnsupportedSource(scheme.to_owned())),
    };
    let result = Importer {
        source: &source,
        stores,
        dry_run: options.dry_run,
        report: ImportReport {
            dry_run: options.dry_run,
            ..ImportReport::default()
        },
        users: HashMap::new(),
    }
    .run()
    .await;
    match source {
        Source::Sqlite(pool) => pool.close().await,
        Source::Postgres(pool) => pool.close().await,
        Source::MySql(pool) => pool.close().await,
    }
    result
}

/// The Django database being read.
enum Source {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// Runs the first query on SQLite, the second on PostgreSQL, the third on
/// MySQL, and turns
/// each row into a value with the closure (the same for both: the queries
/// cast to the same types, times as text).
macro_rules! read_rows {
    ($source:expr, $sqlite:expr, $postgres:expr, $mysql:expr, |$row:ident| $body:expr) => {
        match $source {
            Source::Sqlite(pool) => sqlx::query($sqlite)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|$row| Ok::<_, sqlx::Error>($body))
                .collect::<Result<Vec<_>, _>>()?,
            Source::Postgres(pool) => sqlx::query($postgres)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|$row| Ok::<_, sqlx::Error>($body))
                .collect::<Result<Vec<_>, _>>()?,
            Source::MySql(pool) => sqlx::query($mysql)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|$row| Ok::<_, sqlx::Error>($body))
                .collect::<Result<Vec<_>, _>>()?,
        }
    };
}

/// `column`, a time, as text in UTC on PostgreSQL.
macro_rules! pg_time {
    ($column:literal) => {
        concat!(
            "to_char(",
            $column,
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        )
    };
}

/// `column`, a time (stored in UTC by Django), as text on MySQL.
macro_rules! my_time {
    ($column:literal) => {
        concat!("DATE_FORMAT(", $column, ", '%Y-%m-%d %H:%i:%s.%f')")
    };
}

/// A row of `auth_user`.
struct UserRow {
    id: i64,
    password: String,
    last_login: Option<String>,
    is_superuser: bool,
    username: String,
    first_name: String,
    last_name: String,
    email: String,
    is_staff: bool,
    is_active: bool,
    date_joined: Option<String>,
}

/// A row of `knox_authtoken`.
struct KnoxRow {
    digest: String,
    token_key: String,
    user_id: i64,
    created: Option<String>,
    expiry: Option<String>,
}

/// A row of `authtoken_token`.
struct DrfRow {
    key: String,
    user_id: i64,
    created: Option<String>,
}

/// A row of `token_blacklist_blacklistedtoken` with its outstanding token.
struct BlacklistRow {
    id: i64,
    blacklisted_at: Option<String>,
    jti: String,
    user_id: Option<i64>,
    expires_at: Option<String>,
}

/// One import's state.
struct Importer<'a> {
    source: &'a Source,
    stores: &'a Stores,
    dry_run: bool,
    report: ImportReport,
    /// Django user id to the id of the user here (made up in a dry run).
    users: HashMap<i64, UserId>,
}

/// Turns a store's error on `row` of `table` into the error that stops
/// the import.
fn store_error(table: &'static str, row: String) -> impl Fn(StoreError) -> ImportError {
    move |source| ImportError::Store {
        table,
        row: row.clone(),
        source,
    }
}

/// What importing one row did.
enum Outcome {
    Imported,
    Updated,
    Unchanged,
    Skipped,
    Failed(String),
}

impl Importer<'_> {
    async fn run(mut self) -> Result<ImportReport, ImportError> {
        if !self.has_table("auth_user").await? {
            return Err(ImportError::NoUserTable);
        }
        self.import_users().await?;
        if self.has_table("knox_authtoken").await? {
            self.report.knox_tokens = Some(self.import_knox().await?);
        }
        if self.has_table("authtoken_token").await? {
            self.report.drf_tokens = Some(self.import_drf().await?);
        }
        if self.has_table("token_blacklist_blacklistedtoken").await?
            && self.has_table("token_blacklist_outstandingtoken").await?
        {
            self.report.blacklisted_tokens = Some(self.import_blacklist().await?);
        }
        Ok(self.report)
    }

    async fn has_table(&self, name: &str) -> Result<bool, ImportError> {
        let found = match self.source {
            Source::Sqlite(pool) => {
                sqlx::query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
                    .bind(name)
                    .fetch_optional(pool)
                    .await?
                    .is_some()
            }
            Source::Postgres(pool) => sqlx::query("SELECT 1 WHERE to_regclass($1) IS NOT NULL")
                .bind(name)
                .fetch_optional(pool)
                .await?
                .is_some(),
            Source::MySql(pool) => sqlx::query(
                "SELECT 1 FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = ?",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
            .is_some(),
        };
        Ok(found)
    }

    /// Counts `outcome` in `counts`, recording a failure.
    fn count(
        &mut self,
        counts: &mut TableReport,
        table: &'static str,
        row: String,
        outcome: Outcome,
    ) {
        match outcome {
            Outcome::Imported => counts.imported += 1,
            Outcome::Updated => counts.updated += 1,
            Outcome::Unchanged => counts.unchanged += 1,
            Outcome::Skipped => counts.skipped += 1,
            Outcome::Failed(message) => {
                counts.failed += 1;
                self.report.errors.push(RowError {
                    table,
                    row,
                    message,
                });
            }
        }
    }

    /// The id here of the user Django knows as `legacy_id`, if imported.
    fn user(&self, legacy_id: i64) -> Result<UserId, String> {
        self.users
            .get(&legacy_id)
            .copied()
            .ok_or_else(|| format!("its user (auth_user id {legacy_id}) was not imported"))
    }

    async fn import_users(&mut self) -> Result<(), ImportError> {
        const TABLE: &str = "auth_user";
        let rows = read_rows!(
            self.source,
            "SELECT id, password, last_login, is_superuser, username, first_name, last_name, \
             email, is_staff, is_active, date_joined FROM auth_user ORDER BY id",
            concat!(
                "SELECT id::bigint AS id, password, ",
                pg_time!("last_login"),
                " AS last_login, is_superuser, username, first_name, last_name, email, \
                 is_staff, is_active, ",
                pg_time!("date_joined"),
                " AS date_joined FROM auth_user ORDER BY id"
            ),
            concat!(
                "SELECT CAST(id AS SIGNED) AS id, password, ",
                my_time!("last_login"),
                " AS last_login, is_superuser, username, first_name, last_name, email, \
                 is_staff, is_active, ",
                my_time!("date_joined"),
                " AS date_joined FROM auth_user ORDER BY id"
            ),
            |row| UserRow {
                id: row.try_get("id")?,
                password: row.try_get("password")?,
                last_login: row.try_get("last_login")?,
                is_superuser: row.try_get("is_superuser")?,
                username: row.try_get("username")?,
                first_name: row.try_get("first_name")?,
                last_name: row.try_get("last_name")?,
                email: row.try_get("email")?,
                is_staff: row.try_get("is_staff")?,
                is_active: row.try_get("is_active")?,
                date_joined: row.try_get("date_joined")?,
            }
        );
        let mut counts = TableReport::default();
        for row in rows {
            let id = row.id;
            let outcome = match django_user(row) {
                Ok(user) => self.import_user(user).await?,
                Err(message) => Outcome::Failed(message),
            };
            self.count(&mut counts, TABLE, id.to_string(), outcome);
        }
        self.report.users = counts;
        Ok(())
    }

    async fn import_user(&mut self, user: User) -> Result<Outcome, ImportError> {
        let legacy_id = user.legacy_id.unwrap_or_default();
        let store_error = store_error("auth_user", legacy_id.to_string());
        let users = &self.stores.users;
        if let Some(existing) = users
            .user_by_legacy_id(legacy_id)
            .await
            .map_err(&store_error)?
        {
            self.users.insert(legacy_id, existing.id);
            return self.update_user(&existing, &user).await;
        }
        if self.dry_run {
            self.users.insert(legacy_id, user.id);
            return Ok(Outcome::Imported);
        }
        match users.insert_user(&user).await {
            Ok(()) => {
                self.users.insert(legacy_id, user.id);
                Ok(Outcome::Imported)
            }
            Err(StoreError::Conflict(field)) => Ok(Outcome::Failed(format!(
                "another user here has this {field} (compared case-insensitively)"
            ))),
            Err(err) => Err(store_error(err)),
        }
    }

    /// Brings `existing` (imported before) up to `django`'s flags, names,
    /// email and password hash. A hash made here (Argon2id in PHC form,
    /// `$argon2id$...`: upgraded on a login here, or set here) is kept;
    /// a Django-format one is replaced by Django's current one. Dates are
    /// kept as first imported (last_login moves on here).
    async fn update_user(
        &mut self,
        existing: &User,
        django: &User,
    ) -> Result<Outcome, ImportError> {
        fn changed<T: PartialEq + Clone>(here: &T, django: &T) -> Option<T> {
            (here != django).then(|| django.clone())
        }
        let update = UserUpdate {
            username: changed(&existing.username, &django.username),
            email: changed(&existing.email, &django.email),
            first_name: changed(&existing.first_name, &django.first_name),
            last_name: changed(&existing.last_name, &django.last_name),
            is_active: changed(&existing.is_active, &django.is_active),
            is_staff: changed(&existing.is_staff, &django.is_staff),
            is_superuser: changed(&existing.is_superuser, &django.is_superuser),
            email_verified: None,
            profile: None,
        };
        let made_here = existing
            .password_hash
            .as_deref()
            .is_some_and(|hash| hash.starts_with('$'));
        let new_hash = (!made_here && existing.password_hash != django.password_hash)
            .then_some(django.password_hash.as_deref());
        if update == UserUpdate::default() && new_hash.is_none() {
            return Ok(Outcome::Unchanged);
        }
        if self.dry_run {
            return Ok(Outcome::Updated);
        }
        let legacy_id = django.legacy_id.unwrap_or_default();
        let store_error = store_error("auth_user", legacy_id.to_string());
        let users = &self.stores.users;
        if update != UserUpdate::default() {
            match users.update_user(existing.id, &update).await {
                Ok(()) => {}
                Err(StoreError::Conflict(field)) => {
                    return Ok(Outcome::Failed(format!(
                        "its new {field} is another user's here (compared case-insensitively)"
                    )));
                }
                Err(err) => return Err(store_error(err)),
            }
        }
        if let Some(hash) = new_hash {
            users
                .set_password_hash(existing.id, hash)
                .await
                .map_err(&store_error)?;
        }
        Ok(Outcome::Updated)
    }

    async fn import_knox(&mut self) -> Result<TableReport, ImportError> {
        const TABLE: &str = "knox_authtoken";
        let rows = read_rows!(
            self.source,
            "SELECT digest, token_key, user_id, created, expiry FROM knox_authtoken \
             ORDER BY created",
            concat!(
                "SELECT digest, token_key, user_id::bigint AS user_id, ",
                pg_time!("created"),
                " AS created, ",
                pg_time!("expiry"),
                " AS expiry FROM knox_authtoken ORDER BY knox_authtoken.created"
            ),
            concat!(
                "SELECT digest, token_key, CAST(user_id AS SIGNED) AS user_id, ",
                my_time!("created"),
                " AS created, ",
                my_time!("expiry"),
                " AS expiry FROM knox_authtoken ORDER BY knox_authtoken.created"
            ),
            |row| KnoxRow {
                digest: row.try_get("digest")?,
                token_key: row.try_get("token_key")?,
                user_id: row.try_get("user_id")?,
                created: row.try_get("created")?,
                expiry: row.try_get("expiry")?,
            }
        );
        let mut counts = TableReport::default();
        for row in rows {
            let name = format!("{}... of user {}", row.token_key, row.user_id);
            let outcome = match self.knox_record(&row) {
                // Knox refuses (and deletes) an expired token: importing
                // it would bring it back on every re-run.
                Ok(record) if record.expiry.is_some_and(|expiry| expiry <= Utc::now()) => {
                    Outcome::Skipped
                }
                Ok(record) => self.import_knox_token(&record, &name).await?,
                Err(message) => Outcome::Failed(message),
            };
            self.count(&mut counts, TABLE, name, outcome);
        }
        Ok(counts)
    }

    fn knox_record(&self, row: &KnoxRow) -> Result<KnoxTokenRecord, String> {
        let digest = &row.digest;
        if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the digest is not hexadecimal".into());
        }
        Ok(KnoxTokenRecord {
            token_key: row.token_key.clone(),
            digest: digest.to_ascii_lowercase(),
            user_id: self.user(row.user_id)?,
            created: required_time(&row.created, "created")?,
            expiry: optional_time(&row.expiry, "expiry")?,
            last_used: None,
            name: None,
        })
    }

    async fn import_knox_token(
        &mut self,
        record: &KnoxTokenRecord,
        name: &str,
    ) -> Result<Outcome, ImportError> {
        let store_error = store_error("knox_authtoken", name.to_owned());
        let knox = &self.stores.knox;
        let stored = knox
            .knox_tokens_by_key(&record.token_key)
            .await
            .map_err(&store_error)?;
        if stored.iter().any(|token| token.digest == record.digest) {
            return Ok(Outcome::Unchanged);
        }
        if self.dry_run {
            return Ok(Outcome::Imported);
        }
        match knox
            .insert_knox_token(record, TokenLimit::Unlimited, Utc::now())
            .await
        {
            Ok(KnoxInsert::Inserted { .. }) => Ok(Outcome::Imported),
            Ok(KnoxInsert::LimitReached) => {
                Ok(Outcome::Failed("the token limit refused it".into()))
            }
            Err(StoreError::Conflict(_)) => Ok(Outcome::Unchanged),
            Err(err) => Err(store_error(err)),
        }
    }

    async fn import_drf(&mut self) -> Result<TableReport, ImportError> {
        const TABLE: &str = "authtoken_token";
        let rows = read_rows!(
            self.source,
            "SELECT key, user_id, created FROM authtoken_token ORDER BY created",
            concat!(
                "SELECT key, user_id::bigint AS user_id, ",
                pg_time!("created"),
                " AS created FROM authtoken_token ORDER BY authtoken_token.created"
            ),
            concat!(
                "SELECT `key`, CAST(user_id AS SIGNED) AS user_id, ",
                my_time!("created"),
                " AS created FROM authtoken_token ORDER BY authtoken_token.created"
            ),
            |row| DrfRow {
                key: row.try_get("key")?,
                user_id: row.try_get("user_id")?,
                created: row.try_get("created")?,
            }
        );
        let mut counts = TableReport::default();
        for row in rows {
            let name = format!("of user {}", row.user_id);
            let record = self.user(row.user_id).and_then(|user| {
                let created = required_time(&row.created, "created")?;
                StaticTokens::imported_record(user, &row.key, created)
                    .ok_or_else(|| "the key is not 40 lower-case hex characters".to_owned())
            });
            let outcome = match record {
                Ok(record) => self.import_drf_token(&record, &name).await?,
                Err(message) => Outcome::Failed(message),
            };
            self.count(&mut counts, TABLE, name, outcome);
        }
        Ok(counts)
    }

    async fn import_drf_token(
        &mut self,
        record: &auth_core::store::StaticTokenRecord,
        name: &str,
    ) -> Result<Outcome, ImportError> {
        let store_error = store_error("authtoken_token", name.to_owned());
        let tokens = &self.stores.static_tokens;
        let current = tokens
            .static_token_for_user(record.user_id)
            .await
            .map_err(&store_error)?;
        match current {
            Some(current) if current.digest == record.digest => return Ok(Outcome::Unchanged),
            // A token made here since: the user has moved on.
            Some(current) if current.seed.is_some() => return Ok(Outcome::Skipped),
            _ => {}
        }
        if self.dry_run {
            return Ok(Outcome::Imported);
        }
        if current.is_some() {
            // An imported key, replaced in Django since the last import.
            tokens
                .delete_static_token(record.user_id)
                .await
                .map_err(&store_error)?;
        }
        match tokens.get_or_insert_static_token(record).await {
            Ok(stored) if stored.digest == record.digest => Ok(Outcome::Imported),
            Ok(_) => Ok(Outcome::Skipped),
            Err(StoreError::Conflict(_)) => {
                Ok(Outcome::Failed("another user here has this key".into()))
            }
            Err(err) => Err(store_error(err)),
        }
    }

    async fn import_blacklist(&mut self) -> Result<TableReport, ImportError> {
        const TABLE: &str = "token_blacklist_blacklistedtoken";
        let rows = read_rows!(
            self.source,
            "SELECT b.id AS id, b.blacklisted_at AS blacklisted_at, o.jti AS jti, \
             o.user_id AS user_id, o.expires_at AS expires_at \
             FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id ORDER BY b.id",
            concat!(
                "SELECT b.id::bigint AS id, ",
                pg_time!("b.blacklisted_at"),
                " AS blacklisted_at, o.jti AS jti, o.user_id::bigint AS user_id, ",
                pg_time!("o.expires_at"),
                " AS expires_at FROM token_blacklist_blacklistedtoken b \
                 JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id ORDER BY b.id"
            ),
            concat!(
                "SELECT CAST(b.id AS SIGNED) AS id, ",
                my_time!("b.blacklisted_at"),
                " AS blacklisted_at, o.jti AS jti, CAST(o.user_id AS SIGNED) AS user_id, ",
                my_time!("o.expires_at"),
                " AS expires_at FROM token_blacklist_blacklistedtoken b \
                 JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id ORDER BY b.id"
            ),
            |row| BlacklistRow {
                id: row.try_get("id")?,
                blacklisted_at: row.try_get("blacklisted_at")?,
                jti: row.try_get("jti")?,
                user_id: row.try_get("user_id")?,
                expires_at: row.try_get("expires_at")?,
            }
        );
        let mut counts = TableReport::default();
        for row in rows {
            let id = row.id;
            let outcome = match row.user_id {
                // A token of a deleted user names nobody: nothing to refuse.
                None => Outcome::Skipped,
                Some(user_id) => match self.blacklist_entry(&row, user_id) {
                    Ok(entry) => self.import_blacklisted(&entry, id).await?,
                    Err(message) => Outcome::Failed(message),
                },
            };
            self.count(&mut counts, TABLE, id.to_string(), outcome);
        }
        Ok(counts)
    }

    fn blacklist_entry(&self, row: &BlacklistRow, user_id: i64) -> Result<BlacklistEntry, String> {
        if row.jti.is_empty() {
            return Err("the outstanding token has no jti".into());
        }
        Ok(BlacklistEntry {
            jti: row.jti.clone(),
            user_id: self.user(user_id)?,
            family: None,
            expires_at: required_time(&row.expires_at, "expires_at")?,
            blacklisted_at: required_time(&row.blacklisted_at, "blacklisted_at")?,
        })
    }

    async fn import_blacklisted(
        &mut self,
        entry: &BlacklistEntry,
        id: i64,
    ) -> Result<Outcome, ImportError> {
        let store_error = store_error("token_blacklist_blacklistedtoken", id.to_string());
        let revocations = &self.stores.revocations;
        if self.dry_run {
            let known = revocations
                .blacklisted_jti(&entry.jti)
                .await
                .map_err(&store_error)?;
            return Ok(if known.is_some() {
                Outcome::Unchanged
            } else {
                Outcome::Imported
            });
        }
        Ok(
            if revocations
                .blacklist_jti(entry)
                .await
                .map_err(&store_error)?
            {
                Outcome::Imported
            } else {
                Outcome::Unchanged
            },
        )
    }
}

/// A user of `auth_user` as it is stored here.
fn django_user(row: UserRow) -> Result<User, String> {
    if row.email.trim().is_empty() {
        // Django allows blank (and repeated) emails; users here have one
        // each, unique. Importing the first blank one would leave every
        // later one failing on the duplicate: all fail alike instead.
        return Err(
            "the email is blank: users here need a unique email; set one in Django and import again"
                .into(),
        );
    }
    let last_login = optional_time(&row.last_login, "last_login")?;
    let password = row.password;
    Ok(User {
        id: UserId::new(),
        username: row.username,
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        is_active: row.is_active,
        is_staff: row.is_staff,
        is_superuser: row.is_superuser,
        email_verified: row.is_active || last_login.is_some(),
        date_joined: required_time(&row.date_joined, "date_joined")?,
        last_login,
        // Django's unusable passwords start with "!".
        password_hash: (!password.is_empty() && !password.starts_with('!')).then_some(password),
        profile: Default::default(),
        legacy_id: Some(row.id),
    })
}

/// A time of a row that must have one.
fn required_time(text: &Option<String>, column: &str) -> Result<DateTime<Utc>, String> {
    optional_time(text, column)?.ok_or_else(|| format!("{column} is empty"))
}

/// A time as Django's SQLite backend stores it (`2026-11-22 08:48:45.327862`,
/// in UTC), or as RFC 3339; truncated to microseconds.
fn optional_time(text: &Option<String>, column: &str) -> Result<Option<DateTime<Utc>>, String> {
    let Some(text) = text else {
        return Ok(None);
    };
    parse_django_time(text)
        .map(|at| Some(at.trunc_subsecs(6)))
        .ok_or_else(|| format!("{column} {text:?} is not a time"))
}

/// A Django time: `YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]`, or with a `T`.
fn parse_django_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.to_utc());
    }
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(at.to_utc());
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|at| at.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_times_parse() {
        let at = parse_django_time("2026-11-22 08:48:45.327862").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-22T08:48:45.327862+00:00");
        assert_eq!(
            parse_django_time("2026-11-22 08:48:45"),
            Some(at.trunc_subsecs(0))
        );
        assert_eq!(
            parse_django_time("2026-11-22 09:48:45.327862+01:00"),
            Some(at)
        );
        assert_eq!(parse_django_time("2026-11-22T08:48:45.327862Z"), Some(at));
        assert_eq!(parse_django_time("yesterday"), None);
    }
}
