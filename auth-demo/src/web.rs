//! The settings of the HTTP edge ([`WebSettings`]): which proxies'
//! `X-Forwarded-For` is trusted, which origins CORS lets in, and the JWT
//! cookie transport for browser apps.

use std::fmt;
use std::str::FromStr;

use auth_http::{ApiOptions, ClientAddressPolicy, CookieTransport, IpNetwork, SameSite};
use clap::{Args, ValueEnum};

use crate::DemoError;

/// The headers a cross-origin request may send: the credentials, JSON, and
/// the CSRF token of the cookie transport.
pub const CORS_ALLOWED_HEADERS: [&str; 3] = ["authorization", "content-type", "x-csrftoken"];

/// The response headers a cross-origin page may read: the CSRF token the
/// cookie transport's login and refresh send.
pub const CORS_EXPOSED_HEADERS: [&str; 1] = ["x-csrftoken"];

/// The methods a cross-origin request may use.
pub const CORS_ALLOWED_METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// How long a browser may cache a preflight answer, in seconds.
pub const CORS_MAX_AGE: u32 = 600;

/// Proxies, browsers and cookies.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Proxies, CORS and cookies")]
pub struct WebSettings {
    /// Trusts `X-Forwarded-For` for the client address (rate limits, login
    /// history): a number of proxies in front of the server (DRF's
    /// `NUM_PROXIES`), or a comma-separated list of the proxies' addresses
    /// or networks (`10.0.0.0/8,2001:db8::/32`), whose header alone is read.
    /// Off by default: the TCP peer's address.
    #[arg(
        long,
        global = true,
        env = "AUTH_TRUSTED_PROXIES",
        value_name = "N|CIDRS"
    )]
    pub trusted_proxies: Option<TrustedProxies>,

    /// Lets these origins call the API from a browser, with credentials
    /// (cookies, `Authorization`): a comma-separated list of exact origins
    /// (`https://app.example.com,http://localhost:3000`); `*` is refused.
    /// Off by default (no CORS headers).
    #[arg(
        long = "cors-origin",
        global = true,
        env = "AUTH_CORS_ORIGINS",
        value_name = "ORIGINS"
    )]
    pub cors_origins: Option<CorsOrigins>,

    /// Also sets the JWTs as `HttpOnly` cookies at login and refresh, reads
    /// them on requests without `Authorization`, and clears them at log
    /// out; cookie-authenticated unsafe requests must echo the `csrftoken`
    /// cookie in `X-CSRFToken`.
    #[arg(long, global = true, env = "AUTH_COOKIE_TRANSPORT")]
    pub cookie_transport: bool,

    /// Sends the cookies without `Secure`, so they work over plain HTTP
    /// (development only).
    #[arg(long, global = true, env = "AUTH_COOKIE_INSECURE")]
    pub cookie_insecure: bool,

    /// The cookies' `SameSite` (`none` needs `Secure`).
    #[arg(long, global = true, env = "AUTH_COOKIE_SAMESITE", value_enum, default_value_t = CookieSameSite::Lax)]
    pub cookie_samesite: CookieSameSite,

    /// Also puts the refresh token in the JSON body of login and refresh
    /// (by default it lives in its cookie only).
    #[arg(long, global = true, env = "AUTH_COOKIE_REFRESH_IN_BODY")]
    pub cookie_refresh_in_body: bool,
}

impl WebSettings {
    /// The API's options these settings give; `SameSite=None` without
    /// `Secure` is refused (browsers drop such cookies).
    pub fn api_options(&self) -> Result<ApiOptions, DemoError> {
        let mut options = ApiOptions::default();
        if let Some(proxies) = &self.trusted_proxies {
            options = options.with_client_address(proxies.0.clone());
        }
        if self.cookie_transport {
            if self.cookie_insecure && self.cookie_samesite == CookieSameSite::None {
                return Err(DemoError::Settings(
                    "--cookie-samesite none needs Secure cookies: drop --cookie-insecure".into(),
                ));
            }
            options = options.with_cookie_transport(CookieTransport {
                secure: !self.cookie_insecure,
                same_site: self.cookie_samesite.into(),
                refresh_in_body: self.cookie_refresh_in_body,
            });
        }
        Ok(options)
    }
}

/// `--cookie-samesite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum CookieSameSite {
    /// Same-site requests only.
    Strict,
    /// Also top-level cross-site navigations (default).
    #[default]
    Lax,
    /// Every request (needs `Secure`).
    None,
}

impl From<CookieSameSite> for SameSite {
    fn from(value: CookieSameSite) -> Self {
        match value {
            CookieSameSite::Strict => SameSite::Strict,
            CookieSameSite::Lax => SameSite::Lax,
            CookieSameSite::None => SameSite::None,
        }
    }
}

/// `--trusted-proxies`: a hop count or networks.
///
/// ```
/// use auth_demo::web::TrustedProxies;
/// use auth_http::ClientAddressPolicy;
/// let two: TrustedProxies = "2".parse().unwrap();
/// assert_eq!(two.policy(), &ClientAddressPolicy::TrustForwardedFor { proxies: 2 });
/// let nets: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
/// assert!(matches!(nets.policy(), ClientAddressPolicy::TrustedProxies(n) if n.len() == 2));
/// assert!("0".parse::<TrustedProxies>().is_err());
/// assert!("10.0.0.0/8,proxy.local".parse::<TrustedProxies>().unwrap_err().contains("proxy.local"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(ClientAddressPolicy);

impl TrustedProxies {
    /// The client address policy.
    pub fn policy(&self) -> &ClientAddressPolicy {
        &self.0
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<usize>() {
                Ok(proxies) if proxies >= 1 => {
                    Ok(Self(ClientAddressPolicy::TrustForwardedFor { proxies }))
                }
                _ => Err(format!(
                    "{s:?}: the number of proxies is at least 1 (leave the setting out to trust none)"
                )),
            };
        }
        let networks = s
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| part.parse::<IpNetwork>().map_err(|err| err.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        if networks.is_empty() {
            return Err("give a number of proxies or their addresses or networks".into());
        }
        Ok(Self(ClientAddressPolicy::TrustedProxies(networks)))
    }
}

/// `--cors-origin`: exact origins (`scheme://host[:port]`), never `*`.
///
/// ```
/// use auth_demo::web::CorsOrigins;
/// let origins: CorsOrigins = "http://localhost:3000, https://app.example.com".parse().unwrap();
/// assert_eq!(origins.as_slice(), ["http://localhost:3000", "https://app.example.com"]);
/// assert!("*".parse::<CorsOrigins>().unwrap_err().contains("credentials"));
/// assert!("https://app.example.com/".parse::<CorsOrigins>().is_err());
/// assert!("app.example.com".parse::<CorsOrigins>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsOrigins(Vec<String>);

impl CorsOrigins {
    /// The origins, as given.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for CorsOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// Whether `origin` is `http(s)://host[:port]`, as a browser sends it.
fn is_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.strip_prefix('[') {
        // An IPv6 literal: `[addr]` then maybe `:port`.
        Some(v6) => match v6.split_once(']') {
            Some((addr, after)) if addr.parse::<std::net::Ipv6Addr>().is_ok() => {
                match after.strip_prefix(':') {
                    Some(port) => ("v6", Some(port)),
                    None if after.is_empty() => ("v6", None),
                    None => return false,
                }
            }
            _ => return false,
        },
        None => match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let port_ok =
        port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok());
    host_ok && port_ok
}

impl FromStr for CorsOrigins {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut origins = Vec::new();
        for origin in s.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if origin == "*" {
                return Err(
                    "\"*\" cannot be used: credentials (cookies, Authorization) are \
                            allowed, so list the exact origins"
                        .into(),
                );
            }
            if !is_origin(origin) {
                return Err(format!(
                    "{origin:?} is not an origin: scheme://host[:port], e.g. \
                     https://app.example.com (no path, no trailing slash)"
                ));
            }
            origins.push(origin.to_string());
        }
        if origins.is_empty() {
            return Err("give at least one origin, e.g. http://localhost:3000".into());
        }
        Ok(Self(origins))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_with_ports_and_ipv6() {
        for ok in [
            "http://localhost:3000",
            "https://[::1]:8443",
            "https://a.b-c.example",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "http://",
            "http://host:",
            "http://host:99999",
            "ftp://host",
            "http://h/x",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn samesite_none_needs_secure() {
        let settings = WebSettings {
            cookie_transport: true,
            cookie_insecure: true,
            cookie_samesite: CookieSameSite::None,
            ..WebSettings::default()
        };
        let err = settings.api_options().unwrap_err().to_string();
        assert!(err.contains("--cookie-samesite none"), "{err}");
        let secure = WebSettings {
            cookie_insecure: false,
            ..settings
        };
        let options = secure.api_options().unwrap();
        assert_eq!(
            options.cookie_transport.map(|c| (c.secure, c.same_site)),
            Some((true, SameSite::None))
        );
    }
}
