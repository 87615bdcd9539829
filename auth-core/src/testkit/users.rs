//! Conformance tests for [`UserStore`].

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;

use super::{assert_conflict, assert_not_found, micros, now, race, random_hex, unique};
use crate::error::StoreError;
use crate::store::{UserQuery, UserStore};
use crate::user::{User, UserId, UserUpdate};

/// A user named `username` (email `<username>@example.com`) who joined now.
fn user(username: &str) -> User {
    let mut user = User::new_for_tests(username, &format!("{username}@example.com"));
    user.date_joined = now();
    user
}

/// A legacy (Django) id no other test uses: a random positive `i64`.
fn unique_legacy_id() -> i64 {
    let bits = u64::from_str_radix(&random_hex(8), 16).expect("random hex parses");
    i64::try_from(bits >> 1).unwrap_or(i64::MAX).max(1)
}

/// Inserts `user`, panicking with the error if the store refuses.
async fn insert(store: &dyn UserStore, user: &User) {
    if let Err(err) = store.insert_user(user).await {
        panic!("insert_user({:?}) failed: {err:?}", user.username);
    }
}

/// The user with `id`, which must exist.
async fn get(store: &dyn UserStore, id: UserId) -> User {
    store
        .user_by_id(id)
        .await
        .expect("user_by_id failed")
        .unwrap_or_else(|| panic!("user {id} should exist"))
}

/// A query for users matching `search`.
fn search(search: &str) -> UserQuery {
    UserQuery {
        search: Some(search.to_owned()),
        ..UserQuery::default()
    }
}

/// The usernames on a page, in order.
fn usernames(users: &[User]) -> Vec<&str> {
    users.iter().map(|user| user.username.as_str()).collect()
}

/// An inserted user is found by id, and by username and email in any case.
pub async fn insert_and_lookup_case_insensitive(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let ada = user(&format!("Ada_{tag}"));
    insert(&*store, &ada).await;

    assert_eq!(
        get(&*store, ada.id).await,
        ada,
        "user_by_id returns the user as stored"
    );
    for name in [
        ada.username.clone(),
        ada.username.to_lowercase(),
        ada.username.to_uppercase(),
    ] {
        let found = store
            .user_by_username(&name)
            .await
            .expect("user_by_username failed");
        assert_eq!(
            found.as_ref(),
            Some(&ada),
            "user_by_username({name:?}) ignores case"
        );
    }
    for email in [
        ada.email.clone(),
        ada.email.to_lowercase(),
        ada.email.to_uppercase(),
    ] {
        let found = store
            .user_by_email(&email)
            .await
            .expect("user_by_email failed");
        assert_eq!(
            found.as_ref(),
            Some(&ada),
            "user_by_email({email:?}) ignores case"
        );
    }
}

/// Case-insensitive means Unicode case: "ÅSA" finds "åsa", in usernames and
/// emails, and is a duplicate of it.
pub async fn lookups_fold_unicode_case(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let mut asa = user(&format!("åsa_zoë_{tag}"));
    asa.email = format!("åsa.zoë.{tag}@exämple.com");
    insert(&*store, &asa).await;

    let upper = format!("ÅSA_ZOË_{}", tag.to_uppercase());
    let found = store
        .user_by_username(&upper)
        .await
        .expect("user_by_username failed");
    assert_eq!(
        found.as_ref(),
        Some(&asa),
        "user_by_username({upper:?}) finds {:?}",
        asa.username
    );
    let upper_email = asa.email.to_uppercase();
    let found = store
        .user_by_email(&upper_email)
        .await
        .expect("user_by_email failed");
    assert_eq!(
        found.as_ref(),
        Some(&asa),
        "user_by_email({upper_email:?}) finds {:?}",
        asa.email
    );

    let mut twin = user(&upper);
    twin.email = format!("other_{tag}@example.com");
    assert_conflict(
        store.insert_user(&twin).await,
        "username",
        "inserting \"ÅSA...\" when \"åsa...\" exists",
    );
    let mut twin = user(&format!("other_{tag}"));
    twin.email = upper_email;
    assert_conflict(
        store.insert_user(&twin).await,
        "email",
        "inserting an email that differs only in Unicode case",
    );
}

/// Uniqueness is exactly equality of [`fold_case`](crate::user::fold_case)
/// forms, not a database collation: names that differ by an accent, or "ß"
/// and "ss", are different users.
pub async fn folding_is_exactly_fold_case(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let names = [
        format!("åsa_{tag}"),
        format!("asa_{tag}"),
        format!("straße_{tag}"),
        format!("strasse_{tag}"),
        format!("rené_{tag}"),
        format!("rene_{tag}"),
    ];
    let mut users = Vec::new();
    for name in &names {
        let user = user(name);
        if let Err(err) = store.insert_user(&user).await {
            panic!(
                "{name:?} differs from every other name after fold_case, but insert failed: {err:?}"
            );
        }
        users.push(user);
    }
    for user in &users {
        let found = store
            .user_by_username(&user.username)
            .await
            .expect("user_by_username failed");
        assert_eq!(
            found.map(|u| u.id),
            Some(user.id),
            "user_by_username({:?})",
            user.username
        );
        let found = store
            .user_by_email(&user.email)
            .await
            .expect("user_by_email failed");
        assert_eq!(
            found.map(|u| u.id),
            Some(user.id),
            "user_by_email({:?})",
            user.email
        );
    }
}

/// Lookups of what does not exist are `Ok(None)`.
pub async fn unknown_lookups_are_none(store: Arc<dyn UserStore>) {
    let name = unique("nobody_");
    assert_eq!(
        store
            .user_by_id(UserId::new())
            .await
            .expect("user_by_id failed"),
        None
    );
    assert_eq!(
        store
            .user_by_username(&name)
            .await
            .expect("user_by_username failed"),
        None
    );
    let email = format!("{name}@example.com");
    assert_eq!(
        store
            .user_by_email(&email)
            .await
            .expect("user_by_email failed"),
        None
    );
}

/// A username taken in another case is `Conflict("username")`, and nothing
/// of the refused user is stored.
pub async fn duplicate_username_conflicts_and_stores_nothing(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let first = user(&format!("dup_{tag}"));
    insert(&*store, &first).await;

    let mut second = user(&format!("DUP_{}", tag.to_uppercase()));
    second.email = format!("second_{tag}@example.com");
    assert_conflict(
        store.insert_user(&second).await,
        "username",
        "inserting a username taken in another case",
    );
    assert_eq!(
        store
            .user_by_id(second.id)
            .await
            .expect("user_by_id failed"),
        None,
        "a refused insert stores nothing"
    );
    assert_eq!(
        store
            .user_by_email(&second.email)
            .await
            .expect("user_by_email failed"),
        None,
        "a refused insert does not claim the email"
    );
    assert_eq!(
        get(&*store, first.id).await,
        first,
        "the first user is unchanged"
    );
    let page = store
        .list_users(&search(&tag))
        .await
        .expect("list_users failed");
    assert_eq!(page.total, 1, "only the first user is stored");
}

/// An email taken in another case is `Conflict("email")`, and nothing of the
/// refused user is stored.
pub async fn duplicate_email_conflicts_and_stores_nothing(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let first = user(&format!("first_{tag}"));
    insert(&*store, &first).await;

    let mut second = user(&format!("second_{tag}"));
    second.email = first.email.to_uppercase();
    assert_conflict(
        store.insert_user(&second).await,
        "email",
        "inserting an email taken in another case",
    );
    assert_eq!(
        store
            .user_by_id(second.id)
            .await
            .expect("user_by_id failed"),
        None,
        "a refused insert stores nothing"
    );
    assert_eq!(
        store
            .user_by_username(&second.username)
            .await
            .expect("user_by_username failed"),
        None,
        "a refused insert does not claim the username"
    );
    let page = store
        .list_users(&search(&tag))
        .await
        .expect("list_users failed");
    assert_eq!(page.total, 1, "only the first user is stored");
}

/// A user with every field set comes back exactly: microsecond timestamps,
/// the hash, the flags, Unicode names and a nested Unicode profile.
pub async fn every_field_round_trips(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let joined = micros(now() - Duration::days(400), 123_457);
    let mut full = user(&format!("Zoë.full+{tag}"));
    full.email = format!("Zoë.Full+{tag}@example.com");
    full.first_name = "Zoë Ådelé".into();
    full.last_name = "O'Brien-日本".into();
    full.is_active = false;
    full.is_staff = true;
    full.is_superuser = true;
    full.email_verified = false;
    full.date_joined = joined;
    full.last_login = Some(micros(joined, 86_400_000_001));
    full.password_hash =
        Some("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG".into());
    full.legacy_id = Some(unique_legacy_id());
    let profile = json!({
        "country": "Åland",
        "bio": "日本語 🎉 \"quoted\" \\ back\nslash\ttab",
        "empty": "",
        "nested": {"list": [1, -2, 2.5, true, false, null, {"deep": ["x", {}]}], "obj": {}},
        "big": 9_007_199_254_740_993_u64,
        "negative": -9_007_199_254_740_993_i64,
        "float": 0.1,
        "none": null,
    });
    full.profile = profile.as_object().cloned().unwrap_or_default();
    insert(&*store, &full).await;

    let stored = get(&*store, full.id).await;
    assert_eq!(
        stored.date_joined, joined,
        "date_joined keeps its microseconds"
    );
    assert_eq!(
        stored.last_login, full.last_login,
        "last_login keeps its microseconds"
    );
    assert_eq!(
        serde_json::Value::Object(stored.profile.clone()),
        profile,
        "the profile JSON round-trips"
    );
    assert_eq!(stored, full, "every field round-trips");

    // And the plain case: no password, no last login, empty names and
    // profile, a verified email.
    let plain = user(&format!("plain_{tag}"));
    assert!(plain.email_verified);
    insert(&*store, &plain).await;
    assert_eq!(
        get(&*store, plain.id).await,
        plain,
        "a user with empty fields round-trips"
    );
}

/// `update_user` sets every column its update names (and neither
/// `last_login` nor the hash, which it cannot name); the old
/// username and email are free afterwards and the new ones are found; a user
/// may change the case of its own username.
pub async fn update_sets_every_named_field(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let mut original = user(&format!("before_{tag}"));
    original.password_hash = Some("$argon2id$v=19$kept".into());
    original.last_login = Some(micros(original.date_joined, 7));
    insert(&*store, &original).await;

    let update = UserUpdate {
        username: Some(format!("after_{tag}")),
        email: Some(format!("after.{tag}@example.org")),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        is_active: Some(!original.is_active),
        is_staff: Some(!original.is_staff),
        is_superuser: Some(!original.is_superuser),
        email_verified: Some(!original.email_verified),
        profile: Some(
            json!({"country": "UK", "links": {"site": "https://example.com"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        date_joined: Some(micros(original.date_joined, -86_400_000_123)),
    };
    store
        .update_user(original.id, &update)
        .await
        .expect("update_user failed");
    let mut changed = original.clone();
    update.apply_to(&mut changed);
    assert_eq!(
        get(&*store, original.id).await,
        changed,
        "every named field is set, the rest kept"
    );

    for (what, found) in [
        (
            "old username",
            store.user_by_username(&original.username).await,
        ),
        ("old email", store.user_by_email(&original.email).await),
    ] {
        assert_eq!(
            found.expect("lookup failed"),
            None,
            "the {what} no longer finds the user"
        );
    }
    let found = store
        .user_by_username(&changed.username)
        .await
        .expect("lookup failed");
    assert_eq!(
        found.map(|u| u.id),
        Some(changed.id),
        "the new username finds the user"
    );
    let found = store
        .user_by_email(&changed.email)
        .await
        .expect("lookup failed");
    assert_eq!(
        found.map(|u| u.id),
        Some(changed.id),
        "the new email finds the user"
    );

    // The old username and email can be taken by someone else now.
    let mut newcomer = user(&original.username);
    newcomer.email = original.email.clone();
    insert(&*store, &newcomer).await;

    // Changing only the case of one's own username is not a conflict.
    let recase = UserUpdate {
        username: Some(changed.username.to_uppercase()),
        email: Some(changed.email.to_uppercase()),
        ..UserUpdate::default()
    };
    store
        .update_user(changed.id, &recase)
        .await
        .expect("changing the case of one's own username and email is not a conflict");
    recase.apply_to(&mut changed);
    assert_eq!(get(&*store, changed.id).await, changed);
}

/// An update names some columns and leaves every other one as stored, even
/// one changed since the writer read the user: a profile change written
/// from a read made before a deactivation, a demotion or a password reset
/// does not undo it. An update naming nothing changes nothing.
pub async fn update_leaves_unnamed_columns_alone(store: Arc<dyn UserStore>) {
    let mut ada = user(&unique("ada_"));
    ada.is_staff = true;
    ada.password_hash = Some("$argon2id$v=19$before".into());
    ada.profile = json!({"k": "v"}).as_object().cloned().unwrap_or_default();
    insert(&*store, &ada).await;
    let stale = ada.clone();

    // Behind the writer's back: deactivated, demoted, password reset.
    let security = UserUpdate {
        is_active: Some(false),
        is_staff: Some(false),
        ..UserUpdate::default()
    };
    store
        .update_user(ada.id, &security)
        .await
        .expect("update_user failed");
    store
        .set_password_hash(ada.id, Some("$argon2id$v=19$after"))
        .await
        .expect("set_password_hash failed");

    // The writer's change, from its stale read.
    let mut profile = stale.profile.clone();
    profile.insert("bio".into(), json!("hi"));
    let names = UserUpdate {
        first_name: Some("Ada".into()),
        profile: Some(profile.clone()),
        ..UserUpdate::default()
    };
    store
        .update_user(ada.id, &names)
        .await
        .expect("update_user failed");
    let mut expected = ada.clone();
    security.apply_to(&mut expected);
    names.apply_to(&mut expected);
    expected.password_hash = Some("$argon2id$v=19$after".into());
    let stored = get(&*store, ada.id).await;
    assert!(
        !stored.is_active && !stored.is_staff,
        "a write that names neither flag left them as stored: {stored:?}"
    );
    assert_eq!(stored, expected, "only the named columns changed");

    store
        .update_user(ada.id, &UserUpdate::default())
        .await
        .expect("an empty update of an existing user is fine");
    assert_eq!(
        get(&*store, ada.id).await,
        expected,
        "an empty update changes nothing"
    );
}

/// An update naming only `date_joined` (an import bringing it in line
/// with Django's) writes it, to the microsecond, earlier or later than the
/// stored one, and leaves every other column as stored.
pub async fn update_date_joined_touches_only_date_joined(store: Arc<dyn UserStore>) {
    let mut ada = user(&unique("ada_"));
    ada.first_name = "Ada".into();
    ada.is_staff = true;
    ada.email_verified = true;
    ada.password_hash = Some("$argon2id$v=19$kept".into());
    ada.last_login = Some(micros(ada.date_joined, 5));
    ada.profile = json!({"plan": "pro"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    ada.legacy_id = Some(unique_legacy_id());
    insert(&*store, &ada).await;

    let mut expected = ada.clone();
    for at in [
        micros(ada.date_joined, -(400 * 86_400_000_000) - 123_457),
        micros(ada.date_joined, 3_600_000_001),
    ] {
        let update = UserUpdate {
            date_joined: Some(at),
            ..UserUpdate::default()
        };
        store
            .update_user(ada.id, &update)
            .await
            .expect("update_user of date_joined failed");
        expected.date_joined = at;
        assert_eq!(
            get(&*store, ada.id).await,
            expected,
            "date_joined is written and nothing else changes"
        );
    }
}

/// `replace_password_hash` writes only over the hash it is given (what a
/// login verified): after a reset in between it writes nothing and says so;
/// over the current hash it writes; an unknown user or one with no hash is
/// `false`; of concurrent replacements of one hash exactly one writes.
pub async fn replace_password_hash_only_over_the_verified_hash(store: Arc<dyn UserStore>) {
    let mut ada = user(&unique("ada_"));
    ada.password_hash = Some("$pbkdf2-sha256$old".into());
    insert(&*store, &ada).await;

    // A reset lands between the login's read and its rehash.
    store
        .set_password_hash(ada.id, Some("$argon2id$v=19$reset"))
        .await
        .expect("set_password_hash failed");
    let wrote = store
        .replace_password_hash(ada.id, "$pbkdf2-sha256$old", "$argon2id$v=19$rehash")
        .await
        .expect("replace_password_hash failed");
    assert!(!wrote, "a rehash over a hash that changed writes nothing");
    let mut expected = ada.clone();
    expected.password_hash = Some("$argon2id$v=19$reset".into());
    assert_eq!(
        get(&*store, ada.id).await,
        expected,
        "the reset's hash stands"
    );

    let wrote = store
        .replace_password_hash(ada.id, "$argon2id$v=19$reset", "$argon2id$v=19$rehash")
        .await
        .expect("replace_password_hash failed");
    assert!(wrote, "a rehash over the verified hash writes");
    expected.password_hash = Some("$argon2id$v=19$rehash".into());
    assert_eq!(
        get(&*store, ada.id).await,
        expected,
        "only the hash changed"
    );

    assert!(
        !store
            .replace_password_hash(UserId::new(), "$argon2id$v=19$rehash", "$x")
            .await
            .expect("replace_password_hash failed"),
        "an unknown user is false"
    );
    let bare = user(&unique("bare_"));
    insert(&*store, &bare).await;
    assert!(
        !store
            .replace_password_hash(bare.id, "", "$x")
            .await
            .expect("replace_password_hash failed"),
        "a user with no hash is false"
    );
    assert_eq!(get(&*store, bare.id).await, bare);

    let id = ada.id;
    let wins = race(8, |i| {
        let store = store.clone();
        async move {
            store
                .replace_password_hash(id, "$argon2id$v=19$rehash", &format!("$argon2id$v=19${i}"))
                .await
                .expect("replace_password_hash failed")
        }
    })
    .await;
    assert_eq!(
        wins.iter().filter(|won| **won).count(),
        1,
        "exactly one of concurrent rehashes writes"
    );
}

/// Updating a user that does not exist is `NotFound` and creates nothing.
pub async fn update_of_unknown_user_is_not_found(store: Arc<dyn UserStore>) {
    let ghost = user(&unique("ghost_"));
    let update = UserUpdate {
        username: Some(ghost.username.clone()),
        ..UserUpdate::default()
    };
    assert_not_found(
        store.update_user(ghost.id, &update).await,
        "update_user of an unknown id",
    );
    assert_eq!(
        store.user_by_id(ghost.id).await.expect("user_by_id failed"),
        None,
        "update_user does not insert"
    );
    assert_eq!(
        store
            .user_by_username(&ghost.username)
            .await
            .expect("user_by_username failed"),
        None,
        "update_user does not insert"
    );
}

/// Updating to a username or email another user holds (in any case) is a
/// conflict on that field, and neither user changes.
pub async fn update_conflict_changes_nothing(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let ada = user(&format!("ada_{tag}"));
    let bob = user(&format!("bob_{tag}"));
    insert(&*store, &ada).await;
    insert(&*store, &bob).await;

    let taken_name = UserUpdate {
        username: Some(bob.username.to_uppercase()),
        first_name: Some("Changed".into()),
        ..UserUpdate::default()
    };
    assert_conflict(
        store.update_user(ada.id, &taken_name).await,
        "username",
        "update_user to another user's username",
    );

    let taken_email = UserUpdate {
        email: Some(bob.email.to_uppercase()),
        last_name: Some("Changed".into()),
        ..UserUpdate::default()
    };
    assert_conflict(
        store.update_user(ada.id, &taken_email).await,
        "email",
        "update_user to another user's email",
    );

    assert_eq!(
        get(&*store, ada.id).await,
        ada,
        "a refused update changes nothing"
    );
    assert_eq!(
        get(&*store, bob.id).await,
        bob,
        "the other user is untouched"
    );
    let found = store
        .user_by_username(&bob.username)
        .await
        .expect("lookup failed");
    assert_eq!(
        found.map(|u| u.id),
        Some(bob.id),
        "the username still belongs to its owner"
    );
    let found = store
        .user_by_email(&bob.email)
        .await
        .expect("lookup failed");
    assert_eq!(
        found.map(|u| u.id),
        Some(bob.id),
        "the email still belongs to its owner"
    );
}

/// `set_password_hash` sets (or clears) only the hash; unknown ids are
/// `NotFound`.
pub async fn set_password_hash_touches_only_the_hash(store: Arc<dyn UserStore>) {
    let mut ada = user(&unique("ada_"));
    ada.first_name = "Ada".into();
    ada.profile = json!({"k": "v"}).as_object().cloned().unwrap_or_default();
    ada.password_hash = Some("$argon2id$v=19$old".into());
    insert(&*store, &ada).await;

    store
        .set_password_hash(ada.id, Some("$argon2id$v=19$new"))
        .await
        .expect("set_password_hash failed");
    let mut expected = ada.clone();
    expected.password_hash = Some("$argon2id$v=19$new".into());
    assert_eq!(
        get(&*store, ada.id).await,
        expected,
        "only the hash changes"
    );

    store
        .set_password_hash(ada.id, None)
        .await
        .expect("set_password_hash(None) failed");
    expected.password_hash = None;
    assert_eq!(
        get(&*store, ada.id).await,
        expected,
        "the hash can be cleared"
    );

    assert_not_found(
        store
            .set_password_hash(UserId::new(), Some("$argon2id$v=19$x"))
            .await,
        "set_password_hash of an unknown id",
    );
}

/// `set_last_login` sets only `last_login`, to the microsecond; unknown ids
/// are `NotFound`.
pub async fn set_last_login_touches_only_last_login(store: Arc<dyn UserStore>) {
    let mut ada = user(&unique("ada_"));
    ada.password_hash = Some("$argon2id$v=19$hash".into());
    insert(&*store, &ada).await;

    let at = micros(now(), 654_321);
    store
        .set_last_login(ada.id, at)
        .await
        .expect("set_last_login failed");
    let mut expected = ada.clone();
    expected.last_login = Some(at);
    assert_eq!(
        get(&*store, ada.id).await,
        expected,
        "only last_login changes"
    );

    let later = micros(at, 1);
    store
        .set_last_login(ada.id, later)
        .await
        .expect("set_last_login failed");
    expected.last_login = Some(later);
    assert_eq!(
        get(&*store, ada.id).await,
        expected,
        "last_login is overwritten"
    );

    assert_not_found(
        store.set_last_login(UserId::new(), at).await,
        "set_last_login of an unknown id",
    );
}

/// `delete_user` is `true` once and then `false`; the user is gone from
/// every lookup and its username and email are free again.
pub async fn delete_user_true_then_false(store: Arc<dyn UserStore>) {
    let ada = user(&unique("ada_"));
    let keep = user(&unique("keep_"));
    insert(&*store, &ada).await;
    insert(&*store, &keep).await;

    assert!(
        store.delete_user(ada.id).await.expect("delete_user failed"),
        "deleting a user is true"
    );
    assert!(
        !store.delete_user(ada.id).await.expect("delete_user failed"),
        "deleting it again is false"
    );
    assert!(
        !store
            .delete_user(UserId::new())
            .await
            .expect("delete_user failed"),
        "deleting an unknown id is false"
    );
    assert_eq!(store.user_by_id(ada.id).await.expect("lookup failed"), None);
    assert_eq!(
        store
            .user_by_username(&ada.username)
            .await
            .expect("lookup failed"),
        None
    );
    assert_eq!(
        store
            .user_by_email(&ada.email)
            .await
            .expect("lookup failed"),
        None
    );
    assert_eq!(
        get(&*store, keep.id).await,
        keep,
        "other users are untouched"
    );

    let again = user(&ada.username);
    insert(&*store, &again).await;
}

/// Listings are ordered by `date_joined`, then by id, whatever the order of
/// insertion.
pub async fn list_orders_by_date_joined_then_id(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let base = now() - Duration::hours(1);
    let mut tied_ids = [UserId::new(), UserId::new()];
    tied_ids.sort();
    let plan = [
        ("c", micros(base, 3_000_000), UserId::new()),
        ("tie_high", micros(base, 2_000_000), tied_ids[1]),
        ("a", micros(base, 1), UserId::new()),
        ("tie_low", micros(base, 2_000_000), tied_ids[0]),
        ("b", micros(base, 2), UserId::new()),
    ];
    for (name, joined, id) in &plan {
        let mut user = user(&format!("{name}_{tag}"));
        user.id = *id;
        user.date_joined = *joined;
        insert(&*store, &user).await;
    }

    let page = store
        .list_users(&search(&tag))
        .await
        .expect("list_users failed");
    let expected: Vec<String> = ["a", "b", "tie_low", "tie_high", "c"]
        .iter()
        .map(|name| format!("{name}_{tag}"))
        .collect();
    assert_eq!(
        usernames(&page.items),
        expected,
        "ordered by date_joined, then id (ties by id)"
    );
    assert_eq!(page.total, 5);

    // Without a search every user is listed, in the same order.
    let all = store
        .list_users(&UserQuery::default())
        .await
        .expect("list_users failed");
    assert!(
        all.total >= 5,
        "the total counts every user, got {}",
        all.total
    );
    assert!(
        all.items
            .windows(2)
            .all(|w| (w[0].date_joined, w[0].id) <= (w[1].date_joined, w[1].id)),
        "an unfiltered listing is ordered by date_joined, then id"
    );
}

/// The search matches a case-insensitive (Unicode) substring of the
/// username, the email, the first name or the last name.
pub async fn list_search_matches_each_field_case_insensitively(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let in_first = unique("");
    let in_last = unique("");
    let in_email = unique("");
    let in_username = unique("");

    let mut by_first = user(&format!("first_{tag}"));
    by_first.first_name = format!("Ünïcorn{in_first}Zoë");
    let mut by_last = user(&format!("last_{tag}"));
    by_last.last_name = format!("Ørsted{in_last}");
    let mut by_email = user(&format!("email_{tag}"));
    by_email.email = format!("mail.{in_email}.{tag}@example.com");
    let by_username = user(&format!("ÅSA{in_username}_{tag}"));
    for user in [&by_first, &by_last, &by_email, &by_username] {
        insert(&*store, user).await;
    }

    let all = store
        .list_users(&search(&tag.to_uppercase()))
        .await
        .expect("list_users failed");
    assert_eq!(all.total, 4, "the tag in upper case finds the four users");
    assert_eq!(all.items.len(), 4);

    for (needle, who) in [
        (format!("ÜNÏCORN{}zoë", in_first.to_uppercase()), &by_first),
        (format!("ørsted{in_last}"), &by_last),
        (format!("MAIL.{}", in_email.to_uppercase()), &by_email),
        (format!("åsa{in_username}"), &by_username),
    ] {
        let page = store
            .list_users(&search(&needle))
            .await
            .expect("list_users failed");
        assert_eq!(
            page.items.iter().map(|u| u.id).collect::<Vec<_>>(),
            vec![who.id],
            "search {needle:?} finds exactly {:?}",
            who.username
        );
        assert_eq!(page.total, 1, "search {needle:?}: total");
    }

    let page = store
        .list_users(&search(&unique("absent")))
        .await
        .expect("list_users failed");
    assert_eq!(
        (page.items.len(), page.total),
        (0, 0),
        "a search matching nothing"
    );
}

/// The search is a literal substring: `%`, `_` and `\` are not wildcards or
/// escapes (a SQL store must escape them in `LIKE`).
pub async fn list_search_is_a_literal_substring(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let plain = user(&format!("lit{tag}abc"));
    let mut odd = user(&format!("odd_{tag}"));
    odd.first_name = format!("50%_off\\{tag}");
    insert(&*store, &plain).await;
    insert(&*store, &odd).await;

    for needle in [
        format!("{tag}_bc"),
        format!("{tag}%c"),
        format!("{tag}\\abc"),
        format!("lit%{tag}"),
        format!("%{tag}"),
        format!("{tag}_"),
    ] {
        let page = store
            .list_users(&search(&needle))
            .await
            .expect("list_users failed");
        assert_eq!(
            page.total,
            0,
            "search {needle:?} is literal and matches nothing, found {:?}",
            usernames(&page.items)
        );
    }
    let needle = format!("50%_OFF\\{tag}");
    let page = store
        .list_users(&search(&needle))
        .await
        .expect("list_users failed");
    assert_eq!(
        page.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![odd.id],
        "search {needle:?} finds the name that contains it literally"
    );
}

/// `offset` and `limit` pick a page; `total` counts every match whatever the
/// page.
pub async fn list_offset_limit_and_total(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let base = now() - Duration::minutes(5);
    let mut expected = Vec::new();
    for i in 0..5_i64 {
        let mut user = user(&format!("p{i}_{tag}"));
        user.date_joined = micros(base, i);
        expected.push(user.username.clone());
        insert(&*store, &user).await;
    }
    for (offset, limit, range) in [
        (0, 2, 0..2),
        (2, 2, 2..4),
        (4, 10, 4..5),
        (0, 100, 0..5),
        (5, 10, 5..5),
        (50, 10, 5..5),
        (1, 0, 1..1),
    ] {
        let query = UserQuery {
            search: Some(tag.clone()),
            offset,
            limit,
        };
        let page = store.list_users(&query).await.expect("list_users failed");
        assert_eq!(
            usernames(&page.items),
            expected[range].to_vec(),
            "offset {offset}, limit {limit}"
        );
        assert_eq!(
            page.total, 5,
            "offset {offset}, limit {limit}: total counts every match"
        );
    }
}

/// Of 32 concurrent inserts of one username (in differing case, with
/// different ids and emails), exactly one succeeds, the others are
/// `Conflict("username")`, and exactly one user is stored.
pub async fn concurrent_inserts_of_one_username_admit_one(store: Arc<dyn UserStore>) {
    const TASKS: usize = 32;
    let tag = unique("");
    let results = race(TASKS, |i| {
        let store = store.clone();
        // Each task spells the name in its own mix of cases.
        let name: String = format!("racer_{tag}")
            .chars()
            .enumerate()
            .map(|(pos, c)| {
                if (i >> (pos % 5)) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let mut candidate = user(&name);
        candidate.email = format!("racer{i}_{tag}@example.com");
        async move {
            let result = store.insert_user(&candidate).await;
            (candidate, result)
        }
    })
    .await;

    let mut winners = Vec::new();
    for (candidate, result) in results {
        match result {
            Ok(()) => winners.push(candidate),
            Err(StoreError::Conflict(field)) if field == "username" => {}
            Err(err) => panic!("a losing insert must be Conflict(\"username\"), got {err:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {TASKS} concurrent inserts succeeds"
    );
    let winner = &winners[0];
    let found = store
        .user_by_username(&format!("RACER_{}", tag.to_uppercase()))
        .await
        .expect("user_by_username failed");
    assert_eq!(
        found.as_ref(),
        Some(winner),
        "the stored user is the winner"
    );
    let page = store
        .list_users(&search(&tag))
        .await
        .expect("list_users failed");
    assert_eq!(page.total, 1, "exactly one user is stored");
}

/// Of 32 concurrent inserts of one email (in differing case, with different
/// usernames), exactly one succeeds and the others are `Conflict("email")`.
pub async fn concurrent_inserts_of_one_email_admit_one(store: Arc<dyn UserStore>) {
    const TASKS: usize = 32;
    let tag = unique("");
    let results = race(TASKS, |i| {
        let store = store.clone();
        let mut candidate = user(&format!("mailer{i}_{tag}"));
        candidate.email = if i % 2 == 0 {
            format!("shared.{tag}@example.com")
        } else {
            format!("SHARED.{}@EXAMPLE.COM", tag.to_uppercase())
        };
        async move { store.insert_user(&candidate).await }
    })
    .await;

    let mut successes = 0;
    for result in results {
        match result {
            Ok(()) => successes += 1,
            Err(StoreError::Conflict(field)) if field == "email" => {}
            Err(err) => panic!("a losing insert must be Conflict(\"email\"), got {err:?}"),
        }
    }
    assert_eq!(
        successes, 1,
        "exactly one of {TASKS} concurrent inserts succeeds"
    );
    let page = store
        .list_users(&search(&tag))
        .await
        .expect("list_users failed");
    assert_eq!(page.total, 1, "exactly one user is stored");
}

/// Inserting a user whose id is taken is `Conflict("id")` and stores
/// nothing.
pub async fn insert_with_a_taken_id_conflicts_on_id(store: Arc<dyn UserStore>) {
    let first = user(&unique("first_"));
    insert(&*store, &first).await;
    let mut second = user(&unique("second_"));
    second.id = first.id;
    assert_conflict(store.insert_user(&second).await, "id", "a taken id");
    assert_eq!(
        store
            .user_by_username(&second.username)
            .await
            .expect("user_by_username failed"),
        None,
        "the refused user was not stored"
    );
    assert_eq!(
        get(&*store, first.id).await,
        first,
        "the first is unchanged"
    );
}

/// A user imported with a legacy id is found by it; any id no user has
/// (including the extremes of `i64`) finds nothing; a second user with
/// that id is `Conflict("legacy_id")` and stores nothing, while any number
/// of users have none; an update keeps the id; a deleted user's id finds
/// nothing and is free again.
pub async fn legacy_ids_are_found_and_unique(store: Arc<dyn UserStore>) {
    let tag = unique("");
    let legacy_id = unique_legacy_id();
    let mut imported = user(&format!("imported_{tag}"));
    imported.legacy_id = Some(legacy_id);
    insert(&*store, &imported).await;
    let by_legacy_id = |id: i64| {
        let store = store.clone();
        async move {
            store
                .user_by_legacy_id(id)
                .await
                .unwrap_or_else(|err| panic!("user_by_legacy_id({id}) failed: {err:?}"))
        }
    };
    assert_eq!(
        by_legacy_id(legacy_id).await.as_ref(),
        Some(&imported),
        "user_by_legacy_id finds the imported user"
    );
    for unknown in [unique_legacy_id(), 0, -1, i64::MIN, i64::MAX] {
        if unknown != legacy_id {
            assert_eq!(by_legacy_id(unknown).await, None, "legacy id {unknown}");
        }
    }

    for name in ["native_a", "native_b"] {
        let native = user(&format!("{name}_{tag}"));
        assert_eq!(native.legacy_id, None);
        insert(&*store, &native).await;
        assert_eq!(
            get(&*store, native.id).await.legacy_id,
            None,
            "a user created here has no legacy id"
        );
    }

    let mut twin = user(&format!("twin_{tag}"));
    twin.legacy_id = Some(legacy_id);
    assert_conflict(
        store.insert_user(&twin).await,
        "legacy_id",
        "inserting a legacy id another user has",
    );
    assert_eq!(
        store
            .user_by_username(&twin.username)
            .await
            .expect("user_by_username failed"),
        None,
        "a refused insert stores nothing"
    );

    let rename = UserUpdate {
        first_name: Some("Renamed".into()),
        ..UserUpdate::default()
    };
    store
        .update_user(imported.id, &rename)
        .await
        .expect("update_user failed");
    let found = by_legacy_id(legacy_id).await.expect("still found");
    assert_eq!(
        (found.id, found.first_name.as_str(), found.legacy_id),
        (imported.id, "Renamed", Some(legacy_id)),
        "an update keeps the legacy id"
    );

    assert!(
        store
            .delete_user(imported.id)
            .await
            .expect("delete_user failed")
    );
    assert_eq!(
        by_legacy_id(legacy_id).await,
        None,
        "a deleted user's legacy id finds nothing"
    );
    insert(&*store, &twin).await;
    assert_eq!(
        by_legacy_id(legacy_id).await.map(|u| u.id),
        Some(twin.id),
        "a deleted user's legacy id is free again"
    );
}

/// Of 16 concurrent inserts of one legacy id (different usernames and
/// emails), exactly one succeeds and the others are `Conflict("legacy_id")`.
pub async fn concurrent_inserts_of_one_legacy_id_admit_one(store: Arc<dyn UserStore>) {
    const TASKS: usize = 16;
    let tag = unique("");
    let legacy_id = unique_legacy_id();
    let results = race(TASKS, |i| {
        let store = store.clone();
        let mut candidate = user(&format!("legacy{i}_{tag}"));
        candidate.legacy_id = Some(legacy_id);
        async move {
            let result = store.insert_user(&candidate).await;
            (candidate.id, result)
        }
    })
    .await;

    let mut winners = Vec::new();
    for (id, result) in results {
        match result {
            Ok(()) => winners.push(id),
            Err(StoreError::Conflict(field)) if field == "legacy_id" => {}
            Err(err) => panic!("a losing insert must be Conflict(\"legacy_id\"), got {err:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {TASKS} concurrent inserts succeeds"
    );
    let found = store
        .user_by_legacy_id(legacy_id)
        .await
        .expect("user_by_legacy_id failed");
    assert_eq!(
        found.map(|u| u.id),
        Some(winners[0]),
        "the winner is stored"
    );
    let page = store
        .list_users(&search(&tag))
        .await
        .expect("list_users failed");
    assert_eq!(page.total, 1, "exactly one user is stored");
}

/// Offsets and limits up to `u64::MAX` are clamped, not errors.
pub async fn huge_offsets_and_limits_are_clamped(store: Arc<dyn UserStore>) {
    let ada = user(&unique("ada_"));
    insert(&*store, &ada).await;
    for (offset, limit, expected) in [(0, u64::MAX, 1), (u64::MAX, u64::MAX, 0)] {
        let page = store
            .list_users(&UserQuery {
                offset,
                limit,
                ..search(&ada.username)
            })
            .await
            .unwrap_or_else(|err| panic!("offset {offset}, limit {limit}: {err:?}"));
        assert_eq!(
            (page.items.len(), page.total),
            (expected, 1),
            "offset {offset}, limit {limit}"
        );
    }
}
