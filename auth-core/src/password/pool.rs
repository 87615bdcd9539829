//! [`Passwords`]: a hasher run on a few threads of its own, at the lowest
//! priority, off the async runtime.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{Argon2idHasher, PasswordError, PasswordHasher, Verification};

/// Runs a [`PasswordHasher`] off the async runtime.
///
/// Hashes and verifications run on threads of the pool's own, as many as
/// the machine has cores ([`std::thread::available_parallelism`], or what
/// [`Passwords::with_max_concurrency`] says), started on first use. Work
/// beyond that waits in a queue, so a login storm neither stalls the
/// runtime's workers nor starts a thread (and allocates Argon2's memory)
/// per request.
///
/// The threads run at the lowest priority of the normal scheduler (nice
/// 19 on Unix): when a login storm keeps every core hashing, a runtime
/// thread waking for a request preempts a hashing thread at once and, while
/// both want the core, gets about 98 % of it (on Linux a nice-19 thread
/// weighs 15 against the default 1024), so authenticated requests keep
/// their latency while logins queue. With no other work the threads have
/// every core to themselves and hash at full speed. (On tokio's blocking
/// pool the same storm would compete with the runtime as an equal; and
/// lowering the priority of a shared blocking thread could not be undone
/// without privileges.)
///
/// Linux's `SCHED_IDLE` policy ranks lower still, but it delayed requests
/// more: on the project's benchmark machine (Linux 6.18), `/me` requests
/// arriving during a login storm took 2.5 to 3 ms at the 99th percentile
/// beside `SCHED_IDLE` hashing threads, against 0.55 to 1.15 ms beside
/// nice-19 ones (see BENCHMARKS.md).
///
/// The lowest priority is lowest among the threads of one scheduling
/// group. Linux puts every session in a group of its own when autogroup is
/// on (`/proc/sys/kernel/sched_autogroup_enabled`, on by default in many
/// distributions' kernels), and every cgroup that has the cpu controller is
/// one too; the scheduler shares a core between groups first. So a
/// database server on the same machine, started in a session or a cgroup of
/// its own, competes with a hashing thread as an equal, and a storm of
/// logins slows its queries (and the requests waiting for them). Keep the
/// database on another machine, in the service's own group, or turn
/// autogroup off, where that matters.
///
/// Even at the lowest priority, a hash on every core slows requests that
/// arrive meanwhile (on a shared or virtual machine the cores' caches,
/// memory bandwidth and the host's own scheduling are shared too). So while
/// the service is serving requests that need no hash
/// ([`Passwords::note_request`] within the last 50 ms), one thread stands
/// aside ([`Passwords::with_reserve`]): a login storm beside other traffic
/// hashes on all cores but one, and on every core when logins are all
/// there is.
///
/// Work whose caller has gone (a client that hung up while its login
/// waited) is dropped from the queue without being run.
///
/// The queue is bounded ([`Passwords::with_queue_limit`]; by default
/// [`QUEUE_PER_THREAD`] waiting per thread, so its size follows the
/// cores): a hash or verification that finds it full fails at once with
/// [`PasswordError::Busy`] (the service's
/// [`AuthError::Overloaded`](crate::AuthError::Overloaded), retry later),
/// instead of waiting behind a flood of logins. Requests
/// that hash nothing never wait for the queue.
///
/// Cloning is cheap and clones share the threads and the counter; the
/// threads end when the last clone is dropped and the queue is empty.
///
/// ```
/// use auth_core::password::{Argon2Params, Argon2idHasher, Passwords};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::password::PasswordError> {
/// let passwords = Passwords::new(Argon2idHasher::new(Argon2Params::new(64, 1, 1)?)?);
/// let encoded = passwords.hash("hunter2 hunter2".to_string()).await?;
/// assert!(passwords.verify("hunter2 hunter2".into(), encoded).await?.ok);
/// // An unknown user: the same work, and nothing to compare.
/// passwords.verify_dummy("hunter2 hunter2".into()).await?;
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
    threads: Threads,
    verifications: AtomicU64,
    /// How many jobs are queued or running.
    pending: Arc<AtomicUsize>,
    /// How many may wait beyond one per thread: a job beyond fails with
    /// [`PasswordError::Busy`].
    queue_limit: AtomicUsize,
}

/// How many hashes or verifications may wait per hashing thread, by
/// default: at OWASP's Argon2id parameters (some 20 to 50 ms a hash on
/// one core) a full queue is about a second of work.
pub const QUEUE_PER_THREAD: usize = 32;

/// Counts a job as pending until it has run or is dropped unrun.
struct Pending(Arc<AtomicUsize>);

impl Pending {
    /// Counts one more pending job, unless `limit` already are.
    fn enter(pending: &Arc<AtomicUsize>, limit: usize) -> Option<Self> {
        pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|before| {
                crate::metrics::hashing_queue_depth(before + 1);
                Self(Arc::clone(pending))
            })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let before = self.0.fetch_sub(1, Ordering::AcqRel);
        crate::metrics::hashing_queue_depth(before.saturating_sub(1));
    }
}

/// How long after the last [`Passwords::note_request`] the reserve holds.
const BUSY_WINDOW: Duration = Duration::from_millis(50);

/// How many of `count` threads may hash while requests are being served
/// when `reserve` stand aside: at least one.
fn busy_limit(count: usize, reserve: usize) -> usize {
    count.saturating_sub(reserve).max(1)
}

/// Admission to hashing: how many threads hash now, and how many may while
/// other requests are being served.
struct Admission {
    /// When the pool was made: request times count from here.
    epoch: Instant,
    /// How long after the last noted request the reserve holds.
    window: Duration,
    /// Milliseconds from `epoch` to the last noted request, plus one (0:
    /// none yet).
    last_request: AtomicU64,
    /// How many threads may hash at once while requests are being served
    /// (at least 1: see [`busy_limit`]).
    busy_limit: AtomicUsize,
    /// How many threads hash now.
    running: Mutex<usize>,
    /// Signalled when a thread stops hashing, or requests stop.
    changed: Condvar,
}

impl Admission {
    fn new(busy_limit: usize) -> Self {
        Self {
            epoch: Instant::now(),
            window: BUSY_WINDOW,
            last_request: AtomicU64::new(0),
            busy_limit: AtomicUsize::new(busy_limit),
            running: Mutex::new(0),
            changed: Condvar::new(),
        }
    }

    fn now_millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    fn note_request(&self) {
        let now = self.now_millis();
        // One store a millisecond at most: the line stays shared between
        // the runtime's threads instead of bouncing between them.
        if self.last_request.load(Ordering::Relaxed) != now {
            self.last_request.store(now, Ordering::Relaxed);
        }
    }

    /// How much longer the last noted request keeps the reserve, if it
    /// still does.
    fn busy_for(&self) -> Option<Duration> {
        let last = self.last_request.load(Ordering::Relaxed);
        if last == 0 {
            return None;
        }
        let window = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        let until = last.saturating_add(window);
        let now = self.now_millis();
        (now < until).then(|| Duration::from_millis(until - now))
    }

    /// Waits until this thread may hash, and counts it in.
    fn enter(&self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let wait = match self.busy_for() {
                Some(left) => {
                    let limit = self.busy_limit.load(Ordering::Relaxed);
                    (*running >= limit).then_some(left)
                }
                None => None,
            };
            let Some(wait) = wait else {
                *running += 1;
                return;
            };
            running = self
                .changed
                .wait_timeout(running, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Counts this thread out and lets a waiting one check again.
    fn leave(&self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        drop(running);
        self.changed.notify_one();
    }
}

/// A unit of work for the pool's threads.
type Job = Box<dyn FnOnce() + Send>;

/// The pool's threads, started on first use: a queue they all take from.
struct Threads {
    count: usize,
    /// `None` until the threads are started.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    admission: Arc<Admission>,
}

impl Threads {
    /// The queue, starting the threads if they are not running yet. Fails
    /// only when not one thread can be started.
    fn queue(&self) -> Result<mpsc::Sender<Job>, PasswordError> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = queue.as_ref() {
            return Ok(sender.clone());
        }
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        let mut failure = None;
        for i in 0..self.count {
            let receiver = Arc::clone(&receiver);
            let admission = Arc::clone(&self.admission);
            let spawned = std::thread::Builder::new()
                .name(format!("auth-hash-{i}"))
                .spawn(move || work_through(&receiver, &admission));
            match spawned {
                Ok(_) => started += 1,
                Err(err) => failure = Some(err),
            }
        }
        if started == 0 {
            let err = failure.unwrap_or_else(|| std::io::Error::other("no threads"));
            return Err(PasswordError::Task(Box::new(err)));
        }
        *queue = Some(sender.clone());
        Ok(sender)
    }
}

/// A pool thread: lowest priority, then jobs until the queue is closed,
/// each once admitted.
fn work_through(jobs: &Mutex<mpsc::Receiver<Job>>, admission: &Admission) {
    lower_this_threads_priority();
    loop {
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            // A panicking hasher fails its caller (the reply is dropped),
            // not the thread.
            Ok(job) => {
                admission.enter();
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                admission.leave();
            }
            Err(mpsc::RecvError) => return,
        }
    }
}

/// Gives the calling thread the lowest priority of the normal scheduler
/// (nice 19 on Unix; see [`Passwords`] for why not `SCHED_IDLE`). Lowering
/// a thread's own priority needs no privilege.
fn lower_this_threads_priority() {
    use thread_priority::ThreadPriority;
    if let Err(err) = thread_priority::set_current_thread_priority(ThreadPriority::Min) {
        tracing::debug!(
            ?err,
            "could not lower the priority of a password hashing thread"
        );
    }
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("hasher", &self.inner.hasher)
            .field("max_concurrency", &self.inner.threads.count)
            .field("reserve", &self.reserve())
            .field("queue_limit", &self.queue_limit())
            .field("verifications", &self.verifications())
            .finish()
    }
}

impl Default for Passwords {
    /// An [`Argon2idHasher`] with OWASP's parameters, one thread per core.
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

    /// Runs `hasher` on `max` threads: at most `max` hashes or
    /// verifications at once, one fewer while requests are being served
    /// (the default reserve of one thread, when `max` is at least 2; see
    /// [`Passwords::with_reserve`]), with up to [`QUEUE_PER_THREAD`] times
    /// `max` waiting (see [`Passwords::with_queue_limit`]).
    pub fn with_max_concurrency(hasher: Arc<dyn PasswordHasher>, max: NonZeroUsize) -> Self {
        let count = max.get();
        Self {
            inner: Arc::new(Inner {
                hasher,
                threads: Threads {
                    count,
                    queue: Mutex::new(None),
                    admission: Arc::new(Admission::new(busy_limit(count, 1))),
                },
                verifications: AtomicU64::new(0),
                pending: Arc::new(AtomicUsize::new(0)),
                queue_limit: AtomicUsize::new(count.saturating_mul(QUEUE_PER_THREAD)),
            }),
        }
    }

    /// Lets at most `limit` hashes or verifications wait for a thread
    /// beyond one per thread; one that finds the pool that full (threads
    /// plus `limit` queued or running) fails at once with
    /// [`PasswordError::Busy`]. 0 lets none wait: work is taken only while
    /// a thread is free for it. Applies to every clone.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use auth_core::password::{Argon2idHasher, Passwords, QUEUE_PER_THREAD};
    /// let four = NonZeroUsize::new(4).unwrap();
    /// let passwords = Passwords::with_max_concurrency(Arc::new(Argon2idHasher::default()), four);
    /// assert_eq!(passwords.queue_limit(), 4 * QUEUE_PER_THREAD);
    /// assert_eq!(passwords.with_queue_limit(10).queue_limit(), 10);
    /// ```
    #[must_use]
    pub fn with_queue_limit(self, limit: usize) -> Self {
        self.inner.queue_limit.store(limit, Ordering::Relaxed);
        self
    }

    /// How many hashes or verifications may wait for a thread.
    pub fn queue_limit(&self) -> usize {
        self.inner.queue_limit.load(Ordering::Relaxed)
    }

    /// How many hashes or verifications are queued or running now.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::Acquire)
    }

    /// Keeps `reserve` threads from hashing while requests that need no
    /// hash are being served (within 50 ms of a
    /// [`note_request`](Self::note_request)); at least one thread always
    /// hashes. 0 lets every thread hash whatever else is going on. Applies
    /// to every clone.
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use auth_core::password::{Argon2idHasher, Passwords};
    /// let four = NonZeroUsize::new(4).unwrap();
    /// let passwords = Passwords::with_max_concurrency(Arc::new(Argon2idHasher::default()), four);
    /// assert_eq!(passwords.reserve(), 1);
    /// let passwords = passwords.with_reserve(2);
    /// assert_eq!(passwords.reserve(), 2);
    /// assert_eq!(passwords.with_reserve(9).reserve(), 3, "one thread always hashes");
    /// ```
    #[must_use]
    pub fn with_reserve(self, reserve: usize) -> Self {
        let limit = busy_limit(self.inner.threads.count, reserve);
        let admission = &self.inner.threads.admission;
        admission.busy_limit.store(limit, Ordering::Relaxed);
        admission.changed.notify_all();
        self
    }

    /// How many threads stand aside while requests are being served.
    pub fn reserve(&self) -> usize {
        let limit = self
            .inner
            .threads
            .admission
            .busy_limit
            .load(Ordering::Relaxed);
        self.inner.threads.count.saturating_sub(limit)
    }

    /// Tells the pool a request that needs no hash is being served, so the
    /// [reserve](Self::with_reserve) holds for the next 50 ms. Cheap (a
    /// clock read and, at most once a millisecond, an atomic store);
    /// [`Auth::authenticate_header`](crate::Auth::authenticate_header)
    /// calls it for every request that presents credentials.
    pub fn note_request(&self) {
        self.inner.threads.admission.note_request();
    }

    /// Whether a request was noted within the last 50 ms (so the reserve
    /// holds now).
    pub fn serving_requests(&self) -> bool {
        self.inner.threads.admission.busy_for().is_some()
    }

    /// The hasher, for calls that do not need the pool.
    pub fn hasher(&self) -> &Arc<dyn PasswordHasher> {
        &self.inner.hasher
    }

    /// How many hashes or verifications may run at once.
    pub fn max_concurrency(&self) -> usize {
        self.inner.threads.count
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
    /// Fails only when the pool does: its queue is full
    /// ([`PasswordError::Busy`]) or its work was lost
    /// ([`PasswordError::Task`]).
    pub async fn verify(
        &self,
        password: String,
        encoded: String,
    ) -> Result<Verification, PasswordError> {
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            inner.verifications.fetch_add(1, Ordering::Relaxed);
            inner.hasher.verify(&password, &encoded)
        })
        .await
    }

    /// Does the work of a verification against the hasher's
    /// [`dummy_hash`](PasswordHasher::dummy_hash), for a login naming an
    /// unknown (or inactive) user; counts one verification. The outcome is
    /// thrown away: the caller fails the login whatever it is. Fails as
    /// [`verify`](Self::verify) does.
    pub async fn verify_dummy(&self, password: String) -> Result<(), PasswordError> {
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            inner.verifications.fetch_add(1, Ordering::Relaxed);
            let outcome = inner.hasher.verify(&password, inner.hasher.dummy_hash());
            let _ = std::hint::black_box(outcome);
        })
        .await
    }

    /// Computes the hasher's [`dummy_hash`](PasswordHasher::dummy_hash) now,
    /// on the pool, so the first login naming an unknown user does
    /// not also pay for making it. Optional; call it once at start-up.
    pub async fn warm_up(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = self
            .run(move || {
                let _ = inner.hasher.dummy_hash();
            })
            .await;
    }

    /// Runs `work` on the pool's threads and waits for it, or fails at
    /// once with [`PasswordError::Busy`] when the queue is full.
    async fn run<T, F>(&self, work: F) -> Result<T, PasswordError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(work());
        }
        let limit = self.queue_limit().saturating_add(self.inner.threads.count);
        let pending = Pending::enter(&self.inner.pending, limit).ok_or(PasswordError::Busy)?;
        let (reply, outcome) = oneshot::channel();
        #[cfg(feature = "metrics")]
        let queued = Instant::now();
        let job: Job = Box::new(move || {
            #[cfg(feature = "metrics")]
            crate::metrics::hashing_wait(queued.elapsed());
            // Nobody is waiting any more: skip the work.
            if !reply.is_closed() {
                let result = work();
                // Done before the answer is out: the caller's next job
                // never finds this one still counted.
                drop(pending);
                let _ = reply.send(result);
            }
        });
        self.inner
            .threads
            .queue()?
            .send(job)
            .map_err(|_| PasswordError::Task("the hashing threads have stopped".into()))?;
        outcome
            .await
            .map_err(|_| PasswordError::Task("a hashing thread dropped its work".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::Argon2Params;
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
        assert!(
            passwords
                .verify("pw".into(), encoded.clone())
                .await
                .unwrap()
                .ok
        );
        assert_eq!(passwords.verifications(), 1);
        assert!(!passwords.verify("px".into(), encoded).await.unwrap().ok);
        assert!(
            !passwords
                .verify("pw".into(), "garbage".into())
                .await
                .unwrap()
                .ok
        );
        assert_eq!(passwords.verifications(), 3);
        passwords.verify_dummy("pw".into()).await.unwrap();
        assert_eq!(passwords.verifications(), 4);
        let clone = passwords.clone();
        clone.verify_dummy(String::new()).await.unwrap();
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
                    passwords.verify("pw".into(), encoded).await.unwrap().ok
                } else {
                    passwords.verify_dummy("pw".into()).await.unwrap();
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
    async fn at_most_max_concurrency_run_at_once() {
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
        assert!(
            passwords
                .verify("x".into(), "slow$x".into())
                .await
                .unwrap()
                .ok
        );
    }

    /// A hasher that reports the scheduling policy and nice value of the
    /// thread it runs on, or panics on the password "panic".
    #[cfg(target_os = "linux")]
    #[derive(Debug)]
    struct Policy;

    #[cfg(target_os = "linux")]
    impl PasswordHasher for Policy {
        fn hash(&self, password: &str) -> Result<String, PasswordError> {
            assert_ne!(password, "panic", "the hasher panics");
            let policy = thread_priority::unix::thread_schedule_policy().expect("the policy");
            // Field 19 of the thread's stat line, the 17th after the
            // command name's closing parenthesis.
            let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
            let after_name = stat.rsplit_once(')').expect("a stat line").1;
            let nice = after_name
                .split_whitespace()
                .nth(16)
                .expect("the nice field");
            Ok(format!("{policy:?} nice {nice}"))
        }
        fn verify(&self, _: &str, _: &str) -> Verification {
            Verification::FAILED
        }
        fn dummy_hash(&self) -> &str {
            "policy$dummy"
        }
    }

    /// What [`Policy`] answers on a pool thread.
    #[cfg(target_os = "linux")]
    const LOWEST: &str = "Normal(Other) nice 19";

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_threads_run_at_the_lowest_priority() {
        let passwords = Passwords::new(Policy);
        for _ in 0..4 {
            assert_eq!(passwords.hash(String::new()).await.unwrap(), LOWEST);
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_hasher_fails_its_caller_and_keeps_the_thread() {
        let passwords = Passwords::with_max_concurrency(Arc::new(Policy), NonZeroUsize::MIN);
        for _ in 0..3 {
            assert!(matches!(
                passwords.hash("panic".into()).await,
                Err(PasswordError::Task(_))
            ));
            assert_eq!(passwords.hash(String::new()).await.unwrap(), LOWEST);
        }
    }

    /// A hasher whose every hash waits until the test opens the gate,
    /// counting its calls and how many wait at once.
    #[derive(Debug, Default)]
    struct Held {
        calls: AtomicUsize,
        running: AtomicUsize,
        open: Mutex<bool>,
        opened: Condvar,
    }

    impl Held {
        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }

        /// Waits (up to 10 s) until `n` hashes are running.
        async fn until_running(&self, n: usize) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.running.load(Ordering::SeqCst) != n {
                assert!(
                    Instant::now() < deadline,
                    "{n} hashes never ran at once ({} do)",
                    self.running.load(Ordering::SeqCst)
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }

    impl PasswordHasher for Held {
        fn hash(&self, password: &str) -> Result<String, PasswordError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.running.fetch_add(1, Ordering::SeqCst);
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            drop(open);
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(format!("held${password}"))
        }
        fn verify(&self, _: &str, _: &str) -> Verification {
            Verification::FAILED
        }
        fn dummy_hash(&self) -> &str {
            "held$dummy"
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_whose_caller_gave_up_is_not_run() {
        let hasher = Arc::new(Held::default());
        let passwords = Passwords::with_max_concurrency(
            Arc::clone(&hasher) as Arc<dyn PasswordHasher>,
            NonZeroUsize::MIN,
        );
        let busy = tokio::spawn({
            let passwords = passwords.clone();
            async move { passwords.hash("first".into()).await }
        });
        hasher.until_running(1).await;
        // Queued behind "first" on the one thread, then abandoned.
        let abandoned = tokio::time::timeout(
            Duration::from_millis(10),
            passwords.hash("abandoned".into()),
        )
        .await;
        assert!(abandoned.is_err(), "the one thread is busy with \"first\"");
        hasher.open();
        assert_eq!(busy.await.unwrap().unwrap(), "held$first");
        assert_eq!(passwords.hash("last".into()).await.unwrap(), "held$last");
        assert_eq!(
            hasher.calls.load(Ordering::SeqCst),
            2,
            "\"first\" and \"last\" ran; the abandoned hash did not"
        );
    }

    /// Two threads over [`Held`], with a reserve window long enough that
    /// no scheduling delay of the test's can end it by itself.
    fn two_held_threads() -> (Arc<Held>, Passwords) {
        let hasher = Arc::new(Held::default());
        let passwords = Passwords::with_max_concurrency(
            Arc::clone(&hasher) as Arc<dyn PasswordHasher>,
            NonZeroUsize::new(2).unwrap(),
        );
        let mut inner = Arc::try_unwrap(passwords.inner).ok().unwrap();
        let admission = Arc::get_mut(&mut inner.threads.admission).unwrap();
        admission.window = Duration::from_secs(3600);
        let passwords = Passwords {
            inner: Arc::new(inner),
        };
        (hasher, passwords)
    }

    /// Starts two hashes on their own tasks.
    fn start_two(passwords: &Passwords) -> tokio::task::JoinSet<String> {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..2 {
            let passwords = passwords.clone();
            tasks.spawn(async move { passwords.hash(format!("{i}")).await.unwrap() });
        }
        tasks
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn while_requests_are_served_one_thread_stands_aside() {
        let (hasher, passwords) = two_held_threads();
        assert_eq!(passwords.reserve(), 1);
        assert!(!passwords.serving_requests());
        passwords.note_request();
        assert!(passwords.serving_requests());
        let mut tasks = start_two(&passwords);
        hasher.until_running(1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            hasher.running.load(Ordering::SeqCst),
            1,
            "the second thread stands aside while requests are served"
        );
        // The requests stop: the second hash starts without waiting for
        // the first.
        let admission = &passwords.inner.threads.admission;
        admission.last_request.store(0, Ordering::SeqCst);
        admission.changed.notify_all();
        assert!(!passwords.serving_requests());
        hasher.until_running(2).await;
        hasher.open();
        while let Some(hash) = tasks.join_next().await {
            assert!(hash.unwrap().starts_with("held$"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_no_other_requests_every_thread_hashes() {
        let (hasher, passwords) = two_held_threads();
        let mut tasks = start_two(&passwords);
        hasher.until_running(2).await;
        hasher.open();
        while let Some(hash) = tasks.join_next().await {
            assert!(hash.expect("a hashing task").starts_with("held$"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reserve_of_zero_lets_every_thread_hash_beside_requests() {
        let (hasher, passwords) = two_held_threads();
        let passwords = passwords.with_reserve(0);
        assert_eq!(passwords.reserve(), 0);
        passwords.note_request();
        let mut tasks = start_two(&passwords);
        hasher.until_running(2).await;
        hasher.open();
        while let Some(hash) = tasks.join_next().await {
            assert!(hash.expect("a hashing task").starts_with("held$"));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_that_finds_the_queue_full_fails_at_once() {
        let hasher = Arc::new(Held::default());
        let passwords = Passwords::with_max_concurrency(
            Arc::clone(&hasher) as Arc<dyn PasswordHasher>,
            NonZeroUsize::MIN,
        )
        .with_queue_limit(2);
        assert_eq!(passwords.queue_limit(), 2);
        // One hash runs (held) on the one thread, two wait: the queue is full.
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn({
            let passwords = passwords.clone();
            async move { passwords.hash("running".into()).await }
        });
        hasher.until_running(1).await;
        for i in 0..2 {
            let passwords = passwords.clone();
            tasks.spawn(async move { passwords.hash(format!("waiting{i}")).await });
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while passwords.pending() != 3 {
            assert!(Instant::now() < deadline, "two hashes never queued");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // More work is refused at once, not queued: the thread is still
        // held, so anything that waited would never finish here.
        let refused = tokio::time::timeout(Duration::from_secs(10), async {
            (
                passwords.hash("more".into()).await,
                passwords.verify("more".into(), "held$more".into()).await,
                passwords.verify_dummy("more".into()).await,
            )
        })
        .await
        .expect("refused without waiting");
        assert!(matches!(refused.0, Err(PasswordError::Busy)), "{refused:?}");
        assert!(matches!(refused.1, Err(PasswordError::Busy)), "{refused:?}");
        assert!(matches!(refused.2, Err(PasswordError::Busy)), "{refused:?}");
        assert_eq!(passwords.verifications(), 0, "nothing refused was run");
        hasher.open();
        while let Some(hash) = tasks.join_next().await {
            assert!(hash.unwrap().unwrap().starts_with("held$"));
        }
        assert_eq!(passwords.pending(), 0);
        assert_eq!(hasher.calls.load(Ordering::SeqCst), 3);
        assert_eq!(passwords.hash("after".into()).await.unwrap(), "held$after");
    }

    #[test]
    fn the_default_queue_follows_the_threads() {
        let three = NonZeroUsize::new(3).unwrap();
        let passwords = Passwords::with_max_concurrency(Arc::new(Held::default()), three);
        assert_eq!(passwords.queue_limit(), 3 * QUEUE_PER_THREAD);
    }

    #[test]
    fn one_thread_always_hashes() {
        let one = Passwords::with_max_concurrency(Arc::new(Held::default()), NonZeroUsize::MIN);
        assert_eq!(one.reserve(), 0);
        assert_eq!(one.with_reserve(3).reserve(), 0);
    }

    #[test]
    fn works_outside_a_runtime() {
        let passwords = fast();
        let encoded = block_on(passwords.hash("pw".into())).unwrap();
        assert!(block_on(passwords.verify("pw".into(), encoded)).unwrap().ok);
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
