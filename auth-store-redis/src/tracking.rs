//! Revocation reads answered from memory while Redis tracks them: Redis's
//! server-assisted client-side caching (`CLIENT TRACKING`, Redis 6 and
//! later, over RESP3).
//!
//! The store reads revocation state over a connection of its own on which
//! tracking is on, and keeps what it read. Redis remembers which keys that
//! connection read and pushes an `invalidate` message on it as soon as one
//! of them changes (or expires, or is deleted), whoever changed it; the
//! message drops the key here, and the next read of it goes to Redis again.
//!
//! Why nothing stale is kept:
//!
//! - Every read that fills the map is sent in one pipeline behind
//!   `CLIENT TRACKING ON`, so the connection that answers it (a new one
//!   after a reconnect included) tracks its keys before reading them.
//! - A read remembers its answer only if nothing was forgotten since it was
//!   sent: each invalidation, local write and disconnection moves the
//!   `generation` on. An answer that crosses an invalidation on the way back
//!   is used once and not kept.
//! - When the tracking connection drops, the invalidations meant for it are
//!   lost, so the whole map is forgotten.
//! - The store's own writes forget their keys as soon as Redis has answered
//!   them (the invalidation from Redis comes over another connection and may
//!   arrive a moment later), so a write is seen by the next read in this
//!   process.
//! - Nothing is kept longer than the configured maximum age, which bounds
//!   what a connection that fails silently (no reset, so no disconnection
//!   seen) could serve.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use auth_core::store::RevocationState;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ProtocolVersion, PushInfo, PushKind, Value};

use crate::error::RedisStoreError;

/// How many keys the map holds at most; one more forgets them all (the
/// next reads refill it). Two keys per user and token family in use.
const CAPACITY: usize = 100_000;

/// The tracking connection and what was read over it.
pub(crate) struct Tracking {
    connection: ConnectionManager,
    local: Arc<Mutex<Local>>,
    max_age: Duration,
}

/// What was read, and how many times something was forgotten.
#[derive(Default)]
struct Local {
    generation: u64,
    entries: HashMap<String, Entry>,
}

struct Entry {
    known: Known,
    read_at: Instant,
}

/// The value of one tracked key.
#[derive(Clone, Copy)]
enum Known {
    /// A user's "tokens valid after" mark.
    Mark(Option<DateTime<Utc>>),
    /// Whether a family is revoked.
    Family(bool),
}

/// The answer of [`Tracking::lookup`].
pub(crate) enum Lookup {
    /// Both keys are known.
    Known(RevocationState),
    /// Read them; pass this generation to [`Tracking::remember`].
    Read(u64),
}

impl Local {
    fn forget_all(&mut self) {
        self.generation += 1;
        self.entries.clear();
    }
}

impl Tracking {
    /// A tracking connection to the Redis of `client` (its own connection,
    /// over RESP3), configured like the store's main one by `manager`.
    pub(crate) fn new(
        client: &Client,
        manager: ConnectionManagerConfig,
        max_age: Duration,
    ) -> Result<Self, RedisStoreError> {
        let info = client.get_connection_info().clone();
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = Client::open(info.set_redis_settings(settings))?;
        let local = Arc::new(Mutex::new(Local::default()));
        let pushed = Arc::clone(&local);
        let manager = manager.set_push_sender(move |push: PushInfo| {
            on_push(&pushed, &push);
            Ok::<(), Infallible>(())
        });
        Ok(Self {
            connection: ConnectionManager::new_lazy_with_config(client, manager)?,
            local,
            max_age,
        })
    }

    /// The connection to send tracked reads on.
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// The revocation state under `mark` and `family` if both keys are
    /// known and young enough, else the generation to read them under.
    pub(crate) fn lookup(&self, mark: &str, family: Option<&str>) -> Lookup {
        let local = self.lock();
        let known = |key: &str| {
            local
                .entries
                .get(key)
                .filter(|entry| entry.read_at.elapsed() < self.max_age)
                .map(|entry| entry.known)
        };
        let tokens_valid_after = match known(mark) {
            Some(Known::Mark(mark)) => mark,
            _ => return Lookup::Read(local.generation),
        };
        let family_revoked = match family.map(known) {
            None => false,
            Some(Some(Known::Family(revoked))) => revoked,
            Some(_) => return Lookup::Read(local.generation),
        };
        Lookup::Known(RevocationState {
            tokens_valid_after,
            family_revoked,
        })
    }

    /// Keeps what a read begun at `generation` found, unless something was
    /// forgotten since.
    pub(crate) fn remember(
        &self,
        generation: u64,
        mark: String,
        family: Option<String>,
        state: RevocationState,
    ) {
        let mut local = self.lock();
        if local.generation != generation {
            return;
        }
        if local.entries.len() + 2 > CAPACITY {
            local.forget_all();
            return;
        }
        let read_at = Instant::now();
        local.entries.insert(
            mark,
            Entry {
                known: Known::Mark(state.tokens_valid_after),
                read_at,
            },
        );
        if let Some(family) = family {
            local.entries.insert(
                family,
                Entry {
                    known: Known::Family(state.family_revoked),
                    read_at,
                },
            );
        }
    }

    /// Forgets `key` after a write to it (or every key, for `None`).
    pub(crate) fn forget(&self, key: Option<&str>) {
        let mut local = self.lock();
        match key {
            Some(key) => {
                local.generation += 1;
                local.entries.remove(key);
            }
            None => local.forget_all(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Local> {
        lock(&self.local)
    }
}

/// The map, even if a thread panicked holding it (every change to it is a
/// single step that leaves it consistent).
fn lock(local: &Mutex<Local>) -> MutexGuard<'_, Local> {
    local.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An `invalidate` push forgets its keys (all of them for a null, which
/// Redis sends after `FLUSHALL` and `FLUSHDB`); a disconnection forgets
/// everything, since invalidations meant for the closed connection are lost.
fn on_push(local: &Mutex<Local>, push: &PushInfo) {
    match push.kind {
        PushKind::Invalidate => {
            let mut local = lock(local);
            match push.data.first() {
                Some(Value::Array(keys)) => {
                    local.generation += 1;
                    for key in keys {
                        let name = match key {
                            Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
                            _ => None,
                        };
                        match name {
                            Some(name) => {
                                local.entries.remove(name);
                            }
                            // Not a name this store writes: keep nothing.
                            None => local.forget_all(),
                        }
                    }
                }
                _ => local.forget_all(),
            }
        }
        PushKind::Disconnection => lock(local).forget_all(),
        _ => {}
    }
}
