//! `AUTH_TEST_SKIP=postgres,mysql,redis` (any of them) marks the tests that
//! need those servers as ignored: see `auth_core::testkit::services`.

fn main() {
    println!("cargo::rerun-if-env-changed=AUTH_TEST_SKIP");
    let skip = std::env::var("AUTH_TEST_SKIP").unwrap_or_default();
    for name in skip.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        assert!(
            ["postgres", "mysql", "redis"].contains(&name),
            "AUTH_TEST_SKIP: unknown server {name:?} (expected postgres, mysql or redis)"
        );
        println!("cargo::rustc-cfg=auth_test_skip=\"{name}\"");
    }
}
