//! Strings a store may be unable to hold (#21.5), in every lookup and
//! delete that takes a string: NUL and other control characters, values of
//! 10,000 characters, odd Unicode (noncharacters, the code points beside
//! the surrogate range, zero-width and bidi marks, emoji), trailing spaces
//! (a padding collation's trap) and `LIKE` wildcards. Each finds nothing
//! and changes nothing, as the contract in [`store`](crate::store) says;
//! none is an error.
//!
//! One module per store trait; [`store_conformance_tests!`] runs each
//! module's tests in the group of that trait.
//!
//! [`store_conformance_tests!`]: crate::store_conformance_tests

use std::fmt::Debug;

use super::now;

/// Values beside `base` that no store may confuse with it or with anything
/// else a test stored, together with a few that stand alone. Every one
/// differs from `base` in [`fold_case`](crate::user::fold_case) form.
pub fn odd_strings(base: &str) -> Vec<String> {
    let mut out: Vec<String> = [
        "\0",
        "\u{1}",
        "\t",
        "\n",
        "\r\n",
        "\u{1b}",
        "\u{7f}",
        "\u{85}",
        " ",
        "  ",
        "\u{a0}",
        "\u{200b}",
        "\u{202e}",
        "\u{feff}",
        "\u{fffd}",
        "\u{fffe}",
        "\u{ffff}",
        "\u{d7ff}",
        "\u{e000}",
        "\u{10ffff}",
        "😀",
        "%",
        "_",
        "!",
        "\\",
        "'",
    ]
    .iter()
    .flat_map(|odd| [format!("{base}{odd}"), format!("{odd}{base}")])
    .collect();
    let middle = base
        .char_indices()
        .nth(base.chars().count() / 2)
        .map_or(base.len(), |(i, _)| i);
    let (head, tail) = base.split_at(middle);
    out.push(format!("{head}\0{tail}"));
    out.push(format!("{head}%{tail}"));
    out.push(format!("{base}{}", "x".repeat(10_000)));
    out.push(format!("{base}{}", "é".repeat(10_000)));
    out.push(format!("{base}{}", "\0".repeat(10_000)));
    for alone in ["", "\0", "\0\0\0", " ", "%", "_", "' OR '1'='1", "\u{fffd}"] {
        out.push(alone.to_owned());
    }
    out.push("x".repeat(10_000));
    out
}

/// A short, printable name for `value` in a failure message.
fn show(value: &str) -> String {
    let start: String = value.chars().take(40).collect();
    format!("{start:?} ({} chars)", value.chars().count())
}

/// Panics unless `result` is `Ok(expected)`, naming the call and the value.
#[track_caller]
fn expect<T: Debug + PartialEq, E: Debug>(
    result: Result<T, E>,
    expected: T,
    call: &str,
    value: &str,
) {
    match result {
        Ok(got) if got == expected => {}
        other => panic!(
            "{call}({}) must find nothing (Ok({expected:?})), got {other:?}",
            show(value)
        ),
    }
}

/// Conformance tests for [`UserStore`](crate::store::UserStore).
pub mod users {
    use std::sync::Arc;

    use super::{expect, now, odd_strings};
    use crate::store::{UserQuery, UserStore};
    use crate::testkit::unique;
    use crate::user::User;

    /// A stored user whose username, email and names carry `tag`.
    async fn stored_user(store: &dyn UserStore, tag: &str) -> User {
        let mut user = User::new_for_tests(tag, &format!("{tag}@example.com"));
        user.first_name = format!("First{tag}");
        user.last_name = format!("Last{tag}");
        user.date_joined = now();
        store.insert_user(&user).await.expect("insert_user failed");
        user
    }

    /// `user_by_username` and `user_by_email` with odd strings find no
    /// user, and the stored user is unchanged.
    pub async fn lookups_by_odd_strings_find_nothing(store: Arc<dyn UserStore>) {
        let user = stored_user(&*store, &unique("odd")).await;
        for value in odd_strings(&user.username)
            .into_iter()
            .chain(odd_strings(&user.email))
        {
            expect(
                store.user_by_username(&value).await,
                None,
                "user_by_username",
                &value,
            );
            expect(
                store.user_by_email(&value).await,
                None,
                "user_by_email",
                &value,
            );
        }
        expect(
            store.user_by_id(user.id).await,
            Some(user.clone()),
            "user_by_id (the user stands)",
            "",
        );
    }

    /// A search for odd strings around a term that matches a user lists
    /// nobody.
    pub async fn search_by_odd_strings_finds_nothing(store: Arc<dyn UserStore>) {
        let tag = unique("odd");
        let user = stored_user(&*store, &tag).await;
        for value in odd_strings(&tag) {
            if value.is_empty() || !value.contains(&tag) {
                continue; // shared stores hold other users
            }
            let page = store
                .list_users(&UserQuery {
                    search: Some(value.clone()),
                    ..UserQuery::default()
                })
                .await;
            expect(
                page.map(|page| (page.total, page.items)),
                (0, vec![]),
                "list_users with search",
                &value,
            );
        }
        let page = store
            .list_users(&UserQuery {
                search: Some(tag),
                ..UserQuery::default()
            })
            .await
            .expect("list_users failed");
        assert_eq!(
            page.items,
            vec![user],
            "the plain search still finds the user"
        );
    }
}

/// Conformance tests for [`KnoxTokenStore`](crate::store::KnoxTokenStore).
pub mod knox {
    use std::sync::Arc;

    use chrono::Duration;

    use super::{expect, now, odd_strings};
    use crate::store::{KnoxTokenRecord, KnoxTokenStore, TokenLimit};
    use crate::testkit::random_hex;
    use crate::user::UserId;

    /// Lookups, touches and deletes by odd token keys and digests find
    /// nothing, and the stored token is unchanged.
    pub async fn lookups_and_deletes_by_odd_strings_find_nothing(store: Arc<dyn KnoxTokenStore>) {
        let t = now();
        let user = UserId::new();
        let mut key = random_hex(8);
        key.truncate(15);
        let record = KnoxTokenRecord {
            token_key: key.clone(),
            digest: random_hex(64),
            user_id: user,
            created: t,
            expiry: Some(t + Duration::hours(1)),
            last_used: None,
            name: None,
        };
        store
            .insert_knox_token(&record, TokenLimit::Unlimited, t)
            .await
            .expect("insert_knox_token failed");
        for value in odd_strings(&key) {
            expect(
                store.knox_tokens_by_key(&value).await,
                vec![],
                "knox_tokens_by_key",
                &value,
            );
            expect(
                store.delete_knox_token_by_key(user, &value).await,
                false,
                "delete_knox_token_by_key",
                &value,
            );
        }
        for value in odd_strings(&record.digest) {
            expect(
                store.touch_knox_token(&value, None, t).await,
                false,
                "touch_knox_token",
                &value,
            );
            expect(
                store.delete_knox_token(&value).await,
                false,
                "delete_knox_token",
                &value,
            );
        }
        expect(
            store.knox_tokens_by_key(&key).await,
            vec![record],
            "knox_tokens_by_key (the token stands)",
            &key,
        );
    }
}

/// Conformance tests for [`StaticTokenStore`](crate::store::StaticTokenStore).
pub mod static_tokens {
    use std::sync::Arc;

    use super::{expect, now, odd_strings};
    use crate::store::{StaticTokenRecord, StaticTokenStore};
    use crate::testkit::random_hex;
    use crate::user::UserId;

    /// Lookups by odd digests find nothing, and the stored token is
    /// unchanged.
    pub async fn lookups_by_odd_strings_find_nothing(store: Arc<dyn StaticTokenStore>) {
        let record = StaticTokenRecord {
            user_id: UserId::new(),
            digest: random_hex(32),
            seed: Some(random_hex(16)),
            created: now(),
        };
        store
            .get_or_insert_static_token(&record)
            .await
            .expect("get_or_insert_static_token failed");
        for value in odd_strings(&record.digest) {
            expect(
                store.static_token_by_digest(&value).await,
                None,
                "static_token_by_digest",
                &value,
            );
        }
        expect(
            store.static_token_by_digest(&record.digest).await,
            Some(record.clone()),
            "static_token_by_digest (the token stands)",
            &record.digest,
        );
    }
}

/// Conformance tests for [`JwtRevocationStore`](crate::store::JwtRevocationStore).
pub mod jwt {
    use std::sync::Arc;

    use chrono::Duration;

    use super::{expect, now, odd_strings};
    use crate::store::{BlacklistEntry, JwtRevocationStore};
    use crate::testkit::random_hex;
    use crate::user::UserId;

    /// Blacklist lookups by odd jtis and revocation checks of odd families
    /// find nothing, and the stored entry and family are unchanged.
    pub async fn lookups_by_odd_strings_find_nothing(store: Arc<dyn JwtRevocationStore>) {
        let t = now();
        let user = UserId::new();
        let family = random_hex(16);
        let entry = BlacklistEntry {
            jti: random_hex(16),
            user_id: user,
            family: Some(family.clone()),
            expires_at: t + Duration::days(1),
            blacklisted_at: t,
        };
        store
            .blacklist_jti(&entry)
            .await
            .expect("blacklist_jti failed");
        store
            .revoke_family(&family, user, t + Duration::days(1))
            .await
            .expect("revoke_family failed");
        for value in odd_strings(&entry.jti) {
            expect(
                store.blacklisted_jti(&value).await,
                None,
                "blacklisted_jti",
                &value,
            );
        }
        for value in odd_strings(&family) {
            expect(
                store
                    .revocation_state(user, Some(&value))
                    .await
                    .map(|state| state.family_revoked),
                false,
                "revocation_state(family)",
                &value,
            );
        }
        expect(
            store.blacklisted_jti(&entry.jti).await,
            Some(entry.clone()),
            "blacklisted_jti (the entry stands)",
            &entry.jti,
        );
        expect(
            store
                .revocation_state(user, Some(&family))
                .await
                .map(|state| state.family_revoked),
            true,
            "revocation_state (the family stays revoked)",
            &family,
        );
    }
}

/// Conformance tests for [`ThrottleStore`](crate::store::ThrottleStore).
pub mod throttle {
    use std::sync::Arc;

    use chrono::Duration;

    use super::{expect, now, odd_strings};
    use crate::store::ThrottleStore;
    use crate::testkit::unique;

    /// Peeks at odd keys find no window and clearing them forgets nothing
    /// else; the counted key keeps its count.
    pub async fn lookups_and_clears_by_odd_strings_find_nothing(store: Arc<dyn ThrottleStore>) {
        let t = now();
        let key = unique("odd:");
        let counted = store
            .throttle_hit(&key, Duration::hours(1), t)
            .await
            .expect("throttle_hit failed");
        for value in odd_strings(&key) {
            expect(
                store.throttle_peek(&value, t).await,
                None,
                "throttle_peek",
                &value,
            );
            expect(
                store.throttle_clear(&value).await,
                (),
                "throttle_clear",
                &value,
            );
        }
        expect(
            store.throttle_peek(&key, t).await,
            Some(counted),
            "throttle_peek (the count stands)",
            &key,
        );
    }
}

/// Conformance tests for
/// [`OAuthApplicationStore`](crate::store::OAuthApplicationStore).
pub mod oauth_applications {
    use std::sync::Arc;

    use super::{expect, odd_strings};
    use crate::store::OAuthApplicationStore;
    use crate::testkit::oauth_applications::application;

    /// `application_by_client_id` with odd strings finds nothing.
    pub async fn lookups_by_odd_strings_find_nothing(store: Arc<dyn OAuthApplicationStore>) {
        let app = application(None);
        store
            .insert_application(&app)
            .await
            .expect("insert_application failed");
        for value in odd_strings(&app.client_id) {
            expect(
                store.application_by_client_id(&value).await,
                None,
                "application_by_client_id",
                &value,
            );
        }
        expect(
            store.application_by_client_id(&app.client_id).await,
            Some(app.clone()),
            "application_by_client_id (the application stands)",
            &app.client_id,
        );
    }
}

/// Conformance tests for [`OAuthCodeStore`](crate::store::OAuthCodeStore).
pub mod oauth_codes {
    use std::sync::Arc;

    use chrono::Duration;

    use super::{expect, now, odd_strings};
    use crate::store::{CodeUse, OAuthCodeStore};
    use crate::testkit::oauth_codes::code;

    /// `code` with odd strings is `None`, `consume_code` is `Unknown` and
    /// uses no code.
    pub async fn lookups_of_odd_strings_find_nothing(store: Arc<dyn OAuthCodeStore>) {
        let t = now();
        let code = code(t, t + Duration::seconds(60));
        store.insert_code(&code).await.expect("insert_code failed");
        for value in odd_strings(&code.digest) {
            expect(store.code(&value).await, None, "code", &value);
            expect(
                store.consume_code(&value, t).await,
                CodeUse::Unknown,
                "consume_code",
                &value,
            );
        }
        let first = store
            .consume_code(&code.digest, t)
            .await
            .expect("consume_code failed");
        assert!(
            matches!(first, CodeUse::First(_)),
            "the code is still unused: {first:?}"
        );
    }
}

/// Conformance tests for [`OAuthTokenStore`](crate::store::OAuthTokenStore).
pub mod oauth_tokens {
    use std::sync::Arc;

    use super::{expect, now, odd_strings};
    use crate::oauth::OAuthTokenKind;
    use crate::store::{OAuthTokenStore, RefreshUse};
    use crate::testkit::oauth_tokens::token;

    /// `oauth_token`, `rotate_refresh_token` and `revoke_oauth_token` with
    /// odd strings find nothing, and the token stays live.
    pub async fn lookups_by_odd_strings_find_nothing(store: Arc<dyn OAuthTokenStore>) {
        let t = now();
        let refresh = token(OAuthTokenKind::Refresh);
        store
            .insert_oauth_token(&refresh)
            .await
            .expect("insert_oauth_token failed");
        for value in odd_strings(&refresh.digest) {
            expect(store.oauth_token(&value).await, None, "oauth_token", &value);
            expect(
                store.rotate_refresh_token(&value, t).await,
                RefreshUse::Unknown,
                "rotate_refresh_token",
                &value,
            );
            expect(
                store.revoke_oauth_token(&value, t).await,
                false,
                "revoke_oauth_token",
                &value,
            );
        }
        expect(
            store.oauth_token(&refresh.digest).await,
            Some(refresh.clone()),
            "oauth_token (the token stands)",
            &refresh.digest,
        );
    }
}

/// Conformance tests for
/// [`BrowserSessionStore`](crate::store::BrowserSessionStore).
pub mod browser_sessions {
    use std::sync::Arc;

    use chrono::Duration;

    use super::{expect, now, odd_strings};
    use crate::store::BrowserSessionStore;
    use crate::testkit::browser_sessions::session;
    use crate::user::UserId;

    /// `session` and `delete_session` with odd strings find nothing.
    pub async fn lookups_and_deletes_by_odd_strings_find_nothing(
        store: Arc<dyn BrowserSessionStore>,
    ) {
        let stored = session(UserId::new(), now() + Duration::hours(1));
        store
            .insert_session(&stored)
            .await
            .expect("insert_session failed");
        for value in odd_strings(&stored.digest) {
            expect(store.session(&value).await, None, "session", &value);
            expect(
                store.delete_session(&value).await,
                false,
                "delete_session",
                &value,
            );
        }
        expect(
            store.session(&stored.digest).await,
            Some(stored.clone()),
            "session (the session stands)",
            &stored.digest,
        );
    }
}
