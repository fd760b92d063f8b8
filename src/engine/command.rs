//! What the owner of an [`Engine`](super::Engine) asks of it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::framing::FramingSpec;
use super::ids::{ConnId, SessionId, TransferId};
use super::options::SocketOptions;
use super::responder::Responder;
use super::tls::{TlsClientSetup, TlsServerSetup};
use crate::payload::Template;

/// Which connections (or, for UDP, which peers) of a session a send goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every connection of the session (a client session has at most one). UDP: every
    /// known peer, or the connected peer of a UDP client.
    All,
    /// One connection, or one UDP peer by the id it got in `PeerSeen`.
    One(ConnId),
    /// UDP only: this address, known as a peer or not.
    Addr(SocketAddr),
    /// UDP only: whoever sent the last datagram.
    LastSender,
}

/// How to close a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseHow {
    /// Send what is queued, then FIN.
    Graceful,
    /// Drop what is queued and send RST (SO_LINGER 0).
    Abort,
}

/// Options of a server session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Relay every line to every client, stamped with time and sender.
    pub chat: bool,
    /// The listener's and its connections' socket options.
    pub socket: SocketOptions,
    /// Serve TLS: every accepted connection handshakes first.
    pub tls: Option<TlsServerSetup>,
}

/// Options of a client session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    pub socket: SocketOptions,
    /// Speak TLS once connected.
    pub tls: Option<TlsClientSetup>,
}

/// Options of a UDP session, all changeable while it runs ([`Command::SetUdpOptions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpOptions {
    /// SO_BROADCAST: may send to broadcast addresses.
    pub broadcast: bool,
    /// Multicast TTL (IPv4) or hop limit (IPv6); `None` keeps the system's default (1).
    pub multicast_ttl: Option<u32>,
    /// Whether this machine's own members receive what it sends to a group.
    pub multicast_loop: bool,
    /// Interface multicast goes out of (a name, an address, or empty for the system's
    /// choice).
    pub multicast_interface: String,
}

impl Default for UdpOptions {
    fn default() -> Self {
        UdpOptions {
            broadcast: false,
            multicast_ttl: None,
            multicast_loop: true,
            multicast_interface: String::new(),
        }
    }
}

/// A multicast group membership of a UDP session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Membership {
    pub group: IpAddr,
    /// The interface that joins: a name (`eth0`), one of its addresses, or empty for the
    /// system's choice.
    pub interface: String,
    /// Source-specific: only datagrams from this sender (IPv4).
    pub source: Option<IpAddr>,
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.group)?;
        if let Some(source) = self.source {
            write!(f, " from {source}")?;
        }
        if !self.interface.is_empty() {
            write!(f, " on {}", self.interface)?;
        }
        Ok(())
    }
}

/// How a file goes out of a UDP session: datagrams of `size` bytes, `per_second` of them
/// at most (0: as fast as the socket takes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatagramPacing {
    pub size: usize,
    pub per_second: u32,
}

/// What a send carries: bytes as they are, or a template the net thread renders afresh at
/// each send (each repeat tick, each connection when it uses `{{peer}}`).
#[derive(Clone, Debug)]
pub enum Payload {
    Bytes(Vec<u8>),
    Template(Arc<Template>),
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload::Bytes(bytes)
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Self {
        Payload::Bytes(bytes.to_vec())
    }
}

impl From<Template> for Payload {
    fn from(template: Template) -> Self {
        Payload::Template(Arc::new(template))
    }
}

#[derive(Debug)]
pub enum Command {
    /// Start (or restart) a server session listening on `addr` (`host:port`).
    Listen {
        session: SessionId,
        addr: String,
        options: ServerOptions,
    },
    /// Connect (or reconnect) a client session to `addr`; an existing connection is closed first.
    Connect {
        session: SessionId,
        addr: String,
        timeout: Duration,
        options: ClientOptions,
    },
    /// Open (or reopen) a UDP session bound to `bind` (`host:port`, port 0 for any).
    /// With `connect`, it is a UDP client: `connect()`ed to that address, which it alone
    /// talks to.
    OpenUdp {
        session: SessionId,
        bind: String,
        connect: Option<String>,
        options: UdpOptions,
    },
    SetUdpOptions {
        session: SessionId,
        options: UdpOptions,
    },
    JoinGroup {
        session: SessionId,
        membership: Membership,
    },
    LeaveGroup {
        session: SessionId,
        membership: Membership,
    },
    Send {
        session: SessionId,
        target: Target,
        data: Payload,
    },
    Close {
        session: SessionId,
        conn: ConnId,
        how: CloseHow,
    },
    /// Send what is queued, then shut down the writing half (FIN); keep reading until the
    /// peer closes. `Target::All` also ends the session's repeat and file transfers.
    FinishSending {
        session: SessionId,
        target: Target,
    },
    /// Server: stop listening and close every connection. Client: close its connection.
    Stop {
        session: SessionId,
    },
    /// Stop, then forget the session.
    Remove {
        session: SessionId,
    },
    /// Send `data` every `interval` (1 ms at least), `count` times or until stopped.
    Repeat {
        session: SessionId,
        target: Target,
        data: Payload,
        interval: Duration,
        count: Option<u64>,
    },
    StopRepeat {
        session: SessionId,
    },
    /// Stream a file to the target, a chunk at a time (UDP: as datagrams paced by
    /// `pacing`, which TCP ignores).
    SendFile {
        session: SessionId,
        target: Target,
        path: PathBuf,
        transfer: TransferId,
        pacing: Option<DatagramPacing>,
    },
    CancelTransfer {
        session: SessionId,
        transfer: TransferId,
    },
    /// How the session cuts what it receives into messages (its connections' waiting bytes
    /// are delivered as they are first).
    SetFraming {
        session: SessionId,
        framing: FramingSpec,
    },
    /// The rules that answer the session's messages on the net thread; `None` removes them.
    SetResponder {
        session: SessionId,
        responder: Option<Arc<Responder>>,
    },
    /// Whether the session's `Received` events carry the bytes (the default) or only their
    /// sizes (`ReceivedSize`), for an owner that shows no data: the bytes are then not
    /// copied into an event for each read. Counters, captures and rules are unchanged.
    ReportData {
        session: SessionId,
        data: bool,
    },
    /// Write every byte the session receives to `path` (replacing any earlier capture);
    /// `None` ends the capture.
    Capture {
        session: SessionId,
        path: Option<PathBuf>,
    },
}
