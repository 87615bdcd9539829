//! The account flows over the in-memory store, with a manual clock and an
//! in-memory mailer: registration, activation, login, password change and
//! reset, profile, deletion, history, throttling and the users admin.

use std::sync::Arc;

use auth_core::MemoryStore;
use auth_core::config::AuthConfig;
use auth_core::error::{AuthError, TokenRejection};
use auth_core::events::{ClientInfo, TokenKind};
use auth_core::flows::{
    AccountDeletion, AdminUserInput, Credentials, EmailRequest, LinkConfirmation, PasswordChange,
    ProfileUpdate, Registration, ResetConfirmation,
};
use auth_core::mail::MemoryMailer;
use auth_core::password::{Argon2Params, Argon2idHasher};
use auth_core::store::{
    HistoryEvent, JwtRevocationStore, KnoxTokenRecord, KnoxTokenStore, TokenLimit, UserStore,
};
use auth_core::throttle::ThrottleConfig;
use auth_core::{Auth, ManualClock, User, UserPatch};
use chrono::Duration;
use serde_json::json;

const PASSWORD: &str = "Kettle-Orbit-42";

struct Fixture {
    auth: Auth,
    store: Arc<MemoryStore>,
    mailer: MemoryMailer,
    clock: ManualClock,
}

fn client() -> ClientInfo {
    ClientInfo {
        ip: Some("203.0.113.7".into()),
        user_agent: Some("flows-test".into()),
    }
}

/// Cheap Argon2 parameters keep the suite fast; a test about parameters
/// builds its own.
fn fixture_with(config: AuthConfig) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let mailer = MemoryMailer::default();
    let clock = ManualClock::at_unix(1_800_000_000);
    let hasher = Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap();
    let auth = Auth::builder(config)
        .store(store.clone())
        .mailer(Arc::new(mailer.clone()))
        .clock(Arc::new(clock.clone()))
        .hasher(Arc::new(hasher))
        .build()
        .unwrap();
    Fixture {
        auth,
        store,
        mailer,
        clock,
    }
}

fn fixture() -> Fixture {
    fixture_with(AuthConfig::default())
}

fn registration(username: &str, email: &str) -> Registration {
    Registration {
        username: username.into(),
        email: email.into(),
        password: PASSWORD.into(),
        confirm_password: PASSWORD.into(),
        ..Registration::default()
    }
}

/// `(uid, token)` from the last link emailed to `to` under `path`, once
/// the queued emails are sent.
async fn link_parts(f: &Fixture, to: &str, path: &str) -> (String, String) {
    f.auth.flush().await;
    let email = f.mailer.last_to(to).expect("an email was sent");
    let marker = format!("http://localhost:3000/{path}/");
    let start = email.body.find(&marker).expect("the email holds the link") + marker.len();
    let rest: String = email.body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let (uid, token) = rest.split_once('/').expect("uid/token");
    (uid.to_string(), token.to_string())
}

async fn active_user(f: &Fixture, username: &str) -> User {
    let email = format!("{username}@example.com");
    f.auth
        .register(registration(username, &email), &client())
        .await
        .unwrap();
    let (uid, token) = link_parts(f, &email, "activate").await;
    f.auth
        .activate(LinkConfirmation { uid, token }, &client())
        .await
        .unwrap()
}

async fn login(f: &Fixture, username: &str, password: &str) -> Result<User, AuthError> {
    f.auth
        .check_credentials(
            &Credentials::username(username, password),
            TokenKind::Jwt,
            &client(),
        )
        .await
}

/// A staff member's input without a password.
fn admin_input(patch: UserPatch) -> AdminUserInput {
    AdminUserInput {
        patch,
        password: None,
    }
}

/// A staff member's deactivation.
fn deactivate() -> UserPatch {
    UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    }
}

/// A `PATCH /me` of the profile alone.
fn profile_update(profile: serde_json::Value) -> ProfileUpdate {
    ProfileUpdate {
        profile: profile.as_object().cloned(),
        ..ProfileUpdate::default()
    }
}

fn field_errors(err: AuthError) -> serde_json::Value {
    match err {
        AuthError::Validation(errors) => serde_json::to_value(&errors).unwrap(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn register_activate_login() {
    let f = fixture();
    let user = f
        .auth
        .register(registration("ada", "Ada@Example.COM"), &client())
        .await
        .unwrap();
    assert!(!user.is_active);
    assert_eq!(user.email, "Ada@example.com", "domain lower-cased");
    assert!(matches!(
        login(&f, "ada", PASSWORD).await,
        Err(AuthError::InvalidCredentials(TokenKind::Jwt))
    ));

    let (uid, token) = link_parts(&f, "Ada@example.com", "activate").await;
    let activated = f
        .auth
        .activate(
            LinkConfirmation {
                uid: uid.clone(),
                token: token.clone(),
            },
            &client(),
        )
        .await
        .unwrap();
    assert!(activated.is_active);

    // Single use: the token covered the inactive state.
    let again = f
        .auth
        .activate(LinkConfirmation { uid, token }, &client())
        .await
        .unwrap_err();
    assert_eq!(
        field_errors(again),
        json!({"token": ["Invalid or expired token."]})
    );

    let logged_in = login(&f, "ADA", PASSWORD).await.unwrap();
    assert_eq!(logged_in.id, user.id);
    assert_eq!(logged_in.last_login, Some(f.auth.now()));
    let by_email = f
        .auth
        .check_credentials(
            &Credentials::email("ada@EXAMPLE.com", PASSWORD),
            TokenKind::Knox,
            &client(),
        )
        .await
        .unwrap();
    assert_eq!(by_email.id, user.id);
}

#[tokio::test]
async fn activation_links_expire_and_forged_ones_fail() {
    let f = fixture_with(
        AuthConfig::default()
            .with_activation_ttl(Duration::seconds(60))
            .unwrap(),
    );
    f.auth
        .register(registration("bob", "bob@example.com"), &client())
        .await
        .unwrap();
    let (uid, token) = link_parts(&f, "bob@example.com", "activate").await;
    let bad_uid = f
        .auth
        .activate(
            LinkConfirmation {
                uid: "garbage".into(),
                token: token.clone(),
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert!(field_errors(bad_uid).get("uid").is_some());
    let forged = f
        .auth
        .activate(
            LinkConfirmation {
                uid: uid.clone(),
                token: format!("{token}0"),
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert!(field_errors(forged).get("token").is_some());

    f.clock.advance(Duration::seconds(61));
    let expired = f
        .auth
        .activate(LinkConfirmation { uid, token }, &client())
        .await
        .unwrap_err();
    assert!(field_errors(expired).get("token").is_some());

    // A fresh link works.
    f.auth
        .resend_activation(
            EmailRequest {
                email: "BOB@example.com".into(),
            },
            &client(),
        )
        .await
        .unwrap();
    let (uid, token) = link_parts(&f, "bob@example.com", "activate").await;
    assert!(
        f.auth
            .activate(LinkConfirmation { uid, token }, &client())
            .await
            .unwrap()
            .is_active
    );
}

#[tokio::test]
async fn resend_and_reset_answer_the_same_for_unknown_addresses() {
    let f = fixture();
    active_user(&f, "carol").await;
    f.mailer.take();
    for email in ["nobody@example.com", "carol@example.com"] {
        f.auth
            .resend_activation(
                EmailRequest {
                    email: email.into(),
                },
                &client(),
            )
            .await
            .unwrap();
    }
    f.auth.flush().await;
    assert!(f.mailer.sent().is_empty(), "active or unknown: no email");
    f.auth
        .request_password_reset(
            EmailRequest {
                email: "nobody@example.com".into(),
            },
            &client(),
        )
        .await
        .unwrap();
    f.auth.flush().await;
    assert!(f.mailer.sent().is_empty());
    f.auth
        .request_password_reset(
            EmailRequest {
                email: "carol@example.com".into(),
            },
            &client(),
        )
        .await
        .unwrap();
    f.auth.flush().await;
    assert_eq!(f.mailer.sent().len(), 1);
}

#[tokio::test]
async fn registration_validation() {
    let f = fixture();
    active_user(&f, "dave").await;

    let dup = f
        .auth
        .register(registration("DAVE", "DAVE@example.com"), &client())
        .await
        .unwrap_err();
    assert_eq!(
        field_errors(dup),
        json!({
            "username": ["A user with that username already exists."],
            "email": ["A user with that email address already exists."],
        })
    );

    let mut reg = registration("erin", "erin@example.com");
    reg.confirm_password = "something else".into();
    let errors = field_errors(f.auth.register(reg, &client()).await.unwrap_err());
    assert_eq!(
        errors,
        json!({"confirm_password": ["The two password fields didn't match."]})
    );

    for (password, message) in [
        (
            "short1!",
            "This password is too short. It must contain at least 8 characters.",
        ),
        ("password", "This password is too common."),
        ("83920174650", "This password is entirely numeric."),
        (
            "erin_example",
            "The password is too similar to the username.",
        ),
    ] {
        let mut reg = registration("erin_example", "erin@example.com");
        reg.password = password.into();
        reg.confirm_password = password.into();
        let errors = field_errors(f.auth.register(reg, &client()).await.unwrap_err());
        let messages: Vec<&str> = errors["password"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert!(messages.contains(&message), "{password}: {messages:?}");
    }

    let errors = field_errors(
        f.auth
            .register(registration("no spaces allowed", "not-an-email"), &client())
            .await
            .unwrap_err(),
    );
    assert!(errors.get("username").is_some() && errors.get("email").is_some());

    // Nothing was stored by any failed attempt.
    let listed = f.auth.list_users(None, 1, 100).await.unwrap();
    assert_eq!(listed.total, 1);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_cost_one_verification_each() {
    let f = fixture();
    active_user(&f, "frank").await;
    let mut inactive = User::new_for_tests("ghost", "ghost@example.com");
    inactive.is_active = false;
    inactive.password_hash = Some(f.auth.passwords().hash(PASSWORD.into()).await.unwrap());
    f.store.insert_user(&inactive).await.unwrap();
    let no_password = User::new_for_tests("nopass", "nopass@example.com");
    f.store.insert_user(&no_password).await.unwrap();

    for (who, password) in [
        ("nobody", PASSWORD),
        ("frank", "wrong-password"),
        ("ghost", PASSWORD),
        ("nopass", PASSWORD),
    ] {
        let before = f.auth.passwords().verifications();
        let err = login(&f, who, password).await.unwrap_err();
        assert_eq!(f.auth.passwords().verifications() - before, 1, "{who}");
        assert!(
            matches!(err, AuthError::InvalidCredentials(TokenKind::Jwt)),
            "{who}: same answer, got {err:?}"
        );
    }
    let before = f.auth.passwords().verifications();
    login(&f, "frank", PASSWORD).await.unwrap();
    assert_eq!(f.auth.passwords().verifications() - before, 1);
}

#[tokio::test]
async fn django_hashes_log_in_and_are_rehashed() {
    let f = fixture();
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/testvectors/django_hashes.json"
        ))
        .expect("shared/testvectors beside the checkout"),
    )
    .unwrap();
    // One PBKDF2 and one Argon2 hash are enough here; the password module
    // checks every vector.
    for (i, hasher) in ["pbkdf2_sha256", "argon2"].iter().enumerate() {
        let vector = vectors["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["hasher"] == *hasher)
            .unwrap();
        let username = format!("imported{i}");
        let mut user = User::new_for_tests(&username, &format!("{username}@example.com"));
        user.password_hash = Some(vector["encoded"].as_str().unwrap().to_string());
        f.store.insert_user(&user).await.unwrap();
        let password = vector["password"].as_str().unwrap();

        assert!(login(&f, &username, "not it").await.is_err());
        let stored = f.store.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(
            stored.password_hash, user.password_hash,
            "no rehash on failure"
        );

        login(&f, &username, password).await.unwrap();
        let stored = f.store.user_by_id(user.id).await.unwrap().unwrap();
        let hash = stored.password_hash.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
        login(&f, &username, password).await.unwrap();
        assert!(login(&f, &username, "not it").await.is_err());
    }
}

#[tokio::test]
async fn outdated_argon2_parameters_are_upgraded_on_login() {
    let f = fixture();
    let old = Argon2idHasher::new(Argon2Params::new(128, 1, 1).unwrap()).unwrap();
    let mut user = User::new_for_tests("olga", "olga@example.com");
    user.password_hash = Some(auth_core::password::PasswordHasher::hash(&old, PASSWORD).unwrap());
    f.store.insert_user(&user).await.unwrap();
    login(&f, "olga", PASSWORD).await.unwrap();
    let hash = f
        .store
        .user_by_id(user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(hash.contains("m=256,t=1,p=1"), "{hash}");
}

async fn reset_link(f: &Fixture, email: &str) -> (String, String) {
    f.auth
        .request_password_reset(
            EmailRequest {
                email: email.into(),
            },
            &client(),
        )
        .await
        .unwrap();
    link_parts(f, email, "password/reset/confirm").await
}

fn reset(uid: &str, token: &str, password: &str) -> ResetConfirmation {
    ResetConfirmation {
        uid: uid.into(),
        token: token.into(),
        new_password: password.into(),
        confirm_password: password.into(),
    }
}

#[tokio::test]
async fn reset_tokens_are_valid_at_exactly_the_timeout() {
    let f = fixture();
    let user = active_user(&f, "hana").await;
    let (uid, token) = reset_link(&f, "hana@example.com").await;

    f.clock.advance(Duration::hours(1) + Duration::seconds(1));
    let late = f
        .auth
        .confirm_password_reset(reset(&uid, &token, "Fresh-Lantern-88"), &client())
        .await
        .unwrap_err();
    assert!(field_errors(late).get("token").is_some());

    f.clock.advance(-Duration::seconds(1)); // exactly one hour after issue
    let knox = KnoxTokenRecord {
        token_key: "abcdefabcdefabc".into(),
        digest: "00".repeat(64),
        user_id: user.id,
        created: f.auth.now(),
        expiry: None,
        last_used: None,
        name: None,
    };
    f.store
        .insert_knox_token(&knox, TokenLimit::Unlimited, f.auth.now())
        .await
        .unwrap();
    f.auth
        .confirm_password_reset(reset(&uid, &token, "Fresh-Lantern-88"), &client())
        .await
        .unwrap();
    assert!(login(&f, "hana", PASSWORD).await.is_err());
    login(&f, "hana", "Fresh-Lantern-88").await.unwrap();

    // Every token of the user was revoked.
    assert!(
        f.store
            .knox_tokens_by_key("abcdefabcdefabc")
            .await
            .unwrap()
            .is_empty()
    );
    let state = f.store.revocation_state(user.id, None).await.unwrap();
    assert!(state.tokens_valid_after.is_some());

    // Single use: the password it covered changed.
    let reused = f
        .auth
        .confirm_password_reset(reset(&uid, &token, "Other-Lantern-99"), &client())
        .await
        .unwrap_err();
    assert!(field_errors(reused).get("token").is_some());
}

#[tokio::test]
async fn reset_tokens_are_void_after_login_or_email_change() {
    let f = fixture();
    let user = active_user(&f, "ivan").await;

    let (uid, token) = reset_link(&f, "ivan@example.com").await;
    f.clock.advance(Duration::seconds(1));
    login(&f, "ivan", PASSWORD).await.unwrap();
    let after_login = f
        .auth
        .confirm_password_reset(reset(&uid, &token, "Fresh-Lantern-88"), &client())
        .await
        .unwrap_err();
    assert!(field_errors(after_login).get("token").is_some());

    let (uid, token) = reset_link(&f, "ivan@example.com").await;
    f.auth
        .update_user(
            user.id,
            AdminUserInput {
                patch: UserPatch {
                    email: Some("ivan@new.example.com".into()),
                    ..UserPatch::default()
                },
                password: None,
            },
        )
        .await
        .unwrap();
    let after_email = f
        .auth
        .confirm_password_reset(reset(&uid, &token, "Fresh-Lantern-88"), &client())
        .await
        .unwrap_err();
    assert!(field_errors(after_email).get("token").is_some());
}

#[tokio::test]
async fn change_password() {
    let f = fixture();
    let user = active_user(&f, "june").await;
    let change = |old: &str, new: &str, confirm: &str| PasswordChange {
        old_password: old.into(),
        new_password: new.into(),
        confirm_password: confirm.into(),
    };
    let wrong = f
        .auth
        .change_password(
            user.id,
            change("nope", "Fresh-Lantern-88", "Fresh-Lantern-88"),
            None,
            &client(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong,
            AuthError::WrongPassword {
                field: "old_password"
            }
        ),
        "{wrong:?}"
    );

    let mismatch = f
        .auth
        .change_password(
            user.id,
            change(PASSWORD, "Fresh-Lantern-88", "Fresh-Lantern-89"),
            None,
            &client(),
        )
        .await
        .unwrap_err();
    assert!(field_errors(mismatch).get("confirm_password").is_some());
    login(&f, "june", PASSWORD).await.unwrap();

    let keep = KnoxTokenRecord {
        token_key: "keepkeepkeepkee".into(),
        digest: "11".repeat(64),
        user_id: user.id,
        created: f.auth.now(),
        expiry: None,
        last_used: None,
        name: None,
    };
    let other = KnoxTokenRecord {
        token_key: "dropdropdropdro".into(),
        digest: "22".repeat(64),
        ..keep.clone()
    };
    for record in [&keep, &other] {
        f.store
            .insert_knox_token(record, TokenLimit::Unlimited, f.auth.now())
            .await
            .unwrap();
    }
    f.auth
        .change_password(
            user.id,
            change(PASSWORD, "Fresh-Lantern-88", "Fresh-Lantern-88"),
            Some(&keep.digest),
            &client(),
        )
        .await
        .unwrap();
    assert!(login(&f, "june", PASSWORD).await.is_err());
    login(&f, "june", "Fresh-Lantern-88").await.unwrap();
    let left = f
        .store
        .user_knox_tokens(user.id, f.auth.now())
        .await
        .unwrap();
    assert_eq!(left, vec![keep], "only the current token is kept");

    let history = f.auth.login_history(user.id, 1, 50).await.unwrap();
    assert!(
        history
            .items
            .iter()
            .any(|e| e.event == HistoryEvent::PasswordChanged)
    );
}

#[tokio::test]
async fn profile_update_merges() {
    let f = fixture();
    let user = active_user(&f, "kim").await;
    let update = ProfileUpdate {
        first_name: Some("Kim".into()),
        profile: json!({"country": "KR", "bio": "hi", "links": {"web": "https://kim.example"}})
            .as_object()
            .cloned(),
        ..ProfileUpdate::default()
    };
    let updated = f.auth.update_profile(user.id, update).await.unwrap();
    assert_eq!(updated.first_name, "Kim");
    let update = profile_update(json!({"bio": null}));
    let updated = f.auth.update_profile(user.id, update).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(updated.profile.clone()),
        json!({"country": "KR", "links": {"web": "https://kim.example"}})
    );
    let stored = f.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.email, "kim@example.com");
    assert_eq!(stored.first_name, "Kim");
}

#[tokio::test]
async fn delete_account_needs_the_password_and_removes_everything() {
    let f = fixture();
    let user = active_user(&f, "lee").await;
    login(&f, "lee", PASSWORD).await.unwrap();
    let wrong = f
        .auth
        .delete_account(
            user.id,
            AccountDeletion {
                password: "nope".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, AuthError::WrongPassword { field: "password" }),
        "{wrong:?}"
    );
    assert!(f.store.user_by_id(user.id).await.unwrap().is_some());

    f.auth
        .delete_account(
            user.id,
            AccountDeletion {
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    assert!(f.store.user_by_id(user.id).await.unwrap().is_none());
    assert_eq!(f.auth.login_history(user.id, 1, 10).await.unwrap().total, 0);
    assert!(matches!(
        f.auth.active_user(user.id).await,
        Err(AuthError::Unauthenticated(TokenRejection::UserInactive))
    ));
}

#[tokio::test]
async fn login_history_records_successes_and_failures() {
    let f = fixture();
    let user = active_user(&f, "mia").await;
    login(&f, "mia", PASSWORD).await.unwrap();
    f.clock.advance(Duration::seconds(5));
    login(&f, "mia", "wrong").await.unwrap_err();
    login(&f, "nobody-at-all", "wrong").await.unwrap_err();
    let history = f.auth.login_history(user.id, 1, 10).await.unwrap();
    let events: Vec<HistoryEvent> = history.items.iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            HistoryEvent::LoginFailed,
            HistoryEvent::Login,
            HistoryEvent::Activated
        ]
    );
    assert_eq!(history.items[0].ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(history.items[0].user_agent.as_deref(), Some("flows-test"));
    assert!(f.auth.login_history(user.id, 0, 10).await.is_err());
    assert!(f.auth.login_history(user.id, 1, 1000).await.is_err());
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_with_retry_after() {
    let f = fixture();
    active_user(&f, "nina").await;
    for _ in 0..5 {
        assert!(matches!(
            login(&f, "nina", "wrong").await,
            Err(AuthError::InvalidCredentials(_))
        ));
    }
    let before = f.auth.passwords().verifications();
    let throttled = login(&f, "NINA", PASSWORD).await.unwrap_err();
    assert!(
        matches!(
            throttled,
            AuthError::Throttled {
                retry_after_secs: 60
            }
        ),
        "{throttled:?}"
    );
    assert_eq!(
        f.auth.passwords().verifications(),
        before,
        "a throttled attempt hashes nothing"
    );

    // Unknown accounts are throttled alike: throttling reveals nothing.
    for _ in 0..5 {
        login(&f, "nobody", "wrong").await.unwrap_err();
    }
    assert!(is_throttled(&login(&f, "nobody", "x").await));

    f.clock.advance(Duration::seconds(60));
    login(&f, "nina", PASSWORD).await.unwrap();
    // A success clears the account's count.
    for _ in 0..4 {
        login(&f, "nina", "wrong").await.unwrap_err();
    }
    login(&f, "nina", PASSWORD).await.unwrap();
}

async fn login_from(f: &Fixture, credentials: Credentials, ip: &str) -> Result<User, AuthError> {
    f.auth
        .check_credentials(&credentials, TokenKind::Jwt, &ClientInfo::from_ip(ip))
        .await
}

fn is_throttled(result: &Result<User, AuthError>) -> bool {
    matches!(result, Err(AuthError::Throttled { .. }))
}

/// Refused as bad credentials (so not throttled).
fn is_refused(result: &Result<User, AuthError>) -> bool {
    matches!(result, Err(AuthError::InvalidCredentials(_)))
}

#[tokio::test]
async fn username_and_email_logins_of_one_account_share_a_bucket() {
    let f = fixture();
    active_user(&f, "uma").await;
    // From five addresses, so only the per-account limit (5/min) applies.
    for i in 0..3 {
        let wrong = Credentials::username("uma", "wrong");
        let result = login_from(&f, wrong, &format!("198.51.100.{i}")).await;
        assert!(is_refused(&result));
    }
    for i in 3..5 {
        let wrong = Credentials::email("UMA@example.com", "wrong");
        let result = login_from(&f, wrong, &format!("198.51.100.{i}")).await;
        assert!(is_refused(&result));
    }
    let sixth = login_from(
        &f,
        Credentials::email("uma@example.com", PASSWORD),
        "198.51.100.9",
    )
    .await;
    assert!(
        is_throttled(&sixth),
        "the sixth attempt by email: {sixth:?}"
    );
    let seventh = login_from(&f, Credentials::username("uma", PASSWORD), "198.51.100.9").await;
    assert!(is_throttled(&seventh), "by username too: {seventh:?}");

    // A name that names no account is a bucket of its own, as it was typed.
    for _ in 0..5 {
        login_from(&f, Credentials::username("ghost", "wrong"), "198.51.100.20")
            .await
            .unwrap_err();
    }
    let ghost = login_from(&f, Credentials::username("GHOST", "wrong"), "198.51.100.21").await;
    assert!(is_throttled(&ghost), "{ghost:?}");
    let other = login_from(
        &f,
        Credentials::email("ghost@example.com", "wrong"),
        "198.51.100.22",
    )
    .await;
    assert!(
        is_refused(&other),
        "another unknown name has its own bucket: {other:?}"
    );
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64() {
    let f = fixture();
    // 20 failed logins a minute per address (the default), each for
    // another name, from 20 addresses of one /64.
    for i in 1..=20 {
        let result = login_from(
            &f,
            Credentials::username(format!("nobody{i}"), "wrong"),
            &format!("2001:db8:1:2::{i:x}"),
        )
        .await;
        assert!(is_refused(&result), "{i}: {result:?}");
    }
    let same_64 = login_from(
        &f,
        Credentials::username("nobody99", "wrong"),
        "2001:db8:1:2:ffff:ffff:ffff:ffff",
    )
    .await;
    assert!(
        is_throttled(&same_64),
        "another address of the /64: {same_64:?}"
    );
    let next_64 = login_from(
        &f,
        Credentials::username("nobody99", "wrong"),
        "2001:db8:1:3::1",
    )
    .await;
    assert!(
        is_refused(&next_64),
        "the next /64 has its own bucket: {next_64:?}"
    );
}

#[tokio::test]
async fn successful_logins_use_up_no_allowance() {
    let f = fixture_with(
        AuthConfig::default().with_throttle(
            ThrottleConfig::default()
                .with_login_rates("2/min,3/min")
                .unwrap(),
        ),
    );
    active_user(&f, "vera").await;
    for i in 0..10 {
        let result = login(&f, "vera", PASSWORD).await;
        assert!(result.is_ok(), "success {i} from one address: {result:?}");
    }
    login(&f, "vera", "wrong").await.unwrap_err();
    login(&f, "vera", PASSWORD).await.unwrap();
    login(&f, "vera", "wrong").await.unwrap_err();
    login(&f, "vera", "wrong").await.unwrap_err();
    assert!(
        is_throttled(&login(&f, "vera", PASSWORD).await),
        "two failures in a row use up the account's 2/min"
    );
}

#[tokio::test]
async fn registrations_are_throttled_per_address_before_hashing() {
    let f = fixture();
    // The default: 10 an hour per client address.
    for i in 0..10 {
        f.auth
            .register(
                registration(&format!("reg{i}"), &format!("reg{i}@example.com")),
                &client(),
            )
            .await
            .unwrap_or_else(|err| panic!("registration {i}: {err:?}"));
    }
    let eleventh = f
        .auth
        .register(registration("reg10", "reg10@example.com"), &client())
        .await;
    match eleventh {
        Err(AuthError::Throttled { retry_after_secs }) => {
            assert!((1..=3600).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("the eleventh registration: {other:?}"),
    }
    assert!(
        f.store.user_by_username("reg10").await.unwrap().is_none(),
        "a throttled registration stores nothing"
    );
    f.auth.flush().await;
    assert!(f.mailer.last_to("reg10@example.com").is_none());
    // Another address registers.
    f.auth
        .register(
            registration("reg11", "reg11@example.com"),
            &ClientInfo::from_ip("192.0.2.99"),
        )
        .await
        .unwrap();
    f.clock.advance(Duration::hours(1));
    f.auth
        .register(registration("reg10", "reg10@example.com"), &client())
        .await
        .unwrap();
}

#[tokio::test]
async fn throttling_can_be_turned_off() {
    let f = fixture_with(AuthConfig::default().with_throttle(ThrottleConfig::disabled()));
    active_user(&f, "omar").await;
    for _ in 0..30 {
        login(&f, "omar", "wrong").await.unwrap_err();
    }
    login(&f, "omar", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn users_admin() {
    let f = fixture();
    let mut input = AdminUserInput::new_user("pat", "pat@example.com").with_password(PASSWORD);
    input.patch.is_staff = Some(true);
    let pat = f.auth.create_user(input).await.unwrap();
    assert!(pat.is_active && pat.is_staff);
    login(&f, "pat", PASSWORD).await.unwrap();
    for i in 0..5 {
        let input = AdminUserInput::new_user(format!("user{i}"), format!("u{i}@example.org"));
        f.clock.advance(Duration::seconds(1));
        f.auth.create_user(input).await.unwrap();
    }
    let page = f.auth.list_users(None, 2, 4).await.unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(
        page.items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        vec!["user3", "user4"]
    );
    let found = f
        .auth
        .list_users(Some("EXAMPLE.ORG".into()), 1, 100)
        .await
        .unwrap();
    assert_eq!(found.total, 5);

    let dup = AdminUserInput::new_user("PAT", "x@example.com");
    assert!(
        field_errors(f.auth.create_user(dup).await.unwrap_err())
            .get("username")
            .is_some()
    );

    // Deactivating revokes tokens; the account can no longer log in.
    let patch = admin_input(deactivate());
    let updated = f.auth.update_user(pat.id, patch).await.unwrap();
    assert!(!updated.is_active);
    assert!(login(&f, "pat", PASSWORD).await.is_err());
    let state = f.store.revocation_state(pat.id, None).await.unwrap();
    assert!(state.tokens_valid_after.is_some());

    f.auth.delete_user(pat.id).await.unwrap();
    assert!(matches!(
        f.auth.get_user(pat.id).await,
        Err(AuthError::NotFound)
    ));
    assert!(matches!(
        f.auth.delete_user(pat.id).await,
        Err(AuthError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_username_make_one_account() {
    // From one address: more than the registration limit allows.
    let f = fixture_with(AuthConfig::default().with_throttle(ThrottleConfig::disabled()));
    let mut tasks = Vec::new();
    for i in 0..32 {
        let auth = f.auth.clone();
        tasks.push(tokio::spawn(async move {
            let name = if i % 2 == 0 { "Race" } else { "race" };
            auth.register(
                registration(name, &format!("race{i}@example.com")),
                &client(),
            )
            .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(err) => assert!(field_errors(err).get("username").is_some()),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        f.auth
            .list_users(Some("race".into()), 1, 100)
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn superuser() {
    let f = fixture();
    let admin = f
        .auth
        .create_superuser("root", "root@example.com", PASSWORD)
        .await
        .unwrap();
    assert!(admin.is_active && admin.is_staff && admin.is_superuser);
    assert!(
        f.auth
            .create_superuser("root2", "root2@example.com", "123")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn health_reads_every_store() {
    let f = fixture();
    f.auth.health().await.unwrap();
}

#[tokio::test]
async fn requests_with_credentials_hold_back_a_hashing_thread() {
    let auth = Auth::in_memory(AuthConfig::default());
    assert!(!auth.passwords().serving_requests());
    // No credentials at all: not a request the reserve is for.
    assert!(auth.authenticate_header(None).await.is_err());
    assert!(!auth.passwords().serving_requests());
    // Credentials, even bad ones, are checked without a hash.
    assert!(
        auth.authenticate_header(Some("Bearer x.y.z"))
            .await
            .is_err()
    );
    assert!(auth.passwords().serving_requests());
}

#[test]
fn the_hashing_reserve_is_configurable() {
    let build = |threads: usize, reserve: Option<usize>| {
        let builder = Auth::builder(AuthConfig::default())
            .store(Arc::new(MemoryStore::new()))
            .hashing_threads(threads);
        let builder = match reserve {
            Some(reserve) => builder.hashing_reserve(reserve),
            None => builder,
        };
        builder.build().expect("every store is set")
    };
    assert_eq!(build(4, None).passwords().reserve(), 1, "the default");
    assert_eq!(build(4, Some(0)).passwords().reserve(), 0);
    assert_eq!(build(4, Some(2)).passwords().reserve(), 2);
    assert_eq!(
        build(1, None).passwords().reserve(),
        0,
        "one thread always hashes"
    );
}

/// #21.8: the profile cap is a setting; registration, `PATCH /me` and the
/// admin refuse a profile over it with a field error on `profile`, and a
/// profile exactly at it fits.
#[tokio::test]
async fn profile_size_is_capped_by_a_setting() {
    let f = fixture_with(AuthConfig::default().with_max_profile_bytes(64));
    // `{"bio":"..."}` is 10 bytes around the value.
    let fits = json!({ "bio": "x".repeat(54) });
    let over = json!({ "bio": "x".repeat(55) });
    let mut big = registration("lea", "lea@example.com");
    big.profile = over.as_object().cloned().unwrap();
    assert!(field_errors(f.auth.register(big, &client()).await.unwrap_err())["profile"].is_array());
    let mut small = registration("lea", "lea@example.com");
    small.profile = fits.as_object().cloned().unwrap();
    let lea = f.auth.register(small, &client()).await.unwrap();

    let update = profile_update(json!({ "bio": "x".repeat(55) }));
    let refused = f.auth.update_profile(lea.id, update).await;
    // Inactive users cannot PATCH /me; activate first.
    assert!(refused.is_err());
    let (uid, token) = link_parts(&f, "lea@example.com", "activate").await;
    f.auth
        .activate(LinkConfirmation { uid, token }, &client())
        .await
        .unwrap();
    let update = profile_update(json!({ "bio": "x".repeat(55) }));
    let err = f.auth.update_profile(lea.id, update).await.unwrap_err();
    assert!(field_errors(err)["profile"].is_array());
    let update = profile_update(json!({ "bio": null, "b": "y" }));
    let updated = f.auth.update_profile(lea.id, update).await.unwrap();
    assert_eq!(
        serde_json::Value::Object(updated.profile),
        json!({ "b": "y" })
    );

    let mut input = AdminUserInput::new_user("max", "max@example.com");
    input.patch.profile = over.as_object().cloned();
    assert!(field_errors(f.auth.create_user(input).await.unwrap_err())["profile"].is_array());
    let input = admin_input(UserPatch {
        profile: over.as_object().cloned(),
        ..UserPatch::default()
    });
    assert!(
        field_errors(f.auth.update_user(lea.id, input).await.unwrap_err())["profile"].is_array()
    );
    let stored = f.store.user_by_id(lea.id).await.unwrap().unwrap();
    assert_eq!(
        serde_json::Value::Object(stored.profile),
        json!({ "b": "y" })
    );
}

/// #21.3: registration with activation stores the email unverified and
/// activation verifies it; accounts made by staff, by create-superuser or
/// by registration without activation count as verified; a verified
/// account gets no activation email and no activation, even inactive.
#[tokio::test]
async fn activation_is_only_for_unverified_emails() {
    let f = fixture();
    let fresh = f
        .auth
        .register(registration("ned", "ned@example.com"), &client())
        .await
        .unwrap();
    assert!(!fresh.email_verified && !fresh.is_active);
    let (uid, token) = link_parts(&f, "ned@example.com", "activate").await;
    let activated = f
        .auth
        .activate(
            LinkConfirmation {
                uid: uid.clone(),
                token: token.clone(),
            },
            &client(),
        )
        .await
        .unwrap();
    assert!(activated.email_verified && activated.is_active);

    // Banned by staff: the old link, a fresh one made for the current
    // state, and a resend all fail to bring it back.
    let ban = admin_input(deactivate());
    let banned = f.auth.update_user(fresh.id, ban).await.unwrap();
    assert!(banned.email_verified && !banned.is_active);
    for (uid, token) in [
        (uid, token),
        link_parts_of(&f.auth.activation_link(&banned)),
    ] {
        let err = f
            .auth
            .activate(LinkConfirmation { uid, token }, &client())
            .await
            .unwrap_err();
        assert_eq!(
            field_errors(err),
            json!({ "token": ["Invalid or expired token."] })
        );
    }
    f.auth.flush().await;
    let sent = f.mailer.sent().len();
    f.auth
        .resend_activation(
            EmailRequest {
                email: "ned@example.com".into(),
            },
            &client(),
        )
        .await
        .unwrap();
    f.auth.flush().await;
    assert_eq!(
        f.mailer.sent().len(),
        sent,
        "no email to a verified account"
    );
    assert!(
        !f.store
            .user_by_id(fresh.id)
            .await
            .unwrap()
            .unwrap()
            .is_active
    );

    // Deactivated by staff before it was ever activated: no way back either.
    let spam = f
        .auth
        .register(registration("spam", "spam@example.com"), &client())
        .await
        .unwrap();
    let (uid, token) = link_parts(&f, "spam@example.com", "activate").await;
    let ban = admin_input(deactivate());
    f.auth.update_user(spam.id, ban).await.unwrap();
    let err = f
        .auth
        .activate(LinkConfirmation { uid, token }, &client())
        .await
        .unwrap_err();
    assert!(field_errors(err)["token"].is_array());

    let mut by_staff = AdminUserInput::new_user("ola", "ola@example.com");
    by_staff.patch.is_active = Some(false);
    assert!(f.auth.create_user(by_staff).await.unwrap().email_verified);
    let root = f
        .auth
        .create_superuser("root", "root@example.com", PASSWORD)
        .await
        .unwrap();
    assert!(root.email_verified);
    let open = fixture_with(AuthConfig {
        require_activation: false,
        ..AuthConfig::default()
    });
    let user = open
        .auth
        .register(registration("pat", "pat@example.com"), &client())
        .await
        .unwrap();
    assert!(user.email_verified && user.is_active);
}

/// `(uid, token)` of an activation link.
fn link_parts_of(link: &str) -> (String, String) {
    let rest = link.split("/activate/").nth(1).expect("an activation link");
    let (uid, token) = rest.split_once('/').expect("uid/token");
    (uid.to_string(), token.to_string())
}

/// What [`RenderingMailer`] keeps of each email.
type Rendered = (
    auth_core::mail::EmailKind,
    Option<String>,
    auth_core::UserId,
);

/// A mailer of an app that renders its own emails: it keeps what the
/// service hands it to do so (the kind, the link and the user).
#[derive(Debug, Default, Clone)]
struct RenderingMailer(Arc<std::sync::Mutex<Vec<Rendered>>>);

#[async_trait::async_trait]
impl auth_core::mail::Mailer for RenderingMailer {
    async fn send(&self, email: auth_core::mail::Email) -> Result<(), auth_core::error::BoxError> {
        self.0
            .lock()
            .unwrap()
            .push((email.kind, email.link, email.user_id));
        Ok(())
    }
}

/// #25: the link templates (djoser's `ACTIVATION_URL` and
/// `PASSWORD_RESET_CONFIRM_URL`) shape the emailed links, and a custom
/// mailer receives each email's kind, link and user id.
#[tokio::test]
async fn a_custom_mailer_gets_the_kind_the_templated_link_and_the_user() {
    use auth_core::mail::EmailKind;
    let config = AuthConfig::default()
        .with_frontend_url("https://app.example.com")
        .unwrap()
        .with_activation_url("{frontend_url}/#/activate?uid={uid}&token={token}")
        .unwrap()
        .with_password_reset_confirm_url("https://id.example.com/reset/{uid}/{token}/")
        .unwrap();
    let mailer = RenderingMailer::default();
    let auth = Auth::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .mailer(Arc::new(mailer.clone()))
        .hasher(Arc::new(
            Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap(),
        ))
        .build()
        .unwrap();
    let user = auth
        .register(registration("grace", "grace@example.com"), &client())
        .await
        .unwrap();
    auth.flush().await;
    let (kind, link, user_id) = mailer.0.lock().unwrap().pop().expect("an activation email");
    assert_eq!((kind, user_id), (EmailKind::Activation, user.id));
    let link = link.expect("a link");
    let query = link
        .strip_prefix("https://app.example.com/#/activate?uid=")
        .unwrap_or_else(|| panic!("{link}"));
    let (uid, token) = query.split_once("&token=").unwrap();
    let activated = auth
        .activate(
            LinkConfirmation {
                uid: uid.into(),
                token: token.into(),
            },
            &client(),
        )
        .await
        .unwrap();
    assert!(activated.is_active, "the templated link's parts activate");

    auth.request_password_reset(
        EmailRequest {
            email: "grace@example.com".into(),
        },
        &client(),
    )
    .await
    .unwrap();
    auth.flush().await;
    let (kind, link, user_id) = mailer.0.lock().unwrap().pop().expect("a reset email");
    assert_eq!((kind, user_id), (EmailKind::PasswordReset, user.id));
    let link = link.expect("a link");
    assert!(
        link.starts_with(&format!("https://id.example.com/reset/{uid}/")),
        "{link}"
    );
    assert!(link.ends_with('/'), "{link}");

    for bad in [
        "{frontend_url}/activate/{token}",
        "{frontend_url}/activate/{uid}/{token}/{uid}",
        "{frontend_url}/activate/{uid}/{token}?next={next}",
        "/activate/{uid}/{token}",
    ] {
        assert!(
            AuthConfig::default().with_activation_url(bad).is_err(),
            "{bad} accepted"
        );
    }
}
