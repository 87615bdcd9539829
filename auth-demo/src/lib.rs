//! The demo server of the auth workspace, as a library.
//!
//! `cargo run --example demo_server` calls [`main`]; the end-to-end tests
//! call [`start`] to serve on `127.0.0.1:0` in-process, and
//! [`build_auth`] to reach the same stores (e.g. to create a superuser).
//!
//! Settings come from flags or environment variables, flags winning (see
//! [`Settings`] and the last section of API.md):
//!
//! ```no_run
//! # async fn demo() -> Result<(), auth_demo::DemoError> {
//! use auth_demo::{Secret, Settings};
//! let settings = Settings {
//!     bind: "127.0.0.1:0".into(),
//!     database_url: Secret::new("sqlite::memory:"),
//!     ..Settings::default()
//! };
//! let server = auth_demo::start(&settings).await?;
//! println!("docs at {}", server.docs_url());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod error;
pub mod routes;
pub mod server;
pub mod settings;
pub mod setup;
pub mod web;

/// The Django importer, whose options [`import_django`] takes.
pub use auth_django;
pub use error::DemoError;
pub use server::{
    RunningServer, ShutdownHandle, change_password, clear_expired, clear_tokens,
    create_application, create_superuser, describe_import, import_django, init_tracing, main,
    migrate, run, shutdown_signal, start, start_with,
};
pub use settings::{
    ApplicationArgs, Cli, ClientKind, Command, Framework, LoginThrottle, Secret, Settings, Switch,
    ThrottleRates,
};
pub use setup::build_auth;
