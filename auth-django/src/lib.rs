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
//! A custom user model (`AUTH_USER_MODEL`) is read from its own table
//! with [`ImportOptions::user_table`], its columns named by
//! [`ImportOptions::columns`] where they differ from `auth_user`'s. The
//! table's other columns go into each user's `profile` under their own
//! names: integers and booleans as JSON numbers and booleans, reals as
//! numbers, anything else as text; NULLs are left out. Table and column
//! names must be plain identifiers (letters, digits, underscores), and
//! the table must have a column for every [`UserField`]: otherwise the
//! import stops before writing anything. [`ImportOptions::progress`] is
//! told each table's rows as they are done.
//!
//! A table the Django project does not have (no knox, no blacklist app) is
//! left out of the report. Running it again imports only what is not
//! there yet: a user is found by its legacy id, a token by its digest, a
//! `jti` in the blacklist. A user already imported is updated to Django's
//! flags, names, email, `date_joined` and password hash when they changed
//! there, except a hash made here (upgraded to Argon2id on a login here),
//! which is kept; its `last_login` moves to Django's when Django's is later
//! (a login there during the move), and is kept when a login here is the
//! later one. A row that cannot be imported (a blank email, a
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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use auth_core::Stores;
use auth_core::error::StoreError;
use auth_core::store::{BlacklistEntry, KnoxInsert, KnoxTokenRecord, TokenLimit};
use auth_core::token::static_token::StaticTokens;
use auth_core::user::{User, UserId, UserUpdate};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// How to import.
///
/// ```
/// use auth_django::{ImportOptions, UserField};
///
/// // A custom user model: `accounts.Member` with `login` and `mail`.
/// let mut options = ImportOptions::default();
/// options.user_table = "accounts_member".into();
/// options.columns.insert(UserField::Username, "login".into());
/// options.columns.insert("email".parse().unwrap(), "mail".into());
/// assert_eq!(options.column(UserField::Email), "mail");
/// assert_eq!(options.column(UserField::FirstName), "first_name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Write nothing; the report says what would be imported.
    pub dry_run: bool,
    /// The user table: `auth_user`, or the table of a custom user model
    /// (`AUTH_USER_MODEL`), such as `accounts_member`. Letters, digits and
    /// underscores only.
    pub user_table: String,
    /// The user table's column for a field, where it is not the field's
    /// own name (`auth_user`'s column). Letters, digits and underscores
    /// only. The table's other columns, neither mapped nor named like a
    /// field, go into the user's `profile`.
    pub columns: BTreeMap<UserField, String>,
    /// Told of every table's rows as they are imported (for a progress
    /// bar); `None` tells nobody.
    pub progress: Option<ProgressCallback>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            user_table: DJANGO_USER_TABLE.to_owned(),
            columns: BTreeMap::new(),
            progress: None,
        }
    }
}

impl ImportOptions {
    /// The user table's column for `field`: the mapped one, else the
    /// field's own name.
    pub fn column(&self, field: UserField) -> &str {
        self.columns
            .get(&field)
            .map_or(field.name(), String::as_str)
    }
}

/// Django's own user table.
const DJANGO_USER_TABLE: &str = "auth_user";

/// A field of an imported user, read from a column of the user table
/// ([`ImportOptions::columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum UserField {
    /// `id`, the integer primary key (kept as the legacy id).
    Id,
    /// `username`.
    Username,
    /// `email`.
    Email,
    /// `password`, the Django password hash.
    Password,
    /// `first_name`.
    FirstName,
    /// `last_name`.
    LastName,
    /// `is_active`.
    IsActive,
    /// `is_staff`.
    IsStaff,
    /// `is_superuser`.
    IsSuperuser,
    /// `date_joined`.
    DateJoined,
    /// `last_login`.
    LastLogin,
}

impl UserField {
    /// Every field.
    pub const ALL: [UserField; 11] = [
        UserField::Id,
        UserField::Username,
        UserField::Email,
        UserField::Password,
        UserField::FirstName,
        UserField::LastName,
        UserField::IsActive,
        UserField::IsStaff,
        UserField::IsSuperuser,
        UserField::DateJoined,
        UserField::LastLogin,
    ];

    /// The field's name, which is also its column in `auth_user`.
    pub fn name(self) -> &'static str {
        match self {
            UserField::Id => "id",
            UserField::Username => "username",
            UserField::Email => "email",
            UserField::Password => "password",
            UserField::FirstName => "first_name",
            UserField::LastName => "last_name",
            UserField::IsActive => "is_active",
            UserField::IsStaff => "is_staff",
            UserField::IsSuperuser => "is_superuser",
            UserField::DateJoined => "date_joined",
            UserField::LastLogin => "last_login",
        }
    }
}

impl fmt::Display for UserField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for UserField {
    type Err = UnknownField;

    /// A field by its name (`username`, `first_name`, ...).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        UserField::ALL
            .into_iter()
            .find(|field| field.name() == name)
            .ok_or_else(|| UnknownField(name.to_owned()))
    }
}

/// A name that is no [`UserField`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a user field: the fields are id, username, email, password, first_name, last_name, is_active, is_staff, is_superuser, date_joined and last_login"
)]
pub struct UnknownField(pub String);

/// Where an import is: `done` of the `total` rows of `table` (the user
/// table, `knox_authtoken`, `authtoken_token` or
/// `token_blacklist_blacklistedtoken`). Each table is told once with
/// `done` 0 before its first row, then after each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// The Django table.
    pub table: &'a str,
    /// Rows of it done so far.
    pub done: u64,
    /// Rows it has.
    pub total: u64,
}

/// The function [`ImportOptions::progress`] calls; two are equal when
/// they are the same function (clones of one callback).
#[derive(Clone)]
pub struct ProgressCallback(Arc<dyn Fn(Progress<'_>) + Send + Sync>);

impl ProgressCallback {
    /// A callback calling `tell`; it runs on the importing task, between
    /// rows, so it should be quick.
    pub fn new(tell: impl Fn(Progress<'_>) + Send + Sync + 'static) -> Self {
        Self(Arc::new(tell))
    }
}

impl fmt::Debug for ProgressCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressCallback(..)")
    }
}

impl PartialEq for ProgressCallback {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProgressCallback {}

/// What happened to the rows of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableReport {
    /// Rows imported (or, in a dry run, that would be).
    pub imported: u64,
    /// Users already here whose flags, names, email, dates or (not yet
    /// upgraded here) password hash changed in Django since, updated to
    /// Django's.
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
    /// The user table read ([`ImportOptions::user_table`]).
    pub user_table: String,
    /// The user table (`auth_user`).
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
    pub table: String,
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
    /// The Django database has no such user table (`auth_user`, or
    /// [`ImportOptions::user_table`]).
    #[error("the Django database has no {0} table")]
    NoUserTable(String),
    /// A table or column name in [`ImportOptions`] is not a plain
    /// identifier; nothing was read.
    #[error(
        "{0:?} is not a table or column name this import reads: use letters, digits and underscores only"
    )]
    InvalidIdentifier(String),
    /// The user table has no column for a field; nothing was written.
    #[error(
        "the user table {table} has no column {column} for the field {field}: map {field} to one of its columns"
    )]
    MissingColumn {
        /// The user table.
        table: String,
        /// The field.
        field: UserField,
        /// The column it was looked for in.
        column: String,
    },
    /// A store failed (not a conflict on one row): the import stopped.
    #[error("the store failed while importing {table} row {row}")]
    Store {
        /// The Django table being imported.
        table: String,
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
    for name in std::iter::once(&options.user_table).chain(options.columns.values()) {
        if !is_identifier(name) {
            return Err(ImportError::InvalidIdentifier(name.clone()));
        }
    }
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
        options,
        report: ImportReport {
            dry_run: options.dry_run,
            user_table: options.user_table.clone(),
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
/// MySQL (each binding `bind`, when given), and turns each row into a value
/// with the closure (the same for all three: the queries cast to the same
/// types, times as text).
macro_rules! read_rows {
    (
        $source:expr, $sqlite:expr, $postgres:expr, $mysql:expr,
        $(bind: $arg:expr,)? |$row:ident| $body:expr
    ) => {
        match $source {
            Source::Sqlite(pool) => read_rows!(@fetch pool, $sqlite, $(bind: $arg,)? |$row| $body),
            Source::Postgres(pool) => read_rows!(@fetch pool, $postgres, $(bind: $arg,)? |$row| $body),
            Source::MySql(pool) => read_rows!(@fetch pool, $mysql, $(bind: $arg,)? |$row| $body),
        }
    };
    // One database's fetch: the arms above differ only in the pool's
    // (and so the row's) type.
    (@fetch $pool:expr, $query:expr, $(bind: $arg:expr,)? |$row:ident| $body:expr) => {
        sqlx::query($query)
            $(.bind($arg))?
            .fetch_all($pool)
            .await?
            .iter()
            .map(|$row| Ok::<_, sqlx::Error>($body))
            .collect::<Result<Vec<_>, _>>()?
    };
}

impl Source {
    /// `name`, a checked identifier ([`is_identifier`]), quoted.
    fn quote(&self, name: &str) -> String {
        match self {
            Source::MySql(_) => format!("`{name}`"),
            Source::Sqlite(_) | Source::Postgres(_) => format!("\"{name}\""),
        }
    }

    /// Whether two column names name one column (PostgreSQL's quoted
    /// names are case-sensitive; SQLite's and MySQL's are not).
    fn same_name(&self, a: &str, b: &str) -> bool {
        match self {
            Source::Postgres(_) => a == b,
            Source::Sqlite(_) | Source::MySql(_) => a.eq_ignore_ascii_case(b),
        }
    }

    /// `column` as a 64-bit integer.
    fn integer(&self, column: &str) -> String {
        match self {
            Source::Sqlite(_) => format!("CAST({column} AS INTEGER)"),
            Source::Postgres(_) => format!("CAST({column} AS BIGINT)"),
            Source::MySql(_) => format!("CAST({column} AS SIGNED)"),
        }
    }

    /// `column` as text.
    fn text(&self, column: &str) -> String {
        match self {
            Source::Postgres(_) => format!("CAST({column} AS TEXT)"),
            Source::Sqlite(_) | Source::MySql(_) => column.to_owned(),
        }
    }

    /// `column`, a time (in UTC as Django stores it), as text.
    fn time(&self, column: &str) -> String {
        match self {
            Source::Sqlite(_) => column.to_owned(),
            Source::Postgres(_) => {
                format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
            }
            Source::MySql(_) => format!("DATE_FORMAT({column}, '%Y-%m-%d %H:%i:%s.%f')"),
        }
    }

    /// `column` of `kind` as the type it is read as: a 64-bit integer
    /// (booleans too), a double or text.
    fn value(&self, kind: Kind, column: &str) -> String {
        match (kind, self) {
            (Kind::Boolean, Source::Postgres(_)) => {
                format!("CAST(CAST({column} AS INTEGER) AS BIGINT)")
            }
            (Kind::Integer | Kind::Boolean, _) => self.integer(column),
            (Kind::Real, Source::Sqlite(_)) => format!("CAST({column} AS REAL)"),
            (Kind::Real, Source::Postgres(_)) => format!("CAST({column} AS DOUBLE PRECISION)"),
            (Kind::Real, Source::MySql(_)) => format!("({column} + 0E0)"),
            (Kind::Text, Source::MySql(_)) => format!("CAST({column} AS CHAR)"),
            (Kind::Text, _) => format!("CAST({column} AS TEXT)"),
        }
    }

    /// The columns of `table`, with their declared types, in order; none
    /// when there is no such table.
    async fn columns(&self, table: &str) -> Result<Vec<(String, String)>, ImportError> {
        let columns = read_rows!(
            self,
            "SELECT name, type FROM pragma_table_info(?) ORDER BY cid",
            "SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type \
             FROM pg_attribute WHERE attrelid = to_regclass(quote_ident($1)) \
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            "SELECT CAST(column_name AS CHAR) AS name, CAST(column_type AS CHAR) AS type \
             FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
            bind: table,
            |row| (
                row.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
                row.try_get::<Option<String>, _>("type")?.unwrap_or_default(),
            )
        );
        Ok(columns)
    }
}

/// Whether `name` may name a table or column in a query: ASCII letters,
/// digits and underscores, 1 to 63 of them (PostgreSQL's limit).
fn is_identifier(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// How a column of the user table that goes into `profile` is read, from
/// its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Boolean,
    Real,
    /// Anything else (text, but also times, decimals, UUIDs), as text.
    Text,
}

impl Kind {
    fn of(declared: &str) -> Self {
        let declared = declared.trim().to_ascii_lowercase();
        let base = declared
            .split(|c: char| c == '(' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        match base {
            _ if declared == "tinyint(1)" => Kind::Boolean,
            "bool" | "boolean" => Kind::Boolean,
            "integer" | "int" | "bigint" | "smallint" | "tinyint" | "mediumint" | "int2"
            | "int4" | "int8" | "serial" | "bigserial" | "smallserial" => Kind::Integer,
            "real" | "double" | "float" | "float4" | "float8" => Kind::Real,
            _ => Kind::Text,
        }
    }
}

/// The query of the user table.
struct UserQuery {
    text: String,
    /// The columns going into `profile`, read as `x0`, `x1`, ...
    extras: Vec<(String, Kind)>,
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
    /// The table's other columns, by name (NULLs left out).
    profile: Map<String, Value>,
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
    options: &'a ImportOptions,
    report: ImportReport,
    /// Django user id to the id of the user here (made up in a dry run).
    users: HashMap<i64, UserId>,
}

/// Turns a store's error on `row` of `table` into the error that stops
/// the import.
fn store_error(table: &str, row: String) -> impl Fn(StoreError) -> ImportError {
    let table = table.to_owned();
    move |source| ImportError::Store {
        table: table.clone(),
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
        Ok(!self.source.columns(name).await?.is_empty())
    }

    /// Counts `outcome` in `counts`, recording a failure.
    fn count(&mut self, counts: &mut TableReport, table: &str, row: String, outcome: Outcome) {
        match outcome {
            Outcome::Imported => counts.imported += 1,
            Outcome::Updated => counts.updated += 1,
            Outcome::Unchanged => counts.unchanged += 1,
            Outcome::Skipped => counts.skipped += 1,
            Outcome::Failed(message) => {
                counts.failed += 1;
                self.report.errors.push(RowError {
                    table: table.to_owned(),
                    row,
                    message,
                });
            }
        }
    }

    /// Tells [`ImportOptions::progress`] that `done` of the `total` rows
    /// of `table` are done.
    fn tell(&self, table: &str, done: usize, total: usize) {
        if let Some(ProgressCallback(tell)) = &self.options.progress {
            tell(Progress {
                table,
                done: u64::try_from(done).unwrap_or(u64::MAX),
                total: u64::try_from(total).unwrap_or(u64::MAX),
            });
        }
    }

    /// The id here of the user Django knows as `legacy_id`, if imported.
    fn user(&self, legacy_id: i64) -> Result<UserId, String> {
        self.users.get(&legacy_id).copied().ok_or_else(|| {
            let table = &self.options.user_table;
            format!("its user ({table} id {legacy_id}) was not imported")
        })
    }

    async fn import_users(&mut self) -> Result<(), ImportError> {
        let table = self.options.user_table.as_str();
        let sql = self.user_query().await?;
        let extras = sql.extras;
        let rows = read_rows!(self.source, &sql.text, &sql.text, &sql.text, |row| {
            let mut profile = Map::new();
            for (i, (name, kind)) in extras.iter().enumerate() {
                let alias = format!("x{i}");
                let alias = alias.as_str();
                let value = match kind {
                    Kind::Integer => row.try_get::<Option<i64>, _>(alias)?.map(Value::from),
                    Kind::Boolean => row
                        .try_get::<Option<i64>, _>(alias)?
                        .map(|value| Value::Bool(value != 0)),
                    Kind::Real => row
                        .try_get::<Option<f64>, _>(alias)?
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number),
                    Kind::Text => row.try_get::<Option<String>, _>(alias)?.map(Value::String),
                };
                if let Some(value) = value {
                    profile.insert(name.clone(), value);
                }
            }
            UserRow {
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
                profile,
            }
        });
        let mut counts = TableReport::default();
        let total = rows.len();
        self.tell(table, 0, total);
        for (done, row) in rows.into_iter().enumerate() {
            let id = row.id;
            let outcome = match django_user(row) {
                Ok(user) => self.import_user(user).await?,
                Err(message) => Outcome::Failed(message),
            };
            self.count(&mut counts, table, id.to_string(), outcome);
            self.tell(table, done + 1, total);
        }
        self.report.users = counts;
        Ok(())
    }

    /// The query of the user table's rows: each field under its own name
    /// (ids as 64-bit integers, times as text in UTC), then the table's
    /// other columns (`x0`, `x1`, ...), which are [`UserQuery::extras`].
    /// Checks first that the table has a column for every field.
    async fn user_query(&self) -> Result<UserQuery, ImportError> {
        let source = self.source;
        let options = self.options;
        let table = options.user_table.as_str();
        let columns = source.columns(table).await?;
        if columns.is_empty() {
            return Err(ImportError::NoUserTable(table.to_owned()));
        }
        let has = |name: &str| {
            columns
                .iter()
                .find(|(column, _)| source.same_name(column, name))
        };
        for field in UserField::ALL {
            let column = options.column(field);
            if has(column).is_none() {
                return Err(ImportError::MissingColumn {
                    table: table.to_owned(),
                    field,
                    column: column.to_owned(),
                });
            }
        }
        let known = |name: &str| {
            UserField::ALL.into_iter().any(|field| {
                source.same_name(name, field.name())
                    || source.same_name(name, options.column(field))
            })
        };
        // A column whose name is no plain identifier is left out: it
        // would have to be quoted into the query.
        let extras: Vec<(String, Kind)> = columns
            .iter()
            .filter(|(name, _)| is_identifier(name) && !known(name))
            .map(|(name, declared)| (name.clone(), Kind::of(declared)))
            .collect();
        let column = |field| source.quote(options.column(field));
        let mut select = vec![
            format!("{} AS id", source.integer(&column(UserField::Id))),
            format!("{} AS password", source.text(&column(UserField::Password))),
            format!(
                "{} AS last_login",
                source.time(&column(UserField::LastLogin))
            ),
            format!("{} AS is_superuser", column(UserField::IsSuperuser)),
            format!("{} AS username", source.text(&column(UserField::Username))),
            format!(
                "{} AS first_name",
                source.text(&column(UserField::FirstName))
            ),
            format!("{} AS last_name", source.text(&column(UserField::LastName))),
            format!("{} AS email", source.text(&column(UserField::Email))),
            format!("{} AS is_staff", column(UserField::IsStaff)),
            format!("{} AS is_active", column(UserField::IsActive)),
            format!(
                "{} AS date_joined",
                source.time(&column(UserField::DateJoined))
            ),
        ];
        for (i, (name, kind)) in extras.iter().enumerate() {
            select.push(format!(
                "{} AS x{i}",
                source.value(*kind, &source.quote(name))
            ));
        }
        let text = format!(
            "SELECT {} FROM {} ORDER BY {}",
            select.join(", "),
            source.quote(table),
            column(UserField::Id)
        );
        Ok(UserQuery { text, extras })
    }

    async fn import_user(&mut self, user: User) -> Result<Outcome, ImportError> {
        let legacy_id = user.legacy_id.unwrap_or_default();
        let store_error = store_error(&self.options.user_table, legacy_id.to_string());
        let users = &self.stores.users;
        if let Some(existing) = users
            .user_by_legacy_id(legacy_id)
            .await
            .map_err(&store_error)?
        {
            self.users.insert(legacy_id, existing.id);
            return self.update_user(&existing, &user).await;
        }
        if self.options.dry_run {
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
    /// email, `date_joined` and password hash. A hash made here (Argon2id
    /// in PHC form, `$argon2id$...`: upgraded on a login here, or set here)
    /// is kept; a Django-format one is replaced by Django's current one.
    /// `last_login` moves forward only: it is set to Django's when Django's
    /// is later (someone logged in there during the move), and kept when
    /// it is later here (a login here) or Django has none.
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
            profile: {
                // Django's columns overwrite the keys they name; keys
                // added here are kept.
                let mut merged = existing.profile.clone();
                merged.extend(django.profile.clone());
                changed(&existing.profile, &merged)
            },
            date_joined: changed(&existing.date_joined, &django.date_joined),
        };
        let new_last_login = django
            .last_login
            .filter(|django| existing.last_login.is_none_or(|here| here < *django));
        let made_here = existing
            .password_hash
            .as_deref()
            .is_some_and(|hash| hash.starts_with('$'));
        let new_hash = (!made_here && existing.password_hash != django.password_hash)
            .then_some(django.password_hash.as_deref());
        if update == UserUpdate::default() && new_hash.is_none() && new_last_login.is_none() {
            return Ok(Outcome::Unchanged);
        }
        if self.options.dry_run {
            return Ok(Outcome::Updated);
        }
        let legacy_id = django.legacy_id.unwrap_or_default();
        let store_error = store_error(&self.options.user_table, legacy_id.to_string());
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
        if let Some(at) = new_last_login {
            users
                .set_last_login(existing.id, at)
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
        let total = rows.len();
        self.tell(TABLE, 0, total);
        for (done, row) in rows.into_iter().enumerate() {
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
            self.tell(TABLE, done + 1, total);
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
        if self.options.dry_run {
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
        let total = rows.len();
        self.tell(TABLE, 0, total);
        for (done, row) in rows.into_iter().enumerate() {
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
            self.tell(TABLE, done + 1, total);
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
        if self.options.dry_run {
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
        let total = rows.len();
        self.tell(TABLE, 0, total);
        for (done, row) in rows.into_iter().enumerate() {
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
            self.tell(TABLE, done + 1, total);
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
        if self.options.dry_run {
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
        profile: row.profile,
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
