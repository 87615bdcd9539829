//! A tiny SMTP server on `127.0.0.1:0` that keeps every message, speaking
//! just enough SMTP for lettre: greeting, EHLO/HELO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The longest message kept, in bytes (the rest is dropped).
const MAX_MESSAGE: usize = 1 << 20;

/// One message as received.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The `MAIL FROM` address.
    pub from: String,
    /// The `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body) with dot-stuffing undone.
    pub data: String,
}

impl Mail {
    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&self.data, name)
    }

    /// The parts of the message as `(Content-Type, decoded body)`: the
    /// message itself when it is not `multipart/*`, else each part.
    pub fn parts(&self) -> Vec<(String, String)> {
        let content_type = self.header("Content-Type").unwrap_or_default();
        let Some(boundary) = content_type
            .to_ascii_lowercase()
            .starts_with("multipart/")
            .then(|| {
                content_type
                    .split(';')
                    .find_map(|param| param.trim().strip_prefix("boundary="))
                    .map(|b| b.trim_matches('"').to_owned())
            })
            .flatten()
        else {
            return vec![(content_type, decoded_body(&self.data))];
        };
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        body.split(&format!("--{boundary}"))
            .skip(1)
            .filter(|part| !part.starts_with("--"))
            .map(|part| {
                let part = part.trim_start_matches("\r\n");
                (
                    header_in(part, "Content-Type").unwrap_or_default(),
                    decoded_body(part).trim_end_matches("\r\n").to_owned(),
                )
            })
            .collect()
    }

    /// The plain-text body (the `text/plain` part of a multipart
    /// message), decoded.
    pub fn body(&self) -> String {
        let parts = self.parts();
        parts
            .iter()
            .find(|(content_type, _)| content_type.starts_with("text/plain"))
            .or(parts.first())
            .map(|(_, body)| body.clone())
            .unwrap_or_default()
    }

    /// The HTML part, decoded, if there is one.
    pub fn html(&self) -> Option<String> {
        self.parts()
            .into_iter()
            .find(|(content_type, _)| content_type.starts_with("text/html"))
            .map(|(_, body)| body)
    }

    /// The first link in the body starting with `prefix`, up to whitespace.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let body = self.body();
        let start = body.find(prefix)?;
        let link = body[start..]
            .split(|c: char| c.is_whitespace() || c == '>' || c == '"')
            .next()?;
        Some(link.to_owned())
    }
}

/// The value of the first header `name` of `entity` (headers, a blank
/// line, a body), unfolded.
fn header_in(entity: &str, name: &str) -> Option<String> {
    let (head, _) = entity.split_once("\r\n\r\n")?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The body of `entity`, decoded from quoted-printable or base64 when its
/// `Content-Transfer-Encoding` says so.
fn decoded_body(entity: &str) -> String {
    let raw = entity.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    match header_in(entity, "Content-Transfer-Encoding")
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("quoted-printable") => decode_quoted_printable(raw),
        Some("base64") => {
            let compact: String = raw.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        }
        _ => raw.to_owned(),
    }
}

/// Decodes quoted-printable text: `=\r\n` soft breaks go, `=XX` become
/// bytes.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Default)]
struct Inbox {
    /// Each message and whether a test took it already.
    mails: Mutex<Vec<(Mail, bool)>>,
    arrived: Notify,
}

/// An SMTP server that accepts connections and never answers, not even
/// with its greeting: a relay that hangs. It stops when dropped.
#[derive(Debug)]
pub struct SilentSmtp {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for SilentSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SilentSmtp {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the silent SMTP server");
        let addr = listener.local_addr().expect("the server's address");
        let task = tokio::spawn(async move {
            // Held open, unanswered, until the server stops.
            let mut connections = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.push(stream);
            }
        });
        Self { addr, task }
    }

    /// `smtp://127.0.0.1:PORT`, for `AUTH_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }
}

/// The sink; it stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the SMTP sink");
        let addr = listener.local_addr().expect("the sink's address");
        let inbox = Arc::new(Inbox::default());
        let accept_inbox = inbox.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = accept_inbox.clone();
                tokio::spawn(async move {
                    let _ = session(stream, &inbox).await;
                });
            }
        });
        Self { addr, inbox, task }
    }

    /// `smtp://127.0.0.1:PORT`, for `AUTH_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        lock(&self.inbox.mails)
            .iter()
            .map(|(mail, _)| mail.clone())
            .collect()
    }

    /// How many messages went to `to`.
    pub fn count_to(&self, to: &str) -> usize {
        lock(&self.inbox.mails)
            .iter()
            .filter(|(mail, _)| mail.to.iter().any(|r| r == to))
            .count()
    }

    /// The oldest message to `to` not taken yet, waiting up to 10 s for it.
    pub async fn take_to(&self, to: &str) -> Mail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.inbox.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut mails = lock(&self.inbox.mails);
                if let Some((mail, taken)) = mails
                    .iter_mut()
                    .find(|(mail, taken)| !*taken && mail.to.iter().any(|r| r == to))
                {
                    *taken = true;
                    return mail.clone();
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "no email to {to} within 10 s (received: {:?})",
                    self.mails()
                );
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].trim().to_owned()
}

async fn session(stream: TcpStream, inbox: &Inbox) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write
        .write_all(b"220 localhost test sink ESMTP\r\n")
        .await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let command = text.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-localhost\r\n250 8BITMIME\r\n",
            "HELO" => b"250 localhost\r\n",
            "MAIL" => {
                from = address(command.split_once(':').map_or("", |(_, a)| a));
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(command.split_once(':').map_or("", |(_, a)| a)));
                b"250 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let data = read_data(&mut reader).await?;
                let mail = Mail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                };
                lock(&inbox.mails).push((mail, false));
                inbox.arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// Reads a DATA section up to the lone `.` line, undoing dot-stuffing.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<String> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        if data.len() + content.len() <= MAX_MESSAGE {
            data.extend_from_slice(content);
        }
    }
    Ok(String::from_utf8_lossy(&data).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::mail::{Email, EmailKind, Mailer, SmtpMailer};

    #[test]
    fn quoted_printable_is_decoded() {
        assert_eq!(
            decode_quoted_printable("http://x/activate/ab=\r\ncd/e=3Df"),
            "http://x/activate/abcd/e=f"
        );
        assert_eq!(decode_quoted_printable("caf=C3=A9 ="), "café =");
    }

    #[tokio::test]
    async fn lettre_delivers_to_the_sink() {
        let sink = SmtpSink::start().await;
        let mailer = SmtpMailer::from_url(&sink.url(), "Auth <noreply@example.com>").unwrap();
        let long_token = "t".repeat(120);
        for to in ["ann@example.com", "bob@example.com"] {
            mailer
                .send(Email {
                    to: to.into(),
                    subject: "Activate your account".into(),
                    body: format!(
                        "Hello,\n.leading dot\nhttp://front.test/activate/UID/{long_token}\n"
                    ),
                    html: None,
                    kind: EmailKind::Activation,
                    link: None,
                    user_id: auth_core::UserId::new(),
                })
                .await
                .unwrap();
        }
        let mail = sink.take_to("bob@example.com").await;
        assert_eq!(mail.from, "noreply@example.com");
        assert_eq!(mail.to, ["bob@example.com"]);
        assert_eq!(
            mail.header("Subject").as_deref(),
            Some("Activate your account")
        );
        assert!(mail.body().contains("\n.leading dot"), "{:?}", mail.body());
        assert_eq!(
            mail.link("http://front.test/activate/").unwrap(),
            format!("http://front.test/activate/UID/{long_token}")
        );
        assert_eq!(sink.count_to("ann@example.com"), 1);
        assert_eq!(sink.mails().len(), 2);
    }
}
