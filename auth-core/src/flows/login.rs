//! Checking credentials: the step every login strategy starts with.

use chrono::{DateTime, Utc};

use crate::Auth;
use crate::error::AuthError;
use crate::events::{AuthEvent, ClientInfo, LoginFailure, TokenKind};
use crate::flows::Credentials;
use crate::password::Verification;
use crate::throttle::{Reservation, Scope};
use crate::user::User;

/// Who is logging in: by username or by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// By username (case-insensitive).
    Username(String),
    /// By email (case-insensitive).
    Email(String),
}

impl Login {
    /// What the client typed.
    pub fn as_str(&self) -> &str {
        match self {
            Login::Username(s) | Login::Email(s) => s,
        }
    }
}

impl Auth {
    /// Verifies `password` against `user`'s hash: exactly one (counted)
    /// verification, against a dummy hash when there is no user or no
    /// usable password, so neither case is cheaper than a wrong password.
    ///
    /// Fails only when the hashing pool refuses the work (its queue is
    /// full: [`AuthError::Overloaded`]) or loses it.
    pub(crate) async fn verify_password(
        &self,
        user: Option<&User>,
        password: &str,
    ) -> Result<Verification, AuthError> {
        let passwords = &self.inner.passwords;
        Ok(match user.and_then(|u| u.password_hash.clone()) {
            Some(hash) => passwords.verify(password.to_string(), hash).await?,
            None => {
                passwords.verify_dummy(password.to_string()).await?;
                Verification::default()
            }
        })
    }

    /// Reserves one login attempt in the per-account and per-address
    /// scopes, atomically, before any password is verified; on refusal
    /// gives back what it reserved and emits [`AuthEvent::LockedOut`].
    /// Returns the per-address reservation.
    async fn reserve_login_attempt(
        &self,
        account: &str,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Result<Option<Reservation>, AuthError> {
        let throttle = &self.inner.throttle;
        let ip = client.ip.as_deref();
        let refused = match throttle
            .reserve(Scope::LoginAccount, Some(account), now)
            .await
        {
            Err(err) => (Scope::LoginAccount, err),
            Ok(for_account) => match throttle.reserve(Scope::LoginIp, ip, now).await {
                Ok(for_ip) => return Ok(for_ip),
                Err(err) => {
                    // Not attempted: the account's allowance stays whole.
                    throttle.release(for_account, now).await?;
                    (Scope::LoginIp, err)
                }
            },
        };
        if let (scope, AuthError::Throttled { retry_after_secs }) = &refused {
            self.emit(AuthEvent::LockedOut {
                scope: scope.as_str(),
                retry_after_secs: *retry_after_secs,
                at: now,
                client: client.clone(),
            })
            .await;
        }
        Err(refused.1)
    }

    /// Checks credentials and returns the user, as every login endpoint
    /// does before issuing a token; `kind` names what the login is for (in
    /// events and history, and in [`AuthError::InvalidCredentials`] when
    /// the credentials are refused).
    ///
    /// An unknown user, a wrong password and an inactive account fail the
    /// same way with the same work: exactly one password verification each
    /// (an unknown user is verified against a dummy hash). The attempt is
    /// counted against the per-account and per-address limits before the
    /// password is verified, so logins sent together cannot outrun them;
    /// the per-account count is the account's whether it is named by
    /// username or by email (and the name's as typed when it names no
    /// account). A success clears the account's count, gives back its
    /// per-address attempt, records `last_login`, and rehashes a password
    /// stored in an old format or with old parameters.
    pub async fn check_credentials(
        &self,
        credentials: &Credentials,
        kind: TokenKind,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let inner = &self.inner;
        let now = self.now();
        let user = match &credentials.login {
            Login::Username(username) => inner.stores.users.user_by_username(username).await?,
            Login::Email(email) => inner.stores.users.user_by_email(email.trim()).await?,
        };
        let account = match &user {
            Some(user) => format!("user:{}", user.id),
            None => format!("login:{}", credentials.login.as_str().trim()),
        };
        let for_ip = self.reserve_login_attempt(&account, client, now).await?;

        let outcome = self
            .verify_password(user.as_ref(), &credentials.password)
            .await?;
        let failure = match &user {
            None => Some(LoginFailure::UnknownUser),
            Some(_) if !outcome.ok => Some(LoginFailure::WrongPassword),
            Some(u) if !u.is_active => Some(LoginFailure::Inactive),
            Some(_) => None,
        };
        let user_id = user.as_ref().map(|u| u.id);
        let Some(mut user) = user.filter(|_| failure.is_none()) else {
            // The reserved attempts stay counted: they failed.
            let reason = failure.unwrap_or(LoginFailure::WrongPassword);
            crate::metrics::login_failed(kind, reason);
            self.emit(AuthEvent::LoginFailed {
                user_id,
                reason,
                at: now,
                client: client.clone(),
            })
            .await;
            return Err(AuthError::InvalidCredentials(kind));
        };

        inner
            .throttle
            .clear(Scope::LoginAccount, Some(&account))
            .await?;
        inner.throttle.release(for_ip, now).await?;
        if outcome.needs_rehash
            && let Some(verified) = user.password_hash.clone()
        {
            match inner.passwords.hash(credentials.password.clone()).await {
                Ok(hash) => {
                    // Only over the hash just verified: a password changed
                    // or reset since this login read the user stands.
                    let replaced = self
                        .write_about(
                            user.id,
                            inner
                                .stores
                                .users
                                .replace_password_hash(user.id, &verified, &hash),
                        )
                        .await?;
                    if replaced {
                        user.password_hash = Some(hash);
                        self.emit(AuthEvent::PasswordRehashed {
                            user_id: user.id,
                            at: now,
                        })
                        .await;
                    }
                }
                Err(err) => {
                    tracing::error!(target: "auth", error = %err, "could not rehash a password");
                }
            }
        }
        self.write_about(user.id, inner.stores.users.set_last_login(user.id, now))
            .await?;
        user.last_login = Some(now);
        self.emit(AuthEvent::LoginSucceeded {
            user_id: user.id,
            kind,
            at: now,
            client: client.clone(),
        })
        .await;
        Ok(user)
    }
}
