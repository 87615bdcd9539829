//! The database servers a store's tests talk to: reach them, start them
//! when they are down, and fail naming what is missing.
//!
//! A test that needs PostgreSQL, MySQL/MariaDB or Redis connects through
//! [`connect`]. When the first attempt fails, the project's
//! `.ci/services.sh` is run once per test process (on this project's
//! machines it starts whichever of the three is down) and the connection is
//! tried again; when that fails too, the test fails with a message naming
//! the server, where it was looked for, and the two ways out: start it, or
//! skip its tests explicitly.
//!
//! Skipping is never silent. `AUTH_TEST_SKIP=postgres,mysql,redis` (any
//! of the three) is read when the tests are compiled: the tests that need
//! a named server are then marked `#[ignore]` with the reason, so the test
//! harness lists each as `ignored, <reason>` and counts them in its
//! closing `test result:` line. A store crate wires this up with a build
//! script that turns the variable into `auth_test_skip = "<name>"` cfgs
//! (see this workspace's store crates), and an attribute on each test:
//!
//! ```text
//! #[cfg_attr(auth_test_skip = "postgres", ignore = "AUTH_TEST_SKIP names postgres")]
//! ```
//!
//! Tests that need something outside the project (a browser, Python and
//! PyPI) call [`skip_or_fail`] when it is missing: it says so and lets the
//! test pass without it, unless `AUTH_TEST_REQUIRE_SERVICES=1` (as `.ci/run`
//! sets), which makes the test fail instead.

use std::fmt::Display;
use std::future::Future;
use std::path::Path;
use std::sync::OnceLock;

/// A server the tests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Service {
    /// PostgreSQL (`AUTH_TEST_POSTGRES_URL`).
    Postgres,
    /// MySQL or MariaDB (`AUTH_TEST_MYSQL_URL`).
    Mysql,
    /// Redis (`AUTH_TEST_REDIS_URL`).
    Redis,
}

impl Service {
    /// The server's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Postgres => "PostgreSQL",
            Service::Mysql => "MySQL",
            Service::Redis => "Redis",
        }
    }

    /// Its name in `AUTH_TEST_SKIP`.
    pub fn skip_name(self) -> &'static str {
        match self {
            Service::Postgres => "postgres",
            Service::Mysql => "mysql",
            Service::Redis => "redis",
        }
    }

    /// The variable that points the tests at another server.
    pub fn url_variable(self) -> &'static str {
        match self {
            Service::Postgres => "AUTH_TEST_POSTGRES_URL",
            Service::Mysql => "AUTH_TEST_MYSQL_URL",
            Service::Redis => "AUTH_TEST_REDIS_URL",
        }
    }
}

/// The script that starts the services, beside this crate in the workspace.
const SERVICES_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/services.sh");

/// Runs `.ci/services.sh` the first time it is asked in this process and
/// returns whether it reported every service up (later calls return the
/// first answer). `false` when the script is not there (outside this
/// workspace) or could not run.
pub async fn start_services_once() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    if let Some(up) = STARTED.get() {
        return *up;
    }
    let up = tokio::task::spawn_blocking(|| {
        *STARTED.get_or_init(|| {
            if !Path::new(SERVICES_SCRIPT).exists() {
                return false;
            }
            eprintln!("a test server is not reachable: running {SERVICES_SCRIPT}");
            std::process::Command::new("bash")
                .arg(SERVICES_SCRIPT)
                .status()
                .is_ok_and(|status| status.success())
        })
    })
    .await;
    up.unwrap_or(false)
}

/// Connects with `attempt`; when it fails, starts the services once (see
/// [`start_services_once`]) and tries again.
///
/// # Panics
/// When the second attempt fails too, naming `service`, `place` (where it
/// was looked for: a host and port, never a password) and the error, and
/// saying how to start it or skip its tests.
pub async fn connect<T, E, F, Fut>(service: Service, place: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    if let Ok(connected) = attempt().await {
        return connected;
    }
    start_services_once().await;
    match attempt().await {
        Ok(connected) => connected,
        Err(err) => missing(service, place, &err),
    }
}

/// Fails the test: `service` is not reachable at `place`.
///
/// # Panics
/// Always, with the message [`connect`] describes.
#[track_caller]
pub fn missing(service: Service, place: &str, err: &dyn Display) -> ! {
    panic!(
        "{name} is not reachable at {place} ({err}). Start it (`bash .ci/services.sh` starts \
         PostgreSQL, MariaDB and Redis on this project's machines), point {var} at one, or skip \
         the tests that need it explicitly: AUTH_TEST_SKIP={skip} cargo test ...",
        name = service.name(),
        var = service.url_variable(),
        skip = service.skip_name(),
    )
}

/// A test cannot run because of `reason` (what is missing, and how to
/// get it): prints that it is skipped and returns, so the caller returns
/// early and passes; under `AUTH_TEST_REQUIRE_SERVICES=1` fails instead.
///
/// # Panics
/// When `AUTH_TEST_REQUIRE_SERVICES` is `1`, with `reason`.
#[track_caller]
pub fn skip_or_fail(reason: &dyn Display) {
    if std::env::var("AUTH_TEST_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{reason}");
    }
    eprintln!("skipped: {reason}; AUTH_TEST_REQUIRE_SERVICES=1 makes this a failure");
}
