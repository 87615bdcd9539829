//! Rate limits, each a named [`Scope`] with a [`Rate`], counted in a
//! [`ThrottleStore`].
//!
//! Every attempt is counted atomically before the work it guards
//! ([`Throttle::reserve`]), so requests sent together cannot outrun a
//! limit. Login limits count failed attempts: a success clears the
//! account's count (as django-axes does) and gives back the attempt it
//! reserved from its client address. Registration, reset and
//! activation-email limits count every request, since each may cost a hash
//! or send an email. Per-account login limits are keyed on the account
//! when the login names one and on what was typed otherwise; email limits
//! on the address asked for; so throttling reveals nothing about which
//! accounts exist. Client addresses are counted per IPv4 address and per
//! IPv6 /64 (what one subscriber usually gets).
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
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

/// A limit's name, stable across releases: the names of
/// [`ThrottleConfig::with_rates`], the demo server's
/// `AUTH_THROTTLE_RATES`, store keys and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scope {
    /// `login_account`: failed logins per account (by username or email
    /// alike), or per name typed when it names no account. Default 5/min:
    /// online password guessing against one account.
    LoginAccount,
    /// `login_ip`: failed logins per client address. Default 20/min:
    /// password spraying (a few guesses at many accounts) from one address.
    LoginIp,
    /// `register_ip`: registrations per client address. Default 10/hour:
    /// each costs a password hash, a row and an email.
    RegisterIp,
    /// `reset_email`: password-reset requests per address asked for.
    /// Default 3/hour: keeps a mailbox from being flooded with resets.
    ResetEmail,
    /// `activation_email`: activation-email resends per address asked for.
    /// Default 3/hour: the same for activation links.
    ActivationEmail,
    /// `email_ip`: reset and resend requests per client address. Default
    /// 20/hour: keeps one client from mailing many addresses through us.
    EmailIp,
}

impl Scope {
    /// Every scope, in the order of the README's table.
    pub const ALL: [Scope; 6] = [
        Scope::LoginAccount,
        Scope::LoginIp,
        Scope::RegisterIp,
        Scope::ResetEmail,
        Scope::ActivationEmail,
        Scope::EmailIp,
    ];

    /// The scope's name, e.g. `login_account`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::LoginAccount => "login_account",
            Scope::LoginIp => "login_ip",
            Scope::RegisterIp => "register_ip",
            Scope::ResetEmail => "reset_email",
            Scope::ActivationEmail => "activation_email",
            Scope::EmailIp => "email_ip",
        }
    }

    /// The rate the scope has unless configured otherwise.
    pub fn default_rate(self) -> Rate {
        match self {
            Scope::LoginAccount => Rate::per_minute(5),
            Scope::LoginIp => Rate::per_minute(20),
            Scope::RegisterIp => Rate::per_hour(10),
            Scope::ResetEmail | Scope::ActivationEmail => Rate::per_hour(3),
            Scope::EmailIp => Rate::per_hour(20),
        }
    }

    /// Whether the scope counts per client address (so per IPv6 /64).
    pub fn is_per_address(self) -> bool {
        matches!(self, Scope::LoginIp | Scope::RegisterIp | Scope::EmailIp)
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|scope| *scope == self)
            .unwrap_or_default()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ThrottleSpecError;

    /// A scope by its name (case-insensitive).
    ///
    /// ```
    /// use auth_core::throttle::Scope;
    /// assert_eq!("register_ip".parse::<Scope>().unwrap(), Scope::RegisterIp);
    /// assert!("confirm_ip".parse::<Scope>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| ThrottleSpecError::UnknownScope(name.to_owned()))
    }
}

/// A `scope=rate,...` setting that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleSpecError {
    /// A name that is no [`Scope`].
    #[error(
        "unknown throttle scope {0:?}: expected login_account, login_ip, register_ip, \
         reset_email, activation_email or email_ip"
    )]
    UnknownScope(String),
    /// An entry without `=`.
    #[error("invalid throttle setting {0:?}: expected scope=rate, e.g. login_account=5/min")]
    Malformed(String),
    /// A rate that did not parse.
    #[error("throttle scope {scope}: {source}")]
    Rate {
        /// The scope the rate was for.
        scope: Scope,
        /// Why the rate did not parse.
        #[source]
        source: RateParseError,
    },
}

/// Every limit the service applies: one rate, or off, per [`Scope`].
///
/// ```
/// use auth_core::throttle::{Rate, Scope, ThrottleConfig};
/// let config = ThrottleConfig::default()
///     .with_rates("register_ip=100/day, email_ip=off")
///     .unwrap();
/// assert_eq!(config.rate(Scope::RegisterIp), Some(Rate::new(100, chrono::Duration::days(1))));
/// assert_eq!(config.rate(Scope::EmailIp), None);
/// assert_eq!(config.rate(Scope::LoginAccount), Some(Rate::per_minute(5)));
/// assert!(ThrottleConfig::default().with_rates("confirm_ip=1/min").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    rates: [Option<Rate>; Scope::ALL.len()],
}

impl fmt::Debug for ThrottleConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for scope in Scope::ALL {
            match self.rate(scope) {
                Some(rate) => map.entry(&scope.as_str(), &format_args!("{rate}")),
                None => map.entry(&scope.as_str(), &format_args!("off")),
            };
        }
        map.finish()
    }
}

impl Default for ThrottleConfig {
    /// Every scope at its [`default_rate`](Scope::default_rate).
    fn default() -> Self {
        Self {
            rates: Scope::ALL.map(|scope| Some(scope.default_rate())),
        }
    }
}

impl ThrottleConfig {
    /// No limits at all (for benchmarks and tests of other things).
    pub fn disabled() -> Self {
        Self {
            rates: [None; Scope::ALL.len()],
        }
    }

    /// The rate of `scope`; `None` when it is off.
    pub fn rate(&self, scope: Scope) -> Option<Rate> {
        self.rates[scope.index()]
    }

    /// Sets the rate of `scope` (`None` turns it off).
    pub fn with_rate(mut self, scope: Scope, rate: Option<Rate>) -> Self {
        self.rates[scope.index()] = rate;
        self
    }

    /// Whether every scope is off.
    pub fn is_disabled(&self) -> bool {
        self.rates.iter().all(Option::is_none)
    }

    /// Sets the scopes named in `spec`, a comma-separated list of
    /// `scope=rate` (a rate as [`Rate`] parses it, or `off`); the scopes
    /// not named keep their rates. An unknown scope or a bad rate is an
    /// error naming it.
    pub fn with_rates(mut self, spec: &str) -> Result<Self, ThrottleSpecError> {
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (scope, rate) = entry
                .split_once('=')
                .ok_or_else(|| ThrottleSpecError::Malformed(entry.to_owned()))?;
            let scope: Scope = scope.parse()?;
            let rate = parse_optional_rate(rate)
                .map_err(|source| ThrottleSpecError::Rate { scope, source })?;
            self = self.with_rate(scope, rate);
        }
        Ok(self)
    }

    /// Sets both login limits from the demo server's `AUTH_LOGIN_THROTTLE`
    /// syntax: `off`, or a per-account rate, optionally followed by a comma
    /// and a per-address rate (`5/min,20/min`).
    pub fn with_login_rates(self, spec: &str) -> Result<Self, RateParseError> {
        let (account, ip) = match spec.split_once(',') {
            Some((a, b)) => (parse_optional_rate(a)?, parse_optional_rate(b)?),
            None => {
                let account = parse_optional_rate(spec)?;
                (account, account.and(self.rate(Scope::LoginIp)))
            }
        };
        Ok(self
            .with_rate(Scope::LoginAccount, account)
            .with_rate(Scope::LoginIp, ip))
    }
}

/// The bucket a client address is counted in: an IPv4 address (also one
/// written as IPv4-mapped IPv6) as itself, an IPv6 address as its /64; any
/// other text as it is.
///
/// ```
/// use auth_core::throttle::address_bucket;
/// assert_eq!(address_bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
/// assert_eq!(address_bucket("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
/// assert_eq!(address_bucket("203.0.113.9"), "203.0.113.9");
/// assert_eq!(address_bucket("::ffff:203.0.113.9"), "203.0.113.9");
/// ```
pub fn address_bucket(address: &str) -> String {
    let address = address.trim();
    match address.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let prefix = Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
            format!("{prefix}/64")
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.to_owned(),
    }
}

/// One attempt counted by [`Throttle::reserve`], which
/// [`Throttle::release`] can give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    key: String,
    resets_at: DateTime<Utc>,
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

    /// The store key for `subject` in `scope`, `<scope>:<32 hex digits>`:
    /// the subject (a client address's [`address_bucket`] in per-address
    /// scopes) is case-folded and hashed, so keys hold no email address or
    /// username in clear. Stores keep throttle windows apart from their
    /// other data themselves (the Redis store under `<prefix>throttle:`).
    pub fn key(scope: Scope, subject: &str) -> String {
        let subject = if scope.is_per_address() {
            address_bucket(subject)
        } else {
            subject.trim().to_owned()
        };
        let digest = Sha256::digest(fold_case(&subject).as_bytes());
        format!("{}:{}", scope.as_str(), hex::encode(&digest[..16]))
    }

    /// Counts one attempt by `subject` in `scope`, atomically, and fails
    /// with [`AuthError::Throttled`] if it goes past the allowance (a
    /// refused attempt stays counted; the window does not move). Passes
    /// with `None` when the scope is off or there is no subject (an
    /// unknown client address).
    pub async fn reserve(
        &self,
        scope: Scope,
        subject: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Reservation>, AuthError> {
        let (Some(rate), Some(subject)) = (self.config.rate(scope), subject) else {
            return Ok(None);
        };
        let key = Self::key(scope, subject);
        let count = self.store.throttle_hit(&key, rate.period, now).await?;
        if count.count > rate.count {
            crate::metrics::throttled(scope.as_str());
            return Err(throttled(count.resets_at, now));
        }
        Ok(Some(Reservation {
            key,
            resets_at: count.resets_at,
        }))
    }

    /// Gives back an attempt [`reserve`](Self::reserve) counted (if its
    /// window is still open).
    pub async fn release(
        &self,
        reservation: Option<Reservation>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        if let Some(Reservation { key, resets_at }) = reservation {
            self.store.throttle_release(&key, resets_at, now).await?;
        }
        Ok(())
    }

    /// [`reserve`](Self::reserve), for limits that count every request.
    pub async fn hit(
        &self,
        scope: Scope,
        subject: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        self.reserve(scope, subject, now).await.map(drop)
    }

    /// Forgets `subject`'s attempts in `scope` (after a successful login).
    pub async fn clear(&self, scope: Scope, subject: Option<&str>) -> Result<(), AuthError> {
        if let (Some(_), Some(subject)) = (self.config.rate(scope), subject) {
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
        assert_eq!(config.rate(Scope::LoginAccount), None);
        assert_eq!(config.rate(Scope::LoginIp), None);
        assert_eq!(config.rate(Scope::RegisterIp), Some(Rate::per_hour(10)));
        let config = ThrottleConfig::default()
            .with_login_rates("3/min,10/hour")
            .unwrap();
        assert_eq!(config.rate(Scope::LoginAccount), Some(Rate::per_minute(3)));
        assert_eq!(config.rate(Scope::LoginIp), Some(Rate::per_hour(10)));
    }

    #[test]
    fn scopes_have_stable_names_and_defaults() {
        let names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "login_account",
                "login_ip",
                "register_ip",
                "reset_email",
                "activation_email",
                "email_ip"
            ]
        );
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
            assert_eq!(
                ThrottleConfig::default().rate(scope),
                Some(scope.default_rate())
            );
            assert_eq!(ThrottleConfig::disabled().rate(scope), None);
        }
        assert!(ThrottleConfig::disabled().is_disabled());
        assert!(!ThrottleConfig::default().is_disabled());
        let debug = format!(
            "{:?}",
            ThrottleConfig::default().with_rate(Scope::EmailIp, None)
        );
        assert!(debug.contains(r#""register_ip": 10/3600s"#), "{debug}");
        assert!(debug.contains(r#""email_ip": off"#), "{debug}");
    }

    #[test]
    fn rate_specs_name_what_is_wrong() {
        let config = ThrottleConfig::default()
            .with_rates(" login_ip = 100/hour ,register_ip=off,")
            .unwrap();
        assert_eq!(config.rate(Scope::LoginIp), Some(Rate::per_hour(100)));
        assert_eq!(config.rate(Scope::RegisterIp), None);
        assert_eq!(config.rate(Scope::LoginAccount), Some(Rate::per_minute(5)));
        assert_eq!(
            ThrottleConfig::default().with_rates("").unwrap(),
            ThrottleConfig::default()
        );
        let unknown = ThrottleConfig::default()
            .with_rates("confirm_ip=30/min")
            .unwrap_err();
        assert_eq!(
            unknown,
            ThrottleSpecError::UnknownScope("confirm_ip".into())
        );
        assert!(unknown.to_string().contains("login_account"), "{unknown}");
        let bad = ThrottleConfig::default()
            .with_rates("login_ip=lots")
            .unwrap_err();
        assert!(matches!(
            bad,
            ThrottleSpecError::Rate {
                scope: Scope::LoginIp,
                ..
            }
        ));
        assert!(bad.to_string().contains("login_ip"), "{bad}");
        assert!(matches!(
            ThrottleConfig::default().with_rates("login_ip"),
            Err(ThrottleSpecError::Malformed(_))
        ));
    }

    #[test]
    fn ipv6_addresses_share_a_key_per_64() {
        let key = |ip| Throttle::key(Scope::LoginIp, ip);
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:DB8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("203.0.113.9"), key("203.0.113.10"));
        assert_eq!(key("::ffff:203.0.113.9"), key("203.0.113.9"));
        assert_eq!(
            Throttle::key(Scope::EmailIp, "2001:db8::1"),
            Throttle::key(Scope::EmailIp, "2001:db8::2")
        );
        assert_eq!(
            Throttle::key(Scope::RegisterIp, "2001:db8::1"),
            Throttle::key(Scope::RegisterIp, "2001:db8::2")
        );
        // Not per address: the subject as typed.
        assert_ne!(
            Throttle::key(Scope::LoginAccount, "2001:db8::1"),
            Throttle::key(Scope::LoginAccount, "2001:db8::2")
        );
        assert_eq!(address_bucket("not an address"), "not an address");
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
