//! Records as the stores read and write them: [`Time`] and [`Text`], the
//! two column types whose encoding differs per database, and one
//! `sqlx::FromRow` row per record with its one conversion into the
//! `auth-core` record.

use std::collections::BTreeSet;

use auth_core::oauth::{
    Application, ApplicationId, AuthorizationCode, BrowserSession, ClientType, Consent, FamilyId,
    GrantType, OAuthToken, OAuthTokenKind, PkceMethod, Scopes,
};
use auth_core::store::{
    BlacklistEntry, HistoryEntry, KnoxTokenRecord, RevocationState, StaticTokenRecord,
    ThrottleCount,
};
use auth_core::user::{User, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::error::BoxDynError;
use sqlx::types::Json;
use uuid::Uuid;

use crate::common::{count_u64, parse_event};
use crate::error::SqlxStoreError;

/// A time as each database stores it: `TIMESTAMPTZ` (PostgreSQL),
/// `DATETIME(6)` in UTC (MySQL), integer microseconds since the Unix epoch
/// (SQLite). Bound and read back at microsecond precision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Time(pub(crate) DateTime<Utc>);

/// Text read back: on MySQL as bytes checked to be UTF-8, whatever the
/// column's collation flags say (lookup keys are `VARBINARY`, which sqlx
/// would not read as a string); as text elsewhere.
#[derive(Debug)]
pub(crate) struct Text(pub(crate) String);

impl Time {
    /// An optional time.
    pub(crate) fn of(at: Option<DateTime<Utc>>) -> Option<Self> {
        at.map(Self)
    }
}

/// Implements sqlx's `Type` and `Decode` (and `Encode` with `to`) for
/// `$ty` on one database, by way of a type sqlx knows: read as `$inner`
/// and turned into `$ty` by `from`; written as what `to` makes of it.
macro_rules! column {
    ($ty:ty, $db:ty, $inner:ty, from: $from:expr $(, to: $to:expr)?) => {
        impl sqlx::Type<$db> for $ty {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <$inner as sqlx::Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <$inner as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, $db> for $ty {
            fn decode(value: <$db as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                $from(<$inner as sqlx::Decode<'r, $db>>::decode(value)?)
            }
        }

        $(impl<'q> sqlx::Encode<'q, $db> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, BoxDynError> {
                <$inner as sqlx::Encode<'q, $db>>::encode($to(self), buf)
            }
        })?
    };
}

/// A stored time out of chrono's range.
#[cfg(feature = "sqlite")]
#[derive(Debug, thiserror::Error)]
#[error("stored time {0} µs is out of range")]
struct TimeOutOfRange(i64);

// SQLite: times as integer microseconds since the Unix epoch.
#[cfg(feature = "sqlite")]
column!(Time, sqlx::Sqlite, i64,
    from: |micros| DateTime::from_timestamp_micros(micros)
        .map(Time)
        .ok_or_else(|| TimeOutOfRange(micros).into()),
    to: |at: &Time| at.0.timestamp_micros());
#[cfg(feature = "sqlite")]
column!(Text, sqlx::Sqlite, String, from: |text| Ok(Text(text)));

// PostgreSQL: `TIMESTAMPTZ`, text as text.
#[cfg(feature = "postgres")]
column!(Time, sqlx::Postgres, DateTime<Utc>, from: |at| Ok(Time(at)), to: |at: &Time| at.0);
#[cfg(feature = "postgres")]
column!(Text, sqlx::Postgres, String, from: |text| Ok(Text(text)));

// MySQL: `DATETIME(6)`, text read as bytes and checked to be UTF-8.
#[cfg(feature = "mysql")]
column!(Time, sqlx::MySql, DateTime<Utc>, from: |at| Ok(Time(at)), to: |at: &Time| at.0);
#[cfg(feature = "mysql")]
column!(Text, sqlx::MySql, &[u8],
    from: |bytes| -> Result<Text, BoxDynError> { Ok(Text(std::str::from_utf8(bytes)?.to_owned())) });

/// A column value as read (`Text`, `Time`, `Parsed`, `Json`, a UUID) turned
/// into its record field's type.
pub(crate) trait Stored<T> {
    /// The field's value.
    fn stored(self) -> T;
}

/// `Stored` for column types that convert by a function.
macro_rules! stored {
    ($($column:ty => $field:ty: $convert:expr;)+) => {$(
        impl Stored<$field> for $column {
            fn stored(self) -> $field {
                $convert(self)
            }
        }
    )+};
}
stored! {
    Text => String: |text: Text| text.0;
    Time => DateTime<Utc>: |at: Time| at.0;
    Uuid => UserId: UserId;
    Uuid => ApplicationId: ApplicationId;
    Uuid => FamilyId: FamilyId;
    bool => bool: std::convert::identity;
    i64 => i64: std::convert::identity;
}

impl<T> Stored<T> for Parsed<T> {
    fn stored(self) -> T {
        self.0
    }
}

impl<T> Stored<T> for Json<T> {
    fn stored(self) -> T {
        self.0
    }
}

impl<T, C: Stored<T>> Stored<Option<T>> for Option<C> {
    fn stored(self) -> Option<T> {
        self.map(C::stored)
    }
}

/// For each record read whole from one table: the row (`sqlx::FromRow`,
/// its fields named and ordered as the table's columns and the record's
/// fields), its one conversion into the record, and the list of its
/// columns, `"a, b, ..."`, for the queries' `SELECT` and `INSERT`.
macro_rules! rows {
    ($(
        $table:literal: $row:ident => $record:ident, $columns:ident {
            $first:ident: $first_ty:ty $(, $field:ident: $ty:ty)* $(,)?
        }
    )+) => {$(
        #[doc = concat!("The columns of `", $table, "`, as [`", stringify!($row), "`] reads them.")]
        pub(crate) const $columns: &str = concat!(stringify!($first) $(, ", ", stringify!($field))*);

        #[doc = concat!("A row of `", $table, "`.")]
        #[derive(sqlx::FromRow)]
        pub(crate) struct $row {
            $first: $first_ty,
            $($field: $ty,)*
        }

        impl From<$row> for $record {
            fn from(row: $row) -> Self {
                Self {
                    $first: row.$first.stored(),
                    $($field: row.$field.stored(),)*
                }
            }
        }
    )+};
}

rows! {
    "auth_users": UserRow => User, USER_COLUMNS {
        id: Uuid,
        username: Text,
        email: Text,
        first_name: Text,
        last_name: Text,
        is_active: bool,
        is_staff: bool,
        is_superuser: bool,
        email_verified: bool,
        date_joined: Time,
        last_login: Option<Time>,
        password_hash: Option<Text>,
        profile: Json<Map<String, Value>>,
        legacy_id: Option<i64>,
    }
    "auth_knox_tokens": KnoxRow => KnoxTokenRecord, KNOX_COLUMNS {
        token_key: Text,
        digest: Text,
        user_id: Uuid,
        created: Time,
        expiry: Option<Time>,
        last_used: Option<Time>,
        name: Option<Text>,
    }
    "auth_static_tokens": StaticRow => StaticTokenRecord, STATIC_COLUMNS {
        user_id: Uuid,
        digest: Text,
        seed: Option<Text>,
        created: Time,
    }
    "auth_jwt_blacklist": BlacklistRow => BlacklistEntry, BLACKLIST_COLUMNS {
        jti: Text,
        user_id: Uuid,
        family: Option<Text>,
        expires_at: Time,
        blacklisted_at: Time,
    }
}

/// [`RevocationState`] as two columns (binding the user's id, then the
/// family), alone or beside a user's row; read back as a [`RevocationRow`].
pub(crate) const REVOCATION_COLUMNS: &str = "\
    (SELECT valid_after FROM auth_jwt_valid_after WHERE user_id = ?) AS jwt_valid_after, \
    EXISTS (SELECT 1 FROM auth_jwt_revoked_families WHERE family = ?) AS jwt_family_revoked";

/// The columns of [`REVOCATION_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(crate) struct RevocationRow {
    jwt_valid_after: Option<Time>,
    jwt_family_revoked: bool,
}

impl From<RevocationRow> for RevocationState {
    fn from(row: RevocationRow) -> Self {
        Self {
            tokens_valid_after: row.jwt_valid_after.map(|at| at.0),
            family_revoked: row.jwt_family_revoked,
        }
    }
}

/// A throttle counter: `hits, resets_at` of `auth_throttle`.
#[derive(sqlx::FromRow)]
pub(crate) struct ThrottleRow {
    hits: i64,
    resets_at: Time,
}

impl From<ThrottleRow> for ThrottleCount {
    fn from(row: ThrottleRow) -> Self {
        Self {
            count: count_u64(row.hits),
            resets_at: row.resets_at.0,
        }
    }
}

/// A row of `auth_login_history`, without its user.
#[derive(sqlx::FromRow)]
pub(crate) struct HistoryRow {
    occurred_at: Time,
    event: Text,
    ip: Option<Text>,
    user_agent: Option<Text>,
}

impl HistoryRow {
    /// The entry, as `user`'s.
    pub(crate) fn entry(self, user: UserId) -> Result<HistoryEntry, SqlxStoreError> {
        Ok(HistoryEntry {
            user_id: user,
            at: self.occurred_at.0,
            event: parse_event(&self.event.0)?,
            ip: self.ip.map(|text| text.0),
            user_agent: self.user_agent.map(|text| text.0),
        })
    }
}

/// A value stored as text in its wire form (scopes, grant types, the
/// OAuth2 enums), parsed when read: a stored value that does not parse is
/// a decode error, never a panic.
#[derive(Debug)]
pub(crate) struct Parsed<T>(pub(crate) T);

/// What a [`Parsed`] column holds.
pub(crate) trait WireText: Sized {
    /// The value of this text, or `None`.
    fn from_text(text: &str) -> Option<Self>;
}

/// A stored text that is no valid `what`.
#[derive(Debug, thiserror::Error)]
#[error("stored value {text:?} is no valid {what}")]
struct Unparsable {
    text: String,
    what: &'static str,
}

impl<DB: sqlx::Database, T> sqlx::Type<DB> for Parsed<T>
where
    Text: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Text as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Text as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database, T: WireText> sqlx::Decode<'r, DB> for Parsed<T>
where
    Text: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let Text(text) = <Text as sqlx::Decode<'r, DB>>::decode(value)?;
        match T::from_text(&text) {
            Some(value) => Ok(Parsed(value)),
            None => Err(Unparsable {
                text,
                what: std::any::type_name::<T>(),
            }
            .into()),
        }
    }
}

impl WireText for Scopes {
    fn from_text(text: &str) -> Option<Self> {
        Scopes::parse(text).ok()
    }
}

/// `WireText` for the enums with `parse`.
macro_rules! wire_text {
    ($($ty:ty),+) => {$(
        impl WireText for $ty {
            fn from_text(text: &str) -> Option<Self> {
                <$ty>::parse(text)
            }
        }
    )+};
}
wire_text!(ClientType, PkceMethod, OAuthTokenKind);

impl WireText for BTreeSet<GrantType> {
    fn from_text(text: &str) -> Option<Self> {
        text.split(' ')
            .filter(|name| !name.is_empty())
            .map(GrantType::parse)
            .collect()
    }
}

/// Grant types as stored: their names, space-separated.
pub(crate) fn grant_types_text(grants: &BTreeSet<GrantType>) -> String {
    let names: Vec<&str> = grants.iter().map(|grant| grant.as_str()).collect();
    names.join(" ")
}

rows! {
    "auth_oauth_applications": ApplicationRow => Application, APPLICATION_COLUMNS {
        id: Uuid,
        client_id: Text,
        name: Text,
        client_type: Parsed<ClientType>,
        grant_types: Parsed<BTreeSet<GrantType>>,
        redirect_uris: Json<Vec<String>>,
        post_logout_redirect_uris: Json<Vec<String>>,
        allowed_origins: Json<Vec<String>>,
        skip_authorization: bool,
        owner: Option<Uuid>,
        secret_digest: Option<Text>,
        previous_secret_digest: Option<Text>,
        previous_secret_until: Option<Time>,
        created: Time,
        updated: Time,
    }
    "auth_oauth_codes": CodeRow => AuthorizationCode, CODE_COLUMNS {
        digest: Text,
        application_id: Uuid,
        user_id: Uuid,
        redirect_uri: Text,
        scopes: Parsed<Scopes>,
        code_challenge: Option<Text>,
        code_challenge_method: Option<Parsed<PkceMethod>>,
        nonce: Option<Text>,
        auth_time: Time,
        family: Uuid,
        created: Time,
        expires: Time,
        used_at: Option<Time>,
    }
    "auth_oauth_tokens": OAuthTokenRow => OAuthToken, OAUTH_TOKEN_COLUMNS {
        digest: Text,
        kind: Parsed<OAuthTokenKind>,
        application_id: Uuid,
        user_id: Option<Uuid>,
        scopes: Parsed<Scopes>,
        family: Uuid,
        created: Time,
        expires: Option<Time>,
        revoked_at: Option<Time>,
        rotated_at: Option<Time>,
    }
    "auth_oauth_consents": ConsentRow => Consent, CONSENT_COLUMNS {
        user_id: Uuid,
        application_id: Uuid,
        scopes: Parsed<Scopes>,
        created: Time,
        updated: Time,
    }
    "auth_oauth_sessions": SessionRow => BrowserSession, SESSION_COLUMNS {
        digest: Text,
        user_id: Uuid,
        auth_time: Time,
        created: Time,
        expires: Time,
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use sqlx::Connection;

    use super::*;

    #[tokio::test]
    async fn sqlite_times_round_trip_as_micros() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        for micros in [1_700_000_000_123_457, -86_400_000_001] {
            let at = DateTime::from_timestamp_micros(micros).expect("in range");
            let (stored, back): (i64, Time) = sqlx::query_as("SELECT ?1, ?1")
                .bind(Time(at))
                .fetch_one(&mut conn)
                .await
                .expect("selecting the time");
            assert_eq!((stored, back.0), (micros, at));
        }
        let out_of_range = sqlx::query_as::<_, (Time,)>("SELECT 9223372036854775807")
            .fetch_one(&mut conn)
            .await;
        assert!(
            out_of_range.is_err(),
            "out of chrono's range is an error, not a panic"
        );
    }
}
