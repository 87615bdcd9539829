//! [`Passwords`]: a hasher run on tokio's blocking pool behind a semaphore.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;

use super::{Argon2idHasher, PasswordError, PasswordHasher, Verification};

/// Runs a [`PasswordHasher`] off the async runtime.
///
/// Each hash or verification takes a permit from a semaphore sized to the
/// machine's cores ([`std::thread::available_parallelism`], or what
/// [`Passwords::with_max_concurrency`] says) and runs on
/// [`tokio::task::spawn_blocking`]. A login storm therefore queues for the
/// permits instead of stalling the runtime's workers or starting a blocking
/// thread (and allocating Argon2's memory) per request. The permit moves into
/// the blocking task, so a caller that gives up waiting does not free it
/// before the work is done.
///
/// Cloning is cheap and clones share the semaphore and the counter.
///
/// ```
/// use auth_core::password::{Argon2Params, Argon2idHasher, Passwords};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::password::PasswordError> {
/// let passwords = Passwords::new(Argon2idHasher::new(Argon2Params::new(64, 1, 1)?)?);
/// let encoded = passwords.hash("hunter2 hunter2".to_string()).await?;
/// assert!(passwords.verify("hunter2 hunter2".into(), encoded).await.ok);
/// // An unknown user: the same work, and nothing to compare.
/// passwords.verify_dummy("hunter2 hunter2".into()).await;
/// assert_eq!(passwords.verifications(), 2);
/// # Ok(())
/// # }
/// ```
///
/// Outside a tokio runtime the work runs inline on the calling thread.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    hasher: Arc<dyn PasswordHasher>,
    permits: Arc<Semaphore>,
    max_concurrency: usize,
    verifications: AtomicU64,
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("hasher", &self.inner.hasher)
            .field("max_concurrency", &self.inner.max_concurrency)
            .field("available", &self.inner.permits.available_permits())
            .field("verifications", &self.verifications())
            .finish()
    }
}

impl Default for Passwords {
    /// An [`Argon2idHasher`] with OWASP's parameters, one permit per core.
    fn default() -> Self {
        Self::new(Argon2idHasher::default())
    }
}

impl Passwords {
    /// Runs `hasher` with as many hashes at once as the machine has cores
    /// (1 if that cannot be told).
    pub fn new(hasher: impl PasswordHasher) -> Self {
        Self::from_arc(Arc::new(hasher))
    }

    /// Like [`Passwords::new`], for a hasher already behind an `Arc`.
    pub fn from_arc(hasher: Arc<dyn PasswordHasher>) -> Self {
        let cores = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
        Self::with_max_concurrency(hasher, cores)
    }

    /// Runs `hasher` with at most `max` hashes or verifications at once.
    pub fn with_max_concurrency(hasher: Arc<dyn PasswordHasher>, max: NonZeroUsize) -> Self {
        // Tokio's semaphore holds at most `Semaphore::MAX_PERMITS`.
        let max = max.get().min(Semaphore::MAX_PERMITS);
        Self {
            inner: Arc::new(Inner {
                hasher,
                permits: Arc::new(Semaphore::new(max)),
                max_concurrency: max,
                verifications: AtomicU64::new(0),
            }),
        }
    }

    /// The hasher, for calls that do not need the pool.
    pub fn hasher(&self) -> &Arc<dyn PasswordHasher> {
        &self.inner.hasher
    }

    /// How many hashes or verifications may run at once.
    pub fn max_concurrency(&self) -> usize {
        self.inner.max_concurrency
    }

    /// How many verifications (including [`verify_dummy`](Self::verify_dummy)
    /// ones) have run since this pool was made, across all clones.
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    /// Hashes `password` for storage.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let hasher = Arc::clone(&self.inner.hasher);
        self.run(move || hasher.hash(&password))
            .await
            .and_then(|result| result)
    }

    /// Checks `password` against a stored hash; counts one verification.
    /// A failure of the pool itself reads as a failed verification.
    pub async fn verify(&self, password: String, encoded: String) -> Verification {
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            inner.verifications.fetch_add(1, Ordering::Relaxed);
            inner.hasher.verify(&password, &encoded)
        })
        .await
        .unwrap_or(Verification::FAILED)
    }

    /// Does the work of a verification against the hasher's
    /// [`dummy_hash`](PasswordHasher::dummy_hash), for a login naming an
    /// unknown (or inactive) user; counts one verification. The outcome is
    /// thrown away: the caller fails the login whatever it is.
    pub async fn verify_dummy(&self, password: String) {
        let inner = Arc::clone(&self.inner);
        let _ = self
            .run(move || {
                inner.verifications.fetch_add(1, Ordering::Relaxed);
                let outcome = inner.hasher.verify(&password, inner.hasher.dummy_hash());
                let _ = std::hint::black_box(outcome);
            })
            .await;
    }

    /// Computes the hasher's [`dummy_hash`](PasswordHasher::dummy_hash) now,
    /// on the blocking pool, so the first login naming an unknown user does
    /// not also pay for making it. Optional; call it once at start-up.
    pub async fn warm_up(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = self
            .run(move || {
                let _ = inner.hasher.dummy_hash();
            })
            .await;
    }

    /// Runs `work` on the blocking pool while holding a permit.
    async fn run<T, F>(&self, work: F) -> Result<T, PasswordError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return Ok(work());
        };
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|err| PasswordError::Task(Box::new(err)))?;
        handle
            .spawn_blocking(move || {
                let _permit = permit;
                work()
            })
            .await
            .map_err(|err| PasswordError::Task(Box::new(err)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::Argon2Params;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn fast() -> Passwords {
        Passwords::new(Argon2idHasher::new(Argon2Params::new(64, 1, 1).unwrap()).unwrap())
    }

    #[tokio::test]
    async fn counts_every_verification_exactly() {
        let passwords = fast();
        assert_eq!(passwords.verifications(), 0);
        let encoded = passwords.hash("pw".into()).await.unwrap();
        assert_eq!(
            passwords.verifications(),
            0,
            "hashing is not a verification"
        );
        assert!(passwords.verify("pw".into(), encoded.clone()).await.ok);
        assert_eq!(passwords.verifications(), 1);
        assert!(!passwords.verify("px".into(), encoded).await.ok);
        assert!(!passwords.verify("pw".into(), "garbage".into()).await.ok);
        assert_eq!(passwords.verifications(), 3);
        passwords.verify_dummy("pw".into()).await;
        assert_eq!(passwords.verifications(), 4);
        let clone = passwords.clone();
        clone.verify_dummy(String::new()).await;
        assert_eq!(passwords.verifications(), 5);
    }

    #[tokio::test]
    async fn warm_up_makes_the_dummy_hash_and_counts_nothing() {
        let passwords = fast();
        passwords.warm_up().await;
        assert_eq!(passwords.verifications(), 0);
        let dummy = passwords.hasher().dummy_hash();
        assert!(dummy.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_verifications_are_all_counted() {
        let passwords = fast();
        let encoded = passwords.hash("pw".into()).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let passwords = passwords.clone();
            let encoded = encoded.clone();
            tasks.spawn(async move {
                if i % 2 == 0 {
                    passwords.verify("pw".into(), encoded).await.ok
                } else {
                    passwords.verify_dummy("pw".into()).await;
                    true
                }
            });
        }
        while let Some(ok) = tasks.join_next().await {
            assert!(ok.unwrap());
        }
        assert_eq!(passwords.verifications(), 40);
    }

    /// A hasher that records how many calls run at once.
    #[derive(Debug, Default)]
    struct Slow {
        running: AtomicUsize,
        most: AtomicUsize,
    }

    impl PasswordHasher for Slow {
        fn hash(&self, password: &str) -> Result<String, PasswordError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(format!("slow${password}"))
        }
        fn verify(&self, password: &str, encoded: &str) -> Verification {
            match self.hash(password) {
                Ok(hash) if hash == encoded => Verification::matched(false),
                _ => Verification::FAILED,
            }
        }
        fn dummy_hash(&self) -> &str {
            "slow$dummy"
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_semaphore_bounds_concurrent_work() {
        let hasher = Arc::new(Slow::default());
        let passwords = Passwords::with_max_concurrency(
            Arc::clone(&hasher) as Arc<dyn PasswordHasher>,
            NonZeroUsize::new(2).unwrap(),
        );
        assert_eq!(passwords.max_concurrency(), 2);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..10 {
            let passwords = passwords.clone();
            tasks.spawn(async move { passwords.hash(format!("pw{i}")).await });
        }
        while let Some(hash) = tasks.join_next().await {
            assert!(hash.unwrap().unwrap().starts_with("slow$pw"));
        }
        assert_eq!(hasher.most.load(Ordering::SeqCst), 2);
        assert!(passwords.verify("x".into(), "slow$x".into()).await.ok);
    }

    #[test]
    fn works_outside_a_runtime() {
        let passwords = fast();
        let encoded = block_on(passwords.hash("pw".into())).unwrap();
        assert!(block_on(passwords.verify("pw".into(), encoded)).ok);
        assert_eq!(passwords.verifications(), 1);
    }

    /// Polls a future to completion on this thread, with no runtime.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }

    #[test]
    fn debug_shows_no_secrets() {
        let passwords = fast();
        let dummy = passwords.hasher().dummy_hash().to_string();
        let debug = format!("{passwords:?}");
        assert!(debug.contains("max_concurrency"));
        assert!(!debug.contains(&dummy[30..]));
    }
}
