//! The store conformance suite (feature `testkit`): one set of async test
//! functions that every store runs, so that the in-memory, SQL and Redis
//! stores all honour the contracts documented on the traits in
//! [`store`](crate::store).
//!
//! The functions are grouped by trait, one module each: [`users`],
//! [`knox`], [`static_tokens`], [`jwt`], [`throttle`], [`history`],
//! [`oauth_applications`], [`oauth_codes`], [`oauth_tokens`],
//! [`oauth_consents`] and [`browser_sessions`], plus
//! [`combined`] for a store that keeps both users and revocations;
//! [`odd_strings`] holds, per trait, the lookups by strings a store may be
//! unable to hold, run in that trait's group. Each
//! function takes a fresh store as an `Arc<dyn Trait>` (an `Arc` of the
//! store itself in `combined`), checks one
//! documented contract and panics with a message naming it when the store
//! breaks it. The concurrent contracts are raced for real: tasks spawned on
//! the runtime start together behind a barrier, so they need a
//! multi-threaded runtime to mean anything.
//!
//! # Running the suite for a store
//!
//! [`store_conformance_tests!`](crate::store_conformance_tests) writes one
//! `#[tokio::test]` per function of the groups it is given. It takes the
//! groups to run (or `all`) and an expression that yields a fresh store when
//! `.await`ed, an `async` block or a call of an `async fn`. That expression
//! is evaluated anew for every test; its output is the store itself (not an
//! `Arc`), and it must implement the traits of the selected groups.
//!
//! ```
//! use auth_core::MemoryStore;
//!
//! async fn fresh_store() -> MemoryStore {
//!     // A database store would connect here, to a schema of its own.
//!     MemoryStore::new()
//! }
//!
//! // Every group: tests named like `users::insert_and_lookup_case_insensitive`.
//! auth_core::store_conformance_tests!(all; fresh_store());
//!
//! // A store with only some of the traits (a Redis store, say) picks its
//! // groups; a module of its own keeps the names apart.
//! mod tokens_only {
//!     use super::*;
//!
//!     auth_core::store_conformance_tests!(knox, jwt, throttle; async {
//!         fresh_store().await
//!     });
//! }
//! # fn main() {}
//! ```
//!
//! Wiring it up in a store crate:
//!
//! - Depend on auth-core with the `testkit` feature and on tokio with the
//!   `macros` and `rt-multi-thread` features; dev-dependencies are enough:
//!
//!   ```toml
//!   [dev-dependencies]
//!   auth-core = { workspace = true, features = ["testkit"] }
//!   tokio = { workspace = true, features = ["macros", "rt-multi-thread"] }
//!   ```
//!
//!   The generated tests are `#[::tokio::test(flavor = "multi_thread",
//!   worker_threads = 4)]` functions, so `tokio` must be a dependency of the
//!   crate that invokes the macro.
//! - Invoke the macro at module level (not inside a function), typically in
//!   an integration test such as `tests/conformance.rs`. It writes one module
//!   per group (`users`, `knox`, ...) that glob-imports its parent, so the
//!   factory expression may use anything in scope where the macro is
//!   invoked. Invoke it inside a module of your own when several stores share
//!   a test file or when the group names would clash with yours.
//! - The groups are `users`, `knox`, `static_tokens`, `jwt`, `throttle`,
//!   `history`, `combined` (users and revocations in one store),
//!   `oauth_applications`, `oauth_codes`, `oauth_tokens`, `oauth_consents`
//!   and `browser_sessions`, in any order; `oauth` means the five OAuth2
//!   groups and `all` every group (the OAuth2 ones included). Filter as usual:
//!   `cargo test --test conformance knox::`.
//!
//! Without the macro, call a function directly on any multi-threaded
//! runtime: `testkit::knox::purge_removes_only_expired(Arc::new(store)).await`.
//!
//! # What the suite assumes of a store
//!
//! - **Shared stores are fine.** Every test uses its own random usernames,
//!   emails, token keys, digests, jtis, families and throttle keys, and
//!   restricts listings to its own users with a search, so tests can run in
//!   parallel against one database, and the suite can run twice at once
//!   against it. The purge tests, which check exact counts, work around a
//!   time ten years back that no other test uses, and delete what they leave
//!   behind (but for two revocation records that expire within the hour,
//!   and an OAuth2 revoked-family mark that a later purge forgets); a
//!   shared store must hold nothing else that expired back then.
//! - **Times are real.** Tests use timestamps near the current time (the
//!   purge tests aside), truncated to microseconds as the service does, so a
//!   store that also gives records a time-to-live keeps them. Expiry is
//!   always judged by the `now` each method is given, as the contracts say.
//!   A store that expires records by itself (Redis) may drop a record once
//!   its expiry has passed by its own clock: the tests accept that where the
//!   contracts allow it (Knox tokens by key, the counts of deletes and
//!   purges), and a record a test needs live at `now` expires in the real
//!   future too (for that, some tests judge at a `now` a little ahead of the
//!   real clock).
//! - **Users may live elsewhere.** Tokens, revocations and history are
//!   written for user ids that exist in no user store, as they are when
//!   users live in another store than tokens; a store must not require them
//!   to (no foreign keys from token tables to a users table).
//!
//! The suite's own helpers ([`now`], [`unique`]) are public for store crates
//! that add tests of their own.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Barrier;

use crate::clock::{SystemClock, now_micros};
use crate::error::StoreError;

pub mod browser_sessions;
pub mod combined;
pub mod forms;
mod hasher;
pub mod history;
pub mod jwt;
pub mod knox;
pub mod oauth_applications;
pub mod oauth_codes;
pub mod oauth_consents;
pub mod oauth_tokens;
pub mod odd_strings;
pub mod proxy;
pub mod service;
pub mod services;
pub mod static_tokens;
pub mod throttle;
pub mod users;

pub use hasher::HeldHasher;

/// The current time truncated to whole microseconds, the precision every
/// store keeps (and what the service hands to stores).
pub fn now() -> DateTime<Utc> {
    now_micros(&SystemClock)
}

/// `prefix` followed by 16 random lower-case hex digits: a name no other
/// test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(8))
}

/// `bytes` random bytes from the OS, as lower-case hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    hex::encode(buf)
}

/// `base` moved by `micros` microseconds.
pub(crate) fn micros(base: DateTime<Utc>, micros: i64) -> DateTime<Utc> {
    base + Duration::microseconds(micros)
}

/// Runs `n` tasks made by `task(i)` on the runtime, released together by a
/// barrier, and returns their outputs in the order of `i`.
pub(crate) async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let work = task(i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(n);
    for handle in handles {
        outputs.push(handle.await.expect("a racing task panicked"));
    }
    outputs
}

/// Panics unless `result` is `Err(StoreError::Conflict(field))`.
#[track_caller]
pub(crate) fn assert_conflict<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    field: &str,
    what: &str,
) {
    match result {
        Err(StoreError::Conflict(ref got)) if got == field => {}
        other => panic!("{what}: expected Err(Conflict({field:?})), got {other:?}"),
    }
}

/// Panics unless `result` is `Err(StoreError::NotFound)`.
#[track_caller]
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::NotFound) => {}
        other => panic!("{what}: expected Err(NotFound), got {other:?}"),
    }
}

/// Writes the store conformance suite as `#[tokio::test]` functions, one per
/// test of each group named, each on a fresh store.
///
/// ```text
/// store_conformance_tests!(users, knox, static_tokens, jwt, throttle, history, combined; FACTORY);
/// store_conformance_tests!(oauth_applications, oauth_codes, oauth_tokens; FACTORY);
/// store_conformance_tests!(oauth; FACTORY); // the five OAuth2 groups
/// store_conformance_tests!(all; FACTORY);
/// ```
///
/// Attributes written before the groups go on every generated test, e.g.
/// `#[cfg_attr(auth_test_skip = "postgres", ignore = "...")]` (see
/// [`services`]).
///
/// `FACTORY` is an expression that yields a fresh store when `.await`ed (an
/// `async` block or a call of an `async fn`); it is evaluated once per test.
/// Each group becomes a module of that name holding its tests, so invoke the
/// macro at module level. The calling crate needs tokio with the `macros`
/// and `rt-multi-thread` features. See the [`testkit`](crate::testkit)
/// module for a complete example.
///
/// A group that does not exist is a compile error:
///
/// ```compile_fail
/// auth_core::store_conformance_tests!(sessions; async {
///     auth_core::MemoryStore::new()
/// });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($(#[$attr:meta])* $($group:ident),+ $(,)?; $factory:expr $(,)?) => {
        $crate::__store_conformance_groups!([$(#[$attr])*]; $($group),+; $factory);
    };
}

/// Each group of [`store_conformance_tests!`], with the same attributes;
/// not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_groups {
    ($attrs:tt; $($group:ident),+; $factory:expr) => {
        $( $crate::__store_conformance_group!($attrs $group; $factory); )+
    };
}

/// One conformance test function: `#[tokio::test]` on a multi-threaded
/// runtime, then the caller's attributes; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    ([$($attr:tt)*] $name:ident $body:block) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($attr)*
        #[allow(clippy::redundant_async_block)]
        async fn $name() $body
    };
}

/// The tests of one group of [`store_conformance_tests!`]; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_group {
    ([$($attr:tt)*] all; $factory:expr) => {
        $crate::store_conformance_tests!(
            $($attr)* users, knox, static_tokens, jwt, throttle, history, combined, oauth;
            $factory
        );
    };
    ([$($attr:tt)*] users; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] users; $factory;
            insert_and_lookup_case_insensitive,
            lookups_fold_unicode_case,
            folding_is_exactly_fold_case,
            unknown_lookups_are_none,
            duplicate_username_conflicts_and_stores_nothing,
            duplicate_email_conflicts_and_stores_nothing,
            every_field_round_trips,
            update_sets_every_named_field,
            update_leaves_unnamed_columns_alone,
            update_date_joined_touches_only_date_joined,
            replace_password_hash_only_over_the_verified_hash,
            update_of_unknown_user_is_not_found,
            update_conflict_changes_nothing,
            set_password_hash_touches_only_the_hash,
            set_last_login_touches_only_last_login,
            delete_user_true_then_false,
            list_orders_by_date_joined_then_id,
            list_search_matches_each_field_case_insensitively,
            list_search_is_a_literal_substring,
            list_offset_limit_and_total,
            concurrent_inserts_of_one_username_admit_one,
            concurrent_inserts_of_one_email_admit_one,
            insert_with_a_taken_id_conflicts_on_id,
            huge_offsets_and_limits_are_clamped,
            legacy_ids_are_found_and_unique,
            concurrent_inserts_of_one_legacy_id_admit_one,
            lookups_by_odd_strings_find_nothing in odd_strings,
            search_by_odd_strings_finds_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] knox; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] knox; $factory;
            insert_and_lookup_by_key,
            unknown_key_is_empty,
            touch_sets_expiry_and_last_used,
            delete_by_digest,
            delete_by_key_only_touches_that_user,
            delete_user_tokens_counts_them,
            user_tokens_are_live_newest_first,
            purge_removes_only_expired,
            refuse_limit_counts_only_live_tokens,
            evict_oldest_limit_evicts_oldest_live,
            duplicate_digest_conflicts,
            concurrent_inserts_respect_refuse,
            concurrent_inserts_respect_evict_oldest,
            evict_oldest_zero_replaces_every_live_token,
            lookups_and_deletes_by_odd_strings_find_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] static_tokens; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] static_tokens; $factory;
            get_or_insert_returns_the_existing_token,
            lookup_by_digest_and_user,
            tokens_are_per_user,
            delete_then_insert_again,
            concurrent_get_or_insert_agree,
            digest_of_another_user_conflicts,
            imported_tokens_keep_no_seed,
            lookups_by_odd_strings_find_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] jwt; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] jwt; $factory;
            blacklist_jti_once_keeps_the_first_entry,
            unknown_jti_is_not_blacklisted,
            revoke_family_is_idempotent_and_seen,
            tokens_valid_after_never_moves_back,
            revocation_state_of_unknown_user_is_default,
            purge_removes_only_expired_and_keeps_marks,
            concurrent_blacklist_admits_one,
            families_ignore_their_user_and_keep_the_later_expiry,
            lookups_by_odd_strings_find_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] throttle; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] throttle; $factory;
            hits_count_up_within_a_window,
            a_new_window_starts_when_one_ends,
            peek_does_not_add_a_hit,
            clear_forgets_the_key,
            keys_are_independent,
            concurrent_hits_count_each_once,
            lookups_and_clears_by_odd_strings_find_nothing in odd_strings,
            release_takes_back_one_hit,
            release_touches_only_its_own_open_window,
            concurrent_hits_and_releases_agree,
            purge_removes_only_ended_windows,
        );
    };
    ([$($attr:tt)*] history; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] history; $factory;
            newest_first,
            same_instant_last_recorded_first,
            offset_limit_and_total,
            users_are_isolated_and_deleted,
            every_field_round_trips,
            huge_offsets_and_limits_are_clamped,
            purge_removes_only_older_entries,
        );
    };
    ([$($attr:tt)*] oauth; $factory:expr) => {
        $crate::store_conformance_tests!(
            $($attr)* oauth_applications, oauth_codes, oauth_tokens, oauth_consents,
            browser_sessions; $factory
        );
    };
    ([$($attr:tt)*] oauth_applications; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] oauth_applications; $factory;
            insert_and_lookup_round_trip,
            unknown_lookups_are_none,
            duplicates_conflict_and_store_nothing,
            concurrent_inserts_of_one_client_id_admit_one,
            user_applications_are_the_owners_oldest_first,
            update_writes_all_but_the_fixed_fields,
            delete_true_then_false,
            lookups_by_odd_strings_find_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] oauth_codes; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] oauth_codes; $factory;
            first_use_then_reused,
            reads_find_the_code_as_stored_and_use_nothing,
            bare_code_round_trips_and_insert_ignores_used_at,
            expired_codes_and_reuse_after_expiry,
            unknown_code_is_unknown,
            duplicate_digest_conflicts,
            concurrent_consumes_admit_one,
            purge_removes_only_expired,
            lookups_of_odd_strings_find_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] oauth_tokens; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] oauth_tokens; $factory;
            insert_and_lookup_round_trip,
            duplicate_digest_conflicts,
            rotate_first_then_reused,
            dead_and_unknown_refresh_tokens,
            concurrent_rotations_admit_one,
            revoke_one_token,
            revoke_family_revokes_it_and_refuses_inserts,
            family_revocation_racing_a_rotation_leaves_nothing_live,
            revoke_user_tokens,
            revoke_application_tokens,
            purge_removes_only_expired,
            lookups_by_odd_strings_find_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] oauth_consents; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] oauth_consents; $factory;
            save_then_read,
            saves_add_scopes,
            concurrent_saves_keep_every_scope,
            user_consents_oldest_first,
            deletes,
        );
    };
    ([$($attr:tt)*] browser_sessions; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] browser_sessions; $factory;
            insert_and_lookup,
            duplicate_digest_conflicts,
            deletes,
            purge_removes_only_expired,
            lookups_and_deletes_by_odd_strings_find_nothing in odd_strings,
        );
    };
    ([$($attr:tt)*] combined; $factory:expr) => {
        $crate::__store_conformance_module!([$($attr)*] combined; $factory;
            revocation_state_and_user_agrees_with_separate_lookups,
        );
    };
    ([$($attr:tt)*] $other:ident; $factory:expr) => {
        ::core::compile_error!(::core::concat!(
            "unknown store conformance group `",
            ::core::stringify!($other),
            "`: expected users, knox, static_tokens, jwt, throttle, history, combined, ",
            "oauth_applications, oauth_codes, oauth_tokens, oauth_consents, browser_sessions, ",
            "oauth or all"
        ));
    };
}

/// One module of tests for [`store_conformance_tests!`]; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_module {
    ($attrs:tt $group:ident; $factory:expr; $($test:ident $(in $module:ident)?),+ $(,)?) => {
        mod $group {
            #[allow(unused_imports)]
            use super::*;

            $(
                $crate::__conformance_test!($attrs $test {
                    let store = ::std::sync::Arc::new(($factory).await);
                    $crate::testkit::$($module::)?$group::$test(store).await;
                });
            )+
        }
    };
}

/// Writes the service conformance tests ([`service`]) as `#[tokio::test]`
/// functions, each over a fresh [`Stores`](crate::Stores): the token
/// strategies' guarantees (one winner among concurrent refreshes, reuse
/// detection, logout-all, revocation on deactivation, deletion and password
/// change) as they hold over a given set of stores.
///
/// `FACTORY` yields a fresh `Stores` when `.await`ed. Attributes go on
/// every generated test when written before it and a `=>`:
/// `service_conformance_tests!(#[ignore = "why"] => FACTORY)`. A store that keeps
/// only some concerns (Redis) fills the others in, e.g. users from a
/// [`MemoryStore`](crate::store::MemoryStore):
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{MemoryStore, Stores};
///
/// auth_core::service_conformance_tests!(async {
///     Stores::all_in(Arc::new(MemoryStore::new()))
/// });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! service_conformance_tests {
    (@tests [$($attr:tt)*] $factory:expr) => {
        $crate::__service_conformance_module!([$($attr)*] $factory;
            concurrent_refreshes_admit_one,
            concurrent_oauth_refreshes_admit_one,
            oauth_revocations_are_seen_here_at_once_and_elsewhere_within_the_budget,
            replaying_a_rotated_token_revokes_its_successor,
            logout_all_revokes_every_token,
            tokens_of_deactivated_or_deleted_users_fail,
            password_change_revokes_other_tokens,
            blacklisted_refresh_tokens_fail,
            a_second_server_sees_revocations_within_the_budget,
            concurrent_wrong_logins_verify_at_most_the_limit,
            demoted_or_deactivated_users_lose_it_on_every_token,
            profile_update_racing_a_deactivation_keeps_it,
            the_grace_window_retries_rotations_only,
            logins_in_flight_do_not_survive_revocation,
        );
    };
    (#[$first:meta] $(#[$attr:meta])* => $factory:expr $(,)?) => {
        $crate::service_conformance_tests!(@tests [#[$first] $(#[$attr])*] $factory);
    };
    ($factory:expr $(,)?) => {
        $crate::service_conformance_tests!(@tests [] $factory);
    };
}

/// The module of [`service_conformance_tests!`]; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __service_conformance_module {
    ($attrs:tt $factory:expr; $($test:ident),+ $(,)?) => {
        mod service {
            #[allow(unused_imports)]
            use super::*;

            $(
                $crate::__conformance_test!($attrs $test {
                    let stores: $crate::Stores = ($factory).await;
                    $crate::testkit::service::$test(
                        stores,
                        $crate::config::LookupCacheConfig::default(),
                    )
                    .await;
                });
            )+

            /// The same tests with a lookup cache.
            mod cached {
                #[allow(unused_imports)]
                use super::*;

                $(
                    $crate::__conformance_test!($attrs $test {
                        let stores: $crate::Stores = ($factory).await;
                        $crate::testkit::service::$test(
                            stores,
                            $crate::testkit::service::CACHED,
                        )
                        .await;
                    });
                )+
            }
        }
    };
}

/// The lists in [`store_conformance_tests!`] and
/// [`service_conformance_tests!`] name every test of the suite: a test
/// function left off a list would silently never run for any store.
#[cfg(test)]
mod the_lists_name_every_test {
    use std::collections::BTreeSet;

    const MACROS: &str = include_str!("mod.rs");
    const ODD_STRINGS: &str = include_str!("odd_strings.rs");

    /// The names of `pub async fn`s indented by `indent` in `source`.
    fn tests_in(source: &str, indent: &str) -> BTreeSet<String> {
        let prefix = format!("{indent}pub async fn ");
        source
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .map(|rest| rest.split(['(', '<']).next().unwrap_or_default().to_owned())
            .collect()
    }

    /// The body of `pub mod <name> {` in `source` (up to its closing line).
    fn module<'s>(source: &'s str, name: &str) -> &'s str {
        let Some(start) = source.find(&format!("\npub mod {name} {{\n")) else {
            return "";
        };
        let body = &source[start..];
        &body[..body.find("\n}\n").unwrap_or(body.len())]
    }

    /// The names listed after `opening` up to the list's closing `);`
    /// (`name in module` counts as `name`).
    fn listed(opening: &str) -> BTreeSet<String> {
        let start = MACROS
            .find(opening)
            .unwrap_or_else(|| panic!("no list opens with {opening:?}"));
        let list = &MACROS[start + opening.len()..];
        list[..list.find(");").expect("the list closes")]
            .split(',')
            .map(|entry| {
                entry
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .filter(|name| !name.is_empty())
            .collect()
    }

    #[test]
    fn every_store_group() {
        for (group, source) in [
            ("users", include_str!("users.rs")),
            ("knox", include_str!("knox.rs")),
            ("static_tokens", include_str!("static_tokens.rs")),
            ("jwt", include_str!("jwt.rs")),
            ("throttle", include_str!("throttle.rs")),
            ("history", include_str!("history.rs")),
            ("combined", include_str!("combined.rs")),
            ("oauth_applications", include_str!("oauth_applications.rs")),
            ("oauth_codes", include_str!("oauth_codes.rs")),
            ("oauth_tokens", include_str!("oauth_tokens.rs")),
            ("oauth_consents", include_str!("oauth_consents.rs")),
            ("browser_sessions", include_str!("browser_sessions.rs")),
        ] {
            let mut written = tests_in(source, "");
            written.extend(tests_in(module(ODD_STRINGS, group), "    "));
            let opening =
                format!("$crate::__store_conformance_module!([$($attr)*] {group}; $factory;");
            assert_eq!(listed(&opening), written, "the {group} group's list");
        }
    }

    #[test]
    fn the_service_suite() {
        let opening = "$crate::__service_conformance_module!([$($attr)*] $factory;";
        assert_eq!(
            listed(opening),
            tests_in(include_str!("service.rs"), ""),
            "the service suite's list"
        );
    }
}
