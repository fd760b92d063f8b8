//! Parsing what a person types as an address (`host:port`, `[v6]:port`, or a bare port
//! meaning this machine's loopback) into an [`Endpoint`], with errors worded for the field
//! they typed it in.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A host (name or IP literal) and a port, as typed; resolved later, off the caller's thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// The socket address when the host is an IP literal, so no resolver is needed.
    pub fn literal(&self) -> Option<SocketAddr> {
        self.host
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, self.port))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a typed address was rejected; `Display` is the message shown next to the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressError {
    Empty,
    MissingPort,
    InvalidPort(String),
    UnbracketedIpv6,
    UnclosedBracket,
    MissingHost,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Empty => write!(f, "enter an address such as 127.0.0.1:9999"),
            AddressError::MissingPort => {
                write!(f, "missing port: write host:port, such as 127.0.0.1:9999")
            }
            AddressError::InvalidPort(port) => {
                write!(
                    f,
                    "not a valid port: \"{port}\" (use a number from 0 to 65535)"
                )
            }
            AddressError::UnbracketedIpv6 => {
                write!(f, "put an IPv6 address in brackets, such as [::1]:9999")
            }
            AddressError::UnclosedBracket => write!(f, "missing \"]\" after the IPv6 address"),
            AddressError::MissingHost => write!(f, "missing host before the port"),
        }
    }
}

impl std::error::Error for AddressError {}

/// The host a bare port means, for listening and connecting alike.
pub const BARE_PORT_HOST: &str = "127.0.0.1";

/// Parses `host:port` or `[v6addr]:port`; surrounding whitespace is ignored. A bare port
/// (`8080` or `:8080`) means `127.0.0.1:8080`, as `nc -l 8080` users expect; listening on
/// every interface stays an explicit `0.0.0.0:8080` or `[::]:8080`.
pub fn parse_endpoint(text: &str) -> Result<Endpoint, AddressError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AddressError::Empty);
    }
    let digits = text.strip_prefix(':').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let port = digits
            .parse::<u16>()
            .map_err(|_| AddressError::InvalidPort(digits.to_string()))?;
        return Ok(Endpoint {
            host: BARE_PORT_HOST.to_string(),
            port,
        });
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(AddressError::UnclosedBracket)?;
        let port = after.strip_prefix(':').ok_or(AddressError::MissingPort)?;
        (host, port)
    } else {
        let (host, port) = text.rsplit_once(':').ok_or(AddressError::MissingPort)?;
        if host.contains(':') {
            return Err(AddressError::UnbracketedIpv6);
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(AddressError::MissingHost);
    }
    if port.is_empty() {
        return Err(AddressError::MissingPort);
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| AddressError::InvalidPort(port.to_string()))?;
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

/// The address a socket binds to: an IP literal (or `localhost`) and a port; a bare port
/// means this machine's loopback, as in [`parse_endpoint`]. A name is refused in words: a
/// socket binds to an address of this machine, and binding must not wait on a resolver.
pub fn parse_bind_address(typed: &str) -> Result<SocketAddr, String> {
    let endpoint = parse_endpoint(typed).map_err(|e| e.to_string())?;
    if endpoint.host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            endpoint.port,
        ));
    }
    endpoint.literal().ok_or_else(|| {
        let port = endpoint.port;
        format!(
            "bind to an address of this machine, such as 0.0.0.0:{port}, [::]:{port} or \
             127.0.0.1:{port} (\"{}\" is not an IP address)",
            endpoint.host
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses_are_literal_localhost_or_a_bare_port() {
        assert_eq!(
            parse_bind_address("9000"),
            Ok("127.0.0.1:9000".parse().unwrap())
        );
        assert_eq!(
            parse_bind_address("[::]:0"),
            Ok("[::]:0".parse::<SocketAddr>().unwrap())
        );
        assert_eq!(
            parse_bind_address("localhost:7"),
            Ok("127.0.0.1:7".parse().unwrap())
        );
        let error = parse_bind_address("example.org:7").unwrap_err();
        assert!(error.contains("not an IP address"), "{error}");
        assert!(parse_bind_address("1.2.3.4:99999").is_err());
    }

    #[test]
    fn parses_ipv4_names_and_bracketed_ipv6() {
        assert_eq!(
            parse_endpoint(" 127.0.0.1:9999 ").unwrap(),
            Endpoint {
                host: "127.0.0.1".into(),
                port: 9999
            }
        );
        assert_eq!(parse_endpoint("localhost:0").unwrap().port, 0);
        let v6 = parse_endpoint("[::1]:80").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.literal(), Some("[::1]:80".parse().unwrap()));
        assert_eq!(v6.to_string(), "[::1]:80");
        assert_eq!(parse_endpoint("example.test:1").unwrap().literal(), None);
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        assert_eq!(parse_endpoint(""), Err(AddressError::Empty));
        assert_eq!(parse_endpoint("127.0.0.1"), Err(AddressError::MissingPort));
        assert_eq!(parse_endpoint("127.0.0.1:"), Err(AddressError::MissingPort));
        assert_eq!(
            parse_endpoint("127.0.0.1:99999"),
            Err(AddressError::InvalidPort("99999".into()))
        );
        assert_eq!(
            parse_endpoint("host:http"),
            Err(AddressError::InvalidPort("http".into()))
        );
        assert_eq!(parse_endpoint("::1:80"), Err(AddressError::UnbracketedIpv6));
        assert_eq!(
            parse_endpoint("[::1:80"),
            Err(AddressError::UnclosedBracket)
        );
        assert_eq!(parse_endpoint(":http"), Err(AddressError::MissingHost));
        assert_eq!(parse_endpoint(":"), Err(AddressError::MissingHost));
        assert_eq!(
            parse_endpoint("70000"),
            Err(AddressError::InvalidPort("70000".into()))
        );
        assert_eq!(
            parse_endpoint(":-1"),
            Err(AddressError::MissingHost),
            "a sign is not part of a bare port"
        );
        assert!(
            AddressError::InvalidPort("x".into())
                .to_string()
                .starts_with("not a valid port")
        );
    }

    #[test]
    fn a_bare_port_is_a_loopback_port_and_wildcards_stay_explicit() {
        let loopback = |port| Endpoint {
            host: "127.0.0.1".into(),
            port,
        };
        assert_eq!(parse_endpoint("8080"), Ok(loopback(8080)));
        assert_eq!(parse_endpoint(" :8080 "), Ok(loopback(8080)));
        assert_eq!(parse_endpoint("0"), Ok(loopback(0)));
        assert_eq!(
            parse_endpoint("8080").unwrap().literal(),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse_endpoint("0.0.0.0:8080").unwrap().literal(),
            Some("0.0.0.0:8080".parse().unwrap())
        );
        assert_eq!(
            parse_endpoint("[::]:8080").unwrap().literal(),
            Some("[::]:8080".parse().unwrap())
        );
        assert_eq!(parse_endpoint("localhost:8080").unwrap().host, "localhost");
    }
}
