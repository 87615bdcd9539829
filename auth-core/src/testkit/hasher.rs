//! [`HeldHasher`]: a hasher whose verifications a test can hold, to pause
//! a login between reading its user and issuing its token, or to keep the
//! hashing threads busy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::password::{PasswordError, PasswordHasher, Verification};

/// Wraps a hasher and holds its next `hold` verifications (hashes are
/// never held) until [`release`](Self::release): each held call blocks the
/// hashing thread running it.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::password::{Argon2Params, Argon2idHasher, Passwords};
/// use auth_core::testkit::HeldHasher;
/// # #[tokio::main]
/// # async fn main() {
/// let hasher = Arc::new(HeldHasher::new(
///     Argon2idHasher::new(Argon2Params::new(64, 1, 1).unwrap()).unwrap(),
///     1,
/// ));
/// let passwords = Passwords::from_arc(hasher.clone());
/// let held = tokio::spawn({
///     let passwords = passwords.clone();
///     async move { passwords.verify_dummy("pw".into()).await }
/// });
/// hasher.until_held(1).await;
/// hasher.release();
/// held.await.unwrap().unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct HeldHasher<H> {
    hasher: H,
    to_hold: AtomicUsize,
    held: AtomicUsize,
    open: Mutex<bool>,
    opened: Condvar,
}

impl<H: PasswordHasher> HeldHasher<H> {
    /// `hasher`, with its next `hold` verifications held.
    pub fn new(hasher: H, hold: usize) -> Self {
        Self {
            hasher,
            to_hold: AtomicUsize::new(hold),
            held: AtomicUsize::new(0),
            open: Mutex::new(false),
            opened: Condvar::new(),
        }
    }

    /// Holds `n` more of the coming verifications.
    pub fn hold(&self, n: usize) {
        self.to_hold.fetch_add(n, Ordering::SeqCst);
    }

    /// How many verifications have been held so far.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// Waits until `n` verifications have been held; panics after 30 s.
    pub async fn until_held(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.held() < n {
            assert!(
                Instant::now() < deadline,
                "{n} verifications were never held ({} were)",
                self.held()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Lets every held verification, and every later one, go on.
    pub fn release(&self) {
        *self.open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.opened.notify_all();
    }
}

impl<H: PasswordHasher> PasswordHasher for HeldHasher<H> {
    fn hash(&self, password: &str) -> Result<String, PasswordError> {
        self.hasher.hash(password)
    }

    fn verify(&self, password: &str, encoded: &str) -> Verification {
        let hold = self
            .to_hold
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if hold {
            self.held.fetch_add(1, Ordering::SeqCst);
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            while !*open {
                open = self
                    .opened
                    .wait(open)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        self.hasher.verify(password, encoded)
    }

    fn dummy_hash(&self) -> &str {
        self.hasher.dummy_hash()
    }
}
