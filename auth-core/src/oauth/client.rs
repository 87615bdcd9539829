//! Client credentials: generating a `client_id` and a `client_secret`, and
//! checking a presented secret against the stored digests.
//!
//! A secret is 256 bits from the OS generator, shown once and stored only
//! as the lower-hex SHA-256 of its text. A slow password hash buys nothing
//! for a random 256-bit value and would cap the token endpoint.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::digest;
use super::records::{Application, ApplicationId, ClientType, GrantType};
use crate::secret::{constant_time_eq, random_bytes};

/// A new `client_id`: 24 random bytes as 32 base64url characters. It is
/// not a secret, but random so that it tells nothing about the application.
pub fn generate_client_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<24>())
}

impl Application {
    /// A new application registered at `now`: a fresh id and a random
    /// `client_id`, no owner, no post-logout URIs or allowed origins, and
    /// consent asked of each user. A confidential client is given its
    /// `secret` (whose digest alone is kept); a public client passes
    /// `None`.
    ///
    /// ```
    /// use auth_core::oauth::{Application, ClientSecret, ClientType, GrantType};
    /// let secret = ClientSecret::generate();
    /// let app = Application::register(
    ///     "Printer",
    ///     ClientType::Confidential,
    ///     [GrantType::ClientCredentials],
    ///     Vec::new(),
    ///     Some(&secret),
    ///     chrono::Utc::now(),
    /// );
    /// assert_eq!(app.secret_digest, Some(secret.digest()));
    /// ```
    pub fn register(
        name: impl Into<String>,
        client_type: ClientType,
        grant_types: impl IntoIterator<Item = GrantType>,
        redirect_uris: Vec<String>,
        secret: Option<&ClientSecret>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ApplicationId::new(),
            client_id: generate_client_id(),
            name: name.into(),
            client_type,
            grant_types: grant_types.into_iter().collect(),
            redirect_uris,
            post_logout_redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            skip_authorization: false,
            owner: None,
            secret_digest: secret.map(ClientSecret::digest),
            previous_secret_digest: None,
            previous_secret_until: None,
            created: now,
            updated: now,
        }
    }
}

/// A client secret just generated: shown to its owner once, then only its
/// [`digest`](Self::digest) is kept. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// 32 bytes from the OS generator, as 43 base64url characters.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    /// The secret, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What to store: the lower-hex SHA-256 of the secret.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// The digests a presented client secret is checked against: the current
/// one and, during a rotation's overlap, the previous one.
#[derive(Clone, Copy)]
pub struct SecretDigests<'a> {
    /// The current secret's digest (`None` for a public client).
    pub current: Option<&'a str>,
    /// The previous secret's digest, after a rotation.
    pub previous: Option<&'a str>,
    /// Until when the previous secret is accepted.
    pub previous_until: Option<DateTime<Utc>>,
}

impl fmt::Debug for SecretDigests<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretDigests")
            .field("current", &self.current.map(|_| "[redacted]"))
            .field("previous", &self.previous.map(|_| "[redacted]"))
            .field("previous_until", &self.previous_until)
            .finish()
    }
}

impl SecretDigests<'_> {
    /// Whether `presented` is the current secret, or the previous one while
    /// its overlap lasts at `now`. The digests are compared in constant
    /// time, and both comparisons always run, so the timing does not tell
    /// which secret matched.
    pub fn verify(&self, presented: &str, now: DateTime<Utc>) -> bool {
        let digest = digest(presented);
        let matches = |stored: Option<&str>| {
            stored.is_some_and(|stored| constant_time_eq(stored.as_bytes(), digest.as_bytes()))
        };
        let current = matches(self.current);
        let previous_live = self.previous_until.is_some_and(|until| now < until);
        let previous = matches(self.previous);
        current | (previous & previous_live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn client_ids_are_random_and_url_safe() {
        let (a, b) = (generate_client_id(), generate_client_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn secrets_are_256_bit_and_stored_as_digest() {
        let secret = ClientSecret::generate();
        assert_eq!(secret.expose().len(), 43);
        assert_ne!(secret, ClientSecret::generate());
        let stored = secret.digest();
        assert_eq!(stored.len(), 64);
        assert!(
            stored
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
        // A known value: SHA-256 of "abc".
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn current_and_previous_within_overlap() {
        let now = Utc::now();
        let (old, new) = (ClientSecret::generate(), ClientSecret::generate());
        let (old_digest, new_digest) = (old.digest(), new.digest());
        let digests = SecretDigests {
            current: Some(&new_digest),
            previous: Some(&old_digest),
            previous_until: Some(now + Duration::hours(1)),
        };
        assert!(digests.verify(new.expose(), now));
        assert!(digests.verify(old.expose(), now));
        assert!(!digests.verify(old.expose(), now + Duration::hours(1)));
        assert!(digests.verify(new.expose(), now + Duration::days(400)));
        assert!(!digests.verify("", now));
        assert!(!digests.verify(&new_digest, now), "the digest is no secret");
        let no_until = SecretDigests {
            previous_until: None,
            ..digests
        };
        assert!(!no_until.verify(old.expose(), now));
        let public = SecretDigests {
            current: None,
            previous: None,
            previous_until: None,
        };
        assert!(!public.verify("", now));
        assert!(!format!("{digests:?}").contains(&new_digest));
    }
}
