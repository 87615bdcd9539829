//! Registration, activation, password change and reset, profile, account
//! deletion, login history and the staff users admin.

use crate::Auth;
use crate::error::{AuthError, FieldErrors, INVALID_TOKEN_MESSAGE, StoreError};
use crate::events::{AuthEvent, ClientInfo};
use crate::flows::{
    AccountDeletion, AdminUserInput, EmailRequest, LinkConfirmation, PasswordChange, ProfileUpdate,
    Registration, ResetConfirmation,
};
use crate::link_token::{Purpose, decode_uid, encode_uid};
use crate::mail::{Email, EmailContext, EmailKind};
use crate::password::UserAttributes;
use crate::store::{HistoryEntry, Page, UserQuery};
use crate::throttle::Scope;
use crate::user::{User, UserId, UserPatch, UserUpdate, normalize_email, profile_json_len};

/// Django's message for a taken username.
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
/// Django's message for a taken email.
pub const EMAIL_TAKEN: &str = "A user with that email address already exists.";
/// The message for a `confirm_password` that differs.
pub const PASSWORDS_DIFFER: &str = "The two password fields didn't match.";
/// djoser's message for a `uid` that names no user.
pub const INVALID_UID: &str = "Invalid user id or user doesn't exist.";

/// The message for a required input left out (`username` and `email` of
/// [`Auth::create_user`]): DRF's words, as a body reader in front of the
/// flow would say it, so a command and the users admin answer alike.
const REQUIRED: &str = "This field is required.";

/// The largest page of users or history a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

impl Auth {
    fn attributes(user: &User) -> UserAttributes<'_> {
        UserAttributes {
            username: &user.username,
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
        }
    }

    /// Validates a new password for `user` (and its confirmation), adding
    /// any messages under `field` and `confirm_field`.
    fn check_new_password(
        &self,
        errors: &mut FieldErrors,
        user: &UserAttributes<'_>,
        (field, password): (&str, &str),
        confirm: Option<(&str, &str)>,
    ) {
        for message in self.inner.policy.validate(password, user) {
            errors.add(field, message);
        }
        if let Some((confirm_field, confirmation)) = confirm
            && confirmation != password
        {
            errors.add(confirm_field, PASSWORDS_DIFFER);
        }
    }

    fn conflict_error(err: StoreError) -> AuthError {
        match err {
            StoreError::Conflict(what) if what == "username" => {
                AuthError::Validation(FieldErrors::single("username", USERNAME_TAKEN))
            }
            StoreError::Conflict(what) if what == "email" => {
                AuthError::Validation(FieldErrors::single("email", EMAIL_TAKEN))
            }
            other => other.into(),
        }
    }

    /// Field errors for a new or changed username, email and names, with
    /// the uniqueness checks (`except` is the user being changed).
    async fn check_identity(
        &self,
        errors: &mut FieldErrors,
        patch: &UserPatch,
        except: Option<UserId>,
    ) -> Result<(), AuthError> {
        errors.merge(patch.validate());
        let users = &self.inner.stores.users;
        if let Some(username) = &patch.username
            && errors.get("username").is_none()
            && let Some(other) = users.user_by_username(username).await?
            && Some(other.id) != except
        {
            errors.add("username", USERNAME_TAKEN);
        }
        if let Some(email) = &patch.email
            && errors.get("email").is_none()
            && let Some(other) = users.user_by_email(&normalize_email(email)).await?
            && Some(other.id) != except
        {
            errors.add("email", EMAIL_TAKEN);
        }
        Ok(())
    }

    /// A field error on `profile` when `profile` is over the configured
    /// cap ([`AuthConfig::max_profile_bytes`](crate::config::AuthConfig::max_profile_bytes)).
    fn check_profile_size(
        &self,
        errors: &mut FieldErrors,
        profile: &serde_json::Map<String, serde_json::Value>,
    ) {
        let max = self.inner.config.max_profile_bytes;
        if profile_json_len(profile) > max {
            errors.add(
                "profile",
                format!("Ensure the profile has no more than {max} bytes as JSON."),
            );
        }
    }

    /// The profile `patch` leaves on `user` (merged), checked against the
    /// cap when the patch changes it.
    fn check_merged_profile(&self, errors: &mut FieldErrors, user: &User, patch: &UserPatch) {
        if patch.profile.is_some() {
            let mut merged = user.clone();
            patch.apply_to(&mut merged);
            self.check_profile_size(errors, &merged.profile);
        }
    }

    /// Builds a user from validated input, hashing the password if any.
    async fn new_user(
        &self,
        patch: &UserPatch,
        password: Option<String>,
        email_verified: bool,
    ) -> Result<User, AuthError> {
        let password_hash = match password {
            Some(password) => Some(self.inner.passwords.hash(password).await?),
            None => None,
        };
        let mut user = User {
            id: UserId::new(),
            username: String::new(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: false,
            is_staff: false,
            is_superuser: false,
            email_verified,
            date_joined: self.now(),
            last_login: None,
            password_hash,
            profile: Default::default(),
            legacy_id: None,
        };
        patch.apply_to(&mut user);
        Ok(user)
    }

    /// Registers an account (`POST /api/auth/register`).
    ///
    /// Runs the username, email and password rules, refuses a taken
    /// username or email (case-insensitively) with a field error, and, when
    /// activation is required (the default), stores the account inactive,
    /// its email unverified, and emails the activation link.
    pub async fn register(
        &self,
        registration: Registration,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        // Counted first: every registration may cost a hash, a row and an email.
        let ip = client.ip.as_deref();
        self.inner
            .throttle
            .hit(Scope::RegisterIp, ip, self.now())
            .await?;
        let patch = UserPatch {
            username: Some(registration.username.clone()),
            email: Some(registration.email.trim().to_string()),
            first_name: Some(registration.first_name.clone()),
            last_name: Some(registration.last_name.clone()),
            is_active: Some(!self.inner.config.require_activation),
            profile: Some(registration.profile.clone()),
            ..UserPatch::default()
        };
        let mut errors = FieldErrors::new();
        self.check_identity(&mut errors, &patch, None).await?;
        self.check_profile_size(&mut errors, &registration.profile);
        let attributes = UserAttributes {
            username: &registration.username,
            email: &registration.email,
            first_name: &registration.first_name,
            last_name: &registration.last_name,
        };
        self.check_new_password(
            &mut errors,
            &attributes,
            ("password", &registration.password),
            Some(("confirm_password", &registration.confirm_password)),
        );
        errors.into_result()?;

        let verified = !self.inner.config.require_activation;
        let user = self
            .new_user(&patch, Some(registration.password), verified)
            .await?;
        self.inner
            .stores
            .users
            .insert_user(&user)
            .await
            .map_err(Self::conflict_error)?;
        self.emit(AuthEvent::Registered {
            user_id: user.id,
            at: user.date_joined,
            client: client.clone(),
        })
        .await;
        if !user.is_active {
            // The account exists either way; a mail failure is logged and
            // the client can ask for the link again.
            self.send_activation_email(&user);
        }
        Ok(user)
    }

    /// The activation link for `user`'s current state.
    pub fn activation_link(&self, user: &User) -> String {
        let token = self.inner.links.make(Purpose::Activation, user, self.now());
        let config = &self.inner.config;
        crate::config::render_link(
            &config.activation_url,
            &config.frontend_url,
            &encode_uid(user.id),
            &token,
        )
    }

    /// The password-reset link for `user`'s current state.
    pub fn password_reset_link(&self, user: &User) -> String {
        let token = self
            .inner
            .links
            .make(Purpose::PasswordReset, user, self.now());
        let config = &self.inner.config;
        crate::config::render_link(
            &config.password_reset_confirm_url,
            &config.frontend_url,
            &encode_uid(user.id),
            &token,
        )
    }

    /// Queues `email` (a `kind` of email, for `user`) to be sent off the
    /// request path (see [`Auth::flush`]): the answer takes as long
    /// whether or not there is an email to send. Failures are retried, then
    /// logged with the kind and the user's id, never the address or link.
    fn send(&self, kind: &'static str, user: UserId, email: Email) {
        let mailer = std::sync::Arc::clone(&self.inner.mailer);
        self.inner.mail_queue.submit(kind, user, move || {
            let (mailer, email) = (std::sync::Arc::clone(&mailer), email.clone());
            Box::pin(async move {
                let to = email.to.clone();
                mailer
                    .send(email)
                    .await
                    .map_err(|err| err.to_string().replace(&to, "[address]"))
            })
        });
    }

    fn send_activation_email(&self, user: &User) {
        let link = self.activation_link(user);
        self.send_account_email(EmailKind::Activation, user, Some(link));
    }

    /// Renders the email `kind` for `user` from the templates and queues
    /// it (see [`send`](Self::send)). A template that fails to render is
    /// logged (its name and the error, never the link) and nothing is
    /// sent: the answer to the request does not depend on the email.
    pub(crate) fn send_account_email(&self, kind: EmailKind, user: &User, link: Option<String>) {
        let config = &self.inner.config;
        let context = EmailContext {
            site_name: &config.site_name,
            username: &user.username,
            first_name: &user.first_name,
            email: &user.email,
            link: link.as_deref(),
            expires_hours: match kind {
                EmailKind::Activation => config.activation_ttl.num_hours().max(1),
                _ => config.reset_ttl.num_hours().max(1),
            },
            expires_minutes: match kind {
                EmailKind::Activation => config.activation_ttl.num_minutes().max(1),
                _ => config.reset_ttl.num_minutes().max(1),
            },
        };
        let rendered = match self.inner.email_templates.render(kind, &context) {
            Ok(rendered) => rendered,
            Err(err) => {
                tracing::error!(kind = kind.as_str(), user_id = %user.id, error = %err, "an email template failed: nothing sent");
                return;
            }
        };
        let label = match kind {
            EmailKind::Activation => "activation email",
            EmailKind::PasswordReset => "password reset email",
            _ => "password changed email",
        };
        self.send(
            label,
            user.id,
            Email {
                to: user.email.clone(),
                subject: rendered.subject,
                body: rendered.text,
                html: Some(rendered.html),
                kind,
                link,
                user_id: user.id,
            },
        );
    }

    /// Checks a link's `uid` and token, returning the user they name.
    async fn check_link(
        &self,
        purpose: Purpose,
        uid: &str,
        token: &str,
    ) -> Result<User, AuthError> {
        // No per-address limit: guessing a 128-bit link MAC is hopeless.
        let now = self.now();
        let user = match decode_uid(uid) {
            Some(id) => self.inner.stores.users.user_by_id(id).await?,
            None => None,
        };
        let Some(user) = user else {
            return Err(AuthError::Validation(FieldErrors::single(
                "uid",
                INVALID_UID,
            )));
        };
        let timeout = match purpose {
            Purpose::Activation => self.inner.config.activation_ttl,
            Purpose::PasswordReset => self.inner.config.reset_ttl,
        };
        if !self.inner.links.check(purpose, &user, token, now, timeout) {
            return Err(AuthError::Validation(FieldErrors::single(
                "token",
                INVALID_TOKEN_MESSAGE,
            )));
        }
        Ok(user)
    }

    /// Activates an account from its emailed link (`POST
    /// /api/auth/activate`) and marks its email verified. The link works
    /// once: activating changes the state its token covers. An account
    /// whose email was verified before (activated once, or made by staff)
    /// gets the same error as a forged link: one that staff deactivated
    /// stays inactive.
    pub async fn activate(
        &self,
        confirmation: LinkConfirmation,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let mut user = self
            .check_link(Purpose::Activation, &confirmation.uid, &confirmation.token)
            .await?;
        if user.email_verified {
            return Err(AuthError::Validation(FieldErrors::single(
                "token",
                INVALID_TOKEN_MESSAGE,
            )));
        }
        let update = UserUpdate {
            is_active: Some(true),
            email_verified: Some(true),
            ..UserUpdate::default()
        };
        self.write_about(
            user.id,
            self.inner.stores.users.update_user(user.id, &update),
        )
        .await?;
        update.apply_to(&mut user);
        self.emit(AuthEvent::Activated {
            user_id: user.id,
            at: self.now(),
            client: client.clone(),
        })
        .await;
        Ok(user)
    }

    /// Sends the activation link again (`POST
    /// /api/auth/activate/resend`) if the address belongs to an inactive
    /// account whose email was never verified (never to one that staff
    /// deactivated). Answers the same whether or not it does.
    pub async fn resend_activation(
        &self,
        request: EmailRequest,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let throttle = &self.inner.throttle;
        throttle
            .hit(Scope::EmailIp, client.ip.as_deref(), now)
            .await?;
        throttle
            .hit(Scope::ActivationEmail, Some(&request.email), now)
            .await?;
        if let Some(user) = self
            .inner
            .stores
            .users
            .user_by_email(&request.email)
            .await?
            && !user.is_active
            && !user.email_verified
        {
            self.send_activation_email(&user);
        }
        Ok(())
    }

    /// Emails a password-reset link (`POST /api/auth/password/reset`) if the
    /// address belongs to an active account. Answers the same whether or
    /// not it does.
    pub async fn request_password_reset(
        &self,
        request: EmailRequest,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let throttle = &self.inner.throttle;
        throttle
            .hit(Scope::EmailIp, client.ip.as_deref(), now)
            .await?;
        throttle
            .hit(Scope::ResetEmail, Some(&request.email), now)
            .await?;
        let Some(user) = self
            .inner
            .stores
            .users
            .user_by_email(&request.email)
            .await?
        else {
            return Ok(());
        };
        if !user.is_active {
            return Ok(());
        }
        // Sent off the request path, and a failure only logged: the answer
        // is the same, as quick, for an address of no account.
        let link = self.password_reset_link(&user);
        self.send_account_email(EmailKind::PasswordReset, &user, Some(link));
        self.emit(AuthEvent::PasswordResetRequested {
            user_id: user.id,
            at: now,
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// Sets a new password from an emailed reset link (`POST
    /// /api/auth/password/reset/confirm`) and revokes every token of the
    /// user. The link is void afterwards, since the password hash it covers
    /// changed.
    pub async fn confirm_password_reset(
        &self,
        confirmation: ResetConfirmation,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let user = self
            .check_link(
                Purpose::PasswordReset,
                &confirmation.uid,
                &confirmation.token,
            )
            .await?;
        self.replace_password(
            &user,
            confirmation.new_password,
            &confirmation.confirm_password,
        )
        .await?;
        self.revoke_user_tokens(user.id, None).await?;
        self.emit(AuthEvent::PasswordReset {
            user_id: user.id,
            at: self.now(),
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// Changes the signed-in user's password (`POST
    /// /api/auth/password/change`). A wrong `old_password` is a field
    /// error. Unless configured otherwise, the user's other tokens are
    /// revoked; `keep_knox_digest` spares the Knox token of the current
    /// request.
    pub async fn change_password(
        &self,
        user_id: UserId,
        change: PasswordChange,
        keep_knox_digest: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let user = self.active_user(user_id).await?;
        self.verify_current_password(&user, &change.old_password, "old_password")
            .await?;
        self.replace_password(&user, change.new_password, &change.confirm_password)
            .await?;
        if self.inner.config.revoke_tokens_on_password_change {
            self.revoke_user_tokens(user.id, keep_knox_digest).await?;
        }
        self.emit(AuthEvent::PasswordChanged {
            user_id: user.id,
            at: self.now(),
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// Validates `new_password` (and that `confirm_password` matches) for
    /// `user`, then stores its hash.
    async fn replace_password(
        &self,
        user: &User,
        new_password: String,
        confirm_password: &str,
    ) -> Result<(), AuthError> {
        let mut errors = FieldErrors::new();
        self.check_new_password(
            &mut errors,
            &Self::attributes(user),
            ("new_password", &new_password),
            Some(("confirm_password", confirm_password)),
        );
        errors.into_result()?;
        let hash = self.inner.passwords.hash(new_password).await?;
        self.write_about(
            user.id,
            self.inner
                .stores
                .users
                .set_password_hash(user.id, Some(&hash)),
        )
        .await?;
        if self.inner.config.password_changed_email {
            self.send_account_email(EmailKind::PasswordChanged, user, None);
        }
        Ok(())
    }

    /// Verifies `password` against `user`'s (one verification, counted),
    /// failing with a field error under `field`.
    async fn verify_current_password(
        &self,
        user: &User,
        password: &str,
        field: &'static str,
    ) -> Result<(), AuthError> {
        let ok = self.verify_password(Some(user), password).await?.ok;
        if ok {
            Ok(())
        } else {
            Err(AuthError::WrongPassword { field })
        }
    }

    /// Revokes the user's tokens: every JWT issued until now (through the
    /// per-user mark), every Knox token but `keep_knox_digest`, the static
    /// token, every OAuth2 token (the mark also voids one being issued
    /// meanwhile) and every browser session of the provider's pages.
    pub async fn revoke_user_tokens(
        &self,
        user_id: UserId,
        keep_knox_digest: Option<&str>,
    ) -> Result<(), AuthError> {
        let stores = &self.inner.stores;
        self.write_about(
            user_id,
            stores
                .revocations
                .set_tokens_valid_after(user_id, self.now()),
        )
        .await?;
        match keep_knox_digest {
            None => {
                self.write_about(user_id, stores.knox.delete_user_knox_tokens(user_id))
                    .await?;
            }
            Some(keep) => {
                for token in stores.knox.user_knox_tokens(user_id, self.now()).await? {
                    if token.digest != keep {
                        self.write_about(user_id, stores.knox.delete_knox_token(&token.digest))
                            .await?;
                    }
                }
            }
        }
        self.write_about(user_id, stores.static_tokens.delete_static_token(user_id))
            .await?;
        stores
            .oauth_tokens
            .revoke_user_oauth_tokens(user_id, self.now())
            .await?;
        stores
            .browser_sessions
            .delete_user_sessions(user_id)
            .await?;
        Ok(())
    }

    /// The active user with this id, or [`AuthError::Unauthenticated`]
    /// (the account was deleted or deactivated since the token was issued).
    pub async fn active_user(&self, user_id: UserId) -> Result<User, AuthError> {
        match self.inner.stores.users.user_by_id(user_id).await? {
            Some(user) if user.is_active => Ok(user),
            _ => Err(AuthError::Unauthenticated(
                crate::error::TokenRejection::UserInactive,
            )),
        }
    }

    /// Updates the signed-in user's names and profile (`PATCH
    /// /api/auth/me`); profile keys merge and a `null` removes one. A
    /// merged profile over the cap is a field error on `profile`. Only the
    /// names and the profile are written, so a deactivation or a demotion
    /// made meanwhile stands.
    pub async fn update_profile(
        &self,
        user_id: UserId,
        update: ProfileUpdate,
    ) -> Result<User, AuthError> {
        let mut user = self.active_user(user_id).await?;
        let patch = update.into_patch();
        let mut errors = patch.validate();
        self.check_merged_profile(&mut errors, &user, &patch);
        errors.into_result()?;
        let update = patch.to_update(&user);
        self.write_about(
            user.id,
            self.inner.stores.users.update_user(user.id, &update),
        )
        .await?;
        update.apply_to(&mut user);
        Ok(user)
    }

    /// Deletes the signed-in user's account after checking the password
    /// (`DELETE /api/auth/me`), with every token and the login history.
    pub async fn delete_account(
        &self,
        user_id: UserId,
        deletion: AccountDeletion,
    ) -> Result<(), AuthError> {
        let user = self.active_user(user_id).await?;
        self.verify_current_password(&user, &deletion.password, "password")
            .await?;
        self.purge_user(user.id).await
    }

    async fn purge_user(&self, user_id: UserId) -> Result<(), AuthError> {
        self.revoke_user_tokens(user_id, None).await?;
        let stores = &self.inner.stores;
        // Entries still queued for the user land before the deletion.
        self.inner.history_queue.flush().await;
        stores.history.delete_user_history(user_id).await?;
        if !self
            .write_about(user_id, stores.users.delete_user(user_id))
            .await?
        {
            return Err(AuthError::NotFound);
        }
        self.emit(AuthEvent::AccountDeleted {
            user_id,
            at: self.now(),
        })
        .await;
        Ok(())
    }

    /// The user's login history, newest first (`GET
    /// /api/auth/me/history`). `page` starts at 1; `page_size` is capped at
    /// [`MAX_PAGE_SIZE`].
    pub async fn login_history(
        &self,
        user_id: UserId,
        page: u64,
        page_size: u64,
    ) -> Result<Page<HistoryEntry>, AuthError> {
        let (offset, limit) = page_bounds(page, page_size)?;
        // What this server has queued is read back.
        self.inner.history_queue.flush().await;
        Ok(self
            .inner
            .stores
            .history
            .user_history(user_id, offset, limit)
            .await?)
    }

    /// Users for the staff admin (`GET /api/users`), ordered by join date.
    pub async fn list_users(
        &self,
        search: Option<String>,
        page: u64,
        page_size: u64,
    ) -> Result<Page<User>, AuthError> {
        let (offset, limit) = page_bounds(page, page_size)?;
        let search = search
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Ok(self
            .inner
            .stores
            .users
            .list_users(&UserQuery {
                search,
                offset,
                limit,
            })
            .await?)
    }

    /// One user for the staff admin, or [`AuthError::NotFound`].
    pub async fn get_user(&self, user_id: UserId) -> Result<User, AuthError> {
        self.inner
            .stores
            .users
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// Creates a user with full authority (commands, the application's own
    /// code): `username` and `email` required; the password, when given,
    /// passes the validators. The account counts as verified. The users
    /// admin calls [`create_user_as`](Self::create_user_as).
    pub async fn create_user(&self, input: AdminUserInput) -> Result<User, AuthError> {
        let mut errors = FieldErrors::new();
        for (field, value) in [
            ("username", &input.patch.username),
            ("email", &input.patch.email),
        ] {
            if value.is_none() {
                errors.add(field, REQUIRED);
            }
        }
        self.check_identity(&mut errors, &input.patch, None).await?;
        if let Some(password) = &input.password {
            let p = &input.patch;
            let attributes = UserAttributes {
                username: p.username.as_deref().unwrap_or(""),
                email: p.email.as_deref().unwrap_or(""),
                first_name: p.first_name.as_deref().unwrap_or(""),
                last_name: p.last_name.as_deref().unwrap_or(""),
            };
            self.check_new_password(&mut errors, &attributes, ("password", password), None);
        }
        if let Some(profile) = &input.patch.profile {
            self.check_profile_size(&mut errors, profile);
        }
        errors.into_result()?;
        let mut patch = input.patch;
        patch.is_active.get_or_insert(true);
        let user = self.new_user(&patch, input.password, true).await?;
        self.inner
            .stores
            .users
            .insert_user(&user)
            .await
            .map_err(Self::conflict_error)?;
        Ok(user)
    }

    /// Updates a user with full authority (`PUT`/`PATCH /api/users/{id}`
    /// through [`update_user_as`](Self::update_user_as)); a new password
    /// passes the validators and revokes the user's tokens, and so does
    /// deactivating the account. Only the fields given are written; setting
    /// `is_active` either way also marks the email verified, so the account
    /// can no longer activate itself. The user as stored afterwards is
    /// returned.
    pub async fn update_user(
        &self,
        user_id: UserId,
        input: AdminUserInput,
    ) -> Result<User, AuthError> {
        let user = self.get_user(user_id).await?;
        self.update_read_user(&user, input).await
    }

    async fn update_read_user(
        &self,
        user: &User,
        input: AdminUserInput,
    ) -> Result<User, AuthError> {
        let mut errors = FieldErrors::new();
        self.check_identity(&mut errors, &input.patch, Some(user.id))
            .await?;
        self.check_merged_profile(&mut errors, user, &input.patch);
        if let Some(password) = &input.password {
            let mut updated = user.clone();
            input.patch.apply_to(&mut updated);
            self.check_new_password(
                &mut errors,
                &Self::attributes(&updated),
                ("password", password),
                None,
            );
        }
        errors.into_result()?;
        let users = &self.inner.stores.users;
        let mut update = input.patch.to_update(user);
        if update.is_active.is_some() {
            // Staff decided whether the account is active: it is out of the
            // activation path (an account they deactivated before its email
            // was verified cannot activate itself either).
            update.email_verified = Some(true);
        }
        self.write_about(user.id, users.update_user(user.id, &update))
            .await
            .map_err(Self::conflict_error)?;
        let revoke = input.password.is_some() || input.patch.is_active == Some(false);
        if let Some(password) = input.password {
            let hash = self.inner.passwords.hash(password).await?;
            self.write_about(user.id, users.set_password_hash(user.id, Some(&hash)))
                .await?;
        }
        if revoke {
            self.revoke_user_tokens(user.id, None).await?;
        }
        self.get_user(user.id).await
    }

    /// Deletes a user with full authority (`DELETE /api/users/{id}` through
    /// [`delete_user_as`](Self::delete_user_as)), with every token and the
    /// login history.
    pub async fn delete_user(&self, user_id: UserId) -> Result<(), AuthError> {
        self.get_user(user_id).await?;
        self.purge_user(user_id).await
    }

    /// The users admin's rule for `actor` writing `target` (none when
    /// creating) with `patch`: only staff use the admin, and only a
    /// superuser may grant or remove staff or superuser status, or change,
    /// set the password of, or delete a staff or superuser account.
    /// [`AuthError::PermissionDenied`] otherwise.
    pub fn authorize_user_admin(
        actor: &User,
        target: Option<&User>,
        patch: Option<&UserPatch>,
    ) -> Result<(), AuthError> {
        if actor.is_superuser && actor.is_staff {
            return Ok(());
        }
        let privileged = |user: &User| user.is_staff || user.is_superuser;
        let (staff_now, superuser_now) =
            target.map_or((false, false), |t| (t.is_staff, t.is_superuser));
        let escalates = patch.is_some_and(|p| {
            p.is_staff.is_some_and(|v| v != staff_now)
                || p.is_superuser.is_some_and(|v| v != superuser_now)
        });
        if !actor.is_staff || target.is_some_and(privileged) || escalates {
            return Err(AuthError::PermissionDenied);
        }
        Ok(())
    }

    /// [`create_user`](Self::create_user) on behalf of `actor` (`POST
    /// /api/users`), under [`authorize_user_admin`](Self::authorize_user_admin).
    pub async fn create_user_as(
        &self,
        actor: &User,
        input: AdminUserInput,
    ) -> Result<User, AuthError> {
        Self::authorize_user_admin(actor, None, Some(&input.patch))?;
        self.create_user(input).await
    }

    /// [`update_user`](Self::update_user) on behalf of `actor` (`PUT`/`PATCH
    /// /api/users/{id}`), under [`authorize_user_admin`](Self::authorize_user_admin).
    pub async fn update_user_as(
        &self,
        actor: &User,
        user_id: UserId,
        input: AdminUserInput,
    ) -> Result<User, AuthError> {
        let user = self.get_user(user_id).await?;
        Self::authorize_user_admin(actor, Some(&user), Some(&input.patch))?;
        self.update_read_user(&user, input).await
    }

    /// [`delete_user`](Self::delete_user) on behalf of `actor` (`DELETE
    /// /api/users/{id}`), under [`authorize_user_admin`](Self::authorize_user_admin).
    pub async fn delete_user_as(&self, actor: &User, user_id: UserId) -> Result<(), AuthError> {
        let user = self.get_user(user_id).await?;
        Self::authorize_user_admin(actor, Some(&user), None)?;
        self.purge_user(user_id).await
    }

    /// Creates an active staff superuser, like Django's `createsuperuser`
    /// (the password still passes the validators).
    pub async fn create_superuser(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> Result<User, AuthError> {
        self.create_user(AdminUserInput {
            patch: UserPatch {
                username: Some(username.to_string()),
                email: Some(email.to_string()),
                is_active: Some(true),
                is_staff: Some(true),
                is_superuser: Some(true),
                ..UserPatch::default()
            },
            password: Some(password.to_string()),
        })
        .await
    }
}

/// `(offset, limit)` for a 1-based page; a page size of 0 or above the cap,
/// or a page of 0, is a field error.
fn page_bounds(page: u64, page_size: u64) -> Result<(u64, u64), AuthError> {
    let mut errors = FieldErrors::new();
    if page == 0 {
        errors.add("page", "Invalid page.");
    }
    if page_size == 0 || page_size > MAX_PAGE_SIZE {
        errors.add(
            "page_size",
            format!("Ensure this value is between 1 and {MAX_PAGE_SIZE}."),
        );
    }
    errors.into_result()?;
    Ok(((page - 1).saturating_mul(page_size), page_size))
}
