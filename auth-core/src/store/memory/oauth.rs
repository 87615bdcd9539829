//! The OAuth2 tables of [`MemoryStore`].

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{MemoryStore, lock, read, to_u64, write};
use crate::error::StoreError;
use crate::oauth::{
    Application, ApplicationId, AuthorizationCode, BrowserSession, Consent, FamilyId, OAuthToken,
    OAuthTokenKind,
};
use crate::store::oauth::{
    BrowserSessionStore, CodeUse, OAuthApplicationStore, OAuthCodeStore, OAuthConsentStore,
    OAuthTokenStore, RefreshUse,
};
use crate::user::UserId;

/// How long a revoked-family mark outlives the revocation at least.
pub(crate) const FAMILY_MARK_GRACE: Duration = Duration::hours(1);

/// The OAuth2 tables, each behind its own lock.
#[derive(Default)]
pub(super) struct OAuthTables {
    applications: RwLock<Applications>,
    codes: Mutex<HashMap<String, AuthorizationCode>>,
    tokens: Mutex<Tokens>,
    consents: RwLock<HashMap<(UserId, ApplicationId), Consent>>,
    sessions: RwLock<HashMap<String, BrowserSession>>,
}

impl OAuthTables {
    /// `(name, record count)` of each table, for `Debug`.
    pub(super) fn counts(&self) -> [(&'static str, usize); 6] {
        let tokens = lock(&self.tokens);
        [
            ("oauth_applications", read(&self.applications).by_id.len()),
            ("oauth_codes", lock(&self.codes).len()),
            ("oauth_tokens", tokens.by_digest.len()),
            ("oauth_revoked_families", tokens.revoked_families.len()),
            ("oauth_consents", read(&self.consents).len()),
            ("browser_sessions", read(&self.sessions).len()),
        ]
    }
}

/// Applications, with an index by `client_id`.
#[derive(Default)]
struct Applications {
    by_id: HashMap<ApplicationId, Application>,
    by_client_id: HashMap<String, ApplicationId>,
}

/// Tokens and the revoked-family marks, under one lock so that a
/// revocation and an insert cannot interleave.
#[derive(Default)]
struct Tokens {
    by_digest: HashMap<String, OAuthToken>,
    /// Revoked families and when they were revoked.
    revoked_families: HashMap<FamilyId, DateTime<Utc>>,
}

impl Tokens {
    /// Sets `revoked_at` on the live-or-expired, unrevoked tokens `select`
    /// picks; returns how many.
    fn revoke_where(&mut self, now: DateTime<Utc>, select: impl Fn(&OAuthToken) -> bool) -> u64 {
        let mut count = 0;
        for token in self.by_digest.values_mut() {
            if token.revoked_at.is_none() && select(token) {
                token.revoked_at = Some(now);
                count += 1;
            }
        }
        count
    }
}

#[async_trait]
impl OAuthApplicationStore for MemoryStore {
    async fn insert_application(&self, application: &Application) -> Result<(), StoreError> {
        let mut apps = write(&self.oauth.applications);
        if apps.by_id.contains_key(&application.id)
            || apps.by_client_id.contains_key(&application.client_id)
        {
            return Err(StoreError::Conflict("client_id".into()));
        }
        apps.by_client_id
            .insert(application.client_id.clone(), application.id);
        apps.by_id.insert(application.id, application.clone());
        Ok(())
    }

    async fn application(&self, id: ApplicationId) -> Result<Option<Application>, StoreError> {
        Ok(read(&self.oauth.applications).by_id.get(&id).cloned())
    }

    async fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<Application>, StoreError> {
        let apps = read(&self.oauth.applications);
        Ok(apps
            .by_client_id
            .get(client_id)
            .and_then(|id| apps.by_id.get(id))
            .cloned())
    }

    async fn user_applications(&self, owner: UserId) -> Result<Vec<Application>, StoreError> {
        let mut apps: Vec<Application> = read(&self.oauth.applications)
            .by_id
            .values()
            .filter(|app| app.owner == Some(owner))
            .cloned()
            .collect();
        apps.sort_by_key(|app| (app.created, app.id));
        Ok(apps)
    }

    async fn update_application(&self, application: &Application) -> Result<bool, StoreError> {
        let mut apps = write(&self.oauth.applications);
        let Some(stored) = apps.by_id.get_mut(&application.id) else {
            return Ok(false);
        };
        *stored = Application {
            id: stored.id,
            client_id: stored.client_id.clone(),
            owner: stored.owner,
            created: stored.created,
            ..application.clone()
        };
        Ok(true)
    }

    async fn delete_application(&self, id: ApplicationId) -> Result<bool, StoreError> {
        let mut apps = write(&self.oauth.applications);
        let Some(app) = apps.by_id.remove(&id) else {
            return Ok(false);
        };
        apps.by_client_id.remove(&app.client_id);
        Ok(true)
    }
}

#[async_trait]
impl OAuthCodeStore for MemoryStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        let mut codes = lock(&self.oauth.codes);
        if codes.contains_key(&code.digest) {
            return Err(StoreError::Conflict("digest".into()));
        }
        let code = AuthorizationCode {
            used_at: None,
            ..code.clone()
        };
        codes.insert(code.digest.clone(), code);
        Ok(())
    }

    async fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError> {
        Ok(lock(&self.oauth.codes).get(digest).cloned())
    }

    async fn consume_code(&self, digest: &str, now: DateTime<Utc>) -> Result<CodeUse, StoreError> {
        let mut codes = lock(&self.oauth.codes);
        let Some(code) = codes.get_mut(digest) else {
            return Ok(CodeUse::Unknown);
        };
        Ok(if code.used_at.is_some() {
            CodeUse::Reused(code.clone())
        } else if code.expires <= now {
            CodeUse::Expired(code.clone())
        } else {
            code.used_at = Some(now);
            CodeUse::First(code.clone())
        })
    }

    async fn purge_expired_codes(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut codes = lock(&self.oauth.codes);
        let before = codes.len();
        codes.retain(|_, code| code.expires > now);
        Ok(to_u64(before - codes.len()))
    }
}

#[async_trait]
impl OAuthTokenStore for MemoryStore {
    async fn insert_oauth_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
        let mut tokens = lock(&self.oauth.tokens);
        if tokens.by_digest.contains_key(&token.digest) {
            return Err(StoreError::Conflict("digest".into()));
        }
        if tokens.revoked_families.contains_key(&token.family) {
            return Err(StoreError::Conflict("family".into()));
        }
        tokens.by_digest.insert(token.digest.clone(), token.clone());
        Ok(())
    }

    async fn oauth_token(&self, digest: &str) -> Result<Option<OAuthToken>, StoreError> {
        Ok(lock(&self.oauth.tokens).by_digest.get(digest).cloned())
    }

    async fn rotate_refresh_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshUse, StoreError> {
        let mut tokens = lock(&self.oauth.tokens);
        let Some(token) = tokens
            .by_digest
            .get_mut(digest)
            .filter(|token| token.kind == OAuthTokenKind::Refresh)
        else {
            return Ok(RefreshUse::Unknown);
        };
        Ok(if token.rotated_at.is_some() {
            RefreshUse::Reused(token.clone())
        } else if !token.is_live(now) {
            RefreshUse::Dead(token.clone())
        } else {
            token.rotated_at = Some(now);
            RefreshUse::First(token.clone())
        })
    }

    async fn revoke_oauth_token(
        &self,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tokens = lock(&self.oauth.tokens);
        Ok(match tokens.by_digest.get_mut(digest) {
            Some(token) if token.revoked_at.is_none() => {
                token.revoked_at = Some(now);
                true
            }
            _ => false,
        })
    }

    async fn revoke_oauth_family(
        &self,
        family: FamilyId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tokens = lock(&self.oauth.tokens);
        let mark = tokens.revoked_families.entry(family).or_insert(now);
        *mark = (*mark).max(now);
        Ok(tokens.revoke_where(now, |token| token.family == family))
    }

    async fn revoke_user_oauth_tokens(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(lock(&self.oauth.tokens).revoke_where(now, |token| token.user_id == Some(user)))
    }

    async fn revoke_application_tokens(
        &self,
        application: ApplicationId,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(lock(&self.oauth.tokens).revoke_where(now, |token| {
            token.application_id == application && user.is_none_or(|u| token.user_id == Some(u))
        }))
    }

    async fn purge_oauth_tokens(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut guard = lock(&self.oauth.tokens);
        let tokens = &mut *guard;
        let before = tokens.by_digest.len();
        tokens
            .by_digest
            .retain(|_, token| token.expires.is_none_or(|expires| expires > now));
        let purged = to_u64(before - tokens.by_digest.len());
        let by_digest = &tokens.by_digest;
        tokens.revoked_families.retain(|family, revoked_at| {
            *revoked_at > now - FAMILY_MARK_GRACE
                || by_digest.values().any(|token| token.family == *family)
        });
        Ok(purged)
    }
}

#[async_trait]
impl OAuthConsentStore for MemoryStore {
    async fn consent(
        &self,
        user: UserId,
        application: ApplicationId,
    ) -> Result<Option<Consent>, StoreError> {
        Ok(read(&self.oauth.consents)
            .get(&(user, application))
            .cloned())
    }

    async fn save_consent(&self, consent: &Consent) -> Result<Consent, StoreError> {
        let mut consents = write(&self.oauth.consents);
        let stored = consents
            .entry((consent.user_id, consent.application_id))
            .and_modify(|stored| {
                stored.scopes = stored.scopes.union(&consent.scopes);
                stored.updated = consent.updated;
            })
            .or_insert_with(|| consent.clone());
        Ok(stored.clone())
    }

    async fn user_consents(&self, user: UserId) -> Result<Vec<Consent>, StoreError> {
        let mut consents: Vec<Consent> = read(&self.oauth.consents)
            .values()
            .filter(|consent| consent.user_id == user)
            .cloned()
            .collect();
        consents.sort_by_key(|consent| (consent.created, consent.application_id));
        Ok(consents)
    }

    async fn delete_consent(
        &self,
        user: UserId,
        application: ApplicationId,
    ) -> Result<bool, StoreError> {
        Ok(write(&self.oauth.consents)
            .remove(&(user, application))
            .is_some())
    }

    async fn delete_application_consents(
        &self,
        application: ApplicationId,
    ) -> Result<u64, StoreError> {
        let mut consents = write(&self.oauth.consents);
        let before = consents.len();
        consents.retain(|(_, app), _| *app != application);
        Ok(to_u64(before - consents.len()))
    }
}

#[async_trait]
impl BrowserSessionStore for MemoryStore {
    async fn insert_session(&self, session: &BrowserSession) -> Result<(), StoreError> {
        let mut sessions = write(&self.oauth.sessions);
        if sessions.contains_key(&session.digest) {
            return Err(StoreError::Conflict("digest".into()));
        }
        sessions.insert(session.digest.clone(), session.clone());
        Ok(())
    }

    async fn session(&self, digest: &str) -> Result<Option<BrowserSession>, StoreError> {
        Ok(read(&self.oauth.sessions).get(digest).cloned())
    }

    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        Ok(write(&self.oauth.sessions).remove(digest).is_some())
    }

    async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        let mut sessions = write(&self.oauth.sessions);
        let before = sessions.len();
        sessions.retain(|_, session| session.user_id != user);
        Ok(to_u64(before - sessions.len()))
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut sessions = write(&self.oauth.sessions);
        let before = sessions.len();
        sessions.retain(|_, session| session.expires > now);
        Ok(to_u64(before - sessions.len()))
    }
}
