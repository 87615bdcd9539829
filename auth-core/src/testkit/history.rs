//! Conformance tests for [`LoginHistoryStore`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{micros, now};
use crate::store::{HistoryEntry, HistoryEvent, LoginHistoryStore, Page};
use crate::user::UserId;

/// An entry of `user` at `at`.
fn entry(user: UserId, at: DateTime<Utc>, event: HistoryEvent) -> HistoryEntry {
    HistoryEntry {
        user_id: user,
        at,
        event,
        ip: Some("203.0.113.7".into()),
        user_agent: Some("conformance-suite/1.0".into()),
    }
}

/// Records every entry in order.
async fn record(store: &dyn LoginHistoryStore, entries: &[&HistoryEntry]) {
    for entry in entries {
        store
            .record_history(entry)
            .await
            .expect("record_history failed");
    }
}

/// `user_history`, which must succeed.
async fn page(
    store: &dyn LoginHistoryStore,
    user: UserId,
    offset: u64,
    limit: u64,
) -> Page<HistoryEntry> {
    store
        .user_history(user, offset, limit)
        .await
        .expect("user_history failed")
}

/// Entries come back newest first, whatever the order they were recorded in.
pub async fn newest_first(store: Arc<dyn LoginHistoryStore>) {
    let t = now();
    let user = UserId::new();
    let first = entry(user, micros(t, -3_000_000), HistoryEvent::Login);
    let second = entry(user, micros(t, -2_000_000), HistoryEvent::TokenRefreshed);
    let third = entry(user, micros(t, -1_000_000), HistoryEvent::Logout);
    record(&*store, &[&first, &third, &second]).await;
    assert_eq!(
        page(&*store, user, 0, 10).await,
        Page {
            items: vec![third, second, first],
            total: 3,
        },
        "newest first"
    );
}

/// Entries at the same instant come back last recorded first (a SQL store
/// needs a sequence to break the tie).
pub async fn same_instant_last_recorded_first(store: Arc<dyn LoginHistoryStore>) {
    let t = now();
    let user = UserId::new();
    let a = entry(user, t, HistoryEvent::LoginFailed);
    let b = entry(user, t, HistoryEvent::Login);
    let c = entry(user, t, HistoryEvent::LogoutAll);
    let earlier = entry(user, micros(t, -1), HistoryEvent::Activated);
    let later = entry(user, micros(t, 1), HistoryEvent::PasswordChanged);
    record(&*store, &[&a, &later, &b, &earlier, &c]).await;
    let items = page(&*store, user, 0, 10).await.items;
    let events: Vec<&str> = items.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "password_changed",
            "logout_all",
            "login",
            "login_failed",
            "activated"
        ],
        "newest first; at the same instant, the last recorded first"
    );
}

/// `offset` and `limit` pick a page of the newest-first list; `total` counts
/// all the user's entries.
pub async fn offset_limit_and_total(store: Arc<dyn LoginHistoryStore>) {
    let t = now();
    let user = UserId::new();
    let entries: Vec<HistoryEntry> = (0..7)
        .map(|i| entry(user, micros(t, i * 1_000), HistoryEvent::Login))
        .collect();
    for entry in &entries {
        store
            .record_history(entry)
            .await
            .expect("record_history failed");
    }
    let newest_first: Vec<HistoryEntry> = entries.iter().rev().cloned().collect();
    for (offset, limit, range) in [
        (0, 3, 0..3),
        (2, 3, 2..5),
        (5, 3, 5..7),
        (0, 100, 0..7),
        (7, 3, 7..7),
        (70, 3, 7..7),
        (1, 0, 1..1),
    ] {
        assert_eq!(
            page(&*store, user, offset, limit).await,
            Page {
                items: newest_first[range].to_vec(),
                total: 7,
            },
            "offset {offset}, limit {limit}"
        );
    }
}

/// A user's history holds only their entries; deleting it returns how many
/// it held and leaves other users' history.
pub async fn users_are_isolated_and_deleted(store: Arc<dyn LoginHistoryStore>) {
    let t = now();
    let (ada, bob) = (UserId::new(), UserId::new());
    let adas: Vec<HistoryEntry> = (0..3)
        .map(|i| entry(ada, micros(t, i), HistoryEvent::Login))
        .collect();
    let bobs: Vec<HistoryEntry> = (0..2)
        .map(|i| entry(bob, micros(t, i), HistoryEvent::Logout))
        .collect();
    for entry in adas.iter().chain(&bobs) {
        store
            .record_history(entry)
            .await
            .expect("record_history failed");
    }
    let page_of = |entries: &[HistoryEntry]| Page {
        items: entries.iter().rev().cloned().collect(),
        total: entries.len() as u64,
    };
    assert_eq!(
        page(&*store, ada, 0, 10).await,
        page_of(&adas),
        "only ada's entries"
    );
    assert_eq!(
        page(&*store, bob, 0, 10).await,
        page_of(&bobs),
        "only bob's entries"
    );

    assert_eq!(
        store
            .delete_user_history(ada)
            .await
            .expect("delete_user_history failed"),
        3,
        "deleting returns how many entries the user had"
    );
    assert_eq!(
        page(&*store, ada, 0, 10).await,
        page_of(&[]),
        "the history is gone"
    );
    assert_eq!(
        page(&*store, bob, 0, 10).await,
        page_of(&bobs),
        "another user's stays"
    );
    assert_eq!(
        store
            .delete_user_history(ada)
            .await
            .expect("delete_user_history failed"),
        0,
        "deleting again: none"
    );
    assert_eq!(
        page(&*store, UserId::new(), 0, 10).await,
        page_of(&[]),
        "a user without history"
    );
}

/// Every event kind, IPv4 and IPv6 addresses or none, a 512-character
/// Unicode user agent, an empty one or none, and microsecond times all
/// round-trip.
pub async fn every_field_round_trips(store: Arc<dyn LoginHistoryStore>) {
    let t = micros(now(), 1);
    let user = UserId::new();
    let long_agent: String = "Mozilla/5.0 (Zoë; 日本) 🎉 "
        .chars()
        .cycle()
        .take(512)
        .collect();
    let ips = [Some("203.0.113.7"), Some("2001:db8::1"), None];
    let agents = [Some(long_agent.as_str()), Some(""), None];
    let entries: Vec<HistoryEntry> = HistoryEvent::ALL
        .into_iter()
        .enumerate()
        .map(|(i, event)| HistoryEntry {
            user_id: user,
            at: micros(t, i as i64 * 1_000_001),
            event,
            ip: ips[i % ips.len()].map(str::to_owned),
            user_agent: agents[(i / ips.len()) % agents.len()].map(str::to_owned),
        })
        .collect();
    for entry in &entries {
        store
            .record_history(entry)
            .await
            .expect("record_history failed");
    }
    let expected: Vec<HistoryEntry> = entries.iter().rev().cloned().collect();
    assert_eq!(
        page(&*store, user, 0, 100).await.items,
        expected,
        "every entry round-trips exactly"
    );
}

/// Offsets and limits up to `u64::MAX` are clamped, not errors.
pub async fn huge_offsets_and_limits_are_clamped(store: Arc<dyn LoginHistoryStore>) {
    let user = UserId::new();
    let first = entry(user, now(), HistoryEvent::Login);
    record(&*store, &[&first]).await;
    let all = page(&*store, user, 0, u64::MAX).await;
    assert_eq!((all.items, all.total), (vec![first], 1), "a huge limit");
    let none = page(&*store, user, u64::MAX, u64::MAX).await;
    assert_eq!((none.items.len(), none.total), (0, 1), "a huge offset");
}

/// `purge_history_before` deletes the entries of every user recorded
/// before the instant (one at the instant stays), counts them, and keeps
/// the rest.
pub async fn purge_removes_only_older_entries(store: Arc<dyn LoginHistoryStore>) {
    // Ten years back: a time range no other test uses, so a shared store's
    // other entries are neither purged nor counted.
    let t = now() - chrono::Duration::days(3650);
    let (ada, bob) = (UserId::new(), UserId::new());
    let old_ada = entry(ada, micros(t, -1), HistoryEvent::Login);
    let old_bob = entry(bob, micros(t, -86_400_000_000), HistoryEvent::LoginFailed);
    let at_t = entry(ada, t, HistoryEvent::Logout);
    let recent = entry(bob, now(), HistoryEvent::Login);
    record(&*store, &[&old_ada, &old_bob, &at_t, &recent]).await;

    let purged = store
        .purge_history_before(t)
        .await
        .expect("purge_history_before failed");
    assert_eq!(
        purged, 2,
        "both users' older entries are purged and counted"
    );
    assert_eq!(page(&*store, ada, 0, 10).await.items, vec![at_t]);
    assert_eq!(page(&*store, bob, 0, 10).await.items, vec![recent]);
    assert_eq!(
        store
            .purge_history_before(t)
            .await
            .expect("purge_history_before failed"),
        0,
        "purging again finds nothing"
    );
}
