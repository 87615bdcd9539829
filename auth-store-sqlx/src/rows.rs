//! Records as the stores read and write them: [`Time`] and [`Text`], the
//! two column types whose encoding differs per database, and one
//! `sqlx::FromRow` row per record with its one conversion into the
//! `auth-core` record.

use auth_core::store::{
    BlacklistEntry, HistoryEntry, KnoxTokenRecord, RevocationState, StaticTokenRecord,
    ThrottleCount,
};
use auth_core::user::{User, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
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

/// The inner values of optional columns.
fn time(at: Option<Time>) -> Option<DateTime<Utc>> {
    at.map(|Time(at)| at)
}

fn text(value: Option<Text>) -> Option<String> {
    value.map(|Text(value)| value)
}

/// A stored time out of chrono's range.
#[cfg(feature = "sqlite")]
#[derive(Debug, thiserror::Error)]
#[error("stored time {0} µs is out of range")]
struct TimeOutOfRange(i64);

/// SQLite: times as integer microseconds, text as text.
#[cfg(feature = "sqlite")]
mod sqlite {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};
    use sqlx::{Database, Decode, Encode, Sqlite, Type};

    use super::{DateTime, Text, Time, TimeOutOfRange};

    impl Type<Sqlite> for Time {
        fn type_info() -> SqliteTypeInfo {
            <i64 as Type<Sqlite>>::type_info()
        }
        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <i64 as Type<Sqlite>>::compatible(ty)
        }
    }

    impl<'q> Encode<'q, Sqlite> for Time {
        fn encode_by_ref(
            &self,
            buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>,
        ) -> Result<IsNull, BoxDynError> {
            <i64 as Encode<'q, Sqlite>>::encode(self.0.timestamp_micros(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for Time {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            let micros = <i64 as Decode<'r, Sqlite>>::decode(value)?;
            let at = DateTime::from_timestamp_micros(micros).ok_or(TimeOutOfRange(micros))?;
            Ok(Self(at))
        }
    }

    super::text_as_string!(Sqlite, SqliteTypeInfo);
}

/// PostgreSQL: times as `TIMESTAMPTZ`, text as text.
#[cfg(feature = "postgres")]
mod postgres {
    use sqlx::postgres::PgTypeInfo;
    use sqlx::{Decode, Postgres, Type};

    use super::Text;

    super::time_as_datetime!(Postgres, PgTypeInfo);
    super::text_as_string!(Postgres, PgTypeInfo);
}

/// MySQL: times as `DATETIME(6)`, text read as bytes and checked.
#[cfg(feature = "mysql")]
mod mysql {
    use sqlx::error::BoxDynError;
    use sqlx::mysql::{MySqlTypeInfo, MySqlValueRef};
    use sqlx::{Decode, MySql, Type};

    use super::Text;

    super::time_as_datetime!(MySql, MySqlTypeInfo);

    impl Type<MySql> for Text {
        fn type_info() -> MySqlTypeInfo {
            <[u8] as Type<MySql>>::type_info()
        }
        fn compatible(ty: &MySqlTypeInfo) -> bool {
            <[u8] as Type<MySql>>::compatible(ty)
        }
    }

    impl<'r> Decode<'r, MySql> for Text {
        fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
            let bytes = <&[u8] as Decode<'r, MySql>>::decode(value)?;
            Ok(Self(std::str::from_utf8(bytes)?.to_owned()))
        }
    }
}

/// [`Time`] as chrono's `DateTime<Utc>` for `$db`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! time_as_datetime {
    ($db:ty, $info:ty) => {
        impl Type<$db> for super::Time {
            fn type_info() -> $info {
                <super::DateTime<super::Utc> as Type<$db>>::type_info()
            }
            fn compatible(ty: &$info) -> bool {
                <super::DateTime<super::Utc> as Type<$db>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, $db> for super::Time {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <super::DateTime<super::Utc> as sqlx::Encode<'q, $db>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> Decode<'r, $db> for super::Time {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <super::DateTime<super::Utc> as Decode<'r, $db>>::decode(value).map(Self)
            }
        }
    };
}
#[cfg(any(feature = "postgres", feature = "mysql"))]
use time_as_datetime;

/// [`Text`] as sqlx's `String` for `$db`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! text_as_string {
    ($db:ty, $info:ty) => {
        impl Type<$db> for Text {
            fn type_info() -> $info {
                <String as Type<$db>>::type_info()
            }
            fn compatible(ty: &$info) -> bool {
                <String as Type<$db>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, $db> for Text {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <String as Decode<'r, $db>>::decode(value).map(Self)
            }
        }
    };
}
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use text_as_string;

/// The columns a [`User`] is read from ([`UserRow`]).
pub(crate) const USER_COLUMNS: &str = "id, username, email, first_name, last_name, is_active, \
     is_staff, is_superuser, email_verified, date_joined, last_login, password_hash, profile";

/// A row of `auth_users`.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
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
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: UserId(row.id),
            username: row.username.0,
            email: row.email.0,
            first_name: row.first_name.0,
            last_name: row.last_name.0,
            is_active: row.is_active,
            is_staff: row.is_staff,
            is_superuser: row.is_superuser,
            email_verified: row.email_verified,
            date_joined: row.date_joined.0,
            last_login: time(row.last_login),
            password_hash: text(row.password_hash),
            profile: row.profile.0,
        }
    }
}

/// The columns a [`KnoxTokenRecord`] is read from ([`KnoxRow`]).
pub(crate) const KNOX_COLUMNS: &str =
    "token_key, digest, user_id, created, expiry, last_used, name";

/// A row of `auth_knox_tokens`.
#[derive(sqlx::FromRow)]
pub(crate) struct KnoxRow {
    token_key: Text,
    digest: Text,
    user_id: Uuid,
    created: Time,
    expiry: Option<Time>,
    last_used: Option<Time>,
    name: Option<Text>,
}

impl From<KnoxRow> for KnoxTokenRecord {
    fn from(row: KnoxRow) -> Self {
        Self {
            token_key: row.token_key.0,
            digest: row.digest.0,
            user_id: UserId(row.user_id),
            created: row.created.0,
            expiry: time(row.expiry),
            last_used: time(row.last_used),
            name: text(row.name),
        }
    }
}

/// The columns a [`StaticTokenRecord`] is read from ([`StaticRow`]).
pub(crate) const STATIC_COLUMNS: &str = "user_id, digest, seed, created";

/// A row of `auth_static_tokens`.
#[derive(sqlx::FromRow)]
pub(crate) struct StaticRow {
    user_id: Uuid,
    digest: Text,
    seed: Text,
    created: Time,
}

impl From<StaticRow> for StaticTokenRecord {
    fn from(row: StaticRow) -> Self {
        Self {
            user_id: UserId(row.user_id),
            digest: row.digest.0,
            seed: row.seed.0,
            created: row.created.0,
        }
    }
}

/// A row of `auth_jwt_blacklist`.
#[derive(sqlx::FromRow)]
pub(crate) struct BlacklistRow {
    jti: Text,
    user_id: Uuid,
    family: Option<Text>,
    expires_at: Time,
    blacklisted_at: Time,
}

impl From<BlacklistRow> for BlacklistEntry {
    fn from(row: BlacklistRow) -> Self {
        Self {
            jti: row.jti.0,
            user_id: UserId(row.user_id),
            family: text(row.family),
            expires_at: row.expires_at.0,
            blacklisted_at: row.blacklisted_at.0,
        }
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
            tokens_valid_after: time(row.jwt_valid_after),
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
            ip: text(self.ip),
            user_agent: text(self.user_agent),
        })
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
