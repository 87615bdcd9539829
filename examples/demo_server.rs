//! The demo server: every route of API.md under `/api`, on an SQLite file
//! by default. `cargo run --example demo_server -- --help` lists the
//! settings; `... -- create-superuser --username U --email E --password P`
//! creates an admin.

fn main() -> std::process::ExitCode {
    auth_demo::main()
}
