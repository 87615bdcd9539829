//! Every log line of the in-process servers, kept in one buffer: a global
//! `tracing` subscriber installed before the first server starts.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// The filter: everything our crates say down to TRACE, the rest at DEBUG
/// (the HTTP client's own lines left out).
const FILTER: &str = "debug,auth_core=trace,auth_http=trace,auth_axum=trace,auth_actix=trace,\
                      auth_demo=trace,auth_store_sqlx=trace,auth_store_redis=trace,\
                      reqwest=warn,hyper_util::client=warn";

#[derive(Debug, Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per test binary).
pub fn install() {
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(FILTER))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("another global subscriber is installed");
        buffer
    });
}

/// Everything logged so far, by every server of this test binary.
pub fn snapshot() -> String {
    BUFFER.get().map_or_else(String::new, |buffer| {
        String::from_utf8_lossy(&buffer.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    })
}
