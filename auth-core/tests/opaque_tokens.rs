//! Knox-style and static tokens through the service, over the in-memory
//! store: django-rest-knox's own tokens, login, logout, limits,
//! auto-refresh, and DRF-style static tokens.

use std::sync::Arc;

use auth_core::MemoryStore;
use auth_core::config::AuthConfig;
use auth_core::error::{AuthError, TokenRejection};
use auth_core::events::ClientInfo;
use auth_core::flows::Credentials;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::store::{KnoxTokenRecord, KnoxTokenStore, StaticTokenStore, TokenLimit, UserStore};
use auth_core::token::knox::{KnoxConfig, KnoxTokenFormat};
use auth_core::{Auth, Clock, ManualClock, User};
use chrono::{DateTime, Duration, Utc};

const PASSWORD: &str = "Kettle-Orbit-42";

struct Fixture {
    auth: Auth,
    store: Arc<MemoryStore>,
    clock: ManualClock,
    user: User,
}

async fn fixture_with(config: AuthConfig) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix(1_800_000_000);
    let auth = Auth::builder(config)
        .store(store.clone())
        .clock(Arc::new(clock.clone()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
        ))
        .build()
        .unwrap();
    let mut user = User::new_for_tests("kay", "kay@example.com");
    user.password_hash = Some(auth.passwords().hash(PASSWORD.into()).await.unwrap());
    store.insert_user(&user).await.unwrap();
    Fixture {
        auth,
        store,
        clock,
        user,
    }
}

async fn fixture() -> Fixture {
    fixture_with(AuthConfig::default()).await
}

fn creds() -> Credentials {
    Credentials::username("kay", PASSWORD)
}

fn client() -> ClientInfo {
    ClientInfo::from_ip("192.0.2.1")
}

fn is_invalid(result: Result<impl std::fmt::Debug, AuthError>) -> bool {
    matches!(
        result,
        Err(AuthError::Unauthenticated(TokenRejection::Invalid))
    )
}

#[tokio::test]
async fn tokens_made_by_django_rest_knox_authenticate() {
    let f = fixture().await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testvectors/knox_tokens.json"
    ))
    .expect("shared/testvectors beside the checkout");
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tokens = vectors["tokens"].as_array().unwrap();
    let time = |v: &serde_json::Value| {
        DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    for row in tokens {
        let record = KnoxTokenRecord {
            token_key: row["token_key"].as_str().unwrap().into(),
            digest: row["digest"].as_str().unwrap().into(),
            user_id: f.user.id,
            created: time(&row["created"]),
            expiry: Some(time(&row["expiry"])),
            last_used: None,
            name: None,
        };
        f.store
            .insert_knox_token(&record, TokenLimit::Unlimited, record.created)
            .await
            .unwrap();
    }
    f.clock
        .set(time(&tokens[0]["created"]) + Duration::minutes(1));
    for row in tokens {
        let token = row["token"].as_str().unwrap();
        let (user, record) = f.auth.authenticate_knox(token).await.unwrap();
        assert_eq!(user.id, f.user.id);
        assert_eq!(record.token_key, row["token_key"].as_str().unwrap());

        // Nothing else: one character changed anywhere, or a fresh token.
        for position in [0, 14, 15, 40, 63] {
            let mut bytes = token.as_bytes().to_vec();
            bytes[position] = if bytes[position] == b'0' { b'1' } else { b'0' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(
                is_invalid(f.auth.authenticate_knox(&changed).await),
                "{position}"
            );
        }
        assert!(is_invalid(
            f.auth.authenticate_knox(&token.to_uppercase()).await
        ));
        assert!(is_invalid(f.auth.authenticate_knox(&token[..63]).await));
    }
    let fresh = KnoxTokenFormat::default().generate();
    assert!(is_invalid(f.auth.authenticate_knox(fresh.expose()).await));

    // Until their expiry, and not after (expired rows are cleaned up).
    f.clock
        .set(time(&tokens[0]["expiry"]) + Duration::seconds(1));
    let token = tokens[0]["token"].as_str().unwrap();
    assert!(is_invalid(f.auth.authenticate_knox(token).await));
    assert!(
        f.store
            .knox_tokens_by_key(tokens[0]["token_key"].as_str().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn login_logout_and_sessions() {
    let f = fixture().await;
    let (_, first) = f
        .auth
        .knox_login(&creds(), Some("laptop".into()), &client())
        .await
        .unwrap();
    f.clock.advance(Duration::seconds(1));
    let (_, second) = f.auth.knox_login(&creds(), None, &client()).await.unwrap();
    assert_eq!(
        first.record.expiry,
        Some(first.record.created + Duration::hours(10))
    );
    let stored = f
        .store
        .knox_tokens_by_key(first.token.token_key())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].digest.contains(first.token.expose()),
        "digest only"
    );

    let sessions = f.auth.knox_sessions(f.user.id).await.unwrap();
    assert_eq!(
        sessions.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        vec![None, Some("laptop".to_string())]
    );

    let (_, record) = f
        .auth
        .authenticate_knox(first.token.expose())
        .await
        .unwrap();
    f.auth.knox_logout(&record, &client()).await.unwrap();
    assert!(is_invalid(
        f.auth.authenticate_knox(first.token.expose()).await
    ));
    f.auth
        .authenticate_knox(second.token.expose())
        .await
        .unwrap();

    // Revoking by token_key only touches the user's own tokens.
    let other = User::new_for_tests("other", "other@example.com");
    f.store.insert_user(&other).await.unwrap();
    assert!(matches!(
        f.auth
            .revoke_knox_session(other.id, second.token.token_key(), &client())
            .await,
        Err(AuthError::NotFound)
    ));
    f.auth
        .revoke_knox_session(f.user.id, second.token.token_key(), &client())
        .await
        .unwrap();
    assert!(is_invalid(
        f.auth.authenticate_knox(second.token.expose()).await
    ));
}

#[tokio::test]
async fn logout_all_revokes_every_token_at_once() {
    let f = fixture().await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(
            f.auth
                .knox_login(&creds(), None, &client())
                .await
                .unwrap()
                .1,
        );
    }
    let (_, static_token) = f
        .auth
        .static_token_login(&creds(), &client())
        .await
        .unwrap();
    f.auth.logout_all(f.user.id, &client()).await.unwrap();
    for issued in &tokens {
        assert!(is_invalid(
            f.auth.authenticate_knox(issued.token.expose()).await
        ));
    }
    assert!(is_invalid(f.auth.authenticate_static(&static_token).await));
}

#[tokio::test]
async fn per_user_limits() {
    let refuse = KnoxConfig {
        limit: TokenLimit::Refuse(2),
        ..KnoxConfig::default()
    };
    let f = fixture_with(AuthConfig::default().with_knox(refuse)).await;
    for _ in 0..2 {
        f.auth.knox_login(&creds(), None, &client()).await.unwrap();
    }
    let refused = f
        .auth
        .knox_login(&creds(), None, &client())
        .await
        .unwrap_err();
    assert!(matches!(refused, AuthError::TokenLimitReached));

    let evict = KnoxConfig {
        limit: TokenLimit::EvictOldest(2),
        ..KnoxConfig::default()
    };
    let f = fixture_with(AuthConfig::default().with_knox(evict)).await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        f.clock.advance(Duration::seconds(1));
        tokens.push(
            f.auth
                .knox_login(&creds(), None, &client())
                .await
                .unwrap()
                .1,
        );
    }
    assert!(is_invalid(
        f.auth.authenticate_knox(tokens[0].token.expose()).await
    ));
    for issued in &tokens[1..] {
        f.auth
            .authenticate_knox(issued.token.expose())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn auto_refresh_respects_interval_and_maximum_lifetime() {
    let config = KnoxConfig {
        ttl: Some(Duration::hours(1)),
        auto_refresh: true,
        min_refresh_interval: Duration::seconds(60),
        max_lifetime: Some(Duration::hours(2)),
        ..KnoxConfig::default()
    };
    let f = fixture_with(AuthConfig::default().with_knox(config)).await;
    let (_, issued) = f.auth.knox_login(&creds(), None, &client()).await.unwrap();
    let token = issued.token.expose();
    let created = issued.record.created;

    f.clock.advance(Duration::seconds(30));
    let (_, record) = f.auth.authenticate_knox(token).await.unwrap();
    assert_eq!(
        record.expiry,
        Some(created + Duration::hours(1)),
        "under the interval: no write"
    );

    f.clock.advance(Duration::minutes(50));
    let (_, record) = f.auth.authenticate_knox(token).await.unwrap();
    assert_eq!(record.expiry, Some(f.auth.now() + Duration::hours(1)));
    assert_eq!(record.last_used, Some(f.auth.now()));

    // Used regularly, it still dies at created + max_lifetime.
    f.clock.advance(Duration::minutes(40));
    let (_, record) = f.auth.authenticate_knox(token).await.unwrap();
    assert_eq!(record.expiry, Some(created + Duration::hours(2)), "capped");
    f.clock.advance(Duration::minutes(20));
    f.auth.authenticate_knox(token).await.unwrap();
    f.clock
        .set(created + Duration::hours(2) + Duration::seconds(1));
    assert!(is_invalid(f.auth.authenticate_knox(token).await));
}

#[tokio::test]
async fn prefixed_tokens_with_checksum() {
    let config = KnoxConfig {
        format: KnoxTokenFormat::new("app_", true).unwrap(),
        ..KnoxConfig::default()
    };
    let f = fixture_with(AuthConfig::default().with_knox(config)).await;
    let (_, issued) = f.auth.knox_login(&creds(), None, &client()).await.unwrap();
    assert!(issued.token.expose().starts_with("app_"));
    f.auth
        .authenticate_knox(issued.token.expose())
        .await
        .unwrap();
    let mut typo = issued.token.expose().to_string();
    typo.pop();
    typo.push('!');
    assert!(is_invalid(f.auth.authenticate_knox(&typo).await));
}

#[tokio::test]
async fn tokens_of_deactivated_or_deleted_users_fail() {
    let f = fixture().await;
    let (_, issued) = f.auth.knox_login(&creds(), None, &client()).await.unwrap();
    let (_, static_token) = f
        .auth
        .static_token_login(&creds(), &client())
        .await
        .unwrap();
    let deactivate = auth_core::user::UserUpdate {
        is_active: Some(false),
        ..Default::default()
    };
    f.store.update_user(f.user.id, &deactivate).await.unwrap();
    let inactive = |r: Result<_, AuthError>| {
        matches!(
            r,
            Err(AuthError::Unauthenticated(TokenRejection::UserInactive))
        )
    };
    assert!(inactive(
        f.auth
            .authenticate_knox(issued.token.expose())
            .await
            .map(|_| ())
    ));
    assert!(inactive(
        f.auth.authenticate_static(&static_token).await.map(|_| ())
    ));
    f.store.delete_user(f.user.id).await.unwrap();
    assert!(inactive(
        f.auth
            .authenticate_knox(issued.token.expose())
            .await
            .map(|_| ())
    ));
}

#[tokio::test]
async fn static_tokens_get_or_create_and_delete() {
    let f = fixture().await;
    let (_, token) = f
        .auth
        .static_token_login(&creds(), &client())
        .await
        .unwrap();
    assert_eq!(token.len(), 40);
    let (_, again) = f
        .auth
        .static_token_login(&creds(), &client())
        .await
        .unwrap();
    assert_eq!(token, again, "one token per user");
    assert_eq!(
        f.auth.authenticate_static(&token).await.unwrap().id,
        f.user.id
    );

    // The store holds no usable token: neither the digest nor the seed is it.
    let record = f
        .store
        .static_token_for_user(f.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(record.digest, token);
    let seed = record
        .seed
        .as_deref()
        .expect("a token made here has a seed");
    assert!(!seed.contains(&token) && !record.digest.contains(&token));

    f.auth
        .delete_static_token(f.user.id, &client())
        .await
        .unwrap();
    assert!(is_invalid(f.auth.authenticate_static(&token).await));
    let (_, fresh) = f
        .auth
        .static_token_login(&creds(), &client())
        .await
        .unwrap();
    assert_ne!(fresh, token);
    assert!(is_invalid(f.auth.authenticate_static("not a token").await));
    assert!(is_invalid(
        f.auth.authenticate_static(&"0".repeat(40)).await
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_static_token_requests_agree() {
    let f = fixture().await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let auth = f.auth.clone();
        let user = f.user.id;
        tasks.push(tokio::spawn(
            async move { auth.static_token_for(user).await },
        ));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
}

#[tokio::test]
async fn static_tokens_survive_no_secret_change() {
    // A record made under another server secret is replaced, not reused.
    let f = fixture().await;
    let other = Auth::builder(AuthConfig::default())
        .store(f.store.clone())
        .build()
        .unwrap();
    let old = other.static_token_for(f.user.id).await.unwrap();
    let new = f.auth.static_token_for(f.user.id).await.unwrap();
    assert_ne!(old, new);
    f.auth.authenticate_static(&new).await.unwrap();
    assert!(is_invalid(f.auth.authenticate_static(&old).await));
}

/// A key imported from DRF's `authtoken_token` is stored as its digest only
/// and authenticates as `Token <key>`; a static-token login of its user
/// cannot hand it out, so it gets a new token and the key stops working.
#[tokio::test]
async fn imported_drf_keys_authenticate_by_digest() {
    use auth_core::token::static_token::StaticTokens;

    let f = fixture().await;
    // A key as DRF makes them: `binascii.hexlify(os.urandom(20))`.
    let key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b";
    let record = StaticTokens::imported_record(f.user.id, key, f.clock.now()).unwrap();
    f.store.get_or_insert_static_token(&record).await.unwrap();
    let stored = f
        .store
        .static_token_for_user(f.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.seed, None);
    assert!(!stored.digest.contains(key), "the key itself is not stored");

    let header = format!("Token {key}");
    let caller = f.auth.authenticate_header(Some(&header)).await.unwrap();
    assert_eq!(caller.user.id, f.user.id);
    assert_eq!(f.auth.authenticate_static(key).await.unwrap().id, f.user.id);
    assert!(is_invalid(
        f.auth
            .authenticate_static("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4c")
            .await
    ));

    let (_, token) = f
        .auth
        .static_token_login(&creds(), &client())
        .await
        .unwrap();
    assert_ne!(token, key, "the login hands out a token made here");
    assert_eq!(
        f.auth.authenticate_static(&token).await.unwrap().id,
        f.user.id
    );
    assert!(is_invalid(f.auth.authenticate_static(key).await));
}
