//! Checking credentials: the step every login strategy starts with.

use crate::Auth;
use crate::error::{AuthError, CredentialsStyle};
use crate::events::{AuthEvent, ClientInfo, LoginFailure, TokenKind};
use crate::flows::Credentials;
use crate::password::Verification;
use crate::throttle::Scope;
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

    /// Checks credentials and returns the user, as every login endpoint
    /// does before issuing a token; `kind` names what the login is for (in
    /// events and history) and `style` how a refusal renders.
    ///
    /// An unknown user, a wrong password and an inactive account fail the
    /// same way with the same work: exactly one password verification each
    /// (an unknown user is verified against a dummy hash). Failed attempts
    /// count towards the per-account and per-address limits; a success
    /// clears the account's count, records `last_login`, and rehashes a
    /// password stored in an old format or with old parameters.
    pub async fn check_credentials(
        &self,
        credentials: &Credentials,
        kind: TokenKind,
        style: CredentialsStyle,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let inner = &self.inner;
        let now = self.now();
        let account = Some(credentials.login.as_str());
        let ip = client.ip.as_deref();
        for (scope, subject) in [(Scope::LoginAccount, account), (Scope::LoginIp, ip)] {
            if let Err(err) = inner.throttle.check(scope, subject, now).await {
                if let AuthError::Throttled { retry_after_secs } = err {
                    self.emit(AuthEvent::LockedOut {
                        scope: scope.as_str(),
                        retry_after_secs,
                        at: now,
                        client: client.clone(),
                    })
                    .await;
                }
                return Err(err);
            }
        }

        let user = match &credentials.login {
            Login::Username(username) => inner.stores.users.user_by_username(username).await?,
            Login::Email(email) => inner.stores.users.user_by_email(email.trim()).await?,
        };
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
            inner
                .throttle
                .record(Scope::LoginAccount, account, now)
                .await?;
            inner.throttle.record(Scope::LoginIp, ip, now).await?;
            self.emit(AuthEvent::LoginFailed {
                user_id,
                reason: failure.unwrap_or(LoginFailure::WrongPassword),
                at: now,
                client: client.clone(),
            })
            .await;
            return Err(AuthError::InvalidCredentials(style));
        };

        inner.throttle.clear(Scope::LoginAccount, account).await?;
        if outcome.needs_rehash {
            match inner.passwords.hash(credentials.password.clone()).await {
                Ok(hash) => {
                    self.write_about(
                        user.id,
                        inner.stores.users.set_password_hash(user.id, Some(&hash)),
                    )
                    .await?;
                    user.password_hash = Some(hash);
                    self.emit(AuthEvent::PasswordRehashed {
                        user_id: user.id,
                        at: now,
                    })
                    .await;
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
