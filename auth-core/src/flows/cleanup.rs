//! Deleting what has expired: [`Auth::clear_expired`], which the service
//! can run in the background every [`AuthConfig::cleanup_interval`]
//! (as simplejwt's `flushexpiredtokens`, knox's expired-token deletion and
//! Django OAuth Toolkit's `cleartokens`).
//!
//! [`AuthConfig::cleanup_interval`]: crate::config::AuthConfig::cleanup_interval

use std::fmt;

use crate::error::StoreError;
use crate::service::Auth;

/// How many records [`Auth::clear_expired`] deleted, per kind. Stores
/// that drop expired records by themselves (Redis) count none of those.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cleared {
    /// Expired Knox tokens.
    pub knox_tokens: u64,
    /// JWT blacklist entries and rotation records past their expiry.
    pub revocations: u64,
    /// Throttle windows that have ended.
    pub throttle_windows: u64,
    /// Login-history entries older than the retention.
    pub history: u64,
    /// OAuth2 authorization codes past their expiry.
    pub oauth_codes: u64,
    /// OAuth2 access and refresh tokens past their expiry (revoked and
    /// rotated ones included, once expired).
    pub oauth_tokens: u64,
    /// Browser sessions past their expiry.
    pub browser_sessions: u64,
}

impl Cleared {
    /// Everything deleted.
    pub fn total(&self) -> u64 {
        self.knox_tokens
            .saturating_add(self.revocations)
            .saturating_add(self.throttle_windows)
            .saturating_add(self.history)
            .saturating_add(self.oauth_codes)
            .saturating_add(self.oauth_tokens)
            .saturating_add(self.browser_sessions)
    }
}

impl fmt::Display for Cleared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} expired Knox tokens, {} expired JWT revocations, {} ended throttle windows, \
             {} history entries past retention, {} expired OAuth2 codes, {} expired OAuth2 \
             tokens, {} expired browser sessions",
            self.knox_tokens,
            self.revocations,
            self.throttle_windows,
            self.history,
            self.oauth_codes,
            self.oauth_tokens,
            self.browser_sessions
        )
    }
}

impl Auth {
    /// Deletes, from every store, what has expired at the service's
    /// clock's now: Knox tokens, JWT blacklist and rotation records,
    /// ended throttle windows, OAuth2 codes, tokens and browser sessions,
    /// and login-history entries older than
    /// [`AuthConfig::history_retention`](crate::config::AuthConfig::history_retention)
    /// (none when it is `None`). Nothing live is touched, so it is safe to
    /// run at any time, from any number of servers.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use auth_core::{Auth, config::AuthConfig};
    /// let auth = Auth::in_memory(AuthConfig::default());
    /// let cleared = auth.clear_expired().await.unwrap();
    /// assert_eq!(cleared.total(), 0);
    /// # });
    /// ```
    pub async fn clear_expired(&self) -> Result<Cleared, StoreError> {
        let now = self.now();
        let stores = self.stores();
        let history = match self.config().history_retention {
            Some(retention) => match now.checked_sub_signed(retention) {
                Some(before) => stores.history.purge_history_before(before).await?,
                None => 0,
            },
            None => 0,
        };
        Ok(Cleared {
            knox_tokens: stores.knox.purge_expired_knox_tokens(now).await?,
            revocations: stores.revocations.purge_expired_revocations(now).await?,
            throttle_windows: stores.throttle.purge_ended_throttle_windows(now).await?,
            history,
            ..self.clear_expired_oauth().await?
        })
    }

    /// Deletes only what the OAuth2 provider keeps past its use: expired
    /// authorization codes, expired access and refresh tokens (revoked and
    /// rotated ones included, once expired) and expired browser sessions,
    /// as Django OAuth Toolkit's `cleartokens`. The other counts are 0.
    pub async fn clear_expired_oauth(&self) -> Result<Cleared, StoreError> {
        let now = self.now();
        let stores = self.stores();
        Ok(Cleared {
            oauth_codes: stores.oauth_codes.purge_expired_codes(now).await?,
            oauth_tokens: stores.oauth_tokens.purge_oauth_tokens(now).await?,
            browser_sessions: stores.browser_sessions.purge_expired_sessions(now).await?,
            ..Cleared::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, Utc};

    use crate::clock::ManualClock;
    use crate::config::{AuthConfig, ConfigError};
    use crate::service::Auth;
    use crate::store::{
        HistoryEntry, HistoryEvent, KnoxTokenRecord, KnoxTokenStore, LoginHistoryStore,
        MemoryStore, TokenLimit,
    };
    use crate::user::UserId;

    fn knox(user: UserId, key: &str, expiry: chrono::DateTime<Utc>) -> KnoxTokenRecord {
        KnoxTokenRecord {
            token_key: key.into(),
            digest: format!("{key}-digest"),
            user_id: user,
            created: expiry - Duration::hours(1),
            expiry: Some(expiry),
            last_used: None,
            name: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_clears_on_its_interval_and_ends_with_the_service() {
        let store = Arc::new(MemoryStore::new());
        let clock = ManualClock::new(Utc::now());
        let config = AuthConfig {
            cleanup_interval: Some(std::time::Duration::from_secs(600)),
            history_retention: Some(Duration::days(30)),
            ..AuthConfig::default()
        };
        let auth = Auth::builder(config)
            .store(store.clone())
            .clock(Arc::new(clock.clone()))
            .build()
            .expect("built in a runtime");
        let now = auth.now();
        let user = UserId::new();
        for (key, expiry) in [
            ("expired1", now - Duration::seconds(1)),
            ("livelive", now + Duration::days(1)),
        ] {
            let record = knox(user, key, expiry);
            store
                .insert_knox_token(&record, TokenLimit::Unlimited, now - Duration::hours(2))
                .await
                .expect("inserted");
        }
        for at in [now - Duration::days(31), now - Duration::days(1)] {
            let entry = HistoryEntry {
                user_id: user,
                at,
                event: HistoryEvent::Login,
                ip: None,
                user_agent: None,
            };
            store.record_history(&entry).await.expect("recorded");
        }

        // Not before the first interval has passed.
        tokio::time::sleep(std::time::Duration::from_secs(599)).await;
        assert_eq!(
            store
                .knox_tokens_by_key("expired1")
                .await
                .expect("read")
                .len(),
            1
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert!(
            store
                .knox_tokens_by_key("expired1")
                .await
                .expect("read")
                .is_empty()
        );
        assert_eq!(
            store
                .knox_tokens_by_key("livelive")
                .await
                .expect("read")
                .len(),
            1
        );
        let history = store.user_history(user, 0, 10).await.expect("read");
        assert_eq!(history.total, 1, "the entry past the retention is gone");

        // Dropped with the service: the task holds no reference to it.
        drop(auth);
        tokio::time::sleep(std::time::Duration::from_secs(1200)).await;
        assert_eq!(Arc::strong_count(&store), 1, "the stores were released");
    }

    #[test]
    fn the_task_needs_a_runtime_and_an_interval() {
        let mut config = AuthConfig {
            cleanup_interval: Some(std::time::Duration::from_secs(60)),
            ..AuthConfig::default()
        };
        let built = Auth::builder(config.clone())
            .store(Arc::new(MemoryStore::new()))
            .build();
        assert!(matches!(built, Err(ConfigError::NoRuntime(_))));
        config.cleanup_interval = Some(std::time::Duration::ZERO);
        let built = Auth::builder(config)
            .store(Arc::new(MemoryStore::new()))
            .build();
        assert!(matches!(built, Err(ConfigError::NonPositiveTtl(_))));
    }
}
