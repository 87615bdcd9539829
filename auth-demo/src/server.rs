//! Serving: [`start`] in-process (the tests use it), [`run`] until Ctrl-C
//! or SIGTERM, and the `create-superuser` command.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auth_core::flows::Cleared;
use auth_core::oauth::{Application, ApplicationInput, ClientSecret};
use auth_core::{Auth, AuthError, User};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::DemoError;
use crate::settings::{ApplicationArgs, Cli, ClientKind, Command, Framework, Secret, Settings};
use crate::setup::build_auth;

/// How long a shutdown waits for requests in flight before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Stops a [`RunningServer`] gracefully; cheap to clone, usable from any
/// task or thread.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Asks the server to stop: it accepts no new connection and ends once
    /// the requests in flight are answered.
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

/// A server started by [`start`]: where it listens, its [`Auth`], and how
/// to stop it. Dropping it stops the server too.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    framework: Framework,
    auth: Auth,
    handle: ShutdownHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// The address the server listens on (the real port when bound to 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base of every route.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://ADDR/api/docs`, the Swagger UI.
    pub fn docs_url(&self) -> String {
        format!("http://{}/api/docs", self.addr)
    }

    /// The framework serving the routes.
    pub fn framework(&self) -> Framework {
        self.framework
    }

    /// The service behind the routes (shares everything with the server's).
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// A handle that stops the server from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Waits until the server stops (after a [`ShutdownHandle::shutdown`]).
    pub async fn wait(mut self) -> Result<(), DemoError> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(result) => result.map_err(|err| DemoError::io("serving", err)),
            Err(err) => Err(DemoError::io("serving", std::io::Error::other(err))),
        }
    }

    /// Stops the server gracefully, waiting at most [`SHUTDOWN_GRACE`] for
    /// the requests in flight.
    pub async fn shutdown(mut self) -> Result<(), DemoError> {
        self.handle.shutdown();
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(result)) => result.map_err(|err| DemoError::io("serving", err)),
            Ok(Err(err)) => Err(DemoError::io("serving", std::io::Error::other(err))),
            Err(_) => {
                tracing::warn!("requests still in flight after the grace period: dropped");
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Builds the service (see [`build_auth`]), binds `settings.bind` (port 0
/// picks a free one) and serves every route in a background task of the
/// current Tokio runtime. Returns once the server accepts connections.
///
/// Without `--issuer`, the OAuth2 issuer is `http://` and the address
/// bound (the real port when bound to 0).
pub async fn start(settings: &Settings) -> Result<RunningServer, DemoError> {
    let (listener, addr) = bind(settings).await?;
    let auth = if settings.issuer.is_some() {
        build_auth(settings).await?
    } else {
        let settings = Settings {
            issuer: Some(format!("http://{addr}")),
            ..settings.clone()
        };
        build_auth(&settings).await?
    };
    serve(settings, auth, listener, addr).await
}

/// Like [`start`], with a service built by the caller.
pub async fn start_with(settings: &Settings, auth: Auth) -> Result<RunningServer, DemoError> {
    let (listener, addr) = bind(settings).await?;
    serve(settings, auth, listener, addr).await
}

/// Binds `settings.bind`; returns the listener and its real address.
async fn bind(settings: &Settings) -> Result<(TcpListener, SocketAddr), DemoError> {
    let listener = TcpListener::bind(&settings.bind)
        .await
        .map_err(|err| DemoError::io(format!("binding {}", settings.bind), err))?;
    let addr = listener
        .local_addr()
        .map_err(|err| DemoError::io("reading the bound address", err))?;
    Ok((listener, addr))
}

/// Serves every route on `listener` in a background task.
async fn serve(
    settings: &Settings,
    auth: Auth,
    listener: TcpListener,
    addr: SocketAddr,
) -> Result<RunningServer, DemoError> {
    let framework = settings.framework;
    let (sender, mut stop) = watch::channel(false);
    // A dropped sender stops the server too.
    let stopped = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    let task = match framework {
        Framework::Axum => {
            let router = crate::routes::axum_router(auth.clone(), &settings.web)?;
            let serve = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stopped);
            tokio::spawn(async move { serve.await })
        }
        Framework::Actix => {
            let listener = listener
                .into_std()
                .map_err(|err| DemoError::io("handing the socket to actix-web", err))?;
            let server = crate::routes::actix_server(auth.clone(), &settings.web, listener).await?;
            let handle = server.handle();
            tokio::spawn(async move {
                let stopper = tokio::spawn(async move {
                    stopped.await;
                    handle.stop(true).await;
                });
                let result = server.await;
                stopper.abort();
                result
            })
        }
    };
    tracing::info!(%addr, %framework, "listening");
    Ok(RunningServer {
        addr,
        framework,
        auth,
        handle: ShutdownHandle(Arc::new(sender)),
        task: Some(task),
    })
}

/// Registers the OAuth2 application `args` describes on the stores of
/// `settings`: the `create-application` command. Returns it with its secret
/// (`None` for a public client), which nothing keeps.
pub async fn create_application(
    settings: &Settings,
    args: &ApplicationArgs,
) -> Result<(Application, Option<ClientSecret>), DemoError> {
    let auth = build_auth(settings).await?;
    let owner = match &args.user {
        Some(username) => Some(
            auth.stores()
                .users
                .user_by_username(username)
                .await
                .map_err(|err| DemoError::Store {
                    what: "the users".into(),
                    source: Box::new(err),
                })?
                .ok_or_else(|| DemoError::Settings(format!("user {username:?} does not exist")))?
                .id,
        ),
        None => None,
    };
    let input = ApplicationInput {
        name: args.name.clone(),
        client_type: match args.client_type {
            ClientKind::Confidential => "confidential",
            ClientKind::Public => "public",
        }
        .to_owned(),
        grant_types: args
            .grant_types
            .iter()
            .map(|g| g.trim().to_owned())
            .collect(),
        redirect_uris: args.redirect_uris.clone(),
        post_logout_redirect_uris: args.post_logout_redirect_uris.clone(),
        allowed_origins: args.allowed_origins.clone(),
        skip_authorization: args.skip_authorization,
    };
    let created = auth.create_application(owner, input).await?;
    Ok((created.application, created.secret))
}

/// Deletes the expired OAuth2 codes, tokens and browser sessions on the
/// stores of `settings`: the `clear-tokens` command.
pub async fn clear_tokens(settings: &Settings) -> Result<Cleared, DemoError> {
    let auth = build_auth(settings).await?;
    auth.clear_expired_oauth()
        .await
        .map_err(|err| DemoError::Store {
            what: "the OAuth2 stores".into(),
            source: Box::new(err),
        })
}

/// Creates an active staff superuser with [`Auth::create_superuser`] on the
/// stores of `settings`.
pub async fn create_superuser(
    settings: &Settings,
    username: &str,
    email: &str,
    password: &str,
) -> Result<User, DemoError> {
    let auth = build_auth(settings).await?;
    Ok(auth.create_superuser(username, email, password).await?)
}

/// Deletes what has expired on the stores of `settings`
/// ([`Auth::clear_expired`]): the `clear-expired` command.
pub async fn clear_expired(settings: &Settings) -> Result<Cleared, DemoError> {
    let auth = build_auth(settings).await?;
    auth.clear_expired().await.map_err(|err| DemoError::Store {
        what: "the stores".into(),
        source: Box::new(err),
    })
}

/// Sets the password of the user named `username` on the stores of
/// `settings` (the validators run; the user's tokens are revoked): the
/// `change-password` command.
pub async fn change_password(
    settings: &Settings,
    username: &str,
    password: &str,
) -> Result<User, DemoError> {
    let auth = build_auth(settings).await?;
    let store_error = |err: auth_core::StoreError| DemoError::Store {
        what: "the users".into(),
        source: Box::new(err),
    };
    let user = auth
        .stores()
        .users
        .user_by_username(username)
        .await
        .map_err(store_error)?
        .ok_or_else(|| DemoError::Settings(format!("user {username:?} does not exist")))?;
    let input = auth_core::flows::AdminUserInput {
        password: Some(password.to_owned()),
        ..Default::default()
    };
    let user = auth.update_user(user.id, input).await?;
    auth.flush().await;
    Ok(user)
}

/// Creates or upgrades the SQL tables of `settings` (even with
/// `--no-migrate`): the `migrate` command.
pub async fn migrate(settings: &Settings) -> Result<(), DemoError> {
    let settings = Settings {
        no_migrate: false,
        ..settings.clone()
    };
    build_auth(&settings).await.map(drop)
}

/// Imports the Django database at `from` into the stores of `settings`
/// (see [`auth_django::import`]).
pub async fn import_django(
    settings: &Settings,
    from: &str,
    options: &auth_django::ImportOptions,
) -> Result<auth_django::ImportReport, DemoError> {
    let auth = build_auth(settings).await?;
    Ok(auth_django::import(from, auth.stores(), options).await?)
}

/// `import-django`'s progress bar, one table after another, and the
/// callback that moves it. It draws on stderr only when stderr is a
/// terminal (indicatif hides a bar whose target is not one), so the
/// counts printed at the end are all a pipe or a log gets.
fn import_progress() -> (ProgressBar, auth_django::ProgressCallback) {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg:34} [{bar:30}] {pos}/{len}")
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let moved = bar.clone();
    let callback = auth_django::ProgressCallback::new(move |progress| {
        if progress.done == 0 {
            moved.reset();
            moved.set_length(progress.total);
            moved.set_message(progress.table.to_owned());
        }
        moved.set_position(progress.done);
    });
    (bar, callback)
}

/// The lines `import-django` prints: one per table, then one per row that
/// failed.
pub fn describe_import(report: &auth_django::ImportReport) -> String {
    let verb = if report.dry_run {
        "would import"
    } else {
        "imported"
    };
    let mut out = String::new();
    let tables = [
        (report.user_table.as_str(), Some(report.users)),
        ("knox_authtoken", report.knox_tokens),
        ("authtoken_token", report.drf_tokens),
        (
            "token_blacklist_blacklistedtoken",
            report.blacklisted_tokens,
        ),
    ];
    for (table, counts) in tables {
        let Some(c) = counts else {
            out.push_str(&format!("{table}: no such table\n"));
            continue;
        };
        out.push_str(&format!(
            "{table}: {verb} {}, updated {}, unchanged {}, skipped {}, failed {}\n",
            c.imported, c.updated, c.unchanged, c.skipped, c.failed
        ));
    }
    for error in &report.errors {
        out.push_str(&format!("error: {error}\n"));
    }
    out
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM. A signal that cannot be
/// listened for is ignored (the other still works).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The `create-superuser` password when neither `--password` nor
/// `AUTH_SUPERUSER_PASSWORD` gives one: asked on the terminal without echo,
/// twice, until both agree and it is not blank (as Django's
/// `createsuperuser` asks); an error when stdin is not a terminal.
fn prompt_password() -> Result<Secret, DemoError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(DemoError::Settings(
            "no password given: pass --password, set AUTH_SUPERUSER_PASSWORD \
             (create-superuser) or AUTH_NEW_PASSWORD (change-password), or \
             run it on a terminal to be asked"
                .into(),
        ));
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|err| DemoError::io("reading the password from the terminal", err))
    };
    loop {
        let password = ask("Password: ")?;
        if ask("Password (again): ")? != password {
            eprintln!("Error: Your passwords didn't match.");
        } else if password.trim().is_empty() {
            eprintln!("Error: Blank passwords aren't allowed.");
        } else {
            return Ok(Secret::new(password));
        }
    }
}

/// Runs the command line: `create-superuser`, or serving until Ctrl-C or
/// SIGTERM (printing the address and the docs URL once listening).
pub async fn run(cli: Cli) -> Result<(), DemoError> {
    let settings = cli.settings;
    match cli.command {
        Some(Command::CreateSuperuser {
            username,
            email,
            password,
        }) => {
            let password = match password {
                Some(password) => password,
                None => prompt_password()?,
            };
            let user = create_superuser(&settings, &username, &email, password.expose()).await?;
            println!("Superuser {:?} created (id {}).", user.username, user.id);
            Ok(())
        }
        Some(Command::ChangePassword { username, password }) => {
            let password = match password {
                Some(password) => password,
                None => prompt_password()?,
            };
            change_password(&settings, &username, password.expose()).await?;
            println!("Password changed successfully for user {username:?}.");
            Ok(())
        }
        Some(Command::CreateApplication(args)) => {
            let (application, secret) = create_application(&settings, &args).await?;
            println!("Application {:?} created.", application.name);
            println!("client_id: {}", application.client_id);
            if let Some(secret) = secret {
                println!("client_secret: {}", secret.expose());
                println!("The secret is shown this once: only its digest is kept.");
            }
            Ok(())
        }
        Some(Command::ClearTokens) => {
            let cleared = clear_tokens(&settings).await?;
            println!(
                "Deleted {} expired OAuth2 codes, {} expired OAuth2 tokens, {} expired browser sessions.",
                cleared.oauth_codes, cleared.oauth_tokens, cleared.browser_sessions
            );
            Ok(())
        }
        Some(Command::Migrate) => {
            migrate(&settings).await?;
            println!("The database {} is migrated.", settings.database_display());
            Ok(())
        }
        Some(Command::ClearExpired) => {
            let cleared = clear_expired(&settings).await?;
            println!("Deleted {cleared}.");
            Ok(())
        }
        Some(Command::ImportDjango {
            from,
            dry_run,
            user_table,
            columns,
        }) => {
            let (bar, progress) = import_progress();
            let options = auth_django::ImportOptions {
                dry_run,
                user_table,
                columns: columns.into_iter().collect(),
                progress: Some(progress),
            };
            let report = import_django(&settings, from.expose(), &options).await;
            bar.finish_and_clear();
            let report = report?;
            print!("{}", describe_import(&report));
            match report.errors.len() {
                0 => Ok(()),
                failed => Err(DemoError::ImportRowsFailed(failed)),
            }
        }
        None => {
            let server = start(&settings).await?;
            println!(
                "auth demo server ({}, database {}) listening on {}",
                server.framework(),
                settings.database_display(),
                server.url()
            );
            println!("API docs: {}", server.docs_url());
            shutdown_signal().await;
            tracing::info!("shutting down");
            server.shutdown().await
        }
    }
}

/// Installs the log subscriber: `RUST_LOG` if set, else `info` (`warn`
/// with `--quiet`). Does nothing if one is installed already.
pub fn init_tracing(quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if quiet { "warn" } else { "info" }));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// What the command line's error looks like: field errors one a line.
pub fn describe(err: &DemoError) -> String {
    match err {
        DemoError::Auth(AuthError::Validation(fields)) => fields
            .iter()
            .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
            .collect::<Vec<_>>()
            .join("\n"),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text.push_str(&format!("\n  caused by: {cause_text}"));
                }
                source = cause.source();
            }
            text
        }
    }
}

/// The demo server's `main`: parses the command line and environment,
/// installs logging, runs on a multi-threaded runtime; prints errors and
/// exits non-zero on failure.
pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    let mut cli = Cli::parse();
    // The secret's old variable name, still read.
    if cli.settings.jwt_secret.is_none()
        && let Ok(secret) = std::env::var("AUTH_JWT_SECRET")
    {
        cli.settings.jwt_secret = Some(Secret::new(secret));
    }
    init_tracing(cli.settings.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("demo_server: cannot start the Tokio runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("demo_server: {}", describe(&err));
            std::process::ExitCode::FAILURE
        }
    }
}
