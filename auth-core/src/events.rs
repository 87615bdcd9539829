//! A typed stream of what the service does, for logs, audit tables and
//! webhooks.
//!
//! Every flow emits [`AuthEvent`]s to the [`EventSink`]s the service holds.
//! Two sinks ship: [`TracingSink`] (a `tracing` line per event) and
//! [`HistorySink`] (the user's login history). Add your own with
//! [`AuthBuilder::event_sink`](crate::AuthBuilder::event_sink). Events never
//! carry a password, a hash or a token.
//!
//! ```
//! use async_trait::async_trait;
//! use auth_core::events::{AuthEvent, EventSink};
//!
//! /// Counts failed logins, e.g. for a metrics exporter.
//! #[derive(Debug, Default)]
//! struct FailedLogins(std::sync::atomic::AtomicU64);
//!
//! #[async_trait]
//! impl EventSink for FailedLogins {
//!     async fn on_event(&self, event: &AuthEvent) {
//!         if matches!(event, AuthEvent::LoginFailed { .. }) {
//!             self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         }
//!     }
//! }
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::outbox::Outbox;
use crate::store::{HistoryEntry, HistoryEvent, LoginHistoryStore};
use crate::user::UserId;

pub use crate::token::TokenKind;

/// Who is asking: what the adapter knows about the client, for throttling
/// per address and for the login history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client address (as the adapter determined it, proxies included).
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Client info with just an address.
    pub fn from_ip(ip: impl Into<String>) -> Self {
        Self {
            ip: Some(ip.into()),
            user_agent: None,
        }
    }
}

/// Why a login failed. Only sinks see this: clients always get the same
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginFailure {
    /// No account with that username or email.
    UnknownUser,
    /// The password did not match (or the account has none).
    WrongPassword,
    /// The password matched but the account is inactive.
    Inactive,
}

/// Something that happened. `at` is the service clock's time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// A new account was registered.
    Registered {
        /// The new user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// An account was activated by its emailed link.
    Activated {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// Credentials were accepted.
    LoginSucceeded {
        /// The user.
        user_id: UserId,
        /// What the login produced.
        kind: TokenKind,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// Credentials were refused.
    LoginFailed {
        /// The account tried, when it exists.
        user_id: Option<UserId>,
        /// Why.
        reason: LoginFailure,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// Too many attempts: a request was throttled.
    LockedOut {
        /// Which limit (`login_account`, `login_ip`, `reset`, ...).
        scope: &'static str,
        /// Seconds until the next attempt may pass.
        retry_after_secs: u64,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// A token was issued.
    TokenIssued {
        /// The user.
        user_id: UserId,
        /// Which kind.
        kind: TokenKind,
        /// When.
        at: DateTime<Utc>,
    },
    /// A refresh token was rotated.
    TokenRotated {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// An already rotated refresh token was used again: its whole rotation
    /// family was revoked.
    TokenReused {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// One token was logged out.
    LoggedOut {
        /// The user.
        user_id: UserId,
        /// Which kind.
        kind: TokenKind,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// Every token of the user was revoked.
    LoggedOutAll {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// The password was changed by the user.
    PasswordChanged {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// A password reset email was sent.
    PasswordResetRequested {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// The password was reset through an emailed link.
    PasswordReset {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
        /// Who asked.
        client: ClientInfo,
    },
    /// A stored hash in an old format or with old parameters was replaced
    /// on login.
    PasswordRehashed {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The account was deleted.
    AccountDeleted {
        /// The user.
        user_id: UserId,
        /// When.
        at: DateTime<Utc>,
    },
}

impl AuthEvent {
    /// A short snake_case name for the event.
    pub fn name(&self) -> &'static str {
        match self {
            AuthEvent::Registered { .. } => "registered",
            AuthEvent::Activated { .. } => "activated",
            AuthEvent::LoginSucceeded { .. } => "login",
            AuthEvent::LoginFailed { .. } => "login_failed",
            AuthEvent::LockedOut { .. } => "locked_out",
            AuthEvent::TokenIssued { .. } => "token_issued",
            AuthEvent::TokenRotated { .. } => "token_refreshed",
            AuthEvent::TokenReused { .. } => "token_reused",
            AuthEvent::LoggedOut { .. } => "logout",
            AuthEvent::LoggedOutAll { .. } => "logout_all",
            AuthEvent::PasswordChanged { .. } => "password_changed",
            AuthEvent::PasswordResetRequested { .. } => "password_reset_requested",
            AuthEvent::PasswordReset { .. } => "password_reset",
            AuthEvent::PasswordRehashed { .. } => "password_rehashed",
            AuthEvent::AccountDeleted { .. } => "account_deleted",
        }
    }

    /// The user the event concerns, when known.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            AuthEvent::Registered { user_id, .. }
            | AuthEvent::Activated { user_id, .. }
            | AuthEvent::LoginSucceeded { user_id, .. }
            | AuthEvent::TokenIssued { user_id, .. }
            | AuthEvent::TokenRotated { user_id, .. }
            | AuthEvent::TokenReused { user_id, .. }
            | AuthEvent::LoggedOut { user_id, .. }
            | AuthEvent::LoggedOutAll { user_id, .. }
            | AuthEvent::PasswordChanged { user_id, .. }
            | AuthEvent::PasswordResetRequested { user_id, .. }
            | AuthEvent::PasswordReset { user_id, .. }
            | AuthEvent::PasswordRehashed { user_id, .. }
            | AuthEvent::AccountDeleted { user_id, .. } => Some(*user_id),
            AuthEvent::LoginFailed { user_id, .. } => *user_id,
            AuthEvent::LockedOut { .. } => None,
        }
    }

    /// The client the event came from, when it came from a request.
    pub fn client(&self) -> Option<&ClientInfo> {
        match self {
            AuthEvent::Registered { client, .. }
            | AuthEvent::Activated { client, .. }
            | AuthEvent::LoginSucceeded { client, .. }
            | AuthEvent::LoginFailed { client, .. }
            | AuthEvent::LockedOut { client, .. }
            | AuthEvent::TokenRotated { client, .. }
            | AuthEvent::TokenReused { client, .. }
            | AuthEvent::LoggedOut { client, .. }
            | AuthEvent::LoggedOutAll { client, .. }
            | AuthEvent::PasswordChanged { client, .. }
            | AuthEvent::PasswordResetRequested { client, .. }
            | AuthEvent::PasswordReset { client, .. } => Some(client),
            AuthEvent::TokenIssued { .. }
            | AuthEvent::PasswordRehashed { .. }
            | AuthEvent::AccountDeleted { .. } => None,
        }
    }

    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            AuthEvent::Registered { at, .. }
            | AuthEvent::Activated { at, .. }
            | AuthEvent::LoginSucceeded { at, .. }
            | AuthEvent::LoginFailed { at, .. }
            | AuthEvent::LockedOut { at, .. }
            | AuthEvent::TokenIssued { at, .. }
            | AuthEvent::TokenRotated { at, .. }
            | AuthEvent::TokenReused { at, .. }
            | AuthEvent::LoggedOut { at, .. }
            | AuthEvent::LoggedOutAll { at, .. }
            | AuthEvent::PasswordChanged { at, .. }
            | AuthEvent::PasswordResetRequested { at, .. }
            | AuthEvent::PasswordReset { at, .. }
            | AuthEvent::PasswordRehashed { at, .. }
            | AuthEvent::AccountDeleted { at, .. } => *at,
        }
    }

    /// The login-history event this becomes, if it is one.
    pub fn history_event(&self) -> Option<HistoryEvent> {
        Some(match self {
            AuthEvent::LoginSucceeded { .. } => HistoryEvent::Login,
            AuthEvent::LoginFailed {
                user_id: Some(_), ..
            } => HistoryEvent::LoginFailed,
            AuthEvent::LoggedOut { .. } => HistoryEvent::Logout,
            AuthEvent::LoggedOutAll { .. } => HistoryEvent::LogoutAll,
            AuthEvent::TokenRotated { .. } => HistoryEvent::TokenRefreshed,
            AuthEvent::PasswordChanged { .. } => HistoryEvent::PasswordChanged,
            AuthEvent::PasswordReset { .. } => HistoryEvent::PasswordReset,
            AuthEvent::Activated { .. } => HistoryEvent::Activated,
            _ => return None,
        })
    }
}

/// Receives every [`AuthEvent`]. Sinks run in order, after the change the
/// event reports has been stored; a slow sink slows the request, so hand
/// heavy work (webhooks) to a queue.
#[async_trait]
pub trait EventSink: Debug + Send + Sync + 'static {
    /// Handles one event. A sink reports its own failures (logs them); it
    /// cannot fail the request.
    async fn on_event(&self, event: &AuthEvent);
}

/// Writes one `tracing` event per [`AuthEvent`] under the target
/// `auth::events`: failures and lockouts at `WARN`, the rest at `INFO`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

#[async_trait]
impl EventSink for TracingSink {
    async fn on_event(&self, event: &AuthEvent) {
        let user = event.user_id().map(|id| id.to_string());
        let ip = event.client().and_then(|c| c.ip.as_deref());
        match event {
            AuthEvent::LoginFailed { reason, .. } => tracing::warn!(
                target: "auth::events",
                event = event.name(),
                user = user.as_deref(),
                ip,
                reason = ?reason,
            ),
            AuthEvent::LockedOut {
                scope,
                retry_after_secs,
                ..
            } => tracing::warn!(
                target: "auth::events",
                event = event.name(),
                scope,
                retry_after_secs,
                ip,
            ),
            AuthEvent::TokenReused { .. } => tracing::warn!(
                target: "auth::events",
                event = event.name(),
                user = user.as_deref(),
                ip,
            ),
            _ => tracing::info!(
                target: "auth::events",
                event = event.name(),
                user = user.as_deref(),
                ip,
            ),
        }
    }
}

/// Records the events of the contract's login history (`login`,
/// `login_failed`, `logout`, ...) in a [`LoginHistoryStore`].
///
/// The service's own sink writes off the request path, through a bounded
/// queue that retries a failed write a few times (so a failed login naming
/// an account takes no longer than one naming none);
/// [`Auth::flush`](crate::Auth::flush) waits for it. One made with
/// [`HistorySink::new`] writes before `on_event` returns.
#[derive(Debug, Clone)]
pub struct HistorySink {
    store: Arc<dyn LoginHistoryStore>,
    queue: Option<Arc<Outbox>>,
}

impl HistorySink {
    /// A sink writing to `store`.
    pub fn new(store: Arc<dyn LoginHistoryStore>) -> Self {
        Self { store, queue: None }
    }

    /// A sink writing to `store` through `queue`.
    pub(crate) fn queued(store: Arc<dyn LoginHistoryStore>, queue: Arc<Outbox>) -> Self {
        Self {
            store,
            queue: Some(queue),
        }
    }
}

/// The most of a `User-Agent` the history keeps.
pub const USER_AGENT_MAX_CHARS: usize = 512;

#[async_trait]
impl EventSink for HistorySink {
    async fn on_event(&self, event: &AuthEvent) {
        let (Some(kind), Some(user_id)) = (event.history_event(), event.user_id()) else {
            return;
        };
        let client = event.client().cloned().unwrap_or_default();
        let entry = HistoryEntry {
            user_id,
            at: event.at(),
            event: kind,
            ip: client.ip,
            user_agent: client
                .user_agent
                .map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect()),
        };
        let Some(queue) = &self.queue else {
            if let Err(err) = self.store.record_history(&entry).await {
                tracing::error!(target: "auth::events", error = %err, "could not record login history");
            }
            return;
        };
        let store = Arc::clone(&self.store);
        queue.submit("login history entry", user_id, move || {
            let (store, entry) = (Arc::clone(&store), entry.clone());
            Box::pin(async move {
                store
                    .record_history(&entry)
                    .await
                    .map_err(|err| err.to_string())
            })
        });
    }
}
