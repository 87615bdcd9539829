//! A user's own OAuth2 applications and the grants they gave, as [`Auth`]
//! methods: register ([`Auth::create_application`]), list, read, change,
//! delete and rotate the secret of the applications the user registered,
//! and list or revoke the applications the user authorized.
//!
//! Who may: only an application's owner sees or changes it; anyone else's
//! application (staff included) is [`AuthError::NotFound`], never
//! `PermissionDenied`, so ids cannot be probed. The HTTP layer admits only
//! this library's own credentials here (an OAuth2 access token must not
//! manage applications).
//!
//! The rules on the fields: a non-blank name; `confidential` or `public`;
//! a non-empty set of known grant types (`client_credentials` only for a
//! confidential client, `refresh_token` only beside a grant that issues
//! one, `authorization_code` only with a redirect URI); redirect and
//! post-logout URIs absolute, without a fragment, `https`, `http` on a
//! loopback address or a private-use scheme (RFC 8252 §7); CORS origins
//! `https://host[:port]` (`http` for loopback hosts). Each refusal is a
//! field error under the field's name.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};

use super::{Application, ApplicationId, ClientSecret, ClientType, GrantType, Scopes};
use crate::Auth;
use crate::error::{AuthError, FieldErrors};
use crate::user::UserId;

/// The longest application name.
pub const MAX_APPLICATION_NAME: usize = 255;
/// The most URIs (or origins) in one list.
pub const MAX_APPLICATION_URIS: usize = 32;
/// The longest URI (or origin).
pub const MAX_URI_LENGTH: usize = 2000;

/// An application's settings as a user submits them, before the rules
/// run: the registration form, or the whole of a replacement (`PUT`).
///
/// The rules ([`check`](Self::check)): a non-blank name of at most
/// [`MAX_APPLICATION_NAME`] characters; `confidential` or `public`; a
/// non-empty set of known grant types (`client_credentials` only for a
/// confidential client, `refresh_token` only beside `authorization_code`
/// or `password`, `authorization_code` only with a redirect URI); redirect
/// and post-logout URIs absolute, without a fragment, `https`, `http` on
/// 127.0.0.1 or \[::1\], or a private-use scheme (RFC 8252 §7); allowed
/// origins `https://host[:port]` (`http` on a loopback host); at most
/// [`MAX_APPLICATION_URIS`] entries of at most [`MAX_URI_LENGTH`]
/// characters per list. Each refusal is a field error under the field's
/// name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationInput {
    /// Shown on the consent page.
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// Grant type names (`authorization_code`, `client_credentials`,
    /// `refresh_token`, `password`).
    pub grant_types: Vec<String>,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser.
    pub post_logout_redirect_uris: Vec<String>,
    /// Origins allowed to call the token endpoint from a browser.
    pub allowed_origins: Vec<String>,
    /// Skip the consent page.
    pub skip_authorization: bool,
}

/// A partial change (`PATCH`): `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationPatch {
    /// A new name.
    pub name: Option<String>,
    /// The client type; it cannot change (a different one is a field
    /// error), as a secret would appear or vanish with it.
    pub client_type: Option<String>,
    /// New grant types.
    pub grant_types: Option<Vec<String>>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// New allowed origins.
    pub allowed_origins: Option<Vec<String>>,
    /// Skip the consent page or not.
    pub skip_authorization: Option<bool>,
}

impl From<ApplicationInput> for ApplicationPatch {
    /// A replacement: every field set.
    fn from(input: ApplicationInput) -> Self {
        Self {
            name: Some(input.name),
            client_type: Some(input.client_type),
            grant_types: Some(input.grant_types),
            redirect_uris: Some(input.redirect_uris),
            post_logout_redirect_uris: Some(input.post_logout_redirect_uris),
            allowed_origins: Some(input.allowed_origins),
            skip_authorization: Some(input.skip_authorization),
        }
    }
}

impl From<&Application> for ApplicationInput {
    /// The settings of a stored application, as a user would submit them
    /// (to fill an edit form).
    fn from(application: &Application) -> Self {
        Self {
            name: application.name.clone(),
            client_type: application.client_type.as_str().to_string(),
            grant_types: application
                .grant_types
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            redirect_uris: application.redirect_uris.clone(),
            post_logout_redirect_uris: application.post_logout_redirect_uris.clone(),
            allowed_origins: application.allowed_origins.clone(),
            skip_authorization: application.skip_authorization,
        }
    }
}

impl ApplicationInput {
    /// These settings with `patch`'s values over them.
    fn patched(self, patch: ApplicationPatch) -> Self {
        Self {
            name: patch.name.unwrap_or(self.name),
            client_type: patch.client_type.unwrap_or(self.client_type),
            grant_types: patch.grant_types.unwrap_or(self.grant_types),
            redirect_uris: patch.redirect_uris.unwrap_or(self.redirect_uris),
            post_logout_redirect_uris: patch
                .post_logout_redirect_uris
                .unwrap_or(self.post_logout_redirect_uris),
            allowed_origins: patch.allowed_origins.unwrap_or(self.allowed_origins),
            skip_authorization: patch.skip_authorization.unwrap_or(self.skip_authorization),
        }
    }

    /// Every field's errors under the rules (empty when the input may be
    /// registered): for a reader that also reports errors of its own, so
    /// a client hears about every field at once.
    pub fn check(&self) -> FieldErrors {
        self.validate().err().unwrap_or_default()
    }

    /// The settings checked against every rule, or every field's errors.
    fn validate(&self) -> Result<Settings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim();
        if name.is_empty() {
            errors.add("name", "This field may not be blank.");
        } else if name.chars().count() > MAX_APPLICATION_NAME {
            errors.add(
                "name",
                format!("Ensure this field has no more than {MAX_APPLICATION_NAME} characters."),
            );
        } else if name.chars().any(char::is_control) {
            errors.add("name", "The name may not contain control characters.");
        }
        let client_type = ClientType::parse(&self.client_type);
        if client_type.is_none() {
            errors.add("client_type", choice_error(&self.client_type));
        }
        let mut grant_types = BTreeSet::new();
        for grant in &self.grant_types {
            match GrantType::parse(grant) {
                Some(grant) => {
                    grant_types.insert(grant);
                }
                None => errors.add("grant_types", choice_error(grant)),
            }
        }
        if self.grant_types.is_empty() {
            errors.add("grant_types", "Choose at least one grant type.");
        }
        if client_type == Some(ClientType::Public)
            && grant_types.contains(&GrantType::ClientCredentials)
        {
            errors.add(
                "grant_types",
                "A public client cannot use client_credentials: it has no secret.",
            );
        }
        if grant_types.contains(&GrantType::RefreshToken)
            && !grant_types.contains(&GrantType::AuthorizationCode)
            && !grant_types.contains(&GrantType::Password)
        {
            errors.add(
                "grant_types",
                "refresh_token needs authorization_code or password, the grants that issue refresh tokens.",
            );
        }
        let redirect_uris = uris(&mut errors, "redirect_uris", &self.redirect_uris, |u| {
            check_redirect_uri(u)
        });
        if grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            errors.add(
                "redirect_uris",
                "authorization_code needs at least one redirect URI.",
            );
        }
        let post_logout_redirect_uris = uris(
            &mut errors,
            "post_logout_redirect_uris",
            &self.post_logout_redirect_uris,
            check_redirect_uri,
        );
        let allowed_origins = uris(
            &mut errors,
            "allowed_origins",
            &self.allowed_origins,
            check_origin,
        );
        match client_type {
            Some(client_type) if errors.is_empty() => Ok(Settings {
                name: name.to_string(),
                client_type,
                grant_types,
                redirect_uris,
                post_logout_redirect_uris,
                allowed_origins,
                skip_authorization: self.skip_authorization,
            }),
            _ => Err(errors),
        }
    }
}

/// DRF's message for a value that is not one of the choices.
fn choice_error(value: &str) -> String {
    format!("\"{value}\" is not a valid choice.")
}

/// The list checked entry by entry (each error names the entry), without
/// duplicates, in the order given.
fn uris(
    errors: &mut FieldErrors,
    field: &str,
    list: &[String],
    check: impl Fn(&str) -> Result<(), &'static str>,
) -> Vec<String> {
    if list.len() > MAX_APPLICATION_URIS {
        errors.add(
            field,
            format!("Ensure this field has no more than {MAX_APPLICATION_URIS} elements."),
        );
    }
    let mut kept: Vec<String> = Vec::new();
    for uri in list {
        if let Err(message) = check(uri) {
            // An odd string is not echoed whole.
            let shown: String = uri.chars().take(100).filter(|c| !c.is_control()).collect();
            errors.add(field, format!("{shown}: {message}"));
        } else if !kept.contains(uri) {
            kept.push(uri.clone());
        }
    }
    kept
}

/// The scheme of `uri` (before the first `:`) when it is one (RFC 3986
/// §3.1), and the rest.
fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some((scheme, rest))
}

/// The host and port of an `//authority` followed by `/`, `?` or the end;
/// `None` for no authority, user info, or a malformed host or port.
fn split_authority(after_scheme: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = after_scheme.strip_prefix("//")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        let inner = &host[1..host.len() - 1];
        if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return None;
        }
        (host, port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
        if !host_ok {
            return None;
        }
        (host, port)
    };
    if let Some(port) = port
        && (port.is_empty()
            || port.len() > 5
            || !port.chars().all(|c| c.is_ascii_digit())
            || port.parse::<u32>().ok()? > 65_535)
    {
        return None;
    }
    Some((host, port, tail))
}

/// The hosts where plain `http` is allowed (RFC 8252 §7.3: the loopback
/// IP literals; `localhost` may resolve elsewhere, §8.3).
const LOOPBACK: [&str; 2] = ["127.0.0.1", "[::1]"];

/// A redirect (or post-logout redirect) URI's rules (RFC 6749 §3.1.2, RFC
/// 8252 §7, RFC 9700 §2.1).
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() || uri.len() > MAX_URI_LENGTH {
        return Err("Enter a URI of at most 2000 characters.");
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("A URI may not contain spaces or control characters.");
    }
    if uri.contains('#') {
        return Err("A redirect URI may not contain a fragment.");
    }
    let Some((scheme, rest)) = split_scheme(uri) else {
        return Err("Enter an absolute URI.");
    };
    match scheme {
        "https" => split_authority(rest)
            .map(|_| ())
            .ok_or("Enter a valid https URI with a host."),
        "http" => match split_authority(rest) {
            Some((host, _, _)) if LOOPBACK.contains(&host) => Ok(()),
            _ => Err(
                "http is only allowed on a loopback address (http://127.0.0.1 or http://[::1]); use https.",
            ),
        },
        // RFC 8252 §7.1: a private-use scheme is a reversed domain name.
        private if private.contains('.') && !rest.is_empty() => Ok(()),
        _ => Err(
            "Use https, http on a loopback address, or a private-use scheme such as com.example.app:/callback (RFC 8252).",
        ),
    }
}

/// An allowed CORS origin: `https://host[:port]` exactly (no path, no
/// trailing slash), or `http` on a loopback host (`localhost` too: it is
/// what a browser reports).
fn check_origin(origin: &str) -> Result<(), &'static str> {
    const MESSAGE: &str = "Enter an origin such as https://app.example or https://app.example:8443 (http only for loopback hosts), with no path.";
    let Some((scheme, rest)) = split_scheme(origin) else {
        return Err(MESSAGE);
    };
    match split_authority(rest) {
        Some((_, _, "")) if scheme == "https" => Ok(()),
        Some((host, _, ""))
            if scheme == "http" && (LOOPBACK.contains(&host) || host == "localhost") =>
        {
            Ok(())
        }
        _ => Err(MESSAGE),
    }
}

/// Settings that passed every rule.
struct Settings {
    name: String,
    client_type: ClientType,
    grant_types: BTreeSet<GrantType>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    allowed_origins: Vec<String>,
    skip_authorization: bool,
}

impl Settings {
    fn apply(self, application: &mut Application) {
        application.name = self.name;
        application.client_type = self.client_type;
        application.grant_types = self.grant_types;
        application.redirect_uris = self.redirect_uris;
        application.post_logout_redirect_uris = self.post_logout_redirect_uris;
        application.allowed_origins = self.allowed_origins;
        application.skip_authorization = self.skip_authorization;
    }
}

/// An application with a secret just generated (on registration or
/// rotation): show [`secret`](Self::secret) once, it is not kept. `Debug`
/// hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApplicationSecret {
    /// The application as stored.
    pub application: Application,
    /// The new secret; `None` for a public client.
    pub secret: Option<ClientSecret>,
}

impl fmt::Debug for NewApplicationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApplicationSecret")
            .field("application", &self.application)
            .field("secret", &self.secret)
            .finish()
    }
}

/// An application the user authorized (a remembered consent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedApplication {
    /// The application's id.
    pub application_id: ApplicationId,
    /// Its name.
    pub name: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// When the user first granted it.
    pub granted: DateTime<Utc>,
    /// When the grant last grew.
    pub updated: DateTime<Utc>,
}

impl Auth {
    /// Registers an application owned by `owner` (`None`: an
    /// administrator's, as the demo's `create-application` makes without
    /// `--user`) after checking every rule (see [`ApplicationInput`]); a
    /// confidential client gets a secret, to show once.
    pub async fn create_application(
        &self,
        owner: impl Into<Option<UserId>>,
        input: ApplicationInput,
    ) -> Result<NewApplicationSecret, AuthError> {
        let settings = input.validate().map_err(AuthError::Validation)?;
        let secret =
            (settings.client_type == ClientType::Confidential).then(ClientSecret::generate);
        let mut application = Application::register(
            String::new(),
            settings.client_type,
            [],
            Vec::new(),
            secret.as_ref(),
            self.now(),
        );
        settings.apply(&mut application);
        application.owner = owner.into();
        self.inner
            .stores
            .oauth_applications
            .insert_application(&application)
            .await?;
        Ok(NewApplicationSecret {
            application,
            secret,
        })
    }

    /// The applications `owner` registered, oldest first.
    pub async fn owned_applications(&self, owner: UserId) -> Result<Vec<Application>, AuthError> {
        Ok(self
            .inner
            .stores
            .oauth_applications
            .user_applications(owner)
            .await?)
    }

    /// The application `id` if `owner` registered it; anyone else's (or
    /// none) is [`AuthError::NotFound`].
    pub async fn owned_application(
        &self,
        owner: UserId,
        id: ApplicationId,
    ) -> Result<Application, AuthError> {
        self.inner
            .stores
            .oauth_applications
            .application(id)
            .await?
            .filter(|application| application.owner == Some(owner))
            .ok_or(AuthError::NotFound)
    }

    /// Changes `owner`'s application `id` (a replacement is a patch with
    /// every field set): the result must pass every rule, and the client
    /// type cannot change.
    pub async fn update_owned_application(
        &self,
        owner: UserId,
        id: ApplicationId,
        patch: ApplicationPatch,
    ) -> Result<Application, AuthError> {
        let mut application = self.owned_application(owner, id).await?;
        let input = ApplicationInput::from(&application).patched(patch);
        let settings = match input.validate() {
            Ok(settings) if settings.client_type != application.client_type => {
                return Err(AuthError::Validation(FieldErrors::single(
                    "client_type",
                    "The client type cannot be changed; register a new application.",
                )));
            }
            Ok(settings) => settings,
            Err(errors) => return Err(AuthError::Validation(errors)),
        };
        settings.apply(&mut application);
        application.updated = self.now();
        self.write_application(&application).await?;
        Ok(application)
    }

    /// Deletes `owner`'s application `id`, then revokes every token issued
    /// to it and forgets every consent to it. Its outstanding codes can no
    /// longer be exchanged: the token endpoint finds no client.
    pub async fn delete_owned_application(
        &self,
        owner: UserId,
        id: ApplicationId,
    ) -> Result<(), AuthError> {
        self.owned_application(owner, id).await?;
        let stores = &self.inner.stores;
        if !stores.oauth_applications.delete_application(id).await? {
            return Err(AuthError::NotFound);
        }
        stores
            .oauth_tokens
            .revoke_application_tokens(id, None, self.now())
            .await?;
        stores
            .oauth_consents
            .delete_application_consents(id)
            .await?;
        Ok(())
    }

    /// A new secret for `owner`'s confidential application `id`, to show
    /// once; the previous one keeps working for
    /// [`OAuthConfig::secret_rotation_overlap`](crate::config::OAuthConfig::secret_rotation_overlap)
    /// (a secret rotated out before that is dropped now). A public client
    /// has no secret: a field error on `client_type`.
    pub async fn rotate_owned_application_secret(
        &self,
        owner: UserId,
        id: ApplicationId,
    ) -> Result<NewApplicationSecret, AuthError> {
        let mut application = self.owned_application(owner, id).await?;
        if application.client_type != ClientType::Confidential {
            return Err(AuthError::Validation(FieldErrors::single(
                "client_type",
                "A public client has no secret to rotate.",
            )));
        }
        let now = self.now();
        let secret = ClientSecret::generate();
        application.previous_secret_digest = application.secret_digest.replace(secret.digest());
        application.previous_secret_until = application
            .previous_secret_digest
            .as_ref()
            .map(|_| now + self.inner.config.oauth.secret_rotation_overlap);
        application.updated = now;
        self.write_application(&application).await?;
        Ok(NewApplicationSecret {
            application,
            secret: Some(secret),
        })
    }

    async fn write_application(&self, application: &Application) -> Result<(), AuthError> {
        let stores = &self.inner.stores;
        if stores
            .oauth_applications
            .update_application(application)
            .await?
        {
            Ok(())
        } else {
            // Deleted meanwhile.
            Err(AuthError::NotFound)
        }
    }

    /// The applications `user` authorized, oldest grant first, with the
    /// scopes granted (grants to applications deleted since are left out).
    pub async fn authorized_applications(
        &self,
        user: UserId,
    ) -> Result<Vec<AuthorizedApplication>, AuthError> {
        let stores = &self.inner.stores;
        let mut authorized = Vec::new();
        for consent in stores.oauth_consents.user_consents(user).await? {
            if let Some(application) = stores
                .oauth_applications
                .application(consent.application_id)
                .await?
            {
                authorized.push(AuthorizedApplication {
                    application_id: application.id,
                    name: application.name,
                    scopes: consent.scopes,
                    granted: consent.created,
                    updated: consent.updated,
                });
            }
        }
        Ok(authorized)
    }

    /// Revokes `user`'s grant to `application`: forgets the consent (the
    /// next authorization asks again) and revokes that user's tokens for
    /// that application, no one else's. The user's outstanding
    /// authorization codes for it can no longer be exchanged: the token
    /// endpoint requires the consent a code was issued under (see
    /// [`Auth::oauth_token`]). [`AuthError::NotFound`] when the user had
    /// not authorized it.
    pub async fn revoke_authorized_application(
        &self,
        user: UserId,
        application: ApplicationId,
    ) -> Result<(), AuthError> {
        let stores = &self.inner.stores;
        let had_consent = stores
            .oauth_consents
            .delete_consent(user, application)
            .await?;
        let revoked = stores
            .oauth_tokens
            .revoke_application_tokens(application, Some(user), self.now())
            .await?;
        if !had_consent && revoked == 0 {
            return Err(AuthError::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for good in [
            "https://app.example/cb",
            "https://app.example:8443/cb?x=1",
            "https://app.example",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
            "com.example.app://callback",
        ] {
            assert_eq!(check_redirect_uri(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/cb",
            "app.example/cb",
            "https://app.example/cb#frag",
            "https://app.example/c b",
            "https://",
            "https:app.example",
            "https://user@app.example/cb",
            "https://app.example:99999/cb",
            "http://app.example/cb",
            "http://localhost/cb",
            "http://127.0.0.1.evil.example/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "myapp:/cb",
            "com.example.app:",
            "HTTPS://app.example/cb",
            "https://app.example/\u{0}",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        assert!(check_redirect_uri(&format!("https://a.example/{}", "x".repeat(2000))).is_err());
    }

    #[test]
    fn origin_rules() {
        for good in [
            "https://app.example",
            "https://app.example:8443",
            "http://localhost:3000",
            "http://127.0.0.1:3000",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "https://app.example/",
            "https://app.example/path",
            "http://app.example",
            "app.example",
            "*",
            "null",
            "https://app.example?x",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    mod service {
        use std::sync::Arc;

        use chrono::Duration;

        use super::super::*;
        use crate::config::{AuthConfig, OAuthConfig};
        use crate::error::AuthError;
        use crate::events::ClientInfo;
        use crate::flows::AdminUserInput;
        use crate::oauth::{ClientAuth, ClientAuthMethod, IssuedOAuthTokens, TokenGrant};
        use crate::password::{Argon2Params, Argon2idHasher};
        use crate::throttle::ThrottleConfig;
        use crate::user::User;
        use crate::{ManualClock, MemoryStore};

        const PASSWORD: &str = "correct-horse-battery-9";

        struct Env {
            auth: Auth,
            clock: ManualClock,
            ada: User,
            bob: User,
        }

        async fn env() -> Env {
            let clock = ManualClock::at_unix(1_800_000_000);
            let oauth = OAuthConfig {
                password_grant: true,
                secret_rotation_overlap: Duration::hours(2),
                ..OAuthConfig::default()
            };
            let config = AuthConfig::default()
                .with_throttle(ThrottleConfig::disabled())
                .with_oauth(oauth);
            let auth = Auth::builder(config)
                .store(Arc::new(MemoryStore::new()))
                .clock(Arc::new(clock.clone()))
                .hasher(Arc::new(
                    Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
                ))
                .build()
                .unwrap();
            let mut users = Vec::new();
            for name in ["ada", "bob"] {
                users.push(
                    auth.create_user(
                        AdminUserInput::new_user(name, format!("{name}@example.com"))
                            .with_password(PASSWORD),
                    )
                    .await
                    .unwrap(),
                );
            }
            let bob = users.pop().unwrap();
            let ada = users.pop().unwrap();
            Env {
                auth,
                clock,
                ada,
                bob,
            }
        }

        fn input(client_type: &str, grants: &[&str], redirects: &[&str]) -> ApplicationInput {
            ApplicationInput {
                name: "Printer".into(),
                client_type: client_type.into(),
                grant_types: grants.iter().map(|g| g.to_string()).collect(),
                redirect_uris: redirects.iter().map(|u| u.to_string()).collect(),
                ..ApplicationInput::default()
            }
        }

        fn confidential() -> ApplicationInput {
            input(
                "confidential",
                &[
                    "authorization_code",
                    "client_credentials",
                    "password",
                    "refresh_token",
                ],
                &["https://app.example/cb"],
            )
        }

        fn errors(result: Result<impl fmt::Debug, AuthError>) -> FieldErrors {
            match result {
                Err(AuthError::Validation(errors)) => errors,
                other => panic!("expected field errors, got {other:?}"),
            }
        }

        fn client(app: &NewApplicationSecret, secret: &str) -> ClientAuth {
            ClientAuth {
                client_id: app.application.client_id.clone(),
                secret: Some(secret.to_string()),
                method: ClientAuthMethod::Post,
            }
        }

        async fn client_credentials(
            env: &Env,
            app: &NewApplicationSecret,
            secret: &str,
        ) -> Result<IssuedOAuthTokens, AuthError> {
            let client = env.auth.oauth_client(client(app, secret)).await?;
            env.auth
                .oauth_token(
                    &client,
                    &TokenGrant::ClientCredentials { scope: None },
                    &ClientInfo::default(),
                )
                .await
        }

        /// An access token for `user` issued to `app` (by the password
        /// grant, which is on here).
        async fn user_token(env: &Env, app: &NewApplicationSecret, user: &User) -> String {
            let secret = app.secret.as_ref().unwrap().expose();
            let client = env.auth.oauth_client(client(app, secret)).await.unwrap();
            env.auth
                .oauth_token(
                    &client,
                    &TokenGrant::Password {
                        username: user.username.clone(),
                        password: PASSWORD.into(),
                        scope: Some("profile".into()),
                    },
                    &ClientInfo::default(),
                )
                .await
                .unwrap()
                .access_token
        }

        async fn works(env: &Env, token: &str) -> bool {
            env.auth.authenticate_oauth_access(token).await.is_ok()
        }

        #[tokio::test]
        async fn every_refused_field_is_named() {
            let env = env().await;
            let ada = env.ada.id;
            let create = |input| env.auth.create_application(ada, input);
            let cases: Vec<(ApplicationInput, &str, &str)> = vec![
                (
                    ApplicationInput {
                        name: "  ".into(),
                        ..confidential()
                    },
                    "name",
                    "blank",
                ),
                (
                    ApplicationInput {
                        name: "x".repeat(256),
                        ..confidential()
                    },
                    "name",
                    "no more than 255",
                ),
                (
                    ApplicationInput {
                        name: "a\u{0}b".into(),
                        ..confidential()
                    },
                    "name",
                    "control",
                ),
                (
                    input("secret", &["client_credentials"], &[]),
                    "client_type",
                    "\"secret\" is not a valid choice.",
                ),
                (
                    input("confidential", &[], &[]),
                    "grant_types",
                    "at least one",
                ),
                (
                    input("confidential", &["implicit"], &[]),
                    "grant_types",
                    "\"implicit\" is not a valid choice.",
                ),
                (
                    input("public", &["client_credentials"], &[]),
                    "grant_types",
                    "public client cannot use client_credentials",
                ),
                (
                    input("confidential", &["refresh_token"], &[]),
                    "grant_types",
                    "refresh_token needs",
                ),
                (
                    input("public", &["authorization_code"], &[]),
                    "redirect_uris",
                    "at least one redirect URI",
                ),
                (
                    input(
                        "public",
                        &["authorization_code"],
                        &["https://app.example/cb#x"],
                    ),
                    "redirect_uris",
                    "fragment",
                ),
                (
                    input(
                        "public",
                        &["authorization_code"],
                        &["http://app.example/cb"],
                    ),
                    "redirect_uris",
                    "loopback",
                ),
                (
                    input("public", &["authorization_code"], &["/cb"]),
                    "redirect_uris",
                    "absolute",
                ),
                (
                    input("public", &["authorization_code"], &["myapp:/cb"]),
                    "redirect_uris",
                    "private-use",
                ),
                (
                    ApplicationInput {
                        post_logout_redirect_uris: vec!["javascript:alert(1)".into()],
                        ..confidential()
                    },
                    "post_logout_redirect_uris",
                    "private-use",
                ),
                (
                    ApplicationInput {
                        allowed_origins: vec!["https://app.example/".into()],
                        ..confidential()
                    },
                    "allowed_origins",
                    "no path",
                ),
                (
                    ApplicationInput {
                        redirect_uris: vec!["https://app.example/cb".into(); 33],
                        ..confidential()
                    },
                    "redirect_uris",
                    "no more than 32",
                ),
            ];
            for (bad, field, message) in cases {
                let errors = errors(create(bad.clone()).await);
                let messages = errors
                    .get(field)
                    .unwrap_or_else(|| panic!("{field}: {errors:?}"));
                assert!(
                    messages.iter().any(|m| m.contains(message)),
                    "{field}: {messages:?}"
                );
                assert_eq!(errors.iter().count(), 1, "{bad:?}: {errors:?}");
            }
            // Nothing was stored.
            assert!(env.auth.owned_applications(ada).await.unwrap().is_empty());
            // Errors of several fields come at once.
            let many = errors(create(input("nope", &["nope"], &["/cb"])).await);
            for field in ["client_type", "grant_types", "redirect_uris"] {
                assert!(many.get(field).is_some(), "{field}");
            }
            // The allowed shapes pass.
            let ok = ApplicationInput {
                redirect_uris: vec![
                    "https://app.example/cb".into(),
                    "http://127.0.0.1/cb".into(),
                    "http://[::1]:8080/cb".into(),
                    "com.example.app:/cb".into(),
                ],
                post_logout_redirect_uris: vec!["https://app.example/bye".into()],
                allowed_origins: vec!["https://app.example".into(), "http://localhost:3000".into()],
                ..input("public", &["authorization_code", "refresh_token"], &[])
            };
            let created = create(ok).await.unwrap();
            assert!(created.secret.is_none());
            assert_eq!(created.application.secret_digest, None);
            assert_eq!(created.application.owner, Some(ada));
            assert_eq!(created.application.redirect_uris.len(), 4);
        }

        #[tokio::test]
        async fn another_users_application_is_not_found() {
            let env = env().await;
            let (ada, bob) = (env.ada.id, env.bob.id);
            let app = env
                .auth
                .create_application(ada, confidential())
                .await
                .unwrap();
            let id = app.application.id;
            assert!(matches!(
                env.auth.owned_application(bob, id).await,
                Err(AuthError::NotFound)
            ));
            assert!(matches!(
                env.auth
                    .update_owned_application(
                        bob,
                        id,
                        ApplicationPatch {
                            name: Some("Mine".into()),
                            ..ApplicationPatch::default()
                        }
                    )
                    .await,
                Err(AuthError::NotFound)
            ));
            assert!(matches!(
                env.auth.rotate_owned_application_secret(bob, id).await,
                Err(AuthError::NotFound)
            ));
            assert!(matches!(
                env.auth.delete_owned_application(bob, id).await,
                Err(AuthError::NotFound)
            ));
            assert!(env.auth.owned_applications(bob).await.unwrap().is_empty());
            // Unchanged, and still the owner's.
            assert_eq!(
                env.auth.owned_application(ada, id).await.unwrap(),
                app.application
            );
            assert_eq!(
                env.auth.owned_applications(ada).await.unwrap(),
                vec![app.application]
            );
            assert!(matches!(
                env.auth.owned_application(ada, ApplicationId::new()).await,
                Err(AuthError::NotFound)
            ));
        }

        #[tokio::test]
        async fn patch_and_replace_keep_the_rules() {
            let env = env().await;
            let ada = env.ada.id;
            let app = env
                .auth
                .create_application(ada, confidential())
                .await
                .unwrap();
            let id = app.application.id;
            env.clock.advance(Duration::seconds(5));
            let patched = env
                .auth
                .update_owned_application(
                    ada,
                    id,
                    ApplicationPatch {
                        name: Some(" Scanner ".into()),
                        skip_authorization: Some(true),
                        ..ApplicationPatch::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(patched.name, "Scanner");
            assert!(patched.skip_authorization);
            assert_eq!(patched.grant_types, app.application.grant_types);
            assert_eq!(patched.secret_digest, app.application.secret_digest);
            assert!(patched.updated > app.application.updated);
            // The patched whole must pass: no redirect URI left for the code grant.
            let refused = errors(
                env.auth
                    .update_owned_application(
                        ada,
                        id,
                        ApplicationPatch {
                            redirect_uris: Some(vec![]),
                            ..ApplicationPatch::default()
                        },
                    )
                    .await,
            );
            assert!(refused.get("redirect_uris").is_some());
            let refused = errors(
                env.auth
                    .update_owned_application(
                        ada,
                        id,
                        ApplicationPatch {
                            client_type: Some("public".into()),
                            grant_types: Some(vec!["authorization_code".into()]),
                            ..ApplicationPatch::default()
                        },
                    )
                    .await,
            );
            assert!(refused.get("client_type").is_some());
            assert_eq!(env.auth.owned_application(ada, id).await.unwrap(), patched);
            let replaced = env
                .auth
                .update_owned_application(
                    ada,
                    id,
                    input("confidential", &["client_credentials"], &[]).into(),
                )
                .await
                .unwrap();
            assert_eq!(
                replaced.grant_types,
                BTreeSet::from([GrantType::ClientCredentials])
            );
            assert!(replaced.redirect_uris.is_empty());
            assert!(!replaced.skip_authorization);
        }

        #[tokio::test]
        async fn rotation_keeps_the_old_secret_for_the_overlap_only() {
            let env = env().await;
            let ada = env.ada.id;
            let app = env
                .auth
                .create_application(ada, confidential())
                .await
                .unwrap();
            let old = app.secret.clone().unwrap();
            client_credentials(&env, &app, old.expose()).await.unwrap();
            let rotated = env
                .auth
                .rotate_owned_application_secret(ada, app.application.id)
                .await
                .unwrap();
            let new = rotated.secret.clone().unwrap();
            assert_ne!(new, old);
            for secret in [&old, &new] {
                client_credentials(&env, &app, secret.expose())
                    .await
                    .unwrap();
            }
            env.clock.advance(Duration::hours(2) - Duration::seconds(1));
            client_credentials(&env, &app, old.expose()).await.unwrap();
            env.clock.advance(Duration::seconds(1));
            assert!(client_credentials(&env, &app, old.expose()).await.is_err());
            client_credentials(&env, &app, new.expose()).await.unwrap();
            // A public client has no secret to rotate.
            let public = env
                .auth
                .create_application(
                    ada,
                    input(
                        "public",
                        &["authorization_code"],
                        &["https://app.example/cb"],
                    ),
                )
                .await
                .unwrap();
            let refused = errors(
                env.auth
                    .rotate_owned_application_secret(ada, public.application.id)
                    .await,
            );
            assert!(refused.get("client_type").is_some());
            assert_eq!(
                env.auth
                    .owned_application(ada, public.application.id)
                    .await
                    .unwrap(),
                public.application
            );
        }

        #[tokio::test]
        async fn deleting_revokes_its_tokens_and_consents() {
            let env = env().await;
            let ada = env.ada.id;
            let app = env
                .auth
                .create_application(ada, confidential())
                .await
                .unwrap();
            let other = env
                .auth
                .create_application(ada, confidential())
                .await
                .unwrap();
            let secret = app.secret.clone().unwrap();
            let machine = client_credentials(&env, &app, secret.expose())
                .await
                .unwrap();
            let token = user_token(&env, &app, &env.bob).await;
            let kept = user_token(&env, &other, &env.bob).await;
            assert!(works(&env, &token).await);
            env.auth
                .stores()
                .oauth_consents
                .save_consent(&crate::oauth::Consent {
                    user_id: env.bob.id,
                    application_id: app.application.id,
                    scopes: Scopes::parse("profile").unwrap(),
                    created: env.auth.now(),
                    updated: env.auth.now(),
                })
                .await
                .unwrap();
            env.auth
                .delete_owned_application(ada, app.application.id)
                .await
                .unwrap();
            assert!(!works(&env, &token).await);
            let stored = env
                .auth
                .stores()
                .oauth_tokens
                .oauth_token(&crate::oauth::digest(&machine.access_token))
                .await
                .unwrap()
                .unwrap();
            assert!(stored.revoked_at.is_some());
            assert!(works(&env, &kept).await, "another application's token");
            assert!(
                env.auth
                    .authorized_applications(env.bob.id)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                client_credentials(&env, &app, secret.expose())
                    .await
                    .is_err()
            );
            assert!(matches!(
                env.auth
                    .delete_owned_application(ada, app.application.id)
                    .await,
                Err(AuthError::NotFound)
            ));
        }

        #[tokio::test]
        async fn revoking_a_grant_revokes_only_that_users_tokens_for_that_application() {
            let env = env().await;
            let ada = env.ada.id;
            let app = env
                .auth
                .create_application(ada, confidential())
                .await
                .unwrap();
            let other = env
                .auth
                .create_application(ada, confidential())
                .await
                .unwrap();
            let now = env.auth.now();
            for (user, application) in [
                (env.bob.id, app.application.id),
                (env.bob.id, other.application.id),
                (env.ada.id, app.application.id),
            ] {
                env.auth
                    .stores()
                    .oauth_consents
                    .save_consent(&crate::oauth::Consent {
                        user_id: user,
                        application_id: application,
                        scopes: Scopes::parse("profile").unwrap(),
                        created: now,
                        updated: now,
                    })
                    .await
                    .unwrap();
            }
            let bobs = user_token(&env, &app, &env.bob).await;
            let bobs_other = user_token(&env, &other, &env.bob).await;
            let adas = user_token(&env, &app, &env.ada).await;
            let listed = env.auth.authorized_applications(env.bob.id).await.unwrap();
            assert_eq!(listed.len(), 2);
            assert_eq!(listed[0].application_id, app.application.id);
            assert_eq!(listed[0].name, "Printer");
            assert_eq!(listed[0].scopes.to_string(), "profile");
            assert_eq!(listed[0].granted, now);

            env.auth
                .revoke_authorized_application(env.bob.id, app.application.id)
                .await
                .unwrap();
            assert!(!works(&env, &bobs).await);
            assert!(works(&env, &bobs_other).await);
            assert!(works(&env, &adas).await);
            let listed = env.auth.authorized_applications(env.bob.id).await.unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].application_id, other.application.id);
            assert_eq!(
                env.auth
                    .authorized_applications(env.ada.id)
                    .await
                    .unwrap()
                    .len(),
                1
            );
            assert!(matches!(
                env.auth
                    .revoke_authorized_application(env.bob.id, app.application.id)
                    .await,
                Err(AuthError::NotFound)
            ));
        }
    }
}
