//! Issue 24: moving from Django with nobody logged out. Under a
//! `DjangoCutover`, tokens that djangorestframework-simplejwt signed with
//! the Django `SECRET_KEY` authenticate the imported user (found by its
//! legacy id) until the cut-over instant, and a Django refresh token
//! refreshes once into a pair of this library's tokens.

use std::sync::Arc;

use auth_core::config::AuthConfig;
use auth_core::error::AuthError;
use auth_core::events::ClientInfo;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::store::UserStore;
use auth_core::token::jwt::{Algorithm, DjangoCutover, JwtConfig, dangerous};
use auth_core::{Auth, ManualClock, MemoryStore, User};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// The tokens simplejwt 5.5.1 made (see the test vectors' README).
struct Vectors {
    signing_key: String,
    legacy_user_id: i64,
    access: String,
    refresh: String,
    access_claims: Value,
    refresh_jti: String,
    /// The tokens' `iat`.
    iat: i64,
}

fn vectors() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testvectors/simplejwt_tokens.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["algorithm"], "HS256");
    let token = |kind: &str| {
        json["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|token| token["token_type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} token in the vectors"))
            .clone()
    };
    let (access, refresh) = (token("access"), token("refresh"));
    Vectors {
        signing_key: json["signing_key"].as_str().unwrap().to_owned(),
        legacy_user_id: json["user"]["id"].as_str().unwrap().parse().unwrap(),
        access: access["token"].as_str().unwrap().to_owned(),
        refresh: refresh["token"].as_str().unwrap().to_owned(),
        iat: access["claims"]["iat"].as_i64().unwrap(),
        refresh_jti: refresh["claims"]["jti"].as_str().unwrap().to_owned(),
        access_claims: access["claims"].clone(),
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

struct Fixture {
    auth: Auth,
    clock: ManualClock,
    /// The imported user the vectors' tokens name.
    user: User,
    v: Vectors,
}

/// A service ten seconds after the vectors' tokens were issued, accepting
/// Django's tokens for `accept_for` after their `iat` (none: no cut-over),
/// holding the imported user.
async fn fixture(accept_for: Option<Duration>) -> Fixture {
    let v = vectors();
    let mut jwt = JwtConfig::default();
    if let Some(accept_for) = accept_for {
        let until = at(v.iat) + accept_for;
        jwt = jwt.with_django_cutover(DjangoCutover::new(&v.signing_key, until).unwrap());
    }
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_unix(v.iat + 10);
    let auth = Auth::builder(AuthConfig::default().with_jwt(jwt))
        .store(store.clone())
        .clock(Arc::new(clock.clone()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
        ))
        .build()
        .unwrap();
    let mut user = User::new_for_tests("interop", "interop@example.com");
    user.legacy_id = Some(v.legacy_user_id);
    store.insert_user(&user).await.unwrap();
    // Another imported user and one made here, whom no token names.
    let mut other = User::new_for_tests("other", "other@example.com");
    other.legacy_id = Some(v.legacy_user_id + 1);
    store.insert_user(&other).await.unwrap();
    let native = User::new_for_tests("native", "native@example.com");
    store.insert_user(&native).await.unwrap();
    Fixture {
        auth,
        clock,
        user,
        v,
    }
}

fn client() -> ClientInfo {
    ClientInfo::from_ip("192.0.2.24")
}

fn not_valid<T: std::fmt::Debug>(result: Result<T, AuthError>) -> bool {
    matches!(result, Err(AuthError::TokenNotValid))
        || matches!(result, Err(AuthError::Unauthenticated(_)))
}

/// A token with this header `alg`, these claims, signed with the Django key
/// under `signing`.
fn django_token(v: &Vectors, alg: &str, signing: Algorithm, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let key = dangerous::hmac_key_with_short_secret(signing, &v.signing_key).unwrap();
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{signature}")
}

#[tokio::test]
async fn simplejwt_tokens_authenticate_the_imported_user_until_the_cutover() {
    let f = fixture(Some(Duration::seconds(200))).await;

    let (user, claims) = f.auth.authenticate_jwt(&f.v.access).await.unwrap();
    assert_eq!(user.id, f.user.id, "the user with the token's legacy id");
    assert!(claims.legacy, "the claims say the token is Django's");
    assert_eq!(claims.jti, f.v.access_claims["jti"]);
    assert_eq!(claims.exp, f.v.access_claims["exp"]);
    assert_eq!(claims.family, None);
    let header = format!("Bearer {}", f.v.access);
    let caller = f.auth.authenticate_header(Some(&header)).await.unwrap();
    assert_eq!(caller.user.id, f.user.id, "as on /api/auth/me");
    f.auth.jwt_verify(&f.v.access).await.unwrap();
    f.auth.jwt_verify(&f.v.refresh).await.unwrap();

    // The access token lives until iat + 300; the cut-over ends at + 200.
    f.clock.set(at(f.v.iat + 199));
    assert!(f.auth.authenticate_jwt(&f.v.access).await.is_ok());
    f.clock.set(at(f.v.iat + 200));
    assert!(not_valid(f.auth.authenticate_jwt(&f.v.access).await));
    assert!(not_valid(f.auth.jwt_verify(&f.v.refresh).await));
    assert!(not_valid(f.auth.jwt_refresh(&f.v.refresh, &client()).await));
}

#[tokio::test]
async fn a_django_refresh_token_refreshes_once_into_a_pair_of_ours() {
    let f = fixture(Some(Duration::days(30))).await;

    let refreshed = f.auth.jwt_refresh(&f.v.refresh, &client()).await.unwrap();
    let ours = f
        .auth
        .jwt()
        .verify_access(refreshed.access.as_str())
        .unwrap();
    assert!(!ours.legacy, "the new access token is signed with our keys");
    assert_eq!(
        ours.user_id,
        f.user.id.to_string(),
        "naming the user by its id"
    );
    let (user, _) = f
        .auth
        .authenticate_jwt(refreshed.access.as_str())
        .await
        .unwrap();
    assert_eq!(user.id, f.user.id);
    let next = refreshed.refresh.expect("rotation is on by default");
    let next_claims = f.auth.jwt().verify_refresh(next.as_str()).unwrap();
    assert!(!next_claims.legacy);

    // The Django refresh token's jti is blacklisted: a second use fails.
    assert!(not_valid(f.auth.jwt_refresh(&f.v.refresh, &client()).await));
    assert!(not_valid(f.auth.jwt_verify(&f.v.refresh).await));
    // The Django access token still works until it expires, as in simplejwt.
    assert!(f.auth.authenticate_jwt(&f.v.access).await.is_ok());
}

#[tokio::test]
async fn django_tokens_need_the_cutover_hs256_and_an_imported_user() {
    let without = fixture(None).await;
    assert!(not_valid(
        without.auth.authenticate_jwt(&without.v.access).await
    ));
    assert!(not_valid(
        without
            .auth
            .jwt_refresh(&without.v.refresh, &client())
            .await
    ));

    let f = fixture(Some(Duration::days(30))).await;
    let v = &f.v;
    let claims = &v.access_claims;
    assert!(
        f.auth
            .authenticate_jwt(&django_token(v, "HS256", Algorithm::HS256, claims))
            .await
            .is_ok(),
        "a token made as simplejwt makes them verifies"
    );
    // RFC 8725: the algorithm is fixed, never taken from the token.
    for (alg, signing) in [("HS512", Algorithm::HS512), ("HS384", Algorithm::HS384)] {
        let token = django_token(v, alg, signing, claims);
        assert!(not_valid(f.auth.authenticate_jwt(&token).await), "{alg}");
    }
    let mut parts = django_token(v, "HS256", Algorithm::HS256, claims)
        .split('.')
        .map(str::to_owned)
        .collect::<Vec<_>>();
    parts[0] = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    parts[2].clear();
    assert!(not_valid(f.auth.authenticate_jwt(&parts.join(".")).await));

    // Another key signs nothing.
    let mut forged = django_token(v, "HS256", Algorithm::HS256, claims);
    let other = dangerous::hmac_key_with_short_secret(Algorithm::HS256, "not the key").unwrap();
    let input = forged.rsplit_once('.').unwrap().0.to_owned();
    forged = format!("{input}.{}", other.sign(input.as_bytes()).unwrap());
    assert!(not_valid(f.auth.authenticate_jwt(&forged).await));

    // `user_id` as an integer names the same user; an id no user was
    // imported with, or one that is no integer (a UUID), names nobody.
    let mut integer = claims.clone();
    integer["user_id"] = json!(v.legacy_user_id);
    let (user, _) = f
        .auth
        .authenticate_jwt(&django_token(v, "HS256", Algorithm::HS256, &integer))
        .await
        .unwrap();
    assert_eq!(user.id, f.user.id);
    for user_id in [json!("999999"), json!(f.user.id.to_string()), json!("")] {
        let mut unknown = claims.clone();
        unknown["user_id"] = user_id.clone();
        let token = django_token(v, "HS256", Algorithm::HS256, &unknown);
        assert!(
            not_valid(f.auth.authenticate_jwt(&token).await),
            "{user_id}"
        );
    }
    // A Django token naming an audience is refused (simplejwt sets none).
    let mut audience = claims.clone();
    audience["aud"] = json!("elsewhere");
    let token = django_token(v, "HS256", Algorithm::HS256, &audience);
    assert!(not_valid(f.auth.authenticate_jwt(&token).await));
}

/// With a grace window, a client retrying the rotation of a Django refresh
/// token gets the same pair again; a Django token that Django itself
/// blacklisted (imported, moments ago) gets no grace: it never refreshes.
#[tokio::test]
async fn the_grace_window_retries_rotations_here_never_djangos_logouts() {
    use auth_core::flows::RefreshPolicy;
    use auth_core::store::{BlacklistEntry, JwtRevocationStore};

    let v = vectors();
    let until = at(v.iat) + Duration::days(30);
    let jwt = JwtConfig::default()
        .with_django_cutover(DjangoCutover::new(&v.signing_key, until).unwrap());
    let mut config = AuthConfig::default().with_jwt(jwt);
    config.refresh = RefreshPolicy {
        reuse_grace: Duration::seconds(30),
        ..RefreshPolicy::default()
    };
    let build = |store: Arc<MemoryStore>, clock: &ManualClock| {
        Auth::builder(config.clone())
            .store(store)
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap()
    };
    let clock = ManualClock::at_unix(v.iat + 10);
    let mut user = User::new_for_tests("interop", "interop@example.com");
    user.legacy_id = Some(v.legacy_user_id);

    // Rotated here, then retried within the window: the same pair.
    let store = Arc::new(MemoryStore::new());
    store.insert_user(&user).await.unwrap();
    let auth = build(store.clone(), &clock);
    let first = auth.jwt_refresh(&v.refresh, &client()).await.unwrap();
    clock.advance(Duration::seconds(5));
    let retried = auth.jwt_refresh(&v.refresh, &client()).await.unwrap();
    assert_eq!(retried.access, first.access, "a retry gets the same pair");

    // Blacklisted by Django a second before the import: refused.
    let store = Arc::new(MemoryStore::new());
    store.insert_user(&user).await.unwrap();
    let imported = BlacklistEntry {
        jti: v.refresh_jti.clone(),
        user_id: user.id,
        family: None,
        expires_at: at(v.iat) + Duration::days(1),
        blacklisted_at: at(v.iat + 9),
    };
    assert!(store.blacklist_jti(&imported).await.unwrap());
    let auth = build(store, &clock);
    assert!(not_valid(auth.jwt_refresh(&v.refresh, &client()).await));
}

/// The cut-over key cannot be one of the library's own keys: tokens
/// issued here must be signed with a key Django does not hold.
#[test]
fn the_cutover_key_must_not_sign_our_tokens() {
    use auth_core::token::jwt::{Jwt, JwtKey, KeySet};

    let v = vectors();
    let until = at(v.iat) + Duration::days(1);
    let config = JwtConfig::default()
        .with_django_cutover(DjangoCutover::new(&v.signing_key, until).unwrap());
    let clock = Arc::new(ManualClock::at_unix(v.iat));
    let same = KeySet::new(JwtKey::hmac(Algorithm::HS256, &v.signing_key).unwrap()).unwrap();
    let err = Jwt::new(config.clone(), same, clock.clone()).unwrap_err();
    assert!(err.to_string().contains("Django"), "{err}");
    let other = KeySet::new(JwtKey::hmac(Algorithm::HS256, [7u8; 32]).unwrap()).unwrap();
    assert!(Jwt::new(config, other, clock).is_ok());
}
