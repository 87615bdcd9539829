//! Conformance tests for [`OAuthApplicationStore`].

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{assert_conflict, micros, now, race, unique};
use crate::oauth::{Application, ApplicationId, ClientType, GrantType};
use crate::store::OAuthApplicationStore;
use crate::user::UserId;

/// A confidential application of `owner` with a unique `client_id` and
/// every optional field set.
pub fn application(owner: Option<UserId>) -> Application {
    let t = now();
    Application {
        id: ApplicationId::new(),
        client_id: unique("client"),
        name: "Test application".into(),
        client_type: ClientType::Confidential,
        grant_types: BTreeSet::from([GrantType::AuthorizationCode, GrantType::RefreshToken]),
        redirect_uris: vec![
            "https://b.example/cb".into(),
            "https://a.example/cb?x=1".into(),
        ],
        post_logout_redirect_uris: vec!["https://a.example/bye".into()],
        allowed_origins: vec!["https://a.example".into()],
        skip_authorization: true,
        owner,
        secret_digest: Some("a".repeat(64)),
        previous_secret_digest: Some("b".repeat(64)),
        previous_secret_until: Some(micros(t, 3_600_000_001)),
        created: micros(t, 123_457),
        updated: micros(t, 654_321),
    }
}

/// `insert_application`, which must succeed.
async fn insert(store: &dyn OAuthApplicationStore, app: &Application) {
    store
        .insert_application(app)
        .await
        .expect("insert_application failed");
}

/// The application by id, which must not fail.
async fn by_id(store: &dyn OAuthApplicationStore, id: ApplicationId) -> Option<Application> {
    store.application(id).await.expect("application failed")
}

/// An inserted application is found by id and by `client_id` with every
/// field as given (order of URIs, microseconds), and so is one with every
/// optional field empty.
pub async fn insert_and_lookup_round_trip(store: Arc<dyn OAuthApplicationStore>) {
    let full = application(Some(UserId::new()));
    insert(&*store, &full).await;
    assert_eq!(by_id(&*store, full.id).await, Some(full.clone()), "by id");
    assert_eq!(
        store
            .application_by_client_id(&full.client_id)
            .await
            .expect("application_by_client_id failed"),
        Some(full.clone()),
        "by client_id"
    );
    let bare = Application {
        id: ApplicationId::new(),
        client_id: unique("client"),
        client_type: ClientType::Public,
        grant_types: BTreeSet::new(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        allowed_origins: vec![],
        skip_authorization: false,
        owner: None,
        secret_digest: None,
        previous_secret_digest: None,
        previous_secret_until: None,
        ..application(None)
    };
    insert(&*store, &bare).await;
    assert_eq!(by_id(&*store, bare.id).await, Some(bare), "empty fields");
}

/// Unknown ids and client ids are `None`; a `client_id` is compared
/// exactly.
pub async fn unknown_lookups_are_none(store: Arc<dyn OAuthApplicationStore>) {
    let app = application(None);
    insert(&*store, &app).await;
    assert_eq!(
        by_id(&*store, ApplicationId::new()).await,
        None,
        "unknown id"
    );
    for other in [
        unique("client"),
        app.client_id.to_uppercase(),
        app.client_id[1..].to_owned(),
    ] {
        assert_eq!(
            store
                .application_by_client_id(&other)
                .await
                .expect("application_by_client_id failed"),
            None,
            "client_id {other:?} matches nothing"
        );
    }
}

/// A second application with a taken `client_id` or id is
/// `Conflict("client_id")` and is not stored.
pub async fn duplicates_conflict_and_store_nothing(store: Arc<dyn OAuthApplicationStore>) {
    let first = application(Some(UserId::new()));
    insert(&*store, &first).await;
    let same_client = Application {
        id: ApplicationId::new(),
        name: "Other".into(),
        ..first.clone()
    };
    assert_conflict(
        store.insert_application(&same_client).await,
        "client_id",
        "a taken client_id",
    );
    assert_eq!(by_id(&*store, same_client.id).await, None, "nothing stored");
    let same_id = Application {
        client_id: unique("client"),
        ..first.clone()
    };
    assert_conflict(
        store.insert_application(&same_id).await,
        "client_id",
        "a taken id",
    );
    assert_eq!(
        store
            .application_by_client_id(&same_id.client_id)
            .await
            .expect("application_by_client_id failed"),
        None,
        "nothing stored"
    );
    assert_eq!(
        by_id(&*store, first.id).await,
        Some(first),
        "first unchanged"
    );
}

/// Of 16 concurrent inserts with one `client_id`, exactly one succeeds.
pub async fn concurrent_inserts_of_one_client_id_admit_one(store: Arc<dyn OAuthApplicationStore>) {
    let client_id = unique("client");
    let results = race(16, |_| {
        let store = store.clone();
        let app = Application {
            client_id: client_id.clone(),
            ..application(None)
        };
        async move { store.insert_application(&app).await }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one insert succeeds: {results:?}"
    );
    for result in results.into_iter().filter(Result::is_err) {
        assert_conflict(result, "client_id", "a losing concurrent insert");
    }
}

/// `user_applications` lists the owner's applications only, oldest first
/// (then by id).
pub async fn user_applications_are_the_owners_oldest_first(store: Arc<dyn OAuthApplicationStore>) {
    let owner = UserId::new();
    let t = now();
    let newest = Application {
        created: micros(t, 3),
        ..application(Some(owner))
    };
    let oldest = Application {
        created: micros(t, 1),
        ..application(Some(owner))
    };
    let mut tied: Vec<Application> = (0..2)
        .map(|_| Application {
            created: micros(t, 2),
            ..application(Some(owner))
        })
        .collect();
    tied.sort_by_key(|app| app.id);
    for app in [&newest, &tied[1], &oldest, &tied[0]] {
        insert(&*store, app).await;
    }
    insert(&*store, &application(Some(UserId::new()))).await;
    insert(&*store, &application(None)).await;
    assert_eq!(
        store
            .user_applications(owner)
            .await
            .expect("user_applications failed"),
        vec![oldest, tied[0].clone(), tied[1].clone(), newest],
        "the owner's applications by created, then id"
    );
    assert!(
        store
            .user_applications(UserId::new())
            .await
            .expect("user_applications failed")
            .is_empty(),
        "a user without applications has none"
    );
}

/// `update_application` writes every field but id, `client_id`, owner and
/// `created`; an unknown id is `false` and stores nothing.
pub async fn update_writes_all_but_the_fixed_fields(store: Arc<dyn OAuthApplicationStore>) {
    let app = application(Some(UserId::new()));
    insert(&*store, &app).await;
    let t = now();
    let changed = Application {
        id: app.id,
        client_id: unique("ignored"),
        name: "Renamed".into(),
        client_type: ClientType::Public,
        grant_types: BTreeSet::from([GrantType::ClientCredentials, GrantType::Password]),
        redirect_uris: vec!["https://c.example/cb".into()],
        post_logout_redirect_uris: vec![],
        allowed_origins: vec!["https://c.example".into(), "https://d.example".into()],
        skip_authorization: false,
        owner: Some(UserId::new()),
        secret_digest: None,
        previous_secret_digest: Some("c".repeat(64)),
        previous_secret_until: Some(micros(t, 7)),
        created: micros(t, 999),
        updated: micros(t, 1_000_001),
    };
    assert!(
        store
            .update_application(&changed)
            .await
            .expect("update_application failed"),
        "an existing application is updated"
    );
    let expected = Application {
        client_id: app.client_id.clone(),
        owner: app.owner,
        created: app.created,
        ..changed.clone()
    };
    assert_eq!(by_id(&*store, app.id).await, Some(expected.clone()));
    assert_eq!(
        store
            .application_by_client_id(&app.client_id)
            .await
            .expect("application_by_client_id failed"),
        Some(expected),
        "still found by its client_id"
    );
    let unknown = application(None);
    assert!(
        !store
            .update_application(&unknown)
            .await
            .expect("update_application failed"),
        "an unknown application is not updated"
    );
    assert_eq!(by_id(&*store, unknown.id).await, None, "nor created");
}

/// `delete_application` is `true` once, then `false`; the application is
/// gone by id and by `client_id`, which may be registered again.
pub async fn delete_true_then_false(store: Arc<dyn OAuthApplicationStore>) {
    let app = application(Some(UserId::new()));
    let other = application(app.owner);
    insert(&*store, &app).await;
    insert(&*store, &other).await;
    assert!(
        store
            .delete_application(app.id)
            .await
            .expect("delete_application failed")
    );
    assert!(
        !store
            .delete_application(app.id)
            .await
            .expect("delete_application failed"),
        "a second delete finds nothing"
    );
    assert_eq!(by_id(&*store, app.id).await, None);
    assert_eq!(
        store
            .application_by_client_id(&app.client_id)
            .await
            .expect("application_by_client_id failed"),
        None
    );
    assert_eq!(by_id(&*store, other.id).await, Some(other), "another stays");
    let again = Application {
        id: ApplicationId::new(),
        ..app
    };
    insert(&*store, &again).await;
}
