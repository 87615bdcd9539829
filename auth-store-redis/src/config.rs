//! [`RedisStoreConfig`]: the key prefix, the timeout, the expiry grace, the
//! history cap and tracked revocation reads.

use std::time::Duration;

use crate::error::RedisStoreError;

/// How a [`RedisStore`](crate::RedisStore) names its keys and how long it
/// waits.
///
/// Every `with_*` method validates its value and refuses a bad one with
/// [`RedisStoreError::InvalidConfig`].
///
/// ```
/// use std::time::Duration;
/// use auth_store_redis::RedisStoreConfig;
///
/// let config = RedisStoreConfig::default()
///     .with_key_prefix("shop:auth:")?
///     .with_timeout(Duration::from_secs(2))?;
/// assert_eq!(config.key_prefix(), "shop:auth:");
/// assert!(RedisStoreConfig::default().with_key_prefix("auth:*").is_err());
/// # Ok::<(), auth_store_redis::RedisStoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisStoreConfig {
    key_prefix: String,
    timeout: Duration,
    expiry_grace: Duration,
    history_cap: u32,
    tracking: Option<Duration>,
}

impl Default for RedisStoreConfig {
    fn default() -> Self {
        Self {
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            expiry_grace: Self::DEFAULT_EXPIRY_GRACE,
            history_cap: Self::DEFAULT_HISTORY_CAP,
            tracking: None,
        }
    }
}

impl RedisStoreConfig {
    /// The default key prefix, `auth:`.
    pub const DEFAULT_KEY_PREFIX: &'static str = "auth:";
    /// The longest key prefix accepted, in bytes.
    pub const MAX_KEY_PREFIX_LEN: usize = 128;
    /// The default [`timeout`](Self::timeout): 3 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
    /// The default [`expiry_grace`](Self::expiry_grace): 60 seconds.
    pub const DEFAULT_EXPIRY_GRACE: Duration = Duration::from_secs(60);
    /// The default [`history_cap`](Self::history_cap): 1000 entries a user.
    pub const DEFAULT_HISTORY_CAP: u32 = 1000;
    /// A maximum age for [`with_tracking`](Self::with_tracking): 10 seconds.
    pub const DEFAULT_TRACKING_MAX_AGE: Duration = Duration::from_secs(10);

    /// Sets the prefix of every key the store writes (default `auth:`), so
    /// that several applications, or test runs, can share one Redis.
    ///
    /// 1 to 128 printable ASCII characters without spaces and without the
    /// glob characters `*`, `?`, `[`, `]` and `\` (the prefix is used as a
    /// `SCAN` pattern by [`RedisStore::delete_all`](crate::RedisStore::delete_all)).
    /// End it with a separator such as `:` so that no prefix is the
    /// beginning of another (`auth` and `auth2` would share keys).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Result<Self, RedisStoreError> {
        let prefix = prefix.into();
        if prefix.is_empty() || prefix.len() > Self::MAX_KEY_PREFIX_LEN {
            return Err(RedisStoreError::InvalidConfig(format!(
                "the key prefix must be 1 to {} bytes long",
                Self::MAX_KEY_PREFIX_LEN
            )));
        }
        if let Some(bad) = prefix
            .chars()
            .find(|c| !c.is_ascii_graphic() || matches!(c, '*' | '?' | '[' | ']' | '\\'))
        {
            return Err(RedisStoreError::InvalidConfig(format!(
                "the key prefix may not contain {bad:?}: printable ASCII without spaces \
                 and without the glob characters * ? [ ] \\"
            )));
        }
        self.key_prefix = prefix;
        Ok(self)
    }

    /// Sets how long one store operation may take, connecting included
    /// (default 3 s, between 1 ms and 10 minutes). Past it the operation
    /// fails with [`StoreError::Unavailable`](auth_core::StoreError::Unavailable);
    /// the store reconnects by itself once Redis answers again.
    ///
    /// An operation that timed out may still have been carried out by Redis
    /// (its reply was late, not lost).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, RedisStoreError> {
        if timeout < Duration::from_millis(1) || timeout > Duration::from_secs(600) {
            return Err(RedisStoreError::InvalidConfig(
                "the timeout must be between 1 ms and 10 minutes".into(),
            ));
        }
        self.timeout = timeout;
        Ok(self)
    }

    /// Sets how long, by Redis's own clock, records outlive their expiry
    /// (default 60 s, between 1 s and 1 day).
    ///
    /// Redis drops expired records by its own clock, while the service
    /// judges expiry by its [`Clock`](auth_core::Clock). The grace covers
    /// the skew between the two:
    ///
    /// - JWT blacklist entries and revoked families are kept until their
    ///   `expires_at` plus the grace, so a server whose clock is behind
    ///   Redis's still sees a revocation until it considers the token
    ///   expired;
    /// - a blacklist entry, family or throttle window whose expiry has
    ///   already passed by Redis's clock when it is written is kept for the
    ///   grace from then on (rather than vanishing at once), so that
    ///   concurrent callers still see each other's writes: of concurrent
    ///   blacklistings of one jti exactly one wins, whatever its
    ///   `expires_at`.
    pub fn with_expiry_grace(mut self, grace: Duration) -> Result<Self, RedisStoreError> {
        if grace < Duration::from_secs(1) || grace > Duration::from_secs(86_400) {
            return Err(RedisStoreError::InvalidConfig(
                "the expiry grace must be between 1 second and 1 day".into(),
            ));
        }
        self.expiry_grace = grace;
        Ok(self)
    }

    /// Sets how many login history entries the store keeps for each user
    /// (default 1000, at least 1): recording one more drops the oldest.
    ///
    /// [`user_history`](auth_core::store::LoginHistoryStore::user_history)
    /// pages through, and its `total` counts, the entries kept.
    pub fn with_history_cap(mut self, cap: u32) -> Result<Self, RedisStoreError> {
        if cap == 0 {
            return Err(RedisStoreError::InvalidConfig(
                "the history cap must be at least 1".into(),
            ));
        }
        self.history_cap = cap;
        Ok(self)
    }

    /// Answers revocation checks from memory while Redis tracks them (off
    /// by default; needs Redis 6 or later).
    ///
    /// Every JWT the service accepts is checked against its user's
    /// "tokens valid after" mark and its family's revocation, which is one
    /// round trip to Redis per request. With tracking, the store reads that
    /// state over a second connection of its own (RESP3, `CLIENT TRACKING
    /// ON`) and keeps it; Redis pushes an invalidation on that connection as
    /// soon as a key read over it changes, whoever changed it, and the store
    /// reads the key again next time. This is Redis's server-assisted
    /// client-side caching, not a staleness budget:
    ///
    /// - this store's own writes are seen by its next read;
    /// - another process's write is seen once its invalidation has
    ///   arrived, normally well under a millisecond after Redis applied it;
    /// - when the tracking connection drops, everything kept is forgotten;
    /// - nothing is kept longer than `max_age` (between 1 ms and 1 hour;
    ///   [`DEFAULT_TRACKING_MAX_AGE`](Self::DEFAULT_TRACKING_MAX_AGE) is a
    ///   good start), which bounds what a connection that fails without
    ///   closing could serve.
    ///
    /// At most 100,000 keys are kept (two per user and token family in
    /// use); past that everything is forgotten and read again.
    ///
    /// ```
    /// use auth_store_redis::RedisStoreConfig;
    ///
    /// let config = RedisStoreConfig::default()
    ///     .with_tracking(RedisStoreConfig::DEFAULT_TRACKING_MAX_AGE)?;
    /// assert_eq!(config.tracking(), Some(RedisStoreConfig::DEFAULT_TRACKING_MAX_AGE));
    /// assert_eq!(RedisStoreConfig::default().tracking(), None);
    /// # Ok::<(), auth_store_redis::RedisStoreError>(())
    /// ```
    pub fn with_tracking(mut self, max_age: Duration) -> Result<Self, RedisStoreError> {
        if max_age < Duration::from_millis(1) || max_age > Duration::from_secs(3600) {
            return Err(RedisStoreError::InvalidConfig(
                "the tracking maximum age must be between 1 ms and 1 hour".into(),
            ));
        }
        self.tracking = Some(max_age);
        Ok(self)
    }

    /// The prefix of every key the store writes.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// How long one operation may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long records outlive their expiry, by Redis's clock.
    pub fn expiry_grace(&self) -> Duration {
        self.expiry_grace
    }

    /// How many history entries are kept per user.
    pub fn history_cap(&self) -> u32 {
        self.history_cap
    }

    /// The maximum age of a tracked revocation read, when tracking is on.
    pub fn tracking(&self) -> Option<Duration> {
        self.tracking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = RedisStoreConfig::default();
        assert_eq!(config.key_prefix(), "auth:");
        assert_eq!(config.timeout(), Duration::from_secs(3));
        assert_eq!(config.expiry_grace(), Duration::from_secs(60));
        assert_eq!(config.history_cap(), 1000);
        assert_eq!(config.tracking(), None);
    }

    #[test]
    fn key_prefixes_are_validated() {
        for good in [
            "a",
            "auth:",
            "my-app.auth:{tokens}:",
            "x".repeat(128).as_str(),
        ] {
            let config = RedisStoreConfig::default()
                .with_key_prefix(good)
                .unwrap_or_else(|err| panic!("{good:?} is a fine prefix: {err}"));
            assert_eq!(config.key_prefix(), good);
        }
        for bad in [
            "",
            "auth *",
            "auth:*",
            "a?",
            "[a]",
            "a\\b",
            "tab\t",
            "ünï:",
            "x".repeat(129).as_str(),
        ] {
            assert!(
                matches!(
                    RedisStoreConfig::default().with_key_prefix(bad),
                    Err(RedisStoreError::InvalidConfig(_))
                ),
                "{bad:?} is refused"
            );
        }
    }

    #[test]
    fn durations_and_cap_are_validated() {
        let config = RedisStoreConfig::default();
        assert!(config.clone().with_timeout(Duration::ZERO).is_err());
        assert!(
            config
                .clone()
                .with_timeout(Duration::from_secs(601))
                .is_err()
        );
        assert_eq!(
            config
                .clone()
                .with_timeout(Duration::from_millis(250))
                .map(|c| c.timeout())
                .ok(),
            Some(Duration::from_millis(250))
        );
        assert!(
            config
                .clone()
                .with_expiry_grace(Duration::from_millis(999))
                .is_err()
        );
        assert!(
            config
                .clone()
                .with_expiry_grace(Duration::from_secs(86_401))
                .is_err()
        );
        assert!(config.clone().with_history_cap(0).is_err());
        assert!(config.clone().with_tracking(Duration::ZERO).is_err());
        assert!(
            config
                .clone()
                .with_tracking(Duration::from_secs(3601))
                .is_err()
        );
        assert_eq!(
            config
                .clone()
                .with_tracking(Duration::from_millis(1))
                .map(|c| c.tracking())
                .ok(),
            Some(Some(Duration::from_millis(1)))
        );
        assert_eq!(
            config.with_history_cap(5).map(|c| c.history_cap()).ok(),
            Some(5)
        );
    }
}
