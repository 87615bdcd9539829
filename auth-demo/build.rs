//! Declares the `auth_demo_full_api` cfg, set once auth-http is merged
//! (see src/routes.rs).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(auth_demo_full_api)");
}
