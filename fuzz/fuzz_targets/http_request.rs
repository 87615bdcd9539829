//! auth-http's request handling (`auth_http::handle`): routing, query
//! strings, header reading (`Authorization`, `Content-Type`,
//! `X-Forwarded-For`) and body reading, over a memory store with one user.
//!
//! The input is a request in HTTP/1.1's text form: a request line
//! (`METHOD target`), header lines, an empty line, the body. The
//! placeholders `{access}`, `{refresh}`, `{knox}`, `{static}` and `{uid}`
//! become the fixture user's live values, so the corpus reaches the
//! authenticated routes. A request that changed state (a 2xx to anything
//! but GET, HEAD or OPTIONS) gets a fresh fixture for the next one, so
//! each input meets the same service.
//!
//! Holds: no panic; no 5xx; every JSON answer parses; a 401 carries
//! `WWW-Authenticate`, a 405 `Allow`, a 429 `Retry-After`.
#![no_main]

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};

use auth_fuzz::{Fixture, runtime};
use auth_http::{Api, ApiOptions, ApiRequest, ClientAddressPolicy, CookieTransport, handle};
use libfuzzer_sys::fuzz_target;

/// Rebuild the service after this many requests anyway (throttle counters
/// and emails accumulate in memory).
const REFRESH_EVERY: u32 = 2_000;

struct State {
    rt: tokio::runtime::Runtime,
    fixture: Fixture,
    api: Api,
    served: u32,
}

impl State {
    fn new(rt: tokio::runtime::Runtime) -> Self {
        let fixture = Fixture::new(&rt);
        // The peer (localhost) is a trusted proxy, so `X-Forwarded-For` is
        // walked; the cookie transport reads `Cookie` and `X-CSRFToken`.
        let proxies = ["127.0.0.0/8", "::1", "10.0.0.0/8"]
            .iter()
            .map(|net| net.parse().expect("a network"))
            .collect();
        let options = ApiOptions::default()
            .with_client_address(ClientAddressPolicy::TrustedProxies(proxies))
            .with_cookie_transport(CookieTransport::default());
        let api = Api::with_options(fixture.auth.clone(), options);
        State {
            rt,
            fixture,
            api,
            served: 0,
        }
    }

    fn renew(self) -> Self {
        State::new(self.rt)
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

struct Parsed<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
}

/// A request in text form; `None` when the text has no request line.
fn parse(text: &str) -> Option<Parsed<'_>> {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect();
    Some(Parsed {
        method,
        path,
        query,
        headers,
        body: body.as_bytes(),
    })
}

fn check(request: &str, response: &auth_http::ApiResponse) {
    assert!(
        response.status < 500,
        "{} for {request:?}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    let is_json = response
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    // A HEAD answer has the GET answer's headers, content type included,
    // and the body is dropped (RFC 9110 §9.3.2): an empty body is not
    // malformed JSON there.
    let emptied_head =
        response.body.is_empty() && parse(request).is_some_and(|parsed| parsed.method == "HEAD");
    if is_json && !emptied_head {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&response.body).is_ok(),
            "an answer that is not the JSON it says for {request:?}"
        );
    }
    let needs = match response.status {
        401 => Some("www-authenticate"),
        405 => Some("allow"),
        429 => Some("retry-after"),
        _ => None,
    };
    if let Some(header) = needs {
        assert!(
            response.header(header).is_some(),
            "a {} without {header} for {request:?}",
            response.status
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    STATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let state = match slot.take() {
            Some(state) if state.served < REFRESH_EVERY => state,
            Some(state) => state.renew(),
            None => State::new(runtime()),
        };
        let request = state.fixture.fill(text);
        let mut mutated = false;
        if let Some(parsed) = parse(&request) {
            let peer = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let api_request = ApiRequest::from_parts(
                &state.api,
                parsed.method,
                parsed.path,
                parsed.query,
                parsed.headers,
                parsed.body,
                peer,
            );
            let response = state.rt.block_on(handle(&state.api, api_request));
            check(&request, &response);
            mutated = (200..300).contains(&response.status)
                && !matches!(parsed.method, "GET" | "HEAD" | "OPTIONS");
        }
        let mut state = state;
        state.served += 1;
        *slot = Some(if mutated { state.renew() } else { state });
    });
});
