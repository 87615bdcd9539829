//! The `auth-demo` binary: the demo server as an installable program
//! (`cargo install --path auth-demo`, then `auth-demo --help`). The same as
//! `cargo run --example demo_server` at the workspace root.

fn main() -> std::process::ExitCode {
    auth_demo::main()
}
