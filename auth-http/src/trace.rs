//! [`RequestTrace`]: the `tracing` span of one request and its access line,
//! opened the same way by both adapters.
//!
//! The span is named `request`, at `INFO`, with the fields `method`,
//! `route` (the matched route pattern, such as `/api/users/{id}`: never the
//! path as sent, which may carry anything), `status`, `latency_ms`,
//! `user_id` and `credential` (`jwt`, `knox`, `static` or `oauth`), the last two
//! recorded once the request is authenticated. No token, header value or
//! body is ever recorded.
//!
//! When the request ends, one event at `INFO` with target
//! `auth_http::access` is the access line (filter it with
//! `RUST_LOG=auth_http::access=off`, or any subscriber's filter, to drop
//! it).

use std::time::Instant;

use auth_core::flows::Authenticated;
use tracing::Span;
use tracing::field::Empty;

/// The target of the access line each request ends with.
pub const ACCESS_TARGET: &str = "auth_http::access";

/// One request's span and when it started. Cheap to clone (clones share
/// the span); an adapter keeps it in the request's extensions so that a
/// second layer reuses it instead of opening another.
///
/// ```
/// use auth_http::RequestTrace;
/// let trace = RequestTrace::begin("GET", Some("/api/auth/me"));
/// let _entered = trace.span().enter();
/// // ... serve the request inside the span ...
/// trace.finish(200);
/// ```
#[derive(Debug, Clone)]
pub struct RequestTrace {
    span: Span,
    started: Instant,
}

impl RequestTrace {
    /// Opens the span of a request with this method and matched route
    /// pattern (`None` when no route matched; it may be recorded later with
    /// [`record_route`](Self::record_route)).
    pub fn begin(method: &str, route: Option<&str>) -> Self {
        let span = tracing::info_span!(
            "request",
            method,
            route = Empty,
            status = Empty,
            latency_ms = Empty,
            user_id = Empty,
            credential = Empty,
        );
        if let Some(route) = route {
            span.record("route", route);
        }
        Self {
            span,
            started: Instant::now(),
        }
    }

    /// The span, to run the request in.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Records the matched route pattern.
    pub fn record_route(&self, route: &str) {
        self.span.record("route", route);
    }

    /// Records the status and the time since [`begin`](Self::begin), and
    /// emits the access line.
    pub fn finish(&self, status: u16) {
        // Whole microseconds, in milliseconds.
        let latency_ms = self.started.elapsed().as_micros() as f64 / 1000.0;
        self.span.record("status", status);
        self.span.record("latency_ms", latency_ms);
        tracing::info!(
            target: ACCESS_TARGET,
            parent: &self.span,
            status,
            latency_ms,
            "request served"
        );
    }
}

/// Records who made the request on the current span, when that span has
/// the fields (a [`RequestTrace`]'s span does; anywhere else this does
/// nothing).
pub(crate) fn record_caller(who: &Authenticated) {
    let span = Span::current();
    span.record("user_id", tracing::field::display(who.user.id));
    span.record("credential", who.credential.kind());
}
