//! RFC 9068 JWT access tokens: issued with their header and claims,
//! verified then looked up, revoked and introspected as opaque ones are,
//! and never taken for this library's own JWTs (nor the reverse).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::config::{AccessTokenFormat, ConfigError};
use crate::oauth::oidc::SignedJwt;
use crate::token::jwt::{Algorithm, JwtConfig};

/// OpenID Connect on with `alg`, issuer `https://id.example`, JWT access
/// tokens.
fn jwt_config(alg: Algorithm, pem: &str) -> OAuthConfig {
    oidc_config(alg, pem).with_access_token_format(AccessTokenFormat::Jwt)
}

async fn jwt_env() -> Env {
    env_with(jwt_config(Algorithm::EdDSA, ED25519_PEM)).await
}

/// The header and claims of `token`, verified with the public JWKS as an
/// outside resource server would.
fn decode(env: &Env, token: &str) -> (crate::token::jwt::JwsHeader, JwtAccessTokenClaims) {
    let verified = client_keys(env)
        .verify_jws(token)
        .expect("a valid signature");
    let claims = serde_json::from_slice(&verified.payload).expect("the claims");
    (verified.header, claims)
}

/// `claims` signed with `env`'s signing key under a header of `typ`.
fn signed(env: &Env, typ: &str, claims: &JwtAccessTokenClaims) -> String {
    let key = env.auth.id_token_keys().unwrap().key_set().signing_key();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let input = format!("{}.{payload}", key.encoded_header_with_typ(typ));
    format!("{input}.{}", key.sign(input.as_bytes()).unwrap())
}

fn rejected(result: Result<impl std::fmt::Debug, AuthError>) -> bool {
    matches!(
        result,
        Err(AuthError::Unauthenticated(TokenRejection::Invalid))
    )
}

#[tokio::test]
async fn jwt_access_tokens_need_the_id_token_keys_in_either_order() {
    let jwt = OAuthConfig::default().with_access_token_format(AccessTokenFormat::Jwt);
    let build = |oauth: OAuthConfig| {
        Auth::builder(AuthConfig::default().with_oauth(oauth))
            .store(Arc::new(MemoryStore::new()))
            .build()
    };
    assert!(matches!(
        build(jwt.clone()),
        Err(ConfigError::JwtAccessTokensWithoutKeys)
    ));
    let keys = || id_keys(Algorithm::EdDSA, ED25519_PEM);
    assert!(build(jwt.with_id_token_keys(keys()).unwrap()).is_ok());
    let before = OAuthConfig::default()
        .with_id_token_keys(keys())
        .unwrap()
        .with_access_token_format(AccessTokenFormat::Jwt);
    assert!(build(before).is_ok());
    // Opaque needs no keys.
    assert!(build(OAuthConfig::default()).is_ok());
    for bad in ["", "a b", "\t"] {
        assert!(matches!(
            OAuthConfig::default().with_access_token_audience(bad),
            Err(ConfigError::Audience(_))
        ));
    }
}

#[tokio::test]
async fn a_jwt_access_token_has_the_rfc_9068_header_and_claims() {
    for (alg, pem) in [(Algorithm::EdDSA, ED25519_PEM), (Algorithm::ES256, EC_PEM)] {
        let env = env_with(jwt_config(alg, pem)).await;
        let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let code = oidc_code(&env, &client, "openid profile", None).await;
        let issued = token(&env, &client.basic(), &exchange(&code, Some(VERIFIER)))
            .await
            .unwrap();
        assert_eq!(issued.access_token.split('.').count(), 3);
        let (header, claims) = decode(&env, &issued.access_token);
        let signing = env.auth.id_token_keys().unwrap().key_set().signing_key();
        assert_eq!(header.alg, alg);
        assert_eq!(header.kid.as_deref(), Some(signing.kid()));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let now = env.auth.now().timestamp();
        assert_eq!(claims.iss, "https://id.example");
        assert_eq!(claims.aud, "https://id.example");
        assert_eq!(claims.sub, env.user.id.to_string());
        assert_eq!(claims.client_id, client.app.client_id);
        assert_eq!((claims.iat, claims.exp), (now, now + 3600));
        assert_eq!(claims.scope, "openid profile");
        assert_eq!(URL_SAFE_NO_PAD.decode(&claims.jti).unwrap().len(), 16);
        // The ID token's at_hash is over the access token as issued.
        let (_, id_claims) = claims_of(&client_keys(&env), &issued.id_token.unwrap());
        assert_eq!(id_claims.sub, claims.sub);
        assert_eq!(id_claims.at_hash, Some(at_hash(alg, &issued.access_token)));
        // It opens the user's routes (as the tests of every format show).
        assert!(works(&env, &issued.access_token).await);
        // A refresh gives another one, with its own jti.
        let refreshed = token(
            &env,
            &client.basic(),
            &refresh(issued.refresh_token.as_deref().unwrap(), Some("profile")),
        )
        .await
        .unwrap();
        let (_, again) = decode(&env, &refreshed.access_token);
        assert_ne!(again.jti, claims.jti);
        assert_eq!(again.scope, "profile");
        assert!(works(&env, &refreshed.access_token).await);
        // Expired after its lifetime.
        env.clock.advance(Duration::seconds(3600));
        assert!(!works(&env, &refreshed.access_token).await);
    }
}

#[tokio::test]
async fn the_audience_is_the_configured_one_and_checked() {
    let oauth = jwt_config(Algorithm::EdDSA, ED25519_PEM)
        .with_access_token_audience("https://api.example")
        .unwrap();
    let env = env_with(oauth).await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    let (_, mut claims) = decode(&env, &issued.access_token);
    assert_eq!(claims.aud, "https://api.example");
    assert!(
        env.auth
            .verify_jwt_access_token(&issued.access_token)
            .is_ok()
    );
    claims.aud = "https://id.example".into();
    assert!(rejected(
        env.auth
            .verify_jwt_access_token(&signed(&env, "at+jwt", &claims))
    ));
}

#[tokio::test]
async fn client_credentials_tokens_name_the_client_as_their_subject() {
    let env = jwt_env().await;
    let machine = machine(&env).await;
    let grant = TokenGrant::ClientCredentials {
        scope: Some("profile".into()),
    };
    let issued = token(&env, &machine.basic(), &grant).await.unwrap();
    let (_, claims) = decode(&env, &issued.access_token);
    assert_eq!(claims.sub, machine.app.client_id);
    assert_eq!(claims.client_id, machine.app.client_id);
    assert_eq!(claims.scope, "profile");
    // Valid, but no user's: it opens no user's routes.
    assert!(
        env.auth
            .verify_jwt_access_token(&issued.access_token)
            .is_ok()
    );
    assert!(!works(&env, &issued.access_token).await);
    let seen = env
        .introspect(&machine.basic(), &issued.access_token)
        .await
        .unwrap();
    assert!(seen.active);
    assert_eq!(seen.details.unwrap().user_id, None);
}

#[tokio::test]
async fn tampered_mistyped_foreign_or_expired_jwt_access_tokens_are_refused() {
    let env = jwt_env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    let good = issued.access_token.clone();
    assert!(works(&env, &good).await);
    let (_, claims) = decode(&env, &good);

    // Another scope in the payload, the signature left as it was.
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
        let mut more = claims.clone();
        more.scope = "openid profile email".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&more).unwrap());
        parts.join(".")
    };
    // The same claims under `typ: JWT` (as an ID token's header), signed
    // with the right key: not an access token.
    let id_typed = env
        .auth
        .id_token_keys()
        .unwrap()
        .sign(SignedJwt::IdToken, &claims)
        .unwrap();
    // Signed by a key that is not ours (under our kid).
    let elsewhere = {
        let other = id_keys(Algorithm::EdDSA, ED25519_OTHER_PEM);
        let ours = env.auth.id_token_keys().unwrap().key_set().signing_key();
        let key = other.signing_key().clone().with_kid(ours.kid()).unwrap();
        let input = format!(
            "{}.{}",
            key.encoded_header_with_typ("at+jwt"),
            good.split('.').nth(1).unwrap()
        );
        format!("{input}.{}", key.sign(input.as_bytes()).unwrap())
    };
    let with = |change: &dyn Fn(&mut JwtAccessTokenClaims)| {
        let mut changed = claims.clone();
        change(&mut changed);
        signed(&env, "at+jwt", &changed)
    };
    let foreign_issuer = with(&|c| c.iss = "https://other.example".into());
    let foreign_audience = with(&|c| c.aud = "https://other.example".into());
    let expired = with(&|c| c.exp = c.iat);
    for (name, bad) in [
        ("tampered", &tampered),
        ("typ JWT", &id_typed),
        ("another key", &elsewhere),
        ("another issuer", &foreign_issuer),
        ("another audience", &foreign_audience),
        ("expired", &expired),
    ] {
        assert!(
            rejected(env.auth.verify_jwt_access_token(bad)),
            "{name} verified"
        );
        assert!(
            rejected(env.auth.authenticate_oauth_access(bad).await),
            "{name} authenticated"
        );
        assert!(!works(&env, bad).await, "{name} opened a route");
    }
    // Well signed and well typed but never issued (no stored record).
    let unissued = with(&|c| c.jti = "another".into());
    assert!(env.auth.verify_jwt_access_token(&unissued).is_ok());
    assert!(!works(&env, &unissued).await);
    // The full media type is an at+jwt too.
    let media_typed = signed(&env, "application/at+jwt", &claims);
    assert!(env.auth.verify_jwt_access_token(&media_typed).is_ok());
    // Routed by its header's typ, though not a header the keys write.
    assert!(env.auth.is_jwt_access_token(&media_typed));
    assert!(!env.auth.is_jwt_access_token(&id_typed));
    // Garbage with dots never panics nor passes.
    for junk in ["a.b.c", "..", "e30.e30.e30", "x.", "."] {
        assert!(!works(&env, junk).await, "{junk}");
    }
    assert!(works(&env, &good).await);
}

#[tokio::test]
async fn a_revoked_jwt_access_token_is_refused_though_its_signature_holds() {
    // Revocation, introspection and the revocation of a user's tokens are
    // tested for every format in the parent module (`every_format`); this
    // is what only a JWT shows.
    let env = jwt_env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    let (_, claims) = decode(&env, &issued.access_token);
    let seen = env
        .introspect(&client.basic(), &issued.access_token)
        .await
        .unwrap();
    let expires = seen.details.and_then(|details| details.expires);
    assert_eq!(expires.map(|at| at.timestamp()), Some(claims.exp));
    env.revoke(&client.basic(), &issued.access_token)
        .await
        .unwrap();
    assert!(
        env.auth
            .verify_jwt_access_token(&issued.access_token)
            .is_ok()
    );
    assert!(rejected(
        env.auth
            .authenticate_oauth_access(&issued.access_token)
            .await
    ));
    assert!(!works(&env, &issued.access_token).await);
}

#[tokio::test]
async fn jwt_access_tokens_and_the_librarys_own_jwts_are_never_taken_for_each_other() {
    // The library's own JWTs under their default HS256 key, then (the worst
    // case) under the very keys that sign ID tokens and access tokens.
    let separate = jwt_env().await;
    let shared = env_from(
        AuthConfig::default()
            .with_jwt(JwtConfig::default().with_algorithm(Algorithm::EdDSA))
            .with_oauth(jwt_config(Algorithm::EdDSA, ED25519_PEM)),
        |builder, _| builder.jwt_keys(id_keys(Algorithm::EdDSA, ED25519_PEM)),
    )
    .await;
    for env in [&separate, &shared] {
        let client = register(env, ClientType::Confidential, CODE_AND_REFRESH).await;
        let code = oidc_code(env, &client, "openid profile", None).await;
        let issued = token(env, &client.basic(), &exchange(&code, Some(VERIFIER)))
            .await
            .unwrap();
        let access = issued.access_token;
        let id_token = issued.id_token.expect("an ID token");
        let own = env.auth.issue_jwt_pair(&env.user).await.unwrap();
        let own = own.access.as_str();

        // Each goes its own way through the bearer check.
        let bearer = |token: &str| {
            let header = format!("Bearer {token}");
            async move { env.auth.authenticate_header(Some(&header)).await }
        };
        assert!(matches!(
            bearer(&access).await.unwrap().credential,
            Credential::OAuth(_)
        ));
        assert!(matches!(
            bearer(own).await.unwrap().credential,
            Credential::Jwt(_)
        ));
        // Neither verifier takes the other's token.
        assert!(env.auth.authenticate_jwt(&access).await.is_err());
        assert!(rejected(env.auth.verify_jwt_access_token(own)));
        assert!(rejected(env.auth.authenticate_oauth_access(own).await));
        // An ID token is neither, and an access token is no ID token.
        assert!(bearer(&id_token).await.is_err());
        assert!(env.auth.authenticate_jwt(&id_token).await.is_err());
        assert!(rejected(env.auth.verify_jwt_access_token(&id_token)));
        assert!(env.auth.verify_id_token_hint(&id_token).is_ok());
        assert!(env.auth.verify_id_token_hint(&access).is_err());
    }
}

#[tokio::test]
async fn without_id_token_keys_an_at_jwt_bearer_is_refused_as_a_jwt() {
    let env = jwt_env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let access = issue(&env, &client).await.access_token;
    // Another deployment, without OpenID Connect: the token is no one's.
    let other = env_with(OAuthConfig::default()).await;
    assert!(!other.auth.is_jwt_access_token(&access));
    assert!(!works(&other, &access).await);
    assert!(rejected(other.auth.verify_jwt_access_token(&access)));
}

#[tokio::test]
async fn opaque_tokens_stay_the_default() {
    let env = env().await;
    let client = register(&env, ClientType::Confidential, CODE_AND_REFRESH).await;
    let issued = issue(&env, &client).await;
    assert_eq!(issued.access_token.len(), 43);
    assert!(!issued.access_token.contains('.'));
    assert!(works(&env, &issued.access_token).await);
}

/// An Ed25519 signing key that is not the test key: the PKCS#8 form of a
/// fixed seed (RFC 8410 §7).
const ED25519_OTHER_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH
-----END PRIVATE KEY-----";
