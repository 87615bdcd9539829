//! Matching a request's `redirect_uri` against the registered ones.
//!
//! The match is an exact string comparison (RFC 9700 §4.1.3), with one
//! exception, RFC 8252 §7.3's: a registered `http://127.0.0.1` or
//! `http://[::1]` URI matches a request that differs only in its port, so a
//! native app can listen on whatever port the OS gives it. Nothing else may
//! vary, and `localhost` gets no exception (RFC 8252 §8.3 advises against
//! it: the name can resolve elsewhere).

/// The loopback hosts that get the port exception, as they appear after
/// `http://`.
const LOOPBACK_HOSTS: [&str; 2] = ["127.0.0.1", "[::1]"];

/// Whether `requested` matches the registered URI `registered`.
///
/// ```
/// use auth_core::oauth::redirect_uri_matches;
/// assert!(redirect_uri_matches("https://app.example/cb", "https://app.example/cb"));
/// assert!(!redirect_uri_matches("https://app.example/cb", "https://app.example/cb/"));
/// assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:51004/cb"));
/// assert!(!redirect_uri_matches("http://localhost/cb", "http://localhost:51004/cb"));
/// ```
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (split_loopback(registered), split_loopback(requested)) {
        (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
        _ => false,
    }
}

/// Whether `requested` matches any of `registered`.
pub fn redirect_uri_allowed<S: AsRef<str>>(registered: &[S], requested: &str) -> bool {
    registered
        .iter()
        .any(|uri| redirect_uri_matches(uri.as_ref(), requested))
}

/// For an `http://` loopback URI, its host and what follows the port
/// (path, query); `None` for any other URI, or a port that is not a
/// decimal number below 65536.
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let after_scheme = uri.strip_prefix("http://")?;
    let host = LOOPBACK_HOSTS
        .into_iter()
        .find(|host| after_scheme.starts_with(host))?;
    let after_host = &after_scheme[host.len()..];
    let rest = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            let port = &port_and_rest[..digits];
            if port.is_empty() || port.len() > 5 || port.parse::<u32>().ok()? > 65_535 {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after_host,
    };
    // The host must end here: `http://127.0.0.1.evil.example/` is another host.
    if !(rest.is_empty() || rest.starts_with(['/', '?'])) {
        return None;
    }
    Some((host, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        let registered = "https://app.example/callback?x=1";
        assert!(redirect_uri_matches(registered, registered));
        for other in [
            "https://app.example/callback?x=2",
            "https://app.example/callback?x=1&y=2",
            "https://app.example/callback",
            "https://app.example/callbacK?x=1",
            "https://APP.example/callback?x=1",
            "https://app.example:443/callback?x=1",
            "http://app.example/callback?x=1",
            "https://app.example/callback?x=1#frag",
            "https://app.example/callback/../callback?x=1",
            "https://app.example.evil/callback?x=1",
            "",
        ] {
            assert!(!redirect_uri_matches(registered, other), "{other}");
        }
    }

    #[test]
    fn loopback_ports_vary() {
        for registered in ["http://127.0.0.1/cb", "http://127.0.0.1:8080/cb"] {
            for requested in [
                "http://127.0.0.1/cb",
                "http://127.0.0.1:1/cb",
                "http://127.0.0.1:51004/cb",
                "http://127.0.0.1:65535/cb",
            ] {
                assert!(
                    redirect_uri_matches(registered, requested),
                    "{registered} {requested}"
                );
            }
        }
        assert!(redirect_uri_matches(
            "http://[::1]/cb?a=b",
            "http://[::1]:4000/cb?a=b"
        ));
        assert!(redirect_uri_matches(
            "http://127.0.0.1",
            "http://127.0.0.1:9"
        ));
    }

    #[test]
    fn loopback_nothing_else_varies() {
        let registered = "http://127.0.0.1/cb";
        for requested in [
            "http://127.0.0.1:51004/cb2",
            "http://127.0.0.1:51004/CB",
            "http://127.0.0.1:51004/cb?x",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:65536/cb",
            "http://127.0.0.1:999999/cb",
            "http://127.0.0.1:+80/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://127.0.0.1:80.evil.example/cb",
            "http://127.0.0.1:80@evil.example/cb",
            "https://127.0.0.1:51004/cb",
            "http://[::1]:51004/cb",
            "http://127.0.0.2:51004/cb",
        ] {
            assert!(!redirect_uri_matches(registered, requested), "{requested}");
        }
    }

    #[test]
    fn localhost_gets_no_exception() {
        assert!(!redirect_uri_matches(
            "http://localhost/cb",
            "http://localhost:8080/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost:80/cb",
            "http://localhost:8080/cb"
        ));
        assert!(redirect_uri_matches(
            "http://localhost:8080/cb",
            "http://localhost:8080/cb"
        ));
    }

    #[test]
    fn any_of_the_registered() {
        let registered = ["https://a.example/cb", "http://127.0.0.1/cb"];
        assert!(redirect_uri_allowed(&registered, "https://a.example/cb"));
        assert!(redirect_uri_allowed(
            &registered,
            "http://127.0.0.1:3000/cb"
        ));
        assert!(!redirect_uri_allowed(&registered, "https://b.example/cb"));
        assert!(!redirect_uri_allowed::<&str>(&[], "https://a.example/cb"));
    }
}
