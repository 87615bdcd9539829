//! Rate limits on login, password-reset and activation attempts, per
//! account and per client address, counted in a [`ThrottleStore`].
//!
//! Login limits count failed attempts (a success clears the account's
//! counter, as django-axes does); reset and activation-email limits count
//! every request, since each may send an email. Limits are keyed on what
//! the client typed (lower-cased), not on whether the account exists, so
//! throttling reveals nothing about which accounts exist.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::AuthError;
use crate::store::ThrottleStore;
use crate::user::fold_case;

/// A rate such as `5/min`: at most `count` per `period`.
///
/// ```
/// use auth_core::throttle::Rate;
/// let rate: Rate = "20/min".parse().unwrap();
/// assert_eq!(rate.count, 20);
/// assert_eq!(rate.period, chrono::Duration::minutes(1));
/// assert_eq!("3/hour".parse::<Rate>().unwrap().period, chrono::Duration::hours(1));
/// assert!("often".parse::<Rate>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many attempts a window allows.
    pub count: u64,
    /// The window's length.
    pub period: Duration,
}

impl Rate {
    /// `count` per `period`.
    pub fn new(count: u64, period: Duration) -> Self {
        Self { count, period }
    }

    /// `count` per minute.
    pub fn per_minute(count: u64) -> Self {
        Self::new(count, Duration::minutes(1))
    }

    /// `count` per hour.
    pub fn per_hour(count: u64) -> Self {
        Self::new(count, Duration::hours(1))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.count, self.period.num_seconds())
    }
}

/// A rate that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate {0:?}: expected N/sec, N/min, N/hour or N/day with N at least 1")]
pub struct RateParseError(String);

impl FromStr for Rate {
    type Err = RateParseError;

    /// DRF's syntax: `N/s`, `N/min`, `N/hour`, `N/day` (only the period's
    /// first letter counts, as in DRF), or `N/Ns`, e.g. `10/30s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RateParseError(s.to_string());
        let (count, period) = s.trim().split_once('/').ok_or_else(err)?;
        let count: u64 = count.trim().parse().map_err(|_| err())?;
        if count == 0 {
            return Err(err());
        }
        let period = period.trim();
        let period =
            if let Some(secs) = period.strip_suffix('s').and_then(|n| n.parse::<i64>().ok()) {
                if secs <= 0 {
                    return Err(err());
                }
                Duration::seconds(secs)
            } else {
                match period.chars().next() {
                    Some('s') => Duration::seconds(1),
                    Some('m') => Duration::minutes(1),
                    Some('h') => Duration::hours(1),
                    Some('d') => Duration::days(1),
                    _ => return Err(err()),
                }
            };
        Ok(Rate { count, period })
    }
}

/// Parses an optional rate where `off` (or `none`) disables the limit.
///
/// ```
/// use auth_core::throttle::parse_optional_rate;
/// assert_eq!(parse_optional_rate("off").unwrap(), None);
/// assert!(parse_optional_rate("5/min").unwrap().is_some());
/// ```
pub fn parse_optional_rate(s: &str) -> Result<Option<Rate>, RateParseError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "" => Ok(None),
        _ => s.parse().map(Some),
    }
}

/// Every limit the service applies; `None` turns one off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failed logins per account (default 5/min).
    pub login_per_account: Option<Rate>,
    /// Failed logins per client address (default 20/min).
    pub login_per_ip: Option<Rate>,
    /// Password-reset emails per address asked for (default 3/hour).
    pub reset_per_email: Option<Rate>,
    /// Password-reset and activation-email requests per client address
    /// (default 20/hour).
    pub email_per_ip: Option<Rate>,
    /// Activation-email resends per address asked for (default 3/hour).
    pub activation_per_email: Option<Rate>,
    /// Activation, reset-confirm attempts per client address (default 30/min):
    /// slows guessing of link tokens.
    pub confirm_per_ip: Option<Rate>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            login_per_account: Some(Rate::per_minute(5)),
            login_per_ip: Some(Rate::per_minute(20)),
            reset_per_email: Some(Rate::per_hour(3)),
            email_per_ip: Some(Rate::per_hour(20)),
            activation_per_email: Some(Rate::per_hour(3)),
            confirm_per_ip: Some(Rate::per_minute(30)),
        }
    }
}

impl ThrottleConfig {
    /// No limits at all (for benchmarks and tests of other things).
    pub fn disabled() -> Self {
        Self {
            login_per_account: None,
            login_per_ip: None,
            reset_per_email: None,
            email_per_ip: None,
            activation_per_email: None,
            confirm_per_ip: None,
        }
    }

    /// Sets both login limits from the demo server's `AUTH_LOGIN_THROTTLE`
    /// syntax: `off`, or a per-account rate, optionally followed by a comma
    /// and a per-address rate (`5/min,20/min`).
    pub fn with_login_rates(mut self, spec: &str) -> Result<Self, RateParseError> {
        let (account, ip) = match spec.split_once(',') {
            Some((a, b)) => (parse_optional_rate(a)?, parse_optional_rate(b)?),
            None => {
                let account = parse_optional_rate(spec)?;
                (account, account.and(self.login_per_ip))
            }
        };
        self.login_per_account = account;
        self.login_per_ip = ip;
        Ok(self)
    }
}

/// Which counter a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Failed logins for one username or email.
    LoginAccount,
    /// Failed logins from one address.
    LoginIp,
    /// Reset emails for one address.
    ResetEmail,
    /// Activation emails for one address.
    ActivationEmail,
    /// Email-sending requests from one client address.
    EmailIp,
    /// Link-token confirmations from one client address.
    ConfirmIp,
}

impl Scope {
    /// The scope's name, used in store keys and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::LoginAccount => "login_account",
            Scope::LoginIp => "login_ip",
            Scope::ResetEmail => "reset_email",
            Scope::ActivationEmail => "activation_email",
            Scope::EmailIp => "email_ip",
            Scope::ConfirmIp => "confirm_ip",
        }
    }
}

/// Applies a [`ThrottleConfig`] over a [`ThrottleStore`].
#[derive(Debug, Clone)]
pub struct Throttle {
    store: Arc<dyn ThrottleStore>,
    config: ThrottleConfig,
}

impl Throttle {
    /// Limits `config` counted in `store`.
    pub fn new(store: Arc<dyn ThrottleStore>, config: ThrottleConfig) -> Self {
        Self { store, config }
    }

    /// The limits in force.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    fn rate(&self, scope: Scope) -> Option<Rate> {
        match scope {
            Scope::LoginAccount => self.config.login_per_account,
            Scope::LoginIp => self.config.login_per_ip,
            Scope::ResetEmail => self.config.reset_per_email,
            Scope::ActivationEmail => self.config.activation_per_email,
            Scope::EmailIp => self.config.email_per_ip,
            Scope::ConfirmIp => self.config.confirm_per_ip,
        }
    }

    /// The store key for `subject` in `scope`, `<scope>:<32 hex digits>`:
    /// the subject is case-folded and hashed, so keys hold no email address
    /// or username in clear. Stores keep throttle windows apart from their
    /// other data themselves (the Redis store under `<prefix>throttle:`).
    pub fn key(scope: Scope, subject: &str) -> String {
        let digest = Sha256::digest(fold_case(subject.trim()).as_bytes());
        format!("{}:{}", scope.as_str(), hex::encode(&digest[..16]))
    }

    /// Fails with [`AuthError::Throttled`] if `subject` has used up its
    /// allowance in `scope`, without counting an attempt. Passes when the
    /// scope is off or there is no subject (an unknown client address).
    pub async fn check(
        &self,
        scope: Scope,
        subject: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let (Some(rate), Some(subject)) = (self.rate(scope), subject) else {
            return Ok(());
        };
        match self
            .store
            .throttle_peek(&Self::key(scope, subject), now)
            .await?
        {
            Some(count) if count.count >= rate.count => Err(throttled(count.resets_at, now)),
            _ => Ok(()),
        }
    }

    /// Counts one attempt by `subject` in `scope`.
    pub async fn record(
        &self,
        scope: Scope,
        subject: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        if let (Some(rate), Some(subject)) = (self.rate(scope), subject) {
            self.store
                .throttle_hit(&Self::key(scope, subject), rate.period, now)
                .await?;
        }
        Ok(())
    }

    /// Counts one attempt and fails with [`AuthError::Throttled`] if it goes
    /// past the allowance (for limits that count every request).
    pub async fn hit(
        &self,
        scope: Scope,
        subject: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let (Some(rate), Some(subject)) = (self.rate(scope), subject) else {
            return Ok(());
        };
        let count = self
            .store
            .throttle_hit(&Self::key(scope, subject), rate.period, now)
            .await?;
        if count.count > rate.count {
            return Err(throttled(count.resets_at, now));
        }
        Ok(())
    }

    /// Forgets `subject`'s attempts in `scope` (after a successful login).
    pub async fn clear(&self, scope: Scope, subject: Option<&str>) -> Result<(), AuthError> {
        if let (Some(_), Some(subject)) = (self.rate(scope), subject) {
            self.store
                .throttle_clear(&Self::key(scope, subject))
                .await?;
        }
        Ok(())
    }
}

fn throttled(resets_at: DateTime<Utc>, now: DateTime<Utc>) -> AuthError {
    // Round up so a client that waits exactly this long gets through.
    let millis = (resets_at - now).num_milliseconds().max(0);
    let retry_after_secs = u64::try_from((millis + 999) / 1000).unwrap_or(1).max(1);
    AuthError::Throttled { retry_after_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_like_drf() {
        assert_eq!("5/min".parse::<Rate>().unwrap(), Rate::per_minute(5));
        assert_eq!("5/m".parse::<Rate>().unwrap(), Rate::per_minute(5));
        assert_eq!("1/day".parse::<Rate>().unwrap().period, Duration::days(1));
        assert_eq!(
            "10/30s".parse::<Rate>().unwrap().period,
            Duration::seconds(30)
        );
        for bad in ["", "5", "0/min", "-1/min", "x/min", "5/fortnight", "5/0s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn login_rate_spec() {
        let config = ThrottleConfig::default().with_login_rates("off").unwrap();
        assert_eq!(config.login_per_account, None);
        assert_eq!(config.login_per_ip, None);
        let config = ThrottleConfig::default()
            .with_login_rates("3/min,10/hour")
            .unwrap();
        assert_eq!(config.login_per_account, Some(Rate::per_minute(3)));
        assert_eq!(config.login_per_ip, Some(Rate::per_hour(10)));
    }

    #[test]
    fn keys_hide_the_subject_and_fold_case() {
        let key = Throttle::key(Scope::LoginAccount, "Ada@Example.com");
        assert!(!key.contains("example"));
        assert_eq!(key, Throttle::key(Scope::LoginAccount, "ada@example.com "));
        assert_ne!(key, Throttle::key(Scope::LoginIp, "ada@example.com"));
        assert!(key.starts_with("login_account:"), "{key}");
    }

    #[test]
    fn retry_after_rounds_up() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        let at = now + Duration::milliseconds(1_200);
        assert!(matches!(
            throttled(at, now),
            AuthError::Throttled {
                retry_after_secs: 2
            }
        ));
        assert!(matches!(
            throttled(now, now),
            AuthError::Throttled {
                retry_after_secs: 1
            }
        ));
    }
}
