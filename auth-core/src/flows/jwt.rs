//! The JWT strategy on the service: login, refresh with rotation and reuse
//! detection, verify, blacklist, and authenticating access tokens.
//!
//! Beyond simplejwt:
//! - Refresh rotation is on by default and atomic: the old token is
//!   blacklisted by the same store operation that decides the winner, so of
//!   any number of concurrent refreshes of one token exactly one succeeds.
//! - Every token carries its login's rotation family (`fam`). Using an
//!   already rotated refresh token again revokes the whole family: the
//!   thief's and the owner's successors alike. An optional grace window
//!   lets a client that lost a refresh response retry it: only a rotation
//!   opens it (a token logged out through `jwt/blacklist` never refreshes
//!   again), and a retry gets the very pair the rotation gave, so one
//!   token never starts two chains.
//! - A per-user "tokens valid after" mark (log out everywhere, password
//!   change or reset) voids access tokens too, checked with the same lookup
//!   that checks the family. A login's tokens are stamped with the time
//!   its user was read, so a login that read the password before a reset
//!   and finishes after it gets tokens the mark voids.
//! - During a Django cut-over ([`DjangoCutover`]), Django's tokens name
//!   their user by its legacy id; refreshing one rotates it into a pair of
//!   this library's tokens (naming the user by its id), blacklisting the
//!   Django token's `jti`, so it refreshes once.
//!
//! [`DjangoCutover`]: crate::token::jwt::DjangoCutover

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::Auth;
use crate::error::{AuthError, StoreError};
use crate::events::{AuthEvent, ClientInfo, TokenKind};
use crate::flows::Credentials;
use crate::store::{BlacklistEntry, RevocationState};
use crate::token::jwt::{
    AccessClaims, AccessToken, RefreshClaims, TokenPair, TokenType, VerifiedToken,
    issued_at_millis, new_token_id, token_id_from,
};
use crate::user::{User, UserId};

/// Adds an application's claims to the JWTs issued for a user, as simplejwt
/// users do by overriding `TokenObtainPairSerializer.get_token`. Set it
/// with [`AuthBuilder::claims_hook`](crate::AuthBuilder::claims_hook); any
/// `Fn(&User, TokenType) -> Map<String, Value>` is one.
///
/// The service asks it only when it issues tokens for a user it has just
/// authenticated: a login that checked the password, a refresh that checked
/// the refresh token and that its user is still active (asked again then,
/// so the claims follow the user's current data), or
/// [`Auth::issue_jwt_pair`] for a user the application read. There is no
/// route that makes a token from data a client sends.
///
/// It can add claims and never override one: a name this library writes or
/// checks (`token_type`, `exp`, `iat`, `jti`, `user_id`, `fam`, `iss`,
/// `aud`, `nbf`, `sub`, and the configured claim names) makes the issue
/// fail with [`JwtError::ReservedClaim`](crate::token::jwt::JwtError::ReservedClaim)
/// naming it (an [`AuthError::Internal`], so the login or refresh fails
/// loudly rather than handing out a token that says something else).
///
/// ```
/// use std::sync::Arc;
/// use auth_core::config::AuthConfig;
/// use auth_core::token::jwt::TokenType;
/// use auth_core::{Auth, MemoryStore, User};
/// use base64::Engine;
/// use serde_json::{Map, Value, json};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let auth = Auth::builder(AuthConfig::default())
///     .store(Arc::new(MemoryStore::new()))
///     .claims_hook(Arc::new(|user: &User, token_type: TokenType| {
///         let mut claims = Map::new();
///         claims.insert("username".into(), json!(user.username));
///         if token_type == TokenType::Access {
///             claims.insert("is_staff".into(), json!(user.is_staff));
///         }
///         claims
///     }))
///     .build()
///     .unwrap();
/// let user = User::new_for_tests("ada", "ada@example.com");
/// let pair = auth.issue_jwt_pair(&user).await.unwrap();
///
/// let payload = |token: &str| -> Value {
///     let part = token.split('.').nth(1).unwrap();
///     let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap();
///     serde_json::from_slice(&bytes).unwrap()
/// };
/// let access = payload(pair.access.as_str());
/// assert_eq!((&access["username"], &access["is_staff"]), (&json!("ada"), &json!(false)));
/// assert_eq!(access["user_id"], json!(user.id.to_string()));
/// let refresh = payload(pair.refresh.as_str());
/// assert_eq!(refresh["username"], json!("ada"));
/// assert!(refresh.get("is_staff").is_none());
///
/// // A hook can never override a claim of the library's.
/// let rogue = Auth::builder(AuthConfig::default())
///     .store(Arc::new(MemoryStore::new()))
///     .claims_hook(Arc::new(|_: &User, _: TokenType| {
///         json!({"user_id": "someone else"}).as_object().unwrap().clone()
///     }))
///     .build()
///     .unwrap();
/// assert!(rogue.issue_jwt_pair(&user).await.is_err());
/// # });
/// ```
pub trait ClaimsHook: Send + Sync + 'static {
    /// The claims to add to a token of `token_type` issued for `user`.
    fn claims(&self, user: &User, token_type: TokenType) -> Map<String, Value>;
}

impl<F> ClaimsHook for F
where
    F: Fn(&User, TokenType) -> Map<String, Value> + Send + Sync + 'static,
{
    fn claims(&self, user: &User, token_type: TokenType) -> Map<String, Value> {
        self(user, token_type)
    }
}

/// The claims `hook` adds for `user` to an access and a refresh token
/// (none without a hook).
fn added_claims(hook: Option<&dyn ClaimsHook>, user: &User) -> [Map<String, Value>; 2] {
    match hook {
        None => [Map::new(), Map::new()],
        Some(hook) => [
            hook.claims(user, TokenType::Access),
            hook.claims(user, TokenType::Refresh),
        ],
    }
}

/// What refreshing does; `Default` rotates with reuse detection and no
/// grace window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Each refresh returns a new refresh token and blacklists the old one
    /// (simplejwt's `ROTATE_REFRESH_TOKENS` with `BLACKLIST_AFTER_ROTATION`).
    /// Off: a refresh returns only an access token, and the refresh token
    /// stays usable until it expires or is blacklisted.
    pub rotate: bool,
    /// A rotated token used again within this long after its rotation is
    /// taken for a client retrying a lost response: it gets the pair its
    /// rotation gave again (the same `jti`s, family and expiry) instead of
    /// revoking the family. A token logged out through
    /// [`Auth::jwt_blacklist`] gets no grace. Zero (the default) treats
    /// every reuse as theft.
    pub reuse_grace: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            rotate: true,
            reuse_grace: Duration::zero(),
        }
    }
}

/// What `POST /api/auth/jwt/refresh` returns: a new access token, and a new
/// refresh token when rotating.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The new access token.
    pub access: AccessToken,
    /// The new refresh token (`None` when rotation is off).
    pub refresh: Option<crate::token::jwt::RefreshToken>,
}

fn not_valid() -> AuthError {
    AuthError::TokenNotValid
}

/// Whether a token of this user/family, issued at `iat` with `jti`, is
/// revoked by `state`.
fn is_revoked(state: &RevocationState, jti: &str, iat: i64) -> bool {
    state.family_revoked
        || state
            .tokens_valid_after
            .is_some_and(|mark| issued_at_millis(jti, iat) < mark.timestamp_millis())
}

impl Auth {
    /// The JWT issuer and verifier.
    pub fn jwt(&self) -> &crate::token::jwt::Jwt {
        &self.inner.jwt
    }

    /// JWT login (`POST /api/auth/jwt/create`): checks the credentials and
    /// issues an access/refresh pair starting a new rotation family. Bad
    /// credentials are [`AuthError::InvalidCredentials`] of
    /// [`TokenKind::Jwt`] (answered as simplejwt does).
    pub async fn jwt_login(
        &self,
        credentials: &Credentials,
        client: &ClientInfo,
    ) -> Result<(User, TokenPair), AuthError> {
        // No later than the user is read: a reset, password change or
        // log-out-everywhere after this voids the pair.
        let read_at = self.now();
        let user = self
            .check_credentials(credentials, TokenKind::Jwt, client)
            .await?;
        let pair = self.issue_jwt_pair_read_at(&user, read_at).await?;
        Ok((user, pair))
    }

    /// Issues an access/refresh pair for `user` in a new rotation family,
    /// stamped now: a mark set since `user` was read does not void it (a
    /// login uses the time it read the user instead).
    pub async fn issue_jwt_pair(&self, user: &User) -> Result<TokenPair, AuthError> {
        self.issue_jwt_pair_read_at(user, self.now()).await
    }

    /// [`issue_jwt_pair`](Self::issue_jwt_pair) stamped `read_at`, when the
    /// user was read: the user's mark set after it voids the pair.
    async fn issue_jwt_pair_read_at(
        &self,
        user: &User,
        read_at: DateTime<Utc>,
    ) -> Result<TokenPair, AuthError> {
        let family = new_token_id()?;
        let [access, refresh] = added_claims(self.inner.claims_hook.as_deref(), user);
        let pair = self.inner.jwt.issue_pair_with_claims(
            &user.id.to_string(),
            Some(&family),
            read_at,
            [&access, &refresh],
        )?;
        self.emit(AuthEvent::TokenIssued {
            user_id: user.id,
            kind: TokenKind::Jwt,
            at: self.now(),
        })
        .await;
        Ok(pair)
    }

    /// 32 bytes derived from a refresh token's `jti` with the server secret,
    /// for `purpose`: ids no one without the secret can tell in advance,
    /// that the service can make again from the token alone.
    fn derived_from_jti(&self, purpose: &[u8], jti: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.inner.config.secret.expose())
            .expect("HMAC accepts keys of any length");
        mac.update(b"auth-core.jwt.");
        mac.update(purpose);
        mac.update(&[0]);
        mac.update(jti.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// An id in the shape of a family, derived from `jti` for `purpose`.
    fn family_id_from(&self, purpose: &[u8], jti: &str) -> String {
        let bytes = self.derived_from_jti(purpose, jti);
        let mut random = [0u8; 16];
        random.copy_from_slice(&bytes[..16]);
        uuid::Builder::from_random_bytes(random)
            .into_uuid()
            .simple()
            .to_string()
    }

    /// The family a refresh token's successor belongs to: its own, or for a
    /// token made elsewhere (simplejwt's have none) one derived from its
    /// `jti`, so a retried rotation lands in the same family.
    fn successor_family(&self, claims: &RefreshClaims) -> String {
        match &claims.family {
            Some(family) => family.clone(),
            None => self.family_id_from(b"family", &claims.jti),
        }
    }

    /// The id under which a refresh token logged out through
    /// [`jwt_blacklist`](Self::jwt_blacklist) is recorded as a revoked
    /// family (no token carries it), telling a logout from a rotation when
    /// the token comes back within the grace window.
    fn logout_marker(&self, jti: &str) -> String {
        self.family_id_from(b"logout", jti)
    }

    /// The pair the refresh token of `claims` rotates into, for `user`, at
    /// `rotated_at`: its `jti`s are derived from the old `jti`, so a retry
    /// of the rotation gets the same pair, never a second chain.
    fn successor_pair(
        &self,
        claims: &RefreshClaims,
        user: &User,
        family: &str,
        rotated_at: DateTime<Utc>,
    ) -> Result<TokenPair, AuthError> {
        let seed = self.derived_from_jti(b"successor", &claims.jti);
        let mut access = [0u8; 10];
        let mut refresh = [0u8; 10];
        access.copy_from_slice(&seed[..10]);
        refresh.copy_from_slice(&seed[10..20]);
        let [access_claims, refresh_claims] = added_claims(self.inner.claims_hook.as_deref(), user);
        Ok(self.inner.jwt.issue_pair_with_ids(
            &user.id.to_string(),
            Some(family),
            rotated_at,
            [
                token_id_from(rotated_at, &access)?,
                token_id_from(rotated_at, &refresh)?,
            ],
            [&access_claims, &refresh_claims],
        )?)
    }

    /// When the already rotated token of `claims` was rotated, if
    /// presenting it again now is a client retrying that rotation: the
    /// grace window is on, the rotation was at most that long ago, and the
    /// token was not logged out. `None`: a reuse.
    async fn retried_rotation(
        &self,
        claims: &RefreshClaims,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AuthError> {
        let grace = self.inner.config.refresh.reuse_grace;
        if grace <= Duration::zero() {
            return Ok(None);
        }
        let revocations = &self.inner.stores.revocations;
        let Some(entry) = revocations.blacklisted_jti(&claims.jti).await? else {
            return Ok(None);
        };
        if now - entry.blacklisted_at > grace {
            return Ok(None);
        }
        // A Django token rotated here is blacklisted with its successors'
        // family; one without was blacklisted by Django (and imported): a
        // logout, never a rotation to retry.
        if claims.legacy && entry.family.is_none() {
            return Ok(None);
        }
        let marker = self.logout_marker(&claims.jti);
        let logged_out = revocations
            .revocation_state(user_id, Some(&marker))
            .await?
            .family_revoked;
        Ok((!logged_out).then_some(entry.blacklisted_at))
    }

    /// The id of the user a token names: its `user_id` claim, or for a
    /// Django token ([`AccessClaims::legacy`]) the user imported with that
    /// legacy id (a token naming none is not valid).
    async fn user_id_of(&self, claims_user_id: &str, legacy: bool) -> Result<UserId, AuthError> {
        if !legacy {
            return claims_user_id.parse().map_err(|_| not_valid());
        }
        let legacy_id: i64 = claims_user_id.parse().map_err(|_| not_valid())?;
        let user = self.inner.stores.users.user_by_legacy_id(legacy_id).await?;
        user.map(|user| user.id).ok_or_else(not_valid)
    }

    /// The token's user, unless the token is revoked (its family, or the
    /// user's mark). The user (active or not, `None` if gone) and the
    /// revocation state are read concurrently; `through_cache` reads them
    /// through the lookup cache (access tokens), else from the stores
    /// (refresh tokens, whose rotation must see the latest state).
    async fn unrevoked_user(
        &self,
        (user_id, legacy): (&str, bool),
        family: Option<&str>,
        jti: &str,
        iat: i64,
        through_cache: bool,
    ) -> Result<Option<User>, AuthError> {
        let user_id = self.user_id_of(user_id, legacy).await?;
        let (state, user) = if through_cache {
            self.cached_revocation_state_and_user(user_id, family)
                .await?
        } else {
            self.revocation_state_and_user(user_id, family).await?
        };
        if is_revoked(&state, jti, iat) {
            return Err(not_valid());
        }
        Ok(user)
    }

    /// The revocation state and the user, from the stores: in one round
    /// trip when one store object keeps both (and can answer both at once),
    /// else two lookups side by side.
    pub(crate) async fn revocation_state_and_user(
        &self,
        user_id: UserId,
        family: Option<&str>,
    ) -> Result<(RevocationState, Option<User>), StoreError> {
        let stores = &self.inner.stores;
        let one_store =
            std::ptr::addr_eq(Arc::as_ptr(&stores.users), Arc::as_ptr(&stores.revocations));
        if one_store
            && let Some(both) = stores
                .revocations
                .revocation_state_and_user(user_id, family)
                .await?
        {
            return Ok(both);
        }
        tokio::try_join!(
            stores.revocations.revocation_state(user_id, family),
            stores.users.user_by_id(user_id),
        )
    }

    /// Checks a verified refresh token against revocations and its user.
    async fn live_refresh_user(&self, claims: &RefreshClaims) -> Result<User, AuthError> {
        let user = self
            .unrevoked_user(
                (&claims.user_id, claims.legacy),
                claims.family.as_deref(),
                &claims.jti,
                claims.iat,
                false,
            )
            .await?;
        user.filter(|u| u.is_active).ok_or_else(not_valid)
    }

    /// Refreshes (`POST /api/auth/jwt/refresh`). With rotation (the
    /// default) the presented token is blacklisted atomically and a new
    /// pair in the same family is returned; a token already rotated revokes
    /// its whole family (outside the grace window) and fails.
    pub async fn jwt_refresh(
        &self,
        refresh: &str,
        client: &ClientInfo,
    ) -> Result<Refreshed, AuthError> {
        let now = self.now();
        let jwt = &self.inner.jwt;
        let claims = jwt.verify_refresh_at(refresh, now)?;
        let user = self.live_refresh_user(&claims).await?;
        let policy = self.inner.config.refresh;
        let revocations = &self.inner.stores.revocations;
        if !policy.rotate {
            if revocations.blacklisted_jti(&claims.jti).await?.is_some() {
                return Err(not_valid());
            }
            let [added, _] = added_claims(self.inner.claims_hook.as_deref(), &user);
            let access = jwt.issue_access_with_claims(
                &user.id.to_string(),
                claims.family.as_deref(),
                now,
                &added,
            )?;
            return Ok(Refreshed {
                access,
                refresh: None,
            });
        }

        let entry = BlacklistEntry {
            jti: claims.jti.clone(),
            user_id: user.id,
            // A Django token has no family: its successors' marks it as
            // rotated here (see `retried_rotation`).
            family: match (&claims.family, claims.legacy) {
                (None, true) => Some(self.successor_family(&claims)),
                (family, _) => family.clone(),
            },
            expires_at: claims.expires_at(),
            blacklisted_at: now,
        };
        let rotated_at = if revocations.blacklist_jti(&entry).await? {
            now
        } else {
            match self.retried_rotation(&claims, user.id, now).await? {
                Some(rotated_at) => rotated_at,
                None => {
                    self.revoke_family_of(&claims, user.id, now, client).await?;
                    return Err(not_valid());
                }
            }
        };
        let family = self.successor_family(&claims);
        let pair = self.successor_pair(&claims, &user, &family, rotated_at)?;
        self.emit(AuthEvent::TokenRotated {
            user_id: user.id,
            at: now,
            client: client.clone(),
        })
        .await;
        Ok(Refreshed {
            access: pair.access,
            refresh: Some(pair.refresh),
        })
    }

    async fn revoke_family_of(
        &self,
        claims: &RefreshClaims,
        user_id: UserId,
        now: DateTime<Utc>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        // The family its successors carry: its own, or for a token made
        // elsewhere the one derived from its `jti`. Successors live at most
        // one refresh lifetime from now.
        let family = self.successor_family(claims);
        let until = now + self.inner.jwt.config().refresh_lifetime();
        self.write_about(
            user_id,
            self.inner
                .stores
                .revocations
                .revoke_family(&family, user_id, until),
        )
        .await?;
        self.emit(AuthEvent::TokenReused {
            user_id,
            at: now,
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// Verifies a token of either type (`POST /api/auth/jwt/verify`):
    /// signature, expiry, and, unlike plain simplejwt, revocation (a
    /// blacklisted refresh token, a revoked family, the user's mark).
    pub async fn jwt_verify(&self, token: &str) -> Result<(), AuthError> {
        match self.inner.jwt.verify_any_at(token, self.now())? {
            VerifiedToken::Access(claims) => {
                self.check_access(&claims).await?;
            }
            VerifiedToken::Refresh(claims) => {
                self.live_refresh_user(&claims).await?;
                if self
                    .inner
                    .stores
                    .revocations
                    .blacklisted_jti(&claims.jti)
                    .await?
                    .is_some()
                {
                    return Err(not_valid());
                }
            }
        }
        Ok(())
    }

    /// Blacklists a refresh token (`POST /api/auth/jwt/blacklist`, JWT
    /// logout). A token already blacklisted fails, as in simplejwt. The
    /// token is recorded as logged out, so no grace window of
    /// [`RefreshPolicy::reuse_grace`] applies to it: presenting it again is
    /// a reuse.
    pub async fn jwt_blacklist(&self, refresh: &str, client: &ClientInfo) -> Result<(), AuthError> {
        let now = self.now();
        let claims = self.inner.jwt.verify_refresh_at(refresh, now)?;
        let user = self.live_refresh_user(&claims).await?;
        // Recorded before the blacklist entry, so a refresh that sees the
        // entry also sees that it is a logout.
        self.inner
            .stores
            .revocations
            .revoke_family(
                &self.logout_marker(&claims.jti),
                user.id,
                claims.expires_at(),
            )
            .await?;
        let entry = BlacklistEntry {
            jti: claims.jti.clone(),
            user_id: user.id,
            family: claims.family.clone(),
            expires_at: claims.expires_at(),
            blacklisted_at: now,
        };
        if !self.inner.stores.revocations.blacklist_jti(&entry).await? {
            return Err(not_valid());
        }
        self.emit(AuthEvent::LoggedOut {
            user_id: user.id,
            kind: TokenKind::Jwt,
            at: now,
            client: client.clone(),
        })
        .await;
        Ok(())
    }

    /// Authenticates an access token: its user (active) and claims. The
    /// user and the revocation state are read concurrently, through the
    /// lookup cache when [`AuthConfig::lookup_cache`] sets a staleness
    /// budget (see [`LookupCacheConfig`](crate::config::LookupCacheConfig)).
    ///
    /// [`AuthConfig::lookup_cache`]: crate::config::AuthConfig::lookup_cache
    pub async fn authenticate_jwt(&self, token: &str) -> Result<(User, AccessClaims), AuthError> {
        let claims = self.inner.jwt.verify_access_at(token, self.now())?;
        let user = self.check_access(&claims).await?;
        Ok((user, claims))
    }

    async fn check_access(&self, claims: &AccessClaims) -> Result<User, AuthError> {
        let user = self
            .unrevoked_user(
                (&claims.user_id, claims.legacy),
                claims.family.as_deref(),
                &claims.jti,
                claims.iat,
                true,
            )
            .await?;
        user.filter(|u| u.is_active)
            .ok_or(AuthError::Unauthenticated(
                crate::error::TokenRejection::UserInactive,
            ))
    }
}
