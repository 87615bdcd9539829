//! Conformance tests for [`OAuthConsentStore`].

use std::sync::Arc;

use super::{micros, now, race};
use crate::oauth::{ApplicationId, Consent, Scopes};
use crate::store::OAuthConsentStore;
use crate::user::UserId;

/// A consent of `user` to `application` for `scopes`, made now.
fn consent(user: UserId, application: ApplicationId, scopes: &str) -> Consent {
    let t = now();
    Consent {
        user_id: user,
        application_id: application,
        scopes: Scopes::parse(scopes).expect("valid scopes"),
        created: micros(t, 1),
        updated: micros(t, 1),
    }
}

/// `save_consent`, which must succeed.
async fn save(store: &dyn OAuthConsentStore, consent: &Consent) -> Consent {
    store
        .save_consent(consent)
        .await
        .expect("save_consent failed")
}

/// The consent of `user` to `application`, which must not fail.
async fn get(
    store: &dyn OAuthConsentStore,
    user: UserId,
    application: ApplicationId,
) -> Option<Consent> {
    store
        .consent(user, application)
        .await
        .expect("consent failed")
}

/// A first save stores the consent as given (and returns it); unknown
/// pairs are `None`.
pub async fn save_then_read(store: Arc<dyn OAuthConsentStore>) {
    let user = UserId::new();
    let app = ApplicationId::new();
    let first = consent(user, app, "openid read");
    assert_eq!(save(&*store, &first).await, first);
    assert_eq!(get(&*store, user, app).await, Some(first));
    assert_eq!(get(&*store, user, ApplicationId::new()).await, None);
    assert_eq!(get(&*store, UserId::new(), app).await, None);
    let empty = consent(user, ApplicationId::new(), "");
    assert_eq!(save(&*store, &empty).await, empty, "a consent to no scope");
    assert_eq!(get(&*store, user, empty.application_id).await, Some(empty));
}

/// A later save adds its scopes to the stored ones, keeps `created` and
/// takes the new `updated`.
pub async fn saves_add_scopes(store: Arc<dyn OAuthConsentStore>) {
    let user = UserId::new();
    let app = ApplicationId::new();
    let first = consent(user, app, "openid read");
    save(&*store, &first).await;
    let later = Consent {
        created: micros(first.created, 5_000_000),
        updated: micros(first.created, 5_000_001),
        ..consent(user, app, "read write")
    };
    let expected = Consent {
        scopes: Scopes::parse("openid read write").expect("valid scopes"),
        created: first.created,
        updated: later.updated,
        ..first.clone()
    };
    assert_eq!(
        save(&*store, &later).await,
        expected,
        "the union is returned"
    );
    assert_eq!(get(&*store, user, app).await, Some(expected.clone()));
    let covered = Consent {
        updated: micros(first.created, 9_000_000),
        ..consent(user, app, "read")
    };
    assert_eq!(
        save(&*store, &covered).await.scopes,
        expected.scopes,
        "scopes are never taken away by a save"
    );
}

/// Concurrent saves of different scopes for one pair end with the union
/// of all of them.
pub async fn concurrent_saves_keep_every_scope(store: Arc<dyn OAuthConsentStore>) {
    let user = UserId::new();
    let app = ApplicationId::new();
    let results = race(16, |i| {
        let store = store.clone();
        let consent = consent(user, app, &format!("scope{i} shared"));
        async move { store.save_consent(&consent).await }
    })
    .await;
    for result in results {
        result.expect("save_consent failed");
    }
    let all: Vec<String> = (0..16)
        .map(|i| format!("scope{i}"))
        .chain(["shared".to_owned()])
        .collect();
    assert_eq!(
        get(&*store, user, app).await.expect("saved").scopes,
        Scopes::from_tokens(all).expect("valid scopes"),
        "every save's scopes are kept"
    );
}

/// `user_consents` lists the user's consents only, oldest first (then by
/// application id).
pub async fn user_consents_oldest_first(store: Arc<dyn OAuthConsentStore>) {
    let user = UserId::new();
    let t = now();
    let at = |micro| Consent {
        created: micros(t, micro),
        updated: micros(t, micro),
        ..consent(user, ApplicationId::new(), "read")
    };
    let newest = at(3);
    let oldest = at(1);
    let mut tied = [at(2), at(2)];
    tied.sort_by_key(|c| c.application_id);
    for c in [&newest, &tied[1], &oldest, &tied[0]] {
        save(&*store, c).await;
    }
    save(
        &*store,
        &consent(UserId::new(), oldest.application_id, "read"),
    )
    .await;
    assert_eq!(
        store
            .user_consents(user)
            .await
            .expect("user_consents failed"),
        vec![oldest, tied[0].clone(), tied[1].clone(), newest]
    );
    assert!(
        store
            .user_consents(UserId::new())
            .await
            .expect("user_consents failed")
            .is_empty()
    );
}

/// `delete_consent` is `true` once, then `false`, and touches only that
/// pair; `delete_application_consents` deletes every consent to the
/// application and counts them.
pub async fn deletes(store: Arc<dyn OAuthConsentStore>) {
    let user = UserId::new();
    let app = ApplicationId::new();
    let other_app = consent(user, ApplicationId::new(), "read");
    let other_user = consent(UserId::new(), app, "read");
    save(&*store, &consent(user, app, "read")).await;
    save(&*store, &other_app).await;
    save(&*store, &other_user).await;
    assert!(
        store
            .delete_consent(user, app)
            .await
            .expect("delete_consent failed")
    );
    assert!(
        !store
            .delete_consent(user, app)
            .await
            .expect("delete_consent failed")
    );
    assert_eq!(get(&*store, user, app).await, None);
    assert_eq!(
        get(&*store, user, other_app.application_id).await,
        Some(other_app.clone())
    );
    save(&*store, &consent(UserId::new(), app, "write")).await;
    assert_eq!(
        store
            .delete_application_consents(app)
            .await
            .expect("delete_application_consents failed"),
        2
    );
    assert_eq!(get(&*store, other_user.user_id, app).await, None);
    assert_eq!(
        get(&*store, user, other_app.application_id).await,
        Some(other_app),
        "another application's consent stays"
    );
    assert_eq!(
        store
            .delete_application_consents(app)
            .await
            .expect("delete_application_consents failed"),
        0
    );
}
