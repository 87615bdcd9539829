//! Password hashing (Argon2id, and verification of imported Django hashes)
//! and password validators.
//!
//! - [`PasswordHasher`] is the object-safe hashing trait; [`Argon2idHasher`]
//!   implements it. New hashes are Argon2id PHC strings
//!   (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`); verification also
//!   accepts Argon2i/Argon2d PHC strings and the hashes a Django project
//!   keeps (`pbkdf2_sha256$...`, `pbkdf2_sha1$...`, `argon2$argon2id$...`,
//!   and `bcrypt_sha256$...` with the `bcrypt` feature), see [`django`].
//!   Whatever is not the current format with the current parameters comes
//!   back with [`Verification::needs_rehash`] set, so a login can upgrade it.
//! - [`Passwords`] runs a hasher on threads of its own, one per core, at the
//!   lowest scheduling priority: a login storm queues instead of stalling
//!   the runtime or spawning unbounded threads, and requests that need no
//!   hash keep their latency meanwhile. It also counts verifications
//!   and offers [`Passwords::verify_dummy`], so an unknown user costs the
//!   same work as a wrong password.
//! - [`PasswordPolicy`] runs [`PasswordValidator`]s: Django's four default
//!   validators ([`UserAttributeSimilarity`], [`MinimumLength`],
//!   [`CommonPassword`], [`NumericPassword`]) plus [`MaximumLength`], with
//!   Django's messages.
//!
//! No password is ever truncated: Argon2 and PBKDF2 take passwords of any
//! length, and the policy's [`MaximumLength`] decides what is accepted.
//!
//! ```
//! use auth_core::password::{Argon2Params, Argon2idHasher, PasswordHasher};
//!
//! // Small parameters keep the example fast; use the defaults in production.
//! let hasher = Argon2idHasher::new(Argon2Params::new(64, 1, 1)?)?;
//! let encoded = hasher.hash("correct horse battery staple")?;
//! assert!(encoded.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
//!
//! let checked = hasher.verify("correct horse battery staple", &encoded);
//! assert!(checked.ok && !checked.needs_rehash);
//! assert!(!hasher.verify("Correct horse battery staple", &encoded).ok);
//! # Ok::<(), auth_core::password::PasswordError>(())
//! ```

use crate::error::{AuthError, BoxError};

mod argon2_phc;
pub mod django;
mod hasher;
mod pool;
mod validators;

pub use argon2_phc::Argon2Params;
pub use hasher::{Argon2idHasher, PasswordHasher, Verification};
pub use pool::{Passwords, QUEUE_PER_THREAD};
pub use validators::{
    CommonPassword, MaximumLength, MinimumLength, NumericPassword, PasswordPolicy,
    PasswordValidator, SimilarityMeasure, UserAttributeSimilarity, UserAttributes, quick_ratio,
    similarity_ratio,
};

/// What hashing a password, or configuring a hasher or validator, can fail
/// with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The Argon2 parameters are outside what the argon2 crate accepts or
    /// above this library's caps (see [`Argon2Params::new`]).
    #[error("invalid Argon2 parameters: {0}")]
    InvalidParams(String),
    /// A validator was configured with a value it cannot work with (e.g. a
    /// [`MaximumLength`] below 64).
    #[error("invalid password validator setting: {0}")]
    InvalidValidator(String),
    /// The operating system's random number generator failed.
    #[error("the OS random number generator failed")]
    Rng(#[source] BoxError),
    /// The hash could not be computed (e.g. its memory could not be
    /// allocated).
    #[error("password hashing failed")]
    Hashing(#[source] BoxError),
    /// The blocking task running the hash panicked or was cancelled.
    #[error("the password hashing task failed")]
    Task(#[source] BoxError),
    /// The hashing queue was full ([`Passwords::with_queue_limit`]): the
    /// work was refused at once, not queued.
    #[error("the password hashing queue is full")]
    Busy,
}

impl From<PasswordError> for AuthError {
    /// A full hashing queue is [`AuthError::Overloaded`] (retry later);
    /// every other hashing failure is [`AuthError::Internal`].
    fn from(err: PasswordError) -> Self {
        match err {
            PasswordError::Busy => AuthError::Overloaded {
                retry_after_secs: 1,
            },
            other => AuthError::Internal(Box::new(other)),
        }
    }
}
