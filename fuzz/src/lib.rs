//! What the fuzz targets share: a service with one user and a live token of
//! each kind, built the way an application builds it, and the checks every
//! HTTP answer must pass.

use std::sync::Arc;

use auth_core::config::{AuthConfig, SecretKey};
use auth_core::mail::MemoryMailer;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::{Auth, MemoryStore, User};

/// The fixture user's password (passes the default validators).
pub const PASSWORD: &str = "fuzzing-correct-horse-42";
/// The fixture user's username.
pub const USERNAME: &str = "fuzzer";
/// The fixture user's email.
pub const EMAIL: &str = "fuzzer@example.com";

/// A service over a memory store with one active superuser and a live
/// token of each kind.
#[derive(Debug)]
pub struct Fixture {
    /// The service.
    pub auth: Auth,
    /// The user.
    pub user: User,
    /// A JWT access token of the user.
    pub access: String,
    /// A JWT refresh token of the user.
    pub refresh: String,
    /// A Knox token of the user.
    pub knox: String,
    /// The user's static token.
    pub static_token: String,
}

/// A current-thread runtime, as the fixtures' async calls need.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

impl Fixture {
    /// A fresh service (fixed server secret, cheap Argon2 parameters so
    /// logins do not dominate the run, emails kept in memory).
    pub fn new(rt: &tokio::runtime::Runtime) -> Self {
        let config = AuthConfig::default()
            .with_secret(SecretKey::from_bytes(vec![0x5a; 32]).expect("32 bytes"));
        let hasher = Argon2idHasher::new(Argon2Params {
            m_cost_kib: 8,
            t_cost: 1,
            p_cost: 1,
        })
        .expect("valid Argon2 parameters");
        let auth = Auth::builder(config)
            .store(Arc::new(MemoryStore::new()))
            .hasher(Arc::new(hasher))
            .mailer(Arc::new(MemoryMailer::default()))
            .without_tracing_events()
            .build()
            .expect("a service");
        rt.block_on(async {
            let user = auth
                .create_superuser(USERNAME, EMAIL, PASSWORD)
                .await
                .expect("the fixture user");
            let pair = auth.issue_jwt_pair(&user).await.expect("a JWT pair");
            let knox = auth
                .issue_knox_token(&user, None)
                .await
                .expect("a Knox token")
                .token
                .expose()
                .to_owned();
            let static_token = auth
                .static_token_for(user.id)
                .await
                .expect("a static token");
            Fixture {
                access: pair.access.as_str().to_owned(),
                refresh: pair.refresh.as_str().to_owned(),
                knox,
                static_token,
                user,
                auth,
            }
        })
    }

    /// `text` with the placeholders `{access}`, `{refresh}`, `{knox}`,
    /// `{static}` and `{uid}` replaced by this fixture's live values, so
    /// committed corpora can hold requests that authenticate.
    pub fn fill(&self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_owned();
        }
        text.replace("{access}", &self.access)
            .replace("{refresh}", &self.refresh)
            .replace("{knox}", &self.knox)
            .replace("{static}", &self.static_token)
            .replace("{uid}", &auth_core::link_token::encode_uid(self.user.id))
    }
}

/// The JWS targets' keys and clock, shared with `make_corpus` so the
/// committed tokens verify.
pub mod jws {
    use std::sync::Arc;

    use auth_core::ManualClock;
    use auth_core::token::jwt::{Algorithm, Jwt, JwtConfig, JwtKey, KeySet};

    /// simplejwt's test-vector key (`shared/testvectors/simplejwt_tokens.json`),
    /// so its real tokens in the corpus verify.
    pub const SIGNING: &[u8] =
        b"peer-bench-insecure-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz";
    /// A verification-only key of another algorithm, with a kid.
    pub const OLD: &[u8] = b"an older key, kept for verification only, sixty-four bytes long..";
    /// Inside every corpus token's lifetime (and simplejwt's test vectors').
    pub const NOW: i64 = 1_795_337_400;

    /// The signing key (HS256).
    pub fn signing_key() -> JwtKey {
        JwtKey::hmac(Algorithm::HS256, SIGNING).expect("HS256 key")
    }

    /// The verification-only key (HS512, kid `old`).
    pub fn old_key() -> JwtKey {
        JwtKey::hmac(Algorithm::HS512, OLD)
            .and_then(|key| key.with_kid("old"))
            .expect("HS512 key")
    }

    /// Both keys, and a verifier over them with its clock at [`NOW`].
    pub fn verifier() -> (KeySet, Jwt) {
        let keys = KeySet::new(signing_key())
            .and_then(|set| set.with_verification_key(old_key()))
            .expect("key set");
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let jwt = Jwt::new(JwtConfig::default(), keys.clone(), clock).expect("verifier");
        (keys, jwt)
    }
}

/// The link-token target's maker and user, shared with `make_corpus`.
pub mod link {
    use auth_core::config::SecretKey;
    use auth_core::link_token::LinkTokens;
    use auth_core::{User, UserId};
    use chrono::DateTime;

    /// The corpus's tokens were made at this time.
    pub const NOW: i64 = 1_800_000_000;

    /// The token maker (a fixed secret).
    pub fn tokens() -> LinkTokens {
        LinkTokens::new(&SecretKey::from_bytes(vec![7; 32]).expect("32 bytes"))
    }

    /// The user the corpus's tokens were made for.
    pub fn user() -> User {
        let mut user = User::new_for_tests("ada", "ada@example.com");
        user.id = "0190f0a0-0000-7000-8000-000000000001"
            .parse::<UserId>()
            .expect("a uuid");
        user.is_active = false;
        user.date_joined = DateTime::from_timestamp(NOW, 0).expect("a time");
        user.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        user
    }
}
