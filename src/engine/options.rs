//! TCP socket options: what the user asks for ([`SocketOptions`], applied when a socket is
//! made) and what the kernel says is in effect ([`OptionsInEffect`], read back from the
//! socket and shown, since the kernel may change a value: Linux doubles buffer sizes).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use socket2::{SockRef, Socket};

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
}

impl OptionsInEffect {
    /// Each option as a name and its value in words, in a fixed order, for the window's
    /// and the CLI's display (options that could not be read are left out).
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        if let Some(on) = self.no_delay {
            lines.push(("TCP_NODELAY", on_off(on)));
        }
        if let Some(size) = self.recv_buffer {
            lines.push(("SO_RCVBUF", format!("{size} bytes")));
        }
        if let Some(size) = self.send_buffer {
            lines.push(("SO_SNDBUF", format!("{size} bytes")));
        }
        lines
    }
}

/// Sets what must be set before `bind`/`listen`/`connect` on a new socket for `addr`.
pub(crate) fn apply_before_bind(
    socket: &Socket,
    addr: SocketAddr,
    options: &SocketOptions,
) -> io::Result<()> {
    let _ = addr;
    socket.set_reuse_address(options.reuse_address)
}

/// Sets what applies to a connected stream (accepted or made): no-delay, keepalive, TTL,
/// linger. An error names the option.
pub(crate) fn apply_to_stream(socket: SockRef<'_>, options: &SocketOptions) -> io::Result<()> {
    socket.set_tcp_nodelay(options.no_delay)
}

/// Reads every option back from the socket.
pub(crate) fn read_back(socket: SockRef<'_>) -> OptionsInEffect {
    OptionsInEffect {
        no_delay: socket.tcp_nodelay().ok(),
        recv_buffer: socket.recv_buffer_size().ok(),
        send_buffer: socket.send_buffer_size().ok(),
        ..OptionsInEffect::default()
    }
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_string()
}
