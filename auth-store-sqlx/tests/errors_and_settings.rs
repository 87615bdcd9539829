//! What needs no database: how [`SqlxStoreError`] becomes a [`StoreError`],
//! and which [`PoolSettings`] a store refuses.

use std::error::Error as _;
use std::time::Duration;

use auth_core::StoreError;
use auth_store_sqlx::sqlx;
use auth_store_sqlx::{InvalidPoolSettings, PoolSettings, SqlxStoreError};

#[test]
fn driver_failures_to_reach_the_database_are_unavailable() {
    for err in [
        sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed,
        sqlx::Error::WorkerCrashed,
        sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
    ] {
        let store: StoreError = SqlxStoreError::from(err).into();
        assert!(matches!(store, StoreError::Unavailable(_)), "{store:?}");
    }
    let other: StoreError = SqlxStoreError::from(sqlx::Error::RowNotFound).into();
    assert!(matches!(other, StoreError::Other(_)));
    let config: StoreError = SqlxStoreError::from(InvalidPoolSettings::NoConnections).into();
    assert!(matches!(config, StoreError::Other(_)));
}

#[test]
fn the_source_chain_is_kept() {
    let store: StoreError = SqlxStoreError::from(sqlx::Error::PoolTimedOut).into();
    let source = store.source().expect("a source");
    assert!(source.downcast_ref::<SqlxStoreError>().is_some());
    assert!(source.source().is_some(), "the sqlx error is kept");
}

#[test]
fn settings_validate() {
    assert!(PoolSettings::default().validate().is_ok());
    assert!(
        PoolSettings::default()
            .min_connections(11)
            .validate()
            .is_err()
    );
    assert!(
        PoolSettings::default()
            .acquire_timeout(Duration::ZERO)
            .validate()
            .is_err()
    );
    assert!(
        PoolSettings::default()
            .idle_timeout(Some(Duration::ZERO))
            .validate()
            .is_err()
    );
}

#[cfg(feature = "postgres")]
#[test]
fn invalid_settings_are_refused() {
    use auth_store_sqlx::PostgresStore;
    use auth_store_sqlx::sqlx::postgres::PgConnectOptions;

    let options = PgConnectOptions::new().host("127.0.0.1").port(1);
    let result =
        PostgresStore::connect_lazy_with(options, PoolSettings::default().max_connections(0));
    assert!(matches!(result, Err(SqlxStoreError::Settings(_))));
}
