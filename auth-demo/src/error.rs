//! [`DemoError`]: why the demo server could not start or a command failed.

use auth_core::error::BoxError;

/// Why the demo server could not start, or a command failed. Messages name
/// the setting at fault and never hold a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A setting was refused.
    #[error("invalid setting: {0}")]
    Settings(String),
    /// A database or Redis could not be opened or migrated.
    #[error("cannot use {what}: {source}")]
    Store {
        /// Which store (its URL without password).
        what: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The service refused an operation (e.g. `create-superuser` input).
    #[error("{0}")]
    Auth(#[from] auth_core::AuthError),
    /// `import-django` stopped (the Django database could not be read, or
    /// a store failed).
    #[error("importing from Django failed: {0}")]
    Import(#[from] auth_django::ImportError),
    /// `import-django` ran to the end, but this many rows could not be
    /// imported (printed before): the command exits non-zero.
    #[error("{0} Django row(s) could not be imported (listed above)")]
    ImportRowsFailed(usize),
}

impl DemoError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
