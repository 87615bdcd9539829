//! The end-to-end suite: every row of API.md, over real HTTP,
//! against the demo server started in-process on `127.0.0.1:0` by
//! `auth_demo::start`, for every (framework, backend) combination.
//!
//! Backends: SQLite (a temporary file), and PostgreSQL + Redis (a fresh
//! schema and key prefix per test; started when down, a failure when not
//! reachable, ignored when built with `AUTH_TEST_SKIP` naming either). Emails arrive in
//! a real SMTP sink ([`smtp_sink`]); every test ends with [`Ctx::finish`],
//! which checks that no password, hash or full token of the test reached a
//! log line or a response body the contract does not put it in.
//!
//! [`Ctx::finish`]: harness::Ctx::finish

#![allow(missing_docs, unreachable_pub)]

mod cases;
mod harness;
mod logs;
mod oauth_client;
mod process;
mod smtp_sink;

/// One test function: `#[tokio::test]`, then the combination's attributes.
macro_rules! case_test {
    ([$($attr:tt)*] $case:ident $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attr)*
        async fn $case() $body
    };
}

/// One module of tests per (framework, backend): every case, run on it,
/// each with the attributes in `$attrs` (`[...]`).
macro_rules! combination {
    ($attrs:tt $combo:ident, $framework:expr, $backend:expr; $($group:ident :: $case:ident),* $(,)?) => {
        mod $combo {
            const ENV: crate::harness::Env = crate::harness::Env {
                framework: $framework,
                backend: $backend,
            };
            $(
                case_test!($attrs $case {
                    crate::cases::$group::$case(ENV).await;
                });
            )*
        }
    };
}

/// The list of cases, once.
macro_rules! every_case {
    ($(#[$attr:meta])* $combo:ident, $framework:expr, $backend:expr) => {
        combination!([$(#[$attr])*] $combo, $framework, $backend;
            service::server_starts_and_stops,
            service::service_routes,
            service::http_errors,
            service::trailing_slashes,
            service::unauthenticated_requests,
            service::two_servers_share_revocations,
            service::store_down_is_503,
            service::a_full_hashing_queue_answers_503,
            accounts::register_activate_login,
            accounts::registration_validation,
            accounts::activation_resend,
            accounts::a_hanging_mail_server_delays_no_answer,
            accounts::password_reset,
            accounts::password_change,
            accounts::me_update_and_delete,
            accounts::login_history,
            accounts::expired_links,
            accounts::deactivated_account_stays_inactive,
            accounts::profile_size_is_capped,
            accounts::emails_have_text_and_html_parts,
            jwt::jwt_login_verify_blacklist,
            jwt::jwt_refresh_rotation_and_reuse,
            jwt::expired_access_token,
            jwt::profile_claims_in_issued_tokens,
            knox::knox_login_logout,
            knox::knox_sessions,
            knox::static_tokens,
            oauth::oauth_code_flow,
            oauth::oauth_code_flow_with_jwt_access_tokens,
            oauth::oauth_client_credentials_and_password,
            oauth::clear_tokens_deletes_expired_tokens,
            oidc::openid_connect_relying_party,
            admin::users_admin,
            django::django_deployment_moves_over,
            django::django_postgres_deployment_moves_over,
            admin::users_admin_permissions,
            admin::staff_cannot_take_superuser_power,
            admin::demotion_and_deactivation_reach_every_token,
            throttle::login_throttling,
            throttle::concurrent_logins_cannot_outrun_the_limit,
            throttle::registration_is_throttled_per_address,
            throttle::throttling_off_lets_every_activation_through,
            secrets::full_run_leaks_no_secret,
            hostile::content_types,
            hostile::odd_strings,
        );
    };
}

/// Every backend for one framework.
macro_rules! framework {
    ($name:ident, $framework:expr) => {
        mod $name {
            every_case!(sqlite, $framework, crate::harness::Backend::Sqlite);
            every_case!(
                #[cfg_attr(
                    any(auth_test_skip = "postgres", auth_test_skip = "redis"),
                    ignore = "AUTH_TEST_SKIP names postgres or redis"
                )]
                postgres_redis,
                $framework,
                crate::harness::Backend::PostgresRedis
            );
        }
    };
}

framework!(axum, auth_demo::Framework::Axum);
framework!(actix, auth_demo::Framework::Actix);
