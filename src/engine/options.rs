//! TCP socket options: what the user asks for ([`SocketOptions`], applied when a socket is
//! made) and what the kernel says is in effect ([`OptionsInEffect`], read back from the
//! socket and shown, since the kernel may change a value: Linux doubles buffer sizes).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use socket2::{SockRef, Socket, TcpKeepalive};

use super::wording::{describe_io_error, group_thousands};

/// The options a TCP session asks for. The defaults are what socklab always did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SocketOptions {
    /// TCP_NODELAY: send what was clicked now, not after Nagle's delay (default on).
    pub no_delay: bool,
    /// SO_KEEPALIVE with its timings; `None`: off.
    pub keepalive: Option<Keepalive>,
    /// SO_RCVBUF asked for, in bytes; `None`: the system's default.
    pub recv_buffer: Option<usize>,
    /// SO_SNDBUF asked for, in bytes; `None`: the system's default.
    pub send_buffer: Option<usize>,
    /// SO_REUSEADDR (default on: a stopped server starts again at once).
    pub reuse_address: bool,
    /// SO_REUSEPORT (Unix): several listeners on one port share its clients.
    pub reuse_port: bool,
    /// IPV6_V6ONLY for an IPv6 socket; `Some(false)` makes `[::]` one dual-stack
    /// listener. `None`: the system's default.
    pub only_v6: Option<bool>,
    /// IP_TTL (IPv4) or the unicast hop limit (IPv6); `None`: the system's default.
    pub ttl: Option<u32>,
    /// A client's local address and port (port 0: any free port); `None`: the system's
    /// choice.
    pub local_bind: Option<SocketAddr>,
    /// How the user's close (Disconnect, kick, Stop) ends a connection: RST via SO_LINGER 0
    /// instead of a graceful FIN.
    pub reset_on_close: bool,
    /// Close a connection as soon as its peer finishes sending (its FIN), as a plain
    /// socket program that reads to the end would; off: keep it half-open so we can still
    /// send (the default, like nc and socat).
    pub close_when_peer_finishes: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            no_delay: true,
            keepalive: None,
            recv_buffer: None,
            send_buffer: None,
            reuse_address: true,
            reuse_port: false,
            only_v6: None,
            ttl: None,
            local_bind: None,
            reset_on_close: false,
            close_when_peer_finishes: false,
        }
    }
}

/// SO_KEEPALIVE's timings; a `None` keeps the system's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Keepalive {
    /// TCP_KEEPIDLE: quiet time before the first probe.
    pub idle: Option<Duration>,
    /// TCP_KEEPINTVL: time between probes.
    pub interval: Option<Duration>,
    /// TCP_KEEPCNT: unanswered probes before the connection is dropped.
    pub count: Option<u32>,
}

/// The options as read back from a socket. A `None` could not be read on this system.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionsInEffect {
    pub no_delay: Option<bool>,
    pub keepalive: Option<bool>,
    pub keepalive_idle: Option<Duration>,
    pub keepalive_interval: Option<Duration>,
    pub keepalive_count: Option<u32>,
    pub recv_buffer: Option<usize>,
    pub send_buffer: Option<usize>,
    pub reuse_address: Option<bool>,
    pub reuse_port: Option<bool>,
    /// IPv6 sockets only.
    pub only_v6: Option<bool>,
    /// IP_TTL, or the unicast hop limit on IPv6.
    pub ttl: Option<u32>,
    /// SO_LINGER: `Some(Some(0))` means a close sends RST.
    pub linger: Option<Option<Duration>>,
    /// The socket is IPv6 (its TTL is then the unicast hop limit); `None`: not known.
    pub ipv6: Option<bool>,
}

/// The largest SO_RCVBUF/SO_SNDBUF the kernel is asked for (its setsockopt takes an int).
pub const MAX_BUFFER: usize = i32::MAX as usize;
/// Linux's limits for the keepalive timings (TCP_KEEPIDLE, TCP_KEEPINTVL) and count.
pub const MAX_KEEPALIVE_SECONDS: u64 = 32_767;
pub const MAX_KEEPALIVE_COUNT: u32 = 127;

/// Checks of what a person types for an option, shared by the window's fields and the
/// command line's flags: the value, or what is wrong in words.
pub mod typed {
    use std::net::{IpAddr, SocketAddr};
    use std::time::Duration;

    use super::{MAX_BUFFER, MAX_KEEPALIVE_COUNT, MAX_KEEPALIVE_SECONDS};

    fn whole(text: &str, what: &str, min: u64, max: u64) -> Result<u64, String> {
        let text = text.trim();
        let wrong = || format!("{what} must be a whole number from {min} to {max}");
        let value: u64 = text.parse().map_err(|_| wrong())?;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(wrong())
        }
    }

    /// A buffer size in bytes (SO_RCVBUF, SO_SNDBUF).
    pub fn buffer_size(text: &str) -> Result<usize, String> {
        whole(text, "a buffer size in bytes", 1, MAX_BUFFER as u64).map(|n| n as usize)
    }

    /// IP_TTL or the IPv6 hop limit.
    pub fn ttl(text: &str) -> Result<u32, String> {
        whole(text, "the TTL", 1, 255).map(|n| n as u32)
    }

    /// A keepalive time in whole seconds (TCP_KEEPIDLE, TCP_KEEPINTVL).
    pub fn keepalive_seconds(text: &str, what: &str) -> Result<Duration, String> {
        whole(
            text,
            &format!("{what} in seconds"),
            1,
            MAX_KEEPALIVE_SECONDS,
        )
        .map(Duration::from_secs)
    }

    /// TCP_KEEPCNT.
    pub fn keepalive_count(text: &str) -> Result<u32, String> {
        whole(
            text,
            "the keepalive probe count",
            1,
            MAX_KEEPALIVE_COUNT as u64,
        )
        .map(|n| n as u32)
    }

    /// A client's local address: `ip:port` (port 0: any free one), or a bare IP (port 0).
    pub fn local_bind(text: &str) -> Result<SocketAddr, String> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(addr);
        }
        if let Ok(ip) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, 0));
        }
        Err(format!(
            "\"{text}\" is not a local address: type an IP address and port, like \
             127.0.0.1:5000 (port 0: any free port)"
        ))
    }
}

/// One option's value, shown in words (the window) or tersely (the command line).
enum Value {
    OnOff(bool),
    Bytes(usize),
    Seconds(Duration),
    Count(u32),
    Linger(Option<Duration>),
}

impl Value {
    fn words(&self) -> String {
        match self {
            Value::OnOff(on) => on_off(*on),
            Value::Bytes(size) => format!("{} bytes", group_thousands(*size as u64)),
            Value::Seconds(time) => format!("{} s", time.as_secs()),
            Value::Count(count) => count.to_string(),
            Value::Linger(None) => "off (a close sends FIN)".into(),
            Value::Linger(Some(time)) if time.is_zero() => "0 s (a close sends RST)".into(),
            Value::Linger(Some(time)) => format!("{} s", time.as_secs()),
        }
    }

    fn terse(&self) -> String {
        match self {
            Value::OnOff(on) => on_off(*on),
            Value::Bytes(size) => size.to_string(),
            Value::Seconds(time) => format!("{}s", time.as_secs()),
            Value::Count(count) => count.to_string(),
            Value::Linger(None) => "off".into(),
            Value::Linger(Some(time)) => format!("{}s", time.as_secs()),
        }
    }
}

impl OptionsInEffect {
    /// Each option as a name and its value in words, in a fixed order, for the window's
    /// display (options that could not be read are left out). Keepalive's timings are
    /// listed only while it is on.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        self.values()
            .into_iter()
            .map(|(name, value)| (name, value.words()))
            .collect()
    }

    /// The same as [`describe`](Self::describe), each value without spaces
    /// (`SO_RCVBUF=425984`), for one line of the command line's output.
    pub fn terse(&self) -> Vec<(&'static str, String)> {
        self.values()
            .into_iter()
            .map(|(name, value)| (name, value.terse()))
            .collect()
    }

    /// The name of the TTL option for this socket's family.
    pub fn ttl_name(&self) -> &'static str {
        if self.ipv6 == Some(true) {
            "IPV6_UNICAST_HOPS"
        } else {
            "IP_TTL"
        }
    }

    fn values(&self) -> Vec<(&'static str, Value)> {
        let mut values = Vec::new();
        let mut push = |name, value: Option<Value>| {
            if let Some(value) = value {
                values.push((name, value));
            }
        };
        push("TCP_NODELAY", self.no_delay.map(Value::OnOff));
        push("SO_KEEPALIVE", self.keepalive.map(Value::OnOff));
        if self.keepalive == Some(true) {
            push("TCP_KEEPIDLE", self.keepalive_idle.map(Value::Seconds));
            push("TCP_KEEPINTVL", self.keepalive_interval.map(Value::Seconds));
            push("TCP_KEEPCNT", self.keepalive_count.map(Value::Count));
        }
        push("SO_RCVBUF", self.recv_buffer.map(Value::Bytes));
        push("SO_SNDBUF", self.send_buffer.map(Value::Bytes));
        push("SO_REUSEADDR", self.reuse_address.map(Value::OnOff));
        push("SO_REUSEPORT", self.reuse_port.map(Value::OnOff));
        push("IPV6_V6ONLY", self.only_v6.map(Value::OnOff));
        push(self.ttl_name(), self.ttl.map(Value::Count));
        push("SO_LINGER", self.linger.map(Value::Linger));
        values
    }
}

/// An error that names the option and the value asked for.
fn cannot_set(option: &str, value: impl std::fmt::Display, error: &io::Error) -> io::Error {
    io::Error::other(format!(
        "cannot set {option} to {value}: {}",
        describe_io_error(error)
    ))
}

// Used only where some option does not exist.
#[allow(dead_code)]
fn not_here(option: &str) -> io::Error {
    io::Error::other(format!("{option} is not available on this system"))
}

fn set<T: Copy + std::fmt::Display>(
    option: &str,
    value: T,
    shown: impl std::fmt::Display,
    setter: impl FnOnce(T) -> io::Result<()>,
) -> io::Result<()> {
    setter(value).map_err(|e| cannot_set(option, shown, &e))
}

/// Sets what must be set before `bind`/`listen`/`connect` on a new socket for `addr`:
/// everything but the client's local address, so a listener's accepted sockets inherit it
/// and the listener reads back what its clients get. An error names the option.
pub(crate) fn apply_before_bind(
    socket: &Socket,
    addr: SocketAddr,
    options: &SocketOptions,
) -> io::Result<()> {
    let on = options.reuse_address;
    set("SO_REUSEADDR", on, on_off(on), |on| {
        socket.set_reuse_address(on)
    })?;
    if options.reuse_port {
        set_reuse_port(socket)?;
    }
    if let Some(only) = options.only_v6 {
        if !addr.is_ipv6() {
            return Err(io::Error::other(format!(
                "IPV6_V6ONLY is for IPv6 sockets only, and {addr} is IPv4"
            )));
        }
        set("IPV6_V6ONLY", only, on_off(only), |only| {
            socket.set_only_v6(only)
        })?;
    }
    set_common(socket, addr.is_ipv6(), options)
}

/// Sets what applies to a connected stream (accepted or made): no-delay, keepalive,
/// buffers, TTL. An error names the option.
pub(crate) fn apply_to_stream(socket: SockRef<'_>, options: &SocketOptions) -> io::Result<()> {
    let ipv6 = socket.local_addr().ok().is_some_and(|addr| addr.is_ipv6());
    set_common(&socket, ipv6, options)
}

fn set_common(socket: &Socket, ipv6: bool, options: &SocketOptions) -> io::Result<()> {
    let on = options.no_delay;
    set("TCP_NODELAY", on, on_off(on), |on| {
        socket.set_tcp_nodelay(on)
    })?;
    if let Some(keepalive) = &options.keepalive {
        set_keepalive(socket, keepalive)?;
    }
    if let Some(size) = options.recv_buffer {
        set("SO_RCVBUF", size, bytes(size), |size| {
            socket.set_recv_buffer_size(size)
        })?;
    }
    if let Some(size) = options.send_buffer {
        set("SO_SNDBUF", size, bytes(size), |size| {
            socket.set_send_buffer_size(size)
        })?;
    }
    if let Some(ttl) = options.ttl {
        if ipv6 {
            set("IPV6_UNICAST_HOPS", ttl, ttl, |ttl| {
                socket.set_unicast_hops_v6(ttl)
            })?;
        } else {
            set("IP_TTL", ttl, ttl, |ttl| socket.set_ttl_v4(ttl))?;
        }
    }
    Ok(())
}

fn set_keepalive(socket: &Socket, keepalive: &Keepalive) -> io::Result<()> {
    set("SO_KEEPALIVE", true, "on", |on| socket.set_keepalive(on))?;
    let mut asked: Vec<(&str, String, TcpKeepalive)> = Vec::new();
    if let Some(idle) = keepalive.idle {
        let params = TcpKeepalive::new().with_time(idle);
        asked.push(("TCP_KEEPIDLE", seconds(idle), params));
    }
    if let Some(interval) = keepalive.interval {
        let params = with_interval(TcpKeepalive::new(), interval)?;
        asked.push(("TCP_KEEPINTVL", seconds(interval), params));
    }
    if let Some(count) = keepalive.count {
        let params = with_retries(TcpKeepalive::new(), count)?;
        asked.push(("TCP_KEEPCNT", count.to_string(), params));
    }
    if cfg!(windows) && !asked.is_empty() {
        // Windows sets the timings together (one ioctl): one call, every value named.
        let mut params = TcpKeepalive::new();
        if let Some(idle) = keepalive.idle {
            params = params.with_time(idle);
        }
        if let Some(interval) = keepalive.interval {
            params = with_interval(params, interval)?;
        }
        if let Some(count) = keepalive.count {
            params = with_retries(params, count)?;
        }
        let names: Vec<&str> = asked.iter().map(|(name, ..)| *name).collect();
        let values: Vec<&str> = asked.iter().map(|(_, value, _)| value.as_str()).collect();
        return socket
            .set_tcp_keepalive(&params)
            .map_err(|e| cannot_set(&names.join("/"), values.join(", "), &e));
    }
    // One option at a time, so an error names the one refused.
    for (name, value, params) in asked {
        socket
            .set_tcp_keepalive(&params)
            .map_err(|e| cannot_set(name, value, &e))?;
    }
    Ok(())
}

/// The keepalive interval and probe count, where socket2 offers them (the same systems).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    windows
))]
mod keepalive_timings {
    use std::io;
    use std::time::Duration;

    use socket2::TcpKeepalive;

    pub(super) fn with_interval(
        params: TcpKeepalive,
        interval: Duration,
    ) -> io::Result<TcpKeepalive> {
        Ok(params.with_interval(interval))
    }

    pub(super) fn with_retries(params: TcpKeepalive, count: u32) -> io::Result<TcpKeepalive> {
        Ok(params.with_retries(count))
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    windows
)))]
mod keepalive_timings {
    use std::io;
    use std::time::Duration;

    use socket2::TcpKeepalive;

    use super::not_here;

    pub(super) fn with_interval(_: TcpKeepalive, _: Duration) -> io::Result<TcpKeepalive> {
        Err(not_here("TCP_KEEPINTVL"))
    }

    pub(super) fn with_retries(_: TcpKeepalive, _: u32) -> io::Result<TcpKeepalive> {
        Err(not_here("TCP_KEEPCNT"))
    }
}

use keepalive_timings::{with_interval, with_retries};

/// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT as the kernel has them.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd"
))]
fn keepalive_timings(socket: &Socket) -> (Option<Duration>, Option<Duration>, Option<u32>) {
    (
        socket.tcp_keepalive_time().ok(),
        socket.tcp_keepalive_interval().ok(),
        socket.tcp_keepalive_retries().ok(),
    )
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd"
)))]
fn keepalive_timings(_: &Socket) -> (Option<Duration>, Option<Duration>, Option<u32>) {
    (None, None, None)
}

#[cfg(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
))]
fn set_reuse_port(socket: &Socket) -> io::Result<()> {
    set("SO_REUSEPORT", true, "on", |on| socket.set_reuse_port(on))
}

#[cfg(not(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
)))]
fn set_reuse_port(_: &Socket) -> io::Result<()> {
    Err(not_here("SO_REUSEPORT"))
}

#[cfg(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
))]
fn reuse_port(socket: &Socket) -> Option<bool> {
    socket.reuse_port().ok()
}

#[cfg(not(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
)))]
fn reuse_port(_: &Socket) -> Option<bool> {
    None
}

/// Reads every option back from the socket.
pub(crate) fn read_back(socket: SockRef<'_>) -> OptionsInEffect {
    let ipv6 = socket.local_addr().ok().map(|addr| addr.is_ipv6());
    let mut effect = OptionsInEffect {
        no_delay: socket.tcp_nodelay().ok(),
        keepalive: socket.keepalive().ok(),
        recv_buffer: socket.recv_buffer_size().ok(),
        send_buffer: socket.send_buffer_size().ok(),
        reuse_address: socket.reuse_address().ok(),
        linger: socket.linger().ok(),
        ipv6,
        ..OptionsInEffect::default()
    };
    (
        effect.keepalive_idle,
        effect.keepalive_interval,
        effect.keepalive_count,
    ) = keepalive_timings(&socket);
    effect.reuse_port = reuse_port(&socket);
    match ipv6 {
        Some(true) => {
            effect.only_v6 = socket.only_v6().ok();
            effect.ttl = socket.unicast_hops_v6().ok();
        }
        Some(false) => effect.ttl = socket.ttl_v4().ok(),
        None => {}
    }
    effect
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_string()
}

fn seconds(time: Duration) -> String {
    format!("{} s", time.as_secs())
}

fn bytes(size: usize) -> String {
    format!("{} bytes", group_thousands(size as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_lists_options_in_a_fixed_order_in_words_and_tersely() {
        let effect = OptionsInEffect {
            no_delay: Some(true),
            keepalive: Some(true),
            keepalive_idle: Some(Duration::from_secs(60)),
            keepalive_interval: Some(Duration::from_secs(10)),
            keepalive_count: Some(5),
            recv_buffer: Some(425_984),
            send_buffer: Some(2_626_560),
            reuse_address: Some(true),
            reuse_port: Some(false),
            only_v6: Some(false),
            ttl: Some(64),
            linger: Some(None),
            ipv6: Some(true),
        };
        assert_eq!(
            effect.describe(),
            [
                ("TCP_NODELAY", "on".to_string()),
                ("SO_KEEPALIVE", "on".into()),
                ("TCP_KEEPIDLE", "60 s".into()),
                ("TCP_KEEPINTVL", "10 s".into()),
                ("TCP_KEEPCNT", "5".into()),
                ("SO_RCVBUF", "425,984 bytes".into()),
                ("SO_SNDBUF", "2,626,560 bytes".into()),
                ("SO_REUSEADDR", "on".into()),
                ("SO_REUSEPORT", "off".into()),
                ("IPV6_V6ONLY", "off".into()),
                ("IPV6_UNICAST_HOPS", "64".into()),
                ("SO_LINGER", "off (a close sends FIN)".into()),
            ]
        );
        let terse: Vec<String> = effect
            .terse()
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        assert_eq!(
            terse.join(" "),
            "TCP_NODELAY=on SO_KEEPALIVE=on TCP_KEEPIDLE=60s TCP_KEEPINTVL=10s TCP_KEEPCNT=5 \
             SO_RCVBUF=425984 SO_SNDBUF=2626560 SO_REUSEADDR=on SO_REUSEPORT=off \
             IPV6_V6ONLY=off IPV6_UNICAST_HOPS=64 SO_LINGER=off"
        );
    }

    #[test]
    fn keepalive_timings_are_left_out_while_it_is_off_and_unread_options_are_skipped() {
        let effect = OptionsInEffect {
            keepalive: Some(false),
            keepalive_idle: Some(Duration::from_secs(7200)),
            ttl: Some(64),
            ipv6: Some(false),
            linger: Some(Some(Duration::ZERO)),
            ..OptionsInEffect::default()
        };
        assert_eq!(
            effect.describe(),
            [
                ("SO_KEEPALIVE", "off".to_string()),
                ("IP_TTL", "64".into()),
                ("SO_LINGER", "0 s (a close sends RST)".into()),
            ]
        );
    }

    #[test]
    fn typed_values_are_checked_with_their_limits_in_words() {
        assert_eq!(typed::buffer_size(" 65536 "), Ok(65_536));
        assert_eq!(
            typed::buffer_size("64k"),
            Err("a buffer size in bytes must be a whole number from 1 to 2147483647".into())
        );
        assert_eq!(typed::ttl("64"), Ok(64));
        assert!(typed::ttl("256").is_err());
        assert!(typed::ttl("0").is_err());
        assert_eq!(
            typed::keepalive_seconds("60", "the idle time"),
            Ok(Duration::from_secs(60))
        );
        assert_eq!(
            typed::keepalive_seconds("0", "the idle time"),
            Err("the idle time in seconds must be a whole number from 1 to 32767".into())
        );
        assert_eq!(typed::keepalive_count("5"), Ok(5));
        assert!(typed::keepalive_count("128").is_err());
        assert_eq!(
            typed::local_bind("127.0.0.1:5000"),
            Ok("127.0.0.1:5000".parse().unwrap())
        );
        assert_eq!(typed::local_bind("::1"), Ok("[::1]:0".parse().unwrap()));
        assert!(typed::local_bind("localhost:80").is_err());
    }

    #[test]
    fn v6only_on_an_ipv4_socket_is_refused_in_words() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let socket = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let options = SocketOptions {
            only_v6: Some(false),
            ..SocketOptions::default()
        };
        let error = apply_before_bind(&socket, addr, &options).unwrap_err();
        assert_eq!(
            error.to_string(),
            "IPV6_V6ONLY is for IPv6 sockets only, and 127.0.0.1:0 is IPv4"
        );
    }

    #[test]
    fn a_refused_value_names_the_option_and_the_value() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let socket = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let options = SocketOptions {
            ttl: Some(0),
            ..SocketOptions::default()
        };
        let error = apply_before_bind(&socket, addr, &options).unwrap_err();
        assert!(
            error.to_string().starts_with("cannot set IP_TTL to 0: "),
            "{error}"
        );
    }
}
