//! Sending the account emails (activation, password reset, password
//! changed).
//!
//! The service renders each [`Email`] from [`EmailTemplates`] (a subject,
//! a text part and an HTML part; an app may replace any template) and the
//! configured link URLs (never from anything in a request) and hands it to
//! a [`Mailer`]. [`ConsoleMailer`] prints; [`SmtpMailer`] (feature `smtp`)
//! sends over SMTP, text and HTML as `multipart/alternative`;
//! [`MemoryMailer`] keeps them for tests.

mod templates;

pub(crate) use templates::EmailContext;
pub use templates::{EmailTemplateError, EmailTemplates};

use std::fmt::{self, Debug};
use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::BoxError;

/// Which account email an [`Email`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailKind {
    /// The link that activates a new account.
    Activation,
    /// The link that sets a new password.
    PasswordReset,
    /// A notice that the password was changed (or reset), so the owner
    /// learns of a change they did not make (OWASP). Carries no link.
    PasswordChanged,
}

impl EmailKind {
    /// A short snake_case name (`activation`, `password_reset`).
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Activation => "activation",
            EmailKind::PasswordReset => "password_reset",
            EmailKind::PasswordChanged => "password_changed",
        }
    }
}

/// One email to send: what the service rendered, and what a custom
/// [`Mailer`] needs to render its own (the kind, the link, the user).
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body (it may hold a single-use link).
    pub body: String,
    /// The HTML body, sent beside the text as `multipart/alternative`
    /// (`None`: text only).
    pub html: Option<String>,
    /// Which email this is.
    pub kind: EmailKind,
    /// The single-use link the email carries (from
    /// [`AuthConfig::activation_url`](crate::config::AuthConfig::activation_url)
    /// or
    /// [`AuthConfig::password_reset_confirm_url`](crate::config::AuthConfig::password_reset_confirm_url)),
    /// if any.
    pub link: Option<String>,
    /// The user it is sent to.
    pub user_id: crate::user::UserId,
}

impl Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body holds a live activation or reset token: keep it out of logs.
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &"[redacted]")
            .field("html", &self.html.as_ref().map(|_| "[redacted]"))
            .field("kind", &self.kind)
            .field("link", &self.link.as_ref().map(|_| "[redacted]"))
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// Something that delivers [`Email`]s.
#[async_trait]
pub trait Mailer: Debug + Send + Sync + 'static {
    /// Delivers one email. An error is logged by the service and becomes
    /// [`AuthError::Internal`](crate::AuthError::Internal) where the
    /// contract cannot hide it.
    async fn send(&self, email: Email) -> Result<(), BoxError>;
}

/// Prints each email to standard output, for development (the demo
/// server's default: the activation link is read off the console).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleMailer;

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, email: Email) -> Result<(), BoxError> {
        let text = format!(
            "----- email -----\nTo: {}\nSubject: {}\n\n{}\n-----------------\n",
            email.to, email.subject, email.body
        );
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }
}

/// Keeps every email in memory; clones share the outbox. For tests.
///
/// ```
/// # tokio_test_block_on(async {
/// use auth_core::mail::{Email, EmailKind, Mailer, MemoryMailer};
/// let mailer = MemoryMailer::default();
/// mailer.send(Email {
///     to: "a@example.com".into(),
///     subject: "Hi".into(),
///     body: "x".into(),
///     html: None,
///     kind: EmailKind::Activation,
///     link: None,
///     user_id: auth_core::UserId::new(),
/// }).await.unwrap();
/// assert_eq!(mailer.sent().len(), 1);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer(Arc<Mutex<Vec<Email>>>);

impl MemoryMailer {
    /// Every email sent so far, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The most recent email to `to`, if any.
    pub fn last_to(&self, to: &str) -> Option<Email> {
        self.sent().into_iter().rev().find(|e| e.to == to)
    }

    /// Removes and returns every email sent so far.
    pub fn take(&self) -> Vec<Email> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: Email) -> Result<(), BoxError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(email);
        Ok(())
    }
}

#[cfg(feature = "smtp")]
pub use smtp::SmtpMailer;

#[cfg(feature = "smtp")]
mod smtp {
    use async_trait::async_trait;
    use lettre::message::{Mailbox, MultiPart};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    use super::{Email, Mailer};
    use crate::error::BoxError;

    /// Sends emails over SMTP with lettre (feature `smtp`).
    #[derive(Debug, Clone)]
    pub struct SmtpMailer {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    }

    impl SmtpMailer {
        /// A mailer for an SMTP URL. `smtp://[user:password@]host[:port]`
        /// sends in plain text (port 25 by default): right for a local relay
        /// or a test sink. With the `smtp-tls` feature, every URL lettre
        /// understands works, including `smtps://` and
        /// `smtp://host:587?tls=required` (STARTTLS).
        ///
        /// ```
        /// let mailer = auth_core::mail::SmtpMailer::from_url(
        ///     "smtp://127.0.0.1:2525",
        ///     "Auth <noreply@example.com>",
        /// ).unwrap();
        /// # let _ = mailer;
        /// assert!(auth_core::mail::SmtpMailer::from_url("http://x", "a@b.example").is_err());
        /// ```
        pub fn from_url(url: &str, from: &str) -> Result<Self, BoxError> {
            let builder = Self::builder(url)?;
            Ok(Self {
                transport: builder
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
                from: from.parse()?,
            })
        }

        #[cfg(feature = "smtp-tls")]
        fn builder(
            url: &str,
        ) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder, BoxError> {
            Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?)
        }

        #[cfg(not(feature = "smtp-tls"))]
        fn builder(
            url: &str,
        ) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder, BoxError> {
            use lettre::transport::smtp::authentication::Credentials;
            let rest = url
                .strip_prefix("smtp://")
                .ok_or("only smtp:// URLs are supported without the smtp-tls feature")?;
            let rest = rest.split(['/', '?']).next().unwrap_or("");
            let (credentials, host_port) = match rest.rsplit_once('@') {
                Some((creds, host_port)) => (Some(creds), host_port),
                None => (None, rest),
            };
            let (host, port) = match host_port.rsplit_once(':') {
                Some((host, port)) => (host, port.parse::<u16>()?),
                None => (host_port, 25),
            };
            if host.is_empty() {
                return Err("the SMTP URL has no host".into());
            }
            let mut builder =
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port);
            if let Some(creds) = credentials {
                let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
                builder = builder.credentials(Credentials::new(user.into(), password.into()));
            }
            Ok(builder)
        }
    }

    #[async_trait]
    impl Mailer for SmtpMailer {
        async fn send(&self, email: Email) -> Result<(), BoxError> {
            let builder = Message::builder()
                .from(self.from.clone())
                .to(email.to.parse()?)
                .subject(email.subject);
            let message = match email.html {
                Some(html) => {
                    builder.multipart(MultiPart::alternative_plain_html(email.body, html))?
                }
                None => builder.body(email.body)?,
            };
            self.transport.send(message).await?;
            Ok(())
        }
    }
}
