//! Time, as the service sees it. Every expiry goes through a [`Clock`], so
//! tests move time forward instead of sleeping.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// A source of the current time.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time. [`Auth`](crate::Auth) truncates it to whole
    /// microseconds, the precision every store keeps.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use auth_core::{Clock, ManualClock};
/// use chrono::Duration;
/// let clock = ManualClock::at_unix(1_700_000_000);
/// let other = clock.clone();
/// clock.advance(Duration::seconds(5));
/// assert_eq!(other.now().timestamp(), 1_700_000_005);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// A clock stopped at a Unix timestamp in seconds.
    ///
    /// # Panics
    /// If `secs` is out of chrono's range (about ±262,000 years).
    pub fn at_unix(secs: i64) -> Self {
        Self::new(DateTime::from_timestamp(secs, 0).expect("timestamp in range"))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `clock.now()` truncated to microseconds.
pub(crate) fn now_micros(clock: &dyn Clock) -> DateTime<Utc> {
    clock.now().trunc_subsecs(6)
}
