//! [`RedisStoreError`], this crate's error, and how it becomes a
//! [`StoreError`].

use std::time::Duration;

use auth_core::error::StoreError;
use redis::{ErrorKind, RedisError, ServerErrorKind};

/// What the Redis store can fail with.
///
/// The store's trait methods return [`StoreError`]; this error is its
/// source, so nothing is lost (`std::error::Error::source` reaches the
/// [`RedisError`]). Constructors and configuration return it directly.
///
/// No variant carries a token, a digest, a password or the connection URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The Redis client reported an error (connecting, sending, the server's
    /// reply, a script error, a malformed URL).
    #[error("redis error")]
    Redis(#[from] RedisError),
    /// Redis did not answer within the configured
    /// [`timeout`](crate::RedisStoreConfig::timeout).
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// A value read from Redis is not in the form this store writes (another
    /// program wrote under the store's key prefix, or a bug). Names the
    /// field, never its value.
    #[error("malformed data in redis: {0}")]
    Corrupt(&'static str),
    /// A configuration value was refused, or the store was built outside a
    /// Tokio runtime. The message says which and why.
    #[error("invalid redis store configuration: {0}")]
    InvalidConfig(String),
}

impl RedisStoreError {
    /// Whether the error means Redis could not be reached in time: a refused,
    /// dropped or timed-out connection, a server that is loading or read-only
    /// (a failover in progress), or the store's own deadline.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Timeout(_) => true,
            Self::Redis(err) => redis_unavailable(err),
            Self::Corrupt(_) | Self::InvalidConfig(_) => false,
        }
    }
}

/// Whether a client error means "Redis is not there right now".
fn redis_unavailable(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

impl From<RedisStoreError> for StoreError {
    fn from(err: RedisStoreError) -> Self {
        auth_core::metrics::store_error("redis");
        if err.is_unavailable() {
            StoreError::Unavailable(Box::new(err))
        } else {
            StoreError::Other(Box::new(err))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;

    use super::*;

    #[test]
    fn io_errors_and_timeouts_are_unavailable() {
        let refused = RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert!(matches!(
            StoreError::from(RedisStoreError::from(refused)),
            StoreError::Unavailable(_)
        ));
        let timed_out = RedisError::from(io::Error::from(io::ErrorKind::TimedOut));
        assert!(matches!(
            StoreError::from(RedisStoreError::from(timed_out)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(RedisStoreError::Timeout(Duration::from_secs(1))),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn other_errors_are_other_and_keep_their_source() {
        let script = RedisError::from((ErrorKind::Client, "bad script"));
        let err = StoreError::from(RedisStoreError::from(script));
        assert!(matches!(err, StoreError::Other(_)));
        let source = err.source().expect("the store error keeps its source");
        let ours = source
            .downcast_ref::<RedisStoreError>()
            .expect("the source is the redis store error");
        assert!(matches!(ours, RedisStoreError::Redis(_)));
        assert!(ours.source().is_some(), "and that keeps the client error");

        assert!(matches!(
            StoreError::from(RedisStoreError::Corrupt("expiry")),
            StoreError::Other(_)
        ));
    }
}
