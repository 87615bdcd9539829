//! [`IpNetwork`]: an address block (`10.0.0.0/8`, `2001:db8::/32`, or one
//! address), for trusting proxies by where they are.

use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network in CIDR notation, or a single address (a `/32`
/// or `/128`). IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are read as
/// the IPv4 address they carry, on both sides of
/// [`contains`](Self::contains).
///
/// ```
/// use auth_http::IpNetwork;
/// let private: IpNetwork = "10.0.0.0/8".parse()?;
/// assert!(private.contains("10.1.2.3".parse().unwrap()));
/// assert!(private.contains("::ffff:10.1.2.3".parse().unwrap()));
/// assert!(!private.contains("11.0.0.1".parse().unwrap()));
/// let one: IpNetwork = "2001:db8::1".parse()?;
/// assert_eq!(one.to_string(), "2001:db8::1/128");
/// assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
/// # Ok::<(), auth_http::IpNetworkError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    /// The network's address, with the host bits cleared.
    addr: IpAddr,
    prefix: u8,
}

/// A network [`IpNetwork::from_str`] refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNetworkError {
    input: String,
    reason: &'static str,
}

impl std::fmt::Display for IpNetworkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not an IP address or network (e.g. 10.0.0.0/8, 2001:db8::/32): {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for IpNetworkError {}

/// The address as 128 bits and its width (32 or 128).
fn bits(addr: IpAddr) -> (u128, u8) {
    match addr.to_canonical() {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// The mask of the first `prefix` bits of a `width`-bit address.
fn mask(prefix: u8, width: u8) -> u128 {
    let all = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    // The bits past the prefix: none for a whole-width prefix (a shift by
    // 128 would overflow).
    let host = all.checked_shr(u32::from(prefix)).unwrap_or(0);
    all & !host
}

impl IpNetwork {
    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, width) = bits(self.addr);
        let (ip, ip_width) = bits(ip);
        width == ip_width && ip & mask(self.prefix, width) == net
    }
}

impl FromStr for IpNetwork {
    type Err = IpNetworkError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason| IpNetworkError {
            input: input.to_string(),
            reason,
        };
        let (addr, prefix) = match input.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (input.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| error("not an IP address"))?;
        let (value, width) = bits(addr);
        let prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| error("the prefix length is too long for the address"))?,
            Some(_) => return Err(error("the prefix length is not a number")),
        };
        let network = value & mask(prefix, width);
        if network != value {
            return Err(error("host bits are set after the prefix length"));
        }
        let addr = match addr.to_canonical() {
            IpAddr::V4(_) => IpAddr::V4((network as u32).into()),
            IpAddr::V6(_) => IpAddr::V6(network.into()),
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_matches_v4_and_v6() {
        let net: IpNetwork = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains(ip("192.168.255.1")));
        assert!(!net.contains(ip("192.169.0.1")));
        assert!(!net.contains(ip("::1")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("2001:db8::1")));
        let v6: IpNetwork = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let host: IpNetwork = " 127.0.0.1 ".parse().unwrap();
        assert_eq!(host.to_string(), "127.0.0.1/32");
        assert!(host.contains(ip("::ffff:127.0.0.1")));
        let mapped: IpNetwork = "::ffff:10.0.0.0/8".parse().unwrap();
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        let one: IpNetwork = "2001:db8::1".parse().unwrap();
        assert!(one.contains(ip("2001:db8::1")));
        assert!(!one.contains(ip("2001:db8::2")));
        let v6_all: IpNetwork = "::/0".parse().unwrap();
        assert!(v6_all.contains(ip("::1")));
    }

    #[test]
    fn refuses_what_is_not_a_network() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "::/129",
            "10.0.0.0/+8",
            "host",
            "10.0.0.0/8/8",
            "10.0.0.0/-1",
            "1.2.3.4:80",
        ] {
            let err = bad.parse::<IpNetwork>().unwrap_err();
            assert!(
                err.to_string().contains("is not an IP address or network"),
                "{bad}"
            );
        }
    }
}
