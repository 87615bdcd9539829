//! Work the service does off the request path: emails and login-history
//! writes.
//!
//! A request that would otherwise await them (a password reset or an
//! activation resend for an existing account, a failed login naming one)
//! would take longer than one naming no account, and tell which accounts
//! exist. Each [`Outbox`] is a bounded queue: work is handed over at once,
//! run on the runtime beside the request, tried a few times with growing
//! pauses, and never dropped silently: work that finds the queue full,
//! fails every attempt, or is dropped unfinished (the runtime shut down)
//! is logged with what it was and the user it was for, never with the
//! email's address or link.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use crate::user::UserId;

/// How many pieces of work one outbox holds (queued or running) before it
/// refuses more.
pub(crate) const CAPACITY: usize = 1024;
/// How many run at once.
const CONCURRENCY: usize = 8;
/// How many times a piece of work is tried.
pub(crate) const ATTEMPTS: u32 = 3;
/// The pause after the first failed attempt; it doubles after each one.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// How long one attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// One attempt at a piece of work: its error is a message that names no
/// address, link or secret.
pub(crate) type Attempt = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A bounded queue of background work (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct Outbox {
    /// What the queue holds, for log lines ("email", "login history").
    what: &'static str,
    capacity: usize,
    /// Work queued or running.
    pending: AtomicUsize,
    /// Signalled when `pending` drops to zero.
    idle: Notify,
    running: Arc<Semaphore>,
    first_backoff: Duration,
}

impl Outbox {
    pub(crate) fn new(what: &'static str) -> Arc<Self> {
        Self::with(what, CAPACITY, FIRST_BACKOFF)
    }

    fn with(what: &'static str, capacity: usize, first_backoff: Duration) -> Arc<Self> {
        Arc::new(Self {
            what,
            capacity,
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            running: Arc::new(Semaphore::new(CONCURRENCY)),
            first_backoff,
        })
    }

    /// Queues work `kind` for `user`, made by `attempt` (called once per
    /// try), and returns at once. Refused (and logged) when the queue is
    /// full or there is no runtime to run it on.
    pub(crate) fn submit<F>(self: &Arc<Self>, kind: &'static str, user: UserId, attempt: F)
    where
        F: Fn() -> Attempt + Send + 'static,
    {
        let reserved = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            });
        if reserved.is_err() {
            tracing::error!(
                target: "auth",
                kind,
                user_id = %user,
                capacity = self.capacity,
                "the {} queue is full: this {kind} is dropped",
                self.what
            );
            return;
        }
        let mut work = Pending {
            outbox: Arc::clone(self),
            kind,
            user,
            finished: false,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // `work` logs it as dropped.
            return;
        };
        runtime.spawn(async move {
            let Ok(_permit) = Arc::clone(&work.outbox.running).acquire_owned().await else {
                return;
            };
            let mut backoff = work.outbox.first_backoff;
            for tried in 1..=ATTEMPTS {
                let error = match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt()).await {
                    Ok(Ok(())) => {
                        work.finish();
                        return;
                    }
                    Ok(Err(error)) => error,
                    Err(_) => format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
                };
                if tried == ATTEMPTS {
                    tracing::error!(
                        target: "auth",
                        kind,
                        user_id = %user,
                        attempts = ATTEMPTS,
                        error,
                        "could not deliver this {kind}: giving up"
                    );
                    work.finish();
                    return;
                }
                tracing::warn!(
                    target: "auth",
                    kind,
                    user_id = %user,
                    attempt = tried,
                    error,
                    "could not deliver this {kind}: trying again in {} ms",
                    backoff.as_millis()
                );
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        });
    }

    /// Waits until nothing queued so far is left: delivered, or given up on.
    pub(crate) async fn flush(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.pending.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// A piece of work counted in its outbox until dropped; logged if dropped
/// before it finished.
struct Pending {
    outbox: Arc<Outbox>,
    kind: &'static str,
    user: UserId,
    finished: bool,
}

impl Pending {
    /// Done with: delivered, or given up on and logged.
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.finished {
            tracing::error!(
                target: "auth",
                kind = self.kind,
                user_id = %self.user,
                "this {} was dropped before it was delivered (no runtime, or the runtime shut down)",
                self.kind
            );
        }
        if self.outbox.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.outbox.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn user() -> UserId {
        UserId(uuid::Uuid::now_v7())
    }

    #[tokio::test]
    async fn work_is_retried_then_given_up_and_flush_waits_for_it() {
        let outbox = Outbox::with("test", 4, Duration::from_millis(1));
        let tries = Arc::new(AtomicU32::new(0));
        let failing = Arc::clone(&tries);
        outbox.submit("flaky", user(), move || {
            let tries = Arc::clone(&failing);
            Box::pin(async move {
                let n = tries.fetch_add(1, Ordering::SeqCst) + 1;
                if n < 2 { Err("not yet".into()) } else { Ok(()) }
            })
        });
        let always = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&always);
        outbox.submit("broken", user(), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err("down".to_string()) })
        });
        outbox.flush().await;
        assert_eq!(tries.load(Ordering::SeqCst), 2, "retried until it worked");
        assert_eq!(
            always.load(Ordering::SeqCst),
            ATTEMPTS,
            "tried, then given up"
        );
        assert_eq!(outbox.pending.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_more_at_once() {
        let outbox = Outbox::with("test", 1, Duration::from_millis(1));
        let gate = Arc::new(Notify::new());
        let ran = Arc::new(AtomicU32::new(0));
        for _ in 0..3 {
            let (gate, ran) = (Arc::clone(&gate), Arc::clone(&ran));
            outbox.submit("held", user(), move || {
                let (gate, ran) = (Arc::clone(&gate), Arc::clone(&ran));
                Box::pin(async move {
                    gate.notified().await;
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
            });
        }
        assert_eq!(outbox.pending.load(Ordering::SeqCst), 1, "two refused");
        gate.notify_one();
        outbox.flush().await;
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
