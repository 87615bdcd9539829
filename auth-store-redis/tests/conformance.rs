//! The store conformance suite of `auth-core`, run against the Redis at
//! `AUTH_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). Each test uses
//! a key prefix of its own and deletes its keys at the end. A Redis that is
//! down is started; one that cannot be reached fails the tests, unless
//! `AUTH_TEST_SKIP=redis` marks them ignored.

mod common;

auth_core::store_conformance_tests!(
    #[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")]
    knox, static_tokens, jwt, throttle, history, oauth_codes, oauth_tokens, browser_sessions;
    common::test_store()
);

// The token strategies through the service, with users in memory and every
// other concern in Redis (the composition this store is for).
auth_core::service_conformance_tests!(
    #[cfg_attr(auth_test_skip = "redis", ignore = "AUTH_TEST_SKIP names redis")] => async {
        common::stores_over(common::test_store().await)
    }
);
