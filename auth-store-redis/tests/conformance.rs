//! The store conformance suite of `auth-core`, run against the Redis at
//! `AUTH_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). Each test uses
//! a key prefix of its own and deletes its keys at the end. Without a
//! reachable Redis each test says it skips and passes, unless
//! `AUTH_TEST_REQUIRE_SERVICES=1`.

mod common;

// The factory is a block evaluated inside each generated test function, so
// its `return` ends the test (skipped) when Redis is not reachable.
auth_core::store_conformance_tests!(knox, static_tokens, jwt, throttle, history; {
    let Some(store) = common::test_store().await else {
        return;
    };
    std::future::ready(store)
});

// The token strategies through the service, with users in memory and every
// other concern in Redis (the composition this store is for).
auth_core::service_conformance_tests!({
    let Some(store) = common::test_store().await else {
        return;
    };
    std::future::ready(common::stores_over(store))
});
