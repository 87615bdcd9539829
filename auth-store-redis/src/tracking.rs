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
//!   lost, so the whole map is forgotten. Each read also asks for its
//!   connection's id: one answered over another connection than the reads
//!   before it forgets them too, should a connection ever be replaced
//!   without the drop being reported.
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
    /// The id Redis gave the connection the entries were read over.
    connection: Option<i64>,
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
    /// See [`Tracking::lookup`].
    fn lookup(&self, mark: &str, family: Option<&str>, max_age: Duration, now: Instant) -> Lookup {
        let known = |key: &str| {
            self.entries
                .get(key)
                .filter(|entry| now.saturating_duration_since(entry.read_at) < max_age)
                .map(|entry| entry.known)
        };
        let tokens_valid_after = match known(mark) {
            Some(Known::Mark(mark)) => mark,
            _ => return Lookup::Read(self.generation),
        };
        let family_revoked = match family.map(known) {
            None => false,
            Some(Some(Known::Family(revoked))) => revoked,
            Some(_) => return Lookup::Read(self.generation),
        };
        Lookup::Known(RevocationState {
            tokens_valid_after,
            family_revoked,
        })
    }

    /// See [`Tracking::remember`].
    fn remember(&mut self, read: Read, now: Instant) {
        if self.generation != read.generation {
            return;
        }
        if self.connection != Some(read.connection) {
            // What was read over another connection is no longer tracked
            // for this one.
            self.entries.clear();
            self.connection = Some(read.connection);
        }
        if self.entries.len() + 2 > CAPACITY {
            self.forget_all();
            return;
        }
        let entry = |known| Entry {
            known,
            read_at: now,
        };
        self.entries
            .insert(read.mark, entry(Known::Mark(read.state.tokens_valid_after)));
        if let Some(family) = read.family {
            self.entries
                .insert(family, entry(Known::Family(read.state.family_revoked)));
        }
    }

    /// Forgets `key` (every key, for `None`).
    fn forget(&mut self, key: Option<&str>) {
        self.generation += 1;
        match key {
            Some(key) => {
                self.entries.remove(key);
            }
            None => self.entries.clear(),
        }
    }

    fn forget_all(&mut self) {
        self.forget(None);
    }
}

/// What one tracked read found, for [`Tracking::remember`].
pub(crate) struct Read {
    /// The generation [`Tracking::lookup`] gave before the read was sent.
    pub(crate) generation: u64,
    /// The id of the connection that answered (`CLIENT ID`).
    pub(crate) connection: i64,
    /// The mark's key.
    pub(crate) mark: String,
    /// The family's key, if one was read.
    pub(crate) family: Option<String>,
    /// What the read found.
    pub(crate) state: RevocationState,
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
        self.lock()
            .lookup(mark, family, self.max_age, Instant::now())
    }

    /// Keeps what a read found, unless something was forgotten since it
    /// was sent; what was read over another connection before is
    /// forgotten.
    pub(crate) fn remember(&self, read: Read) {
        self.lock().remember(read, Instant::now());
    }

    /// Forgets `key` after a write to it (or every key, for `None`).
    pub(crate) fn forget(&self, key: Option<&str>) {
        self.lock().forget(key);
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
                    for key in keys {
                        // A key that is not a name this store writes
                        // (`None`) forgets everything.
                        let name = match key {
                            Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
                            _ => None,
                        };
                        local.forget(name);
                    }
                }
                _ => local.forget_all(),
            }
        }
        PushKind::Disconnection => lock(local).forget_all(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: Duration = Duration::from_secs(10);

    /// A read begun now: under the current generation.
    fn read(local: &Local, connection: i64, family: Option<&str>, revoked: bool) -> Read {
        Read {
            generation: local.generation,
            connection,
            mark: "m".into(),
            family: family.map(str::to_owned),
            state: RevocationState {
                tokens_valid_after: None,
                family_revoked: revoked,
            },
        }
    }

    fn known(local: &Local, family: Option<&str>, now: Instant) -> Option<RevocationState> {
        match local.lookup("m", family, AGE, now) {
            Lookup::Known(state) => Some(state),
            Lookup::Read(_) => None,
        }
    }

    fn push(kind: PushKind, data: Vec<Value>) -> PushInfo {
        PushInfo { kind, data }
    }

    #[test]
    fn a_read_is_kept_until_the_maximum_age() {
        let mut local = Local::default();
        let now = Instant::now();
        let first = read(&local, 1, Some("f"), true);
        local.remember(first, now);
        let state = known(&local, Some("f"), now).expect("kept");
        assert!(state.family_revoked);
        assert!(known(&local, None, now).is_some(), "the mark alone");
        assert!(known(&local, Some("g"), now).is_none(), "another family");
        assert!(known(&local, Some("f"), now + AGE).is_none(), "too old");
    }

    #[test]
    fn a_read_crossing_a_forget_is_not_kept() {
        let mut local = Local::default();
        let late = read(&local, 1, None, false);
        local.forget_all();
        local.remember(late, Instant::now());
        assert!(known(&local, None, Instant::now()).is_none());
    }

    #[test]
    fn a_read_over_another_connection_forgets_the_earlier_ones() {
        let mut local = Local::default();
        let now = Instant::now();
        let first = read(&local, 1, Some("f"), true);
        local.remember(first, now);
        let other = Read {
            mark: "n".into(),
            family: None,
            ..read(&local, 2, None, false)
        };
        local.remember(other, now);
        assert!(
            known(&local, Some("f"), now).is_none(),
            "read over connection 1"
        );
        assert!(
            matches!(local.lookup("n", None, AGE, now), Lookup::Known(_)),
            "read over connection 2"
        );
    }

    #[test]
    fn pushes_forget_their_keys_or_everything() {
        let local = Mutex::new(Local::default());
        let now = Instant::now();
        let invalidate = |keys| push(PushKind::Invalidate, vec![keys]);
        let key = |name: &[u8]| Value::Array(vec![Value::BulkString(name.to_vec())]);
        // (message, mark still known, family still known)
        let cases = [
            (invalidate(key(b"f")), true, false),
            (invalidate(key(b"m")), false, true),
            (invalidate(key(b"other")), true, true),
            (invalidate(key(&[0xff])), false, false),
            (invalidate(Value::Nil), false, false),
            (push(PushKind::Disconnection, vec![]), false, false),
            (push(PushKind::Message, vec![key(b"m")]), true, true),
        ];
        for (message, mark, family) in cases {
            let mut kept = lock(&local);
            let fresh = read(&kept, 1, Some("f"), true);
            kept.remember(fresh, now);
            drop(kept);
            on_push(&local, &message);
            let kept = lock(&local);
            assert_eq!(
                (
                    kept.entries.contains_key("m"),
                    kept.entries.contains_key("f")
                ),
                (mark, family),
                "after {message:?}"
            );
        }
    }
}
